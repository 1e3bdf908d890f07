/*
 * op_reduction_cumsum.c — aten::cumsum.
 *
 * Semantics (ATen CPU): running sum along `dim` (negative dims wrap; a 0-d
 * input accepts 0 and -1 and is copied). The result dtype is `dtype` when
 * given, else int64 for bool and integer inputs, else the input's; the
 * input is cast to it first. A bool result dtype is refused (ATen has no
 * bool cumsum). Integers wrap.
 *
 * Accumulation follows ATen's CPU loop exactly: sequential, in double for
 * float32/float64 results and in float for float16/bfloat16 results
 * (ATen's acc_type), each partial sum rounded to the result dtype as it is
 * stored.
 *
 * Layout: any strides. When the scanned dim is not the fastest-moving,
 * runs of up to DDK_KU_CHUNK lines are scanned together so memory is read
 * row by row.
 */
#include "op_reduction_util.h"

#include <stdlib.h>

/* Adds v[0..n) into acc[0..n) and writes the partial sums to y at off + k*stride. */
static void cumsum_step_f64(double* acc, const double* v, int64_t n, bool in_float, ddk_tensor* y,
                            int64_t off, int64_t stride, bool running) {
  double scratch[DDK_KU_CHUNK];
  double* out = ddk_ku_out_row_f64(scratch, y->data, y->dtype, off, stride);
  for (int64_t k = 0; k < n; ++k) {
    double* a = running ? acc : acc + k;
    *a = in_float ? (double)((float)*a + (float)v[k]) : *a + v[k];
    out[k] = *a;
  }
  ddk_ku_out_row_commit_f64(out, y->data, y->dtype, off, stride, n);
}

static void cumsum_step_i64(int64_t* acc, const int64_t* v, int64_t n, ddk_tensor* y, int64_t off,
                            int64_t stride, bool running) {
  int64_t scratch[DDK_KU_CHUNK];
  int64_t* out = ddk_ku_out_row_i64(scratch, y->data, y->dtype, off, stride);
  for (int64_t k = 0; k < n; ++k) {
    int64_t* a = running ? acc : acc + k;
    *a = ddk_ku_wrap_add(*a, v[k]);
    out[k] = *a;
  }
  ddk_ku_out_row_commit_i64(out, y->data, y->dtype, off, stride, n);
}

ddk_status ddk_kernel_aten_cumsum(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  if (node->num_args < 3 || node->num_outputs < 1 || node->args[1].kind != DDK_ARG_INT)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "expected (self, int dim, dtype)");
  const ddk_tensor* x = ddk_kernel_arg_tensor(ctx, node, 0);
  ddk_tensor* y = ddk_kernel_out(ctx, node, 0);
  ddk_dtype want = DDK_DTYPE_INVALID;
  ddk_status st = ddk_red_arg_dtype(ctx, node, 2, &want);
  if (st == DDK_OK) st = ddk_ku_check_dtype(ctx, node, "self", x, DDK_KU_MASK_REAL);
  if (st == DDK_OK)
    st = ddk_ku_check_dtype(ctx, node, "the result", y, DDK_KU_MASK_REAL & ~DDK_KU_BIT(BOOL));
  if (st != DDK_OK) return st;
  if (want == DDK_DTYPE_INVALID) want = ddk_red_sum_dtype(x->dtype);
  if (y->dtype != want)
    return ddk_kernel_fail(ctx, node, DDK_DTYPE_MISMATCH, "result dtype must be %s",
                           ddk_dtype_name(want));
  const int64_t r = x->rank == 0 ? 1 : (int64_t)x->rank;
  int64_t dim = node->args[1].u.i;
  if (dim < -r || dim >= r)
    return ddk_kernel_fail(ctx, node, DDK_OUT_OF_RANGE, "dim %lld out of range", (long long)dim);
  if (dim < 0) dim += r;
  if (y->rank != x->rank)
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "result shape must match self");
  for (uint32_t i = 0; i < x->rank; ++i)
    if (y->sizes[i] != x->sizes[i])
      return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "result shape must match self");

  /* kept dims (operands x, y) and the scanned dim */
  int64_t ks[DDK_MAX_RANK], kst[2][DDK_MAX_RANK];
  uint32_t nk = 0;
  int64_t len = 1, xs = 0, ys = 0;
  for (uint32_t i = 0; i < x->rank; ++i) {
    if ((int64_t)i == dim) {
      len = x->sizes[i];
      xs = x->strides[i];
      ys = y->strides[i];
      continue;
    }
    ks[nk] = x->sizes[i];
    kst[0][nk] = x->strides[i];
    kst[1][nk++] = y->strides[i];
  }
  const int64_t* kp[2] = {kst[0], kst[1]};
  ddk_ku_loop kl;
  ddk_ku_loop_init_strided(&kl, ks, nk, kp, 2);
  if (kl.numel == 0 || len == 0) return DDK_OK;
  const uint32_t last = kl.rank - 1;
  const int64_t kin = kl.sizes[last], kxs = kl.strides[0][last], kys = kl.strides[1][last];
  const bool across = kin > 1 && (len <= 1 || llabs(kxs) < llabs(xs));
  const bool f64 = ddk_ku_math_of(y->dtype) != DDK_KU_MATH_I64;
  const bool in_float =
      ddk_ku_math_of(y->dtype) == DDK_KU_MATH_F32 && y->dtype != DDK_DTYPE_FLOAT32;
  double facc[DDK_KU_CHUNK], fv[DDK_KU_CHUNK];
  int64_t iacc[DDK_KU_CHUNK], iv[DDK_KU_CHUNK];
  ddk_ku_cursor kc;
  ddk_ku_cursor_init(&kc);
  for (int64_t done = 0; done < kl.numel; done += kin) {
    if (across) {
      for (int64_t j = 0; j < kin; j += DDK_KU_CHUNK) {
        const int64_t n = ddk_ku_min(DDK_KU_CHUNK, kin - j);
        for (int64_t k = 0; k < n; ++k) facc[k] = 0.0, iacc[k] = 0;
        for (int64_t p = 0; p < len; ++p) {
          const int64_t xo = kc.offset[0] + j * kxs + p * xs;
          const int64_t yo = kc.offset[1] + j * kys + p * ys;
          if (f64)
            cumsum_step_f64(facc, ddk_ku_row_f64(fv, x->data, x->dtype, y->dtype, xo, kxs, n), n,
                            in_float, y, yo, kys, false);
          else
            cumsum_step_i64(iacc, ddk_red_row_i64(iv, x, y->dtype, xo, kxs, n), n, y, yo, kys,
                            false);
        }
      }
    } else {
      for (int64_t j = 0; j < kin; ++j) {
        facc[0] = 0.0;
        iacc[0] = 0;
        for (int64_t p = 0; p < len; p += DDK_KU_CHUNK) {
          const int64_t m = ddk_ku_min(DDK_KU_CHUNK, len - p);
          const int64_t xo = kc.offset[0] + j * kxs + p * xs;
          const int64_t yo = kc.offset[1] + j * kys + p * ys;
          if (f64)
            cumsum_step_f64(facc, ddk_ku_row_f64(fv, x->data, x->dtype, y->dtype, xo, xs, m), m,
                            in_float, y, yo, ys, true);
          else
            cumsum_step_i64(iacc, ddk_red_row_i64(iv, x, y->dtype, xo, xs, m), m, y, yo, ys, true);
        }
      }
    }
    ddk_ku_cursor_next_row(&kl, &kc);
  }
  return DDK_OK;
}
