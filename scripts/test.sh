#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite with CTest.
# XRT (Debian's libxrt-dev) is installed too when the package can be had, and the build
# then includes the XRT host driver, whose tests run on XRT's noop device (docs/fpga.md);
# where it cannot be installed the build goes on without it and those tests are skipped.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
xrt=-DPOLYMPC_WITH_XRT=OFF
if "$root/scripts/install-deps.sh" --xrt; then
  xrt=-DPOLYMPC_WITH_XRT=ON
else
  echo "test: the XRT packages (libxrt-dev uuid-dev) could not be installed: building without XRT," \
       "the XRT tests are skipped" >&2
  "$root/scripts/install-deps.sh"
fi
# The Python module of the performance model (pybind11) is built and tested too.
"$root/scripts/install-deps.sh" --python
"$root/scripts/build.sh" "$xrt" -DPOLYMPC_WITH_PYTHON=ON
cd "${POLYMPC_BUILD_DIR:-$root/build}"
ctest --output-on-failure -j"$(nproc)" --timeout 900
