/*
 * op_shape_view.c — view ops as copies: aten::alias, as_strided, diagonal,
 * expand, flip, repeat, select.int, slice.Tensor, split_with_sizes,
 * squeeze.dim, squeeze.dims, unsqueeze, resize_.
 *
 * The DDK has no aliasing between values: each op writes a contiguous
 * result holding the values of ATen's view (view_copy semantics). Each
 * kernel states its view as ATen does — an offset and a stride per result
 * dim over self's storage — and ddk_sv_gather() copies it (see
 * op_shape_util.h), so any dense input layout works and no view reads
 * outside self. Shape inference (ir_ops/src/infer_shape.c) validated the
 * arguments and sized the results; the kernels re-derive what they index
 * with and refuse what does not fit. Every dtype is copied bytewise:
 * results are exact.
 */
#include "op_shape_util.h"

#define CHECK(expr)                \
  do {                             \
    ddk_status st_ = (expr);       \
    if (st_ != DDK_OK) return st_; \
  } while (0)

static ddk_status rank_mismatch(ddk_kernel_ctx* ctx, const ddk_node_view* node, uint32_t want,
                                uint32_t got) {
  return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "result has rank %u, expected %u", got,
                         want);
}

ddk_status ddk_kernel_aten_alias(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  const ddk_tensor* x = NULL;
  CHECK(ddk_sv_need(ctx, node, 1, 1));
  CHECK(ddk_sv_arg_tensor(ctx, node, 0, "self", &x));
  ddk_tensor* y = ddk_kernel_out(ctx, node, 0);
  if (y->rank != x->rank) return rank_mismatch(ctx, node, x->rank, y->rank);
  return ddk_sv_gather(ctx, node, y, x, 0, x->strides);
}

/* as_strided indexes self's storage: its buffer in memory order. */
ddk_status ddk_kernel_aten_as_strided(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  const ddk_tensor* x = NULL;
  const int64_t *size = NULL, *stride = NULL;
  uint32_t ns = 0, nt = 0;
  int64_t offset = 0;
  CHECK(ddk_sv_need(ctx, node, 4, 1));
  CHECK(ddk_sv_arg_tensor(ctx, node, 0, "self", &x));
  CHECK(ddk_sv_arg_ints(ctx, node, 1, "size", &size, &ns));
  CHECK(ddk_sv_arg_ints(ctx, node, 2, "stride", &stride, &nt));
  if (node->args[3].kind != DDK_ARG_NONE)
    CHECK(ddk_sv_arg_int(ctx, node, 3, "storage_offset", &offset));
  ddk_tensor* y = ddk_kernel_out(ctx, node, 0);
  if (ns != nt || ns != y->rank)
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "size, stride and result ranks differ");
  for (uint32_t d = 0; d < ns; ++d)
    if (size[d] != y->sizes[d] || stride[d] < 0)
      return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "bad size or stride at dim %u", d);
  if (offset < 0)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "negative storage offset %lld",
                           (long long)offset);
  return ddk_sv_gather(ctx, node, y, x, offset, stride);
}

ddk_status ddk_kernel_aten_diagonal(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  const ddk_tensor* x = NULL;
  int64_t offset = 0, d1 = 0, d2 = 0;
  CHECK(ddk_sv_need(ctx, node, 4, 1));
  CHECK(ddk_sv_arg_tensor(ctx, node, 0, "self", &x));
  CHECK(ddk_sv_arg_int(ctx, node, 1, "offset", &offset));
  CHECK(ddk_sv_arg_int(ctx, node, 2, "dim1", &d1));
  CHECK(ddk_sv_arg_int(ctx, node, 3, "dim2", &d2));
  if (x->rank < 2) return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "self must be >= 2-D");
  CHECK(ddk_sv_wrap_dim(ctx, node, d1, x->rank, &d1));
  CHECK(ddk_sv_wrap_dim(ctx, node, d2, x->rank, &d2));
  if (d1 == d2)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT,
                           "diagonal dimensions cannot be identical");
  ddk_tensor* y = ddk_kernel_out(ctx, node, 0);
  if (y->rank != x->rank - 1) return rank_mismatch(ctx, node, x->rank - 1, y->rank);
  int64_t strides[DDK_MAX_RANK];
  uint32_t k = 0;
  for (uint32_t d = 0; d < x->rank; ++d)
    if ((int64_t)d != d1 && (int64_t)d != d2) strides[k++] = x->strides[d];
  strides[k] = x->strides[d1] + x->strides[d2];
  int64_t start = 0;
  if (y->sizes[k] > 0) start = offset >= 0 ? offset * x->strides[d2] : -offset * x->strides[d1];
  return ddk_sv_gather(ctx, node, y, x, start, strides);
}

