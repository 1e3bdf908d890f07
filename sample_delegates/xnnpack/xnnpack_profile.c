/*
 * xnnpack_profile.c — the XNNPACK delegate's per-node profiler: real time
 * per program node, with XNNPACK 2022.
 *
 * That XNNPACK times nothing per operator (xnn_get_runtime_profiling_info
 * came later) and its runtime struct is private, so one runtime cannot be
 * looked into. The profiler replays the blob a second way instead: the ops
 * of each program node (consecutive in the blob) become a subgraph and a
 * runtime of their own ("segments"), sharing the blob's static data and
 * the delegate's thread pool. A clamp that XNNPACK's optimizer fuses into
 * the op before it stays in that op's segment (it costs nothing in the
 * real run either). Values passed between segments are external to both
 * and live in one scratch buffer, planned so that dead values' bytes are
 * reused; the partition's own inputs and outputs are bound to what execute
 * bound. A profiled execute runs the segments in order, timing each with
 * the host's clock, then emits one DDK_PROFILE_OP event per segment (node,
 * XNNPACK operator name, flops, bytes, detail) and a zero-length one per
 * node whose work another node's op does (fused clamps, and the
 * XB_OP_ABSORBED records: batch norms folded into a filter, weight
 * transforms, fused int8 q/dq), so every claimed node is accounted for.
 *
 * The segments compute exactly what the fused runtime computes (the same
 * operators on the same data), which the delegate's tests check bit for
 * bit. What splitting costs (values between nodes written to memory, one
 * operator call per node) is the difference between the sum of the
 * segments and the fused runtime's event: about nothing on MobileNetV2.
 */
#include <stdio.h>
#include <string.h>

#include "xnnpack_exec.h"

typedef struct xnn_segment {
  xnn_runtime_t runtime;
  uint32_t node_index;
  uint32_t first_op, num_ops;    /* the blob ops it runs */
  uint32_t first_bind, num_bind; /* its external values in p->binds */
  uint64_t flops, bytes;
  uint64_t start_ns, end_ns; /* of the last run */
  char name[64];
  char detail[192];
} xnn_segment;

struct xnn_node_profiler {
  const ddk_services* services;
  const xnn_blob_view* blob;
  xnn_segment* segs;
  uint32_t num_segs;
  struct xnn_external_value* binds; /* id: the value's id in its segment */
  uint32_t* bind_value;             /* per binding: the blob value id */
  uint32_t bind_cap;
  void** vptr;      /* per blob value: its buffer during the runs */
  uint8_t* scratch; /* the values passed between segments */
  size_t scratch_size;
  uint32_t* owner_seg; /* per blob op: for XB_OP_ABSORBED, the segment of
                          the node doing its work (XB_NONE: none) */
  bool setup_done;
  uint64_t build_ns;
};

/* ---- small helpers --------------------------------------------------------- */

static uint64_t clock_ns(const ddk_services* s) {
  return s->profiler.now_ns ? s->profiler.now_ns(s->profiler.self) : 0;
}

static void* zalloc(const ddk_allocator* a, size_t n) {
  void* p = a->alloc(a->self, n ? n : 1, 64);
  if (p) memset(p, 0, n ? n : 1);
  return p;
}

static void zfree(const ddk_allocator* a, void* p, size_t n) {
  if (p) a->free(a->self, p, n ? n : 1);
}

static bool is_static(const xnn_blob_view* b, uint32_t v) {
  return (b->vals[v].flags & XB_STATIC) != 0;
}

static uint64_t numel(const xb_value* v) {
  uint64_t n = 1;
  for (uint32_t d = 0; d < v->rank && d < XB_MAX_DIMS; ++d) n *= v->dims[d];
  return n;
}

