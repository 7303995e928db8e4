// Internal declarations shared by the comparison protocols (compare.cpp dispatches to the
// GMW circuit in gmw.cpp or the FSS gates in fss.cpp) and the secure argmax (argmax.cpp).
// Not installed.
#pragma once
#include <string>
#include <vector>

#include "polympc/mpc/protocols.h"

namespace polympc::mpc::detail {

// GMW (gmw.cpp): MSB of bits [b.lo, b.hi) of x0 + x1 by the carry tree. `b` is resolved
// (0 <= lo, lo + 2 <= hi <= l).
void deal_drelu_gmw(Dealer& d, size_t n, CompareBits b, const std::string& tag, MaterialStore& m0,
                    MaterialStore& m1);
Words drelu_gmw(Session& s, const Words& x, CompareBits b, const std::string& tag);

// B2A (gmw.cpp): pushes one B2A pair [r bits (W) | r (n)] for n fresh uniform bits r and
// returns r (one 0/1 word per element) for material that must be correlated with it.
Words deal_b2a_pair(Dealer& d, size_t n, const std::string& tag, MaterialStore& m0,
                    MaterialStore& m1);
// The same with the arithmetic shares in Z_{2^bits} (the ring the B2A's result lives in,
// for b2a() in a Session whose ring has `bits` bits); the dealer's own ring is not used.
Words deal_b2a_pair(Dealer& d, int bits, size_t n, const std::string& tag, MaterialStore& m0,
                    MaterialStore& m1);

// GMW (gmw.cpp): XOR shares of the carry out of bit k-1 of (x0 mod 2^k) + (x1 mod 2^k),
// i.e. 1{(x0 mod 2^k) + (x1 mod 2^k) >= 2^k}, 1 <= k <= 64, by the (G, P) tree over bits
// [0, k): one input-AND round, then ceil(log2 k) AND rounds. Ring extension and reduction
// (ring_convert.cpp) with --compare gmw.
void deal_carry_out_gmw(Dealer& d, size_t n, int k, const std::string& tag, MaterialStore& m0,
                        MaterialStore& m1);
Words carry_out_gmw(Session& s, const Words& x, int k, const std::string& tag);

// FSS (fss.cpp): DCF of depth hi - lo - 1 on the opened x + r_in.
void deal_drelu_fss(Dealer& d, size_t n, CompareBits b, const std::string& tag, MaterialStore& m0,
                    MaterialStore& m1);
Words drelu_fss(Session& s, const Words& x, CompareBits b, const std::string& tag);
void deal_relu_fss(Dealer& d, size_t n, CompareBits b, const std::string& tag, MaterialStore& m0,
                   MaterialStore& m1);
Words relu_fss(Session& s, const Words& x, CompareBits b, const std::string& tag);

// DCF keys as material (fss.cpp): n key pairs of depth `depth` for 1{x < alpha[j]}, pushed
// as one DcfKeys item tagged tag + "/dcf" per party; the online side takes its n keys and
// reports a batch of the wrong size as truncated keys (MaterialError naming depth and size).
void push_dcf_keys(Dealer& d, int depth, const Words& alpha, const std::string& tag, MaterialStore& m0,
                   MaterialStore& m1);
Words take_dcf_keys(Session& s, int depth, size_t n, const std::string& tag);

// ---- bit multiplexer (bit_mux.cpp) ----------------------------------------------------
// z_i = d_{sel[i]} · y_i for n XOR-shared bits d (bit-sliced, W = ceil(n/64) words) and
// arithmetic shares y (sel.size() elements, every sel[i] < n), in ONE round:
//   dealer: a fresh uniform bit r per bit as a B2A pair [r bits | r], and a Beaver triple
//           [a | b | c] of sel.size() elements with a uniform, b_i = r_{sel[i]}, c = a·b;
//   online: open e = d ^ r (W words) and f = y - a (sel.size() ring elements) in one
//           message; then d = e + (1 - 2e)·r and r·y = c + f·b (Beaver's combine with the
//           opening of the second factor known to be 0), so z = e·y + (1 - 2e)·(c + f·b).
// e is masked by the fresh bit r, f by the fresh uniform a: both are uniform to the peer.
// Cost: 1 round, 8 W + sel.size()·ceil(l/8) bytes per party. The argmax multiplexes two
// blocks by the same bits (block_selector(n, 2)); Block-ReLU broadcasts one bit per patch.
using Selector = std::vector<size_t>;
/// The selector of k blocks of n values each multiplied by the same n bits: sel[i] = i % n.
Selector block_selector(size_t n, size_t k);
void deal_bit_mux(Dealer& d, size_t n, const Selector& sel, const std::string& tag,
                  MaterialStore& m0, MaterialStore& m1);
Words bit_mux(Session& s, const Words& bits, size_t n, const Words& y, const Selector& sel,
              const std::string& tag);

// ---- FSS ReLU gate over patches (fss.cpp; Block-ReLU) ---------------------------------
// z_i = x_i · DReLU(S_{sel[i]}), S_p the sum of the x_i with sel[i] = p (p < patches, every
// patch non-empty): open x_i + r_i (round 1), the DCF of patch p at Σ (x_i + r_i) = S_p + R_p
// keyed with R_p = Σ r_i, open one bit per patch (round 2), multiplex locally. 2 rounds,
// sel.size()·ceil(l/8) + 8 ceil(patches/64) bytes per party. relu_fss is the case
// sel = identity.
void deal_patch_relu_fss(Dealer& d, const Selector& sel, size_t patches, CompareBits b,
                         const std::string& tag, MaterialStore& m0, MaterialStore& m1);
Words patch_relu_fss(Session& s, const Words& x, const Selector& sel, size_t patches, CompareBits b,
                     const std::string& tag);

// ---- comparison steps, one protocol body for dealing, online and counting ------------
// A protocol made of DReLUs and bit multiplexers (argmax, Block-ReLU) is written once
// against CompareSteps: DealCompareSteps pushes the material and returns zeros of the right
// size, OnlineCompareSteps runs the protocol (in a real or a counting Session).
class CompareSteps {
 public:
  virtual ~CompareSteps() = default;
  /// The comparison protocol of this context (ProtocolOptions::compare).
  virtual CompareMode compare() const = 0;
  /// FSS only: patch_relu_fss(x, sel, patches) on the bits compare_range(tag).
  virtual Words patch_relu(const Words& x, const Selector& sel, size_t patches,
                           const std::string& tag) = 0;
  /// XOR shares of DReLU(t) (W words), compared on the bits compare_range(tag).
  virtual Words drelu(const Words& t, const std::string& tag) = 0;
  /// bit_mux(bits, n, y, sel).
  virtual Words mux(const Words& bits, size_t n, const Words& y, const Selector& sel,
                    const std::string& tag) = 0;
};

class DealCompareSteps final : public CompareSteps {
 public:
  DealCompareSteps(Dealer& d, const ProtocolOptions& o, MaterialStore& m0, MaterialStore& m1)
      : d_(d), o_(o), m0_(m0), m1_(m1) {}
  CompareMode compare() const override { return o_.compare; }
  Words patch_relu(const Words&, const Selector& sel, size_t patches,
                   const std::string& tag) override {
    deal_patch_relu_fss(d_, sel, patches, o_.compare_range(tag, d_.ring().bits), tag, m0_, m1_);
    return Words(sel.size(), 0);
  }
  Words drelu(const Words& t, const std::string& tag) override {
    deal_drelu(d_, t.size(), o_, tag, m0_, m1_);
    return Words(words_for_bits(t.size()), 0);
  }
  Words mux(const Words&, size_t n, const Words&, const Selector& sel,
            const std::string& tag) override {
    deal_bit_mux(d_, n, sel, tag, m0_, m1_);
    return Words(sel.size(), 0);
  }

