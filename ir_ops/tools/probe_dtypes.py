#!/usr/bin/env python3
"""Finds, empirically, which dtypes ATen's CPU kernels accept for each op.

For every op of ir_ops/op_table.tsv and every candidate dtype, the probe
builds small CPU arguments whose primary input (the first Tensor, or the
`dtype=` of a creation op) has that dtype, calls the op through
torch.ops, and records whether the call succeeded. Arguments come from a
per-op builder where one is written below, else from a generic builder
driven by the parsed schema.

Usage:
  python3 ir_ops/tools/probe_dtypes.py              print "name<TAB>dtypes"
  python3 ir_ops/tools/probe_dtypes.py --check      exit 1 on table rows whose
                                                    dtypes differ from the probe
  python3 ir_ops/tools/probe_dtypes.py --update     rewrite the dtypes column
  python3 ir_ops/tools/probe_dtypes.py aten::mm ... only these ops

Rows whose hints contain MANUAL_MARK keep their hand-written dtypes: the
probe cannot call those ops (they are not defined in this torch) and says
so. Then run python3 ir_ops/gen_ops.py.
"""
import argparse
import os
import sys
import warnings

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import gen_ops  # noqa: E402

import torch  # noqa: E402
import torch.ao.quantization.fx._decomposed  # noqa: E402,F401 (registers ops)

MANUAL_MARK = "dtypes hand-written"

REAL = ["float32", "float64", "float16", "bfloat16", "int8", "uint8", "int16",
        "int32", "int64", "bool"]
TORCH_DTYPE = {
    "float32": torch.float32, "float64": torch.float64,
    "float16": torch.float16, "bfloat16": torch.bfloat16,
    "int8": torch.int8, "uint8": torch.uint8, "int16": torch.int16,
    "int32": torch.int32, "int64": torch.int64, "bool": torch.bool,
    "complex64": torch.complex64,
}


def T(d, shape=(2, 3)):
    """A small tensor of dtype d: floats in [0.5, 2.5), ints in 1..3."""
    g = torch.Generator().manual_seed(0)
    if d == torch.bool:
        return torch.randint(0, 2, shape, generator=g).bool()
    if d.is_complex:
        return torch.randn(shape, generator=g, dtype=d)
    if d.is_floating_point:
        return (torch.rand(shape, generator=g) * 2 + 0.5).to(d)
    return torch.randint(1, 4, shape, generator=g).to(d)


def L(values):
    """An int64 index tensor."""
    return torch.tensor(values, dtype=torch.int64)


def B(shape=(2, 3)):
    """A bool mask with both values."""
    return torch.arange(6).reshape(2, 3).remainder(2).bool()[: shape[0], : shape[1]]


def F(x):
    return torch.tensor(x, dtype=torch.float32)


def qrange(d):
    info = torch.iinfo(d) if not d.is_floating_point and d != torch.bool else None
    return (info.min, info.max) if info else (0, 255)


def _pool_bw(pool_args, fwd):
    """Builder for max_pool*_backward: indices from a float forward."""
    def build(d):
        x = T(d, (1, 2, 4, 4))
        out, idx = fwd(T(torch.float32, (1, 2, 4, 4)), *pool_args)
        return (T(d, tuple(out.shape)), x, *pool_args, False, idx), {}
    return build


def _norm_bw(d):
    x, w, b = T(d, (2, 3)), T(d, (3,)), T(d, (3,))
    _, mean, rstd = torch.ops.aten.native_layer_norm(x, [3], w, b, 1e-5)
    return (T(d, (2, 3)), x, [3], mean, rstd, w, b, [True, True, True]), {}


def _group_norm_bw(d):
    x, w = T(d, (2, 4, 3)), T(d, (4,))
    _, mean, rstd = torch.ops.aten.native_group_norm(x, w, T(d, (4,)), 2, 4, 3, 2, 1e-5)
    return (T(d, (2, 4, 3)), x, mean, rstd, w, 2, 4, 3, 2, [True, True, True]), {}


def _dq(extra_kw=False):
    """dequantize_per_tensor family: input is the integer dtype itself."""
    def build(d):
        lo, hi = qrange(d)
        return (T(d), 0.1, 0, lo, hi, d), {}
    return build


