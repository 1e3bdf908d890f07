/*
 * program_reader.c — loads a program file: header, section table, records.
 *
 * Decoding checks what decoding itself needs — the header, the sections'
 * bounds, alignment and overlap, every record's size, every string
 * reference, every range into a pool, constant and blob byte ranges,
 * reserved fields — and builds the in-memory ddk_program in ONE
 * allocation. Then ddk_program_verify (program_verify.c) checks the
 * program's meaning. Nothing is read from the file that was not
 * bounds-checked first; every allocation is sized from counts that were
 * checked against the file's size and DDK_PF_MAX_COUNT.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ddk/ops.h"
#include "ddk/program.h"
#include "program_format.h"
#include "program_verify.h"

/* What internal_ points at; lives at the start of the one allocation. */
typedef struct program_storage {
  ddk_program program;
  ddk_allocator allocator;
  size_t block_size;  /* the one allocation (this struct + arrays) */
  void* owned_bytes;  /* copied file bytes (freed with the allocator) */
  size_t owned_size;
  void* map;          /* memory-mapped file (munmap) */
  size_t map_size;
} program_storage;

#define NUM_SECTION_IDS 66 /* ids are < 66 */

typedef struct section {
  bool present;
  uint32_t entry; /* index in the section table */
  const uint8_t* data;
  uint64_t size;
} section;

typedef struct reader {
  const uint8_t* bytes;
  uint64_t size;
  bool strict; /* the file's minor <= ours: reserved fields must be zero */
  section sec[NUM_SECTION_IDS];
  /* Record and pool entry counts. */
  uint32_t n_values, n_nodes, n_args, n_delegates, n_instr, n_quant;
  uint32_t n_ints, n_index, n_floats, n_bools;
  /* Entries not yet referenced (see "ranges are not shared" in the spec). */
  uint64_t left_args, left_ints, left_index, left_floats, left_bools;
  /* Decoded pools (inside the one allocation). */
  int64_t* ints;
  uint32_t* index;
  double* floats;
  uint8_t* bools;
  char* err;
  size_t err_cap;
} reader;

#define FAIL(...) ddk_program_fail(r->err, r->err_cap, __VA_ARGS__)

/* ------------------------------------------------------------------------ */
/* Header and section table                                                 */
/* ------------------------------------------------------------------------ */

static ddk_status check_reserved(reader* r, const uint8_t* p, size_t n,
                                 const char* where) {
  if (!r->strict) return DDK_OK;
  for (size_t i = 0; i < n; ++i)
    if (p[i] != 0)
      return FAIL("%s: reserved byte %zu is 0x%02x (must be zero)", where, i,
                  p[i]);
  return DDK_OK;
}

static ddk_status read_header(reader* r, uint32_t* num_sections,
                              uint64_t* table_offset, uint32_t* header_size) {
  const uint8_t* h = r->bytes;
  if (r->size < DDK_PF_HEADER_SIZE)
    return FAIL("file: %llu bytes, shorter than the %u-byte header",
                (unsigned long long)r->size, DDK_PF_HEADER_SIZE);
  if (memcmp(h, DDK_PF_MAGIC, DDK_PF_MAGIC_SIZE) != 0)
    return FAIL("header.magic: %02x %02x %02x %02x %02x %02x %02x %02x is not "
                "\"DDKPROG\\0\": not a DDK program file", h[0], h[1], h[2],
                h[3], h[4], h[5], h[6], h[7]);
  uint16_t major = ddk_pf_ld_u16(h + DDK_PF_H_MAJOR);
  uint16_t minor = ddk_pf_ld_u16(h + DDK_PF_H_MINOR);
  if (major > DDK_PROGRAM_FORMAT_MAJOR)
    return FAIL("header.format_major: the file has format %u.%u, newer than "
                "this reader's %u.%u; upgrade the DDK runtime to load it",
                major, minor, DDK_PROGRAM_FORMAT_MAJOR,
                DDK_PROGRAM_FORMAT_MINOR);
  if (major != DDK_PROGRAM_FORMAT_MAJOR)
    return FAIL("header.format_major: format %u.%u is not supported (this "
                "reader reads %u.x)", major, minor, DDK_PROGRAM_FORMAT_MAJOR);
  r->strict = minor <= DDK_PROGRAM_FORMAT_MINOR;
  *header_size = ddk_pf_ld_u32(h + DDK_PF_H_HEADER_SIZE);
  if (*header_size < DDK_PF_HEADER_SIZE || *header_size % 8 != 0 ||
      *header_size > r->size || (r->strict && *header_size != DDK_PF_HEADER_SIZE))
    return FAIL("header.header_size: %u (must be %u%s, within the file)",
                *header_size, DDK_PF_HEADER_SIZE,
                r->strict ? "" : " or more, a multiple of 8");
  uint64_t file_size = ddk_pf_ld_u64(h + DDK_PF_H_FILE_SIZE);
  if (file_size != r->size)
    return FAIL("header.file_size: %llu, but the file has %llu bytes (%s)",
                (unsigned long long)file_size, (unsigned long long)r->size,
                file_size > r->size ? "truncated" : "trailing bytes");
  *num_sections = ddk_pf_ld_u32(h + DDK_PF_H_NUM_SECTIONS);
  if (*num_sections > DDK_PF_MAX_SECTIONS)
    return FAIL("header.num_sections: %u exceeds the limit %u", *num_sections,
                DDK_PF_MAX_SECTIONS);
  uint32_t flags = ddk_pf_ld_u32(h + DDK_PF_H_FLAGS);
  if (flags != 0)
    return FAIL("header.flags: 0x%x asks for features this reader (format "
                "%u.%u) does not have", flags, DDK_PROGRAM_FORMAT_MAJOR,
                DDK_PROGRAM_FORMAT_MINOR);
  *table_offset = ddk_pf_ld_u64(h + DDK_PF_H_TABLE_OFFSET);
  uint64_t table_size = (uint64_t)*num_sections * DDK_PF_SECTION_ENTRY_SIZE;
  if (*table_offset % 8 != 0 || *table_offset < *header_size ||
      *table_offset > r->size || table_size > r->size - *table_offset)
    return FAIL("header.section_table_offset: %llu (must be a multiple of 8, "
                "after the header, with the %u-entry table inside the %llu-byte "
                "file)", (unsigned long long)*table_offset, *num_sections,
                (unsigned long long)r->size);
  return check_reserved(r, h + DDK_PF_H_RESERVED,
                        DDK_PF_HEADER_SIZE - DDK_PF_H_RESERVED, "header");
}

