/*
 * npu_sim_kernels.c — the emulated datapath: one compute command (a tile
 * of one layer) on the SRAM array, in integer arithmetic only; the check
 * that a command stays inside its layer and the SRAM; the cycle model of
 * a tile and of a DMA.
 *
 * Numerics (README.md, "Numerics"): conv/linear accumulate
 * sum (x - zx) * (w - wzp) exactly in int32 (the compiler bounds K so it
 * cannot overflow); the result is requantised with the channel's 31-bit
 * multiplier and a bias folded at 2^-16 resolution, in 128-bit
 * arithmetic, rounded half to even; add, pools and the requantising copy
 * use one shift for all terms. The output clamp [lo, hi] carries the
 * quantize range and the fused activation.
 */
#include <string.h>

#include "npu_sim_internal.h"

int32_t npu_round_shift(npu_i128 v, int32_t shift) {
  if (shift < 1) shift = 1;
  if (shift > 126) shift = 126;
  const bool neg = v < 0;
  const npu_u128 u = neg ? (npu_u128)0 - (npu_u128)v : (npu_u128)v;
  npu_u128 q = u >> shift;
  const npu_u128 rem = u & (((npu_u128)1 << shift) - 1);
  const npu_u128 half = (npu_u128)1 << (shift - 1);
  if (rem > half || (rem == half && (q & 1u))) q++;
  if (q > ((npu_u128)1 << 31)) q = (npu_u128)1 << 31;
  int64_t r = neg ? -(int64_t)q : (int64_t)q;
  if (r > INT32_MAX) r = INT32_MAX;
  return (int32_t)r;
}

static int8_t clamp_out(int64_t y, int32_t lo, int32_t hi) {
  if (y < lo) y = lo;
  if (y > hi) y = hi;
  return (int8_t)y;
}

int8_t npu_requant_acc(int32_t acc, const nb_chan* ch, int32_t zy, int32_t lo, int32_t hi) {
  const npu_i128 v = ((npu_i128)acc * 65536 + ch->bias) * ch->mult;
  return clamp_out((int64_t)npu_round_shift(v, (int32_t)ch->shift + 16) + zy, lo, hi);
}

/* Requantises an int64 term sum with the layer's one shift. */
static int8_t requant(npu_i128 v, int32_t shift, int32_t zy, int32_t lo, int32_t hi) {
  return clamp_out((int64_t)npu_round_shift(v, shift) + zy, lo, hi);
}

/* ---- geometry shared with the check ---------------------------------------- */

static bool is_conv(uint32_t k) {
  return k == NB_LAYER_CONV2D || k == NB_LAYER_DWCONV2D;
}
static bool is_pool(uint32_t k) {
  return k == NB_LAYER_MAXPOOL || k == NB_LAYER_AVGPOOL;
}

/* Weight bytes per output channel of conv / linear. */
static uint64_t per_channel_k(const nb_layer* L) {
  if (L->kind == NB_LAYER_LINEAR) return L->c;
  return (uint64_t)(L->c / L->groups) * L->kh * L->kw;
}

void npu_compute_extent(const nb_layer* L, const nb_compute* t, uint64_t* in, uint64_t* in2,
                        uint64_t* w, uint64_t* c, uint64_t* out) {
  *in = *in2 = *w = *c = *out = 0;
  if (is_conv(L->kind) || is_pool(L->kind)) {
    *in = (uint64_t)t->nci * t->nir * L->w;
    *out = (uint64_t)t->nc * t->nr * L->ow;
    if (is_conv(L->kind)) {
      *w = t->nc * per_channel_k(L);
      *c = (uint64_t)t->nc * sizeof(nb_chan);
    } else if (L->kind == NB_LAYER_AVGPOOL) {
      *c = (uint64_t)L->table_len * sizeof(nb_div);
    }
  } else if (L->kind == NB_LAYER_MEAN) {
    *in = (uint64_t)t->nc * L->h * L->w;
    *c = (uint64_t)L->table_len * sizeof(nb_div);
    *out = t->nc;
  } else if (L->kind == NB_LAYER_LINEAR) {
    *in = (uint64_t)t->nr * L->c;
    *w = (uint64_t)t->nc * L->c;
    *c = (uint64_t)t->nc * sizeof(nb_chan);
    *out = (uint64_t)t->nr * t->nc;
  } else {
    *in = t->nr;
    *in2 = L->kind == NB_LAYER_ADD ? t->nr : 0;
    *out = t->nr;
  }
}