I4 = (1, 2, 4, 4)
I5 = (1, 2, 4, 4, 4)
# name -> builder(torch dtype) -> (args, kwargs). Only where the generic
# builder (below) cannot guess plausible arguments.
BUILDERS = {
    "aten::_adaptive_avg_pool2d": lambda d: ((T(d, I4), [2, 2]), {}),
    "aten::_adaptive_avg_pool2d_backward": lambda d: ((T(d, (1, 2, 2, 2)), T(d, I4)), {}),
    "aten::_adaptive_avg_pool3d": lambda d: ((T(d, I5), [2, 2, 2]), {}),
    "aten::_cdist_forward": lambda d: ((T(d, (3, 4)), T(d, (2, 4)), 2.0, None), {}),
    "aten::_embedding_bag": lambda d: ((T(d, (5, 3)), L([0, 1, 2, 3]), L([0, 2])), {}),
    "aten::_fft_c2r": lambda d: ((T(d, (4, 5)), [1], 0, 8), {}),
    "aten::_fft_r2c": lambda d: ((T(d, (4, 8)), [1], 0, True), {}),
    "aten::_local_scalar_dense": lambda d: ((T(d, ()),), {}),
    "aten::_log_softmax": lambda d: ((T(d), 1, False), {}),
    "aten::_softmax": lambda d: ((T(d), 1, False), {}),
    "aten::_native_batch_norm_legit": lambda d: (
        (T(d, (2, 3, 4)), T(d, (3,)), T(d, (3,)), T(d, (3,)), T(d, (3,)), True, 0.1, 1e-5), {}),
    "aten::_native_batch_norm_legit.no_stats": lambda d: (
        (T(d, (2, 3, 4)), T(d, (3,)), T(d, (3,)), True, 0.1, 1e-5), {}),
    "aten::_native_batch_norm_legit_no_training": lambda d: (
        (T(d, (2, 3, 4)), T(d, (3,)), T(d, (3,)), T(d, (3,)), T(d, (3,)), 0.1, 1e-5), {}),
    "aten::_pdist_forward": lambda d: ((T(d, (4, 3)), 2.0), {}),
    "aten::_to_copy": lambda d: ((T(d),), {"dtype": torch.float32}),
    "aten::adaptive_avg_pool1d": lambda d: ((T(d, (1, 2, 8)), [4]), {}),
    "aten::addmm": lambda d: ((T(d, (2, 4)), T(d, (2, 3)), T(d, (3, 4))), {}),
    "aten::arange.start_step": lambda d: ((0, 5, 1), {"dtype": d}),
    "aten::as_strided": lambda d: ((T(d), [2, 2], [1, 2]), {}),
    # out= gets the dtype atan2 would return, so only the input is probed
    "aten::atan2.out": lambda d: (
        (T(d), T(d)), {"out": torch.empty(0, dtype=d if d.is_floating_point else torch.float32)}),
    "aten::avg_pool1d": lambda d: ((T(d, (1, 2, 8)), [2]), {}),
    "aten::avg_pool2d": lambda d: ((T(d, I4), [2, 2]), {}),
    "aten::avg_pool3d": lambda d: ((T(d, I5), [2, 2, 2]), {}),
    "aten::avg_pool2d_backward": lambda d: (
        (T(d, (1, 2, 2, 2)), T(d, I4), [2, 2], [2, 2], [0, 0], False, True, None), {}),
    "aten::bmm": lambda d: ((T(d, (2, 2, 3)), T(d, (2, 3, 4))), {}),
    "aten::cat": lambda d: (([T(d), T(d)], 0), {}),
    "aten::clamp": lambda d: ((T(d), 1, 2), {}),
    "aten::clamp.Tensor": lambda d: ((T(d), T(d), T(d)), {}),
    "aten::col2im": lambda d: ((T(d, (1, 8, 9)), [4, 4], [2, 2], [1, 1], [0, 0], [1, 1]), {}),
    "aten::constant_pad_nd": lambda d: ((T(d), [1, 1]), {}),
    "aten::convolution": lambda d: (
        (T(d, (1, 2, 5, 5)), T(d, (3, 2, 3, 3)), T(d, (3,)), [1, 1], [0, 0], [1, 1],
         False, [0, 0], 1), {}),
    "aten::convolution_backward": lambda d: (
        (T(d, (1, 3, 3, 3)), T(d, (1, 2, 5, 5)), T(d, (3, 2, 3, 3)), [3], [1, 1], [0, 0],
         [1, 1], False, [0, 0], 1, [True, True, True]), {}),
    "aten::div.Scalar_mode": lambda d: ((T(d), 2), {"rounding_mode": "floor"}),
    "aten::div.Tensor_mode": lambda d: ((T(d), T(d)), {"rounding_mode": "floor"}),
    "aten::embedding": lambda d: ((T(d, (5, 3)), L([0, 4, 2])), {}),
    "aten::embedding_dense_backward": lambda d: ((T(d, (3, 3)), L([0, 4, 2]), 5, -1, False), {}),
    "aten::empty.memory_format": lambda d: (([2, 3],), {"dtype": d}),
    "aten::empty_strided": lambda d: (([2, 3], [3, 1]), {"dtype": d}),
    "aten::expand": lambda d: ((T(d, (1, 3)), [2, 3]), {}),
    "aten::full": lambda d: (([2, 3], 1), {"dtype": d}),
    "aten::gather": lambda d: ((T(d), 1, L([[0, 2], [1, 0]])), {}),
    "aten::grid_sampler_2d": lambda d: (
        (T(d, I4), (T(d, (1, 3, 3, 2)).float() - 1.5).to(d), 0, 0, False), {}),
    "aten::index.Tensor": lambda d: ((T(d), [L([1, 0])]), {}),
    "aten::index_put": lambda d: ((T(d), [L([1, 0])], T(d, (2, 3))), {}),
    "aten::index_select": lambda d: ((T(d), 0, L([1, 0])), {}),
    "aten::masked_scatter": lambda d: ((T(d), B(), T(d)), {}),
    "aten::max_pool2d_with_indices": lambda d: ((T(d, I4), [2, 2]), {}),
    "aten::max_pool3d_with_indices": lambda d: ((T(d, I5), [2, 2, 2]), {}),
    "aten::max_pool2d_with_indices_backward": _pool_bw(
        ([2, 2], [2, 2], [0, 0], [1, 1]), torch.ops.aten.max_pool2d_with_indices),
    "aten::mm": lambda d: ((T(d, (2, 3)), T(d, (3, 4))), {}),
    "aten::native_dropout": lambda d: ((T(d), 0.5, True), {}),
    "aten::native_group_norm": lambda d: (
        (T(d, (2, 4, 3)), T(d, (4,)), T(d, (4,)), 2, 4, 3, 2, 1e-5), {}),
    "aten::native_group_norm_backward": _group_norm_bw,
    "aten::native_layer_norm": lambda d: ((T(d), [3], T(d, (3,)), T(d, (3,)), 1e-5), {}),
    "aten::native_layer_norm_backward": _norm_bw,
    "aten::permute": lambda d: ((T(d), [1, 0]), {}),
    "aten::pow.Scalar": lambda d: ((2, T(d)), {}),
    "aten::rand": lambda d: (([2, 3],), {"dtype": d}),
    "aten::randn": lambda d: (([2, 3],), {"dtype": d}),
    "aten::randperm": lambda d: ((5,), {"dtype": d}),
    "aten::reflection_pad1d": lambda d: ((T(d, (1, 2, 5)), [1, 1]), {}),
    "aten::reflection_pad2d": lambda d: ((T(d, I4), [1, 1, 1, 1]), {}),
    "aten::reflection_pad3d": lambda d: ((T(d, I5), [1] * 6), {}),
    "aten::replication_pad2d": lambda d: ((T(d, I4), [1, 1, 1, 1]), {}),
    "aten::replication_pad3d": lambda d: ((T(d, I5), [1] * 6), {}),
    "aten::repeat": lambda d: ((T(d), [2, 1]), {}),
    "aten::resize_": lambda d: ((T(d), [3, 2]), {}),
    "aten::scalar_tensor": lambda d: ((1,), {"dtype": d}),
    "aten::scatter.src": lambda d: ((T(d), 1, L([[0, 2], [1, 0]]), T(d)), {}),
    "aten::scatter.value": lambda d: ((T(d), 1, L([[0, 2], [1, 0]]), 1), {}),
    "aten::scatter_add": lambda d: ((T(d), 1, L([[0, 2], [1, 0]]), T(d)), {}),
    "aten::scatter_reduce.two": lambda d: ((T(d), 1, L([[0, 2], [1, 0]]), T(d), "sum"), {}),
    "aten::select.int": lambda d: ((T(d), 0, 1), {}),
    "aten::select_scatter": lambda d: ((T(d), T(d, (3,)), 0, 1), {}),
    "aten::split_with_sizes": lambda d: ((T(d), [1, 1], 0), {}),
    "aten::squeeze.dim": lambda d: ((T(d, (1, 3)), 0), {}),
    "aten::squeeze.dims": lambda d: ((T(d, (1, 3)), [0]), {}),
    "aten::topk": lambda d: ((T(d), 2), {}),
    "aten::upsample_bilinear2d.vec": lambda d: ((T(d, I4), [8, 8], False, None), {}),
    "aten::upsample_nearest2d.vec": lambda d: ((T(d, I4), [8, 8], None), {}),
    "aten::view": lambda d: ((T(d), [3, 2]), {}),
    "aten::where.self": lambda d: ((B(), T(d), T(d)), {}),
    "quantized_decomposed::quantize_per_tensor": lambda d: (
        (T(d), 0.1, 0, -128, 127, torch.int8), {}),
    "quantized_decomposed::quantize_per_tensor.tensor": lambda d: (
        (T(d), F(0.1), L(0), -128, 127, torch.int8), {}),
    "quantized_decomposed::quantize_per_tensor.tensor2": lambda d: (
        (T(d), F(0.1), L(0), L(-128), L(127), torch.int8), {}),
    "quantized_decomposed::dequantize_per_tensor": _dq(),
    "quantized_decomposed::dequantize_per_tensor.tensor": lambda d: (
        (T(d), F(0.1), L(0), *qrange(d), d), {}),
    "quantized_decomposed::dequantize_per_tensor.tensor2": lambda d: (
        (T(d), F(0.1), L(0), L(qrange(d)[0]), L(qrange(d)[1]), d), {}),
    "quantized_decomposed::choose_qparams.tensor": lambda d: (
        (T(d), -128, 127, 1e-5, torch.int8), {}),
    "quantized_decomposed::choose_qparams_symmetric.tensor": lambda d: (
        (T(d), -128, 127, 1e-5, torch.int8), {}),
    "quantized_decomposed::quantize_per_channel": lambda d: (
        (T(d), F([0.1, 0.2]).double(), L([0, 1]), 0, -128, 127, torch.int8), {}),
    "quantized_decomposed::dequantize_per_channel": lambda d: (
        (T(d), F([0.1, 0.2]).double(), L([0, 1]), 0, *qrange(d), d), {}),
    "quantized_decomposed::choose_qparams_per_token": lambda d: ((T(d), torch.int8), {}),
    "quantized_decomposed::choose_qparams_per_token_asymmetric": lambda d: (
        (T(d), torch.int8), {}),
    "quantized_decomposed::quantize_per_token": lambda d: (
        (T(d), F([[0.1], [0.2]]), L([[0], [1]]), -128, 127, torch.int8), {}),
    "quantized_decomposed::dequantize_per_token": lambda d: (
        (T(d), F([[0.1], [0.2]]), L([[0], [1]]), *qrange(d), d, torch.float32), {}),
    "quantized_decomposed::quantize_per_channel_group": lambda d: (
        (T(d, (2, 4)), F([[0.1, 0.2], [0.3, 0.4]]), L([[0, 1], [1, 0]]), -128, 127,
         torch.int8, 2), {}),
    "quantized_decomposed::dequantize_per_channel_group": lambda d: (
        (T(d, (2, 4)), F([[0.1, 0.2], [0.3, 0.4]]), L([[0, 1], [1, 0]]), *qrange(d), d,
         2, torch.float32), {}),
}


