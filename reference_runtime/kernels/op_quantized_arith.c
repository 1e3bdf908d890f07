/*
 * op_quantized_arith.c — quantized_decomposed add, add_relu, add.scalar,
 * mixed_mm and mixed_linear (ExecuTorch ops; torch does not define them).
 *
 * Semantics (ExecuTorch kernels/quantized/cpu and exir definitions):
 *  - add / add_relu: a, b, out share shape and integer dtype; per element
 *    in float32: da = (a - a_zp) * f32(a_scale), db likewise, acc = da + db
 *    (add_relu: max(acc, 0)); q = out_zp + nearbyint(acc * (1.0f /
 *    f32(out_scale))) in float, truncated to int64, clamped to [out_qmin,
 *    out_qmax] and wrapped into the dtype. Every quant range must lie in
 *    [0, 255] with min <= max;
 *  - add.scalar: dequantize_per_tensor(qa, ...) + b, then
 *    quantize_per_tensor(..., out_dtype), i.e. torch's quantize rule;
 *  - mixed_mm: out[i][j] = sum_k x[i][k] * w[k][j] * s[k];
 *  - mixed_linear: out[i][j] = sum over groups of (sum_k x[i][k] * w[j][k])
 *    * s_flat[j * ceil(n / g) + k / g], g = n (1-d scales) or
 *    ceil(n / scales.size(1)) (ExecuTorch's flat indexing of the scales);
 *    both accumulate in double and round once to the output dtype
 *    (ExecuTorch accumulates in the input dtype).
 */
#include "op_quantized_util.h"

typedef struct qadd {
  bool relu;
  float as, bs, inv;
  int64_t az, bz, oz, lo, hi;
} qadd;

static void qadd_elem(const void* user, ddk_tensor* out, int64_t off, const q_elem* in) {
  const qadd* p = (const qadd*)user;
  const float da = (float)((double)(in[0].i - p->az) * (double)p->as);
  const float db = (float)((double)(in[1].i - p->bz) * (double)p->bs);
  float acc = da + db;
  if (p->relu && acc < 0.0f) acc = 0.0f;
  const float qf = (float)p->oz + nearbyintf(p->inv * acc);
  int64_t q = q_f2i((double)qf, DDK_DTYPE_INT64);
  q = q < p->lo ? p->lo : (q > p->hi ? p->hi : q);
  ddk_ku_store_i64(out->data, out->dtype, off, q);
}

static ddk_status quantized_add(ddk_kernel_ctx* ctx, const ddk_node_view* node, bool relu) {
  const ddk_tensor* a = ddk_kernel_arg_tensor(ctx, node, 0);
  const ddk_tensor* b = ddk_kernel_arg_tensor(ctx, node, 5);
  ddk_tensor* out = ddk_kernel_out(ctx, node, 0);
  ddk_status st = ddk_ku_check_dtype(ctx, node, "a", a, DDK_KU_MASK_INTS);
  if (st == DDK_OK) st = ddk_ku_check_dtype(ctx, node, "b", b, 1u << a->dtype);
  if (st != DDK_OK) return st;
  qadd p;
  p.relu = relu;
  p.as = (float)q_arg_f64(node, 1);
  p.az = (int32_t)node->args[2].u.i;
  p.bs = (float)q_arg_f64(node, 6);
  p.bz = (int32_t)node->args[7].u.i;
  p.inv = 1.0f / (float)q_arg_f64(node, 10);
  p.oz = (int32_t)node->args[11].u.i;
  p.lo = node->args[12].u.i;
  p.hi = node->args[13].u.i;
  const ddk_tensor* ins[2] = {a, b};
  if (!q_map(out, ins, 2, qadd_elem, &p))
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "a and b must have the same shape");
  return DDK_OK;
}

ddk_status ddk_kernel_quantized_decomposed_add(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  return quantized_add(ctx, node, false);
}
ddk_status ddk_kernel_quantized_decomposed_add_relu(ddk_kernel_ctx* ctx,
                                                    const ddk_node_view* node) {
  return quantized_add(ctx, node, true);
}

typedef struct qadds {
  float a_zp, a_scale, b, inv, o_zp, lo, hi;
} qadds;

static void qadds_elem(const void* user, ddk_tensor* out, int64_t off, const q_elem* in) {
  const qadds* p = (const qadds*)user;
  const float dq = ((float)in[0].f - p->a_zp) * p->a_scale;
  const float v = dq + p->b;
  const float q = nearbyintf(v * p->inv) + p->o_zp;
  q_store(out, off, q_clamp(q, p->lo, p->hi));
}

