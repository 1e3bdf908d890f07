/*
 * npu_sim_match.c — the pattern matcher (graph -> layers) and partition.
 *
 * A layer is: the dequantize_per_tensor node(s) of its int8 activation(s),
 * one op, an optional activation (relu / hardtanh / clamp) and one
 * quantize_per_tensor to int8. Weights reach conv and linear through a
 * dequantize (per channel along axis 0, or per tensor) of an int8
 * constant, and for linear a permute [1, 0]; those nodes are claimed with
 * their layer (the host places them in the partition that reads them).
 *
 * npu_match_layer is used by BOTH partition and preprocess, and ends with
 * npu_layer_check (allow-list, accumulator range, requantisation ranges,
 * tiling): a claimed node always compiles.
 *
 * partition adds a fixpoint: a dequantize is claimed only when every
 * reader of its output is the op of a claimed layer; otherwise it and
 * those layers stay unclaimed. partition_grouped labels the claims so the
 * host keeps apart what must be apart:
 *  - npu_sim.max_partition_layers = N: consecutive layers (in node order)
 *    share a label, N at most (a dequantize shared by two layers keeps
 *    them under one label);
 *  - when some unclaimed node lies on a path between claimed nodes, the
 *    host may split a label's nodes into several partitions; an add with
 *    two dequantizes could then lose one of them to another partition (a
 *    float value between partitions). Each such add then gets a label of
 *    its own, which keeps its dequantizes with it. (Plain partition, which
 *    cannot label, leaves such adds unclaimed.)
 */
#include <math.h>
#include <string.h>

#include "npu_sim_internal.h"

#define VAL(f, v) (&(f)->g->values[(v)])
#define NODE(f, k) (&(f)->g->nodes[(k)])

/* ---- facts ----------------------------------------------------------------- */

static void count_use(npu_facts* f, uint32_t v, uint32_t k, bool fill) {
  if (v == DDK_NO_VALUE || v >= f->g->num_values) return;
  if (fill)
    f->use_node[f->use_start[v + 1]++] = k; /* use_start shifted by one */
  else
    f->use_start[v + 1]++;
}

static void for_each_use(npu_facts* f, bool fill) {
  const ddk_graph_view* g = f->g;
  for (uint32_t k = 0; k < g->num_nodes; ++k) {
    const ddk_node_view* n = &g->nodes[k];
    for (uint32_t i = 0; i < n->num_args; ++i) {
      const ddk_arg* a = &n->args[i];
      if (a->kind == DDK_ARG_TENSOR) count_use(f, a->u.tensor, k, fill);
      if (a->kind == DDK_ARG_TENSOR_LIST)
        for (uint32_t j = 0; j < a->count; ++j) count_use(f, a->u.tensors[j], k, fill);
    }
  }
}

ddk_status npu_facts_init(npu_facts* f, const ddk_graph_view* g, const ddk_allocator* a) {
  memset(f, 0, sizeof *f);
  f->g = g;
  size_t nv = (size_t)g->num_values + 2;
  f->producer = a->alloc(a->self, nv * sizeof(uint32_t), 16);
  f->use_start = a->alloc(a->self, nv * sizeof(uint32_t), 16);
  f->external = a->alloc(a->self, nv, 16);
  if (!f->producer || !f->use_start || !f->external) {
    npu_facts_free(f, a);
    return DDK_OUT_OF_MEMORY;
  }
  memset(f->use_start, 0, nv * sizeof(uint32_t));
  memset(f->external, 0, nv);
  for (uint32_t v = 0; v < g->num_values; ++v) f->producer[v] = NPU_NONE;
  for (uint32_t k = 0; k < g->num_nodes; ++k)
    for (uint32_t o = 0; o < g->nodes[k].num_outputs; ++o)
      if (g->nodes[k].outputs[o] < g->num_values) f->producer[g->nodes[k].outputs[o]] = k;
  for (uint32_t i = 0; i < g->num_outputs; ++i)
    if (g->outputs[i] < g->num_values) f->external[g->outputs[i]] = 1;
  /* CSR of readers: count, prefix-sum, fill */
  for_each_use(f, false);
  for (uint32_t v = 0; v < g->num_values; ++v) f->use_start[v + 1] += f->use_start[v];
  f->num_uses = f->use_start[g->num_values];
  f->use_node = a->alloc(a->self, ((size_t)f->num_uses + 1) * sizeof(uint32_t), 16);
  if (f->use_node == NULL) {
    npu_facts_free(f, a);
    return DDK_OUT_OF_MEMORY;
  }
  /* fill: shift starts down by one slot so use_start[v + 1] walks v's range */
  for (uint32_t v = g->num_values; v > 0; --v) f->use_start[v] = f->use_start[v - 1];
  f->use_start[0] = 0;
  for_each_use(f, true);
  return DDK_OK;
}

void npu_facts_free(npu_facts* f, const ddk_allocator* a) {
  if (f->g == NULL) return;
  size_t nv = (size_t)f->g->num_values + 2;
  if (f->producer) a->free(a->self, f->producer, nv * sizeof(uint32_t));
  if (f->use_start) a->free(a->self, f->use_start, nv * sizeof(uint32_t));
  if (f->external) a->free(a->self, f->external, nv);
  if (f->use_node) a->free(a->self, f->use_node, ((size_t)f->num_uses + 1) * sizeof(uint32_t));
  memset(f, 0, sizeof *f);
}

/* ---- value predicates ------------------------------------------------------ */

/* A static, dense, contiguous tensor of `dtype` with rank in 1..max_rank. */
static bool plain(const ddk_value_desc* v, ddk_dtype dtype, uint32_t max_rank) {
  const ddk_tensor* t = &v->tensor;
  if (t->dtype != dtype || v->dynamic_mask != 0 || t->rank == 0 || t->rank > max_rank) return false;
  int64_t stride = 1;
  for (uint32_t i = t->rank; i-- > 0;) {
    if (t->dim_order[i] != i || t->sizes[i] <= 0 || t->sizes[i] > INT32_MAX) return false;
    if (t->sizes[i] != 1 && t->strides[i] != stride) return false;
    stride *= t->sizes[i];
    if (stride > ((int64_t)1 << 31)) return false; /* tensors below 2 GiB */
  }
  return true;
}

