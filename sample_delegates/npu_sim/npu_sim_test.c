/*
 * npu_sim_test.c — unit test of the pure parts of the npu_sim delegate.
 *
 *  - fixed point: round-half-even shifts (ties, signs, saturation, the
 *    largest shifts), multiplier encoding, the conv/linear requantisation
 *    against a double-precision oracle (and exact ties), the reference's
 *    float quantize used for activation clamps;
 *  - tiler and schedule: for random layers of every kind and several SRAM
 *    sizes, every chosen tile and DMA fits the SRAM, every compute command
 *    passes the init-time check, the tiles cover each output element
 *    exactly once, and running the command stream (DMA + tile kernels on
 *    an SRAM array) gives exactly what a direct, untiled integer
 *    computation of the layer gives.
 *
 * Exit status 0 when every check passes; failures are printed.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npu_sim_internal.h"

static int g_failures;
static int g_checks;

#define CHECK(cond, ...)                                   \
  do {                                                     \
    g_checks++;                                            \
    if (!(cond)) {                                         \
      g_failures++;                                        \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
      fprintf(stderr, __VA_ARGS__);                        \
      fprintf(stderr, "\n");                               \
    }                                                      \
  } while (0)

static uint64_t g_rng = 0x9E3779B97F4A7C15ull;

static uint32_t rnd(void) {
  g_rng ^= g_rng >> 12;
  g_rng ^= g_rng << 25;
  g_rng ^= g_rng >> 27;
  return (uint32_t)((g_rng * 0x2545F4914F6CDD1Dull) >> 32);
}

/* Uniform in [lo, hi]. */
static int64_t rnd_in(int64_t lo, int64_t hi) {
  return lo + (int64_t)(((uint64_t)rnd() << 32 | rnd()) % (uint64_t)(hi - lo + 1));
}

/* ---- fixed point ------------------------------------------------------------ */

static void test_round_shift(void) {
  static const struct {
    int64_t v;
    int32_t shift, want;
  } cases[] = {
      {5, 1, 2},    {7, 1, 4},    {-5, 1, -2}, {-7, 1, -4}, {3, 1, 2},  {1, 1, 0},
      {-1, 1, 0},   {-3, 1, -2},  {6, 2, 2},   {10, 2, 2},  {11, 2, 3}, {9, 2, 2},
      {-10, 2, -2}, {-11, 2, -3}, {0, 5, 0},   {31, 5, 1},  {48, 5, 2}, {-48, 5, -2},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
    int32_t got = npu_round_shift(cases[i].v, cases[i].shift);
    CHECK(got == cases[i].want, "round_shift(%lld, %d) = %d, want %d", (long long)cases[i].v,
          cases[i].shift, got, cases[i].want);
  }
  const npu_i128 big = (npu_i128)1 << 100;
  CHECK(npu_round_shift(big, 1) == INT32_MAX, "saturates high");
  CHECK(npu_round_shift(-big, 1) == INT32_MIN, "saturates low");
  CHECK(npu_round_shift((npu_i128)1 << 125, 126) == 0, "2^125 / 2^126 = 0.5 -> 0");
  CHECK(npu_round_shift((npu_i128)3 << 125, 126) == 2, "1.5 -> 2 at shift 126");
  CHECK(npu_round_shift(-((npu_i128)3 << 125), 126) == -2, "-1.5 -> -2 at shift 126");
  CHECK(npu_round_shift(((npu_i128)1 << 126) + ((npu_i128)1 << 125), 126) == 2, "1.5 -> 2");
  /* random against a double oracle: |v| < 2^52 so v / 2^s is exact */
  for (int i = 0; i < 200000; ++i) {
    int64_t v = rnd_in(-((int64_t)1 << 52), (int64_t)1 << 52);
    int32_t s = (int32_t)rnd_in(1, 60);
    double want = rint(ldexp((double)v, -s)); /* default rounding: half to even */
    if (want > INT32_MAX) want = INT32_MAX;
    if (want < INT32_MIN) want = INT32_MIN;
    int32_t got = npu_round_shift(v, s);
    CHECK(got == (int32_t)want, "round_shift(%lld, %d) = %d, oracle %.0f", (long long)v, s, got,
          want);
    if (got != (int32_t)want) break;
  }
}

