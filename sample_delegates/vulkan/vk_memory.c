/*
 * vk_memory.c — device memory of one partition.
 *
 * Storage plan: constants and the execute inputs/outputs get their own
 * storage, packed into as few arenas (one VkBuffer + one VkDeviceMemory
 * each) as the device's allocation limit allows; internal tensors share
 * one more arena, placed by live range (greedy, largest first: two
 * tensors overlap in memory only when no dispatch uses both). Offsets are
 * aligned to minStorageBufferOffsetAlignment.
 *
 * Memory types: where the device has device-local memory that is also
 * host-visible and host-cached (integrated GPUs, CPU implementations),
 * the arenas live there and execute copies inputs and outputs through the
 * mapping ("direct"); otherwise (discrete GPUs) the arenas are device-local
 * and host-visible staging buffers are copied in and out by the command
 * buffer. Option vulkan.staging=true forces the staging path anywhere.
 * Constants are uploaded once, here.
 */
#include <string.h>

#include "vk_runtime.h"

void* vk_alloc(const ddk_delegate_handle* h, size_t size) {
  const ddk_allocator* a = &h->services->allocator;
  void* p = a->alloc(a->self, size ? size : 1, 64);
  if (p) memset(p, 0, size ? size : 1);
  return p;
}

void vk_free(const ddk_delegate_handle* h, void* p, size_t size) {
  const ddk_allocator* a = &h->services->allocator;
  if (p) a->free(a->self, p, size ? size : 1);
}

static uint32_t root_of(const ddk_delegate_handle* h, uint32_t t) {
  while (h->tensors[t].kind == VKB_T_ALIAS) t = h->tensors[t].alias_of;
  return t;
}

static VkDeviceSize round_up(VkDeviceSize x, VkDeviceSize a) {
  return (x + a - 1) / a * a;
}

/* The first memory type in `bits` having all of `want`, or -1. */
static int32_t find_type(const vk_device* d, uint32_t bits, VkMemoryPropertyFlags want) {
  for (uint32_t i = 0; i < d->mem.memoryTypeCount; ++i)
    if ((bits & (1u << i)) && (d->mem.memoryTypes[i].propertyFlags & want) == want)
      return (int32_t)i;
  return -1;
}

/* Creates a buffer of `size` bytes in the first memory type matching one
 * of `prefs` (in order), mapped when host-visible. */
static ddk_status make_arena(ddk_delegate_handle* h, vk_arena* ar, VkDeviceSize size,
                             const VkMemoryPropertyFlags* prefs, uint32_t num_prefs,
                             const char* what, char* err, size_t err_cap) {
  vk_device* d = &h->dev;
  VkBufferCreateInfo bci = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                            .size = size < 16 ? 16 : size,
                            .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT |
                                     VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                                     VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                            .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
  VkResult r = d->fn.vkCreateBuffer(d->device, &bci, NULL, &ar->buffer);
  if (r != VK_SUCCESS) {
    ar->buffer = VK_NULL_HANDLE;
    vk_errorf(err, err_cap, "vulkan: vkCreateBuffer (%s, %llu bytes) failed: %s", what,
              (unsigned long long)size, vk_result_str(r));
    return DDK_RESOURCE_EXHAUSTED;
  }
  VkMemoryRequirements req;
  d->fn.vkGetBufferMemoryRequirements(d->device, ar->buffer, &req);
  int32_t type = -1;
  for (uint32_t i = 0; i < num_prefs && type < 0; ++i)
    type = find_type(d, req.memoryTypeBits, prefs[i]);
  if (type < 0) {
    vk_errorf(err, err_cap, "vulkan: no memory type for the %s", what);
    return DDK_RESOURCE_EXHAUSTED;
  }
  VkMemoryAllocateInfo mai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                              .allocationSize = req.size,
                              .memoryTypeIndex = (uint32_t)type};
  r = d->fn.vkAllocateMemory(d->device, &mai, NULL, &ar->memory);
  if (r != VK_SUCCESS) {
    ar->memory = VK_NULL_HANDLE;
    vk_errorf(err, err_cap, "vulkan: allocating %llu bytes of device memory for the %s: %s",
              (unsigned long long)req.size, what, vk_result_str(r));
    return r == VK_ERROR_OUT_OF_HOST_MEMORY ? DDK_OUT_OF_MEMORY : DDK_RESOURCE_EXHAUSTED;
  }
  d->fn.vkBindBufferMemory(d->device, ar->buffer, ar->memory, 0);
  ar->size = size;
  VkMemoryPropertyFlags fl = d->mem.memoryTypes[type].propertyFlags;
  ar->coherent = (fl & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT) != 0;
  if (fl & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) {
    void* map = NULL;
    r = d->fn.vkMapMemory(d->device, ar->memory, 0, VK_WHOLE_SIZE, 0, &map);
    if (r != VK_SUCCESS) {
      vk_errorf(err, err_cap, "vulkan: vkMapMemory (%s): %s", what, vk_result_str(r));
      return DDK_BACKEND_FAILURE;
    }
    ar->map = map;
  }
  return DDK_OK;
}

