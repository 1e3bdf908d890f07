/*
 * broken_tail.c — test fixture: sigmoid in 1024-element tiles whose tail
 * loop drops the last few elements.
 *
 * Claims: aten::sigmoid, float32.
 *
 * The bug: the kernel runs whole tiles of 1024 elements, then the rest in
 * 8-wide steps (`i + 8 <= n`), written for a vector unit, with no scalar
 * epilogue for the final n % 8 elements. Tensors of up to 1024 elements go
 * through the plain path and are right, so small test tensors never show it;
 * a tensor just past a tile boundary (1031 = 1024 + 7) leaves its last 7
 * outputs unwritten.
 *
 * Expected conformance outcome: fail (numeric), on the cases longer than one
 * tile whose length is not a multiple of 8.
 */
#include <math.h>

#include "broken_common.h"

#define TILE 1024
#define STEP 8

static bool claim(const ddk_graph_view* g, const ddk_node_view* n) {
  return n->op_id == DDK_OP_ATEN_SIGMOID && bk_unary_f32(g, n);
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
  if (n <= TILE) {
    for (size_t i = 0; i < n; ++i) y[i] = 1.0f / (1.0f + expf(-x[i]));
    return DDK_OK;
  }
  size_t full = n / TILE * TILE;
  for (size_t i = 0; i < full; ++i) y[i] = 1.0f / (1.0f + expf(-x[i]));
  for (size_t i = full; i + STEP <= n; i += STEP) /* BUG: no epilogue for n % 8 */
    for (size_t k = 0; k < STEP; ++k) y[i + k] = 1.0f / (1.0f + expf(-x[i + k]));
  return DDK_OK;
}

static const bk_ops ops = {
    .detail = "fp32 sigmoid in 1024-element tiles (BUG: drops the last n % 8 elements past a tile)",
    .claim = claim,
    .run = run,
};

BK_DEFINE_BACKEND("broken_tail", ops)
