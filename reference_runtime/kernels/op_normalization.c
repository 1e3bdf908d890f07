/*
 * op_normalization.c — aten::_native_batch_norm_legit (+ .no_stats),
 * aten::_native_batch_norm_legit_no_training, aten::native_group_norm,
 * aten::native_group_norm_backward, aten::native_layer_norm,
 * aten::native_layer_norm_backward.
 *
 * Semantics (ATen CPU):
 *  - statistics are biased: var = mean((x - mean)^2), rstd (invstd) =
 *    1 / sqrt(var + eps); out = (x - mean) * rstd * weight + bias, with
 *    weight 1 and bias 0 when undefined;
 *  - batch norm normalizes per channel (dim 1) over all other dims; in
 *    training it returns the batch mean and invstd (shape [C]), in
 *    evaluation it uses running_mean/running_var and returns empty
 *    save_mean/save_invstd (shape [0]), as ATen CPU does. Running stats
 *    are NOT updated in training: DDK programs are functional and their
 *    constants read-only (docs/kernels/pooling_conv_norm.md). As in ATen,
 *    the output is computed from the saved statistics after rounding to
 *    their dtype (float16/bfloat16 when the parameters are not float32);
 *  - layer norm normalizes each row of the trailing normalized_shape dims
 *    (an empty row gives mean 0 and rstd NaN, as ATen); group norm each
 *    (sample, group of C / group channels);
 *  - the backward ops use the saved mean/rstd they are given:
 *      dx = rstd * (dy - mean(dy) - xhat * mean(dy * xhat)),
 *    dy = grad_out * weight and xhat = (x - mean) * rstd over the row or
 *    group; dweight = sum grad_out * xhat, dbias = sum grad_out over the
 *    other dims. An output whose output_mask entry is false is an empty
 *    1-d tensor (the DDK's stand-in for ATen's undefined tensor);
 *  - all sums run in double for every dtype (at least as accurate as
 *    ATen's float or double accumulation), results round once to their
 *    dtype. Statistics outputs are float32 for float16/bfloat16 input with
 *    float32 parameters (ATen's mixed type), else the input's dtype.
 *
 * Dtypes: float16, bfloat16, float32, float64.
 * Layout: any strides for every tensor; results are written through their
 * strides.
 */
#include "op_pooling_util.h"

/* Element offset of the logically row-major index `flat` of `t`. */
static int64_t flat_off(const ddk_tensor* t, int64_t flat) {
  int64_t off = 0;
  for (int d = (int)t->rank - 1; d >= 0; --d) {
    const int64_t sz = t->sizes[d];
    off += (flat % sz) * t->strides[d];
    flat /= sz;
  }
  return off;
}

static double ld(const ddk_tensor* t, int64_t flat) {
  return ddk_ku_load_f64(t->data, t->dtype, flat_off(t, flat));
}

static void st(ddk_tensor* t, int64_t flat, double v) {
  ddk_ku_store_f64(t->data, t->dtype, flat_off(t, flat), v);
}

/* Optional tensor argument i (NULL when None). */
static const ddk_tensor* opt_arg(ddk_kernel_ctx* ctx, const ddk_node_view* node, uint32_t i) {
  return node->args[i].kind == DDK_ARG_TENSOR ? ddk_kernel_arg_tensor(ctx, node, i) : NULL;
}

/* Checks x (and the other given tensors) are real floating dtypes and
 * that every optional tensor has `n` elements (n < 0: any). */
static ddk_status check_floats(ddk_kernel_ctx* ctx, const ddk_node_view* node,
                               const ddk_tensor* const* ts, uint32_t count, const char* what) {
  for (uint32_t i = 0; i < count; ++i) {
    if (ts[i] == NULL) continue;
    ddk_status s = ddk_ku_check_dtype(ctx, node, what, ts[i], DDK_KU_MASK_FLOATS);
    if (s != DDK_OK) return s;
  }
  return DDK_OK;
}

static bool numel_is(const ddk_tensor* t, int64_t n) {
  return t == NULL || ddk_tensor_numel(t) == n;
}

