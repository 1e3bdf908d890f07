/*
 * op_binary_misc.c — aten::atan2, aten::atan2.out, aten::maximum,
 * aten::minimum, aten::clamp.Tensor, aten::where.self.
 *
 * Semantics (ATen CPU), in the result dtype chosen by inference (float16 /
 * bfloat16 computed in float, rounded once); inputs broadcast, any strides:
 *  - atan2(self, other): the angle of (other, self); integer/bool inputs
 *    give float32; signed zeros and infinities pick the quadrant (C atan2).
 *  - atan2.out(self, other, *, out): in the functional form `out` is an
 *    input that only supplies the result dtype (its shape is ignored: ATen
 *    resizes it to the broadcast shape). atan2 is computed in the common
 *    dtype of self and other (integers: float32), rounded to it, then cast
 *    to out's dtype; a floating result cannot be cast to an integral or
 *    bool `out` (refused, as ATen does).
 *  - maximum/minimum: NaN in either input gives NaN; bool allowed.
 *  - clamp.Tensor(self, min, max): min(max(self, min), max) with NaN of any
 *    operand propagating; min > max gives max; with only one bound it is
 *    maximum/minimum (bool allowed); no bound is refused; with both
 *    bounds bool is refused (ATen has no bool clamp kernel).
 *  - where.self(condition, self, other): condition must be bool (or
 *    uint8, which ATen still accepts); self/other promote.
 */
#include "op_binary_util.h"

/* ------------------------------------------------------------------------ */
/* atan2                                                                    */
/* ------------------------------------------------------------------------ */

static void atan2_chunk(void* user, ddk_ku_math math, void* out, const void* const* in, int64_t n) {
  const ddk_dtype common = *(const ddk_dtype*)user;
  if (math == DDK_KU_MATH_F32) {
    float* c = (float*)out;
    const float *a = (const float*)in[0], *b = (const float*)in[1];
    for (int64_t i = 0; i < n; ++i) c[i] = ddk_ku_round_f32(atan2f(a[i], b[i]), common);
  } else if (math == DDK_KU_MATH_F64) {
    double* c = (double*)out;
    const double *a = (const double*)in[0], *b = (const double*)in[1];
    for (int64_t i = 0; i < n; ++i) c[i] = atan2(a[i], b[i]);
  }
}

static ddk_status atan2_run(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  const ddk_tensor* a = ddk_kernel_arg_tensor(ctx, node, 0);
  const ddk_tensor* b = ddk_kernel_arg_tensor(ctx, node, 1);
  ddk_tensor* out = ddk_kernel_out(ctx, node, 0);
  ddk_status st = ddk_ku_check_dtype(ctx, node, "self", a, DDK_KU_MASK_REAL);
  if (st == DDK_OK) st = ddk_ku_check_dtype(ctx, node, "other", b, DDK_KU_MASK_REAL);
  if (st == DDK_OK) st = ddk_ku_check_dtype(ctx, node, "the result", out, DDK_KU_MASK_FLOATS);
  if (st != DDK_OK) return st;
  const ddk_tensor* ins[2] = {a, b};
  ddk_dtype common = ddk_bin_result_type(ins, 2);
  if (!ddk_ku_dtype_in(common, DDK_KU_MASK_FLOATS)) common = DDK_DTYPE_FLOAT32;
  const ddk_dtype round_to[2] = {common, common};
  if (!ddk_bin_map(out, ins, round_to, 2, ddk_ku_math_of(common), atan2_chunk, &common))
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH,
                           "inputs do not broadcast to the output shape");
  return DDK_OK;
}

ddk_status ddk_kernel_aten_atan2(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  if (node->num_args < 2 || node->num_outputs < 1)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong number of arguments");
  return atan2_run(ctx, node);
}

ddk_status ddk_kernel_aten_atan2_out(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  if (node->num_args < 3 || node->num_outputs < 1 || node->args[2].kind != DDK_ARG_TENSOR)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong number of arguments");
  const ddk_tensor* o = ddk_kernel_arg_tensor(ctx, node, 2);
  if (o->dtype != ddk_kernel_out(ctx, node, 0)->dtype)
    return ddk_kernel_fail(ctx, node, DDK_DTYPE_MISMATCH,
                           "the result dtype must be the dtype of 'out'");
  return atan2_run(ctx, node);
}

