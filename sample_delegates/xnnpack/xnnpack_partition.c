/*
 * xnnpack_partition.c — which nodes the XNNPACK delegate runs.
 *
 * One rule per op family (xnn_node_rule) says whether XNNPACK (the 2022
 * subgraph API Debian ships) can run a node exactly as ATen defines it;
 * preprocess asks the same rules, so a claimed node always compiles.
 *
 * Weights: convolution and linear need their weights ahead of time. A
 * weight reaches an op through "weight transforms" (permute, view,
 * dequantize of a constant); those nodes are folded at preprocess and are
 * claimed only when their one reader is claimed too, so the host puts them
 * in the partition that uses them.
 *
 * Layout: a 4-D value inside a partition is held NHWC. Ops that cannot
 * honour that (a reshape mixing channels and pixels, a softmax over W) are
 * not claimed.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "xnnpack_internal.h"

void xnn_errorf(char* err, size_t err_cap, const char* fmt, ...) {
  if (err == NULL || err_cap == 0) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, err_cap, fmt, ap);
  va_end(ap);
}

/* ---- value predicates --------------------------------------------------- */

/* XNNPACK 2022 mishandles 0-d tensors in some operators (bankers rounding
 * aborts), so a scalar stays on the portable kernels. */
static bool dense(const ddk_value_desc* v) {
  if (v->dynamic_mask != 0 || v->tensor.rank == 0 || v->tensor.rank > XB_MAX_DIMS)
    return false;
  for (uint32_t i = 0; i < v->tensor.rank; ++i) {
    if (v->tensor.dim_order[i] != i) return false;
    if (v->tensor.sizes[i] <= 0) return false;
  }
  return true;
}

bool xnn_plain_f32(const ddk_value_desc* v) {
  return v->tensor.dtype == DDK_DTYPE_FLOAT32 && dense(v);
}

static bool plain_i8(const ddk_value_desc* v) {
  return v->tensor.dtype == DDK_DTYPE_INT8 && dense(v);
}

static int64_t numel(const ddk_value_desc* v) {
  return ddk_tensor_numel(&v->tensor);
}

/* ---- facts -------------------------------------------------------------- */

static bool is_weight_transform(uint32_t op) {
  switch (op) {
    case DDK_OP_ATEN_PERMUTE:
    case DDK_OP_ATEN_VIEW:
    case DDK_OP_ATEN_UNSQUEEZE:
    case DDK_OP_ATEN_SQUEEZE_DIM:
    case DDK_OP_ATEN_SQUEEZE_DIMS:
    case DDK_OP_QUANTIZED_DECOMPOSED_DEQUANTIZE_PER_CHANNEL:
    case DDK_OP_QUANTIZED_DECOMPOSED_DEQUANTIZE_PER_TENSOR:
      return true;
    default:
      return false;
  }
}

bool xnn_facts_init(xnn_graph_facts* f, const ddk_graph_view* g,
                    const ddk_allocator* a) {
  memset(f, 0, sizeof *f);
  f->g = g;
  size_t nv = (size_t)g->num_values + 1;
  f->const_derived = a->alloc(a->self, nv, 16);
  f->producer = a->alloc(a->self, nv * sizeof(uint32_t), 16);
  f->uses = a->alloc(a->self, nv * sizeof(uint32_t), 16);
  if (!f->const_derived || !f->producer || !f->uses) {
    xnn_facts_free(f, a);
    return false;
  }
  for (uint32_t v = 0; v < g->num_values; ++v) {
    f->const_derived[v] = (g->values[v].flags & DDK_VALUE_CONSTANT) != 0;
    f->producer[v] = DDK_NO_VALUE;
    f->uses[v] = 0;
  }
  for (uint32_t i = 0; i < g->num_outputs; ++i) f->uses[g->outputs[i]]++;
  for (uint32_t k = 0; k < g->num_nodes; ++k) {
    const ddk_node_view* n = &g->nodes[k];
    bool all_const = is_weight_transform(n->op_id);
    for (uint32_t i = 0; i < n->num_args; ++i) {
      const ddk_arg* arg = &n->args[i];
      if (arg->kind == DDK_ARG_TENSOR) {
        f->uses[arg->u.tensor]++;
        if (!f->const_derived[arg->u.tensor]) all_const = false;
      } else if (arg->kind == DDK_ARG_TENSOR_LIST) {
        for (uint32_t j = 0; j < arg->count; ++j)
          if (arg->u.tensors[j] != DDK_NO_VALUE) {
            f->uses[arg->u.tensors[j]]++;
            all_const = false;
          }
      }
    }
    for (uint32_t o = 0; o < n->num_outputs; ++o) {
      f->producer[n->outputs[o]] = k;
      f->const_derived[n->outputs[o]] = all_const;
    }
  }
  return true;
}

