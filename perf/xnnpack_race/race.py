"""The XNNPACK race: one script, one run, every engine on the same models.

    python3 perf/xnnpack_race/race.py [--models resnet18,resnet50] [--threads 1,2]
        [--runs 10] [--warmup 3] [--input-size 224] [--skip-peers]
        [--json-out build/reports/xnnpack_race.json]

Columns (batch 1, latency in ms, median of --runs timed runs after --warmup):

  ddk+xnnpack     our runtime, the program lowered to the XNNPACK delegate
                  (build/sample_delegates/libddk_backend_xnnpack.so,
                  "xnnpack.num_threads" = threads)
  ddk portable    our runtime, the portable kernels alone (single-threaded)
  xnnpack direct  a hand-built XNNPACK subgraph of the same model
                  (perf/xnnpack_race/xnnpack_direct), no runtime around it
  onnxruntime     ONNX Runtime, CPU execution provider
  executorch      ExecuTorch with its XNNPACK delegate
  eager           PyTorch eager, torch.set_num_threads(threads), inference_mode

Every configuration runs in a subprocess pinned with taskset to the first
`threads` CPUs (taskset -c 0, taskset -c 0,1): our columns and eager as
`race.py --worker ...` in this Python, the peers in their own venv
(perf/xnnpack_race/peers/setup_venv.sh; worker.py there). A column that cannot
run (not built, not installed, the engine refuses the model) is "n/a" with
its reason; nothing missing stops the race.

Models are the zoo's (ddk.zoo, seed --seed, --input-size): programs are
written by ddk.zoo.write into the cache folder (build/xnnpack_race/s<size>,
reused when present); the peers rebuild the torchvision architecture in their
venv and load the zoo model's weights from there, and the int8 peers quantise
those fp32 weights with their own quantiser, calibrated on the batches the
zoo's int8 model was calibrated on. Every column's output is compared with
the fp32 eager model's (SQNR, dB).

Prints the latency table, the ratios (each column / ddk+xnnpack, and the
delegate overhead ddk+xnnpack / xnnpack direct), the ResNet50 2-thread
speedup; writes everything to --json-out.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "python"))

DEFAULT_MODELS = ("mobilenet_v2", "resnet18", "resnet50", "vit_b_16",
                  "mobilenet_v2_int8", "resnet18_int8")
# (key, header) in table order.
COLUMNS = (
    ("ddk_xnnpack", "ddk+xnnpack"),
    ("ddk_portable", "ddk portable"),
    ("xnnpack_direct", "xnnpack direct"),
    ("onnxruntime", "onnxruntime"),
    ("executorch", "executorch"),
    ("eager", "eager"),
)
PEERS = ("onnxruntime", "executorch")
# The release build (as the tests: DDK_BUILD_DIR, else <repo>/build).
BUILD_DIR = Path(os.environ.get("DDK_BUILD_DIR") or REPO / "build")
DELEGATE = BUILD_DIR / "sample_delegates" / "libddk_backend_xnnpack.so"
DIRECT_SPEC = HERE / "direct_spec.py"
DIRECT_BINARIES = (BUILD_DIR / "perf" / "xnnpack_race" / "xnnpack_direct",
                   REPO / "build-perf" / "perf" / "xnnpack_race" / "xnnpack_direct",
                   HERE / "xnnpack_direct")
WORKER_TIMEOUT_S = 3600
# A measurement taken while other processes used more than this share of its
# CPUs is starred in the table.
NOISY_PCT = 5.0


# ---------------------------------------------------------------------------
# Workers (one configuration, in a pinned subprocess)
# ---------------------------------------------------------------------------

def _time(fn, warmup: int, runs: int) -> list[float]:
    """Milliseconds of each of `runs` calls of fn after `warmup` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter_ns()
        fn()
        times.append((time.perf_counter_ns() - t0) / 1e6)
    return times


