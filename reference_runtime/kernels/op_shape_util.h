/*
 * op_shape_util.h — helpers of the shape/view, padding, creation and random
 * kernels (op_shape_view.c, op_padding.c, op_creation.c, op_random.c).
 *
 * The DDK has no aliasing between values, so a view op writes a contiguous
 * copy of the view's elements. Every view is described the way ATen
 * describes it: an element offset and a stride per result dim, both in
 * elements of the input's storage (its data buffer, in memory order). A
 * view over any dense input (contiguous, channels-last, permuted) is then
 * one gather, ddk_sv_gather(), which refuses a view that reads outside the
 * storage instead of reading out of bounds.
 *
 * Allocation-free, global-free, I/O-free; all static inline.
 */
#ifndef DDK_OP_SHAPE_UTIL_H_
#define DDK_OP_SHAPE_UTIL_H_

#include "kernel_util.h"

/** Most dims a gather walks (repeat splits each dim in two). */
#define DDK_SV_MAX_DIMS (2 * DDK_MAX_RANK)

/** Advances the multi-index `idx` over `sizes`/`rank` (row-major). */
static inline void ddk_sv_next_index(int64_t* idx, const int64_t* sizes, uint32_t rank) {
  for (int d = (int)rank - 1; d >= 0; --d) {
    if (++idx[d] < sizes[d]) return;
    idx[d] = 0;
  }
}

/**
 * Lowest and highest element offset `offset + sum(i_d * strides[d])` takes
 * over the index space `sizes`/`rank` (which must not be empty). False
 * when the arithmetic overflows int64.
 */
static inline bool ddk_sv_extent(int64_t offset, const int64_t* strides, const int64_t* sizes,
                                 uint32_t rank, int64_t* out_lo, int64_t* out_hi) {
  int64_t lo = offset, hi = offset;
  for (uint32_t d = 0; d < rank; ++d) {
    int64_t span = 0;
    if (__builtin_mul_overflow(sizes[d] - 1, strides[d], &span)) return false;
    if (__builtin_add_overflow(span < 0 ? lo : hi, span, span < 0 ? &lo : &hi)) return false;
  }
  *out_lo = lo;
  *out_hi = hi;
  return true;
}

/** True when `t` holds `numel` elements of its dtype within its capacity. */
static inline bool ddk_sv_fits(const ddk_tensor* t, int64_t numel) {
  size_t es = ddk_dtype_size(t->dtype);
  return es != 0 && numel >= 0 && (uint64_t)numel <= t->capacity / es;
}

/**
 * The gather every view kernel is: for each index i of sizes/rank,
 *   dst[dst_off + dst_strides . i] = src[src_off + src_strides . i]
 * (offsets in elements of `es` bytes). Checks first that every read lies
 * in [0, src_numel) and every write in [0, dst_numel); false (nothing
 * written) otherwise. Strides may be 0 or negative; rank <= DDK_SV_MAX_DIMS.
 */
static inline bool ddk_sv_copy(void* dst, int64_t dst_numel, int64_t dst_off,
                               const int64_t* dst_strides, const void* src, int64_t src_numel,
                               int64_t src_off, const int64_t* src_strides, const int64_t* sizes,
                               uint32_t rank, size_t es) {
  if (rank > DDK_SV_MAX_DIMS) return false;
  int64_t n = 1;
  for (uint32_t d = 0; d < rank; ++d) {
    if (sizes[d] < 0) return false;
    n *= sizes[d];
  }
  if (n == 0) return true;
  int64_t lo, hi;
  if (!ddk_sv_extent(src_off, src_strides, sizes, rank, &lo, &hi) || lo < 0 || hi >= src_numel)
    return false;
  if (!ddk_sv_extent(dst_off, dst_strides, sizes, rank, &lo, &hi) || lo < 0 || hi >= dst_numel)
    return false;
  int64_t idx[DDK_SV_MAX_DIMS] = {0};
  const int64_t inner = rank == 0 ? 1 : sizes[rank - 1];
  const int64_t ds = rank == 0 ? 0 : dst_strides[rank - 1];
  const int64_t ss = rank == 0 ? 0 : src_strides[rank - 1];
  const uint32_t outer_rank = rank == 0 ? 0 : rank - 1;
  for (int64_t done = 0; done < n; done += inner) {
    int64_t so = src_off, dof = dst_off;
    for (uint32_t d = 0; d < outer_rank; ++d) {
      so += idx[d] * src_strides[d];
      dof += idx[d] * dst_strides[d];
    }
    for (int64_t i = 0; i < inner; ++i)
      memcpy((char*)dst + (size_t)(dof + i * ds) * es,
             (const char*)src + (size_t)(so + i * ss) * es, es);
    ddk_sv_next_index(idx, sizes, outer_rank);
  }
  return true;
}

