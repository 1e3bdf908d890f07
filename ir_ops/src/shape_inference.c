/*
 * shape_inference.c — ddk_infer_node: output dtypes and shapes of a node
 * from its inputs and arguments, with ATen's rules and ATen's checks.
 *
 * Inference validates everything a portable kernel relies on (ranks, inner
 * dims, channel/group divisibility, pool and conv output sizes, cat sizes,
 * view element counts, permutations, dims in range). Whether a dtype has a
 * kernel is the kernel's business; inference refuses a dtype only where
 * ATen's op itself does (e.g. sub on bool, mean without a floating dtype).
 * It writes dtype, rank, sizes and contiguous strides / dim_order of the
 * outputs and never touches data or capacity.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ddk/ops.h"

typedef struct infer_ctx {
  const ddk_node_view* node;
  ddk_tensor* values;
  char* err;
  size_t err_cap;
} infer_ctx;

static const char* op_name(const infer_ctx* c) {
  return c->node->op_name != NULL ? c->node->op_name : "op";
}

static ddk_status fail(infer_ctx* c, ddk_status status, const char* fmt, ...) {
  if (c->err != NULL && c->err_cap > 0) {
    int n = snprintf(c->err, c->err_cap, "%s: ", op_name(c));
    if (n >= 0 && (size_t)n < c->err_cap) {
      va_list ap;
      va_start(ap, fmt);
      vsnprintf(c->err + n, c->err_cap - (size_t)n, fmt, ap);
      va_end(ap);
    }
  }
  return status;
}

/* ------------------------------------------------------------------------ */
/* Argument access                                                          */
/* ------------------------------------------------------------------------ */

static ddk_status need(infer_ctx* c, uint32_t num_args, uint32_t num_outputs) {
  if (c->node->num_args < num_args || (num_args > 0 && c->node->args == NULL))
    return fail(c, DDK_INVALID_ARGUMENT, "expected %u arguments, got %u", num_args,
                c->node->num_args);
  if (c->node->num_outputs < num_outputs || c->node->outputs == NULL)
    return fail(c, DDK_INVALID_ARGUMENT, "expected %u outputs, got %u", num_outputs,
                c->node->num_outputs);
  return DDK_OK;
}

static ddk_status check_tensor(infer_ctx* c, const ddk_tensor* t, const char* name) {
  if (t->rank > DDK_MAX_RANK)
    return fail(c, DDK_INVALID_ARGUMENT, "argument '%s': rank %u above %d", name, t->rank,
                DDK_MAX_RANK);
  if (ddk_dtype_size(t->dtype) == 0)
    return fail(c, DDK_UNSUPPORTED_DTYPE, "argument '%s': unknown dtype %d", name, (int)t->dtype);
  for (uint32_t i = 0; i < t->rank; ++i)
    if (t->sizes[i] < 0)
      return fail(c, DDK_INVALID_ARGUMENT, "argument '%s': negative size at dim %u", name, i);
  return DDK_OK;
}

static ddk_status arg_tensor(infer_ctx* c, uint32_t i, const char* name, const ddk_tensor** out) {
  const ddk_arg* a = &c->node->args[i];
  if (a->kind != DDK_ARG_TENSOR || a->u.tensor == DDK_NO_VALUE)
    return fail(c, DDK_INVALID_ARGUMENT, "argument '%s' must be a tensor", name);
  *out = &c->values[a->u.tensor];
  return check_tensor(c, *out, name);
}

static ddk_status arg_opt_tensor(infer_ctx* c, uint32_t i, const char* name,
                                 const ddk_tensor** out) {
  *out = NULL;
  if (c->node->args[i].kind == DDK_ARG_NONE) return DDK_OK;
  return arg_tensor(c, i, name, out);
}

static ddk_status arg_int(infer_ctx* c, uint32_t i, const char* name, int64_t* out) {
  const ddk_arg* a = &c->node->args[i];
  if (a->kind != DDK_ARG_INT)
    return fail(c, DDK_INVALID_ARGUMENT, "argument '%s' must be an int", name);
  *out = a->u.i;
  return DDK_OK;
}

static ddk_status arg_bool(infer_ctx* c, uint32_t i, const char* name, bool* out) {
  const ddk_arg* a = &c->node->args[i];
  if (a->kind != DDK_ARG_BOOL)
    return fail(c, DDK_INVALID_ARGUMENT, "argument '%s' must be a bool", name);
  *out = a->u.b;
  return DDK_OK;
}

static ddk_status arg_scalar(infer_ctx* c, uint32_t i, const char* name, uint32_t* kind) {
  const ddk_arg* a = &c->node->args[i];
  if (a->kind != DDK_ARG_INT && a->kind != DDK_ARG_FLOAT && a->kind != DDK_ARG_BOOL)
    return fail(c, DDK_INVALID_ARGUMENT, "argument '%s' must be a Scalar", name);
  *kind = a->kind;
  return DDK_OK;
}

