"""Golden cases: indexing, gather/scatter and embedding ops."""

from __future__ import annotations

import math

import torch

from . import cases
from .core import Gen, f64abs, relayout

A = torch.ops.aten
L = torch.int64


def ri(g: Gen, shape, lo, hi, dtype=L):
    """Random integers in [lo, hi)."""
    return torch.randint(lo, hi, shape, generator=g.g, dtype=torch.int64).to(dtype)


def uniq_index(g: Gen, self_shape, idx_shape, dim):
    """An index of idx_shape whose values along `dim` are distinct within
    each line (so plain scatter has one writer per element)."""
    full = list(idx_shape)
    full[dim] = self_shape[dim]
    r = torch.rand(full, generator=g.g)
    return r.argsort(dim=dim).narrow(dim, 0, idx_shape[dim]).contiguous()


def fl(dt):
    return dt is not None and dt.is_floating_point


# ------------------------------------------------------------------------------------------------
# gather
# ------------------------------------------------------------------------------------------------

@cases("aten::gather")
def gather_cases(g: Gen, op: str, dt):
    if dt is None:
        x = g.rand((3, 4), torch.float32)
        g.case("gather/negative", "gather", [x, 1, torch.tensor([[-1, 0]])])
        g.case("gather/out of range", "gather", [x, 1, torch.tensor([[4, 0]])])
        g.case("gather/float index", "gather", [x, 1, torch.zeros(2, 2)])
        g.case("gather/empty float index", "gather", [x, 1, torch.zeros(0, 2)])
        g.case("gather/int16 index", "gather", [x, 1, torch.zeros(2, 2, dtype=torch.int16)])
        g.case("gather/rank mismatch", "gather", [x, 1, torch.zeros(3, dtype=L)])
        g.case("gather/index too big", "gather", [x, 1, torch.zeros(4, 2, dtype=L)])
        g.case("gather/dim out of range", "gather", [x, 2, torch.zeros(2, 2, dtype=L)])
        g.case("gather/empty index rank mismatch", "gather", [x, 1, torch.zeros(0, dtype=L)])
        return
    specs = [((6,), 0, (4,), None, L), ((), 0, (), None, L), ((), 0, (3,), None, L), ((5,), 0, (), None, L),
             ((3, 5), 1, (3, 4), None, L), ((3, 5), 0, (2, 5), None, torch.int32), ((3, 5), -1, (3, 7), None, L),
             ((4, 5), 1, (2, 3), None, L), ((2, 3, 4, 5), 3, (2, 3, 4, 2), "channels_last", L),
             ((2, 3, 4, 5), 1, (2, 5, 3, 5), "channels_last", L), ((4, 6), 0, (6, 6), (1, 0), L),
             ((0, 3), 1, (0, 3), None, L), ((3, 4), 1, (3, 0), None, L), ((3, 0), 0, (2, 0), None, L)]
    for xs, dim, ishape, lay, idt in specs:
        x = g.rand(xs, dt, special=True, layout=lay)
        n = x.shape[dim] if x.dim() else 1
        idx = ri(g, ishape, 0, max(n, 1), idt)
        if lay is not None and len(ishape) == len(xs):
            idx = relayout(idx, lay)
        g.case(f"gather/{dt}/{xs}/{dim}/{ishape}/{lay}/{idt}", "gather", [x, dim, idx])
    x = g.rand((3, 4), dt)
    g.case(f"gather/{dt}/sparse_grad", "gather", [x, 0, ri(g, (2, 4), 0, 3)], {"sparse_grad": True})


# ------------------------------------------------------------------------------------------------
# scatter family
# ------------------------------------------------------------------------------------------------

def scatter_scale(op, self, dim, idx, src, reduce=None, include_self=True):
    """The same scatter on |inputs| in float64 (sum-like tolerance scale)."""
    a, b = f64abs(self), f64abs(src)
    if op == "scatter_add":
        return [A.scatter_add(a, dim, idx, b)]
    r = "sum" if reduce in ("sum", "mean") else reduce
    out = A.scatter_reduce.two(a, dim, idx, b, r, include_self=include_self)
    return [out]


SCATTER_SPECS = [  # (self shape, dim, index shape, src shape, layout)
    ((6,), 0, (4,), (5,), None), ((), 0, (), (), None), ((3,), 0, (), (), None),
    ((4, 5), 1, (4, 3), (4, 5), None), ((4, 5), 0, (3, 5), (3, 6), None), ((4, 5), -1, (2, 2), (3, 3), None),
    ((2, 3, 4, 5), 1, (2, 3, 4, 5), (2, 3, 4, 5), "channels_last"),
    ((2, 3, 4, 5), 3, (2, 3, 4, 2), (2, 3, 4, 5), "channels_last"),
    ((5, 4), 0, (5, 4), (5, 4), (1, 0)), ((0, 3), 1, (0, 3), (0, 3), None), ((3, 4), 1, (3, 0), (3, 4), None),
]


