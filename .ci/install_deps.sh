#!/usr/bin/env bash
# Installs what the DDK needs and is missing, and says what it installs.
# Debian packages via apt-get (as root), Python packages via pip.
# Usage: install_deps.sh [test|certify]
set -euo pipefail

# chromium: headless, for the conformance report's page tests
# (conformance/tests/test_report_html.py)
# libxnnpack-dev, libpthreadpool-dev: the XNNPACK sample delegate (sample_delegates/xnnpack)
# nlohmann-json3-dev: perf/op_bench reads its programs manifest (JSON)
# libvulkan-dev (the Vulkan loader), mesa-vulkan-drivers (lavapipe, a CPU Vulkan device),
# glslc (GLSL -> SPIR-V at build time), vulkan-tools (vulkaninfo): the Vulkan sample delegate
DEB_PKGS=(cmake make gcc g++ clang libclang-rt-14-dev pkg-config libbenchmark-dev chromium
          libxnnpack-dev libpthreadpool-dev nlohmann-json3-dev
          libvulkan-dev mesa-vulkan-drivers glslc vulkan-tools)
# pip name[:import name]
# torchvision: the zoo's vision models; torchao: PT2E int8 quantisation (python/ddk/quantize.py)
# matplotlib: `ddk profile --plot/--html` (python/ddk/profile_report.py)
PY_PKGS=(numpy pytest pytest-xdist:xdist torch torchvision torchao matplotlib)

missing_deb=()
for p in "${DEB_PKGS[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing_deb+=("$p")
done
if ((${#missing_deb[@]})); then
  echo "[deps] installing Debian packages: ${missing_deb[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing_deb[@]}"
else
  echo "[deps] Debian packages present: ${DEB_PKGS[*]}"
fi

PY=${PYTHON:-python3}
missing_py=()
for p in "${PY_PKGS[@]}"; do
  "$PY" -c "import ${p#*:}" >/dev/null 2>&1 || missing_py+=("${p%%:*}")
done
if ((${#missing_py[@]})); then
  echo "[deps] installing Python packages with $PY -m pip: ${missing_py[*]} (torch is large: this takes a while once)"
  "$PY" -m pip install -q "${missing_py[@]}"
else
  echo "[deps] Python packages present: ${PY_PKGS[*]}"
fi
