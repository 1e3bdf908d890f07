/*
 * vk_runtime.c — the Vulkan delegate's vtable: init, execute, destroy,
 * set_profiling (query is in vk_device.c, partition in vk_rules.c,
 * preprocess in vk_compile.c).
 *
 * init: checks the blob, opens the device (option vulkan.device), lays
 * out and allocates memory and uploads the constants (vk_memory.c),
 * creates a compute pipeline per kernel the partition uses, one
 * descriptor set per dispatch, and records the command buffer once:
 * [copy staging -> inputs] dispatches, with a barrier only before a
 * dispatch that reads or overwrites what an earlier one since the last
 * barrier wrote (or overwrites what it read) [copy outputs -> staging].
 * A second command buffer, used while profiling, puts a barrier before
 * every dispatch and a timestamp after each.
 *
 * execute: copies the inputs in (through the mapping or the staging
 * buffer), submits, waits on the fence, copies the outputs out; nothing
 * is allocated. Profiling events: one per dispatch (kind OP, the node,
 * the op name, flops/bytes, detail "gpu_ns=..;workgroups=XxYxZ;kernel=..")
 * with GPU ticks converted by timestampPeriod and placed on the host
 * clock so that the last dispatch ends when the fence wait returned;
 * plus COPY events for the host copies in and out.
 */
#include <stdio.h>
#include <string.h>

#include "vk_runtime.h"

#define VK_FENCE_TIMEOUT_NS 60000000000ull /* a minute */

/* ---- blob checks ------------------------------------------------------------------ */

static ddk_status check_blob(const uint8_t* blob, size_t size, const char* compat, vkb_header* hd,
                             char* err, size_t err_cap) {
  char want[64];
  snprintf(want, sizeof want, VK_COMPAT_PREFIX ";kernels=%08x;", (unsigned)VK_KERNEL_TABLE_HASH);
  if (compat == NULL || strncmp(compat, want, strlen(want)) != 0) {
    vk_errorf(err, err_cap,
              "vulkan: blob compatibility '%s' is not '%s...': compiled by another build of "
              "the delegate; lower the program again",
              compat ? compat : "(null)", want);
    return DDK_INCOMPATIBLE_BLOB;
  }
  if (blob == NULL || size < sizeof *hd || ((uintptr_t)blob % 8) != 0) {
    ddk_set_error(err, err_cap, "vulkan: blob too small or misaligned");
    return DDK_INCOMPATIBLE_BLOB;
  }
  memcpy(hd, blob, sizeof *hd);
  uint64_t next = (uint64_t)hd->num_inputs + hd->num_outputs;
  uint64_t head = sizeof *hd + (uint64_t)hd->num_tensors * sizeof(vkb_tensor) +
                  next * sizeof(vkb_external) + (uint64_t)hd->num_dispatches * sizeof(vkb_dispatch);
  if (memcmp(hd->magic, VKB_MAGIC, 4) != 0 || hd->format != VKB_FORMAT ||
      hd->kernel_hash != VK_KERNEL_TABLE_HASH || hd->num_tensors > (1u << 24) ||
      hd->num_dispatches > (1u << 24) || next > (1u << 16) || head > hd->data_offset ||
      hd->data_offset > size || hd->data_size > size - hd->data_offset ||
      hd->data_offset % VKB_ALIGN) {
    ddk_set_error(err, err_cap, "vulkan: malformed blob header");
    return DDK_INCOMPATIBLE_BLOB;
  }
  const uint8_t* p = blob + sizeof *hd;
  const vkb_tensor* ts = (const vkb_tensor*)p;
  const vkb_external* ext = (const vkb_external*)(ts + hd->num_tensors);
  const vkb_dispatch* ds = (const vkb_dispatch*)(ext + next);
  for (uint32_t t = 0; t < hd->num_tensors; ++t) {
    const vkb_tensor* x = &ts[t];
    bool ok = x->kind <= VKB_T_ALIAS && x->bytes < ((uint64_t)1 << 40);
    if (x->kind == VKB_T_ALIAS) ok = ok && x->alias_of < t && ts[x->alias_of].kind != VKB_T_ALIAS;
    if (x->kind == VKB_T_CONSTANT)
      ok = ok && x->data_offset <= hd->data_size && x->bytes <= hd->data_size - x->data_offset;
    if (x->kind == VKB_T_INTERNAL) ok = ok && x->first <= x->last && x->last <= hd->num_dispatches;
    if (!ok) {
      vk_errorf(err, err_cap, "vulkan: blob tensor %u is malformed", t);
      return DDK_INCOMPATIBLE_BLOB;
    }
  }
  for (uint32_t i = 0; i < next; ++i)
    if (ext[i].tensor >= hd->num_tensors || ts[ext[i].tensor].kind == VKB_T_INTERNAL ||
        ext[i].rank > DDK_MAX_RANK) {
      vk_errorf(err, err_cap, "vulkan: blob external %u is malformed", i);
      return DDK_INCOMPATIBLE_BLOB;
    }
  for (uint32_t i = 0; i < hd->num_dispatches; ++i) {
    const vkb_dispatch* d = &ds[i];
    bool ok =
        d->kernel < VK_KERNEL_COUNT && d->num_push <= VKB_PUSH_WORDS &&
        d->name_offset < hd->data_size &&
        memchr(blob + hd->data_offset + d->name_offset, 0, hd->data_size - d->name_offset) != NULL;
    ok = ok && d->num_bindings == vk_kernel_table[d->kernel].num_bindings;
    for (uint32_t b = 0; ok && b < d->num_bindings; ++b) ok = d->bindings[b] < hd->num_tensors;
    if (!ok) {
      vk_errorf(err, err_cap, "vulkan: blob dispatch %u is malformed", i);
      return DDK_INCOMPATIBLE_BLOB;
    }
  }
  return DDK_OK;
}

