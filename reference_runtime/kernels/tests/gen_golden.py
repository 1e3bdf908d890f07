#!/usr/bin/env python3
"""Writes a golden file for reference_runtime/kernels/golden_test.c.

PyTorch (CPU) computes every case: random inputs over many shapes, dtypes
and attribute variants (broadcast, 0-d, zero-size, channels-last and other
non-contiguous layouts, NaN/Inf, conv groups/dilation/transposed/1-d/3-d,
pool ceil_mode/padding/dilation, softmax dims, mean keepdim/dtype), plus
cases PyTorch refuses (the kernels must refuse them too).

    python3 gen_golden.py --out golden.bin [--seed 0]

The file is generated at test time (tests/test_golden.py); it is not kept
in the repository.

Format (little-endian):
  "DDKGOLD1", u32 case count, then per case:
    str name, str op ("aten::add.Tensor"), u32 flags (1 = PyTorch refused),
    u32 value count, per value:
      i32 dtype (ATen ScalarType), u32 rank, i64 sizes[rank],
      i64 strides[rank] (elements), u8 dim_order[rank], u32 role
      (0 input, 1 output), u64 n + n bytes (input: its dense storage;
      output: the expected values, contiguous), u64 m + m bytes (output:
      float64 per element, the magnitude the tolerance scales with, e.g.
      |A| @ |B| for mm; empty when not needed)
    u32 arg count, per arg: u32 kind (ddk_arg_kind) and its payload
      (TENSOR u32; TENSOR_LIST u32 n + u32 * n; INT i64; INT_LIST u32 n +
      i64 * n; FLOAT f64; BOOL u8; DTYPE i64; NONE nothing)
    u32 output count + u32 value indices, i64 K (terms per accumulated
    result, for accumulation-scaled tolerances; 0 if none)
  where str is u32 length + bytes.
"""

from __future__ import annotations

import argparse
import math
import struct
import sys

import torch

SCALAR_TYPE = {
    torch.uint8: 0, torch.int8: 1, torch.int16: 2, torch.int32: 3, torch.int64: 4,
    torch.float16: 5, torch.float32: 6, torch.float64: 7, torch.complex64: 9,
    torch.complex128: 10, torch.bool: 11, torch.bfloat16: 15,
}
MEMORY_FORMAT = {torch.contiguous_format: 0, torch.preserve_format: 1,
                 torch.channels_last: 2, torch.channels_last_3d: 3}
ARG_NONE, ARG_TENSOR, ARG_TENSOR_LIST, ARG_INT, ARG_INT_LIST, ARG_FLOAT, ARG_BOOL = 0, 1, 2, 3, 4, 5, 7
ARG_DTYPE = 10

FLOATS = [torch.float32, torch.float64, torch.float16, torch.bfloat16]
INTS = [torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64]
ALL_REAL = FLOATS + INTS + [torch.bool]


