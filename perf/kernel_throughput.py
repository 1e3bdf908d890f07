"""Portable kernel throughput next to the machine's measured limits.

Runs kernel_throughput_bench pinned to one CPU (repetitions, medians) and
prints the portable matmul (512^3 float32) and 3x3 convolution throughput in
GFLOP/s next to the measured single-core FMA peak, and add.Tensor on 32 MiB
float32 inputs in GB/s next to the measured memcpy bandwidth — ratios of
quantities measured in the same run. With --torch, PyTorch's own mm / conv2d
/ add (one thread, same shapes) are measured as a peer too.

    cmake -S . -B build-perf -DCMAKE_BUILD_TYPE=Release -DDDK_BUILD_PERF=ON
    cmake --build build-perf --target kernel_throughput_bench
    python3 perf/kernel_throughput.py --bench build-perf/perf/kernel_throughput_bench [--torch]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def run_bench(bench, cpu, reps):
    out = subprocess.run(
        ["taskset", "-c", cpu, bench, "--benchmark_format=json",
         f"--benchmark_repetitions={reps}", "--benchmark_report_aggregates_only=true"],
        check=True, capture_output=True, text=True).stdout
    res = {}
    for b in json.loads(out)["benchmarks"]:
        if b.get("aggregate_name") != "median":
            continue
        name = b["run_name"].split("/")[0]
        res[name] = b.get("GFLOP/s") or b.get("GB/s")
    return res


def torch_peers(cpu, reps):
    os.sched_setaffinity(0, {int(cpu)})
    import torch
    torch.set_num_threads(1)
    a, b = torch.randn(512, 512), torch.randn(512, 512)
    x, w = torch.randn(1, 64, 56, 56), torch.randn(64, 64, 3, 3)
    p, q = torch.randn(8 << 20), torch.randn(8 << 20)

    def med(fn, n):
        fn()
        ts = []
        for _ in range(reps):
            t = time.perf_counter()
            for _ in range(n):
                fn()
            ts.append((time.perf_counter() - t) / n)
        return statistics.median(ts)
    return {
        "torch mm 512^3 GFLOP/s": 2 * 512**3 / med(lambda: a @ b, 20) * 1e-9,
        "torch conv 3x3 GFLOP/s": 2 * 64 * 64 * 9 * 56 * 56
        / med(lambda: torch.nn.functional.conv2d(x, w, padding=1), 10) * 1e-9,
        "torch add 32MiB GB/s": 3 * (32 << 20) / med(lambda: p + q, 10) * 1e-9,
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bench", required=True)
    ap.add_argument("--cpu", default="1")
    ap.add_argument("--repetitions", type=int, default=5)
    ap.add_argument("--torch", action="store_true", help="also measure PyTorch as a peer")
    ap.add_argument("--json-out")
    args = ap.parse_args(argv)
    r = run_bench(args.bench, args.cpu, args.repetitions)
    peak, copy = r["BM_PeakFma"], r["BM_Memcpy32MiB"]
    rows = [
        ("measured FMA peak (1 core)", peak, "GFLOP/s", None),
        ("portable mm 512x512x512 fp32", r["BM_Mm512"], "GFLOP/s", r["BM_Mm512"] / peak),
        ("portable conv 1x64x56x56 * 64x64x3x3", r["BM_Conv3x3"], "GFLOP/s", r["BM_Conv3x3"] / peak),
        ("measured memcpy 32 MiB (r+w)", copy, "GB/s", None),
        ("portable add 32 MiB fp32 (2r+w)", r["BM_Add32MiB"], "GB/s", r["BM_Add32MiB"] / copy),
    ]
    print(f"CPU {args.cpu}, medians of {args.repetitions} repetitions")
    for name, v, unit, ratio in rows:
        print(f"  {name:<40} {v:8.2f} {unit:<8}" + (f"  {ratio:6.1%} of measured limit" if ratio else ""))
    result = {"medians": r}
    if args.torch:
        peers = torch_peers(args.cpu, args.repetitions)
        for k, v in peers.items():
            print(f"  {k:<40} {v:8.2f}")
        result["torch"] = peers
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
