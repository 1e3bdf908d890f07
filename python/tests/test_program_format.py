"""The pure-Python writer and reader of the program format (ddk.program).

Programs written in Python read back unchanged in Python, byte for byte;
argument conversion follows the op schemas; malformed bytes raise
ProgramFormatError naming the place. When libddk.so is built, the C loader
accepts every Python-written program and its writer reproduces the same
bytes (both writers produce the canonical layout of docs/program_format.md).
"""

from __future__ import annotations

import re
import struct

import numpy as np
import pytest

from ddk import program as P
from ddk.program import Arg, Program, ProgramFormatError, QuantParams, TensorSpec


# --------------------------------------------------------------------------
# Programs
# --------------------------------------------------------------------------


def small_program() -> Program:
    """y = x + w."""
    p = Program()
    x = p.add_input("float32", [2, 3], name="x")
    w = p.add_constant(np.array([1, 2, 3], np.float32), name="w")
    y = p.add_value("float32", [2, 3], name="y")
    p.add_node("aten::add.Tensor", [x, w], outputs=[y], name="add")
    p.add_output(y)
    return p


def rich_program() -> Program:
    """Every arg kind, quantization, dynamic dims, dim orders, constants of
    several dtypes, a multi-output and a Tensor[]-returning op, a delegate."""
    p = Program()
    x = p.add_input("float32", [2, 3], name="x")
    w = p.add_constant(np.array([1, 2, 3], np.float32), name="w")
    y = p.add_value("float32", [2, 3], name="y")
    z = p.add_value("float32", [2, 3], name="z")
    c = p.add_value("float32", [4, 3], name="c")
    qw = p.add_constant(np.array([[1, -2, 3], [-4, 5, -6]], np.int8), name="qw",
                        quant=QuantParams.per_channel([0.5, 0.25], [0, 1], 0,
                                                      -128, 127))
    clamped = p.add_value("float32", [4, 3], name="clamped")
    d = p.add_input("float32", [5, 3], name="d", dynamic={0: 5})
    r = p.add_value(TensorSpec("float32", [5, 3], dynamic=[0]), name="r")
    fl = p.add_value("float32", [2, 3], name="fl")
    x64 = p.add_value("float64", [2, 3], name="x64", dim_order=[1, 0])
    idx = p.add_constant(np.array([2, 0], np.int64), name="idx")
    g = p.add_value("float32", [2, 2], name="g")
    x4 = p.add_input("float32", [1, 1, 2, 3], name="x4", dim_order=[0, 2, 3, 1])
    up = p.add_value("float32", [1, 1, 4, 6], name="up")
    mean = p.add_constant(np.arange(4, dtype=np.float32).reshape(1, 1, 4, 1),
                          name="mean")
    gi = p.add_value("float32", [1, 1, 4, 6], name="gi")
    gw = p.add_value("float32", [6], name="gw")
    gb = p.add_value("float32", [6], name="gb")
    cafe = p.add_input("float32", [], name="caf\u00e9")
    p.add_input("int8", [4], name="q_in",
                quant=QuantParams.per_tensor(0.1, -3, -128, 127))
    # Constants of other dtypes and layouts (unused by nodes: allowed).
    p.add_constant(np.arange(24, dtype=np.float32).reshape(1, 2, 3, 4),
                   name="channels_last", dim_order=[0, 2, 3, 1])
    p.add_constant(np.array([True, False, True]), name="mask")
    p.add_constant(np.array([0x3F80, 0x4000], np.uint16), name="bf16",
                   dtype="bfloat16")
    p.add_constant(np.float64(2.5), name="scalar")
    p.add_constant(np.zeros((0, 3), np.float32), name="empty")

    p.add_node("aten::add.Tensor", [x, w], outputs=[y], name="model.add")
    p.add_node("aten::mul.Tensor", [y, y], outputs=[z])
    p.add_node("aten::cat", [[y, z]], {"dim": 0}, outputs=[c])
    p.add_node("aten::clamp", [c], {"max": 6.0}, outputs=[clamped])
    s0 = p.add_value("float32", [1, 3], name="s0")
    s1 = p.add_value("float32", [3, 3], name="s1")
    p.add_node("aten::split_with_sizes", [c, [1, 3]], outputs=[s0, s1])
    ln = p.add_node("aten::native_layer_norm_backward",
                    [up, up, [6], mean, mean, None, None, [True, False, True]],
                    outputs=[gi, gw, gb])
    ups = p.add_node("aten::upsample_nearest2d.vec", [x4, None, [2.0, 2.0]],
                     outputs=[up])
    p.add_node("aten::relu", [d], outputs=[r])
    p.add_node("aten::div.Tensor_mode", [x, x], {"rounding_mode": "floor"},
               outputs=[fl])
    p.add_node("aten::_to_copy", [x], {"dtype": "float64", "device": "cpu",
                                       "memory_format": "preserve_format"},
               outputs=[x64])
    p.add_node("aten::index.Tensor", [x, [None, idx]], outputs=[g])
    p.add_delegate("test_backend", b"BLOB" + bytes(range(60)), [ups, ln],
                   [x4], [gi], compat="test:fmt=1")
    # The delegate lists its nodes in execution order (upsample, then the
    # layer-norm backward that reads it); the default plan runs the
    # delegate in place of its lowest-numbered node.
    for v in (clamped, s0, s1, r, fl, x64, g, gi, cafe):
        p.add_output(v)
    return p


