/*
 * op_elementwise_binary.c — aten::add.Tensor, aten::sub.Tensor,
 * aten::mul.Tensor, aten::div.Tensor.
 *
 * Semantics (ATen CPU):
 *  - inputs broadcast; any strides (channels-last, broadcast views) are read
 *    as they are; the output is written through its own strides;
 *  - the output dtype was chosen by shape inference (ATen's result_type,
 *    with div promoting integers to float32); each input is cast to that
 *    dtype before computing, then float16/bfloat16 compute in float and
 *    round once (round to nearest even);
 *  - integers wrap; add/sub: out = self + alpha * other (sub: minus), with
 *    alpha converted to the result dtype like c10::Scalar::to<T>() (range
 *    checked; a float alpha is refused for integer results, a bool alpha
 *    for non-bool results). float32/float64 compute fma(alpha, other, self)
 *    with one rounding, as ATen's CPU kernel does; float16/bfloat16 compute
 *    self + alpha * other in float with alpha rounded to the dtype, as
 *    ATen's vectorised loop does (ATen's scalar tail loop instead rounds
 *    alpha * other to the dtype first, so ATen itself differs by position);
 *  - div.Tensor is true division: IEEE results for 0/0, x/0, NaN.
 *
 * Dtypes: add, mul: bool, uint8, int8, int16, int32, int64, float16,
 * bfloat16, float32, float64. sub: the same without bool (ATen refuses
 * bool). div: any real input, float output. Complex: DDK_UNSUPPORTED_DTYPE.
 */
#include "kernel_util.h"

typedef enum binary_op { BIN_ADD, BIN_SUB, BIN_MUL, BIN_DIV } binary_op;

typedef struct binary_params {
  binary_op op;
  double alpha_f;  /* alpha for float results, already in the result dtype */
  int64_t alpha_i; /* alpha for integer results */
  bool fused;      /* float32: fma(alpha, b, a); float16/bfloat16: a + alpha*b */
} binary_params;

static void binary_f32(const binary_params* p, float* c, const float* a, const float* b,
                       int64_t n) {
  /* sub(a, b, alpha) is add(a, b, -alpha) */
  const float alpha = p->op == BIN_SUB ? -(float)p->alpha_f : (float)p->alpha_f;
  switch (p->op) {
    case BIN_ADD:
    case BIN_SUB:
      if (alpha == 1.0f) {
        for (int64_t i = 0; i < n; ++i) c[i] = a[i] + b[i];
      } else if (alpha == -1.0f) {
        for (int64_t i = 0; i < n; ++i) c[i] = a[i] - b[i];
      } else if (p->fused) {
        for (int64_t i = 0; i < n; ++i) c[i] = fmaf(alpha, b[i], a[i]);
      } else {
        for (int64_t i = 0; i < n; ++i) c[i] = a[i] + alpha * b[i];
      }
      break;
    case BIN_MUL:
      for (int64_t i = 0; i < n; ++i) c[i] = a[i] * b[i];
      break;
    case BIN_DIV:
      for (int64_t i = 0; i < n; ++i) c[i] = a[i] / b[i];
      break;
  }
}

static void binary_f64(const binary_params* p, double* c, const double* a, const double* b,
                       int64_t n) {
  const double alpha = p->op == BIN_SUB ? -p->alpha_f : p->alpha_f;
  switch (p->op) {
    case BIN_ADD:
    case BIN_SUB:
      if (alpha == 1.0) {
        for (int64_t i = 0; i < n; ++i) c[i] = a[i] + b[i];
      } else if (alpha == -1.0) {
        for (int64_t i = 0; i < n; ++i) c[i] = a[i] - b[i];
      } else {
        for (int64_t i = 0; i < n; ++i) c[i] = fma(alpha, b[i], a[i]);
      }
      break;
    case BIN_MUL:
      for (int64_t i = 0; i < n; ++i) c[i] = a[i] * b[i];
      break;
    case BIN_DIV:
      for (int64_t i = 0; i < n; ++i) c[i] = a[i] / b[i];
      break;
  }
}

static void binary_i64(const binary_params* p, int64_t* c, const int64_t* a, const int64_t* b,
                       int64_t n) {
  const uint64_t alpha = (uint64_t)p->alpha_i;
  switch (p->op) {
    case BIN_ADD:
      for (int64_t i = 0; i < n; ++i) c[i] = (int64_t)((uint64_t)a[i] + alpha * (uint64_t)b[i]);
      break;
    case BIN_SUB:
      for (int64_t i = 0; i < n; ++i) c[i] = (int64_t)((uint64_t)a[i] - alpha * (uint64_t)b[i]);
      break;
    case BIN_MUL:
      for (int64_t i = 0; i < n; ++i) c[i] = ddk_ku_wrap_mul(a[i], b[i]);
      break;
    case BIN_DIV: /* unreachable: div results are floating */
      break;
  }
}

