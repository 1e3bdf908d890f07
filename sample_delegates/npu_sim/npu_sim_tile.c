/*
 * npu_sim_tile.c — the pure parts of the npu_sim compiler: requantisation
 * constants (fixed-point multipliers, folded biases, clamps), the "would
 * this layer compile" check, the tiler (which tile of a layer fits the
 * SRAM and moves the fewest DMA bytes) and the DMA schedule of one layer
 * (its command stream).
 *
 * Tiles: conv over (output channels, output rows) per image, whole groups
 * for grouped conv; the SRAM holds the input rows with the kernel halo for
 * every input channel of the covered groups, the weights and per-channel
 * constants of the covered output channels, and the int8 output tile
 * (accumulators live in the MAC array). Linear over (output features,
 * batch rows); pools over (channels, output rows); mean over channels;
 * add / relu / reshape over flat element ranges.
 *
 * Schedule: each input buffer (input, second input, weights, constants)
 * has one slot per buffer set. A tile whose region is already in the
 * current slot is not loaded again (weights stay while the channel tile
 * does not change). Double buffered: the loads of tile t+1 go to the other
 * slot and are issued before the compute of tile t (the DMA overlaps it);
 * outputs alternate between the two sets.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "npu_sim_internal.h"

#define FAIL(...)                          \
  do {                                     \
    npu_errorf(why, why_cap, __VA_ARGS__); \
    return false;                          \
  } while (0)

/* ---- requantisation ------------------------------------------------------- */

bool npu_multiplier(double m, int32_t* mult, int32_t* shift) {
  if (!(m > 0.0) || !isfinite(m) || m >= 0x1p62) return false;
  int e;
  double fr = frexp(m, &e); /* m = fr * 2^e, fr in [0.5, 1) */
  int64_t M = (int64_t)llround(fr * 2147483648.0);
  if (M == ((int64_t)1 << 31)) {
    M = (int64_t)1 << 30;
    e += 1;
  }
  *mult = (int32_t)M;
  *shift = 31 - e;
  return true;
}

int32_t npu_quantize_ref(float v, float inv, int32_t zp, int32_t qmin, int32_t qmax) {
  float prod = v * inv;
  float r = nearbyintf(prod) + (float)zp;
  if (r < (float)qmin) r = (float)qmin;
  if (r > (float)qmax) r = (float)qmax;
  return (int32_t)r;
}

/* Element c of a float32/float64 constant. */
static double const_f(const ddk_value_desc* d, uint32_t c) {
  if (d->tensor.dtype == DDK_DTYPE_FLOAT64) return ((const double*)d->tensor.data)[c];
  return (double)((const float*)d->tensor.data)[c];
}

/* Element c of an int32/int64 constant. */
static int64_t const_i(const ddk_value_desc* d, uint32_t c) {
  if (d->tensor.dtype == DDK_DTYPE_INT32) return ((const int32_t*)d->tensor.data)[c];
  return ((const int64_t*)d->tensor.data)[c];
}

bool npu_chan_const(const ddk_graph_view* g, const npu_layer* L, uint32_t c, nb_chan* out,
                    char* why, size_t why_cap) {
  const npu_weights* w = &L->w;
  double sw = w->scale;
  int64_t zw = w->zp;
  if (w->per_channel) {
    sw = const_f(&g->values[w->scales], c);
    zw = w->zps == NPU_NONE ? 0 : const_i(&g->values[w->zps], c);
  }
  if (!(sw > 0.0) || !isfinite(sw)) FAIL("weight scale of channel %u is not positive", c);
  if (zw < -128 || zw > 127) FAIL("weight zero point of channel %u is outside int8", c);
  const double sxw = L->x[0].scale * sw;
  int32_t M, S;
  if (!npu_multiplier(sxw * (double)L->y_inv, &M, &S) || S < -15)
    FAIL("requantisation ratio of channel %u is out of range", c);
  double bias = 0.0;
  if (w->bias != NPU_NONE) bias = const_f(&g->values[w->bias], c);
  const double B = bias / sxw * 65536.0;
  if (!isfinite(B) || fabs(B) >= 0x1p62)
    FAIL("bias of channel %u (%g) is out of range for the accumulator", c, bias);
  out->mult = M;
  out->shift = (int16_t)(S > 110 ? 110 : S); /* shift + 16 <= 126: results 0 beyond */
  out->wzp = (int16_t)zw;
  out->bias = (int64_t)llround(B);
  return true;
}

