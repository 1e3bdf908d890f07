/*
 * ddk/ops.h — the DDK op table as C metadata, and per-op shape/dtype
 * inference.
 *
 * Every fact here comes from ONE hand-edited file, ir_ops/op_table.tsv,
 * through ir_ops/gen_ops.py, which writes delegate_api/include/ddk/op_ids.h
 * (the enum) and ir_ops/generated/ddk_op_table.c (the metadata). Do not
 * edit the generated files.
 *
 * Op ids are stable: a program file stores them; a new op gets the next
 * free id, and an id is never reused.
 */
#ifndef DDK_OPS_H_
#define DDK_OPS_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ddk/delegate_api.h"
#include "ddk/op_ids.h" /* generated: enum { DDK_OP_<NAME> = id, ..., DDK_OP_COUNT } */

#ifdef __cplusplus
extern "C" {
#endif

/** Type of one schema parameter (before optional-ness). */
typedef enum ddk_param_type {
  DDK_PARAM_TENSOR = 0,        /**< Tensor */
  DDK_PARAM_TENSOR_LIST = 1,   /**< Tensor[] (Tensor?[] sets elem_optional) */
  DDK_PARAM_INT = 2,           /**< int, SymInt */
  DDK_PARAM_INT_LIST = 3,      /**< int[], int[N], SymInt[] */
  DDK_PARAM_FLOAT = 4,         /**< float */
  DDK_PARAM_FLOAT_LIST = 5,    /**< float[] */
  DDK_PARAM_BOOL = 6,          /**< bool */
  DDK_PARAM_BOOL_LIST = 7,     /**< bool[N] */
  DDK_PARAM_SCALAR = 8,        /**< Scalar: INT, FLOAT or BOOL arg */
  DDK_PARAM_SCALAR_TYPE = 9,   /**< ScalarType: DTYPE arg */
  DDK_PARAM_STRING = 10,       /**< str */
  DDK_PARAM_MEMORY_FORMAT = 11, /**< MemoryFormat: INT arg */
  DDK_PARAM_LAYOUT = 12,       /**< Layout: INT arg */
  DDK_PARAM_DEVICE = 13,       /**< Device: STRING arg */
  DDK_PARAM_GENERATOR = 14,    /**< Generator: always NONE in programs */
} ddk_param_type;

/** One parameter of an op's schema. */
typedef struct ddk_op_param {
  const char* name;          /**< "self", "other", "alpha", ... */
  uint8_t type;              /**< ddk_param_type */
  bool optional;             /**< "T?": the arg may be DDK_ARG_NONE */
  bool elem_optional;        /**< "Tensor?[]": list entries may be absent */
  bool kwarg_only;           /**< declared after '*' */
  bool mutated;              /**< "Tensor(a!)": written by the op */
  int8_t fixed_len;          /**< N of "int[N]", else 0 */
  const char* default_value; /**< schema default text, or NULL if none */
} ddk_op_param;

/** One return of an op's schema. */
typedef struct ddk_op_return {
  uint8_t type; /**< ddk_param_type: TENSOR, TENSOR_LIST, INT, SCALAR... */
} ddk_op_return;

/** Tolerance class of an op: how the conformance suite compares results. */
typedef enum ddk_tolerance_class {
  DDK_TOL_EXACT = 0,       /**< bitwise equal (ints, bools, data movement) */
  DDK_TOL_ULP = 1,         /**< elementwise float: bounded ULP distance */
  DDK_TOL_ACCUMULATE = 2,  /**< reductions/matmul/conv: scaled by K */
  DDK_TOL_STATISTICAL = 3, /**< random ops: moments and bounds */
  DDK_TOL_QUANT = 4,       /**< quantized: off by at most one step */
} ddk_tolerance_class;

/** Everything the op table knows about one op. */
typedef struct ddk_op_info {
  uint32_t id;              /**< stable id == index in ddk_op_table */
  const char* name;         /**< "aten::add.Tensor" */
  const char* schema;       /**< the full schema string */
  const char* category;     /**< "elementwise_binary", ... */
  uint32_t dtype_mask;      /**< bit (1u << ddk_dtype) per supported dtype */
  uint8_t tolerance;        /**< ddk_tolerance_class */
  uint32_t ulp;             /**< ULP bound (float32) for DDK_TOL_ULP ops */
  const char* doc;          /**< one-line description */
  uint8_t num_params;
  const ddk_op_param* params;
  uint8_t num_returns;      /**< number of returns (a Tensor[] counts 1) */
  const ddk_op_return* returns;
  bool has_portable_kernel; /**< the reference runtime has a kernel */
  uint32_t flags;           /**< DDK_OP_FLAG_* bits */
  uint32_t deviation_mask;  /**< bit (1u << ddk_dtype): a known deviation
                                 from ATen, explained in docs/ops.md */
} ddk_op_info;

/** Output sizes depend on input values (nonzero, boolean index):
 * inference writes an upper bound, the kernel writes the actual sizes
 * (each no larger than the bound) into its output tensors. */
#define DDK_OP_FLAG_DATA_DEPENDENT 0x1u
/** Draws from the seeded generator (rand, randn, randperm, dropout). */
#define DDK_OP_FLAG_RANDOM 0x2u
/** Output values are unspecified (empty, empty_strided). */
#define DDK_OP_FLAG_UNINITIALIZED 0x4u
/** The result is tensor metadata (sym_size, sym_numel, ...), returned as a
 * 0-d tensor (int64 for SymInt, bool for SymBool). */
#define DDK_OP_FLAG_METADATA 0x8u

/** The table, indexed by op id; DDK_OP_COUNT entries. */
extern const ddk_op_info ddk_op_table[];

/** Number of ops in the table (== DDK_OP_COUNT). */
uint32_t ddk_op_count(void);

/** Op with id `op_id`, or NULL when out of range. */
const ddk_op_info* ddk_op_get(uint32_t op_id);

/** Op named `name` ("aten::add.Tensor"), or NULL. */
const ddk_op_info* ddk_op_find(const char* name);

/** A 64-bit FNV-1a hash of the whole table (ids, names, schemas, dtypes,
 * tolerances), so reports can bind results to the table they used. */
uint64_t ddk_op_table_hash(void);

/* ------------------------------------------------------------------------ */
/* Shape and dtype inference (ir_ops/src/)                                  */
/* ------------------------------------------------------------------------ */

/**
 * Broadcasts two shapes as ATen does (right-aligned, size-1 expands).
 * Writes the result into out_sizes/out_rank. DDK_SHAPE_MISMATCH with a
 * message on incompatible shapes.
 */
ddk_status ddk_broadcast_shapes(const int64_t* a, uint32_t a_rank,
                                const int64_t* b, uint32_t b_rank,
                                int64_t* out_sizes, uint32_t* out_rank,
                                char* err, size_t err_cap);

/** ATen's promote_types(a, b) for two tensor dtypes. */
ddk_dtype ddk_promote_types(ddk_dtype a, ddk_dtype b);

/** Category of a dtype in ATen's promotion: 0 bool, 1 integral, 2 floating,
 * 3 complex. */
int ddk_dtype_category(ddk_dtype dtype);

/**
 * ATen's result_type for a tensor of `tensor_dtype` with a Scalar (a
 * wrapped number) of kind `scalar_kind` (DDK_ARG_INT, DDK_ARG_FLOAT or
 * DDK_ARG_BOOL): the scalar only raises the category.
 */
ddk_dtype ddk_promote_with_scalar(ddk_dtype tensor_dtype, uint32_t scalar_kind);

/**
 * Infers the sizes and dtypes of `node`'s outputs from its inputs and
 * arguments. `values` holds a ddk_tensor per program value (indexed by
 * value index): the input tensors' dtype/rank/sizes are read; the output
 * tensors' dtype/rank/sizes/strides (contiguous) are written.
 * Returns DDK_UNSUPPORTED_OP when the op has no inference rule yet,
 * DDK_SHAPE_MISMATCH / DDK_DTYPE_MISMATCH / DDK_INVALID_ARGUMENT with a
 * message naming the op and the argument on bad inputs.
 */
ddk_status ddk_infer_node(const ddk_node_view* node, ddk_tensor* values,
                          char* err, size_t err_cap);

/** Sets contiguous strides and dim_order 0..rank-1 on `t`. */
void ddk_tensor_set_contiguous(ddk_tensor* t);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* DDK_OPS_H_ */
