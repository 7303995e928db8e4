#include "backends.h"

#include "polympc/cpu/cpu_backend.h"
#include "polympc/mpc/errors.h"
#include "polympc/sim/sim_backend.h"

namespace polympc::apps {

void add_backend_options(CLI::App& cmd, BackendArgs& args) {
  cmd.add_option("--threads", args.threads, "cpu backend threads per party (0 = all cores)")->capture_default_str();
  cmd.add_option("--xclbin", args.xclbin, "xrt backend: xclbin file with polympc's kernels (docs/fpga.md)");
  cmd.add_option("--device", args.device, "xrt backend: XRT device index (see `polympc devices`)")->capture_default_str();
  cmd.add_option("--device-model", args.device_model,
                 "xrt backend: run the kernels' C++ on the BO memory after each run: auto (only on XRT's noop "
                 "device) | on | off")
      ->capture_default_str();
}

std::unique_ptr<mpc::Backend> make_backend(const std::string& name, const BackendArgs& args) {
  if (name == "sim") return std::make_unique<sim::SimBackend>();
  if (name == "cpu") return std::make_unique<cpu::CpuBackend>(args.threads);
  if (name == "xrt") return make_xrt_backend(args);
  throw mpc::InvalidArgument("unknown backend '" + name + "' (choose cpu, sim or xrt)");
}

}  // namespace polympc::apps
