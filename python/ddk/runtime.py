"""ctypes binding of the DDK reference runtime (libddk.so).

The runtime is C; this module only marshals. It mirrors the C API in
reference_runtime/include/ddk/runtime.h and program.h:

    rt = Runtime()                      # ddk_runtime_create
    rt.add_backend("path/to/libddk_backend_template.so")
    prog = LoadedProgram.from_bytes(b)  # ddk_program_load_buffer (copy)
    low = rt.lower(prog, ["template"])  # ddk_runtime_lower
    m = rt.method(low)                  # ddk_method_create
    m.set_inputs([x]); m.execute(); outs = m.outputs()

or simply ``run(program, [x], backends=["template"])``.

The library is found through the environment variable DDK_LIBRARY, else
``<repo>/build/libddk.so``. It is loaded on first use, so importing this
module never fails because the library is not built.

Every C failure raises DDKError carrying the status code, its name
("INVALID_PROGRAM") and the runtime's message.
"""

from __future__ import annotations

import ctypes
import os
import threading
import weakref
from ctypes import (
    POINTER,
    Structure,
    Union,
    c_bool,
    c_char,
    c_char_p,
    c_double,
    c_int32,
    c_int64,
    c_size_t,
    c_uint8,
    c_uint16,
    c_uint32,
    c_uint64,
    c_void_p,
)
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

__all__ = [
    "DDKError",
    "Runtime",
    "LoadedProgram",
    "Method",
    "run",
    "library_path",
    "load_library",
    "load_program",
    "runtime_version",
    "status_name",
    "dtype_to_numpy",
    "numpy_to_dtype",
    "DTYPE_NAMES",
]

# --------------------------------------------------------------------------
# Constants mirrored from delegate_api.h / program.h
# --------------------------------------------------------------------------

DDK_MAX_RANK = 8
DDK_ABI_VERSION = (1 << 16) | 1
DDK_NO_VALUE = 0xFFFFFFFF
_ERR_CAP = 2048

# Status names, for messages produced on the Python side (the C names come
# from ddk_status_name when the library is loaded).
STATUS_CODES = {
    "OK": 0,
    "INVALID_ARGUMENT": 1,
    "INVALID_PROGRAM": 2,
    "UNSUPPORTED_OP": 3,
    "UNSUPPORTED_DTYPE": 4,
    "SHAPE_MISMATCH": 5,
    "DTYPE_MISMATCH": 6,
    "OUT_OF_RANGE": 7,
    "DIVISION_BY_ZERO": 8,
    "NOT_FOUND": 9,
    "UNSUPPORTED_FEATURE": 10,
    "OUT_OF_MEMORY": 100,
    "IO_ERROR": 101,
    "RESOURCE_EXHAUSTED": 102,
    "BACKEND_UNAVAILABLE": 150,
    "ABI_MISMATCH": 151,
    "INCOMPATIBLE_BLOB": 152,
    "BACKEND_FAILURE": 153,
    "DEVICE_LOST": 154,
    "OUT_OF_BOUNDS_WRITE": 155,
    "INPUT_MODIFIED": 156,
    "INTERNAL": 200,
    "NOT_IMPLEMENTED": 201,
}
_STATUS_BY_CODE = {v: k for k, v in STATUS_CODES.items()}

# ATen ScalarType number -> (name, numpy dtype). bfloat16 has no numpy
# dtype: it travels as its uint16 bit pattern.
DTYPE_NAMES = {
    0: "uint8",
    1: "int8",
    2: "int16",
    3: "int32",
    4: "int64",
    5: "float16",
    6: "float32",
    7: "float64",
    9: "complex64",
    10: "complex128",
    11: "bool",
    15: "bfloat16",
}
_NUMPY_OF_DTYPE = {
    0: np.dtype(np.uint8),
    1: np.dtype(np.int8),
    2: np.dtype(np.int16),
    3: np.dtype(np.int32),
    4: np.dtype(np.int64),
    5: np.dtype(np.float16),
    6: np.dtype(np.float32),
    7: np.dtype(np.float64),
    9: np.dtype(np.complex64),
    10: np.dtype(np.complex128),
    11: np.dtype(np.bool_),
    15: np.dtype(np.uint16),  # bfloat16 bit patterns
}
_DTYPE_OF_NUMPY = {v: k for k, v in _NUMPY_OF_DTYPE.items() if k != 15}

DDK_INSTR_KERNEL = 0
DDK_INSTR_DELEGATE = 1

_OPTION_BOOL, _OPTION_INT, _OPTION_FLOAT, _OPTION_STRING, _OPTION_BYTES = range(5)


def dtype_to_numpy(dtype: int) -> np.dtype:
    """numpy dtype used for ATen ScalarType `dtype` (bfloat16 -> uint16)."""
    try:
        return _NUMPY_OF_DTYPE[int(dtype)]
    except KeyError:
        raise DDKError(STATUS_CODES["UNSUPPORTED_DTYPE"],
                       f"dtype {dtype} has no numpy equivalent") from None


def _same_dtype(a: np.dtype, b: np.dtype) -> bool:
    """Equal element types, ignoring byte order."""
    return a.kind == b.kind and a.itemsize == b.itemsize


def numpy_to_dtype(dtype: Any) -> int:
    """ATen ScalarType number of a numpy dtype (uint16 is not mapped: pass
    bfloat16 bit patterns where the program expects bfloat16)."""
    d = np.dtype(dtype)
    for np_dtype, ddk_dtype in _DTYPE_OF_NUMPY.items():
        if _same_dtype(d, np_dtype):
            return ddk_dtype
    raise DDKError(STATUS_CODES["UNSUPPORTED_DTYPE"],
                   f"numpy dtype {d} has no DDK dtype")


