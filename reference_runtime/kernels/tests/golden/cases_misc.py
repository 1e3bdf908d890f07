"""Golden cases: copies and conversion, metadata (sym_*), distances, FFTs,
grid sampling and upsampling."""

from __future__ import annotations

import math

import torch

from . import cases
from .core import ALL_REAL, Gen, f64abs

INF = math.inf


def _safe_src(g: Gen, shape, src_dt, dst_dt, layout=None, special=True):
    """A tensor of src_dt whose conversion to dst_dt is defined in C (no
    NaN/Inf or out-of-range floats going to an integer dtype)."""
    if src_dt.is_floating_point and not dst_dt.is_floating_point and dst_dt != torch.bool:
        lo, hi = (0, 200) if dst_dt == torch.uint8 else (-100, 100)
        return g.rand(shape, src_dt, lo=lo, hi=hi, layout=layout)
    return g.rand(shape, src_dt, special=special and src_dt.is_floating_point, layout=layout)


# ---------------------------------------------------------------------------
# copy, _to_copy, _local_scalar_dense
# ---------------------------------------------------------------------------

@cases("aten::copy")
def copy_cases(g: Gen, op: str, dt):
    if dt is None:
        g.case("copy/no broadcast", "copy", [g.rand((2, 3), torch.float32), g.rand((3, 3), torch.float32)])
        g.case("copy/rank", "copy", [g.rand((), torch.float32), g.rand((1,), torch.float32)])
        return
    for sshape, dshape, lay in [((3, 4), (3, 4), None), ((4,), (3, 4), None), ((), (2, 3), None),
                                ((), (), None), ((0, 3), (0, 3), None), ((1, 3, 1), (2, 3, 4), None),
                                ((2, 3, 4, 5), (2, 3, 4, 5), "channels_last"), ((4, 3), (4, 3), (1, 0))]:
        for src_dt in [dt, torch.float32, torch.int64, torch.bool, torch.float16]:
            s = _safe_src(g, sshape, src_dt, dt, layout=lay if len(sshape) == len(dshape) else None)
            d = g.rand(dshape, dt, layout=lay)
            g.case(f"copy/{dt}<-{src_dt}/{sshape}->{dshape}/{lay}", "copy", [d, s])


@cases("aten::_to_copy")
def to_copy_cases(g: Gen, op: str, dt):
    if dt is None:
        x = g.rand((2, 3), torch.float32)
        g.case("to_copy/cl rank 2", "_to_copy", [x], {"memory_format": torch.channels_last})
        g.case("to_copy/cl3d rank 4", "_to_copy", [g.rand((2, 3, 4, 5), torch.float32)],
               {"memory_format": torch.channels_last_3d})
        g.case("to_copy/device cpu", "_to_copy", [x], {"device": torch.device("cpu")})
        return
    for shape, lay in [((3, 5), None), ((), None), ((7,), None), ((0, 2), None),
                       ((2, 3, 4, 5), "channels_last"), ((4, 3), (1, 0))]:
        for to in ALL_REAL:
            x = _safe_src(g, shape, dt, to, layout=lay)
            g.case(f"to_copy/{dt}->{to}/{shape}/{lay}", "_to_copy", [x], {"dtype": to})
        x = g.rand(shape, dt, special=True, layout=lay)
        g.case(f"to_copy/{dt}/same/{shape}/{lay}", "_to_copy", [x])
        if len(shape) == 4:
            g.case(f"to_copy/{dt}/to cl", "_to_copy", [g.rand(shape, dt)],
                   {"memory_format": torch.channels_last})
            g.case(f"to_copy/{dt}/contig", "_to_copy", [x],
                   {"dtype": dt, "memory_format": torch.contiguous_format})
    if dt.is_floating_point:  # integral values convert exactly; big int64 -> float rounds
        g.case(f"to_copy/{dt}/big int64", "_to_copy",
               [torch.tensor([2**53 + 1, -(2**62) - 3, 65519, 65521, 3], dtype=torch.int64)],
               {"dtype": dt})


