/*
 * infer_shape.c — inference rules: shape, view and data-movement ops.
 */
#include "infer_util.h"

static ddk_status infer_view(ddk_infer_ctx* c) {
  ddk_status st = ddk_infer_need(c, 2, 1);
  const ddk_tensor* x = NULL;
  const int64_t* size = NULL;
  uint32_t n = 0;
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 0, "self", &x);
  if (st == DDK_OK) st = ddk_infer_arg_ints(c, 1, "size", &size, &n);
  if (st != DDK_OK) return st;
  if (n > DDK_MAX_RANK)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "argument 'size': rank %u above %d", n,
                          DDK_MAX_RANK);
  int64_t sizes[DDK_MAX_RANK];
  int infer_at = -1;
  int64_t known = 1;
  for (uint32_t i = 0; i < n; ++i) {
    sizes[i] = size[i];
    if (size[i] == -1) {
      if (infer_at >= 0)
        return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                              "argument 'size': only one dimension can be -1");
      infer_at = (int)i;
    } else if (size[i] < 0) {
      return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                            "argument 'size': invalid size %lld at index %u", (long long)size[i],
                            i);
    } else {
      if (size[i] != 0 && known > ((int64_t)1 << 62) / size[i])
        return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "argument 'size': too many elements");
      known *= size[i];
    }
  }
  const int64_t numel = ddk_tensor_numel(x);
  if (infer_at >= 0) {
    if (known == 0)
      return ddk_infer_fail(
          c, DDK_INVALID_ARGUMENT,
          "argument 'size': the -1 is ambiguous with other sizes multiplying to 0");
    if (numel % known != 0)
      return ddk_infer_fail(c, DDK_SHAPE_MISMATCH,
                            "cannot view %lld elements as a multiple of %lld", (long long)numel,
                            (long long)known);
    sizes[infer_at] = numel / known;
  } else if (known != numel) {
    return ddk_infer_fail(c, DDK_SHAPE_MISMATCH, "cannot view %lld elements as %lld",
                          (long long)numel, (long long)known);
  }
  return ddk_infer_set_output(c, 0, x->dtype, n, sizes);
}

static ddk_status infer_permute(ddk_infer_ctx* c) {
  ddk_status st = ddk_infer_need(c, 2, 1);
  const ddk_tensor* x = NULL;
  const int64_t* dims = NULL;
  uint32_t n = 0;
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 0, "self", &x);
  if (st == DDK_OK) st = ddk_infer_arg_ints(c, 1, "dims", &dims, &n);
  if (st != DDK_OK) return st;
  if (n != x->rank)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "argument 'dims': %u dims for a %u-D tensor", n,
                          x->rank);
  bool seen[DDK_MAX_RANK] = {false};
  int64_t sizes[DDK_MAX_RANK];
  for (uint32_t i = 0; i < n; ++i) {
    int64_t d = 0;
    if (x->rank == 0) break;
    st = ddk_infer_wrap_dim(c, "dims", dims[i], x->rank, &d);
    if (st != DDK_OK) return st;
    if (seen[d])
      return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "argument 'dims': dim %lld repeated",
                            (long long)d);
    seen[d] = true;
    sizes[i] = x->sizes[d];
  }
  return ddk_infer_set_output(c, 0, x->dtype, x->rank, sizes);
}