/* XNNPACK's name of the operator op o creates. */
static const char* op_name(const xnn_blob_view* b, const xb_op* o) {
  bool q8 = b->vals[o->output].datatype == XB_QINT8;
  switch (o->kind) {
    case XB_OP_CONV2D:
      return q8 ? "convolution_nhwc_qc8" : "convolution_nhwc_f32";
    case XB_OP_DECONV2D:
      return "deconvolution_nhwc_f32";
    case XB_OP_FULLY_CONNECTED:
      return "fully_connected_nc_f32";
    case XB_OP_ADD:
      return q8 ? "add_nd_qs8" : "add_nd_f32";
    case XB_OP_SUBTRACT:
      return "subtract_nd_f32";
    case XB_OP_MULTIPLY:
      return "multiply_nd_f32";
    case XB_OP_DIVIDE:
      return "divide_nd_f32";
    case XB_OP_CLAMP:
      return "clamp_nc_f32";
    case XB_OP_SIGMOID:
      return "sigmoid_nc_f32";
    case XB_OP_HARDSWISH:
      return "hardswish_nc_f32";
    case XB_OP_LEAKY_RELU:
      return "leaky_relu_nc_f32";
    case XB_OP_ELU:
      return "elu_nc_f32";
    case XB_OP_ABS:
      return "abs_nc_f32";
    case XB_OP_NEGATE:
      return "negate_nc_f32";
    case XB_OP_FLOOR:
      return "floor_nc_f32";
    case XB_OP_CEILING:
      return "ceiling_nc_f32";
    case XB_OP_SQUARE_ROOT:
      return "square_root_nc_f32";
    case XB_OP_ROUND:
      return "bankers_rounding_nc_f32";
    case XB_OP_MAX_POOL2D:
      return "max_pooling2d_nhwc_f32";
    case XB_OP_AVG_POOL2D:
      return "average_pooling2d_nhwc_f32";
    case XB_OP_GLOBAL_AVG_POOL2D:
      return "global_average_pooling_nwc_f32";
    case XB_OP_SOFTMAX:
      return "softmax_nc_f32";
    case XB_OP_CONSTANT_PAD:
      return q8 ? "constant_pad_nd_x8" : "constant_pad_nd_x32";
    case XB_OP_RESHAPE:
      return q8 ? "copy_nc_x8" : "copy_nc_x32";
    case XB_OP_RESIZE_BILINEAR:
      return "resize_bilinear2d_nhwc_f32";
    case XB_OP_CONVERT:
      return q8 ? "convert_nc_f32_qs8" : "convert_nc_qs8_f32";
    default:
      return "unknown";
  }
}

/* Floating-point operations of op o (a multiply-add counts 2); 0 where no
 * arithmetic is done or the count is not a simple formula. */
static uint64_t op_flops(const xnn_blob_view* b, const xb_op* o) {
  const xb_value* y = &b->vals[o->output];
  uint64_t out = numel(y);
  const uint32_t* p = o->p;
  switch (o->kind) {
    case XB_OP_CONV2D:
      return 2 * out * p[4] * p[5] * p[11];
    case XB_OP_DECONV2D:
      return 2 * numel(&b->vals[o->inputs[0]]) * p[4] * p[5] * p[12];
    case XB_OP_FULLY_CONNECTED: { /* batch x filter */
      uint64_t features = y->rank ? y->dims[y->rank - 1] : 0;
      return features ? 2 * (out / features) * numel(&b->vals[o->inputs[1]]) : 0;
    }
    case XB_OP_MAX_POOL2D:
    case XB_OP_AVG_POOL2D:
      return out * p[4] * p[5];
    case XB_OP_GLOBAL_AVG_POOL2D:
      return numel(&b->vals[o->inputs[0]]);
    case XB_OP_SOFTMAX:
    case XB_OP_CONSTANT_PAD:
    case XB_OP_RESHAPE:
    case XB_OP_RESIZE_BILINEAR:
    case XB_OP_CONVERT:
      return 0;
    default:
      return out; /* elementwise: one per output element */
  }
}

/* Bytes op o reads (each input once, weights included) and writes. */
static uint64_t op_bytes(const xnn_blob_view* b, const xb_op* o) {
  uint64_t n = xnn_blob_value_bytes(b, o->output);
  for (uint32_t k = 0; k < 3; ++k) {
    uint32_t v = o->inputs[k];
    if (v == XB_NONE || (k > 0 && v == o->inputs[k - 1])) continue;
    n += xnn_blob_value_bytes(b, v);
  }
  return n;
}

/* Which XNNPACK micro-kernel family a convolution takes (as the 2022
 * convolution_nhwc create functions choose it). */
static const char* conv_kernel(const xb_op* o) {
  const uint32_t* p = o->p;
  bool one = p[4] == 1 && p[5] == 1;
  if (p[10] > 1 && p[11] == 1 && p[12] == 1) return one ? "vmulcaddc" : "dwconv";
  if (one && p[6] == 1 && p[7] == 1 && (p[0] | p[1] | p[2] | p[3]) == 0) return "gemm";
  return "igemm";
}

