/*
 * op_elementwise_unary.c — the exact unary ops: aten::abs, aten::neg,
 * aten::sign, aten::ceil, aten::floor, aten::round, aten::trunc,
 * aten::isinf, aten::isnan.
 *
 * Semantics (ATen CPU):
 *  - abs, neg, sign, ceil, floor, round, trunc keep the input dtype;
 *    integers compute in int64 and wrap back into the dtype, so abs and neg
 *    of the dtype's minimum give the minimum (int8: abs(-128) = -128), and
 *    neg on uint8 wraps (neg(200) = 56). ceil/floor/round/trunc of an
 *    integer is the integer. bool is refused by all of them except sign
 *    (sign of a bool is the bool);
 *  - floats: abs clears the sign bit (abs(-0.0) = 0.0, abs(NaN) = NaN);
 *    neg flips it; sign(x) = (0 < x) - (x < 0), so sign(NaN) = 0 and
 *    sign(-0.0) = +0.0; round is half to even (nearbyint: 2.5 -> 2,
 *    -0.5 -> -0.0); float16/bfloat16 compute in float, which is exact for
 *    all of these;
 *  - isinf, isnan: bool result, any real input (integers and bool: false).
 *
 * Layout: any input strides; the output is written through its strides.
 */
#include "kernel_util.h"

typedef enum exact_op { EX_ABS, EX_NEG, EX_SIGN, EX_CEIL, EX_FLOOR, EX_ROUND, EX_TRUNC } exact_op;

static void exact_f32(exact_op op, float* y, const float* x, int64_t n) {
  switch (op) {
    case EX_ABS:
      for (int64_t i = 0; i < n; ++i) y[i] = fabsf(x[i]);
      break;
    case EX_NEG:
      for (int64_t i = 0; i < n; ++i) y[i] = -x[i];
      break;
    case EX_SIGN:
      for (int64_t i = 0; i < n; ++i) y[i] = (float)((0.0f < x[i]) - (x[i] < 0.0f));
      break;
    case EX_CEIL:
      for (int64_t i = 0; i < n; ++i) y[i] = ceilf(x[i]);
      break;
    case EX_FLOOR:
      for (int64_t i = 0; i < n; ++i) y[i] = floorf(x[i]);
      break;
    case EX_ROUND:
      for (int64_t i = 0; i < n; ++i) y[i] = nearbyintf(x[i]);
      break;
    case EX_TRUNC:
      for (int64_t i = 0; i < n; ++i) y[i] = truncf(x[i]);
      break;
  }
}

static void exact_f64(exact_op op, double* y, const double* x, int64_t n) {
  switch (op) {
    case EX_ABS:
      for (int64_t i = 0; i < n; ++i) y[i] = fabs(x[i]);
      break;
    case EX_NEG:
      for (int64_t i = 0; i < n; ++i) y[i] = -x[i];
      break;
    case EX_SIGN:
      for (int64_t i = 0; i < n; ++i) y[i] = (double)((0.0 < x[i]) - (x[i] < 0.0));
      break;
    case EX_CEIL:
      for (int64_t i = 0; i < n; ++i) y[i] = ceil(x[i]);
      break;
    case EX_FLOOR:
      for (int64_t i = 0; i < n; ++i) y[i] = floor(x[i]);
      break;
    case EX_ROUND:
      for (int64_t i = 0; i < n; ++i) y[i] = nearbyint(x[i]);
      break;
    case EX_TRUNC:
      for (int64_t i = 0; i < n; ++i) y[i] = trunc(x[i]);
      break;
  }
}

/* Integers: values of the dtype widened to int64; results wrap on store. */
static void exact_i64(exact_op op, int64_t* y, const int64_t* x, int64_t n) {
  switch (op) {
    case EX_ABS:
      for (int64_t i = 0; i < n; ++i) y[i] = x[i] < 0 ? (int64_t)(0u - (uint64_t)x[i]) : x[i];
      break;
    case EX_NEG:
      for (int64_t i = 0; i < n; ++i) y[i] = (int64_t)(0u - (uint64_t)x[i]);
      break;
    case EX_SIGN:
      for (int64_t i = 0; i < n; ++i) y[i] = (int64_t)((0 < x[i]) - (x[i] < 0));
      break;
    case EX_CEIL:
    case EX_FLOOR:
    case EX_ROUND:
    case EX_TRUNC:
      for (int64_t i = 0; i < n; ++i) y[i] = x[i];
      break;
  }
}

static void exact_chunk(void* user, ddk_ku_math math, void* out, const void* const* in, int64_t n) {
  const exact_op op = *(const exact_op*)user;
  switch (math) {
    case DDK_KU_MATH_F32:
      exact_f32(op, (float*)out, (const float*)in[0], n);
      break;
    case DDK_KU_MATH_F64:
      exact_f64(op, (double*)out, (const double*)in[0], n);
      break;
    case DDK_KU_MATH_I64:
      exact_i64(op, (int64_t*)out, (const int64_t*)in[0], n);
      break;
    case DDK_KU_MATH_NONE:
      break;
  }
}

