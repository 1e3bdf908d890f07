/*
 * npu_sim_blob.h — the command-stream blob preprocess writes and init
 * reads: the contract between the npu_sim compiler and the emulated
 * device.
 *
 * All fields are little-endian and fixed-size; every offset is in bytes
 * from the start of the blob; every section starts 64-byte aligned. Layout:
 *
 *   header   nb_header                       (header_size bytes)
 *   io       num_inputs + num_outputs x nb_io (inputs first, execute order)
 *   layers   num_layers x nb_layer            (in execution order)
 *   cmds     num_cmds x nb_cmd                (the command stream)
 *   weights  weights_bytes                    (copied to DRAM at init)
 *
 * The device ("DRAM", dram_bytes, allocated at init) holds the weights
 * region at weights_dram and every activation tensor (int8, NCHW
 * contiguous, as on the host) at the offsets the compiler planned. The
 * on-chip SRAM (sram_bytes) is the only memory compute commands touch;
 * DMA commands move bytes between DRAM and SRAM.
 *
 * init checks everything here before use: magic, format (a newer one is
 * refused), the hardware configuration against the device's, every
 * section and DRAM/SRAM range, and each command against its layer. A blob
 * that fails a check is refused with DDK_INCOMPATIBLE_BLOB (or
 * DDK_INVALID_ARGUMENT) and a message saying what and where.
 */
#ifndef DDK_NPU_SIM_BLOB_H_
#define DDK_NPU_SIM_BLOB_H_

#include <stdint.h>

#define NB_MAGIC "NPUS"
#define NB_FORMAT 1u /* this runtime's format; a larger one is refused */
#define NB_ALIGN 64u /* section, DRAM tensor and SRAM buffer alignment */
#define NB_MAX_RANK 4u
#define NB_MAX_IO 4096u
#define NB_MAX_LAYERS 65536u
#define NB_MAX_CMDS (1u << 26)
#define NB_NAME_CAP 40u

typedef struct nb_header {
  char magic[4];        /* "NPUS" */
  uint32_t format;      /* NB_FORMAT */
  uint32_t header_size; /* sizeof(nb_header) as written */
  /* the hardware configuration the stream was compiled for: init refuses
   * the blob unless the device (init options) has exactly this */
  uint32_t revision;
  uint32_t mac_rows;            /* output channels per cycle */
  uint32_t mac_cols;            /* input channels per cycle (vector lanes) */
  uint32_t dma_bytes_per_cycle; /* DMA bandwidth */
  uint32_t num_inputs;          /* partition inputs (execute order) */
  uint32_t num_outputs;         /* partition outputs (execute order) */
  uint32_t num_layers;
  uint64_t sram_bytes;    /* on-chip SRAM size compiled for */
  uint64_t num_cmds;      /* commands in the stream */
  uint64_t dram_bytes;    /* device memory the program needs */
  uint64_t weights_dram;  /* DRAM offset of the weights region */
  uint64_t weights_bytes; /* its size (also the weights section's size) */
  uint64_t io_offset;     /* sections, from the blob start */
  uint64_t layers_offset;
  uint64_t cmds_offset;
  uint64_t weights_offset;
  uint64_t blob_bytes; /* total size of the blob */
} nb_header;

/* One partition input or output: an int8 tensor, NCHW contiguous. */
typedef struct nb_io {
  uint64_t dram;  /* DRAM offset of its bytes */
  uint64_t bytes; /* numel (int8) */
  int32_t dtype;  /* DDK_DTYPE_INT8 */
  uint32_t rank;  /* 1..NB_MAX_RANK */
  int64_t sizes[NB_MAX_RANK];
  double scale;       /* its quantisation (informational) */
  int32_t zero_point; /* (informational) */
  uint32_t value;     /* program value index (informational) */
} nb_io;

/* Layer kinds (nb_layer.kind); npu_sim.ops names them. */
enum {
  NB_LAYER_CONV2D = 1,   /* convolution, groups >= 1 */
  NB_LAYER_DWCONV2D = 2, /* convolution with groups == C_in == C_out */
  NB_LAYER_LINEAR = 3,   /* x[N,K] . W[O,K]^T + bias */
  NB_LAYER_ADD = 4,      /* a + b, same shapes */
  NB_LAYER_MAXPOOL = 5,  /* max_pool2d */
  NB_LAYER_AVGPOOL = 6,  /* avg_pool2d */
  NB_LAYER_MEAN = 7,     /* mean over H, W (and 1x1 adaptive avg pool) */
  NB_LAYER_RELU = 8,     /* standalone relu / hardtanh / clamp */
  NB_LAYER_RESHAPE = 9,  /* view: a copy in NCHW order, requantised */
  NB_LAYER_KIND_END_
};

/* nb_layer.flags */
enum {
  NB_LF_COUNT_INCLUDE_PAD = 1u << 0, /* avg pool divisor counts padding */
  NB_LF_DIVISOR_OVERRIDE = 1u << 1,  /* avg pool divisor is fixed (table[0]) */
};

/*
 * One layer: what the compute commands of the layer need, plus a summary
 * of its schedule for profiling.
 *
 * Shapes (NCHW): conv/pool/mean read input [n, c, h, w] and write
 * [n, oc, oh, ow]; linear reads [n, c] (c = K) and writes [n, oc];
 * add/relu/reshape are flat: n = c = h = oc = oh = 1, w = ow = numel.
 *
 * Requantisation: a real multiplier r is held as mult * 2^-shift with mult
 * in [2^30, 2^31). Conv and linear keep one (mult, shift, bias) per output
 * channel in the consts region (nb_chan). add uses m0 (input 0) and m1
 * (input 1) on one common `shift`; max pool, relu and reshape use m0 and
 * `shift`; avg pool and mean use the divisor table in the consts region
 * (nb_div entries; entry d-1 for divisor d, or entry 0 under
 * NB_LF_DIVISOR_OVERRIDE).
 */
