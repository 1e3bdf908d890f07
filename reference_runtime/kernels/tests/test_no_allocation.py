"""Portable kernels and the executor allocate nothing: the kernel objects
reference no allocator or I/O symbol at all (the runtime's own test checks
the executor through a counting allocator)."""
import glob
import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
BUILD = os.environ.get("DDK_BUILD_DIR", os.path.join(ROOT, "build"))
FORBIDDEN = {"malloc", "calloc", "realloc", "free", "posix_memalign",
             "aligned_alloc", "fopen", "fwrite", "printf", "abort", "exit"}


def test_kernel_objects_reference_no_allocator():
    objs = glob.glob(os.path.join(BUILD, "CMakeFiles", "ddk_kernels.dir", "**", "*.o"),
                     recursive=True)
    if not objs:
        pytest.fail(f"no kernel objects under {BUILD}: build first")
    bad = {}
    for o in objs:
        out = subprocess.run(["nm", "-u", o], capture_output=True, text=True,
                             check=True).stdout
        syms = {l.split()[-1].split("@")[0] for l in out.splitlines() if l.strip()}
        hit = syms & FORBIDDEN
        if hit:
            bad[os.path.basename(o)] = sorted(hit)
    assert not bad, bad
