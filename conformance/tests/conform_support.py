"""Helpers and fixtures of the conformance suite's own tests, imported by
each test module (no conftest.py here: python/tests imports names from
its own conftest module, which a second conftest.py would shadow)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "reference_runtime" / "kernels" / "tests"))
sys.path.insert(0, str(REPO / "python"))


def build_dirs():
    dirs = [os.environ[k] for k in ("DDK_ASAN_BUILD_DIR", "DDK_BUILD_DIR") if os.environ.get(k)]
    return [Path(d) for d in dirs] or [REPO / "build-asan", REPO / "build"]


def find_built(rel: str) -> Path | None:
    for d in build_dirs():
        p = d / rel
        if p.exists():
            return p
    return None


def broken_plugin(name: str) -> str:
    """The deliberately broken backend `name` (conformance/broken_backends/);
    DDK_BROKEN_BACKENDS_DIR overrides where to look."""
    dirs = [os.environ["DDK_BROKEN_BACKENDS_DIR"]] if os.environ.get("DDK_BROKEN_BACKENDS_DIR") \
        else [str(d / "broken_backends") for d in build_dirs()]
    for d in dirs:
        p = os.path.join(d, f"libddk_backend_broken_{name}.so")
        if os.path.exists(p):
            return p
    pytest.fail(f"broken backend {name} is not built (looked in {dirs})")


def write_cases(path: Path, ops, dtypes=("float32",), seed=0) -> Path:
    """A case file with the golden cases of `ops` for `dtypes`."""
    pytest.importorskip("torch")
    import gen_golden
    from golden.core import Gen

    g = Gen(seed)
    for op in ops:
        for dt in dtypes:
            g.g.manual_seed(gen_golden.item_seed(seed, op, dt))
            gen_golden.fill(g, op, dt)
    g.write(path)
    return path


@pytest.fixture(scope="session")
def runner() -> Path:
    p = find_built("conformance/runner/ddk_conform")
    if p is None:
        pytest.fail("ddk_conform is not built (cmake --build build-asan)")
    return p


@pytest.fixture(scope="session")
def template_plugin() -> Path:
    p = find_built("sample_delegates/libddk_backend_template.so")
    if p is None:
        pytest.fail("the template plugin is not built")
    return p