/* ---- pipelines -------------------------------------------------------------------- */

static ddk_status make_pipeline(ddk_delegate_handle* h, uint32_t k, char* err, size_t err_cap) {
  vk_device* d = &h->dev;
  const vk_kernel_info* ki = &vk_kernel_table[k];
  if ((ki->needs & VK_NEED_16BIT) && !d->has_16bit_storage) {
    vk_errorf(err, err_cap, "vulkan: kernel %s needs 16-bit storage, which is not enabled",
              ki->name);
    return DDK_INCOMPATIBLE_BLOB;
  }
  uint32_t nb = ki->num_bindings;
  if (h->dsl[nb] == VK_NULL_HANDLE) {
    VkDescriptorSetLayoutBinding b[VKB_MAX_BINDINGS];
    for (uint32_t i = 0; i < nb; ++i)
      b[i] = (VkDescriptorSetLayoutBinding){.binding = i,
                                            .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                            .descriptorCount = 1,
                                            .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT};
    VkDescriptorSetLayoutCreateInfo li = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
        .bindingCount = nb,
        .pBindings = b};
    VkPushConstantRange pr = {
        .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .offset = 0, .size = VKB_PUSH_WORDS * 4};
    if (d->fn.vkCreateDescriptorSetLayout(d->device, &li, NULL, &h->dsl[nb]) != VK_SUCCESS) {
      h->dsl[nb] = VK_NULL_HANDLE;
      ddk_set_error(err, err_cap, "vulkan: vkCreateDescriptorSetLayout failed");
      return DDK_BACKEND_FAILURE;
    }
    VkPipelineLayoutCreateInfo pli = {.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
                                      .setLayoutCount = 1,
                                      .pSetLayouts = &h->dsl[nb],
                                      .pushConstantRangeCount = 1,
                                      .pPushConstantRanges = &pr};
    if (d->fn.vkCreatePipelineLayout(d->device, &pli, NULL, &h->layouts[nb]) != VK_SUCCESS) {
      h->layouts[nb] = VK_NULL_HANDLE;
      ddk_set_error(err, err_cap, "vulkan: vkCreatePipelineLayout failed");
      return DDK_BACKEND_FAILURE;
    }
  }
  VkShaderModuleCreateInfo mi = {.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
                                 .codeSize = ki->spirv_size,
                                 .pCode = ki->spirv};
  VkResult r = d->fn.vkCreateShaderModule(d->device, &mi, NULL, &h->modules[k]);
  if (r != VK_SUCCESS) {
    h->modules[k] = VK_NULL_HANDLE;
    vk_errorf(err, err_cap, "vulkan: shader %s: vkCreateShaderModule: %s", ki->name,
              vk_result_str(r));
    return DDK_BACKEND_FAILURE;
  }
  VkComputePipelineCreateInfo ci = {
      .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
      .stage = {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
                .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                .module = h->modules[k],
                .pName = "main"},
      .layout = h->layouts[nb]};
  r = d->fn.vkCreateComputePipelines(d->device, VK_NULL_HANDLE, 1, &ci, NULL, &h->pipes[k]);
  if (r != VK_SUCCESS) {
    h->pipes[k] = VK_NULL_HANDLE;
    vk_errorf(err, err_cap, "vulkan: shader %s: vkCreateComputePipelines: %s", ki->name,
              vk_result_str(r));
    return DDK_BACKEND_FAILURE;
  }
  return DDK_OK;
}