/* mult/shift of a ratio for the int64 datapaths (add, pools, requant):
 * shift >= 1 is required; a ratio so small that the shift exceeds 126
 * maps everything to 0 (mult 0). */
static bool small_multiplier(double m, int32_t* mult, int32_t* shift) {
  if (!npu_multiplier(m, mult, shift) || *shift < 1) return false;
  if (*shift > 126) *mult = 0, *shift = 126;
  return true;
}

bool npu_div_const(const npu_layer* L, int64_t d, nb_div* out) {
  if (d < 1) return false;
  int32_t M, S;
  if (!small_multiplier(L->x[0].scale * (double)L->y_inv / (double)d, &M, &S)) return false;
  out->mult = M;
  out->shift = S;
  return true;
}

/* The output clamp: the quantize's range narrowed by the activation. */
static void output_clamp(const npu_layer* L, nb_layer* g) {
  g->lo = L->qmin;
  g->hi = L->qmax;
  if (!L->has_act) return;
  int32_t lo = npu_quantize_ref((float)L->act_lo, L->y_inv, L->zy, L->qmin, L->qmax);
  int32_t hi = npu_quantize_ref((float)L->act_hi, L->y_inv, L->zy, L->qmin, L->qmax);
  /* clamp(v, lo, hi) = min(max(v, lo), hi): with lo > hi it is hi */
  g->lo = lo > hi ? hi : lo;
  g->hi = hi;
}

#define ACC_LIMIT ((uint64_t)1 << 31)

bool npu_layer_check(const ddk_graph_view* g, const npu_config* cfg, npu_layer* L, char* why,
                     size_t why_cap) {
  nb_layer* G = &L->geom;
  if (!(cfg->ops_mask & (1u << L->kind)))
    FAIL("layer kind %s is not in npu_sim.ops", npu_layer_kind_name(L->kind));
  G->zx = L->x[0].zp;
  G->zx2 = L->num_dq == 2 || L->kind == NB_LAYER_ADD ? L->x[1].zp : 0;
  G->zy = L->zy;
  output_clamp(L, G);
  const uint64_t N = G->n, C = G->c, OC = G->oc, OHW = (uint64_t)G->oh * G->ow;
  const double rx = L->x[0].scale * (double)L->y_inv;
  switch (L->kind) {
    case NB_LAYER_CONV2D:
    case NB_LAYER_DWCONV2D:
    case NB_LAYER_LINEAR: {
      const uint64_t K = L->kind == NB_LAYER_LINEAR ? C : (C / G->groups) * G->kh * G->kw;
      if (K * 255u * 255u >= ACC_LIMIT)
        FAIL("%llu products per output could overflow the int32 accumulator",
             (unsigned long long)K);
      for (uint32_t c = 0; c < OC; ++c) {
        nb_chan ch;
        if (!npu_chan_const(g, L, c, &ch, why, why_cap)) return false;
      }
      G->macs = N * OC * OHW * K;
      G->wts_bytes = OC * K;
      G->consts_bytes = OC * sizeof(nb_chan);
      break;
    }
    case NB_LAYER_ADD: {
      const double ra = rx, rb = L->x[1].scale * (double)L->y_inv;
      int32_t M, S;
      if (!small_multiplier(ra > rb ? ra : rb, &M, &S)) FAIL("add scale ratio out of range");
      const double sc = ldexp(1.0, S);
      G->m0 = M == 0 ? 0 : (int32_t)llround(ra * sc);
      G->m1 = M == 0 ? 0 : (int32_t)llround(rb * sc);
      G->shift = S;
      G->macs = (uint64_t)G->w;
      break;
    }
    case NB_LAYER_MAXPOOL:
    case NB_LAYER_RELU:
    case NB_LAYER_RESHAPE: {
      int32_t M, S;
      if (!small_multiplier(rx, &M, &S)) FAIL("requantisation ratio out of range");
      G->m0 = M;
      G->shift = S;
      G->macs = L->kind == NB_LAYER_MAXPOOL ? N * C * OHW * G->kh * G->kw : (uint64_t)G->w;
      break;
    }
    case NB_LAYER_AVGPOOL:
    case NB_LAYER_MEAN: {
      const uint64_t window = (uint64_t)G->kh * G->kw;
      if (window * 255u >= ACC_LIMIT) FAIL("pooling window too large for the accumulator");
      const bool fixed = (G->flags & NB_LF_DIVISOR_OVERRIDE) != 0;
      G->table_len = L->kind == NB_LAYER_MEAN || fixed ? 1u : (uint32_t)window;
      for (uint32_t i = 0; i < G->table_len; ++i) {
        int64_t d = fixed ? L->divisor : L->kind == NB_LAYER_MEAN ? (int64_t)window : i + 1;
        nb_div e;
        if (!npu_div_const(L, d, &e))
          FAIL("pooling ratio out of range (divisor %lld)", (long long)d);
      }
      G->consts_bytes = (uint64_t)G->table_len * sizeof(nb_div);
      G->macs = L->kind == NB_LAYER_MEAN ? N * C * G->h * G->w : N * C * OHW * window;
      break;
    }
    default:
      FAIL("unknown layer kind %u", L->kind);
  }
  npu_tiling t;
  if (!npu_tile_choose(cfg, G, &t))
    FAIL("even the smallest %s tile does not fit %llu bytes of SRAM", npu_layer_kind_name(L->kind),
         (unsigned long long)cfg->sram_bytes);
  return true;
}

