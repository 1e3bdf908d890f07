/*
 * kernels_test.c — unit tests of the portable kernels on small inputs whose
 * results were worked out by hand (and agree with PyTorch 2.x on CPU), plus
 * the error paths. Each node runs as the executor runs it: ddk_infer_node,
 * then the kernel. Prints "N passed, M failed" last; exit status 1 on any
 * failure.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ddk_kernel.h"
#include "ddk_test.h"

/* The kernels under test (normally reached through ddk_kernel_lookup). */
#define KERNELS(X)                                                                            \
  X(aten_add_tensor)                                                                          \
  X(aten_sub_tensor) X(aten_mul_tensor) X(aten_div_tensor) X(aten_relu) X(aten_hardtanh)      \
      X(aten_sigmoid) X(aten_tanh) X(aten_mm) X(aten_addmm) X(aten_bmm) X(aten_convolution)   \
          X(aten_max_pool2d_with_indices) X(aten_avg_pool2d) X(aten_softmax) X(aten_mean_dim) \
              X(aten_view) X(aten_permute) X(aten_cat) X(aten_clone)
#define DECLARE(id) ddk_status ddk_kernel_##id(ddk_kernel_ctx*, const ddk_node_view*);
KERNELS(DECLARE)
#undef DECLARE


/* ------------------------------------------------------------------------ */
/* Fixture: a value table and an arena for tensor data                      */
/* ------------------------------------------------------------------------ */

#define MAX_VALUES 16
#define OUT_BYTES 16384

typedef struct fixture {
  ddk_tensor v[MAX_VALUES];
  uint32_t n;
  size_t used;
  _Alignas(16) unsigned char arena[1 << 18];
  char err[256];
} fixture;

static fixture g_fx;

static fixture* fx_reset(void) {
  memset(&g_fx, 0, sizeof g_fx);
  return &g_fx;
}

static void* fx_alloc(fixture* f, size_t bytes) {
  void* p = f->arena + f->used;
  f->used += (bytes + 15) & ~(size_t)15;
  return p;
}

/* A contiguous tensor holding a copy of `data` (numel elements). */
static uint32_t in_t(fixture* f, ddk_dtype dt, uint32_t rank, const int64_t* sizes,
                     const void* data) {
  ddk_tensor* t = &f->v[f->n];
  t->header.struct_size = sizeof *t;
  t->dtype = dt;
  t->rank = rank;
  for (uint32_t i = 0; i < rank; ++i) t->sizes[i] = sizes[i];
  ddk_tensor_set_contiguous(t);
  size_t bytes = (size_t)ddk_tensor_numel(t) * ddk_dtype_size(dt);
  t->data = fx_alloc(f, bytes ? bytes : 16);
  t->capacity = bytes;
  if (bytes) memcpy(t->data, data, bytes);
  return f->n++;
}

/* An output slot (shape and dtype come from inference). */
static uint32_t out_t(fixture* f) {
  ddk_tensor* t = &f->v[f->n];
  t->header.struct_size = sizeof *t;
  t->data = fx_alloc(f, OUT_BYTES);
  t->capacity = OUT_BYTES;
  return f->n++;
}

#define SZ(...) ((const int64_t[]){__VA_ARGS__})
#define NSZ(...) (uint32_t)(sizeof(SZ(__VA_ARGS__)) / sizeof(int64_t)), SZ(__VA_ARGS__)
#define ARG_T(i) ((ddk_arg){.kind = DDK_ARG_TENSOR, .u.tensor = (i)})
#define ARG_I(x) ((ddk_arg){.kind = DDK_ARG_INT, .u.i = (x)})
#define ARG_F(x) ((ddk_arg){.kind = DDK_ARG_FLOAT, .u.f = (x)})
#define ARG_B(x) ((ddk_arg){.kind = DDK_ARG_BOOL, .u.b = (x)})
#define ARG_NONE ((ddk_arg){.kind = DDK_ARG_NONE})
#define ARG_DT(x) ((ddk_arg){.kind = DDK_ARG_DTYPE, .u.i = (x)})
#define ARG_L(...)                                                           \
  ((ddk_arg){.kind = DDK_ARG_INT_LIST,                                       \
             .count = (uint32_t)(sizeof(SZ(__VA_ARGS__)) / sizeof(int64_t)), \
             .u.ints = SZ(__VA_ARGS__)})
#define ARG_EMPTY_L ((ddk_arg){.kind = DDK_ARG_INT_LIST, .count = 0, .u.ints = NULL})
#define ARGS(...)                 \
  (const ddk_arg[]){__VA_ARGS__}, \
      (uint32_t)(sizeof((const ddk_arg[]){__VA_ARGS__}) / sizeof(ddk_arg))

/* Infers and runs one node with outputs `o0` (and `o1` when not UINT32_MAX). */
static ddk_status run(fixture* f, uint32_t op_id, const char* name, ddk_kernel_fn fn,
                      const ddk_arg* args, uint32_t nargs, uint32_t o0, uint32_t o1) {
  uint32_t outs[2] = {o0, o1};
  ddk_node_view node;
  memset(&node, 0, sizeof node);
  node.header.struct_size = sizeof node;
  node.op_id = op_id;
  node.op_name = name;
  node.num_args = nargs;
  node.args = args;
  node.num_outputs = o1 == UINT32_MAX ? 1 : 2;
  node.outputs = outs;
  node.debug_name = "";
  f->err[0] = '\0';
  ddk_status st = ddk_infer_node(&node, f->v, f->err, sizeof f->err);
  if (st != DDK_OK) return st;
  for (uint32_t i = 0; i < node.num_outputs; ++i) {
    const ddk_tensor* t = &f->v[outs[i]];
    if ((size_t)ddk_tensor_numel(t) * ddk_dtype_size(t->dtype) > t->capacity) return DDK_INTERNAL;
  }
  ddk_kernel_ctx ctx = {f->v, f->err, sizeof f->err, NULL};
  return fn(&ctx, &node);
}