ddk_status ddk_kernel_aten_expand(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  const ddk_tensor* x = NULL;
  CHECK(ddk_sv_need(ctx, node, 2, 1));
  CHECK(ddk_sv_arg_tensor(ctx, node, 0, "self", &x));
  ddk_tensor* y = ddk_kernel_out(ctx, node, 0);
  if (y->rank < x->rank) return rank_mismatch(ctx, node, x->rank, y->rank);
  const uint32_t lead = y->rank - x->rank;
  int64_t strides[DDK_MAX_RANK];
  for (uint32_t d = 0; d < y->rank; ++d) {
    if (d < lead) {
      strides[d] = 0;
      continue;
    }
    const int64_t xs = x->sizes[d - lead];
    if (xs != y->sizes[d] && xs != 1)
      return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH,
                             "cannot expand size %lld to %lld at dim %u", (long long)xs,
                             (long long)y->sizes[d], d);
    strides[d] = xs == y->sizes[d] ? x->strides[d - lead] : 0;
  }
  return ddk_sv_gather(ctx, node, y, x, 0, strides);
}

ddk_status ddk_kernel_aten_flip(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  const ddk_tensor* x = NULL;
  const int64_t* dims = NULL;
  uint32_t n = 0;
  CHECK(ddk_sv_need(ctx, node, 2, 1));
  CHECK(ddk_sv_arg_tensor(ctx, node, 0, "self", &x));
  CHECK(ddk_sv_arg_ints(ctx, node, 1, "dims", &dims, &n));
  ddk_tensor* y = ddk_kernel_out(ctx, node, 0);
  if (y->rank != x->rank) return rank_mismatch(ctx, node, x->rank, y->rank);
  int64_t strides[DDK_MAX_RANK];
  bool flipped[DDK_MAX_RANK] = {false};
  memcpy(strides, x->strides, sizeof strides);
  int64_t offset = 0;
  for (uint32_t i = 0; i < n; ++i) {
    int64_t d = 0;
    CHECK(ddk_sv_wrap_dim(ctx, node, dims[i], x->rank, &d));
    if (x->rank == 0) continue;
    if (flipped[d])
      return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "dims has duplicates (dim %lld)",
                             (long long)d);
    flipped[d] = true;
    if (x->sizes[d] > 0) offset += (x->sizes[d] - 1) * x->strides[d];
    strides[d] = -x->strides[d];
  }
  return ddk_sv_gather(ctx, node, y, x, offset, strides);
}

/* Each result dim d of size r*s is walked as two dims (r, s): the outer
 * one does not move in self, the inner one walks self's dim. */
