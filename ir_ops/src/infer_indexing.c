/*
 * infer_indexing.c — inference rules: indexing, gather/scatter, embedding.
 *
 * Index tensors are int64 or int32 (ATen accepts both for every op here);
 * index.Tensor / index_put also take bool and uint8 masks. Validation
 * follows ATen's checks (ScatterGatherChecks.h, IndexingUtils, Embedding*.cpp);
 * index values themselves are checked by the kernels, which see the data.
 *
 * Data-dependent ops (nonzero, index.Tensor with a mask) write an upper
 * bound: nonzero [numel, rank]; a mask contributes its numel to the
 * broadcast index shape.
 */
#include "infer_util.h"

static bool is_index_dtype(ddk_dtype d) {
  return d == DDK_DTYPE_INT64 || d == DDK_DTYPE_INT32;
}

static bool is_real_dtype(ddk_dtype d) {
  const int cat = ddk_dtype_category(d);
  return cat >= 0 && cat <= 2;
}

static int64_t numel_of(const ddk_tensor* t) {
  return ddk_tensor_numel(t);
}

/* ATen's ensure_nonempty_dim / ensure_nonempty_size: a 0-d tensor reads as [1]. */
static uint32_t nonempty_rank(const ddk_tensor* t) {
  return t->rank == 0 ? 1 : t->rank;
}
static int64_t nonempty_size(const ddk_tensor* t, uint32_t d) {
  return t->rank == 0 ? 1 : t->sizes[d];
}

static ddk_status need_real(ddk_infer_ctx* c, const ddk_tensor* t, const char* name) {
  if (!is_real_dtype(t->dtype))
    return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE, "argument '%s': unsupported dtype %s", name,
                          ddk_dtype_name(t->dtype));
  return DDK_OK;
}

/* ------------------------------------------------------------------------ */
/* gather / scatter family                                                  */
/* ------------------------------------------------------------------------ */

/* ATen's scatter_gather_dtype_check + gather/scatter_shape_check. `src`
 * may be NULL (gather, scatter.value). */
static ddk_status scatter_gather_check(ddk_infer_ctx* c, const ddk_tensor* self, int64_t dim,
                                       const ddk_tensor* index, const ddk_tensor* src) {
  if (src != NULL && src->dtype != self->dtype)
    return ddk_infer_fail(c, DDK_DTYPE_MISMATCH, "expected self.dtype (%s) to equal src.dtype (%s)",
                          ddk_dtype_name(self->dtype), ddk_dtype_name(src->dtype));
  if (numel_of(index) == 0) return DDK_OK;
  if (!is_index_dtype(index->dtype))
    return ddk_infer_fail(c, DDK_DTYPE_MISMATCH, "expected dtype int32/int64 for index, got %s",
                          ddk_dtype_name(index->dtype));
  const uint32_t r = nonempty_rank(self);
  if (nonempty_rank(index) != r)
    return ddk_infer_fail(c, DDK_SHAPE_MISMATCH,
                          "index tensor must have the same number of dimensions as self");
  if (src != NULL && nonempty_rank(src) != r)
    return ddk_infer_fail(c, DDK_SHAPE_MISMATCH,
                          "index tensor must have the same number of dimensions as src");
  for (uint32_t d = 0; d < r; ++d) {
    const int64_t n = nonempty_size(index, d);
    if ((int64_t)d != dim && n > nonempty_size(self, d))
      return ddk_infer_fail(c, DDK_SHAPE_MISMATCH,
                            "index size %lld at dim %u is larger than self's %lld", (long long)n, d,
                            (long long)nonempty_size(self, d));
    if (src != NULL && n > nonempty_size(src, d))
      return ddk_infer_fail(c, DDK_SHAPE_MISMATCH,
                            "index size %lld at dim %u is larger than src's %lld", (long long)n, d,
                            (long long)nonempty_size(src, d));
  }
  return DDK_OK;
}

