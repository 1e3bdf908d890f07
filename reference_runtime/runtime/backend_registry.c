/*
 * backend_registry.c — the runtime object, its services, static backend
 * registration and dlopen plugins with ABI negotiation.
 */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "runtime_internal.h"

/* ---- services ----------------------------------------------------------- */

static void stderr_log(void* self, int32_t level, const char* source,
                       const char* message) {
  (void)self;
  static const char* const names[] = {"debug", "info", "warning", "error"};
  int32_t min_level = DDK_LOG_WARNING;
  const char* env = getenv("DDK_LOG_LEVEL");
  if (env != NULL) min_level = (int32_t)strtol(env, NULL, 10);
  if (level < min_level) return;
  const char* lname = (level >= 0 && level <= 3) ? names[level] : "log";
  fprintf(stderr, "[%s] %s: %s\n", lname, source ? source : "?", message);
}

static uint64_t sink_now(void* self) {
  (void)self;
  return ddk_rt_now_ns();
}

ddk_status ddk_runtime_create(const ddk_allocator* allocator,
                              ddk_runtime** out_runtime, char* err,
                              size_t err_cap) {
  if (out_runtime == NULL)
    return ddk_rt_fail(err, err_cap, DDK_INVALID_ARGUMENT,
                       "ddk_runtime_create: out_runtime is NULL");
  *out_runtime = NULL;
  const ddk_allocator* a = allocator ? allocator : ddk_allocator_system();
  if (a->alloc == NULL || a->free == NULL)
    return ddk_rt_fail(err, err_cap, DDK_INVALID_ARGUMENT,
                       "ddk_runtime_create: allocator without alloc/free");
  ddk_runtime* rt = ddk_rt_alloc(a, sizeof *rt);
  if (rt == NULL)
    return ddk_rt_fail(err, err_cap, DDK_OUT_OF_MEMORY,
                       "ddk_runtime_create: out of memory");
  rt->allocator = *a;
  rt->services.header = (ddk_struct_header)DDK_STRUCT_HEADER_INIT(ddk_services);
  rt->services.allocator = *a;
  rt->services.logger.self = NULL;
  rt->services.logger.log = stderr_log;
  rt->services.profiler.self = NULL;
  rt->services.profiler.enabled = false;
  rt->services.profiler.emit = ddk_rt_profile_emit;
  rt->services.profiler.now_ns = sink_now;
  *out_runtime = rt;
  return DDK_OK;
}

void ddk_runtime_destroy(ddk_runtime* rt) {
  if (rt == NULL) return;
  for (uint32_t i = 0; i < rt->num_backends; ++i)
    if (rt->backends[i].dl_handle != NULL) dlclose(rt->backends[i].dl_handle);
  ddk_allocator a = rt->allocator;
  ddk_rt_free(&a, rt, sizeof *rt);
}

void ddk_runtime_set_logger(ddk_runtime* rt, const ddk_logger* logger) {
  if (rt == NULL || logger == NULL || logger->log == NULL) return;
  rt->services.logger = *logger;
}

const ddk_services* ddk_runtime_services(const ddk_runtime* rt) {
  return rt ? &rt->services : NULL;
}

/* ---- registration ------------------------------------------------------- */

static bool valid_backend_name(const char* name) {
  if (name == NULL || name[0] == '\0') return false;
  size_t n = 0;
  for (const char* p = name; *p; ++p, ++n) {
    char c = *p;
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
      return false;
  }
  return n < 64;
}

/*
 * Checks a vtable from any source against this host and copies it into a
 * new slot, widened to this host's struct (missing trailing slots = NULL).
 */
