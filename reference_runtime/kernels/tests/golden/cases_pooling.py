"""Golden cases: pooling."""

from __future__ import annotations

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
