/*
 * golden_test.c — runs every case of a golden file written by
 * tests/gen_golden.py (PyTorch CPU results) through ddk_infer_node and the
 * portable kernel found by ddk_op_find + ddk_kernel_lookup, and compares.
 *
 * The file is named by the environment variable DDK_GOLDEN_FILE; without
 * it the test says so and passes (tests/test_golden.py generates the file
 * and runs this binary). Prints failures, then "N passed, M failed".
 *
 * A case PyTorch refused must be refused here too (any non-OK status).
 * Otherwise the result dtype and shape must equal PyTorch's, and values:
 *  - integer, bool and complex results, and every data-movement op: exact;
 *  - float results: |got - want| <= ulp_k * ulp(want) + acc_k * K * eps *
 *    scale, with ulp() the spacing of the result dtype at |want|, eps the
 *    unit roundoff of the computation type (2^-24 for float16, bfloat16,
 *    float32; 2^-53 for float64), K the number of terms accumulated into
 *    one result and scale the same computation on absolute values (e.g.
 *    |A| @ |B|), both written by gen_golden.py. Per op (kTolerances):
 *      add/sub            exact when alpha is 1; otherwise 1 ULP +
 *                         u * |alpha * other|, u the dtype's unit
 *                         roundoff (two roundings vs one): ATen's
 *                         vector loops fuse self + alpha * other (float32,
 *                         float64: one FMA; reduced: in float), but its
 *                         scalar loops, used for short or broadcast rows,
 *                         round alpha * other first, so ATen's own result
 *                         depends on where an element sits
 *      mul/div, relu, hardtanh, max_pool, view, permute, cat, clone: exact
 *      sigmoid/tanh       4 ULP (float32/float64; libm vs ATen's SLEEF),
 *                         1 ULP for float16/bfloat16 (computed in float)
 *      mm/addmm/bmm/conv  2 ULP (1 for float16/bfloat16) + K * eps * scale
 *                         (summation order differs from BLAS/oneDNN)
 *      avg_pool2d         1 ULP + K * eps * scale
 *      _softmax           4 ULP (1 for reduced) + K * eps * |out|
 *      mean.dim           2 ULP (1 for reduced) + K * eps * mean(|x|)
 *    NaN must match NaN, infinities must match exactly; the sign of zero is
 *    not compared.
 * Outputs are allocated to their exact size with guard bytes behind them
 * that must stay untouched.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddk_kernel.h"

#define MAX_VALUES 64
#define MAX_ARGS 16
#define GUARD 64

/* ulp / ulp_reduced: ULPs of the result allowed for float32-float64 /
 * float16-bfloat16 results; acc: multiple of K * eps * scale; rounded_term:
 * exact without a scale, else off by up to u(dtype) * scale (add/sub). */
typedef struct tolerance {
  const char* op;
  double ulp, ulp_reduced, acc;
  bool rounded_term;
} tolerance;

static const tolerance kTolerances[] = {
    {"aten::add.Tensor", 1, 1, 0, true},  {"aten::sub.Tensor", 1, 1, 0, true},
    {"aten::sigmoid", 4, 1, 0, false},    {"aten::tanh", 4, 1, 0, false},
    {"aten::mm", 2, 1, 1, false},         {"aten::addmm", 2, 1, 1, false},
    {"aten::bmm", 2, 1, 1, false},        {"aten::convolution", 2, 1, 1, false},
    {"aten::avg_pool2d", 1, 1, 1, false}, {"aten::_softmax", 4, 1, 1, false},
    {"aten::mean.dim", 2, 1, 1, false},
};

/* ------------------------------------------------------------------------ */
/* Reading the file                                                         */
/* ------------------------------------------------------------------------ */

typedef struct reader {
  const unsigned char* p;
  size_t left;
  bool bad;
} reader;

static const unsigned char* take(reader* r, size_t n) {
  if (r->bad || n > r->left) {
    r->bad = true;
    return NULL;
  }
  const unsigned char* p = r->p;
  r->p += n;
  r->left -= n;
  return p;
}

#define DEFINE_READ(name, T)                    \
  static T name(reader* r) {                    \
    T v = 0;                                    \
    const unsigned char* p = take(r, sizeof v); \
    if (p != NULL) memcpy(&v, p, sizeof v);     \
    return v;                                   \
  }
DEFINE_READ(rd_u8, uint8_t)
DEFINE_READ(rd_u32, uint32_t)
DEFINE_READ(rd_i32, int32_t)
DEFINE_READ(rd_i64, int64_t)
DEFINE_READ(rd_u64, uint64_t)
DEFINE_READ(rd_f64, double)

