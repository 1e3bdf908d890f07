/*
 * infer_creation.c — inference rules: creation and random ops
 * (arange.start_step, empty.memory_format, empty_strided, fill.Scalar,
 * full, full_like, scalar_tensor, rand, randn, randperm, native_dropout).
 *
 * Result dtypes follow ATen: dtype= when given; otherwise full infers it
 * from its Scalar (bool -> bool, int -> int64, float -> the default dtype
 * float32), arange from its Scalars (any float -> float32, else int64),
 * scalar_tensor / empty / rand / randn default to float32, randperm to
 * int64, *_like / fill to self's dtype. Layout must be None or strided,
 * device None or cpu, pin_memory None or false. Results are contiguous.
 */
#include <math.h>

#include "infer_util.h"

#define INFER_CHECK(expr)          \
  do {                             \
    ddk_status st_ = (expr);       \
    if (st_ != DDK_OK) return st_; \
  } while (0)

/* The optional ScalarType argument `i`: `dflt` when None. */
static ddk_status arg_dtype(ddk_infer_ctx* c, uint32_t i, ddk_dtype dflt, ddk_dtype* out) {
  const ddk_arg* a = &c->node->args[i];
  *out = dflt;
  if (a->kind == DDK_ARG_NONE) return DDK_OK;
  /* a schema default (randperm's dtype=long) may arrive as an INT */
  if ((a->kind != DDK_ARG_DTYPE && a->kind != DDK_ARG_INT) ||
      ddk_dtype_size((ddk_dtype)a->u.i) == 0)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "argument 'dtype' must be a known ScalarType");
  *out = (ddk_dtype)a->u.i;
  return DDK_OK;
}

/* layout (args[i]), device (args[i + 1]), pin_memory (args[i + 2]). */
static ddk_status check_placement(ddk_infer_ctx* c, uint32_t i) {
  const ddk_arg* layout = &c->node->args[i];
  const ddk_arg* device = &c->node->args[i + 1];
  const ddk_arg* pin = &c->node->args[i + 2];
  if (layout->kind != DDK_ARG_NONE && !(layout->kind == DDK_ARG_INT && layout->u.i == 0))
    return ddk_infer_fail(c, DDK_UNSUPPORTED_FEATURE,
                          "argument 'layout': only strided is supported");
  if (device->kind != DDK_ARG_NONE &&
      !(device->kind == DDK_ARG_STRING && device->u.str != NULL &&
        (strcmp(device->u.str, "cpu") == 0 || strcmp(device->u.str, "cpu:0") == 0)))
    return ddk_infer_fail(c, DDK_UNSUPPORTED_FEATURE, "argument 'device': only cpu is supported");
  if (pin->kind != DDK_ARG_NONE && !(pin->kind == DDK_ARG_BOOL && !pin->u.b))
    return ddk_infer_fail(c, DDK_UNSUPPORTED_FEATURE,
                          "argument 'pin_memory': pinned memory needs an accelerator");
  return DDK_OK;
}

/* MemoryFormat argument `i` for a result of `rank` (see infer_shape.c). */
static ddk_status check_memory_format(ddk_infer_ctx* c, uint32_t i, uint32_t rank,
                                      bool allow_preserve) {
  const ddk_arg* mf = &c->node->args[i];
  if (mf->kind == DDK_ARG_NONE) return DDK_OK;
  if (mf->kind != DDK_ARG_INT || mf->u.i < 0 || mf->u.i > 3)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "argument 'memory_format': unknown value");
  if (mf->u.i == 1 && !allow_preserve)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "unsupported memory format Preserve");
  if (mf->u.i == 2 && rank != 4)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                          "required rank 4 tensor to use channels_last format");
  if (mf->u.i == 3 && rank != 5)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                          "required rank 5 tensor to use channels_last_3d format");
  return DDK_OK;
}

/* Size-list argument `i`: each >= 0, at most DDK_MAX_RANK. */
static ddk_status arg_sizes(ddk_infer_ctx* c, uint32_t i, const char* name, const int64_t** v,
                            uint32_t* n) {
  INFER_CHECK(ddk_infer_arg_ints(c, i, name, v, n));
  if (*n > DDK_MAX_RANK)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "argument '%s': rank %u above %d", name, *n,
                          DDK_MAX_RANK);
  for (uint32_t k = 0; k < *n; ++k)
    if ((*v)[k] < 0)
      return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                            "Trying to create tensor with negative dimension %lld",
                            (long long)(*v)[k]);
  return DDK_OK;
}