#define FAIL(...)                          \
  do {                                     \
    npu_errorf(why, why_cap, __VA_ARGS__); \
    return false;                          \
  } while (0)

static bool in_sram(uint32_t off, uint64_t bytes, uint64_t sram) {
  return bytes == 0 || ((uint64_t)off <= sram && bytes <= sram - off);
}

bool npu_compute_check(const nb_layer* L, const nb_compute* t, uint64_t sram_bytes, char* why,
                       size_t why_cap) {
  const bool flat =
      L->kind == NB_LAYER_ADD || L->kind == NB_LAYER_RELU || L->kind == NB_LAYER_RESHAPE;
  const uint64_t chans = flat ? 1 : L->oc;
  const uint64_t rows = flat ? L->ow : L->kind == NB_LAYER_LINEAR ? L->n : L->oh;
  const uint64_t images = (flat || L->kind == NB_LAYER_LINEAR) ? 1 : L->n;
  if (t->n >= images || t->nc == 0 || t->nr == 0 || (uint64_t)t->c0 + t->nc > chans ||
      (uint64_t)t->r0 + t->nr > rows)
    FAIL("tile (image %u, channels %u+%u, rows %u+%u) is outside the layer", t->n, t->c0, t->nc,
         t->r0, t->nr);
  if (is_conv(L->kind) || is_pool(L->kind)) {
    uint32_t need_c0 = t->c0, need_nc = t->nc;
    if (is_conv(L->kind)) {
      const uint32_t cout_g = L->oc / L->groups, cin_g = L->c / L->groups;
      need_c0 = t->c0 / cout_g * cin_g;
      need_nc = ((t->c0 + t->nc - 1) / cout_g + 1) * cin_g - need_c0;
    }
    if ((uint64_t)t->ci0 + t->nci > L->c || t->ci0 > need_c0 ||
        (uint64_t)need_c0 + need_nc > (uint64_t)t->ci0 + t->nci)
      FAIL("tile input channels %u+%u do not cover what channels %u+%u read", t->ci0, t->nci, t->c0,
           t->nc);
    int64_t lo = (int64_t)t->r0 * L->sh - L->ph;
    int64_t hi = (int64_t)(t->r0 + t->nr - 1) * L->sh - L->ph + (int64_t)(L->kh - 1) * L->dh + 1;
    if (lo < 0) lo = 0;
    if (hi > (int64_t)L->h) hi = L->h;
    if ((uint64_t)t->ir0 + t->nir > L->h ||
        (hi > lo && (lo < (int64_t)t->ir0 || hi > (int64_t)t->ir0 + t->nir)))
      FAIL("tile input rows %u+%u do not cover what rows %u+%u read", t->ir0, t->nir, t->r0, t->nr);
  }
  if (L->kind == NB_LAYER_MEAN && (t->ci0 != t->c0 || t->nci != t->nc))
    FAIL("mean tile input channels differ from its output channels");
  uint64_t in, in2, w, c, out;
  npu_compute_extent(L, t, &in, &in2, &w, &c, &out);
  if (!in_sram(t->sram_in, in, sram_bytes) || !in_sram(t->sram_in2, in2, sram_bytes) ||
      !in_sram(t->sram_w, w, sram_bytes) || !in_sram(t->sram_c, c, sram_bytes) ||
      !in_sram(t->sram_out, out, sram_bytes))
    FAIL("tile buffers fall outside the %llu-byte SRAM", (unsigned long long)sram_bytes);
  return true;
}

