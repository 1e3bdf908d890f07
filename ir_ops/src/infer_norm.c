/*
 * infer_norm.c — inference rules: normalization (batch norm in its three
 * functional forms, group norm and layer norm, and their backward ops).
 *
 * Parameter dtypes follow ATen CPU's mixed-type rule: when a defined
 * parameter (weight, bias, running stats, saved stats) has a dtype other
 * than the input's, the input must be float16/bfloat16 and every defined
 * parameter float32; the statistics outputs are then float32, otherwise
 * the input's dtype.
 *
 * An output of a backward op whose output_mask entry is false is an empty
 * 1-d tensor (the DDK's stand-in for ATen's undefined tensor).
 */
#include "infer_util.h"

static bool is_float_dtype(ddk_dtype d) {
  return d == DDK_DTYPE_FLOAT16 || d == DDK_DTYPE_BFLOAT16 || d == DDK_DTYPE_FLOAT32 ||
         d == DDK_DTYPE_FLOAT64;
}

/* The statistics dtype for input `x` and parameters `ps` (NULL entries are
 * undefined), or a refusal per ATen's mixed-type rule. */
static ddk_status param_dtype(ddk_infer_ctx* c, const ddk_tensor* x, const ddk_tensor* const* ps,
                              uint32_t n, ddk_dtype* out) {
  if (!is_float_dtype(x->dtype))
    return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE, "not implemented for %s",
                          ddk_dtype_name(x->dtype));
  bool mixed = false;
  for (uint32_t i = 0; i < n; ++i) mixed = mixed || (ps[i] != NULL && ps[i]->dtype != x->dtype);
  *out = x->dtype;
  if (!mixed) return DDK_OK;
  if (x->dtype != DDK_DTYPE_FLOAT16 && x->dtype != DDK_DTYPE_BFLOAT16)
    return ddk_infer_fail(c, DDK_DTYPE_MISMATCH,
                          "mixed dtype (CPU): expect parameter to have scalar type of Float");
  for (uint32_t i = 0; i < n; ++i)
    if (ps[i] != NULL && ps[i]->dtype != DDK_DTYPE_FLOAT32)
      return ddk_infer_fail(c, DDK_DTYPE_MISMATCH,
                            "mixed dtype (CPU): expect parameter to have scalar type of Float");
  *out = DDK_DTYPE_FLOAT32;
  return DDK_OK;
}

static ddk_status arg_float(ddk_infer_ctx* c, uint32_t i, const char* name) {
  if (c->node->args[i].kind != DDK_ARG_FLOAT)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "argument '%s' must be a float", name);
  return DDK_OK;
}

/* `t` (may be NULL) is 1-d with n elements. */
static ddk_status check_vec(ddk_infer_ctx* c, const ddk_tensor* t, const char* name, int64_t n) {
  if (t != NULL && (t->rank != 1 || t->sizes[0] != n))
    return ddk_infer_fail(c, DDK_SHAPE_MISMATCH, "expected %s to be a vector of size %lld", name,
                          (long long)n);
  return DDK_OK;
}

static bool same_shape(const ddk_tensor* a, const ddk_tensor* b) {
  if (a->rank != b->rank) return false;
  for (uint32_t i = 0; i < a->rank; ++i)
    if (a->sizes[i] != b->sizes[i]) return false;
  return true;
}

/* Argument i as three bools; false when it is not a list of three. */
static bool output_mask(ddk_infer_ctx* c, uint32_t i, bool mask[3]) {
  const ddk_arg* a = &c->node->args[i];
  if (a->kind != DDK_ARG_BOOL_LIST || a->count != 3) return false;
  for (int j = 0; j < 3; ++j) mask[j] = a->u.bools[j] != 0;
  return true;
}

/* Output i: `t`'s shape with dtype `dt` when `on`, else empty. */
static ddk_status set_masked(ddk_infer_ctx* c, uint32_t i, bool on, ddk_dtype dt, uint32_t rank,
                             const int64_t* sizes) {
  const int64_t empty[1] = {0};
  return on ? ddk_infer_set_output(c, i, dt, rank, sizes)
            : ddk_infer_set_output(c, i, dt, 1, empty);
}

/* ------------------------------------------------------------------------ */
/* Batch norm                                                               */
/* ------------------------------------------------------------------------ */