void xnn_facts_free(xnn_graph_facts* f, const ddk_allocator* a) {
  size_t nv = (size_t)f->g->num_values + 1;
  if (f->const_derived) a->free(a->self, f->const_derived, nv);
  if (f->producer) a->free(a->self, f->producer, nv * sizeof(uint32_t));
  if (f->uses) a->free(a->self, f->uses, nv * sizeof(uint32_t));
  memset(f, 0, sizeof *f);
}

/* ---- rules -------------------------------------------------------------- */

#define VAL(f, i) (&(f)->g->values[(i)])

bool xnn_qdq_params(const ddk_node_view* n, double* scale, int64_t* zp) {
  int64_t qmin, qmax, dtype;
  if (!xa_number(n, 1, scale) || !xa_int(n, 2, zp) || !xa_int(n, 3, &qmin) ||
      !xa_int(n, 4, &qmax) || !xa_int(n, 5, &dtype))
    return false;
  return dtype == DDK_DTYPE_INT8 && qmin == -128 && qmax == 127 &&
         *zp >= -128 && *zp <= 127 && *scale > 0 && isfinite(*scale) &&
         (float)*scale > 0.0f;
}

/* A float32 value usable as an operand: plain, or a constant (folded;
 * a 0-d constant too, held as one element). */
static bool f32_operand(const xnn_graph_facts* f, uint32_t v) {
  if (v == DDK_NO_VALUE) return false;
  const ddk_value_desc* d = VAL(f, v);
  if (f->const_derived[v] && d->tensor.rank == 0)
    return d->tensor.dtype == DDK_DTYPE_FLOAT32;
  return xnn_plain_f32(d);
}

/* An activation input: a plain float32 value computed at run time. */
static bool f32_activation(const xnn_graph_facts* f, uint32_t v) {
  return f32_operand(f, v) && !f->const_derived[v];
}

static bool out_f32(const xnn_graph_facts* f, const ddk_node_view* n) {
  return n->num_outputs >= 1 && xnn_plain_f32(VAL(f, n->outputs[0]));
}

static bool unused(const xnn_graph_facts* f, const ddk_node_view* n,
                   uint32_t o) {
  return o < n->num_outputs && f->uses[n->outputs[o]] == 0;
}

/* A 4-D value whose NCHW and NHWC memory orders coincide. */
static bool layout_free(const ddk_value_desc* v) {
  if (v->tensor.rank != 4) return true;
  const int64_t* s = v->tensor.sizes;
  return s[1] == 1 || s[2] * s[3] == 1;
}

