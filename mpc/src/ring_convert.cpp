// Gates between rings of different widths (issue 13 "per-layer rings"): reduce, truncate-
// reduce and sign extension. Declarations and contracts: protocols.h "ring extension and
// reduction"; derivations, views and costs: docs/protocols.md "Ring extension and reduction".
// Sources: SIGMA (Gupta et al., PETS'24, eprint 2023/1269: TruncateReduce, SignExtend) and
// LLAMA (Gupta et al., PETS'22, eprint 2022/793: zero and sign extension); the ideas only,
// written here against this code base's DCF (dcf.h, Boyle et al. EUROCRYPT'21 with output
// group Z_2, so every DCF output bit goes through the existing B2A).
//
// Notation: l the input width, x = x0 + x1 mod 2^l, x_u in [0, 2^l) its unsigned word,
// r the dealer's uniform mask, W = ceil(n/64).
//
// Truncate-reduce l -> l - s. The FSS truncation's carry (trunc_fss.cpp, reused as is):
// with v = -r mod 2^l and the opened xh = x + r mod 2^l, as integers
//   xh + v = x_u + 2^l·w,   floor((xh + v) / 2^s) = (xh >> s) + (v >> s) + c,
// c = 1{(xh mod 2^s) + (v mod 2^s) >= 2^s} from a DCF of depth s. So
//   floor(x_u / 2^s) = (xh >> s) + (v >> s) + c - 2^(l-s)·w,
// and mod 2^(l-s) the wrap term vanishes; floor(x_u / 2^s) and floor(x / 2^s) (signed) also
// differ by a multiple of 2^(l-s). Hence, in Z_{2^(l-s)} and for every x:
//   y_b = [b = 0](xh >> s) + q_b + c_b,  q = v >> s (dealer),  c_b from B2A in Z_{2^(l-s)}.
// No wrap table (the FSS truncation's slack bound is not needed).
//
// Sign extension l -> l'. u = x_u + 2^(l-1) mod 2^l, so that the signed value of x is
// exactly u - 2^(l-1) with u in [0, 2^l). The parties open uh = u + r mod 2^l; as integers
//   u = uh - r + 2^l·w,  w = 1{uh < r}  (a DCF of depth l keyed with alpha = r),
// and in Z_{2^l'}: y_b = [b = 0](uh - 2^(l-1)) - r_b + 2^l·w_b with r_b shares mod 2^l'
// (they are also shares of r mod 2^l, used for the masking) and w_b from B2A in Z_{2^l'}.
//
// GMW (ProtocolOptions::compare = Gmw): the same carry / wrap bits from the shares directly,
// by the (G, P) carry tree of DReLU and exact truncation (gmw.cpp), no DCF:
//   truncate-reduce: c = carry out of the low s bits of x0 + x1 (x_b in [0, 2^l)), then
//     y_b = (x_b >> s) + c_b in Z_{2^(l-s)}, since floor((x0 + x1) / 2^s) = (x0 >> s) +
//     (x1 >> s) + c and x0 + x1 = x_u + 2^l·(wrap), which vanishes mod 2^(l-s);
//   sign extension: u0 = x0 + 2^(l-1) mod 2^l, u1 = x1, w = carry out of bit l-1 of u0 + u1,
//     then y_b = u_b - 2^l·w_b - [b = 0]·2^(l-1) in Z_{2^l'} (u0 + u1 = u + 2^l·w).
//
// Each gate's material carries a public header word (gate, protocol, widths): the first
// word of the FSS mask item, the whole of the GMW variants' first item. Material dealt for
// other widths with the same sizes is thus refused instead of giving wrong shares.
#include <string>

#include "compare_internal.h"
#include "polympc/mpc/dcf.h"
#include "polympc/mpc/protocols.h"

