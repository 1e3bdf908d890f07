/*
 * op_pooling_adaptive.c — aten::adaptive_avg_pool1d,
 * aten::_adaptive_avg_pool2d, aten::_adaptive_avg_pool3d,
 * aten::_adaptive_avg_pool2d_backward.
 *
 * Semantics (ATen CPU):
 *  - input [N, C, *spatial] or [C, *spatial], non-batch dims non-zero;
 *    output index o of a dim of input size I and output size O averages
 *    the input range [floor(o * I / O), ceil((o + 1) * I / O));
 *  - forward: the window sum in float (float16/bfloat16/float32) or
 *    double (float64), divided by each window extent in turn
 *    (sum / kh / kw, as ATen), rounded once to the dtype; the 3-d op sums
 *    and divides in the dtype itself (ATen's 3-d kernel keeps a scalar_t
 *    sum: float16/bfloat16 round after every addition and division);
 *  - backward: delta = grad_output / kh / kw, computed in the dtype as
 *    ATen's scalar_t arithmetic does (float16/bfloat16 round after each
 *    division), added to every input of the window, rounding after each
 *    addition; output positions run row-major as in ATen.
 *
 * Dtypes: float16, bfloat16, float32, float64.
 * Layout: any input strides; outputs are written through their strides.
 */
#include "op_pooling_util.h"

static int64_t window_start(int64_t o, int64_t out, int64_t in) {
  return (o * in) / out;
}
static int64_t window_end(int64_t o, int64_t out, int64_t in) {
  return ((o + 1) * in + out - 1) / out;
}

/* Checks x (S spatial dims) and y (forward output or grad_output): same
 * dtype and leading dims. Fills {N, C, D, H, W} of both. */
static ddk_status adaptive_setup(ddk_kernel_ctx* ctx, const ddk_node_view* node, uint32_t S,
                                 const ddk_tensor* x, const ddk_tensor* y, int64_t xz[5],
                                 int64_t yz[5]) {
  ddk_status st = ddk_ku_check_dtype(ctx, node, "self", x, DDK_KU_MASK_FLOATS);
  if (st != DDK_OK) return st;
  if (y->dtype != x->dtype)
    return ddk_kernel_fail(ctx, node, DDK_DTYPE_MISMATCH, "dtypes must match (%s vs %s)",
                           ddk_dtype_name(x->dtype), ddk_dtype_name(y->dtype));
  if ((x->rank != S + 1 && x->rank != S + 2) || y->rank != x->rank)
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "expected %u-D or %u-D tensors", S + 1,
                           S + 2);
  ddk_pu_sizes5(x, S, xz);
  ddk_pu_sizes5(y, S, yz);
  if (xz[0] != yz[0] || xz[1] != yz[1])
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "batch or channel sizes differ");
  for (int i = 2; i < 5; ++i)
    if (xz[i] <= 0 && xz[0] * xz[1] > 0)
      return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "input has an empty spatial dim");
  return DDK_OK;
}

