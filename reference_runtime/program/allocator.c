/*
 * allocator.c — the system allocator (posix_memalign / free).
 */
#include <stdlib.h>

#include "ddk/program.h"

static void* system_alloc(void* self, size_t size, size_t alignment) {
  (void)self;
  if (alignment < sizeof(void*)) alignment = sizeof(void*);
  if ((alignment & (alignment - 1)) != 0) return NULL; /* not a power of 2 */
  void* ptr = NULL;
  /* A zero-byte request still returns a unique pointer to free later. */
  if (posix_memalign(&ptr, alignment, size > 0 ? size : 1) != 0) return NULL;
  return ptr;
}

static void system_free(void* self, void* ptr, size_t size) {
  (void)self;
  (void)size;
  free(ptr);
}

static const ddk_allocator k_system_allocator = {
    .self = NULL,
    .alloc = system_alloc,
    .free = system_free,
};

const ddk_allocator* ddk_allocator_system(void) { return &k_system_allocator; }
