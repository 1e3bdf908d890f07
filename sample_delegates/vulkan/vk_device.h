/*
 * vk_device.h — the Vulkan side of the delegate: the loader, opened with
 * dlopen (so the plugin loads, and query explains, where libvulkan.so.1 is
 * missing), the function table, and one opened device (instance, physical
 * device, logical device, compute queue) with what the runtime needs to
 * know of it. Only core Vulkan 1.1 is used; 16-bit storage is an optional
 * feature, enabled when the device has it.
 */
#ifndef DDK_VK_DEVICE_H_
#define DDK_VK_DEVICE_H_

#define VK_NO_PROTOTYPES
#include <vulkan/vulkan.h>

#include "vk_internal.h"

/* Every Vulkan function the delegate calls: X(name). Instance-level first. */
#define VK_FOR_EACH_INSTANCE_FN(X)            \
  X(vkDestroyInstance)                        \
  X(vkEnumeratePhysicalDevices)               \
  X(vkGetPhysicalDeviceProperties)            \
  X(vkGetPhysicalDeviceProperties2)           \
  X(vkGetPhysicalDeviceFeatures2)             \
  X(vkGetPhysicalDeviceQueueFamilyProperties) \
  X(vkGetPhysicalDeviceMemoryProperties)      \
  X(vkCreateDevice)                           \
  X(vkGetDeviceProcAddr)

#define VK_FOR_EACH_DEVICE_FN(X)    \
  X(vkDestroyDevice)                \
  X(vkGetDeviceQueue)               \
  X(vkCreateBuffer)                 \
  X(vkDestroyBuffer)                \
  X(vkGetBufferMemoryRequirements)  \
  X(vkAllocateMemory)               \
  X(vkFreeMemory)                   \
  X(vkBindBufferMemory)             \
  X(vkMapMemory)                    \
  X(vkUnmapMemory)                  \
  X(vkFlushMappedMemoryRanges)      \
  X(vkInvalidateMappedMemoryRanges) \
  X(vkCreateShaderModule)           \
  X(vkDestroyShaderModule)          \
  X(vkCreateDescriptorSetLayout)    \
  X(vkDestroyDescriptorSetLayout)   \
  X(vkCreatePipelineLayout)         \
  X(vkDestroyPipelineLayout)        \
  X(vkCreateComputePipelines)       \
  X(vkDestroyPipeline)              \
  X(vkCreateDescriptorPool)         \
  X(vkDestroyDescriptorPool)        \
  X(vkAllocateDescriptorSets)       \
  X(vkUpdateDescriptorSets)         \
  X(vkCreateCommandPool)            \
  X(vkDestroyCommandPool)           \
  X(vkAllocateCommandBuffers)       \
  X(vkBeginCommandBuffer)           \
  X(vkEndCommandBuffer)             \
  X(vkCmdBindPipeline)              \
  X(vkCmdBindDescriptorSets)        \
  X(vkCmdPushConstants)             \
  X(vkCmdDispatch)                  \
  X(vkCmdPipelineBarrier)           \
  X(vkCmdCopyBuffer)                \
  X(vkCmdWriteTimestamp)            \
  X(vkCmdResetQueryPool)            \
  X(vkCreateQueryPool)              \
  X(vkDestroyQueryPool)             \
  X(vkGetQueryPoolResults)          \
  X(vkCreateFence)                  \
  X(vkDestroyFence)                 \
  X(vkResetFences)                  \
  X(vkWaitForFences)                \
  X(vkQueueSubmit)                  \
  X(vkDeviceWaitIdle)

typedef struct vk_fns {
  PFN_vkGetInstanceProcAddr vkGetInstanceProcAddr;
  PFN_vkCreateInstance vkCreateInstance;
  PFN_vkEnumerateInstanceVersion vkEnumerateInstanceVersion; /* may be NULL */
#define VK_X_(name) PFN_##name name;
  VK_FOR_EACH_INSTANCE_FN(VK_X_)
  VK_FOR_EACH_DEVICE_FN(VK_X_)
#undef VK_X_
} vk_fns;

/* One opened device. Zero-initialise, then vk_device_open. */
typedef struct vk_device {
  void* lib; /* dlopen handle of libvulkan.so.1 */
  vk_fns fn;
  VkInstance instance;
  VkPhysicalDevice phys;
  VkDevice device;
  VkQueue queue;
  uint32_t queue_family;
  uint32_t index; /* of the physical device, in enumeration order */
  VkPhysicalDeviceProperties props;
  VkPhysicalDeviceMemoryProperties mem;
  uint64_t max_allocation; /* maxMemoryAllocationSize (1.1) */
  uint32_t subgroup_size;
  bool has_16bit_storage;  /* storageBuffer16BitAccess, enabled */
  VkBool32 robust;         /* robustBufferAccess, enabled when present */
  uint32_t timestamp_bits; /* of the queue family; 0: no timestamps */
} vk_device;

/* Opens the library, an instance and the device chosen by option
 * "vulkan.device" (an index, or a case-insensitive substring of the device
 * name; default the first discrete GPU, else the first integrated one,
 * else the first device), with one compute queue. `want_16bit` enables
 * 16-bit storage (DDK_INCOMPATIBLE_BLOB when the device lacks it).
 * DDK_BACKEND_UNAVAILABLE with the reason when there is no loader or
 * device. On failure everything opened is closed again. */
ddk_status vk_device_open(vk_device* d, const ddk_options* options, bool want_16bit, char* err,
                          size_t err_cap);

/* Closes what vk_device_open opened (safe on a zeroed or failed device). */
void vk_device_close(vk_device* d);

/* "VK_ERROR_OUT_OF_DEVICE_MEMORY" and so on. */
const char* vk_result_str(VkResult r);

/* "discrete GPU", "CPU-emulated", ... */
const char* vk_device_type_str(VkPhysicalDeviceType t);

#endif /* DDK_VK_DEVICE_H_ */
