/*
 * op_quantized_qparams.c — quantized_decomposed choose_qparams.tensor,
 * choose_qparams_symmetric.tensor, choose_qparams_per_token and
 * choose_qparams_per_token_asymmetric.
 *
 * Semantics: torch's decompositions step by step, each step rounded to its
 * ATen dtype (op_quantized_util.h):
 *  - choose_qparams.tensor: min/max of the whole input (NaN propagates),
 *    min_neg = min(min, 0), max_pos = max(max, 0) in the input dtype;
 *    scale = max((max_pos - min_neg) / (qmax - qmin), f32(eps)) (the
 *    division in the input dtype, the max in float32);
 *    zero_point = clamp(qmin - int32(round(min_neg / scale)), qmin, qmax);
 *  - symmetric: scale = max(max(-min_neg, max_pos) / ((qmax - qmin) / 2),
 *    eps); zero_point 128 for uint8, else 0;
 *  - per token: scale = clamp(amax(|x|, -1), min=1e-5) / 127 per row
 *    (float16 and integer inputs give float32), zero_point = 0 (same dtype);
 *  - per token asymmetric: XNNPACK's rule with qmin -128, qmax 127 and eps
 *    = 2^-23, in the input dtype (float32 for integer inputs); scale is
 *    returned as float64, zero_point as int64.
 */
#include "op_quantized_util.h"

typedef struct minmax {
  double mn, mx;
  bool any, nan;
} minmax;

static void minmax_add(minmax* m, double v) {
  if (v != v) m->nan = true;
  if (!m->any) {
    m->mn = m->mx = v;
    m->any = true;
    return;
  }
  if (v < m->mn) m->mn = v;
  if (v > m->mx) m->mx = v;
}

typedef struct minmax_user {
  minmax* m;
} minmax_user;

static void minmax_elem(const void* user, ddk_tensor* t, int64_t off, const q_elem* in) {
  (void)in;
  minmax_add(((const minmax_user*)user)->m, ddk_ku_load_f64(t->data, t->dtype, off));
}

/* torch.minimum / torch.maximum with 0 (NaN propagates). */
static double q_min0(double v) {
  return v != v ? v : (v < 0.0 ? v : (v == 0.0 ? v : 0.0));
}
static double q_max0(double v) {
  return v != v ? v : (v > 0.0 ? v : (v == 0.0 ? v : 0.0));
}
static double q_maxnan(double a, double b) {
  return a != a ? a : (b != b ? b : (a < b ? b : a));
}

static ddk_status choose_qparams(ddk_kernel_ctx* ctx, const ddk_node_view* node, bool symmetric) {
  const ddk_tensor* x = ddk_kernel_arg_tensor(ctx, node, 0);
  ddk_tensor* out_s = ddk_kernel_out(ctx, node, 0);
  ddk_tensor* out_z = ddk_kernel_out(ctx, node, 1);
  ddk_status st = ddk_ku_check_dtype(
      ctx, node, "input", x, DDK_KU_BIT(FLOAT32) | DDK_KU_BIT(FLOAT16) | DDK_KU_BIT(BFLOAT16));
  if (st != DDK_OK) return st;
  const ddk_dtype t = x->dtype;
  const int64_t qmin = node->args[1].u.i, qmax = node->args[2].u.i;
  const double eps = (double)(float)q_arg_f64(node, 3);
  const ddk_dtype qdt = q_arg_dtype(node, 4, DDK_DTYPE_INVALID);
  minmax m = {0.0, 0.0, false, false};
  minmax_user u = {&m};
  ddk_tensor xt = *x;
  if (!q_map(&xt, NULL, 0, minmax_elem, &u) || !m.any)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "aminmax of an empty tensor");
  if (m.nan) m.mn = m.mx = NAN;
  const double min_neg = q_min0(m.mn), max_pos = q_max0(m.mx);
  double scale;
  int64_t zp;
  if (symmetric) {
    const double amax = q_maxnan(-min_neg, max_pos);
    scale = q_rnd(amax / (double)(float)((double)(qmax - qmin) / 2.0), t);
    scale = q_rnd(q_maxnan(scale, eps), DDK_DTYPE_FLOAT32);
    zp = qdt == DDK_DTYPE_UINT8 ? 128 : 0;
  } else {
    scale = q_rnd(q_rnd(max_pos - min_neg, t) / (double)(float)(qmax - qmin), t);
    scale = q_rnd(q_maxnan(scale, eps), DDK_DTYPE_FLOAT32);
    const double r = nearbyint(q_rnd(min_neg / scale, DDK_DTYPE_FLOAT32));
    const int64_t ri = ddk_ku_round_i64(q_f2i(r, DDK_DTYPE_INT32), DDK_DTYPE_INT32);
    zp = ddk_ku_round_i64((int64_t)((uint64_t)qmin - (uint64_t)ri), DDK_DTYPE_INT32);
    zp = zp < qmin ? qmin : (zp > qmax ? qmax : zp);
  }
  ddk_ku_store_f64(out_s->data, out_s->dtype, 0, scale);
  ddk_ku_store_i64(out_z->data, out_z->dtype, 0, zp);
  return DDK_OK;
}

ddk_status ddk_kernel_quantized_decomposed_choose_qparams_tensor(ddk_kernel_ctx* ctx,
                                                                 const ddk_node_view* node) {
  return choose_qparams(ctx, node, false);
}
ddk_status ddk_kernel_quantized_decomposed_choose_qparams_symmetric_tensor(
    ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return choose_qparams(ctx, node, true);
}

/* Per-row min/max (or max |x|) of the last dim of x; ints exactly. */
typedef struct row_stats {
  double mn, mx;    /* float dtypes */
  int64_t imn, imx; /* integer dtypes */
} row_stats;