static ddk_status infer_cat(ddk_infer_ctx* c) {
  ddk_status st = ddk_infer_need(c, 2, 1);
  int64_t dim = 0;
  if (st == DDK_OK) st = ddk_infer_arg_int(c, 1, "dim", &dim);
  if (st != DDK_OK) return st;
  const ddk_arg* list = &c->node->args[0];
  if (list->kind != DDK_ARG_TENSOR_LIST || (list->count > 0 && list->u.tensors == NULL))
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "argument 'tensors' must be a list of tensors");
  if (list->count == 0)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "argument 'tensors' is empty");
  const ddk_tensor* first = NULL;
  ddk_dtype dt = DDK_DTYPE_INVALID;
  int64_t sizes[DDK_MAX_RANK];
  for (uint32_t i = 0; i < list->count; ++i) {
    if (list->u.tensors[i] == DDK_NO_VALUE)
      return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "argument 'tensors': entry %u is None", i);
    const ddk_tensor* t = &c->values[list->u.tensors[i]];
    st = ddk_infer_check_tensor(c, t, "tensors");
    if (st != DDK_OK) return st;
    dt = ddk_infer_promote(dt, t->dtype);
    if (t->rank == 0)
      return ddk_infer_fail(c, DDK_SHAPE_MISMATCH, "tensor %u is 0-D and cannot be concatenated",
                            i);
    if (t->rank == 1 && t->sizes[0] == 0) continue; /* legacy: skipped */
    if (first == NULL) {
      first = t;
      st = ddk_infer_wrap_dim(c, "dim", dim, t->rank, &dim);
      if (st != DDK_OK) return st;
      memcpy(sizes, t->sizes, t->rank * sizeof *sizes);
      continue;
    }
    if (t->rank != first->rank)
      return ddk_infer_fail(c, DDK_SHAPE_MISMATCH, "tensor %u has rank %u, tensor 0 rank %u", i,
                            t->rank, first->rank);
    for (uint32_t d = 0; d < t->rank; ++d) {
      if ((int64_t)d == dim) continue;
      if (t->sizes[d] != first->sizes[d])
        return ddk_infer_fail(
            c, DDK_SHAPE_MISMATCH,
            "sizes must match except in dim %lld: tensor %u has %lld at dim %u, expected %lld",
            (long long)dim, i, (long long)t->sizes[d], d, (long long)first->sizes[d]);
    }
    sizes[dim] += t->sizes[dim];
  }
  if (first == NULL) {
    int64_t zero = 0;
    return ddk_infer_set_output(c, 0, dt, 1, &zero);
  }
  return ddk_infer_set_output(c, 0, dt, first->rank, sizes);
}

static ddk_status infer_clone(ddk_infer_ctx* c) {
  ddk_status st = ddk_infer_need(c, 2, 1);
  const ddk_tensor* x = NULL;
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 0, "self", &x);
  if (st != DDK_OK) return st;
  const ddk_arg* mf = &c->node->args[1];
  if (mf->kind == DDK_ARG_INT) {
    /* ATen MemoryFormat: 0 contiguous, 1 preserve, 2 channels_last, 3 channels_last_3d */
    if (mf->u.i < 0 || mf->u.i > 3)
      return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "argument 'memory_format': unknown value %lld",
                            (long long)mf->u.i);
    if ((mf->u.i == 2 && x->rank != 4) || (mf->u.i == 3 && x->rank != 5))
      return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                            "argument 'memory_format': channels_last needs a 4-D tensor, "
                            "channels_last_3d a 5-D one");
  } else if (mf->kind != DDK_ARG_NONE) {
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                          "argument 'memory_format' must be an int or None");
  }
  return ddk_infer_same_shape(c, x, x->dtype);
}

/* ------------------------------------------------------------------------ */
/* Rules                                                                    */
/* ------------------------------------------------------------------------ */

ddk_status ddk_infer_aten_view(ddk_infer_ctx* c) {
  return infer_view(c);
}
ddk_status ddk_infer_aten_permute(ddk_infer_ctx* c) {
  return infer_permute(c);
}
ddk_status ddk_infer_aten_cat(ddk_infer_ctx* c) {
  return infer_cat(c);
}
ddk_status ddk_infer_aten_clone(ddk_infer_ctx* c) {
  return infer_clone(c);
}

/* ------------------------------------------------------------------------ */
/* View ops (their kernels write a contiguous copy of the view)             */
/* ------------------------------------------------------------------------ */

#define INFER_CHECK(expr)          \
  do {                             \
    ddk_status st_ = (expr);       \
    if (st_ != DDK_OK) return st_; \
  } while (0)

/* Argument `i`, an optional int: *has false for None. */
static ddk_status arg_opt_int(ddk_infer_ctx* c, uint32_t i, const char* name, bool* has,
                              int64_t* v) {
  *has = c->node->args[i].kind != DDK_ARG_NONE;
  *v = 0;
  return *has ? ddk_infer_arg_int(c, i, name, v) : DDK_OK;
}

