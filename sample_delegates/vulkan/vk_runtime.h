/*
 * vk_runtime.h — the executable state of one partition (the delegate
 * handle), shared by vk_memory.c (storage planning, device memory,
 * constant upload) and vk_runtime.c (pipelines, command buffers, execute,
 * profiling, the vtable).
 */
#ifndef DDK_VK_RUNTIME_H_
#define DDK_VK_RUNTIME_H_

#include "vk_device.h"

#define VK_MAX_ARENAS 16u

/* One VkBuffer over one VkDeviceMemory. */
typedef struct vk_arena {
  VkBuffer buffer;
  VkDeviceMemory memory;
  VkDeviceSize size;
  uint8_t* map; /* host-visible arenas: persistently mapped */
  bool coherent;
} vk_arena;

/* Where a tensor's bytes are (views resolved to their storage). */
typedef struct vk_storage {
  uint32_t arena;
  VkDeviceSize offset;
  VkDeviceSize size; /* rounded up to 16 bytes (the vec4 kernels), at least 16 */
} vk_storage;

/* A dispatch as recorded. */
typedef struct vk_rt_dispatch {
  uint32_t kernel;
  uint32_t node_index;
  const char* name; /* into the handle's copy of the names */
  uint32_t groups[3];
  uint64_t flops, bytes;
} vk_rt_dispatch;

struct ddk_delegate_handle {
  const ddk_services* services;
  vk_device dev;
  bool profiling;
  /* copied from the blob */
  uint32_t num_tensors, num_ds, num_inputs, num_outputs;
  vkb_tensor* tensors;
  vkb_external* ext;     /* inputs, then outputs */
  vkb_dispatch* blob_ds; /* only during init */
  vk_rt_dispatch* ds;
  char* names;
  size_t names_size;
  /* memory */
  vk_storage* st; /* per tensor */
  vk_arena arenas[VK_MAX_ARENAS];
  uint32_t num_arenas;
  bool direct;                  /* externals read and written through the arena's map */
  vk_arena stage_in, stage_out; /* !direct: host-visible staging */
  VkDeviceSize* ext_stage;      /* !direct: per external, offset in its staging */
  uint64_t bytes_in, bytes_out;
  /* pipelines and commands */
  VkShaderModule modules[VK_KERNEL_COUNT];
  VkPipeline pipes[VK_KERNEL_COUNT];
  VkDescriptorSetLayout dsl[VKB_MAX_BINDINGS + 1];
  VkPipelineLayout layouts[VKB_MAX_BINDINGS + 1];
  VkDescriptorPool pool;
  VkDescriptorSet* sets;
  VkCommandPool cmd_pool;
  VkCommandBuffer cmd;      /* barriers only between dependent dispatches */
  VkCommandBuffer cmd_prof; /* every dispatch serialised and timestamped */
  VkQueryPool queries;
  uint64_t* ticks; /* num_ds + 1 timestamps read back */
  VkFence fence;
  uint32_t num_barriers; /* in cmd */
};

/* Lays out every tensor's storage (constants and externals persistent,
 * internal storage reused outside its live range), creates the arenas
 * and staging buffers, and uploads the constants from `data`. */
ddk_status vk_memory_init(ddk_delegate_handle* h, const uint8_t* data, bool force_staging,
                          char* err, size_t err_cap);

/* Frees what vk_memory_init made. */
void vk_memory_free(ddk_delegate_handle* h);

/* Allocation helpers through the host's allocator. */
void* vk_alloc(const ddk_delegate_handle* h, size_t size);
void vk_free(const ddk_delegate_handle* h, void* p, size_t size);

#endif /* DDK_VK_RUNTIME_H_ */