/* w, b, rm, rv at args 1..4 (rm/rv absent when has_stats is false). */
static ddk_status infer_batch_norm(ddk_infer_ctx* c, bool has_stats, uint32_t training_arg,
                                   bool always_training, bool never_training, uint32_t nargs) {
  ddk_status st = ddk_infer_need(c, nargs, 3);
  const ddk_tensor *x = NULL, *ps[4] = {NULL, NULL, NULL, NULL};
  bool training = always_training;
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 0, "input", &x);
  if (st == DDK_OK) st = ddk_infer_arg_opt_tensor(c, 1, "weight", &ps[0]);
  if (st == DDK_OK) st = ddk_infer_arg_opt_tensor(c, 2, "bias", &ps[1]);
  if (st == DDK_OK && has_stats) st = ddk_infer_arg_opt_tensor(c, 3, "running_mean", &ps[2]);
  if (st == DDK_OK && has_stats) st = ddk_infer_arg_opt_tensor(c, 4, "running_var", &ps[3]);
  if (st == DDK_OK && !always_training && !never_training)
    st = ddk_infer_arg_bool(c, training_arg, "training", &training);
  if (st == DDK_OK) st = arg_float(c, nargs - 2, "momentum");
  if (st == DDK_OK) st = arg_float(c, nargs - 1, "eps");
  if (st != DDK_OK) return st;
  ddk_dtype pdt = DDK_DTYPE_INVALID;
  st = param_dtype(c, x, ps, 4, &pdt);
  if (st != DDK_OK) return st;
  if (x->rank < 2)
    return ddk_infer_fail(c, DDK_SHAPE_MISMATCH, "expected an input of at least 2 dims, got %u-D",
                          x->rank);
  const int64_t C = x->sizes[1];
  st = check_vec(c, ps[0], "weight", C);
  if (st == DDK_OK) st = check_vec(c, ps[1], "bias", C);
  if (st != DDK_OK) return st;
  if (training) {
    if (ddk_tensor_numel(x) == 0)
      return ddk_infer_fail(c, DDK_SHAPE_MISMATCH, "input tensor must have at least one element");
  } else {
    if (ps[2] == NULL || ps[3] == NULL)
      return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                            "running_mean and running_var must be defined in evaluation mode");
    st = check_vec(c, ps[2], "running_mean", C);
    if (st == DDK_OK) st = check_vec(c, ps[3], "running_var", C);
    if (st != DDK_OK) return st;
  }
  const int64_t stat[1] = {training ? C : 0};
  st = ddk_infer_set_output(c, 0, x->dtype, x->rank, x->sizes);
  if (st == DDK_OK) st = ddk_infer_set_output(c, 1, pdt, 1, stat);
  if (st == DDK_OK) st = ddk_infer_set_output(c, 2, pdt, 1, stat);
  return st;
}

ddk_status ddk_infer_aten_native_batch_norm_legit(ddk_infer_ctx* c) {
  return infer_batch_norm(c, true, 5, false, false, 8);
}
ddk_status ddk_infer_aten_native_batch_norm_legit_no_stats(ddk_infer_ctx* c) {
  ddk_status st = ddk_infer_need(c, 6, 3);
  bool training = false;
  if (st == DDK_OK) st = ddk_infer_arg_bool(c, 3, "training", &training);
  if (st != DDK_OK) return st;
  if (!training)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                          "running_mean must be defined in evaluation mode");
  return infer_batch_norm(c, false, 3, true, false, 6);
}
ddk_status ddk_infer_aten_native_batch_norm_legit_no_training(ddk_infer_ctx* c) {
  return infer_batch_norm(c, true, 0, false, true, 7);
}

/* ------------------------------------------------------------------------ */
/* Layer norm                                                               */
/* ------------------------------------------------------------------------ */

/* Checks input against normalized_shape (arg ns_arg) and weight/bias;
 * writes the statistics' sizes (input's leading dims, then ones). */
static ddk_status layer_norm_shape(ddk_infer_ctx* c, const ddk_tensor* x, uint32_t ns_arg,
                                   const ddk_tensor* w, const ddk_tensor* b, int64_t* stat_sizes) {
  const int64_t* ns = NULL;
  uint32_t k = 0;
  ddk_status st = ddk_infer_arg_ints(c, ns_arg, "normalized_shape", &ns, &k);
  if (st != DDK_OK) return st;
  if (k == 0)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                          "expected normalized_shape to be at least 1-dimensional");
  if (k > x->rank)
    return ddk_infer_fail(c, DDK_SHAPE_MISMATCH,
                          "normalized_shape has %u dims but the input only %u", k, x->rank);
  const uint32_t axis = x->rank - k;
  for (uint32_t i = 0; i < k; ++i)
    if (x->sizes[axis + i] != ns[i])
      return ddk_infer_fail(c, DDK_SHAPE_MISMATCH,
                            "given normalized_shape, expected input with shape [*, ...] "
                            "matching it at dim %u (%lld vs %lld)",
                            axis + i, (long long)ns[i], (long long)x->sizes[axis + i]);
  const ddk_tensor* ps[2] = {w, b};
  for (int j = 0; j < 2; ++j) {
    if (ps[j] == NULL) continue;
    bool ok = ps[j]->rank == k;
    for (uint32_t i = 0; ok && i < k; ++i) ok = ps[j]->sizes[i] == ns[i];
    if (!ok)
      return ddk_infer_fail(c, DDK_SHAPE_MISMATCH,
                            "expected %s to be of same shape as normalized_shape",
                            j == 0 ? "weight" : "bias");
  }
  for (uint32_t i = 0; i < x->rank; ++i) stat_sizes[i] = i < axis ? x->sizes[i] : 1;
  return DDK_OK;
}