/* A list of sizes: each >= 0 and at most DDK_MAX_RANK of them. */
static ddk_status check_sizes(ddk_infer_ctx* c, const char* name, const int64_t* s, uint32_t n) {
  if (n > DDK_MAX_RANK)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "argument '%s': rank %u above %d", name, n,
                          DDK_MAX_RANK);
  for (uint32_t i = 0; i < n; ++i)
    if (s[i] < 0)
      return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                            "argument '%s': Trying to create tensor with negative dimension %lld",
                            name, (long long)s[i]);
  return DDK_OK;
}

static ddk_status infer_alias(ddk_infer_ctx* c) {
  const ddk_tensor* x = NULL;
  INFER_CHECK(ddk_infer_need(c, 1, 1));
  INFER_CHECK(ddk_infer_arg_tensor(c, 0, "self", &x));
  return ddk_infer_same_shape(c, x, x->dtype);
}

/* The view indexes self's storage: numel(self) elements in memory order. */
static ddk_status infer_as_strided(ddk_infer_ctx* c) {
  const ddk_tensor* x = NULL;
  const int64_t *size = NULL, *stride = NULL;
  uint32_t ns = 0, nt = 0;
  bool has_offset = false;
  int64_t offset = 0;
  INFER_CHECK(ddk_infer_need(c, 4, 1));
  INFER_CHECK(ddk_infer_arg_tensor(c, 0, "self", &x));
  INFER_CHECK(ddk_infer_arg_ints(c, 1, "size", &size, &ns));
  INFER_CHECK(ddk_infer_arg_ints(c, 2, "stride", &stride, &nt));
  INFER_CHECK(arg_opt_int(c, 3, "storage_offset", &has_offset, &offset));
  if (ns != nt)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "mismatch in length of strides and shape");
  INFER_CHECK(check_sizes(c, "size", size, ns));
  for (uint32_t i = 0; i < nt; ++i)
    if (stride[i] < 0)
      return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                            "argument 'stride': negative strides are not supported, got %lld",
                            (long long)stride[i]);
  if (offset < 0)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "invalid storage offset %lld",
                          (long long)offset);
  /* ATen's setStorage bounds check: skipped for an empty view */
  int64_t need = 1;
  bool empty = false, overflow = false;
  for (uint32_t i = 0; i < ns; ++i) {
    if (size[i] == 0) empty = true;
    int64_t span = 0;
    overflow |= __builtin_mul_overflow(size[i] > 0 ? size[i] - 1 : 0, stride[i], &span);
    overflow |= __builtin_add_overflow(need, span, &need);
  }
  overflow |= __builtin_add_overflow(need, offset, &need);
  if (!empty && (overflow || need > ddk_tensor_numel(x)))
    return ddk_infer_fail(c, DDK_OUT_OF_RANGE,
                          "the view needs a storage of %lld elements, self has %lld",
                          (long long)need, (long long)ddk_tensor_numel(x));
  return ddk_infer_set_output(c, 0, x->dtype, ns, size);
}

static ddk_status infer_diagonal(ddk_infer_ctx* c) {
  const ddk_tensor* x = NULL;
  int64_t offset = 0, d1 = 0, d2 = 0;
  INFER_CHECK(ddk_infer_need(c, 4, 1));
  INFER_CHECK(ddk_infer_arg_tensor(c, 0, "self", &x));
  INFER_CHECK(ddk_infer_arg_int(c, 1, "offset", &offset));
  INFER_CHECK(ddk_infer_arg_int(c, 2, "dim1", &d1));
  INFER_CHECK(ddk_infer_arg_int(c, 3, "dim2", &d2));
  if (x->rank < 2)
    return ddk_infer_fail(c, DDK_OUT_OF_RANGE, "diagonal needs at least 2 dims, self has %u",
                          x->rank);
  INFER_CHECK(ddk_infer_wrap_dim(c, "dim1", d1, x->rank, &d1));
  INFER_CHECK(ddk_infer_wrap_dim(c, "dim2", d2, x->rank, &d2));
  if (d1 == d2)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                          "diagonal dimensions cannot be identical %lld, %lld", (long long)d1,
                          (long long)d2);
  int64_t sizes[DDK_MAX_RANK];
  uint32_t k = 0;
  for (uint32_t d = 0; d < x->rank; ++d)
    if ((int64_t)d != d1 && (int64_t)d != d2) sizes[k++] = x->sizes[d];
  const int64_t a = x->sizes[d1], b = x->sizes[d2];
  int64_t n = 0;
  if (offset >= 0)
    n = offset >= b ? 0 : (a < b - offset ? a : b - offset);
  else
    n = offset <= -a ? 0 : (a + offset < b ? a + offset : b);
  sizes[k++] = n;
  return ddk_infer_set_output(c, 0, x->dtype, k, sizes);
}

