/*
 * op_pooling_nd.c — aten::avg_pool1d, aten::avg_pool3d,
 * aten::max_pool3d_with_indices, aten::avg_pool2d_backward,
 * aten::max_pool2d_with_indices_backward.
 *
 * Semantics (ATen CPU), shared with op_pooling.c:
 *  - input [N, C, *spatial] or [C, *spatial]; list arguments of one value
 *    apply to every spatial dim; an empty stride means stride = kernel;
 *  - out = floor_or_ceil((in + 2p - d(k-1) - 1) / s) + 1, and in ceil mode
 *    a last window starting beyond in + p is dropped;
 *  - max pool: a value wins when it is greater than the running max or is
 *    NaN (NaN propagates; the last NaN's index is reported; ties keep the
 *    first index). Indices are flat in the input's spatial volume
 *    ((d * H + h) * W + w), int64;
 *  - avg pool: the window sum (float for float16/bfloat16/float32, double
 *    for float64, wrapping int64 for int64) divided by divisor_override,
 *    else by the window clipped to the padded input (count_include_pad) or
 *    to the input; int64 divides truncating, as ATen;
 *  - avg_pool2d_backward: each output gradient is divided by its window's
 *    divisor (rounded to the dtype, as ATen's scalar_t delta) and added to
 *    every input of its window; max_pool2d_with_indices_backward adds each
 *    output gradient to the input its index names. The additions run in
 *    ATen's order (output positions row-major) and round to the dtype
 *    after each one, as ATen's `grad_input[i] += delta` does.
 *
 * Dtypes: avg_pool1d float16, bfloat16, float32, float64, int64;
 * avg_pool3d float32, float64, int64 (ATen has no half avg_pool3d);
 * max_pool3d uint8..int64 and the floats; avg_pool2d_backward the floats
 * and int64; max_pool2d_with_indices_backward the floats.
 * Layout: any input strides; outputs are written through their strides.
 */
#include "op_pooling_util.h"

#define NO_ARG UINT32_MAX

/* Where an op keeps its arguments, as in ir_ops/src/infer_pool.c. */
typedef struct pool_spec {
  uint32_t S;
  uint32_t self, k, stride, pad, dil, ceil, cip, dov;
} pool_spec;

typedef struct pool_geom {
  int64_t N, C, in[3], out[3], k[3], s[3], p[3], d[3];
  bool cip;
  bool has_dov;
  int64_t dov;
} pool_geom;

static int64_t pool_out_size(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d,
                             bool ceil_mode) {
  int64_t num = in + 2 * p - d * (k - 1) - 1 + (ceil_mode ? s - 1 : 0);
  int64_t out = ddk_ku_floor_div(num, s) + 1;
  if (ceil_mode && (out - 1) * s >= in + p) --out;
  return out;
}

/* Reads the window arguments; checks `x` (the forward input) and that
 * `y` (the forward output or grad_output) has the pool's output shape. */
