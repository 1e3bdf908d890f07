/*
 * op_convolution.c — aten::convolution (1-d, 2-d and 3-d; plain and
 * transposed; stride, padding, dilation, groups, output_padding).
 *
 * Semantics (ATen CPU):
 *  - input [N, C, *in], weight [Cout, C/groups, *k] (transposed:
 *    [C, Cout/groups, *k]), optional bias [Cout] cast to the input dtype;
 *  - out = (in + 2p - d(k-1) - 1) / s + 1, transposed
 *    out = (in - 1)s - 2p + d(k-1) + output_padding + 1;
 *  - one-element stride/padding/dilation/output_padding lists apply to
 *    every spatial dim;
 *  - products accumulate in float for float16/bfloat16/float32, double for
 *    float64, wrapping 64-bit integers for integer dtypes (int8 results
 *    wrap like ATen's); the bias is added to the sum and the result is
 *    rounded once.
 *
 * Dtypes: float16, bfloat16, float32, float64, int64; uint8, int8, int16,
 * int32 for plain, undilated convolution only (ATen has no transposed or
 * dilated kernel for those). Input and weight share one dtype.
 * Layout: any strides for input, weight and bias (channels-last is read in
 * place); the output is written through its strides.
 *
 * Loop structure (direct, no im2col buffer): an output row chunk of up to
 * CONV_CW values accumulates on the stack; for every input channel of the
 * group and every kernel tap, a run of input values (gathered with the
 * conv stride) is multiplied by one weight and added to the chunk — a
 * unit-stride loop the compiler vectorises. A 1x1, stride-1, unpadded
 * kernel folds H (and D) into W so rows are long.
 */
#include "kernel_util.h"

#define CONV_CW 256

typedef struct conv_problem {
  ddk_dtype dt;
  bool transposed;
  int64_t N, G, cin_g, cout_g;
  int64_t in[3], out[3], k[3], s[3], p[3], d[3];
  const void* x;
  int64_t xs_n, xs_c, xs[3];
  const void* w;
  int64_t ws0, ws1, ws[3];
  const void* bias;
  ddk_dtype bias_dt;
  int64_t bs;
  void* y;
  int64_t ys_n, ys_c, ys[3];
} conv_problem;

/* The input index a kernel tap reads for output index o along one dim, or
 * -1 when it falls into padding (plain) / between strides (transposed). */
static int64_t conv_src(const conv_problem* p, int dim, int64_t o, int64_t k) {
  if (!p->transposed) {
    int64_t i = o * p->s[dim] - p->p[dim] + k * p->d[dim];
    return (i >= 0 && i < p->in[dim]) ? i : -1;
  }
  int64_t t = o + p->p[dim] - k * p->d[dim];
  if (t < 0 || t % p->s[dim] != 0) return -1;
  t /= p->s[dim];
  return t < p->in[dim] ? t : -1;
}

/*
 * The run of input values kernel tap `kw` contributes to the output chunk
 * [ow0, ow0 + cw) along W: `cnt` inputs from index *iw (consecutive, read
 * with the conv stride when not transposed) land on chunk positions
 * first, first + step, ... False when the tap touches no output.
 */
static bool conv_tap(const conv_problem* p, int64_t ow0, int64_t cw, int64_t kw, int64_t* iw,
                     int64_t* cnt, int64_t* first, int64_t* step) {
  const int64_t S = p->s[2], P = p->p[2], off = kw * p->d[2], W = p->in[2];
  if (!p->transposed) { /* input iw = ow*S - P + off */
    int64_t lo = ddk_ku_max(ow0, ddk_ku_ceil_div(P - off, S));
    int64_t hi = ddk_ku_min(ow0 + cw, ddk_ku_floor_div(W - 1 + P - off, S) + 1);
    if (hi <= lo) return false;
    *iw = lo * S - P + off;
    *cnt = hi - lo;
    *first = lo - ow0;
    *step = 1;
    return true;
  }
  /* transposed: output ow = iw*S - P + off */
  int64_t lo = ddk_ku_max(0, ddk_ku_ceil_div(ow0 + P - off, S));
  int64_t hi = ddk_ku_min(W, ddk_ku_floor_div(ow0 + cw - 1 + P - off, S) + 1);
  if (hi <= lo) return false;
  *iw = lo;
  *cnt = hi - lo;
  *first = lo * S - P + off - ow0;
  *step = S;
  return true;
}