def _dtype_name(dtype: int) -> str:
    return DTYPE_NAMES.get(int(dtype), f"unknown({dtype})")


# --------------------------------------------------------------------------
# ctypes mirrors of the ABI structs
# --------------------------------------------------------------------------


class _Header(Structure):
    _fields_ = [("struct_size", c_uint32), ("abi_version", c_uint32)]


class _QuantParams(Structure):
    _fields_ = [
        ("header", _Header),
        ("scheme", c_int32),
        ("axis", c_int32),
        ("num_channels", c_uint32),
        ("scales", POINTER(c_double)),
        ("zero_points", POINTER(c_int64)),
        ("quant_min", c_int64),
        ("quant_max", c_int64),
    ]


class _Tensor(Structure):
    _fields_ = [
        ("header", _Header),
        ("data", c_void_p),
        ("capacity", c_size_t),
        ("dtype", c_int32),
        ("rank", c_uint32),
        ("sizes", c_int64 * DDK_MAX_RANK),
        ("strides", c_int64 * DDK_MAX_RANK),
        ("dim_order", c_uint8 * DDK_MAX_RANK),
        ("quant", POINTER(_QuantParams)),
    ]


class _ValueDesc(Structure):
    _fields_ = [
        ("header", _Header),
        ("tensor", _Tensor),
        ("flags", c_uint32),
        ("dynamic_mask", c_uint32),
        ("name", c_char_p),
    ]


class _ArgUnion(Union):
    _fields_ = [
        ("i", c_int64),
        ("f", c_double),
        ("b", c_bool),
        ("tensor", c_uint32),
        ("tensors", POINTER(c_uint32)),
        ("ints", POINTER(c_int64)),
        ("floats", POINTER(c_double)),
        ("bools", POINTER(c_uint8)),
        ("str", c_char_p),
    ]


class _Arg(Structure):
    _fields_ = [("kind", c_uint32), ("count", c_uint32), ("u", _ArgUnion)]


class _NodeView(Structure):
    _fields_ = [
        ("header", _Header),
        ("op_id", c_uint32),
        ("op_name", c_char_p),
        ("node_index", c_uint32),
        ("num_args", c_uint32),
        ("args", POINTER(_Arg)),
        ("num_outputs", c_uint32),
        ("outputs", POINTER(c_uint32)),
        ("debug_name", c_char_p),
    ]


class _ProgramDelegate(Structure):
    _fields_ = [
        ("backend_id", c_char_p),
        ("compat", c_char_p),
        ("blob", c_void_p),
        ("blob_size", c_uint64),
        ("num_nodes", c_uint32),
        ("nodes", POINTER(c_uint32)),
        ("num_inputs", c_uint32),
        ("inputs", POINTER(c_uint32)),
        ("num_outputs", c_uint32),
        ("outputs", POINTER(c_uint32)),
    ]


class _Instruction(Structure):
    _fields_ = [("kind", c_uint32), ("index", c_uint32)]


class _Program(Structure):
    _fields_ = [
        ("format_major", c_uint16),
        ("format_minor", c_uint16),
        ("num_values", c_uint32),
        ("values", POINTER(_ValueDesc)),
        ("num_nodes", c_uint32),
        ("nodes", POINTER(_NodeView)),
        ("num_inputs", c_uint32),
        ("inputs", POINTER(c_uint32)),
        ("num_outputs", c_uint32),
        ("outputs", POINTER(c_uint32)),
        ("num_delegates", c_uint32),
        ("delegates", POINTER(_ProgramDelegate)),
        ("num_instructions", c_uint32),
        ("instructions", POINTER(_Instruction)),
        ("internal_", c_void_p),
    ]


class _OptionBytes(Structure):
    _fields_ = [("data", c_void_p), ("size", c_size_t)]


class _OptionValue(Union):
    _fields_ = [
        ("b", c_bool),
        ("i", c_int64),
        ("f", c_double),
        ("s", c_char_p),
        ("bytes", _OptionBytes),
    ]


class _Option(Structure):
    _fields_ = [("key", c_char_p), ("type", c_uint32), ("value", _OptionValue)]


class _Options(Structure):
    _fields_ = [("header", _Header), ("count", c_uint32), ("items", POINTER(_Option))]


_AllocFn = ctypes.CFUNCTYPE(c_void_p, c_void_p, c_size_t, c_size_t)
_FreeFn = ctypes.CFUNCTYPE(None, c_void_p, c_void_p, c_size_t)


class _Allocator(Structure):
    _fields_ = [("self", c_void_p), ("alloc", _AllocFn), ("free", _FreeFn)]


class _BackendInfo(Structure):
    _fields_ = [
        ("header", _Header),
        ("available", c_bool),
        ("capabilities", c_uint64),
        ("device_name", c_char * 128),
        ("detail", c_char * 256),
    ]


class _BackendEntryInfo(Structure):
    _fields_ = [
        ("backend", c_void_p),
        ("name", c_char_p),
        ("version", c_char_p),
        ("path", c_char_p),
        ("abi_version", c_uint32),
        ("info", _BackendInfo),
    ]


class _MethodEvent(Structure):
    _fields_ = [
        ("instruction", c_uint32),
        ("node_index", c_uint32),
        ("backend", c_char_p),
        ("name", c_char_p),
        ("start_ns", c_uint64),
        ("end_ns", c_uint64),
        ("bytes", c_uint64),
    ]


class _MethodBackendEvent(Structure):
    _fields_ = [
        ("delegate", c_uint32),
        ("backend", c_char_p),
        ("kind", c_uint32),
        ("node_index", c_uint32),
        ("name", c_char * 64),
        ("detail", c_char * 192),
        ("start_ns", c_uint64),
        ("end_ns", c_uint64),
        ("bytes", c_uint64),
        ("flops", c_uint64),
        ("cycles", c_uint64),
    ]


