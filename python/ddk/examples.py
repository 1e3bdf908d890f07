"""Writes the example programs (MLP, small CNN, attention block, and the
CNN quantized to int8) with their inputs and PyTorch's reference outputs,
for `make certify`.

cnn_int8 is the CNN through ddk.quantize (PT2E, int8 per-tensor
activations, per-channel weights); its reference is PyTorch's quantized
module, and its tolerance is two quanta of the output's scale (rtol 0): an
integer backend rounds a float32 near-tie the other way now and then (one
quantum per layer, see sample_delegates/npu_sim/README.md), the portable
kernels reproduce PyTorch exactly.

    python3 python/ddk/examples.py --out build/examples
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402


def _int8_cnn(seed: int):
    """(program bytes, quantized module, inputs, atol) of the int8 CNN."""
    import torch
    from ddk import models
    from ddk.exporter import export
    from ddk.quantize import quantize_pt2e

    _, module, inputs = models.build_cnn(seed)
    inputs = tuple(torch.as_tensor(x) for x in inputs)
    qmodule = quantize_pt2e(module, inputs, seed=seed)
    program = export(qmodule, inputs)
    out_dq = [n for n in program.nodes if n.op_name.endswith("dequantize_per_tensor")][-1]
    return program.to_bytes(), qmodule, inputs, 2.0 * float(out_dq.args[1].value)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    import torch
    from ddk import models

    os.makedirs(args.out, exist_ok=True)
    index = []
    for name, build in (("mlp", models.build_mlp), ("cnn", models.build_cnn),
                        ("attention", models.build_attention), ("cnn_int8", _int8_cnn)):
        program, module, inputs, *atol = build(args.seed)
        d = os.path.join(args.out, name)
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, "program.ddk")
        with open(path, "wb") as f:
            f.write(program)
        input_files = []
        for i, x in enumerate(inputs):
            p = os.path.join(d, f"input_{i}.npy")
            np.save(p, x.detach().numpy() if hasattr(x, "detach") else x)
            input_files.append(p)
        with torch.no_grad():
            ref = module(*[torch.as_tensor(x) for x in inputs])
        refs = ref if isinstance(ref, (tuple, list)) else [ref]
        ref_files = []
        for i, r in enumerate(refs):
            p = os.path.join(d, f"reference_{i}.npy")
            np.save(p, r.detach().numpy())
            ref_files.append(p)
        entry = {"name": name, "program": path, "inputs": input_files,
                 "references": ref_files}
        if atol:  # its own tolerance (the int8 model's: two output quanta)
            entry.update(rtol=0.0, atol=atol[0])
        index.append(entry)
        print(f"[examples] {name}: {path} ({len(program)} bytes)")
    with open(os.path.join(args.out, "index.json"), "w") as f:
        json.dump(index, f, indent=1)


if __name__ == "__main__":
    main()
