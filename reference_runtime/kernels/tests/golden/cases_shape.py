"""Golden cases: shape, view and data-movement ops."""

from __future__ import annotations

import torch

from . import cases
from .core import Gen


@cases("aten::view", "aten::permute", "aten::clone", "aten::cat")
def data_movement(g: Gen, op: str, dt):
    short = op.split("::")[1]
    if dt is None:
        if short == "cat":
            g.case("cat/promote", "cat", [[g.rand((2, 2), torch.int32), g.rand((2, 3), torch.float16),
                                           g.rand((2, 1), torch.bool)], 1])
            g.case("cat/promote2", "cat", [[g.rand((1, 2), torch.uint8), g.rand((2, 2), torch.int8)], 0])
            g.case("cat/mismatch", "cat", [[g.rand((2, 2), torch.float32), g.rand((3, 3), torch.float32)], 0])
        if short == "view":
            g.case("view/bad", "view", [g.rand((2, 3), torch.float32), [4, -1]])
        if short == "permute":
            g.case("permute/dup", "permute", [g.rand((2, 3), torch.float32), [0, 0]])
        return
    x = g.rand((2, 3, 4, 5), dt, layout="channels_last")
    y = g.rand((2, 3, 4, 5), dt)
    if short == "view":
        for size in [[6, 20], [-1], [2, -1, 5], [120]]:
            g.case(f"view/{dt}/contig/{size}", "view", [y, size])
            # aten::view refuses a channels-last input; the DDK's view copies
            # (view_copy semantics): values in logical order, as reshape.
            g.raw_case(f"view/{dt}/cl/{size}", "view", [x, size], [x.reshape(size)])
        g.case(f"view/{dt}/0d", "view", [g.rand((), dt), [1, 1]])
    elif short == "permute":
        for dims in [[0, 2, 3, 1], [3, 2, 1, 0], [-1, 0, 1, 2]]:
            g.case(f"permute/{dt}/{dims}", "permute", [x, dims])
    elif short == "clone":
        g.case(f"clone/{dt}", "clone", [x])
        g.case(f"clone/{dt}/cl", "clone", [y], {"memory_format": torch.channels_last})
    else:
        g.case(f"cat/{dt}/dim1", "cat", [[x, y, g.rand((2, 1, 4, 5), dt)], 1])
        g.case(f"cat/{dt}/dim-1", "cat", [[g.rand((3, 2), dt), g.rand((0,), dt), g.rand((3, 0), dt),
                                           g.rand((3, 4), dt, layout=(1, 0))], -1])