/* ---- tiles ------------------------------------------------------------------ */

static uint64_t align64(uint64_t v) {
  return (v + NB_ALIGN - 1) & ~(uint64_t)(NB_ALIGN - 1);
}

static bool is_conv(uint32_t k) {
  return k == NB_LAYER_CONV2D || k == NB_LAYER_DWCONV2D;
}
static bool is_pool(uint32_t k) {
  return k == NB_LAYER_MAXPOOL || k == NB_LAYER_AVGPOOL;
}
static bool is_flat(uint32_t k) {
  return k == NB_LAYER_ADD || k == NB_LAYER_RELU || k == NB_LAYER_RESHAPE;
}

/* The tile space of a layer: channel tiles of `unit` channels, over
 * `chans`; row tiles over `rows`; `images` outer iterations. */
static void tile_space(const nb_layer* L, uint32_t* unit, uint32_t* chans, uint32_t* rows,
                       uint32_t* images) {
  *unit = 1, *chans = L->oc, *rows = L->oh, *images = L->n;
  if (is_conv(L->kind) && L->groups > 1) *unit = L->oc / L->groups;
  if (L->kind == NB_LAYER_LINEAR) *rows = L->n, *images = 1;
  if (is_flat(L->kind)) *chans = 1, *rows = L->ow, *images = 1;
}

/* Input rows [lo, lo+count) that output rows [r0, r0+nr) read. */
static void input_rows(const nb_layer* L, uint32_t r0, uint32_t nr, uint32_t* lo, uint32_t* count) {
  int64_t a = (int64_t)r0 * L->sh - L->ph;
  int64_t b = (int64_t)(r0 + nr - 1) * L->sh - L->ph + (int64_t)(L->kh - 1) * L->dh + 1;
  if (a < 0) a = 0;
  if (b > (int64_t)L->h) b = L->h;
  if (b <= a) a = b = 0;
  *lo = (uint32_t)a;
  *count = (uint32_t)(b - a);
}

/* Input channels of output channels [c0, c0+nc) (conv: their groups). */
static void input_chans(const nb_layer* L, uint32_t c0, uint32_t nc, uint32_t* ci0, uint32_t* nci) {
  if (is_conv(L->kind)) {
    if (L->groups == 1) {
      *ci0 = 0, *nci = L->c;
    } else {
      uint32_t cout_g = L->oc / L->groups, cin_g = L->c / L->groups;
      *ci0 = c0 / cout_g * cin_g, *nci = nc / cout_g * cin_g;
    }
  } else {
    *ci0 = c0, *nci = nc;
  }
}

typedef struct tile_bytes {
  uint64_t in, in2, w, c, out;
} tile_bytes;

/* The largest buffers tiles of tc channels x tr rows need. */
static tile_bytes tile_need(const nb_layer* L, uint32_t tc, uint32_t tr) {
  tile_bytes b = {0, 0, 0, 0, 0};
  const uint64_t W = L->w;
  if (is_conv(L->kind) || is_pool(L->kind)) {
    uint32_t ci0, nci;
    input_chans(L, 0, tc, &ci0, &nci);
    uint64_t rows = (uint64_t)(tr - 1) * L->sh + (uint64_t)(L->kh - 1) * L->dh + 1;
    if (rows > L->h) rows = L->h;
    b.in = nci * rows * W;
    b.out = (uint64_t)tc * tr * L->ow;
    if (is_conv(L->kind)) {
      b.w = L->wts_bytes / L->oc * tc;
      b.c = (uint64_t)tc * sizeof(nb_chan);
    } else {
      b.c = L->consts_bytes;
    }
  } else if (L->kind == NB_LAYER_MEAN) {
    b.in = (uint64_t)tc * L->h * W;
    b.c = L->consts_bytes;
    b.out = tc;
  } else if (L->kind == NB_LAYER_LINEAR) {
    b.in = (uint64_t)tr * L->c;
    b.w = (uint64_t)tc * L->c;
    b.c = (uint64_t)tc * sizeof(nb_chan);
    b.out = (uint64_t)tr * tc;
  } else { /* flat */
    b.in = tr;
    b.in2 = L->kind == NB_LAYER_ADD ? tr : 0;
    b.out = tr;
  }
  return b;
}

