/*
 * op_grid_sampler.c — aten::grid_sampler_2d.
 *
 * out[n, c, h, w] samples input[n, c] at grid[n, h, w] = (x, y), both in
 * [-1, 1] for the image extent. interpolation_mode 0 bilinear, 1 nearest,
 * 2 bicubic; padding_mode 0 zeros, 1 border, 2 reflection; align_corners.
 *
 * float32/float64 follow ATen's vectorized CPU kernel (GridSamplerKernel.cpp)
 * op by op in float / double (ATen's build may fuse some multiply-adds,
 * so results can differ in the last bits; the tolerance allows for it):
 *  - unnormalize: align_corners: (g + 1) * ((size - 1) / 2);
 *    else (g + 1) * (size / 2) - 0.5;
 *  - border: clip to [0, size - 1] (NaN -> 0); reflection: reflect about
 *    [0, size - 1] (align_corners) or [-0.5, size - 0.5] (fold |v - low| by
 *    twice the span with trunc, take min(extra, 2 span - extra)), then clip;
 *  - bilinear: corners floor(x), floor(x) + 1; weights from the distances
 *    (nw = (1 - dx)(1 - dy), ...), out = nw*v_nw + ne*v_ne + sw*v_sw + se*v_se
 *    summed left to right; zeros padding reads 0 outside the image;
 *  - nearest: round half to even (nearbyint), 0 outside (zeros padding);
 *  - bicubic: A = -0.75 on the unnormalized, unpadded location; each of the
 *    16 taps is padded on its own (clip / reflect the tap coordinate), rows
 *    combined in x first, then in y.
 * float16/bfloat16 follow ATen's scalar fallback (GridSampler.cpp), whose
 * arithmetic is c10::Half/BFloat16: every operation rounds to the storage
 * type. Its formulas: unnormalize ((g + 1) / 2) * (size - 1) or
 * ((g + 1) * size - 1) / 2; reflection by fmod/floor flips; bilinear
 * weights (x_e - x) * (y_s - y) ..., accumulated over in-bounds corners;
 * bicubic coefficients from t + 1, t, 1 - t, 2 - t.
 * Dtypes: float32, float64, float16, bfloat16 (input and grid alike).
 */
#include "kernel_util.h"

typedef struct gs_dim {
  int64_t size;
  bool dbl; /* compute in double (float64) rather than float */
  int pad;  /* 0 zeros, 1 border, 2 reflection */
  bool ac;  /* align_corners */
} gs_dim;

/* Rounds to the compute type: every +, -, *, / below is followed by R(),
 * which gives the correctly rounded float result for float operands. */
static double gs_r(const gs_dim* d, double v) {
  return d->dbl ? v : (double)(float)v;
}

static double gs_unnormalize(const gs_dim* d, double g) {
  if (d->ac) {
    const double sf = gs_r(d, (double)(d->size - 1) / 2.0);
    return gs_r(d, gs_r(d, g + 1.0) * sf);
  }
  const double sf = gs_r(d, (double)d->size / 2.0);
  return gs_r(d, gs_r(d, gs_r(d, g + 1.0) * sf) - 0.5);
}

static double gs_clip(const gs_dim* d, double v) {
  const double hi = (double)(d->size - 1);
  v = v > 0.0 ? v : 0.0; /* NaN -> 0 */
  return v < hi ? v : hi;
}

static double gs_reflect(const gs_dim* d, double v) {
  double low, ts;
  if (d->ac) {
    if (d->size <= 1) return 0.0;
    low = 0.0;
    ts = (double)(d->size - 1) * 2.0;
  } else {
    low = -0.5;
    ts = (double)d->size * 2.0;
  }
  const double a = fabs(gs_r(d, v - low));
  const double flips = trunc(gs_r(d, a / ts));
  const double extra = gs_r(d, a - gs_r(d, flips * ts));
  const double other = gs_r(d, ts - extra);
  const double m = extra < other ? extra : other; /* NaN -> other, as minps */
  return gs_r(d, m + low);
}

/* Padding applied to an (unnormalized) coordinate. */
static double gs_pad(const gs_dim* d, double v) {
  if (d->pad == 1) return gs_clip(d, v);
  if (d->pad == 2) return gs_clip(d, gs_reflect(d, v));
  return v;
}

/* Integer index of an integral coordinate; false when outside the image
 * (or not representable). */
static bool gs_index(const gs_dim* d, double v, int64_t* out) {
  if (!(v > -1.0 && v < (double)d->size)) return false;
  *out = (int64_t)v;
  return true;
}

typedef struct gs_plane {
  const void* data;
  ddk_dtype dtype;
  int64_t base, sh, sw;
} gs_plane;

