"""The Python half of the `ddk` command line: export, zoo, compare, profile.

    ddk export SPEC --out FILE [--seed N] [--input-size N]
               [--input-shape 1x3x224x224[:dtype] ...] [--no-check]
    ddk zoo list [--json]
    ddk zoo build NAME... --out DIR [--seed N] [--input-size N]   (NAME: a model or "all")
    ddk compare PROGRAM --module NAME [--input FILE.npy ...] [--seed N]
                [--input-size N] [--backend NAME_OR_PATH ...] [--json] [--layers]
    ddk profile PROGRAM [--backend B ...] [--iterations N] [--warmup N] [--threads N]
                [--compare [--compare-backend B ...]] [--input FILE.npy ...]
                [--option K=V ...] [--json F] [--csv F] [--trace F] [--plot F.png] [--html F]

SPEC (export) and NAME (compare --module) are a zoo model name, or
``path/to/file.py:callable`` / ``package.module:callable`` returning an
nn.Module or (module, example_inputs).

The C `ddk` binary hands these four commands to ``python3 -m ddk``; the
same commands run directly as ``python3 -m ddk export ...``.

Exit status: 0 success; 1 a comparison that fails its tolerance, or a
runtime failure; 2 bad input (usage, an export refusal, a missing file).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Sequence

EXIT_FAIL = 1
EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # usage errors exit 2 with the usage line
        self.print_usage(sys.stderr)
        print(f"ddk: {message}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_INPUT)


def _parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="ddk", description="DDK exporter, model zoo, comparison and profiling")
    sub = ap.add_subparsers(dest="command", required=True, parser_class=_Parser)

    ex = sub.add_parser("export", help="export a PyTorch module to a program")
    ex.add_argument("spec", help="zoo model name, file.py:callable or pkg.mod:callable")
    ex.add_argument("--out", "-o", required=True, help="program file to write")
    ex.add_argument("--seed", type=int, default=0)
    ex.add_argument("--input-size", type=int, help="image side (zoo vision models)")
    ex.add_argument("--input-shape", action="append", default=[],
                    help="example input shape for a callable that gives none: "
                    "1x3x224x224 or 4x16:int64 (repeat per input)")
    ex.add_argument("--no-check", action="store_true",
                    help="do not load the written program with libddk")

    zoo = sub.add_parser("zoo", help="list or build the model zoo")
    zsub = zoo.add_subparsers(dest="zoo_command", required=True, parser_class=_Parser)
    zl = zsub.add_parser("list", help="list the zoo's models")
    zl.add_argument("--json", action="store_true")
    zb = zsub.add_parser("build", help="export zoo models into a directory")
    zb.add_argument("names", nargs="+", help='model names, or "all"')
    zb.add_argument("--out", "-o", required=True)
    zb.add_argument("--seed", type=int, default=0)
    zb.add_argument("--input-size", type=int)

    cp = sub.add_parser("compare", help="compare a program with its PyTorch module")
    cp.add_argument("program")
    cp.add_argument("--module", required=True,
                    help="zoo model name, file.py:callable or pkg.mod:callable")
    cp.add_argument("--input", action="append", default=[], help=".npy input (in order)")
    cp.add_argument("--seed", type=int)
    cp.add_argument("--input-size", type=int)
    cp.add_argument("--backend", action="append", default=[],
                    help="lower for this backend first (name or plugin path)")
    cp.add_argument("--json", action="store_true")
    cp.add_argument("--layers", action="store_true",
                    help="int8 zoo models: also check each quantized layer from "
                    "PyTorch's int8 inputs (ddk.compare.int8_layers)")
    pf = sub.add_parser("profile", help="per-op time of a program, delegate or portable")
    pf.add_argument("program")
    pf.add_argument("--backend", action="append", default=[],
                    help="lower for this backend (name or plugin path; repeat, priority order)")
    pf.add_argument("--iterations", type=int, default=20)
    pf.add_argument("--warmup", type=int, default=3)
    pf.add_argument("--input", action="append", default=[], help=".npy input (in order)")
    pf.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                    help="option for lowering and the method (typed as in the C CLI)")
    pf.add_argument("--threads", type=int, metavar="N",
                    help="threads for the backends that take a thread option "
                    "(xnnpack.num_threads); the portable kernels are single-threaded")
    pf.add_argument("--compare", action="store_true",
                    help="profile twice and compare per node: portable (or the "
                    "--compare-backend backends) against the --backend backends")
    pf.add_argument("--compare-backend", action="append", default=[], metavar="B",
                    help="with --compare: side B (repeat); --backend is then side A")
    pf.add_argument("--json", metavar="FILE", help="write the report as JSON")
    pf.add_argument("--csv", metavar="FILE", help="write the per-op rows as CSV")
    pf.add_argument("--trace", metavar="FILE",
                    help="write a Chrome/Perfetto trace of the last profiled execute")
    pf.add_argument("--plot", metavar="PNG", help="draw per-op time (needs matplotlib)")
    pf.add_argument("--plot-top", type=int, default=25, metavar="N",
                    help="ops in the plot (the N slowest)")
    pf.add_argument("--html", metavar="FILE",
                    help="a self-contained HTML report (table, and the plot when "
                    "matplotlib is installed)")
    return ap


def _parse_option(text: str):
    """KEY=VALUE typed like the C CLI: true/false, int, float, else str."""
    key, eq, raw = text.partition("=")
    if not eq or not key:
        raise ValueError(f"--option {text!r}: expected KEY=VALUE")
    if raw in ("true", "false"):
        return key, raw == "true"
    for conv in (int, float):
        try:
            return key, conv(raw)
        except ValueError:
            pass
    return key, raw


def _cmd_profile(args) -> int:
    from ddk import profiling as prof
    from ddk import profile_report as pr

    if args.plot:
        pr.require_matplotlib()
    if args.plot_top < 1:
        raise ValueError(f"--plot-top {args.plot_top}: expected N >= 1")
    compare = args.compare or bool(args.compare_backend)
    kw = dict(iterations=args.iterations, warmup=args.warmup, threads=args.threads,
              options=dict(map(_parse_option, args.option)), inputs=args.input or None)
    if compare:
        if args.compare_backend:
            if not args.backend:
                raise ValueError("--compare-backend needs --backend (side A)")
            side_a, side_b = args.backend, args.compare_backend
        else:
            side_a, side_b = [], args.backend
        cmp = prof.compare(args.program, side_a, side_b, **kw)
        report = None
        print(prof.format_compare(cmp))
        data, rows_csv = prof.compare_json(cmp), prof.compare_to_csv(cmp)
        trace = prof.to_trace(*cmp["_traces"]) if args.trace else None
    else:
        report = prof.profile(args.program, args.backend, **kw)
        cmp = None
        print(prof.format_table(report))
        data, rows_csv = prof.to_json(report), prof.to_csv(report)
        trace = prof.to_trace(report) if args.trace else None
    outputs = [(args.json, lambda: json.dumps(data, indent=1)), (args.csv, lambda: rows_csv),
               (args.trace, lambda: trace)]
    for path, text in outputs:
        if path:
            with open(path, "w") as f:
                f.write(text())
    if args.plot:
        pr.write_plot(args.plot, report=report, compare=cmp, top=args.plot_top)
    if args.html:
        note = pr.write_html(args.html, report=report, compare=cmp, top=args.plot_top)
        if note:
            print(f"ddk profile: {note}", file=sys.stderr)
    return 0


def _parse_shape(text: str):
    import torch

    shape, _, dtype = text.partition(":")
    try:
        sizes = [int(s) for s in shape.lower().split("x")] if shape else []
    except ValueError:
        raise ValueError(f"--input-shape {text!r}: sizes are integers joined by 'x'") \
            from None
    tdtype = getattr(torch, dtype or "float32", None)
    if not isinstance(tdtype, torch.dtype):
        raise ValueError(f"--input-shape {text!r}: unknown dtype {dtype!r}")
    g = torch.Generator()
    g.manual_seed(0)
    if tdtype.is_floating_point:
        return torch.randn(sizes, generator=g).to(tdtype)
    return torch.randint(0, 2, sizes, generator=g).to(tdtype)


def _cmd_export(args) -> int:
    from ddk import zoo
    from ddk.compare import load_module
    from ddk.exporter import export

    if args.spec in zoo.MODELS:
        built = zoo.build(args.spec, seed=args.seed, input_size=args.input_size)
        module, example, dynamic = built.module, built.example_inputs, built.dynamic_shapes
    else:
        module, example = load_module(args.spec)
        dynamic = None
        if args.input_shape:
            example = tuple(_parse_shape(s) for s in args.input_shape)
        if example is None:
            raise ValueError(f"{args.spec} gives no example inputs: pass --input-shape")
    program = export(module, example, dynamic, out=args.out)
    if not args.no_check:
        import ddk

        with ddk.load_program(args.out) as loaded:
            n = loaded.num_nodes
    else:
        n = len(program.nodes)
    ops = sorted({nd.op_name for nd in program.nodes})
    print(f"ddk export: {args.out}: {n} nodes, {len(ops)} distinct ops, "
          f"{len(program.inputs)} inputs, {len(program.outputs)} outputs")
    return 0


def _cmd_zoo(args) -> int:
    from ddk import zoo

    if args.zoo_command == "list":
        rows = [{"name": m.name, "description": m.description, "int8": m.int8,
                 "default_input_size": m.default_input_size,
                 "tolerance": m.tolerance.to_json()} for m in zoo.MODELS.values()]
        if args.json:
            print(json.dumps(rows, indent=1))
        else:
            width = max(len(r["name"]) for r in rows)
            for r in rows:
                print(f"{r['name']:<{width}}  {r['description']}")
        return 0
    names = zoo.names() if args.names == ["all"] else args.names
    for n in names:
        zoo.get(n)  # unknown names fail before anything is built
    zoo.write(names, args.out, seed=args.seed, input_size=args.input_size, log=print)
    return 0


def _cmd_compare(args) -> int:
    from ddk.compare import compare, format_report

    result = compare(args.program, args.module, inputs=args.input, seed=args.seed,
                     input_size=args.input_size, backends=args.backend,
                     layers=args.layers)
    print(json.dumps(result, indent=1) if args.json else format_report(result))
    return 0 if result["ok"] else EXIT_FAIL


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from ddk.errors import ExportError
    from ddk.runtime import DDKError

    try:
        if args.command == "export":
            return _cmd_export(args)
        if args.command == "zoo":
            return _cmd_zoo(args)
        if args.command == "profile":
            return _cmd_profile(args)
        return _cmd_compare(args)
    except ExportError as e:
        print(f"ddk {args.command}: refused: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (ValueError, KeyError, FileNotFoundError) as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"ddk {args.command}: {msg}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except DDKError as e:
        print(f"ddk {args.command}: {e}", file=sys.stderr)
        # the C CLI's split (reference_runtime/cli/ddk_main.c, exit_code_for)
        return EXIT_BAD_INPUT if e.name in (
            "INVALID_ARGUMENT", "INVALID_PROGRAM", "IO_ERROR", "NOT_FOUND", "ABI_MISMATCH",
            "SHAPE_MISMATCH", "DTYPE_MISMATCH", "UNSUPPORTED_OP",
            "BACKEND_UNAVAILABLE") else EXIT_FAIL


if __name__ == "__main__":
    sys.exit(main())
