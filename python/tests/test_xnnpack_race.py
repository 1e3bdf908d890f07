"""Smoke test of the XNNPACK race script (perf/xnnpack_race/race.py): one
small model, one thread, one run, peers skipped. Checks that the JSON has
every column, that the portable and eager columns measured a number, that
every other column says why it has none, and that the tables were printed.
No timing is asserted."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from conftest import REPO

pytest.importorskip("torch")
pytest.importorskip("torchvision")

RACE = REPO / "perf" / "xnnpack_race" / "race.py"
COLUMNS = ("ddk_xnnpack", "ddk_portable", "xnnpack_direct", "onnxruntime",
           "executorch", "eager")


def test_race_smoke(libddk, tmp_path):
    if shutil.which("taskset") is None:
        pytest.skip("taskset (util-linux) is not installed")
    out = tmp_path / "race.json"
    p = subprocess.run(
        [sys.executable, str(RACE), "--input-size", "32", "--runs", "1", "--warmup", "0",
         "--models", "resnet18", "--skip-peers", "--threads", "1",
         "--json-out", str(out), "--cache", str(tmp_path / "cache")],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stderr[-3000:]

    report = json.loads(out.read_text())
    assert list(report["columns"]) == list(COLUMNS)
    row = report["results"]["1"]["resnet18"]
    assert set(row) == set(COLUMNS)
    for col in ("ddk_portable", "eager"):
        assert row[col]["median_ms"] > 0, row[col]
        assert len(row[col]["times_ms"]) == 1
    # The portable kernels compute the zoo model's output (fp32).
    assert row["ddk_portable"]["sqnr_db"] is None or row["ddk_portable"]["sqnr_db"] > 60
    for col in ("onnxruntime", "executorch"):
        assert row[col] == {"na": "skipped (--skip-peers)"}
    for col in COLUMNS:
        assert "median_ms" in row[col] or row[col]["na"], (col, row[col])
    assert set(report["ratios"]["1"]["resnet18"]) == \
        {c for c in COLUMNS if c != "ddk_xnnpack"} | {"delegate_overhead"}

    assert "== 1 thread (taskset -c 0)" in p.stdout
    header = next(ln for ln in p.stdout.splitlines() if ln.startswith("model"))
    for head in ("ddk+xnnpack", "ddk portable", "xnnpack direct", "onnxruntime",
                 "executorch", "eager"):
        assert head in header
    assert any(ln.startswith("resnet18") for ln in p.stdout.splitlines())
