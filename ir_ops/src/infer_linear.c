/*
 * infer_linear.c — inference rules: matmul, convolution (+ backward), col2im.
 */
#include "infer_util.h"

static ddk_status infer_matmul(ddk_infer_ctx* c, bool batched, bool addmm) {
  const uint32_t off = addmm ? 1 : 0;
  ddk_status st = ddk_infer_need(c, addmm ? 5 : 2, 1);
  const ddk_tensor *self = NULL, *a = NULL, *b = NULL;
  const char* an = addmm ? "mat1" : "self";
  const char* bn = addmm ? "mat2" : "mat2";
  if (st == DDK_OK && addmm) st = ddk_infer_arg_tensor(c, 0, "self", &self);
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, off, an, &a);
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, off + 1, bn, &b);
  uint32_t kind = DDK_ARG_NONE;
  if (st == DDK_OK && addmm) st = ddk_infer_arg_scalar(c, 3, "beta", &kind);
  if (st == DDK_OK && addmm) st = ddk_infer_arg_scalar(c, 4, "alpha", &kind);
  if (st != DDK_OK) return st;
  const uint32_t r = batched ? 3 : 2;
  if (a->rank != r || b->rank != r)
    return ddk_infer_fail(c, DDK_SHAPE_MISMATCH, "'%s' and '%s' must be %u-D, got %u-D and %u-D",
                          an, bn, r, a->rank, b->rank);
  if (a->dtype != b->dtype || (self != NULL && self->dtype != a->dtype))
    return ddk_infer_fail(c, DDK_DTYPE_MISMATCH, "operands must share one dtype, got %s and %s%s%s",
                          ddk_dtype_name(a->dtype), ddk_dtype_name(b->dtype),
                          self ? " and self " : "", self ? ddk_dtype_name(self->dtype) : "");
  if (batched && a->sizes[0] != b->sizes[0])
    return ddk_infer_fail(c, DDK_SHAPE_MISMATCH, "batch sizes differ: %lld vs %lld",
                          (long long)a->sizes[0], (long long)b->sizes[0]);
  if (a->sizes[r - 1] != b->sizes[r - 2])
    return ddk_infer_fail(c, DDK_SHAPE_MISMATCH, "'%s' has %lld columns but '%s' has %lld rows", an,
                          (long long)a->sizes[r - 1], bn, (long long)b->sizes[r - 2]);
  int64_t sizes[3];
  if (batched) sizes[0] = a->sizes[0];
  sizes[r - 2] = a->sizes[r - 2];
  sizes[r - 1] = b->sizes[r - 1];
  if (addmm) {
    int64_t bs[DDK_MAX_RANK];
    uint32_t br;
    char msg[256];
    if (self->rank > 2)
      return ddk_infer_fail(c, DDK_SHAPE_MISMATCH, "'self' has rank %u, expected at most 2",
                            self->rank);
    st = ddk_broadcast_shapes(self->sizes, self->rank, sizes, 2, bs, &br, msg, sizeof msg);
    if (st != DDK_OK || bs[0] != sizes[0] || bs[1] != sizes[1])
      return ddk_infer_fail(c, DDK_SHAPE_MISMATCH, "'self' does not broadcast to [%lld, %lld]",
                            (long long)sizes[0], (long long)sizes[1]);
  }
  return ddk_infer_set_output(c, 0, a->dtype, r, sizes);
}

/* The forward convolution's output sizes (x's rank) into `sizes`. The
 * arguments stride .. groups sit at their aten::convolution indices plus
 * `off` (1 for convolution_backward, whose grad_output comes first);
 * `b` is the bias or NULL. */
