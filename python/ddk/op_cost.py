"""Op cost: FLOPs and bytes moved by one node, from the op table's formulas.

This module owns the languages of the op table's `cost` column (FLOPs and
bytes formulas) and `bench` column (one representative call, for
perf/op_bench; parse_bench), and the evaluation of costs.
ir_ops/gen_ops.py loads this file by path to validate both columns (a
formula with an unknown name is a generation error), so the module is
standard library only; the generated metadata is imported when a cost is
evaluated.

API::

    cost("aten::mm", [("float32", (64, 128)), ("float32", (128, 32))],
         [("float32", (64, 32))])          -> {"flops": 524288, "bytes": 57344}
    node_cost(prog, node_index)            -> the same for one node of a
                                              ddk.runtime.LoadedProgram (or a
                                              ddk.program.Program)
    program_costs(prog)                    -> one dict per node, in one pass

"flops" is None when the op has no formula (unknown); "bytes" is always an
int. Both are counted for the shapes given (upper bounds for dynamic dims).

The `cost` column
-----------------
Empty, or ';'-separated parts: a bare expression (the FLOPs), ``flops=EXPR``
or ``bytes=EXPR``. Without a bytes part, bytes moved = the bytes of every
tensor argument (each element of a tensor list; absent optionals count 0)
plus the bytes of every output. Examples::

    2*numel(out)*size(a0,-1)                  mm
    numel(out)                                elementwise
    0; bytes=0                                metadata (sym_size): nothing moves
    0; bytes=2*nbytes(out)                    a slice: reads what it writes

An expression is a Python expression restricted to: int/float/bool/None
and string literals (strings only to compare: ``a4 == 'mean'``); + - * / // % ** (exponent at most 64); unary - + not; and, or,
comparisons; ``X if C else Y``; subscripts ``a1[0]`` (list args, negative
indices allowed); and these names:

  a0 .. aN   the node's arguments in schema order (aK is parameter K): a
             tensor, a list of tensors, or the scalar / list value
             (None for an absent optional)
  out, out1, out2 ...  the outputs in schema order (out is the first); a
             Tensor[] return binds the remaining outputs as one list
  numel(t)  size(t, d)  rank(t)  nbytes(t)   of a tensor (numel and nbytes
             also take a tensor list: the sum, absent elements 0)
  prod(list)  len(list)  sum(list)  min(x, ...)  max(x, ...)
  has(x)     x is not None

numel/size/rank/nbytes take only a name that is a tensor (or tensor list)
parameter or output. A bool in arithmetic counts 0 or 1. x/0 and x//0
count as 0: a zero divisor comes from a zero-size tensor, where there is
nothing to compute. The result must be a finite, non-negative number; a
float result is rounded to an int.

FLOP conventions (each formula in the table follows one):
  * matmul and convolution count 2 per multiply-add, bias not counted
    (torch.utils.flop_counter's convention, which the tests check against);
  * elementwise ops, comparisons, activations: 1 per output element, what
    ever the function (exp counts as much as add);
  * reductions: 1 per input element (+1 per output for mean's division);
  * data movement (copies, views, padding, gathers, creation): 0.
"""

from __future__ import annotations

import ast
import math
import re
from typing import Any, Mapping, Sequence

__all__ = ["CostError", "Formula", "parse_cost", "parse_bench", "cost", "node_cost",
           "program_costs", "DTYPE_SIZES", "BENCH_CTORS"]

# Element size per dtype name (ddk.runtime.DTYPE_NAMES spellings).
DTYPE_SIZES = {
    "uint8": 1, "int8": 1, "int16": 2, "int32": 4, "int64": 8,
    "float16": 2, "float32": 4, "float64": 8, "complex64": 8,
    "complex128": 16, "bool": 1, "bfloat16": 2,
}
# ATen ScalarType number -> name, for callers that pass numbers.
_DTYPE_BY_NUMBER = {0: "uint8", 1: "int8", 2: "int16", 3: "int32", 4: "int64",
                    5: "float16", 6: "float32", 7: "float64", 9: "complex64",
                    10: "complex128", 11: "bool", 15: "bfloat16"}

# name -> (min args, max args or None, index of the arg that must be a
# tensor name or None)
_FUNCTIONS = {
    "numel": (1, 1, 0), "size": (2, 2, 0), "rank": (1, 1, 0),
    "nbytes": (1, 1, 0), "prod": (1, 1, None), "len": (1, 1, None),
    "sum": (1, 1, None), "min": (1, None, None), "max": (1, None, None),
    "has": (1, 1, None),
}
_BINOPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow)
_CMPOPS = (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE)
_ARG_RE = re.compile(r"a(\d+)")
_OUT_RE = re.compile(r"out(\d*)")
_MAX_POW = 64


