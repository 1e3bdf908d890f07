"""Golden cases: matmul and convolution."""

from __future__ import annotations

import math

import torch

from . import cases
from .core import Gen, f64abs


def _mm_scale(a, b):
    return lambda outs: [f64abs(a) @ f64abs(b)]


@cases("aten::mm", "aten::addmm", "aten::bmm")
def matmul(g: Gen, op: str, dt):
    short = op.split("::")[1]
    if dt is None:
        if short == "mm":
            g.case("mm/bool", "mm", [g.rand((2, 2), torch.bool), g.rand((2, 2), torch.bool)])
            g.case("mm/mixed", "mm", [g.rand((2, 2), torch.float32), g.rand((2, 2), torch.float64)])
            g.case("mm/shape", "mm", [g.rand((2, 3), torch.float32), g.rand((2, 3), torch.float32)])
        return
    small = not dt.is_floating_point
    lo, hi = (-50, 50) if small else (None, None)
    if short == "mm":
        for (m, k, n) in [(5, 7, 3), (1, 1, 1), (0, 3, 4), (4, 0, 5), (9, 70, 67), (70, 300, 130)]:
            a = g.rand((m, k), dt, lo=lo, hi=hi)
            b = g.rand((k, n), dt, lo=lo, hi=hi)
            g.case(f"mm/{dt}/{m}x{k}x{n}", "mm", [a, b], scale=_mm_scale(a, b), k=k)
        a = g.rand((6, 5), dt, layout=(1, 0), lo=0, hi=9)  # transposed storage
        b = g.rand((5, 4), dt, layout=(1, 0), lo=0, hi=9)
        g.case(f"mm/{dt}/transposed", "mm", [a, b], scale=_mm_scale(a, b), k=5)
    elif short == "addmm":
        a = g.rand((6, 5), dt, layout=(1, 0), lo=0, hi=9)
        b = g.rand((5, 4), dt, layout=(1, 0), lo=0, hi=9)
        for sshape in [(4,), (6, 4), (1, 1)]:
            s = g.rand(sshape, dt, special=True, lo=-9, hi=9)
            for beta, alpha in [(1, 1), (0, 2), (2, 0), (0.5, -1.5)]:
                if small and isinstance(beta, float):
                    beta, alpha = 3, -2
                sc = (lambda s=s, a=a, b=b, beta=beta, alpha=alpha:
                      lambda outs: [(abs(beta) * f64abs(s).expand(6, 4) if beta else 0)
                                    + abs(alpha) * (f64abs(a) @ f64abs(b))])()
                g.case(f"addmm/{dt}/{sshape}/{beta},{alpha}", "addmm", [s, a, b],
                       {"beta": beta, "alpha": alpha}, scale=sc, k=5)
    else:
        x = g.rand((3, 4, 5), dt, lo=-9, hi=9)
        y = g.rand((3, 5, 6), dt, lo=-9, hi=9, layout=(0, 2, 1))
        g.case(f"bmm/{dt}", "bmm", [x, y], scale=lambda outs, x=x, y=y: [torch.bmm(f64abs(x), f64abs(y))], k=5)


# (input, weight, stride, pad, dil, transposed, out_pad, groups, layout)
CONV_CFGS = [
    ((2, 3, 7, 8), (4, 3, 3, 3), [1, 1], [1, 1], [1, 1], False, [0, 0], 1, None),
    ((1, 4, 9, 9), (6, 2, 3, 2), [2, 1], [0, 1], [1, 2], False, [0, 0], 2, None),
    ((1, 4, 6, 6), (4, 1, 3, 3), [1], [1], [1], False, [0], 4, "channels_last"),
    ((2, 2, 17), (4, 2, 5), [3], [2], [2], False, [0], 1, None),
    ((1, 2, 4, 5, 6), (3, 2, 2, 3, 2), [1, 2, 1], [1, 0, 1], [1, 1, 2], False, [0, 0, 0], 1, None),
    ((1, 8, 5, 5), (16, 8, 1, 1), [1, 1], [0, 0], [1, 1], False, [0, 0], 1, None),
    ((0, 3, 5, 5), (2, 3, 3, 3), [1, 1], [0, 0], [1, 1], False, [0, 0], 1, None),
    ((1, 4, 5, 4), (4, 3, 3, 3), [2, 2], [1, 0], [1, 1], True, [1, 0], 2, None),
    ((2, 2, 7), (2, 3, 4), [3], [2], [2], True, [2], 1, None),
    ((1, 3, 2, 3, 4), (3, 2, 2, 2, 2), [2, 1, 2], [0, 1, 0], [1, 2, 1], True, [1, 0, 0], 1, None),
    ((1, 2, 4, 4), (2, 2, 3, 3), [1, 1], [1, 1], [1, 1], True, [0, 0], 1, "channels_last"),
    # several blocks of the implicit GEMM: out channels, positions and depth
    ((1, 16, 9, 9), (70, 16, 3, 3), [1, 1], [1, 1], [1, 1], False, [0, 0], 1, "channels_last"),
    ((1, 16, 5, 9), (16, 35, 3, 3), [2, 1], [1, 1], [1, 1], True, [1, 0], 1, None),
]


