"""ddk_conform, the suite's engine: runs a case file against a backend in
isolated processes and reports one outcome per case."""

from __future__ import annotations

import json
import os
import re
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from conform_support import broken_plugin, REPO, build_dirs, find_built
from conform_support import runner, template_plugin, write_cases  # noqa: F401 (fixtures)

OPS = ["aten::relu", "aten::add.Tensor", "aten::mul.Tensor", "aten::sigmoid", "aten::tanh",
       "aten::sub.Tensor", "aten::exp"]


def run(runner, cases, backend, *extra, timeout=300):
    r = subprocess.run([str(runner), "--cases", str(cases), "--backend", str(backend), *extra],
                       capture_output=True, text=True, timeout=timeout)
    rows = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
    return r, rows


def test_template_passes_what_it_claims(runner, template_plugin, tmp_path):
    cases = write_cases(tmp_path / "c.bin", OPS)
    r, rows = run(runner, cases, template_plugin)
    assert r.returncode == 0, r.stderr + r.stdout[-3000:]
    outcomes = {row["outcome"] for row in rows}
    assert outcomes <= {"pass", "unsupported"}, [x for x in rows if x["outcome"] not in
                                                 ("pass", "unsupported")][:3]
    passed = [x for x in rows if x["outcome"] == "pass"]
    # the template claims fp32 same-shape relu/add/mul/sub/sigmoid/tanh, not exp
    assert {x["op"] for x in passed} == {"aten::relu", "aten::add.Tensor", "aten::mul.Tensor",
                                         "aten::sigmoid", "aten::tanh", "aten::sub.Tensor"}
    assert all(x["op"] != "aten::exp" for x in passed)
    for x in passed:
        for key in ("max_abs", "max_ulp", "nmse", "bias", "worst_index", "time_ms"):
            assert key in x, key
    assert "pass" in r.stderr and "unsupported" in r.stderr


def test_ops_filter_and_refusals_skipped(runner, template_plugin, tmp_path):
    cases = write_cases(tmp_path / "c.bin", ["aten::relu", "aten::add.Tensor"], ("float32", "none"))
    _, rows = run(runner, cases, template_plugin, "--ops", "aten::relu")
    assert rows and {x["op"] for x in rows} == {"aten::relu"}


def test_bad_usage_and_bad_files(runner, template_plugin, tmp_path):
    r, _ = run(runner, tmp_path / "missing.bin", template_plugin)
    assert r.returncode == 2 and "cannot open" in r.stderr
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"not a case file")
    r, _ = run(runner, bad, template_plugin)
    assert r.returncode == 2 and "not a case file" in r.stderr
    r = subprocess.run([str(runner), "--cases"], capture_output=True, text=True)
    assert r.returncode == 2 and "usage" in r.stderr


def test_unknown_backend_is_an_error_per_case(runner, tmp_path):
    cases = write_cases(tmp_path / "c.bin", ["aten::relu"])
    r, rows = run(runner, cases, tmp_path / "libnope.so")
    assert r.returncode == 1
    assert rows and all(x["outcome"] == "error" and x["stage"] == "load" for x in rows)


# ---------------------------------------------------------------------------
# Several backends, options, accuracy profiles, result fields, progress
# ---------------------------------------------------------------------------


broken = broken_plugin


def tf32_plugin() -> str:
    p = find_built("conformance/runner/testdata/libddk_backend_test_tf32_exp.so")
    if p is None:
        pytest.fail("the tf32 test backend is not built (conformance/runner/CMakeLists.txt)")
    return str(p)


def conform(runner, *args, timeout=300):
    """ddk_conform with raw arguments: (completed process, parsed result lines)."""
    r = subprocess.run([str(runner), *map(str, args)], capture_output=True, text=True,
                       timeout=timeout)
    rows = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
    return r, rows


def case_ordinals(ops, dtypes=("float32",), seed=0):
    """(name, op, refused) of every case of write_cases(ops, dtypes, seed), in
    file order: read from the generator's own bytes, not from the runner."""
    import gen_golden
    from golden.core import CASE_REFUSED, Gen
    g = Gen(seed)
    for op in ops:
        for dt in dtypes:
            g.g.manual_seed(gen_golden.item_seed(seed, op, dt))
            gen_golden.fill(g, op, dt)
    out = []
    for b in g.cases:
        n = struct.unpack_from("<I", b, 0)[0]
        name = b[4:4 + n].decode()
        m = struct.unpack_from("<I", b, 4 + n)[0]
        op = b[8 + n:8 + n + m].decode()
        flags = struct.unpack_from("<I", b, 8 + n + m)[0]
        out.append((name, op, bool(flags & CASE_REFUSED)))
    return out


