"""From a PyTorch module to a DDK program.

    program = ddk.export(module, example_inputs, dynamic_shapes=None)   # ddk.exporter.export
    program.save("model.ddk")            # or ddk.export(..., out="model.ddk")

The steps:

1. ``torch.export.export`` captures the module as an ATen graph (non-strict
   by default; ``strict=True`` uses TorchDynamo).
2. ``run_decompositions()`` lowers it to the core ATen op set (PyTorch's
   default decomposition table); quantized_decomposed ops (from the PT2E
   flow, see :mod:`ddk.quantize`) pass through.
3. Every node becomes a program node of the same op; parameters, buffers
   and lifted constants go into the constant segment; user inputs and
   outputs become the program's inputs and outputs.

Dynamic dimensions declared with ``torch.export.Dim`` (or ``Dim.AUTO`` with
a max) become dims with an upper bound (the program format's
``dynamic_mask``); a dynamic dim with no finite bound is refused. Sizes
that ops take as arguments (``view``'s ``size``, say) are constants in the
format: a size that depends on a dynamic dim is written as ``-1`` where ATen
infers it (one dim of ``view``/``reshape``; ``expand`` keeping a dim) and
refused elsewhere.

What is refused, always with :class:`ExportError` naming the op, the node,
the module path and the source line when the exporter knows them:

* an op outside the op table (``kind="unknown_op"``),
* a dtype the DDK has no number for, or an op given a dtype its kernel does
  not take (``kind="unsupported_dtype"``),
* a graph that ``torch.export`` cannot capture, such as control flow on
  tensor values (``kind="capture"``), and control-flow operators
  (``torch.cond``, ``torch.while_loop``; ``kind="control_flow"``),
* in-place updates of inputs or buffers (``kind="mutation"``), non-tensor
  inputs or outputs, and sizes that depend on a dynamic dim where the
  format cannot say so (``kind="dynamic"``).

Importing this module imports torch; ``import ddk`` does not.
"""

from __future__ import annotations

import operator
import os
import re
from typing import Any, Mapping, Sequence

import torch
from torch.export.graph_signature import InputKind, OutputKind

from ddk import ops_meta
from ddk.errors import ExportError
from ddk.program import Program, TensorSpec

__all__ = ["ExportError", "export", "export_program", "op_key"]

# Largest upper bound accepted for a dynamic dim: the memory planner sizes
# buffers by the bound, so "unbounded" must be said with a real number.
MAX_DYNAMIC_BOUND = 1 << 31


def op_key(target: Any) -> str | None:
    """The op-table name of an fx call target ("aten::add.Tensor"), or None
    when the target is not an ATen-style operator overload."""
    schema = getattr(target, "_schema", None)
    if schema is None:
        return None
    return schema.name + (f".{schema.overload_name}" if schema.overload_name else "")


# -- where a node came from ------------------------------------------------

_FRAME = re.compile(r'File "([^"]+)", line (\d+), in ([^\n]+)\n[ \t]*([^\n]*)')


def _last_frame(text: str | None) -> str | None:
    """'file:line in func: code' of the last frame in a Python traceback."""
    if not text:
        return None
    frames = _FRAME.findall(text)
    real = [f for f in frames if not f[0].startswith("<")]  # not generated code
    if not (real or frames):
        return None
    path, line, func, code = (real or frames)[-1]
    code = code.strip()
    return f"{path}:{line} in {func.strip()}" + (f": {code}" if code else "")


def _module_path(node: torch.fx.Node) -> str | None:
    stack = node.meta.get("nn_module_stack")
    if not stack:
        return None
    path = list(stack.values())[-1][0]
    path = re.sub(r"^L\['self'\]\.?", "", str(path))
    return path or None


def _where(node: torch.fx.Node) -> tuple[str, str | None]:
    """(description, source) of a node for messages."""
    source = _last_frame(node.meta.get("stack_trace"))
    parts = [f"node '{node.name}'"]
    module = _module_path(node)
    if module:
        parts.append(f"in module '{module}'")
    if source:
        parts.append(f"at {source}")
    return " ".join(parts), source


def _refuse(node: torch.fx.Node, kind: str, what: str, *, op: str | None = None,
            hint: str = "") -> ExportError:
    where, source = _where(node)
    text = f"{what} ({where})" + (f": {hint}" if hint else "")
    return ExportError(text, kind=kind, op=op, node=node.name, source=source)


# -- dtypes and shapes -------------------------------------------------------

