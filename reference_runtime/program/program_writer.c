/*
 * program_writer.c — serialises a ddk_program into the program file format.
 *
 * The writer verifies the program first (ddk_program_verify), then runs
 * one emitter twice: a sizing pass that only advances per-section cursors,
 * and a writing pass into the buffer laid out from those sizes. Both passes
 * make the same calls, so offsets and pool indices agree by construction.
 *
 * The layout is the canonical one of docs/program_format.md ("Canonical
 * layout"), which python/ddk/program.py produces too: the header, the
 * section table, the record sections in id order, then CONSTANTS and BLOBS
 * 64-byte aligned. Strings are de-duplicated; "" is always at offset 0.
 */
#include <stdio.h>
#include <string.h>

#include "ddk/program.h"
#include "program_format.h"
#include "program_verify.h"

#define NUM_SECTION_IDS 66

/* Section ids in file order. */
static const uint32_t k_order[] = {
    DDK_PF_STRINGS,    DDK_PF_VALUES, DDK_PF_NODES, DDK_PF_ARGS,
    DDK_PF_INT_POOL,   DDK_PF_INDEX_POOL, DDK_PF_FLOAT_POOL, DDK_PF_IO,
    DDK_PF_DELEGATES,  DDK_PF_PLAN,   DDK_PF_QUANT, DDK_PF_BOOL_POOL,
    DDK_PF_CONSTANTS,  DDK_PF_BLOBS};
#define NUM_ORDER (sizeof k_order / sizeof k_order[0])

static bool always_present(uint32_t id) {
  return id == DDK_PF_STRINGS || id == DDK_PF_VALUES || id == DDK_PF_NODES ||
         id == DDK_PF_IO || id == DDK_PF_PLAN;
}

/* String de-duplication: open addressing on FNV-1a. */
typedef struct string_slot {
  const char* text; /* NULL: empty slot */
  uint32_t ref;
} string_slot;

typedef struct emitter {
  uint8_t* out[NUM_SECTION_IDS]; /* section starts (writing pass), or NULL */
  uint64_t len[NUM_SECTION_IDS]; /* bytes emitted so far per section */
  string_slot* strings;
  uint64_t strings_cap; /* power of two */
  uint32_t num_quant;
} emitter;

static void put(emitter* e, uint32_t id, const void* bytes, uint64_t n) {
  if (e->out[id] != NULL && n > 0) memcpy(e->out[id] + e->len[id], bytes, n);
  e->len[id] += n;
}

static void pad_to(emitter* e, uint32_t id, uint64_t align) {
  e->len[id] = (e->len[id] + align - 1) / align * align; /* zeros: memset */
}

static uint32_t put_string(emitter* e, const char* s) {
  if (s[0] == '\0') return 0;
  uint32_t h = 2166136261u;
  for (const char* c = s; *c; ++c) h = (h ^ (uint8_t)*c) * 16777619u;
  uint64_t mask = e->strings_cap - 1;
  for (uint64_t i = h & mask;; i = (i + 1) & mask) {
    string_slot* slot = &e->strings[i];
    if (slot->text == NULL) {
      slot->text = s;
      slot->ref = (uint32_t)e->len[DDK_PF_STRINGS];
      put(e, DDK_PF_STRINGS, s, strlen(s) + 1);
      return slot->ref;
    }
    if (strcmp(slot->text, s) == 0) return slot->ref;
  }
}

/* Appends `count` items of a pool; returns the start index. */
static uint64_t put_pool(emitter* e, uint32_t id, const void* items,
                         uint32_t count) {
  uint64_t start, elem = id == DDK_PF_INDEX_POOL ? 4 : id == DDK_PF_BOOL_POOL ? 1 : 8;
  start = e->len[id] / elem;
  for (uint32_t k = 0; k < count; ++k) {
    uint8_t b[8];
    if (id == DDK_PF_INDEX_POOL)
      ddk_pf_st_u32(b, ((const uint32_t*)items)[k]);
    else if (id == DDK_PF_BOOL_POOL)
      b[0] = ((const uint8_t*)items)[k];
    else if (id == DDK_PF_INT_POOL)
      ddk_pf_st_i64(b, ((const int64_t*)items)[k]);
    else
      ddk_pf_st_f64(b, ((const double*)items)[k]);
    put(e, id, b, elem);
  }
  return start;
}

