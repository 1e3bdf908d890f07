#!/usr/bin/env python3
"""vk_bench.py — micro-benchmarks of the Vulkan delegate, labelled with the
device they ran on ("CPU-emulated" for lavapipe):

  * per-dispatch host overhead: a chain of k dependent elementwise ops in
    one partition, execute wall time against k (the slope is the cost of
    one more dispatch and its barrier, the intercept the fixed cost of an
    execute: copies, submit, fence);
  * upload / download bandwidth: the delegate's COPY events (host copies
    into the mapped or staging memory and back) for 1 to 64 MiB tensors,
    on the mapped path and on the staging path (vulkan.staging=true, what
    a discrete GPU takes);
  * GEMM and convolution GFLOP/s from the GPU timestamps of the dispatch
    (and, for reference, from the execute's wall time).

    python3 perf/vulkan/vk_bench.py [--quick] [--json OUT]
        [--option vulkan.device=1] [--plugin PATH]

Needs the built plugin (build/sample_delegates/libddk_backend_vulkan.so),
torch and the ddk Python package (python/).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("DDK_BUILD_DIR", os.path.join(ROOT, "build"))
sys.path.insert(0, os.path.join(ROOT, "python"))
os.environ.setdefault("DDK_LIBRARY", os.path.join(BUILD, "libddk.so"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import ddk  # noqa: E402


def _typed(v: str):
    if v in ("true", "false"):
        return v == "true"
    for t in (int, float):
        try:
            return t(v)
        except ValueError:
            pass
    return v


class Bench:
    def __init__(self, plugin: str, options: dict):
        self.plugin = plugin
        self.options = options
        self.rt = ddk.Runtime()
        self.name = self.rt.add_backend(plugin)
        info = [b for b in self.rt.backends() if b["name"] == self.name][0]
        if not info["available"]:
            raise SystemExit(f"vulkan backend unavailable: {info['detail']}")
        kind = "GPU"
        for k in ("CPU-emulated", "integrated GPU", "discrete GPU", "virtual GPU"):
            if k in info["detail"]:
                kind = k
        self.device = f"{info['device_name']} ({kind})"
        self.detail = info["detail"]

    def lower(self, module, args, extra=None):
        opts = dict(self.options, **(extra or {}))
        prog = ddk.export(module, args)
        low = self.rt.lower(prog.to_bytes(), [self.name], options=opts)
        return low, opts

    def time_execute(self, low, opts, inputs, reps):
        """Median execute wall time (s) and the profiled events of one run."""
        with self.rt.method(low, options=opts) as m:
            m(*inputs)  # first run: the driver compiles lazily
            times = []
            for _ in range(reps):
                t = time.perf_counter()
                m(*inputs)
                times.append(time.perf_counter() - t)
        with self.rt.method(low, options=dict(opts, profile=True)) as m:
            m(*inputs)
            m(*inputs)
            events = m.backend_events()
        return statistics.median(times), events


class Chain(torch.nn.Module):
    def __init__(self, k):
        super().__init__()
        self.k = k

    def forward(self, x):
        for i in range(self.k):
            x = torch.relu(x) if i % 2 == 0 else x * 1.5
        return x


class Scale(torch.nn.Module):
    def forward(self, x):
        return x * 2.0


class MM(torch.nn.Module):
    def forward(self, a, b):
        return a @ b


def bench_overhead(b: Bench, quick: bool):
    ks = [1, 8, 32] if quick else [1, 8, 32, 128]
    x = torch.randn(64)
    rows = []
    for k in ks:
        low, opts = b.lower(Chain(k), (x,))
        wall, events = b.time_execute(low, opts, [x.numpy()], 20 if quick else 50)
        gpu = sum(int(e["detail"].get("gpu_ns", 0)) for e in events if e["kind"] == "op")
        rows.append({"dispatches": k, "execute_us": wall * 1e6, "gpu_us": gpu / 1e3})
    xs = np.array([r["dispatches"] for r in rows], dtype=float)
    ys = np.array([r["execute_us"] for r in rows])
    slope, icpt = np.polyfit(xs, ys, 1)
    return {"rows": rows, "per_dispatch_us": float(slope), "fixed_us": float(icpt)}


def bench_bandwidth(b: Bench, quick: bool):
    sizes = [1, 16] if quick else [1, 16, 64]
    out = []
    for staging in (False, True):
        for mib in sizes:
            n = mib * (1 << 20) // 4
            x = torch.randn(n)
            low, opts = b.lower(Scale(), (x,), {"vulkan.staging": staging})
            wall, events = b.time_execute(low, opts, [x.numpy()], 5 if quick else 10)
            cin = [e for e in events if e["kind"] == "copy" and "inputs" in e["name"]][-1]
            cout = [e for e in events if e["kind"] == "copy" and "outputs" in e["name"]][-1]
            op = [e for e in events if e["kind"] == "op"][-1]
            nbytes = n * 4
            out.append({
                "path": "staging" if staging else "mapped", "MiB": mib,
                "upload_GBps": nbytes / max(cin["end_ns"] - cin["start_ns"], 1),
                "download_GBps": nbytes / max(cout["end_ns"] - cout["start_ns"], 1),
                "device_rw_GBps": 2 * nbytes / max(int(op["detail"]["gpu_ns"]), 1),
                "execute_ms": wall * 1e3,
            })
    return out


def _gflops(events, name):
    ops = [e for e in events if e["kind"] == "op" and e["name"] == name]
    flops = sum(e["flops"] for e in ops)
    ns = sum(int(e["detail"]["gpu_ns"]) for e in ops)
    return flops, ns, ops[-1]["detail"]["kernel"] if ops else ""


def bench_gemm(b: Bench, quick: bool):
    sizes = [(256, 256, 256), (512, 512, 512)] if quick else \
        [(256, 256, 256), (512, 512, 512), (1024, 1024, 1024), (16, 4096, 4096)]
    out = []
    for m, k, n in sizes:
        a, w = torch.randn(m, k), torch.randn(k, n)
        low, opts = b.lower(MM(), (a, w))
        wall, events = b.time_execute(low, opts, [a.numpy(), w.numpy()], 3 if quick else 5)
        flops, ns, kern = _gflops(events, "aten::mm")
        out.append({"M": m, "K": k, "N": n, "kernel": kern, "gpu_GFLOPs": flops / max(ns, 1),
                    "wall_GFLOPs": 2 * m * n * k / wall / 1e9})
    return out


CONVS = [  # (name, Cin, Cout, HW, k, stride, groups)
    ("3x3 64->64 @56", 64, 64, 56, 3, 1, 1),
    ("1x1 256->64 @56", 256, 64, 56, 1, 1, 1),
    ("3x3/2 128->256 @28", 128, 256, 28, 3, 2, 1),
    ("dw 3x3 x144 @56", 144, 144, 56, 3, 1, 144),
]


def bench_conv(b: Bench, quick: bool):
    out = []
    for name, cin, cout, hw, k, s, g in (CONVS[:2] if quick else CONVS):
        torch.manual_seed(0)
        conv = torch.nn.Conv2d(cin, cout, k, stride=s, padding=k // 2, groups=g).eval()
        x = torch.randn(1, cin, hw, hw)
        low, opts = b.lower(conv, (x,))
        wall, events = b.time_execute(low, opts, [x.numpy()], 3 if quick else 5)
        flops, ns, kern = _gflops(events, "aten::convolution")
        out.append({"conv": name, "kernel": kern, "gpu_GFLOPs": flops / max(ns, 1),
                    "wall_GFLOPs": flops / wall / 1e9})
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--plugin", default=os.path.join(BUILD, "sample_delegates",
                                                     "libddk_backend_vulkan.so"))
    ap.add_argument("--option", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--quick", action="store_true", help="fewer sizes and repetitions")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args(argv)
    opts = {}
    for o in args.option:
        k, v = o.split("=", 1)
        opts[k] = _typed(v)
    torch.manual_seed(0)
    b = Bench(args.plugin, opts)
    print(f"device: {b.device}\n  {b.detail}")
    res = {"device": b.device, "detail": b.detail, "options": opts}
    res["overhead"] = ov = bench_overhead(b, args.quick)
    print(f"\nper-dispatch overhead: {ov['per_dispatch_us']:.1f} us per dispatch, "
          f"{ov['fixed_us']:.1f} us per execute")
    for r in ov["rows"]:
        print(f"  {r['dispatches']:4d} dispatches: execute {r['execute_us']:9.1f} us, "
              f"GPU {r['gpu_us']:9.1f} us")
    res["bandwidth"] = bw = bench_bandwidth(b, args.quick)
    print("\nhost <-> device copies (GB/s)")
    for r in bw:
        print(f"  {r['path']:8s} {r['MiB']:3d} MiB: upload {r['upload_GBps']:6.2f}  download "
              f"{r['download_GBps']:6.2f}  device read+write {r['device_rw_GBps']:6.2f}  "
              f"(execute {r['execute_ms']:.2f} ms)")
    res["gemm"] = gm = bench_gemm(b, args.quick)
    print("\nGEMM (mm) GFLOP/s")
    for r in gm:
        print(f"  {r['M']:5d}x{r['K']:5d}x{r['N']:5d} {r['kernel']:16s} GPU {r['gpu_GFLOPs']:7.2f}"
              f"  wall {r['wall_GFLOPs']:7.2f}")
    res["conv"] = cv = bench_conv(b, args.quick)
    print("\nconvolution GFLOP/s")
    for r in cv:
        print(f"  {r['conv']:20s} {r['kernel']:16s} GPU {r['gpu_GFLOPs']:7.2f}  wall "
              f"{r['wall_GFLOPs']:7.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)
        print(f"\nwrote {args.json}")
    b.rt.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
