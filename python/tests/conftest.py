"""Shared fixtures of the ddk Python tests.

Build directories:
  DDK_BUILD_DIR       release build (default <repo>/build): libddk.so, ddk,
                      sample_delegates/libddk_backend_template.so
  DDK_ASAN_BUILD_DIR  sanitized build (default <repo>/build-asan): its ddk
                      binary, when present, also runs the bad-input cases.

Tests that need a built artefact skip with a reason naming the missing path.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
PYTHON_DIR = REPO / "python"
if str(PYTHON_DIR) not in sys.path:
    sys.path.insert(0, str(PYTHON_DIR))

BUILD_DIR = Path(os.environ.get("DDK_BUILD_DIR") or REPO / "build")
ASAN_BUILD_DIR = Path(os.environ.get("DDK_ASAN_BUILD_DIR") or REPO / "build-asan")
LIBDDK = BUILD_DIR / "libddk.so"
DDK_CLI = BUILD_DIR / "ddk"
TEMPLATE_PLUGIN = BUILD_DIR / "sample_delegates" / "libddk_backend_template.so"
ASAN_CLI = ASAN_BUILD_DIR / "ddk"
ASAN_TEMPLATE_PLUGIN = ASAN_BUILD_DIR / "sample_delegates" / "libddk_backend_template.so"

# The binding finds the library through DDK_LIBRARY; point it at the build
# under test unless the caller chose one.
os.environ.setdefault("DDK_LIBRARY", str(LIBDDK))

# Every subprocess gets this limit: a hang is a failure, not a stuck run.
CLI_TIMEOUT_S = 30

# float32 comparison with torch eager.
RTOL = 1e-4
ATOL = 1e-5

MODEL_NAMES = ("mlp", "cnn", "attention")


def _require(path: Path, what: str) -> Path:
    if not path.exists():
        pytest.skip(f"{what} not built: {path} is missing "
                    f"(cmake -S {REPO} -B {BUILD_DIR} && cmake --build {BUILD_DIR})")
    return path


@pytest.fixture(scope="session")
def libddk() -> Path:
    """Path of libddk.so (skips when absent; fails when present but it
    cannot be loaded — a broken build is a failure, not a skip)."""
    path = _require(Path(os.environ["DDK_LIBRARY"]), "libddk.so")
    from ddk import runtime

    try:
        runtime.load_library()
    except runtime.DDKError as e:
        pytest.fail(f"libddk.so is present but unusable: {e}", pytrace=False)
    return path


@pytest.fixture(scope="session")
def ddk_cli() -> Path:
    """Path of the release `ddk` binary (skips when absent)."""
    return _require(DDK_CLI, "the ddk CLI")


@pytest.fixture(scope="session")
def template_plugin() -> Path:
    """Path of the template backend plugin (skips when absent)."""
    return _require(TEMPLATE_PLUGIN, "the template backend plugin")


@pytest.fixture(scope="session")
def asan_cli() -> Path | None:
    """Path of the sanitized `ddk` binary, or None when not built."""
    return ASAN_CLI if ASAN_CLI.exists() else None


_MODEL_CACHE: dict[tuple[str, int], tuple] = {}


def build_model(name: str, seed: int = 0):
    """(program_bytes, torch_module, example_inputs) of model `name`, cached."""
    key = (name, seed)
    if key not in _MODEL_CACHE:
        from ddk import models

        builder = {"mlp": models.build_mlp, "cnn": models.build_cnn,
                   "attention": models.build_attention}[name]
        _MODEL_CACHE[key] = builder(seed)
    return _MODEL_CACHE[key]


def torch_reference(module, inputs) -> list[np.ndarray]:
    """Eager outputs of `module` on numpy `inputs`, as float32 numpy arrays."""
    import torch

    with torch.no_grad():
        out = module(*[torch.from_numpy(np.ascontiguousarray(x)) for x in inputs])
    if isinstance(out, (tuple, list)):
        return [o.detach().numpy() for o in out]
    return [out.detach().numpy()]


@pytest.fixture(params=MODEL_NAMES)
def model(request):
    """(name, program_bytes, torch_module, example_inputs) for each model."""
    pytest.importorskip("torch")
    program, module, inputs = build_model(request.param)
    return request.param, program, module, inputs


def run_cli(binary: Path, *args, env: dict | None = None,
            timeout: float = CLI_TIMEOUT_S) -> subprocess.CompletedProcess:
    """Runs `binary args...`, capturing text output, with a hang timeout."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    try:
        return subprocess.run([str(binary), *map(str, args)], capture_output=True,
                              text=True, errors="replace", timeout=timeout,
                              env=full_env, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"hang: `{binary} {' '.join(map(str, args))}` ran past "
                    f"{timeout}s\nstderr: {e.stderr!r}")


def write_inputs(directory: Path, inputs) -> list[Path]:
    """Saves each input as input_<i>.npy under `directory`; returns paths."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, x in enumerate(inputs):
        p = directory / f"input_{i}.npy"
        np.save(p, np.ascontiguousarray(x))
        paths.append(p)
    return paths


def read_outputs(directory: Path, count: int) -> list[np.ndarray]:
    """Loads output_<i>.npy for i < count from `directory`."""
    outs = []
    for i in range(count):
        p = directory / f"output_{i}.npy"
        assert p.exists(), f"{p} was not written (files: {sorted(os.listdir(directory))})"
        outs.append(np.load(p))
    return outs
