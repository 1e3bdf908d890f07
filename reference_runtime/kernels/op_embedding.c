/*
 * op_embedding.c — aten::embedding, embedding_dense_backward, _embedding_bag.
 *
 * Semantics (ATen CPU, Embedding.cpp / EmbeddingBag.cpp):
 *  - embedding(weight [V, D], indices): rows of weight, result
 *    indices.shape + [D]; every index must lie in [0, V) (negative refused,
 *    as index_select); padding_idx, scale_grad_by_freq and sparse have no
 *    forward effect.
 *  - embedding_dense_backward(grad, indices, num_weights, padding_idx,
 *    scale_grad_by_freq): grad viewed as [indices.numel(), D] (D = its
 *    last size); out = zeros [num_weights, D]; for i in order, when
 *    indices[i] != padding_idx (compared raw, not wrapped) and lies in
 *    [0, num_weights) (others are skipped silently, as ATen does):
 *    out[k] = out[k] + alpha * grad[i], alpha = 1, or 1/count(k) with
 *    scale_grad_by_freq (counts taken over all indices). As ATen's add
 *    kernel: alpha is converted to the dtype first (float16: Half(1/3);
 *    integers: truncated, so 0 for a repeated index; bool: true);
 *    float32/float64 compute one fused multiply-add (what ATen's compiled
 *    loop does), float16/bfloat16 round the product and then the sum into
 *    the dtype (Half arithmetic). Rows are added in index order.
 *    (ATen's vectorized loop, taken for rows of 32+ float16 elements, fuses
 *    the multiply-add instead: within the op's tolerance.)
 *  - _embedding_bag(weight, indices, offsets, _, mode, _, per_sample_weights,
 *    include_last_offset, padding_idx) -> (output, offset2bag, bag_size,
 *    max_indices), all four as ATen's CPU kernel returns them:
 *      bags: ATen takes a "fast path" for sum/mean when weight is
 *      float32/float16/bfloat16 with unit stride along dim 1, padding_idx <
 *      0 (and per_sample_weights with unit stride). There bag b is
 *      indices[offsets[b] : offsets[b+1]] (the last ends at numel, or at
 *      offsets[-1] with include_last_offset) and offsets must not decrease.
 *      Otherwise (and always for max) bag b is every i with offset2bag[i]
 *      == b.
 *      offset2bag: zeros, +1 at each offset (the last one dropped with
 *      include_last_offset), minus 1 at 0, cumulative sum; ATen leaves it
 *      empty for mode sum on the fast path.
 *      bag_size: offsets[b+1] - offsets[b], the last numel - offsets[-1]
 *      (sic, also with include_last_offset), minus the padding entries of
 *      the bag (slow path); zeros for mode sum.
 *      max_indices: mode max: [bags, D] index of the max row per column
 *      (0 for empty bags); otherwise a copy of bag_size.
 *      output: sum accumulated in float (double for float64) and rounded
 *      once (bfloat16 on the fast path: half away from zero, as fbgemm);
 *      mean = that rounded sum divided by max(bag_size, 1), rounded again
 *      (ATen's output /= bag_size); max: the first row, replaced where a
 *      later row is greater (a NaN first stays). Empty bags give 0.
 *      2-D indices: read flat on the fast path (as ATen); refused elsewhere.
 *    Refused (ATen raises or has undefined behaviour): offsets[0] != 0, an
 *    offset outside [0, indices.size(0)], decreasing offsets on the fast
 *    path, entries that fall before the first bag on the slow path, indices
 *    outside [0, V), 2-D indices off the fast path.
 */
#include "op_indexing_util.h"

/* ------------------------------------------------------------------------ */
/* embedding                                                                */
/* ------------------------------------------------------------------------ */

