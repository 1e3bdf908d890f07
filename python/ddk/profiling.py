"""`ddk profile`: where a program's time goes, per op, delegate or portable.

Owns the measurement and the report data; python/ddk/profile_report.py
draws the plot and the HTML page, python/ddk/cli.py parses the command line.

profile() loads a program, lowers it for the given backends, and measures
load, lower, init, first-inference and warm latencies (min, p10, p50, p90,
max, trimmed mean); then runs a profiled method and reports:
  - one row per instruction (op, node, where it ran, median time, share,
    bytes, GFLOP/s from ddk.op_cost, GB/s) and, under a delegate, one row
    per event the backend emitted (its per-node ops, its copies) plus the
    call time no event accounts for; a node left to the portable kernels
    says why ("not claimed by B1, B2", "claimed by no backend present",
    "init failed: delegate_fallback");
  - one boundary entry per delegate call: copies in and out (bytes, time),
    the sum of its op events, and the remainder (call overhead);
  - the threads each backend ran with (--threads sets the option of the
    backends that take one).
compare() profiles the program twice (portable vs a backend, or two
backends) and lines the two up node by node. Output: a table, JSON, CSV,
and a Chrome trace (the Trace Event Format: Perfetto and chrome://tracing
open it).
"""
from __future__ import annotations

import csv
import io
import json
import os
import resource
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["profile", "compare", "compare_reports", "format_table", "format_compare",
           "to_csv", "compare_to_csv", "to_trace", "thread_plan"]

# Backends with a thread-count option: name -> (option key, min, max, default).
# (sample_delegates/xnnpack/README.md: xnnpack.num_threads, 1..64, default 1.)
THREAD_OPTIONS = {"xnnpack": ("xnnpack.num_threads", 1, 64, 1)}
# Backends known to have none, and why (their READMEs list their options).
SINGLE_THREADED = {
    "template": "plain C loops on the calling thread; no thread option",
    "npu_sim": "an emulated device, emulated on the calling thread; no thread option",
    "vulkan": "GPU work; its host side runs on the calling thread; no thread option",
}
PORTABLE_THREADS_NOTE = "the portable kernels are single-threaded (the calling thread)"

NO_EVENTS = "no per-op events from this backend"
NO_NODE_EVENTS = "no per-node events from this backend"


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


def _node_cost_fn():
    """A node_cost(prog, node) over ddk.op_cost's formulas, computing every
    node's cost once per program (program_costs); None when ddk.op_cost
    cannot be imported."""
    try:
        from .op_cost import program_costs
    except ImportError:
        return None
    cache: dict = {}

    def node_cost(prog, node: int) -> dict:
        key = id(prog)
        if key not in cache:
            cache[key] = (prog, program_costs(prog))
        return cache[key][1][node]
    return node_cost


def thread_plan(names: Sequence[str], threads: int | None,
                options: Mapping[str, Any]) -> tuple[dict, dict]:
    """(options to add, {backend: {"threads", "option", "note"}}) for
    --threads `threads` (None: report the defaults). A backend with no
    known thread option gets a note, not an error; a count outside a
    backend's range is a ValueError naming the range."""
    if threads is not None and threads < 1:
        raise ValueError(f"--threads {threads}: expected a count >= 1")
    add: dict = {}
    plan = {"portable": {"threads": 1, "option": None, "note": PORTABLE_THREADS_NOTE}}
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    for name in names:
        if name in THREAD_OPTIONS:
            key, lo, hi, default = THREAD_OPTIONS[name]
            given = options.get(key)
            if threads is not None:
                if given is not None and given != threads:
                    raise ValueError(f"--threads {threads} and --option {key}={given} disagree")
                if not lo <= threads <= hi:
                    raise ValueError(f"--threads {threads}: {name} takes {key} in {lo}..{hi}")
                add[key] = threads
            n = threads if threads is not None else (given if given is not None else default)
            note = f"{key}={n}"
            if cpus and n > cpus:
                note += (f"; more threads than the {cpus} CPU(s) this process may run on "
                         "(taskset/affinity): the pool's threads contend, times are not "
                         "representative")
            plan[name] = {"threads": n, "option": key, "note": note}
        elif name in SINGLE_THREADED:
            note = SINGLE_THREADED[name]
            if threads is not None and threads != 1:
                note += f"; --threads {threads} does not apply to it"
            plan[name] = {"threads": 1, "option": None, "note": note}
        else:
            note = "no known thread option; it ran with its own default"
            if threads is not None:
                note += (f"; --threads {threads} was not passed to it (use --option "
                         f"{name}.KEY=N if it has one)")
            plan[name] = {"threads": None, "option": None, "note": note}
    return add, plan