ddk_status ddk_kernel_aten_repeat(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  const ddk_tensor* x = NULL;
  CHECK(ddk_sv_need(ctx, node, 2, 1));
  CHECK(ddk_sv_arg_tensor(ctx, node, 0, "self", &x));
  ddk_tensor* y = ddk_kernel_out(ctx, node, 0);
  if (y->rank < x->rank) return rank_mismatch(ctx, node, x->rank, y->rank);
  if (y->dtype != x->dtype || ddk_dtype_size(x->dtype) == 0)
    return ddk_kernel_fail(ctx, node, DDK_DTYPE_MISMATCH, "result dtype differs from self's");
  const uint32_t lead = y->rank - x->rank;
  int64_t sizes[DDK_SV_MAX_DIMS], ys[DDK_SV_MAX_DIMS], xs[DDK_SV_MAX_DIMS];
  for (uint32_t d = 0; d < y->rank; ++d) {
    const int64_t s = d < lead ? 1 : x->sizes[d - lead];
    if (s == 0 ? y->sizes[d] != 0 : y->sizes[d] % s != 0)
      return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH,
                             "result size %lld at dim %u is not a multiple of %lld",
                             (long long)y->sizes[d], d, (long long)s);
    sizes[2 * d] = s == 0 ? 0 : y->sizes[d] / s;
    sizes[2 * d + 1] = s;
    ys[2 * d] = s * y->strides[d];
    ys[2 * d + 1] = y->strides[d];
    xs[2 * d] = 0;
    xs[2 * d + 1] = d < lead ? 0 : x->strides[d - lead];
  }
  const int64_t xn = ddk_tensor_numel(x), yn = ddk_tensor_numel(y);
  if (!ddk_sv_fits(x, xn) || !ddk_sv_fits(y, yn) ||
      !ddk_sv_copy(y->data, yn, 0, ys, x->data, xn, 0, xs, sizes, 2 * y->rank,
                   ddk_dtype_size(x->dtype)))
    return ddk_kernel_fail(ctx, node, DDK_OUT_OF_RANGE, "repeat indexes outside its tensors");
  return DDK_OK;
}

ddk_status ddk_kernel_aten_select_int(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  const ddk_tensor* x = NULL;
  int64_t dim = 0, index = 0;
  CHECK(ddk_sv_need(ctx, node, 3, 1));
  CHECK(ddk_sv_arg_tensor(ctx, node, 0, "self", &x));
  CHECK(ddk_sv_arg_int(ctx, node, 1, "dim", &dim));
  CHECK(ddk_sv_arg_int(ctx, node, 2, "index", &index));
  if (x->rank == 0)
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "cannot be applied to a 0-dim tensor");
  CHECK(ddk_sv_wrap_dim(ctx, node, dim, x->rank, &dim));
  const int64_t size = x->sizes[dim];
  if (index < -size || index >= size)
    return ddk_kernel_fail(ctx, node, DDK_OUT_OF_RANGE,
                           "index %lld out of range for tensor of size %lld at dimension %lld",
                           (long long)index, (long long)size, (long long)dim);
  if (index < 0) index += size;
  ddk_tensor* y = ddk_kernel_out(ctx, node, 0);
  if (y->rank != x->rank - 1) return rank_mismatch(ctx, node, x->rank - 1, y->rank);
  int64_t strides[DDK_MAX_RANK];
  for (uint32_t d = 0, k = 0; d < x->rank; ++d)
    if ((int64_t)d != dim) strides[k++] = x->strides[d];
  return ddk_sv_gather(ctx, node, y, x, index * x->strides[dim], strides);
}

/* ATen's clamping of a slice start (the result size comes from inference). */
static int64_t slice_start(int64_t size, bool has_start, int64_t start) {
  if (!has_start) start = 0;
  if (start < 0) start += size;
  if (start < 0) start = 0;
  if (start > size) start = size;
  return start;
}

ddk_status ddk_kernel_aten_slice_tensor(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  const ddk_tensor* x = NULL;
  int64_t dim = 0, start = 0, end = 0, step = 1;
  CHECK(ddk_sv_need(ctx, node, 5, 1));
  CHECK(ddk_sv_arg_tensor(ctx, node, 0, "self", &x));
  CHECK(ddk_sv_arg_int(ctx, node, 1, "dim", &dim));
  const bool has_start = node->args[2].kind != DDK_ARG_NONE;
  if (has_start) CHECK(ddk_sv_arg_int(ctx, node, 2, "start", &start));
  if (node->args[3].kind != DDK_ARG_NONE) CHECK(ddk_sv_arg_int(ctx, node, 3, "end", &end));
  CHECK(ddk_sv_arg_int(ctx, node, 4, "step", &step));
  if (x->rank == 0)
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "cannot be applied to a 0-dim tensor");
  if (step <= 0)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "slice step must be positive");
  CHECK(ddk_sv_wrap_dim(ctx, node, dim, x->rank, &dim));
  start = slice_start(x->sizes[dim], has_start, start);
  ddk_tensor* y = ddk_kernel_out(ctx, node, 0);
  if (y->rank != x->rank) return rank_mismatch(ctx, node, x->rank, y->rank);
  int64_t strides[DDK_MAX_RANK];
  memcpy(strides, x->strides, sizeof strides);
  strides[dim] = x->strides[dim] * step;
  const int64_t offset = y->sizes[dim] > 0 ? start * x->strides[dim] : 0;
  return ddk_sv_gather(ctx, node, y, x, offset, strides);
}

