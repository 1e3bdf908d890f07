"""Golden cases: elementwise binary ops, comparisons, logical and bitwise ops."""

from __future__ import annotations

import math

import torch

from . import cases
from .core import ALL_REAL, CASE_EPS_STORAGE, CASE_SIGNED_ZERO, FLOATS, INTS, Gen, f64abs

SHAPES = [((3, 4), (3, 4), None), ((2, 1, 4), (3, 1), None), ((5,), (), None),
          ((), (), None), ((0, 3), (3,), None), ((2, 3, 4, 5), (2, 3, 4, 5), "channels_last"),
          ((4, 3), (4, 3), (1, 0)),
          # `other` broadcast along leading/middle dims (a column, a per-channel
          # scale): not reproducible by cyclic indexing
          ((3, 4), (3, 1), None), ((2, 3, 4, 5), (3, 1, 1), None),
          # a prime-length tail past any vector width or tile (1031 > 1024),
          # and a broadcast over odd extents
          ((1031,), (1031,), None), ((2, 65, 33), (65, 1), None)]
# shapes of the tensor operand of Scalar overloads
SHAPES1 = [((3, 4), None), ((), None), ((0, 3), None), ((2, 3, 2, 2), "channels_last"),
           ((4, 3), (1, 0))]
MIXES = [(torch.int8, (4,), torch.uint8, (4,)), (torch.int32, (4,), torch.float16, (4,)),
         (torch.float32, (4,), torch.float64, ()), (torch.int64, (3,), torch.float32, (3,)),
         (torch.int8, (4,), torch.int64, ()), (torch.bool, (3,), torch.int16, (3,)),
         (torch.float16, (2, 2), torch.bfloat16, (2,)), (torch.int16, (3,), torch.float64, ()),
         (torch.float16, (3,), torch.float32, ())]
NAN, INF = math.nan, math.inf
MANT = {torch.float64: 53, torch.float32: 24, torch.float16: 11, torch.bfloat16: 8}


def short(op):
    return op.split("::")[1]


def nonzero(t):
    """Integer tensors with zeros replaced by 1 (divisors)."""
    if t.dtype.is_floating_point or t.dtype == torch.bool:
        return t
    return torch.where(t == 0, torch.ones_like(t), t)


def tensor_pairs(g, dt, divisor=False, lo=None, hi=None, blo=None, bhi=None):
    """(name, a, b) over SHAPES; divisor: integer b without zeros."""
    for sa, sb, lay in SHAPES:
        a = g.rand(sa, dt, special=True, layout=lay, lo=lo, hi=hi)
        b = g.rand(sb, dt, special=True, layout=lay if len(sb) == len(sa) else None, lo=blo, hi=bhi)
        if divisor:
            b = nonzero(b)
        yield f"{sa}x{sb}/{lay}", a, b


def scalars_for(dt):
    """Scalar operands: int, float, bool, large (wrapping) and special."""
    if dt.is_floating_point:
        return [2, -3, 0.1, -2.5, 1e6, True, INF, -INF, NAN, -0.0]
    if dt == torch.bool:
        return [2, -1, 0.5, True, False]
    return [3, -7, 300, 2.5, -0.0, True]


def grid(vals):
    """(shape, layout, value): every value on the first shape, the first two
    on the others (keeps each item to a few dozen cases)."""
    for i, (shape, lay) in enumerate(SHAPES1):
        for v in (vals if i == 0 else vals[:2]):
            yield shape, lay, v


def mix_cases(g, op, kw=None, skip_bool=False, divisor=False):
    s = short(op)
    for da, sa, db, sb in MIXES:
        if skip_bool and torch.bool in (da, db):
            continue
        b = g.rand(sb, db)
        g.case(f"{s}/mix/{da}+{db}", s, [g.rand(sa, da), nonzero(b) if divisor else b], kw)


# ---------------------------------------------------------------------------
# add, sub, mul, div (Tensor and Scalar)
# ---------------------------------------------------------------------------