/* Fills the SRAM offsets of one buffer set; returns its size. */
static uint64_t set_layout(const tile_bytes* b, npu_tiling* t) {
  uint64_t at = 0;
  t->off_in = (uint32_t)at, at += align64(b->in);
  t->off_in2 = (uint32_t)at, at += align64(b->in2);
  t->off_w = (uint32_t)at, at += align64(b->w);
  t->off_c = (uint32_t)at, at += align64(b->c);
  t->off_out = (uint32_t)at, at += align64(b->out);
  return at;
}

/* One tile: its compute fields and DMA descriptors (count[2] == 0: none). */
typedef struct tile_desc {
  nb_compute t;
  nb_dma in, in2, w, c, out;
} tile_desc;

static nb_dma dma(uint64_t dram, uint32_t rows, uint32_t row_bytes, uint64_t stride) {
  nb_dma d;
  memset(&d, 0, sizeof d);
  d.dram = dram;
  d.count[0] = 1;
  d.count[1] = rows;
  d.count[2] = row_bytes;
  d.stride[1] = stride;
  if (rows == 0 || row_bytes == 0) d.count[0] = d.count[1] = d.count[2] = 0;
  return d;
}

static void tile_make(const nb_layer* L, uint32_t n, uint32_t c0, uint32_t nc, uint32_t r0,
                      uint32_t nr, tile_desc* d) {
  memset(d, 0, sizeof *d);
  nb_compute* t = &d->t;
  t->n = n, t->c0 = c0, t->nc = nc, t->r0 = r0, t->nr = nr;
  const uint64_t H = L->h, W = L->w, OH = L->oh, OW = L->ow;
  if (is_conv(L->kind) || is_pool(L->kind)) {
    input_chans(L, c0, nc, &t->ci0, &t->nci);
    input_rows(L, r0, nr, &t->ir0, &t->nir);
    d->in = dma(L->in0 + (((uint64_t)n * L->c + t->ci0) * H + t->ir0) * W, t->nci,
                (uint32_t)(t->nir * W), H * W);
    d->out =
        dma(L->out + (((uint64_t)n * L->oc + c0) * OH + r0) * OW, nc, (uint32_t)(nr * OW), OH * OW);
    if (is_conv(L->kind)) {
      uint64_t per = L->wts_bytes / L->oc;
      d->w = dma(L->wts + c0 * per, 1, (uint32_t)(nc * per), 0);
      d->c = dma(L->consts + (uint64_t)c0 * sizeof(nb_chan), 1, nc * (uint32_t)sizeof(nb_chan), 0);
    } else if (L->consts_bytes > 0) {
      d->c = dma(L->consts, 1, (uint32_t)L->consts_bytes, 0);
    }
  } else if (L->kind == NB_LAYER_MEAN) {
    t->ci0 = c0, t->nci = nc, t->ir0 = 0, t->nir = L->h;
    d->in = dma(L->in0 + ((uint64_t)n * L->c + c0) * H * W, 1, (uint32_t)(nc * H * W), 0);
    d->c = dma(L->consts, 1, (uint32_t)L->consts_bytes, 0);
    d->out = dma(L->out + (uint64_t)n * L->c + c0, 1, nc, 0);
  } else if (L->kind == NB_LAYER_LINEAR) {
    const uint64_t K = L->c;
    d->in = dma(L->in0 + r0 * K, 1, (uint32_t)(nr * K), 0);
    d->w = dma(L->wts + c0 * K, 1, (uint32_t)(nc * K), 0);
    d->c = dma(L->consts + (uint64_t)c0 * sizeof(nb_chan), 1, nc * (uint32_t)sizeof(nb_chan), 0);
    d->out = dma(L->out + (uint64_t)r0 * L->oc + c0, nr, nc, L->oc);
  } else {
    d->in = dma(L->in0 + r0, 1, nr, 0);
    if (L->kind == NB_LAYER_ADD) d->in2 = dma(L->in1 + r0, 1, nr, 0);
    d->out = dma(L->out + r0, 1, nr, 0);
  }
}

