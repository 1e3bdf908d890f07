"""The `ddk` CLI answers bad input with exit 2 (bad input) or 1 (runtime
failure) and a message on stderr: never a signal, never a hang, and — under
the sanitized build — never a sanitizer report.

Inputs: truncated and corrupted program files (header, section table,
records, constant data, delegate blobs), .npy inputs of the wrong dtype,
shape, count or format, unknown backends and shared libraries that are
not backend plugins.
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from conftest import (
    ASAN_CLI,
    ASAN_TEMPLATE_PLUGIN,
    DDK_CLI,
    LIBDDK,
    TEMPLATE_PLUGIN,
    build_model,
    run_cli,
    write_inputs,
)

# Layout facts from docs/program_format.md (reference_runtime/program/
# program_format.h): a 64-byte header, a table of 24-byte section entries.
HEADER_SIZE = 64
H_NUM_SECTIONS = 24
H_TABLE_OFFSET = 32
SECTION_ENTRY_SIZE = 24
SECTION_NAMES = {1: "STRINGS", 2: "VALUES", 3: "NODES", 4: "ARGS", 5: "INT_POOL",
                 6: "INDEX_POOL", 7: "FLOAT_POOL", 8: "IO", 9: "DELEGATES",
                 10: "PLAN", 11: "QUANT", 12: "BOOL_POOL", 64: "CONSTANTS",
                 65: "BLOBS"}
RECORD_SIZES = {"VALUES": 128, "NODES": 32, "ARGS": 16, "IO": 16,
                "DELEGATES": 64, "PLAN": 8, "QUANT": 40}

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                     "runtime error:", "SUMMARY: UndefinedBehaviorSanitizer",
                     "ERROR: UndefinedBehaviorSanitizer")

LIBM = Path("/lib/x86_64-linux-gnu/libm.so.6")


@dataclass(frozen=True)
class Binary:
    """One `ddk` binary under test and the template plugin built with it."""

    name: str
    cli: Path
    template: Path
    sanitized: bool

    @property
    def env(self) -> dict:
        if not self.sanitized:
            return {}
        return {"ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:exitcode=99",
                "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1:exitcode=98"}


def _binaries() -> list:
    params = [pytest.param(Binary("release", DDK_CLI, TEMPLATE_PLUGIN, False),
                           id="release")]
    asan_template = ASAN_TEMPLATE_PLUGIN if ASAN_TEMPLATE_PLUGIN.exists() \
        else TEMPLATE_PLUGIN
    params.append(pytest.param(
        Binary("asan", ASAN_CLI, asan_template, True), id="asan",
        marks=pytest.mark.skipif(not ASAN_CLI.exists(),
                                 reason=f"no sanitized build at {ASAN_CLI}")))
    return params


@pytest.fixture(params=_binaries())
def binary(request) -> Binary:
    b = request.param
    if not b.cli.exists():
        pytest.skip(f"the ddk CLI is not built: {b.cli} is missing")
    return b


def check_outcome(proc, what: str, binary: Binary,
                  allowed=(1, 2), allow_success: bool = False) -> str | None:
    """A problem description, or None when `proc` ended acceptably."""
    rc = proc.returncode
    err = proc.stderr or ""
    if rc < 0:
        return f"{what}: killed by signal {-rc}\nstderr: {err[-2000:]}"
    if binary.sanitized:
        for marker in SANITIZER_MARKERS:
            if marker in err:
                return f"{what}: sanitizer report (rc {rc})\n{err[-4000:]}"
    if rc == 0 and allow_success:
        return None
    if rc not in allowed:
        return (f"{what}: exit {rc}, expected one of {allowed}"
                f"{' or 0' if allow_success else ''}\nstderr: {err[-2000:]}")
    if not err.strip():
        return f"{what}: exit {rc} with nothing on stderr"
    return None


# --------------------------------------------------------------------------
# Programs to corrupt
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mlp(tmp_path_factory):
    """(program path, input paths) of the MLP model."""
    pytest.importorskip("torch")
    program, _module, inputs = build_model("mlp")
    d = tmp_path_factory.mktemp("mlp")
    path = d / "mlp.ddk"
    path.write_bytes(program)
    return path, write_inputs(d / "inputs", inputs)


@pytest.fixture(scope="module")
def lowered_mlp(mlp, tmp_path_factory):
    """Path of the MLP lowered for the template backend by `ddk lower`."""
    if not DDK_CLI.exists() or not TEMPLATE_PLUGIN.exists():
        pytest.skip("needs the ddk CLI and the template plugin")
    out = tmp_path_factory.mktemp("lowered") / "mlp_template.ddk"
    proc = run_cli(DDK_CLI, "lower", mlp[0], "--backend", TEMPLATE_PLUGIN, "-o", out)
    assert proc.returncode == 0, proc.stderr
    return out


def sections(data: bytes) -> list[tuple[str, int, int]]:
    """(name, offset, size) of each section of a valid program."""
    (count,) = struct.unpack_from("<I", data, H_NUM_SECTIONS)
    (table,) = struct.unpack_from("<Q", data, H_TABLE_OFFSET)
    out = []
    for i in range(count):
        sid, _flags, off, size = struct.unpack_from(
            "<IIQQ", data, table + i * SECTION_ENTRY_SIZE)
        out.append((SECTION_NAMES.get(sid, f"id{sid}"), off, size))
    return out


def corruptions(data: bytes, seed: int = 0):
    """Yields (description, corrupted bytes) for a valid program `data`."""
    rng = random.Random(seed)

    def flip(offset: int, value: int | None = None, width: int = 1):
        b = bytearray(data)
        for k in range(width):
            if offset + k < len(b):
                b[offset + k] = (b[offset + k] ^ 0xFF) if value is None else value
        return bytes(b)

    # Header: every byte flipped, and size-like fields set to extremes.
    for off in range(HEADER_SIZE):
        yield f"header byte {off} flipped", flip(off)
    for off in (8, 12, 16, 24, 32):
        for v in (0x00, 0xFF, 0x7F):
            yield f"header field @{off} filled with {v:#x}", flip(off, v, 8)

    secs = sections(data)
    (table,) = struct.unpack_from("<Q", data, H_TABLE_OFFSET)
    # Section table: every byte flipped; offsets/sizes set to extremes.
    for i, (name, _off, _size) in enumerate(secs):
        base = table + i * SECTION_ENTRY_SIZE
        for k in range(SECTION_ENTRY_SIZE):
            yield f"section {i} ({name}) entry byte {k} flipped", flip(base + k)
        for field, width in ((0, 4), (8, 8), (16, 8)):
            for v in (0x00, 0xFF, 0x7F):
                yield (f"section {i} ({name}) entry field @{field} = {v:#x}",
                       flip(base + field, v, width))
    # Records: for each record section, each byte of the first and last
    # record, and random bytes elsewhere, flipped or set to 0xFF / 0x80.
    for name, off, size in secs:
        rs = RECORD_SIZES.get(name)
        if rs is None or size < rs:
            continue
        n = size // rs
        for r in sorted({0, n - 1}):
            for k in range(rs):
                yield f"{name} record {r} byte {k} flipped", flip(off + r * rs + k)
        for _ in range(min(24, 4 * n)):
            p = off + rng.randrange(size)
            v = rng.choice((None, 0xFF, 0x80, 0x00))
            yield f"{name} byte {p - off} set to {v}", flip(p, v, rng.choice((1, 4)))
    # Pools and data: random bytes (most stay valid: success is allowed).
    for name, off, size in secs:
        if name in RECORD_SIZES or size == 0:
            continue
        for _ in range(8):
            p = off + rng.randrange(size)
            yield f"{name} byte {p - off} flipped", flip(p)


# --------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------


def test_valid_program_runs(binary, mlp, tmp_path):
    """Sanity: the uncorrupted program runs (so failures below are real)."""
    path, inputs = mlp
    args = ["run", path, "--output-dir", tmp_path]
    for p in inputs:
        args += ["--input", p]
    proc = run_cli(binary.cli, *args, env=binary.env)
    assert proc.returncode == 0, proc.stderr
    assert check_outcome(proc, "valid", binary, allow_success=True) is None


def test_truncated_programs(binary, mlp, tmp_path):
    path, inputs = mlp
    data = path.read_bytes()
    n = len(data)
    lengths = sorted({0, 1, 7, 8, 12, 16, 24, 31, 32, 40, 63, 64, 65, 100,
                      n // 8, n // 4, n // 3, n // 2, 2 * n // 3, 3 * n // 4,
                      n - 64, n - 8, n - 1} & set(range(n)))
    for s, off, size in sections(data):
        lengths += [off, off + 1, off + size - 1] if size else [off]
    lengths = sorted({x for x in lengths if 0 <= x < n})
    problems = []
    for length in lengths:
        p = tmp_path / f"trunc_{length}.ddk"
        p.write_bytes(data[:length])
        args = ["run", p, "--output-dir", tmp_path / "out"]
        for i in inputs:
            args += ["--input", i]
        proc = run_cli(binary.cli, *args, env=binary.env)
        problem = check_outcome(proc, f"truncated to {length} of {n} bytes", binary)
        if problem:
            problems.append(problem)
        p.unlink()
    assert not problems, "\n\n".join(problems)


def _corruption_run(binary, program_path: Path, inputs, tmp_path: Path,
                    backend: Path | None, must_reject) -> None:
    data = program_path.read_bytes()
    problems = []
    rejected = 0
    total = 0
    p = tmp_path / "corrupt.ddk"
    for what, bad in corruptions(data):
        if bad == data:
            continue
        total += 1
        p.write_bytes(bad)
        args = ["run", p, "--output-dir", tmp_path / "out"]
        for i in inputs:
            args += ["--input", i]
        if backend is not None:
            args += ["--backend", backend]
        proc = run_cli(binary.cli, *args, env=binary.env)
        strict = must_reject(what)
        problem = check_outcome(proc, what, binary, allow_success=not strict)
        if problem:
            problems.append(problem)
        if proc.returncode != 0:
            rejected += 1
    assert not problems, (f"{len(problems)} of {total} corruptions misbehaved:\n\n"
                          + "\n\n".join(problems[:30]))
    # Most corruptions of structure must be caught by the verifier.
    assert rejected > total // 4, f"only {rejected} of {total} corruptions rejected"


def _strict(what: str) -> bool:
    # The magic and the format major version must always be refused.
    return any(what.startswith(f"header byte {k} ") for k in range(10))


def test_corrupted_programs(binary, mlp, tmp_path):
    path, inputs = mlp
    _corruption_run(binary, path, inputs, tmp_path, None, _strict)


def test_corrupted_lowered_programs(binary, mlp, lowered_mlp, tmp_path):
    """Corrupt a program with delegates: the DELEGATES records and the blobs
    reach the template backend's init, which must refuse them cleanly."""
    if not binary.template.exists():
        pytest.skip(f"{binary.template} missing")
    _corruption_run(binary, lowered_mlp, mlp[1], tmp_path, binary.template, _strict)


