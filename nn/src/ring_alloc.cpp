// Per-layer ring widths by range (ring_alloc.h).
#include "polympc/nn/ring_alloc.h"

#include <algorithm>

#include "polympc/mpc/errors.h"
#include "polympc/nn/placement.h"
#include "polympc/nn/plain.h"
#include "polympc/nn/quantize.h"

namespace polympc::nn {

RingAllocation allocate_ring_bits(const Network& net, const mpc::RingConfig& ring, const mpc::ProtocolOptions& o,
                                  int coef_frac, const mpc::Words& input, size_t count, int margin,
                                  const std::function<void(size_t)>& progress) {
  if (margin < 0) throw mpc::InvalidArgument("ring allocation: margin " + std::to_string(margin) + " < 0");
  if (count == 0) throw mpc::InvalidArgument("ring allocation: no calibration images");
  const size_t n = net.layers.size();
  RingAllocation a;
  a.minimum.assign(n, ring.bits);
  auto passes = [&](const std::vector<int>& bits) {
    Network t = net;
    for (size_t i = 0; i < n; ++i) t.layers[i].ring_bits = bits[i];
    ++a.probes;
    try {
      const QuantizedModel q = quantize(t, ring, coef_frac);
      fixed_forward(q, input, count, o);
      return true;
    } catch (const RingError&) {
      return false;
    } catch (const mpc::OverflowError&) {
      return false;
    }
  };
  {  // every layer at the placement's ring must pass: else no allocation can
    Network t = net;
    for (Layer& L : t.layers) L.ring_bits = ring.bits;
    fixed_forward(quantize(t, ring, coef_frac), input, count, o);
  }
  for (size_t i = 0; i < n; ++i) {
    if (net.layers[i].op == OpKind::Flatten) {  // a view: its input's width
      const int p = net.producers(i)[0];
      a.minimum[i] = p < 0 ? ring.bits : a.minimum[static_cast<size_t>(p)];
    } else {
      int lo = 8, hi = ring.bits;
      while (lo < hi) {
        std::vector<int> bits = a.minimum;
        bits[i] = (lo + hi) / 2;
        if (passes(bits))
          hi = bits[i];
        else
          lo = bits[i] + 1;
      }
      a.minimum[i] = lo;
    }
    if (progress) progress(i);
  }
  a.bits.resize(n);
  for (size_t i = 0; i < n; ++i) a.bits[i] = std::min(a.minimum[i] + margin, ring.bits);
  return a;
}

}  // namespace polympc::nn
