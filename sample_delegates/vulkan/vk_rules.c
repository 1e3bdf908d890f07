/*
 * vk_rules.c — which nodes the Vulkan delegate runs, and `partition`.
 *
 * One rule per op family (vk_node_rule) says whether the kernels run the
 * node exactly as ATen defines it (float32 values, static shapes, any
 * dense layout, at most six dims after merging); preprocess asks the same
 * rules, so a claimed node always compiles. Data movement whose input is
 * known ahead of time (a weight's permute or view) is folded at
 * preprocess; a reshape that leaves the bytes where they are shares its
 * input's storage. Also here: the strided-view helpers both sides use.
 */
#include <math.h>
#include <string.h>

#include "vk_internal.h"

/* ---- strided views -------------------------------------------------------- */

void vk_view_coalesce(vk_view* v) {
  uint32_t r = 0;
  int64_t size[DDK_MAX_RANK], stride[4][DDK_MAX_RANK];
  /* innermost first: out index k = r - 1 - ... built reversed */
  for (int d = (int)v->rank - 1; d >= 0; --d) {
    if (v->size[d] == 1) continue;
    if (r > 0) {
      bool merge = true;
      for (uint32_t j = 0; j < v->num_operands; ++j)
        if (v->stride[j][d] != stride[j][r - 1] * size[r - 1]) merge = false;
      if (merge) {
        size[r - 1] *= v->size[d];
        continue;
      }
    }
    size[r] = v->size[d];
    for (uint32_t j = 0; j < v->num_operands; ++j) stride[j][r] = v->stride[j][d];
    ++r;
  }
  v->rank = r;
  for (uint32_t k = 0; k < r; ++k) {
    v->size[k] = size[r - 1 - k];
    for (uint32_t j = 0; j < v->num_operands; ++j) v->stride[j][k] = stride[j][r - 1 - k];
  }
}

int64_t vk_view_numel(const vk_view* v) {
  int64_t n = 1;
  for (uint32_t d = 0; d < v->rank; ++d) n *= v->size[d];
  return n;
}

void vk_view_set_broadcast(vk_view* v, uint32_t j, const ddk_tensor* t) {
  int off = (int)v->rank - (int)t->rank;
  for (uint32_t d = 0; d < v->rank; ++d) {
    int td = (int)d - off;
    v->stride[j][d] = (td >= 0 && t->sizes[td] != 1) ? t->strides[td] : 0;
  }
  v->base[j] = 0;
}

/* ---- value predicates ----------------------------------------------------- */

bool vk_contiguous(const ddk_tensor* t) {
  for (uint32_t i = 0; i < t->rank; ++i)
    if (t->dim_order[i] != i) return false;
  return true;
}

bool vk_value_f32(const ddk_value_desc* v) {
  if (v->tensor.dtype != DDK_DTYPE_FLOAT32 || v->dynamic_mask != 0 || v->tensor.rank > DDK_MAX_RANK)
    return false;
  int64_t n = 1;
  for (uint32_t i = 0; i < v->tensor.rank; ++i) {
    if (v->tensor.sizes[i] < 0) return false;
    n *= v->tensor.sizes[i];
  }
  return n < ((int64_t)1 << 30); /* indices stay in 32 bits */
}

/* ---- facts ---------------------------------------------------------------- */

