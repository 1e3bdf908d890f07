/*
 * op_pooling.c — aten::max_pool2d_with_indices, aten::avg_pool2d.
 *
 * Semantics (ATen CPU):
 *  - input [N, C, H, W] or [C, H, W]; kernel_size/stride/padding/dilation
 *    lists of one or two values; an empty stride means stride = kernel;
 *  - out = floor_or_ceil((in + 2p - d(k-1) - 1) / s) + 1, and in ceil mode
 *    a last window starting beyond in + p is dropped;
 *  - max pool: a value wins when it is greater than the running max or is
 *    NaN, so NaN propagates and the index of the LAST NaN in the window is
 *    reported; ties keep the first index. Indices are flat (h * W + w) in
 *    the input plane, int64;
 *  - avg pool: sum over the window clipped to the input, divided by
 *    divisor_override, else by the window size clipped to the padded
 *    input (count_include_pad) or to the input. float16/bfloat16/float32
 *    sum in float, float64 in double, int64 in int64 with truncating
 *    division (ATen's integer avg_pool2d).
 *
 * Dtypes: max pool: uint8, int8, int16, int32, int64, float16, bfloat16,
 * float32, float64. avg pool: int64, float16, bfloat16, float32, float64.
 * Layout: any input strides (channels-last is read in place); outputs are
 * written through their strides.
 */
#include "kernel_util.h"

typedef struct pool_problem {
  int64_t N, C, H, W, OH, OW;
  int64_t k[2], s[2], p[2], d[2];
  bool ceil_mode;
  int64_t xs[4], ys[4], is[4]; /* strides of input, output, indices */
} pool_problem;

static int64_t pool_out_size(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d,
                             bool ceil_mode) {
  int64_t num = in + 2 * p - d * (k - 1) - 1 + (ceil_mode ? s - 1 : 0);
  int64_t out = ddk_ku_floor_div(num, s) + 1;
  if (ceil_mode && (out - 1) * s >= in + p) --out;
  return out;
}

/* Parses the shared arguments and checks them against input and output. */
static ddk_status pool_setup(ddk_kernel_ctx* ctx, const ddk_node_view* node, const ddk_tensor* x,
                             const ddk_tensor* y, bool has_dilation, pool_problem* p) {
  memset(p, 0, sizeof *p);
  if (x->rank != 3 && x->rank != 4)
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "expected a 3-D or 4-D input");
  const uint32_t lead = x->rank - 3; /* 1 when batched */
  int64_t zero[2] = {0, 0}, one[2] = {1, 1};
  ddk_status st = ddk_ku_arg_int_list(ctx, node, 1, "kernel_size", 2, NULL, p->k);
  if (st == DDK_OK) st = ddk_ku_arg_int_list(ctx, node, 2, "stride", 2, p->k, p->s);
  if (st == DDK_OK) st = ddk_ku_arg_int_list(ctx, node, 3, "padding", 2, zero, p->p);
  if (st == DDK_OK && has_dilation)
    st = ddk_ku_arg_int_list(ctx, node, 4, "dilation", 2, one, p->d);
  if (st != DDK_OK) return st;
  if (!has_dilation) p->d[0] = p->d[1] = 1;
  const ddk_arg* cm = &node->args[has_dilation ? 5 : 4];
  if (cm->kind != DDK_ARG_BOOL)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "ceil_mode must be a bool");
  p->ceil_mode = cm->u.b;
  p->N = lead ? x->sizes[0] : 1;
  p->C = x->sizes[lead];
  p->H = x->sizes[lead + 1];
  p->W = x->sizes[lead + 2];
  for (int i = 0; i < 2; ++i)
    if (p->k[i] <= 0 || p->s[i] <= 0 || p->d[i] <= 0 || p->p[i] < 0 || p->p[i] > p->k[i] / 2)
      return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT,
                             "kernel_size, stride, dilation must be positive and "
                             "0 <= padding <= kernel_size / 2");
  p->OH = pool_out_size(p->H, p->k[0], p->s[0], p->p[0], p->d[0], p->ceil_mode);
  p->OW = pool_out_size(p->W, p->k[1], p->s[1], p->p[1], p->d[1], p->ceil_mode);
  if (y->rank != x->rank || (lead && y->sizes[0] != p->N) || y->sizes[lead] != p->C ||
      y->sizes[lead + 1] != p->OH || y->sizes[lead + 2] != p->OW || p->OH < 1 || p->OW < 1)
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "result shape does not match the pool");
  for (uint32_t i = 0; i < 3; ++i) {
    p->xs[1 + i] = x->strides[lead + i];
    p->ys[1 + i] = y->strides[lead + i];
  }
  p->xs[0] = lead ? x->strides[0] : 0;
  p->ys[0] = lead ? y->strides[0] : 0;
  return DDK_OK;
}