static bool rule_conv(const xnn_graph_facts* f, const ddk_node_view* n) {
  uint32_t x = xa_tensor(n, 0), w = xa_tensor(n, 1), b = xa_tensor(n, 2);
  if (!f32_activation(f, x) || !f32_operand(f, w) || !f->const_derived[w] ||
      !out_f32(f, n))
    return false;
  const ddk_value_desc *xv = VAL(f, x), *wv = VAL(f, w);
  if (xv->tensor.rank != 4 || wv->tensor.rank != 4) return false;
  if (b != DDK_NO_VALUE) {
    if (!f32_operand(f, b) || !f->const_derived[b] || VAL(f, b)->tensor.rank != 1)
      return false;
  } else if (!xa_is_none(n, 2)) {
    return false;
  }
  const int64_t *stride, *pad, *dil, *opad;
  uint32_t ns, np, nd, no;
  int64_t groups;
  bool transposed;
  if (!xa_ints(n, 3, &stride, &ns) || !xa_ints(n, 4, &pad, &np) ||
      !xa_ints(n, 5, &dil, &nd) || !xa_bool(n, 6, &transposed) ||
      !xa_ints(n, 7, &opad, &no) || !xa_int(n, 8, &groups))
    return false;
  if ((ns != 1 && ns != 2) || (np != 1 && np != 2) || (nd != 1 && nd != 2) ||
      groups < 1)
    return false;
  for (uint32_t i = 0; i < 2; ++i) {
    if (stride[ns == 1 ? 0 : i] < 1 || pad[np == 1 ? 0 : i] < 0 ||
        dil[nd == 1 ? 0 : i] < 1)
      return false;
  }
  int64_t cin = xv->tensor.sizes[1];
  if (cin % groups != 0) return false;
  if (transposed) {
    if (no != 0 && no != 1 && no != 2) return false;
    for (uint32_t i = 0; i < no && i < 2; ++i)
      if (opad[i] < 0 || opad[i] >= stride[ns == 1 ? 0 : i]) return false;
    if (wv->tensor.sizes[0] != cin) return false;
  } else {
    if (wv->tensor.sizes[1] * groups != cin) return false;
    if (wv->tensor.sizes[0] % groups != 0) return false;
  }
  return true;
}

static bool rule_batch_norm(const xnn_graph_facts* f, const ddk_node_view* n) {
  uint32_t x = xa_tensor(n, 0);
  if (!f32_activation(f, x) || !out_f32(f, n) || !unused(f, n, 1) ||
      !unused(f, n, 2))
    return false;
  uint32_t r = VAL(f, x)->tensor.rank;
  if (r < 2 || r > 4) return false;
  int64_t c = VAL(f, x)->tensor.sizes[1];
  for (uint32_t i = 1; i <= 4; ++i) {
    uint32_t p = xa_tensor(n, i);
    if (p == DDK_NO_VALUE) {
      if (i >= 3 || !xa_is_none(n, i)) return false; /* mean/var required */
      continue;
    }
    if (!f32_operand(f, p) || !f->const_derived[p] || numel(VAL(f, p)) != c)
      return false;
  }
  double eps;
  return xa_number(n, 6, &eps) && eps >= 0;
}

static bool rule_linear(const xnn_graph_facts* f, const ddk_node_view* n,
                        bool addmm) {
  uint32_t base = addmm ? 1 : 0;
  uint32_t x = xa_tensor(n, base), w = xa_tensor(n, base + 1);
  if (!f32_activation(f, x) || !f32_operand(f, w) || !f->const_derived[w] ||
      !out_f32(f, n))
    return false;
  if (VAL(f, x)->tensor.rank != 2 || VAL(f, w)->tensor.rank != 2) return false;
  if (!addmm) return true;
  uint32_t b = xa_tensor(n, 0);
  double beta = 1, alpha = 1;
  if (!xa_is_none(n, 3) && !xa_number(n, 3, &beta)) return false;
  if (!xa_is_none(n, 4) && !xa_number(n, 4, &alpha)) return false;
  if (beta != 1.0 || alpha != 1.0) return false;
  if (!f32_operand(f, b) || !f->const_derived[b]) return false;
  const ddk_value_desc* bv = VAL(f, b);
  int64_t out = VAL(f, w)->tensor.sizes[1];
  if (bv->tensor.rank == 1) return bv->tensor.sizes[0] == out;
  return bv->tensor.rank == 2 && bv->tensor.sizes[0] == 1 &&
         bv->tensor.sizes[1] == out;
}

/* Binary elementwise: each operand is a run-time value whose layout
 * broadcasts the way the output's does, or a constant (materialised in
 * the output's layout), or a number (Scalar overloads). */