static ddk_status conv_shape(ddk_infer_ctx* c, uint32_t off, const ddk_tensor* x,
                             const ddk_tensor* w, const ddk_tensor* b, int64_t* sizes) {
  bool transposed = false;
  int64_t groups = 0;
  ddk_status st = ddk_infer_arg_bool(c, 6 + off, "transposed", &transposed);
  if (st == DDK_OK) st = ddk_infer_arg_int(c, 8 + off, "groups", &groups);
  if (st != DDK_OK) return st;
  if (w->rank < 3 || w->rank > 5 || x->rank != w->rank)
    return ddk_infer_fail(
        c, DDK_SHAPE_MISMATCH,
        "expected a 3-D, 4-D or 5-D weight and an input of the same rank, got %u-D "
        "input and %u-D weight",
        x->rank, w->rank);
  if (x->dtype != w->dtype)
    return ddk_infer_fail(c, DDK_DTYPE_MISMATCH, "input is %s but weight is %s",
                          ddk_dtype_name(x->dtype), ddk_dtype_name(w->dtype));
  if (groups <= 0)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "argument 'groups' must be positive");
  const uint32_t sp = x->rank - 2;
  int64_t stride[3], pad[3], dil[3], opad[3];
  st = ddk_infer_expand_list(c, 3 + off, "stride", sp, NULL, stride);
  if (st == DDK_OK) st = ddk_infer_expand_list(c, 4 + off, "padding", sp, NULL, pad);
  if (st == DDK_OK) st = ddk_infer_expand_list(c, 5 + off, "dilation", sp, NULL, dil);
  if (st == DDK_OK) st = ddk_infer_expand_list(c, 7 + off, "output_padding", sp, NULL, opad);
  if (st != DDK_OK) return st;
  const int64_t cin = x->sizes[1];
  int64_t cout;
  if (!transposed) {
    if (w->sizes[0] % groups != 0)
      return ddk_infer_fail(c, DDK_SHAPE_MISMATCH,
                            "weight out-channels %lld not divisible by groups %lld",
                            (long long)w->sizes[0], (long long)groups);
    if (w->sizes[1] * groups != cin)
      return ddk_infer_fail(
          c, DDK_SHAPE_MISMATCH,
          "input has %lld channels, expected weight in-channels %lld x groups %lld", (long long)cin,
          (long long)w->sizes[1], (long long)groups);
    cout = w->sizes[0];
  } else {
    if (w->sizes[0] != cin)
      return ddk_infer_fail(c, DDK_SHAPE_MISMATCH,
                            "transposed: input has %lld channels, weight expects %lld",
                            (long long)cin, (long long)w->sizes[0]);
    if (cin % groups != 0)
      return ddk_infer_fail(c, DDK_SHAPE_MISMATCH,
                            "input channels %lld not divisible by groups %lld", (long long)cin,
                            (long long)groups);
    cout = w->sizes[1] * groups;
  }
  if (b != NULL && (b->rank != 1 || b->sizes[0] != cout))
    return ddk_infer_fail(c, DDK_SHAPE_MISMATCH, "bias must be 1-D with %lld elements",
                          (long long)cout);
  if (b != NULL && ddk_dtype_category(b->dtype) > 2)
    return ddk_infer_fail(c, DDK_DTYPE_MISMATCH, "bias dtype %s", ddk_dtype_name(b->dtype));
  sizes[0] = x->sizes[0];
  sizes[1] = cout;
  for (uint32_t d = 0; d < sp; ++d) {
    const int64_t in = x->sizes[2 + d], k = w->sizes[2 + d];
    if (stride[d] <= 0 || dil[d] <= 0)
      return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "stride and dilation must be positive");
    if (pad[d] < 0)
      return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "negative padding is not supported");
    if (k <= 0) return ddk_infer_fail(c, DDK_SHAPE_MISMATCH, "weight has an empty kernel dim");
    const int64_t span = dil[d] * (k - 1);
    if (!transposed) {
      if (in + 2 * pad[d] < span + 1)
        return ddk_infer_fail(
            c, DDK_SHAPE_MISMATCH,
            "padded input size %lld is smaller than the dilated kernel %lld at dim %u",
            (long long)(in + 2 * pad[d]), (long long)(span + 1), 2 + d);
      sizes[2 + d] = (in + 2 * pad[d] - span - 1) / stride[d] + 1;
    } else {
      if (opad[d] < 0 || (opad[d] >= stride[d] && opad[d] >= dil[d]))
        return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                              "output padding must be smaller than either stride or dilation");
      sizes[2 + d] = (in - 1) * stride[d] - 2 * pad[d] + span + opad[d] + 1;
      if (sizes[2 + d] <= 0)
        return ddk_infer_fail(c, DDK_SHAPE_MISMATCH, "output size %lld at dim %u is too small",
                              (long long)sizes[2 + d], 2 + d);
    }
  }
  return DDK_OK;
}