/* Workgroup counts of a dispatch from its work sizes, within the limits. */
static void groups_of(const vk_device* dev, const vkb_dispatch* bd, uint32_t cap, uint32_t g[3]) {
  const vk_kernel_info* ki = &vk_kernel_table[bd->kernel]; /* alternatives share the tiles */
  const uint32_t* mx = dev->props.limits.maxComputeWorkGroupCount;
  uint64_t want[3] = {1, 1, 1};
  switch (ki->grid) {
    case VK_GRID_LINEAR:
      want[0] = (bd->work[0] + 127u) / 128u;
      break;
    case VK_GRID_ROWS:
      want[0] = bd->work[0];
      break;
    default:
      want[0] = (bd->work[0] + ki->tile_x - 1u) / ki->tile_x;
      want[1] = (bd->work[1] + ki->tile_y - 1u) / ki->tile_y;
      want[2] = bd->work[2];
  }
  for (int i = 0; i < 3; ++i) {
    uint64_t most = cap && cap < mx[i] ? cap : mx[i];
    if (want[i] < 1) want[i] = 1;
    g[i] = want[i] > most ? (uint32_t)most : (uint32_t)want[i]; /* the shaders grid-stride */
  }
}

static ddk_status make_descriptors(ddk_delegate_handle* h, const vkb_dispatch* bds, char* err,
                                   size_t err_cap) {
  vk_device* d = &h->dev;
  uint32_t total = 0;
  for (uint32_t i = 0; i < h->num_ds; ++i) total += bds[i].num_bindings;
  if (h->num_ds == 0) return DDK_OK;
  VkDescriptorPoolSize ps = {.type = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                             .descriptorCount = total ? total : 1};
  VkDescriptorPoolCreateInfo pi = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
                                   .maxSets = h->num_ds,
                                   .poolSizeCount = 1,
                                   .pPoolSizes = &ps};
  if (d->fn.vkCreateDescriptorPool(d->device, &pi, NULL, &h->pool) != VK_SUCCESS) {
    h->pool = VK_NULL_HANDLE;
    ddk_set_error(err, err_cap, "vulkan: vkCreateDescriptorPool failed");
    return DDK_RESOURCE_EXHAUSTED;
  }
  h->sets = vk_alloc(h, sizeof(VkDescriptorSet) * h->num_ds);
  if (h->sets == NULL) {
    ddk_set_error(err, err_cap, "vulkan: out of memory in init");
    return DDK_OUT_OF_MEMORY;
  }
  for (uint32_t i = 0; i < h->num_ds; ++i) {
    const vkb_dispatch* bd = &bds[i];
    uint32_t nb = bd->num_bindings;
    VkDescriptorSetAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
                                      .descriptorPool = h->pool,
                                      .descriptorSetCount = 1,
                                      .pSetLayouts = &h->dsl[nb]};
    VkResult r = d->fn.vkAllocateDescriptorSets(d->device, &ai, &h->sets[i]);
    if (r != VK_SUCCESS) {
      vk_errorf(err, err_cap, "vulkan: vkAllocateDescriptorSets: %s", vk_result_str(r));
      return DDK_RESOURCE_EXHAUSTED;
    }
    VkDescriptorBufferInfo bi[VKB_MAX_BINDINGS];
    VkWriteDescriptorSet w[VKB_MAX_BINDINGS];
    for (uint32_t b = 0; b < nb; ++b) {
      const vk_storage* s = &h->st[bd->bindings[b]];
      bi[b] = (VkDescriptorBufferInfo){h->arenas[s->arena].buffer, s->offset, s->size};
      w[b] = (VkWriteDescriptorSet){.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
                                    .dstSet = h->sets[i],
                                    .dstBinding = b,
                                    .descriptorCount = 1,
                                    .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                    .pBufferInfo = &bi[b]};
    }
    d->fn.vkUpdateDescriptorSets(d->device, nb, w, 0, NULL);
  }
  return DDK_OK;
}

/* ---- recording -------------------------------------------------------------------- */

typedef struct vk_range {
  uint32_t arena;
  VkDeviceSize lo, hi;
} vk_range;

static bool overlaps(const vk_range* set, uint32_t n, const vk_range* r) {
  for (uint32_t i = 0; i < n; ++i)
    if (set[i].arena == r->arena && set[i].lo < r->hi && r->lo < set[i].hi) return true;
  return false;
}

static void barrier(const vk_device* d, VkCommandBuffer cb, VkPipelineStageFlags src,
                    VkAccessFlags sa, VkPipelineStageFlags dst, VkAccessFlags da) {
  VkMemoryBarrier mb = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER, .srcAccessMask = sa, .dstAccessMask = da};
  d->fn.vkCmdPipelineBarrier(cb, src, dst, 0, 1, &mb, 0, NULL, 0, NULL);
}

