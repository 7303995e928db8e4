// Builds without XRT (POLYMPC_WITH_XRT=OFF, or XRT not found): `--backend xrt` and
// `polympc devices` say so and how to get it.
#include <iostream>

#include "backends.h"
#include "commands.h"
#include "polympc/mpc/errors.h"

namespace polympc::apps {

namespace {
const char* kNoXrt =
    "this polympc was built without XRT: install it (scripts/install-deps.sh --xrt) and configure with "
    "-DPOLYMPC_WITH_XRT=ON (docs/fpga.md)";
}  // namespace

std::unique_ptr<mpc::Backend> make_xrt_backend(const BackendArgs&) {
  throw mpc::InvalidArgument(std::string("--backend xrt: ") + kNoXrt);
}

void add_devices_command(CLI::App& app) {
  CLI::App* c = app.add_subcommand("devices", "list XRT devices and the kernels of their xclbin");
  c->allow_extras();
  c->callback([] { std::cout << "polympc devices: no XRT devices can be listed: " << kNoXrt << "\n"; });
}

}  // namespace polympc::apps
