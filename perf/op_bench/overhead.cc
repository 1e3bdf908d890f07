// overhead.cc — op_bench's runtime overhead benchmarks:
//
//   BM_PortableChain/N, BM_TemplateChain/N   per-op dispatch: a chain of N
//        one-element ops (perf/runtime_overhead_bench.cc, compiled in here
//        unchanged; the per-op cost is the slope of time over N)
//   BM_ProgramLoad/<what>/{copy,borrow}     ddk_program_load_buffer from
//        bytes (the 256-op chain; a program with constants from DIR)
//   BM_MethodCreate/<what>                  ddk_method_create + destroy
//   BM_DelegateCall/{portable,template}     one 1-element sigmoid, run by
//        the portable kernel vs one call into the template plugin: the
//        difference is the cost of crossing the delegate ABI
//   BM_ProfileChain/{portable,template}/256/profile:{0,1}   the chain with
//        the method option profile=false vs profile=true. Built into
//        op_bench_noprof (runtime with DDK_NO_PROFILING), profile:0 is the
//        baseline with the profiling test compiled out, and profile:1
//        skips with the runtime's refusal.
#include <benchmark/benchmark.h>

// runtime_overhead_bench.cc ends with BENCHMARK_MAIN(); op_bench has its own
// main, so that one expands to nothing here (benchmark.h is include-guarded,
// the file's own #include of it is a no-op after this).
#undef BENCHMARK_MAIN
#define BENCHMARK_MAIN() static_assert(true, "op_bench.cc has main()")
#include "../runtime_overhead_bench.cc"
#undef BENCHMARK_MAIN

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "op_bench.h"

