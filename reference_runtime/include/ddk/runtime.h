/*
 * ddk/runtime.h — the embedding API of the DDK reference runtime.
 *
 *   ddk_runtime_create            a registry of backends + services
 *   ddk_runtime_add_backend       register a backend: static vtable, plugin
 *                                 path, or name (found on DDK_BACKEND_PATH)
 *   ddk_program_load_file         (ddk/program.h) load + verify a program
 *   ddk_runtime_lower             partition + preprocess -> lowered program
 *   ddk_method_create             plan memory, init delegates
 *   ddk_method_set_input / _execute / _get_output
 *
 * Ownership follows the verbs: *_create returns an object the caller frees
 * with the matching *_destroy; *_get borrows. Every function that can fail
 * returns ddk_status and writes a message into (err, err_cap).
 * Thread-safety: a ddk_runtime is not thread-safe; distinct methods may
 * execute concurrently on different threads.
 */
#ifndef DDK_RUNTIME_H_
#define DDK_RUNTIME_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ddk/delegate_api.h"
#include "ddk/program.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Version string of this runtime ("0.1.0"). */
const char* ddk_runtime_version(void);

/** Name of a status code ("INVALID_PROGRAM"), never NULL. */
const char* ddk_status_name(ddk_status status);

/** Description of a status code ("invalid program"), never NULL. */
const char* ddk_status_string(ddk_status status);

/* ------------------------------------------------------------------------ */
/* Runtime: backends and services                                           */
/* ------------------------------------------------------------------------ */

typedef struct ddk_runtime ddk_runtime;

/**
 * Creates a runtime. `allocator` may be NULL (system allocator); it is
 * copied and used for every allocation the runtime and its backends make.
 * Log lines go to stderr at `DDK_LOG_WARNING` and above unless
 * ddk_runtime_set_logger replaces the logger.
 */
ddk_status ddk_runtime_create(const ddk_allocator* allocator,
                              ddk_runtime** out_runtime, char* err,
                              size_t err_cap);

/** Destroys a runtime, unloading its plugins. Methods must be gone first. */
void ddk_runtime_destroy(ddk_runtime* runtime);

/** Replaces the logger handed to backends and used by the runtime. */
void ddk_runtime_set_logger(ddk_runtime* runtime, const ddk_logger* logger);

/**
 * Registers a statically linked backend (the vtable is borrowed and must
 * outlive the runtime). Negotiates the ABI exactly as for a plugin.
 * DDK_INVALID_ARGUMENT when a backend of the same name is registered.
 */
ddk_status ddk_runtime_register_backend(ddk_runtime* runtime,
                                        const ddk_backend* backend, char* err,
                                        size_t err_cap);

/**
 * Registers a backend by plugin path (contains '/' or ends in ".so") or by
 * name: an already-registered name, else lib<name>.so / libddk_backend_<name>.so
 * searched in the ':'-separated DDK_BACKEND_PATH. The plugin's entry symbol
 * is called with DDK_ABI_VERSION; a plugin of another ABI major, a vtable
 * too small for ABI 1.0, or missing mandatory slots is refused with
 * DDK_ABI_MISMATCH and a message naming the versions. *out_backend
 * (optional) receives the vtable.
 */
ddk_status ddk_runtime_add_backend(ddk_runtime* runtime,
                                   const char* name_or_path,
                                   const ddk_backend** out_backend, char* err,
                                   size_t err_cap);

/** Facts about a registered backend. Strings are owned by the runtime. */
typedef struct ddk_backend_entry_info {
  const ddk_backend* backend;
  const char* name;
  const char* version;
  const char* path;        /**< plugin path, or "(static)" */
  uint32_t abi_version;    /**< the version the plugin was built against */
  ddk_backend_info info;   /**< from query (available=true when no query) */
} ddk_backend_entry_info;

/** Number of registered backends. */
uint32_t ddk_runtime_backend_count(const ddk_runtime* runtime);

/** Info on backend `index` (registration order); false when out of range. */
bool ddk_runtime_backend_get(const ddk_runtime* runtime, uint32_t index,
                             ddk_backend_entry_info* out_info);

/** The registered backend named `name`, or NULL. */
const ddk_backend* ddk_runtime_find_backend(const ddk_runtime* runtime,
                                            const char* name);

/** The services (allocator, logger, profiler) handed to backends. */
const ddk_services* ddk_runtime_services(const ddk_runtime* runtime);

/* ------------------------------------------------------------------------ */
/* Lowering                                                                 */
/* ------------------------------------------------------------------------ */

/**
 * Lowers `program` for the named backends (registered names), in priority
 * order: each backend's partition sees the nodes not yet claimed by a
 * higher-priority backend; claimed nodes are grouped into acyclic,
 * maximal partitions per backend; each partition is preprocessed into a
 * blob; the result is a new, verified program with delegate instructions
 * (*out_program, caller destroys). Nodes no backend claims stay portable
 * kernels; if such a node has no portable kernel, lowering fails with
 * DDK_UNSUPPORTED_OP naming the node and op. `options` are passed to
 * partition and preprocess. A backend that is unavailable (query) is
 * skipped with a warning.
 */
ddk_status ddk_runtime_lower(ddk_runtime* runtime, const ddk_program* program,
                             const char* const* backend_names,
                             uint32_t num_backends, const ddk_options* options,
                             ddk_program** out_program, char* err,
                             size_t err_cap);

/**
 * Checks that every node of `program` can run: it is in a delegate whose
 * backend is registered, or has a portable kernel. DDK_UNSUPPORTED_OP
 * naming the first node that cannot.
 */
ddk_status ddk_program_check_runnable(const ddk_runtime* runtime,
                                      const ddk_program* program, char* err,
                                      size_t err_cap);

