/*
 * op_scatter.c — aten::gather, scatter.src, scatter.value, scatter_add,
 * scatter_reduce.two, select_scatter, slice_scatter.
 *
 * Semantics (ATen CPU, ScatterGatherKernel.cpp):
 *  - gather: out[p] = self[p with p[dim] := index[p]]; out has index's shape.
 *  - scatter*: out = copy of self; then for every index position p,
 *    out[p with p[dim] := index[p]] (op)= src[p] (or the Scalar value).
 *    Positions landing on one element differ only in p[dim]; they combine
 *    in increasing p[dim] order — ATen's order. scatter.src / .value with
 *    duplicate targets: the last one wins (ATen leaves the winner
 *    unspecified).
 *  - scatter_add, scatter_reduce.two (sum, prod, mean, amax, amin; "max"
 *    and "min" are accepted aliases, as in ATen): each targeted element is
 *    reduced in the dtype's math type — float for float16/bfloat16, as
 *    ATen does — starting from self (include_self) or the identity (0, 1,
 *    -inf / lowest, +inf / highest), and rounded once into the dtype.
 *    Integers wrap. amax/amin: a NaN source wins, otherwise std::max /
 *    std::min (a NaN already there stays). mean: the rounded sum divided
 *    by the number of contributions (+1 with self) — in the math type for
 *    floats, floor division for integers; not implemented for bool
 *    (refused, as ATen). The accumulation runs per index line (fixed
 *    coordinates off dim), 256 target positions at a time, so it needs no
 *    scratch memory beyond the stack.
 *  - Index values must lie in [0, self.size(dim)) — negative indices are
 *    refused, as ATen does. An empty index skips every check.
 *  - select_scatter / slice_scatter: out = copy of self with src (cast to
 *    self's dtype) written into the selected index / strided slice.
 *
 * A 0-d tensor takes part as a 1-d tensor of one element (ATen's
 * ensure_nonempty_dim). Inputs may have any strides.
 */
#include "op_indexing_util.h"

/* A tensor seen with at least one dim (0-d -> [1] with stride 0). */
typedef struct ix_view {
  uint32_t rank;
  int64_t sizes[DDK_MAX_RANK];
  int64_t strides[DDK_MAX_RANK];
} ix_view;

static void view_of(const ddk_tensor* t, ix_view* v) {
  v->rank = t->rank == 0 ? 1 : t->rank;
  v->sizes[0] = 1;
  v->strides[0] = 0;
  for (uint32_t d = 0; d < t->rank; ++d) {
    v->sizes[d] = t->sizes[d];
    v->strides[d] = t->strides[d];
  }
}

static ddk_status check_out_like(ddk_kernel_ctx* ctx, const ddk_node_view* node,
                                 const ddk_tensor* self, const ddk_tensor* out) {
  ddk_status st = ddk_ku_check_dtype(ctx, node, "self", self, DDK_KU_MASK_REAL);
  if (st != DDK_OK) return st;
  bool same = out->dtype == self->dtype && out->rank == self->rank;
  for (uint32_t d = 0; same && d < self->rank; ++d) same = out->sizes[d] == self->sizes[d];
  if (!same)
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH,
                           "result must have self's dtype and shape");
  return DDK_OK;
}

/* Checks that index (when non-empty) fits self (and src) as ATen's
 * scatter_shape_check does; the kernels rely on it for memory safety. */
static ddk_status check_index_fits(ddk_kernel_ctx* ctx, const ddk_node_view* node,
                                   const ix_view* self, int64_t dim, const ddk_tensor* index,
                                   const ix_view* idx, const ix_view* src) {
  if (!ddk_ix_is_index_dtype(index->dtype))
    return ddk_kernel_fail(ctx, node, DDK_DTYPE_MISMATCH, "expected dtype int32/int64 for index");
  if (idx->rank != self->rank || (src != NULL && src->rank != self->rank))
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH,
                           "index must have as many dims as self and src");
  for (uint32_t d = 0; d < self->rank; ++d)
    if (((int64_t)d != dim && idx->sizes[d] > self->sizes[d]) ||
        (src != NULL && idx->sizes[d] > src->sizes[d]))
      return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH,
                             "index is larger than self or src at dim %u", d);
  return DDK_OK;
}

