#include "backends.h"

#include <algorithm>
#include <thread>

#include "polympc/cpu/cpu_backend.h"
#include "polympc/mpc/errors.h"
#include "polympc/sim/sim_backend.h"

namespace polympc::apps {

void add_backend_options(CLI::App& cmd, BackendArgs& args) {
  cmd.add_option("--threads", args.threads, "cpu backend threads per party (0 = all cores; in-process runs, both parties in one process: half of them each), shared by its concurrent workers and tiling lanes")->capture_default_str();
  cmd.add_option("--xclbin", args.xclbin, "xrt backend: xclbin file with polympc's kernels (docs/fpga.md)");
  cmd.add_option("--device", args.device, "xrt backend: XRT device index (see `polympc devices`)")->capture_default_str();
  cmd.add_option("--device-model", args.device_model,
                 "xrt backend: run the kernels' C++ on the BO memory after each run: auto (only on XRT's noop "
                 "device) | on | off")
      ->capture_default_str();
}

BackendArgs share_threads(const BackendArgs& args, size_t concurrent, size_t parties) {
  BackendArgs out = args;
  concurrent = std::max<size_t>(1, concurrent);
  parties = std::max<size_t>(1, parties);
  if (concurrent == 1 && (parties == 1 || args.threads > 0)) return out;
  const size_t cores = std::max(1u, std::thread::hardware_concurrency());
  const size_t threads = args.threads > 0 ? static_cast<size_t>(args.threads) : std::max<size_t>(1, cores / parties);
  out.threads = static_cast<int>(std::max<size_t>(1, threads / concurrent));
  return out;
}

std::unique_ptr<mpc::Backend> make_backend(const std::string& name, const BackendArgs& args) {
  if (name == "sim") return std::make_unique<sim::SimBackend>();
  if (name == "cpu") return std::make_unique<cpu::CpuBackend>(args.threads);
  if (name == "xrt") return make_xrt_backend(args);
  throw mpc::InvalidArgument("unknown backend '" + name + "' (choose cpu, sim or xrt)");
}

}  // namespace polympc::apps
