/*
 * op_matmul.c — aten::mm, aten::addmm, aten::bmm.
 *
 * Semantics (ATen CPU):
 *  - every operand has the same dtype (ATen refuses mixed dtypes);
 *  - products accumulate in float for float16/bfloat16/float32, in double
 *    for float64 (rounded once into the output), in wrapping 64-bit
 *    integers for integer dtypes (so int8 results wrap as ATen's do);
 *  - addmm: out = beta * self + alpha * (mat1 @ mat2) with self broadcast
 *    to [M, N]. As BLAS, beta == 0 does not read self (NaN in self is
 *    ignored) and alpha == 0 does not read mat1/mat2. Integer results take
 *    alpha/beta truncated toward zero (c10::Scalar::to<int>()); float16 and
 *    bfloat16 take them in float.
 *
 * Dtypes: uint8, int8, int16, int32, int64, float16, bfloat16, float32,
 * float64 (bool is refused, as in ATen).
 * Layout: any strides (transposed or channels-last views are read in
 * place); the output is written through its strides.
 *
 * Loop structure (cache-blocked GEMM, no allocation): the output is cut
 * into MM_MC x MM_NC blocks whose running sums live in a float (double,
 * uint64) buffer on the stack; for each MM_KC_4 (MM_KC_8) slice of the
 * depth, the slice of mat1 is packed into MM_MR-row panels and the slice
 * of mat2 into MM_NR-column panels (converting the storage dtype to the
 * math type and honouring any strides while packing), and a
 * register-blocked MM_MR x MM_NR micro-kernel runs over the packed panels
 * with restrict pointers and constant trip counts, so the compiler keeps
 * the tile in vector registers. Sums over k still run in order within one
 * float accumulator per result (ATen's float accumulation); only the
 * blocking differs from a naive loop.
 */
#include "kernel_util.h"

#define MM_MR 4
#define MM_NR 8
#define MM_MC 32
#define MM_NC 64
/* Depth of a packed slice: MM_KC_4 for 4-byte math types, MM_KC_8 for
 * 8-byte ones, so that the stack buffers stay near 64 KiB either way. */
#define MM_KC_4 128
#define MM_KC_8 64

typedef struct mm_problem {
  ddk_dtype dtype;
  int64_t rows, cols, depth; /* M, N, K */
  const void* a;
  int64_t a_off, as0, as1;
  const void* b;
  int64_t b_off, bs0, bs1;
  const void* s;
  int64_t s_off, ss0, ss1; /* addmm self, NULL when unused */
  void* c;
  int64_t c_off, cs0, cs1;
  double alpha_f, beta_f;
  int64_t alpha_i, beta_i;
  bool alpha_nonzero;
} mm_problem;

/*
 * One blocked product per math type: MT is the math type, AT the
 * accumulator (uint64_t for integers so that overflow wraps without UB).
 *
 * Packed layouts: apack holds ceil(mc / MR) panels of kc x MR values
 * (panel-major, then k, then row); bpack ceil(nc / NR) panels of kc x NR
 * values. Rows/columns past the matrix edge are packed as zeros, so the
 * micro-kernel always runs full tiles; only the valid part is kept.
 */
