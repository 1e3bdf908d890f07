/*
 * op_logical_bitwise.c — aten::bitwise_{and,or,xor}.{Tensor,Scalar},
 * aten::bitwise_not, aten::logical_{and,or,xor,not}.
 *
 * Semantics (ATen CPU):
 *  - bitwise ops work on integer and bool tensors only (floats refused);
 *    operands are cast to the result dtype first (a Scalar wraps: int8 &
 *    300 is int8 & 44; bool & int Scalar gives int64); on bool they are the
 *    logical ops; bitwise_not on bool is logical not.
 *  - logical ops accept every real dtype and give bool: the operands are
 *    cast to their common dtype, then nonzero is true (NaN is true).
 */
#include "op_binary_util.h"

typedef enum lb_op { LB_AND, LB_OR, LB_XOR, LB_NOT } lb_op;

static void bitwise_chunk(void* user, ddk_ku_math math, void* out, const void* const* in,
                          int64_t n) {
  const lb_op op = *(const lb_op*)user;
  if (math != DDK_KU_MATH_I64) return;
  int64_t* c = (int64_t*)out;
  const int64_t *a = (const int64_t*)in[0], *b = (const int64_t*)in[1];
  switch (op) {
    case LB_AND:
      for (int64_t i = 0; i < n; ++i) c[i] = a[i] & b[i];
      break;
    case LB_OR:
      for (int64_t i = 0; i < n; ++i) c[i] = a[i] | b[i];
      break;
    case LB_XOR:
      for (int64_t i = 0; i < n; ++i) c[i] = a[i] ^ b[i];
      break;
    case LB_NOT:
      for (int64_t i = 0; i < n; ++i) c[i] = ~a[i];
      break;
  }
}

static ddk_status bitwise_run(ddk_kernel_ctx* ctx, const ddk_node_view* node, const ddk_tensor* a,
                              const ddk_tensor* b, lb_op op) {
  const uint32_t mask = DDK_KU_MASK_INTS | DDK_KU_BIT(BOOL);
  ddk_tensor* out = ddk_kernel_out(ctx, node, 0);
  ddk_status st = ddk_ku_check_dtype(ctx, node, "self", a, mask);
  if (st == DDK_OK && b != NULL) st = ddk_ku_check_dtype(ctx, node, "other", b, mask);
  if (st == DDK_OK) st = ddk_ku_check_dtype(ctx, node, "the result", out, mask);
  if (st != DDK_OK) return st;
  /* on bool, bitwise not is logical not: 0/1 xor 1 */
  const ddk_tensor* ins[2] = {a, b};
  const ddk_dtype round_to[2] = {out->dtype, out->dtype};
  if (op == LB_NOT && out->dtype == DDK_DTYPE_BOOL) {
    uint8_t one = 1;
    ddk_tensor t1;
    memset(&t1, 0, sizeof t1);
    t1.dtype = DDK_DTYPE_BOOL;
    t1.data = &one;
    t1.capacity = 1;
    ins[1] = &t1;
    op = LB_XOR;
    if (!ddk_bin_map(out, ins, round_to, 2, DDK_KU_MATH_I64, bitwise_chunk, &op))
      return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "input does not match the output");
    return DDK_OK;
  }
  if (!ddk_bin_map(out, ins, round_to, b != NULL ? 2 : 1, DDK_KU_MATH_I64, bitwise_chunk, &op))
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH,
                           "inputs do not broadcast to the output shape");
  return DDK_OK;
}

static ddk_status bitwise_kernel(ddk_kernel_ctx* ctx, const ddk_node_view* node, lb_op op,
                                 bool scalar) {
  if (node->num_args < (op == LB_NOT ? 1u : 2u) || node->num_outputs < 1)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong number of arguments");
  const ddk_tensor* a = ddk_kernel_arg_tensor(ctx, node, 0);
  if (op == LB_NOT) return bitwise_run(ctx, node, a, NULL, op);
  if (!scalar) return bitwise_run(ctx, node, a, ddk_kernel_arg_tensor(ctx, node, 1), op);
  ddk_bin_scalar other;
  ddk_status st = ddk_bin_scalar_init(ctx, node, 1, "other", &other);
  if (st != DDK_OK) return st;
  if (other.s.is_float)
    return ddk_kernel_fail(ctx, node, DDK_UNSUPPORTED_DTYPE,
                           "bitwise ops are not implemented for floating point");
  return bitwise_run(ctx, node, a, &other.t, op);
}