/* ---- kernels -------------------------------------------------------------- */

/* Output columns [*lo, *hi) whose input column ow*sw + off lies in [0, W). */
static void col_range(int64_t off, uint32_t sw, uint32_t W, uint32_t OW, uint32_t* lo,
                      uint32_t* hi) {
  int64_t a = off < 0 ? (-off + sw - 1) / sw : 0;
  int64_t b = ((int64_t)W - 1 - off) < 0 ? 0 : ((int64_t)W - 1 - off) / sw + 1;
  if (b > OW) b = OW;
  if (a > b) a = b;
  *lo = (uint32_t)a;
  *hi = (uint32_t)b;
}

void npu_scratch_need(const nb_layer* L, const nb_compute* t, uint64_t* acc, uint64_t* patch) {
  *acc = *patch = 0;
  if (!is_conv(L->kind)) return;
  const uint64_t npix = (uint64_t)t->nr * L->ow;
  *acc = 4 * npix;
  *patch = (uint64_t)(L->c / L->groups) * L->kh * L->kw * npix;
}

/* The operand matrix of one group: row (ci, ky, kx) holds x - zx for every
 * output pixel of the tile (0 where the tap falls into padding). */
static void build_patch(const nb_layer* L, const nb_compute* t, const int8_t* in, int16_t* patch) {
  const uint32_t cin_g = L->c / L->groups, W = L->w, OW = L->ow, npix = t->nr * OW;
  const int16_t zx = (int16_t)L->zx;
  int16_t* dst = patch;
  for (uint32_t ci = 0; ci < cin_g; ++ci)
    for (uint32_t ky = 0; ky < L->kh; ++ky)
      for (uint32_t kx = 0; kx < L->kw; ++kx, dst += npix) {
        const int64_t off = (int64_t)kx * L->dw - L->pw;
        uint32_t lo, hi;
        col_range(off, L->sw, W, OW, &lo, &hi);
        for (uint32_t r = 0; r < t->nr; ++r) {
          int16_t* d = dst + (size_t)r * OW;
          const int64_t ih = (int64_t)(t->r0 + r) * L->sh - L->ph + (int64_t)ky * L->dh;
          if (ih < 0 || ih >= (int64_t)L->h || lo >= hi) {
            memset(d, 0, sizeof(int16_t) * OW);
            continue;
          }
          const int8_t* row = in + ((size_t)ci * t->nir + (size_t)(ih - t->ir0)) * W;
          for (uint32_t ow = 0; ow < lo; ++ow) d[ow] = 0;
          if (L->sw == 1) {
            for (uint32_t ow = lo; ow < hi; ++ow) d[ow] = (int16_t)(row[ow + off] - zx);
          } else {
            for (uint32_t ow = lo; ow < hi; ++ow)
              d[ow] = (int16_t)(row[(int64_t)ow * L->sw + off] - zx);
          }
          for (uint32_t ow = hi; ow < OW; ++ow) d[ow] = 0;
        }
      }
}

/* Convolution tile: per group in the tile, the patch matrix, then the
 * MAC array's product with the weights, four output channels at a time. */
