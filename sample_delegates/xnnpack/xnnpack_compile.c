/*
 * xnnpack_compile.c — preprocess: one partition -> a blob (xnnpack_blob.h).
 *
 * Every decision is made here, ahead of time:
 *  - layout: each 4-D value is held NHWC; execute converts only the
 *    partition's own 4-D inputs and outputs (once per partition, not per op);
 *  - weights: transposed to XNNPACK's layouts (OHWI filters), weight
 *    transforms (permute, view, dequantize of a constant) folded, batch norm
 *    folded into the convolution before it;
 *  - int8: dequantize -> conv/add [-> relu/clamp] -> quantize becomes one
 *    XNNPACK qs8 op with per-channel (qc8) filters; any other q/dq is a
 *    convert, so the rest runs in float32 inside the same runtime;
 *  - profiling: each op carries its program node, and each partition node
 *    without an op of its own gets an XB_OP_ABSORBED record naming the node
 *    whose op does its work, so a profile accounts for every claimed node.
 */
#include <math.h>
#include <string.h>

#include "xnnpack_internal.h"

/* ---- growable byte buffers ---------------------------------------------- */

typedef struct xbuf {
  uint8_t* p;
  size_t len, cap;
} xbuf;

typedef struct temp_block {
  void* p;
  size_t size;
} temp_block;

#define MAX_TEMPS 4096

typedef struct comp {
  const ddk_graph_view* g;
  const ddk_allocator* a;
  xnn_graph_facts f;
  xbuf values, ops, data;
  uint32_t num_values;
  uint32_t* vid;      /* per graph value: blob value id, or XB_NONE */
  uint32_t* ext_in;   /* per graph value: partition input index or NONE */
  uint32_t* ext_out;  /* per graph value: partition output index or NONE */
  uint8_t* skip;      /* per node: 1 folded into another op; 2 fused head */
  uint32_t* owner;    /* per node: the node whose op does its work (itself
                         once it has an op), or XB_NONE */
  void* matches;      /* per node: qmatch of a fused int8 pattern */
  uint32_t* fused_reads; /* per value: reads absorbed by fused int8 ops */
  uint8_t* qknown;    /* per value: int8 qparams known */
  float* qscale;
  int32_t* qzp;
  temp_block temps[MAX_TEMPS];
  uint32_t num_temps;
  char* err;
  size_t err_cap;
  ddk_status st;
} comp;

#define VD(c, v) (&(c)->g->values[(v)])

static bool fail(comp* c, ddk_status st, const char* what, uint32_t node) {
  if (c->st == DDK_OK) {
    c->st = st;
    if (node != XB_NONE)
      xnn_errorf(c->err, c->err_cap, "xnnpack: node %u (%s): %s", node,
                 c->g->nodes[node].op_name, what);
    else
      xnn_errorf(c->err, c->err_cap, "xnnpack: %s", what);
  }
  return false;
}

static bool oom(comp* c) { return fail(c, DDK_OUT_OF_MEMORY, "out of memory", XB_NONE); }

static void* temp_alloc(comp* c, size_t size) {
  if (c->num_temps == MAX_TEMPS) {
    fail(c, DDK_RESOURCE_EXHAUSTED, "too many folded constants", XB_NONE);
    return NULL;
  }
  void* p = c->a->alloc(c->a->self, size ? size : 1, 64);
  if (p == NULL) {
    oom(c);
    return NULL;
  }
  c->temps[c->num_temps++] = (temp_block){p, size ? size : 1};
  return p;
}

/* Appends n bytes (aligned to `align`); returns the offset or SIZE_MAX. */
static size_t buf_append(comp* c, xbuf* b, const void* src, size_t n,
                         size_t align) {
  size_t off = (b->len + align - 1) & ~(align - 1);
  if (off + n > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < off + n) cap *= 2;
    uint8_t* p = c->a->alloc(c->a->self, cap, 64);
    if (p == NULL) {
      oom(c);
      return SIZE_MAX;
    }
    if (b->p) {
      memcpy(p, b->p, b->len);
      c->a->free(c->a->self, b->p, b->cap);
    }
    b->p = p;
    b->cap = cap;
  }
  memset(b->p + b->len, 0, off - b->len);
  if (src) memcpy(b->p + off, src, n);
  else memset(b->p + off, 0, n);
  b->len = off + n;
  return off;
}

static void buf_free(comp* c, xbuf* b) {
  if (b->p) c->a->free(c->a->self, b->p, b->cap);
  memset(b, 0, sizeof *b);
}

/* ---- blob values ---------------------------------------------------------- */

static uint32_t new_value(comp* c, const xb_value* v) {
  if (buf_append(c, &c->values, v, sizeof *v, 8) == SIZE_MAX) return XB_NONE;
  return c->num_values++;
}

/* XNNPACK's dims of graph value v (NHWC for 4-D). */
static uint32_t held_dims(const ddk_value_desc* v, uint64_t dims[XB_MAX_DIMS]) {
  const int64_t* s = v->tensor.sizes;
  uint32_t r = v->tensor.rank;
  if (r == 4) {
    dims[0] = (uint64_t)s[0];
    dims[1] = (uint64_t)s[2];
    dims[2] = (uint64_t)s[3];
    dims[3] = (uint64_t)s[1];
  } else {
    for (uint32_t i = 0; i < r; ++i) dims[i] = (uint64_t)s[i];
  }
  return r;
}

/* The blob value holding run-time graph value v (defined on first use). */
static uint32_t act(comp* c, uint32_t v, uint32_t node) {
  if (c->vid[v] != XB_NONE) return c->vid[v];
  const ddk_value_desc* d = VD(c, v);
  xb_value x;
  memset(&x, 0, sizeof x);
  x.rank = held_dims(d, x.dims);
  if (d->tensor.dtype == DDK_DTYPE_FLOAT32) {
    x.datatype = XB_FP32;
  } else if (d->tensor.dtype == DDK_DTYPE_INT8 && c->qknown[v]) {
    x.datatype = XB_QINT8;
    x.scale = c->qscale[v];
    x.zero_point = c->qzp[v];
  } else {
    fail(c, DDK_INTERNAL, "a value of an unsupported dtype reached XNNPACK", node);
    return XB_NONE;
  }
  if (d->tensor.rank == 4) x.flags |= XB_NHWC;
  if (c->ext_in[v] != XB_NONE) {
    x.flags |= XB_EXTERNAL_INPUT;
    x.ext_index = c->ext_in[v];
  } else if (c->ext_out[v] != XB_NONE) {
    x.flags |= XB_EXTERNAL_OUTPUT;
    x.ext_index = c->ext_out[v];
  }
  uint32_t id = new_value(c, &x);
  c->vid[v] = id;
  return id;
}

/* An internal (non-graph) float32 value of the given XNNPACK dims. */
static uint32_t internal_f32(comp* c, uint32_t rank, const uint64_t* dims) {
  xb_value x;
  memset(&x, 0, sizeof x);
  x.datatype = XB_FP32;
  x.rank = rank;
  memcpy(x.dims, dims, sizeof(uint64_t) * rank);
  return new_value(c, &x);
}

/* A static value: `bytes` of data copied into the blob. */
static uint32_t static_value(comp* c, uint32_t datatype, uint32_t rank,
                             const uint64_t* dims, const void* data,
                             size_t bytes) {
  size_t off = buf_append(c, &c->data, data, bytes, XB_ALIGN);
  if (off == SIZE_MAX) return XB_NONE;
  xb_value x;
  memset(&x, 0, sizeof x);
  x.datatype = datatype;
  x.rank = rank;
  memcpy(x.dims, dims, sizeof(uint64_t) * rank);
  x.flags = XB_STATIC;
  x.data_offset = off;
  return new_value(c, &x);
}

