/*
 * op_metadata.c — aten::sym_size.int, aten::sym_stride.int, aten::sym_numel,
 * aten::sym_storage_offset, aten::sym_is_contiguous.
 *
 * Each returns tensor metadata as a 0-d tensor (int64 for SymInt, bool for
 * SymBool); the input's data is never read, so every dtype is accepted.
 *  - sym_stride reports the input's actual strides in elements (a
 *    channels-last input has channels-last strides);
 *  - sym_storage_offset is 0: DDK tensors have no storage offset;
 *  - sym_is_contiguous(memory_format) follows c10::TensorImpl: contiguous
 *    (0) and preserve (1) test row-major contiguity (size-1 dims ignored, an
 *    empty tensor is contiguous); channels_last (2) is true only for a 4-d
 *    tensor whose strides are channels-last dense (dims 1, 3, 2, 0 from the
 *    innermost, size-1 dims ignored); channels_last_3d (3) likewise for 5-d
 *    (dims 1, 4, 3, 2, 0).
 */
#include "kernel_util.h"

static ddk_status meta_write_i64(ddk_kernel_ctx* ctx, const ddk_node_view* node, int64_t v) {
  ddk_tensor* out = ddk_kernel_out(ctx, node, 0);
  if (out->dtype != DDK_DTYPE_INT64 || out->rank != 0)
    return ddk_kernel_fail(ctx, node, DDK_DTYPE_MISMATCH, "result must be a 0-d int64 tensor");
  memcpy(out->data, &v, sizeof v);
  return DDK_OK;
}

/* Wrapped dim of argument 1, or -1 when out of range. */
static int64_t meta_dim(const ddk_node_view* node, const ddk_tensor* x) {
  if (node->num_args < 2 || node->args[1].kind != DDK_ARG_INT) return -1;
  int64_t d = node->args[1].u.i;
  if (d < 0) d += (int64_t)x->rank;
  return d >= 0 && d < (int64_t)x->rank ? d : -1;
}

ddk_status ddk_kernel_aten_sym_size_int(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  if (node->num_args < 2 || node->num_outputs < 1)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong number of arguments");
  const ddk_tensor* x = ddk_kernel_arg_tensor(ctx, node, 0);
  int64_t d = meta_dim(node, x);
  if (d < 0) return ddk_kernel_fail(ctx, node, DDK_OUT_OF_RANGE, "dim out of range");
  return meta_write_i64(ctx, node, x->sizes[d]);
}

ddk_status ddk_kernel_aten_sym_stride_int(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  if (node->num_args < 2 || node->num_outputs < 1)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong number of arguments");
  const ddk_tensor* x = ddk_kernel_arg_tensor(ctx, node, 0);
  int64_t d = meta_dim(node, x);
  if (d < 0) return ddk_kernel_fail(ctx, node, DDK_OUT_OF_RANGE, "dim out of range");
  return meta_write_i64(ctx, node, x->strides[d]);
}

ddk_status ddk_kernel_aten_sym_numel(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  if (node->num_args < 1 || node->num_outputs < 1)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong number of arguments");
  return meta_write_i64(ctx, node, ddk_tensor_numel(ddk_kernel_arg_tensor(ctx, node, 0)));
}

ddk_status ddk_kernel_aten_sym_storage_offset(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  if (node->num_args < 1 || node->num_outputs < 1)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong number of arguments");
  return meta_write_i64(ctx, node, 0);
}

/* Dense in the dim order `order` (innermost first), size-1 dims ignored. */
static bool dense_in_order(const ddk_tensor* x, const int* order, uint32_t n) {
  int64_t expected = 1;
  for (uint32_t k = 0; k < n; ++k) {
    const int d = order[k];
    if (x->sizes[d] == 1) continue;
    if (x->strides[d] != expected) return false;
    expected *= x->sizes[d];
  }
  return true;
}

ddk_status ddk_kernel_aten_sym_is_contiguous(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  if (node->num_args < 2 || node->num_outputs < 1 || node->args[1].kind != DDK_ARG_INT)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong arguments");
  const ddk_tensor* x = ddk_kernel_arg_tensor(ctx, node, 0);
  ddk_tensor* out = ddk_kernel_out(ctx, node, 0);
  if (out->dtype != DDK_DTYPE_BOOL || out->rank != 0)
    return ddk_kernel_fail(ctx, node, DDK_DTYPE_MISMATCH, "result must be a 0-d bool tensor");
  static const int cl2d[4] = {1, 3, 2, 0};
  static const int cl3d[5] = {1, 4, 3, 2, 0};
  bool r = false;
  switch (node->args[1].u.i) {
    case 0:
    case 1: {
      int order[DDK_MAX_RANK];
      for (uint32_t k = 0; k < x->rank; ++k) order[k] = (int)(x->rank - 1 - k);
      r = ddk_tensor_numel(x) == 0 || dense_in_order(x, order, x->rank);
      break;
    }
    case 2:
      r = x->rank == 4 && dense_in_order(x, cl2d, 4);
      break;
    case 3:
      r = x->rank == 5 && dense_in_order(x, cl3d, 5);
      break;
    default:
      return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "unknown memory_format %lld",
                             (long long)node->args[1].u.i);
  }
  *(uint8_t*)out->data = r;
  return DDK_OK;
}
