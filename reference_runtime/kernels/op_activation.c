/*
 * op_activation.c — aten::relu, aten::hardtanh, aten::sigmoid, aten::tanh.
 *
 * Semantics (ATen CPU):
 *  - relu(x) = x < 0 ? 0 : x: NaN propagates, relu(-0.0) is -0.0 (ATen's
 *    clamp_min keeps x when x == 0);
 *  - hardtanh(x, min, max) = min(max(x, min), max) (ATen's clamp): NaN in x
 *    propagates; a NaN limit makes every output NaN; min > max gives max.
 *    For integer tensors the limits are truncated to int64 and compared in
 *    int64, a min above the dtype's range or a max below it is refused (as
 *    ATen's clamp does); float limits beyond the dtype's finite range are
 *    refused like c10's checked conversion;
 *  - sigmoid(x) = 1 / (1 + exp(-x)), tanh(x) = tanh(x), in float for
 *    float16/bfloat16/float32 (rounded once), in double for float64; integer
 *    and bool inputs give float32 (the output dtype from shape inference).
 *
 * Dtypes: relu, hardtanh: uint8, int8, int16, int32, int64, float16,
 * bfloat16, float32, float64 (bool refused as in ATen). sigmoid, tanh: any
 * real input, float16/bfloat16/float32/float64 output.
 * Inputs may have any strides; the output is written through its strides.
 */
#include "kernel_util.h"

typedef enum act_op { ACT_RELU, ACT_HARDTANH, ACT_SIGMOID, ACT_TANH } act_op;

typedef struct act_params {
  act_op op;
  double lo_f, hi_f;  /* hardtanh limits, float tensors */
  int64_t lo_i, hi_i; /* hardtanh limits, integer tensors */
} act_params;

static void act_f32(const act_params* p, float* y, const float* x, int64_t n) {
  switch (p->op) {
    case ACT_RELU:
      for (int64_t i = 0; i < n; ++i) y[i] = x[i] < 0.0f ? 0.0f : x[i];
      break;
    case ACT_HARDTANH: {
      const float lo = (float)p->lo_f, hi = (float)p->hi_f;
      if (lo != lo || hi != hi) {
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
  }
}

static void act_f64(const act_params* p, double* y, const double* x, int64_t n) {
  switch (p->op) {
    case ACT_RELU:
      for (int64_t i = 0; i < n; ++i) y[i] = x[i] < 0.0 ? 0.0 : x[i];
      break;
    case ACT_HARDTANH: {
      const double lo = p->lo_f, hi = p->hi_f;
      if (lo != lo || hi != hi) {
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
  }
}

static void act_i64(const act_params* p, int64_t* y, const int64_t* x, int64_t n) {
  switch (p->op) {
    case ACT_RELU:
      for (int64_t i = 0; i < n; ++i) y[i] = x[i] < 0 ? 0 : x[i];
      break;
    case ACT_HARDTANH:
      for (int64_t i = 0; i < n; ++i) {
        int64_t v = x[i] < p->lo_i ? p->lo_i : x[i];
        y[i] = v > p->hi_i ? p->hi_i : v;
      }
      break;
    case ACT_SIGMOID:
    case ACT_TANH: /* unreachable: these produce floating outputs */
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

static ddk_status hardtanh_limits(ddk_kernel_ctx* ctx, const ddk_node_view* node, ddk_dtype dt,
                                  act_params* p) {
  ddk_ku_scalar lo, hi;
  ddk_status st = ddk_ku_arg_scalar(ctx, node, 1, "min_val", &lo);
  if (st == DDK_OK) st = ddk_ku_arg_scalar(ctx, node, 2, "max_val", &hi);
  if (st != DDK_OK) return st;
  if (ddk_ku_math_of(dt) == DDK_KU_MATH_I64) {
    if (!ddk_ku_scalar_to_i64(&lo, DDK_DTYPE_INT64, &p->lo_i) ||
        !ddk_ku_scalar_to_i64(&hi, DDK_DTYPE_INT64, &p->hi_i))
      return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT,
                             "min_val/max_val cannot be converted to int64 without overflow");
    int64_t tmin, tmax;
    int_range(dt, &tmin, &tmax);
    if (p->lo_i > tmax)
      return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT,
                             "min_val %lld is outside the range of %s", (long long)p->lo_i,
                             ddk_dtype_name(dt));
    if (p->hi_i < tmin)
      return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT,
                             "max_val %lld is outside the range of %s", (long long)p->hi_i,
                             ddk_dtype_name(dt));
    return DDK_OK;
  }
  if (!ddk_ku_scalar_to_float(&lo, dt, &p->lo_f) || !ddk_ku_scalar_to_float(&hi, dt, &p->hi_f))
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT,
                           "min_val/max_val cannot be converted to %s without overflow",
                           ddk_dtype_name(dt));
  return DDK_OK;
}

static ddk_status act_kernel(ddk_kernel_ctx* ctx, const ddk_node_view* node, act_op op) {
  if (node->num_args < (op == ACT_HARDTANH ? 3u : 1u) || node->num_outputs < 1)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong number of arguments");
  const ddk_tensor* x = ddk_kernel_arg_tensor(ctx, node, 0);
  ddk_tensor* y = ddk_kernel_out(ctx, node, 0);
  const bool floating_only = op == ACT_SIGMOID || op == ACT_TANH;
  uint32_t in_mask = floating_only ? DDK_KU_MASK_REAL : DDK_KU_MASK_INTS | DDK_KU_MASK_FLOATS;
  uint32_t out_mask = floating_only ? DDK_KU_MASK_FLOATS : in_mask;
  ddk_status st = ddk_ku_check_dtype(ctx, node, "self", x, in_mask);
  if (st == DDK_OK) st = ddk_ku_check_dtype(ctx, node, "the result", y, out_mask);
  if (st != DDK_OK) return st;
  if (!floating_only && y->dtype != x->dtype)
    return ddk_kernel_fail(ctx, node, DDK_DTYPE_MISMATCH, "result dtype %s differs from self's %s",
                           ddk_dtype_name(y->dtype), ddk_dtype_name(x->dtype));
  act_params p = {op, 0.0, 0.0, 0, 0};
  if (op == ACT_HARDTANH) {
    st = hardtanh_limits(ctx, node, x->dtype, &p);
    if (st != DDK_OK) return st;
  }
  if (ddk_tensor_numel(x) != ddk_tensor_numel(y) || !ddk_ku_map(y, &x, 1, act_chunk, &p))
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "output shape differs from self's");
  return DDK_OK;
}

ddk_status ddk_kernel_aten_relu(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return act_kernel(ctx, node, ACT_RELU);
}

ddk_status ddk_kernel_aten_hardtanh(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return act_kernel(ctx, node, ACT_HARDTANH);
}

ddk_status ddk_kernel_aten_sigmoid(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return act_kernel(ctx, node, ACT_SIGMOID);
}

ddk_status ddk_kernel_aten_tanh(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return act_kernel(ctx, node, ACT_TANH);
}
