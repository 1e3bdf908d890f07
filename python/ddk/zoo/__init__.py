"""The DDK model zoo: real model architectures, random weights from a fixed
seed (nothing is downloaded), exported to DDK programs.

    ddk zoo list
    ddk zoo build resnet18 mobilenet_v2_int8 --out build/zoo [--input-size 64]

From Python:

    built = ddk.zoo.build("resnet18", seed=0, input_size=64)
    built.module, built.example_inputs        # the PyTorch side
    program = built.export()                  # the DDK program (ddk.Program)
    ddk.zoo.write(["resnet18"], "build/zoo")   # files, as `ddk zoo build`

Every model is in eval mode. Vision models with batch norm have their
running statistics re-estimated on seeded random images after random
initialisation, so activations keep a realistic scale through the network
(freshly initialised running stats make the outputs of a deep network
vanish, and then any comparison passes). Classifier heads that torchvision
initialises to zero (ViT) are drawn at random too.

``*_int8`` models are the fp32 model quantised with the PT2E flow and the
DDK quantizer (:mod:`ddk.quantize`); their ``module`` is the converted
graph: PyTorch's quantized-reference execution of the same q/dq graph,
which is what the program is compared with.

The tolerance each model is checked with is ``ZooModel.tolerance``
(docs/exporter.md explains the figures).
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

__all__ = ["Tolerance", "ZooModel", "Built", "MODELS", "names", "get", "build",
           "write"]


@dataclass(frozen=True)
class Tolerance:
    """An output passes when max|got - want| <= rel * max|want| + abs_ and
    its SQNR is at least min_sqnr_db (SQNR = 10 log10(sum want^2 /
    sum (got - want)^2); an exact match counts as infinite)."""

    rel: float
    abs_: float
    min_sqnr_db: float

    def to_json(self) -> dict:
        return {"rel": self.rel, "abs": self.abs_, "min_sqnr_db": self.min_sqnr_db}


# fp32 programs against eager: reassociated sums in conv/matmul only.
FP32 = Tolerance(rel=1e-4, abs_=1e-5, min_sqnr_db=80.0)
# int8 programs end to end against the converted q/dq graph run by
# PyTorch: a float difference in the last bit before a quantize moves an
# element by one quantum, and later layers carry that step on (ResNet50
# ends near 16 dB). The tight check is layer by layer
# (ddk.compare.int8_layers: at most one quantum); see docs/exporter.md.
INT8 = Tolerance(rel=0.25, abs_=1e-5, min_sqnr_db=12.0)


@dataclass
class Built:
    """A zoo model built: the module, its example inputs, how to export."""

    name: str
    module: Any
    example_inputs: tuple
    dynamic_shapes: Any = None
    config: dict = field(default_factory=dict)

    def export(self):
        """The DDK program of this model (ddk.Program)."""
        from ddk.exporter import export

        return export(self.module, self.example_inputs, self.dynamic_shapes)

    def reference(self, inputs: Sequence[Any] | None = None) -> list:
        """The module's outputs (torch tensors) on `inputs` (default: the
        example inputs), under torch.no_grad()."""
        import torch

        args = self.example_inputs if inputs is None else tuple(
            torch.as_tensor(x) for x in inputs)
        with torch.no_grad():
            out = self.module(*args)
        return list(out) if isinstance(out, (tuple, list)) else [out]


@dataclass(frozen=True)
class ZooModel:
    """One zoo entry: `make(seed, input_size)` returns a Built."""

    name: str
    description: str
    make: Callable[[int, int | None], Built]
    tolerance: Tolerance
    default_input_size: int | None = None
    test_input_size: int | None = None  # what the test suite uses
    int8: bool = False


# -- vision ---------------------------------------------------------------

def _generator(seed: int):
    import torch

    g = torch.Generator()
    g.manual_seed(seed)
    return g


def _recalibrate_batch_norm(module, seed: int, size: int) -> None:
    """Re-estimates every BatchNorm's running mean/var from seeded random
    images (cumulative average over a few batches), then eval mode."""
    import torch

    bns = [m for m in module.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None
    module.train()
    g = _generator(seed + 1)
    with torch.no_grad():
        for _ in range(2):
            module(torch.randn(4, 3, size, size, generator=g))
    module.eval()


def _vision(ctor: str, **kwargs) -> Callable[[int, int | None], Built]:
    def make(seed: int, input_size: int | None) -> Built:
        import torch
        import torchvision

        size = input_size or 224
        torch.manual_seed(seed)
        kw = dict(kwargs)
        if ctor == "vit_b_16":
            kw["image_size"] = size
        module = getattr(torchvision.models, ctor)(weights=None, **kw)
        for head in ("heads", "fc", "classifier"):  # ViT's head starts at zero
            h = getattr(module, head, None)
            for lin in ([] if h is None else [m for m in h.modules()
                                              if isinstance(m, torch.nn.Linear)]):
                torch.nn.init.normal_(lin.weight, std=0.02)
                torch.nn.init.zeros_(lin.bias)
        _recalibrate_batch_norm(module, seed, min(size, 64))
        module.eval()
        x = torch.randn(1, 3, size, size, generator=_generator(seed))
        return Built(ctor, module, (x,), config={"seed": seed, "input_size": size})
    return make


# -- MLP --------------------------------------------------------------------

def _mlp_module():
    import torch
    from torch import nn

    class MLP(nn.Module):
        """784 -> 512 -> 256 -> 10, ReLU between: the shape of an MNIST MLP."""

        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(784, 512)
            self.fc2 = nn.Linear(512, 256)
            self.fc3 = nn.Linear(256, 10)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(x)))))

    return MLP()


MLP_MAX_BATCH = 64


def _make_mlp(seed: int, input_size: int | None) -> Built:
    import torch

    torch.manual_seed(seed)
    module = _mlp_module().eval()
    x = torch.randn(4, 784, generator=_generator(seed))
    batch = torch.export.Dim("batch", min=1, max=MLP_MAX_BATCH)
    return Built("mlp", module, (x,), dynamic_shapes=({0: batch},),
                 config={"seed": seed, "max_batch": MLP_MAX_BATCH})


# -- decoder ----------------------------------------------------------------

PREFILL_LEN = 16


def _make_llama(kind: str) -> Callable[[int, int | None], Built]:
    def make(seed: int, input_size: int | None) -> Built:
        from ddk.zoo import decoder

        cfg = decoder.DecoderConfig()
        model = decoder.build_decoder(seed, cfg)
        if kind == "prefill":
            module = decoder.Prefill(model).eval()
            inputs = decoder.prefill_example(cfg, seq_len=PREFILL_LEN, seed=seed)
        else:
            module = decoder.Decode(model).eval()
            inputs = decoder.decode_example(cfg, pos=PREFILL_LEN, seed=seed)
        config = {"seed": seed, "prefill_len": PREFILL_LEN,
                  **{k: getattr(cfg, k) for k in cfg.__dataclass_fields__}}
        return Built(f"llama_{kind}", module, tuple(inputs), config=config)
    return make


# -- int8 -------------------------------------------------------------------

def _int8(base: Callable[[int, int | None], Built], name: str):
    def make(seed: int, input_size: int | None) -> Built:
        from ddk.quantize import quantize_pt2e

        fp = base(seed, input_size)
        converted = quantize_pt2e(fp.module, fp.example_inputs, num_calibration=4,
                                  seed=seed)
        return Built(name, converted, fp.example_inputs,
                     config={**fp.config, "quantization": "int8 PT2E, DDKQuantizer"})
    return make


def _entries() -> list[ZooModel]:
    vision = [
        ("mobilenet_v2", "MobileNetV2 (torchvision), 3.5M params", 64),
        ("mobilenet_v3_small", "MobileNetV3-Small (torchvision), 2.5M params", 64),
        ("resnet18", "ResNet18 (torchvision), 11.7M params", 64),
        ("resnet50", "ResNet50 (torchvision), 25.6M params", 64),
    ]
    out = [ZooModel("mlp", f"MLP 784-512-256-10, dynamic batch (1..{MLP_MAX_BATCH})",
                    _make_mlp, FP32),
           ZooModel("mlp_int8", "the MLP, int8 (PT2E), static batch 4",
                    _int8(_make_mlp_static, "mlp_int8"), INT8, int8=True)]
    for name, desc, test_size in vision:
        out.append(ZooModel(name, desc, _vision(name), FP32, 224, test_size))
        out.append(ZooModel(f"{name}_int8", f"{desc.split(' (')[0]}, int8 (PT2E)",
                            _int8(_vision(name), f"{name}_int8"), INT8, 224, test_size,
                            int8=True))
    out.append(ZooModel("vit_b_16", "ViT-B/16 (torchvision), 86M params; the input "
                        "size sets the position table", _vision("vit_b_16"), FP32, 224, 32))
    out.append(ZooModel("llama_prefill", f"Llama-style decoder (RMSNorm, RoPE, GQA "
                        f"causal attention, SwiGLU; 4 layers), prefill of "
                        f"{PREFILL_LEN} tokens -> logits and KV cache",
                        _make_llama("prefill"), FP32))
    out.append(ZooModel("llama_decode", "the same decoder, one token at a position "
                        "with the KV cache in and out", _make_llama("decode"), FP32))
    return out


def _make_mlp_static(seed: int, input_size: int | None) -> Built:
    built = _make_mlp(seed, input_size)
    built.dynamic_shapes = None
    return built


MODELS: dict[str, ZooModel] = {m.name: m for m in _entries()}


def names() -> list[str]:
    """Every zoo model's name, in listing order."""
    return list(MODELS)


