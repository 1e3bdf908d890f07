/*
 * kernel_util.c — dtype dispatch, row gather/scatter, strided iteration and
 * argument helpers shared by the portable kernels. See kernel_util.h.
 */
#include "kernel_util.h"

#include <float.h>

ddk_status ddk_ku_check_dtype(ddk_kernel_ctx* ctx, const ddk_node_view* node, const char* what,
                              const ddk_tensor* t, uint32_t mask) {
  if (ddk_ku_dtype_in(t->dtype, mask)) return DDK_OK;
  return ddk_kernel_fail(ctx, node, DDK_UNSUPPORTED_DTYPE, "dtype %s of %s is not supported",
                         ddk_dtype_name(t->dtype), what);
}

/* ------------------------------------------------------------------------ */
/* Single elements                                                          */
/* ------------------------------------------------------------------------ */

/* Converts a math value into the math type of the lvalue `dst`. */
#define DDK_KU_CONVERT_LIKE_(dst, v) \
  _Generic((dst), int64_t : DDK_KU_TO_I64(v), float : (float)(v), double : (double)(v))

#define DDK_KU_DEFINE_LOAD_(SUF, M)                                  \
  M ddk_ku_load_##SUF(const void* base, ddk_dtype dt, int64_t off) { \
    M r = 0;                                                         \
    switch (dt) {                                                    \
      DDK_KU_FOR_EACH_REAL_DTYPE(DDK_KU_LOAD_CASE_)                  \
      default:                                                       \
        break;                                                       \
    }                                                                \
    return r;                                                        \
  }
#define DDK_KU_LOAD_CASE_(NAME, T, M, LOAD, STORE)            \
  case DDK_DTYPE_##NAME:                                      \
    r = DDK_KU_CONVERT_LIKE_(r, LOAD(((const T*)base)[off])); \
    break;

DDK_KU_DEFINE_LOAD_(f32, float)
DDK_KU_DEFINE_LOAD_(f64, double)
DDK_KU_DEFINE_LOAD_(i64, int64_t)

#define DDK_KU_DEFINE_STORE_(SUF, M)                                    \
  void ddk_ku_store_##SUF(void* base, ddk_dtype dt, int64_t off, M v) { \
    switch (dt) {                                                       \
      DDK_KU_FOR_EACH_REAL_DTYPE(DDK_KU_STORE_CASE_)                    \
      default:                                                          \
        break;                                                          \
    }                                                                   \
  }
#define DDK_KU_STORE_CASE_(NAME, T, M, LOAD, STORE) \
  case DDK_DTYPE_##NAME:                            \
    ((T*)base)[off] = STORE(v);                     \
    break;

DDK_KU_DEFINE_STORE_(f32, float)
DDK_KU_DEFINE_STORE_(f64, double)
DDK_KU_DEFINE_STORE_(i64, int64_t)

float ddk_ku_round_f32(float v, ddk_dtype dt) {
  switch (dt) {
    case DDK_DTYPE_FLOAT16:
      return ddk_ku_half_to_float(ddk_ku_float_to_half(v));
    case DDK_DTYPE_BFLOAT16:
      return ddk_ku_bf16_to_float(ddk_ku_float_to_bf16(v));
    default:
      return v;
  }
}

static double ddk_ku_round_f64(double v, ddk_dtype dt) {
  switch (dt) {
    case DDK_DTYPE_FLOAT32:
      return (double)(float)v;
    case DDK_DTYPE_FLOAT16:
    case DDK_DTYPE_BFLOAT16:
      return (double)ddk_ku_round_f32((float)v, dt);
    default:
      return v;
  }
}

int64_t ddk_ku_round_i64(int64_t v, ddk_dtype dt) {
  switch (dt) {
    case DDK_DTYPE_BOOL:
      return v != 0;
    case DDK_DTYPE_UINT8:
      return (uint8_t)v;
    case DDK_DTYPE_INT8:
      return (int8_t)v;
    case DDK_DTYPE_INT16:
      return (int16_t)v;
    case DDK_DTYPE_INT32:
      return (int32_t)v;
    default:
      return v;
  }
}