/* INT_LIST argument (an INT is taken as a list of one). */
static ddk_status arg_ints(infer_ctx* c, uint32_t i, const char* name, const int64_t** v,
                           uint32_t* n) {
  const ddk_arg* a = &c->node->args[i];
  *v = NULL;
  *n = 0;
  if (a->kind == DDK_ARG_INT) {
    *v = &a->u.i;
    *n = 1;
    return DDK_OK;
  }
  if (a->kind != DDK_ARG_INT_LIST || (a->count > 0 && a->u.ints == NULL))
    return fail(c, DDK_INVALID_ARGUMENT, "argument '%s' must be a list of ints", name);
  *v = a->u.ints;
  *n = a->count;
  return DDK_OK;
}

/* Wraps dim `d` for a tensor of `rank` (0-d tensors accept -1 and 0). */
static ddk_status wrap_dim(infer_ctx* c, const char* name, int64_t d, uint32_t rank, int64_t* out) {
  const int64_t r = rank == 0 ? 1 : (int64_t)rank;
  if (d < -r || d >= r)
    return fail(c, DDK_OUT_OF_RANGE, "argument '%s': dim %lld out of range [%lld, %lld]", name,
                (long long)d, (long long)-r, (long long)(r - 1));
  *out = d < 0 ? d + r : d;
  return DDK_OK;
}

static ddk_status set_output(infer_ctx* c, uint32_t i, ddk_dtype dtype, uint32_t rank,
                             const int64_t* sizes) {
  if (rank > DDK_MAX_RANK)
    return fail(c, DDK_INVALID_ARGUMENT, "result rank %u above %d", rank, DDK_MAX_RANK);
  if (c->node->outputs[i] == DDK_NO_VALUE)
    return fail(c, DDK_INVALID_ARGUMENT, "output %u unset", i);
  ddk_tensor* t = &c->values[c->node->outputs[i]];
  t->dtype = dtype;
  t->rank = rank;
  for (uint32_t d = 0; d < rank; ++d) t->sizes[d] = sizes[d];
  ddk_tensor_set_contiguous(t);
  return DDK_OK;
}

static ddk_status same_shape_output(infer_ctx* c, const ddk_tensor* t, ddk_dtype dtype) {
  return set_output(c, 0, dtype, t->rank, t->sizes);
}

/* ------------------------------------------------------------------------ */
/* Type promotion with 0-d tensors (at::native::result_type)                */
/* ------------------------------------------------------------------------ */

static bool is_floating(ddk_dtype d) { return ddk_dtype_category(d) == 2; }
static bool is_complex(ddk_dtype d) { return ddk_dtype_category(d) == 3; }

static ddk_dtype promote_skip_invalid(ddk_dtype a, ddk_dtype b) {
  if (a == DDK_DTYPE_INVALID) return b;
  if (b == DDK_DTYPE_INVALID) return a;
  return ddk_promote_types(a, b);
}

/* A 0-d tensor only raises the category of the dimensioned ones. */
static ddk_dtype combine_categories(ddk_dtype higher, ddk_dtype lower) {
  if (higher == DDK_DTYPE_INVALID) return lower;
  if (lower == DDK_DTYPE_INVALID || is_complex(higher)) return higher;
  if (is_complex(lower)) {
    if (is_floating(higher))
      return higher == DDK_DTYPE_FLOAT64 ? DDK_DTYPE_COMPLEX128 : DDK_DTYPE_COMPLEX64;
    return lower;
  }
  if (is_floating(higher)) return higher;
  if (higher == DDK_DTYPE_BOOL || is_floating(lower)) return promote_skip_invalid(higher, lower);
  return higher;
}

static ddk_dtype result_type(const ddk_tensor* const* ts, uint32_t n) {
  ddk_dtype dim_r = DDK_DTYPE_INVALID, zero_r = DDK_DTYPE_INVALID;
  for (uint32_t i = 0; i < n; ++i) {
    if (ts[i]->rank > 0)
      dim_r = promote_skip_invalid(dim_r, ts[i]->dtype);
    else
      zero_r = promote_skip_invalid(zero_r, ts[i]->dtype);
  }
  return combine_categories(dim_r, zero_r);
}

/* ------------------------------------------------------------------------ */
/* Elementwise                                                              */
/* ------------------------------------------------------------------------ */

