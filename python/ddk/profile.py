"""`ddk profile`: where a program's time goes, per op, delegate or portable.

Loads a program, lowers it for the given backends, and measures load,
lower, init, first-inference and warm latencies (min, p10, p50, p90, max,
trimmed mean); then runs a profiled method and reports one row per
instruction (op, node, where it ran, median time, share, bytes moved and
GB/s), with a delegate's own events (per delegate-internal op, keyed to the
original nodes, and its boundary copies) under it. Nodes that ran on the
portable kernels say why. Output: a table, JSON, CSV, and a Chrome trace
(the Trace Event Format: Perfetto and chrome://tracing open it).
"""
from __future__ import annotations

import csv
import io
import json
import resource
import statistics
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["profile", "format_table", "to_csv", "to_trace"]


def _stats(ms: Sequence[float]) -> dict:
    """min, p10, p50, p90, max and the mean of the middle 80% (ms)."""
    s = sorted(ms)
    if not s:
        return {}
    pct = lambda q: float(np.percentile(s, q))  # noqa: E731
    k = len(s) // 10
    mid = s[k:len(s) - k] or s
    return {"n": len(s), "min": s[0], "p10": pct(10), "p50": pct(50), "p90": pct(90),
            "max": s[-1], "trimmed_mean": statistics.fmean(mid)}


def _random_inputs(method, seed: int) -> list:
    from .runtime import dtype_to_numpy
    rng = np.random.default_rng(seed)
    out = []
    for i in range(method.num_inputs):
        dtype, shape, _ = method.input_spec(i)
        npd = dtype_to_numpy(dtype)
        if npd.kind == "f":
            out.append(rng.standard_normal(shape).astype(npd))
        elif npd.kind == "b":
            out.append(rng.integers(0, 2, shape).astype(npd))
        else:
            out.append(rng.integers(0, 4, shape).astype(npd))
    return out


def _timed(fn) -> tuple[Any, float]:
    t0 = time.perf_counter()
    r = fn()
    return r, (time.perf_counter() - t0) * 1e3