/* Input value at integral coordinates (x, y), 0 outside. */
static double gs_value(const gs_plane* p, const gs_dim* dx, const gs_dim* dy, double x, double y) {
  int64_t ix = 0, iy = 0;
  if (!gs_index(dx, x, &ix) || !gs_index(dy, y, &iy)) return 0.0;
  return ddk_ku_load_f64(p->data, p->dtype, p->base + iy * p->sh + ix * p->sw);
}

static void gs_cubic_coeffs(const gs_dim* d, double t, double* c) {
  const double A = -0.75;
  double x = gs_r(d, t + 1.0);
  c[0] = gs_r(d, gs_r(d, gs_r(d, gs_r(d, gs_r(d, A * x) - (5 * A)) * x) + 8 * A) * x) - 4 * A;
  c[0] = gs_r(d, c[0]);
  x = t;
  c[1] = gs_r(d, gs_r(d, gs_r(d, gs_r(d, gs_r(d, (A + 2) * x) - (A + 3)) * x) * x) + 1.0);
  x = gs_r(d, 1.0 - t);
  c[2] = gs_r(d, gs_r(d, gs_r(d, gs_r(d, gs_r(d, (A + 2) * x) - (A + 3)) * x) * x) + 1.0);
  x = gs_r(d, 2.0 - t);
  c[3] = gs_r(d, gs_r(d, gs_r(d, gs_r(d, gs_r(d, A * x) - (5 * A)) * x) + 8 * A) * x) - 4 * A;
  c[3] = gs_r(d, c[3]);
}

/* One output value at grid point (gx, gy) of plane p. */
static double gs_sample(const gs_plane* p, const gs_dim* dx, const gs_dim* dy, int interp,
                        double gx, double gy) {
  if (interp == 0) {
    const double x = gs_pad(dx, gs_unnormalize(dx, gx));
    const double y = gs_pad(dy, gs_unnormalize(dy, gy));
    const double xw = floor(x), yn = floor(y);
    const double w = gs_r(dx, x - xw), e = gs_r(dx, 1.0 - w);
    const double n = gs_r(dy, y - yn), s = gs_r(dy, 1.0 - n);
    const double nw = gs_r(dx, s * e), ne = gs_r(dx, s * w);
    const double sw = gs_r(dx, n * e), se = gs_r(dx, n * w);
    const double vnw = gs_value(p, dx, dy, xw, yn), vne = gs_value(p, dx, dy, xw + 1, yn);
    const double vsw = gs_value(p, dx, dy, xw, yn + 1), vse = gs_value(p, dx, dy, xw + 1, yn + 1);
    double r = gs_r(dx, gs_r(dx, vnw * nw) + gs_r(dx, vne * ne));
    r = gs_r(dx, r + gs_r(dx, vsw * sw));
    return gs_r(dx, r + gs_r(dx, vse * se));
  }
  if (interp == 1) {
    const double x = nearbyint(gs_pad(dx, gs_unnormalize(dx, gx)));
    const double y = nearbyint(gs_pad(dy, gs_unnormalize(dy, gy)));
    return gs_value(p, dx, dy, x, y);
  }
  const double x = gs_unnormalize(dx, gx), y = gs_unnormalize(dy, gy);
  const double ix = floor(x), iy = floor(y);
  double cx[4], cy[4], row[4];
  gs_cubic_coeffs(dx, gs_r(dx, x - ix), cx);
  gs_cubic_coeffs(dy, gs_r(dy, y - iy), cy);
  for (int i = 0; i < 4; ++i) {
    const double yy = gs_pad(dy, iy - 1 + i);
    double r = 0.0;
    for (int j = 0; j < 4; ++j) {
      const double v = gs_value(p, dx, dy, gs_pad(dx, ix - 1 + j), yy);
      const double t = gs_r(dx, cx[j] * v);
      r = j == 0 ? t : gs_r(dx, r + t);
    }
    row[i] = r;
  }
  double out = gs_r(dy, cy[0] * row[0]);
  for (int i = 1; i < 4; ++i) out = gs_r(dy, out + gs_r(dy, cy[i] * row[i]));
  return out;
}

/* ------------------------------------------------------------------------ */
/* float16 / bfloat16: ATen's scalar fallback in the storage type           */
/* ------------------------------------------------------------------------ */

/* c10::Half / BFloat16 arithmetic: each operation computes in float and
 * rounds to the storage type. */
typedef struct gs_red {
  ddk_dtype dt;
  int64_t size;
  int pad;
  bool ac;
} gs_red;

static double gs_h(const gs_red* d, double v) {
  return (double)ddk_ku_round_f32((float)v, d->dt);
}