static ddk_status index_out_of_bounds(ddk_kernel_ctx* ctx, const ddk_node_view* node, int64_t k,
                                      int64_t dim, int64_t size) {
  return ddk_kernel_fail(ctx, node, DDK_OUT_OF_RANGE,
                         "index %lld is out of bounds for dimension %lld with size %lld",
                         (long long)k, (long long)dim, (long long)size);
}

static ddk_status arg_dim(ddk_kernel_ctx* ctx, const ddk_node_view* node, uint32_t i, uint32_t rank,
                          int64_t* dim) {
  const int64_t r = rank == 0 ? 1 : (int64_t)rank;
  if (node->args[i].kind != DDK_ARG_INT)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "argument 'dim' must be an int");
  int64_t d = node->args[i].u.i;
  if (d < -r || d >= r)
    return ddk_kernel_fail(ctx, node, DDK_OUT_OF_RANGE, "dim %lld out of range", (long long)d);
  *dim = d < 0 ? d + r : d;
  return DDK_OK;
}

/* ------------------------------------------------------------------------ */
/* gather                                                                   */
/* ------------------------------------------------------------------------ */

ddk_status ddk_kernel_aten_gather(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  if (node->num_args < 3 || node->num_outputs < 1 || node->args[2].kind != DDK_ARG_TENSOR)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "expected (self, dim, index)");
  const ddk_tensor* self = ddk_kernel_arg_tensor(ctx, node, 0);
  const ddk_tensor* index = ddk_kernel_arg_tensor(ctx, node, 2);
  ddk_tensor* out = ddk_kernel_out(ctx, node, 0);
  int64_t dim = 0;
  ddk_status st = ddk_ku_check_dtype(ctx, node, "self", self, DDK_KU_MASK_REAL);
  if (st == DDK_OK) st = arg_dim(ctx, node, 1, self->rank, &dim);
  if (st != DDK_OK) return st;
  if (out->dtype != self->dtype || ddk_tensor_numel(out) != ddk_tensor_numel(index))
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "result must have index's shape");
  if (ddk_tensor_numel(index) == 0) return DDK_OK;
  ix_view sv, iv, ov;
  view_of(self, &sv);
  view_of(index, &iv);
  view_of(out, &ov);
  st = check_index_fits(ctx, node, &sv, dim, index, &iv, NULL);
  if (st != DDK_OK) return st;
  const size_t es = ddk_dtype_size(self->dtype);
  int64_t pos[DDK_MAX_RANK] = {0};
  do {
    const int64_t k = ddk_ix_index_at(index, ddk_ix_dot(pos, iv.strides, iv.rank));
    if (k < 0 || k >= sv.sizes[dim]) return index_out_of_bounds(ctx, node, k, dim, sv.sizes[dim]);
    const int64_t soff = ddk_ix_dot(pos, sv.strides, sv.rank) + (k - pos[dim]) * sv.strides[dim];
    ddk_ix_copy_elem(out->data, ddk_ix_dot(pos, ov.strides, ov.rank), self->data, soff, es);
  } while (ddk_ix_next(pos, iv.sizes, iv.rank));
  return DDK_OK;
}

/* ------------------------------------------------------------------------ */
/* scatter family                                                           */
/* ------------------------------------------------------------------------ */

typedef enum scatter_reduce {
  RED_NONE = 0, /* plain scatter: assign */
  RED_SUM,
  RED_PROD,
  RED_MEAN,
  RED_AMAX,
  RED_AMIN,
} scatter_reduce;