static bool is_const(const ddk_value_desc* v) {
  return (v->flags & DDK_VALUE_CONSTANT) != 0 && v->tensor.data != NULL;
}

static bool same_sizes(const ddk_value_desc* a, const ddk_value_desc* b) {
  if (a->tensor.rank != b->tensor.rank) return false;
  for (uint32_t i = 0; i < a->tensor.rank; ++i)
    if (a->tensor.sizes[i] != b->tensor.sizes[i]) return false;
  return true;
}

static int64_t numel(const ddk_value_desc* v) {
  return ddk_tensor_numel(&v->tensor);
}

/* ---- the pieces of a pattern ----------------------------------------------- */

#define FAIL(...)                          \
  do {                                     \
    npu_errorf(why, why_cap, __VA_ARGS__); \
    return false;                          \
  } while (0)

/* The int8 scale / zero point of a scalar-overload q or dq node
 * (args 1..5: scale, zero_point, quant_min, quant_max, dtype). */
static bool qdq_args(const ddk_node_view* n, double* scale, int64_t* zp, int64_t* qmin,
                     int64_t* qmax) {
  int64_t dtype;
  if (!na_number(n, 1, scale) || !na_int(n, 2, zp) || !na_int(n, 3, qmin) || !na_int(n, 4, qmax) ||
      !na_int(n, 5, &dtype))
    return false;
  float s32 = (float)*scale;
  return dtype == DDK_DTYPE_INT8 && *qmin >= -128 && *qmax <= 127 && *qmin <= *qmax &&
         *zp >= -128 && *zp <= 127 && isfinite(*scale) && *scale > 0 && isfinite(s32) && s32 > 0.0f;
}

/* Value v is the output of a dequantize_per_tensor of a run-time int8
 * tensor: fills its quantisation, the node and the int8 value. */
static bool dq_activation(const npu_facts* f, uint32_t v, npu_qparam* q, uint32_t* node,
                          uint32_t* in, char* why, size_t why_cap) {
  if (v == NPU_NONE || f->producer[v] == NPU_NONE)
    FAIL("an activation input is not produced by a dequantize_per_tensor here");
  const ddk_node_view* n = NODE(f, f->producer[v]);
  if (n->op_id != DDK_OP_QUANTIZED_DECOMPOSED_DEQUANTIZE_PER_TENSOR)
    FAIL("activation input comes from %s, not dequantize_per_tensor", n->op_name);
  uint32_t x = na_tensor(n, 0);
  double scale;
  int64_t zp, qmin, qmax;
  if (x == NPU_NONE || !qdq_args(n, &scale, &zp, &qmin, &qmax))
    FAIL("dequantize '%s' is not int8 per-tensor with a usable scale", n->debug_name);
  if (!na_none(n, 6)) {
    int64_t od;
    if (!na_int(n, 6, &od) || od != DDK_DTYPE_FLOAT32) FAIL("dequantize out_dtype not float32");
  }
  if (VAL(f, x)->flags & DDK_VALUE_CONSTANT)
    FAIL("dequantize '%s' reads a constant (not an activation)", n->debug_name);
  if (!plain(VAL(f, x), DDK_DTYPE_INT8, NB_MAX_RANK) ||
      !plain(VAL(f, v), DDK_DTYPE_FLOAT32, NB_MAX_RANK) || !same_sizes(VAL(f, x), VAL(f, v)))
    FAIL("dequantize '%s': tensors not static, contiguous int8 -> float32 of rank <= 4",
         n->debug_name);
  q->scale = (double)(float)scale;
  q->zp = (int32_t)zp;
  *node = f->producer[v];
  *in = x;
  return true;
}

/* A node output that feeds exactly one node of the graph and nothing else. */
static bool sole_use(const npu_facts* f, uint32_t v, uint32_t* reader) {
  if (v == NPU_NONE || f->external[v] || npu_uses(f, v) != 1) return false;
  *reader = f->use_node[f->use_start[v]];
  return true;
}

/* Value v is a dequantized int8 constant weight of rank `rank` (per
 * channel along axis 0, or per tensor); fills w and the node. */