ddk_status ddk_infer_aten_gather(ddk_infer_ctx* c) {
  const ddk_tensor *self = NULL, *index = NULL;
  int64_t dim = 0;
  ddk_status st = ddk_infer_need(c, 3, 1);
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 0, "self", &self);
  if (st == DDK_OK) st = ddk_infer_arg_int(c, 1, "dim", &dim);
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 2, "index", &index);
  if (st == DDK_OK) st = need_real(c, self, "self");
  if (st == DDK_OK) st = ddk_infer_wrap_dim(c, "dim", dim, self->rank, &dim);
  if (st == DDK_OK) st = scatter_gather_check(c, self, dim, index, NULL);
  if (st != DDK_OK) return st;
  return ddk_infer_set_output(c, 0, self->dtype, index->rank, index->sizes);
}

/* scatter.src, scatter.value, scatter_add, scatter_reduce.two: (self, dim,
 * index, src|value, ...) -> self's shape and dtype. */
static ddk_status infer_scatter(ddk_infer_ctx* c, bool has_src, uint32_t num_args) {
  const ddk_tensor *self = NULL, *index = NULL, *src = NULL;
  int64_t dim = 0;
  ddk_status st = ddk_infer_need(c, num_args, 1);
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 0, "self", &self);
  if (st == DDK_OK) st = ddk_infer_arg_int(c, 1, "dim", &dim);
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 2, "index", &index);
  if (st == DDK_OK && has_src) st = ddk_infer_arg_tensor(c, 3, "src", &src);
  if (st == DDK_OK && !has_src) {
    uint32_t kind = 0;
    st = ddk_infer_arg_scalar(c, 3, "value", &kind);
  }
  if (st == DDK_OK) st = need_real(c, self, "self");
  if (st == DDK_OK) st = ddk_infer_wrap_dim(c, "dim", dim, self->rank, &dim);
  if (st == DDK_OK) st = scatter_gather_check(c, self, dim, index, src);
  if (st != DDK_OK) return st;
  return ddk_infer_same_shape(c, self, self->dtype);
}

ddk_status ddk_infer_aten_scatter_src(ddk_infer_ctx* c) {
  return infer_scatter(c, true, 4);
}
ddk_status ddk_infer_aten_scatter_value(ddk_infer_ctx* c) {
  return infer_scatter(c, false, 4);
}
ddk_status ddk_infer_aten_scatter_add(ddk_infer_ctx* c) {
  return infer_scatter(c, true, 4);
}

ddk_status ddk_infer_aten_scatter_reduce_two(ddk_infer_ctx* c) {
  ddk_status st = infer_scatter(c, true, 6);
  if (st != DDK_OK) return st;
  const ddk_arg* r = &c->node->args[4];
  bool include_self = true;
  st = ddk_infer_arg_bool(c, 5, "include_self", &include_self);
  if (st != DDK_OK) return st;
  /* ATen's get_reduction_enum also takes "max" and "min" */
  static const char* const names[] = {"sum", "prod", "mean", "amax", "amin", "max", "min"};
  bool known = false;
  for (size_t i = 0; r->kind == DDK_ARG_STRING && r->u.str != NULL && i < 7; ++i)
    known = known || strcmp(r->u.str, names[i]) == 0;
  if (!known)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                          "argument 'reduce' must be sum, prod, mean, amax or amin");
  const ddk_tensor* self = &c->values[c->node->args[0].u.tensor];
  if (strcmp(r->u.str, "mean") == 0 && self->dtype == DDK_DTYPE_BOOL)
    return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE, "reduce='mean' is not implemented for bool");
  return DDK_OK;
}

/* ------------------------------------------------------------------------ */
/* index_select, select_scatter, slice_scatter                              */
/* ------------------------------------------------------------------------ */

ddk_status ddk_infer_aten_index_select(ddk_infer_ctx* c) {
  const ddk_tensor *self = NULL, *index = NULL;
  int64_t dim = 0;
  ddk_status st = ddk_infer_need(c, 3, 1);
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 0, "self", &self);
  if (st == DDK_OK) st = ddk_infer_arg_int(c, 1, "dim", &dim);
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 2, "index", &index);
  if (st == DDK_OK) st = need_real(c, self, "self");
  if (st == DDK_OK) st = ddk_infer_wrap_dim(c, "dim", dim, self->rank, &dim);
  if (st != DDK_OK) return st;
  const int64_t n = numel_of(index);
  if (index->rank > 1)
    return ddk_infer_fail(c, DDK_SHAPE_MISMATCH, "index is supposed to be a vector");
  if (self->rank == 0 && n != 1)
    return ddk_infer_fail(c, DDK_SHAPE_MISMATCH,
                          "index to a scalar can have only 1 value, got %lld", (long long)n);
  if (!is_index_dtype(index->dtype))
    return ddk_infer_fail(c, DDK_DTYPE_MISMATCH, "expected dtype int32 or int64 for index, got %s",
                          ddk_dtype_name(index->dtype));
  int64_t sizes[DDK_MAX_RANK];
  for (uint32_t d = 0; d < self->rank; ++d) sizes[d] = (int64_t)d == dim ? n : self->sizes[d];
  return ddk_infer_set_output(c, 0, self->dtype, self->rank, sizes);
}