typedef struct nb_layer {
  uint32_t kind;          /* NB_LAYER_* */
  uint32_t node_index;    /* program node index of the main op (profiling) */
  char name[NB_NAME_CAP]; /* main op's debug name, NUL-terminated */
  uint64_t macs;          /* multiply-accumulates (vector ops: element operations) */
  uint32_t n, c, h, w;    /* input 0 */
  uint32_t oc, oh, ow;    /* output */
  uint32_t groups;        /* convolution groups (others 1) */
  uint32_t kh, kw;        /* window */
  uint32_t sh, sw;        /* stride */
  uint32_t ph, pw;        /* padding (top = bottom, left = right) */
  uint32_t dh, dw;        /* dilation */
  uint32_t flags;         /* NB_LF_* */
  uint32_t table_len;     /* entries of the divisor table (avg pool, mean) */
  int32_t zx, zx2, zy;    /* zero points of input 0, input 1, output */
  int32_t lo, hi;         /* output clamp (activation and quant range) */
  int32_t m0, m1;         /* multipliers (see above) */
  int32_t shift;          /* their shift, 1..126 */
  uint32_t reserved;
  uint64_t in0, in1, out; /* DRAM offsets of input 0, input 1, output */
  uint64_t wts;           /* DRAM offset of the int8 weights (conv, linear) */
  uint64_t wts_bytes;
  uint64_t consts; /* DRAM offset of nb_chan[oc] or the nb_div table */
  uint64_t consts_bytes;
  uint32_t tiles;           /* compute commands of the layer */
  uint32_t double_buffered; /* 1: two SRAM buffer sets, DMA overlaps compute */
  uint64_t sram_used;       /* SRAM bytes the schedule uses */
} nb_layer;

/* Per output channel of a conv / linear layer (16 bytes, in DRAM/SRAM):
 * y = clamp(rhe(((acc << 16) + bias) * mult / 2^(shift + 16)) + zy, lo, hi)
 * with acc = sum (x - zx) * (w - wzp). */
typedef struct nb_chan {
  int32_t mult;  /* in [2^30, 2^31) */
  int16_t shift; /* -15..110; the applied shift + 16 is capped at 126 */
  int16_t wzp;   /* weight zero point of this channel */
  int64_t bias;  /* round(bias / (sx * sw) * 2^16) */
} nb_chan;

/* One divisor's requantisation (avg pool, mean): 8 bytes. */
typedef struct nb_div {
  int32_t mult;  /* sx / (sy * d) = mult * 2^-shift */
  int32_t shift; /* 1..126 */
} nb_div;

/* Commands (nb_cmd.op). */
enum {
  NB_CMD_LAYER_BEGIN = 1, /* start of layer `layer` (profiling mark) */
  NB_CMD_LAYER_END = 2,   /* end of layer `layer` */
  NB_CMD_DMA_IN = 3,      /* DRAM -> SRAM (u.dma) */
  NB_CMD_DMA_OUT = 4,     /* SRAM -> DRAM (u.dma) */
  NB_CMD_COMPUTE = 5,     /* one tile of layer `layer` (u.tile) */
  NB_CMD_END_
};

/*
 * A strided DMA descriptor: count[0] x count[1] rows of count[2] bytes.
 * The DRAM side starts at `dram` with byte strides stride[0] (outer) and
 * stride[1] (middle); the SRAM side is packed (row after row) from `sram`.
 */
typedef struct nb_dma {
  uint64_t dram;
  uint64_t stride[2];
  uint32_t count[3];
  uint32_t sram;
} nb_dma;

/*
 * One compute tile. conv/pool: image n, output channels [c0, c0+nc),
 * output rows [r0, r0+nr) (all columns), from input channels
 * [ci0, ci0+nci) and rows [ir0, ir0+nir) held at sram_in as
 * [nci][nir][w]; output held at sram_out as [nc][nr][ow]. linear: rows
 * (batch) [r0, r0+nr), features [c0, c0+nc); input [nr][c] at sram_in,
 * output [nr][nc]. mean: image n, channels [c0, c0+nc), input [nc][h*w],
 * output [nc]. add/relu/reshape: elements [r0, r0+nr) (sram_in2: input 1
 * of add). Weights [nc][...] at sram_w, constants (nb_chan[nc] or the
 * nb_div table) at sram_c.
 */
typedef struct nb_compute {
  uint32_t n, c0, nc, r0, nr;
  uint32_t ci0, nci, ir0, nir;
  uint32_t sram_in, sram_in2, sram_w, sram_c, sram_out;
} nb_compute;

typedef struct nb_cmd {
  uint32_t op;    /* NB_CMD_* */
  uint32_t layer; /* layer index */
  uint32_t tile;  /* tile of the layer this DMA or compute serves */
  uint32_t reserved;
  union {
    nb_dma dma;
    nb_compute tile;
  } u;
} nb_cmd;

_Static_assert(sizeof(nb_header) == 120, "nb_header layout");
_Static_assert(sizeof(nb_io) == 72, "nb_io layout");
_Static_assert(sizeof(nb_chan) == 16, "nb_chan layout");
_Static_assert(sizeof(nb_div) == 8, "nb_div layout");
_Static_assert(sizeof(nb_cmd) == 72, "nb_cmd layout");

#endif /* DDK_NPU_SIM_BLOB_H_ */