static bool binary_operand(const xnn_graph_facts* f, uint32_t v,
                           uint32_t out_rank) {
  if (!f32_operand(f, v)) return false;
  if (f->const_derived[v]) return true;
  const ddk_value_desc* d = VAL(f, v);
  if (out_rank == 4) return d->tensor.rank == 4 || numel(d) == 1;
  return d->tensor.rank != 4;
}

static bool rule_binary(const xnn_graph_facts* f, const ddk_node_view* n,
                        bool scalar_other, bool has_alpha) {
  if (!out_f32(f, n)) return false;
  uint32_t out_rank = VAL(f, n->outputs[0])->tensor.rank;
  uint32_t a = xa_tensor(n, 0);
  if (!binary_operand(f, a, out_rank)) return false;
  if (scalar_other) {
    double s;
    if (!xa_number(n, 1, &s)) return false;
    if (f->const_derived[a]) return false;
  } else {
    uint32_t b = xa_tensor(n, 1);
    if (!binary_operand(f, b, out_rank)) return false;
    if (f->const_derived[a] && f->const_derived[b]) return false;
  }
  if (has_alpha) {
    double alpha = 1;
    if (!xa_is_none(n, 2) && !xa_number(n, 2, &alpha)) return false;
    if (alpha != 1.0) return false;
  }
  return true;
}

static bool rule_unary(const xnn_graph_facts* f, const ddk_node_view* n) {
  return f32_activation(f, xa_tensor(n, 0)) && out_f32(f, n);
}

static bool rule_pool_common(const xnn_graph_facts* f, const ddk_node_view* n) {
  uint32_t x = xa_tensor(n, 0);
  return f32_activation(f, x) && VAL(f, x)->tensor.rank == 4 && out_f32(f, n);
}

/* kernel, stride, padding and dilation lists of a 2-D pooling op. */
static bool pool_lists(const ddk_node_view* n, uint32_t first, bool has_dil,
                       int64_t k[2], int64_t s[2], int64_t p[2], int64_t d[2]) {
  const int64_t *kl, *sl, *pl, *dl = NULL;
  uint32_t nk, ns, np, nd = 0;
  if (!xa_ints(n, first, &kl, &nk) || !xa_ints(n, first + 1, &sl, &ns) ||
      !xa_ints(n, first + 2, &pl, &np))
    return false;
  if (has_dil && !xa_ints(n, first + 3, &dl, &nd)) return false;
  if ((nk != 1 && nk != 2) || ns > 2 || (np != 1 && np != 2) || nd > 2)
    return false;
  for (int i = 0; i < 2; ++i) {
    k[i] = kl[nk == 1 ? 0 : i];
    s[i] = ns == 0 ? k[i] : sl[ns == 1 ? 0 : i];
    p[i] = pl[np == 1 ? 0 : i];
    d[i] = nd == 0 ? 1 : dl[nd == 1 ? 0 : i];
    if (k[i] < 1 || s[i] < 1 || p[i] < 0 || d[i] < 1) return false;
  }
  return true;
}

static bool rule_max_pool(const xnn_graph_facts* f, const ddk_node_view* n) {
  int64_t k[2], s[2], p[2], d[2];
  bool ceil_mode = false;
  if (!rule_pool_common(f, n) || !unused(f, n, 1) ||
      !pool_lists(n, 1, true, k, s, p, d) || !xa_bool(n, 5, &ceil_mode))
    return false;
  if (k[0] * k[1] == 1) return false; /* XNNPACK refuses 1x1 pooling */
  for (int i = 0; i < 2; ++i)
    if (p[i] * 2 > k[i]) return false; /* ATen's own limit */
  return true; /* ceil_mode becomes extra bottom/right padding */
}

static bool rule_avg_pool(const xnn_graph_facts* f, const ddk_node_view* n) {
  int64_t k[2], s[2], p[2], d[2];
  bool ceil_mode = true;
  if (!rule_pool_common(f, n) || !pool_lists(n, 1, false, k, s, p, d) ||
      !xa_bool(n, 4, &ceil_mode) || ceil_mode || !xa_is_none(n, 6))
    return false;
  /* XNNPACK averages over the valid pixels only; without padding that is
   * ATen's average whatever count_include_pad says */
  return p[0] == 0 && p[1] == 0 && k[0] * k[1] > 1;
}