static void append(char* buf, size_t cap, const char* fmt, const char* s, unsigned long long u) {
  size_t len = strlen(buf);
  if (len + 1 >= cap) return;
  if (s != NULL)
    snprintf(buf + len, cap - len, fmt, s);
  else
    snprintf(buf + len, cap - len, fmt, u);
}

/* ---- create / destroy -------------------------------------------------------- */

void xnn_node_profiler_destroy(xnn_node_profiler* p) {
  if (p == NULL) return;
  const ddk_allocator* a = &p->services->allocator;
  uint32_t nv = p->blob->hd.num_values, no = p->blob->hd.num_ops;
  if (p->segs != NULL)
    for (uint32_t s = 0; s < p->num_segs; ++s)
      if (p->segs[s].runtime) xnn_delete_runtime(p->segs[s].runtime);
  zfree(a, p->segs, sizeof(xnn_segment) * p->num_segs);
  zfree(a, p->binds, sizeof(*p->binds) * p->bind_cap);
  zfree(a, p->bind_value, sizeof(uint32_t) * p->bind_cap);
  zfree(a, p->vptr, sizeof(void*) * nv);
  zfree(a, p->scratch, p->scratch_size);
  zfree(a, p->owner_seg, sizeof(uint32_t) * no);
  a->free(a->self, p, sizeof *p);
}

/* Temporary per-value arrays of create. */
typedef struct build_tmp {
  uint32_t* producer; /* per value: the segment writing it, or XB_NONE */
  uint8_t* crossing;  /* per value: read by a segment that does not write it */
  uint32_t* local;    /* per value: its id in the segment being built */
  uint32_t* list;     /* the values of the segment being built */
  uint32_t* readers;  /* per value: inputs of ops reading it */
  uint32_t* last;     /* per value: the last segment reading it */
  uint32_t* live;     /* scratch planning: live values by offset */
  size_t* off;        /* per value: its offset in the scratch */
} build_tmp;

/* Whether op i (a real op; prev the real op before it, or XB_NONE) starts
 * a segment: it does unless it belongs to prev's node, or it is a clamp
 * that XNNPACK's subgraph optimizer (2022: xnn_subgraph_fusion) fuses into
 * prev, the only reader of prev's output. Such a clamp costs nothing in
 * the fused runtime, so it stays with its producer here too (inside the
 * segment XNNPACK fuses it the same way) and reports a zero-length event;
 * timing it alone would bill the profile for a pass the real run never
 * makes. */
static bool starts_segment(const xnn_blob_view* b, const build_tmp* t, uint32_t prev, uint32_t i) {
  if (prev == XB_NONE) return true;
  const xb_op* o = &b->ops[i];
  const xb_op* q = &b->ops[prev];
  if (o->node_index == q->node_index) return false;
  uint32_t v = o->inputs[0];
  if (o->kind != XB_OP_CLAMP || v != q->output || t->readers[v] != 1 ||
      b->vals[v].datatype != XB_FP32 ||
      (b->vals[v].flags & (XB_EXTERNAL_INPUT | XB_EXTERNAL_OUTPUT)))
    return true;
  switch (q->kind) { /* the producers xnn_subgraph_fusion fuses a clamp into */
    case XB_OP_ADD:
    case XB_OP_AVG_POOL2D:
    case XB_OP_CLAMP:
    case XB_OP_CONV2D:
    case XB_OP_DIVIDE:
    case XB_OP_DECONV2D:
    case XB_OP_FULLY_CONNECTED:
    case XB_OP_MULTIPLY:
    case XB_OP_MAX_POOL2D:
    case XB_OP_SUBTRACT:
      return false;
    default:
      return true;
  }
}

/* Values passed between segments that are not the partition's own inputs
 * or outputs live in the profiler's scratch buffer. */
static bool needs_scratch(const xnn_blob_view* b, const build_tmp* t, uint32_t v) {
  return t->crossing[v] && t->producer[v] != XB_NONE &&
         !(b->vals[v].flags & (XB_EXTERNAL_INPUT | XB_EXTERNAL_OUTPUT));
}

/* Bytes of v in the scratch: XNN_EXTRA_BYTES of slack (XNNPACK may read
 * that far past an input), 64-byte aligned. */
