"""The conformance suite's own fixtures misbehave exactly as documented.

conformance/broken_backends/ holds 12 backends with one realistic bug each
(see its README). The suite's tests assert that each bug is caught with the
right outcome; these tests check, independently of the suite, that each
plugin really has its bug: for every plugin a one-op program that triggers
it is lowered to the plugin (the node must be claimed) and the misbehaviour
is observed directly:

  wrong numbers        outputs differ from the portable run of the same
                       program, and a control case (the bug not triggered)
                       matches it
  out-of-bounds write  execute fails with OUT_OF_BOUNDS_WRITE under the
                       runtime's "guard_bytes" debug option
  input modified       execute fails with INPUT_MODIFIED under "check_inputs"
  crash / hang         seen in a child Python process (never this one): it is
                       killed by a signal / runs past a timeout
  leak                 a counting allocator handed to the runtime is not
                       balanced after the method is destroyed
  init failure         method creation fails with BACKEND_FAILURE

and the correct template backend gives the portable results on the same
programs wherever it claims them, and passes the same debug checks.

Locations (tests skip with the path when something is not built):
  DDK_BROKEN_BACKENDS_DIR  the plugins (default <repo>/build/broken_backends)
  DDK_BUILD_DIR            release build (default <repo>/build): libddk.so and
                           sample_delegates/libddk_backend_template.so
  DDK_LIBRARY              libddk.so itself (default $DDK_BUILD_DIR/libddk.so)
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
PYTHON_DIR = REPO / "python"
if str(PYTHON_DIR) not in sys.path:
    sys.path.insert(0, str(PYTHON_DIR))

BUILD_DIR = Path(os.environ.get("DDK_BUILD_DIR") or REPO / "build")
os.environ.setdefault("DDK_LIBRARY", str(BUILD_DIR / "libddk.so"))
BROKEN_DIR = Path(os.environ.get("DDK_BROKEN_BACKENDS_DIR") or BUILD_DIR / "broken_backends")
TEMPLATE_PLUGIN = BUILD_DIR / "sample_delegates" / "libddk_backend_template.so"

import ddk  # noqa: E402
from ddk.program import Program, TensorSpec  # noqa: E402

BROKEN = (
    "conv_padding", "max_nan", "round_half", "broadcast", "alpha", "write_past",
    "modify_input", "zero_size", "hang", "leak", "init_fails", "int64_as_int32", "tail",
)

# A crash or hang is watched in a child process with this limit.
CHILD_TIMEOUT_S = 20
HANG_TIMEOUT_S = 5


# ---------------------------------------------------------------------------
# Fixtures and helpers
# ---------------------------------------------------------------------------


def _require(path: Path, what: str) -> Path:
    if not path.exists():
        pytest.skip(f"{what} not built: {path} is missing (build the DDK with "
                    "conformance/ included, or set DDK_BROKEN_BACKENDS_DIR / "
                    "DDK_BUILD_DIR / DDK_LIBRARY)")
    return path


@pytest.fixture(scope="session")
def libddk() -> Path:
    path = _require(Path(os.environ["DDK_LIBRARY"]), "libddk.so")
    from ddk import runtime

    runtime.load_library()
    return path


def plugin(bug: str) -> Path:
    """Path of broken_<bug>'s plugin (skips when absent)."""
    return _require(BROKEN_DIR / f"libddk_backend_broken_{bug}.so", f"broken_{bug}")


def portable(program: bytes, inputs) -> list[np.ndarray]:
    return ddk.run(program, inputs)


def run_lowered(plugin_path: Path, program: bytes, inputs, options=None,
                rt: "ddk.Runtime | None" = None) -> list[np.ndarray]:
    """Lowers `program` to the plugin, asserts a delegate was made (the node
    was claimed), runs it once with method `options`; returns the outputs."""
    own = rt is None
    rt = rt or ddk.Runtime()
    try:
        name = rt.add_backend(plugin_path)
        lowered = rt.lower(program, [name])
        try:
            assert lowered.num_delegates >= 1, f"{name} did not claim the node"
            with rt.method(lowered, options) as m:
                m.set_inputs(inputs)
                m.execute()
                return m.outputs()
        finally:
            lowered.close()
    finally:
        if own:
            rt.close()


def same(a: np.ndarray, b: np.ndarray, tol: float) -> bool:
    """Equal shapes and dtypes, and values equal (NaN == NaN) within tol."""
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype.kind == "f":
        return bool(np.allclose(a, b, rtol=tol, atol=tol, equal_nan=True))
    return bool(np.array_equal(a, b))


