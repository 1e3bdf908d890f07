/*
 * broken_conv_padding.c — test fixture: a direct 2-d convolution whose
 * top/left padding is off by one.
 *
 * Claims: aten::convolution, float32, 4-d NCHW input, groups 1, not
 * transposed, any stride / padding / dilation, bias or none.
 *
 * The bug: like many accelerator descriptors, this backend describes padding
 * as a (before, after) pair per dim, and splits ATen's symmetric padding p
 * into total = 2p, before = (total - 1) / 2. That formula is the "SAME
 * padding, extra pixel at the end" split for an odd total; for ATen's even
 * total it gives before = p - 1 (and after = p + 1) whenever p > 0, so every
 * output window is shifted one pixel down/right. With padding 0 the results
 * are right.
 *
 * Expected conformance outcome: fail (numeric mismatch) on any case with
 * padding > 0.
 */
#include "broken_common.h"

enum {
  ARG_INPUT,
  ARG_WEIGHT,
  ARG_BIAS,
  ARG_STRIDE,
  ARG_PADDING,
  ARG_DILATION,
  ARG_TRANSPOSED,
  ARG_OUTPUT_PADDING,
  ARG_GROUPS
};

/* Element d (0 = H, 1 = W) of an int list of 1 or 2 entries (ATen expands a
 * one-entry list to every spatial dim). */
static int64_t pick(const bk_arg* a, int d) {
  return a->count == 1 ? a->i[0] : a->i[d];
}

static bool list_ok(const ddk_arg* a, int64_t min) {
  if (a->kind != DDK_ARG_INT_LIST || a->count < 1 || a->count > 2) return false;
  for (uint32_t i = 0; i < a->count; ++i)
    if (a->u.ints[i] < min) return false;
  return true;
}

static bool claim(const ddk_graph_view* g, const ddk_node_view* n) {
  if (n->op_id != DDK_OP_ATEN_CONVOLUTION || n->num_args != 9) return false;
  const ddk_value_desc* x = bk_arg_value(g, n, ARG_INPUT);
  const ddk_value_desc* w = bk_arg_value(g, n, ARG_WEIGHT);
  const ddk_value_desc* b = bk_arg_value(g, n, ARG_BIAS);
  const ddk_value_desc* y = bk_out_value(g, n);
  if (!bk_is_f32(x) || !bk_is_f32(w) || !bk_is_f32(y) || x->tensor.rank != 4 ||
      w->tensor.rank != 4 || y->tensor.rank != 4)
    return false;
  if (n->args[ARG_BIAS].kind != DDK_ARG_NONE &&
      (!bk_is_f32(b) || b->tensor.rank != 1 || b->tensor.sizes[0] != w->tensor.sizes[0]))
    return false;
  if (!list_ok(&n->args[ARG_STRIDE], 1) || !list_ok(&n->args[ARG_PADDING], 0) ||
      !list_ok(&n->args[ARG_DILATION], 1))
    return false;
  if (n->args[ARG_TRANSPOSED].kind != DDK_ARG_BOOL || n->args[ARG_TRANSPOSED].u.b) return false;
  if (n->args[ARG_GROUPS].kind != DDK_ARG_INT || n->args[ARG_GROUPS].u.i != 1) return false;
  /* input channels match, output is [N, OC, ...] */
  return x->tensor.sizes[1] == w->tensor.sizes[1] && y->tensor.sizes[0] == x->tensor.sizes[0] &&
         y->tensor.sizes[1] == w->tensor.sizes[0];
}

static ddk_status run(bk_handle* h, const bk_node* node, const ddk_tensor* const* in,
                      ddk_tensor* out, char* err, size_t err_cap) {
  (void)h;
  (void)err;
  (void)err_cap;
  const ddk_tensor* xt = in[ARG_INPUT];
  const ddk_tensor* wt = in[ARG_WEIGHT];
  const float* x = xt->data;
  const float* w = wt->data;
  const float* bias = in[ARG_BIAS] != NULL ? in[ARG_BIAS]->data : NULL;
  float* y = out->data;
  const int64_t N = xt->sizes[0], C = xt->sizes[1], H = xt->sizes[2], W = xt->sizes[3];
  const int64_t OC = wt->sizes[0], KH = wt->sizes[2], KW = wt->sizes[3];
  const int64_t OH = out->sizes[2], OW = out->sizes[3];
  const bk_arg* stride = &node->args[ARG_STRIDE];
  const bk_arg* padding = &node->args[ARG_PADDING];
  const bk_arg* dilation = &node->args[ARG_DILATION];
  const int64_t sh = pick(stride, 0), sw = pick(stride, 1);
  const int64_t dh = pick(dilation, 0), dw = pick(dilation, 1);
  /* Padding as the (before, after) pair the "hardware" takes.
   * BUG: (total - 1) / 2 is p - 1 for total = 2p > 0; it should be total / 2. */
  const int64_t total_h = 2 * pick(padding, 0), total_w = 2 * pick(padding, 1);
  const int64_t ph = (total_h - 1) / 2, pw = (total_w - 1) / 2;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t oc = 0; oc < OC; ++oc)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          float acc = bias != NULL ? bias[oc] : 0.0f;
          for (int64_t c = 0; c < C; ++c)
            for (int64_t kh = 0; kh < KH; ++kh) {
              int64_t ih = oh * sh - ph + kh * dh;
              if (ih < 0 || ih >= H) continue;
              for (int64_t kw = 0; kw < KW; ++kw) {
                int64_t iw = ow * sw - pw + kw * dw;
                if (iw < 0 || iw >= W) continue;
                acc += x[((n * C + c) * H + ih) * W + iw] * w[((oc * C + c) * KH + kh) * KW + kw];
              }
            }
          y[((n * OC + oc) * OH + oh) * OW + ow] = acc;
        }
  return DDK_OK;
}

static const bk_ops ops = {
    .detail = "fp32 2-d convolution, groups 1 (BUG: top/left padding off by one)",
    .claim = claim,
    .run = run,
};

BK_DEFINE_BACKEND("broken_conv_padding", ops)
