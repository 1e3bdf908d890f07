/*
 * op_pooling_util.h — helpers shared by the pooling, col2im, convolution
 * backward and normalization kernels (op_pooling_*.c, op_col2im.c,
 * op_conv_backward.c, op_normalization.c). Everything is static inline,
 * allocation-free and global-free.
 *
 * Spatial dims are right-aligned into three (D, H, W): a 1-d op uses W
 * only, a 2-d op H and W; the unused dims have size 1 and stride 0.
 */
#ifndef DDK_OP_POOLING_UTIL_H_
#define DDK_OP_POOLING_UTIL_H_

#include "kernel_util.h"

/** Strides of a [N, C, *spatial] or [C, *spatial] tensor with S spatial
 * dims as {n, c, d, h, w}; a missing batch or spatial dim gets stride 0. */
static inline void ddk_pu_strides5(const ddk_tensor* t, uint32_t S, int64_t out[5]) {
  const uint32_t lead = t->rank - S - 1; /* 1 when batched */
  out[0] = lead ? t->strides[0] : 0;
  out[1] = t->strides[lead];
  for (uint32_t i = 0; i < 3; ++i) out[2 + i] = 0;
  for (uint32_t i = 0; i < S; ++i) out[2 + (3 - S) + i] = t->strides[lead + 1 + i];
}

/** Sizes {N, C, D, H, W} of such a tensor (N = 1 and missing dims 1). */
static inline void ddk_pu_sizes5(const ddk_tensor* t, uint32_t S, int64_t out[5]) {
  const uint32_t lead = t->rank - S - 1;
  out[0] = lead ? t->sizes[0] : 1;
  out[1] = t->sizes[lead];
  for (uint32_t i = 0; i < 3; ++i) out[2 + i] = 1;
  for (uint32_t i = 0; i < S; ++i) out[2 + (3 - S) + i] = t->sizes[lead + 1 + i];
}

/** t[off] += v in t's dtype, rounding once per addition as ATen's scalar
 * `+=` does (float16/bfloat16 add in float and round to storage; integers
 * wrap; bool ORs). */
static inline void ddk_pu_add(void* base, ddk_dtype dt, int64_t off, double v) {
  switch (ddk_ku_math_of(dt)) {
    case DDK_KU_MATH_F32:
      ddk_ku_store_f32(base, dt, off, ddk_ku_load_f32(base, dt, off) + (float)v);
      break;
    case DDK_KU_MATH_F64:
      ((double*)base)[off] += v;
      break;
    case DDK_KU_MATH_I64:
      ddk_ku_store_i64(base, dt, off,
                       ddk_ku_wrap_add(ddk_ku_load_i64(base, dt, off), ddk_ku_f64_to_i64(v)));
      break;
    case DDK_KU_MATH_NONE:
      break;
  }
}

/** Sets every element of `t` (any strides, real dtype) to zero. */
static inline void ddk_pu_zero(ddk_tensor* t) {
  int64_t n = ddk_tensor_numel(t);
  if (n == 0) return;
  int64_t idx[DDK_MAX_RANK] = {0};
  for (int64_t e = 0; e < n; ++e) {
    int64_t off = 0;
    for (uint32_t d = 0; d < t->rank; ++d) off += idx[d] * t->strides[d];
    ddk_ku_store_f64(t->data, t->dtype, off, 0.0);
    for (int d = (int)t->rank - 1; d >= 0; --d) {
      if (++idx[d] < t->sizes[d]) break;
      idx[d] = 0;
    }
  }
}

/** True when `a` has rank `rank` and sizes `sizes`. */
static inline bool ddk_pu_same_sizes(const ddk_tensor* a, const int64_t* sizes, uint32_t rank) {
  if (a->rank != rank) return false;
  for (uint32_t i = 0; i < rank; ++i)
    if (a->sizes[i] != sizes[i]) return false;
  return true;
}

#endif /* DDK_OP_POOLING_UTIL_H_ */