# ---------------------------------------------------------------------------
# One-op programs
# ---------------------------------------------------------------------------


def unary(op: str, shape) -> bytes:
    p = Program()
    x = p.add_input("float32", shape, name="x")
    y = p.add_value(TensorSpec("float32", shape), name="y")
    p.add_node(op, [x], outputs=[y], name=op.split("::")[1])
    p.add_output(y)
    return p.to_bytes()


def binary(op: str, shape_a, shape_b, kwargs=None) -> bytes:
    p = Program()
    a = p.add_input("float32", shape_a, name="a")
    b = p.add_input("float32", shape_b, name="b")
    out = np.broadcast_shapes(tuple(shape_a), tuple(shape_b))
    y = p.add_value(TensorSpec("float32", out), name="y")
    p.add_node(op, [a, b], kwargs, outputs=[y], name="op")
    p.add_output(y)
    return p.to_bytes()


def conv(x_shape, w, bias, stride, padding) -> bytes:
    """2-d convolution, weight and bias as constants (they go into the blob)."""
    n, _, h, wd = x_shape
    oc, _, kh, kw = w.shape
    oh = (h + 2 * padding - kh) // stride + 1
    ow = (wd + 2 * padding - kw) // stride + 1
    p = Program()
    x = p.add_input("float32", x_shape, name="x")
    wc = p.add_constant(w, name="w")
    bc = p.add_constant(bias, name="b")
    y = p.add_value(TensorSpec("float32", [n, oc, oh, ow]), name="y")
    p.add_node("aten::convolution",
               [x, wc, bc, [stride, stride], [padding, padding], [1, 1], False, [0, 0], 1],
               outputs=[y], name="conv")
    p.add_output(y)
    return p.to_bytes()


def argmax(shape, dim: int) -> bytes:
    p = Program()
    x = p.add_input("float32", shape, name="x")
    out = [s for d, s in enumerate(shape) if d != dim]
    y = p.add_value(TensorSpec("int64", out), name="y")
    p.add_node("aten::argmax", [x, dim, False], outputs=[y], name="argmax")
    p.add_output(y)
    return p.to_bytes()


RNG = np.random.default_rng(4)
W = RNG.standard_normal((3, 2, 3, 3)).astype(np.float32)
B = RNG.standard_normal(3).astype(np.float32)
X_IMG = RNG.standard_normal((1, 2, 6, 6)).astype(np.float32)
NAN = np.float32("nan")


@dataclass
class Case:
    bug: str
    name: str
    program: bytes
    inputs: list = field(default_factory=list)
    triggers: bool = True  # False: a control case, the bug is not triggered
    tol: float = 0.0       # 0: bit-exact; conv accumulates in another order


def f32(*v):
    return np.array(v, np.float32)


NUMERIC = [
    Case("conv_padding", "padding1", conv((1, 2, 6, 6), W, B, 1, 1), [X_IMG], tol=1e-5),
    Case("conv_padding", "stride2_padding2", conv((1, 2, 6, 6), W, B, 2, 2), [X_IMG], tol=1e-5),
    Case("conv_padding", "padding0", conv((1, 2, 6, 6), W, B, 1, 0), [X_IMG], False, 1e-5),
    Case("max_nan", "nan", binary("aten::maximum", [4], [4]),
         [f32(1, NAN, 3, NAN), f32(2, 0, NAN, NAN)]),
    Case("max_nan", "no_nan", binary("aten::maximum", [4], [4]),
         [f32(1, -2, 3, 0), f32(2, 0, -1, 0)], False),
    Case("round_half", "ties", unary("aten::round", [6]), [f32(0.5, 1.5, 2.5, -0.5, -2.5, 3.2)]),
    Case("round_half", "no_ties", unary("aten::round", [5]), [f32(0.2, 1.7, -2.6, 3.4, -0.4)],
         False),
    Case("broadcast", "mul_column", binary("aten::mul.Tensor", [3, 4], [3, 1]),
         [RNG.standard_normal((3, 4)).astype(np.float32), f32(1, 2, 3).reshape(3, 1)]),
    Case("broadcast", "add_channels", binary("aten::add.Tensor", [2, 3, 2, 2], [3, 1, 1]),
         [RNG.standard_normal((2, 3, 2, 2)).astype(np.float32), f32(10, 20, 30).reshape(3, 1, 1)]),
    Case("broadcast", "mul_trailing", binary("aten::mul.Tensor", [3, 4], [4]),
         [RNG.standard_normal((3, 4)).astype(np.float32), f32(1, 2, 3, 4)], False),
    Case("broadcast", "add_same_shape", binary("aten::add.Tensor", [3, 4], [3, 4]),
         [RNG.standard_normal((3, 4)).astype(np.float32),
          RNG.standard_normal((3, 4)).astype(np.float32)], False),
    Case("alpha", "alpha2", binary("aten::add.Tensor", [5], [5], {"alpha": 2.0}),
         [f32(1, 2, 3, 4, 5), f32(1, 1, 1, 1, 1)]),
    Case("alpha", "alpha1", binary("aten::add.Tensor", [5], [5]),
         [f32(1, 2, 3, 4, 5), f32(1, 1, 1, 1, 1)], False),
    Case("int64_as_int32", "dim1", argmax([4, 5], 1),
         [np.array([[0, 9, 0, 0, 0], [0, 0, 9, 0, 0], [0, 0, 0, 9, 0], [9, 0, 0, 0, 0]],
                   np.float32)]),
]