_PROFILE_KINDS = ("op", "copy", "compile", "other")


def _header(struct_type) -> _Header:
    return _Header(ctypes.sizeof(struct_type), DDK_ABI_VERSION)


# --------------------------------------------------------------------------
# Library loading
# --------------------------------------------------------------------------

_REPO_ROOT = Path(__file__).resolve().parents[2]
_lib_lock = threading.Lock()
_lib: ctypes.CDLL | None = None

_ERR = POINTER(c_char)
_P = c_void_p  # opaque handles: ddk_runtime*, ddk_method*

# name -> (restype, argtypes). Every function this module calls is here.
_SIGNATURES = {
    "ddk_runtime_version": (c_char_p, []),
    "ddk_status_name": (c_char_p, [c_int32]),
    "ddk_status_string": (c_char_p, [c_int32]),
    "ddk_runtime_create": (c_int32, [POINTER(_Allocator), POINTER(_P), _ERR, c_size_t]),
    "ddk_runtime_destroy": (None, [_P]),
    "ddk_runtime_add_backend": (c_int32, [_P, c_char_p, POINTER(c_void_p), _ERR, c_size_t]),
    "ddk_runtime_backend_count": (c_uint32, [_P]),
    "ddk_runtime_backend_get": (c_bool, [_P, c_uint32, POINTER(_BackendEntryInfo)]),
    "ddk_runtime_lower": (
        c_int32,
        [_P, POINTER(_Program), POINTER(c_char_p), c_uint32, POINTER(_Options),
         POINTER(POINTER(_Program)), _ERR, c_size_t],
    ),
    "ddk_program_check_runnable": (c_int32, [_P, POINTER(_Program), _ERR, c_size_t]),
    "ddk_method_create": (
        c_int32,
        [_P, POINTER(_Program), POINTER(_Options), POINTER(_P), _ERR, c_size_t],
    ),
    "ddk_method_destroy": (None, [_P]),
    "ddk_method_num_inputs": (c_uint32, [_P]),
    "ddk_method_num_outputs": (c_uint32, [_P]),
    "ddk_method_input_spec": (POINTER(_Tensor), [_P, c_uint32]),
    "ddk_method_set_input": (
        c_int32,
        [_P, c_uint32, c_int32, c_uint32, POINTER(c_int64), c_void_p, c_size_t,
         _ERR, c_size_t],
    ),
    "ddk_method_execute": (c_int32, [_P, _ERR, c_size_t]),
    "ddk_method_output": (POINTER(_Tensor), [_P, c_uint32]),
    "ddk_method_arena_size": (c_size_t, [_P]),
    "ddk_method_unplanned_size": (c_size_t, [_P]),
    "ddk_method_events": (c_uint32, [_P, POINTER(POINTER(_MethodEvent))]),
    "ddk_method_backend_events": (
        c_uint32, [_P, POINTER(POINTER(_MethodBackendEvent)), POINTER(c_uint32)]),
    "ddk_method_num_fallbacks": (c_uint32, [_P]),
    "ddk_method_delegate_fell_back": (c_bool, [_P, c_uint32]),
    "ddk_program_load_file": (
        c_int32,
        [c_char_p, POINTER(_Allocator), POINTER(POINTER(_Program)), _ERR, c_size_t],
    ),
    "ddk_program_load_buffer": (
        c_int32,
        [c_void_p, c_size_t, c_bool, POINTER(_Allocator),
         POINTER(POINTER(_Program)), _ERR, c_size_t],
    ),
    "ddk_program_destroy": (None, [POINTER(_Program)]),
    "ddk_program_serialize": (
        c_int32,
        [POINTER(_Program), POINTER(_Allocator), POINTER(c_void_p),
         POINTER(c_size_t), _ERR, c_size_t],
    ),
    "ddk_program_write_file": (
        c_int32,
        [POINTER(_Program), c_char_p, POINTER(_Allocator), _ERR, c_size_t],
    ),
    "ddk_allocator_system": (POINTER(_Allocator), []),
}


def library_path() -> Path:
    """Where libddk.so is looked for: $DDK_LIBRARY, else <repo>/build/libddk.so."""
    env = os.environ.get("DDK_LIBRARY")
    if env:
        return Path(env)
    build = os.environ.get("DDK_BUILD_DIR")
    if build:
        return Path(build) / "libddk.so"
    return _REPO_ROOT / "build" / "libddk.so"


def load_library() -> ctypes.CDLL:
    """Loads libddk.so once and declares every function's signature.

    Raises DDKError(IO_ERROR) with the path tried when it cannot be loaded.
    """
    global _lib
    if _lib is not None:
        return _lib
    with _lib_lock:
        if _lib is not None:
            return _lib
        path = library_path()
        try:
            lib = ctypes.CDLL(str(path))
        except OSError as e:
            raise DDKError(
                STATUS_CODES["IO_ERROR"],
                f"cannot load the DDK runtime library {path}: {e} "
                "(build it with cmake, or set DDK_LIBRARY)",
            ) from None
        missing = []
        for name, (restype, argtypes) in _SIGNATURES.items():
            try:
                fn = getattr(lib, name)
            except AttributeError:
                missing.append(name)
                continue
            fn.restype = restype
            fn.argtypes = argtypes
        if missing:
            raise DDKError(
                STATUS_CODES["NOT_FOUND"],
                f"{path} lacks the symbols {', '.join(missing)}",
            )
        _lib = lib
        return lib


