/*
 * infer_util.c — helpers shared by the inference rules (infer_util.h), and
 * ddk_infer_node, which dispatches to the rule of the node's op.
 */
#include "infer_util.h"

const char* ddk_infer_op_name(const ddk_infer_ctx* c) {
  return c->node->op_name != NULL ? c->node->op_name : "op";
}

ddk_status ddk_infer_fail(ddk_infer_ctx* c, ddk_status status, const char* fmt, ...) {
  if (c->err != NULL && c->err_cap > 0) {
    int n = snprintf(c->err, c->err_cap, "%s: ", ddk_infer_op_name(c));
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

ddk_status ddk_infer_need(ddk_infer_ctx* c, uint32_t num_args, uint32_t num_outputs) {
  if (c->node->num_args < num_args || (num_args > 0 && c->node->args == NULL))
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "expected %u arguments, got %u", num_args,
                          c->node->num_args);
  if (c->node->num_outputs < num_outputs || c->node->outputs == NULL)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "expected %u outputs, got %u", num_outputs,
                          c->node->num_outputs);
  return DDK_OK;
}

ddk_status ddk_infer_check_tensor(ddk_infer_ctx* c, const ddk_tensor* t, const char* name) {
  if (t->rank > DDK_MAX_RANK)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "argument '%s': rank %u above %d", name, t->rank,
                          DDK_MAX_RANK);
  if (ddk_dtype_size(t->dtype) == 0)
    return ddk_infer_fail(c, DDK_UNSUPPORTED_DTYPE, "argument '%s': unknown dtype %d", name,
                          (int)t->dtype);
  for (uint32_t i = 0; i < t->rank; ++i)
    if (t->sizes[i] < 0)
      return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "argument '%s': negative size at dim %u", name,
                            i);
  return DDK_OK;
}

ddk_status ddk_infer_arg_tensor(ddk_infer_ctx* c, uint32_t i, const char* name,
                                const ddk_tensor** out) {
  const ddk_arg* a = &c->node->args[i];
  if (a->kind != DDK_ARG_TENSOR || a->u.tensor == DDK_NO_VALUE)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "argument '%s' must be a tensor", name);
  *out = &c->values[a->u.tensor];
  return ddk_infer_check_tensor(c, *out, name);
}

ddk_status ddk_infer_arg_opt_tensor(ddk_infer_ctx* c, uint32_t i, const char* name,
                                    const ddk_tensor** out) {
  *out = NULL;
  if (c->node->args[i].kind == DDK_ARG_NONE) return DDK_OK;
  return ddk_infer_arg_tensor(c, i, name, out);
}

ddk_status ddk_infer_arg_int(ddk_infer_ctx* c, uint32_t i, const char* name, int64_t* out) {
  const ddk_arg* a = &c->node->args[i];
  if (a->kind != DDK_ARG_INT)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "argument '%s' must be an int", name);
  *out = a->u.i;
  return DDK_OK;
}

ddk_status ddk_infer_arg_bool(ddk_infer_ctx* c, uint32_t i, const char* name, bool* out) {
  const ddk_arg* a = &c->node->args[i];
  if (a->kind != DDK_ARG_BOOL)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "argument '%s' must be a bool", name);
  *out = a->u.b;
  return DDK_OK;
}

ddk_status ddk_infer_arg_scalar(ddk_infer_ctx* c, uint32_t i, const char* name, uint32_t* kind) {
  const ddk_arg* a = &c->node->args[i];
  if (a->kind != DDK_ARG_INT && a->kind != DDK_ARG_FLOAT && a->kind != DDK_ARG_BOOL)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "argument '%s' must be a Scalar", name);
  *kind = a->kind;
  return DDK_OK;
}

/* INT_LIST argument (an INT is taken as a list of one). */
ddk_status ddk_infer_arg_ints(ddk_infer_ctx* c, uint32_t i, const char* name, const int64_t** v,
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
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "argument '%s' must be a list of ints", name);
  *v = a->u.ints;
  *n = a->count;
  return DDK_OK;
}

/* Wraps dim `d` for a tensor of `rank` (0-d tensors accept -1 and 0). */
ddk_status ddk_infer_wrap_dim(ddk_infer_ctx* c, const char* name, int64_t d, uint32_t rank,
                              int64_t* out) {
  const int64_t r = rank == 0 ? 1 : (int64_t)rank;
  if (d < -r || d >= r)
    return ddk_infer_fail(c, DDK_OUT_OF_RANGE, "argument '%s': dim %lld out of range [%lld, %lld]",
                          name, (long long)d, (long long)-r, (long long)(r - 1));
  *out = d < 0 ? d + r : d;
  return DDK_OK;
}

ddk_status ddk_infer_set_output(ddk_infer_ctx* c, uint32_t i, ddk_dtype dtype, uint32_t rank,
                                const int64_t* sizes) {
  if (rank > DDK_MAX_RANK)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "result rank %u above %d", rank, DDK_MAX_RANK);
  if (c->node->outputs[i] == DDK_NO_VALUE)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "output %u unset", i);
  ddk_tensor* t = &c->values[c->node->outputs[i]];
  t->dtype = dtype;
  t->rank = rank;
  for (uint32_t d = 0; d < rank; ++d) t->sizes[d] = sizes[d];
  ddk_tensor_set_contiguous(t);
  return DDK_OK;
}

