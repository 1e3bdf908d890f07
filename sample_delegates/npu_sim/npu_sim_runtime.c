/*
 * npu_sim_runtime.c — the emulated device: query, init (blob
 * verification, device memory), execute (the command-stream interpreter,
 * the cost model, injected faults, profiling), destroy, set_profiling,
 * the vtable and the entry symbol.
 *
 * init checks the whole blob before anything runs (npu_sim_blob.h):
 * format, the hardware configuration against the device's (the init
 * options), every section, every DMA range and every compute tile. It
 * then allocates the device's DRAM and SRAM, copies the weights into DRAM
 * (the blob may be released: DDK_BACKEND_BLOB_RELEASABLE) and works out
 * each layer's cycles, DMA bytes and utilisation (the cost model does not
 * depend on the data).
 *
 * execute copies the inputs into DRAM, runs the stream (compute touches
 * only the SRAM; DMA moves DRAM <-> SRAM), then commits the outputs from
 * DRAM to the host tensors. A failure (an injected fault) happens before
 * the commit: the outputs are never partially written. execute allocates
 * nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "npu_sim_internal.h"

#define DETAIL_CAP 192u

typedef struct layer_stats {
  uint64_t cycles;    /* the cost model's cycles of the layer */
  uint64_t dma_bytes; /* bytes its DMA commands move */
  char detail[DETAIL_CAP];
} layer_stats;

struct ddk_delegate_handle {
  const ddk_services* services;
  npu_config dev; /* the device present (init options) */
  uint8_t* dram;
  uint64_t dram_bytes;
  uint8_t* sram;
  uint64_t sram_bytes;
  npu_scratch scratch; /* the MAC array's accumulators and operands */
  uint64_t acc_count, patch_count;
  nb_io* io; /* inputs then outputs */
  uint32_t num_inputs, num_outputs;
  nb_layer* layers;
  layer_stats* stats;
  uint32_t num_layers;
  nb_cmd* cmds;
  uint64_t num_cmds;
  uint64_t total_cycles; /* of a whole execute */
  uint64_t last_cycles;  /* of the last execute (fewer after a fault) */
  uint64_t executes;
  bool profiling;
};

/* ---- helpers ---------------------------------------------------------------- */

static void* alloc0(const ddk_allocator* a, uint64_t bytes) {
  if (bytes > SIZE_MAX / 2) return NULL;
  void* p = a->alloc(a->self, (size_t)bytes + 1, 64);
  if (p != NULL) memset(p, 0, (size_t)bytes + 1);
  return p;
}

static void free0(const ddk_allocator* a, void* p, uint64_t bytes) {
  if (p != NULL) a->free(a->self, p, (size_t)bytes + 1);
}

static void free_handle(ddk_delegate_handle* h) {
  const ddk_allocator* a = &h->services->allocator;
  free0(a, h->dram, h->dram_bytes);
  free0(a, h->sram, h->sram_bytes);
  free0(a, h->scratch.acc, h->acc_count * sizeof(int32_t));
  free0(a, h->scratch.patch, h->patch_count * sizeof(int16_t));
  free0(a, h->io, (uint64_t)(h->num_inputs + h->num_outputs) * sizeof(nb_io));
  free0(a, h->layers, (uint64_t)h->num_layers * sizeof(nb_layer));
  free0(a, h->stats, (uint64_t)h->num_layers * sizeof(layer_stats));
  free0(a, h->cmds, h->num_cmds * sizeof(nb_cmd));
  a->free(a->self, h, sizeof *h);
}

