/*
 * method.c — a program made ready to run: planned memory, initialised
 * delegates, and the executor loop. After ddk_method_create nothing here
 * allocates.
 */
#include <stdlib.h>
#include <string.h>

#include "ddk_kernel.h"
#include "memory_plan.h"
#include "runtime_internal.h"

typedef struct method_delegate {
  const ddk_backend* vt;
  ddk_delegate_handle* handle; /* NULL when the delegate fell back */
  bool fell_back;              /* init failed: its nodes run portable */
  const ddk_tensor** inputs;
  ddk_tensor** outputs;
} method_delegate;

/* The executor's profiling test. DDK_NO_PROFILING compiles it out: a
 * variant of the core built only for perf/, the "no profiling at all"
 * baseline that profiling switched off is measured against. */
#ifdef DDK_NO_PROFILING
#define PROFILING(m) ((void)(m), false)
#else
#define PROFILING(m) ((m)->profile)
#endif

/* Capacity of a profiling method's buffer of backend events. */
#define BACKEND_EVENT_CAPACITY 8192u

struct ddk_method {
  ddk_runtime* rt;
  const ddk_program* p;
  ddk_tensor* values;
  size_t* offsets;
  size_t* sizes;
  uint8_t* arena;
  size_t arena_size;
  size_t unplanned_size;
  bool dynamic; /* some value has a dynamic dim: re-infer at execute */
  method_delegate* delegates;
  const ddk_tensor** in_ptrs;
  ddk_tensor** out_ptrs;
  size_t num_ptrs;
  ddk_kernel_fn* kernels; /* per instruction, NULL for delegates */
  bool profile;
  uint64_t rng;        /* the random ops' generator state ("seed" option) */
  size_t guard;        /* "guard_bytes" option, rounded up to the alignment */
  bool check_inputs;   /* "check_inputs" option */
  uint64_t* in_hashes; /* per input of one instruction (check_inputs) */
  uint32_t max_in;     /* entries of in_hashes */
  uint8_t* input_set;  /* per program input: set since create */
  ddk_method_event* events;
  uint32_t num_events;
  ddk_kernel_fn* node_kernels; /* per node: kernels of fallen-back delegates */
  bool* expand;                /* per delegate: fell back (memory plan view) */
  uint32_t num_fallbacks;
  bool outputs_valid;          /* the last execute succeeded */
  ddk_method_backend_event* bevents; /* backend events (profiling only) */
  uint32_t num_bevents, bevents_dropped, current_delegate;
};

/* The method whose delegate is executing on this thread: where the
 * runtime's profiler sink files a backend's events. */
static _Thread_local ddk_method* tls_profiling_method;

void ddk_rt_profile_emit(void* self, const ddk_profile_event* e) {
  (void)self;
  ddk_method* m = tls_profiling_method;
  if (m == NULL || m->bevents == NULL || e == NULL) return;
  if (m->num_bevents == BACKEND_EVENT_CAPACITY) {
    m->bevents_dropped++;
    return;
  }
  ddk_method_backend_event* o = &m->bevents[m->num_bevents++];
  memset(o, 0, sizeof *o);
  o->delegate = m->current_delegate;
  o->backend = m->p->delegates[m->current_delegate].backend_id;
  /* read only what the backend's struct holds (ABI 1.0 events are shorter) */
  if (DDK_STRUCT_HAS_FIELD(&e->header, ddk_profile_event, cycles)) {
    o->kind = e->kind;
    o->node_index = e->node_index;
    o->start_ns = e->start_ns;
    o->end_ns = e->end_ns;
    o->bytes = e->bytes;
    o->flops = e->flops;
    o->cycles = e->cycles;
    snprintf(o->name, sizeof o->name, "%s", e->name ? e->name : "");
  }
  if (DDK_STRUCT_HAS_FIELD(&e->header, ddk_profile_event, detail) && e->detail != NULL)
    snprintf(o->detail, sizeof o->detail, "%s", e->detail);
}

static void set_strides(ddk_tensor* t) {
  /* strides from dim_order: the last dim in dim_order is innermost */
  int64_t s = 1;
  for (uint32_t k = t->rank; k-- > 0;) {
    uint32_t d = t->dim_order[k];
    t->strides[d] = s;
    s *= t->sizes[d] > 0 ? t->sizes[d] : 1;
  }
}

