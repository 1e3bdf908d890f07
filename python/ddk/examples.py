"""Writes the example programs (MLP, small CNN, attention block) with their
inputs and PyTorch's reference outputs, for `make certify`.

    python3 python/ddk/examples.py --out build/examples
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402


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
                        ("attention", models.build_attention)):
        program, module, inputs = build(args.seed)
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
        index.append({"name": name, "program": path, "inputs": input_files,
                      "references": ref_files})
        print(f"[examples] {name}: {path} ({len(program)} bytes)")
    with open(os.path.join(args.out, "index.json"), "w") as f:
        json.dump(index, f, indent=1)


if __name__ == "__main__":
    main()
