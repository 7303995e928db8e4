// Backend selection for the CLI: the only place that picks a backend (docs/design.md §2, §6).
#pragma once
#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "polympc/mpc/backend.h"

namespace polympc::apps {

/// Options of the backends beyond their name (threads for cpu; xclbin/device for xrt).
struct BackendArgs {
  int threads = 0;                    ///< cpu backend threads (0 = all cores)
  std::string xclbin;                 ///< xrt: the xclbin file (docs/fpga.md)
  unsigned device = 0;                ///< xrt: XRT device index (`polympc devices` lists them)
  std::string device_model = "auto";  ///< xrt: auto | on | off (host::DeviceModel)
};

/// `args` for one of `concurrent` backends of a party that run at the same time (workers,
/// tiling lanes), when `parties` parties run in this process: the party's cpu threads
/// (--threads N, or for 0 the machine's cores divided among the parties of the process)
/// divided among the concurrent backends, at least 1 each. Unchanged for concurrent <= 1 and
/// one party. So an in-process run's two parties do not each run a team of all cores on the
/// same cores (docs/scheduler.md "Executing a plan").
BackendArgs share_threads(const BackendArgs& args, size_t concurrent, size_t parties = 1);

/// Adds the backend options (--threads, --xclbin, --device, --device-model) to a subcommand.
void add_backend_options(CLI::App& cmd, BackendArgs& args);

/// "cpu" | "sim" | "xrt". Throws mpc::InvalidArgument naming the choices for anything
/// else, and for "xrt" in a build without XRT or without --xclbin; the XRT backend's
/// own errors (polympc/host/errors.h) otherwise.
std::unique_ptr<mpc::Backend> make_backend(const std::string& name, const BackendArgs& args);

/// The XRT backend (apps/xrt_backend.cpp; apps/no_xrt.cpp when built without XRT).
std::unique_ptr<mpc::Backend> make_xrt_backend(const BackendArgs& args);

}  // namespace polympc::apps
