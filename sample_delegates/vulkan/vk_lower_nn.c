/*
 * vk_lower_nn.c — lowering of the linear-algebra, convolution, pooling,
 * reduction, softmax, normalisation, resampling and embedding ops (the
 * rules are in vk_rules_nn.c; push-constant layouts follow the templates
 * in shaders/).
 *
 * Convolution picks its kernel by shape: an implicit GEMM (tiles of 64 or
 * 32 output channels by 64 positions, or 64 channels by 16 or 4 positions
 * for small maps) when there is depth to tile, a
 * direct kernel for depthwise and other shallow groups, and the gathering
 * direct kernel for transposed convolutions. A batch norm (evaluation)
 * that alone reads a convolution's output, and a relu / hardtanh / clamp
 * that alone reads that, are fused into the convolution's epilogue when
 * their parameters are constants.
 */
#include <math.h>
#include <string.h>

#include "vk_lower.h"
#include "vk_nn.h"

static uint32_t pair(int64_t h, int64_t w) {
  return (uint32_t)h | ((uint32_t)w << 16);
}

/* ---- GEMM -------------------------------------------------------------------------- */

static ddk_status lower_gemm(vkc* c, const ddk_node_view* n) {
  bool addmm = n->op_id == DDK_OP_ATEN_ADDMM, batched = n->op_id == DDK_OP_ATEN_BMM;
  uint32_t first = addmm ? 1 : 0;
  uint32_t a = va_tensor(n, first), b = va_tensor(n, first + 1), o = n->outputs[0];
  const ddk_tensor *at = vkl_t(c, a), *bt = vkl_t(c, b), *ot = vkl_t(c, o);
  double alpha = 1, beta = 1;
  if (addmm) {
    vk_opt_number(n, 3, 1, &beta);
    vk_opt_number(n, 4, 1, &alpha);
  }
  uint32_t r = ot->rank - 2;
  uint32_t M = (uint32_t)ot->sizes[r], N = (uint32_t)ot->sizes[r + 1];
  uint32_t K = (uint32_t)at->sizes[r + 1], batch = batched ? (uint32_t)ot->sizes[0] : 1;
  uint32_t ta, tb, ts, to;
  ddk_status s = vkc_value(c, a, &ta);
  if (s == DDK_OK) s = vkc_value(c, b, &tb);
  if (s != DDK_OK) return s;
  bool has_bias = addmm && beta != 0.0;
  int64_t scm = 0, scn = 0;
  ts = ta;
  if (has_bias) {
    uint32_t sv = va_tensor(n, 0);
    const ddk_tensor* st = vkl_t(c, sv);
    s = vkc_value(c, sv, &ts);
    if (s != DDK_OK) return s;
    if (st->rank == 1) scn = st->sizes[0] == 1 ? 0 : st->strides[0];
    if (st->rank == 2) {
      scm = st->sizes[0] == 1 ? 0 : st->strides[0];
      scn = st->sizes[1] == 1 ? 0 : st->strides[1];
    }
  }
  s = vkc_output(c, o, &to);
  if (s != DDK_OK || (uint64_t)M * N * batch == 0) return s;
  if (alpha == 0.0) K = 0; /* as BLAS: A @ B is not read */
  vk_push p = {{0}, 0};
  uint32_t head[4] = {M, N, K, batch};
  for (int i = 0; i < 4; ++i) vkp_u(&p, head[i]);
  int64_t st[12] = {batched ? at->strides[0] : 0,
                    at->strides[r],
                    at->strides[r + 1],
                    batched ? bt->strides[0] : 0,
                    bt->strides[r],
                    bt->strides[r + 1],
                    0,
                    scm,
                    scn,
                    batched ? ot->strides[0] : 0,
                    ot->strides[r],
                    ot->strides[r + 1]};
  for (int i = 0; i < 12; ++i) vkp_u(&p, (uint32_t)st[i]);
  vkp_f(&p, (float)alpha);
  vkp_f(&p, (float)beta);
  vkp_f(&p, -INFINITY);
  vkp_f(&p, INFINITY);
  vkp_u(&p, has_bias ? 1u : 0u);
  uint32_t bind[4] = {ta, tb, ts, to};
  /* rows per tile: a GEMV-like tile for 1..4 rows (a classifier's addmm) */
  uint32_t k = M <= 4    ? VK_KERNEL_GEMM_4X64_F32
               : M <= 16 ? VK_KERNEL_GEMM_16X64_F32
                         : VK_KERNEL_GEMM_64X64_F32;
  uint64_t mnb = (uint64_t)M * N * batch;
  return vkl_emit(c, k, true, bind, 4, N, M, batch, &p, 2 * mnb * K,
                  4 * ((uint64_t)M * K * batch + (uint64_t)K * N * batch + mnb));
}

