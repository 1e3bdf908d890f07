"""Tests of the op table (ir_ops/op_table.tsv), its generator and outputs.

Run: python3 -m pytest ir_ops/tests/test_op_table.py
"""
import importlib.util
import os
import re
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "ir_ops"))
sys.path.insert(0, os.path.join(ROOT, "ir_ops", "tools"))
import gen_ops  # noqa: E402

SHARED_LIST = [os.path.join(ROOT, "shared", "ir", "core_aten_ops.tsv"),
               "/work/shared/ir/core_aten_ops.tsv"]
KERNEL_OPS = set("""aten::add.Tensor aten::sub.Tensor aten::mul.Tensor
aten::div.Tensor aten::relu aten::hardtanh aten::sigmoid aten::tanh aten::mm
aten::addmm aten::bmm aten::convolution aten::max_pool2d_with_indices
aten::avg_pool2d aten::_softmax aten::mean.dim aten::view aten::permute
aten::cat aten::clone""".split())


@pytest.fixture(scope="module")
def ops():
    return gen_ops.load_table()


@pytest.fixture(scope="module")
def meta():
    path = os.path.join(ROOT, "python", "ddk", "ops_meta.py")
    spec = importlib.util.spec_from_file_location("ddk_ops_meta_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def by_name(ops, name):
    return next(op for op in ops if op["name"] == name)


def param(op, name):
    return next(p for p in op["params"] if p["name"] == name)


# ---------------------------------------------------------------- generation

def test_regeneration_is_a_no_op():
    r = subprocess.run([sys.executable, os.path.join(ROOT, "ir_ops", "gen_ops.py"),
                        "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_check_mode_reports_a_stale_file(tmp_path, monkeypatch):
    monkeypatch.setattr(gen_ops, "ROOT", str(tmp_path))
    (tmp_path / "ir_ops").mkdir()
    src = os.path.join(ROOT, gen_ops.TABLE_PATH)
    (tmp_path / gen_ops.TABLE_PATH).write_text(open(src, encoding="utf-8").read(),
                                               encoding="utf-8")
    assert gen_ops.main(["--check"]) == 1  # nothing generated yet
    assert gen_ops.main([]) == 0
    assert gen_ops.main(["--check"]) == 0
    ids = tmp_path / "delegate_api" / "include" / "ddk" / "op_ids.h"
    ids.write_text(ids.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert gen_ops.main(["--check"]) == 1


def test_ids_header_keeps_the_fixed_ids(ops):
    text = open(os.path.join(ROOT, "delegate_api", "include", "ddk", "op_ids.h"),
                encoding="utf-8").read()
    found = dict((n, int(v)) for n, v in re.findall(r"(DDK_OP_\w+) = (\d+)", text))
    assert found.pop("DDK_OP_COUNT") == 220
    assert found == {gen_ops.enum_name(op["name"]): op["id"] for op in ops}
    # A few ids other code already relies on.
    assert found["DDK_OP_ATEN_ADD_TENSOR"] == 20
    assert found["DDK_OP_ATEN_SOFTMAX"] == 13
    assert found["DDK_OP_ATEN_CONVOLUTION"] == 57
    assert found["DDK_OP_QUANTIZED_DECOMPOSED_ADD_RELU"] == 219


def test_hash_is_the_same_everywhere(ops, meta):
    h = gen_ops.table_hash(ops)
    assert meta.OP_TABLE_HASH == h
    c = open(os.path.join(ROOT, "ir_ops", "generated", "ddk_op_table.c"),
             encoding="utf-8").read()
    assert "UINT64_C(0x%016x)" % h in c


def test_registry_declares_exactly_the_kernel_ops(ops):
    text = open(os.path.join(ROOT, "reference_runtime", "kernels",
                             "kernel_registry.gen.c"), encoding="utf-8").read()
    declared = set(re.findall(r"^ddk_status (ddk_kernel_\w+)\(", text, re.M))
    assert declared == {"ddk_kernel_" + gen_ops.ident(op["name"]) for op in ops if op["kernel"]}
    assert declared >= {"ddk_kernel_" + gen_ops.ident(n) for n in KERNEL_OPS}
    assert "ddk_kernel_aten_softmax" in declared
    assert "ddk_kernel_aten_add_tensor" in declared


# ---------------------------------------------------------------- the table

def test_table_has_the_shared_core_list(ops):
    path = next((p for p in SHARED_LIST if os.path.exists(p)), None)
    if path is None:
        pytest.skip("shared/ir/core_aten_ops.tsv not available")
    rows = [l.split("\t") for l in open(path, encoding="utf-8").read().splitlines()[1:]]
    assert len(ops) == 220 == len(rows)
    assert [op["name"] for op in ops] == [r[0] for r in rows]
    assert [op["schema"] for op in ops] == [r[1] for r in rows]
    assert [op["category"] for op in ops] == [r[2] for r in rows]
    assert sum(op["name"].startswith("aten::") for op in ops) == 193
    assert sum(op["name"].startswith("quantized_decomposed::") for op in ops) == 27


def test_kernel_column_is_the_agreed_set(ops):
    assert {op["name"] for op in ops if op["kernel"]} >= KERNEL_OPS


def test_every_kernel_op_has_a_tolerance(ops):
    for op in ops:
        if not op["kernel"]:
            continue
        assert op["tolerance"] in gen_ops.TOLERANCES, op["name"]
        if op["tolerance"] in ("ulp", "accumulate"):
            assert (1 if op["tolerance"] == "ulp" else 0) <= op["ulp"] <= 8, op["name"]
        else:
            assert op["ulp"] == 0, op["name"]


def test_tolerance_classes_follow_the_rules(ops):
    for op in ops:
        name, tol = op["name"], op["tolerance"]
        if op["category"] == "quantization":
            assert tol == "quant", name
        elif op["category"] in ("comparison", "logical_bitwise", "shape_view"):
            assert tol == "exact", name
        elif name.split("::")[1] in ("rand", "randn", "randperm", "native_dropout"):
            assert tol == "statistical", name
    assert by_name(ops, "aten::add.Tensor")["ulp"] == 1
    assert by_name(ops, "aten::mm")["tolerance"] == "accumulate"


def test_manual_dtypes_are_marked(ops):
    """Ops torch does not define keep hand-written dtypes, said in hints."""
    pytest.importorskip("torch")
    probe = pytest.importorskip("probe_dtypes")
    for op in ops:
        if probe.resolve(op["name"]) is None:
            assert probe.MANUAL_MARK in op["hints"], op["name"]


def test_kernel_op_dtypes_are_accepted_by_torch(ops):
    pytest.importorskip("torch")
    probe = pytest.importorskip("probe_dtypes")
    for op in ops:
        if op["kernel"] and probe.resolve(op["name"]) is not None:  # torch has the op
            accepted = probe.probe_op(op) or []
            assert set(op["dtypes"]) <= set(accepted), op["name"]


def test_a_few_table_dtypes_match_a_fresh_probe(ops):
    pytest.importorskip("torch")
    probe = pytest.importorskip("probe_dtypes")
    for name in ["aten::abs", "aten::bitwise_and.Tensor", "aten::mean.dim",
                 "aten::_fft_c2r", "quantized_decomposed::dequantize_per_tensor"]:
        op = by_name(ops, name)
        assert probe.probe_op(op) == op["dtypes"], name


# ---------------------------------------------------------------- parsing

def test_convolution_params(ops):
    op = by_name(ops, "aten::convolution")
    assert [p["name"] for p in op["params"]] == [
        "input", "weight", "bias", "stride", "padding", "dilation",
        "transposed", "output_padding", "groups"]
    bias, stride = param(op, "bias"), param(op, "stride")
    assert bias["kind"] == "TENSOR" and bias["optional"]
    assert stride["kind"] == "INT_LIST" and stride["type"] == "SymInt[]"
    assert stride["fixed_len"] == 0 and not stride["optional"]
    assert param(op, "groups")["kind"] == "INT"
    assert [r["kind"] for r in op["returns"]] == ["TENSOR"]


def test_mean_dim_and_index_params(ops):
    dim = param(by_name(ops, "aten::mean.dim"), "dim")
    assert dim["kind"] == "INT_LIST" and dim["optional"] and dim["fixed_len"] == 1
    assert dim["default"] is None
    dtype = param(by_name(ops, "aten::mean.dim"), "dtype")
    assert dtype["kind"] == "SCALAR_TYPE" and dtype["kwarg_only"] and dtype["optional"]
    indices = param(by_name(ops, "aten::index.Tensor"), "indices")
    assert indices["kind"] == "TENSOR_LIST" and indices["elem_optional"]
    assert indices["type"] == "Tensor?[]" and not indices["optional"]


def test_annotations_and_returns():
    _, params, returns = gen_ops.parse_schema(
        "split_with_sizes(Tensor(a -> *) self, SymInt[] split_sizes, int dim=0)"
        " -> Tensor(a)[]")
    assert [p["name"] for p in params] == ["self", "split_sizes", "dim"]
    assert not params[0]["mutated"] and params[2]["default"] == "0"
    assert returns == [{"name": None, "type": "Tensor[]", "kind": "TENSOR_LIST"}]
    _, params, returns = gen_ops.parse_schema(
        "atan2.out(Tensor self, Tensor other, *, Tensor(a!) out) -> Tensor(a!)")
    assert params[2]["mutated"] and params[2]["kwarg_only"]
    _, _, returns = gen_ops.parse_schema(
        "max.dim(Tensor self, int dim, bool keepdim=False)"
        " -> (Tensor values, Tensor indices)")
    assert [r["name"] for r in returns] == ["values", "indices"]
    _, params, returns = gen_ops.parse_schema(
        "convolution_backward(Tensor g, SymInt[]? bias_sizes, bool[3] output_mask)"
        " -> (Tensor, Tensor, Tensor)")
    assert params[1]["optional"] and params[1]["kind"] == "INT_LIST"
    assert params[2]["kind"] == "BOOL_LIST" and params[2]["fixed_len"] == 3
    assert gen_ops.parse_schema("f(Tensor self) -> SymBool")[2][0]["kind"] == "BOOL"
    assert gen_ops.parse_schema("f(Tensor self) -> Scalar")[2][0]["kind"] == "SCALAR"
    assert gen_ops.parse_schema("f(Tensor a) -> Tensor qc")[2][0]["name"] == "qc"


@pytest.mark.parametrize("schema", [
    "f(Tensor self -> Tensor",
    "f(Tensor self)",
    "f(Frob self) -> Tensor",
    "f(Scalar[] x) -> Tensor",
    "f(Tensor x, Tensor x) -> Tensor",
    "f(Tensor) -> Tensor",
])
def test_bad_schemas_are_rejected(schema):
    with pytest.raises(ValueError):
        gen_ops.parse_schema(schema)


def test_default_value(meta):
    op = meta.OP_BY_NAME

    def dv(name, pname):
        return meta.default_value(next(p for p in op[name]["params"]
                                       if p["name"] == pname))
    assert dv("aten::add.Tensor", "alpha") == 1
    assert dv("aten::amax", "dim") == []
    assert dv("aten::_to_copy", "dtype") is None
    assert dv("aten::any.dim", "keepdim") is False
    assert dv("aten::avg_pool2d", "padding") == [0, 0]
    assert dv("aten::max_pool2d_with_indices", "dilation") == [1, 1]
    assert dv("aten::max_pool3d_with_indices", "padding") == [0, 0, 0]
    assert dv("aten::sym_is_contiguous", "memory_format") == 0
    assert dv("aten::embedding", "padding_idx") == -1
    assert dv("aten::leaky_relu", "negative_slope") == 0.01
    assert dv("aten::_pdist_forward", "p") == 2.0
    assert isinstance(dv("aten::_pdist_forward", "p"), float)
    assert dv("aten::gelu", "approximate") == "none"
    assert dv("aten::randperm", "dtype") == 4
    with pytest.raises(ValueError):
        dv("aten::mm", "self")
    assert meta.OP_BY_ID[20]["name"] == "aten::add.Tensor"
    assert len(meta.OPS) == 220


def test_every_default_converts(meta):
    for op in meta.OPS:
        for p in op["params"]:
            if p["default"] is not None:
                meta.default_value(p)


# ---------------------------------------------------------------- validation

def _write_table(tmp_path, edit):
    lines = open(os.path.join(ROOT, gen_ops.TABLE_PATH),
                 encoding="utf-8").read().split("\n")
    rows = [l.split("\t") for l in lines[1:] if l]
    edit(rows)
    path = tmp_path / "t.tsv"
    path.write_text("\n".join([lines[0]] + ["\t".join(r) for r in rows]) + "\n",
                    encoding="utf-8")
    return str(path)


def _set(row, col, value):
    row[gen_ops.COLUMNS.index(col)] = value


@pytest.mark.parametrize("edit, message", [
    (lambda rows: _set(rows[1], "name", rows[0][1]), "also used by"),
    (lambda rows: _set(rows[5], "id", "6"), "ids must be 0..N-1"),
    (lambda rows: rows.pop(3), "ids must be 0..N-1"),
    (lambda rows: _set(rows[0], "dtypes", "float32,float128"), "dtypes"),
    (lambda rows: _set(rows[0], "dtypes", ""), "dtypes"),
    (lambda rows: _set(rows[0], "tolerance", "approx"), "tolerance"),
    (lambda rows: _set(rows[20], "ulp", "0"), "tolerance ulp needs ulp > 0"),
    (lambda rows: _set(rows[7], "ulp", "2"), "ulp must be 0 unless"),
    (lambda rows: _set(rows[0], "flags", "sparkly"), "flags"),
    (lambda rows: _set(rows[0], "deviations", "int8: not a row dtype"), "deviations"),
    (lambda rows: _set(rows[0], "deviations", "float32"), "deviations"),
    (lambda rows: _set(rows[0], "kernel", "maybe"), "kernel"),
    (lambda rows: _set(rows[0], "schema", "other(Tensor self) -> Tensor"), "schema names"),
    (lambda rows: _set(rows[0], "schema", "_adaptive_avg_pool2d(Tensor self"), "schema"),
    (lambda rows: _set(rows[0], "doc", ""), "doc"),
    (lambda rows: rows[0].pop(), "columns"),
])
def test_bad_tables_are_rejected(tmp_path, edit, message):
    with pytest.raises(gen_ops.TableError, match=message):
        gen_ops.load_table(_write_table(tmp_path, edit))