/* src must have exactly `sizes` (rank r) and a real dtype (cast to self's). */
static ddk_status check_embed_src(ddk_infer_ctx* c, const ddk_tensor* src, const int64_t* sizes,
                                  uint32_t r) {
  bool same = src->rank == r;
  for (uint32_t d = 0; same && d < r; ++d) same = src->sizes[d] == sizes[d];
  if (!same)
    return ddk_infer_fail(c, DDK_SHAPE_MISMATCH,
                          "expected src to have a size equal to the slice of self");
  return need_real(c, src, "src");
}

ddk_status ddk_infer_aten_select_scatter(ddk_infer_ctx* c) {
  const ddk_tensor *self = NULL, *src = NULL;
  int64_t dim = 0, index = 0;
  ddk_status st = ddk_infer_need(c, 4, 1);
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 0, "self", &self);
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 1, "src", &src);
  if (st == DDK_OK) st = ddk_infer_arg_int(c, 2, "dim", &dim);
  if (st == DDK_OK) st = ddk_infer_arg_int(c, 3, "index", &index);
  if (st == DDK_OK) st = need_real(c, self, "self");
  if (st != DDK_OK) return st;
  if (self->rank == 0)
    return ddk_infer_fail(c, DDK_OUT_OF_RANGE, "select() cannot be applied to a 0-dim tensor");
  st = ddk_infer_wrap_dim(c, "dim", dim, self->rank, &dim);
  if (st != DDK_OK) return st;
  const int64_t size = self->sizes[dim];
  if (index < -size || index >= size)
    return ddk_infer_fail(c, DDK_OUT_OF_RANGE, "index %lld out of range for size %lld at dim %lld",
                          (long long)index, (long long)size, (long long)dim);
  int64_t sizes[DDK_MAX_RANK];
  uint32_t r = 0;
  for (uint32_t d = 0; d < self->rank; ++d)
    if ((int64_t)d != dim) sizes[r++] = self->sizes[d];
  st = check_embed_src(c, src, sizes, r);
  if (st != DDK_OK) return st;
  return ddk_infer_same_shape(c, self, self->dtype);
}

ddk_status ddk_infer_aten_slice_scatter(ddk_infer_ctx* c) {
  const ddk_tensor *self = NULL, *src = NULL;
  int64_t dim = 0, step = 1;
  ddk_status st = ddk_infer_need(c, 6, 1);
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 0, "self", &self);
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 1, "src", &src);
  if (st == DDK_OK) st = ddk_infer_arg_int(c, 2, "dim", &dim);
  if (st == DDK_OK) st = ddk_infer_arg_int(c, 5, "step", &step);
  if (st == DDK_OK) st = need_real(c, self, "self");
  if (st != DDK_OK) return st;
  const ddk_arg* a = c->node->args;
  if ((a[3].kind != DDK_ARG_NONE && a[3].kind != DDK_ARG_INT) ||
      (a[4].kind != DDK_ARG_NONE && a[4].kind != DDK_ARG_INT))
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                          "arguments 'start' and 'end' must be ints or None");
  if (self->rank == 0)
    return ddk_infer_fail(c, DDK_OUT_OF_RANGE, "slice() cannot be applied to a 0-dim tensor");
  st = ddk_infer_wrap_dim(c, "dim", dim, self->rank, &dim);
  if (st != DDK_OK) return st;
  if (step <= 0) return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "slice step must be positive");
  const int64_t size = self->sizes[dim];
  int64_t start = a[3].kind == DDK_ARG_INT ? a[3].u.i : 0;
  int64_t end = a[4].kind == DDK_ARG_INT ? a[4].u.i : INT64_MAX;
  if (start < 0) start = start < -size ? 0 : start + size;
  if (end < 0) end = end < -size ? 0 : end + size;
  if (start > size) start = size;
  if (end < start) end = start;
  if (end > size) end = size;
  int64_t sizes[DDK_MAX_RANK];
  for (uint32_t d = 0; d < self->rank; ++d) sizes[d] = self->sizes[d];
  sizes[dim] = (end - start + step - 1) / step;
  st = check_embed_src(c, src, sizes, self->rank);
  if (st != DDK_OK) return st;
  return ddk_infer_same_shape(c, self, self->dtype);
}

