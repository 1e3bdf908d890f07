"""The emulated NPU delegate (npu_sim) through the runtime.

The int8 zoo models run with the NPU taking every quantized layer and
match the portable kernels within the documented rounding bound; the
compiler's limits (SRAM size, partition size, op allow-list) change what
is claimed and how it is tiled, never the integers it computes; blobs for
another configuration or a newer format are refused; injected faults show
the runtime's behaviour (fallback with a warning when allowed, a clear
error when not; a failed execute leaves no output); profiling reports
per-layer cycles, DMA bytes and MAC utilisation. Per-layer numerics are
the conformance suite's job (`make conformance BACKEND=npu_sim`).
"""
import ctypes
import os
import subprocess
import sys
import time

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("DDK_BUILD_DIR", os.path.join(ROOT, "build"))
PLUGIN = os.path.join(BUILD, "sample_delegates", "libddk_backend_npu_sim.so")
sys.path.insert(0, os.path.join(ROOT, "python"))
os.environ.setdefault("DDK_LIBRARY", os.path.join(BUILD, "libddk.so"))

# The layer ops the NPU runs (one per layer; the q/dq and weight nodes
# around them are folded into the layer).
LAYER_OPS = {"aten::convolution", "aten::addmm", "aten::mm", "aten::add.Tensor",
             "aten::max_pool2d_with_indices", "aten::avg_pool2d", "aten::mean.dim",
             "aten::view", "aten::relu", "aten::hardtanh", "aten::clamp"}


@pytest.fixture(scope="module")
def plugin():
    if not os.path.exists(PLUGIN):
        pytest.skip(f"npu_sim delegate not built ({PLUGIN}); `make build`")
    return PLUGIN


@pytest.fixture(scope="module")
def zoo_dir(tmp_path_factory):
    """resnet18_int8 and mobilenet_v2_int8 at 64x64, exported once."""
    from ddk import zoo
    out = tmp_path_factory.mktemp("npu_zoo")
    zoo.write(["resnet18_int8", "mobilenet_v2_int8"], out, seed=0, input_size=64)
    return out


def _input(name):
    rng = np.random.default_rng(7 if name.startswith("resnet") else 11)
    return rng.standard_normal((1, 3, 64, 64)).astype(np.float32)


def _run(rt, prog, x, options=None):
    with rt.method(prog, options) as m:
        return m(x)[0]


def _lowered(zoo_dir, name, lower_options=None):
    import ddk
    rt = ddk.Runtime()
    backend = rt.add_backend(PLUGIN)
    prog = ddk.load_program(str(zoo_dir / f"{name}.ddk"))
    return rt, prog, rt.lower(prog, [backend], options=lower_options)


def _output_scale(zoo_dir, name):
    """Scale of the program's last dequantize (its float output)."""
    import ddk
    prog = ddk.Program.load(zoo_dir / f"{name}.ddk")
    node = [n for n in prog.nodes if n.op_name.endswith("dequantize_per_tensor")][-1]
    return float(node.args[1].value)


def _layers(prog, delegate):
    return [n for n in delegate["nodes"] if prog.nodes[n]["op_name"] in LAYER_OPS
            and prog.nodes[n]["op_name"] not in ("aten::relu", "aten::hardtanh", "aten::clamp")]


# ---- the zoo ---------------------------------------------------------------

def _check_as_accurate(zoo_dir, name, x, got, want):
    """got (NPU) against want (portable kernels, same program): both on the
    output's int8 grid, got as close to fp32 eager as want is (within 1 dB),
    and within 20 dB SQNR of want."""
    import torch
    from ddk import zoo
    quanta = np.abs(got.astype(np.float64) - want) / _output_scale(zoo_dir, name)
    assert np.allclose(quanta, np.round(quanta), atol=1e-3)
    fp32 = zoo.build(name[:-len("_int8")], seed=0, input_size=64).module
    with torch.no_grad():
        eager = fp32(torch.from_numpy(x)).numpy()
    assert _sqnr(got, eager) >= _sqnr(want, eager) - 1.0, (_sqnr(got, eager), _sqnr(want, eager))
    assert _sqnr(got, want) >= 20.0, _sqnr(got, want)


def _sqnr(got, want):
    got, want = got.astype(np.float64), want.astype(np.float64)
    return 10 * np.log10(np.sum(want ** 2) / max(np.sum((got - want) ** 2), 1e-30))