/* Reads the FLOAT argument i. */
static ddk_status arg_f64(ddk_kernel_ctx* ctx, const ddk_node_view* node, uint32_t i,
                          const char* name, double* out) {
  if (i >= node->num_args || node->args[i].kind != DDK_ARG_FLOAT)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "argument '%s' must be a float", name);
  *out = node->args[i].u.f;
  return DDK_OK;
}

/* Output mask argument i into mask[3]. */
static ddk_status arg_mask(ddk_kernel_ctx* ctx, const ddk_node_view* node, uint32_t i,
                           bool mask[3]) {
  const ddk_arg* a = &node->args[i];
  if (a->kind != DDK_ARG_BOOL_LIST || a->count != 3)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "output_mask must be three bools");
  for (int j = 0; j < 3; ++j) mask[j] = a->u.bools[j] != 0;
  return DDK_OK;
}

/* An output with mask entry false must be empty; true: `n` elements. */
static bool out_ok(const ddk_tensor* t, bool on, int64_t n) {
  return on ? ddk_tensor_numel(t) == n : (t->rank == 1 && t->sizes[0] == 0);
}

/* ------------------------------------------------------------------------ */
/* Batch norm                                                               */
/* ------------------------------------------------------------------------ */

/* Shared body: `rm`/`rv` NULL in training mode only. */
static ddk_status batch_norm(ddk_kernel_ctx* ctx, const ddk_node_view* node, bool training,
                             const ddk_tensor* rm, const ddk_tensor* rv, double eps) {
  const ddk_tensor* x = ddk_kernel_arg_tensor(ctx, node, 0);
  const ddk_tensor* w = opt_arg(ctx, node, 1);
  const ddk_tensor* b = opt_arg(ctx, node, 2);
  ddk_tensor* y = ddk_kernel_out(ctx, node, 0);
  ddk_tensor* sm = ddk_kernel_out(ctx, node, 1);
  ddk_tensor* si = ddk_kernel_out(ctx, node, 2);
  const ddk_tensor* all[6] = {x, w, b, rm, rv, y};
  ddk_status s = check_floats(ctx, node, all, 6, "input");
  if (s != DDK_OK) return s;
  if (x->rank < 2)
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "expected an input of at least 2 dims");
  const int64_t N = x->sizes[0], C = x->sizes[1], numel = ddk_tensor_numel(x);
  const int64_t HW = N * C == 0 ? 0 : numel / (N * C);
  if (!numel_is(w, C) || !numel_is(b, C) || !numel_is(rm, C) || !numel_is(rv, C) ||
      !ddk_pu_same_sizes(y, x->sizes, x->rank) || y->dtype != x->dtype ||
      ddk_tensor_numel(sm) != (training ? C : 0) || ddk_tensor_numel(si) != (training ? C : 0))
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH,
                           "weight, bias, running stats or results do not match the channels");
  if (training && numel == 0)
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH,
                           "input tensor must have at least one element");
  for (int64_t c = 0; c < C; ++c) {
    double mean, var;
    if (training) {
      double sum = 0.0, sq = 0.0;
      for (int64_t n = 0; n < N; ++n)
        for (int64_t i = 0; i < HW; ++i) sum += ld(x, (n * C + c) * HW + i);
      mean = sum / (double)(N * HW);
      for (int64_t n = 0; n < N; ++n)
        for (int64_t i = 0; i < HW; ++i) {
          const double d = ld(x, (n * C + c) * HW + i) - mean;
          sq += d * d;
        }
      var = sq / (double)(N * HW);
    } else {
      mean = ld(rm, c);
      var = ld(rv, c);
    }
    double invstd = 1.0 / sqrt(var + eps);
    if (training) { /* ATen normalizes with the saved (rounded) statistics */
      st(sm, c, mean);
      st(si, c, invstd);
      mean = ld(sm, c);
      invstd = ld(si, c);
    }
    const double wc = w ? ld(w, c) : 1.0, bc = b ? ld(b, c) : 0.0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < HW; ++i) {
        const int64_t f = (n * C + c) * HW + i;
        st(y, f, (ld(x, f) - mean) * invstd * wc + bc);
      }
  }
  return DDK_OK;
}

