/*
 * op_quantized_util.h — helpers shared by the quantized_decomposed kernels
 * (op_quantized_*.c). Internal to the reference runtime's kernels.
 *
 * The torch decompositions these kernels follow are chains of ATen ops,
 * each rounding its result to its own result dtype. The helpers compute
 * every step in double and round it to the step's dtype (q_rnd): for
 * +, -, *, / on values of at most float precision this equals ATen's float
 * (opmath) computation rounded to the storage dtype, bit for bit.
 *
 * Float -> integer conversions follow what ATen's CPU conversion does on
 * x86-64 (cvttss2si): truncation; NaN and values outside the 32-bit range
 * (64-bit for int64) give the "integer indefinite" INT_MIN, then the value
 * wraps to the target width.
 */
#ifndef DDK_OP_QUANTIZED_UTIL_H_
#define DDK_OP_QUANTIZED_UTIL_H_

#include "kernel_util.h"

/** One loaded element: as double (f) and, for integer dtypes, exactly (i). */
typedef struct q_elem {
  double f;
  int64_t i;
} q_elem;

static inline bool q_is_int(ddk_dtype dt) {
  return ddk_ku_math_of(dt) == DDK_KU_MATH_I64;
}

static inline bool q_is_float(ddk_dtype dt) {
  return dt == DDK_DTYPE_FLOAT32 || dt == DDK_DTYPE_FLOAT64 || dt == DDK_DTYPE_FLOAT16 ||
         dt == DDK_DTYPE_BFLOAT16;
}

static inline q_elem q_load(const void* base, ddk_dtype dt, int64_t off) {
  q_elem e;
  if (q_is_int(dt)) {
    e.i = ddk_ku_load_i64(base, dt, off);
    e.f = (double)e.i;
  } else {
    e.f = ddk_ku_load_f64(base, dt, off);
    e.i = 0;
  }
  return e;
}

/** v rounded to the precision of float dtype dt (float64: unchanged). */
static inline double q_rnd(double v, ddk_dtype dt) {
  switch (dt) {
    case DDK_DTYPE_FLOAT32:
      return (double)(float)v;
    case DDK_DTYPE_FLOAT16:
      return (double)ddk_ku_half_to_float(ddk_ku_float_to_half((float)v));
    case DDK_DTYPE_BFLOAT16:
      return (double)ddk_ku_bf16_to_float(ddk_ku_float_to_bf16((float)v));
    default:
      return v;
  }
}

/** ATen's clamp(v, lo, hi): NaN propagates, lo > hi gives hi. */
static inline double q_clamp(double v, double lo, double hi) {
  if (v != v) return v;
  if (v < lo) v = lo;
  if (v > hi) v = hi;
  return v;
}

/** Float -> integer as ATen's CPU conversion does on x86-64 (see top). */
static inline int64_t q_f2i(double v, ddk_dtype dt) {
  if (dt == DDK_DTYPE_INT64) {
    if (!(v >= -9223372036854775808.0 && v < 9223372036854775808.0)) return INT64_MIN;
    return (int64_t)v;
  }
  if (!(v >= -2147483648.0 && v < 2147483648.0)) return INT32_MIN;
  return (int64_t)v;
}

/** Stores the float value v as element off of t (any real dtype). */
static inline void q_store(ddk_tensor* t, int64_t off, double v) {
  if (q_is_int(t->dtype) && t->dtype != DDK_DTYPE_BOOL)
    ddk_ku_store_i64(t->data, t->dtype, off, q_f2i(v, t->dtype));
  else
    ddk_ku_store_f64(t->data, t->dtype, off, v);
}

/** The dtype of `1.0 / t` for a tensor of dtype dt. */
static inline ddk_dtype q_recip_dtype(ddk_dtype dt) {
  return q_is_float(dt) ? dt : DDK_DTYPE_FLOAT32;
}

/** result_type of two tensors (a 0-d tensor only raises the category). */
static inline ddk_dtype q_result_type(ddk_dtype a, uint32_t a_rank, ddk_dtype b, uint32_t b_rank) {
  if ((a_rank == 0) == (b_rank == 0)) return ddk_promote_types(a, b);
  ddk_dtype dim = a_rank == 0 ? b : a, zero = a_rank == 0 ? a : b;
  if (ddk_dtype_category(zero) > ddk_dtype_category(dim)) return ddk_promote_types(a, b);
  return dim;
}