@pytest.mark.parametrize("name", ["resnet18_int8", "mobilenet_v2_int8"])
def test_zoo_int8_runs_on_the_npu(plugin, zoo_dir, name):
    """Everything between the input quantize and the output dequantize is
    one NPU partition. Its integers are exact where the float32 reference
    rounds (each layer within one quantum: the conformance suite's q_*
    cases); through a whole network those one-quantum differences travel
    on, so end to end the NPU is held to the reference's accuracy: against
    fp32 eager it is as close as the portable kernels are (README,
    "Numerics")."""
    rt, prog, low = _lowered(zoo_dir, name)
    taken = sum(len(d["nodes"]) for d in low.delegates)
    assert low.num_delegates == 1 and low.delegates[0]["backend"] == "npu_sim"
    assert taken == low.num_nodes - 2, (taken, low.num_nodes)
    x = _input(name)
    _check_as_accurate(zoo_dir, name, x, _run(rt, low, x), _run(rt, prog, x))
    rt.close()


def test_inspect_shows_the_npu_nodes(plugin, zoo_dir):
    ddk_bin = os.path.join(BUILD, "ddk")
    out = subprocess.run([ddk_bin, "inspect", str(zoo_dir / "resnet18_int8.ddk"),
                          "--backend", plugin], capture_output=True, text=True, check=True).stdout
    conv_lines = [ln for ln in out.splitlines() if "aten::convolution" in ln]
    assert conv_lines and all("npu_sim" in ln for ln in conv_lines)
    q_in = [ln for ln in out.splitlines() if "quantize_per_tensor" in ln][0]
    assert "portable" in q_in  # the model's input quantize is not a pattern
    assert "1 delegates" in out.splitlines()[0] or "1 delegate" in out


# ---- the compiler's limits ---------------------------------------------------

def test_small_sram_tiles_more_and_computes_the_same(plugin, zoo_dir):
    """The integers do not depend on the tiling: a 16 KiB SRAM gives the
    same bytes as 1 MiB (with more tiles), or leaves unfittable layers
    to the portable kernels."""
    import ddk
    rt, prog, low_big = _lowered(zoo_dir, "mobilenet_v2_int8")
    backend = "npu_sim"
    small = {"npu_sim.sram_bytes": 16384}
    low_small = rt.lower(prog, [backend], options=small)
    x = _input("mobilenet_v2_int8")
    with rt.method(low_big, {"profile": True}) as m:
        big_out = m(x)[0]
        big_tiles = sum(int(e["detail"].get("tiles", 0)) for e in m.backend_events()
                        if e["kind"] == "op")
    with rt.method(low_small, {"profile": True, **small}) as m:
        small_out = m(x)[0]
        small_tiles = sum(int(e["detail"].get("tiles", 0)) for e in m.backend_events()
                          if e["kind"] == "op")
    taken_small = sum(len(d["nodes"]) for d in low_small.delegates)
    assert taken_small > 0
    if taken_small == sum(len(d["nodes"]) for d in low_big.delegates):
        np.testing.assert_array_equal(small_out, big_out)
    assert small_tiles > big_tiles
    # the blob was compiled for 16 KiB: a 1 MiB device refuses it
    with pytest.raises(ddk.DDKError) as e:
        rt.method(low_small)
    assert e.value.name == "INCOMPATIBLE_BLOB"
    assert "sram_bytes=16384" in str(e.value) and "1048576" in str(e.value)
    rt.close()


