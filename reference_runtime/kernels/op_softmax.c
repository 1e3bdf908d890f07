/*
 * op_softmax.c — aten::_softmax, aten::_log_softmax.
 *
 * Semantics (ATen CPU): along `dim` (negative wraps; a 0-d tensor is one
 * row of one element), with m the row max and s = sum(exp(x - m)):
 *   _softmax:     out = exp(x - m) * (1 / s)
 *   _log_softmax: out = (x - m) - log(s)
 * Subtracting the row max keeps exp finite; a NaN anywhere in a row makes
 * the whole row NaN (the max propagates NaN), as does +inf (inf - inf) or a
 * row of only -inf. float16/bfloat16/float32 compute in float (sum in float,
 * as ATen) and round once; float64 in double. Exception, as in ATen: for
 * float16/bfloat16 _log_softmax along the last dim rounds s and log(s) to
 * the storage dtype before the final subtraction (ATen's last-dim kernel
 * keeps them in a scalar_t buffer).
 * half_to_float=True is refused, as ATen's CPU kernels refuse it.
 *
 * Dtypes: float16, bfloat16, float32, float64 (ATen has no integer softmax).
 * Layout: any input strides; the output is written through its strides.
 */
#include "kernel_util.h"

typedef struct softmax_problem {
  const ddk_tensor* x;
  ddk_tensor* y;
  int64_t len, xst, yst; /* row length and strides along dim */
  bool take_log;         /* _log_softmax */
  bool lse_in_storage;   /* round sum and log(sum) to the storage dtype */
} softmax_problem;

static void softmax_row_f32(const softmax_problem* p, int64_t xo, int64_t yo) {
  float xs[DDK_KU_CHUNK], os[DDK_KU_CHUNK];
  const ddk_dtype xdt = p->x->dtype, ydt = p->y->dtype;
  float m = -INFINITY;
  for (int64_t j = 0; j < p->len; j += DDK_KU_CHUNK) {
    const int64_t n = ddk_ku_min(DDK_KU_CHUNK, p->len - j);
    const float* r = ddk_ku_row_f32(xs, p->x->data, xdt, xdt, xo + j * p->xst, p->xst, n);
    for (int64_t i = 0; i < n; ++i)
      if (r[i] > m || r[i] != r[i]) m = r[i];
  }
  float sum = 0.0f;
  for (int64_t j = 0; j < p->len; j += DDK_KU_CHUNK) {
    const int64_t n = ddk_ku_min(DDK_KU_CHUNK, p->len - j);
    const float* r = ddk_ku_row_f32(xs, p->x->data, xdt, xdt, xo + j * p->xst, p->xst, n);
    for (int64_t i = 0; i < n; ++i) sum += expf(r[i] - m);
  }
  if (p->lse_in_storage) sum = ddk_ku_round_f32(sum, ydt);
  const float inv = 1.0f / sum;
  const float lsum = p->lse_in_storage ? ddk_ku_round_f32(logf(sum), ydt) : logf(sum);
  for (int64_t j = 0; j < p->len; j += DDK_KU_CHUNK) {
    const int64_t n = ddk_ku_min(DDK_KU_CHUNK, p->len - j);
    const float* r = ddk_ku_row_f32(xs, p->x->data, xdt, xdt, xo + j * p->xst, p->xst, n);
    float* o = ddk_ku_out_row_f32(os, p->y->data, ydt, yo + j * p->yst, p->yst);
    if (p->take_log) {
      for (int64_t i = 0; i < n; ++i) o[i] = (r[i] - m) - lsum;
    } else {
      for (int64_t i = 0; i < n; ++i) o[i] = expf(r[i] - m) * inv;
    }
    ddk_ku_out_row_commit_f32(o, p->y->data, ydt, yo + j * p->yst, p->yst, n);
  }
}

