// The 2PC executor (docs/design.md §3, §5): one party's side of a private inference, and the
// dealer's matching offline phase. P0 (server) holds the quantized model, P1 (client)
// the input; P1 learns the logits, or with Reveal::Label only the index of the largest
// logit of each image (secure argmax, mpc::argmax). Layer i's traffic is counted under the
// phase named after the layer; "setup" (per-model opening of masked weights), "input" and
// "output" (the argmax, if any, and the reveal) are phases of their own.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "polympc/mpc/dealer.h"
#include "polympc/mpc/session.h"
#include "polympc/nn/placement.h"
#include "polympc/nn/quantize.h"

namespace polympc::nn {

/// What P1 learns at the end of an inference (P0 learns nothing).
enum class Reveal {
  Logits,  ///< the logits, [batch, classes] at scale f
  Label,   ///< only the top-1 class of each image: secure argmax of the logits, then the index
};
/// "logits" or "label".
const char* reveal_name(Reveal r);
/// Parses "logits" / "label"; throws mpc::InvalidArgument naming the choices otherwise.
Reveal parse_reveal(const std::string& s);
/// The options of the label argmax: those of the session (GMW or FSS) but always on all l
/// bits. A --relu-bits range is chosen for a network's activations; the logits and their
/// differences may be larger, and a wrong comparison would reveal a wrong label.
mpc::ProtocolOptions label_options(const mpc::ProtocolOptions& o);

/// Per-layer tiling of the online phase: the plan's tiling (docs/scheduler.md "Executing a
/// plan"), executed. tiles[i] (one per layer of the network; missing or 0 = 1) cuts layer i's
/// batch into that many tiles of consecutive images (at most the batch). Consecutive layers
/// with the same count form a segment; each tile runs through its segment on one of `lanes`
/// lanes, each lane a Session with its own channel, backend and material, so that one lane
/// computes while another waits for the link; the tiles join at the segment's end. Tiles
/// never change a value: the logits are those of the untiled run, bit for bit.
struct Tiling {
  std::vector<size_t> tiles;
  size_t lanes = 2;
  /// True when some layer has more than one tile.
  bool active() const;
  /// The lanes that run at once on a batch of `batch` images: min(lanes, the most tiles any
  /// layer has at that batch), at least 1 (lanes beyond it would have no tile to run).
  size_t lanes_at(size_t batch) const;
};

/// Layers [begin, end) of a tiled walk, each cut into `tiles` tiles.
struct TileSegment {
  size_t begin = 0, end = 0, tiles = 1;
};

/// The segments of a tiled walk, the one rule that the executed tiling (forward_tiled) and
/// the scheduler's timeline (scheduler/timeline.h) share: a maximal run of consecutive
/// layers with the same count T <= batch is one segment (tiles of consecutive images, which
/// never depend on each other: tile t of a layer waits only for tile t of the layer before,
/// and the tiles join at the segment's end). A layer with T > batch (parts of its elements,
/// the FPGA target's batch of one) or with alone[i] set is a segment of its own. counts[i]
/// >= 1 per layer (0 is read as 1); `alone` is empty or has one entry per layer.
/// Throws mpc::InvalidArgument when `alone` has another size.
std::vector<TileSegment> tile_segments(const std::vector<size_t>& counts, size_t batch,
                                       const std::vector<bool>& alone = {});

/// One lane's material: P0's and P1's stores.
struct LaneMaterial {
  mpc::MaterialStore* m0;
  mpc::MaterialStore* m1;
};

/// Per-model dealer material (weight and coefficient masks), once per model and pair.
void deal_model(mpc::Dealer& d, const Network& arch, mpc::MaterialStore& m0, mpc::MaterialStore& m1);
/// Material for one inference on a batch of `batch` inputs; with Reveal::Label also the
/// material of the argmax of the [batch, classes] logits. The online side must run
/// run_batch with the same `reveal` (or the material is out of step: MaterialError).
void deal_inference(mpc::Dealer& d, const Network& arch, size_t batch,
                    const mpc::ProtocolOptions& o, int coef_frac, mpc::MaterialStore& m0,
                    mpc::MaterialStore& m1, Reveal reveal = Reveal::Logits);

/// deal_inference for a tiled online phase: lane l's material goes to lanes[l] (the
/// per-model material of deal_model and the reveal's to lanes[0], whose session runs the
/// input sharing and the reveal). Throws mpc::InvalidArgument without a lane.
void deal_inference_tiled(mpc::Dealer& d, const Network& arch, size_t batch, const mpc::ProtocolOptions& o,
                          int coef_frac, const std::vector<LaneMaterial>& lanes, const Tiling& tiling,
                          Reveal reveal = Reveal::Logits);

/// Elements one image truncates under the probabilistic truncation of `o` (every
/// truncation the ScalePlan places, and the polynomials' two inside), counted from the
/// dealer's material for one image (TruncPair items): exact by construction,
/// whatever the protocols' internals. The count of mpc::check_trunc_failure_run. Deals the
/// material of one image (GMW comparison, discarded): cheap next to a run.
uint64_t truncated_elements_per_image(const Network& arch, const mpc::RingConfig& ring,
                                      const mpc::ProtocolOptions& o, int coef_frac);

/// Input sharing: P1 (owner of x, [batch, C, H, W] at scale f) sends P0 a random share
/// from `prg` (count ring elements bit-packed, ceil(count·l/8) bytes, one round, phase "input");
/// returns this party's share. P0 passes an empty x. Throws InvalidArgument when P1's x
/// has not `count` elements; ChannelError if the peer fails.
mpc::Words share_input(mpc::Session& s, const mpc::Words& x, size_t count, mpc::Prg& prg);

class SecureParty {
 public:
  /// arch: the public architecture (shapes, ops); model: the quantized model at P0,
  /// nullptr at P1 (P1 never sees parameters). coef_frac must match P0's model.
  SecureParty(const Network& arch, const QuantizedModel* model, int coef_frac);
  /// Model setup: P0 opens W - A (and a2 - mask) once; phase "setup".
  void setup(mpc::Session& s);
  /// Online inference on this party's input share; returns the logits share at the scale
  /// of the session's ScalePlan (plan(s).output_shift bits above f, placement.h).
  mpc::Words infer(mpc::Session& s, const mpc::Words& input_share, size_t batch);
  /// infer under a Tiling: lanes[l] is lane l's session (the same party, ring and options
  /// on every lane; each its own channel, backend and material), lanes run on their own
  /// threads. The same logits share as infer(*lanes[0], ...) on an untiled dealing.
  /// Throws mpc::InvalidArgument without a lane, and the first error of a lane.
  mpc::Words infer_tiled(const std::vector<mpc::Session*>& lanes, const mpc::Words& input_share, size_t batch,
                         const Tiling& tiling);
  /// Reveals logits to P1: P0 sends its share; P1 finishes them in the clear (floor
  /// division by 2^output_shift, as the twin) and returns them at scale f; P0 returns an
  /// empty vector.
  mpc::Words reveal_output(mpc::Session& s, const mpc::Words& logits_share);
  /// Reveals only the labels to P1: a secure truncation to scale f (when the plan's
  /// output_shift > 0), then a secure argmax (mpc::argmax with label_options, ties to
  /// the lower class index, as argmax_rows) of the logits shares ([batch, classes]), then
  /// P0 sends its share of the indices. Phase "output". Returns the `batch` labels (class
  /// indices in [0, classes)) at P1, an empty vector at P0. Throws mpc::InvalidArgument
  /// when logits_share has not batch·classes elements, or at P1 when a label is out of
  /// range (the parties run different networks).
  mpc::Words reveal_labels(mpc::Session& s, const mpc::Words& logits_share, size_t batch);
  /// One whole inference of a batch: share_input, infer, then reveal_output (Logits) or
  /// reveal_labels (Label). x is P1's input ([batch, C, H, W] at scale f; empty at P0).
  /// Returns at P1 the logits ([batch, classes]) or the `batch` labels; empty at P0.
  mpc::Words run_batch(mpc::Session& s, const mpc::Words& x, size_t batch, mpc::Prg& prg,
                       Reveal reveal = Reveal::Logits);
  /// run_batch under a Tiling: input sharing and the reveal on lanes[0], infer_tiled between
  /// (material from deal_inference_tiled with the same tiling and lane count).
  mpc::Words run_batch_tiled(const std::vector<mpc::Session*>& lanes, const mpc::Words& x, size_t batch,
                             mpc::Prg& prg, Reveal reveal, const Tiling& tiling);
  /// The truncation placement this party runs under session s's ring and options.
  ScalePlan plan(const mpc::Session& s) const;
  /// s with the ring of the network's last layer (per-layer rings; s's ring otherwise).
  mpc::Session last_ring(mpc::Session& s) const;

 private:
  Network arch_;
  const QuantizedModel* model_;
  int coef_frac_;
  std::vector<mpc::Words> opened_;             // per Conv/Linear layer: E = W - A
  std::vector<mpc::PolySetup> poly_opened_;    // per Poly layer: E2 = a2 - m2, E1 = a1 - m1
  bool ready_ = false;
};

}  // namespace polympc::nn
