/*
 * op_indexing.c — aten::index.Tensor, index_put, index_select, nonzero,
 * masked_scatter.
 *
 * Semantics (ATen CPU):
 *  - index.Tensor(self, indices): advanced indexing. A None entry keeps a
 *    dim; an int64/int32 tensor indexes one dim (negative values wrap;
 *    out-of-range values are refused when the result is non-empty, as
 *    ATen checks them while copying); a bool/uint8 mask of k dims indexes
 *    k dims and stands for the k columns of nonzero(mask) (a 0-d mask
 *    consumes nothing). The index tensors broadcast to one shape B. When
 *    the indexed dims are adjacent, B replaces them in place; otherwise B
 *    comes first, followed by the kept dims. Masks make the result shape
 *    data dependent: inference gives an upper bound (a mask counts as its
 *    numel), the kernel writes the actual sizes (only ever smaller).
 *  - index_put(self, indices, values, accumulate): out = copy of self;
 *    values (same dtype, broadcast to the indexing result) are written at
 *    the indexed positions in row-major order (duplicates: the last one
 *    wins; ATen leaves that unspecified) or added (accumulate=True, in the
 *    dtype's math type, rounded at every step). ATen's masked_fill
 *    shortcut is reproduced: one value, no accumulate and the only index
 *    a mask -> fill where the mask is true, with the value converted to
 *    self's dtype (any value dtype; uint8 masks refused there, as ATen).
 *  - index_select(self, dim, index): index is 0-d or 1-d int64/int32;
 *    every index must lie in [0, size) (negative refused, as ATen).
 *  - nonzero(self): int64 [n, rank], coordinates in row-major order; NaN
 *    is nonzero, -0.0 zero. Data-dependent (bound [numel, rank]).
 *  - masked_scatter(self, mask, source): the result has the broadcast
 *    shape of self and mask (bool); positions where the mask is true take
 *    consecutive elements of source (in its row-major order); refused
 *    when source runs out.
 */
#include "op_indexing_util.h"

/* ------------------------------------------------------------------------ */
/* index_select                                                             */
/* ------------------------------------------------------------------------ */

ddk_status ddk_kernel_aten_index_select(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  if (node->num_args < 3 || node->num_outputs < 1 || node->args[1].kind != DDK_ARG_INT ||
      node->args[2].kind != DDK_ARG_TENSOR)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "expected (self, dim, index)");
  const ddk_tensor* self = ddk_kernel_arg_tensor(ctx, node, 0);
  const ddk_tensor* index = ddk_kernel_arg_tensor(ctx, node, 2);
  ddk_tensor* out = ddk_kernel_out(ctx, node, 0);
  ddk_status st = ddk_ku_check_dtype(ctx, node, "self", self, DDK_KU_MASK_REAL);
  if (st != DDK_OK) return st;
  if (!ddk_ix_is_index_dtype(index->dtype) || index->rank > 1)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT,
                           "index must be a 0-d or 1-d int64/int32 tensor");
  const int64_t r = self->rank == 0 ? 1 : (int64_t)self->rank;
  int64_t dim = node->args[1].u.i;
  if (dim < -r || dim >= r)
    return ddk_kernel_fail(ctx, node, DDK_OUT_OF_RANGE, "dim %lld out of range", (long long)dim);
  if (dim < 0) dim += r;
  const int64_t n = ddk_tensor_numel(index);
  const int64_t istride = index->rank == 1 ? index->strides[0] : 0;
  const int64_t size = self->rank == 0 ? 1 : self->sizes[dim];
  if (out->dtype != self->dtype || out->rank != self->rank ||
      (self->rank > 0 && out->sizes[dim] != n) || (self->rank == 0 && n != 1))
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "result shape does not match");
  for (int64_t i = 0; i < n; ++i) {
    const int64_t k = ddk_ix_index_at(index, i * istride);
    if (k < 0 || k >= size)
      return ddk_kernel_fail(ctx, node, DDK_OUT_OF_RANGE, "index %lld out of range in self",
                             (long long)k);
  }
  if (ddk_tensor_numel(out) == 0) return DDK_OK;
  const size_t es = ddk_dtype_size(self->dtype);
  int64_t pos[DDK_MAX_RANK] = {0};
  do {
    int64_t soff = 0, ooff = 0;
    for (uint32_t d = 0; d < self->rank; ++d) {
      const int64_t p = (int64_t)d == dim ? ddk_ix_index_at(index, pos[d] * istride) : pos[d];
      soff += p * self->strides[d];
      ooff += pos[d] * out->strides[d];
    }
    ddk_ix_copy_elem(out->data, ooff, self->data, soff, es);
  } while (ddk_ix_next(pos, out->sizes, out->rank));
  return DDK_OK;
}

