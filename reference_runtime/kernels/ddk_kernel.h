/*
 * ddk_kernel.h — the portable kernel interface.
 *
 * A portable kernel computes one op of the op table on host tensors. It is
 * the oracle every backend is certified against, so it follows ATen
 * semantics exactly and is written for clarity first.
 *
 * Rules: no allocation, no globals, no I/O, never abort. Bad arguments
 * (an unsupported dtype, a shape the op rejects) return a status with a
 * message naming the op, via ddk_kernel_fail().
 *
 * The executor guarantees, before calling a kernel, that every output
 * tensor's dtype/rank/sizes/strides were set by shape inference
 * (ddk_infer_node) and that its capacity holds them. Kernels may rely on
 * that; they must still check the input dtypes they support.
 *
 * The kernel for op "aten::add.Tensor" is named ddk_kernel_aten_add_tensor
 * (lower-case; "::" and "." become "_"), and an op-table row with
 * kernel=yes makes the generated registry (kernel_registry.gen.c) reference
 * it.
 */
#ifndef DDK_KERNEL_H_
#define DDK_KERNEL_H_

#include <stdarg.h>
#include <stdio.h>

#include "ddk/delegate_api.h"
#include "ddk/ops.h"

#ifdef __cplusplus
extern "C" {
#endif

/** What a kernel gets besides its node. */
typedef struct ddk_kernel_ctx {
  ddk_tensor* values; /**< one tensor per program value, by value index */
  char* err;          /**< message buffer (may be NULL when err_cap is 0) */
  size_t err_cap;
  /** State of the seeded generator the random ops (DDK_OP_FLAG_RANDOM)
   * draw from and advance; owned by the caller (a method keeps one per
   * method, seeded by its "seed" option). NULL: random ops refuse. */
  uint64_t* rng;
} ddk_kernel_ctx;

/** A portable kernel. */
typedef ddk_status (*ddk_kernel_fn)(ddk_kernel_ctx* ctx,
                                    const ddk_node_view* node);

/** Kernel for op id `op_id`, or NULL when the op has none. */
ddk_kernel_fn ddk_kernel_lookup(uint32_t op_id);

/** Writes "<op name>: <formatted message>" into ctx->err, returns status. */
static inline ddk_status ddk_kernel_fail(ddk_kernel_ctx* ctx,
                                         const ddk_node_view* node,
                                         ddk_status status, const char* fmt,
                                         ...) {
  if (ctx->err != NULL && ctx->err_cap > 0) {
    int n = snprintf(ctx->err, ctx->err_cap, "%s: ", node->op_name);
    if (n >= 0 && (size_t)n < ctx->err_cap) {
      va_list ap;
      va_start(ap, fmt);
      vsnprintf(ctx->err + n, ctx->err_cap - (size_t)n, fmt, ap);
      va_end(ap);
    }
  }
  return status;
}

/** The tensor of argument `i` (which must be DDK_ARG_TENSOR). */
static inline ddk_tensor* ddk_kernel_arg_tensor(ddk_kernel_ctx* ctx,
                                                const ddk_node_view* node,
                                                uint32_t i) {
  return &ctx->values[node->args[i].u.tensor];
}

/** The tensor of output `i`. */
static inline ddk_tensor* ddk_kernel_out(ddk_kernel_ctx* ctx,
                                         const ddk_node_view* node,
                                         uint32_t i) {
  return &ctx->values[node->outputs[i]];
}

#ifdef __cplusplus
}
#endif

#endif /* DDK_KERNEL_H_ */
