/*
 * infer_misc.c — inference rules: copies and dtype conversion, tensor
 * metadata (sym_*), distances, FFTs, grid sampling and upsampling.
 *
 * Metadata ops return a 0-d tensor: int64 for SymInt results, bool for
 * SymBool; _local_scalar_dense a 0-d tensor of self's dtype.
 */
#include "infer_util.h"

/* The op's tensor args 0..n-1 and a check of the output count. */
static ddk_status need_self(ddk_infer_ctx* c, uint32_t num_args, const ddk_tensor** x) {
  ddk_status st = ddk_infer_need(c, num_args, 1);
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 0, "self", x);
  return st;
}

static bool is_real_float(ddk_dtype d) {
  return d == DDK_DTYPE_FLOAT32 || d == DDK_DTYPE_FLOAT64 || d == DDK_DTYPE_FLOAT16 ||
         d == DDK_DTYPE_BFLOAT16;
}

static bool is_real(ddk_dtype d) {
  return ddk_dtype_category(d) >= 0 && ddk_dtype_category(d) <= 2;
}

/* ------------------------------------------------------------------------ */
/* Copies                                                                   */
/* ------------------------------------------------------------------------ */

ddk_status ddk_infer_aten_copy(ddk_infer_ctx* c) {
  const ddk_tensor *x = NULL, *src = NULL;
  ddk_status st = need_self(c, 2, &x);
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 1, "src", &src);
  if (st != DDK_OK) return st;
  if (src->rank > x->rank)
    return ddk_infer_fail(c, DDK_SHAPE_MISMATCH,
                          "src of rank %u does not broadcast to self's rank %u", src->rank,
                          x->rank);
  for (uint32_t i = 0; i < src->rank; ++i) {
    int64_t s = src->sizes[i], d = x->sizes[x->rank - src->rank + i];
    if (s != d && s != 1)
      return ddk_infer_fail(c, DDK_SHAPE_MISMATCH,
                            "the size of src (%lld) must match the size of self (%lld) at dim %u",
                            (long long)s, (long long)d, x->rank - src->rank + i);
  }
  if (src->dtype != x->dtype && (!is_real(src->dtype) || !is_real(x->dtype)))
    return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE, "cannot copy %s into %s",
                          ddk_dtype_name(src->dtype), ddk_dtype_name(x->dtype));
  return ddk_infer_same_shape(c, x, x->dtype);
}

ddk_status ddk_infer_aten_to_copy(ddk_infer_ctx* c) {
  const ddk_tensor* x = NULL;
  ddk_status st = need_self(c, 7, &x);
  if (st != DDK_OK) return st;
  const ddk_arg* a = c->node->args;
  ddk_dtype dt = x->dtype;
  if (a[1].kind == DDK_ARG_DTYPE) {
    dt = (ddk_dtype)a[1].u.i;
    if (ddk_dtype_size(dt) == 0)
      return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE, "argument 'dtype': unknown dtype %d",
                            (int)dt);
  } else if (a[1].kind != DDK_ARG_NONE) {
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "argument 'dtype' must be a dtype");
  }
  if (dt != x->dtype && (!is_real(dt) || !is_real(x->dtype)))
    return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE, "cannot convert %s to %s",
                          ddk_dtype_name(x->dtype), ddk_dtype_name(dt));
  if (a[2].kind != DDK_ARG_NONE && (a[2].kind != DDK_ARG_INT || a[2].u.i != 0))
    return ddk_infer_fail(c, DDK_UNSUPPORTED_FEATURE,
                          "argument 'layout': only the strided layout is supported");
  if (a[3].kind == DDK_ARG_STRING) {
    if (a[3].u.str == NULL || strncmp(a[3].u.str, "cpu", 3) != 0)
      return ddk_infer_fail(c, DDK_UNSUPPORTED_FEATURE, "argument 'device': only cpu is supported");
  } else if (a[3].kind != DDK_ARG_NONE) {
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "argument 'device' must be a device");
  }
  if (a[4].kind != DDK_ARG_NONE && (a[4].kind != DDK_ARG_BOOL || a[4].u.b))
    return ddk_infer_fail(c, DDK_UNSUPPORTED_FEATURE, "argument 'pin_memory' must be False");
  if (a[6].kind != DDK_ARG_NONE) {
    int64_t mf = 0;
    st = ddk_infer_arg_int(c, 6, "memory_format", &mf);
    if (st != DDK_OK) return st;
    if (mf < 0 || mf > 3)
      return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "argument 'memory_format': unknown value %lld",
                            (long long)mf);
    if (mf == 2 && x->rank != 4)
      return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                            "required rank 4 tensor to use channels_last format");
    if (mf == 3 && x->rank != 5)
      return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                            "required rank 5 tensor to use channels_last_3d format");
  }
  return ddk_infer_same_shape(c, x, dt);
}

