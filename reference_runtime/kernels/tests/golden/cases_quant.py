"""Golden cases: quantized_decomposed ops.

Ops torch defines (after `import torch.ao.quantization.fx._decomposed`)
are recorded with g.case (torch is the oracle). The ExecuTorch-only ops
(embedding_*, mixed_mm, mixed_linear, add, add.scalar, add_relu) are
recorded with g.raw_case against the Python references below, composed of
plain torch ops following ExecuTorch's exir definitions and quantized CPU
kernels (see docs/kernels/quantization.md).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.ao.quantization.fx._decomposed  # noqa: F401  (registers the ops)

from . import cases
from .core import CASE_REFUSED, Gen

QD = torch.ops.quantized_decomposed
QRANGE = {torch.uint8: (0, 255), torch.int8: (-128, 127), torch.int16: (-32768, 32767),
          torch.int32: (-2**31, 2**31 - 1)}
SHAPES = [((), None), ((5,), None), ((2, 3, 4), None), ((2, 3, 4, 5), "channels_last"),
          ((0, 3), None), ((4, 3), (1, 0))]


def _short(op):
    return op.split("::")[1]


def _refused(g, name, op, args, nout=1):
    g.raw_case(name, op, args, [None] * nout, flags=CASE_REFUSED)


# --------------------------------------------------------------------------
# Per tensor
# --------------------------------------------------------------------------

@cases("quantized_decomposed::quantize_per_tensor",
       "quantized_decomposed::quantize_per_tensor.tensor",
       "quantized_decomposed::quantize_per_tensor.tensor2")
def quantize_per_tensor(g: Gen, op: str, dt):
    short = _short(op)
    variant = 0 if "." not in short else (1 if short.endswith(".tensor") else 2)

    def args(x, scale, zp, qmin, qmax, qdt):
        if variant == 0:
            return [x, scale, zp, qmin, qmax, qdt]
        st, zt = torch.tensor([scale], dtype=torch.float32), torch.tensor(zp)
        if variant == 1:
            return [x, st, zt, qmin, qmax, qdt]
        return [x, st, zt, torch.tensor(qmin), torch.tensor(qmax), qdt]

    if dt is None:
        x = g.rand((3, 4), torch.float32)
        g.case(f"{short}/f64", op, args(g.rand((3,), torch.float64), 0.1, 0, 0, 255, torch.uint8))
        g.case(f"{short}/int", op, args(g.rand((3,), torch.int32), 0.1, 0, 0, 255, torch.uint8))
        g.case(f"{short}/qmin oob", op, args(x, 0.1, 0, -1, 255, torch.uint8))
        g.case(f"{short}/qmax oob", op, args(x, 0.1, 0, -128, 128, torch.int8))
        g.case(f"{short}/int64", op, args(x, 0.1, 0, 0, 10, torch.int64))
        if variant == 0:
            g.case(f"{short}/scale0", op, args(x, 0.0, 0, 0, 255, torch.uint8))
        else:
            g.case(f"{short}/scale2", op, [x, torch.tensor([0.1, 0.2]), torch.tensor(0)]
                   + args(x, 0.1, 0, 0, 255, torch.uint8)[3:])
            g.case(f"{short}/scale f64 zp f32", op,
                   [x, torch.tensor(0.07, dtype=torch.float64), torch.tensor([3.0])]
                   + args(x, 0.1, 0, 0, 255, torch.uint8)[3:])
        return
    params = [(torch.uint8, 0.05, 128, None), (torch.int8, 0.1, 0, None),
              (torch.int8, 1 / 3, -3, (-8, 7)), (torch.int16, 0.013, 7, None),
              (torch.int32, 1e-3, -5, None), (torch.uint8, 2.5, 3, (10, 5))]
    for shape, lay in SHAPES:
        for qdt, scale, zp, rng in params:
            qmin, qmax = rng or QRANGE[qdt]
            x = g.rand(shape, dt, special=True, layout=lay)
            if qdt in (torch.int16, torch.int32):
                x = x * 40
            g.case(f"{short}/{dt}/{shape}/{lay}/{qdt}/{scale}/{zp}/{qmin},{qmax}", op,
                   args(x, scale, zp, qmin, qmax, qdt))


@cases("quantized_decomposed::dequantize_per_tensor",
       "quantized_decomposed::dequantize_per_tensor.tensor",
       "quantized_decomposed::dequantize_per_tensor.tensor2")
def dequantize_per_tensor(g: Gen, op: str, dt):
    short = _short(op)
    variant = 0 if "." not in short else (1 if short.endswith(".tensor") else 2)

    def args(x, scale, zp, qdt):
        lo, hi = QRANGE.get(qdt, (0, 1))
        if variant == 0:
            return [x, scale, zp, lo, hi, qdt]
        st, zt = torch.tensor([scale], dtype=torch.float32), torch.tensor([zp])
        if variant == 1:
            return [x, st, zt, lo, hi, qdt]
        return [x, st, zt, torch.tensor(lo), torch.tensor(hi), qdt]

    if dt is None:
        g.case(f"{short}/dtype mismatch", op, args(g.rand((3,), torch.int8), 0.1, 0, torch.uint8))
        g.case(f"{short}/int64", op, args(g.rand((3,), torch.int64), 0.1, 0, torch.int64))
        if variant:
            g.case(f"{short}/zp2", op, [g.rand((3,), torch.uint8), torch.tensor([0.1]),
                                        torch.tensor([1, 2])] + args(None, 0.1, 0, torch.uint8)[3:])
        return
    outs = [None, torch.float32, torch.float16, torch.bfloat16, torch.float64]
    for shape, lay in SHAPES:
        for i, od in enumerate(outs):
            x = g.rand(shape, dt, layout=lay)
            scale, zp = [(0.05, 3), (0.1, -7), (1 / 3, 100), (2.5e-3, 0), (0.7, 1)][i]
            kw = {} if od is None else {"out_dtype": od}
            g.case(f"{short}/{dt}/{shape}/{lay}/{od}", op, args(x, scale, zp, dt), kw)


# --------------------------------------------------------------------------
# choose_qparams
# --------------------------------------------------------------------------

@cases("quantized_decomposed::choose_qparams.tensor",
       "quantized_decomposed::choose_qparams_symmetric.tensor")
def choose_qparams(g: Gen, op: str, dt):
    short = _short(op)
    eps = float(torch.finfo(torch.float32).eps)
    if dt is None:
        x = g.rand((3, 4), torch.float32)
        g.case(f"{short}/empty", op, [torch.zeros(0), 0, 255, eps, torch.uint8])
        g.case(f"{short}/f64", op, [g.rand((3,), torch.float64), 0, 255, eps, torch.uint8])
        g.case(f"{short}/int", op, [g.rand((3,), torch.int32), 0, 255, eps, torch.uint8])
        g.case(f"{short}/qmin>0", op, [x, 1, 255, eps, torch.uint8])
        g.case(f"{short}/qmin>=qmax", op, [x, 0, 0, eps, torch.uint8])
        g.case(f"{short}/int64", op, [x, 0, 255, eps, torch.int64])
        return
    params = [(torch.uint8, 0, 255, eps), (torch.int8, -128, 127, eps),
              (torch.int8, -8, 7, 1e-2), (torch.int16, -32768, 32767, eps),
              (torch.int32, -2**31, 2**31 - 1, eps)]
    shapes = [((), None), ((7,), None), ((2, 3, 4), None), ((2, 3, 4, 5), "channels_last"),
              ((4, 3), (1, 0))]
    for shape, lay in shapes:
        for qdt, qmin, qmax, e in params:
            x = g.rand(shape, dt, layout=lay)
            g.case(f"{short}/{dt}/{shape}/{lay}/{qdt}/{e}", op, [x, qmin, qmax, e, qdt])
    for name, kw in [("pos", dict(lo=0.5, hi=3)), ("neg", dict(lo=-3, hi=-0.5)),
                     ("tiny", dict(lo=-1e-9, hi=1e-9))]:
        for qdt in (torch.uint8, torch.int8):
            lo, hi = QRANGE[qdt]
            g.case(f"{short}/{dt}/{name}/{qdt}", op, [g.rand((9,), dt, **kw), lo, hi, eps, qdt])
    g.case(f"{short}/{dt}/zeros", op, [torch.zeros(4, dtype=dt), 0, 255, eps, torch.uint8])
    g.case(f"{short}/{dt}/special", op, [g.rand((12,), dt, special=True), -128, 127, eps,
                                         torch.int8])


@cases("quantized_decomposed::choose_qparams_per_token",
       "quantized_decomposed::choose_qparams_per_token_asymmetric")
def choose_qparams_per_token(g: Gen, op: str, dt):
    short = _short(op)
    if dt is None:
        g.case(f"{short}/empty row", op, [torch.zeros(4, 0), torch.int8])
        if short == "choose_qparams_per_token":
            g.case(f"{short}/uint8", op, [g.rand((3, 4), torch.float32), torch.uint8])
        return
    shapes = [((), None), ((5,), None), ((3, 4), None), ((2, 3, 4), None), ((4, 3), (1, 0)),
              ((2, 3, 4, 5), "channels_last"), ((0, 4), None)]
    for shape, lay in shapes:
        g.case(f"{short}/{dt}/{shape}/{lay}", op, [g.rand(shape, dt, layout=lay), torch.int8])
        if dt.is_floating_point:
            g.case(f"{short}/{dt}/{shape}/{lay}/special", op,
                   [g.rand(shape, dt, special=True, layout=lay), torch.int8])
        else:
            g.case(f"{short}/{dt}/{shape}/{lay}/small", op,
                   [g.rand(shape, dt, lo=-5, hi=5, layout=lay), torch.int8])
    if dt.is_floating_point:
        g.case(f"{short}/{dt}/pos", op, [g.rand((3, 5), dt, lo=0.5, hi=3), torch.int8])
        g.case(f"{short}/{dt}/neg", op, [g.rand((3, 5), dt, lo=-3, hi=-0.5), torch.int8])
        g.case(f"{short}/{dt}/tiny", op, [g.rand((3, 5), dt, lo=-1e-7, hi=1e-7), torch.int8])
        g.case(f"{short}/{dt}/zeros", op, [torch.zeros(2, 3, dtype=dt), torch.int8])


# --------------------------------------------------------------------------
# Per channel
# --------------------------------------------------------------------------

CH_SHAPES = [((3, 4), None, 0), ((3, 4), None, 1), ((3, 4), None, -1), ((2, 3, 4, 5),
             "channels_last", 1), ((4, 3), (1, 0), 0), ((0, 3), None, 1), ((1, 4), None, 0),
             ((5,), None, 0)]


def _scales(g, n, dtype=torch.float32):
    return (torch.rand(n, generator=g.g, dtype=torch.float64) * 0.2 + 0.01).to(dtype)


@cases("quantized_decomposed::quantize_per_channel")
def quantize_per_channel(g: Gen, op: str, dt):
    short = _short(op)
    if dt is None:
        x = g.rand((3, 4), torch.float32)
        s, z = _scales(g, 3), torch.zeros(3, dtype=torch.int64)
        g.case(f"{short}/axis2", op, [x, s, z, 2, -128, 127, torch.int8])
        g.case(f"{short}/axis-3", op, [x, s, z, -3, -128, 127, torch.int8])
        g.case(f"{short}/f64", op, [x.double(), s, z, 0, -128, 127, torch.int8])
        g.case(f"{short}/int", op, [g.rand((3, 4), torch.int32), s, z, 0, -128, 127, torch.int8])
        g.case(f"{short}/bounds", op, [x, s, z, 0, -129, 127, torch.int8])
        g.case(f"{short}/nscales", op, [x, _scales(g, 2), z[:2], 0, -128, 127, torch.int8])
        g.case(f"{short}/0-d", op, [torch.tensor(1.0), s[:1], z[:1], 0, -128, 127, torch.int8])
        return
    for i, (shape, lay, axis) in enumerate(CH_SHAPES):
        ax = axis % len(shape)
        c = 3 if shape == (1, 4) else shape[ax]
        for j, (qdt, sdt, zdt) in enumerate([(torch.int8, torch.float32, torch.int64),
                                             (torch.uint8, torch.float64, torch.int32),
                                             (torch.int16, torch.float32, torch.int64),
                                             (torch.int32, torch.float16, torch.float32)]):
            lo, hi = QRANGE[qdt]
            x = g.rand(shape, dt, special=True, layout=lay) * (1 if j < 2 else 50)
            s = _scales(g, c, sdt)
            z = torch.randint(-5, 6, (c,), generator=g.g).to(zdt)
            if qdt == torch.uint8:
                z = z + 100
            g.case(f"{short}/{dt}/{shape}/{lay}/ax{axis}/{qdt}/{sdt}/{zdt}", op,
                   [x, s, z, axis, lo, hi, qdt])


@cases("quantized_decomposed::dequantize_per_channel")
def dequantize_per_channel(g: Gen, op: str, dt):
    short = _short(op)
    if dt is None:
        x = g.rand((3, 4), torch.int8)
        s = _scales(g, 3)
        g.case(f"{short}/dtype mismatch", op, [x, s, None, 0, -128, 127, torch.uint8])
        g.case(f"{short}/axis2", op, [x, s, None, 2, -128, 127, torch.int8])
        g.case(f"{short}/bounds", op, [x, s, None, 0, -128, 128, torch.int8])
        g.case(f"{short}/zp bad", op, [x, s, torch.zeros(2, dtype=torch.int64), 0, -128, 127,
                                       torch.int8])
        return
    lo, hi = QRANGE[dt]
    outs = [None, torch.float32, torch.float16, torch.bfloat16, torch.float64]
    for i, (shape, lay, axis) in enumerate(CH_SHAPES):
        ax = axis % len(shape)
        c = 3 if shape == (1, 4) else shape[ax]
        for j, (sdt, zdt) in enumerate([(torch.float32, torch.int64), (torch.float64, None),
                                        (torch.float32, torch.int32),
                                        (torch.float16, torch.int64)]):
            x = g.rand(shape, dt, layout=lay)
            s = _scales(g, c, sdt)
            z = None if zdt is None else torch.randint(-5, 6, (c,), generator=g.g).to(zdt)
            od = outs[(i + j) % len(outs)]
            kw = {} if od is None else {"out_dtype": od}
            g.case(f"{short}/{dt}/{shape}/{lay}/ax{axis}/{sdt}/{zdt}/{od}", op,
                   [x, s, z, axis, lo, hi, dt], kw)


# --------------------------------------------------------------------------
# Per token
# --------------------------------------------------------------------------

TOK_SHAPES = [((3, 4), None), ((2, 3, 4), None), ((5,), None), ((4, 3), (1, 0)),
              ((0, 4), None), ((2, 3, 4, 5), "channels_last"), ((), None)]


def _tok_param_shape(shape):
    return tuple(shape[:-1]) + (1,) if shape else (1,)


@cases("quantized_decomposed::quantize_per_token")
def quantize_per_token(g: Gen, op: str, dt):
    short = _short(op)
    if dt is None:
        x = g.rand((3, 4), torch.float32)
        g.case(f"{short}/tokens", op, [x, _scales(g, (2, 1)), torch.zeros(2, 1), -128, 127,
                                       torch.int8])
        g.case(f"{short}/bounds", op, [x, _scales(g, (3, 1)), torch.zeros(3, 1), -128, 128,
                                       torch.int8])
        g.case(f"{short}/int64", op, [x, _scales(g, (3, 1)), torch.zeros(3, 1), 0, 5,
                                      torch.int64])
        return
    combos = [(torch.int8, torch.float32, torch.int64), (torch.uint8, torch.float64, torch.int32),
              (torch.int16, torch.float32, torch.float32), (torch.int8, torch.float16,
                                                            torch.int64)]
    for shape, lay in TOK_SHAPES:
        ps = _tok_param_shape(shape)
        for qdt, sdt, zdt in combos:
            lo, hi = QRANGE[qdt]
            if dt.is_floating_point:
                x = g.rand(shape, dt, special=True, layout=lay)
            elif dt == torch.bool:
                x = g.rand(shape, dt, layout=lay)
            else:
                x = g.rand(shape, dt, lo=-100, hi=100, layout=lay)
            s = _scales(g, ps, sdt)
            z = torch.randint(-3, 4, ps, generator=g.g).to(zdt)
            if qdt == torch.uint8:
                z = z + 128
            g.case(f"{short}/{dt}/{shape}/{lay}/{qdt}/{sdt}/{zdt}", op, [x, s, z, lo, hi, qdt])


@cases("quantized_decomposed::dequantize_per_token")
def dequantize_per_token(g: Gen, op: str, dt):
    short = _short(op)
    if dt is None:
        g.case(f"{short}/broadcast", op, [g.rand((3, 4), torch.int8), _scales(g, (2, 1)),
                                          torch.zeros(2, 1), -128, 127, torch.int8,
                                          torch.float32])
        return
    outs = [torch.float32, torch.float16, torch.bfloat16, torch.float64]
    combos = [(torch.float64, torch.int64), (torch.float32, torch.int32),
              (torch.float32, torch.float32), (torch.float16, torch.int64)]
    for i, (shape, lay) in enumerate(TOK_SHAPES):
        ps = _tok_param_shape(shape)
        for j, (sdt, zdt) in enumerate(combos):
            x = g.rand(shape, dt, special=dt.is_floating_point, layout=lay)
            s = _scales(g, ps, sdt)
            z = torch.randint(-3, 4, ps, generator=g.g).to(zdt)
            od = outs[(i + j) % len(outs)]
            g.case(f"{short}/{dt}/{shape}/{lay}/{sdt}/{zdt}/{od}", op,
                   [x, s, z, -128, 127, torch.int8, od])


# --------------------------------------------------------------------------
# Per channel group
# --------------------------------------------------------------------------

def _group_params(g, m, n, gs, sdt, zdt, layout):
    ng = n // gs
    if layout == "2d":
        s, z = _scales(g, (m, ng), sdt), torch.randint(-3, 4, (m, ng), generator=g.g).to(zdt)
    elif layout == "2dT":
        s = _scales(g, (ng, m), sdt).t()
        z = torch.randint(-3, 4, (ng, m), generator=g.g).to(zdt).t()
    else:
        s, z = _scales(g, (m * ng,), sdt), torch.randint(-3, 4, (m * ng,), generator=g.g).to(zdt)
    return s, z


GROUP_SHAPES = [((3, 8), 4, None, "1d"), ((3, 8), 2, (1, 0), "2d"), ((4, 6), 3, None, "2dT"),
                ((2, 8), 8, None, "2d"), ((0, 4), 2, None, "1d"), ((3, 4), 16, None, "2d")]


@cases("quantized_decomposed::quantize_per_channel_group")
def quantize_per_channel_group(g: Gen, op: str, dt):
    short = _short(op)
    if dt is None:
        x = g.rand((3, 8), torch.float32)
        s, z = _group_params(g, 3, 8, 4, torch.float32, torch.int64, "1d")
        g.case(f"{short}/gs1", op, [x, s, z, -128, 127, torch.int8, 1])
        g.case(f"{short}/ndiv", op, [x, s, z, -128, 127, torch.int8, 3])
        g.case(f"{short}/3d", op, [x.reshape(3, 2, 4), s, z, -128, 127, torch.int8, 4])
        g.case(f"{short}/nan", op, [torch.full((3, 8), float("nan")), s, z, -128, 127,
                                    torch.int8, 4])
        g.case(f"{short}/nscales", op, [x, s[:4], z, -128, 127, torch.int8, 4])
        g.case(f"{short}/one scale", op, [x, s[:1], z[:1], -128, 127, torch.int8, 4])
        return
    combos = [(torch.int8, torch.float32, torch.int64), (torch.uint8, torch.float64,
                                                         torch.int32),
              (torch.int32, torch.float16, torch.float32)]
    for shape, gs, lay, play in GROUP_SHAPES:
        m, n = shape
        egs = n if gs > n else gs
        for qdt, sdt, zdt in combos:
            lo, hi = QRANGE[qdt]
            if dt.is_floating_point:
                x = g.rand(shape, dt, layout=lay)
            elif dt == torch.bool:
                x = g.rand(shape, dt, layout=lay)
            else:
                x = g.rand(shape, dt, lo=-60, hi=60, layout=lay)
            s, z = _group_params(g, m, n, egs, sdt, zdt, play)
            if gs > n:
                s, z = s.reshape(-1, 1), z.reshape(-1, 1)
            if qdt == torch.uint8:
                z = z + 100
            g.case(f"{short}/{dt}/{shape}/gs{gs}/{lay}/{play}/{qdt}/{sdt}/{zdt}", op,
                   [x, s, z, lo, hi, qdt, gs])


@cases("quantized_decomposed::dequantize_per_channel_group")
def dequantize_per_channel_group(g: Gen, op: str, dt):
    short = _short(op)
    if dt is None:
        x = g.rand((3, 8), torch.int8)
        s, z = _group_params(g, 3, 8, 4, torch.float32, torch.int64, "1d")
        g.case(f"{short}/gs1", op, [x, s, z, -128, 127, torch.int8, 1, torch.float32])
        g.case(f"{short}/ndiv", op, [x, s, None, -128, 127, torch.int8, 3, torch.float32])
        g.case(f"{short}/1d", op, [x.reshape(-1), s, None, -128, 127, torch.int8, 4,
                                   torch.float32])
        return
    outs = [torch.float32, torch.float16, torch.bfloat16, torch.float64]
    combos = [(torch.float32, torch.int64), (torch.float64, None), (torch.float16, torch.int32)]
    for i, (shape, gs, lay, play) in enumerate(GROUP_SHAPES):
        m, n = shape
        egs = n if gs > n else gs
        for j, (sdt, zdt) in enumerate(combos):
            x = g.rand(shape, dt, special=dt.is_floating_point, layout=lay)
            s, z = _group_params(g, m, n, egs, sdt, zdt or torch.int64, play)
            if gs > n:
                s, z = s.reshape(-1, 1), z.reshape(-1, 1)
            od = outs[(i + j) % len(outs)]
            g.case(f"{short}/{dt}/{shape}/gs{gs}/{lay}/{play}/{sdt}/{zdt}/{od}", op,
                   [x, s, None if zdt is None else z, -128, 127, torch.int8, gs, od])


# --------------------------------------------------------------------------
# Embeddings (ExecuTorch exir definitions)
# --------------------------------------------------------------------------

def embedding_ref(bits, weight, scales, zps, qmin, qmax, indices, dtype=None, has_dtype=False):
    """exir's embedding_{byte,4bit,2bit}[.dtype]: unpack, dequantize per
    channel group, embedding."""
    if bits == 4:
        assert qmin == -8 and qmax == 7
    if bits == 2:
        assert qmin == -2 and qmax == 1
    assert weight.dtype in (torch.int8, torch.uint8) and weight.dim() == 2
    assert scales.dtype in (torch.float16, torch.float32) and scales.dim() in (1, 2)
    assert scales.size(0) == weight.size(0)
    assert zps is None or (zps.dtype == scales.dtype and zps.dim() in (1, 2)
                           and zps.size(0) == weight.size(0))
    per = 8 // bits
    group_size = (per * weight.size(1)) // (scales.size(1) if scales.dim() == 2 else 1)
    w = weight
    if bits == 4:
        w = torch.stack((w.div(16, rounding_mode="trunc"), w.remainder(16)), dim=-1)
        w = w.view(weight.shape[0], -1).view(torch.int8).add(-8)
    elif bits == 2:
        w = torch.stack((w & 3, (w & 12) >> 2, (w & 48) >> 4, (w & 192) >> 6), dim=-1)
        w = w.view(weight.shape[0], -1).view(torch.int8).add(-2)
    # .dtype with dtype=None: the scales' dtype, as the plain overload (exir's
    # composite would pass None on to dequantize_per_channel_group and fail)
    out_dtype = dtype if (has_dtype and dtype is not None) else scales.dtype
    w = QD.dequantize_per_channel_group.default(w, scales, zps, qmin, qmax, w.dtype,
                                                group_size, out_dtype)
    return torch.ops.aten.embedding.default(w, indices)


def _raw(g, name, op, args, ref):
    try:
        outs = ref()
    except Exception:
        _refused(g, name, op, args)
        return
    g.raw_case(name, op, args, [outs])


@cases("quantized_decomposed::embedding_byte", "quantized_decomposed::embedding_byte.dtype",
       "quantized_decomposed::embedding_4bit", "quantized_decomposed::embedding_4bit.dtype",
       "quantized_decomposed::embedding_2bit", "quantized_decomposed::embedding_2bit.dtype")
def embedding(g: Gen, op: str, dt):
    short = _short(op)
    bits = {"byte": 8, "4bit": 4, "2bit": 2}[short.split(".")[0].split("_")[1]]
    has_dtype = short.endswith(".dtype")
    qmin, qmax = {8: (-128, 127), 4: (-8, 7), 2: (-2, 1)}[bits]
    per = 8 // bits
    cols = {8: 6, 4: 3, 2: 3}[bits]
    d = cols * per

    def run(name, w, s, z, idx, od=None, lo=qmin, hi=qmax):
        args = [w, s, z, lo, hi, idx] + ([od] if has_dtype else [])
        _raw(g, name, op, args,
             lambda: embedding_ref(bits, w, s, z, lo, hi, idx, od, has_dtype))

    if dt is None:
        w = g.rand((5, cols), torch.uint8)
        s = _scales(g, 5)
        run(f"{short}/oob", w, s, None, torch.tensor([0, 5]))
        run(f"{short}/neg", w, s, None, torch.tensor([-1]))
        run(f"{short}/gs1", w, _scales(g, (5, d)), None, torch.tensor([1]))
        run(f"{short}/w int16", w.to(torch.int16), s, None, torch.tensor([1]))
        run(f"{short}/s f64", w, s.double(), None, torch.tensor([1]))
        run(f"{short}/zp dtype", w, s, torch.zeros(5, dtype=torch.float16), torch.tensor([1]))
        if bits != 8:
            run(f"{short}/qrange", w, s, None, torch.tensor([1]), lo=-128, hi=127)
        return
    idxs = [torch.tensor([0, 4, 2, 2]), torch.tensor(3), torch.zeros(0, dtype=torch.int64),
            torch.tensor([[1, 0, 3], [4, 4, 2]], dtype=torch.int32),
            torch.tensor([[1, 0], [3, 2], [0, 4]]).t()]
    groups = [1, 2, 3] if d % 3 == 0 else [1, 2]
    ods = [None, torch.float32, torch.float16, torch.bfloat16] if has_dtype else [None]
    i = 0
    for k, idx in enumerate(idxs):
        for zmode in ("none", "zp"):
            for sdt in (torch.float32, torch.float16):
                for G in (groups[(k + i) % len(groups)], groups[(k + i + 1) % len(groups)]):
                    i += 1
                    w = g.rand((5, cols), dt, layout=(1, 0) if i % 3 == 0 else None)
                    s = _scales(g, (5, G) if G > 1 or i % 2 else (5,), sdt)
                    z = None
                    if zmode == "zp":
                        z = torch.randint(-4, 5, s.shape, generator=g.g).to(sdt) + 0.25
                    od = ods[i % len(ods)]
                    run(f"{short}/{dt}/{tuple(idx.shape)}/G{G}/{zmode}/{sdt}/{od}", w, s, z,
                        idx, od)


# --------------------------------------------------------------------------
# mixed_mm / mixed_linear (ExecuTorch kernels)
# --------------------------------------------------------------------------

def mixed_mm_ref(x, w, s, z):
    assert z is None and x.dim() == 2 and w.dim() == 2 and s.dim() == 1
    assert x.size(1) == w.size(0) and s.size(0) == w.size(0)
    assert x.dtype in (torch.float32, torch.float16) and s.dtype == x.dtype
    assert w.dtype == torch.int8
    acc = torch.zeros(x.size(0), w.size(1), dtype=torch.float64)
    for k in range(x.size(1)):
        acc += x[:, k:k + 1].double() * w[k:k + 1, :].double() * s[k].double()
    return acc.to(x.dtype)


def mixed_linear_ref(x, w, s, z, dtype=None):
    assert z is None and x.dim() == 2 and w.dim() == 2 and s.dim() in (1, 2)
    assert x.size(1) == w.size(1) and s.size(0) == w.size(0)
    assert x.dtype in (torch.float32, torch.float16) and s.dtype == x.dtype
    assert w.dtype == torch.int8 and dtype in (None, torch.float32, torch.float16)
    m, n = x.shape
    p = w.size(0)
    gsz = n if s.dim() == 1 else (n + s.size(1) - 1) // s.size(1)
    n_over_g = (n + gsz - 1) // gsz
    flat = s.reshape(-1).double()
    acc = torch.zeros(m, p, dtype=torch.float64)
    for k in range(0, n, gsz):
        psum = torch.zeros(m, p, dtype=torch.float64)
        for k2 in range(k, min(k + gsz, n)):
            psum += x[:, k2:k2 + 1].double() * w[:, k2].double().unsqueeze(0)
        acc += psum * flat[torch.arange(p) * n_over_g + k // gsz].unsqueeze(0)
    return acc.to(dtype or x.dtype)


def _int8w(g, shape, layout=None):
    return g.rand(shape, torch.int8, layout=layout)


@cases("quantized_decomposed::mixed_mm", "quantized_decomposed::mixed_linear")
def mixed(g: Gen, op: str, dt):
    short = _short(op)
    linear = short == "mixed_linear"

    def run(name, x, w, s, z, od=None):
        args = [x, w, s, z] + ([od] if linear else [])
        ref = (lambda: mixed_linear_ref(x, w, s, z, od)) if linear else \
            (lambda: mixed_mm_ref(x, w, s, z))
        _raw(g, name, op, args, ref)

    if dt is None:
        x = g.rand((3, 8), torch.float32)
        w = _int8w(g, (4, 8) if linear else (8, 4))
        s = _scales(g, 4 if linear else 8)
        run(f"{short}/zp", x, w, s, torch.zeros_like(s))
        run(f"{short}/s f16", x, w, s.half(), None)
        run(f"{short}/w uint8", x, w.to(torch.uint8), s, None)
        run(f"{short}/x f64", x.double(), w, s.double(), None)
        run(f"{short}/k mismatch", g.rand((3, 7), torch.float32), w, s, None)
        if linear:
            run(f"{short}/dtype f64", x, w, s, None, torch.float64)
        return
    if linear:
        shapes = [(3, 8, 4, (4,)), (3, 8, 4, (4, 2)), (2, 8, 5, (5, 3)), (2, 9, 3, (3, 4)),
                  (0, 8, 4, (4,)), (1, 16, 2, (2, 4)), (4, 6, 3, (3, 6))]
        for i, (m, n, p, sshape) in enumerate(shapes):
            for od in (None, torch.float32, torch.float16):
                x = g.rand((m, n), dt, layout=(1, 0) if i % 2 else None)
                w = _int8w(g, (p, n), layout=(1, 0) if i % 3 == 1 else None)
                s = _scales(g, sshape, dt)
                run(f"{short}/{dt}/{m}x{n}x{p}/{sshape}/{od}", x, w, s, None, od)
    else:
        for i, (m, n, p) in enumerate([(3, 5, 4), (1, 8, 1), (0, 4, 3), (4, 16, 6), (2, 1, 3)]):
            for lay in (None, (1, 0)):
                x = g.rand((m, n), dt, layout=lay)
                w = _int8w(g, (n, p), layout=lay)
                s = _scales(g, n, dt)
                run(f"{short}/{dt}/{m}x{n}x{p}/{lay}", x, w, s, None)


# --------------------------------------------------------------------------
# Quantized add (ExecuTorch kernel; add.scalar: dequantize + add + quantize)
# --------------------------------------------------------------------------

def qadd_ref(a, a_scale, a_zp, a_qmin, a_qmax, b, b_scale, b_zp, b_qmin, b_qmax, out_scale,
             out_zp, out_qmin, out_qmax, relu=False):
    assert a.shape == b.shape and a.dtype == b.dtype
    assert a.dtype in (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)
    for lo, hi in ((a_qmin, a_qmax), (b_qmin, b_qmax), (out_qmin, out_qmax)):
        assert lo >= 0 and hi <= 255 and lo <= hi
    f32 = np.float32
    da = ((a.to(torch.int64) - a_zp).to(torch.float64) * float(f32(a_scale))).to(torch.float32)
    db = ((b.to(torch.int64) - b_zp).to(torch.float64) * float(f32(b_scale))).to(torch.float32)
    acc = da + db
    if relu:
        acc = torch.relu(acc)
    inv = torch.tensor(1.0, dtype=torch.float32) / torch.tensor(out_scale, dtype=torch.float32)
    q = torch.round(inv * acc) + torch.tensor(float(out_zp), dtype=torch.float32)
    return q.to(torch.int64).clamp(out_qmin, out_qmax).to(a.dtype)


@cases("quantized_decomposed::add", "quantized_decomposed::add_relu")
def qadd(g: Gen, op: str, dt):
    short = _short(op)
    relu = short == "add_relu"

    def run(name, a, asc, az, b, bsc, bz, osc, oz, ar=(0, 255), br=(0, 255), orr=(0, 255)):
        args = [a, asc, az, ar[0], ar[1], b, bsc, bz, br[0], br[1], osc, oz, orr[0], orr[1]]
        _raw(g, name, op, args, lambda: qadd_ref(*args, relu=relu))

    if dt is None:
        a = g.rand((3, 4), torch.uint8)
        run(f"{short}/shape", a, 0.1, 3, g.rand((4,), torch.uint8), 0.1, 3, 0.2, 5)
        run(f"{short}/dtype", a, 0.1, 3, a.to(torch.int8), 0.1, 3, 0.2, 5)
        run(f"{short}/range", a, 0.1, 3, a, 0.1, 3, 0.2, 5, orr=(0, 256))
        run(f"{short}/range2", a, 0.1, 3, a, 0.1, 3, 0.2, 5, ar=(10, 5))
        run(f"{short}/f32", a.float(), 0.1, 3, a.float(), 0.1, 3, 0.2, 5)
        return
    params = [(0.1, 3, 0.05, 200, 0.2, 128, (0, 255)), (0.02, 128, 0.02, 128, 0.04, 128, (0, 255)),
              (1.0, 0, 1.0, 0, 1.0, 0, (0, 255)), (0.3, 100, 0.7, 50, 0.11, 20, (10, 200)),
              (0.0625, 64, 0.125, 0, 0.5, 255, (0, 255))]
    for shape, lay in SHAPES:
        for asc, az, bsc, bz, osc, oz, orr in params:
            a = g.rand(shape, dt, layout=lay)
            b = g.rand(shape, dt, layout=lay)
            run(f"{short}/{dt}/{shape}/{lay}/{asc},{az},{bsc},{bz},{osc},{oz},{orr}", a, asc, az,
                b, bsc, bz, osc, oz, orr=orr)


def qadd_scalar_ref(qa, a_scale, a_zp, a_qmin, a_qmax, a_dtype, b, out_scale, out_zp, out_qmin,
                    out_qmax, out_dtype):
    x = QD.dequantize_per_tensor(qa, a_scale, a_zp, a_qmin, a_qmax, a_dtype)
    return QD.quantize_per_tensor(x + b, out_scale, out_zp, out_qmin, out_qmax, out_dtype)


@cases("quantized_decomposed::add.scalar")
def qadd_scalar(g: Gen, op: str, dt):
    short = _short(op)

    def run(name, args):
        _raw(g, name, op, args, lambda: qadd_scalar_ref(*args))

    if dt is None:
        a = g.rand((3, 4), torch.uint8)
        run(f"{short}/dtype", [a, 0.1, 3, 0, 255, torch.int8, 1.5, 0.2, 5, 0, 255, torch.uint8])
        run(f"{short}/bounds", [a, 0.1, 3, 0, 255, torch.uint8, 1.5, 0.2, 5, 0, 256, torch.uint8])
        run(f"{short}/scale0", [a, 0.1, 3, 0, 255, torch.uint8, 1.5, 0.0, 5, 0, 255, torch.uint8])
        return
    params = [(0.1, 3, 1.5, 0.2, 5, (0, 255), torch.uint8), (0.05, 128, -2, 0.1, 128, (0, 255),
                                                              torch.uint8),
              (0.3, 0, 0.7, 0.25, 0, (-128, 127), torch.int8), (1.0, 10, 3, 1.0, 0, (0, 100),
                                                                torch.uint8),
              (0.02, 100, True, 0.03, -20, (-128, 127), torch.int8)]
    for shape, lay in SHAPES:
        for asc, az, b, osc, oz, (lo, hi), odt in params:
            a = g.rand(shape, dt, layout=lay)
            run(f"{short}/{dt}/{shape}/{lay}/{asc},{az},{b},{osc},{oz},{lo},{hi},{odt}",
                [a, asc, az, 0, 255, dt, b, osc, oz, lo, hi, odt])
