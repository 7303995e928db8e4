// One party's view of a 2PC session: who it is, the channel to the peer, the backend
// that runs its local steps and its preprocessing material (docs/design.md §15, rule 4: protocols
// take these by reference, no globals).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "polympc/mpc/backend.h"
#include "polympc/mpc/channel.h"
#include "polympc/mpc/material.h"
#include "polympc/mpc/ring.h"

namespace polympc::mpc {

/// How shares are truncated after a fixed-point product (docs/design.md §5).
enum class TruncMode {
  Exact,  ///< faithful: floor(x / 2^s) exactly, via GMW carries (bit-identical to plaintext)
  Prob,   ///< SecureML-style dealer pair: 1 round, l bits; off by <= 1 ulp, fails w.p. ~2^(l_x+1-l)
  Fss,    ///< SIGMA's truncation with slack (DCF of depth s + B2A): 2 rounds, l + 1 bits;
          ///< exact (bit-identical to plaintext) for |x| < 2^(l-2), wrong outside that bound
  Slack,  ///< GMW carries with slack: the carry tree over the low s bits only, the wrap from
          ///< the MSBs (Cheetah's truncation with known MSB); exact for |x| < 2^(l-2), wrong
          ///< outside; ~log2(s) + 3 rounds, about 2s + 4 bits, little dealer material
};
/// "exact", "prob", "fss" or "slack".
const char* trunc_mode_name(TruncMode m);
/// Parses "exact" / "prob" / "fss" / "slack"; throws InvalidArgument naming the choices otherwise.
TruncMode parse_trunc_mode(const std::string& s);

/// Secure comparison protocol of DReLU, ReLU and max (docs/design.md §5). Both give the same
/// results; they differ in cost (docs/protocols.md).
enum class CompareMode {
  Gmw,  ///< bit-decomposed shares, parallel-prefix carry tree of AND gates (CrypTen-style)
  Fss,  ///< DCF keys from the dealer (Boyle et al., EUROCRYPT'21): open x + r_in, evaluate locally
};
/// "gmw" or "fss".
const char* compare_mode_name(CompareMode m);
/// Parses "gmw" / "fss"; throws InvalidArgument naming the choices otherwise.
CompareMode parse_compare_mode(const std::string& s);

/// Reduced-bit comparison (secure_inference: Gorski & Avidan, "Securing Neural Networks
/// with Knapsack Optimization"): DReLU looks only at bits [lo, hi) of the value, i.e. at
/// the m = hi - lo bit signed number (x >> lo) mod 2^m, dropping the low bits and the high
/// bits that are sign extension. {0, 0} (hi = 0) means the whole ring, [0, l).
/// Exactness (docs/protocols.md): the result is DReLU(x) for every x with
/// -2^(hi-1) + 2^lo <= x < 2^(hi-1) outside [0, 2^lo); on [0, 2^lo) it may be 0
/// (the carry out of the dropped low bits is not computed).
struct CompareBits {
  int lo = 0;
  int hi = 0;  ///< 0 = l
  bool operator==(const CompareBits& o) const { return lo == o.lo && hi == o.hi; }
  bool operator!=(const CompareBits& o) const { return !(*this == o); }
};
/// Parses "LO:HI" (e.g. "6:28"); throws InvalidArgument.
CompareBits parse_compare_bits(const std::string& s);
/// "LO:HI" ("full" for {0, 0}).
std::string compare_bits_name(const CompareBits& b);

struct ProtocolOptions {
  TruncMode trunc = TruncMode::Exact;
  CompareMode compare = CompareMode::Gmw;
  /// Probabilistic truncation assumes |x| < 2^trunc_bound_bits (before shifting).
  int trunc_bound_bits = 36;
  /// Bits every DReLU / ReLU / max compares, unless `layer_compare_bits` names its layer.
  CompareBits compare_bits{};
  /// Per-layer override, keyed by layer name. An entry NAME applies to the tags equal to
  /// NAME or starting with "NAME/" (the executor tags a ReLU layer's comparisons with the
  /// layer name, a max pool's with "<name>/max<level>"), so layer names may themselves
  /// contain '/' (PyTorch exports: "/relu1/Relu", "/features/features.2/Relu"). When
  /// several entries match, the longest name wins. Empty names match nothing.
  std::map<std::string, CompareBits> layer_compare_bits;