static size_t scratch_bytes(const xnn_blob_view* b, uint32_t v) {
  return (xnn_blob_value_bytes(b, v) + XNN_EXTRA_BYTES + 63) & ~(size_t)63;
}

/* Places the scratch values (t->off) and returns the buffer's size. A
 * value lives from the segment writing it to the last one reading it;
 * the bytes of dead values are reused, first fit, as XNNPACK's planner
 * does inside the fused runtime, so that the per-node runs touch about as
 * much memory as the fused run (one buffer per value would make every
 * node look slower than it is, by cache misses). */
static size_t plan_scratch(const xnn_node_profiler* p, const build_tmp* t) {
  const xnn_blob_view* b = p->blob;
  uint32_t nlive = 0;
  size_t total = 0;
  for (uint32_t s = 0; s < p->num_segs; ++s) {
    uint32_t keep = 0; /* drop the values no segment from s on reads */
    for (uint32_t j = 0; j < nlive; ++j)
      if (t->last[t->live[j]] >= s) t->live[keep++] = t->live[j];
    nlive = keep;
    const xnn_segment* g = &p->segs[s];
    for (uint32_t i = g->first_op; i < g->first_op + g->num_ops; ++i) {
      uint32_t v = b->ops[i].output;
      if (!needs_scratch(b, t, v)) continue;
      size_t size = scratch_bytes(b, v), at = 0;
      uint32_t j = 0;
      for (; j < nlive; ++j) { /* the first gap that fits */
        size_t o = t->off[t->live[j]];
        if (at + size <= o) break;
        if (o + scratch_bytes(b, t->live[j]) > at) at = o + scratch_bytes(b, t->live[j]);
      }
      memmove(&t->live[j + 1], &t->live[j], (nlive - j) * sizeof *t->live);
      t->live[j] = v;
      nlive++;
      t->off[v] = at;
      if (at + size > total) total = at + size;
    }
  }
  return total;
}

/* Subgraph and runtime of segment s; its bindings from *nb on. */
static ddk_status build_segment(xnn_node_profiler* p, xnn_segment* sg_info, uint32_t s,
                                build_tmp* t, pthreadpool_t pool, uint32_t* nb, char* err,
                                size_t err_cap) {
  const xnn_blob_view* b = p->blob;
  const xb_op* ops = b->ops;
  uint32_t nl = 0;
  for (uint32_t i = sg_info->first_op; i < sg_info->first_op + sg_info->num_ops; ++i) {
    uint32_t vs[4] = {ops[i].inputs[0], ops[i].inputs[1], ops[i].inputs[2], ops[i].output};
    for (uint32_t k = 0; k < 4; ++k)
      if (vs[k] != XB_NONE && t->local[vs[k]] == XB_NONE) {
        t->local[vs[k]] = nl;
        t->list[nl++] = vs[k];
      }
  }
  xnn_subgraph_t sg = NULL;
  ddk_status st = DDK_OK;
  if (xnn_create_subgraph(nl, 0, &sg) != xnn_status_success) {
    xnn_errorf(err, err_cap, "xnnpack: profiler: xnn_create_subgraph failed");
    st = DDK_BACKEND_FAILURE;
    goto cleanup;
  }
  sg_info->first_bind = *nb;
  for (uint32_t j = 0; j < nl && st == DDK_OK; ++j) {
    uint32_t v = t->list[j], flags = 0;
    if (!is_static(b, v)) {
      bool io = (b->vals[v].flags & (XB_EXTERNAL_INPUT | XB_EXTERNAL_OUTPUT)) != 0;
      if (t->producer[v] != s)
        flags = XNN_VALUE_FLAG_EXTERNAL_INPUT;
      else if (io || t->crossing[v])
        flags = XNN_VALUE_FLAG_EXTERNAL_OUTPUT;
    }
    st = xnn_define_blob_value(sg, b, v, j, flags, err, err_cap);
    if (flags != 0 && st == DDK_OK) {
      p->binds[*nb] = (struct xnn_external_value){j, NULL};
      p->bind_value[(*nb)++] = v;
    }
  }
  sg_info->num_bind = *nb - sg_info->first_bind;
  for (uint32_t i = sg_info->first_op; i < sg_info->first_op + sg_info->num_ops && st == DDK_OK;
       ++i) {
    enum xnn_status xs = xnn_define_blob_op(sg, b, &ops[i], t->local);
    if (xs != xnn_status_success) {
      xnn_errorf(err, err_cap, "xnnpack: profiler: defining op %u (node %u) failed: %s", i,
                 ops[i].node_index, xnn_status_str(xs));
      st = DDK_BACKEND_FAILURE;
    }
  }
  if (st == DDK_OK) {
    enum xnn_status xs = xnn_create_runtime_v2(sg, pool, 0, &sg_info->runtime);
    if (xs != xnn_status_success) {
      sg_info->runtime = NULL;
      xnn_errorf(err, err_cap, "xnnpack: profiler: runtime of node %u: %s", sg_info->node_index,
                 xnn_status_str(xs));
      st = xs == xnn_status_out_of_memory ? DDK_OUT_OF_MEMORY : DDK_BACKEND_FAILURE;
    }
  }
cleanup:
  if (sg) xnn_delete_subgraph(sg);
  for (uint32_t j = 0; j < nl; ++j) t->local[t->list[j]] = XB_NONE;
  return st;
}