static ddk_status infer_binary(infer_ctx* c, bool has_alpha, bool is_sub, bool is_div) {
  ddk_status st = need(c, has_alpha ? 3 : 2, 1);
  const ddk_tensor *a = NULL, *b = NULL;
  if (st == DDK_OK) st = arg_tensor(c, 0, "self", &a);
  if (st == DDK_OK) st = arg_tensor(c, 1, "other", &b);
  if (st != DDK_OK) return st;
  const ddk_tensor* ts[2] = {a, b};
  ddk_dtype dt = result_type(ts, 2);
  if (is_sub && (a->dtype == DDK_DTYPE_BOOL || b->dtype == DDK_DTYPE_BOOL))
    return fail(c, DDK_INVALID_ARGUMENT,
                "subtraction with a bool tensor is not supported (use logical_xor or ~)");
  if (has_alpha) {
    uint32_t kind = DDK_ARG_NONE;
    st = arg_scalar(c, 2, "alpha", &kind);
    if (st != DDK_OK) return st;
    if (kind == DDK_ARG_BOOL && dt != DDK_DTYPE_BOOL)
      return fail(c, DDK_INVALID_ARGUMENT, "argument 'alpha': a bool alpha needs a bool result");
    if (kind == DDK_ARG_FLOAT && ddk_dtype_category(dt) <= 1)
      return fail(c, DDK_INVALID_ARGUMENT, "argument 'alpha': must not be a float for a %s result",
                  ddk_dtype_name(dt));
  }
  if (is_div && ddk_dtype_category(dt) <= 1) dt = DDK_DTYPE_FLOAT32;
  int64_t sizes[DDK_MAX_RANK];
  uint32_t rank;
  char msg[256];
  st = ddk_broadcast_shapes(a->sizes, a->rank, b->sizes, b->rank, sizes, &rank, msg, sizeof msg);
  if (st != DDK_OK) return fail(c, st, "self and other: %s", msg);
  return set_output(c, 0, dt, rank, sizes);
}

static ddk_status infer_unary(infer_ctx* c, uint32_t num_args, bool to_float, bool no_bool) {
  ddk_status st = need(c, num_args, 1);
  const ddk_tensor* x = NULL;
  if (st == DDK_OK) st = arg_tensor(c, 0, "self", &x);
  for (uint32_t i = 1; st == DDK_OK && i < num_args; ++i) {
    uint32_t kind = DDK_ARG_NONE;
    st = arg_scalar(c, i, i == 1 ? "min_val" : "max_val", &kind);
  }
  if (st != DDK_OK) return st;
  if (no_bool && x->dtype == DDK_DTYPE_BOOL)
    return fail(c, DDK_UNSUPPORTED_DTYPE, "bool inputs are not supported");
  ddk_dtype dt = x->dtype;
  if (to_float && ddk_dtype_category(dt) <= 1) dt = DDK_DTYPE_FLOAT32;
  return same_shape_output(c, x, dt);
}

/* ------------------------------------------------------------------------ */
/* Matmul                                                                   */
/* ------------------------------------------------------------------------ */

static ddk_status infer_matmul(infer_ctx* c, bool batched, bool addmm) {
  const uint32_t off = addmm ? 1 : 0;
  ddk_status st = need(c, addmm ? 5 : 2, 1);
  const ddk_tensor *self = NULL, *a = NULL, *b = NULL;
  const char* an = addmm ? "mat1" : "self";
  const char* bn = addmm ? "mat2" : "mat2";
  if (st == DDK_OK && addmm) st = arg_tensor(c, 0, "self", &self);
  if (st == DDK_OK) st = arg_tensor(c, off, an, &a);
  if (st == DDK_OK) st = arg_tensor(c, off + 1, bn, &b);
  uint32_t kind = DDK_ARG_NONE;
  if (st == DDK_OK && addmm) st = arg_scalar(c, 3, "beta", &kind);
  if (st == DDK_OK && addmm) st = arg_scalar(c, 4, "alpha", &kind);
  if (st != DDK_OK) return st;
  const uint32_t r = batched ? 3 : 2;
  if (a->rank != r || b->rank != r)
    return fail(c, DDK_SHAPE_MISMATCH, "'%s' and '%s' must be %u-D, got %u-D and %u-D", an, bn, r,
                a->rank, b->rank);
  if (a->dtype != b->dtype || (self != NULL && self->dtype != a->dtype))
    return fail(c, DDK_DTYPE_MISMATCH, "operands must share one dtype, got %s and %s%s%s",
                ddk_dtype_name(a->dtype), ddk_dtype_name(b->dtype), self ? " and self " : "",
                self ? ddk_dtype_name(self->dtype) : "");
  if (batched && a->sizes[0] != b->sizes[0])
    return fail(c, DDK_SHAPE_MISMATCH, "batch sizes differ: %lld vs %lld", (long long)a->sizes[0],
                (long long)b->sizes[0]);
  if (a->sizes[r - 1] != b->sizes[r - 2])
    return fail(c, DDK_SHAPE_MISMATCH, "'%s' has %lld columns but '%s' has %lld rows", an,
                (long long)a->sizes[r - 1], bn, (long long)b->sizes[r - 2]);
  int64_t sizes[3];
  if (batched) sizes[0] = a->sizes[0];
  sizes[r - 2] = a->sizes[r - 2];
  sizes[r - 1] = b->sizes[r - 1];
  if (addmm) {
    int64_t bs[DDK_MAX_RANK];
    uint32_t br;
    char msg[256];
    if (self->rank > 2)
      return fail(c, DDK_SHAPE_MISMATCH, "'self' has rank %u, expected at most 2", self->rank);
    st = ddk_broadcast_shapes(self->sizes, self->rank, sizes, 2, bs, &br, msg, sizeof msg);
    if (st != DDK_OK || bs[0] != sizes[0] || bs[1] != sizes[1])
      return fail(c, DDK_SHAPE_MISMATCH, "'self' does not broadcast to [%lld, %lld]",
                  (long long)sizes[0], (long long)sizes[1]);
  }
  return set_output(c, 0, a->dtype, r, sizes);
}