static uint64_t put_data(emitter* e, uint32_t id, const void* data,
                         uint64_t size) {
  pad_to(e, id, DDK_PF_DATA_ALIGN);
  uint64_t offset = e->len[id];
  put(e, id, data, size);
  return offset;
}

static void emit_value(emitter* e, const ddk_value_desc* v) {
  uint8_t rec[DDK_PF_VALUE_SIZE];
  memset(rec, 0, sizeof rec);
  const ddk_tensor* t = &v->tensor;
  ddk_pf_st_u32(rec + DDK_PF_V_NAME, put_string(e, v->name));
  ddk_pf_st_u32(rec + DDK_PF_V_DTYPE, (uint32_t)t->dtype);
  rec[DDK_PF_V_RANK] = (uint8_t)t->rank;
  rec[DDK_PF_V_FLAGS] = (uint8_t)v->flags;
  ddk_pf_st_u32(rec + DDK_PF_V_DYNAMIC_MASK, v->dynamic_mask);
  uint32_t quant = DDK_PF_NO_QUANT;
  if (t->quant != NULL) {
    const ddk_quant_params* q = t->quant;
    uint8_t qr[DDK_PF_QUANT_SIZE];
    memset(qr, 0, sizeof qr);
    ddk_pf_st_u32(qr + DDK_PF_Q_SCHEME, (uint32_t)q->scheme);
    ddk_pf_st_u32(qr + DDK_PF_Q_AXIS, (uint32_t)q->axis);
    ddk_pf_st_u32(qr + DDK_PF_Q_NUM_CHANNELS, q->num_channels);
    ddk_pf_st_u32(qr + DDK_PF_Q_SCALES_START,
                  (uint32_t)put_pool(e, DDK_PF_FLOAT_POOL, q->scales,
                                     q->num_channels));
    ddk_pf_st_u32(qr + DDK_PF_Q_ZP_START,
                  (uint32_t)put_pool(e, DDK_PF_INT_POOL, q->zero_points,
                                     q->num_channels));
    ddk_pf_st_i64(qr + DDK_PF_Q_QUANT_MIN, q->quant_min);
    ddk_pf_st_i64(qr + DDK_PF_Q_QUANT_MAX, q->quant_max);
    put(e, DDK_PF_QUANT, qr, sizeof qr);
    quant = e->num_quant++;
  }
  ddk_pf_st_u32(rec + DDK_PF_V_QUANT, quant);
  for (uint32_t k = 0; k < t->rank; ++k) {
    ddk_pf_st_i64(rec + DDK_PF_V_SIZES + 8 * k, t->sizes[k]);
    rec[DDK_PF_V_DIM_ORDER + k] = t->dim_order[k];
  }
  if (v->flags & DDK_VALUE_CONSTANT) {
    /* The verifier checked the size fits and capacity (if set) holds it. */
    uint64_t bytes = ddk_dtype_size(t->dtype);
    for (uint32_t k = 0; k < t->rank; ++k) bytes *= (uint64_t)t->sizes[k];
    ddk_pf_st_u64(rec + DDK_PF_V_DATA_OFFSET,
                  put_data(e, DDK_PF_CONSTANTS, t->data, bytes));
    ddk_pf_st_u64(rec + DDK_PF_V_DATA_SIZE, bytes);
  }
  put(e, DDK_PF_VALUES, rec, sizeof rec);
}

static void emit_arg(emitter* e, const ddk_arg* a) {
  uint8_t rec[DDK_PF_ARG_SIZE];
  memset(rec, 0, sizeof rec);
  rec[DDK_PF_A_KIND] = (uint8_t)a->kind;
  uint64_t payload = 0;
  switch (a->kind) {
    case DDK_ARG_TENSOR: payload = a->u.tensor; break;
    case DDK_ARG_TENSOR_LIST:
      payload = put_pool(e, DDK_PF_INDEX_POOL, a->u.tensors, a->count);
      break;
    case DDK_ARG_INT_LIST:
      payload = put_pool(e, DDK_PF_INT_POOL, a->u.ints, a->count);
      break;
    case DDK_ARG_FLOAT_LIST:
      payload = put_pool(e, DDK_PF_FLOAT_POOL, a->u.floats, a->count);
      break;
    case DDK_ARG_BOOL_LIST:
      payload = put_pool(e, DDK_PF_BOOL_POOL, a->u.bools, a->count);
      break;
    case DDK_ARG_INT:
    case DDK_ARG_DTYPE: memcpy(&payload, &a->u.i, 8); break;
    case DDK_ARG_FLOAT: memcpy(&payload, &a->u.f, 8); break;
    case DDK_ARG_BOOL: payload = a->u.b ? 1 : 0; break;
    case DDK_ARG_STRING: payload = put_string(e, a->u.str); break;
    default: break;
  }
  ddk_pf_st_u32(rec + DDK_PF_A_COUNT, a->count);
  ddk_pf_st_u64(rec + DDK_PF_A_PAYLOAD, payload);
  put(e, DDK_PF_ARGS, rec, sizeof rec);
}

