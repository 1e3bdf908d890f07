/*
 * broken_common.h — the shared, CORRECT skeleton of the deliberately broken
 * test backends in this folder.
 *
 * Each broken_<bug>.c is a small backend with exactly ONE realistic bug; the
 * conformance suite's own tests assert that each bug is caught with the right
 * outcome. Everything the plugins have in common — claiming bookkeeping, the
 * blob, init, binding tensors in execute, destroy — lives here and is meant to
 * be correct, so that the one bug in each plugin is the only thing to catch.
 *
 * A plugin fills a bk_ops with its hooks (which nodes it claims, how it runs
 * one node, optional init/destroy extras) and writes
 *
 *   BK_DEFINE_BACKEND("broken_<bug>", my_ops)
 *
 * which defines the vtable and the exported ddk_backend_entry symbol.
 *
 * What the skeleton accepts (checked before the plugin's claim hook): nodes
 * with one output and at most BK_MAX_ARGS arguments of kinds NONE, TENSOR,
 * INT, INT_LIST (at most BK_MAX_LIST entries), FLOAT, BOOL or DTYPE, whose
 * tensors are float32 or int64, contiguous, unquantized and of static shape.
 * A partition may hold several nodes: values produced and consumed inside it
 * get scratch buffers, constants are copied into the blob.
 *
 * The blob (native endianness; written and read by the same plugin):
 *   bk_blob_header { magic "BRKN", u32 format, u32 num_slots, num_inputs,
 *                    num_outputs, num_nodes, u64 const_bytes }
 *   num_slots x bk_slot   one per value the partition touches
 *   num_nodes x bk_node   op id + arguments (tensors as slot numbers)
 *   const_bytes           constant data (bk_slot.offset into it)
 *
 * Only <ddk/delegate_api.h>, <ddk/op_ids.h> and libc are used.
 */
#ifndef BROKEN_COMMON_H_
#define BROKEN_COMMON_H_

#include <ddk/delegate_api.h>
#include <ddk/op_ids.h>
#include <string.h>

#define BK_MAX_ARGS 10
#define BK_MAX_LIST 8
#define BK_MAX_SLOTS 1024
#define BK_FORMAT 1u
#define BK_COMPAT "broken:format=1"

enum { BK_SLOT_INPUT = 0, BK_SLOT_OUTPUT = 1, BK_SLOT_SCRATCH = 2, BK_SLOT_CONSTANT = 3 };

typedef struct bk_blob_header {
  char magic[4];
  uint32_t format;
  uint32_t num_slots, num_inputs, num_outputs, num_nodes;
  uint64_t const_bytes;
} bk_blob_header;

/** One value the partition touches. */
typedef struct bk_slot {
  uint32_t kind;  /**< BK_SLOT_* */
  uint32_t index; /**< execute input/output number (INPUT, OUTPUT) */
  int32_t dtype;
  uint32_t rank;
  int64_t sizes[DDK_MAX_RANK];
  uint64_t offset; /**< CONSTANT: byte offset into the constant area */
} bk_slot;

/** One argument of a node, flattened. */
typedef struct bk_arg {
  uint32_t kind;          /**< ddk_arg_kind */
  uint32_t count;         /**< INT_LIST length */
  int64_t i[BK_MAX_LIST]; /**< INT, BOOL (0/1), DTYPE, INT_LIST; TENSOR: slot */
  double f;               /**< FLOAT */
} bk_arg;

/** One node: op id, its arguments in schema order, its output slot. */
typedef struct bk_node {
  uint32_t op_id;
  uint32_t num_args;
  uint32_t out;
  uint32_t node_index;
  bk_arg args[BK_MAX_ARGS];
} bk_node;

typedef struct ddk_delegate_handle bk_handle;

