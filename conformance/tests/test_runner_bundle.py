"""ddk_conform --bundle, the no-Python path: a folder of cases, graph
cases and a SHA256SUMS manifest that the runner verifies with its own
SHA-256 before it runs anything; and that SHA-256 against hashlib."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from conform_support import runner, template_plugin, write_cases  # noqa: F401 (fixtures)

OPS = ["aten::relu", "aten::exp"]


def conform(runner, *args, timeout=300):
    r = subprocess.run([str(runner), *map(str, args)], capture_output=True, text=True,
                       timeout=timeout)
    rows = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
    return r, rows


def sha256sums(root: Path, skip=("SHA256SUMS",)) -> str:
    """SHA256SUMS of every file under root, written with hashlib."""
    lines = []
    for p in sorted(q for q in root.rglob("*") if q.is_file() and q.name not in skip):
        lines.append(f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.relative_to(root)}")
    return "\n".join(lines) + "\n"


def chain_program(path: Path):
    from ddk.program import Program
    p = Program()
    v = p.add_input("float32", [4, 8], name="x")
    for k, op in enumerate(["aten::relu", "aten::exp", "aten::relu"]):
        o = p.add_value("float32", [4, 8], name=f"v{k}")
        p.add_node(op, [v], outputs=[o])
        v = o
    p.add_output(v)
    p.save(path)


def make_bundle(root: Path, op_table_hash: int | None = None, fmt: str = "1",
                cases: str = "cases.bin", graphs: str = "graphs/graphs.tsv") -> Path:
    from ddk.ops_meta import OP_TABLE_HASH
    root.mkdir(parents=True)
    write_cases(root / "cases.bin", OPS)
    (root / "graphs" / "chain").mkdir(parents=True)
    chain_program(root / "graphs" / "chain" / "program.ddk")
    np.save(root / "graphs" / "chain" / "x.npy",
            np.random.default_rng(0).standard_normal((4, 8)).astype(np.float32))
    (root / "graphs" / "graphs.tsv").write_text(
        "name\tprogram\tinputs\trtol\tatol\ttags\n"
        "chain\tchain/program.ddk\tchain/x.npy\t1e-5\t1e-6\tgraph\n")
    h = OP_TABLE_HASH if op_table_hash is None else op_table_hash
    (root / "BUNDLE").write_text(f"format={fmt}\nop_table_hash=0x{h:016x}\ncases={cases}\n"
                                 f"graphs={graphs}\nsuite_version=test\n")
    (root / "SHA256SUMS").write_text(sha256sums(root))
    return root


def strip_time(rows):
    return [{k: v for k, v in r.items() if k != "time_ms"} for r in rows]


def test_a_good_bundle_runs_like_its_files(runner, template_plugin, tmp_path):
    b = make_bundle(tmp_path / "b")
    r, rows = conform(runner, "--bundle", b, "--backend", template_plugin)
    assert r.returncode == 0, r.stderr
    kinds = [x["kind"] for x in rows]
    assert "op" in kinds and kinds[-1] == "graph"
    g = rows[-1]
    assert (g["case"], g["outcome"], g["delegated"], g["partitions"]) == ("chain", "pass", 2, 2)
    # exactly what --cases/--graphs on the same files give
    r2, direct = conform(runner, "--cases", b / "cases.bin", "--graphs", b / "graphs/graphs.tsv",
                         "--backend", template_plugin)
    assert r2.returncode == 0 and strip_time(rows) == strip_time(direct)
    # a bundle of graphs only is fine too (cases empty)
    b2 = make_bundle(tmp_path / "b2", cases="")
    r3, rows3 = conform(runner, "--bundle", b2, "--backend", template_plugin)
    assert r3.returncode == 0 and [x["kind"] for x in rows3] == ["graph"]


@pytest.mark.parametrize("victim", ["cases.bin", "graphs/chain/x.npy", "graphs/chain/program.ddk",
                                    "graphs/graphs.tsv", "BUNDLE"])
def test_a_flipped_byte_is_refused_naming_the_file(runner, template_plugin, tmp_path, victim):
    b = make_bundle(tmp_path / "b")
    f = b / victim
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0x01
    f.write_bytes(bytes(data))
    r, rows = conform(runner, "--bundle", b, "--backend", template_plugin)
    assert r.returncode == 2 and rows == []
    assert victim in r.stderr and "does not match SHA256SUMS" in r.stderr


def test_missing_and_unlisted_files_are_refused(runner, template_plugin, tmp_path):
    b = make_bundle(tmp_path / "b")
    (b / "graphs/chain/x.npy").unlink()
    r, _ = conform(runner, "--bundle", b, "--backend", template_plugin)
    assert r.returncode == 2 and "graphs/chain/x.npy is missing" in r.stderr
    # used by the graphs TSV but not listed
    b = make_bundle(tmp_path / "c")
    sums = [l for l in (b / "SHA256SUMS").read_text().splitlines() if "x.npy" not in l]
    (b / "SHA256SUMS").write_text("\n".join(sums) + "\n")
    r, _ = conform(runner, "--bundle", b, "--backend", template_plugin)
    assert r.returncode == 2 and "graphs/chain/x.npy" in r.stderr and "not listed" in r.stderr
    # BUNDLE itself must be listed
    b = make_bundle(tmp_path / "g")
    sums = [l for l in (b / "SHA256SUMS").read_text().splitlines() if not l.endswith("  BUNDLE")]
    (b / "SHA256SUMS").write_text("\n".join(sums) + "\n")
    r, _ = conform(runner, "--bundle", b, "--backend", template_plugin)
    assert r.returncode == 2 and "BUNDLE" in r.stderr and "not listed" in r.stderr
    # no SHA256SUMS at all
    b = make_bundle(tmp_path / "d")
    (b / "SHA256SUMS").unlink()
    r, _ = conform(runner, "--bundle", b, "--backend", template_plugin)
    assert r.returncode == 2 and "SHA256SUMS" in r.stderr
    # a path that leaves the bundle
    b = make_bundle(tmp_path / "e")
    with open(b / "SHA256SUMS", "a") as f:
        f.write("0" * 64 + "  ../outside\n")
    r, _ = conform(runner, "--bundle", b, "--backend", template_plugin)
    assert r.returncode == 2 and "not inside the bundle" in r.stderr
    # a line that is not sha256sum's format
    b = make_bundle(tmp_path / "f")
    with open(b / "SHA256SUMS", "a") as f:
        f.write("abc  cases.bin\n")
    r, _ = conform(runner, "--bundle", b, "--backend", template_plugin)
    assert r.returncode == 2 and "SHA256SUMS:" in r.stderr


def test_wrong_op_table_or_format_is_refused(runner, template_plugin, tmp_path):
    from ddk.ops_meta import OP_TABLE_HASH
    other = OP_TABLE_HASH ^ 0x1
    b = make_bundle(tmp_path / "b", op_table_hash=other)
    r, rows = conform(runner, "--bundle", b, "--backend", template_plugin)
    assert r.returncode == 2 and rows == []
    assert (f"bundle built for op table 0x{other:016x}, runner has 0x{OP_TABLE_HASH:016x}"
            in r.stderr)
    b = make_bundle(tmp_path / "c", fmt="2")
    r, _ = conform(runner, "--bundle", b, "--backend", template_plugin)
    assert r.returncode == 2 and "format" in r.stderr
    b = make_bundle(tmp_path / "d", cases="", graphs="")
    r, _ = conform(runner, "--bundle", b, "--backend", template_plugin)
    assert r.returncode == 2 and "no cases" in r.stderr


def test_bundle_is_not_combined_with_cases(runner, template_plugin, tmp_path):
    b = make_bundle(tmp_path / "b")
    r, _ = conform(runner, "--bundle", b, "--cases", b / "cases.bin", "--backend", template_plugin)
    assert r.returncode == 2 and "usage" in r.stderr


def test_sha256sum_style_binary_marker_and_copies(runner, template_plugin, tmp_path):
    """`sha256sum -b` writes " *path"; and a bundle copied elsewhere still
    verifies (paths are relative)."""
    b = make_bundle(tmp_path / "b")
    text = (b / "SHA256SUMS").read_text().replace("  ", " *")
    (b / "SHA256SUMS").write_text(text)
    moved = shutil.copytree(b, tmp_path / "elsewhere" / "b")
    r, rows = conform(runner, "--bundle", moved, "--backend", template_plugin)
    assert r.returncode == 0 and rows, r.stderr


# the lengths around SHA-256's padding boundaries (55/56 bytes: the length
# still fits / no longer fits in the last block; 64: a whole block)
LENGTHS = [0, 1, 3, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 1000, 1 << 20, (1 << 20) + 7]


def test_sha256_matches_hashlib(runner, tmp_path):
    rng = np.random.default_rng(7)
    files = []
    for n in LENGTHS:
        p = tmp_path / f"f{n}.bin"
        p.write_bytes(rng.integers(0, 256, n, dtype=np.uint8).tobytes())
        files.append(p)
    (tmp_path / "a.bin").write_bytes(b"a" * 1000000)
    files.append(tmp_path / "a.bin")
    r = subprocess.run([str(runner), "--sha256", *map(str, files)], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    got = dict(reversed(line.split("  ", 1)) for line in r.stdout.splitlines())
    for p in files:
        assert got[str(p)] == hashlib.sha256(p.read_bytes()).hexdigest(), p.name
    r = subprocess.run([str(runner), "--sha256", str(tmp_path / "nope")], capture_output=True,
                       text=True)
    assert r.returncode == 2 and "nope" in r.stderr