def runtime_version() -> str:
    """Version string of the loaded runtime ("0.1.0")."""
    return load_library().ddk_runtime_version().decode()


def status_name(status: int) -> str:
    """Name of a status code ("INVALID_PROGRAM")."""
    if _lib is not None:
        return _lib.ddk_status_name(status).decode()
    return _STATUS_BY_CODE.get(int(status), f"STATUS_{status}")


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------


class DDKError(Exception):
    """A DDK status other than OK, with the runtime's message.

    Attributes: ``status`` (int code), ``name`` ("SHAPE_MISMATCH"),
    ``message`` (the text the runtime wrote, or the binding's own).
    """

    def __init__(self, status: int, message: str, name: str | None = None):
        self.status = int(status)
        self.name = name or status_name(status)
        self.message = message
        super().__init__(f"{self.name}: {message}" if message else self.name)


def _err_buf():
    return ctypes.create_string_buffer(_ERR_CAP)


def _check(status: int, err, what: str) -> None:
    if status != 0:
        msg = err.value.decode("utf-8", "replace") if err is not None else ""
        if not msg:
            msg = f"{what} failed"
        raise DDKError(status, msg)


def _fail(name: str, message: str) -> DDKError:
    return DDKError(STATUS_CODES[name], message, name)


# --------------------------------------------------------------------------
# Options
# --------------------------------------------------------------------------


class _OptionsHolder:
    """A ddk_options built from a dict; keeps the Python buffers alive."""

    def __init__(self, options: Mapping[str, Any] | None):
        self._keep: list[Any] = []
        items = list((options or {}).items())
        self.array = (_Option * max(1, len(items)))()
        for i, (key, value) in enumerate(items):
            if not isinstance(key, str):
                raise TypeError(f"option key {key!r} is not a str")
            k = key.encode()
            self._keep.append(k)
            opt = self.array[i]
            opt.key = k
            if isinstance(value, (bool, np.bool_)):
                opt.type = _OPTION_BOOL
                opt.value.b = bool(value)
            elif isinstance(value, (int, np.integer)):
                opt.type = _OPTION_INT
                opt.value.i = int(value)
            elif isinstance(value, (float, np.floating)):
                opt.type = _OPTION_FLOAT
                opt.value.f = float(value)
            elif isinstance(value, str):
                s = value.encode()
                self._keep.append(s)
                opt.type = _OPTION_STRING
                opt.value.s = s
            elif isinstance(value, (bytes, bytearray, memoryview)):
                buf = ctypes.create_string_buffer(bytes(value), max(1, len(value)))
                self._keep.append(buf)
                opt.type = _OPTION_BYTES
                opt.value.bytes.data = ctypes.cast(buf, c_void_p)
                opt.value.bytes.size = len(value)
            else:
                raise TypeError(
                    f"option {key!r}: unsupported value type {type(value).__name__} "
                    "(bool, int, float, str or bytes)"
                )
        self.struct = _Options(_header(_Options), len(items), self.array)

    @property
    def ptr(self):
        return ctypes.byref(self.struct)


def _options_arg(options: Mapping[str, Any] | None):
    """(holder, pointer) for an optional options dict (NULL when None)."""
    if options is None:
        return None, None
    holder = _OptionsHolder(options)
    return holder, holder.ptr


# --------------------------------------------------------------------------
# Programs
# --------------------------------------------------------------------------


