/*
 * vk_rules_nn.c — the rules of the linear-algebra, convolution, pooling,
 * reduction, softmax and normalisation ops (vk_rules.c has the
 * elementwise and data-movement ones and `partition`), plus the views
 * the reduction and softmax lowerings share with them. Each rule accepts
 * exactly what the kernels compute as ATen does; anything else stays on
 * the portable kernels.
 */
#include <math.h>
#include <string.h>

#include "vk_internal.h"
#include "vk_nn.h"

#define VAL(f, i) (&(f)->g->values[(i)])
#define T(f, i) (&(f)->g->values[(i)].tensor)

/* ---- shared views ------------------------------------------------------------- */

bool vk_reduce_dims(const ddk_node_view* n, uint32_t rank, uint32_t* mask, bool* keepdim) {
  *mask = 0;
  *keepdim = false;
  uint32_t all = rank == 0 ? 0 : (uint32_t)((1u << rank) - 1u);
  if (n->op_id == DDK_OP_ATEN_MEAN) {
    *mask = all;
    return true;
  }
  if (!va_is_none(n, 2) && !va_bool(n, 2, keepdim)) return false;
  if (va_is_none(n, 1)) {
    if (n->op_id == DDK_OP_ATEN_AMAX || n->op_id == DDK_OP_ATEN_AMIN) return false;
    *mask = all;
    return true;
  }
  const int64_t* dims;
  uint32_t nd;
  if (!va_ints(n, 1, &dims, &nd)) return false;
  if (nd == 0) {
    *mask = all;
    return true;
  }
  for (uint32_t i = 0; i < nd; ++i) {
    int64_t r = rank == 0 ? 1 : rank, d = dims[i] < 0 ? dims[i] + r : dims[i];
    if (d < 0 || d >= r) return false;
    if (rank == 0) continue;             /* a 0-d input reduces nothing */
    if (*mask & (1u << d)) return false; /* repeated */
    *mask |= 1u << d;
  }
  return true;
}

bool vk_reduce_views(const ddk_tensor* x, const ddk_tensor* o, uint32_t mask, bool keepdim,
                     vk_view* kept, vk_view* red) {
  memset(kept, 0, sizeof *kept);
  memset(red, 0, sizeof *red);
  kept->num_operands = 2;
  red->num_operands = 1;
  uint32_t od = 0;
  for (uint32_t d = 0; d < x->rank; ++d) {
    bool reduced = (mask >> d) & 1u;
    if (reduced) {
      red->size[red->rank] = x->sizes[d];
      red->stride[0][red->rank++] = x->strides[d];
      if (keepdim) ++od;
      continue;
    }
    if (od >= o->rank || o->sizes[od] != x->sizes[d]) return false;
    kept->size[kept->rank] = x->sizes[d];
    kept->stride[0][kept->rank] = x->strides[d];
    kept->stride[1][kept->rank++] = o->strides[od++];
  }
  if (od != o->rank) return false;
  vk_view_coalesce(kept);
  vk_view_coalesce(red);
  return kept->rank <= 4 && red->rank <= 4;
}

bool vk_softmax_view(const ddk_tensor* x, const ddk_tensor* o, int64_t dim, vk_view* rows,
                     int64_t* len, int64_t* sxd, int64_t* sod) {
  memset(rows, 0, sizeof *rows);
  rows->num_operands = 2;
  if (x->rank == 0) {
    *len = 1;
    *sxd = *sod = 0;
    return true;
  }
  if (dim < 0) dim += x->rank;
  if (dim < 0 || dim >= (int64_t)x->rank || o->rank != x->rank) return false;
  *len = x->sizes[dim];
  *sxd = x->strides[dim];
  *sod = o->strides[dim];
  for (uint32_t d = 0; d < x->rank; ++d) {
    if ((int64_t)d == dim) continue;
    rows->size[rows->rank] = x->sizes[d];
    rows->stride[0][rows->rank] = x->strides[d];
    rows->stride[1][rows->rank++] = o->strides[d];
  }
  vk_view_coalesce(rows);
  return rows->rank <= 5;
}

/* kernel/stride/padding/dilation of a 2-d pool: lists of 1 or 2 values;
 * an empty stride means the kernel size. */
