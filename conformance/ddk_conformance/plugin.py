"""The conformance suite as a pytest plugin.

    python3 -m pytest -p ddk_conformance.plugin conformance/suite -n 2 \\
        --backend template [--backend PATH ...] [--ops PATTERN ...] \\
        [--tier NAME ...] [--report-dir DIR] [--shard i/n] \\
        [--backend-option KEY=VALUE ...] [--profile NAME] [--write-bundle DIR]

(`make conformance BACKEND=...` runs exactly this.) One pytest item per
(backend, op, dtype group) and per (backend, graph case): the item writes
the group's cases (cached per seed and case-set version under the report
dir), runs them through ddk_conform — one isolated process per case, with
a time limit, guard bytes and input checks — and fails when any case has
a failing outcome. An item whose cases the backend claims none of is
skipped ("unsupported"), which is not a failure.

Every case's record travels with its item's report (user_properties), so
under pytest-xdist the controller sees all of them; at the end it writes,
per backend, <report-dir>/<backend>/{records.jsonl, meta.json,
report.json, junit.xml, report.html} and prints a summary.

With --write-bundle DIR nothing runs: the selected cases are written as a
self-contained bundle for ddk_conform on a target without Python
(ddk_conformance/bundle.py).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from . import SUITE_VERSION, is_failing
from . import cases as _cases
from . import records as _records
from . import tiers as _tiers

REPO = _cases.REPO
RECORDS_PROP = "ddk_conformance_records"
PROFILES = ("default", "fp16_accum", "bf16_accum", "tf32", "fast_math")


# ---- options -------------------------------------------------------------

def pytest_addoption(parser):
    g = parser.getgroup("ddk-conformance", "DDK conformance suite")
    g.addoption("--backend", action="append", default=[], metavar="NAME_OR_PATH",
                help="backend under test: a plugin path or a name found on DDK_BACKEND_PATH "
                     "(repeatable: each is certified on its own)")
    g.addoption("--ops", action="append", default=[], metavar="PATTERN",
                help="only ops matching these globs (aten::add*, add.Tensor, quantized_decomposed::*); "
                     "comma-separated or repeated")
    g.addoption("--tier", action="append", default=[], metavar="NAME",
                help="only cases of these tiers: " + ", ".join(t.name for t in _tiers.TIERS))
    g.addoption("--report-dir", default=None, metavar="DIR",
                help="where reports go (default build/reports/conformance)")
    g.addoption("--shard", default=None, metavar="i/n", help="run shard i of n (1-based)")
    g.addoption("--backend-option", action="append", default=[], metavar="KEY=VALUE",
                help="option passed to the backend (compile spec and method option)")
    g.addoption("--profile", default=None, choices=PROFILES,
                help="accuracy profile (default: the backend's declared profile, else 'default')")
    g.addoption("--conform-seed", type=int, default=0, help="case generation seed (default 0)")
    g.addoption("--timeout-ms", type=int, default=10000, help="time limit per case (default 10000)")
    g.addoption("--no-graphs", action="store_true", help="skip the graph-level cases")
    g.addoption("--write-bundle", default=None, metavar="DIR",
                help="write the selected cases as a bundle for ddk_conform --bundle; run nothing")
    g.addoption("--conform-runner", default=None, metavar="PATH",
                help="ddk_conform binary (default: $DDK_BUILD_DIR or build/)")


def _build_dir() -> Path:
    return Path(os.environ.get("DDK_BUILD_DIR") or REPO / "build")


def runner_path(config) -> Path:
    p = config.getoption("conform_runner") or os.environ.get("DDK_CONFORM_RUNNER")
    return Path(p) if p else _build_dir() / "conformance" / "runner" / "ddk_conform"


def backend_search_path() -> str:
    b = _build_dir()
    dirs = [b / "sample_delegates", b / "conformance" / "backends", b / "broken_backends"]
    extra = os.environ.get("DDK_BACKEND_PATH")
    return ":".join(([extra] if extra else []) + [str(d) for d in dirs])


def _case_cache_root(report_dir: Path, seed: int) -> Path:
    """Cases depend on the seed, the op table and the case generators:
    the cache key says so."""
    h = hashlib.sha256()
    from ddk.ops_meta import OP_TABLE_HASH
    h.update(f"{seed}:{OP_TABLE_HASH:x}".encode())
    golden = _cases.GOLDEN_DIR / "golden"
    for f in sorted(golden.glob("*.py")) + [_cases.GOLDEN_DIR / "gen_golden.py"]:
        h.update(f.name.encode() + f.read_bytes())
    return report_dir / ".cases" / h.hexdigest()[:16]


class Session:
    """What every process of the run needs: resolved options."""

    def __init__(self, config):
        self.config = config
        self.backends = list(config.getoption("backend"))
        self.ops = list(config.getoption("ops"))
        self.tiers = list(config.getoption("tier"))
        self.shard = config.getoption("shard")
        self.options = list(config.getoption("backend_option"))
        self.profile = config.getoption("profile")
        self.seed = config.getoption("conform_seed")
        self.timeout_ms = config.getoption("timeout_ms")
        self.graphs_on = not config.getoption("no_graphs")
        self.bundle = config.getoption("write_bundle")
        rd = config.getoption("report_dir")
        self.report_dir = Path(rd).resolve() if rd else _build_dir().resolve() / "reports" / "conformance"
        self.runner = runner_path(config)
        for o in self.options:
            if "=" not in o:
                raise pytest.UsageError(f"--backend-option {o!r}: expected KEY=VALUE")
        try:
            if self.shard:
                _cases.parse_shard(self.shard)
            self.groups = _cases.shard(_cases.select(self.ops, self.tiers), self.shard)
            for t in self.tiers:
                _tiers.by_name(t)
        except ValueError as e:
            raise pytest.UsageError(str(e)) from None
        self.cache = _case_cache_root(self.report_dir, self.seed)
        self.env = dict(os.environ, DDK_BACKEND_PATH=backend_search_path())

    # graph cases run unless --ops narrows the run to some ops (they are
    # not about one op) or --tier names only op tiers
    def graph_cases(self) -> list:
        if not self.graphs_on or self.ops:
            return []
        from . import graphs
        return graphs.select(self.tiers, self.shard)

    def runner_args(self, backend: str) -> list:
        a = [str(self.runner), "--backend", backend, "--timeout-ms", str(self.timeout_ms)]
        for o in self.options:
            a += ["--option", o]
        if self.profile:
            a += ["--profile", self.profile]
        return a

    def check_runner(self):
        if not self.runner.exists():
            pytest.fail(f"ddk_conform not found at {self.runner}: build it (make build) or pass "
                        "--conform-runner", pytrace=False)

    def group_file(self, group) -> Path:
        p = self.cache / "ops" / group.file_name
        if not p.exists():
            _cases.write_group(group, p, self.seed)
        return p

    def run(self, backend: str, extra: list, what: str) -> list:
        self.check_runner()
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "results.jsonl"
            cmd = self.runner_args(backend) + extra + ["--results", str(out)]
            r = subprocess.run(cmd, capture_output=True, text=True, env=self.env,
                               timeout=3600)
            if r.returncode not in (0, 1) or not out.exists():
                pytest.fail(f"{what}: ddk_conform exited {r.returncode}: {r.stderr.strip()}",
                            pytrace=False)
            return [json.loads(line) for line in out.read_text().splitlines() if line.strip()]


def _session(config) -> Session:
    s = getattr(config, "_ddk_conformance", None)
    if s is None:
        s = Session(config)
        config._ddk_conformance = s
    return s


def _is_worker(config) -> bool:
    return hasattr(config, "workerinput")


def pytest_configure(config):
    config.addinivalue_line("markers", "ddk_conformance: a conformance suite item")
    # case generation calls torch on edge cases on purpose (var with no
    # degrees of freedom, uint8 conditions, ...): its warnings are noise here
    config.addinivalue_line("filterwarnings", "ignore::UserWarning")
    if not config.getoption("backend") and not config.getoption("write_bundle"):
        return
    s = _session(config)
    if not _is_worker(config):
        s.report_dir.mkdir(parents=True, exist_ok=True)
        s.started = time.time()
        s.records = {}  # backend argument -> list of records
        s.infos = {}


def pytest_ignore_collect(collection_path, config):
    """The suite's items need a backend (or --write-bundle): without one,
    conformance/suite is not collected (the suite's own tests in
    conformance/tests still are)."""
    if collection_path.name == "suite" and collection_path.parent.name == "conformance":
        if not config.getoption("backend") and not config.getoption("write_bundle"):
            return True
    return None


def pytest_generate_tests(metafunc):
    names = metafunc.fixturenames
    if "ddk_op_group" not in names and "ddk_graph_case" not in names:
        return
    s = _session(metafunc.config)
    backends = [] if s.bundle else s.backends
    if "ddk_op_group" in names:
        params = [(b, g) for g in s.groups for b in backends]
        metafunc.parametrize("ddk_op_group", params,
                             ids=[f"{b}|{g.id}" for b, g in params])
    else:
        gcs = s.graph_cases()
        params = [(b, gc) for gc in gcs for b in backends]
        metafunc.parametrize("ddk_graph_case", params,
                             ids=[f"{b}|graph:{gc.name}" for b, gc in params])


@pytest.fixture(scope="session")
def ddk_conformance(request) -> Session:
    return _session(request.config)


def pytest_collection_modifyitems(session, config, items):
    """--write-bundle runs only the bundle writer; a normal run everything
    but it."""
    if not hasattr(config, "_ddk_conformance"):
        return
    bundle = bool(config._ddk_conformance.bundle)
    keep, drop = [], []
    for it in items:
        if "ddk_conformance" not in getattr(it, "fixturenames", ()):
            keep.append(it)
            continue
        is_writer = it.originalname == "test_write_bundle"
        empty = any(str(m.kwargs.get("reason", "")).startswith("got empty parameter set")
                    for m in it.iter_markers("skip"))
        (keep if is_writer == bundle and not empty else drop).append(it)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def write_bundle(s: Session) -> None:
    from . import bundle
    m = bundle.write(Path(s.bundle), s.groups, s.graph_cases(), s.seed,
                     {"ops": s.ops, "tiers": s.tiers, "shard": s.shard})
    c = m["counts"]
    print(f"wrote bundle {s.bundle}: {c['op_cases']} op cases in {c['groups']} groups, "
          f"{c['graph_cases']} graph cases")


# ---- running an item -----------------------------------------------------

def _verdict(item, records: list, what: str):
    item.user_properties.append((RECORDS_PROP, json.dumps(records)))
    failing = [r for r in records if is_failing(r["outcome"])]
    if failing:
        lines = [f"{len(failing)} of {len(records)} case(s) of {what} failed:"]
        for r in failing[:8]:
            lines.append(f"  {r['outcome']:<20} {r['case']}  [{r.get('stage') or '-'}] "
                         f"{(r.get('detail') or '')[:300]}")
        if len(failing) > 8:
            lines.append(f"  ... and {len(failing) - 8} more (see the report)")
        pytest.fail("\n".join(lines), pytrace=False)
    if records and all(r["outcome"] == "unsupported" for r in records):
        pytest.skip(f"unsupported: the backend claims none of the {len(records)} case(s)")


def run_op_group(item, s: Session, backend: str, group) -> None:
    path = s.group_file(group)
    lines = s.run(backend, ["--cases", str(path)], group.id)
    recs = [_records.op_record(r, group, int(r.get("index", 0))) for r in lines]
    for r in recs:
        r["backend_arg"] = backend
    _verdict(item, recs, group.id)


def run_graph_case(item, s: Session, backend: str, gc) -> None:
    from . import graphs
    tsv = graphs.ensure_built(s.cache / "graphs", gc)
    lines = s.run(backend, ["--graphs", str(tsv)], f"graph {gc.name}")
    recs = [_records.graph_record(r, gc) for r in lines]
    for r in recs:
        r["backend_arg"] = backend
    _verdict(item, recs, f"graph case {gc.name}")


# ---- collecting results (controller) -------------------------------------

def pytest_runtest_logreport(report):
    if report.when != "call":
        return
    props = [v for k, v in getattr(report, "user_properties", ()) if k == RECORDS_PROP]
    if not props:
        return
    cfg = _CONFIG.get("config")
    if cfg is None or _is_worker(cfg):
        return
    s = _session(cfg)
    for v in props:
        for r in json.loads(v):
            s.records.setdefault(r.get("backend_arg", "?"), []).append(r)


_CONFIG: dict = {}


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session):
    _CONFIG["config"] = session.config


def pytest_report_teststatus(report, config):
    """Progress letters: '.' pass, 'u' unsupported (skipped), 'F' a
    failing case."""
    if report.when == "call" and report.skipped and "unsupported" in str(report.longrepr):
        return "unsupported", "u", "UNSUPPORTED"
    return None


def _sha256(path: str) -> str | None:
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except OSError:
        return None


def backend_info(s: Session, backend: str) -> dict:
    """Backend facts from ddk_conform --info-json, plus the plugin's
    sha256."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "info.json"
        cmd = s.runner_args(backend) + ["--info-json", str(out)]
        r = subprocess.run(cmd, capture_output=True, text=True, env=s.env, timeout=120)
        if not out.exists():
            return {"runner_error": r.stderr.strip(), "backends": [{"name": backend}]}
        info = json.loads(out.read_text())
    for b in info.get("backends", []):
        if b.get("path") and b["path"] != "(static)":
            b["sha256"] = _sha256(b["path"])
    return info