bool vk_facts_init(vk_graph_facts* f, const ddk_graph_view* g, const ddk_allocator* a) {
  memset(f, 0, sizeof *f);
  f->g = g;
  size_t nv = (size_t)g->num_values + 1;
  f->const_derived = a->alloc(a->self, nv, 16);
  f->producer = a->alloc(a->self, nv * sizeof(uint32_t), 16);
  f->uses = a->alloc(a->self, nv * sizeof(uint32_t), 16);
  if (!f->const_derived || !f->producer || !f->uses) {
    vk_facts_free(f, a);
    return false;
  }
  for (uint32_t v = 0; v < g->num_values; ++v) {
    f->const_derived[v] = (g->values[v].flags & DDK_VALUE_CONSTANT) != 0;
    f->producer[v] = DDK_NO_VALUE;
    f->uses[v] = 0;
  }
  for (uint32_t i = 0; i < g->num_outputs; ++i) f->uses[g->outputs[i]]++;
  for (uint32_t k = 0; k < g->num_nodes; ++k) {
    const ddk_node_view* n = &g->nodes[k];
    bool all_const = true, any_tensor = false;
    for (uint32_t i = 0; i < n->num_args; ++i) {
      const ddk_arg* arg = &n->args[i];
      if (arg->kind == DDK_ARG_TENSOR) {
        any_tensor = true;
        f->uses[arg->u.tensor]++;
        if (!f->const_derived[arg->u.tensor]) all_const = false;
      } else if (arg->kind == DDK_ARG_TENSOR_LIST) {
        for (uint32_t j = 0; j < arg->count; ++j)
          if (arg->u.tensors[j] != DDK_NO_VALUE) {
            any_tensor = true;
            f->uses[arg->u.tensors[j]]++;
            if (!f->const_derived[arg->u.tensors[j]]) all_const = false;
          }
      }
    }
    /* scalar_tensor and full make constants too */
    bool creation = n->op_id == DDK_OP_ATEN_SCALAR_TENSOR || n->op_id == DDK_OP_ATEN_FULL;
    for (uint32_t o = 0; o < n->num_outputs; ++o) {
      f->producer[n->outputs[o]] = k;
      f->const_derived[n->outputs[o]] = any_tensor ? all_const : creation;
    }
  }
  return true;
}

void vk_facts_free(vk_graph_facts* f, const ddk_allocator* a) {
  if (f->g == NULL) return;
  size_t nv = (size_t)f->g->num_values + 1;
  if (f->const_derived) a->free(a->self, f->const_derived, nv);
  if (f->producer) a->free(a->self, f->producer, nv * sizeof(uint32_t));
  if (f->uses) a->free(a->self, f->uses, nv * sizeof(uint32_t));
  memset(f, 0, sizeof *f);
}

/* ---- movement views -------------------------------------------------------- */

static int64_t norm_dim(int64_t d, uint32_t rank) {
  int64_t r = rank == 0 ? 1 : rank;
  return d < 0 ? d + r : d;
}

/* Input strides for an output that differs from x by size-1 dims only. */
static bool same_but_ones(const ddk_tensor* x, const ddk_tensor* o, int64_t* in_stride) {
  uint32_t j = 0;
  for (uint32_t d = 0; d < o->rank; ++d) {
    if (o->sizes[d] == 1) {
      in_stride[d] = 0;
      continue;
    }
    while (j < x->rank && x->sizes[j] == 1) ++j;
    if (j >= x->rank || x->sizes[j] != o->sizes[d]) return false;
    in_stride[d] = x->strides[j++];
  }
  while (j < x->rank && x->sizes[j] == 1) ++j;
  return j == x->rank;
}

static void contiguous_strides(const ddk_tensor* o, int64_t* s) {
  int64_t acc = 1;
  for (int d = (int)o->rank - 1; d >= 0; --d) {
    s[d] = acc;
    acc *= o->sizes[d] > 0 ? o->sizes[d] : 1;
  }
}

