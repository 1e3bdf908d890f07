"""Golden cases: reductions, cumsum, sort and topk."""

from __future__ import annotations

import math

import torch

from . import cases
from .core import CASE_EPS_STORAGE, Gen, f64abs

A = torch.ops.aten
LOW = (torch.float16, torch.bfloat16)

# (shape, dims, keepdim, layout): every accumulate/select op with a dim list runs these.
DIM_LISTS = [((4, 5, 6), [1], False, None), ((4, 5, 6), [0, 2], True, None),
             ((4, 5, 6), [-1], False, None), ((4, 5, 6), None, False, None),
             ((4, 5, 6), [], True, None), ((2, 3, 4, 5), [1], False, "channels_last"),
             ((2, 3, 4, 5), [0, 2, 3], True, "channels_last"), ((5, 7), [0], False, (1, 0)),
             ((3, 300), [0], False, None), ((2, 300), [1], True, None), ((0, 3), [0], False, None),
             ((0, 3), [1], True, None), ((), [0], False, None), ((), None, True, None), ((7,), [0], False, None)]
# (shape, dim, keepdim, layout): ops with one int dim.
ONE_DIM = [((4, 5, 6), 1, False, None), ((4, 5, 6), -1, True, None), ((4, 5, 6), 0, False, None),
           ((2, 3, 4, 5), 1, True, "channels_last"), ((2, 3, 4, 5), 3, False, "channels_last"),
           ((5, 7), 0, False, (1, 0)), ((3, 300), 0, False, None), ((2, 300), 1, False, None),
           ((0, 3), 1, False, None), ((), 0, False, None), ((), -1, True, None), ((7,), 0, True, None)]


def reduced(x, dims):
    """The reduced dims (wrapped) of a dim list (None / [] = all)."""
    if x.dim() == 0:
        return []
    if dims is None or (isinstance(dims, list) and not dims):
        return list(range(x.dim()))
    dims = dims if isinstance(dims, list) else [dims]
    return sorted(d % x.dim() for d in dims)


def count(x, dims):
    return math.prod(x.shape[d] for d in reduced(x, dims))


def rdims(x, dims):
    """Dims for torch's sum/prod over the reduced dims (a tuple; () on 0-d)."""
    return tuple(reduced(x, dims))


def abs_sum(x, dims, keep):
    r = rdims(x, dims)
    a = f64abs(x)
    return a.sum(r, keepdim=keep) if r else a.clone()


def abs_prod(x, dims, keep):
    a = f64abs(x)
    for d in sorted(rdims(x, dims), reverse=True):
        a = a.prod(d, keepdim=keep)
    return a


def vals(g, shape, dt, special=False, layout=None, lo=None, hi=None):
    return g.rand(shape, dt, special=special, layout=layout, lo=lo, hi=hi)


# ------------------------------------------------------------------------------------------------
# sum / mean / prod
# ------------------------------------------------------------------------------------------------