static ddk_status infer_expand(ddk_infer_ctx* c) {
  const ddk_tensor* x = NULL;
  const int64_t* size = NULL;
  uint32_t n = 0;
  INFER_CHECK(ddk_infer_need(c, 2, 1));
  INFER_CHECK(ddk_infer_arg_tensor(c, 0, "self", &x));
  INFER_CHECK(ddk_infer_arg_ints(c, 1, "size", &size, &n));
  if (n < x->rank)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                          "the number of sizes provided (%u) must be greater or equal to the "
                          "number of dimensions in the tensor (%u)",
                          n, x->rank);
  if (n > DDK_MAX_RANK)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "argument 'size': rank %u above %d", n,
                          DDK_MAX_RANK);
  const uint32_t lead = n - x->rank;
  int64_t sizes[DDK_MAX_RANK];
  for (uint32_t d = 0; d < n; ++d) {
    int64_t s = size[d];
    if (d < lead) {
      if (s < 0)
        return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                              "the expanded size of the tensor (%lld) isn't allowed in a leading, "
                              "non-existing dimension %u",
                              (long long)s, d);
    } else {
      const int64_t xs = x->sizes[d - lead];
      if (s == -1) s = xs;
      if (s < 0)
        return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "argument 'size': invalid size %lld",
                              (long long)s);
      if (xs != s && xs != 1)
        return ddk_infer_fail(c, DDK_SHAPE_MISMATCH,
                              "the expanded size of the tensor (%lld) must match the existing "
                              "size (%lld) at non-singleton dimension %u",
                              (long long)s, (long long)xs, d);
    }
    sizes[d] = s;
  }
  return ddk_infer_set_output(c, 0, x->dtype, n, sizes);
}

/* Wraps every dim of list argument `i` (rank `rank`) into `seen`; refuses
 * repeats ("dim d appears multiple times in the list of dims"). */
static ddk_status dims_to_set(ddk_infer_ctx* c, uint32_t i, const char* name, uint32_t rank,
                              bool* seen) {
  const int64_t* dims = NULL;
  uint32_t n = 0;
  INFER_CHECK(ddk_infer_arg_ints(c, i, name, &dims, &n));
  for (uint32_t k = 0; k < DDK_MAX_RANK; ++k) seen[k] = false;
  for (uint32_t k = 0; k < n; ++k) {
    int64_t d = 0;
    INFER_CHECK(ddk_infer_wrap_dim(c, name, dims[k], rank, &d));
    if (seen[d])
      return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                            "dim %lld appears multiple times in the list of dims", (long long)d);
    seen[d] = true;
  }
  return DDK_OK;
}

static ddk_status infer_flip(ddk_infer_ctx* c) {
  const ddk_tensor* x = NULL;
  bool seen[DDK_MAX_RANK];
  INFER_CHECK(ddk_infer_need(c, 2, 1));
  INFER_CHECK(ddk_infer_arg_tensor(c, 0, "self", &x));
  INFER_CHECK(dims_to_set(c, 1, "dims", x->rank, seen));
  return ddk_infer_same_shape(c, x, x->dtype);
}

