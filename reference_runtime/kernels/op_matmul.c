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
 * Loop structure: the output is computed in MM_MB x MM_NB tiles held in an
 * accumulator on the stack; for each k the tile takes a rank-1 update from
 * MM_MB values of mat1 and a row of MM_NB values of mat2 (a unit-stride
 * inner loop the compiler vectorises). Tiles walk down a column panel of
 * mat2 (K x MM_NB), so that panel stays in cache while every row block of
 * mat1 streams past it.
 */
#include "kernel_util.h"

#define MM_MB 4
#define MM_NB 64
#define MM_KC 64

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

/* One tiled product per math type: MT is the math type, AT the accumulator
 * (uint64_t for integers so that overflow wraps without UB). */
#define MM_DEFINE(SUF, MT, AT, ALPHA, BETA)                                                       \
  static void mm_##SUF(const mm_problem* p) {                                                     \
    const ddk_dtype dt = p->dtype;                                                                \
    const AT alpha = (ALPHA), beta = (BETA);                                                      \
    MT ascr[MM_MB][MM_KC], bscr[MM_NB], sscr[MM_NB], oscr[MM_NB];                                 \
    AT acc[MM_MB][MM_NB];                                                                         \
    for (int64_t j0 = 0; j0 < p->cols; j0 += MM_NB) {                                             \
      const int64_t nb = ddk_ku_min(MM_NB, p->cols - j0);                                         \
      for (int64_t i0 = 0; i0 < p->rows; i0 += MM_MB) {                                           \
        const int64_t mb = ddk_ku_min(MM_MB, p->rows - i0);                                       \
        memset(acc, 0, sizeof acc);                                                               \
        for (int64_t k0 = 0; p->alpha_nonzero && k0 < p->depth; k0 += MM_KC) {                    \
          const int64_t kc = ddk_ku_min(MM_KC, p->depth - k0);                                    \
          const MT* arow[MM_MB];                                                                  \
          for (int64_t ii = 0; ii < mb; ++ii)                                                     \
            arow[ii] = ddk_ku_row_##SUF(ascr[ii], p->a, dt, dt,                                   \
                                        p->a_off + (i0 + ii) * p->as0 + k0 * p->as1, p->as1, kc); \
          for (int64_t k = 0; k < kc; ++k) {                                                      \
            const MT* brow = ddk_ku_row_##SUF(                                                    \
                bscr, p->b, dt, dt, p->b_off + (k0 + k) * p->bs0 + j0 * p->bs1, p->bs1, nb);      \
            for (int64_t ii = 0; ii < mb; ++ii) {                                                 \
              const AT av = (AT)arow[ii][k];                                                      \
              AT* accr = acc[ii];                                                                 \
              for (int64_t jj = 0; jj < nb; ++jj) accr[jj] += av * (AT)brow[jj];                  \
            }                                                                                     \
          }                                                                                       \
        }                                                                                         \
        for (int64_t ii = 0; ii < mb; ++ii) {                                                     \
          const int64_t coff = p->c_off + (i0 + ii) * p->cs0 + j0 * p->cs1;                       \
          MT* o = ddk_ku_out_row_##SUF(oscr, p->c, dt, coff, p->cs1);                             \
          const MT* srow = NULL;                                                                  \
          if (p->s != NULL)                                                                       \
            srow = ddk_ku_row_##SUF(sscr, p->s, dt, dt,                                           \
                                    p->s_off + (i0 + ii) * p->ss0 + j0 * p->ss1, p->ss1, nb);     \
          for (int64_t jj = 0; jj < nb; ++jj) {                                                   \
            AT v = alpha * acc[ii][jj];                                                           \
            if (srow != NULL) v += beta * (AT)srow[jj];                                           \
            o[jj] = (MT)v;                                                                        \
          }                                                                                       \
          ddk_ku_out_row_commit_##SUF(o, p->c, dt, coff, p->cs1, nb);                             \
        }                                                                                         \
      }                                                                                           \
    }                                                                                             \
  }

MM_DEFINE(f32, float, float, (float)p->alpha_f, (float)p->beta_f)
MM_DEFINE(f64, double, double, p->alpha_f, p->beta_f)
MM_DEFINE(i64, int64_t, uint64_t, (uint64_t)p->alpha_i, (uint64_t)p->beta_i)

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