/* ---- convolution -------------------------------------------------------------------- */

/* The node reading value v, when exactly one node reads it and it is not
 * a partition output. */
static const ddk_node_view* sole_reader(const vkc* c, uint32_t v) {
  if (c->f->uses[v] != 1) return NULL;
  for (uint32_t k = 0; k < c->g->num_nodes; ++k) {
    const ddk_node_view* n = &c->g->nodes[k];
    for (uint32_t i = 0; i < n->num_args; ++i)
      if (n->args[i].kind == DDK_ARG_TENSOR && n->args[i].u.tensor == v) return n;
  }
  return NULL;
}

static bool is_const(const vkc* c, uint32_t v) {
  return v != DDK_NO_VALUE && c->f->const_derived[v] &&
         (c->g->values[v].flags & DDK_VALUE_CONSTANT);
}

/* A following batch norm with constant parameters: packs (mean, a, b)
 * after the bias into prm[C .. 4C). */
static bool fuse_bn(vkc* c, const ddk_node_view* bn, int64_t C, float* prm) {
  if (bn == NULL || bn->op_id != DDK_OP_ATEN_NATIVE_BATCH_NORM_LEGIT_NO_TRAINING ||
      vk_node_rule(c->f, bn) != VK_ROLE_OP || c->f->uses[bn->outputs[1]] ||
      c->f->uses[bn->outputs[2]])
    return false;
  uint32_t w = va_tensor(bn, 1), b = va_tensor(bn, 2), m = va_tensor(bn, 3), v = va_tensor(bn, 4);
  if (!is_const(c, m) || !is_const(c, v) || (w != DDK_NO_VALUE && !is_const(c, w)) ||
      (b != DDK_NO_VALUE && !is_const(c, b)))
    return false;
  double eps = 0;
  va_number(bn, 6, &eps);
  const float* mp = c->g->values[m].tensor.data;
  const float* vp = c->g->values[v].tensor.data;
  const float* wp = w != DDK_NO_VALUE ? c->g->values[w].tensor.data : NULL;
  const float* bp = b != DDK_NO_VALUE ? c->g->values[b].tensor.data : NULL;
  for (int64_t i = 0; i < C; ++i) {
    double invstd = 1.0 / sqrt((double)vp[i] + eps);
    prm[C + i] = mp[i];
    prm[2 * C + i] = (float)(invstd * (wp ? wp[i] : 1.0));
    prm[3 * C + i] = bp ? bp[i] : 0.0f;
  }
  return true;
}

/* A following relu / hardtanh / clamp with number limits: [lo, hi]. */
static bool fuse_act(const vkc* c, const ddk_node_view* a, float* lo, float* hi) {
  if (a == NULL || vk_node_rule(c->f, a) != VK_ROLE_OP) return false;
  double l = -INFINITY, h = INFINITY;
  switch (a->op_id) {
    case DDK_OP_ATEN_RELU:
      l = 0;
      break;
    case DDK_OP_ATEN_HARDTANH:
      vk_opt_number(a, 1, -1, &l);
      vk_opt_number(a, 2, 1, &h);
      break;
    case DDK_OP_ATEN_CLAMP:
      vk_opt_number(a, 1, -INFINITY, &l);
      vk_opt_number(a, 2, INFINITY, &h);
      break;
    default:
      return false;
  }
  if (isnan(l) || isnan(h) || !(l <= h)) return false;
  *lo = (float)l;
  *hi = (float)h;
  return true;
}

/* The implicit-GEMM tile for N output positions and M output channels per
 * group: the widest tile (64, 16, 4 positions) that pads N by at most half
 * again (49 positions take 64, 25 take 2 x 16, 9 take 3 x 4), else the
 * narrowest: a 1x1 or 2x2 map in a 64-wide tile would compute up to 64
 * times the useful work. Wide tiles reuse each weight over more positions. */
static uint32_t conv_tile(uint64_t N, int64_t M) {
  static const uint32_t bn[3] = {64, 16, 4};
  static const uint32_t ids[3] = {0, VK_KERNEL_CONV_64X16_F32, VK_KERNEL_CONV_64X4_F32};
  int pick = 2;
  for (int i = 0; i < 3; ++i)
    if (2 * ((N + bn[i] - 1) / bn[i] * bn[i]) <= 3 * N) {
      pick = i;
      break;
    }
  if (pick == 0) return M <= 32 ? VK_KERNEL_CONV_32X64_F32 : VK_KERNEL_CONV_64X64_F32;
  return ids[pick];
}

