// One party's view of a 2PC session: who it is, the channel to the peer, the backend
// that runs its local steps and its preprocessing material (STYLE.md rule 4: protocols
// take these by reference, no globals).
#pragma once
#include <cstdint>
#include <vector>

#include "polympc/mpc/backend.h"
#include "polympc/mpc/channel.h"
#include "polympc/mpc/material.h"
#include "polympc/mpc/ring.h"

namespace polympc::mpc {

/// How shares are truncated after a fixed-point product (DESIGN.md §5).
enum class TruncMode {
  Exact,  ///< faithful: floor(x / 2^s) exactly, via GMW carries (bit-identical to plaintext)
  Prob,   ///< SecureML-style dealer pair: 1 round, l bits; off by <= 1 ulp, fails w.p. ~2^(l_x+1-l)
};

/// Secure comparison protocol (DESIGN.md §5). Only GMW exists so far.
enum class CompareMode { Gmw };

struct ProtocolOptions {
  TruncMode trunc = TruncMode::Exact;
  CompareMode compare = CompareMode::Gmw;
  /// Probabilistic truncation assumes |x| < 2^trunc_bound_bits (before shifting).
  int trunc_bound_bits = 36;
};

struct Session {
  int party;  ///< 0 = server (model owner), 1 = client (data owner)
  RingConfig ring;
  Channel& channel;
  Backend& backend;
  MaterialStore& material;
  ProtocolOptions options{};
};

/// Bytes one ring element takes on the wire: ceil(l / 8).
inline size_t wire_bytes(int bits) { return static_cast<size_t>((bits + 7) / 8); }

/// Opens arithmetic shares: both parties send their share (packed to ceil(l/8) bytes per
/// element) and return x = x0 + x1 mod 2^l. One round, n * ceil(l/8) bytes per party.
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