def worker_ddk(model: str, cache: Path, threads: int, warmup: int, runs: int,
               delegate: bool) -> tuple[list[float], np.ndarray, dict]:
    """Times the model's program on our runtime: lowered to the XNNPACK
    delegate (`delegate`), or on the portable kernels alone."""
    from ddk import runtime as rt

    r = rt.Runtime()
    prog = rt.load_program(cache / f"{model}.ddk")
    detail = {}
    options = None
    if delegate:
        name = r.add_backend(str(DELEGATE))
        options = {"xnnpack.num_threads": threads}
        prog = r.lower(prog, [name], options=options)
        detail = {"delegates": prog.num_delegates,
                  "portable_instructions": prog.num_kernel_instructions}
    m = r.method(prog, options=options)
    x = np.load(cache / f"{model}.input0.npy")

    def step():
        m.set_inputs([x])
        m.execute()

    times = _time(step, warmup, runs)
    step()
    return times, m.output(0), detail


def worker_eager(model: str, seed: int, input_size: int, threads: int, warmup: int,
                 runs: int) -> tuple[list[float], np.ndarray, dict]:
    """Times the zoo module in PyTorch eager (for *_int8: the converted PT2E
    q/dq graph, which computes in float)."""
    import torch

    from ddk import zoo

    torch.set_num_threads(threads)
    built = zoo.build(model, seed=seed, input_size=input_size)
    with torch.inference_mode():
        times = _time(lambda: built.module(*built.example_inputs), warmup, runs)
        out = built.module(*built.example_inputs)
    return times, out.numpy(), {"torch_threads": torch.get_num_threads()}


def run_worker(args) -> int:
    """`race.py --worker KIND`: runs one configuration, prints one JSON line."""
    threads = args.threads[0]
    try:
        if args.worker == "eager":
            times, out, detail = worker_eager(args.model, args.seed, args.input_size,
                                              threads, args.warmup, args.runs)
        else:
            times, out, detail = worker_ddk(args.model, args.cache, threads,
                                            args.warmup, args.runs,
                                            args.worker == "ddk_xnnpack")
    except Exception as e:  # the column's n/a reason
        print(json.dumps({"error": f"{type(e).__name__}: {e}"[:400]}), flush=True)
        return 1
    if args.out_npy:
        np.save(args.out_npy, np.asarray(out, dtype=np.float32))
    print(json.dumps({"median_ms": statistics.median(times), "times_ms": times,
                      "threads": threads, "os_threads": len(os.listdir("/proc/self/task")),
                      "detail": detail}), flush=True)
    return 0


# ---------------------------------------------------------------------------
# Preparation (main environment, not timed)
# ---------------------------------------------------------------------------

def base_model(model: str) -> str:
    """The fp32 zoo model an int8 one is quantised from."""
    return model.removesuffix("_int8")


def prepare(models: list[str], cache: Path, seed: int, input_size: int,
            log) -> None:
    """Writes, unless present: NAME.ddk + NAME.input0.npy (ddk.zoo.write),
    and for each fp32 base model BASE.weights.npz (its state_dict),
    BASE.ref.npy (its fp32 output), BASE.calib.npy (the zoo's int8
    calibration batches) and NAME.peer.json (the peers' spec)."""
    from ddk import zoo

    cache.mkdir(parents=True, exist_ok=True)
    for model in models:
        if not (cache / f"{model}.ddk").exists():
            zoo.write([model], cache, seed=seed, input_size=input_size, log=log)
        base = base_model(model)
        if not (cache / f"{base}.ref.npy").exists():
            _write_base(base, cache, seed, input_size)
        kwargs = {"image_size": input_size} if base.startswith("vit") else {}
        spec = {"name": model, "fp32_name": base, "ctor": base, "kwargs": kwargs,
                "weights": f"{base}.weights.npz", "input": f"{model}.input0.npy",
                "calibration": f"{base}.calib.npy", "int8": model.endswith("_int8")}
        (cache / f"{model}.peer.json").write_text(json.dumps(spec, indent=1) + "\n")