static bool dq_weight(const npu_facts* f, uint32_t v, uint32_t rank, npu_weights* w, uint32_t* node,
                      char* why, size_t why_cap) {
  uint32_t p = v == NPU_NONE ? NPU_NONE : f->producer[v];
  if (p == NPU_NONE) FAIL("weight is not a dequantized int8 constant");
  const ddk_node_view* n = NODE(f, p);
  uint32_t c = na_tensor(n, 0), reader;
  if (c == NPU_NONE || !is_const(VAL(f, c)) || !plain(VAL(f, c), DDK_DTYPE_INT8, rank) ||
      VAL(f, c)->tensor.rank != rank)
    FAIL("weight '%s' is not a contiguous int8 constant of rank %u", n->debug_name, rank);
  if (!sole_use(f, v, &reader)) FAIL("weight '%s' has other readers", n->debug_name);
  const int64_t oc = VAL(f, c)->tensor.sizes[0];
  w->value = c;
  w->scales = w->zps = NPU_NONE;
  if (n->op_id == DDK_OP_QUANTIZED_DECOMPOSED_DEQUANTIZE_PER_TENSOR) {
    int64_t qmin, qmax;
    if (!qdq_args(n, &w->scale, &w->zp, &qmin, &qmax))
      FAIL("weight '%s': per-tensor parameters not int8", n->debug_name);
    w->per_channel = false;
    w->scale = (double)(float)w->scale;
  } else if (n->op_id == DDK_OP_QUANTIZED_DECOMPOSED_DEQUANTIZE_PER_CHANNEL) {
    int64_t axis, qmin, qmax, dtype;
    uint32_t s = na_tensor(n, 1), z = na_tensor(n, 2);
    if (!na_int(n, 3, &axis) || !na_int(n, 4, &qmin) || !na_int(n, 5, &qmax) ||
        !na_int(n, 6, &dtype) || dtype != DDK_DTYPE_INT8 || (axis != 0 && axis != -(int64_t)rank))
      FAIL("weight '%s': not int8 per-channel along axis 0", n->debug_name);
    if (s == NPU_NONE || !is_const(VAL(f, s)) || numel(VAL(f, s)) != oc ||
        !plain(VAL(f, s), VAL(f, s)->tensor.dtype, 1) ||
        (VAL(f, s)->tensor.dtype != DDK_DTYPE_FLOAT32 &&
         VAL(f, s)->tensor.dtype != DDK_DTYPE_FLOAT64))
      FAIL("weight '%s': scales are not a float constant [%lld]", n->debug_name, (long long)oc);
    if (z != NPU_NONE) {
      const ddk_value_desc* zd = VAL(f, z);
      if (!is_const(zd) || numel(zd) != oc || !plain(zd, zd->tensor.dtype, 1) ||
          (zd->tensor.dtype != DDK_DTYPE_INT64 && zd->tensor.dtype != DDK_DTYPE_INT32))
        FAIL("weight '%s': zero points are not an int constant [%lld]", n->debug_name,
             (long long)oc);
    } else if (!na_none(n, 2)) {
      FAIL("weight '%s': zero points not a tensor", n->debug_name);
    }
    w->per_channel = true;
    w->scales = s;
    w->zps = z;
  } else {
    FAIL("weight comes from %s, not a dequantize", n->op_name);
  }
  uint32_t od_arg = n->op_id == DDK_OP_QUANTIZED_DECOMPOSED_DEQUANTIZE_PER_CHANNEL ? 7 : 6;
  if (!na_none(n, od_arg)) {
    int64_t od;
    if (!na_int(n, od_arg, &od) || od != DDK_DTYPE_FLOAT32) FAIL("weight out_dtype not float32");
  }
  if (!plain(VAL(f, v), DDK_DTYPE_FLOAT32, rank)) FAIL("dequantized weight not float32");
  *node = p;
  return true;
}

/* A float32 bias constant of `count` elements ([count] or [1, count]). */
static bool bias_const(const npu_facts* f, uint32_t b, int64_t count) {
  const ddk_value_desc* d = VAL(f, b);
  if (!is_const(d) || d->tensor.dtype != DDK_DTYPE_FLOAT32 || numel(d) != count) return false;
  if (!plain(d, DDK_DTYPE_FLOAT32, 2)) return false;
  return d->tensor.rank == 1 || d->tensor.sizes[0] == 1;
}

/* stride/padding/dilation style list of one or two values -> [2]. */
static bool pair(const ddk_node_view* n, uint32_t i, int64_t fallback, int64_t out[2]) {
  const int64_t* l;
  uint32_t c;
  if (!na_ints(n, i, &l, &c) || c > 2) return false;
  if (c == 0) {
    out[0] = out[1] = fallback;
    return fallback >= 0;
  }
  out[0] = l[0];
  out[1] = l[c == 1 ? 0 : 1];
  return true;
}

static bool small(int64_t v) {
  return v >= 0 && v <= 65535;
}

/* ---- per-kind matchers ----------------------------------------------------- */

/* Sets the NCHW input / output geometry from two 4-D values. */
static void geom_4d(nb_layer* g, const ddk_value_desc* x, const ddk_value_desc* y) {
  g->n = (uint32_t)x->tensor.sizes[0];
  g->c = (uint32_t)x->tensor.sizes[1];
  g->h = (uint32_t)x->tensor.sizes[2];
  g->w = (uint32_t)x->tensor.sizes[3];
  g->oc = (uint32_t)y->tensor.sizes[1];
  g->oh = (uint32_t)y->tensor.sizes[2];
  g->ow = (uint32_t)y->tensor.sizes[3];
  g->groups = 1;
  g->kh = g->kw = g->sh = g->sw = g->dh = g->dw = 1;
}

/* Flat geometry of an elementwise layer. */
static void geom_flat(nb_layer* g, int64_t count) {
  g->n = g->c = g->h = g->oc = g->oh = 1;
  g->w = g->ow = (uint32_t)count;
  g->groups = g->kh = g->kw = g->sh = g->sw = g->dh = g->dw = 1;
}

static bool match_conv(const npu_facts* f, const ddk_node_view* n, npu_layer* L, char* why,
                       size_t why_cap) {
  uint32_t x = na_tensor(n, 0), w = na_tensor(n, 1), b = na_tensor(n, 2);
  if (!dq_activation(f, x, &L->x[0], &L->dq[0], &L->in[0], why, why_cap)) return false;
  if (!dq_weight(f, w, 4, &L->w, &L->wnodes[0], why, why_cap)) return false;
  const ddk_value_desc *xv = VAL(f, x), *wv = VAL(f, w), *yv = VAL(f, n->outputs[0]);
  if (xv->tensor.rank != 4 || !plain(yv, DDK_DTYPE_FLOAT32, 4) || yv->tensor.rank != 4)
    FAIL("convolution is not 2-D over contiguous float32 NCHW");
  int64_t s[2], p[2], d[2], op[2] = {0, 0}, groups;
  bool transposed;
  if (!pair(n, 3, -1, s) || !pair(n, 4, 0, p) || !pair(n, 5, 1, d) || !na_bool(n, 6, &transposed) ||
      !pair(n, 7, 0, op) || !na_int(n, 8, &groups))
    FAIL("convolution arguments unreadable");
  if (transposed || op[0] != 0 || op[1] != 0) FAIL("transposed convolution");
  for (int i = 0; i < 2; ++i)
    if (s[i] < 1 || !small(s[i]) || !small(p[i]) || d[i] < 1 || !small(d[i]))
      FAIL("convolution stride/padding/dilation out of range");
  const int64_t C = xv->tensor.sizes[1], OC = wv->tensor.sizes[0];
  if (groups < 1 || C % groups != 0 || OC % groups != 0 || wv->tensor.sizes[1] * groups != C ||
      yv->tensor.sizes[1] != OC || yv->tensor.sizes[0] != xv->tensor.sizes[0])
    FAIL("convolution groups/channels inconsistent");
  if (b != NPU_NONE) {
    if (!bias_const(f, b, OC)) FAIL("bias is not a float32 constant [%lld]", (long long)OC);
  } else if (!na_none(n, 2)) {
    FAIL("bias is not a tensor");
  }
  L->w.bias = b;
  nb_layer* g = &L->geom;
  geom_4d(g, xv, yv);
  g->groups = (uint32_t)groups;
  g->kh = (uint32_t)wv->tensor.sizes[2];
  g->kw = (uint32_t)wv->tensor.sizes[3];
  g->sh = (uint32_t)s[0], g->sw = (uint32_t)s[1];
  g->ph = (uint32_t)p[0], g->pw = (uint32_t)p[1];
  g->dh = (uint32_t)d[0], g->dw = (uint32_t)d[1];
  int64_t oh = (int64_t)g->h + 2 * p[0] - d[0] * ((int64_t)g->kh - 1) - 1;
  int64_t ow = (int64_t)g->w + 2 * p[1] - d[1] * ((int64_t)g->kw - 1) - 1;
  if (oh < 0 || ow < 0 || oh / s[0] + 1 != g->oh || ow / s[1] + 1 != g->ow)
    FAIL("convolution output shape does not match its arguments");
  L->kind = (groups > 1 && groups == C && OC == C) ? NB_LAYER_DWCONV2D : NB_LAYER_CONV2D;
  return true;
}