/* ------------------------------------------------------------------------ */
/* Convolution and pooling                                                  */
/* ------------------------------------------------------------------------ */

/* An int list of `n` values or one value repeated; `dflt` for an empty list. */
static ddk_status expand_list(infer_ctx* c, uint32_t i, const char* name, uint32_t n,
                              const int64_t* dflt, int64_t* out) {
  const int64_t* v = NULL;
  uint32_t k = 0;
  if (dflt != NULL && c->node->args[i].kind == DDK_ARG_NONE) {
    memcpy(out, dflt, n * sizeof *out);
    return DDK_OK;
  }
  ddk_status st = arg_ints(c, i, name, &v, &k);
  if (st != DDK_OK) return st;
  if (k == 0 && dflt != NULL) {
    memcpy(out, dflt, n * sizeof *out);
    return DDK_OK;
  }
  if (k != n && k != 1)
    return fail(c, DDK_INVALID_ARGUMENT, "argument '%s' must hold 1 or %u ints, got %u", name, n,
                k);
  for (uint32_t d = 0; d < n; ++d) out[d] = v[k == 1 ? 0 : d];
  return DDK_OK;
}

static ddk_status infer_convolution(infer_ctx* c) {
  ddk_status st = need(c, 9, 1);
  const ddk_tensor *x = NULL, *w = NULL, *b = NULL;
  bool transposed = false;
  int64_t groups = 0;
  if (st == DDK_OK) st = arg_tensor(c, 0, "input", &x);
  if (st == DDK_OK) st = arg_tensor(c, 1, "weight", &w);
  if (st == DDK_OK) st = arg_opt_tensor(c, 2, "bias", &b);
  if (st == DDK_OK) st = arg_bool(c, 6, "transposed", &transposed);
  if (st == DDK_OK) st = arg_int(c, 8, "groups", &groups);
  if (st != DDK_OK) return st;
  if (w->rank < 3 || w->rank > 5 || x->rank != w->rank)
    return fail(c, DDK_SHAPE_MISMATCH,
                "expected a 3-D, 4-D or 5-D weight and an input of the same rank, got %u-D "
                "input and %u-D weight",
                x->rank, w->rank);
  if (x->dtype != w->dtype)
    return fail(c, DDK_DTYPE_MISMATCH, "input is %s but weight is %s", ddk_dtype_name(x->dtype),
                ddk_dtype_name(w->dtype));
  if (groups <= 0) return fail(c, DDK_INVALID_ARGUMENT, "argument 'groups' must be positive");
  const uint32_t sp = x->rank - 2;
  int64_t stride[3], pad[3], dil[3], opad[3];
  st = expand_list(c, 3, "stride", sp, NULL, stride);
  if (st == DDK_OK) st = expand_list(c, 4, "padding", sp, NULL, pad);
  if (st == DDK_OK) st = expand_list(c, 5, "dilation", sp, NULL, dil);
  if (st == DDK_OK) st = expand_list(c, 7, "output_padding", sp, NULL, opad);
  if (st != DDK_OK) return st;
  const int64_t cin = x->sizes[1];
  int64_t cout;
  if (!transposed) {
    if (w->sizes[0] % groups != 0)
      return fail(c, DDK_SHAPE_MISMATCH, "weight out-channels %lld not divisible by groups %lld",
                  (long long)w->sizes[0], (long long)groups);
    if (w->sizes[1] * groups != cin)
      return fail(c, DDK_SHAPE_MISMATCH,
                  "input has %lld channels, expected weight in-channels %lld x groups %lld",
                  (long long)cin, (long long)w->sizes[1], (long long)groups);
    cout = w->sizes[0];
  } else {
    if (w->sizes[0] != cin)
      return fail(c, DDK_SHAPE_MISMATCH, "transposed: input has %lld channels, weight expects %lld",
                  (long long)cin, (long long)w->sizes[0]);
    if (cin % groups != 0)
      return fail(c, DDK_SHAPE_MISMATCH, "input channels %lld not divisible by groups %lld",
                  (long long)cin, (long long)groups);
    cout = w->sizes[1] * groups;
  }
  if (b != NULL && (b->rank != 1 || b->sizes[0] != cout))
    return fail(c, DDK_SHAPE_MISMATCH, "bias must be 1-D with %lld elements", (long long)cout);
  if (b != NULL && ddk_dtype_category(b->dtype) > 2)
    return fail(c, DDK_DTYPE_MISMATCH, "bias dtype %s", ddk_dtype_name(b->dtype));
  int64_t sizes[5] = {x->sizes[0], cout, 0, 0, 0};
  for (uint32_t d = 0; d < sp; ++d) {
    const int64_t in = x->sizes[2 + d], k = w->sizes[2 + d];
    if (stride[d] <= 0 || dil[d] <= 0)
      return fail(c, DDK_INVALID_ARGUMENT, "stride and dilation must be positive");
    if (pad[d] < 0) return fail(c, DDK_INVALID_ARGUMENT, "negative padding is not supported");
    if (k <= 0) return fail(c, DDK_SHAPE_MISMATCH, "weight has an empty kernel dim");
    const int64_t span = dil[d] * (k - 1);
    if (!transposed) {
      if (in + 2 * pad[d] < span + 1)
        return fail(c, DDK_SHAPE_MISMATCH,
                    "padded input size %lld is smaller than the dilated kernel %lld at dim %u",
                    (long long)(in + 2 * pad[d]), (long long)(span + 1), 2 + d);
      sizes[2 + d] = (in + 2 * pad[d] - span - 1) / stride[d] + 1;
    } else {
      if (opad[d] < 0 || (opad[d] >= stride[d] && opad[d] >= dil[d]))
        return fail(c, DDK_INVALID_ARGUMENT,
                    "output padding must be smaller than either stride or dilation");
      sizes[2 + d] = (in - 1) * stride[d] - 2 * pad[d] + span + opad[d] + 1;
      if (sizes[2 + d] <= 0)
        return fail(c, DDK_SHAPE_MISMATCH, "output size %lld at dim %u is too small",
                    (long long)sizes[2 + d], 2 + d);
    }
  }
  return set_output(c, 0, x->dtype, x->rank, sizes);
}