#define MM_DEFINE(SUF, MT, AT, ALPHA, BETA, MM_KC)                                                 \
  static void mm_micro_##SUF(int64_t kc, const AT* restrict a, const AT* restrict b,               \
                             AT* restrict c, int64_t ldc) {                                        \
    AT acc[MM_MR][MM_NR];                                                                          \
    for (int i = 0; i < MM_MR; ++i)                                                                \
      for (int j = 0; j < MM_NR; ++j) acc[i][j] = c[i * ldc + j];                                  \
    for (int64_t k = 0; k < kc; ++k) {                                                             \
      const AT* restrict ak = a + k * MM_MR;                                                       \
      const AT* restrict bk = b + k * MM_NR;                                                       \
      for (int i = 0; i < MM_MR; ++i)                                                              \
        for (int j = 0; j < MM_NR; ++j) acc[i][j] += ak[i] * bk[j];                                \
    }                                                                                              \
    for (int i = 0; i < MM_MR; ++i)                                                                \
      for (int j = 0; j < MM_NR; ++j) c[i * ldc + j] = acc[i][j];                                  \
  }                                                                                                \
                                                                                                   \
  /* Packs rows [i0, i0 + mc) x depth [k0, k0 + kc) of mat1. */                                    \
  static void mm_pack_a_##SUF(const mm_problem* p, int64_t i0, int64_t mc, int64_t k0, int64_t kc, \
                              AT* restrict dst) {                                                  \
    MT scr[MM_KC];                                                                                 \
    const int64_t panels = (mc + MM_MR - 1) / MM_MR;                                               \
    for (int64_t ii = 0; ii < panels * MM_MR; ++ii) {                                              \
      AT* d = dst + (ii / MM_MR) * kc * MM_MR + ii % MM_MR;                                        \
      if (ii >= mc) {                                                                              \
        for (int64_t k = 0; k < kc; ++k) d[k * MM_MR] = 0;                                         \
        continue;                                                                                  \
      }                                                                                            \
      const MT* row = ddk_ku_row_##SUF(scr, p->a, p->dtype, p->dtype,                              \
                                       p->a_off + (i0 + ii) * p->as0 + k0 * p->as1, p->as1, kc);   \
      for (int64_t k = 0; k < kc; ++k) d[k * MM_MR] = (AT)row[k];                                  \
    }                                                                                              \
  }                                                                                                \
                                                                                                   \
  /* Packs depth [k0, k0 + kc) x columns [j0, j0 + nc) of mat2. */                                 \
  static void mm_pack_b_##SUF(const mm_problem* p, int64_t k0, int64_t kc, int64_t j0, int64_t nc, \
                              AT* restrict dst) {                                                  \
    MT scr[MM_NC];                                                                                 \
    const int64_t panels = (nc + MM_NR - 1) / MM_NR;                                               \
    for (int64_t k = 0; k < kc; ++k) {                                                             \
      const MT* row = ddk_ku_row_##SUF(scr, p->b, p->dtype, p->dtype,                              \
                                       p->b_off + (k0 + k) * p->bs0 + j0 * p->bs1, p->bs1, nc);    \
      for (int64_t jp = 0; jp < panels; ++jp) {                                                    \
        AT* d = dst + jp * kc * MM_NR + k * MM_NR;                                                 \
        for (int j = 0; j < MM_NR; ++j) {                                                          \
          const int64_t jj = jp * MM_NR + j;                                                       \
          d[j] = jj < nc ? (AT)row[jj] : (AT)0;                                                    \
        }                                                                                          \
      }                                                                                            \
    }                                                                                              \
  }                                                                                                \
                                                                                                   \
  static void mm_##SUF(const mm_problem* p) {                                                      \
    const ddk_dtype dt = p->dtype;                                                                 \
    const AT alpha = (ALPHA), beta = (BETA);                                                       \
    AT apack[MM_MC * MM_KC], bpack[MM_KC * MM_NC];                                                 \
    AT cbuf[MM_MC][MM_NC];                                                                         \
    MT sscr[MM_NC], oscr[MM_NC];                                                                   \
    for (int64_t j0 = 0; j0 < p->cols; j0 += MM_NC) {                                              \
      const int64_t nc = ddk_ku_min(MM_NC, p->cols - j0);                                          \
      const int64_t npan = (nc + MM_NR - 1) / MM_NR;                                               \
      for (int64_t i0 = 0; i0 < p->rows; i0 += MM_MC) {                                            \
        const int64_t mc = ddk_ku_min(MM_MC, p->rows - i0);                                        \
        const int64_t mpan = (mc + MM_MR - 1) / MM_MR;                                             \
        memset(cbuf, 0, sizeof cbuf);                                                              \
        for (int64_t k0 = 0; p->alpha_nonzero && k0 < p->depth; k0 += MM_KC) {                     \
          const int64_t kc = ddk_ku_min(MM_KC, p->depth - k0);                                     \
          mm_pack_b_##SUF(p, k0, kc, j0, nc, bpack);                                               \
          mm_pack_a_##SUF(p, i0, mc, k0, kc, apack);                                               \
          for (int64_t ip = 0; ip < mpan; ++ip)                                                    \
            for (int64_t jp = 0; jp < npan; ++jp)                                                  \
              mm_micro_##SUF(kc, apack + ip * kc * MM_MR, bpack + jp * kc * MM_NR,                 \
                             &cbuf[ip * MM_MR][jp * MM_NR], MM_NC);                                \
        }                                                                                          \
        for (int64_t ii = 0; ii < mc; ++ii) {                                                      \
          const int64_t coff = p->c_off + (i0 + ii) * p->cs0 + j0 * p->cs1;                        \
          MT* o = ddk_ku_out_row_##SUF(oscr, p->c, dt, coff, p->cs1);                              \
          const MT* srow = NULL;                                                                   \
          if (p->s != NULL)                                                                        \
            srow = ddk_ku_row_##SUF(sscr, p->s, dt, dt,                                            \
                                    p->s_off + (i0 + ii) * p->ss0 + j0 * p->ss1, p->ss1, nc);      \
          for (int64_t jj = 0; jj < nc; ++jj) {                                                    \
            AT v = alpha * cbuf[ii][jj];                                                           \
            if (srow != NULL) v += beta * (AT)srow[jj];                                            \
            o[jj] = (MT)v;                                                                         \
          }                                                                                        \
          ddk_ku_out_row_commit_##SUF(o, p->c, dt, coff, p->cs1, nc);                              \
        }                                                                                          \
      }                                                                                            \
    }                                                                                              \
  }

