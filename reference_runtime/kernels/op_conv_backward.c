/*
 * op_conv_backward.c — aten::convolution_backward (1-d, 2-d, 3-d; plain
 * and transposed; stride, padding, dilation, groups, output_padding).
 *
 * Semantics (ATen CPU): for the forward op of aten::convolution with the
 * same arguments,
 *  - grad_input[n, ic, x]   = sum over oc of ic's group and taps t of
 *                             grad_output[n, oc, o(x, t)] * weight[.., t]
 *  - grad_weight[.., t]     = sum over n, x of input[n, ic, x] *
 *                             grad_output[n, oc, o(x, t)]
 *  - grad_bias[oc]          = sum over n and positions of grad_output
 * where o(x, t) is the output position that input position x feeds
 * through tap t (plain: x = o * s - p + t * d; transposed:
 * o = x * s - p + t * d), per spatial dim. bias_sizes is not used (ATen
 * ignores it too).
 *
 * output_mask: an output whose mask entry is false is returned as an
 * EMPTY tensor (1-d, size 0, of the result dtype) — the DDK's stand-in for
 * ATen's undefined tensor; inference sizes it so. Outputs whose entry is
 * true have their usual shapes (grad_bias [Cout]).
 *
 * Accumulation is in double for every dtype (more accurate than ATen's
 * float GEMMs; the golden tolerance is ATen's own error bound), rounded
 * once to the dtype.
 *
 * Dtypes: float16, bfloat16, float32, float64; all three tensors share one.
 * Layout: any strides; results are written through their strides.
 */
#include "op_pooling_util.h"

typedef struct cb_problem {
  bool transposed;
  int64_t N, G, cin_g, cout_g;
  int64_t in[3], out[3], k[3], s[3], p[3], d[3];
  int64_t xs[5], gs[5], ws0, ws1, ws[3];
} cb_problem;

/* Output position fed by input position x through tap t along dim i, or -1. */
static int64_t cb_out_of(const cb_problem* p, int i, int64_t x, int64_t t) {
  if (p->transposed) {
    int64_t o = x * p->s[i] - p->p[i] + t * p->d[i];
    return (o >= 0 && o < p->out[i]) ? o : -1;
  }
  int64_t num = x + p->p[i] - t * p->d[i];
  if (num < 0 || num % p->s[i] != 0) return -1;
  num /= p->s[i];
  return num < p->out[i] ? num : -1;
}

static int64_t cb_woff(const cb_problem* p, int64_t g, int64_t icg, int64_t ocg,
                       const int64_t t[3]) {
  const int64_t ic = g * p->cin_g + icg, oc = g * p->cout_g + ocg;
  const int64_t base = p->transposed ? ic * p->ws0 + ocg * p->ws1 : oc * p->ws0 + icg * p->ws1;
  return base + t[0] * p->ws[0] + t[1] * p->ws[1] + t[2] * p->ws[2];
}

/* Output offset in grad_output for (n, oc) and input position x through
 * tap t, or -1. */
static int64_t cb_goff(const cb_problem* p, int64_t n, int64_t oc, const int64_t x[3],
                       const int64_t t[3]) {
  int64_t off = n * p->gs[0] + oc * p->gs[1];
  for (int i = 0; i < 3; ++i) {
    const int64_t o = cb_out_of(p, i, x[i], t[i]);
    if (o < 0) return -1;
    off += o * p->gs[2 + i];
  }
  return off;
}

static void cb_grad_input(const cb_problem* p, const ddk_tensor* go, const ddk_tensor* w,
                          ddk_tensor* gi, uint32_t S) {
  int64_t is[5], x[3], t[3];
  ddk_pu_strides5(gi, S, is);
  const ddk_dtype dt = go->dtype;
  for (int64_t n = 0; n < p->N; ++n)
    for (int64_t g = 0; g < p->G; ++g)
      for (int64_t icg = 0; icg < p->cin_g; ++icg)
        for (x[0] = 0; x[0] < p->in[0]; ++x[0])
          for (x[1] = 0; x[1] < p->in[1]; ++x[1])
            for (x[2] = 0; x[2] < p->in[2]; ++x[2]) {
              double acc = 0.0;
              for (int64_t ocg = 0; ocg < p->cout_g; ++ocg)
                for (t[0] = 0; t[0] < p->k[0]; ++t[0])
                  for (t[1] = 0; t[1] < p->k[1]; ++t[1])
                    for (t[2] = 0; t[2] < p->k[2]; ++t[2]) {
                      const int64_t goff = cb_goff(p, n, g * p->cout_g + ocg, x, t);
                      if (goff < 0) continue;
                      acc += ddk_ku_load_f64(go->data, dt, goff) *
                             ddk_ku_load_f64(w->data, dt, cb_woff(p, g, icg, ocg, t));
                    }
              const int64_t ic = g * p->cin_g + icg;
              ddk_ku_store_f64(gi->data, dt,
                               n * is[0] + ic * is[1] + x[0] * is[2] + x[1] * is[3] + x[2] * is[4],
                               acc);
            }
}

