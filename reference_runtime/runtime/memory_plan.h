/*
 * memory_plan.h — plans one arena for a program's non-constant values.
 */
#ifndef DDK_MEMORY_PLAN_H_
#define DDK_MEMORY_PLAN_H_

#include "ddk/program.h"

/** Alignment of every planned buffer. */
#define DDK_PLAN_ALIGNMENT 64

/**
 * Plans offsets for the values that need storage (non-constant values that
 * are program inputs/outputs, or read or written by a kernel instruction or
 * a delegate instruction). Two values share bytes only when their lifetimes
 * (first to last instruction touching them; inputs and outputs live
 * throughout) do not overlap. Writes out_offsets[v] (SIZE_MAX when value v
 * needs no storage) and out_sizes[v] (bytes reserved), and the arena size.
 * All arrays have program->num_values entries and are the caller's.
 * `guard` (a multiple of DDK_PLAN_ALIGNMENT, usually 0) reserves that many
 * extra bytes before and after every value, for overrun checks.
 * `expand` (NULL, or one flag per delegate) marks delegates whose nodes
 * run on portable kernels instead: their nodes' values get storage too,
 * live for the delegate's whole step.
 */
ddk_status ddk_memory_plan(const ddk_program* program, const bool* expand, size_t guard,
                           const ddk_allocator* allocator, size_t* out_offsets,
                           size_t* out_sizes, size_t* out_arena_size,
                           size_t* out_unplanned_size, char* err,
                           size_t err_cap);

#endif /* DDK_MEMORY_PLAN_H_ */
