/*
 * op_col2im.c — aten::col2im (fold): sums sliding-window columns back
 * into an image.
 *
 * Semantics (ATen CPU):
 *  - input [N, C * kh * kw, L] or [C * kh * kw, L] with L = bh * bw blocks,
 *    b = (out + 2p - d(k-1) - 1) / s + 1 per dim; the result is
 *    [N, C, oh, ow] (or [C, oh, ow]);
 *  - column c_col = (c * kh + i) * kw + j, block (bh_i, bw_j) lands on
 *    image position (bh_i * s - p + i * d, bw_j * s - p + j * d) when inside
 *    the image, and adds to it. The additions run in ATen's order (c_col,
 *    then block row, then block column) and round to the dtype after each
 *    one, as ATen's scalar_t `+=` does (float16/bfloat16 add in float and
 *    round; bool ORs).
 *
 * Dtypes: float16, bfloat16, float32, float64, bool.
 * Layout: any input strides; the result is written through its strides.
 */
#include "op_pooling_util.h"

ddk_status ddk_kernel_aten_col2im(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  if (node->num_args < 6 || node->num_outputs < 1)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong number of arguments");
  const ddk_tensor* x = ddk_kernel_arg_tensor(ctx, node, 0);
  ddk_tensor* y = ddk_kernel_out(ctx, node, 0);
  ddk_status st = ddk_ku_check_dtype(ctx, node, "self", x, DDK_KU_MASK_FLOATS | DDK_KU_BIT(BOOL));
  if (st != DDK_OK) return st;
  int64_t os[2], k[2], d[2], p[2], s[2];
  st = ddk_ku_arg_int_list(ctx, node, 1, "output_size", 2, NULL, os);
  if (st == DDK_OK) st = ddk_ku_arg_int_list(ctx, node, 2, "kernel_size", 2, NULL, k);
  if (st == DDK_OK) st = ddk_ku_arg_int_list(ctx, node, 3, "dilation", 2, NULL, d);
  if (st == DDK_OK) st = ddk_ku_arg_int_list(ctx, node, 4, "padding", 2, NULL, p);
  if (st == DDK_OK) st = ddk_ku_arg_int_list(ctx, node, 5, "stride", 2, NULL, s);
  if (st != DDK_OK) return st;
  if (x->rank != 2 && x->rank != 3)
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "expected a 2-D or 3-D input");
  const uint32_t lead = x->rank - 2;
  int64_t blocks[2];
  for (int i = 0; i < 2; ++i) {
    if (k[i] <= 0 || d[i] <= 0 || s[i] <= 0 || p[i] < 0)
      return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT,
                             "kernel_size, dilation and stride must be positive, padding "
                             "non-negative");
    blocks[i] = (os[i] + 2 * p[i] - d[i] * (k[i] - 1) - 1) / s[i] + 1;
  }
  const int64_t N = lead ? x->sizes[0] : 1;
  const int64_t CK = x->sizes[lead], L = x->sizes[lead + 1], kk = k[0] * k[1];
  if (CK % kk != 0 || L != blocks[0] * blocks[1] || blocks[0] < 1 || blocks[1] < 1)
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH,
                           "input is [%lld, %lld], which does not match the blocks", (long long)CK,
                           (long long)L);
  const int64_t C = CK / kk;
  int64_t want[4];
  if (lead) want[0] = N;
  want[lead] = C;
  want[lead + 1] = os[0];
  want[lead + 2] = os[1];
  if (y->dtype != x->dtype || !ddk_pu_same_sizes(y, want, x->rank + 1))
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "result dtype or shape is wrong");
  const int64_t xn = lead ? x->strides[0] : 0, xc = x->strides[lead], xl = x->strides[lead + 1];
  const int64_t yn = lead ? y->strides[0] : 0, yc = y->strides[lead];
  const int64_t yh = y->strides[lead + 1], yw = y->strides[lead + 2];
  ddk_pu_zero(y);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t cc = 0; cc < CK; ++cc) {
      const int64_t c = cc / kk, i = (cc / k[1]) % k[0], j = cc % k[1];
      for (int64_t bh = 0; bh < blocks[0]; ++bh) {
        const int64_t h = bh * s[0] - p[0] + i * d[0];
        if (h < 0 || h >= os[0]) continue;
        for (int64_t bw = 0; bw < blocks[1]; ++bw) {
          const int64_t w = bw * s[1] - p[1] + j * d[1];
          if (w < 0 || w >= os[1]) continue;
          const double v =
              ddk_ku_load_f64(x->data, x->dtype, n * xn + cc * xc + (bh * blocks[1] + bw) * xl);
          ddk_pu_add(y->data, y->dtype, n * yn + c * yc + h * yh + w * yw, v);
        }
      }
    }
  return DDK_OK;
}
