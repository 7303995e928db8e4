#include "backends.h"

#include "polympc/cpu/cpu_backend.h"
#include "polympc/mpc/errors.h"
#include "polympc/sim/sim_backend.h"

namespace polympc::apps {

void add_backend_options(CLI::App& cmd, BackendArgs& args) {
  cmd.add_option("--threads", args.threads, "cpu backend threads per party (0 = all cores)")->capture_default_str();
}

std::unique_ptr<mpc::Backend> make_backend(const std::string& name, const BackendArgs& args) {
  if (name == "sim") return std::make_unique<sim::SimBackend>();
  if (name == "cpu") return std::make_unique<cpu::CpuBackend>(args.threads);
  throw mpc::InvalidArgument("unknown backend '" + name + "' (choose cpu or sim)");
}

}  // namespace polympc::apps
