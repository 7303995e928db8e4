// The dealer: an offline, input-independent trusted third party that produces correlated
// randomness for both parties (the model of CrypTen's TTP, LLAMA and Orca; docs/design.md §3).
// It never sees inputs or weights. All randomness comes from one AES-128-CTR PRG keyed
// with 128 bits from the OS CSPRNG (prg.h random_seed); the seeded constructor makes a
// run reproducible and exists for tests (and the CLI's --insecure-test-seed) only.
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "polympc/mpc/material.h"
#include "polympc/mpc/prg.h"
#include "polympc/mpc/ring.h"

namespace polympc::mpc {

class Dealer {
 public:
  /// A dealer keyed from the OS CSPRNG (the only constructor for real runs).
  explicit Dealer(RingConfig ring);
  /// A reproducible dealer: INSECURE, for tests only (anyone who knows or guesses the
  /// seed regenerates both parties' material).
  Dealer(const Seed& seed, RingConfig ring);

  const RingConfig& ring() const { return ring_; }
  /// Deals the next gates in Z_{2^bits} (per-layer rings; 8..64, InvalidArgument else);
  /// f is kept. The per-model fixed masks are words of the widest ring, used mod 2^bits.
  void set_ring_bits(int bits);
  /// Deals the next gates at the fixed-point scale f (per-layer scales; 0 <= f < 64,
  /// InvalidArgument else): the f of the polynomial gate's truncation (TruncMode::Prob).
  void set_ring_frac(int frac);
  Prg& prg() { return prg_; }

  /// n uniform ring elements (l bits).
  std::vector<uint64_t> random(size_t n) { return prg_.words(n, ring_.bits); }
  /// Splits x into random arithmetic shares (x0 uniform, x1 = x - x0 mod 2^l).
  std::pair<std::vector<uint64_t>, std::vector<uint64_t>> share_arith(const std::vector<uint64_t>& x);
  /// The same in Z_{2^bits} (1 <= bits <= 64) instead of the dealer's ring: x0 uniform
  /// `bits`-bit words, x1 = x - x0 mod 2^bits. share_arith(x) is share_arith(x, ring().bits).
  /// For gates that convert between rings (protocols.h "ring extension and reduction").
  std::pair<std::vector<uint64_t>, std::vector<uint64_t>> share_arith(const std::vector<uint64_t>& x,
                                                                      int bits);
  /// Splits bit-sliced words into XOR shares.
  std::pair<std::vector<uint64_t>, std::vector<uint64_t>> share_bool(const std::vector<uint64_t>& x);

  /// A per-model fixed mask the dealer keeps to build later triples (e.g. the weight
  /// mask A of a layer). Throws MaterialError when `tag` is unknown.
  void keep_fixed(const std::string& tag, std::vector<uint64_t> full) { fixed_[tag] = std::move(full); }
  const std::vector<uint64_t>& fixed(const std::string& tag) const;
  bool has_fixed(const std::string& tag) const { return fixed_.count(tag) != 0; }

 private:
  RingConfig ring_;
  Prg prg_;
  std::map<std::string, std::vector<uint64_t>> fixed_;
};

/// Concatenates vectors (material items are stored flat).
std::vector<uint64_t> concat(std::initializer_list<const std::vector<uint64_t>*> parts);

/// Pushes one item of `kind` made of the clear vectors `parts` (concatenated in order) as
/// arithmetic shares: m0 gets the P0 shares, m1 the P1 shares (Dealer::share_arith).
void push_arith_shares(Dealer& d, MaterialKind kind, const std::string& tag,
                       std::initializer_list<const std::vector<uint64_t>*> parts, MaterialStore& m0,
                       MaterialStore& m1);

}  // namespace polympc::mpc
