/*
 * kernel_util.h — helpers shared by the portable kernels.
 *
 * One dtype table, three math types. Every real dtype is listed ONCE in
 * DDK_KU_FOR_EACH_REAL_DTYPE with its C storage type and the C type kernels
 * compute in ("math type"):
 *
 *   bool, uint8 .. int64          -> int64_t  (integer ops wrap, as in ATen)
 *   float16, bfloat16, float32    -> float    (ATen's opmath for these)
 *   float64                       -> double
 *
 * Kernels do not spell out storage types per dtype: they gather a run of
 * elements into math values (ddk_ku_row_*), compute, and scatter the result
 * back (ddk_ku_out_row_* / ddk_ku_out_row_commit_*). When the storage type
 * already is the math type and the run is unit-stride, the row helpers hand
 * out a pointer straight into the tensor, so float32/float64/int64 kernels
 * do not copy. Gathers take a `round_to` dtype: an input whose dtype differs
 * from the op's computation dtype is first rounded to that dtype, exactly as
 * ATen's TensorIterator casts inputs to the common dtype before computing.
 *
 * Integer arithmetic is done on uint64_t and converted back, so overflow
 * wraps (ATen's behaviour) instead of being undefined. Conversions from
 * float to integer saturate (NaN -> 0); ATen never performs them for valid
 * inputs, the helpers only keep them free of undefined behaviour.
 *
 * Everything here is allocation-free, global-free and I/O-free.
 */
#ifndef DDK_KERNEL_UTIL_H_
#define DDK_KERNEL_UTIL_H_

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "ddk_kernel.h"

/* ------------------------------------------------------------------------ */
/* float16 / bfloat16                                                        */
/* ------------------------------------------------------------------------ */

static inline uint32_t ddk_ku_f32_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}

