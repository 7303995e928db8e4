// `polympc train` in a build without LibTorch: the command exists and says how to get it.
#include "commands.h"
#include "polympc/mpc/errors.h"

namespace polympc::apps {

void add_train_command(CLI::App& app, int, char**) {
  CLI::App* c = app.add_subcommand(
      "train", "latency-aware search (PASNet): needs a build with LibTorch (-DPOLYMPC_WITH_TORCH=ON)");
  c->allow_extras();
  c->callback([] {
    throw mpc::InvalidArgument(
        "this polympc was built without LibTorch: `polympc train` needs it. Install it "
        "(scripts/install-deps.sh --torch) and configure with -DPOLYMPC_WITH_TORCH=ON (docs/training.md)");
  });
}

}  // namespace polympc::apps
