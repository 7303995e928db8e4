// Two-process private inference (docs/design.md §1, §3, §13): the dealer writes one
// preprocessing file per party ahead of time; then the server (P0, holds the model) and
// the client (P1, holds the images, and only the public architecture) each run one side
// over a Channel (TCP). Files are bound to their dealer run (mpc/material_file.h): the
// parties' handshake checks run ID, model, plan and position before any secret-dependent
// message, and each party's ledger makes every batch of material single-use across
// copies and restarts. A file dealt for N batches may be consumed over several runs.
#pragma once
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "polympc/mpc/backend.h"
#include "polympc/mpc/channel.h"
#include "polympc/mpc/material_file.h"
#include "polympc/mpc/prg.h"
#include "polympc/mpc/session.h"
#include "polympc/nn/dataset.h"
#include "polympc/nn/quantize.h"
#include "polympc/nn/secure.h"

namespace polympc::nn {

/// What both parties and the dealer must agree on (all public).
struct PartyPlan {
  size_t images = 0;   ///< images of the run (dealer: of the whole file)
  size_t batch = 100;  ///< dealer: images per batch (= per segment; the last may be smaller)
  mpc::ProtocolOptions protocol{};
  int coef_frac = -1;              ///< polynomial coefficient scale; -1 = f + 8
  Reveal reveal = Reveal::Logits;  ///< what the client learns: logits or only labels
  /// Batch sizes in order.
  std::vector<size_t> batches() const;
  /// Canonical text of everything the material depends on besides the architecture and
  /// the batch sizes: ring, coefficient scale, comparison, reduced bits, truncation,
  /// what is revealed.
  /// Stored in the files' headers and compared in the handshake.
  std::string descriptor(const mpc::RingConfig& ring) const;
};

/// Writes the two preprocessing files for `plan` on the architecture `arch` (no weight
/// is read: the client's and dealer's Network comes from an architecture file), bound
/// to `model_hash` (nn/arch_file.h). The dealer's PRG, the run ID and the MAC key come
/// from the OS CSPRNG; `insecure_test_seed` (tests only) makes them reproducible.
/// Files are written 0600, one batch of material in memory at a time. Returns the run ID
/// (hex). Throws MaterialError on I/O failure.
std::string deal_to_files(const Network& arch, const std::string& model_hash,
                          const mpc::RingConfig& ring, const PartyPlan& plan,
                          const std::string& p0_path, const std::string& p1_path,
                          const mpc::Seed* insecure_test_seed = nullptr);

struct PartyResult {
  std::vector<uint64_t> logits;  ///< P1 with Reveal::Logits: [images, classes] ring words at
                                 ///< scale f; empty at P0 and with Reveal::Label
  std::vector<int> predictions;  ///< P1: top-1 per image (the revealed labels with Reveal::Label)
  double accuracy = 0;           ///< P1: top-1 vs the data set's labels (0 when unlabelled)
  bool labelled = false;         ///< P1: every image had a label, so accuracy is meaningful
  double seconds = 0;            ///< online wall time (setup excluded)
  uint64_t first_segment = 0;    ///< the material segments this run consumed: first
  uint64_t segments = 0;         ///< and how many
  std::map<std::string, mpc::PhaseStats> stats;  ///< this party's channel counters per phase
};

/// Runs one party. P0 passes the quantized model and no data; P1 passes the architecture
/// (model == nullptr) and the data set (images from `first_image`). `model_hash` is the
/// party's own: P0 computes it from its weights, P1 reads it from its architecture file.
/// Order: handshake (run ID, model, plan, position; ledger updated), model setup, then
/// per batch: read that batch's material, run it. Throws MaterialError (mismatched or
/// foreign file, wrong model or plan, material left over), MaterialReuseError (material
/// already consumed), DatasetError (too few images, image size differs from the model's
/// input), ChannelError when the peer fails.
PartyResult run_party(int party, const Network& arch, const std::string& model_hash,
                      const QuantizedModel* model, const Dataset* data, const mpc::RingConfig& ring,
                      const PartyPlan& plan, mpc::Channel& ch, mpc::Backend& be,
                      mpc::MaterialFile& material, mpc::Ledger& ledger,
                      const std::function<void(size_t, size_t)>& progress = {},
                      size_t first_image = 0);

/// The architecture of a network with every parameter zeroed (sizes kept).
Network architecture_only(const Network& net);

}  // namespace polympc::nn
