/*
 * infer_binary.c — inference rules: elementwise binary ops, comparisons,
 * logical and bitwise ops.
 *
 * Result dtypes follow at::result_type: tensors promote, 0-d tensors only
 * raise the category, a Scalar is a wrapped number (ddk_promote_with_scalar:
 * int tensor with a float Scalar gives float32, bool with an int Scalar
 * int64). Shapes broadcast.
 */
#include "infer_util.h"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

/* Broadcasts up to three tensors (NULL entries skipped) into sizes/rank. */
static ddk_status bin_broadcast(ddk_infer_ctx* c, const ddk_tensor* const* ts, uint32_t n,
                                const char* names, int64_t* sizes, uint32_t* rank) {
  *rank = 0;
  char msg[256];
  for (uint32_t i = 0; i < n; ++i) {
    if (ts[i] == NULL) continue;
    int64_t tmp[DDK_MAX_RANK];
    uint32_t r = 0;
    ddk_status st =
        ddk_broadcast_shapes(sizes, *rank, ts[i]->sizes, ts[i]->rank, tmp, &r, msg, sizeof msg);
    if (st != DDK_OK) return ddk_infer_fail(c, st, "%s: %s", names, msg);
    memcpy(sizes, tmp, sizeof tmp);
    *rank = r;
  }
  return DDK_OK;
}

/* Output 0 = broadcast of the tensors, with dtype `dt`. */
static ddk_status bin_output(ddk_infer_ctx* c, const ddk_tensor* const* ts, uint32_t n,
                             ddk_dtype dt) {
  int64_t sizes[DDK_MAX_RANK] = {0};
  uint32_t rank = 0;
  const char* names = n == 3 ? "operands" : "self and other";
  ddk_status st = bin_broadcast(c, ts, n, names, sizes, &rank);
  if (st != DDK_OK) return st;
  return ddk_infer_set_output(c, 0, dt, rank, sizes);
}

static bool bin_is_int(ddk_dtype dt) {
  return ddk_dtype_category(dt) <= 1;
}

static ddk_status bin_refuse_complex(ddk_infer_ctx* c, ddk_dtype dt) {
  if (ddk_infer_is_complex(dt))
    return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE, "complex dtype %s is not supported",
                          ddk_dtype_name(dt));
  return DDK_OK;
}

/* Reads (self, other) as two tensors, or self and a Scalar other. */
static ddk_status bin_operands(ddk_infer_ctx* c, bool scalar, const ddk_tensor** a,
                               const ddk_tensor** b, uint32_t* kind, ddk_dtype* dt) {
  ddk_status st = ddk_infer_arg_tensor(c, 0, "self", a);
  if (st != DDK_OK) return st;
  *b = NULL;
  *kind = DDK_ARG_NONE;
  if (scalar) {
    st = ddk_infer_arg_scalar(c, 1, "other", kind);
    if (st != DDK_OK) return st;
    *dt = ddk_promote_with_scalar((*a)->dtype, *kind);
  } else {
    st = ddk_infer_arg_tensor(c, 1, "other", b);
    if (st != DDK_OK) return st;
    const ddk_tensor* ts[2] = {*a, *b};
    *dt = ddk_infer_result_type(ts, 2);
  }
  return DDK_OK;
}

/* ------------------------------------------------------------------------ */
/* add, sub, mul, div                                                       */
/* ------------------------------------------------------------------------ */

typedef enum arith_kind { AR_ADD, AR_SUB, AR_MUL, AR_DIV, AR_DIV_MODE } arith_kind;

