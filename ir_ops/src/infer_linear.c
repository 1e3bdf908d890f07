/*
 * infer_linear.c — inference rules: matmul and convolution.
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

static ddk_status infer_convolution(ddk_infer_ctx* c) {
  ddk_status st = ddk_infer_need(c, 9, 1);
  const ddk_tensor *x = NULL, *w = NULL, *b = NULL;
  bool transposed = false;
  int64_t groups = 0;
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 0, "input", &x);
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 1, "weight", &w);
  if (st == DDK_OK) st = ddk_infer_arg_opt_tensor(c, 2, "bias", &b);
  if (st == DDK_OK) st = ddk_infer_arg_bool(c, 6, "transposed", &transposed);
  if (st == DDK_OK) st = ddk_infer_arg_int(c, 8, "groups", &groups);
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
  st = ddk_infer_expand_list(c, 3, "stride", sp, NULL, stride);
  if (st == DDK_OK) st = ddk_infer_expand_list(c, 4, "padding", sp, NULL, pad);
  if (st == DDK_OK) st = ddk_infer_expand_list(c, 5, "dilation", sp, NULL, dil);
  if (st == DDK_OK) st = ddk_infer_expand_list(c, 7, "output_padding", sp, NULL, opad);
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
  int64_t sizes[5] = {x->sizes[0], cout, 0, 0, 0};
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
  return ddk_infer_set_output(c, 0, x->dtype, x->rank, sizes);
}

/* ATen's pooling_output_shape. */

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
