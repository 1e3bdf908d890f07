/*
 * op_elementwise_binary.c — add, sub, mul, div: the .Tensor and .Scalar
 * overloads and div's rounding modes (div.Tensor_mode, div.Scalar_mode).
 *
 * Semantics (ATen CPU):
 *  - inputs broadcast; any strides (channels-last, broadcast views) are read
 *    as they are; the output is written through its own strides;
 *  - the output dtype was chosen by shape inference (ATen's result_type; a
 *    Scalar is a wrapped number that only raises the category; true
 *    division promotes integers to float32); each input is cast to that
 *    dtype before computing, then float16/bfloat16 compute in float and
 *    round once (round to nearest even);
 *  - a Scalar `other` is a 0-d tensor (float64, int64 or bool) cast to the
 *    result dtype, wrapping for integers (int8 + 300 adds 44), except that
 *    mul and div with a float16/bfloat16 result keep a single-element
 *    `other` in float (ATen's original_scalar_value opmath path);
 *  - integers wrap; add/sub: out = self + alpha * other (sub: minus), with
 *    alpha converted to the result dtype like c10::Scalar::to<T>() (range
 *    checked; a float alpha is refused for integer results, a bool alpha
 *    for non-bool results). float32/float64 compute fma(alpha, other, self)
 *    with one rounding, as ATen's CPU kernel does; float16/bfloat16 compute
 *    self + alpha * other in float with alpha rounded to the dtype, as
 *    ATen's vectorised loop does (ATen's scalar tail loop instead rounds
 *    alpha * other to the dtype first, so ATen itself differs by position);
 *  - div is true division (IEEE results for 0/0, x/0, NaN) unless
 *    rounding_mode is "trunc" (trunc(a / b)) or "floor" (ATen's
 *    div_floor_floating: fmod-based, so floor(a / b) without the double
 *    rounding of a / b; x/0 keeps the IEEE quotient, a zero quotient
 *    keeps the sign of a / b). float16/bfloat16 trunc/floor with a tensor
 *    divisor round every intermediate (a / b included) to the dtype, as
 *    ATen's c10::Half/BFloat16 arithmetic does; with a single-element
 *    divisor they compute in float. Integer trunc/floor division by zero is
 *    refused (ATen: ZeroDivisionError); INT64_MIN / -1 wraps (ATen traps).
 *
 * Dtypes: add, mul: bool, uint8, int8, int16, int32, int64, float16,
 * bfloat16, float32, float64. sub: the same without bool (ATen refuses
 * bool). div: any real input, float output; trunc/floor: no bool result.
 * Complex: DDK_UNSUPPORTED_DTYPE.
 */
#include "op_binary_util.h"

typedef enum binary_op {
  BIN_ADD,
  BIN_SUB,
  BIN_MUL,
  BIN_DIV,
  BIN_DIV_TRUNC,
  BIN_DIV_FLOOR
} binary_op;

typedef struct binary_params {
  binary_op op;
  double alpha_f;  /* alpha for float results, already in the result dtype */
  int64_t alpha_i; /* alpha for integer results */
  bool fused;      /* float32: fma(alpha, b, a); float16/bfloat16: a + alpha*b */
  bool zero_div;   /* set when an integer division met a zero divisor */
  ddk_dtype mid;   /* trunc/floor: dtype every float intermediate is rounded to */
} binary_params;

/* ATen's div_floor_floating (vectorised form), in float or double; R()
 * rounds each intermediate (float16/bfloat16 tensor-by-tensor division
 * computes in c10::Half/BFloat16 arithmetic, rounding every step). */
#define DEFINE_DIV_FLOOR(NAME, T, FMOD, FLOOR, COPYSIGN, R)        \
  static T NAME(T a, T b, ddk_dtype mid) {                         \
    (void)mid;                                                     \
    const T basic = R(a / b);                                      \
    if (b == 0) return basic;                                      \
    const T mod = R(FMOD(a, b));                                   \
    T div = R(((isinf(basic) && !isinf(a)) ? a : R(a - mod)) / b); \
    if (mod != 0 && (b < 0) != (mod < 0)) div = R(div - (T)1);     \
    if (div == 0) return COPYSIGN((T)0, basic);                    \
    T floordiv = FLOOR(div);                                       \
    if (R(div - floordiv) > (T)0.5) floordiv = R(floordiv + (T)1); \
    return floordiv;                                               \
  }