ddk_status ddk_kernel_aten_native_batch_norm_legit(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  if (node->num_args < 8 || node->num_outputs < 3 || node->args[5].kind != DDK_ARG_BOOL)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong arguments");
  double eps = 0.0;
  ddk_status s = arg_f64(ctx, node, 7, "eps", &eps);
  if (s != DDK_OK) return s;
  const bool training = node->args[5].u.b;
  if (training) return batch_norm(ctx, node, true, NULL, NULL, eps);
  const ddk_tensor* rm = opt_arg(ctx, node, 3);
  const ddk_tensor* rv = opt_arg(ctx, node, 4);
  if (rm == NULL || rv == NULL)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT,
                           "running_mean and running_var must be defined in evaluation mode");
  return batch_norm(ctx, node, false, rm, rv, eps);
}

ddk_status ddk_kernel_aten_native_batch_norm_legit_no_stats(ddk_kernel_ctx* ctx,
                                                            const ddk_node_view* node) {
  if (node->num_args < 6 || node->num_outputs < 3 || node->args[3].kind != DDK_ARG_BOOL)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong arguments");
  if (!node->args[3].u.b)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT,
                           "running_mean must be defined in evaluation mode");
  double eps = 0.0;
  ddk_status s = arg_f64(ctx, node, 5, "eps", &eps);
  if (s != DDK_OK) return s;
  return batch_norm(ctx, node, true, NULL, NULL, eps);
}

ddk_status ddk_kernel_aten_native_batch_norm_legit_no_training(ddk_kernel_ctx* ctx,
                                                               const ddk_node_view* node) {
  if (node->num_args < 7 || node->num_outputs < 3)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong arguments");
  double eps = 0.0;
  ddk_status s = arg_f64(ctx, node, 6, "eps", &eps);
  if (s != DDK_OK) return s;
  const ddk_tensor* rm = opt_arg(ctx, node, 3);
  const ddk_tensor* rv = opt_arg(ctx, node, 4);
  if (rm == NULL || rv == NULL)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT,
                           "running_mean and running_var must be tensors");
  return batch_norm(ctx, node, false, rm, rv, eps);
}

/* ------------------------------------------------------------------------ */
/* Layer norm and group norm                                                */
/* ------------------------------------------------------------------------ */

/* A normalization problem: M sets of K elements each; element j of set m
 * is x's flat index base(m) + j (layer norm: m * K + j; group norm: sets
 * are (n, g), elements run over the group's channels and HxW). Element j
 * of a set uses weight/bias index ch(j) (layer norm: j; group norm: the
 * channel). */
typedef struct norm_problem {
  int64_t M, K;
  int64_t G, D, HxW; /* group norm: groups per sample, channels per group; 0 for layer norm */
} norm_problem;

static int64_t np_flat(const norm_problem* p, int64_t m, int64_t j) {
  if (p->G == 0) return m * p->K + j;
  const int64_t n = m / p->G, g = m % p->G;
  return ((n * p->G + g) * p->D) * p->HxW + j; /* channels of a group are adjacent */
}

static int64_t np_ch(const norm_problem* p, int64_t m, int64_t j) {
  return p->G == 0 ? j : (m % p->G) * p->D + j / p->HxW;
}

