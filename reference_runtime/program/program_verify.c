/*
 * program_verify.c — the semantic verifier of a ddk_program.
 *
 * Checks, in this order (each step may rely on the previous ones):
 *   1. counts and array pointers
 *   2. every value description (dtype, rank, sizes, dim_order, strides,
 *      flags, constant bytes, quantization)
 *   3. program inputs and outputs against the INPUT/OUTPUT flags
 *   4. every node against its op schema; every value defined at most once
 *   5. every delegate's lists
 *   6. the plan covers every node exactly once
 *   7. walking the plan, every tensor is produced before it is read
 *   8. walking the plan, declared output shapes agree with ddk_infer_node
 * Work and scratch memory are linear in the program's size.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ddk/ops.h"
#include "program_format.h"
#include "program_verify.h"

/* ------------------------------------------------------------------------ */
/* Shared helpers                                                           */
/* ------------------------------------------------------------------------ */

ddk_status ddk_program_fail(char* err, size_t err_cap, const char* fmt, ...) {
  if (err != NULL && err_cap > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_cap, fmt, ap);
    va_end(ap);
  }
  return DDK_INVALID_PROGRAM;
}

void ddk_program_dense_strides(ddk_tensor* t) {
  /* Unsigned: wraps harmlessly for sizes the verifier will refuse. */
  uint64_t stride = 1;
  for (uint32_t i = t->rank; i-- > 0;) {
    uint8_t d = t->dim_order[i];
    t->strides[d] = (int64_t)stride;
    stride *= t->sizes[d] > 1 ? (uint64_t)t->sizes[d] : 1u;
  }
}

const char* ddk_arg_kind_name(uint32_t kind) {
  static const char* const names[DDK_ARG_KIND_COUNT_] = {
      "NONE", "TENSOR", "TENSOR_LIST", "INT",       "INT_LIST", "FLOAT",
      "FLOAT_LIST", "BOOL", "BOOL_LIST", "STRING", "DTYPE"};
  return kind < DDK_ARG_KIND_COUNT_ ? names[kind] : "?";
}

/* ------------------------------------------------------------------------ */
/* Context                                                                  */
/* ------------------------------------------------------------------------ */

#define NONE32 UINT32_MAX
#define OWNER_DELEGATE 0x80000000u /* owner[n] = OWNER_DELEGATE | delegate */

typedef struct verifier {
  const ddk_program* p;
  char* err;
  size_t err_cap;
  uint32_t* definer;       /* [num_values] node defining it, or NONE32 */
  uint32_t* stamp;         /* [num_values] scratch marks (1 + a tag) */
  uint8_t* avail;          /* [num_values] produced so far in the plan walk */
  uint32_t* owner;         /* [num_nodes] PLAN index, OWNER_DELEGATE|d, NONE32 */
  uint32_t* delegate_plan; /* [num_delegates] PLAN index running it */
  ddk_tensor* scratch;     /* [num_values] for shape inference */
  bool exact_constants;    /* decoded from a file: capacity == byte size */
} verifier;

#define FAIL(...) ddk_program_fail(v->err, v->err_cap, __VA_ARGS__)

static const char* value_name(const verifier* v, uint32_t value) {
  const char* name = v->p->values[value].name;
  return name != NULL ? name : "";
}

/* "float32[2, 3]" into buf. */
static const char* format_shape(char* buf, size_t cap, ddk_dtype dtype,
                                uint32_t rank, const int64_t* sizes) {
  int n = snprintf(buf, cap, "%s[", ddk_dtype_name(dtype));
  for (uint32_t i = 0; i < rank && i < DDK_MAX_RANK && n > 0 &&
                       (size_t)n < cap;
       ++i)
    n += snprintf(buf + n, cap - (size_t)n, i ? ", %lld" : "%lld",
                  (long long)sizes[i]);
  if (n > 0 && (size_t)n < cap) snprintf(buf + n, cap - (size_t)n, "]");
  return buf;
}

/* ------------------------------------------------------------------------ */
/* 1. Counts and pointers                                                   */
/* ------------------------------------------------------------------------ */

static ddk_status check_arrays(verifier* v) {
  const ddk_program* p = v->p;
  struct {
    const char* what;
    uint32_t count;
    const void* ptr;
  } arrays[] = {
      {"values", p->num_values, p->values},
      {"nodes", p->num_nodes, p->nodes},
      {"inputs", p->num_inputs, p->inputs},
      {"outputs", p->num_outputs, p->outputs},
      {"delegates", p->num_delegates, p->delegates},
      {"instructions", p->num_instructions, p->instructions},
  };
  for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; ++i) {
    if (arrays[i].count > DDK_PF_MAX_COUNT)
      return FAIL("program: %u %s exceed the format's limit of %u",
                  arrays[i].count, arrays[i].what, DDK_PF_MAX_COUNT);
    if (arrays[i].count > 0 && arrays[i].ptr == NULL)
      return FAIL("program: %u %s but the array is NULL", arrays[i].count,
                  arrays[i].what);
  }
  return DDK_OK;
}

/* ------------------------------------------------------------------------ */
/* 2. Values                                                                */
/* ------------------------------------------------------------------------ */