static ddk_status lower_conv(vkc* c, const ddk_node_view* n) {
  uint32_t x = va_tensor(n, 0), w = va_tensor(n, 1), b = va_tensor(n, 2), o = n->outputs[0];
  const ddk_tensor *xt = vkl_t(c, x), *wt = vkl_t(c, w);
  int64_t st[2], pd[2], dl[2], groups;
  bool tr;
  vk_conv_params(n, xt->rank - 2, st, pd, dl, &tr, &groups);
  bool one_d = xt->rank == 3;
  /* dims as 2-d: [N, C, H, W]; a 1-d conv has H = 1 */
  int64_t xs[4], ws[4], os[4], xz[4], wz[4], oz[4];
  const ddk_tensor* ot = vkl_t(c, o);
  const ddk_tensor* src[3] = {xt, wt, ot};
  int64_t* sz[3] = {xz, wz, oz};
  int64_t* sd[3] = {xs, ws, os};
  for (int t = 0; t < 3; ++t)
    for (int d = 0, k = 0; d < 4; ++d) {
      bool fake = one_d && d == 2;
      sz[t][d] = fake ? 1 : src[t]->sizes[k];
      sd[t][d] = fake ? 0 : src[t]->strides[k];
      if (!fake) ++k;
    }
  int64_t Cg = xz[1] / groups, Cout = oz[1], Mg = Cout / groups;
  int64_t KH = wz[2], KW = wz[3];
  /* fusion: bias, then batch norm, then a clamp, when each alone reads
   * the previous one's output */
  float lo = -INFINITY, hi = INFINITY;
  float* prm = NULL;
  size_t prm_n = (size_t)(4 * Cout);
  /* fusion reads float32 parameters on the host */
  bool f32 = ot->dtype == DDK_DTYPE_FLOAT32;
  const ddk_node_view* bn = tr || !f32 ? NULL : sole_reader(c, o);
  const ddk_node_view* act = NULL;
  uint32_t last = o, flags = 0, tp = 0;
  ddk_status s = DDK_OK;
  if (bn && bn->op_id == DDK_OP_ATEN_NATIVE_BATCH_NORM_LEGIT_NO_TRAINING &&
      (b == DDK_NO_VALUE || is_const(c, b))) {
    prm = c->a->alloc(c->a->self, prm_n * sizeof(float), 64);
    if (prm == NULL) {
      ddk_set_error(c->err, c->err_cap, "vulkan: out of memory in preprocess");
      return DDK_OUT_OF_MEMORY;
    }
    memset(prm, 0, prm_n * sizeof(float));
    if (fuse_bn(c, bn, Cout, prm)) {
      flags = 2;
      last = bn->outputs[0];
      if (b != DDK_NO_VALUE) {
        memcpy(prm, c->g->values[b].tensor.data, (size_t)Cout * sizeof(float));
        flags |= 1;
      }
    } else {
      bn = NULL;
    }
  } else {
    bn = NULL;
  }
  if (!tr && f32 && (act = sole_reader(c, last)) != NULL && fuse_act(c, act, &lo, &hi))
    last = act->outputs[0];
  else
    act = NULL;
  uint32_t tx, tw, to;
  s = vkc_value(c, x, &tx);
  if (s == DDK_OK) s = vkc_value(c, w, &tw);
  if (s == DDK_OK) {
    if (flags & 2) {
      s = vkc_const_f32(c, prm, (int64_t)prm_n, &tp);
    } else if (b != DDK_NO_VALUE) {
      s = vkc_value(c, b, &tp);
      flags = 1;
    } else {
      tp = tx; /* unused */
    }
  }
  if (prm) c->a->free(c->a->self, prm, prm_n * sizeof(float));
  if (s == DDK_OK) s = vkc_output(c, last, &to);
  if (s != DDK_OK) return s;
  /* the fused nodes' other values: the conv's and the norm's outputs are
   * read by no one else; mark the fused nodes done */
  if (bn) c->done[bn - c->g->nodes] = 1;
  if (act) c->done[act - c->g->nodes] = 1;
  int64_t total = oz[0] * Cout * oz[2] * oz[3];
  if (total == 0) return DDK_OK;
  uint64_t K = (uint64_t)Cg * KH * KW;
  uint64_t flops = 2 * (uint64_t)total * K;
  uint64_t bytes = 4 * (uint64_t)(ddk_tensor_numel(xt) + ddk_tensor_numel(wt) + total);
  uint32_t bind[4] = {tw, tx, tp, to};
  vk_push p = {{0}, 0};
  bool direct = tr || Mg < 8;
  if (direct) {
    uint32_t head[13] = {(uint32_t)total,   (uint32_t)Cout, (uint32_t)oz[2],    (uint32_t)oz[3],
                         (uint32_t)groups,  (uint32_t)Cg,   (uint32_t)xz[2],    (uint32_t)xz[3],
                         (uint32_t)Mg,      pair(KH, KW),   pair(st[0], st[1]), pair(pd[0], pd[1]),
                         pair(dl[0], dl[1])};
    for (int i = 0; i < 13; ++i) vkp_u(&p, head[i]);
  } else {
    uint32_t head[13] = {(uint32_t)Mg,       (uint32_t)(oz[2] * oz[3]),
                         (uint32_t)K,        (uint32_t)(oz[0] * groups),
                         (uint32_t)groups,   (uint32_t)Cg,
                         (uint32_t)xz[2],    (uint32_t)xz[3],
                         (uint32_t)oz[3],    pair(KH, KW),
                         pair(st[0], st[1]), pair(pd[0], pd[1]),
                         pair(dl[0], dl[1])};
    for (int i = 0; i < 13; ++i) vkp_u(&p, head[i]);
  }
  for (int i = 0; i < 4; ++i) vkp_u(&p, (uint32_t)xs[i]);
  for (int i = 0; i < 4; ++i) vkp_u(&p, (uint32_t)os[i]);
  for (int i = 0; i < 4; ++i) vkp_u(&p, (uint32_t)ws[i]);
  vkp_f(&p, lo);
  vkp_f(&p, hi);
  vkp_u(&p, flags);
  if (direct)
    return vkl_emit(c, tr ? VK_KERNEL_DCONV_T_F32 : VK_KERNEL_DCONV_F32, true, bind, 4,
                    (uint32_t)total, 1, 1, &p, flops, bytes);
  uint32_t k = conv_tile((uint64_t)(oz[2] * oz[3]), Mg);
  return vkl_emit(c, k, true, bind, 4, (uint32_t)(oz[2] * oz[3]), (uint32_t)Mg,
                  (uint32_t)(oz[0] * groups), &p, flops, bytes);
}

