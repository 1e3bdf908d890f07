"""Tier membership and the pass rule (ddk_conformance/tiers.py), on
synthetic records whose verdicts follow from the rule as stated."""

from __future__ import annotations

import sys

import pytest

from conform_support import REPO

sys.path.insert(0, str(REPO / "conformance"))

from ddk_conformance import tiers  # noqa: E402


def op(o, dt, outcome):
    return {"kind": "op", "op": o, "dtype": dt, "case": f"{o}/{dt}", "outcome": outcome}


def q_graph(outcome, delegated, nodes=4):
    return {"kind": "graph", "op": "", "dtype": "", "case": "q_conv", "tags": ["quant"],
            "outcome": outcome, "delegated": delegated, "nodes": nodes}


def verdict(name, records):
    return tiers.evaluate(tiers.by_name(name), records)


def test_membership_follows_the_op_table():
    from ddk.ops_meta import OPS
    fp32 = tiers.by_name("Core-FP32")
    for o in OPS:
        if o["name"].startswith("quantized_decomposed::"):
            assert not fp32.has_op_case(o["name"], "float32")
            assert tiers.by_name("quant").has_op_case(o["name"], "uint8")
        elif "float32" in o["dtypes"]:
            assert o["name"] in fp32.ops()
    assert not fp32.has_op_case("aten::add.Tensor", "float64")
    assert tiers.by_name("core int bool").has_op_case("aten::add.Tensor", "bool")
    with pytest.raises(ValueError, match="unknown tier"):
        tiers.by_name("gold")


def test_rule_needs_a_claim_and_no_failure():
    assert not verdict("Core-FP32", [op("aten::relu", "float32", "unsupported")]).earned
    r = verdict("Core-FP32", [op("aten::relu", "float32", "pass"),
                              op("aten::exp", "float32", "unsupported")])
    assert r.earned and not r.complete and r.ops_claimed == 1
    r = verdict("Core-FP32", [op("aten::relu", "float32", "pass"),
                              op("aten::relu", "float32", "leak")])
    assert not r.earned and r.ops_clean == 0 and "aten::relu [float32]: 1 leak" in r.blockers
    # a failure in another tier's cases does not count here
    assert verdict("Core-FP32", [op("aten::relu", "float32", "pass"),
                                 op("aten::relu", "int32", "crash")]).earned


def test_a_quant_pattern_counts_only_when_taken_whole():
    assert not verdict("Quant-INT8", [q_graph("pass", delegated=1)]).earned
    r = verdict("Quant-INT8", [q_graph("pass", delegated=4)])
    assert r.earned and r.cases_claimed == 1 and r.ops_claimed == 0
    # a failure counts however much of the pattern the backend took
    r = verdict("Quant-INT8", [q_graph("pass", delegated=4), q_graph("fail", delegated=1)])
    assert not r.earned and any("q_conv" in b for b in r.blockers)
