/*
 * op_upsample.c — aten::upsample_bilinear2d.vec, aten::upsample_nearest2d.vec.
 *
 * Input NCHW (any strides), output N, C, OH, OW (sizes from output_size, or
 * floor(in * scale_factor) computed by inference). When scale_factors are
 * given they also set the source-index scale (1 / scale_factor), as in
 * ATen; otherwise the scale is in / out. ATen's index formulas
 * (UpSample.h, UpSampleKernel.cpp):
 *
 *  nearest:  src = min(floorf(dst * scale), in - 1), with scale and product
 *            in float (double for float64 inputs that are not channels-last:
 *            ATen's generic path computes in the opmath type and floors
 *            through floorf); every dtype copies the selected element.
 *  bilinear: align_corners: scale = (in - 1) / (out - 1) (0 when out == 1),
 *            real = scale * dst; else real = max(scale * (dst + 0.5) - 0.5, 0).
 *            i0 = min(floorf(real), in - 1), i1 = i0 + (i0 < in - 1),
 *            l1 = clamp(real - i0, 0, 1), l0 = 1 - l1; a dim whose size does
 *            not change copies. float types compute
 *            l0h * (l0w * x00 + l1w * x01) + l1h * (l0w * x10 + l1w * x11)
 *            in float (double for float64) and round once.
 *            uint8 follows ATen's separable integer path: per dim the
 *            weights (in double) become int16 with a precision of p bits
 *            (the largest p < 22 with round(max_weight * 2^(p+1)) < 2^15);
 *            the image is resized horizontally first (only when the width
 *            changes), each value (sum w * x + 2^(p-1)) >> p clamped to
 *            0..255, then vertically the same way from those values.
 *
 * Dtypes: float32, float64, float16, bfloat16, uint8.
 */
#include "kernel_util.h"

#define UPS_MASK (DDK_KU_MASK_FLOATS | DDK_KU_BIT(UINT8))

typedef struct ups_args {
  bool align_corners;
  bool has_scale[2];
  double scale[2]; /* scale factors as given (H, W) */
} ups_args;

static ddk_status ups_read_args(ddk_kernel_ctx* ctx, const ddk_node_view* node, bool bilinear,
                                ups_args* a) {
  memset(a, 0, sizeof *a);
  const uint32_t sf_arg = bilinear ? 3 : 2;
  if (node->num_args < sf_arg + 1 || node->num_outputs < 1)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong number of arguments");
  if (bilinear) {
    if (node->args[2].kind != DDK_ARG_BOOL)
      return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "align_corners must be a bool");
    a->align_corners = node->args[2].u.b;
  }
  const ddk_arg* sf = &node->args[sf_arg];
  if (sf->kind == DDK_ARG_FLOAT_LIST && sf->count == 2 && sf->u.floats != NULL) {
    for (int i = 0; i < 2; ++i) {
      a->has_scale[i] = true;
      a->scale[i] = sf->u.floats[i];
    }
  }
  return DDK_OK;
}

/* compute_scales_value: 1 / scale_factor when one was given (> 0), else
 * in / out, in double (callers round to float where ATen computes in float). */
static double ups_scale_value(bool has, double sf, int64_t in, int64_t out) {
  return has && sf > 0.0 ? 1.0 / sf : (double)in / (double)out;
}

/* ------------------------------------------------------------------------ */
/* Nearest                                                                  */
/* ------------------------------------------------------------------------ */

static int64_t nearest_src(int64_t dst, int64_t in, int64_t out, bool has, double sf, bool dbl) {
  int64_t i;
  if (dbl) {
    const double scale = ups_scale_value(has, sf, in, out);
    i = (int64_t)floorf((float)(scale * (double)dst));
  } else {
    const float scale = (float)ups_scale_value(has, sf, in, out);
    i = (int64_t)floorf(scale * (float)dst);
  }
  return i < in - 1 ? (i < 0 ? 0 : i) : in - 1;
}

static bool is_channels_last(const ddk_tensor* x) {
  return x->rank == 4 && x->dim_order[0] == 0 && x->dim_order[1] == 2 && x->dim_order[2] == 3 &&
         x->dim_order[3] == 1 && x->sizes[1] > 1;
}

