/*
 * vk_test.c — unit test of the Vulkan delegate's device-independent parts
 * (no Vulkan device needed): the generated kernel table (SPIR-V words,
 * the float16 twin of every typed kernel at id + 1, CPU alternatives with
 * the same interface), float16 conversion against every half value, and
 * strided-view merging. Returns non-zero on the first failure.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "vk_internal.h"

static int failures = 0;

#define CHECK(cond, ...)                                 \
  do {                                                   \
    if (!(cond)) {                                       \
      fprintf(stderr, "vk_test: FAIL: ");                \
      fprintf(stderr, __VA_ARGS__);                      \
      fprintf(stderr, " (%s:%d)\n", __FILE__, __LINE__); \
      ++failures;                                        \
    }                                                    \
  } while (0)

static bool ends_with(const char* s, const char* suffix) {
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && strcmp(s + a - b, suffix) == 0;
}

static void test_kernel_table(void) {
  for (uint32_t k = 0; k < VK_KERNEL_COUNT; ++k) {
    const vk_kernel_info* ki = &vk_kernel_table[k];
    CHECK(ki->spirv_size >= 20 && ki->spirv_size % 4 == 0, "%s: SPIR-V size %zu", ki->name,
          ki->spirv_size);
    CHECK(ki->spirv[0] == 0x07230203u, "%s: SPIR-V magic", ki->name);
    CHECK(ki->num_bindings >= 1 && ki->num_bindings <= VKB_MAX_BINDINGS, "%s: bindings", ki->name);
    CHECK(ki->write_mask != 0 && ki->write_mask < (1u << ki->num_bindings), "%s: write mask",
          ki->name);
    bool typed = ends_with(ki->name, "_f32") && strncmp(ki->name, "convert_", 8) != 0;
    if (typed && k + 1 < VK_KERNEL_COUNT) {
      const vk_kernel_info* h = &vk_kernel_table[k + 1];
      CHECK(ends_with(h->name, "_f16") && strncmp(h->name, ki->name, strlen(ki->name) - 3) == 0,
            "%s: its float16 twin is not at id + 1 (%s)", ki->name, h->name);
      CHECK(
          h->num_bindings == ki->num_bindings && h->grid == ki->grid && (h->needs & VK_NEED_16BIT),
          "%s: float16 twin differs", ki->name);
    }
    const vk_kernel_info* alt = &vk_kernel_table[ki->cpu_alt];
    CHECK(ki->cpu_alt < VK_KERNEL_COUNT && alt->num_bindings == ki->num_bindings &&
              alt->write_mask == ki->write_mask && alt->grid == ki->grid &&
              alt->tile_x == ki->tile_x && alt->tile_y == ki->tile_y && alt->needs == ki->needs,
          "%s: CPU alternative %s has another interface", ki->name, alt->name);
  }
  /* the ids the lowering derives by arithmetic */
  CHECK(strcmp(vk_kernel_table[VK_KERNEL_BINARY_ADD_F32 + 2].name, "binary_add_vec4_f32") == 0,
        "vec4 form of binary_add not at id + 2");
  CHECK(strcmp(vk_kernel_table[VK_KERNEL_UNARY_RELU_F32 + 2].name, "unary_relu_vec4_f32") == 0,
        "vec4 form of unary_relu not at id + 2");
  CHECK(
      strcmp(vk_kernel_table[VK_KERNEL_REDUCE_SUM_ROWS_F32 + 2].name, "reduce_sum_lanes_f32") == 0,
      "lanes form of reduce_sum not at id + 2");
  CHECK(strcmp(vk_kernel_table[VK_KERNEL_COPY_B32 + 1].name, "copy_b16") == 0,
        "copy_b16 not at copy_b32 + 1");
}

static void test_f16(void) {
  /* every half converts to float and back to itself (NaNs stay NaN) */
  for (uint32_t h = 0; h < 0x10000u; ++h) {
    float f = vk_f16_to_f32((uint16_t)h);
    uint16_t back = vk_f32_to_f16(f);
    bool nan = (h & 0x7c00u) == 0x7c00u && (h & 0x3ffu);
    if (nan)
      CHECK(isnan(f) && (back & 0x7c00u) == 0x7c00u && (back & 0x3ffu), "NaN %04x", h);
    else
      CHECK(back == h, "half %04x -> %g -> %04x", h, (double)f, back);
  }
  /* ties to even, overflow, underflow */
  CHECK(vk_f32_to_f16(1.0f + 1.0f / 2048.0f) == 0x3c00u, "tie down to even");
  CHECK(vk_f32_to_f16(1.0f + 3.0f / 2048.0f) == 0x3c02u, "tie up to even");
  CHECK(vk_f32_to_f16(65520.0f) == 0x7c00u, "65520 rounds to inf");
  CHECK(vk_f32_to_f16(65519.0f) == 0x7bffu, "65519 rounds to max");
  CHECK(vk_f32_to_f16(-1e-9f) == 0x8000u, "tiny rounds to -0");
  CHECK(vk_f32_to_f16(5.960464477539063e-08f) == 0x0001u, "smallest subnormal");
}

static void test_views(void) {
  /* contiguous [2,3,4] merges into one dim */
  vk_view v;
  memset(&v, 0, sizeof v);
  v.rank = 3;
  v.num_operands = 2;
  int64_t sz[3] = {2, 3, 4}, st[3] = {12, 4, 1};
  for (int d = 0; d < 3; ++d) {
    v.size[d] = sz[d];
    v.stride[0][d] = st[d];
    v.stride[1][d] = st[d];
  }
  vk_view_coalesce(&v);
  CHECK(v.rank == 1 && v.size[0] == 24 && v.stride[0][0] == 1, "contiguous merge");
  /* a transposed operand keeps two dims; size-1 dims vanish */
  memset(&v, 0, sizeof v);
  v.rank = 3;
  v.num_operands = 2;
  int64_t s2[3] = {4, 1, 3}, a2[3] = {1, 99, 4}, b2[3] = {3, 3, 1};
  for (int d = 0; d < 3; ++d) {
    v.size[d] = s2[d];
    v.stride[0][d] = a2[d];
    v.stride[1][d] = b2[d];
  }
  vk_view_coalesce(&v);
  CHECK(v.rank == 2 && v.size[0] == 4 && v.size[1] == 3 && v.stride[0][0] == 1 &&
            v.stride[0][1] == 4 && v.stride[1][0] == 3 && v.stride[1][1] == 1,
        "transposed view");
  /* broadcasting a [3,1] operand against [2,3,4] */
  ddk_tensor t;
  memset(&t, 0, sizeof t);
  t.rank = 2;
  t.sizes[0] = 3;
  t.sizes[1] = 1;
  t.strides[0] = 1;
  t.strides[1] = 1;
  memset(&v, 0, sizeof v);
  v.rank = 3;
  v.num_operands = 1;
  for (int d = 0; d < 3; ++d) v.size[d] = sz[d];
  vk_view_set_broadcast(&v, 0, &t);
  CHECK(v.stride[0][0] == 0 && v.stride[0][1] == 1 && v.stride[0][2] == 0, "broadcast strides");
}

int main(void) {
  test_kernel_table();
  test_f16();
  test_views();
  if (failures) {
    fprintf(stderr, "vk_test: %d failure(s)\n", failures);
    return 1;
  }
  printf("vk_test: %u kernels, float16 conversion, views: ok\n", (unsigned)VK_KERNEL_COUNT);
  return 0;
}
