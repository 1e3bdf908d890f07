"""Golden cases: shape, view and data-movement ops."""

from __future__ import annotations

import torch

from . import cases
from .core import CASE_METADATA_ONLY, CASE_REFUSED, Gen


@cases("aten::view", "aten::permute", "aten::clone", "aten::cat")
def data_movement(g: Gen, op: str, dt):
    short = op.split("::")[1]
    if dt is None:
        if short == "cat":
            g.case("cat/promote", "cat", [[g.rand((2, 2), torch.int32), g.rand((2, 3), torch.float16),
                                           g.rand((2, 1), torch.bool)], 1])
            g.case("cat/promote2", "cat", [[g.rand((1, 2), torch.uint8), g.rand((2, 2), torch.int8)], 0])
            g.case("cat/mismatch", "cat", [[g.rand((2, 2), torch.float32), g.rand((3, 3), torch.float32)], 0])
        if short == "view":
            g.case("view/bad", "view", [g.rand((2, 3), torch.float32), [4, -1]])
        if short == "permute":
            g.case("permute/dup", "permute", [g.rand((2, 3), torch.float32), [0, 0]])
        return
    x = g.rand((2, 3, 4, 5), dt, layout="channels_last")
    y = g.rand((2, 3, 4, 5), dt)
    if short == "view":
        for size in [[6, 20], [-1], [2, -1, 5], [120]]:
            g.case(f"view/{dt}/contig/{size}", "view", [y, size])
            # aten::view refuses a channels-last input; the DDK's view copies
            # (view_copy semantics): values in logical order, as reshape.
            g.raw_case(f"view/{dt}/cl/{size}", "view", [x, size], [x.reshape(size)])
        g.case(f"view/{dt}/0d", "view", [g.rand((), dt), [1, 1]])
    elif short == "permute":
        for dims in [[0, 2, 3, 1], [3, 2, 1, 0], [-1, 0, 1, 2]]:
            g.case(f"permute/{dt}/{dims}", "permute", [x, dims])
    elif short == "clone":
        g.case(f"clone/{dt}", "clone", [x])
        g.case(f"clone/{dt}/cl", "clone", [y], {"memory_format": torch.channels_last})
    else:
        g.case(f"cat/{dt}/dim1", "cat", [[x, y, g.rand((2, 1, 4, 5), dt)], 1])
        g.case(f"cat/{dt}/dim-1", "cat", [[g.rand((3, 2), dt), g.rand((0,), dt), g.rand((3, 0), dt),
                                           g.rand((3, 4), dt, layout=(1, 0))], -1])


# ---------------------------------------------------------------------------
# View ops: the DDK writes a contiguous copy holding the view's values.
# ---------------------------------------------------------------------------


def _dense(o):
    """A contiguous copy; an empty result as a fresh empty tensor (an empty
    view can carry strides the golden writer cannot flatten)."""
    return o.contiguous() if o.numel() else torch.empty(o.shape, dtype=o.dtype)


def _vc(g: Gen, name, op, args, kwargs=None, flags=0):
    """g.case for ops whose outputs may be empty views."""
    fn = getattr(torch.ops.aten, op.split(".")[0])
    fn = getattr(fn, op.split(".")[1] if "." in op else "default")
    try:
        outs = fn(*args, **(kwargs or {}))
    except Exception:
        g.case(name, op, args, kwargs, flags=flags)  # recorded as refused
        return
    outs = list(outs) if isinstance(outs, (list, tuple)) else [outs]
    g.case(name, op, args, kwargs, flags=flags, expected=[_dense(o) for o in outs])


def _inputs(g: Gen, dt):
    """A contiguous 3-d, a channels-last 4-d, a permuted 2-d and a 0-d input."""
    return (g.rand((2, 3, 4), dt, special=True), g.rand((2, 3, 4, 5), dt, layout="channels_last"),
            g.rand((4, 3), dt, layout=(1, 0)), g.rand((), dt))


@cases("aten::alias")
def alias_cases(g: Gen, op: str, dt):
    if dt is None:
        _vc(g, "alias/complex", "alias", [g.rand((2, 3), torch.complex64)])
        return
    x3, x4, xp, x0 = _inputs(g, dt)
    for name, x in [("3d", x3), ("cl", x4), ("perm", xp), ("0d", x0), ("empty", g.rand((2, 0), dt))]:
        _vc(g, f"alias/{dt}/{name}", "alias", [x])


