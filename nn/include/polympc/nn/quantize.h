// Fixed-point form of a network's parameters (docs/design.md §4): what the server (P0) holds
// in the ring, and what both the plaintext twin and the 2PC executor compute with.
//
// Scales: activations f; Conv/Linear weights f, biases 2f (added before truncation);
// polynomial coefficients: a2 at coef_frac, a1 at f + coef_frac, a0 at 2f + coef_frac
// (coef_frac = f + 8 by default, so a small a2 such as PASNet's 0.005 keeps 0.02 %
// precision).
#pragma once
#include <vector>

#include "polympc/mpc/protocols.h"
#include "polympc/mpc/ring.h"
#include "polympc/nn/ir.h"

namespace polympc::nn {

struct QuantizedLayer {
  mpc::Words weight;      ///< Conv: [Cout, Cin*kh*kw]; Linear: [out, in]; scale f
  mpc::Words bias;        ///< [Cout] or [out], scale 2f (zeros when the layer has none)
  mpc::PolyCoeffs poly;   ///< Poly layers, per channel (scalar coefficients broadcast)
};

struct QuantizedModel {
  Network net;            ///< architecture (and float parameters, for reference)
  mpc::RingConfig ring;
  int coef_frac = 20;
  std::vector<QuantizedLayer> layers;  ///< one per net.layers entry
};

/// The polynomial coefficient scale in use: coef_frac, or f + 8 when it is negative (the
/// default, see the file comment).
inline int resolve_coef_frac(const mpc::RingConfig& ring, int coef_frac) {
  return coef_frac < 0 ? ring.frac + 8 : coef_frac;
}

/// Quantizes every parameter (round to nearest). Throws mpc::OverflowError naming the
/// layer if a parameter does not fit, InvalidArgument for a bad ring.
QuantizedModel quantize(const Network& net, const mpc::RingConfig& ring, int coef_frac = -1);

/// Number of channels of a layer's output (dim 0 of out_shape) and its spatial size.
int64_t channels_of(const std::vector<int64_t>& shape);
int64_t spatial_of(const std::vector<int64_t>& shape);

}  // namespace polympc::nn
