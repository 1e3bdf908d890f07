/*
 * infer_reduction.c — inference rules: reductions, cumsum, sort and topk.
 */
#include "infer_util.h"

/* How a dim-list argument reads. */
typedef enum red_dims_mode {
  RED_EMPTY_ALL,  /* None and [] reduce every dim */
  RED_EMPTY_NONE, /* None reduces every dim, [] none (any.dims) */
} red_dims_mode;

/* Marks the dims argument `i` reduces (NONE, an INT or an INT_LIST). */
static ddk_status red_dims(ddk_infer_ctx* c, const ddk_tensor* x, uint32_t i, red_dims_mode mode,
                           bool* reduce) {
  for (uint32_t d = 0; d < DDK_MAX_RANK; ++d) reduce[d] = false;
  const ddk_arg* a = &c->node->args[i];
  const int64_t* dims = NULL;
  uint32_t n = 0;
  if (a->kind != DDK_ARG_NONE) {
    ddk_status st = ddk_infer_arg_ints(c, i, "dim", &dims, &n);
    if (st != DDK_OK) return st;
  }
  if (a->kind == DDK_ARG_NONE || (n == 0 && mode == RED_EMPTY_ALL)) {
    for (uint32_t d = 0; d < x->rank; ++d) reduce[d] = true;
    return DDK_OK;
  }
  for (uint32_t k = 0; k < n; ++k) {
    int64_t d = 0;
    ddk_status st = ddk_infer_wrap_dim(c, "dim", dims[k], x->rank, &d);
    if (st != DDK_OK) return st;
    if (x->rank == 0) continue;
    if (reduce[d])
      return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "dim %lld appears multiple times in the list",
                            (long long)d);
    reduce[d] = true;
  }
  return DDK_OK;
}

/* Sets outputs [0, num_out) to x's shape reduced over reduce[]; output 1 is int64. */
static ddk_status red_outputs(ddk_infer_ctx* c, const ddk_tensor* x, const bool* reduce,
                              bool keepdim, ddk_dtype dt, uint32_t num_out) {
  int64_t sizes[DDK_MAX_RANK];
  uint32_t r = 0;
  for (uint32_t i = 0; i < x->rank; ++i) {
    if (!reduce[i])
      sizes[r++] = x->sizes[i];
    else if (keepdim)
      sizes[r++] = 1;
  }
  ddk_status st = ddk_infer_set_output(c, 0, dt, r, sizes);
  if (st == DDK_OK && num_out > 1) st = ddk_infer_set_output(c, 1, DDK_DTYPE_INT64, r, sizes);
  return st;
}

/* Refuses reducing a dim of size 0 (amax, argmax, max.dim ...). */
static ddk_status red_need_nonempty(ddk_infer_ctx* c, const ddk_tensor* x, const bool* reduce) {
  for (uint32_t i = 0; i < x->rank; ++i)
    if (reduce[i] && x->sizes[i] == 0)
      return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                            "expected reduction dim %u to have non-zero size", i);
  return DDK_OK;
}

/* Optional ScalarType argument `i`; DDK_DTYPE_INVALID when NONE. */
static ddk_status red_arg_dtype(ddk_infer_ctx* c, uint32_t i, ddk_dtype* out) {
  const ddk_arg* a = &c->node->args[i];
  *out = DDK_DTYPE_INVALID;
  if (a->kind == DDK_ARG_NONE) return DDK_OK;
  if (a->kind != DDK_ARG_DTYPE)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "argument 'dtype' must be a ScalarType or None");
  *out = (ddk_dtype)a->u.i;
  if (ddk_dtype_category(*out) > 2 || ddk_dtype_size(*out) == 0)
    return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE, "dtype %s is not supported",
                          ddk_dtype_name(*out));
  return DDK_OK;
}