static void k_conv(const nb_layer* L, const nb_compute* t, uint8_t* sram, npu_scratch* s) {
  const int8_t* in = (const int8_t*)(sram + t->sram_in);
  const int8_t* wt = (const int8_t*)(sram + t->sram_w);
  const uint8_t* cst = sram + t->sram_c;
  int8_t* out = (int8_t*)(sram + t->sram_out);
  const uint32_t cin_g = L->c / L->groups, cout_g = L->oc / L->groups;
  const uint32_t K = cin_g * L->kh * L->kw, npix = t->nr * L->ow;
  int32_t* acc = s->acc;
  const int16_t* patch = s->patch;
  const uint32_t g_first = t->c0 / cout_g, g_last = (t->c0 + t->nc - 1) / cout_g;
  for (uint32_t g = g_first; g <= g_last; ++g) {
    build_patch(L, t, in + (size_t)(g * cin_g - t->ci0) * t->nir * L->w, s->patch);
    const uint32_t o_lo = (g * cout_g > t->c0 ? g * cout_g : t->c0) - t->c0;
    const uint32_t o_end = (g + 1) * cout_g < t->c0 + t->nc ? (g + 1) * cout_g : t->c0 + t->nc;
    const uint32_t o_hi = o_end - t->c0;
    for (uint32_t o = o_lo; o < o_hi;) {
      const uint32_t nb = o_hi - o >= 4 ? 4 : 1;
      nb_chan ch[4];
      memcpy(ch, cst + (size_t)o * sizeof(nb_chan), nb * sizeof(nb_chan));
      memset(acc, 0, sizeof(int32_t) * nb * npix);
      const int8_t* w0 = wt + (size_t)o * K;
      if (nb == 4) {
        int32_t* a0 = acc;
        int32_t* a1 = acc + npix;
        int32_t* a2 = acc + 2 * (size_t)npix;
        int32_t* a3 = acc + 3 * (size_t)npix;
        for (uint32_t k = 0; k < K; ++k) {
          const int32_t v0 = w0[k] - ch[0].wzp, v1 = w0[K + k] - ch[1].wzp;
          const int32_t v2 = w0[2 * (size_t)K + k] - ch[2].wzp,
                        v3 = w0[3 * (size_t)K + k] - ch[3].wzp;
          const int16_t* x = patch + (size_t)k * npix;
          for (uint32_t p = 0; p < npix; ++p) {
            const int32_t xv = x[p];
            a0[p] += xv * v0;
            a1[p] += xv * v1;
            a2[p] += xv * v2;
            a3[p] += xv * v3;
          }
        }
      } else {
        for (uint32_t k = 0; k < K; ++k) {
          const int32_t v0 = w0[k] - ch[0].wzp;
          if (v0 == 0) continue;
          const int16_t* x = patch + (size_t)k * npix;
          for (uint32_t p = 0; p < npix; ++p) acc[p] += (int32_t)x[p] * v0;
        }
      }
      for (uint32_t j = 0; j < nb; ++j) {
        int8_t* dst = out + (size_t)(o + j) * npix;
        const int32_t* a = acc + (size_t)j * npix;
        for (uint32_t p = 0; p < npix; ++p)
          dst[p] = npu_requant_acc(a[p], &ch[j], L->zy, L->lo, L->hi);
      }
      o += nb;
    }
  }
}

static void k_linear(const nb_layer* L, const nb_compute* t, uint8_t* sram) {
  const int8_t* in = (const int8_t*)(sram + t->sram_in);
  const int8_t* wt = (const int8_t*)(sram + t->sram_w);
  const uint8_t* cst = sram + t->sram_c;
  int8_t* out = (int8_t*)(sram + t->sram_out);
  const uint32_t K = L->c;
  for (uint32_t o = 0; o < t->nc; ++o) {
    nb_chan ch;
    memcpy(&ch, cst + (size_t)o * sizeof ch, sizeof ch);
    const int8_t* w = wt + (size_t)o * K;
    for (uint32_t r = 0; r < t->nr; ++r) {
      const int8_t* x = in + (size_t)r * K;
      int32_t acc = 0;
      for (uint32_t k = 0; k < K; ++k) acc += ((int32_t)x[k] - L->zx) * ((int32_t)w[k] - ch.wzp);
      out[(size_t)r * t->nc + o] = npu_requant_acc(acc, &ch, L->zy, L->lo, L->hi);
    }
  }
}

static void k_add(const nb_layer* L, const nb_compute* t, uint8_t* sram) {
  const int8_t* a = (const int8_t*)(sram + t->sram_in);
  const int8_t* b = (const int8_t*)(sram + t->sram_in2);
  int8_t* out = (int8_t*)(sram + t->sram_out);
  for (uint32_t i = 0; i < t->nr; ++i) {
    const int64_t v = ((int64_t)a[i] - L->zx) * L->m0 + ((int64_t)b[i] - L->zx2) * L->m1;
    out[i] = requant(v, L->shift, L->zy, L->lo, L->hi);
  }
}

