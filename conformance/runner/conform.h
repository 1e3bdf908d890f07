/*
 * conform.h — the pieces of ddk_conform (see ddk_conform.c for the tool):
 *
 *   conform.c      the run's configuration, one case in an isolated child
 *                  process, result lines, the child's runtime session
 *   op_case.c      an op case (one case of a case file) in the child
 *   graph_case.c   graph cases: the TSV, one graph case in the child
 *   bundle.c       bundles: BUNDLE, SHA256SUMS verification
 *   sha256.c       SHA-256 (sha256.h)
 *
 * Host-side tool code: it allocates with malloc, prints, and may exit
 * only from main.
 */
#ifndef DDK_CONFORM_H_
#define DDK_CONFORM_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "case_file.h"
#include "ddk/program.h"
#include "ddk/runtime.h"

#define DDK_CONFORM_MAX_BACKENDS 8
#define DDK_CONFORM_MAX_OPTIONS 32

/* ---- configuration ------------------------------------------------------- */

/** What every case of a run shares (set up by main, read by children). */
typedef struct ddk_conform_config {
  const char* backends[DDK_CONFORM_MAX_BACKENDS]; /**< --backend, priority order */
  uint32_t num_backends;
  ddk_option options[DDK_CONFORM_MAX_OPTIONS]; /**< --option (strings borrow argv) */
  uint32_t num_options;
  long timeout_ms;
  long guard_bytes;
  ddk_accuracy_profile profile;
  /** Reported as "backend" when nothing was delegated or nothing is
   * known: the first backend's registered name (its argument if it could
   * not be loaded). */
  char first_backend[128];
} ddk_conform_config;

/**
 * Parses a --option argument "KEY=VALUE" into *out (key and string values
 * point into `arg`'s storage, which must outlive the option): true/false
 * -> BOOL, a decimal integer -> INT, a finite decimal float -> FLOAT,
 * anything else (empty included) -> STRING. False for a missing '=' or an
 * empty key; `arg` is modified (the '=' becomes a NUL).
 */
bool ddk_conform_option_parse(char* arg, ddk_option* out);

/** Writes an option's value as JSON (floats always with a '.' or 'e'). */
void ddk_conform_json_option_value(FILE* f, const ddk_option* o);

/** Writes `s` as a JSON string. */
void ddk_conform_json_str(FILE* f, const char* s);

/** Writes a JSON number, null for NaN and infinities. */
void ddk_conform_json_num(FILE* f, double v);

/* ---- one case's result --------------------------------------------------- */

/** Who a result line is about. */
typedef struct ddk_conform_case_id {
  const char* kind; /**< "op" or "graph" */
  uint32_t index;   /**< 0-based ordinal in its file */
  const char* name;
  const char* op;   /**< "" for graph cases */
  const char* tags; /**< graph cases only; NULL for op cases */
} ddk_conform_case_id;

/** The outcome of one case (filled in the child, or by the parent when
 * the child crashed or hung). */
typedef struct ddk_conform_result {
  const char* outcome; /**< a static string (pass, fail, ...) */
  char stage[32];
  char detail[768];
  char backend[256]; /**< the backends that took nodes, comma-joined */
  bool has_stats;
  ddk_case_stats stats;
  /* graph cases */
  bool is_graph;
  int64_t nodes, delegated, partitions;
  int64_t worst_output; /**< output of stats.worst, -1 none */
} ddk_conform_result;

/** Clears *r to outcome "error" with no stage, detail or stats. */
void ddk_conform_result_init(ddk_conform_result* r);

/** Sets outcome, stage and "STATUS_NAME: msg" as the detail. */
void ddk_conform_result_fail(ddk_conform_result* r, const char* outcome, const char* stage,
                             ddk_status st, const char* msg);

/** Writes one JSON result line (a complete line, '\n' included). */
void ddk_conform_write_result(FILE* f, const ddk_conform_config* cfg, const ddk_conform_case_id* id,
                              const ddk_conform_result* r, double ms);

