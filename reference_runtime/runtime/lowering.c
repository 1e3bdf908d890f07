/*
 * lowering.c — partition, group, preprocess: turns a program into one with
 * delegate instructions.
 *
 * The plan of the input program is a sequence of units (a kernel node, or
 * a delegate lowered earlier). Backends, in priority order, claim kernel
 * nodes. Units are then grouped in plan order: a claimed node joins an
 * existing group of its backend when that creates no cycle in the group
 * graph (preferring a group it reads from), else starts a new group; every
 * other unit is a group of its own. A group G may take node n iff no
 * predecessor group g of n (g != G) has G among its ancestors: otherwise
 * the path G -> ... -> g -> n would leave and re-enter G. A claimed node
 * that reads only constants, directly or through such nodes (a weight's
 * permute or dequantize, say), is placed with its first consumer
 * when that consumer's group is of the same backend, so a backend sees
 * a weight transform in the partition that uses the weight; otherwise it
 * forms a group of its own. A backend with partition_grouped (ABI 1.1)
 * also labels its claims: nodes with different labels never share a
 * group. Groups are then
 * ordered topologically, each backend group is preprocessed into a blob,
 * and the result is serialised and re-loaded, so the verifier checks it.
 */
#include <stdlib.h>
#include <string.h>

#include "runtime_internal.h"

typedef struct lower_state {
  const ddk_allocator* a;
  const ddk_program* p;
  uint32_t num_units;
  ddk_instruction* units;   /* the input plan */
  int32_t* claim;           /* per node: backend slot claiming it, or -1 */
  uint32_t* label;          /* per node: the backend's group label (0) */
  uint32_t* producer_unit;  /* per value: unit producing it, or NO_VALUE */
  uint32_t* unit_group;     /* per unit: its group */
  int32_t* group_backend;   /* per group: backend index, -1 = not new */
  uint32_t* group_label;    /* per group: the label its nodes carry */
  uint32_t num_groups;
  uint32_t words;           /* 64-bit words per ancestor bitset */
  uint64_t* anc;            /* num_units bitsets of `words` words */
} lower_state;

#define BIT_GET(set, i) (((set)[(i) >> 6] >> ((i)&63)) & 1u)
#define BIT_SET(set, i) ((set)[(i) >> 6] |= (uint64_t)1 << ((i)&63))

/* Calls fn(value) for every tensor value read by a unit. */
typedef void (*value_fn)(void* ctx, uint32_t value);

static void for_each_node_input(const ddk_node_view* n, value_fn fn,
                                void* ctx) {
  for (uint32_t i = 0; i < n->num_args; ++i) {
    const ddk_arg* arg = &n->args[i];
    if (arg->kind == DDK_ARG_TENSOR) fn(ctx, arg->u.tensor);
    if (arg->kind == DDK_ARG_TENSOR_LIST)
      for (uint32_t k = 0; k < arg->count; ++k)
        if (arg->u.tensors[k] != DDK_NO_VALUE) fn(ctx, arg->u.tensors[k]);
  }
}

static void for_each_unit_input(const ddk_program* p, ddk_instruction u,
                                 value_fn fn, void* ctx) {
  if (u.kind == DDK_INSTR_KERNEL) {
    for_each_node_input(&p->nodes[u.index], fn, ctx);
  } else {
    const ddk_program_delegate* d = &p->delegates[u.index];
    for (uint32_t i = 0; i < d->num_inputs; ++i) fn(ctx, d->inputs[i]);
  }
}

typedef struct pred_ctx {
  lower_state* s;
  uint32_t* preds; /* distinct predecessor groups */
  uint32_t count;
} pred_ctx;

/* unit_group value of a unit whose group waits for its first consumer. */
#define GROUP_DEFERRED (UINT32_MAX - 1u)

static void collect_pred(void* vctx, uint32_t value) {
  pred_ctx* c = vctx;
  uint32_t pu = c->s->producer_unit[value];
  if (pu == DDK_NO_VALUE) return;
  uint32_t g = c->s->unit_group[pu];
  if (g == GROUP_DEFERRED) return;
  for (uint32_t i = 0; i < c->count; ++i)
    if (c->preds[i] == g) return;
  c->preds[c->count++] = g;
}

