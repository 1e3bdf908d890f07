/*
 * peak_fma.c — the machine's measured single-core float32 FMA peak, the
 * yardstick the portable matmul/convolution throughput is reported
 * against (perf/kernel_throughput.py).
 *
 * Compiled with -O3 -march=native (perf/CMakeLists.txt): 24 independent
 * accumulator vectors of the widest width GCC/Clang vector extensions map
 * to the host's SIMD registers hide the FMA latency, so the loop runs at
 * the core's FMA throughput.
 */
#include <stdint.h>

#define NACC 24

typedef float ddk_v16f __attribute__((vector_size(64)));

/* Runs `iters` iterations of NACC vector FMAs (16 lanes, 2 flops each) and
 * returns a value derived from every accumulator so nothing is elided.
 * FLOPs done: iters * NACC * 16 * 2 (NACC = 24). */
float ddk_peak_fma_run(int64_t iters, float a, float b) {
  ddk_v16f acc[NACC];
  for (int i = 0; i < NACC; ++i)
    for (int l = 0; l < 16; ++l) acc[i][l] = (float)(i + l) * 1e-3f;
  ddk_v16f va, vb;
  for (int l = 0; l < 16; ++l) {
    va[l] = a;
    vb[l] = b;
  }
  /* keep the multiplier and addend in registers: without this barrier the
   * compiler folds them into memory operands of every FMA and the loop
   * runs at about two thirds of the peak */
  __asm__("" : "+v"(va), "+v"(vb));
  for (int64_t k = 0; k < iters; ++k) {
#pragma GCC unroll 24
    for (int i = 0; i < NACC; ++i) acc[i] = acc[i] * va + vb;
  }
  float s = 0.0f;
  for (int i = 0; i < NACC; ++i)
    for (int l = 0; l < 16; ++l) s += acc[i][l];
  return s;
}
