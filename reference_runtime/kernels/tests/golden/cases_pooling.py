"""Golden cases: pooling."""

from __future__ import annotations

import math

import torch

from . import cases
from .core import Gen, f64abs

# (shape, kernel, stride, pad, dil, ceil, layout)
POOL_CFGS = [((2, 3, 7, 8), [2, 2], [2, 2], [0, 0], [1, 1], False, None),
             ((1, 2, 7, 9), [3, 2], [2, 1], [1, 1], [2, 1], True, None),
             ((3, 6, 6), [3], [], [1], [1], True, None),
             ((1, 4, 5, 5), [2, 2], [2, 2], [1, 1], [1, 1], True, "channels_last"),
             ((1, 1, 10, 10), [4, 4], [3, 3], [2, 2], [1, 1], True, None),
             ((0, 2, 4, 4), [2, 2], [2, 2], [0, 0], [1, 1], False, None)]


@cases("aten::max_pool2d_with_indices")
def max_pool2d(g: Gen, op: str, dt):
    if dt is None:
        g.case("maxpool/bool", "max_pool2d_with_indices",
               [g.rand((1, 4, 4), torch.bool), [2, 2], [], [0, 0], [1, 1], False])
        g.case("maxpool/too small", "max_pool2d_with_indices",
               [g.rand((1, 2, 2), torch.float32), [3, 3], [], [0, 0], [1, 1], False])
        return
    for i, (xs, k, s, p, d, ceil, lay) in enumerate(POOL_CFGS):
        x = g.rand(xs, dt, special=True, layout=lay)
        g.case(f"maxpool/{dt}/{i}", "max_pool2d_with_indices", [x, k, s, p, d, ceil])


@cases("aten::avg_pool2d")
def avg_pool2d(g: Gen, op: str, dt):
    if dt is None:
        g.case("avgpool/int32", "avg_pool2d",
               [g.rand((1, 4, 4), torch.int32), [2, 2], [], [0, 0], False, True, None])
        return
    for i, (xs, k, s, p, d, ceil, lay) in enumerate(POOL_CFGS):
        x = g.rand(xs, dt, special=True, layout=lay)
        for cip, dov in [(True, None), (False, None), (True, 3)]:
            kk = k * 2 if len(k) == 1 else k

            def sc(outs, x=x, k=k, s=s, p=p, ceil=ceil, cip=cip, dov=dov):
                return [torch.ops.aten.avg_pool2d(f64abs(x), k, s, p, ceil, cip, dov).abs()]
            g.case(f"avgpool/{dt}/{i}/{cip},{dov}", "avg_pool2d", [x, k, s, p, ceil, cip, dov],
                   scale=sc, k=kk[0] * kk[1])


# ---------------------------------------------------------------------------
# 1-d / 3-d forward pooling
# (shape, kernel, stride, pad, dil, ceil, layout)
POOL1D_CFGS = [((2, 3, 9), [3], [2], [1], [1], False, None),
               ((3, 10), [4], [], [2], [1], True, None),
               ((2, 3, 8), [2], [3], [0], [1], True, (0, 2, 1)),
               ((1, 2, 7), [5], [1], [2], [1], False, None),
               ((0, 2, 5), [2], [2], [0], [1], False, None)]
POOL3D_CFGS = [((1, 2, 4, 5, 6), [2, 2, 2], [], [0, 0, 0], [1, 1, 1], False, None),
               ((2, 4, 5, 6), [3, 2, 3], [2, 1, 2], [1, 1, 1], [1, 2, 1], True, None),
               ((1, 3, 5, 4, 5), [2, 3, 2], [2, 2, 1], [1, 0, 1], [2, 1, 1], True, "channels_last_3d"),
               ((1, 1, 6, 6, 6), [3], [3], [1], [1], True, None),
               ((0, 2, 3, 3, 3), [2], [1], [0], [1], False, None)]


def _avg_cases(g, dt, name, op, cfgs, with_dov):
    for i, (xs, k, s, p, d, ceil, lay) in enumerate(cfgs):
        x = g.rand(xs, dt, special=dt.is_floating_point, layout=lay,
                   lo=-1000 if not dt.is_floating_point else None, hi=1000 if not dt.is_floating_point else None)
        variants = [(True, None), (False, None)] + ([(True, 3), (False, -2)] if with_dov else [])
        kk = k * len(xs[2:]) if len(k) == 1 else k
        for cip, dov in variants:
            args = [x, k, s, p, ceil, cip] + ([dov] if with_dov else [])
            fn = getattr(torch.ops.aten, op)

            def sc(outs, args=args, fn=fn):
                return [fn(f64abs(args[0]), *args[1:]).abs()]
            g.case(f"{name}/{dt}/{i}/{cip},{dov}", op, args, scale=sc, k=math.prod(kk))