/* ------------------------------------------------------------------------ */
/* masked_scatter, nonzero                                                  */
/* ------------------------------------------------------------------------ */

ddk_status ddk_infer_aten_masked_scatter(ddk_infer_ctx* c) {
  const ddk_tensor *self = NULL, *mask = NULL, *source = NULL;
  ddk_status st = ddk_infer_need(c, 3, 1);
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 0, "self", &self);
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 1, "mask", &mask);
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 2, "source", &source);
  if (st == DDK_OK) st = need_real(c, self, "self");
  if (st != DDK_OK) return st;
  if (mask->dtype != DDK_DTYPE_BOOL)
    return ddk_infer_fail(c, DDK_DTYPE_MISMATCH, "only boolean masks are supported, got %s",
                          ddk_dtype_name(mask->dtype));
  if (source->dtype != self->dtype)
    return ddk_infer_fail(c, DDK_DTYPE_MISMATCH, "self (%s) and source (%s) must have one dtype",
                          ddk_dtype_name(self->dtype), ddk_dtype_name(source->dtype));
  int64_t sizes[DDK_MAX_RANK];
  uint32_t r = 0;
  st = ddk_broadcast_shapes(mask->sizes, mask->rank, self->sizes, self->rank, sizes, &r, c->err,
                            c->err_cap);
  if (st != DDK_OK) return st;
  return ddk_infer_set_output(c, 0, self->dtype, r, sizes);
}

ddk_status ddk_infer_aten_nonzero(ddk_infer_ctx* c) {
  const ddk_tensor* self = NULL;
  ddk_status st = ddk_infer_need(c, 1, 1);
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 0, "self", &self);
  if (st == DDK_OK) st = need_real(c, self, "self");
  if (st != DDK_OK) return st;
  const int64_t sizes[2] = {numel_of(self), (int64_t)self->rank}; /* upper bound */
  return ddk_infer_set_output(c, 0, DDK_DTYPE_INT64, 2, sizes);
}

/* ------------------------------------------------------------------------ */
/* Advanced indexing: index.Tensor, index_put                               */
/* ------------------------------------------------------------------------ */

/* The result layout of self[indices] (ATen's make_info / AdvancedIndex),
 * with a mask's count of true elements bounded by its numel. */
typedef struct index_layout {
  bool indexed[DDK_MAX_RANK]; /* self dims an index tensor consumes */
  bool has_mask;              /* a bool/uint8 mask with >= 1 dim */
  uint32_t num_defined;       /* index tensors after expanding masks */
  uint32_t b_rank;            /* rank of the broadcast index shape */
  int64_t b_sizes[DDK_MAX_RANK];
  uint32_t out_rank;
  int64_t out_sizes[DDK_MAX_RANK];
} index_layout;

