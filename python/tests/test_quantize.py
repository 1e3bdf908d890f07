"""PT2E int8 quantisation (ddk.quantize): the q/dq structure of the
converted graph, accuracy against the float model, determinism, the int8
weights against the (BN-folded) float weights, and torchvision models whose
decomposed graphs use only ops of the DDK op table.

The structure checks walk the converted fx graph; the oracle for values is
PyTorch itself (the float model, and batch-norm folding recomputed here).
"""

from __future__ import annotations

import operator

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.fx import GraphModule, Node

from torchao.quantization.pt2e import MinMaxObserver
from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e
from torchao.quantization.pt2e.quantizer import (
    ComposableQuantizer,
    QuantizationAnnotation,
    QuantizationSpec,
    Quantizer,
)

from ddk.ops_meta import OP_BY_NAME
from ddk.quantize import ACT_QSPEC, DDKQuantizer, calibration_batches, quantize_pt2e

_aten = torch.ops.aten
_qd = torch.ops.quantized_decomposed
Q_PER_TENSOR = _qd.quantize_per_tensor.default
DQ_PER_TENSOR = _qd.dequantize_per_tensor.default
DQ_PER_CHANNEL = _qd.dequantize_per_channel.default
CONV = _aten.conv2d.default
LINEAR = _aten.linear.default
ADD = _aten.add.Tensor
POOLS = (_aten.max_pool2d.default, _aten.adaptive_avg_pool2d.default)
FUSED_ACTS = (_aten.relu.default, _aten.relu_.default, _aten.hardtanh.default,
              _aten.hardtanh_.default)

PER_TENSOR_WEIGHT = QuantizationSpec(
    dtype=torch.int8, observer_or_fake_quant_ctr=MinMaxObserver, quant_min=-127,
    quant_max=127, qscheme=torch.per_tensor_symmetric)

CNN_INPUT = (2, 3, 16, 16)
MLP_INPUT = (4, 32)


