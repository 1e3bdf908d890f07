/*
 * case_file.h — the case files of the golden tier and the conformance
 * suite: reading them, building a case's one-op program, and comparing a
 * result with the expected one under the op's tolerance, with error
 * statistics.
 *
 * The format is written by reference_runtime/kernels/tests/golden/core.py
 * ("DDKGOLD2"; documented there): per case its op, inputs (dense storage,
 * any dim order), arguments, PyTorch's expected outputs and, for
 * accumulation-scaled tolerances, per-element magnitudes and a term count.
 * Used by reference_runtime/kernels/golden_test.c and
 * conformance/runner/ddk_conform.c. Host-side test code: it allocates.
 */
#ifndef DDK_CASE_FILE_H_
#define DDK_CASE_FILE_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ddk/ops.h"

#define DDK_CASE_MAX_VALUES 64
#define DDK_CASE_MAX_ARGS 24

/** Case flags (golden/core.py CASE_*). */
enum {
  DDK_CASE_REFUSED = 1,       /**< PyTorch refused: the implementation must too */
  DDK_CASE_EPS_STORAGE = 2,   /**< scale term uses the result dtype's roundoff */
  DDK_CASE_METADATA_ONLY = 4, /**< compare dtype and shape only */
  DDK_CASE_SIGNED_ZERO = 8,   /**< the sign of zero must match */
};

/** One case, with everything it owns (ddk_case_free). */
typedef struct ddk_case {
  char name[256], op[96];
  uint32_t flags, num_values, num_args, num_outputs;
  ddk_tensor values[DDK_CASE_MAX_VALUES];           /**< inputs own their data */
  ddk_tensor want[DDK_CASE_MAX_VALUES];             /**< outputs: expected dtype/rank/sizes */
  uint32_t role[DDK_CASE_MAX_VALUES];               /**< 0 input, 1 output */
  const unsigned char* expect[DDK_CASE_MAX_VALUES]; /**< expected bytes (into the file) */
  uint64_t expect_len[DDK_CASE_MAX_VALUES];
  double* scale[DDK_CASE_MAX_VALUES]; /**< per-element magnitudes or NULL */
  ddk_arg args[DDK_CASE_MAX_ARGS];
  void* arg_mem[DDK_CASE_MAX_ARGS];
  uint32_t outputs[DDK_CASE_MAX_VALUES];
  int64_t k; /**< terms per accumulated result */
} ddk_case;

/** An open case file (the whole file in memory). */
typedef struct ddk_case_file {
  unsigned char* buf;
  size_t size;
  size_t pos;
  uint32_t count; /**< cases in the file */
  uint32_t index; /**< cases read so far */
} ddk_case_file;

/** Opens and checks the header; false with a message otherwise. */
bool ddk_case_file_open(const char* path, ddk_case_file* f, char* err, size_t err_cap);

/** Reads the next case: 1 read, 0 at the end, -1 malformed. The case
 * borrows expected bytes from the file (keep it open). */
int ddk_case_file_next(ddk_case_file* f, ddk_case* c);

void ddk_case_file_close(ddk_case_file* f);
void ddk_case_free(ddk_case* c);

/** The node view of case `c` (borrows the case). */
ddk_node_view ddk_case_node(const ddk_case* c, const ddk_op_info* info);

/**
 * Serialises the case as a one-op program. Inputs become program inputs
 * (inputs_as_values) or constants, keeping their dim order; outputs are
 * declared with the shapes in `declared` (what inference gave; for a
 * data-dependent op an upper bound, declared dynamic). The caller frees
 * *out_bytes with ddk_allocator_system().
 */
ddk_status ddk_case_program(const ddk_case* c, const ddk_op_info* info, const ddk_tensor* declared,
                            bool inputs_as_values, void** out_bytes, size_t* out_size, char* err,
                            size_t err_cap);

/** Error statistics of one compared output. */
typedef struct ddk_case_stats {
  double max_abs; /**< largest |got - want| over finite pairs */
  double max_ulp; /**< largest difference in ULPs of the result dtype */
  double nmse;    /**< sum (got-want)^2 / sum want^2 (0 when want is 0) */
  double bias;    /**< mean (got - want) */
  int64_t worst;  /**< element of the first failure, or of max_abs; -1 none */
  double worst_got, worst_want, worst_bound;
} ddk_case_stats;

/**
 * Accuracy profiles (docs/tolerances.md, "Accuracy profiles"): the
 * precision a backend declares it computes float32 results in. A profile
 * widens the whole bound of float32 results (and of the float32 parts of
 * complex64) by eps(profile type) / eps(float32); exact-class ops stay
 * exact, other dtypes are unaffected.
 */
typedef enum ddk_accuracy_profile {
  DDK_ACCURACY_DEFAULT = 0,    /**< float32 computed as float32 */
  DDK_ACCURACY_FP16_ACCUM = 1, /**< float16 roundoff: eps 2^-10 */
  DDK_ACCURACY_BF16_ACCUM = 2, /**< bfloat16 roundoff: eps 2^-7 */
  DDK_ACCURACY_TF32 = 3,       /**< TensorFloat-32 roundoff: eps 2^-10 */
  /** float32 roundoff, but "fast math" special values: denormals may be
   * flushed to zero (inputs, and results below 2^-125, twice the smallest
   * normal, where exp kernels underflow), NaN need not propagate (a NaN
   * expected may come back as any value), zeros' signs may differ. For
   * libraries such as XNNPACK that run with FTZ/DAZ and min/max clamps. */
  DDK_ACCURACY_FAST_MATH = 4,
} ddk_accuracy_profile;

/** The profile's name ("default", "fp16_accum", "bf16_accum", "tf32",
 * "fast_math"). */
const char* ddk_accuracy_profile_name(ddk_accuracy_profile profile);

/** Parses a profile name; false when `name` is none of the above. */
bool ddk_accuracy_profile_parse(const char* name, ddk_accuracy_profile* out_profile);

/** eps(profile type) / eps(float32): the factor on float32 bounds (1 for
 * the default profile). */
double ddk_accuracy_profile_factor(ddk_accuracy_profile profile);

/**
 * Compares `got` (contiguous) with the expected output `v` of case `c` —
 * PyTorch's bytes from the file when `want` is NULL, else the tensor
 * `want` (e.g. the reference runtime's result) — under the tolerance of
 * the case's op (see docs/tolerances.md), widened for float32 results by
 * `profile` (DDK_ACCURACY_DEFAULT: the op's own tolerance). Fills *stats
 * (may be NULL) and, on failure, a message naming the first failing
 * element.
 */
bool ddk_case_compare(const ddk_case* c, uint32_t v, const ddk_tensor* got, const ddk_tensor* want,
                      ddk_accuracy_profile profile, ddk_case_stats* stats, char* msg,
                      size_t msg_cap);

#endif /* DDK_CASE_FILE_H_ */