/* A length-prefixed string copied into buf. */
static void rd_str(reader* r, char* buf, size_t cap) {
  uint32_t n = rd_u32(r);
  const unsigned char* p = take(r, n);
  size_t m = p == NULL ? 0 : (n < cap - 1 ? n : cap - 1);
  if (m) memcpy(buf, p, m);
  buf[m] = '\0';
}

/* One case, with everything it owns. */
typedef struct golden_case {
  char name[256], op[96];
  uint32_t flags, num_values, num_args, num_outputs;
  ddk_tensor values[MAX_VALUES];
  uint32_t role[MAX_VALUES];
  const unsigned char* expect[MAX_VALUES]; /* expected bytes (outputs) */
  uint64_t expect_len[MAX_VALUES];
  double* scale[MAX_VALUES]; /* per-element magnitudes or NULL */
  ddk_arg args[MAX_ARGS];
  void* arg_mem[MAX_ARGS];
  uint32_t outputs[MAX_VALUES];
  int64_t k;
} golden_case;

static void case_free(golden_case* c) {
  for (uint32_t i = 0; i < c->num_values && i < MAX_VALUES; ++i) {
    free(c->values[i].data);
    free(c->scale[i]);
  }
  for (uint32_t i = 0; i < c->num_args && i < MAX_ARGS; ++i) free(c->arg_mem[i]);
}

static bool read_case(reader* r, golden_case* c) {
  memset(c, 0, sizeof *c);
  rd_str(r, c->name, sizeof c->name);
  rd_str(r, c->op, sizeof c->op);
  c->flags = rd_u32(r);
  c->num_values = rd_u32(r);
  if (r->bad || c->num_values > MAX_VALUES) return false;
  for (uint32_t i = 0; i < c->num_values; ++i) {
    ddk_tensor* t = &c->values[i];
    t->header.struct_size = sizeof *t;
    t->header.abi_version = DDK_ABI_VERSION;
    t->dtype = rd_i32(r);
    t->rank = rd_u32(r);
    if (t->rank > DDK_MAX_RANK) return false;
    for (uint32_t d = 0; d < t->rank; ++d) t->sizes[d] = rd_i64(r);
    for (uint32_t d = 0; d < t->rank; ++d) t->strides[d] = rd_i64(r);
    for (uint32_t d = 0; d < t->rank; ++d) t->dim_order[d] = rd_u8(r);
    c->role[i] = rd_u32(r);
    uint64_t n = rd_u64(r);
    const unsigned char* bytes = take(r, n);
    uint64_t m = rd_u64(r);
    const unsigned char* sbytes = take(r, m);
    if (r->bad) return false;
    if (c->role[i] == 0) { /* input: its storage */
      t->data = malloc(n ? n : 1);
      if (t->data == NULL) return false;
      if (n) memcpy(t->data, bytes, n);
      t->capacity = n;
    } else { /* output: what PyTorch computed; allocated after inference */
      c->expect[i] = bytes;
      c->expect_len[i] = n;
    }
    if (m) {
      c->scale[i] = malloc(m);
      if (c->scale[i] == NULL) return false;
      memcpy(c->scale[i], sbytes, m);
    }
  }
  c->num_args = rd_u32(r);
  if (r->bad || c->num_args > MAX_ARGS) return false;
  for (uint32_t i = 0; i < c->num_args; ++i) {
    ddk_arg* a = &c->args[i];
    a->kind = rd_u32(r);
    switch (a->kind) {
      case DDK_ARG_NONE:
        break;
      case DDK_ARG_TENSOR:
        a->u.tensor = rd_u32(r);
        break;
      case DDK_ARG_INT:
      case DDK_ARG_DTYPE:
        a->u.i = rd_i64(r);
        break;
      case DDK_ARG_FLOAT:
        a->u.f = rd_f64(r);
        break;
      case DDK_ARG_BOOL:
        a->u.b = rd_u8(r) != 0;
        break;
      case DDK_ARG_TENSOR_LIST:
      case DDK_ARG_INT_LIST: {
        a->count = rd_u32(r);
        if (a->count > 4096) return false;
        bool ints = a->kind == DDK_ARG_INT_LIST;
        c->arg_mem[i] = malloc(a->count * (ints ? 8u : 4u) + 8u);
        if (c->arg_mem[i] == NULL) return false;
        for (uint32_t j = 0; j < a->count; ++j) {
          if (ints)
            ((int64_t*)c->arg_mem[i])[j] = rd_i64(r);
          else
            ((uint32_t*)c->arg_mem[i])[j] = rd_u32(r);
        }
        if (ints)
          a->u.ints = (const int64_t*)c->arg_mem[i];
        else
          a->u.tensors = (const uint32_t*)c->arg_mem[i];
        break;
      }
      default:
        return false;
    }
    if (a->kind == DDK_ARG_TENSOR && a->u.tensor >= c->num_values) return false;
  }
  c->num_outputs = rd_u32(r);
  if (c->num_outputs > MAX_VALUES) return false;
  for (uint32_t i = 0; i < c->num_outputs; ++i) {
    c->outputs[i] = rd_u32(r);
    if (c->outputs[i] >= c->num_values) return false;
  }
  c->k = rd_i64(r);
  return !r->bad;
}

