"""Golden cases: elementwise binary ops, comparisons, logical and bitwise ops."""

from __future__ import annotations

import torch

from . import cases
from .core import CASE_EPS_STORAGE, Gen, f64abs

SHAPES = [((3, 4), (3, 4), None), ((2, 1, 4), (3, 1), None), ((5,), (), None),
          ((), (), None), ((0, 3), (3,), None), ((2, 3, 4, 5), (2, 3, 4, 5), "channels_last"),
          ((4, 3), (4, 3), (1, 0))]
MIXES = [(torch.int8, (4,), torch.uint8, (4,)), (torch.int32, (4,), torch.float16, (4,)),
         (torch.float32, (4,), torch.float64, ()), (torch.int64, (3,), torch.float32, (3,)),
         (torch.int8, (4,), torch.int64, ()), (torch.bool, (3,), torch.int16, (3,)),
         (torch.float16, (2, 2), torch.bfloat16, (2,))]


@cases("aten::add.Tensor", "aten::sub.Tensor", "aten::mul.Tensor", "aten::div.Tensor")
def arithmetic(g: Gen, op: str, dt):
    short = op.split("::")[1]
    has_alpha = short in ("add.Tensor", "sub.Tensor")
    if dt is None:
        for da, sa, db, sb in MIXES:
            if short == "sub.Tensor" and torch.bool in (da, db):
                continue
            kw = {"alpha": 1} if has_alpha else {}
            g.case(f"{short}/mix/{da}+{db}", short, [g.rand(sa, da), g.rand(sb, db)], kw)
        g.case(f"{short}/broadcast", short, [g.rand((2, 3), torch.float32), g.rand((4,), torch.float32)])
        if short == "sub.Tensor":
            g.case("sub/bool", short, [g.rand((3,), torch.bool), g.rand((3,), torch.bool)])
        if short == "add.Tensor":
            g.case("add/int alpha float", short,
                   [g.rand((3,), torch.int32), g.rand((3,), torch.int32)], {"alpha": 0.5})
        return
    for sa, sb, lay in SHAPES:
        a = g.rand(sa, dt, special=True, layout=lay)
        b = g.rand(sb, dt, special=True, layout=lay if len(sb) == len(sa) else None)
        alphas = [None]
        if has_alpha:
            alphas = [1, 2] if not dt.is_floating_point else [1, -1.5]
        for al in alphas:
            kw = {} if al is None else {"alpha": al}
            sc = None
            if al not in (None, 1) and dt.is_floating_point:
                # ATen's scalar loop rounds alpha * other to the dtype first
                sc = (lambda b=b, al=al: lambda outs: [abs(al) * f64abs(b).expand(outs[0].shape)])()
            g.case(f"{short}/{dt}/{sa}x{sb}/{lay}/alpha={al}", short, [a, b], kw, scale=sc, k=1,
                   flags=CASE_EPS_STORAGE if sc is not None else 0)
