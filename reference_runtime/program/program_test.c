/*
 * program_test.c — the program reader, verifier and writer.
 *
 * Builds a program in C that uses every arg kind, a delegate, quantization,
 * dynamic dims, dim orders and constants; serialises it, loads it back and
 * compares; then damages the bytes in many ways (truncation at every
 * length, every header field, the section table, strings, values, nodes,
 * the plan, delegates, shapes) and checks that each load fails with
 * DDK_INVALID_PROGRAM and a message naming the problem — never a crash
 * (run it under ASan + UBSan). Prints "N passed, M failed" last.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ddk/ops.h"
#include "ddk/program.h"
#include "program_format.h"
#include "program_verify.h"

static int g_passed, g_failed;

static void check(bool ok, const char* file, int line, const char* fmt, ...) {
  if (ok) {
    ++g_passed;
    return;
  }
  ++g_failed;
  printf("FAIL %s:%d: ", file, line);
  va_list ap;
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  printf("\n");
}
#define CHECK(cond, ...) check((cond), __FILE__, __LINE__, __VA_ARGS__)

/* ------------------------------------------------------------------------ */
/* A program using every feature of the format                              */
/* ------------------------------------------------------------------------ */

enum {
  V_X, V_W, V_Y, V_Z, V_C, V_QW, V_CLAMPED, V_S0, V_S1, V_D, V_R, V_FL, V_X64,
  V_IDX, V_G, V_X4, V_UP, V_MEAN, V_GI, V_GW, V_GB, V_CAFE, V_QIN, NUM_VALUES
};
enum { N_ADD, N_MUL, N_CAT, N_CLAMP, N_SPLIT, N_RELU, N_DIV, N_TO_COPY,
       N_INDEX, N_UPSAMPLE, N_LN_BACKWARD, NUM_NODES };

typedef struct test_program {
  ddk_value_desc values[NUM_VALUES + 1]; /* + 1: room for a "ghost" */
  ddk_node_view nodes[NUM_NODES];
  ddk_arg args[64];
  uint32_t pool[128]; /* node outputs, tensor lists, io, delegate lists */
  ddk_program_delegate delegate;
  ddk_instruction plan[16];
  ddk_quant_params qw_quant, qin_quant;
  ddk_program program;
  uint32_t num_args, num_pool;
} test_program;

static _Alignas(64) const float k_w[3] = {1.0f, 2.0f, 3.0f};
static _Alignas(64) const int8_t k_qw[6] = {1, -2, 3, -4, 5, -6};
static _Alignas(64) const int64_t k_idx[2] = {2, 0};
static _Alignas(64) const float k_mean[4] = {0.5f, 0.25f, 0.125f, 1.0f};
static _Alignas(64) const uint8_t k_blob[100] = {'B', 'L', 'O', 'B', 1, 2, 3};
static const double k_qw_scales[2] = {0.5, 0.25};
static const int64_t k_qw_zps[2] = {0, 1};
static const double k_qin_scale[1] = {0.1};
static const int64_t k_qin_zp[1] = {-3};
static const int64_t k_split_sizes[2] = {1, 3};
static const int64_t k_norm_shape[1] = {6};
static const double k_scales[2] = {2.0, 2.0};
static const uint8_t k_mask[3] = {1, 0, 1};

static void set_value(test_program* t, uint32_t i, const char* name,
                      ddk_dtype dtype, uint32_t rank, const int64_t* sizes,
                      uint32_t flags) {
  ddk_value_desc* v = &t->values[i];
  memset(v, 0, sizeof *v);
  v->header = (ddk_struct_header)DDK_STRUCT_HEADER_INIT(ddk_value_desc);
  v->tensor.header = (ddk_struct_header)DDK_STRUCT_HEADER_INIT(ddk_tensor);
  v->name = name;
  v->flags = flags;
  v->tensor.dtype = dtype;
  v->tensor.rank = rank;
  for (uint32_t k = 0; k < rank; ++k) {
    v->tensor.sizes[k] = sizes[k];
    v->tensor.dim_order[k] = (uint8_t)k;
  }
  ddk_program_dense_strides(&v->tensor);
}

static void set_constant(test_program* t, uint32_t i, const void* data,
                         size_t size) {
  t->values[i].tensor.data = (void*)(uintptr_t)data;
  t->values[i].tensor.capacity = size;
}

static void set_dim_order(test_program* t, uint32_t i, const uint8_t* order) {
  memcpy(t->values[i].tensor.dim_order, order, t->values[i].tensor.rank);
  ddk_program_dense_strides(&t->values[i].tensor);
}

static const uint32_t* list(test_program* t, uint32_t n, ...) {
  uint32_t* at = &t->pool[t->num_pool];
  va_list ap;
  va_start(ap, n);
  for (uint32_t k = 0; k < n; ++k) t->pool[t->num_pool++] = va_arg(ap, uint32_t);
  va_end(ap);
  return at;
}

static ddk_arg* node(test_program* t, uint32_t n, uint32_t op, uint32_t nargs,
                     uint32_t nouts, ...) {
  ddk_node_view* v = &t->nodes[n];
  memset(v, 0, sizeof *v);
  v->header = (ddk_struct_header)DDK_STRUCT_HEADER_INIT(ddk_node_view);
  v->op_id = op;
  v->op_name = ddk_op_get(op)->name;
  v->node_index = n;
  v->debug_name = n == N_ADD ? "model.add" : "";
  v->num_args = nargs;
  v->args = &t->args[t->num_args];
  memset(&t->args[t->num_args], 0, nargs * sizeof(ddk_arg));
  t->num_args += nargs;
  v->num_outputs = nouts;
  v->outputs = &t->pool[t->num_pool];
  va_list ap;
  va_start(ap, nouts);
  for (uint32_t k = 0; k < nouts; ++k) t->pool[t->num_pool++] = va_arg(ap, uint32_t);
  va_end(ap);
  return (ddk_arg*)v->args;
}

static void arg_tensor(ddk_arg* a, uint32_t v) {
  a->kind = DDK_ARG_TENSOR;
  a->u.tensor = v;
}
static void arg_int(ddk_arg* a, int64_t i) {
  a->kind = DDK_ARG_INT;
  a->u.i = i;
}