@cases("aten::add.Tensor", "aten::sub.Tensor", "aten::mul.Tensor", "aten::div.Tensor")
def arithmetic(g: Gen, op: str, dt):
    s = short(op)
    has_alpha = s in ("add.Tensor", "sub.Tensor")
    if dt is None:
        mix_cases(g, op, {"alpha": 1} if has_alpha else None, skip_bool=s == "sub.Tensor")
        g.case(f"{s}/broadcast", s, [g.rand((2, 3), torch.float32), g.rand((4,), torch.float32)])
        g.case(f"{s}/half*0d-f64", s, [g.rand((9,), torch.float16), torch.tensor(0.1, dtype=torch.float64)])
        if s == "sub.Tensor":
            g.case("sub/bool", s, [g.rand((3,), torch.bool), g.rand((3,), torch.bool)])
        if s == "add.Tensor":
            g.case("add/int alpha float", s,
                   [g.rand((3,), torch.int32), g.rand((3,), torch.int32)], {"alpha": 0.5})
        return
    for name, a, b in tensor_pairs(g, dt):
        alphas = [None]
        if has_alpha:
            alphas = [1, 2] if not dt.is_floating_point else [1, -1.5]
        for al in alphas:
            kw = {} if al is None else {"alpha": al}
            sc = None
            if al not in (None, 1) and dt.is_floating_point:
                # ATen's scalar loop rounds alpha * other to the dtype first
                sc = (lambda b=b, al=al: lambda outs: [abs(al) * f64abs(b).expand(outs[0].shape)])()
            g.case(f"{s}/{dt}/{name}/alpha={al}", s, [a, b], kw, scale=sc, k=1,
                   flags=CASE_EPS_STORAGE if sc is not None else 0)


@cases("aten::add.Scalar", "aten::sub.Scalar", "aten::mul.Scalar", "aten::div.Scalar")
def arithmetic_scalar(g: Gen, op: str, dt):
    s = short(op)
    has_alpha = s in ("add.Scalar", "sub.Scalar")
    if dt is None:
        for d in ALL_REAL:
            for v in (3, 1.5, True):
                g.case(f"{s}/promote/{d}/{v!r}", s, [g.rand((3,), d), v])
        g.case(f"{s}/int alpha float", s, [g.rand((3,), torch.int32), 2], {"alpha": 0.5} if has_alpha else None)
        if has_alpha:
            g.case(f"{s}/int8 alpha overflow", s, [g.rand((3,), torch.int8), 2], {"alpha": 300})
            g.case(f"{s}/bool alpha", s, [g.rand((3,), torch.int8), 2], {"alpha": True})
        return
    for shape, lay, v in grid(scalars_for(dt)):
        a = g.rand(shape, dt, special=True, layout=lay)
        alphas = [None]
        if has_alpha:
            alphas = [1, 2] if not dt.is_floating_point else [1, -1.5]
        for al in alphas:
            if al not in (None, 1) and (isinstance(v, bool) or not isinstance(v, (int, float))):
                continue
            kw = {} if al is None else {"alpha": al}
            sc = None
            fl = 0
            if al not in (None, 1) and dt.is_floating_point:
                # ATen's scalar tail loop rounds alpha * other first (not fused)
                sc = (lambda v=v, al=al: lambda outs: [torch.full(outs[0].shape, abs(al * v) if v == v else 0.0, dtype=torch.float64)])()
                fl = CASE_EPS_STORAGE
            g.case(f"{s}/{dt}/{shape}/{lay}/{v!r}/alpha={al}", s, [a, v], kw, scale=sc, k=1,
                   flags=fl)


