/*
 * op_sort.c — aten::sort, aten::topk.
 *
 * Semantics (ATen CPU):
 *  - sort(dim=-1, descending=False): values and their int64 indices along
 *    `dim`. NaN sorts above +inf (last ascending, first descending); -0
 *    and +0 are equal. Ties keep their original order (the order
 *    torch.sort(stable=True) gives; aten::sort does not promise one).
 *  - topk(k, dim=-1, largest=True, sorted=True): the k largest (smallest)
 *    elements with NaN the largest, in sorted order (also when
 *    sorted=False, whose order ATen leaves unspecified); ties take the
 *    lower index first. k outside [0, size] is refused; bool is refused.
 *  - a 0-d input gives itself and index 0 (topk: k may be 0 or 1).
 * Values are copied bit for bit: the results are exact.
 *
 * Method: per line, the chosen elements are kept as a binary heap in the
 * output line itself (value and index slots; the worst element at the
 * root), ordered by (value, index) so the order is total and the result
 * unique; the heap is then sorted in place. O(n log k), no scratch memory.
 */
#include "kernel_util.h"

typedef union sort_key {
  double f;
  int64_t i;
} sort_key;

/* One output line: values (dtype dt, stride vst) and indices (stride ist). */
typedef struct sort_line {
  char* v;
  int64_t* idx;
  int64_t vst, ist;
  ddk_dtype dt;
  size_t esz;
  bool is_float;
  bool desc; /* order by descending value */
} sort_line;

static sort_key sort_load(const sort_line* l, const void* base, int64_t off) {
  sort_key k;
  if (l->is_float)
    k.f = ddk_ku_load_f64(base, l->dt, off);
  else
    k.i = ddk_ku_load_i64(base, l->dt, off);
  return k;
}

/* True when (a, ia) comes before (b, ib) in the line's order. */
static bool sort_before(const sort_line* l, sort_key a, int64_t ia, sort_key b, int64_t ib) {
  int c;
  if (l->is_float) {
    const bool na = isnan(a.f), nb = isnan(b.f);
    c = (na || nb) ? (int)na - (int)nb : (a.f > b.f) - (a.f < b.f);
  } else {
    c = (a.i > b.i) - (a.i < b.i);
  }
  if (l->desc) c = -c;
  return c != 0 ? c < 0 : ia < ib;
}

static bool sort_slot_before(const sort_line* l, int64_t a, int64_t b) {
  return sort_before(l, sort_load(l, l->v, a * l->vst), l->idx[a * l->ist],
                     sort_load(l, l->v, b * l->vst), l->idx[b * l->ist]);
}

static void sort_swap(const sort_line* l, int64_t a, int64_t b) {
  unsigned char t[16];
  char* pa = l->v + (size_t)(a * l->vst) * l->esz;
  char* pb = l->v + (size_t)(b * l->vst) * l->esz;
  memcpy(t, pa, l->esz);
  memcpy(pa, pb, l->esz);
  memcpy(pb, t, l->esz);
  const int64_t ti = l->idx[a * l->ist];
  l->idx[a * l->ist] = l->idx[b * l->ist];
  l->idx[b * l->ist] = ti;
}

/* Heap of n slots with the latest element (in line order) at the root. */
static void sort_sift_down(const sort_line* l, int64_t p, int64_t n) {
  for (;;) {
    int64_t c = 2 * p + 1;
    if (c >= n) return;
    if (c + 1 < n && sort_slot_before(l, c, c + 1)) ++c;
    if (!sort_slot_before(l, p, c)) return;
    sort_swap(l, p, c);
    p = c;
  }
}

static void sort_sift_up(const sort_line* l, int64_t c) {
  while (c > 0) {
    const int64_t p = (c - 1) / 2;
    if (!sort_slot_before(l, p, c)) return;
    sort_swap(l, p, c);
    c = p;
  }
}

/* Puts the first k of the n elements x[xo + e*xs] (in line order) into the line, sorted. */
static void sort_select(const sort_line* l, const ddk_tensor* x, int64_t xo, int64_t xs, int64_t n,
                        int64_t k) {
  int64_t count = 0;
  for (int64_t e = 0; e < n && k > 0; ++e) {
    const int64_t off = xo + e * xs;
    if (count == k) {
      const sort_key key = sort_load(l, x->data, off);
      if (!sort_before(l, key, e, sort_load(l, l->v, 0), l->idx[0])) continue;
      count = k - 1;
      sort_swap(l, 0, count); /* drop the root: move the last slot up */
      sort_sift_down(l, 0, count);
    }
    memcpy(l->v + (size_t)(count * l->vst) * l->esz, (const char*)x->data + (size_t)off * l->esz,
           l->esz);
    l->idx[count * l->ist] = e;
    sort_sift_up(l, count);
    ++count;
  }
  for (int64_t end = count - 1; end > 0; --end) {
    sort_swap(l, 0, end);
    sort_sift_down(l, 0, end);
  }
}

