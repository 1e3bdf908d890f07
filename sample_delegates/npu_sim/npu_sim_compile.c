/*
 * npu_sim_compile.c — preprocess: one partition -> one command-stream
 * blob (npu_sim_blob.h).
 *
 *  1. match the partition's nodes into layers with the same matcher
 *     partition used (npu_match_layer); anything that is not exactly a set
 *     of layers is refused with DDK_UNSUPPORTED_FEATURE (a partition bug);
 *  2. plan the device memory: the weights region first, then every int8
 *     activation (partition inputs and layer outputs, NCHW contiguous as
 *     on the host) at 64-byte aligned offsets, reusing the space of
 *     tensors whose lifetimes have ended (greedy first fit);
 *  3. lay out the weights region: int8 weights as the graph holds them
 *     (OIHW / [O, K]) and per-channel constants (nb_chan), or the divisor
 *     tables of the average pools;
 *  4. tile every layer (npu_tile_choose) and emit its DMA schedule and
 *     compute commands (npu_schedule);
 *  5. write the blob: header with the hardware configuration, I/O table,
 *     layer table, command stream, weights.
 */
#include <string.h>

#include "npu_sim_internal.h"

#define VAL(g, v) (&(g)->values[(v)])

static uint64_t align64(uint64_t v) {
  return (v + NB_ALIGN - 1) & ~(uint64_t)(NB_ALIGN - 1);
}

/* One int8 tensor in the device memory. */
typedef struct dram_tensor {
  uint32_t value;
  int64_t def, last; /* layer producing it (-1: partition input), last reader */
  uint64_t bytes, off;
} dram_tensor;

typedef struct compiler {
  const ddk_graph_view* g;
  const ddk_services* services;
  const ddk_allocator* a;
  npu_config cfg;
  npu_facts f;
  npu_layer* layers;
  uint32_t num_layers;
  npu_tiling* tilings;
  uint32_t* op_layer;  /* per node */
  uint8_t* role;       /* per node: 0 none, 1 in one layer, 2 dequantize */
  uint32_t* tensor_of; /* per value */
  dram_tensor* tensors;
  uint32_t num_tensors;
  char* err;
  size_t err_cap;
} compiler;

/* Every allocation of the compiler, sized from the subgraph. */
static ddk_status comp_alloc(compiler* c) {
  const ddk_allocator* a = c->a;
  const size_t N = (size_t)c->g->num_nodes + 1, V = (size_t)c->g->num_values + 1;
  const size_t T = (size_t)c->g->num_inputs + N;
  c->layers = a->alloc(a->self, N * sizeof(npu_layer), 16);
  c->tilings = a->alloc(a->self, N * sizeof(npu_tiling), 16);
  c->op_layer = a->alloc(a->self, N * sizeof(uint32_t), 16);
  c->role = a->alloc(a->self, N, 16);
  c->tensor_of = a->alloc(a->self, V * sizeof(uint32_t), 16);
  c->tensors = a->alloc(a->self, T * sizeof(dram_tensor), 16);
  if (!c->layers || !c->tilings || !c->op_layer || !c->role || !c->tensor_of || !c->tensors)
    return DDK_OUT_OF_MEMORY;
  memset(c->role, 0, N);
  for (size_t k = 0; k < N; ++k) c->op_layer[k] = NPU_NONE;
  for (size_t v = 0; v < V; ++v) c->tensor_of[v] = NPU_NONE;
  return DDK_OK;
}

static void comp_free(compiler* c) {
  const ddk_allocator* a = c->a;
  const size_t N = (size_t)c->g->num_nodes + 1, V = (size_t)c->g->num_values + 1;
  const size_t T = (size_t)c->g->num_inputs + N;
  if (c->layers) a->free(a->self, c->layers, N * sizeof(npu_layer));
  if (c->tilings) a->free(a->self, c->tilings, N * sizeof(npu_tiling));
  if (c->op_layer) a->free(a->self, c->op_layer, N * sizeof(uint32_t));
  if (c->role) a->free(a->self, c->role, N);
  if (c->tensor_of) a->free(a->self, c->tensor_of, V * sizeof(uint32_t));
  if (c->tensors) a->free(a->self, c->tensors, T * sizeof(dram_tensor));
  npu_facts_free(&c->f, a);
}