/* sum/prod/cumsum result dtype: dtype=, else int64 for bool/integer inputs. */
static ddk_dtype red_sum_dtype(ddk_dtype in, ddk_dtype given) {
  if (given != DDK_DTYPE_INVALID) return given;
  return ddk_dtype_category(in) <= 1 ? DDK_DTYPE_INT64 : in;
}

static ddk_status red_check_real(ddk_infer_ctx* c, const ddk_tensor* x) {
  if (ddk_dtype_category(x->dtype) > 2)
    return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE, "dtype %s is not supported",
                          ddk_dtype_name(x->dtype));
  return DDK_OK;
}

/*
 * sum / mean / prod. dim_arg 0: no dim argument (every dim, no keepdim);
 * else dims at dim_arg, keepdim at dim_arg + 1, dtype at dtype_arg.
 */
static ddk_status infer_accumulate(ddk_infer_ctx* c, uint32_t dim_arg, uint32_t dtype_arg,
                                   bool mean) {
  ddk_status st = ddk_infer_need(c, dtype_arg + 1, 1);
  const ddk_tensor* x = NULL;
  bool reduce[DDK_MAX_RANK];
  bool keepdim = false;
  ddk_dtype given = DDK_DTYPE_INVALID;
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 0, "self", &x);
  if (st == DDK_OK) st = red_check_real(c, x);
  if (st == DDK_OK && dim_arg != 0) {
    st = red_dims(c, x, dim_arg, RED_EMPTY_ALL, reduce);
    if (st == DDK_OK) st = ddk_infer_arg_bool(c, dim_arg + 1, "keepdim", &keepdim);
  } else if (st == DDK_OK) {
    for (uint32_t i = 0; i < DDK_MAX_RANK; ++i) reduce[i] = i < x->rank;
  }
  if (st == DDK_OK) st = red_arg_dtype(c, dtype_arg, &given);
  if (st != DDK_OK) return st;
  ddk_dtype dt =
      mean ? (given != DDK_DTYPE_INVALID ? given : x->dtype) : red_sum_dtype(x->dtype, given);
  if (mean && given != DDK_DTYPE_INVALID && ddk_dtype_category(given) < 2)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                          "argument 'dtype': must be a floating dtype, got %s",
                          ddk_dtype_name(given));
  if (mean && ddk_dtype_category(dt) < 2)
    return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE,
                          "could not infer output dtype: %s is not a floating dtype%s",
                          ddk_dtype_name(dt), given != DDK_DTYPE_INVALID ? "" : "; pass dtype=");
  return red_outputs(c, x, reduce, keepdim, dt, 1);
}

/* var.correction (self, dim, correction, keepdim) / var.dim (self, dim, unbiased, keepdim). */
static ddk_status infer_var(ddk_infer_ctx* c, bool by_correction) {
  ddk_status st = ddk_infer_need(c, 4, 1);
  const ddk_tensor* x = NULL;
  bool reduce[DDK_MAX_RANK];
  bool keepdim = false, unbiased = true;
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 0, "self", &x);
  if (st == DDK_OK) st = red_dims(c, x, 1, RED_EMPTY_ALL, reduce);
  if (st == DDK_OK && by_correction && c->node->args[2].kind != DDK_ARG_NONE) {
    uint32_t kind = 0;
    st = ddk_infer_arg_scalar(c, 2, "correction", &kind);
  } else if (st == DDK_OK && !by_correction) {
    st = ddk_infer_arg_bool(c, 2, "unbiased", &unbiased);
  }
  if (st == DDK_OK) st = ddk_infer_arg_bool(c, 3, "keepdim", &keepdim);
  if (st != DDK_OK) return st;
  if (!ddk_infer_is_floating(x->dtype))
    return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE,
                          "std and var only support floating point dtypes, got %s",
                          ddk_dtype_name(x->dtype));
  return red_outputs(c, x, reduce, keepdim, x->dtype, 1);
}

typedef enum sel_kind { SEL_VALUE, SEL_INDEX, SEL_BOTH, SEL_ANY } sel_kind;