@cases("aten::scatter.src", "aten::scatter.value", "aten::scatter_add")
def scatter_cases(g: Gen, op: str, dt):
    short = op.split("::")[1]
    name = short.split(".")[0]
    if dt is None:
        x = g.rand((3, 4), torch.float32)
        i = torch.tensor([[0, 1], [2, 0]])
        arg = 2.5 if short == "scatter.value" else g.rand((3, 4), torch.float32)
        g.case(f"{short}/negative", short, [x, 1, torch.tensor([[-1]]), arg])
        g.case(f"{short}/out of range", short, [x, 1, torch.tensor([[4]]), arg])
        g.case(f"{short}/float index", short, [x, 1, i.float(), arg])
        g.case(f"{short}/empty float index", short, [x, 1, torch.zeros(0, 2), arg])
        g.case(f"{short}/int32 index", short, [x, 1, i.int(), arg])
        g.case(f"{short}/index too big", short, [x, 1, torch.zeros(4, 2, dtype=L), arg])
        g.case(f"{short}/rank mismatch", short, [x, 1, torch.zeros(3, dtype=L), arg])
        if short != "scatter.value":
            g.case(f"{short}/src dtype", short, [x, 1, i, g.rand((3, 4), torch.float64)])
            g.case(f"{short}/src too small", short, [x, 1, i, g.rand((1, 2), torch.float32)])
            g.case(f"{short}/src rank", short, [x, 1, i, g.rand((3, 4, 2), torch.float32)])
            g.case(f"{short}/empty index src dtype", short, [x, 1, torch.zeros(0, 2, dtype=L),
                                                             g.rand((3, 4), torch.int32)])
        else:
            z = torch.tensor([2])
            for sdt, v in [(torch.int8, 300), (torch.int8, -128), (torch.uint8, -1), (torch.uint8, -256),
                           (torch.uint8, 255.5), (torch.int32, math.nan), (torch.float16, 1e6),
                           (torch.float16, math.inf), (torch.float16, 65504.0), (torch.float32, 1e300),
                           (torch.bool, 0.5), (torch.bool, -2.5), (torch.bool, 0.0), (torch.float32, True),
                           (torch.int64, 2 ** 63 - 1), (torch.float32, 2 ** 63 - 1), (torch.int16, -7.9)]:
                g.case(f"scatter.value/{sdt}/{v}", short, [torch.zeros(3, dtype=sdt), 0, z, v])
        return
    for xs, dim, ishape, ss, lay in SCATTER_SPECS:
        x = g.rand(xs, dt, special=True, layout=lay)
        n = x.shape[dim] if x.dim() else 1
        if name == "scatter" and len(ishape) and 0 not in ishape:
            idx = uniq_index(g, xs, ishape, dim % len(xs))
        else:
            idx = ri(g, ishape, 0, max(n, 1))
        if lay is not None and len(ishape) == len(xs):
            idx = relayout(idx, lay)
        if short == "scatter.value":
            vals = [1, -3] if not fl(dt) else [2.5, -0.0]
            if dt == torch.bool:
                vals = [True, 0]
            if dt == torch.uint8:
                vals = [200, -3]
            for v in vals:
                g.case(f"{short}/{dt}/{xs}/{dim}/{ishape}/{lay}/{v}", short, [x, dim, idx, v])
            continue
        src = g.rand(ss, dt, special=True, layout=lay if len(ss) == len(xs) else None)
        sc = (lambda o, x=x, d=dim, i=idx, s=src: scatter_scale("scatter_add", x, d, i, s)) \
            if name == "scatter_add" and fl(dt) else None
        g.case(f"{short}/{dt}/{xs}/{dim}/{ishape}/{lay}", short, [x, dim, idx, src], scale=sc,
               k=(ishape[dim] if ishape else 1) + 1)
    if name == "scatter_add":  # many duplicates on one element
        x = g.rand((2, 3), dt)
        idx = ri(g, (2, 12), 0, 2)
        src = g.rand((2, 12), dt)
        g.case(f"{short}/{dt}/dups", short, [x, 1, idx, src],
               scale=(lambda o, x=x, i=idx, s=src: scatter_scale("scatter_add", x, 1, i, s)) if fl(dt) else None,
               k=13)
    if short == "scatter.value":
        v = 1.5 if fl(dt) else 2
        g.case(f"{short}/{dt}/bool value", short, [g.rand((3, 4), dt), 1, ri(g, (3, 2), 0, 4), True])
        g.case(f"{short}/{dt}/float value", short, [g.rand((3, 4), dt), 1, ri(g, (3, 2), 0, 4), v + 0.25])


REDUCES = ["sum", "prod", "mean", "amax", "amin"]


@cases("aten::scatter_reduce.two")
def scatter_reduce_cases(g: Gen, op: str, dt):
    short = "scatter_reduce.two"
    if dt is None:
        x = g.rand((3, 4), torch.float32)
        i = torch.tensor([[0, 1], [2, 0]])
        g.case("scatter_reduce/bad reduce", short, [x, 1, i, x, "add"])
        g.case("scatter_reduce/bad reduce case", short, [x, 1, i, x, "MAX"])
        g.case("scatter_reduce/max alias", short, [x, 1, i, g.rand((3, 4), torch.float32, special=True), "max"])
        g.case("scatter_reduce/min alias", short, [x, 1, i, g.rand((3, 4), torch.float32, special=True), "min"],
               {"include_self": False})
        g.case("scatter_reduce/negative", short, [x, 1, torch.tensor([[-1]]), x, "sum"])
        g.case("scatter_reduce/src dtype", short, [x, 1, i, x.double(), "amax"])
        g.case("scatter_reduce/out of range", short, [x, 1, torch.tensor([[4]]), x, "prod"])
        xi = g.rand((2, 5), torch.int32, lo=-20, hi=20)
        ii = ri(g, (2, 8), 0, 5)
        si = g.rand((2, 8), torch.int32, lo=-20, hi=20)
        for inc in [True, False]:  # integer mean floors
            g.case(f"scatter_reduce/int mean/{inc}", short, [xi, 1, ii, si, "mean"], {"include_self": inc})
        return
    for red in REDUCES:
        for inc in [True, False]:
            specs = [((4, 5), 1, (4, 7), (4, 8), None), ((3, 4, 2), 0, (5, 4, 2), (5, 4, 2), None)]
            if red in ("sum", "amax") or inc is False:
                specs.append(((2, 3, 4, 5), 2, (2, 3, 6, 5), (2, 3, 6, 5), "channels_last"))
            if red == "mean":
                specs += [((), 0, (), (), None), ((0, 3), 1, (0, 3), (0, 3), None)]
            for xs, dim, ishape, ss, lay in specs:
                special = red in ("sum", "amax", "amin")
                if red == "prod" and fl(dt):  # magnitudes near 1 keep products finite
                    x = relayout((g.rand(xs, torch.float64, lo=0.6, hi=1.5) *
                                  (1 - 2 * g.rand(xs, torch.bool).double())).to(dt), lay)
                    src = relayout((g.rand(ss, torch.float64, lo=0.6, hi=1.5)).to(dt),
                                   lay if len(ss) == len(xs) else None)
                else:
                    x = g.rand(xs, dt, special=special, layout=lay)
                    src = g.rand(ss, dt, special=special, layout=lay if len(ss) == len(xs) else None)
                n = x.shape[dim] if x.dim() else 1
                idx = ri(g, ishape, 0, max(n, 1))
                if lay is not None:
                    idx = relayout(idx, lay)
                sc = None
                if fl(dt) and red in ("sum", "mean", "prod"):
                    sc = (lambda o, x=x, d=dim, i=idx, s=src, r=red, inc=inc:
                          scatter_scale("scatter_reduce", x, d, i, s, r, inc))
                g.case(f"scatter_reduce/{dt}/{red}/{inc}/{xs}/{dim}/{lay}", short, [x, dim, idx, src, red],
                       {"include_self": inc}, scale=sc, k=(ishape[dim] if ishape else 1) + 1)