static void test_multiplier(void) {
  int32_t M, S;
  CHECK(npu_multiplier(1.0, &M, &S) && M == (1 << 30) && S == 30, "1.0 -> 2^30 * 2^-30");
  CHECK(npu_multiplier(0.5, &M, &S) && M == (1 << 30) && S == 31, "0.5");
  CHECK(npu_multiplier(nextafter(1.0, 0.0), &M, &S) && M == (1 << 30) && S == 30,
        "just below 1 rounds up to 2^30 * 2^-30 (M == 2^31 renormalised)");
  CHECK(!npu_multiplier(0.0, &M, &S) && !npu_multiplier(-1.0, &M, &S) &&
            !npu_multiplier(NAN, &M, &S) && !npu_multiplier(INFINITY, &M, &S) &&
            !npu_multiplier(0x1p62, &M, &S),
        "rejects 0, negatives, NaN, inf, 2^62");
  for (int i = 0; i < 100000; ++i) {
    double m = ldexp(1.0 + (double)rnd() / 4294967296.0, (int)rnd_in(-80, 40));
    bool ok = npu_multiplier(m, &M, &S);
    double back = ldexp((double)M, -S);
    CHECK(ok && M >= (1 << 30) && fabs(back - m) <= m * 0x1p-31, "multiplier(%g) = %d * 2^-%d (%g)",
          m, M, S, back);
  }
}

/* The exact value of the requantisation a channel encodes, in double. */
static double chan_real(int32_t acc, const nb_chan* ch) {
  return ((double)acc + (double)ch->bias / 65536.0) * ldexp((double)ch->mult, -ch->shift);
}

static void test_requant(void) {
  /* exact ties: ratio 0.5, no bias */
  nb_chan half = {1 << 30, 31, 0, 0};
  const int32_t tie_acc[] = {1, 3, 5, -1, -3, -5, 7};
  const int32_t tie_want[] = {0, 2, 2, 0, -2, -2, 4};
  for (int i = 0; i < 7; ++i) {
    int8_t y = npu_requant_acc(tie_acc[i], &half, 0, -128, 127);
    CHECK(y == tie_want[i], "tie %d * 0.5 -> %d, want %d", tie_acc[i], y, tie_want[i]);
  }
  /* zero point, clamp */
  CHECK(npu_requant_acc(1000, &half, 10, -128, 127) == 127, "clamps high");
  CHECK(npu_requant_acc(-1000, &half, 10, -20, 127) == -20, "clamps at lo");
  CHECK(npu_requant_acc(4, &half, -3, -128, 127) == -1, "adds the zero point");
  /* extremes: the largest accumulators, tiny and huge ratios */
  nb_chan tiny, huge;
  int32_t M, S;
  npu_multiplier(0x1p-100, &M, &S);
  tiny = (nb_chan){M, (int16_t)(S > 110 ? 110 : S), 0, 0};
  npu_multiplier(0x1p45, &M, &S);
  huge = (nb_chan){M, (int16_t)S, 0, 0};
  CHECK(S == -15, "2^45 has shift -15 (%d)", S);
  CHECK(npu_requant_acc(INT32_MAX, &tiny, 5, -128, 127) == 5, "tiny ratio -> zero point");
  CHECK(npu_requant_acc(INT32_MIN + 1, &tiny, 5, -128, 127) == 5, "tiny ratio, negative");
  CHECK(npu_requant_acc(1, &huge, 0, -128, 127) == 127, "huge ratio saturates");
  CHECK(npu_requant_acc(-1, &huge, 0, -128, 127) == -128, "huge ratio saturates low");
  CHECK(npu_requant_acc(INT32_MAX, &huge, 0, -128, 127) == 127, "huge ratio, huge acc");
  nb_chan biased = {1 << 30, 30, 0, (int64_t)1 << 61};
  CHECK(npu_requant_acc(INT32_MIN, &biased, 0, -128, 127) == 127, "large bias saturates");
  /* random against the double oracle */
  int near_tie = 0, differ_ideal = 0, total = 0;
  for (int i = 0; i < 100000; ++i) {
    const float sx = ldexpf(1.0f + (float)(rnd() % 1000) / 1000.0f, (int)rnd_in(-12, -2));
    const float sw = ldexpf(1.0f + (float)(rnd() % 1000) / 1000.0f, (int)rnd_in(-12, -4));
    const double sy = ldexp(1.0 + (double)(rnd() % 1000) / 1000.0, (int)rnd_in(-10, 0));
    const float inv = (float)(1.0 / sy);
    const float bias = (float)rnd_in(-20000, 20000) / 1000.0f;
    const int32_t acc = (int32_t)rnd_in(-(1 << 24), 1 << 24) >> (int)rnd_in(0, 20);
    const double sxw = (double)sx * sw;
    nb_chan ch;
    if (!npu_multiplier(sxw * inv, &M, &S)) continue;
    ch.mult = M, ch.shift = (int16_t)(S > 110 ? 110 : S), ch.wzp = 0;
    ch.bias = (int64_t)llround(bias / sxw * 65536.0);
    const int32_t zy = (int32_t)rnd_in(-20, 20);
    int8_t y = npu_requant_acc(acc, &ch, zy, -128, 127);
    /* oracle 1: the encoded constants in double */
    double r = chan_real(acc, &ch), want = rint(r) + zy;
    want = want < -128 ? -128 : want > 127 ? 127 : want;
    const double frac = fabs(r - floor(r) - 0.5);
    total++;
    if (frac < 1e-9)
      near_tie++;
    else
      CHECK(y == (int8_t)want, "requant(acc %d) = %d, oracle %.0f (r = %.9f)", acc, y, want, r);
    /* oracle 2: the ideal real value (sx*sw*acc + bias) / sy: 1 LSB at most */
    double ideal = ((double)sxw * acc + bias) * inv + zy;
    ideal = ideal < -128 ? -128 : ideal > 127 ? 127 : ideal;
    CHECK(fabs((double)y - ideal) <= 0.5 + 1e-6 || fabs(fabs((double)y - ideal) - 0.5) < 1e-4,
          "requant(acc %d) = %d, ideal %.6f", acc, y, ideal);
    if ((double)y != rint(ideal)) differ_ideal++;
  }
  printf("requant: %d random cases, %d within 1e-9 of a tie, %d differ from rint(ideal)\n", total,
         near_tie, differ_ideal);
}

