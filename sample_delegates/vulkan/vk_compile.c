/*
 * vk_compile.c — `preprocess`: one partition becomes a blob (vk_blob.h).
 *
 * The builder (vkc) owns the growing tensor, dispatch and data arrays.
 * Values map to tensors: the partition's inputs and outputs are external
 * tensors, constants (and data movement folded on the host from them) are
 * constant tensors uploaded once at init, everything else is an internal
 * tensor whose storage the runtime may reuse outside its live range. In
 * the fp16-storage mode (option vulkan.fp16_storage) float32 values are
 * held as float16 inside the partition: constants are converted here, and
 * each external input or output gets a conversion dispatch at the
 * boundary. float16 values (option vulkan.fp16) are float16 throughout.
 */
#include <math.h>
#include <string.h>

#include "vk_internal.h"

/* ---- growable arrays --------------------------------------------------------- */

static bool grow(const ddk_allocator* a, void** p, uint32_t* cap, uint32_t need, size_t elem) {
  if (need <= *cap) return true;
  uint32_t nc = *cap ? *cap * 2 : 16;
  while (nc < need) nc *= 2;
  void* q = a->alloc(a->self, (size_t)nc * elem, 64);
  if (q == NULL) return false;
  if (*p) {
    memcpy(q, *p, (size_t)*cap * elem);
    a->free(a->self, *p, (size_t)*cap * elem);
  }
  memset((char*)q + (size_t)*cap * elem, 0, (size_t)(nc - *cap) * elem);
  *p = q;
  *cap = nc;
  return true;
}

static ddk_status oom(vkc* c) {
  ddk_set_error(c->err, c->err_cap, "vulkan: out of memory in preprocess");
  return DDK_OUT_OF_MEMORY;
}

/* Reserves `size` bytes (aligned to `align`) in the data segment. */
static ddk_status data_reserve(vkc* c, size_t size, size_t align, size_t* out_off) {
  size_t off = (c->data_size + align - 1) / align * align;
  if (off + size > c->data_cap) {
    size_t nc = c->data_cap ? c->data_cap * 2 : 4096;
    while (nc < off + size) nc *= 2;
    uint8_t* q = c->a->alloc(c->a->self, nc, 64);
    if (q == NULL) return oom(c);
    memset(q, 0, nc);
    if (c->data) {
      memcpy(q, c->data, c->data_size);
      c->a->free(c->a->self, c->data, c->data_cap);
    }
    c->data = q;
    c->data_cap = nc;
  }
  *out_off = off;
  c->data_size = off + size;
  return DDK_OK;
}

uint16_t vk_f32_to_f16(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000u, ex = (x >> 23) & 0xffu, man = x & 0x7fffffu;
  if (ex == 0xffu) return (uint16_t)(sign | 0x7c00u | (man ? 0x200u | (man >> 13) : 0));
  int32_t e = (int32_t)ex - 127 + 15;
  if (e >= 31) return (uint16_t)(sign | 0x7c00u);
  if (e <= 0) { /* subnormal half (or zero) */
    if (e < -10) return (uint16_t)sign;
    man |= 0x800000u;
    uint32_t shift = (uint32_t)(14 - e);
    uint32_t h = man >> shift, rem = man & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1u))) ++h;
    return (uint16_t)(sign | h);
  }
  uint32_t h = ((uint32_t)e << 10) | (man >> 13), rem = man & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h; /* may carry into inf: right */
  return (uint16_t)(sign | h);
}

float vk_f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16, ex = (h >> 10) & 0x1fu, man = h & 0x3ffu, x;
  if (ex == 0x1fu) {
    x = sign | 0x7f800000u | (man << 13);
  } else if (ex != 0) {
    x = sign | ((ex + 112u) << 23) | (man << 13);
  } else if (man == 0) {
    x = sign;
  } else { /* subnormal half: normalise */
    int e = -1;
    do {
      ++e;
      man <<= 1;
    } while (!(man & 0x400u));
    x = sign | ((uint32_t)(112 - e) << 23) | ((man & 0x3ffu) << 13);
  }
  float f;
  memcpy(&f, &x, 4);
  return f;
}