def test_result_lines_name_kind_index_backend_and_profile(runner, template_plugin, tmp_path):
    ops, dtypes = ["aten::relu", "aten::add.Tensor"], ("float32", "none")
    cases = write_cases(tmp_path / "c.bin", ops, dtypes)
    want = case_ordinals(ops, dtypes)
    r, rows = run(runner, cases, template_plugin)
    assert r.returncode == 0, r.stderr
    # one line per case PyTorch accepts; "index" is the case's ordinal in the file
    assert [x["index"] for x in rows] == [i for i, w in enumerate(want) if not w[2]]
    for x in rows:
        name, op, _ = want[x["index"]]
        assert (x["case"], x["op"], x["kind"]) == (name, op, "op")
        assert x["backend"] == "template" and x["profile"] == "default"
    assert any(x["outcome"] == "unsupported" for x in rows)  # backend named there too
    # with a filter the survivors keep their ordinals
    _, some = run(runner, cases, template_plugin, "--ops", "aten::add")
    assert some and {x["op"] for x in some} == {"aten::add.Tensor"}
    assert all(want[x["index"]][0] == x["case"] for x in some)


@pytest.mark.parametrize("order", ["broken_first", "template_first"])
def test_backends_repeat_in_priority_order(runner, template_plugin, tmp_path, order):
    cases = write_cases(tmp_path / "c.bin", ["aten::relu"])
    wp = broken("write_past")
    first, second = (wp, template_plugin) if order == "broken_first" else (template_plugin, wp)
    r, rows = conform(runner, "--cases", cases, "--backend", first, "--backend", second)
    claimed = [x for x in rows if x["outcome"] != "unsupported"]
    assert claimed
    if order == "broken_first":
        # the broken backend is offered relu first, takes it and writes past the end
        assert r.returncode == 1
        assert {x["outcome"] for x in claimed} <= {"out-of-bounds-write", "pass"}
        assert "out-of-bounds-write" in {x["outcome"] for x in claimed}
        assert {x["backend"] for x in claimed} == {"broken_write_past"}
    else:
        assert r.returncode == 0, r.stderr
        assert {x["outcome"] for x in claimed} == {"pass"}
        assert {x["backend"] for x in claimed} == {"template"}
    # nothing delegated: the first backend is named
    for x in rows:
        if x["outcome"] == "unsupported":
            assert x["backend"] == ("broken_write_past" if order == "broken_first" else "template")


def test_options_are_typed_in_the_info_json(runner, template_plugin, tmp_path):
    info = tmp_path / "info.json"
    r, rows = conform(runner, "--backend", template_plugin, "--info-json", info,
                      "--option", "n=42", "--option", "neg=-7", "--option", "x=2.5",
                      "--option", "whole=3.0", "--option", "e=1e3", "--option", "on=true",
                      "--option", "off=false", "--option", "s=hello", "--option", "empty=",
                      "--option", "nan=nan", "--option", "mixed=12ab")
    assert r.returncode == 0, r.stderr
    assert rows == []  # no cases: the info only
    doc = json.loads(info.read_text())
    opts = doc["options"]
    assert opts == {"n": 42, "neg": -7, "x": 2.5, "whole": 3.0, "e": 1000.0, "on": True,
                    "off": False, "s": "hello", "empty": "", "nan": "nan", "mixed": "12ab"}
    assert type(opts["n"]) is int and type(opts["whole"]) is float
    assert type(opts["on"]) is bool and type(opts["nan"]) is str
    from ddk.ops_meta import OP_TABLE_HASH
    assert doc["op_table_hash"] == "0x%016x" % OP_TABLE_HASH
    version = re.search(r"project\(ddk VERSION ([0-9.]+)", (REPO / "CMakeLists.txt").read_text())
    assert doc["runner_version"] == version.group(1)
    assert doc["profile"] == "default" and doc["profile_source"] == "default"
    (be,) = doc["backends"]
    assert be["loaded"] and be["name"] == "template" and be["version"] == "1.0.0"
    header = (REPO / "delegate_api/include/ddk/delegate_api.h").read_text()
    abi = "%s.%s" % (re.search(r"DDK_ABI_VERSION_MAJOR (\d+)u", header).group(1),
                     re.search(r"DDK_ABI_VERSION_MINOR (\d+)u", header).group(1))
    assert be["abi"] == abi and be["available"] is True
    assert Path(be["path"]).resolve() == Path(template_plugin).resolve()
    assert be["device"] and "relu" in be["detail"]