bool vk_movement_view(const ddk_node_view* n, const ddk_tensor* x, const ddk_tensor* o,
                      vk_view* v) {
  memset(v, 0, sizeof *v);
  v->num_operands = 2; /* 0: the input, 1: the output */
  v->rank = o->rank;
  for (uint32_t d = 0; d < o->rank; ++d) {
    v->size[d] = o->sizes[d];
    v->stride[1][d] = o->strides[d];
  }
  int64_t* is = v->stride[0];
  switch (n->op_id) {
    case DDK_OP_ATEN_PERMUTE: {
      const int64_t* dims;
      uint32_t nd;
      if (!va_ints(n, 1, &dims, &nd) || nd != x->rank || x->rank != o->rank) return false;
      for (uint32_t d = 0; d < nd; ++d) {
        int64_t s = norm_dim(dims[d], x->rank);
        if (s < 0 || s >= (int64_t)x->rank || x->sizes[s] != o->sizes[d]) return false;
        is[d] = x->strides[s];
      }
      return true;
    }
    case DDK_OP_ATEN_EXPAND: {
      if (x->rank > o->rank) return false;
      int off = (int)o->rank - (int)x->rank;
      for (uint32_t d = 0; d < o->rank; ++d) {
        int td = (int)d - off;
        if (td >= 0 && x->sizes[td] != 1 && x->sizes[td] != o->sizes[d]) return false;
        is[d] = (td >= 0 && x->sizes[td] != 1) ? x->strides[td] : 0;
      }
      return true;
    }
    case DDK_OP_ATEN_SLICE_TENSOR: {
      int64_t dim, start = 0, end = INT64_MAX, step = 1;
      if (!va_int(n, 1, &dim) || x->rank == 0 || x->rank != o->rank) return false;
      if (!va_is_none(n, 2) && !va_int(n, 2, &start)) return false;
      if (!va_is_none(n, 3) && !va_int(n, 3, &end)) return false;
      if (!va_int(n, 4, &step) || step < 1) return false;
      dim = norm_dim(dim, x->rank);
      if (dim < 0 || dim >= (int64_t)x->rank) return false;
      int64_t size = x->sizes[dim];
      if (start < 0) start += size;
      if (end < 0) end += size;
      if (start < 0)
        start = 0;
      else if (start > size)
        start = size;
      if (end < start)
        end = start;
      else if (end > size)
        end = size;
      if ((end - start + step - 1) / step != o->sizes[dim]) return false;
      for (uint32_t d = 0; d < o->rank; ++d) {
        if ((int64_t)d != dim && x->sizes[d] != o->sizes[d]) return false;
        is[d] = x->strides[d] * ((int64_t)d == dim ? step : 1);
      }
      v->base[0] = o->sizes[dim] > 0 ? start * x->strides[dim] : 0;
      return true;
    }
    case DDK_OP_ATEN_SELECT_INT: {
      int64_t dim, index;
      if (!va_int(n, 1, &dim) || !va_int(n, 2, &index) || x->rank == 0 || o->rank + 1 != x->rank)
        return false;
      dim = norm_dim(dim, x->rank);
      if (dim < 0 || dim >= (int64_t)x->rank) return false;
      if (index < 0) index += x->sizes[dim];
      if (index < 0 || index >= x->sizes[dim]) return false;
      for (uint32_t d = 0, k = 0; d < x->rank; ++d) {
        if ((int64_t)d == dim) continue;
        if (x->sizes[d] != o->sizes[k]) return false;
        is[k++] = x->strides[d];
      }
      v->base[0] = index * x->strides[dim];
      return true;
    }
    case DDK_OP_ATEN_VIEW:
    case DDK_OP_ATEN_UNSQUEEZE:
    case DDK_OP_ATEN_SQUEEZE_DIM:
    case DDK_OP_ATEN_SQUEEZE_DIMS:
    case DDK_OP_ATEN_ALIAS:
    case DDK_OP_ATEN_CLONE:
    case DDK_OP_ATEN_TO_COPY: {
      if (ddk_tensor_numel(x) != ddk_tensor_numel(o)) return false;
      if (same_but_ones(x, o, is)) return true;
      if (!vk_contiguous(x)) return false; /* a view: logical order = memory order */
      contiguous_strides(o, is);
      return true;
    }
    default:
      return false;
  }
}

bool vk_gather_view(const ddk_tensor* t, vk_view* v) {
  memset(v, 0, sizeof *v);
  v->num_operands = 2;
  v->rank = t->rank;
  for (uint32_t d = 0; d < t->rank; ++d) {
    v->size[d] = t->sizes[d];
    v->stride[0][d] = t->strides[d];
  }
  contiguous_strides(t, v->stride[1]);
  vk_view_coalesce(v);
  return v->rank <= VK_KERNEL_DIMS;
}

/* ---- rules ------------------------------------------------------------------ */

#define VAL(f, i) (&(f)->g->values[(i)])