ddk_status ddk_kernel_aten_embedding(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  if (node->num_args < 2 || node->num_outputs < 1 || node->args[1].kind != DDK_ARG_TENSOR)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "expected (weight, indices, ...)");
  const ddk_tensor* w = ddk_kernel_arg_tensor(ctx, node, 0);
  const ddk_tensor* ind = ddk_kernel_arg_tensor(ctx, node, 1);
  ddk_tensor* out = ddk_kernel_out(ctx, node, 0);
  ddk_status st = ddk_ku_check_dtype(ctx, node, "weight", w, DDK_KU_MASK_REAL);
  if (st != DDK_OK) return st;
  if (w->rank != 2 || !ddk_ix_is_index_dtype(ind->dtype) || out->rank != ind->rank + 1 ||
      out->dtype != w->dtype)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT,
                           "expected a 2-D weight and int64/int32 indices");
  const int64_t n = ddk_tensor_numel(ind), v = w->sizes[0], d = w->sizes[1];
  int64_t pos[DDK_MAX_RANK] = {0};
  if (n == 0) return DDK_OK;
  do {
    const int64_t k = ddk_ix_index_at(ind, ddk_ix_dot(pos, ind->strides, ind->rank));
    if (k < 0 || k >= v)
      return ddk_kernel_fail(ctx, node, DDK_OUT_OF_RANGE, "index %lld out of range in self",
                             (long long)k);
  } while (ddk_ix_next(pos, ind->sizes, ind->rank));
  const size_t es = ddk_dtype_size(w->dtype);
  const int64_t ods = out->strides[ind->rank];
  do {
    const int64_t k = ddk_ix_index_at(ind, ddk_ix_dot(pos, ind->strides, ind->rank));
    const int64_t o = ddk_ix_dot(pos, out->strides, ind->rank);
    for (int64_t j = 0; j < d; ++j)
      ddk_ix_copy_elem(out->data, o + j * ods, w->data, k * w->strides[0] + j * w->strides[1], es);
  } while (ddk_ix_next(pos, ind->sizes, ind->rank));
  return DDK_OK;
}

/* ------------------------------------------------------------------------ */
/* embedding_dense_backward                                                 */
/* ------------------------------------------------------------------------ */

/* out[o] = out[o] + alpha * grad[g] as ATen's scalar add loop: alpha in the
 * dtype, product and sum rounded into the dtype. */
static void add_scaled(ddk_tensor* out, int64_t o, const ddk_tensor* grad, int64_t g,
                       double alpha) {
  const ddk_dtype dt = out->dtype;
  switch (ddk_ku_math_of(dt)) {
    case DDK_KU_MATH_F32: {
      const float a = ddk_ku_round_f32((float)alpha, dt), x = ddk_ku_load_f32(grad->data, dt, g);
      const float acc = ddk_ku_load_f32(out->data, dt, o);
      if (dt == DDK_DTYPE_FLOAT32) /* ATen's compiled a + alpha * b is one fused multiply-add */
        ddk_ku_store_f32(out->data, dt, o, fmaf(a, x, acc));
      else /* Half/BFloat16 arithmetic: the product is rounded first */
        ddk_ku_store_f32(out->data, dt, o, acc + ddk_ku_round_f32(a * x, dt));
      break;
    }
    case DDK_KU_MATH_F64:
      ddk_ku_store_f64(
          out->data, dt, o,
          fma(alpha, ddk_ku_load_f64(grad->data, dt, g), ddk_ku_load_f64(out->data, dt, o)));
      break;
    default: {
      const int64_t a = dt == DDK_DTYPE_BOOL ? (alpha != 0.0) : (int64_t)alpha;
      ddk_ku_store_i64(out->data, dt, o,
                       ddk_ku_wrap_add(ddk_ku_load_i64(out->data, dt, o),
                                       ddk_ku_wrap_mul(a, ddk_ku_load_i64(grad->data, dt, g))));
      break;
    }
  }
}

