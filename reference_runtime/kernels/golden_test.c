/*
 * golden_test.c — runs every case of a golden file written by the golden
 * tier (tests/test_golden.py, tests/golden/; PyTorch CPU results) and
 * compares. The file is named by DDK_GOLDEN_FILE; without it the test says
 * so and passes. Prints failures, then "N passed, M failed".
 *
 * Every case runs twice:
 *  1. directly: ddk_infer_node, then the kernel from ddk_kernel_lookup,
 *     with every input and output in its own exactly-sized allocation and
 *     guard bytes behind each output (under ASan, any stray access shows);
 *  2. as a one-op program through the runtime: inputs become constants
 *     (keeping their layout), the program is serialised, loaded, verified,
 *     planned and executed with ddk_method_*; its outputs are compared the
 *     same way.
 *
 * A case PyTorch refused must be refused here too (any non-OK status, by
 * inference or the kernel, and by the program path). Otherwise the result
 * dtype and shape must equal PyTorch's, and values:
 *  - integer and bool results: exact (quant-class ops: within one step);
 *  - complex results: real and imaginary parts each as a float result of
 *    the part dtype, with the element's scale;
 *  - float results: |got - want| <= U * ulp(want) + K * eps * scale, with
 *    U the op table's ulp for the op (float32/float64 results; min(U, 1)
 *    for float16/bfloat16, which ATen computes in float and rounds once),
 *    ulp() the spacing of the result dtype at |want|, K the number of
 *    terms accumulated into one result and scale the same computation on
 *    absolute values (e.g. |A| @ |B|), both from the case, and eps the unit
 *    roundoff of the computation type (2^-24 for float16/bfloat16/float32,
 *    2^-53 for float64; the result dtype's own with CASE_EPS_STORAGE).
 *    Ops of tolerance class exact get U = 0 and no scale term.
 *    NaN must match NaN (any payload), infinities exactly; the sign of zero
 *    is compared when the case sets CASE_SIGNED_ZERO.
 *  - CASE_METADATA_ONLY cases (empty, resize_): dtype and shape only.
 * docs/tolerances.md explains the bounds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "case_file.h"
#include "ddk/program.h"
#include "ddk/runtime.h"
#include "ddk_kernel.h"

#define GUARD 64

/* Path 1: inference + the kernel, exactly-sized guarded outputs. */
static bool run_direct(ddk_case* c, const ddk_op_info* info, ddk_kernel_fn fn) {
  ddk_node_view node = ddk_case_node(c, info);
  char err[512] = "";
  ddk_status st = ddk_infer_node(&node, c->values, err, sizeof err);
  if (st == DDK_OK) { /* allocate outputs as inferred, guard bytes behind */
    for (uint32_t i = 0; i < c->num_outputs; ++i) {
      ddk_tensor* t = &c->values[c->outputs[i]];
      size_t bytes = (size_t)ddk_tensor_numel(t) * ddk_dtype_size(t->dtype);
      free(t->data);
      t->data = malloc(bytes + GUARD);
      if (t->data == NULL) return false;
      memset(t->data, 0xA5, bytes + GUARD);
      t->capacity = bytes;
    }
    uint64_t rng = 0;
    ddk_kernel_ctx ctx = {c->values, err, sizeof err, &rng};
    st = fn(&ctx, &node);
  }
  if (c->flags & DDK_CASE_REFUSED) {
    if (st == DDK_OK)
      printf("FAIL %s [kernel]: PyTorch refuses this case, the kernel accepted it\n", c->name);
    return st != DDK_OK;
  }
  if (st != DDK_OK) {
    printf("FAIL %s [kernel]: status %s: %s\n", c->name, ddk_status_name(st), err);
    return false;
  }
  for (uint32_t i = 0; i < c->num_outputs; ++i) {
    const ddk_tensor* t = &c->values[c->outputs[i]];
    const unsigned char* bytes = (const unsigned char*)t->data;
    for (size_t g = 0; g < GUARD; ++g)
      if (bytes[t->capacity + g] != 0xA5) {
        printf("FAIL %s [kernel]: output %u written past its end\n", c->name, i);
        return false;
      }
    char msg[512];
    if (!ddk_case_compare(c, c->outputs[i], t, NULL, DDK_ACCURACY_DEFAULT, NULL, msg, sizeof msg)) {
      printf("FAIL %s [kernel]: output %u %s\n", c->name, i, msg);
      return false;
    }
  }
  return true;
}

/* With DDK_GOLDEN_DUMP_DIR set, keeps the first small program of each op
 * as <dir>/<op>.ddk: seeds for the program reader fuzzer
 * (fuzz/make_seed_corpus.py). */
