"""`make certify`: lowers and runs the example programs on every sample
delegate that is built, compares with PyTorch, prints what each backend took,
and writes build/reports/certify.json and certify.txt.

Until the conformance suite lands this certifies end-to-end agreement on the
example models only; the conformance issue turns it into per-op
certification.
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile

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
                    ok = got.shape == ref.shape and np.allclose(got, ref, rtol=args.rtol, atol=args.atol)
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
          f"with PyTorch (rtol {args.rtol}, atol {args.atol})")
    with open(os.path.join(args.report_dir, "certify.json"), "w") as f:
        json.dump({"runs": rows, "failures": failures}, f, indent=1)
    with open(os.path.join(args.report_dir, "certify.txt"), "w") as f:
        f.write(summary + "\n")
    print(f"reports: {args.report_dir}/certify.json, certify.txt")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
