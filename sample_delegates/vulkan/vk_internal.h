/*
 * vk_internal.h — what the parts of the Vulkan delegate share.
 *
 *   vk_rules.c     the per-node rules of elementwise and movement ops and
 *                  `partition` (one place decides whether a node runs here,
 *                  so partition and preprocess agree); strided views
 *   vk_rules_nn.c  the rules of GEMM, convolution, pooling, reductions,
 *                  softmax, norms, upsample, embedding
 *   vk_compile.c   `preprocess`: partition -> blob (vk_blob.h): tensors,
 *                  constant folding, the fp16-storage boundary, liveness
 *   vk_lower.c     per-op lowering of elementwise and movement ops
 *   vk_lower_nn.c  per-op lowering of the vk_rules_nn.c ops (+ fusion)
 *   vk_device.c    the Vulkan loader (dlopen), device selection, `query`
 *   vk_memory.c    storage plan, device memory, staging, constant upload
 *   vk_runtime.c   `init`, `execute`, `destroy`, profiling; the vtable
 *   shaders/       GLSL templates + gen_shaders.py (-> vk_kernels.h/.c)
 */
#ifndef DDK_VK_INTERNAL_H_
#define DDK_VK_INTERNAL_H_

#include <ddk/delegate_api.h>
#include <ddk/op_ids.h>
#include <stdbool.h>
#include <stdint.h>

#include "vk_blob.h"
#include "vk_kernels.h"

#define VK_COMPAT_PREFIX "vulkan:fmt=1"
/* Highest rank a kernel addresses after coalescing (push-constant room). */
#define VK_KERNEL_DIMS 6u