class CostError(ValueError):
    """A cost formula that does not parse, names something unknown, or
    cannot be evaluated for the given arguments."""


# --------------------------------------------------------------------------
# Parsing (standard library only: gen_ops.py uses this part)
# --------------------------------------------------------------------------

class Formula:
    """A parsed `cost` cell: .flops and .bytes are ast expressions or None."""

    def __init__(self, text: str, flops, bytes_):
        self.text = text
        self.flops = flops
        self.bytes = bytes_

    def __repr__(self) -> str:
        return f"Formula({self.text!r})"


def _tensor_names(params: Sequence[Mapping], returns: Sequence[Mapping]) -> dict:
    """name -> True if it is a tensor (or tensor list), for every name a
    formula of this op may use."""
    names = {}
    for i, p in enumerate(params):
        names[f"a{i}"] = p["kind"] in ("TENSOR", "TENSOR_LIST")
    for i, r in enumerate(returns):
        names["out" if i == 0 else f"out{i}"] = r["kind"] in ("TENSOR", "TENSOR_LIST")
    return names


def _check_expr(node, names: Mapping[str, bool], where: str) -> None:
    """Raises CostError unless `node` stays within the language."""
    def fail(msg):
        raise CostError(f"{where}: {msg}")

    def walk(n):
        if isinstance(n, ast.Constant):
            if not (n.value is None or isinstance(n.value, (bool, int, float, str))):
                fail(f"literal {n.value!r} is not a number, bool, string or None")
        elif isinstance(n, ast.Name):
            if n.id not in names:
                fail(f"unknown name {n.id!r} (the op has "
                     f"{', '.join(sorted(names)) or 'no names'})")
        elif isinstance(n, ast.BinOp):
            if not isinstance(n.op, _BINOPS):
                fail(f"operator {type(n.op).__name__} is not allowed")
            walk(n.left)
            walk(n.right)
        elif isinstance(n, ast.UnaryOp):
            if not isinstance(n.op, (ast.USub, ast.UAdd, ast.Not)):
                fail(f"operator {type(n.op).__name__} is not allowed")
            walk(n.operand)
        elif isinstance(n, ast.BoolOp):
            for v in n.values:
                walk(v)
        elif isinstance(n, ast.Compare):
            if not all(isinstance(o, _CMPOPS) for o in n.ops):
                fail("only == != < <= > >= comparisons are allowed")
            walk(n.left)
            for c in n.comparators:
                walk(c)
        elif isinstance(n, ast.IfExp):
            walk(n.test)
            walk(n.body)
            walk(n.orelse)
        elif isinstance(n, ast.Subscript):
            if isinstance(n.slice, ast.Slice):
                fail("slices are not allowed")
            walk(n.value)
            walk(n.slice)
        elif isinstance(n, ast.Call):
            if not isinstance(n.func, ast.Name) or n.func.id not in _FUNCTIONS:
                fail(f"unknown function {ast.unparse(n.func)!r} (known: "
                     f"{', '.join(sorted(_FUNCTIONS))})")
            if n.keywords or any(isinstance(a, ast.Starred) for a in n.args):
                fail(f"{n.func.id}() takes plain positional arguments")
            lo, hi, tensor_at = _FUNCTIONS[n.func.id]
            if len(n.args) < lo or (hi is not None and len(n.args) > hi):
                want = str(lo) if hi == lo else "%d..%s" % (lo, hi or "N")
                fail(f"{n.func.id}() takes {want} argument(s), got {len(n.args)}")
            if tensor_at is not None:
                t = n.args[tensor_at]
                if isinstance(t, ast.Name) and t.id not in names:
                    walk(t)  # the unknown-name error
                if not isinstance(t, ast.Name) or not names.get(t.id, False):
                    fail(f"{n.func.id}() needs a tensor parameter or output name, "
                         f"got {ast.unparse(t)!r}")
            for a in n.args:
                walk(a)
        else:
            fail(f"{type(n).__name__} is not allowed in a cost formula")
    walk(node)