static void build(test_program* t) {
  memset(t, 0, sizeof *t);
  const int64_t s23[] = {2, 3}, s3[] = {3}, s43[] = {4, 3}, s13[] = {1, 3},
                s33[] = {3, 3}, s53[] = {5, 3}, s2[] = {2}, s22[] = {2, 2},
                s1123[] = {1, 1, 2, 3}, s1146[] = {1, 1, 4, 6},
                s1141[] = {1, 1, 4, 1}, s6[] = {6}, s4[] = {4};
  const uint32_t in = DDK_VALUE_INPUT, out = DDK_VALUE_OUTPUT,
                 cst = DDK_VALUE_CONSTANT;
  set_value(t, V_X, "x", DDK_DTYPE_FLOAT32, 2, s23, in);
  set_value(t, V_W, "w", DDK_DTYPE_FLOAT32, 1, s3, cst);
  set_constant(t, V_W, k_w, sizeof k_w);
  set_value(t, V_Y, "y", DDK_DTYPE_FLOAT32, 2, s23, 0);
  set_value(t, V_Z, "z", DDK_DTYPE_FLOAT32, 2, s23, 0);
  set_value(t, V_C, "c", DDK_DTYPE_FLOAT32, 2, s43, 0);
  set_value(t, V_QW, "qw", DDK_DTYPE_INT8, 2, s23, cst);
  set_constant(t, V_QW, k_qw, sizeof k_qw);
  t->qw_quant = (ddk_quant_params){DDK_STRUCT_HEADER_INIT(ddk_quant_params),
                                   DDK_QSCHEME_PER_CHANNEL_AFFINE, 0, 2,
                                   k_qw_scales, k_qw_zps, -128, 127};
  t->values[V_QW].tensor.quant = &t->qw_quant;
  set_value(t, V_CLAMPED, "clamped", DDK_DTYPE_FLOAT32, 2, s43, out);
  set_value(t, V_S0, "s0", DDK_DTYPE_FLOAT32, 2, s13, out);
  set_value(t, V_S1, "s1", DDK_DTYPE_FLOAT32, 2, s33, out);
  set_value(t, V_D, "d", DDK_DTYPE_FLOAT32, 2, s53, in);
  t->values[V_D].dynamic_mask = 1;
  set_value(t, V_R, "r", DDK_DTYPE_FLOAT32, 2, s53, out);
  t->values[V_R].dynamic_mask = 1;
  set_value(t, V_FL, "fl", DDK_DTYPE_FLOAT32, 2, s23, out);
  set_value(t, V_X64, "x64", DDK_DTYPE_FLOAT64, 2, s23, out);
  set_dim_order(t, V_X64, (const uint8_t[]){1, 0});
  set_value(t, V_IDX, "idx", DDK_DTYPE_INT64, 1, s2, cst);
  set_constant(t, V_IDX, k_idx, sizeof k_idx);
  set_value(t, V_G, "g", DDK_DTYPE_FLOAT32, 2, s22, out);
  set_value(t, V_X4, "x4", DDK_DTYPE_FLOAT32, 4, s1123, in);
  set_dim_order(t, V_X4, (const uint8_t[]){0, 2, 3, 1});
  set_value(t, V_UP, "up", DDK_DTYPE_FLOAT32, 4, s1146, 0);
  set_value(t, V_MEAN, "mean", DDK_DTYPE_FLOAT32, 4, s1141, cst);
  set_constant(t, V_MEAN, k_mean, sizeof k_mean);
  set_value(t, V_GI, "gi", DDK_DTYPE_FLOAT32, 4, s1146, out);
  set_value(t, V_GW, "gw", DDK_DTYPE_FLOAT32, 1, s6, 0);
  set_value(t, V_GB, "gb", DDK_DTYPE_FLOAT32, 1, s6, 0);
  set_value(t, V_CAFE, "caf\xc3\xa9", DDK_DTYPE_FLOAT32, 0, NULL, in | out);
  set_value(t, V_QIN, "q_in", DDK_DTYPE_INT8, 1, s4, in);
  t->qin_quant = (ddk_quant_params){DDK_STRUCT_HEADER_INIT(ddk_quant_params),
                                    DDK_QSCHEME_PER_TENSOR_AFFINE, 0, 1,
                                    k_qin_scale, k_qin_zp, -128, 127};
  t->values[V_QIN].tensor.quant = &t->qin_quant;

  ddk_arg* a = node(t, N_ADD, DDK_OP_ATEN_ADD_TENSOR, 3, 1, V_Y);
  arg_tensor(&a[0], V_X);
  arg_tensor(&a[1], V_W);
  arg_int(&a[2], 1);
  a = node(t, N_MUL, DDK_OP_ATEN_MUL_TENSOR, 2, 1, V_Z);
  arg_tensor(&a[0], V_Y);
  arg_tensor(&a[1], V_Y);
  a = node(t, N_CAT, DDK_OP_ATEN_CAT, 2, 1, V_C);
  a[0].kind = DDK_ARG_TENSOR_LIST;
  a[0].count = 2;
  a[0].u.tensors = list(t, 2, V_Y, V_Z);
  arg_int(&a[1], 0);
  a = node(t, N_CLAMP, DDK_OP_ATEN_CLAMP, 3, 1, V_CLAMPED);
  arg_tensor(&a[0], V_C);
  a[1].kind = DDK_ARG_NONE;
  a[2].kind = DDK_ARG_FLOAT;
  a[2].u.f = 6.0;
  a = node(t, N_SPLIT, DDK_OP_ATEN_SPLIT_WITH_SIZES, 3, 2, V_S0, V_S1);
  arg_tensor(&a[0], V_C);
  a[1].kind = DDK_ARG_INT_LIST;
  a[1].count = 2;
  a[1].u.ints = k_split_sizes;
  arg_int(&a[2], 0);
  a = node(t, N_RELU, DDK_OP_ATEN_RELU, 1, 1, V_R);
  arg_tensor(&a[0], V_D);
  a = node(t, N_DIV, DDK_OP_ATEN_DIV_TENSOR_MODE, 3, 1, V_FL);
  arg_tensor(&a[0], V_X);
  arg_tensor(&a[1], V_X);
  a[2].kind = DDK_ARG_STRING;
  a[2].u.str = "floor";
  a = node(t, N_TO_COPY, DDK_OP_ATEN_TO_COPY, 7, 1, V_X64);
  arg_tensor(&a[0], V_X);
  a[1].kind = DDK_ARG_DTYPE;
  a[1].u.i = DDK_DTYPE_FLOAT64;
  a[2].kind = DDK_ARG_NONE;
  a[3].kind = DDK_ARG_STRING;
  a[3].u.str = "cpu";
  a[4].kind = DDK_ARG_NONE;
  a[5].kind = DDK_ARG_BOOL;
  a[5].u.b = false;
  arg_int(&a[6], 1); /* preserve_format */
  a = node(t, N_INDEX, DDK_OP_ATEN_INDEX_TENSOR, 2, 1, V_G);
  arg_tensor(&a[0], V_X);
  a[1].kind = DDK_ARG_TENSOR_LIST;
  a[1].count = 2;
  a[1].u.tensors = list(t, 2, DDK_NO_VALUE, V_IDX);
  a = node(t, N_UPSAMPLE, DDK_OP_ATEN_UPSAMPLE_NEAREST2D_VEC, 3, 1, V_UP);
  arg_tensor(&a[0], V_X4);
  a[1].kind = DDK_ARG_NONE;
  a[2].kind = DDK_ARG_FLOAT_LIST;
  a[2].count = 2;
  a[2].u.floats = k_scales;
  a = node(t, N_LN_BACKWARD, DDK_OP_ATEN_NATIVE_LAYER_NORM_BACKWARD, 8, 3,
           V_GI, V_GW, V_GB);
  arg_tensor(&a[0], V_UP);
  arg_tensor(&a[1], V_UP);
  a[2].kind = DDK_ARG_INT_LIST;
  a[2].count = 1;
  a[2].u.ints = k_norm_shape;
  arg_tensor(&a[3], V_MEAN);
  arg_tensor(&a[4], V_MEAN);
  a[5].kind = DDK_ARG_NONE;
  a[6].kind = DDK_ARG_NONE;
  a[7].kind = DDK_ARG_BOOL_LIST;
  a[7].count = 3;
  a[7].u.bools = k_mask;

  ddk_program_delegate* d = &t->delegate;
  d->backend_id = "test_backend";
  d->compat = "test:fmt=1";
  d->blob = k_blob;
  d->blob_size = sizeof k_blob;
  d->num_nodes = 2;
  d->nodes = list(t, 2, N_UPSAMPLE, N_LN_BACKWARD);
  d->num_inputs = 1;
  d->inputs = list(t, 1, V_X4);
  d->num_outputs = 1;
  d->outputs = list(t, 1, V_GI);

  static const ddk_instruction plan[] = {
      {DDK_INSTR_KERNEL, N_ADD},   {DDK_INSTR_KERNEL, N_MUL},
      {DDK_INSTR_KERNEL, N_CAT},   {DDK_INSTR_KERNEL, N_CLAMP},
      {DDK_INSTR_KERNEL, N_SPLIT}, {DDK_INSTR_DELEGATE, 0},
      {DDK_INSTR_KERNEL, N_RELU},  {DDK_INSTR_KERNEL, N_DIV},
      {DDK_INSTR_KERNEL, N_TO_COPY}, {DDK_INSTR_KERNEL, N_INDEX}};
  memcpy(t->plan, plan, sizeof plan);

  ddk_program* p = &t->program;
  p->format_major = DDK_PROGRAM_FORMAT_MAJOR;
  p->format_minor = DDK_PROGRAM_FORMAT_MINOR;
  p->num_values = NUM_VALUES;
  p->values = t->values;
  p->num_nodes = NUM_NODES;
  p->nodes = t->nodes;
  p->num_inputs = 5;
  p->inputs = list(t, 5, V_X, V_D, V_X4, V_CAFE, V_QIN);
  p->num_outputs = 9;
  p->outputs = list(t, 9, V_CLAMPED, V_S0, V_S1, V_R, V_FL, V_X64, V_G, V_GI,
                    V_CAFE);
  p->num_delegates = 1;
  p->delegates = &t->delegate;
  p->num_instructions = sizeof plan / sizeof plan[0];
  p->instructions = t->plan;
}

/* ------------------------------------------------------------------------ */
/* Comparing programs                                                       */
/* ------------------------------------------------------------------------ */

static bool same_str(const char* a, const char* b) {
  return a != NULL && b != NULL && strcmp(a, b) == 0;
}

static bool same_u32s(const uint32_t* a, const uint32_t* b, uint32_t n) {
  return n == 0 || memcmp(a, b, n * sizeof *a) == 0;
}

