"""Golden cases: creation ops (arange, empty, full, fill, scalar_tensor) and
random ops (rand, randn, randperm, native_dropout).

Values of empty/empty_strided and of the random ops are unspecified or
drawn from the DDK's own generator: those cases are CASE_METADATA_ONLY
(dtype and shape only). The random ops' values are checked statistically
by tests/test_random_ops.py.
"""

from __future__ import annotations

import torch

from . import cases
from .core import CASE_EPS_STORAGE, CASE_METADATA_ONLY, Gen

CPU = torch.device("cpu")


def _value(dt):
    """A fill value of the dtype's kind."""
    if dt == torch.bool:
        return True
    if dt.is_floating_point:
        return -2.5
    return 7


@cases("aten::full")
def full_cases(g: Gen, op: str, dt):
    if dt is None:
        g.case("full/infer_bool", "full", [[2, 3], True])
        g.case("full/infer_int", "full", [[2, 3], 3])
        g.case("full/infer_float", "full", [[2, 3], 3.5])
        g.case("full/int_overflow", "full", [[2], 300], {"dtype": torch.int8})
        g.case("full/uint8_neg", "full", [[2], -1], {"dtype": torch.uint8})
        g.case("full/uint8_too_neg", "full", [[2], -256], {"dtype": torch.uint8})
        g.case("full/int_nan", "full", [[2], float("nan")], {"dtype": torch.int32})
        g.case("full/half_overflow", "full", [[2], 1e6], {"dtype": torch.float16})
        g.case("full/float_inf", "full", [[2], float("inf")], {"dtype": torch.float16})
        g.case("full/bool_from_float", "full", [[2], 0.5], {"dtype": torch.bool})
        g.case("full/bool_from_nan", "full", [[2], float("nan")], {"dtype": torch.bool})
        g.case("full/neg_size", "full", [[-1], 1.0])
        g.case("full/big_int_to_float", "full", [[2], 2**53 + 1], {"dtype": torch.float32})
        g.case("full/big_int64", "full", [[2], 2**63 - 1])
        g.case("full/device", "full", [[2], 1.0], {"device": CPU, "pin_memory": False,
                                                    "layout": torch.strided})
        return
    v = _value(dt)
    for size in [[], [3], [2, 3, 4], [0, 2]]:
        g.case(f"full/{dt}/{size}", "full", [size, v], {"dtype": dt})
    if dt != torch.bool:
        g.case(f"full/{dt}/int_value", "full", [[2, 2], -3], {"dtype": dt} if dt != torch.uint8 else
               {"dtype": dt})
        g.case(f"full/{dt}/bool_value", "full", [[2], True], {"dtype": dt})
    if dt.is_floating_point:
        for s in [float("nan"), float("-inf"), -0.0, 0.1, 1e-30]:
            g.case(f"full/{dt}/{s}", "full", [[3], s], {"dtype": dt})
    elif dt != torch.bool:
        info = torch.iinfo(dt)
        g.case(f"full/{dt}/max", "full", [[2], info.max], {"dtype": dt})
        g.case(f"full/{dt}/min", "full", [[2], info.min], {"dtype": dt})
        g.case(f"full/{dt}/trunc", "full", [[2], -3.9], {"dtype": dt})


@cases("aten::full_like")
def full_like_cases(g: Gen, op: str, dt):
    if dt is None:
        x = g.rand((2, 3), torch.float32)
        g.case("full_like/int_self_float_value", "full_like", [g.rand((2, 3), torch.int32), 2.5])
        g.case("full_like/dtype", "full_like", [x, 3], {"dtype": torch.int16})
        g.case("full_like/overflow", "full_like", [g.rand((2,), torch.int8), 300])
        g.case("full_like/cl", "full_like", [g.rand((1, 2, 3, 4), torch.float32), 1.0],
               {"memory_format": torch.channels_last})
        g.case("full_like/cl_rank", "full_like", [x, 1.0], {"memory_format": torch.channels_last})
        g.case("full_like/preserve", "full_like", [g.rand((1, 2, 3, 4), torch.float32, layout="channels_last"),
                                                   1.0], {"memory_format": torch.preserve_format})
        return
    v = _value(dt)
    g.case(f"full_like/{dt}/3d", "full_like", [g.rand((2, 3, 4), dt), v])
    g.case(f"full_like/{dt}/cl", "full_like", [g.rand((2, 3, 4, 5), dt, layout="channels_last"), v])
    g.case(f"full_like/{dt}/0d", "full_like", [g.rand((), dt), v])
    g.case(f"full_like/{dt}/empty", "full_like", [g.rand((0, 3), dt), v])
    g.case(f"full_like/{dt}/to_f64", "full_like", [g.rand((2,), dt), 1.25], {"dtype": torch.float64})
    g.case(f"full_like/{dt}/from_f32", "full_like", [g.rand((2,), torch.float32), v], {"dtype": dt})


