/*
 * op_elementwise_unary_math.c — the "integer to float" unary math ops:
 * aten::acos, acosh, asin, asinh, atan, atanh, cos, cosh, erf, exp, expm1,
 * log, log10, log1p, log2, reciprocal, rsqrt, sin, sinh, sqrt, tan.
 *
 * Semantics (ATen CPU):
 *  - floating inputs keep their dtype; bool and integer inputs give float32
 *    (shape inference chooses it) and are converted to float32 first, as
 *    ATen's TensorIterator does (int64 values round to float32);
 *  - float16/bfloat16/float32 compute in float with the C library's float
 *    function and round once to the storage type; float64 in double;
 *  - IEEE special values as the C library gives them, which are ATen's:
 *    log(0) = -inf, log(-x) = NaN, acos(|x| > 1) = NaN, atanh(+-1) = +-inf,
 *    sqrt(-0.0) = -0.0, exp overflows to inf, NaN propagates;
 *  - sinh/cosh of a bfloat16 +-89 (the one bfloat16 value where exp(|x|)
 *    overflows float but sinh does not) is finite here; ATen gives inf or
 *    the finite value depending on the element's position (its vectorised
 *    and scalar paths differ), so the golden cases avoid it;
 *  - reciprocal is 1 / x and rsqrt is 1 / sqrt(x) (two roundings), exactly
 *    as ATen computes them: rsqrt(0) = inf, rsqrt(-0.0) = -inf.
 *
 * Accuracy: glibc's float/double functions are within 1 ULP (most are
 * correctly rounded); ATen uses SLEEF's u10 functions (within 1 ULP) in its
 * vectorised loops. The op table allows 2 ULP for the transcendental ops.
 *
 * Layout: any input strides; the output is written through its strides.
 */
#include "kernel_util.h"

/* X(NAME, float expression of v, double expression of v) */
#define UNARY_MATH_OPS(X)                  \
  X(ACOS, acosf(v), acos(v))               \
  X(ACOSH, acoshf(v), acosh(v))            \
  X(ASIN, asinf(v), asin(v))               \
  X(ASINH, asinhf(v), asinh(v))            \
  X(ATAN, atanf(v), atan(v))               \
  X(ATANH, atanhf(v), atanh(v))            \
  X(COS, cosf(v), cos(v))                  \
  X(COSH, coshf(v), cosh(v))               \
  X(ERF, erff(v), erf(v))                  \
  X(EXP, expf(v), exp(v))                  \
  X(EXPM1, expm1f(v), expm1(v))            \
  X(LOG, logf(v), log(v))                  \
  X(LOG10, log10f(v), log10(v))            \
  X(LOG1P, log1pf(v), log1p(v))            \
  X(LOG2, log2f(v), log2(v))               \
  X(RECIPROCAL, 1.0f / v, 1.0 / v)         \
  X(RSQRT, 1.0f / sqrtf(v), 1.0 / sqrt(v)) \
  X(SIN, sinf(v), sin(v))                  \
  X(SINH, sinhf(v), sinh(v))               \
  X(SQRT, sqrtf(v), sqrt(v))               \
  X(TAN, tanf(v), tan(v))

typedef enum math_op {
#define MATH_ENUM_(NAME, F32, F64) MATH_##NAME,
  UNARY_MATH_OPS(MATH_ENUM_)
#undef MATH_ENUM_
} math_op;

static void math_f32(math_op op, float* y, const float* x, int64_t n) {
  switch (op) {
#define MATH_CASE_(NAME, F32, F64)    \
  case MATH_##NAME:                   \
    for (int64_t i = 0; i < n; ++i) { \
      const float v = x[i];           \
      y[i] = F32;                     \
    }                                 \
    break;
    UNARY_MATH_OPS(MATH_CASE_)
#undef MATH_CASE_
  }
}

static void math_f64(math_op op, double* y, const double* x, int64_t n) {
  switch (op) {
#define MATH_CASE_(NAME, F32, F64)    \
  case MATH_##NAME:                   \
    for (int64_t i = 0; i < n; ++i) { \
      const double v = x[i];          \
      y[i] = F64;                     \
    }                                 \
    break;
    UNARY_MATH_OPS(MATH_CASE_)
#undef MATH_CASE_
  }
}

