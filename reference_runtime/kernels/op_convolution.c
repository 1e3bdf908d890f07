/*
 * op_convolution.c — aten::convolution (1-d, 2-d and 3-d; plain and
 * transposed; stride, padding, dilation, groups, output_padding).
 *
 * Semantics (ATen CPU):
 *  - input [N, C, *in], weight [Cout, C/groups, *k] (transposed:
 *    [C, Cout/groups, *k]), optional bias [Cout] cast to the input dtype;
 *  - out = (in + 2p - d(k-1) - 1) / s + 1, transposed
 *    out = (in - 1)s - 2p + d(k-1) + output_padding + 1;
 *  - one-element stride/padding/dilation/output_padding lists apply to
 *    every spatial dim;
 *  - products accumulate in float for float16/bfloat16/float32, double for
 *    float64, wrapping 64-bit integers for integer dtypes (int8 results
 *    wrap like ATen's); the bias is added to the sum and the result is
 *    rounded once.
 *
 * Dtypes: float16, bfloat16, float32, float64, int64; uint8, int8, int16,
 * int32 for plain, undilated convolution only (ATen has no transposed or
 * dilated kernel for those). Input and weight share one dtype.
 * Layout: any strides for input, weight and bias (channels-last is read in
 * place); the output is written through its strides.
 *
 * Loop structure (implicit GEMM, no im2col buffer, no allocation): per
 * sample and group, out[oc, pos] = sum_q W[oc, q] * X[q, pos] with q
 * running over (input channel, kernel taps) and pos over output
 * positions. Blocks of CONV_MC output channels x CONV_NC positions keep
 * their sums in a stack buffer; for each CONV_KC slice of q, the weights
 * are packed into CONV_MR-row panels and the input patches into
 * CONV_NR-column panels on the fly (padding and, for transposed
 * convolution, positions between strides pack as zeros), and the same
 * register-blocked micro-kernel as op_matmul.c runs over them. Each
 * result still sums its products in order in one accumulator of the math
 * type.
 */
#include "kernel_util.h"

typedef struct conv_problem {
  ddk_dtype dt;
  bool transposed;
  int64_t N, G, cin_g, cout_g;
  int64_t in[3], out[3], k[3], s[3], p[3], d[3];
  const void* x;
  int64_t xs_n, xs_c, xs[3];
  const void* w;
  int64_t ws0, ws1, ws[3];
  const void* bias;
  ddk_dtype bias_dt;
  int64_t bs;
  void* y;
  int64_t ys_n, ys_c, ys[3];
} conv_problem;

/* The input index a kernel tap reads for output index o along one dim, or
 * -1 when it falls into padding (plain) / between strides (transposed). */
static int64_t conv_src(const conv_problem* p, int dim, int64_t o, int64_t k) {
  if (!p->transposed) {
    int64_t i = o * p->s[dim] - p->p[dim] + k * p->d[dim];
    return (i >= 0 && i < p->in[dim]) ? i : -1;
  }
  int64_t t = o + p->p[dim] - k * p->d[dim];
  if (t < 0 || t % p->s[dim] != 0) return -1;
  t /= p->s[dim];
  return t < p->in[dim] ? t : -1;
}

#define CONV_MR 4
#define CONV_NR 8
#define CONV_MC 64
#define CONV_NC 64
#define CONV_KC_4 128 /* depth of a packed slice, 4-byte math types */
#define CONV_KC_8 64  /* 8-byte math types (stack buffers stay under 100 KiB) */

/* Kernel index q -> (input channel in group, taps d, h, w). */
static void conv_split_q(const conv_problem* p, int64_t q, int64_t* icg, int64_t t[3]) {
  t[2] = q % p->k[2];
  q /= p->k[2];
  t[1] = q % p->k[1];
  q /= p->k[1];
  t[0] = q % p->k[0];
  *icg = q / p->k[0];
}

/* Output position index -> (d, h, w). */
static void conv_split_pos(const conv_problem* p, int64_t pos, int64_t o[3]) {
  o[2] = pos % p->out[2];
  pos /= p->out[2];
  o[1] = pos % p->out[1];
  o[0] = pos / p->out[1];
}