def generic_args(op, d):
    """Arguments from the schema: required params only, defaults elsewhere.

    The first Tensor gets dtype d; later tensors d too, except index-like
    names (int64) and mask-like names (bool). Scalars are 2, ints 0 (a
    valid dim), int lists [0], floats 0.5, bools False.
    """
    args, first = [], True
    for p in op["params"]:
        if p["default"] is not None or p["kwarg_only"]:
            break
        kind, name = p["kind"], p["name"]
        if kind == "TENSOR":
            if name in ("index", "indices", "offsets") and not first:
                args.append(L([0, 1]))
            elif name in ("mask", "condition") and not first:
                args.append(B())
            else:
                args.append(T(d))
            first = False
        elif kind == "TENSOR_LIST":
            args.append([T(d), T(d)])
        elif kind == "SCALAR":
            args.append(2)
        elif kind == "INT":
            args.append(0)
        elif kind == "INT_LIST":
            args.append([0])
        elif kind == "FLOAT":
            args.append(0.5)
        elif kind == "BOOL":
            args.append(False)
        elif kind == "SCALAR_TYPE":
            args.append(d)
        elif p["optional"]:
            args.append(None)
        else:
            return None
    return tuple(args), {}


def resolve(name):
    """torch.ops overload for 'ns::op.overload', or None if undefined."""
    ns, _, rest = name.partition("::")
    base, _, overload = rest.partition(".")
    try:
        return getattr(getattr(getattr(torch.ops, ns), base), overload or "default")
    except (AttributeError, RuntimeError):
        return None