@cases("aten::fill.Scalar")
def fill_cases(g: Gen, op: str, dt):
    if dt is None:
        g.case("fill/int8_overflow", "fill.Scalar", [g.rand((2,), torch.int8), 300])
        g.case("fill/half_overflow", "fill.Scalar", [g.rand((2,), torch.float16), 1e6])
        g.case("fill/bf16_big", "fill.Scalar", [g.rand((2,), torch.bfloat16), 1e38])
        g.case("fill/int_from_float", "fill.Scalar", [g.rand((2,), torch.int64), -7.9])
        g.case("fill/int_from_bool", "fill.Scalar", [g.rand((2,), torch.int16), True])
        return
    v = _value(dt)
    g.case(f"fill/{dt}/3d", "fill.Scalar", [g.rand((2, 3, 4), dt), v])
    g.case(f"fill/{dt}/cl", "fill.Scalar", [g.rand((2, 3, 4, 5), dt, layout="channels_last"), v])
    g.case(f"fill/{dt}/0d", "fill.Scalar", [g.rand((), dt), v])
    g.case(f"fill/{dt}/empty", "fill.Scalar", [g.rand((0, 3), dt), v])
    if dt.is_floating_point:
        for s in [float("nan"), float("inf"), -0.0, 1 / 3]:
            g.case(f"fill/{dt}/{s}", "fill.Scalar", [g.rand((3,), dt), s])
    elif dt != torch.bool:
        g.case(f"fill/{dt}/max", "fill.Scalar", [g.rand((2,), dt), torch.iinfo(dt).max])
        g.case(f"fill/{dt}/min", "fill.Scalar", [g.rand((2,), dt), torch.iinfo(dt).min])


@cases("aten::scalar_tensor")
def scalar_tensor_cases(g: Gen, op: str, dt):
    if dt is None:
        g.case("scalar_tensor/int", "scalar_tensor", [3])
        g.case("scalar_tensor/bool", "scalar_tensor", [True])
        g.case("scalar_tensor/float", "scalar_tensor", [2.5])
        g.case("scalar_tensor/overflow", "scalar_tensor", [300], {"dtype": torch.int8})
        g.case("scalar_tensor/f32_overflow", "scalar_tensor", [1e300])
        g.case("scalar_tensor/device", "scalar_tensor", [1], {"device": CPU})
        return
    g.case(f"scalar_tensor/{dt}/v", "scalar_tensor", [_value(dt)], {"dtype": dt})
    g.case(f"scalar_tensor/{dt}/int", "scalar_tensor", [1], {"dtype": dt})
    g.case(f"scalar_tensor/{dt}/bool", "scalar_tensor", [False], {"dtype": dt})
    if dt.is_floating_point:
        g.case(f"scalar_tensor/{dt}/nan", "scalar_tensor", [float("nan")], {"dtype": dt})
        g.case(f"scalar_tensor/{dt}/0.1", "scalar_tensor", [0.1], {"dtype": dt})