static bool match_linear(const npu_facts* f, const ddk_node_view* n, npu_layer* L, bool addmm,
                         char* why, size_t why_cap) {
  uint32_t base = addmm ? 1 : 0;
  uint32_t x = na_tensor(n, base), wt = na_tensor(n, base + 1);
  if (!dq_activation(f, x, &L->x[0], &L->dq[0], &L->in[0], why, why_cap)) return false;
  /* W' = permute(dequantize(W [O, K]), [1, 0]) */
  uint32_t pn = wt == NPU_NONE ? NPU_NONE : f->producer[wt], reader;
  if (pn == NPU_NONE || NODE(f, pn)->op_id != DDK_OP_ATEN_PERMUTE)
    FAIL("linear weight is not permute(dequantize(W))");
  const int64_t* dims;
  uint32_t nd;
  if (!na_ints(NODE(f, pn), 1, &dims, &nd) || nd != 2 ||
      !((dims[0] == 1 || dims[0] == -1) && (dims[1] == 0 || dims[1] == -2)))
    FAIL("linear weight permute is not [1, 0]");
  if (!sole_use(f, wt, &reader)) FAIL("linear weight has other readers");
  if (!dq_weight(f, na_tensor(NODE(f, pn), 0), 2, &L->w, &L->wnodes[0], why, why_cap)) return false;
  L->wnodes[1] = pn;
  const ddk_value_desc *xv = VAL(f, x), *wv = VAL(f, L->w.value), *yv = VAL(f, n->outputs[0]);
  if (xv->tensor.rank != 2 || !plain(yv, DDK_DTYPE_FLOAT32, 2) || yv->tensor.rank != 2)
    FAIL("linear is not 2-D float32");
  const int64_t N = xv->tensor.sizes[0], K = xv->tensor.sizes[1], O = wv->tensor.sizes[0];
  if (wv->tensor.sizes[1] != K || yv->tensor.sizes[0] != N || yv->tensor.sizes[1] != O)
    FAIL("linear shapes inconsistent");
  L->w.bias = NPU_NONE;
  if (addmm) {
    double beta = 1, alpha = 1;
    if ((!na_none(n, 3) && !na_number(n, 3, &beta)) ||
        (!na_none(n, 4) && !na_number(n, 4, &alpha)) || beta != 1.0 || alpha != 1.0)
      FAIL("addmm with beta/alpha other than 1");
    uint32_t b = na_tensor(n, 0);
    if (b == NPU_NONE || !bias_const(f, b, O)) FAIL("addmm bias is not a float32 constant [O]");
    L->w.bias = b;
  }
  nb_layer* g = &L->geom;
  g->n = (uint32_t)N, g->c = (uint32_t)K, g->h = g->w = 1;
  g->oc = (uint32_t)O, g->oh = g->ow = 1;
  g->groups = g->kh = g->kw = g->sh = g->sw = g->dh = g->dw = 1;
  L->kind = NB_LAYER_LINEAR;
  return true;
}

static bool match_add(const npu_facts* f, const ddk_node_view* n, npu_layer* L, char* why,
                      size_t why_cap) {
  uint32_t a = na_tensor(n, 0), b = na_tensor(n, 1);
  double alpha = 1;
  if (!na_none(n, 2) && (!na_number(n, 2, &alpha) || alpha != 1.0)) FAIL("add with alpha != 1");
  uint32_t dqb;
  if (!dq_activation(f, a, &L->x[0], &L->dq[0], &L->in[0], why, why_cap) ||
      !dq_activation(f, b, &L->x[1], &dqb, &L->in[1], why, why_cap))
    return false;
  if (dqb != L->dq[0]) L->dq[1] = dqb, L->num_dq = 2;
  const ddk_value_desc* yv = VAL(f, n->outputs[0]);
  if (!same_sizes(VAL(f, a), VAL(f, b)) || !same_sizes(VAL(f, a), yv) ||
      !plain(yv, DDK_DTYPE_FLOAT32, NB_MAX_RANK))
    FAIL("add with broadcasting or non-contiguous operands");
  geom_flat(&L->geom, numel(yv));
  L->kind = NB_LAYER_ADD;
  return true;
}