@cases("aten::_local_scalar_dense")
def local_scalar_dense_cases(g: Gen, op: str, dt):
    if dt is None:
        g.case("lsd/empty", "_local_scalar_dense", [g.rand((0,), torch.float32)])
        return
    for shape in [(), (1,), (1, 1, 1), (3, 2)]:
        x = g.rand(shape, dt, special=True)
        g.case(f"lsd/{dt}/{shape}", "_local_scalar_dense", [x], scalar_dtype=dt)
    if dt.is_floating_point:
        for v in [math.nan, INF, -INF, -0.0]:
            g.case(f"lsd/{dt}/{v}", "_local_scalar_dense", [torch.tensor(v, dtype=dt)], scalar_dtype=dt)


# ---------------------------------------------------------------------------
# Metadata: checked against torch's own sym_* on the same (dense, offset 0)
# inputs; layouts avoid size-1 dims, whose strides a dim order leaves free.
# ---------------------------------------------------------------------------

META_SHAPES = [((3, 4), None), ((2, 3, 4, 5), None), ((2, 3, 4, 5), "channels_last"), ((4, 3), (1, 0)),
               ((2, 3, 4), (2, 0, 1)), ((0, 3), None), ((2, 3, 2, 3, 2), "channels_last_3d"), ((5,), None)]


@cases("aten::sym_size.int", "aten::sym_stride.int", "aten::sym_numel", "aten::sym_storage_offset",
       "aten::sym_is_contiguous")
def metadata_cases(g: Gen, op: str, dt):
    short = op.split("::")[1]
    if dt is None:
        if short in ("sym_size.int", "sym_stride.int"):
            g.case(f"{short}/dim out of range", short, [g.rand((2, 3), torch.float32), 2])
            g.case(f"{short}/0-d", short, [g.rand((), torch.float32), 0])
        return
    for shape, lay in META_SHAPES:
        x = g.rand(shape, dt, layout=lay)
        if short in ("sym_size.int", "sym_stride.int"):
            for d in list(range(len(shape))) + [-1]:
                g.case(f"{short}/{dt}/{shape}/{lay}/{d}", short, [x, d])
        elif short == "sym_is_contiguous":
            for mf in [torch.contiguous_format, torch.channels_last, torch.channels_last_3d,
                       torch.preserve_format]:
                g.case(f"{short}/{dt}/{shape}/{lay}/{mf}", short, [x, mf])
        else:
            g.case(f"{short}/{dt}/{shape}/{lay}", short, [x])
    if short in ("sym_numel", "sym_storage_offset", "sym_is_contiguous"):
        g.case(f"{short}/{dt}/0-d", short, [g.rand((), dt)])


# ---------------------------------------------------------------------------
# Distances
# ---------------------------------------------------------------------------

PS = [0.0, 1.0, 2.0, 3.5, INF]


def _cdist_ref(x1, x2, p):
    """Distances in float64 by the direct formula (the tolerance scale)."""
    return torch.cdist(x1.double(), x2.double(), p=p, compute_mode="donot_use_mm_for_euclid_dist")


def _uses_mm(p, mode, r1, r2):
    return p == 2.0 and (mode == 1 or (mode in (None, 0) and (r1 > 25 or r2 > 25)))


def _cdist_scale(x1, x2, p, mode):
    def scale(outs):
        d = _cdist_ref(x1, x2, p)
        if not _uses_mm(p, mode, x1.shape[-2], x2.shape[-2]):
            return [d]
        # |x|^2 + |y|^2 - 2 x.y cancels: error ~ eps (|x|^2 + |y|^2) / (2 d)
        n1 = x1.double().pow(2).sum(-1).unsqueeze(-1)
        n2 = x2.double().pow(2).sum(-1).unsqueeze(-2)
        return [((n1 + n2) / d.clamp_min(1e-300)).expand(d.shape)]
    return scale


