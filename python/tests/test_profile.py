"""`ddk profile`: latencies, per-op rows attributed to the right backend,
and a trace in the Trace Event Format (the JSON object form that Perfetto
and chrome://tracing load: "traceEvents", complete events with ph "X",
ts/dur in microseconds, pid/tid)."""

from __future__ import annotations

import csv
import io
import json

from conftest import run_cli

import ddk


def test_profile_cli_template(model, ddk_cli, template_plugin, tmp_path, libddk):
    name, program, _module, inputs = model
    prog = tmp_path / f"{name}.ddk"
    prog.write_bytes(program)
    out = {k: tmp_path / f"p.{k}" for k in ("json", "csv", "trace")}
    proc = run_cli(ddk_cli, "profile", prog, "--backend", template_plugin, "--iterations", "5",
                   "--warmup", "1", "--json", out["json"], "--csv", out["csv"],
                   "--trace", out["trace"])
    assert proc.returncode == 0, proc.stderr
    assert "warm latency over 5 runs" in proc.stdout
    report = json.loads(out["json"].read_text())
    lat = report["latency_ms"]
    assert lat["min"] <= lat["p10"] <= lat["p50"] <= lat["p90"] <= lat["max"]
    # the rows say where each instruction ran, as the lowered program does
    with ddk.Runtime() as rt:
        low = rt.lower(program, [rt.add_backend(str(template_plugin))])
        want = []
        for kind, idx in low.instructions:
            want.append("template" if kind == "delegate" else "portable")
    rows = [r for r in report["rows"] if r["level"] == 0]
    assert [r["ran_on"] for r in rows] == want
    for r in rows:
        if r["ran_on"] == "portable":
            assert r["reason"] == "not claimed by template"
        assert r["time_ns"] > 0 and r["bytes"] > 0
    assert abs(sum(r["share"] for r in rows) - 1.0) < 1e-6
    table = list(csv.DictReader(io.StringIO(out["csv"].read_text())))
    assert len(table) == len(report["rows"]) and table[0]["ran_on"] in ("template", "portable")
    trace = json.loads(out["trace"].read_text())
    xs = [e for e in trace["traceEvents"] if e["ph"] == "X"]
    assert len(xs) == len(want)
    for e in xs:
        assert {"name", "ts", "dur", "pid", "tid"} <= set(e) and e["dur"] >= 0 and e["ts"] >= 0
    ends = sorted((e["ts"], e["ts"] + e["dur"]) for e in xs)
    assert all(a[1] <= b[0] + 1e-3 for a, b in zip(ends, ends[1:]))  # one thread, in order


def test_profile_refuses_bad_arguments(ddk_cli, tmp_path, libddk):
    proc = run_cli(ddk_cli, "profile", tmp_path / "missing.ddk")
    assert proc.returncode == 2 and "missing.ddk" in proc.stderr
    prog = tmp_path / "x.ddk"
    prog.write_bytes(b"not a program")
    proc = run_cli(ddk_cli, "profile", prog)
    assert proc.returncode == 2 and "INVALID_PROGRAM" in proc.stderr, proc.stderr