static void entry_name(char* buf, size_t cap, uint32_t i, uint32_t id) {
  const char* name = ddk_pf_section_name(id);
  if (name != NULL)
    snprintf(buf, cap, "sections[%u] (%s)", i, name);
  else
    snprintf(buf, cap, "sections[%u] (id %u)", i, id);
}

static ddk_status read_sections(reader* r, uint32_t num_sections,
                                uint64_t table_offset, uint32_t header_size) {
  uint64_t start[DDK_PF_MAX_SECTIONS], end[DDK_PF_MAX_SECTIONS];
  uint32_t ids[DDK_PF_MAX_SECTIONS];
  const uint64_t table_end =
      table_offset + (uint64_t)num_sections * DDK_PF_SECTION_ENTRY_SIZE;
  char where[64];
  for (uint32_t i = 0; i < num_sections; ++i) {
    const uint8_t* e = r->bytes + table_offset + i * DDK_PF_SECTION_ENTRY_SIZE;
    uint32_t id = ddk_pf_ld_u32(e + DDK_PF_S_ID);
    uint32_t flags = ddk_pf_ld_u32(e + DDK_PF_S_FLAGS);
    uint64_t offset = ddk_pf_ld_u64(e + DDK_PF_S_OFFSET);
    uint64_t size = ddk_pf_ld_u64(e + DDK_PF_S_SIZE);
    const char* name = ddk_pf_section_name(id);
    entry_name(where, sizeof where, i, id);
    if (name == NULL && (flags & DDK_PF_SECTION_REQUIRED))
      return FAIL("%s: unknown section marked REQUIRED; this reader (format "
                  "%u.%u) cannot load the file", where,
                  DDK_PROGRAM_FORMAT_MAJOR, DDK_PROGRAM_FORMAT_MINOR);
    if (r->strict && (flags & ~DDK_PF_SECTION_REQUIRED) != 0)
      return FAIL("%s.flags: 0x%x has unknown bits", where, flags);
    uint64_t align = (id == DDK_PF_CONSTANTS || id == DDK_PF_BLOBS)
                         ? DDK_PF_DATA_ALIGN
                         : DDK_PF_SECTION_ALIGN;
    if (offset % align != 0)
      return FAIL("%s.offset: %llu is not a multiple of %llu", where,
                  (unsigned long long)offset, (unsigned long long)align);
    if (offset > r->size || size > r->size - offset)
      return FAIL("%s: bytes [%llu, +%llu) extend past the end of the file "
                  "(%llu bytes)", where, (unsigned long long)offset,
                  (unsigned long long)size, (unsigned long long)r->size);
    if (size > 0 && offset < header_size)
      return FAIL("%s: overlaps the header", where);
    if (size > 0 && offset < table_end && offset + size > table_offset)
      return FAIL("%s: overlaps the section table", where);
    for (uint32_t j = 0; j < i; ++j) {
      if (ids[j] == id)
        return FAIL("%s: section id %u appears twice (also sections[%u])",
                    where, id, j);
      if (size > 0 && start[j] < end[j] && offset < end[j] &&
          start[j] < offset + size) {
        char other[64];
        entry_name(other, sizeof other, j, ids[j]);
        return FAIL("%s: bytes [%llu, %llu) overlap %s", where,
                    (unsigned long long)offset,
                    (unsigned long long)(offset + size), other);
      }
    }
    ids[i] = id;
    start[i] = offset;
    end[i] = offset + size;
    if (name != NULL) {
      section* s = &r->sec[id];
      s->present = true;
      s->entry = i;
      s->data = r->bytes + offset;
      s->size = size;
    }
  }
  static const uint32_t required[] = {DDK_PF_STRINGS, DDK_PF_VALUES,
                                      DDK_PF_NODES, DDK_PF_IO, DDK_PF_PLAN};
  for (size_t k = 0; k < sizeof required / sizeof required[0]; ++k)
    if (!r->sec[required[k]].present)
      return FAIL("file: the required section %s is missing",
                  ddk_pf_section_name(required[k]));
  return DDK_OK;
}