def _dtype_name(dtype: torch.dtype) -> str | None:
    name = str(dtype).removeprefix("torch.")
    return name if name in ops_meta.DTYPE_NUMBERS else None


class _Shapes:
    """Turns fake-tensor sizes into (sizes, dynamic dims) with upper bounds."""

    def __init__(self, ep: torch.export.ExportedProgram):
        self.ranges = dict(ep.range_constraints)

    def bound(self, size: Any) -> tuple[int, bool]:
        """(value or upper bound, is_dynamic) of one size."""
        if isinstance(size, int):
            return size, False
        expr = size.node.expr
        if expr.is_number:
            return int(expr), False
        from torch.utils._sympy.value_ranges import bound_sympy

        upper = bound_sympy(expr, self.ranges).upper
        try:
            upper = int(upper) if upper.is_number and upper.is_finite is not False \
                else None
        except (TypeError, ValueError, OverflowError, AttributeError):
            upper = None  # torch's int_oo and sympy's oo
        if upper is None or upper >= MAX_DYNAMIC_BOUND:
            names = ", ".join(sorted(str(s) for s in expr.free_symbols))
            raise ValueError(f"dynamic size {expr} ({names}) has no upper bound "
                             f"below {MAX_DYNAMIC_BOUND}: declare the dim with "
                             "torch.export.Dim(name, max=N)")
        return upper, True

    def spec(self, t: torch.Tensor) -> TensorSpec:
        dtype = _dtype_name(t.dtype)
        if dtype is None:
            raise TypeError(f"dtype {t.dtype} has no DDK number (the DDK has "
                            f"{', '.join(ops_meta.DTYPE_NUMBERS)})")
        sizes, dynamic = [], []
        for d, s in enumerate(t.shape):
            value, is_dyn = self.bound(s)
            sizes.append(value)
            if is_dyn:
                dynamic.append(d)
        return TensorSpec(dtype, sizes, dynamic=dynamic or None)


class _Sym:
    """A non-tensor value computed in the graph (a SymInt from sym_size,
    arithmetic on it, an assertion's result): never a program value."""

    def __init__(self, value: Any):
        self.value = value


def _is_symbolic(x: Any) -> bool:
    return isinstance(x, (torch.SymInt, torch.SymFloat, torch.SymBool))


# Non-tensor graph plumbing that has no program node.
_SKIPPED = {
    "aten::sym_size.int", "aten::sym_numel", "aten::sym_stride.int",
    "aten::sym_storage_offset", "aten::sym_is_contiguous",
    "aten::_assert_scalar", "aten::_assert_tensor_metadata",
    "aten::sym_constrain_range", "aten::sym_constrain_range_for_size",
    "aten::_assert_async", "aten::_assert_async.msg",
}

# Ops whose int-list `size` may carry -1 for an inferred (view/reshape) or
# kept (expand) dim.
_INFER_ONE = {"aten::view", "aten::_unsafe_view", "aten::reshape"}
_KEEP_DIM = {"aten::expand"}

_MEMORY_FORMATS = {torch.contiguous_format: "contiguous_format",
                   torch.preserve_format: "preserve_format",
                   torch.channels_last: "channels_last",
                   torch.channels_last_3d: "channels_last_3d"}


# -- the converter -------------------------------------------------------------