/* ---- batch norm (evaluation) --------------------------------------------------------- */

static ddk_status lower_batch_norm(vkc* c, const ddk_node_view* n) {
  uint32_t x = va_tensor(n, 0), o = n->outputs[0], t[6];
  const ddk_tensor *xt = vkl_t(c, x), *ot = vkl_t(c, o);
  ddk_status s = vkc_value(c, x, &t[0]);
  uint32_t flags = 0;
  for (uint32_t i = 1; i <= 4 && s == DDK_OK; ++i) {
    uint32_t v = va_tensor(n, i);
    uint32_t slot = i == 1 ? 3 : i == 2 ? 4 : i - 2; /* w, b, mean, var -> 3, 4, 1, 2 */
    if (v == DDK_NO_VALUE) {
      t[slot] = t[0];
      continue;
    }
    s = vkc_value(c, v, &t[slot]);
    if (i == 1) flags |= 1;
    if (i == 2) flags |= 2;
  }
  if (s == DDK_OK) s = vkc_output(c, o, &t[5]);
  for (uint32_t k = 1; k < 3 && s == DDK_OK; ++k) { /* the empty save_mean / save_invstd */
    uint32_t unused;
    s = vkc_output(c, n->outputs[k], &unused);
  }
  int64_t numel = ddk_tensor_numel(xt);
  if (s != DDK_OK || numel == 0) return s;
  double eps = 0;
  va_number(n, 6, &eps);
  vk_push p = {{0}, 0};
  vkp_u(&p, (uint32_t)numel);
  vkp_u(&p, xt->rank);
  for (uint32_t d = 0; d < VK_KERNEL_DIMS; ++d)
    vkp_u(&p, d < xt->rank ? (uint32_t)xt->sizes[d] : 1);
  for (uint32_t d = 0; d < VK_KERNEL_DIMS; ++d)
    vkp_u(&p, d < xt->rank ? (uint32_t)xt->strides[d] : 0);
  for (uint32_t d = 0; d < VK_KERNEL_DIMS; ++d)
    vkp_u(&p, d < ot->rank ? (uint32_t)ot->strides[d] : 0);
  vkp_f(&p, (float)eps);
  vkp_u(&p, flags);
  return vkl_emit(c, VK_KERNEL_BATCHNORM_F32, true, t, 6, (uint32_t)numel, 1, 1, &p,
                  (uint64_t)numel * 4, (uint64_t)numel * 8);
}