class SmallCNN(nn.Module):
    """conv-bn-relu, conv-relu6, max pools, residual add + relu, adaptive
    average pool, flatten, linear."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
        self.relu6 = nn.ReLU6(inplace=True)
        self.conv3 = nn.Conv2d(8, 8, 3, padding=1)
        self.fc = nn.Linear(8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn1(self.conv1(x)))
        y = F.max_pool2d(self.relu6(self.conv2(x)), 2)
        z = F.relu(F.max_pool2d(x, 2) + self.conv3(y))
        return self.fc(F.adaptive_avg_pool2d(z, 1).flatten(1))


class MLP(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(32, 64)
        self.fc2 = nn.Linear(64, 64)
        self.fc3 = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


def make_cnn() -> SmallCNN:
    """A SmallCNN in eval mode with non-trivial batch-norm statistics."""
    torch.manual_seed(0)
    model = SmallCNN()
    with torch.no_grad():
        model.bn1.weight.uniform_(0.5, 1.5)
        model.bn1.bias.uniform_(-0.2, 0.2)
        model.bn1.running_mean.uniform_(-0.2, 0.2)
        model.bn1.running_var.uniform_(0.5, 2.0)
    return model.eval()


def make_mlp() -> MLP:
    torch.manual_seed(1)
    return MLP().eval()


@pytest.fixture(scope="module")
def cnn() -> tuple[SmallCNN, GraphModule]:
    model = make_cnn()
    return model, quantize_pt2e(model, (torch.zeros(CNN_INPUT),))


@pytest.fixture(scope="module")
def mlp() -> tuple[MLP, GraphModule]:
    model = make_mlp()
    return model, quantize_pt2e(model, (torch.zeros(MLP_INPUT),))


# --- graph helpers ---------------------------------------------------------

def call_nodes(gm: GraphModule, *targets) -> list[Node]:
    return [n for n in gm.graph.nodes if n.op == "call_function" and n.target in targets]


def fetch_attr(gm: GraphModule, node: Node) -> torch.Tensor:
    assert node.op == "get_attr", f"{node} is {node.op}, not a constant"
    value = gm
    for part in node.target.split("."):
        value = getattr(value, part)
    return value


def qparams(node: Node) -> tuple:
    """(scale, zero_point) of a quantize/dequantize_per_tensor node."""
    return tuple(node.args[1:3])


def assert_int8_activation(node: object, target, what: str) -> None:
    """`node` is a per-tensor `target` (q or dq) op, int8 over [-128, 127]."""
    assert isinstance(node, Node) and node.target == target, \
        f"{what}: expected {target}, got {node}"
    qmin, qmax, dtype = node.args[3:6]
    assert (qmin, qmax, dtype) == (-128, 127, torch.int8), f"{what}: {node.args}"


def assert_quantized_input(node: Node, arg: object, what: str) -> None:
    """`arg` (an input of `node`) is dequantize_per_tensor of a quantize_per_tensor."""
    assert_int8_activation(arg, DQ_PER_TENSOR, what)
    assert_int8_activation(arg.args[0], Q_PER_TENSOR, f"{what} (source of the dq)")
    assert qparams(arg) == qparams(arg.args[0]), what


def assert_quantized_output(node: Node, what: str) -> Node:
    """The output of `node`, or of the activation fused to it, goes only to
    quantize_per_tensor; returns that output node."""
    out = node
    if len(node.users) == 1 and next(iter(node.users)).target in FUSED_ACTS:
        out = next(iter(node.users))
    assert out.users, what
    for user in out.users:
        assert_int8_activation(user, Q_PER_TENSOR, f"{what}: output of {out}")
    return out


def weight_dq(gm: GraphModule, node: Node) -> tuple[torch.Tensor, torch.Tensor, Node]:
    """The int8 weight and per-channel scales of a conv/linear node."""
    dq = node.args[1]
    assert isinstance(dq, Node) and dq.target == DQ_PER_CHANNEL, \
        f"{node}: weight comes from {dq}, not dequantize_per_channel"
    weight_node, scale_node, zp_node, axis, qmin, qmax, dtype = dq.args[:7]
    assert (axis, qmin, qmax, dtype) == (0, -127, 127, torch.int8), f"{node}: {dq.args}"
    weight = fetch_attr(gm, weight_node)
    assert weight.dtype == torch.int8
    assert torch.all(fetch_attr(gm, zp_node) == 0), f"{node}: weights not symmetric"
    return weight, fetch_attr(gm, scale_node), dq


def assert_conv_linear_quantized(gm: GraphModule, node: Node) -> None:
    assert_quantized_input(node, node.args[0], f"{node} input")
    weight, scale, _ = weight_dq(gm, node)
    assert scale.shape == (weight.shape[0],)
    bias = node.args[2] if len(node.args) > 2 else None
    if bias is not None:
        assert fetch_attr(gm, bias).dtype == torch.float32, f"{node}: bias not float32"
    assert_quantized_output(node, f"{node}")


def sqnr_db(reference: torch.Tensor, actual: torch.Tensor) -> float:
    noise = (reference - actual).pow(2).sum()
    return float(10 * torch.log10(reference.pow(2).sum() / noise))


def all_qparams(gm: GraphModule) -> list:
    """Every q param of the converted graph, in graph order."""
    found = []
    for node in call_nodes(gm, Q_PER_TENSOR, DQ_PER_TENSOR):
        found.append(qparams(node))
    for node in call_nodes(gm, DQ_PER_CHANNEL):
        found.append(fetch_attr(gm, node.args[1]).tolist())
        found.append(fetch_attr(gm, node.args[0]).tolist())
    return found


def op_key(target) -> str:
    schema = target._schema
    return schema.name + ("." + schema.overload_name if schema.overload_name else "")


def decomposed_ops(gm: GraphModule, example_inputs: tuple) -> set[str]:
    """Op-table keys of the ops in export(gm).run_decompositions()."""
    ep = torch.export.export(gm, example_inputs).run_decompositions()
    return {op_key(n.target) for n in ep.graph.nodes
            if n.op == "call_function" and n.target is not operator.getitem}


# --- 1. structure ----------------------------------------------------------

def test_cnn_structure(cnn) -> None:
    _, gm = cnn
    convs, linears = call_nodes(gm, CONV), call_nodes(gm, LINEAR)
    assert (len(convs), len(linears)) == (3, 1)
    for node in convs + linears:
        assert_conv_linear_quantized(gm, node)
    # batch norm is folded into conv1, relu6 fused into conv2
    assert not call_nodes(gm, _aten.batch_norm.default)
    assert [n.target for n in (next(iter(c.users)) for c in convs[:2])] == \
        [_aten.relu.default, _aten.hardtanh_.default]

    (add,) = call_nodes(gm, ADD)
    for i, arg in enumerate(add.args[:2]):
        assert_quantized_input(add, arg, f"add input {i}")
    assert assert_quantized_output(add, "add").target == _aten.relu.default

    pools = call_nodes(gm, *POOLS)
    assert len(pools) == 3
    for pool in pools:
        assert_quantized_input(pool, pool.args[0], f"{pool} input")
        (out_q,) = pool.users
        assert_int8_activation(out_q, Q_PER_TENSOR, f"{pool} output")
        assert qparams(out_q) == qparams(pool.args[0]), \
            f"{pool}: output q params differ from the input's"


def test_mlp_structure(mlp) -> None:
    _, gm = mlp
    linears = call_nodes(gm, LINEAR)
    assert len(linears) == 3
    for node in linears:
        assert_conv_linear_quantized(gm, node)
    assert len(call_nodes(gm, _aten.relu.default)) == 2
    # relu is fused: no q/dq between a linear and its relu
    for relu in call_nodes(gm, _aten.relu.default):
        assert relu.args[0].target == LINEAR


class Add(nn.Module):
    def __init__(self, relu: bool) -> None:
        super().__init__()
        self.relu = relu

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return F.relu(a + b) if self.relu else a + b


@pytest.mark.parametrize("relu", [False, True])
def test_add_alone(relu) -> None:
    """Graph inputs straight into add: only add's own annotation quantizes
    its inputs and its (or its relu's) output."""
    inputs = (torch.zeros(2, 8), torch.zeros(2, 8))
    calibration = [(a, 4 * b) for a, b in calibration_batches(inputs, 4, 0)]
    gm = quantize_pt2e(Add(relu), inputs, calibration)
    (add,) = call_nodes(gm, ADD)
    for i, arg in enumerate(add.args[:2]):
        assert_quantized_input(add, arg, f"add input {i}")
        assert arg.args[0].args[0].op == "placeholder"
    # one observer per input: the wider second input has the larger scale
    assert qparams(add.args[1])[0] > 3 * qparams(add.args[0])[0]
    out = assert_quantized_output(add, "add")
    assert out.target == (_aten.relu.default if relu else ADD)


class Pool(nn.Module):
    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "max":
            return F.max_pool2d(x, 2)
        if self.kind == "avg":
            return F.avg_pool2d(x, 2)
        return F.adaptive_avg_pool2d(x, 1)


@pytest.mark.parametrize("kind", ["max", "avg", "adaptive"])
def test_pool_alone(kind) -> None:
    """A pool on a graph input: the input is quantized and the output
    requantized with the input's q params."""
    gm = quantize_pt2e(Pool(kind), (torch.zeros(1, 4, 8, 8),), num_calibration=2)
    (pool,) = [n for n in gm.graph.nodes if n.op == "call_function"
               and n.target not in (Q_PER_TENSOR, DQ_PER_TENSOR)]
    assert_quantized_input(pool, pool.args[0], f"{kind} pool input")
    assert pool.args[0].args[0].args[0].op == "placeholder"
    (out_q,) = pool.users
    assert_int8_activation(out_q, Q_PER_TENSOR, f"{kind} pool output")
    assert qparams(out_q) == qparams(pool.args[0])


class OtherQuantizer(Quantizer):
    """Annotates linear with a per-tensor weight and avg_pool2d with its own
    output observer: run ahead of DDKQuantizer, which must keep both."""

    def annotate(self, model: GraphModule) -> GraphModule:
        for node in call_nodes(model, LINEAR):
            node.meta["quantization_annotation"] = QuantizationAnnotation(
                input_qspec_map={node.args[0]: ACT_QSPEC,
                                 node.args[1]: PER_TENSOR_WEIGHT},
                output_qspec=ACT_QSPEC, _annotated=True)
        for node in call_nodes(model, _aten.avg_pool2d.default):
            node.meta["quantization_annotation"] = QuantizationAnnotation(
                input_qspec_map={node.args[0]: ACT_QSPEC},
                output_qspec=ACT_QSPEC, _annotated=True)
        return model

    def validate(self, model: GraphModule) -> None:
        pass


def quantize_with_other_first(model: nn.Module, inputs: tuple) -> GraphModule:
    exported = torch.export.export(model, inputs).module()
    quantizer = ComposableQuantizer([OtherQuantizer(), DDKQuantizer()])
    prepared = prepare_pt2e(exported, quantizer)
    for batch in calibration_batches(inputs, 2, 0):
        prepared(*batch)
    return convert_pt2e(prepared)


def test_annotated_nodes_skipped() -> None:
    gm = quantize_with_other_first(make_mlp(), (torch.zeros(MLP_INPUT),))
    linears = call_nodes(gm, LINEAR)
    assert len(linears) == 3
    for node in linears:
        assert node.args[1].target == DQ_PER_TENSOR, f"{node}: annotation replaced"
    # the relus were left alone too: each linear's own output is quantized
    for relu in call_nodes(gm, _aten.relu.default):
        assert relu.args[0].target == DQ_PER_TENSOR

    gm = quantize_with_other_first(Pool("avg"), (torch.zeros(1, 4, 8, 8),))
    (pool,) = call_nodes(gm, _aten.avg_pool2d.default)
    (out_q,) = pool.users
    assert qparams(out_q) != qparams(pool.args[0]), "pool annotation replaced"


def test_conv_transpose_left_float() -> None:
    model = nn.Sequential(nn.ConvTranspose2d(3, 4, 2, stride=2), nn.ReLU()).eval()
    gm = quantize_pt2e(model, (torch.zeros(1, 3, 4, 4),), num_calibration=2)
    (node,) = call_nodes(gm, _aten.conv_transpose2d.input)
    assert node.args[0].op == "placeholder"
    assert fetch_attr(gm, node.args[1]).dtype == torch.float32
    assert not call_nodes(gm, Q_PER_TENSOR, DQ_PER_TENSOR, DQ_PER_CHANNEL)


# --- 2. accuracy and determinism --------------------------------------------

@pytest.mark.parametrize("which", ["cnn", "mlp"])
def test_close_to_float(which, cnn, mlp) -> None:
    model, gm = {"cnn": cnn, "mlp": mlp}[which]
    shape = {"cnn": CNN_INPUT, "mlp": MLP_INPUT}[which]
    # calibrated on seed-0 standard-normal batches; evaluated on fresh ones
    x = torch.randn(shape, generator=torch.Generator().manual_seed(1234))
    with torch.no_grad():
        reference, out, again = model(x), gm(x), gm(x)
    assert sqnr_db(reference, out) > 25
    assert torch.equal(out, again)


def test_model_not_modified() -> None:
    model = make_cnn().train()
    x = torch.randn(CNN_INPUT)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    quantize_pt2e(model, (x,), num_calibration=2)
    assert model.training and model.bn1.training
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key


def test_deterministic_for_seed(cnn) -> None:
    _, first = cnn
    inputs = (torch.zeros(CNN_INPUT),)
    second = quantize_pt2e(make_cnn(), inputs)
    assert all_qparams(first) == all_qparams(second)
    other_seed = quantize_pt2e(make_cnn(), inputs, seed=1)
    assert all_qparams(first) != all_qparams(other_seed)


def test_explicit_calibration_is_used(cnn) -> None:
    _, default = cnn
    inputs = (torch.zeros(CNN_INPUT),)
    same = quantize_pt2e(make_cnn(), inputs, calibration_batches(inputs, 8, 0))
    assert all_qparams(default) == all_qparams(same)
    scaled = [(3 * x,) for (x,) in calibration_batches(inputs, 8, 0)]
    wider = quantize_pt2e(make_cnn(), inputs, scaled)
    first_q = call_nodes(wider, Q_PER_TENSOR)[0]
    assert first_q.args[0].op == "placeholder"
    assert qparams(first_q)[0] > 2.5 * qparams(call_nodes(default, Q_PER_TENSOR)[0])[0]


def test_input_qparams_from_all_batches(cnn) -> None:
    """The graph input's q params are min/max affine int8 over every
    calibration batch (recomputed here from the batches themselves)."""
    _, gm = cnn
    batches = calibration_batches((torch.zeros(CNN_INPUT),), 8, 0)
    x = torch.stack([b[0] for b in batches])
    lo, hi = min(float(x.min()), 0.0), max(float(x.max()), 0.0)
    scale = (hi - lo) / 255
    zero_point = -128 - round(lo / scale)
    first_q = call_nodes(gm, Q_PER_TENSOR)[0]
    assert first_q.args[0].op == "placeholder"
    assert qparams(first_q)[0] == pytest.approx(scale, rel=1e-6)
    assert qparams(first_q)[1] == zero_point


def test_calibration_batches() -> None:
    example = (torch.zeros(64, 64), torch.arange(5), 3)
    batches = calibration_batches(example, 3, seed=7)
    assert len(batches) == 3
    for x, ints, scalar in batches:
        assert x.shape == (64, 64) and x.dtype == torch.float32
        assert abs(float(x.mean())) < 0.1 and abs(float(x.std()) - 1) < 0.1
        assert torch.equal(ints, example[1]) and ints is not example[1]
        assert scalar == 3
    assert not torch.equal(batches[0][0], batches[1][0])
    again = calibration_batches(example, 3, seed=7)
    assert all(torch.equal(a[0], b[0]) for a, b in zip(batches, again))
    first = torch.randn(64, 64, generator=torch.Generator().manual_seed(7))
    assert torch.equal(batches[0][0], first)
    half = calibration_batches((torch.zeros(2, 2, dtype=torch.float16),), 1, 0)
    assert half[0][0].dtype == torch.float16


# --- 3. torchvision models and the op table -------------------------------

@pytest.mark.parametrize("name", ["mobilenet_v2", "resnet18"])
def test_torchvision_ops_in_table(name) -> None:
    torchvision = pytest.importorskip("torchvision")
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)(weights=None).eval()
    inputs = (torch.randn(1, 3, 64, 64),)
    gm = quantize_pt2e(model, inputs, num_calibration=2)

    convs, linears = call_nodes(gm, CONV), call_nodes(gm, LINEAR)
    n_convs = sum(isinstance(m, nn.Conv2d) for m in model.modules())
    assert (len(convs), len(linears)) == (n_convs, 1)
    for node in convs + linears:
        assert_conv_linear_quantized(gm, node)
    adds = call_nodes(gm, _aten.add.Tensor, _aten.add_.Tensor)
    assert len(adds) == {"mobilenet_v2": 10, "resnet18": 8}[name]
    for add in adds:
        for i, arg in enumerate(add.args[:2]):
            assert_quantized_input(add, arg, f"{add} input {i}")
        assert_quantized_output(add, f"{add}")

    unsupported = decomposed_ops(gm, inputs) - set(OP_BY_NAME)
    assert not unsupported, f"{name}: ops missing from the op table: {sorted(unsupported)}"