static inline float ddk_ku_f32_from_bits(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

/** IEEE binary16 -> float (exact). */
static inline float ddk_ku_half_to_float(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1Fu;
  uint32_t mant = h & 0x3FFu;
  if (exp == 0) {
    /* zero or subnormal: mant * 2^-24, exact in float */
    float v = (float)mant * 5.9604644775390625e-8f;
    return sign ? -v : v;
  }
  if (exp == 31) return ddk_ku_f32_from_bits(sign | 0x7F800000u | (mant << 13));
  return ddk_ku_f32_from_bits(sign | ((exp + 112u) << 23) | (mant << 13));
}

/** float -> IEEE binary16, round to nearest even (as c10::Half). */
static inline uint16_t ddk_ku_float_to_half(float f) {
  uint32_t x = ddk_ku_f32_bits(f);
  uint32_t sign = (x >> 16) & 0x8000u;
  x &= 0x7FFFFFFFu;
  if (x >= 0x7F800000u) { /* inf or NaN (NaN stays quiet NaN) */
    return (uint16_t)(sign | 0x7C00u | (x > 0x7F800000u ? 0x200u | ((x >> 13) & 0x3FFu) : 0u));
  }
  if (x >= 0x477FF000u) return (uint16_t)(sign | 0x7C00u); /* >= 65520: inf */
  if (x < 0x38800000u) {                                   /* below 2^-14: half subnormal or zero */
    uint32_t e = x >> 23;
    uint32_t m = (x & 0x7FFFFFu) | 0x800000u;
    uint32_t s = 126u - e; /* value * 2^24 == m >> s */
    if (e == 0 || s > 24u) return (uint16_t)sign;
    uint32_t q = m >> s;
    uint32_t r = m & ((1u << s) - 1u);
    uint32_t half = 1u << (s - 1u);
    if (r > half || (r == half && (q & 1u))) ++q;
    return (uint16_t)(sign | q);
  }
  uint32_t h = (((x >> 23) - 112u) << 10) | ((x >> 13) & 0x3FFu);
  uint32_t r = x & 0x1FFFu;
  if (r > 0x1000u || (r == 0x1000u && (h & 1u))) ++h;
  return (uint16_t)(sign | h);
}

/** bfloat16 -> float (exact). */
static inline float ddk_ku_bf16_to_float(uint16_t b) {
  return ddk_ku_f32_from_bits((uint32_t)b << 16);
}

/** float -> bfloat16, round to nearest even; NaN -> 0x7FC0 (as c10). */
static inline uint16_t ddk_ku_float_to_bf16(float f) {
  if (f != f) return 0x7FC0u;
  uint32_t u = ddk_ku_f32_bits(f);
  u += 0x7FFFu + ((u >> 16) & 1u);
  return (uint16_t)(u >> 16);
}

/* ------------------------------------------------------------------------ */
/* Conversions between math types                                           */
/* ------------------------------------------------------------------------ */

/** double -> int64 truncating toward zero, saturating, NaN -> 0. */
static inline int64_t ddk_ku_f64_to_i64(double v) {
  if (v != v) return 0;
  if (v >= 9223372036854775807.0) return INT64_MAX;
  if (v <= -9223372036854775808.0) return INT64_MIN;
  return (int64_t)v;
}

static inline int64_t ddk_ku_i64_id(int64_t v) { return v; }

/** Any value -> int64 (integers convert, floats truncate and saturate). */
#define DDK_KU_TO_I64(v) \
  _Generic((v), float : ddk_ku_f64_to_i64, double : ddk_ku_f64_to_i64, default : ddk_ku_i64_id)(v)

/* Storage <-> math conversions named in the dtype table. */
#define DDK_KU_LOAD_PLAIN(v) (v)
#define DDK_KU_LOAD_BOOL(v) ((int64_t)((v) != 0))
#define DDK_KU_STORE_PLAIN(v) (v)
#define DDK_KU_STORE_INT(v) DDK_KU_TO_I64(v)
#define DDK_KU_STORE_BOOL(v) ((uint8_t)((v) != 0))
#define DDK_KU_LOAD_HALF(v) ddk_ku_half_to_float(v)
#define DDK_KU_STORE_HALF(v) ddk_ku_float_to_half((float)(v))
#define DDK_KU_LOAD_BF16(v) ddk_ku_bf16_to_float(v)
#define DDK_KU_STORE_BF16(v) ddk_ku_float_to_bf16((float)(v))

/*
 * THE kernels' dtype table: X(NAME, storage C type, math C type, LOAD, STORE).
 * NAME pastes onto DDK_DTYPE_NAME. LOAD(stored) yields the math type;
 * STORE(math) yields the storage type (rounding / wrapping as ATen does).
 * bool is read as uint8_t so that a stray byte value is not UB.
 * Complex dtypes have no math type: only the data-movement kernels, which
 * copy bytes, accept them.
 */
#define DDK_KU_FOR_EACH_REAL_DTYPE(X)                               \
  X(BOOL, uint8_t, int64_t, DDK_KU_LOAD_BOOL, DDK_KU_STORE_BOOL)    \
  X(UINT8, uint8_t, int64_t, DDK_KU_LOAD_PLAIN, DDK_KU_STORE_INT)   \
  X(INT8, int8_t, int64_t, DDK_KU_LOAD_PLAIN, DDK_KU_STORE_INT)     \
  X(INT16, int16_t, int64_t, DDK_KU_LOAD_PLAIN, DDK_KU_STORE_INT)   \
  X(INT32, int32_t, int64_t, DDK_KU_LOAD_PLAIN, DDK_KU_STORE_INT)   \
  X(INT64, int64_t, int64_t, DDK_KU_LOAD_PLAIN, DDK_KU_STORE_INT)   \
  X(FLOAT16, uint16_t, float, DDK_KU_LOAD_HALF, DDK_KU_STORE_HALF)  \
  X(BFLOAT16, uint16_t, float, DDK_KU_LOAD_BF16, DDK_KU_STORE_BF16) \
  X(FLOAT32, float, float, DDK_KU_LOAD_PLAIN, DDK_KU_STORE_PLAIN)   \
  X(FLOAT64, double, double, DDK_KU_LOAD_PLAIN, DDK_KU_STORE_PLAIN)

/** The math type a dtype computes in. */
typedef enum ddk_ku_math {
  DDK_KU_MATH_NONE = 0, /**< not a real dtype (complex, unknown) */
  DDK_KU_MATH_I64 = 1,
  DDK_KU_MATH_F32 = 2,
  DDK_KU_MATH_F64 = 3,
} ddk_ku_math;

#define DDK_KU_MATH_OF_TYPE_(M) \
  _Generic((M)0, int64_t : DDK_KU_MATH_I64, float : DDK_KU_MATH_F32, double : DDK_KU_MATH_F64)

static inline ddk_ku_math ddk_ku_math_of(ddk_dtype dtype) {
  switch (dtype) {
#define DDK_KU_X_(NAME, T, M, LOAD, STORE) \
  case DDK_DTYPE_##NAME:                   \
    return DDK_KU_MATH_OF_TYPE_(M);
    DDK_KU_FOR_EACH_REAL_DTYPE(DDK_KU_X_)
#undef DDK_KU_X_
    default:
      return DDK_KU_MATH_NONE;
  }
}

/** Bit (1u << dtype) for each listed dtype, to build per-op dtype masks. */
#define DDK_KU_BIT(NAME) (1u << DDK_DTYPE_##NAME)
#define DDK_KU_MASK_INTS \
  (DDK_KU_BIT(UINT8) | DDK_KU_BIT(INT8) | DDK_KU_BIT(INT16) | DDK_KU_BIT(INT32) | DDK_KU_BIT(INT64))
#define DDK_KU_MASK_FLOATS \
  (DDK_KU_BIT(FLOAT16) | DDK_KU_BIT(BFLOAT16) | DDK_KU_BIT(FLOAT32) | DDK_KU_BIT(FLOAT64))
#define DDK_KU_MASK_REAL (DDK_KU_MASK_INTS | DDK_KU_MASK_FLOATS | DDK_KU_BIT(BOOL))

/** True when `dtype` is in `mask` (a DDK_KU_MASK_* / DDK_KU_BIT union). */
static inline bool ddk_ku_dtype_in(ddk_dtype dtype, uint32_t mask) {
  return dtype >= 0 && dtype < 32 && ((mask >> dtype) & 1u) != 0;
}

/**
 * Checks that `t` has a dtype in `mask`; otherwise fails with
 * DDK_UNSUPPORTED_DTYPE naming the op, the argument and the dtype.
 */
ddk_status ddk_ku_check_dtype(ddk_kernel_ctx* ctx, const ddk_node_view* node, const char* what,
                              const ddk_tensor* t, uint32_t mask);

/* ------------------------------------------------------------------------ */
/* Single elements                                                          */
/* ------------------------------------------------------------------------ */

/** Element `off` (in elements) of `base` of dtype `dt`, as float / double / int64. */
float ddk_ku_load_f32(const void* base, ddk_dtype dt, int64_t off);
double ddk_ku_load_f64(const void* base, ddk_dtype dt, int64_t off);
int64_t ddk_ku_load_i64(const void* base, ddk_dtype dt, int64_t off);

/** Stores math value `v` as element `off` of `base` of dtype `dt` (rounding
 * or wrapping into the dtype). */
void ddk_ku_store_f32(void* base, ddk_dtype dt, int64_t off, float v);
void ddk_ku_store_f64(void* base, ddk_dtype dt, int64_t off, double v);
void ddk_ku_store_i64(void* base, ddk_dtype dt, int64_t off, int64_t v);

/** Rounds a math value to dtype `dt`'s precision and range (identity when
 * the dtype already is the math type's own storage). */
float ddk_ku_round_f32(float v, ddk_dtype dt);
int64_t ddk_ku_round_i64(int64_t v, ddk_dtype dt);

/* ------------------------------------------------------------------------ */
/* Rows                                                                     */
/* ------------------------------------------------------------------------ */

/** Size of the scratch rows kernels keep on the stack, in elements. */
#define DDK_KU_CHUNK 256

/**
 * n math values of the run base[off + i*stride] (dtype `src`), rounded to
 * dtype `round_to` first when it differs from `src`. Returns a pointer into
 * the tensor when no conversion is needed and stride is 1, else fills and
 * returns `scratch` (n <= DDK_KU_CHUNK unless the caller's scratch is larger).
 */
const float* ddk_ku_row_f32(float* scratch, const void* base, ddk_dtype src, ddk_dtype round_to,
                            int64_t off, int64_t stride, int64_t n);
const double* ddk_ku_row_f64(double* scratch, const void* base, ddk_dtype src, ddk_dtype round_to,
                             int64_t off, int64_t stride, int64_t n);
const int64_t* ddk_ku_row_i64(int64_t* scratch, const void* base, ddk_dtype src, ddk_dtype round_to,
                              int64_t off, int64_t stride, int64_t n);

/**
 * Where to compute n output values of the run base[off + i*stride]: into
 * the tensor itself when its storage is the math type and stride is 1,
 * else into `scratch`. Call the matching commit afterwards; it converts and
 * writes the values when they were computed in scratch.
 */
float* ddk_ku_out_row_f32(float* scratch, void* base, ddk_dtype dt, int64_t off, int64_t stride);
double* ddk_ku_out_row_f64(double* scratch, void* base, ddk_dtype dt, int64_t off, int64_t stride);
int64_t* ddk_ku_out_row_i64(int64_t* scratch, void* base, ddk_dtype dt, int64_t off,
                            int64_t stride);
void ddk_ku_out_row_commit_f32(const float* row, void* base, ddk_dtype dt, int64_t off,
                               int64_t stride, int64_t n);
void ddk_ku_out_row_commit_f64(const double* row, void* base, ddk_dtype dt, int64_t off,
                               int64_t stride, int64_t n);
void ddk_ku_out_row_commit_i64(const int64_t* row, void* base, ddk_dtype dt, int64_t off,
                               int64_t stride, int64_t n);

/* ------------------------------------------------------------------------ */
/* Strided iteration with broadcasting                                      */
/* ------------------------------------------------------------------------ */

/** Most operands (output first) one elementwise loop handles. */
#define DDK_KU_MAX_OPERANDS 4

/**
 * Iteration over the elements of an output, with each input's strides
 * broadcast to the output's shape (0 along broadcast dims) and adjacent
 * dims merged where every operand allows. Iterate row by row: a row is
 * sizes[rank-1] elements of the last dim.
 */
typedef struct ddk_ku_loop {
  uint32_t rank; /**< >= 1 */
  uint32_t num_operands;
  int64_t numel;
  int64_t sizes[DDK_MAX_RANK];
  int64_t strides[DDK_KU_MAX_OPERANDS][DDK_MAX_RANK];
} ddk_ku_loop;

/** Position of a row walk over a ddk_ku_loop. */
typedef struct ddk_ku_cursor {
  int64_t index[DDK_MAX_RANK];
  int64_t offset[DDK_KU_MAX_OPERANDS]; /**< element offset per operand */
} ddk_ku_cursor;

/**
 * Broadcast strides of `in` against the output shape (sizes, rank): right
 * aligned; 0 for dims `in` lacks or has size 1 where the output does not.
 * False when `in` does not broadcast to the shape.
 */
bool ddk_ku_broadcast_strides(const ddk_tensor* in, const int64_t* sizes, uint32_t rank,
                              int64_t* out_strides);

/**
 * Sets up a loop over `out` with `num_inputs` inputs broadcast to it.
 * False when an input does not broadcast or there are too many operands.
 */
bool ddk_ku_loop_init(ddk_ku_loop* loop, const ddk_tensor* out, const ddk_tensor* const* inputs,
                      uint32_t num_inputs);

/**
 * Sets up a loop over `sizes`/`rank` with explicit strides per operand
 * (num_operands <= DDK_KU_MAX_OPERANDS); merges dims like ddk_ku_loop_init.
 */
void ddk_ku_loop_init_strided(ddk_ku_loop* loop, const int64_t* sizes, uint32_t rank,
                              const int64_t* const* strides, uint32_t num_operands);

/** Starts a row walk at the first element. */
static inline void ddk_ku_cursor_init(ddk_ku_cursor* c) { memset(c, 0, sizeof *c); }

/** Advances the cursor by one row. */
static inline void ddk_ku_cursor_next_row(const ddk_ku_loop* l, ddk_ku_cursor* c) {
  for (int d = (int)l->rank - 2; d >= 0; --d) {
    ++c->index[d];
    for (uint32_t k = 0; k < l->num_operands; ++k) c->offset[k] += l->strides[k][d];
    if (c->index[d] < l->sizes[d]) return;
    for (uint32_t k = 0; k < l->num_operands; ++k) c->offset[k] -= l->strides[k][d] * l->sizes[d];
    c->index[d] = 0;
  }
}

/**
 * Per-chunk worker of ddk_ku_map: computes n output values `out` from n
 * values of each input `in[k]`, all of math type `math` (float*, double*
 * or int64_t* behind the void pointers). `out` may alias an input.
 */
typedef void (*ddk_ku_map_fn)(void* user, ddk_ku_math math, void* out, const void* const* in,
                              int64_t n);

/**
 * Elementwise driver: walks `out` (any strides) with `num_inputs` inputs
 * broadcast to it (any strides, any real dtypes), gathers chunks of each
 * input in the math type of out's dtype (rounded to out's dtype, as ATen
 * casts inputs to the common dtype), calls `fn` and stores the chunk.
 * False when an input does not broadcast to `out` (nothing written).
 */
bool ddk_ku_map(ddk_tensor* out, const ddk_tensor* const* inputs, uint32_t num_inputs,
                ddk_ku_map_fn fn, void* user);

/**
 * ddk_ku_map computing in math type `math` (which may differ from out's:
 * comparisons compute in the inputs' common type and store bool), with
 * input k rounded to dtype round_to[k] before `fn` sees it.
 */
bool ddk_ku_map_ex(ddk_tensor* out, const ddk_tensor* const* inputs, const ddk_dtype* round_to,
                   uint32_t num_inputs, ddk_ku_math math, ddk_ku_map_fn fn, void* user);

/**
 * Copies the elements (elem_size bytes each) of a strided view into
 * another: dst[dst_strides . i] = src[src_strides . i] for every index i of
 * sizes/rank. Offsets are in elements from dst/src.
 */
void ddk_ku_copy_strided(void* dst, const int64_t* dst_strides, const void* src,
                         const int64_t* src_strides, const int64_t* sizes, uint32_t rank,
                         size_t elem_size);

/**
 * Like ddk_ku_copy_strided, converting each element from src_dtype to
 * dst_dtype as ATen's to() does (both real dtypes).
 */
void ddk_ku_convert_strided(void* dst, ddk_dtype dst_dtype, const int64_t* dst_strides,
                            const void* src, ddk_dtype src_dtype, const int64_t* src_strides,
                            const int64_t* sizes, uint32_t rank);

/* ------------------------------------------------------------------------ */
/* Arguments                                                                */
/* ------------------------------------------------------------------------ */

/** An ATen Scalar argument (INT, FLOAT or BOOL). */
typedef struct ddk_ku_scalar {
  bool is_float;
  bool is_bool; /**< the argument was a BOOL */
  double f;     /**< value when is_float */
  int64_t i;    /**< value when !is_float (bool as 0/1) */
} ddk_ku_scalar;

/** Reads Scalar argument `index`; fails (INVALID_ARGUMENT) on another kind. */
ddk_status ddk_ku_arg_scalar(ddk_kernel_ctx* ctx, const ddk_node_view* node, uint32_t index,
                             const char* name, ddk_ku_scalar* out);

/** The scalar as a double. */
static inline double ddk_ku_scalar_f64(const ddk_ku_scalar* s) {
  return s->is_float ? s->f : (double)s->i;
}

/**
 * Converts a Scalar to the math type of `dtype` as c10::Scalar::to<T>()
 * does, with its overflow check: an integer dtype takes the value
 * truncated toward zero and rejects values outside its range (uint8 also
 * accepts -255..-1, which wrap); a float dtype rejects finite values
 * beyond its largest finite value. False on overflow.
 */
bool ddk_ku_scalar_to_i64(const ddk_ku_scalar* s, ddk_dtype dtype, int64_t* out);
bool ddk_ku_scalar_to_float(const ddk_ku_scalar* s, ddk_dtype dtype, double* out);

/** The ints of INT_LIST argument `index`, expanded to `n` values: a list of
 * one value repeats it; an empty list gives `dflt` (which may be NULL to
 * refuse). Fails with INVALID_ARGUMENT otherwise. */
ddk_status ddk_ku_arg_int_list(ddk_kernel_ctx* ctx, const ddk_node_view* node, uint32_t index,
                               const char* name, uint32_t n, const int64_t* dflt, int64_t* out);

/* ------------------------------------------------------------------------ */
/* Integer helpers                                                          */
/* ------------------------------------------------------------------------ */

/** floor(a / b) for b > 0. */
static inline int64_t ddk_ku_floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

/** ceil(a / b) for b > 0. */
static inline int64_t ddk_ku_ceil_div(int64_t a, int64_t b) { return -ddk_ku_floor_div(-a, b); }

static inline int64_t ddk_ku_min(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t ddk_ku_max(int64_t a, int64_t b) { return a > b ? a : b; }

/** Wrapping int64 arithmetic (ATen integer overflow wraps). */
static inline int64_t ddk_ku_wrap_add(int64_t a, int64_t b) {
  return (int64_t)((uint64_t)a + (uint64_t)b);
}
static inline int64_t ddk_ku_wrap_mul(int64_t a, int64_t b) {
  return (int64_t)((uint64_t)a * (uint64_t)b);
}

#endif /* DDK_KERNEL_UTIL_H_ */