static bool rule_adaptive_avg(const xnn_graph_facts* f, const ddk_node_view* n) {
  const int64_t* os;
  uint32_t no;
  if (!rule_pool_common(f, n) || !xa_ints(n, 1, &os, &no) || no != 2)
    return false;
  const int64_t* in = VAL(f, xa_tensor(n, 0))->tensor.sizes;
  if (os[0] == 1 && os[1] == 1) return true;
  return os[0] > 0 && os[1] > 0 && in[2] % os[0] == 0 && in[3] % os[1] == 0 &&
         (in[2] / os[0]) * (in[3] / os[1]) > 1;
}

static bool rule_mean(const xnn_graph_facts* f, const ddk_node_view* n) {
  const int64_t* dims;
  uint32_t nd;
  if (!rule_pool_common(f, n) || !xa_ints(n, 1, &dims, &nd) || nd != 2)
    return false;
  if (!xa_is_none(n, 3)) {
    int64_t dt;
    if (!xa_int(n, 3, &dt) || dt != DDK_DTYPE_FLOAT32) return false;
  }
  bool seen[4] = {false, false, false, false};
  for (uint32_t i = 0; i < nd; ++i) {
    int64_t d = dims[i] < 0 ? dims[i] + 4 : dims[i];
    if (d < 0 || d > 3) return false;
    seen[d] = true;
  }
  return seen[2] && seen[3];
}

static bool rule_pad(const xnn_graph_facts* f, const ddk_node_view* n) {
  uint32_t x = xa_tensor(n, 0);
  const int64_t* pad;
  uint32_t np;
  double value;
  if (!f32_activation(f, x) || !out_f32(f, n) || !xa_ints(n, 1, &pad, &np) ||
      !xa_number(n, 2, &value))
    return false;
  if (np % 2 != 0 || np / 2 > VAL(f, x)->tensor.rank) return false;
  for (uint32_t i = 0; i < np; ++i)
    if (pad[i] < 0) return false;
  return true;
}

static bool rule_reshape(const xnn_graph_facts* f, const ddk_node_view* n) {
  uint32_t x = xa_tensor(n, 0);
  if (x == DDK_NO_VALUE || n->num_outputs != 1) return false;
  const ddk_value_desc *xv = VAL(f, x), *ov = VAL(f, n->outputs[0]);
  if (f->const_derived[x]) /* a weight transform */
    return (xv->tensor.dtype == DDK_DTYPE_FLOAT32 ||
            xv->tensor.dtype == DDK_DTYPE_INT8) &&
           dense(xv) && dense(ov);
  if (!xnn_plain_f32(xv) || !xnn_plain_f32(ov)) return false;
  return layout_free(xv) && layout_free(ov);
}

static bool rule_upsample(const xnn_graph_facts* f, const ddk_node_view* n) {
  if (!rule_pool_common(f, n)) return false;
  const int64_t* in = VAL(f, xa_tensor(n, 0))->tensor.sizes;
  const int64_t* out = VAL(f, n->outputs[0])->tensor.sizes;
  bool align;
  if (!xa_bool(n, 2, &align)) return false;
  if (!xa_is_none(n, 3)) { /* scale factors: ATen maps with 1/scale */
    if (n->args[3].kind != DDK_ARG_FLOAT_LIST || n->args[3].count != 2)
      return false;
    for (int i = 0; i < 2; ++i)
      if ((double)out[2 + i] != (double)in[2 + i] * n->args[3].u.floats[i])
        return false;
  }
  return true;
}

/* A quantize of a program input is not taken: a model's input quantize
 * stays portable, so that NaN in a caller's data quantizes
 * as ATen does (0); XNNPACK saturates NaN to 127. */