/* ------------------------------------------------------------------------ */
/* Rows                                                                     */
/* ------------------------------------------------------------------------ */

#define DDK_KU_GATHER_CASE_(NAME, T, M, LOAD, STORE)                      \
  case DDK_DTYPE_##NAME: {                                                \
    const T* p = (const T*)base + off;                                    \
    for (int64_t i = 0; i < n; ++i)                                       \
      scratch[i] = DDK_KU_CONVERT_LIKE_(scratch[i], LOAD(p[i * stride])); \
    break;                                                                \
  }

#define DDK_KU_SCATTER_CASE_(NAME, T, M, LOAD, STORE)              \
  case DDK_DTYPE_##NAME: {                                         \
    T* p = (T*)base + off;                                         \
    for (int64_t i = 0; i < n; ++i) p[i * stride] = STORE(row[i]); \
    break;                                                         \
  }

#define DDK_KU_DEFINE_ROWS_(SUF, M, NATIVE)                                                    \
  const M* ddk_ku_row_##SUF(M* scratch, const void* base, ddk_dtype src, ddk_dtype round_to,   \
                            int64_t off, int64_t stride, int64_t n) {                          \
    if (src == (NATIVE) && round_to == src && stride == 1) return (const M*)base + off;        \
    if (round_to == DDK_DTYPE_BOOL && ddk_ku_math_of(src) != DDK_KU_MATH_I64) {                \
      /* float -> bool is "nonzero" (0.5 and NaN are true), no truncation */                  \
      for (int64_t i = 0; i < n; ++i)                                                          \
        scratch[i] = (M)(ddk_ku_load_f64(base, src, off + i * stride) != 0.0);                 \
      return scratch;                                                                          \
    }                                                                                          \
    switch (src) {                                                                             \
      DDK_KU_FOR_EACH_REAL_DTYPE(DDK_KU_GATHER_CASE_)                                          \
      default:                                                                                 \
        for (int64_t i = 0; i < n; ++i) scratch[i] = 0;                                        \
        break;                                                                                 \
    }                                                                                          \
    if (round_to != src)                                                                       \
      for (int64_t i = 0; i < n; ++i) scratch[i] = ddk_ku_round_##SUF(scratch[i], round_to);   \
    return scratch;                                                                            \
  }                                                                                            \
  M* ddk_ku_out_row_##SUF(M* scratch, void* base, ddk_dtype dt, int64_t off, int64_t stride) { \
    if (dt == (NATIVE) && stride == 1) return (M*)base + off;                                  \
    return scratch;                                                                            \
  }                                                                                            \
  void ddk_ku_out_row_commit_##SUF(const M* row, void* base, ddk_dtype dt, int64_t off,        \
                                   int64_t stride, int64_t n) {                                \
    if (dt == (NATIVE) && stride == 1) return;                                                 \
    switch (dt) {                                                                              \
      DDK_KU_FOR_EACH_REAL_DTYPE(DDK_KU_SCATTER_CASE_)                                         \
      default:                                                                                 \
        break;                                                                                 \
    }                                                                                          \
  }

DDK_KU_DEFINE_ROWS_(f32, float, DDK_DTYPE_FLOAT32)
DDK_KU_DEFINE_ROWS_(f64, double, DDK_DTYPE_FLOAT64)
DDK_KU_DEFINE_ROWS_(i64, int64_t, DDK_DTYPE_INT64)

/* ------------------------------------------------------------------------ */
/* Strided iteration                                                        */
/* ------------------------------------------------------------------------ */

bool ddk_ku_broadcast_strides(const ddk_tensor* in, const int64_t* sizes, uint32_t rank,
                              int64_t* out_strides) {
  if (in->rank > rank) return false;
  uint32_t lead = rank - in->rank;
  for (uint32_t d = 0; d < rank; ++d) {
    if (d < lead) {
      out_strides[d] = 0;
      continue;
    }
    int64_t s = in->sizes[d - lead];
    if (s == sizes[d]) {
      out_strides[d] = s == 1 ? 0 : in->strides[d - lead];
    } else if (s == 1) {
      out_strides[d] = 0;
    } else {
      return false;
    }
  }
  return true;
}