static void test_quantize_ref(void) {
  const float inv = (float)(1.0 / 0.1);
  CHECK(npu_quantize_ref(0.0f, inv, 3, -128, 127) == 3, "q(0) = zp");
  CHECK(npu_quantize_ref(0.25f, inv, 0, -128, 127) == 2, "q(0.25) = rint(2.5) = 2");
  CHECK(npu_quantize_ref(0.35f, inv, 0, -128, 127) == 4, "q(0.35) = 4 (float32 rounding)");
  CHECK(npu_quantize_ref(INFINITY, inv, 0, -100, 100) == 100, "q(inf) = qmax");
  CHECK(npu_quantize_ref(-INFINITY, inv, 0, -100, 100) == -100, "q(-inf) = qmin");
  CHECK(npu_quantize_ref(6.0f, (float)(1.0 / 0.0235), -128, -128, 127) == 127, "relu6 hi");
}

/* ---- tiler and schedule ---------------------------------------------------- */

/* A random layer, its DRAM image, and the direct result to compare with. */
typedef struct case_layer {
  nb_layer L;
  uint8_t* dram;
  uint64_t dram_bytes;
  int8_t* want; /* direct computation, out_bytes */
  uint64_t in_bytes, in2_bytes, out_bytes;
} case_layer;

static uint64_t a64(uint64_t v) {
  return (v + 63) & ~(uint64_t)63;
}

static int8_t rnd_i8(void) {
  return (int8_t)rnd_in(-128, 127);
}

static const int8_t* dram_in(const case_layer* c) {
  return (const int8_t*)(c->dram + c->L.in0);
}

static nb_chan chan_at(const case_layer* c, uint32_t o) {
  nb_chan ch;
  memcpy(&ch, c->dram + c->L.consts + (uint64_t)o * sizeof ch, sizeof ch);
  return ch;
}

static nb_div div_at(const case_layer* c, uint32_t i) {
  nb_div d;
  memcpy(&d, c->dram + c->L.consts + (uint64_t)i * sizeof d, sizeof d);
  return d;
}

static int8_t clamp8(int64_t v, int32_t lo, int32_t hi) {
  return (int8_t)(v < lo ? lo : v > hi ? hi : v);
}

