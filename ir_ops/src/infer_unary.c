/*
 * infer_unary.c — inference rules: elementwise unary ops and activations.
 *
 * Result dtypes follow ATen's unary op families:
 *  - "int to float" ops (exp, sin, sqrt, ...): floating inputs keep their
 *    dtype, bool and integer inputs give float32;
 *  - "same dtype" ops (abs, neg, ceil, ...): the input's dtype; several
 *    refuse bool as ATen does;
 *  - predicates (isinf, isnan): bool;
 *  - float-only activations (elu, gelu, leaky_relu, softmaxes): floating
 *    inputs only;
 *  - clamp: result_type(self, min, max), the Scalars raising the category.
 * Complex inputs are refused (the op table lists only real dtypes).
 */
#include "infer_util.h"

typedef enum unary_kind {
  UNARY_SAME,         /* any real dtype, result = input dtype */
  UNARY_SAME_NO_BOOL, /* like UNARY_SAME, bool refused */
  UNARY_TO_FLOAT,     /* integers and bool promote to float32 */
  UNARY_TO_BOOL,      /* predicate: bool result */
  UNARY_FLOAT_ONLY,   /* floating inputs only */
} unary_kind;

/* Checks self (argument 0) against `kind`; the result dtype into *out. */
static ddk_status unary_self(ddk_infer_ctx* c, unary_kind kind, const ddk_tensor** x,
                             ddk_dtype* out) {
  ddk_status st = ddk_infer_need(c, 1, 1);
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 0, "self", x);
  if (st != DDK_OK) return st;
  const ddk_dtype dt = (*x)->dtype;
  const int cat = ddk_dtype_category(dt);
  if (cat < 0 || cat > 2)
    return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE, "unsupported input dtype %s",
                          ddk_dtype_name(dt));
  switch (kind) {
    case UNARY_SAME:
      *out = dt;
      return DDK_OK;
    case UNARY_SAME_NO_BOOL:
      if (cat == 0)
        return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE, "bool inputs are not supported");
      *out = dt;
      return DDK_OK;
    case UNARY_TO_FLOAT:
      *out = cat == 2 ? dt : DDK_DTYPE_FLOAT32;
      return DDK_OK;
    case UNARY_TO_BOOL:
      *out = DDK_DTYPE_BOOL;
      return DDK_OK;
    case UNARY_FLOAT_ONLY:
      if (cat != 2)
        return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE, "not implemented for %s inputs",
                              ddk_dtype_name(dt));
      *out = dt;
      return DDK_OK;
  }
  return DDK_OK;
}

/* A unary op whose arguments after self are the Scalars named in
 * `scalars` (NULL-terminated; NULL for none). */
static ddk_status infer_unary(ddk_infer_ctx* c, unary_kind kind, const char* const* scalars) {
  const ddk_tensor* x = NULL;
  ddk_dtype dt = DDK_DTYPE_INVALID;
  ddk_status st = unary_self(c, kind, &x, &dt);
  uint32_t n = 0;
  while (scalars != NULL && scalars[n] != NULL) ++n;
  if (st == DDK_OK) st = ddk_infer_need(c, 1 + n, 1);
  for (uint32_t i = 0; st == DDK_OK && i < n; ++i) {
    uint32_t scalar_kind = DDK_ARG_NONE;
    st = ddk_infer_arg_scalar(c, 1 + i, scalars[i], &scalar_kind);
  }
  if (st != DDK_OK) return st;
  return ddk_infer_same_shape(c, x, dt);
}

/* _softmax / _log_softmax(self, dim, half_to_float). ATen's CPU kernels
 * refuse half_to_float=True ("not supported on CPU"); so do we. */
static ddk_status infer_softmax(ddk_infer_ctx* c, bool allow_half_to_float) {
  const ddk_tensor* x = NULL;
  ddk_dtype dt = DDK_DTYPE_INVALID;
  int64_t dim = 0;
  bool h2f = false;
  ddk_status st = unary_self(c, UNARY_FLOAT_ONLY, &x, &dt);
  if (st == DDK_OK) st = ddk_infer_need(c, 3, 1);
  if (st == DDK_OK) st = ddk_infer_arg_int(c, 1, "dim", &dim);
  if (st == DDK_OK) st = ddk_infer_arg_bool(c, 2, "half_to_float", &h2f);
  if (st == DDK_OK) st = ddk_infer_wrap_dim(c, "dim", dim, x->rank, &dim);
  if (st != DDK_OK) return st;
  if (h2f && !allow_half_to_float)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                          "conversion from half to float is not supported on CPU");
  if (h2f && dt != DDK_DTYPE_FLOAT16)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "half_to_float needs a float16 input, got %s",
                          ddk_dtype_name(dt));
  return ddk_infer_same_shape(c, x, h2f ? DDK_DTYPE_FLOAT32 : dt);
}