ddk_status ddk_kernel_aten_split_with_sizes(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  const ddk_tensor* x = NULL;
  const int64_t* sizes = NULL;
  uint32_t n = 0;
  int64_t dim = 0;
  CHECK(ddk_sv_need(ctx, node, 3, 1));
  CHECK(ddk_sv_arg_tensor(ctx, node, 0, "self", &x));
  CHECK(ddk_sv_arg_ints(ctx, node, 1, "split_sizes", &sizes, &n));
  CHECK(ddk_sv_arg_int(ctx, node, 2, "dim", &dim));
  if (x->rank == 0)
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH,
                           "expects at least a 1-dimensional tensor");
  CHECK(ddk_sv_wrap_dim(ctx, node, dim, x->rank, &dim));
  if (n != node->num_outputs)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "%u split sizes but %u outputs", n,
                           node->num_outputs);
  int64_t at = 0;
  for (uint32_t i = 0; i < n; ++i) {
    ddk_tensor* y = ddk_kernel_out(ctx, node, i);
    if (y->rank != x->rank || sizes[i] < 0 || y->sizes[dim] != sizes[i])
      return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "output %u has the wrong shape", i);
    CHECK(ddk_sv_gather(ctx, node, y, x, sizes[i] > 0 ? at * x->strides[dim] : 0, x->strides));
    at += sizes[i];
  }
  if (at != x->sizes[dim])
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH,
                           "split sizes sum to %lld, the dim has size %lld", (long long)at,
                           (long long)x->sizes[dim]);
  return DDK_OK;
}

/* Copies x into y where y's shape is x's with size-1 dims added or
 * removed: both walk the same elements in the same logical order. */
static ddk_status copy_same_order(ddk_kernel_ctx* ctx, const ddk_node_view* node, ddk_tensor* y,
                                  const ddk_tensor* x) {
  int64_t strides[DDK_MAX_RANK];
  uint32_t k = 0;
  for (uint32_t d = 0; d < y->rank; ++d) {
    if (y->sizes[d] == 1) {
      strides[d] = 0;
      continue;
    }
    while (k < x->rank && x->sizes[k] == 1) ++k;
    if (k == x->rank || x->sizes[k] != y->sizes[d])
      return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "result shape does not match self's");
    strides[d] = x->strides[k++];
  }
  while (k < x->rank && x->sizes[k] == 1) ++k;
  if (k != x->rank)
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "result shape does not match self's");
  return ddk_sv_gather(ctx, node, y, x, 0, strides);
}

ddk_status ddk_kernel_aten_squeeze_dim(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  const ddk_tensor* x = NULL;
  int64_t dim = 0;
  CHECK(ddk_sv_need(ctx, node, 2, 1));
  CHECK(ddk_sv_arg_tensor(ctx, node, 0, "self", &x));
  CHECK(ddk_sv_arg_int(ctx, node, 1, "dim", &dim));
  CHECK(ddk_sv_wrap_dim(ctx, node, dim, x->rank, &dim));
  return copy_same_order(ctx, node, ddk_kernel_out(ctx, node, 0), x);
}