/* The direct (untiled) computation of the layer, from DRAM. */
static void direct(case_layer* c) {
  const nb_layer* L = &c->L;
  const int8_t* x = dram_in(c);
  const int8_t* x2 = (const int8_t*)(c->dram + L->in1);
  const int8_t* w = (const int8_t*)(c->dram + L->wts);
  int8_t* y = c->want;
  const int64_t H = L->h, W = L->w;
  if (L->kind == NB_LAYER_CONV2D || L->kind == NB_LAYER_DWCONV2D) {
    const uint32_t cin_g = L->c / L->groups, cout_g = L->oc / L->groups;
    for (uint32_t n = 0; n < L->n; ++n)
      for (uint32_t o = 0; o < L->oc; ++o) {
        const nb_chan ch = chan_at(c, o);
        const uint32_t g = o / cout_g;
        for (uint32_t oh = 0; oh < L->oh; ++oh)
          for (uint32_t ow = 0; ow < L->ow; ++ow) {
            int32_t acc = 0;
            for (uint32_t ci = 0; ci < cin_g; ++ci)
              for (uint32_t ky = 0; ky < L->kh; ++ky)
                for (uint32_t kx = 0; kx < L->kw; ++kx) {
                  int64_t ih = (int64_t)oh * L->sh - L->ph + ky * L->dh;
                  int64_t iw = (int64_t)ow * L->sw - L->pw + kx * L->dw;
                  if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                  int32_t xv = x[(((int64_t)n * L->c + g * cin_g + ci) * H + ih) * W + iw];
                  int32_t wv = w[(((int64_t)o * cin_g + ci) * L->kh + ky) * L->kw + kx];
                  acc += (xv - L->zx) * (wv - ch.wzp);
                }
            y[(((uint64_t)n * L->oc + o) * L->oh + oh) * L->ow + ow] =
                npu_requant_acc(acc, &ch, L->zy, L->lo, L->hi);
          }
      }
  } else if (L->kind == NB_LAYER_LINEAR) {
    for (uint32_t n = 0; n < L->n; ++n)
      for (uint32_t o = 0; o < L->oc; ++o) {
        const nb_chan ch = chan_at(c, o);
        int32_t acc = 0;
        for (uint32_t k = 0; k < L->c; ++k)
          acc += (x[(uint64_t)n * L->c + k] - L->zx) * (w[(uint64_t)o * L->c + k] - ch.wzp);
        y[(uint64_t)n * L->oc + o] = npu_requant_acc(acc, &ch, L->zy, L->lo, L->hi);
      }
  } else if (L->kind == NB_LAYER_MAXPOOL || L->kind == NB_LAYER_AVGPOOL) {
    for (uint32_t n = 0; n < L->n; ++n)
      for (uint32_t ch = 0; ch < L->c; ++ch)
        for (uint32_t oh = 0; oh < L->oh; ++oh)
          for (uint32_t ow = 0; ow < L->ow; ++ow) {
            const int8_t* plane = x + ((uint64_t)n * L->c + ch) * H * W;
            int8_t* dst = &y[(((uint64_t)n * L->c + ch) * L->oh + oh) * L->ow + ow];
            const int64_t h0 = (int64_t)oh * L->sh - L->ph, w0 = (int64_t)ow * L->sw - L->pw;
            int64_t m = INT64_MIN, sum = 0, valid = 0;
            for (uint32_t ky = 0; ky < L->kh; ++ky)
              for (uint32_t kx = 0; kx < L->kw; ++kx) {
                int64_t ih = h0 + ky * L->dh, iw = w0 + kx * L->dw;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                int64_t v = plane[ih * W + iw];
                m = v > m ? v : m;
                sum += v - L->zx;
                valid++;
              }
            if (L->kind == NB_LAYER_MAXPOOL) {
              *dst = valid == 0
                         ? (int8_t)L->lo
                         : clamp8((int64_t)npu_round_shift((m - L->zx) * L->m0, L->shift) + L->zy,
                                  L->lo, L->hi);
              continue;
            }
            /* ATen: the window clipped to the padded input counts padding */
            int64_t eh = h0 + L->kh < H + L->ph ? h0 + L->kh : H + L->ph;
            int64_t ew = w0 + L->kw < W + L->pw ? w0 + L->kw : W + L->pw;
            int64_t div = (L->flags & NB_LF_COUNT_INCLUDE_PAD) ? (eh - h0) * (ew - w0) : valid;
            if (valid == 0) {
              *dst = clamp8(L->zy, L->lo, L->hi);
              continue;
            }
            nb_div d = div_at(c, (L->flags & NB_LF_DIVISOR_OVERRIDE) ? 0 : (uint32_t)(div - 1));
            *dst = clamp8((int64_t)npu_round_shift((npu_i128)sum * d.mult, d.shift) + L->zy, L->lo,
                          L->hi);
          }
  } else if (L->kind == NB_LAYER_MEAN) {
    nb_div d = div_at(c, 0);
    for (uint64_t i = 0; i < (uint64_t)L->n * L->c; ++i) {
      int64_t sum = 0;
      for (uint64_t k = 0; k < (uint64_t)H * W; ++k) sum += x[i * H * W + k] - L->zx;
      y[i] =
          clamp8((int64_t)npu_round_shift((npu_i128)sum * d.mult, d.shift) + L->zy, L->lo, L->hi);
    }
  } else {
    for (uint32_t i = 0; i < L->w; ++i) {
      int64_t v = ((int64_t)x[i] - L->zx) * L->m0;
      if (L->kind == NB_LAYER_ADD) v += ((int64_t)x2[i] - L->zx2) * L->m1;
      y[i] = clamp8((int64_t)npu_round_shift(v, L->shift) + L->zy, L->lo, L->hi);
    }
  }
}

static int32_t rnd_shifted_multiplier(int32_t* shift) {
  int32_t M, S;
  npu_multiplier(ldexp(1.0 + (double)(rnd() % 1000) / 1000.0, (int)rnd_in(-9, -1)), &M, &S);
  *shift = S;
  return M;
}

/* A random layer of `kind` with its DRAM image; false when the random
 * geometry is degenerate. */
