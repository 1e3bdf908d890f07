/*
 * broken_int64_as_int32.c — test fixture: argmax that writes int32 indices
 * into its int64 output.
 *
 * Claims: aten::argmax with a dim given (keepdim either way), float32 input,
 * int64 output.
 *
 * The bug: the kernel was ported from a library whose argmax returns int32
 * (as TFLite's and many NPU SDKs' do) and stores `int32_t` indices packed
 * into the output buffer. ATen's argmax returns int64, so the runtime reads
 * pairs of indices as one number, and the second half of the output is never
 * written.
 *
 * Expected conformance outcome: fail (wrong values in an int64 output).
 */
#include "broken_common.h"

static bool claim(const ddk_graph_view* g, const ddk_node_view* n) {
  if (n->op_id != DDK_OP_ATEN_ARGMAX || n->num_args != 3) return false;
  const ddk_value_desc* x = bk_arg_value(g, n, 0);
  const ddk_value_desc* y = bk_out_value(g, n);
  if (!bk_is_f32(x) || y->tensor.dtype != DDK_DTYPE_INT64) return false;
  if (n->args[1].kind != DDK_ARG_INT || n->args[2].kind != DDK_ARG_BOOL) return false;
  int64_t rank = x->tensor.rank, dim = n->args[1].u.i;
  if (rank == 0 || dim < -rank || dim >= rank) return false;
  if (dim < 0) dim += rank;
  return x->tensor.sizes[dim] > 0; /* ATen refuses argmax over an empty dim */
}

static ddk_status run(bk_handle* h, const bk_node* node, const ddk_tensor* const* in,
                      ddk_tensor* out, char* err, size_t err_cap) {
  (void)h;
  (void)err;
  (void)err_cap;
  const ddk_tensor* xt = in[0];
  const float* x = xt->data;
  int64_t rank = xt->rank, dim = node->args[1].i[0];
  if (dim < 0) dim += rank;
  size_t outer = 1, len = (size_t)xt->sizes[dim], inner = 1;
  for (int64_t d = 0; d < dim; ++d) outer *= (size_t)xt->sizes[d];
  for (int64_t d = dim + 1; d < rank; ++d) inner *= (size_t)xt->sizes[d];
  int32_t* y = out->data; /* BUG: the output is int64 (ATen's argmax dtype) */
  for (size_t o = 0; o < outer; ++o)
    for (size_t i = 0; i < inner; ++i) {
      const float* row = x + o * len * inner + i;
      size_t best = 0;
      for (size_t k = 1; k < len; ++k) {
        float v = row[k * inner], b = row[best * inner];
        if (v > b || (v != v && b == b)) best = k; /* first max; NaN wins, as in ATen */
      }
      y[o * inner + i] = (int32_t)best;
    }
  return DDK_OK;
}

static const bk_ops ops = {
    .detail = "fp32 argmax over a dim (BUG: writes int32 indices into the int64 output)",
    .claim = claim,
    .run = run,
};

BK_DEFINE_BACKEND("broken_int64_as_int32", ops)
