"""Golden cases: elementwise unary ops and activations (incl. softmax)."""

from __future__ import annotations

import torch

from . import cases
from .core import Gen, f64abs


@cases("aten::relu", "aten::hardtanh")
def clamping(g: Gen, op: str, dt):
    short = op.split("::")[1]
    if dt is None:
        g.case(f"{short}/bool", short, [g.rand((3,), torch.bool)])
        return
    for shape, lay in [((3, 5), None), ((2, 3, 4, 5), "channels_last"), ((), None), ((0, 4), None)]:
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
    for shape, lay in [((4, 6), None), ((2, 3, 4, 5), "channels_last"), ((), None)]:
        x = g.rand(shape, dt, special=True, layout=lay, lo=-20, hi=20)
        g.case(f"{short}/{dt}/{shape}", short, [x])


@cases("aten::_softmax")
def softmax(g: Gen, op: str, dt):
    if dt is None:
        g.case("softmax/int", "_softmax", [g.rand((3,), torch.int64), 0, False])
        return
    for shape, dim, lay in [((4, 7), -1, None), ((4, 7), 0, None), ((2, 3, 4, 5), 1, "channels_last"),
                            ((3, 300), 1, None), ((), 0, None), ((2, 0, 3), 1, None)]:
        x = g.rand(shape, dt, special=(shape == (4, 7)), layout=lay)
        if shape == (3, 300):
            x = x * 30  # large logits
        n = x.shape[dim] if x.dim() else 1
        g.case(f"softmax/{dt}/{shape}/{dim}", "_softmax", [x, dim, False],
               scale=lambda outs: [f64abs(outs[0])], k=n)
