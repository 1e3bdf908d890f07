/*
 * op_fft.c — aten::_fft_r2c, aten::_fft_c2r.
 *
 * _fft_r2c(self, dim, normalization, onesided): the forward DFT
 * X[k] = sum_j x[j] exp(-2 pi i j k / n) over every dim listed, float32 ->
 * complex64, float64 -> complex128. The last listed dim keeps n / 2 + 1
 * bins when onesided, all n otherwise. Computed as ATen does: a real
 * transform along the last listed dim, then complex transforms along the
 * others (in place in the result).
 *
 * _fft_c2r(self, dim, normalization, last_dim_size): complex64 -> float32
 * (complex128 -> float64). As ATen (MKL / pocketfft): a complex inverse
 * transform over every listed dim but the last, then a complex-to-real
 * inverse transform of size n = last_dim_size along the last one. That
 * step reads bins 0 .. n / 2 only (the input holds n / 2 + 1 or n bins;
 * ATen refuses other sizes, and so does inference) and ignores the
 * imaginary parts of bin 0 and, for even n, of bin n / 2:
 *
 *   x[t] = Re(X[0] + 2 sum_{0<k<n/2} X[k] w^kt + [n even] X[n/2] (-1)^t),
 *   w = exp(2 pi i / n).
 *
 * Since that is Re() of a complex-linear map, the kernel forms the complex
 * sum per output position, applies the other dims' transforms on that
 * slab and keeps the real part; the results equal ATen's order.
 *
 * normalization: 0 none, 1 1/sqrt(N), 2 1/N, N the product of the signal
 * sizes (input sizes for r2c; the other dims' sizes times last_dim_size for
 * c2r).
 *
 * Arithmetic is in double throughout (twiddles from sin/cos of
 * 2 pi (k mod n) / n); lengths that are powers of two use an iterative
 * radix-2 FFT, others a plain DFT. Results are rounded once per pass into
 * the result's storage. Without allocation, one transform works in a stack
 * buffer: a transform length above DDK_FFT_MAX_LINE points, or a c2r slab
 * (product of the other listed dims' sizes) above DDK_FFT_MAX_SLAB, is
 * refused with DDK_UNSUPPORTED_FEATURE.
 */
#include "kernel_util.h"

#define DDK_FFT_MAX_LINE 2048
#define DDK_FFT_MAX_SLAB 1024

static const double fft_two_pi = 6.283185307179586476925286766559;

/* exp(sign * 2 pi i k / n) with k reduced mod n. */
static void fft_twiddle(int64_t k, int64_t n, int sign, double* re, double* im) {
  int64_t r = k % n;
  if (r < 0) r += n;
  const double a = fft_two_pi * (double)r / (double)n;
  *re = cos(a);
  *im = sign * sin(a);
}

/* Where a line's elements live. */
typedef enum fft_kind { FFT_R32, FFT_R64, FFT_C64, FFT_C128, FFT_SLAB } fft_kind;

typedef struct fft_io {
  void* base;
  fft_kind kind;
  int64_t off, stride; /* in elements (complex elements for complex kinds) */
} fft_io;

static void fft_read(const fft_io* io, int64_t j, double* re, double* im) {
  const int64_t o = io->off + j * io->stride;
  switch (io->kind) {
    case FFT_R32:
      *re = ((const float*)io->base)[o];
      *im = 0.0;
      break;
    case FFT_R64:
      *re = ((const double*)io->base)[o];
      *im = 0.0;
      break;
    case FFT_C64:
      *re = ((const float*)io->base)[2 * o];
      *im = ((const float*)io->base)[2 * o + 1];
      break;
    case FFT_C128:
    case FFT_SLAB:
      *re = ((const double*)io->base)[2 * o];
      *im = ((const double*)io->base)[2 * o + 1];
      break;
  }
}

static void fft_write(const fft_io* io, int64_t j, double re, double im) {
  const int64_t o = io->off + j * io->stride;
  switch (io->kind) {
    case FFT_R32:
      ((float*)io->base)[o] = (float)re;
      break;
    case FFT_R64:
      ((double*)io->base)[o] = re;
      break;
    case FFT_C64:
      ((float*)io->base)[2 * o] = (float)re;
      ((float*)io->base)[2 * o + 1] = (float)im;
      break;
    case FFT_C128:
    case FFT_SLAB:
      ((double*)io->base)[2 * o] = re;
      ((double*)io->base)[2 * o + 1] = im;
      break;
  }
}

/* buf (n interleaved complex) <- DFT (sign -1) or unnormalized inverse
 * (sign +1) of the n values read from `in` (which may not alias buf). */