ddk_status ddk_infer_aten_local_scalar_dense(ddk_infer_ctx* c) {
  const ddk_tensor* x = NULL;
  ddk_status st = need_self(c, 1, &x);
  if (st != DDK_OK) return st;
  int64_t n = 1;
  for (uint32_t i = 0; i < x->rank; ++i) n *= x->sizes[i];
  if (n == 0) return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "empty tensor not supported");
  return ddk_infer_set_output(c, 0, x->dtype, 0, NULL);
}

/* ------------------------------------------------------------------------ */
/* Metadata                                                                 */
/* ------------------------------------------------------------------------ */

static ddk_status infer_meta_dim(ddk_infer_ctx* c) {
  const ddk_tensor* x = NULL;
  int64_t dim = 0;
  ddk_status st = need_self(c, 2, &x);
  if (st == DDK_OK) st = ddk_infer_arg_int(c, 1, "dim", &dim);
  if (st != DDK_OK) return st;
  if (x->rank == 0)
    return ddk_infer_fail(c, DDK_OUT_OF_RANGE,
                          "dimension specified as %lld but tensor has no dimensions",
                          (long long)dim);
  st = ddk_infer_wrap_dim(c, "dim", dim, x->rank, &dim);
  if (st != DDK_OK) return st;
  return ddk_infer_set_output(c, 0, DDK_DTYPE_INT64, 0, NULL);
}

static ddk_status infer_meta(ddk_infer_ctx* c) {
  const ddk_tensor* x = NULL;
  ddk_status st = need_self(c, 1, &x);
  if (st != DDK_OK) return st;
  return ddk_infer_set_output(c, 0, DDK_DTYPE_INT64, 0, NULL);
}

ddk_status ddk_infer_aten_sym_size_int(ddk_infer_ctx* c) {
  return infer_meta_dim(c);
}
ddk_status ddk_infer_aten_sym_stride_int(ddk_infer_ctx* c) {
  return infer_meta_dim(c);
}
ddk_status ddk_infer_aten_sym_numel(ddk_infer_ctx* c) {
  return infer_meta(c);
}
ddk_status ddk_infer_aten_sym_storage_offset(ddk_infer_ctx* c) {
  return infer_meta(c);
}

ddk_status ddk_infer_aten_sym_is_contiguous(ddk_infer_ctx* c) {
  const ddk_tensor* x = NULL;
  int64_t mf = 0;
  ddk_status st = need_self(c, 2, &x);
  if (st == DDK_OK) st = ddk_infer_arg_int(c, 1, "memory_format", &mf);
  if (st != DDK_OK) return st;
  if (mf < 0 || mf > 3)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "argument 'memory_format': unknown value %lld",
                          (long long)mf);
  return ddk_infer_set_output(c, 0, DDK_DTYPE_BOOL, 0, NULL);
}

/* ------------------------------------------------------------------------ */
/* Distances                                                                */
/* ------------------------------------------------------------------------ */

static ddk_status arg_float(ddk_infer_ctx* c, uint32_t i, const char* name, double* out) {
  const ddk_arg* a = &c->node->args[i];
  if (a->kind == DDK_ARG_FLOAT) {
    *out = a->u.f;
  } else if (a->kind == DDK_ARG_INT) {
    *out = (double)a->u.i;
  } else {
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "argument '%s' must be a float", name);
  }
  return DDK_OK;
}

