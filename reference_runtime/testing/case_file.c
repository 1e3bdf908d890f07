/*
 * case_file.c — reading case files, one-op programs from cases, and the
 * tolerance comparison (case_file.h).
 */
#include "case_file.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddk/program.h"

#define MAX_VALUES DDK_CASE_MAX_VALUES
#define MAX_ARGS DDK_CASE_MAX_ARGS

/* ------------------------------------------------------------------------ */
/* Reading                                                                  */
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

void ddk_case_free(ddk_case* c) {
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

static bool read_case(reader* r, ddk_case* c) {
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

bool ddk_case_file_open(const char* path, ddk_case_file* f, char* err, size_t err_cap) {
  memset(f, 0, sizeof *f);
  FILE* fp = fopen(path, "rb");
  if (fp == NULL) {
    snprintf(err, err_cap, "cannot open %s", path);
    return false;
  }
  fseek(fp, 0, SEEK_END);
  long size = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  f->buf = size > 0 ? malloc((size_t)size) : NULL;
  size_t got = f->buf != NULL ? fread(f->buf, 1, (size_t)size, fp) : 0;
  fclose(fp);
  if (f->buf == NULL || got != (size_t)size || size < 12 || memcmp(f->buf, "DDKGOLD2", 8) != 0) {
    snprintf(err, err_cap, "%s is not a case file (DDKGOLD2)", path);
    ddk_case_file_close(f);
    return false;
  }
  f->size = (size_t)size;
  memcpy(&f->count, f->buf + 8, 4);
  f->pos = 12;
  return true;
}

int ddk_case_file_next(ddk_case_file* f, ddk_case* c) {
  if (f->index >= f->count) return 0;
  reader r = {f->buf + f->pos, f->size - f->pos, false};
  if (!read_case(&r, c)) {
    ddk_case_free(c);
    memset(c, 0, sizeof *c);
    return -1;
  }
  f->pos = (size_t)(r.p - f->buf);
  ++f->index;
  return 1;
}

void ddk_case_file_close(ddk_case_file* f) {
  free(f->buf);
  memset(f, 0, sizeof *f);
}

/* ------------------------------------------------------------------------ */
/* Programs                                                                 */
/* ------------------------------------------------------------------------ */

/* The node of case `c`. */
ddk_node_view ddk_case_node(const ddk_case* c, const ddk_op_info* info) {
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

ddk_status ddk_case_program(const ddk_case* c, const ddk_op_info* info, const ddk_tensor* declared,
                            bool inputs_as_values, void** out_bytes, size_t* out_size, char* err,
                            size_t err_cap) {
  ddk_value_desc vals[MAX_VALUES];
  uint32_t inputs[MAX_VALUES];
  uint32_t num_inputs = 0;
  memset(vals, 0, sizeof vals);
  for (uint32_t i = 0; i < c->num_values; ++i) {
    ddk_value_desc* d = &vals[i];
    d->header = (ddk_struct_header)DDK_STRUCT_HEADER_INIT(ddk_value_desc);
    d->name = "";
    if (c->role[i] == 0) {
      d->tensor = c->values[i];
      if (inputs_as_values) {
        d->tensor.data = NULL;
        d->tensor.capacity = 0;
        d->flags = DDK_VALUE_INPUT;
        inputs[num_inputs++] = i;
      } else {
        d->flags = DDK_VALUE_CONSTANT;
      }
    } else {
      d->tensor = declared[i];
      d->tensor.data = NULL;
      d->tensor.capacity = 0;
      d->flags = DDK_VALUE_OUTPUT;
      if (info->flags & DDK_OP_FLAG_DATA_DEPENDENT)
        d->dynamic_mask = d->tensor.rank ? (1u << d->tensor.rank) - 1u : 0u;
    }
  }
  ddk_node_view node = ddk_case_node(c, info);
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
  prog.num_inputs = num_inputs;
  prog.inputs = inputs;
  prog.num_outputs = c->num_outputs;
  prog.outputs = c->outputs;
  prog.num_instructions = 1;
  prog.instructions = &instr;
  return ddk_program_serialize(&prog, ddk_allocator_system(), out_bytes, out_size, err, err_cap);
}

/* ------------------------------------------------------------------------ */
/* Comparing                                                                */
/* ------------------------------------------------------------------------ */

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

/* Integer element i of dtype d as int64 (bool as 0/1). */
static int64_t decode_int(ddk_dtype d, const unsigned char* p) {
  switch (d) {
    case DDK_DTYPE_BOOL:
      return p[0] != 0;
    case DDK_DTYPE_UINT8:
      return p[0];
    case DDK_DTYPE_INT8:
      return (int8_t)p[0];
    case DDK_DTYPE_INT16: {
      int16_t x;
      memcpy(&x, p, 2);
      return x;
    }
    case DDK_DTYPE_INT32: {
      int32_t x;
      memcpy(&x, p, 4);
      return x;
    }
    default: {
      int64_t x;
      memcpy(&x, p, 8);
      return x;
    }
  }
}

static void shape_text(const ddk_tensor* t, char* buf, size_t cap) {
  size_t n = 0;
  buf[0] = '\0';
  for (uint32_t d = 0; d < t->rank && d < DDK_MAX_RANK && n < cap; ++d)
    n += (size_t)snprintf(buf + n, cap - n, "%s%lld", d ? "," : "", (long long)t->sizes[d]);
}

static const struct {
  const char* name;
  int mantissa_bits; /* explicit fraction bits of the profile's type */
} kProfiles[] = {
    [DDK_ACCURACY_DEFAULT] = {"default", 23},
    [DDK_ACCURACY_FP16_ACCUM] = {"fp16_accum", 10},
    [DDK_ACCURACY_BF16_ACCUM] = {"bf16_accum", 7},
    [DDK_ACCURACY_TF32] = {"tf32", 10},
    [DDK_ACCURACY_FAST_MATH] = {"fast_math", 23},
};
#define NUM_PROFILES (sizeof kProfiles / sizeof kProfiles[0])

const char* ddk_accuracy_profile_name(ddk_accuracy_profile profile) {
  return (size_t)profile < NUM_PROFILES ? kProfiles[profile].name : "?";
}

bool ddk_accuracy_profile_parse(const char* name, ddk_accuracy_profile* out_profile) {
  for (size_t i = 0; name != NULL && i < NUM_PROFILES; ++i)
    if (strcmp(name, kProfiles[i].name) == 0) {
      *out_profile = (ddk_accuracy_profile)i;
      return true;
    }
  return false;
}

double ddk_accuracy_profile_factor(ddk_accuracy_profile profile) {
  /* eps = 2^-mantissa_bits; float32's is 2^-23 */
  return (size_t)profile < NUM_PROFILES ? ldexp(1.0, 23 - kProfiles[profile].mantissa_bits) : 1.0;
}

bool ddk_case_compare(const ddk_case* c, uint32_t v, const ddk_tensor* got, const ddk_tensor* want,
                      ddk_accuracy_profile profile, ddk_case_stats* stats, char* msg,
                      size_t msg_cap) {
  ddk_case_stats st_local;
  ddk_case_stats* st = stats != NULL ? stats : &st_local;
  memset(st, 0, sizeof *st);
  st->worst = -1;
  if (msg_cap) msg[0] = '\0';
  const ddk_tensor* w = want != NULL ? want : &c->want[v];
  bool shape_ok = got->dtype == w->dtype && got->rank == w->rank;
  for (uint32_t d = 0; shape_ok && d < got->rank; ++d) shape_ok = got->sizes[d] == w->sizes[d];
  if (!shape_ok) {
    char a[160], b[160];
    shape_text(got, a, sizeof a);
    shape_text(w, b, sizeof b);
    snprintf(msg, msg_cap, "output is %s[%s], expected %s[%s]", ddk_dtype_name(got->dtype), a,
             ddk_dtype_name(w->dtype), b);
    return false;
  }
  if (c->flags & DDK_CASE_METADATA_ONLY) return true;
  const size_t es = ddk_dtype_size(got->dtype);
  const int64_t n = ddk_tensor_numel(got);
  const unsigned char* g8 = (const unsigned char*)got->data;
  const unsigned char* w8 = want != NULL ? (const unsigned char*)want->data : c->expect[v];
  if (want == NULL && (uint64_t)n * es != c->expect_len[v]) {
    snprintf(msg, msg_cap, "output has %llu bytes, expected %llu",
             (unsigned long long)((uint64_t)n * es), (unsigned long long)c->expect_len[v]);
    return false;
  }
  if (n > 0 && (g8 == NULL || w8 == NULL)) {
    snprintf(msg, msg_cap, "output has no data");
    return false;
  }
  const ddk_op_info* info = ddk_op_find(c->op);
  const bool complex = got->dtype == DDK_DTYPE_COMPLEX64 || got->dtype == DDK_DTYPE_COMPLEX128;
  const bool is_fp = got->dtype == DDK_DTYPE_FLOAT16 || got->dtype == DDK_DTYPE_BFLOAT16 ||
                     got->dtype == DDK_DTYPE_FLOAT32 || got->dtype == DDK_DTYPE_FLOAT64;
  double sum_d = 0.0, sum_d2 = 0.0, sum_w2 = 0.0;
  int64_t finite = 0;
  if (!is_fp && !complex) {
    /* integers and bools exact; quant-class ops may be one step off */
    const bool quant =
        info != NULL && info->tolerance == DDK_TOL_QUANT && got->dtype != DDK_DTYPE_BOOL;
    bool ok = true;
    for (int64_t i = 0; i < n; ++i) {
      int64_t a = decode_int(got->dtype, g8 + i * es), b = decode_int(got->dtype, w8 + i * es);
      double diff = (double)a - (double)b;
      if (fabs(diff) > st->max_abs) {
        st->max_abs = fabs(diff);
        st->max_ulp = fabs(diff);
        if (ok) st->worst = i;
      }
      sum_d += diff;
      sum_d2 += diff * diff;
      sum_w2 += (double)b * (double)b;
      ++finite;
      bool same = a == b || (quant && (a - b <= 1 && b - a <= 1));
      if (!same && ok) {
        ok = false;
        st->worst = i;
        st->worst_got = (double)a;
        st->worst_want = (double)b;
        snprintf(msg, msg_cap, "element %lld: got %lld, expected %lld (exact %s)", (long long)i,
                 (long long)a, (long long)b, ddk_dtype_name(got->dtype));
      }
    }
    st->bias = finite ? sum_d / (double)finite : 0.0;
    st->nmse = sum_w2 > 0 ? sum_d2 / sum_w2 : sum_d2;
    return ok;
  }
  /* complex results compare as (real, imag) pairs of their part dtype */
  const ddk_dtype part = got->dtype == DDK_DTYPE_COMPLEX64    ? DDK_DTYPE_FLOAT32
                         : got->dtype == DDK_DTYPE_COMPLEX128 ? DDK_DTYPE_FLOAT64
                                                              : got->dtype;
  const size_t pes = complex ? es / 2 : es;
  const int64_t parts = complex ? 2 : 1;
  const bool exact = info == NULL || info->tolerance == DDK_TOL_EXACT;
  const bool reduced = part == DDK_DTYPE_FLOAT16 || part == DDK_DTYPE_BFLOAT16;
  double ulps = exact ? 0.0 : (double)info->ulp;
  if (reduced && ulps > 1.0) ulps = 1.0;
  double eps = part == DDK_DTYPE_FLOAT64 ? ldexp(1.0, -53) : ldexp(1.0, -24);
  if (c->flags & DDK_CASE_EPS_STORAGE) eps = ldexp(ulp_of(part, 1.0), -1);
  const double* sc = exact ? NULL : c->scale[v];
  /* an accuracy profile scales float32 bounds by eps(profile) / eps(f32) */
  const double widen = part == DDK_DTYPE_FLOAT32 ? ddk_accuracy_profile_factor(profile) : 1.0;
  const bool fast = part == DDK_DTYPE_FLOAT32 && profile == DDK_ACCURACY_FAST_MATH;
  bool ok = true;
  for (int64_t i = 0; i < n * parts; ++i) {
    const double g = decode(part, g8 + i * pes), x = decode(part, w8 + i * pes);
    bool good;
    double bound = 0.0;
    if (fast && (isnan(x) || (fabs(x) < 0x1p-125 && fabs(g) < 0x1p-125))) {
      /* NaN not propagated; denormals (and exp's underflow a little above
       * them: below 2^-125 = 2 * FLT_MIN) flushed; zero signs free */
      good = true;
    } else if (isnan(x) || isnan(g) || isinf(x) || isinf(g)) {
      good = (isnan(x) && isnan(g)) || g == x;
    } else {
      const double diff = g - x;
      sum_d += diff;
      sum_d2 += diff * diff;
      sum_w2 += x * x;
      ++finite;
      const double u = fabs(diff) / ulp_of(part, x);
      if (u > st->max_ulp) st->max_ulp = u;
      if (fabs(diff) > st->max_abs) {
        st->max_abs = fabs(diff);
        if (ok) st->worst = i / parts;
      }
      bound = ulps * ulp_of(part, x);
      if (sc != NULL) bound += (double)(c->k > 0 ? c->k : 1) * eps * fabs(sc[i / parts]);
      bound *= widen;
      good = fabs(diff) <= bound;
      if (good && (c->flags & DDK_CASE_SIGNED_ZERO) && g == 0.0 && x == 0.0)
        good = signbit(g) == signbit(x);
    }
    if (!good && ok) {
      ok = false;
      st->worst = i / parts;
      st->worst_got = g;
      st->worst_want = x;
      st->worst_bound = bound;
      snprintf(msg, msg_cap, "element %lld%s: got %.9g, expected %.9g (bound %.3g, %s)",
               (long long)(i / parts), complex ? (i % 2 ? " (imag)" : " (real)") : "", g, x, bound,
               ddk_dtype_name(got->dtype));
    }
  }
  st->bias = finite ? sum_d / (double)finite : 0.0;
  st->nmse = sum_w2 > 0 ? sum_d2 / sum_w2 : sum_d2;
  return ok;
}