static bool make_layer(case_layer* c, uint32_t kind) {
  memset(c, 0, sizeof *c);
  nb_layer* L = &c->L;
  L->kind = kind;
  L->n = (uint32_t)rnd_in(1, 2);
  L->groups = L->kh = L->kw = L->sh = L->sw = L->dh = L->dw = 1;
  L->zx = (int32_t)rnd_in(-20, 20), L->zx2 = (int32_t)rnd_in(-20, 20);
  L->zy = (int32_t)rnd_in(-20, 20);
  L->lo = (int32_t)rnd_in(-128, -60), L->hi = (int32_t)rnd_in(60, 127);
  uint64_t out = 0, wts = 0;
  if (kind == NB_LAYER_CONV2D || kind == NB_LAYER_DWCONV2D) {
    L->c = (uint32_t)rnd_in(1, 24), L->h = (uint32_t)rnd_in(1, 18), L->w = (uint32_t)rnd_in(1, 18);
    L->kh = (uint32_t)rnd_in(1, 4), L->kw = (uint32_t)rnd_in(1, 4);
    L->sh = (uint32_t)rnd_in(1, 3), L->sw = (uint32_t)rnd_in(1, 3);
    L->dh = (uint32_t)rnd_in(1, 2), L->dw = (uint32_t)rnd_in(1, 2);
    L->ph = (uint32_t)rnd_in(0, 3), L->pw = (uint32_t)rnd_in(0, 3);
    if (kind == NB_LAYER_DWCONV2D) {
      L->groups = L->c, L->oc = L->c;
    } else {
      uint32_t g = (uint32_t)rnd_in(1, 4);
      if (L->c % g != 0) g = 1;
      L->groups = g;
      L->oc = g * (uint32_t)rnd_in(1, 24 / g + 1);
    }
    int64_t oh = ((int64_t)L->h + 2 * L->ph - L->dh * (L->kh - 1) - 1);
    int64_t ow = ((int64_t)L->w + 2 * L->pw - L->dw * (L->kw - 1) - 1);
    if (oh < 0 || ow < 0) return false;
    L->oh = (uint32_t)(oh / L->sh + 1), L->ow = (uint32_t)(ow / L->sw + 1);
    L->wts_bytes = (uint64_t)L->oc * (L->c / L->groups) * L->kh * L->kw;
    L->consts_bytes = (uint64_t)L->oc * sizeof(nb_chan);
    out = (uint64_t)L->n * L->oc * L->oh * L->ow;
    c->in_bytes = (uint64_t)L->n * L->c * L->h * L->w;
  } else if (kind == NB_LAYER_LINEAR) {
    L->n = (uint32_t)rnd_in(1, 6), L->c = (uint32_t)rnd_in(1, 300), L->oc = (uint32_t)rnd_in(1, 80);
    L->h = L->w = L->oh = L->ow = 1;
    L->wts_bytes = (uint64_t)L->oc * L->c;
    L->consts_bytes = (uint64_t)L->oc * sizeof(nb_chan);
    out = (uint64_t)L->n * L->oc;
    c->in_bytes = (uint64_t)L->n * L->c;
  } else if (kind == NB_LAYER_MAXPOOL || kind == NB_LAYER_AVGPOOL) {
    L->c = L->oc = (uint32_t)rnd_in(1, 24);
    L->h = (uint32_t)rnd_in(1, 20), L->w = (uint32_t)rnd_in(1, 20);
    L->kh = (uint32_t)rnd_in(1, 4), L->kw = (uint32_t)rnd_in(1, 4);
    L->sh = (uint32_t)rnd_in(1, 3), L->sw = (uint32_t)rnd_in(1, 3);
    L->ph = (uint32_t)rnd_in(0, L->kh / 2), L->pw = (uint32_t)rnd_in(0, L->kw / 2);
    if (kind == NB_LAYER_MAXPOOL) L->dh = (uint32_t)rnd_in(1, 2), L->dw = (uint32_t)rnd_in(1, 2);
    const bool ceil_mode = rnd() & 1;
    int64_t o[2];
    const int64_t in[2] = {L->h, L->w}, k[2] = {L->kh, L->kw}, s[2] = {L->sh, L->sw},
                  p[2] = {L->ph, L->pw}, d[2] = {L->dh, L->dw};
    for (int i = 0; i < 2; ++i) {
      int64_t num = in[i] + 2 * p[i] - d[i] * (k[i] - 1) - 1 + (ceil_mode ? s[i] - 1 : 0);
      if (num < 0) return false;
      o[i] = num / s[i] + 1;
      if (ceil_mode && (o[i] - 1) * s[i] >= in[i] + p[i]) --o[i];
      if (o[i] < 1) return false;
    }
    L->oh = (uint32_t)o[0], L->ow = (uint32_t)o[1];
    if (kind == NB_LAYER_AVGPOOL) {
      if (rnd() & 1) L->flags |= NB_LF_COUNT_INCLUDE_PAD;
      if (rnd() % 4 == 0) L->flags |= NB_LF_DIVISOR_OVERRIDE;
      L->table_len = (L->flags & NB_LF_DIVISOR_OVERRIDE) ? 1 : L->kh * L->kw;
      L->consts_bytes = (uint64_t)L->table_len * sizeof(nb_div);
    } else {
      L->m0 = rnd_shifted_multiplier(&L->shift);
    }
    out = (uint64_t)L->n * L->c * L->oh * L->ow;
    c->in_bytes = (uint64_t)L->n * L->c * L->h * L->w;
  } else if (kind == NB_LAYER_MEAN) {
    L->c = L->oc = (uint32_t)rnd_in(1, 40);
    L->h = (uint32_t)rnd_in(1, 12), L->w = (uint32_t)rnd_in(1, 12);
    L->kh = L->h, L->kw = L->w, L->oh = L->ow = 1;
    L->table_len = 1;
    L->consts_bytes = sizeof(nb_div);
    out = (uint64_t)L->n * L->c;
    c->in_bytes = (uint64_t)L->n * L->c * L->h * L->w;
  } else {
    const uint32_t count = (uint32_t)rnd_in(1, 20000);
    L->n = L->c = L->h = L->oc = L->oh = 1;
    L->w = L->ow = count;
    L->m0 = rnd_shifted_multiplier(&L->shift);
    if (kind == NB_LAYER_ADD) L->m1 = (int32_t)((uint32_t)L->m0 >> rnd_in(0, 3));
    out = count;
    c->in_bytes = count;
    if (kind == NB_LAYER_ADD) c->in2_bytes = count;
  }
  c->out_bytes = out;
  /* DRAM: weights, consts, input, input 2, output */
  wts = L->wts_bytes;
  L->wts = 0;
  L->consts = a64(wts);
  L->in0 = a64(L->consts + L->consts_bytes);
  L->in1 = a64(L->in0 + c->in_bytes);
  L->out = a64(L->in1 + c->in2_bytes);
  c->dram_bytes = a64(L->out + out) + 64;
  c->dram = calloc(1, c->dram_bytes);
  c->want = calloc(1, out + 1);
  for (uint64_t i = 0; i < wts; ++i) c->dram[i] = (uint8_t)rnd_i8();
  for (uint64_t i = 0; i < c->in_bytes; ++i) c->dram[L->in0 + i] = (uint8_t)rnd_i8();
  for (uint64_t i = 0; i < c->in2_bytes; ++i) c->dram[L->in1 + i] = (uint8_t)rnd_i8();
  if (L->consts_bytes > 0 && (L->kind == NB_LAYER_AVGPOOL || L->kind == NB_LAYER_MEAN)) {
    for (uint32_t i = 0; i < L->table_len; ++i) {
      nb_div d;
      int32_t M, S;
      npu_multiplier(ldexp(1.0 + (double)(rnd() % 1000) / 1000.0, (int)rnd_in(-6, -1)) / (i + 1),
                     &M, &S);
      d.mult = M, d.shift = S;
      memcpy(c->dram + L->consts + i * sizeof d, &d, sizeof d);
    }
  } else if (L->consts_bytes > 0) {
    for (uint32_t o = 0; o < L->oc; ++o) {
      nb_chan ch;
      int32_t S;
      ch.mult = rnd_shifted_multiplier(&S);
      ch.shift = (int16_t)(S + 8); /* accumulators are large: scale down */
      ch.wzp = (int16_t)((rnd() % 4 == 0) ? rnd_in(-5, 5) : 0);
      ch.bias = rnd_in(-((int64_t)1 << 30), (int64_t)1 << 30);
      memcpy(c->dram + L->consts + (uint64_t)o * sizeof ch, &ch, sizeof ch);
    }
  }
  direct(c);
  return true;
}