def test_info_json_lists_every_backend_even_one_that_does_not_load(runner, template_plugin,
                                                                   tmp_path):
    info = tmp_path / "info.json"
    r, _ = conform(runner, "--backend", broken("leak"), "--backend", template_plugin,
                   "--backend", tmp_path / "libnope.so", "--info-json", info)
    assert r.returncode == 0, r.stderr
    bes = json.loads(info.read_text())["backends"]
    assert [b["name"] for b in bes] == ["broken_leak", "template", None]
    assert [b["loaded"] for b in bes] == [True, True, False]
    assert "libnope.so" in bes[2]["error"]


@pytest.mark.parametrize("where,stage", [("partition", "partition"), ("preprocess", "preprocess"),
                                         ("init", "init"), ("execute", "execute")])
def test_options_reach_lowering_and_the_method(runner, template_plugin, tmp_path, where, stage):
    """The template backend fails on purpose where "template.fail_at" says:
    the option must reach partition and preprocess (lowering) and init and
    execute (the method)."""
    cases = write_cases(tmp_path / "c.bin", ["aten::relu"])
    r, rows = conform(runner, "--cases", cases, "--backend", template_plugin,
                      "--option", f"template.fail_at={where}")
    assert r.returncode == 1
    broken_rows = [x for x in rows if x["outcome"] == "claimed-but-broken"]
    assert broken_rows and {x["stage"] for x in broken_rows} == {stage}
    assert all("injected failure in " + where in x["detail"] for x in broken_rows)


@pytest.mark.parametrize("args,why", [
    (["--option", "novalue"], "KEY=VALUE"),
    (["--option", "=3"], "KEY=VALUE"),
    (["--option", "guard_bytes=8"], "--guard-bytes"),
    (["--option", "a=1", "--option", "a=2"], "twice"),
    (["--profile", "fp8"], "--profile"),
    (["--option", "accuracy_profile=fp8"], "accuracy_profile"),
    (["--option", "accuracy_profile=1"], "accuracy_profile"),
    (["--timeout-ms", "12x"], "--timeout-ms"),
])
def test_bad_options_are_usage_errors(runner, template_plugin, tmp_path, args, why):
    cases = write_cases(tmp_path / "c.bin", ["aten::relu"])
    r, rows = conform(runner, "--cases", cases, "--backend", template_plugin, *args)
    assert r.returncode == 2 and why in r.stderr and "usage" in r.stderr
    assert rows == []


# the tf32 backend: exp rounded to 10 fraction bits, declares accuracy_profile=tf32
@pytest.mark.parametrize("args,profile,source,passes", [
    ([], "tf32", "backend", True),
    (["--profile", "default"], "default", "flag", False),
    (["--option", "accuracy_profile=default"], "default", "option", False),
    (["--option", "accuracy_profile=bf16_accum"], "bf16_accum", "option", True),
    (["--profile", "fp16_accum"], "fp16_accum", "flag", True),
    (["--profile", "tf32", "--option", "accuracy_profile=default"], "tf32", "flag", True),
])
def test_accuracy_profile_selection(runner, tmp_path, args, profile, source, passes):
    cases = write_cases(tmp_path / "c.bin", ["aten::exp"])
    info = tmp_path / "info.json"
    r, rows = conform(runner, "--cases", cases, "--backend", tf32_plugin(), "--info-json", info,
                      *args)
    doc = json.loads(info.read_text())
    assert (doc["profile"], doc["profile_source"]) == (profile, source)
    assert {x["profile"] for x in rows} == {profile}
    claimed = [x for x in rows if x["outcome"] != "unsupported"]
    assert len(claimed) >= 4
    # the backend really is off by more than float32's bound on most cases
    assert max(x["max_ulp"] for x in claimed) > 1000
    if passes:
        assert r.returncode == 0, [x["detail"] for x in claimed if x["outcome"] != "pass"]
        assert {x["outcome"] for x in claimed} == {"pass"}
    else:
        assert r.returncode == 1
        fails = [x for x in claimed if x["outcome"] == "fail"]
        assert fails and all(x["max_ulp"] > 1 for x in fails)


