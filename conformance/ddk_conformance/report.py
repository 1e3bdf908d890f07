"""The conformance report: case records plus run metadata in, report.json,
junit.xml and report.html out (schema: docs/conformance_report.md).

    PYTHONPATH=conformance:python python3 -m ddk_conformance.report \\
        --meta META.json --records R.jsonl [--records R2.jsonl ...] --report-dir DIR

Several --records files are shards of one run and are merged; a case
(kind, index) present twice is an error that names both places.

A case record is a dict: backend, kind ("op" | "graph"), index (unique
per kind within a run), case, op ("" for graph cases), dtype (dtype group,
"" for graph cases), tags (graph cases), outcome (one of OUTCOMES), stage,
detail, profile, time_ms, and when compared max_abs, max_ulp, nmse, bias,
worst_index, worst_got, worst_want. Graph cases may add nodes, delegated
and partitions. Keys beyond these are kept as they are.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Iterable, Mapping

from . import OUTCOMES, is_failing
from . import tiers as _tiers

SCHEMA = "ddk-conformance-report/1"
WORST_N = 25

# Most severe first. A group's "worst_outcome" is the first of these among
# its cases: the failures that can corrupt a process or its memory rank
# above a wrong value, a wrong value above a harness error (the backend
# may not be at fault), and any result above "unsupported".
SEVERITY = ("crash", "hang", "out-of-bounds-write", "input-modified", "leak",
            "claimed-but-broken", "fail", "error", "pass", "unsupported")
assert sorted(SEVERITY) == sorted(OUTCOMES)

KINDS = ("op", "graph")  # the order of cases in the report
STATS = ("max_abs", "max_ulp", "nmse", "bias", "worst_index", "worst_got", "worst_want")
# The order of dtype-group columns; groups not named here follow, sorted.
DTYPE_ORDER = ("float32", "float64", "float16", "bfloat16", "int8", "uint8", "int16",
               "int32", "int64", "bool", "complex64", _tiers.MIXED)
META_KEYS = ("suite_version", "op_table_hash", "runner_version", "created", "duration_s",
             "backend", "profile", "options", "selection", "host")
BACKEND_KEYS = ("name", "version", "abi", "path", "sha256", "available", "device", "detail")
SELECTION_KEYS = ("ops", "tiers", "shard", "seed")
HOST_KEYS = ("machine", "system", "python")
GENERATED_KEYS = ("schema", "summary", "tiers", "ops", "cases", "worst", "failures")


class ReportError(ValueError):
    """Records or metadata that cannot make a report."""


# ---- records ---------------------------------------------------------------

def load_records(path) -> list:
    """The records of a JSON-lines file (blank lines skipped). ReportError
    names the file and line of a line that is not a JSON object."""
    path = Path(path)
    out = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                r = json.loads(line)
            except json.JSONDecodeError as e:
                raise ReportError(f"{path}:{n}: not JSON ({e.msg})") from None
            if not isinstance(r, dict):
                raise ReportError(f"{path}:{n}: a record must be a JSON object")
            out.append(r)
    return out


def save_records(path, records: Iterable[Mapping]) -> None:
    """Writes records as JSON lines (one object per line)."""
    with open(path, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(_finite(dict(r)), allow_nan=False) + "\n")


def _finite(v):
    """`v` with every non-finite float replaced by None (JSON has no NaN or
    infinity; the runner writes null for them too)."""
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_finite(x) for x in v]
    return v


def _where(r: Mapping) -> str:
    src = r.get("_source")
    return src if src else "case (%s, %s)" % (r.get("kind"), r.get("index"))


def normalise(records: Iterable[Mapping], default_backend: str = "") -> list:
    """Checked copies of the records with every standard key present,
    sorted by (kind, index). ReportError on a malformed record or a
    duplicate (kind, index)."""
    out = []
    for n, r0 in enumerate(records):
        r = _finite(dict(r0))
        where = r.pop("_source", None) or f"record {n + 1}"
        kind = r.setdefault("kind", "op")
        if kind not in KINDS:
            raise ReportError(f"{where}: kind {kind!r} is not one of {', '.join(KINDS)}")
        idx = r.get("index")
        if isinstance(idx, bool) or not isinstance(idx, int):
            raise ReportError(f"{where}: index must be an integer, not {idx!r}")
        if r.get("outcome") not in OUTCOMES:
            raise ReportError(f"{where}: outcome {r.get('outcome')!r} is not one of "
                              f"{', '.join(OUTCOMES)}")
        if kind == "op" and not r.get("op"):
            raise ReportError(f"{where}: an op case needs its op")
        r["backend"] = r.get("backend") or default_backend
        r.setdefault("case", "")
        r["op"] = r.get("op") or ""
        r["dtype"] = r.get("dtype") or ""
        r["tags"] = list(r.get("tags") or [])
        for k in ("stage", "detail", "profile"):
            r[k] = r.get(k) or ""
        r.setdefault("time_ms", None)
        for k in STATS:
            r.setdefault(k, None)
        r["_where"] = where
        out.append(r)
    out.sort(key=lambda r: (KINDS.index(r["kind"]), r["index"]))
    for a, b in zip(out, out[1:]):
        if (a["kind"], a["index"]) == (b["kind"], b["index"]):
            raise ReportError(f"duplicate case ({a['kind']}, {a['index']}): "
                              f"{a['_where']} and {b['_where']}")
    for r in out:
        del r["_where"]
    return out


def merge_shards(named: Iterable[tuple]) -> list:
    """Records of several shards of one run, given as (file name, records)
    pairs: one list, each record remembering where it came from until
    normalise() checks for duplicates."""
    merged = []
    for name, recs in named:
        for n, r in enumerate(recs, 1):
            r = dict(r)
            r["_source"] = f"{name} (record {n})"
            merged.append(r)
    return merged


# ---- the report --------------------------------------------------------------

def severity_rank(outcome: str) -> int:
    """0 for the most severe outcome."""
    return SEVERITY.index(outcome)


def worst_outcome(outcomes: Iterable[str]) -> str | None:
    outs = list(outcomes)
    return min(outs, key=severity_rank) if outs else None


def dtype_key(dtype: str):
    return (DTYPE_ORDER.index(dtype), "") if dtype in DTYPE_ORDER else (len(DTYPE_ORDER), dtype)


def _count(outcomes: Iterable[str]) -> dict:
    counts = {}
    for o in outcomes:
        counts[o] = counts.get(o, 0) + 1
    return {o: counts[o] for o in OUTCOMES if o in counts}


def _max(values) -> float | None:
    vals = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return max(vals) if vals else None


def case_summary(r: Mapping) -> dict:
    """The short form of a case used by "worst" and "failures"."""
    return {"kind": r["kind"], "index": r["index"], "op": r["op"], "dtype": r["dtype"],
            "case": r["case"], "outcome": r["outcome"], "stage": r["stage"],
            "detail": r["detail"], "stats": {k: r.get(k) for k in STATS}}


def _op_status(outcomes: list) -> str:
    if any(is_failing(o) for o in outcomes):
        return "failed"
    if all(o == "unsupported" for o in outcomes):
        return "unsupported"
    return "passed"


def _ops(records: list) -> list:
    by_op: dict = {}
    for r in records:
        if r["kind"] == "op":
            by_op.setdefault(r["op"], {}).setdefault(r["dtype"], []).append(r)
    ops = []
    for op in sorted(by_op):
        groups = {}
        for dt in sorted(by_op[op], key=dtype_key):
            rs = by_op[op][dt]
            claimed = [r for r in rs if r["outcome"] != "unsupported"]
            groups[dt] = {
                "cases": len(rs),
                "outcomes": _count(r["outcome"] for r in rs),
                "worst_outcome": worst_outcome(r["outcome"] for r in rs),
                "max_ulp": _max(r["max_ulp"] for r in claimed),
                "max_abs": _max(r["max_abs"] for r in claimed),
                "nmse": _max(r["nmse"] for r in claimed),
                "tiers": _tiers.tiers_of({"kind": "op", "op": op, "dtype": dt}),
            }
        outs = [r["outcome"] for dt in by_op[op] for r in by_op[op][dt]]
        ops.append({"op": op, "status": _op_status(outs), "groups": groups})
    return ops


def _worst(records: list, n: int = WORST_N) -> list:
    def num(v):
        return v if isinstance(v, (int, float)) and not isinstance(v, bool) else -math.inf

    compared = [r for r in records if r["outcome"] != "unsupported"
                and (r["max_ulp"] is not None or r["nmse"] is not None)]
    compared.sort(key=lambda r: (-num(r["max_ulp"]), -num(r["nmse"]),
                                 KINDS.index(r["kind"]), r["index"]))
    return [case_summary(r) for r in compared[:n]]


def _summary(records: list, ops: list, tier_results: list) -> dict:
    graphs = [r for r in records if r["kind"] == "graph"]
    status = [o["status"] for o in ops]
    return {
        "cases": len(records),
        "outcomes": _count(r["outcome"] for r in records),
        "failing_cases": sum(is_failing(r["outcome"]) for r in records),
        "ops_total": len(ops),
        "ops_claimed": sum(s != "unsupported" for s in status),
        "ops_passed": status.count("passed"),
        "ops_failed": status.count("failed"),
        "ops_unsupported": status.count("unsupported"),
        "graph_cases": len(graphs),
        "graph_cases_passed": sum(r["outcome"] == "pass" for r in graphs),
        "graph_cases_failed": sum(is_failing(r["outcome"]) for r in graphs),
        "tiers_earned": [t["name"] for t in tier_results if t["earned"]],
        "verdict": "fail" if any(is_failing(r["outcome"]) for r in records) else "pass",
    }


def _meta(meta: Mapping) -> dict:
    clash = [k for k in GENERATED_KEYS if k in meta]
    if clash:
        raise ReportError("run metadata must not set %s (the report computes them)"
                          % ", ".join(clash))
    out = {k: meta.get(k) for k in META_KEYS}
    for key, sub in (("backend", BACKEND_KEYS), ("selection", SELECTION_KEYS),
                     ("host", HOST_KEYS)):
        given = dict(meta.get(key) or {})
        out[key] = {**{k: given.pop(k, None) for k in sub}, **given}
    out["options"] = dict(meta.get("options") or {})
    out.update({k: v for k, v in meta.items() if k not in out})
    return _finite(out)


def build_report(meta: Mapping, records: Iterable[Mapping]) -> dict:
    """The report.json dict of a run (no files written)."""
    m = _meta(meta)
    recs = normalise(records, default_backend=m["backend"].get("name") or "")
    tier_results = [t.as_dict() for t in _tiers.evaluate_all(recs)]
    ops = _ops(recs)
    rep = {"schema": SCHEMA}
    rep.update(m)
    rep["summary"] = _summary(recs, ops, tier_results)
    rep["tiers"] = tier_results
    rep["ops"] = ops
    rep["cases"] = recs
    rep["worst"] = _worst(recs)
    rep["failures"] = [case_summary(r) for r in recs if is_failing(r["outcome"])]
    return rep


def dump_report(rep: Mapping) -> str:
    """report.json's text: indented, except that each case is one line
    (25k cases stay readable and grep-able)."""
    parts = []
    for k, v in rep.items():
        if k == "cases" and v:
            text = "[\n" + ",\n".join("  " + json.dumps(c, allow_nan=False) for c in v) + "\n ]"
        else:
            text = json.dumps(v, indent=1, allow_nan=False).replace("\n", "\n ")
        parts.append(f" {json.dumps(k)}: {text}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


def write_reports(report_dir: Path, meta: dict, records: list) -> dict:
    """Writes report.json, junit.xml and report.html into `report_dir`
    (created if missing), and beside them the inputs (meta.json,
    records.jsonl) so that the report can be rebuilt with the CLI.
    Returns the report.json dict. ReportError on bad records/metadata."""
    from . import junit, report_html

    report_dir = Path(report_dir)
    rep = build_report(meta, records)
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / "meta.json").write_text(
        json.dumps(_finite(dict(meta)), indent=1, allow_nan=False) + "\n", encoding="utf-8")
    save_records(report_dir / "records.jsonl", rep["cases"])
    (report_dir / "report.json").write_text(dump_report(rep), encoding="utf-8")
    (report_dir / "junit.xml").write_bytes(junit.render(rep))
    (report_dir / "report.html").write_text(report_html.render(rep), encoding="utf-8")
    return rep


# ---- command line ----------------------------------------------------------------

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="python3 -m ddk_conformance.report",
        description="Write report.json, junit.xml and report.html from a run's case "
                    "records (several --records files are shards of one run).")
    ap.add_argument("--meta", required=True, type=Path, help="run metadata (JSON object)")
    ap.add_argument("--records", required=True, action="append", type=Path,
                    help="case records (JSON lines); repeat for shards")
    ap.add_argument("--report-dir", required=True, type=Path)
    a = ap.parse_args(argv)
    try:
        meta = json.loads(a.meta.read_text(encoding="utf-8"))
        if not isinstance(meta, dict):
            raise ReportError(f"{a.meta}: the metadata must be a JSON object")
        merged = merge_shards((str(p), load_records(p)) for p in a.records)
        rep = write_reports(a.report_dir, meta, merged)
    except (OSError, json.JSONDecodeError, ReportError) as e:
        print(f"ddk_conformance.report: {e}", file=sys.stderr)
        return 2
    s = rep["summary"]
    print(f"{rep['backend'].get('name') or '?'}: verdict {s['verdict']}, {s['cases']} cases, "
          f"{s['ops_passed']}/{s['ops_claimed']} claimed ops pass; "
          f"{a.report_dir / 'report.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