static void sleep_us(uint64_t us) {
  if (us == 0) return;
  struct timespec ts = {(time_t)(us / 1000000u), (long)(us % 1000000u) * 1000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* ---- query -------------------------------------------------------------------- */

static ddk_status npu_query(const ddk_backend* self, const ddk_options* options,
                            ddk_backend_info* info, char* err, size_t err_cap) {
  (void)self;
  npu_config cfg;
  ddk_status st = npu_config_read(options, &cfg, err, err_cap);
  if (st != DDK_OK) return st;
  info->available = true;
  info->capabilities = DDK_CAP_INT8 | DDK_CAP_PROFILING;
  npu_config_device_name(&cfg, info->device_name, sizeof info->device_name);
  ddk_set_error(info->detail, sizeof info->detail,
                "emulator: an int8 NPU simulated on the CPU (ahead-of-time compiled command "
                "streams, SRAM tiling, DMA, a deterministic cycle model); no hardware needed; "
                "configure it with the npu_sim.* options");
  return DDK_OK;
}

/* ---- init: verification ------------------------------------------------------ */

#define BAD(status, ...)                   \
  do {                                     \
    npu_errorf(err, err_cap, __VA_ARGS__); \
    return status;                         \
  } while (0)

/* The blob's hardware configuration against the device's: names each
 * field that differs. */
static ddk_status check_config(const nb_header* hd, const npu_config* dev, char* err,
                               size_t err_cap) {
  char diff[400] = "";
  size_t n = 0;
#define DIFF(field, blob_v, dev_v)                                                              \
  if ((uint64_t)(blob_v) != (uint64_t)(dev_v) && n < sizeof diff)                               \
    n += (size_t)snprintf(diff + n, sizeof diff - n,                                            \
                          "%scompiled for %s=%llu, this device has %llu", n ? "; " : "", field, \
                          (unsigned long long)(blob_v), (unsigned long long)(dev_v));
  DIFF("revision", hd->revision, dev->revision)
  DIFF("mac_rows", hd->mac_rows, dev->mac_rows)
  DIFF("mac_cols", hd->mac_cols, dev->mac_cols)
  DIFF("sram_bytes", hd->sram_bytes, dev->sram_bytes)
  DIFF("dma_bytes_per_cycle", hd->dma_bytes_per_cycle, dev->dma_bytes_per_cycle)
#undef DIFF
  if (n == 0) return DDK_OK;
  BAD(DDK_INCOMPATIBLE_BLOB,
      "npu_sim: blob %s; recompile for this device (lower again with its npu_sim.* options)", diff);
}

/* A section of `count` records of `size` bytes at `off` lies in the blob. */
static bool section_ok(uint64_t off, uint64_t count, uint64_t size, uint64_t blob_bytes) {
  return off % NB_ALIGN == 0 && off <= blob_bytes && count <= (blob_bytes - off) / size;
}

static ddk_status check_header(const nb_header* hd, size_t blob_size, char* err, size_t err_cap) {
  if (hd->header_size < sizeof *hd)
    BAD(DDK_INCOMPATIBLE_BLOB, "npu_sim: blob header is %u bytes, format 1 needs %zu",
        hd->header_size, sizeof *hd);
  if (hd->blob_bytes > blob_size)
    BAD(DDK_INCOMPATIBLE_BLOB, "npu_sim: blob is truncated: its header says %llu bytes, got %zu",
        (unsigned long long)hd->blob_bytes, blob_size);
  if (hd->num_inputs > NB_MAX_IO || hd->num_outputs > NB_MAX_IO || hd->num_layers == 0 ||
      hd->num_layers > NB_MAX_LAYERS || hd->num_cmds > NB_MAX_CMDS)
    BAD(DDK_INCOMPATIBLE_BLOB,
        "npu_sim: blob header counts out of range (%u inputs, %u outputs, "
        "%u layers, %llu commands)",
        hd->num_inputs, hd->num_outputs, hd->num_layers, (unsigned long long)hd->num_cmds);
  const uint64_t B = hd->blob_bytes;
  if (!section_ok(hd->io_offset, (uint64_t)hd->num_inputs + hd->num_outputs, sizeof(nb_io), B) ||
      !section_ok(hd->layers_offset, hd->num_layers, sizeof(nb_layer), B) ||
      !section_ok(hd->cmds_offset, hd->num_cmds, sizeof(nb_cmd), B) ||
      !section_ok(hd->weights_offset, hd->weights_bytes, 1, B))
    BAD(DDK_INCOMPATIBLE_BLOB,
        "npu_sim: a blob section (io at %llu, layers at %llu, commands at "
        "%llu, weights at %llu) is misaligned or runs past the blob's %llu bytes",
        (unsigned long long)hd->io_offset, (unsigned long long)hd->layers_offset,
        (unsigned long long)hd->cmds_offset, (unsigned long long)hd->weights_offset,
        (unsigned long long)B);
  if (hd->dram_bytes > ((uint64_t)1 << 36) || hd->weights_dram > hd->dram_bytes ||
      hd->weights_bytes > hd->dram_bytes - hd->weights_dram)
    BAD(DDK_INCOMPATIBLE_BLOB,
        "npu_sim: blob DRAM plan out of range (DRAM %llu bytes, weights "
        "%llu bytes at %llu)",
        (unsigned long long)hd->dram_bytes, (unsigned long long)hd->weights_bytes,
        (unsigned long long)hd->weights_dram);
  return DDK_OK;
}

static ddk_status check_io(const nb_io* io, uint32_t i, uint64_t dram_bytes, char* err,
                           size_t err_cap) {
  uint64_t n = 1;
  bool ok = io->dtype == DDK_DTYPE_INT8 && io->rank >= 1 && io->rank <= NB_MAX_RANK;
  for (uint32_t d = 0; ok && d < io->rank; ++d) {
    ok = io->sizes[d] > 0 && io->sizes[d] <= INT32_MAX;
    if (ok) n *= (uint64_t)io->sizes[d];
    ok = ok && n <= ((uint64_t)1 << 32);
  }
  if (!ok || n != io->bytes || io->dram > dram_bytes || io->bytes > dram_bytes - io->dram)
    BAD(DDK_INCOMPATIBLE_BLOB,
        "npu_sim: blob I/O entry %u is malformed (dtype %d, rank %u, "
        "%llu bytes at DRAM %llu)",
        i, io->dtype, io->rank, (unsigned long long)io->bytes, (unsigned long long)io->dram);
  return DDK_OK;
}

/* What the kernels assume of a layer, before any of its tiles is run. */
static ddk_status check_layer(const nb_layer* L, uint32_t l, char* err, size_t err_cap) {
  const uint32_t dims[] = {L->n,      L->c,  L->h,  L->w,  L->oc, L->oh, L->ow,
                           L->groups, L->kh, L->kw, L->sh, L->sw, L->dh, L->dw};
  bool ok = L->kind >= NB_LAYER_CONV2D && L->kind < NB_LAYER_KIND_END_;
  for (size_t i = 0; ok && i < sizeof dims / sizeof dims[0]; ++i)
    ok = dims[i] >= 1 && dims[i] <= INT32_MAX;
  ok = ok && L->ph <= 65535 && L->pw <= 65535 && L->lo >= -128 && L->hi <= 127 && L->lo <= L->hi &&
       L->zx >= -128 && L->zx <= 127 && L->zx2 >= -128 && L->zx2 <= 127 && L->zy >= -128 &&
       L->zy <= 127 && L->name[NB_NAME_CAP - 1] == '\0';
  if (ok && (L->kind == NB_LAYER_CONV2D || L->kind == NB_LAYER_DWCONV2D)) {
    ok = L->c % L->groups == 0 && L->oc % L->groups == 0 &&
         (uint64_t)(L->c / L->groups) * L->kh * L->kw * 65025u < ((uint64_t)1 << 31);
  } else if (ok && L->kind == NB_LAYER_LINEAR) {
    ok = (uint64_t)L->c * 65025u < ((uint64_t)1 << 31);
  } else if (ok && L->kind == NB_LAYER_AVGPOOL) {
    ok = (L->flags & NB_LF_DIVISOR_OVERRIDE) ? L->table_len >= 1
                                             : L->table_len >= (uint64_t)L->kh * L->kw;
  } else if (ok && L->kind == NB_LAYER_MEAN) {
    ok = L->table_len >= 1;
  }
  if (!ok)
    BAD(DDK_INCOMPATIBLE_BLOB,
        "npu_sim: blob layer %u (%s) has inconsistent geometry or "
        "quantisation",
        l, npu_layer_kind_name(L->kind));
  return DDK_OK;
}

/* A DMA descriptor: inside the SRAM and the DRAM; a DMA_OUT does not write
 * the weights region. */
static ddk_status check_dma(const nb_cmd* c, uint64_t n, const nb_header* hd, char* err,
                            size_t err_cap) {
  const nb_dma* d = &c->u.dma;
  const uint64_t bytes = (uint64_t)d->count[0] * d->count[1] * d->count[2];
  npu_u128 last = (npu_u128)d->dram + d->count[2];
  if (d->count[0] > 0) last += (npu_u128)(d->count[0] - 1) * d->stride[0];
  if (d->count[1] > 0) last += (npu_u128)(d->count[1] - 1) * d->stride[1];
  bool ok = bytes > 0 && bytes <= hd->sram_bytes && d->sram <= hd->sram_bytes - bytes &&
            last <= hd->dram_bytes;
  if (ok && c->op == NB_CMD_DMA_OUT)
    ok = (npu_u128)hd->weights_dram + hd->weights_bytes <= d->dram || last <= hd->weights_dram;
  if (!ok)
    BAD(DDK_INCOMPATIBLE_BLOB,
        "npu_sim: blob command %llu (DMA of %llu bytes, DRAM %llu, SRAM "
        "%u) is out of range",
        (unsigned long long)n, (unsigned long long)bytes, (unsigned long long)d->dram, d->sram);
  return DDK_OK;
}

/* The command stream: layers in order, each bracketed by BEGIN/END, every
 * DMA and tile in range; also the largest tile's scratch need. */
static ddk_status check_cmds(const nb_cmd* cmds, const nb_header* hd, const nb_layer* layers,
                             uint64_t* acc_need, uint64_t* patch_need, char* err, size_t err_cap) {
  uint32_t next = 0, open = NPU_NONE, computes = 0;
  *acc_need = *patch_need = 1;
  for (uint64_t i = 0; i < hd->num_cmds; ++i) {
    const nb_cmd* c = &cmds[i];
    if (c->op == NB_CMD_LAYER_BEGIN) {
      if (open != NPU_NONE || c->layer != next)
        BAD(DDK_INCOMPATIBLE_BLOB, "npu_sim: blob command %llu begins layer %u out of order",
            (unsigned long long)i, c->layer);
      open = next++;
      computes = 0;
      continue;
    }
    if (open == NPU_NONE || c->layer != open)
      BAD(DDK_INCOMPATIBLE_BLOB, "npu_sim: blob command %llu (op %u) is outside its layer %u",
          (unsigned long long)i, c->op, c->layer);
    const nb_layer* L = &layers[open];
    if (c->op == NB_CMD_LAYER_END) {
      if (computes != L->tiles)
        BAD(DDK_INCOMPATIBLE_BLOB, "npu_sim: blob layer %u has %u tiles, its table says %u", open,
            computes, L->tiles);
      open = NPU_NONE;
      continue;
    }
    if (c->tile >= L->tiles)
      BAD(DDK_INCOMPATIBLE_BLOB, "npu_sim: blob command %llu names tile %u of %u",
          (unsigned long long)i, c->tile, L->tiles);
    if (c->op == NB_CMD_DMA_IN || c->op == NB_CMD_DMA_OUT) {
      ddk_status st = check_dma(c, i, hd, err, err_cap);
      if (st != DDK_OK) return st;
    } else if (c->op == NB_CMD_COMPUTE) {
      char why[200];
      if (!npu_compute_check(L, &c->u.tile, hd->sram_bytes, why, sizeof why))
        BAD(DDK_INCOMPATIBLE_BLOB, "npu_sim: blob command %llu (layer %u): %s",
            (unsigned long long)i, open, why);
      uint64_t acc, patch;
      npu_scratch_need(L, &c->u.tile, &acc, &patch);
      if (acc > *acc_need) *acc_need = acc;
      if (patch > *patch_need) *patch_need = patch;
      computes++;
    } else {
      BAD(DDK_INCOMPATIBLE_BLOB, "npu_sim: blob command %llu has unknown op %u",
          (unsigned long long)i, c->op);
    }
  }
  if (open != NPU_NONE || next != hd->num_layers)
    BAD(DDK_INCOMPATIBLE_BLOB, "npu_sim: blob command stream ends after %u of %u layers", next,
        hd->num_layers);
  return DDK_OK;
}

/* The cost model over a verified stream: per layer cycles, DMA bytes and
 * the profiling detail. `scratch` holds 3 * (max tiles + 2) uint64. */
static void cost_model(ddk_delegate_handle* h, uint64_t* scratch, uint64_t max_tiles) {
  const uint32_t R = h->dev.mac_rows, C = h->dev.mac_cols, bw = h->dev.dma_bytes_per_cycle;
  uint64_t* in = scratch;
  uint64_t* comp = scratch + (max_tiles + 2);
  uint64_t* out = scratch + 2 * (max_tiles + 2);
  h->total_cycles = 0;
  uint64_t i = 0;
  for (uint32_t l = 0; l < h->num_layers; ++l) {
    const nb_layer* L = &h->layers[l];
    const uint64_t T = L->tiles;
    memset(scratch, 0, sizeof(uint64_t) * 3 * (max_tiles + 2));
    layer_stats* s = &h->stats[l];
    s->dma_bytes = 0;
    for (++i; h->cmds[i].op != NB_CMD_LAYER_END; ++i) {
      const nb_cmd* c = &h->cmds[i];
      if (c->op == NB_CMD_COMPUTE) {
        comp[c->tile] += npu_compute_cycles(L, &c->u.tile, R, C);
        continue;
      }
      const uint64_t cyc = npu_dma_cycles(&c->u.dma, bw);
      s->dma_bytes += (uint64_t)c->u.dma.count[0] * c->u.dma.count[1] * c->u.dma.count[2];
      if (c->op == NB_CMD_DMA_IN)
        in[c->tile] += cyc;
      else
        out[c->tile] += cyc;
    }
    ++i; /* past LAYER_END */
    uint64_t cycles = 0;
    if (L->double_buffered && T > 0) {
      cycles = in[0] + out[T - 1];
      for (uint64_t t = 0; t < T; ++t) {
        const uint64_t dma = in[t + 1] + (t > 0 ? out[t - 1] : 0);
        cycles += comp[t] > dma ? comp[t] : dma;
      }
    } else {
      for (uint64_t t = 0; t < T; ++t) cycles += in[t] + comp[t] + out[t];
    }
    s->cycles = cycles;
    h->total_cycles += cycles;
    const double util = cycles ? (double)L->macs / ((double)cycles * R * C) : 0.0;
    snprintf(s->detail, sizeof s->detail,
             "util=%.3f;tiles=%u;double_buffered=%u;sram_used=%llu;weights_bytes=%llu;"
             "est_us=%.2f",
             util, L->tiles, L->double_buffered, (unsigned long long)L->sram_used,
             (unsigned long long)(L->wts_bytes + L->consts_bytes),
             (double)cycles / (double)h->dev.clock_mhz);
  }
}

/* ---- init ------------------------------------------------------------------------ */

/* fmt=N of a compat string, or 0 when absent. */
static unsigned long compat_format(const char* compat) {
  const char* f = strstr(compat, "fmt=");
  if (f == NULL) return 0;
  unsigned long v = 0;
  for (f += 4; *f >= '0' && *f <= '9' && v < 100000; ++f) v = v * 10 + (unsigned long)(*f - '0');
  return v;
}

static ddk_status npu_init(const ddk_backend* self, const void* blob, size_t blob_size,
                           const char* compat, const ddk_options* options,
                           const ddk_services* services, ddk_delegate_handle** out_handle,
                           char* err, size_t err_cap) {
  (void)self;
  if (out_handle == NULL || services == NULL)
    BAD(DDK_INVALID_ARGUMENT, "npu_sim: init: NULL argument");
  *out_handle = NULL;
  npu_config dev;
  ddk_status st = npu_config_read(options, &dev, err, err_cap);
  if (st != DDK_OK) return st;
  if (dev.fault_init)
    BAD(DDK_BACKEND_FAILURE, "npu_sim: injected fault at init (npu_sim.fault_init)");
  if (compat != NULL && compat[0] != '\0') {
    if (strncmp(compat, "npu_sim:", 8) != 0)
      BAD(DDK_INCOMPATIBLE_BLOB, "npu_sim: blob compatibility '%.100s' is not an npu_sim blob's",
          compat);
    if (compat_format(compat) > NB_FORMAT)
      BAD(DDK_INCOMPATIBLE_BLOB,
          "npu_sim: blob format %lu is newer than this runtime's %u; "
          "rebuild the program with this runtime (lower it again)",
          compat_format(compat), NB_FORMAT);
  }
  if (blob == NULL || blob_size < 8)
    BAD(DDK_INCOMPATIBLE_BLOB, "npu_sim: blob of %zu bytes is too small for a header", blob_size);
  if (((uintptr_t)blob % 8) != 0) BAD(DDK_INVALID_ARGUMENT, "npu_sim: blob is not 8-byte aligned");
  nb_header hd;
  memset(&hd, 0, sizeof hd);
  memcpy(&hd, blob, blob_size < sizeof hd ? blob_size : sizeof hd);
  if (memcmp(hd.magic, NB_MAGIC, 4) != 0)
    BAD(DDK_INCOMPATIBLE_BLOB, "npu_sim: not an npu_sim blob (bad magic)");
  if (hd.format > NB_FORMAT)
    BAD(DDK_INCOMPATIBLE_BLOB,
        "npu_sim: blob format %u is newer than this runtime's %u; rebuild "
        "the program with this runtime (lower it again)",
        hd.format, NB_FORMAT);
  if (hd.format == 0) BAD(DDK_INCOMPATIBLE_BLOB, "npu_sim: blob format 0 is not a format");
  if (blob_size < sizeof hd)
    BAD(DDK_INCOMPATIBLE_BLOB, "npu_sim: blob is truncated: %zu bytes, the header alone is %zu",
        blob_size, sizeof hd);
  if ((st = check_config(&hd, &dev, err, err_cap)) != DDK_OK) return st;
  if ((st = check_header(&hd, blob_size, err, err_cap)) != DDK_OK) return st;
  const uint8_t* base = blob;
  const nb_io* io = (const nb_io*)(const void*)(base + hd.io_offset);
  const nb_layer* layers = (const nb_layer*)(const void*)(base + hd.layers_offset);
  const nb_cmd* cmds = (const nb_cmd*)(const void*)(base + hd.cmds_offset);
  for (uint32_t i = 0; i < hd.num_inputs + hd.num_outputs; ++i)
    if ((st = check_io(&io[i], i, hd.dram_bytes, err, err_cap)) != DDK_OK) return st;
  uint64_t max_tiles = 0;
  for (uint32_t l = 0; l < hd.num_layers; ++l) {
    if ((st = check_layer(&layers[l], l, err, err_cap)) != DDK_OK) return st;
    if (layers[l].tiles > max_tiles) max_tiles = layers[l].tiles;
  }
  uint64_t acc_need, patch_need;
  if ((st = check_cmds(cmds, &hd, layers, &acc_need, &patch_need, err, err_cap)) != DDK_OK)
    return st;

  const ddk_allocator* a = &services->allocator;
  ddk_delegate_handle* h = a->alloc(a->self, sizeof *h, 64);
  if (h == NULL) BAD(DDK_OUT_OF_MEMORY, "npu_sim: out of memory in init");
  memset(h, 0, sizeof *h);
  h->services = services;
  h->dev = dev;
  h->dram_bytes = hd.dram_bytes;
  h->sram_bytes = hd.sram_bytes;
  h->acc_count = acc_need;
  h->patch_count = patch_need;
  h->num_inputs = hd.num_inputs;
  h->num_outputs = hd.num_outputs;
  h->num_layers = hd.num_layers;
  h->num_cmds = hd.num_cmds;
  h->profiling = services->profiler.enabled;
  const uint64_t nio = (uint64_t)hd.num_inputs + hd.num_outputs;
  h->dram = alloc0(a, h->dram_bytes);
  h->sram = alloc0(a, h->sram_bytes);
  h->scratch.acc = alloc0(a, h->acc_count * sizeof(int32_t));
  h->scratch.patch = alloc0(a, h->patch_count * sizeof(int16_t));
  h->io = alloc0(a, nio * sizeof(nb_io));
  h->layers = alloc0(a, (uint64_t)h->num_layers * sizeof(nb_layer));
  h->stats = alloc0(a, (uint64_t)h->num_layers * sizeof(layer_stats));
  h->cmds = alloc0(a, h->num_cmds * sizeof(nb_cmd));
  const uint64_t scratch_bytes = 3 * (max_tiles + 2) * sizeof(uint64_t);
  uint64_t* scratch = alloc0(a, scratch_bytes);
  if (!h->dram || !h->sram || !h->scratch.acc || !h->scratch.patch || !h->io || !h->layers ||
      !h->stats || !h->cmds || !scratch) {
    free0(a, scratch, scratch_bytes);
    free_handle(h);
    BAD(DDK_OUT_OF_MEMORY, "npu_sim: out of memory in init (DRAM %llu bytes, SRAM %llu bytes)",
        (unsigned long long)hd.dram_bytes, (unsigned long long)hd.sram_bytes);
  }
  memcpy(h->io, io, nio * sizeof(nb_io));
  memcpy(h->layers, layers, (size_t)h->num_layers * sizeof(nb_layer));
  memcpy(h->cmds, cmds, (size_t)h->num_cmds * sizeof(nb_cmd));
  memcpy(h->dram + hd.weights_dram, base + hd.weights_offset, (size_t)hd.weights_bytes);
  cost_model(h, scratch, max_tiles);
  free0(a, scratch, scratch_bytes);
  *out_handle = h;
  return DDK_OK;
}

/* ---- execute --------------------------------------------------------------------- */

static uint64_t now(const ddk_delegate_handle* h) {
  const ddk_profiler_sink* p = &h->services->profiler;
  return p->now_ns ? p->now_ns(p->self) : 0;
}

static void emit_event(const ddk_delegate_handle* h, uint32_t kind, uint32_t node, const char* name,
                       uint64_t t0, uint64_t t1, uint64_t bytes, uint64_t flops, uint64_t cycles,
                       const char* detail) {
  const ddk_profiler_sink* p = &h->services->profiler;
  if (p->emit == NULL) return;
  ddk_profile_event e;
  memset(&e, 0, sizeof e);
  e.header = (ddk_struct_header)DDK_STRUCT_HEADER_INIT(ddk_profile_event);
  e.kind = kind;
  e.node_index = node;
  e.name = name;
  e.start_ns = t0;
  e.end_ns = t1;
  e.bytes = bytes;
  e.flops = flops;
  e.cycles = cycles;
  e.detail = detail;
  p->emit(p->self, &e);
}

/* A host tensor against the blob's I/O entry. */
static ddk_status check_tensor(const nb_io* io, const ddk_tensor* t, const char* what, uint32_t i,
                               char* err, size_t err_cap) {
  if (t == NULL || t->data == NULL) BAD(DDK_INVALID_ARGUMENT, "npu_sim: %s %u is NULL", what, i);
  if (t->dtype != io->dtype)
    BAD(DDK_DTYPE_MISMATCH, "npu_sim: %s %u is %s, the partition was compiled for %s", what, i,
        ddk_dtype_name(t->dtype), ddk_dtype_name(io->dtype));
  bool same = t->rank == io->rank;
  for (uint32_t d = 0; same && d < t->rank; ++d) same = t->sizes[d] == io->sizes[d];
  if (!same)
    BAD(DDK_SHAPE_MISMATCH,
        "npu_sim: %s %u does not have the shape the partition was compiled "
        "for (rank %u, %llu elements)",
        what, i, io->rank, (unsigned long long)io->bytes);
  int64_t stride = 1;
  for (uint32_t d = t->rank; d-- > 0;) {
    if (t->sizes[d] != 1 && t->strides[d] != stride)
      BAD(DDK_INVALID_ARGUMENT, "npu_sim: %s %u is not contiguous", what, i);
    stride *= t->sizes[d];
  }
  if (t->capacity < io->bytes)
    BAD(DDK_INVALID_ARGUMENT, "npu_sim: %s %u has capacity %zu, needs %llu", what, i, t->capacity,
        (unsigned long long)io->bytes);
  return DDK_OK;
}

static void run_dma(ddk_delegate_handle* h, const nb_dma* d, bool to_sram) {
  uint8_t* s = h->sram + d->sram;
  for (uint32_t i = 0; i < d->count[0]; ++i)
    for (uint32_t j = 0; j < d->count[1]; ++j) {
      uint8_t* m = h->dram + d->dram + i * d->stride[0] + j * d->stride[1];
      if (to_sram)
        memcpy(s, m, d->count[2]);
      else
        memcpy(m, s, d->count[2]);
      s += d->count[2];
    }
}

static ddk_status npu_execute(ddk_delegate_handle* h, const ddk_tensor* const* inputs,
                              uint32_t num_inputs, ddk_tensor* const* outputs, uint32_t num_outputs,
                              char* err, size_t err_cap) {
  if (h == NULL) BAD(DDK_INVALID_ARGUMENT, "npu_sim: execute on a NULL handle");
  if (num_inputs != h->num_inputs || num_outputs != h->num_outputs ||
      (num_inputs && inputs == NULL) || (num_outputs && outputs == NULL))
    BAD(DDK_INVALID_ARGUMENT, "npu_sim: execute expects %u inputs and %u outputs, got %u and %u",
        h->num_inputs, h->num_outputs, num_inputs, num_outputs);
  ddk_status st;
  for (uint32_t i = 0; i < num_inputs; ++i)
    if ((st = check_tensor(&h->io[i], inputs[i], "input", i, err, err_cap)) != DDK_OK) return st;
  for (uint32_t i = 0; i < num_outputs; ++i)
    if ((st = check_tensor(&h->io[num_inputs + i], outputs[i], "output", i, err, err_cap)) !=
        DDK_OK)
      return st;
  const uint64_t run = ++h->executes;
  const bool prof = h->profiling && h->services->profiler.emit != NULL;
  uint64_t t0 = prof ? now(h) : 0, copied = 0;
  for (uint32_t i = 0; i < num_inputs; ++i) {
    memcpy(h->dram + h->io[i].dram, inputs[i]->data, (size_t)h->io[i].bytes);
    copied += h->io[i].bytes;
  }
  if (prof)
    emit_event(h, DDK_PROFILE_COPY, DDK_NO_VALUE, "npu_sim: inputs to DRAM", t0, now(h), copied, 0,
               0, NULL);
  /* an injected fault stops the stream before this layer */
  const uint32_t stop = h->dev.fault_execute_at == run ? h->num_layers / 2 : NPU_NONE;
  uint64_t cycles = 0, layer_t0 = 0;
  uint32_t done = 0;
  for (uint64_t i = 0; i < h->num_cmds; ++i) {
    const nb_cmd* c = &h->cmds[i];
    const nb_layer* L = &h->layers[c->layer];
    switch (c->op) {
      case NB_CMD_LAYER_BEGIN:
        if (c->layer == stop)
          i = h->num_cmds; /* leaves the loop */
        else if (prof)
          layer_t0 = now(h);
        break;
      case NB_CMD_DMA_IN:
        run_dma(h, &c->u.dma, true);
        break;
      case NB_CMD_DMA_OUT:
        run_dma(h, &c->u.dma, false);
        break;
      case NB_CMD_COMPUTE:
        npu_compute(L, &c->u.tile, h->sram, &h->scratch);
        break;
      case NB_CMD_LAYER_END: {
        const layer_stats* s = &h->stats[c->layer];
        cycles += s->cycles;
        done++;
        if (prof)
          emit_event(h, DDK_PROFILE_OP, L->node_index, npu_layer_kind_name(L->kind), layer_t0,
                     now(h), s->dma_bytes, 2 * L->macs, s->cycles, s->detail);
        break;
      }
      default:
        break;
    }
  }
  h->last_cycles = cycles;
  if (stop != NPU_NONE) {
    sleep_us(h->dev.extra_latency_us);
    BAD(DDK_BACKEND_FAILURE,
        "npu_sim: injected fault at execute #%llu after %u of %u layers "
        "(npu_sim.fault_execute_at)",
        (unsigned long long)run, done, h->num_layers);
  }
  /* commit: the whole stream succeeded */
  t0 = prof ? now(h) : 0;
  copied = 0;
  for (uint32_t i = 0; i < num_outputs; ++i) {
    const nb_io* io = &h->io[num_inputs + i];
    memcpy(outputs[i]->data, h->dram + io->dram, (size_t)io->bytes);
    copied += io->bytes;
  }
  if (prof) {
    char detail[64];
    snprintf(detail, sizeof detail, "total_cycles=%llu", (unsigned long long)cycles);
    emit_event(h, DDK_PROFILE_COPY, DDK_NO_VALUE, "npu_sim: commit outputs", t0, now(h), copied, 0,
               cycles, detail);
  }
  sleep_us(h->dev.extra_latency_us);
  return DDK_OK;
}

static void npu_destroy(ddk_delegate_handle* h) {
  if (h != NULL) free_handle(h);
}

static ddk_status npu_set_profiling(ddk_delegate_handle* h, bool enabled) {
  if (h == NULL) return DDK_INVALID_ARGUMENT;
  h->profiling = enabled;
  return DDK_OK;
}

/* ---- the vtable and the entry symbol --------------------------------------------- */

static const ddk_backend kNpuSimBackend = {
    .header = DDK_STRUCT_HEADER_INIT(ddk_backend),
    .name = "npu_sim",
    .version = "1.0.0",
    .flags = DDK_BACKEND_BLOB_RELEASABLE, /* init copies weights and stream */
    .user_data = NULL,
    .query = npu_query,
    .partition = npu_partition,
    .preprocess = npu_preprocess,
    .init = npu_init,
    .execute = npu_execute,
    .destroy = npu_destroy,
    .set_profiling = npu_set_profiling,
    .partition_grouped = npu_partition_grouped,
};

DDK_DECLARE_BACKEND_ENTRY() {
  if (out_backend == NULL) return DDK_INVALID_ARGUMENT;
  *out_backend = NULL;
  if (DDK_ABI_VERSION_MAJOR_OF(host_abi_version) != DDK_ABI_VERSION_MAJOR) {
    npu_errorf(err, err_cap, "npu_sim: host ABI %u.%u, plugin speaks %u.x",
               DDK_ABI_VERSION_MAJOR_OF(host_abi_version),
               DDK_ABI_VERSION_MINOR_OF(host_abi_version), DDK_ABI_VERSION_MAJOR);
    return DDK_ABI_MISMATCH;
  }
  *out_backend = &kNpuSimBackend;
  return DDK_OK;
}
