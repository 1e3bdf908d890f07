/*
 * ddk/program.h — a DDK program in memory: reader (with verifier) and
 * writer for the program file format specified in docs/program_format.md.
 *
 * A loaded program is immutable. Its arrays are decoded into one
 * allocation; constant data and delegate blobs point straight into the
 * file's bytes (memory-mapped when loaded from a path), never copied.
 */
#ifndef DDK_PROGRAM_H_
#define DDK_PROGRAM_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ddk/delegate_api.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Program format version written by this library. */
#define DDK_PROGRAM_FORMAT_MAJOR 1u
#define DDK_PROGRAM_FORMAT_MINOR 0u

/** Kind of one instruction of the execution plan. */
typedef enum ddk_instruction_kind {
  DDK_INSTR_KERNEL = 0,   /**< run node `index` with its portable kernel */
  DDK_INSTR_DELEGATE = 1, /**< run delegate `index` through its backend */
} ddk_instruction_kind;

/** One step of the execution plan. */
typedef struct ddk_instruction {
  uint32_t kind;  /**< ddk_instruction_kind */
  uint32_t index; /**< node index or delegate index */
} ddk_instruction;

/** A partition handed to a backend, as stored in the program. */
typedef struct ddk_program_delegate {
  const char* backend_id; /**< ddk_backend.name that compiled it */
  const char* compat;     /**< compatibility string from preprocess */
  const void* blob;       /**< blob bytes (64-byte aligned in the file) */
  uint64_t blob_size;
  uint32_t num_nodes;     /**< the original nodes it covers */
  const uint32_t* nodes;
  uint32_t num_inputs;    /**< values it reads (execute's inputs, in order) */
  const uint32_t* inputs;
  uint32_t num_outputs;   /**< values it writes (execute's outputs) */
  const uint32_t* outputs;
} ddk_program_delegate;

/**
 * A program. values[i].tensor describes value i (sizes are upper bounds
 * where dynamic_mask says so; data points at constant bytes for constants,
 * NULL otherwise). nodes[i].args index values. Every node is covered
 * exactly once by the plan: by a KERNEL instruction or by one delegate.
 */
typedef struct ddk_program {
  uint16_t format_major;
  uint16_t format_minor;
  uint32_t num_values;
  const ddk_value_desc* values;
  uint32_t num_nodes;
  const ddk_node_view* nodes;
  uint32_t num_inputs;
  const uint32_t* inputs;
  uint32_t num_outputs;
  const uint32_t* outputs;
  uint32_t num_delegates;
  const ddk_program_delegate* delegates;
  uint32_t num_instructions;
  const ddk_instruction* instructions;
  /* Private to the reader: ownership of the decoded arrays and bytes. */
  void* internal_;
} ddk_program;

/**
 * Loads and verifies a program file (memory-mapped, read-only).
 * On success *out_program is owned by the caller (ddk_program_destroy).
 * DDK_IO_ERROR when the file cannot be read, DDK_INVALID_PROGRAM with a
 * message naming the section, record and field when it is malformed.
 */
ddk_status ddk_program_load_file(const char* path,
                                 const ddk_allocator* allocator,
                                 ddk_program** out_program, char* err,
                                 size_t err_cap);

/**
 * Loads and verifies a program from bytes. When `copy` is false and the
 * bytes are 64-byte aligned, they must outlive the program (constants
 * point into them); otherwise (copy true, or a misaligned buffer) they are
 * copied into an aligned allocation, so constants are always aligned.
 */
ddk_status ddk_program_load_buffer(const void* data, size_t size, bool copy,
                                   const ddk_allocator* allocator,
                                   ddk_program** out_program, char* err,
                                   size_t err_cap);

/** Frees a program from ddk_program_load_*. NULL is a no-op. */
void ddk_program_destroy(ddk_program* program);

/**
 * Serialises `program` (any ddk_program whose arrays are valid — a loaded
 * one or one assembled by the caller, internal_ ignored) into a new
 * buffer allocated with `allocator` (alignment 64). The caller frees
 * *out_data with the allocator and *out_size.
 */
ddk_status ddk_program_serialize(const ddk_program* program,
                                 const ddk_allocator* allocator,
                                 void** out_data, size_t* out_size, char* err,
                                 size_t err_cap);

/** Serialises `program` into the file at `path`. */
ddk_status ddk_program_write_file(const ddk_program* program, const char* path,
                                  const ddk_allocator* allocator, char* err,
                                  size_t err_cap);

/** The default allocator (aligned malloc/free). */
const ddk_allocator* ddk_allocator_system(void);

#ifdef __cplusplus
}
#endif

#endif /* DDK_PROGRAM_H_ */