static void free_arena(ddk_delegate_handle* h, vk_arena* ar) {
  vk_device* d = &h->dev;
  if (ar->map) d->fn.vkUnmapMemory(d->device, ar->memory);
  if (ar->buffer) d->fn.vkDestroyBuffer(d->device, ar->buffer, NULL);
  if (ar->memory) d->fn.vkFreeMemory(d->device, ar->memory, NULL);
  memset(ar, 0, sizeof *ar);
}

void vk_memory_free(ddk_delegate_handle* h) {
  if (h->dev.device == VK_NULL_HANDLE) return;
  for (uint32_t i = 0; i < h->num_arenas; ++i) free_arena(h, &h->arenas[i]);
  free_arena(h, &h->stage_in);
  free_arena(h, &h->stage_out);
  h->num_arenas = 0;
}

/* Places the internal roots by live range; returns the region's size. */
static VkDeviceSize place_internal(ddk_delegate_handle* h, uint32_t* order, uint32_t n,
                                   VkDeviceSize align, uint32_t arena) {
  /* largest first (insertion sort: n is the number of internal tensors) */
  for (uint32_t i = 1; i < n; ++i)
    for (uint32_t j = i; j > 0 && h->st[order[j]].size > h->st[order[j - 1]].size; --j) {
      uint32_t t = order[j];
      order[j] = order[j - 1];
      order[j - 1] = t;
    }
  VkDeviceSize total = 0;
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t t = order[i];
    const vkb_tensor* a = &h->tensors[t];
    VkDeviceSize at = 0;
    for (bool moved = true; moved;) { /* lowest offset clear of live neighbours */
      moved = false;
      for (uint32_t j = 0; j < i; ++j) {
        const vkb_tensor* b = &h->tensors[order[j]];
        const vk_storage* s = &h->st[order[j]];
        bool live = a->first <= b->last && b->first <= a->last;
        if (live && at < s->offset + s->size && s->offset < at + h->st[t].size) {
          at = round_up(s->offset + s->size, align);
          moved = true;
        }
      }
    }
    h->st[t].offset = at;
    h->st[t].arena = arena;
    if (at + h->st[t].size > total) total = at + h->st[t].size;
  }
  return total;
}

/* Copies the constants into their storage (through a temporary staging
 * buffer and a one-off command buffer when the arenas are not mapped). */
