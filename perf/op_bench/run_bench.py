#!/usr/bin/env python3
"""`make bench`: the op benchmark suite end to end.

1. writes the single-op programs and op_bench.json (gen_programs.py) into
   --programs;
2. runs op_bench (pinned with taskset where available) on the portable
   kernels with the runtime overhead benchmarks -> OUT/portable.json, then
   op_bench_noprof (profiling compiled out) for the profiling baseline ->
   OUT/noprof.json, then each plugin found in BUILD_PERF/sample_delegates
   alone (--no-portable) -> OUT/<plugin>.json; all Google Benchmark JSON;
3. writes OUT/summary.txt (also printed) and OUT/summary.json: per op the
   median wall time per backend and the ratio delegate / portable; a
   backend's skipped rows with their reason; the runtime overheads
   (per-op dispatch, delegate call, profiling off vs on, load, create).

Usage:
  python3 perf/op_bench/run_bench.py --build-perf build \\
      --programs build/op_bench_programs --out build/reports/bench \\
      [--backends template xnnpack] [--ops aten::mm ...] [--min-time 0.1] \\
      [--repetitions 3] [--cpu 1]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import gen_programs  # noqa: E402

PLUGINS = ("template", "xnnpack", "npu_sim", "vulkan")
CHAIN = 256


def _pin(cpu):
    if cpu is None or shutil.which("taskset") is None:
        return []
    return ["taskset", "-c", str(cpu)]


def run_op_bench(binary: Path, args: list, out_json: Path, min_time: float, reps: int,
                 cpu, timeout: int = 600) -> str | None:
    """Runs one op_bench; returns None, or the reason it failed."""
    cmd = _pin(cpu) + [str(binary)] + args + [
        f"--benchmark_min_time={min_time}", f"--benchmark_repetitions={reps}",
        "--benchmark_format=console", "--benchmark_out_format=json",
        f"--benchmark_out={out_json}"]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return f"timed out after {timeout} s"
    if r.returncode != 0:
        return f"exit {r.returncode}: {(r.stderr or r.stdout).strip()[-400:]}"
    return None


def load_rows(path: Path) -> dict:
    """{benchmark name: row}: the median aggregate when there are
    repetitions, else the single run; error rows kept (error_message)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    rows = {}
    for b in data.get("benchmarks", []):
        name = b.get("run_name", b["name"])
        if name.endswith("/real_time"):  # UseRealTime's suffix
            name = name[:-len("/real_time")]
        if b.get("error_occurred"):
            rows.setdefault(name, b)
        elif b.get("run_type") == "aggregate":
            if b.get("aggregate_name") == "median":
                rows[name] = b
        elif name not in rows or rows[name].get("error_occurred"):
            rows[name] = b
    return rows


def _ns(row) -> float | None:
    """A row's wall time in ns."""
    if not row or row.get("error_occurred"):
        return None
    scale = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[row.get("time_unit", "ns")]
    return row["real_time"] * scale


def _fmt_us(ns):
    if ns is None:
        return "-"
    return f"{ns / 1e3:.1f}" if ns < 1e7 else f"{ns / 1e6:.0f}ms"


def _chain_fit(rows: dict, prefix: str):
    """(ns per op, ns fixed): least squares of time over chain length,
    each point weighted by 1/time^2 (relative errors: the chains span three
    orders of magnitude, so an unweighted fit's intercept is noise)."""
    pts = []
    for name, row in rows.items():
        head, _, n = name.rpartition("/")
        if head == prefix and n.isdigit() and _ns(row):
            pts.append((int(n), _ns(row), 1.0 / _ns(row) ** 2))
    if len(pts) < 2:
        return None
    sw = sum(w for _, _, w in pts)
    mx = sum(w * x for x, _, w in pts) / sw
    my = sum(w * y for _, y, w in pts) / sw
    sxx = sum(w * (x - mx) ** 2 for x, _, w in pts)
    slope = sum(w * (x - mx) * (y - my) for x, y, w in pts) / sxx
    return slope, my - slope * mx