def _write_base(base: str, cache: Path, seed: int, input_size: int) -> None:
    import torch

    from ddk import zoo
    from ddk.quantize import calibration_batches

    built = zoo.build(base, seed=seed, input_size=input_size)
    state = {k: v.detach().cpu().numpy() for k, v in built.module.state_dict().items()}
    np.savez(cache / f"{base}.weights.npz", **state)
    # The zoo's *_int8 entries calibrate on 4 batches drawn with the seed.
    batches = calibration_batches(built.example_inputs, 4, seed)
    np.save(cache / f"{base}.calib.npy", np.stack([b[0].numpy() for b in batches]))
    with torch.no_grad():
        ref = built.module(*built.example_inputs)
    np.save(cache / f"{base}.ref.npy", ref.numpy())


def direct_binary(explicit: str | None) -> Path | None:
    """The xnnpack_direct driver: --direct-bin, else the first built one."""
    if explicit:
        return Path(explicit)
    return next((p for p in DIRECT_BINARIES if p.exists()), None)


def direct_spec(model: str, cache: Path, seed: int, input_size: int) -> Path:
    """The driver's spec of `model` (perf/xnnpack_race/direct_spec.py writes
    it and its weights, NAME.direct.bin, beside it), written once."""
    out = cache / f"{model}.direct.xspec"
    if not out.exists():
        try:
            subprocess.run([sys.executable, str(DIRECT_SPEC), "--model", model,
                            "--input-size", str(input_size), "--seed", str(seed),
                            "--out", str(out)], check=True, capture_output=True,
                           text=True, timeout=WORKER_TIMEOUT_S)
        except BaseException:
            out.unlink(missing_ok=True)
            raise
    return out


# ---------------------------------------------------------------------------
# The race
# ---------------------------------------------------------------------------

def cpus(threads: int) -> str:
    """taskset CPU list of a `threads`-thread configuration."""
    return ",".join(str(i) for i in range(threads))


def _busy_seconds(cpu_ids: set[int]) -> float:
    """CPU seconds spent so far, by anything, on the CPUs `cpu_ids` (from
    /proc/stat: all but idle and iowait; steal counts as busy)."""
    busy = 0
    for line in Path("/proc/stat").read_text().splitlines():
        name, *vals = line.split()
        if name[:3] == "cpu" and name[3:].isdigit() and int(name[3:]) in cpu_ids:
            v = [int(x) for x in vals[:8]]
            busy += sum(v) - v[3] - v[4]
    return busy / os.sysconf("SC_CLK_TCK")