bool vk_value_float(const ddk_value_desc* v, bool f16) {
  if (v->tensor.dtype == DDK_DTYPE_FLOAT32) return vk_value_f32(v);
  if (!f16 || v->tensor.dtype != DDK_DTYPE_FLOAT16) return false;
  ddk_value_desc as32 = *v; /* the same checks, on the shape */
  as32.tensor.dtype = DDK_DTYPE_FLOAT32;
  return vk_value_f32(&as32);
}

bool vk_is_float(const vk_graph_facts* f, uint32_t v) {
  return v != DDK_NO_VALUE && v < f->g->num_values && vk_value_float(VAL(f, v), f->f16);
}

bool vk_out_float(const vk_graph_facts* f, const ddk_node_view* n) {
  return n->num_outputs >= 1 && vk_is_float(f, n->outputs[0]);
}

/* The coalesced view of an elementwise node fits the kernels. */
static bool fits_elementwise(const vk_graph_facts* f, const ddk_node_view* n, uint32_t a,
                             uint32_t b) {
  vk_view v;
  memset(&v, 0, sizeof v);
  const ddk_tensor* o = &VAL(f, n->outputs[0])->tensor;
  v.rank = o->rank;
  v.num_operands = b == DDK_NO_VALUE ? 2 : 3;
  for (uint32_t d = 0; d < o->rank; ++d) v.size[d] = o->sizes[d];
  if (VAL(f, a)->tensor.rank > o->rank) return false;
  vk_view_set_broadcast(&v, 0, &VAL(f, a)->tensor);
  if (b != DDK_NO_VALUE) {
    if (VAL(f, b)->tensor.rank > o->rank) return false;
    vk_view_set_broadcast(&v, 1, &VAL(f, b)->tensor);
  }
  for (uint32_t d = 0; d < o->rank; ++d) v.stride[v.num_operands - 1][d] = o->strides[d];
  vk_view_coalesce(&v);
  return v.rank <= VK_KERNEL_DIMS;
}

static bool rule_binary(const vk_graph_facts* f, const ddk_node_view* n, bool scalar,
                        bool has_alpha) {
  uint32_t a = va_tensor(n, 0);
  if (!vk_out_float(f, n) || !vk_is_float(f, a)) return false;
  uint32_t b = DDK_NO_VALUE;
  if (scalar) {
    double s;
    if (!va_number(n, 1, &s)) return false;
  } else {
    b = va_tensor(n, 1);
    if (!vk_is_float(f, b)) return false;
  }
  if (has_alpha) {
    double alpha = 1;
    if (!va_is_none(n, 2) && !va_number(n, 2, &alpha)) return false;
    if (!isfinite(alpha)) return false;
  }
  return fits_elementwise(f, n, a, b);
}

static bool rule_unary(const vk_graph_facts* f, const ddk_node_view* n) {
  uint32_t x = va_tensor(n, 0);
  return vk_out_float(f, n) && vk_is_float(f, x) &&
         ddk_tensor_numel(&VAL(f, x)->tensor) == ddk_tensor_numel(&VAL(f, n->outputs[0])->tensor) &&
         fits_elementwise(f, n, x, DDK_NO_VALUE);
}

/* Optional number argument i (absent: `fallback`). */
bool vk_opt_number(const ddk_node_view* n, uint32_t i, double fallback, double* out) {
  *out = fallback;
  return va_is_none(n, i) || va_number(n, i, out);
}