static bool rule_quantize(const xnn_graph_facts* f, const ddk_node_view* n) {
  double scale;
  int64_t zp;
  uint32_t x = xa_tensor(n, 0);
  if (x == DDK_NO_VALUE || (VAL(f, x)->flags & DDK_VALUE_INPUT)) return false;
  return f32_activation(f, x) && xnn_qdq_params(n, &scale, &zp) &&
         n->num_outputs == 1 && plain_i8(VAL(f, n->outputs[0]));
}

static bool rule_dequantize(const xnn_graph_facts* f, const ddk_node_view* n) {
  uint32_t x = xa_tensor(n, 0);
  double scale;
  int64_t zp;
  if (x == DDK_NO_VALUE || !plain_i8(VAL(f, x)) || !xnn_qdq_params(n, &scale, &zp) ||
      !out_f32(f, n))
    return false;
  if (!xa_is_none(n, 6)) {
    int64_t od;
    if (!xa_int(n, 6, &od) || od != DDK_DTYPE_FLOAT32) return false;
  }
  return true;
}

static bool rule_dequantize_channel(const xnn_graph_facts* f,
                                    const ddk_node_view* n) {
  uint32_t x = xa_tensor(n, 0), s = xa_tensor(n, 1), z = xa_tensor(n, 2);
  int64_t axis, qmin, qmax, dtype;
  if (x == DDK_NO_VALUE || s == DDK_NO_VALUE || !f->const_derived[x] ||
      !(VAL(f, x)->flags & DDK_VALUE_CONSTANT) || !plain_i8(VAL(f, x)) ||
      !(VAL(f, s)->flags & DDK_VALUE_CONSTANT) || !out_f32(f, n))
    return false;
  if (!xa_int(n, 3, &axis) || !xa_int(n, 4, &qmin) || !xa_int(n, 5, &qmax) ||
      !xa_int(n, 6, &dtype) || dtype != DDK_DTYPE_INT8)
    return false;
  int64_t r = VAL(f, x)->tensor.rank;
  if (axis < 0) axis += r;
  if (axis < 0 || axis >= r) return false;
  int64_t c = VAL(f, x)->tensor.sizes[axis];
  int32_t sdt = VAL(f, s)->tensor.dtype;
  if ((sdt != DDK_DTYPE_FLOAT32 && sdt != DDK_DTYPE_FLOAT64) ||
      numel(VAL(f, s)) != c)
    return false;
  if (z != DDK_NO_VALUE) {
    int32_t zdt = VAL(f, z)->tensor.dtype;
    if (!(VAL(f, z)->flags & DDK_VALUE_CONSTANT) || numel(VAL(f, z)) != c ||
        (zdt != DDK_DTYPE_INT64 && zdt != DDK_DTYPE_INT32))
      return false;
  } else if (!xa_is_none(n, 2)) {
    return false;
  }
  if (!xa_is_none(n, 7)) {
    int64_t od;
    if (!xa_int(n, 7, &od) || od != DDK_DTYPE_FLOAT32) return false;
  }
  return true;
}