static uint64_t dma_bytes(const nb_dma* d) {
  return (uint64_t)d->count[0] * d->count[1] * d->count[2];
}

static bool dma_same(const nb_dma* a, const nb_dma* b) {
  return a->dram == b->dram && a->count[0] == b->count[0] && a->count[1] == b->count[1] &&
         a->count[2] == b->count[2] && a->stride[0] == b->stride[0] && a->stride[1] == b->stride[1];
}

/* ---- the schedule --------------------------------------------------------- */

enum { BUF_IN, BUF_IN2, BUF_W, BUF_C, BUF_COUNT_ };

typedef struct sched {
  const nb_layer* L;
  const npu_tiling* T;
  uint32_t index;
  nb_cmd* cmds;
  uint64_t* count;
  uint64_t* dma_bytes;
  nb_dma held[BUF_COUNT_][2];
  bool valid[BUF_COUNT_][2];
  int cur[BUF_COUNT_];
} sched;

static void emit(sched* s, uint32_t op, uint32_t tile, const nb_dma* d, const nb_compute* t) {
  if (s->cmds != NULL) {
    nb_cmd* c = &s->cmds[*s->count];
    memset(c, 0, sizeof *c);
    c->op = op;
    c->layer = s->index;
    c->tile = tile;
    if (d != NULL) c->u.dma = *d;
    if (t != NULL) c->u.tile = *t;
  }
  (*s->count)++;
  if (d != NULL) *s->dma_bytes += dma_bytes(d);
}

/* Loads buffer b of tile `tile` unless its slot already holds it; returns
 * the SRAM offset the compute reads it from. */
static uint32_t load(sched* s, int b, uint32_t tile, nb_dma* d, uint32_t off) {
  const uint32_t set = s->T->set_bytes;
  if (d->count[2] == 0) return (uint32_t)s->cur[b] * set + off;
  int cur = s->cur[b];
  if (s->valid[b][cur] && dma_same(&s->held[b][cur], d)) return (uint32_t)cur * set + off;
  int slot = (s->T->double_buffered && s->valid[b][cur]) ? 1 - cur : cur;
  d->sram = (uint32_t)slot * set + off;
  emit(s, NB_CMD_DMA_IN, tile, d, NULL);
  s->held[b][slot] = *d;
  s->valid[b][slot] = true;
  s->cur[b] = slot;
  return d->sram;
}

void npu_schedule(const nb_layer* L, const npu_tiling* T, uint32_t index, nb_cmd* cmds,
                  uint64_t* count, uint64_t* dma_total) {
  sched s;
  memset(&s, 0, sizeof s);
  s.L = L, s.T = T, s.index = index, s.cmds = cmds, s.count = count, s.dma_bytes = dma_total;
  uint32_t unit, chans, rows, images;
  tile_space(L, &unit, &chans, &rows, &images);
  const uint32_t n_ct = (chans + T->tc - 1) / T->tc, n_rt = (rows + T->tr - 1) / T->tr;
  const uint32_t total = n_ct * n_rt * images;
  tile_desc pending;
  bool have_pending = false;
  uint32_t pending_index = 0;
  emit(&s, NB_CMD_LAYER_BEGIN, 0, NULL, NULL);
  for (uint32_t i = 0; i < total; ++i) {
    uint32_t ct, rt, n;
    if (T->weights_outer) {
      ct = i / (n_rt * images), n = i / n_rt % images, rt = i % n_rt;
    } else {
      n = i / (n_rt * n_ct), rt = i / n_ct % n_rt, ct = i % n_ct;
    }
    uint32_t c0 = ct * T->tc, r0 = rt * T->tr;
    uint32_t nc = chans - c0 < T->tc ? chans - c0 : T->tc;
    uint32_t nr = rows - r0 < T->tr ? rows - r0 : T->tr;
    tile_desc d;
    tile_make(L, n, c0, nc, r0, nr, &d);
    d.t.sram_in = load(&s, BUF_IN, i, &d.in, T->off_in);
    d.t.sram_in2 = load(&s, BUF_IN2, i, &d.in2, T->off_in2);
    d.t.sram_w = load(&s, BUF_W, i, &d.w, T->off_w);
    d.t.sram_c = load(&s, BUF_C, i, &d.c, T->off_c);
    d.t.sram_out = (T->double_buffered ? (i & 1u) * T->set_bytes : 0) + T->off_out;
    d.out.sram = d.t.sram_out;
    if (!T->double_buffered) {
      emit(&s, NB_CMD_COMPUTE, i, NULL, &d.t);
      emit(&s, NB_CMD_DMA_OUT, i, &d.out, NULL);
      continue;
    }
    if (have_pending) { /* tile i's loads are issued before tile i-1 computes */
      emit(&s, NB_CMD_COMPUTE, pending_index, NULL, &pending.t);
      emit(&s, NB_CMD_DMA_OUT, pending_index, &pending.out, NULL);
    }
    pending = d;
    pending_index = i;
    have_pending = true;
  }
  if (have_pending) {
    emit(&s, NB_CMD_COMPUTE, pending_index, NULL, &pending.t);
    emit(&s, NB_CMD_DMA_OUT, pending_index, &pending.out, NULL);
  }
  emit(&s, NB_CMD_LAYER_END, total, NULL, NULL);
}