static bool rule_activation(const vk_graph_facts* f, const ddk_node_view* n) {
  if (!rule_unary(f, n)) return false;
  double a, b, c;
  switch (n->op_id) {
    case DDK_OP_ATEN_CLAMP: /* a NaN limit: every output NaN (lowering) */
      return vk_opt_number(n, 1, -INFINITY, &a) && vk_opt_number(n, 2, INFINITY, &b);
    case DDK_OP_ATEN_HARDTANH:
      return vk_opt_number(n, 1, -1, &a) && vk_opt_number(n, 2, 1, &b);
    case DDK_OP_ATEN_LEAKY_RELU:
      return vk_opt_number(n, 1, 0.01, &a) && isfinite(a);
    case DDK_OP_ATEN_ELU:
      return vk_opt_number(n, 1, 1, &a) && vk_opt_number(n, 2, 1, &b) &&
             vk_opt_number(n, 3, 1, &c) && isfinite(a * b) && isfinite(c) && fabs(a * b) < 3.4e38;
    case DDK_OP_ATEN_GELU: {
      if (va_is_none(n, 1)) return true;
      if (n->args[1].kind != DDK_ARG_STRING || n->args[1].u.str == NULL) return false;
      return strcmp(n->args[1].u.str, "none") == 0 || strcmp(n->args[1].u.str, "tanh") == 0;
    }
    default:
      return true;
  }
}

static bool rule_movement(const vk_graph_facts* f, const ddk_node_view* n) {
  uint32_t x = va_tensor(n, 0);
  if (!vk_out_float(f, n) || !vk_is_float(f, x)) return false;
  if (n->op_id == DDK_OP_ATEN_TO_COPY) {
    int64_t dt;
    if (!va_is_none(n, 1) && (!va_int(n, 1, &dt) || dt != VAL(f, x)->tensor.dtype)) return false;
  }
  const ddk_tensor* xt = &VAL(f, x)->tensor;
  const ddk_tensor* ot = &VAL(f, n->outputs[0])->tensor;
  vk_view v;
  if (!vk_movement_view(n, xt, ot, &v)) {
    /* a view of strided data: gathered into row-major order first */
    if (n->op_id != DDK_OP_ATEN_VIEW || ddk_tensor_numel(xt) != ddk_tensor_numel(ot)) return false;
    return vk_gather_view(xt, &v) && vk_gather_view(ot, &v);
  }
  vk_view_coalesce(&v);
  return v.rank <= VK_KERNEL_DIMS;
}

/* A movement node whose output occupies the same bytes as its input. */
static bool is_identity_view(const vk_graph_facts* f, const ddk_node_view* n) {
  const ddk_tensor* x = &VAL(f, va_tensor(n, 0))->tensor;
  const ddk_tensor* o = &VAL(f, n->outputs[0])->tensor;
  vk_view v;
  if (ddk_tensor_numel(x) != ddk_tensor_numel(o) || !vk_movement_view(n, x, o, &v)) return false;
  vk_view_coalesce(&v);
  if (v.base[0] != 0) return false;
  return v.rank == 0 || (v.rank == 1 && v.stride[0][0] == 1 && v.stride[1][0] == 1);
}

static bool rule_cat(const vk_graph_facts* f, const ddk_node_view* n) {
  if (!vk_out_float(f, n) || n->num_args < 1 || n->args[0].kind != DDK_ARG_TENSOR_LIST)
    return false;
  int64_t dim = 0;
  if (!va_is_none(n, 1) && !va_int(n, 1, &dim)) return false;
  const ddk_tensor* o = &VAL(f, n->outputs[0])->tensor;
  if (o->rank == 0) return false;
  dim = norm_dim(dim, o->rank);
  if (dim < 0 || dim >= (int64_t)o->rank) return false;
  for (uint32_t i = 0; i < n->args[0].count; ++i) {
    uint32_t t = n->args[0].u.tensors[i];
    if (!vk_is_float(f, t)) return false;
    const ddk_tensor* x = &VAL(f, t)->tensor;
    if (x->rank != o->rank) {
      if (ddk_tensor_numel(x) != 0) return false; /* legacy empty 1-d: skipped */
      continue;
    }
    vk_view v;
    memset(&v, 0, sizeof v);
    v.num_operands = 2;
    v.rank = x->rank;
    for (uint32_t d = 0; d < x->rank; ++d) {
      if ((int64_t)d != dim && x->sizes[d] != o->sizes[d]) return false;
      v.size[d] = x->sizes[d];
      v.stride[0][d] = x->strides[d];
      v.stride[1][d] = o->strides[d];
    }
    vk_view_coalesce(&v);
    if (v.rank > VK_KERNEL_DIMS) return false;
  }
  return true;
}

