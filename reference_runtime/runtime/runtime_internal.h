/*
 * runtime_internal.h — private structures shared by the runtime's files.
 */
#ifndef DDK_RUNTIME_INTERNAL_H_
#define DDK_RUNTIME_INTERNAL_H_

#include <stdarg.h>
#include <stdio.h>

#include "ddk/delegate_api.h"
#include "ddk/ops.h"
#include "ddk/program.h"
#include "ddk/runtime.h"

/** Most backends one runtime holds. */
#define DDK_MAX_BACKENDS 32

/** One registered backend. */
typedef struct ddk_backend_slot {
  const ddk_backend* backend; /* the plugin's vtable (borrowed) */
  ddk_backend vtable;         /* copy widened to this host's struct size:
                                 slots beyond the plugin's size are NULL */
  void* dl_handle;            /* dlopen handle, NULL when static */
  char path[512];
  ddk_backend_info info;
} ddk_backend_slot;

struct ddk_runtime {
  ddk_allocator allocator;
  ddk_services services;
  ddk_logger user_logger;
  uint32_t num_backends;
  ddk_backend_slot backends[DDK_MAX_BACKENDS];
};

/** Allocates `size` bytes through `a` (64-byte aligned), zeroed. */
void* ddk_rt_alloc(const ddk_allocator* a, size_t size);
/** Frees what ddk_rt_alloc returned (NULL is a no-op). */
void ddk_rt_free(const ddk_allocator* a, void* ptr, size_t size);

/** printf-style message into (err, err_cap); returns `status`. */
ddk_status ddk_rt_fail(char* err, size_t err_cap, ddk_status status,
                       const char* fmt, ...)
    __attribute__((format(printf, 4, 5)));

/** Logs through the runtime's logger. */
void ddk_rt_log(const ddk_runtime* rt, int32_t level, const char* fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** The widened vtable of the registered backend named `name`, or NULL. */
const ddk_backend* ddk_rt_backend_vtable(const ddk_runtime* rt,
                                         const char* name);

/** Monotonic clock in nanoseconds. */
uint64_t ddk_rt_now_ns(void);

/* The profiler sink's emit: files a backend's event with the method whose
 * delegate is executing on this thread (method.c). */
void ddk_rt_profile_emit(void* self, const ddk_profile_event* event);

#endif /* DDK_RUNTIME_INTERNAL_H_ */