@cases("aten::sum.dim_IntList")
def sum_cases(g: Gen, op: str, dt):
    if dt is None:
        x8 = g.rand((4, 40), torch.int8)
        g.case("sum/int8 dtype=int8 wraps", "sum.dim_IntList", [x8, [1], False], {"dtype": torch.int8})
        g.case("sum/int32 dtype=float16", "sum.dim_IntList", [g.rand((3, 5), torch.int32, lo=-50, hi=50), [1]],
               {"dtype": torch.float16}, scale=lambda o: [torch.full(o[0].shape, 250.0, dtype=torch.float64)], k=5)
        xf = g.rand((3, 5), torch.float32, lo=-20, hi=20)
        g.case("sum/float dtype=int32", "sum.dim_IntList", [xf, [1]], {"dtype": torch.int32})
        xb = torch.tensor([[0.0, 0.5, math.nan], [0.0, -0.0, 0.0], [0.0, 0.0, -0.25]])
        g.case("sum/float dtype=bool", "sum.dim_IntList", [xb, [1]], {"dtype": torch.bool})
        g.case("sum/bool", "sum.dim_IntList", [g.rand((4, 9), torch.bool), [0, 1], True])
        g.case("sum/uint8 dtype=bool", "sum.dim_IntList", [g.rand((4, 9), torch.uint8, lo=0, hi=1), [1]],
               {"dtype": torch.bool})
        g.case("sum/dup dims", "sum.dim_IntList", [g.rand((3, 4), torch.float32), [1, -1]])
        g.case("sum/dim out of range", "sum.dim_IntList", [g.rand((3, 4), torch.float32), [2]])
        g.case("sum/0-d dim 1", "sum.dim_IntList", [g.rand((), torch.float32), [1]])
        return
    for shape, dims, keep, lay in DIM_LISTS:
        x = vals(g, shape, dt, special=(dims == [1] and shape == (4, 5, 6)), layout=lay)
        for odt in ([None, torch.float64] if dt == torch.float32 and dims == [1] else [None]):
            kw = {} if odt is None else {"dtype": odt}
            fl = dt.is_floating_point
            g.case(f"sum/{dt}/{shape}/{dims}/{keep}/{lay}/{odt}", "sum.dim_IntList", [x, dims, keep], kw,
                   scale=(lambda o, x=x, d=dims, kp=keep: [abs_sum(x, d, kp)]) if fl else None,
                   k=count(x, dims))


@cases("aten::mean")
def mean_cases(g: Gen, op: str, dt):
    if dt is None:
        xi = g.rand((3, 4), torch.int32, lo=-100, hi=100)
        g.case("mean/int no dtype", "mean", [xi])
        g.case("mean/int dtype=float32", "mean", [xi], {"dtype": torch.float32},
               scale=lambda o, x=xi: [f64abs(x).mean()], k=12)
        g.case("mean/float dtype=int32", "mean", [g.rand((3,), torch.float32)], {"dtype": torch.int32})
        g.case("mean/bool dtype=float64", "mean", [g.rand((5,), torch.bool)], {"dtype": torch.float64},
               scale=lambda o: [torch.ones((), dtype=torch.float64)], k=5)
        return
    for shape, lay, sp in [((4, 5, 6), None, True), ((4, 5, 6), None, False), ((2, 3, 4, 5), "channels_last", False),
                           ((5, 7), (1, 0), False), ((1000,), None, False), ((0, 3), None, False), ((), None, False)]:
        x = vals(g, shape, dt, special=sp, layout=lay)
        for odt in ([None, torch.float64] if dt == torch.float32 else [None, torch.float32]):
            kw = {} if odt is None else {"dtype": odt}
            g.case(f"mean/{dt}/{shape}/{lay}/{sp}/{odt}", "mean", [x], kw,
                   scale=lambda o, x=x: [f64abs(x).mean()], k=max(x.numel(), 1))


@cases("aten::mean.dim")
def mean_dim_cases(g: Gen, op: str, dt):
    if dt is None:
        for it in [torch.int32, torch.bool]:
            x = g.rand((3, 4), it, lo=-100, hi=100)
            g.case(f"mean/{it}/dtype", "mean.dim", [x, [1], False], {"dtype": torch.float32},
                   scale=lambda outs, x=x: [torch.ops.aten.mean.dim(f64abs(x), [1], False)], k=4)
            g.case(f"mean/{it}/no dtype", "mean.dim", [x, [1], False])
        g.case("mean/dtype=int64", "mean.dim", [g.rand((3, 4), torch.float32), [1]], {"dtype": torch.int64})
        g.case("mean/dup dims", "mean.dim", [g.rand((3, 4), torch.float32), [0, 0]])
        return
    for shape, dims, keep, lay in DIM_LISTS:
        x = vals(g, shape, dt, special=(shape == (4, 5, 6) and dims == [1]), layout=lay)
        for odt in [None, torch.float64] if dt == torch.float32 and shape == (4, 5, 6) else [None]:
            kw = {} if odt is None else {"dtype": odt}

            def sc(outs, x=x, dims=dims, keep=keep):
                return [torch.ops.aten.mean.dim(f64abs(x), dims, keep)]
            g.case(f"mean/{dt}/{shape}/{dims}/{keep}/{odt}", "mean.dim", [x, dims, keep], kw,
                   scale=sc, k=count(x, dims))