void ddk_ku_loop_init_strided(ddk_ku_loop* loop, const int64_t* sizes, uint32_t rank,
                              const int64_t* const* strides, uint32_t num_operands) {
  memset(loop, 0, sizeof *loop);
  loop->num_operands = num_operands;
  loop->numel = 1;
  for (uint32_t d = 0; d < rank; ++d) loop->numel *= sizes[d];
  /* Walk dims innermost first, dropping size-1 dims and merging a dim into
   * the one inside it when every operand's strides allow. */
  int64_t rs[DDK_MAX_RANK];
  int64_t rst[DDK_KU_MAX_OPERANDS][DDK_MAX_RANK];
  uint32_t n = 0;
  for (int d = (int)rank - 1; d >= 0; --d) {
    if (sizes[d] == 1) continue;
    bool merge = n > 0;
    for (uint32_t k = 0; merge && k < num_operands; ++k)
      merge = strides[k][d] == rst[k][n - 1] * rs[n - 1];
    if (merge) {
      rs[n - 1] *= sizes[d];
      continue;
    }
    rs[n] = sizes[d];
    for (uint32_t k = 0; k < num_operands; ++k) rst[k][n] = strides[k][d];
    ++n;
  }
  if (n == 0) {
    rs[0] = 1;
    for (uint32_t k = 0; k < num_operands; ++k) rst[k][0] = 0;
    n = 1;
  }
  loop->rank = n;
  for (uint32_t i = 0; i < n; ++i) {
    loop->sizes[i] = rs[n - 1 - i];
    for (uint32_t k = 0; k < num_operands; ++k) loop->strides[k][i] = rst[k][n - 1 - i];
  }
}

bool ddk_ku_loop_init(ddk_ku_loop* loop, const ddk_tensor* out, const ddk_tensor* const* inputs,
                      uint32_t num_inputs) {
  if (num_inputs + 1 > DDK_KU_MAX_OPERANDS || out->rank > DDK_MAX_RANK) return false;
  int64_t st[DDK_KU_MAX_OPERANDS][DDK_MAX_RANK];
  const int64_t* ptrs[DDK_KU_MAX_OPERANDS];
  for (uint32_t d = 0; d < out->rank; ++d) st[0][d] = out->strides[d];
  ptrs[0] = st[0];
  for (uint32_t k = 0; k < num_inputs; ++k) {
    if (!ddk_ku_broadcast_strides(inputs[k], out->sizes, out->rank, st[k + 1])) return false;
    ptrs[k + 1] = st[k + 1];
  }
  ddk_ku_loop_init_strided(loop, out->sizes, out->rank, ptrs, num_inputs + 1);
  return true;
}

