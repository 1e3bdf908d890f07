/*
 * op_reduction.c — aten::mean.dim.
 *
 * Semantics (ATen CPU): mean over the dims listed in `dim` (negative dims
 * wrap; None or [] means every dim), keeping them as size 1 when keepdim.
 * The input is first cast to the result dtype (`dtype` when given, else
 * the input's, which must then be floating). The sum is rounded to float
 * (float16/bfloat16/float32 results) and divided by the element count in
 * float, then rounded to the result dtype — ATen's CPU mean does exactly
 * cast -> sum -> div -> cast for float16/bfloat16. float64 divides in double.
 * An empty reduction gives NaN (0 / 0).
 *
 * Accuracy: the sum is accumulated in double with Neumaier compensation, so
 * it is at least as accurate as ATen's cascade sum; results can differ from
 * ATen's by the rounding of ATen's own summation (a few ULP of the sum).
 *
 * Dtypes: result float16, bfloat16, float32, float64; input any real dtype
 * (bool and integers only with an explicit floating `dtype`, as ATen).
 * Layout: any input strides; the output is written through its strides.
 */
#include "kernel_util.h"

ddk_status ddk_kernel_aten_mean_dim(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  if (node->num_args < 4 || node->num_outputs < 1)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong number of arguments");
  const ddk_tensor* x = ddk_kernel_arg_tensor(ctx, node, 0);
  ddk_tensor* y = ddk_kernel_out(ctx, node, 0);
  const ddk_arg* darg = &node->args[1];
  const ddk_arg* karg = &node->args[2];
  const ddk_arg* targ = &node->args[3];
  if ((darg->kind != DDK_ARG_NONE && darg->kind != DDK_ARG_INT_LIST) ||
      karg->kind != DDK_ARG_BOOL || (targ->kind != DDK_ARG_NONE && targ->kind != DDK_ARG_DTYPE))
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT,
                           "expected dim: int[]?, keepdim: bool, dtype: ScalarType?");
  ddk_status st = ddk_ku_check_dtype(ctx, node, "self", x, DDK_KU_MASK_REAL);
  if (st == DDK_OK) st = ddk_ku_check_dtype(ctx, node, "the result", y, DDK_KU_MASK_FLOATS);
  if (st != DDK_OK) return st;
  const ddk_dtype want = targ->kind == DDK_ARG_DTYPE ? (ddk_dtype)targ->u.i : x->dtype;
  if (y->dtype != want)
    return ddk_kernel_fail(ctx, node, DDK_DTYPE_MISMATCH, "result dtype must be %s",
                           ddk_dtype_name(want));

  bool reduce[DDK_MAX_RANK] = {false};
  const int64_t r = x->rank == 0 ? 1 : (int64_t)x->rank;
  if (darg->kind == DDK_ARG_NONE || darg->count == 0) {
    for (uint32_t i = 0; i < x->rank; ++i) reduce[i] = true;
  } else {
    for (uint32_t i = 0; i < darg->count; ++i) {
      int64_t d = darg->u.ints[i];
      if (d < -r || d >= r)
        return ddk_kernel_fail(ctx, node, DDK_OUT_OF_RANGE, "dim %lld out of range", (long long)d);
      if (d < 0) d += r;
      if (x->rank == 0) continue;
      if (reduce[d])
        return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "dim %lld appears more than once",
                               (long long)d);
      reduce[d] = true;
    }
  }
  /* Split dims into kept (with output strides) and reduced. */
  int64_t ks[DDK_MAX_RANK] = {0}, kxs[DDK_MAX_RANK] = {0}, kys[DDK_MAX_RANK] = {0};
  int64_t rs[DDK_MAX_RANK] = {0}, rxs[DDK_MAX_RANK] = {0};
  uint32_t nk = 0, nr = 0, yd = 0;
  int64_t count = 1;
  for (uint32_t i = 0; i < x->rank; ++i) {
    if (reduce[i]) {
      rs[nr] = x->sizes[i];
      rxs[nr++] = x->strides[i];
      count *= x->sizes[i];
      if (karg->u.b) {
        if (yd >= y->rank || y->sizes[yd] != 1) {
          yd = UINT32_MAX;
          break;
        }
        ++yd;
      }
      continue;
    }
    if (yd >= y->rank || y->sizes[yd] != x->sizes[i]) {
      yd = UINT32_MAX;
      break;
    }
    ks[nk] = x->sizes[i];
    kxs[nk] = x->strides[i];
    kys[nk++] = y->strides[yd++];
  }
  if (yd != y->rank)
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH,
                           "result shape does not match the reduction");

  const int64_t* kst[2] = {kys, kxs};
  const int64_t* rst[1] = {rxs};
  ddk_ku_loop kl, rl;
  ddk_ku_loop_init_strided(&kl, ks, nk, kst, 2);
  ddk_ku_loop_init_strided(&rl, rs, nr, rst, 1);
  if (kl.numel == 0) return DDK_OK;
  const int64_t kin = kl.sizes[kl.rank - 1], rin = rl.sizes[rl.rank - 1];
  const int64_t rstep = rl.strides[0][rl.rank - 1];
  double scratch[DDK_KU_CHUNK];
  ddk_ku_cursor kc;
  ddk_ku_cursor_init(&kc);
  for (int64_t kdone = 0; kdone < kl.numel; kdone += kin) {
    for (int64_t k = 0; k < kin; ++k) {
      const int64_t yo = kc.offset[0] + k * kl.strides[0][kl.rank - 1];
      const int64_t xo = kc.offset[1] + k * kl.strides[1][kl.rank - 1];
      double sum = 0.0, comp = 0.0; /* Neumaier compensated sum */
      ddk_ku_cursor rc;
      ddk_ku_cursor_init(&rc);
      for (int64_t rdone = 0; rdone < rl.numel; rdone += rin) {
        for (int64_t j = 0; j < rin; j += DDK_KU_CHUNK) {
          const int64_t n = ddk_ku_min(DDK_KU_CHUNK, rin - j);
          const double* v = ddk_ku_row_f64(scratch, x->data, x->dtype, y->dtype,
                                           xo + rc.offset[0] + j * rstep, rstep, n);
          for (int64_t i = 0; i < n; ++i) {
            const double t = sum + v[i];
            if (!isfinite(t)) {
              sum = t; /* inf/NaN: compensation no longer meaningful */
              continue;
            }
            if (fabs(sum) >= fabs(v[i]))
              comp += (sum - t) + v[i];
            else
              comp += (v[i] - t) + sum;
            sum = t;
          }
        }
        ddk_ku_cursor_next_row(&rl, &rc);
      }
      sum += comp;
      if (y->dtype == DDK_DTYPE_FLOAT64)
        ddk_ku_store_f64(y->data, y->dtype, yo, sum / (double)count);
      else
        ddk_ku_store_f32(y->data, y->dtype, yo, (float)sum / (float)count);
    }
    ddk_ku_cursor_next_row(&kl, &kc);
  }
  return DDK_OK;
}