static ddk_status infer_repeat(ddk_infer_ctx* c) {
  const ddk_tensor* x = NULL;
  const int64_t* reps = NULL;
  uint32_t n = 0;
  INFER_CHECK(ddk_infer_need(c, 2, 1));
  INFER_CHECK(ddk_infer_arg_tensor(c, 0, "self", &x));
  INFER_CHECK(ddk_infer_arg_ints(c, 1, "repeats", &reps, &n));
  if (n < x->rank)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                          "Number of dimensions of repeat dims can not be smaller than number of "
                          "dimensions of tensor");
  if (n > DDK_MAX_RANK)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "argument 'repeats': rank %u above %d", n,
                          DDK_MAX_RANK);
  int64_t sizes[DDK_MAX_RANK];
  const uint32_t lead = n - x->rank;
  for (uint32_t d = 0; d < n; ++d) {
    const int64_t s = d < lead ? 1 : x->sizes[d - lead];
    if (reps[d] < 0 || __builtin_mul_overflow(s, reps[d], &sizes[d]))
      return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                            "argument 'repeats': Trying to create tensor with negative dimension "
                            "(repeat %lld at dim %u)",
                            (long long)reps[d], d);
  }
  return ddk_infer_set_output(c, 0, x->dtype, n, sizes);
}

static ddk_status infer_select(ddk_infer_ctx* c) {
  const ddk_tensor* x = NULL;
  int64_t dim = 0, index = 0;
  INFER_CHECK(ddk_infer_need(c, 3, 1));
  INFER_CHECK(ddk_infer_arg_tensor(c, 0, "self", &x));
  INFER_CHECK(ddk_infer_arg_int(c, 1, "dim", &dim));
  INFER_CHECK(ddk_infer_arg_int(c, 2, "index", &index));
  if (x->rank == 0)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "select() cannot be applied to a 0-dim tensor.");
  INFER_CHECK(ddk_infer_wrap_dim(c, "dim", dim, x->rank, &dim));
  if (index < -x->sizes[dim] || index >= x->sizes[dim])
    return ddk_infer_fail(c, DDK_OUT_OF_RANGE,
                          "select(): index %lld out of range for tensor of size %lld at "
                          "dimension %lld",
                          (long long)index, (long long)x->sizes[dim], (long long)dim);
  int64_t sizes[DDK_MAX_RANK];
  uint32_t k = 0;
  for (uint32_t d = 0; d < x->rank; ++d)
    if ((int64_t)d != dim) sizes[k++] = x->sizes[d];
  return ddk_infer_set_output(c, 0, x->dtype, k, sizes);
}

static ddk_status infer_slice(ddk_infer_ctx* c) {
  const ddk_tensor* x = NULL;
  int64_t dim = 0, start = 0, end = 0, step = 1;
  bool has_start = false, has_end = false;
  INFER_CHECK(ddk_infer_need(c, 5, 1));
  INFER_CHECK(ddk_infer_arg_tensor(c, 0, "self", &x));
  INFER_CHECK(ddk_infer_arg_int(c, 1, "dim", &dim));
  INFER_CHECK(arg_opt_int(c, 2, "start", &has_start, &start));
  INFER_CHECK(arg_opt_int(c, 3, "end", &has_end, &end));
  INFER_CHECK(ddk_infer_arg_int(c, 4, "step", &step));
  if (x->rank == 0)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "slice() cannot be applied to a 0-dim tensor.");
  if (step <= 0) return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "slice step must be positive");
  INFER_CHECK(ddk_infer_wrap_dim(c, "dim", dim, x->rank, &dim));
  const int64_t size = x->sizes[dim];
  if (!has_start) start = 0;
  if (!has_end) end = INT64_MAX;
  if (start < 0) start += size;
  if (end < 0) end += size;
  if (start < 0) start = 0;
  if (start > size) start = size;
  if (end < start) end = start;
  if (end > size) end = size;
  int64_t sizes[DDK_MAX_RANK];
  memcpy(sizes, x->sizes, x->rank * sizeof *sizes);
  sizes[dim] = (end - start + step - 1) / step;
  return ddk_infer_set_output(c, 0, x->dtype, x->rank, sizes);
}

