// Per-layer fixed point for mixed precision (issue 13), in three steps that `polympc rings`
// runs in order (docs/protocols.md "Per-layer rings in the executor", "Per-layer scales"):
//  1. allocate_frac_bits: each layer's fixed-point scale by sensitivity, the smallest that
//     keeps the twin's calibration accuracy within a tolerance (UFO's per-layer
//     sensitivity, Xu et al., arXiv 2602.18758, §4, on the scale instead of a quantiser's
//     width: in a ring the scale is what precision costs);
//  2. allocate_ring_bits: each layer's narrowest ring by range;
//  3. cut_conversions: producers widened where that costs fewer bytes than the conversion
//     gate into the next ring (UFO's graph-level rewrites that remove bit-width conversions).
// Without UFO's quantisation-aware fine-tuning: the weights are the source model's.
#pragma once
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "polympc/mpc/ring.h"
#include "polympc/mpc/protocols.h"
#include "polympc/nn/ir.h"

namespace polympc::nn {

struct RingAllocation {
  std::vector<int> bits;     ///< per layer, the chosen width (minimum + margin, <= ceiling)
  std::vector<int> minimum;  ///< per layer, the narrowest width the calibration images pass
  size_t probes = 0;         ///< twin runs made
};

/// For each layer in order, the narrowest width w in [8, ring.bits] at which the
/// fixed-point twin (nn::fixed_forward, the truncations placed for `ring`, coefficient
/// scale `coef_frac`, options `o`) runs `count` calibration images (`input`: [count, C, H,
/// W] encoded at ring.frac) without a RingError or an OverflowError, the layers already
/// chosen at their minimum and the later ones at ring.bits (binary search: a wider ring
/// never fails where a narrower one passes). Then bits = min(minimum + margin, ring.bits).
/// Layers with no widths of their own (Flatten) follow their input. `progress(i)` after each
/// layer. Throws what the twin throws at ring.bits for every layer (nothing fits), and
/// mpc::InvalidArgument when margin < 0 or count = 0.
RingAllocation allocate_ring_bits(const Network& net, const mpc::RingConfig& ring, const mpc::ProtocolOptions& o,
                                  int coef_frac, const mpc::Words& input, size_t count, int margin,
                                  const std::function<void(size_t)>& progress = {});

struct ScaleAllocation {
  std::vector<int> frac;     ///< per layer, the chosen scale (Layer::frac_bits; 0 = f, unchanged)
  double base_accuracy = 0;  ///< the twin's calibration accuracy with every layer at f
  double accuracy = 0;       ///< the same with the chosen scales
  size_t probes = 0;         ///< twin runs made
};

/// For each Conv, Linear and Poly layer in order (the layers whose input scale sets their
/// parameters' precision), the smallest f_i in [min_frac, ring.frac] such that the twin
/// (nn::fixed_forward, truncations placed for `ring`, the layers' rings as in `net`) keeps its
/// top-1 accuracy on the `count` calibration images (`input` encoded at ring.frac, `labels`)
/// at or above base_accuracy - tolerance, with the earlier layers at their chosen scales and
/// the later ones at f. The scan goes down from f and stops at the first scale that fails
/// (or that the placement, a ring or the twin refuses). Other layers keep 0. `progress(i)`
/// after each layer. Throws mpc::InvalidArgument when tolerance < 0, min_frac is not in
/// [1, ring.frac], count = 0 or labels has fewer than count entries.
ScaleAllocation allocate_frac_bits(const Network& net, const mpc::RingConfig& ring, const mpc::ProtocolOptions& o,
                                   int coef_frac, const mpc::Words& input, const std::vector<int>& labels, size_t count,
                                   double tolerance, int min_frac, const std::function<void(size_t)>& progress = {});

/// Widens producers where a conversion costs more than the wider producers: for each layer
/// whose first input arrives from a narrower ring (a sign extension, placement.h
/// ring_entry), the chain of its producers that are narrower than it is widened to its
/// width one more layer at a time (the producer; the producer and its producer; ...), and
/// the candidate with the lowest `cost` (e.g. the performance model's online bytes per
/// image) is kept when it is below the current one; repeated until no widening helps. A
/// wider ring holds whatever the narrower one held, so the result runs wherever `bits` ran.
/// Returns the widths (one per layer, as `bits`).
std::vector<int> cut_conversions(const Network& net, std::vector<int> bits,
                                 const std::function<double(const std::vector<int>&)>& cost);

}  // namespace polympc::nn