static void emit_program(emitter* e, const ddk_program* p) {
  memset(e->len, 0, sizeof e->len);
  memset(e->strings, 0, (size_t)e->strings_cap * sizeof(string_slot));
  e->num_quant = 0;
  put(e, DDK_PF_STRINGS, "", 1); /* "" at offset 0 */
  for (uint32_t i = 0; i < p->num_values; ++i) emit_value(e, &p->values[i]);
  for (uint32_t n = 0; n < p->num_nodes; ++n) {
    const ddk_node_view* node = &p->nodes[n];
    uint8_t rec[DDK_PF_NODE_SIZE];
    memset(rec, 0, sizeof rec);
    ddk_pf_st_u32(rec + DDK_PF_N_OP, node->op_id);
    ddk_pf_st_u32(rec + DDK_PF_N_DEBUG_NAME, put_string(e, node->debug_name));
    ddk_pf_st_u32(rec + DDK_PF_N_ARG_START,
                  (uint32_t)(e->len[DDK_PF_ARGS] / DDK_PF_ARG_SIZE));
    ddk_pf_st_u32(rec + DDK_PF_N_ARG_COUNT, node->num_args);
    for (uint32_t a = 0; a < node->num_args; ++a) emit_arg(e, &node->args[a]);
    ddk_pf_st_u32(rec + DDK_PF_N_OUT_START,
                  (uint32_t)put_pool(e, DDK_PF_INDEX_POOL, node->outputs,
                                     node->num_outputs));
    ddk_pf_st_u32(rec + DDK_PF_N_OUT_COUNT, node->num_outputs);
    put(e, DDK_PF_NODES, rec, sizeof rec);
  }
  uint8_t io[DDK_PF_IO_SIZE];
  ddk_pf_st_u32(io + DDK_PF_IO_NUM_INPUTS, p->num_inputs);
  ddk_pf_st_u32(io + DDK_PF_IO_NUM_OUTPUTS, p->num_outputs);
  ddk_pf_st_u32(io + DDK_PF_IO_IN_START,
                (uint32_t)put_pool(e, DDK_PF_INDEX_POOL, p->inputs,
                                   p->num_inputs));
  ddk_pf_st_u32(io + DDK_PF_IO_OUT_START,
                (uint32_t)put_pool(e, DDK_PF_INDEX_POOL, p->outputs,
                                   p->num_outputs));
  put(e, DDK_PF_IO, io, sizeof io);
  for (uint32_t d = 0; d < p->num_delegates; ++d) {
    const ddk_program_delegate* del = &p->delegates[d];
    uint8_t rec[DDK_PF_DELEGATE_SIZE];
    memset(rec, 0, sizeof rec);
    ddk_pf_st_u32(rec + DDK_PF_D_BACKEND, put_string(e, del->backend_id));
    ddk_pf_st_u32(rec + DDK_PF_D_COMPAT, put_string(e, del->compat));
    ddk_pf_st_u64(rec + DDK_PF_D_BLOB_OFFSET,
                  put_data(e, DDK_PF_BLOBS, del->blob, del->blob_size));
    ddk_pf_st_u64(rec + DDK_PF_D_BLOB_SIZE, del->blob_size);
    struct {
      uint32_t start_at, count_at, count;
      const uint32_t* list;
    } lists[] = {
        {DDK_PF_D_NODES_START, DDK_PF_D_NODES_COUNT, del->num_nodes, del->nodes},
        {DDK_PF_D_IN_START, DDK_PF_D_IN_COUNT, del->num_inputs, del->inputs},
        {DDK_PF_D_OUT_START, DDK_PF_D_OUT_COUNT, del->num_outputs, del->outputs},
    };
    for (size_t k = 0; k < 3; ++k) {
      ddk_pf_st_u32(rec + lists[k].start_at,
                    (uint32_t)put_pool(e, DDK_PF_INDEX_POOL, lists[k].list,
                                       lists[k].count));
      ddk_pf_st_u32(rec + lists[k].count_at, lists[k].count);
    }
    put(e, DDK_PF_DELEGATES, rec, sizeof rec);
  }
  for (uint32_t k = 0; k < p->num_instructions; ++k) {
    uint8_t rec[DDK_PF_INSTR_SIZE];
    ddk_pf_st_u32(rec + DDK_PF_I_KIND, p->instructions[k].kind);
    ddk_pf_st_u32(rec + DDK_PF_I_INDEX, p->instructions[k].index);
    put(e, DDK_PF_PLAN, rec, sizeof rec);
  }
}