class _OwnedHandle:
    """A C object Python owns: close() first closes the methods that use it,
    then calls the C destroy function named by `_destroy`. Idempotent; also
    runs from __del__ and at the end of a `with` block."""

    _destroy = ""

    def close(self) -> None:
        ptr = getattr(self, "_ptr", None)
        if not ptr:
            return
        for m in list(getattr(self, "_methods", ())):
            m.close()
        self._ptr = None
        getattr(self._lib, self._destroy)(ptr)

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class LoadedProgram(_OwnedHandle):
    """A verified program owned by the runtime (ddk_program*).

    Create with :meth:`from_bytes` / :meth:`from_file` (or
    :func:`load_program`), or get one from :meth:`Runtime.lower`. The
    structure's counts and tables are exposed read-only.
    """

    _destroy = "ddk_program_destroy"

    def __init__(self, _ptr, _lib_ref: ctypes.CDLL, _owner: Any = None):
        # Use the classmethods; this takes ownership of a ddk_program*.
        self._lib = _lib_ref
        self._ptr = _ptr
        self._owner = _owner  # keeps e.g. a source buffer alive
        self._methods: "weakref.WeakSet[Method]" = weakref.WeakSet()

    # -- construction ---------------------------------------------------
    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> "LoadedProgram":
        """Loads and verifies a program from bytes (copied by the runtime)."""
        lib = load_library()
        data = bytes(data)
        buf = ctypes.create_string_buffer(data, max(1, len(data)))
        out = POINTER(_Program)()
        err = _err_buf()
        st = lib.ddk_program_load_buffer(
            ctypes.cast(buf, c_void_p), len(data), True, None, ctypes.byref(out),
            err, _ERR_CAP,
        )
        _check(st, err, "ddk_program_load_buffer")
        return cls(out, lib)

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> "LoadedProgram":
        """Loads and verifies a program file (memory-mapped by the runtime)."""
        lib = load_library()
        out = POINTER(_Program)()
        err = _err_buf()
        st = lib.ddk_program_load_file(
            os.fsencode(path), None, ctypes.byref(out), err, _ERR_CAP
        )
        _check(st, err, "ddk_program_load_file")
        return cls(out, lib)


    @property
    def closed(self) -> bool:
        return not self._ptr

    def _p(self) -> _Program:
        if not self._ptr:
            raise _fail("INVALID_ARGUMENT", "program is closed")
        return self._ptr.contents

    # -- serialisation ---------------------------------------------------
    def save(self, path: str | os.PathLike) -> None:
        """Writes the program to `path` (ddk_program_write_file)."""
        err = _err_buf()
        st = self._lib.ddk_program_write_file(self._ptr_checked(), os.fsencode(path),
                                              None, err, _ERR_CAP)
        _check(st, err, "ddk_program_write_file")

    def to_bytes(self) -> bytes:
        """Serialises the program (ddk_program_serialize)."""
        alloc = self._lib.ddk_allocator_system()
        data = c_void_p()
        size = c_size_t()
        err = _err_buf()
        st = self._lib.ddk_program_serialize(self._ptr_checked(), alloc,
                                             ctypes.byref(data), ctypes.byref(size),
                                             err, _ERR_CAP)
        _check(st, err, "ddk_program_serialize")
        try:
            return ctypes.string_at(data, size.value)
        finally:
            a = alloc.contents
            a.free(a.self, data, size.value)

    def _ptr_checked(self):
        if not self._ptr:
            raise _fail("INVALID_ARGUMENT", "program is closed")
        return self._ptr

    # -- structure -------------------------------------------------------
    @property
    def format_version(self) -> tuple[int, int]:
        p = self._p()
        return (p.format_major, p.format_minor)

    @property
    def num_values(self) -> int:
        return self._p().num_values

    @property
    def num_nodes(self) -> int:
        return self._p().num_nodes

    @property
    def num_inputs(self) -> int:
        return self._p().num_inputs

    @property
    def num_outputs(self) -> int:
        return self._p().num_outputs

    @property
    def num_delegates(self) -> int:
        return self._p().num_delegates

    @property
    def num_instructions(self) -> int:
        return self._p().num_instructions

    def _value(self, index: int) -> dict:
        p = self._p()
        v = p.values[index]
        t = v.tensor
        return {
            "index": index,
            "name": (v.name or b"").decode(),
            "dtype": t.dtype,
            "dtype_name": _dtype_name(t.dtype),
            "shape": tuple(t.sizes[i] for i in range(min(t.rank, DDK_MAX_RANK))),
            "flags": v.flags,
            "dynamic_mask": v.dynamic_mask,
        }

    @property
    def values(self) -> list[dict]:
        """One dict per value: index, name, dtype, dtype_name, shape, flags."""
        return [self._value(i) for i in range(self._p().num_values)]

    @property
    def inputs(self) -> list[dict]:
        """Value dicts of the program inputs, in order."""
        p = self._p()
        return [self._value(p.inputs[i]) for i in range(p.num_inputs)]

    @property
    def outputs(self) -> list[dict]:
        """Value dicts of the program outputs, in order."""
        p = self._p()
        return [self._value(p.outputs[i]) for i in range(p.num_outputs)]

    @property
    def nodes(self) -> list[dict]:
        """One dict per node: index, op_id, op_name, num_args, args, outputs,
        debug_name.

        args follow the op's schema, one dict per parameter: {"kind": K,
        "value": V} with K one of "none" (V None), "tensor" (V a value
        index), "tensors" (a list of value indices, None for an absent
        element), "int", "ints", "float", "floats", "bool", "bools",
        "string", "dtype" (V a ScalarType number).
        """
        p = self._p()
        kinds = ("none", "tensor", "tensors", "int", "ints", "float", "floats",
                 "bool", "bools", "string", "dtype")

        def arg(a) -> dict:
            kind = kinds[a.kind] if a.kind < len(kinds) else f"kind{a.kind}"
            u, n = a.u, a.count
            if kind == "tensor":
                value = u.tensor
            elif kind == "tensors":
                value = [None if u.tensors[j] == DDK_NO_VALUE else u.tensors[j]
                         for j in range(n)]
            elif kind in ("int", "dtype"):
                value = u.i
            elif kind == "ints":
                value = [u.ints[j] for j in range(n)]
            elif kind == "float":
                value = u.f
            elif kind == "floats":
                value = [u.floats[j] for j in range(n)]
            elif kind == "bool":
                value = bool(u.b)
            elif kind == "bools":
                value = [bool(u.bools[j]) for j in range(n)]
            elif kind == "string":
                value = (u.str or b"").decode()
            else:
                value = None
            return {"kind": kind, "value": value}

        out = []
        for i in range(p.num_nodes):
            n = p.nodes[i]
            out.append({
                "index": i,
                "op_id": n.op_id,
                "op_name": (n.op_name or b"").decode(),
                "num_args": n.num_args,
                "args": [arg(n.args[j]) for j in range(n.num_args)],
                "outputs": [n.outputs[j] for j in range(n.num_outputs)],
                "debug_name": (n.debug_name or b"").decode(),
            })
        return out

    @property
    def delegates(self) -> list[dict]:
        """One dict per delegate: backend, compat, blob_size, nodes, inputs, outputs."""
        p = self._p()
        out = []
        for i in range(p.num_delegates):
            d = p.delegates[i]
            out.append({
                "index": i,
                "backend": (d.backend_id or b"").decode(),
                "compat": (d.compat or b"").decode(),
                "blob_size": int(d.blob_size),
                "nodes": [d.nodes[j] for j in range(d.num_nodes)],
                "inputs": [d.inputs[j] for j in range(d.num_inputs)],
                "outputs": [d.outputs[j] for j in range(d.num_outputs)],
            })
        return out

    @property
    def instructions(self) -> list[tuple[str, int]]:
        """The plan: ("kernel", node_index) or ("delegate", delegate_index)."""
        p = self._p()
        out = []
        for i in range(p.num_instructions):
            ins = p.instructions[i]
            kind = {DDK_INSTR_KERNEL: "kernel", DDK_INSTR_DELEGATE: "delegate"}.get(
                ins.kind, f"kind{ins.kind}")
            out.append((kind, ins.index))
        return out

    @property
    def num_kernel_instructions(self) -> int:
        return sum(1 for k, _ in self.instructions if k == "kernel")

    def __repr__(self) -> str:
        if not self._ptr:
            return "<LoadedProgram closed>"
        return (f"<LoadedProgram values={self.num_values} nodes={self.num_nodes} "
                f"delegates={self.num_delegates} "
                f"instructions={self.num_instructions}>")