ddk_status ddk_kernel_aten_upsample_nearest2d_vec(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  ups_args a;
  ddk_status st = ups_read_args(ctx, node, false, &a);
  if (st != DDK_OK) return st;
  const ddk_tensor* x = ddk_kernel_arg_tensor(ctx, node, 0);
  ddk_tensor* y = ddk_kernel_out(ctx, node, 0);
  st = ddk_ku_check_dtype(ctx, node, "input", x, UPS_MASK);
  if (st != DDK_OK) return st;
  if (x->rank != 4 || y->rank != 4 || y->dtype != x->dtype || y->sizes[0] != x->sizes[0] ||
      y->sizes[1] != x->sizes[1])
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "result shape does not match input");
  const int64_t N = y->sizes[0], C = y->sizes[1], OH = y->sizes[2], OW = y->sizes[3];
  const int64_t H = x->sizes[2], W = x->sizes[3];
  if (N * C * OH * OW == 0) return DDK_OK;
  if (H <= 0 || W <= 0)
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "empty spatial input");
  const bool dbl = x->dtype == DDK_DTYPE_FLOAT64 && !is_channels_last(x);
  const size_t es = ddk_dtype_size(x->dtype);
  const char* src = (const char*)x->data;
  char* dst = (char*)y->data;
  for (int64_t oh = 0; oh < OH; ++oh) {
    const int64_t ih = nearest_src(oh, H, OH, a.has_scale[0], a.scale[0], dbl);
    for (int64_t ow = 0; ow < OW; ++ow) {
      const int64_t iw = nearest_src(ow, W, OW, a.has_scale[1], a.scale[1], dbl);
      for (int64_t n = 0; n < N; ++n)
        for (int64_t c = 0; c < C; ++c) {
          const int64_t so =
              n * x->strides[0] + c * x->strides[1] + ih * x->strides[2] + iw * x->strides[3];
          const int64_t d =
              n * y->strides[0] + c * y->strides[1] + oh * y->strides[2] + ow * y->strides[3];
          memcpy(dst + (size_t)d * es, src + (size_t)so * es, es);
        }
    }
  }
  return DDK_OK;
}

/* ------------------------------------------------------------------------ */
/* Bilinear                                                                 */
/* ------------------------------------------------------------------------ */

/* Source taps of one output index: i0, i1 and weights l0, l1 (double; the
 * float path rounds scale and index arithmetic to float when !dbl). */
typedef struct ups_tap {
  int64_t i0, i1;
  double l0, l1;
} ups_tap;

static ups_tap linear_tap(int64_t dst, int64_t in, int64_t out, bool ac, bool has, double sf,
                          bool dbl) {
  ups_tap t;
  if (in == out) {
    t.i0 = t.i1 = dst;
    t.l0 = 1.0;
    t.l1 = 0.0;
    return t;
  }
  double real;
  if (dbl) {
    const double scale = ac ? (out > 1 ? (double)(in - 1) / (double)(out - 1) : 0.0)
                            : ups_scale_value(has, sf, in, out);
    if (ac) {
      real = scale * (double)dst;
    } else {
      real = scale * ((double)dst + 0.5) - 0.5;
      if (real < 0.0) real = 0.0;
    }
  } else {
    const float scale = ac ? (out > 1 ? (float)(in - 1) / (float)(out - 1) : 0.0f)
                           : (float)ups_scale_value(has, sf, in, out);
    float r;
    if (ac) {
      r = scale * (float)dst;
    } else {
      r = scale * ((float)dst + 0.5f) - 0.5f;
      if (r < 0.0f) r = 0.0f;
    }
    real = r;
  }
  int64_t i0 = (int64_t)floorf((float)real);
  if (i0 > in - 1) i0 = in - 1;
  if (i0 < 0) i0 = 0;
  double l1;
  if (dbl) {
    l1 = real - (double)i0;
  } else {
    l1 = (float)real - (float)i0;
  }
  l1 = l1 < 0.0 ? 0.0 : (l1 > 1.0 ? 1.0 : l1);
  t.i0 = i0;
  t.i1 = i0 + (i0 < in - 1 ? 1 : 0);
  t.l1 = l1;
  t.l0 = dbl ? 1.0 - l1 : (double)(1.0f - (float)l1);
  return t;
}

/* uint8 path: int16 taps of one output index (ATen's
 * _compute_indices_min_size_weights with antialias=False): xmin, size (1
 * or 2) and double weights, accumulated at the borders as ATen does. */
typedef struct ups_taps_u8 {
  int64_t xmin, size;
  double w[2];
} ups_taps_u8;