/* True when elements of dtype `dt` are stored as math type `m` itself
 * (float32, float64, int64), so packing may read them directly. */
static bool conv_direct(ddk_dtype dt, ddk_ku_math m) {
  return (m == DDK_KU_MATH_F32 && dt == DDK_DTYPE_FLOAT32) ||
         (m == DDK_KU_MATH_F64 && dt == DDK_DTYPE_FLOAT64) ||
         (m == DDK_KU_MATH_I64 && dt == DDK_DTYPE_INT64);
}

#define CONV_DEFINE(SUF, MT, AT, KC)                                                            \
  static void conv_micro_##SUF(int64_t kc, const AT* restrict a, const AT* restrict b,          \
                               AT* restrict c, int64_t ldc) {                                   \
    AT acc[CONV_MR][CONV_NR];                                                                   \
    for (int i = 0; i < CONV_MR; ++i)                                                           \
      for (int j = 0; j < CONV_NR; ++j) acc[i][j] = c[i * ldc + j];                             \
    for (int64_t k = 0; k < kc; ++k) {                                                          \
      const AT* restrict ak = a + k * CONV_MR;                                                  \
      const AT* restrict bk = b + k * CONV_NR;                                                  \
      for (int i = 0; i < CONV_MR; ++i)                                                         \
        for (int j = 0; j < CONV_NR; ++j) acc[i][j] += ak[i] * bk[j];                           \
    }                                                                                           \
    for (int i = 0; i < CONV_MR; ++i)                                                           \
      for (int j = 0; j < CONV_NR; ++j) c[i * ldc + j] = acc[i][j];                             \
  }                                                                                             \
                                                                                                \
  /* Weights of group g, out channels [oc0, oc0 + mc) x q in [q0, q0 + kc). */                  \
  static void conv_pack_w_##SUF(const conv_problem* p, int64_t g, int64_t oc0, int64_t mc,      \
                                int64_t q0, int64_t kc, AT* restrict dst) {                     \
    const int64_t panels = (mc + CONV_MR - 1) / CONV_MR;                                        \
    const bool direct = conv_direct(p->dt, DDK_KU_MATH_OF_TYPE_(MT));                           \
    const MT* wd = (const MT*)p->w;                                                             \
    for (int64_t k = 0; k < kc; ++k) {                                                          \
      int64_t icg, t[3];                                                                        \
      conv_split_q(p, q0 + k, &icg, t);                                                         \
      const int64_t ic = g * p->cin_g + icg;                                                    \
      const int64_t toff = t[0] * p->ws[0] + t[1] * p->ws[1] + t[2] * p->ws[2];                 \
      for (int64_t ii = 0; ii < panels * CONV_MR; ++ii) {                                       \
        AT v = 0;                                                                               \
        if (ii < mc) {                                                                          \
          const int64_t ocg = oc0 + ii;                                                         \
          const int64_t off = p->transposed ? ic * p->ws0 + ocg * p->ws1                        \
                                            : (g * p->cout_g + ocg) * p->ws0 + icg * p->ws1;    \
          v = (AT)(direct ? wd[off + toff] : ddk_ku_load_##SUF(p->w, p->dt, off + toff));       \
        }                                                                                       \
        dst[(ii / CONV_MR) * kc * CONV_MR + k * CONV_MR + ii % CONV_MR] = v;                    \
      }                                                                                         \
    }                                                                                           \
  }                                                                                             \
                                                                                                \
  /* Input patches of sample n, group g: q in [q0, q0 + kc) x output                            \
   * positions [j0, j0 + nc). */                                                                \
  static void conv_pack_x_##SUF(const conv_problem* p, int64_t n, int64_t g, int64_t q0,        \
                                int64_t kc, int64_t j0, int64_t nc, AT* restrict dst) {         \
    const int64_t panels = (nc + CONV_NR - 1) / CONV_NR;                                        \
    const bool direct = conv_direct(p->dt, DDK_KU_MATH_OF_TYPE_(MT));                           \
    const MT* xd = (const MT*)p->x;                                                             \
    for (int64_t k = 0; k < kc; ++k) {                                                          \
      int64_t icg, t[3], o[3];                                                                  \
      conv_split_q(p, q0 + k, &icg, t);                                                         \
      conv_split_pos(p, j0, o);                                                                 \
      const int64_t cbase = n * p->xs_n + (g * p->cin_g + icg) * p->xs_c;                       \
      AT* d = dst + k * CONV_NR;                                                                \
      int64_t jj = 0;                                                                           \
      while (jj < nc) { /* one run along the last output dim */                                 \
        const int64_t run = ddk_ku_min(nc - jj, p->out[2] - o[2]);                              \
        const int64_t id = conv_src(p, 0, o[0], t[0]), ih = conv_src(p, 1, o[1], t[1]);         \
        const int64_t rowbase = cbase + id * p->xs[0] + ih * p->xs[1];                          \
        const int64_t step = p->s[2], first = t[2] * p->d[2] - p->p[2];                         \
        for (int64_t r = 0; r < run; ++r, ++jj) {                                               \
          int64_t iw = -1;                                                                      \
          if (id >= 0 && ih >= 0) {                                                             \
            if (p->transposed) {                                                                \
              iw = conv_src(p, 2, o[2] + r, t[2]);                                              \
            } else {                                                                            \
              iw = (o[2] + r) * step + first;                                                   \
              if (iw >= p->in[2]) iw = -1;                                                      \
            }                                                                                   \
          }                                                                                     \
          AT v = 0;                                                                             \
          if (iw >= 0) {                                                                        \
            const int64_t off = rowbase + iw * p->xs[2];                                        \
            v = (AT)(direct ? xd[off] : ddk_ku_load_##SUF(p->x, p->dt, off));                   \
          }                                                                                     \
          d[(jj / CONV_NR) * kc * CONV_NR + jj % CONV_NR] = v;                                  \
        }                                                                                       \
        o[2] += run;                                                                            \
        if (o[2] == p->out[2]) {                                                                \
          o[2] = 0;                                                                             \
          if (++o[1] == p->out[1]) {                                                            \
            o[1] = 0;                                                                           \
            ++o[0];                                                                             \
          }                                                                                     \
        }                                                                                       \
      }                                                                                         \
      for (; jj < panels * CONV_NR; ++jj) d[(jj / CONV_NR) * kc * CONV_NR + jj % CONV_NR] = 0;  \
    }                                                                                           \
  }                                                                                             \
                                                                                                \
  static void conv_##SUF(const conv_problem* p) {                                               \
    const ddk_dtype dt = p->dt;                                                                 \
    AT wpack[CONV_MC * KC], xpack[KC * CONV_NC];                                                \
    AT cbuf[CONV_MC][CONV_NC];                                                                  \
    MT scr[CONV_NC];                                                                            \
    const int64_t Q = p->cin_g * p->k[0] * p->k[1] * p->k[2];                                   \
    const int64_t P = p->out[0] * p->out[1] * p->out[2];                                        \
    for (int64_t n = 0; n < p->N; ++n)                                                          \
      for (int64_t g = 0; g < p->G; ++g)                                                        \
        for (int64_t j0 = 0; j0 < P; j0 += CONV_NC) {                                           \
          const int64_t nc = ddk_ku_min(CONV_NC, P - j0);                                       \
          const int64_t npan = (nc + CONV_NR - 1) / CONV_NR;                                    \
          for (int64_t i0 = 0; i0 < p->cout_g; i0 += CONV_MC) {                                 \
            const int64_t mc = ddk_ku_min(CONV_MC, p->cout_g - i0);                             \
            const int64_t mpan = (mc + CONV_MR - 1) / CONV_MR;                                  \
            memset(cbuf, 0, sizeof cbuf);                                                       \
            for (int64_t q0 = 0; q0 < Q; q0 += KC) {                                            \
              const int64_t kc = ddk_ku_min(KC, Q - q0);                                        \
              conv_pack_x_##SUF(p, n, g, q0, kc, j0, nc, xpack);                                \
              conv_pack_w_##SUF(p, g, i0, mc, q0, kc, wpack);                                   \
              for (int64_t ip = 0; ip < mpan; ++ip)                                             \
                for (int64_t jp = 0; jp < npan; ++jp)                                           \
                  conv_micro_##SUF(kc, wpack + ip * kc * CONV_MR, xpack + jp * kc * CONV_NR,    \
                                   &cbuf[ip * CONV_MR][jp * CONV_NR], CONV_NC);                 \
            }                                                                                   \
            for (int64_t ii = 0; ii < mc; ++ii) {                                               \
              const int64_t oc = g * p->cout_g + i0 + ii;                                       \
              AT bias = 0;                                                                      \
              if (p->bias != NULL)                                                              \
                bias = (AT)ddk_ku_row_##SUF(scr, p->bias, p->bias_dt, dt, oc * p->bs, 1, 1)[0]; \
              /* write the block row in runs along the output's last dim */                     \
              for (int64_t jj = 0; jj < nc;) {                                                  \
                int64_t o[3];                                                                   \
                conv_split_pos(p, j0 + jj, o);                                                  \
                const int64_t run = ddk_ku_min(nc - jj, p->out[2] - o[2]);                      \
                const int64_t yoff = n * p->ys_n + oc * p->ys_c + o[0] * p->ys[0] +             \
                                     o[1] * p->ys[1] + o[2] * p->ys[2];                         \
                MT* out = ddk_ku_out_row_##SUF(scr, p->y, dt, yoff, p->ys[2]);                  \
                for (int64_t t = 0; t < run; ++t) out[t] = (MT)(cbuf[ii][jj + t] + bias);       \
                ddk_ku_out_row_commit_##SUF(out, p->y, dt, yoff, p->ys[2], run);                \
                jj += run;                                                                      \
              }                                                                                 \
            }                                                                                   \
          }                                                                                     \
        }                                                                                       \
  }