@cases("aten::arange.start_step")
def arange_cases(g: Gen, op: str, dt):
    a = "arange.start_step"
    if dt is None:
        g.case("arange/infer_int", a, [0, 5])
        g.case("arange/infer_bool", a, [True, 5])
        g.case("arange/infer_float", a, [0, 5, 0.5])
        g.case("arange/infer_float_end", a, [0, 2.5])
        g.case("arange/step0", a, [0, 5, 0])
        g.case("arange/wrong_sign", a, [0, 5, -1])
        g.case("arange/wrong_sign2", a, [5, 0, 1])
        g.case("arange/inf", a, [0, float("inf"), 1])
        g.case("arange/nan", a, [float("nan"), 1, 1])
        g.case("arange/bool_dtype", a, [0, 2, 1], {"dtype": torch.bool})
        g.case("arange/empty", a, [2, 2, -1])
        g.case("arange/int64_overflow_size", a, [-2**62, 2**62, 2**61])
        g.case("arange/int64_wrap_size", a, [-2**63, 2**63 - 1, 2**62])
        g.case("arange/int64_big", a, [2**62, 2**62 + 10, 3])
        g.case("arange/int_trunc_step0", a, [0, 0.5, 0.3], {"dtype": torch.int64})
        g.case("arange/int_trunc", a, [0.5, 5.0, 1.5], {"dtype": torch.int64})
        g.case("arange/int32_trunc", a, [-2.5, 5.0, 1.5], {"dtype": torch.int32})
        g.case("arange/int8_wrap", a, [0, 300, 1], {"dtype": torch.int8})
        g.case("arange/uint8_wrap", a, [-3, 3, 1], {"dtype": torch.uint8})
        g.case("arange/f32_fraction", a, [0.7, -5.0, -1.5])
        g.case("arange/device", a, [0, 3, 1], {"device": CPU, "layout": torch.strided})
        return
    g.case(f"arange/{dt}/basic", a, [0, 10, 1], {"dtype": dt})
    g.case(f"arange/{dt}/neg", a, [5, -7, -2], {"dtype": dt})
    g.case(f"arange/{dt}/ceil", a, [1, 10, 4], {"dtype": dt})
    g.case(f"arange/{dt}/empty", a, [3, 3, 1], {"dtype": dt})
    g.case(f"arange/{dt}/one", a, [-4, -3, 5], {"dtype": dt})
    g.case(f"arange/{dt}/frac", a, [-3.5, 4.25, 0.25], {"dtype": dt})
    g.case(f"arange/{dt}/frac_neg", a, [2.0, -3.0, -0.5], {"dtype": dt})
    g.case(f"arange/{dt}/long", a, [0, 300, 3], {"dtype": dt})
    if dt.is_floating_point:
        # inexact steps: ATen's vectorized kernel rounds a base per vector
        # of W elements (W depends on the CPU); the DDK rounds start + step*i
        # once. Bound: 1 ulp + 2 * eps(dtype) * (|start| + |step| * i).
        for start, end, step in [(0, 3, 0.1), (-1.3, 2.9, 0.07), (100.1, -50, -0.3), (-30.3, 50, 1.7),
                                 (1e-3, -1e-3, -1e-5)]:
            def sc(outs, start=start, step=step):
                return [abs(start) + abs(step) * torch.arange(outs[0].numel(), dtype=torch.float64)]
            g.case(f"arange/{dt}/inexact/{start},{end},{step}", a, [start, end, step], {"dtype": dt},
                   scale=sc, k=2, flags=CASE_EPS_STORAGE)


@cases("aten::empty.memory_format", "aten::empty_strided")
def empty_cases(g: Gen, op: str, dt):
    short = op.split("::")[1]
    md = CASE_METADATA_ONLY
    if short == "empty.memory_format":
        if dt is None:
            g.case("empty/default", short, [[2, 3]], flags=md)
            g.case("empty/neg", short, [[2, -1]], flags=md)
            g.case("empty/preserve", short, [[2, 3]], {"memory_format": torch.preserve_format}, flags=md)
            g.case("empty/cl_rank", short, [[2, 3, 4]], {"memory_format": torch.channels_last}, flags=md)
            g.case("empty/cl3d", short, [[1, 2, 3, 4, 5]], {"memory_format": torch.channels_last_3d},
                   flags=md)
            g.case("empty/pin_false", short, [[2]], {"pin_memory": False, "device": CPU,
                                                      "layout": torch.strided}, flags=md)
            return
        for size in [[], [3], [2, 3, 4], [0, 5]]:
            g.case(f"empty/{dt}/{size}", short, [size], {"dtype": dt}, flags=md)
        g.case(f"empty/{dt}/cl", short, [[2, 3, 4, 5]], {"dtype": dt, "memory_format": torch.channels_last},
               flags=md)
        g.case(f"empty/{dt}/contig", short, [[2, 3]], {"dtype": dt,
                                                       "memory_format": torch.contiguous_format}, flags=md)
    else:
        if dt is None:
            g.case("empty_strided/default", short, [[2, 3], [3, 1]], flags=md)
            g.case("empty_strided/mismatch", short, [[2, 3], [1]], flags=md)
            g.case("empty_strided/neg_size", short, [[-2, 3], [1, 1]], flags=md)
            g.case("empty_strided/neg_stride", short, [[2, 3], [-1, 1]], flags=md)
            return
        g.case(f"empty_strided/{dt}/contig", short, [[2, 3, 4], [12, 4, 1]], {"dtype": dt}, flags=md)
        g.case(f"empty_strided/{dt}/perm", short, [[2, 3], [1, 2]], {"dtype": dt}, flags=md)
        g.case(f"empty_strided/{dt}/overlap", short, [[4, 3], [0, 1]], {"dtype": dt}, flags=md)
        g.case(f"empty_strided/{dt}/0d", short, [[], []], {"dtype": dt}, flags=md)
        g.case(f"empty_strided/{dt}/empty", short, [[0, 3], [3, 1]], {"dtype": dt}, flags=md)


