"""`make certify`: certifies every sample delegate that is built.

1. The conformance suite (conformance/, pytest plugin ddk_conformance)
   runs every op case and graph case against each backend in
   build/sample_delegates/ and writes, per backend, report.json, junit.xml
   and report.html under build/reports/conformance/<backend>/.
2. The example programs are lowered and run on each backend and compared
   with PyTorch (what each backend took, end to end).

Prints a one-screen summary per backend (ops claimed, passed, failed,
tiers earned, the HTML report's path) and writes build/reports/certify.json
and certify.txt. Exit status 1 when any backend fails.
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--examples", required=True)
    ap.add_argument("--report-dir", required=True)
    ap.add_argument("--rtol", type=float, default=1e-4)
    ap.add_argument("--atol", type=float, default=1e-5)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args(argv)
    ddk = os.path.join(args.build_dir, "ddk")
    plugins = sorted(glob.glob(os.path.join(args.build_dir, "sample_delegates",
                                            "libddk_backend_*.so")))
    backends = [None] + plugins
    with open(os.path.join(args.examples, "index.json")) as f:
        examples = json.load(f)
    os.makedirs(args.report_dir, exist_ok=True)
    rows, failures = [], 0
    for ex in examples:
        refs = [np.load(p) for p in ex["references"]]
        for be in backends:
            label = "portable" if be is None else \
                os.path.basename(be)[len("libddk_backend_"):-3]
            extra = [] if be is None else ["--backend", be]
            row = {"model": ex["name"], "backend": label}
            insp = run([ddk, "inspect", ex["program"], "--json"] + extra)
            if insp.returncode != 0:
                row.update(status="error", detail=insp.stderr.strip())
                rows.append(row)
                failures += 1
                continue
            info = json.loads(insp.stdout)
            taken = sum(1 for n in info["nodes"] if n["backend"] != "portable")
            row.update(nodes=len(info["nodes"]), delegated=taken,
                       partitions=len(info["delegates"]))
            with tempfile.TemporaryDirectory() as out:
                cmd = [ddk, "run", ex["program"], "--output-dir", out]
                for p in ex["inputs"]:
                    cmd += ["--input", p]
                r = run(cmd + extra)
                if r.returncode != 0:
                    row.update(status="error", detail=r.stderr.strip())
                    rows.append(row)
                    failures += 1
                    continue
                errs = []
                for i, ref in enumerate(refs):
                    got = np.load(os.path.join(out, f"output_{i}.npy"))
                    errs.append(float(np.max(np.abs(got.astype(np.float64) - ref))) if ref.size else 0.0)
                    rtol, atol = ex.get("rtol", args.rtol), ex.get("atol", args.atol)
                    ok = got.shape == ref.shape and np.allclose(got, ref, rtol=rtol, atol=atol)
                    if not ok:
                        row["status"] = "fail"
                row.setdefault("status", "pass")
                row["max_abs_error"] = max(errs) if errs else 0.0
                if row["status"] != "pass":
                    failures += 1
            rows.append(row)
    lines = [f"{'model':<10} {'backend':<10} {'status':<6} {'delegated':>9} "
             f"{'partitions':>10} {'max |err|':>10}"]
    for r in rows:
        lines.append(f"{r['model']:<10} {r['backend']:<10} {r['status']:<6} "
                     f"{str(r.get('delegated', '-')) + '/' + str(r.get('nodes', '-')):>9} "
                     f"{r.get('partitions', '-'):>10} "
                     f"{r.get('max_abs_error', float('nan')):>10.2e}")
        if r.get("detail"):
            lines.append("    " + r["detail"])
    summary = "\n".join(lines)
    print(summary)
    print(f"\n{len(rows) - failures} of {len(rows)} model/backend runs agree "
          f"with PyTorch (rtol {args.rtol}, atol {args.atol}; an example's own "
          "tolerance where it has one: cnn_int8 within two output quanta)")
    conf, conf_lines, conf_failures = certify_backends(plugins, args)
    failures += conf_failures
    with open(os.path.join(args.report_dir, "certify.json"), "w") as f:
        json.dump({"runs": rows, "conformance": conf, "failures": failures}, f, indent=1)
    with open(os.path.join(args.report_dir, "certify.txt"), "w") as f:
        f.write(summary + "\n\n" + "\n".join(conf_lines) + "\n")
    print(f"reports: {args.report_dir}/certify.json, certify.txt")
    return 1 if failures else 0


def certify_backends(plugins, args):
    """Runs the conformance suite against each plugin; returns (per-backend
    summaries, summary lines, number of failing backends)."""
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    sys.path.insert(0, os.path.join(repo, "conformance"))
    from ddk_conformance.plugin import summary_lines

    report_root = os.path.abspath(os.path.join(args.report_dir, "conformance"))
    out, lines, failures = [], [], 0
    print("\n== conformance ==")
    for be in plugins:
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
               "--rootdir", repo, "-c", os.path.join(repo, "pytest.ini"),
               os.path.join(repo, "conformance", "suite"), "--backend", be,
               "--report-dir", report_root]
        if args.jobs > 1:
            cmd += ["-n", str(args.jobs)]
        print("$ " + " ".join(cmd), flush=True)
        r = subprocess.run(cmd, cwd=repo, capture_output=True, text=True)
        tail = r.stdout.strip().splitlines()[-1:] or r.stderr.strip().splitlines()[-1:]
        print("  pytest: " + (tail[0] if tail else f"exit {r.returncode}"))
        name = os.path.basename(be)[len("libddk_backend_"):-3]
        rep_path = os.path.join(report_root, name, "report.json")
        if r.returncode not in (0, 1) or not os.path.exists(rep_path):
            failures += 1
            lines.append(f"{name}: the conformance run did not complete (pytest exit "
                         f"{r.returncode})")
            lines += ["  " + x for x in (r.stdout + r.stderr).strip().splitlines()[-15:]]
            out.append({"backend": name, "status": "error"})
            continue
        with open(rep_path) as f:
            rep = json.load(f)
        if rep["summary"]["verdict"] != "pass":
            failures += 1
        lines += summary_lines(name, Path(os.path.dirname(rep_path)), rep)
        out.append({"backend": name, "verdict": rep["summary"]["verdict"],
                    "summary": rep["summary"],
                    "tiers_earned": [t["name"] for t in rep["tiers"] if t["earned"]],
                    "report": os.path.join(os.path.dirname(rep_path), "report.html")})
    print("\n".join(lines))
    return out, lines, failures


if __name__ == "__main__":
    sys.exit(main())