static ddk_status refuse(compiler* c, uint32_t k, const char* what) {
  const ddk_node_view* n = &c->g->nodes[k];
  npu_errorf(c->err, c->err_cap,
             "npu_sim: partition node %u (%s '%s') %s; partition claims only what compiles, "
             "so this partition is not one npu_sim made",
             n->node_index, n->op_name, n->debug_name, what);
  return DDK_UNSUPPORTED_FEATURE;
}

/* 1. the partition's nodes -> layers, every node accounted for */
static ddk_status match_all(compiler* c) {
  const ddk_graph_view* g = c->g;
  for (uint32_t k = 0; k < g->num_nodes; ++k) {
    if (!npu_is_main_op(&c->f, k)) continue;
    char why[256] = "";
    npu_layer* L = &c->layers[c->num_layers];
    if (!npu_match_layer(&c->f, &c->cfg, k, L, why, sizeof why)) {
      char what[300];
      npu_errorf(what, sizeof what, "does not compile: %s", why);
      return refuse(c, k, what);
    }
    c->op_layer[k] = c->num_layers++;
    const uint32_t own[5] = {L->op, L->act, L->q, L->wnodes[0], L->wnodes[1]};
    for (int i = 0; i < 5; ++i) {
      if (own[i] == NPU_NONE) continue;
      if (c->role[own[i]] != 0) return refuse(c, own[i], "belongs to two layers");
      c->role[own[i]] = 1;
    }
    for (uint32_t i = 0; i < L->num_dq; ++i) {
      if (c->role[L->dq[i]] == 1) return refuse(c, L->dq[i], "belongs to two layers");
      c->role[L->dq[i]] = 2;
    }
  }
  if (c->num_layers == 0) {
    npu_errorf(c->err, c->err_cap, "npu_sim: the partition holds no layer");
    return DDK_UNSUPPORTED_FEATURE;
  }
  for (uint32_t k = 0; k < g->num_nodes; ++k) {
    if (c->role[k] == 0) return refuse(c, k, "is not part of any layer");
    if (c->role[k] != 2) continue;
    const uint32_t v = g->nodes[k].outputs[0];
    if (c->f.external[v]) return refuse(c, k, "has its float output leave the partition");
    for (uint32_t u = c->f.use_start[v]; u < c->f.use_start[v + 1]; ++u) {
      const uint32_t l = c->op_layer[c->f.use_node[u]];
      if (l == NPU_NONE || (c->layers[l].dq[0] != k && c->layers[l].dq[1] != k))
        return refuse(c, k, "is read by a node that is not its layer's op");
    }
  }
  if (c->cfg.max_partition_layers > 0 && c->num_layers > c->cfg.max_partition_layers)
    npu_log(c->services, DDK_LOG_WARNING,
            "partition of %u layers exceeds npu_sim.max_partition_layers=%u (a host without "
            "partition_grouped cannot bound it)",
            c->num_layers, c->cfg.max_partition_layers);
  return DDK_OK;
}

/* The quantisation of tensor value v as some layer reads or writes it. */
static void tensor_qparams(const compiler* c, uint32_t v, double* scale, int32_t* zp) {
  *scale = 0, *zp = 0;
  for (uint32_t l = 0; l < c->num_layers; ++l) {
    const npu_layer* L = &c->layers[l];
    if (L->out == v) {
      *scale = L->y_scale, *zp = L->zy;
      return;
    }
    for (int j = 0; j < 2; ++j)
      if (L->in[j] == v) {
        *scale = L->x[j].scale, *zp = L->x[j].zp;
        return;
      }
  }
}