/* ------------------------------------------------------------------------ */
/* nonzero                                                                  */
/* ------------------------------------------------------------------------ */

/* Writes the actual sizes of a data-dependent output (never beyond the
 * bound inference gave), with contiguous strides. */
static ddk_status shrink_output(ddk_kernel_ctx* ctx, const ddk_node_view* node, ddk_tensor* out,
                                uint32_t rank, const int64_t* sizes) {
  if (rank != out->rank)
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "result rank differs from inference's");
  uint64_t bytes = ddk_dtype_size(out->dtype);
  for (uint32_t d = 0; d < rank; ++d) {
    if (sizes[d] > out->sizes[d])
      return ddk_kernel_fail(ctx, node, DDK_INTERNAL, "result size %lld above its bound %lld",
                             (long long)sizes[d], (long long)out->sizes[d]);
    bytes *= (uint64_t)sizes[d];
  }
  if (bytes > out->capacity)
    return ddk_kernel_fail(ctx, node, DDK_INTERNAL, "result does not fit its buffer");
  for (uint32_t d = 0; d < rank; ++d) out->sizes[d] = sizes[d];
  ddk_tensor_set_contiguous(out);
  return DDK_OK;
}

ddk_status ddk_kernel_aten_nonzero(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  if (node->num_args < 1 || node->num_outputs < 1)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "expected (self)");
  const ddk_tensor* self = ddk_kernel_arg_tensor(ctx, node, 0);
  ddk_tensor* out = ddk_kernel_out(ctx, node, 0);
  ddk_status st = ddk_ku_check_dtype(ctx, node, "self", self, DDK_KU_MASK_REAL);
  if (st != DDK_OK) return st;
  if (out->dtype != DDK_DTYPE_INT64)
    return ddk_kernel_fail(ctx, node, DDK_DTYPE_MISMATCH, "result must be int64");
  int64_t count = 0, pos[DDK_MAX_RANK] = {0};
  if (ddk_tensor_numel(self) > 0) do {
      count += ddk_ix_nonzero(self->data, self->dtype, ddk_ix_dot(pos, self->strides, self->rank));
    } while (ddk_ix_next(pos, self->sizes, self->rank));
  const int64_t sizes[2] = {count, (int64_t)self->rank};
  st = shrink_output(ctx, node, out, 2, sizes);
  if (st != DDK_OK || count == 0) return st;
  int64_t* o = (int64_t*)out->data;
  int64_t row = 0;
  do {
    if (!ddk_ix_nonzero(self->data, self->dtype, ddk_ix_dot(pos, self->strides, self->rank)))
      continue;
    for (uint32_t d = 0; d < self->rank; ++d)
      o[row * out->strides[0] + (int64_t)d * out->strides[1]] = pos[d];
    ++row;
  } while (ddk_ix_next(pos, self->sizes, self->rank));
  return DDK_OK;
}

/* ------------------------------------------------------------------------ */
/* masked_scatter                                                           */
/* ------------------------------------------------------------------------ */