RELU_X = f32(-1, 2, -3, 4, 5, -6, 7)
RELU_X16 = np.arange(-8, 8, dtype=np.float32)  # broken_hang needs >= 8 elements


def _case_id(c: Case) -> str:
    return f"{c.bug}-{c.name}"


# ---------------------------------------------------------------------------
# Every plugin loads under its name
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("bug", BROKEN)
def test_plugin_registers_under_its_name(libddk, bug):
    with ddk.Runtime() as rt:
        assert rt.add_backend(plugin(bug)) == f"broken_{bug}"
        info = rt.backends()[-1]
        assert info["available"] and "BUG" in info["detail"]


# ---------------------------------------------------------------------------
# Wrong numbers
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", NUMERIC, ids=_case_id)
def test_numeric_bug(libddk, case: Case):
    """Triggering cases differ from the portable run; control cases match."""
    want = portable(case.program, case.inputs)
    got = run_lowered(plugin(case.bug), case.program, case.inputs)
    assert len(got) == len(want)
    matches = all(same(g, w, case.tol) for g, w in zip(got, want))
    if case.triggers:
        assert not matches, f"broken_{case.bug} gave the right answer: {got} == {want}"
    else:
        assert matches, f"broken_{case.bug} is wrong without its bug: {got} != {want}"


def test_int64_as_int32_writes_packed_int32(libddk):
    """The argmax indices are right but packed as int32 into the int64 buffer."""
    case = next(c for c in NUMERIC if c.bug == "int64_as_int32")
    (want,) = portable(case.program, case.inputs)
    (got,) = run_lowered(plugin("int64_as_int32"), case.program, case.inputs)
    assert got.dtype == np.int64 and want.dtype == np.int64
    np.testing.assert_array_equal(got.view(np.int32)[: want.size], want)


# ---------------------------------------------------------------------------
# Debug checks: out-of-bounds write, input modified
# ---------------------------------------------------------------------------


def test_write_past_is_an_out_of_bounds_write(libddk):
    prog = unary("aten::relu", [7])
    with pytest.raises(ddk.DDKError) as e:
        run_lowered(plugin("write_past"), prog, [RELU_X], {"guard_bytes": 64})
    assert e.value.name == "OUT_OF_BOUNDS_WRITE", e.value
    assert "broken_write_past" in e.value.message


def test_modify_input_modifies_its_input(libddk):
    prog = unary("aten::relu", [7])
    with pytest.raises(ddk.DDKError) as e:
        run_lowered(plugin("modify_input"), prog, [RELU_X], {"check_inputs": True})
    assert e.value.name == "INPUT_MODIFIED", e.value
    assert "broken_modify_input" in e.value.message


def test_modify_input_outputs_are_right(libddk):
    """Only the input is wrong: the outputs match the portable run."""
    prog = unary("aten::relu", [7])
    (got,) = run_lowered(plugin("modify_input"), prog, [RELU_X])
    np.testing.assert_array_equal(got, portable(prog, [RELU_X])[0])


@pytest.mark.parametrize("bug", ["conv_padding", "max_nan", "round_half", "broadcast", "alpha",
                                 "zero_size", "hang", "leak"])
def test_other_plugins_pass_the_debug_checks(libddk, bug):
    """The debug checks blame only the plugins whose bug they are about."""
    case = next((c for c in NUMERIC if c.bug == bug), None)
    if case is None:
        case = Case(bug, "relu", unary("aten::relu", [16]), [RELU_X16])
    run_lowered(plugin(bug), case.program, case.inputs, {"guard_bytes": 64, "check_inputs": True})


# ---------------------------------------------------------------------------
# Crash and hang, in a child process
# ---------------------------------------------------------------------------