static void method_free(ddk_method* m) {
  const ddk_allocator* a = &m->rt->allocator;
  const ddk_program* p = m->p;
  if (m->delegates != NULL)
    for (uint32_t i = p->num_delegates; i-- > 0;)
      if (m->delegates[i].handle != NULL) m->delegates[i].vt->destroy(m->delegates[i].handle);
  ddk_rt_free(a, m->bevents, sizeof(ddk_method_backend_event) * BACKEND_EVENT_CAPACITY);
  ddk_rt_free(a, m->expand, sizeof(bool) * (p->num_delegates + 1));
  ddk_rt_free(a, m->node_kernels, sizeof(ddk_kernel_fn) * (p->num_nodes + 1));
  ddk_rt_free(a, m->in_hashes, sizeof(uint64_t) * (m->max_in + 1u));
  ddk_rt_free(a, m->input_set, p->num_inputs + 1u);
  ddk_rt_free(a, m->events, sizeof(ddk_method_event) * (p->num_instructions + 1));
  ddk_rt_free(a, m->kernels, sizeof(ddk_kernel_fn) * (p->num_instructions + 1));
  ddk_rt_free(a, m->in_ptrs, sizeof(ddk_tensor*) * (m->num_ptrs + 1));
  ddk_rt_free(a, m->out_ptrs, sizeof(ddk_tensor*) * (m->num_ptrs + 1));
  ddk_rt_free(a, m->delegates, sizeof(method_delegate) * (p->num_delegates + 1));
  ddk_rt_free(a, m->arena, m->arena_size);
  ddk_rt_free(a, m->sizes, sizeof(size_t) * (p->num_values + 1));
  ddk_rt_free(a, m->offsets, sizeof(size_t) * (p->num_values + 1));
  ddk_rt_free(a, m->values, sizeof(ddk_tensor) * (p->num_values + 1));
  ddk_rt_free(a, m, sizeof *m);
}

void ddk_method_destroy(ddk_method* m) {
  if (m != NULL) method_free(m);
}

/* ------------------------------------------------------------------------ */
/* Debug checks: guard bytes around planned values, unchanged inputs         */
/* ------------------------------------------------------------------------ */

/* Bytes of value v at its declared (upper-bound) sizes. */
static size_t bound_bytes(const ddk_program* p, uint32_t v) {
  const ddk_tensor* t = &p->values[v].tensor;
  size_t n = ddk_dtype_size(t->dtype);
  for (uint32_t i = 0; i < t->rank; ++i) n *= (size_t)t->sizes[i];
  return n;
}

/* Number of input values (tensor args, tensor-list entries, delegate
 * inputs) of an instruction, and the k-th one. */
static uint32_t instr_num_inputs(const ddk_program* p, ddk_instruction in) {
  if (in.kind != DDK_INSTR_KERNEL) return p->delegates[in.index].num_inputs;
  const ddk_node_view* n = &p->nodes[in.index];
  uint32_t c = 0;
  for (uint32_t a = 0; a < n->num_args; ++a)
    c += n->args[a].kind == DDK_ARG_TENSOR        ? 1u
         : n->args[a].kind == DDK_ARG_TENSOR_LIST ? n->args[a].count
                                                  : 0u;
  return c;
}

static uint32_t instr_input(const ddk_program* p, ddk_instruction in, uint32_t k) {
  if (in.kind != DDK_INSTR_KERNEL) return p->delegates[in.index].inputs[k];
  const ddk_node_view* n = &p->nodes[in.index];
  for (uint32_t a = 0; a < n->num_args; ++a) {
    const ddk_arg* arg = &n->args[a];
    if (arg->kind == DDK_ARG_TENSOR) {
      if (k == 0) return arg->u.tensor;
      --k;
    } else if (arg->kind == DDK_ARG_TENSOR_LIST) {
      if (k < arg->count) return arg->u.tensors[k];
      k -= arg->count;
    }
  }
  return DDK_NO_VALUE;
}

static uint32_t instr_num_outputs(const ddk_program* p, ddk_instruction in) {
  return in.kind == DDK_INSTR_KERNEL ? p->nodes[in.index].num_outputs
                                     : p->delegates[in.index].num_outputs;
}

static uint32_t instr_output(const ddk_program* p, ddk_instruction in, uint32_t k) {
  return in.kind == DDK_INSTR_KERNEL ? p->nodes[in.index].outputs[k]
                                     : p->delegates[in.index].outputs[k];
}

/* The guard pattern: position dependent, so that no single fill value
 * passes for it. */
static uint8_t guard_byte(size_t i) {
  return (uint8_t)(0xA5u ^ (i * 29u));
}

/* Fills the guard bytes of value v: before its data, and after its
 * declared bytes up to the end of its reservation. */
