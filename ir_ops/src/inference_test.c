/*
 * inference_test.c — dtype promotion, broadcasting and per-op shape
 * inference against ATen. The promotion table and the conv/pool shapes
 * below were produced by PyTorch (torch.promote_types, aten::convolution,
 * aten::max_pool2d_with_indices, aten::avg_pool2d on CPU). Prints
 * "N passed, M failed" last; exit status 1 on any failure.
 */
#include <stdio.h>
#include <string.h>

#include "ddk/ops.h"
#include "ddk_test.h"


#define D(x) DDK_DTYPE_##x

/* The dtypes of DDK_FOR_EACH_DTYPE, in order (the table's row/column order). */
static const ddk_dtype kDtypes[12] = {D(UINT8),     D(INT8),       D(INT16),   D(INT32),
                                      D(INT64),     D(FLOAT16),    D(FLOAT32), D(FLOAT64),
                                      D(COMPLEX64), D(COMPLEX128), D(BOOL),    D(BFLOAT16)};

/* torch.promote_types(kDtypes[i], kDtypes[j]) */
static const ddk_dtype kAtenPromote[12][12] = {
    {D(UINT8), D(INT16), D(INT16), D(INT32), D(INT64), D(FLOAT16), D(FLOAT32), D(FLOAT64),
     D(COMPLEX64), D(COMPLEX128), D(UINT8), D(BFLOAT16)},
    {D(INT16), D(INT8), D(INT16), D(INT32), D(INT64), D(FLOAT16), D(FLOAT32), D(FLOAT64),
     D(COMPLEX64), D(COMPLEX128), D(INT8), D(BFLOAT16)},
    {D(INT16), D(INT16), D(INT16), D(INT32), D(INT64), D(FLOAT16), D(FLOAT32), D(FLOAT64),
     D(COMPLEX64), D(COMPLEX128), D(INT16), D(BFLOAT16)},
    {D(INT32), D(INT32), D(INT32), D(INT32), D(INT64), D(FLOAT16), D(FLOAT32), D(FLOAT64),
     D(COMPLEX64), D(COMPLEX128), D(INT32), D(BFLOAT16)},
    {D(INT64), D(INT64), D(INT64), D(INT64), D(INT64), D(FLOAT16), D(FLOAT32), D(FLOAT64),
     D(COMPLEX64), D(COMPLEX128), D(INT64), D(BFLOAT16)},
    {D(FLOAT16), D(FLOAT16), D(FLOAT16), D(FLOAT16), D(FLOAT16), D(FLOAT16), D(FLOAT32), D(FLOAT64),
     D(COMPLEX64), D(COMPLEX128), D(FLOAT16), D(FLOAT32)},
    {D(FLOAT32), D(FLOAT32), D(FLOAT32), D(FLOAT32), D(FLOAT32), D(FLOAT32), D(FLOAT32), D(FLOAT64),
     D(COMPLEX64), D(COMPLEX128), D(FLOAT32), D(FLOAT32)},
    {D(FLOAT64), D(FLOAT64), D(FLOAT64), D(FLOAT64), D(FLOAT64), D(FLOAT64), D(FLOAT64), D(FLOAT64),
     D(COMPLEX128), D(COMPLEX128), D(FLOAT64), D(FLOAT64)},
    {D(COMPLEX64), D(COMPLEX64), D(COMPLEX64), D(COMPLEX64), D(COMPLEX64), D(COMPLEX64),
     D(COMPLEX64), D(COMPLEX128), D(COMPLEX64), D(COMPLEX128), D(COMPLEX64), D(COMPLEX64)},
    {D(COMPLEX128), D(COMPLEX128), D(COMPLEX128), D(COMPLEX128), D(COMPLEX128), D(COMPLEX128),
     D(COMPLEX128), D(COMPLEX128), D(COMPLEX128), D(COMPLEX128), D(COMPLEX128), D(COMPLEX128)},
    {D(UINT8), D(INT8), D(INT16), D(INT32), D(INT64), D(FLOAT16), D(FLOAT32), D(FLOAT64),
     D(COMPLEX64), D(COMPLEX128), D(BOOL), D(BFLOAT16)},
    {D(BFLOAT16), D(BFLOAT16), D(BFLOAT16), D(BFLOAT16), D(BFLOAT16), D(FLOAT32), D(FLOAT32),
     D(FLOAT64), D(COMPLEX64), D(COMPLEX128), D(BFLOAT16), D(BFLOAT16)},
};