static void fft_line(const fft_io* in, int64_t n, int sign, double* buf) {
  if ((n & (n - 1)) != 0) { /* plain DFT */
    for (int64_t k = 0; k < n; ++k) {
      double sr = 0.0, si = 0.0;
      for (int64_t j = 0; j < n; ++j) {
        double xr, xi, wr, wi;
        fft_read(in, j, &xr, &xi);
        fft_twiddle(j * k % n, n, sign, &wr, &wi);
        sr += xr * wr - xi * wi;
        si += xr * wi + xi * wr;
      }
      buf[2 * k] = sr;
      buf[2 * k + 1] = si;
    }
    return;
  }
  /* radix 2: load in bit-reversed order, then butterflies */
  int bits = 0;
  while (((int64_t)1 << bits) < n) ++bits;
  for (int64_t j = 0; j < n; ++j) {
    int64_t r = 0;
    for (int b = 0; b < bits; ++b) r |= ((j >> b) & 1) << (bits - 1 - b);
    fft_read(in, j, &buf[2 * r], &buf[2 * r + 1]);
  }
  for (int64_t m = 2; m <= n; m *= 2) {
    const int64_t h = m / 2;
    for (int64_t j = 0; j < h; ++j) {
      double wr, wi;
      fft_twiddle(j, m, sign, &wr, &wi);
      for (int64_t s = 0; s < n; s += m) {
        double* a = &buf[2 * (s + j)];
        double* b = &buf[2 * (s + j + h)];
        const double tr = b[0] * wr - b[1] * wi, ti = b[0] * wi + b[1] * wr;
        b[0] = a[0] - tr;
        b[1] = a[1] - ti;
        a[0] += tr;
        a[1] += ti;
      }
    }
  }
}

/* Advances the index `idx` over sizes[0..rank) except dim `skip` (its
 * index stays 0). False after the last one. */
static bool fft_next(int64_t* idx, const int64_t* sizes, uint32_t rank, int64_t skip) {
  for (int d = (int)rank - 1; d >= 0; --d) {
    if (d == skip) continue;
    if (++idx[d] < sizes[d]) return true;
    idx[d] = 0;
  }
  return false;
}

static int64_t fft_offset(const int64_t* idx, const int64_t* strides, uint32_t rank) {
  int64_t o = 0;
  for (uint32_t d = 0; d < rank; ++d) o += idx[d] * strides[d];
  return o;
}

static double fft_norm(int64_t mode, double n) {
  return mode == 1 ? 1.0 / sqrt(n) : mode == 2 ? 1.0 / n : 1.0;
}

/* Complex transforms along `dim` of the complex tensor t, in place. */
static void fft_c2c_inplace(ddk_tensor* t, fft_kind kind, int64_t dim, int sign, double scale,
                            double* buf) {
  int64_t idx[DDK_MAX_RANK] = {0};
  const int64_t n = t->sizes[dim];
  do {
    fft_io io = {t->data, kind, fft_offset(idx, t->strides, t->rank), t->strides[dim]};
    fft_line(&io, n, sign, buf);
    for (int64_t k = 0; k < n; ++k) fft_write(&io, k, buf[2 * k] * scale, buf[2 * k + 1] * scale);
  } while (fft_next(idx, t->sizes, t->rank, dim));
}

/* Reads the dims list of argument 1, normalization (arg 2). */
static ddk_status fft_args(ddk_kernel_ctx* ctx, const ddk_node_view* node, const ddk_tensor* x,
                           const int64_t** dims, uint32_t* nd, int64_t* norm) {
  const ddk_arg* a = &node->args[1];
  if (a->kind == DDK_ARG_INT) {
    *dims = &a->u.i;
    *nd = 1;
  } else if (a->kind == DDK_ARG_INT_LIST && a->count > 0 && a->u.ints != NULL) {
    *dims = a->u.ints;
    *nd = a->count;
  } else {
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "dim must be a non-empty int list");
  }
  if (node->args[2].kind != DDK_ARG_INT || node->args[2].u.i < 0 || node->args[2].u.i > 2)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "normalization must be 0, 1 or 2");
  *norm = node->args[2].u.i;
  for (uint32_t i = 0; i < *nd; ++i) {
    const int64_t d = (*dims)[i];
    if (d < 0 || d >= (int64_t)x->rank || x->sizes[d] <= 0)
      return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "bad dim %lld", (long long)d);
    for (uint32_t j = 0; j < i; ++j)
      if ((*dims)[j] == d)
        return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "dim %lld repeated", (long long)d);
  }
  return DDK_OK;
}

