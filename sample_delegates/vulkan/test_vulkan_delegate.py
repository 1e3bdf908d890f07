"""The Vulkan delegate against PyTorch eager and the reference kernels.

Zoo models run with Vulkan taking every node it claims and match eager
within the zoo's tolerances (the CNNs go whole into one partition); the
options (device selection, the staging path of discrete GPUs, float16
storage, the op allow-list), profiling events with GPU time, a corrupted
blob, and a machine without a Vulkan driver are checked too. The per-op
numerics are the conformance suite's job (`make conformance
BACKEND=build/sample_delegates/libddk_backend_vulkan.so`).

Everything skips, with the reason, when the plugin is not built or no
Vulkan device is present (query's detail says why).
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("DDK_BUILD_DIR", os.path.join(ROOT, "build"))
PLUGIN = os.path.join(BUILD, "sample_delegates", "libddk_backend_vulkan.so")
sys.path.insert(0, os.path.join(ROOT, "python"))
os.environ.setdefault("DDK_LIBRARY", os.path.join(BUILD, "libddk.so"))


def _info():
    import ddk
    rt = ddk.Runtime()
    name = rt.add_backend(PLUGIN)
    info = [b for b in rt.backends() if b["name"] == name][0]
    rt.close()
    return info


@pytest.fixture(scope="module")
def plugin():
    if not os.path.exists(PLUGIN):
        pytest.skip(f"Vulkan delegate not built ({PLUGIN}); needs libvulkan-dev and glslc")
    info = _info()
    if not info["available"]:
        pytest.skip(f"no Vulkan device: {info['detail']}")
    return PLUGIN


def _delegated(program, plugin, options=None):
    import ddk
    rt = ddk.Runtime()
    name = rt.add_backend(plugin)
    return rt, rt.lower(program, [name], options=options)


# (zoo name, input size, share of the nodes delegated, partitions at most);
# the decoder's causal mask (arange, ge on int64) stays on the portable
# kernels, everything after it is one partition
MODELS = [
    ("resnet18", 32, 1.0, 1),
    ("mobilenet_v2", 32, 1.0, 1),
    ("llama_prefill", None, 0.99, 1),
]


@pytest.mark.parametrize("name,size,share,partitions", MODELS, ids=[m[0] for m in MODELS])
def test_zoo_model_matches_eager(plugin, tmp_path, name, size, share, partitions):
    import ddk
    from ddk import zoo
    from ddk.compare import compare
    path = tmp_path / f"{name}.ddk"
    zoo.write([name], tmp_path, seed=0, input_size=size)
    rt, low = _delegated(ddk.Program.load(path).to_bytes(), plugin)
    taken = sum(len(d["nodes"]) for d in low.delegates)
    assert taken >= share * low.num_nodes, (taken, low.num_nodes)
    assert 1 <= low.num_delegates <= partitions
    rt.close()
    result = compare(path, name, input_size=size, backends=[plugin])
    assert result["ok"], result["outputs"]


def _small_cnn():
    import torch

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = torch.nn.Conv2d(3, 16, 3, padding=1)
            self.bn = torch.nn.BatchNorm2d(16)
            self.dw = torch.nn.Conv2d(16, 16, 3, padding=1, groups=16)
            self.fc = torch.nn.Linear(16, 10)

        def forward(self, x):
            y = torch.relu(self.bn(self.a(x)))
            y = torch.nn.functional.max_pool2d(self.dw(y), 2)
            y = torch.nn.functional.gelu(y).mean((2, 3))
            return torch.softmax(self.fc(y), -1)

    torch.manual_seed(0)
    net = Net().eval()
    with torch.no_grad():
        net.bn.running_mean.uniform_(-0.5, 0.5)
        net.bn.running_var.uniform_(0.5, 2.0)
    return net, torch.randn(2, 3, 12, 10)


def _run(plugin, program, x, lower_opts=None, method_opts=None):
    rt, low = _delegated(program, plugin, lower_opts)
    with rt.method(low, options=method_opts) as m:
        out = m(x)[0]
    n = low.num_delegates
    rt.close()
    return out, n


def test_options_device_staging_fp16(plugin):
    """vulkan.device by index and by name, the staging path a discrete GPU
    takes, the register-blocked and tiled GEMMs, and float16 storage (when
    the device has it) give eager's result."""
    import ddk
    net, x = _small_cnn()
    prog = ddk.export(net, (x,)).to_bytes()
    want = net(x).detach().numpy()
    xs = x.numpy()
    info = _info()
    base, n = _run(plugin, prog, xs)
    assert n == 1
    np.testing.assert_allclose(base, want, rtol=1e-4, atol=1e-6)
    by_name = info["device_name"].split(" ")[0]
    for opts in ({"vulkan.device": 0}, {"vulkan.device": by_name}, {"vulkan.staging": True},
                 {"vulkan.gemm": "tiled"}, {"vulkan.gemm": "direct"}):
        out, _ = _run(plugin, prog, xs, method_opts=opts)
        np.testing.assert_allclose(out, base, rtol=1e-6, atol=1e-7)
    if "fp16 storage yes" in info["detail"]:  # float32 values held as float16 inside
        out, _ = _run(plugin, prog, xs, {"vulkan.fp16_storage": True})
        np.testing.assert_allclose(out, want, rtol=2e-2, atol=2e-3)
    rt, low = _delegated(prog, plugin)
    with pytest.raises(ddk.DDKError) as e:
        rt.method(low, options={"vulkan.device": "no-such-gpu"})
    assert "vulkan.device" in e.value.message
    rt.close()