/* Name, flops, bytes and detail of segment s, from its node's own ops;
 * the clamps fused into it are listed as absorbed (XB_OP_ABSORBED nodes
 * are appended to that list later). */
static void describe_segment(const xnn_blob_view* b, xnn_segment* s) {
  s->detail[0] = s->name[0] = '\0';
  uint32_t own = 0;
  char fused[96] = "";
  for (uint32_t i = s->first_op; i < s->first_op + s->num_ops; ++i) {
    const xb_op* o = &b->ops[i];
    if (o->node_index != s->node_index) {
      append(fused, sizeof fused, fused[0] ? ",%llu" : ";absorbs=%llu", NULL, o->node_index);
      continue;
    }
    append(s->name, sizeof s->name, own++ ? "+%s" : "%s", op_name(b, o), 0);
    s->flops += op_flops(b, o);
    s->bytes += op_bytes(b, o);
  }
  append(s->detail, sizeof s->detail, "xnn_op=%s;mode=per-node", s->name, 0);
  append(s->detail, sizeof s->detail, ";xnn_ops=%llu", NULL, own);
  const xb_op* o = &b->ops[s->first_op];
  if (o->kind == XB_OP_CONV2D) append(s->detail, sizeof s->detail, ";kernel=%s", conv_kernel(o), 0);
  append(s->detail, sizeof s->detail, "%s", fused, 0);
}

