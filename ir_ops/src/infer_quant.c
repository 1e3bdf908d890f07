/*
 * infer_quant.c — inference rules: quantized_decomposed ops (quantize /
 * dequantize, choose_qparams, packed embeddings, mixed-precision matmul,
 * quantized add). The checks follow torch's decompositions
 * (torch/ao/quantization/fx/_decomposed.py) and, for the ops torch lacks,
 * ExecuTorch's exir definitions and quantized CPU kernels; see
 * docs/kernels/quantization.md. Checks that need tensor data (index range,
 * NaN, 1-element tensors' values) are the kernels'.
 */
#include "infer_util.h"

#define Q_TRY(expr)                \
  do {                             \
    ddk_status st_ = (expr);       \
    if (st_ != DDK_OK) return st_; \
  } while (0)

static bool q_is_float(ddk_dtype d) {
  return ddk_infer_is_floating(d);
}

static bool q_is_real(ddk_dtype d) {
  return d == DDK_DTYPE_BOOL || d == DDK_DTYPE_UINT8 || d == DDK_DTYPE_INT8 ||
         d == DDK_DTYPE_INT16 || d == DDK_DTYPE_INT32 || d == DDK_DTYPE_INT64 || q_is_float(d);
}

static bool q_is_half_float32(ddk_dtype d) {
  return d == DDK_DTYPE_FLOAT32 || d == DDK_DTYPE_FLOAT16 || d == DDK_DTYPE_BFLOAT16;
}

static int64_t q_numel(const ddk_tensor* t) {
  int64_t n = 1;
  for (uint32_t i = 0; i < t->rank; ++i) n *= t->sizes[i];
  return n;
}

/* ScalarType argument i (None: dflt; `required` refuses None). */
static ddk_status q_arg_dtype(ddk_infer_ctx* c, uint32_t i, const char* name, bool required,
                              ddk_dtype dflt, ddk_dtype* out) {
  const ddk_arg* a = &c->node->args[i];
  if (a->kind == DDK_ARG_NONE && !required) {
    *out = dflt;
    return DDK_OK;
  }
  if (a->kind != DDK_ARG_DTYPE || ddk_dtype_size((ddk_dtype)a->u.i) == 0)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "argument '%s' must be a ScalarType", name);
  *out = (ddk_dtype)a->u.i;
  return DDK_OK;
}

static ddk_status q_arg_float(ddk_infer_ctx* c, uint32_t i, const char* name, double* out) {
  const ddk_arg* a = &c->node->args[i];
  if (a->kind == DDK_ARG_FLOAT)
    *out = a->u.f;
  else if (a->kind == DDK_ARG_INT)
    *out = (double)a->u.i;
  else
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "argument '%s' must be a float", name);
  return DDK_OK;
}

/* torch's _quant_min_max_bounds_check. */
static ddk_status q_check_bounds(ddk_infer_ctx* c, int64_t qmin, int64_t qmax, ddk_dtype dt) {
  int64_t lo = 0, hi = 0;
  switch (dt) {
    case DDK_DTYPE_UINT8:
      lo = 0, hi = 255;
      break;
    case DDK_DTYPE_INT8:
      lo = -128, hi = 127;
      break;
    case DDK_DTYPE_INT16:
      lo = -32768, hi = 32767;
      break;
    case DDK_DTYPE_INT32:
      lo = INT32_MIN, hi = INT32_MAX;
      break;
    default:
      return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE, "unsupported quantized dtype %s",
                            ddk_dtype_name(dt));
  }
  if (qmin < lo)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                          "quant_min out of bounds for dtype, quant_min_lower_bound: %lld "
                          "quant_min: %lld",
                          (long long)lo, (long long)qmin);
  if (qmax > hi)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                          "quant_max out of bounds for dtype, quant_max_upper_bound: %lld "
                          "quant_max: %lld",
                          (long long)hi, (long long)qmax);
  return DDK_OK;
}

static ddk_status q_check_dtype_known(ddk_infer_ctx* c, ddk_dtype dt) {
  return q_check_bounds(c, INT32_MIN, INT32_MIN, dt) == DDK_UNSUPPORTED_DTYPE
             ? DDK_UNSUPPORTED_DTYPE
             : DDK_OK;
}

static ddk_status q_check_one(ddk_infer_ctx* c, const ddk_tensor* t, const char* name) {
  if (q_numel(t) != 1)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                          "Expecting %s tensor to be one element, but received : %lld", name,
                          (long long)q_numel(t));
  return DDK_OK;
}

static ddk_status q_check_out_float(ddk_infer_ctx* c, ddk_dtype dt) {
  if (!q_is_float(dt))
    return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE, "output dtype %s is not a float dtype",
                          ddk_dtype_name(dt));
  return DDK_OK;
}

/* Broadcast shape of up to three tensors (NULL entries skipped). */
static ddk_status q_broadcast3(ddk_infer_ctx* c, const ddk_tensor* a, const ddk_tensor* b,
                               const ddk_tensor* d, int64_t* sizes, uint32_t* rank) {
  *rank = a->rank;
  memcpy(sizes, a->sizes, sizeof(int64_t) * a->rank);
  const ddk_tensor* more[2] = {b, d};
  for (int k = 0; k < 2; ++k) {
    if (more[k] == NULL) continue;
    int64_t tmp[DDK_MAX_RANK];
    uint32_t tr = 0;
    ddk_status st = ddk_broadcast_shapes(sizes, *rank, more[k]->sizes, more[k]->rank, tmp, &tr,
                                         c->err, c->err_cap);
    if (st != DDK_OK) return st;
    memcpy(sizes, tmp, sizeof(int64_t) * tr);
    *rank = tr;
  }
  return DDK_OK;
}