/* ---- tensors ---------------------------------------------------------------------- */

static ddk_status add_tensor(vkc* c, uint32_t kind, uint64_t bytes, vk_stype st, uint32_t* out) {
  uint32_t cap = c->cap_tensors;
  if (!grow(c->a, (void**)&c->tensors, &c->cap_tensors, c->num_tensors + 1, sizeof(vkb_tensor)))
    return oom(c);
  if (!grow(c->a, (void**)&c->tensor_stype, &cap, c->num_tensors + 1, 1)) return oom(c);
  vkb_tensor* t = &c->tensors[c->num_tensors];
  memset(t, 0, sizeof *t);
  t->kind = kind;
  t->alias_of = VKB_NONE;
  t->bytes = bytes;
  t->first = UINT32_MAX;
  c->tensor_stype[c->num_tensors] = (uint8_t)st;
  *out = c->num_tensors++;
  return DDK_OK;
}

static vk_stype compute_stype(const vkc* c) {
  return c->node_stype;
}

/* The storage type of value v: float16 values are 2 bytes; float32 values
 * too in the fp16-storage mode. */
static vk_stype stype_of(const vkc* c, uint32_t v) {
  ddk_dtype dt = c->g->values[v].tensor.dtype;
  if (dt == DDK_DTYPE_FLOAT16) return VK_S16;
  return dt == DDK_DTYPE_FLOAT32 && c->f16_storage ? VK_S16 : VK_S32;
}

ddk_status vkc_new_tensor(vkc* c, int64_t numel, uint32_t* out_id) {
  vk_stype st = compute_stype(c);
  return add_tensor(c, VKB_T_INTERNAL, (uint64_t)numel * (st == VK_S16 ? 2u : 4u), st, out_id);
}

ddk_status vkc_const_f32(vkc* c, const float* data, int64_t numel, uint32_t* out_id) {
  vk_stype st = compute_stype(c);
  size_t esz = st == VK_S16 ? 2 : 4, off;
  ddk_status s = add_tensor(c, VKB_T_CONSTANT, (uint64_t)numel * esz, st, out_id);
  if (s == DDK_OK) s = data_reserve(c, (size_t)numel * esz, VKB_ALIGN, &off);
  if (s != DDK_OK) return s;
  c->tensors[*out_id].data_offset = off;
  if (st == VK_S32) {
    if (numel) memcpy(c->data + off, data, (size_t)numel * 4);
  } else {
    uint16_t* h = (uint16_t*)(c->data + off);
    for (int64_t i = 0; i < numel; ++i) h[i] = vk_f32_to_f16(data[i]);
  }
  return DDK_OK;
}

ddk_status vkc_dispatch(vkc* c, uint32_t kernel, bool typed, const uint32_t* bindings,
                        uint32_t num_bindings, const uint32_t work[3], const uint32_t* push,
                        uint32_t num_push, uint64_t flops, uint64_t bytes) {
  if (typed && c->node_stype == VK_S16) kernel += 1; /* the float16 variant follows */
  if (kernel >= VK_KERNEL_COUNT || num_bindings != vk_kernel_table[kernel].num_bindings ||
      num_bindings > VKB_MAX_BINDINGS || num_push > VKB_PUSH_WORDS) {
    vk_errorf(c->err, c->err_cap, "vulkan: internal: bad dispatch of kernel %u for node %u", kernel,
              c->node ? c->node->node_index : 0);
    return DDK_INTERNAL;
  }
  if (!grow(c->a, (void**)&c->ds, &c->cap_ds, c->num_ds + 1, sizeof(vkb_dispatch))) return oom(c);
  vkb_dispatch* d = &c->ds[c->num_ds++];
  memset(d, 0, sizeof *d);
  d->kernel = kernel;
  d->node_index = c->node ? c->node->node_index : DDK_NO_VALUE;
  d->name_offset = c->name_offset;
  d->num_bindings = num_bindings;
  for (uint32_t i = 0; i < num_bindings; ++i) d->bindings[i] = bindings[i];
  for (uint32_t i = 0; i < 3; ++i) d->work[i] = work[i];
  d->num_push = num_push;
  memcpy(d->push, push, num_push * sizeof(uint32_t));
  d->flops = flops;
  d->bytes = bytes;
  return DDK_OK;
}