CHILD = textwrap.dedent("""
    import sys
    import numpy as np
    import ddk
    from ddk.program import Program, TensorSpec

    plugin, shape = sys.argv[1], [int(s) for s in sys.argv[2].split(",")]
    p = Program()
    x = p.add_input("float32", shape, name="x")
    y = p.add_value(TensorSpec("float32", shape), name="y")
    p.add_node("aten::relu", [x], outputs=[y], name="relu")
    p.add_output(y)
    rt = ddk.Runtime()
    lowered = rt.lower(p.to_bytes(), [rt.add_backend(plugin)])
    print("delegates", lowered.num_delegates, flush=True)
    m = rt.method(lowered)
    m.set_inputs([np.full(shape, -1.0, np.float32)])
    print("executing", flush=True)
    m.execute()
    print("returned", flush=True)
""")


def _no_core_dump():
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def run_child(plugin_path: Path, shape, timeout: float) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PYTHON_DIR),
                                                      env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-c", CHILD, str(plugin_path),
                           ",".join(map(str, shape))],
                          capture_output=True, text=True, timeout=timeout, env=env,
                          stdin=subprocess.DEVNULL, preexec_fn=_no_core_dump)


def test_zero_size_crashes(libddk):
    r = run_child(plugin("zero_size"), [0, 4], CHILD_TIMEOUT_S)
    assert "delegates 1" in r.stdout, (r.stdout, r.stderr)
    assert "executing" in r.stdout and "returned" not in r.stdout, (r.stdout, r.stderr)
    assert r.returncode in (-signal.SIGSEGV, -signal.SIGBUS), \
        f"expected a crash, got exit status {r.returncode}: {r.stderr}"


def test_zero_size_is_right_on_non_empty_tensors(libddk):
    prog = unary("aten::relu", [7])
    (got,) = run_lowered(plugin("zero_size"), prog, [RELU_X])
    np.testing.assert_array_equal(got, portable(prog, [RELU_X])[0])


def test_hang_hangs_on_small_tensors(libddk):
    with pytest.raises(subprocess.TimeoutExpired) as e:
        run_child(plugin("hang"), [5], HANG_TIMEOUT_S)
    out = e.value.stdout or b""
    out = out.decode() if isinstance(out, bytes) else out
    assert "delegates 1" in out and "executing" in out and "returned" not in out, out


@pytest.mark.parametrize("n", [8, 13, 64])
def test_hang_is_right_on_larger_tensors(libddk, n):
    prog = unary("aten::relu", [n])
    x = np.linspace(-3, 3, n, dtype=np.float32)
    (got,) = run_lowered(plugin("hang"), prog, [x])
    np.testing.assert_array_equal(got, portable(prog, [x])[0])


@pytest.mark.parametrize("n", [7, 1024, 2048, 1031])
def test_tail_is_wrong_only_past_a_tile_off_the_step(libddk, n):
    prog = unary("aten::sigmoid", [n])
    x = np.linspace(-4, 4, n, dtype=np.float32)
    (got,) = run_lowered(plugin("tail"), prog, [x])
    want = portable(prog, [x])[0]
    close = np.isclose(got, want, rtol=1e-6, atol=1e-7)
    if n == 1031:  # 1024 + 7: the last 7 are never written
        assert close[:1024].all() and not close[1024:].all()
    else:
        assert close.all()


def test_the_crash_child_runs_a_good_plugin_to_the_end(libddk):
    """The child script itself works: with a correct case it returns."""
    r = run_child(plugin("zero_size"), [3, 4], CHILD_TIMEOUT_S)
    assert r.returncode == 0 and "returned" in r.stdout, (r.stdout, r.stderr)


# ---------------------------------------------------------------------------
# Leak: a counting allocator handed to the runtime
# ---------------------------------------------------------------------------


class CountingAllocator:
    """A ddk_allocator over the system one that tracks live blocks.

    The Python binding creates runtimes with the system allocator; this
    swaps the allocator argument of ddk_runtime_create while installed
    (monkeypatch), so every allocation of the runtime and its backends
    passes through here."""

    def __init__(self, monkeypatch):
        from ddk import runtime as R

        lib = R.load_library()
        system = lib.ddk_allocator_system().contents
        self.live: dict[int, int] = {}
        self.bad_frees: list[str] = []

        def alloc(_self, size, alignment):
            ptr = system.alloc(system.self, size, alignment)
            if ptr:
                self.live[ptr] = size
            return ptr

        def free(_self, ptr, size):
            if ptr:
                got = self.live.pop(ptr, None)
                if got != size:
                    self.bad_frees.append(f"free({ptr:#x}, {size}) of a block of {got}")
            system.free(system.self, ptr, size)

        self._alloc = R._AllocFn(alloc)  # kept alive as long as the runtime
        self._free = R._FreeFn(free)
        self.struct = R._Allocator(None, self._alloc, self._free)
        create = lib.ddk_runtime_create

        def create_counting(_allocator, out, err, cap):
            return create(ctypes.byref(self.struct), out, err, cap)

        monkeypatch.setattr(lib, "ddk_runtime_create", create_counting)

    @property
    def live_bytes(self) -> int:
        return sum(self.live.values())