/* ------------------------------------------------------------------------ */
/* Per-tensor quantize / dequantize                                         */
/* ------------------------------------------------------------------------ */

/* variant 0: float/int args, 1: scale/zp tensors, 2: all four tensors */
static ddk_status infer_quantize_per_tensor(ddk_infer_ctx* c, int variant) {
  Q_TRY(ddk_infer_need(c, 6, 1));
  const ddk_tensor* x = NULL;
  ddk_dtype dt = DDK_DTYPE_INVALID;
  Q_TRY(ddk_infer_arg_tensor(c, 0, "input", &x));
  Q_TRY(q_arg_dtype(c, 5, "dtype", true, 0, &dt));
  if (variant == 0) {
    double scale = 0.0;
    int64_t zp = 0, qmin = 0, qmax = 0;
    Q_TRY(q_arg_float(c, 1, "scale", &scale));
    Q_TRY(ddk_infer_arg_int(c, 2, "zero_point", &zp));
    Q_TRY(ddk_infer_arg_int(c, 3, "quant_min", &qmin));
    Q_TRY(ddk_infer_arg_int(c, 4, "quant_max", &qmax));
    if (scale == 0.0) return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "float division by zero");
    if (q_is_half_float32(x->dtype)) Q_TRY(q_check_bounds(c, qmin, qmax, dt));
  } else {
    const ddk_tensor *s = NULL, *z = NULL;
    Q_TRY(ddk_infer_arg_tensor(c, 1, "scale", &s));
    Q_TRY(ddk_infer_arg_tensor(c, 2, "zero_point", &z));
    Q_TRY(q_check_one(c, z, "zero_point"));
    Q_TRY(q_check_one(c, s, "scale"));
    if (variant == 1) {
      int64_t qmin = 0, qmax = 0;
      Q_TRY(ddk_infer_arg_int(c, 3, "quant_min", &qmin));
      Q_TRY(ddk_infer_arg_int(c, 4, "quant_max", &qmax));
      if (q_is_half_float32(x->dtype)) Q_TRY(q_check_bounds(c, qmin, qmax, dt));
    } else {
      const ddk_tensor *lo = NULL, *hi = NULL;
      Q_TRY(ddk_infer_arg_tensor(c, 3, "quant_min", &lo));
      Q_TRY(ddk_infer_arg_tensor(c, 4, "quant_max", &hi));
      Q_TRY(q_check_one(c, lo, "quant_min"));
      Q_TRY(q_check_one(c, hi, "quant_max"));
      Q_TRY(q_check_dtype_known(c, dt));
    }
  }
  if (!q_is_half_float32(x->dtype))
    return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE,
                          "Expecting input to have dtype torch.float32, but got dtype: %s",
                          ddk_dtype_name(x->dtype));
  return ddk_infer_same_shape(c, x, dt);
}

static ddk_status infer_dequantize_per_tensor(ddk_infer_ctx* c, int variant) {
  Q_TRY(ddk_infer_need(c, 7, 1));
  const ddk_tensor* x = NULL;
  ddk_dtype dt = DDK_DTYPE_INVALID, out_dt = DDK_DTYPE_INVALID;
  Q_TRY(ddk_infer_arg_tensor(c, 0, "input", &x));
  Q_TRY(q_arg_dtype(c, 5, "dtype", true, 0, &dt));
  Q_TRY(q_arg_dtype(c, 6, "out_dtype", false, DDK_DTYPE_FLOAT32, &out_dt));
  if (variant == 0) {
    double scale = 0.0;
    int64_t zp = 0;
    Q_TRY(q_arg_float(c, 1, "scale", &scale));
    Q_TRY(ddk_infer_arg_int(c, 2, "zero_point", &zp));
  } else {
    const ddk_tensor *s = NULL, *z = NULL;
    Q_TRY(ddk_infer_arg_tensor(c, 1, "scale", &s));
    Q_TRY(ddk_infer_arg_tensor(c, 2, "zero_point", &z));
    Q_TRY(q_check_one(c, z, "zero_point"));
    Q_TRY(q_check_one(c, s, "scale"));
    if (variant == 2) {
      const ddk_tensor *lo = NULL, *hi = NULL;
      Q_TRY(ddk_infer_arg_tensor(c, 3, "quant_min", &lo));
      Q_TRY(ddk_infer_arg_tensor(c, 4, "quant_max", &hi));
      Q_TRY(q_check_one(c, lo, "quant_min"));
      Q_TRY(q_check_one(c, hi, "quant_max"));
    }
  }
  if (x->dtype != dt)
    return ddk_infer_fail(c, DDK_DTYPE_MISMATCH, "Expecting input to have dtype: %s, but got %s",
                          ddk_dtype_name(dt), ddk_dtype_name(x->dtype));
  Q_TRY(q_check_dtype_known(c, dt));
  Q_TRY(q_check_out_float(c, out_dt));
  return ddk_infer_same_shape(c, x, out_dt);
}

