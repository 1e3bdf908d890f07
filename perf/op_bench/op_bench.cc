// op_bench.cc — the op benchmark suite: one Google Benchmark per op per
// backend over the single-op programs perf/op_bench/gen_programs.py writes
// (one per op-table row with a `bench` cell), plus the runtime overhead
// benchmarks of overhead.cc (same binary).
//
//   op_bench --programs DIR [--backend PATH]... [--benchmark_* flags]
//
// DIR holds the programs and op_bench.json (each op's program file, FLOPs,
// bytes and input specs). Each op runs on "portable" (the reference
// runtime's kernels) and on every plugin given with --backend, lowered for
// that backend alone with ddk_runtime_lower. A backend that claims none of
// an op's nodes, or is unavailable, gets that benchmark skipped with the
// reason (error_message in the JSON) — it is never silently run portable.
// Benchmarks are named op/<op>/<backend>; counters: GFLOP/s and GB/s (from
// the sidecar's flops and bytes per call; GFLOP/s absent when the op's
// FLOPs are unknown), flops, bytes, nodes, nodes_delegated. A Vulkan
// backend on llvmpipe is labelled "CPU-emulated (lavapipe)"; other
// backends carry their device name as the label. Times are wall-clock
// (UseRealTime): a delegate may compute on threads of its own.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "op_bench.h"

extern "C" {
#include "ddk/program.h"
#include "ddk/runtime.h"
}

namespace op_bench {
namespace {

struct InputSpec {
  ddk_dtype dtype = DDK_DTYPE_FLOAT32;
  std::string dtype_name;
  std::vector<int64_t> shape;
  double lo = -1, hi = 1;
};

struct OpEntry {
  std::string op, program;
  double flops = -1;  // < 0: unknown
  double bytes = 0;
  std::vector<InputSpec> inputs;
};

struct BackendEntry {
  std::string name;   // registered name; "portable" for none
  std::string label;  // benchmark label (device)
  std::string unavailable;  // non-empty: why every benchmark skips
};

ddk_dtype DtypeFromName(const std::string& name) {
#define DDK_X_(n, value, size, str) \
  if (name == str) return value;
  DDK_FOR_EACH_DTYPE(DDK_X_)
#undef DDK_X_
  return DDK_DTYPE_INVALID;
}

// One (op, backend) pair: the program loaded, lowered and a method created
// on first use; kept for the run's life (the benchmark function is called
// several times while Google Benchmark sizes the iteration count).
class OpCase {
 public:
  OpCase(ddk_runtime* rt, const std::string& dir, const OpEntry& op, const BackendEntry& be)
      : rt_(rt), dir_(dir), op_(op), be_(be) {}
  ~OpCase() {
    ddk_method_destroy(method_);
    ddk_program_destroy(lowered_);
    ddk_program_destroy(program_);
  }

  void Run(benchmark::State& state) {
    if (!prepared_) {
      prepared_ = true;
      ok_ = Prepare();
    }
    if (!be_.label.empty()) state.SetLabel(be_.label);
    if (!ok_) {
      state.SkipWithError(why_.c_str());
      return;
    }
    char err[512] = "";
    for (auto _ : state) {
      if (ddk_method_execute(method_, err, sizeof err) != DDK_OK) {
        state.SkipWithError(err);
        return;
      }
    }
    using C = benchmark::Counter;
    // GFLOP/s only where there is arithmetic (data movement: GB/s).
    if (op_.flops > 0) state.counters["GFLOP/s"] = C(op_.flops * 1e-9, C::kIsIterationInvariantRate);
    state.counters["GB/s"] = C(op_.bytes * 1e-9, C::kIsIterationInvariantRate);
    state.counters["flops"] = op_.flops;
    state.counters["bytes"] = op_.bytes;
    state.counters["nodes"] = nodes_;
    state.counters["nodes_delegated"] = delegated_;
  }

 private:
  bool Fail(const std::string& why) {
    why_ = why;
    return false;
  }

