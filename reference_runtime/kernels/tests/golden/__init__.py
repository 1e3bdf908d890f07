"""The golden tier's case library: one cases_<family>.py per op family.

A case function is registered for one or more ops:

    from .core import Gen, FLOATS
    from . import cases

    @cases("aten::abs", "aten::neg")
    def unary_cases(g: Gen, op: str, dtype):
        if dtype is None:      # once per op: mixed dtypes, refusals
            g.case("abs/bool", "abs", [g.rand((3,), torch.bool)])
            return
        x = g.rand((3, 4), dtype, special=True)
        g.case(f"{op}/{dtype}/3x4", op, [x])

The golden tier (tests/test_golden.py) calls it once per dtype the op
table lists for the op (`dtype` a torch.dtype) and once with dtype=None,
each call filling one golden file that golden_test.c checks.
"""

from __future__ import annotations

import importlib
import pkgutil

REGISTRY: dict = {}


def cases(*ops):
    """Registers the decorated function as the case function of `ops`."""
    def deco(fn):
        for op in ops:
            if op in REGISTRY:
                raise ValueError(f"{op}: cases registered twice "
                                 f"({REGISTRY[op].__module__} and {fn.__module__})")
            REGISTRY[op] = fn
        return fn
    return deco


def load_all():
    """Imports every cases_*.py module; returns REGISTRY."""
    for m in pkgutil.iter_modules(__path__):
        if m.name.startswith("cases_"):
            importlib.import_module(f"{__name__}.{m.name}")
    return REGISTRY