bool ddk_ku_map_ex(ddk_tensor* out, const ddk_tensor* const* inputs, const ddk_dtype* round_to,
                   uint32_t num_inputs, ddk_ku_math math, ddk_ku_map_fn fn, void* user) {
  ddk_ku_loop loop;
  if (!ddk_ku_loop_init(&loop, out, inputs, num_inputs)) return false;
  if (loop.numel == 0 || math == DDK_KU_MATH_NONE) return true;
  union {
    float f[DDK_KU_CHUNK];
    double d[DDK_KU_CHUNK];
    int64_t i[DDK_KU_CHUNK];
  } scratch[DDK_KU_MAX_OPERANDS];
  const uint32_t last = loop.rank - 1;
  const int64_t inner = loop.sizes[last];
  const int64_t ost = loop.strides[0][last];
  ddk_ku_cursor c;
  ddk_ku_cursor_init(&c);
  for (int64_t done = 0; done < loop.numel; done += inner) {
    for (int64_t j = 0; j < inner; j += DDK_KU_CHUNK) {
      const int64_t n = ddk_ku_min(DDK_KU_CHUNK, inner - j);
      const void* in[DDK_KU_MAX_OPERANDS] = {NULL};
      const int64_t oo = c.offset[0] + j * ost;
      for (uint32_t k = 0; k < num_inputs; ++k) {
        const ddk_tensor* t = inputs[k];
        int64_t st = loop.strides[k + 1][last], off = c.offset[k + 1] + j * st;
        if (math == DDK_KU_MATH_F32)
          in[k] = ddk_ku_row_f32(scratch[k + 1].f, t->data, t->dtype, round_to[k], off, st, n);
        else if (math == DDK_KU_MATH_F64)
          in[k] = ddk_ku_row_f64(scratch[k + 1].d, t->data, t->dtype, round_to[k], off, st, n);
        else
          in[k] = ddk_ku_row_i64(scratch[k + 1].i, t->data, t->dtype, round_to[k], off, st, n);
      }
      if (math == DDK_KU_MATH_F32) {
        float* o = ddk_ku_out_row_f32(scratch[0].f, out->data, out->dtype, oo, ost);
        fn(user, math, o, in, n);
        ddk_ku_out_row_commit_f32(o, out->data, out->dtype, oo, ost, n);
      } else if (math == DDK_KU_MATH_F64) {
        double* o = ddk_ku_out_row_f64(scratch[0].d, out->data, out->dtype, oo, ost);
        fn(user, math, o, in, n);
        ddk_ku_out_row_commit_f64(o, out->data, out->dtype, oo, ost, n);
      } else {
        int64_t* o = ddk_ku_out_row_i64(scratch[0].i, out->data, out->dtype, oo, ost);
        fn(user, math, o, in, n);
        ddk_ku_out_row_commit_i64(o, out->data, out->dtype, oo, ost, n);
      }
    }
    ddk_ku_cursor_next_row(&loop, &c);
  }
  return true;
}

bool ddk_ku_map(ddk_tensor* out, const ddk_tensor* const* inputs, uint32_t num_inputs,
                ddk_ku_map_fn fn, void* user) {
  ddk_dtype round_to[DDK_KU_MAX_OPERANDS];
  for (uint32_t k = 0; k < num_inputs && k < DDK_KU_MAX_OPERANDS; ++k) round_to[k] = out->dtype;
  return ddk_ku_map_ex(out, inputs, round_to, num_inputs, ddk_ku_math_of(out->dtype), fn, user);
}

void ddk_ku_copy_strided(void* dst, const int64_t* dst_strides, const void* src,
                         const int64_t* src_strides, const int64_t* sizes, uint32_t rank,
                         size_t elem_size) {
  const int64_t* st[2] = {dst_strides, src_strides};
  ddk_ku_loop loop;
  ddk_ku_loop_init_strided(&loop, sizes, rank, st, 2);
  if (loop.numel == 0) return;
  int64_t inner = loop.sizes[loop.rank - 1];
  int64_t ds = loop.strides[0][loop.rank - 1];
  int64_t ss = loop.strides[1][loop.rank - 1];
  bool dense = ds == 1 && ss == 1;
  if (dst == src && loop.rank == 1 && ds == ss) return; /* copy onto itself */
  ddk_ku_cursor c;
  ddk_ku_cursor_init(&c);
  for (int64_t done = 0; done < loop.numel; done += inner) {
    char* d = (char*)dst + (size_t)c.offset[0] * elem_size;
    const char* s = (const char*)src + (size_t)c.offset[1] * elem_size;
    if (dense) {
      memmove(d, s, (size_t)inner * elem_size);
    } else {
      switch (elem_size) {
#define DDK_KU_COPY_LOOP_(N)                                         \
  case N:                                                            \
    for (int64_t i = 0; i < inner; ++i)                              \
      memcpy(d + (size_t)(i * ds) * N, s + (size_t)(i * ss) * N, N); \
    break;
        DDK_KU_COPY_LOOP_(1)
        DDK_KU_COPY_LOOP_(2)
        DDK_KU_COPY_LOOP_(4)
        DDK_KU_COPY_LOOP_(8)
        DDK_KU_COPY_LOOP_(16)
#undef DDK_KU_COPY_LOOP_
        default:
          for (int64_t i = 0; i < inner; ++i)
            memcpy(d + (size_t)(i * ds) * elem_size, s + (size_t)(i * ss) * elem_size, elem_size);
          break;
      }
    }
    ddk_ku_cursor_next_row(&loop, &c);
  }
}