/* Shared by the pools: dq input, 4-D float32 output of the same N, C. */
static bool pool_io(const npu_facts* f, const ddk_node_view* n, npu_layer* L, char* why,
                    size_t why_cap) {
  uint32_t x = na_tensor(n, 0);
  if (!dq_activation(f, x, &L->x[0], &L->dq[0], &L->in[0], why, why_cap)) return false;
  const ddk_value_desc *xv = VAL(f, x), *yv = VAL(f, n->outputs[0]);
  if (xv->tensor.rank != 4 || !plain(yv, DDK_DTYPE_FLOAT32, 4) ||
      yv->tensor.sizes[0] != xv->tensor.sizes[0] || yv->tensor.sizes[1] != xv->tensor.sizes[1])
    FAIL("pooling is not 4-D NCHW");
  if (yv->tensor.rank == 4) geom_4d(&L->geom, xv, yv);
  return true;
}

static int64_t pool_out(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d, bool ceil_mode) {
  int64_t num = in + 2 * p - d * (k - 1) - 1 + (ceil_mode ? s - 1 : 0);
  if (num < 0) return -1;
  int64_t out = num / s + 1;
  if (ceil_mode && (out - 1) * s >= in + p) --out;
  return out;
}

static bool match_pool(const npu_facts* f, const ddk_node_view* n, npu_layer* L, bool is_max,
                       char* why, size_t why_cap) {
  if (!pool_io(f, n, L, why, why_cap)) return false;
  if (VAL(f, n->outputs[0])->tensor.rank != 4) FAIL("pooling output is not 4-D");
  int64_t k[2], s[2], p[2], d[2] = {1, 1};
  bool ceil_mode;
  const int64_t* sl;
  uint32_t ns;
  if (!pair(n, 1, -1, k) || k[0] < 1 || k[1] < 1 || !na_ints(n, 2, &sl, &ns) || !pair(n, 3, 0, p))
    FAIL("pooling arguments unreadable");
  if (ns == 0)
    s[0] = k[0], s[1] = k[1]; /* stride=[] means kernel_size */
  else if (!pair(n, 2, 1, s))
    FAIL("pooling stride unreadable");
  if (is_max && !pair(n, 4, 1, d)) FAIL("max_pool2d dilation unreadable");
  if (!na_bool(n, is_max ? 5 : 4, &ceil_mode)) FAIL("pooling ceil_mode unreadable");
  nb_layer* g = &L->geom;
  for (int i = 0; i < 2; ++i)
    if (!small(k[i]) || s[i] < 1 || !small(s[i]) || p[i] < 0 || p[i] > k[i] / 2 || d[i] < 1 ||
        !small(d[i]))
      FAIL("pooling kernel/stride/padding/dilation out of range");
  if (pool_out(g->h, k[0], s[0], p[0], d[0], ceil_mode) != g->oh ||
      pool_out(g->w, k[1], s[1], p[1], d[1], ceil_mode) != g->ow || g->oc != g->c)
    FAIL("pooling output shape does not match its arguments");
  g->kh = (uint32_t)k[0], g->kw = (uint32_t)k[1];
  g->sh = (uint32_t)s[0], g->sw = (uint32_t)s[1];
  g->ph = (uint32_t)p[0], g->pw = (uint32_t)p[1];
  g->dh = (uint32_t)d[0], g->dw = (uint32_t)d[1];
  if (is_max) {
    if (n->num_outputs != 2 || npu_uses(f, n->outputs[1]) != 0 || f->external[n->outputs[1]])
      FAIL("max_pool2d indices are used");
    L->kind = NB_LAYER_MAXPOOL;
    return true;
  }
  bool cip;
  if (!na_bool(n, 5, &cip)) FAIL("avg_pool2d count_include_pad unreadable");
  if (cip) g->flags |= NB_LF_COUNT_INCLUDE_PAD;
  if (!na_none(n, 6)) {
    int64_t dov;
    if (!na_int(n, 6, &dov) || dov < 1 || dov > INT32_MAX) FAIL("avg_pool2d divisor_override <= 0");
    g->flags |= NB_LF_DIVISOR_OVERRIDE;
    L->divisor = dov;
  }
  L->kind = NB_LAYER_AVGPOOL;
  return true;
}

static bool match_mean(const npu_facts* f, const ddk_node_view* n, npu_layer* L, bool adaptive,
                       char* why, size_t why_cap) {
  if (!pool_io(f, n, L, why, why_cap)) return false;
  const ddk_value_desc *xv = VAL(f, na_tensor(n, 0)), *yv = VAL(f, n->outputs[0]);
  const int64_t* l;
  uint32_t c;
  if (adaptive) {
    if (!na_ints(n, 1, &l, &c) || c != 2 || l[0] != 1 || l[1] != 1 || yv->tensor.rank != 4)
      FAIL("_adaptive_avg_pool2d output is not 1x1");
  } else {
    bool keep;
    if (!na_ints(n, 1, &l, &c) || c != 2 || !na_bool(n, 2, &keep) || !na_none(n, 3))
      FAIL("mean.dim is not over two dims with dtype None");
    bool seen[4] = {false, false, false, false};
    for (uint32_t i = 0; i < 2; ++i) {
      int64_t d = l[i] < 0 ? l[i] + 4 : l[i];
      if (d < 0 || d > 3) FAIL("mean.dim dim out of range");
      seen[d] = true;
    }
    if (!seen[2] || !seen[3]) FAIL("mean.dim is not over H and W");
    if (yv->tensor.rank != (keep ? 4u : 2u)) FAIL("mean.dim output rank");
  }
  nb_layer* g = &L->geom;
  g->n = (uint32_t)xv->tensor.sizes[0], g->c = (uint32_t)xv->tensor.sizes[1];
  g->h = (uint32_t)xv->tensor.sizes[2], g->w = (uint32_t)xv->tensor.sizes[3];
  g->oc = g->c, g->oh = g->ow = 1;
  g->groups = g->sh = g->sw = g->dh = g->dw = 1;
  g->kh = g->h, g->kw = g->w;
  L->kind = NB_LAYER_MEAN;
  return true;
}