static ddk_status admit(ddk_runtime* rt, const ddk_backend* vt,
                        const char* origin, void* dl_handle, char* err,
                        size_t err_cap) {
  if (vt == NULL)
    return ddk_rt_fail(err, err_cap, DDK_ABI_MISMATCH,
                       "%s: entry returned no vtable", origin);
  uint32_t v = vt->header.abi_version;
  if (DDK_ABI_VERSION_MAJOR_OF(v) != DDK_ABI_VERSION_MAJOR)
    return ddk_rt_fail(
        err, err_cap, DDK_ABI_MISMATCH,
        "%s: backend was built for DDK ABI %u.%u; this host speaks ABI %u.x "
        "(up to %u.%u) — rebuild the backend against this DDK's headers",
        origin, DDK_ABI_VERSION_MAJOR_OF(v), DDK_ABI_VERSION_MINOR_OF(v),
        DDK_ABI_VERSION_MAJOR, DDK_ABI_VERSION_MAJOR, DDK_ABI_VERSION_MINOR);
  size_t min_size = offsetof(ddk_backend, destroy) + sizeof(vt->destroy);
  if (vt->header.struct_size < min_size)
    return ddk_rt_fail(err, err_cap, DDK_ABI_MISMATCH,
                       "%s: backend vtable is %u bytes, smaller than the ABI "
                       "1.0 minimum of %zu bytes",
                       origin, vt->header.struct_size, min_size);
  ddk_backend wide;
  memset(&wide, 0, sizeof wide);
  size_t n = vt->header.struct_size < sizeof wide ? vt->header.struct_size
                                                  : sizeof wide;
  memcpy(&wide, vt, n);
  if (!valid_backend_name(wide.name))
    return ddk_rt_fail(err, err_cap, DDK_ABI_MISMATCH,
                       "%s: backend name '%s' is not [a-z0-9_]{1,63}", origin,
                       wide.name ? wide.name : "(null)");
  const char* missing = NULL;
  if (wide.partition == NULL) missing = "partition";
  else if (wide.preprocess == NULL) missing = "preprocess";
  else if (wide.init == NULL) missing = "init";
  else if (wide.execute == NULL) missing = "execute";
  else if (wide.destroy == NULL) missing = "destroy";
  if (missing != NULL)
    return ddk_rt_fail(err, err_cap, DDK_ABI_MISMATCH,
                       "%s: backend '%s' leaves mandatory slot '%s' NULL",
                       origin, wide.name, missing);
  for (uint32_t i = 0; i < rt->num_backends; ++i)
    if (strcmp(rt->backends[i].vtable.name, wide.name) == 0)
      return ddk_rt_fail(err, err_cap, DDK_INVALID_ARGUMENT,
                         "%s: a backend named '%s' is already registered "
                         "(from %s)",
                         origin, wide.name, rt->backends[i].path);
  if (rt->num_backends == DDK_MAX_BACKENDS)
    return ddk_rt_fail(err, err_cap, DDK_RESOURCE_EXHAUSTED,
                       "%s: at most %d backends per runtime", origin,
                       DDK_MAX_BACKENDS);

  ddk_backend_slot* slot = &rt->backends[rt->num_backends];
  memset(slot, 0, sizeof *slot);
  slot->backend = vt;
  slot->vtable = wide;
  slot->dl_handle = dl_handle;
  snprintf(slot->path, sizeof slot->path, "%s", origin);
  slot->info.header =
      (ddk_struct_header)DDK_STRUCT_HEADER_INIT(ddk_backend_info);
  slot->info.available = true;
  if (wide.query != NULL) {
    char qerr[256] = "";
    ddk_status st = wide.query(&slot->vtable, NULL, &slot->info, qerr,
                               sizeof qerr);
    if (st != DDK_OK) {
      slot->info.available = false;
      snprintf(slot->info.detail, sizeof slot->info.detail,
               "query failed: %s (%.200s)", ddk_status_name(st), qerr);
    }
  }
  rt->num_backends++;
  return DDK_OK;
}

ddk_status ddk_runtime_register_backend(ddk_runtime* rt,
                                        const ddk_backend* backend, char* err,
                                        size_t err_cap) {
  if (rt == NULL)
    return ddk_rt_fail(err, err_cap, DDK_INVALID_ARGUMENT, "runtime is NULL");
  return admit(rt, backend, "(static)", NULL, err, err_cap);
}

static bool looks_like_path(const char* s) {
  size_t n = strlen(s);
  return strchr(s, '/') != NULL || (n > 3 && strcmp(s + n - 3, ".so") == 0);
}