ddk_status ddk_kernel_aten_masked_scatter(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  if (node->num_args < 3 || node->num_outputs < 1 || node->args[1].kind != DDK_ARG_TENSOR ||
      node->args[2].kind != DDK_ARG_TENSOR)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "expected (self, mask, source)");
  const ddk_tensor* self = ddk_kernel_arg_tensor(ctx, node, 0);
  const ddk_tensor* mask = ddk_kernel_arg_tensor(ctx, node, 1);
  const ddk_tensor* source = ddk_kernel_arg_tensor(ctx, node, 2);
  ddk_tensor* out = ddk_kernel_out(ctx, node, 0);
  ddk_status st = ddk_ku_check_dtype(ctx, node, "self", self, DDK_KU_MASK_REAL);
  if (st != DDK_OK) return st;
  if (mask->dtype != DDK_DTYPE_BOOL)
    return ddk_kernel_fail(ctx, node, DDK_DTYPE_MISMATCH, "only boolean masks are supported");
  if (source->dtype != self->dtype || out->dtype != self->dtype)
    return ddk_kernel_fail(ctx, node, DDK_DTYPE_MISMATCH, "self and source must have one dtype");
  int64_t ss[DDK_MAX_RANK], ms[DDK_MAX_RANK];
  if (!ddk_ku_broadcast_strides(self, out->sizes, out->rank, ss) ||
      !ddk_ku_broadcast_strides(mask, out->sizes, out->rank, ms))
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "mask and self do not broadcast");
  const size_t es = ddk_dtype_size(self->dtype);
  ddk_ku_copy_strided(out->data, out->strides, self->data, ss, out->sizes, out->rank, es);
  if (ddk_tensor_numel(out) == 0) return DDK_OK;
  const int64_t avail = ddk_tensor_numel(source);
  const uint8_t* m = (const uint8_t*)mask->data;
  int64_t used = 0, pos[DDK_MAX_RANK] = {0}, spos[DDK_MAX_RANK] = {0};
  do {
    if (!m[ddk_ix_dot(pos, ms, out->rank)]) continue;
    if (used == avail)
      return ddk_kernel_fail(ctx, node, DDK_OUT_OF_RANGE,
                             "number of elements of source < number of ones in mask");
    ddk_ix_copy_elem(out->data, ddk_ix_dot(pos, out->strides, out->rank), source->data,
                     ddk_ix_dot(spos, source->strides, source->rank), es);
    ++used;
    ddk_ix_next(spos, source->sizes, source->rank);
  } while (ddk_ix_next(pos, out->sizes, out->rank));
  return DDK_OK;
}

/* ------------------------------------------------------------------------ */
/* Advanced indexing                                                        */
/* ------------------------------------------------------------------------ */

/* One index tensor of the list (a mask stands for its k nonzero columns). */
typedef struct ix_entry {
  const ddk_tensor* t;
  bool mask;
  uint32_t dim;                   /* first self dim it indexes */
  int64_t nnz;                    /* masks: number of true elements */
  int64_t bstrides[DDK_MAX_RANK]; /* index tensors: strides broadcast to B */
  int64_t cur_j;                  /* masks: ordinal of the true element at cur_pos */
  int64_t cur_pos[DDK_MAX_RANK];
} ix_entry;

/* Where the result of self[indices] reads from (ATen's AdvancedIndex). */
typedef struct ix_plan {
  uint32_t num;
  ix_entry e[DDK_MAX_RANK];
  uint32_t b_rank;
  int64_t b_sizes[DDK_MAX_RANK];
  uint32_t out_rank;
  int64_t out_sizes[DDK_MAX_RANK];
  int out_src[DDK_MAX_RANK]; /* >= 0: self dim; < 0: B dim -(v + 1) */
} ix_plan;

