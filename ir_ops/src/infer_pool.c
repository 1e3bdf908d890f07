/*
 * infer_pool.c — inference rules: pooling (max/avg 1-d..3-d, adaptive
 * average, and the backward ops of 2-d average, max and adaptive pooling).
 *
 * Shared shape rule (ATen's pooling_output_shape and pool*_shape_check):
 * the input is [N, C, *spatial] or [C, *spatial] with every non-batch dim
 * non-zero; out = floor_or_ceil((in + 2p - d(k-1) - 1) / s) + 1, and in ceil
 * mode a last window starting beyond in + p is dropped; 0 <= p <= k / 2.
 */
#include "infer_util.h"

static int64_t pool_out(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d, bool ceil_mode) {
  int64_t num = in + 2 * p - d * (k - 1) - 1 + (ceil_mode ? s - 1 : 0);
  int64_t q = num / s;
  if (num % s != 0 && num < 0) --q; /* floor division */
  int64_t out = q + 1;
  if (ceil_mode && (out - 1) * s >= in + p) --out;
  return out;
}

/* Where a pooling op keeps its arguments (UINT32_MAX: absent). */
typedef struct pool_spec {
  uint32_t S;                                         /* spatial dims: 1, 2 or 3 */
  uint32_t self, k, stride, pad, dil, ceil, cip, dov; /* argument indices */
} pool_spec;

#define NO_ARG UINT32_MAX

/* Number of arguments the spec reads. */
static uint32_t pool_nargs(const pool_spec* ps) {
  const uint32_t idx[] = {ps->self, ps->k,    ps->stride, ps->pad,
                          ps->dil,  ps->ceil, ps->cip,    ps->dov};
  uint32_t n = 0;
  for (size_t i = 0; i < sizeof idx / sizeof idx[0]; ++i)
    if (idx[i] != NO_ARG && idx[i] + 1 > n) n = idx[i] + 1;
  return n;
}

/* Reads the window arguments and checks `x` (the forward input); writes the
 * forward output's sizes into out_sizes (x's rank). */
static ddk_status pool_shape(ddk_infer_ctx* c, const pool_spec* ps, const ddk_tensor* x,
                             int64_t* out_sizes) {
  int64_t k[3], s[3], p[3], d[3] = {1, 1, 1};
  const int64_t zero[3] = {0, 0, 0}, one[3] = {1, 1, 1};
  const uint32_t S = ps->S;
  bool ceil_mode = false;
  ddk_status st = ddk_infer_expand_list(c, ps->k, "kernel_size", S, NULL, k);
  if (st == DDK_OK) st = ddk_infer_expand_list(c, ps->stride, "stride", S, k, s);
  if (st == DDK_OK) st = ddk_infer_expand_list(c, ps->pad, "padding", S, zero, p);
  if (st == DDK_OK && ps->dil != NO_ARG)
    st = ddk_infer_expand_list(c, ps->dil, "dilation", S, one, d);
  if (st == DDK_OK) st = ddk_infer_arg_bool(c, ps->ceil, "ceil_mode", &ceil_mode);
  if (st == DDK_OK && ps->cip != NO_ARG) {
    bool cip;
    st = ddk_infer_arg_bool(c, ps->cip, "count_include_pad", &cip);
  }
  if (st == DDK_OK && ps->dov != NO_ARG && c->node->args[ps->dov].kind != DDK_ARG_NONE) {
    int64_t v = 0;
    st = ddk_infer_arg_int(c, ps->dov, "divisor_override", &v);
    if (st == DDK_OK && v == 0)
      return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "divisor must be not zero");
  }
  if (st != DDK_OK) return st;
  if (x->rank != S + 1 && x->rank != S + 2)
    return ddk_infer_fail(c, DDK_SHAPE_MISMATCH, "expected a %u-D or %u-D input, got %u-D", S + 1,
                          S + 2, x->rank);
  const uint32_t lead = x->rank - S - 1;
  for (uint32_t i = lead; i < x->rank; ++i)
    if (x->sizes[i] == 0)
      return ddk_infer_fail(c, DDK_SHAPE_MISMATCH,
                            "expected input to have non-zero size for non-batch dimensions, "
                            "but dim %u is 0",
                            i);
  for (uint32_t i = 0; i <= lead; ++i) out_sizes[i] = x->sizes[i];
  for (uint32_t i = 0; i < S; ++i) {
    if (k[i] <= 0) return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "kernel_size must be positive");
    if (s[i] <= 0) return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "stride must be positive");
    if (d[i] <= 0) return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "dilation must be positive");
    if (p[i] < 0 || p[i] > k[i] / 2)
      return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                            "pad should be at most half of kernel size, but got pad=%lld, "
                            "kernel_size=%lld",
                            (long long)p[i], (long long)k[i]);
    const int64_t in = x->sizes[lead + 1 + i];
    const int64_t o = pool_out(in, k[i], s[i], p[i], d[i], ceil_mode);
    if (o < 1)
      return ddk_infer_fail(c, DDK_SHAPE_MISMATCH,
                            "input size %lld gives output size %lld: output size is too small",
                            (long long)in, (long long)o);
    out_sizes[lead + 1 + i] = o;
  }
  return DDK_OK;
}

