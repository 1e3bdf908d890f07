#!/usr/bin/env python3
"""Writes a golden file (see golden/core.py) for the C driver golden_test.

    python3 gen_golden.py --out golden.bin [--seed 0] [--op aten::abs ...]
                          [--dtype float32 ...]

For debugging one op outside pytest:
    python3 gen_golden.py --out /tmp/g.bin --op aten::abs --dtype float16
    DDK_GOLDEN_FILE=/tmp/g.bin build-asan/golden_test
Without --op every op with a kernel is written; without --dtype every dtype
the op table lists, plus the dtype-independent cases ("none").
"""

from __future__ import annotations

import argparse
import sys
import zlib
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "python"))

from golden import load_all  # noqa: E402
from golden.core import DTYPE_BY_NAME, Gen  # noqa: E402


def item_seed(seed: int, op: str, dtype: str) -> int:
    """A stable per-(op, dtype) seed, so one item's inputs do not depend on
    which other items run."""
    return (zlib.crc32(f"{op}|{dtype}".encode()) + 1000003 * seed) & 0x7FFFFFFF


def fill(g: Gen, op: str, dtype: str) -> None:
    """Adds the cases of (op, dtype) to g; dtype 'none' = dtype-independent."""
    fn = load_all()[op]
    fn(g, op, None if dtype == "none" else DTYPE_BY_NAME[dtype])


def main(argv=None) -> int:
    from ddk.ops_meta import OP_BY_NAME

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--op", action="append")
    ap.add_argument("--dtype", action="append")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    reg = load_all()
    ops = args.op or sorted(o for o in reg if OP_BY_NAME.get(o, {}).get("kernel"))
    count = 0
    g = Gen(args.seed)
    for op in ops:
        dtypes = args.dtype or list(OP_BY_NAME[op]["dtypes"]) + ["none"]
        for dt in dtypes:
            g.g.manual_seed(item_seed(args.seed, op, dt))
            fill(g, op, dt)
    count = len(g.cases)
    g.write(args.out)
    print(f"wrote {count} cases to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