ddk_status ddk_infer_aten_cdist_forward(ddk_infer_ctx* c) {
  const ddk_tensor *x1 = NULL, *x2 = NULL;
  double p = 0;
  ddk_status st = ddk_infer_need(c, 4, 1);
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 0, "x1", &x1);
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 1, "x2", &x2);
  if (st == DDK_OK) st = arg_float(c, 2, "p", &p);
  if (st != DDK_OK) return st;
  if (x1->rank < 2 || x2->rank < 2)
    return ddk_infer_fail(c, DDK_SHAPE_MISMATCH,
                          "cdist only supports at least 2D tensors, got %uD and %uD", x1->rank,
                          x2->rank);
  if (x1->sizes[x1->rank - 1] != x2->sizes[x2->rank - 1])
    return ddk_infer_fail(c, DDK_SHAPE_MISMATCH,
                          "X1 and X2 must have the same number of columns (%lld vs %lld)",
                          (long long)x1->sizes[x1->rank - 1], (long long)x2->sizes[x2->rank - 1]);
  if (x1->dtype != DDK_DTYPE_FLOAT32 && x1->dtype != DDK_DTYPE_FLOAT64)
    return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE,
                          "cdist only supports float32 and float64, got %s",
                          ddk_dtype_name(x1->dtype));
  if (x2->dtype != x1->dtype)
    return ddk_infer_fail(c, DDK_DTYPE_MISMATCH, "expected x2 of dtype %s, got %s",
                          ddk_dtype_name(x1->dtype), ddk_dtype_name(x2->dtype));
  if (!(p >= 0))
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "cdist only supports non-negative p values");
  const ddk_arg* mode = &c->node->args[3];
  if (mode->kind != DDK_ARG_NONE) {
    int64_t m = 0;
    st = ddk_infer_arg_int(c, 3, "compute_mode", &m);
    if (st != DDK_OK) return st;
    if (m < 0 || m > 2)
      return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "possible modes: 0, 1, 2, but was: %lld",
                            (long long)m);
  }
  int64_t sizes[DDK_MAX_RANK];
  uint32_t rank = 0;
  st = ddk_broadcast_shapes(x1->sizes, x1->rank - 2, x2->sizes, x2->rank - 2, sizes, &rank, c->err,
                            c->err_cap);
  if (st != DDK_OK) return st;
  if (rank + 2 > DDK_MAX_RANK) return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "rank too large");
  sizes[rank] = x1->sizes[x1->rank - 2];
  sizes[rank + 1] = x2->sizes[x2->rank - 2];
  return ddk_infer_set_output(c, 0, x1->dtype, rank + 2, sizes);
}

ddk_status ddk_infer_aten_pdist_forward(ddk_infer_ctx* c) {
  const ddk_tensor* x = NULL;
  double p = 0;
  ddk_status st = need_self(c, 2, &x);
  if (st == DDK_OK) st = arg_float(c, 1, "p", &p);
  if (st != DDK_OK) return st;
  if (x->rank != 2)
    return ddk_infer_fail(c, DDK_SHAPE_MISMATCH, "pdist only supports 2D tensors, got: %uD",
                          x->rank);
  if (x->dtype != DDK_DTYPE_FLOAT32 && x->dtype != DDK_DTYPE_FLOAT64)
    return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE,
                          "pdist only supports float32 and float64, got %s",
                          ddk_dtype_name(x->dtype));
  const int64_t n = x->sizes[0];
  const int64_t sizes[1] = {n <= 1 ? 0 : n * (n - 1) / 2};
  return ddk_infer_set_output(c, 0, x->dtype, 1, sizes);
}

/* ------------------------------------------------------------------------ */
/* FFT                                                                      */
/* ------------------------------------------------------------------------ */

/* Checks the `dim` list (arg 1) and normalization (arg 2) of an FFT op:
 * dims in [0, rank) (ATen asserts on negative ones), distinct, of non-zero
 * size in `x`. *last gets the last listed dim. */
static ddk_status fft_dims(ddk_infer_ctx* c, const ddk_tensor* x, int64_t* last) {
  const int64_t* dims = NULL;
  uint32_t n = 0;
  int64_t norm = 0;
  ddk_status st = ddk_infer_arg_ints(c, 1, "dim", &dims, &n);
  if (st == DDK_OK) st = ddk_infer_arg_int(c, 2, "normalization", &norm);
  if (st != DDK_OK) return st;
  if (n == 0) return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "argument 'dim' must not be empty");
  if (norm < 0 || norm > 2)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "argument 'normalization' must be 0, 1 or 2");
  uint32_t seen = 0;
  for (uint32_t i = 0; i < n; ++i) {
    if (dims[i] < 0 || dims[i] >= (int64_t)x->rank)
      return ddk_infer_fail(c, DDK_OUT_OF_RANGE, "argument 'dim': %lld out of range [0, %u)",
                            (long long)dims[i], x->rank);
    if (seen & (1u << dims[i]))
      return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "argument 'dim': %lld repeated",
                            (long long)dims[i]);
    seen |= 1u << dims[i];
    if (x->sizes[dims[i]] == 0)
      return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                            "invalid number of data points (0) along dim %lld", (long long)dims[i]);
  }
  *last = dims[n - 1];
  return DDK_OK;
}

