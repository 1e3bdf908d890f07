/*
 * broken_broadcast.c — test fixture: broadcasting add/mul that ignores the
 * broadcast layout of its second operand.
 *
 * Claims: aten::add.Tensor (any alpha) and aten::mul.Tensor, float32, where
 * `self` has the output's shape and `other` broadcasts to it.
 *
 * The bug: it reads other[i % numel(other)] for output element i. That
 * "cyclic" indexing is exactly right when `other` broadcasts from the last
 * dims (a bias of shape [C] added to [N, C], a scalar, a same-shape operand),
 * which is what a quick test usually tries, and wrong for every other
 * pattern: a column [N, 1] against [N, C], or [C, 1, 1] against [N, C, H, W].
 *
 * Expected conformance outcome: fail (numeric mismatch) on broadcasts that
 * are not trailing-dim broadcasts.
 */
#include "broken_common.h"

static bool broadcasts_to(const ddk_value_desc* b, const ddk_value_desc* out) {
  uint32_t rb = b->tensor.rank, ro = out->tensor.rank;
  if (rb > ro) return false;
  for (uint32_t i = 0; i < rb; ++i) {
    int64_t sb = b->tensor.sizes[rb - 1 - i], so = out->tensor.sizes[ro - 1 - i];
    if (sb != so && sb != 1) return false;
  }
  return true;
}

static bool claim(const ddk_graph_view* g, const ddk_node_view* n) {
  if (n->op_id == DDK_OP_ATEN_ADD_TENSOR) {
    if (n->num_args != 3 || (n->args[2].kind != DDK_ARG_INT && n->args[2].kind != DDK_ARG_FLOAT))
      return false;
  } else if (n->op_id != DDK_OP_ATEN_MUL_TENSOR || n->num_args != 2) {
    return false;
  }
  const ddk_value_desc* b = bk_arg_value(g, n, 1);
  return bk_unary_f32(g, n) && bk_is_f32(b) && broadcasts_to(b, bk_out_value(g, n));
}

static ddk_status run(bk_handle* h, const bk_node* node, const ddk_tensor* const* in,
                      ddk_tensor* out, char* err, size_t err_cap) {
  (void)h;
  (void)err;
  (void)err_cap;
  const float* a = in[0]->data;
  const float* b = in[1]->data;
  float* y = out->data;
  size_t n = bk_numel(out);
  size_t nb = bk_numel(in[1]);
  if (n == 0) return DDK_OK;
  /* BUG: i % nb is the broadcast index only when `other` broadcasts from the
   * trailing dims; a real broadcast maps each output index dim by dim. */
  if (node->op_id == DDK_OP_ATEN_MUL_TENSOR) {
    for (size_t i = 0; i < n; ++i) y[i] = a[i] * b[i % nb];
  } else {
    float alpha = (float)bk_scalar(node, 2, 1.0);
    for (size_t i = 0; i < n; ++i) y[i] = a[i] + alpha * b[i % nb];
  }
  return DDK_OK;
}

static const bk_ops ops = {
    .detail = "fp32 add/mul with broadcasting (BUG: other indexed as other[i % numel])",
    .claim = claim,
    .run = run,
};

BK_DEFINE_BACKEND("broken_broadcast", ops)
