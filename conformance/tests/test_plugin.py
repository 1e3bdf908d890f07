"""The suite as a user runs it: `pytest conformance/suite --backend ...`
(the ddk_conformance pytest plugin), end to end — cases from the op
table, outcomes, reports, shards, xdist, several backends, and the
no-Python path (bundle -> ddk_conform --bundle -> host report) giving the
same report as the pytest path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conform_support import REPO, build_dirs, find_built  # noqa: F401

sys.path.insert(0, str(REPO / "conformance"))

# template claims fp32 same-shape relu / add (alpha 1) / sigmoid; not exp
OPS = "aten::relu,aten::add.Tensor,aten::exp,aten::sigmoid"


def build_dir() -> Path:
    for d in build_dirs():
        if (d / "conformance" / "runner" / "ddk_conform").exists():
            return d
    pytest.fail("ddk_conform is not built")


def run_suite(tmp_path: Path, *args, jobs: int = 0, name: str = "reports"):
    rd = tmp_path / name
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(REPO),
           "-c", str(REPO / "pytest.ini"), str(REPO / "conformance" / "suite"),
           "--report-dir", str(rd), "--timeout-ms", "3000", *args]
    if jobs:
        cmd += ["-n", str(jobs)]
    env = dict(os.environ, DDK_BUILD_DIR=str(build_dir()))
    env.pop("PYTEST_XDIST_WORKER", None)
    r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env=env, timeout=900)
    return r, rd


def plugin_path(rel: str) -> str:
    return str(build_dir() / rel)


def template() -> str:
    return plugin_path("sample_delegates/libddk_backend_template.so")


def broken(name: str) -> str:
    return plugin_path(f"broken_backends/libddk_backend_broken_{name}.so")


def load(rd: Path, backend: str) -> dict:
    return json.loads((rd / backend / "report.json").read_text())


def by_key(rep: dict) -> dict:
    return {(c["kind"], c["index"]): c for c in rep["cases"]}


@pytest.fixture(scope="module")
def template_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("template")
    r, rd = run_suite(tmp, "--backend", template(), "--ops", OPS)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    return r, rd, load(rd, "template")


def test_template_certifies_what_it_claims(template_run):
    r, rd, rep = template_run
    cases = rep["cases"]
    outcomes = {c["outcome"] for c in cases}
    assert outcomes <= {"pass", "unsupported"}
    claimed = {c["op"] for c in cases if c["outcome"] == "pass"}
    assert {"aten::relu", "aten::add.Tensor", "aten::sigmoid"} <= claimed
    assert "aten::exp" not in claimed  # the template does not claim exp
    # every claimed case is float32 (the template's only dtype)
    assert {c["dtype"] for c in cases if c["outcome"] == "pass"} == {"float32"}
    assert rep["summary"]["verdict"] == "pass"
    tiers = {t["name"]: t for t in rep["tiers"]}
    assert tiers["Core-FP32"]["earned"] and not tiers["Core-FP32"]["complete"]
    assert not tiers["Core-Int/Bool"]["earned"]
    assert "claims no case" in tiers["Core-Int/Bool"]["blockers"][0]
    for f in ("report.json", "junit.xml", "report.html", "records.jsonl", "meta.json"):
        assert (rd / "template" / f).exists(), f
    assert rep["backend"]["name"] == "template" and rep["backend"]["abi"]
    with open(template(), "rb") as f:
        import hashlib
        assert rep["backend"]["sha256"] == hashlib.sha256(f.read()).hexdigest()
    # progress letters and the summary
    assert "DDK conformance" in r.stdout and "tier Core-FP32" in r.stdout
    assert "report.html" in r.stdout


def test_cases_come_from_the_op_table(template_run):
    """Every (op, dtype) group of the selected ops is run: the dtypes of the
    op table plus the mixed group."""
    from ddk.ops_meta import OP_BY_NAME
    _, _, rep = template_run
    groups = {(c["op"], c["dtype"]) for c in rep["cases"]}
    for op in OPS.split(","):
        want = set(OP_BY_NAME[op]["dtypes"]) | {"mixed"}
        have = {dt for o, dt in groups if o == op}
        # a group may have only refused cases (nothing to run), never more
        assert have <= want and len(have) >= len(want) - 1, (op, want - have)


@pytest.fixture(scope="module")
def graph_run(tmp_path_factory):
    """The graph cases of tier Graph (a run with --ops has no graph cases)."""
    tmp = tmp_path_factory.mktemp("graphs")
    r, rd = run_suite(tmp, "--backend", template(), "--tier", "Graph")
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    return load(rd, "template")


def test_a_broken_backend_fails_with_the_outcome_named(tmp_path):
    r, rd = run_suite(tmp_path, "--backend", broken("alpha"), "--ops", "aten::add.Tensor",
                      "--no-graphs")
    assert r.returncode == 1, r.stdout[-3000:]
    rep = load(rd, "broken_alpha")
    fails = [c for c in rep["cases"] if c["outcome"] == "fail"]
    assert fails and all(c["op"] == "aten::add.Tensor" for c in fails)
    assert any(c["worst_index"] is not None and c["worst_index"] >= 0 for c in fails)
    core = {t["name"]: t for t in rep["tiers"]}["Core-FP32"]
    assert not core["earned"] and any("aten::add.Tensor" in b for b in core["blockers"])
    assert rep["summary"]["verdict"] == "fail"


def test_several_backends_in_one_run_each_get_a_report(tmp_path):
    r, rd = run_suite(tmp_path, "--backend", broken("write_past"), "--backend",
                      broken("modify_input"), "--ops", "aten::relu", "--no-graphs", jobs=2)
    assert r.returncode == 1
    wp, mi = load(rd, "broken_write_past"), load(rd, "broken_modify_input")
    assert "out-of-bounds-write" in wp["summary"]["outcomes"]
    assert "input-modified" in mi["summary"]["outcomes"]
    assert "out-of-bounds-write" not in mi["summary"]["outcomes"]


def test_shards_partition_the_run(tmp_path, template_run):
    _, _, whole = template_run
    parts = []
    for i in (1, 2):
        r, rd = run_suite(tmp_path, "--backend", template(), "--ops", OPS, "--shard", f"{i}/2",
                          name=f"shard{i}")
        assert r.returncode == 0, r.stdout[-2000:]
        parts.append(by_key(load(rd, "template")))
    assert parts[0] and parts[1] and not set(parts[0]) & set(parts[1])
    merged = {**parts[0], **parts[1]}
    full = by_key(whole)
    assert set(merged) == set(full)
    assert all(merged[k]["outcome"] == full[k]["outcome"] for k in full)


def test_xdist_gives_the_same_records(tmp_path, template_run):
    _, _, whole = template_run
    r, rd = run_suite(tmp_path, "--backend", template(), "--ops", OPS, jobs=2)
    assert r.returncode == 0, r.stdout[-2000:]
    par = by_key(load(rd, "template"))
    full = by_key(whole)
    assert set(par) == set(full)
    assert {k: v["outcome"] for k, v in par.items()} == {k: v["outcome"] for k, v in full.items()}


def test_graph_cases_cross_partitions(graph_run):
    graphs = {c["case"]: c for c in graph_run["cases"]}
    assert {c["kind"] for c in graph_run["cases"]} == {"graph"}
    from ddk_conformance.graphs import CASES
    assert set(graphs) == {gc.name for gc in CASES if "graph" in gc.tags}
    chain = graphs["chain_across_partitions"]
    # relu | exp (portable) | sigmoid, tanh: two delegates around a portable node
    assert chain["outcome"] == "pass" and chain["partitions"] == 2 and chain["delegated"] == 3
    assert graphs["two_backends"]["outcome"] == "pass"
    assert "," in graphs["two_backends"]["backend"]  # both backends took nodes
    for m in ("mlp", "cnn", "attention"):
        assert graphs[m]["outcome"] == "pass" and graphs[m]["delegated"] > 0
    tiers = {t["name"]: t for t in graph_run["tiers"]}
    assert tiers["Graph"]["earned"]


def test_bad_selections_are_usage_errors(tmp_path):
    r, _ = run_suite(tmp_path, "--backend", template(), "--ops", "aten::no_such_op")
    assert r.returncode == 4 and "matches no op" in r.stdout + r.stderr
    r, _ = run_suite(tmp_path, "--backend", template(), "--tier", "gold")
    assert r.returncode == 4 and "unknown tier" in r.stdout + r.stderr
    r, _ = run_suite(tmp_path, "--backend", template(), "--shard", "3/2")
    assert r.returncode == 4 and "--shard" in r.stdout + r.stderr


def test_bundle_path_gives_the_same_report(tmp_path, template_run, graph_run):
    """The no-Python path: write a bundle, run it with the C runner alone,
    turn its results into a report on the host: same cases, same
    outcomes as the pytest path."""
    _, _, whole = template_run
    bundle = tmp_path / "bundle"
    r, _ = run_suite(tmp_path, "--write-bundle", str(bundle), "--ops", OPS)
    assert r.returncode == 0, r.stdout[-3000:]
    # graph cases are part of a bundle only when --ops is not given: add them
    env = dict(os.environ, PYTHONPATH=f"{REPO / 'conformance'}:{REPO / 'python'}",
               DDK_BACKEND_PATH=str(build_dir() / "conformance" / "backends"))
    full_bundle = tmp_path / "bundle_graphs"
    w = subprocess.run([sys.executable, "-m", "ddk_conformance.bundle", "write", "--out",
                        str(full_bundle), "--tier", "Graph"], capture_output=True, text=True,
                       env=env, cwd=REPO)
    assert w.returncode == 0, w.stderr
    runner = build_dir() / "conformance" / "runner" / "ddk_conform"
    for b in (bundle, full_bundle):
        res, info = tmp_path / f"{b.name}.jsonl", tmp_path / f"{b.name}.info.json"
        x = subprocess.run([str(runner), "--bundle", str(b), "--backend", template(), "--results",
                            str(res), "--info-json", str(info), "--timeout-ms", "3000"],
                           capture_output=True, text=True, env=env, timeout=600)
        assert x.returncode == 0, x.stderr
        rep_dir = tmp_path / f"{b.name}_report"
        y = subprocess.run([sys.executable, "-m", "ddk_conformance.bundle", "report", "--bundle",
                            str(b), "--results", str(res), "--info", str(info), "--report-dir",
                            str(rep_dir)], capture_output=True, text=True, env=env, cwd=REPO)
        assert y.returncode == 0, y.stderr
        assert "tier Core-FP32" in y.stdout
        got = by_key(json.loads((rep_dir / "report.json").read_text()))
        want = by_key(whole) if b is bundle else by_key(graph_run)
        want = {k: v for k, v in want.items() if k[0] == ("op" if b is bundle else "graph")}
        assert set(got) == set(want)
        for k in want:
            assert got[k]["outcome"] == want[k]["outcome"], k
            assert (got[k]["op"], got[k]["dtype"], got[k]["case"]) == \
                (want[k]["op"], want[k]["dtype"], want[k]["case"])
    # the manifest lists every file with its hash, and the runner refuses a tampered bundle
    man = json.loads((bundle / "manifest.json").read_text())
    assert "cases.ddkcases" in man["files"] and man["tolerances"]["aten::exp"]["class"]
    data = bytearray((bundle / "cases.ddkcases").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (bundle / "cases.ddkcases").write_bytes(bytes(data))
    x = subprocess.run([str(runner), "--bundle", str(bundle), "--backend", template()],
                       capture_output=True, text=True, env=env, timeout=600)
    assert x.returncode == 2 and "cases.ddkcases" in x.stderr
