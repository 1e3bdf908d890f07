/*
 * vk_nn.h — argument readers and views shared by the rules
 * (vk_rules_nn.c) and the lowering (vk_lower_nn.c) of the linear-algebra,
 * pooling, reduction and softmax ops, so both read a node the same way.
 */
#ifndef DDK_VK_NN_H_
#define DDK_VK_NN_H_

#include "vk_internal.h"

/* A reduction of x into o over the dims in `mask`: `kept` walks the kept
 * dims (operand 0: x, 1: o; at most 4 after coalescing), `red` the
 * reduced ones (operand 0: x; at most 4). False when they do not fit. */
bool vk_reduce_views(const ddk_tensor* x, const ddk_tensor* o, uint32_t mask, bool keepdim,
                     vk_view* kept, vk_view* red);

/* Softmax rows along `dim`: `rows` walks the other dims (0: x, 1: o; at
 * most 5), *len is the row length, *sxd / *sod the strides along dim. */
bool vk_softmax_view(const ddk_tensor* x, const ddk_tensor* o, int64_t dim, vk_view* rows,
                     int64_t* len, int64_t* sxd, int64_t* sod);

/* kernel, stride, padding, dilation (h, w) of a 2-d pool node, checked
 * as ATen checks them (0 <= padding <= kernel / 2). */
bool vk_pool_params(const ddk_node_view* n, bool has_dil, int64_t k[2], int64_t s[2], int64_t p[2],
                    int64_t d[2]);

/* stride, padding, dilation (h, w; a 1-d convolution gets h = 1), the
 * transposed flag and groups of a convolution node. */
bool vk_conv_params(const ddk_node_view* n, uint32_t spatial, int64_t s[2], int64_t p[2],
                    int64_t d[2], bool* transposed, int64_t* groups);

/* Lowering of the ops vk_rule_nn accepts (vk_lower_nn.c); false when n
 * is none of them. */
bool vk_lower_nn(vkc* c, const ddk_node_view* n, ddk_status* out_status);

#endif /* DDK_VK_NN_H_ */
