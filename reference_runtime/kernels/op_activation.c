/*
 * op_activation.c — aten::relu, aten::hardtanh, aten::clamp, aten::sigmoid,
 * aten::tanh, aten::elu, aten::gelu, aten::leaky_relu.
 *
 * Semantics (ATen CPU):
 *  - relu(x) = x < 0 ? 0 : x: NaN propagates, relu(-0.0) is -0.0 (ATen's
 *    clamp_min keeps x when x == 0);
 *  - hardtanh(x, min, max) and clamp(x, min, max) = min(max(x, min), max),
 *    keeping x when it equals a limit (so the sign of zero is x's): NaN in x
 *    propagates; a NaN limit makes every output NaN; min > max gives max.
 *    clamp's min and max are each optional (None: no limit) and its result
 *    dtype is result_type(self, min, max) (a float limit on an integer
 *    tensor computes in float32; self is converted first). For integer
 *    results the limits are truncated to int64 and compared in int64; a
 *    min above the dtype's range or a max below it is refused (ATen's
 *    "outside the representable range"); a limit beyond the other end is
 *    harmless. Float limits beyond the result dtype's finite range are
 *    refused like c10's checked conversion; float16/bfloat16 limits are
 *    rounded to the dtype;
 *  - sigmoid(x) = 1 / (1 + exp(-x)), tanh(x) = tanh(x); integer and bool
 *    inputs give float32 (the output dtype from shape inference);
 *  - elu(x, alpha, scale, input_scale) = x > 0 ? x * scale
 *    : expm1(x * input_scale) * (alpha * scale), coefficients in the
 *    computation type (float for float16/bfloat16/float32, double for
 *    float64), as ATen's vectorised kernel;
 *  - gelu(x, approximate='none') = x * 0.5 * (1 + erf(x / sqrt(2))), so
 *    gelu(inf) = inf and gelu(-inf) = NaN (0 * inf). ATen's float kernel
 *    gives NaN for +inf in its vectorised lanes and inf in its scalar
 *    tail; this kernel always gives inf (documented deviation);
 *    'tanh': 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3)));
 *  - leaky_relu(x, slope) = x > 0 ? x : x * slope, slope in the
 *    computation type (not rounded to float16/bfloat16, as in ATen).
 * float16/bfloat16 compute in float and round once; float64 in double.
 *
 * Dtypes: relu, hardtanh: integers and floats (bool refused as in ATen).
 * clamp: any real self, result not bool. sigmoid, tanh: any real input,
 * floating output. elu, gelu, leaky_relu: floating only.
 * Inputs may have any strides; the output is written through its strides.
 */
#include <string.h>

#include "kernel_util.h"

/* 1/sqrt(2) and sqrt(2/pi) (M_SQRT1_2 and M_SQRT2 * M_2_SQRTPI / 2). */
#define ACT_SQRT1_2 0.70710678118654752440
#define ACT_SQRT_2_PI 0.79788456080286535588

typedef enum act_op {
  ACT_RELU,
  ACT_CLAMP, /* hardtanh and clamp */
  ACT_SIGMOID,
  ACT_TANH,
  ACT_ELU,
  ACT_GELU,
  ACT_GELU_TANH,
  ACT_LEAKY_RELU,
} act_op;

typedef struct act_params {
  act_op op;
  double lo_f, hi_f;  /* clamp limits, float results (+-inf: none) */
  int64_t lo_i, hi_i; /* clamp limits, integer results */
  bool nan_limit;     /* a clamp limit is NaN: every output is NaN */
  double c0, c1, c2;  /* elu: alpha * scale, scale, input_scale; leaky_relu: slope */
} act_params;

