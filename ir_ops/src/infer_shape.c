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