/* ATen's pooling_output_shape. */
static int64_t pool_out(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d, bool ceil_mode) {
  int64_t num = in + 2 * p - d * (k - 1) - 1 + (ceil_mode ? s - 1 : 0);
  int64_t q = num / s;
  if (num % s != 0 && num < 0) --q; /* floor division */
  int64_t out = q + 1;
  if (ceil_mode && (out - 1) * s >= in + p) --out;
  return out;
}

static ddk_status infer_pool(infer_ctx* c, bool is_max) {
  ddk_status st = need(c, is_max ? 6 : 7, is_max ? 2 : 1);
  const ddk_tensor* x = NULL;
  int64_t k[2], s[2], p[2], d[2] = {1, 1};
  const int64_t zero[2] = {0, 0}, one[2] = {1, 1};
  bool ceil_mode = false;
  if (st == DDK_OK) st = arg_tensor(c, 0, "self", &x);
  if (st == DDK_OK) st = expand_list(c, 1, "kernel_size", 2, NULL, k);
  if (st == DDK_OK) st = expand_list(c, 2, "stride", 2, k, s);
  if (st == DDK_OK) st = expand_list(c, 3, "padding", 2, zero, p);
  if (st == DDK_OK && is_max) st = expand_list(c, 4, "dilation", 2, one, d);
  if (st == DDK_OK) st = arg_bool(c, is_max ? 5 : 4, "ceil_mode", &ceil_mode);
  if (st == DDK_OK && !is_max) {
    bool cip;
    st = arg_bool(c, 5, "count_include_pad", &cip);
    const ddk_arg* dov = &c->node->args[6];
    if (st == DDK_OK && dov->kind != DDK_ARG_NONE) {
      int64_t v = 0;
      st = arg_int(c, 6, "divisor_override", &v);
      if (st == DDK_OK && v == 0)
        return fail(c, DDK_INVALID_ARGUMENT, "argument 'divisor_override' must not be zero");
    }
  }
  if (st != DDK_OK) return st;
  if (x->rank != 3 && x->rank != 4)
    return fail(c, DDK_SHAPE_MISMATCH, "expected a 3-D or 4-D input, got %u-D", x->rank);
  const uint32_t lead = x->rank - 3;
  for (uint32_t i = lead; i < x->rank; ++i)
    if (x->sizes[i] == 0)
      return fail(c, DDK_SHAPE_MISMATCH, "input dim %u is empty (only the batch may be)", i);
  int64_t sizes[4];
  for (uint32_t i = 0; i <= lead; ++i) sizes[i] = x->sizes[i];
  for (int i = 0; i < 2; ++i) {
    if (k[i] <= 0) return fail(c, DDK_INVALID_ARGUMENT, "kernel_size must be positive");
    if (s[i] <= 0) return fail(c, DDK_INVALID_ARGUMENT, "stride must be positive");
    if (d[i] <= 0) return fail(c, DDK_INVALID_ARGUMENT, "dilation must be positive");
    if (p[i] < 0 || p[i] > k[i] / 2)
      return fail(c, DDK_INVALID_ARGUMENT,
                  "padding %lld must be between 0 and half the kernel size %lld", (long long)p[i],
                  (long long)k[i]);
    const int64_t in = x->sizes[lead + 1 + i];
    const int64_t o = pool_out(in, k[i], s[i], p[i], d[i], ceil_mode);
    if (o < 1)
      return fail(c, DDK_SHAPE_MISMATCH, "input size %lld gives output size %lld: too small",
                  (long long)in, (long long)o);
    sizes[lead + 1 + i] = o;
  }
  st = set_output(c, 0, x->dtype, x->rank, sizes);
  if (st == DDK_OK && is_max) st = set_output(c, 1, DDK_DTYPE_INT64, x->rank, sizes);
  return st;
}