# ------------------------------------------------------------------------------------------------
# select_scatter, slice_scatter
# ------------------------------------------------------------------------------------------------

@cases("aten::select_scatter")
def select_scatter_cases(g: Gen, op: str, dt):
    short = "select_scatter"
    if dt is None:
        x = g.rand((3, 4), torch.float32)
        g.case("select_scatter/int src", short, [x, g.rand((3,), torch.int32, lo=-9, hi=9), 1, 2])
        g.case("select_scatter/float64 src", short, [x, g.rand((4,), torch.float64), 0, -1])
        g.case("select_scatter/bool src", short, [x, g.rand((4,), torch.bool), 0, 0])
        g.case("select_scatter/float src into int", short, [g.rand((3, 4), torch.int32),
                                                            g.rand((4,), torch.float32, lo=-50, hi=50), 0, 1])
        g.case("select_scatter/out of range", short, [x, g.rand((3,), torch.float32), 1, 4])
        g.case("select_scatter/negative out of range", short, [x, g.rand((3,), torch.float32), 1, -5])
        g.case("select_scatter/0-d", short, [torch.tensor(1.0), torch.tensor(2.0), 0, 0])
        g.case("select_scatter/bad shape", short, [x, g.rand((4,), torch.float32), 1, 0])
        g.case("select_scatter/broadcast src", short, [x, g.rand((1,), torch.float32), 1, 0])
        return
    for xs, dim, idx, lay in [((3, 4, 5), 1, -1, None), ((3, 4, 5), 0, 2, None), ((5,), 0, -5, None),
                              ((2, 3, 4, 5), 1, 1, "channels_last"), ((2, 3, 4, 5), -1, 4, "channels_last"),
                              ((4, 6), 1, 3, (1, 0)), ((0, 3), 1, 2, None), ((3, 0), 0, 1, None)]:
        x = g.rand(xs, dt, special=True, layout=lay)
        ss = xs[:dim % len(xs)] + xs[dim % len(xs) + 1:]
        src = g.rand(ss, dt, special=True, layout=(0, 2, 1) if len(ss) == 3 else None)
        g.case(f"select_scatter/{dt}/{xs}/{dim}/{idx}/{lay}", short, [x, src, dim, idx])


@cases("aten::slice_scatter")
def slice_scatter_cases(g: Gen, op: str, dt):
    short = "slice_scatter"

    def slen(n, start, end, step):
        return len(range(n)[slice(start, end, step)])

    if dt is None:
        x = g.rand((4, 6), torch.float32)
        g.case("slice_scatter/int src", short, [x, g.rand((4, 3), torch.int32, lo=-9, hi=9), 1, 0, None, 2])
        g.case("slice_scatter/float64 src", short, [x, g.rand((2, 6), torch.float64), 0, 1, 3])
        g.case("slice_scatter/step 0", short, [x, g.rand((4, 0), torch.float32), 1, 0, 0, 0])
        g.case("slice_scatter/step -1", short, [x, g.rand((4, 0), torch.float32), 1, 0, 0, -1])
        g.case("slice_scatter/bad shape", short, [x, g.rand((4, 4), torch.float32), 1, 0, 3])
        g.case("slice_scatter/0-d", short, [torch.tensor(1.0), torch.tensor(2.0)])
        g.case("slice_scatter/dim out of range", short, [x, x, 2])
        return
    specs = [((4, 6), 1, 0, None, 2, None), ((4, 6), 1, -3, None, 1, None), ((4, 6), 1, 1, 100, 1, None),
             ((4, 6), 1, 4, 1, 1, None), ((4, 6), 0, None, None, 1, None), ((4, 6), 0, 1, -1, 3, None),
             ((4, 6), 1, -100, 100, 4, (1, 0)), ((4, 6), 1, -5, -2, 1, None),
             ((2, 3, 4, 5), 1, 1, 3, 1, "channels_last"), ((2, 3, 4, 5), 3, 0, 5, 2, "channels_last"),
             ((0, 3), 1, 1, None, 1, None), ((7,), 0, 2, 7, 2, None)]
    for xs, dim, start, end, step, lay in specs:
        x = g.rand(xs, dt, special=True, layout=lay)
        ss = list(xs)
        ss[dim] = slen(xs[dim], start, end, step)
        src = g.rand(tuple(ss), dt, special=True, layout=lay)
        g.case(f"slice_scatter/{dt}/{xs}/{dim}/{start}:{end}:{step}/{lay}", short, [x, src, dim, start, end, step])