static ddk_status ix_plan_make(ddk_kernel_ctx* ctx, const ddk_node_view* node,
                               const ddk_tensor* self, const ddk_arg* list, ix_plan* P) {
  memset(P, 0, sizeof *P);
  if (list->kind != DDK_ARG_TENSOR_LIST || list->count == 0 || list->count > self->rank)
    return ddk_kernel_fail(ctx, node, DDK_OUT_OF_RANGE,
                           "expected 1 to %u indices for a tensor of dimension %u", self->rank,
                           self->rank);
  bool indexed[DDK_MAX_RANK] = {false};
  uint32_t dim = 0;
  for (uint32_t i = 0; i < list->count; ++i) {
    if (list->u.tensors[i] == DDK_NO_VALUE) {
      ++dim;
      continue;
    }
    const ddk_tensor* t = &ctx->values[list->u.tensors[i]];
    const bool mask = t->dtype == DDK_DTYPE_BOOL || t->dtype == DDK_DTYPE_UINT8;
    const uint32_t k = mask ? t->rank : 1;
    if (!mask && !ddk_ix_is_index_dtype(t->dtype))
      return ddk_kernel_fail(ctx, node, DDK_DTYPE_MISMATCH,
                             "tensors used as indices must be long, int, byte or bool tensors");
    if (dim + k > self->rank)
      return ddk_kernel_fail(ctx, node, DDK_OUT_OF_RANGE,
                             "too many indices for tensor of dimension %u", self->rank);
    if (mask && k == 0) continue; /* a 0-d mask indexes nothing (ATen's expandTensors) */
    ix_entry* e = &P->e[P->num++];
    e->t = t;
    e->mask = mask;
    e->dim = dim;
    e->cur_j = -1;
    for (uint32_t j = 0; j < k; ++j) {
      if (mask && t->sizes[j] != self->sizes[dim + j])
        return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH,
                               "the shape of the mask does not match the indexed tensor at dim %u",
                               dim + j);
      indexed[dim + j] = true;
    }
    dim += k;
    if (mask) {
      int64_t pos[DDK_MAX_RANK] = {0};
      if (ddk_tensor_numel(t) > 0) do {
          e->nnz += ddk_ix_nonzero(t->data, t->dtype, ddk_ix_dot(pos, t->strides, t->rank));
        } while (ddk_ix_next(pos, t->sizes, t->rank));
    }
  }
  if (P->num == 0)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "at least one index tensor is needed");
  /* broadcast the index shapes (a mask contributes [nnz]) */
  int64_t b[DDK_MAX_RANK];
  for (uint32_t j = 0; j < DDK_MAX_RANK; ++j) b[j] = 1;
  for (uint32_t i = 0; i < P->num; ++i) {
    const ddk_tensor* t = P->e[i].t;
    const uint32_t r = P->e[i].mask ? 1 : t->rank;
    if (r > P->b_rank) P->b_rank = r;
    for (uint32_t j = 0; j < r; ++j) {
      const int64_t s = P->e[i].mask ? P->e[i].nnz : t->sizes[r - 1 - j];
      int64_t* bj = &b[DDK_MAX_RANK - 1 - j];
      if (*bj == 1)
        *bj = s;
      else if (s != 1 && s != *bj)
        return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH,
                               "shape mismatch: indexing tensors could not be broadcast together");
    }
  }
  bool zero_b = false, zero_dim = false;
  for (uint32_t j = 0; j < P->b_rank; ++j) {
    P->b_sizes[j] = b[DDK_MAX_RANK - P->b_rank + j];
    zero_b = zero_b || P->b_sizes[j] == 0;
  }
  for (uint32_t i = 0; i < P->num; ++i)
    if (!P->e[i].mask) ddk_ku_broadcast_strides(P->e[i].t, P->b_sizes, P->b_rank, P->e[i].bstrides);
  for (uint32_t d = 0; d < self->rank; ++d) zero_dim = zero_dim || (indexed[d] && !self->sizes[d]);
  if (zero_dim && !zero_b)
    return ddk_kernel_fail(ctx, node, DDK_OUT_OF_RANGE,
                           "index is out of bounds for dimension with size 0");
  int first = -1, last = -1;
  for (uint32_t d = 0; d < self->rank; ++d)
    if (indexed[d]) {
      if (first < 0) first = (int)d;
      last = (int)d;
    }
  bool adjacent = true;
  for (int d = first; d <= last; ++d) adjacent = adjacent && indexed[d];
  if (self->rank - (uint32_t)(last - first + 1) + P->b_rank > DDK_MAX_RANK)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "result rank above %d", DDK_MAX_RANK);
  uint32_t r = 0;
  for (uint32_t d = 0; d <= self->rank; ++d) {
    if ((adjacent && (int)d == first) || (!adjacent && d == 0))
      for (uint32_t j = 0; j < P->b_rank; ++j) {
        P->out_src[r] = -(int)j - 1;
        P->out_sizes[r++] = P->b_sizes[j];
      }
    if (d < self->rank && !indexed[d]) {
      P->out_src[r] = (int)d;
      P->out_sizes[r++] = self->sizes[d];
    }
  }
  P->out_rank = r;
  return DDK_OK;
}

/* Moves a mask entry's cursor to its j-th true element (row-major);
 * j < nnz. Sequential j (the usual walk) costs one forward scan. */
static void ix_mask_seek(ix_entry* e, int64_t j) {
  const ddk_tensor* t = e->t;
  if (j < e->cur_j) e->cur_j = -1;
  if (e->cur_j < 0) {
    memset(e->cur_pos, 0, sizeof e->cur_pos);
    while (!ddk_ix_nonzero(t->data, t->dtype, ddk_ix_dot(e->cur_pos, t->strides, t->rank)))
      ddk_ix_next(e->cur_pos, t->sizes, t->rank);
    e->cur_j = 0;
  }
  for (; e->cur_j < j; ++e->cur_j) {
    do {
      ddk_ix_next(e->cur_pos, t->sizes, t->rank);
    } while (!ddk_ix_nonzero(t->data, t->dtype, ddk_ix_dot(e->cur_pos, t->strides, t->rank)));
  }
}

/* Element offset, in a tensor of self's sizes with `strides`, of result
 * position `pos`; DDK_OUT_OF_RANGE for an index out of bounds. */