def prod_input(g, shape, dt, special=False, layout=None):
    # moderate magnitudes keep products finite (float16 rounds each partial product)
    if dt.is_floating_point:
        x = g.rand(shape, torch.float64, lo=0.5, hi=1.6)
        sign = g.rand(shape, torch.bool).to(torch.float64) * 2 - 1
        x = x * sign
        if special and x.numel():
            f = x.view(-1)
            for j, v in enumerate([math.nan, math.inf, -0.0, 0.0, -math.inf]):
                f[(7 * j + 3) % f.numel()] = v
        from .core import relayout
        return relayout(x.to(dt), layout)
    return g.rand(shape, dt, layout=layout)


@cases("aten::prod")
def prod_cases(g: Gen, op: str, dt):
    if dt is None:
        g.case("prod/bool", "prod", [g.rand((5,), torch.bool)])
        g.case("prod/int8 dtype=int8", "prod", [g.rand((9,), torch.int8)], {"dtype": torch.int8})
        g.case("prod/float dtype=int32", "prod", [torch.tensor([1.5, 2.0, -3.0])], {"dtype": torch.int32})
        g.case("prod/float dtype=bool", "prod", [torch.tensor([0.5, math.nan, -2.0])], {"dtype": torch.bool})
        g.case("prod/int dtype=float64", "prod", [g.rand((6,), torch.int32, lo=-9, hi=9)], {"dtype": torch.float64},
               scale=lambda o: [torch.full((), 9.0 ** 6, dtype=torch.float64)], k=6)
        return
    fl = dt.is_floating_point
    for shape, lay, sp in [((4, 5), None, True), ((2, 3, 4), None, False), ((2, 3, 2, 2), "channels_last", False),
                           ((3, 4), (1, 0), False), ((0, 3), None, False), ((), None, False), ((20,), None, False)]:
        x = prod_input(g, shape, dt, special=sp, layout=lay)
        g.case(f"prod/{dt}/{shape}/{lay}/{sp}", "prod", [x],
               scale=(lambda o, x=x: [abs_prod(x, None, False)]) if fl else None, k=max(x.numel(), 1),
               flags=CASE_EPS_STORAGE if dt in LOW else 0)
    if dt == torch.float32:
        x = prod_input(g, (3, 4), dt)
        g.case("prod/float32 dtype=float64", "prod", [x], {"dtype": torch.float64},
               scale=lambda o, x=x: [abs_prod(x, None, False)], k=12)


@cases("aten::prod.dim_int")
def prod_dim_cases(g: Gen, op: str, dt):
    if dt is None:
        g.case("prod.dim/bool", "prod.dim_int", [g.rand((3, 5), torch.bool), 1])
        g.case("prod.dim/uint8 dtype=uint8", "prod.dim_int", [g.rand((3, 9), torch.uint8), 1], {"dtype": torch.uint8})
        g.case("prod.dim/dim out of range", "prod.dim_int", [g.rand((3, 5), torch.float32), 2])
        g.case("prod.dim/int dtype=float32", "prod.dim_int", [g.rand((3, 5), torch.int16, lo=-5, hi=5), 0, True],
               {"dtype": torch.float32}, scale=lambda o: [torch.full(o[0].shape, 125.0, dtype=torch.float64)], k=3)
        return
    fl = dt.is_floating_point
    for shape, dim, keep, lay in ONE_DIM:
        x = prod_input(g, shape, dt, special=(shape == (4, 5, 6) and dim == 1), layout=lay)
        g.case(f"prod.dim/{dt}/{shape}/{dim}/{keep}/{lay}", "prod.dim_int", [x, dim, keep],
               scale=(lambda o, x=x, d=dim, kp=keep: [abs_prod(x, d, kp)]) if fl else None, k=count(x, dim),
               flags=CASE_EPS_STORAGE if dt in LOW else 0)


