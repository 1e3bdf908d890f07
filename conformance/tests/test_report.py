"""The report writers (ddk_conformance.report, .junit): report.json's
summary, per-op status, tier verdicts and worst cases, junit.xml, and the
command line that merges shards. Expectations are computed here from the
records by the rules the docs state, not read back from the code."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest

import conform_support  # noqa: F401 (puts python/ on sys.path)

REPO = Path(__file__).resolve().parents[2]
if str(REPO / "conformance") not in sys.path:
    sys.path.insert(0, str(REPO / "conformance"))

from ddk_conformance import OUTCOMES, report  # noqa: E402

# Written out here (conformance/README.md), not imported from the code.
FAILING = {"fail", "claimed-but-broken", "crash", "hang", "out-of-bounds-write",
           "input-modified", "leak", "error"}
INT_BOOL = {"int8", "uint8", "int16", "int32", "int64", "bool"}

META = {
    "suite_version": "1.0.0", "op_table_hash": "0x0123456789abcdef", "runner_version": "7",
    "created": "2024-05-01T12:00:00+00:00", "duration_s": 12.5,
    "backend": {"name": "synth", "version": "0.3", "abi": 1, "path": "/opt/libsynth.so",
                "sha256": "5" * 64, "available": True, "device": "npu0", "detail": "test"},
    "profile": "fp16_accum", "options": {"threads": "2"},
    "selection": {"ops": ["aten::*"], "tiers": [], "shard": None, "seed": 3},
    "host": {"machine": "x86_64", "system": "Linux", "python": "3.11"},
}


class Records:
    """Builds case records; op case indexes count up from 0, graph cases'
    from 0 too (the index is unique per kind)."""

    def __init__(self, backend="synth"):
        self.backend = backend
        self.recs = []
        self.next = {"op": 0, "graph": 0}

    def _add(self, kind, **kw):
        r = {"backend": self.backend, "kind": kind, "index": self.next[kind],
             "case": f"{kind}{self.next[kind]}", "op": "", "dtype": "", "tags": [],
             "stage": "", "detail": "", "profile": "default", "time_ms": 2.0}
        for k in report.STATS:
            r[k] = None
        self.next[kind] += 1
        r.update(kw)
        if r["outcome"] not in ("pass", "unsupported") and not r["stage"]:
            r["stage"] = "execute"
            r["detail"] = f"{r['outcome']} in {r['op'] or r['case']}"
        self.recs.append(r)
        return r

    def op(self, op, dtype, outcome, n=1, ulp=None, nmse=None):
        out = []
        for _ in range(n):
            kw = {}
            if ulp is not None:
                kw = {"max_ulp": ulp, "max_abs": ulp * 1e-7, "nmse": nmse if nmse is not None
                      else ulp * 1e-14, "bias": 0.0, "worst_index": 3, "worst_got": 1.5,
                      "worst_want": 1.25}
            out.append(self._add("op", op=op, dtype=dtype, outcome=outcome, **kw))
        return out

    def graph(self, outcome, tags, **kw):
        return self._add("graph", outcome=outcome, tags=list(tags), nodes=6, delegated=4,
                         partitions=2, **kw)


def synthetic(backend="synth") -> list:
    """Every outcome, several ops and dtype groups, graph cases. Core-FP32
    has failures; Core-Int/Bool passes all it claims; Quant-INT8 claims
    nothing; Graph passes."""
    b = Records(backend)
    b.op("aten::add.Tensor", "float32", "pass", 3, ulp=1)
    b.op("aten::add.Tensor", "int32", "pass", 2, ulp=0)
    b.op("aten::add.Tensor", "float16", "fail", 1, ulp=40)
    b.op("aten::add.Tensor", "float16", "pass", 1, ulp=1)
    b.op("aten::relu", "float32", "crash")
    b.op("aten::relu", "float32", "pass", 2, ulp=0)
    b.op("aten::mul.Tensor", "float32", "unsupported", 3)
    b.op("aten::sub.Tensor", "float32", "hang")
    b.op("aten::sub.Tensor", "int64", "pass", 1, ulp=0)
    b.op("aten::convolution", "float32", "out-of-bounds-write")
    b.op("aten::exp", "float64", "input-modified")
    b.op("aten::sigmoid", "bfloat16", "fail", 1, ulp=9)
    b.op("aten::sigmoid", "bfloat16", "leak")
    b.op("aten::tanh", "float16", "claimed-but-broken")
    b.op("aten::abs", "mixed", "error")
    b.op("aten::abs", "int32", "unsupported", 2)
    b.op("aten::abs", "float32", "pass", 1, ulp=2)
    b.op("aten::eq.Tensor", "bool", "pass", 2, ulp=0)
    b.op("quantized_decomposed::quantize_per_tensor", "float32", "unsupported", 2)
    b.graph("pass", ["graph"], max_abs=1e-6, max_ulp=3.0, nmse=1e-13)
    b.graph("pass", ["graph", "model"], max_abs=2e-6, max_ulp=5.0, nmse=2e-13)
    b.graph("unsupported", ["graph", "quant"])
    return b.recs


# ---- expectations, from the rules as documented ------------------------------

def in_tier(tier: str, r) -> bool:
    quant = r["op"].startswith("quantized_decomposed::")
    if r["kind"] == "graph":
        return {"Quant-INT8": "quant", "Graph": "graph"}.get(tier) in r["tags"]
    return {"Core-FP32": r["dtype"] == "float32" and not quant,
            "Core-Int/Bool": r["dtype"] in INT_BOOL and not quant,
            "Quant-INT8": quant, "Graph": False}[tier]


def expect_earned(tier: str, records) -> bool:
    scope = [r for r in records if in_tier(tier, r)]
    claimed = [r for r in scope if r["outcome"] != "unsupported"]
    return bool(claimed) and not any(r["outcome"] in FAILING for r in scope)


def expect_op_status(records) -> dict:
    outs: dict = {}
    for r in records:
        if r["kind"] == "op":
            outs.setdefault(r["op"], []).append(r["outcome"])
    st = {}
    for op, o in outs.items():
        if any(x in FAILING for x in o):
            st[op] = "failed"
        elif all(x == "unsupported" for x in o):
            st[op] = "unsupported"
        else:
            st[op] = "passed"
    return st


def build(records, meta=META):
    return report.build_report(meta, records)


# ---- report.json ---------------------------------------------------------------

def test_synthetic_covers_every_outcome():
    assert {r["outcome"] for r in synthetic()} == set(OUTCOMES)


def test_summary_counts():
    recs = synthetic()
    rep = build(recs)
    sm = rep["summary"]
    want = Counter(r["outcome"] for r in recs)
    assert sm["cases"] == len(recs) == 31
    assert sm["outcomes"] == dict(want)
    assert sum(sm["outcomes"].values()) == len(recs)
    st = expect_op_status(recs)
    assert sm["ops_total"] == len(st) == 11
    assert sm["ops_passed"] == sum(v == "passed" for v in st.values()) == 1  # eq.Tensor
    assert sm["ops_failed"] == sum(v == "failed" for v in st.values()) == 8
    assert sm["ops_unsupported"] == sum(v == "unsupported" for v in st.values()) == 2
    assert sm["ops_claimed"] == sm["ops_total"] - sm["ops_unsupported"]
    assert sm["graph_cases"] == 3 and sm["graph_cases_passed"] == 2
    assert sm["graph_cases_failed"] == 0
    assert sm["failing_cases"] == sum(r["outcome"] in FAILING for r in recs)
    assert sm["verdict"] == "fail"


def test_verdict_pass_without_failing_cases():
    recs = [r for r in synthetic() if r["outcome"] not in FAILING]
    rep = build(recs)
    assert rep["summary"]["verdict"] == "pass"
    assert rep["failures"] == []
    assert rep["summary"]["ops_failed"] == 0


def test_per_op_status_and_groups():
    recs = synthetic()
    rep = build(recs)
    ops = {o["op"]: o for o in rep["ops"]}
    assert {k: v["status"] for k, v in ops.items()} == expect_op_status(recs)
    # known statuses, stated independently of the helper above
    assert ops["aten::eq.Tensor"]["status"] == "passed"
    assert ops["aten::add.Tensor"]["status"] == "failed"
    assert ops["aten::mul.Tensor"]["status"] == "unsupported"
    assert ops["aten::abs"]["status"] == "failed"  # error counts as failing
    g = ops["aten::add.Tensor"]["groups"]
    assert set(g) == {"float32", "int32", "float16"}
    assert g["float16"]["outcomes"] == {"fail": 1, "pass": 1}
    assert g["float16"]["worst_outcome"] == "fail"
    assert g["float16"]["max_ulp"] == 40
    assert g["float32"]["worst_outcome"] == "pass"
    assert g["float32"]["cases"] == 3
    assert ops["aten::relu"]["groups"]["float32"]["worst_outcome"] == "crash"
    assert ops["aten::sigmoid"]["groups"]["bfloat16"]["worst_outcome"] == "leak"
    assert ops["aten::abs"]["groups"]["mixed"]["worst_outcome"] == "error"
    assert ops["aten::abs"]["groups"]["int32"]["worst_outcome"] == "unsupported"
    assert ops["aten::mul.Tensor"]["groups"]["float32"]["max_ulp"] is None
    assert [o["op"] for o in rep["ops"]] == sorted(ops)


def test_worst_outcome_order():
    # most severe first, as docs/conformance_report.md states it
    order = ["crash", "hang", "out-of-bounds-write", "input-modified", "leak",
             "claimed-but-broken", "fail", "error", "pass", "unsupported"]
    for i, worse in enumerate(order):
        for milder in order[i + 1:]:
            b = Records()
            b.op("aten::relu", "float32", milder)
            b.op("aten::relu", "float32", worse)
            g = build(b.recs)["ops"][0]["groups"]["float32"]
            assert g["worst_outcome"] == worse, (worse, milder)


def test_tier_verdicts_follow_the_rule():
    recs = synthetic()
    rep = build(recs)
    tiers = {t["name"]: t for t in rep["tiers"]}
    assert set(tiers) == {"Core-FP32", "Core-Int/Bool", "Quant-INT8", "Graph"}
    for name, t in tiers.items():
        assert t["earned"] == expect_earned(name, recs), name
        scope = [r for r in recs if in_tier(name, r)]
        assert t["cases"] == dict(Counter(r["outcome"] for r in scope)), name
    assert [tiers[n]["earned"] for n in ("Core-FP32", "Core-Int/Bool", "Quant-INT8", "Graph")] \
        == [False, True, False, True]
    assert not tiers["Core-Int/Bool"]["complete"]  # abs int32 unsupported
    assert any("aten::relu" in b and "crash" in b for b in tiers["Core-FP32"]["blockers"])
    assert tiers["Quant-INT8"]["blockers"] == ["the backend claims no case of this tier"]
    assert rep["summary"]["tiers_earned"] == ["Core-Int/Bool", "Graph"]


def test_one_crash_keeps_a_tier_from_being_earned():
    b = Records()
    b.op("aten::add.Tensor", "float32", "pass", 20, ulp=0)
    b.op("aten::relu", "float32", "pass", 20, ulp=0)
    b.op("aten::mul.Tensor", "float32", "unsupported", 5)
    fp32 = {t["name"]: t for t in build(b.recs)["tiers"]}["Core-FP32"]
    assert fp32["earned"] and not fp32["complete"]
    b.op("aten::relu", "float32", "crash")
    fp32 = {t["name"]: t for t in build(b.recs)["tiers"]}["Core-FP32"]
    assert not fp32["earned"]
    assert fp32["blockers"] == ["aten::relu [float32]: 1 crash"]
    assert expect_earned("Core-FP32", b.recs) is False


def test_worst_cases_ordered_by_ulp_then_nmse():
    b = Records()
    # 40 compared cases: ULPs with ties that NMSE breaks, all (ulp, nmse) distinct
    for i in range(40):
        b.op("aten::add.Tensor", "float32", "pass" if i % 5 else "fail", ulp=float(i % 13),
             nmse=1e-15 * (i + 1))
    # unsupported cases and uncompared failures are never "worst"
    for r in b.op("aten::mul.Tensor", "float32", "unsupported", 3):
        r["max_ulp"] = 1e9
    b.op("aten::relu", "float32", "crash", 2)
    rep = build(b.recs)
    compared = [r for r in b.recs if r["outcome"] != "unsupported" and r["max_ulp"] is not None]
    want = sorted(compared, key=lambda r: (r["max_ulp"], r["nmse"]), reverse=True)[:25]
    assert [(w["kind"], w["index"]) for w in rep["worst"]] == \
        [(r["kind"], r["index"]) for r in want]
    assert len(rep["worst"]) == 25
    top = rep["worst"][0]
    assert top["stats"]["max_ulp"] == 12 and top["op"] == "aten::add.Tensor"
    assert set(top) >= {"op", "dtype", "case", "outcome", "stage", "detail", "stats"}


def test_cases_failures_and_meta():
    recs = synthetic()
    shuffled = recs[::-1]
    rep = build(shuffled)
    assert rep["schema"] == "ddk-conformance-report/1"
    for k, v in META.items():
        assert rep[k] == v, k
    keys = [(c["kind"], c["index"]) for c in rep["cases"]]
    assert keys == sorted(keys, key=lambda k: (k[0] != "op", k[1]))
    assert len(rep["cases"]) == len(recs)
    # complete: every key of every record is kept
    by_key = {(c["kind"], c["index"]): c for c in rep["cases"]}
    for r in recs:
        assert {k: by_key[(r["kind"], r["index"])][k] for k in r} == r
    fails = rep["failures"]
    assert sorted((f["kind"], f["index"]) for f in fails) == sorted(
        (r["kind"], r["index"]) for r in recs if r["outcome"] in FAILING)
    crash = next(f for f in fails if f["outcome"] == "crash")
    assert crash["op"] == "aten::relu" and crash["stage"] == "execute"
    assert set(crash["stats"]) == {"max_abs", "max_ulp", "nmse", "bias", "worst_index",
                                   "worst_got", "worst_want"}
    # the report is strict JSON
    json.loads(json.dumps(rep, allow_nan=False))


def test_non_finite_numbers_become_null(tmp_path):
    b = Records()
    r = b.op("aten::add.Tensor", "float32", "fail", ulp=3)[0]
    r["worst_got"] = math.nan
    r["max_ulp"] = math.inf
    rep = report.write_reports(tmp_path, META, b.recs)
    assert rep["cases"][0]["worst_got"] is None and rep["cases"][0]["max_ulp"] is None

    def bad(x):
        raise AssertionError(f"non-JSON constant {x}")
    json.loads((tmp_path / "report.json").read_text(), parse_constant=bad)


@pytest.mark.parametrize("change, words", [
    ({"outcome": "exploded"}, ["outcome", "exploded"]),
    ({"kind": "node"}, ["kind", "node"]),
    ({"index": "7"}, ["index"]),
    ({"op": ""}, ["op"]),
])
def test_malformed_records_are_refused(change, words):
    recs = synthetic()
    recs[4].update(change)
    with pytest.raises(report.ReportError) as e:
        build(recs)
    for w in words:
        assert w in str(e.value)


def test_duplicate_index_is_refused():
    recs = synthetic()
    recs.append(dict(recs[3]))
    with pytest.raises(report.ReportError, match=r"duplicate case \(op, 3\)"):
        build(recs)
    # the same index in different kinds is fine
    recs = synthetic()
    assert any(r["kind"] == "graph" and r["index"] == 0 for r in recs)
    build(recs)


def test_records_round_trip(tmp_path):
    recs = synthetic()
    report.save_records(tmp_path / "r.jsonl", recs)
    assert report.load_records(tmp_path / "r.jsonl") == recs
    (tmp_path / "bad.jsonl").write_text(json.dumps(recs[0]) + "\n\n{oops\n")
    with pytest.raises(report.ReportError, match=r"bad\.jsonl:3"):
        report.load_records(tmp_path / "bad.jsonl")


def test_write_reports_files(tmp_path):
    rep = report.write_reports(tmp_path / "out", META, synthetic())
    for name in ("report.json", "junit.xml", "report.html", "records.jsonl", "meta.json"):
        assert (tmp_path / "out" / name).stat().st_size > 0, name
    assert json.loads((tmp_path / "out" / "report.json").read_text()) == rep


# ---- junit.xml -------------------------------------------------------------------

def parse_junit(path):
    return ET.parse(path).getroot()


def test_junit_counts_and_structure(tmp_path):
    recs = synthetic()
    report.write_reports(tmp_path, META, recs)
    root = parse_junit(tmp_path / "junit.xml")
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert len(suites) == 1
    ts = suites[0]
    cases = ts.findall("testcase")
    n_fail = sum(r["outcome"] in FAILING for r in recs)
    n_skip = sum(r["outcome"] == "unsupported" for r in recs)
    assert ts.get("name") == "synth"
    assert (int(ts.get("tests")), int(ts.get("failures")), int(ts.get("skipped"))) == \
        (len(recs), n_fail, n_skip)
    assert (int(root.get("tests")), int(root.get("failures")), int(root.get("skipped"))) == \
        (len(recs), n_fail, n_skip)
    assert len(cases) == len(recs)
    assert sum(len(c.findall("failure")) for c in cases) == n_fail
    assert sum(len(c.findall("skipped")) for c in cases) == n_skip
    by_name = {(c.get("classname"), c.get("name")): c for c in cases}
    assert len(by_name) == len(recs)
    for r in recs:
        if r["kind"] == "op":
            key = (f"synth.{r['op']}", f"{r['dtype']}/{r['case']}")
        else:
            key = ("synth.graph", r["case"])
        c = by_name[key]
        f = c.find("failure")
        if r["outcome"] in FAILING:
            assert f is not None and f.get("type") == r["outcome"]
            assert r["detail"] in f.get("message") and r["detail"] in f.text
        else:
            assert f is None
        s = c.find("skipped")
        assert (s is not None) == (r["outcome"] == "unsupported")
        if s is not None:
            assert s.get("message") == "unsupported"
    fail = by_name[("synth.aten::add.Tensor", "float16/op5")].find("failure")
    assert "max_ulp 40" in fail.text and "got 1.5 want 1.25" in fail.text


def test_junit_one_suite_per_backend(tmp_path):
    a = synthetic("alpha")
    b = synthetic("beta")
    for r in b:
        r["index"] += 1000
    report.write_reports(tmp_path, META, a + b)
    suites = {s.get("name"): s for s in parse_junit(tmp_path / "junit.xml").findall("testsuite")}
    assert set(suites) == {"alpha", "beta"}
    for name, recs in (("alpha", a), ("beta", b)):
        cs = suites[name].findall("testcase")
        assert len(cs) == len(recs)
        assert all(c.get("classname").startswith(name + ".") for c in cs)


def test_junit_two_backend_graph_case_goes_to_the_backend_under_test(tmp_path):
    recs = synthetic()
    g = next(r for r in recs if r["kind"] == "graph")
    g["backend"] = "reference,synth"
    h = next(r for r in recs if r["kind"] == "graph" and r is not g)
    h["backend"] = "other,third"
    report.write_reports(tmp_path, META, recs)
    suites = {s.get("name"): s for s in parse_junit(tmp_path / "junit.xml").findall("testsuite")}
    assert set(suites) == {"synth", "other"}
    assert [c.get("name") for c in suites["other"].findall("testcase")] == [h["case"]]
    assert int(suites["synth"].get("tests")) == len(recs) - 1
    names = {c.get("name") for c in suites["synth"].findall("testcase")}
    assert g["case"] in names


def test_junit_escapes_everything(tmp_path):
    b = Records()
    nasty = 'a<b>&"q\'\x00\x01\x1b\ud800 ]]> \u00e9\u4e2d \U0001f600 tab\tnl\n'
    r = b.op("aten::add.Tensor", "float32", "fail", ulp=2)[0]
    r["detail"] = nasty
    r["case"] = "case " + nasty
    b.op("aten::relu", "float32", "unsupported")[0]["case"] = "<![CDATA[x]]>"
    report.write_reports(tmp_path, META, b.recs)
    raw = (tmp_path / "junit.xml").read_bytes()
    root = ET.fromstring(raw)  # parses: well-formed
    cases = root.findall("testsuite/testcase")
    assert len(cases) == 2
    f = cases[0].find("failure")
    for piece in ('a<b>&"q\'', "\\u0000\\u0001\\u001b\\ud800", "]]>", "\u00e9\u4e2d \U0001f600",
                  "tab\tnl"):
        assert piece in f.text, piece
        assert piece in f.get("message"), piece
    assert cases[1].get("name") == "float32/<![CDATA[x]]>"


# ---- the command line: shards ------------------------------------------------------

def run_cli(tmp_path, *args):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "conformance"), str(REPO / "python")])
    return subprocess.run([sys.executable, "-m", "ddk_conformance.report", *map(str, args)],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)


def test_cli_merges_shards_like_one_file(tmp_path):
    recs = synthetic()
    meta = tmp_path / "meta.json"
    meta.write_text(json.dumps(META))
    report.save_records(tmp_path / "all.jsonl", recs)
    report.save_records(tmp_path / "s1.jsonl", recs[0::2])
    report.save_records(tmp_path / "s2.jsonl", recs[1::2])
    one = run_cli(tmp_path, "--meta", meta, "--records", tmp_path / "all.jsonl",
                  "--report-dir", tmp_path / "one")
    assert one.returncode == 0, one.stderr
    two = run_cli(tmp_path, "--meta", meta, "--records", tmp_path / "s1.jsonl",
                  "--records", tmp_path / "s2.jsonl", "--report-dir", tmp_path / "two")
    assert two.returncode == 0, two.stderr
    a = json.loads((tmp_path / "one" / "report.json").read_text())
    b = json.loads((tmp_path / "two" / "report.json").read_text())
    assert a == b
    assert a["summary"]["cases"] == len(recs)
    for name in ("junit.xml", "report.html", "records.jsonl"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
    assert "verdict fail" in one.stdout


def test_cli_duplicate_across_shards_names_both(tmp_path):
    recs = synthetic()
    meta = tmp_path / "meta.json"
    meta.write_text(json.dumps(META))
    report.save_records(tmp_path / "s1.jsonl", recs[:10])
    report.save_records(tmp_path / "s2.jsonl", recs[9:])  # recs[9] in both
    r = run_cli(tmp_path, "--meta", meta, "--records", tmp_path / "s1.jsonl",
                "--records", tmp_path / "s2.jsonl", "--report-dir", tmp_path / "out")
    assert r.returncode == 2
    dup = recs[9]
    assert f"duplicate case ({dup['kind']}, {dup['index']})" in r.stderr
    assert "s1.jsonl (record 10)" in r.stderr and "s2.jsonl (record 1)" in r.stderr
    assert not (tmp_path / "out" / "report.json").exists()


def test_cli_bad_input(tmp_path):
    meta = tmp_path / "meta.json"
    meta.write_text("[1, 2]")
    report.save_records(tmp_path / "r.jsonl", synthetic())
    r = run_cli(tmp_path, "--meta", meta, "--records", tmp_path / "r.jsonl",
                "--report-dir", tmp_path / "out")
    assert r.returncode == 2 and "JSON object" in r.stderr
    r = run_cli(tmp_path, "--records", tmp_path / "r.jsonl", "--report-dir", tmp_path / "out")
    assert r.returncode == 2 and "--meta" in r.stderr
