/*
 * op_distance.c — aten::_cdist_forward, aten::_pdist_forward.
 *
 * _cdist_forward(x1 [B1.., r1, m], x2 [B2.., r2, m], p, compute_mode):
 * out[b.., i, j] = || x1[b.., i, :] - x2[b.., j, :] ||_p with the batch dims
 * broadcast. _pdist_forward(self [n, m], p): the condensed upper triangle,
 * out[k] = || self[i] - self[j] ||_p for i < j in row-major order; like
 * ATen it refuses a non-contiguous input and accepts a negative p (general
 * formula; a zero difference then gives inf terms and a 0 distance).
 *
 * p = 0 counts the non-zero differences, p = 1 sums |d|, p = 2 is
 * sqrt(sum d^2), p = inf is max |d| (NaN propagates), any other p is
 * (sum |d|^p)^(1/p). Every distance is accumulated in double and rounded
 * once. For p = 2 ATen may instead use a matmul expansion
 * (|x|^2 + |y|^2 - 2 x.y, clamped at 0, when compute_mode is 1, or is
 * None/0 and r1 or r2 exceeds 25); this kernel always computes the direct
 * sum, which is the more accurate of the two (the golden cases scale the
 * tolerance by that expansion's cancellation).
 * Dtypes: float32, float64.
 */
#include "kernel_util.h"

typedef struct dist_row {
  const void* data;
  ddk_dtype dtype;
  int64_t off, stride;
} dist_row;

static double dist_compute(const dist_row* a, const dist_row* b, int64_t m, double p) {
  double acc = 0.0;
  for (int64_t k = 0; k < m; ++k) {
    const double d = fabs(ddk_ku_load_f64(a->data, a->dtype, a->off + k * a->stride) -
                          ddk_ku_load_f64(b->data, b->dtype, b->off + k * b->stride));
    if (p == 0.0) {
      acc += d != 0.0 ? 1.0 : 0.0;
    } else if (p == 1.0) {
      acc += d;
    } else if (p == 2.0) {
      acc += d * d;
    } else if (isinf(p)) {
      if (d != d || acc != acc)
        acc = NAN;
      else if (d > acc)
        acc = d;
    } else {
      acc += pow(d, p);
    }
  }
  if (p == 2.0) return sqrt(acc);
  if (p == 0.0 || p == 1.0 || isinf(p)) return acc;
  return pow(acc, 1.0 / p);
}

/* p of argument i; cdist (`nonneg`) refuses p < 0, _pdist_forward takes it
 * through the general formula as ATen does. */
static ddk_status dist_p(ddk_kernel_ctx* ctx, const ddk_node_view* node, uint32_t i, bool nonneg,
                         double* p) {
  const ddk_arg* a = &node->args[i];
  if (a->kind == DDK_ARG_FLOAT)
    *p = a->u.f;
  else if (a->kind == DDK_ARG_INT)
    *p = (double)a->u.i;
  else
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "p must be a float");
  if (nonneg && !(*p >= 0.0))
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "only non-negative p values");
  return DDK_OK;
}