static ddk_status pool_setup(ddk_kernel_ctx* ctx, const ddk_node_view* node, const pool_spec* ps,
                             const ddk_tensor* x, const ddk_tensor* y, pool_geom* g) {
  memset(g, 0, sizeof *g);
  const uint32_t S = ps->S;
  int64_t k[3], s[3], p[3], d[3] = {1, 1, 1};
  const int64_t zero[3] = {0, 0, 0}, one[3] = {1, 1, 1};
  ddk_status st = ddk_ku_arg_int_list(ctx, node, ps->k, "kernel_size", S, NULL, k);
  if (st == DDK_OK) st = ddk_ku_arg_int_list(ctx, node, ps->stride, "stride", S, k, s);
  if (st == DDK_OK) st = ddk_ku_arg_int_list(ctx, node, ps->pad, "padding", S, zero, p);
  if (st == DDK_OK && ps->dil != NO_ARG)
    st = ddk_ku_arg_int_list(ctx, node, ps->dil, "dilation", S, one, d);
  if (st != DDK_OK) return st;
  const ddk_arg* cm = &node->args[ps->ceil];
  if (cm->kind != DDK_ARG_BOOL)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "ceil_mode must be a bool");
  if (ps->cip != NO_ARG) {
    const ddk_arg* cip = &node->args[ps->cip];
    if (cip->kind != DDK_ARG_BOOL)
      return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "count_include_pad must be a bool");
    g->cip = cip->u.b;
  }
  if (ps->dov != NO_ARG && node->args[ps->dov].kind != DDK_ARG_NONE) {
    const ddk_arg* dov = &node->args[ps->dov];
    if (dov->kind != DDK_ARG_INT || dov->u.i == 0)
      return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT,
                             "divisor_override must be a non-zero int or None");
    g->has_dov = true;
    g->dov = dov->u.i;
  }
  if (x->rank != S + 1 && x->rank != S + 2)
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "expected a %u-D or %u-D input", S + 1,
                           S + 2);
  int64_t xs5[5];
  ddk_pu_sizes5(x, S, xs5);
  g->N = xs5[0];
  g->C = xs5[1];
  int64_t want[DDK_MAX_RANK];
  const uint32_t lead = x->rank - S - 1;
  for (uint32_t i = 0; i <= lead; ++i) want[i] = x->sizes[i];
  for (int i = 0; i < 3; ++i) {
    const int src = i - (3 - (int)S);
    g->in[i] = g->out[i] = g->k[i] = g->s[i] = g->d[i] = 1;
    g->p[i] = 0;
    if (src < 0) continue;
    g->in[i] = xs5[2 + i];
    g->k[i] = k[src];
    g->s[i] = s[src];
    g->p[i] = p[src];
    g->d[i] = d[src];
    if (g->k[i] <= 0 || g->s[i] <= 0 || g->d[i] <= 0 || g->p[i] < 0 || g->p[i] > g->k[i] / 2 ||
        g->in[i] <= 0)
      return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT,
                             "kernel_size, stride, dilation and input sizes must be positive "
                             "and 0 <= padding <= kernel_size / 2");
    g->out[i] = pool_out_size(g->in[i], g->k[i], g->s[i], g->p[i], g->d[i], cm->u.b);
    if (g->out[i] < 1)
      return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "output size is too small");
    want[lead + 1 + src] = g->out[i];
  }
  if (!ddk_pu_same_sizes(y, want, x->rank))
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH,
                           "result / grad_output shape does not match the pool");
  return DDK_OK;
}

/* Window of output index o along dim i for average pooling: [*lo, *hi)
 * clipped to the input; returns the unclipped size within the padded
 * input (count_include_pad's divisor factor). */
static int64_t avg_window(const pool_geom* g, int i, int64_t o, int64_t* lo, int64_t* hi) {
  int64_t a = o * g->s[i] - g->p[i];
  int64_t b = ddk_ku_min(a + g->k[i], g->in[i] + g->p[i]);
  const int64_t size = b - a;
  *lo = ddk_ku_max(a, 0);
  *hi = ddk_ku_min(b, g->in[i]);
  return size;
}

/* The divisor of the window at (od, oh, ow); also its clipped bounds. */
static int64_t avg_divisor(const pool_geom* g, const int64_t o[3], int64_t lo[3], int64_t hi[3]) {
  int64_t pool_size = 1, count = 1;
  for (int i = 0; i < 3; ++i) {
    pool_size *= avg_window(g, i, o[i], &lo[i], &hi[i]);
    count *= hi[i] - lo[i];
  }
  return g->has_dov ? g->dov : g->cip ? pool_size : count;
}

/* ------------------------------------------------------------------------ */
/* Forward                                                                  */
/* ------------------------------------------------------------------------ */