void ddk_ku_convert_strided(void* dst, ddk_dtype dst_dtype, const int64_t* dst_strides,
                            const void* src, ddk_dtype src_dtype, const int64_t* src_strides,
                            const int64_t* sizes, uint32_t rank) {
  const int64_t* st[2] = {dst_strides, src_strides};
  ddk_ku_loop loop;
  ddk_ku_loop_init_strided(&loop, sizes, rank, st, 2);
  if (loop.numel == 0) return;
  int64_t inner = loop.sizes[loop.rank - 1];
  int64_t ds = loop.strides[0][loop.rank - 1];
  int64_t ss = loop.strides[1][loop.rank - 1];
  ddk_ku_math math = ddk_ku_math_of(dst_dtype);
  ddk_ku_cursor c;
  ddk_ku_cursor_init(&c);
  for (int64_t done = 0; done < loop.numel; done += inner) {
    for (int64_t j = 0; j < inner; j += DDK_KU_CHUNK) {
      int64_t n = ddk_ku_min(DDK_KU_CHUNK, inner - j);
      int64_t so = c.offset[1] + j * ss, dof = c.offset[0] + j * ds;
      if (math == DDK_KU_MATH_F32) {
        float a[DDK_KU_CHUNK], o[DDK_KU_CHUNK];
        const float* x = ddk_ku_row_f32(a, src, src_dtype, dst_dtype, so, ss, n);
        float* y = ddk_ku_out_row_f32(o, dst, dst_dtype, dof, ds);
        if (y != x) memcpy(y, x, (size_t)n * sizeof *y);
        ddk_ku_out_row_commit_f32(y, dst, dst_dtype, dof, ds, n);
      } else if (math == DDK_KU_MATH_F64) {
        double a[DDK_KU_CHUNK], o[DDK_KU_CHUNK];
        const double* x = ddk_ku_row_f64(a, src, src_dtype, dst_dtype, so, ss, n);
        double* y = ddk_ku_out_row_f64(o, dst, dst_dtype, dof, ds);
        if (y != x) memcpy(y, x, (size_t)n * sizeof *y);
        ddk_ku_out_row_commit_f64(y, dst, dst_dtype, dof, ds, n);
      } else if (math == DDK_KU_MATH_I64) {
        int64_t a[DDK_KU_CHUNK], o[DDK_KU_CHUNK];
        const int64_t* x = ddk_ku_row_i64(a, src, src_dtype, dst_dtype, so, ss, n);
        int64_t* y = ddk_ku_out_row_i64(o, dst, dst_dtype, dof, ds);
        if (y != x) memcpy(y, x, (size_t)n * sizeof *y);
        ddk_ku_out_row_commit_i64(y, dst, dst_dtype, dof, ds, n);
      }
    }
    ddk_ku_cursor_next_row(&loop, &c);
  }
}

/* ------------------------------------------------------------------------ */
/* Arguments                                                                */
/* ------------------------------------------------------------------------ */

ddk_status ddk_ku_arg_scalar(ddk_kernel_ctx* ctx, const ddk_node_view* node, uint32_t index,
                             const char* name, ddk_ku_scalar* out) {
  memset(out, 0, sizeof *out);
  if (index >= node->num_args)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "missing argument '%s'", name);
  const ddk_arg* a = &node->args[index];
  switch (a->kind) {
    case DDK_ARG_INT:
      out->i = a->u.i;
      return DDK_OK;
    case DDK_ARG_BOOL:
      out->is_bool = true;
      out->i = a->u.b ? 1 : 0;
      return DDK_OK;
    case DDK_ARG_FLOAT:
      out->is_float = true;
      out->f = a->u.f;
      return DDK_OK;
    default:
      return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT,
                             "argument '%s' must be a Scalar (int, float or bool)", name);
  }
}

