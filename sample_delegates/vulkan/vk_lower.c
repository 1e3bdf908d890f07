/*
 * vk_lower.c — per-op lowering: one claimed node becomes dispatches.
 *
 * Elementwise ops, activations and data movement are strided views over
 * the output's dims (vk_view, coalesced); the view's sizes, strides and
 * bases go into push constants in the layout the templates declare
 * (the shaders/ templates). The linear-algebra and reduction families live in
 * vk_lower_nn.c.
 */
#include <math.h>
#include <string.h>

#include "vk_lower.h"
#include "vk_nn.h"

/* ---- push constants ------------------------------------------------------------ */

void vkp_u(vk_push* p, uint32_t v) {
  if (p->n < VKB_PUSH_WORDS) p->w[p->n] = v;
  p->n++;
}

void vkp_f(vk_push* p, float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  vkp_u(p, u);
}

void vkp_sizes(vk_push* p, const vk_view* v) {
  for (uint32_t d = 0; d < VK_KERNEL_DIMS; ++d) vkp_u(p, d < v->rank ? (uint32_t)v->size[d] : 1);
}

void vkp_strides(vk_push* p, const vk_view* v, uint32_t j) {
  for (uint32_t d = 0; d < VK_KERNEL_DIMS; ++d)
    vkp_u(p, d < v->rank ? (uint32_t)v->stride[j][d] : 0);
}

const ddk_tensor* vkl_t(const vkc* c, uint32_t v) {
  return &c->g->values[v].tensor;
}

ddk_status vkl_emit(vkc* c, uint32_t kernel, bool typed, const uint32_t* b, uint32_t nb,
                    uint32_t w0, uint32_t w1, uint32_t w2, const vk_push* p, uint64_t flops,
                    uint64_t bytes) {
  if (p->n > VKB_PUSH_WORDS) {
    vk_errorf(c->err, c->err_cap, "vulkan: internal: push constants overflow for node %u",
              c->node->node_index);
    return DDK_INTERNAL;
  }
  uint32_t work[3] = {w0, w1, w2};
  return vkc_dispatch(c, kernel, typed, b, nb, work, p->w, p->n, flops, bytes);
}

/* The view of an elementwise node: operands broadcast to the output. */
static void eltwise_view(const vkc* c, vk_view* v, uint32_t a, uint32_t b, uint32_t o) {
  memset(v, 0, sizeof *v);
  const ddk_tensor* ot = vkl_t(c, o);
  v->rank = ot->rank;
  v->num_operands = b == DDK_NO_VALUE ? 2 : 3;
  for (uint32_t d = 0; d < ot->rank; ++d) v->size[d] = ot->sizes[d];
  vk_view_set_broadcast(v, 0, vkl_t(c, a));
  if (b != DDK_NO_VALUE) vk_view_set_broadcast(v, 1, vkl_t(c, b));
  for (uint32_t d = 0; d < ot->rank; ++d) v->stride[v->num_operands - 1][d] = ot->strides[d];
  vk_view_coalesce(v);
}

/* ---- elementwise ------------------------------------------------------------------ */

/* True when the contiguous vec4 form of a kernel applies to view v: one
 * dim, the output (last operand) written whole from element 0, every other
 * operand walking from a multiple of 4 (or, `bcast`, one broadcast
 * element). */
static bool vec4_ok(const vk_view* v, int64_t out_numel, bool bcast) {
  uint32_t o = v->num_operands - 1;
  if (v->rank != 1 || v->size[0] < 4 || v->size[0] != out_numel || v->stride[o][0] != 1 ||
      v->base[o] != 0)
    return false;
  for (uint32_t j = 0; j < o; ++j) {
    if (v->stride[j][0] == 0 && bcast) continue;
    if (v->stride[j][0] != 1 || v->base[j] % 4 != 0) return false;
  }
  return true;
}

/* The vec4 push constants: n4, sa, sb, ba, bb, alpha, p0..p3, scalar;
 * `scalar` non-NULL: operand 1 is that number (sb = 2). */