static uint32_t static_f32(comp* c, uint32_t rank, const uint64_t* dims,
                           const float* data) {
  size_t n = 1;
  for (uint32_t i = 0; i < rank; ++i) n *= dims[i];
  return static_value(c, XB_FP32, rank, dims, data, n * sizeof(float));
}

/* ---- constants: the fold of weight transforms ----------------------------- */

typedef struct cfold {
  float* data; /* temp, row-major in `sizes` */
  uint32_t rank;
  int64_t sizes[DDK_MAX_RANK];
} cfold;

static int64_t prod(const int64_t* s, uint32_t r) {
  int64_t n = 1;
  for (uint32_t i = 0; i < r; ++i) n *= s[i];
  return n;
}

static bool fold_f32(comp* c, uint32_t v, cfold* out);

static bool fold_dequantize(comp* c, const ddk_node_view* n, bool per_channel,
                            cfold* out) {
  uint32_t x = xa_tensor(n, 0);
  const ddk_value_desc* xd = VD(c, x);
  if (!(xd->flags & DDK_VALUE_CONSTANT))
    return fail(c, DDK_INTERNAL, "dequantize of a non-constant folded", XB_NONE);
  const int8_t* q = xd->tensor.data;
  out->rank = xd->tensor.rank;
  memcpy(out->sizes, xd->tensor.sizes, sizeof(int64_t) * out->rank);
  int64_t total = prod(out->sizes, out->rank);
  out->data = temp_alloc(c, (size_t)total * sizeof(float));
  if (out->data == NULL) return false;
  if (!per_channel) {
    double scale;
    int64_t zp;
    xnn_qdq_params(n, &scale, &zp);
    for (int64_t i = 0; i < total; ++i)
      out->data[i] = (float)((double)(q[i] - zp) * scale);
    return true;
  }
  int64_t axis = 0;
  xa_int(n, 3, &axis);
  if (axis < 0) axis += out->rank;
  const ddk_value_desc* sd = VD(c, xa_tensor(n, 1));
  uint32_t z = xa_tensor(n, 2);
  int64_t inner = prod(out->sizes + axis + 1, out->rank - (uint32_t)axis - 1);
  int64_t ch = out->sizes[axis];
  for (int64_t i = 0; i < total; ++i) {
    int64_t k = (i / inner) % ch;
    double s = sd->tensor.dtype == DDK_DTYPE_FLOAT64
                   ? ((const double*)sd->tensor.data)[k]
                   : ((const float*)sd->tensor.data)[k];
    int64_t zp = 0;
    if (z != DDK_NO_VALUE)
      zp = VD(c, z)->tensor.dtype == DDK_DTYPE_INT64
               ? ((const int64_t*)VD(c, z)->tensor.data)[k]
               : ((const int32_t*)VD(c, z)->tensor.data)[k];
    out->data[i] = (float)((double)(q[i] - zp) * s);
  }
  return true;
}

static bool fold_permute(comp* c, const ddk_node_view* n, cfold* out) {
  cfold src;
  if (!fold_f32(c, xa_tensor(n, 0), &src)) return false;
  const int64_t* perm = NULL;
  uint32_t np = 0;
  xa_ints(n, 1, &perm, &np);
  if (np != src.rank)
    return fail(c, DDK_INTERNAL, "permute rank mismatch", XB_NONE);
  out->rank = src.rank;
  int64_t p[DDK_MAX_RANK], sstride[DDK_MAX_RANK];
  for (uint32_t i = 0; i < np; ++i) {
    p[i] = perm[i] < 0 ? perm[i] + np : perm[i];
    out->sizes[i] = src.sizes[p[i]];
  }
  int64_t s = 1;
  for (uint32_t i = np; i-- > 0;) {
    sstride[i] = s;
    s *= src.sizes[i];
  }
  int64_t total = prod(out->sizes, out->rank);
  out->data = temp_alloc(c, (size_t)total * sizeof(float));
  if (out->data == NULL) return false;
  int64_t idx[DDK_MAX_RANK] = {0};
  for (int64_t i = 0; i < total; ++i) {
    int64_t off = 0;
    for (uint32_t d = 0; d < np; ++d) off += idx[d] * sstride[p[d]];
    out->data[i] = src.data[off];
    for (uint32_t d = np; d-- > 0;) {
      if (++idx[d] < out->sizes[d]) break;
      idx[d] = 0;
    }
  }
  return true;
}

/* Float32 data of constant-derived value v, in its logical (NCHW) shape. */
static bool fold_f32(comp* c, uint32_t v, cfold* out) {
  const ddk_value_desc* d = VD(c, v);
  if (d->flags & DDK_VALUE_CONSTANT) {
    if (d->tensor.dtype != DDK_DTYPE_FLOAT32)
      return fail(c, DDK_INTERNAL, "a non-float32 constant used as float32", XB_NONE);
    out->rank = d->tensor.rank;
    memcpy(out->sizes, d->tensor.sizes, sizeof(int64_t) * out->rank);
    out->data = (float*)d->tensor.data; /* read-only use below */
    return true;
  }
  uint32_t p = c->f.producer[v];
  if (p == DDK_NO_VALUE)
    return fail(c, DDK_INTERNAL,
                "a weight's transform is outside this partition", XB_NONE);
  const ddk_node_view* n = &c->g->nodes[p];
  switch (n->op_id) {
    case DDK_OP_ATEN_PERMUTE: return fold_permute(c, n, out);
    case DDK_OP_QUANTIZED_DECOMPOSED_DEQUANTIZE_PER_CHANNEL:
      return fold_dequantize(c, n, true, out);
    case DDK_OP_QUANTIZED_DECOMPOSED_DEQUANTIZE_PER_TENSOR:
      return fold_dequantize(c, n, false, out);
    default: { /* view, unsqueeze, squeeze: same data, new shape */
      if (!fold_f32(c, xa_tensor(n, 0), out)) return false;
      out->rank = d->tensor.rank;
      memcpy(out->sizes, d->tensor.sizes, sizeof(int64_t) * out->rank);
      return true;
    }
  }
}

/* A constant operand of an elementwise op whose output has rank out_rank:
 * NHWC (padded to 4-D) when the output is 4-D, else as it is. */
static uint32_t const_operand(comp* c, uint32_t v, uint32_t out_rank) {
  cfold k;
  if (!fold_f32(c, v, &k)) return XB_NONE;
  uint64_t dims[XB_MAX_DIMS];
  if (out_rank != 4 || k.rank > 4) {
    uint32_t r = k.rank;
    for (uint32_t i = 0; i < r; ++i) dims[i] = (uint64_t)k.sizes[i];
    if (r == 0) {
      dims[0] = 1;
      r = 1;
    }
    return static_f32(c, r, dims, k.data);
  }
  int64_t s4[4] = {1, 1, 1, 1};
  for (uint32_t i = 0; i < k.rank; ++i) s4[4 - k.rank + i] = k.sizes[i];
  int64_t N = s4[0], C = s4[1], H = s4[2], W = s4[3];
  float* t = temp_alloc(c, (size_t)(N * C * H * W) * sizeof(float));
  if (t == NULL) return XB_NONE;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t ch = 0; ch < C; ++ch)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t w = 0; w < W; ++w)
          t[((n * H + h) * W + w) * C + ch] = k.data[((n * C + ch) * H + h) * W + w];
  dims[0] = (uint64_t)N;
  dims[1] = (uint64_t)H;
  dims[2] = (uint64_t)W;
  dims[3] = (uint64_t)C;
  return static_f32(c, 4, dims, t);
}