/* ------------------------------------------------------------------------ */
/* Comparing                                                                */
/* ------------------------------------------------------------------------ */

static bool is_float(ddk_dtype d) {
  return d == DDK_DTYPE_FLOAT16 || d == DDK_DTYPE_BFLOAT16 || d == DDK_DTYPE_FLOAT32 ||
         d == DDK_DTYPE_FLOAT64;
}

static double decode(ddk_dtype d, const unsigned char* p) {
  switch (d) {
    case DDK_DTYPE_FLOAT64: {
      double v;
      memcpy(&v, p, 8);
      return v;
    }
    case DDK_DTYPE_FLOAT32: {
      float v;
      memcpy(&v, p, 4);
      return v;
    }
    case DDK_DTYPE_BFLOAT16: {
      uint16_t h;
      memcpy(&h, p, 2);
      uint32_t u = (uint32_t)h << 16;
      float v;
      memcpy(&v, &u, 4);
      return v;
    }
    default: { /* float16 */
      uint16_t h;
      memcpy(&h, p, 2);
      int e = (h >> 10) & 31, m = h & 1023;
      double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(m + 1024, e - 25);
      return (h & 0x8000) ? -v : v;
    }
  }
}

/* Spacing of dtype d's values at |x|. */
static double ulp_of(ddk_dtype d, double x) {
  int mant = d == DDK_DTYPE_FLOAT64   ? 52
             : d == DDK_DTYPE_FLOAT32 ? 23
             : d == DDK_DTYPE_FLOAT16 ? 10
                                      : 7;
  int emin = d == DDK_DTYPE_FLOAT64   ? -1074
             : d == DDK_DTYPE_FLOAT32 ? -149
             : d == DDK_DTYPE_FLOAT16 ? -24
                                      : -133;
  int e = 0;
  if (x != 0.0 && isfinite(x)) frexp(x, &e);
  int p = e - 1 - mant;
  return ldexp(1.0, p > emin ? p : emin);
}

static const tolerance* tolerance_of(const char* op) {
  for (size_t i = 0; i < sizeof kTolerances / sizeof kTolerances[0]; ++i)
    if (strcmp(kTolerances[i].op, op) == 0) return &kTolerances[i];
  return NULL; /* exact */
}