CONV_DEFINE(f32, float, float, CONV_KC_4)
CONV_DEFINE(f64, double, double, CONV_KC_8)
CONV_DEFINE(i64, int64_t, uint64_t, CONV_KC_8)

ddk_status ddk_kernel_aten_convolution(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  if (node->num_args < 9 || node->num_outputs < 1)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong number of arguments");
  const ddk_tensor* x = ddk_kernel_arg_tensor(ctx, node, 0);
  const ddk_tensor* w = ddk_kernel_arg_tensor(ctx, node, 1);
  ddk_tensor* y = ddk_kernel_out(ctx, node, 0);
  const ddk_tensor* b = NULL;
  if (node->args[2].kind == DDK_ARG_TENSOR) b = ddk_kernel_arg_tensor(ctx, node, 2);
  const ddk_arg* targ = &node->args[6];
  const ddk_arg* garg = &node->args[8];
  if (targ->kind != DDK_ARG_BOOL || garg->kind != DDK_ARG_INT || garg->u.i <= 0)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT,
                           "transposed must be a bool and groups a positive int");
  const bool transposed = targ->u.b;
  uint32_t dtypes = DDK_KU_MASK_FLOATS | (transposed ? DDK_KU_BIT(INT64) : DDK_KU_MASK_INTS);
  ddk_status st = ddk_ku_check_dtype(ctx, node, "input", x, dtypes);
  if (st == DDK_OK && b != NULL) st = ddk_ku_check_dtype(ctx, node, "bias", b, DDK_KU_MASK_REAL);
  if (st != DDK_OK) return st;
  if (w->dtype != x->dtype || y->dtype != x->dtype)
    return ddk_kernel_fail(
        ctx, node, DDK_DTYPE_MISMATCH, "input %s, weight %s and result %s must share one dtype",
        ddk_dtype_name(x->dtype), ddk_dtype_name(w->dtype), ddk_dtype_name(y->dtype));
  if (x->rank < 3 || x->rank > 5 || w->rank != x->rank || y->rank != x->rank)
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH,
                           "input, weight and result must all be 3-D, 4-D or 5-D");
  const uint32_t sp = x->rank - 2; /* spatial dims */
  const int64_t one[3] = {1, 1, 1}, zero[3] = {0, 0, 0};
  int64_t stride[3], pad[3], dil[3], opad[3];
  st = ddk_ku_arg_int_list(ctx, node, 3, "stride", sp, NULL, stride);
  if (st == DDK_OK) st = ddk_ku_arg_int_list(ctx, node, 4, "padding", sp, zero, pad);
  if (st == DDK_OK) st = ddk_ku_arg_int_list(ctx, node, 5, "dilation", sp, one, dil);
  if (st == DDK_OK) st = ddk_ku_arg_int_list(ctx, node, 7, "output_padding", sp, zero, opad);
  if (st != DDK_OK) return st;
  bool dilated = false;
  for (uint32_t i = 0; i < sp; ++i) dilated = dilated || dil[i] != 1;
  if (dilated && ddk_ku_dtype_in(x->dtype, DDK_KU_MASK_INTS & ~DDK_KU_BIT(INT64)))
    return ddk_kernel_fail(ctx, node, DDK_UNSUPPORTED_DTYPE,
                           "dtype %s of input is not supported with dilation",
                           ddk_dtype_name(x->dtype));

  conv_problem p;
  memset(&p, 0, sizeof p);
  p.dt = x->dtype;
  p.transposed = transposed;
  p.N = x->sizes[0];
  p.G = garg->u.i;
  const int64_t C = x->sizes[1];
  p.cin_g = C / p.G;
  p.cout_g = transposed ? w->sizes[1] : w->sizes[0] / p.G;
  const bool channels_ok = transposed ? (w->sizes[0] == C && C % p.G == 0)
                                      : (w->sizes[1] * p.G == C && w->sizes[0] % p.G == 0);
  if (!channels_ok)
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH,
                           "weight channels do not match input channels / groups");
  if (y->sizes[0] != p.N || y->sizes[1] != p.G * p.cout_g ||
      (b != NULL && (b->rank != 1 || b->sizes[0] != p.G * p.cout_g)))
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "result or bias channels are wrong");
  p.xs_n = x->strides[0];
  p.xs_c = x->strides[1];
  p.ws0 = w->strides[0];
  p.ws1 = w->strides[1];
  p.ys_n = y->strides[0];
  p.ys_c = y->strides[1];
  for (int d = 0; d < 3; ++d) { /* right-align the spatial dims into D, H, W */
    int src = d - (3 - (int)sp);
    p.in[d] = p.out[d] = p.k[d] = p.s[d] = p.d[d] = 1;
    if (src < 0) continue;
    p.in[d] = x->sizes[2 + src];
    p.out[d] = y->sizes[2 + src];
    p.k[d] = w->sizes[2 + src];
    p.s[d] = stride[src];
    p.p[d] = pad[src];
    p.d[d] = dil[src];
    p.xs[d] = x->strides[2 + src];
    p.ws[d] = w->strides[2 + src];
    p.ys[d] = y->strides[2 + src];
    if (p.s[d] <= 0 || p.d[d] <= 0 || p.p[d] < 0 || opad[src] < 0)
      return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT,
                             "stride and dilation must be positive, padding non-negative");
    int64_t span = p.d[d] * (p.k[d] - 1);
    int64_t expect = transposed ? (p.in[d] - 1) * p.s[d] - 2 * p.p[d] + span + opad[src] + 1
                                : (p.in[d] + 2 * p.p[d] - span - 1) / p.s[d] + 1;
    if (!transposed && p.in[d] + 2 * p.p[d] < span + 1) expect = -1;
    if (expect != p.out[d])
      return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH,
                             "result spatial size %lld, expected %lld", (long long)p.out[d],
                             (long long)expect);
  }
  if (b != NULL) {
    p.bias = b->data;
    p.bias_dt = b->dtype;
    p.bs = b->strides[0];
  }
  p.x = x->data;
  p.w = w->data;
  p.y = y->data;
  switch (ddk_ku_math_of(p.dt)) {
    case DDK_KU_MATH_F32:
      conv_f32(&p);
      break;
    case DDK_KU_MATH_F64:
      conv_f64(&p);
      break;
    case DDK_KU_MATH_I64:
      conv_i64(&p);
      break;
    case DDK_KU_MATH_NONE:
      break;
  }
  return DDK_OK;
}