def parse_cost(text: str, params: Sequence[Mapping], returns: Sequence[Mapping],
               where: str = "cost") -> Formula | None:
    """Parses and checks one `cost` cell against the op's schema (params and
    returns as gen_ops.parse_schema gives them). Returns None for an empty
    cell; raises CostError naming the problem."""
    text = text.strip()
    if not text:
        return None
    names = _tensor_names(params, returns)
    parts = {}
    for part in text.split(";"):
        part = part.strip()
        if not part:
            raise CostError(f"{where}: empty part in {text!r}")
        key, sep, expr = part.partition("=")
        key = key.strip()
        # 'a == b' is an expression, 'bytes=...' a keyed part.
        if sep and key in ("flops", "bytes") and not expr.startswith("="):
            body = expr.strip()
        else:
            key, body = "flops", part
        if key in parts:
            raise CostError(f"{where}: {key} given twice in {text!r}")
        try:
            tree = ast.parse(body, mode="eval")
        except SyntaxError as e:
            raise CostError(f"{where}: {key} {body!r} does not parse: {e.msg}") from None
        _check_expr(tree.body, names, f"{where}: {key} {body!r}")
        parts[key] = tree.body
    return Formula(text, parts.get("flops"), parts.get("bytes"))


# --------------------------------------------------------------------------
# The bench column: one representative call of the op (perf/op_bench).
# --------------------------------------------------------------------------

BENCH_CTORS = {
    "T": "a program input tensor, uniform in [lo, hi) (default [-1, 1))",
    "W": "a constant tensor (a weight), uniform in [lo, hi)",
    "I": "an int64 input tensor, integers in [lo, hi) (default [0, hi))",
    "B": "a bool input tensor, random",
}


def _bench_literal(node, where):
    """A literal (number, bool, None, str, list of them) or a tensor
    constructor call -> its Python value; a constructor gives a dict
    {"ctor", "sizes", "dtype", "lo", "hi"}."""
    if isinstance(node, ast.Constant) and (
            node.value is None or isinstance(node.value, (bool, int, float, str))):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) \
            and isinstance(node.operand, ast.Constant) \
            and type(node.operand.value) in (int, float):
        return -node.operand.value
    if isinstance(node, ast.List):
        return [_bench_literal(e, where) for e in node.elts]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
            and node.func.id in BENCH_CTORS:
        ctor = node.func.id
        sizes = [_bench_literal(a, where) for a in node.args]
        if any(type(v) is not int or v < 0 for v in sizes) or len(sizes) > 8:
            raise ValueError("%s: %s() sizes must be 0..8 non-negative ints" % (where, ctor))
        t = {"ctor": ctor, "sizes": sizes,
             "dtype": {"I": "int64", "B": "bool"}.get(ctor, "float32"),
             "lo": 0 if ctor == "I" else -1, "hi": 1}
        for kw in node.keywords:
            v = _bench_literal(kw.value, where)
            if kw.arg == "dtype" and v in DTYPE_SIZES:
                t["dtype"] = v
            elif kw.arg in ("lo", "hi") and type(v) in (int, float):
                t[kw.arg] = v
            else:
                raise ValueError("%s: %s(): bad keyword %s=%r (dtype, lo, hi)" % (
                    where, ctor, kw.arg, v))
        if ctor == "I" and not any(kw.arg == "hi" for kw in node.keywords):
            raise ValueError("%s: I() needs hi= (the index range)" % where)
        if not t["lo"] < t["hi"]:
            raise ValueError("%s: %s(): need lo < hi" % (where, ctor))
        return t
    raise ValueError("%s: %r is not a literal or a tensor constructor (%s)" % (
        where, ast.unparse(node), ", ".join(sorted(BENCH_CTORS))))


def _is_tensor_spec(v):
    return isinstance(v, dict) and "ctor" in v