 private:
  Dealer& d_;
  const ProtocolOptions& o_;
  MaterialStore& m0_;
  MaterialStore& m1_;
};

class OnlineCompareSteps final : public CompareSteps {
 public:
  explicit OnlineCompareSteps(Session& s) : s_(s) {}
  CompareMode compare() const override { return s_.options.compare; }
  Words patch_relu(const Words& x, const Selector& sel, size_t patches,
                   const std::string& tag) override {
    return patch_relu_fss(s_, x, sel, patches, s_.options.compare_range(tag, s_.ring.bits), tag);
  }
  Words drelu(const Words& t, const std::string& tag) override { return mpc::drelu(s_, t, tag); }
  Words mux(const Words& bits, size_t n, const Words& y, const Selector& sel,
            const std::string& tag) override {
    return bit_mux(s_, bits, n, y, sel, tag);
  }

 private:
  Session& s_;
};

// FSS truncation (trunc_fss.cpp), shared by --trunc fss and the truncate-then-polynomial
// gate (arith.cpp). The dealer draws the mask r, pushes the DCF keys (tag + "/dcf") and
// returns its clear values: r, the bits t (W words) and the 4-entry tables T (4n words).
struct FssTruncDeal {
  Words r, t, table;
};
FssTruncDeal deal_fss_trunc_values(Dealer& d, size_t n, int shift, const std::string& tag,
                                   MaterialStore& m0, MaterialStore& m1);
// The carry part alone, in a ring of `bits` bits (the dealer's own ring is not used): r
// uniform mod 2^bits, the bits t and the DCF keys of depth `shift` (pushed as tag + "/dcf");
// `table` stays empty. deal_fss_trunc_values is this plus the table, drawing the same
// randomness in the same order. Truncate-reduce (ring_convert.cpp) uses it alone.
FssTruncDeal deal_fss_carry_values(Dealer& d, int bits, size_t n, int shift, const std::string& tag,
                                   MaterialStore& m0, MaterialStore& m1);
// Online: takes the DCF keys; then round 1 opens xh = x + r (returned) and leaves in `cbits`
// this party's XOR shares of the carry c into bit `shift` (W words). Both use s.ring (its
// bits): a gate working in another ring passes a Session copy with that ring.
Words fss_trunc_keys(Session& s, size_t n, int shift, const std::string& tag);
Words fss_trunc_open(Session& s, const Words& x, int shift, Words& keys, const uint64_t* r,
                     const uint64_t* t, Words& cbits, const std::string& tag);
// Index a of the table entry T[a] for the opened xh: the two top bits of xh + 2^(l-1).
uint64_t fss_trunc_table_index(const RingConfig& r, uint64_t xh);

}  // namespace polympc::mpc::detail