/* ------------------------------------------------------------------------ */
/* Softmax and mean                                                         */
/* ------------------------------------------------------------------------ */

static ddk_status infer_softmax(infer_ctx* c) {
  ddk_status st = need(c, 3, 1);
  const ddk_tensor* x = NULL;
  int64_t dim = 0;
  bool h2f = false;
  if (st == DDK_OK) st = arg_tensor(c, 0, "self", &x);
  if (st == DDK_OK) st = arg_int(c, 1, "dim", &dim);
  if (st == DDK_OK) st = arg_bool(c, 2, "half_to_float", &h2f);
  if (st == DDK_OK) st = wrap_dim(c, "dim", dim, x->rank, &dim);
  if (st != DDK_OK) return st;
  if (h2f && x->dtype != DDK_DTYPE_FLOAT16)
    return fail(c, DDK_INVALID_ARGUMENT, "half_to_float needs a float16 input, got %s",
                ddk_dtype_name(x->dtype));
  return same_shape_output(c, x, h2f ? DDK_DTYPE_FLOAT32 : x->dtype);
}

static ddk_status infer_mean(infer_ctx* c) {
  ddk_status st = need(c, 4, 1);
  const ddk_tensor* x = NULL;
  bool keepdim = false;
  if (st == DDK_OK) st = arg_tensor(c, 0, "self", &x);
  if (st == DDK_OK) st = arg_bool(c, 2, "keepdim", &keepdim);
  if (st != DDK_OK) return st;
  const ddk_arg* targ = &c->node->args[3];
  ddk_dtype dt = x->dtype;
  if (targ->kind == DDK_ARG_DTYPE) {
    dt = (ddk_dtype)targ->u.i;
    if (ddk_dtype_category(dt) < 2)
      return fail(c, DDK_INVALID_ARGUMENT,
                  "argument 'dtype': must be a floating or complex dtype, got %s",
                  ddk_dtype_name(dt));
  } else if (targ->kind != DDK_ARG_NONE) {
    return fail(c, DDK_INVALID_ARGUMENT, "argument 'dtype' must be a ScalarType or None");
  } else if (ddk_dtype_category(dt) < 2) {
    return fail(c, DDK_UNSUPPORTED_DTYPE,
                "cannot infer the result dtype from %s input; pass a floating dtype",
                ddk_dtype_name(dt));
  }
  bool reduce[DDK_MAX_RANK] = {false};
  const ddk_arg* darg = &c->node->args[1];
  if (darg->kind == DDK_ARG_NONE || (darg->kind == DDK_ARG_INT_LIST && darg->count == 0)) {
    for (uint32_t i = 0; i < x->rank; ++i) reduce[i] = true;
  } else {
    const int64_t* dims = NULL;
    uint32_t n = 0;
    st = arg_ints(c, 1, "dim", &dims, &n);
    for (uint32_t i = 0; st == DDK_OK && i < n; ++i) {
      int64_t d = 0;
      st = wrap_dim(c, "dim", dims[i], x->rank, &d);
      if (st != DDK_OK || x->rank == 0) continue;
      if (reduce[d])
        return fail(c, DDK_INVALID_ARGUMENT, "argument 'dim': dim %lld appears more than once",
                    (long long)d);
      reduce[d] = true;
    }
    if (st != DDK_OK) return st;
  }
  int64_t sizes[DDK_MAX_RANK];
  uint32_t r = 0;
  for (uint32_t i = 0; i < x->rank; ++i) {
    if (!reduce[i])
      sizes[r++] = x->sizes[i];
    else if (keepdim)
      sizes[r++] = 1;
  }
  return set_output(c, 0, dt, r, sizes);
}

/* ------------------------------------------------------------------------ */
/* Data movement                                                            */
/* ------------------------------------------------------------------------ */