@cases("aten::avg_pool1d")
def avg_pool1d(g: Gen, op: str, dt):
    if dt is None:
        g.case("avgpool1d/int32", "avg_pool1d", [g.rand((2, 7), torch.int32), [3]])
        g.case("avgpool1d/4d", "avg_pool1d", [g.rand((1, 2, 7, 1), torch.float32), [3]])
        g.case("avgpool1d/two ints", "avg_pool1d", [g.rand((2, 7), torch.float32), [3, 3]])
        g.case("avgpool1d/pad", "avg_pool1d", [g.rand((2, 7), torch.float32), [3], [1], [2]])
        g.case("avgpool1d/small", "avg_pool1d", [g.rand((2, 2), torch.float32), [3]])
        g.case("avgpool1d/C0", "avg_pool1d", [g.rand((2, 0, 7), torch.float32), [3]])
        return
    _avg_cases(g, dt, "avgpool1d", "avg_pool1d", POOL1D_CFGS, False)


@cases("aten::avg_pool3d")
def avg_pool3d(g: Gen, op: str, dt):
    if dt is None:
        g.case("avgpool3d/half", "avg_pool3d", [g.rand((2, 4, 4, 4), torch.float16), [2]])
        g.case("avgpool3d/div0", "avg_pool3d", [g.rand((2, 4, 4, 4), torch.float32), [2], [], [0], False, True, 0])
        g.case("avgpool3d/3d", "avg_pool3d", [g.rand((4, 4, 4), torch.float32), [2]])
        return
    _avg_cases(g, dt, "avgpool3d", "avg_pool3d", POOL3D_CFGS, True)


@cases("aten::max_pool3d_with_indices")
def max_pool3d(g: Gen, op: str, dt):
    if dt is None:
        g.case("maxpool3d/bool", "max_pool3d_with_indices", [g.rand((1, 4, 4, 4), torch.bool), [2]])
        g.case("maxpool3d/pad", "max_pool3d_with_indices", [g.rand((1, 4, 4, 4), torch.float32), [2], [], [2]])
        g.case("maxpool3d/C0", "max_pool3d_with_indices", [g.rand((1, 0, 4, 4, 4), torch.float32), [2]])
        return
    for i, (xs, k, s, p, d, ceil, lay) in enumerate(POOL3D_CFGS):
        x = g.rand(xs, dt, special=True, layout=lay)
        g.case(f"maxpool3d/{dt}/{i}", "max_pool3d_with_indices", [x, k, s, p, d, ceil])
    x = g.rand((1, 1, 3, 3, 3), dt, lo=0, hi=1)  # many ties
    g.case(f"maxpool3d/{dt}/ties", "max_pool3d_with_indices", [x, [2], [1], [0], [1], False])


# ---------------------------------------------------------------------------
# Backward of 2-d pooling (expected values from autograd)

def _grad_of(fn, x, go):
    xr = x.detach().clone().requires_grad_(True)
    out = fn(xr)
    out = out[0] if isinstance(out, tuple) else out
    (gx,) = torch.autograd.grad(out, xr, go)
    return gx


@cases("aten::avg_pool2d_backward")
def avg_pool2d_backward(g: Gen, op: str, dt):
    if dt is None:
        x = g.rand((1, 2, 4, 4), torch.float32)
        g.case("avgpool2d_bw/bad grad shape", "avg_pool2d_backward",
               [g.rand((1, 2, 3, 3), torch.float32), x, [2, 2], [2, 2], [0, 0], False, True, None])
        g.case("avgpool2d_bw/mixed", "avg_pool2d_backward",
               [g.rand((1, 2, 2, 2), torch.float64), x, [2, 2], [2, 2], [0, 0], False, True, None])
        return
    for i, (xs, k, s, p, d, ceil, lay) in enumerate(POOL_CFGS):
        x = g.rand(xs, dt, layout=lay, lo=-50 if not dt.is_floating_point else None,
                   hi=50 if not dt.is_floating_point else None)
        for cip, dov in [(True, None), (False, None), (True, 3)]:
            fwd = torch.ops.aten.avg_pool2d(x, k, s, p, ceil, cip, dov)
            go = g.rand(tuple(fwd.shape), dt, special=(i == 0 and dt.is_floating_point),
                        lo=-1000 if not dt.is_floating_point else None,
                        hi=1000 if not dt.is_floating_point else None)
            args = [go, x, k, s, p, ceil, cip, dov]
            exp = None
            if dt.is_floating_point:
                exp = [_grad_of(lambda t: torch.ops.aten.avg_pool2d(t, k, s, p, ceil, cip, dov), x, go)]
            kk = k * 2 if len(k) == 1 else k

            def sc(outs, args=args):
                return [torch.ops.aten.avg_pool2d_backward(f64abs(args[0]), f64abs(args[1]), *args[2:])]
            g.case(f"avgpool2d_bw/{dt}/{i}/{cip},{dov}", "avg_pool2d_backward", args,
                   expected=exp, scale=sc, k=kk[0] * kk[1])