/* ---- pooling ----------------------------------------------------------------------------- */

static ddk_status lower_pool(vkc* c, const ddk_node_view* n) {
  uint32_t x = va_tensor(n, 0), o = n->outputs[0], tx, to, ti = 0;
  const ddk_tensor *xt = vkl_t(c, x), *ot = vkl_t(c, o);
  bool max = n->op_id == DDK_OP_ATEN_MAX_POOL2D_WITH_INDICES;
  bool avg = n->op_id == DDK_OP_ATEN_AVG_POOL2D;
  int64_t k[2] = {1, 1}, s2[2] = {1, 1}, pd[2] = {0, 0}, dl[2] = {1, 1};
  if (max || avg) vk_pool_params(n, max, k, s2, pd, dl);
  ddk_status s = vkc_value(c, x, &tx);
  if (s == DDK_OK) s = vkc_output(c, o, &to);
  const ddk_tensor* it = NULL;
  if (s == DDK_OK && max) {
    it = vkl_t(c, n->outputs[1]);
    s = vkc_output_bytes(c, n->outputs[1], (uint64_t)ddk_tensor_numel(it) * 8, &ti);
  }
  if (s != DDK_OK) return s;
  uint32_t lead = xt->rank - 3;
  int64_t total = ddk_tensor_numel(ot);
  if (total == 0) return DDK_OK;
  uint32_t flags = 0;
  int64_t divisor = 0;
  if (avg) {
    bool cip = true;
    va_bool(n, 5, &cip);
    flags = cip ? 1u : 0u;
    if (!va_is_none(n, 6) && va_int(n, 6, &divisor)) flags |= 2u;
  }
  vk_push p = {{0}, 0};
  uint32_t head[10] = {(uint32_t)total,
                       (uint32_t)xt->sizes[lead],
                       (uint32_t)ot->sizes[lead + 1],
                       (uint32_t)ot->sizes[lead + 2],
                       (uint32_t)xt->sizes[lead + 1],
                       (uint32_t)xt->sizes[lead + 2],
                       pair(k[0], k[1]),
                       pair(s2[0], s2[1]),
                       pair(pd[0], pd[1]),
                       pair(dl[0], dl[1])};
  for (int i = 0; i < 10; ++i) vkp_u(&p, head[i]);
  const ddk_tensor* ts[3] = {xt, ot, it ? it : ot};
  for (int t = 0; t < 3; ++t) {
    vkp_u(&p, lead ? (uint32_t)ts[t]->strides[0] : 0);
    for (uint32_t d = 0; d < 3; ++d) vkp_u(&p, (uint32_t)ts[t]->strides[lead + d]);
  }
  vkp_u(&p, flags);
  vkp_u(&p, (uint32_t)(int32_t)divisor);
  uint32_t bind[3] = {tx, to, ti};
  uint64_t win =
      max || avg
          ? (uint64_t)(k[0] * k[1])
          : (uint64_t)((xt->sizes[lead + 1] + ot->sizes[lead + 1] - 1) / ot->sizes[lead + 1] *
                       ((xt->sizes[lead + 2] + ot->sizes[lead + 2] - 1) / ot->sizes[lead + 2]));
  uint32_t kern = max   ? VK_KERNEL_MAXPOOL2D_F32
                  : avg ? VK_KERNEL_AVGPOOL2D_F32
                        : VK_KERNEL_ADAPTIVE_AVGPOOL2D_F32;
  return vkl_emit(c, kern, true, bind, max ? 3 : 2, (uint32_t)total, 1, 1, &p,
                  (uint64_t)total * win, 4 * ((uint64_t)ddk_tensor_numel(xt) + total));
}

/* ---- reductions --------------------------------------------------------------------------- */