static void test_promotion(void) {
  for (int i = 0; i < 12; ++i)
    for (int j = 0; j < 12; ++j) {
      ddk_dtype got = ddk_promote_types(kDtypes[i], kDtypes[j]);
      CHECK(got == kAtenPromote[i][j], "promote(%s, %s) = %s, ATen %s", ddk_dtype_name(kDtypes[i]),
            ddk_dtype_name(kDtypes[j]), ddk_dtype_name(got), ddk_dtype_name(kAtenPromote[i][j]));
    }
  /* the spot checks everyone remembers */
  CHECK(ddk_promote_types(D(INT8), D(UINT8)) == D(INT16), "int8+uint8");
  CHECK(ddk_promote_types(D(BOOL), D(BOOL)) == D(BOOL), "bool+bool");
  CHECK(ddk_promote_types(D(INT64), D(FLOAT16)) == D(FLOAT16), "int64+float16");
  CHECK(ddk_promote_types(D(BFLOAT16), D(FLOAT16)) == D(FLOAT32), "bfloat16+float16");
  CHECK(ddk_promote_types(D(FLOAT64), D(COMPLEX64)) == D(COMPLEX128), "float64+complex64");
  CHECK(ddk_promote_types(D(INT32), (ddk_dtype)8) == DDK_DTYPE_INVALID, "unknown dtype");

  CHECK(ddk_dtype_category(D(BOOL)) == 0 && ddk_dtype_category(D(UINT8)) == 1 &&
            ddk_dtype_category(D(BFLOAT16)) == 2 && ddk_dtype_category(D(COMPLEX128)) == 3 &&
            ddk_dtype_category(-1) == -1,
        "categories");
  /* wrapped Python numbers only raise the category */
  CHECK(ddk_promote_with_scalar(D(INT8), DDK_ARG_FLOAT) == D(FLOAT32), "int8 + 1.5");
  CHECK(ddk_promote_with_scalar(D(INT8), DDK_ARG_INT) == D(INT8), "int8 + 1");
  CHECK(ddk_promote_with_scalar(D(BOOL), DDK_ARG_INT) == D(INT64), "bool + 1");
  CHECK(ddk_promote_with_scalar(D(BOOL), DDK_ARG_BOOL) == D(BOOL), "bool + True");
  CHECK(ddk_promote_with_scalar(D(FLOAT16), DDK_ARG_FLOAT) == D(FLOAT16), "half + 1.5");
  CHECK(ddk_promote_with_scalar(D(UINT8), DDK_ARG_BOOL) == D(UINT8), "uint8 + True");
  CHECK(ddk_promote_with_scalar(D(COMPLEX64), DDK_ARG_FLOAT) == D(COMPLEX64), "c64 + 1.5");
}

static void test_broadcast(void) {
  int64_t out[DDK_MAX_RANK];
  uint32_t r = 0;
  char err[256] = "";
  ddk_status st = ddk_broadcast_shapes((const int64_t[]){2, 1, 3}, 3, (const int64_t[]){4, 1}, 2,
                                       out, &r, err, sizeof err);
  CHECK(st == DDK_OK && r == 3 && out[0] == 2 && out[1] == 4 && out[2] == 3, "[2,1,3] x [4,1]");
  st = ddk_broadcast_shapes((const int64_t[]){1}, 1, (const int64_t[]){0}, 1, out, &r, err,
                            sizeof err);
  CHECK(st == DDK_OK && r == 1 && out[0] == 0, "[1] x [0] = [0]");
  st = ddk_broadcast_shapes(NULL, 0, (const int64_t[]){5, 2}, 2, out, &r, err, sizeof err);
  CHECK(st == DDK_OK && r == 2 && out[0] == 5 && out[1] == 2, "[] x [5,2]");
  st = ddk_broadcast_shapes((const int64_t[]){2, 3}, 2, (const int64_t[]){3, 2}, 2, out, &r, err,
                            sizeof err);
  CHECK(st == DDK_SHAPE_MISMATCH && strstr(err, "[2, 3]") && strstr(err, "[3, 2]"),
        "mismatch names both shapes: %s", err);
  st = ddk_broadcast_shapes((const int64_t[]){2}, 1, (const int64_t[]){0}, 1, out, &r, err,
                            sizeof err);
  CHECK(st == DDK_SHAPE_MISMATCH, "[2] x [0] does not broadcast");
  st = ddk_broadcast_shapes((const int64_t[]){2}, 1, (const int64_t[]){3}, 1, out, &r, NULL, 0);
  CHECK(st == DDK_SHAPE_MISMATCH, "no error buffer is fine");

  ddk_tensor t;
  memset(&t, 0xAB, sizeof t);
  t.rank = 3;
  t.sizes[0] = 2;
  t.sizes[1] = 0;
  t.sizes[2] = 3;
  ddk_tensor_set_contiguous(&t);
  CHECK(t.strides[0] == 3 && t.strides[1] == 3 && t.strides[2] == 1 && t.dim_order[0] == 0 &&
            t.dim_order[2] == 2,
        "contiguous strides of [2,0,3] are ATen's [3,3,1]");
}