/* The identity of a reduction, stored as one element of dtype dt. */
static void reduce_identity(scatter_reduce red, ddk_dtype dt, void* out) {
  const ddk_ku_math m = ddk_ku_math_of(dt);
  if (red != RED_AMAX && red != RED_AMIN) { /* 0 (sum, mean) or 1 (prod) */
    if (m == DDK_KU_MATH_I64)
      ddk_ku_store_i64(out, dt, 0, red == RED_PROD ? 1 : 0);
    else
      ddk_ku_store_f64(out, dt, 0, red == RED_PROD ? 1.0 : 0.0);
    return;
  }
  const bool lo = red == RED_AMAX;
  if (m != DDK_KU_MATH_I64) {
    ddk_ku_store_f64(out, dt, 0, lo ? -INFINITY : INFINITY);
    return;
  }
  int64_t v = 0;
  switch (dt) {
    case DDK_DTYPE_BOOL:
      v = lo ? 0 : 1;
      break;
    case DDK_DTYPE_UINT8:
      v = lo ? 0 : UINT8_MAX;
      break;
    case DDK_DTYPE_INT8:
      v = lo ? INT8_MIN : INT8_MAX;
      break;
    case DDK_DTYPE_INT16:
      v = lo ? INT16_MIN : INT16_MAX;
      break;
    case DDK_DTYPE_INT32:
      v = lo ? INT32_MIN : INT32_MAX;
      break;
    default:
      v = lo ? INT64_MIN : INT64_MAX;
      break;
  }
  ddk_ku_store_i64(out, dt, 0, v);
}

/* One step of a reduction in the math type. NaN handling of amax/amin as
 * ATen's ReduceMaximum/ReduceMinimum: a NaN source wins, then std::max. */
#define RED_STEP(acc, v, red)                                             \
  ((red) == RED_PROD   ? (acc) * (v)                                      \
   : (red) == RED_AMAX ? ((v) != (v) ? (v) : ((acc) < (v) ? (v) : (acc))) \
   : (red) == RED_AMIN ? ((v) != (v) ? (v) : ((v) < (acc) ? (v) : (acc))) \
                       : (acc) + (v))

/* A reduction's result for one element of out: acc (the math type) with
 * `count` contributions (+1 with self) — rounded once into out's dtype, as
 * ATen (which reduces float16/bfloat16 in float) does; mean then divides
 * the rounded sum (floor division for integers). */
static void reduce_store(ddk_tensor* out, int64_t o, ddk_ku_math m, double d, float f, int64_t i,
                         scatter_reduce red, int64_t count) {
  const ddk_dtype dt = out->dtype;
  switch (m) {
    case DDK_KU_MATH_F64:
      ddk_ku_store_f64(out->data, dt, o, red == RED_MEAN ? d / (double)count : d);
      break;
    case DDK_KU_MATH_F32:
      f = ddk_ku_round_f32(f, dt);
      ddk_ku_store_f32(out->data, dt, o, red == RED_MEAN ? f / (float)count : f);
      break;
    default:
      i = ddk_ku_round_i64(i, dt);
      ddk_ku_store_i64(out->data, dt, o, red == RED_MEAN ? ddk_ku_floor_div(i, count) : i);
      break;
  }
}

/* scatter_add / scatter_reduce: per index line (fixed coordinates off
 * dim) and per chunk of 256 target positions, accumulate in the math type
 * (starting from out's element, or the identity without include_self) in
 * index order, then store once. */
static void scatter_reduce_lines(ddk_tensor* out, const ix_view* ov, const ddk_tensor* index,
                                 const ix_view* iv, const ddk_tensor* src, const ix_view* sv,
                                 int64_t dim, scatter_reduce red, bool include_self) {
  enum { CHUNK = 256 };
  const ddk_dtype dt = out->dtype;
  const ddk_ku_math m = ddk_ku_math_of(dt);
  int64_t ident_elem = 0;
  reduce_identity(red, dt, &ident_elem);
  int64_t line[DDK_MAX_RANK];
  memcpy(line, iv->sizes, sizeof line);
  line[dim] = 1;
  const int64_t n = iv->sizes[dim], size = ov->sizes[dim];
  int64_t pos[DDK_MAX_RANK] = {0};
  do {
    const int64_t ib = ddk_ix_dot(pos, iv->strides, iv->rank);
    const int64_t ob = ddk_ix_dot(pos, ov->strides, ov->rank);
    const int64_t sb = ddk_ix_dot(pos, sv->strides, sv->rank);
    for (int64_t j0 = 0; j0 < size; j0 += CHUNK) {
      double d[CHUNK];
      float f[CHUNK];
      int64_t iacc[CHUNK], count[CHUNK] = {0};
      for (int64_t i = 0; i < n; ++i) {
        const int64_t k = ddk_ix_index_at(index, ib + i * iv->strides[dim]) - j0;
        if (k < 0 || k >= CHUNK) continue;
        const int64_t so = sb + i * sv->strides[dim];
        if (count[k]++ == 0) { /* first contribution: start from self or the identity */
          const void* base = include_self ? out->data : (const void*)&ident_elem;
          const int64_t off = include_self ? ob + (j0 + k) * ov->strides[dim] : 0;
          d[k] = ddk_ku_load_f64(base, dt, off);
          f[k] = ddk_ku_load_f32(base, dt, off);
          iacc[k] = ddk_ku_load_i64(base, dt, off);
        }
        if (m == DDK_KU_MATH_F64) {
          const double v = ddk_ku_load_f64(src->data, dt, so);
          d[k] = RED_STEP(d[k], v, red);
        } else if (m == DDK_KU_MATH_F32) {
          const float v = ddk_ku_load_f32(src->data, dt, so);
          f[k] = RED_STEP(f[k], v, red);
        } else {
          const int64_t v = ddk_ku_load_i64(src->data, dt, so);
          iacc[k] = red == RED_PROD   ? ddk_ku_wrap_mul(iacc[k], v)
                    : red == RED_AMAX ? (iacc[k] < v ? v : iacc[k])
                    : red == RED_AMIN ? (v < iacc[k] ? v : iacc[k])
                                      : ddk_ku_wrap_add(iacc[k], v);
        }
      }
      for (int64_t k = 0; k < CHUNK && j0 + k < size; ++k)
        if (count[k] > 0)
          reduce_store(out, ob + (j0 + k) * ov->strides[dim], m, d[k], f[k], iacc[k], red,
                       count[k] + (include_self ? 1 : 0));
    }
  } while (ddk_ix_next(pos, line, iv->rank));
}