static void push_vec4(vk_push* p, const vk_view* v, uint32_t nin, float alpha, const float* prm,
                      const float* scalar) {
  vkp_u(p, (uint32_t)((v->size[0] + 3) / 4));
  for (uint32_t j = 0; j < 2; ++j)
    vkp_u(p, j == 1 && scalar ? 2u : j < nin && v->stride[j][0] != 0 ? 1u : 0u);
  for (uint32_t j = 0; j < 2; ++j) vkp_u(p, j < nin ? (uint32_t)v->base[j] : 0u);
  vkp_f(p, alpha);
  for (int i = 0; i < 4; ++i) vkp_f(p, prm ? prm[i] : 0.0f);
  vkp_f(p, scalar ? *scalar : 0.0f);
}

/* x rounded to float16 and back: ATen's float16 kernels take some
 * parameters in the dtype. */
static float round_f16(double x) {
  return vk_f16_to_f32(vk_f32_to_f16((float)x));
}

static ddk_status lower_binary(vkc* c, const ddk_node_view* n, uint32_t kernel, bool scalar,
                               double alpha) {
  uint32_t a = va_tensor(n, 0), o = n->outputs[0], ta, tb, to;
  ddk_status s = vkc_value(c, a, &ta);
  if (s != DDK_OK) return s;
  /* float16: alpha, and the Scalar of add/sub, rounded to the dtype; mul
   * and div keep their Scalar in float (ATen) */
  bool half = vkl_t(c, o)->dtype == DDK_DTYPE_FLOAT16;
  bool addsub = kernel == VK_KERNEL_BINARY_ADD_F32;
  float alpha_f = half ? round_f16(alpha) : (float)alpha, other_f = 0.0f;
  vk_view v;
  if (scalar) {
    double other = 0;
    va_number(n, 1, &other);
    other_f = half && addsub ? round_f16(other) : (float)other;
    tb = ta; /* unused binding: the number is a push constant */
    eltwise_view(c, &v, a, DDK_NO_VALUE, o);
    /* operands 0 (a) and 1 (o) -> a, scalar (stride 0), o */
    v.num_operands = 3;
    for (uint32_t d = 0; d < v.rank; ++d) {
      v.stride[2][d] = v.stride[1][d];
      v.stride[1][d] = 0;
    }
  } else {
    uint32_t b = va_tensor(n, 1);
    s = vkc_value(c, b, &tb);
    eltwise_view(c, &v, a, b, o);
  }
  if (s == DDK_OK) s = vkc_output(c, o, &to);
  if (s != DDK_OK) return s;
  int64_t numel = vk_view_numel(&v);
  if (numel == 0) return DDK_OK;
  vk_push p = {{0}, 0};
  uint32_t b[3] = {ta, tb, to};
  if (vec4_ok(&v, ddk_tensor_numel(vkl_t(c, o)), true)) { /* the vec4 form: id + 2 */
    push_vec4(&p, &v, 2, alpha_f, NULL, scalar ? &other_f : NULL);
    return vkl_emit(c, kernel + 2, true, b, 3, (uint32_t)((numel + 3) / 4), 1, 1, &p,
                    (uint64_t)numel, (uint64_t)numel * 12);
  }
  vkp_u(&p, (uint32_t)numel);
  vkp_u(&p, v.rank);
  vkp_sizes(&p, &v);
  vkp_strides(&p, &v, 0);
  vkp_strides(&p, &v, 1);
  vkp_strides(&p, &v, 2);
  vkp_u(&p, 0);
  vkp_u(&p, scalar ? 0xffffffffu : 0u);
  vkp_u(&p, 0);
  vkp_f(&p, alpha_f);
  vkp_f(&p, other_f);
  return vkl_emit(c, kernel, true, b, 3, (uint32_t)numel, 1, 1, &p, (uint64_t)numel,
                  (uint64_t)numel * 12);
}