static ddk_status index_layout_make(ddk_infer_ctx* c, const ddk_tensor* self, uint32_t arg,
                                    index_layout* L) {
  memset(L, 0, sizeof *L);
  const ddk_arg* list = &c->node->args[arg];
  if (list->kind != DDK_ARG_TENSOR_LIST || (list->count > 0 && list->u.tensors == NULL))
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "argument 'indices' must be a list of tensors");
  if (list->count == 0)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "at least one index must be provided");
  if (list->count > self->rank)
    return ddk_infer_fail(c, DDK_OUT_OF_RANGE,
                          "too many indices for tensor of dimension %u (got %u)", self->rank,
                          list->count);
  /* broadcast, right-aligned: static sizes (1 = none) and mask bounds (-1 = none) */
  int64_t stat[DDK_MAX_RANK], dyn[DDK_MAX_RANK];
  for (uint32_t i = 0; i < DDK_MAX_RANK; ++i) {
    stat[i] = 1;
    dyn[i] = -1;
  }
  uint32_t dim = 0;
  for (uint32_t e = 0; e < list->count; ++e) {
    if (list->u.tensors[e] == DDK_NO_VALUE) {
      ++dim;
      continue;
    }
    const ddk_tensor* t = &c->values[list->u.tensors[e]];
    ddk_status st = ddk_infer_check_tensor(c, t, "indices");
    if (st != DDK_OK) return st;
    if (t->dtype == DDK_DTYPE_BOOL || t->dtype == DDK_DTYPE_UINT8) {
      if (dim + t->rank > self->rank)
        return ddk_infer_fail(c, DDK_OUT_OF_RANGE, "too many indices for tensor of dimension %u",
                              self->rank);
      for (uint32_t j = 0; j < t->rank; ++j) {
        if (t->sizes[j] != self->sizes[dim + j])
          return ddk_infer_fail(c, DDK_SHAPE_MISMATCH,
                                "the shape of the mask at index %u does not match the indexed "
                                "tensor at index %u",
                                j, dim + j);
        L->indexed[dim + j] = true;
      }
      if (t->rank > 0) {
        L->has_mask = true;
        L->num_defined += t->rank;
        if (L->b_rank < 1) L->b_rank = 1;
        if (numel_of(t) > dyn[DDK_MAX_RANK - 1]) dyn[DDK_MAX_RANK - 1] = numel_of(t);
      }
      dim += t->rank;
      continue;
    }
    if (!is_index_dtype(t->dtype))
      return ddk_infer_fail(c, DDK_DTYPE_MISMATCH,
                            "tensors used as indices must be long, int, byte or bool tensors");
    if (dim >= self->rank)
      return ddk_infer_fail(c, DDK_OUT_OF_RANGE, "too many indices for tensor of dimension %u",
                            self->rank);
    L->indexed[dim++] = true;
    L->num_defined++;
    if (t->rank > L->b_rank) L->b_rank = t->rank;
    for (uint32_t j = 0; j < t->rank; ++j) {
      const int64_t s = t->sizes[t->rank - 1 - j];
      int64_t* b = &stat[DDK_MAX_RANK - 1 - j];
      if (*b == 1)
        *b = s;
      else if (s != 1 && s != *b)
        return ddk_infer_fail(c, DDK_SHAPE_MISMATCH,
                              "shape mismatch: indexing tensors could not be broadcast together");
    }
  }
  if (L->num_defined == 0)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "at least one index tensor must be defined");
  for (uint32_t j = 0; j < L->b_rank; ++j) {
    const uint32_t k = DDK_MAX_RANK - L->b_rank + j;
    int64_t s = stat[k];
    if (s == 1 && dyn[k] >= 0) s = dyn[k]; /* broadcast of counts <= numel, and 1s */
    L->b_sizes[j] = s;
  }
  /* ATen: an indexed dim of size 0 needs an empty index shape */
  if (!L->has_mask) {
    bool zero_dim = false, zero_b = false;
    for (uint32_t d = 0; d < self->rank; ++d)
      zero_dim = zero_dim || (L->indexed[d] && !self->sizes[d]);
    for (uint32_t j = 0; j < L->b_rank; ++j) zero_b = zero_b || L->b_sizes[j] == 0;
    if (zero_dim && !zero_b)
      return ddk_infer_fail(c, DDK_OUT_OF_RANGE,
                            "index is out of bounds for dimension with size 0");
  }
  /* result: B in place of adjacent indexed dims, else B first */
  int first = -1, last = -1;
  for (uint32_t d = 0; d < self->rank; ++d)
    if (L->indexed[d]) {
      if (first < 0) first = (int)d;
      last = (int)d;
    }
  bool adjacent = true;
  for (int d = first; d <= last; ++d) adjacent = adjacent && L->indexed[d];
  const uint32_t kept = self->rank - (uint32_t)(last - first + 1);
  if (kept + L->b_rank > DDK_MAX_RANK)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "result rank above %d", DDK_MAX_RANK);
  uint32_t r = 0;
  if (!adjacent)
    for (uint32_t j = 0; j < L->b_rank; ++j) L->out_sizes[r++] = L->b_sizes[j];
  for (uint32_t d = 0; d < self->rank; ++d) {
    if (adjacent && (int)d == first)
      for (uint32_t j = 0; j < L->b_rank; ++j) L->out_sizes[r++] = L->b_sizes[j];
    if (!L->indexed[d]) L->out_sizes[r++] = self->sizes[d];
  }
  L->out_rank = r;
  return DDK_OK;
}

