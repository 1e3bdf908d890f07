/*
 * op_reduction_minmax.c — selecting reductions: aten::amax, aten::amin,
 * aten::argmax, aten::argmin, aten::max.dim, aten::min.dim, aten::any,
 * aten::any.dim, aten::any.dims.
 *
 * Semantics (ATen CPU):
 *  - amax/amin: dim=[] reduces every dim; max.dim/min.dim/argmax/argmin
 *    take one dim (argmax/argmin: None reduces the flattened tensor, and
 *    keepdim then keeps every dim as size 1). Negative dims wrap; 0-d
 *    inputs accept 0 and -1.
 *  - NaN propagates: it counts as both the maximum and the minimum, and
 *    the index is that of the first NaN. Ties give the first index.
 *  - Reducing a dim of size 0 is refused (ATen raises "Expected reduction
 *    dim ... to have non-zero size"); argmax/argmin refuse bool inputs.
 *  - any: true when some element is nonzero (NaN counts); the result is
 *    uint8 for uint8 inputs, bool otherwise; an empty reduction gives
 *    false. any.dims: None reduces every dim, [] none.
 * Values are copied, never rounded: the results are exact.
 */
#include "op_reduction_util.h"

typedef enum sel_kind { SEL_VALUE, SEL_INDEX, SEL_BOTH, SEL_ANY } sel_kind;

typedef struct sel_finish_ctx {
  ddk_tensor* y0;
  ddk_tensor* y1;
  sel_kind kind;
  bool f64;
} sel_finish_ctx;

static void sel_finish(void* user, const ddk_red_acc* acc, int64_t n, const int64_t* off,
                       const int64_t* stride) {
  const sel_finish_ctx* f = (const sel_finish_ctx*)user;
  for (int64_t k = 0; k < n; ++k) {
    const int64_t o0 = off[0] + k * stride[0];
    if (f->kind == SEL_ANY) {
      ddk_ku_store_i64(f->y0->data, f->y0->dtype, o0, acc->i[0][k]);
    } else if (f->kind == SEL_INDEX) {
      ddk_ku_store_i64(f->y0->data, f->y0->dtype, o0, acc->i[1][k]);
    } else {
      if (f->f64)
        ddk_ku_store_f64(f->y0->data, f->y0->dtype, o0, acc->f[0][k]);
      else
        ddk_ku_store_i64(f->y0->data, f->y0->dtype, o0, acc->i[0][k]);
      if (f->kind == SEL_BOTH)
        ddk_ku_store_i64(f->y1->data, f->y1->dtype, off[1] + k * stride[1], acc->i[1][k]);
    }
  }
}

static ddk_status sel_arg_bool(ddk_kernel_ctx* ctx, const ddk_node_view* node, uint32_t index,
                               bool* out) {
  if (index >= node->num_args || node->args[index].kind != DDK_ARG_BOOL)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "argument 'keepdim' must be a bool");
  *out = node->args[index].u.b;
  return DDK_OK;
}

/*
 * The shared body: dims from argument `dim_arg` (UINT32_MAX: every dim),
 * keepdim from `keep_arg` (UINT32_MAX: false).
 */
static ddk_status sel_run(ddk_kernel_ctx* ctx, const ddk_node_view* node, ddk_red_op op,
                          sel_kind kind, uint32_t dim_arg, bool empty_is_all, uint32_t keep_arg) {
  const uint32_t nout = kind == SEL_BOTH ? 2 : 1;
  if (node->num_args < 1 || node->num_outputs < nout ||
      (dim_arg != UINT32_MAX && dim_arg >= node->num_args) ||
      (keep_arg != UINT32_MAX && keep_arg >= node->num_args))
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong number of arguments");
  const ddk_tensor* x = ddk_kernel_arg_tensor(ctx, node, 0);
  ddk_tensor* y0 = ddk_kernel_out(ctx, node, 0);
  ddk_tensor* y1 = nout == 2 ? ddk_kernel_out(ctx, node, 1) : NULL;
  uint32_t mask = DDK_KU_MASK_REAL;
  if (kind == SEL_INDEX) mask &= ~DDK_KU_BIT(BOOL);
  ddk_status st = ddk_ku_check_dtype(ctx, node, "self", x, mask);
  if (st != DDK_OK) return st;
  ddk_dtype want = x->dtype;
  if (kind == SEL_INDEX) want = DDK_DTYPE_INT64;
  if (kind == SEL_ANY) want = x->dtype == DDK_DTYPE_UINT8 ? DDK_DTYPE_UINT8 : DDK_DTYPE_BOOL;
  if (y0->dtype != want || (y1 != NULL && y1->dtype != DDK_DTYPE_INT64))
    return ddk_kernel_fail(ctx, node, DDK_DTYPE_MISMATCH, "result dtype must be %s",
                           ddk_dtype_name(want));
  bool reduce[DDK_MAX_RANK];
  bool keepdim = false;
  if (dim_arg == UINT32_MAX || node->args[dim_arg].kind == DDK_ARG_NONE) {
    for (uint32_t i = 0; i < DDK_MAX_RANK; ++i) reduce[i] = i < x->rank;
  } else {
    st = ddk_red_dims(ctx, node, x, dim_arg, empty_is_all, reduce);
  }
  if (st == DDK_OK && keep_arg != UINT32_MAX) st = sel_arg_bool(ctx, node, keep_arg, &keepdim);
  if (st != DDK_OK) return st;
  ddk_red_plan plan;
  st = ddk_red_plan_init(ctx, node, &plan, x, reduce, keepdim, y0, y1);
  if (st != DDK_OK) return st;
  if (op != DDK_RED_ANY && plan.any_empty)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT,
                           "expected reduction dims to have non-zero size");
  const bool f64 = ddk_ku_math_of(x->dtype) != DDK_KU_MATH_I64;
  sel_finish_ctx f = {y0, y1, kind, f64};
  ddk_red_run(&plan, x, op, f64 ? DDK_KU_MATH_F64 : DDK_KU_MATH_I64, x->dtype, sel_finish, &f);
  return DDK_OK;
}

/* ------------------------------------------------------------------------ */
/* Kernels                                                                  */
/* ------------------------------------------------------------------------ */

ddk_status ddk_kernel_aten_amax(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return sel_run(ctx, node, DDK_RED_MAX, SEL_VALUE, 1, true, 2);
}

ddk_status ddk_kernel_aten_amin(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return sel_run(ctx, node, DDK_RED_MIN, SEL_VALUE, 1, true, 2);
}

ddk_status ddk_kernel_aten_argmax(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return sel_run(ctx, node, DDK_RED_MAX, SEL_INDEX, 1, true, 2);
}

ddk_status ddk_kernel_aten_argmin(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return sel_run(ctx, node, DDK_RED_MIN, SEL_INDEX, 1, true, 2);
}

ddk_status ddk_kernel_aten_max_dim(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return sel_run(ctx, node, DDK_RED_MAX, SEL_BOTH, 1, true, 2);
}

ddk_status ddk_kernel_aten_min_dim(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return sel_run(ctx, node, DDK_RED_MIN, SEL_BOTH, 1, true, 2);
}

ddk_status ddk_kernel_aten_any(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return sel_run(ctx, node, DDK_RED_ANY, SEL_ANY, UINT32_MAX, true, UINT32_MAX);
}

ddk_status ddk_kernel_aten_any_dim(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return sel_run(ctx, node, DDK_RED_ANY, SEL_ANY, 1, true, 2);
}

ddk_status ddk_kernel_aten_any_dims(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return sel_run(ctx, node, DDK_RED_ANY, SEL_ANY, 1, false, 2);
}