static bool rule_pad(const vk_graph_facts* f, const ddk_node_view* n) {
  uint32_t x = va_tensor(n, 0);
  const int64_t* pad;
  uint32_t np;
  double value = 0;
  if (!vk_out_float(f, n) || !vk_is_float(f, x) || !va_ints(n, 1, &pad, &np)) return false;
  if (!va_is_none(n, 2) && !va_number(n, 2, &value)) return false;
  const ddk_tensor* xt = &VAL(f, x)->tensor;
  const ddk_tensor* o = &VAL(f, n->outputs[0])->tensor;
  if (np % 2 || np / 2 > xt->rank || xt->rank != o->rank || xt->rank > VK_KERNEL_DIMS) return false;
  for (uint32_t d = 0; d < xt->rank; ++d) {
    int64_t before = 0, after = 0;
    uint32_t k = xt->rank - 1 - d;
    if (k < np / 2) {
      before = pad[2 * k];
      after = pad[2 * k + 1];
    }
    if (xt->sizes[d] + before + after != o->sizes[d]) return false;
  }
  return true;
}

/* where.self(cond, self, other): cond bool, broadcasting; the four
 * operands' coalesced view fits the kernel. */
static bool rule_where(const vk_graph_facts* f, const ddk_node_view* n) {
  uint32_t cnd = va_tensor(n, 0), a = va_tensor(n, 1), b = va_tensor(n, 2);
  if (!vk_out_float(f, n) || cnd == DDK_NO_VALUE || !vk_is_float(f, a) || !vk_is_float(f, b))
    return false;
  const ddk_value_desc* cv = VAL(f, cnd);
  const ddk_tensor* o = &VAL(f, n->outputs[0])->tensor;
  if (cv->tensor.dtype != DDK_DTYPE_BOOL || cv->dynamic_mask || cv->tensor.rank > o->rank ||
      VAL(f, a)->tensor.rank > o->rank || VAL(f, b)->tensor.rank > o->rank)
    return false;
  vk_view v;
  memset(&v, 0, sizeof v);
  v.rank = o->rank;
  v.num_operands = 4;
  for (uint32_t d = 0; d < o->rank; ++d) v.size[d] = o->sizes[d];
  vk_view_set_broadcast(&v, 0, &cv->tensor);
  vk_view_set_broadcast(&v, 1, &VAL(f, a)->tensor);
  vk_view_set_broadcast(&v, 2, &VAL(f, b)->tensor);
  for (uint32_t d = 0; d < o->rank; ++d) v.stride[3][d] = o->strides[d];
  vk_view_coalesce(&v);
  return v.rank <= VK_KERNEL_DIMS;
}

/* scalar_tensor / full of a float dtype: a constant made at preprocess. */
static bool rule_creation(const vk_graph_facts* f, const ddk_node_view* n) {
  double v;
  uint32_t value_arg = n->op_id == DDK_OP_ATEN_FULL ? 1 : 0;
  return vk_out_float(f, n) && va_number(n, value_arg, &v);
}

static bool is_movement(uint32_t op) {
  switch (op) {
    case DDK_OP_ATEN_PERMUTE:
    case DDK_OP_ATEN_EXPAND:
    case DDK_OP_ATEN_SLICE_TENSOR:
    case DDK_OP_ATEN_SELECT_INT:
    case DDK_OP_ATEN_VIEW:
    case DDK_OP_ATEN_UNSQUEEZE:
    case DDK_OP_ATEN_SQUEEZE_DIM:
    case DDK_OP_ATEN_SQUEEZE_DIMS:
    case DDK_OP_ATEN_ALIAS:
    case DDK_OP_ATEN_CLONE:
    case DDK_OP_ATEN_TO_COPY:
      return true;
    default:
      return false;
  }
}

/* Every float tensor a node reads or writes has its output's dtype (no
 * promotion inside a kernel); integer tensors (indices) are not looked at. */