#define ROUND_MID_F32(v) ddk_ku_round_f32((v), mid)
#define ROUND_MID_NONE(v) (v)
DEFINE_DIV_FLOOR(div_floor_f32, float, fmodf, floorf, copysignf, ROUND_MID_F32)
DEFINE_DIV_FLOOR(div_floor_f64, double, fmod, floor, copysign, ROUND_MID_NONE)

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
    case BIN_DIV_TRUNC:
      for (int64_t i = 0; i < n; ++i) c[i] = truncf(ddk_ku_round_f32(a[i] / b[i], p->mid));
      break;
    case BIN_DIV_FLOOR:
      for (int64_t i = 0; i < n; ++i) c[i] = div_floor_f32(a[i], b[i], p->mid);
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
    case BIN_DIV_TRUNC:
      for (int64_t i = 0; i < n; ++i) c[i] = trunc(a[i] / b[i]);
      break;
    case BIN_DIV_FLOOR:
      for (int64_t i = 0; i < n; ++i) c[i] = div_floor_f64(a[i], b[i], DDK_DTYPE_FLOAT64);
      break;
  }
}

/* Integer trunc / floor division; INT64_MIN / -1 wraps. */
static int64_t div_int(int64_t a, int64_t b, bool floor_mode) {
  if (b == -1) return (int64_t)(0u - (uint64_t)a);
  const int64_t q = a / b;
  if (floor_mode && (a < 0) != (b < 0) && a % b != 0) return q - 1;
  return q;
}

static void binary_i64(binary_params* p, int64_t* c, const int64_t* a, const int64_t* b,
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
    case BIN_DIV_TRUNC:
    case BIN_DIV_FLOOR:
      for (int64_t i = 0; i < n; ++i) {
        if (b[i] == 0) {
          p->zero_div = true;
          c[i] = 0;
        } else {
          c[i] = div_int(a[i], b[i], p->op == BIN_DIV_FLOOR);
        }
      }
      break;
    case BIN_DIV: /* unreachable: true division results are floating */
      break;
  }
}

static void binary_chunk(void* user, ddk_ku_math math, void* out, const void* const* in,
                         int64_t n) {
  binary_params* p = (binary_params*)user;
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

/* Reads div's rounding_mode argument `index` (NONE, "trunc" or "floor"). */
static ddk_status binary_rounding_mode(ddk_kernel_ctx* ctx, const ddk_node_view* node,
                                       uint32_t index, binary_op* op) {
  if (index >= node->num_args)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "missing argument 'rounding_mode'");
  const ddk_arg* a = &node->args[index];
  *op = BIN_DIV;
  if (a->kind == DDK_ARG_NONE) return DDK_OK;
  if (a->kind == DDK_ARG_STRING && a->u.str != NULL && strcmp(a->u.str, "trunc") == 0) {
    *op = BIN_DIV_TRUNC;
    return DDK_OK;
  }
  if (a->kind == DDK_ARG_STRING && a->u.str != NULL && strcmp(a->u.str, "floor") == 0) {
    *op = BIN_DIV_FLOOR;
    return DDK_OK;
  }
  return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT,
                         "div expected rounding_mode to be one of None, 'trunc', or 'floor'");
}