ddk_status ddk_infer_aten_index_tensor(ddk_infer_ctx* c) {
  const ddk_tensor* self = NULL;
  ddk_status st = ddk_infer_need(c, 2, 1);
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 0, "self", &self);
  if (st == DDK_OK) st = need_real(c, self, "self");
  if (st != DDK_OK) return st;
  index_layout L;
  st = index_layout_make(c, self, 1, &L);
  if (st != DDK_OK) return st;
  return ddk_infer_set_output(c, 0, self->dtype, L.out_rank, L.out_sizes);
}

/* index_put's masked_fill shortcut (ATen canDispatchToMaskedFill): one
 * scalar value, not accumulating, and the only index a bool/uint8 mask. */
static bool index_put_is_masked_fill(const ddk_tensor* values, const ddk_arg* list,
                                     const ddk_tensor* all, bool accumulate) {
  if (accumulate || ddk_tensor_numel(values) != 1 || list->kind != DDK_ARG_TENSOR_LIST)
    return false;
  bool mask = false;
  for (uint32_t e = 0; e < list->count; ++e) {
    if (list->u.tensors[e] == DDK_NO_VALUE) continue;
    const ddk_dtype dt = all[list->u.tensors[e]].dtype;
    if ((dt != DDK_DTYPE_BOOL && dt != DDK_DTYPE_UINT8) || mask) return false;
    mask = true;
  }
  return true;
}

ddk_status ddk_infer_aten_index_put(ddk_infer_ctx* c) {
  const ddk_tensor *self = NULL, *values = NULL;
  bool accumulate = false;
  ddk_status st = ddk_infer_need(c, 4, 1);
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 0, "self", &self);
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 2, "values", &values);
  if (st == DDK_OK) st = ddk_infer_arg_bool(c, 3, "accumulate", &accumulate);
  if (st == DDK_OK) st = need_real(c, self, "self");
  if (st == DDK_OK) st = need_real(c, values, "values");
  if (st != DDK_OK) return st;
  const ddk_arg* list = &c->node->args[1];
  if (list->kind != DDK_ARG_TENSOR_LIST || (list->count > 0 && list->u.tensors == NULL))
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "argument 'indices' must be a list of tensors");
  if (list->count > self->rank)
    return ddk_infer_fail(c, DDK_OUT_OF_RANGE,
                          "too many indices for tensor of dimension %u (got %u)", self->rank,
                          list->count);
  if (index_put_is_masked_fill(values, list, c->values, accumulate)) {
    /* self.masked_fill_(mask, values.item()) */
    uint32_t dim = 0;
    const ddk_tensor* mask = NULL;
    for (uint32_t e = 0; e < list->count; ++e) {
      if (list->u.tensors[e] == DDK_NO_VALUE) {
        ++dim;
        continue;
      }
      mask = &c->values[list->u.tensors[e]];
      st = ddk_infer_check_tensor(c, mask, "indices");
      if (st != DDK_OK) return st;
      for (uint32_t j = 0; j < mask->rank; ++j)
        if (dim + j >= self->rank || mask->sizes[j] != self->sizes[dim + j])
          return ddk_infer_fail(c, DDK_SHAPE_MISMATCH,
                                "the shape of the mask at index %u does not match the indexed "
                                "tensor",
                                j);
      dim += mask->rank;
    }
    if (mask == NULL)
      return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "at least one index tensor must be defined");
    if (mask->dtype != DDK_DTYPE_BOOL)
      return ddk_infer_fail(c, DDK_DTYPE_MISMATCH,
                            "masked_fill_ only supports boolean masks, got uint8");
    return ddk_infer_same_shape(c, self, self->dtype);
  }
  index_layout L;
  st = index_layout_make(c, self, 1, &L);
  if (st != DDK_OK) return st;
  if (!L.has_mask) { /* values must broadcast to the indexing result */
    bool ok = values->rank <= L.out_rank;
    for (uint32_t j = 0; ok && j < values->rank; ++j) {
      const int64_t v = values->sizes[values->rank - 1 - j];
      ok = v == 1 || v == L.out_sizes[L.out_rank - 1 - j];
    }
    if (!ok)
      return ddk_infer_fail(c, DDK_SHAPE_MISMATCH,
                            "shape mismatch: value tensor cannot be broadcast to the indexing "
                            "result");
  }
  if (values->dtype != self->dtype)
    return ddk_infer_fail(c, DDK_DTYPE_MISMATCH,
                          "index put requires the source (%s) and destination (%s) dtypes match",
                          ddk_dtype_name(values->dtype), ddk_dtype_name(self->dtype));
  return ddk_infer_same_shape(c, self, self->dtype);
}