@cases("aten::as_strided")
def as_strided_cases(g: Gen, op: str, dt):
    if dt is None:
        x = g.rand((2, 3), torch.float32)
        _vc(g, "as_strided/neg_stride", "as_strided", [x, [2], [-1], 2])
        _vc(g, "as_strided/neg_offset", "as_strided", [x, [2], [1], -1])
        _vc(g, "as_strided/oob", "as_strided", [x, [2], [3], 3])
        _vc(g, "as_strided/oob2", "as_strided", [x, [2, 3], [3, 1]], {"storage_offset": 1})
        _vc(g, "as_strided/empty_oob_offset", "as_strided", [x, [0], [3], 30])
        _vc(g, "as_strided/len_mismatch", "as_strided", [x, [2, 2], [3], 0])
        _vc(g, "as_strided/neg_size", "as_strided", [x, [-1], [1], 0])
        return
    x3, x4, xp, x0 = _inputs(g, dt)
    _vc(g, f"as_strided/{dt}/same", "as_strided", [x3, [2, 3, 4], [12, 4, 1]])
    _vc(g, f"as_strided/{dt}/transpose", "as_strided", [x3, [4, 6], [1, 4]])
    _vc(g, f"as_strided/{dt}/overlap", "as_strided", [x3, [5, 4], [2, 1], 3])
    _vc(g, f"as_strided/{dt}/zero_stride", "as_strided", [x3, [3, 2], [0, 5], 7])
    _vc(g, f"as_strided/{dt}/last", "as_strided", [x3, [1], [1], 23])
    _vc(g, f"as_strided/{dt}/0d_result", "as_strided", [x3, [], [], 5])
    _vc(g, f"as_strided/{dt}/0d_input", "as_strided", [x0, [2], [0]])
    # storage order of a channels-last / permuted input is its memory order
    _vc(g, f"as_strided/{dt}/cl", "as_strided", [x4, [10, 12], [12, 1], 0])
    _vc(g, f"as_strided/{dt}/perm", "as_strided", [xp, [3, 4], [4, 1]])
    _vc(g, f"as_strided/{dt}/empty", "as_strided", [x3, [0, 3], [1, 1], 100])


@cases("aten::diagonal")
def diagonal_cases(g: Gen, op: str, dt):
    if dt is None:
        _vc(g, "diagonal/0d", "diagonal", [g.rand((), torch.float32)])
        _vc(g, "diagonal/1d", "diagonal", [g.rand((3,), torch.float32)])
        _vc(g, "diagonal/same", "diagonal", [g.rand((2, 3), torch.float32), 0, 1, -1])
        _vc(g, "diagonal/dim_oob", "diagonal", [g.rand((2, 3), torch.float32), 0, 0, 2])
        return
    x3, x4, xp, _ = _inputs(g, dt)
    _vc(g, f"diagonal/{dt}/2d", "diagonal", [xp])
    for off, d1, d2 in [(0, 0, 1), (1, 0, 1), (-1, 0, 1), (2, 2, 1), (-2, -1, 0), (5, 0, 1), (-3, 0, 1)]:
        _vc(g, f"diagonal/{dt}/3d/{off},{d1},{d2}", "diagonal", [x3, off, d1, d2])
    _vc(g, f"diagonal/{dt}/cl", "diagonal", [x4, 1, 1, 3])
    _vc(g, f"diagonal/{dt}/empty", "diagonal", [g.rand((0, 3), dt)])


@cases("aten::expand")
def expand_cases(g: Gen, op: str, dt):
    if dt is None:
        x = g.rand((1, 3), torch.float32)
        _vc(g, "expand/fewer", "expand", [x, [3]])
        _vc(g, "expand/mismatch", "expand", [x, [2, 4]])
        _vc(g, "expand/lead_-1", "expand", [x, [-1, 2, 3]])
        _vc(g, "expand/-2", "expand", [x, [-2, 3]])
        return
    _vc(g, f"expand/{dt}/row", "expand", [g.rand((1, 3), dt, special=True), [4, 3]])
    _vc(g, f"expand/{dt}/-1", "expand", [g.rand((3, 1), dt), [-1, 5]])
    _vc(g, f"expand/{dt}/lead", "expand", [g.rand((3, 1), dt), [2, 2, 3, 4]])
    _vc(g, f"expand/{dt}/0d", "expand", [g.rand((), dt), [2, 3]])
    _vc(g, f"expand/{dt}/0d_same", "expand", [g.rand((), dt), []])
    _vc(g, f"expand/{dt}/zero", "expand", [g.rand((1, 3), dt), [0, 3]])
    _vc(g, f"expand/{dt}/lead_zero", "expand", [g.rand((1, 3), dt), [0, 2, 3]])
    _vc(g, f"expand/{dt}/cl", "expand", [g.rand((2, 3, 1, 5), dt, layout="channels_last"), [2, 3, 4, 5]])
    _vc(g, f"expand/{dt}/implicit", "expand", [g.rand((2, 1), dt), [2, 3]], {"implicit": True})