/* ------------------------------------------------------------------------ */
/* Node inference                                                           */
/* ------------------------------------------------------------------------ */

typedef struct graph {
  ddk_tensor v[8];
  char err[256];
} graph;

static void tensor(graph* g, uint32_t i, ddk_dtype dt, uint32_t rank, const int64_t* sizes) {
  memset(&g->v[i], 0, sizeof g->v[i]);
  g->v[i].dtype = dt;
  g->v[i].rank = rank;
  for (uint32_t d = 0; d < rank; ++d) g->v[i].sizes[d] = sizes[d];
  ddk_tensor_set_contiguous(&g->v[i]);
}

static ddk_status infer(graph* g, uint32_t op, const char* name, const ddk_arg* args, uint32_t n,
                        uint32_t num_outputs) {
  static const uint32_t outs[2] = {6, 7};
  ddk_node_view node;
  memset(&node, 0, sizeof node);
  node.op_id = op;
  node.op_name = name;
  node.num_args = n;
  node.args = args;
  node.num_outputs = num_outputs;
  node.outputs = outs;
  g->v[6].data = (void*)g; /* inference must not touch data/capacity */
  g->v[6].capacity = 12345;
  ddk_status st = ddk_infer_node(&node, g->v, g->err, sizeof g->err);
  CHECK(g->v[6].data == (void*)g && g->v[6].capacity == 12345, "data/capacity untouched");
  return st;
}

static bool shape_is(const ddk_tensor* t, ddk_dtype dt, uint32_t rank, const int64_t* sizes) {
  if (t->dtype != dt || t->rank != rank) return false;
  int64_t stride = 1;
  for (int d = (int)rank - 1; d >= 0; --d) {
    if (t->sizes[d] != sizes[d] || t->strides[d] != stride) return false;
    stride *= sizes[d] > 1 ? sizes[d] : 1;
  }
  return true;
}

#define SZ(...) ((const int64_t[]){__VA_ARGS__})
#define NSZ(...) (uint32_t)(sizeof(SZ(__VA_ARGS__)) / sizeof(int64_t)), SZ(__VA_ARGS__)
#define ARG_T(i) ((ddk_arg){.kind = DDK_ARG_TENSOR, .u.tensor = (i)})
#define ARG_I(x) ((ddk_arg){.kind = DDK_ARG_INT, .u.i = (x)})
#define ARG_F(x) ((ddk_arg){.kind = DDK_ARG_FLOAT, .u.f = (x)})
#define ARG_B(x) ((ddk_arg){.kind = DDK_ARG_BOOL, .u.b = (x)})
#define ARG_NONE ((ddk_arg){.kind = DDK_ARG_NONE})
#define ARG_DT(x) ((ddk_arg){.kind = DDK_ARG_DTYPE, .u.i = (x)})
#define ARG_LP(p, n) ((ddk_arg){.kind = DDK_ARG_INT_LIST, .count = (n), .u.ints = (p)})
#define ARG_L(...) ARG_LP(SZ(__VA_ARGS__), (uint32_t)(sizeof(SZ(__VA_ARGS__)) / sizeof(int64_t)))
#define ARGS(...)                 \
  (const ddk_arg[]){__VA_ARGS__}, \
      (uint32_t)(sizeof((const ddk_arg[]){__VA_ARGS__}) / sizeof(ddk_arg))
#define OP(x) DDK_OP_ATEN_##x, "aten::" #x

