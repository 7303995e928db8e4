// Per-layer ring widths by range (issue 13 "mixed precision"): the narrowest ring each layer
// can compute in, found with the fixed-point twin on calibration images (docs/protocols.md
// "Per-layer rings in the executor"; the range-based part of UFO's bit allocation, Xu et
// al., arXiv 2602.18758, without its fine-tuning).
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

}  // namespace polympc::nn
