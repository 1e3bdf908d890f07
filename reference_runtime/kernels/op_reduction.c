/*
 * op_reduction.c — accumulating reductions: aten::sum.dim_IntList,
 * aten::mean, aten::mean.dim, aten::prod, aten::prod.dim_int,
 * aten::var.correction, aten::var.dim.
 *
 * Semantics (ATen CPU):
 *  - dims: negative dims wrap, 0-d inputs accept 0 and -1; None (and for
 *    sum/mean/var an empty list) reduces every dim; keepdim keeps reduced
 *    dims as size 1. Repeated dims are refused.
 *  - result dtype: `dtype` when given, else the input's; sum and prod turn
 *    bool and integer inputs into int64. mean needs a floating result
 *    dtype, var a floating input. The input is cast to the result dtype
 *    before reducing, as ATen (a float input summed with dtype=bool is
 *    true when any element is nonzero).
 *  - integers wrap (int64 arithmetic stored into the result dtype, which
 *    is ATen's modular result); bool sum is "any", bool prod is "all".
 *  - empty reductions: sum 0, prod 1, mean NaN, var NaN.
 *  - var: sum of squared deviations from the mean divided by
 *    max(0, N - correction) (var.dim: correction 1 when unbiased, else 0),
 *    so N <= correction gives inf (or NaN when every deviation is 0).
 *
 * Accuracy: floats are accumulated in double with Neumaier compensation
 * (var: two passes, mean then squared deviations), then rounded once;
 * mean of float16/bfloat16/float32 rounds the sum to float and divides in
 * float, as ATen does. ATen's own summation order and float accumulators
 * differ by a few ULP of the sum; the golden tolerance is accumulate-class.
 *
 * Layout: any input strides; the driver (op_reduction_util.c) streams
 * along whichever of the kept / reduced dims is faster in memory.
 */
#include "op_reduction_util.h"

typedef enum red_kind { RED_SUM, RED_MEAN, RED_PROD, RED_VAR } red_kind;

typedef struct red_finish_ctx {
  ddk_tensor* y;
  red_kind kind;
  int64_t count;
  double correction; /* var */
} red_finish_ctx;

static void red_finish(void* user, const ddk_red_acc* acc, int64_t n, const int64_t* off,
                       const int64_t* stride) {
  const red_finish_ctx* f = (const red_finish_ctx*)user;
  ddk_tensor* y = f->y;
  const bool f64 = y->dtype == DDK_DTYPE_FLOAT64;
  if (ddk_ku_math_of(y->dtype) == DDK_KU_MATH_I64) {
    for (int64_t k = 0; k < n; ++k)
      ddk_ku_store_i64(y->data, y->dtype, off[0] + k * stride[0], acc->i[0][k]);
    return;
  }
  for (int64_t k = 0; k < n; ++k) {
    const int64_t o = off[0] + k * stride[0];
    double v = f->kind == RED_PROD ? acc->f[0][k] : acc->f[0][k] + acc->f[1][k];
    if (f->kind == RED_MEAN) {
      if (!f64) {
        ddk_ku_store_f32(y->data, y->dtype, o, (float)v / (float)f->count);
        continue;
      }
      v /= (double)f->count;
    } else if (f->kind == RED_VAR) {
      const double dof = (double)f->count - f->correction;
      v = f->count == 0 ? NAN : v / (dof > 0.0 ? dof : 0.0);
    }
    ddk_ku_store_f64(y->data, y->dtype, o, v);
  }
}

/* Reduces x over reduce[] into output 0 of node. `want`: the result dtype. */
static ddk_status red_accumulate(ddk_kernel_ctx* ctx, const ddk_node_view* node, red_kind kind,
                                 const bool* reduce, bool keepdim, ddk_dtype want,
                                 double correction) {
  const ddk_tensor* x = ddk_kernel_arg_tensor(ctx, node, 0);
  ddk_tensor* y = ddk_kernel_out(ctx, node, 0);
  ddk_status st = ddk_ku_check_dtype(ctx, node, "self", x, DDK_KU_MASK_REAL);
  if (st == DDK_OK) st = ddk_ku_check_dtype(ctx, node, "the result", y, DDK_KU_MASK_REAL);
  if (st != DDK_OK) return st;
  if (y->dtype != want)
    return ddk_kernel_fail(ctx, node, DDK_DTYPE_MISMATCH, "result dtype must be %s",
                           ddk_dtype_name(want));
  if ((kind == RED_MEAN || kind == RED_VAR) && ddk_ku_math_of(y->dtype) == DDK_KU_MATH_I64)
    return ddk_kernel_fail(ctx, node, DDK_UNSUPPORTED_DTYPE,
                           "needs a floating result dtype, got %s", ddk_dtype_name(y->dtype));
  ddk_red_plan plan;
  st = ddk_red_plan_init(ctx, node, &plan, x, reduce, keepdim, y, NULL);
  if (st != DDK_OK) return st;
  red_finish_ctx f = {y, kind, plan.count, correction};
  const ddk_ku_math math =
      ddk_ku_math_of(y->dtype) == DDK_KU_MATH_I64 ? DDK_KU_MATH_I64 : DDK_KU_MATH_F64;
  const ddk_red_op op = kind == RED_PROD  ? DDK_RED_PROD
                        : kind == RED_VAR ? DDK_RED_VAR
                                          : DDK_RED_SUM;
  ddk_red_run(&plan, x, op, math, y->dtype, red_finish, &f);
  return DDK_OK;
}