/* Resolving deferred producers of one unit: those claimed by another
 * backend than `backend` get a group of their own (mode 0); the rest join
 * `group` (mode 1). */
typedef struct defer_ctx {
  lower_state* s;
  int32_t backend;
  uint32_t group;
  int mode;
} defer_ctx;

static void resolve_deferred(void* vctx, uint32_t value);

/* Puts deferred unit pu into group G, with the deferred units it reads. */
static void assign_deferred(lower_state* s, uint32_t pu, uint32_t G) {
  s->unit_group[pu] = G;
  defer_ctx dc = {s, s->claim[s->units[pu].index], G, 1};
  for_each_unit_input(s->p, s->units[pu], resolve_deferred, &dc);
}

static void resolve_deferred(void* vctx, uint32_t value) {
  defer_ctx* c = vctx;
  lower_state* s = c->s;
  uint32_t pu = s->producer_unit[value];
  if (pu == DDK_NO_VALUE || s->unit_group[pu] != GROUP_DEFERRED) return;
  int32_t b = s->claim[s->units[pu].index];
  if (c->mode == 0 && b != c->backend) {
    uint32_t G = s->num_groups++;
    s->group_backend[G] = b;
    s->group_label[G] = s->label[s->units[pu].index];
    assign_deferred(s, pu, G);
  } else if (c->mode == 1) {
    assign_deferred(s, pu, c->group);
  }
}

/* Whether a unit reads only constants and deferred units' outputs. */
typedef struct weight_probe {
  const lower_state* s;
  bool weight_only;
} weight_probe;

static void probe_weight(void* vctx, uint32_t value) {
  weight_probe* c = vctx;
  if (c->s->p->values[value].flags & DDK_VALUE_CONSTANT) return;
  uint32_t pu = c->s->producer_unit[value];
  if (pu == DDK_NO_VALUE || c->s->unit_group[pu] != GROUP_DEFERRED)
    c->weight_only = false;
}

/* True when node-unit u may join group G without a cycle. */
static bool can_join(const lower_state* s, uint32_t G, const pred_ctx* pc) {
  for (uint32_t i = 0; i < pc->count; ++i) {
    uint32_t g = pc->preds[i];
    if (g != G && BIT_GET(&s->anc[(size_t)g * s->words], G)) return false;
  }
  return true;
}

/* Adds the predecessors of a unit (and their ancestors) to G's ancestors,
 * then propagates G's grown ancestry to every group that descends from G. */
static void add_ancestry(lower_state* s, uint32_t G, const pred_ctx* pc) {
  uint64_t* ag = &s->anc[(size_t)G * s->words];
  for (uint32_t i = 0; i < pc->count; ++i) {
    uint32_t g = pc->preds[i];
    if (g == G) continue;
    BIT_SET(ag, g);
    const uint64_t* ap = &s->anc[(size_t)g * s->words];
    for (uint32_t w = 0; w < s->words; ++w) ag[w] |= ap[w];
  }
  for (uint32_t h = 0; h < s->num_groups; ++h) {
    if (h == G) continue;
    uint64_t* ah = &s->anc[(size_t)h * s->words];
    if (!BIT_GET(ah, G)) continue;
    for (uint32_t w = 0; w < s->words; ++w) ah[w] |= ag[w];
  }
}

/* ---- per-group inputs and outputs -------------------------------------- */

typedef struct io_ctx {
  const lower_state* s;
  uint32_t group;
  uint32_t* list;
  uint32_t count;
  uint32_t cap;
} io_ctx;

static void collect_group_input(void* vctx, uint32_t value) {
  io_ctx* c = vctx;
  const ddk_program* p = c->s->p;
  if (p->values[value].flags & DDK_VALUE_CONSTANT) return;
  uint32_t pu = c->s->producer_unit[value];
  if (pu != DDK_NO_VALUE && c->s->unit_group[pu] == c->group) return;
  for (uint32_t i = 0; i < c->count; ++i)
    if (c->list[i] == value) return;
  if (c->count < c->cap) c->list[c->count++] = value;
}

typedef struct use_ctx {
  uint32_t value;
  bool used;
} use_ctx;