/* Records one command buffer; `prof`: serialised and timestamped. */
static ddk_status record(ddk_delegate_handle* h, const vkb_dispatch* bds, VkCommandBuffer cb,
                         bool prof, vk_range* scratch, char* err, size_t err_cap) {
  vk_device* d = &h->dev;
  VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  if (d->fn.vkBeginCommandBuffer(cb, &bi) != VK_SUCCESS) {
    ddk_set_error(err, err_cap, "vulkan: vkBeginCommandBuffer failed");
    return DDK_BACKEND_FAILURE;
  }
  if (!h->direct && h->num_inputs) {
    for (uint32_t i = 0; i < h->num_inputs; ++i) {
      const vk_storage* s = &h->st[h->ext[i].tensor];
      VkBufferCopy c = {h->ext_stage[i], s->offset, h->tensors[h->ext[i].tensor].bytes};
      if (c.size) d->fn.vkCmdCopyBuffer(cb, h->stage_in.buffer, h->arenas[s->arena].buffer, 1, &c);
    }
    barrier(d, cb, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
            VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
            VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_TRANSFER_READ_BIT);
  }
  if (prof) {
    d->fn.vkCmdResetQueryPool(cb, h->queries, 0, h->num_ds + 1);
    d->fn.vkCmdWriteTimestamp(cb, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, h->queries, 0);
  }
  vk_range* rd = scratch;                                        /* read since the last barrier */
  vk_range* wr = scratch + VKB_MAX_BINDINGS * (size_t)h->num_ds; /* written */
  uint32_t nr = 0, nw = 0, barriers = 0;
  for (uint32_t i = 0; i < h->num_ds; ++i) {
    const vkb_dispatch* bd = &bds[i];
    const vk_kernel_info* ki = &vk_kernel_table[h->ds[i].kernel];
    bool need = prof && i > 0;
    for (uint32_t b = 0; b < bd->num_bindings && !need; ++b) {
      const vk_storage* s = &h->st[bd->bindings[b]];
      vk_range r = {s->arena, s->offset, s->offset + s->size};
      bool writes = (ki->write_mask >> b) & 1u;
      need = overlaps(wr, nw, &r) || (writes && overlaps(rd, nr, &r));
    }
    if (need) {
      barrier(d, cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT,
              VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
              VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
      nr = nw = 0;
      ++barriers;
    }
    for (uint32_t b = 0; b < bd->num_bindings; ++b) {
      const vk_storage* s = &h->st[bd->bindings[b]];
      vk_range r = {s->arena, s->offset, s->offset + s->size};
      if ((ki->write_mask >> b) & 1u)
        wr[nw++] = r;
      else
        rd[nr++] = r;
    }
    uint32_t push[VKB_PUSH_WORDS] = {0};
    memcpy(push, bd->push, bd->num_push * sizeof(uint32_t));
    d->fn.vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, h->pipes[h->ds[i].kernel]);
    d->fn.vkCmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE, h->layouts[bd->num_bindings],
                                  0, 1, &h->sets[i], 0, NULL);
    d->fn.vkCmdPushConstants(cb, h->layouts[bd->num_bindings], VK_SHADER_STAGE_COMPUTE_BIT, 0,
                             sizeof push, push);
    const uint32_t* g = h->ds[i].groups;
    d->fn.vkCmdDispatch(cb, g[0], g[1], g[2]);
    if (prof)
      d->fn.vkCmdWriteTimestamp(cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, h->queries, i + 1);
  }
  if (!prof) h->num_barriers = barriers;
  if (h->direct) {
    barrier(d, cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT,
            VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
  } else if (h->num_outputs) {
    barrier(d, cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
            VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
            VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_READ_BIT);
    for (uint32_t j = 0; j < h->num_outputs; ++j) {
      uint32_t e = h->num_inputs + j;
      const vk_storage* s = &h->st[h->ext[e].tensor];
      VkBufferCopy c = {s->offset, h->ext_stage[e], h->tensors[h->ext[e].tensor].bytes};
      if (c.size) d->fn.vkCmdCopyBuffer(cb, h->arenas[s->arena].buffer, h->stage_out.buffer, 1, &c);
    }
    barrier(d, cb, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
            VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
  }
  if (d->fn.vkEndCommandBuffer(cb) != VK_SUCCESS) {
    ddk_set_error(err, err_cap, "vulkan: vkEndCommandBuffer failed");
    return DDK_BACKEND_FAILURE;
  }
  return DDK_OK;
}

static ddk_status make_commands(ddk_delegate_handle* h, const vkb_dispatch* bds, char* err,
                                size_t err_cap) {
  vk_device* d = &h->dev;
  VkCommandPoolCreateInfo pci = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                 .queueFamilyIndex = d->queue_family};
  VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  if (d->fn.vkCreateCommandPool(d->device, &pci, NULL, &h->cmd_pool) != VK_SUCCESS) {
    h->cmd_pool = VK_NULL_HANDLE;
    ddk_set_error(err, err_cap, "vulkan: vkCreateCommandPool failed");
    return DDK_BACKEND_FAILURE;
  }
  if (d->fn.vkCreateFence(d->device, &fci, NULL, &h->fence) != VK_SUCCESS) {
    h->fence = VK_NULL_HANDLE;
    ddk_set_error(err, err_cap, "vulkan: vkCreateFence failed");
    return DDK_BACKEND_FAILURE;
  }
  bool ts = d->timestamp_bits > 0;
  VkCommandBuffer cbs[2];
  VkCommandBufferAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                    .commandPool = h->cmd_pool,
                                    .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                    .commandBufferCount = ts ? 2 : 1};
  if (d->fn.vkAllocateCommandBuffers(d->device, &ai, cbs) != VK_SUCCESS) {
    ddk_set_error(err, err_cap, "vulkan: vkAllocateCommandBuffers failed");
    return DDK_BACKEND_FAILURE;
  }
  h->cmd = cbs[0];
  size_t nscratch = 2 * VKB_MAX_BINDINGS * (size_t)h->num_ds + 2;
  vk_range* scratch = vk_alloc(h, nscratch * sizeof(vk_range));
  if (scratch == NULL) {
    ddk_set_error(err, err_cap, "vulkan: out of memory in init");
    return DDK_OUT_OF_MEMORY;
  }
  ddk_status s = record(h, bds, h->cmd, false, scratch, err, err_cap);
  if (s == DDK_OK && ts) {
    VkQueryPoolCreateInfo qi = {.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
                                .queryType = VK_QUERY_TYPE_TIMESTAMP,
                                .queryCount = h->num_ds + 1};
    h->ticks = vk_alloc(h, sizeof(uint64_t) * (h->num_ds + 1));
    if (h->ticks == NULL) {
      ddk_set_error(err, err_cap, "vulkan: out of memory in init");
      s = DDK_OUT_OF_MEMORY;
    } else if (d->fn.vkCreateQueryPool(d->device, &qi, NULL, &h->queries) != VK_SUCCESS) {
      h->queries = VK_NULL_HANDLE;
      ddk_set_error(err, err_cap, "vulkan: vkCreateQueryPool failed");
      s = DDK_BACKEND_FAILURE;
    } else {
      h->cmd_prof = cbs[1];
      s = record(h, bds, h->cmd_prof, true, scratch, err, err_cap);
    }
  }
  vk_free(h, scratch, nscratch * sizeof(vk_range));
  return s;
}

