/*
 * broken_write_past.c — test fixture: relu that writes one element past the
 * end of its output.
 *
 * Claims: aten::relu, float32.
 *
 * The bug: a fencepost error, `i <= n` where `i < n` was meant, so the loop
 * stores n + 1 elements. The extra store usually lands in padding or in a
 * neighbouring buffer and the outputs look right, which is why such bugs ship;
 * only a guard region after the output (the runtime's "guard_bytes" debug
 * option) or a sanitizer sees it.
 *
 * Expected conformance outcome: out-of-bounds write (DDK_OUT_OF_BOUNDS_WRITE
 * under the guard-bytes check).
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
  if (n == 0) return DDK_OK;
  for (size_t i = 0; i <= n; ++i) /* BUG: should be i < n */
    y[i] = (x[i] < 0.0f) ? 0.0f : x[i];
  return DDK_OK;
}

static const bk_ops ops = {
    .detail = "fp32 relu (BUG: writes one element past the output)",
    .claim = claim,
    .run = run,
};

BK_DEFINE_BACKEND("broken_write_past", ops)
