"""Compare a program's outputs with the PyTorch module it came from.

    ddk compare build/zoo/resnet18.ddk --module resnet18
    ddk compare model.ddk --module my_models.py:make_model --input x.npy

The program runs on the DDK runtime (portable kernels, or lowered for the
backends given); the module runs in PyTorch eager (for a zoo ``*_int8``
model: the converted q/dq graph, PyTorch's quantized reference). Per output
it reports the shape, max abs error, max |reference| and SQNR, and whether
the output is within the tolerance (the zoo model's, or the one given).

Where the module comes from:

* a zoo name: built with the seed and input size recorded in the program's
  sidecar ``NAME.json`` (written by ``ddk zoo build``) unless given;
* ``path/to/file.py:callable`` or ``package.module:callable``: the callable
  returns an ``nn.Module`` or ``(module, example_inputs)``.

Inputs: ``--input`` .npy files, else those the sidecar names, else the zoo
model's seeded example inputs, else seeded random data shaped like the
program's inputs.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

__all__ = ["OutputReport", "LayerReport", "compare_outputs", "compare", "int8_layers",
           "load_module", "format_report", "sqnr_db"]


@dataclass
class OutputReport:
    """How one program output compares with the module's."""

    index: int
    shape: tuple
    dtype: str
    max_abs: float
    ref_max_abs: float
    sqnr_db: float  # inf when exact
    ok: bool
    why: str = ""

    def to_json(self) -> dict:
        d = dict(self.__dict__)
        d["shape"] = list(self.shape)
        d["sqnr_db"] = None if math.isinf(self.sqnr_db) else self.sqnr_db
        return d


def sqnr_db(want: np.ndarray, got: np.ndarray) -> float:
    """10 log10(sum want^2 / sum (got - want)^2), in float64; inf when equal."""
    w = want.astype(np.float64)
    err = float(np.sum((got.astype(np.float64) - w) ** 2))
    signal = float(np.sum(w * w))
    if err == 0.0:
        return math.inf
    if signal == 0.0:
        return -math.inf
    return 10.0 * math.log10(signal / err)


def compare_outputs(got: Sequence[np.ndarray], want: Sequence[np.ndarray],
                    tolerance) -> list[OutputReport]:
    """Per-output reports of `got` (program) against `want` (module) under a
    :class:`ddk.zoo.Tolerance`."""
    reports = []
    if len(got) != len(want):
        raise ValueError(f"the program has {len(got)} outputs, the module "
                         f"{len(want)}")
    for i, (g, w) in enumerate(zip(got, want)):
        g = np.asarray(g)
        w = np.asarray(w)
        if g.shape != w.shape or g.dtype != w.dtype:
            reports.append(OutputReport(i, g.shape, str(g.dtype), math.nan, math.nan,
                                        -math.inf, False,
                                        f"program gives {g.dtype}{list(g.shape)}, "
                                        f"module {w.dtype}{list(w.shape)}"))
            continue
        if g.size == 0:
            reports.append(OutputReport(i, g.shape, str(g.dtype), 0.0, 0.0,
                                        math.inf, True))
            continue
        if g.dtype.kind in "biu":
            diff = np.abs(g.astype(np.int64) - w.astype(np.int64))
        else:
            diff = np.abs(g.astype(np.float64) - w.astype(np.float64))
        both_nan = np.isnan(g) & np.isnan(w) if g.dtype.kind == "f" else False
        diff = np.where(both_nan, 0.0, diff)
        max_abs = float(np.max(diff)) if diff.size else 0.0
        ref_max = float(np.max(np.abs(np.where(np.isfinite(w), w, 0)))) \
            if g.dtype.kind == "f" else float(np.max(np.abs(w)))
        s = sqnr_db(np.where(both_nan, 0, w), np.where(both_nan, 0, g))
        bound = tolerance.rel * ref_max + tolerance.abs_
        why = []
        if not max_abs <= bound:
            why.append(f"max abs error {max_abs:.3g} > {bound:.3g}")
        if not s >= tolerance.min_sqnr_db:
            why.append(f"SQNR {s:.1f} dB < {tolerance.min_sqnr_db} dB")
        reports.append(OutputReport(i, g.shape, str(g.dtype), max_abs, ref_max, s,
                                    not why, "; ".join(why)))
    return reports


def load_module(spec: str):
    """(module, example_inputs or None) from "file.py:callable" or
    "package.module:callable"."""
    if ":" not in spec:
        raise ValueError(f"{spec!r} is not a zoo model (ddk zoo list) nor "
                         "path/to/file.py:callable or package.module:callable")
    where, attr = spec.rsplit(":", 1)
    if where.endswith(".py"):
        path = Path(where)
        if not path.is_file():
            raise ValueError(f"{spec!r}: {path} is not a file")
        mod_spec = importlib.util.spec_from_file_location(path.stem, path)
        mod = importlib.util.module_from_spec(mod_spec)
        mod_spec.loader.exec_module(mod)
    else:
        mod = importlib.import_module(where)
    fn = getattr(mod, attr, None)
    if fn is None:
        raise ValueError(f"{spec!r}: {where} has no {attr!r}")
    made = fn() if callable(fn) and not hasattr(fn, "forward") else fn
    if isinstance(made, tuple):
        module, inputs = made[0], tuple(made[1])
    else:
        module, inputs = made, None
    if hasattr(module, "eval"):
        module.eval()
    return module, inputs