/* ------------------------------------------------------------------------ */
/* embedding                                                                */
/* ------------------------------------------------------------------------ */

ddk_status ddk_infer_aten_embedding(ddk_infer_ctx* c) {
  const ddk_tensor *weight = NULL, *indices = NULL;
  ddk_status st = ddk_infer_need(c, 2, 1);
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 0, "weight", &weight);
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 1, "indices", &indices);
  if (st == DDK_OK) st = need_real(c, weight, "weight");
  if (st != DDK_OK) return st;
  if (weight->rank != 2) return ddk_infer_fail(c, DDK_SHAPE_MISMATCH, "'weight' must be 2-D");
  if (!is_index_dtype(indices->dtype))
    return ddk_infer_fail(c, DDK_DTYPE_MISMATCH,
                          "argument 'indices' must be int64 or int32, got %s",
                          ddk_dtype_name(indices->dtype));
  if (indices->rank + 1 > DDK_MAX_RANK)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "result rank above %d", DDK_MAX_RANK);
  int64_t sizes[DDK_MAX_RANK];
  for (uint32_t d = 0; d < indices->rank; ++d) sizes[d] = indices->sizes[d];
  sizes[indices->rank] = weight->sizes[1];
  return ddk_infer_set_output(c, 0, weight->dtype, indices->rank + 1, sizes);
}

ddk_status ddk_infer_aten_embedding_dense_backward(ddk_infer_ctx* c) {
  const ddk_tensor *grad = NULL, *indices = NULL;
  int64_t num_weights = 0, padding_idx = 0;
  bool freq = false;
  ddk_status st = ddk_infer_need(c, 5, 1);
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 0, "grad_output", &grad);
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 1, "indices", &indices);
  if (st == DDK_OK) st = ddk_infer_arg_int(c, 2, "num_weights", &num_weights);
  if (st == DDK_OK) st = ddk_infer_arg_int(c, 3, "padding_idx", &padding_idx);
  if (st == DDK_OK) st = ddk_infer_arg_bool(c, 4, "scale_grad_by_freq", &freq);
  if (st == DDK_OK) st = need_real(c, grad, "grad_output");
  if (st != DDK_OK) return st;
  if (!is_index_dtype(indices->dtype))
    return ddk_infer_fail(c, DDK_DTYPE_MISMATCH,
                          "argument 'indices' must be int64 or int32, got %s",
                          ddk_dtype_name(indices->dtype));
  if (grad->rank == 0) return ddk_infer_fail(c, DDK_OUT_OF_RANGE, "grad_output has no dimensions");
  if (num_weights < 0)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "num_weights must be non-negative");
  const int64_t d = grad->sizes[grad->rank - 1];
  if (d != 0 && numel_of(grad) != numel_of(indices) * d)
    return ddk_infer_fail(c, DDK_SHAPE_MISMATCH,
                          "grad_output of %lld elements cannot be viewed as [%lld, %lld]",
                          (long long)numel_of(grad), (long long)numel_of(indices), (long long)d);
  const int64_t sizes[2] = {num_weights, d};
  return ddk_infer_set_output(c, 0, grad->dtype, 2, sizes);
}

/* True when ATen's CPU _embedding_bag takes its fast sum path (no
 * offset2bag computed for mode sum): float/half/bfloat16 weight with unit
 * stride along dim 1, per_sample_weights (if any) with unit stride, and
 * padding_idx < 0. Shared logic with the kernel (op_embedding.c). */
