/*
 * infer_pool.c — inference rules: pooling.
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

static ddk_status infer_pool(ddk_infer_ctx* c, bool is_max) {
  ddk_status st = ddk_infer_need(c, is_max ? 6 : 7, is_max ? 2 : 1);
  const ddk_tensor* x = NULL;
  int64_t k[2], s[2], p[2], d[2] = {1, 1};
  const int64_t zero[2] = {0, 0}, one[2] = {1, 1};
  bool ceil_mode = false;
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 0, "self", &x);
  if (st == DDK_OK) st = ddk_infer_expand_list(c, 1, "kernel_size", 2, NULL, k);
  if (st == DDK_OK) st = ddk_infer_expand_list(c, 2, "stride", 2, k, s);
  if (st == DDK_OK) st = ddk_infer_expand_list(c, 3, "padding", 2, zero, p);
  if (st == DDK_OK && is_max) st = ddk_infer_expand_list(c, 4, "dilation", 2, one, d);
  if (st == DDK_OK) st = ddk_infer_arg_bool(c, is_max ? 5 : 4, "ceil_mode", &ceil_mode);
  if (st == DDK_OK && !is_max) {
    bool cip;
    st = ddk_infer_arg_bool(c, 5, "count_include_pad", &cip);
    const ddk_arg* dov = &c->node->args[6];
    if (st == DDK_OK && dov->kind != DDK_ARG_NONE) {
      int64_t v = 0;
      st = ddk_infer_arg_int(c, 6, "divisor_override", &v);
      if (st == DDK_OK && v == 0)
        return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                              "argument 'divisor_override' must not be zero");
    }
  }
  if (st != DDK_OK) return st;
  if (x->rank != 3 && x->rank != 4)
    return ddk_infer_fail(c, DDK_SHAPE_MISMATCH, "expected a 3-D or 4-D input, got %u-D", x->rank);
  const uint32_t lead = x->rank - 3;
  for (uint32_t i = lead; i < x->rank; ++i)
    if (x->sizes[i] == 0)
      return ddk_infer_fail(c, DDK_SHAPE_MISMATCH, "input dim %u is empty (only the batch may be)",
                            i);
  int64_t sizes[4];
  for (uint32_t i = 0; i <= lead; ++i) sizes[i] = x->sizes[i];
  for (int i = 0; i < 2; ++i) {
    if (k[i] <= 0) return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "kernel_size must be positive");
    if (s[i] <= 0) return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "stride must be positive");
    if (d[i] <= 0) return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "dilation must be positive");
    if (p[i] < 0 || p[i] > k[i] / 2)
      return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                            "padding %lld must be between 0 and half the kernel size %lld",
                            (long long)p[i], (long long)k[i]);
    const int64_t in = x->sizes[lead + 1 + i];
    const int64_t o = pool_out(in, k[i], s[i], p[i], d[i], ceil_mode);
    if (o < 1)
      return ddk_infer_fail(c, DDK_SHAPE_MISMATCH,
                            "input size %lld gives output size %lld: too small", (long long)in,
                            (long long)o);
    sizes[lead + 1 + i] = o;
  }
  st = ddk_infer_set_output(c, 0, x->dtype, x->rank, sizes);
  if (st == DDK_OK && is_max) st = ddk_infer_set_output(c, 1, DDK_DTYPE_INT64, x->rank, sizes);
  return st;
}

/* ------------------------------------------------------------------------ */
/* Softmax and mean                                                         */

/* ------------------------------------------------------------------------ */
/* Rules                                                                    */
/* ------------------------------------------------------------------------ */

ddk_status ddk_infer_aten_max_pool2d_with_indices(ddk_infer_ctx* c) {
  return infer_pool(c, true);
}
ddk_status ddk_infer_aten_avg_pool2d(ddk_infer_ctx* c) {
  return infer_pool(c, false);
}
