/*
 * broken_round_half.c — test fixture: round() with the wrong tie rule.
 *
 * Claims: aten::round, float32.
 *
 * The bug: it computes roundf(x), which rounds halfway cases away from zero
 * (2.5 -> 3, -0.5 -> -1). ATen's round rounds half to even (2.5 -> 2,
 * -0.5 -> -0), like nearbyint under the default rounding mode. roundf is what
 * the name suggests, so this is an easy mistake. Only exact .5 ties differ.
 *
 * Expected conformance outcome: fail (numeric mismatch) on inputs with ties.
 */
#include <math.h>

#include "broken_common.h"

static bool claim(const ddk_graph_view* g, const ddk_node_view* n) {
  return n->op_id == DDK_OP_ATEN_ROUND && n->num_args == 1 && bk_unary_f32(g, n);
}

static ddk_status run(bk_handle* h, const bk_node* node, const ddk_tensor* const* in,
                      ddk_tensor* out, char* err, size_t err_cap) {
  (void)h;
  (void)node;
  (void)err;
  (void)err_cap;
  const float* x = in[0]->data;
  float* y = out->data;
  size_t n = bk_numel(out);
  for (size_t i = 0; i < n; ++i) y[i] = roundf(x[i]); /* BUG: ties away from zero */
  return DDK_OK;
}

static const bk_ops ops = {
    .detail = "fp32 round (BUG: halfway cases away from zero, not to even)",
    .claim = claim,
    .run = run,
};

BK_DEFINE_BACKEND("broken_round_half", ops)
