"""The template backend builds out of tree against the *installed* DDK —
with find_package(ddk) and with pkg-config — and the result loads as a
plugin and takes nodes of a program."""
import json
import os
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("DDK_BUILD_DIR", os.path.join(ROOT, "build"))


@pytest.fixture(scope="module")
def prefix(tmp_path_factory):
    if not os.path.exists(os.path.join(BUILD, "ddk")):
        pytest.fail(f"{BUILD}/ddk is not built: run `make build` first")
    pre = tmp_path_factory.mktemp("prefix")
    subprocess.run(["cmake", "--install", BUILD, "--prefix", str(pre)],
                   check=True, capture_output=True)
    return pre


@pytest.fixture(scope="module")
def mlp_program(tmp_path_factory):
    import sys
    sys.path.insert(0, os.path.join(ROOT, "python"))
    from ddk import models
    data, _, _ = models.build_mlp(0)
    path = tmp_path_factory.mktemp("prog") / "mlp.ddk"
    path.write_bytes(data)
    return str(path)


def lowered_node_count(prefix, plugin, program):
    ddk = os.path.join(prefix, "bin", "ddk")
    r = subprocess.run([ddk, "inspect", program, "--json", "--backend", plugin],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    return sum(1 for n in info["nodes"] if n["backend"] == "template")


def test_installed_headers_are_standalone(prefix):
    inc = os.path.join(prefix, "include", "ddk")
    for h in ("delegate_api.h", "op_ids.h"):
        text = open(os.path.join(inc, h)).read()
        includes = [l for l in text.splitlines() if l.startswith("#include")]
        assert all(any(s in l for s in ("<stddef.h>", "<stdint.h>", "<stdbool.h>"))
                   for l in includes), includes


def test_find_package_build(prefix, tmp_path, mlp_program):
    src = tmp_path / "src"
    shutil.copytree(os.path.join(ROOT, "sample_delegates", "template"), src,
                    ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    b = tmp_path / "b"
    subprocess.run(["cmake", "-S", str(src), "-B", str(b), f"-DCMAKE_PREFIX_PATH={prefix}",
                    "-DCMAKE_C_FLAGS=-Wall -Wextra -Werror"],
                   check=True, capture_output=True, text=True)
    r = subprocess.run(["cmake", "--build", str(b)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    plugin = str(b / "libddk_backend_template.so")
    assert os.path.exists(plugin)
    assert lowered_node_count(prefix, plugin, mlp_program) >= 2


def test_pkg_config_build(prefix, tmp_path, mlp_program):
    env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(prefix, "lib", "pkgconfig"))
    cflags = subprocess.run(["pkg-config", "--cflags", "ddk"], env=env, check=True,
                            capture_output=True, text=True).stdout.split()
    plugin = str(tmp_path / "libddk_backend_template.so")
    src = os.path.join(ROOT, "sample_delegates", "template", "template_backend.c")
    subprocess.run(["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC",
                    "-fvisibility=hidden", *cflags, src, "-o", plugin, "-lm"],
                   check=True, capture_output=True, text=True)
    assert lowered_node_count(prefix, plugin, mlp_program) >= 2