/* clamp(self, Scalar? min, Scalar? max). */
static ddk_status infer_clamp(ddk_infer_ctx* c) {
  const ddk_tensor* x = NULL;
  ddk_dtype dt = DDK_DTYPE_INVALID;
  ddk_status st = unary_self(c, UNARY_SAME, &x, &dt);
  if (st == DDK_OK) st = ddk_infer_need(c, 3, 1);
  if (st != DDK_OK) return st;
  bool any = false;
  for (uint32_t i = 1; i <= 2; ++i) {
    if (c->node->args[i].kind == DDK_ARG_NONE) continue;
    uint32_t kind = DDK_ARG_NONE;
    st = ddk_infer_arg_scalar(c, i, i == 1 ? "min" : "max", &kind);
    if (st != DDK_OK) return st;
    dt = ddk_promote_with_scalar(dt, kind);
    any = true;
  }
  if (!any)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                          "at least one of 'min' or 'max' must not be None");
  if (dt == DDK_DTYPE_BOOL)
    return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE, "not implemented for bool results");
  return ddk_infer_same_shape(c, x, dt);
}

/* gelu(self, *, str approximate='none'). */
static ddk_status infer_gelu(ddk_infer_ctx* c) {
  const ddk_tensor* x = NULL;
  ddk_dtype dt = DDK_DTYPE_INVALID;
  ddk_status st = unary_self(c, UNARY_FLOAT_ONLY, &x, &dt);
  if (st == DDK_OK) st = ddk_infer_need(c, 2, 1);
  if (st != DDK_OK) return st;
  const ddk_arg* a = &c->node->args[1];
  if (a->kind != DDK_ARG_STRING || a->u.str == NULL ||
      (strcmp(a->u.str, "none") != 0 && strcmp(a->u.str, "tanh") != 0))
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                          "approximate argument must be either none or tanh");
  return ddk_infer_same_shape(c, x, dt);
}

/* ------------------------------------------------------------------------ */
/* Rules                                                                    */
/* ------------------------------------------------------------------------ */

static const char* const kHardtanhArgs[] = {"min_val", "max_val", NULL};
static const char* const kEluArgs[] = {"alpha", "scale", "input_scale", NULL};
static const char* const kLeakyReluArgs[] = {"negative_slope", NULL};

/* Activations. */
ddk_status ddk_infer_aten_relu(ddk_infer_ctx* c) {
  return infer_unary(c, UNARY_SAME_NO_BOOL, NULL);
}
ddk_status ddk_infer_aten_hardtanh(ddk_infer_ctx* c) {
  return infer_unary(c, UNARY_SAME_NO_BOOL, kHardtanhArgs);
}
ddk_status ddk_infer_aten_sigmoid(ddk_infer_ctx* c) {
  return infer_unary(c, UNARY_TO_FLOAT, NULL);
}
ddk_status ddk_infer_aten_tanh(ddk_infer_ctx* c) {
  return infer_unary(c, UNARY_TO_FLOAT, NULL);
}
ddk_status ddk_infer_aten_elu(ddk_infer_ctx* c) {
  return infer_unary(c, UNARY_FLOAT_ONLY, kEluArgs);
}
ddk_status ddk_infer_aten_leaky_relu(ddk_infer_ctx* c) {
  return infer_unary(c, UNARY_FLOAT_ONLY, kLeakyReluArgs);
}
ddk_status ddk_infer_aten_gelu(ddk_infer_ctx* c) {
  return infer_gelu(c);
}
ddk_status ddk_infer_aten_softmax(ddk_infer_ctx* c) {
  return infer_softmax(c, false);
}
ddk_status ddk_infer_aten_log_softmax(ddk_infer_ctx* c) {
  return infer_softmax(c, false);
}
ddk_status ddk_infer_aten_clamp(ddk_infer_ctx* c) {
  return infer_clamp(c);
}

