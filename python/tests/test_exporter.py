"""ddk.export: PyTorch modules to programs, checked by running the program
on the portable kernels against torch eager; and every refusal, with the
message naming what and where."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import ddk  # noqa: E402
from ddk.exporter import ExportError, export  # noqa: E402


def eager(module, *args):
    with torch.no_grad():
        out = module(*args)
    return [o.numpy() for o in (out if isinstance(out, (tuple, list)) else [out])]


def run(program, *args):
    return ddk.run(program.to_bytes(), [a.numpy() for a in args])


def assert_matches(module, *args, rtol=1e-5, atol=1e-6):
    program = export(module, args)
    got = run(program, *args)
    want = eager(module, *args)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)
    return program


class Block(nn.Module):
    """conv-bn-relu, a residual add, pooling, a linear head: the shape of
    the vision models, small."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        y = torch.relu(self.bn(self.conv(x)))
        y = y + self.conv2(y)
        y = nn.functional.max_pool2d(y, 2)
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(y, 1), 1))


def test_block_matches_eager(libddk):
    torch.manual_seed(0)
    m = Block().eval()
    with torch.no_grad():  # non-trivial running stats
        m.bn.running_mean.uniform_(-1, 1)
        m.bn.running_var.uniform_(0.5, 2)
    program = assert_matches(m, torch.randn(2, 3, 12, 12))
    ops = {n.op_name for n in program.nodes}
    assert {"aten::convolution", "aten::_native_batch_norm_legit_no_training",
            "aten::addmm"} <= ops
    # parameters and buffers are constants with their values
    consts = {v.name: v.data for v in program.values if v.is_constant}
    np.testing.assert_array_equal(consts["conv.weight"], m.conv.weight.detach().numpy())
    np.testing.assert_array_equal(consts["bn.running_var"], m.bn.running_var.numpy())
    assert [v.name for v in program.inputs] == ["x"]


class Mixed(nn.Module):
    """Wrapped Python numbers, int64 and bool values, several outputs, a
    Tensor[] return (split), an input passed straight to the output."""

    def forward(self, x, idx):
        a, b = torch.split(x * 3 + 1, [2, 3], dim=1)
        mask = a > 0.5
        picked = torch.index_select(b, 1, idx)
        return a.sum(1), mask, picked - 2, idx


def test_mixed_values_match_eager(libddk):
    x = torch.randn(4, 5)
    idx = torch.tensor([2, 0, 1])
    program = assert_matches(Mixed(), x, idx)
    assert [v.spec.dtype_name for v in program.outputs] == \
        ["float32", "bool", "float32", "int64"]


class IntArith(nn.Module):
    def forward(self, x):
        return (x + 3) * 2 - (x > 4).to(torch.int8), x / 2


def test_wrapped_numbers_follow_aten_promotion(libddk):
    # int8 + 3 stays int8 (wrapping like ATen); int8 / 2 is float32
    x = torch.tensor([[-128, -3, 0, 5, 127]], dtype=torch.int8)
    program = assert_matches(IntArith(), x)
    assert [v.spec.dtype_name for v in program.outputs] == ["int8", "float32"]


def test_out_writes_the_file(tmp_path, libddk):
    path = tmp_path / "m.ddk"
    export(nn.Linear(3, 2), (torch.randn(1, 3),), out=path)
    assert path.read_bytes()[:4] == ddk.Program.load(path).to_bytes()[:4]
    with ddk.load_program(path) as p:
        assert p.num_nodes >= 1


class Flatten(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 4, 3)
        self.fc = nn.Linear(4 * 4 * 4, 3)

    def forward(self, x):
        y = torch.relu(self.conv(x))
        return self.fc(y.reshape(y.shape[0], -1)), y.expand(y.shape[0], 4, 4, 4) * 2


def test_dynamic_batch_has_bound_and_runs_below_it(libddk):
    torch.manual_seed(1)
    m = Flatten().eval()
    batch = torch.export.Dim("batch", min=1, max=6)
    program = export(m, (torch.randn(2, 2, 6, 6),), ({0: batch},))
    spec = program.inputs[0].spec
    assert spec.sizes == [6, 2, 6, 6] and spec.dynamic == {0}
    views = [n for n in program.nodes if n.op_name == "aten::view"]
    assert views and views[0].args[1].value[0] == -1
    data = program.to_bytes()
    for n in (1, 4, 6):
        x = torch.randn(n, 2, 6, 6)
        got = ddk.run(data, [x.numpy()])
        for g, w in zip(got, eager(m, x)):
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
    with pytest.raises(ddk.DDKError, match="at most 6"):
        ddk.run(data, [np.zeros((7, 2, 6, 6), np.float32)])


def test_unbounded_dynamic_dim_is_refused():
    with pytest.raises(ExportError, match="no upper bound") as e:
        export(nn.Linear(3, 2), (torch.randn(2, 3),), ({0: torch.export.Dim("b")},))
    assert e.value.kind == "dynamic"
    assert "Dim(name, max=N)" in str(e.value)


class Zeros(nn.Module):
    def forward(self, x):
        return torch.zeros(x.shape[0] * 2) + x.sum()


def test_size_computed_from_dynamic_dim_is_refused():
    with pytest.raises(ExportError) as e:
        export(Zeros(), (torch.randn(3),), ({0: torch.export.Dim("n", max=8)},))
    assert e.value.kind == "dynamic" and e.value.op == "aten::full"
    assert "2*s" in str(e.value) and "make this dim static" in str(e.value)


