/*
 * template_backend.c — the smallest real DDK backend, and the tutorial.
 *
 * Copy this folder, rename "template", and replace the bodies of the five
 * lifecycle functions with calls into your hardware's library. It builds
 * against <ddk/delegate_api.h> only.
 *
 * What it does: it claims float32 elementwise ops whose operands all have
 * the same shape (aten::add.Tensor and aten::sub.Tensor with alpha 1,
 * aten::mul.Tensor, aten::relu, aten::sigmoid, aten::tanh), compiles each
 * partition in preprocess into a tiny bytecode blob, and runs that
 * bytecode with its own loops in execute. When profiling is on (the
 * services' profiler sink enabled at init, or set_profiling), execute
 * times each op and emits one event per op, keyed to its program node.
 *
 * The blob (little-endian, all fields 32/64-bit):
 *   header  { magic "TMPL", u32 format, u32 num_slots, u32 num_inputs,
 *             u32 num_outputs, u32 num_ops, u64 const_bytes }
 *   slots   num_slots x { u64 numel, u32 kind, u32 index, u64 offset }
 *           kind: 0 input (index = execute input), 1 output, 2 scratch,
 *           3 constant (offset into the constant area)
 *   ops     num_ops x { u32 opcode, u32 a, u32 b, u32 out, u32 node }
 *           (a, b, out: slot numbers; node: the program node it runs, for
 *           profiling events)
 *   consts  const_bytes of float32 data
 * Format 2 added `node`; init refuses other formats (DDK_INCOMPATIBLE_BLOB),
 * so a program lowered by an older plugin gets a clear error, not garbage.
 *
 * Test-instrument options (so the host's error paths can be exercised):
 *   "template.fail_at" = "partition" | "preprocess" | "init" | "execute"
 *   makes that lifecycle function fail with DDK_BACKEND_FAILURE.
 */
#include <ddk/delegate_api.h>
#include <ddk/op_ids.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Op ids are stable (ddk/op_ids.h, generated from the op table), so a
 * backend may switch on them; node->op_name carries the name as well. */

enum { OPC_ADD = 1, OPC_SUB, OPC_MUL, OPC_RELU, OPC_SIGMOID, OPC_TANH };
enum { SLOT_INPUT = 0, SLOT_OUTPUT = 1, SLOT_SCRATCH = 2, SLOT_CONSTANT = 3 };

#define TMPL_FORMAT 2u
#define TMPL_COMPAT "template:format=2"
#define TMPL_MAX_SLOTS 4096

typedef struct blob_header {
  char magic[4];
  uint32_t format;
  uint32_t num_slots, num_inputs, num_outputs, num_ops;
  uint64_t const_bytes;
} blob_header;

typedef struct blob_slot {
  uint64_t numel;
  uint32_t kind;
  uint32_t index;
  uint64_t offset;
} blob_slot;

typedef struct blob_op {
  uint32_t opcode, a, b, out;
  uint32_t node; /* program node index (ddk_node_view.node_index) */
} blob_op;

/* ---- helpers ------------------------------------------------------------ */

static bool should_fail(const ddk_options* options, const char* where) {
  const char* at = ddk_options_get_string(options, "template.fail_at", "");
  return strcmp(at, where) == 0;
}

static ddk_status fail_injected(char* err, size_t err_cap, const char* where) {
  char msg[96] = "template: injected failure in ";
  size_t n = strlen(msg);
  for (size_t i = 0; where[i] != '\0' && n + 1 < sizeof msg; ++i)
    msg[n++] = where[i];
  msg[n] = '\0';
  ddk_set_error(err, err_cap, msg);
  return DDK_BACKEND_FAILURE;
}

static int opcode_of(uint32_t op_id) {
  switch (op_id) {
    case DDK_OP_ATEN_ADD_TENSOR: return OPC_ADD;
    case DDK_OP_ATEN_SUB_TENSOR: return OPC_SUB;
    case DDK_OP_ATEN_MUL_TENSOR: return OPC_MUL;
    case DDK_OP_ATEN_RELU: return OPC_RELU;
    case DDK_OP_ATEN_SIGMOID: return OPC_SIGMOID;
    case DDK_OP_ATEN_TANH: return OPC_TANH;
    default: return 0;
  }
}

