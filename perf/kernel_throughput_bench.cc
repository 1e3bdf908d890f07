// kernel_throughput_bench.cc — throughput of the portable kernels next to
// the machine's own limits, measured in the same run:
//   BM_PeakFma         float32 FMA peak of one core (peak_fma.c)   GFLOP/s
//   BM_Mm512           portable mm, 512x512x512 float32            GFLOP/s
//   BM_Conv3x3         portable convolution, 1x64x56x56 * 64x64x3x3 GFLOP/s
//   BM_Memcpy32MiB     memcpy of 32 MiB (read + write counted)     GB/s
//   BM_Add32MiB        portable add.Tensor, 32 MiB float32 inputs  GB/s
//                      (two reads + one write counted)
// perf/kernel_throughput.py runs this pinned to one core and prints the
// ratios (mm / peak, conv / peak, add / memcpy).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <cstring>
#include <vector>

extern "C" {
#include "ddk/ops.h"
#include "ddk_kernel.h"
float ddk_peak_fma_run(int64_t iters, float a, float b);
}

namespace {

// One node with its values, run directly on its portable kernel.
struct OneOp {
  std::vector<ddk_tensor> values;
  std::vector<ddk_arg> args;
  std::vector<uint32_t> outs;
  std::vector<void*> buffers;
  ddk_node_view node{};
  ddk_kernel_fn fn = nullptr;
  char err[512] = "";