static bool uniform_dtype(const vk_graph_facts* f, const ddk_node_view* n) {
  ddk_dtype dt = VAL(f, n->outputs[0])->tensor.dtype;
  for (uint32_t i = 0; i < n->num_args; ++i) {
    const ddk_arg* a = &n->args[i];
    uint32_t cnt = a->kind == DDK_ARG_TENSOR ? 1 : a->kind == DDK_ARG_TENSOR_LIST ? a->count : 0;
    for (uint32_t j = 0; j < cnt; ++j) {
      uint32_t v = a->kind == DDK_ARG_TENSOR ? a->u.tensor : a->u.tensors[j];
      if (v == DDK_NO_VALUE) continue;
      ddk_dtype vd = VAL(f, v)->tensor.dtype;
      if ((vd == DDK_DTYPE_FLOAT32 || vd == DDK_DTYPE_FLOAT16) && vd != dt) return false;
    }
  }
  for (uint32_t o = 1; o < n->num_outputs; ++o) {
    ddk_dtype od = VAL(f, n->outputs[o])->tensor.dtype;
    if ((od == DDK_DTYPE_FLOAT32 || od == DDK_DTYPE_FLOAT16) && od != dt) return false;
  }
  return true;
}

static vk_role rule_of(const vk_graph_facts* f, const ddk_node_view* n);

vk_role vk_node_rule(const vk_graph_facts* f, const ddk_node_view* n) {
  if (n->num_outputs == 0) return VK_ROLE_NONE;
  vk_role r = rule_of(f, n);
  return r != VK_ROLE_NONE && uniform_dtype(f, n) ? r : VK_ROLE_NONE;
}

static vk_role rule_of(const vk_graph_facts* f, const ddk_node_view* n) {
  bool cd_out = f->const_derived[n->outputs[0]];
  if (is_movement(n->op_id)) {
    if (!rule_movement(f, n)) return VK_ROLE_NONE;
    if (cd_out) return VK_ROLE_FOLD;
    return is_identity_view(f, n) ? VK_ROLE_VIEW : VK_ROLE_OP;
  }
  if (n->op_id == DDK_OP_ATEN_SCALAR_TENSOR || n->op_id == DDK_OP_ATEN_FULL)
    return rule_creation(f, n) ? VK_ROLE_FOLD : VK_ROLE_NONE;
  bool ok = false;
  switch (n->op_id) {
    case DDK_OP_ATEN_WHERE_SELF:
      ok = rule_where(f, n);
      break;
    case DDK_OP_ATEN_ADD_TENSOR:
    case DDK_OP_ATEN_SUB_TENSOR:
      ok = rule_binary(f, n, false, true);
      break;
    case DDK_OP_ATEN_MUL_TENSOR:
    case DDK_OP_ATEN_DIV_TENSOR:
    case DDK_OP_ATEN_MAXIMUM:
    case DDK_OP_ATEN_MINIMUM:
      ok = rule_binary(f, n, false, false);
      break;
    case DDK_OP_ATEN_ADD_SCALAR:
    case DDK_OP_ATEN_SUB_SCALAR:
      ok = rule_binary(f, n, true, true);
      break;
    case DDK_OP_ATEN_MUL_SCALAR:
    case DDK_OP_ATEN_DIV_SCALAR:
      ok = rule_binary(f, n, true, false);
      break;
    case DDK_OP_ATEN_RELU:
    case DDK_OP_ATEN_CLAMP:
    case DDK_OP_ATEN_HARDTANH:
    case DDK_OP_ATEN_LEAKY_RELU:
    case DDK_OP_ATEN_ELU:
    case DDK_OP_ATEN_SIGMOID:
    case DDK_OP_ATEN_TANH:
    case DDK_OP_ATEN_GELU:
    case DDK_OP_ATEN_ABS:
    case DDK_OP_ATEN_NEG:
    case DDK_OP_ATEN_EXP:
    case DDK_OP_ATEN_EXPM1:
    case DDK_OP_ATEN_LOG:
    case DDK_OP_ATEN_SQRT:
    case DDK_OP_ATEN_RSQRT:
    case DDK_OP_ATEN_RECIPROCAL:
    case DDK_OP_ATEN_FLOOR:
    case DDK_OP_ATEN_CEIL:
    case DDK_OP_ATEN_ROUND:
    case DDK_OP_ATEN_TRUNC:
    case DDK_OP_ATEN_SIGN:
    case DDK_OP_ATEN_ERF:
      ok = rule_activation(f, n);
      break;
    case DDK_OP_ATEN_CAT:
      ok = rule_cat(f, n);
      break;
    case DDK_OP_ATEN_CONSTANT_PAD_ND:
      ok = rule_pad(f, n);
      break;
    default:
      if (!vk_rule_nn(f, n, &ok)) return VK_ROLE_NONE;
  }
  /* an op on constants only would recompute the same result every run */
  return ok && !cd_out ? VK_ROLE_OP : VK_ROLE_NONE;
}