static bool embedding_bag_fast(const ddk_tensor* w, const ddk_tensor* psw, int64_t padding_idx) {
  const ddk_dtype dt = w->dtype;
  return (dt == DDK_DTYPE_FLOAT32 || dt == DDK_DTYPE_FLOAT16 || dt == DDK_DTYPE_BFLOAT16) &&
         w->strides[1] == 1 && (psw == NULL || psw->strides[0] == 1) && padding_idx < 0;
}

ddk_status ddk_infer_aten_embedding_bag(ddk_infer_ctx* c) {
  const ddk_tensor *w = NULL, *ind = NULL, *off = NULL, *psw = NULL;
  int64_t mode = 0, padding_idx = -1;
  bool ilo = false;
  ddk_status st = ddk_infer_need(c, 9, 4);
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 0, "weight", &w);
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 1, "indices", &ind);
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 2, "offsets", &off);
  if (st == DDK_OK) st = ddk_infer_arg_int(c, 4, "mode", &mode);
  if (st == DDK_OK) st = ddk_infer_arg_opt_tensor(c, 6, "per_sample_weights", &psw);
  if (st == DDK_OK) st = ddk_infer_arg_bool(c, 7, "include_last_offset", &ilo);
  if (st == DDK_OK) st = ddk_infer_arg_int(c, 8, "padding_idx", &padding_idx);
  if (st != DDK_OK) return st;
  if (ind->rank < 1 || ind->rank > 2)
    return ddk_infer_fail(c, DDK_SHAPE_MISMATCH, "input has to be a 1D or 2D Tensor, got %u dims",
                          ind->rank);
  if (off->rank != 1) return ddk_infer_fail(c, DDK_SHAPE_MISMATCH, "offsets has to be a 1D Tensor");
  if (!is_index_dtype(ind->dtype) || !is_index_dtype(off->dtype))
    return ddk_infer_fail(c, DDK_DTYPE_MISMATCH, "indices and offsets must be int64 or int32");
  if (!ddk_infer_is_floating(w->dtype))
    return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE, "weight must be a floating tensor, got %s",
                          ddk_dtype_name(w->dtype));
  if (w->rank != 2)
    return ddk_infer_fail(c, DDK_SHAPE_MISMATCH, "weight has to be a 2D Tensor, got %u dims",
                          w->rank);
  if (mode < 0 || mode > 2)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "mode must be sum (0), mean (1) or max (2)");
  if (psw != NULL) {
    if (mode != 0)
      return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                            "per_sample_weights only supported with mode='sum'");
    if (psw->dtype != w->dtype)
      return ddk_infer_fail(c, DDK_DTYPE_MISMATCH, "per_sample_weights must have weight's dtype");
    if (psw->rank != 1 || psw->sizes[0] != numel_of(ind))
      return ddk_infer_fail(c, DDK_SHAPE_MISMATCH,
                            "per_sample_weights must be 1-D with one weight per index");
  }
  if (ilo && off->sizes[0] < 1)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                          "include_last_offset: number of offsets should be at least 1");
  const ddk_dtype aux = (ind->dtype == DDK_DTYPE_INT32 && off->dtype == DDK_DTYPE_INT32)
                            ? DDK_DTYPE_INT32
                            : DDK_DTYPE_INT64;
  const int64_t bags = off->sizes[0] - (ilo ? 1 : 0);
  const int64_t out_sizes[2] = {bags, w->sizes[1]};
  const bool fast = mode != 2 && embedding_bag_fast(w, psw, padding_idx);
  if (ind->rank == 2 && !fast) /* ATen raises there, or reads out of bounds (max) */
    return ddk_infer_fail(c, DDK_UNSUPPORTED_FEATURE,
                          "2-D indices work only on ATen's fast sum/mean path");
  const int64_t o2b = (mode == 0 && fast) ? 0 : ind->sizes[0];
  st = ddk_infer_set_output(c, 0, w->dtype, 2, out_sizes);
  if (st == DDK_OK) st = ddk_infer_set_output(c, 1, aux, 1, &o2b);
  if (st == DDK_OK) st = ddk_infer_set_output(c, 2, aux, 1, &bags);
  if (st != DDK_OK) return st;
  /* max_indices: [bags, D] for max, else a copy of bag_size */
  return mode == 2 ? ddk_infer_set_output(c, 3, aux, 2, out_sizes)
                   : ddk_infer_set_output(c, 3, aux, 1, &bags);
}
