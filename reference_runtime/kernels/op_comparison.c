/*
 * op_comparison.c — aten::{eq,ne,lt,le,gt,ge}.{Tensor,Scalar}.
 *
 * Semantics (ATen CPU): both operands are cast to their common dtype
 * (result_type; a Scalar is a wrapped number that only raises the
 * category, and is cast to the common dtype like a tensor: int8 vs 300
 * compares against 44, float16 vs 0.1 against float16(0.1)), compared
 * there (float16/bfloat16 values compare exactly in float), and the result
 * is bool. NaN compares unequal to everything (ne gives true). Broadcasting
 * and any strides; zero-size tensors give empty results.
 */
#include "op_binary_util.h"

typedef enum cmp_op { CMP_EQ, CMP_NE, CMP_LT, CMP_LE, CMP_GT, CMP_GE } cmp_op;

#define CMP_LOOP(T, M)                                            \
  do {                                                            \
    M* c = (M*)out;                                               \
    const T *a = (const T*)in[0], *b = (const T*)in[1];           \
    switch (op) {                                                 \
      case CMP_EQ:                                                \
        for (int64_t i = 0; i < n; ++i) c[i] = (M)(a[i] == b[i]); \
        break;                                                    \
      case CMP_NE:                                                \
        for (int64_t i = 0; i < n; ++i) c[i] = (M)(a[i] != b[i]); \
        break;                                                    \
      case CMP_LT:                                                \
        for (int64_t i = 0; i < n; ++i) c[i] = (M)(a[i] < b[i]);  \
        break;                                                    \
      case CMP_LE:                                                \
        for (int64_t i = 0; i < n; ++i) c[i] = (M)(a[i] <= b[i]); \
        break;                                                    \
      case CMP_GT:                                                \
        for (int64_t i = 0; i < n; ++i) c[i] = (M)(a[i] > b[i]);  \
        break;                                                    \
      case CMP_GE:                                                \
        for (int64_t i = 0; i < n; ++i) c[i] = (M)(a[i] >= b[i]); \
        break;                                                    \
    }                                                             \
  } while (0)

static void cmp_chunk(void* user, ddk_ku_math math, void* out, const void* const* in, int64_t n) {
  const cmp_op op = *(const cmp_op*)user;
  if (math == DDK_KU_MATH_F32)
    CMP_LOOP(float, float);
  else if (math == DDK_KU_MATH_F64)
    CMP_LOOP(double, double);
  else if (math == DDK_KU_MATH_I64)
    CMP_LOOP(int64_t, int64_t);
}

/* out (bool) = a <op> b in `common`. */
static ddk_status cmp_run(ddk_kernel_ctx* ctx, const ddk_node_view* node, const ddk_tensor* a,
                          const ddk_tensor* b, ddk_dtype common, cmp_op op) {
  ddk_tensor* out = ddk_kernel_out(ctx, node, 0);
  ddk_status st = ddk_ku_check_dtype(ctx, node, "self", a, DDK_KU_MASK_REAL);
  if (st == DDK_OK) st = ddk_ku_check_dtype(ctx, node, "other", b, DDK_KU_MASK_REAL);
  if (st == DDK_OK) st = ddk_ku_check_dtype(ctx, node, "the result", out, DDK_KU_BIT(BOOL));
  if (st != DDK_OK) return st;
  const ddk_tensor* ins[2] = {a, b};
  const ddk_dtype round_to[2] = {common, common};
  if (!ddk_bin_map(out, ins, round_to, 2, ddk_ku_math_of(common), cmp_chunk, &op))
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH,
                           "inputs do not broadcast to the output shape");
  return DDK_OK;
}

static ddk_status cmp_tensor(ddk_kernel_ctx* ctx, const ddk_node_view* node, cmp_op op) {
  if (node->num_args < 2 || node->num_outputs < 1)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong number of arguments");
  const ddk_tensor* ins[2] = {ddk_kernel_arg_tensor(ctx, node, 0),
                              ddk_kernel_arg_tensor(ctx, node, 1)};
  return cmp_run(ctx, node, ins[0], ins[1], ddk_bin_result_type(ins, 2), op);
}

static ddk_status cmp_scalar(ddk_kernel_ctx* ctx, const ddk_node_view* node, cmp_op op) {
  if (node->num_args < 2 || node->num_outputs < 1)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong number of arguments");
  const ddk_tensor* a = ddk_kernel_arg_tensor(ctx, node, 0);
  ddk_bin_scalar other;
  ddk_status st = ddk_bin_scalar_init(ctx, node, 1, "other", &other);
  if (st != DDK_OK) return st;
  const ddk_dtype common = ddk_promote_with_scalar(a->dtype, ddk_bin_scalar_kind(&other));
  return cmp_run(ctx, node, a, &other.t, common, op);
}

#define DEFINE_CMP(NAME, OP)                                                                   \
  ddk_status ddk_kernel_aten_##NAME##_tensor(ddk_kernel_ctx* ctx, const ddk_node_view* node) { \
    return cmp_tensor(ctx, node, OP);                                                          \
  }                                                                                            \
  ddk_status ddk_kernel_aten_##NAME##_scalar(ddk_kernel_ctx* ctx, const ddk_node_view* node) { \
    return cmp_scalar(ctx, node, OP);                                                          \
  }

DEFINE_CMP(eq, CMP_EQ)
DEFINE_CMP(ne, CMP_NE)
DEFINE_CMP(lt, CMP_LT)
DEFINE_CMP(le, CMP_LE)
DEFINE_CMP(gt, CMP_GT)
DEFINE_CMP(ge, CMP_GE)