static bool same_quant(const ddk_quant_params* a, const ddk_quant_params* b) {
  if (a == NULL || b == NULL) return a == b;
  if (a->scheme != b->scheme || a->axis != b->axis ||
      a->num_channels != b->num_channels || a->quant_min != b->quant_min ||
      a->quant_max != b->quant_max)
    return false;
  for (uint32_t c = 0; c < a->num_channels; ++c)
    if (a->scales[c] != b->scales[c] || a->zero_points[c] != b->zero_points[c])
      return false;
  return true;
}

static bool same_arg(const ddk_arg* a, const ddk_arg* b) {
  if (a->kind != b->kind || a->count != b->count) return false;
  switch (a->kind) {
    case DDK_ARG_TENSOR: return a->u.tensor == b->u.tensor;
    case DDK_ARG_TENSOR_LIST: return same_u32s(a->u.tensors, b->u.tensors, a->count);
    case DDK_ARG_INT:
    case DDK_ARG_DTYPE: return a->u.i == b->u.i;
    case DDK_ARG_INT_LIST:
      return a->count == 0 || memcmp(a->u.ints, b->u.ints, a->count * 8) == 0;
    case DDK_ARG_FLOAT: return memcmp(&a->u.f, &b->u.f, 8) == 0;
    case DDK_ARG_FLOAT_LIST:
      return a->count == 0 || memcmp(a->u.floats, b->u.floats, a->count * 8) == 0;
    case DDK_ARG_BOOL: return a->u.b == b->u.b;
    case DDK_ARG_BOOL_LIST:
      return a->count == 0 || memcmp(a->u.bools, b->u.bools, a->count) == 0;
    case DDK_ARG_STRING: return same_str(a->u.str, b->u.str);
    default: return true;
  }
}

/* Empty string when equal, else what differs first. */
static const char* compare(const ddk_program* a, const ddk_program* b) {
  static char why[128];
  why[0] = '\0';
  if (a->num_values != b->num_values || a->num_nodes != b->num_nodes ||
      a->num_inputs != b->num_inputs || a->num_outputs != b->num_outputs ||
      a->num_delegates != b->num_delegates ||
      a->num_instructions != b->num_instructions)
    return "counts";
  for (uint32_t i = 0; i < a->num_values; ++i) {
    const ddk_value_desc *x = &a->values[i], *y = &b->values[i];
    const ddk_tensor *s = &x->tensor, *t = &y->tensor;
    bool ok = same_str(x->name, y->name) && x->flags == y->flags &&
              x->dynamic_mask == y->dynamic_mask && s->dtype == t->dtype &&
              s->rank == t->rank && s->capacity == t->capacity &&
              memcmp(s->sizes, t->sizes, s->rank * 8) == 0 &&
              memcmp(s->strides, t->strides, s->rank * 8) == 0 &&
              memcmp(s->dim_order, t->dim_order, s->rank) == 0 &&
              same_quant(s->quant, t->quant) &&
              (s->capacity == 0 || memcmp(s->data, t->data, s->capacity) == 0);
    if (!ok) {
      snprintf(why, sizeof why, "VALUES[%u]", i);
      return why;
    }
  }
  for (uint32_t n = 0; n < a->num_nodes; ++n) {
    const ddk_node_view *x = &a->nodes[n], *y = &b->nodes[n];
    bool ok = x->op_id == y->op_id && same_str(x->op_name, y->op_name) &&
              x->node_index == y->node_index &&
              same_str(x->debug_name, y->debug_name) &&
              x->num_args == y->num_args && x->num_outputs == y->num_outputs &&
              same_u32s(x->outputs, y->outputs, x->num_outputs);
    for (uint32_t k = 0; ok && k < x->num_args; ++k)
      ok = same_arg(&x->args[k], &y->args[k]);
    if (!ok) {
      snprintf(why, sizeof why, "NODES[%u]", n);
      return why;
    }
  }
  if (!same_u32s(a->inputs, b->inputs, a->num_inputs) ||
      !same_u32s(a->outputs, b->outputs, a->num_outputs))
    return "IO";
  for (uint32_t d = 0; d < a->num_delegates; ++d) {
    const ddk_program_delegate *x = &a->delegates[d], *y = &b->delegates[d];
    if (!same_str(x->backend_id, y->backend_id) || !same_str(x->compat, y->compat) ||
        x->blob_size != y->blob_size ||
        (x->blob_size && memcmp(x->blob, y->blob, x->blob_size) != 0) ||
        x->num_nodes != y->num_nodes || x->num_inputs != y->num_inputs ||
        x->num_outputs != y->num_outputs ||
        !same_u32s(x->nodes, y->nodes, x->num_nodes) ||
        !same_u32s(x->inputs, y->inputs, x->num_inputs) ||
        !same_u32s(x->outputs, y->outputs, x->num_outputs))
      return "DELEGATES";
  }
  if (memcmp(a->instructions, b->instructions,
             a->num_instructions * sizeof(ddk_instruction)) != 0)
    return "PLAN";
  return "";
}

/* ------------------------------------------------------------------------ */
/* A counting allocator that can fail on the Nth call                       */
/* ------------------------------------------------------------------------ */

typedef struct counting {
  long calls, fail_at; /* fail_at < 0: never */
  long long live_bytes;
  long live_blocks;
} counting;

static void* counting_alloc(void* self, size_t size, size_t alignment) {
  counting* c = self;
  if (c->fail_at >= 0 && c->calls++ == c->fail_at) return NULL;
  void* p = ddk_allocator_system()->alloc(NULL, size, alignment);
  if (p != NULL) {
    c->live_bytes += (long long)size;
    ++c->live_blocks;
  }
  return p;
}

static void counting_free(void* self, void* ptr, size_t size) {
  counting* c = self;
  if (ptr == NULL) return;
  c->live_bytes -= (long long)size;
  --c->live_blocks;
  ddk_allocator_system()->free(NULL, ptr, size);
}

/* ------------------------------------------------------------------------ */
/* Byte surgery                                                             */
/* ------------------------------------------------------------------------ */

typedef struct bytes {
  uint8_t* data;
  size_t size;
} bytes;

static bytes clone(bytes b) {
  bytes c = {malloc(b.size > 0 ? b.size : 1), b.size};
  memcpy(c.data, b.data, b.size);
  return c;
}

/* The section with `id` of a file (NULL if absent). */
static uint8_t* section_of(bytes b, uint32_t id, uint64_t* size) {
  uint32_t n = ddk_pf_ld_u32(b.data + DDK_PF_H_NUM_SECTIONS);
  uint64_t table = ddk_pf_ld_u64(b.data + DDK_PF_H_TABLE_OFFSET);
  for (uint32_t i = 0; i < n; ++i) {
    const uint8_t* e = b.data + table + i * DDK_PF_SECTION_ENTRY_SIZE;
    if (ddk_pf_ld_u32(e) == id) {
      if (size != NULL) *size = ddk_pf_ld_u64(e + DDK_PF_S_SIZE);
      return b.data + ddk_pf_ld_u64(e + DDK_PF_S_OFFSET);
    }
  }
  return NULL;
}

/* The section table entry of section `id`. */
static uint8_t* entry_of(bytes b, uint32_t id) {
  uint32_t n = ddk_pf_ld_u32(b.data + DDK_PF_H_NUM_SECTIONS);
  uint64_t table = ddk_pf_ld_u64(b.data + DDK_PF_H_TABLE_OFFSET);
  for (uint32_t i = 0; i < n; ++i) {
    uint8_t* e = b.data + table + i * DDK_PF_SECTION_ENTRY_SIZE;
    if (ddk_pf_ld_u32(e) == id) return e;
  }
  return NULL;
}

static uint8_t* record(bytes b, uint32_t id, uint32_t size, uint32_t i) {
  return section_of(b, id, NULL) + (size_t)i * size;
}

static uint8_t* value_rec(bytes b, uint32_t i) {
  return record(b, DDK_PF_VALUES, DDK_PF_VALUE_SIZE, i);
}
static uint8_t* node_rec(bytes b, uint32_t n) {
  return record(b, DDK_PF_NODES, DDK_PF_NODE_SIZE, n);
}
/* The ARGS record of args[a] of node n. */
static uint8_t* arg_rec(bytes b, uint32_t n, uint32_t a) {
  uint32_t start = ddk_pf_ld_u32(node_rec(b, n) + DDK_PF_N_ARG_START);
  return record(b, DDK_PF_ARGS, DDK_PF_ARG_SIZE, start + a);
}

