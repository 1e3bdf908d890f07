"""Nodes ATen refuses are refused with a message; programs with dynamic dims run at
sizes below their bounds and refuse sizes above them."""
import subprocess

import numpy as np
import pytest

import ddk
from ddk.program import Program, TensorSpec


def build_dynamic(w):
    p = Program()
    x = p.add_input("float32", [8, 16], name="x", dynamic={0: 8})
    wc = p.add_constant(w, name="w")
    y = p.add_value(TensorSpec("float32", [8, 4], dynamic=[0]), name="y")
    p.add_node("aten::mm", [x, wc], outputs=[y], name="mm")
    z = p.add_value(TensorSpec("float32", [8, 4], dynamic=[0]), name="z")
    p.add_node("aten::relu", [y], outputs=[z], name="relu")
    p.add_output(z)
    return p.to_bytes()


@pytest.mark.parametrize("batch", [1, 3, 8])
def test_dynamic_batch_runs_below_bound(libddk, batch):
    rng = np.random.default_rng(batch)
    w = rng.standard_normal((16, 4)).astype(np.float32)
    x = rng.standard_normal((batch, 16)).astype(np.float32)
    (out,) = ddk.run(build_dynamic(w), [x])
    assert out.shape == (batch, 4)
    np.testing.assert_allclose(out, np.maximum(x @ w, 0), rtol=1e-5, atol=1e-5)


def test_dynamic_batch_above_bound_is_refused(libddk):
    w = np.ones((16, 4), np.float32)
    with pytest.raises(ddk.DDKError) as e:
        ddk.run(build_dynamic(w), [np.ones((9, 16), np.float32)])
    assert e.value.name == "SHAPE_MISMATCH"
    assert "at most 8" in e.value.message


def test_template_does_not_claim_dynamic_values(libddk, template_plugin):
    w = np.ones((16, 4), np.float32)
    with ddk.Runtime() as rt:
        name = rt.add_backend(template_plugin)
        low = rt.lower(build_dynamic(w), [name])
        assert low.num_delegates == 0


def program_with_bool_sub():
    """sub on bool tensors: every op has a portable kernel, but ATen (and so
    inference) refuses this node."""
    p = Program()
    x = p.add_input("bool", [2, 3], name="x")
    y = p.add_value(TensorSpec("bool", [2, 3]), name="y")
    p.add_node("aten::sub.Tensor", [x, x], outputs=[y], name="my_sub")
    p.add_output(y)
    return p.to_bytes()


def test_runtime_refuses_a_node_aten_refuses(libddk):
    with pytest.raises(ddk.DDKError) as e:
        ddk.run(program_with_bool_sub(), [np.ones((2, 3), bool)])
    assert "aten::sub.Tensor" in e.value.message and "bool" in e.value.message


def test_cli_run_refuses_a_node_aten_refuses(ddk_cli, tmp_path):
    prog = tmp_path / "sub.ddk"
    prog.write_bytes(program_with_bool_sub())
    r = subprocess.run([str(ddk_cli), "run", str(prog)], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 2, r.stderr
    assert "aten::sub.Tensor" in r.stderr


def test_every_op_has_a_portable_kernel():
    from ddk.ops_meta import OPS
    missing = [op["name"] for op in OPS if not op["kernel"]]
    assert missing == [], f"ops without a portable kernel: {missing}"


def program_with_weight_transform():
    """x -> relu (template) -> exp (portable) -> add (template) <- relu(c):
    relu(c) reads only a constant. It must land in the add's partition,
    not in the earlier template partition it appears after."""
    p = Program()
    x = p.add_input("float32", [4], name="x")
    c = p.add_constant(np.arange(4, dtype=np.float32) - 1.5, name="c")
    a = p.add_value(TensorSpec("float32", [4]), name="a")
    p.add_node("aten::relu", [x], outputs=[a], name="relu_x")
    b = p.add_value(TensorSpec("float32", [4]), name="b")
    p.add_node("aten::exp", [a], outputs=[b], name="exp")
    rc = p.add_value(TensorSpec("float32", [4]), name="rc")
    p.add_node("aten::relu", [c], outputs=[rc], name="relu_c")
    y = p.add_value(TensorSpec("float32", [4]), name="y")
    p.add_node("aten::add.Tensor", [b, rc], outputs=[y], name="add")
    p.add_output(y)
    return p.to_bytes()


def test_constant_only_node_joins_its_consumers_partition(libddk, template_plugin):
    with ddk.Runtime() as rt:
        name = rt.add_backend(template_plugin)
        low = rt.lower(program_with_weight_transform(), [name])
        groups = [sorted(d["nodes"]) for d in low.delegates]
        # nodes: 0 relu_x, 1 exp, 2 relu_c, 3 add
        assert groups == [[0], [2, 3]]
        x = np.array([-1, 0, 1, 2], np.float32)
        (out,) = rt.method(low)(x)
    c = np.arange(4, dtype=np.float32) - 1.5
    np.testing.assert_allclose(out, np.exp(np.maximum(x, 0)) + np.maximum(c, 0),
                               rtol=1e-6)
