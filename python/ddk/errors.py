"""Exceptions of the Python layer that must not need torch to import."""

__all__ = ["ExportError"]


class ExportError(ValueError):
    """A module that cannot become a DDK program, and why.

    ``kind`` is one of "unknown_op", "unsupported_dtype", "capture",
    "control_flow", "mutation", "dynamic", "input", "output";
    ``op``, ``node`` and ``source`` ("file:line in function: code") are set
    when known."""

    def __init__(self, message: str, *, kind: str, op: str | None = None,
                 node: str | None = None, source: str | None = None):
        super().__init__(message)
        self.kind = kind
        self.op = op
        self.node = node
        self.source = source