@cases("aten::convolution")
def convolution(g: Gen, op: str, dt):
    if dt is None:
        x = g.rand((1, 2, 5, 5), torch.int8, lo=-5, hi=5)
        w = g.rand((2, 2, 3, 3), torch.int8, lo=-5, hi=5)
        g.case("conv/int8 transposed", "convolution", [x, w, None, [1, 1], [0, 0], [1, 1], True, [0, 0], 1])
        g.case("conv/groups", "convolution",
               [g.rand((1, 3, 5, 5), torch.float32), g.rand((2, 1, 3, 3), torch.float32), None,
                [1, 1], [0, 0], [1, 1], False, [0, 0], 2])
        return
    small = not dt.is_floating_point
    lo, hi = (-20, 20) if small else (None, None)
    for i, (xs, ws, st, pd, dl, tr, opad, gr, lay) in enumerate(CONV_CFGS):
        x = g.rand(xs, dt, layout=lay, lo=lo, hi=hi)
        w = g.rand(ws, dt, lo=lo, hi=hi)
        cout = ws[1] * gr if tr else ws[0]
        for with_bias in (False, True):
            b = g.rand((cout,), dt, lo=-20, hi=20) if with_bias else None
            kterms = (ws[0] // gr if tr else ws[1]) * math.prod(ws[2:])

            def sc(outs, x=x, w=w, b=b, st=st, pd=pd, dl=dl, tr=tr, opad=opad, gr=gr):
                return [torch.ops.aten.convolution(f64abs(x), f64abs(w), None if b is None else f64abs(b),
                                                   st, pd, dl, tr, opad, gr)]
            g.case(f"conv/{dt}/{i}/bias={with_bias}", "convolution", [x, w, b, st, pd, dl, tr, opad, gr],
                   scale=sc, k=kterms)


# ---------------------------------------------------------------------------
# convolution_backward (expected gradients from autograd)

def _conv_grads(x, w, b, st, pd, dl, tr, opad, gr, go):
    xr = x.detach().clone().requires_grad_(True)
    wr = w.detach().clone().requires_grad_(True)
    br = b.detach().clone().requires_grad_(True)
    y = torch.ops.aten.convolution(xr, wr, br, st, pd, dl, tr, opad, gr)
    return torch.autograd.grad(y, (xr, wr, br), go)


@cases("aten::convolution_backward")
def convolution_backward(g: Gen, op: str, dt):
    if dt is None:
        x = g.rand((1, 2, 5, 5), torch.float32)
        w = g.rand((2, 2, 3, 3), torch.float32)
        go = g.rand((1, 2, 3, 3), torch.float32)
        args = [None, [1, 1], [0, 0], [1, 1], False, [0, 0], 1]
        g.case("conv_bw/int64", "convolution_backward",
               [go.long(), x.long(), w.long()] + args + [[True, True, True]])
        g.case("conv_bw/bad grad shape", "convolution_backward",
               [g.rand((1, 2, 4, 4), torch.float32), x, w] + args + [[True, True, True]])
        for mask in ([False, True, False], [True, False, True], [False, False, False]):
            gx, gw, gb = _conv_grads(x, w, torch.zeros(2), [1, 1], [0, 0], [1, 1], False, [0, 0], 1, go)
            e = torch.empty(0)
            exp = [gx if mask[0] else e, gw if mask[1] else e, gb if mask[2] else e]
            sc = _conv_grads(f64abs(x), f64abs(w), torch.zeros(2, dtype=torch.float64), [1, 1], [0, 0],
                             [1, 1], False, [0, 0], 1, f64abs(go))
            sc = [t if m else None for t, m in zip(sc, mask)]
            g.case(f"conv_bw/mask {mask}", "convolution_backward", [go, x, w, [2]] + args[1:] + [mask],
                   expected=exp, scale=lambda outs, sc=sc: sc, k=18)
        return
    for i, (xs, ws, st, pd, dl, tr, opad, gr, lay) in enumerate(CONV_CFGS[:-2]):  # small ones
        x = g.rand(xs, dt, layout=lay)
        w = g.rand(ws, dt)
        cout = ws[1] * gr if tr else ws[0]
        yshape = torch.ops.aten.convolution(x, w, None, st, pd, dl, tr, opad, gr).shape
        go = g.rand(tuple(yshape), dt, layout=lay)
        gx, gw, gb = _conv_grads(x, w, torch.zeros(cout, dtype=dt), st, pd, dl, tr, opad, gr, go)
        ax, aw, ago = f64abs(x), f64abs(w), f64abs(go)
        sx, sw, sb = _conv_grads(ax, aw, torch.zeros(cout, dtype=torch.float64), st, pd, dl, tr, opad, gr, ago)
        taps = math.prod(ws[2:])
        kin = (ws[1] * gr // gr if tr else ws[0] // gr) * taps
        kw = xs[0] * math.prod(yshape[2:]) if not tr else xs[0] * math.prod(xs[2:])
        flags = 2 if dt in (torch.float16, torch.bfloat16) else 0
        g.case(f"conv_bw/{dt}/{i}", "convolution_backward",
               [go, x, w, [cout], st, pd, dl, tr, opad, gr, [True, True, True]],
               expected=[gx, gw, gb], scale=lambda outs, s=(sx, sw, sb): list(s),
               k=max(kin, kw, 1), flags=flags)


# ---------------------------------------------------------------------------
# col2im

# (N-or-None, C, output_size, kernel, dilation, padding, stride)
COL2IM_CFGS = [(2, 3, [5, 6], [2, 3], [1, 1], [0, 1], [1, 1]),
               (None, 2, [6, 6], [3, 3], [1, 1], [1, 1], [2, 2]),
               (1, 1, [7, 5], [2, 2], [2, 1], [1, 0], [1, 2]),
               (0, 2, [4, 4], [2, 2], [1, 1], [0, 0], [1, 1]),
               (1, 2, [3, 3], [1, 1], [1, 1], [0, 0], [1, 1])]


def _blocks(o, k, d, p, s):
    return (o + 2 * p - d * (k - 1) - 1) // s + 1


@cases("aten::col2im")
def col2im(g: Gen, op: str, dt):
    if dt is None:
        x = g.rand((1, 4, 9), torch.float32)
        g.case("col2im/int64", "col2im", [x.long(), [4, 4], [2, 2], [1, 1], [0, 0], [1, 1]])
        g.case("col2im/blocks", "col2im", [g.rand((1, 4, 8), torch.float32), [4, 4], [2, 2], [1, 1], [0, 0], [1, 1]])
        g.case("col2im/channels", "col2im", [g.rand((1, 5, 9), torch.float32), [4, 4], [2, 2], [1, 1], [0, 0], [1, 1]])
        g.case("col2im/neg pad", "col2im", [x, [4, 4], [2, 2], [1, 1], [-1, 0], [1, 1]])
        g.case("col2im/too small", "col2im", [x, [1, 1], [2, 2], [1, 1], [0, 0], [1, 1]])
        g.case("col2im/4d", "col2im", [x.unsqueeze(0), [4, 4], [2, 2], [1, 1], [0, 0], [1, 1]])
        return
    for i, (n, c, osz, k, d, p, s) in enumerate(COL2IM_CFGS):
        L = _blocks(osz[0], k[0], d[0], p[0], s[0]) * _blocks(osz[1], k[1], d[1], p[1], s[1])
        shape = ((n,) if n is not None else ()) + (c * k[0] * k[1], L)
        lay = (0, 2, 1) if i == 0 else None
        x = g.rand(shape, dt, special=(i == 1), layout=lay)
        g.case(f"col2im/{dt}/{i}", "col2im", [x, osz, k, d, p, s],
               scale=lambda outs, x=x, osz=osz, k=k, d=d, p=p, s=s:
               [torch.ops.aten.col2im(f64abs(x), osz, k, d, p, s)] if x.dtype != torch.bool else None,
               k=k[0] * k[1])
