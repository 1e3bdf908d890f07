/*
 * vk_device.c — the Vulkan loader, device selection and `query`.
 *
 * libvulkan.so.1 is opened with dlopen and every function is looked up
 * through vkGetInstanceProcAddr / vkGetDeviceProcAddr into a per-device
 * table (no globals): the plugin loads on a machine without Vulkan, and
 * query then says why the backend is unavailable instead of the host
 * failing to dlopen the plugin.
 */
#include <ctype.h>
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vk_device.h"

void vk_errorf(char* err, size_t err_cap, const char* fmt, ...) {
  if (err == NULL || err_cap == 0) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, err_cap, fmt, ap);
  va_end(ap);
}

const char* vk_result_str(VkResult r) {
  switch (r) {
#define VK_R_(x) \
  case x:        \
    return #x;
    VK_R_(VK_SUCCESS)
    VK_R_(VK_NOT_READY)
    VK_R_(VK_TIMEOUT)
    VK_R_(VK_INCOMPLETE)
    VK_R_(VK_ERROR_OUT_OF_HOST_MEMORY)
    VK_R_(VK_ERROR_OUT_OF_DEVICE_MEMORY)
    VK_R_(VK_ERROR_INITIALIZATION_FAILED)
    VK_R_(VK_ERROR_DEVICE_LOST)
    VK_R_(VK_ERROR_MEMORY_MAP_FAILED)
    VK_R_(VK_ERROR_LAYER_NOT_PRESENT)
    VK_R_(VK_ERROR_EXTENSION_NOT_PRESENT)
    VK_R_(VK_ERROR_FEATURE_NOT_PRESENT)
    VK_R_(VK_ERROR_INCOMPATIBLE_DRIVER)
    VK_R_(VK_ERROR_TOO_MANY_OBJECTS)
    VK_R_(VK_ERROR_FORMAT_NOT_SUPPORTED)
    VK_R_(VK_ERROR_FRAGMENTED_POOL)
    VK_R_(VK_ERROR_OUT_OF_POOL_MEMORY)
#undef VK_R_
    default:
      return "VK_ERROR_(unknown)";
  }
}

const char* vk_device_type_str(VkPhysicalDeviceType t) {
  switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU:
      return "integrated GPU";
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU:
      return "discrete GPU";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU:
      return "virtual GPU";
    case VK_PHYSICAL_DEVICE_TYPE_CPU:
      return "CPU-emulated";
    default:
      return "other";
  }
}

/* ---- loader ------------------------------------------------------------------ */

static ddk_status load_library(vk_device* d, char* err, size_t err_cap) {
  d->lib = dlopen("libvulkan.so.1", RTLD_NOW | RTLD_LOCAL);
  if (d->lib == NULL) d->lib = dlopen("libvulkan.so", RTLD_NOW | RTLD_LOCAL);
  if (d->lib == NULL) {
    vk_errorf(err, err_cap,
              "vulkan: the Vulkan loader libvulkan.so.1 is not installed (%s); "
              "install libvulkan1 and a driver (mesa-vulkan-drivers for lavapipe)",
              dlerror());
    return DDK_BACKEND_UNAVAILABLE;
  }
  /* dlsym returns void*; POSIX guarantees the conversion works */
  void* sym = dlsym(d->lib, "vkGetInstanceProcAddr");
  memcpy(&d->fn.vkGetInstanceProcAddr, &sym, sizeof sym);
  if (d->fn.vkGetInstanceProcAddr == NULL) {
    vk_errorf(err, err_cap, "vulkan: libvulkan.so.1 has no vkGetInstanceProcAddr");
    return DDK_BACKEND_UNAVAILABLE;
  }
  d->fn.vkCreateInstance =
      (PFN_vkCreateInstance)d->fn.vkGetInstanceProcAddr(NULL, "vkCreateInstance");
  d->fn.vkEnumerateInstanceVersion = (PFN_vkEnumerateInstanceVersion)d->fn.vkGetInstanceProcAddr(
      NULL, "vkEnumerateInstanceVersion");
  if (d->fn.vkCreateInstance == NULL || d->fn.vkEnumerateInstanceVersion == NULL) {
    vk_errorf(err, err_cap,
              "vulkan: the Vulkan loader is older than 1.1 (no vkEnumerateInstanceVersion)");
    return DDK_BACKEND_UNAVAILABLE;
  }
  return DDK_OK;
}

