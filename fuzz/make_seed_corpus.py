#!/usr/bin/env python3
"""Writes the seed corpus of the program reader fuzzer: a few small valid
programs, written with python/ddk/program.py, into
fuzz/corpus/program_reader/ (checked in; keep the total under 20 KB).

Usage: python3 fuzz/make_seed_corpus.py [output_dir]
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "python"))

import numpy as np  # noqa: E402

from ddk.program import Program, QuantParams, TensorSpec  # noqa: E402


def identity():
    """No nodes: the input is the output."""
    p = Program()
    x = p.add_input("float32", [3], name="x")
    p.add_output(x)
    return p


def add():
    """y = x + w, w a constant."""
    p = Program()
    x = p.add_input("float32", [2, 3], name="x")
    w = p.add_constant(np.array([1, 2, 3], np.float32), name="w")
    y = p.add_value("float32", [2, 3], name="y")
    p.add_node("aten::add.Tensor", [x, w], outputs=[y], name="add")
    p.add_output(y)
    return p


def lists_and_kinds():
    """Tensor lists (with None), int/float/bool lists, Scalar, str, dtype,
    a Tensor[] return, dynamic dims, channels-last, quantization."""
    p = Program()
    x = p.add_input("float32", [2, 3], name="x")
    d = p.add_input(TensorSpec("float32", [4, 3], dynamic={0: 4}), name="d")
    p.add_input("int8", [4], name="q",
                quant=QuantParams.per_tensor(0.1, -3, -128, 127))
    p.add_constant(np.array([[1, -2, 3], [4, 5, -6]], np.int8), name="qw",
                   quant=QuantParams.per_channel([0.5, 0.25], [0, 1], 0, -128, 127))
    idx = p.add_constant(np.array([2, 0], np.int64), name="idx")
    c = p.add_value("float32", [4, 3], name="c")
    p.add_node("aten::cat", [[x, x]], outputs=[c])
    cl = p.add_value("float32", [4, 3], name="cl")
    p.add_node("aten::clamp", [c], {"max": 6.0}, outputs=[cl])
    s0, s1 = p.add_value("float32", [1, 3]), p.add_value("float32", [3, 3])
    p.add_node("aten::split_with_sizes", [cl, [1, 3]], outputs=[s0, s1])
    r = p.add_value(TensorSpec("float32", [4, 3], dynamic=[0]), name="r")
    p.add_node("aten::relu", [d], outputs=[r])
    fl = p.add_value("float32", [2, 3], name="fl")
    p.add_node("aten::div.Tensor_mode", [x, x], {"rounding_mode": "floor"},
               outputs=[fl])
    x64 = p.add_value("float64", [2, 3], name="x64", dim_order=[1, 0])
    p.add_node("aten::_to_copy", [x], {"dtype": "float64"}, outputs=[x64])
    g = p.add_value("float32", [2, 2], name="g")
    p.add_node("aten::index.Tensor", [x, [None, idx]], outputs=[g])
    for v in (s0, s1, r, fl, x64, g):
        p.add_output(v)
    return p


def delegated():
    """A delegate (float list, bool list args inside) between kernels."""
    p = Program()
    x4 = p.add_input("float32", [1, 1, 2, 3], name="x4", dim_order=[0, 2, 3, 1])
    mean = p.add_constant(np.ones((1, 1, 4, 1), np.float32), name="mean")
    up = p.add_value("float32", [1, 1, 4, 6], name="up")
    gi = p.add_value("float32", [1, 1, 4, 6], name="gi")
    gw, gb = p.add_value("float32", [6]), p.add_value("float32", [6])
    ups = p.add_node("aten::upsample_nearest2d.vec", [x4, None, [2.0, 2.0]],
                     outputs=[up])
    ln = p.add_node("aten::native_layer_norm_backward",
                    [up, up, [6], mean, mean, None, None, [True, False, True]],
                    outputs=[gi, gw, gb])
    r = p.add_value("float32", [1, 1, 4, 6], name="r")
    p.add_node("aten::relu", [gi], outputs=[r])
    p.add_delegate("sample_npu", b"\x01\x02blob", [ups, ln], [x4], [gi],
                   compat="sample_npu:fmt=1")
    p.add_output(r)
    return p


SEEDS = {"identity": identity, "add": add, "lists_and_kinds": lists_and_kinds,
         "delegated": delegated}


def main(argv):
    out = argv[1] if len(argv) > 1 else os.path.join(HERE, "corpus", "program_reader")
    os.makedirs(out, exist_ok=True)
    total = 0
    for name, build in SEEDS.items():
        data = build().to_bytes()
        with open(os.path.join(out, name + ".ddk"), "wb") as f:
            f.write(data)
        total += len(data)
        print(f"{name}.ddk: {len(data)} bytes")
    print(f"total {total} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