def parse_bench(text, params):
    """Parses a bench cell against the op's params.

    params: the op's parameters as gen_ops.parse_schema gives them. The
    cell is a call's argument list: positional arguments in schema
    order, then name=value for any parameter; the rest take their
    defaults. A tensor is T(d0, d1, ...), W(...), I(..., hi=N) or B(...)
    (see BENCH_CTORS; dtype=, lo=, hi= keywords), a Tensor[] a list of
    them; other arguments are literals. Returns {param index: value} with
    tensors as dicts (ctor, sizes, dtype, lo, hi), or None for an empty
    cell. Raises ValueError naming the problem.
    """
    text = text.strip()
    if not text:
        return None
    try:
        call = ast.parse("f(%s)" % text, mode="eval").body
    except SyntaxError as e:
        raise ValueError("bench %r does not parse: %s" % (text, e.msg))
    if not isinstance(call, ast.Call) or any(isinstance(a, ast.Starred) for a in call.args) \
            or any(kw.arg is None for kw in call.keywords):
        raise ValueError("bench %r: expected an argument list" % text)
    positional = [i for i, p in enumerate(params) if not p["kwarg_only"]]
    if len(call.args) > len(positional):
        raise ValueError("bench: %d positional args, the schema has %d" % (
            len(call.args), len(positional)))
    given = {}
    for i, node in zip(positional, call.args):
        given[i] = _bench_literal(node, "bench arg %d" % i)
    names = {p["name"]: i for i, p in enumerate(params)}
    for kw in call.keywords:
        if kw.arg not in names or names[kw.arg] in given:
            raise ValueError("bench: keyword %r is unknown or given twice" % kw.arg)
        given[names[kw.arg]] = _bench_literal(kw.value, "bench %s" % kw.arg)
    for i, p in enumerate(params):
        v = given.get(i)
        where = "bench a%d (%s %s)" % (i, p["type"], p["name"])
        if i not in given:
            if p["default"] is None:
                raise ValueError("%s: missing (no default)" % where)
            continue
        if p["kind"] == "TENSOR":
            ok = _is_tensor_spec(v) or (v is None and p["optional"])
        elif p["kind"] == "TENSOR_LIST":
            ok = isinstance(v, list) and all(
                _is_tensor_spec(t) or (t is None and p["elem_optional"]) for t in v)
        else:
            ok = not _is_tensor_spec(v) and not (
                isinstance(v, list) and any(_is_tensor_spec(t) for t in v))
        if not ok:
            raise ValueError("%s: %r does not fit" % (where, v))
    return given


# --------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------

class _Tensor:
    __slots__ = ("dtype", "shape")

    def __init__(self, dtype: str, shape: Sequence[int]):
        self.dtype = dtype
        self.shape = tuple(int(s) for s in shape)

    def numel(self) -> int:
        return math.prod(self.shape)

    def nbytes(self) -> int:
        return self.numel() * DTYPE_SIZES[self.dtype]


def _dtype_name(d) -> str:
    if isinstance(d, str) and d in DTYPE_SIZES:
        return d
    if isinstance(d, int) and not isinstance(d, bool) and d in _DTYPE_BY_NUMBER:
        return _DTYPE_BY_NUMBER[d]
    raise CostError(f"unknown dtype {d!r}")


def _as_tensor(x, what: str) -> _Tensor | None:
    if x is None or isinstance(x, _Tensor):
        return x
    if (isinstance(x, (tuple, list)) and len(x) == 2
            and isinstance(x[1], (tuple, list))):
        return _Tensor(_dtype_name(x[0]), x[1])
    raise CostError(f"{what}: expected a (dtype, shape) tuple, got {x!r}")


def _tensors(x) -> list:
    """The tensors of a tensor or tensor-list value (Nones dropped)."""
    if isinstance(x, _Tensor):
        return [x]
    if isinstance(x, list):
        return [t for t in x if isinstance(t, _Tensor)]
    return []


def _num(v, what):
    """A number operand; a bool counts as 0 or 1 (has(a2) + has(a3))."""
    if isinstance(v, bool):
        return int(v)
    if not isinstance(v, (int, float)):
        raise CostError(f"{what}: expected a number, got {v!r}")
    return v