/* Reads bool argument `index`. */
static ddk_status red_arg_bool(ddk_kernel_ctx* ctx, const ddk_node_view* node, uint32_t index,
                               const char* name, bool* out) {
  if (index >= node->num_args || node->args[index].kind != DDK_ARG_BOOL)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "argument '%s' must be a bool", name);
  *out = node->args[index].u.b;
  return DDK_OK;
}

/* sum / mean / prod with (self, dim, keepdim, dtype) or (self, dtype) (dim_arg 0). */
static ddk_status red_simple(ddk_kernel_ctx* ctx, const ddk_node_view* node, red_kind kind,
                             uint32_t dim_arg, uint32_t keep_arg, uint32_t dtype_arg) {
  if (node->num_args <= dtype_arg || node->num_outputs < 1)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong number of arguments");
  const ddk_tensor* x = ddk_kernel_arg_tensor(ctx, node, 0);
  bool reduce[DDK_MAX_RANK];
  bool keepdim = false;
  ddk_dtype want = DDK_DTYPE_INVALID;
  ddk_status st = DDK_OK;
  if (dim_arg != 0) {
    st = ddk_red_dims(ctx, node, x, dim_arg, true, reduce);
    if (st == DDK_OK) st = red_arg_bool(ctx, node, keep_arg, "keepdim", &keepdim);
  } else {
    for (uint32_t i = 0; i < DDK_MAX_RANK; ++i) reduce[i] = i < x->rank;
  }
  if (st == DDK_OK) st = ddk_red_arg_dtype(ctx, node, dtype_arg, &want);
  if (st != DDK_OK) return st;
  if (want == DDK_DTYPE_INVALID) want = kind == RED_MEAN ? x->dtype : ddk_red_sum_dtype(x->dtype);
  return red_accumulate(ctx, node, kind, reduce, keepdim, want, 0.0);
}

/* var.correction (self, dim, correction, keepdim) / var.dim (self, dim, unbiased, keepdim). */
static ddk_status red_var(ddk_kernel_ctx* ctx, const ddk_node_view* node, bool by_correction) {
  if (node->num_args < 4 || node->num_outputs < 1)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong number of arguments");
  const ddk_tensor* x = ddk_kernel_arg_tensor(ctx, node, 0);
  bool reduce[DDK_MAX_RANK];
  bool keepdim = false;
  double correction = 1.0;
  ddk_status st = ddk_red_dims(ctx, node, x, 1, true, reduce);
  if (st == DDK_OK) st = red_arg_bool(ctx, node, 3, "keepdim", &keepdim);
  if (st != DDK_OK) return st;
  if (by_correction) {
    if (node->args[2].kind != DDK_ARG_NONE) {
      ddk_ku_scalar s;
      st = ddk_ku_arg_scalar(ctx, node, 2, "correction", &s);
      if (st != DDK_OK) return st;
      correction = ddk_ku_scalar_f64(&s);
    }
  } else {
    bool unbiased = true;
    st = red_arg_bool(ctx, node, 2, "unbiased", &unbiased);
    if (st != DDK_OK) return st;
    correction = unbiased ? 1.0 : 0.0;
  }
  if (ddk_ku_math_of(x->dtype) == DDK_KU_MATH_I64)
    return ddk_kernel_fail(ctx, node, DDK_UNSUPPORTED_DTYPE,
                           "var only supports floating point dtypes, got %s",
                           ddk_dtype_name(x->dtype));
  return red_accumulate(ctx, node, RED_VAR, reduce, keepdim, x->dtype, correction);
}

/* ------------------------------------------------------------------------ */
/* Kernels                                                                  */
/* ------------------------------------------------------------------------ */

ddk_status ddk_kernel_aten_sum_dim_intlist(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return red_simple(ctx, node, RED_SUM, 1, 2, 3);
}

ddk_status ddk_kernel_aten_mean(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return red_simple(ctx, node, RED_MEAN, 0, 0, 1);
}

ddk_status ddk_kernel_aten_mean_dim(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return red_simple(ctx, node, RED_MEAN, 1, 2, 3);
}

ddk_status ddk_kernel_aten_prod(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return red_simple(ctx, node, RED_PROD, 0, 0, 1);
}

ddk_status ddk_kernel_aten_prod_dim_int(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return red_simple(ctx, node, RED_PROD, 1, 2, 3);
}

ddk_status ddk_kernel_aten_var_correction(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return red_var(ctx, node, true);
}

ddk_status ddk_kernel_aten_var_dim(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return red_var(ctx, node, false);
}
