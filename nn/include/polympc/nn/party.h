// Two-process private inference (DESIGN.md §1, §3, §13): the dealer writes one
// preprocessing file per party ahead of time; then the server (P0, holds the model) and
// the client (P1, holds the images) each run one side over a Channel (TCP). Every file is
// single-use: loading marks it used, a second run on it is refused (MaterialReuseError).
#pragma once
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "polympc/mpc/backend.h"
#include "polympc/mpc/channel.h"
#include "polympc/mpc/material.h"
#include "polympc/mpc/session.h"
#include "polympc/nn/dataset.h"
#include "polympc/nn/quantize.h"

namespace polympc::nn {

/// What both parties and the dealer must agree on (all public).
struct PartyPlan {
  size_t images = 0;  ///< images of the run
  size_t batch = 100; ///< images per batch (the last one may be smaller)
  mpc::ProtocolOptions protocol{};
  int coef_frac = -1; ///< polynomial coefficient scale; -1 = f + 8
  /// Batch sizes in order.
  std::vector<size_t> batches() const;
};

/// Writes the two preprocessing files for `plan` on the architecture `arch` (weights are
/// not read). Throws MaterialError on I/O failure.
void deal_to_files(const Network& arch, const mpc::RingConfig& ring, const PartyPlan& plan, uint64_t seed,
                   const std::string& p0_path, const std::string& p1_path);

struct PartyResult {
  std::vector<uint64_t> logits;  ///< P1: [images, classes] ring words at scale f; P0: empty
  std::vector<int> predictions;  ///< P1: top-1 per image
  double accuracy = 0;           ///< P1: top-1 vs the data set's labels
  double seconds = 0;            ///< online wall time (setup excluded)
  std::map<std::string, mpc::PhaseStats> stats;  ///< this party's channel counters per phase
};

/// Runs one party. P0 passes the quantized model and no data; P1 passes the architecture
/// (model == nullptr) and the data set (the first plan.images images are used). The
/// material must come from deal_to_files for the same plan. Throws what the protocols
/// throw (ChannelError when the peer fails, MaterialError when the material does not fit).
PartyResult run_party(int party, const Network& arch, const QuantizedModel* model, const Dataset* data,
                      const mpc::RingConfig& ring, const PartyPlan& plan, mpc::Channel& ch, mpc::Backend& be,
                      mpc::MaterialStore& material, uint64_t client_seed,
                      const std::function<void(size_t, size_t)>& progress = {});

/// The architecture of a network with every parameter removed (what the client gets).
Network architecture_only(const Network& net);

}  // namespace polympc::nn