ddk_status ddk_infer_aten_native_layer_norm(ddk_infer_ctx* c) {
  ddk_status st = ddk_infer_need(c, 5, 3);
  const ddk_tensor *x = NULL, *ps[2] = {NULL, NULL};
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 0, "input", &x);
  if (st == DDK_OK) st = ddk_infer_arg_opt_tensor(c, 2, "weight", &ps[0]);
  if (st == DDK_OK) st = ddk_infer_arg_opt_tensor(c, 3, "bias", &ps[1]);
  if (st == DDK_OK) st = arg_float(c, 4, "eps");
  if (st != DDK_OK) return st;
  ddk_dtype pdt = DDK_DTYPE_INVALID;
  int64_t ss[DDK_MAX_RANK];
  st = param_dtype(c, x, ps, 2, &pdt);
  if (st == DDK_OK) st = layer_norm_shape(c, x, 1, ps[0], ps[1], ss);
  if (st == DDK_OK) st = ddk_infer_set_output(c, 0, x->dtype, x->rank, x->sizes);
  if (st == DDK_OK) st = ddk_infer_set_output(c, 1, pdt, x->rank, ss);
  if (st == DDK_OK) st = ddk_infer_set_output(c, 2, pdt, x->rank, ss);
  return st;
}

/* Saved mean/rstd: `want` elements of dtype `dt`. */
static ddk_status check_saved(ddk_infer_ctx* c, const ddk_tensor* t, const char* name, int64_t want,
                              ddk_dtype dt) {
  if (ddk_tensor_numel(t) != want)
    return ddk_infer_fail(c, DDK_SHAPE_MISMATCH, "expected %s to have %lld elements", name,
                          (long long)want);
  if (t->dtype != dt)
    return ddk_infer_fail(c, DDK_DTYPE_MISMATCH, "expected %s to be %s, got %s", name,
                          ddk_dtype_name(dt), ddk_dtype_name(t->dtype));
  return DDK_OK;
}

ddk_status ddk_infer_aten_native_layer_norm_backward(ddk_infer_ctx* c) {
  ddk_status st = ddk_infer_need(c, 8, 3);
  const ddk_tensor *go = NULL, *x = NULL, *mean = NULL, *rstd = NULL, *ps[2] = {NULL, NULL};
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 0, "grad_out", &go);
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 1, "input", &x);
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 3, "mean", &mean);
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 4, "rstd", &rstd);
  if (st == DDK_OK) st = ddk_infer_arg_opt_tensor(c, 5, "weight", &ps[0]);
  if (st == DDK_OK) st = ddk_infer_arg_opt_tensor(c, 6, "bias", &ps[1]);
  if (st != DDK_OK) return st;
  bool mask[3];
  if (!output_mask(c, 7, mask))
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "argument 'output_mask' must be 3 bools");
  ddk_dtype pdt = DDK_DTYPE_INVALID;
  int64_t ss[DDK_MAX_RANK];
  st = param_dtype(c, x, ps, 2, &pdt);
  if (st == DDK_OK) st = layer_norm_shape(c, x, 2, ps[0], ps[1], ss);
  if (st != DDK_OK) return st;
  if (go->dtype != x->dtype || !same_shape(go, x))
    return ddk_infer_fail(c, DDK_SHAPE_MISMATCH, "grad_out must have input's dtype and shape");
  int64_t M = 1;
  for (uint32_t i = 0; i < x->rank; ++i) M *= ss[i];
  st = check_saved(c, mean, "mean", M, pdt);
  if (st == DDK_OK) st = check_saved(c, rstd, "rstd", M, pdt);
  if (st != DDK_OK) return st;
  if ((mask[1] && ps[0] == NULL) || (mask[2] && ps[1] == NULL))
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT,
                          "output_mask asks for the gradient of an undefined weight or bias");
  st = set_masked(c, 0, mask[0], x->dtype, x->rank, x->sizes);
  for (int j = 0; j < 2 && st == DDK_OK; ++j) {
    const ddk_tensor* p = ps[j];
    st = p != NULL ? set_masked(c, 1 + j, mask[1 + j], p->dtype, p->rank, p->sizes)
                   : set_masked(c, 1 + j, false, x->dtype, 0, NULL);
  }
  return st;
}

/* ------------------------------------------------------------------------ */
/* Group norm                                                               */
/* ------------------------------------------------------------------------ */

