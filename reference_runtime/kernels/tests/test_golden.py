"""Portable kernels against PyTorch: generates a golden file with
gen_golden.py into a temporary directory and runs the compiled C driver
golden_test on it (it must exit 0).

The driver is looked up in $DDK_BUILD_DIR, else <repo>/build-asan, else
<repo>/build (where CMake puts the ctest executables). The test is skipped
when PyTorch is missing or the driver has not been built.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]


def _driver() -> Path | None:
    dirs = [os.environ["DDK_BUILD_DIR"]] if os.environ.get("DDK_BUILD_DIR") else [
        REPO / "build-asan", REPO / "build"]
    for d in dirs:
        for candidate in (Path(d) / "golden_test", Path(d) / "bin" / "golden_test"):
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return candidate
    return None


@pytest.mark.parametrize("seed", [0, 1])
def test_kernels_match_torch(tmp_path: Path, seed: int) -> None:
    pytest.importorskip("torch")
    exe = _driver()
    if exe is None:
        pytest.skip("golden_test is not built (set DDK_BUILD_DIR or build build-asan/ or build/)")
    golden = tmp_path / f"golden_{seed}.bin"
    gen = subprocess.run([sys.executable, str(HERE / "gen_golden.py"), "--out", str(golden),
                          "--seed", str(seed)], capture_output=True, text=True, timeout=300)
    assert gen.returncode == 0, gen.stdout + gen.stderr
    env = dict(os.environ, DDK_GOLDEN_FILE=str(golden))
    run = subprocess.run([str(exe)], capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, f"{exe} failed:\n{run.stdout[-20000:]}\n{run.stderr[-5000:]}"
    assert " 0 failed" in run.stdout.strip().splitlines()[-1]