/**
 * Runs `run(cfg, ctx, result)` in a forked child with cfg->timeout_ms as
 * the limit and writes the case's result line to `out`: the child's own
 * line, or, when it died or hung, a crash / hang line that names the last
 * stage the child announced (ddk_conform_note_stage). Returns the outcome
 * name (valid until the next call).
 */
typedef void (*ddk_conform_case_fn)(const ddk_conform_config* cfg, const void* ctx,
                                    ddk_conform_result* result);
const char* ddk_conform_run_isolated(const ddk_conform_config* cfg, const ddk_conform_case_id* id,
                                     ddk_conform_case_fn run, const void* ctx, FILE* out);

/* ---- in the child: notes to the parent ----------------------------------- */

/** Announces the stage the child is entering (for a crash/hang line). */
void ddk_conform_note_stage(const char* stage);

/** Announces which backends took nodes (and, for a graph, the counts). */
void ddk_conform_note_lowered(const ddk_conform_result* r);

/* ---- in the child: the runtime session ----------------------------------- */

/** A runtime with the case's backends registered, its options, and a
 * counting allocator (the leak check). */
typedef struct ddk_conform_session {
  long live_blocks;
  size_t live_bytes;
  ddk_allocator allocator; /**< counts into this session */
  ddk_runtime* runtime;
  /** Registered names (owned by the runtime), priority order: the run's
   * --backend ones first (num_primary), then the case's own. */
  const char* names[2 * DDK_CONFORM_MAX_BACKENDS];
  uint32_t num_names, num_primary;
  /** The case's options, then the run's (a case's key wins). */
  ddk_option options[2 * DDK_CONFORM_MAX_OPTIONS];
  uint32_t num_options;
  /** After lowering: partitions the run's own backends took (0 means
   * unsupported: the case's further backends only help). */
  uint32_t primary_partitions;
} ddk_conform_session;

/** Creates the runtime and registers the run's backends, then the case's
 * `more_backends` (may be NULL); the options are `more_options` (the
 * case's) then the run's. On failure fills *r (error, stage "load") and
 * returns false. Close it either way. */
bool ddk_conform_session_open(ddk_conform_session* s, const ddk_conform_config* cfg,
                              const char* const* more_backends, uint32_t num_more_backends,
                              const ddk_option* more_options, uint32_t num_more_options,
                              ddk_conform_result* r);

/**
 * Lowers `program` for the backends with the session's options. On a
 * lowering error fills *r (claimed-but-broken, stage preprocess or
 * partition) and returns false. Otherwise records in *r the backends that
 * took nodes (or the first backend), the node, delegated-node and
 * partition counts, tells the parent, sets s->primary_partitions and
 * returns true.
 */
bool ddk_conform_session_lower(ddk_conform_session* s, const ddk_conform_config* cfg,
                               const ddk_program* program, ddk_program** out_lowered,
                               ddk_conform_result* r);

/** One program input's data. */
typedef struct ddk_conform_input {
  ddk_dtype dtype;
  uint32_t rank;
  const int64_t* sizes;
  const void* data;
  size_t nbytes;
} ddk_conform_input;

/**
 * The backend's run: creates a method for the lowered program with the
 * session's options plus the debug checks (guard_bytes, check_inputs), sets
 * the inputs and executes. On failure fills *r (claimed-but-broken at
 * init/execute, out-of-bounds-write, input-modified) and returns false;
 * *out_method is set either way (destroy it).
 */
bool ddk_conform_session_run_backend(ddk_conform_session* s, const ddk_conform_config* cfg,
                                     const ddk_program* lowered, const ddk_conform_input* inputs,
                                     uint32_t num_inputs, ddk_method** out_method,
                                     ddk_conform_result* r);

/** The reference run: the unlowered program on the portable kernels. On
 * failure fills *r (error, stage reference) and returns false;
 * *out_method is set either way. */
bool ddk_conform_session_run_reference(ddk_conform_session* s, const ddk_program* program,
                                       const ddk_conform_input* inputs, uint32_t num_inputs,
                                       ddk_method** out_method, ddk_conform_result* r);

