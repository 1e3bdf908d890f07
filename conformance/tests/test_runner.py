"""ddk_conform, the suite's engine: runs a case file against a backend in
isolated processes and reports one outcome per case."""

from __future__ import annotations

import json
import subprocess

from conform_support import runner, template_plugin, write_cases  # noqa: F401 (fixtures)

OPS = ["aten::relu", "aten::add.Tensor", "aten::mul.Tensor", "aten::sigmoid", "aten::tanh",
       "aten::sub.Tensor", "aten::exp"]


def run(runner, cases, backend, *extra, timeout=300):
    r = subprocess.run([str(runner), "--cases", str(cases), "--backend", str(backend), *extra],
                       capture_output=True, text=True, timeout=timeout)
    rows = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
    return r, rows


def test_template_passes_what_it_claims(runner, template_plugin, tmp_path):
    cases = write_cases(tmp_path / "c.bin", OPS)
    r, rows = run(runner, cases, template_plugin)
    assert r.returncode == 0, r.stderr + r.stdout[-3000:]
    outcomes = {row["outcome"] for row in rows}
    assert outcomes <= {"pass", "unsupported"}, [x for x in rows if x["outcome"] not in
                                                 ("pass", "unsupported")][:3]
    passed = [x for x in rows if x["outcome"] == "pass"]
    # the template claims fp32 same-shape relu/add/mul/sub/sigmoid/tanh, not exp
    assert {x["op"] for x in passed} == {"aten::relu", "aten::add.Tensor", "aten::mul.Tensor",
                                         "aten::sigmoid", "aten::tanh", "aten::sub.Tensor"}
    assert all(x["op"] != "aten::exp" for x in passed)
    for x in passed:
        for key in ("max_abs", "max_ulp", "nmse", "bias", "worst_index", "time_ms"):
            assert key in x, key
    assert "pass" in r.stderr and "unsupported" in r.stderr


def test_ops_filter_and_refusals_skipped(runner, template_plugin, tmp_path):
    cases = write_cases(tmp_path / "c.bin", ["aten::relu", "aten::add.Tensor"], ("float32", "none"))
    _, rows = run(runner, cases, template_plugin, "--ops", "aten::relu")
    assert rows and {x["op"] for x in rows} == {"aten::relu"}


def test_bad_usage_and_bad_files(runner, template_plugin, tmp_path):
    r, _ = run(runner, tmp_path / "missing.bin", template_plugin)
    assert r.returncode == 2 and "cannot open" in r.stderr
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"not a case file")
    r, _ = run(runner, bad, template_plugin)
    assert r.returncode == 2 and "not a case file" in r.stderr
    r = subprocess.run([str(runner), "--cases"], capture_output=True, text=True)
    assert r.returncode == 2 and "usage" in r.stderr


def test_unknown_backend_is_an_error_per_case(runner, tmp_path):
    cases = write_cases(tmp_path / "c.bin", ["aten::relu"])
    r, rows = run(runner, cases, tmp_path / "libnope.so")
    assert r.returncode == 1
    assert rows and all(x["outcome"] == "error" and x["stage"] == "load" for x in rows)