def _children_cpu_seconds() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _run_pinned(cmd: list[str], threads: int) -> dict:
    """Runs `cmd` under taskset; its last JSON line, or {"na": reason}.
    Adds other_cpu_pct: the CPU time other processes took on the pinned
    CPUs while it ran, in % of its wall time x CPUs (noise indicator)."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), PYTHONUNBUFFERED="1")
    cpu_ids = set(range(threads))
    busy0, own0, t0 = _busy_seconds(cpu_ids), _children_cpu_seconds(), time.monotonic()
    try:
        p = subprocess.run(["taskset", "-c", cpus(threads), *cmd], capture_output=True,
                           text=True, timeout=WORKER_TIMEOUT_S, env=env)
    except subprocess.TimeoutExpired:
        return {"na": f"timed out after {WORKER_TIMEOUT_S} s"}
    wall = time.monotonic() - t0
    other = (_busy_seconds(cpu_ids) - busy0) - (_children_cpu_seconds() - own0)
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    result = json.loads(lines[-1]) if lines else {}
    if result.get("error") or result.get("na"):
        return {"na": result.get("error") or result["na"]}
    if p.returncode != 0 or result.get("median_ms") is None:
        status = (f"killed by signal {-p.returncode}" if p.returncode < 0
                  else f"exit status {p.returncode}")
        tail = p.stderr.strip().splitlines()
        return {"na": status + (f": {tail[-1][:300]}" if tail else "")}
    if "runs_ms" in result:  # the C driver's name for the timed runs
        result["times_ms"] = result.pop("runs_ms")
    result["other_cpu_pct"] = round(max(0.0, 100 * other / (wall * threads)), 1)
    return result


def run_config(column: str, model: str, threads: int, args, venv_python: Path | None,
               direct_bin: Path | None) -> dict:
    """One (column, model, threads) measurement: the worker's JSON, with the
    output's SQNR against fp32 eager, or {"na": reason}."""
    cache = args.cache
    out_npy = cache / f"{model}.{column}.t{threads}.out.npy"
    out_npy.unlink(missing_ok=True)
    common = ["--model", model, "--threads", str(threads), "--warmup", str(args.warmup),
              "--runs", str(args.runs)]
    if column in ("ddk_xnnpack", "ddk_portable", "eager"):
        if column == "ddk_xnnpack" and not DELEGATE.exists():
            return {"na": f"not built ({DELEGATE})"}
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", column, *common,
               "--cache", str(cache), "--seed", str(args.seed),
               "--input-size", str(args.input_size), "--out-npy", str(out_npy)]
    elif column == "xnnpack_direct":
        if direct_bin is None or not direct_bin.exists() or not DIRECT_SPEC.exists():
            return {"na": "not built (perf/xnnpack_race/xnnpack_direct, direct_spec.py)"}
        try:
            spec = direct_spec(model, cache, args.seed, args.input_size)
        except subprocess.CalledProcessError as e:
            tail = (e.stderr or "").strip().splitlines()
            return {"na": f"direct_spec.py failed: {tail[-1] if tail else e.returncode}"}
        except subprocess.TimeoutExpired:
            return {"na": "direct_spec.py timed out"}
        cmd = [str(direct_bin), "--spec", str(spec), "--threads", str(threads),
               "--warmup", str(args.warmup), "--runs", str(args.runs),
               "--check", str(out_npy)]
    else:
        if args.skip_peers:
            return {"na": "skipped (--skip-peers)"}
        if venv_python is None:
            return {"na": f"peers venv missing ({args.venv}): run "
                          "perf/xnnpack_race/peers/setup_venv.sh"}
        cmd = [str(venv_python), str(HERE / "peers" / "worker.py"), "--engine", column,
               "--spec", str(cache / f"{model}.peer.json"), "--threads", str(threads),
               "--warmup", str(args.warmup), "--runs", str(args.runs),
               "--out-npy", str(out_npy)]
    result = _run_pinned(cmd, threads)
    if "median_ms" in result and out_npy.exists():
        from ddk.compare import sqnr_db

        ref = np.load(cache / f"{base_model(model)}.ref.npy")
        got = np.load(out_npy)
        if got.size == ref.size:
            s = sqnr_db(ref, got.reshape(ref.shape))
            result["sqnr_db"] = None if math.isinf(s) else round(s, 1)
    return result


def measure(column: str, model: str, threads: int, args, venv_python: Path | None,
            direct_bin: Path | None) -> dict:
    """run_config, run again (at most --retries times) while other processes
    took more than NOISY_PCT of the pinned CPUs; keeps the quietest run and
    records how many were made (attempts)."""
    best = None
    for attempt in range(1, args.retries + 2):
        r = run_config(column, model, threads, args, venv_python, direct_bin)
        if "median_ms" not in r:
            return r if best is None else best
        if best is None or r["other_cpu_pct"] < best["other_cpu_pct"]:
            best = r
        if r["other_cpu_pct"] <= NOISY_PCT:
            break
    best["attempts"] = attempt
    return best


def ratios(row: dict) -> dict:
    """Each column / ddk+xnnpack, and the delegate overhead (ddk+xnnpack /
    xnnpack direct); None where a side is n/a."""
    def ms(col):
        return row.get(col, {}).get("median_ms")

    ours = ms("ddk_xnnpack")
    out = {col: (ms(col) / ours if ours and ms(col) else None)
           for col, _ in COLUMNS if col != "ddk_xnnpack"}
    direct = ms("xnnpack_direct")
    out["delegate_overhead"] = ours / direct if ours and direct else None
    return out


