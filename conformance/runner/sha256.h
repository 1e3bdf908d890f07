/*
 * sha256.h — SHA-256 (FIPS 180-4), written from the standard for the
 * conformance runner's bundle check (a target has no OpenSSL, and the
 * runner depends on nothing but libc and the runtime).
 *
 *   ddk_sha256 h;
 *   ddk_sha256_init(&h);
 *   ddk_sha256_update(&h, data, size);   any number of times, any sizes
 *   ddk_sha256_final(&h, digest);        32 bytes
 *
 * No allocation, no I/O except ddk_sha256_file. Not constant-time: it
 * checks files against a manifest, it does not handle secrets.
 */
#ifndef DDK_CONFORM_SHA256_H_
#define DDK_CONFORM_SHA256_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DDK_SHA256_DIGEST_SIZE 32
#define DDK_SHA256_BLOCK_SIZE 64

/** A hash in progress (caller's storage; init before use). */
typedef struct ddk_sha256 {
  uint32_t state[8];
  uint64_t total_bytes;                       /**< message length so far */
  unsigned char block[DDK_SHA256_BLOCK_SIZE]; /**< a partial block */
  size_t block_used;
} ddk_sha256;

/** Starts a hash (the initial hash value H(0), FIPS 180-4 5.3.3). */
void ddk_sha256_init(ddk_sha256* h);

/** Adds `size` bytes of `data` (may be NULL when size is 0). */
void ddk_sha256_update(ddk_sha256* h, const void* data, size_t size);

/** Pads, finishes and writes the 32-byte digest; `h` must be re-inited
 * before reuse. */
void ddk_sha256_final(ddk_sha256* h, unsigned char out_digest[DDK_SHA256_DIGEST_SIZE]);

/** The digest of a whole file, read in chunks. False when the file cannot
 * be opened or read. */
bool ddk_sha256_file(const char* path, unsigned char out_digest[DDK_SHA256_DIGEST_SIZE]);

/** Lower-case hex of a digest: 64 characters and a NUL. */
void ddk_sha256_hex(const unsigned char digest[DDK_SHA256_DIGEST_SIZE], char out_hex[65]);

#endif /* DDK_CONFORM_SHA256_H_ */
