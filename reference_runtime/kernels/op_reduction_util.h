/*
 * op_reduction_util.h — the reduction driver shared by the reduction
 * kernels (op_reduction*.c): which dims a call reduces, and one streaming
 * walk that folds every reduced element into per-output accumulators.
 *
 * A reduction splits the input's dims into kept dims (one output element
 * per position) and reduced dims. The driver takes up to DDK_KU_CHUNK
 * outputs at a time (a run along the innermost kept dim) and folds every
 * reduced element into their accumulators, in one of two orders:
 *  - across (the kept run is the faster-moving in memory, e.g. reducing
 *    dim 0 of a row-major matrix): for each reduced position, one gathered
 *    run of the kept dim is folded elementwise into the accumulators;
 *  - along (the reduced dims are the faster-moving): for each output, its
 *    reduced elements are gathered in rows and folded into it.
 * Either way reduced elements are visited in logical row-major order, so
 * an index counted along the walk is the flat index within the reduced
 * dims (argmax's "first index" and "first NaN" rules hold).
 *
 * Floats are folded in double (exact for every input dtype), integers and
 * bools in int64 with wraparound. Inputs are first rounded to `round_to`
 * (the op's computation dtype), as ATen casts inputs to it.
 */
#ifndef DDK_OP_REDUCTION_UTIL_H_
#define DDK_OP_REDUCTION_UTIL_H_

#include "kernel_util.h"

/** What a reduction computes per output. */
typedef enum ddk_red_op {
  DDK_RED_SUM,  /**< f[0] + f[1] (compensated) / i[0], wrapping */
  DDK_RED_PROD, /**< f[0] / i[0], wrapping */
  DDK_RED_MAX,  /**< value f[0] / i[0] and its index i[1]; NaN wins, first index on ties */
  DDK_RED_MIN,  /**< as MAX for the minimum */
  DDK_RED_ANY,  /**< i[0] = 1 when an element is nonzero (NaN counts) */
  DDK_RED_VAR,  /**< floats only: mean f[2], sum of squared deviations f[0] + f[1] */
} ddk_red_op;

/** Accumulators of up to DDK_KU_CHUNK outputs. */
typedef struct ddk_red_acc {
  double f[3][DDK_KU_CHUNK];
  int64_t i[2][DDK_KU_CHUNK];
} ddk_red_acc;

/** A reduction's iteration: kept dims (operands x, out0, out1) and reduced dims (x). */
typedef struct ddk_red_plan {
  ddk_ku_loop kept;
  ddk_ku_loop red;
  int64_t count;    /**< elements folded into each output */
  bool any_empty;   /**< some reduced dim has size 0 */
  uint32_t num_out; /**< outputs written (1 or 2) */
} ddk_red_plan;

/**
 * Called once per chunk of n outputs after folding: output k of the chunk
 * is element out_off[o] + k * out_stride[o] of output o.
 */
typedef void (*ddk_red_finish_fn)(void* user, const ddk_red_acc* acc, int64_t n,
                                  const int64_t* out_off, const int64_t* out_stride);

/**
 * Marks the dims of `x` that dim-list argument `index` reduces into
 * reduce[] (negative dims wrap; 0-d inputs accept 0 and -1). NONE reduces
 * every dim; an empty list reduces every dim when `empty_is_all`, none
 * otherwise; an INT is a list of one. Refuses out-of-range and repeated dims.
 */
ddk_status ddk_red_dims(ddk_kernel_ctx* ctx, const ddk_node_view* node, const ddk_tensor* x,
                        uint32_t index, bool empty_is_all, bool* reduce);

/**
 * Plans the reduction of `x` over reduce[] into `out0` (and `out1` when not
 * NULL, of the same shape): checks the outputs' shapes (kept dims, plus
 * size-1 reduced dims when keepdim) and builds the loops.
 */
ddk_status ddk_red_plan_init(ddk_kernel_ctx* ctx, const ddk_node_view* node, ddk_red_plan* plan,
                             const ddk_tensor* x, const bool* reduce, bool keepdim,
                             const ddk_tensor* out0, const ddk_tensor* out1);

/**
 * Runs the plan: folds x's elements (rounded to `round_to`, gathered in
 * `math`: DDK_KU_MATH_F64 or DDK_KU_MATH_I64) with `op` and calls `finish`
 * per chunk of outputs. Nothing happens when there are no outputs.
 */
void ddk_red_run(const ddk_red_plan* plan, const ddk_tensor* x, ddk_red_op op, ddk_ku_math math,
                 ddk_dtype round_to, ddk_red_finish_fn finish, void* user);

/**
 * n int64 values of the run x[off + i*stride] rounded to `round_to`; a
 * float input converted to bool is true when nonzero (NaN too), as ATen.
 */
const int64_t* ddk_red_row_i64(int64_t* scratch, const ddk_tensor* x, ddk_dtype round_to,
                               int64_t off, int64_t stride, int64_t n);

/** The integer result dtype ATen's sum/prod/cumsum give without dtype=: int64
 * for bool and integer inputs, else the input's. */
static inline ddk_dtype ddk_red_sum_dtype(ddk_dtype in) {
  return ddk_ku_math_of(in) == DDK_KU_MATH_I64 ? DDK_DTYPE_INT64 : in;
}

/** Reads optional ScalarType argument `index` (DDK_DTYPE_INVALID when NONE). */
ddk_status ddk_red_arg_dtype(ddk_kernel_ctx* ctx, const ddk_node_view* node, uint32_t index,
                             ddk_dtype* out);

#endif /* DDK_OP_REDUCTION_UTIL_H_ */