# ------------------------------------------------------------------------------------------------
# var
# ------------------------------------------------------------------------------------------------

def var_scale(x, dims, corr, keep):
    """sum(x^2) / max(N - correction, 1) over the reduced dims, in float64."""
    r = rdims(x, dims)
    x2 = x.to(torch.float64) ** 2
    s = x2.sum(r, keepdim=keep) if r else x2.clone()
    return s / max(count(x, dims) - corr, 1)


@cases("aten::var.correction")
def var_correction_cases(g: Gen, op: str, dt):
    if dt is None:
        g.case("var/int", "var.correction", [g.rand((3, 4), torch.int32)])
        g.case("var/bool", "var.correction", [g.rand((3, 4), torch.bool)])
        g.case("var/dup dims", "var.correction", [g.rand((3, 4), torch.float32), [1, 1]])
        return
    for shape, dims, keep, lay in DIM_LISTS:
        x = vals(g, shape, dt, special=(shape == (4, 5, 6) and dims == [1]), layout=lay)
        corrs = [None, 0, 2, 1.5] if shape == (4, 5, 6) and dims in ([1], [-1]) else [None]
        for corr in corrs:
            c = 1 if corr is None else corr
            g.case(f"var/{dt}/{shape}/{dims}/{keep}/{lay}/c={corr}", "var.correction", [x, dims],
                   {"correction": corr, "keepdim": keep},
                   scale=lambda o, x=x, d=dims, c=c, kp=keep: [var_scale(x, d, c, kp)], k=max(count(x, dims), 1))
    x = vals(g, (3, 2), dt)
    for corr in [2, 3, -1, True]:  # N - correction <= 0 gives inf; negative corrections are allowed
        g.case(f"var/{dt}/N<=c/c={corr}", "var.correction", [x, [1]], {"correction": corr},
               scale=lambda o, x=x, c=corr: [var_scale(x, [1], int(c), False)], k=2)


@cases("aten::var.dim")
def var_dim_cases(g: Gen, op: str, dt):
    if dt is None:
        g.case("var.dim/int", "var.dim", [g.rand((3, 4), torch.int64), [1]])
        g.case("var.dim/out of range", "var.dim", [g.rand((3, 4), torch.float32), [-3]])
        return
    for shape, dims, keep, lay in DIM_LISTS:
        x = vals(g, shape, dt, special=(shape == (4, 5, 6) and dims == [1]), layout=lay)
        for unb in ([True, False] if shape in ((4, 5, 6), ()) else [True]):
            c = 1 if unb else 0
            g.case(f"var.dim/{dt}/{shape}/{dims}/{unb}/{keep}/{lay}", "var.dim", [x, dims, unb, keep],
                   scale=lambda o, x=x, d=dims, c=c, kp=keep: [var_scale(x, d, c, kp)], k=max(count(x, dims), 1))


# ------------------------------------------------------------------------------------------------
# amax / amin / argmax / argmin / max.dim / min.dim / any
# ------------------------------------------------------------------------------------------------

def tie_input(g, shape, dt, layout=None):
    """Few distinct values, so ties are common."""
    if dt == torch.bool:
        return g.rand(shape, dt, layout=layout)
    return g.rand(shape, torch.int64, lo=0, hi=3, layout=layout).to(dt)


