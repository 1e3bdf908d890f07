/*
 * broken_zero_size.c — test fixture: relu that runs away on empty tensors.
 *
 * Claims: aten::relu, float32 (including tensors with a zero-size dim).
 *
 * The bug: the loop runs from element 0 to the inclusive index of the last
 * element, last = n - 1, in the "count minus one" encoding that DMA engines
 * and job descriptors use, testing for the end after each element. With an
 * unsigned n of 0, n - 1 wraps to SIZE_MAX and the loop reads and writes
 * until it leaves mapped memory. Zero-size tensors are legal in ATen (an
 * empty batch, a data-dependent size) and rarely tested.
 *
 * (The textbook form `for (i = 0; i <= n - 1; ++i)` has the same bug, but
 * clang may infer from the array accesses that n > 0 and run it once, which
 * turns the crash into a 4-byte out-of-bounds write; the form below crashes
 * with gcc and clang alike.)
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
  size_t last = bk_numel(out) - 1; /* BUG: wraps to SIZE_MAX when the tensor is empty */
  for (size_t i = 0;; ++i) {
    y[i] = (x[i] < 0.0f) ? 0.0f : x[i];
    if (i == last) break;
  }
  return DDK_OK;
}

static const bk_ops ops = {
    .detail = "fp32 relu (BUG: runs away on zero-size tensors)",
    .claim = claim,
    .run = run,
};

BK_DEFINE_BACKEND("broken_zero_size", ops)