ddk_status xnn_node_profiler_create(const xnn_blob_view* b, pthreadpool_t pool,
                                    const ddk_services* services, xnn_node_profiler** out,
                                    char* err, size_t err_cap) {
  *out = NULL;
  const uint64_t t_begin = clock_ns(services);
  const ddk_allocator* a = &services->allocator;
  const uint32_t nv = b->hd.num_values, no = b->hd.num_ops;
  const xb_op* ops = b->ops;
  xnn_node_profiler* p = zalloc(a, sizeof *p);
  if (p == NULL) {
    ddk_set_error(err, err_cap, "xnnpack: out of memory building the per-node profiler");
    return DDK_OUT_OF_MEMORY;
  }
  p->services = services;
  p->blob = b;
  uint32_t real = 0;
  for (uint32_t i = 0; i < no; ++i) real += ops[i].kind != XB_OP_ABSORBED;
  build_tmp t = {zalloc(a, 4 * (size_t)nv), zalloc(a, nv),
                 zalloc(a, 4 * (size_t)nv), zalloc(a, 4 * (size_t)(4 * real + 1)),
                 zalloc(a, 4 * (size_t)nv), zalloc(a, 4 * (size_t)nv),
                 zalloc(a, 4 * (size_t)nv), zalloc(a, sizeof(size_t) * nv)};
  ddk_status st = DDK_OK;
  if (!t.producer || !t.crossing || !t.local || !t.list || !t.readers || !t.last || !t.live ||
      !t.off)
    goto oom;
  for (uint32_t i = 0; i < no; ++i)
    for (uint32_t k = 0; k < 3 && ops[i].kind != XB_OP_ABSORBED; ++k)
      if (ops[i].inputs[k] != XB_NONE) t.readers[ops[i].inputs[k]]++;
  /* segments: runs of consecutive ops of one node, and the clamps that
   * XNNPACK fuses into the op before them */
  for (uint32_t i = 0, prev = XB_NONE; i < no; ++i) {
    if (ops[i].kind == XB_OP_ABSORBED) continue;
    if (starts_segment(b, &t, prev, i)) p->num_segs++;
    prev = i;
  }
  p->bind_cap = 4 * real + 1;
  p->segs = zalloc(a, sizeof(xnn_segment) * p->num_segs);
  p->binds = zalloc(a, sizeof(*p->binds) * p->bind_cap);
  p->bind_value = zalloc(a, sizeof(uint32_t) * p->bind_cap);
  p->vptr = zalloc(a, sizeof(void*) * nv);
  p->owner_seg = zalloc(a, sizeof(uint32_t) * no);
  if (!p->segs || !p->binds || !p->bind_value || !p->vptr || !p->owner_seg) goto oom;
  memset(t.producer, 0xff, 4 * (size_t)nv); /* XB_NONE */
  memset(t.local, 0xff, 4 * (size_t)nv);
  uint32_t s = 0;
  for (uint32_t i = 0, prev = XB_NONE; i < no; ++i) {
    if (ops[i].kind == XB_OP_ABSORBED) continue;
    if (prev != XB_NONE && starts_segment(b, &t, prev, i)) ++s;
    if (p->segs[s].num_ops++ == 0) {
      p->segs[s].first_op = i;
      p->segs[s].node_index = ops[i].node_index;
    }
    prev = i;
    t.producer[ops[i].output] = s;
  }
  /* a value read outside the segment writing it is passed in memory */
  for (s = 0; s < p->num_segs; ++s)
    for (uint32_t i = p->segs[s].first_op; i < p->segs[s].first_op + p->segs[s].num_ops; ++i)
      for (uint32_t k = 0; k < 3; ++k) {
        uint32_t v = ops[i].inputs[k];
        if (v == XB_NONE || is_static(b, v) || t.producer[v] == s) continue;
        if (t.producer[v] == XB_NONE && !(b->vals[v].flags & XB_EXTERNAL_INPUT)) {
          xnn_errorf(err, err_cap, "xnnpack: blob value %u is read but never written", v);
          st = DDK_INCOMPATIBLE_BLOB;
          goto cleanup;
        }
        t.crossing[v] = 1;
        t.last[v] = s; /* segments go in order: the last one wins */
      }
  p->scratch_size = plan_scratch(p, &t);
  p->scratch = zalloc(a, p->scratch_size);
  if (p->scratch == NULL) goto oom;
  for (uint32_t v = 0; v < nv; ++v)
    if (needs_scratch(b, &t, v)) p->vptr[v] = p->scratch + t.off[v];
  uint32_t nb = 0;
  for (s = 0; s < p->num_segs && st == DDK_OK; ++s) {
    st = build_segment(p, &p->segs[s], s, &t, pool, &nb, err, err_cap);
    describe_segment(b, &p->segs[s]);
  }
  /* nodes without an op: the segment of the node doing their work */
  for (uint32_t i = 0; i < no && st == DDK_OK; ++i) {
    p->owner_seg[i] = XB_NONE;
    if (ops[i].kind != XB_OP_ABSORBED) continue;
    for (s = 0; s < p->num_segs; ++s)
      if (p->segs[s].node_index == ops[i].p[0]) {
        p->owner_seg[i] = s;
        append(p->segs[s].detail, sizeof p->segs[s].detail,
               strstr(p->segs[s].detail, ";absorbs=") ? ",%llu" : ";absorbs=%llu", NULL,
               ops[i].node_index);
        break;
      }
  }
  goto cleanup;
oom:
  ddk_set_error(err, err_cap, "xnnpack: out of memory building the per-node profiler");
  st = DDK_OUT_OF_MEMORY;
cleanup:
  zfree(a, t.readers, 4 * (size_t)nv);
  zfree(a, t.last, 4 * (size_t)nv);
  zfree(a, t.live, 4 * (size_t)nv);
  zfree(a, t.off, sizeof(size_t) * nv);
  zfree(a, t.producer, 4 * (size_t)nv);
  zfree(a, t.crossing, nv);
  zfree(a, t.local, 4 * (size_t)nv);
  zfree(a, t.list, 4 * (size_t)(4 * real + 1));
  if (st != DDK_OK) {
    xnn_node_profiler_destroy(p);
    return st;
  }
  p->build_ns = clock_ns(services) - t_begin;
  *out = p;
  return DDK_OK;
}

