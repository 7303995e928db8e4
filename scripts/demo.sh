#!/usr/bin/env bash
# The main job: installs what is missing, builds, and runs a two-party private inference
# of the shipped model on 500 Fashion-MNIST test images (report in out/infer.json).
# Extra arguments go to `polympc infer` (e.g. --images 10000 --backend sim).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
mkdir -p "$root/out"
cd "$root"
"${POLYMPC_BUILD_DIR:-$root/build}/apps/polympc" infer --model models/fmnist_cnn.onnx --images 500 \
  --backend cpu --json out/infer.json "$@"
