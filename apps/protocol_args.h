// Ring and protocol options shared by `polympc infer` and `polympc dealer` (the dealer
// and both parties must agree on them).
#pragma once
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "polympc/mpc/ring.h"
#include "polympc/mpc/session.h"
#include "polympc/nn/ir.h"

namespace polympc::apps {

struct ProtocolArgs {
  std::string compare = "fss";
  std::vector<std::string> relu_bits;
  std::string trunc = "fss";
  int bits = 64;
  int frac = 12;
  int trunc_failure_limit = mpc::kTruncRunFailureLog2Limit;  ///< log2, --trunc-failure-limit
  bool bits_given = false, frac_given = false;                ///< --bits / --frac on the command line
};

/// Adds --compare, --relu-bits, --trunc, --bits, --frac.
void add_protocol_options(CLI::App& cmd, ProtocolArgs& a);
/// Validated ring. Throws mpc::InvalidArgument.
mpc::RingConfig ring_of(const ProtocolArgs& a);
/// Protocol options. Throws mpc::InvalidArgument naming the bad value.
mpc::ProtocolOptions protocol_of(const ProtocolArgs& a);

/// The fixed point a model's rings were chosen for (`polympc rings`: ONNX metadata
/// polympc.bits, polympc.frac, polympc.coef_frac), into bits / frac / coef_frac unless the
/// command line gave them (`*_given`; coef_frac >= 0 counts as given). A model without
/// them leaves all three alone. Throws nn::ModelError naming the file and a malformed key.
void model_fixed_point(const std::string& model, int& bits, bool bits_given, int& frac, bool frac_given,
                       int& coef_frac);
/// The same from a loaded network's recorded fixed point (nn::Network::fixed_point: the
/// ONNX metadata, or the architecture file the dealer and the client read).
void apply_fixed_point(const nn::FixedPoint& fp, int& bits, bool bits_given, int& frac, bool frac_given,
                       int& coef_frac);
/// For the dealer, `--role` runs, serve and query: `a`'s --bits and --frac become the
/// recorded fixed point's unless given; returns its coefficient scale (-1 when not
/// recorded: f + 8), which the PartyPlan and the server's quantization use.
int use_fixed_point(const nn::FixedPoint& fp, ProtocolArgs& a);

/// A per-layer --relu-bits NAME=LO:HI must name a ReLU or max-pool layer of `net` (the
/// entry applies to the layer's tags, NAME and NAME/...; an entry whose prefix would also
/// reach another such layer is refused); throws mpc::InvalidArgument listing the layers
/// it could name.
void check_layer_bits(const mpc::ProtocolOptions& po, const nn::Network& net);

/// --trunc prob over a whole run: counts the elements `net` truncates per image
/// (nn::truncated_elements_per_image) times `images` and refuses the run when they fail
/// somewhere with probability above 2^--trunc-failure-limit (mpc::check_trunc_failure_run:
/// mpc::InvalidArgument stating the expected number of failures and the remedies). Nothing
/// for the other truncations.
void check_trunc_failure_run(const ProtocolArgs& a, const mpc::RingConfig& ring, const mpc::ProtocolOptions& po,
                             const nn::Network& net, size_t images);

}  // namespace polympc::apps