static ddk_status load_plugin(ddk_runtime* rt, const char* path,
                              const ddk_backend** out_backend, char* err,
                              size_t err_cap) {
  void* h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (h == NULL) {
    const char* why = dlerror();
    return ddk_rt_fail(err, err_cap, DDK_NOT_FOUND,
                       "cannot load backend plugin '%s': %s", path,
                       why ? why : "unknown dlopen error");
  }
  ddk_backend_entry_fn entry;
  void* sym = dlsym(h, DDK_BACKEND_ENTRY_SYMBOL);
  memcpy(&entry, &sym, sizeof entry);
  if (sym == NULL) {
    dlclose(h);
    return ddk_rt_fail(err, err_cap, DDK_ABI_MISMATCH,
                       "'%s' is not a DDK backend plugin: it does not export "
                       "'%s'",
                       path, DDK_BACKEND_ENTRY_SYMBOL);
  }
  const ddk_backend* vt = NULL;
  char perr[256] = "";
  ddk_status st = entry(DDK_ABI_VERSION, &vt, perr, sizeof perr);
  if (st != DDK_OK) {
    dlclose(h);
    return ddk_rt_fail(err, err_cap, DDK_ABI_MISMATCH,
                       "backend plugin '%s' refused host ABI %u.%u: %s (%s)",
                       path, DDK_ABI_VERSION_MAJOR, DDK_ABI_VERSION_MINOR,
                       perr[0] ? perr : "no message", ddk_status_name(st));
  }
  st = admit(rt, vt, path, h, err, err_cap);
  if (st != DDK_OK) {
    dlclose(h);
    return st;
  }
  if (out_backend) *out_backend = &rt->backends[rt->num_backends - 1].vtable;
  return DDK_OK;
}

ddk_status ddk_runtime_add_backend(ddk_runtime* rt, const char* name_or_path,
                                   const ddk_backend** out_backend, char* err,
                                   size_t err_cap) {
  if (out_backend) *out_backend = NULL;
  if (rt == NULL || name_or_path == NULL || name_or_path[0] == '\0')
    return ddk_rt_fail(err, err_cap, DDK_INVALID_ARGUMENT,
                       "ddk_runtime_add_backend: empty backend name");
  if (looks_like_path(name_or_path))
    return load_plugin(rt, name_or_path, out_backend, err, err_cap);
  const ddk_backend* known = ddk_rt_backend_vtable(rt, name_or_path);
  if (known != NULL) {
    if (out_backend) *out_backend = known;
    return DDK_OK;
  }
  const char* search = getenv("DDK_BACKEND_PATH");
  if (search != NULL) {
    const char* p = search;
    while (*p) {
      const char* end = strchr(p, ':');
      size_t len = end ? (size_t)(end - p) : strlen(p);
      static const char* const patterns[] = {"%.*s/libddk_backend_%s.so",
                                             "%.*s/lib%s.so"};
      for (size_t k = 0; k < 2 && len > 0; ++k) {
        char cand[1024];
        snprintf(cand, sizeof cand, patterns[k], (int)len, p, name_or_path);
        FILE* f = fopen(cand, "rb");
        if (f != NULL) {
          fclose(f);
          return load_plugin(rt, cand, out_backend, err, err_cap);
        }
      }
      p += len;
      if (*p == ':') ++p;
    }
  }
  return ddk_rt_fail(err, err_cap, DDK_NOT_FOUND,
                     "no backend named '%s': not registered, and no "
                     "libddk_backend_%s.so on DDK_BACKEND_PATH (%s)",
                     name_or_path, name_or_path,
                     search ? search : "unset");
}

uint32_t ddk_runtime_backend_count(const ddk_runtime* rt) {
  return rt ? rt->num_backends : 0;
}

bool ddk_runtime_backend_get(const ddk_runtime* rt, uint32_t index,
                             ddk_backend_entry_info* out) {
  if (rt == NULL || out == NULL || index >= rt->num_backends) return false;
  const ddk_backend_slot* s = &rt->backends[index];
  out->backend = &s->vtable;
  out->name = s->vtable.name;
  out->version = s->vtable.version ? s->vtable.version : "";
  out->path = s->path;
  out->abi_version = s->vtable.header.abi_version;
  out->info = s->info;
  return true;
}

const ddk_backend* ddk_rt_backend_vtable(const ddk_runtime* rt,
                                         const char* name) {
  if (rt == NULL || name == NULL) return NULL;
  for (uint32_t i = 0; i < rt->num_backends; ++i)
    if (strcmp(rt->backends[i].vtable.name, name) == 0)
      return &rt->backends[i].vtable;
  return NULL;
}

const ddk_backend* ddk_runtime_find_backend(const ddk_runtime* rt,
                                            const char* name) {
  return ddk_rt_backend_vtable(rt, name);
}
