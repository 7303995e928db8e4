#!/usr/bin/env bash
# Configures and builds polympc into build/ (RelWithDebInfo = -O2 -g) with both cores.
# Extra arguments go to cmake's configure step.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${POLYMPC_BUILD_DIR:-$root/build}"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" > "$build.configure.log" 2>&1 || {
  cat "$build.configure.log" >&2; exit 1; }
cmake --build "$build" -j"$(nproc)"