/* ---- ops ------------------------------------------------------------------ */

static xb_op* new_op(comp* c, uint32_t kind, uint32_t node, uint32_t out,
                     uint32_t n_in, uint32_t in0, uint32_t in1, uint32_t in2) {
  xb_op op;
  memset(&op, 0, sizeof op);
  op.kind = kind;
  op.node_index = c->g->nodes[node].node_index;
  if (kind != XB_OP_ABSORBED) c->owner[node] = node;
  op.output = out;
  op.num_inputs = n_in;
  op.inputs[0] = in0;
  op.inputs[1] = in1;
  op.inputs[2] = in2;
  op.out_min = -INFINITY;
  op.out_max = INFINITY;
  size_t off = buf_append(c, &c->ops, &op, sizeof op, 8);
  if (off == SIZE_MAX) return NULL;
  return (xb_op*)(c->ops.p + off);
}

static bool ok(comp* c) { return c->st == DDK_OK; }

/* Pair i of an int list given with 1 or 2 entries. */
static int64_t pair(const int64_t* l, uint32_t n, int i) {
  return l[n == 1 ? 0 : i];
}

/* p[0..12] of a CONV2D / DECONV2D op from the node's stride, padding,
 * dilation and groups (blob layout in xnnpack_blob.h). */
static void conv_params(xb_op* op, const ddk_node_view* n, int64_t KH,
                        int64_t KW, int64_t ICg, int64_t OCg) {
  const int64_t *st = NULL, *pd = NULL, *dl = NULL;
  uint32_t ns = 0, np = 0, nd = 0;
  int64_t groups = 1;
  xa_ints(n, 3, &st, &ns);
  xa_ints(n, 4, &pd, &np);
  xa_ints(n, 5, &dl, &nd);
  xa_int(n, 8, &groups);
  op->p[0] = op->p[2] = (uint32_t)pair(pd, np, 0);
  op->p[1] = op->p[3] = (uint32_t)pair(pd, np, 1);
  op->p[4] = (uint32_t)KH;
  op->p[5] = (uint32_t)KW;
  op->p[6] = (uint32_t)pair(st, ns, 0);
  op->p[7] = (uint32_t)pair(st, ns, 1);
  op->p[8] = (uint32_t)pair(dl, nd, 0);
  op->p[9] = (uint32_t)pair(dl, nd, 1);
  op->p[10] = (uint32_t)groups;
  op->p[11] = (uint32_t)ICg;
  op->p[12] = (uint32_t)OCg;
}

/* Batch norm as per-channel (scale, shift) arrays of C floats. */
static bool bn_affine(comp* c, const ddk_node_view* bn, float** scale,
                      float** shift) {
  cfold m, var, w, b;
  double eps = 0;
  xa_number(bn, 6, &eps);
  if (!fold_f32(c, xa_tensor(bn, 3), &m) || !fold_f32(c, xa_tensor(bn, 4), &var))
    return false;
  bool has_w = xa_tensor(bn, 1) != DDK_NO_VALUE,
       has_b = xa_tensor(bn, 2) != DDK_NO_VALUE;
  if (has_w && !fold_f32(c, xa_tensor(bn, 1), &w)) return false;
  if (has_b && !fold_f32(c, xa_tensor(bn, 2), &b)) return false;
  int64_t C = prod(m.sizes, m.rank);
  *scale = temp_alloc(c, (size_t)C * sizeof(float));
  *shift = temp_alloc(c, (size_t)C * sizeof(float));
  if (*scale == NULL || *shift == NULL) return false;
  for (int64_t i = 0; i < C; ++i) {
    float inv = (float)(1.0 / sqrt((double)var.data[i] + eps));
    float s = has_w ? w.data[i] * inv : inv;
    (*scale)[i] = s;
    (*shift)[i] = (has_b ? b.data[i] : 0.0f) - m.data[i] * s;
  }
  return true;
}

/* The node reading value v when v has exactly one reader and is not a
 * partition output; else NONE. */
static uint32_t only_reader(comp* c, uint32_t v) {
  if (c->f.uses[v] != 1 || c->ext_out[v] != XB_NONE) return XB_NONE;
  for (uint32_t k = 0; k < c->g->num_nodes; ++k) {
    const ddk_node_view* n = &c->g->nodes[k];
    for (uint32_t i = 0; i < n->num_args; ++i)
      if (n->args[i].kind == DDK_ARG_TENSOR && n->args[i].u.tensor == v)
        return k;
  }
  return XB_NONE;
}

/* Output range of a clamp-like node (relu, hardtanh, clamp); false if the
 * node is not one. */
static bool clamp_range(const ddk_node_view* n, float* lo, float* hi) {
  double a = -INFINITY, b = INFINITY;
  switch (n->op_id) {
    case DDK_OP_ATEN_RELU: a = 0; break;
    case DDK_OP_ATEN_HARDTANH:
      a = -1;
      b = 1;
      if (!xa_is_none(n, 1)) xa_number(n, 1, &a);
      if (!xa_is_none(n, 2)) xa_number(n, 2, &b);
      break;
    case DDK_OP_ATEN_CLAMP:
      if (!xa_is_none(n, 1)) xa_number(n, 1, &a);
      if (!xa_is_none(n, 2)) xa_number(n, 2, &b);
      break;
    default: return false;
  }
  *lo = (float)a;
  *hi = (float)b;
  return true;
}

static bool is_op_node(comp* c, uint32_t k, uint32_t op_id) {
  return k != XB_NONE && c->g->nodes[k].op_id == op_id &&
         xnn_node_rule(&c->f, &c->g->nodes[k]) == XNN_ROLE_OP;
}

/* The run-time int8 value a float32 value is dequantized from, or NONE. */
static uint32_t dequantized_from(comp* c, uint32_t v) {
  uint32_t p = c->f.producer[v];
  if (!is_op_node(c, p, DDK_OP_QUANTIZED_DECOMPOSED_DEQUANTIZE_PER_TENSOR))
    return XB_NONE;
  return xa_tensor(&c->g->nodes[p], 0);
}

/* Follows y (the float output of a fusable op) through an optional clamp
 * to a quantize; returns the quantize node and the range, or NONE. */
static uint32_t quantized_by(comp* c, uint32_t y, float* lo, float* hi,
                             uint32_t* act_node) {
  *lo = -INFINITY;
  *hi = INFINITY;
  *act_node = XB_NONE;
  uint32_t r = only_reader(c, y);
  if (r == XB_NONE) return XB_NONE;
  if (clamp_range(&c->g->nodes[r], lo, hi) &&
      xnn_node_rule(&c->f, &c->g->nodes[r]) == XNN_ROLE_OP) {
    *act_node = r;
    r = only_reader(c, c->g->nodes[r].outputs[0]);
  }
  return is_op_node(c, r, DDK_OP_QUANTIZED_DECOMPOSED_QUANTIZE_PER_TENSOR) ? r
                                                                          : XB_NONE;
}

/* A matched int8 pattern: dq(x) -> conv(dq_per_channel(W), bias)
 * [-> clamp] -> q, or add(dq(a), dq(b)) [-> clamp] -> q. */