/* A dtype the fill-like ops (every real dtype) accept. */
static ddk_status check_real(ddk_infer_ctx* c, ddk_dtype dt) {
  if (dt == DDK_DTYPE_INVALID || ddk_infer_is_complex(dt) || ddk_dtype_size(dt) == 0)
    return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE, "unsupported dtype %s", ddk_dtype_name(dt));
  return DDK_OK;
}

/* A Scalar argument as a double; *integral when it is an INT. */
static ddk_status arg_scalar_f64(ddk_infer_ctx* c, uint32_t i, const char* name, double* v,
                                 bool* integral, int64_t* iv) {
  const ddk_arg* a = &c->node->args[i];
  *integral = false;
  *iv = 0;
  switch (a->kind) {
    case DDK_ARG_INT:
      *integral = true;
      *iv = a->u.i;
      *v = (double)a->u.i;
      return DDK_OK;
    case DDK_ARG_BOOL:
      *v = a->u.b ? 1.0 : 0.0;
      *iv = a->u.b ? 1 : 0;
      return DDK_OK;
    case DDK_ARG_FLOAT:
      *v = a->u.f;
      return DDK_OK;
    default:
      return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "argument '%s' must be a Scalar", name);
  }
}

static ddk_status infer_arange(ddk_infer_ctx* c) {
  double start = 0.0, end = 0.0, step = 0.0;
  bool i_start = false, i_end = false, i_step = false;
  int64_t a = 0, b = 0, s = 0;
  INFER_CHECK(ddk_infer_need(c, 7, 1));
  INFER_CHECK(arg_scalar_f64(c, 0, "start", &start, &i_start, &a));
  INFER_CHECK(arg_scalar_f64(c, 1, "end", &end, &i_end, &b));
  INFER_CHECK(arg_scalar_f64(c, 2, "step", &step, &i_step, &s));
  const bool any_float = c->node->args[0].kind == DDK_ARG_FLOAT ||
                         c->node->args[1].kind == DDK_ARG_FLOAT ||
                         c->node->args[2].kind == DDK_ARG_FLOAT;
  ddk_dtype dt;
  INFER_CHECK(arg_dtype(c, 3, any_float ? DDK_DTYPE_FLOAT32 : DDK_DTYPE_INT64, &dt));
  INFER_CHECK(check_placement(c, 4));
  if (dt == DDK_DTYPE_BOOL || check_real(c, dt) != DDK_OK)
    return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE, "\"arange_cpu\" not implemented for '%s'",
                          ddk_dtype_name(dt));
  if (!(step > 0 || step < 0))
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "step must be nonzero");
  if (!isfinite(start) || !isfinite(end))
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "unsupported range: %g -> %g", start, end);
  if (!((step > 0 && end >= start) || (step < 0 && end <= start)))
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                          "upper bound and lower bound inconsistent with step sign");
  double size_d;
  if (dt == DDK_DTYPE_INT64 && i_start && i_end && i_step) {
    /* ATen's int64 path: integer arithmetic (wrapping) */
    const int64_t sgn = (s > 0) - (s < 0);
    const int64_t num = (int64_t)((uint64_t)b - (uint64_t)a + (uint64_t)s - (uint64_t)sgn);
    size_d = (num == INT64_MIN && s == -1) ? 9223372036854775808.0 : (double)(num / s);
  } else {
    size_d = ceil((end - start) / step);
  }
  if (!(size_d >= 0 && size_d < 9223372036854775808.0))
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "invalid size, possible overflow?");
  const int64_t n = (int64_t)size_d;
  return ddk_infer_set_output(c, 0, dt, 1, &n);
}

static ddk_status infer_empty(ddk_infer_ctx* c) {
  const int64_t* size = NULL;
  uint32_t n = 0;
  ddk_dtype dt;
  INFER_CHECK(ddk_infer_need(c, 6, 1));
  INFER_CHECK(arg_sizes(c, 0, "size", &size, &n));
  INFER_CHECK(arg_dtype(c, 1, DDK_DTYPE_FLOAT32, &dt));
  INFER_CHECK(check_real(c, dt));
  INFER_CHECK(check_placement(c, 2));
  INFER_CHECK(check_memory_format(c, 5, n, false));
  return ddk_infer_set_output(c, 0, dt, n, size);
}