/* Appends a section (and moves the table to the end of the file). */
static bytes add_section(bytes b, uint32_t id, uint32_t flags,
                         const void* data, size_t n) {
  uint32_t count = ddk_pf_ld_u32(b.data + DDK_PF_H_NUM_SECTIONS);
  uint64_t table = ddk_pf_ld_u64(b.data + DDK_PF_H_TABLE_OFFSET);
  size_t data_at = (b.size + 7) / 8 * 8;
  size_t table_at = (data_at + n + 7) / 8 * 8;
  bytes c = {calloc(1, table_at + (count + 1) * DDK_PF_SECTION_ENTRY_SIZE), 0};
  c.size = table_at + (count + 1) * DDK_PF_SECTION_ENTRY_SIZE;
  memcpy(c.data, b.data, b.size);
  memcpy(c.data + data_at, data, n);
  memcpy(c.data + table_at, b.data + table, count * DDK_PF_SECTION_ENTRY_SIZE);
  uint8_t* e = c.data + table_at + count * DDK_PF_SECTION_ENTRY_SIZE;
  ddk_pf_st_u32(e + DDK_PF_S_ID, id);
  ddk_pf_st_u32(e + DDK_PF_S_FLAGS, flags);
  ddk_pf_st_u64(e + DDK_PF_S_OFFSET, data_at);
  ddk_pf_st_u64(e + DDK_PF_S_SIZE, n);
  ddk_pf_st_u32(c.data + DDK_PF_H_NUM_SECTIONS, count + 1);
  ddk_pf_st_u64(c.data + DDK_PF_H_TABLE_OFFSET, table_at);
  ddk_pf_st_u64(c.data + DDK_PF_H_FILE_SIZE, c.size);
  return c;
}

static ddk_status load(bytes b, char* err, size_t cap) {
  ddk_program* p = NULL;
  ddk_status s = ddk_program_load_buffer(b.data, b.size, true, NULL, &p, err, cap);
  ddk_program_destroy(p);
  return s;
}

/* Loads `b` (then frees it) and expects INVALID_PROGRAM naming `want`. */
static void expect_invalid_at(bytes b, const char* want, const char* what,
                              int line) {
  char err[512];
  ddk_status s = load(b, err, sizeof err);
  check(s == DDK_INVALID_PROGRAM && strstr(err, want) != NULL, __FILE__, line,
        "%s: status %d, message '%s', wanted '%s'", what, (int)s, err, want);
  free(b.data);
}
#define EXPECT_INVALID(b, want, what) expect_invalid_at((b), (want), (what), __LINE__)

/* ------------------------------------------------------------------------ */
/* Tests                                                                    */
/* ------------------------------------------------------------------------ */

static bytes g_file; /* the serialised test program (system allocator) */

static void test_round_trip(void) {
  test_program t;
  build(&t);
  char err[512] = "";
  ddk_status s = ddk_program_verify(&t.program, NULL, err, sizeof err);
  CHECK(s == DDK_OK, "the built program verifies: %s", err);
  void* data = NULL;
  size_t size = 0;
  s = ddk_program_serialize(&t.program, NULL, &data, &size, err, sizeof err);
  CHECK(s == DDK_OK && size > 0, "serialize: %s", err);
  if (s != DDK_OK) exit(1);
  CHECK((uintptr_t)data % 64 == 0, "serialised buffer is 64-byte aligned");
  g_file.data = malloc(size);
  g_file.size = size;
  memcpy(g_file.data, data, size);

  /* Borrowed (64-aligned, not copied): constants point into the buffer. */
  ddk_program* p = NULL;
  s = ddk_program_load_buffer(data, size, false, NULL, &p, err, sizeof err);
  CHECK(s == DDK_OK, "load_buffer: %s", err);
  if (s != DDK_OK) exit(1);
  const char* why = compare(&t.program, p);
  CHECK(why[0] == '\0', "load(serialize(p)) differs from p at %s", why);
  const uint8_t* w = p->values[V_W].tensor.data;
  CHECK(w >= (const uint8_t*)data && w < (const uint8_t*)data + size &&
            (uintptr_t)w % 64 == 0,
        "borrowed constants point into the buffer, 64-aligned");
  CHECK((uintptr_t)p->delegates[0].blob % 64 == 0, "blob is 64-aligned");
  CHECK(strcmp(p->nodes[N_ADD].op_name, "aten::add.Tensor") == 0,
        "op_name comes from the op table");
  CHECK(p->format_major == 1 && p->format_minor == 0, "format version");

  /* Serialising the loaded program gives the same bytes. */
  void* again = NULL;
  size_t again_size = 0;
  s = ddk_program_serialize(p, NULL, &again, &again_size, err, sizeof err);
  CHECK(s == DDK_OK && again_size == size && memcmp(again, data, size) == 0,
        "serialize(load(bytes)) == bytes");
  ddk_allocator_system()->free(NULL, again, again_size);
  ddk_program_destroy(p);

  /* A misaligned buffer is copied even when borrowing is allowed. */
  uint8_t* odd = malloc(size + 8);
  memcpy(odd + 8, data, size);
  s = ddk_program_load_buffer(odd + 8, size, false, NULL, &p, err, sizeof err);
  CHECK(s == DDK_OK && (uintptr_t)p->values[V_W].tensor.data % 64 == 0,
        "misaligned buffer: loads with aligned constants: %s", err);
  ddk_program_destroy(p);
  free(odd);

  /* Through a file (mmap). */
  char path[] = "/tmp/ddk_program_test_XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0, "mkstemp");
  if (fd >= 0) close(fd);
  s = ddk_program_write_file(&t.program, path, NULL, err, sizeof err);
  CHECK(s == DDK_OK, "write_file: %s", err);
  s = ddk_program_load_file(path, NULL, &p, err, sizeof err);
  CHECK(s == DDK_OK, "load_file: %s", err);
  if (s == DDK_OK) {
    why = compare(&t.program, p);
    CHECK(why[0] == '\0', "load_file differs at %s", why);
    ddk_program_destroy(p);
  }
  unlink(path);
  s = ddk_program_load_file(path, NULL, &p, err, sizeof err);
  CHECK(s == DDK_IO_ERROR && p == NULL && strstr(err, path) != NULL,
        "missing file: IO_ERROR naming it: %s", err);
  ddk_allocator_system()->free(NULL, data, size);
}

static void test_allocation_failures(void) {
  char err[256];
  for (long n = 0;; ++n) {
    counting c = {0, n, 0, 0};
    ddk_allocator a = {&c, counting_alloc, counting_free};
    ddk_program* p = NULL;
    ddk_status s = ddk_program_load_buffer(g_file.data, g_file.size, true, &a,
                                           &p, err, sizeof err);
    if (s == DDK_OK) {
      void* data = NULL;
      size_t size = 0;
      c.calls = 0;
      s = ddk_program_serialize(p, &a, &data, &size, err, sizeof err);
      if (s == DDK_OK) a.free(a.self, data, size);
      ddk_program_destroy(p);
    }
    CHECK(c.live_blocks == 0 && c.live_bytes == 0,
          "allocation %ld fails: nothing leaks (%ld blocks)", n, c.live_blocks);
    CHECK(s == DDK_OK || s == DDK_OUT_OF_MEMORY,
          "allocation %ld fails: OUT_OF_MEMORY, got %d", n, (int)s);
    if (s == DDK_OK) break;
    if (n > 20) {
      CHECK(false, "allocation failures never stop");
      break;
    }
  }
}

static void test_truncation(void) {
  int bad = 0;
  for (size_t len = 0; len < g_file.size; ++len) {
    bytes b = {malloc(len > 0 ? len : 1), len};
    memcpy(b.data, g_file.data, len);
    char err[256] = "";
    ddk_status s = load(b, err, sizeof err);
    const char* want = len < DDK_PF_HEADER_SIZE ? "shorter than" : "file_size";
    if (s != DDK_INVALID_PROGRAM || strstr(err, want) == NULL) {
      if (bad++ < 3)
        CHECK(false, "truncated to %zu: status %d '%s'", len, (int)s, err);
    }
    free(b.data);
  }
  CHECK(bad == 0, "every truncation is refused (%d were not)", bad);
  /* Truncated but with file_size patched to match: still refused. */
  for (size_t len = DDK_PF_HEADER_SIZE; len < g_file.size; len += 8) {
    bytes b = clone(g_file);
    b.size = len;
    ddk_pf_st_u64(b.data + DDK_PF_H_FILE_SIZE, len);
    char err[256] = "";
    ddk_status s = load(b, err, sizeof err);
    if (s != DDK_INVALID_PROGRAM && bad++ < 3)
      CHECK(false, "truncated+patched to %zu: status %d", len, (int)s);
    free(b.data);
  }
  CHECK(bad == 0, "patched truncations are refused");
}