/* amax/amin/argmax/argmin/max.dim/min.dim/any*: dims at 1 (dim_arg false:
 * every dim), keepdim at 2. */
static ddk_status infer_select(ddk_infer_ctx* c, sel_kind kind, bool dim_arg, red_dims_mode mode) {
  ddk_status st = ddk_infer_need(c, dim_arg ? 3 : 1, kind == SEL_BOTH ? 2 : 1);
  const ddk_tensor* x = NULL;
  bool reduce[DDK_MAX_RANK];
  bool keepdim = false;
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 0, "self", &x);
  if (st == DDK_OK) st = red_check_real(c, x);
  if (st == DDK_OK && dim_arg) {
    st = red_dims(c, x, 1, mode, reduce);
    if (st == DDK_OK) st = ddk_infer_arg_bool(c, 2, "keepdim", &keepdim);
  } else if (st == DDK_OK) {
    for (uint32_t i = 0; i < DDK_MAX_RANK; ++i) reduce[i] = i < x->rank;
  }
  if (st != DDK_OK) return st;
  if (kind == SEL_ANY) {
    ddk_dtype dt = x->dtype == DDK_DTYPE_UINT8 ? DDK_DTYPE_UINT8 : DDK_DTYPE_BOOL;
    return red_outputs(c, x, reduce, keepdim, dt, 1);
  }
  if (kind == SEL_INDEX && x->dtype == DDK_DTYPE_BOOL)
    return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE, "does not support bool input");
  st = red_need_nonempty(c, x, reduce);
  if (st != DDK_OK) return st;
  return red_outputs(c, x, reduce, keepdim, kind == SEL_INDEX ? DDK_DTYPE_INT64 : x->dtype,
                     kind == SEL_BOTH ? 2 : 1);
}

static ddk_status infer_cumsum(ddk_infer_ctx* c) {
  ddk_status st = ddk_infer_need(c, 3, 1);
  const ddk_tensor* x = NULL;
  int64_t dim = 0;
  ddk_dtype given = DDK_DTYPE_INVALID;
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 0, "self", &x);
  if (st == DDK_OK) st = red_check_real(c, x);
  if (st == DDK_OK) st = ddk_infer_arg_int(c, 1, "dim", &dim);
  if (st == DDK_OK) st = ddk_infer_wrap_dim(c, "dim", dim, x->rank, &dim);
  if (st == DDK_OK) st = red_arg_dtype(c, 2, &given);
  if (st != DDK_OK) return st;
  const ddk_dtype dt = red_sum_dtype(x->dtype, given);
  if (dt == DDK_DTYPE_BOOL)
    return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE, "cumsum is not implemented for bool");
  return ddk_infer_same_shape(c, x, dt);
}

/* sort (self, dim, descending) / topk (self, k, dim, largest, sorted). */
static ddk_status infer_sort(ddk_infer_ctx* c, bool topk) {
  ddk_status st = ddk_infer_need(c, topk ? 5 : 3, 2);
  const ddk_tensor* x = NULL;
  int64_t dim = -1, k = -1;
  bool b = false;
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 0, "self", &x);
  if (st == DDK_OK) st = red_check_real(c, x);
  if (st == DDK_OK && topk) st = ddk_infer_arg_int(c, 1, "k", &k);
  if (st == DDK_OK) st = ddk_infer_arg_int(c, topk ? 2 : 1, "dim", &dim);
  if (st == DDK_OK) st = ddk_infer_wrap_dim(c, "dim", dim, x->rank, &dim);
  if (st == DDK_OK) st = ddk_infer_arg_bool(c, topk ? 3 : 2, topk ? "largest" : "descending", &b);
  if (st == DDK_OK && topk) st = ddk_infer_arg_bool(c, 4, "sorted", &b);
  if (st != DDK_OK) return st;
  int64_t sizes[DDK_MAX_RANK];
  for (uint32_t i = 0; i < x->rank; ++i) sizes[i] = x->sizes[i];
  if (topk) {
    if (x->dtype == DDK_DTYPE_BOOL)
      return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE, "topk does not support bool inputs");
    const int64_t len = x->rank == 0 ? 1 : x->sizes[dim];
    if (k < 0 || k > len)
      return ddk_infer_fail(c, DDK_OUT_OF_RANGE, "selected index k=%lld out of range [0, %lld]",
                            (long long)k, (long long)len);
    if (x->rank > 0) sizes[dim] = k;
  }
  st = ddk_infer_set_output(c, 0, x->dtype, x->rank, sizes);
  if (st == DDK_OK) st = ddk_infer_set_output(c, 1, DDK_DTYPE_INT64, x->rank, sizes);
  return st;
}