/* Number of `elem`-byte entries of section `id` into *out. */
static ddk_status count_records(reader* r, uint32_t id, uint32_t elem,
                                uint32_t* out) {
  const section* s = &r->sec[id];
  if (s->size % elem != 0)
    return FAIL("%s: size %llu is not a multiple of its %u-byte entries",
                ddk_pf_section_name(id), (unsigned long long)s->size, elem);
  if (s->size / elem > DDK_PF_MAX_COUNT)
    return FAIL("%s: %llu entries exceed the limit %u", ddk_pf_section_name(id),
                (unsigned long long)(s->size / elem), DDK_PF_MAX_COUNT);
  *out = (uint32_t)(s->size / elem);
  return DDK_OK;
}

/* Strict UTF-8 (no overlongs, surrogates or code points past U+10FFFF). */
static uint64_t utf8_error_at(const uint8_t* s, uint64_t n) {
  uint64_t i = 0;
  while (i < n) {
    uint8_t c = s[i];
    uint32_t len, cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      len = 2, cp = c & 0x1Fu;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3, cp = c & 0x0Fu;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4, cp = c & 0x07u;
    } else {
      return i;
    }
    if (n - i < len) return i;
    for (uint32_t k = 1; k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (s[i + k] & 0x3Fu);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
      return i;
    i += len;
  }
  return UINT64_MAX;
}

static ddk_status check_sections(reader* r) {
  ddk_status s;
  if ((s = count_records(r, DDK_PF_VALUES, DDK_PF_VALUE_SIZE, &r->n_values)) ||
      (s = count_records(r, DDK_PF_NODES, DDK_PF_NODE_SIZE, &r->n_nodes)) ||
      (s = count_records(r, DDK_PF_ARGS, DDK_PF_ARG_SIZE, &r->n_args)) ||
      (s = count_records(r, DDK_PF_INT_POOL, 8, &r->n_ints)) ||
      (s = count_records(r, DDK_PF_INDEX_POOL, 4, &r->n_index)) ||
      (s = count_records(r, DDK_PF_FLOAT_POOL, 8, &r->n_floats)) ||
      (s = count_records(r, DDK_PF_DELEGATES, DDK_PF_DELEGATE_SIZE,
                         &r->n_delegates)) ||
      (s = count_records(r, DDK_PF_PLAN, DDK_PF_INSTR_SIZE, &r->n_instr)) ||
      (s = count_records(r, DDK_PF_QUANT, DDK_PF_QUANT_SIZE, &r->n_quant)) ||
      (s = count_records(r, DDK_PF_BOOL_POOL, 1, &r->n_bools)))
    return s;
  if (r->sec[DDK_PF_IO].size != DDK_PF_IO_SIZE)
    return FAIL("IO: size %llu, must be exactly %u",
                (unsigned long long)r->sec[DDK_PF_IO].size, DDK_PF_IO_SIZE);
  const section* str = &r->sec[DDK_PF_STRINGS];
  if (str->size >= DDK_PF_NO_STRING)
    return FAIL("STRINGS: %llu bytes, more than string references can address",
                (unsigned long long)str->size);
  if (str->size > 0 && str->data[str->size - 1] != 0)
    return FAIL("STRINGS: the last byte must be NUL (every string is "
                "NUL-terminated)");
  uint64_t bad = utf8_error_at(str->data, str->size);
  if (bad != UINT64_MAX)
    return FAIL("STRINGS: invalid UTF-8 at byte %llu", (unsigned long long)bad);
  const uint8_t* b = r->sec[DDK_PF_BOOL_POOL].data;
  for (uint32_t i = 0; i < r->n_bools; ++i)
    if (b[i] > 1) return FAIL("BOOL_POOL[%u]: %u is not 0 or 1", i, b[i]);
  r->left_args = r->n_args;
  r->left_ints = r->n_ints;
  r->left_index = r->n_index;
  r->left_floats = r->n_floats;
  r->left_bools = r->n_bools;
  return DDK_OK;
}

/* ------------------------------------------------------------------------ */
/* Field helpers                                                            */
/* ------------------------------------------------------------------------ */

/* String `ref` for field `where`; NO_STRING gives "" when allow_none. */
static ddk_status read_string(reader* r, uint32_t ref, bool allow_none,
                              const char** out, const char* where) {
  const section* s = &r->sec[DDK_PF_STRINGS];
  if (ref == DDK_PF_NO_STRING) {
    if (!allow_none) return FAIL("%s: string is missing (ref 0xFFFFFFFF)", where);
    *out = "";
    return DDK_OK;
  }
  if (ref >= s->size)
    return FAIL("%s: string ref %u is outside STRINGS (%llu bytes)", where, ref,
                (unsigned long long)s->size);
  if ((s->data[ref] & 0xC0) == 0x80)
    return FAIL("%s: string ref %u points inside a UTF-8 character", where,
                ref);
  *out = (const char*)s->data + ref; /* NUL-terminated: STRINGS ends in NUL */
  return DDK_OK;
}

/* A range [start, start+count) into a pool of `pool_count` entries, whose
 * unreferenced entries are *left. */
static ddk_status take_range(reader* r, uint64_t start, uint64_t count,
                             uint32_t pool_id, uint64_t pool_count,
                             uint64_t* left, const char* where) {
  const char* pool = ddk_pf_section_name(pool_id);
  if (start > pool_count || count > pool_count - start)
    return FAIL("%s: range [%llu, +%llu) is outside %s (%llu entries)", where,
                (unsigned long long)start, (unsigned long long)count, pool,
                (unsigned long long)pool_count);
  if (count > *left)
    return FAIL("%s: the ranges into %s add up to more than its %llu entries "
                "(entries may not be shared)", where, pool,
                (unsigned long long)pool_count);
  *left -= count;
  return DDK_OK;
}