def _sidecar(program_path: Path) -> dict | None:
    side = program_path.with_suffix(".json")
    if side.is_file():
        try:
            return json.loads(side.read_text())
        except json.JSONDecodeError:
            return None
    return None


def compare(program_path: str | Path, module: str, *, inputs: Sequence[str] = (),
            seed: int | None = None, input_size: int | None = None,
            backends: Sequence[str] = (), tolerance=None, layers: bool = False) -> dict:
    """Runs the program and the module on the same inputs; returns
    {"program", "module", "backends", "inputs", "tolerance", "outputs": [...],
    "ok"} (and "layers" with `layers`: int8 zoo models only, see
    int8_layers; a layer more than one quantum off fails). Raises ValueError
    for bad input (a missing file, a module that cannot be found, inputs
    that do not match the program)."""
    import torch

    import ddk
    from ddk import zoo

    program_path = Path(program_path)
    if not program_path.is_file():
        raise ValueError(f"{program_path}: no such program file")
    side = _sidecar(program_path)
    program = ddk.Program.load(program_path)
    example = None
    if module in zoo.MODELS:
        entry = zoo.get(module)
        from_side = side if side and side.get("name") == module else {}
        seed = seed if seed is not None else from_side.get("seed", 0)
        if input_size is None:
            input_size = from_side.get("input_size") if from_side else None
            if input_size is not None and entry.default_input_size is None:
                input_size = None
        built = zoo.build(module, seed=seed, input_size=input_size)
        torch_module, example = built.module, built.example_inputs
        tol = tolerance or entry.tolerance
        if not inputs and from_side:
            inputs = [str(program_path.parent / i["file"]) for i in from_side["inputs"]]
    else:
        torch_module, example = load_module(module)
        tol = tolerance or zoo.FP32
    arrays = _inputs(program, inputs, example, seed or 0)
    want = [t.detach().cpu().numpy() for t in _run_module(torch_module, arrays)]
    got = ddk.run(program_path.read_bytes(), arrays, backends=list(backends))
    reports = compare_outputs(got, want, tol)
    result = {"program": str(program_path), "module": module,
              "backends": list(backends), "inputs": [list(a.shape) for a in arrays],
              "tolerance": tol.to_json(), "outputs": [r.to_json() for r in reports],
              "ok": all(r.ok for r in reports)}
    if layers:
        if not (module in zoo.MODELS and zoo.get(module).int8):
            raise ValueError("--layers needs an int8 zoo model (ddk zoo list)")
        tensors = tuple(torch.from_numpy(np.ascontiguousarray(a)) for a in arrays)
        result["layers"] = [r.to_json() for r in
                            int8_layers(torch_module, tensors, backends)]
        result["ok"] = result["ok"] and all(r["max_quanta"] <= 1
                                            for r in result["layers"])
    return result


def _inputs(program, files: Sequence[str], example, seed: int) -> list[np.ndarray]:
    specs = program.inputs
    if files:
        arrays = []
        for f in files:
            if not Path(f).is_file():
                raise ValueError(f"input file {f} does not exist")
            arrays.append(np.load(f))
    elif example is not None:
        arrays = [x.detach().cpu().numpy() for x in example]
    else:
        rng = np.random.default_rng(seed)
        arrays = []
        for v in specs:
            dtype = np.dtype(v.spec.dtype_name) if v.spec.dtype_name != "bool" else bool
            if np.dtype(dtype).kind == "f":
                arrays.append(rng.standard_normal(v.sizes).astype(dtype))
            else:
                arrays.append(rng.integers(0, 2, v.sizes).astype(dtype))
    if len(arrays) != len(specs):
        raise ValueError(f"the program takes {len(specs)} inputs, {len(arrays)} given")
    for i, (a, v) in enumerate(zip(arrays, specs)):
        if a.dtype.name != v.spec.dtype_name and not (a.dtype == bool and
                                                      v.spec.dtype_name == "bool"):
            raise ValueError(f"input {i} ({v.name}): dtype {a.dtype} but the program "
                             f"takes {v.spec.dtype_name}")
        if a.ndim != len(v.sizes) or any(
                s != b and not (d in v.spec.dynamic and s <= b)
                for d, (s, b) in enumerate(zip(a.shape, v.sizes))):
            raise ValueError(f"input {i} ({v.name}): shape {list(a.shape)} does not fit "
                             f"the program's {v.sizes}")
    return arrays