static ddk_status infer_view(infer_ctx* c) {
  ddk_status st = need(c, 2, 1);
  const ddk_tensor* x = NULL;
  const int64_t* size = NULL;
  uint32_t n = 0;
  if (st == DDK_OK) st = arg_tensor(c, 0, "self", &x);
  if (st == DDK_OK) st = arg_ints(c, 1, "size", &size, &n);
  if (st != DDK_OK) return st;
  if (n > DDK_MAX_RANK)
    return fail(c, DDK_INVALID_ARGUMENT, "argument 'size': rank %u above %d", n, DDK_MAX_RANK);
  int64_t sizes[DDK_MAX_RANK];
  int infer_at = -1;
  int64_t known = 1;
  for (uint32_t i = 0; i < n; ++i) {
    sizes[i] = size[i];
    if (size[i] == -1) {
      if (infer_at >= 0)
        return fail(c, DDK_INVALID_ARGUMENT, "argument 'size': only one dimension can be -1");
      infer_at = (int)i;
    } else if (size[i] < 0) {
      return fail(c, DDK_INVALID_ARGUMENT, "argument 'size': invalid size %lld at index %u",
                  (long long)size[i], i);
    } else {
      known *= size[i];
    }
  }
  const int64_t numel = ddk_tensor_numel(x);
  if (infer_at >= 0) {
    if (known == 0)
      return fail(c, DDK_INVALID_ARGUMENT,
                  "argument 'size': the -1 is ambiguous with other sizes multiplying to 0");
    if (numel % known != 0)
      return fail(c, DDK_SHAPE_MISMATCH, "cannot view %lld elements as a multiple of %lld",
                  (long long)numel, (long long)known);
    sizes[infer_at] = numel / known;
  } else if (known != numel) {
    return fail(c, DDK_SHAPE_MISMATCH, "cannot view %lld elements as %lld", (long long)numel,
                (long long)known);
  }
  return set_output(c, 0, x->dtype, n, sizes);
}

static ddk_status infer_permute(infer_ctx* c) {
  ddk_status st = need(c, 2, 1);
  const ddk_tensor* x = NULL;
  const int64_t* dims = NULL;
  uint32_t n = 0;
  if (st == DDK_OK) st = arg_tensor(c, 0, "self", &x);
  if (st == DDK_OK) st = arg_ints(c, 1, "dims", &dims, &n);
  if (st != DDK_OK) return st;
  if (n != x->rank)
    return fail(c, DDK_INVALID_ARGUMENT, "argument 'dims': %u dims for a %u-D tensor", n, x->rank);
  bool seen[DDK_MAX_RANK] = {false};
  int64_t sizes[DDK_MAX_RANK];
  for (uint32_t i = 0; i < n; ++i) {
    int64_t d = 0;
    if (x->rank == 0) break;
    st = wrap_dim(c, "dims", dims[i], x->rank, &d);
    if (st != DDK_OK) return st;
    if (seen[d])
      return fail(c, DDK_INVALID_ARGUMENT, "argument 'dims': dim %lld repeated", (long long)d);
    seen[d] = true;
    sizes[i] = x->sizes[d];
  }
  return set_output(c, 0, x->dtype, x->rank, sizes);
}

static ddk_status infer_cat(infer_ctx* c) {
  ddk_status st = need(c, 2, 1);
  int64_t dim = 0;
  if (st == DDK_OK) st = arg_int(c, 1, "dim", &dim);
  if (st != DDK_OK) return st;
  const ddk_arg* list = &c->node->args[0];
  if (list->kind != DDK_ARG_TENSOR_LIST || (list->count > 0 && list->u.tensors == NULL))
    return fail(c, DDK_INVALID_ARGUMENT, "argument 'tensors' must be a list of tensors");
  if (list->count == 0) return fail(c, DDK_INVALID_ARGUMENT, "argument 'tensors' is empty");
  const ddk_tensor* first = NULL;
  ddk_dtype dt = DDK_DTYPE_INVALID;
  int64_t sizes[DDK_MAX_RANK];
  for (uint32_t i = 0; i < list->count; ++i) {
    if (list->u.tensors[i] == DDK_NO_VALUE)
      return fail(c, DDK_INVALID_ARGUMENT, "argument 'tensors': entry %u is None", i);
    const ddk_tensor* t = &c->values[list->u.tensors[i]];
    st = check_tensor(c, t, "tensors");
    if (st != DDK_OK) return st;
    dt = promote_skip_invalid(dt, t->dtype);
    if (t->rank == 0)
      return fail(c, DDK_SHAPE_MISMATCH, "tensor %u is 0-D and cannot be concatenated", i);
    if (t->rank == 1 && t->sizes[0] == 0) continue; /* legacy: skipped */
    if (first == NULL) {
      first = t;
      st = wrap_dim(c, "dim", dim, t->rank, &dim);
      if (st != DDK_OK) return st;
      memcpy(sizes, t->sizes, t->rank * sizeof *sizes);
      continue;
    }
    if (t->rank != first->rank)
      return fail(c, DDK_SHAPE_MISMATCH, "tensor %u has rank %u, tensor 0 rank %u", i, t->rank,
                  first->rank);
    for (uint32_t d = 0; d < t->rank; ++d) {
      if ((int64_t)d == dim) continue;
      if (t->sizes[d] != first->sizes[d])
        return fail(
            c, DDK_SHAPE_MISMATCH,
            "sizes must match except in dim %lld: tensor %u has %lld at dim %u, expected %lld",
            (long long)dim, i, (long long)t->sizes[d], d, (long long)first->sizes[d]);
    }
    sizes[dim] += t->sizes[dim];
  }
  if (first == NULL) {
    int64_t zero = 0;
    return set_output(c, 0, dt, 1, &zero);
  }
  return set_output(c, 0, dt, first->rank, sizes);
}

