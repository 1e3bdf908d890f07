"""Three small models, each built twice with the same weights: as a
PyTorch ``nn.Module`` and, by hand, as a DDK program of core-ATen ops that
have portable kernels.

    program_bytes, module, example_inputs = build_mlp(seed)

``example_inputs`` is a tuple of float32 numpy arrays; ``module`` is in
eval mode, so ``module(*map(torch.from_numpy, example_inputs))`` under
``torch.no_grad()`` is the reference the program must match.

The graphs are written node by node (this is not the torch.export
exporter). Every node is also evaluated eagerly with the matching
``torch.ops.aten`` overload while the graph is built: that gives each
value its shape and dtype and checks, at build time, that the op sequence
computes what the module computes.

The elementwise ops the template backend claims (fp32 add / mul / relu /
sigmoid / tanh on same-shape operands) sit between ops it does not claim
(addmm, convolution, pooling, bmm, softmax), so lowering crosses partition
boundaries portable -> template -> portable.

Importing this module imports torch; ``import ddk`` does not.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from ddk.program import Program

__all__ = ["build_mlp", "build_cnn", "build_attention", "BUILDERS", "GraphBuilder"]

_aten = torch.ops.aten


class _Value:
    """A program value during building: its index and an eager shadow."""

    __slots__ = ("index", "tensor")

    def __init__(self, index: Any, tensor: torch.Tensor):
        self.index = index
        self.tensor = tensor

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.tensor.shape)


def _np(t: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(t.detach().cpu().numpy())


_DTYPE_NAME = {torch.float32: "float32", torch.int64: "int64",
               torch.float64: "float64", torch.int32: "int32", torch.bool: "bool",
               torch.int8: "int8", torch.uint8: "uint8"}


class _Builder:
    """Builds a Program and its eager shadow side by side."""

    def __init__(self):
        self.program = Program()

    # -- leaves ----------------------------------------------------------
    def input(self, tensor: torch.Tensor, name: str) -> _Value:
        t = tensor.detach().contiguous()
        idx = self.program.add_input(_DTYPE_NAME[t.dtype], list(t.shape), name=name)
        return _Value(idx, t)

    def const(self, tensor: torch.Tensor, name: str) -> _Value:
        t = tensor.detach().contiguous()
        idx = self.program.add_constant(_np(t), name=name)
        return _Value(idx, t)

    # -- nodes -----------------------------------------------------------
    def op(self, op_name: str, *args: Any, name: str = "", **kwargs: Any):
        """Adds node `op_name` with schema-ordered positional `args` and
        keyword `kwargs` (schema parameter names). Returns the output
        _Value (or a tuple for multi-output ops)."""
        fn = self._aten_overload(op_name)
        shadow_args = [self._shadow(a) for a in args]
        shadow_kwargs = {k: self._shadow(v) for k, v in kwargs.items()}
        result = fn(*shadow_args, **shadow_kwargs)
        results = list(result) if isinstance(result, (tuple, list)) else [result]
        # The runtime's values are contiguous: so are the shadows.
        results = [r.contiguous() for r in results]
        outs = []
        for k, r in enumerate(results):
            vname = f"{name}.{k}" if len(results) > 1 else name
            idx = self.program.add_value(_DTYPE_NAME[r.dtype], list(r.shape),
                                         name=vname)
            outs.append(_Value(idx, r))
        self.program.add_node(
            op_name,
            [self._ref(a) for a in args],
            {k: self._ref(v) for k, v in kwargs.items()},
            outputs=[o.index for o in outs],
            name=name,
        )
        return tuple(outs) if len(outs) > 1 else outs[0]

    def output(self, v: _Value) -> None:
        self.program.add_output(v.index)

    def to_bytes(self) -> bytes:
        return self.program.to_bytes()

    # -- helpers ---------------------------------------------------------
    @staticmethod
    def _aten_overload(op_name: str):
        ns, _, rest = op_name.partition("::")
        if ns == "quantized_decomposed":
            import torch.ao.quantization.fx._decomposed as _qd  # noqa: F401 (registers the ops)
        assert ns in ("aten", "quantized_decomposed"), op_name
        base, _, overload = rest.partition(".")
        packet = getattr(getattr(torch.ops, ns), base)
        return getattr(packet, overload or "default")

    def _shadow(self, a: Any) -> Any:
        if isinstance(a, _Value):
            return a.tensor
        if isinstance(a, (list, tuple)) and a and isinstance(a[0], _Value):
            return [x.tensor for x in a]
        return a

    def _ref(self, a: Any) -> Any:
        if isinstance(a, _Value):
            return a.index
        if isinstance(a, (list, tuple)) and a and isinstance(a[0], _Value):
            return [self._ref(x) for x in a]
        return a

    # -- composite patterns ---------------------------------------------
    def linear(self, x: _Value, layer: nn.Linear, name: str,
               transpose_in_graph: bool = False) -> _Value:
        """addmm(bias, x, W^T): W^T either as a pre-transposed constant or
        as permute(W, [1, 0]) in the graph."""
        if transpose_in_graph:
            w = self.const(layer.weight, f"{name}.weight")
            wt = self.op("aten::permute", w, [1, 0], name=f"{name}.weight_t")
        else:
            wt = self.const(layer.weight.t(), f"{name}.weight_t")
        if layer.bias is None:
            return self.op("aten::mm", x, wt, name=name)
        b = self.const(layer.bias, f"{name}.bias")
        return self.op("aten::addmm", b, x, wt, name=name)


def _finish(b: _Builder, module: nn.Module, inputs: Sequence[torch.Tensor],
            outputs: Sequence[_Value]):
    """Checks the shadow against the module; returns the builder's triple."""
    with torch.no_grad():
        expected = module(*inputs)
    expected = expected if isinstance(expected, (tuple, list)) else (expected,)
    for v, e in zip(outputs, expected):
        if v.tensor.shape != e.shape or not torch.allclose(v.tensor, e, rtol=1e-5,
                                                           atol=1e-6):
            raise AssertionError(
                f"{type(module).__name__}: the hand-built graph does not compute "
                "what the module computes")
        b.output(v)
    return b.to_bytes(), module, tuple(_np(x) for x in inputs)


