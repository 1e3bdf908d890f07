/*
 * reference_backend.c — the reference runtime's portable kernels, packaged
 * as a backend plugin named "reference".
 *
 * It claims every node whose op has a portable kernel and runs each
 * partition through a nested DDK runtime, so the conformance suite can be
 * run against the reference itself: every outcome must be "pass", and
 * whatever is not proves a fault in the harness's plumbing (blobs,
 * data-dependent output sizes, seeded random ops, metadata ops, dynamic
 * dims) rather than in a kernel. README.md says why it may link the
 * runtime, which no vendor plugin does.
 *
 *   partition   claims node i iff ddk_kernel_lookup(op) finds a kernel
 *               (and the op is listed in "reference.ops", when given)
 *   preprocess  the partition becomes a ddk_program of its own (only the
 *               values it touches, renumbered; its inputs INPUT, its
 *               outputs OUTPUT, constants with their bytes; one KERNEL
 *               instruction per node), serialised: the blob
 *   init        loads the blob (copied, so the host may release it) and
 *               creates a nested runtime and method on the host's allocator
 *   execute     copies inputs in, executes, copies outputs out with their
 *               actual sizes (below the bounds for data-dependent ops)
 *   destroy     method, runtime, program, handle
 *
 * Options:
 *   "reference.ops" (string)  comma-separated op names ("aten::relu,
 *       aten::exp"): claim only these. A test instrument, for graph cases
 *       that need a backend taking part of a chain.
 *   "seed" (int)  handed to the nested method: the random ops draw from
 *       the same stream as a portable run with the same seed.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ddk/delegate_api.h"
#include "ddk/ops.h"
#include "ddk/program.h"
#include "ddk/runtime.h"
#include "ddk_kernel.h"

#ifndef DDK_REFERENCE_BACKEND_VERSION
#define DDK_REFERENCE_BACKEND_VERSION "0.0.0"
#endif

#define REF_COMPAT "reference:fmt=1"
#define REF_OPS_OPTION "reference.ops"

/* ---- helpers ------------------------------------------------------------ */

/* printf-style message into (err, err_cap); returns `status`. */
static ddk_status ref_fail(char* err, size_t err_cap, ddk_status status, const char* fmt, ...)
    __attribute__((format(printf, 4, 5)));

static ddk_status ref_fail(char* err, size_t err_cap, ddk_status status, const char* fmt, ...) {
  if (err != NULL && err_cap > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_cap, fmt, ap);
    va_end(ap);
  }
  return status;
}

static void* ref_alloc(const ddk_allocator* a, size_t size) {
  return a->alloc(a->self, size, 64);
}

static void ref_free(const ddk_allocator* a, void* ptr, size_t size) {
  if (ptr != NULL) a->free(a->self, ptr, size);
}

/* True when the comma-separated `list` holds `name` as one entry (spaces
 * around entries are ignored). */
static bool list_has(const char* list, const char* name) {
  const size_t n = strlen(name);
  const char* p = list;
  while (*p != '\0') {
    while (*p == ' ' || *p == ',') ++p;
    const char* end = p;
    while (*end != '\0' && *end != ',') ++end;
    const char* last = end;
    while (last > p && last[-1] == ' ') --last;
    if ((size_t)(last - p) == n && n > 0 && memcmp(p, name, n) == 0) return true;
    p = end;
  }
  return false;
}

/* The "reference.ops" list: NULL when absent (claim everything);
 * DDK_INVALID_ARGUMENT when it is there but not a string. */
static ddk_status ops_filter(const ddk_options* options, const char** out_list, char* err,
                             size_t err_cap) {
  *out_list = NULL;
  const ddk_option* o = ddk_options_find(options, REF_OPS_OPTION);
  if (o == NULL) return DDK_OK;
  if (o->type != DDK_OPTION_STRING || o->value.s == NULL)
    return ref_fail(err, err_cap, DDK_INVALID_ARGUMENT,
                    "reference: option " REF_OPS_OPTION
                    " must be a string of comma-separated op names");
  *out_list = o->value.s;
  return DDK_OK;
}

