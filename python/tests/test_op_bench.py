"""perf/op_bench: gen_programs.py (bench column -> single-op programs +
op_bench.json), the op_bench binary (Google Benchmark JSON with a portable
and a template row per op, counters that agree with ddk.op_cost, a skip
with its reason where the backend claims nothing) and run_bench.py's
summary. Tiny min times; no timing is asserted.

op_bench lives in a build configured with -DDDK_BUILD_PERF=ON (`make
build` does it): DDK_PERF_BUILD_DIR, else DDK_BUILD_DIR, else <repo>/build.
Tests that need it skip naming the missing path; `make test` sets it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import LIBDDK, REPO

sys.path.insert(0, str(REPO / "perf" / "op_bench"))
import gen_programs  # noqa: E402
import run_bench  # noqa: E402

from ddk import op_cost  # noqa: E402

PERF_BUILD = Path(os.environ.get("DDK_PERF_BUILD_DIR") or os.environ.get("DDK_BUILD_DIR")
                  or REPO / "build")
OP_BENCH = PERF_BUILD / "perf" / "op_bench"
TEMPLATE = PERF_BUILD / "sample_delegates" / "libddk_backend_template.so"
OPS = ["aten::mm", "aten::relu", "aten::cat"]
TIMEOUT_S = 120


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} not built (make bench, or cmake -DDDK_BUILD_PERF=ON)")
    return path


@pytest.fixture(scope="module")
def programs(tmp_path_factory):
    pytest.importorskip("torch")
    out = tmp_path_factory.mktemp("op_bench")
    assert gen_programs.main(["--out", str(out), "--ops"] + OPS) == 0
    return out


def test_sidecar_lists_each_op_with_its_cost(programs):
    side = json.loads((programs / "op_bench.json").read_text())
    entries = {e["op"]: e for e in side["ops"]}
    assert sorted(entries) == sorted(OPS)
    mm = entries["aten::mm"]
    # bench cell T(128,256), W(256,256): one input, the weight a constant;
    # 2*128*256*256 FLOPs; 4 bytes x (128*256 + 256*256 + 128*256)
    assert mm["inputs"] == [{"dtype": "float32", "shape": [128, 256], "lo": -1, "hi": 1}]
    assert mm["outputs"] == [{"dtype": "float32", "shape": [128, 256]}]
    assert (mm["flops"], mm["bytes"]) == (2 * 128 * 256 * 256, 4 * (2 * 128 * 256 + 256 * 256))
    cat = entries["aten::cat"]
    assert len(cat["inputs"]) == 2 and cat["flops"] == 0
    for e in side["ops"]:
        assert (programs / e["program"]).exists()


def test_programs_load_and_node_cost_agrees(programs):
    if not LIBDDK.exists():
        pytest.skip(f"{LIBDDK} not built")
    from ddk.runtime import LoadedProgram
    side = json.loads((programs / "op_bench.json").read_text())
    for e in side["ops"]:
        lp = LoadedProgram.from_file(programs / e["program"])
        assert [n["op_name"] for n in lp.nodes] == [e["op"]]
        assert op_cost.node_cost(lp, 0) == {"flops": e["flops"], "bytes": e["bytes"]}


def test_a_bad_bench_cell_is_refused():
    import gen_ops
    params = gen_ops.parse_schema("mm(Tensor self, Tensor mat2) -> Tensor")[1]
    for cell, msg in [("T(2,3)", "missing"), ("T(2,3), 5", "does not fit"),
                      ("T(2,3), T(3,4), T(1)", "positional args"),
                      ("T(2,-3), T(3,4)", "not a literal|sizes"),
                      ("T(2,3), X(3,4)", "not a literal"),
                      ("T(2,3), T(3,4,dtype='float128')", "bad keyword"),
                      ("T(2,3), I(3,4)", "needs hi"), ("T(2,3), mat3=T(3,4)", "unknown")]:
        with pytest.raises(ValueError, match=msg):
            op_cost.parse_bench(cell, params)
    assert op_cost.parse_bench("T(2,3), mat2=W(3,4,lo=0,hi=2)", params)[1] == {
        "ctor": "W", "sizes": [3, 4], "dtype": "float32", "lo": 0, "hi": 2}


def _rows(path: Path) -> dict:
    data = json.loads(path.read_text())
    return {b["name"].removesuffix("/real_time"): b for b in data["benchmarks"]}


def test_op_bench_json_has_portable_and_template_rows(programs, tmp_path):
    binary, plugin = _need(OP_BENCH), _need(TEMPLATE)
    out = tmp_path / "bench.json"
    r = subprocess.run([str(binary), "--programs", str(programs), "--backend", str(plugin),
                        "--benchmark_min_time=0.001", "--benchmark_filter=^op/|BM_DelegateCall",
                        "--benchmark_out_format=json", f"--benchmark_out={out}"],
                       capture_output=True, text=True, timeout=TIMEOUT_S)
    assert r.returncode == 0, r.stderr
    rows = _rows(out)
    side = {e["op"]: e for e in json.loads((programs / "op_bench.json").read_text())["ops"]}
    for op in OPS:
        p = rows[f"op/{op}/portable"]
        assert not p.get("error_occurred")
        assert (p["flops"], p["bytes"]) == (side[op]["flops"], side[op]["bytes"])
        assert p["nodes"] == 1 and p["nodes_delegated"] == 0
        # the rate counters are the sidecar's per-call figures over the wall time
        seconds = p["real_time"] * {"ns": 1e-9, "us": 1e-6, "ms": 1e-3}[p["time_unit"]]
        assert p["GB/s"] == pytest.approx(side[op]["bytes"] * 1e-9 / seconds, rel=1e-6)
        if side[op]["flops"]:
            assert p["GFLOP/s"] == pytest.approx(side[op]["flops"] * 1e-9 / seconds, rel=1e-6)
        else:
            assert "GFLOP/s" not in p
    relu = rows["op/aten::relu/template"]
    assert not relu.get("error_occurred") and relu["nodes_delegated"] == 1
    assert relu["flops"] == side["aten::relu"]["flops"]
    for op in ("aten::mm", "aten::cat"):  # the template claims neither: skipped, not run
        t = rows[f"op/{op}/template"]
        assert t["error_occurred"] and t["error_message"] == f"template claims nothing of {op}"
    assert {"BM_DelegateCall/portable", "BM_DelegateCall/template"} <= set(rows)


def test_op_bench_refuses_bad_arguments(programs, tmp_path):
    binary = _need(OP_BENCH)
    for args, msg in [(["--frobnicate"], "unknown argument"),
                      (["--programs", str(tmp_path)], "cannot open"),
                      (["--programs", str(programs), "--backend", str(tmp_path / "no.so")],
                       "--backend")]:
        r = subprocess.run([str(binary)] + args, capture_output=True, text=True,
                           timeout=TIMEOUT_S)
        assert r.returncode != 0 and msg in r.stderr, (args, r.stderr)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "op_bench.json").write_text('{"ops": [{"op": "aten::mm", "program": ')
    r = subprocess.run([str(binary), "--programs", str(bad)], capture_output=True, text=True,
                       timeout=TIMEOUT_S)
    assert r.returncode != 0 and "op_bench.json" in r.stderr


def test_run_bench_writes_reports_and_ratios(tmp_path):
    pytest.importorskip("torch")
    _need(OP_BENCH), _need(TEMPLATE)
    out = tmp_path / "reports"
    rc = run_bench.main(["--build-perf", str(PERF_BUILD), "--programs", str(tmp_path / "p"),
                         "--out", str(out), "--backends", "template", "--ops", "aten::relu",
                         "aten::mm", "--min-time", "0.001", "--repetitions", "1", "--cpu", ""])
    assert rc == 0
    assert {p.name for p in out.glob("*.json")} == {"portable.json", "noprof.json",
                                                   "template.json", "summary.json"}
    summary = json.loads((out / "summary.json").read_text())
    by_op = {e["op"]: e for e in summary["ops"]}
    relu = by_op["aten::relu"]
    t = relu["backends"]["template"]
    assert t["ratio"] == pytest.approx(t["ns"] / relu["portable_ns"])
    assert by_op["aten::mm"]["backends"]["template"]["ratio"] is None
    assert "claims nothing" in by_op["aten::mm"]["backends"]["template"]["skipped"]
    assert summary["backends"]["template"]["claimed"] == 1
    ov = summary["overhead"]
    assert {"dispatch_ns_per_op", "delegate_call", "profile_portable",
            "profile_template"} <= set(ov)
    assert ov["profile_portable"]["compiled_out_ns"] is not None
    text = (out / "summary.txt").read_text()
    assert "aten::relu" in text and "profile=true" in text