def get(name: str) -> ZooModel:
    """The entry of `name`; KeyError with the known names otherwise."""
    try:
        return MODELS[name]
    except KeyError:
        raise KeyError(f"unknown zoo model {name!r}; known: {', '.join(MODELS)}") \
            from None


def build(name: str, seed: int = 0, input_size: int | None = None) -> Built:
    """Builds zoo model `name` (input_size: image side for vision models)."""
    entry = get(name)
    if input_size is not None and entry.default_input_size is None:
        raise ValueError(f"{name} takes no input size")
    if input_size is not None and name.startswith("vit") and input_size % 16:
        raise ValueError(f"{name}: the input size must be a multiple of 16, "
                         f"not {input_size}")
    return entry.make(seed, input_size)


def write(models: Iterable[str], out_dir: str | os.PathLike, seed: int = 0,
          input_size: int | None = None, log: Callable[[str], None] | None = None
          ) -> list[dict]:
    """Builds and exports each model into out_dir: NAME.ddk (the program),
    NAME.input<i>.npy (its example inputs) and NAME.json (what was built:
    name, seed, sizes, inputs, op counts, file sizes, timings, versions).
    Returns the manifests."""
    import numpy as np
    import torch

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    manifests = []
    for name in models:
        entry = get(name)
        t0 = time.perf_counter()
        built = build(name, seed, input_size if entry.default_input_size else None)
        t1 = time.perf_counter()
        program = built.export()
        t2 = time.perf_counter()
        path = out / f"{name}.ddk"
        data = program.to_bytes()
        path.write_bytes(data)
        inputs = []
        for i, x in enumerate(built.example_inputs):
            p = out / f"{name}.input{i}.npy"
            np.save(p, x.detach().cpu().numpy())
            inputs.append({"name": program.inputs[i].name, "file": p.name,
                           "dtype": str(x.dtype).removeprefix("torch."),
                           "shape": list(x.shape)})
        manifest = {
            "name": name, "description": entry.description, "seed": seed,
            "input_size": built.config.get("input_size"),
            "config": built.config, "program": path.name, "bytes": len(data),
            "nodes": len(program.nodes),
            "constants_bytes": sum(v.data.nbytes for v in program.values
                                   if v.data is not None),
            "ops": dict(Counter(n.op_name for n in program.nodes).most_common()),
            "inputs": inputs, "num_outputs": len(program.outputs),
            "tolerance": entry.tolerance.to_json(), "int8": entry.int8,
            "build_seconds": round(t1 - t0, 3), "export_seconds": round(t2 - t1, 3),
            "torch": torch.__version__,
        }
        (out / f"{name}.json").write_text(json.dumps(manifest, indent=1) + "\n")
        manifests.append(manifest)
        if log:
            log(f"[zoo] {name}: {path} ({len(data) / 1e6:.1f} MB, "
                f"{len(program.nodes)} nodes, export {t2 - t1:.1f} s)")
    return manifests
