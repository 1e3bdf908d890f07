"""Which cases a conformance run has, and writing them.

Op cases come from the op table: every op with a portable kernel, for
every dtype the table lists, plus its mixed-dtype group (the golden tier's
"none" item: promotion cases). The cases of a group are the golden tier's
case set for that (op, dtype) (reference_runtime/kernels/tests/golden/
cases_<family>.py, written from each op's `hints` column), generated with
the same per-group seed, so adding an op's row and cases adds them here
with no change to the suite. Cases PyTorch refuses are in the files but
ddk_conform skips them (there is no program to build).

A case is identified across a run by (kind, index): for op cases
index = group number * GROUP_STRIDE + ordinal within the group, where
the group number is the group's position in the op table's order. Both
the pytest path and the bundle path number cases this way, so their
reports agree case by case.
"""

from __future__ import annotations

import fnmatch
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

REPO = Path(__file__).resolve().parents[2]
GOLDEN_DIR = REPO / "reference_runtime" / "kernels" / "tests"
for _p in (GOLDEN_DIR, REPO / "python"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from . import tiers as _tiers  # noqa: E402

GROUP_STRIDE = 10000
MIXED = _tiers.MIXED


@dataclass(frozen=True)
class Group:
    """The cases of one op for one dtype group."""
    number: int  # position in the op table's order (stable for a table)
    op: str
    dtype: str  # a dtype name, or "mixed"

    @property
    def golden_dtype(self) -> str:
        return "none" if self.dtype == MIXED else self.dtype

    @property
    def id(self) -> str:
        return f"{self.op}/{self.dtype}"

    @property
    def file_name(self) -> str:
        return f"{self.number:05d}_{self.op.replace('::', '_')}_{self.dtype}.ddkcases"

    def tiers(self) -> list:
        return _tiers.tiers_of({"kind": "op", "op": self.op, "dtype": self.dtype})


def all_groups() -> list:
    from ddk.ops_meta import OPS
    out = []
    for o in OPS:
        if not o["kernel"]:
            continue
        for dt in list(o["dtypes"]) + [MIXED]:
            out.append(Group(len(out), o["name"], dt))
    return out


def _short(op: str) -> str:
    return op.split("::", 1)[1] if "::" in op else op


def op_matches(op: str, patterns: Sequence[str]) -> bool:
    """`patterns`: shell-style globs, matched against the qualified name
    ("aten::add.Tensor") and the name without its namespace ("add.Tensor").
    A pattern without glob characters also matches every overload
    ("add" matches add.Tensor and add.Scalar). Empty: everything."""
    if not patterns:
        return True
    for pat in patterns:
        for p in pat.split(","):
            p = p.strip()
            if not p:
                continue
            for name in (op, _short(op)):
                if fnmatch.fnmatchcase(name, p):
                    return True
                if not any(c in p for c in "*?[") and name.split(".")[0] == p:
                    return True
    return False


def select(ops: Sequence[str] = (), tier_names: Sequence[str] = ()) -> list:
    """The groups of a run: ops matching `ops`, in any of `tier_names`
    (none given: every group, tiered or not). Unknown tier -> ValueError.
    A pattern matching no op -> ValueError naming it."""
    tiers = [_tiers.by_name(t) for t in tier_names]
    groups = all_groups()
    for pat in ops:
        for p in pat.split(","):
            if p.strip() and not any(op_matches(g.op, [p]) for g in groups):
                raise ValueError(f"--ops {p!r} matches no op with a kernel in the op table")
    out = []
    for g in groups:
        if not op_matches(g.op, ops):
            continue
        if tiers and not any(t.has_op_case(g.op, g.dtype) for t in tiers):
            continue
        out.append(g)
    return out


def shard(items: Sequence, spec: str | None) -> list:
    """Items of shard "i/n" (1-based): every n-th item from the i-th, so
    each shard gets a similar mix of ops."""
    if not spec:
        return list(items)
    i, n = parse_shard(spec)
    return [x for k, x in enumerate(items) if k % n == i - 1]


def parse_shard(spec: str) -> tuple:
    try:
        i, n = (int(x) for x in spec.split("/"))
    except ValueError:
        raise ValueError(f"--shard {spec!r}: expected i/n, e.g. 1/4") from None
    if n < 1 or not 1 <= i <= n:
        raise ValueError(f"--shard {spec!r}: need 1 <= i <= n")
    return i, n


def write_group(group: Group, path: Path, seed: int = 0) -> int:
    """Writes the case file of `group` (atomically). Returns the number of
    cases."""
    import gen_golden
    import torch
    from golden.core import Gen

    torch.set_num_threads(1)
    g = Gen(seed)
    g.g.manual_seed(gen_golden.item_seed(seed, group.op, group.golden_dtype))
    gen_golden.fill(g, group.op, group.golden_dtype)
    n = len(g.cases)
    if n >= GROUP_STRIDE:
        raise RuntimeError(f"{group.id}: {n} cases, more than GROUP_STRIDE")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    g.write(tmp)
    os.replace(tmp, path)
    return n


def write_groups(groups: Iterable[Group], path: Path, seed: int = 0) -> list:
    """Writes the cases of several groups into one case file (a bundle's).
    Returns the index rows: (ordinal in the file, group, ordinal in group,
    case name, refused)."""
    import gen_golden
    import torch
    from golden.core import CASE_REFUSED, Gen

    torch.set_num_threads(1)
    g = Gen(seed)
    rows = []
    for grp in groups:
        start = len(g.cases)
        g.g.manual_seed(gen_golden.item_seed(seed, grp.op, grp.golden_dtype))
        gen_golden.fill(g, grp.op, grp.golden_dtype)
        for k, c in enumerate(g.cases[start:]):
            rows.append((start + k, grp, k, _case_name(c), bool(_case_flags(c) & CASE_REFUSED)))
    path.parent.mkdir(parents=True, exist_ok=True)
    g.write(str(path))
    return rows


def _case_header(c: bytes) -> tuple:
    """(name, op, flags) of one serialised case (golden/core.py: pstr name,
    pstr op, u32 flags, ...)."""
    import struct
    n = struct.unpack_from("<I", c, 0)[0]
    name = c[4:4 + n].decode()
    m = struct.unpack_from("<I", c, 4 + n)[0]
    op = c[8 + n:8 + n + m].decode()
    flags = struct.unpack_from("<I", c, 8 + n + m)[0]
    return name, op, flags


def _case_name(c: bytes) -> str:
    return _case_header(c)[0]


def _case_flags(c: bytes) -> int:
    return _case_header(c)[2]