/**
 * Writes the view (offset, strides per dim of `out`) of x's storage into
 * `out`, through out's own strides. Fails (OUT_OF_RANGE) when the view
 * would read outside x's storage, or the tensors' capacities are short.
 */
static inline ddk_status ddk_sv_gather(ddk_kernel_ctx* ctx, const ddk_node_view* node,
                                       ddk_tensor* out, const ddk_tensor* x, int64_t offset,
                                       const int64_t* strides) {
  const int64_t xn = ddk_tensor_numel(x), on = ddk_tensor_numel(out);
  if (out->dtype != x->dtype || ddk_dtype_size(x->dtype) == 0)
    return ddk_kernel_fail(ctx, node, DDK_DTYPE_MISMATCH, "result dtype %s differs from self's %s",
                           ddk_dtype_name(out->dtype), ddk_dtype_name(x->dtype));
  if (!ddk_sv_fits(x, xn) || !ddk_sv_fits(out, on))
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "tensor capacity too small");
  if (!ddk_sv_copy(out->data, on, 0, out->strides, x->data, xn, offset, strides, out->sizes,
                   out->rank, ddk_dtype_size(x->dtype)))
    return ddk_kernel_fail(ctx, node, DDK_OUT_OF_RANGE,
                           "the view reads outside self's storage of %lld elements", (long long)xn);
  return DDK_OK;
}

/** Expects `node` to have at least `num_args` args and `num_outputs` outputs. */
static inline ddk_status ddk_sv_need(ddk_kernel_ctx* ctx, const ddk_node_view* node,
                                     uint32_t num_args, uint32_t num_outputs) {
  if (node->num_args < num_args || node->num_outputs < num_outputs)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT,
                           "expected %u arguments and %u outputs, got %u and %u", num_args,
                           num_outputs, node->num_args, node->num_outputs);
  return DDK_OK;
}

/** Argument `i` is a tensor; *out is it. */
static inline ddk_status ddk_sv_arg_tensor(ddk_kernel_ctx* ctx, const ddk_node_view* node,
                                           uint32_t i, const char* name, const ddk_tensor** out) {
  if (node->args[i].kind != DDK_ARG_TENSOR || node->args[i].u.tensor == DDK_NO_VALUE)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "argument '%s' must be a tensor", name);
  *out = ddk_kernel_arg_tensor(ctx, node, i);
  return DDK_OK;
}

/** Argument `i` as an int (an INT) or an int list (INT_LIST; an INT counts
 * as a list of one). */
static inline ddk_status ddk_sv_arg_int(ddk_kernel_ctx* ctx, const ddk_node_view* node, uint32_t i,
                                        const char* name, int64_t* out) {
  if (node->args[i].kind != DDK_ARG_INT)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "argument '%s' must be an int", name);
  *out = node->args[i].u.i;
  return DDK_OK;
}

static inline ddk_status ddk_sv_arg_ints(ddk_kernel_ctx* ctx, const ddk_node_view* node, uint32_t i,
                                         const char* name, const int64_t** v, uint32_t* n) {
  const ddk_arg* a = &node->args[i];
  if (a->kind == DDK_ARG_INT) {
    *v = &a->u.i;
    *n = 1;
    return DDK_OK;
  }
  if (a->kind != DDK_ARG_INT_LIST || (a->count > 0 && a->u.ints == NULL))
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "argument '%s' must be a list of ints",
                           name);
  *v = a->u.ints;
  *n = a->count;
  return DDK_OK;
}