static double tent(double x) {
  x = fabs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

static ups_taps_u8 u8_taps(int64_t dst, int64_t in, int64_t out, bool ac, bool has, double sf) {
  const double scale = ac ? (out > 1 ? (double)(in - 1) / (double)(out - 1) : 0.0)
                          : ups_scale_value(has, sf, in, out);
  double real;
  if (ac) {
    real = scale * (double)dst;
  } else {
    real = scale * ((double)dst + 0.5) - 0.5;
    if (real < 0.0) real = 0.0;
  }
  int64_t idx = (int64_t)floorf((float)real);
  if (idx > in - 1) idx = in - 1;
  double lambda = real - (double)idx;
  lambda = lambda < 0.0 ? 0.0 : (lambda > 1.0 ? 1.0 : lambda);
  ups_taps_u8 t;
  const int64_t umin = idx; /* support 1: idx - 1 + 1 */
  t.xmin = umin > 0 ? umin : 0;
  t.size = (idx + 2 < in ? idx + 2 : in) - t.xmin;
  if (t.size < 0) t.size = 0;
  if (t.size > 2) t.size = 2;
  t.w[0] = t.w[1] = 0.0;
  int64_t wi = 0;
  for (int64_t j = 0; j < 2; ++j) {
    const double w = tent((double)j - lambda);
    if (umin + j <= 0)
      wi = 0;
    else if (umin + j >= in - 1)
      wi = t.size - 1;
    if (wi >= 0 && wi < 2) t.w[wi] += w;
    ++wi;
  }
  return t;
}

/* Weight precision of one dim (ATen's _compute_index_ranges_int16_weights). */
static unsigned u8_precision(int64_t in, int64_t out, bool ac, bool has, double sf) {
  double wmax = 0.0;
  for (int64_t i = 0; i < out; ++i) {
    ups_taps_u8 t = u8_taps(i, in, out, ac, has, sf);
    for (int k = 0; k < 2; ++k)
      if (t.w[k] > wmax) wmax = t.w[k];
  }
  unsigned p = 0;
  for (p = 0; p < 22; ++p) {
    int next = (int)(0.5 + wmax * (double)(1u << (p + 1)));
    if (next >= (1 << 15)) break;
  }
  return p;
}

static int32_t u8_weight(double w, unsigned p) {
  const double v = w * (double)(1u << p);
  return v < 0 ? (int32_t)(-0.5 + v) : (int32_t)(0.5 + v);
}

static uint8_t u8_finish(int64_t acc, unsigned p) {
  int64_t v = acc >> p; /* acc >= 0: the weights are non-negative */
  return (uint8_t)(v < 0 ? 0 : (v > 255 ? 255 : v));
}

typedef struct ups_plane {
  const uint8_t* base; /* element (n, c, 0, 0) */
  int64_t sh, sw;
} ups_plane;

/* Horizontally resized value at input row h, output column ow. */
static uint8_t u8_row_value(const ups_plane* pl, int64_t h, int64_t ow, int64_t W, int64_t OW,
                            const ups_args* a, unsigned pw) {
  if (W == OW) return pl->base[h * pl->sh + ow * pl->sw];
  ups_taps_u8 t = u8_taps(ow, W, OW, a->align_corners, a->has_scale[1], a->scale[1]);
  int64_t acc = (int64_t)1 << (pw - 1);
  for (int64_t k = 0; k < t.size; ++k)
    acc += (int64_t)u8_weight(t.w[k], pw) * pl->base[h * pl->sh + (t.xmin + k) * pl->sw];
  return u8_finish(acc, pw);
}

static void bilinear_u8(const ddk_tensor* x, ddk_tensor* y, const ups_args* a) {
  const int64_t N = y->sizes[0], C = y->sizes[1], OH = y->sizes[2], OW = y->sizes[3];
  const int64_t H = x->sizes[2], W = x->sizes[3];
  const unsigned pw =
      W != OW ? u8_precision(W, OW, a->align_corners, a->has_scale[1], a->scale[1]) : 0;
  const unsigned ph =
      H != OH ? u8_precision(H, OH, a->align_corners, a->has_scale[0], a->scale[0]) : 0;
  uint8_t* out = (uint8_t*)y->data;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c) {
      ups_plane pl = {(const uint8_t*)x->data + n * x->strides[0] + c * x->strides[1],
                      x->strides[2], x->strides[3]};
      for (int64_t oh = 0; oh < OH; ++oh) {
        ups_taps_u8 th = {oh, 1, {1.0, 0.0}};
        if (H != OH) th = u8_taps(oh, H, OH, a->align_corners, a->has_scale[0], a->scale[0]);
        for (int64_t ow = 0; ow < OW; ++ow) {
          uint8_t v;
          if (H == OH) {
            v = u8_row_value(&pl, oh, ow, W, OW, a, pw);
          } else {
            int64_t acc = (int64_t)1 << (ph - 1);
            for (int64_t k = 0; k < th.size; ++k)
              acc += (int64_t)u8_weight(th.w[k], ph) *
                     u8_row_value(&pl, th.xmin + k, ow, W, OW, a, pw);
            v = u8_finish(acc, ph);
          }
          out[n * y->strides[0] + c * y->strides[1] + oh * y->strides[2] + ow * y->strides[3]] = v;
        }
      }
    }
}