ddk_status ddk_infer_quantized_decomposed_quantize_per_tensor(ddk_infer_ctx* c) {
  return infer_quantize_per_tensor(c, 0);
}
ddk_status ddk_infer_quantized_decomposed_quantize_per_tensor_tensor(ddk_infer_ctx* c) {
  return infer_quantize_per_tensor(c, 1);
}
ddk_status ddk_infer_quantized_decomposed_quantize_per_tensor_tensor2(ddk_infer_ctx* c) {
  return infer_quantize_per_tensor(c, 2);
}
ddk_status ddk_infer_quantized_decomposed_dequantize_per_tensor(ddk_infer_ctx* c) {
  return infer_dequantize_per_tensor(c, 0);
}
ddk_status ddk_infer_quantized_decomposed_dequantize_per_tensor_tensor(ddk_infer_ctx* c) {
  return infer_dequantize_per_tensor(c, 1);
}
ddk_status ddk_infer_quantized_decomposed_dequantize_per_tensor_tensor2(ddk_infer_ctx* c) {
  return infer_dequantize_per_tensor(c, 2);
}

/* ------------------------------------------------------------------------ */
/* choose_qparams                                                           */
/* ------------------------------------------------------------------------ */

static ddk_status infer_choose_qparams(ddk_infer_ctx* c) {
  Q_TRY(ddk_infer_need(c, 5, 2));
  const ddk_tensor* x = NULL;
  int64_t qmin = 0, qmax = 0;
  double eps = 0.0;
  ddk_dtype dt = DDK_DTYPE_INVALID;
  Q_TRY(ddk_infer_arg_tensor(c, 0, "input", &x));
  Q_TRY(ddk_infer_arg_int(c, 1, "quant_min", &qmin));
  Q_TRY(ddk_infer_arg_int(c, 2, "quant_max", &qmax));
  Q_TRY(q_arg_float(c, 3, "eps", &eps));
  Q_TRY(q_arg_dtype(c, 4, "dtype", true, 0, &dt));
  if (!q_is_half_float32(x->dtype))
    return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE,
                          "Expecting input to have dtype torch.float32/16/b16, but got dtype: %s",
                          ddk_dtype_name(x->dtype));
  Q_TRY(q_check_dtype_known(c, dt));
  if (!(qmin <= 0 && 0 <= qmax))
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                          "Used-specified quantization range must include 0.");
  if (qmin >= qmax)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                          "qmin must be strictly less than qmax for user-specified quantization "
                          "range.");
  if (q_numel(x) == 0) return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "aminmax of an empty tensor");
  const int64_t one = 1;
  Q_TRY(ddk_infer_set_output(c, 0, DDK_DTYPE_FLOAT64, 1, &one));
  return ddk_infer_set_output(c, 1, DDK_DTYPE_INT64, 1, &one);
}

ddk_status ddk_infer_quantized_decomposed_choose_qparams_tensor(ddk_infer_ctx* c) {
  return infer_choose_qparams(c);
}
ddk_status ddk_infer_quantized_decomposed_choose_qparams_symmetric_tensor(ddk_infer_ctx* c) {
  return infer_choose_qparams(c);
}

static ddk_status infer_choose_qparams_per_token(ddk_infer_ctx* c, bool asymmetric) {
  Q_TRY(ddk_infer_need(c, 2, 2));
  const ddk_tensor* x = NULL;
  ddk_dtype dt = DDK_DTYPE_INVALID;
  Q_TRY(ddk_infer_arg_tensor(c, 0, "input", &x));
  Q_TRY(q_arg_dtype(c, 1, "dtype", true, 0, &dt));
  if (!q_is_real(x->dtype) || x->dtype == DDK_DTYPE_BOOL)
    return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE, "unsupported input dtype %s",
                          ddk_dtype_name(x->dtype));
  if (x->rank > 0 && x->sizes[x->rank - 1] == 0)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                          "Expected reduction dim -1 to have non-zero size");
  if (!asymmetric && dt != DDK_DTYPE_INT8)
    return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE,
                          "unsupported dtype in choose_qparams_per_token: %s", ddk_dtype_name(dt));
  int64_t sizes[DDK_MAX_RANK];
  memcpy(sizes, x->sizes, sizeof(int64_t) * x->rank);
  if (x->rank > 0) sizes[x->rank - 1] = 1;
  ddk_dtype sdt = DDK_DTYPE_INVALID, zdt = DDK_DTYPE_INVALID;
  if (asymmetric) {
    sdt = DDK_DTYPE_FLOAT64;
    zdt = DDK_DTYPE_INT64;
  } else {
    sdt = (x->dtype == DDK_DTYPE_FLOAT64 || x->dtype == DDK_DTYPE_BFLOAT16) ? x->dtype
                                                                            : DDK_DTYPE_FLOAT32;
    zdt = sdt;
  }
  Q_TRY(ddk_infer_set_output(c, 0, sdt, x->rank, sizes));
  return ddk_infer_set_output(c, 1, zdt, x->rank, sizes);
}

