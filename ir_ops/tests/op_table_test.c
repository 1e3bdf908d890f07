/*
 * op_table_test.c — checks the generated op table (ir_ops/generated/) as C
 * code sees it: lookups by id and name, parsed params of known schemas,
 * per-row invariants, and that ddk_op_table_hash() matches the table.
 *
 * Lives in ir_ops/tests/ (not ir_ops/src/, whose *.c all go into the
 * ddk_ops library). Prints "N passed, M failed"; exits nonzero on failure.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ddk/ops.h"
#include "ddk_kernel.h"

static int g_passed = 0;
static int g_failed = 0;

#define CHECK(cond)                                                   \
  do {                                                                \
    if (cond) {                                                       \
      ++g_passed;                                                     \
    } else {                                                          \
      ++g_failed;                                                     \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, \
              #cond);                                                 \
    }                                                                 \
  } while (0)

static int str_eq(const char* a, const char* b) {
  return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* The param of `op` called `name`, or NULL. */
static const ddk_op_param* find_param(const ddk_op_info* op,
                                      const char* name) {
  for (uint32_t i = 0; op != NULL && i < op->num_params; ++i) {
    if (str_eq(op->params[i].name, name)) return &op->params[i];
  }
  return NULL;
}

static void test_get_and_count(void) {
  CHECK(ddk_op_count() == (uint32_t)DDK_OP_COUNT);
  CHECK(ddk_op_count() == 220u);
  const ddk_op_info* add = ddk_op_get(DDK_OP_ATEN_ADD_TENSOR);
  CHECK(add != NULL);
  if (add == NULL) return;
  CHECK(str_eq(add->name, "aten::add.Tensor"));
  CHECK(add->id == (uint32_t)DDK_OP_ATEN_ADD_TENSOR);
  CHECK(str_eq(add->category, "elementwise_binary"));
  CHECK(add->has_portable_kernel);
  CHECK(add->tolerance == DDK_TOL_ULP && add->ulp >= 1u);
  CHECK((add->dtype_mask & (1u << DDK_DTYPE_FLOAT32)) != 0);
  CHECK(ddk_op_get((uint32_t)DDK_OP_COUNT) == NULL);
  CHECK(ddk_op_get(UINT32_MAX) == NULL);
  CHECK(ddk_op_get(0) == &ddk_op_table[0]);
}

static void test_find(void) {
  uint32_t round_trips = 0;
  for (uint32_t id = 0; id < ddk_op_count(); ++id) {
    const ddk_op_info* op = ddk_op_get(id);
    if (op != NULL && op->id == id && ddk_op_find(op->name) == op) {
      ++round_trips;
    }
  }
  CHECK(round_trips == ddk_op_count());
  CHECK(ddk_op_find(NULL) == NULL);
  CHECK(ddk_op_find("") == NULL);
  CHECK(ddk_op_find("aten::add") == NULL); /* a prefix of real names */
  CHECK(ddk_op_find("aten::add.Tensor ") == NULL);
  CHECK(ddk_op_find("ATEN::ADD.TENSOR") == NULL);
  CHECK(ddk_op_find("zzz::last") == NULL);
  CHECK(ddk_op_find("quantized_decomposed::add") ==
        ddk_op_get(DDK_OP_QUANTIZED_DECOMPOSED_ADD));
}

static void test_row_invariants(void) {
  uint32_t ok = 0;
  uint32_t kernels = 0;
  for (uint32_t id = 0; id < ddk_op_count(); ++id) {
    const ddk_op_info* op = &ddk_op_table[id];
    int good = op->name != NULL && op->schema != NULL &&
               op->category != NULL && op->doc != NULL && op->doc[0] != '\0' &&
               op->dtype_mask != 0 && op->tolerance <= DDK_TOL_QUANT &&
               (op->tolerance != DDK_TOL_ULP || op->ulp > 0) &&
               (op->ulp == 0 || op->tolerance == DDK_TOL_ULP ||
                op->tolerance == DDK_TOL_ACCUMULATE) &&
               (op->deviation_mask & ~op->dtype_mask) == 0 &&
               op->num_returns > 0 && op->returns != NULL &&
               (op->num_params == 0 || op->params != NULL);
    for (uint32_t i = 0; good && i < op->num_params; ++i) {
      const ddk_op_param* p = &op->params[i];
      good = p->name != NULL && p->type <= DDK_PARAM_GENERATOR &&
             (!p->elem_optional || p->type == DDK_PARAM_TENSOR_LIST) &&
             (p->fixed_len == 0 || p->type == DDK_PARAM_INT_LIST ||
              p->type == DDK_PARAM_BOOL_LIST);
    }
    if (good) ++ok;
    /* kernel=yes in the table <=> the registry has the kernel */
    if (op->has_portable_kernel == (ddk_kernel_lookup(id) != NULL)) ++kernels;
  }
  CHECK(ok == ddk_op_count());
  CHECK(kernels == ddk_op_count());
}

