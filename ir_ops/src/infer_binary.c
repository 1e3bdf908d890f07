/*
 * infer_binary.c — inference rules: elementwise binary ops, comparisons, logical and bitwise ops.
 */
#include "infer_util.h"

static ddk_status infer_binary(ddk_infer_ctx* c, bool has_alpha, bool is_sub, bool is_div) {
  ddk_status st = ddk_infer_need(c, has_alpha ? 3 : 2, 1);
  const ddk_tensor *a = NULL, *b = NULL;
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 0, "self", &a);
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 1, "other", &b);
  if (st != DDK_OK) return st;
  const ddk_tensor* ts[2] = {a, b};
  ddk_dtype dt = ddk_infer_result_type(ts, 2);
  if (is_sub && (a->dtype == DDK_DTYPE_BOOL || b->dtype == DDK_DTYPE_BOOL))
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                          "subtraction with a bool tensor is not supported (use logical_xor or ~)");
  if (has_alpha) {
    uint32_t kind = DDK_ARG_NONE;
    st = ddk_infer_arg_scalar(c, 2, "alpha", &kind);
    if (st != DDK_OK) return st;
    if (kind == DDK_ARG_BOOL && dt != DDK_DTYPE_BOOL)
      return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                            "argument 'alpha': a bool alpha needs a bool result");
    if (kind == DDK_ARG_FLOAT && ddk_dtype_category(dt) <= 1)
      return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                            "argument 'alpha': must not be a float for a %s result",
                            ddk_dtype_name(dt));
  }
  if (is_div && ddk_dtype_category(dt) <= 1) dt = DDK_DTYPE_FLOAT32;
  int64_t sizes[DDK_MAX_RANK];
  uint32_t rank;
  char msg[256];
  st = ddk_broadcast_shapes(a->sizes, a->rank, b->sizes, b->rank, sizes, &rank, msg, sizeof msg);
  if (st != DDK_OK) return ddk_infer_fail(c, st, "self and other: %s", msg);
  return ddk_infer_set_output(c, 0, dt, rank, sizes);
}

/* ------------------------------------------------------------------------ */
/* Rules                                                                    */
/* ------------------------------------------------------------------------ */

ddk_status ddk_infer_aten_add_tensor(ddk_infer_ctx* c) {
  return infer_binary(c, true, false, false);
}
ddk_status ddk_infer_aten_sub_tensor(ddk_infer_ctx* c) {
  return infer_binary(c, true, true, false);
}
ddk_status ddk_infer_aten_mul_tensor(ddk_infer_ctx* c) {
  return infer_binary(c, false, false, false);
}
ddk_status ddk_infer_aten_div_tensor(ddk_infer_ctx* c) {
  return infer_binary(c, false, false, true);
}
