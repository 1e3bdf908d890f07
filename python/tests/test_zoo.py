"""The model zoo: every model exports, loads and runs on the portable
kernels, matching PyTorch within its documented tolerance (docs/exporter.md)
— fp32 models against eager, int8 models against the converted q/dq graph
run by PyTorch. Large models use small inputs here (ZooModel.test_input_size);
the architecture and weights are the full ones. Also `ddk zoo` and
`ddk compare` from the command line."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torchvision")

import ddk  # noqa: E402
from ddk import zoo  # noqa: E402
from ddk.compare import compare_outputs, sqnr_db  # noqa: E402

from conftest import run_cli  # noqa: E402

_CACHE: dict[str, tuple] = {}


def built_and_program(name: str):
    """(Built, program bytes) of zoo model `name` at its test size, cached
    per worker."""
    if name not in _CACHE:
        entry = zoo.get(name)
        built = zoo.build(name, seed=0, input_size=entry.test_input_size)
        _CACHE[name] = (built, built.export().to_bytes())
    return _CACHE[name]


def outputs(program: bytes, inputs) -> list[np.ndarray]:
    return ddk.run(program, [x.detach().numpy() for x in inputs])


@pytest.mark.parametrize("name", zoo.names())
def test_model_runs_and_matches_pytorch(name, libddk):
    entry = zoo.get(name)
    built, program = built_and_program(name)
    with ddk.load_program(program) as p:
        assert p.num_delegates == 0 and p.num_nodes > 0
        assert p.num_inputs == len(built.example_inputs)
    got = outputs(program, built.example_inputs)
    want = [w.detach().numpy() for w in built.reference()]
    reports = compare_outputs(got, want, entry.tolerance)
    bad = [r for r in reports if not r.ok]
    assert not bad, f"{name}: " + "; ".join(f"output {r.index}: {r.why}" for r in bad)
    # the comparison is not vacuous: outputs carry signal
    for w in want:
        if w.dtype.kind == "f":
            assert np.abs(w).max() > 1e-3, f"{name}: reference output is ~0"


@pytest.mark.parametrize("name", [n for n in zoo.names() if zoo.get(n).int8])
def test_int8_models_are_quantized_around_conv_linear_add_pool(name, libddk):
    built, program = built_and_program(name)
    prog = ddk.Program.from_bytes(program)
    producer = {o.index: n for n in prog.nodes for o in n.outputs}
    ops = [n.op_name for n in prog.nodes]
    assert "quantized_decomposed::quantize_per_tensor" in ops
    compute = [n for n in prog.nodes if n.op_name in
               ("aten::convolution", "aten::addmm", "aten::mm")]
    assert compute
    for n in compute:
        # weight: an int8 constant through dequantize_per_channel
        w = n.args[1].value if n.op_name != "aten::addmm" else n.args[2].value
        src = producer.get(w)
        if n.op_name == "aten::addmm" and src is not None and \
                src.op_name == "aten::permute":
            src = producer.get(src.args[0].value)
        assert src is not None and src.op_name == \
            "quantized_decomposed::dequantize_per_channel", (name, n.name)
        q = prog.values[src.args[0].value]
        assert q.is_constant and q.spec.dtype_name == "int8"
        assert q.data.min() >= -127 and q.data.max() <= 127
        # activation: dequantize_per_tensor of int8 in [-128, 127]
        a = n.args[0].value if n.op_name != "aten::addmm" else n.args[1].value
        src = producer.get(a)
        assert src is not None and src.op_name == \
            "quantized_decomposed::dequantize_per_tensor", (name, n.name)
    for n in prog.nodes:
        if n.op_name == "quantized_decomposed::quantize_per_tensor":
            assert [a.value for a in n.args[3:5]] == [-128, 127]
    if name != "mlp_int8":
        assert "aten::add.Tensor" in ops


@pytest.mark.parametrize("name", [n for n in zoo.names() if zoo.get(n).int8])
def test_int8_models_stay_close_to_fp32(name, libddk):
    """Quantization is not garbage: the int8 program against the fp32 model.
    A loose bound: random-weight deep networks amplify int8 rounding (the
    converted graph itself is 5.6 dB from fp32 on ResNet50, 36 dB on the MLP;
    a wrong scale or zero point gives 0 dB or less); the tight checks are
    against the converted graph."""
    built, program = built_and_program(name)
    fp = zoo.build(name.removesuffix("_int8"), seed=0,
                   input_size=zoo.get(name).test_input_size)
    (got,) = outputs(program, built.example_inputs)
    (want,) = [w.detach().numpy() for w in fp.reference()]
    assert sqnr_db(want, got) > 3.0


def test_mlp_dynamic_batch_runs_at_every_size_up_to_its_bound(libddk):
    built, program = built_and_program("mlp")
    spec = ddk.Program.from_bytes(program).inputs[0].spec
    assert spec.dynamic == {0} and spec.sizes[0] == zoo.MLP_MAX_BATCH
    for batch in (1, 7, zoo.MLP_MAX_BATCH):
        x = torch.randn(batch, 784)
        (got,) = outputs(program, (x,))
        (want,) = built.reference((x,))
        np.testing.assert_allclose(got, want.numpy(), rtol=1e-4, atol=1e-5)
    with pytest.raises(ddk.DDKError, match="at most"):
        ddk.run(program, [np.zeros((zoo.MLP_MAX_BATCH + 1, 784), np.float32)])


def test_llama_decode_continues_llama_prefill_on_the_runtime(libddk):
    """Prefill's KV cache, produced by our runtime, feeds the decode program;
    its logits equal eager prefill of one more token (cache correctness end
    to end, not only each program against its own module)."""
    from ddk.zoo import decoder

    pre, pre_prog = built_and_program("llama_prefill")
    dec, dec_prog = built_and_program("llama_decode")
    tokens = pre.example_inputs[0]
    t = tokens.shape[1]
    _, k_cache, v_cache = outputs(pre_prog, (tokens,))
    nxt = torch.tensor([[7]], dtype=torch.int64)
    logits, _, _ = ddk.run(dec_prog, [nxt.numpy(), np.array([t], np.int64),
                                      k_cache, v_cache])
    longer = torch.cat([tokens, nxt], dim=1)
    with torch.no_grad():
        want = decoder.Prefill(pre.module.decoder)(longer)[0][:, -1:]
    np.testing.assert_allclose(logits, want.numpy(), rtol=1e-4, atol=1e-4)


# -- the command line -------------------------------------------------------

def test_zoo_list_names_every_model(ddk_cli):
    r = run_cli(ddk_cli, "zoo", "list", "--json", timeout=60)
    assert r.returncode == 0, r.stderr
    assert [m["name"] for m in json.loads(r.stdout)] == zoo.names()


def test_zoo_build_then_compare(ddk_cli, tmp_path):
    out = tmp_path / "zoo"
    r = run_cli(ddk_cli, "zoo", "build", "mlp", "mobilenet_v2_int8", "--out", out,
                "--input-size", "32", timeout=300)
    assert r.returncode == 0, r.stderr
    for name in ("mlp", "mobilenet_v2_int8"):
        manifest = json.loads((out / f"{name}.json").read_text())
        assert manifest["name"] == name and manifest["bytes"] == \
            (out / f"{name}.ddk").stat().st_size
        assert manifest["nodes"] == sum(manifest["ops"].values())
        r = run_cli(ddk_cli, "compare", out / f"{name}.ddk", "--module", name, "--json",
                    timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr
        result = json.loads(r.stdout)
        assert result["ok"] and result["outputs"][0]["max_abs"] >= 0
    # `ddk run` takes the written inputs
    r = run_cli(ddk_cli, "run", out / "mlp.ddk", "--input", out / "mlp.input0.npy")
    assert r.returncode == 0, r.stderr


def test_compare_fails_on_a_program_from_other_weights(ddk_cli, tmp_path):
    r = run_cli(ddk_cli, "zoo", "build", "mlp", "--out", tmp_path, "--seed", "1",
                timeout=300)
    assert r.returncode == 0, r.stderr
    (tmp_path / "mlp.json").unlink()  # no sidecar: compare uses seed 0
    r = run_cli(ddk_cli, "compare", tmp_path / "mlp.ddk", "--module", "mlp",
                "--input", tmp_path / "mlp.input0.npy", timeout=300)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "FAIL" in r.stdout and "max abs error" in r.stdout


def test_cli_bad_input_exits_2(ddk_cli, tmp_path):
    r = run_cli(ddk_cli, "zoo", "build", "resnet9000", "--out", tmp_path, timeout=60)
    assert r.returncode == 2 and "unknown zoo model 'resnet9000'" in r.stderr
    r = run_cli(ddk_cli, "compare", tmp_path / "none.ddk", "--module", "mlp", timeout=60)
    assert r.returncode == 2 and "no such program file" in r.stderr
    r = run_cli(ddk_cli, "zoo", "build", "mlp", "--out", tmp_path, timeout=300)
    bad = tmp_path / "bad.npy"
    np.save(bad, np.zeros((3, 5), np.float32))
    r = run_cli(ddk_cli, "compare", tmp_path / "mlp.ddk", "--module", "mlp",
                "--input", bad, timeout=300)
    assert r.returncode == 2 and "does not fit" in r.stderr


def test_cli_export_of_a_user_module_and_a_refusal(ddk_cli, tmp_path):
    src = tmp_path / "mymodels.py"
    src.write_text(
        "import torch\n"
        "def small():\n"
        "    torch.manual_seed(0)\n"
        "    return torch.nn.Sequential(torch.nn.Linear(6, 4), torch.nn.Tanh())\n"
        "class Bad(torch.nn.Module):\n"
        "    def forward(self, x):\n"
        "        return torch.cumprod(x, 0)\n"
        "def bad():\n"
        "    return Bad(), (torch.ones(3),)\n")
    out = tmp_path / "small.ddk"
    r = run_cli(ddk_cli, "export", f"{src}:small", "--out", out, "--input-shape", "2x6",
                timeout=120)
    assert r.returncode == 0, r.stderr
    assert re.search(r"small\.ddk: [1-9]\d* nodes", r.stdout), r.stdout
    r = run_cli(ddk_cli, "compare", out, "--module", f"{src}:small", timeout=120)
    assert r.returncode == 0 and "PASS" in r.stdout, r.stdout + r.stderr
    r = run_cli(ddk_cli, "export", f"{src}:bad", "--out", tmp_path / "bad.ddk",
                timeout=120)
    assert r.returncode == 2
    assert "aten::cumprod is not in the DDK op table" in r.stderr
    assert "mymodels.py:7" in r.stderr


@pytest.mark.parametrize("name", ["resnet18_int8", "mobilenet_v3_small_int8"])
def test_int8_layers_match_pytorch_within_one_quantum(name, libddk):
    """Layer by layer, each from PyTorch's own int8 inputs: what is left is
    the kernels' rounding — at most one quantum, on a tiny fraction."""
    from ddk.compare import int8_layers

    built, _ = built_and_program(name)
    layers = int8_layers(built.module, built.example_inputs)
    assert len(layers) >= 10
    ops = {op for r in layers for op in r.ops}
    assert {"conv2d", "add"} <= ops or {"conv2d", "linear"} <= ops
    total = sum(r.elements for r in layers)
    bad = sum(r.mismatches for r in layers)
    assert max(r.max_quanta for r in layers) <= 1
    assert bad <= total * 1e-3, f"{bad} of {total} int8 outputs differ"