/* ---- init / destroy --------------------------------------------------------------- */

static void free_handle(ddk_delegate_handle* h) {
  vk_device* d = &h->dev;
  if (d->device) {
    d->fn.vkDeviceWaitIdle(d->device);
    if (h->fence) d->fn.vkDestroyFence(d->device, h->fence, NULL);
    if (h->queries) d->fn.vkDestroyQueryPool(d->device, h->queries, NULL);
    if (h->cmd_pool) d->fn.vkDestroyCommandPool(d->device, h->cmd_pool, NULL);
    if (h->pool) d->fn.vkDestroyDescriptorPool(d->device, h->pool, NULL);
    for (uint32_t k = 0; k < VK_KERNEL_COUNT; ++k) {
      if (h->pipes[k]) d->fn.vkDestroyPipeline(d->device, h->pipes[k], NULL);
      if (h->modules[k]) d->fn.vkDestroyShaderModule(d->device, h->modules[k], NULL);
    }
    for (uint32_t b = 0; b <= VKB_MAX_BINDINGS; ++b) {
      if (h->layouts[b]) d->fn.vkDestroyPipelineLayout(d->device, h->layouts[b], NULL);
      if (h->dsl[b]) d->fn.vkDestroyDescriptorSetLayout(d->device, h->dsl[b], NULL);
    }
    vk_memory_free(h);
  }
  vk_device_close(d);
  uint32_t next = h->num_inputs + h->num_outputs;
  vk_free(h, h->sets, sizeof(VkDescriptorSet) * h->num_ds);
  vk_free(h, h->ticks, sizeof(uint64_t) * (h->num_ds + 1));
  vk_free(h, h->st, sizeof(vk_storage) * h->num_tensors);
  vk_free(h, h->ext_stage, sizeof(VkDeviceSize) * (next + 1));
  vk_free(h, h->tensors, sizeof(vkb_tensor) * h->num_tensors);
  vk_free(h, h->ext, sizeof(vkb_external) * next);
  vk_free(h, h->ds, sizeof(vk_rt_dispatch) * h->num_ds);
  vk_free(h, h->names, h->names_size);
  const ddk_allocator* a = &h->services->allocator;
  a->free(a->self, h, sizeof *h);
}