static ddk_status upload_constants(ddk_delegate_handle* h, const uint8_t* data, char* err,
                                   size_t err_cap) {
  vk_device* d = &h->dev;
  VkDeviceSize total = 0;
  for (uint32_t t = 0; t < h->num_tensors; ++t)
    if (h->tensors[t].kind == VKB_T_CONSTANT) total += round_up(h->tensors[t].bytes, 16);
  if (total == 0) return DDK_OK;
  if (h->direct) {
    for (uint32_t t = 0; t < h->num_tensors; ++t) {
      const vkb_tensor* x = &h->tensors[t];
      if (x->kind != VKB_T_CONSTANT || x->bytes == 0) continue;
      vk_arena* ar = &h->arenas[h->st[t].arena];
      memcpy(ar->map + h->st[t].offset, data + x->data_offset, x->bytes);
    }
    for (uint32_t i = 0; i < h->num_arenas; ++i)
      if (!h->arenas[i].coherent) {
        VkMappedMemoryRange mr = {.sType = VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE,
                                  .memory = h->arenas[i].memory,
                                  .size = VK_WHOLE_SIZE};
        d->fn.vkFlushMappedMemoryRanges(d->device, 1, &mr);
      }
    return DDK_OK;
  }
  vk_arena tmp;
  memset(&tmp, 0, sizeof tmp);
  const VkMemoryPropertyFlags up[] = {VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                                      VK_MEMORY_PROPERTY_HOST_COHERENT_BIT};
  ddk_status s = make_arena(h, &tmp, total, up, 1, "constant upload buffer", err, err_cap);
  VkCommandPool pool = VK_NULL_HANDLE;
  VkFence fence = VK_NULL_HANDLE;
  if (s != DDK_OK) goto done;
  VkCommandPoolCreateInfo pci = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                 .flags = VK_COMMAND_POOL_CREATE_TRANSIENT_BIT,
                                 .queueFamilyIndex = d->queue_family};
  VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  if (d->fn.vkCreateCommandPool(d->device, &pci, NULL, &pool) != VK_SUCCESS ||
      d->fn.vkCreateFence(d->device, &fci, NULL, &fence) != VK_SUCCESS) {
    ddk_set_error(err, err_cap, "vulkan: cannot create the constant upload commands");
    s = DDK_BACKEND_FAILURE;
    goto done;
  }
  VkCommandBuffer cb;
  VkCommandBufferAllocateInfo cai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                     .commandPool = pool,
                                     .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                     .commandBufferCount = 1};
  VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                 .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
  if (d->fn.vkAllocateCommandBuffers(d->device, &cai, &cb) != VK_SUCCESS ||
      d->fn.vkBeginCommandBuffer(cb, &bi) != VK_SUCCESS) {
    ddk_set_error(err, err_cap, "vulkan: cannot record the constant upload");
    s = DDK_BACKEND_FAILURE;
    goto done;
  }
  VkDeviceSize at = 0;
  for (uint32_t t = 0; t < h->num_tensors; ++t) {
    const vkb_tensor* x = &h->tensors[t];
    if (x->kind != VKB_T_CONSTANT || x->bytes == 0) continue;
    memcpy(tmp.map + at, data + x->data_offset, x->bytes);
    VkBufferCopy region = {.srcOffset = at, .dstOffset = h->st[t].offset, .size = x->bytes};
    d->fn.vkCmdCopyBuffer(cb, tmp.buffer, h->arenas[h->st[t].arena].buffer, 1, &region);
    at += round_up(x->bytes, 16);
  }
  VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                        .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
                        .dstAccessMask = VK_ACCESS_SHADER_READ_BIT};
  d->fn.vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_TRANSFER_BIT,
                             VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
  d->fn.vkEndCommandBuffer(cb);
  VkSubmitInfo si = {
      .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &cb};
  VkResult r = d->fn.vkQueueSubmit(d->queue, 1, &si, fence);
  if (r == VK_SUCCESS) r = d->fn.vkWaitForFences(d->device, 1, &fence, VK_TRUE, UINT64_MAX);
  if (r != VK_SUCCESS) {
    vk_errorf(err, err_cap, "vulkan: uploading the constants failed: %s", vk_result_str(r));
    s = r == VK_ERROR_DEVICE_LOST ? DDK_DEVICE_LOST : DDK_BACKEND_FAILURE;
  }
done:
  if (fence) d->fn.vkDestroyFence(d->device, fence, NULL);
  if (pool) d->fn.vkDestroyCommandPool(d->device, pool, NULL);
  free_arena(h, &tmp);
  return s;
}