static bool dtype_int_range(ddk_dtype dtype, int64_t* lo, int64_t* hi) {
  switch (dtype) {
    case DDK_DTYPE_UINT8: *lo = 0, *hi = UINT8_MAX; return true;
    case DDK_DTYPE_INT8: *lo = INT8_MIN, *hi = INT8_MAX; return true;
    case DDK_DTYPE_INT16: *lo = INT16_MIN, *hi = INT16_MAX; return true;
    case DDK_DTYPE_INT32: *lo = INT32_MIN, *hi = INT32_MAX; return true;
    case DDK_DTYPE_INT64: *lo = INT64_MIN, *hi = INT64_MAX; return true;
    default: return false;
  }
}

static ddk_status check_quant(verifier* v, uint32_t i) {
  const ddk_value_desc* d = &v->p->values[i];
  const ddk_tensor* t = &d->tensor;
  const ddk_quant_params* q = t->quant;
  int64_t lo, hi;
  if (!dtype_int_range(t->dtype, &lo, &hi))
    return FAIL("VALUES[%u].quant: a %s tensor cannot be quantized (needs an "
                "integer dtype)", i, ddk_dtype_name(t->dtype));
  if (q->scheme != DDK_QSCHEME_PER_TENSOR_AFFINE &&
      q->scheme != DDK_QSCHEME_PER_CHANNEL_AFFINE)
    return FAIL("VALUES[%u].quant.scheme: %d is neither PER_TENSOR_AFFINE (1) "
                "nor PER_CHANNEL_AFFINE (2)", i, (int)q->scheme);
  if (q->num_channels < 1)
    return FAIL("VALUES[%u].quant.num_channels: 0 (needs at least 1)", i);
  if (q->scales == NULL || q->zero_points == NULL)
    return FAIL("VALUES[%u].quant: scales or zero_points is NULL", i);
  if (q->scheme == DDK_QSCHEME_PER_TENSOR_AFFINE) {
    if (q->num_channels != 1 || q->axis != 0)
      return FAIL("VALUES[%u].quant: per-tensor quantization needs "
                  "num_channels 1 and axis 0, not %u and %d", i,
                  q->num_channels, (int)q->axis);
  } else {
    if (q->axis < 0 || (uint32_t)q->axis >= t->rank)
      return FAIL("VALUES[%u].quant.axis: %d is not a dim of a rank-%u tensor",
                  i, (int)q->axis, t->rank);
    if (d->dynamic_mask & (1u << q->axis))
      return FAIL("VALUES[%u].quant.axis: dim %d is dynamic", i, (int)q->axis);
    if (t->sizes[q->axis] != (int64_t)q->num_channels)
      return FAIL("VALUES[%u].quant.num_channels: %u but sizes[%d] is %lld", i,
                  q->num_channels, (int)q->axis, (long long)t->sizes[q->axis]);
  }
  if (q->quant_min > q->quant_max || q->quant_min < lo || q->quant_max > hi)
    return FAIL("VALUES[%u].quant: range [%lld, %lld] is empty or outside %s",
                i, (long long)q->quant_min, (long long)q->quant_max,
                ddk_dtype_name(t->dtype));
  for (uint32_t c = 0; c < q->num_channels; ++c) {
    if (!isfinite(q->scales[c]) || !(q->scales[c] > 0.0))
      return FAIL("VALUES[%u].quant.scales[%u]: %g is not finite and > 0", i,
                  c, q->scales[c]);
    if (q->zero_points[c] < q->quant_min || q->zero_points[c] > q->quant_max)
      return FAIL("VALUES[%u].quant.zero_points[%u]: %lld outside [%lld, %lld]",
                  i, c, (long long)q->zero_points[c], (long long)q->quant_min,
                  (long long)q->quant_max);
  }
  return DDK_OK;
}