static ddk_status vk_init(const ddk_backend* self, const void* blob, size_t blob_size,
                          const char* compat, const ddk_options* options,
                          const ddk_services* services, ddk_delegate_handle** out_handle, char* err,
                          size_t err_cap) {
  (void)self;
  *out_handle = NULL;
  vkb_header hd;
  ddk_status s = check_blob(blob, blob_size, compat, &hd, err, err_cap);
  if (s != DDK_OK) return s;
  const ddk_allocator* a = &services->allocator;
  ddk_delegate_handle* h = a->alloc(a->self, sizeof *h, 64);
  if (h == NULL) {
    ddk_set_error(err, err_cap, "vulkan: out of memory in init");
    return DDK_OUT_OF_MEMORY;
  }
  memset(h, 0, sizeof *h);
  h->services = services;
  h->profiling = services->profiler.enabled;
  const uint8_t* base = blob;
  const vkb_tensor* ts = (const vkb_tensor*)(base + sizeof hd);
  uint32_t next = hd.num_inputs + hd.num_outputs;
  const vkb_external* ext = (const vkb_external*)(ts + hd.num_tensors);
  const vkb_dispatch* bds = (const vkb_dispatch*)(ext + next);
  const uint8_t* data = base + hd.data_offset;
  h->num_tensors = hd.num_tensors;
  h->num_ds = hd.num_dispatches;
  h->num_inputs = hd.num_inputs;
  h->num_outputs = hd.num_outputs;
  h->tensors = vk_alloc(h, sizeof(vkb_tensor) * h->num_tensors);
  h->ext = vk_alloc(h, sizeof(vkb_external) * next);
  h->ds = vk_alloc(h, sizeof(vk_rt_dispatch) * h->num_ds);
  h->names_size = (size_t)hd.data_size + 1;
  h->names = vk_alloc(h, h->names_size);
  if (!h->tensors || !h->ext || !h->ds || !h->names) {
    ddk_set_error(err, err_cap, "vulkan: out of memory in init");
    s = DDK_OUT_OF_MEMORY;
    goto cleanup;
  }
  memcpy(h->tensors, ts, sizeof(vkb_tensor) * h->num_tensors);
  memcpy(h->ext, ext, sizeof(vkb_external) * next);
  /* names only: the constants go to the device */
  for (uint32_t i = 0; i < h->num_ds; ++i) {
    const char* nm = (const char*)data + bds[i].name_offset;
    size_t len = strlen(nm) + 1;
    memcpy(h->names + bds[i].name_offset, nm, len);
    h->ds[i].name = h->names + bds[i].name_offset;
    h->ds[i].kernel = bds[i].kernel;
    h->ds[i].node_index = bds[i].node_index;
    h->ds[i].flops = bds[i].flops;
    h->ds[i].bytes = bds[i].bytes;
  }
  s = vk_device_open(&h->dev, options, (hd.flags & VKB_FLAG_FP16) != 0, err, err_cap);
  if (s != DDK_OK) goto cleanup;
  s = vk_memory_init(h, data, ddk_options_get_bool(options, "vulkan.staging", false), err, err_cap);
  bool alt = false; /* GEMM flavour: tiled through shared memory, or register-blocked */
  const char* gemm = ddk_options_get_string(options, "vulkan.gemm", "auto");
  if (s == DDK_OK && strcmp(gemm, "direct") == 0)
    alt = true;
  else if (s == DDK_OK && strcmp(gemm, "auto") == 0)
    alt = h->dev.props.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU;
  else if (s == DDK_OK && strcmp(gemm, "tiled") != 0) {
    vk_errorf(err, err_cap, "vulkan: option vulkan.gemm='%s' is not auto, tiled or direct", gemm);
    s = DDK_INVALID_ARGUMENT;
  }
  int64_t cap = ddk_options_get_int(options, "vulkan.max_groups", 0);
  for (uint32_t i = 0; i < h->num_ds && s == DDK_OK; ++i) {
    uint32_t k = alt ? vk_kernel_table[bds[i].kernel].cpu_alt : bds[i].kernel;
    h->ds[i].kernel = k;
    groups_of(&h->dev, &bds[i], cap > 0 && cap < 65536 ? (uint32_t)cap : 0, h->ds[i].groups);
    if (h->pipes[k] == VK_NULL_HANDLE) s = make_pipeline(h, k, err, err_cap);
  }
  if (s == DDK_OK) s = make_descriptors(h, bds, err, err_cap);
  if (s == DDK_OK) s = make_commands(h, bds, err, err_cap);
cleanup:
  if (s != DDK_OK) {
    free_handle(h);
    return s;
  }
  *out_handle = h;
  return DDK_OK;
}

static void vk_destroy(ddk_delegate_handle* h) {
  if (h != NULL) free_handle(h);
}

static ddk_status vk_set_profiling(ddk_delegate_handle* h, bool enabled) {
  if (h == NULL) return DDK_INVALID_ARGUMENT;
  h->profiling = enabled;
  return DDK_OK;
}

/* ---- execute ---------------------------------------------------------------------- */

static uint64_t now(const ddk_delegate_handle* h) {
  const ddk_profiler_sink* p = &h->services->profiler;
  return p->now_ns ? p->now_ns(p->self) : 0;
}

