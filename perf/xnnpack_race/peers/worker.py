"""One peer configuration of the XNNPACK race, run inside the peers' venv
(build/perf-peers-venv, made by setup_venv.sh) and pinned by race.py:

    taskset -c 0 build/perf-peers-venv/bin/python perf/xnnpack_race/peers/worker.py \\
        --engine executorch --spec build/xnnpack_race/s224/resnet18.peer.json \\
        --threads 1 --warmup 3 --runs 10 --out-npy /tmp/out.npy

The spec (written by race.py in the main environment) names the torchvision
constructor and its arguments, the fp32 weights (.npz of the zoo model's
state_dict), the input (.npy) and, for int8, the calibration batches
(.npy, the batches the zoo's own int8 model was calibrated on). The model is
rebuilt here, under this venv's torch, and loaded with those weights; the
engine's artefact (.pte, .onnx) is exported next to the spec once and reused.

Engines:
  executorch   torch.export -> to_edge_transform_and_lower(XnnpackPartitioner)
               -> to_executorch(), run by executorch.runtime; int8 by PT2E with
               ExecuTorch's XNNPACKQuantizer (symmetric, per-channel weights).
               Its threadpool is resized to --threads before the program loads.
  onnxruntime  torch.onnx.export, CPU execution provider, intra-op threads =
               --threads, inter-op 1, every graph optimisation; int8 by
               quantize_static (QDQ, per-channel int8 weights, uint8
               activations) on the same calibration batches.

Prints one JSON line: {"median_ms", "times_ms", "threads", "os_threads",
"detail"}, or {"error": "..."} (exit status 1) when the engine cannot run the
model.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np


def _os_threads() -> int:
    """Threads of this process now (the engine's pool included)."""
    return len(os.listdir("/proc/self/task"))


def build_model(spec: dict, base: Path):
    """The torchvision model of `spec`, with the zoo's weights, in eval mode."""
    import torch
    import torchvision

    model = getattr(torchvision.models, spec["ctor"])(weights=None, **spec["kwargs"])
    with np.load(base / spec["weights"]) as z:
        state = {k: torch.from_numpy(z[k]) for k in z.files}
    model.load_state_dict(state, strict=True)
    return model.eval()


def _calibration(spec: dict, base: Path) -> np.ndarray:
    return np.load(base / spec["calibration"])


# -- ExecuTorch ---------------------------------------------------------------

def export_executorch(spec: dict, base: Path, x: np.ndarray, path: Path) -> None:
    """Writes the .pte of `spec` (XNNPACK-delegated; int8 when spec["int8"])."""
    import torch
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import \
        XnnpackPartitioner
    from executorch.exir import to_edge_transform_and_lower

    model = build_model(spec, base)
    inputs = (torch.from_numpy(x),)
    if spec["int8"]:
        from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
            XNNPACKQuantizer, get_symmetric_quantization_config)
        from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

        quantizer = XNNPACKQuantizer()
        quantizer.set_global(get_symmetric_quantization_config(is_per_channel=True))
        graph = torch.export.export(model, inputs).module()
        prepared = prepare_pt2e(graph, quantizer)
        with torch.no_grad():
            for batch in _calibration(spec, base):
                prepared(torch.from_numpy(batch))
        model = convert_pt2e(prepared)
    exported = torch.export.export(model, inputs)
    edge = to_edge_transform_and_lower(exported, partitioner=[XnnpackPartitioner()])
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(edge.to_executorch().buffer)
    tmp.replace(path)


def run_executorch(spec: dict, base: Path, x: np.ndarray, threads: int,
                   warmup: int, runs: int) -> tuple[list[float], np.ndarray, dict]:
    """Times the ExecuTorch program of `spec` with a `threads`-thread pool."""
    import torch
    from executorch.extension.pybindings import portable_lib
    from executorch.runtime import Runtime

    path = base / f"{spec['name']}.executorch.pte"
    if not path.exists():
        export_executorch(spec, base, x, path)
    # The default pool has one thread per core that cpuinfo sees, whatever
    # the affinity mask: resize it before the delegate is initialised.
    portable_lib._unsafe_reset_threadpool(threads)
    method = Runtime.get().load_program(path).load_method("forward")
    inputs = [torch.from_numpy(x)]
    times = _time(lambda: method.execute(inputs), warmup, runs)
    out = method.execute(inputs)[0].numpy()
    pool = portable_lib._threadpool_get_thread_count()
    if pool != threads:
        raise RuntimeError(f"ExecuTorch threadpool has {pool} threads, not {threads}")
    return times, out, {"pool_threads": pool, "artefact": path.name}


# -- ONNX Runtime ---------------------------------------------------------------

def export_onnx(spec: dict, base: Path, x: np.ndarray, path: Path) -> None:
    """Writes the .onnx of `spec` (fp32, or QDQ int8 when spec["int8"])."""
    import torch

    fp32 = base / f"{spec['fp32_name']}.onnxruntime.onnx"
    if not fp32.exists():
        model = build_model(spec, base)
        tmp = fp32.with_name(fp32.stem + ".tmp.onnx")
        torch.onnx.export(model, (torch.from_numpy(x),), str(tmp), dynamo=True,
                          input_names=["x"], output_names=["y"], external_data=False)
        tmp.replace(fp32)
    if not spec["int8"]:
        return
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat,
                                          QuantType, quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        """Feeds the calibration batches, one per call."""

        def __init__(self, batches: np.ndarray):
            self.batches = iter(batches)

        def get_next(self):
            b = next(self.batches, None)
            return None if b is None else {"x": b}

    pre = path.with_name(path.stem + ".pre.onnx")
    quant_pre_process(str(fp32), str(pre))
    tmp = path.with_name(path.stem + ".tmp.onnx")
    quantize_static(str(pre), str(tmp), Reader(_calibration(spec, base)),
                    quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    pre.unlink()
    tmp.replace(path)


def run_onnxruntime(spec: dict, base: Path, x: np.ndarray, threads: int,
                    warmup: int, runs: int) -> tuple[list[float], np.ndarray, dict]:
    """Times the ONNX Runtime session of `spec` on the CPU provider."""
    import onnxruntime as ort

    path = base / f"{spec['name']}.onnxruntime.onnx"
    if not path.exists():
        export_onnx(spec, base, x, path)
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    feed = {name: x}
    times = _time(lambda: sess.run(None, feed), warmup, runs)
    out = sess.run(None, feed)[0]
    return times, out, {"providers": sess.get_providers(), "artefact": path.name}


# -- timing ---------------------------------------------------------------------

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


ENGINES = {"executorch": run_executorch, "onnxruntime": run_onnxruntime}


def main(argv=None) -> int:
    """Runs one configuration and prints its JSON line."""
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--engine", choices=sorted(ENGINES), required=True)
    ap.add_argument("--spec", required=True, type=Path)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--out-npy", type=Path)
    args = ap.parse_args(argv)
    try:
        import torch

        torch.set_num_threads(args.threads)
        spec = json.loads(args.spec.read_text())
        base = args.spec.parent
        x = np.load(base / spec["input"])
        times, out, detail = ENGINES[args.engine](spec, base, x, args.threads,
                                                  args.warmup, max(1, args.runs))
    except Exception as e:  # reported as the column's n/a reason
        print(json.dumps({"error": f"{type(e).__name__}: {e}"[:400]}), flush=True)
        return 1
    if args.out_npy:
        np.save(args.out_npy, np.asarray(out, dtype=np.float32))
    print(json.dumps({"median_ms": statistics.median(times), "times_ms": times,
                      "threads": args.threads, "os_threads": _os_threads(),
                      "detail": detail}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