ddk_status ddk_infer_same_shape(ddk_infer_ctx* c, const ddk_tensor* t, ddk_dtype dtype) {
  return ddk_infer_set_output(c, 0, dtype, t->rank, t->sizes);
}

/* ------------------------------------------------------------------------ */
/* Type promotion with 0-d tensors (at::native::result_type)                */
/* ------------------------------------------------------------------------ */

bool ddk_infer_is_floating(ddk_dtype d) {
  return ddk_dtype_category(d) == 2;
}
bool ddk_infer_is_complex(ddk_dtype d) {
  return ddk_dtype_category(d) == 3;
}

ddk_dtype ddk_infer_promote(ddk_dtype a, ddk_dtype b) {
  if (a == DDK_DTYPE_INVALID) return b;
  if (b == DDK_DTYPE_INVALID) return a;
  return ddk_promote_types(a, b);
}

/* A 0-d tensor only raises the category of the dimensioned ones. */
static ddk_dtype combine_categories(ddk_dtype higher, ddk_dtype lower) {
  if (higher == DDK_DTYPE_INVALID) return lower;
  if (lower == DDK_DTYPE_INVALID || ddk_infer_is_complex(higher)) return higher;
  if (ddk_infer_is_complex(lower)) {
    if (ddk_infer_is_floating(higher))
      return higher == DDK_DTYPE_FLOAT64 ? DDK_DTYPE_COMPLEX128 : DDK_DTYPE_COMPLEX64;
    return lower;
  }
  if (ddk_infer_is_floating(higher)) return higher;
  if (higher == DDK_DTYPE_BOOL || ddk_infer_is_floating(lower))
    return ddk_infer_promote(higher, lower);
  return higher;
}

ddk_dtype ddk_infer_result_type(const ddk_tensor* const* ts, uint32_t n) {
  ddk_dtype dim_r = DDK_DTYPE_INVALID, zero_r = DDK_DTYPE_INVALID;
  for (uint32_t i = 0; i < n; ++i) {
    if (ts[i]->rank > 0)
      dim_r = ddk_infer_promote(dim_r, ts[i]->dtype);
    else
      zero_r = ddk_infer_promote(zero_r, ts[i]->dtype);
  }
  return combine_categories(dim_r, zero_r);
}

/* An int list of `n` values or one value repeated; `dflt` for an empty list. */
ddk_status ddk_infer_expand_list(ddk_infer_ctx* c, uint32_t i, const char* name, uint32_t n,
                                 const int64_t* dflt, int64_t* out) {
  const int64_t* v = NULL;
  uint32_t k = 0;
  if (dflt != NULL && c->node->args[i].kind == DDK_ARG_NONE) {
    memcpy(out, dflt, n * sizeof *out);
    return DDK_OK;
  }
  ddk_status st = ddk_infer_arg_ints(c, i, name, &v, &k);
  if (st != DDK_OK) return st;
  if (k == 0 && dflt != NULL) {
    memcpy(out, dflt, n * sizeof *out);
    return DDK_OK;
  }
  if (k != n && k != 1)
    return ddk_infer_fail(c, DDK_INVALID_ARGUMENT, "argument '%s' must hold 1 or %u ints, got %u",
                          name, n, k);
  for (uint32_t d = 0; d < n; ++d) {
    out[d] = v[k == 1 ? 0 : d];
    /* window parameters (kernel, stride, padding, dilation, output sizes)
     * beyond 2^31 describe no real tensor; bounding them keeps the size
     * arithmetic of every rule free of overflow */
    if (out[d] > DDK_INFER_MAX_PARAM || out[d] < -DDK_INFER_MAX_PARAM)
      return ddk_infer_fail(c, DDK_OUT_OF_RANGE, "argument '%s': %lld is out of range", name,
                            (long long)out[d]);
  }
  return DDK_OK;
}

/* ------------------------------------------------------------------------ */
/* Entry point                                                              */
/* ------------------------------------------------------------------------ */

/* Largest tensor byte size inference accepts: anything above cannot be
 * addressed, and hostile programs must not make size arithmetic overflow. */
#define DDK_MAX_TENSOR_BYTES ((uint64_t)1 << 48)

ddk_status ddk_infer_node(const ddk_node_view* node, ddk_tensor* values, char* err,
                          size_t err_cap) {
  ddk_infer_ctx c = {node, values, err, err_cap};
  if (err != NULL && err_cap > 0) err[0] = '\0';
  ddk_infer_fn rule = ddk_infer_lookup(node->op_id);
  if (rule == NULL)
    return ddk_infer_fail(&c, DDK_UNSUPPORTED_OP, "no shape inference rule (op id %u)",
                          node->op_id);
  ddk_status st = rule(&c);
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