static ddk_status infer_clone(infer_ctx* c) {
  ddk_status st = need(c, 2, 1);
  const ddk_tensor* x = NULL;
  if (st == DDK_OK) st = arg_tensor(c, 0, "self", &x);
  if (st != DDK_OK) return st;
  const ddk_arg* mf = &c->node->args[1];
  if (mf->kind == DDK_ARG_INT) {
    /* ATen MemoryFormat: 0 contiguous, 1 preserve, 2 channels_last, 3 channels_last_3d */
    if (mf->u.i < 0 || mf->u.i > 3)
      return fail(c, DDK_INVALID_ARGUMENT, "argument 'memory_format': unknown value %lld",
                  (long long)mf->u.i);
    if ((mf->u.i == 2 && x->rank != 4) || (mf->u.i == 3 && x->rank != 5))
      return fail(c, DDK_INVALID_ARGUMENT,
                  "argument 'memory_format': channels_last needs a 4-D tensor, "
                  "channels_last_3d a 5-D one");
  } else if (mf->kind != DDK_ARG_NONE) {
    return fail(c, DDK_INVALID_ARGUMENT, "argument 'memory_format' must be an int or None");
  }
  return same_shape_output(c, x, x->dtype);
}

/* ------------------------------------------------------------------------ */

static ddk_status infer_dispatch(const ddk_node_view* node, ddk_tensor* values, char* err,
                                 size_t err_cap);

/* Largest tensor byte size inference accepts: anything above cannot be
 * addressed, and hostile programs must not make size arithmetic overflow. */
#define DDK_MAX_TENSOR_BYTES ((uint64_t)1 << 48)

ddk_status ddk_infer_node(const ddk_node_view* node, ddk_tensor* values, char* err,
                          size_t err_cap) {
  ddk_status st = infer_dispatch(node, values, err, err_cap);
  if (st != DDK_OK) return st;
  for (uint32_t k = 0; k < node->num_outputs; ++k) {
    const ddk_tensor* t = &values[node->outputs[k]];
    uint64_t bytes = ddk_dtype_size(t->dtype);
    for (uint32_t i = 0; i < t->rank; ++i) {
      uint64_t d = (uint64_t)t->sizes[i];
      if (d != 0 && bytes > DDK_MAX_TENSOR_BYTES / d) {
        if (err != NULL && err_cap > 0)
          snprintf(err, err_cap, "%s: output %u would exceed 2^48 bytes", node->op_name, k);
        return DDK_INVALID_ARGUMENT;
      }
      bytes *= d;
    }
  }
  return DDK_OK;
}

static ddk_status infer_dispatch(const ddk_node_view* node, ddk_tensor* values, char* err,
                                 size_t err_cap) {
  infer_ctx c = {node, values, err, err_cap};
  if (err != NULL && err_cap > 0) err[0] = '\0';
  switch (node->op_id) {
    case DDK_OP_ATEN_ADD_TENSOR:
      return infer_binary(&c, true, false, false);
    case DDK_OP_ATEN_SUB_TENSOR:
      return infer_binary(&c, true, true, false);
    case DDK_OP_ATEN_MUL_TENSOR:
      return infer_binary(&c, false, false, false);
    case DDK_OP_ATEN_DIV_TENSOR:
      return infer_binary(&c, false, false, true);
    case DDK_OP_ATEN_RELU:
      return infer_unary(&c, 1, false, true);
    case DDK_OP_ATEN_HARDTANH:
      return infer_unary(&c, 3, false, true);
    case DDK_OP_ATEN_SIGMOID:
    case DDK_OP_ATEN_TANH:
      return infer_unary(&c, 1, true, false);
    case DDK_OP_ATEN_MM:
      return infer_matmul(&c, false, false);
    case DDK_OP_ATEN_ADDMM:
      return infer_matmul(&c, false, true);
    case DDK_OP_ATEN_BMM:
      return infer_matmul(&c, true, false);
    case DDK_OP_ATEN_CONVOLUTION:
      return infer_convolution(&c);
    case DDK_OP_ATEN_MAX_POOL2D_WITH_INDICES:
      return infer_pool(&c, true);
    case DDK_OP_ATEN_AVG_POOL2D:
      return infer_pool(&c, false);
    case DDK_OP_ATEN_SOFTMAX:
      return infer_softmax(&c);
    case DDK_OP_ATEN_MEAN_DIM:
      return infer_mean(&c);
    case DDK_OP_ATEN_VIEW:
      return infer_view(&c);
    case DDK_OP_ATEN_PERMUTE:
      return infer_permute(&c);
    case DDK_OP_ATEN_CAT:
      return infer_cat(&c);
    case DDK_OP_ATEN_CLONE:
      return infer_clone(&c);
    default:
      return fail(&c, DDK_UNSUPPORTED_OP, "no shape inference rule (op id %u)", node->op_id);
  }
}