/* ---- values ------------------------------------------------------------------------ */

static ddk_status internal_error(vkc* c, const char* what, uint32_t v) {
  vk_errorf(c->err, c->err_cap, "vulkan: internal: %s (value %u)", what, v);
  return DDK_INTERNAL;
}

/* A NUL-terminated name in the data segment. */
static ddk_status add_name(vkc* c, const char* name, uint32_t* out_off) {
  size_t n = strlen(name ? name : "") + 1, off;
  ddk_status s = data_reserve(c, n, 1, &off);
  if (s != DDK_OK) return s;
  memcpy(c->data + off, name ? name : "", n);
  *out_off = (uint32_t)off;
  return DDK_OK;
}

/* Flat (1-d, contiguous) copy between two tensors of n elements. */
static ddk_status flat_copy(vkc* c, uint32_t kernel, uint32_t from, uint32_t to, int64_t n) {
  if (n == 0) return DDK_OK;
  uint32_t push[22] = {(uint32_t)n, 1, (uint32_t)n, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1};
  uint32_t b[2] = {from, to}, work[3] = {(uint32_t)n, 1, 1};
  return vkc_dispatch(c, kernel, false, b, 2, work, push, 22, 0, (uint64_t)n * 6);
}

ddk_status vkc_value(vkc* c, uint32_t v, uint32_t* out_id) {
  if (v >= c->g->num_values) return internal_error(c, "value out of range", v);
  if (c->value_tensor[v] != VKB_NONE) {
    *out_id = c->value_tensor[v];
    return DDK_OK;
  }
  const ddk_value_desc* d = &c->g->values[v];
  int64_t n = ddk_tensor_numel(&d->tensor);
  ddk_status s;
  if (c->f->const_derived[v] && d->tensor.dtype != DDK_DTYPE_FLOAT32) { /* f16, indices */
    size_t bytes = (size_t)n * ddk_dtype_size(d->tensor.dtype), off;
    const void* src = (d->flags & DDK_VALUE_CONSTANT) ? d->tensor.data : (const void*)c->fold[v];
    if (src == NULL && bytes > 0) return internal_error(c, "constant without data", v);
    s = add_tensor(c, VKB_T_CONSTANT, bytes, stype_of(c, v), out_id);
    if (s == DDK_OK) s = data_reserve(c, bytes, VKB_ALIGN, &off);
    if (s == DDK_OK) {
      c->tensors[*out_id].data_offset = off;
      if (bytes) memcpy(c->data + off, src, bytes);
    }
  } else if (c->f->const_derived[v]) {
    const float* p =
        (d->flags & DDK_VALUE_CONSTANT) ? (const float*)d->tensor.data : (const float*)c->fold[v];
    if (p == NULL && n > 0) return internal_error(c, "constant without data", v);
    vk_stype keep = c->node_stype;
    c->node_stype = stype_of(c, v);
    s = vkc_const_f32(c, p, n, out_id);
    c->node_stype = keep;
  } else if (c->ext_tensor[v] != VKB_NONE) { /* fp16 storage: convert the input once */
    s = add_tensor(c, VKB_T_INTERNAL, (uint64_t)n * 2, VK_S16, out_id);
    if (s == DDK_OK) s = flat_copy(c, VK_KERNEL_CONVERT_F32_F16, c->ext_tensor[v], *out_id, n);
  } else {
    return internal_error(c, "read before it is computed", v);
  }
  if (s == DDK_OK) c->value_tensor[v] = *out_id;
  return s;
}