static void softmax_row_f64(const softmax_problem* p, int64_t xo, int64_t yo) {
  const double* x = (const double*)p->x->data;
  double* y = (double*)p->y->data;
  double m = -INFINITY;
  for (int64_t i = 0; i < p->len; ++i) {
    const double v = x[xo + i * p->xst];
    if (v > m || v != v) m = v;
  }
  double sum = 0.0;
  for (int64_t i = 0; i < p->len; ++i) sum += exp(x[xo + i * p->xst] - m);
  const double inv = 1.0 / sum, lsum = log(sum);
  for (int64_t i = 0; i < p->len; ++i) {
    const double v = x[xo + i * p->xst] - m;
    y[yo + i * p->yst] = p->take_log ? v - lsum : exp(v) * inv;
  }
}

static ddk_status softmax_kernel(ddk_kernel_ctx* ctx, const ddk_node_view* node, bool take_log) {
  if (node->num_args < 3 || node->num_outputs < 1)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong number of arguments");
  const ddk_tensor* x = ddk_kernel_arg_tensor(ctx, node, 0);
  ddk_tensor* y = ddk_kernel_out(ctx, node, 0);
  const ddk_arg* darg = &node->args[1];
  const ddk_arg* harg = &node->args[2];
  if (darg->kind != DDK_ARG_INT || harg->kind != DDK_ARG_BOOL)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT,
                           "dim must be an int and half_to_float a bool");
  ddk_status st = ddk_ku_check_dtype(ctx, node, "self", x, DDK_KU_MASK_FLOATS);
  if (st != DDK_OK) return st;
  if (harg->u.b)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT,
                           "conversion from half to float is not supported on CPU");
  if (y->dtype != x->dtype)
    return ddk_kernel_fail(ctx, node, DDK_DTYPE_MISMATCH, "result must be %s",
                           ddk_dtype_name(x->dtype));
  const int64_t r = x->rank == 0 ? 1 : (int64_t)x->rank;
  int64_t dim = darg->u.i;
  if (dim < -r || dim >= r)
    return ddk_kernel_fail(ctx, node, DDK_OUT_OF_RANGE, "dim %lld out of range for a %u-D tensor",
                           (long long)dim, x->rank);
  if (dim < 0) dim += r;
  if (y->rank != x->rank)
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "result shape differs from self's");
  int64_t sizes[DDK_MAX_RANK] = {0};
  for (uint32_t i = 0; i < x->rank; ++i) {
    if (y->sizes[i] != x->sizes[i])
      return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "result shape differs from self's");
    sizes[i] = x->sizes[i];
  }
  softmax_problem p = {x, y, 1, 0, 0, take_log, false};
  if (x->rank > 0) {
    p.len = x->sizes[dim];
    p.xst = x->strides[dim];
    p.yst = y->strides[dim];
    sizes[dim] = 1; /* walk every row start */
  }
  if (p.len == 0) return DDK_OK;
  /* ATen's last-dim log_softmax keeps the sum and its log in the storage
   * type (float16/bfloat16); its other-dim kernel keeps them in float. */
  p.lse_in_storage = take_log && (x->rank == 0 || dim == (int64_t)x->rank - 1);
  const int64_t* strides[2] = {y->strides, x->strides};
  ddk_ku_loop loop;
  ddk_ku_loop_init_strided(&loop, sizes, x->rank, strides, 2);
  const bool f64 = ddk_ku_math_of(x->dtype) == DDK_KU_MATH_F64;
  const int64_t inner = loop.sizes[loop.rank - 1];
  ddk_ku_cursor c;
  ddk_ku_cursor_init(&c);
  for (int64_t done = 0; done < loop.numel; done += inner) {
    for (int64_t i = 0; i < inner; ++i) {
      const int64_t yo = c.offset[0] + i * loop.strides[0][loop.rank - 1];
      const int64_t xo = c.offset[1] + i * loop.strides[1][loop.rank - 1];
      if (f64)
        softmax_row_f64(&p, xo, yo);
      else
        softmax_row_f32(&p, xo, yo);
    }
    ddk_ku_cursor_next_row(&loop, &c);
  }
  return DDK_OK;
}

ddk_status ddk_kernel_aten_softmax(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return softmax_kernel(ctx, node, false);
}

ddk_status ddk_kernel_aten_log_softmax(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return softmax_kernel(ctx, node, true);
}
