/*
 * ddk_test.h — the tiny harness shared by the C unit tests.
 *
 *   CHECK(cond, fmt, ...)   counts a pass, or prints FAIL file:line and the
 *                           message and counts a failure (never aborts, so
 *                           one run reports every failure)
 *   return ddk_test_finish();  prints "N passed, M failed" (the closing line
 *                           CI reads) and returns the process exit status
 */
#ifndef DDK_TEST_H_
#define DDK_TEST_H_

#include <stdio.h>

static int ddk_test_passed, ddk_test_failed;

#define CHECK(cond, ...)                                   \
  do {                                                     \
    if (cond) {                                            \
      ++ddk_test_passed;                                   \
    } else {                                               \
      ++ddk_test_failed;                                   \
      printf("FAIL %s:%d: ", __FILE__, __LINE__);          \
      printf(__VA_ARGS__);                                 \
      printf("\n");                                        \
    }                                                      \
  } while (0)

static inline int ddk_test_finish(void) {
  printf("%d passed, %d failed\n", ddk_test_passed, ddk_test_failed);
  return ddk_test_failed == 0 ? 0 : 1;
}

#endif /* DDK_TEST_H_ */
