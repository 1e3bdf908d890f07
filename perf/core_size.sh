#!/usr/bin/env bash
# Stripped size of the core runtime — program reader/verifier/writer, memory
# planner, executor, lowering, backend registry and plugin loader — without
# portable kernels or the op table: the text+data+bss of its stripped
# objects, from a Release (-O2) build with -ffunction-sections.
#   perf/core_size.sh [BUILD_DIR]
set -euo pipefail
BUILD=${1:-build-size}
cmake -S "$(dirname "$0")/.." -B "$BUILD" -DCMAKE_BUILD_TYPE=MinSizeRel -DDDK_BUILD_TESTS=OFF \
  -DCMAKE_C_FLAGS="-ffunction-sections -fdata-sections" >/dev/null
cmake --build "$BUILD" --target ddk_core ddk_kernels ddk_ops -j"$(nproc)" >/dev/null
tmp=$(mktemp -d)
report() {  # label, objects...
  local label=$1; shift
  cp "$@" "$tmp/" && strip --strip-unneeded "$tmp"/*.o
  size -t "$tmp"/*.o | tail -1 | awk -v l="$label" '{printf "%-34s %8d bytes (text %d, data %d, bss %d)\n", l, $4, $1, $2, $3}'
  rm -f "$tmp"/*.o
}
report "core (loader+executor+backends)" $(find "$BUILD/CMakeFiles/ddk_core.dir" -name '*.o')
report "op table + inference (ir_ops)"   $(find "$BUILD/CMakeFiles/ddk_ops.dir" -name '*.o')
report "portable kernels"                 $(find "$BUILD/CMakeFiles/ddk_kernels.dir" -name '*.o')
rm -rf "$tmp"