static void test_elementwise(void) {
  graph g;
  /* result_type with 0-d tensors: they only raise the category */
  const struct {
    ddk_dtype a;
    uint32_t ar;
    ddk_dtype b;
    uint32_t br;
    ddk_dtype want;
  } rt[] = {
      {D(INT8), 1, D(INT64), 0, D(INT8)},
      {D(INT8), 1, D(FLOAT64), 0, D(FLOAT64)},
      {D(FLOAT16), 1, D(FLOAT64), 0, D(FLOAT16)},
      {D(BOOL), 1, D(UINT8), 0, D(UINT8)},
      {D(INT32), 0, D(INT64), 0, D(INT64)},
      {D(INT8), 1, D(UINT8), 1, D(INT16)},
      {D(FLOAT32), 1, D(COMPLEX128), 0, D(COMPLEX64)},
      {D(FLOAT64), 1, D(COMPLEX64), 0, D(COMPLEX128)},
      {D(INT32), 0, D(FLOAT16), 1, D(FLOAT16)},
  };
  for (size_t i = 0; i < sizeof rt / sizeof rt[0]; ++i) {
    tensor(&g, 0, rt[i].a, rt[i].ar, SZ(3));
    tensor(&g, 1, rt[i].b, rt[i].br, SZ(3));
    ddk_status st = infer(&g, OP(ADD_TENSOR), ARGS(ARG_T(0), ARG_T(1), ARG_I(1)), 1);
    CHECK(st == DDK_OK && g.v[6].dtype == rt[i].want, "case %zu: %s + %s -> %s, want %s (%s)", i,
          ddk_dtype_name(rt[i].a), ddk_dtype_name(rt[i].b), ddk_dtype_name(g.v[6].dtype),
          ddk_dtype_name(rt[i].want), g.err);
  }
  tensor(&g, 0, D(INT32), NSZ(2, 1, 3));
  tensor(&g, 1, D(UINT8), NSZ(4, 1));
  CHECK(infer(&g, OP(DIV_TENSOR), ARGS(ARG_T(0), ARG_T(1)), 1) == DDK_OK &&
            shape_is(&g.v[6], D(FLOAT32), NSZ(2, 4, 3)),
        "div broadcasts and promotes ints to float32");
  CHECK(infer(&g, OP(MUL_TENSOR), ARGS(ARG_T(0), ARG_T(1)), 1) == DDK_OK &&
            shape_is(&g.v[6], D(INT32), NSZ(2, 4, 3)),
        "mul keeps int32");
  CHECK(
      infer(&g, OP(ADD_TENSOR), ARGS(ARG_T(0), ARG_T(1), ARG_F(0.5)), 1) == DDK_INVALID_ARGUMENT &&
          strstr(g.err, "aten::ADD_TENSOR") && strstr(g.err, "alpha"),
      "float alpha on ints is refused, naming op and argument: %s", g.err);
  tensor(&g, 1, D(INT32), NSZ(4, 2));
  CHECK(infer(&g, OP(ADD_TENSOR), ARGS(ARG_T(0), ARG_T(1), ARG_I(1)), 1) == DDK_SHAPE_MISMATCH &&
            strstr(g.err, "self and other"),
        "broadcast error: %s", g.err);
  tensor(&g, 1, D(BOOL), NSZ(1));
  CHECK(infer(&g, OP(SUB_TENSOR), ARGS(ARG_T(0), ARG_T(1), ARG_I(1)), 1) == DDK_INVALID_ARGUMENT,
        "sub with bool");
  CHECK(infer(&g, OP(ADD_TENSOR), ARGS(ARG_T(0), ARG_T(1)), 1) == DDK_INVALID_ARGUMENT,
        "missing alpha");
  tensor(&g, 0, D(INT64), NSZ(2, 2));
  CHECK(infer(&g, OP(SIGMOID), ARGS(ARG_T(0)), 1) == DDK_OK &&
            shape_is(&g.v[6], D(FLOAT32), NSZ(2, 2)),
        "sigmoid of int64 is float32");
  CHECK(infer(&g, OP(RELU), ARGS(ARG_T(0)), 1) == DDK_OK && shape_is(&g.v[6], D(INT64), NSZ(2, 2)),
        "relu keeps int64");
  CHECK(infer(&g, OP(HARDTANH), ARGS(ARG_T(0), ARG_I(-1), ARG_T(0)), 1) == DDK_INVALID_ARGUMENT &&
            strstr(g.err, "max_val"),
        "hardtanh max_val must be a Scalar: %s", g.err);
  CHECK(infer(&g, 9999, "aten::nope", ARGS(ARG_T(0)), 1) == DDK_UNSUPPORTED_OP, "unknown op");
}

static void test_matmul(void) {
  graph g;
  tensor(&g, 0, D(FLOAT32), NSZ(3, 4));
  tensor(&g, 1, D(FLOAT32), NSZ(4, 5));
  tensor(&g, 2, D(FLOAT32), NSZ(5));
  CHECK(infer(&g, OP(MM), ARGS(ARG_T(0), ARG_T(1)), 1) == DDK_OK &&
            shape_is(&g.v[6], D(FLOAT32), NSZ(3, 5)),
        "mm [3,4]x[4,5]");
  CHECK(infer(&g, OP(ADDMM), ARGS(ARG_T(2), ARG_T(0), ARG_T(1), ARG_I(1), ARG_I(1)), 1) == DDK_OK &&
            shape_is(&g.v[6], D(FLOAT32), NSZ(3, 5)),
        "addmm with broadcast bias");
  CHECK(
      infer(&g, OP(MM), ARGS(ARG_T(1), ARG_T(0)), 1) == DDK_SHAPE_MISMATCH && strstr(g.err, "mat2"),
      "inner dims: %s", g.err);
  CHECK(infer(&g, OP(ADDMM), ARGS(ARG_T(0), ARG_T(0), ARG_T(1), ARG_I(1), ARG_I(1)), 1) ==
            DDK_SHAPE_MISMATCH,
        "addmm self [3,4] does not broadcast to [3,5]");
  tensor(&g, 3, D(FLOAT64), NSZ(4, 5));
  CHECK(infer(&g, OP(MM), ARGS(ARG_T(0), ARG_T(3)), 1) == DDK_DTYPE_MISMATCH, "mm mixed dtypes");
  tensor(&g, 0, D(INT8), NSZ(2, 3, 4));
  tensor(&g, 1, D(INT8), NSZ(2, 4, 6));
  CHECK(infer(&g, OP(BMM), ARGS(ARG_T(0), ARG_T(1)), 1) == DDK_OK &&
            shape_is(&g.v[6], D(INT8), NSZ(2, 3, 6)),
        "bmm");
  tensor(&g, 1, D(INT8), NSZ(3, 4, 6));
  CHECK(infer(&g, OP(BMM), ARGS(ARG_T(0), ARG_T(1)), 1) == DDK_SHAPE_MISMATCH, "bmm batch");
}

