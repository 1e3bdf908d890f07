"""`ddk ops` reports, per op, the dtypes with a kernel, the golden tier's
last outcome per dtype (from a results file) and known deviations."""

from __future__ import annotations

import json

from conftest import run_cli
from ddk.ops_meta import OPS


def test_ops_json_reports_kernel_dtypes_and_golden_results(ddk_cli, tmp_path):
    kernel_op = next(op for op in OPS if op["kernel"])
    other = next(op for op in OPS if op["kernel"] and op is not kernel_op)
    tsv = tmp_path / "golden.tsv"
    dts = list(kernel_op["dtypes"])
    lines = [f"{kernel_op['name']}\t{d}\tpassed" for d in dts[:-1]]
    lines.append(f"{kernel_op['name']}\t{dts[-1]}\tfailed")
    lines.append("aten::not_an_op\tfloat32\tpassed")  # ignored
    tsv.write_text("\n".join(lines) + "\n")
    r = run_cli(ddk_cli, "ops", "--json", "--golden", str(tsv))
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["golden_results"] == str(tsv)
    by_name = {o["name"]: o for o in data["ops"]}
    assert len(by_name) == len(OPS)
    rep = by_name[kernel_op["name"]]
    assert sorted(rep["kernel_dtypes"]) == sorted(kernel_op["dtypes"])
    assert sorted(rep["golden_passed"]) == sorted(dts[:-1])
    assert rep["golden_failed"] == [dts[-1]]
    assert by_name[other["name"]]["golden_passed"] == []
    for op in OPS:
        assert by_name[op["name"]]["portable_kernel"] == op["kernel"]
        assert sorted(by_name[op["name"]]["known_deviations"]) == sorted(op["deviations"])
        if not op["kernel"]:
            assert by_name[op["name"]]["kernel_dtypes"] == []

    text = run_cli(ddk_cli, "ops", "--golden", str(tsv))
    assert text.returncode == 0
    row = next(l for l in text.stdout.splitlines() if f" {kernel_op['name']} " in l)
    assert "FAILED" in row


def test_ops_without_results_file(ddk_cli, tmp_path):
    r = run_cli(ddk_cli, "ops", "--json", "--golden", str(tmp_path / "missing.tsv"))
    assert r.returncode == 0
    data = json.loads(r.stdout)
    assert data["golden_results"] is None
    assert all(o["golden_passed"] == [] for o in data["ops"])