class _Converter:
    def __init__(self, ep: torch.export.ExportedProgram):
        self.ep = ep
        self.program = Program()
        self.shapes = _Shapes(ep)
        self.env: dict[torch.fx.Node, Any] = {}
        self.numbers: dict[tuple, Any] = {}

    # leaves
    def placeholders(self) -> None:
        sig = self.ep.graph_signature
        specs = {s.arg.name: s for s in sig.input_specs}
        for node in self.ep.graph.nodes:
            if node.op != "placeholder":
                continue
            spec = specs[node.name]
            if spec.kind == InputKind.USER_INPUT:
                self.user_input(node)
            elif spec.kind in (InputKind.PARAMETER, InputKind.BUFFER,
                               InputKind.CONSTANT_TENSOR):
                if node.users:  # a parameter nothing reads is not written
                    self.constant(node, spec.target)
            else:
                raise _refuse(node, "input", f"graph input of kind {spec.kind.name} "
                              "is not supported", hint="programs take tensor inputs "
                              "and constant tensors only")

    def user_input(self, node: torch.fx.Node) -> None:
        val = node.meta.get("val")
        if not isinstance(val, torch.Tensor):
            raise _refuse(node, "input", f"input '{node.name}' is of type "
                          f"{type(val).__name__}, not a tensor",
                          hint="program inputs are tensors; make the value a "
                          "tensor or bind it in the module")
        try:
            spec = self.shapes.spec(val)
        except TypeError as e:
            raise _refuse(node, "unsupported_dtype", f"input '{node.name}': {e}") \
                from None
        except ValueError as e:
            raise _refuse(node, "dynamic", f"input '{node.name}': {e}") from None
        self.env[node] = self.program.add_input(spec, name=node.name)

    def constant(self, node: torch.fx.Node, target: str) -> None:
        if target in self.ep.state_dict:
            tensor = self.ep.state_dict[target]
        elif target in self.ep.constants:
            tensor = self.ep.constants[target]
        else:  # pragma: no cover - torch keeps these in step
            raise _refuse(node, "input", f"constant '{target}' not found")
        if not isinstance(tensor, torch.Tensor):
            raise _refuse(node, "input", f"constant '{target}' is a "
                          f"{type(tensor).__name__}, not a tensor")
        tensor = tensor.detach()
        if _dtype_name(tensor.dtype) is None:
            raise _refuse(node, "unsupported_dtype", f"constant '{target}' has dtype "
                          f"{tensor.dtype}, which has no DDK number")
        if isinstance(tensor, torch.nn.Parameter):
            tensor = tensor.data
        self.env[node] = self.program.add_constant(tensor.contiguous().cpu(),
                                                   name=target,
                                                   dtype=_dtype_name(tensor.dtype))

    # nodes
    def call(self, node: torch.fx.Node) -> None:
        target = node.target
        if target is operator.getitem:
            source, index = node.args
            held = self.env[source]
            self.env[node] = _Sym(None) if isinstance(held, _Sym) else held[index]
            return
        key = op_key(target)
        val = node.meta.get("val")
        if key in _SKIPPED or (key is None and not isinstance(val, torch.Tensor)
                               and not isinstance(target, torch._ops.HigherOrderOperator)):
            # sym_size, SymInt arithmetic (operator.mul ...), assertions
            self.env[node] = _Sym(val)
            return
        if isinstance(target, torch._ops.HigherOrderOperator):
            raise _refuse(node, "control_flow", f"control-flow operator "
                          f"torch.ops.higher_order.{target.name()} is not supported",
                          op=target.name(), hint="programs are straight-line graphs; "
                          "compute both branches and pick with torch.where")
        if key is None:
            raise _refuse(node, "unknown_op", f"call to {target!r} is not an ATen "
                          "operator", op=str(target))
        op = ops_meta.OP_BY_NAME.get(key)
        if op is None:
            raise _refuse(node, "unknown_op", f"op {key} is not in the DDK op table",
                          op=key, hint="it has no portable kernel; the table is the "
                          "core ATen op set plus quantized_decomposed "
                          "(see docs/ops.md); rewrite the module with ops that "
                          "decompose to it")
        if node.kwargs.get("out") is not None:  # pragma: no cover - functional graphs
            raise _refuse(node, "unknown_op", f"{key} with out= is not supported", op=key)
        kwargs = self.arguments(node, key, target._schema)
        self.check_dtype(node, key, op, kwargs)
        outputs = self.output_specs(node, key, val)
        try:
            made = self.program.add_node(key, (), kwargs, outputs=outputs,
                                         name=node.name)
        except (TypeError, ValueError, IndexError) as e:
            raise _refuse(node, "unknown_op", f"cannot encode {key}: {e}", op=key) \
                from None
        outs = made.outputs
        returns_list = any(r["kind"] == "TENSOR_LIST" for r in op["returns"])
        self.env[node] = outs[0] if len(op["returns"]) == 1 and not returns_list \
            else list(outs)

    def output_specs(self, node, key, val) -> list[TensorSpec]:
        vals = list(val) if isinstance(val, (tuple, list)) else [val]
        specs = []
        for v in vals:
            if not isinstance(v, torch.Tensor):
                raise _refuse(node, "output", f"{key} returns a {type(v).__name__} "
                              "where the exporter expects a tensor", op=key)
            try:
                specs.append(self.shapes.spec(v))
            except TypeError as e:
                raise _refuse(node, "unsupported_dtype", f"{key}: {e}", op=key) from None
            except ValueError as e:
                raise _refuse(node, "dynamic", f"{key}: {e}", op=key) from None
        return specs

    def check_dtype(self, node, key, op, kwargs) -> None:
        """The op's first tensor parameter must have a dtype its kernel takes."""
        for p in op["params"]:
            if p["kind"] != "TENSOR":
                continue
            arg = kwargs.get(p["name"])
            if arg is None:
                return
            dtype = self.program.tensor(arg).spec.dtype_name
            if dtype not in op["dtypes"]:
                raise _refuse(node, "unsupported_dtype", f"{key} has no kernel for "
                              f"{dtype} (parameter '{p['name']}')", op=key,
                              hint=f"its kernel takes {', '.join(op['dtypes'])}")
            return

    def arguments(self, node, key, schema) -> dict[str, Any]:
        """The node's arguments by schema name, converted for add_node."""
        out: dict[str, Any] = {}
        for i, a in enumerate(schema.arguments):
            if i < len(node.args) and not a.kwarg_only:
                value = node.args[i]
            elif a.name in node.kwargs:
                value = node.kwargs[a.name]
            else:
                continue
            if isinstance(value, (bool, int, float)) and \
                    isinstance(a.type, torch.TensorType):
                out[a.name] = self.wrapped_number(node, value)
            else:
                out[a.name] = self.convert(node, key, a.name, value)
        return out

    def wrapped_number(self, node, value) -> Any:
        """A Python number where the schema takes a Tensor (decompositions
        write ``add.Tensor(x, 3)``): a 0-d constant of the dtype ATen
        computes in, so promotion in the kernel gives ATen's result."""
        tensors = [a.meta["val"] for a in node.args
                   if isinstance(a, torch.fx.Node) and
                   isinstance(a.meta.get("val"), torch.Tensor)]
        dtype = torch.result_type(tensors[0], value) if tensors else \
            torch.tensor(value).dtype
        if _dtype_name(dtype) is None:
            raise _refuse(node, "unsupported_dtype", f"number {value!r} would be "
                          f"{dtype}, which has no DDK number")
        cache_key = (dtype, repr(value))
        if cache_key not in self.numbers:
            self.numbers[cache_key] = self.program.add_constant(
                torch.tensor(value, dtype=dtype), name=f"scalar_{len(self.numbers)}",
                dtype=_dtype_name(dtype))
        return self.numbers[cache_key]

    def convert(self, node, key, name, value) -> Any:
        if isinstance(value, torch.fx.Node):
            held = self.env[value]
            if isinstance(held, _Sym):
                return self.concrete(node, key, name, held.value)
            return held
        if isinstance(value, (list, tuple)):
            items = [self.convert(node, key, name, v) if v is not None else None
                     for v in value]
            if any(isinstance(v, _Dynamic) for v in items):
                return self.dynamic_list(node, key, name, items)
            return items
        if isinstance(value, torch.dtype):
            dtype = _dtype_name(value)
            if dtype is None:
                raise _refuse(node, "unsupported_dtype", f"{key}: argument '{name}' "
                              f"is dtype {value}, which has no DDK number", op=key)
            return dtype
        if isinstance(value, torch.memory_format):
            return _MEMORY_FORMATS[value]
        if isinstance(value, torch.layout):
            return str(value).removeprefix("torch.")
        if isinstance(value, torch.device):
            return str(value)
        if _is_symbolic(value):
            return self.concrete(node, key, name, value)
        return value

    def concrete(self, node, key, name, value) -> Any:
        """A SymInt argument: its number when export fixed it, else a marker
        that dynamic_list resolves or refuses."""
        if _is_symbolic(value):
            expr = value.node.expr
            if expr.is_number:
                return int(expr) if isinstance(value, torch.SymInt) else \
                    (bool(expr) if isinstance(value, torch.SymBool) else float(expr))
            return _Dynamic(expr)
        if isinstance(value, (int, float, bool)):
            return value
        raise _refuse(node, "dynamic", f"{key}: argument '{name}' is computed in the "
                      f"graph ({value!r}), which the program format cannot hold", op=key)

    def dynamic_list(self, node, key, name, items) -> list[int]:
        dyn = [i for i, v in enumerate(items) if isinstance(v, _Dynamic)]
        if key in _INFER_ONE and name == "size":
            # the result's static dims as numbers, its one dynamic dim as -1
            out = node.meta["val"].shape
            sizes = [s if isinstance(s, int) else
                     (int(s.node.expr) if s.node.expr.is_number else -1) for s in out]
            if sizes.count(-1) == 1:
                return sizes
        if key in _KEEP_DIM and name == "size":
            source = node.args[0].meta["val"]
            offset = len(items) - source.dim()
            ok = True
            for i in dyn:
                j = i - offset
                same = j >= 0 and _is_symbolic(source.shape[j]) and \
                    source.shape[j].node.expr == items[i].expr
                ok = ok and same
                items[i] = -1
            if ok:
                return items
        exprs = ", ".join(str(items[i].expr) if isinstance(items[i], _Dynamic)
                          else "?" for i in dyn)
        raise _refuse(node, "dynamic", f"{key}: argument '{name}' depends on a dynamic "
                      f"dim ({exprs})", op=key,
                      hint="the program format stores sizes as constants; only one "
                      "inferred dim of view/reshape and kept dims of expand can be "
                      "written; make this dim static")

    def outputs(self, node: torch.fx.Node) -> None:
        sig = self.ep.graph_signature
        for spec in sig.output_specs:
            if spec.kind in (OutputKind.BUFFER_MUTATION, OutputKind.USER_INPUT_MUTATION,
                             OutputKind.PARAMETER_MUTATION):
                raise _refuse(node, "mutation", f"the module updates "
                              f"'{spec.target}' in place",
                              hint="programs are functional: return the new value "
                              "as an output instead of mutating a buffer or input")
        for arg, spec in zip(node.args[0], sig.output_specs):
            if spec.kind != OutputKind.USER_OUTPUT:
                raise _refuse(node, "output", f"output of kind {spec.kind.name} is "
                              "not supported")
            held = self.env.get(arg) if isinstance(arg, torch.fx.Node) else None
            if held is None or isinstance(held, (_Sym, list)):
                raise _refuse(node, "output", f"output {arg!r} is not a tensor",
                              hint="programs return tensors only")
            self.program.add_output(held)

    def run(self) -> Program:
        self.placeholders()
        for node in self.ep.graph.nodes:
            if node.op == "call_function":
                self.call(node)
            elif node.op == "output":
                self.outputs(node)
            elif node.op == "get_attr":
                # a control-flow branch (submodule): the operator using it is
                # refused with the reason
                self.env[node] = _Sym(None)
        if not self.program.outputs:
            raise ExportError("the module returns no tensor", kind="output")
        return self.program