static void guard_fill(ddk_method* m, uint32_t v) {
  if (m->guard == 0 || v == DDK_NO_VALUE || m->offsets[v] == SIZE_MAX) return;
  uint8_t* base = m->arena + m->offsets[v];
  const size_t end = m->guard + bound_bytes(m->p, v);
  for (size_t i = 0; i < m->guard; ++i) base[i] = guard_byte(i);
  for (size_t i = end; i < m->sizes[v]; ++i) base[i] = guard_byte(i);
}

/* The first damaged guard byte of value v, as an offset from its data
 * (negative: before it); false when the guards are intact. */
static bool guard_damaged(const ddk_method* m, uint32_t v, long long* where) {
  if (m->guard == 0 || v == DDK_NO_VALUE || m->offsets[v] == SIZE_MAX) return false;
  const uint8_t* base = m->arena + m->offsets[v];
  const size_t end = m->guard + bound_bytes(m->p, v);
  for (size_t i = 0; i < m->guard; ++i)
    if (base[i] != guard_byte(i)) {
      *where = (long long)i - (long long)m->guard;
      return true;
    }
  for (size_t i = end; i < m->sizes[v]; ++i)
    if (base[i] != guard_byte(i)) {
      *where = (long long)(i - m->guard);
      return true;
    }
  return false;
}

/* FNV-1a over the current bytes of value v. */
static uint64_t value_hash(const ddk_method* m, uint32_t v) {
  const ddk_tensor* t = &m->values[v];
  const uint8_t* b = (const uint8_t*)t->data;
  size_t n = ddk_dtype_size(t->dtype) * (size_t)ddk_tensor_numel(t);
  uint64_t h = 0xcbf29ce484222325u;
  for (size_t i = 0; b != NULL && i < n; ++i) h = (h ^ b[i]) * 0x100000001b3u;
  return h;
}

/* Before instruction `in`: guard its outputs, remember its inputs. */
static void checks_before(ddk_method* m, ddk_instruction in) {
  const ddk_program* p = m->p;
  for (uint32_t k = 0; k < instr_num_outputs(p, in); ++k) guard_fill(m, instr_output(p, in, k));
  if (m->check_inputs)
    for (uint32_t k = 0; k < instr_num_inputs(p, in); ++k) {
      uint32_t v = instr_input(p, in, k);
      m->in_hashes[k] = v == DDK_NO_VALUE ? 0 : value_hash(m, v);
    }
}

/* After instruction `in`: its outputs' guards intact, its inputs as they
 * were. `who` names the instruction in messages. */
static ddk_status checks_after(ddk_method* m, ddk_instruction in, const char* who, char* err,
                               size_t err_cap) {
  const ddk_program* p = m->p;
  for (uint32_t k = 0; k < instr_num_outputs(p, in); ++k) {
    uint32_t v = instr_output(p, in, k);
    long long where = 0;
    if (guard_damaged(m, v, &where))
      return ddk_rt_fail(err, err_cap, DDK_OUT_OF_BOUNDS_WRITE,
                         "%s wrote outside output %u (value %u '%s', %zu bytes) at byte %lld", who,
                         k, v, p->values[v].name, bound_bytes(p, v), where);
  }
  if (m->check_inputs)
    for (uint32_t k = 0; k < instr_num_inputs(p, in); ++k) {
      uint32_t v = instr_input(p, in, k);
      if (v != DDK_NO_VALUE && value_hash(m, v) != m->in_hashes[k])
        return ddk_rt_fail(err, err_cap, DDK_INPUT_MODIFIED, "%s modified input %u (value %u '%s')",
                           who, k, v, p->values[v].name);
    }
  return DDK_OK;
}

/* Bytes an instruction reads and writes (its tensors at their current
 * sizes; a kernel's constant operands included). */
static uint64_t instr_bytes(const ddk_method* m, ddk_instruction in) {
  uint64_t total = 0;
  for (uint32_t k = 0; k < instr_num_inputs(m->p, in); ++k) {
    uint32_t v = instr_input(m->p, in, k);
    if (v != DDK_NO_VALUE)
      total += ddk_dtype_size(m->values[v].dtype) * (uint64_t)ddk_tensor_numel(&m->values[v]);
  }
  for (uint32_t k = 0; k < instr_num_outputs(m->p, in); ++k) {
    uint32_t v = instr_output(m->p, in, k);
    total += ddk_dtype_size(m->values[v].dtype) * (uint64_t)ddk_tensor_numel(&m->values[v]);
  }
  return total;
}