# ------------------------------------------------------------------------------------------------
# index_select
# ------------------------------------------------------------------------------------------------

@cases("aten::index_select")
def index_select_cases(g: Gen, op: str, dt):
    short = "index_select"
    if dt is None:
        x = g.rand((5, 4), torch.float32)
        g.case("index_select/negative", short, [x, 0, torch.tensor([-1])])
        g.case("index_select/out of range", short, [x, 1, torch.tensor([4])])
        g.case("index_select/2-d index", short, [x, 0, torch.tensor([[1]])])
        g.case("index_select/float index", short, [x, 0, torch.tensor([1.0])])
        g.case("index_select/int16 index", short, [x, 0, torch.tensor([1], dtype=torch.int16)])
        g.case("index_select/0-d two values", short, [torch.tensor(1.0), 0, torch.tensor([0, 0])])
        g.case("index_select/0-d out of range", short, [torch.tensor(1.0), 0, torch.tensor([1])])
        g.case("index_select/empty self dim", short, [torch.zeros(0, 3), 0, torch.tensor([0])])
        g.case("index_select/empty self other", short, [torch.zeros(3, 0), 0, torch.tensor([2, 0])])
        g.case("index_select/empty self oob", short, [torch.zeros(3, 0), 0, torch.tensor([3])])
        g.case("index_select/dim out of range", short, [x, 2, torch.tensor([0])])
        return
    specs = [((5, 4), 0, [3, 0, 4, 4], None, L), ((5, 4), 1, [3, 3, 0], None, torch.int32),
             ((5, 4), -1, [2], None, L), ((5, 4), 1, 2, None, L), ((), 0, [0], None, L), ((), 0, 0, None, L),
             ((6,), 0, [5, 0, 1, 5], None, L), ((5, 4), 0, [], None, L),
             ((2, 3, 4, 5), 1, [2, 0, 1, 1, 2], "channels_last", L), ((2, 3, 4, 5), 3, [4, 0], "channels_last", L),
             ((4, 6), 1, [5, 1, 0], (1, 0), L), ((0, 3), 1, [2, 1], None, L), ((0, 3), 0, [], None, L)]
    for xs, dim, idx, lay, idt in specs:
        x = g.rand(xs, dt, special=True, layout=lay)
        g.case(f"index_select/{dt}/{xs}/{dim}/{idx}/{lay}/{idt}", short, [x, dim, torch.tensor(idx, dtype=idt)])


# ------------------------------------------------------------------------------------------------
# masked_scatter, nonzero
# ------------------------------------------------------------------------------------------------

@cases("aten::masked_scatter")
def masked_scatter_cases(g: Gen, op: str, dt):
    short = "masked_scatter"
    if dt is None:
        x = g.rand((3, 4), torch.float32)
        m = torch.ones(3, 4, dtype=torch.bool)
        g.case("masked_scatter/source too small", short, [x, m, g.rand((11,), torch.float32)])
        g.case("masked_scatter/uint8 mask", short, [x, m.to(torch.uint8), g.rand((12,), torch.float32)])
        g.case("masked_scatter/source dtype", short, [x, m, g.rand((12,), torch.float64)])
        g.case("masked_scatter/no broadcast", short, [x, torch.ones(3, dtype=torch.bool), g.rand((12,), torch.float32)])
        g.case("masked_scatter/empty source none true", short, [x, torch.zeros(3, 4, dtype=torch.bool),
                                                                torch.zeros(0)])
        return
    specs = [((3, 4), (3, 4), (20,), None), ((3, 4), (4,), (12,), None), ((3, 1), (3, 4), (3, 5), None),
             ((4,), (2, 4), (9,), None), ((), (), (3,), None), ((), (), (), None), ((2, 3, 4, 5), (2, 3, 4, 5), (120,),
                                                                                      "channels_last"),
             ((4, 5), (4, 5), (4, 5), (1, 0)), ((0, 3), (0, 3), (2,), None), ((3, 4), (3, 4), (12,), None)]
    for xs, ms, ss, lay in specs:
        x = g.rand(xs, dt, special=True, layout=lay)
        m = g.rand(ms, torch.bool, layout=lay if len(ms) == len(xs) else None)
        if ms == (3, 4) and ss == (12,):
            m = torch.ones(ms, dtype=torch.bool)
        src = g.rand(ss, dt, special=True, layout=lay if len(ss) == len(xs) else None)
        g.case(f"masked_scatter/{dt}/{xs}/{ms}/{ss}/{lay}", short, [x, m, src])


@cases("aten::nonzero")
def nonzero_cases(g: Gen, op: str, dt):
    if dt is None:
        g.case("nonzero/nan -0", "nonzero", [torch.tensor([math.nan, -0.0, 0.0, 1.0, -math.inf])])
        return

    def sparse(shape, lay=None):
        x = g.rand(shape, dt, special=True, layout=lay)
        keep = g.rand(shape, torch.float32, lo=0, hi=1, layout=lay) < 0.5
        return torch.where(keep, x, torch.zeros((), dtype=dt))

    for shape, lay in [((7,), None), ((3, 4), None), ((2, 3, 4), None), ((2, 3, 4, 5), "channels_last"),
                       ((4, 5), (1, 0)), ((0, 3), None), ((), None)]:
        g.case(f"nonzero/{dt}/{shape}/{lay}", "nonzero", [sparse(shape, lay)])
    g.case(f"nonzero/{dt}/0-d zero", "nonzero", [torch.zeros((), dtype=dt)])
    g.case(f"nonzero/{dt}/0-d one", "nonzero", [torch.ones((), dtype=dt)])
    g.case(f"nonzero/{dt}/all zero", "nonzero", [torch.zeros((3, 4), dtype=dt)])
    g.case(f"nonzero/{dt}/all one", "nonzero", [torch.ones((2, 3), dtype=dt)])