static ddk_status check_value(verifier* v, uint32_t i) {
  const ddk_value_desc* d = &v->p->values[i];
  const ddk_tensor* t = &d->tensor;
  if (d->name == NULL) return FAIL("VALUES[%u].name: NULL", i);
  size_t elem = ddk_dtype_size(t->dtype);
  if (elem == 0)
    return FAIL("VALUES[%u].dtype: %d is not a known dtype", i, (int)t->dtype);
  if (t->rank > DDK_MAX_RANK)
    return FAIL("VALUES[%u].rank: %u exceeds the maximum rank %d", i, t->rank,
                DDK_MAX_RANK);
  uint64_t bytes = elem;
  for (uint32_t k = 0; k < t->rank; ++k) {
    if (t->sizes[k] < 0)
      return FAIL("VALUES[%u].sizes[%u]: negative size %lld", i, k,
                  (long long)t->sizes[k]);
    if (t->sizes[k] != 0 && bytes > (uint64_t)INT64_MAX / (uint64_t)t->sizes[k])
      return FAIL("VALUES[%u].sizes[%u]: the tensor's byte size overflows", i,
                  k);
    bytes *= (uint64_t)t->sizes[k];
  }
  if (bytes > SIZE_MAX)
    return FAIL("VALUES[%u].sizes: %llu bytes do not fit in memory", i,
                (unsigned long long)bytes);
  uint32_t seen = 0;
  for (uint32_t k = 0; k < t->rank; ++k) {
    uint32_t dim = t->dim_order[k];
    if (dim >= t->rank || (seen & (1u << dim)))
      return FAIL("VALUES[%u].dim_order[%u]: %u makes dim_order not a "
                  "permutation of 0..%u", i, k, dim, t->rank - 1);
    seen |= 1u << dim;
  }
  if (t->rank < 32 && (d->dynamic_mask >> t->rank) != 0)
    return FAIL("VALUES[%u].dynamic_mask: 0x%x marks dims beyond rank %u", i,
                d->dynamic_mask, t->rank);
  const uint32_t known = DDK_VALUE_CONSTANT | DDK_VALUE_INPUT | DDK_VALUE_OUTPUT;
  if (d->flags & ~known)
    return FAIL("VALUES[%u].flags: 0x%x has unknown bits", i, d->flags);
  if ((d->flags & DDK_VALUE_CONSTANT) && (d->flags & DDK_VALUE_INPUT))
    return FAIL("VALUES[%u].flags: a value cannot be both CONSTANT and INPUT",
                i);
  if (d->flags & DDK_VALUE_CONSTANT) {
    if (d->dynamic_mask != 0)
      return FAIL("VALUES[%u].dynamic_mask: a constant cannot have dynamic "
                  "dims", i);
    /* Decoded: capacity is the file's data_size and must be exact. In
     * memory: 0 means "not set", else it must hold the bytes. */
    if (v->exact_constants ? t->capacity != bytes
                           : (t->capacity != 0 && t->capacity < bytes)) {
      char shape[160];
      return FAIL("VALUES[%u].data_size: %llu bytes, but a constant %s holds "
                  "%llu", i, (unsigned long long)t->capacity,
                  format_shape(shape, sizeof shape, t->dtype, t->rank,
                               t->sizes),
                  (unsigned long long)bytes);
    }
    if (bytes > 0 && t->data == NULL)
      return FAIL("VALUES[%u].data: NULL for a constant", i);
  }
  if (t->quant != NULL) return check_quant(v, i);
  return DDK_OK;
}

/* ------------------------------------------------------------------------ */
/* 3. Program inputs and outputs                                            */
/* ------------------------------------------------------------------------ */

static ddk_status check_io(verifier* v) {
  const ddk_program* p = v->p;
  for (uint32_t k = 0; k < p->num_inputs; ++k) {
    uint32_t x = p->inputs[k];
    if (x >= p->num_values)
      return FAIL("IO.inputs[%u]: value %u out of range (%u values)", k, x,
                  p->num_values);
    if (!(p->values[x].flags & DDK_VALUE_INPUT))
      return FAIL("IO.inputs[%u]: value %u ('%s') is not flagged INPUT", k, x,
                  value_name(v, x));
    if (v->stamp[x] == 1)
      return FAIL("IO.inputs[%u]: value %u ('%s') is listed twice", k, x,
                  value_name(v, x));
    v->stamp[x] = 1;
  }
  for (uint32_t k = 0; k < p->num_outputs; ++k) {
    uint32_t x = p->outputs[k];
    if (x >= p->num_values)
      return FAIL("IO.outputs[%u]: value %u out of range (%u values)", k, x,
                  p->num_values);
    if (!(p->values[x].flags & DDK_VALUE_OUTPUT))
      return FAIL("IO.outputs[%u]: value %u ('%s') is not flagged OUTPUT", k,
                  x, value_name(v, x));
    v->stamp[x] |= 2;
  }
  for (uint32_t x = 0; x < p->num_values; ++x) {
    uint32_t flags = p->values[x].flags;
    if ((flags & DDK_VALUE_INPUT) && !(v->stamp[x] & 1))
      return FAIL("VALUES[%u]: flagged INPUT but not listed in IO.inputs", x);
    if ((flags & DDK_VALUE_OUTPUT) && !(v->stamp[x] & 2))
      return FAIL("VALUES[%u]: flagged OUTPUT but not listed in IO.outputs",
                  x);
  }
  return DDK_OK;
}

/* ------------------------------------------------------------------------ */
/* 4. Nodes against their schemas                                           */
/* ------------------------------------------------------------------------ */

static const char* param_type_name(uint32_t type) {
  static const char* const names[] = {
      "Tensor", "Tensor[]", "int",   "int[]",      "float",
      "float[]", "bool",    "bool[]", "Scalar",    "ScalarType",
      "str",    "MemoryFormat", "Layout", "Device", "Generator"};
  return type < sizeof names / sizeof names[0] ? names[type] : "?";
}