ddk_status ddk_kernel_aten_embedding_dense_backward(ddk_kernel_ctx* ctx,
                                                    const ddk_node_view* node) {
  const ddk_arg* a = node->args;
  if (node->num_args < 5 || node->num_outputs < 1 || a[1].kind != DDK_ARG_TENSOR ||
      a[2].kind != DDK_ARG_INT || a[3].kind != DDK_ARG_INT || a[4].kind != DDK_ARG_BOOL)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT,
                           "expected (grad_output, indices, num_weights, padding_idx, "
                           "scale_grad_by_freq)");
  const ddk_tensor* grad = ddk_kernel_arg_tensor(ctx, node, 0);
  const ddk_tensor* ind = ddk_kernel_arg_tensor(ctx, node, 1);
  ddk_tensor* out = ddk_kernel_out(ctx, node, 0);
  const int64_t nw = a[2].u.i, pad = a[3].u.i;
  const bool freq = a[4].u.b;
  ddk_status st = ddk_ku_check_dtype(ctx, node, "grad_output", grad, DDK_KU_MASK_REAL);
  if (st != DDK_OK) return st;
  if (!ddk_ix_is_index_dtype(ind->dtype) || grad->rank == 0 || out->rank != 2 ||
      out->dtype != grad->dtype || out->sizes[0] != nw)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "bad arguments");
  const uint32_t gr = grad->rank - 1; /* rows: grad's leading dims */
  const int64_t d = grad->sizes[gr], n = ddk_tensor_numel(ind);
  if (out->sizes[1] != d || (d != 0 && ddk_tensor_numel(grad) != n * d))
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "grad_output does not match indices");
  const int64_t zero = 0, zeros[DDK_MAX_RANK] = {0};
  ddk_ku_copy_strided(out->data, out->strides, &zero, zeros, out->sizes, 2,
                      ddk_dtype_size(out->dtype));
  if (n == 0 || d == 0) return DDK_OK;
  enum { CHUNK = 256 };
  /* without freq scaling one pass covers every k; with it, k in chunks */
  for (int64_t k0 = 0; k0 < (freq ? nw : 1); k0 += CHUNK) {
    int64_t count[CHUNK] = {0};
    int64_t ipos[DDK_MAX_RANK] = {0}, gpos[DDK_MAX_RANK] = {0};
    if (freq) {
      do {
        const int64_t k = ddk_ix_index_at(ind, ddk_ix_dot(ipos, ind->strides, ind->rank));
        if (k >= k0 && k < k0 + CHUNK) ++count[k - k0];
      } while (ddk_ix_next(ipos, ind->sizes, ind->rank));
    }
    do {
      const int64_t k = ddk_ix_index_at(ind, ddk_ix_dot(ipos, ind->strides, ind->rank));
      const bool in_chunk = !freq || (k >= k0 && k < k0 + CHUNK);
      if (k != pad && k >= 0 && k < nw && in_chunk) {
        const double alpha = freq ? 1.0 / (double)count[k - k0] : 1.0;
        const int64_t g = ddk_ix_dot(gpos, grad->strides, gr);
        for (int64_t j = 0; j < d; ++j)
          add_scaled(out, k * out->strides[0] + j * out->strides[1], grad,
                     g + j * grad->strides[gr], alpha);
      }
      ddk_ix_next(gpos, grad->sizes, gr);
    } while (ddk_ix_next(ipos, ind->sizes, ind->rank));
  }
  return DDK_OK;
}

/* ------------------------------------------------------------------------ */
/* _embedding_bag                                                           */
/* ------------------------------------------------------------------------ */

typedef struct bag_ctx {
  const ddk_tensor *w, *ind, *off, *psw;
  ddk_tensor *out, *o2b, *bag_size, *max_idx;
  int64_t n;     /* indices.size(0): offsets, offset2bag and bag_size use it */
  int64_t nflat; /* indices.numel(): where the fast path's last bag ends */
  int64_t nb, d, pad;
  int mode;
  bool fast, ilo;
} bag_ctx;

/* Entry i of indices (1-D, or 2-D read flat in row-major order). */
static int64_t ind_at(const ddk_tensor* t, int64_t i) {
  if (t->rank == 2)
    return ddk_ix_index_at(t,
                           (i / t->sizes[1]) * t->strides[0] + (i % t->sizes[1]) * t->strides[1]);
  return ddk_ix_index_at(t, i * t->strides[0]);
}

static int64_t aux_at(const ddk_tensor* t, int64_t i) {
  return ddk_ku_load_i64(t->data, t->dtype, i * (t->rank ? t->strides[0] : 0));
}
static void aux_set(ddk_tensor* t, int64_t i, int64_t v) {
  ddk_ku_store_i64(t->data, t->dtype, i * t->strides[0], v);
}