# -- refusals ------------------------------------------------------------------

@torch.library.custom_op("ddk_test::twice", mutates_args=())
def twice(x: torch.Tensor) -> torch.Tensor:
    return x * 2


@twice.register_fake
def _twice_fake(x):
    return torch.empty_like(x)


class CustomOp(nn.Module):
    def forward(self, x):
        return twice(x + 1)  # the refusal names this line


class Cumprod(nn.Module):
    def __init__(self):
        super().__init__()
        self.inner = nn.Sequential(nn.ReLU(), _CumprodLeaf())

    def forward(self, x):
        return self.inner(x)


class _CumprodLeaf(nn.Module):
    def forward(self, x):
        return torch.cumprod(x, 0)


def _line_of(fn, text):
    import inspect

    lines, start = inspect.getsourcelines(fn)
    return start + next(i for i, ln in enumerate(lines) if text in ln)


def test_unknown_custom_op_is_refused_with_node_and_line():
    with pytest.raises(ExportError) as e:
        export(CustomOp(), (torch.randn(3),))
    err = e.value
    assert err.kind == "unknown_op" and err.op == "ddk_test::twice"
    msg = str(err)
    assert "ddk_test::twice is not in the DDK op table" in msg
    assert f"test_exporter.py:{_line_of(CustomOp.forward, 'twice(x + 1)')}" in msg
    assert "node 'twice'" in msg


def test_aten_op_outside_the_table_is_refused_with_module_path():
    with pytest.raises(ExportError) as e:
        export(Cumprod(), (torch.randn(3),))
    err = e.value
    assert err.kind == "unknown_op" and err.op == "aten::cumprod"
    assert "in module 'inner.1'" in str(err)
    assert f"test_exporter.py:{_line_of(_CumprodLeaf.forward, 'cumprod')}" in str(err)


class ComplexMul(nn.Module):
    def forward(self, x):
        return torch.view_as_real(x * x)


def test_op_given_a_dtype_its_kernel_lacks_is_refused():
    with pytest.raises(ExportError) as e:
        export(ComplexMul(), (torch.randn(3, dtype=torch.complex64),))
    err = e.value
    assert err.kind == "unsupported_dtype" and err.op == "aten::mul.Tensor"
    assert "no kernel for complex64" in str(err) and "float32" in str(err)


class ToFloat(nn.Module):
    def forward(self, x):
        return x.to(torch.float32) + 1


def test_dtype_without_a_ddk_number_is_refused():
    with pytest.raises(ExportError) as e:
        export(ToFloat(), (torch.zeros(3, dtype=torch.float8_e4m3fn),))
    assert e.value.kind == "unsupported_dtype"
    assert "float8_e4m3fn has no DDK number" in str(e.value)


class DataDependent(nn.Module):
    def forward(self, x):
        if x.sum() > 0:  # data-dependent: export cannot capture it
            return x * 2
        return x - 1


def test_data_dependent_control_flow_is_refused_with_line():
    with pytest.raises(ExportError) as e:
        export(DataDependent(), (torch.randn(3),))
    err = e.value
    assert err.kind == "capture"
    msg = str(err)
    assert "data-dependent" in msg and "torch.where" in msg
    line = _line_of(DataDependent.forward, "if x.sum() > 0")
    assert f"test_exporter.py:{line}" in msg and "if x.sum() > 0" in msg


class Cond(nn.Module):
    def forward(self, x):
        return torch.cond(x.sum() > 0, lambda t: t * 2, lambda t: t - 1, (x,))


def test_control_flow_operator_is_refused():
    with pytest.raises(ExportError) as e:
        export(Cond(), (torch.randn(3),))
    assert e.value.kind == "control_flow" and e.value.op == "cond"
    assert "torch.ops.higher_order.cond" in str(e.value)


class Counter(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("count", torch.zeros(1))

    def forward(self, x):
        self.count.add_(1)
        return x + self.count


def test_buffer_mutation_is_refused():
    with pytest.raises(ExportError) as e:
        export(Counter(), (torch.randn(3),))
    assert e.value.kind == "mutation" and "'count'" in str(e.value)


class Scale(nn.Module):
    def forward(self, x, n: int):
        return x * n


def test_non_tensor_input_is_refused():
    with pytest.raises(ExportError) as e:
        export(Scale(), (torch.randn(3), 3))
    assert e.value.kind == "input" and "'n' is of type int" in str(e.value)


def test_export_error_is_importable_without_torch():
    import subprocess
    import sys

    code = ("import sys, ddk; from ddk.errors import ExportError; "
            "assert ddk.ExportError is ExportError; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    from conftest import PYTHON_DIR

    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=60, cwd=PYTHON_DIR)
    assert r.returncode == 0, r.stderr


class Unused(nn.Module):
    def __init__(self):
        super().__init__()
        self.used = nn.Linear(3, 2)
        self.spare = nn.Linear(1000, 1000)  # never called

    def forward(self, x):
        return self.used(x)


def test_parameters_nothing_reads_are_not_written(libddk):
    program = assert_matches(Unused().eval(), torch.randn(1, 3))
    names = {v.name for v in program.values if v.is_constant}
    assert "used.weight" in names and not any(n.startswith("spare") for n in names)
    assert len(program.to_bytes()) < 100_000
