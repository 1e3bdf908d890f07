"""The XNNPACK delegate against PyTorch eager and the reference kernels.

Zoo models (small inputs) run with XNNPACK taking every node it can and
match eager within the zoo's tolerances; the CNNs go whole into one
partition. Layout boundaries (NCHW <-> NHWC), the thread option, and a
corrupted blob are checked too. The per-op numerics are the conformance
suite's job (`make conformance BACKEND=xnnpack`).
"""
import os
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("DDK_BUILD_DIR", os.path.join(ROOT, "build"))
PLUGIN = os.path.join(BUILD, "sample_delegates", "libddk_backend_xnnpack.so")
sys.path.insert(0, os.path.join(ROOT, "python"))
os.environ.setdefault("DDK_LIBRARY", os.path.join(BUILD, "libddk.so"))


@pytest.fixture(scope="module")
def plugin():
    if not os.path.exists(PLUGIN):
        pytest.skip(f"XNNPACK delegate not built ({PLUGIN}); `make deps build`")
    return PLUGIN


def _delegated(program, plugin, options=None):
    import ddk
    rt = ddk.Runtime()
    name = rt.add_backend(plugin)
    return rt, rt.lower(program, [name], options=options)


# (zoo name, input size, every node delegated, one partition); int8
# models: every node but the quantize of the model's input
MODELS = [
    ("resnet18", 32, True, True),
    ("mobilenet_v2", 32, True, True),
    ("mobilenet_v3_small", 32, True, True),
    ("resnet18_int8", 32, True, True),
    ("mobilenet_v2_int8", 64, True, True),
    ("mlp", None, False, False),  # dynamic batch: XNNPACK 2022 is static
    ("vit_b_16", 32, False, False),
]


@pytest.mark.parametrize("name,size,all_nodes,one_partition", MODELS,
                         ids=[m[0] for m in MODELS])
def test_zoo_model_matches_eager(plugin, tmp_path, name, size, all_nodes,
                                 one_partition):
    import ddk
    from ddk import zoo
    from ddk.compare import compare
    path = tmp_path / f"{name}.ddk"
    zoo.write([name], tmp_path, seed=0, input_size=size)
    rt, low = _delegated(ddk.Program.load(path).to_bytes(), plugin)
    taken = sum(len(d["nodes"]) for d in low.delegates)
    if all_nodes:
        assert taken == low.num_nodes - (1 if name.endswith("_int8") else 0)
    if one_partition:
        assert low.num_delegates == 1
    if name == "vit_b_16":  # its linears, adds and patch conv run on XNNPACK
        assert taken > 0.3 * low.num_nodes
    rt.close()
    result = compare(path, name, input_size=size, backends=[plugin])
    assert result["ok"], result["outputs"]


def test_layout_boundaries(plugin):
    """conv -> exp (portable) -> conv -> flatten: two partitions, each
    converting its 4-D inputs and outputs; the result is eager's."""
    import torch
    import ddk

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = torch.nn.Conv2d(3, 5, 3, padding=1)
            self.b = torch.nn.Conv2d(5, 4, 3, stride=2, groups=1)

        def forward(self, x):
            y = torch.exp(self.a(x) * 0.1)
            return torch.relu(self.b(y))

    torch.manual_seed(0)
    net = Net().eval()
    x = torch.randn(2, 3, 9, 11)
    prog = ddk.export(net, (x,))
    rt, low = _delegated(prog.to_bytes(), plugin)
    assert low.num_delegates == 2
    (out,) = rt.method(low)(x.numpy())
    rt.close()
    np.testing.assert_allclose(out, net(x).detach().numpy(), rtol=1e-4, atol=1e-5)


def test_threads_option(plugin):
    import ddk
    from ddk import zoo
    built = zoo.build("resnet18", seed=1, input_size=32)
    prog = built.export().to_bytes()
    x = built.example_inputs[0].numpy()
    outs = []
    for threads in (1, 2):
        opts = {"xnnpack.num_threads": threads}
        rt, low = _delegated(prog, plugin, opts)
        outs.append(rt.method(low, options=opts)(x)[0])
        rt.close()
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-5, atol=1e-6)
    rt, low = _delegated(prog, plugin)
    with pytest.raises(ddk.DDKError) as e:
        rt.method(low, options={"xnnpack.num_threads": 0})
    assert "xnnpack.num_threads" in e.value.message
    rt.close()


def test_corrupted_blob_is_refused(plugin):
    import ddk
    from ddk import zoo
    built = zoo.build("mobilenet_v2", seed=0, input_size=32)
    rt, low = _delegated(built.export().to_bytes(), plugin)
    data = bytearray(low.to_bytes())
    at = data.find(b"XNNB")
    assert at > 0
    data[at + 4] = 99  # format 99
    bad = ddk.runtime.load_program(bytes(data))
    with pytest.raises(ddk.DDKError) as e:
        rt.method(bad)
    assert e.value.name in ("INCOMPATIBLE_BLOB", "BACKEND_FAILURE")
    assert "malformed blob header" in e.value.message
    rt.close()
