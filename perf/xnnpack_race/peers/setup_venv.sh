#!/usr/bin/env bash
# Creates the virtual environment of the race's peers (ExecuTorch, ONNX
# Runtime) and installs into it, from PyPI, what is missing. Idempotent: a
# second run installs nothing and only re-checks the imports.
#
#   perf/xnnpack_race/peers/setup_venv.sh [VENV]     (default build/perf-peers-venv)
#
# What it installs (pinned, so the numbers can be reproduced):
#   executorch   the ExecuTorch export path and its prebuilt runtime
#                (executorch.runtime, the XNNPACK delegate linked in)
#   torch, torchvision, torchao
#                the versions that ExecuTorch release is built against; the
#                prebuilt runtime links libtorch, so they must match it
#   onnxruntime  the ONNX Runtime CPU execution provider, and its static
#                quantiser (onnxruntime.quantization)
#   onnx, onnxscript
#                torch.onnx.export's dependencies
#
# The venv is made with --system-site-packages: a package the main Python
# already has at the pinned version (torch and its CUDA libraries are
# several GB) is used from there, anything else, or any other version, is
# installed into the venv, which shadows the main one. The main Python is
# never modified.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
VENV=${1:-$ROOT/build/perf-peers-venv}
PY=${PYTHON:-python3}

EXECUTORCH_VERSION=1.5.1
TORCH_VERSION=2.15.0
TORCHVISION_VERSION=0.29.2
TORCHAO_VERSION=0.18.0
ONNXRUNTIME_VERSION=1.31.1
ONNX_PKGS=(onnx==1.23.2 onnxscript==0.7.2)

PKGS=("executorch==$EXECUTORCH_VERSION" "torch==$TORCH_VERSION"
      "torchvision==$TORCHVISION_VERSION" "torchao==$TORCHAO_VERSION"
      "onnxruntime==$ONNXRUNTIME_VERSION" "${ONNX_PKGS[@]}")

if [ ! -x "$VENV/bin/python" ]; then
  echo "[peers] creating $VENV (with the main Python's packages underneath)"
  "$PY" -m venv --system-site-packages "$VENV"
fi
VPY="$VENV/bin/python"

check() {
  "$VPY" - "$@" <<'PYEOF'
import importlib.metadata as md, sys
want = {}
for spec in sys.argv[1:]:
    name, _, ver = spec.partition("==")
    want[name] = ver
bad = []
for name, ver in want.items():
    try:
        have = md.version(name)
    except md.PackageNotFoundError:
        bad.append(f"{name} (missing)")
        continue
    if ver and have.split("+")[0] != ver:
        bad.append(f"{name} {have} (want {ver})")
print("; ".join(bad))
sys.exit(1 if bad else 0)
PYEOF
}

if missing=$(check "${PKGS[@]}"); then
  echo "[peers] present in $VENV: ${PKGS[*]}"
else
  echo "[peers] installing into $VENV: $missing"
  "$VPY" -m pip install -q "${PKGS[@]}"
fi

"$VPY" - <<'PYEOF'
import importlib.metadata as md
import torch, torchvision, onnxruntime, onnx
from executorch.runtime import Runtime  # the prebuilt runtime loads libtorch
from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
print("[peers] ok: " + ", ".join(f"{p} {md.version(p)}" for p in (
    "executorch", "torch", "torchvision", "torchao", "onnxruntime", "onnx", "onnxscript")))
PYEOF
