"""pytest plugin (loaded by the top-level pytest.ini, so that it also runs
in the xdist controller): collects golden-tier outcomes into
build/reports/golden.json.

{"op_table_hash": "0x...", "seed": N, "results": {"aten::abs": {"float32":
"passed", ...}}}, and golden.tsv beside it: merged with the file's previous content, so a run of a
subset updates only what it ran. `ddk ops [--json]` reads golden.tsv;
`python3 ir_ops/gen_ops.py --golden build/reports/golden.tsv` snapshots it
into ir_ops/golden_status.tsv for docs/ops.md. The path can be changed
with $DDK_GOLDEN_RESULTS.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
_OUTCOMES: dict = {}


def pytest_configure(config):
    config.addinivalue_line("markers", "golden: the golden tier (kernels vs PyTorch)")


def results_path() -> Path:
    return Path(os.environ.get("DDK_GOLDEN_RESULTS", REPO / "build" / "reports" / "golden.json"))


def pytest_runtest_logreport(report):
    if "test_golden.py::test_golden[" not in report.nodeid:
        return
    key = report.nodeid.split("[", 1)[1].rstrip("]")
    op, _, dtype = key.rpartition("|")
    if report.when == "call" or report.outcome != "passed":
        prev = _OUTCOMES.get((op, dtype))
        if prev in ("failed",):
            return
        _OUTCOMES[(op, dtype)] = report.outcome


def pytest_sessionfinish(session, exitstatus):
    if hasattr(session.config, "workerinput") or not _OUTCOMES:
        return  # an xdist worker: the controller writes
    import sys
    sys.path.insert(0, str(REPO / "python"))
    from ddk.ops_meta import OP_TABLE_HASH

    path = results_path()
    data = {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        pass
    if data.get("op_table_hash") != "0x%016x" % OP_TABLE_HASH:
        data = {}
    data["op_table_hash"] = "0x%016x" % OP_TABLE_HASH
    data["seed"] = int(os.environ.get("DDK_GOLDEN_SEED", "0"))
    res = data.setdefault("results", {})
    for (op, dtype), outcome in sorted(_OUTCOMES.items()):
        res.setdefault(op, {})[dtype] = outcome
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    # the same as op TAB dtype TAB outcome lines, for `ddk ops`
    lines = [f"{op}\t{dt}\t{o}" for op, d in sorted(res.items()) for dt, o in sorted(d.items())]
    path.with_suffix(".tsv").write_text("\n".join(lines) + "\n")