static void k_requant(const nb_layer* L, const nb_compute* t, uint8_t* sram) {
  const int8_t* a = (const int8_t*)(sram + t->sram_in);
  int8_t* out = (int8_t*)(sram + t->sram_out);
  for (uint32_t i = 0; i < t->nr; ++i)
    out[i] = requant(((int64_t)a[i] - L->zx) * L->m0, L->shift, L->zy, L->lo, L->hi);
}

static void k_pool(const nb_layer* L, const nb_compute* t, uint8_t* sram) {
  const int8_t* in = (const int8_t*)(sram + t->sram_in);
  const uint8_t* cst = sram + t->sram_c;
  int8_t* out = (int8_t*)(sram + t->sram_out);
  const bool is_max = L->kind == NB_LAYER_MAXPOOL;
  const int64_t H = L->h, W = L->w;
  for (uint32_t o = 0; o < t->nc; ++o) {
    const int8_t* plane = in + (size_t)(t->c0 + o - t->ci0) * t->nir * W;
    for (uint32_t r = 0; r < t->nr; ++r) {
      const int64_t oh = t->r0 + r;
      for (uint32_t ow = 0; ow < L->ow; ++ow) {
        const int64_t ih0 = oh * L->sh - L->ph, iw0 = (int64_t)ow * L->sw - L->pw;
        int8_t* y = &out[((size_t)o * t->nr + r) * L->ow + ow];
        if (is_max) {
          int32_t m = INT32_MIN;
          for (uint32_t ky = 0; ky < L->kh; ++ky) {
            const int64_t ih = ih0 + (int64_t)ky * L->dh;
            if (ih < 0 || ih >= H) continue;
            const int8_t* row = plane + (ih - t->ir0) * W;
            for (uint32_t kx = 0; kx < L->kw; ++kx) {
              const int64_t iw = iw0 + (int64_t)kx * L->dw;
              if (iw >= 0 && iw < W && row[iw] > m) m = row[iw];
            }
          }
          /* an all-padding window is -inf: the clamp's low end */
          *y = m == INT32_MIN
                   ? (int8_t)L->lo
                   : requant(((int64_t)m - L->zx) * L->m0, L->shift, L->zy, L->lo, L->hi);
          continue;
        }
        /* average: ATen's divisor (window clipped to the padded input, or
         * to the input, or the override) */
        int64_t ih1 = ih0 + L->kh, iw1 = iw0 + L->kw;
        if (ih1 > H + L->ph) ih1 = H + L->ph;
        if (iw1 > W + L->pw) iw1 = W + L->pw;
        const int64_t pool_size = (ih1 - ih0) * (iw1 - iw0);
        const int64_t a0 = ih0 < 0 ? 0 : ih0, b0 = iw0 < 0 ? 0 : iw0;
        const int64_t a1 = ih1 > H ? H : ih1, b1 = iw1 > W ? W : iw1;
        if (a0 >= a1 || b0 >= b1) { /* empty window: 0 */
          *y = clamp_out(L->zy, L->lo, L->hi);
          continue;
        }
        int64_t sum = 0;
        for (int64_t ih = a0; ih < a1; ++ih) {
          const int8_t* row = plane + (ih - t->ir0) * W;
          for (int64_t iw = b0; iw < b1; ++iw) sum += (int64_t)row[iw] - L->zx;
        }
        int64_t idx = 0;
        if (!(L->flags & NB_LF_DIVISOR_OVERRIDE))
          idx = ((L->flags & NB_LF_COUNT_INCLUDE_PAD) ? pool_size : (a1 - a0) * (b1 - b0)) - 1;
        if (idx < 0) idx = 0;
        if (idx >= (int64_t)L->table_len) idx = (int64_t)L->table_len - 1;
        nb_div d;
        memcpy(&d, cst + (size_t)idx * sizeof d, sizeof d);
        *y = requant((npu_i128)sum * d.mult, d.shift, L->zy, L->lo, L->hi);
      }
    }
  }
}