typedef struct qmatch {
  uint32_t xq, bq; /* the int8 inputs (bq: add only) */
  uint32_t qn;     /* the quantize node; its output is the op's output */
  uint32_t act_node;
  float lo, hi;
} qmatch;

static bool match_q_conv(comp* c, uint32_t k, qmatch* m) {
  const ddk_node_view* n = &c->g->nodes[k];
  bool transposed = true;
  xa_bool(n, 6, &transposed);
  if (transposed) return false;
  m->xq = dequantized_from(c, xa_tensor(n, 0));
  uint32_t wp = c->f.producer[xa_tensor(n, 1)];
  if (m->xq == XB_NONE || !c->qknown[m->xq] || wp == DDK_NO_VALUE ||
      c->g->nodes[wp].op_id != DDK_OP_QUANTIZED_DECOMPOSED_DEQUANTIZE_PER_CHANNEL)
    return false;
  const ddk_node_view* wn = &c->g->nodes[wp];
  int64_t axis = -1;
  xa_int(wn, 3, &axis);
  uint32_t zv = xa_tensor(wn, 2);
  if (axis != 0 || !(VD(c, xa_tensor(wn, 0))->flags & DDK_VALUE_CONSTANT))
    return false;
  int64_t OC = VD(c, xa_tensor(wn, 0))->tensor.sizes[0];
  if (zv != DDK_NO_VALUE)
    for (int64_t i = 0; i < OC; ++i) {
      int64_t z = VD(c, zv)->tensor.dtype == DDK_DTYPE_INT64
                      ? ((const int64_t*)VD(c, zv)->tensor.data)[i]
                      : ((const int32_t*)VD(c, zv)->tensor.data)[i];
      if (z != 0) return false;
    }
  m->qn = quantized_by(c, n->outputs[0], &m->lo, &m->hi, &m->act_node);
  return m->qn != XB_NONE;
}

static bool match_q_add(comp* c, uint32_t k, qmatch* m) {
  const ddk_node_view* n = &c->g->nodes[k];
  m->xq = dequantized_from(c, xa_tensor(n, 0));
  m->bq = dequantized_from(c, xa_tensor(n, 1));
  if (m->xq == XB_NONE || m->bq == XB_NONE || !c->qknown[m->xq] ||
      !c->qknown[m->bq])
    return false;
  uint32_t ra = VD(c, m->xq)->tensor.rank, rb = VD(c, m->bq)->tensor.rank;
  if ((ra == 4) != (rb == 4) || VD(c, n->outputs[0])->tensor.rank != ra)
    return false;
  if (!xa_is_none(n, 2)) {
    double alpha = 1;
    if (!xa_number(n, 2, &alpha) || alpha != 1.0) return false;
  }
  m->qn = quantized_by(c, n->outputs[0], &m->lo, &m->hi, &m->act_node);
  return m->qn != XB_NONE;
}

static bool emit_q_conv(comp* c, uint32_t k, const qmatch* m) {
  const ddk_node_view* n = &c->g->nodes[k];
  const ddk_node_view* wn = &c->g->nodes[c->f.producer[xa_tensor(n, 1)]];
  const ddk_value_desc* wq = VD(c, xa_tensor(wn, 0));
  const int64_t* s = wq->tensor.sizes;
  int64_t OC = s[0], ICg = s[1], KH = s[2], KW = s[3];
  size_t fbytes = (size_t)(OC * KH * KW * ICg);
  size_t fo = buf_append(c, &c->data, NULL, fbytes, XB_ALIGN);
  size_t so = buf_append(c, &c->data, NULL, (size_t)OC * 4, XB_ALIGN);
  size_t bo = buf_append(c, &c->data, NULL, (size_t)OC * 4, XB_ALIGN);
  size_t bso = buf_append(c, &c->data, NULL, (size_t)OC * 4, XB_ALIGN);
  if (fo == SIZE_MAX || so == SIZE_MAX || bo == SIZE_MAX || bso == SIZE_MAX)
    return false;
  cfold bias = {0};
  uint32_t bv = xa_tensor(n, 2);
  if (bv != DDK_NO_VALUE && !fold_f32(c, bv, &bias)) return false;
  /* filter: OHWI int8; per-channel scales; int32 bias at x_scale*w_scale */
  int8_t* f8 = (int8_t*)(c->data.p + fo);
  float* fs = (float*)(c->data.p + so);
  int32_t* b32 = (int32_t*)(c->data.p + bo);
  float* bscales = (float*)(c->data.p + bso);
  const int8_t* q = wq->tensor.data;
  for (int64_t o = 0; o < OC; ++o)
    for (int64_t i = 0; i < ICg; ++i)
      for (int64_t h = 0; h < KH; ++h)
        for (int64_t w = 0; w < KW; ++w)
          f8[((o * KH + h) * KW + w) * ICg + i] = q[((o * ICg + i) * KH + h) * KW + w];
  const ddk_value_desc* sd = VD(c, xa_tensor(wn, 1));
  float xs = c->qscale[m->xq];
  for (int64_t o = 0; o < OC; ++o) {
    fs[o] = sd->tensor.dtype == DDK_DTYPE_FLOAT64
                ? (float)((const double*)sd->tensor.data)[o]
                : ((const float*)sd->tensor.data)[o];
    bscales[o] = xs * fs[o];
    double b = bv != DDK_NO_VALUE ? bias.data[o] : 0.0;
    double r = nearbyint(b / (double)bscales[o]);
    if (r > 2147483647.0) r = 2147483647.0;
    if (r < -2147483648.0) r = -2147483648.0;
    b32[o] = (int32_t)r;
  }
  xb_value fv;
  memset(&fv, 0, sizeof fv);
  fv.datatype = XB_QCINT8;
  fv.rank = 4;
  fv.dims[0] = (uint64_t)OC;
  fv.dims[1] = (uint64_t)KH;
  fv.dims[2] = (uint64_t)KW;
  fv.dims[3] = (uint64_t)ICg;
  fv.flags = XB_STATIC;
  fv.data_offset = fo;
  fv.scales_offset = so;
  xb_value bvx;
  memset(&bvx, 0, sizeof bvx);
  bvx.datatype = XB_QCINT32;
  bvx.rank = 1;
  bvx.dims[0] = (uint64_t)OC;
  bvx.flags = XB_STATIC;
  bvx.data_offset = bo;
  bvx.scales_offset = bso;
  uint32_t fid = new_value(c, &fv), bid = new_value(c, &bvx);
  uint32_t in = act(c, m->xq, k), out = act(c, c->g->nodes[m->qn].outputs[0], m->qn);
  if (!ok(c)) return false;
  int64_t groups = 1;
  xa_int(n, 8, &groups);
  xb_op* op = new_op(c, XB_OP_CONV2D, k, out, 3, in, fid, bid);
  if (op == NULL) return false;
  conv_params(op, n, KH, KW, ICg, OC / groups);
  op->out_min = m->lo;
  op->out_max = m->hi;
  return true;
}

static bool emit_q_add(comp* c, uint32_t k, const qmatch* m) {
  uint32_t ia = act(c, m->xq, k), ib = act(c, m->bq, k);
  uint32_t out = act(c, c->g->nodes[m->qn].outputs[0], m->qn);
  if (!ok(c)) return false;
  xb_op* op = new_op(c, XB_OP_ADD, k, out, 2, ia, ib, XB_NONE);
  if (op == NULL) return false;
  op->out_min = m->lo;
  op->out_max = m->hi;
  return true;
}