/* Infers the outputs of kernel node `n` into m->values and checks they fit
 * their planned buffers. */
static ddk_status infer_and_check(ddk_method* m, uint32_t node_index, char* err, size_t err_cap) {
  const ddk_node_view* n = &m->p->nodes[node_index];
  char ierr[384] = "";
  ddk_status st = ddk_infer_node(n, m->values, ierr, sizeof ierr);
  if (st == DDK_UNSUPPORTED_OP) return DDK_OK; /* keep declared sizes */
  if (st != DDK_OK)
    return ddk_rt_fail(err, err_cap, st, "node %u (%s): %s", node_index, n->op_name, ierr);
  for (uint32_t k = 0; k < n->num_outputs; ++k) {
    ddk_tensor* t = &m->values[n->outputs[k]];
    size_t need = ddk_dtype_size(t->dtype) * (size_t)ddk_tensor_numel(t);
    if (need > t->capacity)
      return ddk_rt_fail(err, err_cap, DDK_SHAPE_MISMATCH,
                         "node %u (%s): output %u needs %zu bytes but its "
                         "declared bound holds %zu",
                         node_index, n->op_name, k, need, t->capacity);
  }
  return DDK_OK;
}

ddk_status ddk_method_create(ddk_runtime* rt, const ddk_program* p, const ddk_options* options,
                             ddk_method** out, char* err, size_t err_cap) {
  if (out) *out = NULL;
  if (rt == NULL || p == NULL || out == NULL)
    return ddk_rt_fail(err, err_cap, DDK_INVALID_ARGUMENT, "ddk_method_create: NULL argument");
  ddk_status st = ddk_program_check_runnable(rt, p, err, err_cap);
  if (st != DDK_OK) return st;
  const ddk_allocator* a = &rt->allocator;
  ddk_method* m = ddk_rt_alloc(a, sizeof *m);
  if (m == NULL) return ddk_rt_fail(err, err_cap, DDK_OUT_OF_MEMORY, "method: out of memory");
  m->rt = rt;
  m->p = p;
  m->profile = ddk_options_get_bool(options, "profile", false);
#ifdef DDK_NO_PROFILING
  if (m->profile) {
    ddk_rt_free(a, m, sizeof *m);
    return ddk_rt_fail(err, err_cap, DDK_UNSUPPORTED_FEATURE,
                       "option profile: this build has profiling compiled out "
                       "(DDK_NO_PROFILING, perf/ only)");
  }
#endif
  m->rng = (uint64_t)ddk_options_get_int(options, "seed", 0);
  {
    int64_t g = ddk_options_get_int(options, "guard_bytes", 0);
    if (g < 0 || g > ((int64_t)1 << 20)) {
      ddk_rt_free(a, m, sizeof *m);
      return ddk_rt_fail(err, err_cap, DDK_INVALID_ARGUMENT,
                         "option guard_bytes: %lld is not in [0, 2^20]", (long long)g);
    }
    m->guard = ((size_t)g + DDK_PLAN_ALIGNMENT - 1) / DDK_PLAN_ALIGNMENT * DDK_PLAN_ALIGNMENT;
  }
  m->check_inputs = ddk_options_get_bool(options, "check_inputs", false);
  if (m->check_inputs)
    for (uint32_t i = 0; i < p->num_instructions; ++i) {
      uint32_t n = instr_num_inputs(p, p->instructions[i]);
      if (n > m->max_in) m->max_in = n;
    }
  uint32_t V = p->num_values;
  m->values = ddk_rt_alloc(a, sizeof(ddk_tensor) * (V + 1));
  m->offsets = ddk_rt_alloc(a, sizeof(size_t) * (V + 1));
  m->sizes = ddk_rt_alloc(a, sizeof(size_t) * (V + 1));
  m->delegates = ddk_rt_alloc(a, sizeof(method_delegate) * (p->num_delegates + 1));
  m->kernels = ddk_rt_alloc(a, sizeof(ddk_kernel_fn) * (p->num_instructions + 1));
  m->events = ddk_rt_alloc(a, sizeof(ddk_method_event) * (p->num_instructions + 1));
  m->input_set = ddk_rt_alloc(a, p->num_inputs + 1u);
  m->in_hashes = ddk_rt_alloc(a, sizeof(uint64_t) * (m->max_in + 1u));
  m->node_kernels = ddk_rt_alloc(a, sizeof(ddk_kernel_fn) * (p->num_nodes + 1));
  m->expand = ddk_rt_alloc(a, sizeof(bool) * (p->num_delegates + 1));
  if (m->profile && p->num_delegates > 0)
    m->bevents = ddk_rt_alloc(a, sizeof(ddk_method_backend_event) * BACKEND_EVENT_CAPACITY);
  for (uint32_t i = 0; i < p->num_delegates; ++i)
    m->num_ptrs += p->delegates[i].num_inputs + p->delegates[i].num_outputs;
  m->in_ptrs = ddk_rt_alloc(a, sizeof(ddk_tensor*) * (m->num_ptrs + 1));
  m->out_ptrs = ddk_rt_alloc(a, sizeof(ddk_tensor*) * (m->num_ptrs + 1));
  if (!m->values || !m->offsets || !m->sizes || !m->delegates || !m->kernels || !m->events ||
      !m->input_set || !m->in_hashes || !m->in_ptrs || !m->out_ptrs || !m->node_kernels ||
      !m->expand || (m->profile && p->num_delegates > 0 && !m->bevents)) {
    st = ddk_rt_fail(err, err_cap, DDK_OUT_OF_MEMORY, "method: out of memory");
    goto fail;
  }

  /* delegates: init first, so that a fallen-back delegate's nodes get
   * planned memory and kernels below */
  {
    const bool allow_fallback = ddk_options_get_bool(options, "delegate_fallback", false);
    size_t used = 0;
    for (uint32_t i = 0; i < p->num_delegates; ++i) {
      const ddk_program_delegate* d = &p->delegates[i];
      method_delegate* md = &m->delegates[i];
      md->vt = ddk_rt_backend_vtable(rt, d->backend_id);
      md->inputs = &m->in_ptrs[used];
      md->outputs = &m->out_ptrs[used];
      used += d->num_inputs + d->num_outputs;
      for (uint32_t k = 0; k < d->num_inputs; ++k) md->inputs[k] = &m->values[d->inputs[k]];
      for (uint32_t k = 0; k < d->num_outputs; ++k) md->outputs[k] = &m->values[d->outputs[k]];
      char berr[512] = "";
      st = md->vt->init(md->vt, d->blob, (size_t)d->blob_size, d->compat, options, &rt->services,
                        &md->handle, berr, sizeof berr);
      if (st == DDK_OK && md->handle == NULL) {
        st = DDK_BACKEND_FAILURE;
        snprintf(berr, sizeof berr, "init returned OK but no handle");
      }
      if (st == DDK_OK) {
        if (m->profile && md->vt->set_profiling != NULL) md->vt->set_profiling(md->handle, true);
        continue;
      }
      md->handle = NULL;
      const char* why = berr[0] ? berr : "no message";
      const char* first_op = d->num_nodes ? p->nodes[d->nodes[0]].op_name : "-";
      uint32_t first = d->num_nodes ? d->nodes[0] : 0;
      const char* no_kernel = NULL;
      for (uint32_t k = 0; k < d->num_nodes && no_kernel == NULL; ++k)
        if (ddk_kernel_lookup(p->nodes[d->nodes[k]].op_id) == NULL)
          no_kernel = p->nodes[d->nodes[k]].op_name;
      if (!allow_fallback || no_kernel != NULL) {
        st = ddk_rt_fail(err, err_cap, st,
                         "delegate %u (backend '%s', %u node(s) from node %u %s): init failed: "
                         "%s (%s)%s%s%s",
                         i, d->backend_id, d->num_nodes, first, first_op, why,
                         ddk_status_name(st),
                         no_kernel ? "; cannot fall back: " : "; the method option "
                         "delegate_fallback=true runs these nodes on the portable kernels instead",
                         no_kernel ? no_kernel : "", no_kernel ? " has no portable kernel" : "");
        goto fail;
      }
      ddk_rt_log(rt, DDK_LOG_WARNING,
                 "delegate %u (backend '%s', %u node(s) from node %u %s): init failed: %s (%s); "
                 "falling back to the portable kernels for these nodes (delegate_fallback)",
                 i, d->backend_id, d->num_nodes, first, first_op, why, ddk_status_name(st));
      md->fell_back = true;
      m->expand[i] = true;
      m->num_fallbacks++;
      st = DDK_OK;
    }
  }

  /* memory */
  st = ddk_memory_plan(p, m->expand, m->guard, a, m->offsets, m->sizes, &m->arena_size, &m->unplanned_size,
                       err, err_cap);
  if (st != DDK_OK) goto fail;
  m->arena = ddk_rt_alloc(a, m->arena_size);
  if (m->arena == NULL) {
    st = ddk_rt_fail(err, err_cap, DDK_OUT_OF_MEMORY, "method: cannot allocate the %zu-byte arena",
                     m->arena_size);
    goto fail;
  }
  for (uint32_t v = 0; v < V; ++v) {
    const ddk_value_desc* d = &p->values[v];
    ddk_tensor* t = &m->values[v];
    *t = d->tensor;
    t->header = (ddk_struct_header)DDK_STRUCT_HEADER_INIT(ddk_tensor);
    if (d->dynamic_mask != 0) m->dynamic = true;
    if (d->flags & DDK_VALUE_CONSTANT) {
      t->capacity = ddk_dtype_size(t->dtype) * (size_t)ddk_tensor_numel(t);
    } else if (m->offsets[v] != SIZE_MAX) {
      t->data = m->arena + m->offsets[v] + m->guard;
      t->capacity = m->guard ? bound_bytes(p, v) : m->sizes[v];
    } else {
      t->data = NULL;
      t->capacity = 0;
    }
    set_strides(t);
  }

  /* kernels, and static shapes inferred once */
  for (uint32_t i = 0; i < p->num_instructions; ++i) {
    ddk_instruction in = p->instructions[i];
    if (in.kind != DDK_INSTR_KERNEL) continue;
    m->kernels[i] = ddk_kernel_lookup(p->nodes[in.index].op_id);
    /* a kernel that sets its outputs' sizes from the data makes every
     * later shape depend on the run: re-infer at each execute */
    const ddk_op_info* op = ddk_op_get(p->nodes[in.index].op_id);
    if (op != NULL && (op->flags & DDK_OP_FLAG_DATA_DEPENDENT)) m->dynamic = true;
    if (m->kernels[i] == NULL) {
      st = ddk_rt_fail(err, err_cap, DDK_UNSUPPORTED_OP, "node %u: %s has no portable kernel",
                       in.index, p->nodes[in.index].op_name);
      goto fail;
    }
    st = infer_and_check(m, in.index, err, err_cap);
    if (st != DDK_OK) goto fail;
  }
  for (uint32_t i = 0; i < p->num_delegates; ++i) { /* fallen-back nodes */
    if (!m->expand[i]) continue;
    const ddk_program_delegate* d = &p->delegates[i];
    for (uint32_t k = 0; k < d->num_nodes; ++k) {
      uint32_t n = d->nodes[k];
      m->node_kernels[n] = ddk_kernel_lookup(p->nodes[n].op_id);
      const ddk_op_info* op = ddk_op_get(p->nodes[n].op_id);
      if (op != NULL && (op->flags & DDK_OP_FLAG_DATA_DEPENDENT)) m->dynamic = true;
      st = infer_and_check(m, n, err, err_cap);
      if (st != DDK_OK) goto fail;
    }
  }

  *out = m;
  return DDK_OK;

fail:
  method_free(m);
  return st;
}