# Small shapes take narrow tiles (vk_lower_nn.c): (module, input shape,
# the tile the lowering must pick). Partial tiles, several images and
# groups included; each runs in both GEMM flavours.
def _small_cases():
    import torch
    nn = torch.nn
    return [
        (nn.Conv2d(80, 200, 1), (1, 80, 1, 1), "conv_64x4"),  # a 1x1 tail: N = 1
        (nn.Conv2d(24, 72, 3, padding=1), (2, 24, 2, 2), "conv_64x4"),  # N = 4
        (nn.Conv2d(24, 40, 3, padding=1, bias=False), (1, 24, 3, 3), "conv_64x4"),  # 3 x 4
        (nn.Conv2d(32, 48, 3, padding=1, groups=2), (1, 32, 2, 2), "conv_64x4"),
        (nn.Conv2d(16, 70, 3, stride=2, padding=1), (1, 16, 10, 10), "conv_64x16"),  # 25
        (nn.Conv2d(16, 96, 1), (1, 16, 7, 7), "conv_64x64"),  # K = 16: a GEMM too
        (nn.Conv2d(16, 24, 1), (1, 16, 8, 8), "conv_32x64"),
        (nn.Conv2d(16, 24, 1), (1, 16, 9, 9), "conv_64x16"),  # 81: 6 x 16, not 2 x 64
        (nn.Linear(300, 130), (1, 300), "gemm_4x64"),  # a classifier: M = 1
        (nn.Linear(300, 130), (3, 300), "gemm_4x64"),
        (nn.Linear(40, 70), (9, 40), "gemm_16x64"),
    ]


@pytest.mark.parametrize("case", range(11))
def test_small_shape_tiles(plugin, case):
    """Convolutions at few output positions and GEMMs of few rows take the
    narrow tiles, in both flavours, and match eager."""
    import ddk
    import torch
    torch.manual_seed(case)
    mod, shape, tile = _small_cases()[case]
    mod = mod.eval()
    x = torch.randn(*shape)
    want = mod(x).detach().numpy()
    prog = ddk.export(mod, (x,)).to_bytes()
    rt, low = _delegated(prog, plugin)
    assert low.num_delegates == 1
    for flavour, name in (("tiled", tile + "_f32"), ("direct", tile + "_direct_f32")):
        with rt.method(low, {"profile": True, "vulkan.gemm": flavour}) as m:
            out = m(x.numpy())[0]
            kernels = [e["detail"]["kernel"] for e in m.backend_events() if e["kind"] == "op"]
        assert name in kernels, (flavour, kernels)
        np.testing.assert_allclose(out, want, rtol=1e-4, atol=1e-5)
    rt.close()