ddk_status ddk_infer_quantized_decomposed_choose_qparams_per_token(ddk_infer_ctx* c) {
  return infer_choose_qparams_per_token(c, false);
}
ddk_status ddk_infer_quantized_decomposed_choose_qparams_per_token_asymmetric(ddk_infer_ctx* c) {
  return infer_choose_qparams_per_token(c, true);
}

/* ------------------------------------------------------------------------ */
/* Per-channel                                                              */
/* ------------------------------------------------------------------------ */

/* Checks axis/scales/zero_points of a per-channel op; output sizes. */
static ddk_status q_per_channel_shape(ddk_infer_ctx* c, const ddk_tensor* x, const ddk_tensor* s,
                                      const ddk_tensor* z, int64_t axis, int64_t* sizes) {
  if (axis >= (int64_t)x->rank)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "Expecting axis to be < %u", x->rank);
  if (axis < -(int64_t)x->rank)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "axis %lld out of range", (long long)axis);
  if (axis < 0) axis += x->rank;
  if (s->rank == 0)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "scales must have at least one dim");
  const int64_t ch = s->sizes[0];
  if (q_numel(s) != ch || (z != NULL && q_numel(z) != ch))
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                          "scales and zero_points must hold scales.size(0) = %lld values",
                          (long long)ch);
  memcpy(sizes, x->sizes, sizeof(int64_t) * x->rank);
  const int64_t a = x->sizes[axis];
  if (a != ch && ch != 1 && a != 1)
    return ddk_infer_fail(c, DDK_SHAPE_MISMATCH,
                          "%lld channel parameters do not broadcast to size %lld at axis %lld",
                          (long long)ch, (long long)a, (long long)axis);
  if (a == 1) sizes[axis] = ch;
  return DDK_OK;
}

ddk_status ddk_infer_quantized_decomposed_quantize_per_channel(ddk_infer_ctx* c) {
  Q_TRY(ddk_infer_need(c, 7, 1));
  const ddk_tensor *x = NULL, *s = NULL, *z = NULL;
  int64_t axis = 0, qmin = 0, qmax = 0;
  ddk_dtype dt = DDK_DTYPE_INVALID;
  Q_TRY(ddk_infer_arg_tensor(c, 0, "input", &x));
  Q_TRY(ddk_infer_arg_tensor(c, 1, "scales", &s));
  Q_TRY(ddk_infer_arg_tensor(c, 2, "zero_points", &z));
  Q_TRY(ddk_infer_arg_int(c, 3, "axis", &axis));
  Q_TRY(ddk_infer_arg_int(c, 4, "quant_min", &qmin));
  Q_TRY(ddk_infer_arg_int(c, 5, "quant_max", &qmax));
  Q_TRY(q_arg_dtype(c, 6, "dtype", true, 0, &dt));
  if (!q_is_half_float32(x->dtype))
    return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE,
                          "Expecting input to have dtype torch.float32, but got dtype: %s",
                          ddk_dtype_name(x->dtype));
  if (!q_is_real(s->dtype) || !q_is_real(z->dtype))
    return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE, "scales and zero_points must be real");
  Q_TRY(q_check_bounds(c, qmin, qmax, dt));
  int64_t sizes[DDK_MAX_RANK];
  Q_TRY(q_per_channel_shape(c, x, s, z, axis, sizes));
  return ddk_infer_set_output(c, 0, dt, x->rank, sizes);
}

ddk_status ddk_infer_quantized_decomposed_dequantize_per_channel(ddk_infer_ctx* c) {
  Q_TRY(ddk_infer_need(c, 8, 1));
  const ddk_tensor *x = NULL, *s = NULL, *z = NULL;
  int64_t axis = 0, qmin = 0, qmax = 0;
  ddk_dtype dt = DDK_DTYPE_INVALID, out_dt = DDK_DTYPE_INVALID;
  Q_TRY(ddk_infer_arg_tensor(c, 0, "input", &x));
  Q_TRY(ddk_infer_arg_tensor(c, 1, "scales", &s));
  Q_TRY(ddk_infer_arg_opt_tensor(c, 2, "zero_points", &z));
  Q_TRY(ddk_infer_arg_int(c, 3, "axis", &axis));
  Q_TRY(ddk_infer_arg_int(c, 4, "quant_min", &qmin));
  Q_TRY(ddk_infer_arg_int(c, 5, "quant_max", &qmax));
  Q_TRY(q_arg_dtype(c, 6, "dtype", true, 0, &dt));
  Q_TRY(q_arg_dtype(c, 7, "out_dtype", false, DDK_DTYPE_FLOAT32, &out_dt));
  if (x->dtype != dt)
    return ddk_infer_fail(c, DDK_DTYPE_MISMATCH,
                          "Expecting input to have dtype: %s, but got dtype: %s",
                          ddk_dtype_name(dt), ddk_dtype_name(x->dtype));
  if (!q_is_real(s->dtype) || (z != NULL && !q_is_real(z->dtype)))
    return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE, "scales and zero_points must be real");
  int64_t sizes[DDK_MAX_RANK];
  if (axis >= (int64_t)x->rank)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "Expecting axis to be < %u", x->rank);
  Q_TRY(q_check_bounds(c, qmin, qmax, dt));
  Q_TRY(q_per_channel_shape(c, x, s, z, axis, sizes));
  ddk_dtype d = z != NULL ? ddk_promote_types(x->dtype, z->dtype) : x->dtype;
  if (ddk_promote_types(d, s->dtype) == DDK_DTYPE_BOOL)
    return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE, "bool arithmetic is not supported");
  Q_TRY(q_check_out_float(c, out_dt));
  return ddk_infer_set_output(c, 0, out_dt, x->rank, sizes);
}