#define CONV_DEFINE(SUF, MT, AT)                                                                   \
  static void conv_##SUF(const conv_problem* p) {                                                  \
    const ddk_dtype dt = p->dt;                                                                    \
    MT xscr[CONV_CW], wscr[CONV_CW], oscr[CONV_CW];                                                \
    AT acc[CONV_CW];                                                                               \
    for (int64_t n = 0; n < p->N; ++n)                                                             \
      for (int64_t oc = 0; oc < p->G * p->cout_g; ++oc) {                                          \
        const int64_t g = oc / p->cout_g;                                                          \
        AT bias = 0;                                                                               \
        if (p->bias != NULL)                                                                       \
          bias = (AT)ddk_ku_row_##SUF(xscr, p->bias, p->bias_dt, dt, oc * p->bs, 1, 1)[0];         \
        for (int64_t od = 0; od < p->out[0]; ++od)                                                 \
          for (int64_t oh = 0; oh < p->out[1]; ++oh)                                               \
            for (int64_t ow0 = 0; ow0 < p->out[2]; ow0 += CONV_CW) {                               \
              const int64_t cw = ddk_ku_min(CONV_CW, p->out[2] - ow0);                             \
              for (int64_t t = 0; t < cw; ++t) acc[t] = 0;                                         \
              for (int64_t icg = 0; icg < p->cin_g; ++icg) {                                       \
                const int64_t ic = g * p->cin_g + icg;                                             \
                const int64_t wbase = p->transposed ? ic * p->ws0 + (oc - g * p->cout_g) * p->ws1  \
                                                    : oc * p->ws0 + icg * p->ws1;                  \
                for (int64_t kd = 0; kd < p->k[0]; ++kd) {                                         \
                  const int64_t id = conv_src(p, 0, od, kd);                                       \
                  if (id < 0) continue;                                                            \
                  for (int64_t kh = 0; kh < p->k[1]; ++kh) {                                       \
                    const int64_t ih = conv_src(p, 1, oh, kh);                                     \
                    if (ih < 0) continue;                                                          \
                    const int64_t xbase =                                                          \
                        n * p->xs_n + ic * p->xs_c + id * p->xs[0] + ih * p->xs[1];                \
                    for (int64_t kw0 = 0; kw0 < p->k[2]; kw0 += CONV_CW) {                         \
                      const int64_t kn = ddk_ku_min(CONV_CW, p->k[2] - kw0);                       \
                      const MT* wr = ddk_ku_row_##SUF(                                             \
                          wscr, p->w, dt, dt,                                                      \
                          wbase + kd * p->ws[0] + kh * p->ws[1] + kw0 * p->ws[2], p->ws[2], kn);   \
                      for (int64_t kq = 0; kq < kn; ++kq) {                                        \
                        const int64_t kw = kw0 + kq;                                               \
                        const AT wv = (AT)wr[kq];                                                  \
                        int64_t iw, cnt, first, step;                                              \
                        if (!conv_tap(p, ow0, cw, kw, &iw, &cnt, &first, &step)) continue;         \
                        const int64_t xstep = p->transposed ? p->xs[2] : p->s[2] * p->xs[2];       \
                        const MT* xr = ddk_ku_row_##SUF(xscr, p->x, dt, dt, xbase + iw * p->xs[2], \
                                                        xstep, cnt);                               \
                        AT* a = acc + first;                                                       \
                        if (step == 1) {                                                           \
                          for (int64_t t = 0; t < cnt; ++t) a[t] += wv * (AT)xr[t];                \
                        } else {                                                                   \
                          for (int64_t t = 0; t < cnt; ++t) a[t * step] += wv * (AT)xr[t];         \
                        }                                                                          \
                      }                                                                            \
                    }                                                                              \
                  }                                                                                \
                }                                                                                  \
              }                                                                                    \
              const int64_t yoff =                                                                 \
                  n * p->ys_n + oc * p->ys_c + od * p->ys[0] + oh * p->ys[1] + ow0 * p->ys[2];     \
              MT* o = ddk_ku_out_row_##SUF(oscr, p->y, dt, yoff, p->ys[2]);                        \
              for (int64_t t = 0; t < cw; ++t) o[t] = (MT)(acc[t] + bias);                         \
              ddk_ku_out_row_commit_##SUF(o, p->y, dt, yoff, p->ys[2], cw);                        \
            }                                                                                      \
      }                                                                                            \
  }