static double gs_red_unnormalize(const gs_red* d, double c) {
  if (d->ac) return gs_h(d, gs_h(d, gs_h(d, c + 1) / 2) * (double)(d->size - 1));
  return gs_h(d, gs_h(d, gs_h(d, gs_h(d, c + 1) * (double)d->size) - 1) / 2);
}

static double gs_red_clip(const gs_red* d, double v) {
  const double hi = (double)(d->size - 1);
  v = v > 0.0 ? v : 0.0;
  return v < hi ? v : hi;
}

static double gs_red_reflect(const gs_red* d, double in, int64_t twice_low, int64_t twice_high) {
  if (twice_low == twice_high) return 0.0;
  const double mn = gs_h(d, (double)twice_low / 2);
  const double span = gs_h(d, (double)(twice_high - twice_low) / 2);
  in = fabs(gs_h(d, in - mn));
  const double extra = gs_h(d, fmod(in, span));
  const double flips = floor(gs_h(d, in / span));
  if (fmod(flips, 2.0) == 0.0) return gs_h(d, extra + mn);
  return gs_h(d, gs_h(d, span - extra) + mn);
}

static double gs_red_coords(const gs_red* d, double c) {
  if (d->pad == 1) return gs_red_clip(d, c);
  if (d->pad == 2) {
    c = d->ac ? gs_red_reflect(d, c, 0, 2 * (d->size - 1))
              : gs_red_reflect(d, c, -1, 2 * d->size - 1);
    return gs_red_clip(d, c);
  }
  return c;
}

static double gs_red_value(const gs_plane* p, const gs_red* dx, const gs_red* dy, double x,
                           double y) {
  x = gs_red_coords(dx, x);
  y = gs_red_coords(dy, y);
  if (!(x > -1.0 && x < (double)dx->size && y > -1.0 && y < (double)dy->size)) return 0.0;
  const int64_t ix = (int64_t)x, iy = (int64_t)y;
  if (ix < 0 || iy < 0) return 0.0;
  return ddk_ku_load_f64(p->data, p->dtype, p->base + iy * p->sh + ix * p->sw);
}

static double gs_red_conv1(const gs_red* d, double x, double A) {
  double r = gs_h(d, gs_h(d, (A + 2) * x) - (A + 3));
  return gs_h(d, gs_h(d, gs_h(d, r * x) * x) + 1);
}

static double gs_red_conv2(const gs_red* d, double x, double A) {
  double r = gs_h(d, gs_h(d, A * x) - 5 * A);
  r = gs_h(d, gs_h(d, r * x) + 8 * A);
  return gs_h(d, gs_h(d, r * x) - 4 * A);
}

static double gs_red_cubic(const gs_red* d, const double* v, double t) {
  const double A = -0.75;
  double c[4];
  c[0] = gs_red_conv2(d, gs_h(d, t + 1.0), A);
  c[1] = gs_red_conv1(d, t, A);
  const double t2 = gs_h(d, 1.0 - t);
  c[2] = gs_red_conv1(d, t2, A);
  c[3] = gs_red_conv2(d, gs_h(d, t2 + 1.0), A);
  double r = gs_h(d, v[0] * c[0]);
  for (int i = 1; i < 4; ++i) r = gs_h(d, r + gs_h(d, v[i] * c[i]));
  return r;
}

static double gs_sample_reduced(const gs_plane* p, const gs_red* dx, const gs_red* dy, int interp,
                                double gx, double gy) {
  if (interp == 2) {
    const double x = gs_red_unnormalize(dx, gx), y = gs_red_unnormalize(dy, gy);
    const double x0 = floor(x), y0 = floor(y);
    const double tx = gs_h(dx, x - x0), ty = gs_h(dy, y - y0);
    double rows[4];
    for (int i = 0; i < 4; ++i) {
      double v[4];
      for (int j = 0; j < 4; ++j) v[j] = gs_red_value(p, dx, dy, x0 - 1 + j, y0 - 1 + i);
      rows[i] = gs_red_cubic(dx, v, tx);
    }
    return gs_red_cubic(dy, rows, ty);
  }
  const double x = gs_red_coords(dx, gs_red_unnormalize(dx, gx));
  const double y = gs_red_coords(dy, gs_red_unnormalize(dy, gy));
  if (interp == 1) {
    const double ix = nearbyint(x), iy = nearbyint(y);
    if (!(ix >= 0 && ix < (double)dx->size && iy >= 0 && iy < (double)dy->size)) return 0.0;
    return ddk_ku_load_f64(p->data, p->dtype, p->base + (int64_t)iy * p->sh + (int64_t)ix * p->sw);
  }
  if (!(x > -2.0e9 && x < 2.0e9 && y > -2.0e9 && y < 2.0e9)) {
    return (x != x || y != y) ? NAN : 0.0; /* far outside: no corner in bounds */
  }
  const double xw = floor(x), yn = floor(y);
  const double nw = gs_h(dx, gs_h(dx, xw + 1 - x) * gs_h(dx, yn + 1 - y));
  const double ne = gs_h(dx, gs_h(dx, x - xw) * gs_h(dx, yn + 1 - y));
  const double sw = gs_h(dx, gs_h(dx, xw + 1 - x) * gs_h(dx, y - yn));
  const double se = gs_h(dx, gs_h(dx, x - xw) * gs_h(dx, y - yn));
  const double cx[4] = {xw, xw + 1, xw, xw + 1}, cy[4] = {yn, yn, yn + 1, yn + 1};
  const double w[4] = {nw, ne, sw, se};
  double r = 0.0;
  for (int k = 0; k < 4; ++k) {
    if (cx[k] >= 0 && cx[k] < (double)dx->size && cy[k] >= 0 && cy[k] < (double)dy->size) {
      const double v = ddk_ku_load_f64(p->data, p->dtype,
                                       p->base + (int64_t)cy[k] * p->sh + (int64_t)cx[k] * p->sw);
      r = gs_h(dx, r + gs_h(dx, v * w[k]));
    }
  }
  return r;
}