def test_progress_goes_to_stderr_and_results_stay_jsonl(runner, template_plugin, tmp_path):
    cases = write_cases(tmp_path / "c.bin", ["aten::relu", "aten::exp"])
    total = len(case_ordinals(["aten::relu", "aten::exp"]))
    r, _ = conform(runner, "--cases", cases, "--backend", broken("write_past"), "--progress")
    for line in r.stdout.splitlines():
        json.loads(line)  # nothing but result lines on stdout
    prog = re.findall(r"^ddk_conform: (\d+)/(\d+) cases, (\d+) failing$", r.stderr, re.M)
    assert prog, r.stderr
    done, tot, failing = map(int, prog[-1])
    rows = [json.loads(l) for l in r.stdout.splitlines()]
    assert done == tot == total
    assert failing == sum(x["outcome"] not in ("pass", "unsupported") for x in rows) > 0
    # the counts line stays last
    assert r.stderr.splitlines()[-1].startswith("pass ")
    # --results: the file holds the lines, stdout nothing
    out = tmp_path / "r.jsonl"
    r2, rows2 = conform(runner, "--cases", cases, "--backend", template_plugin, "--results", out)
    assert rows2 == [] and len(out.read_text().splitlines()) == len(rows)


# ---------------------------------------------------------------------------
# Graph cases
# ---------------------------------------------------------------------------


def write_graph(folder: Path, name: str, build, inputs, rtol=1e-5, atol=1e-6, tags="graph",
                extra_cols: dict | None = None, tsv: Path | None = None) -> Path:
    """Writes <folder>/<name>.ddk (built by build(program)), its inputs as
    .npy and a row in <folder>/graphs.tsv (appended)."""
    from ddk.program import Program
    folder.mkdir(parents=True, exist_ok=True)
    p = Program()
    build(p)
    p.save(folder / f"{name}.ddk")
    names = []
    for k, a in enumerate(inputs):
        np.save(folder / f"{name}_in{k}.npy", a)
        names.append(f"{name}_in{k}.npy")
    tsv = tsv or folder / "graphs.tsv"
    cols = ["name", "program", "inputs", "rtol", "atol", "tags"] + list(extra_cols or {})
    if not tsv.exists():
        tsv.write_text("\t".join(cols) + "\n")
    row = [name, f"{name}.ddk", ",".join(names), repr(rtol), repr(atol), tags]
    row += list((extra_cols or {}).values())
    with open(tsv, "a") as f:
        f.write("\t".join(row) + "\n")
    return tsv


def chain(ops, shape=(4, 8)):
    def build(p):
        v = p.add_input("float32", list(shape), name="x")
        for k, op in enumerate(ops):
            o = p.add_value("float32", list(shape), name=f"v{k}")
            p.add_node(op, [v], outputs=[o], name=f"n{k}")
            v = o
        p.add_output(v)
    return build