/* The scatter family: src may be NULL (then `value` holds one element). */
static ddk_status scatter_run(ddk_kernel_ctx* ctx, const ddk_node_view* node, const ddk_tensor* src,
                              const void* value, scatter_reduce red, bool include_self) {
  const ddk_tensor* self = ddk_kernel_arg_tensor(ctx, node, 0);
  const ddk_tensor* index = ddk_kernel_arg_tensor(ctx, node, 2);
  ddk_tensor* out = ddk_kernel_out(ctx, node, 0);
  int64_t dim = 0;
  ddk_status st = check_out_like(ctx, node, self, out);
  if (st == DDK_OK) st = arg_dim(ctx, node, 1, self->rank, &dim);
  if (st != DDK_OK) return st;
  if (src != NULL && src->dtype != self->dtype)
    return ddk_kernel_fail(ctx, node, DDK_DTYPE_MISMATCH, "expected self.dtype to equal src.dtype");
  if (red == RED_MEAN && self->dtype == DDK_DTYPE_BOOL)
    return ddk_kernel_fail(ctx, node, DDK_UNSUPPORTED_DTYPE,
                           "reduce='mean' is not implemented for bool");
  ddk_ix_copy_tensor(out, self);
  if (ddk_tensor_numel(index) == 0) return DDK_OK;
  ix_view ov, iv, sv;
  view_of(out, &ov);
  view_of(index, &iv);
  if (src != NULL) view_of(src, &sv);
  st = check_index_fits(ctx, node, &ov, dim, index, &iv, src != NULL ? &sv : NULL);
  if (st != DDK_OK) return st;
  int64_t pos[DDK_MAX_RANK] = {0};
  do { /* every index in range first; plain scatter writes in the same walk */
    const int64_t k = ddk_ix_index_at(index, ddk_ix_dot(pos, iv.strides, iv.rank));
    if (k < 0 || k >= ov.sizes[dim]) return index_out_of_bounds(ctx, node, k, dim, ov.sizes[dim]);
    if (red != RED_NONE) continue;
    const int64_t o = ddk_ix_dot(pos, ov.strides, ov.rank) + (k - pos[dim]) * ov.strides[dim];
    if (src != NULL)
      ddk_ix_copy_elem(out->data, o, src->data, ddk_ix_dot(pos, sv.strides, sv.rank),
                       ddk_dtype_size(out->dtype));
    else
      ddk_ix_copy_elem(out->data, o, value, 0, ddk_dtype_size(out->dtype));
  } while (ddk_ix_next(pos, iv.sizes, iv.rank));
  if (red != RED_NONE) scatter_reduce_lines(out, &ov, index, &iv, src, &sv, dim, red, include_self);
  return DDK_OK;
}