static void free_case(case_layer* c) {
  free(c->dram);
  free(c->want);
}

/* Runs the stream the way the runtime does: DMA between DRAM and SRAM,
 * tiles on the SRAM. */
static void run_stream(case_layer* c, const nb_cmd* cmds, uint64_t count, uint8_t* sram,
                       npu_scratch* scratch) {
  for (uint64_t i = 0; i < count; ++i) {
    const nb_cmd* k = &cmds[i];
    if (k->op == NB_CMD_DMA_IN || k->op == NB_CMD_DMA_OUT) {
      const nb_dma* d = &k->u.dma;
      uint8_t* s = sram + d->sram;
      for (uint32_t a = 0; a < d->count[0]; ++a)
        for (uint32_t b = 0; b < d->count[1]; ++b) {
          uint8_t* m = c->dram + d->dram + a * d->stride[0] + b * d->stride[1];
          if (k->op == NB_CMD_DMA_IN)
            memcpy(s, m, d->count[2]);
          else
            memcpy(m, s, d->count[2]);
          s += d->count[2];
        }
    } else if (k->op == NB_CMD_COMPUTE) {
      npu_compute(&c->L, &k->u.tile, sram, scratch);
    }
  }
}

/* Marks the output elements a compute command writes. */
static void cover(const nb_layer* L, const nb_compute* t, uint8_t* hits) {
  const bool flat =
      L->kind == NB_LAYER_ADD || L->kind == NB_LAYER_RELU || L->kind == NB_LAYER_RESHAPE;
  if (flat) {
    for (uint32_t i = 0; i < t->nr; ++i) hits[t->r0 + i]++;
  } else if (L->kind == NB_LAYER_LINEAR) {
    for (uint32_t r = 0; r < t->nr; ++r)
      for (uint32_t o = 0; o < t->nc; ++o) hits[(uint64_t)(t->r0 + r) * L->oc + t->c0 + o]++;
  } else {
    for (uint32_t o = 0; o < t->nc; ++o)
      for (uint32_t r = 0; r < t->nr; ++r)
        for (uint32_t w = 0; w < L->ow; ++w)
          hits[(((uint64_t)t->n * L->oc + t->c0 + o) * L->oh + t->r0 + r) * L->ow + w]++;
  }
}