def _eval(node, env: Mapping[str, Any]):
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return env[node.id]
    if isinstance(node, ast.BinOp):
        a, b = _eval(node.left, env), _eval(node.right, env)
        a, b = _num(a, "operand"), _num(b, "operand")
        op = node.op
        if isinstance(op, ast.Add):
            return a + b
        if isinstance(op, ast.Sub):
            return a - b
        if isinstance(op, ast.Mult):
            return a * b
        if isinstance(op, (ast.Div, ast.FloorDiv, ast.Mod)):
            if b == 0:
                return 0  # a zero-size tensor: nothing to compute
            if isinstance(op, ast.Div):
                return a / b
            return a // b if isinstance(op, ast.FloorDiv) else a % b
        if abs(b) > _MAX_POW:
            raise CostError(f"exponent {b} is larger than {_MAX_POW}")
        return a ** b
    if isinstance(node, ast.UnaryOp):
        v = _eval(node.operand, env)
        if isinstance(node.op, ast.Not):
            return not v
        v = _num(v, "operand")
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BoolOp):
        is_and = isinstance(node.op, ast.And)
        v = None
        for sub in node.values:
            v = _eval(sub, env)
            if bool(v) != is_and:
                return v
        return v
    if isinstance(node, ast.Compare):
        left = _eval(node.left, env)
        for op, c in zip(node.ops, node.comparators):
            right = _eval(c, env)
            try:
                ok = {ast.Eq: lambda: left == right, ast.NotEq: lambda: left != right,
                      ast.Lt: lambda: left < right, ast.LtE: lambda: left <= right,
                      ast.Gt: lambda: left > right, ast.GtE: lambda: left >= right,
                      }[type(op)]()
            except TypeError:
                raise CostError(f"cannot compare {left!r} and {right!r}") from None
            if not ok:
                return False
            left = right
        return True
    if isinstance(node, ast.IfExp):
        return _eval(node.body if _eval(node.test, env) else node.orelse, env)
    if isinstance(node, ast.Subscript):
        seq, idx = _eval(node.value, env), _eval(node.slice, env)
        if not isinstance(seq, list) or isinstance(idx, bool) or not isinstance(idx, int):
            raise CostError(f"cannot index {seq!r} with {idx!r}")
        if not -len(seq) <= idx < len(seq):
            raise CostError(f"index {idx} out of range for {seq!r}")
        return seq[idx]
    if isinstance(node, ast.Call):
        return _call(node.func.id, [_eval(a, env) for a in node.args])
    raise CostError(f"{type(node).__name__} is not allowed")  # parse_cost stops these


def _call(fn: str, args: list):
    if fn == "has":
        return args[0] is not None
    if fn in ("numel", "nbytes"):
        ts = _tensors(args[0])
        return sum(t.numel() if fn == "numel" else t.nbytes() for t in ts)
    if fn in ("size", "rank"):
        t = args[0]
        if not isinstance(t, _Tensor):
            raise CostError(f"{fn}() of {t!r}: not a tensor")
        if fn == "rank":
            return len(t.shape)
        d = args[1]
        if isinstance(d, bool) or not isinstance(d, int) or not -len(t.shape) <= d < len(t.shape):
            raise CostError(f"size(): dim {d!r} out of range for shape {t.shape}")
        return t.shape[d]
    if fn in ("min", "max"):
        vals = args[0] if len(args) == 1 else args
        if not isinstance(vals, list) or not vals:
            raise CostError(f"{fn}() needs numbers")
        return (min if fn == "min" else max)(_num(v, fn) for v in vals)
    seq = args[0]
    if not isinstance(seq, list):
        raise CostError(f"{fn}() of {seq!r}: not a list")
    if fn == "len":
        return len(seq)
    vals = [_num(v, fn) for v in seq]
    return math.prod(vals) if fn == "prod" else sum(vals)


def _result(v, what: str) -> int:
    if isinstance(v, bool):
        v = int(v)
    if not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
        raise CostError(f"{what} evaluated to {v!r}: need a finite number >= 0")
    return int(round(v))


_FORMULAS: dict = {}


def _op_formula(op: Mapping) -> Formula | None:
    name = op["name"]
    if name not in _FORMULAS:
        _FORMULAS[name] = parse_cost(op.get("cost", ""), op["params"], op["returns"],
                                     where=name)
    return _FORMULAS[name]


def _meta():
    from ddk import ops_meta
    return ops_meta


def _bind(op: Mapping, args: Sequence[Any], outputs: Sequence[Any]) -> dict:
    params, returns = op["params"], op["returns"]
    if len(args) > len(params):
        raise CostError(f"{op['name']}: {len(args)} args for {len(params)} parameters")
    env = {}
    for i, p in enumerate(params):
        if i < len(args):
            v = args[i]
        else:
            try:
                v = _meta().default_value(p)
            except ValueError:
                raise CostError(f"{op['name']}: argument {i} ({p['name']}) missing") from None
        if p["kind"] == "TENSOR":
            v = _as_tensor(v, f"{op['name']} a{i}")
        elif p["kind"] == "TENSOR_LIST" and v is not None:
            v = [_as_tensor(t, f"{op['name']} a{i}") for t in v]
        elif isinstance(v, tuple):
            v = list(v)
        env[f"a{i}"] = v
    outs = [_as_tensor(o, f"{op['name']} output {k}") for k, o in enumerate(outputs)]
    k = 0
    for i, r in enumerate(returns):
        key = "out" if i == 0 else f"out{i}"
        if r["kind"] == "TENSOR_LIST":
            take = max(0, len(outs) - (len(returns) - i - 1))
            env[key] = outs[k:k + take]
            k += take
        else:
            env[key] = outs[k] if k < len(outs) else None
            k += 1
    env["_outputs"] = outs
    return env