bool vk_pool_params(const ddk_node_view* n, bool has_dil, int64_t k[2], int64_t s[2], int64_t p[2],
                    int64_t d[2]) {
  const int64_t *kl, *sl, *pl, *dl = NULL;
  uint32_t nk, ns, np, ndl = 0;
  if (!va_ints(n, 1, &kl, &nk) || !va_ints(n, 2, &sl, &ns) || !va_ints(n, 3, &pl, &np))
    return false;
  if (has_dil && !va_ints(n, 4, &dl, &ndl)) return false;
  if ((nk != 1 && nk != 2) || ns > 2 || (np != 1 && np != 2) || ndl > 2) return false;
  for (int i = 0; i < 2; ++i) {
    k[i] = kl[nk == 1 ? 0 : i];
    s[i] = ns == 0 ? k[i] : sl[ns == 1 ? 0 : i];
    p[i] = pl[np == 1 ? 0 : i];
    d[i] = ndl == 0 ? 1 : dl[ndl == 1 ? 0 : i];
    if (k[i] < 1 || s[i] < 1 || d[i] < 1 || p[i] < 0 || p[i] > k[i] / 2 || k[i] > 0xffff ||
        s[i] > 0xffff || d[i] > 0xffff)
      return false;
  }
  return true;
}

bool vk_conv_params(const ddk_node_view* n, uint32_t spatial, int64_t s[2], int64_t p[2],
                    int64_t d[2], bool* transposed, int64_t* groups) {
  const int64_t *sl, *pl, *dl, *ol;
  uint32_t ns, np, nd, no;
  if (!va_ints(n, 3, &sl, &ns) || !va_ints(n, 4, &pl, &np) || !va_ints(n, 5, &dl, &nd) ||
      !va_bool(n, 6, transposed) || !va_ints(n, 7, &ol, &no) || !va_int(n, 8, groups))
    return false;
  if ((ns != 1 && ns != spatial) || (np != 1 && np != spatial) || (nd != 1 && nd != spatial) ||
      *groups < 1 || *groups > 0xffff)
    return false;
  /* 1-d convolutions run as 2-d ones of height 1 */
  for (uint32_t i = 0; i < 2; ++i) {
    bool h1 = spatial == 1 && i == 0;
    uint32_t j = spatial == 1 ? 0 : i;
    s[i] = h1 ? 1 : sl[ns == 1 ? 0 : j];
    p[i] = h1 ? 0 : pl[np == 1 ? 0 : j];
    d[i] = h1 ? 1 : dl[nd == 1 ? 0 : j];
    if (s[i] < 1 || p[i] < 0 || d[i] < 1 || s[i] > 0xffff || p[i] > 0xffff || d[i] > 0xffff)
      return false;
  }
  return true;
}

/* ---- rules ---------------------------------------------------------------------- */

static bool rule_mm(const vk_graph_facts* f, const ddk_node_view* n, uint32_t first,
                    uint32_t rank) {
  uint32_t a = va_tensor(n, first), b = va_tensor(n, first + 1);
  if (!vk_out_float(f, n) || !vk_is_float(f, a) || !vk_is_float(f, b)) return false;
  const ddk_tensor *at = T(f, a), *bt = T(f, b), *ot = T(f, n->outputs[0]);
  if (at->rank != rank || bt->rank != rank || ot->rank != rank) return false;
  uint32_t r = rank - 2;
  if (at->sizes[r + 1] != bt->sizes[r] || ot->sizes[r] != at->sizes[r] ||
      ot->sizes[r + 1] != bt->sizes[r + 1])
    return false;
  if (rank == 3 && (at->sizes[0] != bt->sizes[0] || ot->sizes[0] != at->sizes[0])) return false;
  if (n->op_id != DDK_OP_ATEN_ADDMM) return true;
  uint32_t s = va_tensor(n, 0);
  double beta, alpha;
  if (!vk_is_float(f, s) || !vk_opt_number(n, 3, 1, &beta) || !vk_opt_number(n, 4, 1, &alpha) ||
      !isfinite(beta) || !isfinite(alpha))
    return false;
  const ddk_tensor* st = T(f, s);
  if (st->rank > 2) return false;
  for (uint32_t i = 0; i < st->rank; ++i) {
    int64_t want = ot->sizes[2 - st->rank + i];
    if (st->sizes[i] != 1 && st->sizes[i] != want) return false;
  }
  return true;
}

