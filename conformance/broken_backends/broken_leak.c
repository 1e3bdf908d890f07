/*
 * broken_leak.c — test fixture: relu whose destroy leaks a staging buffer.
 *
 * Claims: aten::relu, float32. Results are right.
 *
 * The bug: init allocates a staging buffer through services->allocator (it
 * stands in for the device buffer a real accelerator copies tensors through)
 * and destroy frees the handle but never the staging buffer: the backend has
 * no on_destroy hook, the teardown was simply never written. Every method
 * created and destroyed leaks it, which only an allocator that counts (the
 * conformance runner's) notices.
 *
 * Expected conformance outcome: leak (allocator not balanced after destroy).
 */
#include "broken_common.h"

typedef struct staging {
  size_t bytes; /* of the whole allocation */
  float data[];
} staging;

static bool claim(const ddk_graph_view* g, const ddk_node_view* n) {
  return n->op_id == DDK_OP_ATEN_RELU && n->num_args == 1 && bk_unary_f32(g, n);
}

/* Allocates a staging buffer as large as the largest node output. */
static ddk_status on_init(bk_handle* h, char* err, size_t err_cap) {
  size_t floats = 0;
  for (uint32_t k = 0; k < h->h.num_nodes; ++k) {
    size_t n = (size_t)(bk_slot_bytes(&h->slots[h->nodes[k].out]) / sizeof(float));
    if (n > floats) floats = n;
  }
  size_t bytes = sizeof(staging) + floats * sizeof(float);
  staging* s = h->services.allocator.alloc(h->services.allocator.self, bytes, 64);
  if (s == NULL) {
    ddk_set_error(err, err_cap, "broken_leak: out of memory for the staging buffer");
    return DDK_OUT_OF_MEMORY;
  }
  s->bytes = bytes;
  h->user = s;
  return DDK_OK;
}

static ddk_status run(bk_handle* h, const bk_node* node, const ddk_tensor* const* in,
                      ddk_tensor* out, char* err, size_t err_cap) {
  (void)node;
  (void)err;
  (void)err_cap;
  staging* s = h->user;
  size_t n = bk_numel(out);
  if (n == 0) return DDK_OK;
  memcpy(s->data, in[0]->data, n * sizeof(float)); /* "upload" */
  for (size_t i = 0; i < n; ++i)
    if (s->data[i] < 0.0f) s->data[i] = 0.0f;
  memcpy(out->data, s->data, n * sizeof(float)); /* "download" */
  return DDK_OK;
}

static const bk_ops ops = {
    .detail = "fp32 relu through a staging buffer (BUG: destroy leaks the buffer)",
    .claim = claim,
    .on_init = on_init,
    .run = run,
    /* BUG: no .on_destroy: the staging buffer from on_init is never freed. */
};

BK_DEFINE_BACKEND("broken_leak", ops)
