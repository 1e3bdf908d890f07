/*
 * infer_util.h — internal to ir_ops: what every shape/dtype inference rule
 * uses (argument access with ATen-style messages, dim wrapping, output
 * setting, result_type).
 *
 * Adding a rule: write `ddk_status ddk_infer_<kernel ident>(ddk_infer_ctx*
 * c)` in the infer_<family>.c file of the op's family (the name is the op
 * name lower-cased with "::" and "." turned into "_", as for kernels), and
 * mark the op-table row kernel=yes; ir_ops/gen_ops.py generates the
 * dispatch table (ir_ops/generated/infer_registry.gen.c).
 *
 * A rule validates everything the op's kernel relies on (ranks, sizes,
 * dims in range, argument kinds and values) and refuses what ATen refuses,
 * with a message naming the argument. It writes dtype, rank, sizes and
 * contiguous strides of every output (ddk_infer_set_output) and never
 * touches data. A data-dependent op (DDK_OP_FLAG_DATA_DEPENDENT) writes an
 * upper bound.
 */
#ifndef DDK_INFER_UTIL_H_
#define DDK_INFER_UTIL_H_

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ddk/ops.h"

/** What a rule sees. */
typedef struct ddk_infer_ctx {
  const ddk_node_view* node;
  ddk_tensor* values; /**< one tensor per program value */
  char* err;
  size_t err_cap;
} ddk_infer_ctx;

/** An inference rule. */
typedef ddk_status (*ddk_infer_fn)(ddk_infer_ctx* c);

/** The rule of op `op_id`, or NULL (generated). */
ddk_infer_fn ddk_infer_lookup(uint32_t op_id);

/** The op's name for messages. */
const char* ddk_infer_op_name(const ddk_infer_ctx* c);

/** Writes "<op>: <message>" into the error buffer; returns `status`. */
ddk_status ddk_infer_fail(ddk_infer_ctx* c, ddk_status status, const char* fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** Checks the node has at least `num_args` args and `num_outputs` outputs. */
ddk_status ddk_infer_need(ddk_infer_ctx* c, uint32_t num_args, uint32_t num_outputs);

/** Rank, dtype and sizes of a tensor are sane. */
ddk_status ddk_infer_check_tensor(ddk_infer_ctx* c, const ddk_tensor* t, const char* name);

/** Argument `i` as a tensor (must be one) / an optional tensor (*out NULL
 * when NONE) / an int / a bool / a Scalar (its arg kind into *kind) / an
 * int list (an INT counts as a list of one). */
ddk_status ddk_infer_arg_tensor(ddk_infer_ctx* c, uint32_t i, const char* name,
                                const ddk_tensor** out);
ddk_status ddk_infer_arg_opt_tensor(ddk_infer_ctx* c, uint32_t i, const char* name,
                                    const ddk_tensor** out);
ddk_status ddk_infer_arg_int(ddk_infer_ctx* c, uint32_t i, const char* name, int64_t* out);
ddk_status ddk_infer_arg_bool(ddk_infer_ctx* c, uint32_t i, const char* name, bool* out);
ddk_status ddk_infer_arg_scalar(ddk_infer_ctx* c, uint32_t i, const char* name, uint32_t* kind);
ddk_status ddk_infer_arg_ints(ddk_infer_ctx* c, uint32_t i, const char* name, const int64_t** v,
                              uint32_t* n);

/** Largest magnitude of a window parameter ddk_infer_expand_list accepts. */
#define DDK_INFER_MAX_PARAM ((int64_t)1 << 31)

/** An int list of `n` values, or one value repeated; `dflt` (may be NULL
 * to refuse) for NONE or an empty list; values beyond DDK_INFER_MAX_PARAM
 * are refused (DDK_OUT_OF_RANGE). */
ddk_status ddk_infer_expand_list(ddk_infer_ctx* c, uint32_t i, const char* name, uint32_t n,
                                 const int64_t* dflt, int64_t* out);

/** Wraps dim `d` for a tensor of `rank` (0-d tensors accept -1 and 0). */
ddk_status ddk_infer_wrap_dim(ddk_infer_ctx* c, const char* name, int64_t d, uint32_t rank,
                              int64_t* out);

/** Sets output `i` to dtype/rank/sizes with contiguous strides. */
ddk_status ddk_infer_set_output(ddk_infer_ctx* c, uint32_t i, ddk_dtype dtype, uint32_t rank,
                                const int64_t* sizes);

/** Output 0 gets t's sizes and `dtype`. */
ddk_status ddk_infer_same_shape(ddk_infer_ctx* c, const ddk_tensor* t, ddk_dtype dtype);

/** ATen's dtype categories. */
bool ddk_infer_is_floating(ddk_dtype d);
bool ddk_infer_is_complex(ddk_dtype d);

/** promote_types(a, b), where DDK_DTYPE_INVALID means "none yet". */
ddk_dtype ddk_infer_promote(ddk_dtype a, ddk_dtype b);

/** at::native::result_type over tensors: 0-d tensors only raise the
 * category of the dimensioned ones. */
ddk_dtype ddk_infer_result_type(const ddk_tensor* const* ts, uint32_t n);

#endif /* DDK_INFER_UTIL_H_ */
