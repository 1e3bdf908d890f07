/*
 * broken_alpha.c — test fixture: add that ignores alpha.
 *
 * Claims: aten::add.Tensor, float32, same-shape operands, any alpha.
 *
 * The bug: it computes self + other, dropping the `alpha` multiplier of
 * ATen's add.Tensor (self + alpha * other). alpha is a keyword argument that
 * defaults to 1 and that almost every model leaves at 1, so the bug survives
 * model-level testing; the backend should either honour alpha or refuse to
 * claim alpha != 1 (as the template backend does).
 *
 * Expected conformance outcome: fail (numeric mismatch) on alpha != 1.
 */
#include "broken_common.h"

static bool claim(const ddk_graph_view* g, const ddk_node_view* n) {
  return n->op_id == DDK_OP_ATEN_ADD_TENSOR && n->num_args == 3 &&
         (n->args[2].kind == DDK_ARG_INT || n->args[2].kind == DDK_ARG_FLOAT) &&
         bk_binary_f32_same_shape(g, n);
}

static ddk_status run(bk_handle* h, const bk_node* node, const ddk_tensor* const* in,
                      ddk_tensor* out, char* err, size_t err_cap) {
  (void)h;
  (void)node; /* BUG: node->args[2] (alpha) is never read */
  (void)err;
  (void)err_cap;
  const float* a = in[0]->data;
  const float* b = in[1]->data;
  float* y = out->data;
  size_t n = bk_numel(out);
  for (size_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
  return DDK_OK;
}

static const bk_ops ops = {
    .detail = "fp32 add, same shapes, any alpha (BUG: alpha ignored)",
    .claim = claim,
    .run = run,
};

BK_DEFINE_BACKEND("broken_alpha", ops)