/* ------------------------------------------------------------------------ */
/* Methods: a program ready to execute                                      */
/* ------------------------------------------------------------------------ */

typedef struct ddk_method ddk_method;

/**
 * Prepares `program` (borrowed; must outlive the method) for execution:
 * plans memory once (one arena for all non-constant values, reused by
 * values whose lifetimes do not overlap) and inits every delegate through
 * its registered backend. After this, execute allocates nothing.
 * Options: "profile" (bool) turns profiling events on; "seed" (int, default
 * 0) seeds the generator the random ops (rand, randn, randperm,
 * native_dropout) draw from: a method replays the same stream.
 * Debug checks (for conformance runs; off by default, they cost time):
 * "guard_bytes" (int, 0..2^20, rounded up to 64) surrounds every planned
 * value with that many guard bytes, refilled before and checked after each
 * instruction that writes the value: a kernel or backend writing outside an
 * output fails execute with DDK_OUT_OF_BOUNDS_WRITE (the message names the
 * instruction, the value and the byte offset; outputs then have exactly
 * their declared bytes as capacity). "check_inputs" (bool) hashes every
 * value an instruction reads before and after it: a change fails execute
 * with DDK_INPUT_MODIFIED.
 * A delegate whose init fails fails the method (the message names the
 * delegate, its backend and first node, and the backend's reason), unless
 * "delegate_fallback" (bool, default false) is set: then a warning is
 * logged and that delegate's nodes run on the portable kernels (each needs
 * one; ddk_method_num_fallbacks counts such delegates). With "profile",
 * backends with set_profiling are switched on and their events collected
 * (ddk_method_backend_events).
 */
ddk_status ddk_method_create(ddk_runtime* runtime, const ddk_program* program,
                             const ddk_options* options,
                             ddk_method** out_method, char* err,
                             size_t err_cap);

/** Destroys a method (destroys its delegate handles, frees the arena). */
void ddk_method_destroy(ddk_method* method);

/** Number of program inputs / outputs. */
uint32_t ddk_method_num_inputs(const ddk_method* method);
uint32_t ddk_method_num_outputs(const ddk_method* method);

/**
 * The planned tensor of input `index` (borrowed): its sizes are the
 * declared ones (upper bounds for dynamic dims).
 */
const ddk_tensor* ddk_method_input_spec(const ddk_method* method,
                                        uint32_t index);

/**
 * Copies `data` (contiguous, `nbytes` bytes, dtype and sizes given) into
 * input `index`. dtype must match; rank must match; each size must equal
 * the declared size, or be ≤ the bound for a dynamic dim. DDK_DTYPE_MISMATCH
 * / DDK_SHAPE_MISMATCH / DDK_INVALID_ARGUMENT with a message otherwise.
 */
ddk_status ddk_method_set_input(ddk_method* method, uint32_t index,
                                ddk_dtype dtype, uint32_t rank,
                                const int64_t* sizes, const void* data,
                                size_t nbytes, char* err, size_t err_cap);

/**
 * Runs the plan. Allocates nothing. On failure the outputs are withdrawn
 * (ddk_method_output answers NULL until an execute succeeds), so a
 * partial result is never mistaken for one.
 */
ddk_status ddk_method_execute(ddk_method* method, char* err, size_t err_cap);

/**
 * Output `index` after a successful execute (borrowed; valid until the
 * next execute or destroy). Contiguous. NULL when out of range, before the
 * first execute, or after a failed one.
 */
const ddk_tensor* ddk_method_output(const ddk_method* method, uint32_t index);

/** Bytes of the planned arena (all non-constant values). */
size_t ddk_method_arena_size(const ddk_method* method);

/** Sum of the sizes of all planned values (what no reuse would cost). */
size_t ddk_method_unplanned_size(const ddk_method* method);

/** One timed instruction (when the method was created with "profile"). */
typedef struct ddk_method_event {
  uint32_t instruction;
  uint32_t node_index;  /**< first node of the instruction */
  const char* backend;  /**< backend name, or "portable" */
  const char* name;     /**< op name, or "delegate:<backend>" */
  uint64_t start_ns;
  uint64_t end_ns;
  uint64_t bytes;       /**< bytes of the tensors it read and wrote */
} ddk_method_event;

/** Events recorded by the last execute (profiling on), borrowed. */
uint32_t ddk_method_events(const ddk_method* method,
                           const ddk_method_event** out_events);

/** One event a backend emitted through the profiler sink during execute. */
typedef struct ddk_method_backend_event {
  uint32_t delegate;   /**< index of the delegate that emitted it */
  const char* backend; /**< its backend's name */
  uint32_t kind;       /**< ddk_profile_kind */
  uint32_t node_index; /**< program node, or DDK_NO_VALUE */
  char name[64];       /**< the event's name (copied, truncated) */
  char detail[192];    /**< its detail (ABI 1.1), "" when none */
  uint64_t start_ns, end_ns, bytes, flops, cycles;
} ddk_method_backend_event;

/**
 * Backend events of the last execute (method created with "profile";
 * at most 8192, the rest counted in *out_dropped), borrowed.
 */
uint32_t ddk_method_backend_events(const ddk_method* method,
                                   const ddk_method_backend_event** out_events,
                                   uint32_t* out_dropped);

/** Number of delegates running on portable kernels (delegate_fallback). */
uint32_t ddk_method_num_fallbacks(const ddk_method* method);

/** True when delegate `delegate` fell back to the portable kernels. */
bool ddk_method_delegate_fell_back(const ddk_method* method, uint32_t delegate);

#ifdef __cplusplus
}
#endif

#endif /* DDK_RUNTIME_H_ */
