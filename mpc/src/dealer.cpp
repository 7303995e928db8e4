#include "polympc/mpc/dealer.h"

namespace polympc::mpc {

Dealer::Dealer(RingConfig ring) : Dealer(random_seed(), ring) {}

Dealer::Dealer(const Seed& seed, RingConfig ring) : ring_(ring), prg_(seed) { ring_.validate(); }

void Dealer::set_ring_bits(int bits) {
  if (bits < 8 || bits > 64) throw InvalidArgument("dealer ring of " + std::to_string(bits) + " bits (needs 8..64)");
  ring_.bits = bits;
}

void Dealer::set_ring_frac(int frac) {
  if (frac < 0 || frac >= 64) throw InvalidArgument("dealer scale f = " + std::to_string(frac) + " (needs 0..63)");
  ring_.frac = frac;
}

std::pair<std::vector<uint64_t>, std::vector<uint64_t>> Dealer::share_arith(
    const std::vector<uint64_t>& x) {
  return share_arith(x, ring_.bits);
}

std::pair<std::vector<uint64_t>, std::vector<uint64_t>> Dealer::share_arith(
    const std::vector<uint64_t>& x, int bits) {
  std::vector<uint64_t> x0 = prg_.words(x.size(), bits);
  std::vector<uint64_t> x1(x.size());
  const uint64_t m = RingConfig{bits, 0}.mask();
  for (size_t i = 0; i < x.size(); ++i) x1[i] = (x[i] - x0[i]) & m;
  return {std::move(x0), std::move(x1)};
}

std::pair<std::vector<uint64_t>, std::vector<uint64_t>> Dealer::share_bool(
    const std::vector<uint64_t>& x) {
  std::vector<uint64_t> x0 = prg_.words(x.size(), 64);
  std::vector<uint64_t> x1(x.size());
  for (size_t i = 0; i < x.size(); ++i) x1[i] = x[i] ^ x0[i];
  return {std::move(x0), std::move(x1)};
}

const std::vector<uint64_t>& Dealer::fixed(const std::string& tag) const {
  auto it = fixed_.find(tag);
  if (it == fixed_.end())
    throw MaterialError("dealer has no per-model mask '" + tag + "' (model setup not dealt)");
  return it->second;
}

std::vector<uint64_t> concat(std::initializer_list<const std::vector<uint64_t>*> parts) {
  size_t n = 0;
  for (auto* p : parts) n += p->size();
  std::vector<uint64_t> out;
  out.reserve(n);
  for (auto* p : parts) out.insert(out.end(), p->begin(), p->end());
  return out;
}

void push_arith_shares(Dealer& d, MaterialKind kind, const std::string& tag,
                       std::initializer_list<const std::vector<uint64_t>*> parts, MaterialStore& m0,
                       MaterialStore& m1) {
  auto [s0, s1] = d.share_arith(concat(parts));
  m0.push(kind, tag, std::move(s0));
  m1.push(kind, tag, std::move(s1));
}

}  // namespace polympc::mpc