CONV_DEFINE(f32, float, float)
CONV_DEFINE(f64, double, double)
CONV_DEFINE(i64, int64_t, uint64_t)

/* Merges spatial dim `dim` into W when a 1x1, stride-1, unpadded tap lets
 * input and output rows run on across it. */
static void conv_fold(conv_problem* p, int dim) {
  const bool taps_trivial = p->k[dim] == 1 && p->k[2] == 1 && p->s[dim] == 1 && p->s[2] == 1 &&
                            p->p[dim] == 0 && p->p[2] == 0;
  if (!taps_trivial || p->in[dim] != p->out[dim] || p->in[2] != p->out[2]) return;
  if (p->xs[dim] != p->in[2] * p->xs[2] || p->ys[dim] != p->out[2] * p->ys[2]) return;
  for (int d = dim; d < 2; ++d) {
    if (d != dim && p->in[d] != 1) return; /* only fold across dims already folded */
  }
  p->in[2] *= p->in[dim];
  p->out[2] *= p->out[dim];
  p->in[dim] = p->out[dim] = 1;
}

ddk_status ddk_kernel_aten_convolution(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  if (node->num_args < 9 || node->num_outputs < 1)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong number of arguments");
  const ddk_tensor* x = ddk_kernel_arg_tensor(ctx, node, 0);
  const ddk_tensor* w = ddk_kernel_arg_tensor(ctx, node, 1);
  ddk_tensor* y = ddk_kernel_out(ctx, node, 0);
  const ddk_tensor* b = NULL;
  if (node->args[2].kind == DDK_ARG_TENSOR) b = ddk_kernel_arg_tensor(ctx, node, 2);
  const ddk_arg* targ = &node->args[6];
  const ddk_arg* garg = &node->args[8];
  if (targ->kind != DDK_ARG_BOOL || garg->kind != DDK_ARG_INT || garg->u.i <= 0)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT,
                           "transposed must be a bool and groups a positive int");
  const bool transposed = targ->u.b;
  uint32_t dtypes = DDK_KU_MASK_FLOATS | (transposed ? DDK_KU_BIT(INT64) : DDK_KU_MASK_INTS);
  ddk_status st = ddk_ku_check_dtype(ctx, node, "input", x, dtypes);
  if (st == DDK_OK && b != NULL) st = ddk_ku_check_dtype(ctx, node, "bias", b, DDK_KU_MASK_REAL);
  if (st != DDK_OK) return st;
  if (w->dtype != x->dtype || y->dtype != x->dtype)
    return ddk_kernel_fail(
        ctx, node, DDK_DTYPE_MISMATCH, "input %s, weight %s and result %s must share one dtype",
        ddk_dtype_name(x->dtype), ddk_dtype_name(w->dtype), ddk_dtype_name(y->dtype));
  if (x->rank < 3 || x->rank > 5 || w->rank != x->rank || y->rank != x->rank)
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH,
                           "input, weight and result must all be 3-D, 4-D or 5-D");
  const uint32_t sp = x->rank - 2; /* spatial dims */
  const int64_t one[3] = {1, 1, 1}, zero[3] = {0, 0, 0};
  int64_t stride[3], pad[3], dil[3], opad[3];
  st = ddk_ku_arg_int_list(ctx, node, 3, "stride", sp, NULL, stride);
  if (st == DDK_OK) st = ddk_ku_arg_int_list(ctx, node, 4, "padding", sp, zero, pad);
  if (st == DDK_OK) st = ddk_ku_arg_int_list(ctx, node, 5, "dilation", sp, one, dil);
  if (st == DDK_OK) st = ddk_ku_arg_int_list(ctx, node, 7, "output_padding", sp, zero, opad);
  if (st != DDK_OK) return st;
  bool dilated = false;
  for (uint32_t i = 0; i < sp; ++i) dilated = dilated || dil[i] != 1;
  if (dilated && ddk_ku_dtype_in(x->dtype, DDK_KU_MASK_INTS & ~DDK_KU_BIT(INT64)))
    return ddk_kernel_fail(ctx, node, DDK_UNSUPPORTED_DTYPE,
                           "dtype %s of input is not supported with dilation",
                           ddk_dtype_name(x->dtype));

  conv_problem p;
  memset(&p, 0, sizeof p);
  p.dt = x->dtype;
  p.transposed = transposed;
  p.N = x->sizes[0];
  p.G = garg->u.i;
  const int64_t C = x->sizes[1];
  p.cin_g = C / p.G;
  p.cout_g = transposed ? w->sizes[1] : w->sizes[0] / p.G;
  const bool channels_ok = transposed ? (w->sizes[0] == C && C % p.G == 0)
                                      : (w->sizes[1] * p.G == C && w->sizes[0] % p.G == 0);
  if (!channels_ok)
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH,
                           "weight channels do not match input channels / groups");
  if (y->sizes[0] != p.N || y->sizes[1] != p.G * p.cout_g ||
      (b != NULL && (b->rank != 1 || b->sizes[0] != p.G * p.cout_g)))
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "result or bias channels are wrong");
  p.xs_n = x->strides[0];
  p.xs_c = x->strides[1];
  p.ws0 = w->strides[0];
  p.ws1 = w->strides[1];
  p.ys_n = y->strides[0];
  p.ys_c = y->strides[1];
  for (int d = 0; d < 3; ++d) { /* right-align the spatial dims into D, H, W */
    int src = d - (3 - (int)sp);
    p.in[d] = p.out[d] = p.k[d] = p.s[d] = p.d[d] = 1;
    if (src < 0) continue;
    p.in[d] = x->sizes[2 + src];
    p.out[d] = y->sizes[2 + src];
    p.k[d] = w->sizes[2 + src];
    p.s[d] = stride[src];
    p.p[d] = pad[src];
    p.d[d] = dil[src];
    p.xs[d] = x->strides[2 + src];
    p.ws[d] = w->strides[2 + src];
    p.ys[d] = y->strides[2 + src];
    if (p.s[d] <= 0 || p.d[d] <= 0 || p.p[d] < 0 || opad[src] < 0)
      return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT,
                             "stride and dilation must be positive, padding non-negative");
    int64_t span = p.d[d] * (p.k[d] - 1);
    int64_t expect = transposed ? (p.in[d] - 1) * p.s[d] - 2 * p.p[d] + span + opad[src] + 1
                                : (p.in[d] + 2 * p.p[d] - span - 1) / p.s[d] + 1;
    if (!transposed && p.in[d] + 2 * p.p[d] < span + 1) expect = -1;
    if (expect != p.out[d])
      return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH,
                             "result spatial size %lld, expected %lld", (long long)p.out[d],
                             (long long)expect);
  }
  if (b != NULL) {
    p.bias = b->data;
    p.bias_dt = b->dtype;
    p.bs = b->strides[0];
  }
  p.x = x->data;
  p.w = w->data;
  p.y = y->data;
  conv_fold(&p, 1);
  conv_fold(&p, 0);
  switch (ddk_ku_math_of(p.dt)) {
    case DDK_KU_MATH_F32:
      conv_f32(&p);
      break;
    case DDK_KU_MATH_F64:
      conv_f64(&p);
      break;
    case DDK_KU_MATH_I64:
      conv_i64(&p);
      break;
    case DDK_KU_MATH_NONE:
      break;
  }
  return DDK_OK;
}