/* ------------------------------------------------------------------------ */
/* Per-token                                                                */
/* ------------------------------------------------------------------------ */

ddk_status ddk_infer_quantized_decomposed_quantize_per_token(ddk_infer_ctx* c) {
  Q_TRY(ddk_infer_need(c, 6, 1));
  const ddk_tensor *x = NULL, *s = NULL, *z = NULL;
  int64_t qmin = 0, qmax = 0;
  ddk_dtype dt = DDK_DTYPE_INVALID;
  Q_TRY(ddk_infer_arg_tensor(c, 0, "input", &x));
  Q_TRY(ddk_infer_arg_tensor(c, 1, "scales", &s));
  Q_TRY(ddk_infer_arg_tensor(c, 2, "zero_points", &z));
  Q_TRY(ddk_infer_arg_int(c, 3, "quant_min", &qmin));
  Q_TRY(ddk_infer_arg_int(c, 4, "quant_max", &qmax));
  Q_TRY(q_arg_dtype(c, 5, "dtype", true, 0, &dt));
  Q_TRY(q_check_bounds(c, qmin, qmax, dt));
  int64_t tokens = 1;
  for (uint32_t i = 0; i + 1 < x->rank; ++i) tokens *= x->sizes[i];
  if (tokens != q_numel(s) || tokens != q_numel(z))
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                          "num_tokens: %lld scales: %lld zero_points: %lld", (long long)tokens,
                          (long long)q_numel(s), (long long)q_numel(z));
  if (!q_is_real(x->dtype) || !q_is_real(s->dtype) || !q_is_real(z->dtype))
    return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE, "unsupported dtype");
  int64_t sizes[DDK_MAX_RANK];
  uint32_t rank;
  Q_TRY(q_broadcast3(c, x, s, z, sizes, &rank));
  return ddk_infer_set_output(c, 0, dt, rank, sizes);
}

ddk_status ddk_infer_quantized_decomposed_dequantize_per_token(ddk_infer_ctx* c) {
  Q_TRY(ddk_infer_need(c, 7, 1));
  const ddk_tensor *x = NULL, *s = NULL, *z = NULL;
  int64_t qmin = 0, qmax = 0;
  ddk_dtype dt = DDK_DTYPE_INVALID, out_dt = DDK_DTYPE_INVALID;
  Q_TRY(ddk_infer_arg_tensor(c, 0, "input", &x));
  Q_TRY(ddk_infer_arg_tensor(c, 1, "scales", &s));
  Q_TRY(ddk_infer_arg_tensor(c, 2, "zero_points", &z));
  Q_TRY(ddk_infer_arg_int(c, 3, "quant_min", &qmin));
  Q_TRY(ddk_infer_arg_int(c, 4, "quant_max", &qmax));
  Q_TRY(q_arg_dtype(c, 5, "dtype", true, 0, &dt));
  Q_TRY(q_arg_dtype(c, 6, "output_dtype", true, 0, &out_dt));
  if (!q_is_real(x->dtype) || !q_is_real(s->dtype) || !q_is_real(z->dtype))
    return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE, "unsupported dtype");
  if (x->dtype == DDK_DTYPE_BOOL && z->dtype == DDK_DTYPE_BOOL)
    return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE,
                          "Subtraction, the `-` operator, with two bool tensors is not supported");
  Q_TRY(q_check_out_float(c, out_dt));
  int64_t sizes[DDK_MAX_RANK];
  uint32_t rank;
  Q_TRY(q_broadcast3(c, x, z, s, sizes, &rank));
  return ddk_infer_set_output(c, 0, out_dt, rank, sizes);
}

/* ------------------------------------------------------------------------ */
/* Per-channel-group                                                        */
/* ------------------------------------------------------------------------ */

/* Group checks of quantize/dequantize_per_channel_group; z may be NULL. */
static ddk_status q_group_check(ddk_infer_ctx* c, const ddk_tensor* x, const ddk_tensor* s,
                                const ddk_tensor* z, int64_t gs) {
  if (gs <= 1) return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "group_size must be > 1");
  if (x->rank == 0 || s->rank == 0)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "input must be 2-dimensional");
  const int64_t n = x->sizes[x->rank - 1];
  if (gs > n && s->sizes[s->rank - 1] == 1) gs = n;
  if (gs == 0) return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "integer modulo by zero");
  if (n % gs != 0)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                          "input.shape[-1] must be divisible by group_size");
  if (x->rank != 2) return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "input must be 2-dimensional");
  const int64_t groups = q_numel(x) / gs;
  if (q_numel(s) != groups && q_numel(s) != 1)
    return ddk_infer_fail(c, DDK_SHAPE_MISMATCH, "%lld scales for %lld groups",
                          (long long)q_numel(s), (long long)groups);
  if (z != NULL && q_numel(z) != groups && q_numel(z) != 1)
    return ddk_infer_fail(c, DDK_SHAPE_MISMATCH, "%lld zero_points for %lld groups",
                          (long long)q_numel(z), (long long)groups);
  return DDK_OK;
}