/* Activation bounds of a relu / hardtanh / clamp node (float32 values). */
static bool act_bounds(const ddk_node_view* n, double* lo, double* hi) {
  *lo = -INFINITY, *hi = INFINITY;
  if (n->op_id == DDK_OP_ATEN_RELU) {
    *lo = 0.0;
    return true;
  }
  if (n->op_id == DDK_OP_ATEN_HARDTANH) {
    *lo = -1.0, *hi = 1.0;
    if ((!na_none(n, 1) && !na_number(n, 1, lo)) || (!na_none(n, 2) && !na_number(n, 2, hi)))
      return false;
  } else if (n->op_id == DDK_OP_ATEN_CLAMP) {
    if ((!na_none(n, 1) && !na_number(n, 1, lo)) || (!na_none(n, 2) && !na_number(n, 2, hi)))
      return false;
  } else {
    return false;
  }
  if (isnan(*lo) || isnan(*hi)) return false;
  *lo = (double)(float)*lo; /* the Scalar as the float32 kernel uses it */
  *hi = (double)(float)*hi;
  return true;
}

static bool is_activation(uint32_t op) {
  return op == DDK_OP_ATEN_RELU || op == DDK_OP_ATEN_HARDTANH || op == DDK_OP_ATEN_CLAMP;
}

static bool match_unary(const npu_facts* f, const ddk_node_view* n, npu_layer* L, char* why,
                        size_t why_cap) {
  uint32_t x = na_tensor(n, 0);
  if (!dq_activation(f, x, &L->x[0], &L->dq[0], &L->in[0], why, why_cap)) return false;
  const ddk_value_desc *xv = VAL(f, x), *yv = VAL(f, n->outputs[0]);
  if (!plain(yv, DDK_DTYPE_FLOAT32, NB_MAX_RANK) || numel(yv) != numel(xv))
    FAIL("output is not a float32 tensor of the input's size");
  if (is_activation(n->op_id)) {
    if (!same_sizes(xv, yv)) FAIL("activation changes the shape");
    if (!act_bounds(n, &L->act_lo, &L->act_hi)) FAIL("activation bounds unreadable or NaN");
    L->has_act = true;
    L->kind = NB_LAYER_RELU;
  } else {
    L->kind = NB_LAYER_RESHAPE;
  }
  geom_flat(&L->geom, numel(yv));
  return true;
}

/* The tail: op output [-> activation] -> quantize_per_tensor int8. */
static bool match_tail(const npu_facts* f, const ddk_node_view* n, npu_layer* L, char* why,
                       size_t why_cap) {
  uint32_t v = n->outputs[0], reader;
  if (!sole_use(f, v, &reader)) FAIL("the op's output has other readers");
  const ddk_node_view* r = NODE(f, reader);
  if (L->kind != NB_LAYER_RELU && is_activation(r->op_id)) {
    if (na_tensor(r, 0) != v || !act_bounds(r, &L->act_lo, &L->act_hi))
      FAIL("activation '%s' bounds unreadable or NaN", r->debug_name);
    if (!plain(VAL(f, r->outputs[0]), DDK_DTYPE_FLOAT32, NB_MAX_RANK) ||
        !same_sizes(VAL(f, v), VAL(f, r->outputs[0])))
      FAIL("activation output not float32");
    L->act = reader;
    L->has_act = true;
    v = r->outputs[0];
    if (!sole_use(f, v, &reader)) FAIL("the activation's output has other readers");
    r = NODE(f, reader);
  }
  if (r->op_id != DDK_OP_QUANTIZED_DECOMPOSED_QUANTIZE_PER_TENSOR || na_tensor(r, 0) != v)
    FAIL("the op is followed by %s, not quantize_per_tensor", r->op_name);
  int64_t zp, qmin, qmax;
  if (!qdq_args(r, &L->y_scale, &zp, &qmin, &qmax))
    FAIL("quantize '%s' is not int8 per-tensor with a usable scale", r->debug_name);
  const ddk_value_desc* ov = VAL(f, r->outputs[0]);
  if (!plain(ov, DDK_DTYPE_INT8, NB_MAX_RANK) || !same_sizes(ov, VAL(f, v)))
    FAIL("quantize output is not a contiguous int8 tensor");
  L->y_inv = (float)(1.0 / L->y_scale);
  if (!isfinite(L->y_inv) || L->y_inv <= 0.0f) FAIL("quantize scale too small");
  L->zy = (int32_t)zp, L->qmin = (int32_t)qmin, L->qmax = (int32_t)qmax;
  L->q = reader;
  L->out = r->outputs[0];
  return true;
}

bool npu_is_main_op(const npu_facts* f, uint32_t k) {
  const ddk_node_view* n = NODE(f, k);
  switch (n->op_id) {
    case DDK_OP_ATEN_CONVOLUTION:
    case DDK_OP_ATEN_ADDMM:
    case DDK_OP_ATEN_MM:
    case DDK_OP_ATEN_ADD_TENSOR:
    case DDK_OP_ATEN_MAX_POOL2D_WITH_INDICES:
    case DDK_OP_ATEN_AVG_POOL2D:
    case DDK_OP_ATEN_MEAN_DIM:
    case DDK_OP_ATEN_ADAPTIVE_AVG_POOL2D:
      return n->num_outputs >= 1;
    case DDK_OP_ATEN_RELU:
    case DDK_OP_ATEN_HARDTANH:
    case DDK_OP_ATEN_CLAMP:
    case DDK_OP_ATEN_VIEW: { /* standalone: reads a dequantize's output */
      uint32_t x = na_tensor(n, 0);
      if (x == NPU_NONE || f->producer[x] == NPU_NONE || n->num_outputs < 1) return false;
      return NODE(f, f->producer[x])->op_id == DDK_OP_QUANTIZED_DECOMPOSED_DEQUANTIZE_PER_TENSOR;
    }
    default:
      return false;
  }
}

