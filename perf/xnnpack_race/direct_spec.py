"""Flat layer lists ("direct specs") of zoo CNNs for the xnnpack_direct driver.

The performance race compares the DDK's XNNPACK delegate with XNNPACK driven
directly: the same model built by hand as one XNNPACK subgraph, NHWC, with
nothing in between.  This module turns a zoo model (``ddk.zoo.build``, same
seed and input size, so the same weights and example input) into the file
that ``xnnpack_direct`` (perf/xnnpack_race/xnnpack_direct.c) reads:

    python3 perf/xnnpack_race/direct_spec.py resnet18 mobilenet_v2_int8 \\
        --out build-perf/xnnpack_race [--seed 0] [--input-size 224]

writes ``NAME.xspec`` (text) and ``NAME.bin`` (raw weights) per model into
the folder; ``--model NAME --out FILE`` writes one spec to FILE and its
weights beside it (FILE with the suffix ``.bin``).

Supported: mobilenet_v2, resnet18, resnet50 and their ``_int8`` variants.
``vit_b_16`` gets an n/a spec (the driver prints its reason): the 2022
XNNPACK subgraph API has no transpose, batch matmul, layer norm or GELU.

Spec format (version 1), one record per line, blank lines and lines
starting with ``#`` ignored, fields separated by single spaces::

    xnnpack_direct_spec 1
    model NAME                       [A-Za-z0-9_.-]+
    na REASON...                     (n/a spec: nothing else follows)
    dtype fp32|qs8
    weights FILE BYTES               blob, relative to the spec's folder
    values V
    v ID N H W C SCALE ZERO_POINT    V lines, ID = 0..V-1; NHWC shape;
                                     SCALE/ZERO_POINT: per-tensor int8
                                     parameters (fp32: 1 0)
    input ID OFFSET                  the graph input and the blob offset of
                                     its data (fp32 or int8, NHWC)
    output ID
    layers L
    conv IN OUT KH KW SH SW PT PL PB PR DH DW GROUPS MIN MAX W B S
    maxpool IN OUT KH KW SH SW PT PL PB PR
    add IN1 IN2 OUT MIN MAX
    gap IN OUT
    fc IN OUT MIN MAX W B S
    end

Layers are in execution order; every value but the input is the output of
exactly one layer.  W, B and S are byte offsets into the blob (64-byte
aligned; S is -1 in fp32 specs):

* conv: weights OHWI ``[C_out, KH, KW, C_in / GROUPS]``, BatchNorm folded
  in; bias ``[C_out]``; the activation that followed (ReLU, ReLU6) is the
  output range MIN..MAX (``-inf``/``inf`` when none).  Padding is
  top, left, bottom, right.
* add: residual add; a ReLU after it is its output range.
* maxpool: padded elements never win (PyTorch's semantics).
* gap: global average pool to ``[N, 1, 1, C]``.
* fc: weights ``[C_out, C_in]`` on the ``[N, 1, 1, C_in]`` pooled tensor.

fp32: weights and biases float32.  qs8 (the ``_int8`` models): weights
int8, per output channel symmetric (scale = max|w| / 127, S points at the
C_out float32 scales); biases int32, ``round(b / (in_scale * w_scale[c]))``;
activations int8 per-tensor affine over [-128, 127], the scale and zero
point from the min/max that forward hooks record while the fp32 module runs
the calibration batches of the zoo's own int8 models
(``ddk.quantize.calibration_batches(example_inputs, 4, seed)``, whose first
batch is the example input).  Max pool and global average pool outputs
share their input's parameters (as the DDK quantizer does), so the int8
graph never leaves int8: qs8 conv (qcint8 filter), qs8 add, qs8 max pool,
qs8 global average pool (this XNNPACK has it in its subgraph API) and the
fc layer, which the driver defines as a qs8 1x1 convolution because this
XNNPACK's subgraph fully connected node takes only a per-tensor filter;
input and output are int8.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
if str(REPO / "python") not in sys.path:
    sys.path.insert(0, str(REPO / "python"))

import torch  # noqa: E402
from torch import nn  # noqa: E402

__all__ = ["SUPPORTED", "NOT_AVAILABLE", "DirectSpec", "write_spec", "main"]

SUPPORTED = ("mobilenet_v2", "resnet18", "resnet50",
             "mobilenet_v2_int8", "resnet18_int8", "resnet50_int8")
NOT_AVAILABLE = {
    "vit_b_16": "the 2022 XNNPACK subgraph API has no transpose, batch matmul, "
                "layer norm or GELU",
}
SPEC_VERSION = 1
ALIGN = 64
CALIBRATION_BATCHES = 4  # as ddk.zoo's int8 models
QMIN, QMAX = -128, 127
F32_EPS = float(np.finfo(np.float32).eps)


@dataclass
class DirectSpec:
    """A written spec: its file, the fp32 module and the NCHW example input
    it was made from (``module(input)`` is the eager reference), the
    output's int8 parameters (None for fp32); for an n/a spec only `na`
    (the reason) besides name and path."""

    name: str
    path: Path
    module: nn.Module | None = None
    input: torch.Tensor | None = None
    output_qparams: tuple[float, int] | None = None
    na: str | None = None


@dataclass
class _Value:
    shape: tuple[int, int, int, int]  # NHWC
    probe: tuple[nn.Module, int] | None = None  # (module, call) whose output it is
    shares: int | None = None  # value whose int8 parameters it takes
    qparams: tuple[float, int] = (1.0, 0)


@dataclass
class _Layer:
    kind: str
    inputs: list[int]
    output: int
    ints: list[int] = field(default_factory=list)
    out_range: tuple[float, float] | None = None
    weight: np.ndarray | None = None  # float32
    bias: np.ndarray | None = None  # float32


class _Graph:
    """The layer list under construction, shapes tracked in NHWC."""

    def __init__(self, input_shape: tuple[int, int, int, int]):
        self.values = [_Value(input_shape, probe=None)]
        self.layers: list[_Layer] = []

    def _new(self, shape, probe=None, shares=None) -> int:
        self.values.append(_Value(tuple(int(d) for d in shape), probe, shares))
        return len(self.values) - 1

    def conv(self, x: int, conv: nn.Conv2d, bn: nn.BatchNorm2d | None,
             act: nn.Module | None, probe: tuple[nn.Module, int]) -> int:
        """conv2d [+ folded batch norm] [+ activation as output range]."""
        if conv.padding_mode != "zeros" or isinstance(conv.padding, str):
            raise ValueError(f"unsupported conv padding {conv.padding!r}")
        n, h, w, c = self.values[x].shape
        if c != conv.in_channels:
            raise ValueError(f"conv expects {conv.in_channels} channels, gets {c}")
        (kh, kw), (sh, sw) = conv.kernel_size, conv.stride
        (ph, pw), (dh, dw) = conv.padding, conv.dilation
        oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
        ow = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
        weight = conv.weight.detach().double()
        bias = (conv.bias.detach().double() if conv.bias is not None
                else torch.zeros(conv.out_channels, dtype=torch.float64))
        if bn is not None:
            k = bn.weight.detach().double() / torch.sqrt(bn.running_var.double() + bn.eps)
            weight = weight * k[:, None, None, None]
            bias = (bias - bn.running_mean.double()) * k + bn.bias.detach().double()
        y = self._new((n, oh, ow, conv.out_channels), probe)
        self.layers.append(_Layer(
            "conv", [x], y, [kh, kw, sh, sw, ph, pw, ph, pw, dh, dw, conv.groups],
            _act_range(act), weight.permute(0, 2, 3, 1).float().numpy(),
            bias.float().numpy()))
        return y

    def add(self, a: int, b: int, act: nn.Module | None,
            probe: tuple[nn.Module, int]) -> int:
        """Residual add [+ activation as output range]."""
        if self.values[a].shape != self.values[b].shape:
            raise ValueError(f"add of {self.values[a].shape} and {self.values[b].shape}")
        y = self._new(self.values[a].shape, probe)
        self.layers.append(_Layer("add", [a, b], y, out_range=_act_range(act)))
        return y

    def maxpool(self, x: int, pool: nn.MaxPool2d) -> int:
        """2D max pool; the output shares the input's int8 parameters."""
        kh, kw = _pair(pool.kernel_size)
        sh, sw = _pair(pool.stride or pool.kernel_size)
        ph, pw = _pair(pool.padding)
        if pool.ceil_mode or _pair(pool.dilation) != (1, 1):
            raise ValueError("max pool with ceil_mode or dilation")
        n, h, w, c = self.values[x].shape
        y = self._new((n, (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1, c),
                      shares=x)
        self.layers.append(_Layer("maxpool", [x], y, [kh, kw, sh, sw, ph, pw, ph, pw]))
        return y

    def gap(self, x: int) -> int:
        """Global average pool; the output shares the input's int8 parameters."""
        n, _, _, c = self.values[x].shape
        y = self._new((n, 1, 1, c), shares=x)
        self.layers.append(_Layer("gap", [x], y))
        return y

    def fc(self, x: int, linear: nn.Linear, probe: tuple[nn.Module, int]) -> int:
        """Fully connected layer on the pooled [N, 1, 1, C] tensor."""
        n, h, w, c = self.values[x].shape
        if (h, w, c) != (1, 1, linear.in_features):
            raise ValueError(f"linear({linear.in_features}) on {self.values[x].shape}")
        y = self._new((n, 1, 1, linear.out_features), probe)
        bias = (linear.bias.detach().float().numpy() if linear.bias is not None
                else np.zeros(linear.out_features, np.float32))
        self.layers.append(_Layer("fc", [x], y, out_range=(-math.inf, math.inf),
                                  weight=linear.weight.detach().float().numpy(),
                                  bias=bias))
        return y


def _pair(v) -> tuple[int, int]:
    return (int(v), int(v)) if isinstance(v, int) else (int(v[0]), int(v[1]))


def _act_range(act: nn.Module | None) -> tuple[float, float]:
    if act is None:
        return (-math.inf, math.inf)
    if isinstance(act, nn.ReLU):
        return (0.0, math.inf)
    if isinstance(act, nn.Hardtanh):  # ReLU6 is a Hardtanh(0, 6)
        return (float(act.min_val), float(act.max_val))
    raise ValueError(f"unsupported activation {type(act).__name__}")


def _flatten(seq: nn.Module) -> list[nn.Module]:
    out = []
    for m in seq.children():
        out.extend(_flatten(m) if isinstance(m, nn.Sequential) else [m])
    return out


def _conv_chain(g: _Graph, x: int, seq: nn.Module) -> int:
    """A Sequential of conv [bn] [act] groups (Conv2dNormActivation,
    InvertedResidual.conv), each group one conv layer."""
    mods, i = _flatten(seq), 0
    while i < len(mods):
        conv = mods[i]
        if not isinstance(conv, nn.Conv2d):
            raise ValueError(f"expected Conv2d, found {type(conv).__name__}")
        i += 1
        bn = act = None
        if i < len(mods) and isinstance(mods[i], nn.BatchNorm2d):
            bn, i = mods[i], i + 1
        if i < len(mods) and isinstance(mods[i], (nn.ReLU, nn.Hardtanh)):
            act, i = mods[i], i + 1
        x = g.conv(x, conv, bn, act, ((act or bn or conv), 0))
    return x


def _resnet(g: _Graph, m: nn.Module) -> None:
    from torchvision.models.resnet import BasicBlock, Bottleneck

    x = g.conv(0, m.conv1, m.bn1, m.relu, (m.relu, 0))
    x = g.maxpool(x, m.maxpool)
    for stage in (m.layer1, m.layer2, m.layer3, m.layer4):
        for blk in stage:
            if isinstance(blk, BasicBlock):
                pairs = [(blk.conv1, blk.bn1), (blk.conv2, blk.bn2)]
            elif isinstance(blk, Bottleneck):
                pairs = [(blk.conv1, blk.bn1), (blk.conv2, blk.bn2), (blk.conv3, blk.bn3)]
            else:
                raise ValueError(f"unsupported ResNet block {type(blk).__name__}")
            # The block calls its one ReLU after every conv but the last,
            # then after the add: call k of blk.relu is the k-th of those.
            y = x
            for k, (conv, bn) in enumerate(pairs[:-1]):
                y = g.conv(y, conv, bn, blk.relu, (blk.relu, k))
            y = g.conv(y, *pairs[-1], None, (pairs[-1][1], 0))
            identity = x
            if blk.downsample is not None:
                identity = _conv_chain(g, x, blk.downsample)
            x = g.add(y, identity, blk.relu, (blk.relu, len(pairs) - 1))
    x = g.gap(x)
    g.fc(x, m.fc, (m.fc, 0))


def _mobilenet_v2(g: _Graph, m: nn.Module) -> None:
    from torchvision.models.mobilenetv2 import InvertedResidual

    x = 0
    for f in m.features:
        if isinstance(f, InvertedResidual):
            y = _conv_chain(g, x, f.conv)
            x = g.add(x, y, None, (f, 0)) if f.use_res_connect else y
        else:
            x = _conv_chain(g, x, f)
    x = g.gap(x)
    linears = [c for c in m.classifier if isinstance(c, nn.Linear)]
    others = [c for c in m.classifier if not isinstance(c, (nn.Linear, nn.Dropout))]
    if len(linears) != 1 or others:
        raise ValueError("unsupported MobileNetV2 classifier")
    g.fc(x, linears[0], (linears[0], 0))


def _qparams(lo: float, hi: float) -> tuple[float, int]:
    """Per-tensor affine int8 parameters of a range (MinMaxObserver's rule)."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    scale = max(float(np.float32((hi - lo) / (QMAX - QMIN))), F32_EPS)
    zp = int(np.clip(QMIN - round(lo / scale), QMIN, QMAX))
    return scale, zp


def _calibrate(g: _Graph, module: nn.Module, batches: list[torch.Tensor]) -> None:
    """Sets every value's int8 parameters from hooked min/max over `batches`."""
    probed = {id(v.probe[0]): v.probe[0] for v in g.values if v.probe is not None}
    ranges: dict[tuple[int, int], list[float]] = {}
    calls: dict[int, int] = {}

    def record(key, t):
        lo, hi = float(t.min()), float(t.max())
        r = ranges.setdefault(key, [lo, hi])
        r[0], r[1] = min(r[0], lo), max(r[1], hi)

    def hook(mod, _inputs, out):
        k = calls.get(id(mod), 0)
        calls[id(mod)] = k + 1
        record((id(mod), k), out)

    handles = [mod.register_forward_hook(hook) for mod in probed.values()]
    handles.append(module.register_forward_pre_hook(
        lambda _mod, args: record(("input",), args[0])))
    try:
        with torch.no_grad():
            for x in batches:
                calls.clear()
                module(x)
    finally:
        for h in handles:
            h.remove()
    for i, v in enumerate(g.values):
        if i == 0:
            v.qparams = _qparams(*ranges[("input",)])
        elif v.shares is not None:
            v.qparams = g.values[v.shares].qparams
        else:
            key = (id(v.probe[0]), v.probe[1])
            if key not in ranges:
                raise ValueError(f"calibration never saw {type(v.probe[0]).__name__} "
                                 f"call {v.probe[1]}")
            v.qparams = _qparams(*ranges[key])


class _Blob:
    """The weights file: arrays back to back, each 64-byte aligned."""

    def __init__(self):
        self.parts: list[bytes] = []
        self.size = 0

    def put(self, arr: np.ndarray) -> int:
        pad = -self.size % ALIGN
        if pad:
            self.parts.append(b"\0" * pad)
            self.size += pad
        offset = self.size
        data = np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<")).tobytes()
        self.parts.append(data)
        self.size += len(data)
        return offset


def _fmt(x: float) -> str:
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{float(np.float32(x)):.9g}"


def _weights(g: _Graph, layer: _Layer, int8: bool, blob: _Blob) -> list[int]:
    """Stores a conv/fc layer's weights, bias (and int8 scales): offsets."""
    if not int8:
        return [blob.put(layer.weight.astype(np.float32)),
                blob.put(layer.bias.astype(np.float32)), -1]
    w = layer.weight.astype(np.float64)
    wmax = np.abs(w.reshape(w.shape[0], -1)).max(axis=1)
    w_scale = np.maximum(wmax / 127.0, F32_EPS).astype(np.float32)
    bshape = (-1,) + (1,) * (w.ndim - 1)
    wq = np.clip(np.round(w / w_scale.reshape(bshape)), -127, 127).astype(np.int8)
    in_scale = g.values[layer.inputs[0]].qparams[0]
    b_scale = np.float32(in_scale) * w_scale.astype(np.float64)
    bq = np.clip(np.round(layer.bias.astype(np.float64) / b_scale),
                 -2**31, 2**31 - 1).astype(np.int32)
    return [blob.put(wq), blob.put(bq), blob.put(w_scale)]


def write_spec(name: str, path: str | Path, seed: int = 0,
               input_size: int | None = None) -> DirectSpec:
    """Writes the spec of zoo model `name` to `path` and its weights to
    `path` with the suffix ``.bin``; returns the :class:`DirectSpec`.  A
    model XNNPACK's subgraph API cannot express (``NOT_AVAILABLE``) gets an
    n/a spec.  Raises ValueError for any other unsupported name."""
    path = Path(path)
    bin_path = path.with_suffix(".bin")
    if bin_path == path:
        raise ValueError(f"{path}: the spec cannot have the weights' suffix .bin")
    path.parent.mkdir(parents=True, exist_ok=True)
    if name in NOT_AVAILABLE:
        path.write_text(f"xnnpack_direct_spec {SPEC_VERSION}\nmodel {name}\n"
                        f"na {NOT_AVAILABLE[name]}\n")
        return DirectSpec(name, path, na=NOT_AVAILABLE[name])
    if name not in SUPPORTED:
        raise ValueError(f"{name}: not supported (supported: {', '.join(SUPPORTED)}; "
                         f"n/a: {', '.join(NOT_AVAILABLE)})")
    from ddk import zoo
    from ddk.quantize import calibration_batches

    int8 = name.endswith("_int8")
    base = name[:-len("_int8")] if int8 else name
    built = zoo.build(base, seed=seed, input_size=input_size)
    module, (x,) = built.module.eval(), built.example_inputs
    g = _Graph(tuple(x.permute(0, 2, 3, 1).shape))
    (_mobilenet_v2 if base == "mobilenet_v2" else _resnet)(g, module)
    if int8:
        batches = [b[0] for b in calibration_batches(built.example_inputs,
                                                     CALIBRATION_BATCHES, seed)]
        _calibrate(g, module, batches)

    blob = _Blob()
    x_nhwc = x.permute(0, 2, 3, 1).contiguous().numpy()
    if int8:
        scale, zp = g.values[0].qparams
        x_nhwc = np.clip(np.round(x_nhwc.astype(np.float64) / scale) + zp,
                         QMIN, QMAX).astype(np.int8)
    input_offset = blob.put(x_nhwc)
    layer_lines = []
    for layer in g.layers:
        io = " ".join(str(i) for i in layer.inputs + [layer.output])
        fields = [layer.kind, io] + [str(i) for i in layer.ints]
        if layer.out_range is not None:
            fields += [_fmt(layer.out_range[0]), _fmt(layer.out_range[1])]
        if layer.weight is not None:
            fields += [str(o) for o in _weights(g, layer, int8, blob)]
        layer_lines.append(" ".join(fields))

    with open(bin_path, "wb") as f:
        for part in blob.parts:
            f.write(part)
    lines = [f"xnnpack_direct_spec {SPEC_VERSION}",
             f"# {name}: ddk.zoo.build({base!r}, seed={seed}, "
             f"input_size={built.config['input_size']}), NHWC",
             f"model {name}",
             f"dtype {'qs8' if int8 else 'fp32'}",
             f"weights {bin_path.name} {blob.size}",
             f"values {len(g.values)}"]
    for i, v in enumerate(g.values):
        scale, zp = v.qparams if int8 else (1.0, 0)
        lines.append(f"v {i} {' '.join(str(d) for d in v.shape)} {_fmt(scale)} {zp}")
    lines += [f"input 0 {input_offset}", f"output {len(g.values) - 1}",
              f"layers {len(g.layers)}", *layer_lines, "end"]
    path.write_text("\n".join(lines) + "\n")
    return DirectSpec(name, path, module, x,
                      g.values[-1].qparams if int8 else None)


def main(argv: list[str] | None = None) -> int:
    """Command line: writes the specs of the named models."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    names = ", ".join(SUPPORTED + tuple(NOT_AVAILABLE))
    ap.add_argument("models", nargs="*", help=f"zoo names ({names}); --out is a folder")
    ap.add_argument("--model", help="one zoo name; --out is the spec file")
    ap.add_argument("--out", required=True, help="output folder, or file with --model")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--input-size", type=int, default=None,
                    help="image side (default: the zoo's, 224)")
    args = ap.parse_args(argv)
    if bool(args.model) == bool(args.models):
        ap.error("name the models either as arguments or with one --model")
    jobs = ([(args.model, Path(args.out))] if args.model else
            [(name, Path(args.out) / f"{name}.xspec") for name in args.models])
    for name, path in jobs:
        try:
            write_spec(name, path, args.seed, args.input_size)
        except ValueError as e:
            print(f"direct_spec: {e}", file=sys.stderr)
            return 2
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