static void cb_grad_weight(const cb_problem* p, const ddk_tensor* go, const ddk_tensor* in,
                           ddk_tensor* gw) {
  cb_problem q = *p; /* the result's strides in place of the weight's */
  q.ws0 = gw->strides[0];
  q.ws1 = gw->strides[1];
  const uint32_t S = gw->rank - 2;
  for (int i = 0; i < 3; ++i) {
    const int src = i - (3 - (int)S);
    q.ws[i] = src < 0 ? 0 : gw->strides[2 + src];
  }
  const ddk_dtype dt = go->dtype;
  int64_t x[3], t[3];
  for (int64_t g = 0; g < p->G; ++g)
    for (int64_t icg = 0; icg < p->cin_g; ++icg)
      for (int64_t ocg = 0; ocg < p->cout_g; ++ocg)
        for (t[0] = 0; t[0] < p->k[0]; ++t[0])
          for (t[1] = 0; t[1] < p->k[1]; ++t[1])
            for (t[2] = 0; t[2] < p->k[2]; ++t[2]) {
              const int64_t ic = g * p->cin_g + icg, oc = g * p->cout_g + ocg;
              double acc = 0.0;
              for (int64_t n = 0; n < p->N; ++n)
                for (x[0] = 0; x[0] < p->in[0]; ++x[0])
                  for (x[1] = 0; x[1] < p->in[1]; ++x[1])
                    for (x[2] = 0; x[2] < p->in[2]; ++x[2]) {
                      const int64_t goff = cb_goff(p, n, oc, x, t);
                      if (goff < 0) continue;
                      const int64_t xoff = n * p->xs[0] + ic * p->xs[1] + x[0] * p->xs[2] +
                                           x[1] * p->xs[3] + x[2] * p->xs[4];
                      acc +=
                          ddk_ku_load_f64(go->data, dt, goff) * ddk_ku_load_f64(in->data, dt, xoff);
                    }
              ddk_ku_store_f64(gw->data, dt, cb_woff(&q, g, icg, ocg, t), acc);
            }
}

static void cb_grad_bias(const cb_problem* p, const ddk_tensor* go, ddk_tensor* gb) {
  const ddk_dtype dt = go->dtype;
  for (int64_t oc = 0; oc < p->G * p->cout_g; ++oc) {
    double acc = 0.0;
    for (int64_t n = 0; n < p->N; ++n)
      for (int64_t a = 0; a < p->out[0]; ++a)
        for (int64_t b = 0; b < p->out[1]; ++b)
          for (int64_t c = 0; c < p->out[2]; ++c)
            acc += ddk_ku_load_f64(
                go->data, dt,
                n * p->gs[0] + oc * p->gs[1] + a * p->gs[2] + b * p->gs[3] + c * p->gs[4]);
    ddk_ku_store_f64(gb->data, dt, oc * gb->strides[0], acc);
  }
}

