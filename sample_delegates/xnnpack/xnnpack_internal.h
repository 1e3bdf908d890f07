/*
 * xnnpack_internal.h — what the three parts of the XNNPACK delegate share:
 * argument readers, value predicates, and the per-node rules (one place
 * decides whether a node can run, so partition and preprocess agree).
 *
 *   xnnpack_partition.c  partition: which nodes XNNPACK can run
 *   xnnpack_compile.c    preprocess: partition -> blob (xnnpack_blob.h)
 *   xnnpack_runtime.c    query, init, execute, destroy; the entry symbol
 */
#ifndef DDK_XNNPACK_INTERNAL_H_
#define DDK_XNNPACK_INTERNAL_H_

#include <ddk/delegate_api.h>
#include <ddk/op_ids.h>
#include <stdbool.h>
#include <stdint.h>

#include "xnnpack_blob.h"

/* ---- node arguments ----------------------------------------------------- */

/* The tensor argument i of n, or DDK_NO_VALUE (absent or not a tensor). */
static inline uint32_t xa_tensor(const ddk_node_view* n, uint32_t i) {
  if (i >= n->num_args || n->args[i].kind != DDK_ARG_TENSOR)
    return DDK_NO_VALUE;
  return n->args[i].u.tensor;
}

static inline bool xa_is_none(const ddk_node_view* n, uint32_t i) {
  return i >= n->num_args || n->args[i].kind == DDK_ARG_NONE;
}

/* A number argument (INT, FLOAT or BOOL) as a double. */
static inline bool xa_number(const ddk_node_view* n, uint32_t i, double* out) {
  if (i >= n->num_args) return false;
  const ddk_arg* a = &n->args[i];
  if (a->kind == DDK_ARG_INT) *out = (double)a->u.i;
  else if (a->kind == DDK_ARG_FLOAT) *out = a->u.f;
  else if (a->kind == DDK_ARG_BOOL) *out = a->u.b ? 1.0 : 0.0;
  else return false;
  return true;
}

static inline bool xa_int(const ddk_node_view* n, uint32_t i, int64_t* out) {
  if (i >= n->num_args) return false;
  const ddk_arg* a = &n->args[i];
  if (a->kind == DDK_ARG_INT || a->kind == DDK_ARG_DTYPE) *out = a->u.i;
  else if (a->kind == DDK_ARG_BOOL) *out = a->u.b;
  else return false;
  return true;
}

static inline bool xa_bool(const ddk_node_view* n, uint32_t i, bool* out) {
  if (i >= n->num_args) return false;
  const ddk_arg* a = &n->args[i];
  if (a->kind == DDK_ARG_BOOL) *out = a->u.b;
  else if (a->kind == DDK_ARG_INT) *out = a->u.i != 0;
  else return false;
  return true;
}

/* An int list argument; *count 0 for an empty list. */
static inline bool xa_ints(const ddk_node_view* n, uint32_t i,
                           const int64_t** out, uint32_t* count) {
  if (i >= n->num_args) return false;
  const ddk_arg* a = &n->args[i];
  if (a->kind == DDK_ARG_INT_LIST) {
    *out = a->u.ints;
    *count = a->count;
    return true;
  }
  if (a->kind == DDK_ARG_INT) { /* a single int where the schema says int[] */
    *out = &a->u.i;
    *count = 1;
    return true;
  }
  return false;
}

/* ---- the per-node rules (xnnpack_partition.c) ---------------------------- */

/* What the rules know about the graph beyond one node. */
typedef struct xnn_graph_facts {
  const ddk_graph_view* g;
  /* per value: computed from constants only, through foldable nodes */
  uint8_t* const_derived;
  /* per value: node (index into g->nodes) producing it, or DDK_NO_VALUE */
  uint32_t* producer;
  /* per value: number of node arguments reading it, plus 1 if it is a
   * graph output */
  uint32_t* uses;
} xnn_graph_facts;

/* How the delegate treats a node it can run. */
typedef enum xnn_node_role {
  XNN_ROLE_NONE = 0, /* cannot run it */
  XNN_ROLE_FOLD,     /* a weight transform: folded at preprocess */
  XNN_ROLE_OP,       /* becomes one or more XNNPACK nodes */
} xnn_node_role;

/* Computes facts for g; arrays allocated with `a`; free with
 * xnn_facts_free. Returns false when out of memory. */
bool xnn_facts_init(xnn_graph_facts* f, const ddk_graph_view* g,
                    const ddk_allocator* a);
void xnn_facts_free(xnn_graph_facts* f, const ddk_allocator* a);

/* The role of node n of f->g (the rule, without the claim fixpoint). */
xnn_node_role xnn_node_rule(const xnn_graph_facts* f, const ddk_node_view* n);

/* True when value v is float32, dense, contiguous, static-shaped, of rank
 * <= XB_MAX_DIMS and not empty. */
bool xnn_plain_f32(const ddk_value_desc* v);

/* Reads the qparams of a per-tensor int8 q/dq node (scale, zero point);
 * false when they are not int8 in [-128, 127]. */
bool xnn_qdq_params(const ddk_node_view* n, double* scale, int64_t* zp);

/* The partition entry point (vtable slot). */
ddk_status xnn_partition(const ddk_backend* self, const ddk_graph_view* graph,
                         const ddk_options* options,
                         const ddk_services* services, bool* out_claimed,
                         char* err, size_t err_cap);

/* The preprocess entry point (xnnpack_compile.c). */
ddk_status xnn_preprocess(const ddk_backend* self,
                          const ddk_graph_view* subgraph,
                          const ddk_options* options,
                          const ddk_services* services, ddk_blob* out_blob,
                          char* err, size_t err_cap);

/* Formats a message into err (vsnprintf). */
void xnn_errorf(char* err, size_t err_cap, const char* fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* DDK_XNNPACK_INTERNAL_H_ */