static bool scatter_args_ok(const ddk_node_view* node, uint32_t n, bool src) {
  return node->num_args >= n && node->num_outputs >= 1 && node->args[0].kind == DDK_ARG_TENSOR &&
         node->args[2].kind == DDK_ARG_TENSOR && (!src || node->args[3].kind == DDK_ARG_TENSOR);
}

ddk_status ddk_kernel_aten_scatter_src(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  if (!scatter_args_ok(node, 4, true))
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "expected (self, dim, index, src)");
  return scatter_run(ctx, node, ddk_kernel_arg_tensor(ctx, node, 3), NULL, RED_NONE, true);
}

ddk_status ddk_kernel_aten_scatter_add(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  if (!scatter_args_ok(node, 4, true))
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "expected (self, dim, index, src)");
  return scatter_run(ctx, node, ddk_kernel_arg_tensor(ctx, node, 3), NULL, RED_SUM, true);
}

ddk_status ddk_kernel_aten_scatter_value(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  if (!scatter_args_ok(node, 4, false))
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "expected (self, dim, index, value)");
  const ddk_tensor* self = ddk_kernel_arg_tensor(ctx, node, 0);
  ddk_ku_scalar s;
  ddk_status st = ddk_ku_arg_scalar(ctx, node, 3, "value", &s);
  if (st == DDK_OK) st = ddk_ku_check_dtype(ctx, node, "self", self, DDK_KU_MASK_REAL);
  if (st != DDK_OK) return st;
  int64_t value = 0; /* one element of self's dtype (8 bytes, aligned) */
  if (!ddk_ix_scalar_to_elem(&s, self->dtype, &value))
    return ddk_kernel_fail(ctx, node, DDK_OUT_OF_RANGE,
                           "value cannot be converted to type %s without overflow",
                           ddk_dtype_name(self->dtype));
  return scatter_run(ctx, node, NULL, &value, RED_NONE, true);
}

ddk_status ddk_kernel_aten_scatter_reduce_two(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  if (!scatter_args_ok(node, 6, true) || node->args[4].kind != DDK_ARG_STRING ||
      node->args[4].u.str == NULL || node->args[5].kind != DDK_ARG_BOOL)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT,
                           "expected (self, dim, index, src, reduce, include_self)");
  /* ATen's get_reduction_enum also takes "max" and "min" */
  static const char* const names[] = {"sum", "prod", "mean", "amax", "amin", "max", "min"};
  static const scatter_reduce reds[] = {RED_SUM,  RED_PROD, RED_MEAN, RED_AMAX,
                                        RED_AMIN, RED_AMAX, RED_AMIN};
  for (int i = 0; i < 7; ++i)
    if (strcmp(node->args[4].u.str, names[i]) == 0)
      return scatter_run(ctx, node, ddk_kernel_arg_tensor(ctx, node, 3), NULL, reds[i],
                         node->args[5].u.b);
  return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT,
                         "reduce argument must be either sum, prod, mean, amax or amin, got %s",
                         node->args[4].u.str);
}

/* ------------------------------------------------------------------------ */
/* select_scatter, slice_scatter                                            */
/* ------------------------------------------------------------------------ */

/* out = self; then src (cast to self's dtype) into the view of out given
 * by sizes/strides starting at element `base`. */
static ddk_status embed_src(ddk_kernel_ctx* ctx, const ddk_node_view* node, const ddk_tensor* src,
                            const int64_t* sizes, const int64_t* strides, uint32_t rank,
                            int64_t base) {
  const ddk_tensor* self = ddk_kernel_arg_tensor(ctx, node, 0);
  ddk_tensor* out = ddk_kernel_out(ctx, node, 0);
  ddk_status st = check_out_like(ctx, node, self, out);
  if (st == DDK_OK) st = ddk_ku_check_dtype(ctx, node, "src", src, DDK_KU_MASK_REAL);
  if (st != DDK_OK) return st;
  bool same = src->rank == rank;
  for (uint32_t d = 0; same && d < rank; ++d) same = src->sizes[d] == sizes[d];
  if (!same)
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH,
                           "expected src to have a size equal to the slice of self");
  ddk_ix_copy_tensor(out, self);
  void* dst = (char*)out->data + (size_t)base * ddk_dtype_size(out->dtype);
  if (src->dtype == out->dtype)
    ddk_ku_copy_strided(dst, strides, src->data, src->strides, sizes, rank,
                        ddk_dtype_size(src->dtype));
  else
    ddk_ku_convert_strided(dst, out->dtype, strides, src->data, src->dtype, src->strides, sizes,
                           rank);
  return DDK_OK;
}

