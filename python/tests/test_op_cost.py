"""ddk.op_cost and the op table's `cost` column: the formula language (what
it accepts, what gen_ops rejects), FLOPs against torch's FlopCounterMode
where it counts the op (mm, addmm, bmm, convolution, convolution_backward,
the matmul part of mixed_mm/mixed_linear), hand-derived counts for every
other op that computes (each with the reason), bytes moved, node_cost on a
loaded program, and a coverage check: an op of the table that computes and
has no formula fails here unless it is in EXEMPT."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import LIBDDK, REPO

from ddk import op_cost
from ddk.op_cost import CostError, cost
from ddk.ops_meta import OPS, OP_BY_NAME

sys.path.insert(0, str(REPO / "ir_ops"))
import gen_ops  # noqa: E402

F32 = "float32"


def t(*shape, dtype=F32):
    return (dtype, tuple(shape))


def flops(op, args, outs):
    return cost(op, args, outs)["flops"]


# ------------------------------------------------------------------ oracle

torch = pytest.importorskip("torch")
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402


def _torch_count(fn):
    with FlopCounterMode(display=False) as m:
        res = fn()
    return m.get_total_flops(), res


def _spec(x):
    return None if x is None else (str(x.dtype).replace("torch.", ""), tuple(x.shape))


@pytest.mark.parametrize("m, k, n", [(1, 1, 1), (64, 128, 32), (7, 300, 5)])
def test_mm_addmm_bmm_match_flop_counter(m, k, n):
    a, b = torch.randn(m, k), torch.randn(k, n)
    want, y = _torch_count(lambda: torch.ops.aten.mm(a, b))
    assert flops("aten::mm", [_spec(a), _spec(b)], [_spec(y)]) == want
    bias = torch.randn(n)
    want, y = _torch_count(lambda: torch.ops.aten.addmm(bias, a, b))
    assert flops("aten::addmm", [_spec(bias), _spec(a), _spec(b)], [_spec(y)]) == want
    a3, b3 = torch.randn(3, m, k), torch.randn(3, k, n)
    want, y = _torch_count(lambda: torch.ops.aten.bmm(a3, b3))
    assert flops("aten::bmm", [_spec(a3), _spec(b3)], [_spec(y)]) == want


CONVS = [
    # input, weight, stride, padding, dilation, transposed, output_padding, groups
    ((2, 8, 10, 10), (16, 8, 3, 3), [1, 1], [1, 1], [1, 1], False, [0, 0], 1),
    ((2, 8, 10, 10), (16, 4, 3, 3), [2, 2], [1, 1], [1, 1], False, [0, 0], 2),
    ((1, 32, 14, 14), (32, 1, 3, 3), [1, 1], [1, 1], [1, 1], False, [0, 0], 32),
    ((1, 4, 9, 9), (8, 4, 5, 3), [2, 1], [0, 2], [2, 1], False, [0, 0], 1),
    ((2, 6, 20), (4, 3, 5), [3], [1], [1], False, [0], 2),
    ((1, 2, 4, 5, 6), (4, 2, 3, 3, 3), [1, 1, 1], [1, 1, 1], [1, 1, 1], False, [0, 0, 0], 1),
    ((1, 8, 7, 7), (8, 4, 3, 3), [2, 2], [1, 1], [1, 1], True, [1, 1], 1),
    ((2, 8, 5, 5), (8, 2, 2, 2), [2, 2], [0, 0], [1, 1], True, [0, 0], 2),
]


@pytest.mark.parametrize("case", CONVS, ids=lambda c: "x".join(map(str, c[0])) + f"_g{c[7]}"
                         + ("_T" if c[5] else ""))
def test_convolution_matches_flop_counter(case):
    xs, ws, stride, pad, dil, transposed, opad, groups = case
    x, w = torch.randn(*xs), torch.randn(*ws)
    out_c = ws[1] * groups if transposed else ws[0]
    bias = torch.randn(out_c)
    args = lambda b: [x, w, b, stride, pad, dil, transposed, opad, groups]  # noqa: E731
    for b in (None, bias):  # the bias add is not counted, either way
        want, y = _torch_count(lambda: torch.ops.aten.convolution(*args(b)))
        spec = [_spec(v) if isinstance(v, torch.Tensor) or v is None else v for v in args(b)]
        assert flops("aten::convolution", spec, [_spec(y)]) == want


@pytest.mark.parametrize("case", [c for c in CONVS if c[7] == 1],
                         ids=lambda c: "x".join(map(str, c[0])) + ("_T" if c[5] else ""))
@pytest.mark.parametrize("mask", [[True, True, False], [True, False, False],
                                  [False, True, False]])
def test_convolution_backward_matches_flop_counter(case, mask):
    # groups == 1 only: FlopCounterMode counts a grouped conv's grad_weight
    # as `groups` times its forward (it drops the grouping when it swaps the
    # shapes), while the formula counts it as the forward, see below.
    xs, ws, stride, pad, dil, transposed, opad, groups = case
    x, w = torch.randn(*xs), torch.randn(*ws)
    y = torch.ops.aten.convolution(x, w, None, stride, pad, dil, transposed, opad, groups)
    go = torch.randn_like(y)
    call = [go, x, w, None, stride, pad, dil, transposed, opad, groups, mask]
    want, res = _torch_count(lambda: torch.ops.aten.convolution_backward(*call))
    spec = [_spec(v) if isinstance(v, torch.Tensor) or v is None else v for v in call]
    outs = [_spec(r) if r is not None else t(0) for r in res]
    assert flops("aten::convolution_backward", spec, outs) == want


def test_grouped_convolution_backward_and_bias_grad_by_hand():
    # x (2,8,10,10), w (16,4,3,3), groups 2, stride 2, pad 1 -> y (2,16,5,5).
    # Forward: each of the 2*16*5*5 = 800 outputs is a 4*3*3 = 36-term dot
    # product: 2*800*36 = 57600. grad_input and grad_weight each do the
    # same multiply-adds as the forward: 57600 each. grad_bias sums
    # grad_output: one add per element, 800.
    args = [t(2, 16, 5, 5), t(2, 8, 10, 10), t(16, 4, 3, 3), [16], [2, 2], [1, 1], [1, 1],
            False, [0, 0], 2]
    outs = [t(2, 8, 10, 10), t(16, 4, 3, 3), t(16)]
    assert flops("aten::convolution_backward", args + [[True, True, True]], outs) == \
        57600 * 2 + 800
    assert flops("aten::convolution_backward", args + [[False, False, True]], outs) == 800


def test_mixed_mm_and_linear_matmul_part_matches_flop_counter():
    # The matmul part is FlopCounterMode's count of the float mm; on top,
    # dequantizing the int8 weight is a subtract and a multiply per element.
    x, wq = torch.randn(6, 32), torch.randint(-8, 8, (32, 10), dtype=torch.int8)
    want, y = _torch_count(lambda: torch.ops.aten.mm(x, wq.float()))
    got = flops("quantized_decomposed::mixed_mm",
                [_spec(x), _spec(wq), t(10), None], [_spec(y)])
    assert got == want + 2 * 32 * 10
    wl = torch.randint(-8, 8, (10, 32), dtype=torch.int8)
    want, y = _torch_count(lambda: torch.nn.functional.linear(x, wl.float()))
    got = flops("quantized_decomposed::mixed_linear",
                [_spec(x), _spec(wl), t(10), None], [_spec(y)])
    assert got == want + 2 * 32 * 10


# ----------------------------------------------------- hand-derived counts

# Elementwise ops (and comparisons, logical/bitwise ops, activations) count
# one FLOP per output element, whatever the function. The instance: the
# first tensor argument is (3, 4), a second one (2, 3, 4), so the output
# (2, 3, 4) has 24 elements; a formula on the first input would give 12.
EW_CATEGORIES = {"elementwise_unary", "elementwise_binary", "comparison",
                 "logical_bitwise", "activation"}
NOT_ONE_PER_ELEMENT = {"aten::_softmax", "aten::_log_softmax"}  # checked below


def _generic_args(op, shapes):
    """Schema-ordered args: tensors take the next shape, the rest a value
    of their kind that every formula here ignores."""
    shapes = list(shapes)
    filler = {"INT": 0, "FLOAT": 1.0, "SCALAR": 2, "BOOL": False, "STRING": "none",
              "SCALAR_TYPE": 6, "INT_LIST": [], "FLOAT_LIST": [], "BOOL_LIST": []}
    args = []
    for p in op["params"]:
        if p["kind"] == "TENSOR":
            args.append(t(*shapes.pop(0)) if shapes else t(2, 3, 4))
        elif p["kind"] == "TENSOR_LIST":
            args.append([t(2, 3, 4)])
        else:
            args.append(filler.get(p["kind"]))
    return args


EW_OPS = [o["name"] for o in OPS if o["category"] in EW_CATEGORIES
          and o["name"] not in NOT_ONE_PER_ELEMENT]


@pytest.mark.parametrize("name", EW_OPS)
def test_elementwise_ops_count_one_per_output_element(name):
    op = OP_BY_NAME[name]
    args = _generic_args(op, [(3, 4), (2, 3, 4), (2, 3, 4)])
    assert flops(name, args, [t(2, 3, 4)]) == 24


# (op, args, outputs, expected FLOPs, why). Shapes are small and explicit so
# each count can be checked by hand.
HAND = [
    ("aten::_softmax", [t(4, 10), 1, False], [t(4, 10)], 200,
     "per element: max, subtract, exp, sum, divide = 5 x 40"),
    ("aten::_log_softmax", [t(4, 10), 1, False], [t(4, 10)], 200,
     "per element: max, subtract, exp, sum, subtract log = 5 x 40"),
    # reductions: one op per input element (120), mean adds a divide per output
    ("aten::sum.dim_IntList", [t(2, 3, 20), [2], False], [t(2, 3)], 120, "120 adds"),
    ("aten::mean", [t(2, 3, 20)], [t()], 121, "120 adds + 1 divide"),
    ("aten::mean.dim", [t(2, 3, 20), [2], False], [t(2, 3)], 126, "120 adds + 6 divides"),
    ("aten::amax", [t(2, 3, 20), [2], False], [t(2, 3)], 120, "120 compares"),
    ("aten::amin", [t(2, 3, 20), [2], False], [t(2, 3)], 120, "120 compares"),
    ("aten::any", [t(2, 3, 20)], [t(dtype="bool")], 120, "120 tests"),
    ("aten::any.dim", [t(2, 3, 20), 1, False], [t(2, 20)], 120, "120 tests"),
    ("aten::any.dims", [t(2, 3, 20), [0, 1], False], [t(20)], 120, "120 tests"),
    ("aten::argmax", [t(2, 3, 20), 2, False], [t(2, 3, dtype="int64")], 120, "compares"),
    ("aten::argmin", [t(2, 3, 20), 2, False], [t(2, 3, dtype="int64")], 120, "compares"),
    ("aten::max.dim", [t(2, 3, 20), 2, False], [t(2, 3), t(2, 3, dtype="int64")], 120,
     "compares"),
    ("aten::min.dim", [t(2, 3, 20), 2, False], [t(2, 3), t(2, 3, dtype="int64")], 120,
     "compares"),
    ("aten::prod", [t(2, 3, 20)], [t()], 120, "120 multiplies"),
    ("aten::prod.dim_int", [t(2, 3, 20), 2, False], [t(2, 3)], 120, "120 multiplies"),
    ("aten::cumsum", [t(2, 3, 20), 2], [t(2, 3, 20)], 120, "one add per element"),
    ("aten::var.dim", [t(2, 3, 20), [2], True, False], [t(2, 3)], 492,
     "mean (120 adds + 6 divides), then subtract, square, add per element "
     "(360), then 6 divides: 480 + 12"),
    ("aten::var.correction", [t(2, 3, 20), None, 1, False], [t()], 482,
     "over all 120: 120 + 1 + 360 + 1"),
    ("aten::nonzero", [t(5, 6)], [t(30, 2, dtype="int64")], 30, "one test per element"),
    # normalization (x of 2*4*5*5 = 200 elements): statistics are 4 per
    # element (mean add; subtract, square, add for the variance),
    # normalizing 2 ((x - mean) * rstd), weight and bias 1 each.
    ("aten::native_layer_norm", [t(2, 4, 5, 5), [5, 5], t(5, 5), t(5, 5), 1e-5],
     [t(2, 4, 5, 5), t(2, 4, 1, 1), t(2, 4, 1, 1)], 200 * 8, "(4 + 2 + 1 + 1) x 200"),
    ("aten::native_layer_norm", [t(2, 4, 5, 5), [5, 5], None, None, 1e-5],
     [t(2, 4, 5, 5), t(2, 4, 1, 1), t(2, 4, 1, 1)], 200 * 6, "no affine: 6 x 200"),
    ("aten::native_group_norm", [t(2, 4, 5, 5), t(4), None, 2, 4, 25, 2, 1e-5],
     [t(2, 4, 5, 5), t(2, 2), t(2, 2)], 200 * 7, "stats + normalize + weight: 7 x 200"),
    ("aten::_native_batch_norm_legit_no_training",
     [t(2, 4, 5, 5), t(4), t(4), t(4), t(4), 0.1, 1e-5], [t(2, 4, 5, 5), t(0), t(0)],
     200 * 4, "given stats: normalize 2 + weight + bias"),
    ("aten::_native_batch_norm_legit",
     [t(2, 4, 5, 5), t(4), t(4), t(4), t(4), True, 0.1, 1e-5], [t(2, 4, 5, 5), t(4), t(4)],
     200 * 8, "training: stats 4 + normalize 2 + weight + bias"),
    ("aten::_native_batch_norm_legit",
     [t(2, 4, 5, 5), None, None, t(4), t(4), False, 0.1, 1e-5], [t(2, 4, 5, 5), t(0), t(0)],
     200 * 2, "running stats, no affine: normalize only"),
    ("aten::_native_batch_norm_legit.no_stats",
     [t(2, 4, 5, 5), t(4), None, True, 0.1, 1e-5], [t(2, 4, 5, 5), t(4), t(4)],
     200 * 7, "stats 4 + normalize 2 + weight"),
    ("aten::native_layer_norm_backward",
     [t(2, 4, 5, 5), t(2, 4, 5, 5), [5, 5], t(2, 4, 1, 1), t(2, 4, 1, 1), t(5, 5), t(5, 5),
      [True, True, True]], [t(2, 4, 5, 5), t(5, 5), t(5, 5)], 200 * 13,
     "grad_input 10/element (x-hat 2, dy*w 1, two row sums 3, combine 4), "
     "grad_weight dy*x-hat accumulated 2, grad_bias sum 1"),
    ("aten::native_group_norm_backward",
     [t(2, 4, 5, 5), t(2, 4, 5, 5), t(2, 2), t(2, 2), t(4), 2, 4, 25, 2,
      [True, False, False]], [t(2, 4, 5, 5), t(0), t(0)], 200 * 10, "grad_input only"),
    # pooling
    ("aten::max_pool2d_with_indices", [t(1, 3, 8, 8), [2, 2], [2, 2], [0, 0], [1, 1], False],
     [t(1, 3, 4, 4), t(1, 3, 4, 4, dtype="int64")], 48 * 4, "48 outputs x 4 compares"),
    ("aten::max_pool3d_with_indices",
     [t(1, 2, 4, 4, 4), [2, 2, 2], [2, 2, 2], [0, 0, 0], [1, 1, 1], False],
     [t(1, 2, 2, 2, 2), t(1, 2, 2, 2, 2, dtype="int64")], 16 * 8, "16 outputs x 8"),
    ("aten::avg_pool2d", [t(1, 3, 8, 8), [3, 3], [1, 1], [1, 1]], [t(1, 3, 8, 8)],
     192 * 10, "192 outputs x (9 adds + 1 divide)"),
    ("aten::avg_pool1d", [t(1, 3, 8), [2], [2], [0]], [t(1, 3, 4)], 12 * 3,
     "12 outputs x (2 + 1)"),
    ("aten::avg_pool3d", [t(1, 2, 4, 4, 4), [2, 2, 2], [2, 2, 2], [0, 0, 0]],
     [t(1, 2, 2, 2, 2)], 16 * 9, "16 outputs x (8 + 1)"),
    ("aten::avg_pool2d_backward",
     [t(1, 3, 4, 4), t(1, 3, 8, 8), [2, 2], [2, 2], [0, 0], False, True, None],
     [t(1, 3, 8, 8)], 48 * 5, "48 grads: 1 divide + 4 adds into the window"),
    ("aten::max_pool2d_with_indices_backward",
     [t(1, 3, 4, 4), t(1, 3, 8, 8), [2, 2], [2, 2], [0, 0], [1, 1], False,
      t(1, 3, 4, 4, dtype="int64")], [t(1, 3, 8, 8)], 48, "one add per grad"),
    ("aten::_adaptive_avg_pool2d", [t(1, 3, 8, 8), [2, 2]], [t(1, 3, 2, 2)], 192 + 12,
     "each input added once (windows divide evenly) + a divide per output"),
    ("aten::_adaptive_avg_pool3d", [t(1, 2, 4, 4, 4), [2, 2, 2]], [t(1, 2, 2, 2, 2)],
     128 + 16, "128 adds + 16 divides"),
    ("aten::adaptive_avg_pool1d", [t(1, 3, 8), [4]], [t(1, 3, 4)], 24 + 12,
     "24 adds + 12 divides"),
    ("aten::_adaptive_avg_pool2d_backward", [t(1, 3, 2, 2), t(1, 3, 8, 8)], [t(1, 3, 8, 8)],
     12 + 192, "a divide per grad, an add per input element"),
    # distances: per output pair, M=5 (subtract, |.|^p, add) + the root
    ("aten::_cdist_forward", [t(2, 4, 5), t(2, 3, 5), 2.0, None], [t(2, 4, 3)],
     24 * 16, "24 pairs x (3*5 + 1)"),
    ("aten::_pdist_forward", [t(6, 5), 2.0], [t(15)], 15 * 16, "15 pairs x (3*5 + 1)"),
    # resampling
    ("aten::upsample_bilinear2d.vec", [t(1, 3, 4, 4), [8, 8], False, None],
     [t(1, 3, 8, 8)], 192 * 8, "192 outputs x 4 taps x (multiply + add)"),
    ("aten::grid_sampler_2d", [t(1, 3, 4, 4), t(1, 5, 5, 2), 0, 0, False], [t(1, 3, 5, 5)],
     75 * 8 + 50 * 2, "bilinear: 75 outputs x 8; 50 grid coords unnormalized (mul+add)"),
    ("aten::grid_sampler_2d", [t(1, 3, 4, 4), t(1, 5, 5, 2), 1, 0, False], [t(1, 3, 5, 5)],
     50 * 2, "nearest: coordinates only"),
    ("aten::grid_sampler_2d", [t(1, 3, 4, 4), t(1, 5, 5, 2), 2, 0, False], [t(1, 3, 5, 5)],
     75 * 32 + 50 * 2, "bicubic: 16 taps x (multiply + add)"),
    ("aten::col2im", [t(1, 12, 9), [4, 4], [2, 2], [1, 1], [0, 0], [1, 1]],
     [t(1, 3, 4, 4)], 108, "each column element added once into the image"),
    # indexing that accumulates
    ("aten::_embedding_bag",
     [t(10, 8), t(6, dtype="int64"), t(2, dtype="int64"), False, 0, False, None, False, -1],
     [t(2, 8), t(6, dtype="int64"), t(2, dtype="int64"), t(2, dtype="int64")], 48,
     "sum mode: 6 gathered rows of 8 added"),
    ("aten::_embedding_bag",
     [t(10, 8), t(6, dtype="int64"), t(2, dtype="int64"), False, 1, False, t(6), False, -1],
     [t(2, 8), t(6, dtype="int64"), t(2, dtype="int64"), t(2, dtype="int64")], 96 + 16,
     "mean mode with per-sample weights: 48 multiplies + 48 adds + 16 divides"),
    ("aten::embedding_dense_backward", [t(6, 8), t(6, dtype="int64"), 10, -1, False],
     [t(10, 8)], 48, "each grad element added into its row"),
    ("aten::scatter_add", [t(5, 4), 0, t(3, 4, dtype="int64"), t(3, 4)], [t(5, 4)], 12,
     "one add per src element"),
    ("aten::scatter_reduce.two", [t(5, 4), 0, t(3, 4, dtype="int64"), t(3, 4), "sum", True],
     [t(5, 4)], 12, "one add per src element"),
    ("aten::scatter_reduce.two", [t(5, 4), 0, t(3, 4, dtype="int64"), t(3, 4), "mean", True],
     [t(5, 4)], 12 + 20, "adds + a divide per output"),
    ("aten::index_put", [t(5, 4), [t(3, dtype="int64")], t(3, 4), True], [t(5, 4)], 12,
     "accumulate: one add per value"),
    ("aten::index_put", [t(5, 4), [t(3, dtype="int64")], t(3, 4), False], [t(5, 4)], 0,
     "no accumulate: a copy"),
    ("aten::native_dropout", [t(4, 5), 0.5, True], [t(4, 5), t(4, 5, dtype="bool")], 40,
     "train: compare for the mask + scale multiply, per element"),
    ("aten::native_dropout", [t(4, 5), 0.5, False], [t(4, 5), t(4, 5, dtype="bool")], 0,
     "eval: identity"),
    # quantization (x of 60 elements): quantize = divide, round, add zero
    # point, clamp (4); dequantize = subtract zero point, multiply (2);
    # choosing qparams = a min and a max pass (2).
    ("quantized_decomposed::quantize_per_tensor", [t(3, 20), 0.1, 0, -128, 127, 1],
     [t(3, 20, dtype="int8")], 240, "4 x 60"),
    ("quantized_decomposed::quantize_per_tensor.tensor",
     [t(3, 20), t(1), t(1, dtype="int64"), -128, 127, 1], [t(3, 20, dtype="int8")], 240, "4 x 60"),
    ("quantized_decomposed::quantize_per_tensor.tensor2",
     [t(3, 20), t(1), t(1, dtype="int64"), t(1, dtype="int64"), t(1, dtype="int64"), 1],
     [t(3, 20, dtype="int8")], 240, "4 x 60"),
    ("quantized_decomposed::dequantize_per_tensor",
     [t(3, 20, dtype="int8"), 0.1, 0, -128, 127, 1], [t(3, 20)], 120, "2 x 60"),
    ("quantized_decomposed::dequantize_per_tensor.tensor",
     [t(3, 20, dtype="int8"), t(1), t(1, dtype="int64"), -128, 127, 1], [t(3, 20)], 120, "2 x 60"),
    ("quantized_decomposed::dequantize_per_tensor.tensor2",
     [t(3, 20, dtype="int8"), t(1), t(1, dtype="int64"), t(1, dtype="int64"),
      t(1, dtype="int64"), 1], [t(3, 20)], 120, "2 x 60"),
    ("quantized_decomposed::choose_qparams.tensor", [t(3, 20), -128, 127, 1e-5, 1],
     [t(1, dtype="float64"), t(1, dtype="int64")], 120, "min and max: 2 x 60"),
    ("quantized_decomposed::choose_qparams_symmetric.tensor", [t(3, 20), -128, 127, 1e-5, 1],
     [t(1, dtype="float64"), t(1, dtype="int64")], 120, "abs and max: 2 x 60"),
    ("quantized_decomposed::choose_qparams_per_token", [t(3, 20), 1],
     [t(3, 1), t(3, 1, dtype="int64")], 120, "2 x 60"),
    ("quantized_decomposed::choose_qparams_per_token_asymmetric", [t(3, 20), 1],
     [t(3, 1), t(3, 1, dtype="int64")], 120, "2 x 60"),
    ("quantized_decomposed::quantize_per_channel",
     [t(3, 20), t(3), t(3, dtype="int64"), 0, -128, 127, 1], [t(3, 20, dtype="int8")], 240,
     "4 x 60"),
    ("quantized_decomposed::dequantize_per_channel",
     [t(3, 20, dtype="int8"), t(3), None, 0, -128, 127, 1], [t(3, 20)], 120, "2 x 60"),
    ("quantized_decomposed::quantize_per_token",
     [t(3, 20), t(3, 1), t(3, 1, dtype="int64"), -128, 127, 1], [t(3, 20, dtype="int8")], 240,
     "4 x 60"),
    ("quantized_decomposed::dequantize_per_token",
     [t(3, 20, dtype="int8"), t(3, 1), t(3, 1, dtype="int64"), -128, 127, 1, 6], [t(3, 20)],
     120, "2 x 60"),
    ("quantized_decomposed::quantize_per_channel_group",
     [t(3, 20), t(6), t(6, dtype="int64"), -128, 127, 1, 10], [t(3, 20, dtype="int8")], 240,
     "4 x 60"),
    ("quantized_decomposed::dequantize_per_channel_group",
     [t(3, 20, dtype="int8"), t(6), None, -128, 127, 1, 10, 6], [t(3, 20)], 120, "2 x 60"),
    ("quantized_decomposed::add",
     [t(3, 20, dtype="uint8"), 0.1, 0, 0, 255, t(3, 20, dtype="uint8"), 0.1, 0, 0, 255,
      0.2, 0, 0, 255], [t(3, 20, dtype="uint8")], 540,
     "dequantize both (2 + 2), add (1), requantize (4): 9 x 60"),
    ("quantized_decomposed::add_relu",
     [t(3, 20, dtype="uint8"), 0.1, 0, 0, 255, t(3, 20, dtype="uint8"), 0.1, 0, 0, 255,
      0.2, 0, 0, 255], [t(3, 20, dtype="uint8")], 600, "add's 9 + the relu clamp: 10 x 60"),
    ("quantized_decomposed::add.scalar",
     [t(3, 20, dtype="uint8"), 0.1, 0, 0, 255, 0, 1.5, 0.2, 0, 0, 255, 0],
     [t(3, 20, dtype="uint8")], 420, "dequantize (2), add (1), requantize (4): 7 x 60"),
]
for _q in ("embedding_byte", "embedding_2bit", "embedding_4bit"):
    for _suffix in ("", ".dtype"):
        HAND.append((f"quantized_decomposed::{_q}{_suffix}",
                     [t(10, 8, dtype="uint8"), t(10), None, 0, 255, t(3, dtype="int64")],
                     [t(3, 32 if "2bit" in _q else 16 if "4bit" in _q else 8)],
                     {"embedding_byte": 48, "embedding_2bit": 192, "embedding_4bit": 96}[_q],
                     "dequantize each output element: 2 x 3 rows x (8, 16 or 32 values)"))


@pytest.mark.parametrize("name, args, outs, want, why", HAND,
                         ids=[f"{h[0]}-{k}" for k, h in enumerate(HAND)])
def test_hand_derived_flops(name, args, outs, want, why):
    assert flops(name, args, outs) == want, why


# Ops that only move, create or describe data: 0 FLOPs (their bytes are
# checked below where a formula overrides the default).
DATA_MOVEMENT = {
    # copies and views (the DDK's views are copies, op_shape_view.c)
    "aten::_to_copy", "aten::clone", "aten::copy", "aten::alias", "aten::as_strided",
    "aten::cat", "aten::constant_pad_nd", "aten::diagonal", "aten::expand", "aten::flip",
    "aten::permute", "aten::reflection_pad1d", "aten::reflection_pad2d",
    "aten::reflection_pad3d", "aten::repeat", "aten::replication_pad2d",
    "aten::replication_pad3d", "aten::resize_", "aten::select.int", "aten::slice.Tensor",
    "aten::split_with_sizes", "aten::squeeze.dim", "aten::squeeze.dims",
    "aten::unsqueeze", "aten::view", "aten::upsample_nearest2d.vec",
    # gathers and scatters that only copy
    "aten::embedding", "aten::gather", "aten::index.Tensor", "aten::index_select",
    "aten::masked_scatter", "aten::scatter.src", "aten::scatter.value",
    "aten::select_scatter", "aten::slice_scatter",
    # creation (random draws are counted as creation, not arithmetic)
    "aten::arange.start_step", "aten::empty.memory_format", "aten::empty_strided",
    "aten::fill.Scalar", "aten::full", "aten::full_like", "aten::rand", "aten::randn",
    "aten::randperm", "aten::scalar_tensor",
    # metadata and scalar reads
    "aten::_local_scalar_dense", "aten::sym_is_contiguous", "aten::sym_numel",
    "aten::sym_size.int", "aten::sym_storage_offset", "aten::sym_stride.int",
}

# Ops that compute but have no formula (flops None), and why.
EXEMPT = {
    # comparison sorts: the count depends on the algorithm and the data
    "aten::sort": "comparison count is algorithm- and data-dependent",
    "aten::topk": "comparison count is algorithm- and data-dependent",
    # FFTs: O(n log n) with a radix-dependent constant the kernel does not fix
    "aten::_fft_r2c": "n log n with an implementation-dependent constant",
    "aten::_fft_c2r": "n log n with an implementation-dependent constant",
}

ORACLE_OPS = {"aten::mm", "aten::addmm", "aten::bmm", "aten::convolution",
              "aten::convolution_backward", "quantized_decomposed::mixed_mm",
              "quantized_decomposed::mixed_linear"}


def test_every_computing_op_has_a_formula_and_a_checked_count():
    covered = ORACLE_OPS | set(EW_OPS) | {h[0] for h in HAND}
    missing_formula, unchecked = [], []
    for op in OPS:
        name = op["name"]
        if name in DATA_MOVEMENT:
            continue
        if name in EXEMPT:
            assert op["cost"].split(";")[0].strip() in ("", ) or \
                op["cost"].startswith("bytes"), f"{name} is exempt but has a FLOP formula"
            continue
        parsed = op_cost.parse_cost(op["cost"], op["params"], op["returns"])
        if parsed is None or parsed.flops is None:
            missing_formula.append(name)
        if name not in covered:
            unchecked.append(name)
    assert not missing_formula, f"computing ops with no FLOP formula: {missing_formula}"
    assert not unchecked, f"computing ops with no checked count here: {unchecked}"
    assert not (DATA_MOVEMENT & set(EXEMPT))
    assert DATA_MOVEMENT <= set(OP_BY_NAME) and set(EXEMPT) <= set(OP_BY_NAME)


@pytest.mark.parametrize("name", sorted(DATA_MOVEMENT))
def test_data_movement_ops_count_zero_flops(name):
    op = OP_BY_NAME[name]
    args = _generic_args(op, [(2, 3, 4)])
    assert flops(name, args, [t(2, 3, 4)]) == 0


@pytest.mark.parametrize("name", sorted(EXEMPT))
def test_exempt_ops_report_unknown_flops(name):
    op = OP_BY_NAME[name]
    res = cost(name, _generic_args(op, [(4, 8)]), [t(4, 8), t(4, 8, dtype="int64")][
        :len(op["returns"])])
    assert res["flops"] is None and res["bytes"] > 0


# -------------------------------------------------------------------- bytes

def test_default_bytes_are_every_tensor_argument_and_output():
    # mm (64x128 @ 128x32, float32): 4 * (8192 + 4096 + 2048)
    assert cost("aten::mm", [t(64, 128), t(128, 32)], [t(64, 32)])["bytes"] == 57344
    # cat of two float16 (3, 4) into (6, 4): 2 * (12 + 12 + 24)
    assert cost("aten::cat", [[t(3, 4, dtype="float16"), t(3, 4, dtype="float16")], 0],
                [t(6, 4, dtype="float16")])["bytes"] == 96
    # addmm with an absent-free int64 bias: 8*4 + 4*(2*3 + 3*4 + 2*4)
    assert cost("aten::addmm", [t(4, dtype="int64"), t(2, 3), t(3, 4)], [t(2, 4)])["bytes"] \
        == 32 + 4 * 26
    # convolution without bias: the None counts 0
    assert cost("aten::convolution", [t(1, 2, 4, 4), t(3, 2, 1, 1), None, [1, 1], [0, 0],
                                      [1, 1], False, [0, 0], 1],
                [t(1, 3, 4, 4)])["bytes"] == 4 * (32 + 6 + 48)


def test_bytes_overrides():
    # a slice reads what it writes: 2 x (2*3*4 float32)
    assert cost("aten::slice.Tensor", [t(10, 3, 4), 0, 0, 2, 1], [t(2, 3, 4)])["bytes"] == 192
    # metadata moves nothing
    assert cost("aten::sym_size.int", [t(1000, 1000), 0], [t(dtype="int64")]) == \
        {"flops": 0, "bytes": 0}
    # embedding reads only the rows it gathers: indices 5*8 + rows 5*64*4 + out 5*64*4
    assert cost("aten::embedding", [t(50000, 64), t(5, dtype="int64")],
                [t(5, 64)])["bytes"] == 40 + 1280 + 1280
    # fill only writes
    assert cost("aten::fill.Scalar", [t(4, 4), 1.0], [t(4, 4)])["bytes"] == 64


# ------------------------------------------------------------- the language

SCHEMA = gen_ops.parse_schema("f(Tensor self, Tensor other, int[] dims, Tensor[] xs) -> Tensor")


@pytest.mark.parametrize("text", [
    "numel(out)", "2*numel(out)*size(a0,-1)", "0; bytes=0", "bytes=nbytes(out)",
    "flops=numel(a0); bytes=2*nbytes(out)", "numel(a0) if len(a2) == 0 else prod(a2)",
    "numel(a3) + len(a2) + rank(a1) - min(1, 2) + max(a2[0], 3) // 2 % 5 ** 2",
    "has(a1) and not has(a0) or a2[-1] >= 1",
])
def test_formulas_that_parse(text):
    assert op_cost.parse_cost(text, SCHEMA[1], SCHEMA[2]) is not None


@pytest.mark.parametrize("text, message", [
    ("numel(a4)", "unknown name 'a4'"),
    ("numel(out1)", "unknown name 'out1'"),
    ("numel(x)", "unknown name 'x'"),
    ("size(a2, 0)", "needs a tensor"),
    ("numel(a0 + 1)", "needs a tensor"),
    ("__import__('os')", "unknown function"),
    ("a0.shape", "Attribute is not allowed"),
    ("open(1)", "unknown function"),
    ("[1, 2]", "List is not allowed"),
    ("lambda: 1", "Lambda is not allowed"),
    ("a2[0:1]", "slices are not allowed"),
    ("numel(out) @ 2", "MatMult is not allowed"),
    ("size(a0)", "takes 2 argument"),
    ("numel(out); numel(out)", "given twice"),
    ("numel(out);", "empty part"),
    ("numel(out", "does not parse"),
    ("a0 is None", "only == != < <= > >="),
])
def test_formulas_that_are_refused(text, message):
    with pytest.raises(CostError, match=message):
        op_cost.parse_cost(text, SCHEMA[1], SCHEMA[2])


def test_gen_ops_rejects_a_table_with_a_bad_formula_or_bench_cell(tmp_path):
    lines = (REPO / gen_ops.TABLE_PATH).read_text(encoding="utf-8").split("\n")
    rows = [l.split("\t") for l in lines[1:] if l]
    k = next(i for i, r in enumerate(rows) if r[1] == "aten::mm")
    good = list(rows[k])
    for col, bad, message in [("cost", "2*numel(out)*size(a9,-1)", "cost.*unknown name 'a9'"),
                              ("cost", "2*numel(result)", "cost.*unknown name 'result'"),
                              ("bench", "T(2,3)", "bench a1.*missing"),
                              ("bench", "T(2,3), open(1)", "bench arg 1.*not a literal")]:
        rows[k] = list(good)
        rows[k][gen_ops.COLUMNS.index(col)] = bad
        path = tmp_path / "t.tsv"
        path.write_text("\n".join([lines[0]] + ["\t".join(r) for r in rows]) + "\n",
                        encoding="utf-8")
        with pytest.raises(gen_ops.TableError, match=f"aten::mm: {message}"):
            gen_ops.load_table(str(path))


def test_evaluation_errors_and_edge_cases():
    with pytest.raises(CostError, match="unknown op"):
        cost("aten::nope", [], [])
    with pytest.raises(CostError, match="missing"):
        cost("aten::mm", [t(2, 3)], [t(2, 2)])
    with pytest.raises(CostError, match="dim 5 out of range"):
        op_cost._call("size", [op_cost._Tensor(F32, (2,)), 5])
    with pytest.raises(CostError, match="unknown dtype"):
        cost("aten::mm", [("float128", (2, 2)), t(2, 2)], [t(2, 2)])
    # zero-size weight: x/0 counts as 0, not an error
    assert flops("aten::convolution", [t(1, 0, 4, 4), t(0, 0, 1, 1), None, [1, 1], [0, 0],
                                       [1, 1], False, [0, 0], 1], [t(1, 0, 4, 4)]) == 0
    # ScalarType numbers work for dtypes; trailing defaults are filled
    assert cost("aten::sum.dim_IntList", [(6, (4, 5)), [1]], [(6, (4,))]) == \
        {"flops": 20, "bytes": 96}


# --------------------------------------------------- node_cost on a program

def test_node_cost_on_loaded_and_python_programs():
    if not LIBDDK.exists():
        pytest.skip(f"{LIBDDK} not built")
    from ddk.program import Program
    from ddk.runtime import LoadedProgram
    p = Program()
    x = p.add_input("float32", [1, 4, 8, 8], name="x")
    w = p.add_constant(np.ones((6, 2, 3, 3), np.float32), name="w")
    y = p.add_value("float32", [1, 6, 8, 8])
    p.add_node("aten::convolution", [x, w, None, [1, 1], [1, 1], [1, 1], False, [0, 0], 2],
               outputs=[y])
    z = p.add_value("float32", [1, 6, 8, 8])
    p.add_node("aten::relu", [y], outputs=[z])
    c = p.add_value("float32", [2, 6, 8, 8])
    p.add_node("aten::cat", [[z, y], 0], outputs=[c])
    p.add_output(c)
    lp = LoadedProgram.from_bytes(p.to_bytes())
    nodes = lp.nodes
    assert nodes[0]["args"][0] == {"kind": "tensor", "value": int(x)}
    assert nodes[0]["args"][2] == {"kind": "none", "value": None}
    assert nodes[0]["args"][3] == {"kind": "ints", "value": [1, 1]}
    assert nodes[0]["args"][6] == {"kind": "bool", "value": False}
    assert nodes[0]["args"][8] == {"kind": "int", "value": 2}
    assert nodes[2]["args"][0] == {"kind": "tensors", "value": [int(z), int(y)]}
    # conv: 384 outputs x 2*3*3 = 18-term dot products x 2 = 13824 FLOPs;
    # bytes 4 * (256 + 108 + 384)
    want = [{"flops": 13824, "bytes": 2992}, {"flops": 384, "bytes": 3072},
            {"flops": 0, "bytes": 6144}]
    assert [op_cost.node_cost(lp, i) for i in range(3)] == want
    assert op_cost.program_costs(lp) == want
    assert op_cost.program_costs(p) == want
    with pytest.raises(CostError, match="out of range"):
        op_cost.node_cost(lp, 3)
