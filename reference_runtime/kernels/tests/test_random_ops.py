"""Statistical tests of the random ops' portable kernels (aten::rand, randn,
randperm, native_dropout), run as programs through the Python package.

The DDK's generator is its own (SplitMix64-seeded xoshiro256**, see
reference_runtime/kernels/op_random.c), so values cannot be compared with
PyTorch's; the golden tier checks only dtypes and shapes. These tests check
the distributions: bounds, moments within a few standard errors for
n = 1e5, goodness of fit (chi-square / Kolmogorov-Smirnov at p ~ 1e-4),
permutation properties, dropout's mask rate and scaling, and the seed
contract (same seed -> same values, another seed or another node -> other
values). Each check fails for a constant, stuck, biased or mis-scaled
generator. Every statistic is a fixed function of the seed, so results do
not flake from run to run.

Needs libddk.so ($DDK_LIBRARY, else <repo>/build/libddk.so); skips without it.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "python"))

from ddk import runtime as R  # noqa: E402
from ddk.program import Program  # noqa: E402

N = 100_000
FLOATS = ["float32", "float64", "float16", "bfloat16"]


@pytest.fixture(scope="module")
def rt():
    try:
        R.load_library()
    except R.DDKError as e:
        pytest.skip(f"libddk.so not available: {e}")
    with R.Runtime() as r:
        yield r


def to_float(arr: np.ndarray, dtype: str) -> np.ndarray:
    """float64 values of an output (bfloat16 arrives as uint16 bit patterns)."""
    if dtype == "bfloat16":
        return (arr.astype(np.uint32) << 16).view(np.float32).astype(np.float64)
    return arr.astype(np.float64)


def run_nodes(rt, nodes, seed=0, inputs=()):
    """Runs a program of `nodes` = [(op, args, kwargs, [(dtype, shape), ...])]
    with input arrays `inputs` (referenced as ("in", i) in args); returns
    every node output in order."""
    p = Program()
    ins = [p.add_input(R.numpy_to_dtype(a.dtype) if a.dtype != np.uint16 else "bfloat16",
                       list(a.shape)) for a in inputs]
    outs = []
    for op, args, kwargs, specs in nodes:
        vals = [p.add_value(dt, list(shape)) for dt, shape in specs]
        args = [ins[a[1]] if isinstance(a, tuple) and a and a[0] == "in" else a for a in args]
        p.add_node(op, args, kwargs, outputs=vals)
        outs += vals
    for v in outs:
        p.add_output(v)
    prog = R.load_program(p.to_bytes())
    try:
        with rt.method(prog, options={"seed": seed}) as m:
            return m(*inputs)
    finally:
        prog.close()


def run1(rt, op, args, kwargs, dtype, shape, seed=0):
    return run_nodes(rt, [(op, args, kwargs, [(dtype, shape)])], seed)[0]


def chi2_ok(counts, expected, df):
    """Chi-square statistic below its 1 - 1e-4 quantile (Wilson-Hilferty)."""
    stat = float(np.sum((counts - expected) ** 2 / expected))
    z = 3.719  # upper 1e-4 normal quantile
    crit = df * (1 - 2 / (9 * df) + z * math.sqrt(2 / (9 * df))) ** 3
    return stat < crit, stat, crit


def ks_stat(x, cdf):
    x = np.sort(x)
    n = len(x)
    f = cdf(x)
    i = np.arange(1, n + 1)
    return max(np.max(i / n - f), np.max(f - (i - 1) / n))


KS_CRIT = 2.0 / math.sqrt(N)  # ~ p 6e-4 for the Kolmogorov distribution


# -- rand -------------------------------------------------------------------

@pytest.mark.parametrize("dtype", FLOATS)
def test_rand_uniform(rt, dtype):
    y = run1(rt, "aten::rand", [[N]], {"dtype": dtype}, dtype, [N], seed=1)
    x = to_float(y, dtype)
    assert x.shape == (N,)
    assert x.min() >= 0.0 and x.max() < 1.0, "rand must lie in [0, 1)"
    bits = {"float64": 53, "float32": 24, "float16": 11, "bfloat16": 8}[dtype]
    # values are k * 2^-bits: the dtype's full resolution on [0, 1)
    k = x * 2.0 ** bits
    assert np.all(k == np.floor(k))
    # mean 1/2 and variance 1/12 within 5 standard errors
    assert abs(x.mean() - 0.5) < 5 * math.sqrt(1 / 12 / N)
    assert abs(x.var() - 1 / 12) < 5 * math.sqrt((1 / 80 - 1 / 144) / N)
    # uniform over 64 equal bins
    counts = np.histogram(x, bins=64, range=(0, 1))[0]
    ok, stat, crit = chi2_ok(counts, N / 64, 63)
    assert ok, f"chi2 {stat:.1f} >= {crit:.1f}"
    assert ks_stat(x, lambda v: v) < KS_CRIT + 2.0 ** -bits
    # successive values uncorrelated
    r = np.corrcoef(x[:-1], x[1:])[0, 1]
    assert abs(r) < 5 / math.sqrt(N)
    if bits >= 24:  # fine resolution: nearly all distinct
        assert len(np.unique(x)) > 0.99 * N
    else:  # coarse: every level appears
        assert len(np.unique(x)) == 2 ** bits


def test_rand_low_bits_random(rt):
    """The last mantissa bit of float64 values is not stuck."""
    x = to_float(run1(rt, "aten::rand", [[N]], {"dtype": "float64"}, "float64", [N], seed=5), "float64")
    low = (x * 2.0 ** 53).astype(np.int64) & 1
    assert abs(low.mean() - 0.5) < 5 * 0.5 / math.sqrt(N)


# -- randn ------------------------------------------------------------------

def normal_cdf(v):
    return 0.5 * (1 + np.vectorize(math.erf)(v / math.sqrt(2)))


@pytest.mark.parametrize("dtype", FLOATS)
def test_randn_normal(rt, dtype):
    y = run1(rt, "aten::randn", [[N]], {"dtype": dtype}, dtype, [N], seed=2)
    x = to_float(y, dtype)
    assert np.all(np.isfinite(x))
    assert abs(x.mean()) < 5 / math.sqrt(N)
    assert abs(x.var() - 1) < 5 * math.sqrt(2 / N) + 0.01 * (dtype == "bfloat16")
    skew = np.mean(x ** 3)
    kurt = np.mean(x ** 4)
    assert abs(skew) < 5 * math.sqrt(15 / N)
    assert abs(kurt - 3) < 5 * math.sqrt(96 / N) + 0.03 * (dtype == "bfloat16")
    p1 = 0.6826894921370859
    assert abs(np.mean(np.abs(x) < 1) - p1) < 5 * math.sqrt(p1 * (1 - p1) / N) + 0.01 * (
        dtype in ("float16", "bfloat16"))
    quant = {"float64": 0, "float32": 0, "float16": 2.0 ** -10, "bfloat16": 2.0 ** -7}[dtype]
    assert ks_stat(x, normal_cdf) < KS_CRIT + quant
    r = np.corrcoef(x[:-1], x[1:])[0, 1]
    assert abs(r) < 5 / math.sqrt(N)
    assert x.max() > 3.5 and x.min() < -3.5  # tails are reached


def test_randn_shape_odd_and_nd(rt):
    """Odd sizes (Box-Muller pairs) and n-d shapes are filled completely."""
    y = run1(rt, "aten::randn", [[3, 5, 7]], {}, "float32", [3, 5, 7], seed=3)
    assert y.shape == (3, 5, 7) and np.all(np.isfinite(y))
    assert len(np.unique(y)) == y.size


# -- randperm ---------------------------------------------------------------

@pytest.mark.parametrize("dtype,n", [("int64", N), ("int32", 1000), ("int16", 32768), ("int8", 128),
                                     ("uint8", 256), ("float32", 5000), ("float64", 5000),
                                     ("float16", 2049)])
def test_randperm_is_permutation(rt, dtype, n):
    y = run1(rt, "aten::randperm", [n], {"dtype": dtype}, dtype, [n], seed=4)
    v = to_float(y, dtype).astype(np.int64)
    if dtype == "uint8" or dtype == "int8":
        v = y.astype(np.int64)
    assert np.array_equal(np.sort(v), np.arange(n)), "not a permutation of 0..n-1"
    assert not np.array_equal(v, np.arange(n))
    # no trend: index and value uncorrelated; about one fixed point
    r = np.corrcoef(np.arange(n), v)[0, 1]
    assert abs(r) < 5 / math.sqrt(n)
    assert np.sum(v == np.arange(n)) < 12  # Poisson(1): P(>= 12) ~ 1e-9


def test_randperm_bfloat16_rounds(rt):
    """bfloat16 has no bound in ATen: values are 0..n-1 rounded to bfloat16."""
    n = 300
    v = to_float(run1(rt, "aten::randperm", [n], {"dtype": "bfloat16"}, "bfloat16", [n], seed=4), "bfloat16")
    rounded = (np.arange(n, dtype=np.float32).view(np.uint32) + 0x7FFF
               + ((np.arange(n, dtype=np.float32).view(np.uint32) >> 16) & 1)) >> 16
    want = np.sort((rounded.astype(np.uint32) << 16).view(np.float32).astype(np.float64))
    assert np.array_equal(np.sort(v), want)


def test_randperm_uniform_positions(rt):
    """400 randperm(6) nodes in one program: each first element and each of
    the 720 orders is uniform (every node draws a fresh stream)."""
    k, n = 2000, 6
    outs = run_nodes(rt, [("aten::randperm", [n], {}, [("int64", [n])])] * k, seed=6)
    perms = np.stack(outs)
    first = np.bincount(perms[:, 0], minlength=n)
    ok, stat, crit = chi2_ok(first, k / n, n - 1)
    assert ok, f"first element not uniform: chi2 {stat:.1f}"
    pos = np.zeros((n, n))
    for i in range(n):
        pos[i] = np.bincount(perms[:, i], minlength=n)
    ok, stat, crit = chi2_ok(pos.ravel(), k / n, (n - 1) ** 2)
    assert ok, f"positions not uniform: chi2 {stat:.1f}"
    assert len({tuple(p) for p in perms}) > 600  # of 720 orders (expected ~675)


# -- native_dropout ---------------------------------------------------------

@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_rate_and_scale(rt, dtype, p):
    rng = np.random.default_rng(0)
    x32 = (rng.standard_normal(N) * 3).astype(np.float32)
    if dtype == "bfloat16":
        xin = (x32.view(np.uint32) >> 16).astype(np.uint16)
    else:
        xin = x32.astype(dtype)
    x = to_float(xin, dtype)
    out, mask = run_nodes(rt, [("aten::native_dropout", [("in", 0), p, True], {},
                                [(dtype, [N]), ("bool", [N])])], seed=7, inputs=[xin])
    mask = mask.astype(bool)
    y = to_float(out, dtype)
    keep = 1 - p
    assert abs(mask.mean() - keep) < 5 * math.sqrt(keep * p / N)
    # output == input * mask / (1 - p), computed in float (double for float64)
    if dtype == "float64":
        want = x * mask * (1 / keep)
    else:
        want = (x.astype(np.float32) * mask.astype(np.float32)) * np.float32(1 / keep)
    tol = {"float64": 0, "float32": 0, "float16": 2.0 ** -11, "bfloat16": 2.0 ** -8}[dtype]
    assert np.all(np.abs(y - want) <= tol * np.abs(want)), "kept values must equal x / (1 - p)"
    assert np.all(y[~mask] == 0)
    # the mask is not periodic / correlated
    r = np.corrcoef(mask[:-1], mask[1:])[0, 1]
    assert abs(r) < 5 / math.sqrt(N)


def test_dropout_edges(rt):
    x = np.linspace(-2, 2, 1000, dtype=np.float32)
    out, mask = run_nodes(rt, [("aten::native_dropout", [("in", 0), 0.0, True], {},
                                [("float32", [1000]), ("bool", [1000])])], inputs=[x])
    assert np.array_equal(out, x) and mask.all()
    out, mask = run_nodes(rt, [("aten::native_dropout", [("in", 0), 1.0, True], {},
                                [("float32", [1000]), ("bool", [1000])])], inputs=[x])
    assert not mask.any() and np.all(out == 0)
    out, mask = run_nodes(rt, [("aten::native_dropout", [("in", 0), 0.7, False], {},
                                [("float32", [1000]), ("bool", [1000])])], inputs=[x])
    assert np.array_equal(out, x) and mask.all()
    # train=None means training, as in ATen
    out, mask = run_nodes(rt, [("aten::native_dropout", [("in", 0), 0.5, None], {},
                                [("float32", [1000]), ("bool", [1000])])], inputs=[x])
    assert 0.35 < mask.mean() < 0.65


# -- seeds ------------------------------------------------------------------

@pytest.mark.parametrize("op,args,dtype", [("aten::rand", [[1000]], "float32"),
                                           ("aten::randn", [[1000]], "float64"),
                                           ("aten::randperm", [1000], "int64")])
def test_seed_contract(rt, op, args, dtype):
    shape = [1000]
    kw = {"dtype": dtype}
    a = run1(rt, op, args, kw, dtype, shape, seed=11)
    b = run1(rt, op, args, kw, dtype, shape, seed=11)
    c = run1(rt, op, args, kw, dtype, shape, seed=12)
    assert np.array_equal(a, b), "same seed must give the same values"
    assert np.mean(a == c) < 0.05, "another seed must give other values"
    # two nodes of one program draw different streams
    x, y = run_nodes(rt, [(op, args, kw, [(dtype, shape)])] * 2, seed=11)
    assert np.array_equal(x, a)
    assert np.mean(x == y) < 0.05


def test_default_seed_is_deterministic(rt):
    p = Program()
    v = p.add_value("float32", [100])
    p.add_node("aten::rand", [[100]], outputs=[v])
    p.add_output(v)
    prog = R.load_program(p.to_bytes())
    try:
        with rt.method(prog) as m:
            a = m()[0]
        with rt.method(prog) as m:
            b = m()[0]
            c = m()[0]  # the generator advances between executions
    finally:
        prog.close()
    assert np.array_equal(a, b)
    assert not np.array_equal(b, c)