def test_max_partition_layers_splits_and_computes_the_same(plugin, zoo_dir):
    rt, prog, low = _lowered(zoo_dir, "resnet18_int8")
    split = rt.lower(prog, ["npu_sim"], options={"npu_sim.max_partition_layers": 5})
    assert split.num_delegates > 1
    for d in split.delegates:
        assert len(_layers(split, d)) <= 5, d
    total = sum(len(_layers(split, d)) for d in split.delegates)
    assert split.num_delegates >= -(-total // 5)
    x = _input("resnet18_int8")
    np.testing.assert_array_equal(_run(rt, split, x), _run(rt, low, x))
    rt.close()


def test_op_allow_list(plugin, zoo_dir):
    import ddk
    rt, prog, _ = _lowered(zoo_dir, "resnet18_int8")
    low = rt.lower(prog, ["npu_sim"], options={"npu_sim.ops": "conv2d"})
    ops = {low.nodes[n]["op_name"] for d in low.delegates for n in d["nodes"]}
    assert "aten::convolution" in ops
    assert not ops & {"aten::add.Tensor", "aten::addmm", "aten::max_pool2d_with_indices",
                      "aten::mean.dim"}
    x = _input("resnet18_int8")
    _check_as_accurate(zoo_dir, "resnet18_int8", x, _run(rt, low, x), _run(rt, prog, x))
    with pytest.raises(ddk.DDKError) as e:
        rt.lower(prog, ["npu_sim"], options={"npu_sim.ops": "conv2d,softmax"})
    assert "softmax" in str(e.value) and "depthwise_conv2d" in str(e.value)
    rt.close()


@pytest.mark.parametrize("key,value", [("npu_sim.sram_bytes", -1),
                                       ("npu_sim.mac_rows", 0),
                                       ("npu_sim.sram_bytes", "big")])
def test_bad_options_are_refused(plugin, zoo_dir, key, value):
    import ddk
    rt, prog, _ = _lowered(zoo_dir, "resnet18_int8")
    with pytest.raises(ddk.DDKError) as e:
        rt.lower(prog, ["npu_sim"], options={key: value})
    assert key in str(e.value)
    rt.close()


# ---- blobs ---------------------------------------------------------------------

def test_blob_for_another_configuration_is_refused(plugin, zoo_dir):
    import ddk
    rt, prog, low = _lowered(zoo_dir, "resnet18_int8", {"npu_sim.mac_rows": 32,
                                                        "npu_sim.revision": 2})
    assert "mac=32x16" in low.delegates[0]["compat"]
    with pytest.raises(ddk.DDKError) as e:
        rt.method(low)
    msg = str(e.value)
    assert e.value.name == "INCOMPATIBLE_BLOB" and "mac_rows" in msg and "revision" in msg
    x = _input("resnet18_int8")
    same = _run(rt, low, x, {"npu_sim.mac_rows": 32, "npu_sim.revision": 2})
    _, _, low_default = _lowered(zoo_dir, "resnet18_int8")
    np.testing.assert_array_equal(same, _run(rt, low_default, x))
    rt.close()


def test_newer_blob_format_is_refused(plugin, zoo_dir):
    """A blob whose header says format 2 (a newer compiler) is refused with
    INCOMPATIBLE_BLOB, and a truncated stream count never crashes."""
    import struct
    import ddk
    rt, _, low = _lowered(zoo_dir, "mobilenet_v2_int8")
    data = bytearray(low.to_bytes())
    at = data.find(b"NPUS")
    assert at >= 0 and struct.unpack_from("<I", data, at + 4)[0] == 1
    struct.pack_into("<I", data, at + 4, 2)
    with pytest.raises(ddk.DDKError) as e:
        rt.method(ddk.load_program(bytes(data)))
    assert e.value.name == "INCOMPATIBLE_BLOB" and "newer" in str(e.value)
    struct.pack_into("<I", data, at + 4, 1)
    struct.pack_into("<Q", data, at + 48, 1 << 40)  # num_cmds far past the blob
    with pytest.raises(ddk.DDKError) as e:
        rt.method(ddk.load_program(bytes(data)))
    assert e.value.name in ("INCOMPATIBLE_BLOB", "INVALID_ARGUMENT")
    rt.close()


# ---- faults --------------------------------------------------------------------

def test_failed_init_falls_back_when_allowed(plugin, zoo_dir, capfd):
    import ddk
    rt, prog, low = _lowered(zoo_dir, "mobilenet_v2_int8")
    x = _input("mobilenet_v2_int8")
    with pytest.raises(ddk.DDKError) as e:
        rt.method(low, {"npu_sim.fault_init": True})
    assert e.value.name == "BACKEND_FAILURE"
    assert "injected fault at init" in str(e.value) and "delegate_fallback" in str(e.value)
    capfd.readouterr()
    with rt.method(low, {"npu_sim.fault_init": True, "delegate_fallback": True}) as m:
        warning = capfd.readouterr().err
        assert "falling back" in warning and "npu_sim" in warning
        assert m.num_fallbacks == 1 and m.delegate_fell_back(0)
        got = m(x)[0]
    np.testing.assert_array_equal(got, _run(rt, prog, x))  # the portable kernels, exactly
    rt.close()


def test_failed_execute_leaves_no_partial_output(plugin):
    """A residual block whose int8 output is the NPU partition's own output
    (so nothing else writes those bytes). Fault at the 2nd execute: the
    error comes back, the method withdraws its output, and the output
    buffer still holds the 1st run's bytes (the NPU commits only after its
    whole command stream); the 3rd execute works again."""
    import ddk
    sys.path.insert(0, os.path.join(ROOT, "conformance"))
    from ddk_conformance import graphs
    program, (x1,) = graphs.by_name("q_block").build(0)
    x2 = np.flip(x1, axis=-1).copy()
    rt = ddk.Runtime()
    low = rt.lower(ddk.load_program(program), [rt.add_backend(PLUGIN)])
    assert low.num_delegates == 1 and low.num_instructions == 1
    with rt.method(low, {"npu_sim.fault_execute_at": 2}) as m:
        first = m(x1)[0]
        t = m._lib.ddk_method_output(m._handle(), 0).contents
        addr, nbytes = t.data, first.nbytes
        m.set_inputs([x2])
        with pytest.raises(ddk.DDKError) as e:
            m.execute()
        assert e.value.name == "BACKEND_FAILURE"
        assert "execute #2" in str(e.value) and "layers" in str(e.value)
        with pytest.raises(ddk.DDKError, match="last execute failed"):
            m.output(0)
        assert ctypes.string_at(addr, nbytes) == first.tobytes()
        m.execute()
        third = m.output(0)
    np.testing.assert_array_equal(third, _run(rt, low, x2))
    assert not np.array_equal(third, first)
    rt.close()


def test_extra_latency(plugin, zoo_dir):
    rt, _, low = _lowered(zoo_dir, "mobilenet_v2_int8")
    x = _input("mobilenet_v2_int8")
    with rt.method(low, {"npu_sim.extra_latency_us": 30000}) as m:
        m(x)
        t0 = time.perf_counter()
        m(x)
        assert time.perf_counter() - t0 >= 0.030  # a sleep is at least this long
    rt.close()


# ---- profiling -------------------------------------------------------------------

def test_profiling_reports_cycles_dma_and_utilisation(plugin, zoo_dir):
    rt, prog, low = _lowered(zoo_dir, "resnet18_int8")
    x = _input("resnet18_int8")
    delegated = set(low.delegates[0]["nodes"])
    with rt.method(low, {"profile": True}) as m:
        m(x)
        events = m.backend_events()
    ops = [e for e in events if e["kind"] == "op"]
    layers = _layers(low, low.delegates[0])
    assert len(ops) == len(layers)
    assert {e["node_index"] for e in ops} == set(layers) and set(layers) <= delegated
    for e in ops:
        assert e["backend"] == "npu_sim" and e["cycles"] > 0 and e["bytes"] > 0
        assert 0.0 < float(e["detail"]["util"]) <= 1.0, e
        assert e["end_ns"] >= e["start_ns"]
    convs = [e for e in ops if low.nodes[e["node_index"]]["op_name"] == "aten::convolution"]
    assert all(e["flops"] > 0 for e in convs)
    copies = [e for e in events if e["kind"] == "copy"]
    assert copies and all(e["bytes"] > 0 for e in copies)
    totals = [int(e["detail"]["total_cycles"]) for e in copies if "total_cycles" in e["detail"]]
    assert totals and totals[-1] >= sum(e["cycles"] for e in ops)
    with rt.method(low) as m:  # profiling off: nothing collected
        m(x)
        assert m.backend_events() == []
    rt.close()


def test_cycles_script_smoke(plugin, tmp_path):
    """perf/npu_sim/cycles.py (make npu-cycles) runs and reports."""
    import json
    out = tmp_path / "cycles.json"
    subprocess.run([sys.executable, os.path.join(ROOT, "perf", "npu_sim", "cycles.py"),
                    "--input-size", "32", "--runs", "1", "--warmup", "0", "--cpu", "-1",
                    "--models", "resnet18_int8", "--cache", str(tmp_path),
                    "--build-dir", BUILD, "--json-out", str(out)], check=True,
                   capture_output=True, text=True)
    (r,) = json.loads(out.read_text())["models"]
    assert r["layers"] == len(r["per_layer"]) > 0 and r["cycles"] > 0
    assert 0 < r["mac_utilisation"] <= 1 and r["emulation_ms"] > 0