def _kernel_reason(names: Sequence[str], infos: Mapping[str, dict], prelowered: bool) -> str:
    """Why a node runs on the portable kernels (`prelowered`: the program
    came with its delegates, so its lowering is not ours to explain)."""
    if prelowered:
        return "not delegated in the lowered program"
    if not names:
        return "claimed by no backend present (none given)"
    present = [n for n in names if infos.get(n, {}).get("available", True)]
    absent = [f"{n} unavailable: {infos[n].get('detail') or 'no detail'}"
              for n in names if n not in present]
    if not present:
        return "claimed by no backend present (" + "; ".join(absent) + ")"
    why = "not claimed by " + ", ".join(present)
    return why + (" (" + "; ".join(absent) + ")" if absent else "")


def profile(program: str, backends: Sequence[str] = (), *, iterations: int = 20,
            warmup: int = 3, options: Mapping[str, Any] | None = None,
            inputs: Sequence[Any] | None = None, seed: int = 0,
            threads: int | None = None) -> dict:
    """Profiles `program` (a path) lowered for `backends` (names or plugin
    paths, priority order). `inputs`: arrays or .npy paths (default:
    random, from `seed`). `threads`: sets the thread option of the backends
    that have one (THREAD_OPTIONS). Returns the report as a dict (keys:
    program, backends, threads, times_ms, latency_ms, memory, rows,
    boundaries, node_ops, notes, trace_events)."""
    from . import runtime as rt_mod
    if iterations < 1 or warmup < 0:
        raise ValueError("iterations must be >= 1 and warmup >= 0")
    options = dict(options or {})
    times: dict = {}
    source, times["load_ms"] = _timed(lambda: rt_mod.load_program(program))
    with rt_mod.Runtime() as rt:
        names = [rt.add_backend(b) for b in backends]
        infos = {b["name"]: b for b in rt.backends()}
        add, plan = thread_plan(names, threads, options)
        options.update(add)
        prog = source
        lowered_here = bool(names) and source.num_delegates == 0
        if lowered_here:
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
            fallbacks = {i for i in range(prog.num_delegates) if m.delegate_fell_back(i)}
        runs = _profiled_runs(rt, prog, options, arrays, warmup, iterations)
        reason = _kernel_reason(names, infos, source.num_delegates > 0)
        rows, boundaries = _rows(prog, runs, fallbacks, reason)
        notes = [f"threads: {k}: {v['note']}" for k, v in plan.items()]
        for b in boundaries:
            if b["note"]:
                notes.append(f"delegate {b['delegate']} ({b['backend']}): {b['note']}")
        report = {
            "program": str(program),
            "backends": names,
            "backend_info": {n: {k: infos[n][k] for k in ("available", "device_name", "detail")}
                             for n in names if n in infos},
            "threads": plan,
            "options": {k: v for k, v in options.items() if not isinstance(v, bytes)},
            "iterations": iterations,
            "warmup": warmup,
            "times_ms": times,
            "latency_ms": _stats(warm),
            "memory": {"arena_bytes": arena,
                       "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                       * 1024},
            "op_costs": _node_cost_fn() is not None,
            "node_ops": [n["op_name"] for n in prog.nodes],
            "rows": rows,
            "boundaries": boundaries,
            "notes": notes,
            "trace_events": {"instructions": runs[-1][0], "backend": runs[-1][1]},
        }
        if prog is not source:
            prog.close()
    source.close()
    return report


def _profiled_runs(rt, prog, options, arrays, warmup: int, iterations: int) -> list:
    """[(instruction events, backend events)] of `iterations` profiled executes."""
    runs = []
    with rt.method(prog, {**options, "profile": True}) as m:
        m.set_inputs(arrays)
        for _ in range(warmup):
            m.execute()
        for _ in range(iterations):
            m.execute()
            runs.append((m.events(), m.backend_events()))
    return runs


def _covered_ns(evs: Sequence[dict], lo: int, hi: int) -> int:
    """Nanoseconds of [lo, hi) covered by the union of the events' spans."""
    spans = sorted((max(lo, e["start_ns"]), min(hi, e["end_ns"])) for e in evs)
    total, end = 0, lo
    for a, b in spans:
        a = max(a, end)
        if b > a:
            total += b - a
            end = b
    return total


def _direction(e: dict, op_spans: Sequence[tuple[int, int]]) -> str:
    """A copy event's direction: the detail's direction=, else its name
    (input/output), else its place relative to the op events."""
    d = e["detail"].get("direction", "").lower()
    if d in ("in", "out"):
        return d
    name = e["name"].lower()
    if "input" in name or "upload" in name:
        return "in"
    if "output" in name or "download" in name:
        return "out"
    if op_spans:
        if e["end_ns"] <= op_spans[0][0]:
            return "in"
        if e["start_ns"] >= op_spans[-1][1]:
            return "out"
        return "between ops"
    return "unknown"


def _cost(cost_fn, prog, node: int | None) -> dict:
    if cost_fn is None or node is None:
        return {"flops": None, "bytes": None}
    try:
        c = cost_fn(prog, node)
    except Exception:  # a formula the op table cannot evaluate: unknown, not fatal
        return {"flops": None, "bytes": None}
    return {"flops": c.get("flops"), "bytes": c.get("bytes")}


def _rate(amount, ns) -> float | None:
    """amount per ns = G(amount)/s; None when unknown."""
    if amount is None or not ns:
        return None
    return amount / ns


def _rows(prog, runs, fallbacks, reason) -> tuple[list, list]:
    """Per-op rows (level 0: instructions; level 1: a delegate's events and
    its unaccounted call time) and one boundary entry per delegate call."""
    nodes, delegates, instrs = prog.nodes, prog.delegates, prog.instructions
    cost_fn = _node_cost_fn()
    instr_ns = defaultdict(list)
    remainder = defaultdict(list)
    bevent_ns = defaultdict(list)
    for events, bevents in runs:
        by_d = defaultdict(list)
        for e in bevents:
            by_d[e["delegate"]].append(e)
        for e in events:
            i = e["instruction"]
            instr_ns[i].append(e["end_ns"] - e["start_ns"])
            kind, idx = instrs[i]
            if kind == "delegate" and idx not in fallbacks:
                remainder[idx].append(e["end_ns"] - e["start_ns"] -
                                      _covered_ns(by_d[idx], e["start_ns"], e["end_ns"]))
        for key, e in _keyed(bevents):
            bevent_ns[key].append(e["end_ns"] - e["start_ns"])
    last_events, last_bevents = runs[-1]
    last_bytes = {e["instruction"]: e["bytes"] for e in last_events}
    med = {i: statistics.median(v) for i, v in instr_ns.items()}
    total = sum(med.values()) or 1
    last_by_d = defaultdict(list)
    for key, e in _keyed(last_bevents):
        last_by_d[e["delegate"]].append((key, e))
    rows, boundaries = [], []
    for i in sorted(med):
        ns, nbytes = med[i], last_bytes.get(i, 0)
        kind, index = instrs[i]
        base = {"instruction": i, "time_ns": ns, "share": ns / total, "gb_per_s": None,
                "gflop_per_s": None, "cycles": None, "detail": {}}
        if kind == "kernel":
            c = _cost(cost_fn, prog, index)
            rows.append({**base, "level": 0, "kind": "kernel", "node": index,
                         "op": nodes[index]["op_name"], "ran_on": "portable", "reason": reason,
                         "bytes": nbytes, "flops": c["flops"], "gb_per_s": _rate(nbytes, ns),
                         "gflop_per_s": _rate(c["flops"], ns)})
            continue
        d = delegates[index]
        costs = [_cost(cost_fn, prog, n)["flops"] for n in d["nodes"]]
        flops = sum(costs) if costs and None not in costs else None
        row = {**base, "level": 0, "node": d["nodes"][0] if d["nodes"] else None,
               "nodes": d["nodes"], "delegate": index,
               "op": f"delegate {index} ({len(d['nodes'])} nodes)", "bytes": nbytes,
               "flops": flops, "gb_per_s": _rate(nbytes, ns), "gflop_per_s": _rate(flops, ns)}
        if index in fallbacks:
            rows.append({**row, "kind": "fallback", "ran_on": "portable",
                         "reason": f"claimed by {d['backend']}, init failed: delegate_fallback"})
            continue
        evs = sorted(last_by_d.get(index, []), key=lambda ke: ke[1]["start_ns"])
        node_ops = [e for _k, e in evs if e["kind"] == "op" and e["node_index"] is not None]
        note = "" if node_ops else (NO_NODE_EVENTS if evs else NO_EVENTS)
        rows.append({**row, "kind": "delegate", "ran_on": d["backend"], "reason": note,
                     "events": len(evs), "node_events": len(node_ops)})
        boundaries.append(_boundary(i, index, d, ns, nbytes, evs, bevent_ns,
                                    statistics.median(remainder[index]), note))
        for key, e in evs:
            bns = statistics.median(bevent_ns[key])
            node = e["node_index"]
            c = _cost(cost_fn, prog, node) if e["kind"] == "op" else {"flops": None,
                                                                      "bytes": None}
            ebytes = e["bytes"] or c["bytes"] or 0
            eflops = e["flops"] or c["flops"]
            rows.append({**base, "level": 1, "kind": e["kind"], "node": node,
                         "delegate": index, "op": nodes[node]["op_name"] if node is not None
                         else e["name"], "name": e["name"], "ran_on": d["backend"],
                         "reason": e["kind"], "time_ns": bns, "share": bns / total,
                         "bytes": ebytes, "flops": eflops, "gb_per_s": _rate(ebytes, bns),
                         "gflop_per_s": _rate(eflops, bns), "cycles": e["cycles"] or None,
                         "detail": e["detail"],
                         "cost_from": "backend" if e["flops"] else (
                             "op table" if eflops is not None else None)})
        if evs:
            rem = statistics.median(remainder[index])
            rows.append({**base, "level": 1, "kind": "overhead", "node": None,
                         "delegate": index, "op": "call time outside its events",
                         "ran_on": d["backend"], "reason": "overhead", "time_ns": rem,
                         "share": rem / total, "bytes": 0, "flops": None})
    return rows, boundaries


def _keyed(bevents):
    """(key, event) pairs; the key (delegate, kind, node, name, occurrence)
    matches the same event across executes."""
    seen: Counter = Counter()
    for e in bevents:
        base = (e["delegate"], e["kind"], e["node_index"], e["name"])
        yield base + (seen[base],), e
        seen[base] += 1


def _boundary(instr, index, d, call_ns, nbytes, evs, bevent_ns, rem_ns, note) -> dict:
    """The delegate call's boundary accounting (times: medians)."""
    op_spans = sorted((e["start_ns"], e["end_ns"]) for _k, e in evs if e["kind"] == "op")
    copies, sums = [], Counter()
    for key, e in evs:
        ns = statistics.median(bevent_ns[key])
        if e["kind"] == "copy":
            direction = _direction(e, op_spans)
            copies.append({"name": e["name"], "direction": direction, "bytes": e["bytes"],
                           "time_ns": ns})
            tag = {"in": "copy_in", "out": "copy_out"}.get(direction, "copy_other")
            sums[tag + "_ns"] += ns
            sums[tag + "_bytes"] += e["bytes"]
        elif e["kind"] == "op":
            sums["ops_ns"] += ns
            sums["op_events"] += 1
            sums["node_events"] += e["node_index"] is not None
        else:
            sums["other_ns"] += ns
    b = {"delegate": index, "instruction": instr, "backend": d["backend"],
         "nodes": len(d["nodes"]), "call_ns": call_ns, "boundary_bytes": nbytes,
         "copies": copies, "remainder_ns": rem_ns if evs else call_ns,
         "opaque": not evs, "note": note}
    for k in ("copy_in_ns", "copy_in_bytes", "copy_out_ns", "copy_out_bytes", "copy_other_ns",
              "copy_other_bytes", "ops_ns", "op_events", "node_events", "other_ns"):
        b[k] = sums[k]
    return b


def _fmt(v, spec: str, none: str = "-") -> str:
    return none if v is None else format(v, spec)


def format_table(report: dict) -> str:
    """The report as text: times, latency, memory, threads, the per-op rows,
    then the delegate boundaries."""
    t, lat, mem = report["times_ms"], report["latency_ms"], report["memory"]
    lines = [f"program {report['program']} on {', '.join(report['backends']) or 'portable'}",
             "  " + ", ".join(f"{k[:-3]} {v:.2f} ms" for k, v in t.items()),
             f"  warm latency over {lat['n']} runs (ms): min {lat['min']:.3f}  p10 "
             f"{lat['p10']:.3f}  p50 {lat['p50']:.3f}  p90 {lat['p90']:.3f}  max "
             f"{lat['max']:.3f}  trimmed mean {lat['trimmed_mean']:.3f}",
             f"  memory: arena {mem['arena_bytes']:,} B, peak RSS {mem['peak_rss_bytes']:,} B",
             "  threads: " + "; ".join(
                 f"{k} {v['threads'] if v['threads'] is not None else '?'}"
                 for k, v in report["threads"].items())]
    if not report.get("op_costs"):
        lines.append("  GFLOP/s: only where the backend reports flops (ddk.op_cost, the op "
                     "table's cost formulas, is not available)")
    lines.append(f"  {'instr':>5} {'node':>5}  {'op':<40} {'ran on':<10} {'time us':>10} "
                 f"{'share':>6} {'GFLOP/s':>8} {'GB/s':>7}  note")
    for r in report["rows"]:
        op = ("  " * r["level"]) + r["op"]
        node = "-" if r["node"] is None else str(r["node"])
        lines.append(f"  {r['instruction']:>5} {node:>5}  {op[:40]:<40} {r['ran_on']:<10} "
                     f"{r['time_ns'] / 1e3:>10.1f} {100 * r['share']:>5.1f}% "
                     f"{_fmt(r['gflop_per_s'], '8.2f', '       -')} "
                     f"{_fmt(r['gb_per_s'], '7.2f', '      -')}  {r['reason']}")
    if report["boundaries"]:
        lines.append("  partition boundaries (per delegate call, us; remainder = call time "
                     "outside the backend's events):")
        lines.append(f"  {'deleg':>5} {'backend':<10} {'nodes':>5} {'call':>9} {'copy in':>9} "
                     f"{'in B':>9} {'copy out':>9} {'out B':>9} {'ops':>9} {'other':>8} "
                     f"{'remainder':>9}  note")
        for b in report["boundaries"]:
            lines.append(
                f"  {b['delegate']:>5} {b['backend']:<10} {b['nodes']:>5} "
                f"{b['call_ns'] / 1e3:>9.1f} {b['copy_in_ns'] / 1e3:>9.1f} "
                f"{b['copy_in_bytes']:>9} {b['copy_out_ns'] / 1e3:>9.1f} "
                f"{b['copy_out_bytes']:>9} {b['ops_ns'] / 1e3:>9.1f} "
                f"{b['other_ns'] / 1e3:>8.1f} {b['remainder_ns'] / 1e3:>9.1f}  {b['note']}")
    lines += ["  note: " + n for n in report["notes"] if n.startswith("threads")]
    return "\n".join(lines)


ROW_COLUMNS = ["instruction", "level", "kind", "node", "op", "ran_on", "reason", "time_ns",
               "share", "bytes", "flops", "gflop_per_s", "gb_per_s", "cycles"]


def to_csv(report: dict) -> str:
    """The per-op rows as CSV (ROW_COLUMNS)."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=ROW_COLUMNS, extrasaction="ignore")
    w.writeheader()
    for r in report["rows"]:
        w.writerow(r)
    return buf.getvalue()


def to_json(report: dict) -> dict:
    """The report without the raw trace events (what --json writes)."""
    return {k: v for k, v in report.items() if k != "trace_events"}


def _trace_process(report: dict, pid: int, label: str) -> list:
    """Complete ("X") events of the report's last profiled execute, on
    thread 1 of process `pid`: each instruction, and inside a delegate's
    instruction the events its backend emitted (nested by time)."""
    ev = report["trace_events"]
    starts = [e["start_ns"] for e in ev["instructions"]] + [e["start_ns"] for e in ev["backend"]]
    base = min(starts) if starts else 0
    out = [{"name": "process_name", "ph": "M", "pid": pid, "tid": 1, "args": {"name": label}},
           {"name": "thread_name", "ph": "M", "pid": pid, "tid": 1,
            "args": {"name": "instructions and delegate events"}}]
    for e in ev["instructions"]:
        out.append({"name": e["name"], "cat": e["backend"], "ph": "X", "pid": pid, "tid": 1,
                    "ts": (e["start_ns"] - base) / 1e3,
                    "dur": (e["end_ns"] - e["start_ns"]) / 1e3,
                    "args": {"instruction": e["instruction"], "node": e["node_index"],
                             "bytes": e["bytes"]}})
    for e in ev["backend"]:
        out.append({"name": e["name"], "cat": e["backend"] + ":" + e["kind"], "ph": "X",
                    "pid": pid, "tid": 1, "ts": (e["start_ns"] - base) / 1e3,
                    "dur": (e["end_ns"] - e["start_ns"]) / 1e3,
                    "args": {"delegate": e["delegate"], "node": e["node_index"],
                             "bytes": e["bytes"], "flops": e["flops"], "cycles": e["cycles"],
                             "detail": e["detail"]}})
    return out


def to_trace(report: dict, *more: dict) -> str:
    """The last profiled execute in the Trace Event Format (JSON object
    form, times in microseconds): one process per report (a --compare
    writes both sides), one thread holding the instructions with each
    delegate's events nested inside its instruction."""
    out = []
    for pid, r in enumerate((report, *more), start=1):
        out += _trace_process(r, pid, ", ".join(r["backends"]) or "portable")
    return json.dumps({"traceEvents": out, "displayTimeUnit": "ns"}, allow_nan=False)


# ---- compare ---------------------------------------------------------------------------

def compare(program: str, a_backends: Sequence[str] = (), b_backends: Sequence[str] = (),
            **kw) -> dict:
    """Profiles `program` on `a_backends` (default: portable) and on
    `b_backends`, and lines them up per node (compare_reports)."""
    if not b_backends:
        raise ValueError("--compare needs a backend to compare with (--backend B)")
    a = profile(program, a_backends, **kw)
    b = profile(program, b_backends, **kw)
    return compare_reports(a, b)


def _units(report: dict) -> tuple[list, list]:
    """What one side can time: units (nodes, time_ns or None, ran_on, how)
    and the delegate boundary time that belongs to no node."""
    units, boundary = [], []
    rows = report["rows"]
    for r in rows:
        if r["level"] != 0:
            continue
        if r["kind"] == "kernel":
            units.append({"nodes": [r["node"]], "time_ns": r["time_ns"], "ran_on": "portable",
                          "how": "kernel"})
        elif r["kind"] == "fallback":
            units.append({"nodes": r["nodes"], "time_ns": r["time_ns"], "ran_on": "portable",
                          "how": "fallback (one instruction)"})
        else:
            kids = [c for c in rows if c["level"] == 1 and c["instruction"] == r["instruction"]
                    and c["kind"] == "op" and c["node"] is not None]
            if not kids:
                units.append({"nodes": r["nodes"], "time_ns": r["time_ns"],
                              "ran_on": r["ran_on"], "how": f"whole partition ({r['reason']})"})
                continue
            per = defaultdict(float)
            into = {}  # node -> the node whose event holds its work (absorbed_into=)
            for c in kids:
                per[c["node"]] += c["time_ns"]
                k = c["detail"].get("absorbed_into", c["detail"].get("fused_into", ""))
                if k.isdigit() and int(k) != c["node"]:
                    into[c["node"]] = int(k)

            def root(m, depth=0):
                return root(into[m], depth + 1) if m in into and depth < len(into) else m

            members = defaultdict(list)
            for m in list(r["nodes"]) + sorted(set(per) - set(r["nodes"])):
                members[root(m)].append(m)
            for top, ms in members.items():
                ms = [top] + [m for m in ms if m != top]
                known = [per[m] for m in ms if m in per]
                how = "event" if len(ms) == 1 else \
                    f"node {top}'s event holds node(s) {', '.join(map(str, ms[1:]))} too"
                if not known:
                    how = "no event of its own (inside another node's event)"
                units.append({"nodes": ms, "time_ns": sum(known) if known else None,
                              "ran_on": r["ran_on"], "how": how})
            boundary.append({"delegate": r["delegate"], "backend": r["ran_on"],
                             "time_ns": r["time_ns"] - sum(per.values())})
    return units, boundary


def _group_label(nodes: Sequence[int], ops: Sequence[str]) -> str:
    """"n3+4 convolution+_native_batch_norm..." or "n0..152 (153 nodes) ..."."""
    where = (f"n{nodes[0]}+" + "+".join(map(str, nodes[1:])) if len(nodes) <= 3
             else f"n{nodes[0]}..{nodes[-1]} ({len(nodes)} nodes)")
    count = Counter(ops[m].split("::")[-1] for m in nodes)
    return where + " " + "+".join(k + (f"x{v}" if v > 1 else "") for k, v in count.items())


def _sum_known(units: Sequence[dict]) -> float | None:
    known = [u["time_ns"] for u in units if u["time_ns"] is not None]
    return sum(known) if known else None


def _ratio(a, b) -> float | None:
    return a / b if a is not None and b else None


def compare_reports(a: dict, b: dict) -> dict:
    """Per node: time on A, time on B, speed-up = time A / time B (> 1: B
    is faster). Nodes that one side times only as a whole (a delegate
    without per-node events, a fallen-back partition) are compared as a
    group. Sorted with the biggest slow-downs of B first."""
    ua, ba = _units(a)
    ub, bb = _units(b)
    n = len(a["node_ops"])
    parent = list(range(n))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for u in ua + ub:
        for m in u["nodes"][1:]:
            parent[find(m)] = find(u["nodes"][0])
    of_a = {m: u for u in ua for m in u["nodes"]}
    of_b = {m: u for u in ub for m in u["nodes"]}
    comps = defaultdict(list)
    for m in range(n):
        comps[find(m)].append(m)
    rows, groups, entries = [], [], []
    for members in sorted(comps.values()):
        uas = list({id(of_a[m]): of_a[m] for m in members if m in of_a}.values())
        ubs = list({id(of_b[m]): of_b[m] for m in members if m in of_b}.values())
        ta, tb = _sum_known(uas), _sum_known(ubs)
        gid = None
        if len(members) > 1:
            gid = len(groups)
            hows = {f"A: {u['how']}" for u in uas if len(u["nodes"]) > 1} | {
                f"B: {u['how']}" for u in ubs if len(u["nodes"]) > 1}
            g = {"group": gid, "nodes": members, "label": _group_label(members, a["node_ops"]),
                 "time_a_ns": ta, "time_b_ns": tb,
                 "speedup": _ratio(ta, tb),
                 "ran_on_a": ", ".join(sorted({u["ran_on"] for u in uas})),
                 "ran_on_b": ", ".join(sorted({u["ran_on"] for u in ubs})),
                 "note": f"{len(members)} nodes compared as a whole: " + "; ".join(sorted(hows))}
            groups.append(g)
            entries.append(g)
        for m in members:
            a_u, b_u = of_a.get(m), of_b.get(m)
            one_a = a_u is not None and len(a_u["nodes"]) == 1
            one_b = b_u is not None and len(b_u["nodes"]) == 1
            row = {"node": m, "op": a["node_ops"][m],
                   "ran_on_a": a_u["ran_on"] if a_u else None,
                   "ran_on_b": b_u["ran_on"] if b_u else None,
                   "time_a_ns": a_u["time_ns"] if one_a else None,
                   "time_b_ns": b_u["time_ns"] if one_b else None, "group": gid}
            row["speedup"] = _ratio(row["time_a_ns"], row["time_b_ns"]) if gid is None else None
            notes = [f"{s}: {u['how']}" for s, u in (("A", a_u), ("B", b_u))
                     if u is not None and u["how"] not in ("kernel", "event")
                     and len(u["nodes"]) == 1]
            row["note"] = f"in group {gid}" if gid is not None else "; ".join(notes)
            rows.append(row)
            if gid is None:
                entries.append(row)
    entries.sort(key=lambda e: (e["speedup"] is None, e["speedup"] or 0.0))
    rows.sort(key=lambda r: r["node"])
    sa = sum(r["time_ns"] for r in a["rows"] if r["level"] == 0)
    sb = sum(r["time_ns"] for r in b["rows"] if r["level"] == 0)
    la, lb = a["latency_ms"]["p50"], b["latency_ms"]["p50"]
    return {
        "a": to_json(a), "b": to_json(b),
        "label_a": ", ".join(a["backends"]) or "portable",
        "label_b": ", ".join(b["backends"]) or "portable",
        "rows": rows, "groups": groups,
        "order": [("group", e["group"]) if "nodes" in e else ("node", e["node"])
                  for e in entries],
        "boundaries": [{"side": "A", **x} for x in ba] + [{"side": "B", **x} for x in bb],
        "totals": {"instructions_a_ns": sa, "instructions_b_ns": sb,
                   "speedup_instructions": _ratio(sa, sb),
                   "latency_p50_a_ms": la, "latency_p50_b_ms": lb,
                   "speedup_latency_p50": _ratio(la, lb)},
        "_traces": (a, b),
    }


def compare_json(cmp: dict) -> dict:
    """The comparison without the raw trace events (what --json writes)."""
    return {k: v for k, v in cmp.items() if k != "_traces"}


def _speed(s: float | None) -> str:
    if s is None:
        return "-"
    return f"x{s:.2f}" if s >= 1 else f"x{s:.2f} ({1 / s:.1f}x slower)"


def format_compare(cmp: dict) -> str:
    """The comparison as text, biggest slow-downs of B first."""
    t = cmp["totals"]
    us = lambda v: "-" if v is None else f"{v / 1e3:.1f}"  # noqa: E731
    lines = [f"compare: A = {cmp['label_a']}, B = {cmp['label_b']} "
             "(speed-up = time A / time B; below x1.00 B loses)",
             f"  profiled run, instruction medians summed (includes what a backend's "
             f"profiling mode adds): A {t['instructions_a_ns'] / 1e6:.3f} ms, "
             f"B {t['instructions_b_ns'] / 1e6:.3f} ms, {_speed(t['speedup_instructions'])}",
             f"  warm latency p50, profiling off: A {t['latency_p50_a_ms']:.3f} ms, "
             f"B {t['latency_p50_b_ms']:.3f} ms, {_speed(t['speedup_latency_p50'])}",
             f"  {'node(s) op':<46} {'A on':<10} {'B on':<10} {'A us':>9} {'B us':>9} "
             f"{'speed-up':>20}  note"]
    rows = {r["node"]: r for r in cmp["rows"]}
    for kind, key in cmp["order"]:
        if kind == "group":
            g = cmp["groups"][key]
            lines.append(f"  {g['label'][:46]:<46} {g['ran_on_a'][:10]:<10} "
                         f"{g['ran_on_b'][:10]:<10} {us(g['time_a_ns']):>9} "
                         f"{us(g['time_b_ns']):>9} {_speed(g['speedup']):>20}  {g['note']}")
            continue
        r = rows[key]
        label = f"n{key} {r['op'].split('::')[-1]}"
        lines.append(f"  {label[:46]:<46} {(r['ran_on_a'] or '-')[:10]:<10} "
                     f"{(r['ran_on_b'] or '-')[:10]:<10} {us(r['time_a_ns']):>9} "
                     f"{us(r['time_b_ns']):>9} {_speed(r['speedup']):>20}  {r['note']}")
    for x in cmp["boundaries"]:
        lines.append(f"  {x['side']}: delegate {x['delegate']} ({x['backend']}): "
                     f"{x['time_ns'] / 1e3:.1f} us in copies, call overhead and events "
                     "keyed to no node")
    return "\n".join(lines)


COMPARE_COLUMNS = ["kind", "node", "group", "op", "ran_on_a", "ran_on_b", "time_a_ns",
                   "time_b_ns", "speedup", "note"]


def compare_to_csv(cmp: dict) -> str:
    """One CSV row per node (kind "node"), then per group (kind "group")."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COMPARE_COLUMNS, extrasaction="ignore")
    w.writeheader()
    for r in cmp["rows"]:
        w.writerow({"kind": "node", **r})
    for g in cmp["groups"]:
        w.writerow({"kind": "group", **g, "node": " ".join(map(str, g["nodes"]))})
    return buf.getvalue()