static bool is_plain_f32(const ddk_value_desc* v) {
  if (v->tensor.dtype != DDK_DTYPE_FLOAT32 || v->dynamic_mask != 0 ||
      v->tensor.quant != NULL)
    return false;
  for (uint32_t i = 0; i < v->tensor.rank; ++i)
    if (v->tensor.dim_order[i] != i) return false;
  return true;
}

static bool same_shape(const ddk_value_desc* a, const ddk_value_desc* b) {
  if (a->tensor.rank != b->tensor.rank) return false;
  for (uint32_t i = 0; i < a->tensor.rank; ++i)
    if (a->tensor.sizes[i] != b->tensor.sizes[i]) return false;
  return true;
}

static bool scalar_is_one(const ddk_arg* a) {
  return (a->kind == DDK_ARG_INT && a->u.i == 1) ||
         (a->kind == DDK_ARG_FLOAT && a->u.f == 1.0);
}

static uint64_t numel_of(const ddk_value_desc* v) {
  uint64_t n = 1;
  for (uint32_t i = 0; i < v->tensor.rank; ++i) n *= (uint64_t)v->tensor.sizes[i];
  return n;
}

/* ---- partition ---------------------------------------------------------- */

static bool can_run(const ddk_graph_view* g, const ddk_node_view* n) {
  int opc = opcode_of(n->op_id);
  if (opc == 0 || n->num_outputs != 1) return false;
  const ddk_value_desc* out = &g->values[n->outputs[0]];
  if (!is_plain_f32(out)) return false;
  uint32_t tensor_args = (opc <= OPC_MUL) ? 2 : 1;
  if (n->num_args < tensor_args) return false;
  for (uint32_t i = 0; i < tensor_args; ++i) {
    if (n->args[i].kind != DDK_ARG_TENSOR) return false;
    const ddk_value_desc* in = &g->values[n->args[i].u.tensor];
    if (!is_plain_f32(in) || !same_shape(in, out)) return false;
  }
  if ((opc == OPC_ADD || opc == OPC_SUB) &&
      (n->num_args < 3 || !scalar_is_one(&n->args[2])))
    return false;
  return true;
}

static ddk_status template_partition(const ddk_backend* self,
                                     const ddk_graph_view* graph,
                                     const ddk_options* options,
                                     const ddk_services* services,
                                     bool* out_claimed, char* err,
                                     size_t err_cap) {
  (void)self;
  (void)services;
  if (should_fail(options, "partition"))
    return fail_injected(err, err_cap, "partition");
  for (uint32_t i = 0; i < graph->num_nodes; ++i)
    out_claimed[i] = can_run(graph, &graph->nodes[i]);
  return DDK_OK;
}

/* ---- preprocess: compile the partition into bytecode --------------------- */

typedef struct compiler {
  const ddk_graph_view* g;
  uint32_t value_of_slot[TMPL_MAX_SLOTS];
  blob_slot slots[TMPL_MAX_SLOTS];
  uint32_t num_slots;
  uint64_t const_bytes;
} compiler;

/* The slot holding value v, creating a scratch/constant slot if needed. */
static int64_t slot_for(compiler* c, uint32_t v) {
  for (uint32_t s = 0; s < c->num_slots; ++s)
    if (c->value_of_slot[s] == v) return s;
  if (c->num_slots == TMPL_MAX_SLOTS) return -1;
  const ddk_value_desc* d = &c->g->values[v];
  blob_slot* s = &c->slots[c->num_slots];
  s->numel = numel_of(d);
  s->kind = (d->flags & DDK_VALUE_CONSTANT) ? SLOT_CONSTANT : SLOT_SCRATCH;
  s->index = 0;
  s->offset = 0;
  if (s->kind == SLOT_CONSTANT) {
    s->offset = c->const_bytes;
    c->const_bytes += s->numel * sizeof(float);
  }
  c->value_of_slot[c->num_slots] = v;
  return c->num_slots++;
}