static ddk_status load_instance_fns(vk_device* d, char* err, size_t err_cap) {
#define VK_X_(name)                                                                    \
  d->fn.name = (PFN_##name)d->fn.vkGetInstanceProcAddr(d->instance, #name);            \
  if (d->fn.name == NULL) {                                                            \
    vk_errorf(err, err_cap, "vulkan: the loader lacks %s (Vulkan 1.1 needed)", #name); \
    return DDK_BACKEND_UNAVAILABLE;                                                    \
  }
  VK_FOR_EACH_INSTANCE_FN(VK_X_)
#undef VK_X_
  return DDK_OK;
}

static ddk_status load_device_fns(vk_device* d, char* err, size_t err_cap) {
#define VK_X_(name)                                                     \
  d->fn.name = (PFN_##name)d->fn.vkGetDeviceProcAddr(d->device, #name); \
  if (d->fn.name == NULL) {                                             \
    vk_errorf(err, err_cap, "vulkan: the device lacks %s", #name);      \
    return DDK_BACKEND_FAILURE;                                         \
  }
  VK_FOR_EACH_DEVICE_FN(VK_X_)
#undef VK_X_
  return DDK_OK;
}

/* ---- selection ----------------------------------------------------------------- */

static bool contains_nocase(const char* hay, const char* needle) {
  size_t n = strlen(needle);
  if (n == 0) return true;
  for (; *hay; ++hay) {
    size_t i = 0;
    while (i < n && hay[i] && tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
      ++i;
    if (i == n) return true;
  }
  return false;
}

static bool all_digits(const char* s) {
  if (*s == '\0') return false;
  for (; *s; ++s)
    if (!isdigit((unsigned char)*s)) return false;
  return true;
}

#define VK_MAX_PHYS 16u

/* Creates the instance and picks the physical device (d->phys, d->index,
 * d->props). */
static ddk_status probe(vk_device* d, const ddk_options* options, char* err, size_t err_cap) {
  ddk_status st = load_library(d, err, err_cap);
  if (st != DDK_OK) return st;
  uint32_t loader_version = 0;
  if (d->fn.vkEnumerateInstanceVersion(&loader_version) != VK_SUCCESS ||
      loader_version < VK_API_VERSION_1_1) {
    vk_errorf(err, err_cap, "vulkan: the Vulkan loader speaks %u.%u; 1.1 is needed",
              VK_API_VERSION_MAJOR(loader_version), VK_API_VERSION_MINOR(loader_version));
    return DDK_BACKEND_UNAVAILABLE;
  }
  VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
                           .pApplicationName = "ddk",
                           .pEngineName = "ddk_backend_vulkan",
                           .apiVersion = VK_API_VERSION_1_1};
  VkInstanceCreateInfo ici = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
                              .pApplicationInfo = &app};
  VkResult r = d->fn.vkCreateInstance(&ici, NULL, &d->instance);
  if (r != VK_SUCCESS) {
    d->instance = VK_NULL_HANDLE;
    vk_errorf(err, err_cap,
              "vulkan: no Vulkan physical device (%s); install mesa-vulkan-drivers for "
              "lavapipe, or a GPU driver",
              vk_result_str(r));
    return DDK_BACKEND_UNAVAILABLE;
  }
  st = load_instance_fns(d, err, err_cap);
  if (st != DDK_OK) return st;
  VkPhysicalDevice phys[VK_MAX_PHYS];
  uint32_t count = VK_MAX_PHYS;
  r = d->fn.vkEnumeratePhysicalDevices(d->instance, &count, phys);
  if ((r != VK_SUCCESS && r != VK_INCOMPLETE) || count == 0) {
    vk_errorf(err, err_cap,
              "vulkan: no Vulkan physical device (%s); install mesa-vulkan-drivers for "
              "lavapipe, or a GPU driver",
              r == VK_SUCCESS || r == VK_INCOMPLETE ? "none enumerated" : vk_result_str(r));
    return DDK_BACKEND_UNAVAILABLE;
  }
  VkPhysicalDeviceProperties props[VK_MAX_PHYS];
  for (uint32_t i = 0; i < count; ++i) d->fn.vkGetPhysicalDeviceProperties(phys[i], &props[i]);

  uint32_t pick = UINT32_MAX;
  const ddk_option* o = ddk_options_find(options, "vulkan.device");
  if (o != NULL) {
    int64_t index = -1;
    if (o->type == DDK_OPTION_INT) {
      index = o->value.i;
    } else if (o->type == DDK_OPTION_STRING && o->value.s != NULL) {
      if (all_digits(o->value.s)) {
        index = 0;
        for (const char* s = o->value.s; *s && index < 1000; ++s) index = index * 10 + (*s - '0');
      } else {
        for (uint32_t i = 0; i < count && pick == UINT32_MAX; ++i)
          if (contains_nocase(props[i].deviceName, o->value.s)) pick = i;
        if (pick == UINT32_MAX) {
          vk_errorf(err, err_cap,
                    "vulkan: option vulkan.device='%s' matches none of the %u device(s) "
                    "(first: '%s')",
                    o->value.s, count, props[0].deviceName);
          return DDK_INVALID_ARGUMENT;
        }
      }
    } else {
      vk_errorf(err, err_cap, "vulkan: option vulkan.device must be an int or a string");
      return DDK_INVALID_ARGUMENT;
    }
    if (pick == UINT32_MAX) {
      if (index < 0 || index >= (int64_t)count) {
        vk_errorf(err, err_cap, "vulkan: option vulkan.device=%lld is outside 0..%u",
                  (long long)index, count - 1);
        return DDK_INVALID_ARGUMENT;
      }
      pick = (uint32_t)index;
    }
  } else {
    static const VkPhysicalDeviceType order[] = {VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU,
                                                 VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU};
    for (size_t k = 0; k < 2 && pick == UINT32_MAX; ++k)
      for (uint32_t i = 0; i < count && pick == UINT32_MAX; ++i)
        if (props[i].deviceType == order[k] && props[i].apiVersion >= VK_API_VERSION_1_1) pick = i;
    for (uint32_t i = 0; i < count && pick == UINT32_MAX; ++i)
      if (props[i].apiVersion >= VK_API_VERSION_1_1) pick = i;
    if (pick == UINT32_MAX) pick = 0;
  }
  if (props[pick].apiVersion < VK_API_VERSION_1_1) {
    vk_errorf(err, err_cap, "vulkan: device %u '%s' speaks Vulkan %u.%u; 1.1 is needed", pick,
              props[pick].deviceName, VK_API_VERSION_MAJOR(props[pick].apiVersion),
              VK_API_VERSION_MINOR(props[pick].apiVersion));
    return DDK_BACKEND_UNAVAILABLE;
  }
  d->phys = phys[pick];
  d->index = pick;
  d->props = props[pick];

  VkPhysicalDeviceMaintenance3Properties m3 = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES};
  VkPhysicalDeviceSubgroupProperties sg = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES, .pNext = &m3};
  VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
                                    .pNext = &sg};
  d->fn.vkGetPhysicalDeviceProperties2(d->phys, &p2);
  d->subgroup_size = sg.subgroupSize;
  d->max_allocation = m3.maxMemoryAllocationSize;
  d->fn.vkGetPhysicalDeviceMemoryProperties(d->phys, &d->mem);

  VkPhysicalDevice16BitStorageFeatures f16 = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
  VkPhysicalDeviceFeatures2 f2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
                                  .pNext = &f16};
  d->fn.vkGetPhysicalDeviceFeatures2(d->phys, &f2);
  d->has_16bit_storage = f16.storageBuffer16BitAccess == VK_TRUE;
  d->robust = f2.features.robustBufferAccess == VK_TRUE;

  VkQueueFamilyProperties qf[32];
  uint32_t nq = 32;
  d->fn.vkGetPhysicalDeviceQueueFamilyProperties(d->phys, &nq, qf);
  d->queue_family = UINT32_MAX;
  for (uint32_t i = 0; i < nq && d->queue_family == UINT32_MAX; ++i)
    if (qf[i].queueFlags & VK_QUEUE_COMPUTE_BIT) d->queue_family = i;
  if (d->queue_family == UINT32_MAX) {
    vk_errorf(err, err_cap, "vulkan: device '%s' has no compute queue", d->props.deviceName);
    return DDK_BACKEND_UNAVAILABLE;
  }
  d->timestamp_bits = qf[d->queue_family].timestampValidBits;
  return DDK_OK;
}

