"""Golden cases: elementwise unary ops and activations (incl. softmax)."""

from __future__ import annotations

import math

import torch

from . import cases
from .core import CASE_SIGNED_ZERO, Gen, f64abs

# (shape, layout) every elementwise op is run on: 0-d, 1-d, 2-d, a
# channels-last 4-d, a transposed 2-d, an empty tensor, and 1031 elements
# (a prime above 1024: the tail after any vector width or tile size, where
# backends' loops go wrong).
TAIL = ((1031,), None)
LAYOUTS = [((), None), ((7,), None), ((3, 5), None), ((2, 3, 4, 5), "channels_last"),
           ((4, 3), (1, 0)), ((0, 4), None), TAIL]


def edge_values(dt, limit=None):
    """Signed zeros, infinities, NaN, tiny/huge magnitudes, subnormals and
    half-integers, converted to `dt` (values beyond its range saturate to
    inf); `limit` drops finite magnitudes above it."""
    v = [0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 1.5, -2.5, 2.0, 3.5, 0.999, -0.999, 1.001, 1e-3, -1e-3,
         1e-8, -1e-8, 1e-30, -1e-30, 1e-40, -1e-40, 1e-310, 10.0, -10.0, 88.0, 89.0, -100.0,
         700.0, 1e4, -1e4, 1e30, -1e30, 1e300, math.inf, -math.inf, math.nan]
    if limit is not None:
        v = [x for x in v if not math.isfinite(x) or abs(x) <= limit]
    return torch.tensor(v, dtype=torch.float64).to(dt)


def int_edges(dt):
    info = torch.iinfo(dt)
    return torch.tensor([info.min, info.min + 1, -2, -1, 0, 1, 2, info.max - 1, info.max],
                        dtype=torch.int64).to(dt)


@cases("aten::relu", "aten::hardtanh")
def clamping(g: Gen, op: str, dt):
    short = op.split("::")[1]
    if dt is None:
        g.case(f"{short}/bool", short, [g.rand((3,), torch.bool)])
        return
    for shape, lay in [((3, 5), None), ((2, 3, 4, 5), "channels_last"), ((), None), ((0, 4), None),
                       TAIL]:
        x = g.rand(shape, dt, special=True, layout=lay)
        if short == "relu":
            g.case(f"relu/{dt}/{shape}", "relu", [x])
            continue
        for lo, hi in [(-1, 1), (0, 6), (-0.5, 2.5), (2, 1)]:
            if not dt.is_floating_point and (lo > torch.iinfo(dt).max or hi < torch.iinfo(dt).min):
                continue
            g.case(f"hardtanh/{dt}/{shape}/{lo},{hi}", "hardtanh", [x, lo, hi])


@cases("aten::sigmoid", "aten::tanh")
def transcendental(g: Gen, op: str, dt):
    short = op.split("::")[1]
    if dt is None:
        return
    for shape, lay in [((4, 6), None), ((2, 3, 4, 5), "channels_last"), ((), None), TAIL]:
        x = g.rand(shape, dt, special=True, layout=lay, lo=-20, hi=20)
        g.case(f"{short}/{dt}/{shape}", short, [x])


@cases("aten::_softmax")
def softmax(g: Gen, op: str, dt):
    if dt is None:
        g.case("softmax/int", "_softmax", [g.rand((3,), torch.int64), 0, False])
        g.case("softmax/half_to_float", "_softmax", [g.rand((3,), torch.float16), 0, True])
        return
    for shape, dim, lay in [((4, 7), -1, None), ((4, 7), 0, None), ((2, 3, 4, 5), 1, "channels_last"),
                            ((3, 300), 1, None), ((), 0, None), ((2, 0, 3), 1, None)]:
        x = g.rand(shape, dt, special=(shape == (4, 7)), layout=lay)
        if shape == (3, 300):
            x = x * 30  # large logits
        n = x.shape[dim] if x.dim() else 1
        g.case(f"softmax/{dt}/{shape}/{dim}", "_softmax", [x, dim, False],
               scale=lambda outs: [f64abs(outs[0])], k=n)


