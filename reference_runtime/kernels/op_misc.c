/*
 * op_misc.c — aten::copy, aten::_to_copy, aten::_local_scalar_dense.
 *
 * Semantics (ATen CPU):
 *  - copy(self, src): the result has self's shape and dtype; src is
 *    broadcast to self's shape and converted to self's dtype (self's values
 *    are not read).
 *  - _to_copy(self, dtype=None, ...): a copy converted to `dtype` (self's
 *    when absent). Conversions are ATen's static_casts: float -> integer
 *    truncates toward zero (out-of-range and NaN/Inf values are undefined
 *    in C and implementation-defined in ATen; this kernel saturates them),
 *    integer -> integer wraps, anything -> bool is "!= 0" (NaN -> true),
 *    -> float16/bfloat16 rounds to nearest even (float64 goes through
 *    float32 first, as c10::Half/BFloat16 do). layout/device/pin_memory
 *    only accept their CPU-strided defaults (checked by inference);
 *    memory_format is accepted but the result is contiguous, as every DDK
 *    output is.
 *  - _local_scalar_dense(self): a 0-d tensor of self's dtype holding the
 *    first element (ATen reads data_ptr[0]; item() is what checks numel == 1,
 *    this op only refuses an empty tensor).
 *
 * Same-dtype copies move bytes, so they accept every dtype (complex
 * included); conversions accept the real dtypes.
 */
#include "kernel_util.h"

/* dst (of out's shape, any strides) = src read through `src_strides`,
 * converted to dst's dtype. */
static ddk_status misc_convert(ddk_kernel_ctx* ctx, const ddk_node_view* node, ddk_tensor* dst,
                               const ddk_tensor* src, const int64_t* src_strides) {
  if (dst->dtype == src->dtype) {
    if (ddk_dtype_size(dst->dtype) == 0)
      return ddk_kernel_fail(ctx, node, DDK_UNSUPPORTED_DTYPE, "unknown dtype %d", (int)dst->dtype);
    ddk_ku_copy_strided(dst->data, dst->strides, src->data, src_strides, dst->sizes, dst->rank,
                        ddk_dtype_size(dst->dtype));
    return DDK_OK;
  }
  ddk_status st = ddk_ku_check_dtype(ctx, node, "the input", src, DDK_KU_MASK_REAL);
  if (st == DDK_OK) st = ddk_ku_check_dtype(ctx, node, "the result", dst, DDK_KU_MASK_REAL);
  if (st != DDK_OK) return st;
  if (dst->dtype != DDK_DTYPE_BOOL || ddk_ku_math_of(src->dtype) == DDK_KU_MATH_I64) {
    ddk_ku_convert_strided(dst->data, dst->dtype, dst->strides, src->data, src->dtype, src_strides,
                           dst->sizes, dst->rank);
    return DDK_OK;
  }
  /* float -> bool: nonzero, NaN included (the helpers truncate first) */
  const int64_t* strides[2] = {dst->strides, src_strides};
  ddk_ku_loop loop;
  ddk_ku_loop_init_strided(&loop, dst->sizes, dst->rank, strides, 2);
  if (loop.numel == 0) return DDK_OK;
  const uint32_t last = loop.rank - 1;
  const int64_t inner = loop.sizes[last];
  uint8_t* out = (uint8_t*)dst->data;
  ddk_ku_cursor c;
  ddk_ku_cursor_init(&c);
  for (int64_t done = 0; done < loop.numel; done += inner) {
    for (int64_t i = 0; i < inner; ++i) {
      double v = ddk_ku_load_f64(src->data, src->dtype, c.offset[1] + i * loop.strides[1][last]);
      out[c.offset[0] + i * loop.strides[0][last]] = v != 0.0;
    }
    ddk_ku_cursor_next_row(&loop, &c);
  }
  return DDK_OK;
}

ddk_status ddk_kernel_aten_copy(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  if (node->num_args < 2 || node->num_outputs < 1)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong number of arguments");
  const ddk_tensor* src = ddk_kernel_arg_tensor(ctx, node, 1);
  ddk_tensor* out = ddk_kernel_out(ctx, node, 0);
  int64_t bstrides[DDK_MAX_RANK];
  if (!ddk_ku_broadcast_strides(src, out->sizes, out->rank, bstrides))
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "src does not broadcast to self's shape");
  return misc_convert(ctx, node, out, src, bstrides);
}

ddk_status ddk_kernel_aten_to_copy(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  if (node->num_args < 1 || node->num_outputs < 1)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong number of arguments");
  const ddk_tensor* x = ddk_kernel_arg_tensor(ctx, node, 0);
  ddk_tensor* out = ddk_kernel_out(ctx, node, 0);
  if (out->rank != x->rank)
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "result shape differs from self's");
  for (uint32_t i = 0; i < x->rank; ++i)
    if (out->sizes[i] != x->sizes[i])
      return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "result shape differs from self's");
  return misc_convert(ctx, node, out, x, x->strides);
}

ddk_status ddk_kernel_aten_local_scalar_dense(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  if (node->num_args < 1 || node->num_outputs < 1)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong number of arguments");
  const ddk_tensor* x = ddk_kernel_arg_tensor(ctx, node, 0);
  ddk_tensor* out = ddk_kernel_out(ctx, node, 0);
  const size_t es = ddk_dtype_size(x->dtype);
  if (es == 0 || out->dtype != x->dtype)
    return ddk_kernel_fail(ctx, node, DDK_UNSUPPORTED_DTYPE, "bad dtype %s",
                           ddk_dtype_name(x->dtype));
  if (ddk_tensor_numel(x) == 0)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "empty tensor not supported");
  memcpy(out->data, x->data, es); /* element [0, ..., 0] sits at offset 0 */
  return DDK_OK;
}