static ddk_status ix_offset(ddk_kernel_ctx* ctx, const ddk_node_view* node, ix_plan* P,
                            const ddk_tensor* self, const int64_t* strides, const int64_t* pos,
                            int64_t* out_off) {
  int64_t off = 0, bpos[DDK_MAX_RANK] = {0};
  for (uint32_t o = 0; o < P->out_rank; ++o) {
    if (P->out_src[o] >= 0)
      off += pos[o] * strides[P->out_src[o]];
    else
      bpos[-P->out_src[o] - 1] = pos[o];
  }
  for (uint32_t i = 0; i < P->num; ++i) {
    ix_entry* e = &P->e[i];
    if (!e->mask) {
      const int64_t size = self->sizes[e->dim];
      int64_t k = ddk_ix_index_at(e->t, ddk_ix_dot(bpos, e->bstrides, P->b_rank));
      if (k < -size || k >= size)
        return ddk_kernel_fail(ctx, node, DDK_OUT_OF_RANGE,
                               "index %lld is out of bounds for dimension %u with size %lld",
                               (long long)k, e->dim, (long long)size);
      off += (k < 0 ? k + size : k) * strides[e->dim];
      continue;
    }
    ix_mask_seek(e, e->nnz == 1 ? 0 : bpos[P->b_rank - 1]);
    for (uint32_t j = 0; j < e->t->rank; ++j) off += e->cur_pos[j] * strides[e->dim + j];
  }
  *out_off = off;
  return DDK_OK;
}

ddk_status ddk_kernel_aten_index_tensor(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  if (node->num_args < 2 || node->num_outputs < 1)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "expected (self, indices)");
  const ddk_tensor* self = ddk_kernel_arg_tensor(ctx, node, 0);
  ddk_tensor* out = ddk_kernel_out(ctx, node, 0);
  ddk_status st = ddk_ku_check_dtype(ctx, node, "self", self, DDK_KU_MASK_REAL);
  if (st != DDK_OK) return st;
  if (out->dtype != self->dtype)
    return ddk_kernel_fail(ctx, node, DDK_DTYPE_MISMATCH, "result must have self's dtype");
  ix_plan P;
  st = ix_plan_make(ctx, node, self, &node->args[1], &P);
  if (st == DDK_OK) st = shrink_output(ctx, node, out, P.out_rank, P.out_sizes);
  if (st != DDK_OK || ddk_tensor_numel(out) == 0) return st;
  const size_t es = ddk_dtype_size(self->dtype);
  int64_t pos[DDK_MAX_RANK] = {0};
  do {
    int64_t off = 0;
    st = ix_offset(ctx, node, &P, self, self->strides, pos, &off);
    if (st != DDK_OK) return st;
    ddk_ix_copy_elem(out->data, ddk_ix_dot(pos, out->strides, out->rank), self->data, off, es);
  } while (ddk_ix_next(pos, out->sizes, out->rank));
  return DDK_OK;
}

/* index_put's masked_fill shortcut: out[p] = value where the mask is true. */
static ddk_status index_put_masked_fill(ddk_kernel_ctx* ctx, const ddk_node_view* node,
                                        const ddk_tensor* self, const ddk_tensor* values,
                                        ddk_tensor* out) {
  const ddk_arg* list = &node->args[1];
  const ddk_tensor* mask = NULL;
  uint32_t dim = 0, mdim = 0;
  for (uint32_t i = 0; i < list->count; ++i) {
    if (list->u.tensors[i] == DDK_NO_VALUE) {
      ++dim;
      continue;
    }
    mask = &ctx->values[list->u.tensors[i]];
    mdim = dim;
    for (uint32_t j = 0; j < mask->rank; ++j)
      if (dim + j >= self->rank || mask->sizes[j] != self->sizes[dim + j])
        return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH,
                               "the shape of the mask does not match the indexed tensor");
    dim += mask->rank;
  }
  if (mask == NULL)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "at least one index tensor is needed");
  if (mask->dtype != DDK_DTYPE_BOOL)
    return ddk_kernel_fail(ctx, node, DDK_DTYPE_MISMATCH,
                           "masked_fill_ only supports boolean masks, got uint8");
  ddk_ku_scalar s;
  memset(&s, 0, sizeof s);
  if (ddk_ku_math_of(values->dtype) == DDK_KU_MATH_I64) {
    s.is_bool = values->dtype == DDK_DTYPE_BOOL;
    s.i = ddk_ku_load_i64(values->data, values->dtype, 0);
  } else {
    s.is_float = true;
    s.f = ddk_ku_load_f64(values->data, values->dtype, 0);
  }
  int64_t value = 0; /* one element of self's dtype */
  if (!ddk_ix_scalar_to_elem(&s, self->dtype, &value))
    return ddk_kernel_fail(ctx, node, DDK_OUT_OF_RANGE,
                           "value cannot be converted to type %s without overflow",
                           ddk_dtype_name(self->dtype));
  if (ddk_tensor_numel(out) == 0) return DDK_OK;
  const uint8_t* m = (const uint8_t*)mask->data;
  int64_t pos[DDK_MAX_RANK] = {0};
  do {
    if (m[ddk_ix_dot(pos + mdim, mask->strides, mask->rank)])
      ddk_ix_copy_elem(out->data, ddk_ix_dot(pos, out->strides, out->rank), &value, 0,
                       ddk_dtype_size(out->dtype));
  } while (ddk_ix_next(pos, out->sizes, out->rank));
  return DDK_OK;
}