/* Forward pooling: output 0 (and int64 indices as output 1 for max). */
static ddk_status infer_pool(ddk_infer_ctx* c, const pool_spec* ps, bool is_max) {
  ddk_status st = ddk_infer_need(c, pool_nargs(ps), is_max ? 2 : 1);
  const ddk_tensor* x = NULL;
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, ps->self, "self", &x);
  int64_t sizes[DDK_MAX_RANK];
  if (st == DDK_OK) st = pool_shape(c, ps, x, sizes);
  if (st == DDK_OK) st = ddk_infer_set_output(c, 0, x->dtype, x->rank, sizes);
  if (st == DDK_OK && is_max) st = ddk_infer_set_output(c, 1, DDK_DTYPE_INT64, x->rank, sizes);
  return st;
}

/* Same sizes (all dims). */
static bool same_sizes(const ddk_tensor* a, const int64_t* sizes, uint32_t rank) {
  if (a->rank != rank) return false;
  for (uint32_t i = 0; i < rank; ++i)
    if (a->sizes[i] != sizes[i]) return false;
  return true;
}

/* Backward pooling: grad_output (arg 0) must have the forward output's
 * shape (and `indices`, when given, too); the result has self's shape. */
static ddk_status infer_pool_backward(ddk_infer_ctx* c, const pool_spec* ps, uint32_t indices) {
  const uint32_t nargs = indices != NO_ARG ? indices + 1 : pool_nargs(ps);
  ddk_status st = ddk_infer_need(c, nargs, 1);
  const ddk_tensor *go = NULL, *x = NULL, *ind = NULL;
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 0, "grad_output", &go);
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, ps->self, "self", &x);
  if (st == DDK_OK && indices != NO_ARG) st = ddk_infer_arg_tensor(c, indices, "indices", &ind);
  int64_t sizes[DDK_MAX_RANK];
  if (st == DDK_OK) st = pool_shape(c, ps, x, sizes);
  if (st != DDK_OK) return st;
  if (go->dtype != x->dtype)
    return ddk_infer_fail(c, DDK_DTYPE_MISMATCH, "grad_output is %s but self is %s",
                          ddk_dtype_name(go->dtype), ddk_dtype_name(x->dtype));
  if (!same_sizes(go, sizes, x->rank))
    return ddk_infer_fail(c, DDK_SHAPE_MISMATCH,
                          "grad_output does not have the pool's output shape");
  if (ind != NULL && (ind->dtype != DDK_DTYPE_INT64 || !same_sizes(ind, sizes, x->rank)))
    return ddk_infer_fail(c, DDK_SHAPE_MISMATCH,
                          "indices must be int64 with the pool's output shape");
  return ddk_infer_set_output(c, 0, x->dtype, x->rank, x->sizes);
}

/* Adaptive average pooling over S spatial dims. */
static ddk_status infer_adaptive(ddk_infer_ctx* c, uint32_t S) {
  ddk_status st = ddk_infer_need(c, 2, 1);
  const ddk_tensor* x = NULL;
  int64_t os[3];
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 0, "self", &x);
  if (st == DDK_OK) st = ddk_infer_expand_list(c, 1, "output_size", S, NULL, os);
  if (st != DDK_OK) return st;
  if (!ddk_infer_is_floating(x->dtype))
    return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE, "not implemented for %s",
                          ddk_dtype_name(x->dtype));
  if (x->rank != S + 1 && x->rank != S + 2)
    return ddk_infer_fail(c, DDK_SHAPE_MISMATCH, "expected a %u-D or %u-D input, got %u-D", S + 1,
                          S + 2, x->rank);
  const uint32_t lead = x->rank - S - 1;
  for (uint32_t i = lead; i < x->rank; ++i)
    if (x->sizes[i] == 0)
      return ddk_infer_fail(c, DDK_SHAPE_MISMATCH,
                            "expected input to have non-zero size for non-batch dimensions");
  int64_t sizes[DDK_MAX_RANK];
  for (uint32_t i = 0; i <= lead; ++i) sizes[i] = x->sizes[i];
  for (uint32_t i = 0; i < S; ++i) {
    if (os[i] < 0)
      return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "elements of output_size must be >= 0");
    sizes[lead + 1 + i] = os[i];
  }
  return ddk_infer_set_output(c, 0, x->dtype, x->rank, sizes);
}

