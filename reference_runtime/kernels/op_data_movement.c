/*
 * op_data_movement.c — aten::view, aten::permute, aten::cat, aten::clone.
 *
 * These kernels copy elements; the values never change, so every dtype of
 * the dtype table (complex included) is supported, and results are exact.
 * Inputs may have any strides (channels-last, permuted); outputs are
 * written through their own strides (contiguous, as shape inference sets
 * them).
 *
 *  - view: the output holds the input's elements in logical (row-major)
 *    order under the new shape — view_copy semantics. ATen refuses to view
 *    some non-contiguous inputs; this kernel copies them instead. When the
 *    executor aliased output and input storage, nothing moves.
 *  - permute: out[i0..] = in[i_dims[0]..].
 *  - cat: inputs are copied one after another along `dim`; 1-D empty inputs
 *    are skipped (ATen's legacy rule); inputs of another dtype are cast to
 *    the promoted result dtype (real dtypes only).
 *  - clone: a copy; memory_format is accepted, the result is laid out by
 *    the strides shape inference gave it (contiguous).
 */
#include "kernel_util.h"

/* Row-major strides of sizes/rank. */
static void contiguous_strides(const int64_t* sizes, uint32_t rank, int64_t* strides) {
  int64_t s = 1;
  for (int i = (int)rank - 1; i >= 0; --i) {
    strides[i] = s;
    s *= sizes[i] > 1 ? sizes[i] : 1;
  }
}

static bool is_contiguous(const ddk_tensor* t) {
  int64_t st[DDK_MAX_RANK];
  contiguous_strides(t->sizes, t->rank, st);
  for (uint32_t i = 0; i < t->rank; ++i)
    if (t->sizes[i] > 1 && t->strides[i] != st[i]) return false;
  return true;
}

static ddk_status check_known_dtype(ddk_kernel_ctx* ctx, const ddk_node_view* node,
                                    const ddk_tensor* t, const ddk_tensor* out) {
  if (ddk_dtype_size(t->dtype) == 0)
    return ddk_kernel_fail(ctx, node, DDK_UNSUPPORTED_DTYPE, "unknown dtype %d", (int)t->dtype);
  if (out->dtype != t->dtype)
    return ddk_kernel_fail(ctx, node, DDK_DTYPE_MISMATCH, "result dtype %s differs from input %s",
                           ddk_dtype_name(out->dtype), ddk_dtype_name(t->dtype));
  return DDK_OK;
}

ddk_status ddk_kernel_aten_view(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  if (node->num_args < 2 || node->num_outputs < 1)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong number of arguments");
  const ddk_tensor* x = ddk_kernel_arg_tensor(ctx, node, 0);
  ddk_tensor* y = ddk_kernel_out(ctx, node, 0);
  ddk_status st = check_known_dtype(ctx, node, x, y);
  if (st != DDK_OK) return st;
  if (ddk_tensor_numel(x) != ddk_tensor_numel(y))
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "result has %lld elements, self %lld",
                           (long long)ddk_tensor_numel(y), (long long)ddk_tensor_numel(x));
  int64_t st_lin[DDK_MAX_RANK];
  const size_t es = ddk_dtype_size(x->dtype);
  if (is_contiguous(y)) { /* walk self, write y in its linear order */
    contiguous_strides(x->sizes, x->rank, st_lin);
    ddk_ku_copy_strided(y->data, st_lin, x->data, x->strides, x->sizes, x->rank, es);
  } else if (is_contiguous(x)) { /* walk y, read self in its linear order */
    contiguous_strides(y->sizes, y->rank, st_lin);
    ddk_ku_copy_strided(y->data, y->strides, x->data, st_lin, y->sizes, y->rank, es);
  } else {
    return ddk_kernel_fail(ctx, node, DDK_UNSUPPORTED_FEATURE,
                           "view needs a contiguous input or a contiguous result");
  }
  return DDK_OK;
}

ddk_status ddk_kernel_aten_permute(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  if (node->num_args < 2 || node->num_outputs < 1 || node->args[1].kind != DDK_ARG_INT_LIST)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "expected (Tensor self, int[] dims)");
  const ddk_tensor* x = ddk_kernel_arg_tensor(ctx, node, 0);
  ddk_tensor* y = ddk_kernel_out(ctx, node, 0);
  ddk_status st = check_known_dtype(ctx, node, x, y);
  if (st != DDK_OK) return st;
  const ddk_arg* dims = &node->args[1];
  if (dims->count != x->rank || y->rank != x->rank)
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "dims must list all %u dims", x->rank);
  int64_t src_strides[DDK_MAX_RANK];
  bool seen[DDK_MAX_RANK] = {false};
  for (uint32_t i = 0; i < x->rank; ++i) {
    int64_t d = dims->u.ints[i];
    if (d < 0) d += x->rank;
    if (d < 0 || d >= (int64_t)x->rank || seen[d] || y->sizes[i] != x->sizes[d])
      return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "dims is not a permutation");
    seen[d] = true;
    src_strides[i] = x->strides[d];
  }
  ddk_ku_copy_strided(y->data, y->strides, x->data, src_strides, y->sizes, y->rank,
                      ddk_dtype_size(x->dtype));
  return DDK_OK;
}