/* Upper bound of the number of distinct strings of `p`. */
static uint64_t max_strings(const ddk_program* p) {
  uint64_t n = 1 + (uint64_t)p->num_values + p->num_nodes +
               2 * (uint64_t)p->num_delegates;
  for (uint32_t k = 0; k < p->num_nodes; ++k) n += p->nodes[k].num_args;
  return n;
}

/* Refuses a program whose pools would exceed what readers accept. */
static ddk_status check_limits(const emitter* e, char* err, size_t err_cap) {
  static const struct {
    uint32_t id, elem;
  } pools[] = {{DDK_PF_ARGS, DDK_PF_ARG_SIZE}, {DDK_PF_INT_POOL, 8},
               {DDK_PF_INDEX_POOL, 4},         {DDK_PF_FLOAT_POOL, 8},
               {DDK_PF_QUANT, DDK_PF_QUANT_SIZE}, {DDK_PF_BOOL_POOL, 1}};
  for (size_t k = 0; k < sizeof pools / sizeof pools[0]; ++k)
    if (e->len[pools[k].id] / pools[k].elem > DDK_PF_MAX_COUNT) {
      snprintf(err, err != NULL ? err_cap : 0,
               "ddk_program_serialize: %s would hold %llu entries, more than "
               "the format's limit %u", ddk_pf_section_name(pools[k].id),
               (unsigned long long)(e->len[pools[k].id] / pools[k].elem),
               DDK_PF_MAX_COUNT);
      return DDK_RESOURCE_EXHAUSTED;
    }
  if (e->len[DDK_PF_STRINGS] >= DDK_PF_NO_STRING) {
    ddk_set_error(err, err_cap,
                  "ddk_program_serialize: strings exceed 4 GiB");
    return DDK_RESOURCE_EXHAUSTED;
  }
  return DDK_OK;
}