static ddk_status adaptive_forward(ddk_kernel_ctx* ctx, const ddk_node_view* node, uint32_t S) {
  if (node->num_args < 2 || node->num_outputs < 1)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong number of arguments");
  const ddk_tensor* x = ddk_kernel_arg_tensor(ctx, node, 0);
  ddk_tensor* y = ddk_kernel_out(ctx, node, 0);
  int64_t xz[5], yz[5], xs[5], ys[5];
  ddk_status st = adaptive_setup(ctx, node, S, x, y, xz, yz);
  if (st != DDK_OK) return st;
  ddk_pu_strides5(x, S, xs);
  ddk_pu_strides5(y, S, ys);
  const ddk_dtype dt = x->dtype;
  const bool f64 = dt == DDK_DTYPE_FLOAT64;
  int64_t o[3], lo[3], hi[3];
  for (int64_t n = 0; n < xz[0]; ++n)
    for (int64_t c = 0; c < xz[1]; ++c)
      for (o[0] = 0; o[0] < yz[2]; ++o[0])
        for (o[1] = 0; o[1] < yz[3]; ++o[1])
          for (o[2] = 0; o[2] < yz[4]; ++o[2]) {
            for (int i = 0; i < 3; ++i) {
              lo[i] = window_start(o[i], yz[2 + i], xz[2 + i]);
              hi[i] = window_end(o[i], yz[2 + i], xz[2 + i]);
            }
            float sf = 0.0f;
            double sd = 0.0;
            for (int64_t a = lo[0]; a < hi[0]; ++a)
              for (int64_t b = lo[1]; b < hi[1]; ++b)
                for (int64_t e = lo[2]; e < hi[2]; ++e) {
                  const int64_t off = n * xs[0] + c * xs[1] + a * xs[2] + b * xs[3] + e * xs[4];
                  if (f64)
                    sd += ((const double*)x->data)[off];
                  else if (S == 3) /* ATen's 3-d kernel sums in the dtype */
                    sf = ddk_ku_round_f32(sf + ddk_ku_load_f32(x->data, dt, off), dt);
                  else
                    sf += ddk_ku_load_f32(x->data, dt, off);
                }
            const int64_t yo = n * ys[0] + c * ys[1] + o[0] * ys[2] + o[1] * ys[3] + o[2] * ys[4];
            if (f64) {
              for (int i = 3 - (int)S; i < 3; ++i) sd /= (double)(hi[i] - lo[i]);
              ((double*)y->data)[yo] = sd;
            } else {
              for (int i = 3 - (int)S; i < 3; ++i)
                sf = S == 3 ? ddk_ku_round_f32(sf / (float)(hi[i] - lo[i]), dt)
                            : sf / (float)(hi[i] - lo[i]);
              ddk_ku_store_f32(y->data, dt, yo, sf);
            }
          }
  return DDK_OK;
}

ddk_status ddk_kernel_aten_adaptive_avg_pool1d(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return adaptive_forward(ctx, node, 1);
}

ddk_status ddk_kernel_aten_adaptive_avg_pool2d(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return adaptive_forward(ctx, node, 2);
}

ddk_status ddk_kernel_aten_adaptive_avg_pool3d(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return adaptive_forward(ctx, node, 3);
}

ddk_status ddk_kernel_aten_adaptive_avg_pool2d_backward(ddk_kernel_ctx* ctx,
                                                        const ddk_node_view* node) {
  if (node->num_args < 2 || node->num_outputs < 1)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong number of arguments");
  const ddk_tensor* go = ddk_kernel_arg_tensor(ctx, node, 0);
  const ddk_tensor* x = ddk_kernel_arg_tensor(ctx, node, 1);
  ddk_tensor* gi = ddk_kernel_out(ctx, node, 0);
  int64_t xz[5], gz[5], gs[5], is[5];
  ddk_status st = adaptive_setup(ctx, node, 2, x, go, xz, gz);
  if (st != DDK_OK) return st;
  if (gi->dtype != x->dtype || !ddk_pu_same_sizes(gi, x->sizes, x->rank))
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH,
                           "result must have self's dtype and shape");
  ddk_pu_strides5(go, 2, gs);
  ddk_pu_strides5(gi, 2, is);
  ddk_pu_zero(gi);
  const ddk_dtype dt = x->dtype;
  for (int64_t n = 0; n < xz[0]; ++n)
    for (int64_t c = 0; c < xz[1]; ++c)
      for (int64_t oh = 0; oh < gz[3]; ++oh)
        for (int64_t ow = 0; ow < gz[4]; ++ow) {
          const int64_t h0 = window_start(oh, gz[3], xz[3]), h1 = window_end(oh, gz[3], xz[3]);
          const int64_t w0 = window_start(ow, gz[4], xz[4]), w1 = window_end(ow, gz[4], xz[4]);
          const int64_t goff = n * gs[0] + c * gs[1] + oh * gs[3] + ow * gs[4];
          double delta;
          if (dt == DDK_DTYPE_FLOAT64) {
            delta = ((const double*)go->data)[goff] / (double)(h1 - h0) / (double)(w1 - w0);
          } else {
            float d = ddk_ku_round_f32(ddk_ku_load_f32(go->data, dt, goff) / (float)(h1 - h0), dt);
            delta = ddk_ku_round_f32(d / (float)(w1 - w0), dt);
          }
          for (int64_t ih = h0; ih < h1; ++ih)
            for (int64_t iw = w0; iw < w1; ++iw)
              ddk_pu_add(gi->data, dt, n * is[0] + c * is[1] + ih * is[3] + iw * is[4], delta);
        }
  return DDK_OK;
}