static row_stats row_scan(const ddk_tensor* x, int64_t row, bool absval) {
  const uint32_t last = x->rank > 0 ? x->rank - 1 : 0;
  const int64_t n = x->rank > 0 ? x->sizes[last] : 1;
  const int64_t step = x->rank > 0 ? x->strides[last] : 0;
  const int64_t base = x->rank > 0 ? q_offset_of(x, last, row) : 0;
  row_stats r = {0.0, 0.0, 0, 0};
  bool nan = false;
  for (int64_t i = 0; i < n; ++i) {
    q_elem e = q_load(x->data, x->dtype, base + i * step);
    if (absval) {
      if (e.i < 0) e.i = ddk_ku_round_i64((int64_t)(0u - (uint64_t)e.i), x->dtype);
      e.f = fabs(e.f);
    }
    if (e.f != e.f) nan = true;
    if (i == 0 || e.f < r.mn) r.mn = e.f;
    if (i == 0 || e.f > r.mx) r.mx = e.f;
    if (i == 0 || e.i < r.imn) r.imn = e.i;
    if (i == 0 || e.i > r.imx) r.imx = e.i;
  }
  if (nan) r.mn = r.mx = NAN;
  return r;
}

static int64_t q_rows(const ddk_tensor* x) {
  int64_t rows = 1;
  for (uint32_t d = 0; d + 1 < x->rank; ++d) rows *= x->sizes[d];
  return rows;
}

ddk_status ddk_kernel_quantized_decomposed_choose_qparams_per_token(ddk_kernel_ctx* ctx,
                                                                    const ddk_node_view* node) {
  const ddk_tensor* x = ddk_kernel_arg_tensor(ctx, node, 0);
  ddk_tensor* out_s = ddk_kernel_out(ctx, node, 0);
  ddk_tensor* out_z = ddk_kernel_out(ctx, node, 1);
  ddk_status st = ddk_ku_check_dtype(ctx, node, "input", x, DDK_KU_MASK_INTS | DDK_KU_MASK_FLOATS);
  if (st == DDK_OK) st = ddk_ku_check_dtype(ctx, node, "scales", out_s, DDK_KU_MASK_FLOATS);
  if (st != DDK_OK) return st;
  if (x->rank > 0 && x->sizes[x->rank - 1] == 0)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "empty reduction dim");
  const ddk_dtype f = out_s->dtype;
  const double lo = q_rnd(1e-5, f == DDK_DTYPE_BFLOAT16 ? DDK_DTYPE_FLOAT32 : f);
  const int64_t rows = q_rows(x);
  for (int64_t r = 0; r < rows; ++r) {
    row_stats rs = row_scan(x, r, true);
    double v = q_is_int(x->dtype) ? q_rnd((double)rs.imx, DDK_DTYPE_FLOAT32) : rs.mx;
    v = v != v ? v : (v < lo ? q_rnd(lo, f) : v);
    v = q_rnd(v / 127.0, f);
    ddk_ku_store_f64(out_s->data, f, r, v);
    ddk_ku_store_f64(out_z->data, out_z->dtype, r, 0.0);
  }
  return DDK_OK;
}

ddk_status ddk_kernel_quantized_decomposed_choose_qparams_per_token_asymmetric(
    ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  const ddk_tensor* x = ddk_kernel_arg_tensor(ctx, node, 0);
  ddk_tensor* out_s = ddk_kernel_out(ctx, node, 0);
  ddk_tensor* out_z = ddk_kernel_out(ctx, node, 1);
  ddk_status st = ddk_ku_check_dtype(ctx, node, "input", x, DDK_KU_MASK_INTS | DDK_KU_MASK_FLOATS);
  if (st != DDK_OK) return st;
  if (x->rank > 0 && x->sizes[x->rank - 1] == 0)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "empty reduction dim");
  const bool is_int = q_is_int(x->dtype);
  const ddk_dtype f = is_int ? DDK_DTYPE_FLOAT32 : x->dtype;
  const double qmin = -128.0, qmax = 127.0, eps = 1.1920928955078125e-07;
  const int64_t rows = q_rows(x);
  for (int64_t r = 0; r < rows; ++r) {
    row_stats rs = row_scan(x, r, false);
    double min_neg, max_pos, scale;
    if (is_int) {
      const int64_t mn = rs.imn < 0 ? rs.imn : 0, mx = rs.imx > 0 ? rs.imx : 0;
      const int64_t diff = ddk_ku_round_i64((int64_t)((uint64_t)mx - (uint64_t)mn), x->dtype);
      min_neg = q_rnd((double)mn, f);
      max_pos = q_rnd((double)mx, f);
      scale = q_rnd(q_rnd((double)diff, f) / 255.0, f);
    } else {
      min_neg = q_min0(rs.mn);
      max_pos = q_max0(rs.mx);
      scale = q_rnd(q_rnd(max_pos - min_neg, f) / 255.0, f);
    }
    scale = scale != scale ? scale : (scale < eps ? eps : scale);
    const double dmin = q_rnd(min_neg / scale, f), dmax = q_rnd(max_pos / scale, f);
    const double e1 = q_rnd(qmin + dmin, f), e2 = q_rnd(qmax + dmax, f);
    double zp = q_rnd(e1 + e2, f) > 0.0 ? q_rnd(qmin - dmin, f) : q_rnd(qmax - dmax, f);
    zp = nearbyint(q_clamp(zp, qmin, qmax));
    ddk_ku_store_f64(out_s->data, out_s->dtype, r, scale);
    ddk_ku_store_i64(out_z->data, out_z->dtype, r, q_f2i(zp, DDK_DTYPE_INT64));
  }
  return DDK_OK;
}