/* ---- partition ---------------------------------------------------------------- */

/* True when `op` ("aten::add.Tensor") is named in the comma-separated
 * list: by its qualified name, or without the "aten::" namespace. */
static bool op_allowed(const char* list, const char* op) {
  const char* shortname = strstr(op, "::");
  shortname = shortname ? shortname + 2 : op;
  size_t nq = strlen(op), ns = strlen(shortname);
  for (const char* p = list; *p;) {
    const char* e = strchr(p, ',');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    if ((len == nq && strncmp(p, op, len) == 0) || (len == ns && strncmp(p, shortname, len) == 0))
      return true;
    p += len + (e ? 1 : 0);
  }
  return false;
}

ddk_status vk_partition(const ddk_backend* self, const ddk_graph_view* g,
                        const ddk_options* options, const ddk_services* services, bool* out_claimed,
                        char* err, size_t err_cap) {
  (void)self;
  const ddk_allocator* a = &services->allocator;
  vk_graph_facts f;
  if (!vk_facts_init(&f, g, a)) {
    ddk_set_error(err, err_cap, "vulkan: out of memory in partition");
    return DDK_OUT_OF_MEMORY;
  }
  f.f16 = ddk_options_get_bool(options, "vulkan.fp16", false);
  size_t bytes = (size_t)g->num_nodes + 1;
  uint8_t* role = a->alloc(a->self, bytes, 16);
  if (role == NULL) {
    vk_facts_free(&f, a);
    ddk_set_error(err, err_cap, "vulkan: out of memory in partition");
    return DDK_OUT_OF_MEMORY;
  }
  const char* allow = ddk_options_get_string(options, "vulkan.ops", NULL);
  for (uint32_t k = 0; k < g->num_nodes; ++k) {
    role[k] = (uint8_t)vk_node_rule(&f, &g->nodes[k]);
    if (allow != NULL && !op_allowed(allow, g->nodes[k].op_name)) role[k] = VK_ROLE_NONE;
  }
  /* A fold is kept only while some node reading its output is kept (else
   * the portable kernels may as well move the constant). */
  for (bool changed = true; changed;) {
    changed = false;
    for (uint32_t k = 0; k < g->num_nodes; ++k) {
      if (role[k] != VK_ROLE_FOLD) continue;
      uint32_t v = g->nodes[k].outputs[0];
      bool read = false;
      for (uint32_t r = 0; r < g->num_nodes && !read; ++r) {
        if (role[r] == VK_ROLE_NONE) continue;
        const ddk_node_view* n = &g->nodes[r];
        for (uint32_t i = 0; i < n->num_args && !read; ++i) {
          const ddk_arg* arg = &n->args[i];
          if (arg->kind == DDK_ARG_TENSOR && arg->u.tensor == v) read = true;
          if (arg->kind == DDK_ARG_TENSOR_LIST)
            for (uint32_t j = 0; j < arg->count; ++j)
              if (arg->u.tensors[j] == v) read = true;
        }
      }
      if (!read) {
        role[k] = VK_ROLE_NONE;
        changed = true;
      }
    }
  }
  for (uint32_t k = 0; k < g->num_nodes; ++k) out_claimed[k] = role[k] != VK_ROLE_NONE;
  a->free(a->self, role, bytes);
  vk_facts_free(&f, a);
  return DDK_OK;
}