uint32_t ddk_method_num_inputs(const ddk_method* m) {
  return m ? m->p->num_inputs : 0;
}

uint32_t ddk_method_num_outputs(const ddk_method* m) {
  return m ? m->p->num_outputs : 0;
}

const ddk_tensor* ddk_method_input_spec(const ddk_method* m, uint32_t index) {
  if (m == NULL || index >= m->p->num_inputs) return NULL;
  return &m->values[m->p->inputs[index]];
}

ddk_status ddk_method_set_input(ddk_method* m, uint32_t index, ddk_dtype dtype, uint32_t rank,
                                const int64_t* sizes, const void* data, size_t nbytes, char* err,
                                size_t err_cap) {
  if (m == NULL) return ddk_rt_fail(err, err_cap, DDK_INVALID_ARGUMENT, "method is NULL");
  if (index >= m->p->num_inputs)
    return ddk_rt_fail(err, err_cap, DDK_OUT_OF_RANGE,
                       "input %u out of range: the program has %u input(s)", index,
                       m->p->num_inputs);
  uint32_t v = m->p->inputs[index];
  const ddk_value_desc* d = &m->p->values[v];
  ddk_tensor* t = &m->values[v];
  if (dtype != d->tensor.dtype)
    return ddk_rt_fail(err, err_cap, DDK_DTYPE_MISMATCH,
                       "input %u ('%s'): expected dtype %s, got %s", index, d->name,
                       ddk_dtype_name(d->tensor.dtype), ddk_dtype_name(dtype));
  if (rank > 0 && sizes == NULL)
    return ddk_rt_fail(err, err_cap, DDK_INVALID_ARGUMENT, "input %u ('%s'): sizes is NULL", index,
                       d->name);
  if (rank != d->tensor.rank)
    return ddk_rt_fail(err, err_cap, DDK_SHAPE_MISMATCH,
                       "input %u ('%s'): expected rank %u, got %u", index, d->name, d->tensor.rank,
                       rank);
  for (uint32_t i = 0; i < rank; ++i) {
    bool dyn = (d->dynamic_mask >> i) & 1u;
    int64_t bound = d->tensor.sizes[i];
    if (sizes[i] < 0 || (dyn ? sizes[i] > bound : sizes[i] != bound))
      return ddk_rt_fail(err, err_cap, DDK_SHAPE_MISMATCH,
                         "input %u ('%s'): dim %u is %lld but the program declares %s%lld", index,
                         d->name, i, (long long)sizes[i], dyn ? "at most " : "", (long long)bound);
  }
  size_t need = ddk_dtype_size(dtype);
  for (uint32_t i = 0; i < rank; ++i) need *= (size_t)sizes[i];
  if (need > 0 && data == NULL)
    return ddk_rt_fail(err, err_cap, DDK_INVALID_ARGUMENT, "input %u ('%s'): data is NULL", index,
                       d->name);
  if (nbytes != need)
    return ddk_rt_fail(err, err_cap, DDK_INVALID_ARGUMENT,
                       "input %u ('%s'): %zu bytes given, %zu expected", index, d->name, nbytes,
                       need);
  for (uint32_t i = 0; i < rank; ++i) t->sizes[i] = sizes[i];
  set_strides(t);
  if (need > 0) memcpy(t->data, data, need);
  m->input_set[index] = 1;
  return DDK_OK;
}