/* Checks input against N, C, HxW, group at args first..first+3. */
static ddk_status group_norm_shape(ddk_infer_ctx* c, const ddk_tensor* x, uint32_t first,
                                   int64_t* N, int64_t* C, int64_t* G) {
  int64_t HxW = 0;
  ddk_status st = ddk_infer_arg_int(c, first, "N", N);
  if (st == DDK_OK) st = ddk_infer_arg_int(c, first + 1, "C", C);
  if (st == DDK_OK) st = ddk_infer_arg_int(c, first + 2, "HxW", &HxW);
  if (st == DDK_OK) st = ddk_infer_arg_int(c, first + 3, "group", G);
  if (st != DDK_OK) return st;
  if (*G <= 0 || *C < 0 || *N < 0)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "N and C must be non-negative, group positive");
  if (*C % *G != 0)
    return ddk_infer_fail(c, DDK_SHAPE_MISMATCH,
                          "expected number of channels in input to be divisible by num_groups");
  if (HxW <= 0)
    return ddk_infer_fail(c, DDK_SHAPE_MISMATCH, "expected HxW to be greater than 0, got %lld",
                          (long long)HxW);
  if (x->rank < 2 || x->sizes[0] != *N || x->sizes[1] != *C || ddk_tensor_numel(x) != *N * *C * HxW)
    return ddk_infer_fail(c, DDK_SHAPE_MISMATCH,
                          "expected an input [N, C, *] with N * C * HxW elements");
  return DDK_OK;
}

ddk_status ddk_infer_aten_native_group_norm(ddk_infer_ctx* c) {
  ddk_status st = ddk_infer_need(c, 8, 3);
  const ddk_tensor *x = NULL, *ps[2] = {NULL, NULL};
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 0, "input", &x);
  if (st == DDK_OK) st = ddk_infer_arg_opt_tensor(c, 1, "weight", &ps[0]);
  if (st == DDK_OK) st = ddk_infer_arg_opt_tensor(c, 2, "bias", &ps[1]);
  if (st == DDK_OK) st = arg_float(c, 7, "eps");
  if (st != DDK_OK) return st;
  ddk_dtype pdt = DDK_DTYPE_INVALID;
  int64_t N = 0, C = 0, G = 0;
  st = param_dtype(c, x, ps, 2, &pdt);
  if (st == DDK_OK) st = group_norm_shape(c, x, 3, &N, &C, &G);
  if (st == DDK_OK) st = check_vec(c, ps[0], "weight", C);
  if (st == DDK_OK) st = check_vec(c, ps[1], "bias", C);
  const int64_t ss[2] = {N, G};
  if (st == DDK_OK) st = ddk_infer_set_output(c, 0, x->dtype, x->rank, x->sizes);
  if (st == DDK_OK) st = ddk_infer_set_output(c, 1, pdt, 2, ss);
  if (st == DDK_OK) st = ddk_infer_set_output(c, 2, pdt, 2, ss);
  return st;
}

ddk_status ddk_infer_aten_native_group_norm_backward(ddk_infer_ctx* c) {
  ddk_status st = ddk_infer_need(c, 10, 3);
  const ddk_tensor *go = NULL, *x = NULL, *mean = NULL, *rstd = NULL, *ps[1] = {NULL};
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 0, "grad_out", &go);
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 1, "input", &x);
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 2, "mean", &mean);
  if (st == DDK_OK) st = ddk_infer_arg_tensor(c, 3, "rstd", &rstd);
  if (st == DDK_OK) st = ddk_infer_arg_opt_tensor(c, 4, "weight", &ps[0]);
  if (st != DDK_OK) return st;
  bool mask[3];
  if (!output_mask(c, 9, mask))
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "argument 'output_mask' must be 3 bools");
  ddk_dtype pdt = DDK_DTYPE_INVALID;
  int64_t N = 0, C = 0, G = 0;
  st = param_dtype(c, x, ps, 1, &pdt);
  if (st == DDK_OK) st = group_norm_shape(c, x, 5, &N, &C, &G);
  if (st == DDK_OK) st = check_vec(c, ps[0], "weight", C);
  if (st == DDK_OK) st = check_saved(c, mean, "mean", N * G, pdt);
  if (st == DDK_OK) st = check_saved(c, rstd, "rstd", N * G, pdt);
  if (st != DDK_OK) return st;
  if (go->dtype != x->dtype || !same_shape(go, x))
    return ddk_infer_fail(c, DDK_SHAPE_MISMATCH, "grad_out must have input's dtype and shape");
  const int64_t cs[1] = {C};
  st = set_masked(c, 0, mask[0], x->dtype, x->rank, x->sizes);
  if (st == DDK_OK) st = set_masked(c, 1, mask[1], pdt, 1, cs);
  if (st == DDK_OK) st = set_masked(c, 2, mask[2], pdt, 1, cs);
  return st;
}
