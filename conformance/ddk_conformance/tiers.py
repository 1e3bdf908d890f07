"""Certification tiers over the op table, and the rule that earns each.

A case belongs to a tier by what it is (an op case's op and dtype group,
a graph case's tags). Every tier has the same pass rule, applied to its
own cases:

    earned  <=>  the backend claims at least one case of the tier, and
                 no case of the tier has a failing outcome (fail,
                 claimed-but-broken, crash, hang, out-of-bounds-write,
                 input-modified, leak, error).

"unsupported" is never a failure: a backend earns a tier for what it
claims (a q/dq pattern case counts as claimed when the backend takes the
whole pattern, not just the float op inside it), and the report states its coverage (ops of the tier it claims,
and how many of those pass every case) beside the verdict. A tier earned
with every op of the tier claimed and every case claimed is "complete".

Tiers:
  Core-FP32      every core ATen op that supports float32, its float32 cases
  Core-Int/Bool  every core ATen op with an integer or bool dtype, the cases
                 of those dtypes (int8, uint8, int16, int32, int64, bool)
  Quant-INT8     the quantized_decomposed ops (all their cases) and the
                 graph cases of the q/dq patterns around conv, linear and add
                 (tag "quant")
  Graph          the graph-level cases (chains across partitions, two
                 backends, partial claims, small models; tag "graph")

Op cases of other dtype groups (float64, float16, bfloat16, mixed-dtype
promotion) are run and reported but belong to no tier.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping

from . import is_failing

INT_BOOL_DTYPES = ("int8", "uint8", "int16", "int32", "int64", "bool")
QUANT_PREFIX = "quantized_decomposed::"
# The dtype group of the promotion items (golden "none" items): cases mixing
# dtypes, e.g. int32 + float32.
MIXED = "mixed"


def _ops():
    from ddk.ops_meta import OPS
    return OPS


def is_quant_op(op: str) -> bool:
    return op.startswith(QUANT_PREFIX)


@dataclass(frozen=True)
class Tier:
    name: str
    description: str
    # (op, dtype group) -> member; for op cases
    has_op_case: Callable[[str, str], bool]
    # tags -> member; for graph cases
    has_graph_case: Callable[[Iterable[str]], bool]
    # the ops of the op table in the tier (for coverage)
    ops: Callable[[], list]

    def contains(self, record: Mapping) -> bool:
        if record.get("kind", "op") == "graph":
            return self.has_graph_case(record.get("tags") or ())
        return self.has_op_case(record["op"], record.get("dtype", ""))


def _core_fp32_ops():
    return [o["name"] for o in _ops() if not is_quant_op(o["name"]) and "float32" in o["dtypes"]]


def _core_int_ops():
    return [o["name"] for o in _ops()
            if not is_quant_op(o["name"]) and set(o["dtypes"]) & set(INT_BOOL_DTYPES)]


def _quant_ops():
    return [o["name"] for o in _ops() if is_quant_op(o["name"])]


TIERS = (
    Tier("Core-FP32", "every core ATen op that supports float32, on its float32 cases",
         lambda op, dt: dt == "float32" and not is_quant_op(op),
         lambda tags: False, _core_fp32_ops),
    Tier("Core-Int/Bool", "every core ATen op with integer or bool dtypes, on those cases",
         lambda op, dt: dt in INT_BOOL_DTYPES and not is_quant_op(op),
         lambda tags: False, _core_int_ops),
    Tier("Quant-INT8", "the quantized_decomposed ops, and the q/dq patterns around conv, "
         "linear and add (graph cases tagged 'quant')",
         lambda op, dt: is_quant_op(op),
         lambda tags: "quant" in tags, _quant_ops),
    Tier("Graph", "graph-level cases: chains across partitions, two backends, partial "
         "claims, small models (graph cases tagged 'graph')",
         lambda op, dt: False,
         lambda tags: "graph" in tags, lambda: []),
)

RULE = ("earned when the backend claims at least one case of the tier and no case "
        "of the tier fails (fail, claimed-but-broken, crash, hang, out-of-bounds-write, "
        "input-modified, leak, error); unsupported cases are not failures")


def by_name(name: str) -> Tier:
    """The tier called `name` (case-insensitive; '-', '_', '/' and spaces
    are ignored; a unique prefix will do: "quant"), or ValueError listing
    the tiers."""
    def norm(s):
        return re.sub(r"[-_/ ]", "", s).lower()
    key = norm(name)
    for t in TIERS:
        if norm(t.name) == key:
            return t
    prefixed = [t for t in TIERS if key and norm(t.name).startswith(key)]
    if len(prefixed) == 1:
        return prefixed[0]
    raise ValueError("unknown tier %r; tiers: %s" % (name, ", ".join(t.name for t in TIERS)))


@dataclass
class TierResult:
    name: str
    description: str
    rule: str
    earned: bool
    complete: bool
    cases: dict = field(default_factory=dict)  # outcome -> count
    ops_in_tier: int = 0
    ops_claimed: int = 0
    ops_clean: int = 0  # claimed, and every case of the op in the tier passes
    cases_claimed: int = 0
    blockers: list = field(default_factory=list)  # why not earned, one line each

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _claims_whole_pattern(r: Mapping) -> bool:
    """A q/dq pattern case counts as claimed only when the backend took the
    whole pattern (dequantize, the op, quantize): running just the float op
    inside it is not int8 support. A failure counts either way."""
    if r.get("kind") != "graph" or "quant" not in (r.get("tags") or ()):
        return True
    return r.get("delegated") is None or r.get("delegated") == r.get("nodes")


def evaluate(tier: Tier, records: Iterable[Mapping], max_blockers: int = 50) -> TierResult:
    """Applies the tier's rule to the case records (dicts with kind, op,
    dtype, tags, outcome, case)."""
    scope = [r for r in records if tier.contains(r)]
    counts: dict = {}
    for r in scope:
        counts[r["outcome"]] = counts.get(r["outcome"], 0) + 1
    failing = [r for r in scope if is_failing(r["outcome"])]
    claimed = [r for r in scope if r["outcome"] != "unsupported" and _claims_whole_pattern(r)]
    # coverage counts ops of the op table; graph cases count as cases only
    ops_claimed = {r["op"] for r in claimed if r.get("kind", "op") == "op"}
    ops_failing = {r["op"] for r in failing if r.get("kind", "op") == "op"}
    tier_ops = tier.ops()
    earned = bool(claimed) and not failing
    complete = earned and len(claimed) == len(scope) and (
        not tier_ops or set(tier_ops) <= ops_claimed)
    blockers = []
    if not scope:
        blockers.append("no case of this tier was run (check --ops / --tier / --shard)")
    elif not claimed:
        blockers.append("the backend claims no case of this tier")
    per_group: dict = {}
    for r in failing:
        key = (r["op"] or r["case"], r.get("dtype", ""))
        per_group.setdefault(key, {}).setdefault(r["outcome"], 0)
        per_group[key][r["outcome"]] += 1
    for (op, dt), outs in sorted(per_group.items()):
        if len(blockers) >= max_blockers:
            blockers.append("... and %d more failing op/dtype groups" % (len(per_group) - max_blockers))
            break
        what = ", ".join("%d %s" % (n, o) for o, n in sorted(outs.items()))
        blockers.append("%s%s: %s" % (op, " [%s]" % dt if dt else "", what))
    return TierResult(tier.name, tier.description, RULE, earned, complete, counts,
                      len(tier_ops), len(ops_claimed), len(ops_claimed - ops_failing), len(claimed),
                      blockers)


def evaluate_all(records: Iterable[Mapping]) -> list:
    records = list(records)
    return [evaluate(t, records) for t in TIERS]


def tiers_of(record: Mapping) -> list:
    """Names of the tiers a case belongs to."""
    return [t.name for t in TIERS if t.contains(record)]