static ddk_status infer_split_with_sizes(ddk_infer_ctx* c) {
  const ddk_tensor* x = NULL;
  const int64_t* split = NULL;
  uint32_t n = 0;
  int64_t dim = 0;
  INFER_CHECK(ddk_infer_need(c, 3, 0));
  INFER_CHECK(ddk_infer_arg_tensor(c, 0, "self", &x));
  INFER_CHECK(ddk_infer_arg_ints(c, 1, "split_sizes", &split, &n));
  INFER_CHECK(ddk_infer_arg_int(c, 2, "dim", &dim));
  if (x->rank == 0)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "split expects at least a 1-dimensional tensor");
  INFER_CHECK(ddk_infer_wrap_dim(c, "dim", dim, x->rank, &dim));
  int64_t sum = 0;
  for (uint32_t i = 0; i < n; ++i) {
    if (split[i] < 0)
      return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                            "split_with_sizes expects split_sizes have only non-negative entries, "
                            "but got %lld at %u",
                            (long long)split[i], i);
    if (__builtin_add_overflow(sum, split[i], &sum)) sum = -1;
  }
  if (sum != x->sizes[dim])
    return ddk_infer_fail(c, DDK_SHAPE_MISMATCH,
                          "split_with_sizes expects split_sizes to sum exactly to %lld (input "
                          "tensor's size at dimension %lld)",
                          (long long)x->sizes[dim], (long long)dim);
  if (c->node->num_outputs != n)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                          "the node has %u outputs for %u split sizes (one output per split)",
                          c->node->num_outputs, n);
  int64_t sizes[DDK_MAX_RANK];
  memcpy(sizes, x->sizes, x->rank * sizeof *sizes);
  for (uint32_t i = 0; i < n; ++i) {
    sizes[dim] = split[i];
    INFER_CHECK(ddk_infer_set_output(c, i, x->dtype, x->rank, sizes));
  }
  return DDK_OK;
}

/* Output: self without the size-1 dims flagged in `drop`. */
static ddk_status squeeze_out(ddk_infer_ctx* c, const ddk_tensor* x, const bool* drop) {
  int64_t sizes[DDK_MAX_RANK];
  uint32_t k = 0;
  for (uint32_t d = 0; d < x->rank; ++d)
    if (!(drop[d] && x->sizes[d] == 1)) sizes[k++] = x->sizes[d];
  return ddk_infer_set_output(c, 0, x->dtype, k, sizes);
}

static ddk_status infer_squeeze_dim(ddk_infer_ctx* c) {
  const ddk_tensor* x = NULL;
  int64_t dim = 0;
  bool drop[DDK_MAX_RANK] = {false};
  INFER_CHECK(ddk_infer_need(c, 2, 1));
  INFER_CHECK(ddk_infer_arg_tensor(c, 0, "self", &x));
  INFER_CHECK(ddk_infer_arg_int(c, 1, "dim", &dim));
  INFER_CHECK(ddk_infer_wrap_dim(c, "dim", dim, x->rank, &dim));
  drop[dim] = true;
  return squeeze_out(c, x, drop);
}

static ddk_status infer_squeeze_dims(ddk_infer_ctx* c) {
  const ddk_tensor* x = NULL;
  bool drop[DDK_MAX_RANK];
  INFER_CHECK(ddk_infer_need(c, 2, 1));
  INFER_CHECK(ddk_infer_arg_tensor(c, 0, "self", &x));
  INFER_CHECK(dims_to_set(c, 1, "dim", x->rank, drop));
  return squeeze_out(c, x, drop);
}

static ddk_status infer_unsqueeze(ddk_infer_ctx* c) {
  const ddk_tensor* x = NULL;
  int64_t dim = 0;
  INFER_CHECK(ddk_infer_need(c, 2, 1));
  INFER_CHECK(ddk_infer_arg_tensor(c, 0, "self", &x));
  INFER_CHECK(ddk_infer_arg_int(c, 1, "dim", &dim));
  if (x->rank >= DDK_MAX_RANK)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "result rank above %d", DDK_MAX_RANK);
  INFER_CHECK(ddk_infer_wrap_dim(c, "dim", dim, x->rank + 1, &dim));
  int64_t sizes[DDK_MAX_RANK];
  for (uint32_t d = 0, k = 0; d <= x->rank; ++d) sizes[d] = (int64_t)d == dim ? 1 : x->sizes[k++];
  return ddk_infer_set_output(c, 0, x->dtype, x->rank + 1, sizes);
}

/* MemoryFormat argument `i` (None, or ATen's 0 contiguous, 1 preserve,
 * 2 channels_last, 3 channels_last_3d) for a result of `rank`; preserve
 * only where `allow_preserve`. */