def _fmt(v: float | None, suffix: str = "") -> str:
    if v is None:
        return "n/a"
    return f"{v:.2f}{suffix}" if v < 100 else f"{v:.1f}{suffix}"


def format_tables(report: dict) -> str:
    """The text tables of a report: latencies, ratios, n/a reasons, speedup."""
    lines = []
    width = max(len(m) for m in report["models"]) + 2
    heads = [h for _, h in COLUMNS]
    cw = max(len(h) for h in heads) + 2
    for t in report["threads"]:
        results = report["results"][str(t)]
        lines.append(f"\n== {t} thread{'s' if t > 1 else ''} (taskset -c {cpus(t)}), "
                     f"input {report['input_size']}, batch 1, median of "
                     f"{report['runs']} runs after {report['warmup']} warm-up, ms")
        lines.append("model".ljust(width) + "".join(h.rjust(cw) for h in heads))
        reasons = {}
        noisy = False
        for model in report["models"]:
            cells = []
            for col, _ in COLUMNS:
                r = results[model][col]
                if "median_ms" in r:
                    star = r.get("other_cpu_pct", 0) > NOISY_PCT
                    noisy |= star
                    cells.append(_fmt(r["median_ms"]) + ("*" if star else ""))
                else:
                    mark = reasons.setdefault(r["na"], len(reasons) + 1)
                    cells.append(f"n/a[{mark}]")
            lines.append(model.ljust(width) + "".join(c.rjust(cw) for c in cells))
        if noisy:
            lines.append(f"  *: other processes took more than {NOISY_PCT:.0f}% of the "
                         f"pinned CPUs meanwhile, in each of the {report['retries'] + 1} "
                         "tries (other_cpu_pct in the JSON)")
        lines.append("ratio: column / ddk+xnnpack (>1: ddk+xnnpack is faster); "
                     "overhead: ddk+xnnpack / xnnpack direct")
        rheads = [h for c, h in COLUMNS if c != "ddk_xnnpack"] + ["overhead"]
        lines.append("model".ljust(width) + "".join(h.rjust(cw) for h in rheads))
        for model in report["models"]:
            rr = report["ratios"][str(t)][model]
            cells = [_fmt(rr[c], "x") for c, _ in COLUMNS if c != "ddk_xnnpack"]
            cells.append(_fmt(rr["delegate_overhead"], "x"))
            lines.append(model.ljust(width) + "".join(c.rjust(cw) for c in cells))
        for reason, mark in reasons.items():
            lines.append(f"  n/a[{mark}]: {reason}")
    sp = report["speedup_2t"].get("resnet50", {})
    if sp:
        lines.append("\nResNet50 speedup, 1-thread / 2-thread latency: "
                     + ", ".join(f"{h} {_fmt(sp.get(c), 'x')}" for c, h in COLUMNS))
    return "\n".join(lines)