bool npu_match_layer(const npu_facts* f, const npu_config* cfg, uint32_t k, npu_layer* L, char* why,
                     size_t why_cap) {
  memset(L, 0, sizeof *L);
  L->op = k;
  L->act = L->q = L->out = NPU_NONE;
  L->dq[0] = L->dq[1] = L->wnodes[0] = L->wnodes[1] = NPU_NONE;
  L->in[0] = L->in[1] = NPU_NONE;
  L->w.value = L->w.scales = L->w.zps = L->w.bias = NPU_NONE;
  L->num_dq = 1;
  L->act_lo = -INFINITY, L->act_hi = INFINITY;
  const ddk_node_view* n = NODE(f, k);
  if (n->num_outputs < 1 || n->outputs[0] >= f->g->num_values) FAIL("node has no output");
  bool ok;
  switch (n->op_id) {
    case DDK_OP_ATEN_CONVOLUTION:
      ok = match_conv(f, n, L, why, why_cap);
      break;
    case DDK_OP_ATEN_ADDMM:
      ok = match_linear(f, n, L, true, why, why_cap);
      break;
    case DDK_OP_ATEN_MM:
      ok = match_linear(f, n, L, false, why, why_cap);
      break;
    case DDK_OP_ATEN_ADD_TENSOR:
      ok = match_add(f, n, L, why, why_cap);
      break;
    case DDK_OP_ATEN_MAX_POOL2D_WITH_INDICES:
      ok = match_pool(f, n, L, true, why, why_cap);
      break;
    case DDK_OP_ATEN_AVG_POOL2D:
      ok = match_pool(f, n, L, false, why, why_cap);
      break;
    case DDK_OP_ATEN_MEAN_DIM:
      ok = match_mean(f, n, L, false, why, why_cap);
      break;
    case DDK_OP_ATEN_ADAPTIVE_AVG_POOL2D:
      ok = match_mean(f, n, L, true, why, why_cap);
      break;
    case DDK_OP_ATEN_RELU:
    case DDK_OP_ATEN_HARDTANH:
    case DDK_OP_ATEN_CLAMP:
    case DDK_OP_ATEN_VIEW:
      ok = match_unary(f, n, L, why, why_cap);
      break;
    default:
      FAIL("%s is not a layer op", n->op_name);
  }
  if (!ok || !match_tail(f, n, L, why, why_cap)) return false;
  L->geom.kind = L->kind;
  L->geom.node_index = n->node_index;
  const char* name = n->debug_name != NULL ? n->debug_name : "";
  size_t len = strlen(name);
  if (len >= NB_NAME_CAP) len = NB_NAME_CAP - 1;
  memcpy(L->geom.name, name, len);
  L->geom.name[len] = '\0';
  return npu_layer_check(f->g, cfg, L, why, why_cap);
}

/* ---- partition ---------------------------------------------------------------- */

typedef struct part_state {
  const npu_facts* f;
  npu_layer* layers; /* matched layers, in node order of their op */
  uint32_t num_layers;
  uint8_t* alive;
  uint32_t* op_layer; /* per node: the layer whose main op it is, or NONE */
  uint32_t* label;    /* per layer */
  uint8_t* claimed;   /* per node (scratch) */
  uint8_t* tainted;   /* per node (scratch) */
} part_state;

/* True when every reader of dequantize node d's output is the op of an
 * alive layer that lists d. */
static bool dq_fully_claimed(const part_state* s, uint32_t d) {
  const npu_facts* f = s->f;
  uint32_t v = NODE(f, d)->outputs[0];
  if (f->external[v]) return false;
  for (uint32_t u = f->use_start[v]; u < f->use_start[v + 1]; ++u) {
    uint32_t l = s->op_layer[f->use_node[u]];
    if (l == NPU_NONE || !s->alive[l]) return false;
    if (s->layers[l].dq[0] != d && s->layers[l].dq[1] != d) return false;
  }
  return true;
}

static void fixpoint(part_state* s) {
  for (bool changed = true; changed;) {
    changed = false;
    for (uint32_t l = 0; l < s->num_layers; ++l) {
      if (!s->alive[l]) continue;
      const npu_layer* L = &s->layers[l];
      for (uint32_t i = 0; i < L->num_dq; ++i)
        if (!dq_fully_claimed(s, L->dq[i])) {
          s->alive[l] = 0;
          changed = true;
          break;
        }
    }
  }
}

static void mark_claims(part_state* s) {
  const npu_facts* f = s->f;
  memset(s->claimed, 0, f->g->num_nodes);
  for (uint32_t l = 0; l < s->num_layers; ++l) {
    if (!s->alive[l]) continue;
    const npu_layer* L = &s->layers[l];
    uint32_t nodes[7] = {L->op, L->act, L->q, L->dq[0], L->dq[1], L->wnodes[0], L->wnodes[1]};
    for (int i = 0; i < 7; ++i)
      if (nodes[i] != NPU_NONE) s->claimed[nodes[i]] = 1;
  }
}

/* True when some claimed node reads a value computed by an unclaimed node
 * that itself depends on a claimed node: the host may then split claims. */
static bool has_detour(part_state* s) {
  const npu_facts* f = s->f;
  const ddk_graph_view* g = f->g;
  bool detour = false;
  for (uint32_t k = 0; k < g->num_nodes; ++k) {
    const ddk_node_view* n = &g->nodes[k];
    bool from_claimed = false, from_tainted = false;
    for (uint32_t i = 0; i < n->num_args; ++i) {
      uint32_t v = na_tensor(n, i);
      if (v == NPU_NONE || v >= g->num_values || f->producer[v] == NPU_NONE) continue;
      uint32_t p = f->producer[v];
      if (s->claimed[p])
        from_claimed = true;
      else if (s->tainted[p])
        from_tainted = true;
    }
    s->tainted[k] = !s->claimed[k] && (from_claimed || from_tainted);
    if (s->claimed[k] && from_tainted) detour = true;
  }
  return detour;
}

/* Whether layer l is an add that must be kept with its two dequantizes
 * by a label of its own (see the top of this file). */
static bool needs_own_label(const part_state* s, uint32_t l, bool detour) {
  return detour && s->layers[l].kind == NB_LAYER_ADD && s->layers[l].num_dq == 2;
}