@cases("aten::max_pool2d_with_indices_backward")
def max_pool2d_backward(g: Gen, op: str, dt):
    if dt is None:
        x = g.rand((1, 2, 4, 4), torch.float32)
        _, ind = torch.ops.aten.max_pool2d_with_indices(x, [2, 2], [2, 2])
        g.case("maxpool2d_bw/bad indices shape", "max_pool2d_with_indices_backward",
               [g.rand((1, 2, 2, 2), torch.float32), x, [2, 2], [2, 2], [0, 0], [1, 1], False,
                ind[:, :1].contiguous()])
        return
    for i, (xs, k, s, p, d, ceil, lay) in enumerate(POOL_CFGS):
        x = g.rand(xs, dt, special=True, layout=lay)
        out, ind = torch.ops.aten.max_pool2d_with_indices(x, k, s, p, d, ceil)
        go = g.rand(tuple(out.shape), dt)
        exp = [_grad_of(lambda t: torch.ops.aten.max_pool2d_with_indices(t, k, s, p, d, ceil), x, go)]
        kk = k * 2 if len(k) == 1 else k

        def sc(outs, go=go, x=x, ind=ind, k=k, s=s, p=p, d=d, ceil=ceil):
            return [torch.ops.aten.max_pool2d_with_indices_backward(f64abs(go), f64abs(x), k, s, p, d, ceil, ind)]
        g.case(f"maxpool2d_bw/{dt}/{i}", "max_pool2d_with_indices_backward",
               [go, x, k, s, p, d, ceil, ind], expected=exp, scale=sc, k=kk[0] * kk[1])


# ---------------------------------------------------------------------------
# Adaptive average pooling

ADAPTIVE_CFGS = {
    1: [((2, 3, 7), [3], None), ((3, 8), [8], None), ((2, 3, 5), [9], (0, 2, 1)), ((2, 3, 6), [0], None),
        ((0, 2, 5), [2], None), ((1, 2, 1), [3], None)],
    2: [((2, 3, 7, 8), [3, 5], None), ((3, 6, 6), [2, 3], None), ((1, 4, 5, 5), [7, 4], "channels_last"),
        ((2, 3, 4, 4), [0, 2], None), ((0, 3, 4, 4), [2, 2], None), ((1, 2, 9, 10), [1, 1], None)],
    3: [((1, 2, 5, 6, 7), [2, 3, 4], None), ((3, 4, 4, 4), [3, 2, 5], None),
        ((1, 3, 4, 5, 3), [2, 2, 2], "channels_last_3d"), ((2, 3, 4, 4, 4), [0, 2, 2], None),
        ((0, 3, 4, 4, 4), [2, 2, 3], None)],
}
ADAPTIVE_OPS = {"aten::adaptive_avg_pool1d": (1, "adaptive_avg_pool1d"),
                "aten::_adaptive_avg_pool2d": (2, "_adaptive_avg_pool2d"),
                "aten::_adaptive_avg_pool3d": (3, "_adaptive_avg_pool3d")}


def _max_window(i, o):
    return max((((j + 1) * i + o - 1) // o) - (j * i) // o for j in range(o)) if o else 1


@cases(*ADAPTIVE_OPS)
def adaptive_avg_pool(g: Gen, op: str, dt):
    S, name = ADAPTIVE_OPS[op]
    if dt is None:
        g.case(f"{name}/int64", name, [g.rand((1,) + (4,) * (S + 1), torch.int64), [2] * S])
        g.case(f"{name}/empty spatial", name, [g.rand((1, 2) + (0,) + (4,) * (S - 1), torch.float32), [2] * S])
        g.case(f"{name}/negative size", name, [g.rand((1, 2) + (4,) * S, torch.float32), [-1] + [2] * (S - 1)])
        g.case(f"{name}/rank", name, [g.rand((4,) * S, torch.float32), [2] * S])
        return
    for i, (xs, os_, lay) in enumerate(ADAPTIVE_CFGS[S]):
        x = g.rand(xs, dt, special=(i == 0), layout=lay)
        kk = math.prod(_max_window(xs[-S + j], os_[j]) for j in range(S))
        g.case(f"{name}/{dt}/{i}", name, [x, os_],
               scale=lambda outs, x=x, os_=os_: [getattr(torch.ops.aten, name)(f64abs(x), os_)], k=kk)


@cases("aten::_adaptive_avg_pool2d_backward")
def adaptive_avg_pool2d_backward(g: Gen, op: str, dt):
    if dt is None:
        g.case("adaptive2d_bw/mixed", "_adaptive_avg_pool2d_backward",
               [g.rand((2, 3, 2, 2), torch.float64), g.rand((2, 3, 5, 5), torch.float32)])
        g.case("adaptive2d_bw/int", "_adaptive_avg_pool2d_backward",
               [g.rand((2, 3, 2, 2), torch.int64), g.rand((2, 3, 5, 5), torch.int64)])
        return
    for i, (xs, os_, lay) in enumerate(ADAPTIVE_CFGS[2]):
        x = g.rand(xs, dt, layout=lay)
        go = g.rand(xs[:-2] + tuple(os_), dt, special=(i == 0))
        exp = None if 0 in os_ else [_grad_of(lambda t: torch.ops.aten._adaptive_avg_pool2d(t, os_), x, go)]
        g.case(f"adaptive2d_bw/{dt}/{i}", "_adaptive_avg_pool2d_backward", [go, x], expected=exp,
               scale=lambda outs, go=go, x=x: [torch.ops.aten._adaptive_avg_pool2d_backward(f64abs(go), f64abs(x))],
               k=4)