def test_garbage_and_empty_files(binary, mlp, tmp_path):
    _path, inputs = mlp
    rng = np.random.default_rng(0)
    cases = {
        "empty": b"",
        "text": b"this is not a program\n",
        "magic only": b"DDKPROG\x00",
        "random 64": rng.bytes(64),
        "random 4096": rng.bytes(4096),
        "magic + random": b"DDKPROG\x00" + rng.bytes(4096),
        "npy file": inputs[0].read_bytes(),
    }
    problems = []
    for what, data in cases.items():
        p = tmp_path / "garbage.ddk"
        p.write_bytes(data)
        for cmd in (["run", p], ["inspect", p]):
            proc = run_cli(binary.cli, *cmd, env=binary.env)
            problem = check_outcome(proc, f"{what} ({cmd[0]})", binary, allowed=(2,))
            if problem:
                problems.append(problem)
    proc = run_cli(binary.cli, "run", tmp_path / "does_not_exist.ddk", env=binary.env)
    problem = check_outcome(proc, "nonexistent program", binary)
    if problem:
        problems.append(problem)
    proc = run_cli(binary.cli, "run", tmp_path, env=binary.env)
    problem = check_outcome(proc, "a directory as program", binary)
    if problem:
        problems.append(problem)
    assert not problems, "\n\n".join(problems)