static void act_f32(const act_params* p, float* y, const float* x, int64_t n) {
  switch (p->op) {
    case ACT_RELU:
      for (int64_t i = 0; i < n; ++i) y[i] = x[i] < 0.0f ? 0.0f : x[i];
      break;
    case ACT_CLAMP: {
      const float lo = (float)p->lo_f, hi = (float)p->hi_f;
      if (p->nan_limit) {
        for (int64_t i = 0; i < n; ++i) y[i] = NAN;
        break;
      }
      for (int64_t i = 0; i < n; ++i) {
        float v = x[i] < lo ? lo : x[i];
        y[i] = v > hi ? hi : v;
      }
      break;
    }
    case ACT_SIGMOID:
      for (int64_t i = 0; i < n; ++i) y[i] = 1.0f / (1.0f + expf(-x[i]));
      break;
    case ACT_TANH:
      for (int64_t i = 0; i < n; ++i) y[i] = tanhf(x[i]);
      break;
    case ACT_ELU: {
      const float neg = (float)p->c0, pos = (float)p->c1, in = (float)p->c2;
      for (int64_t i = 0; i < n; ++i) y[i] = x[i] > 0.0f ? x[i] * pos : expm1f(x[i] * in) * neg;
      break;
    }
    case ACT_GELU: {
      const float alpha = (float)ACT_SQRT1_2;
      for (int64_t i = 0; i < n; ++i) y[i] = x[i] * 0.5f * (1.0f + erff(x[i] * alpha));
      break;
    }
    case ACT_GELU_TANH: {
      const float beta = (float)ACT_SQRT_2_PI, kappa = 0.044715f;
      for (int64_t i = 0; i < n; ++i) {
        const float cube = x[i] * x[i] * x[i];
        y[i] = 0.5f * x[i] * (1.0f + tanhf(beta * (x[i] + kappa * cube)));
      }
      break;
    }
    case ACT_LEAKY_RELU: {
      const float slope = (float)p->c0;
      for (int64_t i = 0; i < n; ++i) y[i] = x[i] > 0.0f ? x[i] : x[i] * slope;
      break;
    }
  }
}

static void act_f64(const act_params* p, double* y, const double* x, int64_t n) {
  switch (p->op) {
    case ACT_RELU:
      for (int64_t i = 0; i < n; ++i) y[i] = x[i] < 0.0 ? 0.0 : x[i];
      break;
    case ACT_CLAMP: {
      const double lo = p->lo_f, hi = p->hi_f;
      if (p->nan_limit) {
        for (int64_t i = 0; i < n; ++i) y[i] = NAN;
        break;
      }
      for (int64_t i = 0; i < n; ++i) {
        double v = x[i] < lo ? lo : x[i];
        y[i] = v > hi ? hi : v;
      }
      break;
    }
    case ACT_SIGMOID:
      for (int64_t i = 0; i < n; ++i) y[i] = 1.0 / (1.0 + exp(-x[i]));
      break;
    case ACT_TANH:
      for (int64_t i = 0; i < n; ++i) y[i] = tanh(x[i]);
      break;
    case ACT_ELU:
      for (int64_t i = 0; i < n; ++i)
        y[i] = x[i] > 0.0 ? x[i] * p->c1 : expm1(x[i] * p->c2) * p->c0;
      break;
    case ACT_GELU:
      for (int64_t i = 0; i < n; ++i) y[i] = x[i] * 0.5 * (1.0 + erf(x[i] * ACT_SQRT1_2));
      break;
    case ACT_GELU_TANH: {
      const double beta = ACT_SQRT_2_PI, kappa = 0.044715;
      for (int64_t i = 0; i < n; ++i) {
        const double cube = x[i] * x[i] * x[i];
        y[i] = 0.5 * x[i] * (1.0 + tanh(beta * (x[i] + kappa * cube)));
      }
      break;
    }
    case ACT_LEAKY_RELU:
      for (int64_t i = 0; i < n; ++i) y[i] = x[i] > 0.0 ? x[i] : x[i] * p->c0;
      break;
  }
}

static void act_i64(const act_params* p, int64_t* y, const int64_t* x, int64_t n) {
  switch (p->op) {
    case ACT_RELU:
      for (int64_t i = 0; i < n; ++i) y[i] = x[i] < 0 ? 0 : x[i];
      break;
    case ACT_CLAMP:
      for (int64_t i = 0; i < n; ++i) {
        int64_t v = x[i] < p->lo_i ? p->lo_i : x[i];
        y[i] = v > p->hi_i ? p->hi_i : v;
      }
      break;
    default: /* unreachable: the other ops produce floating outputs */
      break;
  }
}

static void act_chunk(void* user, ddk_ku_math math, void* out, const void* const* in, int64_t n) {
  const act_params* p = (const act_params*)user;
  switch (math) {
    case DDK_KU_MATH_F32:
      act_f32(p, (float*)out, (const float*)in[0], n);
      break;
    case DDK_KU_MATH_F64:
      act_f64(p, (double*)out, (const double*)in[0], n);
      break;
    case DDK_KU_MATH_I64:
      act_i64(p, (int64_t*)out, (const int64_t*)in[0], n);
      break;
    case DDK_KU_MATH_NONE:
      break;
  }
}

