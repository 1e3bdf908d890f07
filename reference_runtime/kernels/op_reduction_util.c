/*
 * op_reduction_util.c — the reduction driver (see op_reduction_util.h).
 */
#include "op_reduction_util.h"

#include <stdlib.h>

ddk_status ddk_red_dims(ddk_kernel_ctx* ctx, const ddk_node_view* node, const ddk_tensor* x,
                        uint32_t index, bool empty_is_all, bool* reduce) {
  for (uint32_t i = 0; i < DDK_MAX_RANK; ++i) reduce[i] = false;
  if (index >= node->num_args)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "missing argument 'dim'");
  const ddk_arg* a = &node->args[index];
  const int64_t* dims = NULL;
  uint32_t n = 0;
  if (a->kind == DDK_ARG_INT) {
    dims = &a->u.i;
    n = 1;
  } else if (a->kind == DDK_ARG_INT_LIST) {
    dims = a->u.ints;
    n = a->count;
  } else if (a->kind != DDK_ARG_NONE) {
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "argument 'dim' must be int[]?");
  }
  if (a->kind == DDK_ARG_NONE || (n == 0 && empty_is_all)) {
    for (uint32_t i = 0; i < x->rank; ++i) reduce[i] = true;
    return DDK_OK;
  }
  const int64_t r = x->rank == 0 ? 1 : (int64_t)x->rank;
  for (uint32_t i = 0; i < n; ++i) {
    int64_t d = dims[i];
    if (d < -r || d >= r)
      return ddk_kernel_fail(ctx, node, DDK_OUT_OF_RANGE, "dim %lld out of range", (long long)d);
    if (d < 0) d += r;
    if (x->rank == 0) continue;
    if (reduce[d])
      return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "dim %lld appears more than once",
                             (long long)d);
    reduce[d] = true;
  }
  return DDK_OK;
}

ddk_status ddk_red_plan_init(ddk_kernel_ctx* ctx, const ddk_node_view* node, ddk_red_plan* plan,
                             const ddk_tensor* x, const bool* reduce, bool keepdim,
                             const ddk_tensor* out0, const ddk_tensor* out1) {
  int64_t ks[DDK_MAX_RANK] = {0}, kst[3][DDK_MAX_RANK] = {{0}};
  int64_t rs[DDK_MAX_RANK] = {0}, rst[DDK_MAX_RANK] = {0};
  uint32_t nk = 0, nr = 0, yd = 0;
  const ddk_tensor* y1 = out1 != NULL ? out1 : out0;
  plan->count = 1;
  plan->any_empty = false;
  plan->num_out = out1 != NULL ? 2 : 1;
  if (y1->rank != out0->rank)
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "results differ in rank");
  for (uint32_t i = 0; i < x->rank; ++i) {
    if (reduce[i]) {
      rs[nr] = x->sizes[i];
      rst[nr++] = x->strides[i];
      plan->count *= x->sizes[i];
      if (x->sizes[i] == 0) plan->any_empty = true;
      if (keepdim) {
        if (yd >= out0->rank || out0->sizes[yd] != 1 || y1->sizes[yd] != 1) {
          yd = UINT32_MAX;
          break;
        }
        ++yd;
      }
      continue;
    }
    if (yd >= out0->rank || out0->sizes[yd] != x->sizes[i] || y1->sizes[yd] != x->sizes[i]) {
      yd = UINT32_MAX;
      break;
    }
    ks[nk] = x->sizes[i];
    kst[0][nk] = x->strides[i];
    kst[1][nk] = out0->strides[yd];
    kst[2][nk++] = y1->strides[yd++];
  }
  if (yd != out0->rank)
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH,
                           "result shape does not match the reduction");
  const int64_t* kp[3] = {kst[0], kst[1], kst[2]};
  const int64_t* rp[1] = {rst};
  ddk_ku_loop_init_strided(&plan->kept, ks, nk, kp, 3);
  ddk_ku_loop_init_strided(&plan->red, rs, nr, rp, 1);
  return DDK_OK;
}

const int64_t* ddk_red_row_i64(int64_t* scratch, const ddk_tensor* x, ddk_dtype round_to,
                               int64_t off, int64_t stride, int64_t n) {
  if (round_to == DDK_DTYPE_BOOL && ddk_ku_math_of(x->dtype) != DDK_KU_MATH_I64) {
    for (int64_t i = 0; i < n; ++i)
      scratch[i] = ddk_ku_load_f64(x->data, x->dtype, off + i * stride) != 0.0;
    return scratch;
  }
  return ddk_ku_row_i64(scratch, x->data, x->dtype, round_to, off, stride, n);
}

