/*
 * op_padding.c — aten::constant_pad_nd, reflection_pad1d/2d/3d,
 * replication_pad2d/3d.
 *
 * Padding copies elements, so results are exact for every dtype.
 *  - constant_pad_nd: pad = (left, right) pairs from the last dim
 *    backwards; a negative pad crops. The value is converted to self's
 *    dtype as fill_ does (refused when it overflows the dtype).
 *  - reflection / replication: with k = j - pad_before for result index
 *    j, the source index is reflect(k) (-k below 0, 2(n-1)-k past the
 *    end) or clamp(k, 0, n-1) — ATen's index formulas, negative pads
 *    included. Inference checks ranks, pad < size for reflection and
 *    non-empty results.
 */
#include "op_shape_util.h"

#define CHECK(expr)                \
  do {                             \
    ddk_status st_ = (expr);       \
    if (st_ != DDK_OK) return st_; \
  } while (0)

ddk_status ddk_kernel_aten_constant_pad_nd(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  const ddk_tensor* x = NULL;
  const int64_t* pad = NULL;
  uint32_t np = 0;
  CHECK(ddk_sv_need(ctx, node, 3, 1));
  CHECK(ddk_sv_arg_tensor(ctx, node, 0, "self", &x));
  CHECK(ddk_sv_arg_ints(ctx, node, 1, "pad", &pad, &np));
  ddk_ku_scalar value;
  CHECK(ddk_ku_arg_scalar(ctx, node, 2, "value", &value));
  ddk_tensor* y = ddk_kernel_out(ctx, node, 0);
  if (y->dtype != x->dtype || y->rank != x->rank || np % 2 != 0 || np / 2 > x->rank)
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "result does not match self and pad");
  unsigned char elem[16];
  CHECK(ddk_sv_scalar_element(ctx, node, &value, x->dtype, elem));
  const int64_t xn = ddk_tensor_numel(x), yn = ddk_tensor_numel(y);
  if (!ddk_sv_fits(x, xn) || !ddk_sv_fits(y, yn))
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "tensor capacity too small");
  ddk_sv_fill(y, elem);
  /* the part of self that survives: per dim, its start in self and in y */
  int64_t sizes[DDK_MAX_RANK], xoff = 0, yoff = 0;
  for (uint32_t d = 0; d < x->rank; ++d) {
    int64_t before = 0, after = 0;
    const uint32_t from_end = x->rank - 1 - d;
    if (from_end < np / 2) {
      before = pad[2 * from_end];
      after = pad[2 * from_end + 1];
    }
    if (x->sizes[d] + before + after != y->sizes[d])
      return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "result size %lld at dim %u is wrong",
                             (long long)y->sizes[d], d);
    const int64_t xs = before < 0 ? -before : 0, ys = before > 0 ? before : 0;
    sizes[d] = x->sizes[d] - xs - (after < 0 ? -after : 0);
    if (sizes[d] <= 0) return DDK_OK; /* everything cropped: all padding */
    xoff += xs * x->strides[d];
    yoff += ys * y->strides[d];
  }
  if (!ddk_sv_copy(y->data, yn, yoff, y->strides, x->data, xn, xoff, x->strides, sizes, x->rank,
                   ddk_dtype_size(x->dtype)))
    return ddk_kernel_fail(ctx, node, DDK_OUT_OF_RANGE, "pad indexes outside its tensors");
  return DDK_OK;
}

/* Reflection (reflect=true) or replication padding of the last `nd` dims
 * with `pad` = (before, after) pairs, last dim first. */
static ddk_status pad_nd(ddk_kernel_ctx* ctx, const ddk_node_view* node, uint32_t nd,
                         bool reflect) {
  const ddk_tensor* x = NULL;
  int64_t pad[6];
  CHECK(ddk_sv_need(ctx, node, 2, 1));
  CHECK(ddk_sv_arg_tensor(ctx, node, 0, "self", &x));
  CHECK(ddk_ku_arg_int_list(ctx, node, 1, "padding", 2 * nd, NULL, pad));
  ddk_tensor* y = ddk_kernel_out(ctx, node, 0);
  const size_t es = ddk_dtype_size(x->dtype);
  if (y->dtype != x->dtype || es == 0 || y->rank != x->rank || x->rank < nd)
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "result does not match self");
  const int64_t xn = ddk_tensor_numel(x), yn = ddk_tensor_numel(y);
  if (!ddk_sv_fits(x, xn) || !ddk_sv_fits(y, yn))
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "tensor capacity too small");
  int64_t before[DDK_MAX_RANK] = {0};
  for (uint32_t d = 0; d < x->rank; ++d) {
    int64_t after = 0;
    const uint32_t from_end = x->rank - 1 - d;
    if (from_end < nd) {
      before[d] = pad[2 * from_end];
      after = pad[2 * from_end + 1];
      if (x->sizes[d] == 0 && y->sizes[d] != 0)
        return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "cannot pad an empty dim %u", d);
      if (reflect && (before[d] >= x->sizes[d] || after >= x->sizes[d]) && yn > 0)
        return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT,
                               "padding size should be less than the input size at dim %u", d);
    }
    if (x->sizes[d] + before[d] + after != y->sizes[d])
      return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "result size %lld at dim %u is wrong",
                             (long long)y->sizes[d], d);
  }
  int64_t idx[DDK_MAX_RANK] = {0};
  for (int64_t i = 0; i < yn; ++i) {
    int64_t src = 0, dst = 0;
    for (uint32_t d = 0; d < y->rank; ++d) {
      const int64_t n = x->sizes[d];
      int64_t k = idx[d] - before[d];
      if (k < 0) k = reflect ? -k : 0;
      if (k >= n) k = reflect ? 2 * (n - 1) - k : n - 1;
      if (k < 0 || k >= n)
        return ddk_kernel_fail(ctx, node, DDK_OUT_OF_RANGE, "padding too large at dim %u", d);
      src += k * x->strides[d];
      dst += idx[d] * y->strides[d];
    }
    memcpy((char*)y->data + (size_t)dst * es, (const char*)x->data + (size_t)src * es, es);
    ddk_sv_next_index(idx, y->sizes, y->rank);
  }
  return DDK_OK;
}

ddk_status ddk_kernel_aten_reflection_pad1d(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return pad_nd(ctx, node, 1, true);
}
ddk_status ddk_kernel_aten_reflection_pad2d(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return pad_nd(ctx, node, 2, true);
}
ddk_status ddk_kernel_aten_reflection_pad3d(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return pad_nd(ctx, node, 3, true);
}
ddk_status ddk_kernel_aten_replication_pad2d(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return pad_nd(ctx, node, 2, false);
}
ddk_status ddk_kernel_aten_replication_pad3d(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return pad_nd(ctx, node, 3, false);
}