def test_float16_model(plugin):
    """With vulkan.fp16 a float16 model runs on the GPU (computing in float,
    rounding once, as ATen) and agrees with the portable kernels; without
    it nothing float16 is claimed."""
    import ddk
    if "fp16 storage yes" not in _info()["detail"]:
        pytest.skip("the device has no 16-bit storage")
    net, x = _small_cnn()
    net, x = net.half(), x.half()
    prog = ddk.export(net, (x,)).to_bytes()
    rt = ddk.Runtime()
    want = rt.method(ddk.load_program(prog))(x.numpy())[0]
    rt.close()
    _, n = _run(plugin, prog, x.numpy())
    assert n == 0
    out, n = _run(plugin, prog, x.numpy(), {"vulkan.fp16": True})
    assert n == 1 and out.dtype == np.float16
    np.testing.assert_allclose(out.astype(np.float32), want.astype(np.float32), rtol=1e-2,
                               atol=1e-3)


def test_op_allow_list(plugin):
    """vulkan.ops limits what is claimed; the rest runs portable."""
    import ddk
    net, x = _small_cnn()
    prog = ddk.export(net, (x,)).to_bytes()
    rt, low = _delegated(prog, plugin, {"vulkan.ops": "convolution,relu"})
    ops = {low.nodes[i]["op_name"] for d in low.delegates for i in d["nodes"]}
    assert ops == {"aten::convolution", "aten::relu"}
    out = rt.method(low)(x.numpy())[0]
    rt.close()
    np.testing.assert_allclose(out, net(x).detach().numpy(), rtol=1e-4, atol=1e-6)


def test_profiling_events(plugin):
    """One OP event per dispatch with the node, the op, GPU time in the
    detail; COPY events for the host copies; none when not profiling."""
    import ddk
    net, x = _small_cnn()
    prog = ddk.export(net, (x,)).to_bytes()
    rt, low = _delegated(prog, plugin)
    with rt.method(low, {"profile": True}) as m:
        m(x.numpy())
        events = m.backend_events()
    ops = [e for e in events if e["kind"] == "op"]
    assert ops and all(e["backend"] == "vulkan" for e in events)
    assert {e["name"] for e in ops} >= {"aten::convolution", "aten::addmm", "aten::_softmax"}
    conv = [e for e in ops if e["name"] == "aten::convolution"]
    assert all(e["node_index"] is not None and e["flops"] > 0 for e in conv)
    for e in ops:
        assert "workgroups" in e["detail"] and "kernel" in e["detail"]
        assert e["end_ns"] >= e["start_ns"]
        if e["detail"]["gpu_ns"] != "unknown (no timestamps on this queue)":
            assert int(e["detail"]["gpu_ns"]) >= 0
    assert any(e["kind"] == "copy" for e in events)
    with rt.method(low) as m:
        m(x.numpy())
        assert m.backend_events() == []
    rt.close()


def test_corrupted_blob_is_refused(plugin):
    import ddk
    net, x = _small_cnn()
    rt, low = _delegated(ddk.export(net, (x,)).to_bytes(), plugin)
    data = bytearray(low.to_bytes())
    at = data.find(b"VKDB")
    assert at > 0
    data[at + 4] = 99  # format 99
    bad = ddk.runtime.load_program(bytes(data))
    with pytest.raises(ddk.DDKError) as e:
        rt.method(bad)
    assert e.value.name in ("INCOMPATIBLE_BLOB", "BACKEND_FAILURE")
    assert "malformed blob header" in e.value.message
    rt.close()


NO_DRIVER = r"""
import json, sys
sys.path.insert(0, sys.argv[2])
import ddk, torch
rt = ddk.Runtime()
name = rt.add_backend(sys.argv[1])
info = [b for b in rt.backends() if b["name"] == name][0]
prog = ddk.export(torch.nn.ReLU(), (torch.randn(4),))
low = rt.lower(prog.to_bytes(), [name])
print(json.dumps({"available": info["available"], "detail": info["detail"],
                  "delegates": low.num_delegates}))
rt.close()
"""


def test_without_a_driver_the_backend_is_unavailable(tmp_path):
    """No ICD found: query says why, and lowering leaves everything portable."""
    if not os.path.exists(PLUGIN):
        pytest.skip(f"Vulkan delegate not built ({PLUGIN})")
    env = dict(os.environ)
    missing = str(tmp_path / "no_such_icd.json")
    env.update(VK_ICD_FILENAMES=missing, VK_DRIVER_FILES=missing)
    out = subprocess.run([sys.executable, "-c", NO_DRIVER, PLUGIN, os.path.join(ROOT, "python")],
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert res["available"] is False
    assert "no Vulkan physical device" in res["detail"] or "loader" in res["detail"]
    assert res["delegates"] == 0