@cases("aten::flip")
def flip_cases(g: Gen, op: str, dt):
    if dt is None:
        x = g.rand((2, 3), torch.float32)
        _vc(g, "flip/dup", "flip", [x, [0, -2]])
        _vc(g, "flip/oob", "flip", [x, [2]])
        _vc(g, "flip/0d_oob", "flip", [g.rand((), torch.float32), [1]])
        return
    x3, x4, xp, x0 = _inputs(g, dt)
    for dims in [[0], [-1], [0, 2], [2, 1, 0], []]:
        _vc(g, f"flip/{dt}/3d/{dims}", "flip", [x3, dims])
    _vc(g, f"flip/{dt}/cl", "flip", [x4, [1, 3]])
    _vc(g, f"flip/{dt}/perm", "flip", [xp, [0]])
    _vc(g, f"flip/{dt}/0d", "flip", [x0, [0]])
    _vc(g, f"flip/{dt}/empty", "flip", [g.rand((0, 3), dt), [0, 1]])


@cases("aten::repeat")
def repeat_cases(g: Gen, op: str, dt):
    if dt is None:
        x = g.rand((2, 3), torch.float32)
        _vc(g, "repeat/fewer", "repeat", [x, [2]])
        _vc(g, "repeat/neg", "repeat", [x, [2, -1]])
        return
    x3, x4, xp, x0 = _inputs(g, dt)
    _vc(g, f"repeat/{dt}/same", "repeat", [x3, [1, 1, 1]])
    _vc(g, f"repeat/{dt}/3d", "repeat", [x3, [2, 1, 3]])
    _vc(g, f"repeat/{dt}/more", "repeat", [xp, [2, 1, 2, 3]])
    _vc(g, f"repeat/{dt}/cl", "repeat", [x4, [1, 2, 1, 2]])
    _vc(g, f"repeat/{dt}/0d", "repeat", [x0, [3, 2]])
    _vc(g, f"repeat/{dt}/0d_none", "repeat", [x0, []])
    _vc(g, f"repeat/{dt}/zero", "repeat", [xp, [2, 0]])
    _vc(g, f"repeat/{dt}/empty", "repeat", [g.rand((0, 2), dt), [2, 2]])


@cases("aten::select.int")
def select_cases(g: Gen, op: str, dt):
    if dt is None:
        _vc(g, "select/0d", "select.int", [g.rand((), torch.float32), 0, 0])
        _vc(g, "select/oob", "select.int", [g.rand((2, 3), torch.float32), 0, 2])
        _vc(g, "select/oob_neg", "select.int", [g.rand((2, 3), torch.float32), 1, -4])
        _vc(g, "select/dim_oob", "select.int", [g.rand((2, 3), torch.float32), 2, 0])
        return
    x3, x4, xp, _ = _inputs(g, dt)
    for dim, idx in [(0, 1), (1, -1), (-1, 3), (2, 0), (-3, -2)]:
        _vc(g, f"select/{dt}/3d/{dim},{idx}", "select.int", [x3, dim, idx])
    _vc(g, f"select/{dt}/cl", "select.int", [x4, 1, 2])
    _vc(g, f"select/{dt}/perm", "select.int", [xp, 1, 0])
    _vc(g, f"select/{dt}/1d", "select.int", [g.rand((5,), dt), 0, -5])
    _vc(g, f"select/{dt}/empty", "select.int", [g.rand((2, 0), dt), 0, 1])