ddk_status ddk_infer_quantized_decomposed_quantize_per_channel_group(ddk_infer_ctx* c) {
  Q_TRY(ddk_infer_need(c, 7, 1));
  const ddk_tensor *x = NULL, *s = NULL, *z = NULL;
  int64_t qmin = 0, qmax = 0, gs = 0;
  ddk_dtype dt = DDK_DTYPE_INVALID;
  Q_TRY(ddk_infer_arg_tensor(c, 0, "input", &x));
  Q_TRY(ddk_infer_arg_tensor(c, 1, "scales", &s));
  Q_TRY(ddk_infer_arg_tensor(c, 2, "zero_points", &z));
  Q_TRY(ddk_infer_arg_int(c, 3, "quant_min", &qmin));
  Q_TRY(ddk_infer_arg_int(c, 4, "quant_max", &qmax));
  Q_TRY(q_arg_dtype(c, 5, "dtype", true, 0, &dt));
  Q_TRY(ddk_infer_arg_int(c, 6, "group_size", &gs));
  if (!q_is_real(x->dtype) || !q_is_real(s->dtype) || !q_is_real(z->dtype) || !q_is_real(dt))
    return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE, "unsupported dtype");
  Q_TRY(q_group_check(c, x, s, z, gs));
  return ddk_infer_same_shape(c, x, dt);
}

ddk_status ddk_infer_quantized_decomposed_dequantize_per_channel_group(ddk_infer_ctx* c) {
  Q_TRY(ddk_infer_need(c, 8, 1));
  const ddk_tensor *x = NULL, *s = NULL, *z = NULL;
  int64_t qmin = 0, qmax = 0, gs = 0;
  ddk_dtype dt = DDK_DTYPE_INVALID, out_dt = DDK_DTYPE_INVALID;
  Q_TRY(ddk_infer_arg_tensor(c, 0, "input", &x));
  Q_TRY(ddk_infer_arg_tensor(c, 1, "scales", &s));
  Q_TRY(ddk_infer_arg_opt_tensor(c, 2, "zero_points", &z));
  Q_TRY(ddk_infer_arg_int(c, 3, "quant_min", &qmin));
  Q_TRY(ddk_infer_arg_int(c, 4, "quant_max", &qmax));
  Q_TRY(q_arg_dtype(c, 5, "dtype", true, 0, &dt));
  Q_TRY(ddk_infer_arg_int(c, 6, "group_size", &gs));
  Q_TRY(q_arg_dtype(c, 7, "output_dtype", true, 0, &out_dt));
  if (!q_is_real(x->dtype) || !q_is_real(s->dtype) || (z != NULL && !q_is_real(z->dtype)))
    return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE, "unsupported dtype");
  if (x->dtype == DDK_DTYPE_BOOL && (z == NULL || z->dtype == DDK_DTYPE_BOOL))
    return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE, "bool subtraction is not supported");
  Q_TRY(q_group_check(c, x, s, z, gs));
  Q_TRY(q_check_out_float(c, out_dt));
  return ddk_infer_same_shape(c, x, out_dt);
}

/* ------------------------------------------------------------------------ */
/* Embeddings                                                               */
/* ------------------------------------------------------------------------ */