static ddk_status infer_convolution(ddk_infer_ctx* c) {
  ddk_status st = ddk_infer_need(c, 9, 1);
  const ddk_tensor *x = NULL, *w = NULL, *b = NULL;
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 0, "input", &x);
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 1, "weight", &w);
  if (st == DDK_OK) st = ddk_infer_arg_opt_tensor(c, 2, "bias", &b);
  int64_t sizes[5];
  if (st == DDK_OK) st = conv_shape(c, 0, x, w, b, sizes);
  if (st != DDK_OK) return st;
  return ddk_infer_set_output(c, 0, x->dtype, x->rank, sizes);
}

/* convolution_backward: grad_input (input's shape), grad_weight (weight's)
 * and grad_bias ([Cout]); an output whose output_mask entry is false is an
 * empty 1-d tensor (the DDK's stand-in for ATen's undefined tensor). */
static ddk_status infer_convolution_backward(ddk_infer_ctx* c) {
  ddk_status st = ddk_infer_need(c, 11, 3);
  const ddk_tensor *go = NULL, *x = NULL, *w = NULL;
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 0, "grad_output", &go);
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 1, "input", &x);
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 2, "weight", &w);
  if (st != DDK_OK) return st;
  const ddk_arg* mask = &c->node->args[10];
  if (mask->kind != DDK_ARG_BOOL_LIST || mask->count != 3)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "argument 'output_mask' must be 3 bools");
  if (!ddk_infer_is_floating(x->dtype))
    return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE, "not implemented for %s",
                          ddk_dtype_name(x->dtype));
  if (go->dtype != x->dtype)
    return ddk_infer_fail(c, DDK_DTYPE_MISMATCH, "grad_output is %s but input is %s",
                          ddk_dtype_name(go->dtype), ddk_dtype_name(x->dtype));
  int64_t sizes[5];
  st = conv_shape(c, 1, x, w, NULL, sizes);
  if (st != DDK_OK) return st;
  if (go->rank != x->rank)
    return ddk_infer_fail(c, DDK_SHAPE_MISMATCH, "grad_output must be %u-D", x->rank);
  for (uint32_t i = 0; i < x->rank; ++i)
    if (go->sizes[i] != sizes[i])
      return ddk_infer_fail(c, DDK_SHAPE_MISMATCH,
                            "grad_output dim %u is %lld, the convolution's output has %lld", i,
                            (long long)go->sizes[i], (long long)sizes[i]);
  const int64_t empty[1] = {0};
  const int64_t cout[1] = {sizes[1]};
  st = mask->u.bools[0] ? ddk_infer_set_output(c, 0, x->dtype, x->rank, x->sizes)
                        : ddk_infer_set_output(c, 0, x->dtype, 1, empty);
  if (st == DDK_OK)
    st = mask->u.bools[1] ? ddk_infer_set_output(c, 1, x->dtype, w->rank, w->sizes)
                          : ddk_infer_set_output(c, 1, x->dtype, 1, empty);
  if (st == DDK_OK) st = ddk_infer_set_output(c, 2, x->dtype, 1, mask->u.bools[2] ? cout : empty);
  return st;
}