/* Bit (1 << kind) per ddk_arg_kind a param type accepts (optional aside). */
static uint32_t kinds_for_param(uint32_t type) {
#define K(kind) (1u << DDK_ARG_##kind)
  switch (type) {
    case DDK_PARAM_TENSOR: return K(TENSOR);
    case DDK_PARAM_TENSOR_LIST: return K(TENSOR_LIST);
    case DDK_PARAM_INT: return K(INT);
    case DDK_PARAM_INT_LIST: return K(INT_LIST);
    case DDK_PARAM_FLOAT: return K(FLOAT);
    case DDK_PARAM_FLOAT_LIST: return K(FLOAT_LIST);
    case DDK_PARAM_BOOL: return K(BOOL);
    case DDK_PARAM_BOOL_LIST: return K(BOOL_LIST);
    case DDK_PARAM_SCALAR: return K(INT) | K(FLOAT) | K(BOOL);
    case DDK_PARAM_SCALAR_TYPE: return K(DTYPE);
    case DDK_PARAM_STRING: return K(STRING);
    case DDK_PARAM_MEMORY_FORMAT: return K(INT);
    case DDK_PARAM_LAYOUT: return K(INT);
    case DDK_PARAM_DEVICE: return K(STRING);
    case DDK_PARAM_GENERATOR: return K(NONE);
    default: return 0;
  }
#undef K
}

static ddk_status check_arg(verifier* v, uint32_t n, uint32_t a,
                            const ddk_op_info* op) {
  const ddk_program* p = v->p;
  const ddk_arg* arg = &p->nodes[n].args[a];
  const ddk_op_param* param = &op->params[a];
  uint32_t allowed = kinds_for_param(param->type);
  if (param->optional) allowed |= 1u << DDK_ARG_NONE;
  if (arg->kind >= DDK_ARG_KIND_COUNT_)
    return FAIL("NODES[%u].args[%u]: kind %u is not a ddk_arg_kind", n, a,
                arg->kind);
  if (!(allowed & (1u << arg->kind))) {
    char shown[32];
    snprintf(shown, sizeof shown, "%s%s",
             param->type == DDK_PARAM_TENSOR_LIST && param->elem_optional
                 ? "Tensor?[]"
                 : param_type_name(param->type),
             param->optional ? "?" : "");
    return FAIL("NODES[%u].args[%u]: kind %s but schema param '%s' of %s "
                "expects %s %s", n, a, ddk_arg_kind_name(arg->kind),
                param->name, op->name,
                strchr("aeiouAEIOU", shown[0]) ? "an" : "a", shown);
  }
  bool is_list = arg->kind == DDK_ARG_TENSOR_LIST ||
                 arg->kind == DDK_ARG_INT_LIST ||
                 arg->kind == DDK_ARG_FLOAT_LIST ||
                 arg->kind == DDK_ARG_BOOL_LIST;
  if (!is_list && arg->count != 0)
    return FAIL("NODES[%u].args[%u]: count %u on a %s arg (must be 0)", n, a,
                arg->count, ddk_arg_kind_name(arg->kind));
  if (is_list && arg->count > DDK_PF_MAX_COUNT)
    return FAIL("NODES[%u].args[%u]: count %u exceeds the limit %u", n, a,
                arg->count, DDK_PF_MAX_COUNT);
  if (is_list && arg->count > 0 && arg->u.ints == NULL)
    return FAIL("NODES[%u].args[%u]: %u list entries but the pointer is NULL",
                n, a, arg->count);
  switch (arg->kind) {
    case DDK_ARG_TENSOR:
      if (arg->u.tensor >= p->num_values)
        return FAIL("NODES[%u].args[%u]: value %u out of range (%u values)", n,
                    a, arg->u.tensor, p->num_values);
      break;
    case DDK_ARG_TENSOR_LIST:
      for (uint32_t k = 0; k < arg->count; ++k) {
        uint32_t x = arg->u.tensors[k];
        if (x == DDK_NO_VALUE && param->elem_optional) continue;
        if (x >= p->num_values)
          return FAIL("NODES[%u].args[%u][%u]: value %u out of range (%u "
                      "values%s)", n, a, k, x, p->num_values,
                      param->elem_optional ? "" : "; None entries need Tensor?[]");
      }
      break;
    case DDK_ARG_BOOL_LIST:
      for (uint32_t k = 0; k < arg->count; ++k)
        if (arg->u.bools[k] > 1)
          return FAIL("NODES[%u].args[%u][%u]: bool %u is not 0 or 1", n, a, k,
                      arg->u.bools[k]);
      break;
    case DDK_ARG_STRING:
      if (arg->u.str == NULL)
        return FAIL("NODES[%u].args[%u]: NULL string", n, a);
      break;
    case DDK_ARG_DTYPE:
      if (arg->u.i < INT32_MIN || arg->u.i > INT32_MAX ||
          ddk_dtype_size((ddk_dtype)arg->u.i) == 0)
        return FAIL("NODES[%u].args[%u]: %lld is not a known dtype (param "
                    "'%s' of %s)", n, a, (long long)arg->u.i, param->name,
                    op->name);
      break;
    default:
      break;
  }
  return DDK_OK;
}

