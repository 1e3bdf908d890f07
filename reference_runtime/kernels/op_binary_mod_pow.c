/*
 * op_binary_mod_pow.c — aten::fmod.{Scalar,Tensor},
 * aten::remainder.{Scalar,Tensor}, aten::pow.{Tensor_Tensor,Tensor_Scalar,
 * Scalar}.
 *
 * Semantics (ATen CPU), computed in the result dtype chosen by inference
 * (float16/bfloat16 in float, rounded once):
 *  - fmod: C remainder, sign of the dividend (fmod(a, b); integers a % b);
 *    remainder: Python remainder, sign of the divisor (fmod, then + b when
 *    the signs differ). A Scalar divisor is cast to the result dtype first.
 *    Integer modulo by zero is refused (ATen: ZeroDivisionError); a % -1
 *    is 0 (no INT64_MIN overflow). Bool results are refused.
 *  - pow: integers by square-and-multiply, wrapping; a negative integer
 *    exponent gives 1 for base 1, +-1 for base -1, else 0 (Tensor_Tensor
 *    and Scalar); pow.Tensor_Scalar refuses an integral tensor with a
 *    negative integral exponent, refuses an exponent outside the range of
 *    the result dtype (c10::Scalar::to), fills 1 for exponent 0 (even for
 *    NaN bases) and copies self for exponent 1. Like ATen it special-cases
 *    the exponents 0.5 (sqrt), -0.5 (1/sqrt), -1 (1/x) for float32,
 *    float64 and bfloat16 and 2 (x*x), 3 (x*x*x), -2 (1/(x*x)) for float32,
 *    float64 and bfloat16 (bfloat16 rounding the intermediate x*x);
 *    float16 uses pow with the exponent rounded to float16. pow.Scalar
 *    with base 1 fills 1. Floats use the C library pow (ATen uses SLEEF
 *    pow within 1 ULP).
 */
#include "op_binary_util.h"

/* ------------------------------------------------------------------------ */
/* fmod, remainder                                                          */
/* ------------------------------------------------------------------------ */

typedef struct mod_params {
  bool python; /* remainder (sign of the divisor) instead of fmod */
  bool zero_div;
} mod_params;

static void mod_chunk(void* user, ddk_ku_math math, void* out, const void* const* in, int64_t n) {
  mod_params* p = (mod_params*)user;
  if (math == DDK_KU_MATH_F32) {
    float* c = (float*)out;
    const float *a = (const float*)in[0], *b = (const float*)in[1];
    for (int64_t i = 0; i < n; ++i) {
      float m = fmodf(a[i], b[i]);
      if (p->python && m != 0 && (b[i] < 0) != (m < 0)) m += b[i];
      c[i] = m;
    }
  } else if (math == DDK_KU_MATH_F64) {
    double* c = (double*)out;
    const double *a = (const double*)in[0], *b = (const double*)in[1];
    for (int64_t i = 0; i < n; ++i) {
      double m = fmod(a[i], b[i]);
      if (p->python && m != 0 && (b[i] < 0) != (m < 0)) m += b[i];
      c[i] = m;
    }
  } else if (math == DDK_KU_MATH_I64) {
    int64_t* c = (int64_t*)out;
    const int64_t *a = (const int64_t*)in[0], *b = (const int64_t*)in[1];
    for (int64_t i = 0; i < n; ++i) {
      if (b[i] == 0) {
        p->zero_div = true;
        c[i] = 0;
        continue;
      }
      int64_t r = b[i] == -1 ? 0 : a[i] % b[i];
      if (p->python && r != 0 && (r < 0) != (b[i] < 0)) r += b[i];
      c[i] = r;
    }
  }
}

static ddk_status mod_run(ddk_kernel_ctx* ctx, const ddk_node_view* node, const ddk_tensor* a,
                          const ddk_tensor* b, bool python) {
  ddk_tensor* out = ddk_kernel_out(ctx, node, 0);
  ddk_status st = ddk_ku_check_dtype(ctx, node, "self", a, DDK_KU_MASK_REAL);
  if (st == DDK_OK) st = ddk_ku_check_dtype(ctx, node, "other", b, DDK_KU_MASK_REAL);
  if (st == DDK_OK)
    st = ddk_ku_check_dtype(ctx, node, "the result", out, DDK_KU_MASK_INTS | DDK_KU_MASK_FLOATS);
  if (st != DDK_OK) return st;
  mod_params p = {python, false};
  const ddk_dtype round_to[2] = {out->dtype, out->dtype};
  const ddk_tensor* ins[2] = {a, b};
  if (!ddk_bin_map(out, ins, round_to, 2, ddk_ku_math_of(out->dtype), mod_chunk, &p))
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH,
                           "inputs do not broadcast to the output shape");
  if (p.zero_div) return ddk_bin_zero_div(ctx, node);
  return DDK_OK;
}