MM_DEFINE(f32, float, float, (float)p->alpha_f, (float)p->beta_f, MM_KC_4)
MM_DEFINE(f64, double, double, p->alpha_f, p->beta_f, MM_KC_8)
MM_DEFINE(i64, int64_t, uint64_t, (uint64_t)p->alpha_i, (uint64_t)p->beta_i, MM_KC_8)

static void mm_run(const mm_problem* p) {
  switch (ddk_ku_math_of(p->dtype)) {
    case DDK_KU_MATH_F32:
      mm_f32(p);
      break;
    case DDK_KU_MATH_F64:
      mm_f64(p);
      break;
    case DDK_KU_MATH_I64:
      mm_i64(p);
      break;
    case DDK_KU_MATH_NONE:
      break;
  }
}

static const uint32_t kMatmulDtypes = DDK_KU_MASK_INTS | DDK_KU_MASK_FLOATS;

/* Checks the dtypes and ranks shared by mm/addmm/bmm. */
static ddk_status mm_check(ddk_kernel_ctx* ctx, const ddk_node_view* node, const ddk_tensor* a,
                           const ddk_tensor* b, const ddk_tensor* c, uint32_t rank) {
  ddk_status st = ddk_ku_check_dtype(ctx, node, "the first matrix", a, kMatmulDtypes);
  if (st != DDK_OK) return st;
  if (b->dtype != a->dtype || c->dtype != a->dtype)
    return ddk_kernel_fail(
        ctx, node, DDK_DTYPE_MISMATCH, "operands must share one dtype, got %s, %s and result %s",
        ddk_dtype_name(a->dtype), ddk_dtype_name(b->dtype), ddk_dtype_name(c->dtype));
  if (a->rank != rank || b->rank != rank || c->rank != rank)
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "operands must be %u-D", rank);
  uint32_t m = rank - 2, k = rank - 1;
  if (a->sizes[k] != b->sizes[m] || c->sizes[m] != a->sizes[m] || c->sizes[k] != b->sizes[k] ||
      (rank == 3 && (b->sizes[0] != a->sizes[0] || c->sizes[0] != a->sizes[0])))
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "matrix shapes do not line up");
  return DDK_OK;
}

static void mm_setup(mm_problem* p, const ddk_tensor* a, const ddk_tensor* b, ddk_tensor* c,
                     uint32_t rank) {
  memset(p, 0, sizeof *p);
  uint32_t m = rank - 2, k = rank - 1;
  p->dtype = a->dtype;
  p->rows = a->sizes[m];
  p->depth = a->sizes[k];
  p->cols = b->sizes[k];
  p->a = a->data;
  p->as0 = a->strides[m];
  p->as1 = a->strides[k];
  p->b = b->data;
  p->bs0 = b->strides[m];
  p->bs1 = b->strides[k];
  p->c = c->data;
  p->cs0 = c->strides[m];
  p->cs1 = c->strides[k];
  p->alpha_f = 1.0;
  p->alpha_i = 1;
  p->alpha_nonzero = true;
}