/* ------------------------------------------------------------------------ */
/* Records                                                                  */
/* ------------------------------------------------------------------------ */

static ddk_status read_quant(reader* r, uint32_t q, ddk_quant_params* out) {
  const uint8_t* rec = r->sec[DDK_PF_QUANT].data + (size_t)q * DDK_PF_QUANT_SIZE;
  char where[48];
  snprintf(where, sizeof where, "QUANT[%u]", q);
  uint32_t n = ddk_pf_ld_u32(rec + DDK_PF_Q_NUM_CHANNELS);
  uint32_t scales = ddk_pf_ld_u32(rec + DDK_PF_Q_SCALES_START);
  uint32_t zps = ddk_pf_ld_u32(rec + DDK_PF_Q_ZP_START);
  if (scales > r->n_floats || n > r->n_floats - scales)
    return FAIL("%s.scales_start: [%u, +%u) is outside FLOAT_POOL (%u entries)",
                where, scales, n, r->n_floats);
  if (zps > r->n_ints || n > r->n_ints - zps)
    return FAIL("%s.zp_start: [%u, +%u) is outside INT_POOL (%u entries)",
                where, zps, n, r->n_ints);
  ddk_status s = check_reserved(r, rec + DDK_PF_Q_RESERVED, 4, where);
  if (s != DDK_OK) return s;
  *out = (ddk_quant_params){
      .header = DDK_STRUCT_HEADER_INIT(ddk_quant_params),
      .scheme = ddk_pf_ld_i32(rec + DDK_PF_Q_SCHEME),
      .axis = ddk_pf_ld_i32(rec + DDK_PF_Q_AXIS),
      .num_channels = n,
      .scales = r->floats + scales,
      .zero_points = r->ints + zps,
      .quant_min = ddk_pf_ld_i64(rec + DDK_PF_Q_QUANT_MIN),
      .quant_max = ddk_pf_ld_i64(rec + DDK_PF_Q_QUANT_MAX),
  };
  return DDK_OK;
}

static ddk_status read_value(reader* r, uint32_t i, ddk_value_desc* out,
                             const ddk_quant_params* quants) {
  const uint8_t* rec = r->sec[DDK_PF_VALUES].data + (size_t)i * DDK_PF_VALUE_SIZE;
  char where[48];
  snprintf(where, sizeof where, "VALUES[%u].name", i);
  memset(out, 0, sizeof *out);
  out->header = (ddk_struct_header)DDK_STRUCT_HEADER_INIT(ddk_value_desc);
  ddk_tensor* t = &out->tensor;
  t->header = (ddk_struct_header)DDK_STRUCT_HEADER_INIT(ddk_tensor);
  ddk_status s = read_string(r, ddk_pf_ld_u32(rec + DDK_PF_V_NAME), true,
                             &out->name, where);
  if (s != DDK_OK) return s;
  snprintf(where, sizeof where, "VALUES[%u]", i);
  if ((s = check_reserved(r, rec + DDK_PF_V_RESERVED0, 2, where)) ||
      (s = check_reserved(r, rec + DDK_PF_V_RESERVED1, 4, where)) ||
      (s = check_reserved(r, rec + DDK_PF_V_RESERVED2, 16, where)))
    return s;
  t->dtype = ddk_pf_ld_i32(rec + DDK_PF_V_DTYPE);
  t->rank = rec[DDK_PF_V_RANK];
  out->flags = rec[DDK_PF_V_FLAGS];
  out->dynamic_mask = ddk_pf_ld_u32(rec + DDK_PF_V_DYNAMIC_MASK);
  bool perm = t->rank <= DDK_MAX_RANK;
  uint32_t seen = 0;
  for (uint32_t k = 0; k < DDK_MAX_RANK; ++k) {
    int64_t size = ddk_pf_ld_i64(rec + DDK_PF_V_SIZES + 8 * k);
    uint8_t dim = rec[DDK_PF_V_DIM_ORDER + k];
    if (k < t->rank) {
      t->sizes[k] = size;
      t->dim_order[k] = dim;
      perm = perm && dim < t->rank && !(seen >> dim & 1);
      seen |= 1u << (dim & 31);
    } else if (r->strict && (size != 0 || dim != 0)) {
      return FAIL("VALUES[%u]: sizes[%u] / dim_order[%u] beyond rank %u must "
                  "be zero", i, k, k, t->rank);
    }
  }
  /* Strides only for a shape the verifier can accept; it reports the rest. */
  if (perm) ddk_program_dense_strides(t);
  uint32_t q = ddk_pf_ld_u32(rec + DDK_PF_V_QUANT);
  if (q != DDK_PF_NO_QUANT) {
    if (q >= r->n_quant)
      return FAIL("VALUES[%u].quant_index: %u out of range (%u QUANT records)",
                  i, q, r->n_quant);
    snprintf(where, sizeof where, "VALUES[%u].quant_index", i);
    uint64_t n = quants[q].num_channels;
    if ((s = take_range(r, 0, n, DDK_PF_FLOAT_POOL, r->n_floats,
                        &r->left_floats, where)) ||
        (s = take_range(r, 0, n, DDK_PF_INT_POOL, r->n_ints, &r->left_ints,
                        where)))
      return s;
    t->quant = &quants[q];
  }
  uint64_t offset = ddk_pf_ld_u64(rec + DDK_PF_V_DATA_OFFSET);
  uint64_t size = ddk_pf_ld_u64(rec + DDK_PF_V_DATA_SIZE);
  if (out->flags & DDK_VALUE_CONSTANT) {
    const section* c = &r->sec[DDK_PF_CONSTANTS];
    if (offset % DDK_PF_DATA_ALIGN != 0)
      return FAIL("VALUES[%u].data_offset: %llu is not a multiple of %u", i,
                  (unsigned long long)offset, DDK_PF_DATA_ALIGN);
    if (offset > c->size || size > c->size - offset)
      return FAIL("VALUES[%u]: data [%llu, +%llu) is outside CONSTANTS (%llu "
                  "bytes)", i, (unsigned long long)offset,
                  (unsigned long long)size, (unsigned long long)c->size);
    t->data = c->present ? (void*)(uintptr_t)(c->data + offset) : NULL;
    t->capacity = (size_t)size;
  } else if (offset != 0 || size != 0) {
    return FAIL("VALUES[%u]: data_offset/data_size must be 0 for a value that "
                "is not a constant", i);
  }
  return DDK_OK;
}