@cases("aten::_cdist_forward")
def cdist_cases(g: Gen, op: str, dt):
    if dt is None:
        f = torch.float32
        g.case("cdist/int", "_cdist_forward", [g.rand((3, 2), torch.int32), g.rand((2, 2), torch.int32), 2.0, None])
        g.case("cdist/half", "_cdist_forward", [g.rand((3, 2), torch.float16), g.rand((2, 2), torch.float16), 2.0, None])
        g.case("cdist/mixed", "_cdist_forward", [g.rand((3, 2), f), g.rand((2, 2), torch.float64), 2.0, None])
        g.case("cdist/neg p", "_cdist_forward", [g.rand((3, 2), f), g.rand((2, 2), f), -1.0, None])
        g.case("cdist/1-d", "_cdist_forward", [g.rand((3,), f), g.rand((2, 3), f), 2.0, None])
        g.case("cdist/cols", "_cdist_forward", [g.rand((3, 2), f), g.rand((2, 3), f), 2.0, None])
        g.case("cdist/mode", "_cdist_forward", [g.rand((3, 2), f), g.rand((2, 2), f), 2.0, 3])
        g.case("cdist/batch", "_cdist_forward", [g.rand((2, 3, 2), f), g.rand((3, 2, 2), f), 2.0, None])
        return
    cfgs = [((5, 3), (4, 3), None, None), ((2, 1, 3, 4), (3, 5, 4), None, None),
            ((6, 4), (3, 4), (1, 0), None), ((0, 3), (4, 3), None, None), ((3, 0), (2, 0), None, None),
            ((1, 7), (1, 7), None, None)]
    for s1, s2, lay, mode in cfgs:
        for p in PS:
            # small integers: p=0 sees equal coordinates, p=inf ties
            x1 = g.rand(s1, dt, lo=-3, hi=3, layout=lay).round()
            x2 = g.rand(s2, dt, lo=-3, hi=3).round()
            if len(s1) == 2 and s1[0] > 1:
                x1 = x1 + g.rand(s1, dt, layout=lay) * (p != 0.0)
            m = s1[-1]
            g.case(f"cdist/{dt}/{s1}x{s2}/{lay}/p={p}", "_cdist_forward", [x1, x2, p, mode],
                   scale=_cdist_scale(x1, x2, p, mode), k=m + 2)
    for r1, r2, mode in [(30, 4, None), (5, 6, 1), (30, 27, 2), (4, 3, 0)]:
        x1, x2 = g.rand((r1, 5), dt), g.rand((r2, 5), dt)
        g.case(f"cdist/{dt}/{r1}x{r2}/mode={mode}", "_cdist_forward", [x1, x2, 2.0, mode],
               scale=_cdist_scale(x1, x2, 2.0, mode), k=7)


@cases("aten::_pdist_forward")
def pdist_cases(g: Gen, op: str, dt):
    if dt is None:
        f = torch.float32
        g.case("pdist/noncontig", "_pdist_forward", [g.rand((3, 4), f, layout=(1, 0)), 2.0])
        g.case("pdist/1-d", "_pdist_forward", [g.rand((4,), f), 2.0])
        g.case("pdist/neg p", "_pdist_forward", [g.rand((3, 2), f), -1.0])
        g.case("pdist/int", "_pdist_forward", [g.rand((3, 2), torch.int64), 2.0])
        return
    for shape in [(5, 3), (1, 3), (0, 3), (4, 0), (2, 9)]:
        for p in PS:
            x = g.rand(shape, dt, lo=-3, hi=3).round()
            if shape[0] > 2:
                x = x + g.rand(shape, dt) * (p != 0.0)
            i, j = torch.triu_indices(shape[0], shape[0], 1)
            sc = (lambda x=x, p=p, i=i, j=j:
                  lambda outs: [_cdist_ref(x, x, p)[i, j]])()
            g.case(f"pdist/{dt}/{shape}/p={p}", "_pdist_forward", [x, p], scale=sc, k=shape[1] + 2)


# ---------------------------------------------------------------------------
# FFT
# ---------------------------------------------------------------------------

def _norm_factor(mode, n):
    return 1.0 if mode == 0 else (1.0 / math.sqrt(n) if mode == 1 else 1.0 / n)


@cases("aten::_fft_r2c")
def fft_r2c_cases(g: Gen, op: str, dt):
    if dt is None:
        f = torch.float32
        g.case("r2c/complex", "_fft_r2c", [g.rand((4,), torch.complex64), [0], 0, True])
        g.case("r2c/half", "_fft_r2c", [g.rand((4,), torch.float16), [0], 0, True])
        g.case("r2c/empty fft dim", "_fft_r2c", [g.rand((0, 3), f), [0], 0, True])
        g.case("r2c/empty dims", "_fft_r2c", [g.rand((4, 3), f), [], 0, True])
        return
    cfgs = [((8,), [0], None), ((7,), [0], None), ((3, 6), [1], None), ((4, 6), [0, 1], None),
            ((2, 3, 5), [2, 0], None), ((4, 6), [1], (1, 0)), ((0, 5), [1], None), ((1,), [0], None),
            ((2, 3, 4, 8), [1, 3], "channels_last"), ((16, 2), [0], None)]
    for shape, dims, lay in cfgs:
        x = g.rand(shape, dt, layout=lay)
        n = math.prod(shape[d] for d in dims)
        for norm in [0, 1, 2]:
            for onesided in [True, False]:
                if norm == 1 and not onesided:
                    continue

                def sc(outs, x=x, dims=dims, n=n, norm=norm):
                    s = f64abs(x).sum(dims, keepdim=True) * _norm_factor(norm, n)
                    return [s.expand(outs[0].shape)]
                g.case(f"r2c/{dt}/{shape}/{dims}/{lay}/norm={norm}/onesided={onesided}", "_fft_r2c",
                       [x, dims, norm, onesided], scale=sc, k=n)


