/*
 * vk_blob.h — the compiled partition: what preprocess writes and init reads.
 *
 * preprocess decides everything that does not depend on the device: which
 * kernel runs each step, the tensors it binds, its push constants (sizes,
 * strides, parameters) and its work sizes; weights folded and laid out.
 * init decides what does (memory types and offsets, workgroup counts from
 * the device's limits, tile configurations) and records the command
 * buffer. All fields are little-endian and fixed-size; offsets are from
 * the start of the blob.
 *
 *   header      vkb_header
 *   tensors     num_tensors x vkb_tensor
 *   externals   (num_inputs + num_outputs) x vkb_external: inputs, outputs
 *   dispatches  num_dispatches x vkb_dispatch
 *   data        constants, then NUL-terminated op names; 64-byte aligned
 *
 * init copies what it keeps (constants go to device memory at once), so
 * the blob is releasable after init.
 */
#ifndef DDK_VK_BLOB_H_
#define DDK_VK_BLOB_H_

#include <stdint.h>

#define VKB_MAGIC "VKDB"
#define VKB_FORMAT 1u
#define VKB_ALIGN 64u
#define VKB_MAX_BINDINGS 6u
#define VKB_PUSH_WORDS 32u /* 128 bytes: Vulkan's guaranteed minimum */
#define VKB_NONE UINT32_MAX

/* vkb_header.flags */
enum {
  VKB_FLAG_FP16 = 1u << 0, /* float16 storage inside: needs 16-bit storage */
};

typedef struct vkb_header {
  char magic[4];
  uint32_t format;
  uint32_t kernel_hash; /* VK_KERNEL_TABLE_HASH of the compiling plugin */
  uint32_t flags;       /* VKB_FLAG_* */
  uint32_t num_tensors;
  uint32_t num_dispatches;
  uint32_t num_inputs;
  uint32_t num_outputs;
  uint64_t data_offset; /* start of the data segment */
  uint64_t data_size;
} vkb_header;

/* Where a tensor's bytes live. */
enum {
  VKB_T_INTERNAL = 0, /* produced and consumed inside; storage reusable
                         outside [first, last] */
  VKB_T_CONSTANT = 1, /* data_offset: uploaded once at init */
  VKB_T_EXTERNAL = 2, /* an execute input or output: own storage */
  VKB_T_ALIAS = 3,    /* shares alias_of's storage (a view) */
};

typedef struct vkb_tensor {
  uint32_t kind;        /* VKB_T_* */
  uint32_t alias_of;    /* VKB_T_ALIAS: the tensor whose storage it shares */
  uint64_t bytes;       /* storage size (the runtime rounds up to 4, min 4) */
  uint64_t data_offset; /* VKB_T_CONSTANT: relative to header.data_offset */
  uint32_t first, last; /* VKB_T_INTERNAL: dispatches using the storage */
} vkb_tensor;

/* One execute input or output: the tensor and what the caller must pass. */
typedef struct vkb_external {
  uint32_t tensor; /* its storage (any kind but INTERNAL) */
  int32_t dtype;   /* ddk_dtype of the caller's tensor */
  uint32_t rank;
  uint32_t reserved;
  int64_t sizes[8];
  int64_t strides[8];
} vkb_external;

typedef struct vkb_dispatch {
  uint32_t kernel;                     /* vk_kernel_id */
  uint32_t node_index;                 /* program node it computes (profiling) */
  uint32_t name_offset;                /* op name, relative to the data segment */
  uint32_t num_bindings;               /* must equal the kernel's */
  uint32_t bindings[VKB_MAX_BINDINGS]; /* tensor ids */
  uint32_t work[3];                    /* work sizes; meaning per the kernel's grid class */
  uint32_t num_push;                   /* push-constant words used */
  uint32_t push[VKB_PUSH_WORDS];
  uint64_t flops; /* for profiling events; 0 when not counted */
  uint64_t bytes;
} vkb_dispatch;

#endif /* DDK_VK_BLOB_H_ */
