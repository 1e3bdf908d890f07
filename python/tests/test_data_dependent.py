"""Data-dependent output sizes through the runtime: nonzero and boolean
indexing feed later nodes whose shapes follow the data, run after run."""

from __future__ import annotations

import numpy as np
import pytest

import ddk
from ddk.program import Program, TensorSpec

torch = pytest.importorskip("torch")


def build():
    """x[8] -> mask = gt(x, 0) -> idx = nonzero(mask) [<=8, 1]
                                 -> sel = index(x, [mask]) [<=8] -> y = mul(sel, sel)"""
    p = Program()
    x = p.add_input("float32", [8], name="x")
    mask = p.add_value(TensorSpec("bool", [8]), name="mask")
    p.add_node("aten::gt.Scalar", [x, 0.0], outputs=[mask], name="gt")
    idx = p.add_value(TensorSpec("int64", [8, 1], dynamic=[0]), name="idx")
    p.add_node("aten::nonzero", [mask], outputs=[idx], name="nonzero")
    sel = p.add_value(TensorSpec("float32", [8], dynamic=[0]), name="sel")
    p.add_node("aten::index.Tensor", [x, [mask]], outputs=[sel], name="index")
    y = p.add_value(TensorSpec("float32", [8], dynamic=[0]), name="y")
    p.add_node("aten::mul.Tensor", [sel, sel], outputs=[y], name="mul")
    p.add_output(idx)
    p.add_output(y)
    return p.to_bytes()


@pytest.mark.parametrize("seed", range(4))
def test_shapes_follow_the_data(libddk, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(8).astype(np.float32)
    if seed == 3:
        x[:] = -1.0  # nothing selected: zero-size results
    idx, y = ddk.run(build(), [x])
    t = torch.from_numpy(x)
    want_idx = torch.nonzero(t > 0).numpy()
    sel = t[t > 0]
    assert idx.shape == want_idx.shape and (idx == want_idx).all()
    assert y.shape == tuple(sel.shape)
    np.testing.assert_array_equal(y, (sel * sel).numpy())


def test_one_method_many_runs(libddk):
    """The same method re-infers every later shape at each execute."""
    with ddk.Runtime() as rt:
        m = rt.method(build())
        for k in [3, 0, 8, 5]:
            x = np.full(8, -1.0, np.float32)
            x[:k] = np.arange(1, k + 1, dtype=np.float32)
            m.set_inputs([x])
            m.execute()
            idx, y = m.outputs()
            assert idx.shape == (k, 1) and (idx[:, 0] == np.arange(k)).all()
            np.testing.assert_array_equal(y, x[:k] * x[:k])
        m.close()