ddk_status ddk_kernel_aten_fft_r2c(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  if (node->num_args < 4 || node->num_outputs < 1 || node->args[3].kind != DDK_ARG_BOOL)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong arguments");
  const ddk_tensor* x = ddk_kernel_arg_tensor(ctx, node, 0);
  ddk_tensor* y = ddk_kernel_out(ctx, node, 0);
  const bool f64 = x->dtype == DDK_DTYPE_FLOAT64;
  if ((x->dtype != DDK_DTYPE_FLOAT32 && !f64) ||
      y->dtype != (f64 ? DDK_DTYPE_COMPLEX128 : DDK_DTYPE_COMPLEX64) || y->rank != x->rank)
    return ddk_kernel_fail(ctx, node, DDK_UNSUPPORTED_DTYPE, "expected float32/float64 -> complex");
  const int64_t* dims = NULL;
  uint32_t nd = 0;
  int64_t norm = 0;
  ddk_status st = fft_args(ctx, node, x, &dims, &nd, &norm);
  if (st != DDK_OK) return st;
  const int64_t last = dims[nd - 1];
  double total = 1.0;
  for (uint32_t i = 0; i < nd; ++i) {
    if (x->sizes[dims[i]] > DDK_FFT_MAX_LINE)
      return ddk_kernel_fail(ctx, node, DDK_UNSUPPORTED_FEATURE, "transform length %lld above %d",
                             (long long)x->sizes[dims[i]], DDK_FFT_MAX_LINE);
    total *= (double)x->sizes[dims[i]];
  }
  for (uint32_t d = 0; d < x->rank; ++d)
    if ((int64_t)d != last && y->sizes[d] != x->sizes[d])
      return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "result shape does not match");
  if (y->sizes[last] > x->sizes[last])
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "result shape does not match");
  if (ddk_tensor_numel(y) == 0) return DDK_OK;
  double buf[2 * DDK_FFT_MAX_LINE];
  const fft_kind ck = f64 ? FFT_C128 : FFT_C64;
  const double scale = fft_norm(norm, total);
  /* real transform along the last listed dim, input -> result */
  int64_t idx[DDK_MAX_RANK] = {0};
  do {
    const fft_io in = {x->data, f64 ? FFT_R64 : FFT_R32, fft_offset(idx, x->strides, x->rank),
                       x->strides[last]};
    const fft_io out = {y->data, ck, fft_offset(idx, y->strides, y->rank), y->strides[last]};
    fft_line(&in, x->sizes[last], -1, buf);
    for (int64_t k = 0; k < y->sizes[last]; ++k)
      fft_write(&out, k, buf[2 * k] * scale, buf[2 * k + 1] * scale);
  } while (fft_next(idx, x->sizes, x->rank, last));
  /* complex transforms along the other listed dims, in place */
  for (uint32_t i = 0; i + 1 < nd; ++i) fft_c2c_inplace(y, ck, dims[i], -1, 1.0, buf);
  return DDK_OK;
}

/* The one-sided c2r sum at position t of the line `in` (m bins stored),
 * for an output of n points: X[0] + 2 sum X[k] w^kt + [n even] X[n/2] (-1)^t. */
static void c2r_sum(const fft_io* in, int64_t m, int64_t n, int64_t t, double* re, double* im) {
  double sr = 0.0, si = 0.0;
  for (int64_t k = 0; k <= n / 2 && k < m; ++k) {
    double xr, xi, wr, wi;
    fft_read(in, k, &xr, &xi);
    const double f = (k == 0 || 2 * k == n) ? 1.0 : 2.0;
    fft_twiddle(k * t % n, n, 1, &wr, &wi);
    sr += f * (xr * wr - xi * wi);
    si += f * (xr * wi + xi * wr);
  }
  *re = sr;
  *im = si;
}