static void norm_forward(const norm_problem* p, const ddk_tensor* x, const ddk_tensor* w,
                         const ddk_tensor* b, double eps, ddk_tensor* y, ddk_tensor* mean_out,
                         ddk_tensor* rstd_out) {
  for (int64_t m = 0; m < p->M; ++m) {
    double sum = 0.0, sq = 0.0;
    for (int64_t j = 0; j < p->K; ++j) sum += ld(x, np_flat(p, m, j));
    const double mean = p->K == 0 ? 0.0 : sum / (double)p->K;
    for (int64_t j = 0; j < p->K; ++j) {
      const double d = ld(x, np_flat(p, m, j)) - mean;
      sq += d * d;
    }
    const double var = p->K == 0 ? NAN : sq / (double)p->K;
    const double rstd = 1.0 / sqrt((var > 0.0 ? var : var != var ? var : 0.0) + eps);
    st(mean_out, m, mean);
    st(rstd_out, m, rstd);
    for (int64_t j = 0; j < p->K; ++j) {
      const int64_t f = np_flat(p, m, j), ch = np_ch(p, m, j);
      const double wc = w ? ld(w, ch) : 1.0, bc = b ? ld(b, ch) : 0.0;
      st(y, f, (ld(x, f) - mean) * rstd * wc + bc);
    }
  }
}

/* dx over every set (see the header). */
static void norm_grad_input(const norm_problem* p, const ddk_tensor* go, const ddk_tensor* x,
                            const ddk_tensor* mean, const ddk_tensor* rstd, const ddk_tensor* w,
                            ddk_tensor* dx) {
  for (int64_t m = 0; m < p->M; ++m) {
    const double mu = ld(mean, m), rs = ld(rstd, m);
    double sdy = 0.0, sdyx = 0.0;
    for (int64_t j = 0; j < p->K; ++j) {
      const int64_t f = np_flat(p, m, j);
      const double dy = ld(go, f) * (w ? ld(w, np_ch(p, m, j)) : 1.0);
      sdy += dy;
      sdyx += dy * (ld(x, f) - mu) * rs;
    }
    const double a = sdy / (double)p->K, c = sdyx / (double)p->K;
    for (int64_t j = 0; j < p->K; ++j) {
      const int64_t f = np_flat(p, m, j);
      const double dy = ld(go, f) * (w ? ld(w, np_ch(p, m, j)) : 1.0);
      st(dx, f, rs * (dy - a - (ld(x, f) - mu) * rs * c));
    }
  }
}

/* dweight and dbias (either may be NULL) over `nch` channels. */
static void norm_grad_params(const norm_problem* p, const ddk_tensor* go, const ddk_tensor* x,
                             const ddk_tensor* mean, const ddk_tensor* rstd, int64_t nch,
                             ddk_tensor* dw, ddk_tensor* db) {
  for (int64_t ch = 0; ch < nch; ++ch) {
    double sw = 0.0, sb = 0.0;
    for (int64_t m = 0; m < p->M; ++m) {
      /* the elements of set m that use channel ch */
      int64_t j0 = ch, j1 = ch + 1;
      if (p->G != 0) {
        if (ch / p->D != m % p->G) continue;
        j0 = (ch % p->D) * p->HxW;
        j1 = j0 + p->HxW;
      }
      const double mu = ld(mean, m), rs = ld(rstd, m);
      for (int64_t j = j0; j < j1; ++j) {
        const int64_t f = np_flat(p, m, j);
        const double g = ld(go, f);
        sw += g * (ld(x, f) - mu) * rs;
        sb += g;
      }
    }
    if (dw != NULL) st(dw, ch, sw);
    if (db != NULL) st(db, ch, sb);
  }
}

ddk_status ddk_kernel_aten_native_layer_norm(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  if (node->num_args < 5 || node->num_outputs < 3 || node->args[1].kind != DDK_ARG_INT_LIST)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong arguments");
  const ddk_tensor* x = ddk_kernel_arg_tensor(ctx, node, 0);
  const ddk_tensor* w = opt_arg(ctx, node, 2);
  const ddk_tensor* b = opt_arg(ctx, node, 3);
  ddk_tensor* y = ddk_kernel_out(ctx, node, 0);
  ddk_tensor* mo = ddk_kernel_out(ctx, node, 1);
  ddk_tensor* ro = ddk_kernel_out(ctx, node, 2);
  double eps = 0.0;
  ddk_status s = arg_f64(ctx, node, 4, "eps", &eps);
  const ddk_tensor* all[6] = {x, w, b, y, mo, ro};
  if (s == DDK_OK) s = check_floats(ctx, node, all, 6, "input");
  if (s != DDK_OK) return s;
  const uint32_t k = node->args[1].count;
  if (k == 0 || k > x->rank)
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "normalized_shape does not fit input");
  norm_problem p = {1, 1, 0, 0, 0};
  for (uint32_t i = 0; i < x->rank; ++i) {
    if (i < x->rank - k)
      p.M *= x->sizes[i];
    else
      p.K *= x->sizes[i];
  }
  if (!numel_is(w, p.K) || !numel_is(b, p.K) || !ddk_pu_same_sizes(y, x->sizes, x->rank) ||
      ddk_tensor_numel(mo) != p.M || ddk_tensor_numel(ro) != p.M)
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "weight, bias or results are mis-sized");
  norm_forward(&p, x, w, b, eps, y, mo, ro);
  return DDK_OK;
}