static void test_header(void) {
  bytes b = clone(g_file);
  b.data[0] = 'X';
  EXPECT_INVALID(b, "not a DDK program file", "magic");
  b = clone(g_file);
  ddk_pf_st_u16(b.data + DDK_PF_H_MAJOR, 2);
  EXPECT_INVALID(b, "newer than this reader's 1.0; upgrade", "major 2");
  b = clone(g_file);
  ddk_pf_st_u16(b.data + DDK_PF_H_MAJOR, 0);
  EXPECT_INVALID(b, "format 0.0 is not supported", "major 0");
  b = clone(g_file);
  ddk_pf_st_u32(b.data + DDK_PF_H_HEADER_SIZE, 32);
  EXPECT_INVALID(b, "header.header_size", "header_size");
  b = clone(g_file);
  ddk_pf_st_u64(b.data + DDK_PF_H_FILE_SIZE, g_file.size + 1);
  EXPECT_INVALID(b, "header.file_size", "file_size");
  b = clone(g_file);
  ddk_pf_st_u32(b.data + DDK_PF_H_NUM_SECTIONS, 1000);
  EXPECT_INVALID(b, "header.num_sections", "num_sections");
  b = clone(g_file);
  ddk_pf_st_u32(b.data + DDK_PF_H_NUM_SECTIONS, 3);
  EXPECT_INVALID(b, "missing", "fewer sections");
  b = clone(g_file);
  ddk_pf_st_u32(b.data + DDK_PF_H_FLAGS, 1);
  EXPECT_INVALID(b, "header.flags", "flags");
  b = clone(g_file);
  ddk_pf_st_u64(b.data + DDK_PF_H_TABLE_OFFSET, 12);
  EXPECT_INVALID(b, "header.section_table_offset", "table offset");
  b = clone(g_file);
  ddk_pf_st_u64(b.data + DDK_PF_H_TABLE_OFFSET, g_file.size - 8);
  EXPECT_INVALID(b, "header.section_table_offset", "table past the end");
  b = clone(g_file);
  b.data[DDK_PF_H_RESERVED + 5] = 3;
  EXPECT_INVALID(b, "header: reserved byte 5", "reserved");
  /* A newer minor version loads, and may use reserved bytes. */
  b = clone(g_file);
  ddk_pf_st_u16(b.data + DDK_PF_H_MINOR, 7);
  b.data[DDK_PF_H_RESERVED + 5] = 3;
  char err[256];
  CHECK(load(b, err, sizeof err) == DDK_OK, "minor 7 loads: %s", err);
  free(b.data);
}

static void test_sections(void) {
  bytes b = clone(g_file);
  ddk_pf_st_u32(entry_of(b, DDK_PF_NODES) + DDK_PF_S_ID, DDK_PF_VALUES);
  EXPECT_INVALID(b, "appears twice", "duplicate id");
  b = clone(g_file);
  uint8_t* e = entry_of(b, DDK_PF_VALUES);
  ddk_pf_st_u64(e + DDK_PF_S_OFFSET, ddk_pf_ld_u64(e + DDK_PF_S_OFFSET) + 8);
  EXPECT_INVALID(b, "overlap", "overlapping sections");
  b = clone(g_file);
  e = entry_of(b, DDK_PF_VALUES);
  ddk_pf_st_u64(e + DDK_PF_S_OFFSET, ddk_pf_ld_u64(e + DDK_PF_S_OFFSET) + 4);
  EXPECT_INVALID(b, "is not a multiple of 8", "misaligned section");
  b = clone(g_file);
  e = entry_of(b, DDK_PF_CONSTANTS);
  ddk_pf_st_u64(e + DDK_PF_S_OFFSET, ddk_pf_ld_u64(e + DDK_PF_S_OFFSET) + 8);
  EXPECT_INVALID(b, "is not a multiple of 64", "misaligned CONSTANTS");
  b = clone(g_file);
  e = entry_of(b, DDK_PF_BLOBS);
  ddk_pf_st_u64(e + DDK_PF_S_SIZE, UINT64_MAX - 4);
  EXPECT_INVALID(b, "extend past the end", "huge section");
  b = clone(g_file);
  e = entry_of(b, DDK_PF_STRINGS);
  ddk_pf_st_u64(e + DDK_PF_S_OFFSET, 0);
  EXPECT_INVALID(b, "header", "section over the header");
  b = clone(g_file);
  e = entry_of(b, DDK_PF_PLAN);
  ddk_pf_st_u32(e + DDK_PF_S_ID, 99);
  EXPECT_INVALID(b, "required section PLAN is missing", "missing PLAN");
  b = clone(g_file);
  e = entry_of(b, DDK_PF_VALUES);
  ddk_pf_st_u64(e + DDK_PF_S_SIZE, ddk_pf_ld_u64(e + DDK_PF_S_SIZE) - 8);
  EXPECT_INVALID(b, "not a multiple of its 128-byte entries", "VALUES size");
  b = clone(g_file);
  e = entry_of(b, DDK_PF_VALUES);
  ddk_pf_st_u32(e + DDK_PF_S_FLAGS, 4);
  EXPECT_INVALID(b, "has unknown bits", "section flags");

  /* Unknown sections are skipped, unless marked REQUIRED. */
  const char extra[16] = "future section";
  bytes c = add_section(g_file, 200, 0, extra, sizeof extra);
  char err[256];
  CHECK(load(c, err, sizeof err) == DDK_OK, "unknown section skipped: %s", err);
  free(c.data);
  c = add_section(g_file, 200, DDK_PF_SECTION_REQUIRED, extra, sizeof extra);
  EXPECT_INVALID(c, "unknown section marked REQUIRED", "required unknown");
}

static void test_strings(void) {
  uint64_t size = 0;
  bytes b = clone(g_file);
  ddk_pf_st_u32(value_rec(b, V_Y) + DDK_PF_V_NAME, 1u << 30);
  EXPECT_INVALID(b, "VALUES[2].name: string ref 1073741824 is outside STRINGS",
                 "bad name ref");
  b = clone(g_file);
  ddk_pf_st_u32(node_rec(b, N_ADD) + DDK_PF_N_DEBUG_NAME, 1u << 20);
  EXPECT_INVALID(b, "NODES[0].debug_name", "bad debug name ref");
  b = clone(g_file);
  uint8_t* s = section_of(b, DDK_PF_STRINGS, &size);
  s[size - 1] = 'x';
  EXPECT_INVALID(b, "STRINGS: the last byte must be NUL", "unterminated");
  b = clone(g_file);
  s = section_of(b, DDK_PF_STRINGS, &size);
  s[1] = 0xFF;
  EXPECT_INVALID(b, "invalid UTF-8 at byte 1", "bad UTF-8");
  /* A ref into the middle of "café"'s two-byte é. */
  b = clone(g_file);
  uint32_t ref = ddk_pf_ld_u32(value_rec(b, V_CAFE) + DDK_PF_V_NAME);
  ddk_pf_st_u32(value_rec(b, V_X) + DDK_PF_V_NAME, ref + 4);
  EXPECT_INVALID(b, "inside a UTF-8 character", "mid-character ref");
  b = clone(g_file);
  ddk_pf_st_u64(arg_rec(b, N_DIV, 2) + DDK_PF_A_PAYLOAD, size + 5);
  EXPECT_INVALID(b, "NODES[6].args[2]", "bad string arg");
  b = clone(g_file);
  ddk_pf_st_u32(record(b, DDK_PF_DELEGATES, DDK_PF_DELEGATE_SIZE, 0) +
                    DDK_PF_D_BACKEND, DDK_PF_NO_STRING);
  EXPECT_INVALID(b, "DELEGATES[0].backend_id: string is missing", "no backend");
}