def summarize(out: Path, backends: list, failures: dict, ops: list) -> dict:
    portable = load_rows(out / "portable.json")
    noprof = load_rows(out / "noprof.json")
    per_backend = {b: load_rows(out / f"{b}.json") for b in backends}
    labels = {}
    for b, rows in per_backend.items():
        labels[b] = next((r.get("label", "") for r in rows.values() if r.get("label")), "")
    res = {"ops": [], "backends": {}, "overhead": {}}
    lines = ["op benchmarks: median wall time in us; (x) = backend time / portable time,",
             "below 1 is faster than the portable kernels; '-' = not claimed or failed", ""]
    head = f"{'op':44s} {'portable':>10s}" + "".join(f" {b:>18s}" for b in backends)
    lines.append(head)
    for op in ops:
        p_ns = _ns(portable.get(f"op/{op}/portable"))
        entry = {"op": op, "portable_ns": p_ns, "backends": {}}
        cells = []
        for b in backends:
            row = per_backend[b].get(f"op/{op}/{b}")
            ns = _ns(row)
            ratio = ns / p_ns if ns and p_ns else None
            entry["backends"][b] = {"ns": ns, "ratio": ratio,
                                    "skipped": (row or {}).get("error_message")}
            cells.append("-" if ns is None else f"{_fmt_us(ns)} ({ratio:.2f}x)" if ratio
                         else _fmt_us(ns))
        res["ops"].append(entry)
        lines.append(f"{op:44s} {_fmt_us(p_ns):>10s}" + "".join(f" {c:>18s}" for c in cells))
    lines.append("")
    for b in backends:
        rows = [r for k, r in per_backend[b].items() if k.startswith("op/")]
        claimed = sum(1 for r in rows if not r.get("error_occurred"))
        why = sorted({r.get("error_message", "") for r in rows if r.get("error_occurred")
                      and "claims nothing" not in r.get("error_message", "")})
        note = f"{b}: {claimed} of {len(ops)} ops delegated"
        if labels[b]:
            note += f"; device: {labels[b]}"
        if b in failures:
            note += f"; RUN FAILED: {failures[b]}"
        res["backends"][b] = {"label": labels[b], "claimed": claimed, "failed": failures.get(b),
                              "errors": why}
        lines.append(note)
        lines += [f"    error: {w}" for w in why[:5]]
    if "portable" in failures:
        lines.append(f"portable: RUN FAILED: {failures['portable']}")
    lines.append("")

    # runtime overhead
    ov = res["overhead"]
    fit = _chain_fit(portable, "BM_PortableChain")
    if fit:
        ov["dispatch_ns_per_op"], ov["execute_fixed_ns"] = fit
        lines.append(f"per-op dispatch, portable: {fit[0]:.1f} ns/op, + {fit[1]:.1f} ns per "
                     "execute (weighted fit over relu chains of 1..1024 one-element ops)")
    fit = _chain_fit(portable, "BM_TemplateChain")
    if fit:
        ov["template_ns_per_op"], ov["template_call_fixed_ns"] = fit
        lines.append(f"inside one template delegate: {fit[0]:.1f} ns/op, + {fit[1]:.1f} ns "
                     "per execute with its one delegate call (sigmoid chain, same fit)")
    a, b = _ns(portable.get("BM_DelegateCall/portable")), \
        _ns(portable.get("BM_DelegateCall/template"))
    if a and b:
        ov["delegate_call"] = {"portable_ns": a, "template_ns": b, "difference_ns": b - a}
        lines.append(f"delegate call vs portable: one 1-element sigmoid takes {a:.0f} ns on "
                     f"the portable kernel, {b:.0f} ns through the template plugin "
                     f"({b - a:+.0f} ns)")
    for be in ("portable", "template"):
        off = _ns(portable.get(f"BM_ProfileChain/{be}/{CHAIN}/profile:0"))
        on = _ns(portable.get(f"BM_ProfileChain/{be}/{CHAIN}/profile:1"))
        base = _ns(noprof.get(f"BM_ProfileChain/{be}/{CHAIN}/profile:0"))
        if off and on:
            ov[f"profile_{be}"] = {"off_ns": off, "on_ns": on, "compiled_out_ns": base,
                                   "on_minus_off_ns_per_op": (on - off) / CHAIN}
            txt = (f"profiling, {be} chain of {CHAIN}: profile=false {off / 1e3:.2f} us, "
                   f"profile=true {on / 1e3:.2f} us ({(on - off) / CHAIN:+.1f} ns/op)")
            if base:
                ov[f"profile_{be}"]["off_minus_compiled_out_ns_per_op"] = (off - base) / CHAIN
                txt += (f"; compiled out {base / 1e3:.2f} us (off costs "
                        f"{(off - base) / CHAIN:+.2f} ns/op)")
            lines.append(txt)
    for what in (f"chain{CHAIN}", "aten::addmm"):
        c = _ns(portable.get(f"BM_ProgramLoad/{what}/copy"))
        br = _ns(portable.get(f"BM_ProgramLoad/{what}/borrow"))
        m = _ns(portable.get(f"BM_MethodCreate/{what}"))
        if c or m:
            ov[f"load_{what}"] = {"copy_ns": c, "borrow_ns": br, "method_create_ns": m}
            lines.append(f"{what}: program load {_fmt_us(c)} us (copy), {_fmt_us(br)} us "
                         f"(borrow); method create {_fmt_us(m)} us")
    text = "\n".join(lines) + "\n"
    (out / "summary.txt").write_text(text, encoding="utf-8")
    (out / "summary.json").write_text(json.dumps(res, indent=1) + "\n", encoding="utf-8")
    return {"text": text, **res}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build-perf", required=True, type=Path,
                    help="a build with -DDDK_BUILD_PERF=ON (perf/op_bench, sample_delegates/)")
    ap.add_argument("--programs", required=True, type=Path)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--backends", nargs="*", default=None,
                    help=f"plugins to time (default: every one built of {', '.join(PLUGINS)})")
    ap.add_argument("--ops", nargs="+", help="only these ops")
    ap.add_argument("--min-time", type=float, default=0.1)
    ap.add_argument("--repetitions", type=int, default=3)
    ap.add_argument("--cpu", default="1", help="pin to this CPU with taskset ('' = no pin)")
    args = ap.parse_args(argv)
    cpu = args.cpu if args.cpu != "" else None
    op_bench = args.build_perf / "perf" / "op_bench"
    noprof = args.build_perf / "perf" / "op_bench_noprof"
    for b in (op_bench, noprof):
        if not b.exists():
            print(f"run_bench: {b} not built (cmake -DDDK_BUILD_PERF=ON, target {b.name})",
                  file=sys.stderr)
            return 2
    if gen_programs.main(["--out", str(args.programs)] + (["--ops"] + args.ops if args.ops
                                                          else [])) != 0:
        return 1
    ops = [e["op"] for e in json.loads((args.programs / gen_programs.SIDECAR)
                                       .read_text(encoding="utf-8"))["ops"]]
    plugin_dir = args.build_perf / "sample_delegates"
    names = PLUGINS if args.backends is None else args.backends
    backends = []
    for b in names:
        if (plugin_dir / f"libddk_backend_{b}.so").exists():
            backends.append(b)
        elif args.backends is not None:
            print(f"run_bench: {plugin_dir}/libddk_backend_{b}.so not built", file=sys.stderr)
            return 2
    args.out.mkdir(parents=True, exist_ok=True)
    for stale in args.out.glob("*.json"):
        stale.unlink()
    failures = {}
    progs = ["--programs", str(args.programs)]
    err = run_op_bench(op_bench, progs, args.out / "portable.json", args.min_time,
                       args.repetitions, cpu)
    if err:
        failures["portable"] = err
    err = run_op_bench(noprof, ["--benchmark_filter=^BM_ProfileChain/"],
                       args.out / "noprof.json", args.min_time, args.repetitions, cpu)
    if err:
        failures["noprof"] = err
    for b in backends:
        err = run_op_bench(op_bench, progs + ["--backend", str(plugin_dir / f"libddk_backend_{b}.so"),
                                              "--no-portable", "--no-overhead"],
                           args.out / f"{b}.json", args.min_time, args.repetitions, cpu)
        if err:
            failures[b] = err
    s = summarize(args.out, backends, failures, ops)
    print(s["text"], end="")
    print(f"run_bench: Google Benchmark JSON and summary.txt in {args.out}")
    return 1 if "portable" in failures else 0


if __name__ == "__main__":
    sys.exit(main())