/* ---- partition ---------------------------------------------------------- */

static ddk_status reference_partition(const ddk_backend* self, const ddk_graph_view* graph,
                                      const ddk_options* options, const ddk_services* services,
                                      bool* out_claimed, char* err, size_t err_cap) {
  (void)self;
  (void)services;
  const char* only = NULL;
  ddk_status st = ops_filter(options, &only, err, err_cap);
  if (st != DDK_OK) return st;
  for (uint32_t i = 0; i < graph->num_nodes; ++i) {
    const ddk_node_view* n = &graph->nodes[i];
    out_claimed[i] = ddk_kernel_lookup(n->op_id) != NULL &&
                     (only == NULL || (n->op_name != NULL && list_has(only, n->op_name)));
  }
  return DDK_OK;
}

/* ---- preprocess: the partition as a program of its own ------------------ */

/* Carves consecutive pieces out of one allocation. */
typedef struct carver {
  uint8_t* base;
  size_t used;
} carver;

static void* carve(carver* c, size_t bytes) {
  void* p = c->base != NULL ? c->base + c->used : NULL;
  c->used += (bytes + 7u) / 8u * 8u;
  return p;
}

/* The pieces of the partition's program, carved from one allocation. */
typedef struct parts {
  uint32_t* map;          /* per subgraph value: its new index */
  uint8_t* used;          /* per subgraph value: touched by the partition */
  ddk_value_desc* values; /* the new values (at most all of them) */
  uint32_t* inputs;       /* the partition's inputs, renumbered */
  uint32_t* outputs;      /* its outputs, renumbered */
  ddk_node_view* nodes;   /* its nodes */
  ddk_arg* args;          /* every node's args, back to back */
  uint32_t* entries;      /* every tensor list's entries */
  uint32_t* node_outputs; /* every node's outputs */
  ddk_instruction* plan;  /* one KERNEL instruction per node */
} parts;

static void carve_parts(carver* c, parts* q, const ddk_graph_view* g, size_t num_args,
                        size_t num_entries, size_t num_node_outputs) {
  q->map = carve(c, sizeof(uint32_t) * g->num_values);
  q->used = carve(c, sizeof(uint8_t) * g->num_values);
  q->values = carve(c, sizeof(ddk_value_desc) * g->num_values);
  q->inputs = carve(c, sizeof(uint32_t) * g->num_inputs);
  q->outputs = carve(c, sizeof(uint32_t) * g->num_outputs);
  q->nodes = carve(c, sizeof(ddk_node_view) * g->num_nodes);
  q->args = carve(c, sizeof(ddk_arg) * num_args);
  q->entries = carve(c, sizeof(uint32_t) * num_entries);
  q->node_outputs = carve(c, sizeof(uint32_t) * num_node_outputs);
  q->plan = carve(c, sizeof(ddk_instruction) * g->num_nodes);
}

/* Marks every value node `n` touches. */
static void mark_node_values(const ddk_node_view* n, uint8_t* used) {
  for (uint32_t a = 0; a < n->num_args; ++a) {
    const ddk_arg* arg = &n->args[a];
    if (arg->kind == DDK_ARG_TENSOR) used[arg->u.tensor] = 1;
    if (arg->kind == DDK_ARG_TENSOR_LIST)
      for (uint32_t k = 0; k < arg->count; ++k)
        if (arg->u.tensors[k] != DDK_NO_VALUE) used[arg->u.tensors[k]] = 1;
  }
  for (uint32_t k = 0; k < n->num_outputs; ++k) used[n->outputs[k]] = 1;
}

/* Value indices of the subgraph are checked before they are used as
 * array indices: a host bug must not become a crash here. */
