/*
 * broken_max_nan.c — test fixture: elementwise maximum that swallows NaN.
 *
 * Claims: aten::maximum, float32, both operands and the output of one shape.
 *
 * The bug: it computes fmaxf(a, b). C's fmax treats NaN as missing data and
 * returns the other operand, while ATen's maximum propagates NaN (if either
 * operand is NaN the result is NaN). fmaxf is the obvious libm call and the
 * one most SIMD "max" instructions are modelled on, so this is a common port
 * bug. Without NaNs the results are right.
 *
 * Expected conformance outcome: fail (numeric mismatch) on inputs with NaN.
 */
#include <math.h>

#include "broken_common.h"

static bool claim(const ddk_graph_view* g, const ddk_node_view* n) {
  return n->op_id == DDK_OP_ATEN_MAXIMUM && bk_binary_f32_same_shape(g, n);
}

static ddk_status run(bk_handle* h, const bk_node* node, const ddk_tensor* const* in,
                      ddk_tensor* out, char* err, size_t err_cap) {
  (void)h;
  (void)node;
  (void)err;
  (void)err_cap;
  const float* a = in[0]->data;
  const float* b = in[1]->data;
  float* y = out->data;
  size_t n = bk_numel(out);
  for (size_t i = 0; i < n; ++i) y[i] = fmaxf(a[i], b[i]); /* BUG: NaN is not propagated */
  return DDK_OK;
}

static const bk_ops ops = {
    .detail = "fp32 maximum, same shapes (BUG: fmaxf swallows NaN)",
    .claim = claim,
    .run = run,
};

BK_DEFINE_BACKEND("broken_max_nan", ops)