# --------------------------------------------------------------------------
# Python round trip
# --------------------------------------------------------------------------


@pytest.mark.parametrize("build", [small_program, rich_program])
def test_round_trip_is_byte_identical(build):
    data = build().to_bytes()
    again = Program.from_bytes(data)
    assert again.to_bytes() == data


def test_round_trip_keeps_everything():
    src = rich_program()
    dst = Program.from_bytes(src.to_bytes())
    assert len(dst.values) == len(src.values)
    for a, b in zip(src.values, dst.values):
        assert (a.name, a.flags, a.spec) == (b.name, b.flags, b.spec), a
        if a.data is None:
            assert b.data is None
        else:
            assert b.data.dtype == a.data.dtype and b.data.shape == a.data.shape
            np.testing.assert_array_equal(a.data, b.data)
    for a, b in zip(src.nodes, dst.nodes):
        assert (a.op_name, a.op_id, a.args, a.name) == (b.op_name, b.op_id,
                                                         b.args, b.name)
        assert [v.index for v in a.outputs] == [v.index for v in b.outputs]
    assert [v.index for v in dst.inputs] == [v.index for v in src.inputs]
    assert [v.index for v in dst.outputs] == [v.index for v in src.outputs]
    (d,) = dst.delegates
    assert (d.backend_id, d.compat, d.blob, d.nodes) == \
        ("test_backend", "test:fmt=1", src.delegates[0].blob, [6, 5])
    assert [v.name for v in d.inputs] == ["x4"] and d.outputs[0].name == "gi"
    assert dst.plan == src.plan_or_default()
    assert dst.values[5].spec.quant == src.values[5].spec.quant
    assert dst.values[7].spec.dynamic == {0}
    assert dst.values[19].name == "caf\u00e9" and dst.values[19].spec.rank == 0


def test_constants_are_stored_in_dim_order():
    p = Program()
    arr = np.arange(24, dtype=np.float32).reshape(1, 2, 3, 4)
    v = p.add_constant(arr, name="c", dim_order=[0, 2, 3, 1])
    p.add_output(v)
    data = p.to_bytes()
    # The first CONSTANTS bytes are channels-last: c[0,:,0,0] varies fastest.
    table = {sid: (off, size) for sid, _f, off, size in
             (P._ENTRY.unpack_from(data, 64 + 24 * i)
              for i in range(struct.unpack_from("<I", data, 24)[0]))}
    off, size = table[P.CONSTANTS]
    stored = np.frombuffer(data[off:off + size], np.float32)
    np.testing.assert_array_equal(stored[:4], [0, 12, 1, 13])
    assert off % 64 == 0
    np.testing.assert_array_equal(Program.from_bytes(data).values[0].data, arr)