static void k_mean(const nb_layer* L, const nb_compute* t, uint8_t* sram) {
  const int8_t* in = (const int8_t*)(sram + t->sram_in);
  int8_t* out = (int8_t*)(sram + t->sram_out);
  nb_div d;
  memcpy(&d, sram + t->sram_c, sizeof d);
  const size_t hw = (size_t)L->h * L->w;
  for (uint32_t o = 0; o < t->nc; ++o) {
    int64_t sum = 0;
    for (size_t i = 0; i < hw; ++i) sum += (int64_t)in[o * hw + i] - L->zx;
    out[o] = requant((npu_i128)sum * d.mult, d.shift, L->zy, L->lo, L->hi);
  }
}

void npu_compute(const nb_layer* L, const nb_compute* t, uint8_t* sram, npu_scratch* s) {
  switch (L->kind) {
    case NB_LAYER_CONV2D:
    case NB_LAYER_DWCONV2D:
      k_conv(L, t, sram, s);
      break;
    case NB_LAYER_LINEAR:
      k_linear(L, t, sram);
      break;
    case NB_LAYER_ADD:
      k_add(L, t, sram);
      break;
    case NB_LAYER_MAXPOOL:
    case NB_LAYER_AVGPOOL:
      k_pool(L, t, sram);
      break;
    case NB_LAYER_MEAN:
      k_mean(L, t, sram);
      break;
    case NB_LAYER_RELU:
    case NB_LAYER_RESHAPE:
      k_requant(L, t, sram);
      break;
    default:
      break;
  }
}

/* ---- cost model ------------------------------------------------------------ */

static uint64_t ceil_div(uint64_t a, uint64_t b) {
  return (a + b - 1) / b;
}

uint64_t npu_compute_cycles(const nb_layer* L, const nb_compute* t, uint32_t R, uint32_t C) {
  const uint64_t pix = (uint64_t)t->nr * L->ow, taps = (uint64_t)L->kh * L->kw;
  uint64_t cyc;
  switch (L->kind) {
    case NB_LAYER_CONV2D: {
      const uint64_t cin_g = L->c / L->groups, cout_g = L->oc / L->groups;
      if (L->groups == 1) {
        cyc = ceil_div(t->nc, R) * ceil_div(cin_g, C) * taps * pix;
      } else { /* per group in the tile */
        const uint64_t groups = ceil_div(t->nc, cout_g);
        cyc = groups * ceil_div(cout_g, R) * ceil_div(cin_g, C) * taps * pix;
      }
      break;
    }
    case NB_LAYER_DWCONV2D: /* channels on the rows, one lane of the columns */
      cyc = ceil_div(t->nc, R) * taps * pix;
      break;
    case NB_LAYER_LINEAR:
      cyc = ceil_div(t->nc, R) * ceil_div(L->c, C) * t->nr;
      break;
    case NB_LAYER_MAXPOOL:
    case NB_LAYER_AVGPOOL:
      cyc = ceil_div((uint64_t)t->nc * pix * taps, C);
      break;
    case NB_LAYER_MEAN:
      cyc = ceil_div((uint64_t)t->nc * L->h * L->w, C);
      break;
    default:
      cyc = ceil_div(t->nr, C);
      break; /* add, relu, reshape */
  }
  return cyc + NPU_PIPELINE_FILL_CYCLES;
}

uint64_t npu_dma_cycles(const nb_dma* d, uint32_t bw) {
  const uint64_t bytes = (uint64_t)d->count[0] * d->count[1] * d->count[2];
  return NPU_DMA_SETUP_CYCLES + ceil_div(bytes, bw == 0 ? 1 : bw);
}
