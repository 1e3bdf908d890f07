/*
 * graph_compare_test.c — ddk_conform_graph_compare, the comparison of a
 * graph case's outputs: floats within atol + rtol * |want| (NaN meets NaN),
 * integers exact or within atol when atol >= 1 (quantized results may be a
 * rounding step off), bools exact, dtypes and shapes equal, and the
 * statistics it reports.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "conform.h"

static int failures;

#define CHECK(cond, what)                           \
  do {                                              \
    if (!(cond)) {                                  \
      printf("FAIL line %d: %s\n", __LINE__, what); \
      ++failures;                                   \
    }                                               \
  } while (0)

static ddk_tensor vec(ddk_dtype dtype, int64_t n, void* data) {
  ddk_tensor t;
  memset(&t, 0, sizeof t);
  t.header = (ddk_struct_header)DDK_STRUCT_HEADER_INIT(ddk_tensor);
  t.dtype = dtype;
  t.rank = 1;
  t.sizes[0] = n;
  t.strides[0] = 1;
  t.data = data;
  t.capacity = (size_t)n * ddk_dtype_size(dtype);
  return t;
}

static bool cmp1(const ddk_tensor* got, const ddk_tensor* want, double rtol, double atol,
                 ddk_conform_result* r) {
  const ddk_tensor* g[1] = {got};
  const ddk_tensor* w[1] = {want};
  ddk_conform_result_init(r);
  return ddk_conform_graph_compare(g, 1, w, 1, rtol, atol, r);
}

int main(void) {
  ddk_conform_result r;
  /* floats: atol + rtol * |want|, at the edge and just past it */
  {
    float want[3] = {100.0f, -2.0f, 0.0f};
    float got[3] = {100.5f, -2.0f, 0.25f}; /* 0.5 <= 0.25 + 0.0025 * 100; 0.25 <= 0.25 */
    ddk_tensor g = vec(DDK_DTYPE_FLOAT32, 3, got), w = vec(DDK_DTYPE_FLOAT32, 3, want);
    CHECK(cmp1(&g, &w, 0.0025, 0.25, &r), "within atol + rtol*|want|");
    CHECK(r.stats.max_abs == 0.5 && r.stats.worst == 0 && r.worst_output == 0, "max_abs, worst");
    CHECK(fabs(r.stats.bias - 0.75 / 3) < 1e-12, "bias is the mean difference");
    CHECK(fabs(r.stats.nmse - (0.25 + 0.0625) / (10000.0 + 4.0)) < 1e-15, "nmse");
    got[2] = 0.26f;
    CHECK(!cmp1(&g, &w, 0.0025, 0.25, &r), "past atol at 0");
    CHECK(r.stats.worst == 2 && r.stats.worst_got == (double)0.26f && r.stats.worst_want == 0.0,
          "the first failing element is the worst");
    CHECK(strstr(r.detail, "element 2") != NULL, "detail names the element");
    got[2] = 0.0f;
    got[0] = 100.51f;
    CHECK(!cmp1(&g, &w, 0.0025, 0.25, &r), "past rtol");
  }
  /* NaN meets NaN only; infinities must be equal */
  {
    float want[2] = {NAN, INFINITY}, got[2] = {NAN, INFINITY};
    ddk_tensor g = vec(DDK_DTYPE_FLOAT32, 2, got), w = vec(DDK_DTYPE_FLOAT32, 2, want);
    CHECK(cmp1(&g, &w, 0.1, 1.0, &r), "NaN == NaN, inf == inf");
    got[0] = 0.0f;
    CHECK(!cmp1(&g, &w, 0.1, 1e30, &r), "a number for NaN fails under any atol");
    got[0] = NAN;
    got[1] = 3e38f;
    CHECK(!cmp1(&g, &w, 0.1, 1e30, &r), "finite for inf fails");
  }
  /* float64 and float16 decode */
  {
    double want[1] = {1.0}, got[1] = {1.0 + 1e-9};
    ddk_tensor g = vec(DDK_DTYPE_FLOAT64, 1, got), w = vec(DDK_DTYPE_FLOAT64, 1, want);
    CHECK(cmp1(&g, &w, 0.0, 2e-9, &r) && !cmp1(&g, &w, 0.0, 5e-10, &r), "float64");
    uint16_t hw[1] = {0x3c00}, hg[1] = {0x3e00}; /* 1.0 and 1.5 */
    g = vec(DDK_DTYPE_FLOAT16, 1, hg);
    w = vec(DDK_DTYPE_FLOAT16, 1, hw);
    CHECK(cmp1(&g, &w, 0.0, 0.5, &r) && !cmp1(&g, &w, 0.0, 0.49, &r), "float16");
  }
  /* integers: exact below atol 1, within atol from 1 on */
  {
    int8_t want[3] = {-128, 5, 127}, got[3] = {-127, 5, 126};
    ddk_tensor g = vec(DDK_DTYPE_INT8, 3, got), w = vec(DDK_DTYPE_INT8, 3, want);
    CHECK(!cmp1(&g, &w, 0.5, 0.9, &r), "int8: atol < 1 means exact (rtol unused)");
    CHECK(cmp1(&g, &w, 0.0, 1.0, &r), "int8: one step off within atol 1");
    CHECK(r.stats.max_abs == 1.0, "int8 max_abs");
    got[1] = 7;
    CHECK(!cmp1(&g, &w, 0.0, 1.0, &r) && r.stats.worst == 1, "int8: two steps off");
    uint8_t uw[1] = {0}, ug[1] = {255};
    g = vec(DDK_DTYPE_UINT8, 1, ug);
    w = vec(DDK_DTYPE_UINT8, 1, uw);
    CHECK(!cmp1(&g, &w, 0.0, 1.0, &r) && r.stats.max_abs == 255.0, "uint8 is unsigned");
    int64_t lw[1] = {1ll << 40}, lg[1] = {(1ll << 40) + 1};
    g = vec(DDK_DTYPE_INT64, 1, lg);
    w = vec(DDK_DTYPE_INT64, 1, lw);
    CHECK(!cmp1(&g, &w, 0.0, 0.0, &r) && cmp1(&g, &w, 0.0, 1.0, &r), "int64");
  }
  /* bools: exact whatever atol says */
  {
    uint8_t want[2] = {1, 0}, got[2] = {1, 1};
    ddk_tensor g = vec(DDK_DTYPE_BOOL, 2, got), w = vec(DDK_DTYPE_BOOL, 2, want);
    CHECK(!cmp1(&g, &w, 0.0, 5.0, &r), "bool exact");
  }
  /* dtype, shape and output count must agree */
  {
    float f[2] = {0, 0};
    int32_t i[2] = {0, 0};
    ddk_tensor g = vec(DDK_DTYPE_FLOAT32, 2, f), w = vec(DDK_DTYPE_INT32, 2, i);
    CHECK(!cmp1(&g, &w, 1.0, 1.0, &r), "dtype differs");
    w = vec(DDK_DTYPE_FLOAT32, 1, f);
    CHECK(!cmp1(&g, &w, 1.0, 1.0, &r), "shape differs");
    const ddk_tensor* gs[2] = {&g, &g};
    const ddk_tensor* ws[1] = {&g};
    ddk_conform_result_init(&r);
    CHECK(!ddk_conform_graph_compare(gs, 2, ws, 1, 1.0, 1.0, &r), "output count differs");
  }
  /* statistics span outputs; the worst names its output */
  {
    float a[1] = {1.0f}, b[2] = {2.0f, 3.0f}, bw[2] = {2.0f, 3.5f};
    ddk_tensor g0 = vec(DDK_DTYPE_FLOAT32, 1, a), g1 = vec(DDK_DTYPE_FLOAT32, 2, b);
    ddk_tensor w1 = vec(DDK_DTYPE_FLOAT32, 2, bw);
    const ddk_tensor* gs[2] = {&g0, &g1};
    const ddk_tensor* ws[2] = {&g0, &w1};
    ddk_conform_result_init(&r);
    CHECK(ddk_conform_graph_compare(gs, 2, ws, 2, 0.0, 0.5, &r), "two outputs");
    CHECK(r.worst_output == 1 && r.stats.worst == 1 && r.stats.max_abs == 0.5, "worst output");
    CHECK(fabs(r.stats.bias - (-0.5 / 3)) < 1e-12, "bias over all elements");
  }
  if (failures == 0) printf("graph_compare_test: ok\n");
  return failures ? 1 : 0;
}