ddk_status vk_device_open(vk_device* d, const ddk_options* options, bool want_16bit, char* err,
                          size_t err_cap) {
  ddk_status st = probe(d, options, err, err_cap);
  if (st != DDK_OK) {
    vk_device_close(d);
    return st;
  }
  if (want_16bit && !d->has_16bit_storage) {
    vk_errorf(err, err_cap,
              "vulkan: the blob holds float16 tensors (vulkan.fp16 or vulkan.fp16_storage) but "
              "device '%s' has no storageBuffer16BitAccess; lower without those options",
              d->props.deviceName);
    vk_device_close(d);
    return DDK_INCOMPATIBLE_BLOB;
  }
  float priority = 1.0f;
  VkDeviceQueueCreateInfo qci = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                 .queueFamilyIndex = d->queue_family,
                                 .queueCount = 1,
                                 .pQueuePriorities = &priority};
  VkPhysicalDevice16BitStorageFeatures f16 = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES,
      .storageBuffer16BitAccess = want_16bit ? VK_TRUE : VK_FALSE};
  /* bounds-checked buffer access where the device has it: a blob whose push
   * constants point outside a tensor cannot reach other memory */
  VkPhysicalDeviceFeatures2 f2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
                                  .pNext = &f16,
                                  .features = {.robustBufferAccess = d->robust}};
  VkDeviceCreateInfo dci = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
                            .pNext = &f2,
                            .queueCreateInfoCount = 1,
                            .pQueueCreateInfos = &qci};
  VkResult r = d->fn.vkCreateDevice(d->phys, &dci, NULL, &d->device);
  if (r != VK_SUCCESS) {
    d->device = VK_NULL_HANDLE;
    vk_errorf(err, err_cap, "vulkan: vkCreateDevice on '%s' failed: %s", d->props.deviceName,
              vk_result_str(r));
    vk_device_close(d);
    return DDK_BACKEND_FAILURE;
  }
  d->has_16bit_storage = want_16bit;
  st = load_device_fns(d, err, err_cap);
  if (st != DDK_OK) {
    vk_device_close(d);
    return st;
  }
  d->fn.vkGetDeviceQueue(d->device, d->queue_family, 0, &d->queue);
  return DDK_OK;
}