/* The shared body: k < 0 means sort (k = the dim's size). */
static ddk_status sort_run(ddk_kernel_ctx* ctx, const ddk_node_view* node, int64_t dim, int64_t k,
                           bool desc) {
  const ddk_tensor* x = ddk_kernel_arg_tensor(ctx, node, 0);
  ddk_tensor* yv = ddk_kernel_out(ctx, node, 0);
  ddk_tensor* yi = ddk_kernel_out(ctx, node, 1);
  const bool is_topk = k >= 0;
  uint32_t mask = DDK_KU_MASK_REAL;
  if (is_topk) mask &= ~DDK_KU_BIT(BOOL);
  ddk_status st = ddk_ku_check_dtype(ctx, node, "self", x, mask);
  if (st != DDK_OK) return st;
  if (yv->dtype != x->dtype || yi->dtype != DDK_DTYPE_INT64)
    return ddk_kernel_fail(ctx, node, DDK_DTYPE_MISMATCH, "results must be %s and int64",
                           ddk_dtype_name(x->dtype));
  const int64_t r = x->rank == 0 ? 1 : (int64_t)x->rank;
  if (dim < -r || dim >= r)
    return ddk_kernel_fail(ctx, node, DDK_OUT_OF_RANGE, "dim %lld out of range", (long long)dim);
  if (dim < 0) dim += r;
  const int64_t len = x->rank == 0 ? 1 : x->sizes[dim];
  if (!is_topk) k = len;
  if (k > len) return ddk_kernel_fail(ctx, node, DDK_OUT_OF_RANGE, "selected index k out of range");
  if (yv->rank != x->rank || yi->rank != x->rank)
    return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "result rank must match self");
  sort_line l = {0};
  l.dt = x->dtype;
  l.esz = ddk_dtype_size(x->dtype);
  l.is_float = ddk_ku_math_of(x->dtype) != DDK_KU_MATH_I64;
  l.desc = desc;
  if (x->rank == 0) { /* itself, index 0 */
    memcpy(yv->data, x->data, l.esz);
    ((int64_t*)yi->data)[0] = 0;
    return DDK_OK;
  }
  int64_t ks[DDK_MAX_RANK], kst[3][DDK_MAX_RANK];
  uint32_t nk = 0;
  for (uint32_t i = 0; i < x->rank; ++i) {
    const int64_t want = (int64_t)i == dim ? k : x->sizes[i];
    if (yv->sizes[i] != want || yi->sizes[i] != want)
      return ddk_kernel_fail(ctx, node, DDK_SHAPE_MISMATCH, "result shape does not match");
    if ((int64_t)i == dim) continue;
    ks[nk] = x->sizes[i];
    kst[0][nk] = x->strides[i];
    kst[1][nk] = yv->strides[i];
    kst[2][nk++] = yi->strides[i];
  }
  l.vst = yv->strides[dim];
  l.ist = yi->strides[dim];
  const int64_t xs = x->strides[dim];
  const int64_t* kp[3] = {kst[0], kst[1], kst[2]};
  ddk_ku_loop kl;
  ddk_ku_loop_init_strided(&kl, ks, nk, kp, 3);
  if (kl.numel == 0 || k == 0) return DDK_OK;
  const uint32_t last = kl.rank - 1;
  const int64_t kin = kl.sizes[last];
  ddk_ku_cursor kc;
  ddk_ku_cursor_init(&kc);
  for (int64_t done = 0; done < kl.numel; done += kin) {
    for (int64_t j = 0; j < kin; ++j) {
      l.v = (char*)yv->data + (size_t)(kc.offset[1] + j * kl.strides[1][last]) * l.esz;
      l.idx = (int64_t*)yi->data + kc.offset[2] + j * kl.strides[2][last];
      sort_select(&l, x, kc.offset[0] + j * kl.strides[0][last], xs, len, k);
    }
    ddk_ku_cursor_next_row(&kl, &kc);
  }
  return DDK_OK;
}

/* ------------------------------------------------------------------------ */
/* Kernels                                                                  */
/* ------------------------------------------------------------------------ */

ddk_status ddk_kernel_aten_sort(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  if (node->num_args < 3 || node->num_outputs < 2 || node->args[1].kind != DDK_ARG_INT ||
      node->args[2].kind != DDK_ARG_BOOL)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT,
                           "expected (self, int dim, bool descending)");
  return sort_run(ctx, node, node->args[1].u.i, -1, node->args[2].u.b);
}

ddk_status ddk_kernel_aten_topk(ddk_kernel_ctx* ctx, const ddk_node_view* node) {
  if (node->num_args < 5 || node->num_outputs < 2 || node->args[1].kind != DDK_ARG_INT ||
      node->args[2].kind != DDK_ARG_INT || node->args[3].kind != DDK_ARG_BOOL ||
      node->args[4].kind != DDK_ARG_BOOL)
    return ddk_kernel_fail(ctx, node, DDK_INVALID_ARGUMENT,
                           "expected (self, int k, int dim, bool largest, bool sorted)");
  const int64_t k = node->args[1].u.i;
  if (k < 0) return ddk_kernel_fail(ctx, node, DDK_OUT_OF_RANGE, "selected index k out of range");
  return sort_run(ctx, node, node->args[2].u.i, k, node->args[3].u.b);
}