static bool emit_conv(comp* c, uint32_t k) {
  const ddk_node_view* n = &c->g->nodes[k];
  cfold w, b = {0};
  uint32_t bv = xa_tensor(n, 2);
  if (!fold_f32(c, xa_tensor(n, 1), &w)) return false;
  if (bv != DDK_NO_VALUE && !fold_f32(c, bv, &b)) return false;
  bool transposed = false;
  int64_t groups = 1;
  const int64_t* op_ = NULL;
  uint32_t no = 0;
  xa_bool(n, 6, &transposed);
  xa_ints(n, 7, &op_, &no);
  xa_int(n, 8, &groups);
  const int64_t* s = w.sizes;
  int64_t OC, ICg, KH = s[2], KW = s[3];
  if (transposed) {
    ICg = s[0] / groups;
    OC = s[1] * groups;
  } else {
    OC = s[0];
    ICg = s[1];
  }
  int64_t OCg = OC / groups;
  float* f = temp_alloc(c, (size_t)(OC * KH * KW * ICg) * sizeof(float));
  float* bias = temp_alloc(c, (size_t)OC * sizeof(float));
  if (!f || !bias) return false;
  for (int64_t o = 0; o < OC; ++o)
    for (int64_t i = 0; i < ICg; ++i)
      for (int64_t h = 0; h < KH; ++h)
        for (int64_t x = 0; x < KW; ++x) {
          int64_t src;
          if (transposed) { /* [IC, OCg, KH, KW] */
            int64_t gi = o / OCg, oc = o % OCg;
            src = (((gi * ICg + i) * OCg + oc) * KH + h) * KW + x;
          } else { /* [OC, ICg, KH, KW] */
            src = ((o * ICg + i) * KH + h) * KW + x;
          }
          f[((o * KH + h) * KW + x) * ICg + i] = w.data[src];
        }
  for (int64_t o = 0; o < OC; ++o) bias[o] = bv != DDK_NO_VALUE ? b.data[o] : 0.0f;
  /* fold a following batch norm into the filter and bias */
  uint32_t y = n->outputs[0];
  uint32_t r = transposed ? XB_NONE : only_reader(c, y);
  if (r != XB_NONE &&
      is_op_node(c, r, DDK_OP_ATEN_NATIVE_BATCH_NORM_LEGIT_NO_TRAINING) &&
      xa_tensor(&c->g->nodes[r], 0) == y) {
    float *scale, *shift;
    if (!bn_affine(c, &c->g->nodes[r], &scale, &shift)) return false;
    for (int64_t o = 0; o < OC; ++o) {
      for (int64_t j = 0; j < KH * KW * ICg; ++j) f[o * KH * KW * ICg + j] *= scale[o];
      bias[o] = bias[o] * scale[o] + shift[o];
    }
    c->skip[r] = 1;
    c->owner[r] = k;
    y = c->g->nodes[r].outputs[0];
  }
  uint64_t fd[4] = {(uint64_t)OC, (uint64_t)KH, (uint64_t)KW, (uint64_t)ICg};
  uint64_t bd[1] = {(uint64_t)OC};
  uint32_t fid = static_f32(c, 4, fd, f), bid = static_f32(c, 1, bd, bias);
  uint32_t in = act(c, xa_tensor(n, 0), k), out = act(c, y, k);
  if (!ok(c)) return false;
  xb_op* op = new_op(c, transposed ? XB_OP_DECONV2D : XB_OP_CONV2D, k, out, 3,
                     in, fid, bid);
  if (op == NULL) return false;
  conv_params(op, n, KH, KW, ICg, OCg);
  if (transposed) {
    op->p[13] = no ? (uint32_t)pair(op_, no, 0) : 0;
    op->p[14] = no ? (uint32_t)pair(op_, no, 1) : 0;
  }
  return true;
}

static bool emit_batch_norm(comp* c, uint32_t k) {
  const ddk_node_view* n = &c->g->nodes[k];
  float *scale, *shift;
  if (!bn_affine(c, n, &scale, &shift)) return false;
  const ddk_value_desc* xd = VD(c, xa_tensor(n, 0));
  int64_t C = xd->tensor.sizes[1];
  uint64_t pd[2] = {(uint64_t)C, 1};
  uint32_t prank = xd->tensor.rank == 3 ? 2 : 1; /* [C,1] broadcasts over L */
  uint32_t sid = static_f32(c, prank, pd, scale), tid = static_f32(c, prank, pd, shift);
  uint32_t in = act(c, xa_tensor(n, 0), k);
  uint64_t dims[XB_MAX_DIMS];
  uint32_t r = held_dims(xd, dims);
  uint32_t mid = internal_f32(c, r, dims);
  uint32_t out = act(c, n->outputs[0], k);
  if (!ok(c)) return false;
  return new_op(c, XB_OP_MULTIPLY, k, mid, 2, in, sid, XB_NONE) &&
         new_op(c, XB_OP_ADD, k, out, 2, mid, tid, XB_NONE);
}

static bool emit_linear(comp* c, uint32_t k, bool addmm) {
  const ddk_node_view* n = &c->g->nodes[k];
  uint32_t base = addmm ? 1 : 0;
  cfold w;
  if (!fold_f32(c, xa_tensor(n, base + 1), &w)) return false; /* [in, out] */
  uint64_t wd[2] = {(uint64_t)w.sizes[0], (uint64_t)w.sizes[1]};
  uint32_t fid = static_f32(c, 2, wd, w.data), bid = XB_NONE;
  if (addmm) {
    cfold b;
    if (!fold_f32(c, xa_tensor(n, 0), &b)) return false;
    uint64_t bd[1] = {(uint64_t)w.sizes[1]};
    bid = static_f32(c, 1, bd, b.data);
  }
  uint32_t in = act(c, xa_tensor(n, base), k), out = act(c, n->outputs[0], k);
  if (!ok(c)) return false;
  xb_op* op = new_op(c, XB_OP_FULLY_CONNECTED, k, out, 3, in, fid, bid);
  if (op == NULL) return false;
  op->flags = 1u; /* XNN_FLAG_TRANSPOSE_WEIGHTS: the filter is [in, out] */
  return true;
}

static bool emit_binary(comp* c, uint32_t k, uint32_t kind, bool scalar) {
  const ddk_node_view* n = &c->g->nodes[k];
  uint32_t out_rank = VD(c, n->outputs[0])->tensor.rank;
  uint32_t ids[2];
  for (uint32_t i = 0; i < 2; ++i) {
    if (i == 1 && scalar) {
      double s = 0;
      xa_number(n, 1, &s);
      float f = (float)s;
      uint64_t d1[1] = {1};
      ids[1] = static_f32(c, 1, d1, &f);
      continue;
    }
    uint32_t v = xa_tensor(n, i);
    ids[i] = c->f.const_derived[v] ? const_operand(c, v, out_rank) : act(c, v, k);
  }
  uint32_t out = act(c, n->outputs[0], k);
  if (!ok(c)) return false;
  return new_op(c, kind, k, out, 2, ids[0], ids[1], XB_NONE) != NULL;
}