ddk_status ddk_kernel_aten_native_layer_norm_backward(ddk_kernel_ctx* ctx,
                                                      const ddk_node_view* node) {
  if (node->num_args < 8 || node->num_outputs < 3 || node->args[2].kind != DDK_ARG_INT_LIST)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong arguments");
  const ddk_tensor* go = ddk_kernel_arg_tensor(ctx, node, 0);
  const ddk_tensor* x = ddk_kernel_arg_tensor(ctx, node, 1);
  const ddk_tensor* mean = ddk_kernel_arg_tensor(ctx, node, 3);
  const ddk_tensor* rstd = ddk_kernel_arg_tensor(ctx, node, 4);
  const ddk_tensor* w = opt_arg(ctx, node, 5);
  const ddk_tensor* b = opt_arg(ctx, node, 6);
  ddk_tensor* outs[3] = {ddk_kernel_out(ctx, node, 0), ddk_kernel_out(ctx, node, 1),
                         ddk_kernel_out(ctx, node, 2)};
  bool mask[3];
  ddk_status s = arg_mask(ctx, node, 7, mask);
  const ddk_tensor* all[9] = {go, x, mean, rstd, w, b, outs[0], outs[1], outs[2]};
  if (s == DDK_OK) s = check_floats(ctx, node, all, 9, "input");
  if (s != DDK_OK) return s;
  const uint32_t k = node->args[2].count;
  if (k == 0 || k > x->rank)
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "normalized_shape does not fit input");
  norm_problem p = {1, 1, 0, 0, 0};
  for (uint32_t i = 0; i < x->rank; ++i) {
    if (i < x->rank - k)
      p.M *= x->sizes[i];
    else
      p.K *= x->sizes[i];
  }
  if ((mask[1] && w == NULL) || (mask[2] && b == NULL))
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT,
                           "output_mask asks for the gradient of an undefined weight or bias");
  if (!ddk_pu_same_sizes(go, x->sizes, x->rank) || !numel_is(mean, p.M) || !numel_is(rstd, p.M) ||
      !numel_is(w, p.K) || !numel_is(b, p.K) || !out_ok(outs[0], mask[0], ddk_tensor_numel(x)) ||
      !out_ok(outs[1], mask[1], p.K) || !out_ok(outs[2], mask[2], p.K))
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "arguments or results are mis-sized");
  if (mask[0]) norm_grad_input(&p, go, x, mean, rstd, w, outs[0]);
  if (mask[1] || mask[2])
    norm_grad_params(&p, go, x, mean, rstd, p.K, mask[1] ? outs[1] : NULL,
                     mask[2] ? outs[2] : NULL);
  return DDK_OK;
}

/* N, C, HxW, group at args first..first+3, checked against x. */
static ddk_status group_problem(ddk_kernel_ctx* ctx, const ddk_node_view* node, uint32_t first,
                                const ddk_tensor* x, norm_problem* p, int64_t* C) {
  for (uint32_t i = first; i < first + 4; ++i)
    if (node->args[i].kind != DDK_ARG_INT)
      return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "N, C, HxW and group must be ints");
  const int64_t N = node->args[first].u.i, HxW = node->args[first + 2].u.i;
  const int64_t G = node->args[first + 3].u.i;
  *C = node->args[first + 1].u.i;
  if (N < 0 || *C < 0 || HxW <= 0 || G <= 0 || *C % G != 0 || x->rank < 2 || x->sizes[0] != N ||
      x->sizes[1] != *C || ddk_tensor_numel(x) != N * *C * HxW)
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH,
                           "input does not match N, C, HxW and group");
  p->M = N * G;
  p->G = G;
  p->D = *C / G;
  p->HxW = HxW;
  p->K = p->D * HxW;
  return DDK_OK;
}

