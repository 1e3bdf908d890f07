#!/usr/bin/env python3
"""Fits the polynomial coefficients common.glsl uses, and measures the
float32 error of each function as common.glsl evaluates it (numpy float32
arithmetic rounds like Vulkan's +, -, * : correctly).

    python3 fit_math.py            # prints coefficients and max errors

Least squares on Chebyshev nodes in float64 (close to minimax for these
smooth functions); coefficients are then rounded to float32, as the
shader holds them. Run it when changing an approximation; the build does
not run it.
"""
import math

import numpy as np

F = np.float32


def lsq(f, lo, hi, basis_deg, var=lambda x: x, n=4000):
    """Coefficients c (highest power first) of sum c_i var(x)^i ~ f(x)."""
    k = np.arange(n)
    x = (lo + hi) / 2 + (hi - lo) / 2 * np.cos(np.pi * (k + 0.5) / n)
    v = var(x)
    A = np.vander(v, basis_deg + 1)
    y = np.array([f(t) for t in x])
    c, *_ = np.linalg.lstsq(A, y, rcond=None)
    return [F(t) for t in c]


def horner32(c, z):
    q = np.full_like(z, c[0])
    for t in c[1:]:
        q = (q * z + t).astype(F)
    return q


def ulp32(x):
    x = np.abs(np.asarray(x, dtype=np.float64))
    e = np.floor(np.log2(np.maximum(x, 2.0 ** -126)))
    return 2.0 ** (e - 23)


def tanh_small():
    # tanh(x) = x + x^3 P(x^2) for |x| < 0.55
    c = lsq(lambda x: (math.tanh(x) - x) / x ** 3, 1e-4, 0.55, 6, var=lambda x: x * x)
    x = np.linspace(-0.55, 0.55, 200001).astype(F)
    x = x[x != 0]
    z = (x * x).astype(F)
    y = (x + (x * z).astype(F) * horner32(c, z)).astype(F)
    want = np.tanh(x.astype(np.float64))
    return c, float(np.max(np.abs(y - want) / ulp32(want)))


def erf_parts():
    """erf(t) = t + t P(t^2) on [0, 1); 1 - Q1(t - 1.75) on [1, 2.5);
    1 - Q2(t - 3.2) on [2.5, 3.92); 1 beyond (erf rounds to 1 there)."""
    c1 = lsq(lambda t: math.erf(t) / t - 1 if t else 2 / math.sqrt(math.pi) - 1, 1e-6, 1.0, 6,
             var=lambda t: t * t)
    c2 = lsq(math.erfc, 1.0, 2.5, 10, var=lambda t: t - 1.75)
    c3 = lsq(math.erfc, 2.5, 3.92, 8, var=lambda t: t - 3.2)
    t = np.linspace(0, 3.92, 400001).astype(F)
    y = np.empty_like(t)
    a = t < 1
    z = (t[a] * t[a]).astype(F)
    y[a] = (t[a] + (t[a] * horner32(c1, z)).astype(F)).astype(F)
    for c, lo, hi, mid in ((c2, 1.0, 2.5, 1.75), (c3, 2.5, 3.92, 3.2)):
        m = (t >= lo) & (t < hi)
        y[m] = (F(1) - horner32(c, (t[m] - F(mid)).astype(F))).astype(F)
    y[t >= 3.92] = 1
    want = np.array([math.erf(float(v)) for v in t])
    return c1, c2, c3, float(np.max(np.abs(y - want)))

def log_part():
    """log(m) = f - f^2/2 + f^3 P(f), f = m - 1, m in [sqrt(1/2), sqrt(2))."""
    lo, hi = math.sqrt(0.5) - 1, math.sqrt(2) - 1
    c = lsq(lambda f: (math.log1p(f) - f + f * f / 2) / f ** 3 if abs(f) > 1e-9 else 1 / 3, lo, hi,
            9)
    x = np.exp(np.linspace(-80, 80, 400001)).astype(F)
    m, e = np.frexp(x)
    small = m < math.sqrt(0.5)
    m = np.where(small, m * 2, m).astype(F)
    e = np.where(small, e - 1, e)
    f = (m - F(1)).astype(F)
    f2 = (f * f).astype(F)
    p = (horner32(c, f) * (f2 * f).astype(F)).astype(F)
    lm = (f + (p - (F(0.5) * f2).astype(F)).astype(F)).astype(F)
    k = e.astype(F)
    y = ((k * F(0.693145751953125)).astype(F) + (lm + (k * F(1.4286068203094172e-06)).astype(F)).astype(F)).astype(F)
    want = np.log(x.astype(np.float64))
    return c, float(np.max(np.abs(y - want) / ulp32(want)))


def exp_check():
    x = np.linspace(-103, 88.7, 400001).astype(F)
    k = np.round((x * F(1.4426950408889634)).astype(F))
    r = ((x - (k * F(0.693145751953125)).astype(F)).astype(F) -
         (k * F(1.4286068203094172e-06)).astype(F)).astype(F)
    c = [F(1 / math.factorial(i)) for i in range(8, 1, -1)]
    q = horner32(c, r)
    p = (F(1) + (r + ((r * r).astype(F) * q).astype(F)).astype(F)).astype(F)
    y = np.ldexp(p.astype(np.float64), k.astype(np.int64))
    y = y.astype(F).astype(np.float64)
    want = np.exp(x.astype(np.float64))
    ok = want > 2.0 ** -126
    return float(np.max(np.abs(y - want)[ok] / ulp32(want[ok])))


if __name__ == "__main__":
    c, e = tanh_small()
    print("tanh P(z) (highest first):", [f"{float(v):.9g}" for v in c], f"max {e:.3f} ulp")
    c1, c2, c3, e = erf_parts()
    print("erf P(t^2):", [f"{float(v):.9g}" for v in c1])
    print("erfc Q1(t-1.75):", [f"{float(v):.9g}" for v in c2])
    print("erfc Q2(t-3.2):", [f"{float(v):.9g}" for v in c3], f"max abs {e:.3g}")
    print(f"exp max {exp_check():.3f} ulp")
    c, e = log_part()
    print("log P(f):", [f"{float(v):.9g}" for v in c], f"max {e:.3f} ulp")