  /// The entry of layer_compare_bits that applies to `tag` (see there), or nullptr.
  const std::pair<const std::string, CompareBits>* layer_entry(const std::string& tag) const;
  /// The bits [lo, hi) that the comparison tagged `tag` looks at in an l = ring_bits ring,
  /// with hi resolved (0 -> l): the matching layer entry, else compare_bits. Throws
  /// InvalidArgument naming the tag unless 0 <= lo, lo + 2 <= hi <= l.
  CompareBits compare_range(const std::string& tag, int ring_bits) const;
};

/// Bits B such that the truncation o.trunc returns floor(x / 2^s) exactly for every signed
/// |x| < 2^B: l for the exact (GMW) truncation (every value), l - 2 for FSS and slack
/// truncation, trunc_bound_bits for the probabilistic one (which is also off by 1 ulp).
int trunc_exact_below_bits(const RingConfig& r, const ProtocolOptions& o);

/// The comparison bits of every DReLU as one text: compare_bits_name of the default, then
/// ",NAME=LO:HI" per layer override (reports and the material plan descriptor).
std::string compare_bits_summary(const ProtocolOptions& o);

/// Largest accepted per-element failure probability of probabilistic truncation: 2^-20.
constexpr int kTruncFailureLog2Limit = -20;
/// Refuses probabilistic truncation that fails too often. SecureML's truncation (Mohassel &
/// Zhang, S&P'17, Theorem 1; docs/protocols.md "Truncation error") opens
/// x + 2^B + r with B = o.trunc_bound_bits and fails (an error of about 2^(l-s)) with
/// probability about 2^(B+1-l) per element. Throws InvalidArgument, stating that
/// probability, the bound and the remedies (exact truncation or a larger ring), when
/// o.trunc is Prob and B + 1 - l > kTruncFailureLog2Limit; does nothing otherwise.
void check_trunc_failure(const RingConfig& r, const ProtocolOptions& o);

/// Largest accepted failure probability of probabilistic truncation over a whole run (every
/// truncated element of every image): 2^-20.
constexpr int kTruncRunFailureLog2Limit = -20;
/// log2 of the union bound on a run's truncation failures: log2(elements) + B + 1 - l, i.e.
/// log2 of the expected number of wrong results when each of `elements` probabilistic
/// truncations fails w.p. 2^(B+1-l) (B = o.trunc_bound_bits). -1000 for 0 elements.
double trunc_failure_run_log2(const RingConfig& r, const ProtocolOptions& o, uint64_t elements);
/// Refuses a run whose probabilistic truncations fail somewhere with probability above
/// 2^limit_log2 (union bound, trunc_failure_run_log2). `elements`: truncated elements of the
/// whole run (per image, e.g. nn::truncated_elements_per_image, times images); `what` names
/// them in the message ("500 images x 32,786 truncated elements"). Throws InvalidArgument
/// stating the per-element probability, the expected number of failures and the remedies
/// (--trunc fss or --trunc exact, fewer images); does nothing unless o.trunc is Prob.
/// docs/protocols.md "Truncation error".
void check_trunc_failure_run(const RingConfig& r, const ProtocolOptions& o, uint64_t elements,
                             const std::string& what, int limit_log2 = kTruncRunFailureLog2Limit);

struct Session {
  int party;  ///< 0 = server (model owner), 1 = client (data owner)
  RingConfig ring;
  Channel& channel;
  Backend& backend;
  MaterialStore& material;
  ProtocolOptions options{};
};

/// Bytes n ring elements of l bits take on the wire, bit-packed: ceil(n·l / 8).
inline size_t wire_bytes(size_t n, int bits) { return (n * static_cast<size_t>(bits) + 7) / 8; }
/// The low `bits` bits of each word, packed little-endian bit after bit (element i at bits
/// [i·bits, (i+1)·bits) of the stream); wire_bytes(w.size(), bits) bytes, the last byte's
/// unused high bits zero. InvalidArgument unless 1 <= bits <= 64.
std::vector<uint8_t> pack_ring(const std::vector<uint64_t>& w, int bits);
/// The n words of a pack_ring stream (`in` holds wire_bytes(n, bits) bytes).
std::vector<uint64_t> unpack_ring(const uint8_t* in, size_t n, int bits);

/// Openings of several protocol steps in ONE round (composition as MP-SPDZ's protocols do
/// it: each step prepares what it opens, one exchange, each step finishes on the opened
/// values). Arithmetic shares go on the wire bit-packed at l bits per element (pack_ring),
/// boolean (XOR) words as 8 bytes, in the order queued, each slot starting on a byte; both
/// parties must queue the same sizes.
class Opening {
 public:
  explicit Opening(Session& s) : s_(s) {}
  /// Queues this party's arithmetic shares; returns their slot.
  size_t arith(std::vector<uint64_t> share);
  /// Queues this party's XOR shares (bit-sliced words); returns their slot.
  size_t boolean(std::vector<uint64_t> share);
  /// One round: sends every queued share in one message, receives the peer's and opens
  /// them (x0 + x1 mod 2^l, or x0 ^ x1). InvalidArgument when called twice.
  void exchange();
  /// The opened values of a slot. InvalidArgument before exchange() or for a bad slot.
  const std::vector<uint64_t>& opened(size_t slot) const;
  /// Moves the opened values of a slot out (the slot is empty afterwards).
  std::vector<uint64_t> take(size_t slot) { return std::move(const_cast<std::vector<uint64_t>&>(opened(slot))); }

 private:
  struct Entry {
    bool arith;
    std::vector<uint64_t> values;  // this party's share, then the opened value
  };
  Session& s_;
  std::vector<Entry> entries_;
  bool exchanged_ = false;
};

/// Opens arithmetic shares: both parties send their share (bit-packed, l bits per element)
/// and return x = x0 + x1 mod 2^l. One round, ceil(n·l/8) bytes per party.
std::vector<uint64_t> open_arith(Session& s, const std::vector<uint64_t>& share);
/// Sends `out` (ring words, packed) and returns the peer's equally sized vector. One round.
std::vector<uint64_t> exchange_ring(Session& s, const std::vector<uint64_t>& out);
/// Opens several arithmetic vectors in ONE round (concatenated on the wire).
std::vector<std::vector<uint64_t>> open_arith_many(Session& s,
                                                   const std::vector<const std::vector<uint64_t>*>& shares);
/// Opens bit-sliced boolean shares (XOR). One round, 8 bytes per word per party.
std::vector<uint64_t> open_bool(Session& s, const std::vector<uint64_t>& share);
/// Reveals arithmetic shares to party `to` only: the other party sends, `to` receives.
/// Returns the value at `to`, an empty vector at the sender. One round.
std::vector<uint64_t> reveal_to(Session& s, const std::vector<uint64_t>& share, int to);

}  // namespace polympc::mpc