/* Unary kernel over a strided view; params p0..p3. */
ddk_status vkl_unary(vkc* c, uint32_t kernel, uint32_t x, uint32_t o, const float prm[4],
                     uint64_t flops_per) {
  uint32_t tx, to;
  ddk_status s = vkc_value(c, x, &tx);
  if (s == DDK_OK) s = vkc_output(c, o, &to);
  if (s != DDK_OK) return s;
  vk_view v;
  eltwise_view(c, &v, x, DDK_NO_VALUE, o);
  int64_t numel = vk_view_numel(&v);
  if (numel == 0) return DDK_OK;
  vk_push p = {{0}, 0};
  uint32_t b[2] = {tx, to};
  if (vec4_ok(&v, ddk_tensor_numel(vkl_t(c, o)), false)) { /* the vec4 form: id + 2 */
    push_vec4(&p, &v, 1, 0.0f, prm, NULL);
    return vkl_emit(c, kernel + 2, true, b, 2, (uint32_t)((numel + 3) / 4), 1, 1, &p,
                    (uint64_t)numel * flops_per, (uint64_t)numel * 8);
  }
  vkp_u(&p, (uint32_t)numel);
  vkp_u(&p, v.rank);
  vkp_sizes(&p, &v);
  vkp_strides(&p, &v, 0);
  vkp_strides(&p, &v, 1);
  vkp_u(&p, 0);
  vkp_u(&p, 0);
  for (int i = 0; i < 4; ++i) vkp_f(&p, prm[i]);
  return vkl_emit(c, kernel, true, b, 2, (uint32_t)numel, 1, 1, &p, (uint64_t)numel * flops_per,
                  (uint64_t)numel * 8);
}

static double num_or(const ddk_node_view* n, uint32_t i, double fallback) {
  double v = fallback;
  if (!va_is_none(n, i)) va_number(n, i, &v);
  return v;
}

static ddk_status lower_unary(vkc* c, const ddk_node_view* n) {
  uint32_t x = va_tensor(n, 0), o = n->outputs[0], k;
  float prm[4] = {0, 0, 0, 0};
  uint64_t fl = 1;
  switch (n->op_id) {
    case DDK_OP_ATEN_RELU:
      k = VK_KERNEL_UNARY_RELU_F32;
      break;
    case DDK_OP_ATEN_CLAMP:
    case DDK_OP_ATEN_HARDTANH: {
      bool ht = n->op_id == DDK_OP_ATEN_HARDTANH;
      double lo = num_or(n, 1, ht ? -1.0 : -INFINITY), hi = num_or(n, 2, ht ? 1.0 : INFINITY);
      if (isnan(lo) || isnan(hi)) { /* ATen: every output NaN */
        k = VK_KERNEL_UNARY_AFFINE_F32;
        prm[0] = 0.0f;
        prm[1] = NAN;
      } else { /* float16: the limits in the dtype, as ATen */
        bool half = vkl_t(c, o)->dtype == DDK_DTYPE_FLOAT16;
        k = VK_KERNEL_UNARY_CLAMP_F32;
        prm[0] = half ? round_f16(lo) : (float)lo;
        prm[1] = half ? round_f16(hi) : (float)hi;
      }
      break;
    }
    case DDK_OP_ATEN_LEAKY_RELU:
      k = VK_KERNEL_UNARY_LEAKY_RELU_F32;
      prm[0] = (float)num_or(n, 1, 0.01);
      break;
    case DDK_OP_ATEN_ELU: {
      double alpha = num_or(n, 1, 1), scale = num_or(n, 2, 1), in = num_or(n, 3, 1);
      k = VK_KERNEL_UNARY_ELU_F32;
      prm[0] = (float)(alpha * scale);
      prm[1] = (float)scale;
      prm[2] = (float)in;
      fl = 12;
      break;
    }
    case DDK_OP_ATEN_SIGMOID:
      k = VK_KERNEL_UNARY_SIGMOID_F32;
      fl = 12;
      break;
    case DDK_OP_ATEN_TANH:
      k = VK_KERNEL_UNARY_TANH_F32;
      fl = 14;
      break;
    case DDK_OP_ATEN_GELU: {
      bool tanh_approx = !va_is_none(n, 1) && n->args[1].kind == DDK_ARG_STRING &&
                         strcmp(n->args[1].u.str, "tanh") == 0;
      k = tanh_approx ? VK_KERNEL_UNARY_GELU_TANH_F32 : VK_KERNEL_UNARY_GELU_F32;
      fl = 20;
      break;
    }
    case DDK_OP_ATEN_ABS:
      k = VK_KERNEL_UNARY_ABS_F32;
      break;
    case DDK_OP_ATEN_NEG:
      k = VK_KERNEL_UNARY_NEG_F32;
      break;
    case DDK_OP_ATEN_EXP:
      k = VK_KERNEL_UNARY_EXP_F32;
      fl = 12;
      break;
    case DDK_OP_ATEN_EXPM1:
      k = VK_KERNEL_UNARY_EXPM1_F32;
      fl = 12;
      break;
    case DDK_OP_ATEN_LOG:
      k = VK_KERNEL_UNARY_LOG_F32;
      fl = 16;
      break;
    case DDK_OP_ATEN_SQRT:
      k = VK_KERNEL_UNARY_SQRT_F32;
      break;
    case DDK_OP_ATEN_RSQRT:
      k = VK_KERNEL_UNARY_RSQRT_F32;
      fl = 2;
      break;
    case DDK_OP_ATEN_RECIPROCAL:
      k = VK_KERNEL_UNARY_RECIPROCAL_F32;
      break;
    case DDK_OP_ATEN_FLOOR:
      k = VK_KERNEL_UNARY_FLOOR_F32;
      break;
    case DDK_OP_ATEN_CEIL:
      k = VK_KERNEL_UNARY_CEIL_F32;
      break;
    case DDK_OP_ATEN_ROUND:
      k = VK_KERNEL_UNARY_ROUND_F32;
      break;
    case DDK_OP_ATEN_TRUNC:
      k = VK_KERNEL_UNARY_TRUNC_F32;
      break;
    case DDK_OP_ATEN_SIGN:
      k = VK_KERNEL_UNARY_SIGN_F32;
      break;
    case DDK_OP_ATEN_ERF:
      k = VK_KERNEL_UNARY_ERF_F32;
      fl = 20;
      break;
    default:
      vk_errorf(c->err, c->err_cap, "vulkan: internal: no unary kernel for %s", n->op_name);
      return DDK_INTERNAL;
  }
  return vkl_unary(c, k, x, o, prm, fl);
}