static bool rule_conv(const vk_graph_facts* f, const ddk_node_view* n) {
  uint32_t x = va_tensor(n, 0), w = va_tensor(n, 1), b = va_tensor(n, 2);
  if (!vk_out_float(f, n) || !vk_is_float(f, x) || !vk_is_float(f, w)) return false;
  const ddk_tensor *xt = T(f, x), *wt = T(f, w), *ot = T(f, n->outputs[0]);
  if ((xt->rank != 3 && xt->rank != 4) || wt->rank != xt->rank || ot->rank != xt->rank)
    return false;
  int64_t s[2], p[2], d[2], groups;
  bool tr;
  if (!vk_conv_params(n, xt->rank - 2, s, p, d, &tr, &groups)) return false;
  int64_t cin = xt->sizes[1], cout = ot->sizes[1];
  if (cin % groups || cout % groups || xt->sizes[0] != ot->sizes[0]) return false;
  if (tr ? (wt->sizes[0] != cin || wt->sizes[1] * groups != cout)
         : (wt->sizes[1] * groups != cin || wt->sizes[0] != cout))
    return false;
  for (uint32_t i = 2; i < wt->rank; ++i)
    if (wt->sizes[i] < 1 || wt->sizes[i] > 0xffff) return false;
  if (b != DDK_NO_VALUE) {
    if (!vk_is_float(f, b) || T(f, b)->rank != 1 || T(f, b)->sizes[0] != cout) return false;
  } else if (!va_is_none(n, 2)) {
    return false;
  }
  return true;
}

static bool rule_batch_norm(const vk_graph_facts* f, const ddk_node_view* n) {
  uint32_t x = va_tensor(n, 0);
  if (!vk_out_float(f, n) || !vk_is_float(f, x) || n->num_outputs != 3) return false;
  const ddk_tensor* xt = T(f, x);
  if (xt->rank < 2 || xt->rank > VK_KERNEL_DIMS) return false;
  for (uint32_t o = 1; o < 3; ++o)
    if (ddk_tensor_numel(T(f, n->outputs[o])) != 0) return false;
  int64_t c = xt->sizes[1];
  for (uint32_t i = 1; i <= 4; ++i) {
    uint32_t v = va_tensor(n, i);
    if (v == DDK_NO_VALUE) {
      if (i >= 3 || !va_is_none(n, i)) return false; /* mean and var are needed */
      continue;
    }
    if (!vk_is_float(f, v) || ddk_tensor_numel(T(f, v)) != c || T(f, v)->rank != 1) return false;
  }
  double eps;
  return va_number(n, 6, &eps) && eps >= 0 && isfinite(eps);
}

static bool rule_pool(const vk_graph_facts* f, const ddk_node_view* n) {
  uint32_t x = va_tensor(n, 0);
  if (!vk_out_float(f, n) || !vk_is_float(f, x)) return false;
  const ddk_tensor *xt = T(f, x), *ot = T(f, n->outputs[0]);
  if ((xt->rank != 3 && xt->rank != 4) || ot->rank != xt->rank) return false;
  for (uint32_t i = 0; i < xt->rank; ++i)
    if (xt->sizes[i] > 0xffff && i >= xt->rank - 2) return false;
  int64_t k[2], s[2], p[2], d[2];
  bool ceil_mode;
  switch (n->op_id) {
    case DDK_OP_ATEN_MAX_POOL2D_WITH_INDICES: {
      if (n->num_outputs != 2 || !vk_pool_params(n, true, k, s, p, d) || !va_bool(n, 5, &ceil_mode))
        return false;
      const ddk_value_desc* iv = VAL(f, n->outputs[1]);
      if (iv->tensor.dtype != DDK_DTYPE_INT64 || iv->dynamic_mask || iv->tensor.rank != ot->rank)
        return false;
      for (uint32_t i = 0; i < ot->rank; ++i)
        if (iv->tensor.sizes[i] != ot->sizes[i]) return false;
      return true;
    }
    case DDK_OP_ATEN_AVG_POOL2D: {
      bool cip;
      int64_t div = 1;
      if (!vk_pool_params(n, false, k, s, p, d) || !va_bool(n, 4, &ceil_mode) ||
          !va_bool(n, 5, &cip))
        return false;
      if (!va_is_none(n, 6) &&
          (!va_int(n, 6, &div) || div == 0 || div > INT32_MAX || div < INT32_MIN))
        return false;
      return true;
    }
    default: { /* _adaptive_avg_pool2d */
      const int64_t* os;
      uint32_t no;
      if (!va_ints(n, 1, &os, &no) || no != 2) return false;
      uint32_t r = xt->rank;
      return os[0] == ot->sizes[r - 2] && os[1] == ot->sizes[r - 1] && os[0] >= 0 && os[1] >= 0 &&
             (ddk_tensor_numel(ot) == 0 || (xt->sizes[r - 2] > 0 && xt->sizes[r - 1] > 0));
    }
  }
}