  uint32_t Tensor(ddk_dtype dt, std::vector<int64_t> sizes, bool fill) {
    ddk_tensor t;
    std::memset(&t, 0, sizeof t);
    t.header = {sizeof(ddk_tensor), DDK_ABI_VERSION};
    t.dtype = dt;
    t.rank = (uint32_t)sizes.size();
    for (size_t i = 0; i < sizes.size(); ++i) t.sizes[i] = sizes[i];
    ddk_tensor_set_contiguous(&t);
    if (fill) {
      size_t n = (size_t)ddk_tensor_numel(&t);
      float* p = static_cast<float*>(std::aligned_alloc(64, ((n * 4 + 63) / 64) * 64));
      for (size_t i = 0; i < n; ++i) p[i] = (float)((i * 2654435761u) % 1000) * 1e-3f - 0.5f;
      t.data = p;
      t.capacity = n * 4;
      buffers.push_back(p);
    }
    values.push_back(t);
    return (uint32_t)values.size() - 1;
  }
  void ArgTensor(uint32_t v) {
    ddk_arg a{};
    a.kind = DDK_ARG_TENSOR;
    a.u.tensor = v;
    args.push_back(a);
  }
  void ArgInts(const int64_t* v, uint32_t n) {
    ddk_arg a{};
    a.kind = DDK_ARG_INT_LIST;
    a.count = n;
    a.u.ints = v;
    args.push_back(a);
  }
  void ArgInt(int64_t v, uint32_t kind = DDK_ARG_INT) {
    ddk_arg a{};
    a.kind = kind;
    a.u.i = v;
    args.push_back(a);
  }
  void ArgBool(bool v) {
    ddk_arg a{};
    a.kind = DDK_ARG_BOOL;
    a.u.b = v;
    args.push_back(a);
  }
  void ArgNone() { args.push_back(ddk_arg{}); }
  // Finishes the node: infers and allocates the outputs.
  bool Build(uint32_t op, uint32_t num_outputs) {
    for (uint32_t i = 0; i < num_outputs; ++i) {
      values.push_back(values[0]);
      outs.push_back((uint32_t)values.size() - 1);
    }
    node.header = {sizeof(ddk_node_view), DDK_ABI_VERSION};
    node.op_id = op;
    node.op_name = ddk_op_get(op)->name;
    node.num_args = (uint32_t)args.size();
    node.args = args.data();
    node.num_outputs = num_outputs;
    node.outputs = outs.data();
    node.debug_name = "";
    if (ddk_infer_node(&node, values.data(), err, sizeof err) != DDK_OK) return false;
    for (uint32_t o : outs) {
      ddk_tensor& t = values[o];
      size_t bytes = (size_t)ddk_tensor_numel(&t) * ddk_dtype_size(t.dtype);
      t.data = std::aligned_alloc(64, ((bytes + 63) / 64) * 64 + 64);
      t.capacity = bytes;
      buffers.push_back(t.data);
    }
    fn = ddk_kernel_lookup(op);
    return fn != nullptr;
  }
  bool Run() {
    ddk_kernel_ctx ctx = {values.data(), err, sizeof err, nullptr};
    return fn(&ctx, &node) == DDK_OK;
  }
  ~OneOp() {
    for (void* p : buffers) std::free(p);
  }
};

void BM_PeakFma(benchmark::State& state) {
  const int64_t iters = 1 << 20;
  for (auto _ : state) benchmark::DoNotOptimize(ddk_peak_fma_run(iters, 0.999f, 1e-4f));
  state.counters["GFLOP/s"] = benchmark::Counter((double)iters * 24 * 16 * 2 * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_PeakFma)->Unit(benchmark::kMillisecond)->MinTime(0.5);

void BM_Mm512(benchmark::State& state) {
  const int64_t n = 512;
  OneOp op;
  op.ArgTensor(op.Tensor(DDK_DTYPE_FLOAT32, {n, n}, true));
  op.ArgTensor(op.Tensor(DDK_DTYPE_FLOAT32, {n, n}, true));
  if (!op.Build(DDK_OP_ATEN_MM, 1)) return state.SkipWithError(op.err);
  for (auto _ : state)
    if (!op.Run()) return state.SkipWithError(op.err);
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * n * n * n * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Mm512)->Unit(benchmark::kMillisecond)->MinTime(1.0);

void BM_Conv3x3(benchmark::State& state) {
  static const int64_t one[2] = {1, 1}, zero[2] = {0, 0};
  OneOp op;
  op.ArgTensor(op.Tensor(DDK_DTYPE_FLOAT32, {1, 64, 56, 56}, true));
  op.ArgTensor(op.Tensor(DDK_DTYPE_FLOAT32, {64, 64, 3, 3}, true));
  op.ArgTensor(op.Tensor(DDK_DTYPE_FLOAT32, {64}, true));
  op.ArgInts(one, 2);   // stride
  op.ArgInts(one, 2);   // padding
  op.ArgInts(one, 2);   // dilation
  op.ArgBool(false);    // transposed
  op.ArgInts(zero, 2);  // output_padding
  op.ArgInt(1);         // groups
  if (!op.Build(DDK_OP_ATEN_CONVOLUTION, 1)) return state.SkipWithError(op.err);
  for (auto _ : state)
    if (!op.Run()) return state.SkipWithError(op.err);
  const double flops = 2.0 * 64 * 64 * 9 * 56 * 56;
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Conv3x3)->Unit(benchmark::kMillisecond)->MinTime(1.0);

constexpr size_t kBytes = size_t{32} << 20;

void BM_Memcpy32MiB(benchmark::State& state) {
  std::vector<char> a(kBytes, 1), b(kBytes, 2);
  for (auto _ : state) {
    std::memcpy(b.data(), a.data(), kBytes);
    benchmark::ClobberMemory();
  }
  state.counters["GB/s"] =
      benchmark::Counter(2.0 * kBytes * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Memcpy32MiB)->Unit(benchmark::kMillisecond)->MinTime(1.0);

void BM_Add32MiB(benchmark::State& state) {
  const int64_t n = (int64_t)(kBytes / 4);
  OneOp op;
  op.ArgTensor(op.Tensor(DDK_DTYPE_FLOAT32, {n}, true));
  op.ArgTensor(op.Tensor(DDK_DTYPE_FLOAT32, {n}, true));
  op.ArgInt(1);  // alpha
  if (!op.Build(DDK_OP_ATEN_ADD_TENSOR, 1)) return state.SkipWithError(op.err);
  for (auto _ : state)
    if (!op.Run()) return state.SkipWithError(op.err);
  state.counters["GB/s"] =
      benchmark::Counter(3.0 * kBytes * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Add32MiB)->Unit(benchmark::kMillisecond)->MinTime(1.0);

}  // namespace

BENCHMARK_MAIN();
