/*
 * program_verify.h — private: the semantic verifier of an in-memory
 * ddk_program, shared by the reader (after decoding a file), the writer
 * (before serialising) and the runtime (after lowering).
 *
 * The reader checks what decoding itself needs (sections, record bounds,
 * pool ranges, string references, constant and blob byte ranges); this
 * verifier checks everything else, on the decoded structs, so that a
 * program assembled in memory gets exactly the same checks as one read
 * from a file. See docs/program_format.md, "Verification".
 */
#ifndef DDK_PROGRAM_VERIFY_H_
#define DDK_PROGRAM_VERIFY_H_

#include <stddef.h>
#include <stdint.h>

#include "ddk/delegate_api.h"
#include "ddk/program.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Verifies `program`: value descriptions, quantization, program inputs and
 * outputs, node arguments against the op schemas, single definition of
 * every value, plan coverage, delegate consistency, topological order, and
 * the declared output shapes against ddk_infer_node.
 *
 * `allocator` (NULL: the system allocator) provides scratch memory, freed
 * before returning. Returns DDK_OK, DDK_INVALID_PROGRAM with a message
 * naming the record and field ("NODES[4].args[1]: ..."), or
 * DDK_OUT_OF_MEMORY. Does not modify the program. Thread-safe.
 *
 * Fields the file does not store are not checked: strides (the reader
 * computes dense strides from sizes and dim_order), the data of values that
 * are not constants, and the alignment of constant data (the writer copies
 * it; the reader places it 64-byte aligned).
 */
ddk_status ddk_program_verify(const ddk_program* program,
                              const ddk_allocator* allocator, char* err,
                              size_t err_cap);

/**
 * ddk_program_verify for a program the reader decoded from a file: a
 * constant's `capacity` (its data_size) must equal its byte size exactly,
 * where an in-memory program may leave it 0 ("not set") or larger.
 */
ddk_status ddk_program_verify_decoded(const ddk_program* program,
                                      const ddk_allocator* allocator,
                                      char* err, size_t err_cap);

/**
 * Writes a printf-formatted message into err (truncated to fit) and
 * returns DDK_INVALID_PROGRAM. Safe with err == NULL / err_cap == 0.
 */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 3, 4)))
#endif
ddk_status ddk_program_fail(char* err, size_t err_cap, const char* fmt, ...);

/**
 * Sets t->strides to the dense strides of t->sizes laid out in
 * t->dim_order (as ATen: a size-0 or size-1 dim counts as 1). Requires
 * t->rank <= DDK_MAX_RANK and a valid dim_order.
 */
void ddk_program_dense_strides(ddk_tensor* t);

/** "TENSOR_LIST" for DDK_ARG_TENSOR_LIST, ...; "?" when out of range. */
const char* ddk_arg_kind_name(uint32_t kind);

#ifdef __cplusplus
}
#endif

#endif /* DDK_PROGRAM_VERIFY_H_ */
