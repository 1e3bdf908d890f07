/*
 * program_reader_fuzz.c — libFuzzer harness for the program reader.
 *
 * The untrusted surface is a program file: every input goes through
 * ddk_program_load_buffer (copy = true, so ASan sees exact bounds) and,
 * when it loads, through ddk_program_serialize, whose output must load
 * again and serialise to the same bytes. Anything but DDK_OK,
 * DDK_INVALID_PROGRAM or DDK_OUT_OF_MEMORY, or an INVALID_PROGRAM without
 * a message, is a finding (abort).
 *
 * Build and run: see fuzz/README.md.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddk/program.h"

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

static void finding(const char* what, ddk_status status, const char* err) {
  fprintf(stderr, "program_reader_fuzz: %s (status %d): %s\n", what,
          (int)status, err);
  abort();
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  char err[512] = "";
  ddk_program* program = NULL;
  ddk_status s =
      ddk_program_load_buffer(data, size, true, NULL, &program, err, sizeof err);
  if (s == DDK_INVALID_PROGRAM && err[0] == '\0')
    finding("INVALID_PROGRAM without a message", s, err);
  if (s != DDK_OK && s != DDK_INVALID_PROGRAM && s != DDK_OUT_OF_MEMORY)
    finding("unexpected status from load", s, err);
  if (s != DDK_OK) return 0;

  /* A program that loads serialises, reloads, and is a fixed point. */
  const ddk_allocator* a = ddk_allocator_system();
  void* bytes = NULL;
  size_t n = 0;
  s = ddk_program_serialize(program, a, &bytes, &n, err, sizeof err);
  if (s != DDK_OK) finding("a loaded program does not serialise", s, err);
  ddk_program* again = NULL;
  s = ddk_program_load_buffer(bytes, n, false, a, &again, err, sizeof err);
  if (s != DDK_OK) finding("a serialised program does not load", s, err);
  void* bytes2 = NULL;
  size_t n2 = 0;
  s = ddk_program_serialize(again, a, &bytes2, &n2, err, sizeof err);
  if (s != DDK_OK || n2 != n || memcmp(bytes, bytes2, n) != 0)
    finding("serialise(load(serialise(p))) differs", s, err);
  a->free(a->self, bytes2, n2);
  ddk_program_destroy(again);
  a->free(a->self, bytes, n);
  ddk_program_destroy(program);
  return 0;
}