ddk_status ddk_infer_aten_fft_r2c(ddk_infer_ctx* c) {
  const ddk_tensor* x = NULL;
  int64_t last = 0;
  bool onesided = false;
  ddk_status st = need_self(c, 4, &x);
  if (st == DDK_OK) st = ddk_infer_arg_bool(c, 3, "onesided", &onesided);
  if (st != DDK_OK) return st;
  if (x->dtype != DDK_DTYPE_FLOAT32 && x->dtype != DDK_DTYPE_FLOAT64)
    return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE, "only float32 and float64 inputs, got %s",
                          ddk_dtype_name(x->dtype));
  st = fft_dims(c, x, &last);
  if (st != DDK_OK) return st;
  int64_t sizes[DDK_MAX_RANK];
  for (uint32_t i = 0; i < x->rank; ++i) sizes[i] = x->sizes[i];
  if (onesided) sizes[last] = sizes[last] / 2 + 1;
  return ddk_infer_set_output(
      c, 0, x->dtype == DDK_DTYPE_FLOAT64 ? DDK_DTYPE_COMPLEX128 : DDK_DTYPE_COMPLEX64, x->rank,
      sizes);
}

ddk_status ddk_infer_aten_fft_c2r(ddk_infer_ctx* c) {
  const ddk_tensor* x = NULL;
  int64_t last = 0, n = 0;
  ddk_status st = need_self(c, 4, &x);
  if (st == DDK_OK) st = ddk_infer_arg_int(c, 3, "last_dim_size", &n);
  if (st != DDK_OK) return st;
  if (x->dtype != DDK_DTYPE_COMPLEX64 && x->dtype != DDK_DTYPE_COMPLEX128)
    return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE, "only complex inputs, got %s",
                          ddk_dtype_name(x->dtype));
  st = fft_dims(c, x, &last);
  if (st != DDK_OK) return st;
  if (n < 0)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "argument 'last_dim_size' %lld is negative",
                          (long long)n);
  const int64_t m = x->sizes[last];
  if (n > 0 && m != n && m != n / 2 + 1)
    return ddk_infer_fail(c, DDK_SHAPE_MISMATCH,
                          "input size %lld along dim %lld must be last_dim_size (%lld) or "
                          "last_dim_size / 2 + 1",
                          (long long)m, (long long)last, (long long)n);
  int64_t sizes[DDK_MAX_RANK];
  for (uint32_t i = 0; i < x->rank; ++i) sizes[i] = x->sizes[i];
  sizes[last] = n;
  return ddk_infer_set_output(
      c, 0, x->dtype == DDK_DTYPE_COMPLEX128 ? DDK_DTYPE_FLOAT64 : DDK_DTYPE_FLOAT32, x->rank,
      sizes);
}

/* ------------------------------------------------------------------------ */
/* Grid sampling and upsampling                                             */
/* ------------------------------------------------------------------------ */

ddk_status ddk_infer_aten_grid_sampler_2d(ddk_infer_ctx* c) {
  const ddk_tensor *x = NULL, *grid = NULL;
  int64_t interp = 0, pad = 0;
  bool ac = false;
  ddk_status st = ddk_infer_need(c, 5, 1);
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 0, "input", &x);
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 1, "grid", &grid);
  if (st == DDK_OK) st = ddk_infer_arg_int(c, 2, "interpolation_mode", &interp);
  if (st == DDK_OK) st = ddk_infer_arg_int(c, 3, "padding_mode", &pad);
  if (st == DDK_OK) st = ddk_infer_arg_bool(c, 4, "align_corners", &ac);
  if (st != DDK_OK) return st;
  if (!is_real_float(x->dtype))
    return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE, "grid_sampler_2d not implemented for %s",
                          ddk_dtype_name(x->dtype));
  if (grid->dtype != x->dtype)
    return ddk_infer_fail(c, DDK_DTYPE_MISMATCH,
                          "expected input and grid to have same dtype, got %s and %s",
                          ddk_dtype_name(x->dtype), ddk_dtype_name(grid->dtype));
  if (x->rank != 4 || grid->rank != 4)
    return ddk_infer_fail(c, DDK_SHAPE_MISMATCH, "expected 4-D input and grid, got %uD and %uD",
                          x->rank, grid->rank);
  if (x->sizes[0] != grid->sizes[0])
    return ddk_infer_fail(c, DDK_SHAPE_MISMATCH, "expected grid and input to have same batch size");
  if (grid->sizes[3] != 2)
    return ddk_infer_fail(c, DDK_SHAPE_MISMATCH,
                          "expected grid to have size 2 in last dimension, got %lld",
                          (long long)grid->sizes[3]);
  if (x->sizes[2] == 0 || x->sizes[3] == 0)
    return ddk_infer_fail(c, DDK_SHAPE_MISMATCH,
                          "expected input to have non-empty spatial dimensions");
  if (interp < 0 || interp > 2)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "interpolation_mode %lld not in 0..2",
                          (long long)interp);
  if (pad < 0 || pad > 2)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "padding_mode %lld not in 0..2", (long long)pad);
  const int64_t sizes[4] = {x->sizes[0], x->sizes[1], grid->sizes[1], grid->sizes[2]};
  return ddk_infer_set_output(c, 0, x->dtype, 4, sizes);
}