static ddk_status check_node(verifier* v, uint32_t n) {
  const ddk_program* p = v->p;
  const ddk_node_view* node = &p->nodes[n];
  const ddk_op_info* op = ddk_op_get(node->op_id);
  if (op == NULL)
    return FAIL("NODES[%u].op_id: %u is not in the op table (%u ops)", n,
                node->op_id, ddk_op_count());
  if (node->op_name != NULL && strcmp(node->op_name, op->name) != 0)
    return FAIL("NODES[%u].op_name: '%s', but op %u is %s", n, node->op_name,
                node->op_id, op->name);
  if (node->node_index != n)
    return FAIL("NODES[%u].node_index: %u (must be its index)", n,
                node->node_index);
  if (node->debug_name == NULL) return FAIL("NODES[%u].debug_name: NULL", n);
  if (node->num_args != op->num_params)
    return FAIL("NODES[%u] (%s): %u args, but the schema has %u params", n,
                op->name, node->num_args, (unsigned)op->num_params);
  if (node->num_args > 0 && node->args == NULL)
    return FAIL("NODES[%u].args: NULL", n);
  for (uint32_t a = 0; a < node->num_args; ++a) {
    ddk_status s = check_arg(v, n, a, op);
    if (s != DDK_OK) return s;
  }
  uint32_t lists = 0;
  for (uint32_t r = 0; r < op->num_returns; ++r)
    lists += op->returns[r].type == DDK_PARAM_TENSOR_LIST;
  uint32_t fixed = op->num_returns - lists;
  if (lists == 0 ? node->num_outputs != fixed : node->num_outputs < fixed)
    return FAIL("NODES[%u] (%s): %u outputs, but the schema returns %s%u", n,
                op->name, node->num_outputs, lists ? "at least " : "", fixed);
  if (node->num_outputs > DDK_PF_MAX_COUNT)
    return FAIL("NODES[%u]: %u outputs exceed the limit %u", n,
                node->num_outputs, DDK_PF_MAX_COUNT);
  if (node->num_outputs > 0 && node->outputs == NULL)
    return FAIL("NODES[%u].outputs: NULL", n);
  for (uint32_t k = 0; k < node->num_outputs; ++k) {
    uint32_t x = node->outputs[k];
    if (x >= p->num_values)
      return FAIL("NODES[%u].outputs[%u]: value %u out of range (%u values)", n,
                  k, x, p->num_values);
    uint32_t flags = p->values[x].flags;
    if (flags & (DDK_VALUE_INPUT | DDK_VALUE_CONSTANT))
      return FAIL("NODES[%u].outputs[%u]: value %u ('%s') is already defined "
                  "as a program %s", n, k, x, value_name(v, x),
                  (flags & DDK_VALUE_INPUT) ? "input" : "constant");
    if (v->definer[x] != NONE32)
      return FAIL("NODES[%u].outputs[%u]: value %u ('%s') is already defined "
                  "by NODES[%u]", n, k, x, value_name(v, x), v->definer[x]);
    v->definer[x] = n;
  }
  return DDK_OK;
}

/* ------------------------------------------------------------------------ */
/* 5. Delegates                                                             */
/* ------------------------------------------------------------------------ */

static ddk_status check_index_list(verifier* v, uint32_t d, const char* what,
                                   const uint32_t* list, uint32_t count,
                                   uint32_t limit, const char* of) {
  if (count > DDK_PF_MAX_COUNT)
    return FAIL("DELEGATES[%u].%s: %u entries exceed the limit %u", d, what,
                count, DDK_PF_MAX_COUNT);
  if (count > 0 && list == NULL)
    return FAIL("DELEGATES[%u].%s: NULL", d, what);
  for (uint32_t k = 0; k < count; ++k)
    if (list[k] >= limit)
      return FAIL("DELEGATES[%u].%s[%u]: %u out of range (%u %s)", d, what, k,
                  list[k], limit, of);
  return DDK_OK;
}

static ddk_status check_delegate(verifier* v, uint32_t d) {
  const ddk_program* p = v->p;
  const ddk_program_delegate* del = &p->delegates[d];
  const char* id = del->backend_id;
  if (id == NULL || id[0] == '\0')
    return FAIL("DELEGATES[%u].backend_id: missing", d);
  for (const char* c = id; *c; ++c)
    if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_'))
      return FAIL("DELEGATES[%u].backend_id: '%s' is not [a-z0-9_]+", d, id);
  if (del->compat == NULL) return FAIL("DELEGATES[%u].compat: NULL", d);
  if (del->blob_size > 0 && del->blob == NULL)
    return FAIL("DELEGATES[%u].blob: NULL with blob_size %llu", d,
                (unsigned long long)del->blob_size);
  if (del->num_nodes == 0) return FAIL("DELEGATES[%u]: covers no nodes", d);
  ddk_status s;
  if ((s = check_index_list(v, d, "nodes", del->nodes, del->num_nodes,
                            p->num_nodes, "nodes")) != DDK_OK ||
      (s = check_index_list(v, d, "inputs", del->inputs, del->num_inputs,
                            p->num_values, "values")) != DDK_OK ||
      (s = check_index_list(v, d, "outputs", del->outputs, del->num_outputs,
                            p->num_values, "values")) != DDK_OK)
    return s;
  return DDK_OK;
}

/* ------------------------------------------------------------------------ */
/* 6. Plan coverage                                                         */
/* ------------------------------------------------------------------------ */

