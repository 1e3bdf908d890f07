"""Golden cases: PyTorch computes, the C driver (golden_test.c) compares.

A case is one call of one ATen op on concrete inputs. `Gen.case` runs the
op with PyTorch (CPU) and records inputs, arguments and PyTorch's outputs
(or that PyTorch refused the call: the kernel must refuse too) into the
golden file format below. Case functions live in cases_<family>.py and
register with `@cases("aten::op", ...)`; see golden/__init__.py.

File format (little-endian):
  "DDKGOLD2", u32 case count, then per case:
    str name, str op ("aten::add.Tensor"), u32 flags (CASE_* bits),
    u32 value count, per value:
      i32 dtype (ATen ScalarType), u32 rank, i64 sizes[rank],
      i64 strides[rank] (elements), u8 dim_order[rank], u32 role
      (0 input, 1 output), u64 n + n bytes (input: its dense storage;
      output: the expected values, contiguous), u64 m + m bytes (output:
      float64 per element, the magnitude the tolerance scales with, e.g.
      |A| @ |B| for mm; empty when not needed)
    u32 arg count, per arg: u32 kind (ddk_arg_kind) and its payload
      (TENSOR u32; TENSOR_LIST u32 n + u32 * n, 0xFFFFFFFF for None;
      INT i64; INT_LIST u32 n + i64 * n; FLOAT f64; FLOAT_LIST u32 n +
      f64 * n; BOOL u8; BOOL_LIST u32 n + u8 * n; STRING str; DTYPE i64;
      NONE nothing)
    u32 output count + u32 value indices, i64 K (terms per accumulated
    result, for accumulation-scaled tolerances; 0 if none)
  where str is u32 length + bytes.
"""

from __future__ import annotations

import math
import struct

import torch

SCALAR_TYPE = {
    torch.uint8: 0, torch.int8: 1, torch.int16: 2, torch.int32: 3, torch.int64: 4,
    torch.float16: 5, torch.float32: 6, torch.float64: 7, torch.complex64: 9,
    torch.complex128: 10, torch.bool: 11, torch.bfloat16: 15,
}
DTYPE_BY_NAME = {"float32": torch.float32, "float64": torch.float64, "float16": torch.float16,
                 "bfloat16": torch.bfloat16, "int8": torch.int8, "uint8": torch.uint8,
                 "int16": torch.int16, "int32": torch.int32, "int64": torch.int64,
                 "bool": torch.bool, "complex64": torch.complex64}
MEMORY_FORMAT = {torch.contiguous_format: 0, torch.preserve_format: 1,
                 torch.channels_last: 2, torch.channels_last_3d: 3}
LAYOUT = {torch.strided: 0}
ARG_NONE, ARG_TENSOR, ARG_TENSOR_LIST, ARG_INT, ARG_INT_LIST = 0, 1, 2, 3, 4
ARG_FLOAT, ARG_FLOAT_LIST, ARG_BOOL, ARG_BOOL_LIST, ARG_STRING, ARG_DTYPE = 5, 6, 7, 8, 9, 10
NO_VALUE = 0xFFFFFFFF

# Case flags (golden_test.c reads the same bits).
CASE_REFUSED = 1        # PyTorch refused the call: the kernel must refuse
CASE_EPS_STORAGE = 2    # the scale term uses the result dtype's unit roundoff
                        # (ATen rounds an intermediate to the storage type)
CASE_METADATA_ONLY = 4  # compare dtype and shape, not values (empty, resize_)
CASE_SIGNED_ZERO = 8    # the sign of zero must match too

FLOATS = [torch.float32, torch.float64, torch.float16, torch.bfloat16]
INTS = [torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64]
ALL_REAL = FLOATS + INTS + [torch.bool]