# ------------------------------------------------------------------------------------------------
# index.Tensor, index_put
# ------------------------------------------------------------------------------------------------

def mask_of(g: Gen, shape, p=0.5):
    return g.rand(shape, torch.float32, lo=0, hi=1) < p


@cases("aten::index.Tensor")
def index_cases(g: Gen, op: str, dt):
    short = "index.Tensor"
    if dt is None:
        x = g.rand((4, 5, 6), torch.float32)
        g.case("index/out of range", short, [x, [torch.tensor([4])]])
        g.case("index/negative out of range", short, [x, [None, torch.tensor([-6])]])
        g.case("index/float index", short, [x, [torch.tensor([0.0])]])
        g.case("index/int16 index", short, [x, [torch.tensor([0], dtype=torch.int16)]])
        g.case("index/too many", short, [x, [None, None, None, torch.tensor([0])]])
        g.case("index/no broadcast", short, [x, [torch.tensor([0, 1]), torch.tensor([1, 2, 0])]])
        g.case("index/mask shape", short, [x, [torch.ones(5, dtype=torch.bool)]])
        g.case("index/mask too many dims", short, [x, [None, None, torch.ones(6, 2, dtype=torch.bool)]])
        g.case("index/empty list", short, [x, []])
        g.case("index/all None", short, [x, [None, None]])
        g.case("index/0-d mask", short, [x, [torch.tensor(True)]])
        g.case("index/0-d mask + long", short, [x, [torch.tensor(False), torch.tensor([1, 3])]])
        g.case("index/0-d self", short, [torch.tensor(1.0), [torch.tensor(0)]])
        g.case("index/mask nnz mismatch", short, [x, [torch.tensor([True, True, True, False]),
                                                      torch.tensor([0, 1])]])
        g.case("index/empty dim", short, [torch.zeros(0, 3), [torch.tensor([0])]])
        g.case("index/empty result unchecked", short, [torch.zeros(2, 0), [torch.tensor([5])]])
        g.case("index/int32+int64", short, [x, [torch.tensor([0, 3], dtype=torch.int32), torch.tensor([4, -1])]])
        return
    x = g.rand((4, 5, 6), dt, special=True)
    B = torch.bool
    specs = [
        [ri(g, (3,), -4, 4)],
        [None, ri(g, (2, 2), -5, 5)],
        [ri(g, (3,), 0, 4), None, ri(g, (3,), -6, 6)],
        [None, ri(g, (2,), 0, 5), ri(g, (2,), 0, 6)],
        [ri(g, (2, 1), 0, 4), ri(g, (3,), 0, 5)],
        [torch.tensor(2), None, torch.tensor(-1)],
        [ri(g, (3,), 0, 4, torch.int32)],
        [mask_of(g, (4,))],
        [mask_of(g, (4, 5))],
        [None, mask_of(g, (5,))],
        [None, mask_of(g, (5, 6))],
        [mask_of(g, (4, 5, 6))],
        [torch.zeros(4, dtype=B)],
        [torch.tensor([False, True, False, False]), None, ri(g, (3,), 0, 6)],
        [ri(g, (1,), 0, 4), torch.tensor([True, False, True, True, False])],
        [mask_of(g, (4,)).to(torch.uint8)],
        [torch.zeros(0, dtype=L)],
        [ri(g, (2, 0), 0, 4), ri(g, (1,), 0, 5)],
        [torch.tensor(True), ri(g, (2,), 0, 4)],
    ]
    for i, idx in enumerate(specs):
        g.case(f"index/{dt}/{i}", short, [x, idx])
    x4 = g.rand((2, 3, 4, 5), dt, layout="channels_last")
    g.case(f"index/{dt}/cl", short, [x4, [None, ri(g, (2,), 0, 3), None, ri(g, (2,), 0, 5)]])
    g.case(f"index/{dt}/cl mask", short, [x4, [None, mask_of(g, (3, 4))]])
    xp = g.rand((4, 6), dt, layout=(1, 0))
    g.case(f"index/{dt}/permuted", short, [xp, [ri(g, (3, 2), 0, 4)]])
    g.case(f"index/{dt}/permuted mask", short, [xp, [None, mask_of(g, (6,))]])
    g.case(f"index/{dt}/empty self", short, [g.rand((0, 3), dt), [None, ri(g, (2,), 0, 3)]])
    g.case(f"index/{dt}/1-d", short, [g.rand((7,), dt), [ri(g, (3, 3), -7, 7)]])


def put_scale(x, idx, v):
    return lambda o: [A.index_put(f64abs(x), idx, f64abs(v), True)]