static void check_use(void* vctx, uint32_t value) {
  use_ctx* c = vctx;
  if (value == c->value) c->used = true;
}

static bool used_outside(const lower_state* s, uint32_t group,
                         uint32_t value) {
  const ddk_program* p = s->p;
  for (uint32_t i = 0; i < p->num_outputs; ++i)
    if (p->outputs[i] == value) return true;
  for (uint32_t u = 0; u < s->num_units; ++u) {
    if (s->unit_group[u] == group) continue;
    use_ctx c = {value, false};
    for_each_unit_input(p, s->units[u], check_use, &c);
    if (c.used) return true;
  }
  return false;
}

/* ---- the lowering ------------------------------------------------------- */

ddk_status ddk_runtime_lower(ddk_runtime* rt, const ddk_program* p,
                             const char* const* backend_names,
                             uint32_t num_backends, const ddk_options* options,
                             ddk_program** out_program, char* err,
                             size_t err_cap) {
  if (out_program) *out_program = NULL;
  if (rt == NULL || p == NULL || out_program == NULL ||
      (num_backends > 0 && backend_names == NULL))
    return ddk_rt_fail(err, err_cap, DDK_INVALID_ARGUMENT,
                       "ddk_runtime_lower: NULL argument");
  if (num_backends > DDK_MAX_BACKENDS)
    return ddk_rt_fail(err, err_cap, DDK_INVALID_ARGUMENT,
                       "ddk_runtime_lower: too many backends (%u)",
                       num_backends);
  const ddk_backend* vts[DDK_MAX_BACKENDS];
  for (uint32_t b = 0; b < num_backends; ++b) {
    vts[b] = ddk_rt_backend_vtable(rt, backend_names[b]);
    if (vts[b] == NULL)
      return ddk_rt_fail(err, err_cap, DDK_NOT_FOUND,
                         "lower: backend '%s' is not registered",
                         backend_names[b] ? backend_names[b] : "(null)");
  }

  const ddk_allocator* a = &rt->allocator;
  ddk_status st = DDK_OK;
  lower_state s;
  memset(&s, 0, sizeof s);
  s.a = a;
  s.p = p;
  s.num_units = p->num_instructions;
  uint32_t N = p->num_nodes, V = p->num_values, U = s.num_units;
  s.words = (U + 63) / 64 + 1;

  ddk_node_view* views = NULL;
  uint32_t* view_nodes = NULL;
  bool* claimed = NULL;
  uint32_t* labels = NULL;
  uint32_t* order = NULL;
  uint32_t* scratch = NULL;
  ddk_program_delegate* dels = NULL;
  ddk_instruction* plan = NULL;
  ddk_blob* blobs = NULL;
  uint32_t* lists = NULL;
  uint32_t num_new = 0;
  size_t lists_cap = 0;
  void* bytes = NULL;
  size_t nbytes = 0;

  s.units = ddk_rt_alloc(a, sizeof(ddk_instruction) * (U + 1));
  s.claim = ddk_rt_alloc(a, sizeof(int32_t) * (N + 1));
  s.producer_unit = ddk_rt_alloc(a, sizeof(uint32_t) * (V + 1));
  s.unit_group = ddk_rt_alloc(a, sizeof(uint32_t) * (U + 1));
  s.group_backend = ddk_rt_alloc(a, sizeof(int32_t) * (U + 1));
  s.group_label = ddk_rt_alloc(a, sizeof(uint32_t) * (U + 1));
  s.label = ddk_rt_alloc(a, sizeof(uint32_t) * (N + 1));
  labels = ddk_rt_alloc(a, sizeof(uint32_t) * (N + 1));
  s.anc = ddk_rt_alloc(a, sizeof(uint64_t) * s.words * (U + 1));
  views = ddk_rt_alloc(a, sizeof(ddk_node_view) * (N + 1));
  view_nodes = ddk_rt_alloc(a, sizeof(uint32_t) * (N + 1));
  claimed = ddk_rt_alloc(a, sizeof(bool) * (N + 1));
  order = ddk_rt_alloc(a, sizeof(uint32_t) * (U + 1));
  scratch = ddk_rt_alloc(a, sizeof(uint32_t) * (U + V + 1));
  if (!s.units || !s.claim || !s.producer_unit || !s.unit_group ||
      !s.group_backend || !s.group_label || !s.label || !labels || !s.anc || !views || !view_nodes || !claimed ||
      !order || !scratch) {
    st = ddk_rt_fail(err, err_cap, DDK_OUT_OF_MEMORY, "lower: out of memory");
    goto cleanup;
  }
  memcpy(s.units, p->instructions, sizeof(ddk_instruction) * U);
  for (uint32_t n = 0; n < N; ++n) s.claim[n] = -1, s.label[n] = 0;
  for (uint32_t v = 0; v < V; ++v) s.producer_unit[v] = DDK_NO_VALUE;
  for (uint32_t u = 0; u < U; ++u) {
    ddk_instruction in = s.units[u];
    if (in.kind == DDK_INSTR_KERNEL) {
      const ddk_node_view* n = &p->nodes[in.index];
      for (uint32_t k = 0; k < n->num_outputs; ++k)
        s.producer_unit[n->outputs[k]] = u;
    } else {
      const ddk_program_delegate* d = &p->delegates[in.index];
      for (uint32_t k = 0; k < d->num_outputs; ++k)
        s.producer_unit[d->outputs[k]] = u;
    }
  }

  /* 1. partition, in priority order, over the still-unclaimed nodes */
  for (uint32_t b = 0; b < num_backends; ++b) {
    const ddk_backend* vt = vts[b];
    const ddk_backend_slot* slot = NULL;
    for (uint32_t i = 0; i < rt->num_backends; ++i)
      if (&rt->backends[i].vtable == vt) slot = &rt->backends[i];
    if (slot != NULL && !slot->info.available) {
      ddk_rt_log(rt, DDK_LOG_WARNING,
                 "lower: backend '%s' is unavailable (%s); skipping it",
                 vt->name, slot->info.detail);
      continue;
    }
    uint32_t nv = 0;
    for (uint32_t u = 0; u < U; ++u) {
      if (s.units[u].kind != DDK_INSTR_KERNEL) continue;
      uint32_t n = s.units[u].index;
      if (s.claim[n] >= 0) continue;
      views[nv] = p->nodes[n];
      view_nodes[nv] = n;
      claimed[nv] = false;
      labels[nv] = 0;
      nv++;
    }
    if (nv == 0) break;
    ddk_graph_view g;
    memset(&g, 0, sizeof g);
    g.header = (ddk_struct_header)DDK_STRUCT_HEADER_INIT(ddk_graph_view);
    g.num_values = V;
    g.values = p->values;
    g.num_nodes = nv;
    g.nodes = views;
    g.num_inputs = p->num_inputs;
    g.inputs = p->inputs;
    g.num_outputs = p->num_outputs;
    g.outputs = p->outputs;
    char berr[512] = "";
    st = vt->partition_grouped != NULL
             ? vt->partition_grouped(vt, &g, options, &rt->services, claimed,
                                     labels, berr, sizeof berr)
             : vt->partition(vt, &g, options, &rt->services, claimed, berr,
                             sizeof berr);
    if (st != DDK_OK) {
      st = ddk_rt_fail(err, err_cap, DDK_BACKEND_FAILURE,
                       "lower: backend '%s' failed to partition: %s (%s)",
                       vt->name, berr[0] ? berr : "no message",
                       ddk_status_name(st));
      goto cleanup;
    }
    for (uint32_t i = 0; i < nv; ++i)
      if (claimed[i]) {
        s.claim[view_nodes[i]] = (int32_t)b;
        s.label[view_nodes[i]] = labels[i];
      }
  }

  /* 2. refuse nodes that nothing can run */
  for (uint32_t u = 0; u < U; ++u) {
    if (s.units[u].kind != DDK_INSTR_KERNEL) continue;
    uint32_t n = s.units[u].index;
    if (s.claim[n] >= 0) continue;
    const ddk_op_info* op = ddk_op_get(p->nodes[n].op_id);
    if (op == NULL || !op->has_portable_kernel) {
      st = ddk_rt_fail(err, err_cap, DDK_UNSUPPORTED_OP,
                       "lower: node %u ('%s', op %s) was claimed by no "
                       "backend and %s has no portable kernel",
                       n, p->nodes[n].debug_name, p->nodes[n].op_name,
                       p->nodes[n].op_name);
      goto cleanup;
    }
  }

  /* 3. group: acyclic, maximal per backend */
  for (uint32_t u = 0; u < U; ++u) {
    int32_t b = (s.units[u].kind == DDK_INSTR_KERNEL)
                    ? s.claim[s.units[u].index]
                    : -1;
    defer_ctx dc = {&s, b, 0, 0};
    for_each_unit_input(p, s.units[u], resolve_deferred, &dc);
    pred_ctx pc = {&s, scratch, 0};
    for_each_unit_input(p, s.units[u], collect_pred, &pc);
    /* reads only constants and same-backend deferred nodes */
    weight_probe wp = {&s, true};
    if (b >= 0) for_each_unit_input(p, s.units[u], probe_weight, &wp);
    if (b >= 0 && wp.weight_only) {
      s.unit_group[u] = GROUP_DEFERRED;
      continue;
    }
    uint32_t G = DDK_NO_VALUE;
    const uint32_t label = b >= 0 ? s.label[s.units[u].index] : 0;
    if (b >= 0) {
      for (uint32_t i = 0; i < pc.count && G == DDK_NO_VALUE; ++i)
        if (s.group_backend[pc.preds[i]] == b && s.group_label[pc.preds[i]] == label &&
            can_join(&s, pc.preds[i], &pc))
          G = pc.preds[i];
      for (uint32_t g = s.num_groups; g-- > 0 && G == DDK_NO_VALUE;)
        if (s.group_backend[g] == b && s.group_label[g] == label && can_join(&s, g, &pc)) G = g;
    }
    if (G == DDK_NO_VALUE) {
      G = s.num_groups++;
      s.group_backend[G] = b;
      s.group_label[G] = label;
    }
    s.unit_group[u] = G;
    dc.group = G;
    dc.mode = 1;
    for_each_unit_input(p, s.units[u], resolve_deferred, &dc);
    add_ancestry(&s, G, &pc);
  }
  for (uint32_t u = 0; u < U; ++u) /* deferred nodes nothing consumes */
    if (s.unit_group[u] == GROUP_DEFERRED) {
      uint32_t G = s.num_groups++;
      s.group_backend[G] = s.claim[s.units[u].index];
      s.group_label[G] = s.label[s.units[u].index];
      assign_deferred(&s, u, G);
    }

  /* 4. order groups topologically (ancestors first, then first unit) */
  {
    uint32_t placed = 0;
    bool* done = claimed; /* reuse: N >= groups is not guaranteed; realloc */
    ddk_rt_free(a, claimed, sizeof(bool) * (N + 1));
    claimed = NULL;
    done = ddk_rt_alloc(a, sizeof(bool) * (s.num_groups + 1));
    if (done == NULL) {
      st = ddk_rt_fail(err, err_cap, DDK_OUT_OF_MEMORY, "lower: out of memory");
      goto cleanup;
    }
    while (placed < s.num_groups) {
      uint32_t pick = DDK_NO_VALUE;
      for (uint32_t u = 0; u < U && pick == DDK_NO_VALUE; ++u) {
        uint32_t g = s.unit_group[u];
        if (done[g]) continue;
        const uint64_t* ag = &s.anc[(size_t)g * s.words];
        bool ready = true;
        for (uint32_t h = 0; h < s.num_groups && ready; ++h)
          if (!done[h] && h != g && BIT_GET(ag, h)) ready = false;
        if (ready) pick = g;
      }
      if (pick == DDK_NO_VALUE) { /* cannot happen: the group graph is a DAG */
        ddk_rt_free(a, done, sizeof(bool) * (s.num_groups + 1));
        st = ddk_rt_fail(err, err_cap, DDK_INTERNAL,
                         "lower: partition graph has a cycle");
        goto cleanup;
      }
      done[pick] = true;
      order[placed++] = pick;
    }
    ddk_rt_free(a, done, sizeof(bool) * (s.num_groups + 1));
  }

  /* 5. preprocess each new group */
  for (uint32_t g = 0; g < s.num_groups; ++g)
    if (s.group_backend[g] >= 0) num_new++;
  dels = ddk_rt_alloc(a, sizeof(ddk_program_delegate) *
                             (p->num_delegates + num_new + 1));
  blobs = ddk_rt_alloc(a, sizeof(ddk_blob) * (num_new + 1));
  plan = ddk_rt_alloc(a, sizeof(ddk_instruction) * (s.num_groups + 1));
  lists_cap = (size_t)3 * (N + V) + 3;
  lists = ddk_rt_alloc(a, sizeof(uint32_t) * lists_cap);
  if (!dels || !blobs || !plan || !lists) {
    st = ddk_rt_fail(err, err_cap, DDK_OUT_OF_MEMORY, "lower: out of memory");
    goto cleanup;
  }
  memcpy(dels, p->delegates, sizeof(ddk_program_delegate) * p->num_delegates);
  {
    size_t used = 0;
    uint32_t di = p->num_delegates, bi = 0, pi = 0;
    for (uint32_t oi = 0; oi < s.num_groups; ++oi) {
      uint32_t g = order[oi];
      int32_t b = s.group_backend[g];
      if (b < 0) { /* a lone unit: keep its instruction */
        for (uint32_t u = 0; u < U; ++u)
          if (s.unit_group[u] == g) plan[pi++] = s.units[u];
        continue;
      }
      const ddk_backend* vt = vts[b];
      uint32_t* nodes = &lists[used];
      uint32_t nn = 0;
      for (uint32_t u = 0; u < U; ++u)
        if (s.unit_group[u] == g) {
          nodes[nn] = s.units[u].index;
          views[nn] = p->nodes[s.units[u].index];
          nn++;
        }
      used += nn;
      io_ctx ic = {&s, g, &lists[used], 0, (uint32_t)(lists_cap - used)};
      for (uint32_t k = 0; k < nn; ++k)
        for_each_node_input(&p->nodes[nodes[k]], collect_group_input, &ic);
      uint32_t* ins = ic.list;
      uint32_t nin = ic.count;
      used += nin;
      uint32_t* outs = &lists[used];
      uint32_t nout = 0;
      for (uint32_t k = 0; k < nn; ++k) {
        const ddk_node_view* nd = &p->nodes[nodes[k]];
        for (uint32_t o = 0; o < nd->num_outputs; ++o)
          if (used_outside(&s, g, nd->outputs[o])) outs[nout++] = nd->outputs[o];
      }
      used += nout;

      ddk_graph_view sub;
      memset(&sub, 0, sizeof sub);
      sub.header = (ddk_struct_header)DDK_STRUCT_HEADER_INIT(ddk_graph_view);
      sub.num_values = V;
      sub.values = p->values;
      sub.num_nodes = nn;
      sub.nodes = views;
      sub.num_inputs = nin;
      sub.inputs = ins;
      sub.num_outputs = nout;
      sub.outputs = outs;
      ddk_blob* blob = &blobs[bi];
      blob->header = (ddk_struct_header)DDK_STRUCT_HEADER_INIT(ddk_blob);
      char berr[512] = "";
      st = vt->preprocess(vt, &sub, options, &rt->services, blob, berr,
                          sizeof berr);
      if (st != DDK_OK) {
        if (blob->data) ddk_rt_free(a, blob->data, blob->size);
        blob->data = NULL;
        st = ddk_rt_fail(
            err, err_cap, DDK_BACKEND_FAILURE,
            "lower: backend '%s' claimed %u node(s) starting at node %u (%s) "
            "but preprocess failed: %s (%s)",
            vt->name, nn, nodes[0], p->nodes[nodes[0]].op_name,
            berr[0] ? berr : "no message", ddk_status_name(st));
        goto cleanup;
      }
      blob->compat[sizeof blob->compat - 1] = '\0';
      bi++;
      ddk_program_delegate* d = &dels[di];
      d->backend_id = vt->name;
      d->compat = blob->compat;
      d->blob = blob->data;
      d->blob_size = blob->size;
      d->num_nodes = nn;
      d->nodes = nodes;
      d->num_inputs = nin;
      d->inputs = ins;
      d->num_outputs = nout;
      d->outputs = outs;
      plan[pi++] = (ddk_instruction){DDK_INSTR_DELEGATE, di};
      di++;
    }

    /* 6. emit: serialise and re-load through the verifier */
    ddk_program np = *p;
    np.num_delegates = di;
    np.delegates = dels;
    np.num_instructions = pi;
    np.instructions = plan;
    np.internal_ = NULL;
    st = ddk_program_serialize(&np, a, &bytes, &nbytes, err, err_cap);
    if (st != DDK_OK) goto cleanup;
    char verr[512] = "";
    st = ddk_program_load_buffer(bytes, nbytes, true, a, out_program, verr,
                                 sizeof verr);
    if (st != DDK_OK) {
      st = ddk_rt_fail(err, err_cap, DDK_INTERNAL,
                       "lower: the lowered program failed verification: %s",
                       verr);
      goto cleanup;
    }
  }

cleanup:
  if (bytes) ddk_rt_free(a, bytes, nbytes);
  if (blobs)
    for (uint32_t i = 0; i < num_new; ++i)
      if (blobs[i].data) ddk_rt_free(a, blobs[i].data, blobs[i].size);
  ddk_rt_free(a, blobs, sizeof(ddk_blob) * (num_new + 1));
  ddk_rt_free(a, lists, sizeof(uint32_t) * lists_cap);
  ddk_rt_free(a, plan, sizeof(ddk_instruction) * (s.num_groups + 1));
  ddk_rt_free(a, dels, sizeof(ddk_program_delegate) *
                           (p->num_delegates + num_new + 1));
  ddk_rt_free(a, scratch, sizeof(uint32_t) * (U + V + 1));
  ddk_rt_free(a, order, sizeof(uint32_t) * (U + 1));
  ddk_rt_free(a, claimed, sizeof(bool) * (N + 1));
  ddk_rt_free(a, view_nodes, sizeof(uint32_t) * (N + 1));
  ddk_rt_free(a, views, sizeof(ddk_node_view) * (N + 1));
  ddk_rt_free(a, s.anc, sizeof(uint64_t) * s.words * (U + 1));
  ddk_rt_free(a, labels, sizeof(uint32_t) * (N + 1));
  ddk_rt_free(a, s.label, sizeof(uint32_t) * (N + 1));
  ddk_rt_free(a, s.group_label, sizeof(uint32_t) * (U + 1));
  ddk_rt_free(a, s.group_backend, sizeof(int32_t) * (U + 1));
  ddk_rt_free(a, s.unit_group, sizeof(uint32_t) * (U + 1));
  ddk_rt_free(a, s.producer_unit, sizeof(uint32_t) * (V + 1));
  ddk_rt_free(a, s.claim, sizeof(int32_t) * (N + 1));
  ddk_rt_free(a, s.units, sizeof(ddk_instruction) * (U + 1));
  return st;
}

ddk_status ddk_program_check_runnable(const ddk_runtime* rt,
                                      const ddk_program* p, char* err,
                                      size_t err_cap) {
  for (uint32_t i = 0; i < p->num_instructions; ++i) {
    ddk_instruction in = p->instructions[i];
    if (in.kind == DDK_INSTR_KERNEL) {
      const ddk_node_view* n = &p->nodes[in.index];
      const ddk_op_info* op = ddk_op_get(n->op_id);
      if (op == NULL || !op->has_portable_kernel)
        return ddk_rt_fail(err, err_cap, DDK_UNSUPPORTED_OP,
                           "node %u ('%s'): %s has no portable kernel and no "
                           "backend took it",
                           in.index, n->debug_name, n->op_name);
    } else {
      const ddk_program_delegate* d = &p->delegates[in.index];
      if (ddk_rt_backend_vtable(rt, d->backend_id) == NULL)
        return ddk_rt_fail(err, err_cap, DDK_BACKEND_UNAVAILABLE,
                           "delegate %u needs backend '%s', which is not "
                           "registered (pass it with --backend)",
                           in.index, d->backend_id);
    }
  }
  return DDK_OK;
}
