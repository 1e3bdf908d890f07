/*
 * xnnpack_exec.h — what the run-time half of the XNNPACK delegate shares
 * between its two files:
 *
 *   xnnpack_runtime.c  init (the blob replayed as one XNNPACK runtime),
 *                      execute, destroy, set_profiling; it owns the blob
 *                      replay helpers declared here
 *   xnnpack_profile.c  the per-node profiler: the same blob replayed as one
 *                      small runtime per program node, run one by one and
 *                      timed, so a profile shows every node's own time
 */
#ifndef DDK_XNNPACK_EXEC_H_
#define DDK_XNNPACK_EXEC_H_

#include <pthreadpool.h>
#include <xnnpack.h>

#include "xnnpack_internal.h"

/* A blob init has checked: its header and where its parts start. The
 * pointers borrow the blob, which the delegate keeps until destroy. */
typedef struct xnn_blob_view {
  xb_header hd;
  const xb_value* vals;
  const xb_op* ops;
  const uint8_t* data;
} xnn_blob_view;

/* A readable name for an XNNPACK status. */
const char* xnn_status_str(enum xnn_status s);

/* Bytes of blob value v's elements (its dims times its element size). */
size_t xnn_blob_value_bytes(const xnn_blob_view* b, uint32_t v);

/* Defines blob value v in sg as value `id` with the XNN_VALUE_FLAG_* in
 * `flags` (static data comes from the blob). Returns DDK_OK, or
 * DDK_INCOMPATIBLE_BLOB / DDK_BACKEND_FAILURE with a message in err. */
ddk_status xnn_define_blob_value(xnn_subgraph_t sg, const xnn_blob_view* b, uint32_t v, uint32_t id,
                                 uint32_t flags, char* err, size_t err_cap);

/* Defines op o (not XB_OP_ABSORBED) in sg; its value ids go through
 * map[] (blob value -> sg value id), or are used as they are when map is
 * NULL. */
enum xnn_status xnn_define_blob_op(xnn_subgraph_t sg, const xnn_blob_view* b, const xb_op* o,
                                   const uint32_t* map);

/* ---- the per-node profiler (xnnpack_profile.c) ---------------------------- */

typedef struct xnn_node_profiler xnn_node_profiler;

/*
 * Builds one XNNPACK runtime per program node of the blob (the node's
 * consecutive ops), sharing the blob's static data and `pool`. Values
 * passed between nodes live in scratch buffers from services->allocator.
 * `b` and `services` must outlive the profiler. Takes as long as init
 * (weights are packed again). On success *out owns everything; free it
 * with xnn_node_profiler_destroy.
 */
ddk_status xnn_node_profiler_create(const xnn_blob_view* b, pthreadpool_t pool,
                                    const ddk_services* services, xnn_node_profiler** out,
                                    char* err, size_t err_cap);

void xnn_node_profiler_destroy(xnn_node_profiler* p);

/* Nanoseconds create took (reported in the fused-runtime event). */
uint64_t xnn_node_profiler_build_ns(const xnn_node_profiler* p);

/*
 * Runs the nodes one after another, timing each, and emits one
 * DDK_PROFILE_OP event per program node of the blob (nodes without an op
 * of their own get a zero-length event at the end of the node that does
 * their work). `bound` holds the partition's external values as execute
 * bound them (id = blob value id); `rebind` says their addresses changed
 * since the last run. Writes the same outputs as the fused runtime.
 */
ddk_status xnn_node_profiler_run(xnn_node_profiler* p, const struct xnn_external_value* bound,
                                 uint32_t num_bound, bool rebind, char* err, size_t err_cap);

#endif /* DDK_XNNPACK_EXEC_H_ */