@cases("aten::div.Tensor_mode", "aten::div.Scalar_mode")
def div_mode(g: Gen, op: str, dt):
    s = short(op)
    is_scalar = s == "div.Scalar_mode"
    modes = [None, "trunc", "floor"]
    if dt is None:
        for m in modes:
            if is_scalar:
                for d in ALL_REAL:
                    g.case(f"{s}/promote/{d}/{m}", s, [g.rand((4,), d), 3], {"rounding_mode": m})
                    g.case(f"{s}/promote-float/{d}/{m}", s, [g.rand((4,), d), -1.5], {"rounding_mode": m})
                g.case(f"{s}/bool-bool/{m}", s, [g.rand((3,), torch.bool), True], {"rounding_mode": m})
                g.case(f"{s}/int zero/{m}", s, [g.rand((3,), torch.int32), 0], {"rounding_mode": m})
            else:
                mix_cases(g, op, {"rounding_mode": m}, divisor=True)
                g.case(f"{s}/bool/{m}", s, [g.rand((3,), torch.bool), g.rand((3,), torch.bool)],
                       {"rounding_mode": m})
                g.case(f"{s}/int zero/{m}", s, [g.rand((3,), torch.int16), torch.tensor([1, 0, 2], dtype=torch.int16)],
                       {"rounding_mode": m})
                g.case(f"{s}/half/0d/{m}", s, [g.rand((9,), torch.float16), torch.tensor(0.3, dtype=torch.float64)],
                       {"rounding_mode": m})
        g.case(f"{s}/bad mode", s, [g.rand((3,), torch.float32), g.rand((3,), torch.float32) if not is_scalar else 2.0],
               {"rounding_mode": "round"})
        return
    flags = CASE_SIGNED_ZERO
    if is_scalar:
        for shape, lay, v in grid(scalars_for(dt)):
            a = g.rand(shape, dt, special=True, layout=lay)
            for m in modes:
                if m is not None and not dt.is_floating_point and (v == 0 or (dt == torch.bool and isinstance(v, bool))):
                    continue
                g.case(f"{s}/{dt}/{shape}/{lay}/{v!r}/{m}", s, [a, v], {"rounding_mode": m}, flags=flags)
        return
    for name, a, b in tensor_pairs(g, dt, divisor=True):
        for m in modes:
            g.case(f"{s}/{dt}/{name}/{m}", s, [a, b], {"rounding_mode": m}, flags=flags)
    if dt.is_floating_point:
        a = torch.tensor([7.0, -7.0, 7.0, -7.0, 0.0, -0.0, 1.0, -1.0, INF, -INF, 5.0, 1e30, -1e-30, NAN], dtype=dt)
        b = torch.tensor([2.0, 2.0, -2.0, -2.0, 3.0, 3.0, 0.0, -0.0, 2.0, -3.0, INF, 1e-30, 1e30, 1.0], dtype=dt)
        for m in modes:
            g.case(f"{s}/{dt}/specials/{m}", s, [a, b], {"rounding_mode": m}, flags=flags)
    elif dt in (torch.int8, torch.int16):  # wider INT_MIN / -1 traps in ATen
        info = torch.iinfo(dt)
        a = torch.tensor([info.min, info.min, -7, 7, -7, 7], dtype=dt)
        b = torch.tensor([-1, 1, 2, -2, -2, 2], dtype=dt)
        for m in ["trunc", "floor"]:
            g.case(f"{s}/{dt}/edges/{m}", s, [a, b], {"rounding_mode": m})


# ---------------------------------------------------------------------------
# fmod, remainder, pow
# ---------------------------------------------------------------------------

@cases("aten::fmod.Tensor", "aten::remainder.Tensor", "aten::fmod.Scalar", "aten::remainder.Scalar")
def modulo(g: Gen, op: str, dt):
    s = short(op)
    is_scalar = s.endswith("Scalar")
    if dt is None:
        if is_scalar:
            for d in ALL_REAL:
                for v in (3, -1.5, True):
                    g.case(f"{s}/promote/{d}/{v!r}", s, [g.rand((4,), d), v])
            g.case(f"{s}/int zero", s, [g.rand((3,), torch.int32), 0])
        else:
            mix_cases(g, op, skip_bool=True, divisor=True)
            g.case(f"{s}/bool", s, [g.rand((3,), torch.bool), g.rand((3,), torch.bool)])
            g.case(f"{s}/int zero", s, [g.rand((3,), torch.int8), torch.tensor([1, 0, 2], dtype=torch.int8)])
        return
    if is_scalar:
        for shape, lay, v in grid(scalars_for(dt)):
            a = g.rand(shape, dt, special=True, layout=lay)
            if not dt.is_floating_point and v == 0:
                continue
            if dt == torch.bool and isinstance(v, bool):
                continue
            g.case(f"{s}/{dt}/{shape}/{lay}/{v!r}", s, [a, v], flags=CASE_SIGNED_ZERO)
        return
    for name, a, b in tensor_pairs(g, dt, divisor=True):
        g.case(f"{s}/{dt}/{name}", s, [a, b], flags=CASE_SIGNED_ZERO)
    if dt.is_floating_point:
        a = torch.tensor([7.0, -7.0, 7.0, -7.0, 0.0, -0.0, 1.0, INF, 5.0, -5.0, 5.5, NAN], dtype=dt)
        b = torch.tensor([2.0, 2.0, -2.0, -2.0, 3.0, -3.0, 0.0, 2.0, INF, INF, -INF, 1.0], dtype=dt)
        g.case(f"{s}/{dt}/specials", s, [a, b], flags=CASE_SIGNED_ZERO)
    elif dt in (torch.int8, torch.int16):  # wider INT_MIN % -1 traps in ATen
        info = torch.iinfo(dt)
        a = torch.tensor([info.min, info.max, -7, 7, -7, 7], dtype=dt)
        b = torch.tensor([-1, -1, 3, -3, -3, 3], dtype=dt)
        g.case(f"{s}/{dt}/edges", s, [a, b])