static void test_tiler_one(case_layer* c, uint64_t sram_bytes, int* fitted, int* tiled, int* dbl) {
  npu_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.mac_rows = cfg.mac_cols = 16, cfg.dma_bytes_per_cycle = 16, cfg.sram_bytes = sram_bytes;
  npu_tiling t;
  if (!npu_tile_choose(&cfg, &c->L, &t)) return;
  (*fitted)++;
  if (t.tiles > 1) (*tiled)++;
  if (t.double_buffered) (*dbl)++;
  nb_layer L = c->L;
  L.tiles = t.tiles, L.double_buffered = t.double_buffered, L.sram_used = t.sram_used;
  CHECK(t.sram_used <= sram_bytes, "kind %u: uses %llu of %llu SRAM bytes", L.kind,
        (unsigned long long)t.sram_used, (unsigned long long)sram_bytes);
  uint64_t count = 0, bytes = 0;
  npu_schedule(&L, &t, 0, NULL, &count, &bytes);
  CHECK(bytes == t.dma_bytes, "schedule moves %llu bytes, the tiler counted %llu",
        (unsigned long long)bytes, (unsigned long long)t.dma_bytes);
  nb_cmd* cmds = calloc(count, sizeof *cmds);
  uint64_t at = 0;
  bytes = 0;
  npu_schedule(&L, &t, 0, cmds, &at, &bytes);
  CHECK(at == count && cmds[0].op == NB_CMD_LAYER_BEGIN && cmds[count - 1].op == NB_CMD_LAYER_END,
        "stream is bracketed");
  uint8_t* hits = calloc(1, c->out_bytes + 1);
  uint32_t computes = 0;
  for (uint64_t i = 0; i < count; ++i) {
    const nb_cmd* k = &cmds[i];
    if (k->op == NB_CMD_DMA_IN || k->op == NB_CMD_DMA_OUT) {
      const nb_dma* d = &k->u.dma;
      uint64_t n = (uint64_t)d->count[0] * d->count[1] * d->count[2];
      uint64_t last = d->dram + (d->count[0] - 1) * d->stride[0] +
                      (d->count[1] - 1) * d->stride[1] + d->count[2];
      CHECK(n > 0 && d->sram + n <= t.sram_used && last <= c->dram_bytes,
            "DMA %llu out of range (sram %u + %llu, dram end %llu)", (unsigned long long)i, d->sram,
            (unsigned long long)n, (unsigned long long)last);
      CHECK(k->tile < t.tiles, "DMA names tile %u of %u", k->tile, t.tiles);
    } else if (k->op == NB_CMD_COMPUTE) {
      char why[200];
      CHECK(npu_compute_check(&L, &k->u.tile, t.sram_used, why, sizeof why), "compute: %s", why);
      uint64_t in, in2, w, cc, out;
      npu_compute_extent(&L, &k->u.tile, &in, &in2, &w, &cc, &out);
      CHECK(in <= t.set_bytes && w <= t.set_bytes && out <= t.set_bytes,
            "tile buffers exceed one set");
      CHECK(k->tile == computes, "tile %u computed in order (%u)", k->tile, computes);
      cover(&L, &k->u.tile, hits);
      computes++;
    }
  }
  CHECK(computes == t.tiles, "%u computes, %u tiles", computes, t.tiles);
  uint64_t bad = 0;
  for (uint64_t i = 0; i < c->out_bytes; ++i) bad += hits[i] != 1;
  CHECK(bad == 0, "kind %u: %llu of %llu outputs not covered exactly once", L.kind,
        (unsigned long long)bad, (unsigned long long)c->out_bytes);
  /* run it (one SRAM array for every run: large callocs are slow under ASan) */
  static uint8_t* sram = NULL;
  if (sram == NULL) sram = malloc(1u << 20);
  memset(sram, 0xA5, sram_bytes);
  uint64_t acc_need = 1, patch_need = 1;
  for (uint64_t i = 0; i < count; ++i) {
    if (cmds[i].op != NB_CMD_COMPUTE) continue;
    uint64_t a, p;
    npu_scratch_need(&L, &cmds[i].u.tile, &a, &p);
    acc_need = a > acc_need ? a : acc_need;
    patch_need = p > patch_need ? p : patch_need;
  }
  npu_scratch scratch = {calloc(acc_need, sizeof(int32_t)), calloc(patch_need, sizeof(int16_t))};
  memset(c->dram + L.out, 0x55, c->out_bytes);
  c->L = L;
  run_stream(c, cmds, count, sram, &scratch);
  uint64_t diff = 0;
  for (uint64_t i = 0; i < c->out_bytes; ++i) diff += (int8_t)c->dram[L.out + i] != c->want[i];
  CHECK(diff == 0,
        "kind %u (n%u c%u %ux%u -> oc%u %ux%u, k%ux%u s%ux%u p%ux%u d%ux%u g%u) sram %llu: %llu of "
        "%llu outputs differ from the direct computation (tiles %u of %ux%u, db %d)",
        L.kind, L.n, L.c, L.h, L.w, L.oc, L.oh, L.ow, L.kh, L.kw, L.sh, L.sw, L.ph, L.pw, L.dh,
        L.dw, L.groups, (unsigned long long)sram_bytes, (unsigned long long)diff,
        (unsigned long long)c->out_bytes, t.tiles, t.tc, t.tr, t.double_buffered);
  free(scratch.acc);
  free(scratch.patch);
  free(hits);
  free(cmds);
}

