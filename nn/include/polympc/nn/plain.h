// Plaintext executors: float (the trained model as is) and fixed point (the exact twin
// of the 2PC executor, docs/design.md §5: with exact truncation the 2PC logits equal these
// bit for bit).
#pragma once
#include <vector>

#include "polympc/mpc/ring.h"
#include "polympc/mpc/session.h"
#include "polympc/nn/quantize.h"

namespace polympc::nn {

/// Float forward pass. x: [batch, C, H, W]; returns [batch, classes] logits.
std::vector<float> float_forward(const Network& net, const float* x, size_t batch);

/// Every layer's output of a float (double) forward pass, kept so that a pass can be
/// resumed after a layer's output was changed (the Block-ReLU distortion, block_alloc.h).
struct FloatTrace {
  size_t batch = 0;
  std::vector<double> input;               ///< [batch, C, H, W]
  std::vector<std::vector<double>> outs;   ///< outs[i]: layer i's output [batch, out_size(i)]
};
/// The float forward pass of `input` ([batch, C, H, W], input_size() values per image);
/// outs.back() are the logits. Throws ModelError when input has the wrong size.
FloatTrace float_trace(const Network& net, std::vector<double> input, size_t batch);
/// Recomputes layers [first, end) of `t` from t.input and t.outs[0, first) (which the caller
/// may have changed); layers before `first` are not touched. Same arithmetic as
/// float_forward. Throws ModelError when `t` does not have one output per layer.
void float_resume(const Network& net, FloatTrace& t, size_t first);

/// Encodes inputs at scale f. Throws mpc::OverflowError if a value does not fit.
mpc::Words encode_input(const mpc::RingConfig& r, const float* x, size_t count);

/// Fixed-point forward pass in Z_{2^l}: x is [batch, C, H, W] at scale f; returns
/// [batch, classes] logits at scale f. The twin of the 2PC executor under the protocol
/// options `o`: it places its truncations by the same ScalePlan (placement.h) and finishes
/// the logits as the client does, so the 2PC logits equal these bit for bit.
mpc::Words fixed_forward(const QuantizedModel& q, const mpc::Words& x, size_t batch,
                         const mpc::ProtocolOptions& o);

/// Index of the largest logit of each row ([batch, classes]).
std::vector<int> argmax_rows(const std::vector<double>& logits, size_t batch);

/// How many of `batch` rows of fixed-point logits (ring values of `r`, decoded at r.frac)
/// have their largest logit at labels[n].
size_t correct_top1(const mpc::RingConfig& r, const mpc::Words& logits, size_t batch, const int* labels);

}  // namespace polympc::nn