  bool Prepare() {
    char err[1024] = "";
    if (!be_.unavailable.empty()) return Fail(be_.unavailable);
    std::string path = dir_ + "/" + op_.program;
    if (ddk_program_load_file(path.c_str(), nullptr, &program_, err, sizeof err) != DDK_OK)
      return Fail(path + ": " + err);
    nodes_ = program_->num_nodes;
    const ddk_program* use = program_;
    if (be_.name != "portable") {
      const char* names[] = {be_.name.c_str()};
      if (ddk_runtime_lower(rt_, program_, names, 1, nullptr, &lowered_, err, sizeof err) !=
          DDK_OK)
        return Fail(be_.name + ": lowering failed: " + err);
      for (uint32_t d = 0; d < lowered_->num_delegates; ++d)
        delegated_ += lowered_->delegates[d].num_nodes;
      if (delegated_ == 0) return Fail(be_.name + " claims nothing of " + op_.op);
      use = lowered_;
    }
    if (ddk_method_create(rt_, use, nullptr, &method_, err, sizeof err) != DDK_OK)
      return Fail(std::string("method create: ") + err);
    if (ddk_method_num_inputs(method_) != op_.inputs.size())
      return Fail("op_bench.json lists " + std::to_string(op_.inputs.size()) +
                  " inputs, the program has " + std::to_string(ddk_method_num_inputs(method_)));
    for (size_t k = 0; k < op_.inputs.size(); ++k) {
      std::vector<unsigned char> data;
      if (!Fill(op_.inputs[k], (uint32_t)k, &data)) return false;
      const InputSpec& in = op_.inputs[k];
      if (ddk_method_set_input(method_, (uint32_t)k, in.dtype, (uint32_t)in.shape.size(),
                               in.shape.data(), data.data(), data.size(), err,
                               sizeof err) != DDK_OK)
        return Fail("input " + std::to_string(k) + ": " + err);
    }
    // One run outside the timing: first-touch of the arena, a delegate's
    // lazy work, and a failing op reported before any timing.
    if (ddk_method_execute(method_, err, sizeof err) != DDK_OK)
      return Fail(std::string("execute: ") + err);
    return true;
  }

  // Values in [lo, hi) from a fixed seed per input (integers for integer
  // dtypes, 0/1 for bool), as gen_programs.py documents.
  bool Fill(const InputSpec& in, uint32_t k, std::vector<unsigned char>* out) {
    size_t n = 1;
    for (int64_t s : in.shape) n *= (size_t)s;
    size_t esize = ddk_dtype_size(in.dtype);
    out->assign(n * esize, 0);
    std::mt19937_64 gen(0x5eed0000u + k);
    std::uniform_real_distribution<double> real(in.lo, in.hi);
    int64_t ilo = (int64_t)std::ceil(in.lo), ihi = (int64_t)std::ceil(in.hi) - 1;
    std::uniform_int_distribution<int64_t> integer(ilo, ihi < ilo ? ilo : ihi);
    unsigned char* p = out->data();
    for (size_t i = 0; i < n; ++i) {
      switch (in.dtype) {
        case DDK_DTYPE_FLOAT32: { float v = (float)real(gen); std::memcpy(p + 4 * i, &v, 4); break; }
        case DDK_DTYPE_FLOAT64: { double v = real(gen); std::memcpy(p + 8 * i, &v, 8); break; }
        case DDK_DTYPE_INT8: { int8_t v = (int8_t)integer(gen); std::memcpy(p + i, &v, 1); break; }
        case DDK_DTYPE_UINT8: { uint8_t v = (uint8_t)integer(gen); p[i] = v; break; }
        case DDK_DTYPE_INT16: { int16_t v = (int16_t)integer(gen); std::memcpy(p + 2 * i, &v, 2); break; }
        case DDK_DTYPE_INT32: { int32_t v = (int32_t)integer(gen); std::memcpy(p + 4 * i, &v, 4); break; }
        case DDK_DTYPE_INT64: { int64_t v = integer(gen); std::memcpy(p + 8 * i, &v, 8); break; }
        case DDK_DTYPE_BOOL: p[i] = (unsigned char)(gen() & 1u); break;
        default:
          return Fail("input " + std::to_string(k) + ": dtype " + in.dtype_name +
                      " is not filled by op_bench");
      }
    }
    return true;
  }

