/*
 * infer_reduction.c — inference rules: reductions.
 */
#include "infer_util.h"

static ddk_status infer_mean(ddk_infer_ctx* c) {
  ddk_status st = ddk_infer_need(c, 4, 1);
  const ddk_tensor* x = NULL;
  bool keepdim = false;
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 0, "self", &x);
  if (st == DDK_OK) st = ddk_infer_arg_bool(c, 2, "keepdim", &keepdim);
  if (st != DDK_OK) return st;
  const ddk_arg* targ = &c->node->args[3];
  ddk_dtype dt = x->dtype;
  if (targ->kind == DDK_ARG_DTYPE) {
    dt = (ddk_dtype)targ->u.i;
    if (ddk_dtype_category(dt) < 2)
      return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                            "argument 'dtype': must be a floating or complex dtype, got %s",
                            ddk_dtype_name(dt));
  } else if (targ->kind != DDK_ARG_NONE) {
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "argument 'dtype' must be a ScalarType or None");
  } else if (ddk_dtype_category(dt) < 2) {
    return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE,
                          "cannot infer the result dtype from %s input; pass a floating dtype",
                          ddk_dtype_name(dt));
  }
  bool reduce[DDK_MAX_RANK] = {false};
  const ddk_arg* darg = &c->node->args[1];
  if (darg->kind == DDK_ARG_NONE || (darg->kind == DDK_ARG_INT_LIST && darg->count == 0)) {
    for (uint32_t i = 0; i < x->rank; ++i) reduce[i] = true;
  } else {
    const int64_t* dims = NULL;
    uint32_t n = 0;
    st = ddk_infer_arg_ints(c, 1, "dim", &dims, &n);
    for (uint32_t i = 0; st == DDK_OK && i < n; ++i) {
      int64_t d = 0;
      st = ddk_infer_wrap_dim(c, "dim", dims[i], x->rank, &d);
      if (st != DDK_OK || x->rank == 0) continue;
      if (reduce[d])
        return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                              "argument 'dim': dim %lld appears more than once", (long long)d);
      reduce[d] = true;
    }
    if (st != DDK_OK) return st;
  }
  int64_t sizes[DDK_MAX_RANK];
  uint32_t r = 0;
  for (uint32_t i = 0; i < x->rank; ++i) {
    if (!reduce[i])
      sizes[r++] = x->sizes[i];
    else if (keepdim)
      sizes[r++] = 1;
  }
  return ddk_infer_set_output(c, 0, dt, r, sizes);
}

/* ------------------------------------------------------------------------ */
/* Data movement                                                            */

/* ------------------------------------------------------------------------ */
/* Rules                                                                    */
/* ------------------------------------------------------------------------ */

ddk_status ddk_infer_aten_mean_dim(ddk_infer_ctx* c) {
  return infer_mean(c);
}