static ddk_status infer_arith(ddk_infer_ctx* c, arith_kind op, bool scalar) {
  const bool has_alpha = op == AR_ADD || op == AR_SUB;
  ddk_status st = ddk_infer_need(c, has_alpha || op == AR_DIV_MODE ? 3 : 2, 1);
  const ddk_tensor *a = NULL, *b = NULL;
  uint32_t kind = DDK_ARG_NONE;
  ddk_dtype dt = DDK_DTYPE_INVALID;
  if (st == DDK_OK) st = bin_operands(c, scalar, &a, &b, &kind, &dt);
  if (st != DDK_OK) return st;
  if (op == AR_SUB && (a->dtype == DDK_DTYPE_BOOL || (b != NULL && b->dtype == DDK_DTYPE_BOOL) ||
                       kind == DDK_ARG_BOOL))
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                          "subtraction with a bool tensor is not supported (use logical_xor or ~)");
  if (has_alpha) {
    uint32_t akind = DDK_ARG_NONE;
    st = ddk_infer_arg_scalar(c, 2, "alpha", &akind);
    if (st != DDK_OK) return st;
    if (akind == DDK_ARG_BOOL && dt != DDK_DTYPE_BOOL)
      return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                            "argument 'alpha': a bool alpha needs a bool result");
    if (akind == DDK_ARG_FLOAT && bin_is_int(dt))
      return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                            "argument 'alpha': must not be a float for a %s result",
                            ddk_dtype_name(dt));
  }
  bool true_div = op == AR_DIV;
  if (op == AR_DIV_MODE) {
    const ddk_arg* m = &c->node->args[2];
    if (m->kind == DDK_ARG_NONE) {
      true_div = true;
    } else if (m->kind != DDK_ARG_STRING || m->u.str == NULL ||
               (strcmp(m->u.str, "trunc") != 0 && strcmp(m->u.str, "floor") != 0)) {
      return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                            "div expected rounding_mode to be one of None, 'trunc', or 'floor'");
    } else if (dt == DDK_DTYPE_BOOL) {
      return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE,
                            "rounding division is not implemented for Bool");
    }
  }
  if (true_div && bin_is_int(dt)) dt = DDK_DTYPE_FLOAT32;
  const ddk_tensor* ts[2] = {a, b};
  return bin_output(c, ts, 2, dt);
}

ddk_status ddk_infer_aten_add_tensor(ddk_infer_ctx* c) {
  return infer_arith(c, AR_ADD, false);
}
ddk_status ddk_infer_aten_sub_tensor(ddk_infer_ctx* c) {
  return infer_arith(c, AR_SUB, false);
}
ddk_status ddk_infer_aten_mul_tensor(ddk_infer_ctx* c) {
  return infer_arith(c, AR_MUL, false);
}
ddk_status ddk_infer_aten_div_tensor(ddk_infer_ctx* c) {
  return infer_arith(c, AR_DIV, false);
}
ddk_status ddk_infer_aten_div_tensor_mode(ddk_infer_ctx* c) {
  return infer_arith(c, AR_DIV_MODE, false);
}
ddk_status ddk_infer_aten_add_scalar(ddk_infer_ctx* c) {
  return infer_arith(c, AR_ADD, true);
}
ddk_status ddk_infer_aten_sub_scalar(ddk_infer_ctx* c) {
  return infer_arith(c, AR_SUB, true);
}
ddk_status ddk_infer_aten_mul_scalar(ddk_infer_ctx* c) {
  return infer_arith(c, AR_MUL, true);
}
ddk_status ddk_infer_aten_div_scalar(ddk_infer_ctx* c) {
  return infer_arith(c, AR_DIV, true);
}
ddk_status ddk_infer_aten_div_scalar_mode(ddk_infer_ctx* c) {
  return infer_arith(c, AR_DIV_MODE, true);
}

/* ------------------------------------------------------------------------ */
/* fmod, remainder, pow                                                     */
/* ------------------------------------------------------------------------ */

/* Result dtype of the operands; bool results refused (ATen: not
 * implemented for 'Bool'). */
static ddk_status infer_no_bool(ddk_infer_ctx* c, bool scalar) {
  ddk_status st = ddk_infer_need(c, 2, 1);
  const ddk_tensor *a = NULL, *b = NULL;
  uint32_t kind = DDK_ARG_NONE;
  ddk_dtype dt = DDK_DTYPE_INVALID;
  if (st == DDK_OK) st = bin_operands(c, scalar, &a, &b, &kind, &dt);
  if (st == DDK_OK) st = bin_refuse_complex(c, dt);
  if (st != DDK_OK) return st;
  if (dt == DDK_DTYPE_BOOL)
    return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE, "not implemented for Bool");
  const ddk_tensor* ts[2] = {a, b};
  return bin_output(c, ts, 2, dt);
}