  ddk_runtime* rt_;
  std::string dir_;
  OpEntry op_;
  BackendEntry be_;
  bool prepared_ = false, ok_ = false;
  std::string why_;
  ddk_program* program_ = nullptr;
  ddk_program* lowered_ = nullptr;
  ddk_method* method_ = nullptr;
  double nodes_ = 0, delegated_ = 0;
};

bool ReadSidecar(const std::string& dir, std::vector<OpEntry>* ops, std::string* error) {
  std::string path = dir + "/op_bench.json";
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    *error = path + ": cannot open (run perf/op_bench/gen_programs.py --out " + dir + ")";
    return false;
  }
  std::stringstream ss;
  ss << f.rdbuf();
  std::string text = ss.str();
  nlohmann::json root = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) {
    *error = path + ": not valid JSON";
    return false;
  }
  if (!root.is_object() || !root.contains("ops") || !root["ops"].is_array()) {
    *error = path + ": no \"ops\" array";
    return false;
  }
  auto str = [](const nlohmann::json& o, const char* k) {
    return o.is_object() && o.contains(k) && o[k].is_string() ? o[k].get<std::string>()
                                                               : std::string();
  };
  auto num = [](const nlohmann::json& o, const char* k, double dflt) {
    return o.is_object() && o.contains(k) && o[k].is_number() ? o[k].get<double>() : dflt;
  };
  for (const nlohmann::json& o : root["ops"]) {
    OpEntry e;
    e.op = str(o, "op");
    e.program = str(o, "program");
    e.flops = num(o, "flops", -1);
    e.bytes = num(o, "bytes", 0);
    if (e.op.empty() || e.program.empty() || e.program.find('/') != std::string::npos) {
      *error = path + ": an entry without a valid op or program name";
      return false;
    }
    const nlohmann::json none = nlohmann::json::array();
    const nlohmann::json& inputs = o.contains("inputs") && o["inputs"].is_array() ? o["inputs"] : none;
    for (const nlohmann::json& in : inputs) {
      InputSpec s;
      s.dtype_name = str(in, "dtype");
      s.dtype = DtypeFromName(s.dtype_name);
      s.lo = num(in, "lo", -1);
      s.hi = num(in, "hi", 1);
      bool shape_ok = in.is_object() && in.contains("shape") && in["shape"].is_array();
      if (shape_ok)
        for (const nlohmann::json& d : in["shape"]) {
          if (!d.is_number_integer()) shape_ok = false;
          else s.shape.push_back(d.get<int64_t>());
        }
      if (!shape_ok || s.dtype == DDK_DTYPE_INVALID || s.shape.size() > DDK_MAX_RANK) {
        *error = path + ": " + e.op + ": bad input spec (dtype '" + s.dtype_name + "')";
        return false;
      }
      e.inputs.push_back(s);
    }
    ops->push_back(e);
  }
  return true;
}

// The label of a backend's rows: its device, "CPU-emulated (lavapipe)" for
// Mesa's software Vulkan driver.
std::string DeviceLabel(const ddk_backend_entry_info& info) {
  std::string dev = info.info.device_name;
  if (dev.find("llvmpipe") != std::string::npos) return "CPU-emulated (lavapipe)";
  return dev;
}

std::vector<std::unique_ptr<OpCase>>& Cases() {
  static std::vector<std::unique_ptr<OpCase>> cases;
  return cases;
}

}  // namespace