def _run_module(module, arrays) -> list:
    import torch

    with torch.no_grad():
        out = module(*[torch.from_numpy(np.ascontiguousarray(a)) for a in arrays])
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    return outs


def format_report(result: dict) -> str:
    """The compare result as a table."""
    lines = [f"program {result['program']}  vs  module {result['module']}"
             + (f"  (backends: {', '.join(result['backends'])})"
                if result["backends"] else "  (portable kernels)"),
             f"tolerance: max abs <= {result['tolerance']['rel']:g} * max|ref| + "
             f"{result['tolerance']['abs']:g}, SQNR >= "
             f"{result['tolerance']['min_sqnr_db']:g} dB",
             f"{'output':>6}  {'shape':<22} {'max abs err':>12} {'max |ref|':>11} "
             f"{'SQNR dB':>8}  verdict"]
    for o in result["outputs"]:
        sq = "exact" if o["sqnr_db"] is None else f"{o['sqnr_db']:.1f}"
        lines.append(f"{o['index']:>6}  {str(o['shape']):<22} {o['max_abs']:>12.4g} "
                     f"{o['ref_max_abs']:>11.4g} {sq:>8}  "
                     f"{'ok' if o['ok'] else 'FAIL: ' + o['why']}")
    if "layers" in result:
        rows = result["layers"]
        total = sum(r["elements"] for r in rows)
        bad = sum(r["mismatches"] for r in rows)
        lines.append(f"int8 layers from PyTorch's int8 inputs: {len(rows)} layers, "
                     f"{bad} of {total} int8 outputs differ, at most "
                     f"{max((r['max_quanta'] for r in rows), default=0)} quantum")
        for r in rows:
            if r["mismatches"]:
                lines.append(f"  {r['node']:<34} {'+'.join(r['ops']):<28} "
                             f"{r['mismatches']}/{r['elements']} off by <= "
                             f"{r['max_quanta']}")
    lines.append("PASS" if result["ok"] else "FAIL")
    return "\n".join(lines)


# -- int8: layer by layer ----------------------------------------------------

@dataclass
class LayerReport:
    """One quantized layer of an int8 model run on the DDK from PyTorch's
    own int8 inputs: how many int8 outputs differ, and by how many quanta."""

    node: str          # the quantize_per_tensor node that ends the layer
    ops: list          # the float ops between the dequantizes and it
    elements: int
    mismatches: int
    max_quanta: int

    def to_json(self) -> dict:
        return dict(self.__dict__)


def _is_quantize(node) -> bool:
    name = str(getattr(node, "target", ""))
    return node.op == "call_function" and "quantize_per_tensor" in name and \
        "dequantize" not in name


def int8_layers(module, example_inputs, backends: Sequence[str] = ()) -> list[LayerReport]:
    """Checks a PT2E-converted model (a GraphModule of q/dq ops) one layer at
    a time. A layer is everything between quantize nodes: its inputs are the
    int8 outputs of earlier quantize nodes (and the model's inputs), taken
    from PyTorch's run, so an earlier layer's rounding cannot leak in. Each
    layer is exported, run on the DDK runtime (lowered for `backends`), and
    its int8 output compared with PyTorch's exactly.

    End to end, a float difference in the last bit before a quantize moves
    an element by one quantum and later layers carry that step on; layer by
    layer, what remains is the kernels' own rounding."""
    import torch
    import torch.fx as fx

    import ddk
    from ddk.exporter import export

    gm = module
    captured: dict[str, torch.Tensor] = {}

    class _Capture(fx.Interpreter):
        def run_node(self, n):
            out = super().run_node(n)
            if _is_quantize(n) or n.op == "placeholder":
                captured[n.name] = out
            return out

    with torch.no_grad():
        _Capture(gm).run(*example_inputs)

    reports = []
    for q in [n for n in gm.graph.nodes if _is_quantize(n)]:
        graph = fx.Graph()
        env: dict = {}
        inputs: list = []

        def copy(n):
            if n in env:
                return env[n]
            if n is not q and (_is_quantize(n) or n.op == "placeholder"):
                env[n] = graph.placeholder(n.name)
                inputs.append(captured[n.name])
                return env[n]
            for a in n.all_input_nodes:
                copy(a)
            env[n] = graph.node_copy(n, lambda a: env[a])
            return env[n]

        copy(q)
        graph.output((env[q],))
        seg = fx.GraphModule(gm, graph)
        ops = [str(n.target).split(".")[-2] for n in graph.nodes
               if n.op == "call_function" and "quantize" not in str(n.target)]
        program = export(seg, tuple(inputs))
        (got,) = ddk.run(program.to_bytes(), [t.numpy() for t in inputs],
                         backends=list(backends))
        want = captured[q.name].numpy()
        diff = np.abs(got.astype(np.int64) - want.astype(np.int64))
        reports.append(LayerReport(q.name, ops, int(diff.size), int(np.count_nonzero(diff)),
                                   int(diff.max()) if diff.size else 0))
    return reports