/* Entries [*s, *e) of bag b. Slow path: walks offset2bag (non-decreasing)
 * from *e onwards. */
static void bag_range(const bag_ctx* B, int64_t b, int64_t* s, int64_t* e) {
  if (B->fast) {
    *s = aux_at(B->off, b);
    *e = b + 1 < B->off->sizes[0] ? aux_at(B->off, b + 1) : B->nflat;
    return;
  }
  *s = *e;
  while (*e < B->n && aux_at(B->o2b, *e) == b) ++*e;
}

/* float -> bfloat16 rounding half away from zero (fbgemm's conversion). */
static float bf16_round_half_away(float f) {
  if (f != f) return f;
  return ddk_ku_bf16_to_float((uint16_t)((ddk_ku_f32_bits(f) + 0x8000u) >> 16));
}

/* Sum / mean of bag b into output row b, columns in chunks. */
static void bag_sum(const bag_ctx* B, int64_t b, int64_t s, int64_t e) {
  enum { CHUNK = 256 };
  const ddk_tensor* w = B->w;
  const ddk_dtype dt = w->dtype;
  const bool f64 = dt == DDK_DTYPE_FLOAT64;
  const int64_t cnt = B->mode == 1 ? ddk_ku_max(aux_at(B->bag_size, b), 1) : 1;
  for (int64_t d0 = 0; d0 < B->d; d0 += CHUNK) {
    const int64_t m = ddk_ku_min(CHUNK, B->d - d0);
    double accd[CHUNK];
    float accf[CHUNK];
    for (int64_t c = 0; c < m; ++c) accd[c] = accf[c] = 0;
    for (int64_t i = s; i < e; ++i) {
      const int64_t k = ind_at(B->ind, i);
      if (k == B->pad) continue;
      const int64_t base = k * w->strides[0] + d0 * w->strides[1];
      if (f64) {
        const double p = B->psw ? ddk_ku_load_f64(B->psw->data, dt, i * B->psw->strides[0]) : 1.0;
        for (int64_t c = 0; c < m; ++c)
          accd[c] += ddk_ku_load_f64(w->data, dt, base + c * w->strides[1]) * p;
      } else if (B->psw != NULL) { /* fbgemm (the fast path) fuses the multiply-add */
        const float p = ddk_ku_load_f32(B->psw->data, dt, i * B->psw->strides[0]);
        for (int64_t c = 0; c < m; ++c) {
          const float x = ddk_ku_load_f32(w->data, dt, base + c * w->strides[1]);
          accf[c] = B->fast ? fmaf(x, p, accf[c]) : accf[c] + x * p;
        }
      } else {
        for (int64_t c = 0; c < m; ++c)
          accf[c] += ddk_ku_load_f32(w->data, dt, base + c * w->strides[1]);
      }
    }
    for (int64_t c = 0; c < m; ++c) {
      const int64_t o = b * B->out->strides[0] + (d0 + c) * B->out->strides[1];
      if (f64) {
        ddk_ku_store_f64(B->out->data, dt, o, accd[c] / (double)cnt);
      } else {
        /* output holds the sum first; ATen's fast path (fbgemm) rounds a
         * bfloat16 sum half away from zero, elsewhere to nearest even */
        const float sum = B->fast && dt == DDK_DTYPE_BFLOAT16 ? bf16_round_half_away(accf[c])
                                                              : ddk_ku_round_f32(accf[c], dt);
        ddk_ku_store_f32(B->out->data, dt, o,
                         B->mode == 1 ? sum / ddk_ku_round_f32((float)cnt, dt) : sum);
      }
    }
  }
}