def probe_op(op, candidates=None):
    """Supported dtype names for one op (table order), or None when the op
    is not callable here or no candidate dtype works (complex64 is tried
    only when no real dtype works)."""
    fn = resolve(op["name"])
    if fn is None:
        return None
    build = BUILDERS.get(op["name"], lambda d: generic_args(op, d))

    def accepts(dname):
        try:
            built = build(TORCH_DTYPE[dname])
            if built is None:
                return False
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fn(*built[0], **built[1])
            return True
        except Exception:  # any rejection counts: dtype errors are RuntimeError,
            return False   # TypeError, NotImplementedError, AssertionError...

    ok = [d for d in (candidates or REAL) if accepts(d)]
    if not ok and candidates is None and accepts("complex64"):
        ok = ["complex64"]
    return ok or None


def _rewrite_dtypes(path, new):
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    cols = lines[0].split("\t")
    name_i, dt_i = cols.index("name"), cols.index("dtypes")
    for k, line in enumerate(lines[1:], start=1):
        fields = line.split("\t")
        if len(fields) == len(cols) and fields[name_i] in new:
            fields[dt_i] = ",".join(new[fields[name_i]])
            lines[k] = "\t".join(fields)
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("ops", nargs="*", help="op names (default: all)")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true")
    mode.add_argument("--update", action="store_true")
    args = ap.parse_args(argv)
    torch.manual_seed(0)
    path = os.path.join(gen_ops.ROOT, gen_ops.TABLE_PATH)
    ops = gen_ops.load_table(path)
    if args.ops:
        ops = [op for op in ops if op["name"] in args.ops]
    diffs, new = 0, {}
    for op in ops:
        found = probe_op(op)
        manual = MANUAL_MARK in op["hints"]
        if found is None:
            note = "(probe n/a; table: %s)" % ",".join(op["dtypes"])
            if not manual:
                note += "  <- add '%s' to hints" % MANUAL_MARK
                diffs += 1
            print("%s\t%s" % (op["name"], note))
            continue
        print("%s\t%s" % (op["name"], ",".join(found)))
        if manual:
            print("  note: hints say %r but the probe works" % MANUAL_MARK)
        elif found != op["dtypes"]:
            diffs += 1
            new[op["name"]] = found
            if args.check:
                print("  table differs: %s" % ",".join(op["dtypes"]))
    if args.update and new:
        _rewrite_dtypes(path, new)
        print("updated %d rows; now run python3 ir_ops/gen_ops.py" % len(new))
    return 1 if args.check and diffs else 0


if __name__ == "__main__":
    sys.exit(main())