/* where.self: cond (bool bytes) ? a : b, broadcast to the output. */
static ddk_status lower_where(vkc* c, const ddk_node_view* n) {
  uint32_t o = n->outputs[0], t[4];
  const ddk_tensor* ot = vkl_t(c, o);
  ddk_status s = DDK_OK;
  for (uint32_t i = 0; i < 3 && s == DDK_OK; ++i) s = vkc_value(c, va_tensor(n, i), &t[i]);
  if (s == DDK_OK) s = vkc_output(c, o, &t[3]);
  if (s != DDK_OK) return s;
  vk_view v;
  memset(&v, 0, sizeof v);
  v.rank = ot->rank;
  v.num_operands = 4;
  for (uint32_t d = 0; d < ot->rank; ++d) v.size[d] = ot->sizes[d];
  for (uint32_t j = 0; j < 3; ++j) vk_view_set_broadcast(&v, j, vkl_t(c, va_tensor(n, j)));
  for (uint32_t d = 0; d < ot->rank; ++d) v.stride[3][d] = ot->strides[d];
  vk_view_coalesce(&v);
  int64_t numel = vk_view_numel(&v);
  if (numel == 0) return DDK_OK;
  vk_push p = {{0}, 0};
  vkp_u(&p, (uint32_t)numel);
  vkp_u(&p, v.rank);
  vkp_sizes(&p, &v);
  for (uint32_t j = 0; j < 4; ++j) vkp_strides(&p, &v, j);
  return vkl_emit(c, VK_KERNEL_WHERE_F32, true, t, 4, (uint32_t)numel, 1, 1, &p, 0,
                  (uint64_t)numel * 13);
}

/* ---- data movement --------------------------------------------------------------- */

/* Strided copy of view v (operand 0: from, 1: to) between two tensors. */
ddk_status vkl_copy(vkc* c, uint32_t from, uint32_t to, vk_view* v) {
  vk_view_coalesce(v);
  int64_t numel = vk_view_numel(v);
  if (numel == 0) return DDK_OK;
  vk_push p = {{0}, 0};
  uint32_t b[2] = {from, to};
  if (c->node_stype == VK_S32 && vec4_ok(v, (int64_t)(c->tensors[to].bytes / 4), false)) {
    push_vec4(&p, v, 1, 0.0f, NULL, NULL);
    return vkl_emit(c, VK_KERNEL_COPY_VEC4, false, b, 2, (uint32_t)((numel + 3) / 4), 1, 1, &p, 0,
                    (uint64_t)numel * 8);
  }
  vkp_u(&p, (uint32_t)numel);
  vkp_u(&p, v->rank);
  vkp_sizes(&p, v);
  vkp_strides(&p, v, 0);
  vkp_strides(&p, v, 1);
  vkp_u(&p, (uint32_t)v->base[0]);
  vkp_u(&p, (uint32_t)v->base[1]);
  return vkl_emit(c, VK_KERNEL_COPY_B32, true, b, 2, (uint32_t)numel, 1, 1, &p, 0,
                  (uint64_t)numel * 8);
}