static void emit(const ddk_delegate_handle* h, uint32_t kind, uint32_t node, const char* name,
                 uint64_t t0, uint64_t t1, uint64_t bytes, uint64_t flops, const char* detail) {
  const ddk_profiler_sink* p = &h->services->profiler;
  if (p->emit == NULL) return;
  ddk_profile_event e;
  memset(&e, 0, sizeof e);
  e.header = (ddk_struct_header)DDK_STRUCT_HEADER_INIT(ddk_profile_event);
  e.kind = kind;
  e.node_index = node;
  e.name = name;
  e.start_ns = t0;
  e.end_ns = t1 < t0 ? t0 : t1;
  e.bytes = bytes;
  e.flops = flops;
  e.detail = detail;
  p->emit(p->self, &e);
}

static ddk_status check_tensor(const vkb_external* e, const ddk_tensor* t, const char* what,
                               uint32_t i, uint64_t bytes, char* err, size_t err_cap) {
  if (t == NULL || (t->data == NULL && bytes > 0)) {
    vk_errorf(err, err_cap, "vulkan: %s %u is NULL", what, i);
    return DDK_INVALID_ARGUMENT;
  }
  bool same = t->dtype == e->dtype && t->rank == e->rank && t->capacity >= bytes;
  for (uint32_t d = 0; same && d < e->rank; ++d)
    same = t->sizes[d] == e->sizes[d] && (e->sizes[d] <= 1 || t->strides[d] == e->strides[d]);
  if (!same) {
    vk_errorf(err, err_cap, "vulkan: %s %u does not have the dtype, shape or layout compiled for",
              what, i);
    return DDK_SHAPE_MISMATCH;
  }
  return DDK_OK;
}

static void sync_range(const vk_device* d, const vk_arena* ar, bool flush) {
  if (ar->coherent || ar->memory == VK_NULL_HANDLE) return;
  VkMappedMemoryRange mr = {
      .sType = VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE, .memory = ar->memory, .size = VK_WHOLE_SIZE};
  if (flush)
    d->fn.vkFlushMappedMemoryRanges(d->device, 1, &mr);
  else
    d->fn.vkInvalidateMappedMemoryRanges(d->device, 1, &mr);
}

/* Host address of external i. */
static uint8_t* ext_ptr(const ddk_delegate_handle* h, uint32_t i) {
  if (h->direct) {
    const vk_storage* s = &h->st[h->ext[i].tensor];
    return h->arenas[s->arena].map + s->offset;
  }
  return (i < h->num_inputs ? h->stage_in.map : h->stage_out.map) + h->ext_stage[i];
}

static void emit_dispatches(const ddk_delegate_handle* h, uint64_t t_submit, uint64_t t_done) {
  const vk_device* d = &h->dev;
  uint64_t mask = d->timestamp_bits >= 64 ? UINT64_MAX : (1ull << d->timestamp_bits) - 1;
  double period = d->props.limits.timestampPeriod;
  uint64_t total = (h->ticks[h->num_ds] - h->ticks[0]) & mask;
  uint64_t gpu_total = (uint64_t)((double)total * period);
  uint64_t origin = t_done > gpu_total ? t_done - gpu_total : 0;
  if (origin < t_submit) origin = t_submit;
  char detail[160];
  for (uint32_t i = 0; i < h->num_ds; ++i) {
    const vk_rt_dispatch* x = &h->ds[i];
    uint64_t a = (uint64_t)((double)((h->ticks[i] - h->ticks[0]) & mask) * period);
    uint64_t b = (uint64_t)((double)((h->ticks[i + 1] - h->ticks[0]) & mask) * period);
    snprintf(detail, sizeof detail, "gpu_ns=%llu;workgroups=%ux%ux%u;kernel=%s",
             (unsigned long long)(b - a), x->groups[0], x->groups[1], x->groups[2],
             vk_kernel_table[x->kernel].name);
    emit(h, DDK_PROFILE_OP, x->node_index, x->name, origin + a, origin + b, x->bytes, x->flops,
         detail);
  }
}