static ddk_status check_memory_format(ddk_infer_ctx* c, uint32_t i, uint32_t rank,
                                      bool allow_preserve) {
  const ddk_arg* mf = &c->node->args[i];
  if (mf->kind == DDK_ARG_NONE) return DDK_OK;
  if (mf->kind != DDK_ARG_INT || mf->u.i < 0 || mf->u.i > 3)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "argument 'memory_format': unknown value");
  if (mf->u.i == 1 && !allow_preserve)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "unsupported memory format Preserve");
  if (mf->u.i == 2 && rank != 4)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                          "required rank 4 tensor to use channels_last format");
  if (mf->u.i == 3 && rank != 5)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                          "required rank 5 tensor to use channels_last_3d format");
  return DDK_OK;
}

static ddk_status infer_resize(ddk_infer_ctx* c) {
  const ddk_tensor* x = NULL;
  const int64_t* size = NULL;
  uint32_t n = 0;
  INFER_CHECK(ddk_infer_need(c, 3, 1));
  INFER_CHECK(ddk_infer_arg_tensor(c, 0, "self", &x));
  INFER_CHECK(ddk_infer_arg_ints(c, 1, "size", &size, &n));
  INFER_CHECK(check_sizes(c, "size", size, n));
  INFER_CHECK(check_memory_format(c, 2, n, false));
  return ddk_infer_set_output(c, 0, x->dtype, n, size);
}

/* ------------------------------------------------------------------------ */
/* Padding                                                                  */
/* ------------------------------------------------------------------------ */

static ddk_status infer_constant_pad_nd(ddk_infer_ctx* c) {
  const ddk_tensor* x = NULL;
  const int64_t* pad = NULL;
  uint32_t np = 0, kind = 0;
  INFER_CHECK(ddk_infer_need(c, 3, 1));
  INFER_CHECK(ddk_infer_arg_tensor(c, 0, "self", &x));
  INFER_CHECK(ddk_infer_arg_ints(c, 1, "pad", &pad, &np));
  INFER_CHECK(ddk_infer_arg_scalar(c, 2, "value", &kind));
  if (np % 2 != 0)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                          "Length of pad must be even but instead it equals %u", np);
  if (np / 2 > x->rank)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                          "Length of pad should be no more than twice the number of dimensions "
                          "of the input (pad has %u values, input %u dims)",
                          np, x->rank);
  int64_t sizes[DDK_MAX_RANK];
  for (uint32_t d = 0; d < x->rank; ++d) {
    const uint32_t from_end = x->rank - 1 - d;
    sizes[d] = x->sizes[d];
    if (from_end < np / 2 &&
        (__builtin_add_overflow(sizes[d], pad[2 * from_end], &sizes[d]) ||
         __builtin_add_overflow(sizes[d], pad[2 * from_end + 1], &sizes[d]) || sizes[d] < 0))
      return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                            "the input size %lld at dim %u plus negative padding (%lld, %lld) "
                            "resulted in a negative output size",
                            (long long)x->sizes[d], d, (long long)pad[2 * from_end],
                            (long long)pad[2 * from_end + 1]);
  }
  return ddk_infer_set_output(c, 0, x->dtype, x->rank, sizes);
}

/* reflection_pad{nd}d / replication_pad{nd}d: self is (nd+1)-D or, in
 * batch mode, (nd+2)-D with a possibly empty batch; other dims non-empty. */