/* Smallest / largest value of an integer dtype. */
static void int_range(ddk_dtype dt, int64_t* lo, int64_t* hi) {
  switch (dt) {
    case DDK_DTYPE_UINT8:
      *lo = 0;
      *hi = UINT8_MAX;
      break;
    case DDK_DTYPE_INT8:
      *lo = INT8_MIN;
      *hi = INT8_MAX;
      break;
    case DDK_DTYPE_INT16:
      *lo = INT16_MIN;
      *hi = INT16_MAX;
      break;
    case DDK_DTYPE_INT32:
      *lo = INT32_MIN;
      *hi = INT32_MAX;
      break;
    default:
      *lo = INT64_MIN;
      *hi = INT64_MAX;
      break;
  }
}

/* Reads optional Scalar limit `index` ("min" / "max") of clamp/hardtanh
 * for result dtype `dt` into p; NONE leaves the no-limit default. */
static ddk_status clamp_limit(ddk_kernel_ctx* ctx, const ddk_node_view* node, ddk_dtype dt,
                              uint32_t index, bool is_max, act_params* p) {
  const char* name = is_max ? "max" : "min";
  if (node->args[index].kind == DDK_ARG_NONE) return DDK_OK;
  ddk_ku_scalar s;
  ddk_status st = ddk_ku_arg_scalar(ctx, node, index, name, &s);
  if (st != DDK_OK) return st;
  if (ddk_ku_math_of(dt) == DDK_KU_MATH_I64) {
    int64_t v = 0, tmin = 0, tmax = 0;
    if (!ddk_ku_scalar_to_i64(&s, DDK_DTYPE_INT64, &v))
      return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT,
                             "%s value cannot be converted to int64 without overflow", name);
    int_range(dt, &tmin, &tmax);
    if (is_max ? v < tmin : v > tmax)
      return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT,
                             "clamp %s value %lld is outside the representable range of %s", name,
                             (long long)v, ddk_dtype_name(dt));
    *(is_max ? &p->hi_i : &p->lo_i) = v;
    return DDK_OK;
  }
  double v = 0.0;
  if (!ddk_ku_scalar_to_float(&s, dt, &v))
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT,
                           "%s value cannot be converted to %s without overflow", name,
                           ddk_dtype_name(dt));
  if (v != v) p->nan_limit = true;
  if (dt != DDK_DTYPE_FLOAT64) v = ddk_ku_round_f32((float)v, dt);
  *(is_max ? &p->hi_f : &p->lo_f) = v;
  return DDK_OK;
}

/* Scalar argument `index` in the computation type of floating dtype `dt`. */
static ddk_status float_coef(ddk_kernel_ctx* ctx, const ddk_node_view* node, ddk_dtype dt,
                             uint32_t index, const char* name, double* out) {
  ddk_ku_scalar s;
  ddk_status st = ddk_ku_arg_scalar(ctx, node, index, name, &s);
  if (st != DDK_OK) return st;
  const ddk_dtype opmath = dt == DDK_DTYPE_FLOAT64 ? DDK_DTYPE_FLOAT64 : DDK_DTYPE_FLOAT32;
  if (!ddk_ku_scalar_to_float(&s, opmath, out))
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT,
                           "%s cannot be converted to %s without overflow", name,
                           ddk_dtype_name(opmath));
  if (opmath == DDK_DTYPE_FLOAT32) *out = (float)*out;
  return DDK_OK;
}