static ddk_status read_arg(reader* r, uint32_t n, uint32_t a, uint32_t rec_index,
                           ddk_arg* out) {
  const uint8_t* rec = r->sec[DDK_PF_ARGS].data + (size_t)rec_index * DDK_PF_ARG_SIZE;
  char where[48];
  snprintf(where, sizeof where, "NODES[%u].args[%u]", n, a);
  ddk_status s = check_reserved(r, rec + DDK_PF_A_RESERVED, 3, where);
  if (s != DDK_OK) return s;
  uint32_t kind = rec[DDK_PF_A_KIND];
  uint32_t count = ddk_pf_ld_u32(rec + DDK_PF_A_COUNT);
  uint64_t payload = ddk_pf_ld_u64(rec + DDK_PF_A_PAYLOAD);
  memset(out, 0, sizeof *out);
  out->kind = kind;
  out->count = count;
  bool list = kind == DDK_ARG_TENSOR_LIST || kind == DDK_ARG_INT_LIST ||
              kind == DDK_ARG_FLOAT_LIST || kind == DDK_ARG_BOOL_LIST;
  if (kind >= DDK_ARG_KIND_COUNT_)
    return FAIL("%s.kind: %u is not a valid arg kind", where, kind);
  if (!list && count != 0)
    return FAIL("%s.count: %u on a %s arg (must be 0)", where, count,
                ddk_arg_kind_name(kind));
  switch (kind) {
    case DDK_ARG_NONE:
      if (payload != 0) return FAIL("%s.payload: must be 0 for NONE", where);
      break;
    case DDK_ARG_TENSOR:
      if (payload > UINT32_MAX)
        return FAIL("%s.payload: value index %llu out of range", where,
                    (unsigned long long)payload);
      out->u.tensor = (uint32_t)payload;
      break;
    case DDK_ARG_TENSOR_LIST:
      s = take_range(r, payload, count, DDK_PF_INDEX_POOL, r->n_index,
                     &r->left_index, where);
      out->u.tensors = r->index + (s == DDK_OK ? payload : 0);
      break;
    case DDK_ARG_INT_LIST:
      s = take_range(r, payload, count, DDK_PF_INT_POOL, r->n_ints,
                     &r->left_ints, where);
      out->u.ints = r->ints + (s == DDK_OK ? payload : 0);
      break;
    case DDK_ARG_FLOAT_LIST:
      s = take_range(r, payload, count, DDK_PF_FLOAT_POOL, r->n_floats,
                     &r->left_floats, where);
      out->u.floats = r->floats + (s == DDK_OK ? payload : 0);
      break;
    case DDK_ARG_BOOL_LIST:
      s = take_range(r, payload, count, DDK_PF_BOOL_POOL, r->n_bools,
                     &r->left_bools, where);
      out->u.bools = r->bools + (s == DDK_OK ? payload : 0);
      break;
    case DDK_ARG_INT:
    case DDK_ARG_DTYPE:
      out->u.i = ddk_pf_ld_i64(rec + DDK_PF_A_PAYLOAD);
      break;
    case DDK_ARG_FLOAT:
      out->u.f = ddk_pf_ld_f64(rec + DDK_PF_A_PAYLOAD);
      break;
    case DDK_ARG_BOOL:
      if (payload > 1)
        return FAIL("%s.payload: bool %llu is not 0 or 1", where,
                    (unsigned long long)payload);
      out->u.b = payload == 1;
      break;
    case DDK_ARG_STRING:
      if (payload >= DDK_PF_NO_STRING)
        return FAIL("%s.payload: string ref %llu is outside STRINGS", where,
                    (unsigned long long)payload);
      s = read_string(r, (uint32_t)payload, false, &out->u.str, where);
      break;
    default:
      break;
  }
  return s;
}