/* ------------------------------------------------------------------------ */
/* Rules                                                                    */
/* ------------------------------------------------------------------------ */

ddk_status ddk_infer_aten_mean_dim(ddk_infer_ctx* c) {
  return infer_accumulate(c, 1, 3, true);
}
ddk_status ddk_infer_aten_mean(ddk_infer_ctx* c) {
  return infer_accumulate(c, 0, 1, true);
}
ddk_status ddk_infer_aten_sum_dim_intlist(ddk_infer_ctx* c) {
  return infer_accumulate(c, 1, 3, false);
}
ddk_status ddk_infer_aten_prod(ddk_infer_ctx* c) {
  return infer_accumulate(c, 0, 1, false);
}
ddk_status ddk_infer_aten_prod_dim_int(ddk_infer_ctx* c) {
  return infer_accumulate(c, 1, 3, false);
}
ddk_status ddk_infer_aten_var_correction(ddk_infer_ctx* c) {
  return infer_var(c, true);
}
ddk_status ddk_infer_aten_var_dim(ddk_infer_ctx* c) {
  return infer_var(c, false);
}
ddk_status ddk_infer_aten_amax(ddk_infer_ctx* c) {
  return infer_select(c, SEL_VALUE, true, RED_EMPTY_ALL);
}
ddk_status ddk_infer_aten_amin(ddk_infer_ctx* c) {
  return infer_select(c, SEL_VALUE, true, RED_EMPTY_ALL);
}
ddk_status ddk_infer_aten_argmax(ddk_infer_ctx* c) {
  return infer_select(c, SEL_INDEX, true, RED_EMPTY_ALL);
}
ddk_status ddk_infer_aten_argmin(ddk_infer_ctx* c) {
  return infer_select(c, SEL_INDEX, true, RED_EMPTY_ALL);
}
ddk_status ddk_infer_aten_max_dim(ddk_infer_ctx* c) {
  return infer_select(c, SEL_BOTH, true, RED_EMPTY_ALL);
}
ddk_status ddk_infer_aten_min_dim(ddk_infer_ctx* c) {
  return infer_select(c, SEL_BOTH, true, RED_EMPTY_ALL);
}
ddk_status ddk_infer_aten_any(ddk_infer_ctx* c) {
  return infer_select(c, SEL_ANY, false, RED_EMPTY_ALL);
}
ddk_status ddk_infer_aten_any_dim(ddk_infer_ctx* c) {
  return infer_select(c, SEL_ANY, true, RED_EMPTY_ALL);
}
ddk_status ddk_infer_aten_any_dims(ddk_infer_ctx* c) {
  return infer_select(c, SEL_ANY, true, RED_EMPTY_NONE);
}
ddk_status ddk_infer_aten_cumsum(ddk_infer_ctx* c) {
  return infer_cumsum(c);
}
ddk_status ddk_infer_aten_sort(ddk_infer_ctx* c) {
  return infer_sort(c, false);
}
ddk_status ddk_infer_aten_topk(ddk_infer_ctx* c) {
  return infer_sort(c, true);
}