@cases("aten::_fft_c2r")
def fft_c2r_cases(g: Gen, op: str, dt):
    if dt is None:
        c = torch.complex64
        g.case("c2r/real", "_fft_c2r", [g.rand((4,), torch.float32), [0], 0, 6])
        g.case("c2r/negative size", "_fft_c2r", [g.rand((4,), c), [0], 0, -1])
        g.case("c2r/empty fft dim", "_fft_c2r", [g.rand((0, 3), c), [0], 0, 4])
        x = g.rand((3, 5), torch.complex128)
        g.case("c2r/c128", "_fft_c2r", [x, [0, 1], 2, 8], k=24,
               scale=lambda outs, x=x: [(2 * x.abs().sum() / 24).expand(outs[0].shape)])
        return
    # (input shape, dims, last_dim_size, layout); input last-dim size n // 2 + 1 or n
    cfgs = [((5,), [0], 8, None), ((5,), [0], 9, None), ((3, 5), [1], 8, None), ((4, 3), [0, 1], 4, None),
            ((2, 4, 3), [1, 2], 5, None), ((4, 2, 4), [2, 0], 6, None), ((6,), [0], 6, None),
            ((3, 5), [1], 8, (1, 0)), ((0, 5), [1], 8, None), ((3, 5), [1], 0, None), ((1,), [0], 1, None),
            ((9,), [0], 16, None)]
    for shape, dims, n, lay in cfgs:
        x = g.rand(shape, dt, layout=lay)
        total = n * math.prod(shape[d] for d in dims[:-1])
        for norm in [0, 1, 2]:
            def sc(outs, x=x, dims=dims, total=total, norm=norm):
                s = 2 * x.abs().double().sum(dims, keepdim=True) * _norm_factor(norm, max(total, 1))
                return [s.expand(outs[0].shape)]
            g.case(f"c2r/{dt}/{shape}/{dims}/{n}/{lay}/norm={norm}", "_fft_c2r", [x, dims, norm, n],
                   scale=sc, k=max(total, 1))


# ---------------------------------------------------------------------------
# grid_sampler_2d
# ---------------------------------------------------------------------------

def _coord_scale(x):
    """Tolerance scale of the resampling ops: ATen's build fuses multiply-adds
    in the source-coordinate arithmetic, so a coordinate (|c| up to about the
    input size) may differ in its last bit, moving every weight by up to
    eps * size; the output then moves by about that times the largest
    input magnitude (bicubic weights sum |w| < 2)."""
    m = f64abs(x[torch.isfinite(x)]).max().item() if x.numel() and torch.isfinite(x).any() else 0.0
    c = 2 * m * (max(x.shape[2:]) + 2)
    return lambda outs: [torch.full(outs[0].shape, c, dtype=torch.float64)]