static ddk_status infer_pad(ddk_infer_ctx* c, uint32_t nd, bool reflect) {
  const ddk_tensor* x = NULL;
  const int64_t* pad = NULL;
  uint32_t np = 0;
  INFER_CHECK(ddk_infer_need(c, 2, 1));
  INFER_CHECK(ddk_infer_arg_tensor(c, 0, "self", &x));
  INFER_CHECK(ddk_infer_arg_ints(c, 1, "padding", &pad, &np));
  if (np != 2 * nd)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "padding size is expected to be %u, but got: %u",
                          2 * nd, np);
  if (x->dtype == DDK_DTYPE_BOOL || ddk_infer_is_complex(x->dtype))
    return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE, "not implemented for %s",
                          ddk_dtype_name(x->dtype));
  bool ok = x->rank == nd + 1 || x->rank == nd + 2;
  for (uint32_t d = x->rank == nd + 2 ? 1 : 0; ok && d < x->rank; ++d) ok = x->sizes[d] != 0;
  if (!ok)
    return ddk_infer_fail(c, DDK_SHAPE_MISMATCH,
                          "Expected %uD or %uD (batch mode) tensor with possibly 0 batch size and "
                          "other non-zero dimensions for input",
                          nd + 1, nd + 2);
  int64_t sizes[DDK_MAX_RANK];
  memcpy(sizes, x->sizes, x->rank * sizeof *sizes);
  for (uint32_t k = 0; k < nd; ++k) { /* k = 0: the last dim */
    const uint32_t d = x->rank - 1 - k;
    const int64_t before = pad[2 * k], after = pad[2 * k + 1];
    if (reflect && (before >= x->sizes[d] || after >= x->sizes[d]))
      return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                            "Padding size should be less than the corresponding input dimension, "
                            "but got: padding (%lld, %lld) at dimension %u",
                            (long long)before, (long long)after, d);
    if (__builtin_add_overflow(sizes[d], before, &sizes[d]) ||
        __builtin_add_overflow(sizes[d], after, &sizes[d]) || sizes[d] < 1)
      return ddk_infer_fail(c, DDK_SHAPE_MISMATCH,
                            "input (size %lld at dim %u) is too small for padding (%lld, %lld)",
                            (long long)x->sizes[d], d, (long long)before, (long long)after);
  }
  return ddk_infer_set_output(c, 0, x->dtype, x->rank, sizes);
}

ddk_status ddk_infer_aten_alias(ddk_infer_ctx* c) {
  return infer_alias(c);
}
ddk_status ddk_infer_aten_as_strided(ddk_infer_ctx* c) {
  return infer_as_strided(c);
}
ddk_status ddk_infer_aten_diagonal(ddk_infer_ctx* c) {
  return infer_diagonal(c);
}
ddk_status ddk_infer_aten_expand(ddk_infer_ctx* c) {
  return infer_expand(c);
}
ddk_status ddk_infer_aten_flip(ddk_infer_ctx* c) {
  return infer_flip(c);
}
ddk_status ddk_infer_aten_repeat(ddk_infer_ctx* c) {
  return infer_repeat(c);
}
ddk_status ddk_infer_aten_select_int(ddk_infer_ctx* c) {
  return infer_select(c);
}
ddk_status ddk_infer_aten_slice_tensor(ddk_infer_ctx* c) {
  return infer_slice(c);
}
ddk_status ddk_infer_aten_split_with_sizes(ddk_infer_ctx* c) {
  return infer_split_with_sizes(c);
}
ddk_status ddk_infer_aten_squeeze_dim(ddk_infer_ctx* c) {
  return infer_squeeze_dim(c);
}
ddk_status ddk_infer_aten_squeeze_dims(ddk_infer_ctx* c) {
  return infer_squeeze_dims(c);
}
ddk_status ddk_infer_aten_unsqueeze(ddk_infer_ctx* c) {
  return infer_unsqueeze(c);
}
ddk_status ddk_infer_aten_resize_(ddk_infer_ctx* c) {
  return infer_resize(c);
}
ddk_status ddk_infer_aten_constant_pad_nd(ddk_infer_ctx* c) {
  return infer_constant_pad_nd(c);
}
ddk_status ddk_infer_aten_reflection_pad1d(ddk_infer_ctx* c) {
  return infer_pad(c, 1, true);
}
ddk_status ddk_infer_aten_reflection_pad2d(ddk_infer_ctx* c) {
  return infer_pad(c, 2, true);
}
ddk_status ddk_infer_aten_reflection_pad3d(ddk_infer_ctx* c) {
  return infer_pad(c, 3, true);
}
ddk_status ddk_infer_aten_replication_pad2d(ddk_infer_ctx* c) {
  return infer_pad(c, 2, false);
}
ddk_status ddk_infer_aten_replication_pad3d(ddk_infer_ctx* c) {
  return infer_pad(c, 3, false);
}