static ddk_status template_preprocess(const ddk_backend* self,
                                      const ddk_graph_view* g,
                                      const ddk_options* options,
                                      const ddk_services* services,
                                      ddk_blob* out_blob, char* err,
                                      size_t err_cap) {
  (void)self;
  if (should_fail(options, "preprocess"))
    return fail_injected(err, err_cap, "preprocess");
  if (g->num_inputs + g->num_outputs + g->num_nodes * 3u > TMPL_MAX_SLOTS) {
    ddk_set_error(err, err_cap, "template: partition too large");
    return DDK_RESOURCE_EXHAUSTED;
  }
  compiler* c = services->allocator.alloc(services->allocator.self,
                                          sizeof *c, 64);
  if (c == NULL) return DDK_OUT_OF_MEMORY;
  memset(c, 0, sizeof *c);
  c->g = g;
  for (uint32_t i = 0; i < g->num_inputs; ++i) {
    c->slots[c->num_slots] = (blob_slot){numel_of(&g->values[g->inputs[i]]),
                                         SLOT_INPUT, i, 0};
    c->value_of_slot[c->num_slots++] = g->inputs[i];
  }
  for (uint32_t i = 0; i < g->num_outputs; ++i) {
    c->slots[c->num_slots] = (blob_slot){numel_of(&g->values[g->outputs[i]]),
                                         SLOT_OUTPUT, i, 0};
    c->value_of_slot[c->num_slots++] = g->outputs[i];
  }
  blob_op ops[TMPL_MAX_SLOTS / 3];
  ddk_status st = DDK_OK;
  for (uint32_t k = 0; k < g->num_nodes; ++k) {
    const ddk_node_view* n = &g->nodes[k];
    int opc = opcode_of(n->op_id);
    if (opc == 0 || !can_run(g, n)) {
      ddk_set_error(err, err_cap, "template: asked to compile an op it did "
                                  "not claim");
      st = DDK_UNSUPPORTED_OP;
      goto done;
    }
    int64_t a = slot_for(c, n->args[0].u.tensor);
    int64_t b = (opc <= OPC_MUL) ? slot_for(c, n->args[1].u.tensor) : a;
    int64_t o = slot_for(c, n->outputs[0]);
    if (a < 0 || b < 0 || o < 0) {
      ddk_set_error(err, err_cap, "template: too many slots");
      st = DDK_RESOURCE_EXHAUSTED;
      goto done;
    }
    /* keep the program node index: init never sees the graph, and the
     * profiling events of execute must name the node each op came from */
    ops[k] = (blob_op){(uint32_t)opc, (uint32_t)a, (uint32_t)b, (uint32_t)o,
                       n->node_index};
  }
  {
    size_t size = sizeof(blob_header) + c->num_slots * sizeof(blob_slot) +
                  g->num_nodes * sizeof(blob_op) + c->const_bytes;
    uint8_t* blob = services->allocator.alloc(services->allocator.self, size, 64);
    if (blob == NULL) {
      st = DDK_OUT_OF_MEMORY;
      goto done;
    }
    blob_header h = {{'T', 'M', 'P', 'L'}, TMPL_FORMAT, c->num_slots,
                     g->num_inputs, g->num_outputs, g->num_nodes,
                     c->const_bytes};
    uint8_t* p = blob;
    memcpy(p, &h, sizeof h);
    p += sizeof h;
    memcpy(p, c->slots, c->num_slots * sizeof(blob_slot));
    p += c->num_slots * sizeof(blob_slot);
    memcpy(p, ops, g->num_nodes * sizeof(blob_op));
    p += g->num_nodes * sizeof(blob_op);
    for (uint32_t s = 0; s < c->num_slots; ++s)
      if (c->slots[s].kind == SLOT_CONSTANT)
        memcpy(p + c->slots[s].offset,
               g->values[c->value_of_slot[s]].tensor.data,
               c->slots[s].numel * sizeof(float));
    out_blob->data = blob;
    out_blob->size = size;
    ddk_set_error(out_blob->compat, sizeof out_blob->compat, TMPL_COMPAT);
  }
done:
  services->allocator.free(services->allocator.self, c, sizeof *c);
  return st;
}

/* ---- init: verify the blob, make the handle ------------------------------ */

