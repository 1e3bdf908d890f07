/*
 * npu_sim_internal.h — what the parts of the emulated int8 NPU delegate
 * share: the hardware configuration, the layer IR the matcher produces,
 * fixed-point helpers, and the prototypes of each part.
 *
 *   npu_sim_config.c   options -> hardware configuration, compat string
 *   npu_sim_match.c    graph facts, the pattern matcher (graph -> layers),
 *                      partition / partition_grouped
 *   npu_sim_tile.c     requantisation constants, the tiler and the DMA
 *                      schedule of one layer
 *   npu_sim_compile.c  preprocess: layers -> DRAM plan -> blob
 *   npu_sim_kernels.c  int8 tile compute on SRAM buffers, and the check of
 *                      one compute command against its layer
 *   npu_sim_runtime.c  query, init (blob verification), execute (the
 *                      command interpreter, cost model, faults,
 *                      profiling), destroy; the entry symbol
 *
 * One function decides whether a layer compiles (npu_layer_check), and
 * both partition and preprocess call it: a claimed node always compiles.
 */
#ifndef DDK_NPU_SIM_INTERNAL_H_
#define DDK_NPU_SIM_INTERNAL_H_

#include <ddk/delegate_api.h>
#include <ddk/op_ids.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "npu_sim_blob.h"

#define NPU_NONE UINT32_MAX

/* 128-bit integers for the requantisation products (GCC and Clang). */
__extension__ typedef __int128 npu_i128;
__extension__ typedef unsigned __int128 npu_u128;

/* ---- configuration (npu_sim_config.c) ------------------------------------ */

/* The hardware configuration plus the compile limits and faults. */
typedef struct npu_config {
  uint32_t revision;             /* npu_sim.revision, 1..255 */
  uint32_t mac_rows;             /* npu_sim.mac_rows, 1..256 */
  uint32_t mac_cols;             /* npu_sim.mac_cols, 1..256 */
  uint64_t sram_bytes;           /* npu_sim.sram_bytes, 4096..2^30 */
  uint32_t dma_bytes_per_cycle;  /* npu_sim.dma_bytes_per_cycle, 1..4096 */
  uint32_t clock_mhz;            /* npu_sim.clock_mhz (time estimates only) */
  uint32_t max_partition_layers; /* 0 = unlimited */
  uint32_t ops_mask;             /* bit k: layer kind k allowed */
  bool fault_init;
  uint64_t fault_execute_at; /* 0 = off */
  uint64_t extra_latency_us;
} npu_config;

/* Reads and validates the npu_sim.* options (absent keys take their
 * defaults). DDK_INVALID_ARGUMENT naming the key, the value and the range
 * on a wrong type, an out-of-range value or an unknown npu_sim.* key. */
ddk_status npu_config_read(const ddk_options* options, npu_config* out, char* err, size_t err_cap);

/* The compat string of a blob compiled for `c`. */
void npu_config_compat(const npu_config* c, char* out, size_t cap);

/* "npu_sim rev 1 (16x16 MACs, 1024 KiB SRAM, 16 B/cycle DMA)". */
void npu_config_device_name(const npu_config* c, char* out, size_t cap);

/* Name of a layer kind ("conv2d", ...), or "?" . */
const char* npu_layer_kind_name(uint32_t kind);