def _seeded(seed: int):
    """A forked, seeded RNG: building never disturbs the caller's torch RNG."""
    return torch.random.fork_rng(devices=[])


# --------------------------------------------------------------------------
# MLP
# --------------------------------------------------------------------------


class MLP(nn.Module):
    """Linear(16,32) -> ReLU -> Linear(32,32) -> Tanh -> Linear(32,8)."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(16, 32)
        self.fc2 = nn.Linear(32, 32)
        self.fc3 = nn.Linear(32, 8)

    def forward(self, x):
        x = torch.relu(self.fc1(x))
        x = torch.tanh(self.fc2(x))
        return self.fc3(x)


def build_mlp(seed: int = 0):
    """(program_bytes, MLP module, (x[4,16],))."""
    with _seeded(seed):
        torch.manual_seed(seed)
        m = MLP().eval()
        x = torch.randn(4, 16)
    b = _Builder()
    with torch.no_grad():
        xv = b.input(x, "x")
        h = b.linear(xv, m.fc1, "fc1")                          # portable
        h = b.op("aten::relu", h, name="relu1")                 # template
        h = b.linear(h, m.fc2, "fc2", transpose_in_graph=True)  # portable
        h = b.op("aten::tanh", h, name="tanh2")                 # template
        y = b.linear(h, m.fc3, "fc3")                           # portable
    return _finish(b, m, (x,), [y])


# --------------------------------------------------------------------------
# CNN
# --------------------------------------------------------------------------


class CNN(nn.Module):
    """conv3x3(3->8, pad 1) -> ReLU -> maxpool 2x2 -> conv3x3(8->16, groups 2,
    dilation 2, pad 2) -> x*sigmoid(x) -> avgpool 2x2 -> mean over H,W ->
    Linear(16->10)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=2, dilation=2, groups=2)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = torch.relu(self.conv1(x))
        x = nn.functional.max_pool2d(x, 2)
        x = self.conv2(x)
        x = x * torch.sigmoid(x)
        x = nn.functional.avg_pool2d(x, 2)
        x = x.mean(dim=(2, 3))
        return self.fc(x)


def _conv(b: _Builder, x: _Value, conv: nn.Conv2d, name: str) -> _Value:
    w = b.const(conv.weight, f"{name}.weight")
    bias = b.const(conv.bias, f"{name}.bias") if conv.bias is not None else None
    return b.op("aten::convolution", x, w, bias, list(conv.stride),
                list(conv.padding), list(conv.dilation), False, [0, 0],
                conv.groups, name=name)


def build_cnn(seed: int = 0):
    """(program_bytes, CNN module, (x[2,3,16,16],))."""
    with _seeded(seed):
        torch.manual_seed(seed)
        m = CNN().eval()
        x = torch.randn(2, 3, 16, 16)
    b = _Builder()
    with torch.no_grad():
        xv = b.input(x, "x")
        h = _conv(b, xv, m.conv1, "conv1")                            # portable
        h = b.op("aten::relu", h, name="relu1")                       # template
        h, _idx = b.op("aten::max_pool2d_with_indices", h, [2, 2], [2, 2],
                       name="pool1")                                  # portable
        h = _conv(b, h, m.conv2, "conv2")                             # portable
        g = b.op("aten::sigmoid", h, name="gate")                     # template
        h = b.op("aten::mul.Tensor", h, g, name="swish")              # template
        h = b.op("aten::avg_pool2d", h, [2, 2], [2, 2], name="pool2")  # portable
        h = b.op("aten::mean.dim", h, [2, 3], False, name="gap")      # portable
        y = b.linear(h, m.fc, "fc", transpose_in_graph=True)          # portable
    return _finish(b, m, (x,), [y])