static ddk_status lower_movement(vkc* c, const ddk_node_view* n) {
  uint32_t x = va_tensor(n, 0), o = n->outputs[0], tx, to;
  vk_view v;
  ddk_status s = vkc_value(c, x, &tx);
  if (s == DDK_OK) s = vkc_output(c, o, &to);
  if (s != DDK_OK) return s;
  if (vk_movement_view(n, vkl_t(c, x), vkl_t(c, o), &v)) return vkl_copy(c, tx, to, &v);
  /* a view of strided data: x into row-major order, then into o's layout */
  uint32_t tmp;
  s = vkc_new_tensor(c, ddk_tensor_numel(vkl_t(c, o)), &tmp);
  if (s == DDK_OK && vk_gather_view(vkl_t(c, x), &v)) s = vkl_copy(c, tx, tmp, &v);
  if (s != DDK_OK) return s;
  if (!vk_gather_view(vkl_t(c, o), &v)) {
    vk_errorf(c->err, c->err_cap, "vulkan: internal: no view for %s", n->op_name);
    return DDK_INTERNAL;
  }
  for (uint32_t d = 0; d < v.rank; ++d) { /* from row-major into o's strides */
    int64_t t = v.stride[0][d];
    v.stride[0][d] = v.stride[1][d];
    v.stride[1][d] = t;
  }
  return vkl_copy(c, tmp, to, &v);
}

static ddk_status lower_cat(vkc* c, const ddk_node_view* n) {
  uint32_t o = n->outputs[0], to;
  const ddk_tensor* ot = vkl_t(c, o);
  int64_t dim = 0;
  if (!va_is_none(n, 1)) va_int(n, 1, &dim);
  if (dim < 0) dim += ot->rank;
  ddk_status s = vkc_output(c, o, &to);
  int64_t at = 0;
  for (uint32_t i = 0; i < n->args[0].count && s == DDK_OK; ++i) {
    uint32_t x = n->args[0].u.tensors[i], tx;
    const ddk_tensor* xt = vkl_t(c, x);
    if (xt->rank != ot->rank) continue; /* legacy empty 1-d input */
    vk_view v;
    memset(&v, 0, sizeof v);
    v.num_operands = 2;
    v.rank = xt->rank;
    for (uint32_t d = 0; d < xt->rank; ++d) {
      v.size[d] = xt->sizes[d];
      v.stride[0][d] = xt->strides[d];
      v.stride[1][d] = ot->strides[d];
    }
    v.base[1] = at * ot->strides[dim];
    at += xt->sizes[dim];
    if (ddk_tensor_numel(xt) == 0) continue;
    s = vkc_value(c, x, &tx);
    if (s == DDK_OK) s = vkl_copy(c, tx, to, &v);
  }
  return s;
}

