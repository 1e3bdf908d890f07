"""End to end: three small PyTorch models, built as DDK programs with the
same weights, run (a) through the ctypes binding on portable kernels,
(b) through the binding lowered for the template backend, (c) through the
`ddk run` CLI, portable and with the template plugin — each compared with
torch eager within float32 tolerances.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import (
    ATOL,
    RTOL,
    read_outputs,
    run_cli,
    torch_reference,
    write_inputs,
)

import ddk

# Ops the template backend claims (fp32, same-shape operands).
TEMPLATE_OPS = {"aten::add.Tensor", "aten::sub.Tensor", "aten::mul.Tensor",
                "aten::relu", "aten::sigmoid", "aten::tanh"}


def assert_close(actual, expected, what: str) -> None:
    assert len(actual) == len(expected), f"{what}: {len(actual)} outputs, " \
        f"expected {len(expected)}"
    for i, (a, e) in enumerate(zip(actual, expected)):
        assert a.dtype == e.dtype, f"{what}: output {i} dtype {a.dtype} != {e.dtype}"
        assert a.shape == e.shape, f"{what}: output {i} shape {a.shape} != {e.shape}"
        np.testing.assert_allclose(a, e, rtol=RTOL, atol=ATOL,
                                   err_msg=f"{what}: output {i}")


def test_program_structure(model, libddk):
    """The built program loads, verifies, and uses only portable ops."""
    name, program, _module, inputs = model
    with ddk.load_program(program) as p:
        assert p.num_delegates == 0
        assert p.num_inputs == len(inputs)
        assert p.num_nodes > 0 and p.num_instructions == p.num_nodes
        ops = {n["op_name"] for n in p.nodes}
        assert ops & TEMPLATE_OPS, f"{name}: nothing the template backend can claim"
        for spec, x in zip(p.inputs, inputs):
            assert spec["shape"] == x.shape and spec["dtype_name"] == "float32"


def test_portable_ctypes(model, libddk):
    name, program, module, inputs = model
    expected = torch_reference(module, inputs)
    outs = ddk.run(program, inputs)
    assert all(isinstance(o, np.ndarray) for o in outs)
    assert_close(outs, expected, f"{name} portable (ctypes)")


def test_template_ctypes(model, libddk, template_plugin):
    name, program, module, inputs = model
    expected = torch_reference(module, inputs)
    with ddk.Runtime() as rt:
        backend = rt.add_backend(template_plugin)
        assert backend == "template"
        with ddk.load_program(program) as src, rt.lower(src, [backend]) as low:
            # The lowered program really delegates, and kernels remain.
            assert low.num_delegates >= 1, f"{name}: nothing was delegated"
            kinds = [k for k, _ in low.instructions]
            assert "kernel" in kinds and "delegate" in kinds
            delegated = set()
            for d in low.delegates:
                assert d["backend"] == "template"
                assert d["blob_size"] > 0
                delegated.update(d["nodes"])
            nodes = src.nodes
            for i in delegated:
                assert nodes[i]["op_name"] in TEMPLATE_OPS, \
                    f"{name}: template claimed {nodes[i]['op_name']}"
            # Every node is covered exactly once by the plan.
            kernel_nodes = [i for k, i in low.instructions if k == "kernel"]
            assert sorted(kernel_nodes + sorted(delegated)) == list(range(src.num_nodes))
            # The source program is unchanged.
            assert src.num_delegates == 0
            with rt.method(low) as m:
                m.set_inputs(inputs)
                m.execute()
                outs = m.outputs()
                assert_close(outs, expected, f"{name} template (ctypes)")
                # A second execute on fresh inputs reuses the plan.
                m.set_inputs([x * 0.5 for x in inputs])
                m.execute()
                assert_close(m.outputs(),
                             torch_reference(module, [x * 0.5 for x in inputs]),
                             f"{name} template (ctypes, second run)")
    # The convenience path agrees too.
    assert_close(ddk.run(program, inputs, backends=[str(template_plugin)]), expected,
                 f"{name} template (ddk.run)")


def test_lowered_roundtrip(model, libddk, template_plugin, tmp_path):
    """A lowered program saved to a file and loaded back runs the same."""
    name, program, module, inputs = model
    expected = torch_reference(module, inputs)
    with ddk.Runtime() as rt:
        rt.add_backend(template_plugin)
        low = rt.lower(program, ["template"])
        path = tmp_path / f"{name}_template.ddk"
        low.save(path)
        again = ddk.load_program(path)
        assert again.num_delegates == low.num_delegates
        assert again.instructions == low.instructions
        assert ddk.load_program(low.to_bytes()).num_delegates == low.num_delegates
        with rt.method(again) as m:
            assert_close(m(*inputs), expected, f"{name} lowered, saved, reloaded")
        again.close()
        low.close()


def _cli_run(cli, program_path, input_paths, out_dir, *extra):
    args = ["run", program_path, "--output-dir", out_dir]
    for p in input_paths:
        args += ["--input", p]
    return run_cli(cli, *args, *extra)


@pytest.mark.parametrize("with_template", [False, True], ids=["portable", "template"])
def test_cli_run(model, ddk_cli, template_plugin, tmp_path, with_template):
    name, program, module, inputs = model
    expected = torch_reference(module, inputs)
    prog = tmp_path / f"{name}.ddk"
    prog.write_bytes(program)
    input_paths = write_inputs(tmp_path / "in", inputs)
    out_dir = tmp_path / "out"
    extra = ["--backend", template_plugin] if with_template else []
    proc = _cli_run(ddk_cli, prog, input_paths, out_dir, *extra)
    assert proc.returncode == 0, f"ddk run failed ({proc.returncode}):\n{proc.stderr}"
    outs = read_outputs(out_dir, len(expected))
    assert_close(outs, expected, f"{name} CLI {'template' if with_template else 'portable'}")


def test_cli_lower_then_run(model, ddk_cli, template_plugin, tmp_path):
    """`ddk lower` writes a program with delegates that `ddk run` executes."""
    name, program, module, inputs = model
    expected = torch_reference(module, inputs)
    prog = tmp_path / f"{name}.ddk"
    prog.write_bytes(program)
    lowered = tmp_path / f"{name}_template.ddk"
    proc = run_cli(ddk_cli, "lower", prog, "--backend", template_plugin, "-o", lowered)
    assert proc.returncode == 0, proc.stderr
    proc = run_cli(ddk_cli, "inspect", lowered, "--json", "--backend", template_plugin)
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert len(info["delegates"]) >= 1
    backends = {n["backend"] for n in info["nodes"]}
    assert backends == {"portable", "template"}, backends
    input_paths = write_inputs(tmp_path / "in", inputs)
    proc = _cli_run(ddk_cli, lowered, input_paths, tmp_path / "out",
                    "--backend", template_plugin)
    assert proc.returncode == 0, proc.stderr
    assert_close(read_outputs(tmp_path / "out", len(expected)), expected,
                 f"{name} CLI lowered file")
    # A lowered program without its backend registered cannot run.
    proc = _cli_run(ddk_cli, lowered, input_paths, tmp_path / "out2")
    assert proc.returncode in (1, 2) and proc.stderr.strip(), proc.stderr


def test_seeds_give_different_weights(libddk):
    pytest.importorskip("torch")
    from ddk import models

    a, _, xa = models.build_mlp(0)
    b, _, xb = models.build_mlp(1)
    c, _, xc = models.build_mlp(0)
    assert a != b
    assert a == c, "building is not deterministic for one seed"
    assert all(np.array_equal(p, q) for p, q in zip(xa, xc))


def test_models_do_not_touch_global_rng():
    torch = pytest.importorskip("torch")
    from ddk import models

    torch.manual_seed(1234)
    expected = torch.rand(3)
    torch.manual_seed(1234)
    models.build_cnn(7)
    assert torch.equal(torch.rand(3), expected)


def test_cli_options_reach_the_backend(model, ddk_cli, template_plugin, tmp_path):
    """--option KEY=VALUE goes to lowering and to the method: the template's
    injected init failure stops `ddk run`, and delegate_fallback=true runs
    the same nodes on the portable kernels, with a warning, to the same
    result."""
    name, program, module, inputs = model
    expected = torch_reference(module, inputs)
    prog = tmp_path / f"{name}.ddk"
    prog.write_bytes(program)
    input_paths = write_inputs(tmp_path / "in", inputs)
    fail = ["--backend", template_plugin, "--option", "template.fail_at=init"]
    proc = _cli_run(ddk_cli, prog, input_paths, tmp_path / "out", *fail)
    assert proc.returncode == 1 and "init failed" in proc.stderr, proc.stderr
    assert "delegate_fallback=true" in proc.stderr
    proc = _cli_run(ddk_cli, prog, input_paths, tmp_path / "out", *fail,
                    "--option", "delegate_fallback=true")
    assert proc.returncode == 0, proc.stderr
    assert "falling back" in proc.stderr and "ran on the portable kernels" in proc.stdout
    assert_close(read_outputs(tmp_path / "out", len(expected)), expected, f"{name} fallback")
    proc = run_cli(ddk_cli, "inspect", prog, "--backend", template_plugin,
                   "--option", "template.fail_at=partition")
    assert proc.returncode == 1 and "injected failure in partition" in proc.stderr
    proc = run_cli(ddk_cli, "inspect", prog, "--option", "no_equals_sign")
    assert proc.returncode == 2 and "KEY=VALUE" in proc.stderr