ddk_status ddk_kernel_aten_clone(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  if (node->num_args < 1 || node->num_outputs < 1)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong number of arguments");
  const ddk_tensor* x = ddk_kernel_arg_tensor(ctx, node, 0);
  ddk_tensor* y = ddk_kernel_out(ctx, node, 0);
  ddk_status st = check_known_dtype(ctx, node, x, y);
  if (st != DDK_OK) return st;
  if (y->rank != x->rank)
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "result shape differs from self's");
  for (uint32_t i = 0; i < x->rank; ++i)
    if (y->sizes[i] != x->sizes[i])
      return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "result shape differs from self's");
  ddk_ku_copy_strided(y->data, y->strides, x->data, x->strides, x->sizes, x->rank,
                      ddk_dtype_size(x->dtype));
  return DDK_OK;
}

ddk_status ddk_kernel_aten_cat(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  if (node->num_args < 2 || node->num_outputs < 1 || node->args[0].kind != DDK_ARG_TENSOR_LIST ||
      node->args[1].kind != DDK_ARG_INT)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "expected (Tensor[] tensors, int dim)");
  const ddk_arg* list = &node->args[0];
  ddk_tensor* y = ddk_kernel_out(ctx, node, 0);
  if (ddk_dtype_size(y->dtype) == 0 || y->rank == 0)
    return ddk_kernel_fail(ctx, node, DDK_UNSUPPORTED_DTYPE, "bad result dtype or rank");
  int64_t dim = node->args[1].u.i;
  if (dim < 0) dim += y->rank;
  if (dim < 0 || dim >= (int64_t)y->rank)
    return ddk_kernel_fail(ctx, node, DDK_OUT_OF_RANGE, "dim %lld out of range",
                           (long long)node->args[1].u.i);
  /* First pass: check every piece fits; second: copy. */
  for (int pass = 0; pass < 2; ++pass) {
    int64_t at = 0;
    for (uint32_t i = 0; i < list->count; ++i) {
      if (list->u.tensors[i] == DDK_NO_VALUE)
        return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "tensor %u is None", i);
      const ddk_tensor* t = &ctx->values[list->u.tensors[i]];
      if (t->rank == 1 && t->sizes[0] == 0) continue; /* legacy empty tensor */
      if (pass == 0) {
        bool same_dtype = t->dtype == y->dtype;
        if (!same_dtype && (!ddk_ku_dtype_in(t->dtype, DDK_KU_MASK_REAL) ||
                            !ddk_ku_dtype_in(y->dtype, DDK_KU_MASK_REAL)))
          return ddk_kernel_fail(ctx, node, DDK_UNSUPPORTED_DTYPE,
                                 "cannot cast tensor %u from %s to %s", i, ddk_dtype_name(t->dtype),
                                 ddk_dtype_name(y->dtype));
        if (t->rank != y->rank)
          return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "tensor %u has rank %u, not %u", i,
                                 t->rank, y->rank);
        for (uint32_t d = 0; d < y->rank; ++d)
          if ((int64_t)d != dim && t->sizes[d] != y->sizes[d])
            return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH,
                                   "tensor %u: size %lld at dim %u, expected %lld", i,
                                   (long long)t->sizes[d], d, (long long)y->sizes[d]);
      } else {
        char* dst = (char*)y->data + (size_t)(at * y->strides[dim]) * ddk_dtype_size(y->dtype);
        if (t->dtype == y->dtype)
          ddk_ku_copy_strided(dst, y->strides, t->data, t->strides, t->sizes, t->rank,
                              ddk_dtype_size(t->dtype));
        else
          ddk_ku_convert_strided(dst, y->dtype, y->strides, t->data, t->dtype, t->strides, t->sizes,
                                 t->rank);
      }
      at += t->sizes[dim];
    }
    if (pass == 0 && at != y->sizes[dim])
      return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH,
                             "pieces add up to %lld along dim %lld, result has %lld", (long long)at,
                             (long long)dim, (long long)y->sizes[dim]);
  }
  return DDK_OK;
}