static void binary_chunk(void* user, ddk_ku_math math, void* out, const void* const* in,
                         int64_t n) {
  const binary_params* p = (const binary_params*)user;
  switch (math) {
    case DDK_KU_MATH_F32:
      binary_f32(p, (float*)out, (const float*)in[0], (const float*)in[1], n);
      break;
    case DDK_KU_MATH_F64:
      binary_f64(p, (double*)out, (const double*)in[0], (const double*)in[1], n);
      break;
    case DDK_KU_MATH_I64:
      binary_i64(p, (int64_t*)out, (const int64_t*)in[0], (const int64_t*)in[1], n);
      break;
    case DDK_KU_MATH_NONE:
      break;
  }
}

/* Reads and checks alpha (argument 2 of add/sub) for result dtype `dt`. */
static ddk_status binary_alpha(ddk_kernel_ctx* ctx, const ddk_node_view* node, ddk_dtype dt,
                               binary_params* p) {
  ddk_ku_scalar alpha;
  ddk_status st = ddk_ku_arg_scalar(ctx, node, 2, "alpha", &alpha);
  if (st != DDK_OK) return st;
  if (alpha.is_bool && dt != DDK_DTYPE_BOOL)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT,
                           "Boolean alpha only supported for Boolean results");
  if (ddk_ku_math_of(dt) == DDK_KU_MATH_I64) {
    if (alpha.is_float)
      return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT,
                             "for integral input tensors, argument alpha must not "
                             "be a floating point number");
    if (!ddk_ku_scalar_to_i64(&alpha, dt, &p->alpha_i))
      return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT,
                             "alpha %lld cannot be converted to %s without overflow",
                             (long long)alpha.i, ddk_dtype_name(dt));
    if (dt == DDK_DTYPE_BOOL) p->alpha_i = p->alpha_i != 0;
    return DDK_OK;
  }
  if (!ddk_ku_scalar_to_float(&alpha, dt, &p->alpha_f))
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT,
                           "alpha %g cannot be converted to %s without overflow",
                           ddk_ku_scalar_f64(&alpha), ddk_dtype_name(dt));
  if (dt != DDK_DTYPE_FLOAT64) p->alpha_f = ddk_ku_round_f32((float)p->alpha_f, dt);
  p->fused = dt == DDK_DTYPE_FLOAT32;
  return DDK_OK;
}

static ddk_status binary_kernel(ddk_kernel_ctx* ctx, const ddk_node_view* node, binary_op op) {
  if (node->num_args < (op == BIN_ADD || op == BIN_SUB ? 3u : 2u) || node->num_outputs < 1)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong number of arguments");
  const ddk_tensor* a = ddk_kernel_arg_tensor(ctx, node, 0);
  const ddk_tensor* b = ddk_kernel_arg_tensor(ctx, node, 1);
  ddk_tensor* out = ddk_kernel_out(ctx, node, 0);
  uint32_t out_mask = DDK_KU_MASK_REAL;
  if (op == BIN_SUB) out_mask &= ~DDK_KU_BIT(BOOL);
  if (op == BIN_DIV) out_mask = DDK_KU_MASK_FLOATS;
  ddk_status st = ddk_ku_check_dtype(ctx, node, "self", a, DDK_KU_MASK_REAL);
  if (st == DDK_OK) st = ddk_ku_check_dtype(ctx, node, "other", b, DDK_KU_MASK_REAL);
  if (st == DDK_OK) st = ddk_ku_check_dtype(ctx, node, "the result", out, out_mask);
  if (st != DDK_OK) return st;
  if (op == BIN_SUB && (a->dtype == DDK_DTYPE_BOOL || b->dtype == DDK_DTYPE_BOOL))
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT,
                           "subtraction with a bool tensor is not supported");

  binary_params p = {op, 1.0, 1, false};
  if (op == BIN_ADD || op == BIN_SUB) {
    st = binary_alpha(ctx, node, out->dtype, &p);
    if (st != DDK_OK) return st;
  }
  const ddk_tensor* ins[2] = {a, b};
  if (!ddk_ku_map(out, ins, 2, binary_chunk, &p))
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH,
                           "inputs do not broadcast to the output shape");
  return DDK_OK;
}

ddk_status ddk_kernel_aten_add_tensor(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return binary_kernel(ctx, node, BIN_ADD);
}

ddk_status ddk_kernel_aten_sub_tensor(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return binary_kernel(ctx, node, BIN_SUB);
}

ddk_status ddk_kernel_aten_mul_tensor(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return binary_kernel(ctx, node, BIN_MUL);
}

ddk_status ddk_kernel_aten_div_tensor(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return binary_kernel(ctx, node, BIN_DIV);
}