namespace polympc::mpc {
namespace {

constexpr uint64_t kHeaderMagic = 0x5243;  // "RC"
enum Gate : uint64_t { kTruncReduce = 1, kSignExtend = 2 };

/// Header word: bits 0-15 magic, 16-23 gate, 24-31 the input width, 32-39 the shift
/// (truncate-reduce) or the output width (sign extension), 40-47 the protocol
/// (0 FSS, 1 GMW).
uint64_t header(Gate g, CompareMode m, int from_bits, int param) {
  return kHeaderMagic | (static_cast<uint64_t>(g) << 16) | (static_cast<uint64_t>(from_bits & 0xff) << 24) |
         (static_cast<uint64_t>(param & 0xff) << 32) | (uint64_t{m == CompareMode::Gmw ? 1u : 0u} << 40);
}

std::string describe(Gate g, CompareMode m, int from_bits, int param) {
  const std::string how = std::string(" (") + (m == CompareMode::Gmw ? "GMW" : "FSS") + ")";
  if (g == kTruncReduce)
    return "l = " + std::to_string(from_bits) + " -> " + std::to_string(from_bits - param) + " bits, shift " +
           std::to_string(param) + how;
  return "l = " + std::to_string(from_bits) + " -> " + std::to_string(param) + " bits" + how;
}

/// Refuses a header of another gate, protocol or widths (not in the counting context,
/// whose material is zeros).
void check_header(const Session& s, uint64_t got, Gate g, int from_bits, int param, const std::string& what,
                  const std::string& tag) {
  const CompareMode m = s.options.compare;
  if (s.material.is_counting() || got == header(g, m, from_bits, param)) return;
  std::string dealt = "an unknown gate or header";
  const uint64_t gg = (got >> 16) & 0xff, gm = (got >> 40) & 0xff;
  if ((got & 0xffff) == kHeaderMagic && (gg == kTruncReduce || gg == kSignExtend) && gm <= 1 && (got >> 48) == 0)
    dealt = describe(static_cast<Gate>(gg), gm == 1 ? CompareMode::Gmw : CompareMode::Fss,
                     static_cast<int>((got >> 24) & 0xff), static_cast<int>((got >> 32) & 0xff));
  throw MaterialError("P" + std::to_string(s.party) + ": " + tag + ": " + what + " dealt for " + dealt +
                      ", used for " + describe(g, m, from_bits, param) +
                      " (material dealt for other ring widths or another --compare protocol)");
}

/// The GMW variants' material: one header word, shared by nobody (public).
void push_header(MaterialKind kind, uint64_t h, const std::string& tag, MaterialStore& m0, MaterialStore& m1) {
  m0.push(kind, tag, Words{h});
  m1.push(kind, tag, Words{h});
}

/// This party's session with the ring of `bits` bits (openings and B2A in Z_{2^bits}).
Session ring_session(Session& s, int bits) {
  return Session{s.party, RingConfig{bits, 0}, s.channel, s.backend, s.material, s.options};
}

uint64_t mask_of(int bits) { return RingConfig{bits, 0}.mask(); }

}  // namespace

// ---- width checks ---------------------------------------------------------------------------
void check_ring_reduce_bits(int from_bits, int to_bits, const std::string& tag) {
  if (from_bits > 64 || to_bits < 8 || to_bits >= from_bits)
    throw InvalidArgument(tag + ": ring reduction from l = " + std::to_string(from_bits) + " to l' = " +
                          std::to_string(to_bits) + " bits: needs 8 <= l' < l <= 64");
}

void check_trunc_reduce_bits(int from_bits, int shift, const std::string& tag) {
  if (from_bits > 64 || shift < 1 || from_bits - shift < 8)
    throw InvalidArgument(tag + ": truncate-reduce from l = " + std::to_string(from_bits) + " bits by shift s = " +
                          std::to_string(shift) + " (to l - s = " + std::to_string(from_bits - shift) +
                          " bits): needs l <= 64, s >= 1 and l - s >= 8");
}

void check_sign_extend_bits(int from_bits, int to_bits, const std::string& tag) {
  if (from_bits < 8 || to_bits > 64 || to_bits <= from_bits)
    throw InvalidArgument(tag + ": sign extension from l = " + std::to_string(from_bits) + " to l' = " +
                          std::to_string(to_bits) + " bits: needs 8 <= l < l' <= 64");
}

// ---- reduce ---------------------------------------------------------------------------------
void deal_ring_reduce(Dealer&, size_t, int from_bits, int to_bits, const std::string& tag, MaterialStore&,
                      MaterialStore&) {
  check_ring_reduce_bits(from_bits, to_bits, tag);
}

Words ring_reduce(Session&, const Words& x, int from_bits, int to_bits, const std::string& tag) {
  check_ring_reduce_bits(from_bits, to_bits, tag);
  const uint64_t m = mask_of(to_bits);
  Words y(x.size());
  for (size_t j = 0; j < x.size(); ++j) y[j] = x[j] & m;
  return y;
}

// ---- truncate-reduce ------------------------------------------------------------------------
void deal_trunc_reduce(Dealer& d, size_t n, int from_bits, int shift, const ProtocolOptions& o,
                       const std::string& tag, MaterialStore& m0, MaterialStore& m1) {
  check_trunc_reduce_bits(from_bits, shift, tag);
  if (n == 0) return;
  const int l = from_bits, lo = from_bits - shift;
  if (o.compare == CompareMode::Gmw) {
    push_header(MaterialKind::TruncReduceMasks, header(kTruncReduce, o.compare, l, shift), tag, m0, m1);
    detail::deal_carry_out_gmw(d, n, shift, tag, m0, m1);
    detail::deal_b2a_pair(d, lo, n, tag + "/carry", m0, m1);
    return;
  }
  const uint64_t mask = mask_of(l);
  // r, t and the DCF keys of the carry into bit s: the FSS truncation's, in Z_{2^l}.
  const detail::FssTruncDeal v = detail::deal_fss_carry_values(d, l, n, shift, tag, m0, m1);
  Words q(n);
  for (size_t j = 0; j < n; ++j) q[j] = ((uint64_t{0} - v.r[j]) & mask) >> shift;  // < 2^(l-s)
  auto [r0, r1] = d.share_arith(v.r, l);
  auto [t0, t1] = d.share_bool(v.t);
  auto [q0, q1] = d.share_arith(q, lo);
  const Words h{header(kTruncReduce, o.compare, l, shift)};
  m0.push(MaterialKind::TruncReduceMasks, tag, concat({&h, &r0, &t0, &q0}));
  m1.push(MaterialKind::TruncReduceMasks, tag, concat({&h, &r1, &t1, &q1}));
  detail::deal_b2a_pair(d, lo, n, tag + "/carry", m0, m1);
}

Words trunc_reduce(Session& s, const Words& x, int from_bits, int shift, const std::string& tag) {
  check_trunc_reduce_bits(from_bits, shift, tag);
  const size_t n = x.size(), w = words_for_bits(n);
  if (n == 0) return {};
  const int l = from_bits, lo = from_bits - shift;
  Session in = ring_session(s, l), out = ring_session(s, lo);
  const uint64_t mask_in = mask_of(l), mask_out = mask_of(lo);
  Words xin(n);
  for (size_t j = 0; j < n; ++j) xin[j] = x[j] & mask_in;
  if (s.options.compare == CompareMode::Gmw) {
    const Words h = s.material.take(MaterialKind::TruncReduceMasks, 1, tag);
    check_header(s, h[0], kTruncReduce, l, shift, "truncate-reduce material", tag);
    // XOR shares of the carry out of the low s bits of x0 + x1; B2A in Z_{2^(l-s)}.
    const Words c = b2a(out, detail::carry_out_gmw(s, xin, shift, tag), n, tag + "/carry");
    Words y(n);
    for (size_t j = 0; j < n; ++j) y[j] = ((xin[j] >> shift) + c[j]) & mask_out;
    return y;
  }
  Words keys = detail::fss_trunc_keys(in, n, shift, tag);
  const Words mat = s.material.take(MaterialKind::TruncReduceMasks, 1 + 2 * n + w, tag);
  check_header(s, mat[0], kTruncReduce, l, shift, "truncate-reduce material", tag);
  const uint64_t* r = mat.data() + 1;
  const uint64_t* t = r + n;
  const uint64_t* q = t + w;
  // Round 1: open xh = x + r in Z_{2^l}; XOR shares of the carry c into bit s.
  Words cbits;
  const Words xh = detail::fss_trunc_open(in, xin, shift, keys, r, t, cbits, tag);
  // Round 2: B2A of c in Z_{2^(l-s)}.
  const Words c = b2a(out, cbits, n, tag + "/carry");
  const uint64_t p0 = s.party == 0 ? ~uint64_t{0} : 0;
  Words y(n);
  for (size_t j = 0; j < n; ++j) y[j] = (((xh[j] >> shift) & p0) + q[j] + c[j]) & mask_out;
  return y;
}

// ---- sign extension -------------------------------------------------------------------------
void deal_sign_extend(Dealer& d, size_t n, int from_bits, int to_bits, const ProtocolOptions& o,
                      const std::string& tag, MaterialStore& m0, MaterialStore& m1) {
  check_sign_extend_bits(from_bits, to_bits, tag);
  if (n == 0) return;
  if (o.compare == CompareMode::Gmw) {
    push_header(MaterialKind::SignExtendMasks, header(kSignExtend, o.compare, from_bits, to_bits), tag, m0, m1);
    detail::deal_carry_out_gmw(d, n, from_bits, tag, m0, m1);
    detail::deal_b2a_pair(d, to_bits, n, tag + "/wrap", m0, m1);
    return;
  }
  // uh = u + r is uniform for uniform r (r = 0 included): no resampling.
  const Words r = d.prg().words(n, from_bits);
  detail::push_dcf_keys(d, from_bits, r, tag, m0, m1);  // 1{uh < r} on l bits
  auto [r0, r1] = d.share_arith(r, to_bits);
  const Words h{header(kSignExtend, o.compare, from_bits, to_bits)};
  m0.push(MaterialKind::SignExtendMasks, tag, concat({&h, &r0}));
  m1.push(MaterialKind::SignExtendMasks, tag, concat({&h, &r1}));
  detail::deal_b2a_pair(d, to_bits, n, tag + "/wrap", m0, m1);
}

Words sign_extend(Session& s, const Words& x, int from_bits, int to_bits, const std::string& tag) {
  check_sign_extend_bits(from_bits, to_bits, tag);
  const size_t n = x.size(), w = words_for_bits(n);
  if (n == 0) return {};
  const int l = from_bits;
  Session in = ring_session(s, l), out = ring_session(s, to_bits);
  const uint64_t mask_in = mask_of(l), mask_out = mask_of(to_bits);
  const uint64_t half = uint64_t{1} << (l - 1);
  const uint64_t p0 = s.party == 0 ? ~uint64_t{0} : 0;
  if (s.options.compare == CompareMode::Gmw) {
    const Words h = s.material.take(MaterialKind::SignExtendMasks, 1, tag);
    check_header(s, h[0], kSignExtend, l, to_bits, "sign-extension material", tag);
    // u_b in [0, 2^l), u0 + u1 = u + 2^l·w: XOR shares of w by the carry tree; B2A in Z_{2^l'}.
    Words u(n);
    for (size_t j = 0; j < n; ++j) u[j] = (x[j] + (half & p0)) & mask_in;
    const Words wa = b2a(out, detail::carry_out_gmw(s, u, l, tag), n, tag + "/wrap");
    Words z(n);
    for (size_t j = 0; j < n; ++j) z[j] = (u[j] - (wa[j] << l) - (half & p0)) & mask_out;
    return z;
  }
  Words keys = detail::take_dcf_keys(s, l, n, tag);
  const Words mat = s.material.take(MaterialKind::SignExtendMasks, 1 + n, tag);
  check_header(s, mat[0], kSignExtend, l, to_bits, "sign-extension material", tag);
  const uint64_t* r = mat.data() + 1;
  // Round 1: open uh = x + 2^(l-1) + r in Z_{2^l}.
  Words y(n);
  for (size_t j = 0; j < n; ++j) y[j] = (x[j] + (half & p0) + r[j]) & mask_in;
  const Words uh = open_arith(in, y);
  // Local: XOR shares of w = 1{uh < r} (DCF of depth l at uh).
  Words wbits(w, 0);
  try {
    s.backend.dcf_eval(s.party, l, n, keys.data(), uh.data(), wbits.data());
  } catch (const MaterialError& e) {
    throw MaterialError("P" + std::to_string(s.party) + ": " + tag + ": " + e.what());
  }
  keys = Words();
  // Round 2: B2A of w in Z_{2^l'}; then y = uh - 2^(l-1) - r + 2^l·w.
  const Words wa = b2a(out, wbits, n, tag + "/wrap");
  Words z(n);
  for (size_t j = 0; j < n; ++j) z[j] = (((uh[j] - half) & p0) - r[j] + (wa[j] << l)) & mask_out;
  return z;
}

}  // namespace polympc::mpc