ddk_status ddk_kernel_aten_bitwise_and_tensor(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return bitwise_kernel(ctx, node, LB_AND, false);
}
ddk_status ddk_kernel_aten_bitwise_and_scalar(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return bitwise_kernel(ctx, node, LB_AND, true);
}
ddk_status ddk_kernel_aten_bitwise_or_tensor(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return bitwise_kernel(ctx, node, LB_OR, false);
}
ddk_status ddk_kernel_aten_bitwise_or_scalar(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return bitwise_kernel(ctx, node, LB_OR, true);
}
ddk_status ddk_kernel_aten_bitwise_xor_tensor(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return bitwise_kernel(ctx, node, LB_XOR, false);
}
ddk_status ddk_kernel_aten_bitwise_xor_scalar(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return bitwise_kernel(ctx, node, LB_XOR, true);
}
ddk_status ddk_kernel_aten_bitwise_not(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return bitwise_kernel(ctx, node, LB_NOT, false);
}

/* ------------------------------------------------------------------------ */
/* logical                                                                  */
/* ------------------------------------------------------------------------ */

#define LOGICAL_LOOP(T)                                                         \
  do {                                                                          \
    T* c = (T*)out;                                                             \
    const T *a = (const T*)in[0], *b = (const T*)in[1];                         \
    switch (op) {                                                               \
      case LB_AND:                                                              \
        for (int64_t i = 0; i < n; ++i) c[i] = (T)(a[i] != 0 && b[i] != 0);     \
        break;                                                                  \
      case LB_OR:                                                               \
        for (int64_t i = 0; i < n; ++i) c[i] = (T)(a[i] != 0 || b[i] != 0);     \
        break;                                                                  \
      case LB_XOR:                                                              \
        for (int64_t i = 0; i < n; ++i) c[i] = (T)((a[i] != 0) != (b[i] != 0)); \
        break;                                                                  \
      case LB_NOT:                                                              \
        for (int64_t i = 0; i < n; ++i) c[i] = (T)(a[i] == 0);                  \
        break;                                                                  \
    }                                                                           \
  } while (0)

static void logical_chunk(void* user, ddk_ku_math math, void* out, const void* const* in,
                          int64_t n) {
  const lb_op op = *(const lb_op*)user;
  if (math == DDK_KU_MATH_F32)
    LOGICAL_LOOP(float);
  else if (math == DDK_KU_MATH_F64)
    LOGICAL_LOOP(double);
  else if (math == DDK_KU_MATH_I64)
    LOGICAL_LOOP(int64_t);
}

static ddk_status logical_kernel(ddk_kernel_ctx* ctx, const ddk_node_view* node, lb_op op) {
  const uint32_t num = op == LB_NOT ? 1u : 2u;
  if (node->num_args < num || node->num_outputs < 1)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong number of arguments");
  const ddk_tensor* ins[2] = {ddk_kernel_arg_tensor(ctx, node, 0),
                              num == 2 ? ddk_kernel_arg_tensor(ctx, node, 1) : NULL};
  ddk_tensor* out = ddk_kernel_out(ctx, node, 0);
  ddk_status st = ddk_ku_check_dtype(ctx, node, "self", ins[0], DDK_KU_MASK_REAL);
  if (st == DDK_OK && num == 2)
    st = ddk_ku_check_dtype(ctx, node, "other", ins[1], DDK_KU_MASK_REAL);
  if (st == DDK_OK) st = ddk_ku_check_dtype(ctx, node, "the result", out, DDK_KU_BIT(BOOL));
  if (st != DDK_OK) return st;
  const ddk_dtype common = ddk_bin_result_type(ins, num);
  const ddk_dtype round_to[2] = {common, common};
  if (!ddk_bin_map(out, ins, round_to, num, ddk_ku_math_of(common), logical_chunk, &op))
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH,
                           "inputs do not broadcast to the output shape");
  return DDK_OK;
}

ddk_status ddk_kernel_aten_logical_and(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return logical_kernel(ctx, node, LB_AND);
}
ddk_status ddk_kernel_aten_logical_or(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return logical_kernel(ctx, node, LB_OR);
}
ddk_status ddk_kernel_aten_logical_xor(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return logical_kernel(ctx, node, LB_XOR);
}
ddk_status ddk_kernel_aten_logical_not(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return logical_kernel(ctx, node, LB_NOT);
}