@cases("aten::amax", "aten::amin")
def amax_cases(g: Gen, op: str, dt):
    short = op.split("::")[1]
    if dt is None:
        g.case(f"{short}/empty dim", short, [g.rand((0, 3), torch.float32), [0]])
        g.case(f"{short}/empty all", short, [g.rand((0, 3), torch.float32), []])
        g.case(f"{short}/dup dims", short, [g.rand((2, 3), torch.float32), [0, -2]])
        g.case(f"{short}/out of range", short, [g.rand((2, 3), torch.float32), [2]])
        return
    for shape, dims, keep, lay in DIM_LISTS:
        if dims is None:
            dims = []
        if shape == (0, 3) and 0 in reduced(torch.empty(shape), dims):
            continue
        x = vals(g, shape, dt, special=(shape == (4, 5, 6)), layout=lay)
        g.case(f"{short}/{dt}/{shape}/{dims}/{keep}/{lay}", short, [x, dims, keep])
    g.case(f"{short}/{dt}/ties", short, [tie_input(g, (3, 7), dt), [1]])


@cases("aten::argmax", "aten::argmin")
def argmax_cases(g: Gen, op: str, dt):
    short = op.split("::")[1]
    if dt is None:
        g.case(f"{short}/bool", short, [g.rand((3, 4), torch.bool), 1])
        g.case(f"{short}/empty all", short, [g.rand((0, 3), torch.float32)])
        g.case(f"{short}/empty dim", short, [g.rand((0, 3), torch.float32), 0])
        g.case(f"{short}/empty kept", short, [g.rand((0, 3), torch.float32), 1])
        g.case(f"{short}/out of range", short, [g.rand((2, 3), torch.float32), -3])
        return
    for shape, dim, keep, lay in ONE_DIM:
        x = vals(g, shape, dt, special=(shape == (4, 5, 6)), layout=lay)
        g.case(f"{short}/{dt}/{shape}/{dim}/{keep}/{lay}", short, [x, dim, keep])
    for shape, keep, lay in [((4, 5, 6), False, None), ((2, 3, 4, 5), True, "channels_last"), ((), False, None),
                             ((5, 7), True, (1, 0))]:
        x = vals(g, shape, dt, special=(shape == (4, 5, 6)), layout=lay)
        g.case(f"{short}/{dt}/{shape}/None/{keep}", short, [x, None, keep])
    for dim in [0, 1, None]:
        g.case(f"{short}/{dt}/ties/{dim}", short, [tie_input(g, (5, 7), dt), dim])
    if dt.is_floating_point:
        x = torch.tensor([[1.0, math.nan, 2.0, math.nan], [math.inf, 3.0, math.inf, -math.inf]], dtype=dt)
        g.case(f"{short}/{dt}/nan first", short, [x, 1])
        g.case(f"{short}/{dt}/nan flat", short, [x])


@cases("aten::max.dim", "aten::min.dim")
def max_dim_cases(g: Gen, op: str, dt):
    short = op.split("::")[1]
    if dt is None:
        g.case(f"{short}/empty dim", short, [g.rand((0, 3), torch.float32), 0])
        g.case(f"{short}/out of range", short, [g.rand((2, 3), torch.float32), 2])
        return
    for shape, dim, keep, lay in ONE_DIM:
        x = vals(g, shape, dt, special=(shape == (4, 5, 6)), layout=lay)
        g.case(f"{short}/{dt}/{shape}/{dim}/{keep}/{lay}", short, [x, dim, keep])
    for dim in [0, 1]:
        g.case(f"{short}/{dt}/ties/{dim}", short, [tie_input(g, (5, 7), dt), dim])
    if dt.is_floating_point:
        x = torch.tensor([[1.0, math.nan, 2.0, math.nan], [math.inf, 3.0, math.inf, -math.inf]], dtype=dt)
        g.case(f"{short}/{dt}/nan first", short, [x, 1])


def any_input(g, shape, dt, layout=None):
    """Mostly zeros: some rows are all zero."""
    x = g.rand(shape, dt, special=dt.is_floating_point, layout=layout)
    keep = g.rand(shape, torch.float32, lo=0, hi=1) < 0.15
    return torch.where(keep, x, torch.zeros((), dtype=dt))