static ddk_status infer_empty_strided(ddk_infer_ctx* c) {
  const int64_t *size = NULL, *stride = NULL;
  uint32_t n = 0, ns = 0;
  ddk_dtype dt;
  INFER_CHECK(ddk_infer_need(c, 6, 1));
  INFER_CHECK(arg_sizes(c, 0, "size", &size, &n));
  INFER_CHECK(ddk_infer_arg_ints(c, 1, "stride", &stride, &ns));
  if (ns != n)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                          "dimensionality of sizes (%u) must match dimensionality of strides (%u)",
                          n, ns);
  for (uint32_t i = 0; i < ns; ++i)
    if (stride[i] < 0)
      return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                            "Storage size calculation overflowed (negative stride %lld)",
                            (long long)stride[i]);
  INFER_CHECK(arg_dtype(c, 2, DDK_DTYPE_FLOAT32, &dt));
  INFER_CHECK(check_real(c, dt));
  INFER_CHECK(check_placement(c, 3));
  return ddk_infer_set_output(c, 0, dt, n, size);
}

static ddk_status infer_fill(ddk_infer_ctx* c) {
  const ddk_tensor* x = NULL;
  uint32_t kind = 0;
  INFER_CHECK(ddk_infer_need(c, 2, 1));
  INFER_CHECK(ddk_infer_arg_tensor(c, 0, "self", &x));
  INFER_CHECK(ddk_infer_arg_scalar(c, 1, "value", &kind));
  INFER_CHECK(check_real(c, x->dtype));
  return ddk_infer_same_shape(c, x, x->dtype);
}

static ddk_status infer_full(ddk_infer_ctx* c) {
  const int64_t* size = NULL;
  uint32_t n = 0, kind = 0;
  ddk_dtype dt;
  INFER_CHECK(ddk_infer_need(c, 6, 1));
  INFER_CHECK(arg_sizes(c, 0, "size", &size, &n));
  INFER_CHECK(ddk_infer_arg_scalar(c, 1, "fill_value", &kind));
  const ddk_dtype inferred = kind == DDK_ARG_BOOL  ? DDK_DTYPE_BOOL
                             : kind == DDK_ARG_INT ? DDK_DTYPE_INT64
                                                   : DDK_DTYPE_FLOAT32;
  INFER_CHECK(arg_dtype(c, 2, inferred, &dt));
  INFER_CHECK(check_real(c, dt));
  INFER_CHECK(check_placement(c, 3));
  return ddk_infer_set_output(c, 0, dt, n, size);
}

static ddk_status infer_full_like(ddk_infer_ctx* c) {
  const ddk_tensor* x = NULL;
  uint32_t kind = 0;
  ddk_dtype dt;
  INFER_CHECK(ddk_infer_need(c, 7, 1));
  INFER_CHECK(ddk_infer_arg_tensor(c, 0, "self", &x));
  INFER_CHECK(ddk_infer_arg_scalar(c, 1, "fill_value", &kind));
  INFER_CHECK(arg_dtype(c, 2, x->dtype, &dt));
  INFER_CHECK(check_real(c, dt));
  INFER_CHECK(check_placement(c, 3));
  INFER_CHECK(check_memory_format(c, 6, x->rank, true));
  return ddk_infer_set_output(c, 0, dt, x->rank, x->sizes);
}

static ddk_status infer_scalar_tensor(ddk_infer_ctx* c) {
  uint32_t kind = 0;
  ddk_dtype dt;
  INFER_CHECK(ddk_infer_need(c, 5, 1));
  INFER_CHECK(ddk_infer_arg_scalar(c, 0, "s", &kind));
  INFER_CHECK(arg_dtype(c, 1, DDK_DTYPE_FLOAT32, &dt));
  INFER_CHECK(check_real(c, dt));
  INFER_CHECK(check_placement(c, 2));
  return ddk_infer_set_output(c, 0, dt, 0, NULL);
}

/* rand / randn: (size, dtype, layout, device, pin_memory), float dtypes. */
static ddk_status infer_rand(ddk_infer_ctx* c, const char* what) {
  const int64_t* size = NULL;
  uint32_t n = 0;
  ddk_dtype dt;
  INFER_CHECK(ddk_infer_need(c, 5, 1));
  INFER_CHECK(arg_sizes(c, 0, "size", &size, &n));
  INFER_CHECK(arg_dtype(c, 1, DDK_DTYPE_FLOAT32, &dt));
  INFER_CHECK(check_placement(c, 2));
  if (!ddk_infer_is_floating(dt))
    return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE, "\"%s\" not implemented for '%s'", what,
                          ddk_dtype_name(dt));
  return ddk_infer_set_output(c, 0, dt, n, size);
}

