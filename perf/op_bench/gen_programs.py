#!/usr/bin/env python3
"""Writes the op benchmark's programs: one single-op .ddk per op-table row
with a `bench` cell, and the sidecar op_bench.json that perf/op_bench's
C++ binary (op_bench) reads.

The bench cell (ir_ops/op_table.tsv, parsed by ddk.op_cost.parse_bench) is the
argument list of one representative call: T(...) a program input, W(...) a
constant, I(..., hi=N) an int64 index input, B(...) a bool input, other
arguments literals. The op is called once in PyTorch on such arguments to
get its outputs' dtypes and shapes; the program is built with
ddk.program.Program; FLOPs and bytes come from ddk.op_cost (the `cost`
column).

op_bench.json:
  {"table_hash": "0x...", "ops": [{
      "op": "aten::mm", "program": "aten_mm.ddk", "flops": 16777216,
      "bytes": 524288, "nodes": 1,
      "inputs": [{"dtype": "float32", "shape": [128, 256], "lo": -1, "hi": 1}],
      "outputs": [{"dtype": "float32", "shape": [128, 256]}]}, ...]}
op_bench fills input k with values in [lo, hi) (integers for integer
dtypes, 0/1 for bool) from a fixed seed.

Usage:
  python3 perf/op_bench/gen_programs.py --out build/op_bench_programs [--ops aten::mm ...]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
for _p in (REPO / "python", REPO / "ir_ops"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

import numpy as np  # noqa: E402

import gen_ops  # noqa: E402
from ddk import op_cost  # noqa: E402
from ddk.ops_meta import OPS, OP_TABLE_HASH  # noqa: E402
from ddk.program import Program, TensorSpec  # noqa: E402

SIDECAR = "op_bench.json"


def _torch():
    import torch
    import torch.ao.quantization.fx._decomposed  # noqa: F401 (registers ops)
    torch.set_num_threads(1)
    return torch


def _data(spec: dict, rng: np.random.Generator) -> np.ndarray:
    """Values for a T/W/I/B spec (the same rule op_bench uses for inputs,
    not the same stream: only dtypes and shapes matter to PyTorch here)."""
    shape, dt, lo, hi = spec["sizes"], spec["dtype"], spec["lo"], spec["hi"]
    if dt == "bool":
        return rng.integers(0, 2, size=shape).astype(np.bool_)
    if dt.startswith(("int", "uint")):
        return rng.integers(int(np.ceil(lo)), int(np.ceil(hi)), size=shape).astype(dt)
    return rng.uniform(lo, hi, size=shape).astype(dt)


def _torch_op(torch, name: str):
    ns, _, rest = name.partition("::")
    base, _, overload = rest.partition(".")
    return getattr(getattr(getattr(torch.ops, ns), base), overload or "default")


def _torch_value(torch, param: dict, value):
    if param["kind"] == "SCALAR_TYPE" and isinstance(value, str):
        return getattr(torch, value)
    return value


def build(op: dict, rng: np.random.Generator) -> tuple:
    """(Program, sidecar entry without "program") for one op's bench call."""
    torch = _torch()
    given = op_cost.parse_bench(op["bench"], op["params"])
    params = op["params"]
    p = Program()
    node_args, torch_kwargs, inputs = {}, {}, []

    def tensor(spec, name):
        arr = _data(spec, rng)
        if spec["ctor"] == "W":
            v = p.add_constant(arr, name=name)
        else:
            v = p.add_input(spec["dtype"], spec["sizes"], name=name)
            inputs.append({"dtype": spec["dtype"], "shape": spec["sizes"],
                           "lo": spec["lo"], "hi": spec["hi"]})
        return v, torch.from_numpy(arr.copy())

    for i in sorted(given):
        val, prm = given[i], params[i]
        if isinstance(val, dict):
            node_args[prm["name"]], torch_kwargs[prm["name"]] = tensor(val, f"a{i}")
        elif prm["kind"] == "TENSOR_LIST":
            pairs = [tensor(t, f"a{i}_{k}") if t is not None else (None, None)
                     for k, t in enumerate(val)]
            node_args[prm["name"]] = [v for v, _ in pairs]
            torch_kwargs[prm["name"]] = [tt for _, tt in pairs]
        else:
            node_args[prm["name"]] = val
            torch_kwargs[prm["name"]] = _torch_value(torch, prm, val)
    res = _torch_op(torch, op["name"])(**torch_kwargs)
    results = list(res) if isinstance(res, (tuple, list)) else [res]
    specs = [TensorSpec(str(r.dtype).replace("torch.", ""), list(r.shape)) for r in results]
    node = p.add_node(op["name"], kwargs=node_args, outputs=specs, name=op["name"])
    for v in node.outputs:
        p.add_output(v)
    c = op_cost.program_costs(p)[0]
    entry = {"op": op["name"], "flops": c["flops"], "bytes": c["bytes"], "nodes": 1,
             "inputs": inputs,
             "outputs": [{"dtype": s.dtype_name, "shape": list(s.sizes)} for s in specs]}
    return p, entry


def bench_ops(names=None) -> list:
    """The op-table rows with a bench cell (those named, when `names`)."""
    ops = [o for o in OPS if o["bench"]]
    if names:
        unknown = set(names) - {o["name"] for o in ops}
        if unknown:
            raise SystemExit("gen_programs: no bench cell for: " + ", ".join(sorted(unknown)))
        ops = [o for o in ops if o["name"] in set(names)]
    return ops


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument("--ops", nargs="+", metavar="OP", help="only these ops")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    entries = []
    for op in bench_ops(args.ops):
        rng = np.random.default_rng(op["id"])
        try:
            prog, entry = build(op, rng)
        except Exception as e:  # a bad bench cell: say which, keep going
            print(f"gen_programs: {op['name']}: {type(e).__name__}: {e}", file=sys.stderr)
            return 1
        entry["program"] = gen_ops.ident(op["name"]) + ".ddk"
        prog.save(out / entry["program"])
        entries.append(entry)
    side = {"table_hash": "0x%016x" % OP_TABLE_HASH, "ops": entries}
    tmp = out / (SIDECAR + ".tmp.%d" % os.getpid())
    tmp.write_text(json.dumps(side, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, out / SIDECAR)
    print(f"gen_programs: {len(entries)} programs in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