ddk_status ddk_kernel_aten_cdist_forward(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  if (node->num_args < 4 || node->num_outputs < 1)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong number of arguments");
  const ddk_tensor* x1 = ddk_kernel_arg_tensor(ctx, node, 0);
  const ddk_tensor* x2 = ddk_kernel_arg_tensor(ctx, node, 1);
  ddk_tensor* y = ddk_kernel_out(ctx, node, 0);
  const uint32_t mask = DDK_KU_BIT(FLOAT32) | DDK_KU_BIT(FLOAT64);
  ddk_status st = ddk_ku_check_dtype(ctx, node, "x1", x1, mask);
  if (st == DDK_OK) st = ddk_ku_check_dtype(ctx, node, "x2", x2, mask);
  double p = 0.0;
  if (st == DDK_OK) st = dist_p(ctx, node, 2, true, &p);
  if (st != DDK_OK) return st;
  if (x1->rank < 2 || x2->rank < 2 || y->rank < 2 || y->dtype != x1->dtype ||
      x1->sizes[x1->rank - 1] != x2->sizes[x2->rank - 1] ||
      y->sizes[y->rank - 2] != x1->sizes[x1->rank - 2] ||
      y->sizes[y->rank - 1] != x2->sizes[x2->rank - 2])
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "x1, x2 and result do not agree");
  const uint32_t br = y->rank - 2;
  /* broadcast batch strides of x1 and x2 against the result's batch dims */
  int64_t s1[DDK_MAX_RANK] = {0}, s2[DDK_MAX_RANK] = {0};
  const ddk_tensor* xs[2] = {x1, x2};
  int64_t* ss[2] = {s1, s2};
  for (int k = 0; k < 2; ++k) {
    const uint32_t r = xs[k]->rank - 2;
    if (r > br)
      return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "batch dims do not broadcast");
    for (uint32_t d = 0; d < r; ++d) {
      const int64_t sz = xs[k]->sizes[d], od = br - r + d;
      if (sz != y->sizes[od] && sz != 1)
        return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "batch dims do not broadcast");
      ss[k][od] = sz == 1 ? 0 : xs[k]->strides[d];
    }
  }
  if (ddk_tensor_numel(y) == 0) return DDK_OK;
  const int64_t r1 = y->sizes[br], r2 = y->sizes[br + 1], m = x1->sizes[x1->rank - 1];
  int64_t idx[DDK_MAX_RANK] = {0};
  int64_t batches = 1;
  for (uint32_t d = 0; d < br; ++d) batches *= y->sizes[d];
  for (int64_t bi = 0; bi < batches; ++bi) {
    int64_t o1 = 0, o2 = 0, oy = 0;
    for (uint32_t d = 0; d < br; ++d) {
      o1 += idx[d] * s1[d];
      o2 += idx[d] * s2[d];
      oy += idx[d] * y->strides[d];
    }
    for (int64_t i = 0; i < r1; ++i)
      for (int64_t j = 0; j < r2; ++j) {
        const dist_row a = {x1->data, x1->dtype, o1 + i * x1->strides[x1->rank - 2],
                            x1->strides[x1->rank - 1]};
        const dist_row b = {x2->data, x2->dtype, o2 + j * x2->strides[x2->rank - 2],
                            x2->strides[x2->rank - 1]};
        ddk_ku_store_f64(y->data, y->dtype, oy + i * y->strides[br] + j * y->strides[br + 1],
                         dist_compute(&a, &b, m, p));
      }
    for (int d = (int)br - 1; d >= 0; --d) {
      if (++idx[d] < y->sizes[d]) break;
      idx[d] = 0;
    }
  }
  return DDK_OK;
}

ddk_status ddk_kernel_aten_pdist_forward(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  if (node->num_args < 2 || node->num_outputs < 1)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong number of arguments");
  const ddk_tensor* x = ddk_kernel_arg_tensor(ctx, node, 0);
  ddk_tensor* y = ddk_kernel_out(ctx, node, 0);
  ddk_status st =
      ddk_ku_check_dtype(ctx, node, "self", x, DDK_KU_BIT(FLOAT32) | DDK_KU_BIT(FLOAT64));
  double p = 0.0;
  if (st == DDK_OK) st = dist_p(ctx, node, 1, false, &p);
  if (st != DDK_OK) return st;
  if (x->rank != 2 || y->rank != 1 || y->dtype != x->dtype)
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "expected a 2-D input");
  const int64_t n = x->sizes[0], m = x->sizes[1];
  if (n * m > 0 && ((m > 1 && x->strides[1] != 1) || (n > 1 && x->strides[0] != m)))
    return ddk_kernel_fail(ctx, node, DDK_UNSUPPORTED_FEATURE,
                           "_pdist_forward requires contiguous input");
  if (y->sizes[0] != (n <= 1 ? 0 : n * (n - 1) / 2))
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "result size does not match");
  int64_t k = 0;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i + 1; j < n; ++j) {
      const dist_row a = {x->data, x->dtype, i * x->strides[0], x->strides[1]};
      const dist_row b = {x->data, x->dtype, j * x->strides[0], x->strides[1]};
      ddk_ku_store_f64(y->data, y->dtype, k++ * y->strides[0], dist_compute(&a, &b, m, p));
    }
  return DDK_OK;
}