void vk_device_close(vk_device* d) {
  if (d->device != VK_NULL_HANDLE && d->fn.vkDestroyDevice) d->fn.vkDestroyDevice(d->device, NULL);
  if (d->instance != VK_NULL_HANDLE && d->fn.vkDestroyInstance)
    d->fn.vkDestroyInstance(d->instance, NULL);
  if (d->lib) dlclose(d->lib);
  memset(d, 0, sizeof *d);
}

/* ---- query ---------------------------------------------------------------------- */

ddk_status vk_query(const ddk_backend* self, const ddk_options* options, ddk_backend_info* info,
                    char* err, size_t err_cap) {
  (void)self;
  (void)err;
  (void)err_cap;
  vk_device d;
  memset(&d, 0, sizeof d);
  char why[220] = "";
  ddk_status st = probe(&d, options, why, sizeof why);
  info->available = st == DDK_OK;
  info->capabilities = DDK_CAP_FLOAT32 | DDK_CAP_DEVICE_MEMORY | DDK_CAP_PROFILING;
  if (!info->available) {
    ddk_set_error(info->device_name, sizeof info->device_name, "no Vulkan device");
    ddk_set_error(info->detail, sizeof info->detail, why);
    vk_device_close(&d);
    return DDK_OK;
  }
  bool fp16 = ddk_options_get_bool(options, "vulkan.fp16_storage", false);
  if (d.has_16bit_storage) info->capabilities |= DDK_CAP_FLOAT16;
  ddk_set_error(info->device_name, sizeof info->device_name, d.props.deviceName);
  vk_errorf(info->detail, sizeof info->detail,
            "accuracy_profile=%s; Vulkan %u.%u.%u; device %u (%s); fp16 storage %s; "
            "timestamps %s; subgroup %u; options vulkan.device, vulkan.fp16, vulkan.fp16_storage, "
            "vulkan.staging, vulkan.gemm, vulkan.ops",
            fp16 ? "fp16_accum" : "default", VK_API_VERSION_MAJOR(d.props.apiVersion),
            VK_API_VERSION_MINOR(d.props.apiVersion), VK_API_VERSION_PATCH(d.props.apiVersion),
            d.index, vk_device_type_str(d.props.deviceType), d.has_16bit_storage ? "yes" : "no",
            d.timestamp_bits ? "yes" : "no", d.subgroup_size);
  vk_device_close(&d);
  return DDK_OK;
}
