/*
 * xnnpack_runtime.c — the XNNPACK delegate's vtable: query, init, execute,
 * destroy, set_profiling (partition and preprocess live in
 * xnnpack_partition.c and xnnpack_compile.c, the per-node profiler in
 * xnnpack_profile.c).
 *
 * init replays the blob as xnn_define_* calls and creates the XNNPACK
 * runtime once (weights are packed there), with a pthreadpool of
 * "xnnpack.num_threads" threads. execute binds the external tensors and
 * invokes; the only work besides XNNPACK's is converting the partition's
 * 4-D inputs and outputs between the DDK's NCHW and XNNPACK's NHWC, into
 * buffers made at init. xnn_setup_runtime runs again only when a tensor's
 * address changed since the last execute.
 *
 * Profiling (the sink enabled at init, or set_profiling): XNNPACK 2022 has
 * no per-operator timing (xnn_get_runtime_profiling_info came later), so a
 * profiled execute runs the fused runtime once (one DDK_PROFILE_OTHER
 * event, "xnnpack: fused runtime") and then the per-node profiler: the
 * same ops, one small runtime per program node, each timed (one
 * DDK_PROFILE_OP event per node, xnnpack_profile.c). The per-node runs
 * write the outputs last; they compute what the fused runtime computes.
 * Turning profiling on builds the per-node runtimes, turning it off frees
 * them. Boundary layout copies are DDK_PROFILE_COPY events either way.
 *
 * Options:
 *   xnnpack.num_threads  int, 1..64 (default 1): threads of the pool
 *   xnnpack.profile      what a profiled execute reports: "per_node"
 *                        (default) the fused runtime and then every node;
 *                        "per_node_only" the nodes alone (half the work; the
 *                        outputs then come from the per-node runs alone);
 *                        "fused" one OP event for the whole runtime, no
 *                        per-node runs (profiling at no extra cost)
 */
#define _GNU_SOURCE /* RTLD_NODELETE */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "xnnpack_exec.h"

#define XNN_COMPAT_PREFIX "xnnpack:fmt="

typedef struct xnn_external {
  uint32_t id;        /* XNNPACK value id */
  bool nhwc;          /* convert at the boundary */
  size_t elem;        /* element size */
  uint32_t rank;
  int64_t sizes[DDK_MAX_RANK]; /* the DDK tensor's (NCHW) sizes */
  size_t bytes;
  void* staging;      /* NHWC copy, or a padded copy of an input */
  size_t staging_size;
} xnn_external;

struct ddk_delegate_handle {
  const ddk_services* services;
  xnn_runtime_t runtime;
  pthreadpool_t pool;
  uint32_t num_ops;
  uint32_t num_inputs, num_outputs;
  xnn_external* ext; /* inputs then outputs */
  struct xnn_external_value* bound;
  bool setup_done;
  bool profiling;
  bool per_node;               /* xnnpack.profile=per_node[_only] */
  bool skip_fused;             /* xnnpack.profile=per_node_only */
  xnn_blob_view blob;          /* borrowed: the blob lives until destroy */
  xnn_node_profiler* profiler; /* built while profiling per node */
};

/* ---- helpers -------------------------------------------------------------- */

const char* xnn_status_str(enum xnn_status s) {
  switch (s) {
    case xnn_status_success: return "success";
    case xnn_status_uninitialized: return "uninitialized";
    case xnn_status_invalid_parameter: return "invalid parameter";
    case xnn_status_invalid_state: return "invalid state";
    case xnn_status_unsupported_parameter: return "unsupported parameter";
    case xnn_status_unsupported_hardware: return "unsupported hardware";
    case xnn_status_out_of_memory: return "out of memory";
    default: return "unknown status";
  }
}