ddk_status vk_memory_init(ddk_delegate_handle* h, const uint8_t* data, bool force_staging,
                          char* err, size_t err_cap) {
  vk_device* d = &h->dev;
  const VkPhysicalDeviceLimits* lim = &d->props.limits;
  VkDeviceSize align =
      lim->minStorageBufferOffsetAlignment > 16 ? lim->minStorageBufferOffsetAlignment : 16;
  VkDeviceSize arena_max = d->max_allocation ? d->max_allocation : ((VkDeviceSize)1 << 30);
  if (arena_max > ((VkDeviceSize)1 << 32)) arena_max = (VkDeviceSize)1 << 32;
  h->st = vk_alloc(h, sizeof(vk_storage) * h->num_tensors);
  uint32_t* order = vk_alloc(h, sizeof(uint32_t) * h->num_tensors);
  ddk_status s = DDK_OK;
  if (h->st == NULL || order == NULL) {
    ddk_set_error(err, err_cap, "vulkan: out of memory in init");
    s = DDK_OUT_OF_MEMORY;
    goto done;
  }
  /* persistent storage, packed into arenas */
  VkDeviceSize used = 0;
  uint32_t arena = 0, n_internal = 0;
  VkDeviceSize arena_size[VK_MAX_ARENAS] = {0};
  for (uint32_t t = 0; t < h->num_tensors; ++t) {
    const vkb_tensor* x = &h->tensors[t];
    if (x->kind == VKB_T_ALIAS) continue;
    /* padded to 16 bytes: the vec4 kernels' last vector stays inside */
    h->st[t].size = round_up(x->bytes ? x->bytes : 4, 16);
    if (h->st[t].size > lim->maxStorageBufferRange) {
      vk_errorf(err, err_cap,
                "vulkan: tensor %u needs %llu bytes, above the device's maxStorageBufferRange "
                "(%u)",
                t, (unsigned long long)h->st[t].size, lim->maxStorageBufferRange);
      s = DDK_RESOURCE_EXHAUSTED;
      goto done;
    }
    if (x->kind == VKB_T_INTERNAL) {
      order[n_internal++] = t;
      continue;
    }
    VkDeviceSize at = round_up(used, align);
    if (at + h->st[t].size > arena_max && used > 0) {
      arena_size[arena] = used;
      if (++arena >= VK_MAX_ARENAS - 1) {
        ddk_set_error(err, err_cap, "vulkan: the partition's tensors need too many arenas");
        s = DDK_RESOURCE_EXHAUSTED;
        goto done;
      }
      at = 0;
    }
    h->st[t].arena = arena;
    h->st[t].offset = at;
    used = at + h->st[t].size;
  }
  arena_size[arena] = used;
  h->num_arenas = arena + 1;
  if (n_internal) {
    VkDeviceSize isize = place_internal(h, order, n_internal, align, h->num_arenas);
    if (isize > arena_max) {
      ddk_set_error(err, err_cap, "vulkan: intermediate tensors exceed one device allocation");
      s = DDK_RESOURCE_EXHAUSTED;
      goto done;
    }
    arena_size[h->num_arenas++] = isize;
  }
  for (uint32_t t = 0; t < h->num_tensors; ++t)
    if (h->tensors[t].kind == VKB_T_ALIAS) h->st[t] = h->st[root_of(h, t)];

  /* memory types: mapped device memory when it is host-cached, else staging */
  const VkMemoryPropertyFlags direct_prefs[] = {
      VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
          VK_MEMORY_PROPERTY_HOST_CACHED_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT,
      VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
          VK_MEMORY_PROPERTY_HOST_CACHED_BIT};
  const VkMemoryPropertyFlags device_prefs[] = {VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, 0};
  h->direct = false;
  if (!force_staging)
    for (uint32_t i = 0; i < d->mem.memoryTypeCount && !h->direct; ++i)
      for (uint32_t k = 0; k < 2; ++k)
        if ((d->mem.memoryTypes[i].propertyFlags & direct_prefs[k]) == direct_prefs[k])
          h->direct = true;
  for (uint32_t i = 0; i < h->num_arenas && s == DDK_OK; ++i)
    s = make_arena(h, &h->arenas[i], arena_size[i], h->direct ? direct_prefs : device_prefs, 2,
                   "tensor arena", err, err_cap);
  if (s == DDK_OK && h->direct)
    for (uint32_t i = 0; i < h->num_arenas; ++i)
      if (h->arenas[i].map == NULL) h->direct = false; /* the driver chose otherwise */
  if (s != DDK_OK) goto done;

  /* staging for the execute inputs and outputs */
  uint32_t next = h->num_inputs + h->num_outputs;
  h->ext_stage = vk_alloc(h, sizeof(VkDeviceSize) * (next + 1));
  if (h->ext_stage == NULL) {
    ddk_set_error(err, err_cap, "vulkan: out of memory in init");
    s = DDK_OUT_OF_MEMORY;
    goto done;
  }
  h->bytes_in = h->bytes_out = 0;
  for (uint32_t i = 0; i < next; ++i) {
    uint64_t* total = i < h->num_inputs ? &h->bytes_in : &h->bytes_out;
    h->ext_stage[i] = *total;
    *total += round_up(h->tensors[h->ext[i].tensor].bytes, 16);
  }
  if (!h->direct) {
    const VkMemoryPropertyFlags up[] = {VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                                        VK_MEMORY_PROPERTY_HOST_COHERENT_BIT};
    const VkMemoryPropertyFlags down[] = {
        VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_CACHED_BIT |
            VK_MEMORY_PROPERTY_HOST_COHERENT_BIT,
        VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_CACHED_BIT,
        VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT};
    s = make_arena(h, &h->stage_in, h->bytes_in, up, 1, "input staging buffer", err, err_cap);
    if (s == DDK_OK)
      s = make_arena(h, &h->stage_out, h->bytes_out, down, 3, "output staging buffer", err,
                     err_cap);
    if (s != DDK_OK) goto done;
  }
  s = upload_constants(h, data, err, err_cap);
done:
  if (order) vk_free(h, order, sizeof(uint32_t) * h->num_tensors);
  return s;
}