/* Max of bag b into output row b and max_indices row b. */
static void bag_max(const bag_ctx* B, int64_t b, int64_t s, int64_t e) {
  enum { CHUNK = 256 };
  const ddk_tensor* w = B->w;
  const ddk_dtype dt = w->dtype;
  for (int64_t d0 = 0; d0 < B->d; d0 += CHUNK) {
    const int64_t m = ddk_ku_min(CHUNK, B->d - d0);
    double best[CHUNK];
    int64_t arg[CHUNK];
    bool first = true;
    for (int64_t c = 0; c < m; ++c) {
      best[c] = 0.0;
      arg[c] = 0;
    }
    for (int64_t i = s; i < e; ++i) {
      const int64_t k = ind_at(B->ind, i);
      if (k == B->pad) continue;
      for (int64_t c = 0; c < m; ++c) {
        const double x = ddk_ku_load_f64(w->data, dt, k * w->strides[0] + (d0 + c) * w->strides[1]);
        if (first || x > best[c]) {
          best[c] = x;
          arg[c] = k;
        }
      }
      first = false;
    }
    for (int64_t c = 0; c < m; ++c) {
      ddk_ku_store_f64(B->out->data, dt, b * B->out->strides[0] + (d0 + c) * B->out->strides[1],
                       best[c]);
      ddk_ku_store_i64(B->max_idx->data, B->max_idx->dtype,
                       b * B->max_idx->strides[0] + (d0 + c) * B->max_idx->strides[1], arg[c]);
    }
  }
}