static ddk_status xnn_init_library(char* err, size_t err_cap) {
  /* xnn_initialize keeps process-wide state (CPU detection, kernel
   * tables) it never frees. Pin the library so that a host unloading this
   * plugin does not unload it too: the state stays reachable (no leak
   * reported at exit) and a later init finds it still valid. */
  void* pin = dlopen("libXNNPACK.so.0", RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
  (void)pin; /* the reference is kept on purpose */
  enum xnn_status s = xnn_initialize(NULL);
  if (s != xnn_status_success) {
    xnn_errorf(err, err_cap, "xnnpack: xnn_initialize failed: %s",
               xnn_status_str(s));
    return DDK_BACKEND_UNAVAILABLE;
  }
  return DDK_OK;
}

/* NCHW <-> NHWC for one batch-major 4-D tensor of element size esz. */
static void to_nhwc(void* dst, const void* src, const int64_t* s, size_t esz) {
  size_t N = (size_t)s[0], C = (size_t)s[1], HW = (size_t)(s[2] * s[3]);
  const uint8_t* in = src;
  uint8_t* out = dst;
  for (size_t n = 0; n < N; ++n) {
    const uint8_t* a = in + n * C * HW * esz;
    uint8_t* b = out + n * C * HW * esz;
    if (esz == 4) {
      const float* af = (const float*)a;
      float* bf = (float*)b;
      for (size_t c = 0; c < C; ++c)
        for (size_t p = 0; p < HW; ++p) bf[p * C + c] = af[c * HW + p];
    } else {
      for (size_t c = 0; c < C; ++c)
        for (size_t p = 0; p < HW; ++p) b[p * C + c] = a[c * HW + p];
    }
  }
}

static void to_nchw(void* dst, const void* src, const int64_t* s, size_t esz) {
  size_t N = (size_t)s[0], C = (size_t)s[1], HW = (size_t)(s[2] * s[3]);
  const uint8_t* in = src;
  uint8_t* out = dst;
  for (size_t n = 0; n < N; ++n) {
    const uint8_t* a = in + n * C * HW * esz;
    uint8_t* b = out + n * C * HW * esz;
    if (esz == 4) {
      const float* af = (const float*)a;
      float* bf = (float*)b;
      for (size_t p = 0; p < HW; ++p)
        for (size_t c = 0; c < C; ++c) bf[c * HW + p] = af[p * C + c];
    } else {
      for (size_t p = 0; p < HW; ++p)
        for (size_t c = 0; c < C; ++c) b[c * HW + p] = a[p * C + c];
    }
  }
}

/* ---- query -------------------------------------------------------------- */

static ddk_status xnn_query(const ddk_backend* self, const ddk_options* options,
                            ddk_backend_info* info, char* err, size_t err_cap) {
  (void)self;
  (void)options;
  (void)err;
  (void)err_cap;
  char why[200] = "";
  info->available = xnn_init_library(why, sizeof why) == DDK_OK;
  info->capabilities = DDK_CAP_FLOAT32 | DDK_CAP_INT8 | DDK_CAP_PROFILING;
  ddk_set_error(info->device_name, sizeof info->device_name,
                "XNNPACK (Debian 0.0~git20220216) on the CPU");
  ddk_set_error(info->detail, sizeof info->detail,
                info->available ? "accuracy_profile=fast_math "
                                  "(denormals flushed, NaN not propagated "
                                  "through output clamps); fp32 and int8 "
                                  "(qs8/qc8); option xnnpack.num_threads"
                                : why);
  return DDK_OK;
}

/* ---- init --------------------------------------------------------------- */

static size_t datatype_size(uint32_t dt) {
  return dt == XB_QINT8 || dt == XB_QCINT8 ? 1 : 4;
}

size_t xnn_blob_value_bytes(const xnn_blob_view* b, uint32_t v) {
  size_t n = datatype_size(b->vals[v].datatype);
  for (uint32_t d = 0; d < b->vals[v].rank && d < XB_MAX_DIMS; ++d)
    n *= (size_t)b->vals[v].dims[d];
  return n;
}

ddk_status xnn_define_blob_value(xnn_subgraph_t sg, const xnn_blob_view* b,
                                 uint32_t i, uint32_t id, uint32_t flags,
                                 char* err, size_t err_cap) {
  const xb_value* v = &b->vals[i];
  if (v->rank > XB_MAX_DIMS) {
    xnn_errorf(err, err_cap, "xnnpack: blob value %u has rank %u", i, v->rank);
    return DDK_INCOMPATIBLE_BLOB;
  }
  size_t dims[XB_MAX_DIMS];
  size_t count = 1;
  for (uint32_t d = 0; d < v->rank; ++d) {
    dims[d] = (size_t)v->dims[d];
    count *= dims[d];
  }
  const void* p = NULL;
  if (v->flags & XB_STATIC) {
    if (v->data_offset + count * datatype_size(v->datatype) > b->hd.data_size) {
      xnn_errorf(err, err_cap, "xnnpack: blob value %u data out of range", i);
      return DDK_INCOMPATIBLE_BLOB;
    }
    p = b->data + v->data_offset;
  }
  uint32_t got = XNN_INVALID_VALUE_ID;
  enum xnn_status s;
  switch (v->datatype) {
    case XB_FP32:
      s = xnn_define_tensor_value(sg, xnn_datatype_fp32, v->rank, dims, p, id,
                                  flags, &got);
      break;
    case XB_QINT8:
      s = xnn_define_quantized_tensor_value(sg, xnn_datatype_qint8,
                                            v->zero_point, v->scale, v->rank,
                                            dims, p, id, flags, &got);
      break;
    case XB_QCINT8:
    case XB_QCINT32: {
      uint64_t ch = v->dims[v->channel_dim];
      if (v->channel_dim >= v->rank ||
          v->scales_offset + ch * sizeof(float) > b->hd.data_size) {
        xnn_errorf(err, err_cap, "xnnpack: blob value %u scales out of range", i);
        return DDK_INCOMPATIBLE_BLOB;
      }
      s = xnn_define_channelwise_quantized_tensor_value(
          sg, v->datatype == XB_QCINT8 ? xnn_datatype_qcint8 : xnn_datatype_qcint32,
          (const float*)(b->data + v->scales_offset), v->rank, v->channel_dim,
          dims, p, id, flags, &got);
      break;
    }
    default:
      xnn_errorf(err, err_cap, "xnnpack: blob value %u has datatype %u", i,
                 v->datatype);
      return DDK_INCOMPATIBLE_BLOB;
  }
  if (s != xnn_status_success || got != id) {
    xnn_errorf(err, err_cap, "xnnpack: defining value %u failed: %s", i,
               xnn_status_str(s));
    return DDK_BACKEND_FAILURE;
  }
  return DDK_OK;
}

/* blob value v as sg's value id */
#define MAPPED(v) ((v) == XB_NONE ? XNN_INVALID_VALUE_ID : map ? map[(v)] : (v))

enum xnn_status xnn_define_blob_op(xnn_subgraph_t sg, const xnn_blob_view* bv,
                                   const xb_op* o, const uint32_t* map) {
  const uint32_t* p = o->p;
  uint32_t a = MAPPED(o->inputs[0]), b = MAPPED(o->inputs[1]);
  uint32_t bias = MAPPED(o->inputs[2]);
  uint32_t y = MAPPED(o->output);
  float lo = o->out_min, hi = o->out_max;
  switch (o->kind) {
    case XB_OP_CONV2D:
      return xnn_define_convolution_2d(sg, p[0], p[1], p[2], p[3], p[4], p[5],
                                       p[6], p[7], p[8], p[9], p[10], p[11],
                                       p[12], lo, hi, a, b, bias, y, 0);
    case XB_OP_DECONV2D:
      return xnn_define_deconvolution_2d(sg, p[0], p[1], p[2], p[3], p[13],
                                         p[14], p[4], p[5], p[6], p[7], p[8],
                                         p[9], p[10], p[11], p[12], lo, hi, a,
                                         b, bias, y, 0);
    case XB_OP_FULLY_CONNECTED:
      return xnn_define_fully_connected(sg, lo, hi, a, b, bias, y, o->flags);
    case XB_OP_ADD: return xnn_define_add2(sg, lo, hi, a, b, y, 0);
    case XB_OP_SUBTRACT: return xnn_define_subtract(sg, lo, hi, a, b, y, 0);
    case XB_OP_MULTIPLY: return xnn_define_multiply2(sg, lo, hi, a, b, y, 0);
    case XB_OP_DIVIDE: return xnn_define_divide(sg, lo, hi, a, b, y, 0);
    case XB_OP_CLAMP: return xnn_define_clamp(sg, lo, hi, a, y, 0);
    case XB_OP_SIGMOID: return xnn_define_sigmoid(sg, a, y, 0);
    case XB_OP_HARDSWISH: return xnn_define_hardswish(sg, a, y, 0);
    case XB_OP_LEAKY_RELU: return xnn_define_leaky_relu(sg, o->f[0], a, y, 0);
    case XB_OP_ELU: return xnn_define_elu(sg, o->f[0], a, y, 0);
    case XB_OP_ABS: return xnn_define_abs(sg, a, y, 0);
    case XB_OP_NEGATE: return xnn_define_negate(sg, a, y, 0);
    case XB_OP_FLOOR: return xnn_define_floor(sg, a, y, 0);
    case XB_OP_CEILING: return xnn_define_ceiling(sg, a, y, 0);
    case XB_OP_SQUARE_ROOT: return xnn_define_square_root(sg, a, y, 0);
    case XB_OP_ROUND: return xnn_define_bankers_rounding(sg, a, y, 0);
    case XB_OP_MAX_POOL2D:
      return xnn_define_max_pooling_2d(sg, p[0], p[1], p[2], p[3], p[4], p[5],
                                       p[6], p[7], p[8], p[9], lo, hi, a, y, 0);
    case XB_OP_AVG_POOL2D:
      return xnn_define_average_pooling_2d(sg, p[0], p[1], p[2], p[3], p[4],
                                           p[5], p[6], p[7], lo, hi, a, y, 0);
    case XB_OP_GLOBAL_AVG_POOL2D:
      return xnn_define_global_average_pooling_2d(sg, lo, hi, a, y, 0);
    case XB_OP_SOFTMAX: return xnn_define_softmax(sg, a, y, 0);
    case XB_OP_CONSTANT_PAD: {
      size_t pre[XB_MAX_DIMS], post[XB_MAX_DIMS];
      for (uint32_t i = 0; i < XB_MAX_DIMS; ++i) {
        pre[i] = p[i];
        post[i] = p[6 + i];
      }
      return xnn_define_static_constant_pad(sg, pre, post, o->f[0], a, y, 0);
    }
    case XB_OP_RESIZE_BILINEAR:
      return xnn_define_static_resize_bilinear_2d(
          sg, p[0], p[1], a, y, p[2] ? XNN_FLAG_ALIGN_CORNERS : 0);
    case XB_OP_CONVERT: return xnn_define_convert(sg, a, y, 0);
    case XB_OP_RESHAPE: {
      const xb_value* out = &bv->vals[o->output];
      size_t dims[XB_MAX_DIMS];
      for (uint32_t i = 0; i < out->rank && i < XB_MAX_DIMS; ++i)
        dims[i] = (size_t)out->dims[i];
      return xnn_define_static_reshape(sg, out->rank, dims, a, y, 0);
    }
    default: return xnn_status_invalid_parameter;
  }
}

static void free_handle(ddk_delegate_handle* h) {
  const ddk_allocator* a = &h->services->allocator;
  xnn_node_profiler_destroy(h->profiler); /* before the pool it uses */
  if (h->runtime) xnn_delete_runtime(h->runtime);
  if (h->pool) pthreadpool_destroy(h->pool);
  uint32_t n = h->num_inputs + h->num_outputs;
  if (h->ext) {
    for (uint32_t i = 0; i < n; ++i)
      if (h->ext[i].staging)
        a->free(a->self, h->ext[i].staging, h->ext[i].staging_size);
    a->free(a->self, h->ext, sizeof(xnn_external) * (n + 1));
  }
  if (h->bound) a->free(a->self, h->bound, sizeof(*h->bound) * (n + 1));
  a->free(a->self, h, sizeof *h);
}

/* Builds the per-node profiler when profiling per node and it is not
 * built yet. A failure is logged and returned; profiling then reports the
 * fused runtime only (execute never fails for want of it). */
static ddk_status start_node_profiler(ddk_delegate_handle* h) {
  if (!h->per_node || h->profiler != NULL) return DDK_OK;
  char why[256] = "";
  ddk_status st = xnn_node_profiler_create(&h->blob, h->pool, h->services,
                                           &h->profiler, why, sizeof why);
  const ddk_logger* log = &h->services->logger;
  if (st != DDK_OK && log->log != NULL) {
    char msg[400];
    snprintf(msg, sizeof msg,
             "per-node profiling unavailable, reporting the fused runtime "
             "only: %s", why);
    log->log(log->self, DDK_LOG_WARNING, "xnnpack", msg);
  }
  return st;
}

/* The external tensors, from the blob's values flagged external. */
static ddk_status bind_externals(ddk_delegate_handle* h, const xb_header* hd,
                                 const xb_value* vals, char* err,
                                 size_t err_cap) {
  const ddk_allocator* a = &h->services->allocator;
  uint32_t n = hd->num_inputs + hd->num_outputs;
  for (uint32_t i = 0; i < n; ++i) h->ext[i].id = XNN_INVALID_VALUE_ID;
  for (uint32_t i = 0; i < hd->num_values; ++i) {
    const xb_value* v = &vals[i];
    uint32_t slot;
    if (v->flags & XB_EXTERNAL_INPUT) slot = v->ext_index;
    else if (v->flags & XB_EXTERNAL_OUTPUT) slot = hd->num_inputs + v->ext_index;
    else continue;
    if (slot >= n || h->ext[slot].id != XNN_INVALID_VALUE_ID) {
      ddk_set_error(err, err_cap, "xnnpack: blob has a bad external index");
      return DDK_INCOMPATIBLE_BLOB;
    }
    xnn_external* e = &h->ext[slot];
    e->id = i;
    e->nhwc = (v->flags & XB_NHWC) != 0 && v->rank == 4;
    e->elem = datatype_size(v->datatype);
    e->rank = v->rank;
    for (uint32_t d = 0; d < v->rank; ++d) e->sizes[d] = (int64_t)v->dims[d];
    if (e->nhwc) { /* held [N,H,W,C]; the DDK tensor is [N,C,H,W] */
      e->sizes[1] = (int64_t)v->dims[3];
      e->sizes[2] = (int64_t)v->dims[1];
      e->sizes[3] = (int64_t)v->dims[2];
    }
    e->bytes = e->elem;
    for (uint32_t d = 0; d < v->rank; ++d) e->bytes *= (size_t)v->dims[d];
    /* NHWC copies, and padded copies of inputs (XNNPACK may read
     * XNN_EXTRA_BYTES past an input) when the caller's buffer is tight */
    if (e->nhwc || slot < hd->num_inputs) {
      e->staging_size = e->bytes + XNN_EXTRA_BYTES;
      e->staging = a->alloc(a->self, e->staging_size, 64);
      if (e->staging == NULL) {
        ddk_set_error(err, err_cap, "xnnpack: out of memory in init");
        return DDK_OUT_OF_MEMORY;
      }
      memset(e->staging, 0, e->staging_size);
    }
  }
  for (uint32_t i = 0; i < n; ++i)
    if (h->ext[i].id == XNN_INVALID_VALUE_ID) {
      ddk_set_error(err, err_cap, "xnnpack: blob lacks an external value");
      return DDK_INCOMPATIBLE_BLOB;
    }
  return DDK_OK;
}

static ddk_status xnn_init(const ddk_backend* self, const void* blob,
                           size_t blob_size, const char* compat,
                           const ddk_options* options,
                           const ddk_services* services,
                           ddk_delegate_handle** out_handle, char* err,
                           size_t err_cap) {
  (void)self;
  *out_handle = NULL;
  /* "xnnpack:fmt=1" or "=2" (format 2 only adds XB_OP_ABSORBED records) */
  const size_t pre = strlen(XNN_COMPAT_PREFIX);
  if (compat == NULL || strncmp(compat, XNN_COMPAT_PREFIX, pre) != 0 ||
      (compat[pre] != '1' && compat[pre] != '2') ||
      (compat[pre + 1] != ';' && compat[pre + 1] != '\0')) {
    xnn_errorf(err, err_cap,
               "xnnpack: blob compatibility '%s' is not " XNN_COMPAT_PREFIX
               "1 or 2", compat ? compat : "(null)");
    return DDK_INCOMPATIBLE_BLOB;
  }
  xb_header hd;
  if (blob == NULL || blob_size < sizeof hd) {
    ddk_set_error(err, err_cap, "xnnpack: blob too small");
    return DDK_INCOMPATIBLE_BLOB;
  }
  memcpy(&hd, blob, sizeof hd);
  uint64_t head = sizeof hd + (uint64_t)hd.num_values * sizeof(xb_value) +
                  (uint64_t)hd.num_ops * sizeof(xb_op);
  if (memcmp(hd.magic, XB_MAGIC, 4) != 0 || hd.format < 1 || hd.format > XB_FORMAT ||
      hd.num_values > (1u << 24) || hd.num_ops > (1u << 24) ||
      head > hd.data_offset || hd.data_offset > blob_size ||
      hd.data_size > blob_size - hd.data_offset || hd.data_offset % XB_ALIGN) {
    ddk_set_error(err, err_cap, "xnnpack: malformed blob header");
    return DDK_INCOMPATIBLE_BLOB;
  }
  if (((uintptr_t)blob % 8) != 0) {
    ddk_set_error(err, err_cap, "xnnpack: blob is not 8-byte aligned");
    return DDK_INCOMPATIBLE_BLOB;
  }
  int64_t threads = ddk_options_get_int(options, "xnnpack.num_threads", 1);
  if (threads < 1 || threads > 64) {
    xnn_errorf(err, err_cap,
               "xnnpack: option xnnpack.num_threads=%lld is outside 1..64",
               (long long)threads);
    return DDK_INVALID_ARGUMENT;
  }
  ddk_status st = xnn_init_library(err, err_cap);
  if (st != DDK_OK) return st;
  const uint8_t* base = blob;
  const xb_value* vals = (const xb_value*)(base + sizeof hd);
  const xb_op* ops = (const xb_op*)(base + sizeof hd + hd.num_values * sizeof(xb_value));
  const char* mode = ddk_options_get_string(options, "xnnpack.profile", "per_node");
  if (strcmp(mode, "per_node") != 0 && strcmp(mode, "per_node_only") != 0 &&
      strcmp(mode, "fused") != 0) {
    xnn_errorf(err, err_cap,
               "xnnpack: option xnnpack.profile='%s' is not per_node, "
               "per_node_only or fused", mode);
    return DDK_INVALID_ARGUMENT;
  }

  const ddk_allocator* a = &services->allocator;
  ddk_delegate_handle* h = a->alloc(a->self, sizeof *h, 64);
  if (h == NULL) {
    ddk_set_error(err, err_cap, "xnnpack: out of memory in init");
    return DDK_OUT_OF_MEMORY;
  }
  memset(h, 0, sizeof *h);
  h->services = services;
  h->num_inputs = hd.num_inputs;
  h->num_outputs = hd.num_outputs;
  h->profiling = services->profiler.enabled;
  h->per_node = strcmp(mode, "fused") != 0;
  h->skip_fused = strcmp(mode, "per_node_only") == 0;
  h->blob = (xnn_blob_view){hd, vals, ops, base + hd.data_offset};
  uint32_t n = hd.num_inputs + hd.num_outputs;
  h->ext = a->alloc(a->self, sizeof(xnn_external) * (n + 1), 64);
  h->bound = a->alloc(a->self, sizeof(*h->bound) * (n + 1), 64);
  xnn_subgraph_t sg = NULL;
  if (h->ext == NULL || h->bound == NULL) {
    ddk_set_error(err, err_cap, "xnnpack: out of memory in init");
    st = DDK_OUT_OF_MEMORY;
    goto cleanup;
  }
  memset(h->ext, 0, sizeof(xnn_external) * (n + 1));
  memset(h->bound, 0, sizeof(*h->bound) * (n + 1));
  st = bind_externals(h, &hd, vals, err, err_cap);
  if (st != DDK_OK) goto cleanup;
  if (xnn_create_subgraph(hd.num_values, 0, &sg) != xnn_status_success) {
    ddk_set_error(err, err_cap, "xnnpack: xnn_create_subgraph failed");
    st = DDK_BACKEND_FAILURE;
    goto cleanup;
  }
  for (uint32_t i = 0; i < hd.num_values && st == DDK_OK; ++i) {
    uint32_t flags = 0;
    if (vals[i].flags & XB_EXTERNAL_INPUT) flags |= XNN_VALUE_FLAG_EXTERNAL_INPUT;
    if (vals[i].flags & XB_EXTERNAL_OUTPUT) flags |= XNN_VALUE_FLAG_EXTERNAL_OUTPUT;
    st = xnn_define_blob_value(sg, &h->blob, i, i, flags, err, err_cap);
  }
  if (st != DDK_OK) goto cleanup;
  for (uint32_t i = 0; i < hd.num_ops; ++i) {
    const xb_op* o = &ops[i];
    if (o->kind == XB_OP_ABSORBED) continue; /* a note for the profiler */
    for (uint32_t k = 0; k < 3; ++k) /* all three: the profiler maps them */
      if (o->inputs[k] != XB_NONE && o->inputs[k] >= hd.num_values) o = NULL;
    if (o != NULL && o->output >= hd.num_values) o = NULL;
    if (o == NULL) {
      ddk_set_error(err, err_cap, "xnnpack: blob op refers to a bad value");
      st = DDK_INCOMPATIBLE_BLOB;
      goto cleanup;
    }
    enum xnn_status s = xnn_define_blob_op(sg, &h->blob, o, NULL);
    if (s != xnn_status_success) {
      xnn_errorf(err, err_cap,
                 "xnnpack: defining op %u (kind %u, program node %u) failed: %s",
                 i, o->kind, o->node_index, xnn_status_str(s));
      st = DDK_BACKEND_FAILURE;
      goto cleanup;
    }
    h->num_ops++;
  }
  if (threads > 1) {
    h->pool = pthreadpool_create((size_t)threads);
    if (h->pool == NULL) {
      ddk_set_error(err, err_cap, "xnnpack: pthreadpool_create failed");
      st = DDK_RESOURCE_EXHAUSTED;
      goto cleanup;
    }
  }
  enum xnn_status s = xnn_create_runtime_v2(sg, h->pool, 0, &h->runtime);
  if (s != xnn_status_success) {
    xnn_errorf(err, err_cap, "xnnpack: xnn_create_runtime_v2 failed: %s",
               xnn_status_str(s));
    h->runtime = NULL;
    st = DDK_BACKEND_FAILURE;
    goto cleanup;
  }
cleanup:
  if (sg) xnn_delete_subgraph(sg);
  if (st != DDK_OK) {
    free_handle(h);
    return st;
  }
  if (h->profiling) start_node_profiler(h); /* a failure only warns */
  *out_handle = h;
  return DDK_OK;
}

/* ---- execute -------------------------------------------------------------- */

static uint64_t now(const ddk_delegate_handle* h) {
  const ddk_profiler_sink* p = &h->services->profiler;
  return p->now_ns ? p->now_ns(p->self) : 0;
}

static void emit_event(const ddk_delegate_handle* h, uint32_t kind,
                       const char* name, uint64_t t0, uint64_t t1,
                       uint64_t bytes, const char* detail) {
  const ddk_profiler_sink* p = &h->services->profiler;
  if (p->emit == NULL) return;
  ddk_profile_event e;
  memset(&e, 0, sizeof e);
  e.header = (ddk_struct_header)DDK_STRUCT_HEADER_INIT(ddk_profile_event);
  e.kind = kind;
  e.node_index = DDK_NO_VALUE;
  e.name = name;
  e.start_ns = t0;
  e.end_ns = t1;
  e.bytes = bytes;
  e.detail = detail;
  p->emit(p->self, &e);
}

static ddk_status check_tensor(const xnn_external* e, const ddk_tensor* t,
                               const char* what, uint32_t i, char* err,
                               size_t err_cap) {
  if (t == NULL || t->data == NULL) {
    xnn_errorf(err, err_cap, "xnnpack: %s %u is NULL", what, i);
    return DDK_INVALID_ARGUMENT;
  }
  bool same = t->rank == e->rank && ddk_dtype_size(t->dtype) == e->elem;
  for (uint32_t d = 0; same && d < e->rank; ++d) same = t->sizes[d] == e->sizes[d];
  if (!same || t->capacity < e->bytes) {
    xnn_errorf(err, err_cap,
               "xnnpack: %s %u does not have the shape or dtype compiled for",
               what, i);
    return DDK_SHAPE_MISMATCH;
  }
  return DDK_OK;
}

static ddk_status xnn_execute(ddk_delegate_handle* h,
                              const ddk_tensor* const* inputs,
                              uint32_t num_inputs, ddk_tensor* const* outputs,
                              uint32_t num_outputs, char* err, size_t err_cap) {
  if (h == NULL || num_inputs != h->num_inputs || num_outputs != h->num_outputs ||
      (num_inputs && inputs == NULL) || (num_outputs && outputs == NULL)) {
    xnn_errorf(err, err_cap, "xnnpack: execute expects %u inputs and %u outputs",
               h ? h->num_inputs : 0, h ? h->num_outputs : 0);
    return DDK_INVALID_ARGUMENT;
  }
  bool prof = h->profiling && h->services->profiler.emit != NULL;
  uint64_t t0 = prof ? now(h) : 0, copied = 0;
  bool changed = !h->setup_done;
  for (uint32_t i = 0; i < num_inputs; ++i) {
    xnn_external* e = &h->ext[i];
    ddk_status st = check_tensor(e, inputs[i], "input", i, err, err_cap);
    if (st != DDK_OK) return st;
    void* p;
    if (e->nhwc) {
      to_nhwc(e->staging, inputs[i]->data, e->sizes, e->elem);
      p = e->staging;
      copied += e->bytes;
    } else if (inputs[i]->capacity >= e->bytes + XNN_EXTRA_BYTES) {
      p = inputs[i]->data;
    } else {
      memcpy(e->staging, inputs[i]->data, e->bytes);
      p = e->staging;
      copied += e->bytes;
    }
    if (h->bound[i].data != p || h->bound[i].id != e->id) changed = true;
    h->bound[i] = (struct xnn_external_value){e->id, p};
  }
  for (uint32_t i = 0; i < num_outputs; ++i) {
    xnn_external* e = &h->ext[num_inputs + i];
    ddk_status st = check_tensor(e, outputs[i], "output", i, err, err_cap);
    if (st != DDK_OK) return st;
    void* p = e->nhwc ? e->staging : outputs[i]->data;
    struct xnn_external_value* b = &h->bound[num_inputs + i];
    if (b->data != p || b->id != e->id) changed = true;
    *b = (struct xnn_external_value){e->id, p};
  }
  uint64_t t1 = prof ? now(h) : 0;
  if (prof && copied)
    emit_event(h, DDK_PROFILE_COPY, "xnnpack: inputs to NHWC", t0, t1, copied, NULL);
  bool rebind = changed;
  if (changed) {
    enum xnn_status s = xnn_setup_runtime(h->runtime, num_inputs + num_outputs, h->bound);
    if (s != xnn_status_success) {
      h->setup_done = false;
      xnn_errorf(err, err_cap, "xnnpack: xnn_setup_runtime failed: %s",
                 xnn_status_str(s));
      return DDK_BACKEND_FAILURE;
    }
    h->setup_done = true;
  }
  const bool per_node = prof && h->profiler != NULL;
  if (!(per_node && h->skip_fused)) {
    enum xnn_status s = xnn_invoke_runtime(h->runtime);
    if (s != xnn_status_success) {
      xnn_errorf(err, err_cap, "xnnpack: xnn_invoke_runtime failed: %s",
                 xnn_status_str(s));
      return DDK_BACKEND_FAILURE;
    }
  }
  uint64_t t2 = prof ? now(h) : 0;
  if (per_node) {
    /* the fused runtime's time, then every node's own time */
    if (!h->skip_fused) {
      char detail[96];
      snprintf(detail, sizeof detail, "mode=fused;xnn_ops=%u;per_node_build_ns=%llu",
               h->num_ops, (unsigned long long)xnn_node_profiler_build_ns(h->profiler));
      emit_event(h, DDK_PROFILE_OTHER, "xnnpack: fused runtime", t1, t2, 0, detail);
    }
    ddk_status st = xnn_node_profiler_run(h->profiler, h->bound,
                                          num_inputs + num_outputs, rebind, err,
                                          err_cap);
    if (st != DDK_OK) return st;
    t2 = now(h);
  } else if (prof) {
    emit_event(h, DDK_PROFILE_OP, "xnnpack: runtime", t1, t2, 0, "mode=fused");
  }
  copied = 0;
  for (uint32_t i = 0; i < num_outputs; ++i) {
    xnn_external* e = &h->ext[num_inputs + i];
    if (!e->nhwc) continue;
    to_nchw(outputs[i]->data, e->staging, e->sizes, e->elem);
    copied += e->bytes;
  }
  if (prof && copied)
    emit_event(h, DDK_PROFILE_COPY, "xnnpack: outputs to NCHW", t2, now(h), copied, NULL);
  return DDK_OK;
}

static void xnn_destroy(ddk_delegate_handle* h) {
  if (h != NULL) free_handle(h);
}

/* On: builds the per-node runtimes (xnnpack.profile=per_node), so that
 * no profiled execute pays for it. Off: frees them (they hold a second
 * copy of the packed weights). */
static ddk_status xnn_set_profiling(ddk_delegate_handle* h, bool enabled) {
  if (h == NULL) return DDK_INVALID_ARGUMENT;
  h->profiling = enabled;
  if (enabled) return start_node_profiler(h);
  xnn_node_profiler_destroy(h->profiler);
  h->profiler = NULL;
  return DDK_OK;
}

/* ---- the vtable and the entry symbol -------------------------------------- */

static const ddk_backend kXnnpackBackend = {
    .header = DDK_STRUCT_HEADER_INIT(ddk_backend),
    .name = "xnnpack",
    .version = "1.0.0",
    .flags = 0, /* init keeps pointers into the blob: not releasable */
    .user_data = NULL,
    .query = xnn_query,
    .partition = xnn_partition,
    .preprocess = xnn_preprocess,
    .init = xnn_init,
    .execute = xnn_execute,
    .destroy = xnn_destroy,
    .set_profiling = xnn_set_profiling,
};

DDK_DECLARE_BACKEND_ENTRY() {
  if (out_backend == NULL) return DDK_INVALID_ARGUMENT;
  *out_backend = NULL;
  if (DDK_ABI_VERSION_MAJOR_OF(host_abi_version) != DDK_ABI_VERSION_MAJOR) {
    xnn_errorf(err, err_cap, "xnnpack: host ABI %u.%u, plugin speaks %u.x",
               DDK_ABI_VERSION_MAJOR_OF(host_abi_version),
               DDK_ABI_VERSION_MINOR_OF(host_abi_version), DDK_ABI_VERSION_MAJOR);
    return DDK_ABI_MISMATCH;
  }
  *out_backend = &kXnnpackBackend;
  return DDK_OK;
}
