// Per-layer scales by sensitivity, ring widths by range, conversions cut (ring_alloc.h).
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

ScaleAllocation allocate_frac_bits(const Network& net, const mpc::RingConfig& ring, const mpc::ProtocolOptions& o,
                                   int coef_frac, const mpc::Words& input, const std::vector<int>& labels, size_t count,
                                   double tolerance, int min_frac, const std::function<void(size_t)>& progress) {
  if (tolerance < 0) throw mpc::InvalidArgument("scale allocation: tolerance " + std::to_string(tolerance) + " < 0");
  if (min_frac < 1 || min_frac > ring.frac)
    throw mpc::InvalidArgument("scale allocation: minimum scale " + std::to_string(min_frac) + " outside [1, f = " +
                               std::to_string(ring.frac) + "]");
  if (count == 0 || labels.size() < count)
    throw mpc::InvalidArgument("scale allocation: needs calibration images with their labels");
  const size_t n = net.layers.size();
  ScaleAllocation a;
  a.frac.assign(n, 0);
  // Top-1 accuracy of the twin with scales `frac`; -1 when a scale is refused or overflows.
  auto accuracy = [&](const std::vector<int>& frac) {
    Network t = net;
    for (size_t i = 0; i < n; ++i) t.layers[i].frac_bits = frac[i];
    ++a.probes;
    mpc::Words y;
    try {
      y = fixed_forward(quantize(t, ring, coef_frac), input, count, o);
    } catch (const mpc::OverflowError&) {
      return -1.0;
    } catch (const mpc::InvalidArgument&) {  // RingError, a scale the placement refuses
      return -1.0;
    }
    return static_cast<double>(correct_top1(ring, y, count, labels.data())) / static_cast<double>(count);
  };
  a.base_accuracy = a.accuracy = accuracy(a.frac);
  if (a.base_accuracy < 0) throw mpc::InvalidArgument("scale allocation: the twin does not run at uniform f");
  for (size_t i = 0; i < n; ++i) {
    const OpKind op = net.layers[i].op;
    if (op == OpKind::Conv || op == OpKind::Linear || op == OpKind::Poly)
      for (int f = ring.frac - 1; f >= min_frac; --f) {
        std::vector<int> trial = a.frac;
        trial[i] = f;
        const double acc = accuracy(trial);
        if (acc < a.base_accuracy - tolerance) break;
        a.frac = trial;
        a.accuracy = acc;
      }
    if (progress) progress(i);
  }
  return a;
}

std::vector<int> cut_conversions(const Network& net, std::vector<int> bits,
                                 const std::function<double(const std::vector<int>&)>& cost) {
  double best = cost(bits);
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t i = 0; i < net.layers.size(); ++i) {
      // Widen the producer, then its producer, ... (each step one more layer of the chain
      // that is narrower than layer i) and keep the cheapest of these candidates.
      std::vector<int> trial = bits, chosen;
      double chosen_cost = best;
      for (int p = net.producers(i)[0]; p >= 0 && trial[static_cast<size_t>(p)] < bits[i];
           p = net.producers(static_cast<size_t>(p))[0]) {
        trial[static_cast<size_t>(p)] = bits[i];
        const double c = cost(trial);
        if (c < chosen_cost) {
          chosen_cost = c;
          chosen = trial;
        }
      }
      if (!chosen.empty()) {
        best = chosen_cost;
        bits = std::move(chosen);
        changed = true;
      }
    }
  }
  return bits;
}

}  // namespace polympc::nn
