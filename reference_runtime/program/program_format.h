/*
 * program_format.h — private: the wire layout of the DDK program file
 * (docs/program_format.md is the specification; this header mirrors it).
 *
 * Shared by the reader, the writer and their tests. Every multi-byte field
 * in the file is little-endian and is read and written through the
 * ddk_pf_ld_* / ddk_pf_st_* helpers below, so neither host byte order nor
 * the alignment of a record matters to the code.
 */
#ifndef DDK_PROGRAM_FORMAT_H_
#define DDK_PROGRAM_FORMAT_H_

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Header                                                                   */
/* ------------------------------------------------------------------------ */

/** The 8 magic bytes at offset 0 (the 8th is NUL). */
#define DDK_PF_MAGIC "DDKPROG"
#define DDK_PF_MAGIC_SIZE 8u

#define DDK_PF_HEADER_SIZE 64u
/* Field offsets within the header. */
#define DDK_PF_H_MAGIC 0u
#define DDK_PF_H_MAJOR 8u
#define DDK_PF_H_MINOR 10u
#define DDK_PF_H_HEADER_SIZE 12u
#define DDK_PF_H_FILE_SIZE 16u
#define DDK_PF_H_NUM_SECTIONS 24u
#define DDK_PF_H_FLAGS 28u
#define DDK_PF_H_TABLE_OFFSET 32u
#define DDK_PF_H_RESERVED 40u /* 24 bytes up to the end of the header */

/* ------------------------------------------------------------------------ */
/* Section table                                                            */
/* ------------------------------------------------------------------------ */

#define DDK_PF_SECTION_ENTRY_SIZE 24u
#define DDK_PF_S_ID 0u
#define DDK_PF_S_FLAGS 4u
#define DDK_PF_S_OFFSET 8u
#define DDK_PF_S_SIZE 16u

/** Section flag: a reader that does not know this section id must refuse
 * the file (the section changes the meaning of the others). */
#define DDK_PF_SECTION_REQUIRED 1u

/** Section ids. */
enum {
  DDK_PF_STRINGS = 1,
  DDK_PF_VALUES = 2,
  DDK_PF_NODES = 3,
  DDK_PF_ARGS = 4,
  DDK_PF_INT_POOL = 5,
  DDK_PF_INDEX_POOL = 6,
  DDK_PF_FLOAT_POOL = 7,
  DDK_PF_IO = 8,
  DDK_PF_DELEGATES = 9,
  DDK_PF_PLAN = 10,
  DDK_PF_QUANT = 11,
  DDK_PF_BOOL_POOL = 12,
  DDK_PF_CONSTANTS = 64,
  DDK_PF_BLOBS = 65,
};

/** Alignment of every section's offset, and of CONSTANTS / BLOBS (and of
 * each constant and blob within them). */
#define DDK_PF_SECTION_ALIGN 8u
#define DDK_PF_DATA_ALIGN 64u

/* ------------------------------------------------------------------------ */
/* Records                                                                  */
/* ------------------------------------------------------------------------ */

/** String reference meaning "no string". */
#define DDK_PF_NO_STRING 0xFFFFFFFFu
/** VALUES.quant_index meaning "not quantized". */
#define DDK_PF_NO_QUANT 0xFFFFFFFFu

/* VALUES: 128-byte records. */
#define DDK_PF_VALUE_SIZE 128u
#define DDK_PF_V_NAME 0u
#define DDK_PF_V_DTYPE 4u
#define DDK_PF_V_RANK 8u
#define DDK_PF_V_FLAGS 9u
#define DDK_PF_V_RESERVED0 10u /* u16 */
#define DDK_PF_V_DYNAMIC_MASK 12u
#define DDK_PF_V_QUANT 16u
#define DDK_PF_V_RESERVED1 20u /* u32 */
#define DDK_PF_V_SIZES 24u     /* i64[8] */
#define DDK_PF_V_DIM_ORDER 88u /* u8[8] */
#define DDK_PF_V_DATA_OFFSET 96u
#define DDK_PF_V_DATA_SIZE 104u
#define DDK_PF_V_RESERVED2 112u /* 16 bytes */

/* NODES: 32-byte records. */
#define DDK_PF_NODE_SIZE 32u
#define DDK_PF_N_OP 0u
#define DDK_PF_N_ARG_START 4u
#define DDK_PF_N_ARG_COUNT 8u
#define DDK_PF_N_OUT_START 12u
#define DDK_PF_N_OUT_COUNT 16u
#define DDK_PF_N_DEBUG_NAME 20u
#define DDK_PF_N_RESERVED 24u /* 8 bytes */

/* ARGS: 16-byte records. */
#define DDK_PF_ARG_SIZE 16u
#define DDK_PF_A_KIND 0u
#define DDK_PF_A_RESERVED 1u /* 3 bytes */
#define DDK_PF_A_COUNT 4u
#define DDK_PF_A_PAYLOAD 8u