# --------------------------------------------------------------------------
# Attention block
# --------------------------------------------------------------------------


class AttentionBlock(nn.Module):
    """Two-head self-attention with a residual, then a gated MLP
    (relu(fc1 h) * sigmoid(gate h) -> fc2) with a residual."""

    def __init__(self, dim: int = 16, heads: int = 2, hidden: int = 32):
        super().__init__()
        self.dim, self.heads = dim, heads
        self.q = nn.Linear(dim, dim)
        self.k = nn.Linear(dim, dim)
        self.v = nn.Linear(dim, dim)
        self.o = nn.Linear(dim, dim)
        self.fc1 = nn.Linear(dim, hidden)
        self.gate = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        bsz, seq, dim = x.shape
        hd = dim // self.heads

        def heads(t):
            return t.reshape(bsz, seq, self.heads, hd).transpose(1, 2)

        q, k, v = heads(self.q(x)), heads(self.k(x)), heads(self.v(x))
        scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hd))
        attn = torch.softmax(scores, dim=-1)
        ctx = (attn @ v).transpose(1, 2).reshape(bsz, seq, dim)
        h = x + self.o(ctx)
        m = torch.relu(self.fc1(h)) * torch.sigmoid(self.gate(h))
        return h + self.fc2(m)


def build_attention(seed: int = 0):
    """(program_bytes, AttentionBlock module, (x[2,8,16],))."""
    bsz, seq, dim, nh = 2, 8, 16, 2
    hd = dim // nh
    with _seeded(seed):
        torch.manual_seed(seed)
        m = AttentionBlock(dim, nh, 32).eval()
        x = torch.randn(bsz, seq, dim)
    b = _Builder()
    with torch.no_grad():
        xv = b.input(x, "x")
        x2 = b.op("aten::view", xv, [bsz * seq, dim], name="x2d")

        def head_split(t: _Value, name: str, transpose_last: bool) -> _Value:
            # [B*T, C] -> [B, T, H, D] -> [B, H, T, D] (or [B, H, D, T]) -> [B*H, ., .]
            t = b.op("aten::view", t, [bsz, seq, nh, hd], name=f"{name}.split")
            perm = [0, 2, 3, 1] if transpose_last else [0, 2, 1, 3]
            t = b.op("aten::permute", t, perm, name=f"{name}.heads")
            t = b.op("aten::clone", t, name=f"{name}.contig")
            shape = [bsz * nh, hd, seq] if transpose_last else [bsz * nh, seq, hd]
            return b.op("aten::view", t, shape, name=f"{name}.3d")

        q = head_split(b.linear(x2, m.q, "q"), "q", False)
        kt = head_split(b.linear(x2, m.k, "k"), "k", True)
        v = head_split(b.linear(x2, m.v, "v", transpose_in_graph=True), "v", False)
        scores = b.op("aten::bmm", q, kt, name="scores")              # portable
        scale = b.const(torch.full(scores.shape, 1.0 / math.sqrt(hd)), "scale")
        scores = b.op("aten::mul.Tensor", scores, scale, name="scaled")  # template
        attn = b.op("aten::_softmax", scores, -1, False, name="softmax")  # portable
        ctx = b.op("aten::bmm", attn, v, name="ctx")                  # portable
        ctx = b.op("aten::view", ctx, [bsz, nh, seq, hd], name="ctx.4d")
        ctx = b.op("aten::permute", ctx, [0, 2, 1, 3], name="ctx.merge")
        ctx = b.op("aten::clone", ctx, name="ctx.contig")
        ctx = b.op("aten::view", ctx, [bsz * seq, dim], name="ctx.2d")
        proj = b.linear(ctx, m.o, "o")                                # portable
        h = b.op("aten::add.Tensor", x2, proj, name="residual1")      # template
        a = b.linear(h, m.fc1, "fc1")                                 # portable
        g = b.linear(h, m.gate, "gate", transpose_in_graph=True)      # portable
        a = b.op("aten::relu", a, name="fc1.relu")                    # template
        g = b.op("aten::sigmoid", g, name="gate.sigmoid")             # template
        mm = b.op("aten::mul.Tensor", a, g, name="gated")             # template
        f = b.linear(mm, m.fc2, "fc2")                                # portable
        y = b.op("aten::add.Tensor", h, f, name="residual2")          # template
        y = b.op("aten::view", y, [bsz, seq, dim], name="y")
    return _finish(b, m, (x,), [y])


# Public name of the builder: the conformance suite builds its graph cases
# with it (conformance/ddk_conformance/graphs.py).
GraphBuilder = _Builder

BUILDERS = {"mlp": build_mlp, "cnn": build_cnn, "attention": build_attention}
