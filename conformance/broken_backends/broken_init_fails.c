/*
 * broken_init_fails.c — test fixture: claims sigmoid, then cannot run it.
 *
 * Claims: aten::relu, aten::tanh and aten::sigmoid, float32.
 *
 * The bug: partition's op list and init's activation table disagree.
 * partition claims sigmoid and preprocess compiles it, but init looks each
 * node's activation up in the table of activations the "hardware" has, which
 * lacks sigmoid, and fails with DDK_BACKEND_FAILURE "unsupported activation".
 * Two lists that must be edited in step drift apart — a classic. Claiming is
 * a contract: a claimed node must run; the backend should have refused to
 * claim it and let the portable kernel run it.
 *
 * Expected conformance outcome: claimed but broken (init fails for a node
 * the backend claimed).
 */
#include <math.h>

#include "broken_common.h"

/* What partition claims. */
static bool is_claimed_op(uint32_t op_id) {
  return op_id == DDK_OP_ATEN_RELU || op_id == DDK_OP_ATEN_TANH || op_id == DDK_OP_ATEN_SIGMOID;
}

/* What the "hardware" has. BUG: no entry for sigmoid. */
static const uint32_t activations[] = {DDK_OP_ATEN_RELU, DDK_OP_ATEN_TANH};

static bool claim(const ddk_graph_view* g, const ddk_node_view* n) {
  return is_claimed_op(n->op_id) && n->num_args == 1 && bk_unary_f32(g, n);
}

static ddk_status prepare(const bk_node* node, char* err, size_t err_cap) {
  for (size_t i = 0; i < sizeof activations / sizeof activations[0]; ++i)
    if (activations[i] == node->op_id) return DDK_OK;
  ddk_set_error(err, err_cap, "broken_init_fails: unsupported activation");
  return DDK_BACKEND_FAILURE;
}

static ddk_status run(bk_handle* h, const bk_node* node, const ddk_tensor* const* in,
                      ddk_tensor* out, char* err, size_t err_cap) {
  (void)h;
  const float* x = in[0]->data;
  float* y = out->data;
  size_t n = bk_numel(out);
  switch (node->op_id) {
    case DDK_OP_ATEN_RELU:
      for (size_t i = 0; i < n; ++i) y[i] = (x[i] < 0.0f) ? 0.0f : x[i];
      return DDK_OK;
    case DDK_OP_ATEN_TANH:
      for (size_t i = 0; i < n; ++i) y[i] = tanhf(x[i]);
      return DDK_OK;
    default:
      ddk_set_error(err, err_cap, "broken_init_fails: unsupported activation");
      return DDK_BACKEND_FAILURE;
  }
}

static const bk_ops ops = {
    .detail = "fp32 relu/tanh/sigmoid (BUG: init refuses the sigmoid it claimed)",
    .claim = claim,
    .prepare = prepare,
    .run = run,
};

BK_DEFINE_BACKEND("broken_init_fails", ops)