@cases("aten::pow.Tensor_Tensor")
def pow_tt(g: Gen, op: str, dt):
    s = short(op)
    if dt is None:
        mix_cases(g, op, skip_bool=False)
        g.case(f"{s}/bool", s, [g.rand((3,), torch.bool), g.rand((3,), torch.bool)])
        return
    if dt.is_floating_point:
        for name, a, b in tensor_pairs(g, dt):
            g.case(f"{s}/{dt}/{name}", s, [a, b])
        a = torch.tensor([0.0, -0.0, NAN, 1.0, -2.0, -2.0, INF, -INF, 0.5, -1.0, 0.0], dtype=dt)
        b = torch.tensor([0.0, 0.0, 0.0, NAN, 0.5, 3.0, -1.0, 3.0, INF, INF, -1.0], dtype=dt)
        g.case(f"{s}/{dt}/specials", s, [a, b], flags=CASE_SIGNED_ZERO)
    else:
        lo_e = 0 if dt == torch.uint8 else -3
        for name, a, b in tensor_pairs(g, dt, blo=lo_e, bhi=12):
            g.case(f"{s}/{dt}/{name}", s, [a, b])
        a = g.rand((6, 5), dt, lo=-3, hi=3)
        b = g.rand((6, 5), dt, lo=lo_e, hi=70)
        g.case(f"{s}/{dt}/small bases", s, [a, b])


@cases("aten::pow.Tensor_Scalar")
def pow_ts(g: Gen, op: str, dt):
    s = short(op)
    if dt is None:
        for d in ALL_REAL:
            for v in (2, 0.5, True, -1):
                g.case(f"{s}/promote/{d}/{v!r}", s, [g.rand((4,), d), v])
        g.case(f"{s}/int8 exp overflow", s, [g.rand((3,), torch.int8), 300])
        g.case(f"{s}/half exp overflow", s, [g.rand((3,), torch.float16), 1e6])
        g.case(f"{s}/nan^0", s, [torch.tensor([NAN, INF]), 0])
        return
    if dt.is_floating_point:
        exps = [0, 1, 2, 3, -1, -2, 0.5, -0.5, 1.7, -0.3, 3.0, NAN, INF, True, False, 1e-9]
    elif dt == torch.bool:
        exps = [0, 1, 2, 3, True, False, 0.5, 2.5]
    else:
        exps = [0, 1, 2, 3, 7, 63, True, False, 0.5, -1.0, 2.0]
    for shape, lay, e in grid(exps):
        a = g.rand(shape, dt, special=True, layout=lay)
        if dt.is_floating_point and shape == (3, 4):
            a = a.abs()  # real results for fractional exponents
        g.case(f"{s}/{dt}/{shape}/{lay}/{e!r}", s, [a, e])


@cases("aten::pow.Scalar")
def pow_s(g: Gen, op: str, dt):
    s = short(op)
    if dt is None:
        for d in ALL_REAL:
            for v in (2, 1.5, True, 1):
                g.case(f"{s}/promote/{d}/{v!r}", s, [v, g.rand((4,), d, lo=0, hi=5)])
        return
    if dt.is_floating_point:
        bases = [2, -2, 0, 1, 2.5, -1.5, 0.0, NAN, INF, True]
    elif dt == torch.bool:
        bases = [2, -3, 0, 2.5]
    else:
        bases = [2, -2, -1, 0, 1, 3, 300, 2.5, True]
    lo = 0 if dt == torch.uint8 else -3
    for shape, lay, v in grid(bases):
        e = g.rand(shape, dt, special=True, layout=lay, lo=lo, hi=12)
        g.case(f"{s}/{dt}/{shape}/{lay}/{v!r}", s, [v, e])


# ---------------------------------------------------------------------------
# atan2, maximum, minimum, clamp, where
# ---------------------------------------------------------------------------

@cases("aten::atan2", "aten::maximum", "aten::minimum")
def atan2_minmax(g: Gen, op: str, dt):
    s = short(op)
    if dt is None:
        mix_cases(g, op)
        return
    flags = CASE_SIGNED_ZERO if s == "atan2" else 0
    for name, a, b in tensor_pairs(g, dt):
        g.case(f"{s}/{dt}/{name}", s, [a, b], flags=flags)
    if dt.is_floating_point:
        a = torch.tensor([0.0, -0.0, 0.0, -0.0, 1.0, -1.0, INF, -INF, INF, NAN, 1.0, 3.0], dtype=dt)
        b = torch.tensor([0.0, 0.0, -0.0, -0.0, INF, -INF, INF, -INF, 1.0, 1.0, NAN, -0.0], dtype=dt)
        g.case(f"{s}/{dt}/specials", s, [a, b], flags=flags)