#define RUN(f, OP, id, out, ...) \
  run(f, DDK_OP_##OP, #id, ddk_kernel_##id, ARGS(__VA_ARGS__), out, UINT32_MAX)

/* ------------------------------------------------------------------------ */
/* Reading results                                                          */
/* ------------------------------------------------------------------------ */

static double f16_value(uint16_t h) {
  int e = (h >> 10) & 31, m = h & 1023;
  double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(m + 1024, e - 25);
  return (h & 0x8000) ? -v : v;
}

/* Element i (contiguous order) of tensor t as a double. */
static double at(const fixture* f, uint32_t t, int64_t i) {
  const ddk_tensor* x = &f->v[t];
  const void* d = x->data;
  switch (x->dtype) {
    case DDK_DTYPE_BOOL:
    case DDK_DTYPE_UINT8:
      return ((const uint8_t*)d)[i];
    case DDK_DTYPE_INT8:
      return ((const int8_t*)d)[i];
    case DDK_DTYPE_INT16:
      return ((const int16_t*)d)[i];
    case DDK_DTYPE_INT32:
      return ((const int32_t*)d)[i];
    case DDK_DTYPE_INT64:
      return (double)((const int64_t*)d)[i];
    case DDK_DTYPE_FLOAT16:
      return f16_value(((const uint16_t*)d)[i]);
    case DDK_DTYPE_BFLOAT16: {
      uint32_t u = (uint32_t)((const uint16_t*)d)[i] << 16;
      float v;
      memcpy(&v, &u, 4);
      return v;
    }
    case DDK_DTYPE_FLOAT32:
      return ((const float*)d)[i];
    case DDK_DTYPE_FLOAT64:
      return ((const double*)d)[i];
    default:
      return NAN;
  }
}

static uint16_t bits16(const fixture* f, uint32_t t, int64_t i) {
  return ((const uint16_t*)f->v[t].data)[i];
}

/* Same value, NaN matching NaN; tol is absolute. */
static bool close_to(double got, double want, double tol) {
  if (isnan(want)) return isnan(got);
  if (isinf(want)) return got == want;
  return fabs(got - want) <= tol;
}

/* Checks dtype, shape and values of output `t` against `want`. */
static void expect(const fixture* f, uint32_t t, ddk_dtype dt, uint32_t rank, const int64_t* sizes,
                   const double* want, double tol, int line) {
  const ddk_tensor* x = &f->v[t];
  bool ok = x->dtype == dt && x->rank == rank;
  for (uint32_t i = 0; ok && i < rank; ++i) ok = x->sizes[i] == sizes[i];
  CHECK(ok, "line %d: dtype/shape: got %s rank %u", line, ddk_dtype_name(x->dtype), x->rank);
  if (!ok) return;
  int64_t n = ddk_tensor_numel(x);
  for (int64_t i = 0; i < n; ++i) {
    if (!close_to(at(f, t, i), want[i], tol)) {
      CHECK(false, "line %d: element %lld: got %.17g, want %.17g", line, (long long)i, at(f, t, i),
            want[i]);
      return;
    }
  }
  CHECK(true, "%s", "values");
}

#define WANT(...) ((const double[]){__VA_ARGS__})
/* shape is NSZ(d0, d1, ...) or SHAPE0 for a 0-d result. */
#define SHAPE0 0, NULL
#define EXPECT(f, t, dt, shape, want, tol) expect(f, t, dt, shape, want, tol, __LINE__)
#define STATUS(st, want) \
  CHECK((st) == (want), "status %d, want %d (%s)", (int)(st), (int)(want), g_fx.err)

static const double kNaN = NAN, kInf = INFINITY;

/* ------------------------------------------------------------------------ */
/* Elementwise binary                                                       */
/* ------------------------------------------------------------------------ */

static void test_binary(void) {
  fixture* f = fx_reset();
  /* broadcast [2,3] + [3] with alpha 2 */
  uint32_t a = in_t(f, DDK_DTYPE_FLOAT32, NSZ(2, 3), (const float[]){1, 2, 3, 4, 5, 6});
  uint32_t b = in_t(f, DDK_DTYPE_FLOAT32, NSZ(3), (const float[]){10, 20, 30});
  uint32_t o = out_t(f);
  STATUS(RUN(f, ATEN_ADD_TENSOR, aten_add_tensor, o, ARG_T(a), ARG_T(b), ARG_I(2)), DDK_OK);
  EXPECT(f, o, DDK_DTYPE_FLOAT32, NSZ(2, 3), WANT(21, 42, 63, 24, 45, 66), 0);
  /* sub with float alpha: a - 0.5 b */
  o = out_t(f);
  STATUS(RUN(f, ATEN_SUB_TENSOR, aten_sub_tensor, o, ARG_T(a), ARG_T(b), ARG_F(0.5)), DDK_OK);
  EXPECT(f, o, DDK_DTYPE_FLOAT32, NSZ(2, 3), WANT(-4, -8, -12, -1, -5, -9), 0);

  /* int8 wraps: 100 + 100 = -56; uint8 + int8 promotes to int16 */
  f = fx_reset();
  uint32_t i8 = in_t(f, DDK_DTYPE_INT8, NSZ(2), (const int8_t[]){100, -128});
  uint32_t u8 = in_t(f, DDK_DTYPE_UINT8, NSZ(2), (const uint8_t[]){200, 255});
  o = out_t(f);
  STATUS(RUN(f, ATEN_ADD_TENSOR, aten_add_tensor, o, ARG_T(i8), ARG_T(i8), ARG_I(1)), DDK_OK);
  EXPECT(f, o, DDK_DTYPE_INT8, NSZ(2), WANT(-56, 0), 0);
  o = out_t(f);
  STATUS(RUN(f, ATEN_ADD_TENSOR, aten_add_tensor, o, ARG_T(u8), ARG_T(i8), ARG_I(1)), DDK_OK);
  EXPECT(f, o, DDK_DTYPE_INT16, NSZ(2), WANT(300, 127), 0);
  o = out_t(f); /* int8 result with alpha 300: out of int8 range */
  STATUS(RUN(f, ATEN_ADD_TENSOR, aten_add_tensor, o, ARG_T(i8), ARG_T(i8), ARG_I(300)),
         DDK_INVALID_ARGUMENT);
  o = out_t(f); /* float alpha with an integer result */
  STATUS(RUN(f, ATEN_ADD_TENSOR, aten_add_tensor, o, ARG_T(i8), ARG_T(i8), ARG_F(1.5)),
         DDK_INVALID_ARGUMENT);
  /* uint8 sub with alpha -1 wraps: 200 + 200 = 144, 255 + 255 = 254 (mod 256) */
  o = out_t(f);
  STATUS(RUN(f, ATEN_SUB_TENSOR, aten_sub_tensor, o, ARG_T(u8), ARG_T(u8), ARG_I(-1)), DDK_OK);
  EXPECT(f, o, DDK_DTYPE_UINT8, NSZ(2), WANT(144, 254), 0);
  /* 0-d int64 against 1-d int8: result int8, 300 wraps to 44 first */
  uint32_t z = in_t(f, DDK_DTYPE_INT64, SHAPE0, (const int64_t[]){300});
  o = out_t(f);
  STATUS(RUN(f, ATEN_ADD_TENSOR, aten_add_tensor, o, ARG_T(i8), ARG_T(z), ARG_I(1)), DDK_OK);
  EXPECT(f, o, DDK_DTYPE_INT8, NSZ(2), WANT(-112, -84), 0); /* 100+44, -128+44 */
  /* int32 mul wraps: 65536 * 65536 = 0, 46341^2 = 2147488281 -> -2147479015 */
  uint32_t i32 = in_t(f, DDK_DTYPE_INT32, NSZ(2), (const int32_t[]){65536, 46341});
  o = out_t(f);
  STATUS(RUN(f, ATEN_MUL_TENSOR, aten_mul_tensor, o, ARG_T(i32), ARG_T(i32)), DDK_OK);
  EXPECT(f, o, DDK_DTYPE_INT32, NSZ(2), WANT(0, -2147479015.0), 0);

  /* bool: add is or, mul is and, sub refused */
  f = fx_reset();
  uint32_t ba = in_t(f, DDK_DTYPE_BOOL, NSZ(4), (const uint8_t[]){1, 1, 0, 0});
  uint32_t bb = in_t(f, DDK_DTYPE_BOOL, NSZ(4), (const uint8_t[]){1, 0, 1, 0});
  o = out_t(f);
  STATUS(RUN(f, ATEN_ADD_TENSOR, aten_add_tensor, o, ARG_T(ba), ARG_T(bb), ARG_B(true)), DDK_OK);
  EXPECT(f, o, DDK_DTYPE_BOOL, NSZ(4), WANT(1, 1, 1, 0), 0);
  o = out_t(f);
  STATUS(RUN(f, ATEN_MUL_TENSOR, aten_mul_tensor, o, ARG_T(ba), ARG_T(bb)), DDK_OK);
  EXPECT(f, o, DDK_DTYPE_BOOL, NSZ(4), WANT(1, 0, 0, 0), 0);
  o = out_t(f);
  STATUS(RUN(f, ATEN_SUB_TENSOR, aten_sub_tensor, o, ARG_T(ba), ARG_T(bb), ARG_I(1)),
         DDK_INVALID_ARGUMENT);
  o = out_t(f); /* bool alpha with a float result */
  uint32_t fl = in_t(f, DDK_DTYPE_FLOAT32, NSZ(1), (const float[]){1});
  STATUS(RUN(f, ATEN_ADD_TENSOR, aten_add_tensor, o, ARG_T(fl), ARG_T(fl), ARG_B(true)),
         DDK_INVALID_ARGUMENT);

  /* div is true division; integers give float32 */
  f = fx_reset();
  uint32_t n = in_t(f, DDK_DTYPE_INT64, NSZ(4), (const int64_t[]){7, 1, 0, -1});
  uint32_t d = in_t(f, DDK_DTYPE_INT64, NSZ(4), (const int64_t[]){2, 0, 0, 0});
  o = out_t(f);
  STATUS(RUN(f, ATEN_DIV_TENSOR, aten_div_tensor, o, ARG_T(n), ARG_T(d)), DDK_OK);
  EXPECT(f, o, DDK_DTYPE_FLOAT32, NSZ(4), WANT(3.5, kInf, kNaN, -kInf), 0);
  /* float16: 1/3 rounds to 0x3555; 65504 + 16 = 65520 ties to even = inf,
   * 65504 + 15 rounds down to 65504 */
  uint32_t h1 = in_t(f, DDK_DTYPE_FLOAT16, NSZ(3), (const uint16_t[]){0x3C00, 0x7BFF, 0x7BFF});
  uint32_t h2 = in_t(f, DDK_DTYPE_FLOAT16, NSZ(3), (const uint16_t[]){0x4200, 0x4C00, 0x4B80});
  o = out_t(f);
  STATUS(RUN(f, ATEN_DIV_TENSOR, aten_div_tensor, o, ARG_T(h1), ARG_T(h2)), DDK_OK);
  CHECK(bits16(f, o, 0) == 0x3555, "f16 1/3 bits %04x", bits16(f, o, 0));
  o = out_t(f);
  STATUS(RUN(f, ATEN_ADD_TENSOR, aten_add_tensor, o, ARG_T(h1), ARG_T(h2), ARG_I(1)), DDK_OK);
  CHECK(bits16(f, o, 1) == 0x7C00 && bits16(f, o, 2) == 0x7BFF, "f16 overflow rounding %04x %04x",
        bits16(f, o, 1), bits16(f, o, 2));
  /* float16 ties to even: 1 + 2^-11 -> 1, (1 + 2^-10) + 2^-11 -> 1 + 2^-9;
   * in the subnormal range 2^-25 -> 0 and 1.5 * 2^-24 -> 2 * 2^-24 */
  uint32_t t1 =
      in_t(f, DDK_DTYPE_FLOAT16, NSZ(4), (const uint16_t[]){0x3C00, 0x3C01, 0x0C00, 0x0E00});
  uint32_t t2 =
      in_t(f, DDK_DTYPE_FLOAT16, NSZ(4), (const uint16_t[]){0x1000, 0x1000, 0x0800, 0x0C00});
  o = out_t(f);
  STATUS(RUN(f, ATEN_ADD_TENSOR, aten_add_tensor, o, ARG_T(t1), ARG_T(t2), ARG_I(1)), DDK_OK);
  CHECK(bits16(f, o, 0) == 0x3C00 && bits16(f, o, 1) == 0x3C02, "f16 ties %04x %04x",
        bits16(f, o, 0), bits16(f, o, 1));
  o = out_t(f);
  STATUS(RUN(f, ATEN_MUL_TENSOR, aten_mul_tensor, o, ARG_T(t1), ARG_T(t2)), DDK_OK);
  CHECK(bits16(f, o, 2) == 0x0000 && bits16(f, o, 3) == 0x0002, "f16 subnormal ties %04x %04x",
        bits16(f, o, 2), bits16(f, o, 3));
  /* bfloat16 ties to even: 1 + 2^-8 -> 1; 1.0078125 + 2^-8 -> 1.015625 */
  uint32_t g1 = in_t(f, DDK_DTYPE_BFLOAT16, NSZ(2), (const uint16_t[]){0x3F80, 0x3F81});
  uint32_t g2 = in_t(f, DDK_DTYPE_BFLOAT16, NSZ(2), (const uint16_t[]){0x3B80, 0x3B80});
  o = out_t(f);
  STATUS(RUN(f, ATEN_ADD_TENSOR, aten_add_tensor, o, ARG_T(g1), ARG_T(g2), ARG_I(1)), DDK_OK);
  CHECK(bits16(f, o, 0) == 0x3F80 && bits16(f, o, 1) == 0x3F82, "bf16 rounding %04x %04x",
        bits16(f, o, 0), bits16(f, o, 1));

  /* a transposed (non-contiguous) input is read through its strides */
  f = fx_reset();
  uint32_t t = in_t(f, DDK_DTYPE_FLOAT32, NSZ(2, 3), (const float[]){1, 4, 2, 5, 3, 6});
  f->v[t].strides[0] = 1;
  f->v[t].strides[1] = 2;
  f->v[t].dim_order[0] = 1;
  f->v[t].dim_order[1] = 0;
  uint32_t zero = in_t(f, DDK_DTYPE_FLOAT64, SHAPE0, (const double[]){0.25});
  o = out_t(f);
  STATUS(RUN(f, ATEN_MUL_TENSOR, aten_mul_tensor, o, ARG_T(t), ARG_T(zero)), DDK_OK);
  EXPECT(f, o, DDK_DTYPE_FLOAT32, NSZ(2, 3), WANT(0.25, 0.5, 0.75, 1, 1.25, 1.5), 0);
  /* shapes that do not broadcast */
  uint32_t bad = in_t(f, DDK_DTYPE_FLOAT32, NSZ(2), (const float[]){1, 2});
  o = out_t(f);
  STATUS(RUN(f, ATEN_ADD_TENSOR, aten_add_tensor, o, ARG_T(t), ARG_T(bad), ARG_I(1)),
         DDK_SHAPE_MISMATCH);
  /* complex has no arithmetic kernel: unsupported dtype naming op and dtype */
  uint32_t c = in_t(f, DDK_DTYPE_COMPLEX64, NSZ(1), (const float[]){1, 2});
  o = out_t(f);
  STATUS(RUN(f, ATEN_ADD_TENSOR, aten_add_tensor, o, ARG_T(c), ARG_T(c), ARG_I(1)),
         DDK_UNSUPPORTED_DTYPE);
  CHECK(strstr(f->err, "aten_add_tensor") != NULL && strstr(f->err, "complex64") != NULL,
        "message names op and dtype: %s", f->err);
}

/* ------------------------------------------------------------------------ */
/* Activations                                                              */
/* ------------------------------------------------------------------------ */

static void test_activation(void) {
  fixture* f = fx_reset();
  uint32_t x = in_t(f, DDK_DTYPE_FLOAT32, NSZ(6), (const float[]){-2, -0.5f, 0.5f, 2, NAN, -0.0f});
  uint32_t o = out_t(f);
  STATUS(RUN(f, ATEN_RELU, aten_relu, o, ARG_T(x)), DDK_OK);
  EXPECT(f, o, DDK_DTYPE_FLOAT32, NSZ(6), WANT(0, 0, 0.5, 2, kNaN, 0), 0);
  CHECK(signbit(at(f, o, 5)), "relu(-0.0) keeps the sign as ATen");
  o = out_t(f);
  STATUS(RUN(f, ATEN_HARDTANH, aten_hardtanh, o, ARG_T(x), ARG_I(-1), ARG_I(1)), DDK_OK);
  EXPECT(f, o, DDK_DTYPE_FLOAT32, NSZ(6), WANT(-1, -0.5, 0.5, 1, kNaN, 0), 0);
  o = out_t(f); /* min > max gives max; NaN stays NaN */
  STATUS(RUN(f, ATEN_HARDTANH, aten_hardtanh, o, ARG_T(x), ARG_F(2), ARG_F(1)), DDK_OK);
  EXPECT(f, o, DDK_DTYPE_FLOAT32, NSZ(6), WANT(1, 1, 1, 1, kNaN, 1), 0);
  o = out_t(f); /* a NaN limit makes everything NaN */
  STATUS(RUN(f, ATEN_HARDTANH, aten_hardtanh, o, ARG_T(x), ARG_F(NAN), ARG_F(1)), DDK_OK);
  EXPECT(f, o, DDK_DTYPE_FLOAT32, NSZ(6), WANT(kNaN, kNaN, kNaN, kNaN, kNaN, kNaN), 0);

  uint32_t i8 = in_t(f, DDK_DTYPE_INT8, NSZ(4), (const int8_t[]){-128, -5, 3, 127});
  o = out_t(f); /* integer limits truncate: [-1.9, 2.9] -> [-1, 2] */
  STATUS(RUN(f, ATEN_HARDTANH, aten_hardtanh, o, ARG_T(i8), ARG_F(-1.9), ARG_F(2.9)), DDK_OK);
  EXPECT(f, o, DDK_DTYPE_INT8, NSZ(4), WANT(-1, -1, 2, 2), 0);
  o = out_t(f); /* limits beyond int8 compare in int64 */
  STATUS(RUN(f, ATEN_HARDTANH, aten_hardtanh, o, ARG_T(i8), ARG_I(-200), ARG_I(200)), DDK_OK);
  EXPECT(f, o, DDK_DTYPE_INT8, NSZ(4), WANT(-128, -5, 3, 127), 0);
  o = out_t(f);
  STATUS(RUN(f, ATEN_HARDTANH, aten_hardtanh, o, ARG_T(i8), ARG_I(200), ARG_I(300)),
         DDK_INVALID_ARGUMENT);
  o = out_t(f);
  STATUS(RUN(f, ATEN_RELU, aten_relu, o, ARG_T(i8)), DDK_OK);
  EXPECT(f, o, DDK_DTYPE_INT8, NSZ(4), WANT(0, 0, 3, 127), 0);
  uint32_t bl = in_t(f, DDK_DTYPE_BOOL, NSZ(1), (const uint8_t[]){1});
  o = out_t(f);
  STATUS(RUN(f, ATEN_RELU, aten_relu, o, ARG_T(bl)), DDK_UNSUPPORTED_DTYPE);
  uint32_t h = in_t(f, DDK_DTYPE_FLOAT16, NSZ(1), (const uint16_t[]){0x3C00});
  o = out_t(f); /* float16 limits are range-checked against float16 */
  STATUS(RUN(f, ATEN_HARDTANH, aten_hardtanh, o, ARG_T(h), ARG_F(-1e6), ARG_F(1)),
         DDK_INVALID_ARGUMENT);

  f = fx_reset();
  x = in_t(f, DDK_DTYPE_FLOAT32, NSZ(4), (const float[]){0, -INFINITY, INFINITY, NAN});
  o = out_t(f);
  STATUS(RUN(f, ATEN_SIGMOID, aten_sigmoid, o, ARG_T(x)), DDK_OK);
  EXPECT(f, o, DDK_DTYPE_FLOAT32, NSZ(4), WANT(0.5, 0, 1, kNaN), 0);
  o = out_t(f);
  STATUS(RUN(f, ATEN_TANH, aten_tanh, o, ARG_T(x)), DDK_OK);
  EXPECT(f, o, DDK_DTYPE_FLOAT32, NSZ(4), WANT(0, -1, 1, kNaN), 0);
  uint32_t xi = in_t(f, DDK_DTYPE_INT64, NSZ(2), (const int64_t[]){0, 1});
  o = out_t(f); /* integer input gives float32; sigmoid(1) = 0.7310585786 */
  STATUS(RUN(f, ATEN_SIGMOID, aten_sigmoid, o, ARG_T(xi)), DDK_OK);
  EXPECT(f, o, DDK_DTYPE_FLOAT32, NSZ(2), WANT(0.5, 0.7310585786300049), 1e-7);
  uint32_t xd = in_t(f, DDK_DTYPE_FLOAT64, NSZ(2), (const double[]){1, -0.5});
  o = out_t(f); /* tanh(1), tanh(-0.5) */
  STATUS(RUN(f, ATEN_TANH, aten_tanh, o, ARG_T(xd)), DDK_OK);
  EXPECT(f, o, DDK_DTYPE_FLOAT64, NSZ(2), WANT(0.7615941559557649, -0.46211715726000974), 1e-15);
}

/* ------------------------------------------------------------------------ */
/* Matmul                                                                   */
/* ------------------------------------------------------------------------ */

static void test_matmul(void) {
  fixture* f = fx_reset();
  uint32_t a = in_t(f, DDK_DTYPE_FLOAT32, NSZ(2, 2), (const float[]){1, 2, 3, 4});
  uint32_t b = in_t(f, DDK_DTYPE_FLOAT32, NSZ(2, 2), (const float[]){5, 6, 7, 8});
  uint32_t o = out_t(f);
  STATUS(RUN(f, ATEN_MM, aten_mm, o, ARG_T(a), ARG_T(b)), DDK_OK);
  EXPECT(f, o, DDK_DTYPE_FLOAT32, NSZ(2, 2), WANT(19, 22, 43, 50), 0);
  /* addmm: beta 0 ignores NaN in self; alpha 2 */
  uint32_t s = in_t(f, DDK_DTYPE_FLOAT32, NSZ(2), (const float[]){NAN, 1});
  o = out_t(f);
  STATUS(RUN(f, ATEN_ADDMM, aten_addmm, o, ARG_T(s), ARG_T(a), ARG_T(b), ARG_I(0), ARG_I(2)),
         DDK_OK);
  EXPECT(f, o, DDK_DTYPE_FLOAT32, NSZ(2, 2), WANT(38, 44, 86, 100), 0);
  o = out_t(f); /* beta 1: self broadcast over rows */
  STATUS(RUN(f, ATEN_ADDMM, aten_addmm, o, ARG_T(s), ARG_T(a), ARG_T(b), ARG_I(1), ARG_I(1)),
         DDK_OK);
  EXPECT(f, o, DDK_DTYPE_FLOAT32, NSZ(2, 2), WANT(kNaN, 23, kNaN, 51), 0);
  /* transposed mat2 view (strides 1, 2) is read in place */
  f->v[b].strides[0] = 1;
  f->v[b].strides[1] = 2;
  o = out_t(f);
  STATUS(RUN(f, ATEN_MM, aten_mm, o, ARG_T(a), ARG_T(b)), DDK_OK);
  EXPECT(f, o, DDK_DTYPE_FLOAT32, NSZ(2, 2), WANT(17, 23, 39, 53), 0);

  /* int8 wraps: 100 * 3 = 300 -> 44; integer alpha/beta */
  f = fx_reset();
  uint32_t ia = in_t(f, DDK_DTYPE_INT8, NSZ(1, 1), (const int8_t[]){100});
  uint32_t ib = in_t(f, DDK_DTYPE_INT8, NSZ(1, 1), (const int8_t[]){3});
  o = out_t(f);
  STATUS(RUN(f, ATEN_MM, aten_mm, o, ARG_T(ia), ARG_T(ib)), DDK_OK);
  EXPECT(f, o, DDK_DTYPE_INT8, NSZ(1, 1), WANT(44), 0);
  uint32_t fb = in_t(f, DDK_DTYPE_FLOAT32, NSZ(1, 1), (const float[]){3});
  o = out_t(f);
  STATUS(RUN(f, ATEN_MM, aten_mm, o, ARG_T(ia), ARG_T(fb)), DDK_DTYPE_MISMATCH);
  uint32_t bo = in_t(f, DDK_DTYPE_BOOL, NSZ(1, 1), (const uint8_t[]){1});
  o = out_t(f);
  STATUS(RUN(f, ATEN_MM, aten_mm, o, ARG_T(bo), ARG_T(bo)), DDK_UNSUPPORTED_DTYPE);
  uint32_t v3 = in_t(f, DDK_DTYPE_INT8, NSZ(3, 1), (const int8_t[]){1, 2, 3});
  o = out_t(f);
  STATUS(RUN(f, ATEN_MM, aten_mm, o, ARG_T(v3), ARG_T(v3)), DDK_SHAPE_MISMATCH);

  /* Tiles: 7x70 @ 70x67 small integers in float32 (exact), checked against
   * a plain triple loop; exercises partial MB/NB/KC tiles. */
  f = fx_reset();
  static float A[7 * 70], B[70 * 67];
  static double R[7 * 67];
  for (int i = 0; i < 7 * 70; ++i) A[i] = (float)((i * 7) % 11 - 5);
  for (int i = 0; i < 70 * 67; ++i) B[i] = (float)((i * 5) % 13 - 6);
  for (int i = 0; i < 7; ++i)
    for (int j = 0; j < 67; ++j) {
      double acc = 0;
      for (int k = 0; k < 70; ++k) acc += (double)A[i * 70 + k] * B[k * 67 + j];
      R[i * 67 + j] = acc;
    }
  a = in_t(f, DDK_DTYPE_FLOAT32, NSZ(7, 70), A);
  b = in_t(f, DDK_DTYPE_FLOAT32, NSZ(70, 67), B);
  o = out_t(f);
  STATUS(RUN(f, ATEN_MM, aten_mm, o, ARG_T(a), ARG_T(b)), DDK_OK);
  EXPECT(f, o, DDK_DTYPE_FLOAT32, NSZ(7, 67), R, 0);

  /* bmm: two batches of [1,2] @ [2,1]; float64 */
  f = fx_reset();
  a = in_t(f, DDK_DTYPE_FLOAT64, NSZ(2, 1, 2), (const double[]){1, 2, 3, 4});
  b = in_t(f, DDK_DTYPE_FLOAT64, NSZ(2, 2, 1), (const double[]){5, 6, 7, 8});
  o = out_t(f);
  STATUS(RUN(f, ATEN_BMM, aten_bmm, o, ARG_T(a), ARG_T(b)), DDK_OK);
  EXPECT(f, o, DDK_DTYPE_FLOAT64, NSZ(2, 1, 1), WANT(17, 53), 0);
  /* float16 accumulates in float and rounds once: 2048 + 1 + 1 = 2050
   * (a float16 running sum would stick at 2048) */
  uint32_t ha = in_t(f, DDK_DTYPE_FLOAT16, NSZ(1, 3), (const uint16_t[]){0x6800, 0x3C00, 0x3C00});
  uint32_t hb = in_t(f, DDK_DTYPE_FLOAT16, NSZ(3, 1), (const uint16_t[]){0x3C00, 0x3C00, 0x3C00});
  o = out_t(f);
  STATUS(RUN(f, ATEN_MM, aten_mm, o, ARG_T(ha), ARG_T(hb)), DDK_OK);
  EXPECT(f, o, DDK_DTYPE_FLOAT16, NSZ(1, 1), WANT(2050), 0);
}

/* ------------------------------------------------------------------------ */
/* Convolution                                                              */
/* ------------------------------------------------------------------------ */

#define CONV_ARGS(x, w, b, stride, pad, dil, tr, opad, groups) \
  ARG_T(x), ARG_T(w), b, stride, pad, dil, ARG_B(tr), opad, ARG_I(groups)

static void test_convolution(void) {
  fixture* f = fx_reset();
  uint32_t x =
      in_t(f, DDK_DTYPE_FLOAT32, NSZ(1, 1, 3, 3), (const float[]){1, 2, 3, 4, 5, 6, 7, 8, 9});
  uint32_t w = in_t(f, DDK_DTYPE_FLOAT32, NSZ(1, 1, 2, 2), (const float[]){1, 0, 0, 1});
  uint32_t b = in_t(f, DDK_DTYPE_FLOAT32, NSZ(1), (const float[]){10});
  uint32_t o = out_t(f);
  STATUS(
      RUN(f, ATEN_CONVOLUTION, aten_convolution, o,
          CONV_ARGS(x, w, ARG_T(b), ARG_L(1, 1), ARG_L(0, 0), ARG_L(1, 1), false, ARG_L(0, 0), 1)),
      DDK_OK);
  EXPECT(f, o, DDK_DTYPE_FLOAT32, NSZ(1, 1, 2, 2), WANT(16, 18, 22, 24), 0);
  o = out_t(f); /* padding 1, stride 2, one-element lists */
  STATUS(RUN(f, ATEN_CONVOLUTION, aten_convolution, o,
             CONV_ARGS(x, w, ARG_NONE, ARG_L(2), ARG_L(1), ARG_L(1), false, ARG_L(0), 1)),
         DDK_OK);
  EXPECT(f, o, DDK_DTYPE_FLOAT32, NSZ(1, 1, 2, 2), WANT(1, 3, 7, 14), 0);
  /* channels-last input [1,2,2,2] read in place; 1x1 weight {1, 10} */
  uint32_t cl =
      in_t(f, DDK_DTYPE_FLOAT32, NSZ(1, 2, 2, 2), (const float[]){1, 2, 3, 4, 5, 6, 7, 8});
  f->v[cl].strides[1] = 1; /* memory order n, h, w, c: c0 = 1,3,5,7 */
  f->v[cl].strides[2] = 4;
  f->v[cl].strides[3] = 2;
  uint32_t w1 = in_t(f, DDK_DTYPE_FLOAT32, NSZ(1, 2, 1, 1), (const float[]){1, 10});
  o = out_t(f);
  STATUS(RUN(f, ATEN_CONVOLUTION, aten_convolution, o,
             CONV_ARGS(cl, w1, ARG_NONE, ARG_L(1), ARG_L(0), ARG_L(1), false, ARG_L(0), 1)),
         DDK_OK);
  EXPECT(f, o, DDK_DTYPE_FLOAT32, NSZ(1, 1, 2, 2), WANT(21, 43, 65, 87), 0);

  /* 1-d, groups 2 (depthwise) */
  f = fx_reset();
  x = in_t(f, DDK_DTYPE_FLOAT64, NSZ(1, 2, 4), (const double[]){1, 2, 3, 4, 10, 20, 30, 40});
  w = in_t(f, DDK_DTYPE_FLOAT64, NSZ(2, 1, 2), (const double[]){1, 1, 1, -1});
  o = out_t(f);
  STATUS(RUN(f, ATEN_CONVOLUTION, aten_convolution, o,
             CONV_ARGS(x, w, ARG_NONE, ARG_L(1), ARG_L(0), ARG_L(1), false, ARG_L(0), 2)),
         DDK_OK);
  EXPECT(f, o, DDK_DTYPE_FLOAT64, NSZ(1, 2, 3), WANT(3, 5, 7, -10, -10, -10), 0);
  /* dilation 2: taps 2 apart */
  uint32_t x5 = in_t(f, DDK_DTYPE_FLOAT64, NSZ(1, 1, 5), (const double[]){1, 2, 3, 4, 5});
  uint32_t w2 = in_t(f, DDK_DTYPE_FLOAT64, NSZ(1, 1, 2), (const double[]){1, 1});
  o = out_t(f);
  STATUS(RUN(f, ATEN_CONVOLUTION, aten_convolution, o,
             CONV_ARGS(x5, w2, ARG_NONE, ARG_L(1), ARG_L(0), ARG_L(2), false, ARG_L(0), 1)),
         DDK_OK);
  EXPECT(f, o, DDK_DTYPE_FLOAT64, NSZ(1, 1, 3), WANT(4, 6, 8), 0);
  /* transposed, stride 2: {1,2} scatter {1,10,100} */
  uint32_t xt = in_t(f, DDK_DTYPE_FLOAT64, NSZ(1, 1, 2), (const double[]){1, 2});
  uint32_t wt = in_t(f, DDK_DTYPE_FLOAT64, NSZ(1, 1, 3), (const double[]){1, 10, 100});
  o = out_t(f);
  STATUS(RUN(f, ATEN_CONVOLUTION, aten_convolution, o,
             CONV_ARGS(xt, wt, ARG_NONE, ARG_L(2), ARG_L(0), ARG_L(1), true, ARG_L(0), 1)),
         DDK_OK);
  EXPECT(f, o, DDK_DTYPE_FLOAT64, NSZ(1, 1, 5), WANT(1, 10, 102, 20, 200), 0);
  o = out_t(f); /* output_padding 1 appends one position */
  STATUS(RUN(f, ATEN_CONVOLUTION, aten_convolution, o,
             CONV_ARGS(xt, wt, ARG_NONE, ARG_L(2), ARG_L(0), ARG_L(1), true, ARG_L(1), 1)),
         DDK_OK);
  EXPECT(f, o, DDK_DTYPE_FLOAT64, NSZ(1, 1, 6), WANT(1, 10, 102, 20, 200, 0), 0);
  o = out_t(f); /* padding 1 trims one position each side */
  STATUS(RUN(f, ATEN_CONVOLUTION, aten_convolution, o,
             CONV_ARGS(xt, wt, ARG_NONE, ARG_L(2), ARG_L(1), ARG_L(1), true, ARG_L(0), 1)),
         DDK_OK);
  EXPECT(f, o, DDK_DTYPE_FLOAT64, NSZ(1, 1, 3), WANT(10, 102, 20), 0);
  o = out_t(f); /* output_padding must be below stride or dilation */
  STATUS(RUN(f, ATEN_CONVOLUTION, aten_convolution, o,
             CONV_ARGS(xt, wt, ARG_NONE, ARG_L(1), ARG_L(0), ARG_L(1), true, ARG_L(1), 1)),
         DDK_INVALID_ARGUMENT);
  o = out_t(f); /* groups must divide the channels */
  STATUS(RUN(f, ATEN_CONVOLUTION, aten_convolution, o,
             CONV_ARGS(x5, w2, ARG_NONE, ARG_L(1), ARG_L(0), ARG_L(1), false, ARG_L(0), 2)),
         DDK_SHAPE_MISMATCH);

  /* 3-d: ones 2x2x2 with ones kernel = 8, plus bias 0.5 */
  f = fx_reset();
  float ones[27];
  for (int i = 0; i < 27; ++i) ones[i] = 1.0f;
  x = in_t(f, DDK_DTYPE_FLOAT32, NSZ(1, 1, 2, 2, 2), ones);
  w = in_t(f, DDK_DTYPE_FLOAT32, NSZ(1, 1, 2, 2, 2), ones);
  b = in_t(f, DDK_DTYPE_FLOAT32, NSZ(1), (const float[]){0.5f});
  o = out_t(f);
  STATUS(RUN(f, ATEN_CONVOLUTION, aten_convolution, o,
             CONV_ARGS(x, w, ARG_T(b), ARG_L(1), ARG_L(0), ARG_L(1), false, ARG_L(0), 1)),
         DDK_OK);
  EXPECT(f, o, DDK_DTYPE_FLOAT32, NSZ(1, 1, 1, 1, 1), WANT(8.5), 0);
  o = out_t(f); /* kernel larger than the padded input */
  uint32_t big = in_t(f, DDK_DTYPE_FLOAT32, NSZ(1, 1, 3, 3, 3), ones);
  STATUS(RUN(f, ATEN_CONVOLUTION, aten_convolution, o,
             CONV_ARGS(x, big, ARG_NONE, ARG_L(1), ARG_L(0), ARG_L(1), false, ARG_L(0), 1)),
         DDK_SHAPE_MISMATCH);

  /* int8 wraps: 100 * (1+2+3+4) = 1000 -> -24, bias 5 -> -19 */
  f = fx_reset();
  const int8_t hundreds[9] = {100, 100, 100, 100, 100, 100, 100, 100, 100};
  x = in_t(f, DDK_DTYPE_INT8, NSZ(1, 1, 3, 3), hundreds);
  w = in_t(f, DDK_DTYPE_INT8, NSZ(1, 1, 2, 2), (const int8_t[]){1, 2, 3, 4});
  b = in_t(f, DDK_DTYPE_INT8, NSZ(1), (const int8_t[]){5});
  o = out_t(f);
  STATUS(RUN(f, ATEN_CONVOLUTION, aten_convolution, o,
             CONV_ARGS(x, w, ARG_T(b), ARG_L(1), ARG_L(0), ARG_L(1), false, ARG_L(0), 1)),
         DDK_OK);
  EXPECT(f, o, DDK_DTYPE_INT8, NSZ(1, 1, 2, 2), WANT(-19, -19, -19, -19), 0);
  o = out_t(f); /* ATen has no int8 transposed convolution */
  STATUS(RUN(f, ATEN_CONVOLUTION, aten_convolution, o,
             CONV_ARGS(x, w, ARG_NONE, ARG_L(1), ARG_L(0), ARG_L(1), true, ARG_L(0), 1)),
         DDK_UNSUPPORTED_DTYPE);
  uint32_t wf = in_t(f, DDK_DTYPE_FLOAT32, NSZ(1, 1, 2, 2), (const float[]){1, 2, 3, 4});
  o = out_t(f);
  STATUS(RUN(f, ATEN_CONVOLUTION, aten_convolution, o,
             CONV_ARGS(x, wf, ARG_NONE, ARG_L(1), ARG_L(0), ARG_L(1), false, ARG_L(0), 1)),
         DDK_DTYPE_MISMATCH);
}

/* ------------------------------------------------------------------------ */
/* Pooling                                                                  */
/* ------------------------------------------------------------------------ */

static void test_pooling(void) {
  fixture* f = fx_reset();
  uint32_t x =
      in_t(f, DDK_DTYPE_FLOAT32, NSZ(1, 1, 3, 3), (const float[]){1, 2, 3, 4, 5, 6, 7, 8, 9});
  uint32_t o = out_t(f), idx = out_t(f);
  STATUS(run(f, DDK_OP_ATEN_MAX_POOL2D_WITH_INDICES, "max_pool2d_with_indices",
             ddk_kernel_aten_max_pool2d_with_indices,
             ARGS(ARG_T(x), ARG_L(2, 2), ARG_L(1, 1), ARG_L(0), ARG_L(1), ARG_B(false)), o, idx),
         DDK_OK);
  EXPECT(f, o, DDK_DTYPE_FLOAT32, NSZ(1, 1, 2, 2), WANT(5, 6, 8, 9), 0);
  EXPECT(f, idx, DDK_DTYPE_INT64, NSZ(1, 1, 2, 2), WANT(4, 5, 7, 8), 0);
  /* NaN wins and the LAST NaN's index is reported; ties keep the first */
  uint32_t xn = in_t(f, DDK_DTYPE_FLOAT32, NSZ(1, 2, 2), (const float[]){1, NAN, NAN, 5});
  o = out_t(f);
  idx = out_t(f);
  STATUS(run(f, DDK_OP_ATEN_MAX_POOL2D_WITH_INDICES, "max_pool2d_with_indices",
             ddk_kernel_aten_max_pool2d_with_indices,
             ARGS(ARG_T(xn), ARG_L(2), ARG_EMPTY_L, ARG_L(0), ARG_L(1), ARG_B(false)), o, idx),
         DDK_OK);
  EXPECT(f, o, DDK_DTYPE_FLOAT32, NSZ(1, 1, 1), WANT(kNaN), 0);
  EXPECT(f, idx, DDK_DTYPE_INT64, NSZ(1, 1, 1), WANT(2), 0);
  uint32_t xt = in_t(f, DDK_DTYPE_INT32, NSZ(1, 2, 2), (const int32_t[]){-5, -3, -7, -3});
  o = out_t(f);
  idx = out_t(f); /* padding 1 stride 1: windows clipped; all-negative ints */
  STATUS(run(f, DDK_OP_ATEN_MAX_POOL2D_WITH_INDICES, "max_pool2d_with_indices",
             ddk_kernel_aten_max_pool2d_with_indices,
             ARGS(ARG_T(xt), ARG_L(2), ARG_L(1), ARG_L(1), ARG_L(1), ARG_B(false)), o, idx),
         DDK_OK);
  EXPECT(f, o, DDK_DTYPE_INT32, NSZ(1, 3, 3), WANT(-5, -3, -3, -5, -3, -3, -7, -3, -3), 0);
  EXPECT(f, idx, DDK_DTYPE_INT64, NSZ(1, 3, 3), WANT(0, 1, 1, 0, 1, 1, 2, 3, 3), 0);
  o = out_t(f);
  idx = out_t(f); /* padding above half the kernel */
  STATUS(run(f, DDK_OP_ATEN_MAX_POOL2D_WITH_INDICES, "max_pool2d_with_indices",
             ddk_kernel_aten_max_pool2d_with_indices,
             ARGS(ARG_T(xt), ARG_L(2), ARG_L(1), ARG_L(2), ARG_L(1), ARG_B(false)), o, idx),
         DDK_INVALID_ARGUMENT);

  /* avg pool 5x5 arange, k2 s2 p1, ceil mode, with/without padded count */
  f = fx_reset();
  float ar[25];
  for (int i = 0; i < 25; ++i) ar[i] = (float)i;
  x = in_t(f, DDK_DTYPE_FLOAT32, NSZ(1, 1, 5, 5), ar);
  o = out_t(f);
  STATUS(RUN(f, ATEN_AVG_POOL2D, aten_avg_pool2d, o, ARG_T(x), ARG_L(2, 2), ARG_L(2, 2),
             ARG_L(1, 1), ARG_B(true), ARG_B(true), ARG_NONE),
         DDK_OK);
  EXPECT(f, o, DDK_DTYPE_FLOAT32, NSZ(1, 1, 3, 3), WANT(0, 0.75, 1.75, 3.75, 9, 11, 8.75, 19, 21),
         0);
  o = out_t(f);
  STATUS(RUN(f, ATEN_AVG_POOL2D, aten_avg_pool2d, o, ARG_T(x), ARG_L(2, 2), ARG_L(2, 2),
             ARG_L(1, 1), ARG_B(true), ARG_B(false), ARG_NONE),
         DDK_OK);
  EXPECT(f, o, DDK_DTYPE_FLOAT32, NSZ(1, 1, 3, 3), WANT(0, 1.5, 3.5, 7.5, 9, 11, 17.5, 19, 21), 0);
  o = out_t(f); /* divisor_override 1: window sums, floor mode gives 2x2 */
  STATUS(RUN(f, ATEN_AVG_POOL2D, aten_avg_pool2d, o, ARG_T(x), ARG_L(2), ARG_EMPTY_L, ARG_L(0),
             ARG_B(false), ARG_B(true), ARG_I(1)),
         DDK_OK);
  EXPECT(f, o, DDK_DTYPE_FLOAT32, NSZ(1, 1, 2, 2), WANT(12, 20, 52, 60), 0);
  o = out_t(f);
  STATUS(RUN(f, ATEN_AVG_POOL2D, aten_avg_pool2d, o, ARG_T(x), ARG_L(2), ARG_EMPTY_L, ARG_L(0),
             ARG_B(false), ARG_B(true), ARG_I(0)),
         DDK_INVALID_ARGUMENT);
  /* int64 divides with truncation: 18/4 = 4, -18/4 = -4 */
  uint32_t xi =
      in_t(f, DDK_DTYPE_INT64, NSZ(2, 2, 2), (const int64_t[]){1, 2, 7, 8, -1, -2, -7, -8});
  o = out_t(f);
  STATUS(RUN(f, ATEN_AVG_POOL2D, aten_avg_pool2d, o, ARG_T(xi), ARG_L(2), ARG_EMPTY_L, ARG_L(0),
             ARG_B(false), ARG_B(true), ARG_NONE),
         DDK_OK);
  EXPECT(f, o, DDK_DTYPE_INT64, NSZ(2, 1, 1), WANT(4, -4), 0);
  uint32_t x32 = in_t(f, DDK_DTYPE_INT32, NSZ(1, 2, 2), (const int32_t[]){1, 2, 3, 4});
  o = out_t(f); /* ATen has no int32 avg_pool2d */
  STATUS(RUN(f, ATEN_AVG_POOL2D, aten_avg_pool2d, o, ARG_T(x32), ARG_L(2), ARG_EMPTY_L, ARG_L(0),
             ARG_B(false), ARG_B(true), ARG_NONE),
         DDK_UNSUPPORTED_DTYPE);
  o = out_t(f); /* output would be empty */
  STATUS(RUN(f, ATEN_AVG_POOL2D, aten_avg_pool2d, o, ARG_T(x32), ARG_L(3), ARG_EMPTY_L, ARG_L(0),
             ARG_B(false), ARG_B(true), ARG_NONE),
         DDK_SHAPE_MISMATCH);
}

/* ------------------------------------------------------------------------ */
/* Softmax, mean                                                            */
/* ------------------------------------------------------------------------ */

static void test_softmax_mean(void) {
  fixture* f = fx_reset();
  /* rows: {0, ln 2} -> {1/3, 2/3}; {1, NaN} -> NaN; {-inf, -inf} -> NaN;
   * {-inf, 0} -> {0, 1}; {1000, 1000} -> {0.5, 0.5} (max subtracted) */
  uint32_t x =
      in_t(f, DDK_DTYPE_FLOAT32, NSZ(5, 2),
           (const float[]){0, 0.69314718f, 1, NAN, -INFINITY, -INFINITY, -INFINITY, 0, 1000, 1000});
  uint32_t o = out_t(f);
  STATUS(RUN(f, ATEN_SOFTMAX, aten_softmax, o, ARG_T(x), ARG_I(-1), ARG_B(false)), DDK_OK);
  EXPECT(f, o, DDK_DTYPE_FLOAT32, NSZ(5, 2),
         WANT(1.0 / 3, 2.0 / 3, kNaN, kNaN, kNaN, kNaN, 0, 1, 0.5, 0.5), 1e-7);
  /* along dim 0 of [2,2] {0,0,ln3,0}: column 0 -> {1/4, 3/4}, column 1 -> 1/2 */
  uint32_t y = in_t(f, DDK_DTYPE_FLOAT64, NSZ(2, 2), (const double[]){0, 0, log(3.0), 0});
  o = out_t(f);
  STATUS(RUN(f, ATEN_SOFTMAX, aten_softmax, o, ARG_T(y), ARG_I(0), ARG_B(false)), DDK_OK);
  EXPECT(f, o, DDK_DTYPE_FLOAT64, NSZ(2, 2), WANT(0.25, 0.5, 0.75, 0.5), 1e-15);
  uint32_t s = in_t(f, DDK_DTYPE_FLOAT32, SHAPE0, (const float[]){42});
  o = out_t(f);
  STATUS(RUN(f, ATEN_SOFTMAX, aten_softmax, o, ARG_T(s), ARG_I(0), ARG_B(false)), DDK_OK);
  EXPECT(f, o, DDK_DTYPE_FLOAT32, SHAPE0, WANT(1), 0);
  o = out_t(f);
  STATUS(RUN(f, ATEN_SOFTMAX, aten_softmax, o, ARG_T(y), ARG_I(2), ARG_B(false)), DDK_OUT_OF_RANGE);
  uint32_t xi = in_t(f, DDK_DTYPE_INT64, NSZ(2), (const int64_t[]){1, 2});
  o = out_t(f);
  STATUS(RUN(f, ATEN_SOFTMAX, aten_softmax, o, ARG_T(xi), ARG_I(0), ARG_B(false)),
         DDK_UNSUPPORTED_DTYPE);

  f = fx_reset();
  x = in_t(f, DDK_DTYPE_FLOAT32, NSZ(2, 3), (const float[]){1, 2, 3, 4, 5, 6});
  o = out_t(f);
  STATUS(RUN(f, ATEN_MEAN_DIM, aten_mean_dim, o, ARG_T(x), ARG_L(1), ARG_B(false), ARG_NONE),
         DDK_OK);
  EXPECT(f, o, DDK_DTYPE_FLOAT32, NSZ(2), WANT(2, 5), 0);
  o = out_t(f);
  STATUS(RUN(f, ATEN_MEAN_DIM, aten_mean_dim, o, ARG_T(x), ARG_L(-2), ARG_B(true), ARG_NONE),
         DDK_OK);
  EXPECT(f, o, DDK_DTYPE_FLOAT32, NSZ(1, 3), WANT(2.5, 3.5, 4.5), 0);
  o = out_t(f); /* None and [] reduce everything */
  STATUS(RUN(f, ATEN_MEAN_DIM, aten_mean_dim, o, ARG_T(x), ARG_NONE, ARG_B(false), ARG_NONE),
         DDK_OK);
  EXPECT(f, o, DDK_DTYPE_FLOAT32, SHAPE0, WANT(3.5), 0);
  o = out_t(f);
  STATUS(RUN(f, ATEN_MEAN_DIM, aten_mean_dim, o, ARG_T(x), ARG_EMPTY_L, ARG_B(true),
             ARG_DT(DDK_DTYPE_FLOAT64)),
         DDK_OK);
  EXPECT(f, o, DDK_DTYPE_FLOAT64, NSZ(1, 1), WANT(3.5), 0);
  o = out_t(f);
  STATUS(RUN(f, ATEN_MEAN_DIM, aten_mean_dim, o, ARG_T(x), ARG_L(1, -1), ARG_B(false), ARG_NONE),
         DDK_INVALID_ARGUMENT);
  /* integers need a floating dtype; with one they are cast first */
  xi = in_t(f, DDK_DTYPE_INT64, NSZ(3), (const int64_t[]){1, 2, 4});
  o = out_t(f);
  STATUS(RUN(f, ATEN_MEAN_DIM, aten_mean_dim, o, ARG_T(xi), ARG_L(0), ARG_B(false), ARG_NONE),
         DDK_UNSUPPORTED_DTYPE);
  o = out_t(f);
  STATUS(RUN(f, ATEN_MEAN_DIM, aten_mean_dim, o, ARG_T(xi), ARG_L(0), ARG_B(false),
             ARG_DT(DDK_DTYPE_FLOAT32)),
         DDK_OK);
  EXPECT(f, o, DDK_DTYPE_FLOAT32, SHAPE0, WANT(7.0 / 3), 1e-7);
  /* empty reduction is NaN */
  uint32_t e = in_t(f, DDK_DTYPE_FLOAT32, NSZ(0, 2), (const float[]){0});
  o = out_t(f);
  STATUS(RUN(f, ATEN_MEAN_DIM, aten_mean_dim, o, ARG_T(e), ARG_L(0), ARG_B(false), ARG_NONE),
         DDK_OK);
  EXPECT(f, o, DDK_DTYPE_FLOAT32, NSZ(2), WANT(kNaN, kNaN), 0);
  /* float16: 2048 + 1 + 1 summed in float, /3 = 683.33 -> 683.5 in float16 */
  uint32_t h = in_t(f, DDK_DTYPE_FLOAT16, NSZ(3), (const uint16_t[]){0x6800, 0x3C00, 0x3C00});
  o = out_t(f);
  STATUS(RUN(f, ATEN_MEAN_DIM, aten_mean_dim, o, ARG_T(h), ARG_L(0), ARG_B(false), ARG_NONE),
         DDK_OK);
  EXPECT(f, o, DDK_DTYPE_FLOAT16, SHAPE0, WANT(683.5), 0);
}

/* ------------------------------------------------------------------------ */
/* Data movement                                                            */
/* ------------------------------------------------------------------------ */

static void test_data_movement(void) {
  fixture* f = fx_reset();
  /* a [2,3] whose storage is transposed: logical {1..6} */
  uint32_t t = in_t(f, DDK_DTYPE_INT16, NSZ(2, 3), (const int16_t[]){1, 4, 2, 5, 3, 6});
  f->v[t].strides[0] = 1;
  f->v[t].strides[1] = 2;
  uint32_t o = out_t(f);
  STATUS(RUN(f, ATEN_VIEW, aten_view, o, ARG_T(t), ARG_L(3, -1)), DDK_OK);
  EXPECT(f, o, DDK_DTYPE_INT16, NSZ(3, 2), WANT(1, 2, 3, 4, 5, 6), 0);
  o = out_t(f);
  STATUS(RUN(f, ATEN_VIEW, aten_view, o, ARG_T(t), ARG_L(4, -1)), DDK_SHAPE_MISMATCH);
  o = out_t(f);
  STATUS(RUN(f, ATEN_VIEW, aten_view, o, ARG_T(t), ARG_L(-1, -1)), DDK_INVALID_ARGUMENT);
  o = out_t(f);
  STATUS(RUN(f, ATEN_PERMUTE, aten_permute, o, ARG_T(t), ARG_L(-1, 0)), DDK_OK);
  EXPECT(f, o, DDK_DTYPE_INT16, NSZ(3, 2), WANT(1, 4, 2, 5, 3, 6), 0);
  o = out_t(f);
  STATUS(RUN(f, ATEN_PERMUTE, aten_permute, o, ARG_T(t), ARG_L(1, 1)), DDK_INVALID_ARGUMENT);
  o = out_t(f);
  STATUS(RUN(f, ATEN_CLONE, aten_clone, o, ARG_T(t), ARG_NONE), DDK_OK);
  EXPECT(f, o, DDK_DTYPE_INT16, NSZ(2, 3), WANT(1, 2, 3, 4, 5, 6), 0);
  CHECK(f->v[o].strides[0] == 3 && f->v[o].strides[1] == 1, "clone result is contiguous");

  /* complex values are copied as they are */
  uint32_t c = in_t(f, DDK_DTYPE_COMPLEX64, NSZ(2), (const float[]){1, 2, 3, 4});
  o = out_t(f);
  STATUS(RUN(f, ATEN_PERMUTE, aten_permute, o, ARG_T(c), ARG_L(0)), DDK_OK);
  CHECK(memcmp(f->v[o].data, f->v[c].data, 16) == 0, "complex permute copies bytes");

  /* cat along dim 1 with promotion int32 + float32 -> float32, and a
   * legacy empty 1-d tensor skipped */
  f = fx_reset();
  uint32_t a = in_t(f, DDK_DTYPE_INT32, NSZ(2, 1), (const int32_t[]){1, 2});
  uint32_t b = in_t(f, DDK_DTYPE_FLOAT32, NSZ(2, 2), (const float[]){3.5f, 4.5f, 5.5f, 6.5f});
  uint32_t e = in_t(f, DDK_DTYPE_FLOAT32, NSZ(0), (const float[]){0});
  uint32_t list[3] = {a, e, b};
  o = out_t(f);
  STATUS(RUN(f, ATEN_CAT, aten_cat, o,
             ((ddk_arg){.kind = DDK_ARG_TENSOR_LIST, .count = 3, .u.tensors = list}), ARG_I(-1)),
         DDK_OK);
  EXPECT(f, o, DDK_DTYPE_FLOAT32, NSZ(2, 3), WANT(1, 3.5, 4.5, 2, 5.5, 6.5), 0);
  uint32_t bad[2] = {a, b};
  o = out_t(f); /* sizes differ off the cat dim */
  STATUS(RUN(f, ATEN_CAT, aten_cat, o,
             ((ddk_arg){.kind = DDK_ARG_TENSOR_LIST, .count = 2, .u.tensors = bad}), ARG_I(0)),
         DDK_SHAPE_MISMATCH);
  uint32_t z = in_t(f, DDK_DTYPE_FLOAT32, SHAPE0, (const float[]){1});
  uint32_t zl[1] = {z};
  o = out_t(f);
  STATUS(RUN(f, ATEN_CAT, aten_cat, o,
             ((ddk_arg){.kind = DDK_ARG_TENSOR_LIST, .count = 1, .u.tensors = zl}), ARG_I(0)),
         DDK_SHAPE_MISMATCH);
  o = out_t(f); /* an op id outside the table: no inference rule */
  STATUS(run(f, DDK_OP_COUNT, "aten::not_an_op", ddk_kernel_aten_clone, ARGS(ARG_T(a)), o,
             UINT32_MAX),
         DDK_UNSUPPORTED_OP);
}

int main(void) {
  test_binary();
  test_activation();
  test_matmul();
  test_convolution();
  test_pooling();
  test_softmax_mean();
  test_data_movement();
  return ddk_test_finish();
}