# ---------------------------------------------------------------------------
# Exact ops: abs, neg, sign, ceil, floor, round, trunc, isinf, isnan
# ---------------------------------------------------------------------------


@cases("aten::abs", "aten::neg", "aten::sign", "aten::ceil", "aten::floor", "aten::round",
       "aten::trunc", "aten::isinf", "aten::isnan")
def exact(g: Gen, op: str, dt):
    short = op.split("::")[1]
    if dt is None:
        g.case(f"{short}/bool", short, [g.rand((5,), torch.bool)])
        return
    for shape, lay in LAYOUTS:
        g.case(f"{short}/{dt}/{shape}/{lay}", short, [g.rand(shape, dt, special=True, layout=lay)],
               flags=CASE_SIGNED_ZERO)
    if dt.is_floating_point:
        g.case(f"{short}/{dt}/edges", short, [edge_values(dt)], flags=CASE_SIGNED_ZERO)
        halves = (torch.arange(-12, 13, dtype=torch.float64) * 0.5).to(dt)
        g.case(f"{short}/{dt}/halves", short, [halves], flags=CASE_SIGNED_ZERO)
        g.case(f"{short}/{dt}/large", short, [g.rand((40,), dt, lo=-3e4, hi=3e4)])
    elif dt != torch.bool:
        g.case(f"{short}/{dt}/edges", short, [int_edges(dt)])


# ---------------------------------------------------------------------------
# Integer-to-float math ops
# ---------------------------------------------------------------------------

# (lo, hi) of the random inputs per op (the domain where it is interesting);
# trigonometric arguments stay within 1e4 (argument reduction differs).
MATH_RANGES = {
    "acos": (-1.2, 1.2), "asin": (-1.2, 1.2), "atanh": (-1.2, 1.2), "acosh": (0.5, 50.0),
    "asinh": (-50.0, 50.0), "atan": (-50.0, 50.0), "cos": (-20.0, 20.0), "sin": (-20.0, 20.0),
    "tan": (-1.5, 1.5), "cosh": (-95.0, 95.0), "sinh": (-95.0, 95.0), "erf": (-5.0, 5.0),
    "exp": (-110.0, 95.0), "expm1": (-20.0, 95.0), "log": (0.0, 100.0), "log10": (0.0, 100.0),
    "log2": (0.0, 100.0), "log1p": (-1.2, 100.0), "reciprocal": (-10.0, 10.0),
    "rsqrt": (-1.0, 100.0), "sqrt": (-1.0, 100.0),
}
TRIG = ("sin", "cos", "tan")


@cases(*[f"aten::{name}" for name in MATH_RANGES])
def math_ops(g: Gen, op: str, dt):
    short = op.split("::")[1]
    if dt is None:
        return
    lo, hi = MATH_RANGES[short]
    kw = {}
    if short == "erf" and dt in (torch.float16, torch.bfloat16):
        # ATen's float16/bfloat16 erf is a polynomial with an absolute error
        # near 1.5e-7: allow 5 * 2^-24 absolute (measured over every
        # float16/bfloat16 value: at most 4.5) on top of the ulp bound
        kw = dict(scale=lambda outs: [torch.ones(outs[0].shape, dtype=torch.float64)], k=5)
    if not dt.is_floating_point:
        for shape, lay in LAYOUTS:
            g.case(f"{short}/{dt}/{shape}/{lay}", short, [g.rand(shape, dt, lo=-20, hi=20, layout=lay)])
        if dt != torch.bool:
            g.case(f"{short}/{dt}/full range", short, [g.rand((30,), dt)])
            g.case(f"{short}/{dt}/edges", short, [int_edges(dt)])
        return
    def fix(x):
        """bfloat16 sinh/cosh(+-89): ATen's result depends on the element's
        position (inf in some lanes); keep clear of it."""
        if dt == torch.bfloat16 and short in ("sinh", "cosh"):
            x = torch.where(x.abs() == 89, x / 2, x)
        return x

    for shape, lay in LAYOUTS:
        g.case(f"{short}/{dt}/{shape}/{lay}", short,
               [fix(g.rand(shape, dt, special=True, lo=lo, hi=hi, layout=lay))],
               flags=CASE_SIGNED_ZERO, **kw)
    g.case(f"{short}/{dt}/wide", short, [fix(g.rand((200,), dt, lo=lo, hi=hi))], **kw)
    g.case(f"{short}/{dt}/small", short, [g.rand((64,), dt, lo=-1e-3, hi=1e-3)], **kw)
    g.case(f"{short}/{dt}/edges", short, [fix(edge_values(dt, 1e4 if short in TRIG else None))],
           flags=CASE_SIGNED_ZERO, **kw)