typedef struct conv_case {
  uint32_t rank;
  int64_t in[5], w[5], stride[3], pad[3], dil[3];
  bool transposed;
  int64_t opad[3];
  int64_t groups;
  int64_t out[5];
} conv_case;

typedef struct pool_case {
  uint32_t rank;
  int64_t in[4];
  uint32_t nk;
  int64_t k[2];
  uint32_t ns;
  int64_t s[2];
  uint32_t np;
  int64_t p[2];
  uint32_t nd;
  int64_t d[2];
  bool ceil_mode, is_max;
  int64_t out[4];
} pool_case;

static const conv_case kConvCases[] = {
    {4,
     {1, 3, 10, 12, 0},
     {8, 3, 3, 3, 0},
     {1, 1, 0},
     {0, 0, 0},
     {1, 1, 0},
     false,
     {0, 0, 0},
     1,
     {1, 8, 8, 10, 0}},
    {4,
     {2, 4, 9, 9, 0},
     {4, 1, 3, 3, 0},
     {2, 2, 0},
     {1, 1, 0},
     {1, 1, 0},
     false,
     {0, 0, 0},
     4,
     {2, 4, 5, 5, 0}},
    {3,
     {1, 2, 17, 0, 0},
     {6, 1, 5, 0, 0},
     {3, 0, 0},
     {2, 0, 0},
     {2, 0, 0},
     false,
     {0, 0, 0},
     2,
     {1, 6, 5, 0, 0}},
    {5,
     {1, 2, 5, 6, 7},
     {3, 2, 2, 3, 3},
     {1, 2, 3},
     {1, 0, 1},
     {2, 1, 1},
     false,
     {0, 0, 0},
     1,
     {1, 3, 5, 2, 3}},
    {4,
     {1, 4, 5, 5, 0},
     {4, 3, 3, 3, 0},
     {2, 2, 0},
     {1, 1, 0},
     {1, 1, 0},
     true,
     {1, 1, 0},
     2,
     {1, 6, 10, 10, 0}},
    {3,
     {1, 2, 7, 0, 0},
     {2, 5, 4, 0, 0},
     {3, 0, 0},
     {2, 0, 0},
     {2, 0, 0},
     true,
     {2, 0, 0},
     1,
     {1, 5, 23, 0, 0}},
    {5,
     {1, 3, 2, 3, 4},
     {3, 2, 2, 2, 2},
     {2, 1, 2},
     {0, 1, 0},
     {1, 2, 1},
     true,
     {1, 0, 0},
     1,
     {1, 2, 5, 3, 8}},
    {4,
     {0, 3, 8, 8, 0},
     {6, 3, 1, 1, 0},
     {1, 1, 0},
     {0, 0, 0},
     {1, 1, 0},
     false,
     {0, 0, 0},
     1,
     {0, 6, 8, 8, 0}},
};
static const pool_case kPoolCases[] = {
    {4, {1, 1, 5, 5}, 2, {2, 2}, 2, {2, 2}, 2, {1, 1}, 2, {1, 1}, true, true, {1, 1, 3, 3}},
    {4, {2, 3, 7, 9}, 2, {3, 2}, 2, {2, 1}, 2, {1, 1}, 2, {2, 1}, false, true, {2, 3, 3, 10}},
    {3, {3, 6, 6, 0}, 2, {3, 3}, 0, {0, 0}, 2, {1, 1}, 2, {1, 1}, true, true, {3, 3, 3, 0}},
    {4, {1, 2, 8, 8}, 1, {3, 0}, 1, {3, 0}, 1, {1, 0}, 1, {1, 0}, true, false, {1, 2, 3, 3}},
    {4, {1, 1, 10, 10}, 2, {4, 4}, 2, {3, 3}, 2, {2, 2}, 2, {1, 1}, false, false, {1, 1, 4, 4}},
    {4, {1, 1, 10, 10}, 2, {4, 4}, 2, {3, 3}, 2, {2, 2}, 2, {1, 1}, true, false, {1, 1, 4, 4}},
    {4, {1, 1, 4, 4}, 2, {2, 2}, 2, {1, 1}, 2, {1, 1}, 2, {3, 3}, false, true, {1, 1, 3, 3}},
};

