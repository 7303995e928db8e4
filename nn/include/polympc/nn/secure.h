// The 2PC executor (DESIGN.md §3, §5): one party's side of a private inference, and the
// dealer's matching offline phase. P0 (server) holds the quantized model, P1 (client)
// the input; P1 learns the logits. Layer i's traffic is counted under the phase named
// after the layer; "setup" (per-model opening of masked weights), "input" and "output"
// are phases of their own.
#pragma once
#include <memory>
#include <vector>

#include "polympc/mpc/dealer.h"
#include "polympc/mpc/session.h"
#include "polympc/nn/quantize.h"

namespace polympc::nn {

/// Per-model dealer material (weight and coefficient masks), once per model and pair.
void deal_model(mpc::Dealer& d, const Network& arch, mpc::MaterialStore& m0, mpc::MaterialStore& m1);
/// Material for one inference on a batch of `batch` inputs.
void deal_inference(mpc::Dealer& d, const Network& arch, size_t batch, const mpc::ProtocolOptions& o,
                    int coef_frac, mpc::MaterialStore& m0, mpc::MaterialStore& m1);

class SecureParty {
 public:
  /// arch: the public architecture (shapes, ops); model: the quantized model at P0,
  /// nullptr at P1 (P1 never sees parameters). coef_frac must match P0's model.
  SecureParty(const Network& arch, const QuantizedModel* model, int coef_frac);
  /// Model setup: P0 opens W - A (and a2 - mask) once; phase "setup".
  void setup(mpc::Session& s);
  /// Input sharing: P1 (owner of x, [batch, C, H, W] at scale f) sends a random share
  /// to P0; returns this party's share. P0 passes an empty x and the element count.
  mpc::Words share_input(mpc::Session& s, const mpc::Words& x, size_t count, mpc::Prg& prg);
  /// Online inference on this party's input share; returns the logits share.
  mpc::Words infer(mpc::Session& s, const mpc::Words& input_share, size_t batch);
  /// Reveals logits to P1: P0 sends its share; P1 returns the logits, P0 an empty vector.
  mpc::Words reveal_output(mpc::Session& s, const mpc::Words& logits_share);
  /// One whole inference of a batch: share_input, infer, reveal_output. x is P1's input
  /// ([batch, C, H, W] at scale f; empty at P0). Returns the logits at P1, empty at P0.
  mpc::Words run_batch(mpc::Session& s, const mpc::Words& x, size_t batch, mpc::Prg& prg);

 private:
  Network arch_;
  const QuantizedModel* model_;
  int coef_frac_;
  std::vector<mpc::Words> opened_;  // per layer: E = W - A or E = a2 - mask
  bool ready_ = false;
};

}  // namespace polympc::nn
