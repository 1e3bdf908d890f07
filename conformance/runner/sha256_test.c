/*
 * sha256_test.c — the runner's SHA-256 against the FIPS 180-2 / NIST
 * example digests, and split updates against one-shot hashing. (The
 * conformance tests also compare it with Python's hashlib on files of
 * 0, 55, 56, 64 ... bytes and 1 MiB through `ddk_conform --sha256`.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sha256.h"

static int failures;

static void hex_of(const void* data, size_t size, char hex[65]) {
  ddk_sha256 h;
  unsigned char d[DDK_SHA256_DIGEST_SIZE];
  ddk_sha256_init(&h);
  ddk_sha256_update(&h, data, size);
  ddk_sha256_final(&h, d);
  ddk_sha256_hex(d, hex);
}

static void expect(const char* what, const char* got, const char* want) {
  if (strcmp(got, want) != 0) {
    printf("FAIL %s: got %s, want %s\n", what, got, want);
    ++failures;
  }
}

int main(void) {
  /* NIST's published examples (FIPS 180-2 appendix B, and the CAVS
   * "SHA256ShortMsg"/"LongMsg" staples) */
  static const struct {
    const char* msg;
    const char* digest;
  } kVectors[] = {
      {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
      {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
      {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrl"
       "mnopqrsmnopqrstnopqrstu",
       "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
  };
  char hex[65];
  for (size_t i = 0; i < sizeof kVectors / sizeof kVectors[0]; ++i) {
    hex_of(kVectors[i].msg, strlen(kVectors[i].msg), hex);
    expect(kVectors[i].msg, hex, kVectors[i].digest);
  }
  /* one million 'a' (FIPS 180-2 B.3), fed in uneven pieces */
  {
    char* a = malloc(1000000);
    if (a == NULL) return 1;
    memset(a, 'a', 1000000);
    ddk_sha256 h;
    unsigned char d[DDK_SHA256_DIGEST_SIZE];
    ddk_sha256_init(&h);
    for (size_t off = 0, step = 1; off < 1000000; off += step, step = step * 3 % 1000 + 1)
      ddk_sha256_update(&h, a + off, off + step > 1000000 ? 1000000 - off : step);
    ddk_sha256_final(&h, d);
    ddk_sha256_hex(d, hex);
    expect("a x 1000000", hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(a);
  }
  /* every length around the padding boundaries, split at every point,
   * equals the one-shot digest */
  unsigned char msg[200];
  for (size_t i = 0; i < sizeof msg; ++i) msg[i] = (unsigned char)(i * 37 + 11);
  for (size_t len = 0; len <= 130; ++len) {
    char whole[65];
    hex_of(msg, len, whole);
    for (size_t cut = 0; cut <= len; ++cut) {
      ddk_sha256 h;
      unsigned char d[DDK_SHA256_DIGEST_SIZE];
      ddk_sha256_init(&h);
      ddk_sha256_update(&h, msg, cut);
      ddk_sha256_update(&h, NULL, 0);
      ddk_sha256_update(&h, msg + cut, len - cut);
      ddk_sha256_final(&h, d);
      ddk_sha256_hex(d, hex);
      if (strcmp(hex, whole) != 0) {
        printf("FAIL length %zu split at %zu: %s != %s\n", len, cut, hex, whole);
        ++failures;
      }
    }
  }
  if (failures == 0) printf("sha256_test: ok\n");
  return failures ? 1 : 0;
}