static ddk_status lower_reduce(vkc* c, const ddk_node_view* n) {
  uint32_t x = va_tensor(n, 0), o = n->outputs[0], tx, to;
  const ddk_tensor *xt = vkl_t(c, x), *ot = vkl_t(c, o);
  uint32_t mask;
  bool keepdim;
  vk_view kept, red;
  if (!vk_reduce_dims(n, xt->rank, &mask, &keepdim) ||
      !vk_reduce_views(xt, ot, mask, keepdim, &kept, &red)) {
    vk_errorf(c->err, c->err_cap, "vulkan: internal: reduction view of node %u", n->node_index);
    return DDK_INTERNAL;
  }
  ddk_status s = vkc_value(c, x, &tx);
  if (s == DDK_OK) s = vkc_output(c, o, &to);
  int64_t nout = vk_view_numel(&kept), R = vk_view_numel(&red);
  if (s != DDK_OK || nout == 0) return s;
  uint32_t base;
  switch (n->op_id) {
    case DDK_OP_ATEN_SUM_DIM_INTLIST:
      base = VK_KERNEL_REDUCE_SUM_ROWS_F32;
      break;
    case DDK_OP_ATEN_AMAX:
      base = VK_KERNEL_REDUCE_AMAX_ROWS_F32;
      break;
    case DDK_OP_ATEN_AMIN:
      base = VK_KERNEL_REDUCE_AMIN_ROWS_F32;
      break;
    default:
      base = VK_KERNEL_REDUCE_MEAN_ROWS_F32;
      break;
  }
  bool rows = R >= 64 || nout < 64;
  vk_push p = {{0}, 0};
  vkp_u(&p, (uint32_t)nout);
  vkp_u(&p, (uint32_t)R);
  vkp_u(&p, kept.rank);
  vkp_u(&p, red.rank);
  for (uint32_t d = 0; d < 4; ++d) vkp_u(&p, d < kept.rank ? (uint32_t)kept.size[d] : 1);
  for (uint32_t d = 0; d < 4; ++d) vkp_u(&p, d < kept.rank ? (uint32_t)kept.stride[0][d] : 0);
  for (uint32_t d = 0; d < 4; ++d) vkp_u(&p, d < kept.rank ? (uint32_t)kept.stride[1][d] : 0);
  for (uint32_t d = 0; d < 4; ++d) vkp_u(&p, d < red.rank ? (uint32_t)red.size[d] : 1);
  for (uint32_t d = 0; d < 4; ++d) vkp_u(&p, d < red.rank ? (uint32_t)red.stride[0][d] : 0);
  uint32_t bind[2] = {tx, to};
  /* the float16 variant follows each float32 one; lanes after rows */
  return vkl_emit(c, rows ? base : base + 2, true, bind, 2, (uint32_t)nout, 1, 1, &p,
                  (uint64_t)nout * R, 4 * ((uint64_t)nout * R + nout));
}

/* ---- softmax, layer norm --------------------------------------------------------------------- */

static ddk_status lower_softmax(vkc* c, const ddk_node_view* n) {
  uint32_t x = va_tensor(n, 0), o = n->outputs[0], tx, to;
  int64_t dim = 0, len, sxd, sod;
  va_int(n, 1, &dim);
  vk_view rows;
  vk_softmax_view(vkl_t(c, x), vkl_t(c, o), dim, &rows, &len, &sxd, &sod);
  ddk_status s = vkc_value(c, x, &tx);
  if (s == DDK_OK) s = vkc_output(c, o, &to);
  int64_t nrows = vk_view_numel(&rows);
  if (s != DDK_OK || nrows * len == 0) return s;
  vk_push p = {{0}, 0};
  const ddk_tensor* xt = vkl_t(c, x);
  bool lse16 = n->op_id == DDK_OP_ATEN_LOG_SOFTMAX && xt->dtype == DDK_DTYPE_FLOAT16 &&
               (xt->rank == 0 || dim == (int64_t)xt->rank - 1 || dim == -1);
  uint32_t head[8] = {(uint32_t)nrows, (uint32_t)len,   rows.rank, (uint32_t)sxd,
                      (uint32_t)sod,   lse16 ? 1u : 0u, 0,         0};
  for (int i = 0; i < 8; ++i) vkp_u(&p, head[i]);
  for (uint32_t d = 0; d < 5; ++d) vkp_u(&p, d < rows.rank ? (uint32_t)rows.size[d] : 1);
  for (uint32_t d = 0; d < 5; ++d) vkp_u(&p, d < rows.rank ? (uint32_t)rows.stride[0][d] : 0);
  for (uint32_t d = 0; d < 5; ++d) vkp_u(&p, d < rows.rank ? (uint32_t)rows.stride[1][d] : 0);
  uint32_t bind[2] = {tx, to};
  uint32_t k =
      n->op_id == DDK_OP_ATEN_LOG_SOFTMAX ? VK_KERNEL_LOG_SOFTMAX_F32 : VK_KERNEL_SOFTMAX_F32;
  uint64_t numel = (uint64_t)(nrows * len);
  return vkl_emit(c, k, true, bind, 2, (uint32_t)nrows, 1, 1, &p, numel * 16, numel * 8);
}

