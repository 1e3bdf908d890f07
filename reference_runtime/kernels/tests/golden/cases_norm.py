"""Golden cases: normalization (batch norm, group norm, layer norm and the
backward ops; expected gradients from autograd).

Tolerance scales (float64, per output element), with X the normalized set
(a row, a (sample, group) or a channel) of K elements, W/B the weight/bias
broadcast to it, mu/rstd its statistics:
  out:   (|x| + mean|X|) * rstd * |w| + |b|          k = K
  mean:  mean|X|                                       k = K
  rstd:  rstd * mean(X^2) / var (the variance's condition)   k = K
  dx:    rstd*|dy| + rstd*mean|dy| + rstd^3 mean(|dy|(|X|+|mu|)) (|x|+|mu|), dy = g*w
  dw:    sum |g| (|x| + |mu|) rstd;  db: sum |g|        k = sets
"""

from __future__ import annotations

import math

import torch

from . import cases
from .core import Gen, FLOATS

A = torch.ops.aten


def _nan_some(x, on):
    if on and x.numel() > 3:
        x = x.clone()
        x.view(-1)[1] = math.nan
    return x


def _sets(t, kind, shape):
    """t (float64, broadcastable to the input) as (sets, K)."""
    if kind[0] == "layer":
        k = kind[1]
        m = math.prod(shape[:len(shape) - k])
        return t.expand(shape).reshape(m, math.prod(shape[len(shape) - k:]))
    n, c, grp = shape[0], shape[1], kind[1]
    return t.expand(shape).reshape(n * grp, math.prod(shape[1:]) // grp)


def _param(t, kind, shape):
    if t is None:
        return torch.ones(shape, dtype=torch.float64)
    t = t.to(torch.float64).abs()
    if kind[0] == "layer":
        return t.expand(shape)
    return t.view([1, -1] + [1] * (len(shape) - 2)).expand(shape)


def _fwd_scales(x, w, b, kind):
    shape = tuple(x.shape)
    X = _sets(x.to(torch.float64), kind, shape)
    K = X.shape[1]
    mu = X.mean(1, keepdim=True)
    var = ((X - mu) ** 2).mean(1, keepdim=True)
    rstd = 1 / torch.sqrt(var + 1e-5)
    ax = X.abs()
    out = (ax + ax.mean(1, keepdim=True)) * rstd * _sets(_param(w, kind, shape), kind, shape) \
        + (_sets(_param(b, kind, shape), kind, shape) if b is not None else 0)
    cond = (X * X).mean(1, keepdim=True) / torch.where(var > 0, var, torch.ones_like(var))
    return out.reshape(shape), ax.mean(1), (rstd * cond).squeeze(1), K


def _bw_scales(go, x, w, kind):
    shape = tuple(x.shape)
    X = _sets(x.to(torch.float64), kind, shape)
    G = _sets(go.to(torch.float64).abs(), kind, shape)
    mu = X.mean(1, keepdim=True).abs()
    rstd = 1 / torch.sqrt(((X - X.mean(1, keepdim=True)) ** 2).mean(1, keepdim=True) + 1e-5)
    dy = G * _sets(_param(w, kind, shape), kind, shape)
    axm = X.abs() + mu
    dx = rstd * dy + rstd * dy.mean(1, keepdim=True) + rstd ** 3 * (dy * axm).mean(1, keepdim=True) * axm
    gw = (G * axm * rstd).reshape(shape)
    gb = G.reshape(shape)
    if kind[0] == "layer":
        k = kind[1]
        red = list(range(len(shape) - k))
        dw, db = gw.sum(red) if red else gw, gb.sum(red) if red else gb
    else:
        red = [0] + list(range(2, len(shape)))
        dw, db = gw.sum(red), gb.sum(red)
    return dx.reshape(shape), dw, db


def _masked(ts, mask, dt):
    """Expected outputs: a false mask entry gives an empty 1-d tensor (of
    the gradient's dtype; the input's when the parameter is undefined)."""
    return [t if m else torch.empty(0, dtype=t.dtype if t is not None else dt)
            for t, m in zip(ts, mask)]


def _finite(scales):
    """Scales with NaN (empty or NaN-holding sets) replaced by 0."""
    return [None if t is None else torch.nan_to_num(t, nan=0.0, posinf=math.inf) for t in scales]


# ---------------------------------------------------------------------------
# Layer norm

# (shape, normalized dims, weight, bias, layout)
LN_CFGS = [((4, 5), 1, True, True, None), ((2, 3, 4), 2, True, True, None),
           ((2, 3, 4), 1, False, False, None), ((2, 3, 4, 5), 1, True, False, "channels_last"),
           ((0, 5), 1, True, True, None), ((3, 0), 1, False, False, None), ((6,), 1, True, True, None),
           ((2, 40), 1, True, True, (1, 0))]


@cases("aten::native_layer_norm")
def layer_norm(g: Gen, op: str, dt):
    if dt is None:
        x = g.rand((2, 3, 4), torch.float16)
        w = g.rand((4,), torch.float32)
        for wd in [torch.float32, torch.bfloat16, torch.float64]:
            g.case(f"ln/f16 w {wd}", "native_layer_norm", [x, [4], w.to(wd), w.to(wd), 1e-5],
                   scale=lambda outs: list(_fwd_scales(x, w, w, ("layer", 1))[:3]), k=4)
        g.case("ln/f32 w f64", "native_layer_norm", [x.float(), [4], w.double(), None, 1e-5])
        g.case("ln/shape", "native_layer_norm", [x, [3], None, None, 1e-5])
        g.case("ln/empty ns", "native_layer_norm", [x, [], None, None, 1e-5])
        g.case("ln/weight shape", "native_layer_norm", [x, [4], w[:3].half(), None, 1e-5])
        g.case("ln/int", "native_layer_norm", [x.long(), [4], None, None, 1e-5])
        return
    for i, (shape, k, hw, hb, lay) in enumerate(LN_CFGS):
        x = _nan_some(g.rand(shape, dt, layout=lay), i == 1)
        ns = list(shape[len(shape) - k:])
        w = g.rand(tuple(ns), dt) if hw else None
        b = g.rand(tuple(ns), dt) if hb else None
        for eps in ([1e-5, 0.5] if i == 0 else [1e-5]):
            def sc(outs, x=x, w=w, b=b, k=k):
                o, m, r, _ = _fwd_scales(x, w, b, ("layer", k))
                return _finite([o, m.reshape(outs[1].shape), r.reshape(outs[2].shape)])
            g.case(f"ln/{dt}/{i}/{eps}", "native_layer_norm", [x, ns, w, b, eps], scale=sc,
                   k=max(1, math.prod(ns)))


@cases("aten::native_layer_norm_backward")
def layer_norm_backward(g: Gen, op: str, dt):
    if dt is None:
        x = g.rand((2, 3, 4), torch.float32)
        go = g.rand((2, 3, 4), torch.float32)
        _, m, r = A.native_layer_norm(x, [4], None, None, 1e-5)
        g.case("lnb/no weight grad", "native_layer_norm_backward",
               [go, x, [4], m, r, None, None, [True, True, False]])
        g.case("lnb/mean dtype", "native_layer_norm_backward",
               [go.half(), x.half(), [4], m, r, None, None, [True, False, False]])
        return
    for i, (shape, k, hw, hb, lay) in enumerate(LN_CFGS):
        if 0 in shape and i != 4:
            continue
        x = g.rand(shape, dt, layout=lay)
        ns = list(shape[len(shape) - k:])
        w = g.rand(tuple(ns), dt) if hw else None
        b = g.rand(tuple(ns), dt) if hb else None
        go = _nan_some(g.rand(shape, dt), i == 1)
        _, m, r = A.native_layer_norm(x, ns, w, b, 1e-5)
        leaves = [t.detach().clone().requires_grad_(True) if t is not None else None for t in (x, w, b)]
        y = A.native_layer_norm(leaves[0], ns, leaves[1], leaves[2], 1e-5)[0]
        want = [t for t in leaves if t is not None]
        grads = list(torch.autograd.grad(y, want, go))
        full = [grads.pop(0) if t is not None else None for t in leaves]
        sx, sw, sb = _bw_scales(go, x, w, ("layer", k))
        masks = [[True, hw, hb]] + ([[False, True, True], [True, False, False]] if hw and hb else [])
        for mask in masks:
            exp = _masked(full, mask, dt)
            scl = [s if mm else None for s, mm in zip((sx, sw, sb), mask)]
            # float16/bfloat16: ATen sums dweight/dbias in the dtype (CASE_EPS_STORAGE)
            g.case(f"lnb/{dt}/{i}/{mask}", "native_layer_norm_backward", [go, x, ns, m, r, w, b, mask],
                   expected=exp, scale=lambda outs, scl=scl: _finite(scl),
                   k=max(1, math.prod(ns), math.prod(shape) // max(1, math.prod(ns))),
                   flags=2 if dt in (torch.float16, torch.bfloat16) else 0)


# ---------------------------------------------------------------------------
# Group norm

# (shape, group, weight, bias, layout)
GN_CFGS = [((2, 6, 5), 3, True, True, None), ((2, 4, 3, 3), 2, True, True, None),
           ((3, 6), 6, False, False, None), ((2, 4, 3, 3), 4, True, False, "channels_last"),
           ((0, 6, 5), 3, True, True, None), ((1, 4, 2, 2, 2), 1, False, True, None)]


@cases("aten::native_group_norm")
def group_norm(g: Gen, op: str, dt):
    if dt is None:
        x = g.rand((2, 6, 5), torch.bfloat16)
        w = g.rand((6,), torch.float32)
        g.case("gn/bf16 w f32", "native_group_norm", [x, w, w, 2, 6, 5, 3, 1e-5],
               scale=lambda outs: _finite([t.reshape(o.shape) for t, o in
                                           zip(_fwd_scales(x, w, w, ("group", 3))[:3], outs)]), k=10)
        g.case("gn/f32 w f64", "native_group_norm", [x.float(), w.double(), None, 2, 6, 5, 3, 1e-5])
        g.case("gn/groups", "native_group_norm", [x, None, None, 2, 6, 5, 4, 1e-5])
        g.case("gn/numel", "native_group_norm", [x, None, None, 2, 6, 4, 3, 1e-5])
        g.case("gn/HxW0", "native_group_norm", [g.rand((2, 6, 0), torch.float32), None, None, 2, 6, 0, 3, 1e-5])
        return
    for i, (shape, grp, hw, hb, lay) in enumerate(GN_CFGS):
        x = _nan_some(g.rand(shape, dt, layout=lay), i == 1)
        c = shape[1]
        hxw = math.prod(shape[2:])
        w = g.rand((c,), dt) if hw else None
        b = g.rand((c,), dt) if hb else None

        def sc(outs, x=x, w=w, b=b, grp=grp):
            o, m, r, _ = _fwd_scales(x, w, b, ("group", grp))
            return _finite([o, m.reshape(outs[1].shape), r.reshape(outs[2].shape)])
        g.case(f"gn/{dt}/{i}", "native_group_norm", [x, w, b, shape[0], c, hxw, grp, 1e-5], scale=sc,
               k=max(1, c // grp * hxw))


@cases("aten::native_group_norm_backward")
def group_norm_backward(g: Gen, op: str, dt):
    if dt is None:
        x = g.rand((2, 6, 5), torch.float32)
        go = g.rand((2, 6, 5), torch.float32)
        _, m, r = A.native_group_norm(x, None, None, 2, 6, 5, 3, 1e-5)
        g.case("gnb/mean dtype", "native_group_norm_backward",
               [go, x, m.double(), r.double(), None, 2, 6, 5, 3, [True, True, True]])
        g.case("gnb/groups", "native_group_norm_backward",
               [go, x, m, r, None, 2, 6, 5, 4, [True, True, True]])
        return
    for i, (shape, grp, hw, hb, lay) in enumerate(GN_CFGS):
        x = g.rand(shape, dt, layout=lay)
        c = shape[1]
        hxw = math.prod(shape[2:])
        w = g.rand((c,), dt) if hw else None
        go = _nan_some(g.rand(shape, dt), i == 1)
        _, m, r = A.native_group_norm(x, w, None, shape[0], c, hxw, grp, 1e-5)
        wl = w if w is not None else torch.ones(c, dtype=dt)
        leaves = [x.detach().clone().requires_grad_(True), wl.detach().clone().requires_grad_(True),
                  torch.zeros(c, dtype=dt, requires_grad=True)]
        y = A.native_group_norm(leaves[0], leaves[1], leaves[2], shape[0], c, hxw, grp, 1e-5)[0]
        gx, gw, gb = torch.autograd.grad(y, leaves, go)
        if w is None:  # the input gradient must not see the stand-in weight
            gx = A.native_group_norm_backward(go, x, m, r, None, shape[0], c, hxw, grp,
                                              [True, False, False])[0]
        sx, sw, sb = _bw_scales(go, x, w, ("group", grp))
        for mask in ([True, True, True], [True, False, False], [False, True, False]):
            exp = _masked([gx, gw, gb], mask, dt)
            scl = [s if mm else None for s, mm in zip((sx, sw, sb), mask)]
            g.case(f"gnb/{dt}/{i}/{mask}", "native_group_norm_backward",
                   [go, x, m, r, w, shape[0], c, hxw, grp, mask], expected=exp,
                   scale=lambda outs, scl=scl: _finite(scl), k=max(1, c // grp * hxw, shape[0] * hxw),
                   flags=2 if dt in (torch.float16, torch.bfloat16) else 0)


# ---------------------------------------------------------------------------
# Batch norm

BN_CFGS = [((4, 3, 5), True, True, None), ((2, 3, 4, 4), False, False, "channels_last"),
           ((5, 3), True, False, None), ((1, 3, 1), True, True, None), ((2, 2, 2, 2, 3), False, True, None)]


def _bn_scales(x, w, b, mean=None, var=None):
    """Output scale per element; mean/var given: evaluation mode."""
    shape = tuple(x.shape)
    xf = x.to(torch.float64)
    red = [0] + list(range(2, x.dim()))
    view = [1, -1] + [1] * (x.dim() - 2)
    if mean is None:
        mean = xf.mean(red)
        var = xf.var(red, unbiased=False)
        amean = xf.abs().mean(red).view(view)
    else:
        mean, var = mean.to(torch.float64), var.to(torch.float64)
        amean = mean.abs().view(view)
    rstd = (1 / torch.sqrt(var + 1e-5)).view(view)
    wv = w.to(torch.float64).abs().view(view) if w is not None else 1
    bv = b.to(torch.float64).abs().view(view) if b is not None else 0
    out = ((xf.abs() + amean) * rstd * wv + bv).expand(shape)
    cond = (xf * xf).mean(red) / torch.where(var > 0, var, torch.ones_like(var))
    return out, xf.abs().mean(red), rstd.view(-1) * cond


@cases("aten::_native_batch_norm_legit", "aten::_native_batch_norm_legit.no_stats",
       "aten::_native_batch_norm_legit_no_training")
def batch_norm(g: Gen, op: str, dt):
    short = op.split("::")[1]
    if dt is None:
        x = g.rand((4, 3, 5), torch.bfloat16)
        w = g.rand((3,), torch.float32)
        rm, rv = g.rand((3,), torch.float32), g.rand((3,), torch.float32, lo=0.5, hi=2)
        if short == "_native_batch_norm_legit":
            g.case("bn/bf16 f32 params", short, [x, w, w, rm, rv, True, 0.1, 1e-5],
                   scale=lambda outs: list(_bn_scales(x, w, w)), k=20)
            g.case("bn/bf16 f32 params eval", short, [x, w, w, rm, rv, False, 0.1, 1e-5],
                   scale=lambda outs: [_bn_scales(x, w, w, rm, rv)[0], None, None], k=4)
            g.case("bn/f32 f64 stats", short, [x.float(), None, None, rm.double(), rv.double(), True, 0.1, 1e-5])
            g.case("bn/empty train", short, [g.rand((0, 3, 2), torch.float32), None, None, rm, rv, True, 0.1, 1e-5])
            g.case("bn/1-d", short, [g.rand((3,), torch.float32), None, None, rm, rv, True, 0.1, 1e-5])
            g.case("bn/eval no stats", short, [x, None, None, None, None, False, 0.1, 1e-5])
        elif short == "_native_batch_norm_legit.no_stats":
            g.case("bn ns/eval", short, [x, None, None, False, 0.1, 1e-5])
            g.case("bn ns/bf16 f32 params", short, [x, w, w, True, 0.1, 1e-5],
                   scale=lambda outs: list(_bn_scales(x, w, w)), k=20)
        else:
            g.case("bn nt/bf16 f32 params", short, [x, w, w, rm, rv, 0.1, 1e-5],
                   scale=lambda outs: [_bn_scales(x, w, w, rm, rv)[0], None, None], k=4)
        return
    for i, (shape, hw, hb, lay) in enumerate(BN_CFGS):
        x = _nan_some(g.rand(shape, dt, layout=lay), i == 0)
        c = shape[1]
        w = g.rand((c,), dt) if hw else None
        b = g.rand((c,), dt) if hb else None
        rm, rv = g.rand((c,), dt), g.rand((c,), dt, lo=0.2, hi=3)
        k = math.prod(shape) // c
        # ATen normalizes with the statistics rounded to a float16/bfloat16
        # storage dtype: a one-ulp difference in them moves the output by
        # about eps_storage * (|x| + |mean|) * rstd * |w| (CASE_EPS_STORAGE)
        reduced = dt in (torch.float16, torch.bfloat16)
        tflags, tk = (2, 3) if reduced else (0, k)
        if short == "_native_batch_norm_legit":
            for tr in (True, False):
                sc = ((lambda outs, x=x, w=w, b=b: list(_bn_scales(x, w, b))) if tr else
                      (lambda outs, x=x, w=w, b=b, rm=rm, rv=rv: [_bn_scales(x, w, b, rm, rv)[0], None, None]))
                g.case(f"bn/{dt}/{i}/{tr}", short, [x, w, b, rm, rv, tr, 0.1, 1e-5], scale=sc,
                       k=tk if tr else 4, flags=tflags if tr else 0)
        elif short == "_native_batch_norm_legit.no_stats":
            g.case(f"bn ns/{dt}/{i}", short, [x, w, b, True, 0.1, 1e-5],
                   scale=lambda outs, x=x, w=w, b=b: list(_bn_scales(x, w, b)), k=tk, flags=tflags)
        else:
            g.case(f"bn nt/{dt}/{i}", short, [x, w, b, rm, rv, 0.1, 1e-5],
                   scale=lambda outs, x=x, w=w, b=b, rm=rm, rv=rv: [_bn_scales(x, w, b, rm, rv)[0], None, None],
                   k=4)
    if short != "_native_batch_norm_legit.no_stats":  # evaluation with an empty batch
        x = g.rand((0, 3, 2), dt)
        rm, rv = g.rand((3,), dt), g.rand((3,), dt, lo=0.2, hi=3)
        args = [x, None, None, rm, rv] + ([False] if short == "_native_batch_norm_legit" else []) + [0.1, 1e-5]
        g.case(f"bn/{dt}/empty eval", short, args)