class _Dynamic:
    """A size argument that depends on a dynamic dim."""

    def __init__(self, expr):
        self.expr = expr


# -- public ------------------------------------------------------------------

def export_program(ep: torch.export.ExportedProgram, *, decompose: bool = True) -> Program:
    """Converts an ExportedProgram to a :class:`ddk.Program` (decomposing it
    to core ATen first unless ``decompose`` is False)."""
    if decompose:
        ep = ep.run_decompositions()
    return _Converter(ep).run()


def export(module: torch.nn.Module, example_inputs: Sequence[Any],
           dynamic_shapes: Any = None, *, kwargs: Mapping[str, Any] | None = None,
           strict: bool = False, out: str | os.PathLike | None = None) -> Program:
    """Exports ``module`` (put in eval mode) called on ``example_inputs`` to
    a DDK program.

    ``dynamic_shapes`` is passed to ``torch.export.export``: dims declared
    with ``torch.export.Dim(name, max=N)`` become dynamic dims bounded by N.
    With ``out``, the program is also written there. Returns the Program
    (``to_bytes()``, ``save(path)``). Raises :class:`ExportError`."""
    if isinstance(module, torch.nn.Module):
        try:
            module.eval()
        except NotImplementedError:
            pass  # a PT2E-converted graph: its mode was fixed when it was exported
    try:
        ep = torch.export.export(module, tuple(example_inputs), kwargs=dict(kwargs or {}),
                                 dynamic_shapes=dynamic_shapes, strict=strict)
    except Exception as e:  # torch raises many types; all mean "not captured"
        raise _capture_error(module, e) from e
    program = export_program(ep)
    if out is not None:
        program.save(out)
    return program


def _capture_error(module: Any, e: Exception) -> ExportError:
    text = str(e)
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), type(e).__name__)
    source = _last_frame(text)
    name = type(module).__name__
    data_dependent = "data-dependent" in text or "GuardOnDataDependent" in type(e).__name__
    if data_dependent:
        what = (f"torch.export could not capture {name}: control flow or a size "
                f"depends on tensor values (data-dependent)")
        hint = ("compute both branches and select with torch.where, or make the "
                "condition a Python value fixed at export")
    else:
        what = f"torch.export could not capture {name}: {first}"
        hint = ""
    msg = what + (f" at {source}" if source else "") + (f"; {hint}" if hint else "") + \
        (f" [torch: {first}]" if data_dependent else "")
    return ExportError(msg, kind="capture", source=source)