/* Formats a message into err (vsnprintf); safe with err == NULL. */
void npu_errorf(char* err, size_t err_cap, const char* fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Logs one line through services->logger (when there is one). */
void npu_log(const ddk_services* s, int32_t level, const char* fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- node arguments -------------------------------------------------------- */

/* The tensor argument i of n, or NPU_NONE (absent or not a tensor). */
static inline uint32_t na_tensor(const ddk_node_view* n, uint32_t i) {
  if (i >= n->num_args || n->args[i].kind != DDK_ARG_TENSOR) return NPU_NONE;
  return n->args[i].u.tensor;
}

/* True when argument i is absent or None. */
static inline bool na_none(const ddk_node_view* n, uint32_t i) {
  return i >= n->num_args || n->args[i].kind == DDK_ARG_NONE;
}

/* A number argument (INT or FLOAT) as a double. */
static inline bool na_number(const ddk_node_view* n, uint32_t i, double* out) {
  if (i >= n->num_args) return false;
  const ddk_arg* a = &n->args[i];
  if (a->kind == DDK_ARG_INT)
    *out = (double)a->u.i;
  else if (a->kind == DDK_ARG_FLOAT)
    *out = a->u.f;
  else
    return false;
  return true;
}

/* An INT (or DTYPE) argument. */
static inline bool na_int(const ddk_node_view* n, uint32_t i, int64_t* out) {
  if (i >= n->num_args) return false;
  const ddk_arg* a = &n->args[i];
  if (a->kind != DDK_ARG_INT && a->kind != DDK_ARG_DTYPE) return false;
  *out = a->u.i;
  return true;
}

/* A BOOL argument. */
static inline bool na_bool(const ddk_node_view* n, uint32_t i, bool* out) {
  if (i >= n->num_args || n->args[i].kind != DDK_ARG_BOOL) return false;
  *out = n->args[i].u.b;
  return true;
}

/* An int list argument (a single INT counts as a one-element list). */
static inline bool na_ints(const ddk_node_view* n, uint32_t i, const int64_t** out,
                           uint32_t* count) {
  if (i >= n->num_args) return false;
  const ddk_arg* a = &n->args[i];
  if (a->kind == DDK_ARG_INT_LIST) {
    *out = a->u.ints;
    *count = a->count;
    return true;
  }
  if (a->kind == DDK_ARG_INT) {
    *out = &a->u.i;
    *count = 1;
    return true;
  }
  return false;
}

/* ---- graph facts and the matcher (npu_sim_match.c) ------------------------- */

/* What the matcher knows about a graph beyond one node. */
typedef struct npu_facts {
  const ddk_graph_view* g;
  uint32_t* producer;  /* per value: node (index into g->nodes) or NPU_NONE */
  uint32_t* use_start; /* per value: first entry in use_node (num_values+1) */
  uint32_t* use_node;  /* node reading the value, one entry per argument */
  uint8_t* external;   /* per value: used outside g (graph output) */
  uint32_t num_uses;
} npu_facts;

/* Builds the facts of g (arrays from `a`). external marks g's outputs:
 * the program outputs in partition, the partition outputs in preprocess. */
ddk_status npu_facts_init(npu_facts* f, const ddk_graph_view* g, const ddk_allocator* a);
void npu_facts_free(npu_facts* f, const ddk_allocator* a);

/* Number of reads of value v by nodes of the graph (not counting external). */
static inline uint32_t npu_uses(const npu_facts* f, uint32_t v) {
  return f->use_start[v + 1] - f->use_start[v];
}

/* Quantisation of one activation, as the reference's kernels use it. */
typedef struct npu_qparam {
  double scale; /* float32-rounded scale */
  int32_t zp;
} npu_qparam;

/* The weights of a conv / linear layer (constants of the graph). */
typedef struct npu_weights {
  uint32_t value;   /* int8 constant, [O, I/g, kh, kw] or [O, K] */
  bool per_channel; /* scales/zps along axis 0 */
  uint32_t scales;  /* per channel: float32/float64 constant */
  uint32_t zps;     /* per channel: int32/int64 constant, or NPU_NONE */
  double scale;     /* per tensor */
  int64_t zp;       /* per tensor */
  uint32_t bias;    /* float32 constant [O] (or [1, O]), or NPU_NONE */
} npu_weights;

/* One layer: dequantize(s) -> op [-> activation] -> quantize. */
typedef struct npu_layer {
  uint32_t kind;      /* NB_LAYER_* */
  uint32_t op;        /* main op: node index into the graph */
  uint32_t act;       /* fused activation node, or NPU_NONE */
  uint32_t q;         /* the quantize node */
  uint32_t dq[2];     /* dequantize nodes of the activations */
  uint32_t num_dq;    /* 1, or 2 for an add of two distinct dequantizes */
  uint32_t wnodes[2]; /* weight nodes (dequantize, permute) or NPU_NONE */
  uint32_t in[2];     /* int8 values read (in[1] of add; == in[0] for x+x) */
  uint32_t out;       /* int8 value written (the quantize's output) */
  npu_qparam x[2];    /* input quantisation */
  double y_scale;     /* output scale (float64 as given) */
  float y_inv;        /* f32(1 / y_scale), as the reference's quantize */
  int32_t zy, qmin, qmax;
  double act_lo, act_hi; /* activation bounds (float32 values), +-inf */
  bool has_act;
  int64_t divisor; /* avg pool: divisor_override (NB_LF_DIVISOR_OVERRIDE) */
  npu_weights w;
  nb_layer geom; /* shapes and window; the compiler fills the rest */
} npu_layer;

/* Whether node `k` is a candidate main op (conv, addmm, mm, add, pools,
 * mean, standalone activation, view). */
bool npu_is_main_op(const npu_facts* f, uint32_t k);

/*
 * Matches the pattern around main op `k` into *out and checks that the
 * layer compiles for `cfg` (npu_layer_check). On false, `why` says what
 * did not match. Does not look at the other consumers of its dequantizes
 * (the partition's fixpoint does).
 */
bool npu_match_layer(const npu_facts* f, const npu_config* cfg, uint32_t k, npu_layer* out,
                     char* why, size_t why_cap);

/* The partition entry points (vtable slots). */
ddk_status npu_partition(const ddk_backend* self, const ddk_graph_view* graph,
                         const ddk_options* options, const ddk_services* services,
                         bool* out_claimed, char* err, size_t err_cap);
ddk_status npu_partition_grouped(const ddk_backend* self, const ddk_graph_view* graph,
                                 const ddk_options* options, const ddk_services* services,
                                 bool* out_claimed, uint32_t* out_group, char* err, size_t err_cap);

/* ---- requantisation and tiling (npu_sim_tile.c) ---------------------------- */

/* Splits a positive finite ratio m into mult * 2^-shift, mult in
 * [2^30, 2^31). False for m <= 0, NaN, inf or m >= 2^62. */
bool npu_multiplier(double m, int32_t* mult, int32_t* shift);

/* The reference's quantize of a float32 value v (nearbyintf(v * inv) + zp,
 * clamped to [qmin, qmax], all in float32). v may be +-inf. */
int32_t npu_quantize_ref(float v, float inv, int32_t zp, int32_t qmin, int32_t qmax);

/* The per-channel constants of channel c of a conv/linear layer (reads
 * the weight scales, zero points and bias from the graph). False, with a
 * reason, when they are out of the datapath's range. */
bool npu_chan_const(const ddk_graph_view* g, const npu_layer* L, uint32_t c, nb_chan* out,
                    char* why, size_t why_cap);

/* The divisor-table entry of divisor d (avg pool, mean). */
bool npu_div_const(const npu_layer* L, int64_t d, nb_div* out);

/*
 * Fills the requantisation fields of L->geom (zero points, clamp,
 * multipliers, table length, macs) and checks the layer against cfg:
 * allow-list, accumulator range, requantisation ranges, and that a tile
 * fits the SRAM. The ONE "would this layer compile" test.
 */
bool npu_layer_check(const ddk_graph_view* g, const npu_config* cfg, npu_layer* L, char* why,
                     size_t why_cap);

/* One layer's tiling. */
typedef struct npu_tiling {
  uint32_t tc;                                     /* output channels (features) per tile */
  uint32_t tr;                                     /* output rows (batch rows, elements) per tile */
  bool weights_outer;                              /* loop order: channel tiles outermost */
  bool double_buffered;                            /* two buffer sets */
  uint32_t off_in, off_in2, off_w, off_c, off_out; /* within a set */
  uint32_t set_bytes;                              /* one buffer set */
  uint64_t sram_used;                              /* set_bytes, times two when double buffered */
  uint32_t tiles;
  uint64_t dma_bytes;
} npu_tiling;

/* Chooses the tiling of layer L (geometry and consts_bytes filled) that
 * moves the fewest DMA bytes among those that fit cfg->sram_bytes, double
 * buffered when two sets fit. False when not even the smallest tile fits. */
bool npu_tile_choose(const npu_config* cfg, const nb_layer* L, npu_tiling* out);

/*
 * Emits the command stream of layer `index` (LAYER_BEGIN .. LAYER_END)
 * into cmds[*count ...] (cmds NULL: counts only), advancing *count, and
 * adds the DMA bytes to *dma_bytes. L's DRAM offsets must be set.
 */
void npu_schedule(const nb_layer* L, const npu_tiling* t, uint32_t index, nb_cmd* cmds,
                  uint64_t* count, uint64_t* dma_bytes);

/* The preprocess entry point (npu_sim_compile.c). */
ddk_status npu_preprocess(const ddk_backend* self, const ddk_graph_view* subgraph,
                          const ddk_options* options, const ddk_services* services,
                          ddk_blob* out_blob, char* err, size_t err_cap);

/* ---- kernels (npu_sim_kernels.c) ------------------------------------------ */

/* round_half_even(v / 2^shift) for shift in 1..126, saturated to int32. */
int32_t npu_round_shift(npu_i128 v, int32_t shift);

/* Requantises a conv/linear accumulator with its channel constants. */
int8_t npu_requant_acc(int32_t acc, const nb_chan* ch, int32_t zy, int32_t lo, int32_t hi);

/* Checks that a compute command of layer L stays inside its layer and the
 * SRAM (what the kernel will touch); false with a reason. */
bool npu_compute_check(const nb_layer* L, const nb_compute* t, uint64_t sram_bytes, char* why,
                       size_t why_cap);

/* Bytes of the input / weight / consts / output tiles a compute reads or
 * writes (0 when none): the regions npu_compute_check bounds. */
void npu_compute_extent(const nb_layer* L, const nb_compute* t, uint64_t* in, uint64_t* in2,
                        uint64_t* w, uint64_t* c, uint64_t* out);

/* The emulator's working memory beside the SRAM: the MAC array's
 * accumulators and its operand (patch) matrix. */
typedef struct npu_scratch {
  int32_t* acc;
  int16_t* patch;
} npu_scratch;

/* Elements of acc / patch one compute command needs. */
void npu_scratch_need(const nb_layer* L, const nb_compute* t, uint64_t* acc, uint64_t* patch);

/* Runs one compute command on the SRAM (checked beforehand) with scratch
 * sized by npu_scratch_need. */
void npu_compute(const nb_layer* L, const nb_compute* t, uint8_t* sram, npu_scratch* s);

/* Compute cycles of one tile under the cost model. */
uint64_t npu_compute_cycles(const nb_layer* L, const nb_compute* t, uint32_t mac_rows,
                            uint32_t mac_cols);

/* DMA cycles of one descriptor: setup + ceil(bytes / bandwidth). */
uint64_t npu_dma_cycles(const nb_dma* d, uint32_t dma_bytes_per_cycle);

#define NPU_DMA_SETUP_CYCLES 64u
#define NPU_PIPELINE_FILL_CYCLES 16u

#endif /* DDK_NPU_SIM_INTERNAL_H_ */