static ddk_status exact_kernel(ddk_kernel_ctx* ctx, const ddk_node_view* node, exact_op op) {
  if (node->num_args < 1 || node->num_outputs < 1)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong number of arguments");
  const ddk_tensor* x = ddk_kernel_arg_tensor(ctx, node, 0);
  ddk_tensor* y = ddk_kernel_out(ctx, node, 0);
  const uint32_t mask = op == EX_SIGN ? DDK_KU_MASK_REAL : DDK_KU_MASK_INTS | DDK_KU_MASK_FLOATS;
  ddk_status st = ddk_ku_check_dtype(ctx, node, "self", x, mask);
  if (st != DDK_OK) return st;
  if (y->dtype != x->dtype)
    return ddk_kernel_fail(ctx, node, DDK_DTYPE_MISMATCH, "result dtype %s differs from self's %s",
                           ddk_dtype_name(y->dtype), ddk_dtype_name(x->dtype));
  if (ddk_tensor_numel(x) != ddk_tensor_numel(y) || !ddk_ku_map(y, &x, 1, exact_chunk, &op))
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "output shape differs from self's");
  return DDK_OK;
}

/* ------------------------------------------------------------------------ */
/* isinf / isnan: the input is read in its own math type, the output is bool */
/* ------------------------------------------------------------------------ */

static ddk_status predicate_kernel(ddk_kernel_ctx* ctx, const ddk_node_view* node, bool nan) {
  if (node->num_args < 1 || node->num_outputs < 1)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong number of arguments");
  const ddk_tensor* x = ddk_kernel_arg_tensor(ctx, node, 0);
  ddk_tensor* y = ddk_kernel_out(ctx, node, 0);
  ddk_status st = ddk_ku_check_dtype(ctx, node, "self", x, DDK_KU_MASK_REAL);
  if (st == DDK_OK) st = ddk_ku_check_dtype(ctx, node, "the result", y, DDK_KU_BIT(BOOL));
  if (st != DDK_OK) return st;
  ddk_ku_loop loop;
  if (ddk_tensor_numel(x) != ddk_tensor_numel(y) || !ddk_ku_loop_init(&loop, y, &x, 1))
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "output shape differs from self's");
  const ddk_ku_math math = ddk_ku_math_of(x->dtype);
  const int64_t inner = loop.sizes[loop.rank - 1];
  const int64_t yst = loop.strides[0][loop.rank - 1], xst = loop.strides[1][loop.rank - 1];
  float fs[DDK_KU_CHUNK];
  double ds[DDK_KU_CHUNK];
  int64_t os[DDK_KU_CHUNK];
  ddk_ku_cursor c;
  ddk_ku_cursor_init(&c);
  for (int64_t done = 0; done < loop.numel; done += inner) {
    for (int64_t j = 0; j < inner; j += DDK_KU_CHUNK) {
      const int64_t n = ddk_ku_min(DDK_KU_CHUNK, inner - j);
      const int64_t xo = c.offset[1] + j * xst, yo = c.offset[0] + j * yst;
      int64_t* o = ddk_ku_out_row_i64(os, y->data, y->dtype, yo, yst);
      if (math == DDK_KU_MATH_F32) {
        const float* r = ddk_ku_row_f32(fs, x->data, x->dtype, x->dtype, xo, xst, n);
        for (int64_t i = 0; i < n; ++i) o[i] = nan ? isnan(r[i]) != 0 : isinf(r[i]) != 0;
      } else if (math == DDK_KU_MATH_F64) {
        const double* r = ddk_ku_row_f64(ds, x->data, x->dtype, x->dtype, xo, xst, n);
        for (int64_t i = 0; i < n; ++i) o[i] = nan ? isnan(r[i]) != 0 : isinf(r[i]) != 0;
      } else {
        for (int64_t i = 0; i < n; ++i) o[i] = 0;
      }
      ddk_ku_out_row_commit_i64(o, y->data, y->dtype, yo, yst, n);
    }
    ddk_ku_cursor_next_row(&loop, &c);
  }
  return DDK_OK;
}

/* ------------------------------------------------------------------------ */
/* Kernels                                                                  */
/* ------------------------------------------------------------------------ */

ddk_status ddk_kernel_aten_abs(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return exact_kernel(ctx, node, EX_ABS);
}
ddk_status ddk_kernel_aten_neg(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return exact_kernel(ctx, node, EX_NEG);
}
ddk_status ddk_kernel_aten_sign(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return exact_kernel(ctx, node, EX_SIGN);
}
ddk_status ddk_kernel_aten_ceil(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return exact_kernel(ctx, node, EX_CEIL);
}
ddk_status ddk_kernel_aten_floor(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return exact_kernel(ctx, node, EX_FLOOR);
}
ddk_status ddk_kernel_aten_round(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return exact_kernel(ctx, node, EX_ROUND);
}
ddk_status ddk_kernel_aten_trunc(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return exact_kernel(ctx, node, EX_TRUNC);
}
ddk_status ddk_kernel_aten_isinf(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return predicate_kernel(ctx, node, false);
}
ddk_status ddk_kernel_aten_isnan(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return predicate_kernel(ctx, node, true);
}