def rand(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def test_graph_case_crosses_partitions_and_passes(runner, template_plugin, tmp_path):
    tsv = write_graph(tmp_path, "chain", chain(["aten::relu", "aten::exp", "aten::relu"]),
                      [rand((4, 8))], tags="graph,chain")
    write_graph(tmp_path, "only_exp", chain(["aten::exp"]), [rand((4, 8), 1)])
    r, rows = conform(runner, "--graphs", tsv, "--backend", template_plugin)
    assert r.returncode == 0, r.stderr + r.stdout
    a, b = rows
    assert (a["kind"], a["index"], a["case"], a["op"], a["tags"]) == \
        ("graph", 0, "chain", "", "graph,chain")
    # relu | exp (portable) | relu: two template partitions around exp
    assert (a["outcome"], a["nodes"], a["delegated"], a["partitions"]) == ("pass", 3, 2, 2)
    assert a["backend"] == "template" and a["profile"] == "default"
    assert a["max_abs"] == 0 and a["nmse"] == 0 and a["bias"] == 0
    assert (b["index"], b["outcome"], b["delegated"], b["partitions"]) == (1, "unsupported", 0, 0)
    assert b["backend"] == "template"


@pytest.mark.parametrize("bug,shape,outcome", [
    ("write_past", (4, 8), "out-of-bounds-write"),
    ("modify_input", (4, 8), "input-modified"),
    ("leak", (4, 8), "leak"),
    ("hang", (5,), "hang"),
    ("zero_size", (0, 3), "crash"),
])
def test_graph_case_catches_a_broken_backend(runner, tmp_path, bug, shape, outcome):
    tsv = write_graph(tmp_path, "chain", chain(["aten::relu", "aten::exp", "aten::relu"], shape),
                      [rand(shape)])
    r, (row,) = conform(runner, "--graphs", tsv, "--backend", broken(bug), "--timeout-ms", "1500")
    assert r.returncode == 1
    assert (row["kind"], row["outcome"]) == ("graph", outcome), row
    assert row["backend"] == f"broken_{bug}"
    assert row["stage"] == ("destroy" if bug == "leak" else "execute")
    if outcome in ("hang", "crash"):  # the parent knows what was lowered before the child died
        assert (row["nodes"], row["delegated"], row["partitions"]) == (3, 2, 2)


def test_graph_case_numeric_failures_float_and_integer(runner, tmp_path):
    def add_alpha(p):
        x = p.add_input("float32", [3, 4], name="x")
        y = p.add_input("float32", [3, 4], name="y")
        o = p.add_value("float32", [3, 4], name="o")
        p.add_node("aten::add.Tensor", [x, y], {"alpha": 2.0}, outputs=[o])
        p.add_output(o)

    def argmax(p):
        x = p.add_input("float32", [6, 5], name="x")
        o = p.add_value("int64", [6], name="o")
        p.add_node("aten::argmax", [x, 1, False], outputs=[o])
        p.add_output(o)

    x, y = rand((3, 4)), rand((3, 4), 1)
    tsv = write_graph(tmp_path / "a", "add", add_alpha, [x, y])
    r, (row,) = conform(runner, "--graphs", tsv, "--backend", broken("alpha"))
    assert r.returncode == 1 and row["outcome"] == "fail", row
    # alpha ignored: the backend computes x + y where x + 2y is right
    i = row["worst_index"]
    assert row["worst_output"] == 0 and 0 <= i < 12
    assert row["worst_got"] == pytest.approx(float(x.flat[i] + y.flat[i]), rel=1e-6)
    assert row["worst_want"] == pytest.approx(float(x.flat[i] + 2 * y.flat[i]), rel=1e-6)
    assert row["max_abs"] == pytest.approx(float(np.abs(y).max()), rel=1e-6)
    assert row["nmse"] > 0 and "expected" in row["detail"]

    xa = rand((6, 5), 2)
    xa[np.arange(6), np.arange(6) % 4 + 1] = 10.0  # argmax 1, 2, 3, 4, 1, 2: not all 0
    tsv = write_graph(tmp_path / "b", "argmax", argmax, [xa], atol=0.0)
    r, (row,) = conform(runner, "--graphs", tsv, "--backend", broken("int64_as_int32"))
    assert r.returncode == 1 and row["outcome"] == "fail", row
    assert "exact" in row["detail"] and row["delegated"] == 1


def test_graph_case_with_a_companion_backend_from_the_tsv(runner, template_plugin, tmp_path):
    """The TSV's optional "backends" column adds a lower-priority backend
    for that case (here the tf32 backend takes exp, which the template
    leaves): three partitions, two backends named."""
    tsv = write_graph(tmp_path, "two", chain(["aten::relu", "aten::exp", "aten::relu"]),
                      [rand((4, 8))], rtol=1e-3, atol=1e-6,
                      extra_cols={"backends": tf32_plugin(), "options": "x.y=1;z=true"})
    r, (row,) = conform(runner, "--graphs", tsv, "--backend", template_plugin)
    assert r.returncode == 0, row
    assert (row["outcome"], row["delegated"], row["partitions"]) == ("pass", 3, 3)
    assert row["backend"] == "template,test_tf32_exp"
    assert 0 < row["max_abs"] < 1e-2  # exp at TF32 precision, within rtol 1e-3
    # the companion alone does not make the case supported
    tsv2 = write_graph(tmp_path / "b", "exp", chain(["aten::exp"]), [rand((4, 8))], rtol=1e-3,
                       extra_cols={"backends": tf32_plugin(), "options": ""})
    _, (row,) = conform(runner, "--graphs", tsv2, "--backend", template_plugin)
    assert row["outcome"] == "unsupported" and row["backend"] == "test_tf32_exp"


def test_graph_case_input_problems_are_errors(runner, template_plugin, tmp_path):
    tsv = write_graph(tmp_path, "chain", chain(["aten::relu"]), [rand((4, 8))])
    with open(tsv, "a") as f:  # no inputs for a one-input program; a missing .npy; bad program
        f.write("noinput\tchain.ddk\t\t0\t0\t\n")
        f.write("missing\tchain.ddk\tnope.npy\t0\t0\t\n")
        f.write("badprog\tchain_in0.npy\tchain_in0.npy\t0\t0\t\n")
    np.save(tmp_path / "i64.npy", np.zeros((4, 8), np.int64))
    with open(tsv, "a") as f:
        f.write("wrongdtype\tchain.ddk\ti64.npy\t0\t0\t\n")
    r, rows = conform(runner, "--graphs", tsv, "--backend", template_plugin)
    assert r.returncode == 1
    got = {x["case"]: (x["outcome"], x["stage"]) for x in rows}
    assert got == {"chain": ("pass", ""), "noinput": ("error", "inputs"),
                   "missing": ("error", "inputs"), "badprog": ("error", "program"),
                   "wrongdtype": ("error", "inputs")}


@pytest.mark.parametrize("text,why", [
    ("name\tprogram\tinputs\trtol\n", "lacks the column 'atol'"),
    ("name\tprogram\tinputs\trtol\tatol\nx\tp.ddk\n", ":2:"),
    ("name\tprogram\tinputs\trtol\tatol\nx\tp.ddk\ti.npy\t-1\t0\n", "rtol"),
    ("name\tprogram\tinputs\trtol\tatol\nx\tp.ddk\ti.npy\tabc\t0\n", "rtol"),
    ("", "empty"),
])
def test_malformed_graph_files_are_refused(runner, template_plugin, tmp_path, text, why):
    tsv = tmp_path / "g.tsv"
    tsv.write_text(text)
    r, rows = conform(runner, "--graphs", tsv, "--backend", template_plugin)
    assert r.returncode == 2 and why in r.stderr and str(tsv) in r.stderr and rows == []


def test_op_cases_then_graph_cases_in_one_run(runner, template_plugin, tmp_path):
    cases = write_cases(tmp_path / "c.bin", ["aten::relu"])
    tsv = write_graph(tmp_path, "chain", chain(["aten::relu", "aten::exp"]), [rand((4, 8))])
    write_graph(tmp_path, "chain2", chain(["aten::exp", "aten::relu"]), [rand((4, 8), 3)])
    r, rows = conform(runner, "--graphs", tsv, "--cases", cases, "--backend", template_plugin)
    assert r.returncode == 0, r.stderr
    kinds = [x["kind"] for x in rows]
    n_op = kinds.count("op")
    assert kinds == ["op"] * n_op + ["graph", "graph"] and n_op > 0
    assert [x["index"] for x in rows[n_op:]] == [0, 1]
    assert rows[0]["index"] == 0


def test_reference_checked_against_the_expected_output(runner, template_plugin, tmp_path):
    """The portable kernels' result is compared with the case file's
    expected (PyTorch) output before the backend's: a case file whose
    expectation the reference does not meet (miscompiled kernels, another
    version's file) is an error of the harness, never a pass."""
    torch = pytest.importorskip("torch")
    from golden.core import Gen
    g = Gen(0)
    x = torch.randn(3, 5, generator=g.g)
    g.raw_case("relu/right", "aten::relu", [x], [torch.relu(x)])
    g.raw_case("relu/wrong", "aten::relu", [x], [torch.relu(x) + 0.5])
    g.raw_case("exp/wrong", "aten::exp", [x], [torch.exp(x) * 1.001])  # unsupported: checked too
    g.write(tmp_path / "c.bin")
    r, rows = run(runner, tmp_path / "c.bin", template_plugin)
    assert r.returncode == 1
    got = {x["case"]: x for x in rows}
    assert got["relu/right"]["outcome"] == "pass"
    for name in ("relu/wrong", "exp/wrong"):
        assert (got[name]["outcome"], got[name]["stage"]) == ("error", "reference"), got[name]
        assert got[name]["detail"].startswith(
            "the reference kernels disagree with the expected output")