static ddk_status mod_kernel(ddk_kernel_ctx* ctx, const ddk_node_view* node, bool scalar,
                             bool python) {
  if (node->num_args < 2 || node->num_outputs < 1)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong number of arguments");
  const ddk_tensor* a = ddk_kernel_arg_tensor(ctx, node, 0);
  if (!scalar) return mod_run(ctx, node, a, ddk_kernel_arg_tensor(ctx, node, 1), python);
  ddk_bin_scalar other;
  ddk_status st = ddk_bin_scalar_init(ctx, node, 1, "other", &other);
  if (st != DDK_OK) return st;
  return mod_run(ctx, node, a, &other.t, python);
}

ddk_status ddk_kernel_aten_fmod_scalar(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return mod_kernel(ctx, node, true, false);
}
ddk_status ddk_kernel_aten_fmod_tensor(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return mod_kernel(ctx, node, false, false);
}
ddk_status ddk_kernel_aten_remainder_scalar(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return mod_kernel(ctx, node, true, true);
}
ddk_status ddk_kernel_aten_remainder_tensor(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return mod_kernel(ctx, node, false, true);
}

/* ------------------------------------------------------------------------ */
/* pow                                                                      */
/* ------------------------------------------------------------------------ */

typedef enum pow_mode {
  POW_TENSOR, /* exponent from in[1] */
  POW_FILL_ONE,
  POW_COPY,
  POW_GENERAL, /* pow(x, e) */
  POW_SQRT,
  POW_RSQRT,
  POW_RECIP,
  POW_SQUARE,
  POW_CUBE,
  POW_RSQUARE,
} pow_mode;

typedef struct pow_params {
  pow_mode mode;
  double e;     /* float exponent (already in the dtype ATen uses) */
  int64_t ei;   /* integer exponent */
  ddk_dtype dt; /* result dtype */
} pow_params;

/* ATen's powi: integer power, wrapping; negative exponents per ATen. */
static int64_t pow_int(int64_t a, int64_t b) {
  if (b < 0) {
    if (a == 1) return 1;
    if (a == -1) return (b & 1) ? -1 : 1;
    return 0;
  }
  uint64_t r = 1, x = (uint64_t)a;
  while (b) {
    if (b & 1) r *= x;
    b /= 2;
    x *= x;
  }
  return (int64_t)r;
}

static void pow_f32(const pow_params* p, float* c, const float* a, const float* b, int64_t n) {
  const float e = (float)p->e;
  /* bfloat16 rounds the intermediate x*x (c10::BFloat16 arithmetic) */
  const ddk_dtype mid = p->dt == DDK_DTYPE_BFLOAT16 ? DDK_DTYPE_BFLOAT16 : DDK_DTYPE_FLOAT32;
  switch (p->mode) {
    case POW_TENSOR:
      for (int64_t i = 0; i < n; ++i) c[i] = powf(a[i], b[i]);
      break;
    case POW_FILL_ONE:
      for (int64_t i = 0; i < n; ++i) c[i] = 1.0f;
      break;
    case POW_COPY:
      for (int64_t i = 0; i < n; ++i) c[i] = a[i];
      break;
    case POW_GENERAL:
      for (int64_t i = 0; i < n; ++i) c[i] = powf(a[i], e);
      break;
    case POW_SQRT:
      for (int64_t i = 0; i < n; ++i) c[i] = sqrtf(a[i]);
      break;
    case POW_RSQRT:
      for (int64_t i = 0; i < n; ++i) c[i] = 1.0f / sqrtf(a[i]);
      break;
    case POW_RECIP:
      for (int64_t i = 0; i < n; ++i) c[i] = 1.0f / a[i];
      break;
    case POW_SQUARE:
      for (int64_t i = 0; i < n; ++i) c[i] = a[i] * a[i];
      break;
    case POW_CUBE:
      for (int64_t i = 0; i < n; ++i) c[i] = ddk_ku_round_f32(a[i] * a[i], mid) * a[i];
      break;
    case POW_RSQUARE:
      for (int64_t i = 0; i < n; ++i) c[i] = 1.0f / ddk_ku_round_f32(a[i] * a[i], mid);
      break;
  }
}