ddk_status ddk_kernel_quantized_decomposed_add_scalar(ddk_kernel_ctx* ctx,
                                                      const ddk_node_view* node) {
  const ddk_tensor* a = ddk_kernel_arg_tensor(ctx, node, 0);
  ddk_tensor* out = ddk_kernel_out(ctx, node, 0);
  ddk_status st = ddk_ku_check_dtype(ctx, node, "qa", a, DDK_KU_MASK_INTS);
  if (st != DDK_OK) return st;
  ddk_ku_scalar b;
  st = ddk_ku_arg_scalar(ctx, node, 6, "b", &b);
  if (st != DDK_OK) return st;
  const double out_scale = q_arg_f64(node, 7);
  if (out_scale == 0.0)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "float division by zero");
  qadds p;
  p.a_scale = (float)q_arg_f64(node, 1);
  p.a_zp = (float)node->args[2].u.i;
  p.b = (float)ddk_ku_scalar_f64(&b);
  p.inv = (float)(1.0 / out_scale);
  p.o_zp = (float)node->args[8].u.i;
  p.lo = (float)node->args[9].u.i;
  p.hi = (float)node->args[10].u.i;
  const ddk_tensor* ins[1] = {a};
  if (!q_map(out, ins, 1, qadds_elem, &p))
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "input does not match the output");
  return DDK_OK;
}

/* ------------------------------------------------------------------------ */
/* mixed_mm / mixed_linear                                                  */
/* ------------------------------------------------------------------------ */

static ddk_status check_mixed(ddk_kernel_ctx* ctx, const ddk_node_view* node, const ddk_tensor* x,
                              const ddk_tensor* w, const ddk_tensor* s, const ddk_tensor* out) {
  const uint32_t f = DDK_KU_BIT(FLOAT32) | DDK_KU_BIT(FLOAT16);
  ddk_status st = ddk_ku_check_dtype(ctx, node, "input", x, f);
  if (st == DDK_OK) st = ddk_ku_check_dtype(ctx, node, "weight", w, DDK_KU_BIT(INT8));
  if (st == DDK_OK) st = ddk_ku_check_dtype(ctx, node, "weight_scales", s, f);
  if (st == DDK_OK) st = ddk_ku_check_dtype(ctx, node, "out", out, f);
  if (st != DDK_OK) return st;
  if (q_opt_tensor(ctx, node, 3) != NULL)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "zero points not supported yet.");
  if (x->rank != 2 || w->rank != 2 || out->rank != 2)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "input and weight must be 2-d");
  return DDK_OK;
}

ddk_status ddk_kernel_quantized_decomposed_mixed_mm(ddk_kernel_ctx* ctx,
                                                    const ddk_node_view* node) {
  const ddk_tensor* x = ddk_kernel_arg_tensor(ctx, node, 0);
  const ddk_tensor* w = ddk_kernel_arg_tensor(ctx, node, 1);
  const ddk_tensor* s = ddk_kernel_arg_tensor(ctx, node, 2);
  ddk_tensor* out = ddk_kernel_out(ctx, node, 0);
  ddk_status st = check_mixed(ctx, node, x, w, s, out);
  if (st != DDK_OK) return st;
  const int64_t m = x->sizes[0], n = x->sizes[1], p = w->sizes[1];
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < p; ++j) {
      double sum = 0.0;
      for (int64_t k = 0; k < n; ++k) {
        const double xv = ddk_ku_load_f64(x->data, x->dtype, i * x->strides[0] + k * x->strides[1]);
        const double wv =
            (double)ddk_ku_load_i64(w->data, w->dtype, k * w->strides[0] + j * w->strides[1]);
        sum += xv * wv * ddk_ku_load_f64(s->data, s->dtype, k * s->strides[0]);
      }
      ddk_ku_store_f64(out->data, out->dtype, i * out->strides[0] + j * out->strides[1], sum);
    }
  }
  return DDK_OK;
}

ddk_status ddk_kernel_quantized_decomposed_mixed_linear(ddk_kernel_ctx* ctx,
                                                        const ddk_node_view* node) {
  const ddk_tensor* x = ddk_kernel_arg_tensor(ctx, node, 0);
  const ddk_tensor* w = ddk_kernel_arg_tensor(ctx, node, 1);
  const ddk_tensor* s = ddk_kernel_arg_tensor(ctx, node, 2);
  ddk_tensor* out = ddk_kernel_out(ctx, node, 0);
  ddk_status st = check_mixed(ctx, node, x, w, s, out);
  if (st != DDK_OK) return st;
  const int64_t m = x->sizes[0], n = x->sizes[1], p = w->sizes[0];
  int64_t g = n;
  if (s->rank == 2) {
    if (s->sizes[1] <= 0)
      return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "weight_scales has zero groups");
    g = (n + s->sizes[1] - 1) / s->sizes[1];
  }
  const int64_t n_over_g = g > 0 ? (n + g - 1) / g : 0;
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < p; ++j) {
      double sum = 0.0;
      for (int64_t k = 0; k < n; k += g) {
        double psum = 0.0;
        const int64_t end = k + g < n ? k + g : n;
        for (int64_t k2 = k; k2 < end; ++k2) {
          const double xv =
              ddk_ku_load_f64(x->data, x->dtype, i * x->strides[0] + k2 * x->strides[1]);
          const double wv =
              (double)ddk_ku_load_i64(w->data, w->dtype, j * w->strides[0] + k2 * w->strides[1]);
          psum += xv * wv;
        }
        const int64_t f = j * n_over_g + k / g;
        sum += psum * ddk_ku_load_f64(s->data, s->dtype, q_offset_of(s, s->rank, f));
      }
      ddk_ku_store_f64(out->data, out->dtype, i * out->strides[0] + j * out->strides[1], sum);
    }
  }
  return DDK_OK;
}