static void test_conv_pool(void) {
  graph g;
  for (size_t i = 0; i < sizeof kConvCases / sizeof kConvCases[0]; ++i) {
    const conv_case* c = &kConvCases[i];
    const uint32_t sp = c->rank - 2;
    tensor(&g, 0, D(FLOAT32), c->rank, c->in);
    tensor(&g, 1, D(FLOAT32), c->rank, c->w);
    ddk_status st =
        infer(&g, OP(CONVOLUTION),
              ARGS(ARG_T(0), ARG_T(1), ARG_NONE, ARG_LP(c->stride, sp), ARG_LP(c->pad, sp),
                   ARG_LP(c->dil, sp), ARG_B(c->transposed), ARG_LP(c->opad, sp), ARG_I(c->groups)),
              1);
    CHECK(st == DDK_OK && shape_is(&g.v[6], D(FLOAT32), c->rank, c->out),
          "conv case %zu: status %d (%s)", i, (int)st, g.err);
  }
  for (size_t i = 0; i < sizeof kPoolCases / sizeof kPoolCases[0]; ++i) {
    const pool_case* c = &kPoolCases[i];
    tensor(&g, 0, D(FLOAT32), c->rank, c->in);
    ddk_status st;
    if (c->is_max) {
      st = infer(&g, OP(MAX_POOL2D_WITH_INDICES),
                 ARGS(ARG_T(0), ARG_LP(c->k, c->nk), ARG_LP(c->s, c->ns), ARG_LP(c->p, c->np),
                      ARG_LP(c->d, c->nd), ARG_B(c->ceil_mode)),
                 2);
      CHECK(st == DDK_OK && shape_is(&g.v[7], D(INT64), c->rank, c->out), "indices case %zu", i);
    } else {
      st = infer(&g, OP(AVG_POOL2D),
                 ARGS(ARG_T(0), ARG_LP(c->k, c->nk), ARG_LP(c->s, c->ns), ARG_LP(c->p, c->np),
                      ARG_B(c->ceil_mode), ARG_B(true), ARG_NONE),
                 1);
    }
    CHECK(st == DDK_OK && shape_is(&g.v[6], D(FLOAT32), c->rank, c->out),
          "pool case %zu: status %d (%s)", i, (int)st, g.err);
  }
  /* refusals ATen makes too */
  tensor(&g, 0, D(FLOAT32), NSZ(1, 3, 8, 8));
  tensor(&g, 1, D(FLOAT32), NSZ(4, 2, 3, 3));
#define CONV(x, w, st, pd, dl, tr, op, gr) \
  infer(&g, OP(CONVOLUTION),               \
        ARGS(ARG_T(x), ARG_T(w), ARG_NONE, st, pd, dl, ARG_B(tr), op, ARG_I(gr)), 1)
  CHECK(CONV(0, 1, ARG_L(1), ARG_L(0), ARG_L(1), false, ARG_L(0), 2) == DDK_SHAPE_MISMATCH &&
            strstr(g.err, "groups"),
        "3 channels vs weight 2 x groups 2: %s", g.err);
  tensor(&g, 1, D(FLOAT32), NSZ(3, 1, 3, 3));
  CHECK(CONV(0, 1, ARG_L(1), ARG_L(0), ARG_L(1), false, ARG_L(0), 2) == DDK_SHAPE_MISMATCH,
        "out-channels 3 not divisible by groups 2");
  CHECK(CONV(0, 1, ARG_L(1), ARG_L(-1), ARG_L(1), false, ARG_L(0), 3) == DDK_INVALID_ARGUMENT,
        "negative padding");
  CHECK(CONV(0, 1, ARG_L(1, 1, 1), ARG_L(0), ARG_L(1), false, ARG_L(0), 3) == DDK_INVALID_ARGUMENT,
        "stride list of 3 for 2-d");
  CHECK(CONV(0, 1, ARG_L(1), ARG_L(0), ARG_L(1), false, ARG_L(0), 0) == DDK_INVALID_ARGUMENT,
        "groups 0");
  CHECK(CONV(0, 1, ARG_L(1), ARG_L(0), ARG_L(5), false, ARG_L(0), 3) == DDK_SHAPE_MISMATCH,
        "dilated kernel larger than input");
  tensor(&g, 1, D(FLOAT32), NSZ(3, 2, 3, 3));
  CHECK(CONV(0, 1, ARG_L(1), ARG_L(0), ARG_L(1), true, ARG_L(1), 1) == DDK_INVALID_ARGUMENT,
        "output_padding >= stride and dilation");
  tensor(&g, 1, D(FLOAT64), NSZ(3, 2, 3, 3));
  CHECK(CONV(0, 1, ARG_L(1), ARG_L(0), ARG_L(1), true, ARG_L(0), 1) == DDK_DTYPE_MISMATCH,
        "input/weight dtype");
#undef CONV
#define POOL(x, k, s, p, ceil) \
  infer(&g, OP(AVG_POOL2D), ARGS(ARG_T(x), k, s, p, ARG_B(ceil), ARG_B(true), ARG_NONE), 1)
  CHECK(POOL(0, ARG_L(2), ARG_L(1), ARG_L(2), false) == DDK_INVALID_ARGUMENT, "pad > kernel/2");
  CHECK(POOL(0, ARG_L(9), ARG_L(1), ARG_L(0), false) == DDK_SHAPE_MISMATCH, "output too small");
  CHECK(POOL(0, ARG_L(2), ARG_L(0), ARG_L(0), false) == DDK_INVALID_ARGUMENT, "stride 0");
  CHECK(POOL(0, ARG_L(2, 2, 2), ARG_L(1), ARG_L(0), false) == DDK_INVALID_ARGUMENT,
        "3 kernel sizes");
  tensor(&g, 0, D(FLOAT32), NSZ(1, 0, 8, 8));
  CHECK(POOL(0, ARG_L(2), ARG_L(1), ARG_L(0), false) == DDK_SHAPE_MISMATCH, "empty channel dim");
  tensor(&g, 0, D(FLOAT32), NSZ(0, 2, 8, 8));
  CHECK(POOL(0, ARG_L(2), ARG_L(2), ARG_L(0), false) == DDK_OK &&
            shape_is(&g.v[6], D(FLOAT32), NSZ(0, 2, 4, 4)),
        "empty batch is fine");
  tensor(&g, 0, D(FLOAT32), NSZ(8, 8));
  CHECK(POOL(0, ARG_L(2), ARG_L(2), ARG_L(0), false) == DDK_SHAPE_MISMATCH, "2-d input");
#undef POOL
}