@cases("aten::any", "aten::any.dim", "aten::any.dims")
def any_cases(g: Gen, op: str, dt):
    short = op.split("::")[1]
    if dt is None:
        if short == "any.dims":
            g.case("any.dims/dup", short, [g.rand((2, 3), torch.float32), [1, 1]])
            g.case("any.dims/empty list", short, [any_input(g, (2, 3), torch.int32), []])
        if short == "any.dim":
            g.case("any.dim/out of range", short, [g.rand((2, 3), torch.float32), 2])
        g.case(f"{short}/nan", "any", [torch.tensor([0.0, math.nan, 0.0])])
        return
    if short == "any":
        for shape, lay in [((4, 5, 6), None), ((2, 3, 4, 5), "channels_last"), ((5, 7), (1, 0)), ((0, 3), None),
                           ((), None), ((300,), None)]:
            g.case(f"any/{dt}/{shape}/{lay}", short, [any_input(g, shape, dt, layout=lay)])
        g.case(f"any/{dt}/zeros", short, [torch.zeros((3, 4), dtype=dt)])
        return
    if short == "any.dim":
        for shape, dim, keep, lay in ONE_DIM + [((0, 3), 0, True, None)]:
            g.case(f"any.dim/{dt}/{shape}/{dim}/{keep}/{lay}", short, [any_input(g, shape, dt, layout=lay), dim, keep])
        return
    for shape, dims, keep, lay in DIM_LISTS + [((3, 4), [], False, None)]:
        g.case(f"any.dims/{dt}/{shape}/{dims}/{keep}/{lay}", short, [any_input(g, shape, dt, layout=lay), dims, keep])


# ------------------------------------------------------------------------------------------------
# cumsum
# ------------------------------------------------------------------------------------------------

def cumsum_scale(x, dim, odt=None):
    a = f64abs(x if odt is None or not odt.is_floating_point else x.to(odt))
    return a.cumsum(dim) if x.dim() else a.clone()


@cases("aten::cumsum")
def cumsum_cases(g: Gen, op: str, dt):
    if dt is None:
        g.case("cumsum/bool", "cumsum", [g.rand((3, 5), torch.bool), 1])
        g.case("cumsum/int8 dtype=int8", "cumsum", [g.rand((3, 40), torch.int8), 1], {"dtype": torch.int8})
        g.case("cumsum/float dtype=int32", "cumsum", [g.rand((3, 5), torch.float32, lo=-20, hi=20), 1],
               {"dtype": torch.int32})
        xi = g.rand((3, 5), torch.int32, lo=-50, hi=50)
        g.case("cumsum/int dtype=float16", "cumsum", [xi, 1], {"dtype": torch.float16},
               scale=lambda o, x=xi: [f64abs(x).cumsum(1)], k=5)
        g.case("cumsum/dtype=bool", "cumsum", [g.rand((3, 5), torch.float32), 1], {"dtype": torch.bool})
        g.case("cumsum/out of range", "cumsum", [g.rand((3, 5), torch.float32), 2])
        return
    fl = dt.is_floating_point
    for shape, dim, keep, lay in ONE_DIM:
        x = vals(g, shape, dt, special=(shape == (4, 5, 6) and dim == 1), layout=lay)
        n = x.shape[dim] if x.dim() else 1
        g.case(f"cumsum/{dt}/{shape}/{dim}/{lay}", "cumsum", [x, dim],
               scale=(lambda o, x=x, d=dim: [cumsum_scale(x, d)]) if fl else None, k=n)
    x = vals(g, (3, 6), dt)
    odt = torch.float64 if fl else torch.int32
    g.case(f"cumsum/{dt}/dtype={odt}", "cumsum", [x, 1], {"dtype": odt},
           scale=(lambda o, x=x: [cumsum_scale(x, 1)]) if fl else None, k=6)


