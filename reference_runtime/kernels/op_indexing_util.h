/*
 * op_indexing_util.h — helpers shared by the indexing, scatter/gather and
 * embedding kernels (op_indexing.c, op_scatter.c, op_embedding.c).
 *
 * Everything is static inline, allocation-free and global-free. Elements
 * are addressed by element offsets (strides in elements); positions are
 * walked in row-major (logical) order with ddk_ix_next.
 */
#ifndef DDK_OP_INDEXING_UTIL_H_
#define DDK_OP_INDEXING_UTIL_H_

#include "kernel_util.h"

/** True for the dtypes ATen accepts as integer indices. */
static inline bool ddk_ix_is_index_dtype(ddk_dtype d) {
  return d == DDK_DTYPE_INT64 || d == DDK_DTYPE_INT32;
}

/** Element `off` of an int32 / int64 index tensor. */
static inline int64_t ddk_ix_index_at(const ddk_tensor* t, int64_t off) {
  if (t->dtype == DDK_DTYPE_INT32) return ((const int32_t*)t->data)[off];
  return ((const int64_t*)t->data)[off];
}

/** Advances `pos` to the next row-major position over sizes/rank; false
 * (and pos all zero) after the last one. */
static inline bool ddk_ix_next(int64_t* pos, const int64_t* sizes, uint32_t rank) {
  for (int d = (int)rank - 1; d >= 0; --d) {
    if (++pos[d] < sizes[d]) return true;
    pos[d] = 0;
  }
  return false;
}

/** sum(pos[i] * strides[i]). */
static inline int64_t ddk_ix_dot(const int64_t* pos, const int64_t* strides, uint32_t rank) {
  int64_t off = 0;
  for (uint32_t i = 0; i < rank; ++i) off += pos[i] * strides[i];
  return off;
}

/** Copies one element of `es` bytes. */
static inline void ddk_ix_copy_elem(void* dst, int64_t doff, const void* src, int64_t soff,
                                    size_t es) {
  memcpy((char*)dst + (size_t)doff * es, (const char*)src + (size_t)soff * es, es);
}

/** True when the element at `off` is nonzero (NaN counts as nonzero, -0.0
 * as zero), for any real dtype. */
static inline bool ddk_ix_nonzero(const void* base, ddk_dtype dt, int64_t off) {
  switch (ddk_ku_math_of(dt)) {
    case DDK_KU_MATH_F32:
      return ddk_ku_load_f32(base, dt, off) != 0.0f;
    case DDK_KU_MATH_F64:
      return ddk_ku_load_f64(base, dt, off) != 0.0;
    default:
      return ddk_ku_load_i64(base, dt, off) != 0;
  }
}

/** out = self, element by element (same shape, any strides, one dtype). */
static inline void ddk_ix_copy_tensor(ddk_tensor* out, const ddk_tensor* self) {
  ddk_ku_copy_strided(out->data, out->strides, self->data, self->strides, self->sizes, self->rank,
                      ddk_dtype_size(self->dtype));
}

/**
 * dst[doff] += src[soff], both of dtype `dt`, computed in the dtype's math
 * type and rounded (or wrapped) into `dt` at once — what ATen's
 * accumulating index_put does per element (Half + Half -> Half each time).
 */
static inline void ddk_ix_add_elem(void* dst, int64_t doff, const void* src, int64_t soff,
                                   ddk_dtype dt) {
  switch (ddk_ku_math_of(dt)) {
    case DDK_KU_MATH_F32:
      ddk_ku_store_f32(dst, dt, doff,
                       ddk_ku_load_f32(dst, dt, doff) + ddk_ku_load_f32(src, dt, soff));
      return;
    case DDK_KU_MATH_F64:
      ddk_ku_store_f64(dst, dt, doff,
                       ddk_ku_load_f64(dst, dt, doff) + ddk_ku_load_f64(src, dt, soff));
      return;
    default:
      ddk_ku_store_i64(
          dst, dt, doff,
          ddk_ku_wrap_add(ddk_ku_load_i64(dst, dt, doff), ddk_ku_load_i64(src, dt, soff)));
      return;
  }
}

/** A Scalar argument converted to dtype `dt` as c10::Scalar::to<T>() does
 * (with its overflow check; bool takes value != 0), stored into `out` (at
 * least 8 bytes). False on overflow. */
static inline bool ddk_ix_scalar_to_elem(const ddk_ku_scalar* s, ddk_dtype dt, void* out) {
  if (dt == DDK_DTYPE_BOOL) {
    ddk_ku_store_i64(out, dt, 0, s->is_float ? (int64_t)(s->f != 0.0) : (int64_t)(s->i != 0));
    return true;
  }
  if (ddk_ku_math_of(dt) == DDK_KU_MATH_I64) {
    int64_t v = 0;
    if (!ddk_ku_scalar_to_i64(s, dt, &v)) return false;
    ddk_ku_store_i64(out, dt, 0, v);
    return true;
  }
  double v = 0.0;
  if (!ddk_ku_scalar_to_float(s, dt, &v)) return false;
  ddk_ku_store_f64(out, dt, 0, v);
  return true;
}

#endif /* DDK_OP_INDEXING_UTIL_H_ */