ddk_status ddk_program_serialize(const ddk_program* program,
                                 const ddk_allocator* allocator,
                                 void** out_data, size_t* out_size, char* err,
                                 size_t err_cap) {
  if (err != NULL && err_cap > 0) err[0] = '\0';
  if (program == NULL || out_data == NULL || out_size == NULL) {
    ddk_set_error(err, err_cap,
                  "ddk_program_serialize: program, out_data or out_size is NULL");
    return DDK_INVALID_ARGUMENT;
  }
  *out_data = NULL;
  *out_size = 0;
  if (allocator == NULL) allocator = ddk_allocator_system();
  ddk_status s = ddk_program_verify(program, allocator, err, err_cap);
  if (s != DDK_OK) return s;

  emitter e;
  memset(&e, 0, sizeof e);
  e.strings_cap = 16;
  uint64_t want = max_strings(program);
  while (e.strings_cap < 2 * want) e.strings_cap *= 2;
  size_t table_bytes = (size_t)e.strings_cap * sizeof(string_slot);
  e.strings = allocator->alloc(allocator->self, table_bytes, 16);
  if (e.strings == NULL) {
    ddk_set_error(err, err_cap, "ddk_program_serialize: out of memory");
    return DDK_OUT_OF_MEMORY;
  }
  emit_program(&e, program); /* sizing pass */
  uint8_t* buf = NULL;
  uint64_t file_size = 0;
  s = check_limits(&e, err, err_cap);
  if (s != DDK_OK) goto cleanup;

  /* Layout: header, section table, sections in k_order. */
  uint32_t num_sections = 0;
  for (size_t k = 0; k < NUM_ORDER; ++k)
    num_sections += always_present(k_order[k]) || e.len[k_order[k]] > 0;
  uint64_t offset[NUM_SECTION_IDS];
  uint64_t at = DDK_PF_HEADER_SIZE +
                (uint64_t)num_sections * DDK_PF_SECTION_ENTRY_SIZE;
  for (size_t k = 0; k < NUM_ORDER; ++k) {
    uint32_t id = k_order[k];
    if (!always_present(id) && e.len[id] == 0) continue;
    uint64_t align = (id == DDK_PF_CONSTANTS || id == DDK_PF_BLOBS)
                         ? DDK_PF_DATA_ALIGN
                         : DDK_PF_SECTION_ALIGN;
    at = (at + align - 1) / align * align;
    offset[id] = at;
    at += e.len[id];
  }
  file_size = at;
  if (file_size > SIZE_MAX) {
    ddk_set_error(err, err_cap, "ddk_program_serialize: program too large");
    s = DDK_OUT_OF_MEMORY;
    goto cleanup;
  }
  buf = allocator->alloc(allocator->self, (size_t)file_size, DDK_PF_DATA_ALIGN);
  if (buf == NULL) {
    ddk_set_error(err, err_cap, "ddk_program_serialize: out of memory");
    s = DDK_OUT_OF_MEMORY;
    goto cleanup;
  }
  memset(buf, 0, (size_t)file_size);
  memcpy(buf + DDK_PF_H_MAGIC, DDK_PF_MAGIC, DDK_PF_MAGIC_SIZE);
  ddk_pf_st_u16(buf + DDK_PF_H_MAJOR, DDK_PROGRAM_FORMAT_MAJOR);
  ddk_pf_st_u16(buf + DDK_PF_H_MINOR, DDK_PROGRAM_FORMAT_MINOR);
  ddk_pf_st_u32(buf + DDK_PF_H_HEADER_SIZE, DDK_PF_HEADER_SIZE);
  ddk_pf_st_u64(buf + DDK_PF_H_FILE_SIZE, file_size);
  ddk_pf_st_u32(buf + DDK_PF_H_NUM_SECTIONS, num_sections);
  ddk_pf_st_u64(buf + DDK_PF_H_TABLE_OFFSET, DDK_PF_HEADER_SIZE);
  uint8_t* entry = buf + DDK_PF_HEADER_SIZE;
  uint64_t sizes[NUM_SECTION_IDS];
  memcpy(sizes, e.len, sizeof sizes);
  for (size_t k = 0; k < NUM_ORDER; ++k) {
    uint32_t id = k_order[k];
    if (!always_present(id) && e.len[id] == 0) continue;
    ddk_pf_st_u32(entry + DDK_PF_S_ID, id);
    ddk_pf_st_u64(entry + DDK_PF_S_OFFSET, offset[id]);
    ddk_pf_st_u64(entry + DDK_PF_S_SIZE, e.len[id]);
    entry += DDK_PF_SECTION_ENTRY_SIZE;
    e.out[id] = buf + offset[id];
  }
  emit_program(&e, program); /* writing pass */
  if (memcmp(sizes, e.len, sizeof sizes) != 0) { /* cannot happen */
    ddk_set_error(err, err_cap, "ddk_program_serialize: passes disagree");
    s = DDK_INTERNAL;
    goto cleanup;
  }
  *out_data = buf;
  *out_size = (size_t)file_size;
  buf = NULL;

cleanup:
  if (buf != NULL) allocator->free(allocator->self, buf, (size_t)file_size);
  allocator->free(allocator->self, e.strings, table_bytes);
  return s;
}

ddk_status ddk_program_write_file(const ddk_program* program, const char* path,
                                  const ddk_allocator* allocator, char* err,
                                  size_t err_cap) {
  if (path == NULL) {
    ddk_set_error(err, err_cap, "ddk_program_write_file: path is NULL");
    return DDK_INVALID_ARGUMENT;
  }
  if (allocator == NULL) allocator = ddk_allocator_system();
  void* data = NULL;
  size_t size = 0;
  ddk_status s =
      ddk_program_serialize(program, allocator, &data, &size, err, err_cap);
  if (s != DDK_OK) return s;
  FILE* f = fopen(path, "wb");
  if (f == NULL) {
    snprintf(err, err != NULL ? err_cap : 0, "cannot create '%s'", path);
    s = DDK_IO_ERROR;
  } else {
    bool ok = fwrite(data, 1, size, f) == size;
    ok = (fclose(f) == 0) && ok;
    if (!ok) {
      snprintf(err, err != NULL ? err_cap : 0, "cannot write '%s'", path);
      s = DDK_IO_ERROR;
    }
  }
  allocator->free(allocator->self, data, size);
  return s;
}
