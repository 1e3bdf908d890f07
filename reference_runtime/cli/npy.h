/*
 * npy.h — reading and writing NumPy .npy files (format 1.0/2.0/3.0,
 * little-endian, C order) for the ddk CLI.
 */
#ifndef DDK_CLI_NPY_H_
#define DDK_CLI_NPY_H_

#include <stddef.h>
#include <stdint.h>

#include "ddk/delegate_api.h"

/** An array read from a .npy file; data is malloc'd (free with npy_free). */
typedef struct npy_array {
  ddk_dtype dtype; /* float32 also for files that hold bfloat16 as float32 */
  uint32_t rank;
  int64_t sizes[DDK_MAX_RANK];
  void* data;
  size_t nbytes;
} npy_array;

/** Reads `path`. DDK_INVALID_ARGUMENT / DDK_IO_ERROR with a message. */
ddk_status npy_read(const char* path, npy_array* out, char* err, size_t cap);

/** Frees what npy_read allocated. */
void npy_free(npy_array* a);

/** Writes a contiguous tensor to `path`; bfloat16 is widened to float32. */
ddk_status npy_write(const char* path, const ddk_tensor* t, char* err,
                     size_t cap);

/** Converts `a` in place to `dtype` where that is lossless-by-convention
 * (float32 -> bfloat16/float16 rounding to nearest even). Returns
 * DDK_DTYPE_MISMATCH when no conversion applies. */
ddk_status npy_convert(npy_array* a, ddk_dtype dtype, char* err, size_t cap);

#endif /* DDK_CLI_NPY_H_ */