@cases("aten::slice.Tensor")
def slice_cases(g: Gen, op: str, dt):
    if dt is None:
        _vc(g, "slice/0d", "slice.Tensor", [g.rand((), torch.float32), 0])
        _vc(g, "slice/step0", "slice.Tensor", [g.rand((4,), torch.float32), 0, 0, 2, 0])
        _vc(g, "slice/step-1", "slice.Tensor", [g.rand((4,), torch.float32), 0, 0, 2, -1])
        _vc(g, "slice/dim_oob", "slice.Tensor", [g.rand((4,), torch.float32), 1])
        return
    x3, x4, xp, _ = _inputs(g, dt)
    for dim, start, end, step in [(0, None, None, 1), (1, 1, None, 1), (2, None, -1, 2), (-1, -3, 100, 1),
                                  (2, -100, 100, 3), (1, 2, 1, 1), (0, 5, 10, 1), (2, 1, 4, 5)]:
        _vc(g, f"slice/{dt}/3d/{dim},{start},{end},{step}", "slice.Tensor", [x3, dim, start, end, step])
    _vc(g, f"slice/{dt}/cl", "slice.Tensor", [x4, 1, 1, 3])
    _vc(g, f"slice/{dt}/perm", "slice.Tensor", [xp, 0, 1, None, 2])
    _vc(g, f"slice/{dt}/default", "slice.Tensor", [x3])
    _vc(g, f"slice/{dt}/empty", "slice.Tensor", [g.rand((0, 3), dt), 1, 1, 2])


@cases("aten::split_with_sizes")
def split_cases(g: Gen, op: str, dt):
    if dt is None:
        x = g.rand((2, 3), torch.float32)
        _vc(g, "split/neg", "split_with_sizes", [x, [4, -1], 1])
        _vc(g, "split/sum", "split_with_sizes", [x, [1, 1], 1])
        _vc(g, "split/0d", "split_with_sizes", [g.rand((), torch.float32), [1], 0])
        return
    x3, x4, xp, _ = _inputs(g, dt)
    _vc(g, f"split/{dt}/3d", "split_with_sizes", [x3, [1, 2], 1])
    _vc(g, f"split/{dt}/last", "split_with_sizes", [x3, [2, 0, 1, 1], -1])
    _vc(g, f"split/{dt}/one", "split_with_sizes", [x3, [2]])
    _vc(g, f"split/{dt}/cl", "split_with_sizes", [x4, [1, 3, 1], 3])
    _vc(g, f"split/{dt}/perm", "split_with_sizes", [xp, [3, 1]])
    _vc(g, f"split/{dt}/empty", "split_with_sizes", [g.rand((0, 3), dt), [0, 0], 0])


@cases("aten::squeeze.dim", "aten::squeeze.dims", "aten::unsqueeze")
def squeeze_cases(g: Gen, op: str, dt):
    short = op.split("::")[1]
    if dt is None:
        x = g.rand((1, 2, 1), torch.float32)
        if short == "squeeze.dim":
            _vc(g, "squeeze.dim/oob", short, [x, 3])
        elif short == "squeeze.dims":
            _vc(g, "squeeze.dims/dup", short, [x, [0, -3]])
            _vc(g, "squeeze.dims/0d_dup", short, [g.rand((), torch.float32), [0, -1]])
            _vc(g, "squeeze.dims/oob", short, [x, [3]])
        else:
            _vc(g, "unsqueeze/oob", short, [x, 4])
            _vc(g, "unsqueeze/oob_neg", short, [x, -5])
        return
    x = g.rand((1, 3, 1, 4), dt, special=True)
    xc = g.rand((1, 3, 1, 4), dt, layout="channels_last")
    x0 = g.rand((), dt)
    if short == "squeeze.dim":
        for d in [0, 1, 2, -1, -4]:
            _vc(g, f"squeeze.dim/{dt}/{d}", short, [x, d])
        _vc(g, f"squeeze.dim/{dt}/cl", short, [xc, 2])
        _vc(g, f"squeeze.dim/{dt}/0d", short, [x0, -1])
        _vc(g, f"squeeze.dim/{dt}/empty", short, [g.rand((0, 1), dt), 1])
    elif short == "squeeze.dims":
        for dims in [[0], [0, 2], [-1, 1], [], [2, 0, 3]]:
            _vc(g, f"squeeze.dims/{dt}/{dims}", short, [x, dims])
        _vc(g, f"squeeze.dims/{dt}/cl", short, [xc, [0, 2]])
        _vc(g, f"squeeze.dims/{dt}/0d", short, [x0, [0]])
        _vc(g, f"squeeze.dims/{dt}/empty", short, [g.rand((1, 0, 1), dt), [0, 1, 2]])
    else:
        for d in [0, 2, 4, -1, -5]:
            _vc(g, f"unsqueeze/{dt}/{d}", short, [x, d])
        _vc(g, f"unsqueeze/{dt}/cl", short, [xc, 1])
        _vc(g, f"unsqueeze/{dt}/perm", short, [g.rand((3, 4), dt, layout=(1, 0)), 1])
        _vc(g, f"unsqueeze/{dt}/0d", short, [x0, 0])
        _vc(g, f"unsqueeze/{dt}/0d_neg", short, [x0, -1])
        _vc(g, f"unsqueeze/{dt}/empty", short, [g.rand((0, 2), dt), 1])