/* Runs the nodes of fallen-back delegate `di` on their portable kernels. */
static ddk_status run_fallback(ddk_method* m, ddk_kernel_ctx* ctx, uint32_t di, char* err,
                               size_t err_cap) {
  const ddk_program* p = m->p;
  const ddk_program_delegate* d = &p->delegates[di];
  for (uint32_t k = 0; k < d->num_nodes; ++k) {
    const ddk_node_view* n = &p->nodes[d->nodes[k]];
    ddk_status st = DDK_OK;
    if (m->dynamic) st = infer_and_check(m, d->nodes[k], err, err_cap);
    if (st == DDK_OK) st = m->node_kernels[d->nodes[k]](ctx, n);
    if (st != DDK_OK) {
      char kmsg[512];
      snprintf(kmsg, sizeof kmsg, "%s", err && err_cap ? err : "");
      return ddk_rt_fail(err, err_cap, st, "node %u ('%s', fallback of delegate %u '%s'): %s",
                         d->nodes[k], n->debug_name, di, d->backend_id, kmsg);
    }
  }
  return DDK_OK;
}

static ddk_status method_run(ddk_method* m, char* err, size_t err_cap);

ddk_status ddk_method_execute(ddk_method* m, char* err, size_t err_cap) {
  if (m == NULL) return ddk_rt_fail(err, err_cap, DDK_INVALID_ARGUMENT, "method is NULL");
  m->outputs_valid = false;
  m->num_bevents = 0;
  m->bevents_dropped = 0;
  ddk_status st = method_run(m, err, err_cap);
  m->outputs_valid = st == DDK_OK;
  return st;
}