/* 2. tensors, lifetimes, first-fit offsets; returns the activations' size */
static ddk_status plan_dram(compiler* c, uint64_t* out_bytes) {
  const ddk_graph_view* g = c->g;
  for (uint32_t i = 0; i < g->num_inputs; ++i) {
    const uint32_t v = g->inputs[i];
    bool read = false;
    for (uint32_t l = 0; l < c->num_layers && !read; ++l)
      read = c->layers[l].in[0] == v || c->layers[l].in[1] == v;
    if (v >= g->num_values || !read || c->tensor_of[v] != NPU_NONE) {
      npu_errorf(c->err, c->err_cap,
                 "npu_sim: partition input %u (value %u) is not an int8 tensor a layer "
                 "dequantizes",
                 i, v);
      return DDK_UNSUPPORTED_FEATURE;
    }
    c->tensor_of[v] = c->num_tensors;
    c->tensors[c->num_tensors++] =
        (dram_tensor){v, -1, -1, (uint64_t)ddk_tensor_numel(&VAL(g, v)->tensor), 0};
  }
  for (uint32_t l = 0; l < c->num_layers; ++l) {
    const npu_layer* L = &c->layers[l];
    const uint32_t reads = L->kind == NB_LAYER_ADD ? 2 : 1;
    for (uint32_t j = 0; j < reads; ++j) {
      const uint32_t t = c->tensor_of[L->in[j]];
      if (t == NPU_NONE)
        return refuse(c, L->dq[j < L->num_dq ? j : 0], "reads a value no earlier layer wrote");
      if (c->tensors[t].last < (int64_t)l) c->tensors[t].last = l;
    }
    if (c->tensor_of[L->out] != NPU_NONE) return refuse(c, L->q, "writes a value twice");
    c->tensor_of[L->out] = c->num_tensors;
    c->tensors[c->num_tensors++] =
        (dram_tensor){L->out, l, l, (uint64_t)ddk_tensor_numel(&VAL(g, L->out)->tensor), 0};
  }
  for (uint32_t i = 0; i < g->num_outputs; ++i) {
    const uint32_t t = g->outputs[i] < g->num_values ? c->tensor_of[g->outputs[i]] : NPU_NONE;
    if (t == NPU_NONE || t < g->num_inputs) {
      npu_errorf(c->err, c->err_cap,
                 "npu_sim: partition output %u (value %u) is not the int8 output of a layer", i,
                 g->outputs[i]);
      return DDK_UNSUPPORTED_FEATURE;
    }
    c->tensors[t].last = c->num_layers; /* committed after the whole stream */
  }
  /* greedy first fit, in order of definition (tensors are already so) */
  uint64_t top = 0;
  for (uint32_t t = 0; t < c->num_tensors; ++t) {
    dram_tensor* x = &c->tensors[t];
    uint64_t off = 0;
    for (bool moved = true; moved;) {
      moved = false;
      for (uint32_t u = 0; u < t; ++u) {
        const dram_tensor* y = &c->tensors[u];
        const bool live = !(y->last < x->def || x->last < y->def);
        if (live && off < y->off + y->bytes && y->off < off + x->bytes) {
          off = align64(y->off + y->bytes);
          moved = true;
        }
      }
    }
    x->off = off;
    if (off + x->bytes > top) top = off + x->bytes;
  }
  *out_bytes = align64(top);
  return DDK_OK;
}

/* 3. the weights region: offsets into it, and its bytes when `data` */
static ddk_status weights_region(compiler* c, uint8_t* data, uint64_t* out_bytes) {
  uint64_t at = 0;
  for (uint32_t l = 0; l < c->num_layers; ++l) {
    npu_layer* L = &c->layers[l];
    nb_layer* G = &L->geom;
    if (G->wts_bytes > 0) {
      G->wts = at;
      if (data != NULL) memcpy(data + at, VAL(c->g, L->w.value)->tensor.data, G->wts_bytes);
      at = align64(at + G->wts_bytes);
    }
    if (G->consts_bytes > 0) {
      G->consts = at;
      if (data != NULL) {
        if (L->kind == NB_LAYER_AVGPOOL || L->kind == NB_LAYER_MEAN) {
          for (uint32_t i = 0; i < G->table_len; ++i) {
            int64_t d = (G->flags & NB_LF_DIVISOR_OVERRIDE) ? L->divisor
                        : L->kind == NB_LAYER_MEAN          ? (int64_t)G->kh * G->kw
                                                            : (int64_t)i + 1;
            nb_div e;
            if (!npu_div_const(L, d, &e)) return refuse(c, L->op, "has a divisor out of range");
            memcpy(data + at + i * sizeof e, &e, sizeof e);
          }
        } else {
          for (uint32_t ch = 0; ch < G->oc; ++ch) {
            nb_chan e;
            char why[200];
            if (!npu_chan_const(c->g, L, ch, &e, why, sizeof why)) return refuse(c, L->op, why);
            memcpy(data + at + (uint64_t)ch * sizeof e, &e, sizeof e);
          }
        }
      }
      at = align64(at + G->consts_bytes);
    }
  }
  *out_bytes = at;
  return DDK_OK;
}

