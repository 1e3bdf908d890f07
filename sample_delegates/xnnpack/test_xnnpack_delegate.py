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


# ---- profiling: one event per claimed node (xnnpack_profile.c) -------------

@pytest.fixture(scope="module")
def mnv2():
    """MobileNetV2 at 32x32 (the zoo's): (program bytes, input, torch module)."""
    from ddk import zoo
    built = zoo.build("mobilenet_v2", seed=0, input_size=32)
    return built.export().to_bytes(), built.example_inputs[0].numpy(), built.module


def _profiled(program, plugin, inputs, options=None, runs=2):
    """Lowers and runs `program` twice with and once without profiling:
    (lowered program, profiled outputs, plain outputs, instruction events,
    backend events of the last profiled run)."""
    import ddk
    rt, low = _delegated(program, plugin, options)
    plain = rt.method(low, options=options)(*inputs)
    m = rt.method(low, options={**(options or {}), "profile": True})
    for _ in range(runs):
        outs = m(*inputs)
    events, bevents = m.events(), m.backend_events()
    rt.close()
    return low, outs, plain, events, bevents


def _check_one_op_event_per_claimed_node(low, events, bevents):
    """Each delegate's OP events name exactly its claimed nodes, once each,
    and lie inside the delegate instruction's own event."""
    import collections
    instr_of = {index: i for i, (kind, index) in enumerate(low.instructions)
                if kind == "delegate"}
    span = {e["instruction"]: (e["start_ns"], e["end_ns"]) for e in events}
    for d in low.delegates:
        mine = [e for e in bevents if e["delegate"] == d["index"]]
        ops = [e for e in mine if e["kind"] == "op"]
        assert collections.Counter(e["node_index"] for e in ops) == \
            collections.Counter(d["nodes"]), f"delegate {d['index']}"
        assert all(0 <= e["node_index"] < low.num_nodes for e in ops)
        t0, t1 = span[instr_of[d["index"]]]
        for e in mine:
            assert t0 <= e["start_ns"] <= e["end_ns"] <= t1, e


def _bits(arrays):
    return [a.tobytes() for a in arrays]


def test_profile_mobilenet_v2_per_node(plugin, mnv2):
    """Every claimed node has its own OP event with a real time; the nodes
    run one after another; outputs are bit-identical to an unprofiled run;
    the fused runtime's own time is reported beside them."""
    program, x, _ = mnv2
    low, outs, plain, events, bevents = _profiled(program, plugin, [x])
    assert _bits(outs) == _bits(plain)
    assert low.num_delegates == 1
    _check_one_op_event_per_claimed_node(low, events, bevents)
    ops = [e for e in bevents if e["kind"] == "op"]
    assert all(e["detail"]["mode"] == "per-node" for e in ops)
    # nodes with their own XNNPACK op ran in order, without overlap
    timed = [e for e in ops if "xnn_op" in e["detail"]]
    for a, b in zip(timed, timed[1:]):
        assert a["end_ns"] <= b["start_ns"]
    assert all(e["end_ns"] > e["start_ns"] for e in timed)
    # the others point at the node doing their work: batch norms and the
    # classifier weight's permute were folded into constants at preprocess;
    # XNNPACK fuses each hardtanh (a clamp) into the convolution before it
    nodes = low.nodes
    absorbed = [e for e in ops if "absorbed_into" in e["detail"]]
    how = {}
    for e in absorbed:
        how.setdefault(nodes[e["node_index"]]["op_name"], set()).add(e["detail"]["how"])
    assert how == {"aten::_native_batch_norm_legit_no_training": {"folded"},
                   "aten::permute": {"folded"}, "aten::hardtanh": {"fused"}}
    owners = {e["node_index"] for e in timed}
    for e in absorbed:
        assert int(e["detail"]["absorbed_into"]) in owners
        assert e["start_ns"] == e["end_ns"]
    by_op = {}
    for e in timed:
        by_op.setdefault(nodes[e["node_index"]]["op_name"], set()).add(e["name"])
    assert by_op == {"aten::convolution": {"convolution_nhwc_f32"},
                     "aten::add.Tensor": {"add_nd_f32"},
                     "aten::mean.dim": {"global_average_pooling_nwc_f32"},
                     "aten::view": {"copy_nc_x32"},
                     "aten::addmm": {"fully_connected_nc_f32"}}
    fused = [e for e in bevents if e["name"] == "xnnpack: fused runtime"]
    assert len(fused) == 1 and fused[0]["kind"] == "other"
    assert fused[0]["end_ns"] <= timed[0]["start_ns"]