/* col2im(self, output_size, kernel_size, dilation, padding, stride). */
static ddk_status infer_col2im(ddk_infer_ctx* c) {
  ddk_status st = ddk_infer_need(c, 6, 1);
  const ddk_tensor* x = NULL;
  int64_t os[2], k[2], d[2], p[2], s[2];
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 0, "self", &x);
  if (st == DDK_OK) st = ddk_infer_expand_list(c, 1, "output_size", 2, NULL, os);
  if (st == DDK_OK) st = ddk_infer_expand_list(c, 2, "kernel_size", 2, NULL, k);
  if (st == DDK_OK) st = ddk_infer_expand_list(c, 3, "dilation", 2, NULL, d);
  if (st == DDK_OK) st = ddk_infer_expand_list(c, 4, "padding", 2, NULL, p);
  if (st == DDK_OK) st = ddk_infer_expand_list(c, 5, "stride", 2, NULL, s);
  if (st != DDK_OK) return st;
  if (!ddk_infer_is_floating(x->dtype) && x->dtype != DDK_DTYPE_BOOL)
    return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE, "not implemented for %s",
                          ddk_dtype_name(x->dtype));
  for (int i = 0; i < 2; ++i) {
    if (k[i] <= 0 || d[i] <= 0 || s[i] <= 0)
      return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                            "kernel_size, dilation and stride must be positive");
    if (p[i] < 0) return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "padding should be non-negative");
  }
  if ((x->rank != 2 && x->rank != 3) || x->sizes[x->rank - 1] == 0 || x->sizes[x->rank - 2] == 0)
    return ddk_infer_fail(c, DDK_SHAPE_MISMATCH,
                          "expected a 2-D or 3-D (batch mode) input with non-zero non-batch dims");
  const uint32_t lead = x->rank - 2;
  const int64_t kk = k[0] * k[1];
  if (x->sizes[lead] % kk != 0)
    return ddk_infer_fail(c, DDK_SHAPE_MISMATCH,
                          "input dim %u (%lld) is not divisible by the kernel's %lld elements",
                          lead, (long long)x->sizes[lead], (long long)kk);
  int64_t blocks = 1;
  for (int i = 0; i < 2; ++i) {
    const int64_t b = (os[i] + 2 * p[i] - d[i] * (k[i] - 1) - 1) / s[i] + 1;
    if (os[i] + 2 * p[i] - d[i] * (k[i] - 1) - 1 < 0 || b < 1)
      return ddk_infer_fail(c, DDK_SHAPE_MISMATCH,
                            "output_size gives a non-positive number of sliding blocks");
    blocks *= b;
  }
  if (x->sizes[lead + 1] != blocks)
    return ddk_infer_fail(c, DDK_SHAPE_MISMATCH,
                          "expected input dim %u to be %lld (the number of blocks), got %lld",
                          lead + 1, (long long)blocks, (long long)x->sizes[lead + 1]);
  int64_t sizes[4];
  if (lead) sizes[0] = x->sizes[0];
  sizes[lead] = x->sizes[lead] / kk;
  sizes[lead + 1] = os[0];
  sizes[lead + 2] = os[1];
  return ddk_infer_set_output(c, 0, x->dtype, x->rank + 1, sizes);
}

/* ------------------------------------------------------------------------ */
/* Rules                                                                    */
/* ------------------------------------------------------------------------ */

ddk_status ddk_infer_aten_mm(ddk_infer_ctx* c) {
  return infer_matmul(c, false, false);
}
ddk_status ddk_infer_aten_addmm(ddk_infer_ctx* c) {
  return infer_matmul(c, false, true);
}
ddk_status ddk_infer_aten_bmm(ddk_infer_ctx* c) {
  return infer_matmul(c, true, false);
}
ddk_status ddk_infer_aten_convolution(ddk_infer_ctx* c) {
  return infer_convolution(c);
}
ddk_status ddk_infer_aten_convolution_backward(ddk_infer_ctx* c) {
  return infer_convolution_backward(c);
}
ddk_status ddk_infer_aten_col2im(ddk_infer_ctx* c) {
  return infer_col2im(c);
}