# ------------------------------------------------------------------------------------------------
# sort / topk
# ------------------------------------------------------------------------------------------------

def sort_input(g, shape, dt, layout=None):
    """Duplicates (and for floats NaN/inf/±0) so tie order matters."""
    if dt == torch.bool:
        return g.rand(shape, dt, layout=layout)
    x = g.rand(shape, torch.int64, lo=-3, hi=3).to(dt)
    if dt.is_floating_point and x.numel():
        f = x.view(-1)
        for j, v in enumerate([math.nan, math.inf, -0.0, -math.inf, math.nan]):
            f[(5 * j + 2) % f.numel()] = v
    from .core import relayout
    return relayout(x, layout)


def same_values(a, b):
    return torch.equal(torch.nan_to_num(a.double(), nan=1e300), torch.nan_to_num(b.double(), nan=1e300)) \
        and torch.equal(a.isnan(), b.isnan()) if a.is_floating_point() else torch.equal(a, b)


@cases("aten::sort")
def sort_cases(g: Gen, op: str, dt):
    if dt is None:
        g.case("sort/out of range", "sort", [g.rand((2, 3), torch.float32), 2])
        return
    for shape, dim, keep, lay in ONE_DIM + [((40,), 0, False, None)]:
        x = sort_input(g, shape, dt, layout=lay) if shape != (3, 300) else vals(g, shape, dt, layout=lay)
        for desc in [False, True]:
            # ATen's sort leaves the order of ties open; its stable order is the reference
            want = torch.sort(x, dim=dim, descending=desc, stable=True)
            got = A.sort(x, dim, desc)
            assert same_values(got[0], want[0])
            g.case(f"sort/{dt}/{shape}/{dim}/{desc}/{lay}", "sort", [x, dim, desc], expected=list(want))


@cases("aten::topk")
def topk_cases(g: Gen, op: str, dt):
    if dt is None:
        g.case("topk/bool", "topk", [g.rand((5,), torch.bool), 2])
        g.case("topk/k too big", "topk", [g.rand((5,), torch.float32), 6])
        g.case("topk/k negative", "topk", [g.rand((5,), torch.float32), -1])
        g.case("topk/0-d k=2", "topk", [g.rand((), torch.float32), 2])
        g.case("topk/out of range", "topk", [g.rand((2, 3), torch.float32), 1, 2])
        return
    specs = [((4, 5, 6), 3, -1, True, True, None), ((4, 5, 6), 2, 1, False, True, None),
             ((4, 5, 6), 6, 2, True, True, None), ((4, 5, 6), 0, -1, True, True, None),
             ((2, 3, 4, 5), 2, 1, True, True, "channels_last"), ((5, 7), 3, 0, False, True, (1, 0)),
             ((40,), 5, 0, True, False, None), ((40,), 40, 0, False, False, None), ((300,), 7, 0, True, True, None),
             ((0, 3), 2, 1, True, True, None), ((0, 3), 0, 0, True, True, None), ((), 1, 0, True, True, None),
             ((), 0, -1, False, True, None), ((3, 17), 17, 1, True, True, None)]
    for shape, k, dim, largest, srt, lay in specs:
        x = sort_input(g, shape, dt, layout=lay)
        # ATen breaks ties as its selection algorithm happens to; the kernel takes the lower
        # index first (stable order) and always sorts, which sorted=False allows.
        want = torch.sort(x, dim=dim, descending=largest, stable=True)
        want = [t.narrow(dim, 0, k) if x.dim() else t for t in want]
        got = A.topk(x, k, dim, largest, srt)
        if srt:
            assert same_values(got[0], want[0])
        else:
            assert same_values(torch.sort(got[0], dim, descending=largest)[0], want[0])
        g.case(f"topk/{dt}/{shape}/k={k}/{dim}/{largest}/{srt}/{lay}", "topk", [x, k, dim, largest, srt],
               expected=want)