static void test_values(void) {
  bytes b = clone(g_file);
  ddk_pf_st_i64(value_rec(b, V_C) + DDK_PF_V_SIZES + 8, -3);
  EXPECT_INVALID(b, "VALUES[4].sizes[1]: negative size -3", "negative size");
  b = clone(g_file);
  value_rec(b, V_Y)[DDK_PF_V_RANK] = 9;
  EXPECT_INVALID(b, "VALUES[2].rank: 9 exceeds", "rank 9");
  b = clone(g_file);
  ddk_pf_st_u32(value_rec(b, V_Y) + DDK_PF_V_DTYPE, 99);
  EXPECT_INVALID(b, "VALUES[2].dtype: 99 is not a known dtype", "dtype");
  b = clone(g_file);
  ddk_pf_st_u32(value_rec(b, V_Y) + DDK_PF_V_DTYPE, 8); /* complex32: a gap */
  EXPECT_INVALID(b, "VALUES[2].dtype: 8", "dtype gap");
  b = clone(g_file);
  value_rec(b, V_X4)[DDK_PF_V_DIM_ORDER + 2] = 2;
  EXPECT_INVALID(b, "VALUES[15].dim_order", "dim_order repeat");
  b = clone(g_file);
  ddk_pf_st_i64(value_rec(b, V_Y) + DDK_PF_V_SIZES, INT64_MAX / 2);
  EXPECT_INVALID(b, "overflows", "numel overflow");
  b = clone(g_file);
  ddk_pf_st_u64(value_rec(b, V_W) + DDK_PF_V_DATA_SIZE, 8);
  EXPECT_INVALID(b, "VALUES[1].data_size: 8 bytes, but a constant float32[3] "
                    "holds 12", "constant size");
  b = clone(g_file);
  ddk_pf_st_u64(value_rec(b, V_W) + DDK_PF_V_DATA_OFFSET, 1u << 20);
  EXPECT_INVALID(b, "outside CONSTANTS", "constant offset");
  b = clone(g_file);
  ddk_pf_st_u64(value_rec(b, V_W) + DDK_PF_V_DATA_OFFSET, 8);
  EXPECT_INVALID(b, "VALUES[1].data_offset: 8 is not a multiple of 64",
                 "constant alignment");
  b = clone(g_file);
  ddk_pf_st_u64(value_rec(b, V_Y) + DDK_PF_V_DATA_SIZE, 8);
  EXPECT_INVALID(b, "VALUES[2]: data_offset/data_size must be 0", "data on "
                 "non-constant");
  b = clone(g_file);
  value_rec(b, V_Y)[DDK_PF_V_FLAGS] = 0x10;
  EXPECT_INVALID(b, "VALUES[2].flags", "unknown flag");
  b = clone(g_file);
  value_rec(b, V_X)[DDK_PF_V_FLAGS] = DDK_VALUE_INPUT | DDK_VALUE_CONSTANT;
  EXPECT_INVALID(b, "both CONSTANT and INPUT", "constant input");
  b = clone(g_file);
  ddk_pf_st_u32(value_rec(b, V_Y) + DDK_PF_V_DYNAMIC_MASK, 0x4);
  EXPECT_INVALID(b, "beyond rank 2", "dynamic mask");
  b = clone(g_file);
  ddk_pf_st_i64(value_rec(b, V_Y) + DDK_PF_V_SIZES + 8 * 5, 7);
  EXPECT_INVALID(b, "beyond rank 2 must be zero", "size beyond rank");
  b = clone(g_file);
  value_rec(b, V_Y)[DDK_PF_V_RESERVED2 + 3] = 1;
  EXPECT_INVALID(b, "VALUES[2]: reserved byte 3", "value reserved");
  b = clone(g_file);
  ddk_pf_st_u32(value_rec(b, V_Y) + DDK_PF_V_QUANT, 7);
  EXPECT_INVALID(b, "VALUES[2].quant_index: 7 out of range", "quant index");
}

static void test_quant(void) {
  uint8_t* q;
  bytes b = clone(g_file);
  uint32_t qi = ddk_pf_ld_u32(value_rec(b, V_QW) + DDK_PF_V_QUANT);
  q = record(b, DDK_PF_QUANT, DDK_PF_QUANT_SIZE, qi);
  uint8_t* floats = section_of(b, DDK_PF_FLOAT_POOL, NULL);
  ddk_pf_st_f64(floats + 8 * ddk_pf_ld_u32(q + DDK_PF_Q_SCALES_START) + 8, -1.0);
  EXPECT_INVALID(b, "VALUES[5].quant.scales[1]: -1 is not finite and > 0",
                 "negative scale");
  b = clone(g_file);
  q = record(b, DDK_PF_QUANT, DDK_PF_QUANT_SIZE, qi);
  ddk_pf_st_u32(q + DDK_PF_Q_AXIS, 2);
  EXPECT_INVALID(b, "VALUES[5].quant.axis: 2", "axis");
  b = clone(g_file);
  q = record(b, DDK_PF_QUANT, DDK_PF_QUANT_SIZE, qi);
  ddk_pf_st_u32(q + DDK_PF_Q_AXIS, 1);
  EXPECT_INVALID(b, "num_channels: 2 but sizes[1] is 3", "channels");
  b = clone(g_file);
  q = record(b, DDK_PF_QUANT, DDK_PF_QUANT_SIZE, qi);
  ddk_pf_st_i64(q + DDK_PF_Q_QUANT_MAX, 1000);
  EXPECT_INVALID(b, "outside int8", "range");
  b = clone(g_file);
  q = record(b, DDK_PF_QUANT, DDK_PF_QUANT_SIZE, qi);
  ddk_pf_st_u32(q + DDK_PF_Q_NUM_CHANNELS, 1u << 30);
  EXPECT_INVALID(b, "outside FLOAT_POOL", "channels out of pool");
  b = clone(g_file);
  q = record(b, DDK_PF_QUANT, DDK_PF_QUANT_SIZE, qi);
  ddk_pf_st_u32(q + DDK_PF_Q_SCHEME, 0);
  EXPECT_INVALID(b, "quant.scheme: 0", "scheme");
  /* Two values sharing one QUANT record use its pool entries twice. */
  b = clone(g_file);
  ddk_pf_st_u32(value_rec(b, V_Y) + DDK_PF_V_QUANT, qi);
  EXPECT_INVALID(b, "may not be shared", "shared quant");
}

static void test_nodes(void) {
  bytes b = clone(g_file);
  ddk_pf_st_u32(node_rec(b, N_MUL) + DDK_PF_N_OP, 9999);
  EXPECT_INVALID(b, "NODES[1].op_id: 9999 is not in the op table", "op id");
  b = clone(g_file);
  ddk_pf_st_u32(node_rec(b, N_ADD) + DDK_PF_N_ARG_COUNT, 2);
  EXPECT_INVALID(b, "NODES[0] (aten::add.Tensor): 2 args, but the schema has 3",
                 "arg count");
  b = clone(g_file);
  arg_rec(b, N_ADD, 1)[DDK_PF_A_KIND] = DDK_ARG_TENSOR_LIST;
  ddk_pf_st_u64(arg_rec(b, N_ADD, 1) + DDK_PF_A_PAYLOAD, 0);
  EXPECT_INVALID(b, "NODES[0].args[1]: kind TENSOR_LIST but schema param "
                    "'other' of aten::add.Tensor expects a Tensor", "arg kind");
  b = clone(g_file);
  arg_rec(b, N_ADD, 0)[DDK_PF_A_KIND] = DDK_ARG_NONE;
  ddk_pf_st_u64(arg_rec(b, N_ADD, 0) + DDK_PF_A_PAYLOAD, 0);
  EXPECT_INVALID(b, "kind NONE but schema param 'self'", "NONE for non-optional");
  b = clone(g_file);
  arg_rec(b, N_TO_COPY, 1)[DDK_PF_A_KIND] = DDK_ARG_INT; /* ScalarType */
  EXPECT_INVALID(b, "expects a ScalarType?", "INT for ScalarType");
  b = clone(g_file);
  ddk_pf_st_u64(arg_rec(b, N_TO_COPY, 1) + DDK_PF_A_PAYLOAD, 42);
  EXPECT_INVALID(b, "NODES[7].args[1]: 42 is not a known dtype", "bad dtype arg");
  b = clone(g_file);
  arg_rec(b, N_ADD, 2)[DDK_PF_A_KIND] = DDK_ARG_STRING; /* Scalar */
  ddk_pf_st_u64(arg_rec(b, N_ADD, 2) + DDK_PF_A_PAYLOAD, 0);
  EXPECT_INVALID(b, "kind STRING but schema param 'alpha'", "STRING for Scalar");
  b = clone(g_file);
  arg_rec(b, N_ADD, 2)[DDK_PF_A_KIND] = 77;
  EXPECT_INVALID(b, "NODES[0].args[2].kind: 77", "bad kind");
  b = clone(g_file);
  ddk_pf_st_u64(arg_rec(b, N_ADD, 0) + DDK_PF_A_PAYLOAD, 500);
  EXPECT_INVALID(b, "NODES[0].args[0]: value 500 out of range", "tensor index");
  b = clone(g_file);
  ddk_pf_st_u32(arg_rec(b, N_ADD, 0) + DDK_PF_A_COUNT, 2);
  EXPECT_INVALID(b, "NODES[0].args[0].count: 2 on a TENSOR arg", "count on scalar");
  b = clone(g_file);
  arg_rec(b, N_TO_COPY, 5)[DDK_PF_A_PAYLOAD] = 2; /* bool */
  EXPECT_INVALID(b, "bool 2 is not 0 or 1", "bool payload");
  b = clone(g_file);
  ddk_pf_st_u32(arg_rec(b, N_SPLIT, 1) + DDK_PF_A_COUNT, 1000);
  EXPECT_INVALID(b, "NODES[4].args[1]: range", "int list range");
  /* None in a Tensor[] (not Tensor?[]) list. */
  b = clone(g_file);
  {
    uint32_t start = (uint32_t)ddk_pf_ld_u64(arg_rec(b, N_CAT, 0) + DDK_PF_A_PAYLOAD);
    ddk_pf_st_u32(section_of(b, DDK_PF_INDEX_POOL, NULL) + 4 * start, DDK_NO_VALUE);
  }
  EXPECT_INVALID(b, "NODES[2].args[0][0]: value 4294967295 out of range",
                 "None in Tensor[]");
  b = clone(g_file);
  ddk_pf_st_u32(node_rec(b, N_LN_BACKWARD) + DDK_PF_N_OUT_COUNT, 2);
  EXPECT_INVALID(b, "NODES[10] (aten::native_layer_norm_backward): 2 outputs, "
                    "but the schema returns 3", "output count");
  b = clone(g_file);
  ddk_pf_st_u32(node_rec(b, N_MUL) + DDK_PF_N_OUT_COUNT, 2);
  EXPECT_INVALID(b, "may not be shared", "output lists overlap");
  b = clone(g_file);
  ddk_pf_st_u32(node_rec(b, N_SPLIT) + DDK_PF_N_OUT_COUNT, 1); /* Tensor[] */
  char err[256];
  ddk_status s = load(b, err, sizeof err);
  CHECK(s == DDK_INVALID_PROGRAM && strstr(err, "schema returns") == NULL &&
            strstr(err, "('s1') is never produced") != NULL,
        "a Tensor[] return accepts any count (fails later for s1): %s", err);
  free(b.data);
  b = clone(g_file);
  node_rec(b, N_ADD)[DDK_PF_N_RESERVED] = 1;
  EXPECT_INVALID(b, "NODES[0]: reserved byte 0", "node reserved");
}