/* bits: 8, 4 or 2; with_dtype: the .dtype overload. */
static ddk_status infer_embedding(ddk_infer_ctx* c, int bits, bool with_dtype) {
  Q_TRY(ddk_infer_need(c, with_dtype ? 7 : 6, 1));
  const ddk_tensor *w = NULL, *s = NULL, *z = NULL, *idx = NULL;
  int64_t qmin = 0, qmax = 0;
  Q_TRY(ddk_infer_arg_tensor(c, 0, "weight", &w));
  Q_TRY(ddk_infer_arg_tensor(c, 1, "weight_scales", &s));
  Q_TRY(ddk_infer_arg_opt_tensor(c, 2, "weight_zero_points", &z));
  Q_TRY(ddk_infer_arg_int(c, 3, "weight_quant_min", &qmin));
  Q_TRY(ddk_infer_arg_int(c, 4, "weight_quant_max", &qmax));
  Q_TRY(ddk_infer_arg_tensor(c, 5, "indices", &idx));
  ddk_dtype out_dt = s->dtype;
  if (with_dtype) Q_TRY(q_arg_dtype(c, 6, "dtype", false, s->dtype, &out_dt));
  if (bits == 4 && (qmin != -8 || qmax != 7))
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "expects weight_quant_min == -8 and max == 7");
  if (bits == 2 && (qmin != -2 || qmax != 1))
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "expects weight_quant_min == -2 and max == 1");
  if (w->dtype != DDK_DTYPE_INT8 && w->dtype != DDK_DTYPE_UINT8)
    return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE,
                          "Expecting weights to be of dtype in [torch.int8, torch.uint8], but "
                          "got %s",
                          ddk_dtype_name(w->dtype));
  if (w->rank != 2)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "Expecting weight tensor to have dim()==2");
  if (s->dtype != DDK_DTYPE_FLOAT16 && s->dtype != DDK_DTYPE_FLOAT32)
    return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE,
                          "Expecting weight_scales to be float16 or float32, but got %s",
                          ddk_dtype_name(s->dtype));
  if (s->rank != 1 && s->rank != 2)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "weight_scales must have rank 1 or 2");
  if (s->sizes[0] != w->sizes[0])
    return ddk_infer_fail(c, DDK_SHAPE_MISMATCH,
                          "Expecting weight and scale tensor to have same number of rows");
  if (z != NULL &&
      (z->dtype != s->dtype || (z->rank != 1 && z->rank != 2) || z->sizes[0] != w->sizes[0]))
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                          "weight_zero_points must be None or match weight_scales' dtype and "
                          "rows");
  if (idx->dtype != DDK_DTYPE_INT64 && idx->dtype != DDK_DTYPE_INT32)
    return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE, "indices must be int64 or int32, got %s",
                          ddk_dtype_name(idx->dtype));
  if (!q_is_real(out_dt) || idx->rank + 1 > DDK_MAX_RANK)
    return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE, "unsupported output dtype or rank");
  const int64_t d = w->sizes[1] * (8 / bits);
  const int64_t groups = s->rank == 2 ? s->sizes[1] : 1;
  if (groups == 0) return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "integer division by zero");
  const int64_t gs = d / groups;
  if (gs <= 1) return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "group_size must be > 1");
  if (d % gs != 0)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                          "w_int8.shape[-1] must be divisible by group_size");
  const int64_t ng = w->sizes[0] * (d / gs);
  if (q_numel(s) != ng && q_numel(s) != 1)
    return ddk_infer_fail(c, DDK_SHAPE_MISMATCH, "%lld scales for %lld groups",
                          (long long)q_numel(s), (long long)ng);
  if (z != NULL && q_numel(z) != ng && q_numel(z) != 1)
    return ddk_infer_fail(c, DDK_SHAPE_MISMATCH, "%lld zero points for %lld groups",
                          (long long)q_numel(z), (long long)ng);
  int64_t sizes[DDK_MAX_RANK];
  memcpy(sizes, idx->sizes, sizeof(int64_t) * idx->rank);
  sizes[idx->rank] = d;
  return ddk_infer_set_output(c, 0, out_dt, idx->rank + 1, sizes);
}

ddk_status ddk_infer_quantized_decomposed_embedding_byte(ddk_infer_ctx* c) {
  return infer_embedding(c, 8, false);
}
ddk_status ddk_infer_quantized_decomposed_embedding_byte_dtype(ddk_infer_ctx* c) {
  return infer_embedding(c, 8, true);
}
ddk_status ddk_infer_quantized_decomposed_embedding_4bit(ddk_infer_ctx* c) {
  return infer_embedding(c, 4, false);
}
ddk_status ddk_infer_quantized_decomposed_embedding_4bit_dtype(ddk_infer_ctx* c) {
  return infer_embedding(c, 4, true);
}
ddk_status ddk_infer_quantized_decomposed_embedding_2bit(ddk_infer_ctx* c) {
  return infer_embedding(c, 2, false);
}
ddk_status ddk_infer_quantized_decomposed_embedding_2bit_dtype(ddk_infer_ctx* c) {
  return infer_embedding(c, 2, true);
}

/* ------------------------------------------------------------------------ */
/* mixed_mm / mixed_linear                                                  */
/* ------------------------------------------------------------------------ */

static ddk_status infer_mixed(ddk_infer_ctx* c, bool linear) {
  Q_TRY(ddk_infer_need(c, linear ? 5 : 4, 1));
  const ddk_tensor *x = NULL, *w = NULL, *s = NULL, *z = NULL;
  Q_TRY(ddk_infer_arg_tensor(c, 0, "input", &x));
  Q_TRY(ddk_infer_arg_tensor(c, 1, "weight", &w));
  Q_TRY(ddk_infer_arg_tensor(c, 2, "weight_scales", &s));
  Q_TRY(ddk_infer_arg_opt_tensor(c, 3, "weight_zero_points", &z));
  ddk_dtype out_dt = x->dtype;
  if (linear) Q_TRY(q_arg_dtype(c, 4, "dtype", false, x->dtype, &out_dt));
  if (x->rank != 2 || w->rank != 2)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "input and weight must be 2-d");
  if (linear ? (s->rank != 1 && s->rank != 2) : s->rank != 1)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "weight_scales has rank %u", s->rank);
  if (x->sizes[1] != w->sizes[linear ? 1 : 0] || s->sizes[0] != w->sizes[0])
    return ddk_infer_fail(c, DDK_SHAPE_MISMATCH, "input, weight and weight_scales mismatch");
  if (x->dtype != DDK_DTYPE_FLOAT32 && x->dtype != DDK_DTYPE_FLOAT16)
    return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE, "input dtype must be Float or Half");
  if (s->dtype != x->dtype)
    return ddk_infer_fail(c, DDK_DTYPE_MISMATCH, "weight_scales must have the input's dtype");
  if (w->dtype != DDK_DTYPE_INT8)
    return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE, "weight dtype must be int8");
  if (out_dt != DDK_DTYPE_FLOAT32 && out_dt != DDK_DTYPE_FLOAT16)
    return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE, "dtype must be Float or Half");
  if (z != NULL) return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "zero points not supported yet.");
  if (linear && s->rank == 2 && s->sizes[1] == 0)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "weight_scales has zero groups");
  const int64_t sizes[2] = {x->sizes[0], linear ? w->sizes[0] : w->sizes[1]};
  return ddk_infer_set_output(c, 0, out_dt, 2, sizes);
}