bool ddk_ku_scalar_to_i64(const ddk_ku_scalar* s, ddk_dtype dtype, int64_t* out) {
  int64_t v = s->i;
  if (s->is_float) {
    /* c10 checks a floating value before truncating it: it must satisfy
     * lowest <= f < max + 1 of the target (uint8 gets no negative wrap) */
    double lo = -9223372036854775808.0, hi = 9223372036854775808.0;
    switch (dtype) {
      case DDK_DTYPE_UINT8: lo = 0.0; hi = 256.0; break;
      case DDK_DTYPE_INT8: lo = -128.0; hi = 128.0; break;
      case DDK_DTYPE_INT16: lo = -32768.0; hi = 32768.0; break;
      case DDK_DTYPE_INT32: lo = -2147483648.0; hi = 2147483648.0; break;
      default: break;
    }
    if (dtype != DDK_DTYPE_BOOL && !(s->f >= lo && s->f < hi)) return false;
    if (!(s->f >= -9223372036854775808.0 && s->f < 9223372036854775808.0)) {
      *out = s->f != 0.0; /* bool: any nonzero value (NaN too) is true */
      return dtype == DDK_DTYPE_BOOL;
    }
    v = (int64_t)s->f;
    if (dtype == DDK_DTYPE_BOOL) v = s->f != 0.0;
  }
  *out = v;
  switch (dtype) {
    case DDK_DTYPE_BOOL:
    case DDK_DTYPE_INT64:
      return true;
    case DDK_DTYPE_UINT8: /* c10 lets negative values wrap into uint8 */
      return v >= -255 && v <= 255;
    case DDK_DTYPE_INT8:
      return v >= INT8_MIN && v <= INT8_MAX;
    case DDK_DTYPE_INT16:
      return v >= INT16_MIN && v <= INT16_MAX;
    case DDK_DTYPE_INT32:
      return v >= INT32_MIN && v <= INT32_MAX;
    default:
      return true;
  }
}

bool ddk_ku_scalar_to_float(const ddk_ku_scalar* s, ddk_dtype dtype, double* out) {
  double v = ddk_ku_scalar_f64(s);
  *out = v;
  if (!isfinite(v)) return true;
  switch (dtype) {
    case DDK_DTYPE_FLOAT32:
      return fabs(v) <= (double)FLT_MAX;
    case DDK_DTYPE_FLOAT16:
      return fabs(v) <= 65504.0;
    case DDK_DTYPE_BFLOAT16:
      return fabs(v) <= 3.3895313892515355e38;
    default:
      return true;
  }
}

ddk_status ddk_ku_arg_int_list(ddk_kernel_ctx* ctx, const ddk_node_view* node, uint32_t index,
                               const char* name, uint32_t n, const int64_t* dflt, int64_t* out) {
  if (index >= node->num_args)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "missing argument '%s'", name);
  const ddk_arg* a = &node->args[index];
  if (a->kind == DDK_ARG_INT) {
    for (uint32_t i = 0; i < n; ++i) out[i] = a->u.i;
    return DDK_OK;
  }
  if (a->kind == DDK_ARG_INT_LIST && (a->count == n || a->count == 1)) {
    for (uint32_t i = 0; i < n; ++i) out[i] = a->u.ints[a->count == 1 ? 0 : i];
    return DDK_OK;
  }
  if (dflt != NULL && (a->kind == DDK_ARG_NONE || (a->kind == DDK_ARG_INT_LIST && a->count == 0))) {
    for (uint32_t i = 0; i < n; ++i) out[i] = dflt[i];
    return DDK_OK;
  }
  return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT,
                         "argument '%s' must be a list of 1 or %u ints", name, n);
}