def test_strings_are_deduplicated():
    p = Program()
    for _ in range(3):
        p.add_input("float32", [1], name="same")
    data = p.to_bytes()
    assert data.count(b"same\0") == 1


# --------------------------------------------------------------------------
# Argument conversion
# --------------------------------------------------------------------------


def node_args(build):
    p = Program()
    x = p.add_input("float32", [2, 2], name="x")
    out = p.add_value("float32", [2, 2])
    return p, build(p, x, out)


def test_defaults_are_filled():
    _, n = node_args(lambda p, x, o: p.add_node("aten::add.Tensor", [x, x],
                                                outputs=[o]))
    assert n.args == [Arg(P.ARG_TENSOR, 0), Arg(P.ARG_TENSOR, 0), Arg(P.ARG_INT, 1)]
    p = Program()
    x = p.add_input("float32", [1, 1, 4, 4])
    o1, o2 = p.add_value("float32", [1, 1, 2, 2]), p.add_value("int64", [1, 1, 2, 2])
    n = p.add_node("aten::max_pool2d_with_indices", [x, [2, 2]], outputs=[o1, o2])
    # stride=[] padding=0 dilation=1 ceil_mode=False; int[2] scalars expand.
    assert n.args[2:] == [Arg(P.ARG_INT_LIST, []), Arg(P.ARG_INT_LIST, [0, 0]),
                          Arg(P.ARG_INT_LIST, [1, 1]), Arg(P.ARG_BOOL, False)]


def test_scalars_keep_their_kind():
    kinds = []
    for alpha in (2, 2.5, True, np.int32(3), np.float32(0.5)):
        _, n = node_args(lambda p, x, o: p.add_node(
            "aten::add.Tensor", [x, x], {"alpha": alpha}, outputs=[o]))
        kinds.append(n.args[2].kind)
    assert kinds == [P.ARG_INT, P.ARG_FLOAT, P.ARG_BOOL, P.ARG_INT, P.ARG_FLOAT]


def test_enum_like_params():
    torch = pytest.importorskip("torch")
    p = Program()
    x = p.add_input("float32", [1, 2, 2, 2])
    o = p.add_value("float16", [1, 2, 2, 2])
    n = p.add_node("aten::_to_copy", [x], {"dtype": torch.float16,
                                           "layout": torch.strided,
                                           "device": torch.device("cpu"),
                                           "memory_format": torch.channels_last},
                   outputs=[o])
    assert n.args[1:4] == [Arg(P.ARG_DTYPE, 5), Arg(P.ARG_INT, 0),
                           Arg(P.ARG_STRING, "cpu")]
    assert n.args[6] == Arg(P.ARG_INT, 2)
    assert P.dtype_number(torch.bfloat16) == 15
    assert P.dtype_number("long") == 4 and P.dtype_number(np.float64) == 7