static ddk_status infer_randperm(ddk_infer_ctx* c) {
  int64_t n = 0;
  ddk_dtype dt;
  INFER_CHECK(ddk_infer_need(c, 5, 1));
  INFER_CHECK(ddk_infer_arg_int(c, 0, "n", &n));
  INFER_CHECK(arg_dtype(c, 1, DDK_DTYPE_INT64, &dt));
  INFER_CHECK(check_placement(c, 2));
  if (n < 0)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                          "Trying to create tensor with negative dimension %lld", (long long)n);
  /* n - 1 must be representable (floats: every integer up to it) */
  int64_t max = 0;
  switch (dt) {
    case DDK_DTYPE_UINT8:
      max = 255;
      break;
    case DDK_DTYPE_INT8:
      max = 127;
      break;
    case DDK_DTYPE_INT16:
      max = 32767;
      break;
    case DDK_DTYPE_INT32:
      max = INT32_MAX;
      break;
    case DDK_DTYPE_INT64:
      max = INT64_MAX;
      break;
    case DDK_DTYPE_FLOAT16:
      max = 2048;
      break;
    case DDK_DTYPE_BFLOAT16: /* ATen has no bound: values round to bfloat16 */
      max = INT64_MAX;
      break;
    case DDK_DTYPE_FLOAT32:
      max = 1ll << 24;
      break;
    case DDK_DTYPE_FLOAT64:
      max = 1ll << 53;
      break;
    default:
      return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE, "\"randperm\" not implemented for '%s'",
                            ddk_dtype_name(dt));
  }
  if (n > 0 && n - 1 > max)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "n cannot be greater than %lld for %s",
                          (long long)max + 1, ddk_dtype_name(dt));
  return ddk_infer_set_output(c, 0, dt, 1, &n);
}

static ddk_status infer_native_dropout(ddk_infer_ctx* c) {
  const ddk_tensor* x = NULL;
  INFER_CHECK(ddk_infer_need(c, 3, 2));
  INFER_CHECK(ddk_infer_arg_tensor(c, 0, "input", &x));
  const ddk_arg* p = &c->node->args[1];
  const ddk_arg* train = &c->node->args[2];
  if (p->kind != DDK_ARG_FLOAT)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "argument 'p' must be a float");
  if (train->kind != DDK_ARG_NONE && train->kind != DDK_ARG_BOOL)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "argument 'train' must be a bool or None");
  const bool training = train->kind == DDK_ARG_NONE || train->u.b;
  INFER_CHECK(check_real(c, x->dtype));
  if (ddk_tensor_numel(x) == 0) { /* ATen returns (input, empty_like(input)) */
    INFER_CHECK(ddk_infer_set_output(c, 0, x->dtype, x->rank, x->sizes));
    return ddk_infer_set_output(c, 1, x->dtype, x->rank, x->sizes);
  }
  if (training && !ddk_infer_is_floating(x->dtype))
    return ddk_infer_fail(c, DDK_DTYPE_MISMATCH,
                          "result type Float can't be cast to the desired output type %s",
                          ddk_dtype_name(x->dtype));
  if (training && !(p->u.f >= 0.0 && p->u.f <= 1.0))
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "p must be in [0, 1], but got p=%g", p->u.f);
  INFER_CHECK(ddk_infer_set_output(c, 0, x->dtype, x->rank, x->sizes));
  return ddk_infer_set_output(c, 1, DDK_DTYPE_BOOL, x->rank, x->sizes);
}

ddk_status ddk_infer_aten_arange_start_step(ddk_infer_ctx* c) {
  return infer_arange(c);
}
ddk_status ddk_infer_aten_empty_memory_format(ddk_infer_ctx* c) {
  return infer_empty(c);
}
ddk_status ddk_infer_aten_empty_strided(ddk_infer_ctx* c) {
  return infer_empty_strided(c);
}
ddk_status ddk_infer_aten_fill_scalar(ddk_infer_ctx* c) {
  return infer_fill(c);
}
ddk_status ddk_infer_aten_full(ddk_infer_ctx* c) {
  return infer_full(c);
}
ddk_status ddk_infer_aten_full_like(ddk_infer_ctx* c) {
  return infer_full_like(c);
}
ddk_status ddk_infer_aten_scalar_tensor(ddk_infer_ctx* c) {
  return infer_scalar_tensor(c);
}
ddk_status ddk_infer_aten_rand(ddk_infer_ctx* c) {
  return infer_rand(c, "check_uniform_bounds");
}
ddk_status ddk_infer_aten_randn(ddk_infer_ctx* c) {
  return infer_rand(c, "normal_kernel_cpu");
}
ddk_status ddk_infer_aten_randperm(ddk_infer_ctx* c) {
  return infer_randperm(c);
}
ddk_status ddk_infer_aten_native_dropout(ddk_infer_ctx* c) {
  return infer_native_dropout(c);
}