static int64_t int_lowest(ddk_dtype dt) {
  switch (dt) {
    case DDK_DTYPE_UINT8:
      return 0;
    case DDK_DTYPE_INT8:
      return INT8_MIN;
    case DDK_DTYPE_INT16:
      return INT16_MIN;
    case DDK_DTYPE_INT32:
      return INT32_MIN;
    default:
      return INT64_MIN;
  }
}

ddk_status ddk_kernel_aten_max_pool2d_with_indices(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  if (node->num_args < 6 || node->num_outputs < 2)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong number of arguments");
  const ddk_tensor* x = ddk_kernel_arg_tensor(ctx, node, 0);
  ddk_tensor* y = ddk_kernel_out(ctx, node, 0);
  ddk_tensor* ind = ddk_kernel_out(ctx, node, 1);
  ddk_status st = ddk_ku_check_dtype(ctx, node, "self", x, DDK_KU_MASK_INTS | DDK_KU_MASK_FLOATS);
  if (st != DDK_OK) return st;
  if (y->dtype != x->dtype || ind->dtype != DDK_DTYPE_INT64)
    return ddk_kernel_fail(ctx, node, DDK_DTYPE_MISMATCH,
                           "results must be %s values and int64 indices", ddk_dtype_name(x->dtype));
  pool_problem p;
  st = pool_setup(ctx, node, x, y, true, &p);
  if (st != DDK_OK) return st;
  if (ind->rank != y->rank)
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "indices shape differs from result");
  for (uint32_t i = 0; i < ind->rank; ++i)
    if (ind->sizes[i] != y->sizes[i])
      return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "indices shape differs from result");
  const uint32_t lead = x->rank - 3;
  int64_t is[4] = {lead ? ind->strides[0] : 0, ind->strides[lead], ind->strides[lead + 1],
                   ind->strides[lead + 2]};
  const bool is_float = ddk_ku_math_of(x->dtype) != DDK_KU_MATH_I64;
  int64_t* out_idx = (int64_t*)ind->data;
  for (int64_t n = 0; n < p.N; ++n)
    for (int64_t c = 0; c < p.C; ++c) {
      const int64_t xb = n * p.xs[0] + c * p.xs[1];
      for (int64_t oh = 0; oh < p.OH; ++oh)
        for (int64_t ow = 0; ow < p.OW; ++ow) {
          int64_t ih0 = oh * p.s[0] - p.p[0], iw0 = ow * p.s[1] - p.p[1];
          const int64_t ih1 = ddk_ku_min(ih0 + (p.k[0] - 1) * p.d[0] + 1, p.H);
          const int64_t iw1 = ddk_ku_min(iw0 + (p.k[1] - 1) * p.d[1] + 1, p.W);
          while (ih0 < 0) ih0 += p.d[0];
          while (iw0 < 0) iw0 += p.d[1];
          int64_t best = ih0 * p.W + iw0;
          double fmax = -INFINITY;
          int64_t imax = int_lowest(x->dtype);
          for (int64_t ih = ih0; ih < ih1; ih += p.d[0])
            for (int64_t iw = iw0; iw < iw1; iw += p.d[1]) {
              const int64_t off = xb + ih * p.xs[2] + iw * p.xs[3];
              if (is_float) {
                double v = ddk_ku_load_f64(x->data, x->dtype, off);
                if (v > fmax || v != v) {
                  fmax = v;
                  best = ih * p.W + iw;
                }
              } else {
                int64_t v = ddk_ku_load_i64(x->data, x->dtype, off);
                if (v > imax) {
                  imax = v;
                  best = ih * p.W + iw;
                }
              }
            }
          const int64_t yo = n * p.ys[0] + c * p.ys[1] + oh * p.ys[2] + ow * p.ys[3];
          if (is_float)
            ddk_ku_store_f64(y->data, y->dtype, yo, fmax);
          else
            ddk_ku_store_i64(y->data, y->dtype, yo, imax);
          out_idx[n * is[0] + c * is[1] + oh * is[2] + ow * is[3]] = best;
        }
    }
  return DDK_OK;
}