/* The value index of output `k` of node `n` lives in INDEX_POOL. */
static uint8_t* output_slot(bytes b, uint32_t n, uint32_t k) {
  uint32_t start = ddk_pf_ld_u32(node_rec(b, n) + DDK_PF_N_OUT_START);
  return section_of(b, DDK_PF_INDEX_POOL, NULL) + 4 * (start + k);
}

static void test_graph(void) {
  /* Double definition: mul writes y, which add already defines. */
  bytes b = clone(g_file);
  ddk_pf_st_u32(output_slot(b, N_MUL, 0), V_Y);
  EXPECT_INVALID(b, "NODES[1].outputs[0]: value 2 ('y') is already defined by "
                    "NODES[0]", "double definition");
  b = clone(g_file);
  ddk_pf_st_u32(output_slot(b, N_MUL, 0), V_X);
  EXPECT_INVALID(b, "is already defined as a program input", "redefine input");
  /* Cycle: add reads z, which mul makes from y, which add makes. */
  b = clone(g_file);
  ddk_pf_st_u64(arg_rec(b, N_ADD, 0) + DDK_PF_A_PAYLOAD, V_Z);
  EXPECT_INVALID(b, "NODES[0].args[0]: value 3 ('z') is read before NODES[1] "
                    "produces it", "cycle");
  /* Reading a value internal to a delegate, before and after it ran. */
  b = clone(g_file);
  ddk_pf_st_u64(arg_rec(b, N_ADD, 0) + DDK_PF_A_PAYLOAD, V_GW);
  EXPECT_INVALID(b, "NODES[0].args[0]: value 19 ('gw') is read before "
                    "NODES[10] produces it", "read before delegate");
  b = clone(g_file);
  ddk_pf_st_u64(arg_rec(b, N_RELU, 0) + DDK_PF_A_PAYLOAD, V_GW);
  EXPECT_INVALID(b, "NODES[5].args[0]: value 19 ('gw') is internal to "
                    "DELEGATES[0]", "read delegate-internal value");
  /* Plan: a node twice, a node missing, a bad kind. */
  b = clone(g_file);
  ddk_pf_st_u32(record(b, DDK_PF_PLAN, DDK_PF_INSTR_SIZE, 1) + DDK_PF_I_INDEX,
                N_ADD);
  EXPECT_INVALID(b, "PLAN[1]: NODES[0] is already covered by PLAN[0]",
                 "node twice");
  b = clone(g_file);
  ddk_pf_st_u32(record(b, DDK_PF_PLAN, DDK_PF_INSTR_SIZE, 1) + DDK_PF_I_KIND, 7);
  EXPECT_INVALID(b, "PLAN[1].kind: 7", "plan kind");
  b = clone(g_file);
  {
    uint8_t* e = entry_of(b, DDK_PF_PLAN);
    ddk_pf_st_u64(e + DDK_PF_S_SIZE, ddk_pf_ld_u64(e + DDK_PF_S_SIZE) - 8);
  }
  EXPECT_INVALID(b, "NODES[8] (aten::index.Tensor): not covered by the plan",
                 "node missing");
  b = clone(g_file);
  ddk_pf_st_u32(record(b, DDK_PF_PLAN, DDK_PF_INSTR_SIZE, 0) + DDK_PF_I_INDEX,
                N_UPSAMPLE);
  EXPECT_INVALID(b, "DELEGATES[0].nodes[0]: NODES[9] is already covered by "
                    "PLAN[0]", "kernel + delegate");
  b = clone(g_file);
  ddk_pf_st_u32(record(b, DDK_PF_PLAN, DDK_PF_INSTR_SIZE, 6) + DDK_PF_I_INDEX,
                N_UPSAMPLE);
  EXPECT_INVALID(b, "PLAN[6]: NODES[9] is already covered by DELEGATES[0]",
                 "delegate + kernel");
  /* Order: mul before add. */
  b = clone(g_file);
  ddk_pf_st_u32(record(b, DDK_PF_PLAN, DDK_PF_INSTR_SIZE, 0) + DDK_PF_I_INDEX,
                N_MUL);
  ddk_pf_st_u32(record(b, DDK_PF_PLAN, DDK_PF_INSTR_SIZE, 1) + DDK_PF_I_INDEX,
                N_ADD);
  EXPECT_INVALID(b, "is read before NODES[0] produces it", "plan order");
  /* IO. */
  b = clone(g_file);
  value_rec(b, V_D)[DDK_PF_V_FLAGS] = 0;
  EXPECT_INVALID(b, "IO.inputs[1]: value 9 ('d') is not flagged INPUT",
                 "input flag");
  b = clone(g_file);
  value_rec(b, V_Y)[DDK_PF_V_FLAGS] = DDK_VALUE_OUTPUT;
  EXPECT_INVALID(b, "VALUES[2]: flagged OUTPUT but not listed", "output flag");
  b = clone(g_file);
  ddk_pf_st_u32(section_of(b, DDK_PF_IO, NULL) + DDK_PF_IO_NUM_OUTPUTS, 1000);
  EXPECT_INVALID(b, "IO.outputs: range", "io range");
}

static void test_delegates(void) {
  uint8_t* d;
  bytes b = clone(g_file);
  d = record(b, DDK_PF_DELEGATES, DDK_PF_DELEGATE_SIZE, 0);
  ddk_pf_st_u64(d + DDK_PF_D_BLOB_SIZE, 1u << 20);
  EXPECT_INVALID(b, "DELEGATES[0]: blob", "blob range");
  b = clone(g_file);
  d = record(b, DDK_PF_DELEGATES, DDK_PF_DELEGATE_SIZE, 0);
  ddk_pf_st_u32(d + DDK_PF_D_NODES_COUNT, 0);
  EXPECT_INVALID(b, "DELEGATES[0]: covers no nodes", "empty delegate");
  b = clone(g_file);
  d = record(b, DDK_PF_DELEGATES, DDK_PF_DELEGATE_SIZE, 0);
  ddk_pf_st_u32(d + DDK_PF_D_IN_COUNT, 0);
  EXPECT_INVALID(b, "DELEGATES[0]: NODES[9].args[0] reads value 15 ('x4'), "
                    "which is neither", "delegate input missing");
  b = clone(g_file);
  d = record(b, DDK_PF_DELEGATES, DDK_PF_DELEGATE_SIZE, 0);
  ddk_pf_st_u32(section_of(b, DDK_PF_INDEX_POOL, NULL) +
                    4 * ddk_pf_ld_u32(d + DDK_PF_D_OUT_START), V_Y);
  EXPECT_INVALID(b, "DELEGATES[0].outputs[0]: value 2 ('y') is not produced by "
                    "a node of the delegate", "foreign output");
  b = clone(g_file);
  d = record(b, DDK_PF_DELEGATES, DDK_PF_DELEGATE_SIZE, 0);
  ddk_pf_st_u32(section_of(b, DDK_PF_INDEX_POOL, NULL) +
                    4 * ddk_pf_ld_u32(d + DDK_PF_D_NODES_START), 300);
  EXPECT_INVALID(b, "DELEGATES[0].nodes[0]: 300 out of range", "node index");
  /* backend ids are [a-z0-9_]+: overwrite the id's first byte. */
  b = clone(g_file);
  d = record(b, DDK_PF_DELEGATES, DDK_PF_DELEGATE_SIZE, 0);
  section_of(b, DDK_PF_STRINGS, NULL)[ddk_pf_ld_u32(d + DDK_PF_D_BACKEND)] = 'T';
  EXPECT_INVALID(b, "is not [a-z0-9_]+", "backend id");
}