def load_program(program: "LoadedProgram | bytes | bytearray | str | os.PathLike | Any"
                 ) -> LoadedProgram:
    """A LoadedProgram from bytes, a path, or an object with ``to_bytes()``
    (a ``ddk.program.Program``). A LoadedProgram is returned as is."""
    if isinstance(program, LoadedProgram):
        return program
    if isinstance(program, (bytes, bytearray, memoryview)):
        return LoadedProgram.from_bytes(program)
    if isinstance(program, (str, os.PathLike)):
        return LoadedProgram.from_file(program)
    to_bytes = getattr(program, "to_bytes", None)
    if callable(to_bytes) and not isinstance(program, int):  # int.to_bytes
        return LoadedProgram.from_bytes(to_bytes())
    raise TypeError(f"cannot load a program from {type(program).__name__}")


# --------------------------------------------------------------------------
# Runtime
# --------------------------------------------------------------------------


class Runtime(_OwnedHandle):
    """A ddk_runtime: the registry of backends and the services lent to them.

    Use as a context manager, or call :meth:`close`. Methods created from
    it are closed first when it closes (the C API requires it).
    """

    _destroy = "ddk_runtime_destroy"

    def __init__(self):
        self._lib = load_library()
        self._ptr = None
        self._methods: "weakref.WeakSet[Method]" = weakref.WeakSet()
        out = _P()
        err = _err_buf()
        st = self._lib.ddk_runtime_create(None, ctypes.byref(out), err, _ERR_CAP)
        _check(st, err, "ddk_runtime_create")
        self._ptr = out


    def _handle(self):
        if not self._ptr:
            raise _fail("INVALID_ARGUMENT", "runtime is closed")
        return self._ptr

    # -- backends --------------------------------------------------------
    def add_backend(self, name_or_path: str | os.PathLike) -> str:
        """Registers a backend by plugin path or name; returns its name.

        Raises DDKError (e.g. NOT_FOUND, ABI_MISMATCH, INVALID_ARGUMENT
        for a name already registered).
        """
        err = _err_buf()
        out = c_void_p()
        before = self.backend_count()
        st = self._lib.ddk_runtime_add_backend(
            self._handle(), os.fsencode(name_or_path), ctypes.byref(out), err, _ERR_CAP
        )
        _check(st, err, f"adding backend {name_or_path}")
        for entry in self.backends()[before:]:
            if entry["handle"] == out.value:
                return entry["name"]
        for entry in self.backends():
            if entry["handle"] == out.value:
                return entry["name"]
        return str(name_or_path)

    def backend_count(self) -> int:
        return int(self._lib.ddk_runtime_backend_count(self._handle()))

    def backends(self) -> list[dict]:
        """Registered backends: name, version, path, abi_version, available,
        capabilities, device_name, detail."""
        out = []
        h = self._handle()
        for i in range(self._lib.ddk_runtime_backend_count(h)):
            e = _BackendEntryInfo()
            e.info.header = _header(_BackendInfo)
            if not self._lib.ddk_runtime_backend_get(h, i, ctypes.byref(e)):
                break
            out.append({
                "name": (e.name or b"").decode(),
                "version": (e.version or b"").decode(),
                "path": (e.path or b"").decode(),
                "abi_version": e.abi_version,
                "available": bool(e.info.available),
                "capabilities": int(e.info.capabilities),
                "device_name": e.info.device_name.decode("utf-8", "replace"),
                "detail": e.info.detail.decode("utf-8", "replace"),
                "handle": e.backend,
            })
        return out

    # -- lowering --------------------------------------------------------
    def lower(self, program, backends: Sequence[str] | str,
              options: Mapping[str, Any] | None = None) -> LoadedProgram:
        """Lowers `program` (LoadedProgram, bytes, path, or Program) for the
        registered backends named in `backends` (priority order). Returns a
        new LoadedProgram; the input is not modified."""
        if isinstance(backends, (str, bytes, os.PathLike)):
            backends = [backends]
        src = load_program(program)
        names = [os.fsencode(b) for b in backends]
        arr = (c_char_p * max(1, len(names)))(*names)
        holder, optp = _options_arg(options)
        out = POINTER(_Program)()
        err = _err_buf()
        st = self._lib.ddk_runtime_lower(self._handle(), src._ptr_checked(), arr,
                                         len(names), optp, ctypes.byref(out), err,
                                         _ERR_CAP)
        del holder
        _check(st, err, "ddk_runtime_lower")
        return LoadedProgram(out, self._lib)

    def check_runnable(self, program: LoadedProgram) -> None:
        """Raises DDKError(UNSUPPORTED_OP) when a node of `program` cannot run."""
        err = _err_buf()
        st = self._lib.ddk_program_check_runnable(self._handle(),
                                                  program._ptr_checked(), err,
                                                  _ERR_CAP)
        _check(st, err, "ddk_program_check_runnable")

    # -- methods ---------------------------------------------------------
    def method(self, program, options: Mapping[str, Any] | None = None) -> "Method":
        """Plans memory and inits delegates for `program`: a Method."""
        prog = load_program(program)
        return Method(self, prog, options)


