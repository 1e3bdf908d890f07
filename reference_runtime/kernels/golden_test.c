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
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddk/program.h"
#include "ddk/runtime.h"
#include "ddk_kernel.h"

#define MAX_VALUES 64
#define MAX_ARGS 24
#define GUARD 64

enum {
  CASE_REFUSED = 1,
  CASE_EPS_STORAGE = 2,
  CASE_METADATA_ONLY = 4,
  CASE_SIGNED_ZERO = 8,
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
  ddk_tensor want[MAX_VALUES]; /* outputs: PyTorch's dtype/rank/sizes */
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

/* Reads `count` list elements of `elem` bytes each into a new allocation. */
static void* rd_list(reader* r, uint32_t count, size_t elem) {
  const unsigned char* p = take(r, (size_t)count * elem);
  void* mem = malloc((size_t)count * elem + 8u);
  if (p == NULL || mem == NULL) {
    free(mem);
    r->bad = true;
    return NULL;
  }
  if (count) memcpy(mem, p, (size_t)count * elem);
  return mem;
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
    if (c->role[i] == 0) { /* input: its storage, exactly sized */
      t->data = malloc(n ? n : 1);
      if (t->data == NULL) return false;
      if (n) memcpy(t->data, bytes, n);
      t->capacity = n;
    } else { /* output: what PyTorch computed; allocated after inference */
      c->want[i] = *t;
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
        if (a->u.tensor >= c->num_values) return false;
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
      case DDK_ARG_STRING: {
        uint32_t n = rd_u32(r);
        char* str = rd_list(r, n, 1);
        if (str == NULL) return false;
        str[n] = '\0';
        c->arg_mem[i] = str;
        a->u.str = str;
        break;
      }
      case DDK_ARG_TENSOR_LIST:
      case DDK_ARG_INT_LIST:
      case DDK_ARG_FLOAT_LIST:
      case DDK_ARG_BOOL_LIST: {
        a->count = rd_u32(r);
        if (a->count > 4096) return false;
        size_t elem = a->kind == DDK_ARG_TENSOR_LIST ? 4u : a->kind == DDK_ARG_BOOL_LIST ? 1u : 8u;
        c->arg_mem[i] = rd_list(r, a->count, elem);
        if (c->arg_mem[i] == NULL) return false;
        if (a->kind == DDK_ARG_TENSOR_LIST) {
          a->u.tensors = (const uint32_t*)c->arg_mem[i];
          for (uint32_t j = 0; j < a->count; ++j)
            if (a->u.tensors[j] != DDK_NO_VALUE && a->u.tensors[j] >= c->num_values) return false;
        } else if (a->kind == DDK_ARG_INT_LIST) {
          a->u.ints = (const int64_t*)c->arg_mem[i];
        } else if (a->kind == DDK_ARG_FLOAT_LIST) {
          a->u.floats = (const double*)c->arg_mem[i];
        } else {
          a->u.bools = (const uint8_t*)c->arg_mem[i];
        }
        break;
      }
      default:
        return false;
    }
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

/* Compares `got` (output value `v` of case `c`, contiguous, from the path
 * named `path`) with PyTorch's; prints the first mismatch. */
static bool compare(const golden_case* c, uint32_t v, const ddk_tensor* t, const char* path) {
  const ddk_tensor* w = &c->want[v];
  bool shape_ok = t->dtype == w->dtype && t->rank == w->rank;
  for (uint32_t d = 0; shape_ok && d < t->rank; ++d) shape_ok = t->sizes[d] == w->sizes[d];
  if (!shape_ok) {
    char a[160] = "", b[160] = "";
    for (uint32_t d = 0; d < t->rank && d < DDK_MAX_RANK; ++d)
      snprintf(a + strlen(a), sizeof a - strlen(a), "%s%lld", d ? "," : "", (long long)t->sizes[d]);
    for (uint32_t d = 0; d < w->rank && d < DDK_MAX_RANK; ++d)
      snprintf(b + strlen(b), sizeof b - strlen(b), "%s%lld", d ? "," : "", (long long)w->sizes[d]);
    printf("FAIL %s [%s]: output %u is %s[%s], PyTorch gives %s[%s]\n", c->name, path, v,
           ddk_dtype_name(t->dtype), a, ddk_dtype_name(w->dtype), b);
    return false;
  }
  if (c->flags & CASE_METADATA_ONLY) return true;
  const size_t es = ddk_dtype_size(t->dtype);
  const int64_t n = ddk_tensor_numel(t);
  if ((uint64_t)n * es != c->expect_len[v]) {
    printf("FAIL %s [%s]: output %u has %llu bytes, expected %llu\n", c->name, path, v,
           (unsigned long long)((uint64_t)n * es), (unsigned long long)c->expect_len[v]);
    return false;
  }
  const unsigned char* got = (const unsigned char*)t->data;
  const unsigned char* want = c->expect[v];
  const ddk_op_info* info = ddk_op_find(c->op);
  const bool complex = t->dtype == DDK_DTYPE_COMPLEX64 || t->dtype == DDK_DTYPE_COMPLEX128;
  if (!is_float(t->dtype) && !complex) {
    /* quant ops may be one quantization step off (tolerance class quant) */
    const bool quant =
        info != NULL && info->tolerance == DDK_TOL_QUANT && t->dtype != DDK_DTYPE_BOOL && es <= 8;
    for (int64_t i = 0; i < n; ++i) {
      bool same = t->dtype == DDK_DTYPE_BOOL ? (got[i] != 0) == (want[i] != 0)
                                             : memcmp(got + i * es, want + i * es, es) == 0;
      if (!same && quant) {
        int64_t a = 0, b = 0;
        switch (t->dtype) {
          case DDK_DTYPE_UINT8:
            a = got[i];
            b = want[i];
            break;
          case DDK_DTYPE_INT8:
            a = (int8_t)got[i];
            b = (int8_t)want[i];
            break;
          case DDK_DTYPE_INT16: {
            int16_t x, y;
            memcpy(&x, got + i * 2, 2);
            memcpy(&y, want + i * 2, 2);
            a = x;
            b = y;
            break;
          }
          case DDK_DTYPE_INT32: {
            int32_t x, y;
            memcpy(&x, got + i * 4, 4);
            memcpy(&y, want + i * 4, 4);
            a = x;
            b = y;
            break;
          }
          default: {
            memcpy(&a, got + i * 8, 8);
            memcpy(&b, want + i * 8, 8);
            break;
          }
        }
        same = a - b <= 1 && b - a <= 1;
      }
      if (!same) {
        printf("FAIL %s [%s]: output %u element %lld differs (exact dtype %s)\n", c->name, path, v,
               (long long)i, ddk_dtype_name(t->dtype));
        return false;
      }
    }
    return true;
  }
  /* complex results compare as (real, imag) pairs of their part dtype,
   * each part bounded like a float result with the element's scale */
  const ddk_dtype part = t->dtype == DDK_DTYPE_COMPLEX64    ? DDK_DTYPE_FLOAT32
                         : t->dtype == DDK_DTYPE_COMPLEX128 ? DDK_DTYPE_FLOAT64
                                                            : t->dtype;
  const size_t pes = complex ? es / 2 : es;
  const int64_t parts = complex ? 2 : 1;
  const bool exact = info == NULL || info->tolerance == DDK_TOL_EXACT;
  const bool reduced = part == DDK_DTYPE_FLOAT16 || part == DDK_DTYPE_BFLOAT16;
  double ulps = exact ? 0.0 : (double)info->ulp;
  if (reduced && ulps > 1.0) ulps = 1.0;
  double eps = part == DDK_DTYPE_FLOAT64 ? ldexp(1.0, -53) : ldexp(1.0, -24);
  if (c->flags & CASE_EPS_STORAGE) eps = ldexp(ulp_of(part, 1.0), -1);
  const double* sc = exact ? NULL : c->scale[v];
  for (int64_t i = 0; i < n * parts; ++i) {
    const double g = decode(part, got + i * pes), x = decode(part, want + i * pes);
    bool ok;
    double bound = 0.0;
    if (isnan(x) || isnan(g) || isinf(x) || isinf(g)) {
      ok = (isnan(x) && isnan(g)) || g == x;
    } else {
      bound = ulps * ulp_of(part, x);
      if (sc != NULL) bound += (double)(c->k > 0 ? c->k : 1) * eps * fabs(sc[i / parts]);
      ok = fabs(g - x) <= bound;
      if (ok && (c->flags & CASE_SIGNED_ZERO) && g == 0.0 && x == 0.0)
        ok = signbit(g) == signbit(x);
    }
    if (!ok) {
      printf("FAIL %s [%s]: output %u element %lld%s: got %.9g, want %.9g (bound %.3g, %s)\n",
             c->name, path, v, (long long)(i / parts),
             complex ? (i % 2 ? " (imag)" : " (real)") : "", g, x, bound, ddk_dtype_name(t->dtype));
      return false;
    }
  }
  return true;
}

/* The node of case `c`. */
static ddk_node_view case_node(const golden_case* c, const ddk_op_info* info) {
  ddk_node_view node;
  memset(&node, 0, sizeof node);
  node.header.struct_size = sizeof node;
  node.header.abi_version = DDK_ABI_VERSION;
  node.op_id = info->id;
  node.op_name = info->name;
  node.num_args = c->num_args;
  node.args = c->args;
  node.num_outputs = c->num_outputs;
  node.outputs = c->outputs;
  node.debug_name = c->name;
  return node;
}

/* Path 1: inference + the kernel, exactly-sized guarded outputs. */
static bool run_direct(golden_case* c, const ddk_op_info* info, ddk_kernel_fn fn) {
  ddk_node_view node = case_node(c, info);
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
  if (c->flags & CASE_REFUSED) {
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
    if (!compare(c, c->outputs[i], t, "kernel")) return false;
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

/* Path 2: the case as a one-op program through the runtime. Uses the
 * output shapes inferred by path 1 as the declared ones (data-dependent
 * outputs are declared dynamic, with the inferred upper bound). */
static bool run_program(golden_case* c, const ddk_op_info* info, ddk_runtime* rt,
                        const ddk_tensor* declared) {
  ddk_value_desc vals[MAX_VALUES];
  memset(vals, 0, sizeof vals);
  for (uint32_t i = 0; i < c->num_values; ++i) {
    ddk_value_desc* d = &vals[i];
    d->header.struct_size = sizeof *d;
    d->header.abi_version = DDK_ABI_VERSION;
    d->name = "";
    if (c->role[i] == 0) {
      d->tensor = c->values[i];
      d->flags = DDK_VALUE_CONSTANT;
    } else {
      d->tensor = declared[i];
      d->tensor.data = NULL;
      d->tensor.capacity = 0;
      d->flags = DDK_VALUE_OUTPUT;
      if (info->flags & DDK_OP_FLAG_DATA_DEPENDENT)
        d->dynamic_mask = d->tensor.rank ? (1u << d->tensor.rank) - 1u : 0u;
    }
  }
  ddk_node_view node = case_node(c, info);
  node.debug_name = "";
  ddk_instruction instr = {DDK_INSTR_KERNEL, 0};
  ddk_program prog;
  memset(&prog, 0, sizeof prog);
  prog.format_major = DDK_PROGRAM_FORMAT_MAJOR;
  prog.format_minor = DDK_PROGRAM_FORMAT_MINOR;
  prog.num_values = c->num_values;
  prog.values = vals;
  prog.num_nodes = 1;
  prog.nodes = &node;
  prog.num_outputs = c->num_outputs;
  prog.outputs = c->outputs;
  prog.num_instructions = 1;
  prog.instructions = &instr;
  char err[512] = "";
  void* bytes = NULL;
  size_t size = 0;
  ddk_program* loaded = NULL;
  ddk_method* m = NULL;
  bool ok = false;
  ddk_status st =
      ddk_program_serialize(&prog, ddk_allocator_system(), &bytes, &size, err, sizeof err);
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
  for (uint32_t i = 0; ok && i < c->num_outputs; ++i)
    ok = compare(c, c->outputs[i], ddk_method_output(m, i), "program");
cleanup:
  ddk_method_destroy(m);
  ddk_program_destroy(loaded);
  if (bytes != NULL) ddk_allocator_system()->free(ddk_allocator_system()->self, bytes, size);
  return ok;
}

/* Runs one case; true when it passes. */
static bool run_case(golden_case* c, ddk_runtime* rt) {
  const ddk_op_info* info = ddk_op_find(c->op);
  ddk_kernel_fn fn = info != NULL ? ddk_kernel_lookup(info->id) : NULL;
  if (fn == NULL) {
    printf("FAIL %s: no kernel for %s\n", c->name, c->op);
    return false;
  }
  if (!run_direct(c, info, fn)) return false;
  if (c->flags & CASE_REFUSED) return true;
  /* declared output shapes: what inference gives (the upper bound for
   * data-dependent ops) */
  ddk_tensor declared[MAX_VALUES];
  memcpy(declared, c->values, sizeof declared);
  ddk_node_view node = case_node(c, info);
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
  if (buf == NULL || got != (size_t)size || size < 12 || memcmp(buf, "DDKGOLD2", 8) != 0) {
    printf("golden_test: %s is not a golden file\n", path);
    free(buf);
    return 1;
  }
  reader r = {buf + 8, (size_t)size - 8, false};
  uint32_t count = rd_u32(&r);
  int passed = 0, failed = 0;
  ddk_runtime* rt = NULL;
  char err[256] = "";
  if (ddk_runtime_create(NULL, &rt, err, sizeof err) != DDK_OK) {
    printf("golden_test: cannot create a runtime: %s\n", err);
    free(buf);
    return 1;
  }
  golden_case* c = malloc(sizeof *c);
  for (uint32_t i = 0; c != NULL && i < count; ++i) {
    if (!read_case(&r, c)) {
      printf("golden_test: case %u is malformed\n", i);
      case_free(c);
      ++failed;
      break;
    }
    if (run_case(c, rt))
      ++passed;
    else
      ++failed;
    case_free(c);
  }
  free(c);
  free(buf);
  ddk_runtime_destroy(rt);
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 && passed == (int)count ? 0 : 1;
}