ddk_status ddk_kernel_aten_fft_c2r(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  if (node->num_args < 4 || node->num_outputs < 1 || node->args[3].kind != DDK_ARG_INT)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong arguments");
  const ddk_tensor* x = ddk_kernel_arg_tensor(ctx, node, 0);
  ddk_tensor* y = ddk_kernel_out(ctx, node, 0);
  const bool c128 = x->dtype == DDK_DTYPE_COMPLEX128;
  if ((x->dtype != DDK_DTYPE_COMPLEX64 && !c128) ||
      y->dtype != (c128 ? DDK_DTYPE_FLOAT64 : DDK_DTYPE_FLOAT32) || y->rank != x->rank)
    return ddk_kernel_fail(ctx, node, DDK_UNSUPPORTED_DTYPE, "expected complex -> float");
  const int64_t* dims = NULL;
  uint32_t nd = 0;
  int64_t norm = 0;
  ddk_status st = fft_args(ctx, node, x, &dims, &nd, &norm);
  if (st != DDK_OK) return st;
  const int64_t last = dims[nd - 1], n = node->args[3].u.i;
  if (n < 0 || y->sizes[last] != n)
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "result size %lld along dim %lld",
                           (long long)y->sizes[last], (long long)last);
  for (uint32_t d = 0; d < x->rank; ++d)
    if ((int64_t)d != last && y->sizes[d] != x->sizes[d])
      return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "result shape does not match");
  if (ddk_tensor_numel(y) == 0) return DDK_OK;
  /* the slab: the other listed dims, row-major */
  int64_t slab = 1;
  double total = (double)n;
  for (uint32_t i = 0; i + 1 < nd; ++i) {
    if (x->sizes[dims[i]] > DDK_FFT_MAX_LINE)
      return ddk_kernel_fail(ctx, node, DDK_UNSUPPORTED_FEATURE, "transform length above %d",
                             DDK_FFT_MAX_LINE);
    slab *= x->sizes[dims[i]];
    total *= (double)x->sizes[dims[i]];
  }
  if (slab > DDK_FFT_MAX_SLAB)
    return ddk_kernel_fail(ctx, node, DDK_UNSUPPORTED_FEATURE, "c2r over %lld points above %d",
                           (long long)slab, DDK_FFT_MAX_SLAB);
  const double scale = fft_norm(norm, total);
  const fft_kind ik = c128 ? FFT_C128 : FFT_C64;
  const fft_kind ok = c128 ? FFT_R64 : FFT_R32;
  double buf[2 * DDK_FFT_MAX_LINE];
  double sl[2 * DDK_FFT_MAX_SLAB];
  /* batch: every index of dims not listed (listed dims held at 0) */
  int64_t bsz[DDK_MAX_RANK];
  for (uint32_t d = 0; d < x->rank; ++d) bsz[d] = x->sizes[d];
  for (uint32_t i = 0; i < nd; ++i) bsz[dims[i]] = 1;
  int64_t b[DDK_MAX_RANK] = {0};
  do {
    const int64_t xb = fft_offset(b, x->strides, x->rank);
    const int64_t yb = fft_offset(b, y->strides, y->rank);
    for (int64_t t = 0; t < n; ++t) {
      /* slab[q] = one-sided sum of line q at t */
      int64_t q[DDK_MAX_RANK] = {0}; /* index over the other listed dims */
      for (int64_t s = 0; s < slab; ++s) {
        int64_t off = xb;
        for (uint32_t i = 0; i + 1 < nd; ++i) off += q[i] * x->strides[dims[i]];
        const fft_io line = {x->data, ik, off, x->strides[last]};
        c2r_sum(&line, x->sizes[last], n, t, &sl[2 * s], &sl[2 * s + 1]);
        for (int i = (int)nd - 2; i >= 0; --i) {
          if (++q[i] < x->sizes[dims[i]]) break;
          q[i] = 0;
        }
      }
      /* inverse transforms over the slab's dims */
      int64_t inner = 1;
      for (int i = (int)nd - 2; i >= 0; --i) {
        const int64_t len = x->sizes[dims[i]];
        for (int64_t s = 0; s < slab; ++s) {
          if ((s / inner) % len != 0) continue; /* one line per start */
          const fft_io io = {sl, FFT_SLAB, s, inner};
          fft_line(&io, len, 1, buf);
          for (int64_t k = 0; k < len; ++k) fft_write(&io, k, buf[2 * k], buf[2 * k + 1]);
        }
        inner *= len;
      }
      /* real parts into the result */
      int64_t qq[DDK_MAX_RANK] = {0};
      for (int64_t s = 0; s < slab; ++s) {
        int64_t off = yb + t * y->strides[last];
        for (uint32_t i = 0; i + 1 < nd; ++i) off += qq[i] * y->strides[dims[i]];
        const fft_io out = {y->data, ok, off, 0};
        fft_write(&out, 0, sl[2 * s] * scale, 0.0);
        for (int i = (int)nd - 2; i >= 0; --i) {
          if (++qq[i] < x->sizes[dims[i]]) break;
          qq[i] = 0;
        }
      }
    }
  } while (fft_next(b, bsz, x->rank, -1));
  return DDK_OK;
}
