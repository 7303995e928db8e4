// Subcommands of the `polympc` CLI.
#pragma once
#include <CLI/CLI.hpp>

namespace polympc::apps {

/// Registers `polympc infer`; the callback runs the command.
void add_infer_command(CLI::App& app);

}  // namespace polympc::apps