struct ddk_delegate_handle {
  ddk_services services;
  size_t self_size;
  blob_header h;
  blob_slot* slots;
  blob_op* ops;
  float** bound;   /* per slot: the buffer used at execute */
  float* scratch;  /* scratch and constant storage */
  size_t scratch_floats;
  bool fail_execute;
  bool profiling; /* emit one event per op (set_profiling) */
};

static ddk_status template_init(const ddk_backend* self, const void* blob,
                                size_t blob_size, const char* compat,
                                const ddk_options* options,
                                const ddk_services* services,
                                ddk_delegate_handle** out_handle, char* err,
                                size_t err_cap) {
  (void)self;
  *out_handle = NULL;
  if (should_fail(options, "init")) return fail_injected(err, err_cap, "init");
  if (compat == NULL || strcmp(compat, TMPL_COMPAT) != 0) {
    ddk_set_error(err, err_cap, "template: blob compatibility string is not '"
                                TMPL_COMPAT "'");
    return DDK_INCOMPATIBLE_BLOB;
  }
  blob_header h;
  if (blob_size < sizeof h) {
    ddk_set_error(err, err_cap, "template: blob shorter than its header");
    return DDK_INCOMPATIBLE_BLOB;
  }
  memcpy(&h, blob, sizeof h);
  if (memcmp(h.magic, "TMPL", 4) != 0 || h.format != TMPL_FORMAT) {
    ddk_set_error(err, err_cap, "template: not a template blob of format 2");
    return DDK_INCOMPATIBLE_BLOB;
  }
  if (h.num_slots > TMPL_MAX_SLOTS || h.num_ops > TMPL_MAX_SLOTS ||
      h.const_bytes > blob_size ||
      sizeof h + h.num_slots * sizeof(blob_slot) + h.num_ops * sizeof(blob_op) +
              h.const_bytes != blob_size) {
    ddk_set_error(err, err_cap, "template: blob sizes are inconsistent");
    return DDK_INCOMPATIBLE_BLOB;
  }
  /* One allocation holds the handle, slots, pointer table and ops (in
   * that order, so that each part is aligned for its type); the scratch
   * floats follow. The blob is not needed after init. */
  size_t fixed = sizeof(ddk_delegate_handle) + h.num_slots * sizeof(blob_slot) +
                 h.num_ops * sizeof(blob_op) + h.num_slots * sizeof(float*);
  fixed = (fixed + 63) / 64 * 64;
  const uint8_t* p = (const uint8_t*)blob + sizeof h;
  blob_slot slots_tmp;
  size_t floats = 0;
  for (uint32_t s = 0; s < h.num_slots; ++s) {
    memcpy(&slots_tmp, p + s * sizeof(blob_slot), sizeof slots_tmp);
    if (slots_tmp.kind > SLOT_CONSTANT || slots_tmp.numel > ((uint64_t)1 << 40) ||
        (slots_tmp.kind == SLOT_CONSTANT &&
         slots_tmp.offset + slots_tmp.numel * sizeof(float) > h.const_bytes) ||
        (slots_tmp.kind == SLOT_INPUT && slots_tmp.index >= h.num_inputs) ||
        (slots_tmp.kind == SLOT_OUTPUT && slots_tmp.index >= h.num_outputs)) {
      ddk_set_error(err, err_cap, "template: bad slot in blob");
      return DDK_INCOMPATIBLE_BLOB;
    }
    if (slots_tmp.kind >= SLOT_SCRATCH) floats += slots_tmp.numel;
  }
  size_t total = fixed + floats * sizeof(float);
  uint8_t* mem = services->allocator.alloc(services->allocator.self, total, 64);
  if (mem == NULL) return DDK_OUT_OF_MEMORY;
  memset(mem, 0, fixed);
  ddk_delegate_handle* hd = (ddk_delegate_handle*)mem;
  hd->services = *services;
  hd->self_size = total;
  hd->h = h;
  hd->slots = (blob_slot*)(mem + sizeof *hd);
  hd->bound = (float**)(hd->slots + h.num_slots);
  hd->ops = (blob_op*)(hd->bound + h.num_slots);
  hd->scratch = (float*)(mem + fixed);
  hd->scratch_floats = floats;
  memcpy(hd->slots, p, h.num_slots * sizeof(blob_slot));
  memcpy(hd->ops, p + h.num_slots * sizeof(blob_slot),
         h.num_ops * sizeof(blob_op));
  const uint8_t* consts =
      p + h.num_slots * sizeof(blob_slot) + h.num_ops * sizeof(blob_op);
  size_t next = 0;
  for (uint32_t s = 0; s < h.num_slots; ++s) {
    blob_slot* sl = &hd->slots[s];
    if (sl->kind < SLOT_SCRATCH) continue;
    hd->bound[s] = hd->scratch + next;
    if (sl->kind == SLOT_CONSTANT && sl->numel > 0)
      memcpy(hd->bound[s], consts + sl->offset, sl->numel * sizeof(float));
    next += sl->numel;
  }
  for (uint32_t k = 0; k < h.num_ops; ++k) {
    blob_op* o = &hd->ops[k];
    if (o->opcode < OPC_ADD || o->opcode > OPC_TANH || o->a >= h.num_slots ||
        o->b >= h.num_slots || o->out >= h.num_slots ||
        hd->slots[o->a].numel != hd->slots[o->out].numel ||
        hd->slots[o->b].numel != hd->slots[o->out].numel ||
        hd->slots[o->out].kind == SLOT_INPUT ||
        hd->slots[o->out].kind == SLOT_CONSTANT) {
      services->allocator.free(services->allocator.self, mem, total);
      ddk_set_error(err, err_cap, "template: bad op in blob");
      return DDK_INCOMPATIBLE_BLOB;
    }
  }
  hd->fail_execute = should_fail(options, "execute");
  hd->profiling = services->profiler.enabled; /* the initial state */
  *out_handle = hd;
  return DDK_OK;
}

