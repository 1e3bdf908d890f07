"""The golden tier: every portable kernel against PyTorch.

One test per (op, dtype) the op table lists for an op with a kernel, plus
one per op for its dtype-independent cases ("none": mixed dtypes and calls
ATen refuses). Each test builds that item's cases with PyTorch
(golden/cases_*.py), writes a golden file, and runs the C driver
golden_test on it: every case is run twice, once by calling the kernel
directly with exactly-sized, guarded outputs, and once as a one-op program
through the runtime (serialise, load, verify, plan, execute). Tolerances
come from the op table (see docs/tolerances.md).

The driver is looked up in $DDK_ASAN_BUILD_DIR, then $DDK_BUILD_DIR, else <repo>/build-asan, else
<repo>/build. Results are collected into build/reports/golden.json (see
conftest.py), which `ddk ops --json` reports.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "python"))

from ddk.ops_meta import OPS  # noqa: E402

SEED = int(os.environ.get("DDK_GOLDEN_SEED", "0"))
ITEMS = [(op["name"], dt) for op in OPS if op["kernel"] for dt in list(op["dtypes"]) + ["none"]]


def _driver() -> Path | None:
    dirs = [os.environ[k] for k in ("DDK_ASAN_BUILD_DIR", "DDK_BUILD_DIR") if os.environ.get(k)]
    dirs = dirs or [REPO / "build-asan", REPO / "build"]
    for d in dirs:
        for candidate in (Path(d) / "golden_test", Path(d) / "bin" / "golden_test"):
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return candidate
    return None


@pytest.mark.golden
@pytest.mark.parametrize("op,dtype", ITEMS, ids=[f"{o}|{d}" for o, d in ITEMS])
def test_golden(tmp_path: Path, op: str, dtype: str) -> None:
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    exe = _driver()
    if exe is None:
        pytest.skip("golden_test is not built (set DDK_BUILD_DIR or build build-asan/ or build/)")
    import gen_golden
    from golden import load_all
    from golden.core import Gen

    assert op in load_all(), f"{op} has a kernel but no golden cases (add them to golden/cases_*.py)"
    g = Gen(gen_golden.item_seed(SEED, op, dtype))
    gen_golden.fill(g, op, dtype)
    if dtype != "none":
        assert g.cases, f"no golden cases for {op} with {dtype}"
    if not g.cases:
        return
    golden = tmp_path / "golden.bin"
    g.write(golden)
    env = dict(os.environ, DDK_GOLDEN_FILE=str(golden))
    run = subprocess.run([str(exe)], capture_output=True, text=True, env=env, timeout=300)
    tail = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else ""
    assert run.returncode == 0 and " 0 failed" in tail, (
        f"{exe} failed (reproduce: python3 {HERE / 'gen_golden.py'} --out /tmp/g.bin "
        f"--op '{op}' --dtype {dtype} --seed {SEED}; DDK_GOLDEN_FILE=/tmp/g.bin {exe}):\n"
        f"{run.stdout[-20000:]}\n{run.stderr[-5000:]}")