static void math_chunk(void* user, ddk_ku_math math, void* out, const void* const* in, int64_t n) {
  const math_op op = *(const math_op*)user;
  if (math == DDK_KU_MATH_F32)
    math_f32(op, (float*)out, (const float*)in[0], n);
  else if (math == DDK_KU_MATH_F64)
    math_f64(op, (double*)out, (const double*)in[0], n);
}

static ddk_status math_kernel(ddk_kernel_ctx* ctx, const ddk_node_view* node, math_op op) {
  if (node->num_args < 1 || node->num_outputs < 1)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong number of arguments");
  const ddk_tensor* x = ddk_kernel_arg_tensor(ctx, node, 0);
  ddk_tensor* y = ddk_kernel_out(ctx, node, 0);
  ddk_status st = ddk_ku_check_dtype(ctx, node, "self", x, DDK_KU_MASK_REAL);
  if (st == DDK_OK) st = ddk_ku_check_dtype(ctx, node, "the result", y, DDK_KU_MASK_FLOATS);
  if (st != DDK_OK) return st;
  const bool x_float = ddk_ku_dtype_in(x->dtype, DDK_KU_MASK_FLOATS);
  if (x_float ? y->dtype != x->dtype : y->dtype != DDK_DTYPE_FLOAT32)
    return ddk_kernel_fail(ctx, node, DDK_DTYPE_MISMATCH, "result dtype %s does not fit self's %s",
                           ddk_dtype_name(y->dtype), ddk_dtype_name(x->dtype));
  if (ddk_tensor_numel(x) != ddk_tensor_numel(y) || !ddk_ku_map(y, &x, 1, math_chunk, &op))
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "output shape differs from self's");
  return DDK_OK;
}

/* ------------------------------------------------------------------------ */
/* Kernels                                                                  */
/* ------------------------------------------------------------------------ */

ddk_status ddk_kernel_aten_acos(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return math_kernel(ctx, node, MATH_ACOS);
}
ddk_status ddk_kernel_aten_acosh(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return math_kernel(ctx, node, MATH_ACOSH);
}
ddk_status ddk_kernel_aten_asin(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return math_kernel(ctx, node, MATH_ASIN);
}
ddk_status ddk_kernel_aten_asinh(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return math_kernel(ctx, node, MATH_ASINH);
}
ddk_status ddk_kernel_aten_atan(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return math_kernel(ctx, node, MATH_ATAN);
}
ddk_status ddk_kernel_aten_atanh(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return math_kernel(ctx, node, MATH_ATANH);
}
ddk_status ddk_kernel_aten_cos(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return math_kernel(ctx, node, MATH_COS);
}
ddk_status ddk_kernel_aten_cosh(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return math_kernel(ctx, node, MATH_COSH);
}
ddk_status ddk_kernel_aten_erf(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return math_kernel(ctx, node, MATH_ERF);
}
ddk_status ddk_kernel_aten_exp(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return math_kernel(ctx, node, MATH_EXP);
}
ddk_status ddk_kernel_aten_expm1(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return math_kernel(ctx, node, MATH_EXPM1);
}
ddk_status ddk_kernel_aten_log(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return math_kernel(ctx, node, MATH_LOG);
}
ddk_status ddk_kernel_aten_log10(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return math_kernel(ctx, node, MATH_LOG10);
}
ddk_status ddk_kernel_aten_log1p(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return math_kernel(ctx, node, MATH_LOG1P);
}
ddk_status ddk_kernel_aten_log2(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return math_kernel(ctx, node, MATH_LOG2);
}
ddk_status ddk_kernel_aten_reciprocal(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return math_kernel(ctx, node, MATH_RECIPROCAL);
}
ddk_status ddk_kernel_aten_rsqrt(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return math_kernel(ctx, node, MATH_RSQRT);
}
ddk_status ddk_kernel_aten_sin(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return math_kernel(ctx, node, MATH_SIN);
}
ddk_status ddk_kernel_aten_sinh(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return math_kernel(ctx, node, MATH_SINH);
}
ddk_status ddk_kernel_aten_sqrt(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return math_kernel(ctx, node, MATH_SQRT);
}
ddk_status ddk_kernel_aten_tan(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return math_kernel(ctx, node, MATH_TAN);
}