@cases("aten::atan2.out")
def atan2_out(g: Gen, op: str, dt):
    s = short(op)
    if dt is None:
        for da, sa, db, sb in MIXES:
            for od in (torch.float32, torch.float64, torch.float16, torch.int32, torch.bool):
                g.case(f"{s}/mix/{da}+{db}->{od}", s, [g.rand(sa, da), g.rand(sb, db)],
                       {"out": torch.empty((0,), dtype=od)})
        return
    cd = dt if dt.is_floating_point else torch.float32  # computation dtype
    for name, a, b in tensor_pairs(g, dt):
        for od in (cd, torch.float64, torch.bfloat16):
            sc = None
            if MANT[cd] < MANT[od]:
                # computed in `cd` (ATen: SLEEF, here libm: 1-2 ulp of cd apart), then
                # widened: allow 2 ulp of cd, expressed through the scale term
                # (K=2, eps of od's computation type: 2^-53 float64, else 2^-24)
                p = (54 if od == torch.float64 else 25) - MANT[cd]
                sc = (lambda p=p: lambda outs: [f64abs(outs[0]) * 2.0 ** p])()
            g.case(f"{s}/{dt}/{name}/->{od}", s, [a, b], {"out": torch.empty((0,), dtype=od)},
                   scale=sc, k=2)
    g.case(f"{s}/{dt}/->int64", s, [g.rand((3,), dt), g.rand((3,), dt)],
           {"out": torch.empty((0,), dtype=torch.int64)})


@cases("aten::clamp.Tensor")
def clamp_tensor(g: Gen, op: str, dt):
    s = short(op)
    if dt is None:
        g.case(f"{s}/none", s, [g.rand((3,), torch.float32), None, None])
        g.case(f"{s}/bool", s, [g.rand((3,), torch.bool), g.rand((3,), torch.bool), None])
        g.case(f"{s}/bool max", s, [g.rand((3,), torch.bool), None, g.rand((3,), torch.bool)])
        g.case(f"{s}/bool both", s, [g.rand((3,), torch.bool), g.rand((3,), torch.bool), g.rand((3,), torch.bool)])
        for da, sa, db, sb in MIXES:
            if torch.bool in (da, db) and da == db:
                continue
            g.case(f"{s}/mix/{da}+{db}", s, [g.rand(sa, da), g.rand(sb, db), None])
            g.case(f"{s}/mix/{da}+{db}/max", s, [g.rand(sa, da), None, g.rand(sb, db)])
        g.case(f"{s}/int8+0d-float", s, [g.rand((3,), torch.int8), torch.tensor(2.5), None])
        return
    for sa, sb, lay in SHAPES:
        a = g.rand(sa, dt, special=True, layout=lay)
        l2 = lay if len(sb) == len(sa) else None
        lo = g.rand(sb, dt, special=True, layout=l2)
        hi = g.rand(sb, dt, special=True, layout=l2)
        g.case(f"{s}/{dt}/{sa}x{sb}/{lay}/both", s, [a, lo, hi])
        g.case(f"{s}/{dt}/{sa}x{sb}/{lay}/min", s, [a, lo, None])
        g.case(f"{s}/{dt}/{sa}x{sb}/{lay}/max", s, [a, None, hi])
    a = g.rand((2, 3, 4), dt, special=True)
    g.case(f"{s}/{dt}/3way", s, [a, g.rand((3, 1), dt), g.rand((4,), dt)])
    g.case(f"{s}/{dt}/min>max", s, [a, torch.full((4,), 50).to(dt), torch.full((4,), 10).to(dt)])