/* Same dtype. */
ddk_status ddk_infer_aten_abs(ddk_infer_ctx* c) {
  return infer_unary(c, UNARY_SAME_NO_BOOL, NULL);
}
ddk_status ddk_infer_aten_neg(ddk_infer_ctx* c) {
  return infer_unary(c, UNARY_SAME_NO_BOOL, NULL);
}
ddk_status ddk_infer_aten_ceil(ddk_infer_ctx* c) {
  return infer_unary(c, UNARY_SAME_NO_BOOL, NULL);
}
ddk_status ddk_infer_aten_floor(ddk_infer_ctx* c) {
  return infer_unary(c, UNARY_SAME_NO_BOOL, NULL);
}
ddk_status ddk_infer_aten_round(ddk_infer_ctx* c) {
  return infer_unary(c, UNARY_SAME_NO_BOOL, NULL);
}
ddk_status ddk_infer_aten_trunc(ddk_infer_ctx* c) {
  return infer_unary(c, UNARY_SAME_NO_BOOL, NULL);
}
ddk_status ddk_infer_aten_sign(ddk_infer_ctx* c) {
  return infer_unary(c, UNARY_SAME, NULL);
}

/* Predicates. */
ddk_status ddk_infer_aten_isinf(ddk_infer_ctx* c) {
  return infer_unary(c, UNARY_TO_BOOL, NULL);
}
ddk_status ddk_infer_aten_isnan(ddk_infer_ctx* c) {
  return infer_unary(c, UNARY_TO_BOOL, NULL);
}

/* Integers and bool to float32. */
ddk_status ddk_infer_aten_acos(ddk_infer_ctx* c) {
  return infer_unary(c, UNARY_TO_FLOAT, NULL);
}
ddk_status ddk_infer_aten_acosh(ddk_infer_ctx* c) {
  return infer_unary(c, UNARY_TO_FLOAT, NULL);
}
ddk_status ddk_infer_aten_asin(ddk_infer_ctx* c) {
  return infer_unary(c, UNARY_TO_FLOAT, NULL);
}
ddk_status ddk_infer_aten_asinh(ddk_infer_ctx* c) {
  return infer_unary(c, UNARY_TO_FLOAT, NULL);
}
ddk_status ddk_infer_aten_atan(ddk_infer_ctx* c) {
  return infer_unary(c, UNARY_TO_FLOAT, NULL);
}
ddk_status ddk_infer_aten_atanh(ddk_infer_ctx* c) {
  return infer_unary(c, UNARY_TO_FLOAT, NULL);
}
ddk_status ddk_infer_aten_cos(ddk_infer_ctx* c) {
  return infer_unary(c, UNARY_TO_FLOAT, NULL);
}
ddk_status ddk_infer_aten_cosh(ddk_infer_ctx* c) {
  return infer_unary(c, UNARY_TO_FLOAT, NULL);
}
ddk_status ddk_infer_aten_erf(ddk_infer_ctx* c) {
  return infer_unary(c, UNARY_TO_FLOAT, NULL);
}
ddk_status ddk_infer_aten_exp(ddk_infer_ctx* c) {
  return infer_unary(c, UNARY_TO_FLOAT, NULL);
}
ddk_status ddk_infer_aten_expm1(ddk_infer_ctx* c) {
  return infer_unary(c, UNARY_TO_FLOAT, NULL);
}
ddk_status ddk_infer_aten_log(ddk_infer_ctx* c) {
  return infer_unary(c, UNARY_TO_FLOAT, NULL);
}
ddk_status ddk_infer_aten_log10(ddk_infer_ctx* c) {
  return infer_unary(c, UNARY_TO_FLOAT, NULL);
}
ddk_status ddk_infer_aten_log1p(ddk_infer_ctx* c) {
  return infer_unary(c, UNARY_TO_FLOAT, NULL);
}
ddk_status ddk_infer_aten_log2(ddk_infer_ctx* c) {
  return infer_unary(c, UNARY_TO_FLOAT, NULL);
}
ddk_status ddk_infer_aten_reciprocal(ddk_infer_ctx* c) {
  return infer_unary(c, UNARY_TO_FLOAT, NULL);
}
ddk_status ddk_infer_aten_rsqrt(ddk_infer_ctx* c) {
  return infer_unary(c, UNARY_TO_FLOAT, NULL);
}
ddk_status ddk_infer_aten_sin(ddk_infer_ctx* c) {
  return infer_unary(c, UNARY_TO_FLOAT, NULL);
}
ddk_status ddk_infer_aten_sinh(ddk_infer_ctx* c) {
  return infer_unary(c, UNARY_TO_FLOAT, NULL);
}
ddk_status ddk_infer_aten_sqrt(ddk_infer_ctx* c) {
  return infer_unary(c, UNARY_TO_FLOAT, NULL);
}
ddk_status ddk_infer_aten_tan(ddk_infer_ctx* c) {
  return infer_unary(c, UNARY_TO_FLOAT, NULL);
}