# ---------------------------------------------------------------------------
# clamp
# ---------------------------------------------------------------------------


@cases("aten::clamp")
def clamp(g: Gen, op: str, dt):
    if dt is None:
        x = g.rand((3, 4), torch.float32)
        g.case("clamp/none,none", "clamp", [x, None, None])
        g.case("clamp/int8 float min", "clamp", [g.rand((5,), torch.int8), -1.5, 2])
        g.case("clamp/int32 float max", "clamp", [g.rand((5,), torch.int32), None, 1e30])
        g.case("clamp/uint8 bool min", "clamp", [g.rand((5,), torch.uint8), True, 7])
        g.case("clamp/0-d int float", "clamp", [g.rand((), torch.int64), 0.5, None])
        g.case("clamp/half overflow", "clamp", [g.rand((4,), torch.float16), -1e6, None])
        g.case("clamp/float overflow", "clamp", [g.rand((4,), torch.float32), None, 1e39])
        g.case("clamp/bf16 rounded", "clamp", [g.rand((8,), torch.bfloat16), 0.3, 1.1])
        return
    if dt == torch.bool:
        x = g.rand((6,), dt)
        for lo, hi in [(0, 1), (True, True), (False, None), (0.5, None), (None, 0), (-2, 3)]:
            g.case(f"clamp/bool/{lo},{hi}", "clamp", [x, lo, hi])
        return
    limits = [(-1, 1), (0, None), (None, 2), (2, 1), (-0.5, 2.5), (None, -1.5)]
    if dt.is_floating_point:
        limits += [(math.nan, 1.0), (None, math.nan), (-0.0, 0.0), (-math.inf, math.inf)]
    else:
        info = torch.iinfo(dt)
        limits += [(True, None), (info.max, info.min)]
        if dt != torch.int64:  # limits beyond the dtype (int64 ones cannot be Scalars)
            limits += [(info.min - 5, info.max + 5), (info.max + 1, None), (None, info.min - 1)]
    for shape, lay in LAYOUTS:
        x = g.rand(shape, dt, special=True, layout=lay)
        for lo, hi in (limits if shape == (3, 5) else limits[:2]):
            g.case(f"clamp/{dt}/{shape}/{lay}/{lo},{hi}", "clamp", [x, lo, hi],
                   flags=CASE_SIGNED_ZERO)


# ---------------------------------------------------------------------------
# elu, gelu, leaky_relu
# ---------------------------------------------------------------------------