static ddk_status check_indices(const ddk_graph_view* g, char* err, size_t err_cap) {
  const uint32_t V = g->num_values;
  for (uint32_t i = 0; i < g->num_inputs; ++i)
    if (g->inputs[i] >= V)
      return ref_fail(err, err_cap, DDK_INVALID_ARGUMENT, "reference: input %u is value %u of %u",
                      i, g->inputs[i], V);
  for (uint32_t i = 0; i < g->num_outputs; ++i)
    if (g->outputs[i] >= V)
      return ref_fail(err, err_cap, DDK_INVALID_ARGUMENT, "reference: output %u is value %u of %u",
                      i, g->outputs[i], V);
  for (uint32_t i = 0; i < g->num_nodes; ++i) {
    const ddk_node_view* n = &g->nodes[i];
    bool bad = false;
    for (uint32_t a = 0; a < n->num_args && !bad; ++a) {
      const ddk_arg* arg = &n->args[a];
      if (arg->kind == DDK_ARG_TENSOR) bad = arg->u.tensor >= V;
      if (arg->kind == DDK_ARG_TENSOR_LIST)
        for (uint32_t k = 0; k < arg->count && !bad; ++k)
          bad = arg->u.tensors[k] != DDK_NO_VALUE && arg->u.tensors[k] >= V;
    }
    for (uint32_t k = 0; k < n->num_outputs && !bad; ++k) bad = n->outputs[k] >= V;
    if (bad)
      return ref_fail(err, err_cap, DDK_INVALID_ARGUMENT,
                      "reference: node %u (%s) names a value beyond the %u values", i,
                      n->op_name ? n->op_name : "?", V);
  }
  return DDK_OK;
}

