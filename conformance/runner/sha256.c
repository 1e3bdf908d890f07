/*
 * sha256.c — SHA-256 from FIPS 180-4 (sections 4.1.2, 4.2.2, 5.1.1, 5.3.3
 * and 6.2.2), see sha256.h.
 */
#include "sha256.h"

#include <stdio.h>
#include <string.h>

/* 4.2.2: the first 32 bits of the fractional parts of the cube roots of
 * the first sixty-four primes. */
static const uint32_t kRound[64] = {
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u, 0x923f82a4u,
    0xab1c5ed5u, 0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu,
    0x9bdc06a7u, 0xc19bf174u, 0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu,
    0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau, 0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u,
    0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u, 0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu,
    0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u, 0xa2bfe8a1u, 0xa81a664bu,
    0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u, 0x19a4c116u,
    0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
    0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u, 0x90befffau, 0xa4506cebu, 0xbef9a3f7u,
    0xc67178f2u,
};

static uint32_t rotr(uint32_t x, unsigned n) {
  return (x >> n) | (x << (32u - n));
}

/* 4.1.2 */
static uint32_t ch(uint32_t x, uint32_t y, uint32_t z) {
  return (x & y) ^ (~x & z);
}
static uint32_t maj(uint32_t x, uint32_t y, uint32_t z) {
  return (x & y) ^ (x & z) ^ (y & z);
}
static uint32_t big_sigma0(uint32_t x) {
  return rotr(x, 2) ^ rotr(x, 13) ^ rotr(x, 22);
}
static uint32_t big_sigma1(uint32_t x) {
  return rotr(x, 6) ^ rotr(x, 11) ^ rotr(x, 25);
}
static uint32_t small_sigma0(uint32_t x) {
  return rotr(x, 7) ^ rotr(x, 18) ^ (x >> 3);
}
static uint32_t small_sigma1(uint32_t x) {
  return rotr(x, 17) ^ rotr(x, 19) ^ (x >> 10);
}

/* 6.2.2: one 512-bit block into the state. */
static void compress(uint32_t state[8], const unsigned char* block) {
  uint32_t w[64];
  for (int t = 0; t < 16; ++t)
    w[t] = (uint32_t)block[4 * t] << 24 | (uint32_t)block[4 * t + 1] << 16 |
           (uint32_t)block[4 * t + 2] << 8 | (uint32_t)block[4 * t + 3];
  for (int t = 16; t < 64; ++t)
    w[t] = small_sigma1(w[t - 2]) + w[t - 7] + small_sigma0(w[t - 15]) + w[t - 16];
  uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
  uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
  for (int t = 0; t < 64; ++t) {
    uint32_t t1 = h + big_sigma1(e) + ch(e, f, g) + kRound[t] + w[t];
    uint32_t t2 = big_sigma0(a) + maj(a, b, c);
    h = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  state[0] += a;
  state[1] += b;
  state[2] += c;
  state[3] += d;
  state[4] += e;
  state[5] += f;
  state[6] += g;
  state[7] += h;
}

void ddk_sha256_init(ddk_sha256* h) {
  /* 5.3.3: the first 32 bits of the fractional parts of the square roots
   * of the first eight primes. */
  static const uint32_t kInitial[8] = {0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
                                       0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u};
  memcpy(h->state, kInitial, sizeof kInitial);
  h->total_bytes = 0;
  h->block_used = 0;
}

void ddk_sha256_update(ddk_sha256* h, const void* data, size_t size) {
  if (size == 0) return;
  const unsigned char* p = data;
  h->total_bytes += size;
  if (h->block_used > 0) { /* top up the partial block first */
    size_t take = DDK_SHA256_BLOCK_SIZE - h->block_used;
    if (take > size) take = size;
    memcpy(h->block + h->block_used, p, take);
    h->block_used += take;
    p += take;
    size -= take;
    if (h->block_used < DDK_SHA256_BLOCK_SIZE) return;
    compress(h->state, h->block);
    h->block_used = 0;
  }
  for (; size >= DDK_SHA256_BLOCK_SIZE; p += DDK_SHA256_BLOCK_SIZE, size -= DDK_SHA256_BLOCK_SIZE)
    compress(h->state, p);
  if (size > 0) memcpy(h->block, p, size);
  h->block_used = size;
}

void ddk_sha256_final(ddk_sha256* h, unsigned char out_digest[DDK_SHA256_DIGEST_SIZE]) {
  /* 5.1.1: a 1 bit, zeros up to 448 mod 512 bits, the length in bits as a
   * 64-bit big-endian integer. */
  const uint64_t bits = h->total_bytes * 8u;
  h->block[h->block_used++] = 0x80;
  if (h->block_used > DDK_SHA256_BLOCK_SIZE - 8) { /* no room for the length */
    memset(h->block + h->block_used, 0, DDK_SHA256_BLOCK_SIZE - h->block_used);
    compress(h->state, h->block);
    h->block_used = 0;
  }
  memset(h->block + h->block_used, 0, DDK_SHA256_BLOCK_SIZE - 8 - h->block_used);
  for (int i = 0; i < 8; ++i)
    h->block[DDK_SHA256_BLOCK_SIZE - 1 - i] = (unsigned char)(bits >> (8 * i));
  compress(h->state, h->block);
  for (int i = 0; i < 8; ++i) {
    out_digest[4 * i] = (unsigned char)(h->state[i] >> 24);
    out_digest[4 * i + 1] = (unsigned char)(h->state[i] >> 16);
    out_digest[4 * i + 2] = (unsigned char)(h->state[i] >> 8);
    out_digest[4 * i + 3] = (unsigned char)h->state[i];
  }
  h->block_used = 0;
}

bool ddk_sha256_file(const char* path, unsigned char out_digest[DDK_SHA256_DIGEST_SIZE]) {
  FILE* f = fopen(path, "rb");
  if (f == NULL) return false;
  ddk_sha256 h;
  ddk_sha256_init(&h);
  unsigned char chunk[1 << 16];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) ddk_sha256_update(&h, chunk, n);
  bool ok = !ferror(f);
  fclose(f);
  if (ok) ddk_sha256_final(&h, out_digest);
  return ok;
}

void ddk_sha256_hex(const unsigned char digest[DDK_SHA256_DIGEST_SIZE], char out_hex[65]) {
  static const char kHex[] = "0123456789abcdef";
  for (int i = 0; i < DDK_SHA256_DIGEST_SIZE; ++i) {
    out_hex[2 * i] = kHex[digest[i] >> 4];
    out_hex[2 * i + 1] = kHex[digest[i] & 15];
  }
  out_hex[64] = '\0';
}