static bool rule_reduce(const vk_graph_facts* f, const ddk_node_view* n) {
  uint32_t x = va_tensor(n, 0);
  if (!vk_out_float(f, n) || !vk_is_float(f, x)) return false;
  uint32_t dt_arg = n->op_id == DDK_OP_ATEN_MEAN ? 1 : 3;
  if (n->op_id != DDK_OP_ATEN_AMAX && n->op_id != DDK_OP_ATEN_AMIN && !va_is_none(n, dt_arg)) {
    int64_t dt;
    if (!va_int(n, dt_arg, &dt) || dt != T(f, x)->dtype) return false;
  }
  uint32_t mask;
  bool keepdim;
  vk_view kept, red;
  const ddk_tensor* xt = T(f, x);
  if (!vk_reduce_dims(n, xt->rank, &mask, &keepdim)) return false;
  if (!vk_reduce_views(xt, T(f, n->outputs[0]), mask, keepdim, &kept, &red)) return false;
  /* ATen refuses the max of nothing */
  return !((n->op_id == DDK_OP_ATEN_AMAX || n->op_id == DDK_OP_ATEN_AMIN) &&
           vk_view_numel(&red) == 0 && vk_view_numel(&kept) > 0);
}

static bool rule_softmax(const vk_graph_facts* f, const ddk_node_view* n) {
  uint32_t x = va_tensor(n, 0);
  int64_t dim;
  bool half;
  if (!vk_out_float(f, n) || !vk_is_float(f, x) || !va_int(n, 1, &dim) || !va_bool(n, 2, &half) ||
      half)
    return false;
  vk_view rows;
  int64_t len, sxd, sod;
  return vk_softmax_view(T(f, x), T(f, n->outputs[0]), dim, &rows, &len, &sxd, &sod);
}

static bool rule_layer_norm(const vk_graph_facts* f, const ddk_node_view* n) {
  uint32_t x = va_tensor(n, 0);
  const int64_t* ns;
  uint32_t nn;
  double eps;
  if (!vk_is_float(f, x) || n->num_outputs != 3 || !va_ints(n, 1, &ns, &nn) ||
      !va_number(n, 4, &eps) || !isfinite(eps))
    return false;
  const ddk_tensor* xt = T(f, x);
  vk_view v;
  if (nn == 0 || nn > xt->rank || !vk_gather_view(xt, &v)) return false;
  int64_t D = 1;
  for (uint32_t i = 0; i < nn; ++i) {
    if (ns[i] != xt->sizes[xt->rank - nn + i]) return false;
    D *= ns[i];
  }
  for (uint32_t o = 0; o < 3; ++o)
    if (!vk_is_float(f, n->outputs[o]) || (o > 0 && !vk_contiguous(T(f, n->outputs[o]))))
      return false;
  if (!vk_gather_view(T(f, n->outputs[0]), &v)) return false; /* a strided output: scattered */
  int64_t rows = D ? ddk_tensor_numel(xt) / D : 0;
  if (ddk_tensor_numel(T(f, n->outputs[0])) != ddk_tensor_numel(xt) ||
      (D && (ddk_tensor_numel(T(f, n->outputs[1])) != rows ||
             ddk_tensor_numel(T(f, n->outputs[2])) != rows)))
    return false;
  for (uint32_t i = 2; i <= 3; ++i) {
    uint32_t pv = va_tensor(n, i);
    if (pv == DDK_NO_VALUE) {
      if (!va_is_none(n, i)) return false;
      continue;
    }
    if (!vk_is_float(f, pv) || !vk_contiguous(T(f, pv)) || ddk_tensor_numel(T(f, pv)) != D)
      return false;
  }
  return true;
}

