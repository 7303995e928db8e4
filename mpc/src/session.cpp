#include "polympc/mpc/session.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>

namespace polympc::mpc {
namespace {
__extension__ typedef unsigned __int128 U128;  // GCC and Clang
}  // namespace

std::vector<uint8_t> pack_ring(const std::vector<uint64_t>& w, int bits) {
  if (bits < 1 || bits > 64) throw InvalidArgument("pack_ring: " + std::to_string(bits) + " bits per element (needs 1..64)");
  const size_t n = w.size();
  std::vector<uint8_t> out(wire_bytes(n, bits), 0);
  if (bits % 8 == 0) {  // whole bytes: the low bits/8 bytes of each word, little-endian
    const size_t wb = static_cast<size_t>(bits / 8);
    for (size_t i = 0; i < n; ++i)
      for (size_t b = 0; b < wb; ++b) out[i * wb + b] = static_cast<uint8_t>(w[i] >> (8 * b));
    return out;
  }
  // bits is 1..63 here: fewer than 8 pending bits plus one element fit 128 bits.
  const uint64_t mask = (uint64_t{1} << bits) - 1;
  U128 acc = 0;  // pending bits, low first
  int have = 0;
  size_t o = 0;
  for (size_t i = 0; i < n; ++i) {
    acc |= static_cast<U128>(w[i] & mask) << have;
    for (have += bits; have >= 8; have -= 8, acc >>= 8) out[o++] = static_cast<uint8_t>(acc);
  }
  if (have > 0) out[o] = static_cast<uint8_t>(acc);
  return out;
}

std::vector<uint64_t> unpack_ring(const uint8_t* in, size_t n, int bits) {
  if (bits < 1 || bits > 64) throw InvalidArgument("unpack_ring: " + std::to_string(bits) + " bits per element (needs 1..64)");
  std::vector<uint64_t> w(n, 0);
  if (bits % 8 == 0) {
    const size_t wb = static_cast<size_t>(bits / 8);
    for (size_t i = 0; i < n; ++i)
      for (size_t b = 0; b < wb; ++b) w[i] |= static_cast<uint64_t>(in[i * wb + b]) << (8 * b);
    return w;
  }
  const uint64_t mask = (uint64_t{1} << bits) - 1;
  size_t bit = 0;
  for (size_t i = 0; i < n; ++i, bit += static_cast<size_t>(bits)) {
    // bits < 64 and not a multiple of 8: the element spans at most 8 bytes past bit / 8.
    const size_t byte = bit / 8;
    const int shift = static_cast<int>(bit % 8);
    const size_t last = (bit + static_cast<size_t>(bits) - 1) / 8;
    U128 v = 0;
    for (size_t b = byte; b <= last; ++b) v |= static_cast<U128>(in[b]) << (8 * (b - byte));
    w[i] = static_cast<uint64_t>(v >> shift) & mask;
  }
  return w;
}

namespace {
// Packs l-bit words (pack_ring) or 64-bit boolean words into out.
void pack(const uint64_t* w, size_t n, int bits, uint8_t* out) {
  if (bits == 64) {
    std::memcpy(out, w, n * 8);
    return;
  }
  const std::vector<uint8_t> p = pack_ring(std::vector<uint64_t>(w, w + n), bits);
  std::memcpy(out, p.data(), p.size());
}
void unpack(const uint8_t* in, size_t n, int bits, uint64_t* w) {
  if (bits == 64) {
    std::memcpy(w, in, n * 8);
    return;
  }
  const std::vector<uint64_t> v = unpack_ring(in, n, bits);
  std::memcpy(w, v.data(), n * 8);
}
}  // namespace

size_t Opening::arith(std::vector<uint64_t> share) {
  entries_.push_back(Entry{true, std::move(share)});
  return entries_.size() - 1;
}

size_t Opening::boolean(std::vector<uint64_t> share) {
  entries_.push_back(Entry{false, std::move(share)});
  return entries_.size() - 1;
}

void Opening::exchange() {
  if (exchanged_) throw InvalidArgument("Opening::exchange called twice");
  exchanged_ = true;
  // Arithmetic entries bit-packed at l bits per element, boolean words at 64; each entry
  // starts on a byte.
  const int l = s_.ring.bits;
  auto bits_of = [&](const Entry& e) { return e.arith ? l : 64; };
  size_t bytes = 0;
  for (const Entry& e : entries_) bytes += wire_bytes(e.values.size(), bits_of(e));
  std::vector<uint8_t> out(bytes), in(bytes);
  size_t off = 0;
  for (const Entry& e : entries_) {
    pack(e.values.data(), e.values.size(), bits_of(e), out.data() + off);
    off += wire_bytes(e.values.size(), bits_of(e));
  }
  s_.channel.exchange(out.data(), out.size(), in.data(), in.size());
  const uint64_t m = s_.ring.mask();
  off = 0;
  std::vector<uint64_t> peer;
  for (Entry& e : entries_) {
    peer.resize(e.values.size());
    unpack(in.data() + off, peer.size(), bits_of(e), peer.data());
    off += wire_bytes(peer.size(), bits_of(e));
    for (size_t i = 0; i < peer.size(); ++i) e.values[i] = e.arith ? (e.values[i] + peer[i]) & m : e.values[i] ^ peer[i];
  }
}

const std::vector<uint64_t>& Opening::opened(size_t slot) const {
  if (!exchanged_) throw InvalidArgument("Opening::opened before exchange()");
  if (slot >= entries_.size()) throw InvalidArgument("Opening::opened: no slot " + std::to_string(slot));
  return entries_[slot].values;
}

std::vector<std::vector<uint64_t>> open_arith_many(
    Session& s, const std::vector<const std::vector<uint64_t>*>& shares) {
  Opening op(s);
  for (auto* v : shares) op.arith(*v);
  op.exchange();
  std::vector<std::vector<uint64_t>> res;
  res.reserve(shares.size());
  for (size_t i = 0; i < shares.size(); ++i) res.push_back(op.take(i));
  return res;
}

std::vector<uint64_t> exchange_ring(Session& s, const std::vector<uint64_t>& out) {
  const int l = s.ring.bits;
  std::vector<uint8_t> ob(wire_bytes(out.size(), l)), ib(ob.size());
  pack(out.data(), out.size(), l, ob.data());
  s.channel.exchange(ob.data(), ob.size(), ib.data(), ib.size());
  std::vector<uint64_t> in(out.size());
  unpack(ib.data(), in.size(), l, in.data());
  for (auto& v : in) v &= s.ring.mask();
  return in;
}

std::vector<uint64_t> open_arith(Session& s, const std::vector<uint64_t>& share) {
  return std::move(open_arith_many(s, {&share})[0]);
}

std::vector<uint64_t> open_bool(Session& s, const std::vector<uint64_t>& share) {
  Opening op(s);
  op.boolean(share);
  op.exchange();
  return op.take(0);
}

std::vector<uint64_t> reveal_to(Session& s, const std::vector<uint64_t>& share, int to) {
  const int l = s.ring.bits;
  if (s.party != to) {
    std::vector<uint8_t> out(wire_bytes(share.size(), l));
    pack(share.data(), share.size(), l, out.data());
    s.channel.send(out.data(), out.size());
    return {};
  }
  std::vector<uint8_t> in(wire_bytes(share.size(), l));
  s.channel.recv(in.data(), in.size());
  std::vector<uint64_t> v(share.size());
  unpack(in.data(), v.size(), l, v.data());
  for (size_t i = 0; i < v.size(); ++i) v[i] = (v[i] + share[i]) & s.ring.mask();
  return v;
}

// ---- protocol options --------------------------------------------------------------------
const char* compare_mode_name(CompareMode m) { return m == CompareMode::Fss ? "fss" : "gmw"; }

CompareMode parse_compare_mode(const std::string& s) {
  if (s == "gmw") return CompareMode::Gmw;
  if (s == "fss") return CompareMode::Fss;
  throw InvalidArgument("unknown comparison protocol '" + s + "' (choose gmw or fss)");
}

CompareBits parse_compare_bits(const std::string& s) {
  const size_t colon = s.find(':');
  auto bad = [&s]() {
    return InvalidArgument("bad comparison bit range '" + s + "': expected LO:HI with 0 <= LO < HI <= 64, e.g. 6:28");
  };
  if (colon == std::string::npos || colon == 0 || colon + 1 >= s.size()) throw bad();
  CompareBits b;
  try {
    size_t used = 0;
    b.lo = std::stoi(s.substr(0, colon), &used);
    if (used != colon) throw bad();
    b.hi = std::stoi(s.substr(colon + 1), &used);
    if (used != s.size() - colon - 1) throw bad();
  } catch (const std::logic_error&) {
    throw bad();
  }
  if (b.lo < 0 || b.hi <= b.lo || b.hi > 64) throw bad();
  return b;
}

std::string compare_bits_name(const CompareBits& b) {
  if (b.lo == 0 && b.hi == 0) return "full";
  return std::to_string(b.lo) + ":" + std::to_string(b.hi);
}

int trunc_exact_below_bits(const RingConfig& r, const ProtocolOptions& o) {
  switch (o.trunc) {
    case TruncMode::Exact:
      return r.bits;
    case TruncMode::Fss:
    case TruncMode::Slack:
      return r.bits - 2;
    case TruncMode::Prob:
      return o.trunc_bound_bits;
  }
  return r.bits;
}

std::string compare_bits_summary(const ProtocolOptions& o) {
  std::string s = compare_bits_name(o.compare_bits);
  for (auto& [layer, bits] : o.layer_compare_bits) s += "," + layer + "=" + compare_bits_name(bits);
  return s;
}

const char* trunc_mode_name(TruncMode m) {
  switch (m) {
    case TruncMode::Exact:
      return "exact";
    case TruncMode::Prob:
      return "prob";
    case TruncMode::Fss:
      return "fss";
    case TruncMode::Slack:
      return "slack";
  }
  return "unknown";
}

TruncMode parse_trunc_mode(const std::string& s) {
  if (s == "exact") return TruncMode::Exact;
  if (s == "prob") return TruncMode::Prob;
  if (s == "fss") return TruncMode::Fss;
  if (s == "slack") return TruncMode::Slack;
  throw InvalidArgument("unknown truncation '" + s + "' (choose exact, prob, fss or slack)");
}

void check_trunc_failure(const RingConfig& r, const ProtocolOptions& o) {
  if (o.trunc != TruncMode::Prob) return;
  const int b = o.trunc_bound_bits, log2p = b + 1 - r.bits;
  if (log2p <= kTruncFailureLog2Limit) return;
  throw InvalidArgument(
      "probabilistic truncation at l = " + std::to_string(r.bits) + " with the bound |x| < 2^" +
      std::to_string(b) + " fails with probability about 2^" + std::to_string(log2p) +
      " per element (2^(bound+1-l)), above the limit of 2^" +
      std::to_string(kTruncFailureLog2Limit) +
      ": use exact truncation (--trunc exact), or a larger ring (--bits) with l >= bound + " +
      std::to_string(1 - kTruncFailureLog2Limit) + " = " +
      std::to_string(b + 1 - kTruncFailureLog2Limit));
}

double trunc_failure_run_log2(const RingConfig& r, const ProtocolOptions& o, uint64_t elements) {
  if (elements == 0) return -1000.0;
  return std::log2(static_cast<double>(elements)) + o.trunc_bound_bits + 1 - r.bits;
}

void check_trunc_failure_run(const RingConfig& r, const ProtocolOptions& o, uint64_t elements,
                             const std::string& what, int limit_log2) {
  if (o.trunc != TruncMode::Prob) return;
  const double log2e = trunc_failure_run_log2(r, o, elements);
  if (log2e <= limit_log2) return;
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "--trunc prob: this run truncates %llu elements (%s); each fails (is off by 2^(l-s)) with "
                "probability up to 2^%d (2^(B+1-l), B = %d, l = %d), so the run expects up to %.3g wrong "
                "results (failure probability ~2^%.1f, above the limit 2^%d): use --trunc fss (2 rounds, exact "
                "for |x| < 2^(l-2)) or --trunc exact, or run fewer images",
                static_cast<unsigned long long>(elements), what.c_str(), o.trunc_bound_bits + 1 - r.bits,
                o.trunc_bound_bits, r.bits, std::exp2(log2e), log2e, limit_log2);
  throw InvalidArgument(buf);
}

const std::pair<const std::string, CompareBits>* ProtocolOptions::layer_entry(
    const std::string& tag) const {
  const std::pair<const std::string, CompareBits>* best = nullptr;
  for (const auto& entry : layer_compare_bits) {
    const std::string& name = entry.first;
    if (name.empty() || tag.compare(0, name.size(), name) != 0) continue;  // not a prefix
    if (tag.size() != name.size() && tag[name.size()] != '/') continue;    // "/relu1/Relu2"
    if (best == nullptr || name.size() > best->first.size()) best = &entry;
  }
  return best;
}

CompareBits ProtocolOptions::compare_range(const std::string& tag, int ring_bits) const {
  CompareBits b = compare_bits;
  if (const auto* entry = layer_entry(tag)) b = entry->second;
  if (b.hi == 0) b.hi = ring_bits;
  if (b.lo < 0 || b.hi > ring_bits || b.hi - b.lo < 2)
    throw InvalidArgument(tag + ": comparison bits [" + std::to_string(b.lo) + ", " + std::to_string(b.hi) +
                          ") must satisfy 0 <= lo, lo + 2 <= hi <= l = " + std::to_string(ring_bits));
  return b;
}

}  // namespace polympc::mpc