def race(args) -> dict:
    """Runs every configuration; returns the report (also written as JSON)."""
    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    prepare(args.models, args.cache, args.seed, args.input_size, log)
    venv_python = args.venv / "bin" / "python"
    venv_python = venv_python if venv_python.exists() else None
    direct_bin = direct_binary(args.direct_bin)
    results = {}
    for t in args.threads:
        results[str(t)] = {}
        for model in args.models:
            row = results[str(t)][model] = {}
            for col, head in COLUMNS:
                r = row[col] = measure(col, model, t, args, venv_python, direct_bin)
                log(f"[race] {t}t {model:<18} {head:<15} "
                    + (f"{r['median_ms']:.3f} ms (other processes: "
                       f"{r['other_cpu_pct']:.0f}% of the CPUs)" if "median_ms" in r
                       else f"n/a: {r['na']}"))
    report = {
        "input_size": args.input_size, "seed": args.seed, "batch": 1,
        "warmup": args.warmup, "runs": args.runs, "threads": args.threads,
        "retries": args.retries, "noisy_pct": NOISY_PCT,
        "models": args.models, "columns": dict(COLUMNS),
        "pinning": {str(t): f"taskset -c {cpus(t)}" for t in args.threads},
        "machine": {"cpu": _cpu_name(), "online_cpus": os.cpu_count(),
                    "python": platform.python_version()},
        "results": results,
        "ratios": {str(t): {m: ratios(results[str(t)][m]) for m in args.models}
                   for t in args.threads},
        "speedup_2t": {},
    }
    if 1 in args.threads and 2 in args.threads:
        for m in args.models:
            a, b = results["1"][m], results["2"][m]
            report["speedup_2t"][m] = {
                c: (a[c]["median_ms"] / b[c]["median_ms"]
                    if "median_ms" in a[c] and "median_ms" in b[c] else None)
                for c, _ in COLUMNS}
    return report


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _csv(kind):
    return lambda s: [kind(v) for v in s.split(",") if v]


def main(argv=None) -> int:
    """Command line: the race, or (--worker) one pinned configuration."""
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", type=_csv(str), default=list(DEFAULT_MODELS),
                    help="comma-separated zoo names (default: %(default)s)")
    ap.add_argument("--threads", type=_csv(int), default=[1, 2],
                    help="comma-separated thread counts (default: 1,2)")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--input-size", type=int, default=224)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--retries", type=int, default=2,
                    help="runs of a configuration made again while other processes "
                         f"take more than {NOISY_PCT:.0f}%% of its CPUs (default 2)")
    ap.add_argument("--skip-peers", action="store_true",
                    help="leave out ONNX Runtime and ExecuTorch")
    ap.add_argument("--json-out", type=Path,
                    default=REPO / "build" / "reports" / "xnnpack_race.json")
    ap.add_argument("--cache", type=Path, default=None,
                    help="programs, weights and peer artefacts "
                         "(default: build/xnnpack_race/s<input-size>)")
    ap.add_argument("--venv", type=Path, default=REPO / "build" / "perf-peers-venv",
                    help="the peers' venv (perf/xnnpack_race/peers/setup_venv.sh)")
    ap.add_argument("--direct-bin", help="the xnnpack_direct driver (default: "
                    "the first of " + ", ".join(map(str, DIRECT_BINARIES)) + ")")
    ap.add_argument("--worker", choices=("ddk_xnnpack", "ddk_portable", "eager"),
                    help=argparse.SUPPRESS)
    ap.add_argument("--model", help=argparse.SUPPRESS)
    ap.add_argument("--out-npy", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    args.runs = max(1, args.runs)
    if args.cache is None:
        args.cache = REPO / "build" / "xnnpack_race" / f"s{args.input_size}"
    os.environ.setdefault("DDK_LIBRARY", str(BUILD_DIR / "libddk.so"))
    if args.worker:
        return run_worker(args)
    if shutil.which("taskset") is None:
        ap.error("taskset (util-linux) is needed to pin the configurations")
    bad = [t for t in args.threads if t < 1 or t > (os.cpu_count() or 1)]
    if bad:
        ap.error(f"--threads {bad}: this machine has {os.cpu_count()} CPUs")
    from ddk import zoo

    vision = [n for n in zoo.names() if zoo.get(n).default_input_size]
    bad = [m for m in args.models if m not in vision]
    if bad:
        ap.error(f"--models {','.join(bad)}: the race takes the zoo's vision models "
                 f"({', '.join(vision)})")
    if args.input_size % 16 and any(m.startswith("vit") for m in args.models):
        ap.error("vit_b_16 needs an --input-size that is a multiple of 16")
    report = race(args)
    print(format_tables(report))
    args.json_out.parent.mkdir(parents=True, exist_ok=True)
    args.json_out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"\nwrote {args.json_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