ddk_status vkc_output(vkc* c, uint32_t v, uint32_t* out_id) {
  if (v >= c->g->num_values || c->value_tensor[v] != VKB_NONE)
    return internal_error(c, "written twice", v);
  vk_stype st = stype_of(c, v);
  ddk_status s = add_tensor(
      c, VKB_T_INTERNAL,
      (uint64_t)ddk_tensor_numel(&c->g->values[v].tensor) * (st == VK_S16 ? 2u : 4u), st, out_id);
  if (s == DDK_OK) c->value_tensor[v] = *out_id;
  return s;
}

ddk_status vkc_output_bytes(vkc* c, uint32_t v, uint64_t bytes, uint32_t* out_id) {
  if (v >= c->g->num_values || c->value_tensor[v] != VKB_NONE)
    return internal_error(c, "written twice", v);
  ddk_status s = add_tensor(c, VKB_T_INTERNAL, bytes, VK_S32, out_id);
  if (s == DDK_OK) c->value_tensor[v] = *out_id;
  return s;
}

/* ---- nodes ------------------------------------------------------------------------- */

/* A constant made by scalar_tensor / full, on the host. */
static ddk_status fold_creation(vkc* c, const ddk_node_view* n) {
  uint32_t o = n->outputs[0];
  const ddk_value_desc* od = &c->g->values[o];
  double value = 0;
  va_number(n, n->op_id == DDK_OP_ATEN_FULL ? 1 : 0, &value);
  int64_t total = ddk_tensor_numel(&od->tensor);
  size_t es = ddk_dtype_size(od->tensor.dtype);
  uint8_t* dst = c->a->alloc(c->a->self, (size_t)(total ? total : 1) * es, 64);
  if (dst == NULL) return oom(c);
  c->fold[o] = (float*)(void*)dst;
  float f = (float)value;
  uint16_t h = vk_f32_to_f16(f);
  for (int64_t i = 0; i < total; ++i)
    memcpy(dst + (size_t)i * es, es == 2 ? (void*)&h : (void*)&f, es);
  return DDK_OK;
}

/* Movement of constant data, on the host. */
static ddk_status fold_node(vkc* c, const ddk_node_view* n) {
  if (n->op_id == DDK_OP_ATEN_SCALAR_TENSOR || n->op_id == DDK_OP_ATEN_FULL)
    return fold_creation(c, n);
  uint32_t x = va_tensor(n, 0), o = n->outputs[0];
  const ddk_value_desc* xd = &c->g->values[x];
  const ddk_value_desc* od = &c->g->values[o];
  const uint8_t* src = (xd->flags & DDK_VALUE_CONSTANT) ? (const uint8_t*)xd->tensor.data
                                                        : (const uint8_t*)c->fold[x];
  size_t es = ddk_dtype_size(xd->tensor.dtype);
  vk_view v;
  if (!vk_movement_view(n, &xd->tensor, &od->tensor, &v))
    return internal_error(c, "fold of a node the rules refuse", o);
  int64_t total = ddk_tensor_numel(&od->tensor);
  if (src == NULL && total > 0) return internal_error(c, "fold without data", x);
  uint8_t* dst = c->a->alloc(c->a->self, (size_t)(total ? total : 1) * es, 64);
  if (dst == NULL) return oom(c);
  c->fold[o] = (float*)(void*)dst;
  for (int64_t i = 0; i < total; ++i) {
    int64_t r = i, xo = v.base[0], oo = v.base[1];
    for (int d = (int)v.rank - 1; d >= 0; --d) {
      int64_t k = r % v.size[d];
      r /= v.size[d];
      xo += k * v.stride[0][d];
      oo += k * v.stride[1][d];
    }
    memcpy(dst + (size_t)oo * es, src + (size_t)xo * es, es);
  }
  return DDK_OK;
}

