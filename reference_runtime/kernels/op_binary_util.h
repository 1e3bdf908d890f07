/*
 * op_binary_util.h — helpers of the elementwise binary, comparison, logical
 * and bitwise kernels (op_elementwise_binary.c, op_binary_*.c,
 * op_comparison.c, op_logical_bitwise.c).
 *
 *  - ddk_bin_map: the elementwise driver. Unlike ddk_ku_map it computes in
 *    an explicit math type and rounds each input to its own dtype first
 *    (ATen's common dtype, or float for the reduced-float Scalar operand
 *    ATen keeps in opmath), and stores the computed row into the output's
 *    dtype (bool for comparisons, a wider dtype for atan2.out).
 *  - ddk_bin_scalar: a Scalar argument viewed as a 0-d tensor (ATen's
 *    wrapped number: float64, int64 or bool), so Scalar overloads share the
 *    Tensor code and its broadcasting.
 *  - ddk_bin_result_type: at::result_type over tensors (0-d tensors only
 *    raise the category), for kernels whose output dtype is not the
 *    computation dtype.
 *
 * Everything is static inline, allocation-free and global-free.
 */
#ifndef DDK_OP_BINARY_UTIL_H_
#define DDK_OP_BINARY_UTIL_H_

#include "kernel_util.h"

/** Per-chunk worker: n math values out[] from in[k][] (math type `math`). */
typedef void (*ddk_bin_fn)(void* user, ddk_ku_math math, void* out, const void* const* in,
                           int64_t n);

/**
 * Walks `out` (any strides) with `num_inputs` inputs broadcast to it;
 * gathers input k in math type `math`, rounded to dtype round_to[k] first;
 * calls `fn`; stores the row into out's dtype. False when an input does not
 * broadcast to `out` (nothing written).
 */
static inline bool ddk_bin_map(ddk_tensor* out, const ddk_tensor* const* inputs,
                               const ddk_dtype* round_to, uint32_t num_inputs, ddk_ku_math math,
                               ddk_bin_fn fn, void* user) {
  return ddk_ku_map_ex(out, inputs, round_to, num_inputs, math, fn, user);
}

/** A Scalar argument as a 0-d tensor; `t.data` points into the struct, so
 * do not copy it after ddk_bin_scalar_init. */
typedef struct ddk_bin_scalar {
  ddk_ku_scalar s;
  ddk_tensor t;
  union {
    double f;
    int64_t i;
    uint8_t b;
  } v;
} ddk_bin_scalar;

/** Reads Scalar argument `index` into `bs` (ATen's wrapped number: float64
 * for a float, int64 for an int, bool for a bool). */
static inline ddk_status ddk_bin_scalar_init(ddk_kernel_ctx* ctx, const ddk_node_view* node,
                                             uint32_t index, const char* name, ddk_bin_scalar* bs) {
  memset(bs, 0, sizeof *bs);
  ddk_status st = ddk_ku_arg_scalar(ctx, node, index, name, &bs->s);
  if (st != DDK_OK) return st;
  if (bs->s.is_float) {
    bs->v.f = bs->s.f;
    bs->t.dtype = DDK_DTYPE_FLOAT64;
  } else if (bs->s.is_bool) {
    bs->v.b = (uint8_t)(bs->s.i != 0);
    bs->t.dtype = DDK_DTYPE_BOOL;
  } else {
    bs->v.i = bs->s.i;
    bs->t.dtype = DDK_DTYPE_INT64;
  }
  bs->t.data = &bs->v;
  bs->t.capacity = sizeof bs->v;
  bs->t.rank = 0;
  return DDK_OK;
}

/** The arg kind (DDK_ARG_INT/FLOAT/BOOL) of a read Scalar. */
static inline uint32_t ddk_bin_scalar_kind(const ddk_bin_scalar* bs) {
  return bs->s.is_float ? DDK_ARG_FLOAT : bs->s.is_bool ? DDK_ARG_BOOL : DDK_ARG_INT;
}

static inline ddk_dtype ddk_bin_promote(ddk_dtype a, ddk_dtype b) {
  if (a == DDK_DTYPE_INVALID) return b;
  if (b == DDK_DTYPE_INVALID) return a;
  return ddk_promote_types(a, b);
}

/** at::result_type over real tensors: a 0-d tensor only raises the
 * category of the dimensioned ones. NULL entries are skipped. */
static inline ddk_dtype ddk_bin_result_type(const ddk_tensor* const* ts, uint32_t n) {
  ddk_dtype dim_r = DDK_DTYPE_INVALID, zero_r = DDK_DTYPE_INVALID;
  for (uint32_t i = 0; i < n; ++i) {
    if (ts[i] == NULL) continue;
    if (ts[i]->rank > 0)
      dim_r = ddk_bin_promote(dim_r, ts[i]->dtype);
    else
      zero_r = ddk_bin_promote(zero_r, ts[i]->dtype);
  }
  if (dim_r == DDK_DTYPE_INVALID) return zero_r;
  if (zero_r == DDK_DTYPE_INVALID) return dim_r;
  const int hc = ddk_dtype_category(dim_r), lc = ddk_dtype_category(zero_r);
  return lc > hc ? ddk_bin_promote(dim_r, zero_r) : dim_r;
}

/** True for float16/bfloat16, which ATen computes in float. */
static inline bool ddk_bin_is_reduced(ddk_dtype dt) {
  return dt == DDK_DTYPE_FLOAT16 || dt == DDK_DTYPE_BFLOAT16;
}

/** Fails "division by zero" (ATen raises ZeroDivisionError). */
static inline ddk_status ddk_bin_zero_div(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT,
                         "ZeroDivisionError: integer division by zero");
}

#endif /* DDK_OP_BINARY_UTIL_H_ */