static bool emit_unary(comp* c, uint32_t k, uint32_t kind) {
  const ddk_node_view* n = &c->g->nodes[k];
  uint32_t in = act(c, xa_tensor(n, 0), k), out = act(c, n->outputs[0], k);
  if (!ok(c)) return false;
  xb_op* op = new_op(c, kind, k, out, 1, in, XB_NONE, XB_NONE);
  if (op == NULL) return false;
  double v;
  if (kind == XB_OP_CLAMP) {
    clamp_range(n, &op->out_min, &op->out_max);
  } else if (kind == XB_OP_LEAKY_RELU) {
    v = 0.01;
    if (!xa_is_none(n, 1)) xa_number(n, 1, &v);
    op->f[0] = (float)v;
  } else if (kind == XB_OP_ELU) {
    v = 1.0;
    if (!xa_is_none(n, 1)) xa_number(n, 1, &v);
    op->f[0] = (float)v;
  }
  return true;
}

static bool emit_pool(comp* c, uint32_t k, bool max) {
  const ddk_node_view* n = &c->g->nodes[k];
  const ddk_value_desc* xd = VD(c, xa_tensor(n, 0));
  const ddk_value_desc* od = VD(c, n->outputs[0]);
  const int64_t *kl = NULL, *sl = NULL, *pl = NULL, *dl = NULL;
  uint32_t nk = 0, ns = 0, np = 0, nd = 0;
  xa_ints(n, 1, &kl, &nk);
  xa_ints(n, 2, &sl, &ns);
  xa_ints(n, 3, &pl, &np);
  if (max) xa_ints(n, 4, &dl, &nd);
  uint32_t in = act(c, xa_tensor(n, 0), k), out = act(c, n->outputs[0], k);
  if (!ok(c)) return false;
  xb_op* op = new_op(c, max ? XB_OP_MAX_POOL2D : XB_OP_AVG_POOL2D, k, out, 1,
                     in, XB_NONE, XB_NONE);
  if (op == NULL) return false;
  for (int i = 0; i < 2; ++i) {
    int64_t kk = pair(kl, nk, i), ss = ns ? pair(sl, ns, i) : kk;
    int64_t pp = pair(pl, np, i), dd = nd ? pair(dl, nd, i) : 1;
    int64_t H = xd->tensor.sizes[2 + i], O = od->tensor.sizes[2 + i];
    /* ceil_mode: extra bottom/right padding gives ATen's output size */
    int64_t after = (O - 1) * ss + dd * (kk - 1) + 1 - H - pp;
    if (after < pp) after = pp;
    op->p[i == 0 ? 0 : 3] = (uint32_t)pp;       /* top, left */
    op->p[i == 0 ? 2 : 1] = (uint32_t)after;    /* bottom, right */
    op->p[4 + i] = (uint32_t)kk;
    op->p[6 + i] = (uint32_t)ss;
    op->p[8 + i] = (uint32_t)dd;
  }
  return true;
}

/* Global average pooling, or (adaptive) pooling with kernel = stride. */
static bool emit_mean(comp* c, uint32_t k) {
  const ddk_node_view* n = &c->g->nodes[k];
  const ddk_value_desc* xd = VD(c, xa_tensor(n, 0));
  const ddk_value_desc* od = VD(c, n->outputs[0]);
  uint32_t in = act(c, xa_tensor(n, 0), k);
  const int64_t* s = xd->tensor.sizes;
  if (n->op_id == DDK_OP_ATEN_ADAPTIVE_AVG_POOL2D &&
      (od->tensor.sizes[2] != 1 || od->tensor.sizes[3] != 1)) {
    uint32_t out = act(c, n->outputs[0], k);
    if (!ok(c)) return false;
    xb_op* op = new_op(c, XB_OP_AVG_POOL2D, k, out, 1, in, XB_NONE, XB_NONE);
    if (op == NULL) return false;
    op->p[4] = op->p[6] = (uint32_t)(s[2] / od->tensor.sizes[2]);
    op->p[5] = op->p[7] = (uint32_t)(s[3] / od->tensor.sizes[3]);
    return true;
  }
  if (od->tensor.rank == 4) {
    uint32_t out = act(c, n->outputs[0], k);
    if (!ok(c)) return false;
    return new_op(c, XB_OP_GLOBAL_AVG_POOL2D, k, out, 1, in, XB_NONE, XB_NONE);
  }
  uint64_t d4[4] = {(uint64_t)s[0], 1, 1, (uint64_t)s[1]};
  uint32_t mid = internal_f32(c, 4, d4);
  uint32_t out = act(c, n->outputs[0], k);
  if (!ok(c)) return false;
  return new_op(c, XB_OP_GLOBAL_AVG_POOL2D, k, mid, 1, in, XB_NONE, XB_NONE) &&
         new_op(c, XB_OP_RESHAPE, k, out, 1, mid, XB_NONE, XB_NONE);
}

static bool emit_pad(comp* c, uint32_t k) {
  const ddk_node_view* n = &c->g->nodes[k];
  const ddk_value_desc* xd = VD(c, xa_tensor(n, 0));
  const int64_t* pad = NULL;
  uint32_t np = 0;
  double value = 0;
  xa_ints(n, 1, &pad, &np);
  xa_number(n, 2, &value);
  uint32_t in = act(c, xa_tensor(n, 0), k), out = act(c, n->outputs[0], k);
  if (!ok(c)) return false;
  xb_op* op = new_op(c, XB_OP_CONSTANT_PAD, k, out, 1, in, XB_NONE, XB_NONE);
  if (op == NULL) return false;
  uint32_t r = xd->tensor.rank;
  static const uint32_t nhwc_pos[4] = {0, 3, 1, 2};
  for (uint32_t i = 0; i < np / 2; ++i) {
    uint32_t d = r - 1 - i;
    uint32_t pos = r == 4 ? nhwc_pos[d] : d;
    op->p[pos] = (uint32_t)pad[2 * i];
    op->p[6 + pos] = (uint32_t)pad[2 * i + 1];
  }
  op->f[0] = (float)value;
  return true;
}

static bool emit_simple(comp* c, uint32_t k, uint32_t kind) {
  const ddk_node_view* n = &c->g->nodes[k];
  uint32_t in = act(c, xa_tensor(n, 0), k), out = act(c, n->outputs[0], k);
  if (!ok(c)) return false;
  xb_op* op = new_op(c, kind, k, out, 1, in, XB_NONE, XB_NONE);
  if (op == NULL) return false;
  if (kind == XB_OP_RESIZE_BILINEAR) {
    const int64_t* os = VD(c, n->outputs[0])->tensor.sizes;
    bool align = false;
    xa_bool(n, 2, &align);
    op->p[0] = (uint32_t)os[2];
    op->p[1] = (uint32_t)os[3];
    op->p[2] = align;
  }
  return true;
}