static void test_reduction_movement(void) {
  graph g;
  tensor(&g, 0, D(FLOAT16), NSZ(2, 3, 4));
  CHECK(infer(&g, OP(SOFTMAX), ARGS(ARG_T(0), ARG_I(-1), ARG_B(false)), 1) == DDK_OK &&
            shape_is(&g.v[6], D(FLOAT16), NSZ(2, 3, 4)),
        "softmax");
  CHECK(infer(&g, OP(SOFTMAX), ARGS(ARG_T(0), ARG_I(-1), ARG_B(true)), 1) ==
                DDK_INVALID_ARGUMENT &&
            strstr(g.err, "not supported on CPU"),
        "half_to_float is refused as on ATen CPU: %s", g.err);
  CHECK(infer(&g, OP(SOFTMAX), ARGS(ARG_T(0), ARG_I(3), ARG_B(false)), 1) == DDK_OUT_OF_RANGE &&
            strstr(g.err, "dim"),
        "softmax dim range: %s", g.err);
  CHECK(
      infer(&g, OP(MEAN_DIM), ARGS(ARG_T(0), ARG_L(0, -1), ARG_B(false), ARG_NONE), 1) == DDK_OK &&
          shape_is(&g.v[6], D(FLOAT16), NSZ(3)),
      "mean over dims 0 and -1");
  CHECK(infer(&g, OP(MEAN_DIM), ARGS(ARG_T(0), ARG_L(1), ARG_B(true), ARG_DT(D(FLOAT64))), 1) ==
                DDK_OK &&
            shape_is(&g.v[6], D(FLOAT64), NSZ(2, 1, 4)),
        "mean keepdim with dtype");
  CHECK(infer(&g, OP(MEAN_DIM), ARGS(ARG_T(0), ARG_NONE, ARG_B(true), ARG_NONE), 1) == DDK_OK &&
            shape_is(&g.v[6], D(FLOAT16), NSZ(1, 1, 1)),
        "mean dim=None keepdim");
  CHECK(infer(&g, OP(MEAN_DIM), ARGS(ARG_T(0), ARG_L(1, -2), ARG_B(true), ARG_NONE), 1) ==
            DDK_INVALID_ARGUMENT,
        "repeated dim");
  CHECK(infer(&g, OP(MEAN_DIM), ARGS(ARG_T(0), ARG_L(1), ARG_B(true), ARG_DT(D(INT32))), 1) ==
            DDK_INVALID_ARGUMENT,
        "integer dtype");
  tensor(&g, 1, D(INT32), NSZ(4));
  CHECK(infer(&g, OP(MEAN_DIM), ARGS(ARG_T(1), ARG_NONE, ARG_B(false), ARG_NONE), 1) ==
            DDK_UNSUPPORTED_DTYPE,
        "integer input without dtype");
  tensor(&g, 1, D(FLOAT32), 0, NULL);
  CHECK(infer(&g, OP(MEAN_DIM), ARGS(ARG_T(1), ARG_L(-1), ARG_B(true), ARG_NONE), 1) == DDK_OK &&
            g.v[6].rank == 0,
        "mean of a 0-d tensor over dim -1");

  CHECK(infer(&g, OP(VIEW), ARGS(ARG_T(0), ARG_L(4, -1)), 1) == DDK_OK &&
            shape_is(&g.v[6], D(FLOAT16), NSZ(4, 6)),
        "view -1");
  CHECK(infer(&g, OP(VIEW), ARGS(ARG_T(0), ARG_L(5, -1)), 1) == DDK_SHAPE_MISMATCH, "view 5 x ?");
  CHECK(infer(&g, OP(VIEW), ARGS(ARG_T(0), ARG_L(-1, -1)), 1) == DDK_INVALID_ARGUMENT, "two -1");
  CHECK(infer(&g, OP(VIEW), ARGS(ARG_T(0), ARG_L(2, -3, -4)), 1) == DDK_INVALID_ARGUMENT, "-3");
  tensor(&g, 2, D(FLOAT32), NSZ(0, 3));
  CHECK(infer(&g, OP(VIEW), ARGS(ARG_T(2), ARG_L(0, -1)), 1) == DDK_INVALID_ARGUMENT,
        "ambiguous -1 with 0 elements");
  CHECK(infer(&g, OP(PERMUTE), ARGS(ARG_T(0), ARG_L(2, 0, -2)), 1) == DDK_OK &&
            shape_is(&g.v[6], D(FLOAT16), NSZ(4, 2, 3)),
        "permute");
  CHECK(infer(&g, OP(PERMUTE), ARGS(ARG_T(0), ARG_L(2, 0, 2)), 1) == DDK_INVALID_ARGUMENT,
        "permute repeats a dim");
  CHECK(infer(&g, OP(PERMUTE), ARGS(ARG_T(0), ARG_L(0, 1)), 1) == DDK_INVALID_ARGUMENT,
        "permute rank");
  CHECK(infer(&g, OP(CLONE), ARGS(ARG_T(0), ARG_I(2)), 1) == DDK_INVALID_ARGUMENT,
        "channels_last on a 3-d tensor");
  CHECK(infer(&g, OP(CLONE), ARGS(ARG_T(0), ARG_NONE), 1) == DDK_OK &&
            shape_is(&g.v[6], D(FLOAT16), NSZ(2, 3, 4)),
        "clone");

  /* cat: promotion over all inputs, legacy empty 1-d skipped */
  tensor(&g, 0, D(INT32), NSZ(2, 3));
  tensor(&g, 1, D(UINT8), NSZ(2, 5));
  tensor(&g, 2, D(FLOAT64), NSZ(0));
  tensor(&g, 3, D(INT8), NSZ(2, 2));
  uint32_t l1[4] = {0, 1, 2, 3};
  const ddk_arg list1 = {.kind = DDK_ARG_TENSOR_LIST, .count = 4, .u.tensors = l1};
  CHECK(infer(&g, OP(CAT), ARGS(list1, ARG_I(-1)), 1) == DDK_OK &&
            shape_is(&g.v[6], D(FLOAT64), NSZ(2, 10)),
        "cat dim -1 (%s)", g.err);
  CHECK(infer(&g, OP(CAT), ARGS(list1, ARG_I(0)), 1) == DDK_SHAPE_MISMATCH &&
            strstr(g.err, "tensor 1"),
        "cat dim 0 sizes: %s", g.err);
  CHECK(infer(&g, OP(CAT), ARGS(list1, ARG_I(2)), 1) == DDK_OUT_OF_RANGE, "cat dim range");
  uint32_t l2[2] = {2, 2};
  const ddk_arg list2 = {.kind = DDK_ARG_TENSOR_LIST, .count = 2, .u.tensors = l2};
  CHECK(infer(&g, OP(CAT), ARGS(list2, ARG_I(0)), 1) == DDK_OK &&
            shape_is(&g.v[6], D(FLOAT64), NSZ(0)),
        "cat of empties");
  const ddk_arg list0 = {.kind = DDK_ARG_TENSOR_LIST, .count = 0, .u.tensors = NULL};
  CHECK(infer(&g, OP(CAT), ARGS(list0, ARG_I(0)), 1) == DDK_INVALID_ARGUMENT, "cat of nothing");
}

int main(void) {
  test_promotion();
  test_broadcast();
  test_elementwise();
  test_matmul();
  test_conv_pool();
  test_reduction_movement();
  return ddk_test_finish();
}
