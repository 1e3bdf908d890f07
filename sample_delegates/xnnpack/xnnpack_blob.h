/*
 * xnnpack_blob.h — the compact description preprocess writes and init reads.
 *
 * preprocess does every ATen-to-XNNPACK decision (layouts, weight
 * transposition, constant folding, int8 pattern fusion); the blob is the
 * result, close to the xnn_define_* calls init replays. All fields are
 * little-endian and fixed-size; offsets are from the start of the blob.
 *
 *   header  xb_header
 *   values  num_values x xb_value   (value i becomes XNNPACK value id i)
 *   ops     num_ops x xb_op: the XNNPACK ops in execution order, then one
 *           XB_OP_ABSORBED record per partition node that has no op of its
 *           own (format 2; the per-node profiler reports those nodes)
 *   data    static tensor data and per-channel scales, 64-byte aligned
 *
 * init keeps pointers into the blob's data (XNNPACK requires static data
 * to outlive the runtime), so the blob is not releasable.
 */
#ifndef DDK_XNNPACK_BLOB_H_
#define DDK_XNNPACK_BLOB_H_

#include <stdint.h>

#define XB_MAGIC "XNNB"
#define XB_FORMAT 2u /* 2: XB_OP_ABSORBED records; init still reads 1 */
#define XB_MAX_DIMS 6u
#define XB_ALIGN 64u

/* Element types (they match enum xnn_datatype's values in the 2022 API). */
enum {
  XB_FP32 = 1,
  XB_QINT8 = 3,   /* per-tensor scale / zero point */
  XB_QINT32 = 5,  /* per-tensor (bias of a per-tensor int8 op) */
  XB_QCINT8 = 6,  /* per-channel scales, zero point 0 */
  XB_QCINT32 = 7, /* per-channel int32 bias */
};

/* xb_value.flags */
enum {
  XB_EXTERNAL_INPUT = 1u << 0,  /* ext_index: the execute input */
  XB_EXTERNAL_OUTPUT = 1u << 1, /* ext_index: the execute output */
  XB_STATIC = 1u << 2,          /* data_offset: the bytes */
  XB_NHWC = 1u << 3, /* a 4-D DDK (NCHW) tensor held as NHWC: execute
                        converts it at the boundary */
};

typedef struct xb_header {
  char magic[4];
  uint32_t format;
  uint32_t num_values;
  uint32_t num_ops;
  uint32_t num_inputs;
  uint32_t num_outputs;
  uint64_t data_offset; /* start of the data segment */
  uint64_t data_size;
} xb_header;

typedef struct xb_value {
  uint32_t datatype; /* XB_FP32, ... */
  uint32_t rank;
  uint64_t dims[XB_MAX_DIMS]; /* XNNPACK's dims (NHWC when XB_NHWC) */
  uint32_t flags;             /* XB_* */
  uint32_t ext_index;
  int32_t zero_point;
  float scale;
  uint32_t channel_dim;
  uint32_t reserved;
  uint64_t data_offset;   /* XB_STATIC: relative to header.data_offset */
  uint64_t scales_offset; /* XB_QCINT*: dims[channel_dim] floats */
} xb_value;

/* Operations: one per xnn_define_* call. */
enum {
  XB_OP_CONV2D = 1,     /* in0 input, in1 filter (OHWI), in2 bias or NONE */
  XB_OP_DECONV2D,       /* as CONV2D; p[12..13] adjustment h, w */
  XB_OP_FULLY_CONNECTED, /* in0 input, in1 filter [out,in], in2 bias/NONE */
  XB_OP_ADD,
  XB_OP_SUBTRACT,
  XB_OP_MULTIPLY,
  XB_OP_DIVIDE,
  XB_OP_CLAMP,
  XB_OP_SIGMOID,
  XB_OP_HARDSWISH,
  XB_OP_LEAKY_RELU,     /* f[0] negative slope */
  XB_OP_ELU,            /* f[0] alpha */
  XB_OP_ABS,
  XB_OP_NEGATE,
  XB_OP_FLOOR,
  XB_OP_CEILING,
  XB_OP_SQUARE_ROOT,
  XB_OP_ROUND,          /* bankers rounding */
  XB_OP_MAX_POOL2D,
  XB_OP_AVG_POOL2D,
  XB_OP_GLOBAL_AVG_POOL2D,
  XB_OP_SOFTMAX,
  XB_OP_CONSTANT_PAD,   /* p[0..5] pre, p[6..11] post, f[0] value */
  XB_OP_RESHAPE,        /* output dims are the output value's dims */
  XB_OP_RESIZE_BILINEAR, /* p[0] height, p[1] width, p[2] align_corners */
  XB_OP_CONVERT,
  XB_OP_ABSORBED, /* no XNNPACK op (format 2): node node_index's work is done
                     at preprocess or inside the op of program node p[0]
                     (XB_NONE: none); p[1] says how (XB_ABSORB_*). No
                     inputs, output XB_NONE; always after the real ops. */
  XB_OP_COUNT_
};

/* XB_OP_ABSORBED p[1] */
enum {
  XB_ABSORB_FOLDED = 1, /* folded into constants at preprocess (a weight
                           transform, a batch norm into a filter) */
  XB_ABSORB_FUSED = 2,  /* runs inside p[0]'s op (int8 q/dq, activation) */
};

#define XB_NONE UINT32_MAX

/*
 * p[] for CONV2D / DECONV2D: 0..3 padding top, right, bottom, left;
 * 4..5 kernel h, w; 6..7 stride h, w; 8..9 dilation h, w; 10 groups;
 * 11 group input channels; 12 group output channels; 13..14 adjustment
 * h, w (DECONV2D).
 * p[] for MAX_POOL2D / AVG_POOL2D: 0..3 padding; 4..5 pool h, w;
 * 6..7 stride h, w; 8..9 dilation h, w (max only).
 */
typedef struct xb_op {
  uint32_t kind;
  uint32_t num_inputs;
  uint32_t inputs[3];
  uint32_t output;
  uint32_t node_index; /* the program node it came from (profiling) */
  uint32_t flags;      /* XNN_FLAG_* to pass through */
  float out_min, out_max;
  uint32_t p[16];
  float f[2];
} xb_op;

#endif /* DDK_XNNPACK_BLOB_H_ */