static ddk_status reference_preprocess(const ddk_backend* self, const ddk_graph_view* g,
                                       const ddk_options* options, const ddk_services* services,
                                       ddk_blob* out_blob, char* err, size_t err_cap) {
  (void)self;
  (void)options;
  const ddk_allocator* a = &services->allocator;
  ddk_status st = check_indices(g, err, err_cap);
  if (st != DDK_OK) return st;
  const uint32_t V = g->num_values, N = g->num_nodes;

  /* Sizes of every piece of the new program. */
  size_t num_args = 0, num_entries = 0, num_node_outputs = 0;
  for (uint32_t i = 0; i < N; ++i) {
    const ddk_node_view* n = &g->nodes[i];
    num_args += n->num_args;
    num_node_outputs += n->num_outputs;
    for (uint32_t k = 0; k < n->num_args; ++k)
      if (n->args[k].kind == DDK_ARG_TENSOR_LIST) num_entries += n->args[k].count;
  }
  /* One zeroed allocation holds every piece: a sizing pass, then the
   * same carving over the memory. */
  parts q;
  carver c = {NULL, 0};
  carve_parts(&c, &q, g, num_args, num_entries, num_node_outputs);
  const size_t scratch_size = c.used + 8; /* never a zero-byte request */
  c.base = ref_alloc(a, scratch_size);
  if (c.base == NULL)
    return ref_fail(err, err_cap, DDK_OUT_OF_MEMORY, "reference: preprocess: out of memory");
  memset(c.base, 0, scratch_size);
  c.used = 0;
  carve_parts(&c, &q, g, num_args, num_entries, num_node_outputs);
  uint32_t* map = q.map;
  uint8_t* used = q.used;
  ddk_value_desc* values = q.values;
  uint32_t* inputs = q.inputs;
  uint32_t* outputs = q.outputs;
  ddk_node_view* nodes = q.nodes;
  ddk_arg* args = q.args;
  uint32_t* entries = q.entries;
  uint32_t* node_outputs = q.node_outputs;
  ddk_instruction* plan = q.plan;

  /* The values the partition touches, in their original order. Only these
   * travel: a partition of a large program does not carry its constants. */
  for (uint32_t i = 0; i < g->num_inputs; ++i) used[g->inputs[i]] = 1;
  for (uint32_t i = 0; i < g->num_outputs; ++i) used[g->outputs[i]] = 1;
  for (uint32_t i = 0; i < N; ++i) mark_node_values(&g->nodes[i], used);
  uint32_t nv = 0;
  for (uint32_t v = 0; v < V; ++v) {
    map[v] = DDK_NO_VALUE;
    if (!used[v]) continue;
    map[v] = nv;
    ddk_value_desc* d = &values[nv++];
    *d = g->values[v];
    d->header = (ddk_struct_header)DDK_STRUCT_HEADER_INIT(ddk_value_desc);
    d->tensor.header = (ddk_struct_header)DDK_STRUCT_HEADER_INIT(ddk_tensor);
    if (d->name == NULL) d->name = "";
    d->flags &= DDK_VALUE_CONSTANT; /* INPUT / OUTPUT are the partition's */
    if (!(d->flags & DDK_VALUE_CONSTANT)) {
      d->tensor.data = NULL;
      d->tensor.capacity = 0;
    }
  }
  for (uint32_t i = 0; i < g->num_inputs; ++i) {
    inputs[i] = map[g->inputs[i]];
    values[inputs[i]].flags |= DDK_VALUE_INPUT;
  }
  for (uint32_t i = 0; i < g->num_outputs; ++i) {
    outputs[i] = map[g->outputs[i]];
    values[outputs[i]].flags |= DDK_VALUE_OUTPUT;
  }

  /* The nodes as given, their value indices renumbered. */
  size_t ai = 0, ei = 0, oi = 0;
  for (uint32_t i = 0; i < N; ++i) {
    const ddk_node_view* src = &g->nodes[i];
    ddk_node_view* n = &nodes[i];
    *n = *src;
    n->header = (ddk_struct_header)DDK_STRUCT_HEADER_INIT(ddk_node_view);
    n->node_index = i;
    if (n->debug_name == NULL) n->debug_name = "";
    n->args = &args[ai];
    for (uint32_t k = 0; k < src->num_args; ++k) {
      ddk_arg* arg = &args[ai++];
      *arg = src->args[k];
      if (arg->kind == DDK_ARG_TENSOR) {
        arg->u.tensor = map[arg->u.tensor];
      } else if (arg->kind == DDK_ARG_TENSOR_LIST) {
        uint32_t* list = &entries[ei];
        for (uint32_t e = 0; e < arg->count; ++e) {
          uint32_t x = src->args[k].u.tensors[e];
          list[e] = x == DDK_NO_VALUE ? DDK_NO_VALUE : map[x];
        }
        ei += arg->count;
        arg->u.tensors = list;
      }
    }
    n->outputs = &node_outputs[oi];
    for (uint32_t k = 0; k < src->num_outputs; ++k) node_outputs[oi++] = map[src->outputs[k]];
    plan[i] = (ddk_instruction){DDK_INSTR_KERNEL, i};
  }

  ddk_program prog;
  memset(&prog, 0, sizeof prog);
  prog.format_major = DDK_PROGRAM_FORMAT_MAJOR;
  prog.format_minor = DDK_PROGRAM_FORMAT_MINOR;
  prog.num_values = nv;
  prog.values = values;
  prog.num_nodes = N;
  prog.nodes = nodes;
  prog.num_inputs = g->num_inputs;
  prog.inputs = inputs;
  prog.num_outputs = g->num_outputs;
  prog.outputs = outputs;
  prog.num_instructions = N;
  prog.instructions = plan;
  void* data = NULL;
  size_t size = 0;
  char perr[384] = "";
  st = ddk_program_serialize(&prog, a, &data, &size, perr, sizeof perr);
  ref_free(a, c.base, scratch_size);
  if (st != DDK_OK)
    return ref_fail(err, err_cap, st,
                    "reference: the partition (%u node(s)) is not a valid program: %s", N, perr);
  out_blob->data = data;
  out_blob->size = size;
  snprintf(out_blob->compat, sizeof out_blob->compat, "%s", REF_COMPAT);
  return DDK_OK;
}