/** Wraps dim `d` of a tensor of `rank` (0-d tensors accept -1 and 0). */
static inline ddk_status ddk_sv_wrap_dim(ddk_kernel_ctx* ctx, const ddk_node_view* node, int64_t d,
                                         uint32_t rank, int64_t* out) {
  const int64_t r = rank == 0 ? 1 : (int64_t)rank;
  if (d < -r || d >= r)
    return ddk_kernel_fail(ctx, node, DDK_OUT_OF_RANGE, "dim %lld out of range [%lld, %lld]",
                           (long long)d, (long long)-r, (long long)(r - 1));
  *out = d < 0 ? d + r : d;
  return DDK_OK;
}

/**
 * A float Scalar converted to integer dtype `dtype` as c10 does: accepted
 * when lowest <= f < max + 1 (so 127.9 -> int8 127, but -0.5 -> uint8 and
 * -128.5 -> int8 overflow; NaN and Inf overflow), then truncated.
 */
static inline bool ddk_sv_float_fits_int(double f, ddk_dtype dtype, int64_t* out) {
  double lo = 0.0, hi = 0.0; /* accepted: lo <= f < hi */
  switch (dtype) {
    case DDK_DTYPE_UINT8:
      lo = 0.0;
      hi = 256.0;
      break;
    case DDK_DTYPE_INT8:
      lo = -128.0;
      hi = 128.0;
      break;
    case DDK_DTYPE_INT16:
      lo = -32768.0;
      hi = 32768.0;
      break;
    case DDK_DTYPE_INT32:
      lo = -2147483648.0;
      hi = 2147483648.0;
      break;
    default:
      lo = -9223372036854775808.0;
      hi = 9223372036854775808.0;
      break;
  }
  if (!(f >= lo && f < hi)) return false;
  *out = (int64_t)f;
  return true;
}

/**
 * Converts Scalar `s` to one element of `dtype` (into `out`, at least 16
 * bytes) as ATen's fill_ does (c10::Scalar::to<T>() with its overflow
 * check): bool takes value != 0; integers truncate and must fit (uint8
 * also takes -255..-1, which wrap); floats must not overflow the dtype.
 */
static inline ddk_status ddk_sv_scalar_element(ddk_kernel_ctx* ctx, const ddk_node_view* node,
                                               const ddk_ku_scalar* s, ddk_dtype dtype, void* out) {
  memset(out, 0, 16);
  switch (ddk_ku_math_of(dtype)) {
    case DDK_KU_MATH_I64: {
      int64_t v = 0;
      if (dtype == DDK_DTYPE_BOOL) {
        v = s->is_float ? s->f != 0.0 : s->i != 0;
      } else if (s->is_float ? !ddk_sv_float_fits_int(s->f, dtype, &v)
                             : !ddk_ku_scalar_to_i64(s, dtype, &v)) {
        return ddk_kernel_fail(ctx, node, DDK_OUT_OF_RANGE,
                               "value cannot be converted to type %s without overflow",
                               ddk_dtype_name(dtype));
      }
      ddk_ku_store_i64(out, dtype, 0, v);
      return DDK_OK;
    }
    case DDK_KU_MATH_F32:
    case DDK_KU_MATH_F64: {
      double v = 0.0;
      if (!ddk_ku_scalar_to_float(s, dtype, &v))
        return ddk_kernel_fail(ctx, node, DDK_OUT_OF_RANGE,
                               "value cannot be converted to type %s without overflow",
                               ddk_dtype_name(dtype));
      if (s->is_float)
        ddk_ku_store_f64(out, dtype, 0, v);
      else
        ddk_ku_store_i64(out, dtype, 0, s->i); /* one rounding, as c10 */
      return DDK_OK;
    }
    default:
      return ddk_kernel_fail(ctx, node, DDK_UNSUPPORTED_DTYPE, "unsupported dtype %s",
                             ddk_dtype_name(dtype));
  }
}

/** Writes the element `elem` (es bytes) into every element of dense `t`. */
static inline void ddk_sv_fill(ddk_tensor* t, const void* elem) {
  const size_t es = ddk_dtype_size(t->dtype);
  const int64_t n = ddk_tensor_numel(t);
  for (int64_t i = 0; i < n; ++i) memcpy((char*)t->data + (size_t)i * es, elem, es);
}

#endif /* DDK_OP_SHAPE_UTIL_H_ */
