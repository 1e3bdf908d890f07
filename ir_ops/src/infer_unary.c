/*
 * infer_unary.c — inference rules: elementwise unary ops and activations.
 */
#include "infer_util.h"

static ddk_status infer_unary(ddk_infer_ctx* c, uint32_t num_args, bool to_float, bool no_bool) {
  ddk_status st = ddk_infer_need(c, num_args, 1);
  const ddk_tensor* x = NULL;
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 0, "self", &x);
  for (uint32_t i = 1; st == DDK_OK && i < num_args; ++i) {
    uint32_t kind = DDK_ARG_NONE;
    st = ddk_infer_arg_scalar(c, i, i == 1 ? "min_val" : "max_val", &kind);
  }
  if (st != DDK_OK) return st;
  if (no_bool && x->dtype == DDK_DTYPE_BOOL)
    return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE, "bool inputs are not supported");
  ddk_dtype dt = x->dtype;
  if (to_float && ddk_dtype_category(dt) <= 1) dt = DDK_DTYPE_FLOAT32;
  return ddk_infer_same_shape(c, x, dt);
}

static ddk_status infer_softmax(ddk_infer_ctx* c) {
  ddk_status st = ddk_infer_need(c, 3, 1);
  const ddk_tensor* x = NULL;
  int64_t dim = 0;
  bool h2f = false;
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 0, "self", &x);
  if (st == DDK_OK) st = ddk_infer_arg_int(c, 1, "dim", &dim);
  if (st == DDK_OK) st = ddk_infer_arg_bool(c, 2, "half_to_float", &h2f);
  if (st == DDK_OK) st = ddk_infer_wrap_dim(c, "dim", dim, x->rank, &dim);
  if (st != DDK_OK) return st;
  if (h2f && x->dtype != DDK_DTYPE_FLOAT16)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "half_to_float needs a float16 input, got %s",
                          ddk_dtype_name(x->dtype));
  return ddk_infer_same_shape(c, x, h2f ? DDK_DTYPE_FLOAT32 : x->dtype);
}

/* ------------------------------------------------------------------------ */
/* Rules                                                                    */
/* ------------------------------------------------------------------------ */

ddk_status ddk_infer_aten_relu(ddk_infer_ctx* c) {
  return infer_unary(c, 1, false, true);
}
ddk_status ddk_infer_aten_hardtanh(ddk_infer_ctx* c) {
  return infer_unary(c, 3, false, true);
}
ddk_status ddk_infer_aten_sigmoid(ddk_infer_ctx* c) {
  return infer_unary(c, 1, true, false);
}
ddk_status ddk_infer_aten_tanh(ddk_infer_ctx* c) {
  return infer_unary(c, 1, true, false);
}
ddk_status ddk_infer_aten_softmax(ddk_infer_ctx* c) {
  return infer_softmax(c);
}