static ddk_status method_run(ddk_method* m, char* err, size_t err_cap) {
  const ddk_program* p = m->p;
  ddk_kernel_ctx ctx = {m->values, err, err_cap, &m->rng};
  m->num_events = 0;
  for (uint32_t i = 0; i < p->num_inputs; ++i)
    if (!m->input_set[i])
      return ddk_rt_fail(err, err_cap, DDK_INVALID_ARGUMENT,
                         "input %u ('%s') was never set: call "
                         "ddk_method_set_input before execute",
                         i, p->values[p->inputs[i]].name);
  for (uint32_t i = 0; i < p->num_instructions; ++i) {
    ddk_instruction in = p->instructions[i];
    uint64_t t0 = PROFILING(m) ? ddk_rt_now_ns() : 0;
    ddk_status st;
    if (in.kind == DDK_INSTR_KERNEL) {
      const ddk_node_view* n = &p->nodes[in.index];
      if (m->dynamic) {
        st = infer_and_check(m, in.index, err, err_cap);
        if (st != DDK_OK) return st;
      }
      if (m->guard || m->check_inputs) checks_before(m, in);
      st = m->kernels[i](&ctx, n);
      if (st == DDK_OK && (m->guard || m->check_inputs)) {
        char who[160];
        snprintf(who, sizeof who, "node %u ('%s', %s)", in.index, n->debug_name, n->op_name);
        st = checks_after(m, in, who, err, err_cap);
        if (st != DDK_OK) return st;
      }
      if (st != DDK_OK) {
        /* prefix the node index, keeping the kernel's message */
        char kmsg[512];
        snprintf(kmsg, sizeof kmsg, "%s", err && err_cap ? err : "");
        return ddk_rt_fail(err, err_cap, st, "node %u ('%s'): %s", in.index, n->debug_name, kmsg);
      }
    } else {
      const ddk_program_delegate* d = &p->delegates[in.index];
      method_delegate* md = &m->delegates[in.index];
      if (m->dynamic)
        for (uint32_t k = 0; k < d->num_outputs; ++k) {
          ddk_tensor* t = md->outputs[k];
          *t = p->values[d->outputs[k]].tensor;
          t->header = (ddk_struct_header)DDK_STRUCT_HEADER_INIT(ddk_tensor);
          t->data = m->arena + m->offsets[d->outputs[k]] + m->guard;
          t->capacity = m->guard ? bound_bytes(p, d->outputs[k]) : m->sizes[d->outputs[k]];
          set_strides(t);
        }
      char berr[512] = "";
      if (m->guard || m->check_inputs) checks_before(m, in);
      if (md->fell_back) {
        st = run_fallback(m, &ctx, in.index, err, err_cap);
        if (st != DDK_OK) return st;
      } else {
        ddk_method* outer = tls_profiling_method;
        if (m->bevents != NULL) {
          tls_profiling_method = m;
          m->current_delegate = in.index;
        }
        st = md->vt->execute(md->handle, md->inputs, d->num_inputs, md->outputs, d->num_outputs,
                             berr, sizeof berr);
        tls_profiling_method = outer;
      }
      if (st != DDK_OK)
        return ddk_rt_fail(err, err_cap, st, "delegate %u (backend '%s'): execute failed: %s (%s)",
                           in.index, d->backend_id, berr[0] ? berr : "no message",
                           ddk_status_name(st));
      if (m->guard || m->check_inputs) {
        char who[160];
        snprintf(who, sizeof who, "delegate %u (backend '%s')", in.index, d->backend_id);
        st = checks_after(m, in, who, err, err_cap);
        if (st != DDK_OK) return st;
      }
    }
    if (PROFILING(m)) {
      ddk_method_event* e = &m->events[m->num_events++];
      e->instruction = i;
      if (in.kind == DDK_INSTR_KERNEL) {
        e->node_index = in.index;
        e->backend = "portable";
        e->name = p->nodes[in.index].op_name;
      } else {
        const ddk_program_delegate* d = &p->delegates[in.index];
        e->node_index = d->num_nodes ? d->nodes[0] : DDK_NO_VALUE;
        e->backend = m->delegates[in.index].fell_back ? "portable" : d->backend_id;
        e->name = m->delegates[in.index].fell_back ? "delegate fallback" : "delegate";
      }
      e->start_ns = t0;
      e->end_ns = ddk_rt_now_ns();
      e->bytes = instr_bytes(m, in);
    }
  }
  return DDK_OK;
}

