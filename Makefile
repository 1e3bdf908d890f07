# The DDK's two commands:
#   make certify   build everything, run the conformance suite against every
#                  sample delegate that is built and the example programs on
#                  them, print a summary, write build/reports/
#   make test      every test: C unit tests under ASan+UBSan, the op-table
#                  regeneration check, the Python suites, the conformance
#                  suite against the reference-as-backend, a bounded fuzz run
# Both install missing dependencies first (.ci/install_deps.sh says what).

PYTHON    ?= python3
JOBS      ?= $(shell nproc)
BUILD     ?= build
ASAN      ?= build-asan
FUZZ      ?= build-fuzz
FUZZ_SECONDS ?= 30

.PHONY: all deps build build-asan build-fuzz test test-c test-py test-conformance test-fuzz \
        check-generated certify examples conformance zoo race npu-cycles vulkan-bench bench clean

all: build

deps:
	@.ci/install_deps.sh

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DDDK_BUILD_PERF=ON >/dev/null
	cmake --build $(BUILD) -j$(JOBS)

build-asan: deps
	cmake -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug -DDDK_SANITIZE=ON >/dev/null
	cmake --build $(ASAN) -j$(JOBS)

build-fuzz: deps
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ) -DCMAKE_BUILD_TYPE=Debug \
	  -DDDK_BUILD_FUZZ=ON -DDDK_BUILD_TESTS=OFF >/dev/null
	cmake --build $(FUZZ) -j$(JOBS) --target program_reader_fuzz

check-generated:
	$(PYTHON) ir_ops/gen_ops.py --check

test-c: build-asan
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 ctest --test-dir $(ASAN) --output-on-failure

test-py: build build-asan
	DDK_BUILD_DIR=$(abspath $(BUILD)) DDK_ASAN_BUILD_DIR=$(abspath $(ASAN)) \
	  DDK_PERF_BUILD_DIR=$(abspath $(BUILD)) \
	  $(PYTHON) -m pytest -q -n $(JOBS) ir_ops python reference_runtime sample_delegates conformance

test-fuzz: build-fuzz
	mkdir -p $(FUZZ)/corpus && cp fuzz/corpus/program_reader/* fuzz/corpus/program_reader_ops/* $(FUZZ)/corpus/
	$(FUZZ)/fuzz/program_reader_fuzz -max_total_time=$(FUZZ_SECONDS) \
	  -print_final_stats=1 $(FUZZ)/corpus

# The whole conformance suite against the reference-as-backend: every op
# and graph case through the plugin ABI, the reports written (about 20 s).
test-conformance: build
	DDK_BUILD_DIR=$(abspath $(BUILD)) $(PYTHON) -m pytest -q -n $(JOBS) conformance/suite \
	  --backend reference --report-dir $(BUILD)/reports/conformance-reference

test: check-generated test-c test-py test-conformance test-fuzz

examples: build
	$(PYTHON) python/ddk/examples.py --out $(BUILD)/examples

certify: build examples
	DDK_BUILD_DIR=$(abspath $(BUILD)) $(PYTHON) python/ddk/certify.py --jobs $(JOBS) \
	  --build-dir $(BUILD) --examples $(BUILD)/examples --report-dir $(BUILD)/reports

# One backend through the conformance suite:
#   make conformance BACKEND=path/to/libddk_backend_x.so [CONFORM_ARGS="--tier core-fp32"]
# (a name works too: template, reference, or any plugin on DDK_BACKEND_PATH)
BACKEND ?= template
conformance: build
	DDK_BUILD_DIR=$(abspath $(BUILD)) $(PYTHON) -m pytest -q -n $(JOBS) conformance/suite \
	  --backend $(BACKEND) --report-dir $(BUILD)/reports/conformance $(CONFORM_ARGS)

# The Vulkan delegate's micro-benchmarks (perf/vulkan/vk_bench.py): per-dispatch
# overhead, upload/download bandwidth, GEMM and convolution GFLOP/s, labelled
# with the device (lavapipe is "CPU-emulated"); JSON in build/reports/.
vulkan-bench: build
	mkdir -p $(BUILD)/reports
	DDK_BUILD_DIR=$(abspath $(BUILD)) $(if $(shell command -v taskset),taskset -c 1) \
	  $(PYTHON) perf/vulkan/vk_bench.py $(VK_BENCH_ARGS) --json $(BUILD)/reports/vulkan_bench.json

# Every zoo model exported to $(BUILD)/zoo (full-size inputs unless
# ZOO_INPUT_SIZE=64, say); about 600 MB with ViT-B/16.
ZOO_INPUT_SIZE ?=
zoo: build
	$(BUILD)/ddk zoo build all --out $(BUILD)/zoo $(if $(ZOO_INPUT_SIZE),--input-size $(ZOO_INPUT_SIZE))

# The XNNPACK race (perf/xnnpack_race/README.md): our delegate against
# XNNPACK driven directly, the portable kernels, ONNX Runtime, ExecuTorch and
# eager; 1 and 2 pinned threads; table + build/reports/xnnpack_race.json.
# The peers install into build/perf-peers-venv (their own torch).
race: build
	cmake -S . -B build-perf -DCMAKE_BUILD_TYPE=Release -DDDK_BUILD_PERF=ON >/dev/null
	cmake --build build-perf -j$(JOBS) --target xnnpack_direct
	perf/xnnpack_race/peers/setup_venv.sh
	$(PYTHON) perf/xnnpack_race/race.py --direct-bin build-perf/perf/xnnpack_race/xnnpack_direct $(RACE_ARGS)

# The op benchmark suite (perf/op_bench): one single-op program per op-table
# row with a bench cell, timed (Google Benchmark, pinned to CPU 1) on the
# portable kernels and on every built plugin, plus the runtime overheads
# (dispatch, delegate call, profiling off/on, load, method create); JSON and
# summary.txt (ratios delegate/portable) in build/reports/bench/ (~2 min).
bench: build
	$(PYTHON) perf/op_bench/run_bench.py --build-perf $(BUILD) \
	  --programs $(BUILD)/op_bench_programs --out $(BUILD)/reports/bench $(BENCH_ARGS)

# The emulated NPU's cost model (cycles per model) next to the wall time of
# its emulation: build/reports/npu_sim_cycles.json (NPU_ARGS="--layers").
npu-cycles: build
	DDK_BUILD_DIR=$(abspath $(BUILD)) $(PYTHON) perf/npu_sim/cycles.py $(NPU_ARGS)

clean:
	rm -rf $(BUILD) $(ASAN) $(FUZZ)