@cases("aten::grid_sampler_2d")
def grid_sampler_cases(g: Gen, op: str, dt):
    if dt is None:
        f = torch.float32
        x, grid = g.rand((1, 2, 3, 4), f), g.rand((1, 2, 2, 2), f, lo=-1, hi=1)
        g.case("gs/mixed", "grid_sampler_2d", [x, grid.double(), 0, 0, False])
        g.case("gs/int", "grid_sampler_2d", [x.int(), grid.int(), 0, 0, False])
        g.case("gs/batch", "grid_sampler_2d", [g.rand((2, 2, 3, 4), f), grid, 0, 0, False])
        g.case("gs/grid last", "grid_sampler_2d", [x, g.rand((1, 2, 2, 3), f), 0, 0, False])
        g.case("gs/empty spatial", "grid_sampler_2d", [g.rand((1, 2, 0, 4), f), grid, 0, 0, False])
        g.case("gs/3-d", "grid_sampler_2d", [g.rand((2, 3, 4), f), grid, 0, 0, False])
        return
    lattice = torch.linspace(-1.25, 1.25, 11, dtype=torch.float64)
    for interp in [0, 1, 2]:
        k = [4, 1, 16][interp]
        for pad in [0, 1, 2]:
            for ac in [False, True]:
                for shape, gshape, lay, glay, lat in [((2, 3, 5, 6), (2, 4, 3, 2), None, None, False),
                                                      ((1, 2, 4, 4), (1, 11, 11, 2), "channels_last", None, True),
                                                      ((1, 1, 1, 3), (1, 2, 5, 2), None, (0, 3, 1, 2), False)]:
                    x = g.rand(shape, dt, special=interp == 0 and lat, layout=lay)
                    if lat:
                        gy, gx = torch.meshgrid(lattice, lattice, indexing="ij")
                        grid = torch.stack([gx, gy], -1).unsqueeze(0).to(dt)
                    else:
                        grid = g.rand(gshape, dt, lo=-1.3, hi=1.3, layout=glay)

                    g.case(f"gs/{dt}/{shape}/i={interp}/p={pad}/ac={ac}/{lay}/{glay}", "grid_sampler_2d",
                           [x, grid, interp, pad, ac], scale=_coord_scale(x), k=k)
        x = g.rand((0, 2, 3, 3), dt)
        g.case(f"gs/{dt}/empty/i={interp}", "grid_sampler_2d",
               [x, g.rand((0, 2, 2, 2), dt, lo=-1, hi=1), interp, 0, False])


# ---------------------------------------------------------------------------
# upsample_{bilinear,nearest}2d.vec
# ---------------------------------------------------------------------------

UP_CFGS = [((2, 3, 5, 7), [8, 4], None, None), ((2, 3, 5, 7), [10, 14], None, None),
           ((2, 3, 5, 7), [5, 7], None, None), ((1, 2, 6, 4), [3, 2], None, None),
           ((2, 3, 5, 7), None, [1.5, 0.5], None), ((1, 2, 4, 6), None, [2.0, 2.0], None),
           ((1, 3, 5, 6), None, [1.7, 2.3], None), ((2, 5, 5, 7), [9, 3], None, "channels_last"),
           ((1, 6, 3, 4), None, [2.5, 1.3], "channels_last"), ((0, 2, 3, 3), [4, 5], None, None),
           ((1, 2, 1, 5), [3, 1], None, None), ((1, 1, 3, 3), None, [3.0, 1 / 3], None)]


def _up_refusals(g: Gen, short: str, has_ac: bool):
    f = torch.float32
    x = g.rand((1, 2, 3, 3), f)
    mid = [False] if has_ac else []
    g.case(f"{short}/both", short, [x, [4, 4]] + mid + [[2.0, 2.0]])
    g.case(f"{short}/neither", short, [x, None] + mid + [None])
    g.case(f"{short}/3-d", short, [g.rand((2, 3, 3), f), [4]] + mid + [None])
    g.case(f"{short}/int32", short, [g.rand((1, 2, 3, 3), torch.int32), [4, 4]] + mid + [None])
    g.case(f"{short}/zero C", short, [g.rand((1, 0, 3, 3), f), [4, 4]] + mid + [None])
    g.case(f"{short}/zero out", short, [x, None] + mid + [[0.1, 1.0]])


@cases("aten::upsample_nearest2d.vec")
def upsample_nearest_cases(g: Gen, op: str, dt):
    short = "upsample_nearest2d.vec"
    if dt is None:
        _up_refusals(g, short, False)
        return
    for shape, size, sf, lay in UP_CFGS:
        x = g.rand(shape, dt, special=True, layout=lay)
        g.case(f"nearest/{dt}/{shape}/{size}/{sf}/{lay}", short, [x, size, sf])


@cases("aten::upsample_bilinear2d.vec")
def upsample_bilinear_cases(g: Gen, op: str, dt):
    short = "upsample_bilinear2d.vec"
    if dt is None:
        _up_refusals(g, short, True)
        return
    for shape, size, sf, lay in UP_CFGS:
        x = g.rand(shape, dt, layout=lay)
        for ac in [False, True]:
            g.case(f"bilinear/{dt}/{shape}/{size}/{sf}/{lay}/ac={ac}", short, [x, size, ac, sf],
                   scale=_coord_scale(x), k=4)