static void test_tiler(void) {
  static const uint32_t kinds[] = {NB_LAYER_CONV2D, NB_LAYER_DWCONV2D, NB_LAYER_LINEAR,
                                   NB_LAYER_ADD,    NB_LAYER_MAXPOOL,  NB_LAYER_AVGPOOL,
                                   NB_LAYER_MEAN,   NB_LAYER_RELU,     NB_LAYER_RESHAPE};
  static const uint64_t srams[] = {4096, 8192, 16384, 65536, 1 << 20};
  int layers = 0, runs = 0, fitted = 0, tiled = 0, dbl = 0;
  for (int iter = 0; iter < 80; ++iter)
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; ++k) {
      case_layer c;
      if (!make_layer(&c, kinds[k])) continue;
      layers++;
      for (size_t s = 0; s < sizeof srams / sizeof srams[0]; ++s) {
        runs++;
        test_tiler_one(&c, srams[s], &fitted, &tiled, &dbl);
      }
      free_case(&c);
    }
  printf(
      "tiler: %d random layers x %zu SRAM sizes: %d fit (%d of them tiled, %d double "
      "buffered), %d do not fit\n",
      layers, sizeof srams / sizeof srams[0], fitted, tiled, dbl, runs - fitted);
  CHECK(tiled > 50 && dbl > 20, "the random layers exercise tiling (%d) and double buffering (%d)",
        tiled, dbl);
}

/* The smallest tile of a big conv does not fit 4 KiB: not claimed. */
static void test_too_big(void) {
  nb_layer L;
  memset(&L, 0, sizeof L);
  L.kind = NB_LAYER_CONV2D;
  L.n = 1, L.c = 512, L.h = L.w = 14, L.oc = 512, L.oh = L.ow = 14;
  L.groups = 1, L.kh = L.kw = 3, L.sh = L.sw = 1, L.ph = L.pw = 1, L.dh = L.dw = 1;
  L.wts_bytes = 512ull * 512 * 9, L.consts_bytes = 512 * sizeof(nb_chan);
  npu_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.mac_rows = cfg.mac_cols = 16, cfg.dma_bytes_per_cycle = 16;
  npu_tiling t;
  cfg.sram_bytes = 4096;
  CHECK(!npu_tile_choose(&cfg, &L, &t), "3x3x512 conv does not fit 4 KiB");
  cfg.sram_bytes = 65536;
  CHECK(npu_tile_choose(&cfg, &L, &t) && t.tiles > 1 && t.sram_used <= 65536,
        "3x3x512 conv tiles into 64 KiB (%u tiles)", t.tiles);
}

int main(void) {
  test_round_shift();
  test_multiplier();
  test_requant();
  test_quantize_ref();
  test_too_big();
  test_tiler();
  printf("npu_sim_test: %d checks, %d failures\n", g_checks, g_failures);
  return g_failures == 0 ? 0 : 1;
}