static void fill_io(const compiler* c, uint32_t value, uint64_t dram, nb_io* io) {
  const ddk_tensor* t = &VAL(c->g, value)->tensor;
  memset(io, 0, sizeof *io);
  io->dram = dram;
  io->bytes = (uint64_t)ddk_tensor_numel(t);
  io->dtype = DDK_DTYPE_INT8;
  io->rank = t->rank;
  for (uint32_t d = 0; d < t->rank && d < NB_MAX_RANK; ++d) io->sizes[d] = t->sizes[d];
  io->value = value;
  tensor_qparams(c, value, &io->scale, &io->zero_point);
}

ddk_status npu_preprocess(const ddk_backend* self, const ddk_graph_view* sub,
                          const ddk_options* options, const ddk_services* services,
                          ddk_blob* out_blob, char* err, size_t err_cap) {
  (void)self;
  out_blob->data = NULL;
  out_blob->size = 0;
  compiler c;
  memset(&c, 0, sizeof c);
  c.g = sub, c.services = services, c.a = &services->allocator, c.err = err, c.err_cap = err_cap;
  ddk_status st = npu_config_read(options, &c.cfg, err, err_cap);
  if (st != DDK_OK) return st;
  if (sub->num_inputs > NB_MAX_IO || sub->num_outputs > NB_MAX_IO ||
      sub->num_nodes > NB_MAX_LAYERS) {
    npu_errorf(err, err_cap, "npu_sim: partition too large (%u nodes, %u inputs, %u outputs)",
               sub->num_nodes, sub->num_inputs, sub->num_outputs);
    return DDK_UNSUPPORTED_FEATURE;
  }
  if ((st = npu_facts_init(&c.f, sub, c.a)) != DDK_OK || (st = comp_alloc(&c)) != DDK_OK) {
    npu_errorf(err, err_cap, "npu_sim: out of memory in preprocess");
    st = DDK_OUT_OF_MEMORY;
    goto cleanup;
  }
  if ((st = match_all(&c)) != DDK_OK) goto cleanup;
  uint64_t act_bytes = 0, wts_bytes = 0;
  if ((st = plan_dram(&c, &act_bytes)) != DDK_OK) goto cleanup;
  if ((st = weights_region(&c, NULL, &wts_bytes)) != DDK_OK) goto cleanup;
  const uint64_t act_base = align64(wts_bytes);
  uint64_t num_cmds = 0, dma_total = 0;
  for (uint32_t l = 0; l < c.num_layers; ++l) {
    npu_layer* L = &c.layers[l];
    nb_layer* G = &L->geom;
    G->in0 = act_base + c.tensors[c.tensor_of[L->in[0]]].off;
    G->in1 = L->kind == NB_LAYER_ADD ? act_base + c.tensors[c.tensor_of[L->in[1]]].off : 0;
    G->out = act_base + c.tensors[c.tensor_of[L->out]].off;
    if (!npu_tile_choose(&c.cfg, G, &c.tilings[l])) { /* npu_layer_check said it fits */
      st = refuse(&c, L->op, "has no tile that fits the SRAM");
      goto cleanup;
    }
    G->tiles = c.tilings[l].tiles;
    G->double_buffered = c.tilings[l].double_buffered;
    G->sram_used = c.tilings[l].sram_used;
    npu_schedule(G, &c.tilings[l], l, NULL, &num_cmds, &dma_total);
  }
  if (num_cmds > NB_MAX_CMDS) {
    npu_errorf(err, err_cap, "npu_sim: %llu commands exceed the stream limit %u",
               (unsigned long long)num_cmds, NB_MAX_CMDS);
    st = DDK_UNSUPPORTED_FEATURE;
    goto cleanup;
  }
  /* 5. the blob */
  const uint32_t nio = sub->num_inputs + sub->num_outputs;
  nb_header h;
  memset(&h, 0, sizeof h);
  memcpy(h.magic, NB_MAGIC, 4);
  h.format = NB_FORMAT;
  h.header_size = sizeof h;
  h.revision = c.cfg.revision;
  h.mac_rows = c.cfg.mac_rows;
  h.mac_cols = c.cfg.mac_cols;
  h.dma_bytes_per_cycle = c.cfg.dma_bytes_per_cycle;
  h.sram_bytes = c.cfg.sram_bytes;
  h.num_inputs = sub->num_inputs;
  h.num_outputs = sub->num_outputs;
  h.num_layers = c.num_layers;
  h.num_cmds = num_cmds;
  h.weights_dram = 0;
  h.weights_bytes = wts_bytes;
  h.dram_bytes = act_base + act_bytes;
  h.io_offset = align64(sizeof h);
  h.layers_offset = align64(h.io_offset + (uint64_t)nio * sizeof(nb_io));
  h.cmds_offset = align64(h.layers_offset + (uint64_t)c.num_layers * sizeof(nb_layer));
  h.weights_offset = align64(h.cmds_offset + num_cmds * sizeof(nb_cmd));
  h.blob_bytes = align64(h.weights_offset + wts_bytes);
  uint8_t* blob = c.a->alloc(c.a->self, (size_t)h.blob_bytes, NB_ALIGN);
  if (blob == NULL) {
    npu_errorf(err, err_cap, "npu_sim: out of memory for a %llu-byte blob",
               (unsigned long long)h.blob_bytes);
    st = DDK_OUT_OF_MEMORY;
    goto cleanup;
  }
  memset(blob, 0, (size_t)h.blob_bytes);
  memcpy(blob, &h, sizeof h);
  if ((st = weights_region(&c, blob + h.weights_offset, &wts_bytes)) != DDK_OK) {
    c.a->free(c.a->self, blob, (size_t)h.blob_bytes);
    goto cleanup;
  }
  nb_io* io = (nb_io*)(void*)(blob + h.io_offset);
  for (uint32_t i = 0; i < sub->num_inputs; ++i)
    fill_io(&c, sub->inputs[i], act_base + c.tensors[c.tensor_of[sub->inputs[i]]].off, &io[i]);
  for (uint32_t i = 0; i < sub->num_outputs; ++i)
    fill_io(&c, sub->outputs[i], act_base + c.tensors[c.tensor_of[sub->outputs[i]]].off,
            &io[sub->num_inputs + i]);
  nb_layer* layers = (nb_layer*)(void*)(blob + h.layers_offset);
  nb_cmd* cmds = (nb_cmd*)(void*)(blob + h.cmds_offset);
  uint64_t at = 0, check = 0;
  for (uint32_t l = 0; l < c.num_layers; ++l) {
    layers[l] = c.layers[l].geom;
    npu_schedule(&layers[l], &c.tilings[l], l, cmds, &at, &check);
  }
  out_blob->data = blob;
  out_blob->size = (size_t)h.blob_bytes;
  npu_config_compat(&c.cfg, out_blob->compat, sizeof out_blob->compat);
  npu_log(services, DDK_LOG_DEBUG,
          "compiled %u layers: %llu commands, %llu DMA bytes, DRAM %llu bytes (weights %llu)",
          c.num_layers, (unsigned long long)num_cmds, (unsigned long long)dma_total,
          (unsigned long long)h.dram_bytes, (unsigned long long)wts_bytes);
cleanup:
  comp_free(&c);
  return st;
}