uint64_t xnn_node_profiler_build_ns(const xnn_node_profiler* p) {
  return p ? p->build_ns : 0;
}

/* ---- run ------------------------------------------------------------------- */

static void emit(const xnn_node_profiler* p, uint32_t node, const char* name, uint64_t t0,
                 uint64_t t1, uint64_t bytes, uint64_t flops, const char* detail) {
  const ddk_profiler_sink* sink = &p->services->profiler;
  if (sink->emit == NULL) return;
  ddk_profile_event e;
  memset(&e, 0, sizeof e);
  e.header = (ddk_struct_header)DDK_STRUCT_HEADER_INIT(ddk_profile_event);
  e.kind = DDK_PROFILE_OP;
  e.node_index = node;
  e.name = name;
  e.start_ns = t0;
  e.end_ns = t1;
  e.bytes = bytes;
  e.flops = flops;
  e.detail = detail;
  sink->emit(sink->self, &e);
}

ddk_status xnn_node_profiler_run(xnn_node_profiler* p, const struct xnn_external_value* bound,
                                 uint32_t num_bound, bool rebind, char* err, size_t err_cap) {
  const xnn_blob_view* b = p->blob;
  if (rebind || !p->setup_done) {
    p->setup_done = false;
    for (uint32_t i = 0; i < num_bound; ++i)
      if (bound[i].id < b->hd.num_values) p->vptr[bound[i].id] = bound[i].data;
    for (uint32_t s = 0; s < p->num_segs; ++s) {
      xnn_segment* g = &p->segs[s];
      for (uint32_t k = g->first_bind; k < g->first_bind + g->num_bind; ++k)
        p->binds[k].data = p->vptr[p->bind_value[k]];
      enum xnn_status xs = xnn_setup_runtime(g->runtime, g->num_bind, p->binds + g->first_bind);
      if (xs != xnn_status_success) {
        xnn_errorf(err, err_cap, "xnnpack: profiler: setting up node %u: %s", g->node_index,
                   xnn_status_str(xs));
        return DDK_BACKEND_FAILURE;
      }
    }
    p->setup_done = true;
  }
  const uint64_t t_begin = clock_ns(p->services);
  for (uint32_t s = 0; s < p->num_segs; ++s) {
    xnn_segment* g = &p->segs[s];
    g->start_ns = clock_ns(p->services);
    enum xnn_status xs = xnn_invoke_runtime(g->runtime);
    g->end_ns = clock_ns(p->services);
    if (xs != xnn_status_success) {
      xnn_errorf(err, err_cap, "xnnpack: profiler: running node %u: %s", g->node_index,
                 xnn_status_str(xs));
      return DDK_BACKEND_FAILURE;
    }
  }
  /* events after the runs, so that emitting costs no node any time */
  for (uint32_t s = 0; s < p->num_segs; ++s) {
    const xnn_segment* g = &p->segs[s];
    emit(p, g->node_index, g->name, g->start_ns, g->end_ns, g->bytes, g->flops, g->detail);
    for (uint32_t i = g->first_op; i < g->first_op + g->num_ops; ++i) {
      uint32_t node = b->ops[i].node_index; /* a clamp fused into the node */
      if (node == g->node_index || (i > g->first_op && node == b->ops[i - 1].node_index)) continue;
      char detail[96];
      snprintf(detail, sizeof detail, "mode=per-node;how=fused;absorbed_into=%u", g->node_index);
      emit(p, node, "xnnpack: fused", g->end_ns, g->end_ns, 0, 0, detail);
    }
  }
  for (uint32_t i = 0; i < b->hd.num_ops; ++i) {
    const xb_op* o = &b->ops[i];
    if (o->kind != XB_OP_ABSORBED) continue;
    uint32_t s = p->owner_seg[i];
    uint64_t at = s == XB_NONE ? t_begin : p->segs[s].end_ns;
    bool folded = o->p[1] == XB_ABSORB_FOLDED;
    char detail[96];
    if (s == XB_NONE)
      snprintf(detail, sizeof detail, "mode=per-node;how=%s", folded ? "folded" : "fused");
    else
      snprintf(detail, sizeof detail, "mode=per-node;how=%s;absorbed_into=%u",
               folded ? "folded" : "fused", o->p[0]);
    emit(p, o->node_index, folded ? "xnnpack: folded" : "xnnpack: fused", at, at, 0, 0, detail);
  }
  return DDK_OK;
}