static ddk_status read_node(reader* r, uint32_t n, ddk_node_view* out,
                            ddk_arg* args) {
  const uint8_t* rec = r->sec[DDK_PF_NODES].data + (size_t)n * DDK_PF_NODE_SIZE;
  char where[48];
  snprintf(where, sizeof where, "NODES[%u]", n);
  ddk_status s = check_reserved(r, rec + DDK_PF_N_RESERVED, 8, where);
  if (s != DDK_OK) return s;
  uint32_t op_id = ddk_pf_ld_u32(rec + DDK_PF_N_OP);
  const ddk_op_info* op = ddk_op_get(op_id);
  if (op == NULL)
    return FAIL("NODES[%u].op_id: %u is not in the op table (%u ops)", n, op_id,
                ddk_op_count());
  uint32_t arg_start = ddk_pf_ld_u32(rec + DDK_PF_N_ARG_START);
  uint32_t arg_count = ddk_pf_ld_u32(rec + DDK_PF_N_ARG_COUNT);
  uint32_t out_start = ddk_pf_ld_u32(rec + DDK_PF_N_OUT_START);
  uint32_t out_count = ddk_pf_ld_u32(rec + DDK_PF_N_OUT_COUNT);
  *out = (ddk_node_view){
      .header = DDK_STRUCT_HEADER_INIT(ddk_node_view),
      .op_id = op_id,
      .op_name = op->name,
      .node_index = n,
      .num_args = arg_count,
      .num_outputs = out_count,
  };
  char field[48];
  snprintf(field, sizeof field, "NODES[%u].debug_name", n);
  if ((s = read_string(r, ddk_pf_ld_u32(rec + DDK_PF_N_DEBUG_NAME), true,
                       &out->debug_name, field)))
    return s;
  snprintf(field, sizeof field, "NODES[%u].args", n);
  if ((s = take_range(r, arg_start, arg_count, DDK_PF_ARGS, r->n_args,
                      &r->left_args, field)))
    return s;
  snprintf(field, sizeof field, "NODES[%u].outputs", n);
  if ((s = take_range(r, out_start, out_count, DDK_PF_INDEX_POOL, r->n_index,
                      &r->left_index, field)))
    return s;
  out->args = args + arg_start;
  out->outputs = r->index + out_start;
  for (uint32_t a = 0; a < arg_count; ++a)
    if ((s = read_arg(r, n, a, arg_start + a, &args[arg_start + a])))
      return s;
  return DDK_OK;
}

/* A u32 list [start, +count) of INDEX_POOL named by `where`. */
static ddk_status read_list(reader* r, const uint8_t* start_field,
                            const uint8_t* count_field, const uint32_t** list,
                            uint32_t* count, const char* where) {
  uint32_t start = ddk_pf_ld_u32(start_field);
  *count = ddk_pf_ld_u32(count_field);
  ddk_status s = take_range(r, start, *count, DDK_PF_INDEX_POOL, r->n_index,
                            &r->left_index, where);
  *list = r->index + (s == DDK_OK ? start : 0);
  return s;
}

static ddk_status read_delegate(reader* r, uint32_t d,
                                ddk_program_delegate* out) {
  const uint8_t* rec =
      r->sec[DDK_PF_DELEGATES].data + (size_t)d * DDK_PF_DELEGATE_SIZE;
  char where[48];
  memset(out, 0, sizeof *out);
  snprintf(where, sizeof where, "DELEGATES[%u]", d);
  ddk_status s = check_reserved(r, rec + DDK_PF_D_RESERVED, 16, where);
  if (s != DDK_OK) return s;
  snprintf(where, sizeof where, "DELEGATES[%u].backend_id", d);
  if ((s = read_string(r, ddk_pf_ld_u32(rec + DDK_PF_D_BACKEND), false,
                       &out->backend_id, where)))
    return s;
  snprintf(where, sizeof where, "DELEGATES[%u].compat", d);
  if ((s = read_string(r, ddk_pf_ld_u32(rec + DDK_PF_D_COMPAT), true,
                       &out->compat, where)))
    return s;
  const section* blobs = &r->sec[DDK_PF_BLOBS];
  uint64_t offset = ddk_pf_ld_u64(rec + DDK_PF_D_BLOB_OFFSET);
  uint64_t size = ddk_pf_ld_u64(rec + DDK_PF_D_BLOB_SIZE);
  if (offset % DDK_PF_DATA_ALIGN != 0)
    return FAIL("DELEGATES[%u].blob_offset: %llu is not a multiple of %u", d,
                (unsigned long long)offset, DDK_PF_DATA_ALIGN);
  if (offset > blobs->size || size > blobs->size - offset)
    return FAIL("DELEGATES[%u]: blob [%llu, +%llu) is outside BLOBS (%llu "
                "bytes)", d, (unsigned long long)offset,
                (unsigned long long)size, (unsigned long long)blobs->size);
  out->blob = blobs->present ? blobs->data + offset : NULL;
  out->blob_size = size;
  char w1[48], w2[48], w3[48];
  snprintf(w1, sizeof w1, "DELEGATES[%u].nodes", d);
  snprintf(w2, sizeof w2, "DELEGATES[%u].inputs", d);
  snprintf(w3, sizeof w3, "DELEGATES[%u].outputs", d);
  if ((s = read_list(r, rec + DDK_PF_D_NODES_START, rec + DDK_PF_D_NODES_COUNT,
                     &out->nodes, &out->num_nodes, w1)) ||
      (s = read_list(r, rec + DDK_PF_D_IN_START, rec + DDK_PF_D_IN_COUNT,
                     &out->inputs, &out->num_inputs, w2)) ||
      (s = read_list(r, rec + DDK_PF_D_OUT_START, rec + DDK_PF_D_OUT_COUNT,
                     &out->outputs, &out->num_outputs, w3)))
    return s;
  return DDK_OK;
}

/* ------------------------------------------------------------------------ */
/* The one allocation                                                       */
/* ------------------------------------------------------------------------ */

typedef struct layout {
  uint64_t values, nodes, args, delegates, instr, quant, ints, floats, index,
      bools, total;
} layout;

