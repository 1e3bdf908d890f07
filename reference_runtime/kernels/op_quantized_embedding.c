/*
 * op_quantized_embedding.c — quantized_decomposed embedding_byte,
 * embedding_4bit, embedding_2bit (and their .dtype overloads).
 *
 * Torch itself does not define these; the semantics are ExecuTorch's exir
 * definitions (exir/passes/_quant_patterns_and_replacements.py): unpack,
 * dequantize_per_channel_group with group_size = embedding_dim / groups,
 * then aten::embedding. Per weight byte w:
 *  - byte: the value is w itself (int8 or uint8);
 *  - 4bit: values (w trunc/ 16) - 8 and (w mod 16) - 8, high nibble first
 *    (for uint8 weights: (w >> 4) - 8, (w & 15) - 8);
 *  - 2bit: ((w & 3), (w & 12) >> 2, (w & 48) >> 4, (w & 192) >> 6) - 2,
 *    lowest bits first (the last shift is arithmetic for int8 weights, as
 *    torch's >> on an int8 tensor);
 * then out = (v - zp) * scale in the scales' dtype, converted to the output
 * dtype (the scales' dtype, or `dtype`). Indices out of range are refused.
 */
#include "op_quantized_util.h"

/* Value j of row `row` of the packed weight, as the exir unpacking gives. */
static int64_t unpack(const ddk_tensor* w, int64_t row, int64_t j, int bits) {
  const int per = 8 / bits;
  const int64_t off = row * w->strides[0] + (j / per) * w->strides[1];
  const int64_t b = ddk_ku_load_i64(w->data, w->dtype, off);
  const bool s8 = w->dtype == DDK_DTYPE_INT8;
  if (bits == 8) return b;
  if (bits == 4) {
    if (j % 2 == 0) return b / 16 - 8;
    return ((b % 16) + 16) % 16 - 8;
  }
  switch (j % 4) {
    case 0:
      return (b & 3) - 2;
    case 1:
      return ((b & 12) >> 2) - 2;
    case 2:
      return ((b & 48) >> 4) - 2;
    default:
      return (s8 ? (int64_t)(int8_t)(uint8_t)(b & 192) / 64 : (b & 192) >> 6) - 2;
  }
}

typedef struct emb {
  const ddk_tensor *w, *s, *z;
  int bits;
  int64_t d, gs, groups_per_row, ost;
  bool* bad;
} emb;

static void emb_elem(const void* user, ddk_tensor* out, int64_t off, const q_elem* in) {
  const emb* e = (const emb*)user;
  const int64_t idx = in[0].i;
  if (idx < 0 || idx >= e->w->sizes[0]) {
    *e->bad = true;
    return;
  }
  const ddk_dtype sd = e->s->dtype;
  const bool s_one = ddk_tensor_numel(e->s) == 1;
  const bool z_one = e->z != NULL && ddk_tensor_numel(e->z) == 1;
  const int64_t ost = e->ost;
  for (int64_t j = 0; j < e->d; ++j) {
    const int64_t g = idx * e->groups_per_row + j / e->gs;
    const double scale =
        ddk_ku_load_f64(e->s->data, sd, s_one ? 0 : q_offset_of(e->s, e->s->rank, g));
    double v = (double)unpack(e->w, idx, j, e->bits);
    if (e->z != NULL) {
      const double zp =
          ddk_ku_load_f64(e->z->data, e->z->dtype, z_one ? 0 : q_offset_of(e->z, e->z->rank, g));
      v = q_rnd(v - zp, sd);
    }
    q_store(out, off + j * ost, q_rnd(v * scale, sd));
  }
}

static ddk_status embedding(ddk_kernel_ctx* ctx, const ddk_node_view* node, int bits) {
  const ddk_tensor* w = ddk_kernel_arg_tensor(ctx, node, 0);
  const ddk_tensor* s = ddk_kernel_arg_tensor(ctx, node, 1);
  const ddk_tensor* z = q_opt_tensor(ctx, node, 2);
  const ddk_tensor* idx = ddk_kernel_arg_tensor(ctx, node, 5);
  ddk_tensor* out = ddk_kernel_out(ctx, node, 0);
  ddk_status st = ddk_ku_check_dtype(ctx, node, "weight", w, DDK_KU_BIT(INT8) | DDK_KU_BIT(UINT8));
  if (st == DDK_OK)
    st = ddk_ku_check_dtype(ctx, node, "weight_scales", s,
                            DDK_KU_BIT(FLOAT32) | DDK_KU_BIT(FLOAT16));
  if (st == DDK_OK && z != NULL)
    st = ddk_ku_check_dtype(ctx, node, "weight_zero_points", z, 1u << s->dtype);
  if (st == DDK_OK)
    st = ddk_ku_check_dtype(ctx, node, "indices", idx, DDK_KU_BIT(INT64) | DDK_KU_BIT(INT32));
  if (st != DDK_OK) return st;
  if (w->rank != 2 || out->rank != idx->rank + 1)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "weight must be 2-d");
  bool bad = false;
  emb e;
  e.w = w;
  e.s = s;
  e.z = z;
  e.bits = bits;
  e.d = w->sizes[1] * (8 / bits);
  const int64_t groups = s->rank == 2 ? s->sizes[1] : 1;
  e.gs = groups > 0 ? e.d / groups : 0;
  if (e.gs <= 1 || e.d % e.gs != 0)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "bad group size");
  e.groups_per_row = e.d / e.gs;
  e.bad = &bad;
  e.ost = out->strides[out->rank - 1];
  /* walk the indices; out viewed with the indices' shape, one row each */
  ddk_tensor ov = *out;
  ov.rank = idx->rank;
  const ddk_tensor* ins[1] = {idx};
  if (!q_map(&ov, ins, 1, emb_elem, &e))
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "indices do not match the output");
  if (bad) return ddk_kernel_fail(ctx, node, DDK_OUT_OF_RANGE, "index out of range in self");
  return DDK_OK;
}

#define DDK_Q_EMBEDDING(NAME, BITS)                                                      \
  ddk_status ddk_kernel_quantized_decomposed_##NAME(ddk_kernel_ctx* ctx,                 \
                                                    const ddk_node_view* node) {         \
    return embedding(ctx, node, BITS);                                                   \
  }                                                                                      \
  ddk_status ddk_kernel_quantized_decomposed_##NAME##_dtype(ddk_kernel_ctx* ctx,         \
                                                            const ddk_node_view* node) { \
    return embedding(ctx, node, BITS);                                                   \
  }

DDK_Q_EMBEDDING(embedding_byte, 8)
DDK_Q_EMBEDDING(embedding_4bit, 4)
DDK_Q_EMBEDDING(embedding_2bit, 2)
