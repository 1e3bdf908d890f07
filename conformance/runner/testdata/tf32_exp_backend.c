/*
 * tf32_exp_backend.c — test fixture of ddk_conform's accuracy profiles: a
 * backend that computes aten::exp (float32, any shape) the way a
 * TensorFloat-32 unit would, and says so.
 *
 * It computes expf and rounds the result to 10 fraction bits (nearest,
 * ties to even; the float32 exponent range is kept, NaN and infinities
 * pass through): results within half a TF32 ULP of float32's — up to
 * 4096 float32 ULPs away from the reference, far outside exp's float32
 * tolerance, inside it once scaled by the tf32 profile (docs/tolerances.md,
 * "Accuracy profiles"). Its query detail carries the token
 * "accuracy_profile=tf32", which the runner applies when neither
 * --profile nor the accuracy_profile option says otherwise.
 *
 * Built on the broken backends' skeleton (../../broken_backends/
 * broken_common.h); not a broken backend: it is right for its profile.
 */
#include <math.h>

#include "../../broken_backends/broken_common.h"

static bool claim(const ddk_graph_view* g, const ddk_node_view* n) {
  return n->op_id == DDK_OP_ATEN_EXP && n->num_args == 1 && bk_unary_f32(g, n);
}

/* x rounded to 10 fraction bits, nearest even. */
static float to_tf32(float x) {
  uint32_t u;
  memcpy(&u, &x, sizeof u);
  if ((u & 0x7f800000u) == 0x7f800000u) return x; /* NaN, infinities */
  u += 0xfffu + ((u >> 13) & 1u);
  u &= ~0x1fffu;
  memcpy(&x, &u, sizeof x);
  return x;
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
  for (size_t i = 0; i < n; ++i) y[i] = to_tf32(expf(x[i]));
  return DDK_OK;
}

static const bk_ops ops = {
    .detail = "fp32 exp on a TF32 unit; accuracy_profile=tf32",
    .claim = claim,
    .run = run,
};

BK_DEFINE_BACKEND("test_tf32_exp", ops)