/* The op's arguments after self, for result dtype `dt`. */
static ddk_status act_params_read(ddk_kernel_ctx* ctx, const ddk_node_view* node, ddk_dtype dt,
                                  act_params* p) {
  ddk_status st = DDK_OK;
  switch (p->op) {
    case ACT_CLAMP:
      p->lo_f = -INFINITY;
      p->hi_f = INFINITY;
      p->lo_i = INT64_MIN;
      p->hi_i = INT64_MAX;
      st = clamp_limit(ctx, node, dt, 1, false, p);
      if (st == DDK_OK) st = clamp_limit(ctx, node, dt, 2, true, p);
      return st;
    case ACT_ELU: {
      double alpha = 1.0;
      st = float_coef(ctx, node, dt, 1, "alpha", &alpha);
      if (st == DDK_OK) st = float_coef(ctx, node, dt, 2, "scale", &p->c1);
      if (st == DDK_OK) st = float_coef(ctx, node, dt, 3, "input_scale", &p->c2);
      p->c0 = dt == DDK_DTYPE_FLOAT64 ? alpha * p->c1 : (double)((float)alpha * (float)p->c1);
      return st;
    }
    case ACT_GELU: {
      const ddk_arg* a = &node->args[1];
      if (a->kind != DDK_ARG_STRING || a->u.str == NULL ||
          (strcmp(a->u.str, "none") != 0 && strcmp(a->u.str, "tanh") != 0))
        return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT,
                               "approximate argument must be either none or tanh");
      if (strcmp(a->u.str, "tanh") == 0) p->op = ACT_GELU_TANH;
      return DDK_OK;
    }
    case ACT_LEAKY_RELU:
      return float_coef(ctx, node, dt, 1, "negative_slope", &p->c0);
    default:
      return DDK_OK;
  }
}

/* in_mask: self's dtypes; out_mask: the result's. Unless self may be any
 * real dtype (the result dtype then comes from promotion), the result has
 * self's dtype. */
static ddk_status act_kernel(ddk_kernel_ctx* ctx, const ddk_node_view* node, act_op op,
                             uint32_t num_args, uint32_t in_mask, uint32_t out_mask) {
  if (node->num_args < num_args || node->num_outputs < 1)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong number of arguments");
  const ddk_tensor* x = ddk_kernel_arg_tensor(ctx, node, 0);
  ddk_tensor* y = ddk_kernel_out(ctx, node, 0);
  ddk_status st = ddk_ku_check_dtype(ctx, node, "self", x, in_mask);
  if (st == DDK_OK) st = ddk_ku_check_dtype(ctx, node, "the result", y, out_mask);
  if (st != DDK_OK) return st;
  if (in_mask != DDK_KU_MASK_REAL && y->dtype != x->dtype)
    return ddk_kernel_fail(ctx, node, DDK_DTYPE_MISMATCH, "result dtype %s differs from self's %s",
                           ddk_dtype_name(y->dtype), ddk_dtype_name(x->dtype));
  act_params p;
  memset(&p, 0, sizeof p);
  p.op = op;
  st = act_params_read(ctx, node, y->dtype, &p);
  if (st != DDK_OK) return st;
  if (ddk_tensor_numel(x) != ddk_tensor_numel(y) || !ddk_ku_map(y, &x, 1, act_chunk, &p))
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "output shape differs from self's");
  return DDK_OK;
}

#define ACT_NUMERIC (DDK_KU_MASK_INTS | DDK_KU_MASK_FLOATS)

ddk_status ddk_kernel_aten_relu(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return act_kernel(ctx, node, ACT_RELU, 1, ACT_NUMERIC, ACT_NUMERIC);
}

ddk_status ddk_kernel_aten_hardtanh(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return act_kernel(ctx, node, ACT_CLAMP, 3, ACT_NUMERIC, ACT_NUMERIC);
}

ddk_status ddk_kernel_aten_clamp(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return act_kernel(ctx, node, ACT_CLAMP, 3, DDK_KU_MASK_REAL, ACT_NUMERIC);
}

ddk_status ddk_kernel_aten_sigmoid(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return act_kernel(ctx, node, ACT_SIGMOID, 1, DDK_KU_MASK_REAL, DDK_KU_MASK_FLOATS);
}

ddk_status ddk_kernel_aten_tanh(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return act_kernel(ctx, node, ACT_TANH, 1, DDK_KU_MASK_REAL, DDK_KU_MASK_FLOATS);
}

ddk_status ddk_kernel_aten_elu(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return act_kernel(ctx, node, ACT_ELU, 4, DDK_KU_MASK_FLOATS, DDK_KU_MASK_FLOATS);
}

ddk_status ddk_kernel_aten_gelu(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return act_kernel(ctx, node, ACT_GELU, 2, DDK_KU_MASK_FLOATS, DDK_KU_MASK_FLOATS);
}

ddk_status ddk_kernel_aten_leaky_relu(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return act_kernel(ctx, node, ACT_LEAKY_RELU, 2, DDK_KU_MASK_FLOATS, DDK_KU_MASK_FLOATS);
}