static ddk_status lower_layer_norm(vkc* c, const ddk_node_view* n) {
  uint32_t x = va_tensor(n, 0), t[6];
  const ddk_tensor* xt = vkl_t(c, x);
  const int64_t* ns = NULL;
  uint32_t nn = 0;
  va_ints(n, 1, &ns, &nn);
  int64_t D = 1;
  for (uint32_t i = 0; i < nn; ++i) D *= ns[i];
  double eps = 0;
  va_number(n, 4, &eps);
  const ddk_tensor* ot = vkl_t(c, n->outputs[0]);
  int64_t numel_x = ddk_tensor_numel(xt);
  vk_view v;
  ddk_status s = vkc_value(c, x, &t[0]);
  if (s == DDK_OK && !vk_contiguous(xt)) { /* rows made contiguous first */
    uint32_t tmp;
    s = vkc_new_tensor(c, numel_x, &tmp);
    if (s == DDK_OK && vk_gather_view(xt, &v)) s = vkl_copy(c, t[0], tmp, &v);
    t[0] = tmp;
  }
  uint32_t flags = 0;
  for (uint32_t i = 2; i <= 3 && s == DDK_OK; ++i) {
    uint32_t pv = va_tensor(n, i);
    if (pv == DDK_NO_VALUE) {
      t[i - 1] = t[0];
      continue;
    }
    s = vkc_value(c, pv, &t[i - 1]);
    flags |= i == 2 ? 1u : 2u;
  }
  for (uint32_t o = 0; o < 3 && s == DDK_OK; ++o) s = vkc_output(c, n->outputs[o], &t[3 + o]);
  int64_t rows = ddk_tensor_numel(vkl_t(c, n->outputs[1]));
  if (s != DDK_OK || rows == 0) return s;
  uint32_t out = t[3];
  if (!vk_contiguous(ot)) { /* normalised into a row-major temporary, scattered after */
    s = vkc_new_tensor(c, numel_x, &t[3]);
    if (s != DDK_OK) return s;
  }
  vk_push p = {{0}, 0};
  vkp_u(&p, (uint32_t)rows);
  vkp_u(&p, (uint32_t)D);
  vkp_f(&p, (float)eps);
  vkp_u(&p, flags);
  uint64_t numel = (uint64_t)numel_x;
  s = vkl_emit(c, VK_KERNEL_LAYERNORM_F32, true, t, 6, (uint32_t)rows, 1, 1, &p, numel * 8,
               numel * 8);
  if (s != DDK_OK || out == t[3]) return s;
  vk_gather_view(ot, &v);
  for (uint32_t d = 0; d < v.rank; ++d) { /* from row-major into the output's strides */
    int64_t tmp = v.stride[0][d];
    v.stride[0][d] = v.stride[1][d];
    v.stride[1][d] = tmp;
  }
  return vkl_copy(c, t[3], out, &v);
}

/* ---- upsample, embedding ------------------------------------------------------------------------
 */

static float ups_scale(bool bilinear, bool ac, const ddk_node_view* n, int i, int64_t in,
                       int64_t out) {
  if (bilinear && ac) return out > 1 ? (float)(in - 1) / (float)(out - 1) : 0.0f;
  uint32_t sf = bilinear ? 3 : 2;
  if (!va_is_none(n, sf) && n->args[sf].kind == DDK_ARG_FLOAT_LIST && n->args[sf].count == 2 &&
      n->args[sf].u.floats[i] > 0.0)
    return (float)(1.0 / n->args[sf].u.floats[i]);
  return (float)((double)in / (double)out);
}