/* Formats a message into err (vsnprintf). */
void vk_errorf(char* err, size_t err_cap, const char* fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- node arguments ------------------------------------------------------- */

/* The tensor argument i of n, or DDK_NO_VALUE (absent or not a tensor). */
static inline uint32_t va_tensor(const ddk_node_view* n, uint32_t i) {
  if (i >= n->num_args || n->args[i].kind != DDK_ARG_TENSOR) return DDK_NO_VALUE;
  return n->args[i].u.tensor;
}

static inline bool va_is_none(const ddk_node_view* n, uint32_t i) {
  return i >= n->num_args || n->args[i].kind == DDK_ARG_NONE;
}

/* A number argument (INT, FLOAT or BOOL) as a double. */
static inline bool va_number(const ddk_node_view* n, uint32_t i, double* out) {
  if (i >= n->num_args) return false;
  const ddk_arg* a = &n->args[i];
  if (a->kind == DDK_ARG_INT)
    *out = (double)a->u.i;
  else if (a->kind == DDK_ARG_FLOAT)
    *out = a->u.f;
  else if (a->kind == DDK_ARG_BOOL)
    *out = a->u.b ? 1.0 : 0.0;
  else
    return false;
  return true;
}

static inline bool va_int(const ddk_node_view* n, uint32_t i, int64_t* out) {
  if (i >= n->num_args) return false;
  const ddk_arg* a = &n->args[i];
  if (a->kind == DDK_ARG_INT || a->kind == DDK_ARG_DTYPE)
    *out = a->u.i;
  else if (a->kind == DDK_ARG_BOOL)
    *out = a->u.b;
  else
    return false;
  return true;
}

static inline bool va_bool(const ddk_node_view* n, uint32_t i, bool* out) {
  if (i >= n->num_args) return false;
  const ddk_arg* a = &n->args[i];
  if (a->kind == DDK_ARG_BOOL)
    *out = a->u.b;
  else if (a->kind == DDK_ARG_INT)
    *out = a->u.i != 0;
  else
    return false;
  return true;
}

/* An int list argument (a single INT counts as a list of one). */
static inline bool va_ints(const ddk_node_view* n, uint32_t i, const int64_t** out,
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

/* ---- strided views ---------------------------------------------------------- */

/* Up to four operands walked over one index space (an output's dims):
 * element (i0..ik) of operand j is at base[j] + sum i_d * stride[j][d]. */
typedef struct vk_view {
  uint32_t rank;
  uint32_t num_operands;
  int64_t size[DDK_MAX_RANK];
  int64_t stride[4][DDK_MAX_RANK];
  int64_t base[4];
} vk_view;

/* Drops size-1 dims and merges dims that every operand walks contiguously
 * (the inner one's stride times its size is the outer one's stride). */
void vk_view_coalesce(vk_view* v);

/* Number of elements of the view's index space. */
int64_t vk_view_numel(const vk_view* v);

/* Operand `j` of v: value `t` read with broadcasting to the view's sizes
 * (aligned at the innermost dim; size-1 dims get stride 0). */
void vk_view_set_broadcast(vk_view* v, uint32_t j, const ddk_tensor* t);

/* ---- graph facts and rules (vk_rules.c) ---------------------------------- */

typedef struct vk_graph_facts {
  const ddk_graph_view* g;
  uint8_t* const_derived; /* per value: computed from constants only */
  uint32_t* producer;     /* per value: producing node index or DDK_NO_VALUE */
  uint32_t* uses;         /* per value: reading args, +1 if a graph output */
  bool f16;               /* float16 values are claimed too (vulkan.fp16) */
} vk_graph_facts;

typedef enum vk_role {
  VK_ROLE_NONE = 0, /* not run here */
  VK_ROLE_FOLD,     /* constant-derived data movement: folded at preprocess */
  VK_ROLE_VIEW,     /* a reshape of contiguous data: storage shared */
  VK_ROLE_OP,       /* one or more dispatches */
} vk_role;

bool vk_facts_init(vk_graph_facts* f, const ddk_graph_view* g, const ddk_allocator* a);
void vk_facts_free(vk_graph_facts* f, const ddk_allocator* a);

/* The role of node n (the rule alone, before partition's fixpoint). */
vk_role vk_node_rule(const vk_graph_facts* f, const ddk_node_view* n);

/* True when the value is float32, static, dense, rank <= 8. */
bool vk_value_f32(const ddk_value_desc* v);

/* vk_value_f32, or the same for float16 when `f16`. */
bool vk_value_float(const ddk_value_desc* v, bool f16);

/* vk_value_float of value v of f's graph (false for DDK_NO_VALUE). */
bool vk_is_float(const vk_graph_facts* f, uint32_t v);

/* n has an output 0 and it is vk_is_float. */
bool vk_out_float(const vk_graph_facts* f, const ddk_node_view* n);

/* Optional number argument i of n (absent: `fallback`); false when
 * present but not a number. */
bool vk_opt_number(const ddk_node_view* n, uint32_t i, double fallback, double* out);

/* The rules of the linear-algebra, pooling, reduction and normalisation
 * ops (vk_rules_nn.c): false when n is none of them, else *ok says
 * whether this node runs here. */
bool vk_rule_nn(const vk_graph_facts* f, const ddk_node_view* n, bool* ok);

/* The reduced dims of a reduction node as a bit mask over the input's
 * dims, and keepdim; false when the arguments are not understood. */
bool vk_reduce_dims(const ddk_node_view* n, uint32_t rank, uint32_t* mask, bool* keepdim);

/* True when t's dim_order is 0..rank-1 (row-major). */
bool vk_contiguous(const ddk_tensor* t);

/* Movement ops (permute, expand, slice, select, squeeze, unsqueeze, view
 * of contiguous data, clone, alias, _to_copy): the strided view reading
 * n's input x for each element of its output o. False when n is not one. */
bool vk_movement_view(const ddk_node_view* n, const ddk_tensor* x, const ddk_tensor* o,
                      vk_view* out);

/* The copy of t (operand 0, its own strides) into row-major order
 * (operand 1), coalesced; false when it needs more than the kernels'
 * dims. */
bool vk_gather_view(const ddk_tensor* t, vk_view* v);

ddk_status vk_partition(const ddk_backend* self, const ddk_graph_view* graph,
                        const ddk_options* options, const ddk_services* services, bool* out_claimed,
                        char* err, size_t err_cap);

/* ---- compile (vk_compile.c, vk_lower.c) ------------------------------------ */

/* Storage type of a tensor inside a partition. */
typedef enum vk_stype { VK_S32 = 0, VK_S16 = 1 } vk_stype;

/* The compiler's state while building one blob. */
typedef struct vkc {
  const ddk_graph_view* g;
  const vk_graph_facts* f;
  const ddk_allocator* a;
  bool f16_storage;    /* float32 values held as float16 inside */
  vk_stype node_stype; /* storage type of the node being lowered */
  vkb_tensor* tensors;
  uint8_t* tensor_stype; /* per tensor: vk_stype */
  uint32_t num_tensors, cap_tensors;
  vkb_dispatch* ds;
  uint32_t num_ds, cap_ds;
  uint8_t* data; /* constants, then names */
  size_t data_size, data_cap;
  uint32_t* value_tensor;    /* per value: tensor holding it (compute storage) */
  uint32_t* ext_tensor;      /* per value: its external input tensor, or VKB_NONE */
  float** fold;              /* per value: host data of a folded value, or NULL */
  uint8_t* done;             /* per node: fused into an earlier node's dispatch */
  const ddk_node_view* node; /* the node being lowered */
  uint32_t name_offset;      /* its name in the data segment */
  char* err;
  size_t err_cap;
} vkc;

/* A new internal tensor of `numel` elements in the compute storage type. */
ddk_status vkc_new_tensor(vkc* c, int64_t numel, uint32_t* out_id);

/* A new constant tensor from float32 data (converted to the compute
 * storage type). */
ddk_status vkc_const_f32(vkc* c, const float* data, int64_t numel, uint32_t* out_id);

/* The tensor holding value v (inputs converted at first use in fp16 mode;
 * constants uploaded). */
ddk_status vkc_value(vkc* c, uint32_t v, uint32_t* out_id);

/* The tensor an op writes value v into (created on first call). */
ddk_status vkc_output(vkc* c, uint32_t v, uint32_t* out_id);

/* As vkc_output, for a value of another dtype: `bytes` of raw storage. */
ddk_status vkc_output_bytes(vkc* c, uint32_t v, uint64_t bytes, uint32_t* out_id);

/* Appends a dispatch of `kernel` (its float16 variant in fp16 mode when
 * `typed`) for the current node. */
ddk_status vkc_dispatch(vkc* c, uint32_t kernel, bool typed, const uint32_t* bindings,
                        uint32_t num_bindings, const uint32_t work[3], const uint32_t* push,
                        uint32_t num_push, uint64_t flops, uint64_t bytes);

/* Lowers one claimed node (VK_ROLE_OP or VK_ROLE_VIEW). */
ddk_status vk_lower_node(vkc* c, const ddk_node_view* n);

ddk_status vk_preprocess(const ddk_backend* self, const ddk_graph_view* subgraph,
                         const ddk_options* options, const ddk_services* services,
                         ddk_blob* out_blob, char* err, size_t err_cap);

/* IEEE float32 -> float16 bits, round to nearest even. */
uint16_t vk_f32_to_f16(float f);

/* float16 bits -> float32 (exact). */
float vk_f16_to_f32(uint16_t h);

/* ---- device and query (vk_device.c) ---------------------------------------- */

ddk_status vk_query(const ddk_backend* self, const ddk_options* options, ddk_backend_info* out_info,
                    char* err, size_t err_cap);

#endif /* DDK_VK_INTERNAL_H_ */