ddk_status ddk_kernel_aten_embedding_bag(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  const ddk_arg* a = node->args;
  if (node->num_args < 9 || node->num_outputs < 4 || a[1].kind != DDK_ARG_TENSOR ||
      a[2].kind != DDK_ARG_TENSOR || a[4].kind != DDK_ARG_INT ||
      (a[6].kind != DDK_ARG_TENSOR && a[6].kind != DDK_ARG_NONE) || a[7].kind != DDK_ARG_BOOL ||
      a[8].kind != DDK_ARG_INT)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT,
                           "expected (weight, indices, offsets, scale_grad_by_freq, mode, sparse, "
                           "per_sample_weights, include_last_offset, padding_idx)");
  bag_ctx B;
  memset(&B, 0, sizeof B);
  B.w = ddk_kernel_arg_tensor(ctx, node, 0);
  B.ind = ddk_kernel_arg_tensor(ctx, node, 1);
  B.off = ddk_kernel_arg_tensor(ctx, node, 2);
  B.psw = a[6].kind == DDK_ARG_TENSOR ? ddk_kernel_arg_tensor(ctx, node, 6) : NULL;
  B.out = ddk_kernel_out(ctx, node, 0);
  B.o2b = ddk_kernel_out(ctx, node, 1);
  B.bag_size = ddk_kernel_out(ctx, node, 2);
  B.max_idx = ddk_kernel_out(ctx, node, 3);
  B.mode = (int)a[4].u.i;
  B.ilo = a[7].u.b;
  B.pad = a[8].u.i;
  ddk_status st = ddk_ku_check_dtype(ctx, node, "weight", B.w, DDK_KU_MASK_FLOATS);
  if (st != DDK_OK) return st;
  if (B.w->rank != 2 || B.ind->rank < 1 || B.ind->rank > 2 || B.off->rank != 1 ||
      !ddk_ix_is_index_dtype(B.ind->dtype) || !ddk_ix_is_index_dtype(B.off->dtype) ||
      a[4].u.i < 0 || a[4].u.i > 2 ||
      (B.psw != NULL && (B.mode != 0 || B.psw->dtype != B.w->dtype || B.psw->rank != 1)))
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "bad arguments (see inference)");
  B.n = B.ind->sizes[0];
  B.nflat = ddk_tensor_numel(B.ind);
  B.d = B.w->sizes[1];
  const int64_t no = B.off->sizes[0], v = B.w->sizes[0];
  B.nb = no - (B.ilo ? 1 : 0);
  if (B.nb < 0 || B.out->sizes[0] != B.nb || B.bag_size->sizes[0] != B.nb)
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "result shapes do not match");
  B.fast = B.mode != 2 &&
           (B.w->dtype == DDK_DTYPE_FLOAT32 || B.w->dtype == DDK_DTYPE_FLOAT16 ||
            B.w->dtype == DDK_DTYPE_BFLOAT16) &&
           B.w->strides[1] == 1 && (B.psw == NULL || B.psw->strides[0] == 1) && B.pad < 0;
  if (B.ind->rank == 2 && !B.fast) /* ATen raises, or reads out of bounds (max) */
    return ddk_kernel_fail(ctx, node, DDK_UNSUPPORTED_FEATURE,
                           "2-D indices work only on ATen's fast sum/mean path");
  if (B.psw != NULL && B.psw->sizes[0] != B.nflat)
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH,
                           "per_sample_weights must have one weight per index");
  const bool o2b_used = !(B.mode == 0 && B.fast);
  if (B.o2b->sizes[0] != (o2b_used ? B.n : 0))
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "offset2bag shape does not match");
  /* offsets: ATen's check_arguments, then what its kernels need */
  if (no > 0 && aux_at(B.off, 0) != 0)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT,
                           "offsets[0] has to be 0, i.e., the first sequence in the mini-batch "
                           "has to start from position 0");
  for (int64_t j = 0; j < no; ++j) {
    const int64_t o = aux_at(B.off, j);
    if (o < 0 || o > B.n)
      return ddk_kernel_fail(ctx, node, DDK_OUT_OF_RANGE, "offsets[%lld] = %lld outside [0, %lld]",
                             (long long)j, (long long)o, (long long)B.n);
    if (B.fast && j > 0 && o < aux_at(B.off, j - 1))
      return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "offsets must not decrease");
  }
  if (o2b_used) { /* ATen's make_offset2bag */
    for (int64_t i = 0; i < B.n; ++i) aux_set(B.o2b, i, 0);
    for (int64_t j = 0; j < B.nb; ++j) {
      const int64_t o = aux_at(B.off, j);
      if (o < B.n) aux_set(B.o2b, o, aux_at(B.o2b, o) + 1);
    }
    int64_t run = -1;
    for (int64_t i = 0; i < B.n; ++i) {
      run += aux_at(B.o2b, i);
      aux_set(B.o2b, i, run);
    }
  }
  if (!B.fast) {
    if (B.n > 0 && B.nb == 0)
      return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "indices given but no bags");
    for (int64_t i = 0; i < B.n; ++i) {
      const int64_t k = ind_at(B.ind, i);
      if (k < 0 || k >= v)
        return ddk_kernel_fail(ctx, node, DDK_OUT_OF_RANGE,
                               "index %lld of input takes value %lld which is not in [0, %lld)",
                               (long long)i, (long long)k, (long long)v);
    }
  } else {
    for (int64_t b = 0, s = 0, e = 0; b < B.nb; ++b) {
      bag_range(&B, b, &s, &e);
      for (int64_t i = s; i < e; ++i) {
        const int64_t k = ind_at(B.ind, i);
        if (k < 0 || k >= v)
          return ddk_kernel_fail(ctx, node, DDK_OUT_OF_RANGE,
                                 "index %lld of input takes value %lld which is not in [0, %lld)",
                                 (long long)i, (long long)k, (long long)v);
      }
    }
  }
  /* bag_size: offset differences, minus padding entries (slow path) */
  for (int64_t b = 0; b < B.nb; ++b)
    aux_set(B.bag_size, b, (b + 1 < B.nb ? aux_at(B.off, b + 1) : B.n) - aux_at(B.off, b));
  if (!B.fast)
    for (int64_t i = 0; i < B.n; ++i)
      if (ind_at(B.ind, i) == B.pad) {
        const int64_t b = aux_at(B.o2b, i);
        aux_set(B.bag_size, b, aux_at(B.bag_size, b) - 1);
      }
  for (int64_t b = 0, s = 0, e = 0; b < B.nb; ++b) {
    bag_range(&B, b, &s, &e);
    if (B.mode == 2)
      bag_max(&B, b, s, e);
    else
      bag_sum(&B, b, s, e);
  }
  if (B.mode != 2)
    for (int64_t b = 0; b < B.nb; ++b) {
      if (B.mode == 0) aux_set(B.bag_size, b, 0);
      aux_set(B.max_idx, b, aux_at(B.bag_size, b));
    }
  return DDK_OK;
}
