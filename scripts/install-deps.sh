#!/usr/bin/env bash
# Installs the Debian packages polympc needs, only those missing (apt-get, as root or
# through sudo). Usage: scripts/install-deps.sh [--torch] [--torch-python] [--bench] [--xrt] [--python]
# --torch-python: Debian's python3-torch, for python/examples/latency_aware_search.py.
# --xrt: Debian's XRT 2.13 (libxrt-dev, which brings libxrt1 with the noop shim) and
# libuuid's headers, for the XRT host driver (-DPOLYMPC_WITH_XRT=ON, docs/fpga.md).
set -euo pipefail
pkgs=(g++ cmake make pkg-config libssl-dev libgtest-dev libasio-dev nlohmann-json3-dev libcli11-dev
      libeigen3-dev libonnx-dev libprotobuf-dev protobuf-compiler zlib1g-dev dataset-fashion-mnist dpkg-dev
      openssl python3)
for arg in "$@"; do
  case "$arg" in
    --torch) pkgs+=(libtorch-dev gnuplot-nox) ;;
    --torch-python) pkgs+=(python3-torch) ;;
    --bench) pkgs+=(libbenchmark-dev) ;;
    --xrt) pkgs+=(libxrt-dev uuid-dev) ;;
    --python) pkgs+=(pybind11-dev python3-dev) ;;
    --fuzz) pkgs+=(clang libclang-rt-14-dev) ;;
    *) echo "install-deps: unknown option $arg" >&2; exit 2 ;;
  esac
done
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