static void avg_forward(const pool_geom* g, const ddk_tensor* x, const int64_t xs[5], ddk_tensor* y,
                        const int64_t ys[5]) {
  const ddk_ku_math math = ddk_ku_math_of(x->dtype);
  int64_t o[3], lo[3], hi[3];
  for (int64_t n = 0; n < g->N; ++n)
    for (int64_t c = 0; c < g->C; ++c)
      for (o[0] = 0; o[0] < g->out[0]; ++o[0])
        for (o[1] = 0; o[1] < g->out[1]; ++o[1])
          for (o[2] = 0; o[2] < g->out[2]; ++o[2]) {
            const int64_t div = avg_divisor(g, o, lo, hi);
            const int64_t yo = n * ys[0] + c * ys[1] + o[0] * ys[2] + o[1] * ys[3] + o[2] * ys[4];
            float sf = 0.0f;
            double sd = 0.0;
            int64_t si = 0;
            for (int64_t a = lo[0]; a < hi[0]; ++a)
              for (int64_t b = lo[1]; b < hi[1]; ++b)
                for (int64_t e = lo[2]; e < hi[2]; ++e) {
                  const int64_t off = n * xs[0] + c * xs[1] + a * xs[2] + b * xs[3] + e * xs[4];
                  if (math == DDK_KU_MATH_F32)
                    sf += ddk_ku_load_f32(x->data, x->dtype, off);
                  else if (math == DDK_KU_MATH_F64)
                    sd += ((const double*)x->data)[off];
                  else
                    si = ddk_ku_wrap_add(si, ddk_ku_load_i64(x->data, x->dtype, off));
                }
            if (math == DDK_KU_MATH_F32)
              ddk_ku_store_f32(y->data, y->dtype, yo, sf / (float)div);
            else if (math == DDK_KU_MATH_F64)
              ((double*)y->data)[yo] = sd / (double)div;
            else
              ddk_ku_store_i64(y->data, y->dtype, yo,
                               div == -1 ? ddk_ku_wrap_mul(si, -1) : si / div);
          }
}

static void max_forward(const pool_geom* g, const ddk_tensor* x, const int64_t xs[5], ddk_tensor* y,
                        const int64_t ys[5], ddk_tensor* ind, const int64_t is[5]) {
  const bool is_float = ddk_ku_math_of(x->dtype) != DDK_KU_MATH_I64;
  int64_t o[3], lo[3], hi[3];
  for (int64_t n = 0; n < g->N; ++n)
    for (int64_t c = 0; c < g->C; ++c)
      for (o[0] = 0; o[0] < g->out[0]; ++o[0])
        for (o[1] = 0; o[1] < g->out[1]; ++o[1])
          for (o[2] = 0; o[2] < g->out[2]; ++o[2]) {
            for (int i = 0; i < 3; ++i) {
              lo[i] = o[i] * g->s[i] - g->p[i];
              hi[i] = ddk_ku_min(lo[i] + (g->k[i] - 1) * g->d[i] + 1, g->in[i]);
              while (lo[i] < 0) lo[i] += g->d[i];
            }
            int64_t best = (lo[0] * g->in[1] + lo[1]) * g->in[2] + lo[2];
            double fmax = -INFINITY;
            int64_t imax = INT64_MIN;
            bool first = true;
            for (int64_t a = lo[0]; a < hi[0]; a += g->d[0])
              for (int64_t b = lo[1]; b < hi[1]; b += g->d[1])
                for (int64_t e = lo[2]; e < hi[2]; e += g->d[2]) {
                  const int64_t off = n * xs[0] + c * xs[1] + a * xs[2] + b * xs[3] + e * xs[4];
                  const int64_t flat = (a * g->in[1] + b) * g->in[2] + e;
                  if (is_float) {
                    double v = ddk_ku_load_f64(x->data, x->dtype, off);
                    if (v > fmax || v != v) {
                      fmax = v;
                      best = flat;
                    }
                  } else {
                    int64_t v = ddk_ku_load_i64(x->data, x->dtype, off);
                    if (first || v > imax) {
                      imax = v;
                      best = flat;
                    }
                  }
                  first = false;
                }
            const int64_t yo = n * ys[0] + c * ys[1] + o[0] * ys[2] + o[1] * ys[3] + o[2] * ys[4];
            if (is_float)
              ddk_ku_store_f64(y->data, y->dtype, yo, fmax);
            else
              ddk_ku_store_i64(y->data, y->dtype, yo, imax);
            ((int64_t*)
                 ind->data)[n * is[0] + c * is[1] + o[0] * is[2] + o[1] * is[3] + o[2] * is[4]] =
                best;
          }
}