static ddk_status describe_owner(verifier* v, const char* where, uint32_t node,
                                 uint32_t owner) {
  if (owner & OWNER_DELEGATE)
    return FAIL("%s: NODES[%u] is already covered by DELEGATES[%u]", where,
                node, owner & ~OWNER_DELEGATE);
  return FAIL("%s: NODES[%u] is already covered by PLAN[%u]", where, node,
              owner);
}

static ddk_status check_plan(verifier* v) {
  const ddk_program* p = v->p;
  char where[64];
  for (uint32_t k = 0; k < p->num_instructions; ++k) {
    const ddk_instruction* in = &p->instructions[k];
    snprintf(where, sizeof where, "PLAN[%u]", k);
    if (in->kind == DDK_INSTR_KERNEL) {
      if (in->index >= p->num_nodes)
        return FAIL("PLAN[%u]: node %u out of range (%u nodes)", k, in->index,
                    p->num_nodes);
      if (v->owner[in->index] != NONE32)
        return describe_owner(v, where, in->index, v->owner[in->index]);
      v->owner[in->index] = k;
    } else if (in->kind == DDK_INSTR_DELEGATE) {
      if (in->index >= p->num_delegates)
        return FAIL("PLAN[%u]: delegate %u out of range (%u delegates)", k,
                    in->index, p->num_delegates);
      uint32_t d = in->index;
      if (v->delegate_plan[d] != NONE32)
        return FAIL("PLAN[%u]: DELEGATES[%u] is already run by PLAN[%u]", k, d,
                    v->delegate_plan[d]);
      v->delegate_plan[d] = k;
      const ddk_program_delegate* del = &p->delegates[d];
      for (uint32_t j = 0; j < del->num_nodes; ++j) {
        uint32_t n = del->nodes[j];
        snprintf(where, sizeof where, "DELEGATES[%u].nodes[%u]", d, j);
        if (v->owner[n] != NONE32)
          return describe_owner(v, where, n, v->owner[n]);
        v->owner[n] = OWNER_DELEGATE | d;
      }
    } else {
      return FAIL("PLAN[%u].kind: %u is neither KERNEL (0) nor DELEGATE (1)",
                  k, in->kind);
    }
  }
  for (uint32_t n = 0; n < p->num_nodes; ++n)
    if (v->owner[n] == NONE32)
      return FAIL("NODES[%u] (%s): not covered by the plan", n,
                  ddk_op_get(p->nodes[n].op_id)->name);
  for (uint32_t d = 0; d < p->num_delegates; ++d)
    if (v->delegate_plan[d] == NONE32)
      return FAIL("DELEGATES[%u]: not run by the plan", d);
  return DDK_OK;
}

/* ------------------------------------------------------------------------ */
/* 7. Topological order                                                     */
/* ------------------------------------------------------------------------ */

/* Why value x is not available to `where` (which reads it). */
static ddk_status unavailable(verifier* v, const char* where, uint32_t x) {
  uint32_t def = v->definer[x];
  if (def == NONE32)
    return FAIL("%s: value %u ('%s') is never produced (not an input, a "
                "constant or any node's output)", where, x, value_name(v, x));
  uint32_t owner = v->owner[def];
  /* Stamps are set only while walking a delegate: the delegate has run. */
  if ((owner & OWNER_DELEGATE) && v->stamp[x] == 2 + (owner & ~OWNER_DELEGATE))
    return FAIL("%s: value %u ('%s') is internal to DELEGATES[%u] (not one "
                "of its outputs)", where, x, value_name(v, x),
                owner & ~OWNER_DELEGATE);
  return FAIL("%s: value %u ('%s') is read before NODES[%u] produces it "
              "(plan order or cycle)", where, x, value_name(v, x), def);
}

/* Calls visit(v, ctx, arg index, entry index, value) on every tensor a node
 * reads; stops at the first non-OK status. */
typedef ddk_status (*read_fn)(verifier* v, uint32_t n, uint32_t a, uint32_t k,
                              uint32_t x, uint32_t tag);
static ddk_status for_each_read(verifier* v, uint32_t n, read_fn visit,
                                uint32_t tag) {
  const ddk_node_view* node = &v->p->nodes[n];
  for (uint32_t a = 0; a < node->num_args; ++a) {
    const ddk_arg* arg = &node->args[a];
    ddk_status s = DDK_OK;
    if (arg->kind == DDK_ARG_TENSOR) {
      s = visit(v, n, a, NONE32, arg->u.tensor, tag);
    } else if (arg->kind == DDK_ARG_TENSOR_LIST) {
      for (uint32_t k = 0; k < arg->count && s == DDK_OK; ++k)
        if (arg->u.tensors[k] != DDK_NO_VALUE)
          s = visit(v, n, a, k, arg->u.tensors[k], tag);
    }
    if (s != DDK_OK) return s;
  }
  return DDK_OK;
}

static void arg_where(char* buf, size_t cap, uint32_t n, uint32_t a,
                      uint32_t k) {
  if (k == NONE32)
    snprintf(buf, cap, "NODES[%u].args[%u]", n, a);
  else
    snprintf(buf, cap, "NODES[%u].args[%u][%u]", n, a, k);
}