/* ---- init / destroy ----------------------------------------------------- */

struct ddk_delegate_handle {
  ddk_allocator allocator;
  ddk_program* program;
  ddk_runtime* runtime;
  ddk_method* method;
};

static void reference_destroy(ddk_delegate_handle* h) {
  if (h == NULL) return;
  ddk_allocator a = h->allocator;
  ddk_method_destroy(h->method);
  ddk_runtime_destroy(h->runtime);
  ddk_program_destroy(h->program);
  ref_free(&a, h, sizeof *h);
}

static ddk_status reference_init(const ddk_backend* self, const void* blob, size_t blob_size,
                                 const char* compat, const ddk_options* options,
                                 const ddk_services* services, ddk_delegate_handle** out_handle,
                                 char* err, size_t err_cap) {
  (void)self;
  *out_handle = NULL;
  if (compat == NULL || strcmp(compat, REF_COMPAT) != 0)
    return ref_fail(err, err_cap, DDK_INCOMPATIBLE_BLOB,
                    "reference: blob compatibility string is '%s', this backend reads '" REF_COMPAT
                    "'",
                    compat ? compat : "(null)");
  const ddk_allocator* a = &services->allocator;
  ddk_delegate_handle* h = ref_alloc(a, sizeof *h);
  if (h == NULL) return ref_fail(err, err_cap, DDK_OUT_OF_MEMORY, "reference: out of memory");
  memset(h, 0, sizeof *h);
  h->allocator = *a;
  char inner[448] = "";
  ddk_status st =
      ddk_program_load_buffer(blob, blob_size, true, a, &h->program, inner, sizeof inner);
  if (st != DDK_OK) {
    st =
        ref_fail(err, err_cap, DDK_INCOMPATIBLE_BLOB,
                 "reference: the blob is not a valid program: %s (%s)", inner, ddk_status_name(st));
    goto fail;
  }
  if (h->program->num_delegates != 0) {
    st = ref_fail(err, err_cap, DDK_INCOMPATIBLE_BLOB,
                  "reference: the blob holds %u delegate(s); it must hold kernels only",
                  h->program->num_delegates);
    goto fail;
  }
  st = ddk_runtime_create(a, &h->runtime, inner, sizeof inner);
  if (st != DDK_OK) {
    st = ref_fail(err, err_cap, st, "reference: nested runtime: %s", inner);
    goto fail;
  }
  if (services->logger.log != NULL) ddk_runtime_set_logger(h->runtime, &services->logger);
  {
    /* Of the host's method options only the seed changes what the kernels
     * compute; the debug checks are the host's, around this delegate. */
    ddk_option pass[1];
    uint32_t num = 0;
    const ddk_option* seed = ddk_options_find(options, "seed");
    if (seed != NULL && seed->type == DDK_OPTION_INT) pass[num++] = *seed;
    ddk_options opts = {DDK_STRUCT_HEADER_INIT(ddk_options), num, pass};
    st = ddk_method_create(h->runtime, h->program, &opts, &h->method, inner, sizeof inner);
  }
  if (st != DDK_OK) {
    st = ref_fail(err, err_cap, st, "reference: nested method: %s", inner);
    goto fail;
  }
  *out_handle = h;
  return DDK_OK;

fail:
  reference_destroy(h);
  return st;
}

/* ---- execute ------------------------------------------------------------ */

static size_t tensor_bytes(const ddk_tensor* t) {
  return ddk_dtype_size(t->dtype) * (size_t)ddk_tensor_numel(t);
}