/* ------------------------------------------------------------------------ */
/* maximum, minimum, clamp.Tensor                                           */
/* ------------------------------------------------------------------------ */

typedef struct clamp_params {
  int lo; /* input index of the lower bound, -1 if none */
  int hi; /* input index of the upper bound, -1 if none */
} clamp_params;

/* ATen's maximum/minimum: NaN propagates (the vectorised form). */
#define DEFINE_MINMAX(NAME, T, CMP) \
  static inline T NAME(T a, T b) {  \
    if (a != a) return a;           \
    if (b != b) return b;           \
    return a CMP b ? a : b;         \
  }
DEFINE_MINMAX(max_f32, float, >)
DEFINE_MINMAX(min_f32, float, <)
DEFINE_MINMAX(max_f64, double, >)
DEFINE_MINMAX(min_f64, double, <)
DEFINE_MINMAX(max_i64, int64_t, >)
DEFINE_MINMAX(min_i64, int64_t, <)

#define CLAMP_LOOP(T, MAX, MIN)                                  \
  do {                                                           \
    T* c = (T*)out;                                              \
    const T* a = (const T*)in[0];                                \
    const T* lo = p->lo >= 0 ? (const T*)in[p->lo] : NULL;       \
    const T* hi = p->hi >= 0 ? (const T*)in[p->hi] : NULL;       \
    for (int64_t i = 0; i < n; ++i) {                            \
      T v = a[i];                                                \
      if (lo != NULL) v = MAX(v, lo[i]);                         \
      if (hi != NULL) v = MIN(v, hi[i]);                         \
      if (lo != NULL && hi != NULL && lo[i] != lo[i]) v = lo[i]; \
      c[i] = v;                                                  \
    }                                                            \
  } while (0)

static void clamp_chunk(void* user, ddk_ku_math math, void* out, const void* const* in, int64_t n) {
  const clamp_params* p = (const clamp_params*)user;
  if (math == DDK_KU_MATH_F32)
    CLAMP_LOOP(float, max_f32, min_f32);
  else if (math == DDK_KU_MATH_F64)
    CLAMP_LOOP(double, max_f64, min_f64);
  else if (math == DDK_KU_MATH_I64)
    CLAMP_LOOP(int64_t, max_i64, min_i64);
}

static ddk_status clamp_run(ddk_kernel_ctx* ctx, const ddk_node_view* node, const ddk_tensor* a,
                            const ddk_tensor* lo, const ddk_tensor* hi, uint32_t out_mask) {
  ddk_tensor* out = ddk_kernel_out(ctx, node, 0);
  ddk_status st = ddk_ku_check_dtype(ctx, node, "self", a, DDK_KU_MASK_REAL);
  if (st == DDK_OK && lo != NULL) st = ddk_ku_check_dtype(ctx, node, "min", lo, DDK_KU_MASK_REAL);
  if (st == DDK_OK && hi != NULL) st = ddk_ku_check_dtype(ctx, node, "max", hi, DDK_KU_MASK_REAL);
  if (st == DDK_OK) st = ddk_ku_check_dtype(ctx, node, "the result", out, out_mask);
  if (st != DDK_OK) return st;
  const ddk_tensor* ins[3] = {a, NULL, NULL};
  clamp_params p = {-1, -1};
  uint32_t k = 1;
  if (lo != NULL) {
    p.lo = (int)k;
    ins[k++] = lo;
  }
  if (hi != NULL) {
    p.hi = (int)k;
    ins[k++] = hi;
  }
  const ddk_dtype round_to[3] = {out->dtype, out->dtype, out->dtype};
  if (!ddk_bin_map(out, ins, round_to, k, ddk_ku_math_of(out->dtype), clamp_chunk, &p))
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH,
                           "inputs do not broadcast to the output shape");
  return DDK_OK;
}

