// Backend selection for the CLI: the only place that picks a backend (DESIGN.md §2, §6).
#pragma once
#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "polympc/mpc/backend.h"

namespace polympc::apps {

/// Options of the backends beyond their name (threads for cpu; xclbin/device for xrt).
struct BackendArgs {
  int threads = 0;  ///< cpu backend threads per party (0 = all cores)
};

/// Adds the backend options (--threads, ...) to a subcommand.
void add_backend_options(CLI::App& cmd, BackendArgs& args);

/// "cpu" | "sim" (| "xrt" when built with XRT). Throws mpc::InvalidArgument naming the
/// choices for anything else.
std::unique_ptr<mpc::Backend> make_backend(const std::string& name, const BackendArgs& args);

}  // namespace polympc::apps
