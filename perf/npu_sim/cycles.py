"""The emulated NPU's cost model next to the wall time of its emulation.

For each zoo int8 model: lower it to npu_sim, run it once with profiling
to collect the per-layer events (model cycles, DMA bytes, MACs, MAC
utilisation, tiles), then time the emulation (pinned, median of --runs
after --warmup) and the same program on the portable kernels. Prints a
per-model table (and, with --layers, the per-layer one) and writes JSON.

    python3 perf/npu_sim/cycles.py                      # 224x224, both models
    python3 perf/npu_sim/cycles.py --input-size 64 --runs 3 --layers
    python3 perf/npu_sim/cycles.py --option npu_sim.sram_bytes=262144

Model time = cycles / clock (npu_sim.clock_mhz, default 1000 MHz): what
the configured NPU would take; the emulation's wall time is what this
CPU takes to compute the same integers through the emulated SRAM.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))


def _parse_option(text: str):
    key, _, raw = text.partition("=")
    for conv in (int, float):
        try:
            return key, conv(raw)
        except ValueError:
            pass
    if raw.lower() in ("true", "false"):
        return key, raw.lower() == "true"
    return key, raw


def _median_ms(fn, runs: int, warmup: int) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def measure(name: str, program_path: Path, plugin: str, options: dict, runs: int,
            warmup: int, x) -> dict:
    """One model: the profile's figures and the two wall times."""
    import ddk
    with ddk.Runtime() as rt:
        backend = rt.add_backend(plugin)
        prog = ddk.load_program(str(program_path))
        low = rt.lower(prog, [backend], options=options)
        with rt.method(low, {**options, "profile": True}) as m:
            m(x)
            events = m.backend_events()
        layers = [e for e in events if e["kind"] == "op"]
        info = [b for b in rt.backends() if b["name"] == backend][0]
        with rt.method(low, options) as m:
            npu_ms = _median_ms(lambda: m(x), runs, warmup)
        with rt.method(prog) as m:
            portable_ms = _median_ms(lambda: m(x), runs, warmup)
        clock_mhz = int(options.get("npu_sim.clock_mhz", 1000))
        rows = int(options.get("npu_sim.mac_rows", 16))
        cols = int(options.get("npu_sim.mac_cols", 16))
        cycles = sum(e["cycles"] for e in layers)
        macs = sum(e["flops"] for e in layers) // 2
        copies = [e for e in events if e["kind"] == "copy"]
        return {
            "model": name,
            "device": info["device_name"],
            "nodes": low.num_nodes,
            "delegated_nodes": sum(len(d["nodes"]) for d in low.delegates),
            "partitions": low.num_delegates,
            "layers": len(layers),
            "cycles": cycles,
            "model_ms": cycles / (clock_mhz * 1e3),
            "clock_mhz": clock_mhz,
            "macs": macs,
            "mac_utilisation": macs / (cycles * rows * cols) if cycles else 0.0,
            "dma_bytes": sum(e["bytes"] for e in layers),
            "io_copy_bytes": sum(e["bytes"] for e in copies),
            "tiles": sum(int(e["detail"].get("tiles", 0)) for e in layers),
            "emulation_ms": npu_ms,
            "portable_ms": portable_ms,
            "per_layer": [{
                "node": e["node_index"], "name": e["name"], "cycles": e["cycles"],
                "dma_bytes": e["bytes"], "macs": e["flops"] // 2,
                "wall_us": (e["end_ns"] - e["start_ns"]) / 1e3, **e["detail"]}
                for e in layers],
        }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="resnet18_int8,mobilenet_v2_int8")
    ap.add_argument("--input-size", type=int, default=224)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--cpu", type=int, default=0, help="pin to this CPU (-1: no pinning)")
    ap.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                    help="an npu_sim option for lower() and method(), repeatable")
    ap.add_argument("--layers", action="store_true", help="print the per-layer table too")
    ap.add_argument("--build-dir", default=os.environ.get("DDK_BUILD_DIR", str(ROOT / "build")))
    ap.add_argument("--cache", default=None, help="zoo programs (default BUILD/zoo-npu/sN)")
    ap.add_argument("--json-out", default=None, help="default BUILD/reports/npu_sim_cycles.json")
    args = ap.parse_args(argv)

    build = Path(args.build_dir)
    os.environ.setdefault("DDK_LIBRARY", str(build / "libddk.so"))
    plugin = str(build / "sample_delegates" / "libddk_backend_npu_sim.so")
    if not os.path.exists(plugin):
        print(f"npu_sim delegate not built: {plugin} (make build)", file=sys.stderr)
        return 2
    if args.cpu >= 0:
        os.sched_setaffinity(0, {args.cpu})
    import numpy as np
    from ddk import zoo

    options = dict(_parse_option(o) for o in args.option)
    cache = Path(args.cache or build / "zoo-npu" / f"s{args.input_size}")
    cache.mkdir(parents=True, exist_ok=True)
    results = []
    for name in [m for m in args.models.split(",") if m]:
        path = cache / f"{name}.ddk"
        if not path.exists():
            zoo.write([name], cache, seed=0, input_size=args.input_size)
        x = np.random.default_rng(0).standard_normal(
            (1, 3, args.input_size, args.input_size)).astype(np.float32)
        results.append(measure(name, path, plugin, options, args.runs, args.warmup, x))

    print(f"npu_sim cost model vs emulation, {args.input_size}x{args.input_size}, batch 1, "
          f"CPU {args.cpu if args.cpu >= 0 else 'unpinned'}, median of {args.runs}")
    if results:
        print(f"device: {results[0]['device']}, clock {results[0]['clock_mhz']} MHz")
    hdr = ("model", "layers", "parts", "cycles", "model ms", "MAC util", "DMA MB", "tiles",
           "emul ms", "portable ms")
    print(" | ".join(hdr))
    for r in results:
        print(" | ".join([r["model"], str(r["layers"]), str(r["partitions"]), f"{r['cycles']:,}",
                          f"{r['model_ms']:.3f}", f"{100 * r['mac_utilisation']:.1f}%",
                          f"{r['dma_bytes'] / 1e6:.2f}", str(r["tiles"]),
                          f"{r['emulation_ms']:.1f}", f"{r['portable_ms']:.1f}"]))
        if args.layers:
            for layer in r["per_layer"]:
                print(f"    node {layer['node']:4d} {layer['name']:18s} {layer['cycles']:>10,} cyc "
                      f"{layer['dma_bytes']:>9,} B  util {layer.get('util', '?'):>6}  "
                      f"tiles {layer.get('tiles', '?'):>4}  {layer['wall_us']:9.1f} us")
    out = Path(args.json_out or build / "reports" / "npu_sim_cycles.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"input_size": args.input_size, "runs": args.runs,
                               "options": options, "models": results}, indent=1))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