# --------------------------------------------------------------------------
# Methods
# --------------------------------------------------------------------------


class Method:
    """A program ready to execute (ddk_method*).

    Keeps its Runtime and LoadedProgram alive; closing either closes it.
    """

    def __init__(self, runtime: Runtime, program: LoadedProgram,
                 options: Mapping[str, Any] | None = None):
        self._lib = runtime._lib
        self._ptr = None
        self.runtime = runtime
        self.program = program
        holder, optp = _options_arg(options)
        out = _P()
        err = _err_buf()
        st = self._lib.ddk_method_create(runtime._handle(), program._ptr_checked(),
                                         optp, ctypes.byref(out), err, _ERR_CAP)
        del holder
        _check(st, err, "ddk_method_create")
        self._ptr = out
        runtime._methods.add(self)
        program._methods.add(self)

    def close(self) -> None:
        """Destroys the method. Idempotent."""
        ptr = getattr(self, "_ptr", None)
        if not ptr:
            return
        self._ptr = None
        # The cyclic garbage collector clears weak references before it
        # finalizes, so a Runtime collected in the same cycle as this method
        # may already be destroyed (its plugins unloaded) without having
        # closed us: destroying now would call into unloaded code, so the
        # method's memory is left (only when both are garbage at once).
        runtime = getattr(self, "runtime", None)
        if runtime is not None and not runtime._ptr:
            return
        self._lib.ddk_method_destroy(ptr)

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __enter__(self) -> "Method":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _handle(self):
        if not self._ptr:
            raise _fail("INVALID_ARGUMENT", "method is closed")
        return self._ptr

    @property
    def num_inputs(self) -> int:
        return int(self._lib.ddk_method_num_inputs(self._handle()))

    @property
    def num_outputs(self) -> int:
        return int(self._lib.ddk_method_num_outputs(self._handle()))

    @property
    def arena_size(self) -> int:
        return int(self._lib.ddk_method_arena_size(self._handle()))

    @property
    def unplanned_size(self) -> int:
        return int(self._lib.ddk_method_unplanned_size(self._handle()))

    def input_spec(self, index: int) -> tuple[int, tuple[int, ...], int]:
        """(dtype, declared shape, dynamic_mask) of input `index`."""
        if not 0 <= index < self.num_inputs:
            raise _fail("OUT_OF_RANGE",
                        f"input {index} out of range (the method has "
                        f"{self.num_inputs} inputs)")
        t = self._lib.ddk_method_input_spec(self._handle(), index)
        if not t:
            raise _fail("OUT_OF_RANGE", f"no spec for input {index}")
        t = t.contents
        shape = tuple(t.sizes[i] for i in range(min(t.rank, DDK_MAX_RANK)))
        mask = 0
        try:
            mask = self.program.inputs[index]["dynamic_mask"]
        except Exception:
            pass
        return int(t.dtype), shape, int(mask)

    def _check_input(self, index: int, arr: np.ndarray) -> int:
        """Validates `arr` against input `index`; returns the DDK dtype."""
        want, shape, mask = self.input_spec(index)
        want_np = dtype_to_numpy(want)
        if not _same_dtype(arr.dtype, want_np):
            raise _fail(
                "DTYPE_MISMATCH",
                f"input {index}: expected dtype {_dtype_name(want)} "
                f"(numpy {want_np}), got numpy {arr.dtype}",
            )
        if arr.ndim != len(shape):
            raise _fail(
                "SHAPE_MISMATCH",
                f"input {index}: expected rank {len(shape)} shape {list(shape)}, "
                f"got rank {arr.ndim} shape {list(arr.shape)}",
            )
        for d, (got, decl) in enumerate(zip(arr.shape, shape)):
            dynamic = bool(mask >> d & 1)
            if (dynamic and got > decl) or (not dynamic and got != decl):
                raise _fail(
                    "SHAPE_MISMATCH",
                    f"input {index}: dim {d} is {got}, expected "
                    f"{'at most ' if dynamic else ''}{decl} "
                    f"(declared shape {list(shape)}, got {list(arr.shape)})",
                )
        return want

    def set_input(self, index: int, array: Any, check: bool = True) -> None:
        """Copies `array` into input `index`.

        With check=True (default) dtype and shape are validated here first
        and a mismatch raises DDKError(DTYPE_MISMATCH / SHAPE_MISMATCH);
        with check=False the array is passed as is and the runtime's own
        validation answers.
        """
        arr = np.asarray(array)
        if check:
            dtype = self._check_input(index, arr)
        else:
            if arr.dtype == np.uint16:
                dtype = 15
            else:
                dtype = numpy_to_dtype(arr.dtype)
        if arr.ndim > DDK_MAX_RANK:
            raise _fail("INVALID_ARGUMENT",
                        f"input {index}: rank {arr.ndim} exceeds {DDK_MAX_RANK}")
        arr = np.ascontiguousarray(arr)
        if arr.dtype.byteorder == ">":
            arr = arr.astype(arr.dtype.newbyteorder("<"))
        sizes = (c_int64 * max(1, arr.ndim))(*arr.shape)
        err = _err_buf()
        st = self._lib.ddk_method_set_input(
            self._handle(), index, dtype, arr.ndim, sizes,
            arr.ctypes.data_as(c_void_p), arr.nbytes, err, _ERR_CAP,
        )
        _check(st, err, f"setting input {index}")

    def set_inputs(self, arrays: Sequence[Any], check: bool = True) -> None:
        """Sets every input, in order. The count must match."""
        arrays = list(arrays)
        n = self.num_inputs
        if len(arrays) != n:
            raise _fail("INVALID_ARGUMENT",
                        f"expected {n} inputs, got {len(arrays)}")
        for i, a in enumerate(arrays):
            self.set_input(i, a, check=check)

    def execute(self) -> None:
        """Runs the plan once."""
        err = _err_buf()
        st = self._lib.ddk_method_execute(self._handle(), err, _ERR_CAP)
        _check(st, err, "ddk_method_execute")

    def output(self, index: int) -> np.ndarray:
        """A numpy copy of output `index` (after execute)."""
        t = self._lib.ddk_method_output(self._handle(), index)
        if not t:
            if 0 <= index < self.num_outputs:
                raise _fail("INVALID_ARGUMENT",
                            f"output {index}: no result, the last execute failed "
                            "or none has run")
            raise _fail("OUT_OF_RANGE",
                        f"output {index} out of range (the method has "
                        f"{self.num_outputs} outputs)")
        t = t.contents
        if t.rank > DDK_MAX_RANK:
            raise _fail("INTERNAL", f"output {index}: rank {t.rank}")
        npd = dtype_to_numpy(t.dtype)
        shape = tuple(int(t.sizes[i]) for i in range(t.rank))
        numel = int(np.prod(shape, dtype=np.int64)) if shape else 1
        nbytes = numel * npd.itemsize
        if nbytes > t.capacity:
            raise _fail("INTERNAL",
                        f"output {index}: {nbytes} bytes exceed capacity {t.capacity}")
        if nbytes == 0:
            return np.zeros(shape, dtype=npd)
        if not t.data:
            raise _fail("INTERNAL", f"output {index} has no data")
        raw = ctypes.string_at(t.data, nbytes)
        return np.frombuffer(raw, dtype=npd).reshape(shape).copy()

    def outputs(self) -> list[np.ndarray]:
        """Numpy copies of every output, in order."""
        return [self.output(i) for i in range(self.num_outputs)]

    def events(self) -> list[dict]:
        """Instruction timings of the last execute (created with profile=True):
        instruction, node_index, backend, name, start_ns, end_ns, bytes (the
        tensors it read and wrote)."""
        ev = POINTER(_MethodEvent)()
        n = self._lib.ddk_method_events(self._handle(), ctypes.byref(ev))
        out = []
        for i in range(n):
            e = ev[i]
            out.append({
                "instruction": e.instruction,
                "node_index": e.node_index,
                "backend": (e.backend or b"").decode(),
                "name": (e.name or b"").decode(),
                "start_ns": int(e.start_ns),
                "end_ns": int(e.end_ns),
                "bytes": int(e.bytes),
            })
        return out

    def backend_events(self) -> list[dict]:
        """Events the delegates emitted during the last execute (created
        with profile=True): delegate, backend, kind ("op", "copy", ...),
        node_index (None when not one node's), name, detail (a dict of its
        "key=value;..." pairs), start_ns, end_ns, bytes, flops, cycles.
        Raises DDKError(RESOURCE_EXHAUSTED) if the runtime dropped some."""
        ev = POINTER(_MethodBackendEvent)()
        dropped = c_uint32(0)
        n = self._lib.ddk_method_backend_events(self._handle(), ctypes.byref(ev),
                                                ctypes.byref(dropped))
        if dropped.value:
            raise _fail("RESOURCE_EXHAUSTED",
                        f"{dropped.value} backend events were dropped (capacity {n})")
        out = []
        for i in range(n):
            e = ev[i]
            detail = {}
            for item in e.detail.decode("utf-8", "replace").split(";"):
                if "=" in item:
                    k, v = item.split("=", 1)
                    detail[k.strip()] = v.strip()
            out.append({
                "delegate": int(e.delegate),
                "backend": (e.backend or b"").decode(),
                "kind": _PROFILE_KINDS[e.kind] if e.kind < len(_PROFILE_KINDS) else str(e.kind),
                "node_index": None if e.node_index == 0xFFFFFFFF else int(e.node_index),
                "name": e.name.decode("utf-8", "replace"),
                "detail": detail,
                "start_ns": int(e.start_ns),
                "end_ns": int(e.end_ns),
                "bytes": int(e.bytes),
                "flops": int(e.flops),
                "cycles": int(e.cycles),
            })
        return out

    @property
    def num_fallbacks(self) -> int:
        """Delegates whose init failed and that run on the portable kernels
        (method option delegate_fallback=True)."""
        return int(self._lib.ddk_method_num_fallbacks(self._handle()))

    def delegate_fell_back(self, index: int) -> bool:
        """True when delegate `index` runs on the portable kernels."""
        return bool(self._lib.ddk_method_delegate_fell_back(self._handle(), index))

    def __call__(self, *inputs: Any) -> list[np.ndarray]:
        """set_inputs + execute + outputs."""
        self.set_inputs(inputs)
        self.execute()
        return self.outputs()


# --------------------------------------------------------------------------
# Convenience
# --------------------------------------------------------------------------


def run(program, inputs: Iterable[Any], backends: Sequence[str] = (),
        options: Mapping[str, Any] | None = None) -> list[np.ndarray]:
    """Loads `program` (bytes, path, Program or LoadedProgram), lowers it for
    `backends` (names or plugin paths; none = portable kernels only), runs
    it once on `inputs` and returns the outputs as numpy arrays."""
    with Runtime() as rt:
        names = [rt.add_backend(b) for b in backends]
        prog = load_program(program)
        owned = prog is not program
        try:
            if names:
                lowered = rt.lower(prog, names, options)
            else:
                lowered = prog
            try:
                with rt.method(lowered) as m:
                    return m(*list(inputs))
            finally:
                if lowered is not prog:
                    lowered.close()
        finally:
            if owned:
                prog.close()