class Gen:
    def __init__(self, seed: int):
        self.g = torch.Generator().manual_seed(seed)
        self.cases: list[bytes] = []
        self.count = 0

    # -- inputs -------------------------------------------------------------
    def rand(self, shape, dtype, special=False, lo=None, hi=None, layout=None):
        """Random tensor; `special` sprinkles NaN/Inf/-0; `layout` is
        'channels_last' or a dim permutation giving the memory order."""
        if dtype.is_floating_point:
            x = torch.randn(shape, generator=self.g, dtype=torch.float64) * 3
            if special and x.numel() > 0:
                flat = x.view(-1)
                vals = [math.nan, math.inf, -math.inf, -0.0, 0.0]
                idx = torch.randint(0, flat.numel(), (max(1, flat.numel() // 6),), generator=self.g)
                for j, i in enumerate(idx.tolist()):
                    flat[i] = vals[j % len(vals)]
            x = x.to(dtype)
        elif dtype == torch.bool:
            x = torch.randint(0, 2, shape, generator=self.g).bool()
        else:
            info = torch.iinfo(dtype)
            lo = info.min if lo is None else lo
            hi = info.max if hi is None else hi
            x = torch.randint(lo, hi + 1 if hi < 2**63 - 1 else hi, shape, generator=self.g,
                              dtype=torch.int64).to(dtype)
        return relayout(x, layout)

    # -- writing ------------------------------------------------------------
    def case(self, name, op, args, kwargs=None, scale=None, k=0):
        """Runs aten `op` on args/kwargs (Python values as the schema wants
        them) and records it. `scale(outputs)` gives float64 magnitudes per
        output element for tolerance (or None)."""
        kwargs = kwargs or {}
        packet = torch.ops.aten
        opname, _, overload = op.partition(".")
        fn = getattr(getattr(packet, opname), overload or "default")
        refused = False
        try:
            outs = fn(*args, **kwargs)
        except Exception:  # PyTorch refuses: the kernel must refuse too
            refused = True
            outs = None
        if outs is not None and not isinstance(outs, (tuple, list)):
            outs = (outs,)

        schema_args = fn._schema.arguments
        values: list[tuple] = []  # (tensor, role, scale)
        enc_args = []
        pos = list(args)
        for a in schema_args:
            if a.kwarg_only:
                v = kwargs.get(a.name, a.default_value)
            else:
                v = pos.pop(0) if pos else a.default_value
            enc_args.append(encode_arg(v, values))
        out_idx = []
        if not refused:
            scales = scale(outs) if scale is not None else None
            for i, o in enumerate(outs):
                out_idx.append(len(values))
                values.append((o, 1, None if scales is None or i >= len(scales) else scales[i]))
        else:  # one output slot per schema return
            for _ in fn._schema.returns:
                out_idx.append(len(values))
                values.append((None, 1, None))

        b = bytearray()
        b += pstr(name) + pstr("aten::" + op) + struct.pack("<II", 1 if refused else 0, len(values))
        for t, role, sc in values:
            b += encode_value(t, role, sc)
        b += struct.pack("<I", len(enc_args)) + b"".join(enc_args)
        b += struct.pack("<I", len(out_idx)) + b"".join(struct.pack("<I", i) for i in out_idx)
        b += struct.pack("<q", k)
        self.cases.append(bytes(b))

    def write(self, path):
        with open(path, "wb") as f:
            f.write(b"DDKGOLD1" + struct.pack("<I", len(self.cases)))
            for c in self.cases:
                f.write(c)


def relayout(x, layout):
    if layout is None:
        return x.contiguous()
    if layout == "channels_last":
        return x.contiguous(memory_format=torch.channels_last)
    perm = list(layout)  # memory order: outermost first
    inv = [perm.index(d) for d in range(len(perm))]
    return x.permute(perm).contiguous().permute(inv)


def pstr(s):
    e = s.encode()
    return struct.pack("<I", len(e)) + e


def dim_order(t):
    return sorted(range(t.dim()), key=lambda d: (-t.stride(d), d))


def storage_bytes(t):
    flat = torch.as_strided(t, (t.numel(),), (1,), t.storage_offset()) if t.numel() else t.reshape(0)
    return flat.contiguous().view(torch.uint8).numpy().tobytes()


def encode_value(t, role, scale):
    if t is None:  # refused case: an empty output slot
        return struct.pack("<iI", -1, 0) + struct.pack("<I", role) + struct.pack("<QQ", 0, 0)
    b = struct.pack("<iI", SCALAR_TYPE[t.dtype], t.dim())
    b += b"".join(struct.pack("<q", s) for s in t.shape)
    if role == 0:
        b += b"".join(struct.pack("<q", s) for s in t.stride())
        b += bytes(dim_order(t))
        data = storage_bytes(t)
    else:
        c = t.contiguous()
        b += b"".join(struct.pack("<q", s) for s in c.stride())
        b += bytes(range(t.dim()))
        data = storage_bytes(c)
    b += struct.pack("<I", role) + struct.pack("<Q", len(data)) + data
    sb = b"" if scale is None else scale.to(torch.float64).contiguous().numpy().tobytes()
    return b + struct.pack("<Q", len(sb)) + sb


def encode_arg(v, values):
    if v is None:
        return struct.pack("<I", ARG_NONE)
    if isinstance(v, torch.Tensor):
        values.append((v, 0, None))
        return struct.pack("<II", ARG_TENSOR, len(values) - 1)
    if isinstance(v, bool):
        return struct.pack("<IB", ARG_BOOL, v)
    if isinstance(v, int):
        return struct.pack("<Iq", ARG_INT, v)
    if isinstance(v, float):
        return struct.pack("<Id", ARG_FLOAT, v)
    if isinstance(v, torch.dtype):
        return struct.pack("<Iq", ARG_DTYPE, SCALAR_TYPE[v])
    if isinstance(v, torch.memory_format):
        return struct.pack("<Iq", ARG_INT, MEMORY_FORMAT[v])
    if isinstance(v, (list, tuple)):
        if v and isinstance(v[0], torch.Tensor):
            idx = []
            for t in v:
                values.append((t, 0, None))
                idx.append(len(values) - 1)
            return struct.pack("<II", ARG_TENSOR_LIST, len(idx)) + b"".join(struct.pack("<I", i) for i in idx)
        return struct.pack("<II", ARG_INT_LIST, len(v)) + b"".join(struct.pack("<q", int(i)) for i in v)
    raise TypeError(f"cannot encode {v!r}")


def f64abs(t):
    return t.to(torch.float64).abs()


# ---------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------

def elementwise(g: Gen):
    shapes = [((3, 4), (3, 4), None), ((2, 1, 4), (3, 1), None), ((5,), (), None),
              ((), (), None), ((0, 3), (3,), None), ((2, 3, 4, 5), (2, 3, 4, 5), "channels_last"),
              ((4, 3), (4, 3), (1, 0))]
    for op in ["add.Tensor", "sub.Tensor", "mul.Tensor", "div.Tensor"]:
        for dt in ALL_REAL:
            if op == "sub.Tensor" and dt == torch.bool:
                continue
            for sa, sb, lay in shapes:
                a = g.rand(sa, dt, special=True, layout=lay)
                b = g.rand(sb, dt, special=True, layout=lay if len(sb) == len(sa) else None)
                alphas = [None]
                if op in ("add.Tensor", "sub.Tensor"):
                    alphas = [1, 2] if not dt.is_floating_point else [1, -1.5]
                for al in alphas:
                    kw = {} if al is None else {"alpha": al}
                    sc = None
                    if al not in (None, 1) and dt.is_floating_point:
                        sc = (lambda b=b, al=al: lambda outs: [abs(al) * f64abs(b).expand(outs[0].shape)])()
                    g.case(f"{op}/{dt}/{sa}x{sb}/{lay}/alpha={al}", op, [a, b], kw, scale=sc, k=1)
        # mixed dtypes and 0-d promotion
        mixes = [(torch.int8, (4,), torch.uint8, (4,)), (torch.int32, (4,), torch.float16, (4,)),
                 (torch.float32, (4,), torch.float64, ()), (torch.int64, (3,), torch.float32, (3,)),
                 (torch.int8, (4,), torch.int64, ()), (torch.bool, (3,), torch.int16, (3,)),
                 (torch.float16, (2, 2), torch.bfloat16, (2,))]
        for da, sa, db, sb in mixes:
            if op == "sub.Tensor" and torch.bool in (da, db):
                continue
            kw = {"alpha": 1} if op in ("add.Tensor", "sub.Tensor") else {}
            g.case(f"{op}/mix/{da}+{db}", op, [g.rand(sa, da), g.rand(sb, db)], kw)
    # refusals
    g.case("sub/bool", "sub.Tensor", [g.rand((3,), torch.bool), g.rand((3,), torch.bool)])
    g.case("add/int alpha float", "add.Tensor", [g.rand((3,), torch.int32), g.rand((3,), torch.int32)],
           {"alpha": 0.5})
    g.case("add/broadcast", "add.Tensor", [g.rand((2, 3), torch.float32), g.rand((4,), torch.float32)])


def activations(g: Gen):
    for dt in FLOATS + INTS:
        for shape, lay in [((3, 5), None), ((2, 3, 4, 5), "channels_last"), ((), None), ((0, 4), None)]:
            x = g.rand(shape, dt, special=True, layout=lay)
            g.case(f"relu/{dt}/{shape}", "relu", [x])
            for lo, hi in [(-1, 1), (0, 6), (-0.5, 2.5), (2, 1)]:
                if not dt.is_floating_point and (lo > torch.iinfo(dt).max or hi < torch.iinfo(dt).min):
                    continue
                g.case(f"hardtanh/{dt}/{shape}/{lo},{hi}", "hardtanh", [x, lo, hi])
    for dt in FLOATS + INTS + [torch.bool]:
        for shape, lay in [((4, 6), None), ((2, 3, 4, 5), "channels_last"), ((), None)]:
            x = g.rand(shape, dt, special=True, layout=lay, lo=-20, hi=20)
            g.case(f"sigmoid/{dt}/{shape}", "sigmoid", [x])
            g.case(f"tanh/{dt}/{shape}", "tanh", [x])
    g.case("relu/bool", "relu", [g.rand((3,), torch.bool)])
    g.case("hardtanh/bool", "hardtanh", [g.rand((3,), torch.bool)])


def matmul(g: Gen):
    def mm_scale(a, b):
        return lambda outs: [f64abs(a) @ f64abs(b)]

    for dt in FLOATS + [torch.int8, torch.uint8, torch.int32, torch.int64]:
        small = not dt.is_floating_point
        for (m, k, n) in [(5, 7, 3), (1, 1, 1), (0, 3, 4), (4, 0, 5), (9, 70, 67)]:
            a = g.rand((m, k), dt, lo=-50 if small else None, hi=50 if small else None)
            b = g.rand((k, n), dt, lo=-50 if small else None, hi=50 if small else None)
            g.case(f"mm/{dt}/{m}x{k}x{n}", "mm", [a, b], scale=mm_scale(a, b), k=k)
        a = g.rand((6, 5), dt, layout=(1, 0), lo=0, hi=9)  # transposed storage
        b = g.rand((5, 4), dt, layout=(1, 0), lo=0, hi=9)
        g.case(f"mm/{dt}/transposed", "mm", [a, b], scale=mm_scale(a, b), k=5)
        for sshape in [(4,), (6, 4), (1, 1)]:
            s = g.rand(sshape, dt, special=True, lo=-9, hi=9)
            for beta, alpha in [(1, 1), (0, 2), (2, 0), (0.5, -1.5)]:
                if small and isinstance(beta, float):
                    beta, alpha = 3, -2
                sc = (lambda s=s, a=a, b=b, beta=beta, alpha=alpha:
                      lambda outs: [(abs(beta) * f64abs(s).expand(6, 4) if beta else 0)
                                    + abs(alpha) * (f64abs(a) @ f64abs(b))])()
                g.case(f"addmm/{dt}/{sshape}/{beta},{alpha}", "addmm", [s, a, b],
                       {"beta": beta, "alpha": alpha}, scale=sc, k=5)
        x = g.rand((3, 4, 5), dt, lo=-9, hi=9)
        y = g.rand((3, 5, 6), dt, lo=-9, hi=9, layout=(0, 2, 1))
        g.case(f"bmm/{dt}", "bmm", [x, y], scale=lambda outs, x=x, y=y: [torch.bmm(f64abs(x), f64abs(y))], k=5)
    g.case("mm/bool", "mm", [g.rand((2, 2), torch.bool), g.rand((2, 2), torch.bool)])
    g.case("mm/mixed", "mm", [g.rand((2, 2), torch.float32), g.rand((2, 2), torch.float64)])
    g.case("mm/shape", "mm", [g.rand((2, 3), torch.float32), g.rand((2, 3), torch.float32)])


def convolution(g: Gen):
    # (input, weight, stride, pad, dil, transposed, out_pad, groups, layout)
    cfgs = [((2, 3, 7, 8), (4, 3, 3, 3), [1, 1], [1, 1], [1, 1], False, [0, 0], 1, None),
            ((1, 4, 9, 9), (6, 2, 3, 2), [2, 1], [0, 1], [1, 2], False, [0, 0], 2, None),
            ((1, 4, 6, 6), (4, 1, 3, 3), [1], [1], [1], False, [0], 4, "channels_last"),
            ((2, 2, 17), (4, 2, 5), [3], [2], [2], False, [0], 1, None),
            ((1, 2, 4, 5, 6), (3, 2, 2, 3, 2), [1, 2, 1], [1, 0, 1], [1, 1, 2], False, [0, 0, 0], 1, None),
            ((1, 8, 5, 5), (16, 8, 1, 1), [1, 1], [0, 0], [1, 1], False, [0, 0], 1, None),
            ((0, 3, 5, 5), (2, 3, 3, 3), [1, 1], [0, 0], [1, 1], False, [0, 0], 1, None),
            ((1, 4, 5, 4), (4, 3, 3, 3), [2, 2], [1, 0], [1, 1], True, [1, 0], 2, None),
            ((2, 2, 7), (2, 3, 4), [3], [2], [2], True, [2], 1, None),
            ((1, 3, 2, 3, 4), (3, 2, 2, 2, 2), [2, 1, 2], [0, 1, 0], [1, 2, 1], True, [1, 0, 0], 1, None),
            ((1, 2, 4, 4), (2, 2, 3, 3), [1, 1], [1, 1], [1, 1], True, [0, 0], 1, "channels_last")]
    for dt in FLOATS + [torch.int8, torch.int32, torch.int64]:
        for i, (xs, ws, st, pd, dl, tr, op, gr, lay) in enumerate(cfgs):
            if tr and not dt.is_floating_point and dt != torch.int64:
                continue
            small = not dt.is_floating_point
            x = g.rand(xs, dt, layout=lay, lo=-20 if small else None, hi=20 if small else None)
            w = g.rand(ws, dt, lo=-20 if small else None, hi=20 if small else None)
            cout = ws[1] * gr if tr else ws[0]
            for with_bias in (False, True):
                b = g.rand((cout,), dt, lo=-20, hi=20) if with_bias else None
                kterms = (ws[0] // gr if tr else ws[1]) * math.prod(ws[2:])

                def sc(outs, x=x, w=w, b=b, st=st, pd=pd, dl=dl, tr=tr, op=op, gr=gr):
                    r = torch.ops.aten.convolution(f64abs(x), f64abs(w), None if b is None else f64abs(b),
                                                   st, pd, dl, tr, op, gr)
                    return [r]
                g.case(f"conv/{dt}/{i}/bias={with_bias}", "convolution", [x, w, b, st, pd, dl, tr, op, gr],
                       scale=sc, k=kterms)
    x = g.rand((1, 2, 5, 5), torch.int8, lo=-5, hi=5)
    w = g.rand((2, 2, 3, 3), torch.int8, lo=-5, hi=5)
    g.case("conv/int8 transposed", "convolution", [x, w, None, [1, 1], [0, 0], [1, 1], True, [0, 0], 1])
    g.case("conv/groups", "convolution",
           [g.rand((1, 3, 5, 5), torch.float32), g.rand((2, 1, 3, 3), torch.float32), None,
            [1, 1], [0, 0], [1, 1], False, [0, 0], 2])


def pooling(g: Gen):
    # (shape, kernel, stride, pad, dil, ceil, layout)
    cfgs = [((2, 3, 7, 8), [2, 2], [2, 2], [0, 0], [1, 1], False, None),
            ((1, 2, 7, 9), [3, 2], [2, 1], [1, 1], [2, 1], True, None),
            ((3, 6, 6), [3], [], [1], [1], True, None),
            ((1, 4, 5, 5), [2, 2], [2, 2], [1, 1], [1, 1], True, "channels_last"),
            ((1, 1, 10, 10), [4, 4], [3, 3], [2, 2], [1, 1], True, None),
            ((0, 2, 4, 4), [2, 2], [2, 2], [0, 0], [1, 1], False, None)]
    for dt in FLOATS + INTS:
        for i, (xs, k, s, p, d, ceil, lay) in enumerate(cfgs):
            x = g.rand(xs, dt, special=True, layout=lay)
            g.case(f"maxpool/{dt}/{i}", "max_pool2d_with_indices", [x, k, s, p, d, ceil])
            if dt in FLOATS or dt == torch.int64:
                for cip, dov in [(True, None), (False, None), (True, 3)]:
                    kk = k * 2 if len(k) == 1 else k

                    def sc(outs, x=x, k=k, s=s, p=p, ceil=ceil, cip=cip, dov=dov):
                        return [torch.ops.aten.avg_pool2d(f64abs(x), k, s, p, ceil, cip, dov).abs()]
                    g.case(f"avgpool/{dt}/{i}/{cip},{dov}", "avg_pool2d", [x, k, s, p, ceil, cip, dov],
                           scale=sc, k=kk[0] * kk[1])
    g.case("avgpool/int32", "avg_pool2d", [g.rand((1, 4, 4), torch.int32), [2, 2], [], [0, 0], False, True, None])
    g.case("maxpool/bool", "max_pool2d_with_indices", [g.rand((1, 4, 4), torch.bool), [2, 2], [], [0, 0], [1, 1], False])
    g.case("maxpool/too small", "max_pool2d_with_indices",
           [g.rand((1, 2, 2), torch.float32), [3, 3], [], [0, 0], [1, 1], False])


def softmax_mean(g: Gen):
    for dt in FLOATS:
        for shape, dim, lay in [((4, 7), -1, None), ((4, 7), 0, None), ((2, 3, 4, 5), 1, "channels_last"),
                                ((3, 300), 1, None), ((), 0, None), ((2, 0, 3), 1, None)]:
            x = g.rand(shape, dt, special=(shape == (4, 7)), layout=lay)
            if shape == (3, 300):
                x = x * 30  # large logits
            n = x.shape[dim] if x.dim() else 1
            g.case(f"softmax/{dt}/{shape}/{dim}", "_softmax", [x, dim, False],
                   scale=lambda outs: [f64abs(outs[0])], k=n)
        for shape, dims, keep, lay in [((4, 5, 6), [1], False, None), ((4, 5, 6), [0, 2], True, None),
                                       ((4, 5, 6), [-1], False, None), ((4, 5, 6), None, False, None),
                                       ((4, 5, 6), [], True, None), ((2, 3, 4, 5), [1], False, "channels_last"),
                                       ((0, 3), [0], False, None), ((), [0], False, None),
                                       ((2, 1000), [1], True, None)]:
            x = g.rand(shape, dt, special=(shape == (4, 5, 6) and dims == [1]), layout=lay)
            red = [d % max(x.dim(), 1) for d in dims] if dims else list(range(x.dim()))
            cnt = math.prod(x.shape[d] for d in red) if x.dim() else 1
            for odt in [None, torch.float64] if dt == torch.float32 else [None]:
                kw = {} if odt is None else {"dtype": odt}

                def sc(outs, x=x, dims=dims, keep=keep):
                    return [torch.ops.aten.mean.dim(f64abs(x), dims, keep)]
                g.case(f"mean/{dt}/{shape}/{dims}/{keep}/{odt}", "mean.dim", [x, dims, keep], kw, scale=sc, k=cnt)
    for it in [torch.int32, torch.bool]:
        x = g.rand((3, 4), it, lo=-100, hi=100)
        g.case(f"mean/{it}/dtype", "mean.dim", [x, [1], False], {"dtype": torch.float32},
               scale=lambda outs, x=x: [torch.ops.aten.mean.dim(f64abs(x), [1], False)], k=4)
        g.case(f"mean/{it}/no dtype", "mean.dim", [x, [1], False])
    g.case("softmax/int", "_softmax", [g.rand((3,), torch.int64), 0, False])


def data_movement(g: Gen):
    dts = ALL_REAL + [torch.complex64]
    for dt in dts:
        def rnd(shape, lay=None):
            if dt.is_complex:
                return relayout(torch.complex(torch.randn(shape, generator=g.g), torch.randn(shape, generator=g.g)), lay)
            return g.rand(shape, dt, layout=lay)
        x = rnd((2, 3, 4, 5), "channels_last")
        y = rnd((2, 3, 4, 5))
        for size in [[6, 20], [-1], [2, -1, 5], [120]]:
            # view_copy semantics: values in logical order (reshape)
            for t, tag in [(y, "contig"), (x, "cl")]:
                name = f"view/{dt}/{tag}/{size}"
                if tag == "cl":
                    expected = t.reshape(size)
                    record_view(g, name, t, size, expected)
                else:
                    g.case(name, "view", [t, size])
        for dims in [[0, 2, 3, 1], [3, 2, 1, 0], [-1, 0, 1, 2]]:
            g.case(f"permute/{dt}/{dims}", "permute", [x, dims])
        g.case(f"clone/{dt}", "clone", [x])
        g.case(f"clone/{dt}/cl", "clone", [y], {"memory_format": torch.channels_last})
        g.case(f"cat/{dt}/dim1", "cat", [[x, y, rnd((2, 1, 4, 5))], 1])
        g.case(f"cat/{dt}/dim-1", "cat", [[rnd((3, 2)), rnd((0,)), rnd((3, 0)), rnd((3, 4), (1, 0))], -1])
        g.case(f"view/{dt}/0d", "view", [rnd(()), [1, 1]])
    g.case("cat/promote", "cat", [[g.rand((2, 2), torch.int32), g.rand((2, 3), torch.float16),
                                   g.rand((2, 1), torch.bool)], 1])
    g.case("cat/promote2", "cat", [[g.rand((1, 2), torch.uint8), g.rand((2, 2), torch.int8)], 0])
    g.case("cat/mismatch", "cat", [[g.rand((2, 2), torch.float32), g.rand((3, 3), torch.float32)], 0])
    g.case("view/bad", "view", [g.rand((2, 3), torch.float32), [4, -1]])
    g.case("permute/dup", "permute", [g.rand((2, 3), torch.float32), [0, 0]])


def record_view(g: Gen, name, t, size, expected):
    """aten::view refuses a channels-last input; the DDK view kernel copies
    (view_copy). Record the reshape result under op aten::view."""
    b = bytearray()
    b += pstr(name) + pstr("aten::view") + struct.pack("<II", 0, 2)
    b += encode_value(t, 0, None) + encode_value(expected, 1, None)
    b += struct.pack("<I", 2) + struct.pack("<II", ARG_TENSOR, 0)
    b += struct.pack("<II", ARG_INT_LIST, len(size)) + b"".join(struct.pack("<q", s) for s in size)
    b += struct.pack("<II", 1, 1) + struct.pack("<q", 0)
    g.cases.append(bytes(b))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    g = Gen(args.seed)
    for part in (elementwise, activations, matmul, convolution, pooling, softmax_mean, data_movement):
        part(g)
    g.write(args.out)
    print(f"wrote {len(g.cases)} cases to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