namespace {

constexpr uint32_t kChainLength = 256;

// The serialized bytes of a program (nullptr -> empty).
std::vector<char> ProgramBytes(const ddk_program* p) {
  std::vector<char> out;
  if (p == nullptr) return out;
  void* bytes = nullptr;
  size_t n = 0;
  char err[256];
  const ddk_allocator* a = ddk_allocator_system();
  if (ddk_program_serialize(p, a, &bytes, &n, err, sizeof err) != DDK_OK) return out;
  out.assign(static_cast<char*>(bytes), static_cast<char*>(bytes) + n);
  a->free(a->self, bytes, n);
  return out;
}

std::vector<char> ChainBytes() {
  Chain chain(kChainLength, DDK_OP_ATEN_RELU);
  ddk_program* p = chain.Load();
  std::vector<char> out = ProgramBytes(p);
  ddk_program_destroy(p);
  return out;
}

void ProgramLoad(benchmark::State& state, std::vector<char> bytes, bool copy) {
  if (bytes.empty()) return state.SkipWithError("no program bytes");
  char err[512];
  for (auto _ : state) {
    ddk_program* p = nullptr;
    if (ddk_program_load_buffer(bytes.data(), bytes.size(), copy, nullptr, &p, err,
                                sizeof err) != DDK_OK)
      return state.SkipWithError(err);
    ddk_program_destroy(p);
  }
  state.SetBytesProcessed((int64_t)state.iterations() * (int64_t)bytes.size());
}

void MethodCreate(benchmark::State& state, std::vector<char> bytes) {
  char err[512];
  ddk_runtime* rt = nullptr;
  ddk_program* p = nullptr;
  if (ddk_runtime_create(nullptr, &rt, err, sizeof err) != DDK_OK) return state.SkipWithError(err);
  if (ddk_program_load_buffer(bytes.data(), bytes.size(), true, nullptr, &p, err, sizeof err) !=
      DDK_OK) {
    ddk_runtime_destroy(rt);
    return state.SkipWithError(err);
  }
  for (auto _ : state) {
    ddk_method* m = nullptr;
    if (ddk_method_create(rt, p, nullptr, &m, err, sizeof err) != DDK_OK) {
      state.SkipWithError(err);
      break;
    }
    ddk_method_destroy(m);
  }
  ddk_program_destroy(p);
  ddk_runtime_destroy(rt);
}

// A chain of n one-element ops of `op`, portable or lowered to the
// template plugin, executed with the method option profile=`profile`.
void RunChain(benchmark::State& state, uint32_t n, uint32_t op, bool on_template, bool profile) {
  char err[512] = "";
  Chain chain(n, op);
  ddk_runtime* rt = nullptr;
  ddk_program* p = nullptr;
  ddk_program* low = nullptr;
  ddk_method* m = nullptr;
  const ddk_program* use = nullptr;
  ddk_option opt;
  std::memset(&opt, 0, sizeof opt);
  opt.key = "profile";
  opt.type = DDK_OPTION_BOOL;
  opt.value.b = profile;
  ddk_options opts;
  std::memset(&opts, 0, sizeof opts);
  opts.header = {sizeof(ddk_options), DDK_ABI_VERSION};
  opts.count = 1;
  opts.items = &opt;
  float x = 0.5f;
  int64_t sizes[1] = {1};
  if (ddk_runtime_create(nullptr, &rt, err, sizeof err) != DDK_OK) goto fail;
  p = chain.Load();
  if (p == nullptr) {
    std::snprintf(err, sizeof err, "cannot build the chain program");
    goto fail;
  }
  use = p;
  if (on_template) {
#ifdef DDK_TEMPLATE_PLUGIN_PATH
    const char* names[] = {"template"};
    if (ddk_runtime_add_backend(rt, DDK_TEMPLATE_PLUGIN_PATH, nullptr, err, sizeof err) != DDK_OK ||
        ddk_runtime_lower(rt, p, names, 1, nullptr, &low, err, sizeof err) != DDK_OK)
      goto fail;
    if (low->num_delegates != 1) {
      std::snprintf(err, sizeof err, "template made %u delegates, expected 1", low->num_delegates);
      goto fail;
    }
    use = low;
#else
    std::snprintf(err, sizeof err, "built without the template plugin");
    goto fail;
#endif
  }
  if (ddk_method_create(rt, use, &opts, &m, err, sizeof err) != DDK_OK ||
      ddk_method_set_input(m, 0, DDK_DTYPE_FLOAT32, 1, sizes, &x, sizeof x, err, sizeof err) !=
          DDK_OK)
    goto fail;
  for (auto _ : state) {
    if (ddk_method_execute(m, err, sizeof err) != DDK_OK) goto fail;
    benchmark::ClobberMemory();
  }
  state.counters["ops"] = n;
  goto done;
fail:
  state.SkipWithError(err);
done:
  ddk_method_destroy(m);
  ddk_program_destroy(low);
  ddk_program_destroy(p);
  ddk_runtime_destroy(rt);
}

void BM_DelegateCall(benchmark::State& state, bool on_template) {
  RunChain(state, 1, DDK_OP_ATEN_SIGMOID, on_template, false);
}
BENCHMARK_CAPTURE(BM_DelegateCall, portable, false)->UseRealTime();
BENCHMARK_CAPTURE(BM_DelegateCall, template, true)->UseRealTime();

void BM_ProfileChain(benchmark::State& state, bool on_template, bool profile) {
  RunChain(state, kChainLength, on_template ? DDK_OP_ATEN_SIGMOID : DDK_OP_ATEN_RELU,
           on_template, profile);
}

}  // namespace

namespace op_bench {

void RegisterOverheadBenchmarks(const std::string& dir) {
  std::vector<char> chain = ChainBytes();
  const std::string chain_name = "chain" + std::to_string(kChainLength);
  std::vector<std::pair<std::string, std::vector<char>>> programs = {{chain_name, chain}};
  // A program with constants (512 KiB of weights): what loading copies.
  if (!dir.empty()) {
    std::ifstream f(dir + "/aten_addmm.ddk", std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    if (!bytes.empty()) programs.emplace_back("aten::addmm", bytes);
  }
  for (const auto& [name, bytes] : programs) {
    benchmark::RegisterBenchmark(("BM_ProgramLoad/" + name + "/copy").c_str(), ProgramLoad,
                                 bytes, true)
        ->UseRealTime();
    benchmark::RegisterBenchmark(("BM_ProgramLoad/" + name + "/borrow").c_str(), ProgramLoad,
                                 bytes, false)
        ->UseRealTime();
    benchmark::RegisterBenchmark(("BM_MethodCreate/" + name).c_str(), MethodCreate, bytes)
        ->UseRealTime();
  }
  for (bool on_template : {false, true}) {
    for (bool profile : {false, true}) {
      std::string name = std::string("BM_ProfileChain/") +
                         (on_template ? "template/" : "portable/") +
                         std::to_string(kChainLength) + "/profile:" + (profile ? "1" : "0");
      benchmark::RegisterBenchmark(name.c_str(), BM_ProfileChain, on_template, profile)
          ->UseRealTime();
    }
  }
}

}  // namespace op_bench