@cases("aten::resize_")
def resize_cases(g: Gen, op: str, dt):
    """resize_ mutates its input, so the expected outputs come from a clone.
    Growing leaves new elements unspecified: dtype and shape only. Shrinking
    keeps the first elements of self's storage: compared exactly."""
    def rc(name, x, size, mf=None, exact=True):
        try:
            y = x.clone(memory_format=torch.preserve_format).resize_(size, memory_format=mf)
        except Exception:
            g.raw_case(name, "resize_", [x, size, mf], [None], flags=CASE_REFUSED)
            return
        g.raw_case(name, "resize_", [x, size, mf], [y.contiguous()],
                   flags=0 if exact else CASE_METADATA_ONLY)

    if dt is None:
        x = g.rand((2, 3), torch.float32)
        rc("resize/neg", x, [-1])
        rc("resize/preserve", x, [3, 2], torch.preserve_format)
        rc("resize/cl_rank", x, [2, 3, 4], torch.channels_last)
        return
    x = g.rand((2, 3, 4), dt, special=True)
    xc = g.rand((2, 3, 4, 5), dt, layout="channels_last")
    rc(f"resize/{dt}/same", x, [2, 3, 4])
    rc(f"resize/{dt}/reshape", x, [4, 6])
    rc(f"resize/{dt}/shrink", x, [5])
    rc(f"resize/{dt}/shrink_0d", x, [])
    rc(f"resize/{dt}/empty", x, [0, 3])
    rc(f"resize/{dt}/grow", x, [5, 6], exact=False)
    rc(f"resize/{dt}/grow_0d", g.rand((), dt), [2, 2], exact=False)
    rc(f"resize/{dt}/cl_same", xc, [2, 3, 4, 5])
    rc(f"resize/{dt}/cl_flat", xc, [120])
    rc(f"resize/{dt}/cl_contig", xc, [2, 3, 4, 5], torch.contiguous_format)
    rc(f"resize/{dt}/to_cl", x, [1, 2, 3, 4], torch.channels_last)
    rc(f"resize/{dt}/to_cl_shrink", x, [1, 2, 2, 3], torch.channels_last)


# ---------------------------------------------------------------------------
# Padding
# ---------------------------------------------------------------------------

@cases("aten::constant_pad_nd")
def constant_pad_cases(g: Gen, op: str, dt):
    if dt is None:
        x = g.rand((2, 3), torch.float32)
        _vc(g, "cpad/odd", "constant_pad_nd", [x, [1]])
        _vc(g, "cpad/too_long", "constant_pad_nd", [x, [1, 1, 1, 1, 1, 1]])
        _vc(g, "cpad/negative_size", "constant_pad_nd", [x, [-4, 0]])
        _vc(g, "cpad/int8_overflow", "constant_pad_nd", [g.rand((2, 3), torch.int8), [1, 1], 300])
        _vc(g, "cpad/half_overflow", "constant_pad_nd", [g.rand((2, 3), torch.float16), [1, 1], 1e6])
        _vc(g, "cpad/int_nan", "constant_pad_nd", [g.rand((2, 3), torch.int32), [1, 1], float("nan")])
        _vc(g, "cpad/int_float", "constant_pad_nd", [g.rand((2, 3), torch.int32), [1, 1], -2.7])
        _vc(g, "cpad/uint8_neg", "constant_pad_nd", [g.rand((2, 3), torch.uint8), [1, 1], -3])
        _vc(g, "cpad/bool_value", "constant_pad_nd", [g.rand((2, 3), torch.bool), [1, 1], 2])
        _vc(g, "cpad/float_int_value", "constant_pad_nd", [g.rand((2, 3), torch.float32), [1, 1], 7])
        _vc(g, "cpad/float_nan", "constant_pad_nd", [g.rand((2, 3), torch.float64), [1, 1], float("-inf")])
        return
    x3, x4, xp, x0 = _inputs(g, dt)
    v = True if dt == torch.bool else (3 if not dt.is_floating_point else -1.5)
    _vc(g, f"cpad/{dt}/last", "constant_pad_nd", [x3, [1, 2]])
    _vc(g, f"cpad/{dt}/two", "constant_pad_nd", [x3, [1, 0, 2, 3], v])
    _vc(g, f"cpad/{dt}/all", "constant_pad_nd", [x3, [0, 1, 1, 0, 2, 2], v])
    _vc(g, f"cpad/{dt}/crop", "constant_pad_nd", [x3, [-1, 2, 1, -2], v])
    _vc(g, f"cpad/{dt}/crop_all", "constant_pad_nd", [x3, [-4, 0], v])
    _vc(g, f"cpad/{dt}/crop_past", "constant_pad_nd", [x3, [-4, 2], v])
    _vc(g, f"cpad/{dt}/cl", "constant_pad_nd", [x4, [1, 1, 0, 2], v])
    _vc(g, f"cpad/{dt}/perm", "constant_pad_nd", [xp, [2, 0, 0, 1], v])
    _vc(g, f"cpad/{dt}/0d", "constant_pad_nd", [x0, [], v])
    _vc(g, f"cpad/{dt}/empty", "constant_pad_nd", [g.rand((0, 2), dt), [1, 1, 1, 1], v])
    _vc(g, f"cpad/{dt}/none", "constant_pad_nd", [x3, []])