ddk_status ddk_kernel_aten_mm(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  if (node->num_args < 2 || node->num_outputs < 1)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong number of arguments");
  const ddk_tensor* a = ddk_kernel_arg_tensor(ctx, node, 0);
  const ddk_tensor* b = ddk_kernel_arg_tensor(ctx, node, 1);
  ddk_tensor* c = ddk_kernel_out(ctx, node, 0);
  ddk_status st = mm_check(ctx, node, a, b, c, 2);
  if (st != DDK_OK) return st;
  mm_problem p;
  mm_setup(&p, a, b, c, 2);
  mm_run(&p);
  return DDK_OK;
}

ddk_status ddk_kernel_aten_bmm(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  if (node->num_args < 2 || node->num_outputs < 1)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong number of arguments");
  const ddk_tensor* a = ddk_kernel_arg_tensor(ctx, node, 0);
  const ddk_tensor* b = ddk_kernel_arg_tensor(ctx, node, 1);
  ddk_tensor* c = ddk_kernel_out(ctx, node, 0);
  ddk_status st = mm_check(ctx, node, a, b, c, 3);
  if (st != DDK_OK) return st;
  mm_problem p;
  mm_setup(&p, a, b, c, 3);
  for (int64_t i = 0; i < a->sizes[0]; ++i) {
    p.a_off = i * a->strides[0];
    p.b_off = i * b->strides[0];
    p.c_off = i * c->strides[0];
    mm_run(&p);
  }
  return DDK_OK;
}

/* alpha/beta of addmm converted for dtype `dt`. */
static ddk_status addmm_scalar(ddk_kernel_ctx* ctx, const ddk_node_view* node, uint32_t index,
                               const char* name, ddk_dtype dt, double* f, int64_t* i) {
  ddk_ku_scalar s;
  ddk_status st = ddk_ku_arg_scalar(ctx, node, index, name, &s);
  if (st != DDK_OK) return st;
  bool ok;
  if (ddk_ku_math_of(dt) == DDK_KU_MATH_I64) {
    ok = ddk_ku_scalar_to_i64(&s, dt, i);
    *f = (double)*i;
  } else {
    ok = ddk_ku_scalar_to_float(&s, dt == DDK_DTYPE_FLOAT64 ? dt : DDK_DTYPE_FLOAT32, f);
    *i = 0;
  }
  if (!ok)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT,
                           "%s cannot be converted to %s without overflow", name,
                           ddk_dtype_name(dt));
  return DDK_OK;
}

ddk_status ddk_kernel_aten_addmm(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  if (node->num_args < 5 || node->num_outputs < 1)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong number of arguments");
  const ddk_tensor* s = ddk_kernel_arg_tensor(ctx, node, 0);
  const ddk_tensor* a = ddk_kernel_arg_tensor(ctx, node, 1);
  const ddk_tensor* b = ddk_kernel_arg_tensor(ctx, node, 2);
  ddk_tensor* c = ddk_kernel_out(ctx, node, 0);
  ddk_status st = mm_check(ctx, node, a, b, c, 2);
  if (st != DDK_OK) return st;
  if (s->dtype != a->dtype)
    return ddk_kernel_fail(ctx, node, DDK_DTYPE_MISMATCH, "self has dtype %s, mat1 %s",
                           ddk_dtype_name(s->dtype), ddk_dtype_name(a->dtype));
  mm_problem p;
  mm_setup(&p, a, b, c, 2);
  st = addmm_scalar(ctx, node, 3, "beta", a->dtype, &p.beta_f, &p.beta_i);
  if (st == DDK_OK) st = addmm_scalar(ctx, node, 4, "alpha", a->dtype, &p.alpha_f, &p.alpha_i);
  if (st != DDK_OK) return st;
  p.alpha_nonzero = p.alpha_f != 0.0 || p.alpha_i != 0;
  if (p.beta_f != 0.0 || p.beta_i != 0) {
    int64_t st2[2];
    if (!ddk_ku_broadcast_strides(s, c->sizes, 2, st2))
      return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH,
                             "self does not broadcast to [%lld, %lld]", (long long)p.rows,
                             (long long)p.cols);
    p.s = s->data;
    p.ss0 = st2[0];
    p.ss1 = st2[1];
  }
  mm_run(&p);
  return DDK_OK;
}