def _evaluate(op: Mapping, env: dict) -> dict:
    formula = _op_formula(op)
    where = f"{op['name']} cost {formula.text!r}" if formula else op["name"]
    try:
        flops = None
        if formula is not None and formula.flops is not None:
            flops = _result(_eval(formula.flops, env), f"{where}: flops")
        if formula is not None and formula.bytes is not None:
            nbytes = _result(_eval(formula.bytes, env), f"{where}: bytes")
        else:
            nbytes = sum(t.nbytes() for i in range(len(op["params"]))
                         for t in _tensors(env[f"a{i}"]))
            nbytes += sum(t.nbytes() for t in env["_outputs"] if t is not None)
    except CostError as e:
        if str(e).startswith(op["name"]):
            raise
        raise CostError(f"{where}: {e}") from None
    return {"flops": flops, "bytes": nbytes}


def cost(op_name: str, args: Sequence[Any], outputs: Sequence[Any]) -> dict:
    """FLOPs and bytes of one call of `op_name` ("aten::mm").

    args: in schema order; a tensor is a (dtype_name, shape) tuple (a
    ScalarType number works too), a tensor list a list of them (None for an
    absent element), anything else the plain value (int, float, bool, list,
    str, None). Missing trailing args take the schema default. outputs: one
    (dtype_name, shape) per output. Returns {"flops": int or None, "bytes":
    int}. Raises CostError for an unknown op or arguments the formula
    cannot use.
    """
    op = _meta().OP_BY_NAME.get(op_name)
    if op is None:
        raise CostError(f"unknown op {op_name!r}")
    return _evaluate(op, _bind(op, args, outputs))


def _arg_value(kind: str, value, tensor_of):
    if kind == "tensor":
        return tensor_of(value)
    if kind == "tensors":
        return [None if v is None else tensor_of(v) for v in value]
    return value


def _node_call(prog, node: Mapping, tensor_of) -> tuple:
    args = [_arg_value(a["kind"], a["value"], tensor_of) for a in node["args"]]
    outs = [tensor_of(v) for v in node["outputs"]]
    return args, outs


def _program_view(prog):
    """(nodes, tensor_of) for a LoadedProgram or a ddk.program.Program."""
    if hasattr(prog, "add_node"):  # ddk.program.Program: pure Python
        def tensor_of(idx):
            v = prog.values[int(idx)]
            return _Tensor(_dtype_name(v.spec.dtype_name), v.spec.sizes)
        nodes = []
        for n in prog.nodes:
            args = []
            for a in n.args:
                kind = a.kind_name.lower()
                val = a.value
                if kind == "tensor_list":
                    kind, val = "tensors", list(val)
                elif kind.endswith("_list"):
                    kind, val = kind[:-5] + "s", list(val)
                elif kind == "tensor":
                    val = int(val)
                args.append({"kind": kind, "value": val})
            nodes.append({"op_name": n.op_name, "args": args,
                          "outputs": [int(o) for o in n.outputs]})
        return nodes, tensor_of
    cache: dict = {}

    def tensor_of(idx):
        if idx not in cache:
            v = prog._value(idx)
            cache[idx] = _Tensor(v["dtype_name"], v["shape"])
        return cache[idx]
    return prog.nodes, tensor_of


def _cost_of(node: Mapping, tensor_of) -> dict:
    op = _meta().OP_BY_NAME.get(node["op_name"])
    if op is None:
        raise CostError(f"unknown op {node['op_name']!r}")
    args, outs = _node_call(None, node, tensor_of)
    return _evaluate(op, _bind(op, args, outs))


def node_cost(prog, node_index: int) -> dict:
    """FLOPs and bytes of node `node_index` of `prog` (a
    ddk.runtime.LoadedProgram, lowered or not, or a ddk.program.Program),
    at the shapes its values declare. Same dict as cost()."""
    nodes, tensor_of = _program_view(prog)
    if not 0 <= node_index < len(nodes):
        raise CostError(f"node {node_index} out of range ({len(nodes)} nodes)")
    return _cost_of(nodes[node_index], tensor_of)


def program_costs(prog) -> list:
    """node_cost of every node, in node order (reads the program once)."""
    nodes, tensor_of = _program_view(prog)
    return [_cost_of(n, tensor_of) for n in nodes]