/* Output H, W of upsample_*2d.vec from output_size (arg 1) or
 * scale_factors (arg `sf_arg`): exactly one of them. */
static ddk_status upsample_out(ddk_infer_ctx* c, const ddk_tensor* x, uint32_t sf_arg,
                               int64_t* out_hw) {
  const ddk_arg* os = &c->node->args[1];
  const ddk_arg* sf = &c->node->args[sf_arg];
  if ((os->kind == DDK_ARG_NONE) == (sf->kind == DDK_ARG_NONE))
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                          "must specify exactly one of output_size and scale_factors");
  if (os->kind != DDK_ARG_NONE) {
    const int64_t* v = NULL;
    uint32_t n = 0;
    ddk_status st = ddk_infer_arg_ints(c, 1, "output_size", &v, &n);
    if (st != DDK_OK) return st;
    if (n != 2)
      return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "output_size must hold 2 values, got %u", n);
    out_hw[0] = v[0];
    out_hw[1] = v[1];
  } else {
    if (sf->kind != DDK_ARG_FLOAT_LIST || sf->count != 2 || sf->u.floats == NULL)
      return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "scale_factors must hold 2 floats");
    for (int i = 0; i < 2; ++i) {
      double o = (double)x->sizes[2 + i] * sf->u.floats[i];
      if (!(o > -9.0e18 && o < 9.0e18))
        return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "scale factor %g out of range",
                              sf->u.floats[i]);
      out_hw[i] = (int64_t)o;
    }
  }
  if (x->sizes[2] <= 0 || x->sizes[3] <= 0 || out_hw[0] <= 0 || out_hw[1] <= 0)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                          "input and output sizes should be greater than 0, got input (H: %lld, W: "
                          "%lld) output (H: %lld, W: %lld)",
                          (long long)x->sizes[2], (long long)x->sizes[3], (long long)out_hw[0],
                          (long long)out_hw[1]);
  return DDK_OK;
}

static ddk_status infer_upsample(ddk_infer_ctx* c, bool bilinear) {
  const ddk_tensor* x = NULL;
  bool ac = false;
  ddk_status st = ddk_infer_need(c, bilinear ? 4 : 3, 1);
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 0, "input", &x);
  if (st == DDK_OK && bilinear) st = ddk_infer_arg_bool(c, 2, "align_corners", &ac);
  if (st != DDK_OK) return st;
  if (!is_real_float(x->dtype) && x->dtype != DDK_DTYPE_UINT8)
    return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE, "not implemented for %s",
                          ddk_dtype_name(x->dtype));
  if (x->rank != 4)
    return ddk_infer_fail(c, DDK_SHAPE_MISMATCH, "expected a 4-D input, got %uD", x->rank);
  if (x->sizes[1] == 0)
    return ddk_infer_fail(c, DDK_SHAPE_MISMATCH, "non-empty 4D data tensor expected (C is 0)");
  int64_t hw[2] = {0, 0};
  st = upsample_out(c, x, bilinear ? 3 : 2, hw);
  if (st != DDK_OK) return st;
  const int64_t sizes[4] = {x->sizes[0], x->sizes[1], hw[0], hw[1]};
  return ddk_infer_set_output(c, 0, x->dtype, 4, sizes);
}

ddk_status ddk_infer_aten_upsample_bilinear2d_vec(ddk_infer_ctx* c) {
  return infer_upsample(c, true);
}
ddk_status ddk_infer_aten_upsample_nearest2d_vec(ddk_infer_ctx* c) {
  return infer_upsample(c, false);
}
