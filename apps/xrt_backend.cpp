// The xrt branch of make_backend() (docs/design.md §6, §8), in builds with XRT.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "backends.h"
#include "polympc/host/xrt_backend.h"
#include "polympc/mpc/errors.h"

namespace polympc::apps {

std::unique_ptr<mpc::Backend> make_xrt_backend(const BackendArgs& args) {
  if (args.xclbin.empty())
    throw mpc::InvalidArgument("--backend xrt needs --xclbin FILE (the xclbin with polympc's kernels; docs/fpga.md)");
  host::XrtOptions o;
  o.xclbin = args.xclbin;
  o.device = args.device;
  o.device_model = host::parse_device_model(args.device_model);
  auto be = std::make_unique<host::XrtBackend>(o);
  const char* mode = std::getenv("XCL_EMULATION_MODE");
  if (mode && std::string(mode) == "noop" && !be->device_model_active())
    std::fprintf(stderr, "polympc: warning: XRT's noop device runs no kernel and the device model is off: "
                         "the results are meaningless (use --device-model auto or on)\n");
  return be;
}

}  // namespace polympc::apps