static void pow_f64(const pow_params* p, double* c, const double* a, const double* b, int64_t n) {
  switch (p->mode) {
    case POW_TENSOR:
      for (int64_t i = 0; i < n; ++i) c[i] = pow(a[i], b[i]);
      break;
    case POW_FILL_ONE:
      for (int64_t i = 0; i < n; ++i) c[i] = 1.0;
      break;
    case POW_COPY:
      for (int64_t i = 0; i < n; ++i) c[i] = a[i];
      break;
    case POW_GENERAL:
      for (int64_t i = 0; i < n; ++i) c[i] = pow(a[i], p->e);
      break;
    case POW_SQRT:
      for (int64_t i = 0; i < n; ++i) c[i] = sqrt(a[i]);
      break;
    case POW_RSQRT:
      for (int64_t i = 0; i < n; ++i) c[i] = 1.0 / sqrt(a[i]);
      break;
    case POW_RECIP:
      for (int64_t i = 0; i < n; ++i) c[i] = 1.0 / a[i];
      break;
    case POW_SQUARE:
      for (int64_t i = 0; i < n; ++i) c[i] = a[i] * a[i];
      break;
    case POW_CUBE:
      for (int64_t i = 0; i < n; ++i) c[i] = a[i] * a[i] * a[i];
      break;
    case POW_RSQUARE:
      for (int64_t i = 0; i < n; ++i) c[i] = 1.0 / (a[i] * a[i]);
      break;
  }
}

static void pow_chunk(void* user, ddk_ku_math math, void* out, const void* const* in, int64_t n) {
  const pow_params* p = (const pow_params*)user;
  if (math == DDK_KU_MATH_F32) {
    pow_f32(p, (float*)out, (const float*)in[0], (const float*)in[1], n);
  } else if (math == DDK_KU_MATH_F64) {
    pow_f64(p, (double*)out, (const double*)in[0], (const double*)in[1], n);
  } else if (math == DDK_KU_MATH_I64) {
    int64_t* c = (int64_t*)out;
    const int64_t *a = (const int64_t*)in[0], *b = (const int64_t*)in[1];
    for (int64_t i = 0; i < n; ++i) {
      switch (p->mode) {
        case POW_TENSOR:
          c[i] = pow_int(a[i], b[i]);
          break;
        case POW_FILL_ONE:
          c[i] = 1;
          break;
        case POW_COPY:
          c[i] = a[i];
          break;
        default:
          c[i] = pow_int(a[i], p->ei);
          break;
      }
    }
  }
}

/* Runs pow over `base` (and `exp` for POW_TENSOR; else a copy of base). */
static ddk_status pow_run(ddk_kernel_ctx* ctx, const ddk_node_view* node, const ddk_tensor* base,
                          const ddk_tensor* exp, pow_params* p) {
  ddk_tensor* out = ddk_kernel_out(ctx, node, 0);
  p->dt = out->dtype;
  const ddk_dtype round_to[2] = {out->dtype, out->dtype};
  const ddk_tensor* ins[2] = {base, exp};
  if (!ddk_bin_map(out, ins, round_to, exp == base ? 1 : 2, ddk_ku_math_of(out->dtype), pow_chunk,
                   p))
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH,
                           "inputs do not broadcast to the output shape");
  return DDK_OK;
}

static ddk_status pow_check(ddk_kernel_ctx* ctx, const ddk_node_view* node, const ddk_tensor* t,
                            const char* what) {
  ddk_status st = ddk_ku_check_dtype(ctx, node, what, t, DDK_KU_MASK_REAL);
  if (st != DDK_OK) return st;
  return ddk_ku_check_dtype(ctx, node, "the result", ddk_kernel_out(ctx, node, 0),
                            DDK_KU_MASK_INTS | DDK_KU_MASK_FLOATS);
}