ddk_status ddk_kernel_aten_squeeze_dims(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  const ddk_tensor* x = NULL;
  const int64_t* dims = NULL;
  uint32_t n = 0;
  CHECK(ddk_sv_need(ctx, node, 2, 1));
  CHECK(ddk_sv_arg_tensor(ctx, node, 0, "self", &x));
  CHECK(ddk_sv_arg_ints(ctx, node, 1, "dim", &dims, &n));
  for (uint32_t i = 0; i < n; ++i) {
    int64_t d = 0;
    CHECK(ddk_sv_wrap_dim(ctx, node, dims[i], x->rank, &d));
  }
  return copy_same_order(ctx, node, ddk_kernel_out(ctx, node, 0), x);
}

ddk_status ddk_kernel_aten_unsqueeze(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  const ddk_tensor* x = NULL;
  int64_t dim = 0;
  CHECK(ddk_sv_need(ctx, node, 2, 1));
  CHECK(ddk_sv_arg_tensor(ctx, node, 0, "self", &x));
  CHECK(ddk_sv_arg_int(ctx, node, 1, "dim", &dim));
  CHECK(ddk_sv_wrap_dim(ctx, node, dim, x->rank + 1, &dim));
  return copy_same_order(ctx, node, ddk_kernel_out(ctx, node, 0), x);
}

/*
 * resize_ in functional form. ATen keeps self's storage and gives it the
 * new sizes with contiguous strides (channels-last ones for that
 * memory_format), so result element i is storage element (strides . i);
 * elements past the old storage are uninitialized in ATen — here zero.
 * Resizing to the same sizes without a memory_format leaves the tensor
 * as it was: its values in logical order.
 */
ddk_status ddk_kernel_aten_resize_(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  const ddk_tensor* x = NULL;
  CHECK(ddk_sv_need(ctx, node, 3, 1));
  CHECK(ddk_sv_arg_tensor(ctx, node, 0, "self", &x));
  ddk_tensor* y = ddk_kernel_out(ctx, node, 0);
  const size_t es = ddk_dtype_size(x->dtype);
  const int64_t xn = ddk_tensor_numel(x), yn = ddk_tensor_numel(y);
  if (y->dtype != x->dtype || es == 0)
    return ddk_kernel_fail(ctx, node, DDK_DTYPE_MISMATCH, "result dtype differs from self's");
  if (!ddk_sv_fits(x, xn) || !ddk_sv_fits(y, yn))
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "tensor capacity too small");
  const int64_t mf = node->args[2].kind == DDK_ARG_INT ? node->args[2].u.i : -1;
  bool same = y->rank == x->rank;
  for (uint32_t d = 0; same && d < y->rank; ++d) same = y->sizes[d] == x->sizes[d];
  if (same && mf < 0) return ddk_sv_gather(ctx, node, y, x, 0, x->strides);
  /* strides of the resized tensor over the storage */
  int64_t st[DDK_MAX_RANK];
  uint32_t order[DDK_MAX_RANK];
  for (uint32_t d = 0; d < y->rank; ++d) order[d] = d;
  if ((mf == 2 && y->rank == 4) || (mf == 3 && y->rank == 5)) { /* channels last: C innermost */
    for (uint32_t d = 1; d + 1 < y->rank; ++d) order[d] = d + 1;
    order[y->rank - 1] = 1;
  }
  int64_t s = 1;
  for (int i = (int)y->rank - 1; i >= 0; --i) {
    st[order[i]] = s;
    s *= y->sizes[order[i]] > 1 ? y->sizes[order[i]] : 1;
  }
  int64_t idx[DDK_MAX_RANK] = {0};
  for (int64_t i = 0; i < yn; ++i) {
    int64_t src = 0, dst = 0;
    for (uint32_t d = 0; d < y->rank; ++d) {
      src += idx[d] * st[d];
      dst += idx[d] * y->strides[d];
    }
    char* p = (char*)y->data + (size_t)dst * es;
    if (src < xn)
      memcpy(p, (const char*)x->data + (size_t)src * es, es);
    else
      memset(p, 0, es);
    ddk_sv_next_index(idx, y->sizes, y->rank);
  }
  return DDK_OK;
}