static bool rule_upsample(const vk_graph_facts* f, const ddk_node_view* n) {
  uint32_t x = va_tensor(n, 0);
  if (!vk_out_float(f, n) || !vk_is_float(f, x)) return false;
  const ddk_tensor *xt = T(f, x), *ot = T(f, n->outputs[0]);
  if (xt->rank != 4 || ot->rank != 4 || xt->sizes[0] != ot->sizes[0] ||
      xt->sizes[1] != ot->sizes[1])
    return false;
  bool bilinear = n->op_id == DDK_OP_ATEN_UPSAMPLE_BILINEAR2D_VEC, ac;
  if (bilinear && !va_bool(n, 2, &ac)) return false;
  for (uint32_t i = 2; i < 4; ++i)
    if (xt->sizes[i] < 1 || ot->sizes[i] < 1) return false;
  uint32_t sf = bilinear ? 3 : 2;
  if (!va_is_none(n, sf) && (n->args[sf].kind != DDK_ARG_FLOAT_LIST || n->args[sf].count != 2))
    return false;
  return true;
}

static bool rule_embedding(const vk_graph_facts* f, const ddk_node_view* n) {
  uint32_t w = va_tensor(n, 0), ix = va_tensor(n, 1);
  if (!vk_out_float(f, n) || !vk_is_float(f, w) || ix == DDK_NO_VALUE) return false;
  const ddk_value_desc* iv = VAL(f, ix);
  const ddk_tensor *wt = T(f, w), *ot = T(f, n->outputs[0]);
  if ((iv->tensor.dtype != DDK_DTYPE_INT64 && iv->tensor.dtype != DDK_DTYPE_INT32) ||
      iv->dynamic_mask || !vk_contiguous(&iv->tensor) || wt->rank != 2 || !vk_contiguous(ot) ||
      ot->rank != iv->tensor.rank + 1)
    return false;
  return ddk_tensor_numel(ot) == ddk_tensor_numel(&iv->tensor) * wt->sizes[1];
}

bool vk_rule_nn(const vk_graph_facts* f, const ddk_node_view* n, bool* ok) {
  switch (n->op_id) {
    case DDK_OP_ATEN_MM:
      *ok = rule_mm(f, n, 0, 2);
      return true;
    case DDK_OP_ATEN_BMM:
      *ok = rule_mm(f, n, 0, 3);
      return true;
    case DDK_OP_ATEN_ADDMM:
      *ok = rule_mm(f, n, 1, 2);
      return true;
    case DDK_OP_ATEN_CONVOLUTION:
      *ok = rule_conv(f, n);
      return true;
    case DDK_OP_ATEN_NATIVE_BATCH_NORM_LEGIT_NO_TRAINING:
      *ok = rule_batch_norm(f, n);
      return true;
    case DDK_OP_ATEN_MAX_POOL2D_WITH_INDICES:
    case DDK_OP_ATEN_AVG_POOL2D:
    case DDK_OP_ATEN_ADAPTIVE_AVG_POOL2D:
      *ok = rule_pool(f, n);
      return true;
    case DDK_OP_ATEN_SUM_DIM_INTLIST:
    case DDK_OP_ATEN_MEAN_DIM:
    case DDK_OP_ATEN_MEAN:
    case DDK_OP_ATEN_AMAX:
    case DDK_OP_ATEN_AMIN:
      *ok = rule_reduce(f, n);
      return true;
    case DDK_OP_ATEN_SOFTMAX:
    case DDK_OP_ATEN_LOG_SOFTMAX:
      *ok = rule_softmax(f, n);
      return true;
    case DDK_OP_ATEN_NATIVE_LAYER_NORM:
      *ok = rule_layer_norm(f, n);
      return true;
    case DDK_OP_ATEN_UPSAMPLE_NEAREST2D_VEC:
    case DDK_OP_ATEN_UPSAMPLE_BILINEAR2D_VEC:
      *ok = rule_upsample(f, n);
      return true;
    case DDK_OP_ATEN_EMBEDDING:
      *ok = rule_embedding(f, n);
      return true;
    default:
      return false;
  }
}