ddk_status ddk_infer_aten_fmod_scalar(ddk_infer_ctx* c) {
  return infer_no_bool(c, true);
}
ddk_status ddk_infer_aten_fmod_tensor(ddk_infer_ctx* c) {
  return infer_no_bool(c, false);
}
ddk_status ddk_infer_aten_remainder_scalar(ddk_infer_ctx* c) {
  return infer_no_bool(c, true);
}
ddk_status ddk_infer_aten_remainder_tensor(ddk_infer_ctx* c) {
  return infer_no_bool(c, false);
}
ddk_status ddk_infer_aten_pow_tensor_tensor(ddk_infer_ctx* c) {
  return infer_no_bool(c, false);
}

ddk_status ddk_infer_aten_pow_tensor_scalar(ddk_infer_ctx* c) {
  ddk_status st = ddk_infer_need(c, 2, 1);
  const ddk_tensor *a = NULL, *b = NULL;
  uint32_t kind = DDK_ARG_NONE;
  ddk_dtype dt = DDK_DTYPE_INVALID;
  if (st == DDK_OK) st = bin_operands(c, true, &a, &b, &kind, &dt);
  if (st != DDK_OK) return st;
  if (bin_is_int(a->dtype) && kind == DDK_ARG_INT && c->node->args[1].u.i < 0)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                          "Integers to negative integer powers are not allowed.");
  return ddk_infer_same_shape(c, a, dt);
}

ddk_status ddk_infer_aten_pow_scalar(ddk_infer_ctx* c) {
  ddk_status st = ddk_infer_need(c, 2, 1);
  uint32_t kind = DDK_ARG_NONE;
  const ddk_tensor* e = NULL;
  if (st == DDK_OK) st = ddk_infer_arg_scalar(c, 0, "self", &kind);
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 1, "exponent", &e);
  if (st != DDK_OK) return st;
  const ddk_dtype dt = ddk_promote_with_scalar(e->dtype, kind);
  st = bin_refuse_complex(c, dt);
  if (st != DDK_OK) return st;
  if (dt == DDK_DTYPE_BOOL)
    return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE, "\"pow\" not implemented for 'Bool'");
  return ddk_infer_same_shape(c, e, dt);
}

/* ------------------------------------------------------------------------ */
/* atan2, maximum, minimum, clamp.Tensor, where.self                        */
/* ------------------------------------------------------------------------ */

static ddk_status infer_atan2(ddk_infer_ctx* c, bool out_variant) {
  ddk_status st = ddk_infer_need(c, out_variant ? 3 : 2, 1);
  const ddk_tensor *a = NULL, *b = NULL, *o = NULL;
  uint32_t kind = DDK_ARG_NONE;
  ddk_dtype dt = DDK_DTYPE_INVALID;
  if (st == DDK_OK) st = bin_operands(c, false, &a, &b, &kind, &dt);
  if (st == DDK_OK) st = bin_refuse_complex(c, dt);
  if (st == DDK_OK && out_variant) st = ddk_infer_arg_tensor(c, 2, "out", &o);
  if (st != DDK_OK) return st;
  if (bin_is_int(dt)) dt = DDK_DTYPE_FLOAT32;
  if (o != NULL) {
    /* a floating result casts to a floating `out` only (ATen's can_cast) */
    if (bin_is_int(o->dtype))
      return ddk_infer_fail(c, DDK_DTYPE_MISMATCH,
                            "result type %s can't be cast to the desired output type %s",
                            ddk_dtype_name(dt), ddk_dtype_name(o->dtype));
    st = bin_refuse_complex(c, o->dtype);
    if (st != DDK_OK) return st;
    dt = o->dtype;
  }
  const ddk_tensor* ts[2] = {a, b};
  return bin_output(c, ts, 2, dt);
}