def method_leak(monkeypatch, plugin_path: Path) -> tuple[int, list[str]]:
    """Bytes still allocated after a method (create, execute, destroy) of a
    relu program lowered to the plugin, and any mismatched frees. (16
    elements: broken_hang hangs below 8.)"""
    counter = CountingAllocator(monkeypatch)
    prog = unary("aten::relu", [16])
    with ddk.Runtime() as rt:
        name = rt.add_backend(plugin_path)
        lowered = rt.lower(prog, [name])
        assert lowered.num_delegates == 1
        before = counter.live_bytes
        with rt.method(lowered) as m:
            m.set_inputs([RELU_X16])
            m.execute()
            np.testing.assert_array_equal(m.outputs()[0], np.maximum(RELU_X16, 0))
        leaked = counter.live_bytes - before
        lowered.close()
    return leaked, counter.bad_frees


def test_leak_leaks(libddk, monkeypatch):
    leaked, bad = method_leak(monkeypatch, plugin("leak"))
    assert leaked > 0, "broken_leak freed everything"
    assert bad == []


@pytest.mark.parametrize("bug", ["modify_input", "zero_size", "hang"])
def test_other_relu_plugins_do_not_leak(libddk, monkeypatch, bug):
    """The shared skeleton balances its allocations: the leak is the bug's."""
    leaked, bad = method_leak(monkeypatch, plugin(bug))
    assert leaked == 0 and bad == []


# ---------------------------------------------------------------------------
# Claimed, then init fails
# ---------------------------------------------------------------------------


def test_init_fails_claims_then_fails_at_init(libddk):
    prog = unary("aten::sigmoid", [5])
    with ddk.Runtime() as rt:
        name = rt.add_backend(plugin("init_fails"))
        lowered = rt.lower(prog, [name])
        assert lowered.num_delegates == 1, "sigmoid was not claimed"
        with pytest.raises(ddk.DDKError) as e:
            rt.method(lowered)
        lowered.close()
    assert e.value.name == "BACKEND_FAILURE", e.value
    assert "unsupported activation" in e.value.message


def test_init_fails_runs_relu(libddk):
    """Only sigmoid is broken: relu, claimed by the same plugin, runs."""
    prog = unary("aten::relu", [7])
    (got,) = run_lowered(plugin("init_fails"), prog, [RELU_X])
    np.testing.assert_array_equal(got, portable(prog, [RELU_X])[0])


# ---------------------------------------------------------------------------
# The correct template backend on the same programs
# ---------------------------------------------------------------------------

TEMPLATE_PROGRAMS = [(_case_id(c), c.program, c.inputs) for c in NUMERIC] + [
    ("relu", unary("aten::relu", [7]), [RELU_X]),
    ("relu_small", unary("aten::relu", [5]), [RELU_X[:5]]),
    ("relu_empty", unary("aten::relu", [0, 4]), [np.zeros((0, 4), np.float32)]),
    ("sigmoid", unary("aten::sigmoid", [5]), [f32(-2, -0.5, 0, 0.5, 2)]),
]


def test_template_matches_portable_where_it_claims(libddk):
    template = _require(TEMPLATE_PLUGIN, "the template backend plugin")
    claimed = []
    with ddk.Runtime() as rt:
        name = rt.add_backend(template)
        for label, prog, inputs in TEMPLATE_PROGRAMS:
            lowered = rt.lower(prog, [name])
            try:
                if lowered.num_delegates == 0:
                    continue
                claimed.append(label)
                with rt.method(lowered, {"guard_bytes": 64, "check_inputs": True}) as m:
                    m.set_inputs(inputs)
                    m.execute()
                    got = m.outputs()
            finally:
                lowered.close()
            want = portable(prog, inputs)
            for g, w in zip(got, want):
                assert same(g, w, 1e-6), f"template differs from portable on {label}"
    # the programs that the template's partition rules admit
    assert {"alpha-alpha1", "broadcast-add_same_shape", "relu", "relu_small", "relu_empty",
            "sigmoid"} <= set(claimed), claimed