static ddk_status lower_upsample(vkc* c, const ddk_node_view* n) {
  uint32_t x = va_tensor(n, 0), o = n->outputs[0], tx, to;
  const ddk_tensor *xt = vkl_t(c, x), *ot = vkl_t(c, o);
  bool bilinear = n->op_id == DDK_OP_ATEN_UPSAMPLE_BILINEAR2D_VEC, ac = false;
  if (bilinear) va_bool(n, 2, &ac);
  ddk_status s = vkc_value(c, x, &tx);
  if (s == DDK_OK) s = vkc_output(c, o, &to);
  int64_t total = ddk_tensor_numel(ot);
  if (s != DDK_OK || total == 0) return s;
  vk_push p = {{0}, 0};
  uint32_t head[6] = {(uint32_t)total,        (uint32_t)ot->sizes[1], (uint32_t)ot->sizes[2],
                      (uint32_t)ot->sizes[3], (uint32_t)xt->sizes[2], (uint32_t)xt->sizes[3]};
  for (int i = 0; i < 6; ++i) vkp_u(&p, head[i]);
  for (int d = 0; d < 4; ++d) vkp_u(&p, (uint32_t)xt->strides[d]);
  for (int d = 0; d < 4; ++d) vkp_u(&p, (uint32_t)ot->strides[d]);
  vkp_u(&p, ac ? 1u : 0u);
  vkp_f(&p, ups_scale(bilinear, ac, n, 0, xt->sizes[2], ot->sizes[2]));
  vkp_f(&p, ups_scale(bilinear, ac, n, 1, xt->sizes[3], ot->sizes[3]));
  uint32_t bind[2] = {tx, to};
  return vkl_emit(c, bilinear ? VK_KERNEL_UPSAMPLE_BILINEAR_F32 : VK_KERNEL_UPSAMPLE_NEAREST_F32,
                  true, bind, 2, (uint32_t)total, 1, 1, &p, (uint64_t)total * (bilinear ? 8 : 0),
                  (uint64_t)total * 8);
}

static ddk_status lower_embedding(vkc* c, const ddk_node_view* n) {
  uint32_t w = va_tensor(n, 0), ix = va_tensor(n, 1), o = n->outputs[0], t[3];
  const ddk_tensor* wt = vkl_t(c, w);
  ddk_status s = vkc_value(c, w, &t[0]);
  if (s == DDK_OK) s = vkc_value(c, ix, &t[1]);
  if (s == DDK_OK) s = vkc_output(c, o, &t[2]);
  int64_t total = ddk_tensor_numel(vkl_t(c, o));
  if (s != DDK_OK || total == 0) return s;
  vk_push p = {{0}, 0};
  vkp_u(&p, (uint32_t)total);
  vkp_u(&p, (uint32_t)wt->sizes[1]);
  vkp_u(&p, (uint32_t)wt->sizes[0]);
  vkp_u(&p, vkl_t(c, ix)->dtype == DDK_DTYPE_INT64 ? 2u : 1u);
  vkp_u(&p, (uint32_t)wt->strides[0]);
  vkp_u(&p, (uint32_t)wt->strides[1]);
  return vkl_emit(c, VK_KERNEL_EMBEDDING_F32, true, t, 3, (uint32_t)total, 1, 1, &p, 0,
                  (uint64_t)total * 8);
}

bool vk_lower_nn(vkc* c, const ddk_node_view* n, ddk_status* out) {
  switch (n->op_id) {
    case DDK_OP_ATEN_MM:
    case DDK_OP_ATEN_BMM:
    case DDK_OP_ATEN_ADDMM:
      *out = lower_gemm(c, n);
      return true;
    case DDK_OP_ATEN_CONVOLUTION:
      *out = lower_conv(c, n);
      return true;
    case DDK_OP_ATEN_NATIVE_BATCH_NORM_LEGIT_NO_TRAINING:
      *out = lower_batch_norm(c, n);
      return true;
    case DDK_OP_ATEN_MAX_POOL2D_WITH_INDICES:
    case DDK_OP_ATEN_AVG_POOL2D:
    case DDK_OP_ATEN_ADAPTIVE_AVG_POOL2D:
      *out = lower_pool(c, n);
      return true;
    case DDK_OP_ATEN_SUM_DIM_INTLIST:
    case DDK_OP_ATEN_MEAN_DIM:
    case DDK_OP_ATEN_MEAN:
    case DDK_OP_ATEN_AMAX:
    case DDK_OP_ATEN_AMIN:
      *out = lower_reduce(c, n);
      return true;
    case DDK_OP_ATEN_SOFTMAX:
    case DDK_OP_ATEN_LOG_SOFTMAX:
      *out = lower_softmax(c, n);
      return true;
    case DDK_OP_ATEN_NATIVE_LAYER_NORM:
      *out = lower_layer_norm(c, n);
      return true;
    case DDK_OP_ATEN_UPSAMPLE_NEAREST2D_VEC:
    case DDK_OP_ATEN_UPSAMPLE_BILINEAR2D_VEC:
      *out = lower_upsample(c, n);
      return true;
    case DDK_OP_ATEN_EMBEDDING:
      *out = lower_embedding(c, n);
      return true;
    default:
      return false;
  }
}