ddk_status ddk_kernel_aten_pow_tensor_tensor(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  if (node->num_args < 2 || node->num_outputs < 1)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong number of arguments");
  const ddk_tensor* a = ddk_kernel_arg_tensor(ctx, node, 0);
  const ddk_tensor* b = ddk_kernel_arg_tensor(ctx, node, 1);
  ddk_status st = pow_check(ctx, node, a, "self");
  if (st == DDK_OK) st = ddk_ku_check_dtype(ctx, node, "exponent", b, DDK_KU_MASK_REAL);
  if (st != DDK_OK) return st;
  pow_params p = {POW_TENSOR, 0.0, 0, DDK_DTYPE_INVALID};
  return pow_run(ctx, node, a, b, &p);
}

ddk_status ddk_kernel_aten_pow_scalar(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  if (node->num_args < 2 || node->num_outputs < 1)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong number of arguments");
  ddk_bin_scalar base;
  ddk_status st = ddk_bin_scalar_init(ctx, node, 0, "self", &base);
  if (st != DDK_OK) return st;
  const ddk_tensor* e = ddk_kernel_arg_tensor(ctx, node, 1);
  st = pow_check(ctx, node, e, "exponent");
  if (st != DDK_OK) return st;
  pow_params p = {POW_TENSOR, 0.0, 0, DDK_DTYPE_INVALID};
  if (ddk_ku_scalar_f64(&base.s) == 1.0) p.mode = POW_FILL_ONE; /* ATen: base 1 fills 1 */
  return pow_run(ctx, node, &base.t, e, &p);
}

ddk_status ddk_kernel_aten_pow_tensor_scalar(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  if (node->num_args < 2 || node->num_outputs < 1)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong number of arguments");
  const ddk_tensor* a = ddk_kernel_arg_tensor(ctx, node, 0);
  ddk_tensor* out = ddk_kernel_out(ctx, node, 0);
  ddk_ku_scalar e;
  ddk_status st = ddk_ku_arg_scalar(ctx, node, 1, "exponent", &e);
  if (st == DDK_OK) st = ddk_ku_check_dtype(ctx, node, "self", a, DDK_KU_MASK_REAL);
  if (st == DDK_OK) st = ddk_ku_check_dtype(ctx, node, "the result", out, DDK_KU_MASK_REAL);
  if (st != DDK_OK) return st;
  const bool int_self = ddk_ku_math_of(a->dtype) == DDK_KU_MATH_I64;
  if (int_self && !e.is_float && e.i < 0)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT,
                           "Integers to negative integer powers are not allowed.");
  const double ev = ddk_ku_scalar_f64(&e);
  pow_params p = {POW_GENERAL, ev, 0, out->dtype};
  if (ev == 0.0) {
    p.mode = POW_FILL_ONE;
  } else if (ev == 1.0) {
    p.mode = POW_COPY;
  } else if (out->dtype == DDK_DTYPE_BOOL) {
    return ddk_kernel_fail(ctx, node, DDK_UNSUPPORTED_DTYPE, "\"pow\" not implemented for 'Bool'");
  } else if (ddk_ku_math_of(out->dtype) == DDK_KU_MATH_I64) {
    if (!ddk_ku_scalar_to_i64(&e, out->dtype, &p.ei))
      return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT,
                             "exponent cannot be converted to %s without overflow",
                             ddk_dtype_name(out->dtype));
    p.ei = ddk_ku_round_i64(p.ei, out->dtype);
  } else {
    const bool special = out->dtype != DDK_DTYPE_FLOAT16;
    if (special && ev == 0.5) {
      p.mode = POW_SQRT;
    } else if (special && ev == -0.5) {
      p.mode = POW_RSQRT;
    } else if (special && ev == -1.0) {
      p.mode = POW_RECIP;
    } else {
      if (!ddk_ku_scalar_to_float(&e, out->dtype, &p.e))
        return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT,
                               "exponent %g cannot be converted to %s without overflow", ev,
                               ddk_dtype_name(out->dtype));
      if (ddk_bin_is_reduced(out->dtype)) p.e = ddk_ku_round_f32((float)p.e, out->dtype);
      if (special && p.e == 2.0) p.mode = POW_SQUARE;
      if (special && p.e == 3.0) p.mode = POW_CUBE;
      if (special && p.e == -2.0) p.mode = POW_RSQUARE;
    }
  }
  return pow_run(ctx, node, a, a, &p);
}