static bool emit_node(comp* c, uint32_t k) {
  const ddk_node_view* n = &c->g->nodes[k];
  switch (n->op_id) {
    case DDK_OP_QUANTIZED_DECOMPOSED_DEQUANTIZE_PER_TENSOR: {
      uint32_t y = n->outputs[0];
      if (c->f.uses[y] <= c->fused_reads[y]) return true; /* all fused */
      return emit_simple(c, k, XB_OP_CONVERT);
    }
    case DDK_OP_QUANTIZED_DECOMPOSED_QUANTIZE_PER_TENSOR:
      return emit_simple(c, k, XB_OP_CONVERT);
    case DDK_OP_ATEN_CONVOLUTION: return emit_conv(c, k);
    case DDK_OP_ATEN_NATIVE_BATCH_NORM_LEGIT_NO_TRAINING:
      return emit_batch_norm(c, k);
    case DDK_OP_ATEN_ADDMM: return emit_linear(c, k, true);
    case DDK_OP_ATEN_MM: return emit_linear(c, k, false);
    case DDK_OP_ATEN_ADD_TENSOR: return emit_binary(c, k, XB_OP_ADD, false);
    case DDK_OP_ATEN_SUB_TENSOR: return emit_binary(c, k, XB_OP_SUBTRACT, false);
    case DDK_OP_ATEN_MUL_TENSOR: return emit_binary(c, k, XB_OP_MULTIPLY, false);
    case DDK_OP_ATEN_DIV_TENSOR: return emit_binary(c, k, XB_OP_DIVIDE, false);
    case DDK_OP_ATEN_ADD_SCALAR: return emit_binary(c, k, XB_OP_ADD, true);
    case DDK_OP_ATEN_SUB_SCALAR: return emit_binary(c, k, XB_OP_SUBTRACT, true);
    case DDK_OP_ATEN_MUL_SCALAR: return emit_binary(c, k, XB_OP_MULTIPLY, true);
    case DDK_OP_ATEN_DIV_SCALAR: return emit_binary(c, k, XB_OP_DIVIDE, true);
    case DDK_OP_ATEN_RELU:
    case DDK_OP_ATEN_HARDTANH:
    case DDK_OP_ATEN_CLAMP: return emit_unary(c, k, XB_OP_CLAMP);
    case DDK_OP_ATEN_SIGMOID: return emit_unary(c, k, XB_OP_SIGMOID);
    case DDK_OP_ATEN_LEAKY_RELU: return emit_unary(c, k, XB_OP_LEAKY_RELU);
    case DDK_OP_ATEN_ELU: return emit_unary(c, k, XB_OP_ELU);
    case DDK_OP_ATEN_ABS: return emit_unary(c, k, XB_OP_ABS);
    case DDK_OP_ATEN_NEG: return emit_unary(c, k, XB_OP_NEGATE);
    case DDK_OP_ATEN_FLOOR: return emit_unary(c, k, XB_OP_FLOOR);
    case DDK_OP_ATEN_CEIL: return emit_unary(c, k, XB_OP_CEILING);
    case DDK_OP_ATEN_SQRT: return emit_unary(c, k, XB_OP_SQUARE_ROOT);
    case DDK_OP_ATEN_ROUND: return emit_unary(c, k, XB_OP_ROUND);
    case DDK_OP_ATEN_MAX_POOL2D_WITH_INDICES: return emit_pool(c, k, true);
    case DDK_OP_ATEN_AVG_POOL2D: return emit_pool(c, k, false);
    case DDK_OP_ATEN_ADAPTIVE_AVG_POOL2D:
    case DDK_OP_ATEN_MEAN_DIM: return emit_mean(c, k);
    case DDK_OP_ATEN_CONSTANT_PAD_ND: return emit_pad(c, k);
    case DDK_OP_ATEN_UPSAMPLE_BILINEAR2D_VEC:
      return emit_simple(c, k, XB_OP_RESIZE_BILINEAR);
    case DDK_OP_ATEN_VIEW:
    case DDK_OP_ATEN_UNSQUEEZE:
    case DDK_OP_ATEN_SQUEEZE_DIM:
    case DDK_OP_ATEN_SQUEEZE_DIMS: return emit_simple(c, k, XB_OP_RESHAPE);
    default: return fail(c, DDK_INTERNAL, "no emitter for a claimed op", k);
  }
}

/* ---- absorbed nodes (profiling) ------------------------------------------ */

/* The node whose op does node k's work: its owner when known, else (a
 * weight transform, a dequantize all of whose readers were fused) the
 * owner of the first node reading one of its outputs; XB_NONE if none. */
static uint32_t owner_of(comp* c, uint32_t k, uint32_t depth) {
  if (c->owner[k] != XB_NONE || depth > 32) return c->owner[k];
  const ddk_node_view* n = &c->g->nodes[k];
  for (uint32_t j = k + 1; j < c->g->num_nodes; ++j) {
    const ddk_node_view* r = &c->g->nodes[j];
    for (uint32_t i = 0; i < r->num_args; ++i) {
      if (r->args[i].kind != DDK_ARG_TENSOR) continue;
      for (uint32_t o = 0; o < n->num_outputs; ++o)
        if (r->args[i].u.tensor == n->outputs[o]) return owner_of(c, j, depth + 1);
    }
  }
  return XB_NONE;
}

/* One XB_OP_ABSORBED record per partition node without an op. */
static bool emit_absorbed(comp* c) {
  for (uint32_t k = 0; k < c->g->num_nodes; ++k) {
    if (c->owner[k] == k) continue;
    const ddk_node_view* n = &c->g->nodes[k];
    uint32_t own = owner_of(c, k, 0);
    bool folded = xnn_node_rule(&c->f, n) == XNN_ROLE_FOLD ||
                  n->op_id == DDK_OP_ATEN_NATIVE_BATCH_NORM_LEGIT_NO_TRAINING;
    xb_op* op = new_op(c, XB_OP_ABSORBED, k, XB_NONE, 0, XB_NONE, XB_NONE, XB_NONE);
    if (op == NULL) return false;
    op->p[0] = own == XB_NONE ? XB_NONE : c->g->nodes[own].node_index;
    op->p[1] = folded ? XB_ABSORB_FOLDED : XB_ABSORB_FUSED;
  }
  return true;
}

/* ---- int8 parameters ---------------------------------------------------- */

static bool note_q(comp* c, uint32_t v, double scale, int64_t zp, uint32_t k) {
  if (c->qknown[v]) {
    if (c->qscale[v] != (float)scale || c->qzp[v] != (int32_t)zp)
      return fail(c, DDK_UNSUPPORTED_FEATURE,
                  "an int8 value is (de)quantized with two different "
                  "scales or zero points",
                  k);
    return true;
  }
  c->qknown[v] = 1;
  c->qscale[v] = (float)scale;
  c->qzp[v] = (int32_t)zp;
  return true;
}

static bool infer_qparams(comp* c) {
  for (uint32_t k = 0; k < c->g->num_nodes; ++k) {
    const ddk_node_view* n = &c->g->nodes[k];
    double scale;
    int64_t zp;
    if (n->op_id == DDK_OP_QUANTIZED_DECOMPOSED_QUANTIZE_PER_TENSOR &&
        xnn_qdq_params(n, &scale, &zp) && !note_q(c, n->outputs[0], scale, zp, k))
      return false;
  }
  for (uint32_t k = 0; k < c->g->num_nodes; ++k) {
    const ddk_node_view* n = &c->g->nodes[k];
    double scale;
    int64_t zp;
    if (n->op_id == DDK_OP_QUANTIZED_DECOMPOSED_DEQUANTIZE_PER_TENSOR &&
        !c->f.const_derived[n->outputs[0]] && xnn_qdq_params(n, &scale, &zp) &&
        !note_q(c, xa_tensor(n, 0), scale, zp, k))
      return false;
  }
  return true;
}

/* ---- preprocess ----------------------------------------------------------- */