static ddk_status reference_execute(ddk_delegate_handle* h, const ddk_tensor* const* inputs,
                                    uint32_t num_inputs, ddk_tensor* const* outputs,
                                    uint32_t num_outputs, char* err, size_t err_cap) {
  if (num_inputs != ddk_method_num_inputs(h->method) ||
      num_outputs != ddk_method_num_outputs(h->method))
    return ref_fail(err, err_cap, DDK_INVALID_ARGUMENT,
                    "reference: execute got %u input(s) and %u output(s), the partition has %u "
                    "and %u",
                    num_inputs, num_outputs, ddk_method_num_inputs(h->method),
                    ddk_method_num_outputs(h->method));
  char inner[448] = "";
  for (uint32_t i = 0; i < num_inputs; ++i) {
    const ddk_tensor* t = inputs[i];
    ddk_status st = ddk_method_set_input(h->method, i, t->dtype, t->rank, t->sizes, t->data,
                                         tensor_bytes(t), inner, sizeof inner);
    if (st != DDK_OK) return ref_fail(err, err_cap, st, "reference: %s", inner);
  }
  ddk_status st = ddk_method_execute(h->method, inner, sizeof inner);
  if (st != DDK_OK) return ref_fail(err, err_cap, st, "reference: %s", inner);
  for (uint32_t i = 0; i < num_outputs; ++i) {
    const ddk_tensor* got = ddk_method_output(h->method, i);
    ddk_tensor* t = outputs[i];
    const size_t bytes = tensor_bytes(got);
    if (got->dtype != t->dtype || got->rank != t->rank)
      return ref_fail(err, err_cap, DDK_SHAPE_MISMATCH,
                      "reference: output %u is %s of rank %u, the host expects %s of rank %u", i,
                      ddk_dtype_name(got->dtype), got->rank, ddk_dtype_name(t->dtype), t->rank);
    if (bytes > t->capacity)
      return ref_fail(err, err_cap, DDK_SHAPE_MISMATCH,
                      "reference: output %u needs %zu bytes, the host's buffer holds %zu", i, bytes,
                      t->capacity);
    if (bytes > 0) memcpy(t->data, got->data, bytes);
    /* actual sizes: below the bounds for data-dependent ops (nonzero) */
    for (uint32_t d = 0; d < got->rank; ++d) {
      t->sizes[d] = got->sizes[d];
      t->strides[d] = got->strides[d];
      t->dim_order[d] = got->dim_order[d];
    }
  }
  return DDK_OK;
}

/* ---- query -------------------------------------------------------------- */

static ddk_status reference_query(const ddk_backend* self, const ddk_options* options,
                                  ddk_backend_info* info, char* err, size_t err_cap) {
  (void)self;
  (void)options;
  (void)err;
  (void)err_cap;
  info->available = true;
  info->capabilities = DDK_CAP_FLOAT32 | DDK_CAP_FLOAT16 | DDK_CAP_INT8 | DDK_CAP_DYNAMIC_SHAPES;
  snprintf(info->device_name, sizeof info->device_name, "host CPU (DDK portable kernels)");
  snprintf(info->detail, sizeof info->detail,
           "the reference runtime %s used as a backend: every op with a portable kernel, run "
           "by a nested runtime",
           ddk_runtime_version());
  return DDK_OK;
}

/* ---- the vtable and the entry symbol ------------------------------------ */

static const ddk_backend reference_backend = {
    .header = DDK_STRUCT_HEADER_INIT(ddk_backend),
    .name = "reference",
    .version = DDK_REFERENCE_BACKEND_VERSION,
    .flags = DDK_BACKEND_BLOB_RELEASABLE,
    .user_data = NULL,
    .query = reference_query,
    .partition = reference_partition,
    .preprocess = reference_preprocess,
    .init = reference_init,
    .execute = reference_execute,
    .destroy = reference_destroy,
    .set_profiling = NULL,
};

DDK_DECLARE_BACKEND_ENTRY() {
  if (DDK_ABI_VERSION_MAJOR_OF(host_abi_version) != DDK_ABI_VERSION_MAJOR) {
    ddk_set_error(err, err_cap, "reference backend speaks DDK ABI 1.x only");
    return DDK_ABI_MISMATCH;
  }
  *out_backend = &reference_backend;
  return DDK_OK;
}