@cases("aten::index_put")
def index_put_cases(g: Gen, op: str, dt):
    short = "index_put"
    if dt is None:
        x = g.rand((4, 5), torch.float32)
        i = torch.tensor([0, 2])
        g.case("index_put/dtype mismatch", short, [x, [i], g.rand((5,), torch.float64)])
        g.case("index_put/bad broadcast", short, [x, [i], g.rand((3,), torch.float32)])
        g.case("index_put/values too big", short, [x, [i], g.rand((3, 2, 5), torch.float32)])
        g.case("index_put/out of range", short, [x, [torch.tensor([4])], g.rand((5,), torch.float32)])
        g.case("index_put/too many", short, [x, [None, None, i], g.rand((1,), torch.float32)])
        g.case("index_put/empty list", short, [x, [], torch.tensor(1.0)])
        g.case("index_put/all None", short, [x, [None], torch.tensor(1.0)])
        g.case("index_put/float index", short, [x, [i.float()], g.rand((5,), torch.float32)])
        m = mask_of(g, (4, 5))
        g.case("index_put/mask fill float64 value", short, [x, [m], torch.tensor(-1.5, dtype=torch.float64)])
        g.case("index_put/mask fill [1,1,1] value", short, [x, [m], torch.full((1, 1, 1), 2.5)])
        g.case("index_put/mask fill int value", short, [x, [None, mask_of(g, (5,))], torch.tensor(7)])
        g.case("index_put/mask fill bool value", short, [x, [m], torch.tensor(True)])
        g.case("index_put/mask fill into int", short, [g.rand((4, 5), torch.int32), [m], torch.tensor(-2.7)])
        g.case("index_put/mask fill overflow", short, [g.rand((4, 5), torch.int8), [m], torch.tensor(300)])
        g.case("index_put/mask fill uint8 mask", short, [x, [m.to(torch.uint8)], torch.tensor(1.0)])
        g.case("index_put/mask accumulate float64", short, [x, [m], torch.tensor(1.0, dtype=torch.float64), True])
        g.case("index_put/0-d mask True", short, [x, [torch.tensor(True)], torch.tensor(3.0)])
        g.case("index_put/0-d mask False", short, [x, [torch.tensor(False)], torch.tensor(3.0)])
        g.case("index_put/0-d mask vector", short, [x, [torch.tensor(True)], g.rand((5,), torch.float32)])
        g.case("index_put/two masks", short, [x, [mask_of(g, (4,)), mask_of(g, (5,))], torch.tensor(3.0)])
        g.case("index_put/0-d self", short, [torch.tensor(1.0), [torch.tensor(0)], torch.tensor(2.0)])
        return
    fa = fl(dt)
    x = g.rand((4, 5, 6), dt, special=True)
    perm4 = torch.randperm(4, generator=g.g)
    perm6 = torch.randperm(6, generator=g.g)
    ucases = [  # unique targets: accumulate=False is well defined
        ([perm4[:3]], (3, 5, 6)), ([perm4[:3]], (6,)), ([perm4[:2] - 4], (1, 6)), ([perm4[:3]], ()),
        ([None, None, perm6[:4]], (4, 5, 4)), ([perm4[:2], None, perm6[:2]], (2, 5)),
        ([None, torch.tensor([[0, 1], [4, 3]]), torch.tensor([[5], [0]])], (4, 2, 2)),
        ([perm4[:3].int()], (3, 1, 6)), ([torch.tensor(1), torch.tensor(-1)], (6,)),
        ([torch.zeros(0, dtype=L)], (6,)),
    ]
    for i, (idx, vs) in enumerate(ucases):
        v = g.rand(vs, dt, special=True)
        g.case(f"index_put/{dt}/unique/{i}", short, [x, idx, v, False])
        g.case(f"index_put/{dt}/unique acc/{i}", short, [x, idx, v, True],
               scale=put_scale(x, idx, v) if fa else None, k=2)
    # duplicates accumulate
    for i, (idx, vs) in enumerate([([ri(g, (7,), -4, 4)], (7, 5, 6)), ([ri(g, (3, 4), 0, 4), None, ri(g, (4,), 0, 6)],
                                                                       (3, 4, 5)),
                                   ([ri(g, (9,), 0, 4)], (6,))]):
        v = g.rand(vs, dt, special=(i == 0))
        g.case(f"index_put/{dt}/dup acc/{i}", short, [x, idx, v, True],
               scale=put_scale(x, idx, v) if fa else None, k=10)
    # masks
    m = mask_of(g, (4, 5))
    nnz = int(m.sum())
    for acc in [False, True]:
        v = g.rand((nnz, 6), dt)
        g.case(f"index_put/{dt}/mask/{acc}", short, [x, [m], v, acc],
               scale=put_scale(x, [m], v) if fa and acc else None, k=2)
        v1 = g.rand((), dt)
        m1 = [None, mask_of(g, (5,))]
        g.case(f"index_put/{dt}/mask scalar/{acc}", short, [x, m1, v1, acc],
               scale=put_scale(x, m1, v1) if fa and acc else None, k=2)
    g.case(f"index_put/{dt}/uint8 mask", short, [x, [m.to(torch.uint8)], g.rand((nnz, 6), dt), False])
    x4 = g.rand((2, 3, 4, 5), dt, layout="channels_last")
    idx = [None, torch.randperm(3, generator=g.g)[:2], None, torch.randperm(5, generator=g.g)[:2]]
    g.case(f"index_put/{dt}/cl", short, [x4, idx, g.rand((2, 2, 4), dt), False])
    xp = g.rand((4, 6), dt, layout=(1, 0))
    g.case(f"index_put/{dt}/permuted", short, [xp, [None, perm6[:3]], g.rand((4, 3), dt, layout=(1, 0)), False])
    g.case(f"index_put/{dt}/empty self", short, [g.rand((0, 3), dt), [None, torch.tensor([1])],
                                                 g.rand((1,), dt), True])


# ------------------------------------------------------------------------------------------------
# embedding, embedding_dense_backward, _embedding_bag
# ------------------------------------------------------------------------------------------------