int RegisterOpBenchmarks(ddk_runtime* rt, const std::string& dir,
                         const std::vector<std::string>& backend_paths, bool portable,
                         std::string* error) {
  std::vector<OpEntry> ops;
  if (!ReadSidecar(dir, &ops, error)) return -1;
  std::vector<BackendEntry> backends;
  if (portable) backends.push_back({"portable", "", ""});
  char err[512] = "";
  for (const std::string& path : backend_paths) {
    uint32_t before = ddk_runtime_backend_count(rt);
    if (ddk_runtime_add_backend(rt, path.c_str(), nullptr, err, sizeof err) != DDK_OK) {
      *error = "--backend " + path + ": " + err;
      return -1;
    }
    ddk_backend_entry_info info;
    std::memset(&info, 0, sizeof info);
    if (ddk_runtime_backend_count(rt) == before ||
        !ddk_runtime_backend_get(rt, before, &info)) {
      *error = "--backend " + path + ": registered twice";
      return -1;
    }
    BackendEntry be{info.name, DeviceLabel(info), ""};
    if (!info.info.available)
      be.unavailable = be.name + " is unavailable: " + std::string(info.info.detail);
    backends.push_back(be);
  }
  int count = 0;
  for (const OpEntry& op : ops) {
    for (const BackendEntry& be : backends) {
      Cases().push_back(std::make_unique<OpCase>(rt, dir, op, be));
      OpCase* c = Cases().back().get();
      benchmark::RegisterBenchmark(("op/" + op.op + "/" + be.name).c_str(),
                                   [c](benchmark::State& st) { c->Run(st); })
          ->Unit(benchmark::kMicrosecond)
          ->UseRealTime();  // a backend may work on other threads (lavapipe)
      ++count;
    }
  }
  return count;
}

void DestroyOpBenchmarks() { Cases().clear(); }

}  // namespace op_bench

namespace {

void Usage(FILE* f) {
  std::fprintf(f,
               "usage: op_bench [--programs DIR] [--backend PATH]... [--no-portable]\n"
               "                [--no-overhead] [--benchmark_* flags]\n"
               "  --programs DIR   the folder gen_programs.py wrote (op_bench.json + .ddk);\n"
               "                   without it only the runtime overhead benchmarks run\n"
               "  --backend PATH   a backend plugin to time each op on besides portable\n"
               "  --no-portable    no op/<op>/portable rows (a run for plugins only)\n"
               "  --no-overhead    no runtime overhead benchmarks (runs ^op/ unless a\n"
               "                   --benchmark_filter is given)\n");
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);  // takes the --benchmark_* flags out
  std::string dir;
  std::vector<std::string> backends;
  bool portable = true, overhead = true;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char* flag) -> const char* {
      size_t n = std::strlen(flag);
      if (a.compare(0, n, flag) == 0 && a.size() > n && a[n] == '=') return argv[i] + n + 1;
      if (a == flag && i + 1 < argc) return argv[++i];
      return nullptr;
    };
    if (const char* v = value("--programs")) {
      dir = v;
    } else if (const char* v2 = value("--backend")) {
      backends.push_back(v2);
    } else if (a == "--no-portable") {
      portable = false;
    } else if (a == "--no-overhead") {
      overhead = false;
    } else if (a == "--help" || a == "-h") {
      Usage(stdout);
      return 0;
    } else {
      std::fprintf(stderr, "op_bench: unknown argument '%s'\n", a.c_str());
      Usage(stderr);
      return 2;
    }
  }
  if (dir.empty() && !backends.empty()) {
    std::fprintf(stderr, "op_bench: --backend needs --programs DIR\n");
    return 2;
  }
  char err[512] = "";
  ddk_runtime* rt = nullptr;
  if (ddk_runtime_create(nullptr, &rt, err, sizeof err) != DDK_OK) {
    std::fprintf(stderr, "op_bench: %s\n", err);
    return 1;
  }
  int rc = 0;
  std::string error;
  if (!dir.empty() && op_bench::RegisterOpBenchmarks(rt, dir, backends, portable, &error) < 0) {
    std::fprintf(stderr, "op_bench: %s\n", error.c_str());
    rc = 1;
  }
  if (rc == 0 && overhead) op_bench::RegisterOverheadBenchmarks(dir);
  // The chain benchmarks register themselves: --no-overhead filters them
  // out unless a --benchmark_filter was given.
  std::string filter = benchmark::GetBenchmarkFilter();
  if (!overhead && (filter.empty() || filter == ".")) benchmark::SetBenchmarkFilter("^op/");
  if (rc == 0) benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  op_bench::DestroyOpBenchmarks();
  ddk_runtime_destroy(rt);
  return rc;
}