@cases("aten::reflection_pad1d", "aten::reflection_pad2d", "aten::reflection_pad3d",
       "aten::replication_pad2d", "aten::replication_pad3d")
def pad_cases(g: Gen, op: str, dt):
    short = op.split("::")[1]
    nd = int(short[-2])
    refl = short.startswith("reflection")
    if dt is None:
        _vc(g, f"{short}/rank_low", short, [g.rand((3,) * nd, torch.float32), [1] * (2 * nd)])
        _vc(g, f"{short}/rank_high", short, [g.rand((1,) * 2 + (3,) * nd, torch.float32)[None],
                                              [1] * (2 * nd)])
        _vc(g, f"{short}/pad_len", short, [g.rand((2,) + (3,) * nd, torch.float32), [1] * (2 * nd - 1)])
        _vc(g, f"{short}/empty_dim", short, [g.rand((2, 0) + (3,) * nd, torch.float32), [1] * (2 * nd)])
        _vc(g, f"{short}/empty_nobatch", short, [g.rand((0,) + (3,) * nd, torch.float32), [1] * (2 * nd)])
        _vc(g, f"{short}/bool", short, [g.rand((2,) + (3,) * nd, torch.bool), [1] * (2 * nd)])
        _vc(g, f"{short}/too_small", short, [g.rand((2,) + (3,) * nd, torch.float32), [-2, -1] * nd])
        if refl:
            _vc(g, f"{short}/pad_eq_size", short, [g.rand((2,) + (3,) * nd, torch.float32), [3, 0] * nd])
            _vc(g, f"{short}/pad_eq_size_r", short, [g.rand((2,) + (3,) * nd, torch.float32), [0, 3] * nd])
        return
    spatial = (4, 5, 6)[:nd]
    x = g.rand((2, 3) + spatial, dt, special=True)
    xb = g.rand((3,) + spatial, dt)
    pads = [[1, 2] * nd, [3, 0] * nd, [0, 3] * nd, [-1, 2] * nd, [2, -2] * nd,
            ([3, 3, 1, 2, 0, 1])[:2 * nd]]
    if not refl:
        pads.append([7, 5] * nd)
        pads.append([-5, 3] * nd)
    for p in pads:
        _vc(g, f"{short}/{dt}/batch/{p}", short, [x, p])
    _vc(g, f"{short}/{dt}/nobatch", short, [xb, [1, 1] * nd])
    _vc(g, f"{short}/{dt}/zero", short, [xb, [0, 0] * nd])
    _vc(g, f"{short}/{dt}/empty_batch", short, [g.rand((0, 2) + spatial, dt), [1, 2] * nd])
    if nd == 2:
        _vc(g, f"{short}/{dt}/cl", short, [g.rand((2, 3, 4, 5), dt, layout="channels_last"), [2, 1, 1, 3]])
    elif nd == 3:
        _vc(g, f"{short}/{dt}/cl3d", short, [g.rand((2, 3, 4, 5, 6), dt, layout="channels_last_3d"),
                                            [2, 1, 1, 3, 0, 2]])
    else:
        _vc(g, f"{short}/{dt}/perm", short, [g.rand((3, 5), dt, layout=(1, 0)), [2, 4]])