static void test_shapes(void) {
  /* Does the op table have an inference rule for add.Tensor yet? */
  ddk_tensor vals[3];
  memset(vals, 0, sizeof vals);
  for (int i = 0; i < 3; ++i) {
    vals[i].dtype = DDK_DTYPE_FLOAT32;
    vals[i].rank = 1;
    vals[i].sizes[0] = 3;
  }
  ddk_arg args[3] = {{DDK_ARG_TENSOR, 0, {.tensor = 0}},
                     {DDK_ARG_TENSOR, 0, {.tensor = 1}},
                     {DDK_ARG_INT, 0, {.i = 1}}};
  uint32_t outs[1] = {2};
  ddk_node_view n = {DDK_STRUCT_HEADER_INIT(ddk_node_view),
                     DDK_OP_ATEN_ADD_TENSOR, "aten::add.Tensor", 0, 3, args,
                     1, outs, ""};
  char err[256];
  if (ddk_infer_node(&n, vals, err, sizeof err) == DDK_UNSUPPORTED_OP) {
    printf("SKIP shape checks: no inference rule for aten::add.Tensor yet\n");
    return;
  }
  /* add of [2,3] + [3] declared [2,2]. */
  bytes b = clone(g_file);
  ddk_pf_st_i64(value_rec(b, V_Y) + DDK_PF_V_SIZES + 8, 2);
  EXPECT_INVALID(b, "NODES[0] (aten::add.Tensor).outputs[0]: value 2 ('y') is "
                    "declared float32[2, 2] but shape inference gives "
                    "float32[2, 3]", "shape mismatch");
  b = clone(g_file);
  ddk_pf_st_u32(value_rec(b, V_Y) + DDK_PF_V_DTYPE, DDK_DTYPE_INT32);
  EXPECT_INVALID(b, "declared int32[2, 3] but shape inference gives float32",
                 "dtype mismatch");
  /* An input that cannot broadcast: w declared [4] (with 16 bytes). */
  test_program t;
  build(&t);
  static _Alignas(64) const float w4[4] = {0};
  t.values[V_W].tensor.sizes[0] = 4;
  set_constant(&t, V_W, w4, sizeof w4);
  ddk_status s = ddk_program_verify(&t.program, NULL, err, sizeof err);
  CHECK(s == DDK_INVALID_PROGRAM &&
            strstr(err, "NODES[0] (aten::add.Tensor): shape inference rejects "
                        "the node") != NULL,
        "inference error is quoted: %s", err);
}

static void test_in_memory(void) {
  /* serialize verifies first and refuses an invalid program. */
  test_program t;
  build(&t);
  t.plan[0] = (ddk_instruction){DDK_INSTR_KERNEL, N_MUL};
  t.plan[1] = (ddk_instruction){DDK_INSTR_KERNEL, N_ADD};
  char err[256];
  void* data = NULL;
  size_t size = 0;
  ddk_status s = ddk_program_serialize(&t.program, NULL, &data, &size, err,
                                       sizeof err);
  CHECK(s == DDK_INVALID_PROGRAM && data == NULL &&
            strstr(err, "read before") != NULL,
        "serialize refuses an invalid program: %s", err);
  /* A value that nothing defines. */
  build(&t);
  set_value(&t, NUM_VALUES, "ghost", DDK_DTYPE_FLOAT32, 0, NULL, 0);
  t.program.num_values = NUM_VALUES + 1;
  ((ddk_arg*)t.nodes[N_RELU].args)[0].u.tensor = NUM_VALUES;
  s = ddk_program_verify(&t.program, NULL, err, sizeof err);
  CHECK(s == DDK_INVALID_PROGRAM &&
            strstr(err, "NODES[5].args[0]: value 23 ('ghost') is never "
                        "produced") != NULL,
        "never produced: %s", err);
  /* In memory, capacity 0 means "not set" and strides are not stored: the
   * program serialises, and loads with exact sizes and dense strides. */
  build(&t);
  t.values[V_W].tensor.capacity = 0;
  memset(t.values[V_X4].tensor.strides, 0, sizeof t.values[V_X4].tensor.strides);
  s = ddk_program_serialize(&t.program, NULL, &data, &size, err, sizeof err);
  CHECK(s == DDK_OK, "capacity 0 / no strides in memory: %s", err);
  ddk_program* p = NULL;
  if (s == DDK_OK) {
    s = ddk_program_load_buffer(data, size, false, NULL, &p, err, sizeof err);
    CHECK(s == DDK_OK && p->values[V_W].tensor.capacity == sizeof k_w &&
              p->values[V_X4].tensor.strides[1] == 1 &&
              p->values[V_X4].tensor.strides[3] == 1 &&
              p->values[V_X4].tensor.strides[2] == 3,
          "loaded with exact capacity and dense channels-last strides: %s", err);
    ddk_program_destroy(p);
    ddk_allocator_system()->free(NULL, data, size);
  }
  build(&t);
  t.values[V_W].tensor.capacity = 8;
  s = ddk_program_verify(&t.program, NULL, err, sizeof err);
  CHECK(s == DDK_INVALID_PROGRAM && strstr(err, "VALUES[1].data_size: 8 bytes"),
        "too small a capacity in memory: %s", err);
  build(&t);
  t.program.values = NULL;
  s = ddk_program_verify(&t.program, NULL, err, sizeof err);
  CHECK(s == DDK_INVALID_PROGRAM && strstr(err, "NULL"), "NULL array: %s", err);
  build(&t);
  t.nodes[N_ADD].node_index = 5;
  s = ddk_program_verify(&t.program, NULL, err, sizeof err);
  CHECK(s == DDK_INVALID_PROGRAM && strstr(err, "NODES[0].node_index"),
        "node_index: %s", err);
  CHECK(ddk_program_load_buffer(NULL, 10, true, NULL, NULL, err, sizeof err) ==
            DDK_INVALID_ARGUMENT, "NULL arguments");
  ddk_program_destroy(NULL);
}

/* Deterministic random damage: never a crash, only OK or INVALID_PROGRAM. */
static void test_random_damage(void) {
  uint64_t state = 0x9E3779B97F4A7C15u;
  int bad = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    bytes b = clone(g_file);
    int flips = 1 + iter % 4;
    for (int k = 0; k < flips; ++k) {
      state ^= state << 13, state ^= state >> 7, state ^= state << 17;
      size_t at = (size_t)(state % b.size);
      b.data[at] = (uint8_t)(state >> 32);
    }
    char err[256];
    ddk_status s = load(b, err, sizeof err);
    if (s != DDK_OK && s != DDK_INVALID_PROGRAM && bad++ < 3)
      CHECK(false, "random damage %d: status %d '%s'", iter, (int)s, err);
    if (s == DDK_INVALID_PROGRAM && err[0] == '\0' && bad++ < 3)
      CHECK(false, "random damage %d: INVALID_PROGRAM without a message", iter);
    free(b.data);
  }
  CHECK(bad == 0, "random damage gives OK or a clear INVALID_PROGRAM");
}

int main(void) {
  test_round_trip();
  test_allocation_failures();
  test_truncation();
  test_header();
  test_sections();
  test_strings();
  test_values();
  test_quant();
  test_nodes();
  test_graph();
  test_delegates();
  test_shapes();
  test_in_memory();
  test_random_damage();
  free(g_file.data);
  printf("%d passed, %d failed\n", g_passed, g_failed);
  return g_failed == 0 ? 0 : 1;
}