def _run_with_inputs(binary, program: Path, inputs, tmp_path, *extra):
    args = ["run", program, "--output-dir", tmp_path / "out"]
    for i in inputs:
        args += ["--input", i]
    return run_cli(binary.cli, *args, *extra, env=binary.env)


def test_bad_npy_inputs(binary, mlp, tmp_path):
    path, inputs = mlp
    good = np.load(inputs[0])
    d = tmp_path
    cases = {}

    def save(name, arr):
        p = d / f"{name}.npy"
        np.save(p, arr)
        cases[name] = [p]

    save("float64", good.astype(np.float64))
    save("int32", good.astype(np.int32))
    save("float16", good.astype(np.float16))
    save("bool", good > 0)
    save("wrong_shape", np.zeros((good.shape[0] + 1, good.shape[1]), np.float32))
    save("transposed_shape", np.ascontiguousarray(good.T))
    save("wrong_rank", good.reshape(-1))
    save("scalar", np.float32(1.0))
    save("empty", np.zeros((0, good.shape[1]), np.float32))
    save("big_endian", good.astype(">f4"))
    fortran = d / "fortran.npy"
    np.save(fortran, np.asfortranarray(np.zeros((good.shape[0], good.shape[1] + 1),
                                                np.float32)))
    cases["fortran_wrong_shape"] = [fortran]
    cases["too_many_inputs"] = [inputs[0], inputs[0]]
    not_npy = d / "not.npy"
    not_npy.write_bytes(b"definitely not numpy")
    cases["not_npy"] = [not_npy]
    trunc = d / "trunc.npy"
    trunc.write_bytes(inputs[0].read_bytes()[:-7])
    cases["truncated_npy"] = [trunc]
    bad_hdr = bytearray(inputs[0].read_bytes())
    hdr_end = bad_hdr.index(b"\n")
    bad_hdr[10:hdr_end] = b"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999), }".ljust(hdr_end - 10)[: hdr_end - 10]
    huge = d / "huge_shape.npy"
    huge.write_bytes(bytes(bad_hdr))
    cases["huge_shape_header"] = [huge]
    obj = d / "object.npy"
    np.save(obj, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    cases["object_dtype"] = [obj]
    cases["missing_file"] = [d / "missing.npy"]

    problems = []
    for what, paths in cases.items():
        proc = _run_with_inputs(binary, path, paths, tmp_path)
        problem = check_outcome(proc, f"input {what}", binary, allowed=(2,))
        if problem:
            problems.append(problem)
    assert not problems, "\n\n".join(problems)


def test_bad_backends(binary, mlp, tmp_path):
    path, inputs = mlp
    cases = {
        "nonexistent name": "no_such_backend",
        "nonexistent path": str(tmp_path / "libnope.so"),
        "libddk.so itself": str(LIBDDK),
        "libm": str(LIBM),
        "a text file named .so": None,
        "a directory": str(tmp_path),
        "empty name": "",
    }
    fake = tmp_path / "libfake.so"
    fake.write_text("not an ELF file\n")
    cases["a text file named .so"] = str(fake)
    problems = []
    for what, backend in cases.items():
        if backend is None or (what.startswith("lib") and not Path(backend).exists()):
            continue
        proc = _run_with_inputs(binary, path, inputs, tmp_path, "--backend", backend)
        problem = check_outcome(proc, f"backend {what} ({backend})", binary)
        if problem:
            problems.append(problem)
        for cmd in (["backends", "--backend", backend],
                    ["lower", path, "--backend", backend, "-o", tmp_path / "l.ddk"]):
            proc = run_cli(binary.cli, *cmd, env=binary.env)
            problem = check_outcome(proc, f"{cmd[0]} with backend {what}", binary)
            if problem:
                problems.append(problem)
    assert not problems, "\n\n".join(problems)


def test_same_backend_twice(binary, mlp, tmp_path):
    """Registering one plugin twice is refused (or tolerated), never a crash."""
    if not binary.template.exists():
        pytest.skip(f"{binary.template} missing")
    path, inputs = mlp
    proc = _run_with_inputs(binary, path, inputs, tmp_path,
                            "--backend", binary.template, "--backend", binary.template)
    problem = check_outcome(proc, "template twice", binary, allow_success=True)
    assert problem is None, problem


def test_bad_usage(binary, tmp_path):
    problems = []
    for args in ([], ["frobnicate"], ["run"], ["run", "--seed"], ["run", "x", "--seed", "-3"],
                 ["run", "x", "--bogus"], ["lower", "x"], ["inspect"],
                 ["run", "x", "y"]):
        proc = run_cli(binary.cli, *args, env=binary.env)
        problem = check_outcome(proc, f"usage {args}", binary, allowed=(2,))
        if problem:
            problems.append(problem)
    assert not problems, "\n\n".join(problems)


def test_unwritable_output_dir(binary, mlp, tmp_path):
    path, inputs = mlp
    blocker = tmp_path / "file_not_dir"
    blocker.write_text("x")
    args = ["run", path, "--output-dir", blocker / "sub"]
    for i in inputs:
        args += ["--input", i]
    proc = run_cli(binary.cli, *args, env=binary.env)
    problem = check_outcome(proc, "output dir under a file", binary)
    assert problem is None, problem


def test_backends_listing_does_not_load_a_given_plugin_twice(binary):
    """`ddk backends --backend P` with P also on the search path lists P once
    and reports no failure (it used to say 'not loadable: already
    registered')."""
    if not binary.template.exists():
        pytest.skip(f"{binary.template} missing")
    env = dict(binary.env, DDK_BACKEND_PATH=str(binary.template.parent))
    proc = run_cli(binary.cli, "backends", "--backend", binary.template, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "not loadable" not in proc.stdout + proc.stderr
    assert proc.stdout.count("template ") == 1, proc.stdout
