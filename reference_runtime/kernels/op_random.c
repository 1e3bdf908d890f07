/*
 * op_random.c — aten::rand, randn, randperm, native_dropout.
 *
 * The generator. ctx->rng is the method's one 64-bit state (seeded by the
 * "seed" method option); NULL makes these kernels refuse. Each call draws
 * four words from it with SplitMix64 (advancing it, so the next random op
 * gets a fresh stream) and seeds xoshiro256** with them; the op then draws
 * from xoshiro256**. Same seed, same program: same values; another seed:
 * other values. The streams are not PyTorch's (no one can match those
 * bit for bit across versions); the results are checked statistically
 * (reference_runtime/kernels/tests/test_random_ops.py).
 *
 *  - rand: uniform on [0, 1) with the dtype's full resolution: k * 2^-p for
 *    a uniform integer k < 2^p, p = 53 / 24 / 11 / 8 for float64 / float32
 *    / float16 / bfloat16 — every value exact in the dtype, never 1.
 *  - randn: standard normal by the Box-Muller transform in double, rounded
 *    once to the dtype.
 *  - randperm: Fisher-Yates over 0..n-1 with unbiased bounded draws.
 *  - native_dropout(input, p, train): train true or None: mask[i] =
 *    (u < 1 - p) for u uniform on [0, 1) (so P(keep) = 1 - p), output =
 *    (input * mask) * scale with scale = 1 / (1 - p) (0 when p = 1),
 *    computed like ATen (float opmath for float16/bfloat16/float32, so
 *    Inf/NaN times a dropped 0 is NaN). train false: output = input, mask
 *    all true.
 */
#include "op_shape_util.h"

#define CHECK(expr)                \
  do {                             \
    ddk_status st_ = (expr);       \
    if (st_ != DDK_OK) return st_; \
  } while (0)

typedef struct rng {
  uint64_t s[4];
} rng;

static uint64_t splitmix64(uint64_t* x) {
  uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}

/* xoshiro256** (Blackman & Vigna). */
static uint64_t rng_next(rng* r) {
  uint64_t* s = r->s;
  const uint64_t result = rotl(s[1] * 5, 7) * 9;
  const uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

static ddk_status rng_begin(ddk_kernel_ctx* ctx, const ddk_node_view* node, rng* r) {
  if (ctx->rng == NULL)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "no random generator state");
  for (int i = 0; i < 4; ++i) r->s[i] = splitmix64(ctx->rng);
  return DDK_OK;
}

/* Uniform double on [0, 1) with 53 random bits. */
static double rng_uniform(rng* r) {
  return (double)(rng_next(r) >> 11) * 0x1p-53;
}

/* Uniform integer on [0, n), n >= 1, without modulo bias. */
static uint64_t rng_below(rng* r, uint64_t n) {
  const uint64_t threshold = (0 - n) % n; /* 2^64 mod n */
  for (;;) {
    const uint64_t v = rng_next(r);
    if (v >= threshold) return v % n;
  }
}

static ddk_status check_float_out(ddk_kernel_ctx* ctx, const ddk_node_view* node,
                                  const ddk_tensor* y) {
  if (!ddk_ku_dtype_in(y->dtype, DDK_KU_MASK_FLOATS))
    return ddk_kernel_fail(ctx, node, DDK_UNSUPPORTED_DTYPE, "not implemented for %s",
                           ddk_dtype_name(y->dtype));
  if (!ddk_sv_fits(y, ddk_tensor_numel(y)))
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "result capacity too small");
  return DDK_OK;
}

ddk_status ddk_kernel_aten_rand(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  rng r;
  CHECK(ddk_sv_need(ctx, node, 1, 1));
  ddk_tensor* y = ddk_kernel_out(ctx, node, 0);
  CHECK(check_float_out(ctx, node, y));
  CHECK(rng_begin(ctx, node, &r));
  const int bits = y->dtype == DDK_DTYPE_FLOAT64   ? 53
                   : y->dtype == DDK_DTYPE_FLOAT32 ? 24
                   : y->dtype == DDK_DTYPE_FLOAT16 ? 11
                                                   : 8;
  const int64_t n = ddk_tensor_numel(y); /* dense: fill the buffer in order */
  for (int64_t i = 0; i < n; ++i) {
    const double u = ldexp((double)(rng_next(&r) >> (64 - bits)), -bits);
    ddk_ku_store_f64(y->data, y->dtype, i, u); /* exact in the dtype */
  }
  return DDK_OK;
}

ddk_status ddk_kernel_aten_randn(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  rng r;
  CHECK(ddk_sv_need(ctx, node, 1, 1));
  ddk_tensor* y = ddk_kernel_out(ctx, node, 0);
  CHECK(check_float_out(ctx, node, y));
  CHECK(rng_begin(ctx, node, &r));
  const double two_pi = 6.283185307179586476925286766559;
  const int64_t n = ddk_tensor_numel(y);
  for (int64_t i = 0; i < n; i += 2) {
    const double u1 = 1.0 - rng_uniform(&r); /* (0, 1]: log is finite */
    const double u2 = rng_uniform(&r);
    const double rad = sqrt(-2.0 * log(u1));
    ddk_ku_store_f64(y->data, y->dtype, i, rad * cos(two_pi * u2));
    if (i + 1 < n) ddk_ku_store_f64(y->data, y->dtype, i + 1, rad * sin(two_pi * u2));
  }
  return DDK_OK;
}