ddk_status ddk_kernel_aten_index_put(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  if (node->num_args < 4 || node->num_outputs < 1 || node->args[1].kind != DDK_ARG_TENSOR_LIST ||
      node->args[2].kind != DDK_ARG_TENSOR || node->args[3].kind != DDK_ARG_BOOL)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT,
                           "expected (self, indices, values, accumulate)");
  const ddk_tensor* self = ddk_kernel_arg_tensor(ctx, node, 0);
  const ddk_tensor* values = ddk_kernel_arg_tensor(ctx, node, 2);
  const bool accumulate = node->args[3].u.b;
  const ddk_arg* list = &node->args[1];
  ddk_tensor* out = ddk_kernel_out(ctx, node, 0);
  ddk_status st = ddk_ku_check_dtype(ctx, node, "self", self, DDK_KU_MASK_REAL);
  if (st == DDK_OK) st = ddk_ku_check_dtype(ctx, node, "values", values, DDK_KU_MASK_REAL);
  if (st != DDK_OK) return st;
  bool same = out->dtype == self->dtype && out->rank == self->rank;
  for (uint32_t d = 0; same && d < self->rank; ++d) same = out->sizes[d] == self->sizes[d];
  if (!same)
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH,
                           "result must have self's dtype and shape");
  if (list->count > self->rank)
    return ddk_kernel_fail(ctx, node, DDK_OUT_OF_RANGE,
                           "too many indices for tensor of dimension %u (got %u)", self->rank,
                           list->count);
  ddk_ix_copy_tensor(out, self);
  /* ATen's canDispatchToMaskedFill */
  bool fill = !accumulate && ddk_tensor_numel(values) == 1, has_mask = false;
  for (uint32_t i = 0; fill && i < list->count; ++i) {
    if (list->u.tensors[i] == DDK_NO_VALUE) continue;
    const ddk_dtype dt = ctx->values[list->u.tensors[i]].dtype;
    fill = (dt == DDK_DTYPE_BOOL || dt == DDK_DTYPE_UINT8) && !has_mask;
    has_mask = true;
  }
  if (fill) return index_put_masked_fill(ctx, node, self, values, out);
  ix_plan P;
  st = ix_plan_make(ctx, node, self, list, &P);
  if (st != DDK_OK) return st;
  int64_t vs[DDK_MAX_RANK];
  if (!ddk_ku_broadcast_strides(values, P.out_sizes, P.out_rank, vs))
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH,
                           "shape mismatch: value tensor cannot be broadcast to indexing result");
  if (values->dtype != self->dtype)
    return ddk_kernel_fail(ctx, node, DDK_DTYPE_MISMATCH,
                           "index put requires the source and destination dtypes match");
  int64_t n = 1;
  for (uint32_t d = 0; d < P.out_rank; ++d) n *= P.out_sizes[d];
  if (n == 0) return DDK_OK;
  int64_t pos[DDK_MAX_RANK] = {0};
  do {
    int64_t off = 0;
    st = ix_offset(ctx, node, &P, self, out->strides, pos, &off);
    if (st != DDK_OK) return st;
    const int64_t voff = ddk_ix_dot(pos, vs, P.out_rank);
    if (accumulate)
      ddk_ix_add_elem(out->data, off, values->data, voff, out->dtype);
    else
      ddk_ix_copy_elem(out->data, off, values->data, voff, ddk_dtype_size(out->dtype));
  } while (ddk_ix_next(pos, P.out_sizes, P.out_rank));
  return DDK_OK;
}
