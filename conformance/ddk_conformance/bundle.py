"""Bundles: the cases of a conformance run for a target without Python.

    # on the host (needs torch): write the cases
    python3 -m ddk_conformance.bundle write --out B [--ops PATTERN ...] [--tier NAME ...]
                                               [--seed N] [--shard i/n] [--no-graphs]
    # on the target (C only): run them
    ddk_conform --bundle B --backend PLUGIN --results R.jsonl --info-json I.json
    # back on the host: the same report as a pytest run
    python3 -m ddk_conformance.bundle report --bundle B --results R.jsonl --info I.json \\
                                               --report-dir OUT

(with PYTHONPATH=conformance:python). A bundle is a folder:

    BUNDLE           key=value lines ddk_conform reads: format, op_table_hash,
                     cases, graphs (and suite_version, seed for people)
    cases.ddkcases   the op cases (golden/core.py format DDKGOLD2): per case its
                     op, arguments, inputs and PyTorch's expected outputs; the
                     runner builds each case's one-op program from it exactly as
                     on the host, runs the reference kernels and checks them
                     against the expected outputs, then runs the backend
    cases_index.tsv  ordinal in cases.ddkcases -> op, dtype group, case id
    graphs.tsv       graph cases: name, program, inputs, rtol, atol, tags,
                     backends, options
    graphs/<name>/   program.ddkp and input_<k>.npy of each graph case
    manifest.json    suite version, op-table hash, selection, counts, the
                     tolerance of every op in the bundle, and every file's
                     sha256 and size
    SHA256SUMS       sha256 of every other file (`sha256sum -c` format); the
                     runner verifies it before running anything

Tolerances live in the op table, which is compiled into the runner: the
runner refuses a bundle written for another op table (op_table_hash).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import json
import sys
from pathlib import Path

from . import SUITE_VERSION
from . import cases as _cases
from . import graphs as _graphs
from . import records as _records

FORMAT = 1


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write(out: Path, groups, graph_cases, seed: int = 0, selection: dict | None = None) -> dict:
    """Writes a bundle into `out` (must be empty or absent). Returns the
    manifest."""
    from ddk.ops_meta import OP_BY_NAME, OP_TABLE_HASH

    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty")
    out.mkdir(parents=True, exist_ok=True)
    groups = list(groups)
    rows = _cases.write_groups(groups, out / "cases.ddkcases", seed) if groups else []
    with open(out / "cases_index.tsv", "w") as f:
        f.write("ordinal\top\tdtype\tgroup\tindex\trefused\tcase\n")
        for ordinal, g, k, name, refused in rows:
            f.write(f"{ordinal}\t{g.op}\t{g.dtype}\t{g.number}\t"
                    f"{g.number * _cases.GROUP_STRIDE + k}\t{int(refused)}\t{name}\n")
    lines = [_graphs.TSV_HEADER]
    for gc in graph_cases:
        n = _graphs.write_case_files(gc, out / "graphs" / gc.name, seed)
        lines.append(_graphs.tsv_row(gc, f"graphs/{gc.name}/", n))
    (out / "graphs.tsv").write_text("\n".join(lines) + "\n")
    (out / "BUNDLE").write_text(
        f"format={FORMAT}\nop_table_hash=0x{OP_TABLE_HASH:016x}\n"
        f"cases={'cases.ddkcases' if groups else ''}\ngraphs=graphs.tsv\n"
        f"suite_version={SUITE_VERSION}\nseed={seed}\n")
    ops = sorted({g.op for g in groups})
    manifest = {
        "format": FORMAT,
        "suite_version": SUITE_VERSION,
        "op_table_hash": f"0x{OP_TABLE_HASH:016x}",
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "seed": seed,
        "selection": selection or {},
        "counts": {"groups": len(groups), "op_cases": sum(1 for r in rows if not r[4]),
                   "refused_cases_skipped": sum(1 for r in rows if r[4]),
                   "graph_cases": len(list(graph_cases))},
        "tolerances": {op: {"class": OP_BY_NAME[op]["tolerance"], "ulp": OP_BY_NAME[op]["ulp"]}
                       for op in ops},
        "groups": [g.id for g in groups],
        "graph_cases": [gc.name for gc in graph_cases],
    }
    files = sorted(p for p in out.rglob("*") if p.is_file())
    manifest["files"] = {str(p.relative_to(out)): {"sha256": _sha256(p), "bytes": p.stat().st_size}
                         for p in files}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    with open(out / "SHA256SUMS", "w") as f:
        for p in sorted(q for q in out.rglob("*") if q.is_file() and q.name != "SHA256SUMS"):
            f.write(f"{_sha256(p)}  {p.relative_to(out)}\n")
    return manifest


def records_from_results(bundle: Path, result_lines) -> list:
    """Case records (records.py) from the runner's result lines for a
    bundle."""
    bundle = Path(bundle)
    by_ordinal = {}
    groups = {g.number: g for g in _cases.all_groups()}
    with open(bundle / "cases_index.tsv") as f:
        next(f)
        for line in f:
            ordinal, op, dtype, number, index, _refused, _name = line.rstrip("\n").split("\t", 6)
            g = groups.get(int(number))
            if g is None or g.op != op or g.dtype != dtype:
                raise ValueError(f"{bundle}: group {number} is {op}/{dtype} in the bundle but "
                                 "not in this op table")
            by_ordinal[int(ordinal)] = (g, int(index) - g.number * _cases.GROUP_STRIDE)
    graph_rows = (bundle / "graphs.tsv").read_text().splitlines()[1:]
    graph_names = [row.split("\t", 1)[0] for row in graph_rows if row.strip()]
    out = []
    for r in result_lines:
        if r.get("kind", "op") == "graph":
            out.append(_records.graph_record(r, _graphs.by_name(graph_names[int(r["index"])])))
        else:
            g, k = by_ordinal[int(r["index"])]
            out.append(_records.op_record(r, g, k))
    return out


def meta_from(bundle: Path, info: dict | None, duration: float | None) -> dict:
    """Run metadata for a bundle's report: the bundle's manifest and the
    runner's --info-json."""
    import platform
    man = json.loads((Path(bundle) / "manifest.json").read_text())
    info = info or {}
    be = (info.get("backends") or [{}])[0]
    return {
        "suite_version": man["suite_version"],
        "op_table_hash": man["op_table_hash"],
        "runner_version": info.get("runner_version"),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "duration_s": duration,
        "backend": {k: be.get(k) for k in ("name", "version", "abi", "path", "sha256",
                                           "available", "device", "detail")},
        "profile": info.get("profile") or "default",
        "options": info.get("options") or {},
        "selection": dict(man.get("selection") or {}, seed=man.get("seed"),
                          bundle=str(Path(bundle).resolve())),
        "host": {"machine": platform.machine(), "system": platform.platform(),
                 "python": platform.python_version(), "ran_on": "target (bundle)"},
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m ddk_conformance.bundle",
                                 description="Write a conformance bundle, or report on its results.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("write", help="write the cases of a run as a bundle")
    w.add_argument("--out", required=True)
    w.add_argument("--ops", action="append", default=[])
    w.add_argument("--tier", action="append", default=[])
    w.add_argument("--seed", type=int, default=0)
    w.add_argument("--shard", default=None)
    w.add_argument("--no-graphs", action="store_true")
    r = sub.add_parser("report", help="turn a bundle run's results into the conformance report")
    r.add_argument("--bundle", required=True)
    r.add_argument("--results", action="append", required=True,
                   help="ddk_conform --results file(s) (several: shards)")
    r.add_argument("--info", help="ddk_conform --info-json file")
    r.add_argument("--report-dir", required=True)
    a = ap.parse_args(argv)
    if a.cmd == "write":
        try:
            groups = _cases.shard(_cases.select(a.ops, a.tier), a.shard)
        except ValueError as e:
            ap.error(str(e))
        gcs = [] if a.no_graphs or a.ops else _graphs.select(a.tier, a.shard)
        m = write(Path(a.out), groups, gcs, a.seed,
                  {"ops": a.ops, "tiers": a.tier, "shard": a.shard})
        c = m["counts"]
        print(f"wrote {a.out}: {c['op_cases']} op cases in {c['groups']} groups, "
              f"{c['graph_cases']} graph cases, {len(m['files'])} files")
        return 0
    from . import report as _report
    lines = []
    for p in a.results:
        lines += [json.loads(x) for x in Path(p).read_text().splitlines() if x.strip()]
    recs = records_from_results(Path(a.bundle), lines)
    info = json.loads(Path(a.info).read_text()) if a.info else None
    dur = sum(float(x.get("time_ms") or 0) for x in lines) / 1000.0
    meta = meta_from(Path(a.bundle), info, round(dur, 1))
    name = meta["backend"].get("name") or "backend"
    for x in recs:
        x.setdefault("backend", name)
    rep = _report.write_reports(Path(a.report_dir), meta, recs)
    from .plugin import summary_lines
    print("\n".join(summary_lines(name, Path(a.report_dir), rep)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
