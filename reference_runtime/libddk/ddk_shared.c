/*
 * ddk_shared.c — anchor of libddk.so, the embeddable runtime: the library
 * is the whole ddk_core + kernels + op table (linked whole-archive), so
 * every public function of ddk/runtime.h, ddk/program.h and ddk/ops.h is
 * exported. This file adds the one symbol bindings use to check they
 * loaded a compatible library.
 */
#include "ddk/runtime.h"

/** ABI version of the delegate API this library was built with. */
uint32_t ddk_library_abi_version(void);
uint32_t ddk_library_abi_version(void) { return DDK_ABI_VERSION; }