static ddk_status read_in_kernel(verifier* v, uint32_t n, uint32_t a,
                                 uint32_t k, uint32_t x, uint32_t tag) {
  (void)tag;
  if (v->avail[x]) return DDK_OK;
  char where[64];
  arg_where(where, sizeof where, n, a, k);
  return unavailable(v, where, x);
}

/* Inside delegate d (tag = 2 + d): a read must be a constant, a delegate
 * input or the output of an earlier node of the same delegate. */
static ddk_status read_in_delegate(verifier* v, uint32_t n, uint32_t a,
                                   uint32_t k, uint32_t x, uint32_t tag) {
  if ((v->p->values[x].flags & DDK_VALUE_CONSTANT) || v->stamp[x] == tag)
    return DDK_OK;
  char where[64];
  arg_where(where, sizeof where, n, a, k);
  return FAIL("DELEGATES[%u]: %s reads value %u ('%s'), which is neither a "
              "constant, an input of the delegate nor produced by an earlier "
              "node of it", tag - 2, where, x, value_name(v, x));
}

static ddk_status walk_delegate(verifier* v, uint32_t k, uint32_t d) {
  const ddk_program* p = v->p;
  const ddk_program_delegate* del = &p->delegates[d];
  const uint32_t tag = 2 + d;
  char where[64];
  for (uint32_t j = 0; j < del->num_inputs; ++j) {
    uint32_t x = del->inputs[j];
    snprintf(where, sizeof where, "DELEGATES[%u].inputs[%u] (PLAN[%u])", d, j,
             k);
    if (!v->avail[x]) return unavailable(v, where, x);
    if (v->stamp[x] == tag)
      return FAIL("%s: value %u ('%s') is listed twice", where, x,
                  value_name(v, x));
    v->stamp[x] = tag;
  }
  for (uint32_t j = 0; j < del->num_nodes; ++j) {
    uint32_t n = del->nodes[j];
    ddk_status s = for_each_read(v, n, read_in_delegate, tag);
    if (s != DDK_OK) return s;
    for (uint32_t o = 0; o < p->nodes[n].num_outputs; ++o)
      v->stamp[p->nodes[n].outputs[o]] = tag;
  }
  for (uint32_t j = 0; j < del->num_outputs; ++j) {
    uint32_t x = del->outputs[j];
    uint32_t def = v->definer[x];
    if (def == NONE32 || v->owner[def] != (OWNER_DELEGATE | d))
      return FAIL("DELEGATES[%u].outputs[%u]: value %u ('%s') is not produced "
                  "by a node of the delegate", d, j, x, value_name(v, x));
    if (v->avail[x])
      return FAIL("DELEGATES[%u].outputs[%u]: value %u ('%s') is listed twice",
                  d, j, x, value_name(v, x));
    v->avail[x] = 1;
  }
  return DDK_OK;
}

static ddk_status check_order(verifier* v) {
  const ddk_program* p = v->p;
  for (uint32_t x = 0; x < p->num_values; ++x) {
    v->avail[x] = (p->values[x].flags &
                   (DDK_VALUE_INPUT | DDK_VALUE_CONSTANT)) != 0;
    v->stamp[x] = 0;
  }
  for (uint32_t k = 0; k < p->num_instructions; ++k) {
    const ddk_instruction* in = &p->instructions[k];
    ddk_status s;
    if (in->kind == DDK_INSTR_KERNEL) {
      const ddk_node_view* node = &p->nodes[in->index];
      s = for_each_read(v, in->index, read_in_kernel, 0);
      for (uint32_t o = 0; s == DDK_OK && o < node->num_outputs; ++o)
        v->avail[node->outputs[o]] = 1;
    } else {
      s = walk_delegate(v, k, in->index);
    }
    if (s != DDK_OK) return s;
  }
  for (uint32_t k = 0; k < p->num_outputs; ++k) {
    if (!v->avail[p->outputs[k]]) {
      char where[32];
      snprintf(where, sizeof where, "IO.outputs[%u]", k);
      return unavailable(v, where, p->outputs[k]);
    }
  }
  return DDK_OK;
}

/* ------------------------------------------------------------------------ */
/* 8. Shapes against inference                                              */
/* ------------------------------------------------------------------------ */