static uint64_t place(uint64_t* at, uint64_t count, uint64_t elem) {
  uint64_t offset = (*at + 15) & ~(uint64_t)15;
  *at = offset + count * elem; /* counts <= 2^24, elems small: no overflow */
  return offset;
}

static layout plan_layout(const reader* r) {
  layout l;
  uint64_t at = sizeof(program_storage);
  l.values = place(&at, r->n_values, sizeof(ddk_value_desc));
  l.nodes = place(&at, r->n_nodes, sizeof(ddk_node_view));
  l.args = place(&at, r->n_args, sizeof(ddk_arg));
  l.delegates = place(&at, r->n_delegates, sizeof(ddk_program_delegate));
  l.instr = place(&at, r->n_instr, sizeof(ddk_instruction));
  l.quant = place(&at, r->n_quant, sizeof(ddk_quant_params));
  l.ints = place(&at, r->n_ints, sizeof(int64_t));
  l.floats = place(&at, r->n_floats, sizeof(double));
  l.index = place(&at, r->n_index, sizeof(uint32_t));
  l.bools = place(&at, r->n_bools, 1);
  l.total = at;
  return l;
}

static ddk_status decode(reader* r, program_storage* st, const layout* l) {
  uint8_t* base = (uint8_t*)st;
  ddk_program* p = &st->program;
  ddk_value_desc* values = (ddk_value_desc*)(void*)(base + l->values);
  ddk_node_view* nodes = (ddk_node_view*)(void*)(base + l->nodes);
  ddk_arg* args = (ddk_arg*)(void*)(base + l->args);
  ddk_program_delegate* dels = (ddk_program_delegate*)(void*)(base + l->delegates);
  ddk_instruction* instr = (ddk_instruction*)(void*)(base + l->instr);
  ddk_quant_params* quants = (ddk_quant_params*)(void*)(base + l->quant);
  r->ints = (int64_t*)(void*)(base + l->ints);
  r->floats = (double*)(void*)(base + l->floats);
  r->index = (uint32_t*)(void*)(base + l->index);
  r->bools = base + l->bools;
  for (uint32_t i = 0; i < r->n_ints; ++i)
    r->ints[i] = ddk_pf_ld_i64(r->sec[DDK_PF_INT_POOL].data + 8 * (size_t)i);
  for (uint32_t i = 0; i < r->n_floats; ++i)
    r->floats[i] = ddk_pf_ld_f64(r->sec[DDK_PF_FLOAT_POOL].data + 8 * (size_t)i);
  for (uint32_t i = 0; i < r->n_index; ++i)
    r->index[i] = ddk_pf_ld_u32(r->sec[DDK_PF_INDEX_POOL].data + 4 * (size_t)i);
  if (r->n_bools > 0)
    memcpy(r->bools, r->sec[DDK_PF_BOOL_POOL].data, r->n_bools);

  ddk_status s;
  for (uint32_t q = 0; q < r->n_quant; ++q)
    if ((s = read_quant(r, q, &quants[q]))) return s;
  for (uint32_t i = 0; i < r->n_values; ++i)
    if ((s = read_value(r, i, &values[i], quants))) return s;
  for (uint32_t n = 0; n < r->n_nodes; ++n)
    if ((s = read_node(r, n, &nodes[n], args))) return s;
  const uint8_t* io = r->sec[DDK_PF_IO].data;
  if ((s = read_list(r, io + DDK_PF_IO_IN_START, io + DDK_PF_IO_NUM_INPUTS,
                     &p->inputs, &p->num_inputs, "IO.inputs")) ||
      (s = read_list(r, io + DDK_PF_IO_OUT_START, io + DDK_PF_IO_NUM_OUTPUTS,
                     &p->outputs, &p->num_outputs, "IO.outputs")))
    return s;
  for (uint32_t d = 0; d < r->n_delegates; ++d)
    if ((s = read_delegate(r, d, &dels[d]))) return s;
  for (uint32_t k = 0; k < r->n_instr; ++k) {
    const uint8_t* rec = r->sec[DDK_PF_PLAN].data + (size_t)k * DDK_PF_INSTR_SIZE;
    instr[k].kind = ddk_pf_ld_u32(rec + DDK_PF_I_KIND);
    instr[k].index = ddk_pf_ld_u32(rec + DDK_PF_I_INDEX);
  }
  p->num_values = r->n_values;
  p->values = values;
  p->num_nodes = r->n_nodes;
  p->nodes = nodes;
  p->num_delegates = r->n_delegates;
  p->delegates = dels;
  p->num_instructions = r->n_instr;
  p->instructions = instr;
  return DDK_OK;
}

/* Decodes and verifies `bytes`; on success the program (with its storage)
 * is returned and takes nothing over: the caller attaches owned bytes. */
