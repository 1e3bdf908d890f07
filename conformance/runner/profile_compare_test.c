/*
 * profile_compare_test.c — ddk_case_compare under the accuracy profiles
 * (docs/tolerances.md, "Accuracy profiles"): a float32 result's whole bound
 * scales by eps(profile) / eps(float32) = 2^(23 - fraction bits of the
 * profile type); exact ops, and results of other dtypes, are unaffected.
 * The edges are probed one float32 ULP inside and outside each bound.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "case_file.h"

static int failures;

#define CHECK(cond, ...)                  \
  do {                                    \
    if (!(cond)) {                        \
      printf("FAIL line %d: ", __LINE__); \
      printf(__VA_ARGS__);                \
      printf("\n");                       \
      ++failures;                         \
    }                                     \
  } while (0)

static ddk_case the_case; /* large: static storage */

static ddk_tensor scalar(ddk_dtype dtype, void* data, size_t bytes) {
  ddk_tensor t;
  memset(&t, 0, sizeof t);
  t.header = (ddk_struct_header)DDK_STRUCT_HEADER_INIT(ddk_tensor);
  t.dtype = dtype;
  t.rank = 1;
  t.sizes[0] = 1;
  t.strides[0] = 1;
  t.data = data;
  t.capacity = bytes;
  return t;
}

/* Does `got` pass against `want` (float32 scalars) for op `op`? */
static bool f32_passes(const char* op, float got, float want, ddk_accuracy_profile p) {
  snprintf(the_case.op, sizeof the_case.op, "%s", op);
  ddk_tensor g = scalar(DDK_DTYPE_FLOAT32, &got, 4), w = scalar(DDK_DTYPE_FLOAT32, &want, 4);
  char msg[256];
  return ddk_case_compare(&the_case, 0, &g, &w, p, NULL, msg, sizeof msg);
}

/* 1 + k float32 ULPs */
static float one_plus(double k) {
  return (float)(1.0 + k * ldexp(1.0, -23));
}