static ddk_status lower_pad(vkc* c, const ddk_node_view* n) {
  uint32_t x = va_tensor(n, 0), o = n->outputs[0], tx, to;
  const ddk_tensor* xt = vkl_t(c, x);
  const ddk_tensor* ot = vkl_t(c, o);
  const int64_t* pad = NULL;
  uint32_t np = 0;
  va_ints(n, 1, &pad, &np);
  double value = num_or(n, 2, 0.0);
  ddk_status s = vkc_value(c, x, &tx);
  if (s == DDK_OK) s = vkc_output(c, o, &to);
  if (s != DDK_OK) return s;
  int64_t numel = ddk_tensor_numel(ot);
  if (numel == 0) return DDK_OK;
  /* fill everything, then copy the input's (possibly cropped) window */
  vk_view f;
  memset(&f, 0, sizeof f);
  f.num_operands = 1;
  f.rank = ot->rank;
  for (uint32_t d = 0; d < ot->rank; ++d) {
    f.size[d] = ot->sizes[d];
    f.stride[0][d] = ot->strides[d];
  }
  vk_view_coalesce(&f);
  vk_push p = {{0}, 0};
  vkp_u(&p, (uint32_t)numel);
  vkp_u(&p, f.rank);
  vkp_sizes(&p, &f);
  vkp_strides(&p, &f, 0);
  vkp_u(&p, 0);
  vkp_f(&p, (float)value);
  uint32_t b[1] = {to};
  s = vkl_emit(c, VK_KERNEL_FILL_F32, true, b, 1, (uint32_t)numel, 1, 1, &p, 0,
               (uint64_t)numel * 4);
  if (s != DDK_OK) return s;
  vk_view v;
  memset(&v, 0, sizeof v);
  v.num_operands = 2;
  v.rank = xt->rank;
  for (uint32_t d = 0; d < xt->rank; ++d) {
    int64_t before = 0, after = 0;
    uint32_t k = xt->rank - 1 - d;
    if (k < np / 2) {
      before = pad[2 * k];
      after = pad[2 * k + 1];
    }
    int64_t len = xt->sizes[d] + (before < 0 ? before : 0) + (after < 0 ? after : 0);
    if (len <= 0) return DDK_OK; /* nothing of the input survives */
    v.size[d] = len;
    v.stride[0][d] = xt->strides[d];
    v.stride[1][d] = ot->strides[d];
    if (before < 0)
      v.base[0] += -before * xt->strides[d];
    else
      v.base[1] += before * ot->strides[d];
  }
  return vkl_copy(c, tx, to, &v);
}

/* ---- dispatch on the op ------------------------------------------------------------- */

ddk_status vk_lower_node(vkc* c, const ddk_node_view* n) {
  switch (n->op_id) {
    case DDK_OP_ATEN_ADD_TENSOR:
      return lower_binary(c, n, VK_KERNEL_BINARY_ADD_F32, false, num_or(n, 2, 1.0));
    case DDK_OP_ATEN_SUB_TENSOR:
      return lower_binary(c, n, VK_KERNEL_BINARY_ADD_F32, false, -num_or(n, 2, 1.0));
    case DDK_OP_ATEN_ADD_SCALAR:
      return lower_binary(c, n, VK_KERNEL_BINARY_ADD_F32, true, num_or(n, 2, 1.0));
    case DDK_OP_ATEN_SUB_SCALAR:
      return lower_binary(c, n, VK_KERNEL_BINARY_ADD_F32, true, -num_or(n, 2, 1.0));
    case DDK_OP_ATEN_MUL_TENSOR:
      return lower_binary(c, n, VK_KERNEL_BINARY_MUL_F32, false, 1);
    case DDK_OP_ATEN_MUL_SCALAR:
      return lower_binary(c, n, VK_KERNEL_BINARY_MUL_F32, true, 1);
    case DDK_OP_ATEN_DIV_TENSOR:
      return lower_binary(c, n, VK_KERNEL_BINARY_DIV_F32, false, 1);
    case DDK_OP_ATEN_DIV_SCALAR:
      return lower_binary(c, n, VK_KERNEL_BINARY_DIV_F32, true, 1);
    case DDK_OP_ATEN_MAXIMUM:
      return lower_binary(c, n, VK_KERNEL_BINARY_MAXIMUM_F32, false, 1);
    case DDK_OP_ATEN_MINIMUM:
      return lower_binary(c, n, VK_KERNEL_BINARY_MINIMUM_F32, false, 1);
    case DDK_OP_ATEN_CAT:
      return lower_cat(c, n);
    case DDK_OP_ATEN_WHERE_SELF:
      return lower_where(c, n);
    case DDK_OP_ATEN_CONSTANT_PAD_ND:
      return lower_pad(c, n);
    case DDK_OP_ATEN_PERMUTE:
    case DDK_OP_ATEN_EXPAND:
    case DDK_OP_ATEN_SLICE_TENSOR:
    case DDK_OP_ATEN_SELECT_INT:
    case DDK_OP_ATEN_VIEW:
    case DDK_OP_ATEN_UNSQUEEZE:
    case DDK_OP_ATEN_SQUEEZE_DIM:
    case DDK_OP_ATEN_SQUEEZE_DIMS:
    case DDK_OP_ATEN_ALIAS:
    case DDK_OP_ATEN_CLONE:
    case DDK_OP_ATEN_TO_COPY:
      return lower_movement(c, n);
    default: {
      ddk_status s;
      if (vk_lower_nn(c, n, &s)) return s;
      return lower_unary(c, n);
    }
  }
}
