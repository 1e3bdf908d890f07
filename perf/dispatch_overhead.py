"""Per-op dispatch overhead of the executor: runs runtime_overhead_bench
(pinned to one CPU, repetitions, medians) and fits time = a + b*N over the
chain lengths N; b is the per-op overhead (a one-element relu: kernel work is
negligible), a the fixed cost of one execute call.

    python3 perf/dispatch_overhead.py --bench build-perf/perf/runtime_overhead_bench
"""
import argparse
import json
import subprocess
import sys


def fit(points):
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    b = sum((x - mx) * (y - my) for x, y in points) / sxx
    return my - b * mx, b


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bench", required=True)
    ap.add_argument("--cpu", default="0")
    ap.add_argument("--repetitions", type=int, default=5)
    ap.add_argument("--json-out")
    args = ap.parse_args(argv)
    out = subprocess.run(
        ["taskset", "-c", args.cpu, args.bench, "--benchmark_format=json",
         f"--benchmark_repetitions={args.repetitions}",
         "--benchmark_report_aggregates_only=true"],
        check=True, capture_output=True, text=True).stdout
    data = json.loads(out)
    series = {}
    for b in data["benchmarks"]:
        if b.get("aggregate_name") != "median":
            continue
        name, n = b["run_name"].split("/")[:2]
        ns = b["real_time"] * {"ns": 1, "us": 1e3, "ms": 1e6}[b["time_unit"]]
        series.setdefault(name, []).append((int(n), ns))
    result = {}
    for name, pts in sorted(series.items()):
        a, b = fit(sorted(pts))
        result[name] = {"fixed_ns": a, "per_op_ns": b, "points": sorted(pts)}
        print(f"{name:<20} per-op {b:8.1f} ns   fixed {a:8.1f} ns   "
              + "  ".join(f"N={n}:{t:.0f}ns" for n, t in sorted(pts)))
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