xnn_node_role xnn_node_rule(const xnn_graph_facts* f, const ddk_node_view* n) {
  if (n->num_outputs == 0) return XNN_ROLE_NONE;
  bool cd_out = f->const_derived[n->outputs[0]];
  bool ok = false;
  switch (n->op_id) {
    case DDK_OP_ATEN_PERMUTE: {
      const ddk_value_desc* x = VAL(f, xa_tensor(n, 0));
      return cd_out && (x->tensor.dtype == DDK_DTYPE_FLOAT32 ||
                        x->tensor.dtype == DDK_DTYPE_INT8) &&
                     dense(x)
                 ? XNN_ROLE_FOLD
                 : XNN_ROLE_NONE;
    }
    case DDK_OP_ATEN_VIEW:
    case DDK_OP_ATEN_UNSQUEEZE:
    case DDK_OP_ATEN_SQUEEZE_DIM:
    case DDK_OP_ATEN_SQUEEZE_DIMS:
      if (!rule_reshape(f, n)) return XNN_ROLE_NONE;
      return cd_out ? XNN_ROLE_FOLD : XNN_ROLE_OP;
    case DDK_OP_QUANTIZED_DECOMPOSED_DEQUANTIZE_PER_CHANNEL:
      return rule_dequantize_channel(f, n) ? XNN_ROLE_FOLD : XNN_ROLE_NONE;
    case DDK_OP_QUANTIZED_DECOMPOSED_DEQUANTIZE_PER_TENSOR:
      if (!rule_dequantize(f, n)) return XNN_ROLE_NONE;
      return cd_out ? XNN_ROLE_FOLD : XNN_ROLE_OP;
    case DDK_OP_QUANTIZED_DECOMPOSED_QUANTIZE_PER_TENSOR:
      ok = rule_quantize(f, n);
      break;
    case DDK_OP_ATEN_CONVOLUTION: ok = rule_conv(f, n); break;
    case DDK_OP_ATEN_NATIVE_BATCH_NORM_LEGIT_NO_TRAINING:
      ok = rule_batch_norm(f, n);
      break;
    case DDK_OP_ATEN_ADDMM: ok = rule_linear(f, n, true); break;
    case DDK_OP_ATEN_MM: ok = rule_linear(f, n, false); break;
    case DDK_OP_ATEN_ADD_TENSOR:
    case DDK_OP_ATEN_SUB_TENSOR: ok = rule_binary(f, n, false, true); break;
    case DDK_OP_ATEN_MUL_TENSOR:
    case DDK_OP_ATEN_DIV_TENSOR: ok = rule_binary(f, n, false, false); break;
    case DDK_OP_ATEN_ADD_SCALAR:
    case DDK_OP_ATEN_SUB_SCALAR: ok = rule_binary(f, n, true, true); break;
    case DDK_OP_ATEN_MUL_SCALAR:
    case DDK_OP_ATEN_DIV_SCALAR: ok = rule_binary(f, n, true, false); break;
    case DDK_OP_ATEN_RELU:
    case DDK_OP_ATEN_SIGMOID:
    case DDK_OP_ATEN_ABS:
    case DDK_OP_ATEN_NEG:
    case DDK_OP_ATEN_ROUND: ok = rule_unary(f, n); break;
    /* floor, ceil and sqrt are left to the portable kernels: XNNPACK runs
     * with denormals treated as zero, which changes floor(-1e-40) from -1
     * to -0 — beyond what the fast_math profile excuses. */
    case DDK_OP_ATEN_HARDTANH: {
      double lo = -1, hi = 1;
      ok = rule_unary(f, n) && (xa_is_none(n, 1) || xa_number(n, 1, &lo)) &&
           (xa_is_none(n, 2) || xa_number(n, 2, &hi)) && lo < hi;
      break;
    }
    case DDK_OP_ATEN_CLAMP: {
      double lo = -INFINITY, hi = INFINITY;
      ok = rule_unary(f, n) && (xa_is_none(n, 1) || xa_number(n, 1, &lo)) &&
           (xa_is_none(n, 2) || xa_number(n, 2, &hi)) && lo < hi &&
           !isnan(lo) && !isnan(hi); /* XNNPACK needs min < max */
      break;
    }
    case DDK_OP_ATEN_LEAKY_RELU: {
      double slope = 0.01;
      ok = rule_unary(f, n) && (xa_is_none(n, 1) || xa_number(n, 1, &slope)) &&
           isfinite(slope);
      break;
    }
    case DDK_OP_ATEN_ELU: {
      double alpha = 1, scale = 1, input_scale = 1;
      ok = rule_unary(f, n) && (xa_is_none(n, 1) || xa_number(n, 1, &alpha)) &&
           (xa_is_none(n, 2) || xa_number(n, 2, &scale)) &&
           (xa_is_none(n, 3) || xa_number(n, 3, &input_scale)) &&
           scale == 1.0 && input_scale == 1.0 && alpha > 0 && isfinite(alpha);
      break;
    }
    case DDK_OP_ATEN_MAX_POOL2D_WITH_INDICES: ok = rule_max_pool(f, n); break;
    case DDK_OP_ATEN_AVG_POOL2D: ok = rule_avg_pool(f, n); break;
    case DDK_OP_ATEN_ADAPTIVE_AVG_POOL2D: ok = rule_adaptive_avg(f, n); break;
    case DDK_OP_ATEN_MEAN_DIM: ok = rule_mean(f, n); break;
    /* _softmax is not taken: XNNPACK's exp loses relative accuracy near
     * underflow (1.88e-37 for 1.96e-37), beyond the op's tolerance. */
    case DDK_OP_ATEN_CONSTANT_PAD_ND: ok = rule_pad(f, n); break;
    case DDK_OP_ATEN_UPSAMPLE_BILINEAR2D_VEC: ok = rule_upsample(f, n); break;
    default: return XNN_ROLE_NONE;
  }
  return ok && !cd_out ? XNN_ROLE_OP : XNN_ROLE_NONE;
}

