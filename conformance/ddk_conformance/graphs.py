"""Graph-level conformance cases: programs of several nodes, lowered for
the backend under test (and sometimes a second backend), run with the
debug checks, and compared end to end with the same program on the
portable kernels (ddk_conform --graphs).

    chain_across_partitions   relu -> exp -> sigmoid -> tanh: a backend that
                              takes the elementwise activations but not exp
                              runs delegate -> portable -> delegate
    two_backends              the same kind of chain with a second backend
                              (the reference-as-backend, limited to exp and
                              sub) taking what the backend under test leaves
    partial_chain             add -> mul -> add -> mm -> relu with a broadcast
                              in the middle: backends typically claim only
                              part of the chain
    mlp, cnn, attention       the small models of python/ddk/models.py
    q_conv, q_linear, q_add   int8 q/dq patterns: dequantize -> conv / addmm /
                              add -> quantize, per-channel int8 weights
    q_dwconv_relu6, q_gconv_relu
                              depthwise (stride 2, hardtanh 0..6) and grouped
                              (groups 2, stride 2, relu) convolutions
    q_maxpool, q_avgpool, q_mean
                              pooling between q/dq: max (shared q params),
                              average (ceil mode, padding not counted, new q
                              params), global mean
    q_block                   a residual block: conv -> relu -> q -> dq ->
                              conv -> q, + the skip -> relu -> q, with the
                              intermediate tensors requantised

Tags: "graph" (tier Graph) or "quant" (tier Quant-INT8), plus "model".
Each case's files are built once per case-set version under the run's
case cache: program.ddkp, input_<k>.npy and a one-line graphs TSV
(columns: name, program, inputs, rtol, atol, tags, backends, options).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

TSV_HEADER = "name\tprogram\tinputs\trtol\tatol\ttags\tbackends\toptions"

# The second backend of two_backends, and the options that limit it.
COMPANION = "reference"
COMPANION_OPTIONS = ("reference.ops=aten::exp,aten::sub.Tensor",)


@dataclass(frozen=True)
class GraphCase:
    number: int
    name: str
    tags: tuple
    build: Callable  # seed -> (program bytes, [input arrays])
    rtol: float = 1e-4
    atol: float = 1e-5
    backends: tuple = ()  # further backends, lower priority than the one under test
    options: tuple = ()


def _torch():
    import torch
    return torch


def _chain(seed: int, ops: tuple):
    torch = _torch()
    from ddk.models import GraphBuilder
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(4, 33, generator=g)
    b = GraphBuilder()
    v = b.input(x, "x")
    for k, op in enumerate(ops):
        v = b.op(op, v, name=f"n{k}")
    b.output(v)
    return b.to_bytes(), [x.numpy()]


def build_chain_across_partitions(seed: int):
    return _chain(seed, ("aten::relu", "aten::exp", "aten::sigmoid", "aten::tanh"))


def build_two_backends(seed: int):
    torch = _torch()
    from ddk.models import GraphBuilder
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(3, 17, generator=g)
    y = torch.randn(3, 17, generator=g)
    b = GraphBuilder()
    vx, vy = b.input(x, "x"), b.input(y, "y")
    h = b.op("aten::add.Tensor", vx, vy, name="add")
    h = b.op("aten::exp", h, name="exp")
    h = b.op("aten::relu", h, name="relu")
    h = b.op("aten::sub.Tensor", h, vy, name="sub")
    h = b.op("aten::tanh", h, name="tanh")
    b.output(h)
    return b.to_bytes(), [x.numpy(), y.numpy()]


def build_partial_chain(seed: int):
    torch = _torch()
    from ddk.models import GraphBuilder
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(8, 16, generator=g)
    y = torch.randn(8, 16, generator=g)
    w = torch.randn(16, 5, generator=g)
    row = torch.randn(1, 16, generator=g)
    b = GraphBuilder()
    vx, vy = b.input(x, "x"), b.input(y, "y")
    h = b.op("aten::add.Tensor", vx, vy, name="add0")
    h = b.op("aten::mul.Tensor", h, b.const(row, "row"), name="mul_bcast")
    h = b.op("aten::add.Tensor", h, vx, name="add1")
    h = b.op("aten::mm", h, b.const(w, "w"), name="mm")
    h = b.op("aten::relu", h, name="relu")
    b.output(h)
    return b.to_bytes(), [x.numpy(), y.numpy()]


def _model(name: str):
    def build(seed: int):
        from ddk.models import BUILDERS
        prog, _module, inputs = BUILDERS[name](seed)
        return prog, list(inputs)
    return build


def _qparams(t, qmin=-128, qmax=127):
    """Symmetric-ish per-tensor scale and zero point covering t."""
    lo, hi = min(float(t.min()), 0.0), max(float(t.max()), 0.0)
    scale = max(hi - lo, 1e-6) / (qmax - qmin)
    zp = int(round(qmin - lo / scale))
    return scale, max(qmin, min(qmax, zp))


def _q_setup(seed: int):
    """torch, the quantized_decomposed ops, a seeded generator, a
    GraphBuilder and torch.int8: what every q/dq case starts from."""
    torch = _torch()
    import torch.ao.quantization.fx._decomposed  # noqa: F401 (registers the ops)
    from ddk.models import GraphBuilder
    return (torch, torch.ops.quantized_decomposed, torch.Generator().manual_seed(seed),
            GraphBuilder(), torch.int8)


def _qd_w(b, w, name):
    """An int8 per-channel (axis 0, symmetric) weight constant and its
    dequantize node."""
    torch = _torch()
    qd = torch.ops.quantized_decomposed
    scale = (w.abs().flatten(1).amax(1) / 127.0).clamp(min=1e-6)
    zp = torch.zeros(w.shape[0], dtype=torch.int64)
    qw = qd.quantize_per_channel(w, scale, zp, 0, -127, 127, torch.int8)
    return b.op("quantized_decomposed::dequantize_per_channel", b.const(qw, name + "_q"),
                b.const(scale, name + "_scale"), b.const(zp, name + "_zp"), 0, -127, 127,
                torch.int8, name="dq_" + name)


def _q_requant(b, y, name, same_as=None):
    """quantize_per_tensor of float value y (q params from its range, or
    `same_as` = (scale, zp)), then its dequantize: (q value, dq value, qp)."""
    torch = _torch()
    sq, zq = same_as if same_as is not None else _qparams(y.tensor)
    q = b.op("quantized_decomposed::quantize_per_tensor", y, sq, zq, -128, 127, torch.int8,
             name="q_" + name)
    dq = b.op("quantized_decomposed::dequantize_per_tensor", q, sq, zq, -128, 127, torch.int8,
              name="dq_" + name)
    return q, dq, (sq, zq)


def _q_layers(kind: str):
    """Quantized layer patterns beyond conv/linear/add (see the module
    docstring): one int8 input, int8 output(s)."""
    def build(seed: int):
        torch, qd, g, b, i8 = _q_setup(seed)
        shape = {"q_dwconv_relu6": (1, 8, 9, 9), "q_gconv_relu": (2, 6, 7, 7),
                 "q_block": (1, 8, 6, 6)}.get(kind, (2, 5, 9, 11))
        x = torch.randn(*shape, generator=g) * 2.0
        sx, zx = _qparams(x)
        qx = qd.quantize_per_tensor(x, sx, zx, -128, 127, i8)
        vx = b.input(qx, "x_q")
        fx = b.op("quantized_decomposed::dequantize_per_tensor", vx, sx, zx, -128, 127, i8,
                  name="dq_x")
        if kind == "q_dwconv_relu6":
            w = torch.randn(8, 1, 3, 3, generator=g) * 0.5
            bias = torch.randn(8, generator=g) * 0.1
            y = b.op("aten::convolution", fx, _qd_w(b, w, "w"), b.const(bias, "bias"), [2, 2],
                     [1, 1], [1, 1], False, [0, 0], 8, name="dwconv")
            y = b.op("aten::hardtanh", y, 0.0, 6.0, name="relu6")
        elif kind == "q_gconv_relu":
            w = torch.randn(4, 3, 3, 3, generator=g) * 0.3
            y = b.op("aten::convolution", fx, _qd_w(b, w, "w"), None, [2, 2], [0, 0], [1, 1],
                     False, [0, 0], 2, name="gconv")
            y = b.op("aten::relu", y, name="relu")
        elif kind == "q_maxpool":
            y, _ = b.op("aten::max_pool2d_with_indices", fx, [3, 3], [2, 2], [1, 1], [1, 1],
                        False, name="maxpool")
            q = b.op("quantized_decomposed::quantize_per_tensor", y, sx, zx, -128, 127, i8,
                     name="q_out")
            b.output(q)
            return b.to_bytes(), [qx.numpy()]
        elif kind == "q_avgpool":
            y = b.op("aten::avg_pool2d", fx, [3, 3], [2, 2], [1, 1], True, False, None,
                     name="avgpool")
        elif kind == "q_mean":
            y = b.op("aten::mean.dim", fx, [-1, -2], True, name="mean")
        else:  # q_block
            w1 = torch.randn(8, 8, 3, 3, generator=g) * 0.2
            w2 = torch.randn(8, 8, 3, 3, generator=g) * 0.2
            h = b.op("aten::convolution", fx, _qd_w(b, w1, "w1"), b.const(torch.randn(8, generator=g) * 0.1, "b1"),
                     [1, 1], [1, 1], [1, 1], False, [0, 0], 1, name="conv1")
            h = b.op("aten::relu", h, name="relu1")
            _, h, _ = _q_requant(b, h, "h1")
            h = b.op("aten::convolution", h, _qd_w(b, w2, "w2"), None, [1, 1], [1, 1], [1, 1],
                     False, [0, 0], 1, name="conv2")
            _, h, _ = _q_requant(b, h, "h2")
            y = b.op("aten::add.Tensor", h, fx, name="add")
            y = b.op("aten::relu", y, name="relu2")
        so, zo = _qparams(y.tensor)
        out = b.op("quantized_decomposed::quantize_per_tensor", y, so, zo, -128, 127, i8,
                   name="q_out")
        b.output(out)
        return b.to_bytes(), [qx.numpy()]
    return build


def _q_pattern(kind: str):
    def build(seed: int):
        torch, qd, g, b, i8 = _q_setup(seed)
        if kind == "add":
            a = torch.randn(2, 3, 8, 8, generator=g)
            c = torch.randn(2, 3, 8, 8, generator=g)
            (sa, za), (sc, zc) = _qparams(a), _qparams(c)
            qa = qd.quantize_per_tensor(a, sa, za, -128, 127, i8)
            qc = qd.quantize_per_tensor(c, sc, zc, -128, 127, i8)
            va, vc = b.input(qa, "a_q"), b.input(qc, "c_q")
            fa = b.op("quantized_decomposed::dequantize_per_tensor", va, sa, za, -128, 127, i8, name="dq_a")
            fc = b.op("quantized_decomposed::dequantize_per_tensor", vc, sc, zc, -128, 127, i8, name="dq_c")
            y = b.op("aten::add.Tensor", fa, fc, name="add")
            so, zo = _qparams(y.tensor)
            out = b.op("quantized_decomposed::quantize_per_tensor", y, so, zo, -128, 127, i8, name="q_out")
            b.output(out)
            return b.to_bytes(), [qa.numpy(), qc.numpy()]
        if kind == "conv":
            x = torch.randn(1, 4, 10, 10, generator=g)
            w = torch.randn(6, 4, 3, 3, generator=g) * 0.3
            bias = torch.randn(6, generator=g) * 0.1
        else:
            x = torch.randn(4, 24, generator=g)
            w = torch.randn(10, 24, generator=g) * 0.3
            bias = torch.randn(10, generator=g) * 0.1
        sx, zx = _qparams(x)
        qx = qd.quantize_per_tensor(x, sx, zx, -128, 127, i8)
        vx = b.input(qx, "x_q")
        fx = b.op("quantized_decomposed::dequantize_per_tensor", vx, sx, zx, -128, 127, i8, name="dq_x")
        fw = _qd_w(b, w, "w")
        vb = b.const(bias, "bias")
        if kind == "conv":
            y = b.op("aten::convolution", fx, fw, vb, [1, 1], [1, 1], [1, 1], False, [0, 0], 1,
                     name="conv")
        else:
            wt = b.op("aten::permute", fw, [1, 0], name="w_t")
            y = b.op("aten::addmm", vb, fx, wt, name="linear")
        so, zo = _qparams(y.tensor)
        out = b.op("quantized_decomposed::quantize_per_tensor", y, so, zo, -128, 127, i8, name="q_out")
        b.output(out)
        return b.to_bytes(), [qx.numpy()]
    return build


CASES = (
    GraphCase(0, "chain_across_partitions", ("graph",), build_chain_across_partitions),
    GraphCase(1, "two_backends", ("graph",), build_two_backends,
              backends=(COMPANION,), options=COMPANION_OPTIONS),
    GraphCase(2, "partial_chain", ("graph",), build_partial_chain),
    GraphCase(3, "mlp", ("graph", "model"), _model("mlp")),
    GraphCase(4, "cnn", ("graph", "model"), _model("cnn")),
    GraphCase(5, "attention", ("graph", "model"), _model("attention")),
    # int8 outputs: at most one quantum apart (a different rounding of an
    # exact tie in the float accumulation is not a bug)
    GraphCase(6, "q_conv", ("quant",), _q_pattern("conv"), rtol=0.0, atol=1.0),
    GraphCase(7, "q_linear", ("quant",), _q_pattern("linear"), rtol=0.0, atol=1.0),
    GraphCase(8, "q_add", ("quant",), _q_pattern("add"), rtol=0.0, atol=1.0),
    GraphCase(9, "q_dwconv_relu6", ("quant",), _q_layers("q_dwconv_relu6"), rtol=0.0, atol=1.0),
    GraphCase(10, "q_gconv_relu", ("quant",), _q_layers("q_gconv_relu"), rtol=0.0, atol=1.0),
    GraphCase(11, "q_maxpool", ("quant",), _q_layers("q_maxpool"), rtol=0.0, atol=1.0),
    GraphCase(12, "q_avgpool", ("quant",), _q_layers("q_avgpool"), rtol=0.0, atol=1.0),
    GraphCase(13, "q_mean", ("quant",), _q_layers("q_mean"), rtol=0.0, atol=1.0),
    # two requantised layers before the output: one quantum per layer
    GraphCase(14, "q_block", ("quant",), _q_layers("q_block"), rtol=0.0, atol=2.0),
)


def select(tier_names=(), shard: str | None = None) -> list:
    """The graph cases of a run: those in any of `tier_names` (none given:
    all), then shard "i/n"."""
    from . import cases as _cases
    from . import tiers as _tiers
    want = [_tiers.by_name(t) for t in tier_names]
    out = [gc for gc in CASES if not want or any(t.has_graph_case(gc.tags) for t in want)]
    return _cases.shard(out, shard)


def by_name(name: str) -> GraphCase:
    for c in CASES:
        if c.name == name:
            return c
    raise KeyError(name)


def tsv_row(gc: GraphCase, prefix: str, num_inputs: int) -> str:
    inputs = ",".join(f"{prefix}input_{k}.npy" for k in range(num_inputs))
    return "\t".join([gc.name, f"{prefix}program.ddkp", inputs, repr(gc.rtol), repr(gc.atol),
                      ",".join(gc.tags), ",".join(gc.backends), ";".join(gc.options)])


def write_case_files(gc: GraphCase, folder: Path, seed: int = 0) -> int:
    """Writes program.ddkp and input_<k>.npy of `gc` into `folder`;
    returns the number of inputs."""
    prog, inputs = gc.build(seed)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "program.ddkp").write_bytes(prog)
    for k, a in enumerate(inputs):
        np.save(folder / f"input_{k}.npy", np.ascontiguousarray(a))
    return len(inputs)


def ensure_built(root: Path, gc: GraphCase, seed: int = 0) -> Path:
    """The one-case TSV of `gc` under root/<name>/, built once (atomically:
    concurrent workers may race)."""
    folder = root / gc.name
    tsv = folder / "case.tsv"
    if tsv.exists():
        return tsv
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=root, prefix=f".{gc.name}."))
    n = write_case_files(gc, tmp, seed)
    (tmp / "case.tsv").write_text(TSV_HEADER + "\n" + tsv_row(gc, "", n) + "\n")
    try:
        os.rename(tmp, folder)
    except OSError:  # another worker won
        shutil.rmtree(tmp, ignore_errors=True)
    return tsv