static ddk_status pool_forward(ddk_kernel_ctx* ctx, const ddk_node_view* node, const pool_spec* ps,
                               bool is_max, uint32_t dtypes) {
  const uint32_t nargs = (ps->dov != NO_ARG ? ps->dov : ps->cip != NO_ARG ? ps->cip : ps->ceil) + 1;
  if (node->num_args < nargs || node->num_outputs < (is_max ? 2u : 1u))
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong number of arguments");
  const ddk_tensor* x = ddk_kernel_arg_tensor(ctx, node, ps->self);
  ddk_tensor* y = ddk_kernel_out(ctx, node, 0);
  ddk_status st = ddk_ku_check_dtype(ctx, node, "self", x, dtypes);
  if (st != DDK_OK) return st;
  if (y->dtype != x->dtype)
    return ddk_kernel_fail(ctx, node, DDK_DTYPE_MISMATCH, "result dtype must be %s",
                           ddk_dtype_name(x->dtype));
  pool_geom g;
  st = pool_setup(ctx, node, ps, x, y, &g);
  if (st != DDK_OK) return st;
  int64_t xs[5], ys[5];
  ddk_pu_strides5(x, ps->S, xs);
  ddk_pu_strides5(y, ps->S, ys);
  if (!is_max) {
    avg_forward(&g, x, xs, y, ys);
    return DDK_OK;
  }
  ddk_tensor* ind = ddk_kernel_out(ctx, node, 1);
  if (ind->dtype != DDK_DTYPE_INT64 || !ddk_pu_same_sizes(ind, y->sizes, y->rank))
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH,
                           "indices must be int64 with the result's shape");
  int64_t is[5];
  ddk_pu_strides5(ind, ps->S, is);
  max_forward(&g, x, xs, y, ys, ind, is);
  return DDK_OK;
}

ddk_status ddk_kernel_aten_avg_pool1d(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  const pool_spec ps = {1, 0, 1, 2, 3, NO_ARG, 4, 5, NO_ARG};
  return pool_forward(ctx, node, &ps, false, DDK_KU_MASK_FLOATS | DDK_KU_BIT(INT64));
}

ddk_status ddk_kernel_aten_avg_pool3d(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  const pool_spec ps = {3, 0, 1, 2, 3, NO_ARG, 4, 5, 6};
  return pool_forward(ctx, node, &ps, false,
                      DDK_KU_BIT(FLOAT32) | DDK_KU_BIT(FLOAT64) | DDK_KU_BIT(INT64));
}

ddk_status ddk_kernel_aten_max_pool3d_with_indices(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  const pool_spec ps = {3, 0, 1, 2, 3, 4, 5, NO_ARG, NO_ARG};
  return pool_forward(ctx, node, &ps, true, DDK_KU_MASK_INTS | DDK_KU_MASK_FLOATS);
}

/* ------------------------------------------------------------------------ */
/* Backward                                                                 */
/* ------------------------------------------------------------------------ */

/* Checks grad_output (arg 0), self and the result; fills the geometry. */
static ddk_status backward_setup(ddk_kernel_ctx* ctx, const ddk_node_view* node,
                                 const pool_spec* ps, uint32_t nargs, uint32_t dtypes,
                                 pool_geom* g) {
  if (node->num_args < nargs || node->num_outputs < 1)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong number of arguments");
  const ddk_tensor* go = ddk_kernel_arg_tensor(ctx, node, 0);
  const ddk_tensor* x = ddk_kernel_arg_tensor(ctx, node, ps->self);
  ddk_tensor* gi = ddk_kernel_out(ctx, node, 0);
  ddk_status st = ddk_ku_check_dtype(ctx, node, "self", x, dtypes);
  if (st != DDK_OK) return st;
  if (go->dtype != x->dtype || gi->dtype != x->dtype)
    return ddk_kernel_fail(ctx, node, DDK_DTYPE_MISMATCH,
                           "grad_output, self and result must share one dtype");
  if (!ddk_pu_same_sizes(gi, x->sizes, x->rank))
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "result must have self's shape");
  return pool_setup(ctx, node, ps, x, go, g);
}