/* A view sharing its input's storage. */
static ddk_status view_node(vkc* c, const ddk_node_view* n) {
  uint32_t x, t;
  ddk_status s = vkc_value(c, va_tensor(n, 0), &x);
  if (s != DDK_OK) return s;
  while (c->tensors[x].kind == VKB_T_ALIAS) x = c->tensors[x].alias_of;
  s = add_tensor(c, VKB_T_ALIAS, c->tensors[x].bytes, (vk_stype)c->tensor_stype[x], &t);
  if (s != DDK_OK) return s;
  c->tensors[t].alias_of = x;
  c->value_tensor[n->outputs[0]] = t;
  return DDK_OK;
}

/* ---- finishing ------------------------------------------------------------------------ */

static uint32_t root_of(const vkc* c, uint32_t t) {
  while (c->tensors[t].kind == VKB_T_ALIAS) t = c->tensors[t].alias_of;
  return t;
}

static void fill_external(vkb_external* e, uint32_t tensor, const ddk_value_desc* d) {
  memset(e, 0, sizeof *e);
  e->tensor = tensor;
  e->dtype = d->tensor.dtype;
  e->rank = d->tensor.rank;
  for (uint32_t i = 0; i < d->tensor.rank; ++i) {
    e->sizes[i] = d->tensor.sizes[i];
    e->strides[i] = d->tensor.strides[i];
  }
}

/* The outputs' external tensors (conversions in fp16 mode). */
static ddk_status finish_outputs(vkc* c, vkb_external* ext) {
  const ddk_graph_view* g = c->g;
  for (uint32_t j = 0; j < g->num_outputs; ++j) {
    uint32_t v = g->outputs[j], t;
    const ddk_value_desc* d = &g->values[v];
    ddk_status s;
    if (c->f16_storage && c->ext_tensor[v] != VKB_NONE) {
      t = c->ext_tensor[v];
    } else {
      s = vkc_value(c, v, &t);
      if (s != DDK_OK) return s;
      if (c->f16_storage && d->tensor.dtype == DDK_DTYPE_FLOAT32) {
        uint32_t e;
        int64_t n = ddk_tensor_numel(&d->tensor);
        s = add_tensor(c, VKB_T_EXTERNAL, (uint64_t)n * 4, VK_S32, &e);
        if (s == DDK_OK) s = add_name(c, "vulkan::to_float32", &c->name_offset);
        if (s == DDK_OK) s = flat_copy(c, VK_KERNEL_CONVERT_F16_F32, t, e, n);
        if (s != DDK_OK) return s;
        t = e;
      } else {
        uint32_t r = root_of(c, t); /* kept whole until the download */
        if (c->tensors[r].kind == VKB_T_INTERNAL) c->tensors[r].kind = VKB_T_EXTERNAL;
      }
    }
    fill_external(&ext[g->num_inputs + j], t, d);
  }
  return DDK_OK;
}

/* Live ranges of internal storage: the dispatches binding it or a view. */
static void liveness(vkc* c) {
  for (uint32_t i = 0; i < c->num_ds; ++i)
    for (uint32_t b = 0; b < c->ds[i].num_bindings; ++b) {
      vkb_tensor* t = &c->tensors[root_of(c, c->ds[i].bindings[b])];
      if (t->first == UINT32_MAX || i < t->first) t->first = i;
      if (i > t->last) t->last = i;
    }
  for (uint32_t t = 0; t < c->num_tensors; ++t)
    if (c->tensors[t].first == UINT32_MAX) c->tensors[t].first = c->tensors[t].last = 0;
}