/* out = a <op> b; `b` may be a Scalar's 0-d tensor; alpha (add/sub) is arg 2. */
static ddk_status binary_run(ddk_kernel_ctx* ctx, const ddk_node_view* node, const ddk_tensor* a,
                             const ddk_tensor* b, binary_op op) {
  ddk_tensor* out = ddk_kernel_out(ctx, node, 0);
  uint32_t out_mask = DDK_KU_MASK_REAL;
  if (op == BIN_SUB || op == BIN_DIV_TRUNC || op == BIN_DIV_FLOOR) out_mask &= ~DDK_KU_BIT(BOOL);
  if (op == BIN_DIV) out_mask = DDK_KU_MASK_FLOATS;
  ddk_status st = ddk_ku_check_dtype(ctx, node, "self", a, DDK_KU_MASK_REAL);
  if (st == DDK_OK) st = ddk_ku_check_dtype(ctx, node, "other", b, DDK_KU_MASK_REAL);
  if (st == DDK_OK) st = ddk_ku_check_dtype(ctx, node, "the result", out, out_mask);
  if (st != DDK_OK) return st;
  if (op == BIN_SUB && (a->dtype == DDK_DTYPE_BOOL || b->dtype == DDK_DTYPE_BOOL))
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT,
                           "subtraction with a bool tensor is not supported");

  binary_params p = {op, 1.0, 1, false, false, DDK_DTYPE_FLOAT32};
  if (op == BIN_ADD || op == BIN_SUB) {
    st = binary_alpha(ctx, node, out->dtype, &p);
    if (st != DDK_OK) return st;
  }
  ddk_dtype round_to[2] = {out->dtype, out->dtype};
  /* mul/div keep a broadcast single-element `other` in float (opmath);
   * otherwise trunc/floor round every intermediate to float16/bfloat16 */
  if (op != BIN_ADD && op != BIN_SUB && ddk_bin_is_reduced(out->dtype)) {
    if (ddk_tensor_numel(b) == 1)
      round_to[1] = DDK_DTYPE_FLOAT32;
    else
      p.mid = out->dtype;
  }
  const ddk_tensor* ins[2] = {a, b};
  if (!ddk_bin_map(out, ins, round_to, 2, ddk_ku_math_of(out->dtype), binary_chunk, &p))
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH,
                           "inputs do not broadcast to the output shape");
  if (p.zero_div) return ddk_bin_zero_div(ctx, node);
  return DDK_OK;
}

static ddk_status binary_tensor(ddk_kernel_ctx* ctx, const ddk_node_view* node, binary_op op,
                                uint32_t num_args) {
  if (node->num_args < num_args || node->num_outputs < 1)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong number of arguments");
  if (op == BIN_DIV && num_args == 3) {
    ddk_status st = binary_rounding_mode(ctx, node, 2, &op);
    if (st != DDK_OK) return st;
  }
  return binary_run(ctx, node, ddk_kernel_arg_tensor(ctx, node, 0),
                    ddk_kernel_arg_tensor(ctx, node, 1), op);
}

static ddk_status binary_scalar(ddk_kernel_ctx* ctx, const ddk_node_view* node, binary_op op,
                                uint32_t num_args) {
  if (node->num_args < num_args || node->num_outputs < 1)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong number of arguments");
  if (op == BIN_DIV && num_args == 3) {
    ddk_status st = binary_rounding_mode(ctx, node, 2, &op);
    if (st != DDK_OK) return st;
  }
  ddk_bin_scalar other;
  ddk_status st = ddk_bin_scalar_init(ctx, node, 1, "other", &other);
  if (st != DDK_OK) return st;
  return binary_run(ctx, node, ddk_kernel_arg_tensor(ctx, node, 0), &other.t, op);
}

ddk_status ddk_kernel_aten_add_tensor(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return binary_tensor(ctx, node, BIN_ADD, 3);
}

ddk_status ddk_kernel_aten_sub_tensor(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return binary_tensor(ctx, node, BIN_SUB, 3);
}

ddk_status ddk_kernel_aten_mul_tensor(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return binary_tensor(ctx, node, BIN_MUL, 2);
}

ddk_status ddk_kernel_aten_div_tensor(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return binary_tensor(ctx, node, BIN_DIV, 2);
}

ddk_status ddk_kernel_aten_div_tensor_mode(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return binary_tensor(ctx, node, BIN_DIV, 3);
}

ddk_status ddk_kernel_aten_add_scalar(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return binary_scalar(ctx, node, BIN_ADD, 3);
}

ddk_status ddk_kernel_aten_sub_scalar(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return binary_scalar(ctx, node, BIN_SUB, 3);
}

ddk_status ddk_kernel_aten_mul_scalar(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return binary_scalar(ctx, node, BIN_MUL, 2);
}

ddk_status ddk_kernel_aten_div_scalar(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return binary_scalar(ctx, node, BIN_DIV, 2);
}

ddk_status ddk_kernel_aten_div_scalar_mode(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return binary_scalar(ctx, node, BIN_DIV, 3);
}