def run_meta(s: Session, backend: str, duration: float) -> dict:
    info = backend_info(s, backend)
    from ddk.ops_meta import OP_TABLE_HASH
    be = (info.get("backends") or [{}])[0]
    return {
        "suite_version": SUITE_VERSION,
        "op_table_hash": "0x%016x" % OP_TABLE_HASH,
        "runner_version": info.get("runner_version"),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "duration_s": round(duration, 1),
        "backend": {k: be.get(k) for k in ("name", "version", "abi", "path", "sha256",
                                           "available", "device", "detail")},
        "profile": info.get("profile") or s.profile or "default",
        "options": info.get("options") or dict(o.split("=", 1) for o in s.options),
        "selection": {"ops": s.ops, "tiers": s.tiers, "shard": s.shard, "seed": s.seed},
        "host": {"machine": platform.machine(), "system": platform.platform(),
                 "python": platform.python_version()},
    }


def pytest_sessionfinish(session, exitstatus):
    cfg = session.config
    if _is_worker(cfg) or not hasattr(cfg, "_ddk_conformance"):
        return
    s = _session(cfg)
    if s.bundle or not hasattr(s, "records"):
        return
    from . import report as _report
    s.summaries = []
    for backend, recs in s.records.items():
        meta = run_meta(s, backend, time.time() - s.started)
        name = meta["backend"].get("name") or Path(backend).stem
        out = s.report_dir / name
        for r in recs:
            r.pop("backend_arg", None)
            r.setdefault("backend", name)
        rep = _report.write_reports(out, meta, recs)
        s.summaries.append((name, out, rep))


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    s = getattr(config, "_ddk_conformance", None)
    if s is None or not getattr(s, "summaries", None):
        return
    tr = terminalreporter
    tr.section("DDK conformance")
    for name, out, rep in s.summaries:
        for line in summary_lines(name, out, rep):
            tr.write_line(line)


