// runtime_overhead_bench.cc — per-op dispatch overhead of the executor and
// the cost of a delegate call, measured on chains of N one-element ops.
// The per-op overhead is the slope of time against N (perf/dispatch_overhead.py
// fits it from this benchmark's JSON output).
#include <benchmark/benchmark.h>

#include <cstring>
#include <vector>

extern "C" {
#include "ddk/ops.h"
#include "ddk/program.h"
#include "ddk/runtime.h"
}

namespace {

// A program: x[1] -> relu -> relu -> ... (n times) -> out.
struct Chain {
  std::vector<ddk_value_desc> values;
  std::vector<ddk_node_view> nodes;
  std::vector<ddk_arg> args;
  std::vector<uint32_t> outs;
  std::vector<ddk_instruction> plan;
  uint32_t input = 0, output = 0;

  explicit Chain(uint32_t n, uint32_t op) {
    values.resize(n + 1);
    for (uint32_t v = 0; v <= n; ++v) {
      ddk_value_desc& d = values[v];
      std::memset(&d, 0, sizeof d);
      d.header = {sizeof(ddk_value_desc), DDK_ABI_VERSION};
      d.tensor.header = {sizeof(ddk_tensor), DDK_ABI_VERSION};
      d.tensor.dtype = DDK_DTYPE_FLOAT32;
      d.tensor.rank = 1;
      d.tensor.sizes[0] = 1;
      d.name = "";
    }
    values[0].flags = DDK_VALUE_INPUT;
    values[n].flags = DDK_VALUE_OUTPUT;
    output = n;
    nodes.resize(n);
    args.resize(n);
    outs.resize(n);
    plan.resize(n);
    for (uint32_t i = 0; i < n; ++i) {
      args[i].kind = DDK_ARG_TENSOR;
      args[i].u.tensor = i;
      outs[i] = i + 1;
      ddk_node_view& nd = nodes[i];
      std::memset(&nd, 0, sizeof nd);
      nd.header = {sizeof(ddk_node_view), DDK_ABI_VERSION};
      nd.op_id = op;
      nd.op_name = ddk_op_get(op)->name;
      nd.node_index = i;
      nd.num_args = 1;
      nd.args = &args[i];
      nd.num_outputs = 1;
      nd.outputs = &outs[i];
      nd.debug_name = "";
      plan[i] = {DDK_INSTR_KERNEL, i};
    }
  }

  ddk_program* Load() {
    ddk_program p;
    std::memset(&p, 0, sizeof p);
    p.num_values = (uint32_t)values.size();
    p.values = values.data();
    p.num_nodes = (uint32_t)nodes.size();
    p.nodes = nodes.data();
    p.num_inputs = 1;
    p.inputs = &input;
    p.num_outputs = 1;
    p.outputs = &output;
    p.num_instructions = (uint32_t)plan.size();
    p.instructions = plan.data();
    void* bytes = nullptr;
    size_t n = 0;
    char err[256];
    const ddk_allocator* a = ddk_allocator_system();
    if (ddk_program_serialize(&p, a, &bytes, &n, err, sizeof err) != DDK_OK) return nullptr;
    ddk_program* out = nullptr;
    ddk_program_load_buffer(bytes, n, true, a, &out, err, sizeof err);
    a->free(a->self, bytes, n);
    return out;
  }
};

void Run(benchmark::State& state, const char* backend) {
  uint32_t n = (uint32_t)state.range(0);
  Chain chain(n, backend ? DDK_OP_ATEN_SIGMOID : DDK_OP_ATEN_RELU);
  char err[512];
  ddk_runtime* rt = nullptr;
  ddk_runtime_create(nullptr, &rt, err, sizeof err);
  ddk_program* p = chain.Load();
  ddk_program* low = nullptr;
  const ddk_program* use = p;
  if (backend != nullptr) {
    if (ddk_runtime_add_backend(rt, backend, nullptr, err, sizeof err) != DDK_OK) {
      state.SkipWithError(err);
      return;
    }
    const char* names[] = {"template"};
    if (ddk_runtime_lower(rt, p, names, 1, nullptr, &low, err, sizeof err) != DDK_OK) {
      state.SkipWithError(err);
      return;
    }
    use = low;
  }
  ddk_method* m = nullptr;
  if (ddk_method_create(rt, use, nullptr, &m, err, sizeof err) != DDK_OK) {
    state.SkipWithError(err);
    return;
  }
  float x = 0.5f;
  int64_t sizes[1] = {1};
  ddk_method_set_input(m, 0, DDK_DTYPE_FLOAT32, 1, sizes, &x, sizeof x, err, sizeof err);
  for (auto _ : state) {
    ddk_method_execute(m, err, sizeof err);
    benchmark::ClobberMemory();
  }
  state.counters["ops"] = n;
  ddk_method_destroy(m);
  ddk_program_destroy(low);
  ddk_program_destroy(p);
  ddk_runtime_destroy(rt);
}

void BM_PortableChain(benchmark::State& state) { Run(state, nullptr); }
BENCHMARK(BM_PortableChain)->Arg(1)->Arg(16)->Arg(64)->Arg(256)->Arg(1024);

#ifdef DDK_TEMPLATE_PLUGIN_PATH
// One delegate call covering the whole chain: the cost of crossing the ABI.
void BM_TemplateChain(benchmark::State& state) { Run(state, DDK_TEMPLATE_PLUGIN_PATH); }
BENCHMARK(BM_TemplateChain)->Arg(1)->Arg(16)->Arg(64)->Arg(256)->Arg(1024);
#endif

}  // namespace

BENCHMARK_MAIN();