static ddk_status write_blob(vkc* c, const vkb_external* ext, const ddk_services* services,
                             ddk_blob* out) {
  const ddk_graph_view* g = c->g;
  uint32_t next = g->num_inputs + g->num_outputs;
  size_t head = sizeof(vkb_header) + c->num_tensors * sizeof(vkb_tensor) +
                next * sizeof(vkb_external) + c->num_ds * sizeof(vkb_dispatch);
  size_t data_off = (head + VKB_ALIGN - 1) / VKB_ALIGN * VKB_ALIGN;
  size_t total = data_off + c->data_size;
  const ddk_allocator* a = &services->allocator;
  uint8_t* p = a->alloc(a->self, total, 64);
  if (p == NULL) return oom(c);
  memset(p, 0, total);
  vkb_header h;
  memset(&h, 0, sizeof h);
  memcpy(h.magic, VKB_MAGIC, 4);
  h.format = VKB_FORMAT;
  h.kernel_hash = VK_KERNEL_TABLE_HASH;
  bool any16 = false;
  for (uint32_t t = 0; t < c->num_tensors; ++t) any16 = any16 || c->tensor_stype[t] == VK_S16;
  h.flags = any16 ? VKB_FLAG_FP16 : 0;
  h.num_tensors = c->num_tensors;
  h.num_dispatches = c->num_ds;
  h.num_inputs = g->num_inputs;
  h.num_outputs = g->num_outputs;
  h.data_offset = data_off;
  h.data_size = c->data_size;
  size_t off = 0;
  memcpy(p + off, &h, sizeof h);
  off += sizeof h;
  memcpy(p + off, c->tensors, c->num_tensors * sizeof(vkb_tensor));
  off += c->num_tensors * sizeof(vkb_tensor);
  memcpy(p + off, ext, next * sizeof(vkb_external));
  off += next * sizeof(vkb_external);
  if (c->num_ds) memcpy(p + off, c->ds, c->num_ds * sizeof(vkb_dispatch));
  if (c->data_size) memcpy(p + data_off, c->data, c->data_size);
  out->data = p;
  out->size = total;
  vk_errorf(out->compat, sizeof out->compat, VK_COMPAT_PREFIX ";kernels=%08x;fp16=%d",
            (unsigned)VK_KERNEL_TABLE_HASH, any16 ? 1 : 0);
  return DDK_OK;
}

/* ---- preprocess ------------------------------------------------------------------------- */