/* IO: exactly one 16-byte record. */
#define DDK_PF_IO_SIZE 16u
#define DDK_PF_IO_NUM_INPUTS 0u
#define DDK_PF_IO_NUM_OUTPUTS 4u
#define DDK_PF_IO_IN_START 8u
#define DDK_PF_IO_OUT_START 12u

/* DELEGATES: 64-byte records. */
#define DDK_PF_DELEGATE_SIZE 64u
#define DDK_PF_D_BACKEND 0u
#define DDK_PF_D_COMPAT 4u
#define DDK_PF_D_BLOB_OFFSET 8u
#define DDK_PF_D_BLOB_SIZE 16u
#define DDK_PF_D_NODES_START 24u
#define DDK_PF_D_NODES_COUNT 28u
#define DDK_PF_D_IN_START 32u
#define DDK_PF_D_IN_COUNT 36u
#define DDK_PF_D_OUT_START 40u
#define DDK_PF_D_OUT_COUNT 44u
#define DDK_PF_D_RESERVED 48u /* 16 bytes */

/* PLAN: 8-byte records. */
#define DDK_PF_INSTR_SIZE 8u
#define DDK_PF_I_KIND 0u
#define DDK_PF_I_INDEX 4u

/* QUANT: 40-byte records. */
#define DDK_PF_QUANT_SIZE 40u
#define DDK_PF_Q_SCHEME 0u
#define DDK_PF_Q_AXIS 4u
#define DDK_PF_Q_NUM_CHANNELS 8u
#define DDK_PF_Q_SCALES_START 12u
#define DDK_PF_Q_ZP_START 16u
#define DDK_PF_Q_RESERVED 20u /* u32 */
#define DDK_PF_Q_QUANT_MIN 24u
#define DDK_PF_Q_QUANT_MAX 32u

/* ------------------------------------------------------------------------ */
/* Limits (refuse hostile sizes before allocating anything)                 */
/* ------------------------------------------------------------------------ */

/** Most sections a file may list. */
#define DDK_PF_MAX_SECTIONS 64u
/** Most records in any record section and entries in any pool. */
#define DDK_PF_MAX_COUNT (1u << 24)

/* ------------------------------------------------------------------------ */
/* Little-endian access                                                     */
/* ------------------------------------------------------------------------ */

static inline uint16_t ddk_pf_ld_u16(const uint8_t* p) {
  return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t ddk_pf_ld_u32(const uint8_t* p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
         ((uint32_t)p[3] << 24);
}
static inline uint64_t ddk_pf_ld_u64(const uint8_t* p) {
  return (uint64_t)ddk_pf_ld_u32(p) | ((uint64_t)ddk_pf_ld_u32(p + 4) << 32);
}
static inline int32_t ddk_pf_ld_i32(const uint8_t* p) {
  uint32_t u = ddk_pf_ld_u32(p);
  int32_t v;
  memcpy(&v, &u, sizeof v);
  return v;
}
static inline int64_t ddk_pf_ld_i64(const uint8_t* p) {
  uint64_t u = ddk_pf_ld_u64(p);
  int64_t v;
  memcpy(&v, &u, sizeof v);
  return v;
}
static inline double ddk_pf_ld_f64(const uint8_t* p) {
  uint64_t u = ddk_pf_ld_u64(p);
  double v;
  memcpy(&v, &u, sizeof v);
  return v;
}

static inline void ddk_pf_st_u16(uint8_t* p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}
static inline void ddk_pf_st_u32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = (uint8_t)(v >> (8 * i));
}
static inline void ddk_pf_st_u64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = (uint8_t)(v >> (8 * i));
}
static inline void ddk_pf_st_i64(uint8_t* p, int64_t v) {
  uint64_t u;
  memcpy(&u, &v, sizeof u);
  ddk_pf_st_u64(p, u);
}
static inline void ddk_pf_st_f64(uint8_t* p, double v) {
  uint64_t u;
  memcpy(&u, &v, sizeof u);
  ddk_pf_st_u64(p, u);
}

/** Name of a known section id ("VALUES"), or NULL for an unknown one. */
static inline const char* ddk_pf_section_name(uint32_t id) {
  switch (id) {
    case DDK_PF_STRINGS: return "STRINGS";
    case DDK_PF_VALUES: return "VALUES";
    case DDK_PF_NODES: return "NODES";
    case DDK_PF_ARGS: return "ARGS";
    case DDK_PF_INT_POOL: return "INT_POOL";
    case DDK_PF_INDEX_POOL: return "INDEX_POOL";
    case DDK_PF_FLOAT_POOL: return "FLOAT_POOL";
    case DDK_PF_IO: return "IO";
    case DDK_PF_DELEGATES: return "DELEGATES";
    case DDK_PF_PLAN: return "PLAN";
    case DDK_PF_QUANT: return "QUANT";
    case DDK_PF_BOOL_POOL: return "BOOL_POOL";
    case DDK_PF_CONSTANTS: return "CONSTANTS";
    case DDK_PF_BLOBS: return "BLOBS";
    default: return NULL;
  }
}

#endif /* DDK_PROGRAM_FORMAT_H_ */