/* ---- the tiler -------------------------------------------------------------- */

/* Evaluates one candidate; keeps it in *best when it is better. */
static void consider(const npu_config* cfg, const nb_layer* L, uint32_t tc, uint32_t tr,
                     bool weights_outer, npu_tiling* best, bool* have) {
  tile_bytes b = tile_need(L, tc, tr);
  npu_tiling t;
  memset(&t, 0, sizeof t);
  uint64_t set = set_layout(&b, &t);
  if (set > cfg->sram_bytes) return;
  t.tc = tc, t.tr = tr, t.weights_outer = weights_outer;
  t.set_bytes = (uint32_t)set;
  uint32_t unit, chans, rows, images;
  tile_space(L, &unit, &chans, &rows, &images);
  t.tiles = ((chans + tc - 1) / tc) * ((rows + tr - 1) / tr) * images;
  /* two sets when they fit and there is something to overlap */
  t.double_buffered = t.tiles > 1 && 2 * set <= cfg->sram_bytes;
  uint64_t cmds = 0, bytes = 0;
  npu_schedule(L, &t, 0, NULL, &cmds, &bytes);
  t.dma_bytes = bytes;
  t.sram_used = t.double_buffered ? 2 * set : set;
  if (*have) { /* fewest DMA bytes, then double buffered, then fewest tiles */
    if (t.dma_bytes > best->dma_bytes) return;
    if (t.dma_bytes == best->dma_bytes) {
      if (t.double_buffered < best->double_buffered) return;
      if (t.double_buffered == best->double_buffered && t.tiles >= best->tiles) return;
    }
  }
  *best = t;
  *have = true;
}

bool npu_tile_choose(const npu_config* cfg, const nb_layer* L, npu_tiling* out) {
  uint32_t unit, chans, rows, images;
  tile_space(L, &unit, &chans, &rows, &images);
  bool have = false;
  memset(out, 0, sizeof *out);
  if (unit == 0 || chans == 0 || rows == 0 || images == 0) return false;
  if (is_flat(L->kind)) { /* same bytes whatever the tile: the largest that fits */
    const uint64_t per = L->kind == NB_LAYER_ADD ? 3 : 2;
    uint64_t single = cfg->sram_bytes / per / NB_ALIGN * NB_ALIGN;
    uint64_t dbl = cfg->sram_bytes / 2 / per / NB_ALIGN * NB_ALIGN;
    uint64_t cand[3] = {rows, single, dbl};
    for (int i = 0; i < 3; ++i)
      if (cand[i] >= 1 && cand[i] <= rows) consider(cfg, L, 1, (uint32_t)cand[i], true, out, &have);
    return have;
  }
  for (uint32_t tc = unit; tc <= chans; tc += unit) {
    /* the smallest row tile first: when it does not fit, no larger one does */
    tile_bytes b = tile_need(L, tc, 1);
    npu_tiling probe;
    if (set_layout(&b, &probe) > cfg->sram_bytes) break;
    const bool orders = tc < chans && (rows > 1 || images > 1);
    for (uint32_t tr = 1; tr <= rows; ++tr) {
      tile_bytes bb = tile_need(L, tc, tr);
      if (set_layout(&bb, &probe) > cfg->sram_bytes) break;
      consider(cfg, L, tc, tr, true, out, &have);
      if (orders) consider(cfg, L, tc, tr, false, out, &have);
    }
  }
  return have;
}