ddk_status ddk_kernel_aten_grid_sampler_2d(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  if (node->num_args < 5 || node->num_outputs < 1 || node->args[2].kind != DDK_ARG_INT ||
      node->args[3].kind != DDK_ARG_INT || node->args[4].kind != DDK_ARG_BOOL)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong arguments");
  const ddk_tensor* x = ddk_kernel_arg_tensor(ctx, node, 0);
  const ddk_tensor* grid = ddk_kernel_arg_tensor(ctx, node, 1);
  ddk_tensor* y = ddk_kernel_out(ctx, node, 0);
  ddk_status st = ddk_ku_check_dtype(ctx, node, "input", x, DDK_KU_MASK_FLOATS);
  if (st == DDK_OK) st = ddk_ku_check_dtype(ctx, node, "grid", grid, DDK_KU_MASK_FLOATS);
  if (st != DDK_OK) return st;
  const int64_t interp = node->args[2].u.i, pad = node->args[3].u.i;
  if (interp < 0 || interp > 2 || pad < 0 || pad > 2)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "bad interpolation or padding mode");
  if (x->rank != 4 || grid->rank != 4 || y->rank != 4 || grid->sizes[3] != 2 ||
      grid->dtype != x->dtype || y->dtype != x->dtype || grid->sizes[0] != x->sizes[0] ||
      y->sizes[0] != x->sizes[0] || y->sizes[1] != x->sizes[1] || y->sizes[2] != grid->sizes[1] ||
      y->sizes[3] != grid->sizes[2])
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "input, grid and result do not agree");
  if (ddk_tensor_numel(y) == 0) return DDK_OK;
  const bool dbl = x->dtype == DDK_DTYPE_FLOAT64;
  const bool ac = node->args[4].u.b;
  const gs_dim dx = {x->sizes[3], dbl, (int)pad, ac};
  const gs_dim dy = {x->sizes[2], dbl, (int)pad, ac};
  const bool reduced = x->dtype == DDK_DTYPE_FLOAT16 || x->dtype == DDK_DTYPE_BFLOAT16;
  const gs_red rx = {x->dtype, x->sizes[3], (int)pad, ac};
  const gs_red ry = {x->dtype, x->sizes[2], (int)pad, ac};
  if (dx.size <= 0 || dy.size <= 0)
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "empty spatial input");
  for (int64_t n = 0; n < y->sizes[0]; ++n)
    for (int64_t h = 0; h < y->sizes[2]; ++h)
      for (int64_t w = 0; w < y->sizes[3]; ++w) {
        const int64_t g = n * grid->strides[0] + h * grid->strides[1] + w * grid->strides[2];
        const double gx = ddk_ku_load_f64(grid->data, grid->dtype, g);
        const double gy = ddk_ku_load_f64(grid->data, grid->dtype, g + grid->strides[3]);
        for (int64_t c = 0; c < y->sizes[1]; ++c) {
          const gs_plane p = {x->data, x->dtype, n * x->strides[0] + c * x->strides[1],
                              x->strides[2], x->strides[3]};
          const double v = reduced ? gs_sample_reduced(&p, &rx, &ry, (int)interp, gx, gy)
                                   : gs_sample(&p, &dx, &dy, (int)interp, gx, gy);
          ddk_ku_store_f64(
              y->data, y->dtype,
              n * y->strides[0] + c * y->strides[1] + h * y->strides[2] + w * y->strides[3], v);
        }
      }
  return DDK_OK;
}
