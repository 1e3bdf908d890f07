"""Golden cases: reductions."""

from __future__ import annotations

import math

import torch

from . import cases
from .core import Gen, f64abs


@cases("aten::mean.dim")
def mean_dim(g: Gen, op: str, dt):
    if dt is None:
        for it in [torch.int32, torch.bool]:
            x = g.rand((3, 4), it, lo=-100, hi=100)
            g.case(f"mean/{it}/dtype", "mean.dim", [x, [1], False], {"dtype": torch.float32},
                   scale=lambda outs, x=x: [torch.ops.aten.mean.dim(f64abs(x), [1], False)], k=4)
            g.case(f"mean/{it}/no dtype", "mean.dim", [x, [1], False])
        return
    for shape, dims, keep, lay in [((4, 5, 6), [1], False, None), ((4, 5, 6), [0, 2], True, None),
                                   ((4, 5, 6), [-1], False, None), ((4, 5, 6), None, False, None),
                                   ((4, 5, 6), [], True, None), ((2, 3, 4, 5), [1], False, "channels_last"),
                                   ((0, 3), [0], False, None), ((), [0], False, None),
                                   ((2, 1000), [1], True, None)]:
        x = g.rand(shape, dt, special=(shape == (4, 5, 6) and dims == [1]), layout=lay)
        red = [d % max(x.dim(), 1) for d in dims] if dims else list(range(x.dim()))
        cnt = math.prod(x.shape[d] for d in red) if x.dim() else 1
        for odt in [None, torch.float64] if dt == torch.float32 else [None]:
            kw = {} if odt is None else {"dtype": odt}

            def sc(outs, x=x, dims=dims, keep=keep):
                return [torch.ops.aten.mean.dim(f64abs(x), dims, keep)]
            g.case(f"mean/{dt}/{shape}/{dims}/{keep}/{odt}", "mean.dim", [x, dims, keep], kw,
                   scale=sc, k=cnt)
