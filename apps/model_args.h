// Options that pick a network and a performance model, shared by `polympc perf` and
// `polympc schedule` so that both read the same flags the same way.
#pragma once
#include <string>

#include <CLI/CLI.hpp>

#include "polympc/perfmodel/model.h"
#include "polympc/perfmodel/query.h"

namespace polympc::apps {

struct ModelArgs {
  std::string model;             ///< ONNX file
  std::string arch;              ///< built-in architecture
  std::string acts = "model";    ///< activation sites
  std::string pools = "model";   ///< pool sites
  std::string winograd = "off";  ///< --winograd off|2|4: 3x3 stride-1 convs in that form (perfmodel::set_winograd)
  perfmodel::Query q;            ///< board, preset, protocol options, lanes, data dir
  /// The network (perfmodel::make_net), its 3x3 stride-1 convolutions in the --winograd form.
  perfmodel::NetShape net() const;
};

/// Registers --model --arch --board --network --compare --compare-bits --trunc --acts --pools
/// --winograd --batch --bits --frac --lanes --data-dir on `c`.
void add_model_options(CLI::App* c, ModelArgs& a);

}  // namespace polympc::apps