@cases("aten::embedding")
def embedding_cases(g: Gen, op: str, dt):
    short = "embedding"
    if dt is None:
        w = g.rand((10, 3), torch.float32)
        g.case("embedding/out of range", short, [w, torch.tensor([10])])
        g.case("embedding/negative", short, [w, torch.tensor([-1])])
        g.case("embedding/float indices", short, [w, torch.tensor([1.0])])
        g.case("embedding/int16 indices", short, [w, torch.tensor([1], dtype=torch.int16)])
        g.case("embedding/1-d weight", short, [g.rand((10,), torch.float32), torch.tensor([1])])
        g.case("embedding/3-d weight", short, [g.rand((10, 2, 2), torch.float32), torch.tensor([1])])
        g.case("embedding/empty weight", short, [torch.zeros(0, 3), torch.tensor([0])])
        g.case("embedding/empty weight no index", short, [torch.zeros(0, 3), torch.zeros(0, dtype=L)])
        return
    w = g.rand((10, 4), dt, special=True)
    for ishape, idt in [((5,), L), ((2, 3), L), ((), L), ((0,), L), ((2, 2, 3), torch.int32), ((4,), torch.int32)]:
        g.case(f"embedding/{dt}/{ishape}/{idt}", short, [w, ri(g, ishape, 0, 10, idt)])
    idx = ri(g, (3, 2), 0, 10)
    g.case(f"embedding/{dt}/padding", short, [w, idx, 3, True, True])
    g.case(f"embedding/{dt}/padding -1", short, [w, idx, -1, False, False])
    wp = g.rand((6, 5), dt, layout=(1, 0))
    g.case(f"embedding/{dt}/permuted weight", short, [wp, relayout(ri(g, (3, 4), 0, 6), (1, 0))])
    g.case(f"embedding/{dt}/D=0", short, [g.rand((5, 0), dt), ri(g, (3,), 0, 5)])


def embedding_backward_expected(grad, idx, nw, pad, freq):
    """weight.grad of aten::embedding through autograd; checked against the op."""
    want = A.embedding_dense_backward(grad, idx, nw, pad, freq)
    if not grad.dtype.is_floating_point:
        return None
    w = torch.zeros(nw, grad.shape[-1], dtype=grad.dtype, requires_grad=True)
    out = A.embedding(w, idx, pad, freq)
    out.backward(grad.reshape(out.shape))
    got = w.grad
    assert torch.allclose(got, want, rtol=0, atol=0, equal_nan=True), \
        "autograd and embedding_dense_backward disagree"
    return [got]


@cases("aten::embedding_dense_backward")
def embedding_backward_cases(g: Gen, op: str, dt):
    short = "embedding_dense_backward"
    if dt is None:
        idx = torch.tensor([[0, 2], [2, 1]])
        g.case("embedding_backward/0-d grad", short, [torch.tensor(1.0), torch.tensor(0), 4, -1, False])
        g.case("embedding_backward/float indices", short, [torch.ones(2, 2, 3), idx.float(), 4, -1, False])
        g.case("embedding_backward/bad numel", short, [torch.ones(5, 3), idx, 4, -1, False])
        g.case("embedding_backward/negative num_weights", short, [torch.ones(2, 2, 3), idx, -1, -1, False])
        g.case("embedding_backward/out of range skipped", short, [torch.ones(2, 2, 3), idx, 2, -1, False])
        g.case("embedding_backward/negative skipped", short, [torch.ones(2, 2, 3), -idx, 3, -2, False])
        g.case("embedding_backward/grad reshaped", short, [g.rand((4, 3), torch.float32), idx, 4, -1, False],
               scale=lambda o: [torch.full((4, 3), 10.0, dtype=torch.float64)], k=3)
        return
    fa = fl(dt)
    specs = [((2, 3), 5, -1, False, None), ((2, 3), 5, 2, False, None), ((2, 3), 5, -1, True, None),
             ((7,), 4, 1, True, None), ((), 4, -1, False, None), ((0,), 4, -1, False, None),
             ((3, 4), 3, 0, True, (1, 0)), ((2, 2, 2), 6, 5, False, None), ((9,), 2, -1, True, None)]
    for i, (ishape, nw, pad, freq, lay) in enumerate(specs):
        idx = ri(g, ishape, 0, nw, torch.int32 if i % 3 == 1 else L)
        d = 4 if i % 2 else 3
        grad = g.rand(tuple(ishape) + (d,), dt, special=(i == 0), layout=(lay + (2,)) if lay else None)
        if dt in (torch.float16, torch.bfloat16) and freq:
            grad = g.rand(tuple(ishape) + (d,), dt, lo=-4, hi=4)
        exp = embedding_backward_expected(grad, idx, nw, pad, freq)

        def sc(o, grad=grad, idx=idx, nw=nw, pad=pad, freq=freq):
            return [A.embedding_dense_backward(f64abs(grad), idx, nw, pad, freq)]
        g.case(f"embedding_backward/{dt}/{ishape}/{nw}/{pad}/{freq}/{lay}", short, [grad, idx, nw, pad, freq],
               expected=exp, scale=sc if fa else None, k=max(idx.numel(), 1))
    g.case(f"embedding_backward/{dt}/D=0", short, [g.rand((3, 0), dt), ri(g, (3,), 0, 2), 2, -1, False])


def bag_scale(w, idx, off, mode, psw, ilo, pad):
    def sc(o):
        p = None if psw is None else f64abs(psw)
        r = A._embedding_bag(f64abs(w), idx, off, False, mode, False, p, ilo, pad)
        return [r[0], None, None, None]
    return sc


