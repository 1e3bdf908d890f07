/*
 * broken_zero_size.c — test fixture: relu that runs away on empty tensors.
 *
 * Claims: aten::relu, float32 (including tensors with a zero-size dim).
 *
 * The bug: the loop is written `for (i = 0; i <= n - 1; ++i)` with an
 * unsigned n. For n == 0, n - 1 wraps to SIZE_MAX and the loop reads and
 * writes until it leaves mapped memory. Zero-size tensors are legal in ATen
 * (an empty batch, a data-dependent size) and rarely tested.
 *
 * Expected conformance outcome: crash (SIGSEGV) on a zero-size input.
 */
#include "broken_common.h"

static bool claim(const ddk_graph_view* g, const ddk_node_view* n) {
  return n->op_id == DDK_OP_ATEN_RELU && n->num_args == 1 && bk_unary_f32(g, n);
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
  for (size_t i = 0; i <= n - 1; ++i) /* BUG: n - 1 wraps to SIZE_MAX when n == 0 */
    y[i] = (x[i] < 0.0f) ? 0.0f : x[i];
  return DDK_OK;
}

static const bk_ops ops = {
    .detail = "fp32 relu (BUG: runs away on zero-size tensors)",
    .claim = claim,
    .run = run,
};

BK_DEFINE_BACKEND("broken_zero_size", ops)