static void dump_program(const ddk_op_info* info, const void* bytes, size_t size) {
  const char* dir = getenv("DDK_GOLDEN_DUMP_DIR");
  if (dir == NULL || dir[0] == '\0' || size > 1024) return;
  char path[1024];
  int n = snprintf(path, sizeof path, "%s/", dir);
  for (const char* q = info->name; *q != '\0' && n > 0 && (size_t)n + 6 < sizeof path; ++q)
    path[n++] =
        (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ? *q : '_';
  snprintf(path + n, sizeof path - (size_t)n, ".ddk");
  FILE* f = fopen(path, "rb");
  if (f != NULL) { /* keep the first one */
    fclose(f);
    return;
  }
  f = fopen(path, "wb");
  if (f == NULL) return;
  fwrite(bytes, 1, size, f);
  fclose(f);
}

/* Path 2: the case as a one-op program through the runtime (inputs as
 * constants), with the output shapes inferred by path 1 declared. */
static bool run_program(ddk_case* c, const ddk_op_info* info, ddk_runtime* rt,
                        const ddk_tensor* declared) {
  char err[512] = "";
  void* bytes = NULL;
  size_t size = 0;
  ddk_program* loaded = NULL;
  ddk_method* m = NULL;
  bool ok = false;
  ddk_status st = ddk_case_program(c, info, declared, false, &bytes, &size, err, sizeof err);
  if (st == DDK_OK) dump_program(info, bytes, size);
  if (st == DDK_OK)
    st = ddk_program_load_buffer(bytes, size, true, ddk_allocator_system(), &loaded, err,
                                 sizeof err);
  if (st == DDK_OK) st = ddk_method_create(rt, loaded, NULL, &m, err, sizeof err);
  if (st == DDK_OK) st = ddk_method_execute(m, err, sizeof err);
  if (st != DDK_OK) {
    printf("FAIL %s [program]: status %s: %s\n", c->name, ddk_status_name(st), err);
    goto cleanup;
  }
  ok = true;
  for (uint32_t i = 0; ok && i < c->num_outputs; ++i) {
    char msg[512];
    ok = ddk_case_compare(c, c->outputs[i], ddk_method_output(m, i), NULL, DDK_ACCURACY_DEFAULT,
                          NULL, msg, sizeof msg);
    if (!ok) printf("FAIL %s [program]: output %u %s\n", c->name, i, msg);
  }
cleanup:
  ddk_method_destroy(m);
  ddk_program_destroy(loaded);
  if (bytes != NULL) ddk_allocator_system()->free(ddk_allocator_system()->self, bytes, size);
  return ok;
}

/* Runs one case; true when it passes. */
static bool run_case(ddk_case* c, ddk_runtime* rt) {
  const ddk_op_info* info = ddk_op_find(c->op);
  ddk_kernel_fn fn = info != NULL ? ddk_kernel_lookup(info->id) : NULL;
  if (fn == NULL) {
    printf("FAIL %s: no kernel for %s\n", c->name, c->op);
    return false;
  }
  if (!run_direct(c, info, fn)) return false;
  if (c->flags & DDK_CASE_REFUSED) return true;
  /* declared output shapes: what inference gives (the upper bound for
   * data-dependent ops) */
  ddk_tensor declared[DDK_CASE_MAX_VALUES];
  memcpy(declared, c->values, sizeof declared);
  ddk_node_view node = ddk_case_node(c, info);
  char err[512] = "";
  if (ddk_infer_node(&node, declared, err, sizeof err) != DDK_OK) {
    printf("FAIL %s: inference failed on a second run: %s\n", c->name, err);
    return false;
  }
  return run_program(c, info, rt, declared);
}

int main(void) {
  const char* path = getenv("DDK_GOLDEN_FILE");
  if (path == NULL || path[0] == '\0') {
    printf(
        "golden_test: DDK_GOLDEN_FILE is not set; skipping "
        "(reference_runtime/kernels/tests/test_golden.py generates the file and runs this)\n");
    printf("0 passed, 0 failed\n");
    return 0;
  }
  char err[256] = "";
  ddk_case_file f;
  if (!ddk_case_file_open(path, &f, err, sizeof err)) {
    printf("golden_test: %s\n", err);
    return 1;
  }
  ddk_runtime* rt = NULL;
  if (ddk_runtime_create(NULL, &rt, err, sizeof err) != DDK_OK) {
    printf("golden_test: cannot create a runtime: %s\n", err);
    ddk_case_file_close(&f);
    return 1;
  }
  int passed = 0, failed = 0;
  ddk_case* c = malloc(sizeof *c);
  int r = 0;
  while (c != NULL && (r = ddk_case_file_next(&f, c)) == 1) {
    if (run_case(c, rt))
      ++passed;
    else
      ++failed;
    ddk_case_free(c);
  }
  if (r < 0) {
    printf("golden_test: case %u is malformed\n", f.index);
    ++failed;
  }
  const uint32_t count = f.count;
  free(c);
  ddk_case_file_close(&f);
  ddk_runtime_destroy(rt);
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 && passed == (int)count ? 0 : 1;
}