@cases("aten::_embedding_bag")
def embedding_bag_cases(g: Gen, op: str, dt):
    short = "_embedding_bag"
    if dt is None:
        w = g.rand((10, 3), torch.float32)
        idx = torch.tensor([1, 2, 4, 5, 4, 3, 2, 9])
        off = torch.tensor([0, 4, 4])
        g.case("embedding_bag/offsets[0] != 0", short, [w, idx, torch.tensor([1, 4]), False, 0, False, None, False, -1])
        g.case("embedding_bag/offset beyond", short, [w, idx, torch.tensor([0, 9]), False, 0, False, None, False, -1])
        g.case("embedding_bag/out of range", short, [w, torch.tensor([10]), torch.tensor([0]), False, 0, False, None,
                                                     False, -1])
        g.case("embedding_bag/negative", short, [w, torch.tensor([-1]), torch.tensor([0]), False, 1, False, None,
                                                 False, -1])
        g.case("embedding_bag/psw mean", short, [w, idx, off, False, 1, False, g.rand((8,), torch.float32), False, -1])
        g.case("embedding_bag/psw dtype", short, [w, idx, off, False, 0, False, g.rand((8,), torch.float64), False,
                                                  -1])
        g.case("embedding_bag/psw numel", short, [w, idx, off, False, 0, False, g.rand((7,), torch.float32), False,
                                                  -1])
        g.case("embedding_bag/mode 3", short, [w, idx, off, False, 3, False, None, False, -1])
        g.case("embedding_bag/1-d weight", short, [g.rand((10,), torch.float32), idx, off, False, 0, False, None,
                                                   False, -1])
        g.case("embedding_bag/int weight", short, [g.rand((10, 3), torch.int32), idx, off, False, 0, False, None,
                                                   False, -1])
        g.case("embedding_bag/float indices", short, [w, idx.float(), off, False, 0, False, None, False, -1])
        g.case("embedding_bag/2-d offsets", short, [w, idx, off.reshape(1, 3), False, 0, False, None, False, -1])
        g.case("embedding_bag/ilo no offsets", short, [w, idx, torch.zeros(0, dtype=L), False, 0, False, None, True,
                                                       -1])
        g.case("embedding_bag/2-d indices slow path", short, [w, idx.reshape(2, 4), torch.tensor([0, 1]), False, 0,
                                                             False, None, False, 3])
        g.case("embedding_bag/3-d indices", short, [w, idx.reshape(2, 2, 2), torch.tensor([0, 1]), False, 0,
                                                    False, None, False, -1])
        g.case("embedding_bag/int32 both", short, [w, idx.int(), off.int(), False, 1, False, None, False, -1])
        g.case("embedding_bag/int32 indices", short, [w, idx.int(), off, False, 2, False, None, False, 3])
        return
    w = g.rand((10, 3), dt, special=True)
    wn = g.rand((10, 3), dt)
    idx = ri(g, (8,), 0, 10)
    idx[3] = 4
    off = torch.tensor([0, 3, 3, 5])
    for mode in [0, 1, 2]:
        for ilo in [False, True]:
            for pad in [-1, 4]:
                ww = w if mode == 2 else wn
                g.case(f"embedding_bag/{dt}/mode{mode}/ilo{ilo}/pad{pad}", short,
                       [ww, idx, off, False, mode, False, None, ilo, pad],
                       scale=bag_scale(ww, idx, off, mode, None, ilo, pad), k=8)
    for pad in [-1, 2]:
        psw = g.rand((8,), dt)
        g.case(f"embedding_bag/{dt}/psw/pad{pad}", short, [wn, idx, off, True, 0, True, psw, False, pad],
               scale=bag_scale(wn, idx, off, 0, psw, False, pad), k=8)
    wp = relayout(wn, (1, 0))
    for mode in [0, 1]:
        g.case(f"embedding_bag/{dt}/permuted weight/mode{mode}", short, [wp, idx, off, False, mode, False, None, False,
                                                                          -1],
               scale=bag_scale(wp, idx, off, mode, None, False, -1), k=8)
    g.case(f"embedding_bag/{dt}/int32", short, [wn, idx.int(), off.int(), False, 1, False, None, False, -1],
           scale=bag_scale(wn, idx.int(), off.int(), 1, None, False, -1), k=8)
    g.case(f"embedding_bag/{dt}/int32 idx int64 off", short, [w, idx.int(), off, False, 2, False, None, True, -1])
    g.case(f"embedding_bag/{dt}/empty indices", short, [wn, torch.zeros(0, dtype=L), torch.tensor([0, 0]), False, 1,
                                                        False, None, False, -1])
    g.case(f"embedding_bag/{dt}/empty indices max", short, [wn, torch.zeros(0, dtype=L), torch.tensor([0, 0]), False,
                                                            2, False, None, False, -1])
    for mode in [0, 1, 2]:  # slow path (padding_idx >= 0) accepts decreasing offsets
        g.case(f"embedding_bag/{dt}/decreasing/mode{mode}", short, [wn, idx, torch.tensor([0, 5, 4]), False, mode,
                                                                    False, None, False, 3],
               scale=bag_scale(wn, idx, torch.tensor([0, 5, 4]), mode, None, False, 3), k=8)
    g.case(f"embedding_bag/{dt}/ilo short", short, [wn, idx, torch.tensor([0, 2, 5]), False, 1, False, None, True, -1],
           scale=bag_scale(wn, idx, torch.tensor([0, 2, 5]), 1, None, True, -1), k=8)
    if dt != torch.float64:  # the slow path (float64) writes before the first bag in ATen
        g.case(f"embedding_bag/{dt}/no bags fast", short,
               [wn, idx, torch.zeros(0, dtype=L), False, 0, False, None, False, -1])
    i2 = ri(g, (2, 4), 0, 10)
    for mode in [0, 1]:  # 2-D indices: ATen's fast path reads them flat (float64 refuses)
        g.case(f"embedding_bag/{dt}/2-d indices/mode{mode}", short,
               [wn, i2, torch.tensor([0, 1]), False, mode, False, None, False, -1],
               scale=bag_scale(wn, i2.reshape(-1), torch.tensor([0, 1]), 0, None, False, -1), k=8)
    wl = g.rand((6, 300), dt)
    il = ri(g, (7,), 0, 6)
    for mode in [0, 2]:
        g.case(f"embedding_bag/{dt}/wide/mode{mode}", short, [wl, il, torch.tensor([0, 4]), False, mode, False, None,
                                                              False, -1],
               scale=bag_scale(wl, il, torch.tensor([0, 4]), mode, None, False, -1), k=7)