/* ---- execute ------------------------------------------------------------ */

static const char* opcode_name(uint32_t opc) {
  static const char* const names[] = {"", "add", "sub", "mul", "relu", "sigmoid", "tanh"};
  return opc <= OPC_TANH ? names[opc] : "?";
}

/* One profiling event for op o, which ran from t0 to t1 over n elements.
 * The host copies what it needs during emit: name and detail may live on
 * the stack. Times are on the host's clock (profiler.now_ns); a device
 * backend converts its own timestamps to that clock. */
static void emit_op_event(const ddk_delegate_handle* hd, const blob_op* o,
                          size_t n, uint64_t t0, uint64_t t1) {
  const ddk_profiler_sink* prof = &hd->services.profiler;
  uint64_t operands = (o->opcode <= OPC_MUL) ? 2 : 1; /* binary or unary */
  char detail[48]; /* free-form "key=value;..." pairs */
  snprintf(detail, sizeof detail, "elements=%zu", n);
  ddk_profile_event e;
  memset(&e, 0, sizeof e);
  e.header = (ddk_struct_header)DDK_STRUCT_HEADER_INIT(ddk_profile_event);
  e.kind = DDK_PROFILE_OP;
  e.node_index = o->node; /* keys the event to the program node */
  e.name = opcode_name(o->opcode);
  e.start_ns = t0;
  e.end_ns = t1;
  e.bytes = (operands + 1) * n * sizeof(float); /* read + written */
  e.flops = n;                                   /* one operation per element */
  e.detail = detail;
  prof->emit(prof->self, &e);
}