static void test_convolution_params(void) {
  const ddk_op_info* op = ddk_op_find("aten::convolution");
  CHECK(op != NULL);
  if (op == NULL) return;
  CHECK(op->id == (uint32_t)DDK_OP_ATEN_CONVOLUTION);
  CHECK(op->num_params == 9);
  static const char* const names[9] = {
      "input",     "weight",         "bias",  "stride", "padding",
      "dilation",  "transposed", "output_padding", "groups"};
  static const uint8_t types[9] = {
      DDK_PARAM_TENSOR,   DDK_PARAM_TENSOR,   DDK_PARAM_TENSOR,
      DDK_PARAM_INT_LIST, DDK_PARAM_INT_LIST, DDK_PARAM_INT_LIST,
      DDK_PARAM_BOOL,     DDK_PARAM_INT_LIST, DDK_PARAM_INT};
  for (uint32_t i = 0; i < 9 && i < op->num_params; ++i) {
    CHECK(str_eq(op->params[i].name, names[i]));
    CHECK(op->params[i].type == types[i]);
    CHECK(op->params[i].optional == (i == 2));
    CHECK(!op->params[i].kwarg_only && !op->params[i].mutated);
    CHECK(op->params[i].fixed_len == 0);
    CHECK(op->params[i].default_value == NULL);
  }
  CHECK(op->num_returns == 1 && op->returns[0].type == DDK_PARAM_TENSOR);
  CHECK(op->tolerance == DDK_TOL_ACCUMULATE);
}

static void test_other_params(void) {
  const ddk_op_info* mean = ddk_op_get(DDK_OP_ATEN_MEAN_DIM);
  const ddk_op_param* dim = find_param(mean, "dim");
  CHECK(dim != NULL && dim->type == DDK_PARAM_INT_LIST && dim->optional &&
        dim->fixed_len == 1 && dim->default_value == NULL);
  const ddk_op_param* dtype = find_param(mean, "dtype");
  CHECK(dtype != NULL && dtype->type == DDK_PARAM_SCALAR_TYPE &&
        dtype->optional && dtype->kwarg_only &&
        str_eq(dtype->default_value, "None"));

  const ddk_op_param* indices =
      find_param(ddk_op_get(DDK_OP_ATEN_INDEX_TENSOR), "indices");
  CHECK(indices != NULL && indices->type == DDK_PARAM_TENSOR_LIST &&
        indices->elem_optional && !indices->optional);

  const ddk_op_info* pool = ddk_op_get(DDK_OP_ATEN_MAX_POOL2D_WITH_INDICES);
  const ddk_op_param* padding = find_param(pool, "padding");
  CHECK(padding != NULL && padding->fixed_len == 2 &&
        str_eq(padding->default_value, "0"));
  CHECK(pool != NULL && pool->num_returns == 2);

  const ddk_op_param* running_mean =
      find_param(ddk_op_get(DDK_OP_ATEN_NATIVE_BATCH_NORM_LEGIT), "running_mean");
  CHECK(running_mean != NULL && running_mean->mutated);

  const ddk_op_param* alpha =
      find_param(ddk_op_get(DDK_OP_ATEN_ADD_TENSOR), "alpha");
  CHECK(alpha != NULL && alpha->type == DDK_PARAM_SCALAR && alpha->kwarg_only &&
        str_eq(alpha->default_value, "1"));

  const ddk_op_info* split = ddk_op_get(DDK_OP_ATEN_SPLIT_WITH_SIZES);
  CHECK(split != NULL && split->num_returns == 1 &&
        split->returns[0].type == DDK_PARAM_TENSOR_LIST);
  const ddk_op_info* item = ddk_op_get(DDK_OP_ATEN_LOCAL_SCALAR_DENSE);
  CHECK(item != NULL && item->returns[0].type == DDK_PARAM_SCALAR);
  const ddk_op_info* contig = ddk_op_get(DDK_OP_ATEN_SYM_IS_CONTIGUOUS);
  CHECK(contig != NULL && contig->returns[0].type == DDK_PARAM_BOOL);
}

/* FNV-1a 64 step over a NUL-terminated string. */
static uint64_t fnv(uint64_t h, const char* s) {
  for (; *s != '\0'; ++s) {
    h ^= (uint8_t)*s;
    h *= UINT64_C(0x100000001b3);
  }
  return h;
}

/* Recomputes the hash from the table's fields, as gen_ops.table_hash()
 * defines it, so a hand edit of the generated file is caught. */
static void test_hash(void) {
  static const char* const tol_names[] = {"exact", "ulp", "accumulate",
                                          "statistical", "quant"};
  uint64_t h = UINT64_C(0xcbf29ce484222325);
  char buf[64];
  for (uint32_t id = 0; id < ddk_op_count(); ++id) {
    const ddk_op_info* op = &ddk_op_table[id];
    snprintf(buf, sizeof buf, "%u\t", (unsigned)op->id);
    h = fnv(h, buf);
    h = fnv(fnv(fnv(fnv(h, op->name), "\t"), op->schema), "\t");
    int first = 1;
    for (int d = 0; d < 32; ++d) {
      if ((op->dtype_mask & (1u << d)) == 0) continue;
      h = fnv(fnv(h, first ? "" : ","), ddk_dtype_name((ddk_dtype)d));
      first = 0;
    }
    if (op->ulp > 0) {
      snprintf(buf, sizeof buf, "\t%s:%u\n",
               op->tolerance <= DDK_TOL_QUANT ? tol_names[op->tolerance] : "?",
               (unsigned)op->ulp);
    } else {
      snprintf(buf, sizeof buf, "\t%s\n",
               op->tolerance <= DDK_TOL_QUANT ? tol_names[op->tolerance] : "?");
    }
    h = fnv(h, buf);
  }
  CHECK(h == ddk_op_table_hash());
}

int main(void) {
  test_get_and_count();
  test_find();
  test_row_invariants();
  test_convolution_params();
  test_other_params();
  test_hash();
  printf("%d passed, %d failed\n", g_passed, g_failed);
  return g_failed == 0 ? 0 : 1;
}