/* Compares output value `v` of case `c`; prints the first mismatch. */
static bool compare(const golden_case* c, uint32_t v) {
  const ddk_tensor* t = &c->values[v];
  const size_t es = ddk_dtype_size(t->dtype);
  const int64_t n = ddk_tensor_numel(t);
  if ((uint64_t)n * es != c->expect_len[v]) {
    printf("FAIL %s: output %u has %llu bytes, expected %llu\n", c->name, v,
           (unsigned long long)((uint64_t)n * es), (unsigned long long)c->expect_len[v]);
    return false;
  }
  const unsigned char* got = (const unsigned char*)t->data;
  const unsigned char* want = c->expect[v];
  for (size_t i = 0; i < GUARD; ++i)
    if (got[n * es + i] != 0xA5) {
      printf("FAIL %s: output %u written past its end\n", c->name, v);
      return false;
    }
  if (!is_float(t->dtype)) {
    for (int64_t i = 0; i < n; ++i) {
      bool same = t->dtype == DDK_DTYPE_BOOL ? (got[i] != 0) == (want[i] != 0)
                                             : memcmp(got + i * es, want + i * es, es) == 0;
      if (!same) {
        printf("FAIL %s: output %u element %lld differs (exact dtype %s)\n", c->name, v,
               (long long)i, ddk_dtype_name(t->dtype));
        return false;
      }
    }
    return true;
  }
  const tolerance* tol = tolerance_of(c->op);
  const bool reduced = t->dtype == DDK_DTYPE_FLOAT16 || t->dtype == DDK_DTYPE_BFLOAT16;
  const double eps = t->dtype == DDK_DTYPE_FLOAT64 ? ldexp(1.0, -53) : ldexp(1.0, -24);
  for (int64_t i = 0; i < n; ++i) {
    const double g = decode(t->dtype, got + i * es), w = decode(t->dtype, want + i * es);
    bool ok;
    double bound = 0.0;
    if (isnan(w) || isnan(g) || isinf(w) || isinf(g)) {
      ok = (isnan(w) && isnan(g)) || g == w;
    } else {
      if (tol != NULL) {
        const double* sc = c->scale[v];
        const bool rounded = tol->rounded_term && sc != NULL;
        double ulps = reduced ? tol->ulp_reduced : tol->ulp;
        if (tol->rounded_term && !rounded) ulps = 0.0; /* add/sub: exact otherwise */
        bound = ulps * ulp_of(t->dtype, w);
        if (sc != NULL) bound += tol->acc * (double)(c->k > 0 ? c->k : 1) * eps * fabs(sc[i]);
        if (rounded) bound += ldexp(ulp_of(t->dtype, 1.0), -1) * fabs(sc[i]); /* u(dtype) */
      }
      ok = fabs(g - w) <= bound;
    }
    if (!ok) {
      printf("FAIL %s: output %u element %lld: got %.9g, want %.9g (bound %.3g, %s)\n", c->name, v,
             (long long)i, g, w, bound, ddk_dtype_name(t->dtype));
      return false;
    }
  }
  return true;
}

/* Runs one case; true when it passes. */
static bool run_case(golden_case* c) {
  const ddk_op_info* info = ddk_op_find(c->op);
  ddk_kernel_fn fn = info != NULL ? ddk_kernel_lookup(info->id) : NULL;
  if (fn == NULL) {
    printf("FAIL %s: no kernel for %s\n", c->name, c->op);
    return false;
  }
  ddk_node_view node;
  memset(&node, 0, sizeof node);
  node.header.struct_size = sizeof node;
  node.header.abi_version = DDK_ABI_VERSION;
  node.op_id = info->id;
  node.op_name = c->op;
  node.num_args = c->num_args;
  node.args = c->args;
  node.num_outputs = c->num_outputs;
  node.outputs = c->outputs;
  node.debug_name = c->name;
  char err[512] = "";
  ddk_status st = ddk_infer_node(&node, c->values, err, sizeof err);
  const bool refused = (c->flags & 1u) != 0;
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
    ddk_kernel_ctx ctx = {c->values, err, sizeof err};
    st = fn(&ctx, &node);
  }
  if (refused) {
    if (st == DDK_OK)
      printf("FAIL %s: PyTorch refuses this case, the kernel accepted it\n", c->name);
    return st != DDK_OK;
  }
  if (st != DDK_OK) {
    printf("FAIL %s: status %d: %s\n", c->name, (int)st, err);
    return false;
  }
  bool ok = true;
  for (uint32_t i = 0; ok && i < c->num_outputs; ++i) ok = compare(c, c->outputs[i]);
  return ok;
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
  FILE* f = fopen(path, "rb");
  if (f == NULL) {
    printf("golden_test: cannot open %s\n", path);
    return 1;
  }
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char* buf = size > 0 ? malloc((size_t)size) : NULL;
  size_t got = buf != NULL ? fread(buf, 1, (size_t)size, f) : 0;
  fclose(f);
  if (buf == NULL || got != (size_t)size || size < 12 || memcmp(buf, "DDKGOLD1", 8) != 0) {
    printf("golden_test: %s is not a golden file\n", path);
    free(buf);
    return 1;
  }
  reader r = {buf + 8, (size_t)size - 8, false};
  uint32_t count = rd_u32(&r);
  int passed = 0, failed = 0;
  golden_case* c = malloc(sizeof *c);
  for (uint32_t i = 0; c != NULL && i < count; ++i) {
    if (!read_case(&r, c)) {
      printf("golden_test: case %u is malformed\n", i);
      case_free(c);
      ++failed;
      break;
    }
    if (run_case(c))
      ++passed;
    else
      ++failed;
    case_free(c);
  }
  free(c);
  free(buf);
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 && passed == (int)count ? 0 : 1;
}