ddk_status vk_preprocess(const ddk_backend* self, const ddk_graph_view* g,
                         const ddk_options* options, const ddk_services* services,
                         ddk_blob* out_blob, char* err, size_t err_cap) {
  (void)self;
  const ddk_allocator* a = &services->allocator;
  vk_graph_facts f;
  if (!vk_facts_init(&f, g, a)) {
    ddk_set_error(err, err_cap, "vulkan: out of memory in preprocess");
    return DDK_OUT_OF_MEMORY;
  }
  vkc c;
  memset(&c, 0, sizeof c);
  c.g = g;
  c.f = &f;
  c.a = a;
  f.f16 = ddk_options_get_bool(options, "vulkan.fp16", false);
  c.f16_storage = ddk_options_get_bool(options, "vulkan.fp16_storage", false);
  c.err = err;
  c.err_cap = err_cap;
  size_t nv = (size_t)g->num_values + 1;
  uint32_t next = g->num_inputs + g->num_outputs;
  c.value_tensor = a->alloc(a->self, nv * sizeof(uint32_t), 64);
  c.ext_tensor = a->alloc(a->self, nv * sizeof(uint32_t), 64);
  c.fold = a->alloc(a->self, nv * sizeof(float*), 64);
  c.done = a->alloc(a->self, (size_t)g->num_nodes + 1, 64);
  vkb_external* ext = a->alloc(a->self, (next + 1) * sizeof(vkb_external), 64);
  ddk_status s = DDK_OK;
  if (!c.value_tensor || !c.ext_tensor || !c.fold || !c.done || !ext) {
    s = oom(&c);
    goto cleanup;
  }
  memset(c.fold, 0, nv * sizeof(float*));
  memset(c.done, 0, (size_t)g->num_nodes + 1);
  for (size_t v = 0; v < nv; ++v) c.value_tensor[v] = c.ext_tensor[v] = VKB_NONE;

  for (uint32_t i = 0; i < g->num_inputs && s == DDK_OK; ++i) {
    uint32_t v = g->inputs[i], t;
    const ddk_value_desc* d = &g->values[v];
    bool f32 = d->tensor.dtype == DDK_DTYPE_FLOAT32;
    bool index = d->tensor.dtype == DDK_DTYPE_INT64 || d->tensor.dtype == DDK_DTYPE_INT32 ||
                 d->tensor.dtype == DDK_DTYPE_BOOL; /* indices, where's condition */
    bool half = d->tensor.dtype == DDK_DTYPE_FLOAT16 && f.f16;
    if (d->dynamic_mask || d->tensor.rank > DDK_MAX_RANK || (!f32 && !index && !half) ||
        ((f32 || half) && !vk_value_float(d, f.f16))) {
      vk_errorf(err, err_cap,
                "vulkan: partition input %u ('%s') is not a static float32 (or index or "
                "bool) tensor",
                i, d->name);
      s = DDK_UNSUPPORTED_DTYPE;
      break;
    }
    uint64_t bytes = (uint64_t)ddk_tensor_numel(&d->tensor) * ddk_dtype_size(d->tensor.dtype);
    s = add_tensor(&c, VKB_T_EXTERNAL, bytes, half ? VK_S16 : VK_S32, &t);
    if (s != DDK_OK) break;
    if (c.f16_storage && f32)
      c.ext_tensor[v] = t;
    else
      c.value_tensor[v] = t;
    fill_external(&ext[i], t, d);
  }
  for (uint32_t k = 0; k < g->num_nodes && s == DDK_OK; ++k) {
    const ddk_node_view* n = &g->nodes[k];
    if (c.done[k]) continue; /* fused into an earlier dispatch */
    c.node = n;
    c.node_stype = n->num_outputs ? stype_of(&c, n->outputs[0]) : VK_S32;
    s = add_name(&c, n->op_name, &c.name_offset);
    if (s != DDK_OK) break;
    switch (vk_node_rule(&f, n)) {
      case VK_ROLE_FOLD:
        s = fold_node(&c, n);
        break;
      case VK_ROLE_VIEW:
        s = view_node(&c, n);
        break;
      case VK_ROLE_OP:
        s = vk_lower_node(&c, n);
        break;
      default:
        vk_errorf(err, err_cap, "vulkan: node %u (%s) is not one this delegate runs", n->node_index,
                  n->op_name);
        s = DDK_UNSUPPORTED_OP;
    }
  }
  c.node = NULL;
  if (s == DDK_OK) s = finish_outputs(&c, ext);
  if (s == DDK_OK) {
    liveness(&c);
    s = write_blob(&c, ext, services, out_blob);
  }
cleanup:
  if (c.fold)
    for (size_t v = 0; v < nv; ++v)
      if (c.fold[v]) {
        int64_t n = ddk_tensor_numel(&g->values[v].tensor);
        a->free(a->self, c.fold[v],
                (size_t)(n ? n : 1) * ddk_dtype_size(g->values[v].tensor.dtype));
      }
  if (c.fold) a->free(a->self, c.fold, nv * sizeof(float*));
  if (c.done) a->free(a->self, c.done, (size_t)g->num_nodes + 1);
  if (c.value_tensor) a->free(a->self, c.value_tensor, nv * sizeof(uint32_t));
  if (c.ext_tensor) a->free(a->self, c.ext_tensor, nv * sizeof(uint32_t));
  if (ext) a->free(a->self, ext, (next + 1) * sizeof(vkb_external));
  if (c.tensors) a->free(a->self, c.tensors, c.cap_tensors * sizeof(vkb_tensor));
  if (c.tensor_stype) a->free(a->self, c.tensor_stype, c.cap_tensors);
  if (c.ds) a->free(a->self, c.ds, c.cap_ds * sizeof(vkb_dispatch));
  if (c.data) a->free(a->self, c.data, c.data_cap);
  vk_facts_free(&f, a);
  return s;
}
