// op_bench.h — what op_bench.cc (the per-op benchmarks and main) and
// overhead.cc (the runtime overhead benchmarks) share.
#ifndef DDK_PERF_OP_BENCH_OP_BENCH_H_
#define DDK_PERF_OP_BENCH_OP_BENCH_H_

#include <string>
#include <vector>

extern "C" {
#include "ddk/runtime.h"
}

namespace op_bench {

// Registers op/<op>/<backend> for every op of DIR/op_bench.json on
// "portable" (when `portable`) and on each plugin path (added to `rt`).
// Returns the number registered, or -1 with *error set (unreadable
// sidecar, bad plugin).
int RegisterOpBenchmarks(ddk_runtime* rt, const std::string& dir,
                         const std::vector<std::string>& backend_paths, bool portable,
                         std::string* error);

// Frees what RegisterOpBenchmarks prepared (after the run).
void DestroyOpBenchmarks();

// Registers the overhead benchmarks that need a program folder (program
// load and method create of one of its programs); `dir` may be empty. The
// chain benchmarks register themselves.
void RegisterOverheadBenchmarks(const std::string& dir);

}  // namespace op_bench

#endif  // DDK_PERF_OP_BENCH_OP_BENCH_H_