@cases("aten::where.self")
def where_self(g: Gen, op: str, dt):
    s = short(op)
    if dt is None:
        for da, sa, db, sb in MIXES:
            g.case(f"{s}/mix/{da}+{db}", s, [g.rand(sa, torch.bool), g.rand(sa, da), g.rand(sb, db)])
        g.case(f"{s}/uint8 cond", s, [torch.tensor([0, 1, 200], dtype=torch.uint8), g.rand((3,), torch.float32), g.rand((3,), torch.float32)])
        g.case(f"{s}/int8 cond", s, [torch.tensor([0, 1, 2], dtype=torch.int8), g.rand((3,), torch.float32), g.rand((3,), torch.float32)])
        g.case(f"{s}/float cond", s, [g.rand((3,), torch.float32), g.rand((3,), torch.float32), g.rand((3,), torch.float32)])
        return
    for sa, sb, lay in SHAPES:
        m = g.rand(sa, torch.bool, layout=lay)
        a = g.rand(sa, dt, special=True, layout=lay)
        b = g.rand(sb, dt, special=True, layout=lay if len(sb) == len(sa) else None)
        g.case(f"{s}/{dt}/{sa}x{sb}/{lay}", s, [m, a, b])
        g.case(f"{s}/{dt}/{sa}x{sb}/{lay}/swap", s, [m, b, a])
    g.case(f"{s}/{dt}/3way", s, [g.rand((4, 1, 1), torch.bool), g.rand((3, 1), dt), g.rand((2,), dt)])
    g.case(f"{s}/{dt}/0d cond", s, [torch.tensor(True), g.rand((3,), dt), g.rand((3,), dt)])


# ---------------------------------------------------------------------------
# comparisons, logical, bitwise
# ---------------------------------------------------------------------------

CMP = ["eq", "ne", "lt", "le", "gt", "ge"]


@cases(*[f"aten::{c}.Tensor" for c in CMP], "aten::logical_and", "aten::logical_or",
       "aten::logical_xor", *[f"aten::bitwise_{b}.Tensor" for b in ("and", "or", "xor")])
def predicate_tensor(g: Gen, op: str, dt):
    s = short(op)
    if dt is None:
        mix_cases(g, op)
        g.case(f"{s}/0d-float-vs-int", s, [g.rand((4,), torch.int32), torch.tensor(2.5, dtype=torch.float64)])
        return
    for name, a, b in tensor_pairs(g, dt):
        g.case(f"{s}/{dt}/{name}", s, [a, b])
        if not dt.is_floating_point and dt != torch.bool:
            # equal values are rare in the full range: compare small ranges too
            g.case(f"{s}/{dt}/{name}/small", s, [a.clamp(-2, 2) if dt != torch.uint8 else a % 3,
                                                   b.clamp(-2, 2) if dt != torch.uint8 else b % 3])
    if dt.is_floating_point:
        a = torch.tensor([NAN, NAN, 1.0, 0.0, -0.0, INF, -INF, INF, 2.0], dtype=dt)
        b = torch.tensor([NAN, 1.0, NAN, -0.0, 0.0, INF, INF, 1.0, 2.0], dtype=dt)
        g.case(f"{s}/{dt}/specials", s, [a, b])


@cases(*[f"aten::{c}.Scalar" for c in CMP], *[f"aten::bitwise_{b}.Scalar" for b in ("and", "or", "xor")])
def predicate_scalar(g: Gen, op: str, dt):
    s = short(op)
    if dt is None:
        for d in ALL_REAL:
            for v in (3, 1.5, True):
                g.case(f"{s}/promote/{d}/{v!r}", s, [g.rand((4,), d, lo=0, hi=4), v])
        g.case(f"{s}/half vs 0.1", s, [torch.tensor([0.0999755859375, 0.1], dtype=torch.float16), 0.1])
        g.case(f"{s}/uint8 vs -1", s, [torch.tensor([0, 1, 255], dtype=torch.uint8), -1])
        return
    is_bitwise = s.startswith("bitwise")
    vals = scalars_for(dt)
    if is_bitwise:
        vals = [v for v in vals if not isinstance(v, float)] + [-1, 0x5A]
    for shape, lay, v in grid(vals):
        a = g.rand(shape, dt, special=True, layout=lay)
        if not dt.is_floating_point and dt != torch.bool and not is_bitwise:
            a = g.rand(shape, dt, layout=lay, lo=-4, hi=4)
        g.case(f"{s}/{dt}/{shape}/{lay}/{v!r}", s, [a, v])


@cases("aten::logical_not", "aten::bitwise_not")
def unary_logical(g: Gen, op: str, dt):
    s = short(op)
    if dt is None:
        g.case(f"{s}/float", s, [g.rand((3,), torch.float32)])
        return
    for shape, lay in SHAPES1:
        g.case(f"{s}/{dt}/{shape}/{lay}", s, [g.rand(shape, dt, special=True, layout=lay)])
    if dt.is_floating_point:
        g.case(f"{s}/{dt}/specials", s, [torch.tensor([NAN, 0.0, -0.0, INF, 1e-30], dtype=dt)])
