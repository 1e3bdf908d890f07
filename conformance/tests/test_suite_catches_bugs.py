"""The suite must catch bugs: every deliberately broken backend
(conformance/broken_backends/, one realistic bug each) is run through
ddk_conform on the cases of the op it claims, and the bug must show up as
its own outcome; the correct template backend passes everything it
claims (test_runner.py)."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from conform_support import broken_plugin, REPO, build_dirs, runner, write_cases  # noqa: F401 (fixture)

# backend -> (ops whose cases exercise it, the outcome its bug must produce)
EXPECTED = {
    "conv_padding": (["aten::convolution"], "fail"),
    "max_nan": (["aten::maximum"], "fail"),
    "round_half": (["aten::round"], "fail"),
    "broadcast": (["aten::add.Tensor", "aten::mul.Tensor"], "fail"),
    "alpha": (["aten::add.Tensor"], "fail"),
    "write_past": (["aten::relu"], "out-of-bounds-write"),
    "modify_input": (["aten::relu"], "input-modified"),
    "zero_size": (["aten::relu"], "crash"),
    "hang": (["aten::relu"], "hang"),
    "leak": (["aten::relu"], "leak"),
    "init_fails": (["aten::sigmoid"], "claimed-but-broken"),
    "int64_as_int32": (["aten::argmax"], "fail"),
    "tail": (["aten::sigmoid"], "fail"),
}


plugin = broken_plugin


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bug_is_caught_with_its_outcome(runner, tmp_path, name):  # noqa: F811
    ops, outcome = EXPECTED[name]
    cases = write_cases(tmp_path / "cases.bin", ops)
    r = subprocess.run([str(runner), "--cases", str(cases), "--backend", plugin(name),
                        "--timeout-ms", "1500"], capture_output=True, text=True, timeout=600)
    rows = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
    seen = {}
    for row in rows:
        seen.setdefault(row["outcome"], []).append(row)
    assert r.returncode == 1, "a broken backend must not certify clean: " + r.stderr
    assert outcome in seen, f"{name}: expected {outcome}, got {sorted(seen)}"
    # the bug shows up as itself, not as some other failure
    assert set(seen) <= {outcome, "pass", "unsupported"}, \
        {k: v[0]["detail"] for k, v in seen.items() if k not in (outcome, "pass", "unsupported")}
    first = seen[outcome][0]
    if outcome == "fail":
        assert first["worst_index"] >= 0 and "expected" in first["detail"]
    if outcome == "claimed-but-broken":
        assert first["stage"] == "init" and "unsupported activation" in first["detail"]
    if outcome == "out-of-bounds-write":
        assert "wrote outside output" in first["detail"]
    if outcome == "leak":
        assert first["stage"] == "destroy"