/* ------------------------------------------------------------------------ */
/* Rules                                                                    */
/* ------------------------------------------------------------------------ */

ddk_status ddk_infer_aten_max_pool2d_with_indices(ddk_infer_ctx* c) {
  const pool_spec ps = {2, 0, 1, 2, 3, 4, 5, NO_ARG, NO_ARG};
  return infer_pool(c, &ps, true);
}
ddk_status ddk_infer_aten_max_pool3d_with_indices(ddk_infer_ctx* c) {
  const pool_spec ps = {3, 0, 1, 2, 3, 4, 5, NO_ARG, NO_ARG};
  return infer_pool(c, &ps, true);
}
ddk_status ddk_infer_aten_avg_pool1d(ddk_infer_ctx* c) {
  const pool_spec ps = {1, 0, 1, 2, 3, NO_ARG, 4, 5, NO_ARG};
  return infer_pool(c, &ps, false);
}
ddk_status ddk_infer_aten_avg_pool2d(ddk_infer_ctx* c) {
  const pool_spec ps = {2, 0, 1, 2, 3, NO_ARG, 4, 5, 6};
  return infer_pool(c, &ps, false);
}
ddk_status ddk_infer_aten_avg_pool3d(ddk_infer_ctx* c) {
  const pool_spec ps = {3, 0, 1, 2, 3, NO_ARG, 4, 5, 6};
  return infer_pool(c, &ps, false);
}
ddk_status ddk_infer_aten_avg_pool2d_backward(ddk_infer_ctx* c) {
  const pool_spec ps = {2, 1, 2, 3, 4, NO_ARG, 5, 6, 7};
  return infer_pool_backward(c, &ps, NO_ARG);
}
ddk_status ddk_infer_aten_max_pool2d_with_indices_backward(ddk_infer_ctx* c) {
  const pool_spec ps = {2, 1, 2, 3, 4, 5, 6, NO_ARG, NO_ARG};
  return infer_pool_backward(c, &ps, 7);
}
ddk_status ddk_infer_aten_adaptive_avg_pool1d(ddk_infer_ctx* c) {
  return infer_adaptive(c, 1);
}
ddk_status ddk_infer_aten_adaptive_avg_pool2d(ddk_infer_ctx* c) {
  return infer_adaptive(c, 2);
}
ddk_status ddk_infer_aten_adaptive_avg_pool3d(ddk_infer_ctx* c) {
  return infer_adaptive(c, 3);
}
ddk_status ddk_infer_aten_adaptive_avg_pool2d_backward(ddk_infer_ctx* c) {
  ddk_status st = ddk_infer_need(c, 2, 1);
  const ddk_tensor *go = NULL, *x = NULL;
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 0, "grad_output", &go);
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 1, "self", &x);
  if (st != DDK_OK) return st;
  if (!ddk_infer_is_floating(x->dtype) || go->dtype != x->dtype)
    return ddk_infer_fail(c, DDK_DTYPE_MISMATCH,
                          "expected float grad_output and self of one dtype, got %s and %s",
                          ddk_dtype_name(go->dtype), ddk_dtype_name(x->dtype));
  if ((x->rank != 3 && x->rank != 4) || go->rank != x->rank)
    return ddk_infer_fail(c, DDK_SHAPE_MISMATCH,
                          "expected 3-D or 4-D grad_output and self of one rank");
  for (uint32_t i = 0; i + 2 < x->rank; ++i)
    if (go->sizes[i] != x->sizes[i])
      return ddk_infer_fail(c, DDK_SHAPE_MISMATCH, "grad_output and self differ at dim %u", i);
  for (uint32_t i = x->rank - 3; i < x->rank; ++i)
    if (x->sizes[i] == 0 || go->sizes[i] == 0)
      return ddk_infer_fail(c, DDK_SHAPE_MISMATCH,
                            "expected input to have non-zero size for non-batch dimensions");
  return ddk_infer_set_output(c, 0, x->dtype, x->rank, x->sizes);
}