/*
 * Labels the alive layers. Returns NPU_NONE, or a layer to unclaim when a
 * dequantize shared by two layers would straddle a label boundary (or,
 * with `can_label` false, an add that needs a label of its own).
 */
static uint32_t assign_labels(part_state* s, uint32_t max_layers, bool can_label) {
  bool detour = has_detour(s);
  uint32_t label = 1, count = 0, prev = NPU_NONE;
  bool prev_alone = false;
  for (uint32_t l = 0; l < s->num_layers; ++l) {
    if (!s->alive[l]) continue;
    bool alone = needs_own_label(s, l, detour);
    if (alone && !can_label) return l;
    if (prev != NPU_NONE && (alone || prev_alone || (max_layers > 0 && count >= max_layers))) {
      label++;
      count = 0;
    }
    s->label[l] = label;
    count++;
    prev = l;
    prev_alone = alone;
  }
  /* a shared dequantize must not straddle labels */
  for (uint32_t l = 0; l < s->num_layers; ++l) {
    if (!s->alive[l]) continue;
    for (uint32_t i = 0; i < s->layers[l].num_dq; ++i) {
      uint32_t v = NODE(s->f, s->layers[l].dq[i])->outputs[0];
      for (uint32_t u = s->f->use_start[v]; u < s->f->use_start[v + 1]; ++u) {
        uint32_t m = s->op_layer[s->f->use_node[u]];
        if (m != NPU_NONE && s->alive[m] && s->label[m] != s->label[l]) return m > l ? m : l;
      }
    }
  }
  return NPU_NONE;
}

static ddk_status partition_impl(const ddk_graph_view* g, const ddk_options* options,
                                 const ddk_services* services, bool* out_claimed,
                                 uint32_t* out_group, char* err, size_t err_cap) {
  npu_config cfg;
  ddk_status st = npu_config_read(options, &cfg, err, err_cap);
  if (st != DDK_OK) return st;
  const ddk_allocator* a = &services->allocator;
  npu_facts f;
  part_state s;
  memset(&s, 0, sizeof s);
  const size_t N = (size_t)g->num_nodes + 1;
  st = npu_facts_init(&f, g, a);
  if (st != DDK_OK) {
    npu_errorf(err, err_cap, "npu_sim: out of memory in partition");
    return st;
  }
  s.f = &f;
  s.layers = a->alloc(a->self, N * sizeof(npu_layer), 16);
  s.alive = a->alloc(a->self, N, 16);
  s.op_layer = a->alloc(a->self, N * sizeof(uint32_t), 16);
  s.label = a->alloc(a->self, N * sizeof(uint32_t), 16);
  s.claimed = a->alloc(a->self, N, 16);
  s.tainted = a->alloc(a->self, N, 16);
  if (!s.layers || !s.alive || !s.op_layer || !s.label || !s.claimed || !s.tainted) {
    npu_errorf(err, err_cap, "npu_sim: out of memory in partition");
    st = DDK_OUT_OF_MEMORY;
    goto cleanup;
  }
  for (uint32_t k = 0; k < g->num_nodes; ++k) {
    s.op_layer[k] = NPU_NONE;
    if (!npu_is_main_op(&f, k)) continue;
    char why[256] = "";
    if (npu_match_layer(&f, &cfg, k, &s.layers[s.num_layers], why, sizeof why)) {
      s.op_layer[k] = s.num_layers;
      s.alive[s.num_layers++] = 1;
    } else {
      npu_log(services, DDK_LOG_DEBUG, "node %u (%s '%s') not claimed: %s", g->nodes[k].node_index,
              g->nodes[k].op_name, g->nodes[k].debug_name, why);
    }
  }
  for (;;) {
    fixpoint(&s);
    mark_claims(&s);
    /* plain partition cannot label: it takes no limit (a 1.0 host) */
    uint32_t drop =
        assign_labels(&s, out_group != NULL ? cfg.max_partition_layers : 0, out_group != NULL);
    if (drop == NPU_NONE) break;
    npu_log(services, DDK_LOG_DEBUG,
            "node %u not claimed: it cannot share a partition "
            "with the layers it must be with",
            g->nodes[s.layers[drop].op].node_index);
    s.alive[drop] = 0;
  }
  for (uint32_t k = 0; k < g->num_nodes; ++k) out_claimed[k] = s.claimed[k] != 0;
  if (out_group != NULL)
    for (uint32_t l = 0; l < s.num_layers; ++l) {
      if (!s.alive[l]) continue;
      const npu_layer* L = &s.layers[l];
      uint32_t nodes[7] = {L->op, L->act, L->q, L->dq[0], L->dq[1], L->wnodes[0], L->wnodes[1]};
      for (int i = 0; i < 7; ++i)
        if (nodes[i] != NPU_NONE) out_group[nodes[i]] = s.label[l];
    }
cleanup:
  if (s.layers) a->free(a->self, s.layers, N * sizeof(npu_layer));
  if (s.alive) a->free(a->self, s.alive, N);
  if (s.op_layer) a->free(a->self, s.op_layer, N * sizeof(uint32_t));
  if (s.label) a->free(a->self, s.label, N * sizeof(uint32_t));
  if (s.claimed) a->free(a->self, s.claimed, N);
  if (s.tainted) a->free(a->self, s.tainted, N);
  npu_facts_free(&f, a);
  return st;
}

ddk_status npu_partition(const ddk_backend* self, const ddk_graph_view* graph,
                         const ddk_options* options, const ddk_services* services,
                         bool* out_claimed, char* err, size_t err_cap) {
  (void)self;
  return partition_impl(graph, options, services, out_claimed, NULL, err, err_cap);
}

ddk_status npu_partition_grouped(const ddk_backend* self, const ddk_graph_view* graph,
                                 const ddk_options* options, const ddk_services* services,
                                 bool* out_claimed, uint32_t* out_group, char* err,
                                 size_t err_cap) {
  (void)self;
  return partition_impl(graph, options, services, out_claimed, out_group, err, err_cap);
}