/** What a plugin supplies. */
typedef struct bk_ops {
  /** One line for query's detail. */
  const char* detail;
  /** Claims node `n` of `g` (the skeleton's own checks have passed). */
  bool (*claim)(const ddk_graph_view* g, const ddk_node_view* n);
  /** (optional) Checks one node at init; a non-OK status fails init. */
  ddk_status (*prepare)(const bk_node* node, char* err, size_t err_cap);
  /** (optional) Last step of init: may allocate and set h->user. */
  ddk_status (*on_init)(bk_handle* h, char* err, size_t err_cap);
  /** (optional) First step of destroy: frees what on_init made. */
  void (*on_destroy)(bk_handle* h);
  /** Runs one node. in[k] is the tensor of argument k, NULL when argument
   * k is not a tensor (or is an absent optional tensor). */
  ddk_status (*run)(bk_handle* h, const bk_node* node, const ddk_tensor* const* in, ddk_tensor* out,
                    char* err, size_t err_cap);
} bk_ops;

struct ddk_delegate_handle {
  const bk_ops* ops;
  ddk_services services; /**< copied at init; valid until destroy */
  size_t self_size;      /**< bytes of the one allocation holding all below */
  bk_blob_header h;
  bk_slot* slots;
  bk_node* nodes;
  ddk_tensor* own;       /**< per slot: the tensor of SCRATCH/CONSTANT slots */
  const ddk_tensor** ro; /**< per slot: bound for reading at execute */
  ddk_tensor** rw;       /**< per slot: bound for writing (NULL for inputs) */
  void* user;            /**< the plugin's own state (on_init / on_destroy) */
};

/* ---- helpers for plugins ------------------------------------------------ */

/** Value description of tensor argument k of n, or NULL. */
static inline const ddk_value_desc* bk_arg_value(const ddk_graph_view* g, const ddk_node_view* n,
                                                 uint32_t k) {
  if (k >= n->num_args || n->args[k].kind != DDK_ARG_TENSOR) return NULL;
  return &g->values[n->args[k].u.tensor];
}

/** Value description of the (one) output of n. */
static inline const ddk_value_desc* bk_out_value(const ddk_graph_view* g, const ddk_node_view* n) {
  return &g->values[n->outputs[0]];
}

static inline bool bk_is_f32(const ddk_value_desc* v) {
  return v != NULL && v->tensor.dtype == DDK_DTYPE_FLOAT32;
}

static inline bool bk_same_shape(const ddk_value_desc* a, const ddk_value_desc* b) {
  if (a->tensor.rank != b->tensor.rank) return false;
  for (uint32_t i = 0; i < a->tensor.rank; ++i)
    if (a->tensor.sizes[i] != b->tensor.sizes[i]) return false;
  return true;
}

/** True for a one-input float32 op whose output has the input's shape. */
static inline bool bk_unary_f32(const ddk_graph_view* g, const ddk_node_view* n) {
  const ddk_value_desc* x = bk_arg_value(g, n, 0);
  const ddk_value_desc* y = bk_out_value(g, n);
  return bk_is_f32(x) && bk_is_f32(y) && bk_same_shape(x, y);
}

/** True for a two-input float32 op whose operands and output share a shape. */
static inline bool bk_binary_f32_same_shape(const ddk_graph_view* g, const ddk_node_view* n) {
  const ddk_value_desc* b = bk_arg_value(g, n, 1);
  return bk_unary_f32(g, n) && bk_is_f32(b) && bk_same_shape(b, bk_out_value(g, n));
}

/** Scalar argument k as a double (INT, FLOAT or BOOL), else `fallback`. */
static inline double bk_scalar(const bk_node* node, uint32_t k, double fallback) {
  if (k >= node->num_args) return fallback;
  const bk_arg* a = &node->args[k];
  if (a->kind == DDK_ARG_FLOAT) return a->f;
  if (a->kind == DDK_ARG_INT || a->kind == DDK_ARG_BOOL) return (double)a->i[0];
  return fallback;
}

static inline size_t bk_numel(const ddk_tensor* t) {
  return (size_t)ddk_tensor_numel(t);
}

/* ---- the skeleton: checks shared by every plugin ------------------------- */

static inline bool bk_plain_value(const ddk_value_desc* v) {
  const ddk_tensor* t = &v->tensor;
  if ((t->dtype != DDK_DTYPE_FLOAT32 && t->dtype != DDK_DTYPE_INT64) || v->dynamic_mask != 0 ||
      t->quant != NULL || t->rank > DDK_MAX_RANK)
    return false;
  for (uint32_t i = 0; i < t->rank; ++i)
    if (t->dim_order[i] != i || t->sizes[i] < 0) return false;
  return true;
}