def test_cnn_ops_in_table(cnn) -> None:
    _, gm = cnn
    ops = decomposed_ops(gm, (torch.zeros(CNN_INPUT),))
    assert {"quantized_decomposed::quantize_per_tensor",
            "quantized_decomposed::dequantize_per_tensor",
            "quantized_decomposed::dequantize_per_channel"} <= ops
    assert ops <= set(OP_BY_NAME), sorted(ops - set(OP_BY_NAME))


# --- 4. int8 weights --------------------------------------------------------

def folded_weights(model: SmallCNN) -> list[torch.Tensor]:
    """conv1 with bn1 folded in, conv2, conv3, fc: the float weights the
    converted graph's conv/linear nodes quantize, in graph order."""
    bn = model.bn1
    factor = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    conv1 = model.conv1.weight * factor.reshape(-1, 1, 1, 1)
    return [w.detach() for w in (conv1, model.conv2.weight, model.conv3.weight,
                                 model.fc.weight)]


def test_int8_weights_match_float(cnn) -> None:
    model, gm = cnn
    nodes = call_nodes(gm, CONV, LINEAR)
    expected = folded_weights(model)
    assert len(nodes) == len(expected)
    for node, w_float in zip(nodes, expected):
        w_int, scale, dq = weight_dq(gm, node)
        assert w_int.shape == w_float.shape
        assert int(w_int.min()) >= -127 and int(w_int.max()) <= 127
        per_channel = (-1,) + (1,) * (w_float.dim() - 1)
        # symmetric min/max: the largest |w| of each channel maps to +-127
        amax = w_float.abs().flatten(1).amax(dim=1)
        torch.testing.assert_close(scale, amax / 127, rtol=1e-5, atol=0)
        assert torch.all(w_int.abs().flatten(1).amax(dim=1) == 127)
        # the graph's own dequantize lands within half a step of the float weight
        dequantized = DQ_PER_CHANNEL(
            *(fetch_attr(gm, a) if isinstance(a, Node) else a for a in dq.args))
        error = (dequantized - w_float).abs()
        assert torch.all(error <= scale.reshape(per_channel) / 2 * (1 + 1e-5)), node