/** Destroys the runtime; a result that passed becomes "leak" when the
 * counting allocator does not balance. */
void ddk_conform_session_close(ddk_conform_session* s, ddk_conform_result* r);

/* ---- op cases (op_case.c) ------------------------------------------------ */

/** ddk_conform_case_fn for an op case; ctx is the const ddk_case*. */
void ddk_conform_run_op_case(const ddk_conform_config* cfg, const void* ctx, ddk_conform_result* r);

/* ---- graph cases (graph_case.c) ------------------------------------------ */

/** One row of a graph TSV. Paths are as written (relative to the TSV's
 * folder) and resolved (usable from the current directory). */
typedef struct ddk_conform_graph_case {
  char* name;
  char* tags;
  char* program;      /**< as written */
  char* program_path; /**< resolved */
  uint32_t num_inputs;
  char** inputs;      /**< as written */
  char** input_paths; /**< resolved */
  double rtol, atol;
  /** Optional column "backends": further backends (names or paths),
   * registered after the run's, lower priority. */
  uint32_t num_backends;
  char* backends[DDK_CONFORM_MAX_BACKENDS];
  /** Optional column "options": ';'-separated KEY=VALUE, typed as
   * --option; they point into options_text. */
  uint32_t num_options;
  ddk_option options[DDK_CONFORM_MAX_OPTIONS];
  char* options_text;
} ddk_conform_graph_case;

typedef struct ddk_conform_graph_file {
  ddk_conform_graph_case* cases;
  uint32_t count;
} ddk_conform_graph_file;

/** Reads a graph TSV; false with a message naming the file and line. */
bool ddk_conform_graphs_read(const char* path, ddk_conform_graph_file* out, char* err,
                             size_t err_cap);

void ddk_conform_graphs_free(ddk_conform_graph_file* f);

/**
 * Compares a graph's outputs (`got`, the backend's) with the reference's
 * (`want`): floating-point elements |got - want| <= atol + rtol * |want|
 * (NaN meets NaN, infinities equal), integer elements equal or, when
 * atol >= 1, within atol, bools equal; dtypes and shapes equal. Fills
 * r->stats (max_abs, nmse, bias over all outputs; worst: the first
 * failing element, else the largest difference) and r->worst_output, and
 * on failure r->detail. Does not set r->outcome.
 */
bool ddk_conform_graph_compare(const ddk_tensor* const* got, uint32_t num_got,
                               const ddk_tensor* const* want, uint32_t num_want, double rtol,
                               double atol, ddk_conform_result* r);

/** ddk_conform_case_fn for a graph case; ctx is the const
 * ddk_conform_graph_case*. */
void ddk_conform_run_graph_case(const ddk_conform_config* cfg, const void* ctx,
                                ddk_conform_result* r);

/* ---- bundles (bundle.c) -------------------------------------------------- */

/** A verified bundle: the files to run (malloc'd, NULL when absent). */
typedef struct ddk_conform_bundle {
  char* cases;
  char* graphs;
} ddk_conform_bundle;

/**
 * Opens bundle folder `dir`: verifies every file SHA256SUMS lists, that
 * it lists every file the bundle uses (BUNDLE, the case file, the graph
 * TSV and each program and input that names), that BUNDLE is format 1 and
 * its op_table_hash is this runner's. False with a message naming the
 * file otherwise.
 */
bool ddk_conform_bundle_open(const char* dir, ddk_conform_bundle* out, char* err, size_t err_cap);

void ddk_conform_bundle_free(ddk_conform_bundle* b);

/* ---- paths (bundle.c) ---------------------------------------------------- */

/** "dir/rel" (rel unchanged when absolute or dir is empty), malloc'd. */
char* ddk_conform_path_join(const char* dir, const char* rel);

/** The folder part of `path` ("" for a bare name), malloc'd. */
char* ddk_conform_path_dir(const char* path);

#endif /* DDK_CONFORM_H_ */
