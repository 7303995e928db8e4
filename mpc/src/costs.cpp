// The cost of every protocol, by running its online half in the counting context
// (counting.h): nothing here restates a protocol's messages or material. Party 0's view;
// both parties send the same number of bytes in the same rounds and hold material of the
// same size in every protocol below (the tests compare both parties' wire with these).
#include "polympc/mpc/counting.h"
#include "polympc/mpc/protocols.h"

namespace polympc::mpc {

namespace {
/// Runs f(session) for party 0 after an optional setup(counting session) and returns its Cost.
template <class Setup, class F>
Cost counted(const RingConfig& r, const ProtocolOptions& o, Setup&& setup, F&& f) {
  CountingSession cs(r, o, 0);
  setup(cs);
  cs.start();
  f(cs.session());
  return cs.result().cost();
}
template <class F>
Cost counted(const RingConfig& r, const ProtocolOptions& o, F&& f) {
  return counted(r, o, [](CountingSession&) {}, std::forward<F>(f));
}

/// Per-model polynomial masks of `channels` channels under `tag`, and P0's zero coefficients.
struct PolyFixture {
  PolyShape shape;
  PolyCoeffs coeffs;
  PolySetup setup;
  PolyFixture(size_t n, int coef_frac) {
    shape.inner = n;
    coeffs.a2 = coeffs.a1 = coeffs.a0 = Words(1, 0);
    coeffs.coef_frac = coef_frac;
    setup.e_a2 = setup.e_a1 = Words(1, 0);
  }
  void deal(CountingSession& cs, const std::string& tag) const {
    MaterialStore other(1);
    deal_poly_setup(cs.setup_dealer(), shape.channels, tag, cs.material(), other);
  }
};
constexpr const char* kTag = "cost";
}  // namespace

Cost mul_cost(const RingConfig& r, size_t n) {
  return counted(r, {}, [&](Session& s) { mul(s, Words(n), Words(n), kTag); });
}

Cost square_cost(const RingConfig& r, size_t n) {
  return counted(r, {}, [&](Session& s) { square(s, Words(n), kTag); });
}

Cost trunc_cost(const RingConfig& r, const ProtocolOptions& o, size_t n, int shift) {
  if (shift == 0 || n == 0) return Cost{};
  return counted(r, o, [&](Session& s) { trunc(s, Words(n), shift, kTag); });
}

Cost b2a_cost(const RingConfig& r, size_t n) {
  return counted(r, {}, [&](Session& s) { b2a(s, Words(words_for_bits(n)), n, kTag); });
}

Cost drelu_cost(const RingConfig& r, const ProtocolOptions& o, size_t n, const std::string& tag) {
  return counted(r, o, [&](Session& s) { drelu(s, Words(n), tag); });
}
Cost drelu_cost(const RingConfig& r, size_t n) { return drelu_cost(r, ProtocolOptions{}, n); }

Cost relu_cost(const RingConfig& r, const ProtocolOptions& o, size_t n, const std::string& tag) {
  return counted(r, o, [&](Session& s) { relu(s, Words(n), tag); });
}
Cost relu_cost(const RingConfig& r, size_t n) { return relu_cost(r, ProtocolOptions{}, n); }

Cost argmax_cost(const RingConfig& r, const ProtocolOptions& o, size_t rows, size_t cols,
                 const std::string& tag) {
  return counted(r, o, [&](Session& s) { argmax(s, Words(rows * cols), rows, cols, tag); });
}

Cost block_relu_cost(const RingConfig& r, const ProtocolOptions& o, const BlockMap& m,
                     const std::string& tag) {
  return counted(r, o, [&](Session& s) { block_relu(s, Words(m.patch_of.size()), m, tag); });
}

Cost poly_cost(const RingConfig& r, const ProtocolOptions& o, size_t n, int coef_frac) {
  const PolyFixture p(n, coef_frac);
  return counted(
      r, o, [&](CountingSession& cs) { p.deal(cs, kTag); },
      [&](Session& s) { poly(s, Words(n), p.shape, p.coeffs, p.setup, kTag); });
}

Cost trunc_poly_cost(const RingConfig& r, size_t n, int shift) {
  ProtocolOptions o;
  o.trunc = TruncMode::Fss;
  const PolyFixture p(n, 20);
  return counted(
      r, o, [&](CountingSession& cs) { p.deal(cs, kTag); },
      [&](Session& s) { trunc_poly(s, Words(n), shift, p.shape, p.coeffs, p.setup, kTag); });
}

// The ring gates take their widths explicitly; the counting session's ring is not used.
Cost ring_reduce_cost(size_t n, int from_bits, int to_bits) {
  check_ring_reduce_bits(from_bits, to_bits, "ring_reduce_cost");
  return counted(RingConfig{}, {}, [&](Session& s) { ring_reduce(s, Words(n), from_bits, to_bits, kTag); });
}

Cost trunc_reduce_cost(const ProtocolOptions& o, size_t n, int from_bits, int shift) {
  check_trunc_reduce_bits(from_bits, shift, "trunc_reduce_cost");
  return counted(RingConfig{}, o, [&](Session& s) { trunc_reduce(s, Words(n), from_bits, shift, kTag); });
}

Cost sign_extend_cost(const ProtocolOptions& o, size_t n, int from_bits, int to_bits) {
  check_sign_extend_bits(from_bits, to_bits, "sign_extend_cost");
  return counted(RingConfig{}, o, [&](Session& s) { sign_extend(s, Words(n), from_bits, to_bits, kTag); });
}

Cost matmul_cost(const RingConfig& r, size_t m, size_t k, size_t cols, size_t in_size) {
  const Lowering lower = [k, cols](const Words&) { return Words(k * cols, 0); };
  return counted(
      r, {},
      [&](CountingSession& cs) {
        MaterialStore other(1);
        deal_matmul_setup(cs.setup_dealer(), m, k, kTag, cs.material(), other);
      },
      [&](Session& s) { matmul(s, Words(in_size), Words(m * k), m, k, cols, lower, kTag); });
}

}  // namespace polympc::mpc