ddk_status ddk_kernel_aten_native_group_norm(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  if (node->num_args < 8 || node->num_outputs < 3)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong arguments");
  const ddk_tensor* x = ddk_kernel_arg_tensor(ctx, node, 0);
  const ddk_tensor* w = opt_arg(ctx, node, 1);
  const ddk_tensor* b = opt_arg(ctx, node, 2);
  ddk_tensor* y = ddk_kernel_out(ctx, node, 0);
  ddk_tensor* mo = ddk_kernel_out(ctx, node, 1);
  ddk_tensor* ro = ddk_kernel_out(ctx, node, 2);
  double eps = 0.0;
  ddk_status s = arg_f64(ctx, node, 7, "eps", &eps);
  const ddk_tensor* all[6] = {x, w, b, y, mo, ro};
  if (s == DDK_OK) s = check_floats(ctx, node, all, 6, "input");
  norm_problem p;
  int64_t C = 0;
  if (s == DDK_OK) s = group_problem(ctx, node, 3, x, &p, &C);
  if (s != DDK_OK) return s;
  if (!numel_is(w, C) || !numel_is(b, C) || !ddk_pu_same_sizes(y, x->sizes, x->rank) ||
      ddk_tensor_numel(mo) != p.M || ddk_tensor_numel(ro) != p.M)
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "weight, bias or results are mis-sized");
  norm_forward(&p, x, w, b, eps, y, mo, ro);
  return DDK_OK;
}

ddk_status ddk_kernel_aten_native_group_norm_backward(ddk_kernel_ctx* ctx,
                                                      const ddk_node_view* node) {
  if (node->num_args < 10 || node->num_outputs < 3)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "wrong arguments");
  const ddk_tensor* go = ddk_kernel_arg_tensor(ctx, node, 0);
  const ddk_tensor* x = ddk_kernel_arg_tensor(ctx, node, 1);
  const ddk_tensor* mean = ddk_kernel_arg_tensor(ctx, node, 2);
  const ddk_tensor* rstd = ddk_kernel_arg_tensor(ctx, node, 3);
  const ddk_tensor* w = opt_arg(ctx, node, 4);
  ddk_tensor* outs[3] = {ddk_kernel_out(ctx, node, 0), ddk_kernel_out(ctx, node, 1),
                         ddk_kernel_out(ctx, node, 2)};
  bool mask[3];
  ddk_status s = arg_mask(ctx, node, 9, mask);
  const ddk_tensor* all[8] = {go, x, mean, rstd, w, outs[0], outs[1], outs[2]};
  if (s == DDK_OK) s = check_floats(ctx, node, all, 8, "input");
  norm_problem p;
  int64_t C = 0;
  if (s == DDK_OK) s = group_problem(ctx, node, 5, x, &p, &C);
  if (s != DDK_OK) return s;
  if (!ddk_pu_same_sizes(go, x->sizes, x->rank) || !numel_is(mean, p.M) || !numel_is(rstd, p.M) ||
      !numel_is(w, C) || !out_ok(outs[0], mask[0], ddk_tensor_numel(x)) ||
      !out_ok(outs[1], mask[1], C) || !out_ok(outs[2], mask[2], C))
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "arguments or results are mis-sized");
  if (mask[0]) norm_grad_input(&p, go, x, mean, rstd, w, outs[0]);
  if (mask[1] || mask[2])
    norm_grad_params(&p, go, x, mean, rstd, C, mask[1] ? outs[1] : NULL, mask[2] ? outs[2] : NULL);
  return DDK_OK;
}