static inline bool bk_node_ok(const ddk_graph_view* g, const ddk_node_view* n) {
  if (n->num_outputs != 1 || n->num_args > BK_MAX_ARGS) return false;
  if (!bk_plain_value(&g->values[n->outputs[0]])) return false;
  for (uint32_t k = 0; k < n->num_args; ++k) {
    const ddk_arg* a = &n->args[k];
    switch (a->kind) {
      case DDK_ARG_NONE:
      case DDK_ARG_INT:
      case DDK_ARG_FLOAT:
      case DDK_ARG_BOOL:
      case DDK_ARG_DTYPE:
        break;
      case DDK_ARG_INT_LIST:
        if (a->count > BK_MAX_LIST) return false;
        break;
      case DDK_ARG_TENSOR:
        if (a->u.tensor >= g->num_values || !bk_plain_value(&g->values[a->u.tensor])) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

static inline uint64_t bk_slot_bytes(const bk_slot* s) {
  uint64_t n = ddk_dtype_size(s->dtype);
  for (uint32_t i = 0; i < s->rank; ++i) n *= (uint64_t)s->sizes[i];
  return n;
}

/* ---- partition ----------------------------------------------------------- */

static inline ddk_status bk_partition(const ddk_backend* self, const ddk_graph_view* g,
                                      const ddk_options* options, const ddk_services* services,
                                      bool* out_claimed, char* err, size_t err_cap) {
  (void)options;
  (void)services;
  (void)err;
  (void)err_cap;
  const bk_ops* ops = (const bk_ops*)self->user_data;
  for (uint32_t i = 0; i < g->num_nodes; ++i)
    out_claimed[i] = bk_node_ok(g, &g->nodes[i]) && ops->claim(g, &g->nodes[i]);
  return DDK_OK;
}

/* ---- preprocess ----------------------------------------------------------- */

typedef struct bk_compiler {
  const ddk_graph_view* g;
  bk_slot slots[BK_MAX_SLOTS];
  uint32_t value_of_slot[BK_MAX_SLOTS];
  uint32_t num_slots;
  uint64_t const_bytes;
} bk_compiler;

static inline void bk_describe(bk_slot* s, const ddk_value_desc* v, uint32_t kind, uint32_t index) {
  memset(s, 0, sizeof *s);
  s->kind = kind;
  s->index = index;
  s->dtype = v->tensor.dtype;
  s->rank = v->tensor.rank;
  for (uint32_t i = 0; i < s->rank; ++i) s->sizes[i] = v->tensor.sizes[i];
}

/* The slot of value v, making a SCRATCH or CONSTANT slot on first use. */
static inline int64_t bk_slot_for(bk_compiler* c, uint32_t v) {
  for (uint32_t s = 0; s < c->num_slots; ++s)
    if (c->value_of_slot[s] == v) return s;
  if (c->num_slots == BK_MAX_SLOTS) return -1;
  const ddk_value_desc* d = &c->g->values[v];
  bool constant = (d->flags & DDK_VALUE_CONSTANT) != 0;
  bk_slot* s = &c->slots[c->num_slots];
  bk_describe(s, d, constant ? BK_SLOT_CONSTANT : BK_SLOT_SCRATCH, 0);
  if (constant) {
    s->offset = c->const_bytes;
    c->const_bytes += (bk_slot_bytes(s) + 63) / 64 * 64;
  }
  c->value_of_slot[c->num_slots] = v;
  return c->num_slots++;
}

static inline ddk_status bk_preprocess(const ddk_backend* self, const ddk_graph_view* g,
                                       const ddk_options* options, const ddk_services* services,
                                       ddk_blob* out_blob, char* err, size_t err_cap) {
  (void)options;
  const bk_ops* ops = (const bk_ops*)self->user_data;
  const ddk_allocator* al = &services->allocator;
  if (g->num_inputs + g->num_outputs + (uint64_t)g->num_nodes * (BK_MAX_ARGS + 1) > BK_MAX_SLOTS) {
    ddk_set_error(err, err_cap, "broken: partition too large");
    return DDK_RESOURCE_EXHAUSTED;
  }
  ddk_status st = DDK_OK;
  bk_node* nodes = NULL;
  size_t nodes_size = (size_t)g->num_nodes * sizeof(bk_node);
  bk_compiler* c = al->alloc(al->self, sizeof *c, 64);
  if (c == NULL) return DDK_OUT_OF_MEMORY;
  memset(c, 0, sizeof *c);
  c->g = g;
  if (nodes_size > 0) {
    nodes = al->alloc(al->self, nodes_size, 64);
    if (nodes == NULL) {
      st = DDK_OUT_OF_MEMORY;
      goto cleanup;
    }
    memset(nodes, 0, nodes_size);
  }
  for (uint32_t i = 0; i < g->num_inputs; ++i) {
    bk_describe(&c->slots[c->num_slots], &g->values[g->inputs[i]], BK_SLOT_INPUT, i);
    c->value_of_slot[c->num_slots++] = g->inputs[i];
  }
  for (uint32_t i = 0; i < g->num_outputs; ++i) {
    bk_describe(&c->slots[c->num_slots], &g->values[g->outputs[i]], BK_SLOT_OUTPUT, i);
    c->value_of_slot[c->num_slots++] = g->outputs[i];
  }
  for (uint32_t k = 0; k < g->num_nodes; ++k) {
    const ddk_node_view* n = &g->nodes[k];
    bk_node* bn = &nodes[k];
    if (!bk_node_ok(g, n) || !ops->claim(g, n)) {
      ddk_set_error(err, err_cap, "broken: asked to compile a node it did not claim");
      st = DDK_UNSUPPORTED_OP;
      goto cleanup;
    }
    bn->op_id = n->op_id;
    bn->num_args = n->num_args;
    bn->node_index = n->node_index;
    int64_t out = bk_slot_for(c, n->outputs[0]);
    if (out < 0) goto too_many;
    bn->out = (uint32_t)out;
    for (uint32_t a = 0; a < n->num_args; ++a) {
      const ddk_arg* src = &n->args[a];
      bk_arg* dst = &bn->args[a];
      dst->kind = src->kind;
      switch (src->kind) {
        case DDK_ARG_TENSOR: {
          int64_t s = bk_slot_for(c, src->u.tensor);
          if (s < 0) goto too_many;
          dst->i[0] = s;
          break;
        }
        case DDK_ARG_INT:
        case DDK_ARG_DTYPE:
          dst->i[0] = src->u.i;
          break;
        case DDK_ARG_BOOL:
          dst->i[0] = src->u.b ? 1 : 0;
          break;
        case DDK_ARG_FLOAT:
          dst->f = src->u.f;
          break;
        case DDK_ARG_INT_LIST:
          dst->count = src->count;
          for (uint32_t j = 0; j < src->count; ++j) dst->i[j] = src->u.ints[j];
          break;
        default:
          break;
      }
    }
  }
  {
    size_t size = sizeof(bk_blob_header) + c->num_slots * sizeof(bk_slot) + nodes_size +
                  (size_t)c->const_bytes;
    uint8_t* blob = al->alloc(al->self, size, 64);
    if (blob == NULL) {
      st = DDK_OUT_OF_MEMORY;
      goto cleanup;
    }
    memset(blob, 0, size);
    bk_blob_header h = {{'B', 'R', 'K', 'N'}, BK_FORMAT,    c->num_slots,  g->num_inputs,
                        g->num_outputs,       g->num_nodes, c->const_bytes};
    uint8_t* p = blob;
    memcpy(p, &h, sizeof h);
    p += sizeof h;
    memcpy(p, c->slots, c->num_slots * sizeof(bk_slot));
    p += c->num_slots * sizeof(bk_slot);
    if (nodes_size > 0) memcpy(p, nodes, nodes_size);
    p += nodes_size;
    for (uint32_t s = 0; s < c->num_slots; ++s)
      if (c->slots[s].kind == BK_SLOT_CONSTANT && bk_slot_bytes(&c->slots[s]) > 0)
        memcpy(p + c->slots[s].offset, g->values[c->value_of_slot[s]].tensor.data,
               (size_t)bk_slot_bytes(&c->slots[s]));
    out_blob->data = blob;
    out_blob->size = size;
    ddk_set_error(out_blob->compat, sizeof out_blob->compat, BK_COMPAT);
  }
  goto cleanup;
too_many:
  ddk_set_error(err, err_cap, "broken: too many values in one partition");
  st = DDK_RESOURCE_EXHAUSTED;
cleanup:
  if (nodes != NULL) al->free(al->self, nodes, nodes_size);
  al->free(al->self, c, sizeof *c);
  return st;
}

/* ---- init: validate the blob (untrusted), build the handle -------------- */

static inline ddk_status bk_bad_blob(char* err, size_t err_cap, const char* why) {
  ddk_set_error(err, err_cap, why);
  return DDK_INCOMPATIBLE_BLOB;
}

static inline bool bk_slot_valid(const bk_slot* s, const bk_blob_header* h) {
  if (s->kind > BK_SLOT_CONSTANT || s->rank > DDK_MAX_RANK || ddk_dtype_size(s->dtype) == 0)
    return false;
  uint64_t n = 1;
  for (uint32_t i = 0; i < s->rank; ++i) {
    if (s->sizes[i] < 0 || s->sizes[i] > ((int64_t)1 << 40)) return false;
    n *= (uint64_t)s->sizes[i];
    if (n > ((uint64_t)1 << 40)) return false;
  }
  if (s->kind == BK_SLOT_INPUT && s->index >= h->num_inputs) return false;
  if (s->kind == BK_SLOT_OUTPUT && s->index >= h->num_outputs) return false;
  if (s->kind == BK_SLOT_CONSTANT &&
      (s->offset > h->const_bytes || bk_slot_bytes(s) > h->const_bytes - s->offset))
    return false;
  return true;
}

static inline bool bk_node_valid(const bk_node* n, const bk_slot* slots, uint32_t num_slots) {
  if (n->num_args > BK_MAX_ARGS || n->out >= num_slots) return false;
  if (slots[n->out].kind != BK_SLOT_OUTPUT && slots[n->out].kind != BK_SLOT_SCRATCH) return false;
  for (uint32_t a = 0; a < n->num_args; ++a) {
    const bk_arg* arg = &n->args[a];
    if (arg->kind == DDK_ARG_TENSOR && (arg->i[0] < 0 || arg->i[0] >= num_slots)) return false;
    if (arg->kind == DDK_ARG_INT_LIST && arg->count > BK_MAX_LIST) return false;
  }
  return true;
}

static inline void bk_set_contiguous(ddk_tensor* t) {
  int64_t stride = 1;
  for (uint32_t i = t->rank; i-- > 0;) {
    t->strides[i] = stride;
    t->dim_order[i] = (uint8_t)i;
    stride *= t->sizes[i] > 0 ? t->sizes[i] : 1;
  }
}

static inline ddk_status bk_init(const ddk_backend* self, const void* blob, size_t blob_size,
                                 const char* compat, const ddk_options* options,
                                 const ddk_services* services, ddk_delegate_handle** out_handle,
                                 char* err, size_t err_cap) {
  (void)options;
  const bk_ops* ops = (const bk_ops*)self->user_data;
  const ddk_allocator* al = &services->allocator;
  *out_handle = NULL;
  if (compat == NULL || strcmp(compat, BK_COMPAT) != 0)
    return bk_bad_blob(err, err_cap, "broken: compatibility string is not '" BK_COMPAT "'");
  bk_blob_header h;
  if (blob_size < sizeof h) return bk_bad_blob(err, err_cap, "broken: blob too short");
  memcpy(&h, blob, sizeof h);
  if (memcmp(h.magic, "BRKN", 4) != 0 || h.format != BK_FORMAT)
    return bk_bad_blob(err, err_cap, "broken: not a broken-backend blob of format 1");
  if (h.num_slots > BK_MAX_SLOTS || h.num_nodes > BK_MAX_SLOTS || h.const_bytes > blob_size ||
      sizeof h + h.num_slots * sizeof(bk_slot) + h.num_nodes * sizeof(bk_node) + h.const_bytes !=
          blob_size)
    return bk_bad_blob(err, err_cap, "broken: blob sizes are inconsistent");
  const uint8_t* p = (const uint8_t*)blob + sizeof h;
  const uint8_t* consts = p + h.num_slots * sizeof(bk_slot) + h.num_nodes * sizeof(bk_node);

  /* One allocation: handle, slots, nodes, tensors, bindings, then the data
   * of scratch and constant slots (each 64-byte aligned). */
  size_t fixed = sizeof(bk_handle) + h.num_slots * sizeof(bk_slot) + h.num_nodes * sizeof(bk_node) +
                 h.num_slots * sizeof(ddk_tensor) + 2 * h.num_slots * sizeof(void*);
  fixed = (fixed + 63) / 64 * 64;
  size_t data = 0;
  for (uint32_t s = 0; s < h.num_slots; ++s) {
    bk_slot sl;
    memcpy(&sl, p + s * sizeof(bk_slot), sizeof sl);
    if (!bk_slot_valid(&sl, &h)) return bk_bad_blob(err, err_cap, "broken: bad slot in blob");
    if (sl.kind >= BK_SLOT_SCRATCH) data += (size_t)(bk_slot_bytes(&sl) + 63) / 64 * 64;
  }
  size_t total = fixed + data;
  uint8_t* mem = al->alloc(al->self, total, 64);
  if (mem == NULL) return DDK_OUT_OF_MEMORY;
  memset(mem, 0, total);
  bk_handle* hd = (bk_handle*)mem;
  hd->ops = ops;
  hd->services = *services;
  hd->self_size = total;
  hd->h = h;
  hd->slots = (bk_slot*)(mem + sizeof *hd);
  hd->nodes = (bk_node*)(hd->slots + h.num_slots);
  hd->own = (ddk_tensor*)(hd->nodes + h.num_nodes);
  hd->ro = (const ddk_tensor**)(hd->own + h.num_slots);
  hd->rw = (ddk_tensor**)(hd->ro + h.num_slots);
  memcpy(hd->slots, p, h.num_slots * sizeof(bk_slot));
  memcpy(hd->nodes, p + h.num_slots * sizeof(bk_slot), h.num_nodes * sizeof(bk_node));
  ddk_status st = DDK_OK;
  size_t next = fixed;
  for (uint32_t s = 0; s < h.num_slots; ++s) {
    const bk_slot* sl = &hd->slots[s];
    if (sl->kind < BK_SLOT_SCRATCH) continue;
    ddk_tensor* t = &hd->own[s];
    t->header = (ddk_struct_header)DDK_STRUCT_HEADER_INIT(ddk_tensor);
    t->data = mem + next;
    t->capacity = (size_t)bk_slot_bytes(sl);
    t->dtype = sl->dtype;
    t->rank = sl->rank;
    for (uint32_t i = 0; i < sl->rank; ++i) t->sizes[i] = sl->sizes[i];
    bk_set_contiguous(t);
    if (sl->kind == BK_SLOT_CONSTANT && t->capacity > 0)
      memcpy(t->data, consts + sl->offset, t->capacity);
    hd->ro[s] = t;
    hd->rw[s] = t;
    next += (t->capacity + 63) / 64 * 64;
  }
  for (uint32_t k = 0; k < h.num_nodes; ++k) {
    if (!bk_node_valid(&hd->nodes[k], hd->slots, h.num_slots)) {
      st = bk_bad_blob(err, err_cap, "broken: bad node in blob");
      goto fail;
    }
    if (ops->prepare != NULL && (st = ops->prepare(&hd->nodes[k], err, err_cap)) != DDK_OK)
      goto fail;
  }
  if (ops->on_init != NULL && (st = ops->on_init(hd, err, err_cap)) != DDK_OK) goto fail;
  *out_handle = hd;
  return DDK_OK;
fail:
  al->free(al->self, mem, total);
  return st;
}

/* ---- execute --------------------------------------------------------------- */

static inline bool bk_matches(const ddk_tensor* t, const bk_slot* s) {
  if (t == NULL || t->dtype != s->dtype || t->rank != s->rank) return false;
  for (uint32_t i = 0; i < s->rank; ++i)
    if (t->sizes[i] != s->sizes[i]) return false;
  return t->capacity >= bk_slot_bytes(s) && (t->data != NULL || bk_slot_bytes(s) == 0);
}

static inline ddk_status bk_execute(ddk_delegate_handle* hd, const ddk_tensor* const* inputs,
                                    uint32_t num_inputs, ddk_tensor* const* outputs,
                                    uint32_t num_outputs, char* err, size_t err_cap) {
  if (num_inputs != hd->h.num_inputs || num_outputs != hd->h.num_outputs) {
    ddk_set_error(err, err_cap, "broken: wrong number of inputs/outputs");
    return DDK_INVALID_ARGUMENT;
  }
  for (uint32_t s = 0; s < hd->h.num_slots; ++s) {
    const bk_slot* sl = &hd->slots[s];
    if (sl->kind == BK_SLOT_INPUT) {
      hd->ro[s] = inputs[sl->index];
      hd->rw[s] = NULL;
    } else if (sl->kind == BK_SLOT_OUTPUT) {
      hd->ro[s] = hd->rw[s] = outputs[sl->index];
    } else {
      continue;
    }
    if (!bk_matches(hd->ro[s], sl)) {
      ddk_set_error(err, err_cap, "broken: a tensor does not match the compiled one");
      return DDK_SHAPE_MISMATCH;
    }
  }
  for (uint32_t k = 0; k < hd->h.num_nodes; ++k) {
    const bk_node* n = &hd->nodes[k];
    const ddk_tensor* in[BK_MAX_ARGS] = {NULL};
    for (uint32_t a = 0; a < n->num_args; ++a)
      if (n->args[a].kind == DDK_ARG_TENSOR) in[a] = hd->ro[n->args[a].i[0]];
    ddk_status st = hd->ops->run(hd, n, in, hd->rw[n->out], err, err_cap);
    if (st != DDK_OK) return st;
  }
  return DDK_OK;
}

/* ---- destroy and query ------------------------------------------------------ */

static inline void bk_destroy(ddk_delegate_handle* hd) {
  if (hd == NULL) return;
  if (hd->ops->on_destroy != NULL) hd->ops->on_destroy(hd);
  ddk_allocator al = hd->services.allocator;
  al.free(al.self, hd, hd->self_size);
}

static inline ddk_status bk_query(const ddk_backend* self, const ddk_options* options,
                                  ddk_backend_info* info, char* err, size_t err_cap) {
  (void)options;
  (void)err;
  (void)err_cap;
  const bk_ops* ops = (const bk_ops*)self->user_data;
  info->available = true;
  info->capabilities = DDK_CAP_FLOAT32;
  ddk_set_error(info->device_name, sizeof info->device_name, "host CPU (test fixture)");
  ddk_set_error(info->detail, sizeof info->detail, ops->detail);
  return DDK_OK;
}

/**
 * Defines the vtable of backend NAME (a string literal) running the hooks
 * OPS (a static const bk_ops), and the exported entry symbol.
 */
#define BK_DEFINE_BACKEND(NAME, OPS)                                           \
  static const ddk_backend bk_backend = {                                      \
      .header = DDK_STRUCT_HEADER_INIT(ddk_backend),                           \
      .name = NAME,                                                            \
      .version = "1.0.0",                                                      \
      .flags = DDK_BACKEND_BLOB_RELEASABLE,                                    \
      .user_data = (void*)&OPS,                                                \
      .query = bk_query,                                                       \
      .partition = bk_partition,                                               \
      .preprocess = bk_preprocess,                                             \
      .init = bk_init,                                                         \
      .execute = bk_execute,                                                   \
      .destroy = bk_destroy,                                                   \
      .set_profiling = NULL,                                                   \
  };                                                                           \
  DDK_DECLARE_BACKEND_ENTRY() {                                                \
    if (DDK_ABI_VERSION_MAJOR_OF(host_abi_version) != DDK_ABI_VERSION_MAJOR) { \
      ddk_set_error(err, err_cap, NAME " speaks DDK ABI 1.x only");            \
      return DDK_ABI_MISMATCH;                                                 \
    }                                                                          \
    *out_backend = &bk_backend;                                                \
    return DDK_OK;                                                             \
  }

#endif /* BROKEN_COMMON_H_ */