static ddk_status template_execute(ddk_delegate_handle* hd,
                                   const ddk_tensor* const* inputs,
                                   uint32_t num_inputs,
                                   ddk_tensor* const* outputs,
                                   uint32_t num_outputs, char* err,
                                   size_t err_cap) {
  if (hd->fail_execute) return fail_injected(err, err_cap, "execute");
  if (num_inputs != hd->h.num_inputs || num_outputs != hd->h.num_outputs) {
    ddk_set_error(err, err_cap, "template: wrong number of inputs/outputs");
    return DDK_INVALID_ARGUMENT;
  }
  for (uint32_t s = 0; s < hd->h.num_slots; ++s) {
    const blob_slot* sl = &hd->slots[s];
    const ddk_tensor* t = NULL;
    if (sl->kind == SLOT_INPUT) t = inputs[sl->index];
    if (sl->kind == SLOT_OUTPUT) t = outputs[sl->index];
    if (t == NULL) continue;
    if (t->dtype != DDK_DTYPE_FLOAT32 ||
        (uint64_t)ddk_tensor_numel(t) != sl->numel ||
        t->capacity < sl->numel * sizeof(float)) {
      ddk_set_error(err, err_cap, "template: a tensor does not match the "
                                  "compiled shape");
      return DDK_SHAPE_MISMATCH;
    }
    hd->bound[s] = (float*)t->data;
  }
  /* Profiling costs nothing when off: no clock reads, no events. */
  const ddk_profiler_sink* prof = &hd->services.profiler;
  const bool timed = hd->profiling && prof->emit != NULL && prof->now_ns != NULL;
  for (uint32_t k = 0; k < hd->h.num_ops; ++k) {
    const blob_op* o = &hd->ops[k];
    const float* a = hd->bound[o->a];
    const float* b = hd->bound[o->b];
    float* y = hd->bound[o->out];
    size_t n = (size_t)hd->slots[o->out].numel;
    uint64_t t0 = timed ? prof->now_ns(prof->self) : 0;
    switch (o->opcode) {
      case OPC_ADD: for (size_t i = 0; i < n; ++i) y[i] = a[i] + b[i]; break;
      case OPC_SUB: for (size_t i = 0; i < n; ++i) y[i] = a[i] - b[i]; break;
      case OPC_MUL: for (size_t i = 0; i < n; ++i) y[i] = a[i] * b[i]; break;
      case OPC_RELU: /* NaN stays NaN, as in ATen */
        for (size_t i = 0; i < n; ++i) y[i] = (a[i] < 0.0f) ? 0.0f : a[i];
        break;
      case OPC_SIGMOID:
        for (size_t i = 0; i < n; ++i) y[i] = 1.0f / (1.0f + expf(-a[i]));
        break;
      case OPC_TANH: for (size_t i = 0; i < n; ++i) y[i] = tanhf(a[i]); break;
      default: break;
    }
    if (timed) emit_op_event(hd, o, n, t0, prof->now_ns(prof->self));
  }
  return DDK_OK;
}

/* (optional slot) Profiling on or off for one handle. The sink's `enabled`
 * flag at init gives the initial state; the host may switch it later. */
static ddk_status template_set_profiling(ddk_delegate_handle* hd, bool enabled) {
  if (hd == NULL) return DDK_INVALID_ARGUMENT;
  hd->profiling = enabled;
  return DDK_OK;
}

static void template_destroy(ddk_delegate_handle* hd) {
  if (hd == NULL) return;
  ddk_allocator a = hd->services.allocator;
  a.free(a.self, hd, hd->self_size);
}

static ddk_status template_query(const ddk_backend* self,
                                 const ddk_options* options,
                                 ddk_backend_info* info, char* err,
                                 size_t err_cap) {
  (void)self;
  (void)options;
  (void)err;
  (void)err_cap;
  info->available = true;
  info->capabilities = DDK_CAP_FLOAT32 | DDK_CAP_PROFILING;
  ddk_set_error(info->device_name, sizeof info->device_name, "host CPU (plain C loops)");
  ddk_set_error(info->detail, sizeof info->detail,
                "fp32 add/sub/mul/relu/sigmoid/tanh, same-shape operands");
  return DDK_OK;
}

/* ---- the vtable and the entry symbol ------------------------------------ */

static const ddk_backend template_backend = {
    .header = DDK_STRUCT_HEADER_INIT(ddk_backend),
    .name = "template",
    .version = "1.0.0",
    .flags = DDK_BACKEND_BLOB_RELEASABLE,
    .user_data = NULL,
    .query = template_query,
    .partition = template_partition,
    .preprocess = template_preprocess,
    .init = template_init,
    .execute = template_execute,
    .destroy = template_destroy,
    .set_profiling = template_set_profiling,
};

DDK_DECLARE_BACKEND_ENTRY() {
  if (DDK_ABI_VERSION_MAJOR_OF(host_abi_version) != DDK_ABI_VERSION_MAJOR) {
    ddk_set_error(err, err_cap, "template backend speaks DDK ABI 1.x only");
    return DDK_ABI_MISMATCH;
  }
  *out_backend = &template_backend;
  return DDK_OK;
}