ddk_status ddk_infer_aten_atan2(ddk_infer_ctx* c) {
  return infer_atan2(c, false);
}
ddk_status ddk_infer_aten_atan2_out(ddk_infer_ctx* c) {
  return infer_atan2(c, true);
}

static ddk_status infer_minmax(ddk_infer_ctx* c) {
  ddk_status st = ddk_infer_need(c, 2, 1);
  const ddk_tensor *a = NULL, *b = NULL;
  uint32_t kind = DDK_ARG_NONE;
  ddk_dtype dt = DDK_DTYPE_INVALID;
  if (st == DDK_OK) st = bin_operands(c, false, &a, &b, &kind, &dt);
  if (st == DDK_OK) st = bin_refuse_complex(c, dt);
  if (st != DDK_OK) return st;
  const ddk_tensor* ts[2] = {a, b};
  return bin_output(c, ts, 2, dt);
}

ddk_status ddk_infer_aten_maximum(ddk_infer_ctx* c) {
  return infer_minmax(c);
}
ddk_status ddk_infer_aten_minimum(ddk_infer_ctx* c) {
  return infer_minmax(c);
}

ddk_status ddk_infer_aten_clamp_tensor(ddk_infer_ctx* c) {
  ddk_status st = ddk_infer_need(c, 3, 1);
  const ddk_tensor *a = NULL, *lo = NULL, *hi = NULL;
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 0, "self", &a);
  if (st == DDK_OK) st = ddk_infer_arg_opt_tensor(c, 1, "min", &lo);
  if (st == DDK_OK) st = ddk_infer_arg_opt_tensor(c, 2, "max", &hi);
  if (st != DDK_OK) return st;
  if (lo == NULL && hi == NULL)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                          "torch.clamp: At least one of 'min' or 'max' must not be None");
  const ddk_tensor* ts[3] = {a, lo, hi};
  const ddk_tensor* present[3];
  uint32_t n = 0;
  for (uint32_t i = 0; i < 3; ++i)
    if (ts[i] != NULL) present[n++] = ts[i];
  const ddk_dtype dt = ddk_infer_result_type(present, n);
  st = bin_refuse_complex(c, dt);
  if (st != DDK_OK) return st;
  if (dt == DDK_DTYPE_BOOL && lo != NULL && hi != NULL)
    return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE, "\"clamp_cpu\" not implemented for 'Bool'");
  return bin_output(c, ts, 3, dt);
}

ddk_status ddk_infer_aten_where_self(ddk_infer_ctx* c) {
  ddk_status st = ddk_infer_need(c, 3, 1);
  const ddk_tensor *m = NULL, *a = NULL, *b = NULL;
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 0, "condition", &m);
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 1, "self", &a);
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 2, "other", &b);
  if (st != DDK_OK) return st;
  if (m->dtype != DDK_DTYPE_BOOL && m->dtype != DDK_DTYPE_UINT8)
    return ddk_infer_fail(c, DDK_DTYPE_MISMATCH,
                          "where expected condition to be a boolean tensor, but got %s",
                          ddk_dtype_name(m->dtype));
  const ddk_tensor* ab[2] = {a, b};
  const ddk_dtype dt = ddk_infer_result_type(ab, 2);
  st = bin_refuse_complex(c, dt);
  if (st != DDK_OK) return st;
  const ddk_tensor* ts[3] = {m, a, b};
  return bin_output(c, ts, 3, dt);
}

/* ------------------------------------------------------------------------ */
/* Comparisons and logical ops: bool results                                */
/* ------------------------------------------------------------------------ */