/* ---- partition: the rules plus the weight-transform fixpoint ------------ */

/* The one node reading value v, or DDK_NO_VALUE when not exactly one. */
static uint32_t sole_reader(const xnn_graph_facts* f, uint32_t v) {
  if (f->uses[v] != 1) return DDK_NO_VALUE;
  const ddk_graph_view* g = f->g;
  for (uint32_t k = 0; k < g->num_nodes; ++k) {
    const ddk_node_view* n = &g->nodes[k];
    for (uint32_t i = 0; i < n->num_args; ++i)
      if (n->args[i].kind == DDK_ARG_TENSOR && n->args[i].u.tensor == v)
        return k;
  }
  return DDK_NO_VALUE;
}

ddk_status xnn_partition(const ddk_backend* self, const ddk_graph_view* g,
                         const ddk_options* options,
                         const ddk_services* services, bool* out_claimed,
                         char* err, size_t err_cap) {
  (void)self;
  (void)options;
  const ddk_allocator* a = &services->allocator;
  xnn_graph_facts f;
  if (!xnn_facts_init(&f, g, a)) {
    ddk_set_error(err, err_cap, "xnnpack: out of memory in partition");
    return DDK_OUT_OF_MEMORY;
  }
  size_t bytes = (size_t)g->num_nodes + 1;
  uint8_t* role = a->alloc(a->self, bytes, 16);
  if (role == NULL) {
    xnn_facts_free(&f, a);
    ddk_set_error(err, err_cap, "xnnpack: out of memory in partition");
    return DDK_OUT_OF_MEMORY;
  }
  for (uint32_t k = 0; k < g->num_nodes; ++k)
    role[k] = (uint8_t)xnn_node_rule(&f, &g->nodes[k]);
  /* A weight transform is kept only when its one reader is kept; an op
   * reading a transformed weight only when the transform is kept. */
  for (bool changed = true; changed;) {
    changed = false;
    for (uint32_t k = 0; k < g->num_nodes; ++k) {
      const ddk_node_view* n = &g->nodes[k];
      if (role[k] == XNN_ROLE_NONE) continue;
      if (role[k] == XNN_ROLE_FOLD) {
        uint32_t r = sole_reader(&f, n->outputs[0]);
        if (r == DDK_NO_VALUE || role[r] == XNN_ROLE_NONE) {
          role[k] = XNN_ROLE_NONE;
          changed = true;
          continue;
        }
      }
      {
        for (uint32_t i = 0; i < n->num_args; ++i) {
          uint32_t v = xa_tensor(n, i);
          if (v == DDK_NO_VALUE || !f.const_derived[v]) continue;
          uint32_t p = f.producer[v];
          if (p != DDK_NO_VALUE && role[p] != XNN_ROLE_FOLD) {
            role[k] = XNN_ROLE_NONE;
            changed = true;
            break;
          }
        }
      }
    }
  }
  for (uint32_t k = 0; k < g->num_nodes; ++k)
    out_claimed[k] = role[k] != XNN_ROLE_NONE;
  a->free(a->self, role, bytes);
  xnn_facts_free(&f, a);
  return DDK_OK;
}