static ddk_status check_node_shapes(verifier* v, uint32_t n) {
  const ddk_program* p = v->p;
  const ddk_node_view* node = &p->nodes[n];
  const char* op_name = ddk_op_get(node->op_id)->name;
  ddk_node_view view = *node;
  view.op_name = op_name;
  char msg[256] = "";
  ddk_status s = ddk_infer_node(&view, v->scratch, msg, sizeof msg);
  if (s == DDK_UNSUPPORTED_OP) return DDK_OK;
  if (s != DDK_OK)
    return FAIL("NODES[%u] (%s): shape inference rejects the node: %s", n,
                op_name, msg[0] ? msg : "(no message)");
  for (uint32_t o = 0; o < node->num_outputs; ++o) {
    uint32_t x = node->outputs[o];
    const ddk_value_desc* d = &p->values[x];
    ddk_tensor* got = &v->scratch[x];
    bool ok = got->dtype == d->tensor.dtype && got->rank == d->tensor.rank;
    for (uint32_t i = 0; ok && i < got->rank; ++i) {
      bool dynamic = (d->dynamic_mask >> i) & 1u;
      ok = dynamic ? got->sizes[i] <= d->tensor.sizes[i]
                   : got->sizes[i] == d->tensor.sizes[i];
    }
    if (!ok) {
      char want[160], have[160];
      return FAIL("NODES[%u] (%s).outputs[%u]: value %u ('%s') is declared "
                  "%s%s but shape inference gives %s", n, op_name, o, x,
                  value_name(v, x),
                  format_shape(want, sizeof want, d->tensor.dtype,
                               d->tensor.rank, d->tensor.sizes),
                  d->dynamic_mask ? " (bounds)" : "",
                  format_shape(have, sizeof have, got->dtype,
                               got->rank <= DDK_MAX_RANK ? got->rank : 0,
                               got->sizes));
    }
    /* Downstream nodes see the declared description (bounds included). */
    *got = d->tensor;
  }
  return DDK_OK;
}

static ddk_status check_shapes(verifier* v) {
  const ddk_program* p = v->p;
  for (uint32_t x = 0; x < p->num_values; ++x) v->scratch[x] = p->values[x].tensor;
  for (uint32_t k = 0; k < p->num_instructions; ++k) {
    const ddk_instruction* in = &p->instructions[k];
    if (in->kind != DDK_INSTR_KERNEL) continue;
    ddk_status s = check_node_shapes(v, in->index);
    if (s != DDK_OK) return s;
  }
  return DDK_OK;
}

/* ------------------------------------------------------------------------ */
/* Entry point                                                              */
/* ------------------------------------------------------------------------ */

static ddk_status verify(const ddk_program* program,
                         const ddk_allocator* allocator, bool exact_constants,
                         char* err, size_t err_cap) {
  if (err != NULL && err_cap > 0) err[0] = '\0';
  if (program == NULL) {
    ddk_set_error(err, err_cap, "ddk_program_verify: program is NULL");
    return DDK_INVALID_ARGUMENT;
  }
  if (allocator == NULL) allocator = ddk_allocator_system();
  verifier vs = {.p = program, .err = err, .err_cap = err_cap,
                 .exact_constants = exact_constants};
  verifier* v = &vs;
  ddk_status s = check_arrays(v);
  if (s != DDK_OK) return s;

  /* One scratch block, sized from the (limited) counts. */
  const uint64_t nv = program->num_values, nn = program->num_nodes,
                 nd = program->num_delegates;
  const uint64_t tensors_at = 0;
  const uint64_t definer_at = tensors_at + nv * sizeof(ddk_tensor);
  const uint64_t stamp_at = definer_at + nv * 4;
  const uint64_t owner_at = stamp_at + nv * 4;
  const uint64_t dplan_at = owner_at + nn * 4;
  const uint64_t avail_at = dplan_at + nd * 4;
  const uint64_t total = avail_at + nv + 1;
  if (total > SIZE_MAX) {
    ddk_set_error(err, err_cap, "ddk_program_verify: program too large");
    return DDK_OUT_OF_MEMORY;
  }
  uint8_t* block = allocator->alloc(allocator->self, (size_t)total, 16);
  if (block == NULL) {
    ddk_set_error(err, err_cap, "ddk_program_verify: out of memory");
    return DDK_OUT_OF_MEMORY;
  }
  v->scratch = (ddk_tensor*)(void*)(block + tensors_at);
  v->definer = (uint32_t*)(void*)(block + definer_at);
  v->stamp = (uint32_t*)(void*)(block + stamp_at);
  v->owner = (uint32_t*)(void*)(block + owner_at);
  v->delegate_plan = (uint32_t*)(void*)(block + dplan_at);
  v->avail = block + avail_at;
  memset(v->definer, 0xFF, (size_t)(nv * 4));
  memset(v->stamp, 0, (size_t)(nv * 4));
  memset(v->owner, 0xFF, (size_t)(nn * 4));
  memset(v->delegate_plan, 0xFF, (size_t)(nd * 4));

  for (uint32_t i = 0; s == DDK_OK && i < program->num_values; ++i)
    s = check_value(v, i);
  if (s == DDK_OK) s = check_io(v);
  for (uint32_t n = 0; s == DDK_OK && n < program->num_nodes; ++n)
    s = check_node(v, n);
  for (uint32_t d = 0; s == DDK_OK && d < program->num_delegates; ++d)
    s = check_delegate(v, d);
  if (s == DDK_OK) s = check_plan(v);
  if (s == DDK_OK) s = check_order(v);
  if (s == DDK_OK) s = check_shapes(v);

  allocator->free(allocator->self, block, (size_t)total);
  return s;
}

ddk_status ddk_program_verify(const ddk_program* program,
                              const ddk_allocator* allocator, char* err,
                              size_t err_cap) {
  return verify(program, allocator, false, err, err_cap);
}

ddk_status ddk_program_verify_decoded(const ddk_program* program,
                                      const ddk_allocator* allocator,
                                      char* err, size_t err_cap) {
  return verify(program, allocator, true, err, err_cap);
}
