/* memory_plan.c — greedy best-offset planning by decreasing size. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "memory_plan.h"
#include "runtime_internal.h"

typedef struct live_range {
  uint32_t first, last;
} live_range;

static void touch(live_range* r, bool* used, uint32_t v, uint32_t step) {
  if (!used[v]) {
    used[v] = true;
    r[v].first = r[v].last = step;
    return;
  }
  if (step < r[v].first) r[v].first = step;
  if (step > r[v].last) r[v].last = step;
}

static void touch_node(const ddk_node_view* n, live_range* r, bool* used,
                       uint32_t step) {
  for (uint32_t i = 0; i < n->num_args; ++i) {
    const ddk_arg* a = &n->args[i];
    if (a->kind == DDK_ARG_TENSOR) touch(r, used, a->u.tensor, step);
    if (a->kind == DDK_ARG_TENSOR_LIST)
      for (uint32_t k = 0; k < a->count; ++k)
        if (a->u.tensors[k] != DDK_NO_VALUE)
          touch(r, used, a->u.tensors[k], step);
  }
  for (uint32_t k = 0; k < n->num_outputs; ++k)
    touch(r, used, n->outputs[k], step);
}

static size_t value_bytes(const ddk_value_desc* d) {
  size_t n = ddk_dtype_size(d->tensor.dtype);
  for (uint32_t i = 0; i < d->tensor.rank; ++i) n *= (size_t)d->tensor.sizes[i];
  size_t rounded = (n + DDK_PLAN_ALIGNMENT - 1) / DDK_PLAN_ALIGNMENT *
                   DDK_PLAN_ALIGNMENT;
  return rounded == 0 ? DDK_PLAN_ALIGNMENT : rounded;
}

ddk_status ddk_memory_plan(const ddk_program* p, const bool* expand, size_t guard,
                           const ddk_allocator* alloc, size_t* offsets, size_t* sizes,
                           size_t* out_arena_size, size_t* out_unplanned,
                           char* err, size_t err_cap) {
  uint32_t V = p->num_values;
  uint32_t end = p->num_instructions;
  live_range* r = ddk_rt_alloc(alloc, sizeof(live_range) * (V + 1));
  bool* used = ddk_rt_alloc(alloc, sizeof(bool) * (V + 1));
  uint32_t* order = ddk_rt_alloc(alloc, sizeof(uint32_t) * (V + 1));
  uint32_t* placed = ddk_rt_alloc(alloc, sizeof(uint32_t) * (V + 1));
  ddk_status st = DDK_OK;
  if (!r || !used || !order || !placed) {
    st = ddk_rt_fail(err, err_cap, DDK_OUT_OF_MEMORY,
                     "memory plan: out of memory");
    goto cleanup;
  }
  for (uint32_t s = 0; s < end; ++s) {
    ddk_instruction in = p->instructions[s];
    if (in.kind == DDK_INSTR_KERNEL) {
      touch_node(&p->nodes[in.index], r, used, s);
    } else {
      const ddk_program_delegate* d = &p->delegates[in.index];
      for (uint32_t k = 0; k < d->num_inputs; ++k)
        touch(r, used, d->inputs[k], s);
      for (uint32_t k = 0; k < d->num_outputs; ++k)
        touch(r, used, d->outputs[k], s);
      if (expand != NULL && expand[in.index]) /* its nodes run one by one */
        for (uint32_t k = 0; k < d->num_nodes; ++k)
          touch_node(&p->nodes[d->nodes[k]], r, used, s);
    }
  }
  /* inputs keep their bytes for the method's life: execute may be called
   * again without setting them again */
  for (uint32_t i = 0; i < p->num_inputs; ++i) {
    touch(r, used, p->inputs[i], 0);
    r[p->inputs[i]].first = 0;
    r[p->inputs[i]].last = end;
  }
  for (uint32_t i = 0; i < p->num_outputs; ++i) {
    touch(r, used, p->outputs[i], end);
    r[p->outputs[i]].last = end;
  }

  uint32_t n = 0;
  size_t unplanned = 0;
  for (uint32_t v = 0; v < V; ++v) {
    offsets[v] = SIZE_MAX;
    sizes[v] = 0;
    if (!used[v] || (p->values[v].flags & DDK_VALUE_CONSTANT)) continue;
    sizes[v] = value_bytes(&p->values[v]) + 2 * guard;
    unplanned += sizes[v];
    order[n++] = v;
  }
  /* insertion sort by decreasing size, then index: deterministic */
  for (uint32_t i = 1; i < n; ++i) {
    uint32_t v = order[i];
    uint32_t j = i;
    while (j > 0 && (sizes[order[j - 1]] < sizes[v] ||
                     (sizes[order[j - 1]] == sizes[v] && order[j - 1] > v))) {
      order[j] = order[j - 1];
      --j;
    }
    order[j] = v;
  }
  size_t arena = 0;
  uint32_t num_placed = 0;
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t v = order[i];
    /* lowest offset that fits beside every placed value live at the same
     * time: try 0 and the end of each conflicting value */
    size_t best = SIZE_MAX;
    for (uint32_t c = 0; c <= num_placed; ++c) {
      size_t cand = 0;
      if (c < num_placed) {
        uint32_t w = placed[c];
        if (r[w].last < r[v].first || r[v].last < r[w].first) continue;
        cand = offsets[w] + sizes[w];
      }
      if (cand >= best) continue;
      bool ok = true;
      for (uint32_t k = 0; k < num_placed && ok; ++k) {
        uint32_t w = placed[k];
        if (r[w].last < r[v].first || r[v].last < r[w].first) continue;
        if (cand < offsets[w] + sizes[w] && offsets[w] < cand + sizes[v])
          ok = false;
      }
      if (ok) best = cand;
    }
    offsets[v] = best;
    placed[num_placed++] = v;
    if (best + sizes[v] > arena) arena = best + sizes[v];
  }
  *out_arena_size = arena;
  *out_unplanned = unplanned;

cleanup:
  ddk_rt_free(alloc, placed, sizeof(uint32_t) * (V + 1));
  ddk_rt_free(alloc, order, sizeof(uint32_t) * (V + 1));
  ddk_rt_free(alloc, used, sizeof(bool) * (V + 1));
  ddk_rt_free(alloc, r, sizeof(live_range) * (V + 1));
  return st;
}
