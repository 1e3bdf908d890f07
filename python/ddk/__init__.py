"""ddk — Python layer of the delegate development kit.

The runtime is C (libddk.so); this package is thin:

* ``ddk.Program`` — writer/reader of the program format (pure Python).
* ``ddk.Runtime``, ``ddk.LoadedProgram``, ``ddk.Method`` — the ctypes
  binding of the runtime; ``ddk.load_program`` and ``ddk.run`` for the
  common paths; ``ddk.DDKError`` for every failure the runtime reports.

* ``ddk.export`` (and ``ddk.ExportError``) — PyTorch module to program
  (:mod:`ddk.exporter`); ``ddk.zoo`` — the model zoo; ``ddk.quantize`` —
  PT2E int8 quantisation. These import torch when first used.

Importing the package loads neither libddk.so (that happens on first use)
nor torch.
"""

__version__ = "0.1.0"

from ddk.runtime import (  # noqa: E402
    DDKError,
    LoadedProgram,
    Method,
    Runtime,
    load_program,
    run,
)

try:  # program.py is pure Python; tolerate its absence in a partial tree
    from ddk.program import Program  # noqa: E402
except ModuleNotFoundError as _e:  # pragma: no cover
    if _e.name not in ("ddk.program", "ddk.ops_meta"):
        raise
    Program = None  # type: ignore[assignment]



def __getattr__(name: str):
    # ddk.export / ddk.ExportError import torch: only when asked for.
    if name == "export":
        from ddk.exporter import export

        return export
    if name == "ExportError":
        from ddk.errors import ExportError

        return ExportError
    raise AttributeError(f"module 'ddk' has no attribute {name!r}")


__all__ = [
    "__version__",
    "DDKError",
    "ExportError",
    "LoadedProgram",
    "Method",
    "export",
    "Program",
    "Runtime",
    "load_program",
    "run",
]
