"""Behaviour of the ctypes binding: Runtime, LoadedProgram, Method, run()."""

from __future__ import annotations

import gc
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import LIBDDK, PYTHON_DIR, build_model, read_outputs, run_cli, write_inputs

import ddk
from ddk import runtime as R


@pytest.fixture(scope="module")
def mlp():
    pytest.importorskip("torch")
    return build_model("mlp")


@pytest.fixture
def method(libddk, mlp):
    program, _module, _inputs = mlp
    rt = ddk.Runtime()
    prog = ddk.load_program(program)
    m = rt.method(prog)
    yield m
    m.close()
    prog.close()
    rt.close()


# -- import hygiene ---------------------------------------------------------


def test_import_is_light():
    """`import ddk` imports neither torch nor loads libddk.so."""
    code = ("import sys, ddk\n"
            "assert 'torch' not in sys.modules, 'torch imported'\n"
            "from ddk import runtime\n"
            "assert runtime._lib is None, 'library loaded at import'\n"
            "print(ddk.__version__)\n")
    env = dict(os.environ, PYTHONPATH=str(PYTHON_DIR), DDK_LIBRARY="/nonexistent/libddk.so")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ddk.__version__


def test_missing_library_raises_ddkerror(tmp_path):
    code = ("import ddk\n"
            "try:\n"
            "    ddk.Runtime()\n"
            "except ddk.DDKError as e:\n"
            "    print(e.name, e.message)\n")
    env = dict(os.environ, PYTHONPATH=str(PYTHON_DIR),
               DDK_LIBRARY=str(tmp_path / "nope.so"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "IO_ERROR" in out.stdout and "nope.so" in out.stdout


def test_exports():
    for name in ("Runtime", "LoadedProgram", "Method", "DDKError", "load_program", "run",
                 "Program", "__version__"):
        assert hasattr(ddk, name), name


# -- dtype mapping ----------------------------------------------------------


def test_dtype_mapping():
    pairs = {np.uint8: 0, np.int8: 1, np.int16: 2, np.int32: 3, np.int64: 4,
             np.float16: 5, np.float32: 6, np.float64: 7, np.complex64: 9,
             np.complex128: 10, np.bool_: 11}
    for np_dtype, number in pairs.items():
        assert R.numpy_to_dtype(np_dtype) == number
        assert R.dtype_to_numpy(number) == np.dtype(np_dtype)
    assert R.numpy_to_dtype(np.dtype(">f4")) == 6
    assert R.dtype_to_numpy(15) == np.dtype(np.uint16)  # bfloat16 bits
    with pytest.raises(R.DDKError) as e:
        R.numpy_to_dtype(np.uint32)
    assert e.value.name == "UNSUPPORTED_DTYPE"
    with pytest.raises(R.DDKError):
        R.dtype_to_numpy(42)


def test_options_marshalling():
    h = R._OptionsHolder({"b": True, "i": -7, "f": 2.5, "s": "hello", "y": b"\x00\x01"})
    items = [h.array[i] for i in range(h.struct.count)]
    assert [o.key for o in items] == [b"b", b"i", b"f", b"s", b"y"]
    assert [o.type for o in items] == [0, 1, 2, 3, 4]
    assert items[0].value.b is True
    assert items[1].value.i == -7
    assert items[2].value.f == 2.5
    assert items[3].value.s == b"hello"
    assert items[4].value.bytes.size == 2
    assert h.struct.header.struct_size == __import__("ctypes").sizeof(R._Options)
    with pytest.raises(TypeError):
        R._OptionsHolder({"x": [1, 2]})
    assert R._OptionsHolder({}).struct.count == 0


def test_struct_layouts_match_the_abi():
    """Sizes/offsets the binding assumes (x86-64 / aarch64 LP64)."""
    import ctypes

    assert ctypes.sizeof(R._Tensor) == 176
    assert R._Tensor.quant.offset == 168
    assert ctypes.sizeof(R._ValueDesc) == 200
    assert ctypes.sizeof(R._Arg) == 16
    assert ctypes.sizeof(R._NodeView) == 64
    assert ctypes.sizeof(R._ProgramDelegate) == 80
    assert ctypes.sizeof(R._Program) == 104
    assert R._Program.internal_.offset == 96
    assert ctypes.sizeof(R._Option) == 32
    assert ctypes.sizeof(R._Options) == 24
    assert ctypes.sizeof(R._BackendInfo) == 408
    assert R._BackendEntryInfo.info.offset == 40
    assert ctypes.sizeof(R._MethodEvent) == 48
    assert ctypes.sizeof(R._MethodBackendEvent) == 320
    assert R._MethodBackendEvent.cycles.offset == 312


# -- runtime and backends ---------------------------------------------------


def test_runtime_version_and_status_names(libddk):
    assert R.runtime_version() == ddk.__version__
    assert R.status_name(0) == "OK"
    assert R.status_name(2) == "INVALID_PROGRAM"
    for name, code in R.STATUS_CODES.items():
        assert R.status_name(code) == name
    # and the Python table misses no code of the C table
    c_codes = {code for code in range(1024) if R.status_name(code) != "UNKNOWN_STATUS"}
    assert c_codes == set(R.STATUS_CODES.values())


def test_backends_listing(libddk, template_plugin):
    with ddk.Runtime() as rt:
        assert rt.backends() == []
        assert rt.add_backend(template_plugin) == "template"
        (entry,) = rt.backends()
        assert entry["name"] == "template"
        assert entry["path"] == str(template_plugin)
        assert entry["available"] is True
        assert entry["abi_version"] >> 16 == 1
        # Asking again by name is a lookup, not a second registration.
        assert rt.add_backend("template") == "template"
        assert len(rt.backends()) == 1


def test_same_backend_twice_raises(libddk, template_plugin):
    with ddk.Runtime() as rt:
        rt.add_backend(template_plugin)
        with pytest.raises(ddk.DDKError) as e:
            rt.add_backend(template_plugin)
        assert e.value.name == "INVALID_ARGUMENT"
        assert "template" in e.value.message and "already" in e.value.message
        assert len(rt.backends()) == 1


@pytest.mark.parametrize("backend", ["no_such_backend", "/nonexistent/libx.so", ""])
def test_unknown_backend_raises(libddk, backend):
    with ddk.Runtime() as rt:
        with pytest.raises(ddk.DDKError) as e:
            rt.add_backend(backend)
        assert e.value.message
        assert e.value.name in ("NOT_FOUND", "INVALID_ARGUMENT")


def test_non_plugin_library_raises(libddk):
    with ddk.Runtime() as rt:
        with pytest.raises(ddk.DDKError) as e:
            rt.add_backend(str(LIBDDK))
        assert e.value.name == "ABI_MISMATCH"
        assert "ddk_backend_entry" in e.value.message


def test_lower_for_unregistered_backend_raises(libddk, mlp, template_plugin):
    program = mlp[0]
    with ddk.Runtime() as rt:
        with pytest.raises(ddk.DDKError) as e:
            rt.lower(program, ["no_such_backend"])
        assert e.value.message
        rt.add_backend(template_plugin)
        with pytest.raises(ddk.DDKError):
            rt.lower(program, ["template", "no_such_backend"])


def test_lower_with_options(libddk, mlp, template_plugin):
    program, module, inputs = mlp
    with ddk.Runtime() as rt:
        rt.add_backend(template_plugin)
        low = rt.lower(program, "template",
                       options={"template.debug": False, "n": 3, "x": 0.5, "s": "v"})
        assert low.num_delegates >= 1
        with rt.method(low, options={"profile": True}) as m:
            m.set_inputs(inputs)
            m.execute()
            events = m.events()
            assert len(events) == low.num_instructions
            assert {e["backend"] for e in events} == {"portable", "template"}
            assert all(e["end_ns"] >= e["start_ns"] for e in events)
            # a delegate moves its inputs and outputs
            values = low.values
            nbytes = {v["index"]: int(np.prod(v["shape"], dtype=np.int64)) *
                      ddk.runtime.dtype_to_numpy(v["dtype"]).itemsize for v in values}
            instr = low.instructions
            for e in events:
                kind, idx = instr[e["instruction"]]
                if kind == "delegate":
                    d = low.delegates[idx]
                    assert e["bytes"] == sum(nbytes[v] for v in d["inputs"] + d["outputs"])
                else:
                    assert e["bytes"] >= sum(nbytes[v] for v in low.nodes[idx]["outputs"]) > 0
        low.close()


def test_lowering_does_not_modify_source(libddk, mlp, template_plugin):
    with ddk.Runtime() as rt:
        rt.add_backend(template_plugin)
        src = ddk.load_program(mlp[0])
        before = (src.num_nodes, src.num_delegates, src.instructions)
        low = rt.lower(src, ["template"])
        assert (src.num_nodes, src.num_delegates, src.instructions) == before
        assert low.num_nodes == src.num_nodes
        assert low.num_delegates > 0


def test_check_runnable(libddk, mlp, template_plugin):
    with ddk.Runtime() as rt:
        rt.add_backend(template_plugin)
        low = rt.lower(mlp[0], ["template"])
    with ddk.Runtime() as rt2:
        rt2.check_runnable(ddk.load_program(mlp[0]))
        with pytest.raises(ddk.DDKError):
            rt2.check_runnable(low)  # its delegates' backend is not registered
        with pytest.raises(ddk.DDKError):
            rt2.method(low)


# -- programs ---------------------------------------------------------------


def test_program_load_errors(libddk, mlp, tmp_path):
    program = mlp[0]
    with pytest.raises(ddk.DDKError) as e:
        ddk.load_program(program[: len(program) // 2])
    assert e.value.name == "INVALID_PROGRAM" and e.value.message
    with pytest.raises(ddk.DDKError) as e:
        ddk.load_program(b"")
    assert e.value.name == "INVALID_PROGRAM"
    with pytest.raises(ddk.DDKError) as e:
        ddk.load_program(tmp_path / "missing.ddk")
    assert e.value.name == "IO_ERROR"
    with pytest.raises(TypeError):
        ddk.load_program(12345)


def test_program_save_and_bytes(libddk, mlp, tmp_path):
    program = mlp[0]
    p = ddk.load_program(program)
    path = tmp_path / "copy.ddk"
    p.save(path)
    q = ddk.load_program(path)
    r = ddk.load_program(p.to_bytes())
    for other in (q, r):
        assert other.num_values == p.num_values
        assert other.num_nodes == p.num_nodes
        assert other.nodes == p.nodes
        assert other.values == p.values
    assert "LoadedProgram" in repr(p)
    p.close()
    p.close()  # idempotent
    assert p.closed and "closed" in repr(p)
    with pytest.raises(ddk.DDKError):
        _ = p.num_nodes


def test_program_from_program_object(libddk, mlp):
    """load_program accepts anything with to_bytes() (a ddk.Program)."""

    class Wrapper:
        def to_bytes(self):
            return mlp[0]

    assert ddk.load_program(Wrapper()).num_nodes == ddk.load_program(mlp[0]).num_nodes


# -- methods ----------------------------------------------------------------


def test_method_shapes_and_sizes(method, mlp):
    _program, _module, inputs = mlp
    assert method.num_inputs == len(inputs)
    assert method.num_outputs == 1
    dtype, shape, mask = method.input_spec(0)
    assert dtype == 6 and shape == inputs[0].shape and mask == 0
    assert 0 < method.arena_size <= method.unplanned_size
    with pytest.raises(ddk.DDKError):
        method.input_spec(5)


def test_wrong_dtype_raises(method, mlp):
    x = mlp[2][0]
    for bad in (x.astype(np.float64), x.astype(np.int32), x.astype(np.float16)):
        with pytest.raises(ddk.DDKError) as e:
            method.set_inputs([bad])
        assert e.value.name == "DTYPE_MISMATCH"
        assert "float32" in e.value.message and str(bad.dtype) in e.value.message
        # The runtime's own check (binding check off) agrees.
        with pytest.raises(ddk.DDKError) as e:
            method.set_input(0, bad, check=False)
        assert e.value.name == "DTYPE_MISMATCH", e.value
        assert e.value.message


def test_wrong_shape_raises(method, mlp):
    x = mlp[2][0]
    for bad in (np.zeros((x.shape[0] + 1, x.shape[1]), np.float32), x.reshape(-1),
                np.ascontiguousarray(x.T), x[None]):
        with pytest.raises(ddk.DDKError) as e:
            method.set_inputs([bad])
        assert e.value.name == "SHAPE_MISMATCH"
        assert str(list(x.shape)) in e.value.message
        with pytest.raises(ddk.DDKError) as e:
            method.set_input(0, bad, check=False)
        assert e.value.name in ("SHAPE_MISMATCH", "INVALID_ARGUMENT"), e.value
        assert e.value.message


def test_wrong_input_count_raises(method, mlp):
    x = mlp[2][0]
    with pytest.raises(ddk.DDKError) as e:
        method.set_inputs([x, x])
    assert e.value.name == "INVALID_ARGUMENT"
    with pytest.raises(ddk.DDKError):
        method.set_inputs([])
    with pytest.raises(ddk.DDKError):
        method.set_input(3, x, check=False)


def test_non_contiguous_and_big_endian_inputs(method, mlp):
    _program, module, inputs = mlp
    x = inputs[0]
    method.set_inputs([x])
    method.execute()
    ref = method.outputs()[0]
    strided = np.asfortranarray(x)
    method.set_inputs([strided])
    method.execute()
    np.testing.assert_array_equal(method.outputs()[0], ref)
    method.set_inputs([x.astype(">f4")])
    method.execute()
    np.testing.assert_array_equal(method.outputs()[0], ref)


def test_outputs_are_independent_copies(method, mlp):
    x = mlp[2][0]
    method.set_inputs([x])
    method.execute()
    first = method.outputs()[0]
    kept = first.copy()
    assert first.flags.owndata or first.base is not None
    first[...] = 0  # writable, and writing it does not touch the runtime
    method.set_inputs([x * 2])
    method.execute()
    second = method.output(0)
    assert not np.array_equal(second, kept)
    method.set_inputs([x])
    method.execute()
    np.testing.assert_array_equal(method.output(0), kept)
    with pytest.raises(ddk.DDKError):
        method.output(7)


def test_outputs_equal_cli(libddk, ddk_cli, template_plugin, mlp, tmp_path):
    """The binding and `ddk run` give bit-identical outputs."""
    program, _module, inputs = mlp
    path = tmp_path / "mlp.ddk"
    path.write_bytes(program)
    in_paths = write_inputs(tmp_path / "in", inputs)
    for backends in ([], [template_plugin]):
        out_dir = tmp_path / f"out{len(backends)}"
        args = ["run", path, "--output-dir", out_dir]
        for p in in_paths:
            args += ["--input", p]
        for b in backends:
            args += ["--backend", b]
        proc = run_cli(ddk_cli, *args)
        assert proc.returncode == 0, proc.stderr
        cli_out = read_outputs(out_dir, 1)
        api_out = ddk.run(program, inputs, backends=[str(b) for b in backends])
        assert len(api_out) == len(cli_out)
        for a, c in zip(api_out, cli_out):
            assert a.dtype == c.dtype and a.shape == c.shape
            np.testing.assert_array_equal(a, c)


def test_call_shortcut_and_run_with_path(libddk, mlp, tmp_path):
    program, _module, inputs = mlp
    path = tmp_path / "mlp.ddk"
    path.write_bytes(program)
    with ddk.Runtime() as rt:
        with rt.method(program) as m:
            a = m(*inputs)
    b = ddk.run(path, inputs)
    c = ddk.run(str(path), inputs)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[0], c[0])


def test_close_order_is_safe(libddk, mlp, template_plugin):
    """Closing the runtime or program before the method does not crash:
    the method is closed with them and then refuses to run."""
    program, _module, inputs = mlp
    rt = ddk.Runtime()
    rt.add_backend(template_plugin)
    low = rt.lower(program, ["template"])
    m = rt.method(low)
    rt.close()
    with pytest.raises(ddk.DDKError):
        m.execute()
    m.close()
    rt.close()

    rt = ddk.Runtime()
    prog = ddk.load_program(program)
    m = rt.method(prog)
    prog.close()
    with pytest.raises(ddk.DDKError):
        m.set_inputs(inputs)
    with pytest.raises(ddk.DDKError):
        rt.method(prog)
    rt.close()

    # Dropping references in any order is fine too.
    rt = ddk.Runtime()
    m = rt.method(program)
    del rt
    gc.collect()
    m.set_inputs(inputs)
    m.execute()
    del m
    gc.collect()


def test_runtime_and_method_collected_in_one_cycle(libddk, tmp_path, mlp, template_plugin):
    # The cyclic GC clears weak references before finalizing, so the
    # runtime cannot close the method first; the method must then not call
    # into the plugin the runtime has unloaded (this crashed the process).
    program, _module, _inputs = mlp
    (tmp_path / "m.ddk").write_bytes(program)
    script = f"""
import gc, ddk
rt = ddk.Runtime()
rt.add_backend({str(template_plugin)!r})
low = rt.lower(ddk.load_program({str(tmp_path / "m.ddk")!r}), ["template"])
assert low.num_delegates >= 1
m = rt.method(low)
class Box: pass
b = Box(); b.self = b; b.rt, b.low, b.m = rt, low, m
del rt, low, m, b
gc.collect()
print("collected")
"""
    env = dict(os.environ, PYTHONPATH=str(PYTHON_DIR), DDK_LIBRARY=str(libddk))
    r = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0 and "collected" in r.stdout, (r.returncode, r.stderr[-2000:])


def test_many_runtimes_do_not_leak_handles(libddk, mlp, template_plugin):
    program, _module, inputs = mlp
    for _ in range(20):
        ddk.run(program, inputs, backends=[str(template_plugin)])


def test_no_package_module_shadows_the_standard_library():
    # certify.py and examples.py run as scripts, so python/ddk/ is first on
    # sys.path: a module there named like a standard one (profile.py did)
    # hides it from everything imported after (cProfile, via torch._dynamo).
    names = {p.stem for p in (PYTHON_DIR / "ddk").glob("*.py")}
    assert not names & set(sys.stdlib_module_names), sorted(names & set(sys.stdlib_module_names))