@cases("aten::elu", "aten::gelu", "aten::leaky_relu")
def float_activations(g: Gen, op: str, dt):
    short = op.split("::")[1]
    if dt is None:
        g.case(f"{short}/int", short, [g.rand((4,), torch.int32)])
        g.case(f"{short}/bool", short, [g.rand((4,), torch.bool)])
        if short == "gelu":
            g.case("gelu/bad approximate", "gelu", [g.rand((4,), torch.float32)],
                   {"approximate": "fast"})
        if short == "elu":
            g.case("elu/alpha overflow", "elu", [g.rand((4,), torch.float32), 1e39])
        return
    if short == "elu":
        variants = [([], {}), ([0.5, 2.0, 1.5], {}), ([1.6732632423543772, 1.0507009873554805, 1], {}),
                    ([2, 1, 3], {})]
    elif short == "gelu":
        variants = [([], {}), ([], {"approximate": "none"}), ([], {"approximate": "tanh"})]
    else:
        variants = [([], {}), ([0.2], {}), ([-0.5], {}), ([2], {})]
    def tol(x):
        """gelu: x * (1 + erf(x / sqrt 2)) / 2 cancels for x < 0, leaving an
        absolute error near eps * |x| (plus ATen's float erf polynomial's
        1.5e-7, which float16/bfloat16 show even for tiny x)."""
        if short != "gelu":
            return {}
        extra = 1.0 if dt in (torch.float16, torch.bfloat16) else 0.0
        return dict(scale=lambda outs: [f64abs(x).nan_to_num(0, 0, 0) + extra], k=4)

    def fix(x):
        """gelu(+inf): ATen's float kernels give NaN in vectorised lanes and
        inf in the scalar tail; keep +inf out of their inputs."""
        if short == "gelu" and dt != torch.float64:
            x = torch.where(x == math.inf, torch.zeros_like(x), x)
        return x

    for shape, lay in LAYOUTS:
        x = fix(g.rand(shape, dt, special=True, layout=lay, lo=-12, hi=12))
        for args, kw in (variants if shape in ((3, 5), (7,)) else variants[:1] + variants[-1:]):
            g.case(f"{short}/{dt}/{shape}/{lay}/{args}/{kw}", short, [x, *args], kw,
                   flags=CASE_SIGNED_ZERO, **tol(x))
    for args, kw in variants:
        x = fix(edge_values(dt))
        g.case(f"{short}/{dt}/edges/{args}/{kw}", short, [x, *args], kw, **tol(x))
        x = g.rand((64,), dt, lo=-1e-3, hi=1e-3)
        g.case(f"{short}/{dt}/small/{args}/{kw}", short, [x, *args], kw, **tol(x))


# ---------------------------------------------------------------------------
# _log_softmax
# ---------------------------------------------------------------------------


def log_softmax_scale(x, dim):
    """|x| + |max| + |log sum exp(x - max)| + 1 per element (float64)."""
    x64 = x.to(torch.float64)
    if x64.dim() == 0:
        x64 = x64.reshape(1)
        dim = 0
    m = x64.amax(dim, keepdim=True) if x64.shape[dim] else x64
    lse = torch.log(torch.exp(x64 - m).sum(dim, keepdim=True)) if x64.shape[dim] else x64
    return (x64.abs() + m.abs() + lse.abs() + 1).reshape(x.shape)


@cases("aten::_log_softmax")
def log_softmax(g: Gen, op: str, dt):
    if dt is None:
        g.case("log_softmax/int", "_log_softmax", [g.rand((3,), torch.int64), 0, False])
        g.case("log_softmax/half_to_float", "_log_softmax", [g.rand((3,), torch.float16), 0, True])
        g.case("log_softmax/dim", "_log_softmax", [g.rand((3, 2), torch.float32), 2, False])
        return
    for shape, dim, lay in [((4, 7), -1, None), ((4, 7), 0, None), ((2, 3, 4, 5), 1, "channels_last"),
                            ((3, 300), 1, None), ((), 0, None), ((), -1, None), ((2, 0, 3), 1, None),
                            ((5, 4), 1, (1, 0))]:
        x = g.rand(shape, dt, special=(shape == (4, 7)), layout=lay)
        if shape == (3, 300):
            x = x * 30  # large logits
        n = x.shape[dim] if x.dim() else 1
        g.case(f"log_softmax/{dt}/{shape}/{dim}/{lay}", "_log_softmax", [x, dim, False],
               scale=lambda outs, x=x, dim=dim: [log_softmax_scale(x, dim)], k=n)
    rows = torch.tensor([[-math.inf, 0.0, 1.0], [-math.inf] * 3, [1e30, -1e30, 0.0]],
                        dtype=torch.float64).to(dt)
    g.case(f"log_softmax/{dt}/infinite rows", "_log_softmax", [rows, 1, False],
           scale=lambda outs, x=rows: [log_softmax_scale(x, 1)], k=3)