static ddk_status vk_execute(ddk_delegate_handle* h, const ddk_tensor* const* inputs,
                             uint32_t num_inputs, ddk_tensor* const* outputs, uint32_t num_outputs,
                             char* err, size_t err_cap) {
  if (h == NULL || num_inputs != h->num_inputs || num_outputs != h->num_outputs ||
      (num_inputs && inputs == NULL) || (num_outputs && outputs == NULL)) {
    vk_errorf(err, err_cap, "vulkan: execute expects %u inputs and %u outputs",
              h ? h->num_inputs : 0, h ? h->num_outputs : 0);
    return DDK_INVALID_ARGUMENT;
  }
  vk_device* d = &h->dev;
  for (uint32_t i = 0; i < num_inputs + num_outputs; ++i) {
    bool in = i < num_inputs;
    const ddk_tensor* t = in ? inputs[i] : outputs[i - num_inputs];
    uint64_t bytes = h->tensors[h->ext[i].tensor].bytes;
    ddk_status s = check_tensor(&h->ext[i], t, in ? "input" : "output", in ? i : i - num_inputs,
                                bytes, err, err_cap);
    if (s != DDK_OK) return s;
  }
  bool prof = h->profiling && h->services->profiler.emit != NULL;
  bool timed = prof && h->cmd_prof != VK_NULL_HANDLE;
  uint64_t t0 = prof ? now(h) : 0;
  for (uint32_t i = 0; i < num_inputs; ++i) {
    uint64_t bytes = h->tensors[h->ext[i].tensor].bytes;
    if (bytes) memcpy(ext_ptr(h, i), inputs[i]->data, bytes);
  }
  if (h->direct)
    for (uint32_t i = 0; i < h->num_arenas; ++i) sync_range(d, &h->arenas[i], true);
  else
    sync_range(d, &h->stage_in, true);
  uint64_t t1 = prof ? now(h) : 0;
  if (prof && num_inputs)
    emit(h, DDK_PROFILE_COPY, DDK_NO_VALUE, "vulkan: inputs to the device", t0, t1, h->bytes_in, 0,
         h->direct ? "path=mapped" : "path=staging");
  VkCommandBuffer cb = timed ? h->cmd_prof : h->cmd;
  VkSubmitInfo si = {
      .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &cb};
  VkResult r = d->fn.vkQueueSubmit(d->queue, 1, &si, h->fence);
  if (r == VK_SUCCESS)
    r = d->fn.vkWaitForFences(d->device, 1, &h->fence, VK_TRUE, VK_FENCE_TIMEOUT_NS);
  uint64_t t2 = prof ? now(h) : 0;
  if (r != VK_SUCCESS) {
    vk_errorf(err, err_cap, "vulkan: running the partition on '%s' failed: %s", d->props.deviceName,
              vk_result_str(r));
    return r == VK_ERROR_DEVICE_LOST ? DDK_DEVICE_LOST : DDK_BACKEND_FAILURE;
  }
  d->fn.vkResetFences(d->device, 1, &h->fence);
  if (h->direct)
    for (uint32_t i = 0; i < h->num_arenas; ++i) sync_range(d, &h->arenas[i], false);
  else
    sync_range(d, &h->stage_out, false);
  for (uint32_t j = 0; j < num_outputs; ++j) {
    uint64_t bytes = h->tensors[h->ext[num_inputs + j].tensor].bytes;
    if (bytes) memcpy(outputs[j]->data, ext_ptr(h, num_inputs + j), bytes);
  }
  if (prof) {
    uint64_t t3 = now(h);
    if (timed && h->num_ds &&
        d->fn.vkGetQueryPoolResults(
            d->device, h->queries, 0, h->num_ds + 1, sizeof(uint64_t) * (h->num_ds + 1), h->ticks,
            sizeof(uint64_t), VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT) == VK_SUCCESS)
      emit_dispatches(h, t1, t2);
    else if (h->num_ds)
      emit(h, DDK_PROFILE_OP, DDK_NO_VALUE, "vulkan: partition", t1, t2, 0, 0,
           "gpu_ns=unknown (no timestamps on this queue)");
    if (num_outputs)
      emit(h, DDK_PROFILE_COPY, DDK_NO_VALUE, "vulkan: outputs to the host", t2, t3, h->bytes_out,
           0, h->direct ? "path=mapped" : "path=staging");
  }
  return DDK_OK;
}

/* ---- the vtable and the entry symbol ------------------------------------------------ */

static const ddk_backend kVulkanBackend = {
    .header = DDK_STRUCT_HEADER_INIT(ddk_backend),
    .name = "vulkan",
    .version = "1.0.0",
    .flags = DDK_BACKEND_BLOB_RELEASABLE, /* init copies what it keeps */
    .user_data = NULL,
    .query = vk_query,
    .partition = vk_partition,
    .preprocess = vk_preprocess,
    .init = vk_init,
    .execute = vk_execute,
    .destroy = vk_destroy,
    .set_profiling = vk_set_profiling,
};

DDK_DECLARE_BACKEND_ENTRY() {
  if (out_backend == NULL) return DDK_INVALID_ARGUMENT;
  *out_backend = NULL;
  if (DDK_ABI_VERSION_MAJOR_OF(host_abi_version) != DDK_ABI_VERSION_MAJOR) {
    vk_errorf(err, err_cap, "vulkan: host ABI %u.%u, plugin speaks %u.x",
              DDK_ABI_VERSION_MAJOR_OF(host_abi_version),
              DDK_ABI_VERSION_MINOR_OF(host_abi_version), DDK_ABI_VERSION_MAJOR);
    return DDK_ABI_MISMATCH;
  }
  *out_backend = &kVulkanBackend;
  return DDK_OK;
}