/** Value range of a quantized dtype (torch's _DTYPE_TO_QVALUE_BOUNDS). */
static inline bool q_bounds(ddk_dtype dt, int64_t* lo, int64_t* hi) {
  switch (dt) {
    case DDK_DTYPE_UINT8:
      *lo = 0, *hi = 255;
      return true;
    case DDK_DTYPE_INT8:
      *lo = -128, *hi = 127;
      return true;
    case DDK_DTYPE_INT16:
      *lo = -32768, *hi = 32767;
      return true;
    case DDK_DTYPE_INT32:
      *lo = INT32_MIN, *hi = INT32_MAX;
      return true;
    default:
      return false;
  }
}

/** FLOAT (or INT) argument i as double. */
static inline double q_arg_f64(const ddk_node_view* node, uint32_t i) {
  const ddk_arg* a = &node->args[i];
  if (a->kind == DDK_ARG_INT) return (double)a->u.i;
  if (a->kind == DDK_ARG_BOOL) return a->u.b ? 1.0 : 0.0;
  return a->u.f;
}

/** ScalarType argument i, or dflt when it is None. */
static inline ddk_dtype q_arg_dtype(const ddk_node_view* node, uint32_t i, ddk_dtype dflt) {
  if (i >= node->num_args || node->args[i].kind != DDK_ARG_DTYPE) return dflt;
  return (ddk_dtype)node->args[i].u.i;
}

/** The optional tensor argument i, or NULL when it is None. */
static inline ddk_tensor* q_opt_tensor(ddk_kernel_ctx* ctx, const ddk_node_view* node, uint32_t i) {
  if (i >= node->num_args || node->args[i].kind != DDK_ARG_TENSOR) return NULL;
  return ddk_kernel_arg_tensor(ctx, node, i);
}

/** The single element of a 1-element tensor (Tensor.item()). */
static inline q_elem q_item(const ddk_tensor* t) {
  return q_load(t->data, t->dtype, 0);
}

/** Element offset of row-major index f over the first `rank` dims of t. */
static inline int64_t q_offset_of(const ddk_tensor* t, uint32_t rank, int64_t f) {
  int64_t off = 0;
  for (int d = (int)rank - 1; d >= 0; --d) {
    const int64_t n = t->sizes[d];
    if (n <= 0) return 0;
    off += (f % n) * t->strides[d];
    f /= n;
  }
  return off;
}

/** Per-element worker of q_map: `in` holds one element of each input. */
typedef void (*q_elem_fn)(const void* user, ddk_tensor* out, int64_t off, const q_elem* in);

/**
 * Walks `out` (any strides) with n <= 3 inputs broadcast to it (each given
 * as a tensor whose rank/sizes/strides describe how it maps onto out) and
 * calls fn per element. False when an input does not broadcast.
 */
static inline bool q_map(ddk_tensor* out, const ddk_tensor* const* ins, uint32_t n, q_elem_fn fn,
                         const void* user) {
  ddk_ku_loop l;
  if (n > DDK_KU_MAX_OPERANDS - 1 || !ddk_ku_loop_init(&l, out, ins, n)) return false;
  if (l.numel == 0) return true;
  const uint32_t last = l.rank - 1;
  const int64_t inner = l.sizes[last];
  const int64_t rows = l.numel / inner;
  ddk_ku_cursor c;
  ddk_ku_cursor_init(&c);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t i = 0; i < inner; ++i) {
      q_elem v[DDK_KU_MAX_OPERANDS];
      for (uint32_t k = 0; k < n; ++k)
        v[k] = q_load(ins[k]->data, ins[k]->dtype, c.offset[k + 1] + i * l.strides[k + 1][last]);
      fn(user, out, c.offset[0] + i * l.strides[0][last], v);
    }
    ddk_ku_cursor_next_row(&l, &c);
  }
  return true;
}

#endif /* DDK_OP_QUANTIZED_UTIL_H_ */