static void comp_free(comp* c) {
  const ddk_allocator* a = c->a;
  size_t nv = (size_t)c->g->num_values + 1, nn = (size_t)c->g->num_nodes + 1;
  if (c->vid) a->free(a->self, c->vid, nv * 4);
  if (c->ext_in) a->free(a->self, c->ext_in, nv * 4);
  if (c->ext_out) a->free(a->self, c->ext_out, nv * 4);
  if (c->fused_reads) a->free(a->self, c->fused_reads, nv * 4);
  if (c->qscale) a->free(a->self, c->qscale, nv * 4);
  if (c->qzp) a->free(a->self, c->qzp, nv * 4);
  if (c->qknown) a->free(a->self, c->qknown, nv);
  if (c->skip) a->free(a->self, c->skip, nn);
  if (c->owner) a->free(a->self, c->owner, nn * 4);
  if (c->matches) a->free(a->self, c->matches, nn * sizeof(qmatch));
  for (uint32_t i = 0; i < c->num_temps; ++i)
    a->free(a->self, c->temps[i].p, c->temps[i].size);
  buf_free(c, &c->values);
  buf_free(c, &c->ops);
  buf_free(c, &c->data);
  if (c->f.g) xnn_facts_free(&c->f, a);
}

static void* zalloc(const ddk_allocator* a, size_t n) {
  void* p = a->alloc(a->self, n, 16);
  if (p) memset(p, 0, n);
  return p;
}

ddk_status xnn_preprocess(const ddk_backend* self, const ddk_graph_view* g,
                          const ddk_options* options,
                          const ddk_services* services, ddk_blob* out_blob,
                          char* err, size_t err_cap) {
  (void)self;
  (void)options;
  const ddk_allocator* a = &services->allocator;
  comp* c = zalloc(a, sizeof *c);
  if (c == NULL) {
    ddk_set_error(err, err_cap, "xnnpack: out of memory in preprocess");
    return DDK_OUT_OF_MEMORY;
  }
  c->g = g;
  c->a = a;
  c->err = err;
  c->err_cap = err_cap;
  size_t nv = (size_t)g->num_values + 1, nn = (size_t)g->num_nodes + 1;
  c->vid = zalloc(a, nv * 4);
  c->ext_in = zalloc(a, nv * 4);
  c->ext_out = zalloc(a, nv * 4);
  c->fused_reads = zalloc(a, nv * 4);
  c->qscale = zalloc(a, nv * 4);
  c->qzp = zalloc(a, nv * 4);
  c->qknown = zalloc(a, nv);
  c->skip = zalloc(a, nn);
  c->owner = zalloc(a, nn * 4);
  if (c->owner) memset(c->owner, 0xff, nn * 4); /* XB_NONE */
  ddk_status st = DDK_OK;
  if (!c->vid || !c->ext_in || !c->ext_out || !c->fused_reads || !c->qscale ||
      !c->qzp || !c->qknown || !c->skip || !c->owner ||
      !xnn_facts_init(&c->f, g, a)) {
    ddk_set_error(err, err_cap, "xnnpack: out of memory in preprocess");
    st = DDK_OUT_OF_MEMORY;
    goto cleanup;
  }
  for (uint32_t v = 0; v < g->num_values; ++v)
    c->vid[v] = c->ext_in[v] = c->ext_out[v] = XB_NONE;
  for (uint32_t i = 0; i < g->num_inputs; ++i) c->ext_in[g->inputs[i]] = i;
  for (uint32_t i = 0; i < g->num_outputs; ++i) {
    uint32_t v = g->outputs[i];
    if (c->f.const_derived[v]) {
      fail(c, DDK_INTERNAL, "a folded weight is a partition output", XB_NONE);
      break;
    }
    c->ext_out[v] = i;
  }
  if (ok(c)) infer_qparams(c);
  /* every partition input and output gets its value, in order */
  for (uint32_t i = 0; i < g->num_inputs && ok(c); ++i) act(c, g->inputs[i], XB_NONE);
  for (uint32_t i = 0; i < g->num_outputs && ok(c); ++i) act(c, g->outputs[i], XB_NONE);
  /* int8 patterns are matched first, so the dequantizes they absorb are
   * known; everything is then emitted in node order (XNNPACK runs nodes in
   * the order they are defined). */
  c->matches = zalloc(a, nn * sizeof(qmatch));
  if (c->matches == NULL) {
    oom(c);
  }
  for (uint32_t k = 0; k < g->num_nodes && ok(c); ++k) {
    const ddk_node_view* n = &g->nodes[k];
    if (xnn_node_rule(&c->f, n) != XNN_ROLE_OP) continue;
    qmatch* m = &((qmatch*)c->matches)[k];
    bool hit = false;
    if (n->op_id == DDK_OP_ATEN_CONVOLUTION) hit = match_q_conv(c, k, m);
    if (n->op_id == DDK_OP_ATEN_ADD_TENSOR) hit = match_q_add(c, k, m);
    if (!hit || c->skip[m->qn] || (m->act_node != XB_NONE && c->skip[m->act_node]))
      continue;
    c->skip[k] = 2; /* the head of a fused op */
    c->skip[m->qn] = 1;
    c->owner[m->qn] = k;
    if (m->act_node != XB_NONE) {
      c->skip[m->act_node] = 1;
      c->owner[m->act_node] = k;
    }
    c->fused_reads[xa_tensor(n, 0)]++;
    if (n->op_id == DDK_OP_ATEN_ADD_TENSOR) c->fused_reads[xa_tensor(n, 1)]++;
  }
  for (uint32_t k = 0; k < g->num_nodes && ok(c); ++k) {
    const ddk_node_view* n = &g->nodes[k];
    if (c->skip[k] == 2) {
      const qmatch* m = &((const qmatch*)c->matches)[k];
      if (n->op_id == DDK_OP_ATEN_CONVOLUTION) emit_q_conv(c, k, m);
      else emit_q_add(c, k, m);
      continue;
    }
    if (c->skip[k]) continue;
    xnn_node_role role = xnn_node_rule(&c->f, n);
    if (role == XNN_ROLE_FOLD) continue;
    if (role == XNN_ROLE_NONE) {
      fail(c, DDK_INTERNAL, "the partition holds a node the rules refuse", k);
      break;
    }
    emit_node(c, k);
  }
  if (ok(c)) emit_absorbed(c);
  if (!ok(c)) {
    st = c->st;
    goto cleanup;
  }
  {
    xb_header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, XB_MAGIC, 4);
    h.format = XB_FORMAT;
    h.num_values = c->num_values;
    h.num_ops = (uint32_t)(c->ops.len / sizeof(xb_op));
    h.num_inputs = g->num_inputs;
    h.num_outputs = g->num_outputs;
    size_t head = sizeof h + c->values.len + c->ops.len;
    h.data_offset = (head + XB_ALIGN - 1) & ~(size_t)(XB_ALIGN - 1);
    h.data_size = c->data.len;
    size_t total = (size_t)h.data_offset + c->data.len;
    uint8_t* blob = a->alloc(a->self, total, 64);
    if (blob == NULL) {
      ddk_set_error(err, err_cap, "xnnpack: out of memory writing the blob");
      st = DDK_OUT_OF_MEMORY;
      goto cleanup;
    }
    memset(blob, 0, total);
    memcpy(blob, &h, sizeof h);
    if (c->values.len) memcpy(blob + sizeof h, c->values.p, c->values.len);
    if (c->ops.len) memcpy(blob + sizeof h + c->values.len, c->ops.p, c->ops.len);
    if (c->data.len) memcpy(blob + h.data_offset, c->data.p, c->data.len);
    out_blob->data = blob;
    out_blob->size = total;
    ddk_set_error(out_blob->compat, sizeof out_blob->compat,
                  "xnnpack:fmt=2;xnnpack=debian-0.0~git20220216");
  }
cleanup:
  comp_free(c);
  a->free(a->self, c, sizeof *c);
  return st;
}
