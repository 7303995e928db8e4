#include "polympc/nn/quantize.h"

namespace polympc::nn {

int64_t channels_of(const std::vector<int64_t>& shape) { return shape.empty() ? 1 : shape[0]; }
int64_t spatial_of(const std::vector<int64_t>& shape) {
  int64_t s = 1;
  for (size_t i = 1; i < shape.size(); ++i) s *= shape[i];
  return s;
}

namespace {
mpc::Words encode_all(const mpc::RingConfig& r, const std::vector<float>& v, int scale, size_t n,
                      const std::string& what) {
  mpc::Words out(n, 0);
  if (v.empty()) return out;
  if (v.size() != n && v.size() != 1)
    throw ModelError(what + ": has " + std::to_string(v.size()) + " values, expected " + std::to_string(n) + " or 1");
  for (size_t i = 0; i < n; ++i) {
    try {
      out[i] = r.encode(v[v.size() == 1 ? 0 : i], scale);
    } catch (const mpc::OverflowError& e) {
      throw mpc::OverflowError(what + ": " + e.what());
    }
  }
  return out;
}
}  // namespace

QuantizedModel quantize(const Network& net, const mpc::RingConfig& ring, int coef_frac) {
  ring.validate();
  QuantizedModel q;
  q.net = net;
  q.net.infer_shapes();
  q.ring = ring;
  q.coef_frac = resolve_coef_frac(ring, coef_frac);
  for (size_t i = 0; i < q.net.layers.size(); ++i) {
    const Layer& L = q.net.layers[i];
    const int f = resolve_frac(L.frac_bits, ring.frac);  // the layer's scale (weights at f, bias at 2f)
    QuantizedLayer ql;
    if (L.op == OpKind::Conv || L.op == OpKind::Linear) {
      const size_t m = static_cast<size_t>(L.weight_shape[0]);
      ql.weight = encode_all(ring, L.weight, f, L.weight.size(), "layer '" + L.name + "' weight");
      ql.bias = encode_all(ring, L.bias, 2 * f, m, "layer '" + L.name + "' bias");
    } else if (L.op == OpKind::Poly) {
      if (2 * f + q.coef_frac >= ring.bits - 1)
        throw mpc::InvalidArgument("layer '" + L.name + "': polynomial coefficient scale 2f+" +
                                   std::to_string(q.coef_frac) + " (f = " + std::to_string(f) +
                                   ") leaves no integer bits in a " + std::to_string(ring.bits) + "-bit ring");
      const size_t c = static_cast<size_t>(channels_of(L.out_shape));
      ql.poly.coef_frac = q.coef_frac;
      ql.poly.a2 = encode_all(ring, L.poly_a2, q.coef_frac, c, "layer '" + L.name + "' a2");
      ql.poly.a1 = encode_all(ring, L.poly_a1, f + q.coef_frac, c, "layer '" + L.name + "' a1");
      ql.poly.a0 = encode_all(ring, L.poly_a0, 2 * f + q.coef_frac, c, "layer '" + L.name + "' a0");
    }
    q.layers.push_back(std::move(ql));
  }
  return q;
}

}  // namespace polympc::nn