class Gen:
    """Collects the cases of one golden file; `g` (a torch.Generator) makes
    every input reproducible from the seed."""

    def __init__(self, seed: int):
        self.g = torch.Generator().manual_seed(seed)
        self.cases: list[bytes] = []

    # -- inputs -------------------------------------------------------------
    def rand(self, shape, dtype, special=False, lo=None, hi=None, layout=None):
        """Random tensor; `special` sprinkles NaN/Inf/-0; `layout` is
        'channels_last' or a dim permutation giving the memory order.
        Integers are uniform in [lo, hi] (default: the dtype's range)."""
        if dtype.is_floating_point:
            x = torch.randn(shape, generator=self.g, dtype=torch.float64) * 3
            if lo is not None or hi is not None:
                a = -3.0 if lo is None else float(lo)
                b = 3.0 if hi is None else float(hi)
                x = a + (b - a) * torch.rand(shape, generator=self.g, dtype=torch.float64)
            if special and x.numel() > 0:
                flat = x.view(-1)
                vals = [math.nan, math.inf, -math.inf, -0.0, 0.0]
                idx = torch.randint(0, flat.numel(), (max(1, flat.numel() // 6),), generator=self.g)
                for j, i in enumerate(idx.tolist()):
                    flat[i] = vals[j % len(vals)]
            x = x.to(dtype)
        elif dtype == torch.bool:
            x = torch.randint(0, 2, shape, generator=self.g).bool()
        elif dtype.is_complex:
            x = torch.complex(torch.randn(shape, generator=self.g),
                              torch.randn(shape, generator=self.g)).to(dtype)
        else:
            info = torch.iinfo(dtype)
            lo = info.min if lo is None else max(int(lo), info.min)
            hi = info.max if hi is None else min(int(hi), info.max)
            x = torch.randint(lo, hi + 1 if hi < 2**63 - 1 else hi, shape, generator=self.g,
                              dtype=torch.int64).to(dtype)
        return relayout(x, layout)

    # -- writing ------------------------------------------------------------
    def case(self, name, op, args, kwargs=None, scale=None, k=0, flags=0, expected=None,
             scalar_dtype=None):
        """Runs ATen `op` ("add.Tensor" or "aten::add.Tensor"; other
        namespaces as "quantized_decomposed::add") on args/kwargs (Python
        values as the schema wants them) and records the case.

        scale(outs) -> list of float64 tensors (per output, or None): the
        magnitudes the tolerance scales with; k: terms per accumulated
        result. expected: outputs to record instead of the op's own (e.g.
        gradients from autograd), a list of tensors. scalar_dtype: dtype of
        the 0-d tensor a Scalar/SymInt return is recorded as (default int64
        for ints, bool for bools, float64 for floats)."""
        kwargs = kwargs or {}
        ns, sep, rest = op.partition("::")
        if not sep:
            ns, rest = "aten", op
        opname, _, overload = rest.partition(".")
        fn = getattr(getattr(getattr(torch.ops, ns), opname), overload or "default")
        refused = False
        try:
            outs = fn(*args, **kwargs)
        except Exception:  # PyTorch refuses: the kernel must refuse too
            refused = True
            outs = None
        if expected is not None and not refused:
            outs = expected
        if outs is not None and not isinstance(outs, (tuple, list)):
            outs = (outs,)
        if outs is not None:
            outs = [as_tensor(o, scalar_dtype) for o in outs]

        values: list[tuple] = []  # (tensor, role, scale)
        enc_args = []
        pos = list(args)
        for a in fn._schema.arguments:
            if a.kwarg_only:
                v = kwargs.get(a.name, a.default_value)
            else:
                v = pos.pop(0) if pos else kwargs.get(a.name, a.default_value)
            enc_args.append(encode_arg(v, values, schema_kind(a.type)))
        out_idx = []
        if not refused:
            scales = scale(outs) if scale is not None else None
            for i, o in enumerate(outs):
                out_idx.append(len(values))
                values.append((o, 1, None if scales is None or i >= len(scales) else scales[i]))
        else:  # one output slot per schema return (a Tensor[] return: one)
            for _ in fn._schema.returns:
                out_idx.append(len(values))
                values.append((None, 1, None))
            flags |= CASE_REFUSED

        b = bytearray()
        b += pstr(name) + pstr(f"{ns}::{rest}") + struct.pack("<II", flags, len(values))
        for t, role, sc in values:
            b += encode_value(t, role, sc)
        b += struct.pack("<I", len(enc_args)) + b"".join(enc_args)
        b += struct.pack("<I", len(out_idx)) + b"".join(struct.pack("<I", i) for i in out_idx)
        b += struct.pack("<q", k)
        self.cases.append(bytes(b))

    def raw_case(self, name, op, inputs_and_args, outputs, flags=0, k=0):
        """Records a case whose expected outputs the caller computed (for
        ops PyTorch has no direct equivalent of, e.g. view_copy on a
        non-viewable input). inputs_and_args: the args as for case()."""
        values: list[tuple] = []
        enc = [encode_arg(v, values) for v in inputs_and_args]
        out_idx = []
        for o in outputs:
            out_idx.append(len(values))
            values.append((o, 1, None))
        b = bytearray()
        b += pstr(name) + pstr(op if "::" in op else "aten::" + op)
        b += struct.pack("<II", flags, len(values))
        for t, role, sc in values:
            b += encode_value(t, role, sc)
        b += struct.pack("<I", len(enc)) + b"".join(enc)
        b += struct.pack("<I", len(out_idx)) + b"".join(struct.pack("<I", i) for i in out_idx)
        b += struct.pack("<q", k)
        self.cases.append(bytes(b))

    def write(self, path):
        with open(path, "wb") as f:
            f.write(b"DDKGOLD2" + struct.pack("<I", len(self.cases)))
            for c in self.cases:
                f.write(c)


def as_tensor(o, scalar_dtype=None):
    if isinstance(o, torch.Tensor):
        return o
    if isinstance(o, bool):
        return torch.tensor(o, dtype=scalar_dtype or torch.bool)
    if isinstance(o, int):
        return torch.tensor(o, dtype=scalar_dtype or torch.int64)
    if isinstance(o, float):
        return torch.tensor(o, dtype=scalar_dtype or torch.float64)
    raise TypeError(f"cannot record output {o!r}")


def relayout(x, layout):
    if layout is None:
        return x.contiguous()
    if layout == "channels_last":
        return x.contiguous(memory_format=torch.channels_last)
    if layout == "channels_last_3d":
        return x.contiguous(memory_format=torch.channels_last_3d)
    perm = list(layout)  # memory order: outermost first
    inv = [perm.index(d) for d in range(len(perm))]
    return x.permute(perm).contiguous().permute(inv)


def pstr(s):
    e = s.encode()
    return struct.pack("<I", len(e)) + e


def dim_order(t):
    return sorted(range(t.dim()), key=lambda d: (-t.stride(d), d))


def storage_bytes(t):
    if t.numel() == 0:
        return b""
    flat = torch.as_strided(t, (t.numel(),), (1,), t.storage_offset()) if t.numel() else t.reshape(0)
    return flat.contiguous().view(torch.uint8).numpy().tobytes()


def encode_value(t, role, scale):
    if t is None:  # refused case: an empty output slot
        return struct.pack("<iI", -1, 0) + struct.pack("<I", role) + struct.pack("<QQ", 0, 0)
    if role == 0 and not is_dense(t):
        t = t.contiguous()  # inputs must be dense (any dim order)
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


def is_dense(t):
    """Strides are a permutation of the contiguous strides of some dim order."""
    if t.storage_offset() != 0:
        return False
    expect = 1
    for d in sorted(range(t.dim()), key=lambda d: (t.stride(d), -d)):
        if t.shape[d] == 1:
            continue
        if t.stride(d) != expect:
            return False
        expect *= t.shape[d]
    return True


def schema_kind(t):
    """'float', 'float_list', 'int_list', 'bool_list', 'tensor_list' or None
    (no coercion) for a torch schema argument type."""
    text = str(t).replace("Optional[", "").replace("]", "")
    if text.startswith("List[Tensor"):
        return "tensor_list"
    if text.startswith("List[float"):
        return "float_list"
    if text.startswith("List[bool"):
        return "bool_list"
    if text.startswith("List[int") or text.startswith("List[SymInt"):
        return "int_list"
    if text == "float":
        return "float"
    if text == "ScalarType":
        return "dtype"
    return None


def encode_arg(v, values, kind=None):
    """Encodes one argument; `kind` (from schema_kind) coerces Python values
    to the schema's type (an int given for a float, [] for a Tensor[])."""
    if v is None:
        return struct.pack("<I", ARG_NONE)
    if kind == "float" and isinstance(v, int) and not isinstance(v, bool):
        v = float(v)
    if kind == "dtype" and isinstance(v, int) and not isinstance(v, bool):
        return struct.pack("<Iq", ARG_DTYPE, v)  # a schema default (dtype=long -> 4)
    if isinstance(v, (list, tuple)) and kind is not None:
        if kind == "tensor_list":
            idx = []
            for t in v:
                if t is None:
                    idx.append(NO_VALUE)
                else:
                    values.append((t, 0, None))
                    idx.append(len(values) - 1)
            return struct.pack("<II", ARG_TENSOR_LIST, len(idx)) + b"".join(struct.pack("<I", i) for i in idx)
        if kind == "float_list":
            return struct.pack("<II", ARG_FLOAT_LIST, len(v)) + b"".join(struct.pack("<d", float(i)) for i in v)
        if kind == "bool_list":
            return struct.pack("<II", ARG_BOOL_LIST, len(v)) + bytes(int(bool(i)) for i in v)
        if kind == "int_list":
            return struct.pack("<II", ARG_INT_LIST, len(v)) + b"".join(struct.pack("<q", int(i)) for i in v)
    if isinstance(v, torch.Tensor):
        values.append((v, 0, None))
        return struct.pack("<II", ARG_TENSOR, len(values) - 1)
    if isinstance(v, bool):
        return struct.pack("<IB", ARG_BOOL, v)
    if isinstance(v, int):
        return struct.pack("<Iq", ARG_INT, v)
    if isinstance(v, float):
        return struct.pack("<Id", ARG_FLOAT, v)
    if isinstance(v, str):
        return struct.pack("<I", ARG_STRING) + pstr(v)
    if isinstance(v, torch.dtype):
        return struct.pack("<Iq", ARG_DTYPE, SCALAR_TYPE[v])
    if isinstance(v, torch.memory_format):
        return struct.pack("<Iq", ARG_INT, MEMORY_FORMAT[v])
    if isinstance(v, torch.layout):
        return struct.pack("<Iq", ARG_INT, LAYOUT[v])
    if isinstance(v, torch.device):
        return struct.pack("<I", ARG_STRING) + pstr(str(v))
    if isinstance(v, (list, tuple)):
        if any(isinstance(t, torch.Tensor) for t in v):
            idx = []
            for t in v:
                if t is None:
                    idx.append(NO_VALUE)
                else:
                    values.append((t, 0, None))
                    idx.append(len(values) - 1)
            return struct.pack("<II", ARG_TENSOR_LIST, len(idx)) + b"".join(struct.pack("<I", i) for i in idx)
        if v and all(isinstance(i, bool) for i in v):
            return struct.pack("<II", ARG_BOOL_LIST, len(v)) + bytes(int(i) for i in v)
        if any(isinstance(i, float) for i in v):
            return struct.pack("<II", ARG_FLOAT_LIST, len(v)) + b"".join(struct.pack("<d", float(i)) for i in v)
        return struct.pack("<II", ARG_INT_LIST, len(v)) + b"".join(struct.pack("<q", int(i)) for i in v)
    raise TypeError(f"cannot encode {v!r}")


def f64abs(t):
    return t.to(torch.float64).abs()