def summary_lines(name: str, out: Path, rep: dict) -> list:
    """The one-screen summary of one backend's report (also used by
    `make certify`)."""
    sm = rep["summary"]
    oc = sm["outcomes"]
    be = rep.get("backend") or {}
    lines = [f"{name} {be.get('version') or ''} (ABI {be.get('abi') or '?'}; profile "
             f"{rep.get('profile', 'default')}): verdict {sm['verdict'].upper()}",
             f"  ops: {sm['ops_claimed']} claimed of {sm['ops_total']} run, "
             f"{sm['ops_passed']} passed, {sm['ops_failed']} failed",
             "  cases: " + ", ".join(f"{k} {v}" for k, v in sorted(oc.items(), key=lambda kv: -kv[1]))]
    for t in rep["tiers"]:
        if t["earned"]:
            state = "EARNED" + (" (complete)" if t["complete"] else "")
        else:
            state = "not earned"
        total, claimed = sum(t["cases"].values()), t["cases_claimed"]
        ops = (f"{t['ops_claimed']}/{t['ops_in_tier']} ops claimed ({t['ops_clean']} clean), "
               if t["ops_in_tier"] else "")
        lines.append(f"  tier {t['name']:<14} {state:<19} {ops}{claimed}/{total} cases claimed"
                     + (f"; {t['blockers'][0]}" if t["blockers"] and not t["earned"] else ""))
    lines.append(f"  report: {out / 'report.html'}")
    return lines