def test_profile_per_node_only_computes_the_outputs(plugin, mnv2):
    """xnnpack.profile=per_node_only: no fused run at all, so the outputs
    come from the per-node runtimes alone, and they are the fused runtime's
    bits (the values passed between nodes, the layouts, the weights)."""
    program, x, _ = mnv2
    opts = {"xnnpack.profile": "per_node_only"}
    low, outs, plain, events, bevents = _profiled(program, plugin, [x], opts)
    assert _bits(outs) == _bits(plain)
    assert not any(e["name"] == "xnnpack: fused runtime" for e in bevents)
    _check_one_op_event_per_claimed_node(low, events, bevents)


def test_profile_flops_match_the_model(plugin, mnv2):
    """The convolution and linear events' flops add up to the model's
    multiply-adds x 2, counted from the torch module's layers."""
    import torch
    program, x, module = mnv2
    _, _, _, _, bevents = _profiled(program, plugin, [x], runs=1)
    want = 0

    def count(mod, inp, out):
        nonlocal want
        if isinstance(mod, torch.nn.Conv2d):
            kh, kw = mod.kernel_size
            want += 2 * out.numel() * (mod.in_channels // mod.groups) * kh * kw
        elif isinstance(mod, torch.nn.Linear):
            want += 2 * out.numel() * mod.in_features

    hooks = [m.register_forward_hook(count) for m in module.modules()]
    with torch.no_grad():
        module(torch.from_numpy(x))
    for h in hooks:
        h.remove()
    got = sum(e["flops"] for e in bevents
              if e["name"] in ("convolution_nhwc_f32", "fully_connected_nc_f32"))
    assert want > 0 and got == want


def test_profile_int8_and_two_partitions(plugin):
    """Fused int8 patterns (q/dq and activations inside one qs8 op) and a
    graph split in two partitions with a clamp XNNPACK cannot fuse (its
    input has two readers): still one event per claimed node, same bits as
    without profiling."""
    import torch
    import ddk
    from ddk import zoo
    built = zoo.build("mobilenet_v2_int8", seed=0, input_size=64)
    x = built.example_inputs[0].numpy()
    only = {"xnnpack.profile": "per_node_only"}
    low, outs, plain, events, bevents = _profiled(built.export().to_bytes(), plugin, [x],
                                                  only)
    assert _bits(outs) == _bits(plain)
    _check_one_op_event_per_claimed_node(low, events, bevents)
    hows = {e["detail"].get("how") for e in bevents if e["kind"] == "op"}
    assert {"fused", "folded"} <= hows

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = torch.nn.Conv2d(3, 5, 3, padding=1)
            self.b = torch.nn.Conv2d(5, 4, 3, stride=2)

        def forward(self, x):
            y = torch.exp(self.a(x) * 0.1)
            z = self.b(y)
            return torch.relu(z) + z

    torch.manual_seed(0)
    xt = torch.randn(2, 3, 9, 11)
    prog = ddk.export(Net().eval(), (xt,)).to_bytes()
    low, outs, plain, events, bevents = _profiled(prog, plugin, [xt.numpy()], only)
    assert low.num_delegates == 2
    assert _bits(outs) == _bits(plain)
    _check_one_op_event_per_claimed_node(low, events, bevents)
    relu = [e for e in bevents if e["node_index"] is not None and
            low.nodes[e["node_index"]]["op_name"] == "aten::relu"]
    assert [e["name"] for e in relu] == ["clamp_nc_f32"] and relu[0]["end_ns"] > relu[0]["start_ns"]


def test_profile_fused_mode_and_threads(plugin, mnv2):
    """xnnpack.profile=fused: one event for the whole runtime, no per-node
    runs; per-node mode with 2 threads gives the same bits; a bad mode is
    refused at init."""
    import ddk
    program, x, _ = mnv2
    _, outs, plain, _, bevents = _profiled(program, plugin, [x], {"xnnpack.profile": "fused"})
    assert _bits(outs) == _bits(plain)
    ops = [e for e in bevents if e["kind"] == "op"]
    assert [e["name"] for e in ops] == ["xnnpack: runtime"] and ops[0]["node_index"] is None
    opts = {"xnnpack.num_threads": 2}
    low, outs2, plain2, events, bevents = _profiled(program, plugin, [x], opts)
    assert _bits(outs2) == _bits(plain2)
    _check_one_op_event_per_claimed_node(low, events, bevents)
    rt, low = _delegated(program, plugin)
    with pytest.raises(ddk.DDKError) as e:
        rt.method(low, options={"profile": True, "xnnpack.profile": "per_op"})
    assert "xnnpack.profile" in e.value.message
    rt.close()