@pytest.mark.parametrize("call, message", [
    (lambda p, x, o: p.add_node("aten::nope", [x], outputs=[o]), "unknown op"),
    (lambda p, x, o: p.add_node("aten::add.Tensor", [x], outputs=[o]),
     "missing argument 'other'"),
    (lambda p, x, o: p.add_node("aten::add.Tensor", [x, x, 1], outputs=[o]),
     "positional"),
    (lambda p, x, o: p.add_node("aten::add.Tensor", [x, x], {"beta": 1},
                                outputs=[o]), "no parameter named 'beta'"),
    (lambda p, x, o: p.add_node("aten::add.Tensor", [x, None], outputs=[o]),
     "not optional"),
    (lambda p, x, o: p.add_node("aten::add.Tensor", [x, x], {"alpha": "2"},
                                outputs=[o]), "param 'alpha'"),
    (lambda p, x, o: p.add_node("aten::cat", [[x, None]], outputs=[o]),
     "only Tensor?[]"),
    (lambda p, x, o: p.add_node("aten::add.Tensor", [x, 99], outputs=[o]),
     "out of range"),
    (lambda p, x, o: p.add_node("aten::add.Tensor", [x, x], outputs=[o, o]),
     "2 outputs, but the schema returns 1"),
    (lambda p, x, o: p.add_node("aten::_softmax", [x, 1.5, False], outputs=[o]),
     "expected an int"),
])
def test_bad_arguments_are_refused(call, message):
    with pytest.raises((TypeError, ValueError, IndexError), match=re.escape(message)):
        node_args(call)


def test_bad_specs_are_refused():
    with pytest.raises(ValueError, match="permutation"):
        TensorSpec("float32", [2, 3], dim_order=[0, 0])
    with pytest.raises(ValueError, match="unknown dtype"):
        TensorSpec("float8", [2])
    with pytest.raises(ValueError, match="rank 9"):
        TensorSpec("float32", [1] * 9)
    with pytest.raises(ValueError, match="bfloat16"):
        Program().add_constant(np.ones(2, np.float32), dtype="bfloat16")


# --------------------------------------------------------------------------
# Malformed bytes
# --------------------------------------------------------------------------


def test_malformed_bytes_name_the_problem():
    data = small_program().to_bytes()
    cases = {
        "shorter than": data[:10],
        "header.file_size": data[:-1],
        "header.magic": b"X" + data[1:],
        "format 2.0 is not supported": data[:8] + b"\x02" + data[9:],
        "header.flags": data[:28] + b"\x01" + data[29:],
    }
    for message, bad in cases.items():
        with pytest.raises(ProgramFormatError, match=message):
            Program.from_bytes(bad)
    b = bytearray(data)
    (count,) = struct.unpack_from("<I", b, 24)
    for i in range(count):  # point the NODES record's op_id outside the table
        sid, _f, off, _size = P._ENTRY.unpack_from(b, 64 + 24 * i)
        if sid == P.NODES:
            struct.pack_into("<I", b, off, 99999)
    with pytest.raises(ProgramFormatError, match=r"NODES\[0\].op_id: 99999"):
        Program.from_bytes(bytes(b))


def test_every_truncation_is_refused():
    data = small_program().to_bytes()
    for n in range(len(data)):
        with pytest.raises(ProgramFormatError):
            Program.from_bytes(data[:n])


# --------------------------------------------------------------------------
# The C loader (libddk.so through the ctypes binding)
# --------------------------------------------------------------------------


def _c_round_trip(data: bytes) -> bytes:
    from ddk.runtime import LoadedProgram

    with LoadedProgram.from_bytes(data) as loaded:  # load + verify in C
        return loaded.to_bytes()                     # ddk_program_serialize


@pytest.mark.parametrize("build", [small_program, rich_program])
def test_c_accepts_python_programs(libddk, build):
    data = build().to_bytes()
    assert _c_round_trip(data) == data


def test_c_accepts_the_example_models(libddk, model):
    name, data, _module, _inputs = model
    assert Program.from_bytes(data).to_bytes() == data, name
    assert _c_round_trip(data) == data, name


def test_c_refuses_what_python_cannot_see(libddk):
    """A schema-level error that only the C verifier checks: a cycle."""
    from ddk.runtime import DDKError

    p = small_program()
    p.nodes[0].args[0] = Arg(P.ARG_TENSOR, 2)  # add reads its own output
    with pytest.raises(DDKError, match=r"NODES\[0\].args\[0\]: value 2 \('y'\) "
                                       r"is read before NODES\[0\] produces it"):
        _c_round_trip(p.to_bytes())
