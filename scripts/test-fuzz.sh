#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/: the ONNX importer, the material reader, the IDX image
# reader, the run handshake) with clang, ASan and UBSan into build-fuzz/ and runs each for
# a bounded time on its seed corpus (fuzz/corpus/<target>). Any crash, sanitizer report,
# unexpected exception or hang fails; the input is kept as build-fuzz/fuzz/crash_<target>_*.
# Usage: scripts/test-fuzz.sh [SECONDS per target, default 20]  (longer runs: 600 or more).
# Installs what is missing first (clang and libFuzzer's runtime, libclang-rt-14-dev).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
seconds="${1:-20}"
"$root/scripts/install-deps.sh" --fuzz
build="${POLYMPC_FUZZ_BUILD_DIR:-$root/build-fuzz}"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ -DPOLYMPC_FUZZ=ON \
  -DPOLYMPC_WITH_XRT=OFF -DPOLYMPC_WITH_PYTHON=OFF -DPOLYMPC_FUZZ_SECONDS="$seconds" > "$build.configure.log" 2>&1 || {
  cat "$build.configure.log" >&2; exit 1; }
cmake --build "$build" -j"$(nproc)" --target polympc_fuzz_all
cd "$build"
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1"
ctest --output-on-failure -L fuzz -j"$(nproc)"