const ddk_tensor* ddk_method_output(const ddk_method* m, uint32_t index) {
  if (m == NULL || index >= m->p->num_outputs || !m->outputs_valid) return NULL;
  return &m->values[m->p->outputs[index]];
}

size_t ddk_method_arena_size(const ddk_method* m) {
  return m ? m->arena_size : 0;
}

size_t ddk_method_unplanned_size(const ddk_method* m) {
  return m ? m->unplanned_size : 0;
}

uint32_t ddk_method_events(const ddk_method* m, const ddk_method_event** out_events) {
  if (m == NULL) return 0;
  if (out_events) *out_events = m->events;
  return m->num_events;
}

uint32_t ddk_method_backend_events(const ddk_method* m, const ddk_method_backend_event** out_events,
                                   uint32_t* out_dropped) {
  if (out_dropped) *out_dropped = m ? m->bevents_dropped : 0;
  if (out_events) *out_events = m ? m->bevents : NULL;
  return m ? m->num_bevents : 0;
}

uint32_t ddk_method_num_fallbacks(const ddk_method* m) {
  return m ? m->num_fallbacks : 0;
}

bool ddk_method_delegate_fell_back(const ddk_method* m, uint32_t delegate) {
  return m != NULL && delegate < m->p->num_delegates && m->delegates[delegate].fell_back;
}
