/*
 * op_creation.c — aten::arange.start_step, empty.memory_format,
 * empty_strided, fill.Scalar, full, full_like, scalar_tensor.
 *
 * Shape inference (ir_ops/src/infer_creation.c) picks the result dtype
 * (ATen's: dtype= when given, else from the Scalars or from self) and
 * sizes; these kernels write the values.
 *  - fill / full / full_like / scalar_tensor: the Scalar converted to the
 *    result dtype as fill_ does (c10 Scalar::to with its overflow check:
 *    refused when the value does not fit).
 *  - arange: element i is start + step * i computed in ATen's accumulate
 *    type: int64 for integer results (wrapping into the dtype, as ATen's
 *    cast does), double for float32/float64, float for float16/bfloat16;
 *    rounded once to the result dtype.
 *  - empty / empty_strided: values are unspecified in ATen; the DDK writes
 *    zeros so that results are reproducible. Results are contiguous (see
 *    docs/kernels/shape_and_creation.md for memory_format and strides).
 */
#include "op_shape_util.h"

#define CHECK(expr)                \
  do {                             \
    ddk_status st_ = (expr);       \
    if (st_ != DDK_OK) return st_; \
  } while (0)

/* Writes Scalar argument `i` into every element of output 0. */
static ddk_status fill_out(ddk_kernel_ctx* ctx, const ddk_node_view* node, uint32_t i,
                           const char* name) {
  ddk_ku_scalar value;
  unsigned char elem[16];
  CHECK(ddk_sv_need(ctx, node, i + 1, 1));
  CHECK(ddk_ku_arg_scalar(ctx, node, i, name, &value));
  ddk_tensor* y = ddk_kernel_out(ctx, node, 0);
  CHECK(ddk_sv_scalar_element(ctx, node, &value, y->dtype, elem));
  if (!ddk_sv_fits(y, ddk_tensor_numel(y)))
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "result capacity too small");
  ddk_sv_fill(y, elem);
  return DDK_OK;
}

ddk_status ddk_kernel_aten_fill_scalar(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  const ddk_tensor* x = NULL;
  CHECK(ddk_sv_need(ctx, node, 2, 1));
  CHECK(ddk_sv_arg_tensor(ctx, node, 0, "self", &x));
  if (ddk_kernel_out(ctx, node, 0)->dtype != x->dtype)
    return ddk_kernel_fail(ctx, node, DDK_DTYPE_MISMATCH, "result dtype differs from self's");
  return fill_out(ctx, node, 1, "value");
}

ddk_status ddk_kernel_aten_full(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return fill_out(ctx, node, 1, "fill_value");
}

ddk_status ddk_kernel_aten_full_like(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return fill_out(ctx, node, 1, "fill_value");
}

ddk_status ddk_kernel_aten_scalar_tensor(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return fill_out(ctx, node, 0, "s");
}

static ddk_status write_zeros(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  CHECK(ddk_sv_need(ctx, node, 1, 1));
  ddk_tensor* y = ddk_kernel_out(ctx, node, 0);
  const int64_t n = ddk_tensor_numel(y);
  if (!ddk_sv_fits(y, n))
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "result capacity too small");
  if (n > 0) memset(y->data, 0, (size_t)n * ddk_dtype_size(y->dtype));
  return DDK_OK;
}

ddk_status ddk_kernel_aten_empty_memory_format(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return write_zeros(ctx, node);
}

ddk_status ddk_kernel_aten_empty_strided(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return write_zeros(ctx, node);
}

ddk_status ddk_kernel_aten_arange_start_step(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  ddk_ku_scalar start, end, step;
  CHECK(ddk_sv_need(ctx, node, 3, 1));
  CHECK(ddk_ku_arg_scalar(ctx, node, 0, "start", &start));
  CHECK(ddk_ku_arg_scalar(ctx, node, 1, "end", &end));
  CHECK(ddk_ku_arg_scalar(ctx, node, 2, "step", &step));
  ddk_tensor* y = ddk_kernel_out(ctx, node, 0);
  if (y->rank != 1 || !ddk_sv_fits(y, y->sizes[0]))
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "result must be 1-D");
  const int64_t n = y->sizes[0], ys = y->strides[0];
  switch (ddk_ku_math_of(y->dtype)) {
    case DDK_KU_MATH_I64: {
      int64_t a = 0, s = 0;
      if (y->dtype == DDK_DTYPE_BOOL || !ddk_ku_scalar_to_i64(&start, DDK_DTYPE_INT64, &a) ||
          !ddk_ku_scalar_to_i64(&step, DDK_DTYPE_INT64, &s))
        return ddk_kernel_fail(ctx, node, DDK_UNSUPPORTED_DTYPE, "start/step do not convert to %s",
                               ddk_dtype_name(y->dtype));
      for (int64_t i = 0; i < n; ++i)
        ddk_ku_store_i64(y->data, y->dtype, i * ys, ddk_ku_wrap_add(a, ddk_ku_wrap_mul(s, i)));
      return DDK_OK;
    }
    case DDK_KU_MATH_F32:
    case DDK_KU_MATH_F64:
      if (y->dtype == DDK_DTYPE_FLOAT16 || y->dtype == DDK_DTYPE_BFLOAT16) { /* float accumulate */
        const float a = (float)ddk_ku_scalar_f64(&start), s = (float)ddk_ku_scalar_f64(&step);
        for (int64_t i = 0; i < n; ++i)
          ddk_ku_store_f32(y->data, y->dtype, i * ys, a + s * (float)i);
      } else { /* float32 and float64 accumulate in double */
        const double a = ddk_ku_scalar_f64(&start), s = ddk_ku_scalar_f64(&step);
        for (int64_t i = 0; i < n; ++i)
          ddk_ku_store_f64(y->data, y->dtype, i * ys, a + s * (double)i);
      }
      return DDK_OK;
    default:
      return ddk_kernel_fail(ctx, node, DDK_UNSUPPORTED_DTYPE, "unsupported dtype %s",
                             ddk_dtype_name(y->dtype));
  }
}