ddk_status ddk_infer_quantized_decomposed_mixed_mm(ddk_infer_ctx* c) {
  return infer_mixed(c, false);
}
ddk_status ddk_infer_quantized_decomposed_mixed_linear(ddk_infer_ctx* c) {
  return infer_mixed(c, true);
}

/* ------------------------------------------------------------------------ */
/* Quantized add                                                            */
/* ------------------------------------------------------------------------ */

static ddk_status q_check_add_range(ddk_infer_ctx* c, uint32_t i, const char* which) {
  int64_t lo = 0, hi = 0;
  Q_TRY(ddk_infer_arg_int(c, i, "quant_min", &lo));
  Q_TRY(ddk_infer_arg_int(c, i + 1, "quant_max", &hi));
  if (!(lo >= 0 && hi <= 255 && lo <= hi))
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                          "invalid quant_min: %lld or quant_max: %lld for %s. Min should be <= "
                          "max and both should be in bounds [0,255]",
                          (long long)lo, (long long)hi, which);
  return DDK_OK;
}

static ddk_status infer_qadd(ddk_infer_ctx* c) {
  Q_TRY(ddk_infer_need(c, 14, 1));
  const ddk_tensor *a = NULL, *b = NULL;
  double f = 0.0;
  int64_t zp = 0;
  Q_TRY(ddk_infer_arg_tensor(c, 0, "a", &a));
  Q_TRY(ddk_infer_arg_tensor(c, 5, "b", &b));
  Q_TRY(q_arg_float(c, 1, "a_scale", &f));
  Q_TRY(q_arg_float(c, 6, "b_scale", &f));
  Q_TRY(q_arg_float(c, 10, "out_scale", &f));
  Q_TRY(ddk_infer_arg_int(c, 2, "a_zero_point", &zp));
  Q_TRY(ddk_infer_arg_int(c, 7, "b_zero_point", &zp));
  Q_TRY(ddk_infer_arg_int(c, 11, "out_zero_point", &zp));
  bool same = a->dtype == b->dtype && a->rank == b->rank;
  for (uint32_t i = 0; same && i < a->rank; ++i) same = a->sizes[i] == b->sizes[i];
  if (!same)
    return ddk_infer_fail(c, DDK_SHAPE_MISMATCH, "a and b must have the same shape and dtype");
  if (a->dtype == DDK_DTYPE_BOOL || ddk_dtype_category(a->dtype) != 1)
    return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE, "Unhandled dtype %s", ddk_dtype_name(a->dtype));
  Q_TRY(q_check_add_range(c, 3, "input tensor a"));
  Q_TRY(q_check_add_range(c, 8, "input tensor b"));
  Q_TRY(q_check_add_range(c, 12, "output tensor"));
  return ddk_infer_same_shape(c, a, a->dtype);
}

ddk_status ddk_infer_quantized_decomposed_add(ddk_infer_ctx* c) {
  return infer_qadd(c);
}
ddk_status ddk_infer_quantized_decomposed_add_relu(ddk_infer_ctx* c) {
  return infer_qadd(c);
}

ddk_status ddk_infer_quantized_decomposed_add_scalar(ddk_infer_ctx* c) {
  Q_TRY(ddk_infer_need(c, 12, 1));
  const ddk_tensor* a = NULL;
  double f = 0.0;
  int64_t zp = 0, qmin = 0, qmax = 0;
  uint32_t kind;
  ddk_dtype a_dt = DDK_DTYPE_INVALID, out_dt = DDK_DTYPE_INVALID;
  Q_TRY(ddk_infer_arg_tensor(c, 0, "qa", &a));
  Q_TRY(q_arg_float(c, 1, "a_scale", &f));
  Q_TRY(ddk_infer_arg_int(c, 2, "a_zero_point", &zp));
  Q_TRY(q_arg_dtype(c, 5, "a_dtype", true, 0, &a_dt));
  Q_TRY(ddk_infer_arg_scalar(c, 6, "b", &kind));
  Q_TRY(q_arg_float(c, 7, "out_scale", &f));
  Q_TRY(ddk_infer_arg_int(c, 8, "out_zero_point", &zp));
  Q_TRY(ddk_infer_arg_int(c, 9, "out_quant_min", &qmin));
  Q_TRY(ddk_infer_arg_int(c, 10, "out_quant_max", &qmax));
  Q_TRY(q_arg_dtype(c, 11, "out_dtype", true, 0, &out_dt));
  if (a->dtype != a_dt)
    return ddk_infer_fail(c, DDK_DTYPE_MISMATCH, "Expecting input to have dtype: %s, but got %s",
                          ddk_dtype_name(a_dt), ddk_dtype_name(a->dtype));
  Q_TRY(q_check_dtype_known(c, a_dt));
  if (f == 0.0) return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "float division by zero");
  Q_TRY(q_check_bounds(c, qmin, qmax, out_dt));
  return ddk_infer_same_shape(c, a, out_dt);
}