ddk_status ddk_kernel_aten_avg_pool2d_backward(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  const pool_spec ps = {2, 1, 2, 3, 4, NO_ARG, 5, 6, 7};
  pool_geom g;
  ddk_status st = backward_setup(ctx, node, &ps, 8, DDK_KU_MASK_FLOATS | DDK_KU_BIT(INT64), &g);
  if (st != DDK_OK) return st;
  const ddk_tensor* go = ddk_kernel_arg_tensor(ctx, node, 0);
  ddk_tensor* gi = ddk_kernel_out(ctx, node, 0);
  int64_t gs[5], is[5];
  ddk_pu_strides5(go, 2, gs);
  ddk_pu_strides5(gi, 2, is);
  ddk_pu_zero(gi);
  const ddk_dtype dt = gi->dtype;
  const ddk_ku_math math = ddk_ku_math_of(dt);
  int64_t o[3], lo[3], hi[3];
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t c = 0; c < g.C; ++c)
      for (o[0] = 0; o[0] < g.out[0]; ++o[0])
        for (o[1] = 0; o[1] < g.out[1]; ++o[1])
          for (o[2] = 0; o[2] < g.out[2]; ++o[2]) {
            const int64_t div = avg_divisor(&g, o, lo, hi);
            const int64_t goff = n * gs[0] + c * gs[1] + o[0] * gs[2] + o[1] * gs[3] + o[2] * gs[4];
            double delta;
            if (math == DDK_KU_MATH_I64) {
              int64_t v = ddk_ku_load_i64(go->data, dt, goff);
              delta = (double)(div == -1 ? ddk_ku_wrap_mul(v, -1) : v / div);
            } else if (math == DDK_KU_MATH_F32) {
              delta = ddk_ku_round_f32(ddk_ku_load_f32(go->data, dt, goff) / (float)div, dt);
            } else {
              delta = ((const double*)go->data)[goff] / (double)div;
            }
            for (int64_t a = lo[0]; a < hi[0]; ++a)
              for (int64_t b = lo[1]; b < hi[1]; ++b)
                for (int64_t e = lo[2]; e < hi[2]; ++e)
                  ddk_pu_add(gi->data, dt,
                             n * is[0] + c * is[1] + a * is[2] + b * is[3] + e * is[4], delta);
          }
  return DDK_OK;
}

ddk_status ddk_kernel_aten_max_pool2d_with_indices_backward(ddk_kernel_ctx* ctx,
                                                            const ddk_node_view* node) {
  const pool_spec ps = {2, 1, 2, 3, 4, 5, 6, NO_ARG, NO_ARG};
  pool_geom g;
  ddk_status st = backward_setup(ctx, node, &ps, 8, DDK_KU_MASK_FLOATS, &g);
  if (st != DDK_OK) return st;
  if (node->args[7].kind != DDK_ARG_TENSOR)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "indices must be a tensor");
  const ddk_tensor* go = ddk_kernel_arg_tensor(ctx, node, 0);
  const ddk_tensor* ind = ddk_kernel_arg_tensor(ctx, node, 7);
  ddk_tensor* gi = ddk_kernel_out(ctx, node, 0);
  if (ind->dtype != DDK_DTYPE_INT64 || !ddk_pu_same_sizes(ind, go->sizes, go->rank))
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH,
                           "indices must be int64 with grad_output's shape");
  int64_t gs[5], xs[5], is[5];
  ddk_pu_strides5(go, 2, gs);
  ddk_pu_strides5(ind, 2, xs);
  ddk_pu_strides5(gi, 2, is);
  ddk_pu_zero(gi);
  const ddk_dtype dt = gi->dtype;
  const int64_t plane = g.in[1] * g.in[2];
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t c = 0; c < g.C; ++c)
      for (int64_t oh = 0; oh < g.out[1]; ++oh)
        for (int64_t ow = 0; ow < g.out[2]; ++ow) {
          const int64_t idx =
              ((const int64_t*)ind->data)[n * xs[0] + c * xs[1] + oh * xs[3] + ow * xs[4]];
          if (idx == -1) continue;
          if (idx < 0 || idx >= plane)
            return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT,
                                   "index %lld is out of the input plane of %lld elements",
                                   (long long)idx, (long long)plane);
          const double v =
              ddk_ku_load_f64(go->data, dt, n * gs[0] + c * gs[1] + oh * gs[3] + ow * gs[4]);
          ddk_pu_add(gi->data, dt,
                     n * is[0] + c * is[1] + (idx / g.in[2]) * is[3] + (idx % g.in[2]) * is[4], v);
        }
  return DDK_OK;
}