ddk_status ddk_red_arg_dtype(ddk_kernel_ctx* ctx, const ddk_node_view* node, uint32_t index,
                             ddk_dtype* out) {
  *out = DDK_DTYPE_INVALID;
  if (index >= node->num_args)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "missing argument 'dtype'");
  const ddk_arg* a = &node->args[index];
  if (a->kind == DDK_ARG_DTYPE) {
    *out = (ddk_dtype)a->u.i;
    return DDK_OK;
  }
  if (a->kind == DDK_ARG_NONE) return DDK_OK;
  return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "argument 'dtype' must be a ScalarType");
}

/* ------------------------------------------------------------------------ */
/* Folding                                                                  */
/* ------------------------------------------------------------------------ */

/* Neumaier-compensated addition of v into (*sum, *comp). */
static inline void red_add(double* sum, double* comp, double v) {
  const double s = *sum, t = s + v;
  if (isfinite(t)) *comp += fabs(s) >= fabs(v) ? (s - t) + v : (v - t) + s;
  *sum = t;
}

/*
 * Folds v[0..n) into the accumulators: value k goes to slot s0 + k*ss and
 * has reduced index r0 + k*rs (across: ss 1, rs 0; along: ss 0, rs 1).
 */
static void red_fold_f64(ddk_red_op op, ddk_red_acc* a, int64_t s0, int64_t ss, const double* v,
                         int64_t n, int64_t r0, int64_t rs) {
  double* f0 = a->f[0] + s0;
  double* f1 = a->f[1] + s0;
  int64_t* i0 = a->i[0] + s0;
  int64_t* i1 = a->i[1] + s0;
  switch (op) {
    case DDK_RED_SUM:
      for (int64_t k = 0; k < n; ++k) red_add(f0 + k * ss, f1 + k * ss, v[k]);
      break;
    case DDK_RED_PROD:
      for (int64_t k = 0; k < n; ++k) f0[k * ss] *= v[k];
      break;
    case DDK_RED_MAX:
      for (int64_t k = 0; k < n; ++k) {
        const double b = f0[k * ss];
        if (i1[k * ss] < 0 || (!isnan(b) && (isnan(v[k]) || v[k] > b))) {
          f0[k * ss] = v[k];
          i1[k * ss] = r0 + k * rs;
        }
      }
      break;
    case DDK_RED_MIN:
      for (int64_t k = 0; k < n; ++k) {
        const double b = f0[k * ss];
        if (i1[k * ss] < 0 || (!isnan(b) && (isnan(v[k]) || v[k] < b))) {
          f0[k * ss] = v[k];
          i1[k * ss] = r0 + k * rs;
        }
      }
      break;
    case DDK_RED_ANY:
      for (int64_t k = 0; k < n; ++k) i0[k * ss] |= v[k] != 0.0;
      break;
    case DDK_RED_VAR: {
      const double* mean = a->f[2] + s0;
      for (int64_t k = 0; k < n; ++k) {
        const double d = v[k] - mean[k * ss];
        red_add(f0 + k * ss, f1 + k * ss, d * d);
      }
      break;
    }
  }
}

static void red_fold_i64(ddk_red_op op, ddk_red_acc* a, int64_t s0, int64_t ss, const int64_t* v,
                         int64_t n, int64_t r0, int64_t rs) {
  int64_t* i0 = a->i[0] + s0;
  int64_t* i1 = a->i[1] + s0;
  switch (op) {
    case DDK_RED_SUM:
      for (int64_t k = 0; k < n; ++k) i0[k * ss] = ddk_ku_wrap_add(i0[k * ss], v[k]);
      break;
    case DDK_RED_PROD:
      for (int64_t k = 0; k < n; ++k) i0[k * ss] = ddk_ku_wrap_mul(i0[k * ss], v[k]);
      break;
    case DDK_RED_MAX:
      for (int64_t k = 0; k < n; ++k) {
        if (i1[k * ss] < 0 || v[k] > i0[k * ss]) {
          i0[k * ss] = v[k];
          i1[k * ss] = r0 + k * rs;
        }
      }
      break;
    case DDK_RED_MIN:
      for (int64_t k = 0; k < n; ++k) {
        if (i1[k * ss] < 0 || v[k] < i0[k * ss]) {
          i0[k * ss] = v[k];
          i1[k * ss] = r0 + k * rs;
        }
      }
      break;
    case DDK_RED_ANY:
      for (int64_t k = 0; k < n; ++k) i0[k * ss] |= v[k] != 0;
      break;
    case DDK_RED_VAR:
      break; /* floats only */
  }
}