ddk_status ddk_kernel_aten_maximum(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  if (node->num_args < 2 || node->num_outputs < 1)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong number of arguments");
  return clamp_run(ctx, node, ddk_kernel_arg_tensor(ctx, node, 0),
                   ddk_kernel_arg_tensor(ctx, node, 1), NULL, DDK_KU_MASK_REAL);
}

ddk_status ddk_kernel_aten_minimum(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  if (node->num_args < 2 || node->num_outputs < 1)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong number of arguments");
  return clamp_run(ctx, node, ddk_kernel_arg_tensor(ctx, node, 0), NULL,
                   ddk_kernel_arg_tensor(ctx, node, 1), DDK_KU_MASK_REAL);
}

ddk_status ddk_kernel_aten_clamp_tensor(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  if (node->num_args < 3 || node->num_outputs < 1)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong number of arguments");
  const ddk_tensor* lo =
      node->args[1].kind == DDK_ARG_TENSOR ? ddk_kernel_arg_tensor(ctx, node, 1) : NULL;
  const ddk_tensor* hi =
      node->args[2].kind == DDK_ARG_TENSOR ? ddk_kernel_arg_tensor(ctx, node, 2) : NULL;
  if (lo == NULL && hi == NULL)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT,
                           "At least one of 'min' or 'max' must not be None");
  /* ATen's clamp kernel has no bool; one bound is maximum/minimum, which has */
  uint32_t mask = DDK_KU_MASK_INTS | DDK_KU_MASK_FLOATS;
  if (lo == NULL || hi == NULL) mask |= DDK_KU_BIT(BOOL);
  return clamp_run(ctx, node, ddk_kernel_arg_tensor(ctx, node, 0), lo, hi, mask);
}

/* ------------------------------------------------------------------------ */
/* where.self                                                               */
/* ------------------------------------------------------------------------ */

#define WHERE_LOOP(T)                                                         \
  do {                                                                        \
    T* c = (T*)out;                                                           \
    const T *m = (const T*)in[0], *a = (const T*)in[1], *b = (const T*)in[2]; \
    for (int64_t i = 0; i < n; ++i) c[i] = m[i] != 0 ? a[i] : b[i];           \
  } while (0)

static void where_chunk(void* user, ddk_ku_math math, void* out, const void* const* in, int64_t n) {
  (void)user;
  if (math == DDK_KU_MATH_F32)
    WHERE_LOOP(float);
  else if (math == DDK_KU_MATH_F64)
    WHERE_LOOP(double);
  else if (math == DDK_KU_MATH_I64)
    WHERE_LOOP(int64_t);
}

ddk_status ddk_kernel_aten_where_self(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  if (node->num_args < 3 || node->num_outputs < 1)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong number of arguments");
  const ddk_tensor* m = ddk_kernel_arg_tensor(ctx, node, 0);
  const ddk_tensor* a = ddk_kernel_arg_tensor(ctx, node, 1);
  const ddk_tensor* b = ddk_kernel_arg_tensor(ctx, node, 2);
  ddk_tensor* out = ddk_kernel_out(ctx, node, 0);
  ddk_status st =
      ddk_ku_check_dtype(ctx, node, "condition", m, DDK_KU_BIT(BOOL) | DDK_KU_BIT(UINT8));
  if (st == DDK_OK) st = ddk_ku_check_dtype(ctx, node, "self", a, DDK_KU_MASK_REAL);
  if (st == DDK_OK) st = ddk_ku_check_dtype(ctx, node, "other", b, DDK_KU_MASK_REAL);
  if (st == DDK_OK) st = ddk_ku_check_dtype(ctx, node, "the result", out, DDK_KU_MASK_REAL);
  if (st != DDK_OK) return st;
  const ddk_tensor* ins[3] = {m, a, b};
  const ddk_dtype round_to[3] = {m->dtype, out->dtype, out->dtype};
  if (!ddk_bin_map(out, ins, round_to, 3, ddk_ku_math_of(out->dtype), where_chunk, NULL))
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH,
                           "inputs do not broadcast to the output shape");
  return DDK_OK;
}