def profile(program: str, backends: Sequence[str] = (), *, iterations: int = 20,
            warmup: int = 3, options: Mapping[str, Any] | None = None,
            inputs: Sequence[Any] | None = None, seed: int = 0) -> dict:
    """Profiles `program` (a path) lowered for `backends` (names or plugin
    paths, priority order). `inputs`: arrays or .npy paths (default:
    random, from `seed`). Returns the report as a dict (see format_table)."""
    from . import runtime as rt_mod
    if iterations < 1 or warmup < 0:
        raise ValueError("iterations must be >= 1 and warmup >= 0")
    options = dict(options or {})
    times: dict = {}
    source, times["load_ms"] = _timed(lambda: rt_mod.load_program(program))
    with rt_mod.Runtime() as rt:
        names = [rt.add_backend(b) for b in backends]
        prog = source
        if names and source.num_delegates == 0:
            prog, times["lower_ms"] = _timed(lambda: rt.lower(source, names, options))
        method, times["init_ms"] = _timed(lambda: rt.method(prog, options))
        with method as m:
            if inputs is None:
                arrays = _random_inputs(m, seed)
            else:
                arrays = [np.load(a) if isinstance(a, str) else np.asarray(a) for a in inputs]
            m.set_inputs(arrays)
            _, times["first_inference_ms"] = _timed(m.execute)
            for _ in range(warmup):
                m.execute()
            warm = [_timed(m.execute)[1] for _ in range(iterations)]
            arena = m.arena_size
            fallbacks = [i for i in range(prog.num_delegates) if m.delegate_fell_back(i)]
        per_instr, per_bevent, last = _profiled_runs(rt, prog, options, arrays, warmup,
                                                     iterations)
        report = {
            "program": str(program),
            "backends": names,
            "iterations": iterations,
            "warmup": warmup,
            "times_ms": times,
            "latency_ms": _stats(warm),
            "memory": {"arena_bytes": arena,
                       "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                       * 1024},
            "rows": _rows(prog, names, per_instr, per_bevent, fallbacks),
            "trace_events": last,
        }
        if prog is not source:
            prog.close()
    source.close()
    return report


def _profiled_runs(rt, prog, options, arrays, warmup: int, iterations: int):
    """Median per-instruction and per-backend-event times over `iterations`
    profiled executes, and the last execute's raw events."""
    per_instr: dict = {}
    per_bevent: dict = {}
    with rt.method(prog, {**options, "profile": True}) as m:
        m.set_inputs(arrays)
        for _ in range(warmup):
            m.execute()
        for _ in range(iterations):
            m.execute()
            events, bevents = m.events(), m.backend_events()
            for e in events:
                per_instr.setdefault(e["instruction"], []).append(e)
            for k, e in enumerate(bevents):
                per_bevent.setdefault((e["delegate"], k), []).append(e)
    return per_instr, per_bevent, {"instructions": events, "backend": bevents}


def _rows(prog, names, per_instr, per_bevent, fallbacks) -> list:
    nodes = prog.nodes
    delegates = prog.delegates
    total = sum(statistics.median(e["end_ns"] - e["start_ns"] for e in evs)
                for evs in per_instr.values()) or 1
    rows = []
    for i, evs in sorted(per_instr.items()):
        e0 = evs[-1]
        ns = statistics.median(e["end_ns"] - e["start_ns"] for e in evs)
        kind, index = prog.instructions[i]
        if kind == "kernel":
            why = ("not claimed by " + ", ".join(names)) if names else "no backend given"
            rows.append({"instruction": i, "node": index, "op": nodes[index]["op_name"],
                         "ran_on": "portable", "reason": why, "time_ns": ns,
                         "share": ns / total, "bytes": e0["bytes"],
                         "gb_per_s": e0["bytes"] / ns if ns else 0.0, "level": 0})
            continue
        d = delegates[index]
        fell_back = index in fallbacks
        rows.append({"instruction": i, "node": d["nodes"][0] if d["nodes"] else None,
                     "op": f"delegate {index} ({len(d['nodes'])} nodes)",
                     "ran_on": "portable" if fell_back else d["backend"],
                     "reason": "init failed: delegate_fallback" if fell_back else "",
                     "time_ns": ns, "share": ns / total, "bytes": e0["bytes"],
                     "gb_per_s": e0["bytes"] / ns if ns else 0.0, "level": 0})
        for (di, _k), bevs in sorted(per_bevent.items()):
            if di != index:
                continue
            b = bevs[-1]
            bns = statistics.median(x["end_ns"] - x["start_ns"] for x in bevs)
            node = b["node_index"]
            rows.append({"instruction": i, "node": node,
                         "op": nodes[node]["op_name"] if node is not None else b["name"],
                         "ran_on": d["backend"], "reason": b["kind"], "time_ns": bns,
                         "share": bns / total, "bytes": b["bytes"],
                         "gb_per_s": b["bytes"] / bns if bns else 0.0,
                         "gflops": b["flops"] / bns if bns else 0.0,
                         "cycles": b["cycles"], "detail": b["detail"], "level": 1})
    return rows


def format_table(report: dict) -> str:
    """The report as text: times, latency, memory, then the per-op rows."""
    t, lat, mem = report["times_ms"], report["latency_ms"], report["memory"]
    lines = [f"program {report['program']} on {', '.join(report['backends']) or 'portable'}",
             "  " + ", ".join(f"{k[:-3]} {v:.2f} ms" for k, v in t.items()),
             f"  warm latency over {lat['n']} runs (ms): min {lat['min']:.3f}  p10 "
             f"{lat['p10']:.3f}  p50 {lat['p50']:.3f}  p90 {lat['p90']:.3f}  max "
             f"{lat['max']:.3f}  trimmed mean {lat['trimmed_mean']:.3f}",
             f"  memory: arena {mem['arena_bytes']:,} B, peak RSS {mem['peak_rss_bytes']:,} B",
             f"  {'instr':>5} {'node':>5}  {'op':<40} {'ran on':<10} {'time us':>10} "
             f"{'share':>6} {'GB/s':>7}  note"]
    for r in report["rows"]:
        op = ("  " * r["level"]) + r["op"]
        node = "-" if r["node"] is None else str(r["node"])
        lines.append(f"  {r['instruction']:>5} {node:>5}  {op[:40]:<40} {r['ran_on']:<10} "
                     f"{r['time_ns'] / 1e3:>10.1f} {100 * r['share']:>5.1f}% "
                     f"{r['gb_per_s']:>7.2f}  {r['reason']}")
    return "\n".join(lines)


def to_csv(report: dict) -> str:
    """The per-op rows as CSV."""
    buf = io.StringIO()
    cols = ["instruction", "node", "op", "ran_on", "reason", "time_ns", "share", "bytes",
            "gb_per_s", "gflops", "cycles", "level"]
    w = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore")
    w.writeheader()
    for r in report["rows"]:
        w.writerow(r)
    return buf.getvalue()


def to_trace(report: dict) -> str:
    """The last profiled execute in the Trace Event Format (JSON object
    form): complete ("X") events, microseconds; thread 1 the host's
    instructions, thread 2+d the events of delegate d."""
    ev = report["trace_events"]
    base = min([e["start_ns"] for e in ev["instructions"]] +
               [e["start_ns"] for e in ev["backend"]] or [0])
    out = [{"name": "process_name", "ph": "M", "pid": 1, "args": {"name": "ddk"}},
           {"name": "thread_name", "ph": "M", "pid": 1, "tid": 1,
            "args": {"name": "instructions"}}]
    for e in ev["instructions"]:
        out.append({"name": e["name"], "cat": e["backend"], "ph": "X", "pid": 1, "tid": 1,
                    "ts": (e["start_ns"] - base) / 1e3,
                    "dur": (e["end_ns"] - e["start_ns"]) / 1e3,
                    "args": {"node": e["node_index"], "bytes": e["bytes"]}})
    for e in ev["backend"]:
        out.append({"name": e["name"], "cat": e["backend"] + ":" + e["kind"], "ph": "X",
                    "pid": 1, "tid": 2 + e["delegate"], "ts": (e["start_ns"] - base) / 1e3,
                    "dur": (e["end_ns"] - e["start_ns"]) / 1e3,
                    "args": {"node": e["node_index"], "bytes": e["bytes"], "flops": e["flops"],
                             "cycles": e["cycles"], **e["detail"]}})
    return json.dumps({"traceEvents": out, "displayTimeUnit": "ns"})