ddk_status ddk_kernel_aten_randperm(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  rng r;
  int64_t n = 0;
  CHECK(ddk_sv_need(ctx, node, 1, 1));
  CHECK(ddk_sv_arg_int(ctx, node, 0, "n", &n));
  ddk_tensor* y = ddk_kernel_out(ctx, node, 0);
  const size_t es = ddk_dtype_size(y->dtype);
  if (y->rank != 1 || y->sizes[0] != n || n < 0 || !ddk_sv_fits(y, n))
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "result must be 1-D of size n");
  if (y->dtype == DDK_DTYPE_BOOL || ddk_ku_math_of(y->dtype) == DDK_KU_MATH_NONE)
    return ddk_kernel_fail(ctx, node, DDK_UNSUPPORTED_DTYPE, "not implemented for %s",
                           ddk_dtype_name(y->dtype));
  CHECK(rng_begin(ctx, node, &r));
  const int64_t ys = y->strides[0];
  for (int64_t i = 0; i < n; ++i) ddk_ku_store_i64(y->data, y->dtype, i * ys, i);
  unsigned char tmp[16];
  for (int64_t i = n - 1; i > 0; --i) { /* Fisher-Yates */
    const int64_t j = (int64_t)rng_below(&r, (uint64_t)i + 1);
    char* a = (char*)y->data + (size_t)(i * ys) * es;
    char* b = (char*)y->data + (size_t)(j * ys) * es;
    memcpy(tmp, a, es);
    memcpy(a, b, es);
    memcpy(b, tmp, es);
  }
  return DDK_OK;
}

ddk_status ddk_kernel_aten_native_dropout(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  const ddk_tensor* x = NULL;
  CHECK(ddk_sv_need(ctx, node, 3, 2));
  CHECK(ddk_sv_arg_tensor(ctx, node, 0, "input", &x));
  if (node->args[1].kind != DDK_ARG_FLOAT)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "argument 'p' must be a float");
  const double p = node->args[1].u.f;
  const bool train = node->args[2].kind != DDK_ARG_BOOL || node->args[2].u.b;
  ddk_tensor* y = ddk_kernel_out(ctx, node, 0);
  ddk_tensor* m = ddk_kernel_out(ctx, node, 1);
  const int64_t n = ddk_tensor_numel(x);
  const size_t es = ddk_dtype_size(x->dtype);
  bool same = y->rank == x->rank && m->rank == x->rank && y->dtype == x->dtype && es != 0;
  for (uint32_t d = 0; same && d < x->rank; ++d)
    same = y->sizes[d] == x->sizes[d] && m->sizes[d] == x->sizes[d];
  if (!same) return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "results do not match input");
  if (n == 0) return DDK_OK;
  if (m->dtype != DDK_DTYPE_BOOL || !ddk_sv_fits(x, n) || !ddk_sv_fits(y, n) || !ddk_sv_fits(m, n))
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "bad result dtype or capacity");
  if (train && !ddk_ku_dtype_in(x->dtype, DDK_KU_MASK_FLOATS))
    return ddk_kernel_fail(ctx, node, DDK_UNSUPPORTED_DTYPE,
                           "result type Float can't be cast to %s", ddk_dtype_name(x->dtype));
  if (train && !(p >= 0.0 && p <= 1.0))
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "p must be in [0, 1], got %g", p);
  rng r;
  if (train) CHECK(rng_begin(ctx, node, &r));
  const double keep = 1.0 - p;
  const double scale = keep == 0.0 ? 0.0 : 1.0 / keep;
  int64_t idx[DDK_MAX_RANK] = {0};
  for (int64_t i = 0; i < n; ++i) {
    int64_t xo = 0, yo = 0, mo = 0;
    for (uint32_t d = 0; d < x->rank; ++d) {
      xo += idx[d] * x->strides[d];
      yo += idx[d] * y->strides[d];
      mo += idx[d] * m->strides[d];
    }
    bool kept = true;
    if (!train) {
      memcpy((char*)y->data + (size_t)yo * es, (const char*)x->data + (size_t)xo * es, es);
    } else {
      kept = rng_uniform(&r) < keep;
      if (x->dtype == DDK_DTYPE_FLOAT64) {
        const double v = ddk_ku_load_f64(x->data, x->dtype, xo) * (kept ? 1.0 : 0.0);
        ddk_ku_store_f64(y->data, y->dtype, yo, v * scale);
      } else {
        const float v = ddk_ku_load_f32(x->data, x->dtype, xo) * (kept ? 1.0f : 0.0f);
        ddk_ku_store_f32(y->data, y->dtype, yo, v * (float)scale);
      }
    }
    ((uint8_t*)m->data)[mo] = kept ? 1 : 0;
    ddk_sv_next_index(idx, x->sizes, x->rank);
  }
  return DDK_OK;
}
