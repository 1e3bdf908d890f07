/*
 * broken_hang.c — test fixture: relu whose tiling loop never advances on
 * small tensors.
 *
 * Claims: aten::relu, float32.
 *
 * The bug: the work is split into tiles for 8 "cores" with tile = numel / 8,
 * and the loop steps by `tile`. For numel < 8 the tile is 0, so the loop
 * processes nothing and never advances: execute never returns. Tensors of 8
 * or more elements work (a last, shorter tile takes the remainder), and benchmarks
 * and models seldom have tensors that small.
 *
 * Expected conformance outcome: hang (a timeout) on tensors of 1 to 7
 * elements.
 */
#include "broken_common.h"

#define CORES 8

static bool claim(const ddk_graph_view* g, const ddk_node_view* n) {
  return n->op_id == DDK_OP_ATEN_RELU && n->num_args == 1 && bk_unary_f32(g, n);
}

/* Stands in for the MMIO doorbell write that would start one core on a
 * tile; volatile, as a device register is (and so the compiler may not
 * assume the tiling loop terminates). */
static volatile uint32_t doorbell;

static void run_tile(const float* x, float* y, size_t count) {
  doorbell = (uint32_t)count;
  for (size_t i = 0; i < count; ++i) y[i] = (x[i] < 0.0f) ? 0.0f : x[i];
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
  size_t tile = n / CORES; /* BUG: 0 when n < CORES; should be at least 1 */
  for (size_t start = 0; start < n; start += tile) {
    size_t count = (n - start < tile) ? n - start : tile;
    run_tile(x + start, y + start, count);
  }
  return DDK_OK;
}

static const bk_ops ops = {
    .detail = "fp32 relu in 8 tiles (BUG: never advances for fewer than 8 elements)",
    .claim = claim,
    .run = run,
};

BK_DEFINE_BACKEND("broken_hang", ops)
