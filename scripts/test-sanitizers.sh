#!/usr/bin/env bash
# Builds the whole project with AddressSanitizer and UndefinedBehaviorSanitizer
# (-DPOLYMPC_SANITIZE=ON) into build-asan/ and runs every test there; any report fails the
# test that triggered it. Installs what is missing first (as scripts/test.sh).
# Without XRT (its libraries are not instrumented) and without the Python module (it would
# be loaded into an uninstrumented interpreter).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/install-deps.sh"
POLYMPC_BUILD_DIR="${POLYMPC_ASAN_BUILD_DIR:-$root/build-asan}" "$root/scripts/build.sh" \
  -DPOLYMPC_SANITIZE=ON -DPOLYMPC_WITH_XRT=OFF -DPOLYMPC_WITH_PYTHON=OFF
cd "${POLYMPC_ASAN_BUILD_DIR:-$root/build-asan}"
# halt_on_error: the first report ends the test binary with a non-zero status.
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=0:detect_leaks=1:strict_string_checks=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
ctest --output-on-failure -j"$(nproc)" --timeout 1800
