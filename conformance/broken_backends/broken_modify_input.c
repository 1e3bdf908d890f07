/*
 * broken_modify_input.c — test fixture: relu that clobbers its input.
 *
 * Claims: aten::relu, float32.
 *
 * The bug: it applies relu in place on the input buffer and then copies the
 * input to the output. Its outputs are right, but the input changed, and the
 * runtime may still read that value later (another node, the caller's next
 * look at an input, a residual connection). In-place kernels are a common
 * optimisation in backends written for frameworks that allow them;
 * ddk_tensor.data being a plain void* makes it easy to do by accident.
 *
 * Expected conformance outcome: input modified (DDK_INPUT_MODIFIED under the
 * runtime's "check_inputs" debug option) on inputs with negative values.
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
  float* x = in[0]->data; /* BUG: the input is written through this pointer */
  size_t n = bk_numel(out);
  for (size_t i = 0; i < n; ++i)
    if (x[i] < 0.0f) x[i] = 0.0f;
  if (n > 0) memcpy(out->data, x, n * sizeof(float));
  return DDK_OK;
}

static const bk_ops ops = {
    .detail = "fp32 relu (BUG: computed in place in the input)",
    .claim = claim,
    .run = run,
};

BK_DEFINE_BACKEND("broken_modify_input", ops)