ddk_status ddk_kernel_aten_avg_pool2d(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  if (node->num_args < 7 || node->num_outputs < 1)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong number of arguments");
  const ddk_tensor* x = ddk_kernel_arg_tensor(ctx, node, 0);
  ddk_tensor* y = ddk_kernel_out(ctx, node, 0);
  ddk_status st = ddk_ku_check_dtype(ctx, node, "self", x, DDK_KU_MASK_FLOATS | DDK_KU_BIT(INT64));
  if (st != DDK_OK) return st;
  if (y->dtype != x->dtype)
    return ddk_kernel_fail(ctx, node, DDK_DTYPE_MISMATCH, "result dtype must be %s",
                           ddk_dtype_name(x->dtype));
  pool_problem p;
  st = pool_setup(ctx, node, x, y, false, &p);
  if (st != DDK_OK) return st;
  const ddk_arg* cip = &node->args[5];
  const ddk_arg* dov = &node->args[6];
  if (cip->kind != DDK_ARG_BOOL || (dov->kind != DDK_ARG_NONE && dov->kind != DDK_ARG_INT))
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT,
                           "count_include_pad must be a bool, divisor_override an int or None");
  if (dov->kind == DDK_ARG_INT && dov->u.i == 0)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "divisor_override must not be zero");
  const ddk_ku_math math = ddk_ku_math_of(x->dtype);
  for (int64_t n = 0; n < p.N; ++n)
    for (int64_t c = 0; c < p.C; ++c) {
      const int64_t xb = n * p.xs[0] + c * p.xs[1];
      for (int64_t oh = 0; oh < p.OH; ++oh)
        for (int64_t ow = 0; ow < p.OW; ++ow) {
          int64_t ih0 = oh * p.s[0] - p.p[0], iw0 = ow * p.s[1] - p.p[1];
          int64_t ih1 = ddk_ku_min(ih0 + p.k[0], p.H + p.p[0]);
          int64_t iw1 = ddk_ku_min(iw0 + p.k[1], p.W + p.p[1]);
          const int64_t pool_size = (ih1 - ih0) * (iw1 - iw0);
          ih0 = ddk_ku_max(ih0, 0);
          iw0 = ddk_ku_max(iw0, 0);
          ih1 = ddk_ku_min(ih1, p.H);
          iw1 = ddk_ku_min(iw1, p.W);
          int64_t div = dov->kind == DDK_ARG_INT ? dov->u.i
                        : cip->u.b               ? pool_size
                                                 : (ih1 - ih0) * (iw1 - iw0);
          const bool empty = ih0 >= ih1 || iw0 >= iw1;
          const int64_t yo = n * p.ys[0] + c * p.ys[1] + oh * p.ys[2] + ow * p.ys[3];
          if (math == DDK_KU_MATH_F32) {
            float sum = 0.0f;
            for (int64_t ih = ih0; ih < ih1; ++ih)
              for (int64_t iw = iw0; iw < iw1; ++iw)
                sum += ddk_ku_load_f32(x->data, x->dtype, xb + ih * p.xs[2] + iw * p.xs[3]);
            ddk_ku_store_f32(y->data, y->dtype, yo, empty ? 0.0f : sum / (float)div);
          } else if (math == DDK_KU_MATH_F64) {
            double sum = 0.0;
            for (int64_t ih = ih0; ih < ih1; ++ih)
              for (int64_t iw = iw0; iw < iw1; ++iw)
                sum += ((const double*)x->data)[xb + ih * p.xs[2] + iw * p.xs[3]];
            ((double*)y->data)[yo] = empty ? 0.0 : sum / (double)div;
          } else {
            int64_t sum = 0;
            for (int64_t ih = ih0; ih < ih1; ++ih)
              for (int64_t iw = iw0; iw < iw1; ++iw)
                sum = ddk_ku_wrap_add(sum,
                                      ((const int64_t*)x->data)[xb + ih * p.xs[2] + iw * p.xs[3]]);
            int64_t r = empty ? 0 : (div == -1 ? ddk_ku_wrap_mul(sum, -1) : sum / div);
            ((int64_t*)y->data)[yo] = r;
          }
        }
    }
  return DDK_OK;
}