ddk_status ddk_kernel_aten_select_scatter(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  if (node->num_args < 4 || node->num_outputs < 1 || node->args[1].kind != DDK_ARG_TENSOR ||
      node->args[3].kind != DDK_ARG_INT)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "expected (self, src, dim, index)");
  const ddk_tensor* self = ddk_kernel_arg_tensor(ctx, node, 0);
  ddk_tensor* out = ddk_kernel_out(ctx, node, 0);
  if (self->rank == 0)
    return ddk_kernel_fail(ctx, node, DDK_OUT_OF_RANGE,
                           "select() cannot be applied to a 0-dim tensor");
  int64_t dim = 0;
  ddk_status st = arg_dim(ctx, node, 2, self->rank, &dim);
  if (st != DDK_OK) return st;
  const int64_t size = self->sizes[dim];
  int64_t index = node->args[3].u.i;
  if (index < -size || index >= size)
    return ddk_kernel_fail(ctx, node, DDK_OUT_OF_RANGE,
                           "select(): index %lld out of range for size %lld at dim %lld",
                           (long long)index, (long long)size, (long long)dim);
  if (index < 0) index += size;
  if (out->rank != self->rank)
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "result must have self's shape");
  int64_t sizes[DDK_MAX_RANK], strides[DDK_MAX_RANK];
  uint32_t r = 0;
  for (uint32_t d = 0; d < self->rank; ++d) {
    if ((int64_t)d == dim) continue;
    sizes[r] = self->sizes[d];
    strides[r++] = out->strides[d];
  }
  return embed_src(ctx, node, ddk_kernel_arg_tensor(ctx, node, 1), sizes, strides, r,
                   index * out->strides[dim]);
}

ddk_status ddk_kernel_aten_slice_scatter(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  const ddk_arg* a = node->args;
  if (node->num_args < 6 || node->num_outputs < 1 || a[1].kind != DDK_ARG_TENSOR ||
      (a[3].kind != DDK_ARG_NONE && a[3].kind != DDK_ARG_INT) ||
      (a[4].kind != DDK_ARG_NONE && a[4].kind != DDK_ARG_INT) || a[5].kind != DDK_ARG_INT)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT,
                           "expected (self, src, dim, start?, end?, step)");
  const ddk_tensor* self = ddk_kernel_arg_tensor(ctx, node, 0);
  ddk_tensor* out = ddk_kernel_out(ctx, node, 0);
  if (self->rank == 0)
    return ddk_kernel_fail(ctx, node, DDK_OUT_OF_RANGE,
                           "slice() cannot be applied to a 0-dim tensor");
  int64_t dim = 0;
  ddk_status st = arg_dim(ctx, node, 2, self->rank, &dim);
  if (st != DDK_OK) return st;
  const int64_t step = a[5].u.i;
  if (step <= 0)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT, "slice step must be positive");
  if (out->rank != self->rank)
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "result must have self's shape");
  const int64_t size = self->sizes[dim];
  int64_t start = a[3].kind == DDK_ARG_INT ? a[3].u.i : 0;
  int64_t end = a[4].kind == DDK_ARG_INT ? a[4].u.i : INT64_MAX;
  if (start < 0) start = start < -size ? 0 : start + size;
  if (end < 0) end = end < -size ? 0 : end + size;
  if (start > size) start = size;
  if (end < start) end = start;
  if (end > size) end = size;
  int64_t sizes[DDK_MAX_RANK], strides[DDK_MAX_RANK];
  for (uint32_t d = 0; d < self->rank; ++d) {
    sizes[d] = self->sizes[d];
    strides[d] = out->strides[d];
  }
  sizes[dim] = (end - start + step - 1) / step;
  strides[dim] *= step;
  return embed_src(ctx, node, ddk_kernel_arg_tensor(ctx, node, 1), sizes, strides, self->rank,
                   start * out->strides[dim]);
}
