"""Turning ddk_conform's result lines into the suite's case records (the
input of the report writers), the same way on both paths: the pytest
plugin (a case file per group) and a bundle (one case file for the run).
"""

from __future__ import annotations

from . import cases as _cases
from . import tiers as _tiers


def op_record(line: dict, group: "_cases.Group", ordinal_in_group: int) -> dict:
    r = dict(line)
    r["kind"] = "op"
    r["op"] = group.op
    r["dtype"] = group.dtype
    r["index"] = group.number * _cases.GROUP_STRIDE + ordinal_in_group
    r["tiers"] = group.tiers()
    return r


def graph_record(line: dict, gc) -> dict:
    r = dict(line)
    r["kind"] = "graph"
    r["op"] = ""
    r["dtype"] = ""
    r["case"] = gc.name
    r["index"] = gc.number
    r["tags"] = list(gc.tags)
    r["tiers"] = _tiers.tiers_of(r)
    return r