static ddk_status infer_predicate(ddk_infer_ctx* c, bool scalar) {
  ddk_status st = ddk_infer_need(c, 2, 1);
  const ddk_tensor *a = NULL, *b = NULL;
  uint32_t kind = DDK_ARG_NONE;
  ddk_dtype dt = DDK_DTYPE_INVALID;
  if (st == DDK_OK) st = bin_operands(c, scalar, &a, &b, &kind, &dt);
  if (st != DDK_OK) return st;
  const ddk_tensor* ts[2] = {a, b};
  return bin_output(c, ts, 2, DDK_DTYPE_BOOL);
}

#define DEFINE_PRED(NAME)                                       \
  ddk_status ddk_infer_aten_##NAME##_tensor(ddk_infer_ctx* c) { \
    return infer_predicate(c, false);                           \
  }                                                             \
  ddk_status ddk_infer_aten_##NAME##_scalar(ddk_infer_ctx* c) { \
    return infer_predicate(c, true);                            \
  }
DEFINE_PRED(eq)
DEFINE_PRED(ne)
DEFINE_PRED(lt)
DEFINE_PRED(le)
DEFINE_PRED(gt)
DEFINE_PRED(ge)

ddk_status ddk_infer_aten_logical_and(ddk_infer_ctx* c) {
  return infer_predicate(c, false);
}
ddk_status ddk_infer_aten_logical_or(ddk_infer_ctx* c) {
  return infer_predicate(c, false);
}
ddk_status ddk_infer_aten_logical_xor(ddk_infer_ctx* c) {
  return infer_predicate(c, false);
}

ddk_status ddk_infer_aten_logical_not(ddk_infer_ctx* c) {
  ddk_status st = ddk_infer_need(c, 1, 1);
  const ddk_tensor* a = NULL;
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 0, "self", &a);
  if (st == DDK_OK) st = bin_refuse_complex(c, a->dtype);
  if (st != DDK_OK) return st;
  return ddk_infer_same_shape(c, a, DDK_DTYPE_BOOL);
}

/* ------------------------------------------------------------------------ */
/* Bitwise ops: integers and bool only                                      */
/* ------------------------------------------------------------------------ */

static ddk_status infer_bitwise(ddk_infer_ctx* c, bool scalar) {
  ddk_status st = ddk_infer_need(c, 2, 1);
  const ddk_tensor *a = NULL, *b = NULL;
  uint32_t kind = DDK_ARG_NONE;
  ddk_dtype dt = DDK_DTYPE_INVALID;
  if (st == DDK_OK) st = bin_operands(c, scalar, &a, &b, &kind, &dt);
  if (st != DDK_OK) return st;
  if (!bin_is_int(dt))
    return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE, "bitwise ops are not implemented for %s",
                          ddk_dtype_name(dt));
  const ddk_tensor* ts[2] = {a, b};
  return bin_output(c, ts, 2, dt);
}

ddk_status ddk_infer_aten_bitwise_and_tensor(ddk_infer_ctx* c) {
  return infer_bitwise(c, false);
}
ddk_status ddk_infer_aten_bitwise_and_scalar(ddk_infer_ctx* c) {
  return infer_bitwise(c, true);
}
ddk_status ddk_infer_aten_bitwise_or_tensor(ddk_infer_ctx* c) {
  return infer_bitwise(c, false);
}
ddk_status ddk_infer_aten_bitwise_or_scalar(ddk_infer_ctx* c) {
  return infer_bitwise(c, true);
}
ddk_status ddk_infer_aten_bitwise_xor_tensor(ddk_infer_ctx* c) {
  return infer_bitwise(c, false);
}
ddk_status ddk_infer_aten_bitwise_xor_scalar(ddk_infer_ctx* c) {
  return infer_bitwise(c, true);
}

ddk_status ddk_infer_aten_bitwise_not(ddk_infer_ctx* c) {
  ddk_status st = ddk_infer_need(c, 1, 1);
  const ddk_tensor* a = NULL;
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 0, "self", &a);
  if (st != DDK_OK) return st;
  if (!bin_is_int(a->dtype))
    return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE, "bitwise_not is not implemented for %s",
                          ddk_dtype_name(a->dtype));
  return ddk_infer_same_shape(c, a, a->dtype);
}