@cases("aten::rand", "aten::randn")
def rand_cases(g: Gen, op: str, dt):
    short = op.split("::")[1]
    md = CASE_METADATA_ONLY
    if dt is None:
        g.case(f"{short}/default", short, [[2, 3]], flags=md)
        g.case(f"{short}/int", short, [[2]], {"dtype": torch.int64}, flags=md)
        g.case(f"{short}/bool", short, [[2]], {"dtype": torch.bool}, flags=md)
        g.case(f"{short}/neg", short, [[-1]], flags=md)
        return
    for size in [[], [5], [2, 3, 4], [0, 3], [3, 1, 1, 2]]:
        g.case(f"{short}/{dt}/{size}", short, [size], {"dtype": dt}, flags=md)


@cases("aten::randperm")
def randperm_cases(g: Gen, op: str, dt):
    md = CASE_METADATA_ONLY
    if dt is None:
        # the schema default dtype=long is passed explicitly: golden/core.py
        # would encode the default as an INT, which the program verifier
        # rejects for a ScalarType parameter
        g.case("randperm/default", "randperm", [5], {"dtype": torch.int64}, flags=md)
        g.case("randperm/neg", "randperm", [-1], flags=md)
        g.case("randperm/bool", "randperm", [2], {"dtype": torch.bool}, flags=md)
        for dt2, ok, bad in [(torch.uint8, 256, 257), (torch.int8, 128, 129), (torch.int16, 32768, 32769),
                             (torch.float16, 2049, 2050), (torch.bfloat16, 300, 300)]:
            g.case(f"randperm/{dt2}/max", "randperm", [ok], {"dtype": dt2}, flags=md)
            g.case(f"randperm/{dt2}/too_big", "randperm", [bad], {"dtype": dt2}, flags=md)
        g.case("randperm/f32_too_big", "randperm", [2**24 + 2], {"dtype": torch.float32}, flags=md)
        return
    for n in [0, 1, 2, 10, 100]:
        g.case(f"randperm/{dt}/{n}", "randperm", [n], {"dtype": dt}, flags=md)


@cases("aten::native_dropout")
def dropout_cases(g: Gen, op: str, dt):
    md = CASE_METADATA_ONLY
    d = "native_dropout"
    if dt is None:
        x = g.rand((2, 3), torch.float32)
        g.case("dropout/p_above_1", d, [x, 1.5, True], flags=md)
        g.case("dropout/p_below_0", d, [x, -0.5, None], flags=md)
        g.case("dropout/p_above_1_eval", d, [x, 1.5, False])
        g.case("dropout/int_train", d, [g.rand((2, 3), torch.int32), 0.5, True], flags=md)
        g.case("dropout/int_eval", d, [g.rand((2, 3), torch.int32), 0.5, False])
        g.case("dropout/bool_eval", d, [g.rand((2, 3), torch.bool), 0.5, False])
        g.case("dropout/empty", d, [g.rand((0, 3), torch.float32), 0.5, True], flags=md)
        g.case("dropout/empty_p2", d, [g.rand((0, 3), torch.float32), 2.0, None], flags=md)
        g.case("dropout/empty_int", d, [g.rand((0,), torch.int64), 0.5, True], flags=md)
        return
    x = g.rand((2, 3, 4), dt, special=True)
    xc = g.rand((2, 3, 4, 5), dt, layout="channels_last")
    # train=False: identity, mask all true (exact)
    g.case(f"dropout/{dt}/eval", d, [x, 0.5, False])
    g.case(f"dropout/{dt}/eval_cl", d, [xc, 0.3, False])
    g.case(f"dropout/{dt}/eval_0d", d, [g.rand((), dt), 0.3, False])
    # p = 0 keeps everything: output == input exactly, mask all true
    g.case(f"dropout/{dt}/p0", d, [g.rand((2, 3, 4), dt), 0.0, True])
    g.case(f"dropout/{dt}/p0_cl", d, [xc, 0.0, None])
    # p = 1 drops everything: zeros (NaN for Inf/NaN inputs), mask all false
    g.case(f"dropout/{dt}/p1", d, [x, 1.0, True])
    for p, train in [(0.5, True), (0.2, None), (0.9, True)]:
        g.case(f"dropout/{dt}/{p}/{train}", d, [x, p, train], flags=md)
    g.case(f"dropout/{dt}/cl", d, [xc, 0.5, True], flags=md)
    g.case(f"dropout/{dt}/0d", d, [g.rand((), dt), 0.5, True], flags=md)
    g.case(f"dropout/{dt}/empty", d, [g.rand((0, 3), dt), 0.5, True], flags=md)
