/* runtime_util.c — status names, allocation and message helpers. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime_internal.h"

const char* ddk_runtime_version(void) { return "0.1.0"; }

const char* ddk_status_name(ddk_status status) {
  switch (status) {
#define DDK_X_(name, value, desc) \
  case value:                     \
    return #name;
    DDK_FOR_EACH_STATUS(DDK_X_)
#undef DDK_X_
    default:
      return "UNKNOWN_STATUS";
  }
}

const char* ddk_status_string(ddk_status status) {
  switch (status) {
#define DDK_X_(name, value, desc) \
  case value:                     \
    return desc;
    DDK_FOR_EACH_STATUS(DDK_X_)
#undef DDK_X_
    default:
      return "unknown status";
  }
}

void* ddk_rt_alloc(const ddk_allocator* a, size_t size) {
  if (size == 0) size = 1;
  void* p = a->alloc(a->self, size, 64);
  if (p != NULL) memset(p, 0, size);
  return p;
}

void ddk_rt_free(const ddk_allocator* a, void* ptr, size_t size) {
  if (ptr == NULL) return;
  if (size == 0) size = 1;
  a->free(a->self, ptr, size);
}

ddk_status ddk_rt_fail(char* err, size_t err_cap, ddk_status status,
                       const char* fmt, ...) {
  if (err != NULL && err_cap > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_cap, fmt, ap);
    va_end(ap);
  }
  return status;
}

void ddk_rt_log(const ddk_runtime* rt, int32_t level, const char* fmt, ...) {
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  const ddk_logger* lg = &rt->services.logger;
  if (lg->log != NULL) lg->log(lg->self, level, "ddk", line);
}

uint64_t ddk_rt_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
