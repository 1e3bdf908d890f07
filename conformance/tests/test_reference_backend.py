"""The reference as a backend (conformance/reference_backend/): the portable
kernels behind the plugin ABI. The suite run against it must pass every
case it has, and its plumbing (blobs, renumbered partitions, constants,
data-dependent sizes, seeded random ops, the "reference.ops" restriction)
must hold in multi-node programs too."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conform_support import REPO, find_built, runner  # noqa: F401 (fixture)

PLUGIN_REL = "conformance/backends/libddk_backend_reference.so"

# Ops whose plumbing differs from a plain elementwise op: several inputs
# and outputs, tensor lists, data-dependent sizes, seeded random draws,
# quantization, integer outputs, metadata.
MUST_PASS = [
    "aten::add.Tensor", "aten::convolution", "aten::nonzero", "aten::index.Tensor", "aten::sort",
    "aten::max.dim", "aten::native_layer_norm", "quantized_decomposed::quantize_per_tensor",
    "aten::rand", "aten::embedding", "aten::cat", "aten::randperm", "aten::sym_size.int",
]


def kernel_ops() -> dict[str, dict]:
    from ddk.ops_meta import OP_BY_NAME

    return {name: m for name, m in OP_BY_NAME.items() if m.get("kernel")}


@pytest.fixture(scope="session")
def reference_plugin(runner) -> Path:
    """The plugin from the runner's own build (an ASan runner loads the ASan
    plugin), else wherever it is built."""
    sibling = runner.parents[2] / PLUGIN_REL
    p = sibling if sibling.exists() else find_built(PLUGIN_REL)
    if p is None:
        pytest.fail("the reference plugin is not built (cmake --build build --target "
                    "ddk_backend_reference)")
    return p


def write_op_cases(path: Path, items) -> Path:
    """A case file with the golden cases of each (op, dtype) in `items`
    ("none": the op's dtype-independent cases)."""
    pytest.importorskip("torch")
    import gen_golden
    from golden.core import Gen

    g = Gen(0)
    for op, dt in items:
        g.g.manual_seed(gen_golden.item_seed(0, op, dt))
        gen_golden.fill(g, op, dt)
    g.write(path)
    return path


def run_conform(runner, cases, backend, timeout=900):
    r = subprocess.run([str(runner), "--cases", str(cases), "--backend", str(backend)],
                       capture_output=True, text=True, timeout=timeout)
    rows = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
    return r, rows


# ---- the suite against the reference -------------------------------------


def test_every_op_passes_against_the_reference(runner, reference_plugin, tmp_path):
    """Every op with a portable kernel, float32 (or the op's first dtype
    when it has no float32) plus its dtype-independent cases: every case
    is claimed and passes."""
    ops = kernel_ops()
    items = [(op, dt) for op, meta in sorted(ops.items())
             for dt in ("float32" if "float32" in meta["dtypes"] else meta["dtypes"][0], "none")]
    cases = write_op_cases(tmp_path / "cases.bin", items)
    r, rows = run_conform(runner, cases, reference_plugin)
    bad = [x for x in rows if x["outcome"] != "pass"]
    assert not bad, f"{len(bad)} of {len(rows)} not passing, e.g. {bad[:3]}"
    assert r.returncode == 0, r.stderr[-2000:]
    # every op ran (the sweep cannot shrink unnoticed), the listed ones too
    assert {x["op"] for x in rows} == set(ops)
    assert set(MUST_PASS) <= set(ops)
    # the runner's refusal cases aside, one result per case in the file
    assert len(rows) >= len(ops)


def test_other_dtypes_of_the_plumbing_ops(runner, reference_plugin, tmp_path):
    """Every dtype of the ops in MUST_PASS: integer, reduced-precision and
    quantized tensors travel through the blob and back unchanged."""
    ops = kernel_ops()
    items = [(op, dt) for op in MUST_PASS for dt in ops[op]["dtypes"]]
    cases = write_op_cases(tmp_path / "cases.bin", items)
    r, rows = run_conform(runner, cases, reference_plugin)
    bad = [x for x in rows if x["outcome"] != "pass"]
    assert rows and not bad, bad[:3]
    assert r.returncode == 0
    assert {x["op"] for x in rows} == set(MUST_PASS)


def test_exports_only_the_entry_symbol(reference_plugin):
    nm = shutil.which("nm")
    if nm is None:
        pytest.skip("nm is not installed")
    out = subprocess.run([nm, "-D", "--defined-only", str(reference_plugin)], capture_output=True,
                         text=True, check=True).stdout
    names = {line.split()[-1] for line in out.splitlines() if line.strip()}
    assert names == {"ddk_backend_entry"}, sorted(names)[:20]


# ---- through the runtime's Python binding (multi-node programs) ----------
#
# The binding loads the release build's libddk.so; a plugin must come from
# the same build (an ASan plugin cannot load into an uninstrumented host).


@pytest.fixture(scope="module")
def rt():
    build = Path(os.environ.get("DDK_BUILD_DIR") or REPO / "build")
    lib, plugin = build / "libddk.so", build / PLUGIN_REL
    for p in (lib, plugin):
        if not p.exists():
            pytest.fail(f"{p} is not built")
    os.environ.setdefault("DDK_LIBRARY", str(lib))
    sys.path.insert(0, str(REPO / "python"))
    import ddk

    with ddk.Runtime() as runtime:
        assert runtime.add_backend(str(plugin)) == "reference"
        yield runtime


def chain():
    """x[8] -> gt -> nonzero [<=8,1]; index(x, [mask]) [<=8] -> mul -> add(w)
    with a constant w: dynamic sizes cross partition boundaries."""
    from ddk.program import Program, TensorSpec

    p = Program()
    x = p.add_input("float32", [8], name="x")
    w = p.add_constant(np.linspace(-1, 1, 8, dtype=np.float32), name="w")
    mask = p.add_value(TensorSpec("bool", [8]), name="mask")
    p.add_node("aten::gt.Tensor", [x, w], outputs=[mask], name="gt")
    idx = p.add_value(TensorSpec("int64", [8, 1], dynamic=[0]), name="idx")
    p.add_node("aten::nonzero", [mask], outputs=[idx], name="nonzero")
    sel = p.add_value(TensorSpec("float32", [8], dynamic=[0]), name="sel")
    p.add_node("aten::index.Tensor", [x, [mask]], outputs=[sel], name="index")
    y = p.add_value(TensorSpec("float32", [8], dynamic=[0]), name="y")
    p.add_node("aten::mul.Tensor", [sel, sel], outputs=[y], name="mul")
    z = p.add_value(TensorSpec("float32", [8], dynamic=[0]), name="z")
    p.add_node("aten::add.Scalar", [y, 0.5], outputs=[z], name="add")
    p.add_output(idx)
    p.add_output(z)
    return p.to_bytes()


def run_both(rt, program, lowered, inputs, options=None):
    ref = rt.method(program, options)
    got = rt.method(lowered, options)
    ref.set_inputs(inputs)
    got.set_inputs(inputs)
    ref.execute()
    got.execute()
    out = ref.outputs(), got.outputs()
    ref.close()
    got.close()
    return out


def claimed_nodes(lowered) -> list[list[int]]:
    return [sorted(d["nodes"]) for d in lowered.delegates if d["backend"] == "reference"]


def check_chain_runs(rt, program, lowered):
    """Same results as the portable run, for inputs that select 8, 0 and
    some elements: sizes below the bounds flow into and out of delegates."""
    for k, x in enumerate([np.full(8, 5.0, np.float32), np.full(8, -5.0, np.float32),
                           np.random.default_rng(1).standard_normal(8).astype(np.float32)]):
        want, got = run_both(rt, program, lowered, [x])
        for a, b in zip(want, got):
            assert a.dtype == b.dtype and a.shape == b.shape, (k, a.shape, b.shape)
            np.testing.assert_array_equal(a, b)
        assert got[0].shape[0] == int((x > np.linspace(-1, 1, 8, dtype=np.float32)).sum())


def test_claims_the_whole_chain(rt):
    program = chain()
    low = rt.lower(program, ["reference"])
    assert claimed_nodes(low) == [[0, 1, 2, 3, 4]]
    assert low.num_kernel_instructions == 0
    d = low.delegates[0]
    assert d["compat"] == "reference:fmt=1" and d["blob_size"] > 0
    check_chain_runs(rt, program, low)


def test_reference_ops_restricts_claims(rt):
    program = chain()
    low = rt.lower(program, ["reference"], {"reference.ops": "aten::gt.Tensor, aten::mul.Tensor,"
                                                              "aten::add.Scalar"})
    # gt alone, then nonzero and index portable, then mul and add together
    assert claimed_nodes(low) == [[0], [3, 4]]
    assert low.num_kernel_instructions == 2
    check_chain_runs(rt, program, low)
    # a data-dependent output leaves a delegate below its bound
    low = rt.lower(program, ["reference"], {"reference.ops": "aten::nonzero"})
    assert claimed_nodes(low) == [[1]]
    check_chain_runs(rt, program, low)
    # an entry is a whole op name, not a prefix
    low = rt.lower(program, ["reference"], {"reference.ops": "aten::gt,aten::mul"})
    assert claimed_nodes(low) == []


def test_reference_ops_must_be_a_string(rt):
    import ddk

    with pytest.raises(ddk.DDKError) as e:
        rt.lower(chain(), ["reference"], {"reference.ops": 3})
    assert "reference.ops" in e.value.message


def test_seed_reaches_the_nested_method(rt):
    from ddk.program import Program, TensorSpec

    p = Program()
    x = p.add_input("float32", [16], name="x")
    r = p.add_value(TensorSpec("float32", [16]), name="r")
    p.add_node("aten::rand", [[16]], {"dtype": "float32"}, outputs=[r], name="rand")
    y = p.add_value(TensorSpec("float32", [16]), name="y")
    p.add_node("aten::add.Tensor", [x, r], outputs=[y], name="add")
    p.add_output(y)
    program = p.to_bytes()
    low = rt.lower(program, ["reference"])
    assert claimed_nodes(low) == [[0, 1]]
    x = np.arange(16, dtype=np.float32)
    draws = {}
    for seed in (7, 8):
        (want,), (got,) = run_both(rt, program, low, [x], {"seed": seed})
        np.testing.assert_array_equal(want, got)
        draws[seed] = got
    assert not np.array_equal(draws[7], draws[8])  # the seed matters


@pytest.mark.parametrize("model", ["mlp", "cnn", "attention"])
def test_models_match_the_portable_run_bitwise(rt, model):
    """Constants (weights) travel in the blob; every node is claimed."""
    pytest.importorskip("torch")
    from ddk.models import BUILDERS

    program, _, inputs = BUILDERS[model](0)
    low = rt.lower(program, ["reference"])
    assert low.num_kernel_instructions == 0 and len(low.delegates) == 1
    want, got = run_both(rt, program, low, list(inputs))
    for a, b in zip(want, got):
        np.testing.assert_array_equal(a, b)


def test_query_describes_the_reference(rt):
    info = [b for b in rt.backends() if b["name"] == "reference"][0]
    assert info["available"] is True
    assert info["device_name"] == "host CPU (DDK portable kernels)"
    assert "reference" in info["detail"] and "backend" in info["detail"]


def tampered(low, **change):
    from ddk.program import Program

    p = Program.from_bytes(low.to_bytes())
    for key, value in change.items():
        setattr(p.delegates[0], key, value)
    return p.to_bytes()


def test_init_refuses_a_foreign_blob(rt):
    import ddk

    low = rt.lower(chain(), ["reference"])
    with pytest.raises(ddk.DDKError) as e:
        rt.method(tampered(low, compat="reference:fmt=2"))
    assert e.value.name == "INCOMPATIBLE_BLOB" and "reference:fmt=1" in e.value.message
    blob = low.delegates[0]["blob_size"] * b"\0"
    with pytest.raises(ddk.DDKError) as e:
        rt.method(tampered(low, blob=blob))
    assert e.value.name == "INCOMPATIBLE_BLOB" and "not a valid program" in e.value.message


def test_reference_ops_through_the_runner(runner, reference_plugin, tmp_path):
    """The restriction seen by the suite: with reference.ops=aten::relu the
    relu cases pass and the exp cases are unsupported."""
    usage = subprocess.run([str(runner)], capture_output=True, text=True).stderr
    if "--option" not in usage:
        pytest.skip("this ddk_conform has no --option")
    cases = write_op_cases(tmp_path / "cases.bin",
                           [("aten::relu", "float32"), ("aten::exp", "float32")])
    r = subprocess.run([str(runner), "--cases", str(cases), "--backend", str(reference_plugin),
                        "--option", "reference.ops=aten::relu"],
                       capture_output=True, text=True, timeout=300)
    rows = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
    by_op = {op: {x["outcome"] for x in rows if x["op"] == op} for op in ("aten::relu", "aten::exp")}
    assert by_op == {"aten::relu": {"pass"}, "aten::exp": {"unsupported"}}, r.stderr[-2000:]
    assert r.returncode == 0