ddk_status ddk_kernel_aten_convolution_backward(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  if (node->num_args < 11 || node->num_outputs < 3)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong number of arguments");
  const ddk_tensor* go = ddk_kernel_arg_tensor(ctx, node, 0);
  const ddk_tensor* x = ddk_kernel_arg_tensor(ctx, node, 1);
  const ddk_tensor* w = ddk_kernel_arg_tensor(ctx, node, 2);
  const ddk_arg* targ = &node->args[7];
  const ddk_arg* garg = &node->args[9];
  const ddk_arg* mask = &node->args[10];
  if (targ->kind != DDK_ARG_BOOL || garg->kind != DDK_ARG_INT || garg->u.i <= 0 ||
      mask->kind != DDK_ARG_BOOL_LIST || mask->count != 3)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT,
                           "transposed must be a bool, groups a positive int and output_mask "
                           "three bools");
  ddk_status st = ddk_ku_check_dtype(ctx, node, "input", x, DDK_KU_MASK_FLOATS);
  if (st != DDK_OK) return st;
  if (go->dtype != x->dtype || w->dtype != x->dtype)
    return ddk_kernel_fail(ctx, node, DDK_DTYPE_MISMATCH,
                           "grad_output, input and weight must share one dtype");
  if (x->rank < 3 || x->rank > 5 || w->rank != x->rank || go->rank != x->rank)
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH,
                           "grad_output, input and weight must all be 3-D, 4-D or 5-D");
  const uint32_t S = x->rank - 2;
  const int64_t one[3] = {1, 1, 1}, zero[3] = {0, 0, 0};
  int64_t stride[3], pad[3], dil[3], opad[3];
  st = ddk_ku_arg_int_list(ctx, node, 4, "stride", S, NULL, stride);
  if (st == DDK_OK) st = ddk_ku_arg_int_list(ctx, node, 5, "padding", S, zero, pad);
  if (st == DDK_OK) st = ddk_ku_arg_int_list(ctx, node, 6, "dilation", S, one, dil);
  if (st == DDK_OK) st = ddk_ku_arg_int_list(ctx, node, 8, "output_padding", S, zero, opad);
  if (st != DDK_OK) return st;

  cb_problem p;
  memset(&p, 0, sizeof p);
  p.transposed = targ->u.b;
  p.N = x->sizes[0];
  p.G = garg->u.i;
  const int64_t C = x->sizes[1];
  p.cin_g = C / p.G;
  p.cout_g = p.transposed ? w->sizes[1] : w->sizes[0] / p.G;
  const bool channels_ok = p.transposed ? (w->sizes[0] == C && C % p.G == 0)
                                        : (w->sizes[1] * p.G == C && w->sizes[0] % p.G == 0);
  if (!channels_ok || go->sizes[0] != p.N || go->sizes[1] != p.G * p.cout_g)
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH,
                           "weight or grad_output channels do not match input channels / groups");
  ddk_pu_strides5(x, S, p.xs);
  ddk_pu_strides5(go, S, p.gs);
  p.ws0 = w->strides[0];
  p.ws1 = w->strides[1];
  for (int i = 0; i < 3; ++i) {
    const int src = i - (3 - (int)S);
    p.in[i] = p.out[i] = p.k[i] = p.s[i] = p.d[i] = 1;
    if (src < 0) continue;
    p.in[i] = x->sizes[2 + src];
    p.out[i] = go->sizes[2 + src];
    p.k[i] = w->sizes[2 + src];
    p.s[i] = stride[src];
    p.p[i] = pad[src];
    p.d[i] = dil[src];
    p.ws[i] = w->strides[2 + src];
    if (p.s[i] <= 0 || p.d[i] <= 0 || p.p[i] < 0 || opad[src] < 0)
      return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT,
                             "stride and dilation must be positive, padding non-negative");
    const int64_t span = p.d[i] * (p.k[i] - 1);
    int64_t expect = p.transposed ? (p.in[i] - 1) * p.s[i] - 2 * p.p[i] + span + opad[src] + 1
                                  : (p.in[i] + 2 * p.p[i] - span - 1) / p.s[i] + 1;
    if (!p.transposed && p.in[i] + 2 * p.p[i] < span + 1) expect = -1;
    if (expect != p.out[i])
      return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH,
                             "grad_output spatial size %lld, expected %lld", (long long)p.out[i],
                             (long long)expect);
  }
  const int64_t empty[1] = {0};
  const int64_t cout[1] = {p.G * p.cout_g};
  ddk_tensor* outs[3];
  for (uint32_t i = 0; i < 3; ++i) {
    outs[i] = ddk_kernel_out(ctx, node, i);
    const ddk_tensor* like = i == 0 ? x : w;
    const bool ok = !mask->u.bools[i] ? ddk_pu_same_sizes(outs[i], empty, 1)
                                      : (i < 2 ? ddk_pu_same_sizes(outs[i], like->sizes, like->rank)
                                               : ddk_pu_same_sizes(outs[i], cout, 1));
    if (!ok || outs[i]->dtype != x->dtype)
      return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "result %u has the wrong shape", i);
  }
  if (mask->u.bools[0]) cb_grad_input(&p, go, w, outs[0], S);
  if (mask->u.bools[1]) cb_grad_weight(&p, go, x, outs[1]);
  if (mask->u.bools[2]) cb_grad_bias(&p, go, outs[2]);
  return DDK_OK;
}
