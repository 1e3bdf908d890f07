/*
 * vk_lower.h — helpers shared by the lowering files (vk_lower.c,
 * vk_lower_nn.c): push-constant packing and dispatch emission.
 */
#ifndef DDK_VK_LOWER_H_
#define DDK_VK_LOWER_H_

#include "vk_internal.h"

/* Push-constant words being packed for one dispatch. */
typedef struct vk_push {
  uint32_t w[VKB_PUSH_WORDS];
  uint32_t n; /* words written (may exceed the room: vkl_emit refuses) */
} vk_push;

void vkp_u(vk_push* p, uint32_t v);
void vkp_f(vk_push* p, float f);
/* The view's sizes, padded to VK_KERNEL_DIMS words with 1s. */
void vkp_sizes(vk_push* p, const vk_view* v);
/* Operand j's strides, padded to VK_KERNEL_DIMS words with 0s. */
void vkp_strides(vk_push* p, const vk_view* v, uint32_t j);

/* The tensor description of graph value v. */
const ddk_tensor* vkl_t(const vkc* c, uint32_t v);

/* Appends a dispatch (work sizes w0..w2) for the node being lowered. */
ddk_status vkl_emit(vkc* c, uint32_t kernel, bool typed, const uint32_t* b, uint32_t nb,
                    uint32_t w0, uint32_t w1, uint32_t w2, const vk_push* p, uint64_t flops,
                    uint64_t bytes);

/* Unary kernel `kernel` (float32 id) from value x into new value o. */
ddk_status vkl_unary(vkc* c, uint32_t kernel, uint32_t x, uint32_t o, const float prm[4],
                     uint64_t flops_per);

/* Strided copy of view v (operand 0 reads `from`, 1 writes `to`). */
ddk_status vkl_copy(vkc* c, uint32_t from, uint32_t to, vk_view* v);

#endif /* DDK_VK_LOWER_H_ */
