"""The template backend's profiling events: one DDK_PROFILE_OP event per
node it runs, keyed to the program node, inside the delegate instruction's
own time, with bytes and flops that follow from the tensors' shapes; none
when profiling is off; and the same output bits either way."""
import collections
import os
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("DDK_BUILD_DIR", os.path.join(ROOT, "build"))
PLUGIN = os.path.join(BUILD, "sample_delegates", "libddk_backend_template.so")
sys.path.insert(0, os.path.join(ROOT, "python"))
os.environ.setdefault("DDK_LIBRARY", os.path.join(BUILD, "libddk.so"))


@pytest.fixture(scope="module")
def plugin():
    if not os.path.exists(PLUGIN):
        pytest.skip(f"template backend not built ({PLUGIN}); `make build`")
    return PLUGIN


def _run(program, plugin, inputs, runs=2):
    """(lowered program, profiled outputs, plain outputs, instruction
    events, backend events, backend events of the plain run)."""
    import ddk
    with ddk.Runtime() as rt:
        low = rt.lower(program, [rt.add_backend(plugin)])
        m0 = rt.method(low)
        plain = m0(*inputs)
        quiet = m0.backend_events()
        m = rt.method(low, options={"profile": True})
        for _ in range(runs):
            outs = m(*inputs)
        return low, outs, plain, m.events(), m.backend_events(), quiet


def _numel(low, value):
    return int(np.prod(low.values[value]["shape"], dtype=np.int64))


def _check(low, events, bevents):
    """One OP event per claimed node, in the delegate's node order, inside
    the delegate instruction's event; bytes and flops from the shapes."""
    span = {e["instruction"]: (e["start_ns"], e["end_ns"]) for e in events}
    nodes = low.nodes
    unary = {"aten::relu", "aten::sigmoid", "aten::tanh"}
    for i, (kind, index) in enumerate(low.instructions):
        if kind != "delegate":
            continue
        d = low.delegates[index]
        mine = [e for e in bevents if e["delegate"] == index]
        assert [e["node_index"] for e in mine] == d["nodes"]
        t0, t1 = span[i]
        last = t0
        for e in mine:
            assert e["kind"] == "op" and e["backend"] == "template"
            assert last <= e["start_ns"] <= e["end_ns"] <= t1
            last = e["end_ns"]
            node = nodes[e["node_index"]]
            n = _numel(low, node["outputs"][0])
            operands = 1 if node["op_name"] in unary else 2
            assert e["bytes"] == 4 * n * (operands + 1) and e["flops"] == n
            assert e["detail"] == {"elements": str(n)}
            assert node["op_name"].split("::")[1].startswith(e["name"])


def test_mobilenet_v2_adds(plugin):
    """MobileNetV2: the template takes its ten residual adds (ten
    partitions); each reports its own node."""
    from ddk import zoo
    built = zoo.build("mobilenet_v2", seed=0, input_size=32)
    x = built.example_inputs[0].numpy()
    low, outs, plain, events, bevents, quiet = _run(built.export().to_bytes(), plugin, [x])
    assert low.num_delegates == 10
    assert [a.tobytes() for a in outs] == [a.tobytes() for a in plain]
    assert quiet == []  # profiling off: no events at all
    _check(low, events, bevents)
    assert collections.Counter(e["name"] for e in bevents) == {"add": 10}


def test_chain_in_one_partition(plugin):
    """Several nodes in one partition: one event each, in order."""
    import torch
    import ddk

    class Chain(torch.nn.Module):
        def forward(self, x, y):
            a = torch.sigmoid(x * y)
            return torch.relu(a - y) + torch.tanh(x)

    x, y = torch.randn(4, 33), torch.randn(4, 33)
    prog = ddk.export(Chain().eval(), (x, y)).to_bytes()
    low, outs, plain, events, bevents, _ = _run(prog, plugin, [x.numpy(), y.numpy()])
    assert low.num_delegates == 1 and len(low.delegates[0]["nodes"]) == 6
    assert [a.tobytes() for a in outs] == [a.tobytes() for a in plain]
    _check(low, events, bevents)


def test_blob_of_another_format_is_refused(plugin):
    """A blob whose header says format 1 (no node indices) is refused with
    a message, not misread."""
    import torch
    import ddk

    class Add(torch.nn.Module):
        def forward(self, x, y):
            return x + y

    x = torch.randn(3, 5)
    prog = ddk.export(Add(), (x, x)).to_bytes()
    with ddk.Runtime() as rt:
        low = rt.lower(prog, [rt.add_backend(plugin)])
        data = bytearray(low.to_bytes())
        at = data.find(b"TMPL")
        assert at > 0 and data[at + 4] == 2
        data[at + 4] = 1
        bad = ddk.runtime.load_program(bytes(data))
        with pytest.raises(ddk.DDKError) as e:
            rt.method(bad)
        assert e.value.name == "INCOMPATIBLE_BLOB" and "format 2" in e.value.message