int main(void) {
  /* names and factors */
  static const struct {
    const char* name;
    ddk_accuracy_profile p;
    double factor;
  } kProfiles[] = {{"default", DDK_ACCURACY_DEFAULT, 1.0},
                   {"fp16_accum", DDK_ACCURACY_FP16_ACCUM, 8192.0},
                   {"bf16_accum", DDK_ACCURACY_BF16_ACCUM, 65536.0},
                   {"tf32", DDK_ACCURACY_TF32, 8192.0},
                   {"fast_math", DDK_ACCURACY_FAST_MATH, 1.0}};
  for (size_t i = 0; i < sizeof kProfiles / sizeof kProfiles[0]; ++i) {
    ddk_accuracy_profile p = DDK_ACCURACY_DEFAULT;
    CHECK(ddk_accuracy_profile_parse(kProfiles[i].name, &p) && p == kProfiles[i].p, "parse %s",
          kProfiles[i].name);
    CHECK(strcmp(ddk_accuracy_profile_name(kProfiles[i].p), kProfiles[i].name) == 0, "name %s",
          kProfiles[i].name);
    CHECK(ddk_accuracy_profile_factor(kProfiles[i].p) == kProfiles[i].factor, "factor %s",
          kProfiles[i].name);
  }
  ddk_accuracy_profile unused;
  CHECK(!ddk_accuracy_profile_parse("fp8", &unused), "fp8 is no profile");
  CHECK(!ddk_accuracy_profile_parse("", &unused), "empty is no profile");

  /* aten::exp: ulp class, U = 1 (op table): U * factor float32 ULPs at 1.0 */
  for (size_t i = 0; i < sizeof kProfiles / sizeof kProfiles[0]; ++i) {
    double f = kProfiles[i].factor;
    CHECK(f32_passes("aten::exp", one_plus(f), 1.0f, kProfiles[i].p), "exp %s: %g ULP inside",
          kProfiles[i].name, f);
    CHECK(!f32_passes("aten::exp", one_plus(f + 1), 1.0f, kProfiles[i].p), "exp %s: %g ULP outside",
          kProfiles[i].name, f + 1);
  }
  /* exact ops stay exact under every profile */
  for (size_t i = 0; i < sizeof kProfiles / sizeof kProfiles[0]; ++i)
    CHECK(!f32_passes("aten::relu", one_plus(1), 1.0f, kProfiles[i].p), "relu %s: exact",
          kProfiles[i].name);
  /* fast_math: a NaN expected may come back as anything; denormals may
   * flush to zero; zero signs may differ; everything else as default */
  CHECK(f32_passes("aten::add.Tensor", -INFINITY, NAN, DDK_ACCURACY_FAST_MATH), "fast: NaN");
  CHECK(!f32_passes("aten::add.Tensor", -INFINITY, NAN, DDK_ACCURACY_DEFAULT), "default: NaN");
  CHECK(f32_passes("aten::elu", 0.0f, 1e-40f, DDK_ACCURACY_FAST_MATH), "fast: denormal flushed");
  CHECK(!f32_passes("aten::elu", 0.0f, 1e-40f, DDK_ACCURACY_DEFAULT), "default: denormal");
  CHECK(f32_passes("aten::clamp", 0.0f, -0.0f, DDK_ACCURACY_FAST_MATH), "fast: zero sign");
  CHECK(f32_passes("aten::_softmax", 0.0f, 1.43e-38f, DDK_ACCURACY_FAST_MATH), "fast: exp underflow");
  CHECK(!f32_passes("aten::_softmax", 0.0f, 3e-38f, DDK_ACCURACY_FAST_MATH), "fast: 3e-38 kept");
  CHECK(!f32_passes("aten::exp", NAN, 1.0f, DDK_ACCURACY_FAST_MATH), "fast: NaN where 1");
  CHECK(!f32_passes("aten::sqrt", 0.0f, 1e-20f, DDK_ACCURACY_FAST_MATH), "fast: 1e-20 is normal");
  CHECK(!f32_passes("aten::relu", 2.0f, 1.0f, DDK_ACCURACY_FAST_MATH), "fast: exact stays exact");

  /* NaN still has to meet NaN */
  CHECK(!f32_passes("aten::exp", 1.0f, NAN, DDK_ACCURACY_BF16_ACCUM), "NaN vs 1 under bf16");
  CHECK(f32_passes("aten::exp", NAN, NAN, DDK_ACCURACY_BF16_ACCUM), "NaN vs NaN under bf16");

  /* aten::mm: accumulate class, U = 2, plus K * 2^-24 * scale; with K = 64
   * and scale 1: at 1.0 the default bound is 2 + 64 * 0.5 = 34 ULPs */
  {
    double scale = 1.0;
    the_case.scale[0] = &scale;
    the_case.k = 64;
    for (size_t i = 0; i < sizeof kProfiles / sizeof kProfiles[0]; ++i) {
      double bound = 34.0 * kProfiles[i].factor;
      CHECK(f32_passes("aten::mm", one_plus(bound), 1.0f, kProfiles[i].p), "mm %s inside",
            kProfiles[i].name);
      CHECK(!f32_passes("aten::mm", one_plus(bound + 1), 1.0f, kProfiles[i].p), "mm %s outside",
            kProfiles[i].name);
    }
    the_case.scale[0] = NULL;
    the_case.k = 0;
  }

  /* float64 and float16 results keep their own bounds */
  {
    snprintf(the_case.op, sizeof the_case.op, "aten::exp");
    double want = 1.0, got = 1.0 + 2 * ldexp(1.0, -52);
    ddk_tensor g = scalar(DDK_DTYPE_FLOAT64, &got, 8), w = scalar(DDK_DTYPE_FLOAT64, &want, 8);
    char msg[256];
    CHECK(!ddk_case_compare(&the_case, 0, &g, &w, DDK_ACCURACY_BF16_ACCUM, NULL, msg, sizeof msg),
          "float64 under bf16 keeps 1 ULP");
    uint16_t h_want = 0x3c00, h_got = 0x3c02; /* 1.0 and 1.0 + 2 half ULPs */
    g = scalar(DDK_DTYPE_FLOAT16, &h_got, 2);
    w = scalar(DDK_DTYPE_FLOAT16, &h_want, 2);
    CHECK(!ddk_case_compare(&the_case, 0, &g, &w, DDK_ACCURACY_BF16_ACCUM, NULL, msg, sizeof msg),
          "float16 under bf16 keeps 1 ULP");
  }
  if (failures == 0) printf("profile_compare_test: ok\n");
  return failures ? 1 : 0;
}