static void bilinear_float(const ddk_tensor* x, ddk_tensor* y, const ups_args* a) {
  const int64_t N = y->sizes[0], C = y->sizes[1], OH = y->sizes[2], OW = y->sizes[3];
  const int64_t H = x->sizes[2], W = x->sizes[3];
  const bool dbl = x->dtype == DDK_DTYPE_FLOAT64;
  for (int64_t oh = 0; oh < OH; ++oh) {
    const ups_tap th = linear_tap(oh, H, OH, a->align_corners, a->has_scale[0], a->scale[0], dbl);
    for (int64_t ow = 0; ow < OW; ++ow) {
      const ups_tap tw = linear_tap(ow, W, OW, a->align_corners, a->has_scale[1], a->scale[1], dbl);
      for (int64_t n = 0; n < N; ++n)
        for (int64_t c = 0; c < C; ++c) {
          const int64_t b = n * x->strides[0] + c * x->strides[1];
          const int64_t r0 = b + th.i0 * x->strides[2], r1 = b + th.i1 * x->strides[2];
          const int64_t c0 = tw.i0 * x->strides[3], c1 = tw.i1 * x->strides[3];
          const int64_t o =
              n * y->strides[0] + c * y->strides[1] + oh * y->strides[2] + ow * y->strides[3];
          if (dbl) {
            const double* p = (const double*)x->data;
            const double t0 = p[r0 + c0] * tw.l0 + p[r0 + c1] * tw.l1;
            const double t1 = p[r1 + c0] * tw.l0 + p[r1 + c1] * tw.l1;
            ((double*)y->data)[o] = t0 * th.l0 + t1 * th.l1;
          } else {
            const float l0w = (float)tw.l0, l1w = (float)tw.l1;
            const float t0 = ddk_ku_load_f32(x->data, x->dtype, r0 + c0) * l0w +
                             ddk_ku_load_f32(x->data, x->dtype, r0 + c1) * l1w;
            const float t1 = ddk_ku_load_f32(x->data, x->dtype, r1 + c0) * l0w +
                             ddk_ku_load_f32(x->data, x->dtype, r1 + c1) * l1w;
            ddk_ku_store_f32(y->data, y->dtype, o, t0 * (float)th.l0 + t1 * (float)th.l1);
          }
        }
    }
  }
}

ddk_status ddk_kernel_aten_upsample_bilinear2d_vec(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  ups_args a;
  ddk_status st = ups_read_args(ctx, node, true, &a);
  if (st != DDK_OK) return st;
  const ddk_tensor* x = ddk_kernel_arg_tensor(ctx, node, 0);
  ddk_tensor* y = ddk_kernel_out(ctx, node, 0);
  st = ddk_ku_check_dtype(ctx, node, "input", x, UPS_MASK);
  if (st != DDK_OK) return st;
  if (x->rank != 4 || y->rank != 4 || y->dtype != x->dtype || y->sizes[0] != x->sizes[0] ||
      y->sizes[1] != x->sizes[1])
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "result shape does not match input");
  if (ddk_tensor_numel(y) == 0) return DDK_OK;
  if (x->sizes[2] <= 0 || x->sizes[3] <= 0)
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "empty spatial input");
  if (x->dtype == DDK_DTYPE_UINT8)
    bilinear_u8(x, y, &a);
  else
    bilinear_float(x, y, &a);
  return DDK_OK;
}