/* One walk over the reduced elements of the n outputs starting at x offset xoff. */
static void red_pass(const ddk_red_plan* p, const ddk_tensor* x, ddk_red_op op, ddk_ku_math math,
                     ddk_dtype round_to, ddk_red_acc* a, int64_t xoff, int64_t kxs, int64_t n,
                     bool across) {
  union {
    double f[DDK_KU_CHUNK];
    int64_t i[DDK_KU_CHUNK];
  } scratch;
  const ddk_ku_loop* rl = &p->red;
  const int64_t rin = rl->sizes[rl->rank - 1];
  const int64_t rstep = rl->strides[0][rl->rank - 1];
  if (across) {
    /* one gathered run of the n outputs per reduced element */
    ddk_ku_cursor rc;
    ddk_ku_cursor_init(&rc);
    int64_t r = 0;
    for (int64_t done = 0; done < rl->numel; done += rin) {
      for (int64_t e = 0; e < rin; ++e, ++r) {
        const int64_t off = xoff + rc.offset[0] + e * rstep;
        if (math == DDK_KU_MATH_F64)
          red_fold_f64(op, a, 0, 1,
                       ddk_ku_row_f64(scratch.f, x->data, x->dtype, round_to, off, kxs, n), n, r,
                       0);
        else
          red_fold_i64(op, a, 0, 1, ddk_red_row_i64(scratch.i, x, round_to, off, kxs, n), n, r, 0);
      }
      ddk_ku_cursor_next_row(rl, &rc);
    }
    return;
  }
  /* each output's reduced elements, a row at a time */
  for (int64_t k = 0; k < n; ++k) {
    ddk_ku_cursor rc;
    ddk_ku_cursor_init(&rc);
    int64_t r = 0;
    for (int64_t done = 0; done < rl->numel; done += rin) {
      for (int64_t e = 0; e < rin; e += DDK_KU_CHUNK) {
        const int64_t m = ddk_ku_min(DDK_KU_CHUNK, rin - e);
        const int64_t off = xoff + k * kxs + rc.offset[0] + e * rstep;
        if (math == DDK_KU_MATH_F64)
          red_fold_f64(op, a, k, 0,
                       ddk_ku_row_f64(scratch.f, x->data, x->dtype, round_to, off, rstep, m), m, r,
                       1);
        else
          red_fold_i64(op, a, k, 0, ddk_red_row_i64(scratch.i, x, round_to, off, rstep, m), m, r,
                       1);
        r += m;
      }
      ddk_ku_cursor_next_row(rl, &rc);
    }
  }
}

static void red_acc_init(ddk_red_acc* a, ddk_red_op op, int64_t n) {
  const bool prod = op == DDK_RED_PROD;
  for (int64_t k = 0; k < n; ++k) {
    a->f[0][k] = prod ? 1.0 : 0.0;
    a->f[1][k] = 0.0;
    a->f[2][k] = 0.0;
    a->i[0][k] = prod ? 1 : 0;
    a->i[1][k] = -1;
  }
}

void ddk_red_run(const ddk_red_plan* plan, const ddk_tensor* x, ddk_red_op op, ddk_ku_math math,
                 ddk_dtype round_to, ddk_red_finish_fn finish, void* user) {
  const ddk_ku_loop* kl = &plan->kept;
  if (kl->numel == 0) return;
  const uint32_t last = kl->rank - 1;
  const int64_t kin = kl->sizes[last];
  const int64_t kxs = kl->strides[0][last];
  const int64_t ys[2] = {kl->strides[1][last], kl->strides[2][last]};
  const int64_t rstep = plan->red.strides[0][plan->red.rank - 1];
  const bool across = kin > 1 && (plan->red.numel <= 1 || llabs(kxs) < llabs(rstep));
  ddk_red_acc acc;
  ddk_ku_cursor kc;
  ddk_ku_cursor_init(&kc);
  for (int64_t done = 0; done < kl->numel; done += kin) {
    for (int64_t j = 0; j < kin; j += DDK_KU_CHUNK) {
      const int64_t n = ddk_ku_min(DDK_KU_CHUNK, kin - j);
      const int64_t xoff = kc.offset[0] + j * kxs;
      if (op == DDK_RED_VAR) {
        red_acc_init(&acc, DDK_RED_SUM, n);
        red_pass(plan, x, DDK_RED_SUM, DDK_KU_MATH_F64, round_to, &acc, xoff, kxs, n, across);
        for (int64_t k = 0; k < n; ++k) {
          acc.f[2][k] = (acc.f[0][k] + acc.f[1][k]) / (double)plan->count;
          acc.f[0][k] = 0.0;
          acc.f[1][k] = 0.0;
        }
        red_pass(plan, x, DDK_RED_VAR, DDK_KU_MATH_F64, round_to, &acc, xoff, kxs, n, across);
      } else {
        red_acc_init(&acc, op, n);
        red_pass(plan, x, op, math, round_to, &acc, xoff, kxs, n, across);
      }
      const int64_t off[2] = {kc.offset[1] + j * ys[0], kc.offset[2] + j * ys[1]};
      finish(user, &acc, n, off, ys);
    }
    ddk_ku_cursor_next_row(kl, &kc);
  }
}
