"""The golden driver must fail when a kernel disagrees with PyTorch: feed it
cases whose expected outputs are deliberately wrong (values, dtype, shape,
a refusal that PyTorch would not make, a tolerance one notch too tight) and
check it reports each one."""

from __future__ import annotations

import os
import subprocess

import pytest
from test_golden import _driver

torch = pytest.importorskip("torch")

from golden.core import CASE_REFUSED, Gen  # noqa: E402


def run(tmp_path, fill):
    exe = _driver()
    if exe is None:
        pytest.skip("golden_test is not built")
    g = Gen(0)
    fill(g)
    path = tmp_path / "g.bin"
    g.write(path)
    r = subprocess.run([str(exe)], capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, DDK_GOLDEN_FILE=str(path)))
    return r.returncode, r.stdout


def test_correct_cases_pass(tmp_path):
    x = torch.randn(3, 4)
    rc, out = run(tmp_path, lambda g: g.case("relu", "relu", [x]))
    assert rc == 0 and "1 passed, 0 failed" in out, out


@pytest.mark.parametrize("what", ["value", "dtype", "shape", "nan"])
def test_wrong_expectations_fail(tmp_path, what):
    x = torch.randn(3, 4)
    want = torch.relu(x)
    if what == "value":
        want = want.clone()
        want[1, 2] += 1e-3
    elif what == "dtype":
        want = want.double()
    elif what == "shape":
        want = want.reshape(4, 3)
    else:
        want = want.clone()
        want[0, 0] = float("nan")
    rc, out = run(tmp_path, lambda g: g.case("relu", "relu", [x], expected=[want]))
    assert rc != 0 and "0 passed, 1 failed" in out, out
    assert "FAIL relu [kernel]" in out


def test_refusal_that_pytorch_does_not_make_fails(tmp_path):
    x = torch.randn(3)
    rc, out = run(tmp_path, lambda g: g.raw_case("relu", "relu", [x], [torch.relu(x)],
                                                 flags=CASE_REFUSED))
    assert rc != 0 and "kernel accepted it" in out, out


def test_ulp_bound_is_enforced(tmp_path):
    # sigmoid's bound is a few ULP: an answer 64 ULP away must fail
    x = torch.linspace(-3, 3, 7)
    far = torch.sigmoid(x) * (1 + 64 * 2.0**-23)
    rc, out = run(tmp_path, lambda g: g.case("sigmoid", "sigmoid", [x], expected=[far]))
    assert rc != 0 and "bound" in out, out