static ddk_status load_bytes(const uint8_t* bytes, uint64_t size,
                             const ddk_allocator* allocator,
                             program_storage** out, char* err, size_t err_cap) {
  reader rd;
  memset(&rd, 0, sizeof rd);
  reader* r = &rd;
  r->bytes = bytes;
  r->size = size;
  r->err = err;
  r->err_cap = err_cap;
  uint32_t num_sections = 0, header_size = 0;
  uint64_t table_offset = 0;
  ddk_status s;
  if ((s = read_header(r, &num_sections, &table_offset, &header_size)) ||
      (s = read_sections(r, num_sections, table_offset, header_size)) ||
      (s = check_sections(r)))
    return s;
  layout l = plan_layout(r);
  if (l.total > SIZE_MAX) {
    ddk_set_error(err, err_cap, "program: too large for this machine");
    return DDK_OUT_OF_MEMORY;
  }
  program_storage* st = allocator->alloc(allocator->self, (size_t)l.total, 16);
  if (st == NULL) {
    ddk_set_error(err, err_cap, "program: out of memory");
    return DDK_OUT_OF_MEMORY;
  }
  memset(st, 0, sizeof *st);
  st->allocator = *allocator;
  st->block_size = (size_t)l.total;
  st->program.format_major = ddk_pf_ld_u16(bytes + DDK_PF_H_MAJOR);
  st->program.format_minor = ddk_pf_ld_u16(bytes + DDK_PF_H_MINOR);
  st->program.internal_ = st;
  s = decode(r, st, &l);
  if (s == DDK_OK)
    s = ddk_program_verify_decoded(&st->program, allocator, err, err_cap);
  if (s != DDK_OK) {
    allocator->free(allocator->self, st, st->block_size);
    return s;
  }
  *out = st;
  return DDK_OK;
}

/* ------------------------------------------------------------------------ */
/* Public API                                                               */
/* ------------------------------------------------------------------------ */

ddk_status ddk_program_load_buffer(const void* data, size_t size, bool copy,
                                   const ddk_allocator* allocator,
                                   ddk_program** out_program, char* err,
                                   size_t err_cap) {
  if (err != NULL && err_cap > 0) err[0] = '\0';
  if (out_program == NULL || (data == NULL && size > 0)) {
    ddk_set_error(err, err_cap,
                  "ddk_program_load_buffer: data or out_program is NULL");
    return DDK_INVALID_ARGUMENT;
  }
  *out_program = NULL;
  if (allocator == NULL) allocator = ddk_allocator_system();
  /* Constants and blobs must be 64-byte aligned in memory: a buffer that is
   * not is copied even when the caller allowed borrowing it. */
  void* owned = NULL;
  if (copy || ((uintptr_t)data % DDK_PF_DATA_ALIGN) != 0) {
    owned = allocator->alloc(allocator->self, size, DDK_PF_DATA_ALIGN);
    if (owned == NULL) {
      ddk_set_error(err, err_cap, "ddk_program_load_buffer: out of memory");
      return DDK_OUT_OF_MEMORY;
    }
    if (size > 0) memcpy(owned, data, size);
    data = owned;
  }
  program_storage* st = NULL;
  ddk_status s = load_bytes(data, size, allocator, &st, err, err_cap);
  if (s != DDK_OK) {
    if (owned != NULL) allocator->free(allocator->self, owned, size);
    return s;
  }
  st->owned_bytes = owned;
  st->owned_size = size;
  *out_program = &st->program;
  return DDK_OK;
}

ddk_status ddk_program_load_file(const char* path,
                                 const ddk_allocator* allocator,
                                 ddk_program** out_program, char* err,
                                 size_t err_cap) {
  if (err != NULL && err_cap > 0) err[0] = '\0';
  if (path == NULL || out_program == NULL) {
    ddk_set_error(err, err_cap, "ddk_program_load_file: path or out_program is NULL");
    return DDK_INVALID_ARGUMENT;
  }
  *out_program = NULL;
  if (allocator == NULL) allocator = ddk_allocator_system();
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    snprintf(err, err != NULL ? err_cap : 0, "cannot open '%s': %s", path,
             strerror(errno));
    return DDK_IO_ERROR;
  }
  struct stat sb;
  if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    snprintf(err, err != NULL ? err_cap : 0, "'%s' is not a readable regular "
             "file", path);
    close(fd);
    return DDK_IO_ERROR;
  }
  if ((uint64_t)sb.st_size > SIZE_MAX) {
    snprintf(err, err != NULL ? err_cap : 0, "'%s' is too large to map", path);
    close(fd);
    return DDK_IO_ERROR;
  }
  size_t size = (size_t)sb.st_size;
  void* map = NULL;
  if (size > 0) {
    map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
      snprintf(err, err != NULL ? err_cap : 0, "cannot map '%s': %s", path,
               strerror(errno));
      close(fd);
      return DDK_IO_ERROR;
    }
  }
  close(fd);
  static const uint8_t empty[1] = {0};
  program_storage* st = NULL;
  ddk_status s = load_bytes(map != NULL ? map : empty, size, allocator, &st,
                            err, err_cap);
  if (s != DDK_OK) {
    /* Prefix the path to the message: "<path>: VALUES[3]...". */
    if (err != NULL && err_cap > 0) {
      size_t len = strlen(err), plen = strlen(path) + 2;
      if (plen + len + 1 <= err_cap) {
        memmove(err + plen, err, len + 1);
        memcpy(err, path, plen - 2);
        memcpy(err + plen - 2, ": ", 2);
      }
    }
    if (map != NULL) munmap(map, size);
    return s;
  }
  st->map = map;
  st->map_size = size;
  *out_program = &st->program;
  return DDK_OK;
}

void ddk_program_destroy(ddk_program* program) {
  if (program == NULL || program->internal_ == NULL) return;
  program_storage* st = program->internal_;
  ddk_allocator allocator = st->allocator;
  void* owned = st->owned_bytes;
  size_t owned_size = st->owned_size;
  void* map = st->map;
  size_t map_size = st->map_size;
  allocator.free(allocator.self, st, st->block_size);
  if (owned != NULL) allocator.free(allocator.self, owned, owned_size);
  if (map != NULL) munmap(map, map_size);
}
