// FSS truncation with slack (TruncMode::Fss): floor(x / 2^s) exactly for |x| < 2^(l-2),
// in 2 rounds and l + 1 bits per element and party. The truncation of SIGMA (Gupta et al.,
// "SIGMA: Secure GPT Inference with Function Secret Sharing", eprint 2023/1269, truncation
// with slack), with the carry into bit s from a DCF (Boyle et al., EUROCRYPT'21) and the
// carry out of the ring from a dealer table indexed by the two top bits of the opened value.
// Derivation, bound and security: docs/protocols.md, "FSS truncation (--trunc fss)".
//
// Notation: l ring bits, s the shift (1 <= s <= l-2), r the dealer's uniform mask,
// v = -r mod 2^l, xh = x + r (opened, round 1), u0 = xh + 2^(l-1) (public), so that
// u0 + v = u = x + 2^(l-1) (mod 2^l) with u in [2^(l-2), 3·2^(l-2)) under the bound. Then
//   floor(u / 2^s) = (u0 >> s) + (v >> s) + c - 2^(l-s)·w   (mod 2^l),
//   c = 1{(xh mod 2^s) + (v mod 2^s) >= 2^s} = t ^ 1{xh mod 2^s < alpha}  (DCF of depth s),
//       t = 1{v mod 2^s != 0}, alpha = 2^s - (v mod 2^s) if t else 0,
//   w = 1{a + b >= 3},  a = u0 >> (l-2) (public), b = v >> (l-2) (dealer),
// and the dealer shares the table T[a] = (v >> s) - 2^(l-s)·1{a + b >= 3} for a = 0..3.
// The result z_i = [p0]((u0 >> s) - 2^(l-1-s)) + c_i + T_i[a] is the exact-truncation
// combine (Backend::trunc_exact_combine) with x_0 = xh, x_1 = 0, carry_i = c_i + T_i[a],
// wrap_i = 0: no new kernel.
#include <string>

#include "compare_internal.h"
#include "polympc/mpc/dcf.h"
#include "polympc/mpc/protocols.h"

namespace polympc::mpc::detail {
namespace {

void check_fss_shift(const RingConfig& r, int shift, const std::string& tag) {
  if (shift < 1 || shift > r.bits - 2)
    throw InvalidArgument(tag + ": FSS truncation (--trunc fss) needs a shift in [1, l-2] = [1, " +
                          std::to_string(r.bits - 2) + "], got " + std::to_string(shift) +
                          ": use --trunc exact for this shift");
}

}  // namespace

FssTruncDeal deal_fss_carry_values(Dealer& d, int bits, size_t n, int shift, const std::string& tag,
                                   MaterialStore& m0, MaterialStore& m1) {
  const RingConfig ring{bits, 0};
  check_fss_shift(ring, shift, tag);
  const uint64_t mask = ring.mask();
  const uint64_t low = (uint64_t{1} << shift) - 1;
  // x + r is uniform for uniform r (r = 0 included), so r is not resampled.
  FssTruncDeal v;
  v.r = d.prg().words(n, bits);
  v.t.assign(words_for_bits(n), 0);
  Words alpha(n);
  for (size_t j = 0; j < n; ++j) {
    const uint64_t vl = (uint64_t{0} - v.r[j]) & mask & low;
    alpha[j] = vl != 0 ? (uint64_t{1} << shift) - vl : 0;
    v.t[j / 64] |= uint64_t{vl != 0} << (j % 64);
  }
  push_dcf_keys(d, shift, alpha, tag, m0, m1);
  return v;
}

FssTruncDeal deal_fss_trunc_values(Dealer& d, size_t n, int shift, const std::string& tag,
                                   MaterialStore& m0, MaterialStore& m1) {
  const RingConfig& ring = d.ring();
  check_fss_shift(ring, shift, tag);
  const int l = ring.bits;
  const uint64_t mask = ring.mask();
  FssTruncDeal v = deal_fss_carry_values(d, l, n, shift, tag, m0, m1);
  v.table.resize(4 * n);
  for (size_t j = 0; j < n; ++j) {
    const uint64_t vv = (uint64_t{0} - v.r[j]) & mask;
    const uint64_t b = vv >> (l - 2);
    const uint64_t vs = vv >> shift;
    const uint64_t wrap = uint64_t{1} << (l - shift);  // l - s >= 2: no UB; 2^64 never needed
    for (uint64_t a = 0; a < 4; ++a) v.table[4 * j + a] = (vs - (a + b >= 3 ? wrap : 0)) & mask;
  }
  return v;
}

void deal_trunc_fss(Dealer& d, size_t n, int shift, const std::string& tag, MaterialStore& m0,
                    MaterialStore& m1) {
  const FssTruncDeal v = deal_fss_trunc_values(d, n, shift, tag, m0, m1);
  auto [r0, r1] = d.share_arith(v.r);
  auto [t0, t1] = d.share_bool(v.t);
  auto [q0, q1] = d.share_arith(v.table);
  m0.push(MaterialKind::FssTruncMasks, tag, concat({&r0, &t0, &q0}));
  m1.push(MaterialKind::FssTruncMasks, tag, concat({&r1, &t1, &q1}));
  deal_b2a(d, n, tag + "/carry", m0, m1);
}

Words fss_trunc_keys(Session& s, size_t n, int shift, const std::string& tag) {
  check_fss_shift(s.ring, shift, tag);
  const size_t kw = dcf_key_words(shift);
  const MaterialItem* next = s.material.peek();
  if (next != nullptr && next->kind == MaterialKind::DcfKeys && next->words.size() != n * kw)
    throw MaterialError("P" + std::to_string(s.party) + ": " + tag + ": DCF keys '" + next->tag +
                        "' have " + std::to_string(next->words.size()) + " words, but " +
                        std::to_string(n) + " keys of depth " + std::to_string(shift) + " need " +
                        std::to_string(n * kw) +
                        " (material dealt for another shift, size or truncation mode?)");
  return s.material.take(MaterialKind::DcfKeys, n * kw, tag + "/dcf");
}

Words fss_trunc_open(Session& s, const Words& x, int shift, Words& keys, const uint64_t* r,
                     const uint64_t* t, Words& cbits, const std::string& tag) {
  const uint64_t mask = s.ring.mask();
  const size_t n = x.size(), w = words_for_bits(n);
  // Round 1: open xh = x + r.
  Words y(n);
  for (size_t j = 0; j < n; ++j) y[j] = (x[j] + r[j]) & mask;
  Words xh = open_arith(s, y);
  // Local: XOR shares of 1{xh mod 2^s < alpha} from the DCF, then c = t ^ that.
  cbits.assign(w, 0);
  try {
    s.backend.dcf_eval(s.party, shift, n, keys.data(), xh.data(), cbits.data());
  } catch (const MaterialError& e) {
    throw MaterialError("P" + std::to_string(s.party) + ": " + tag + ": " + e.what());
  }
  keys = Words();
  for (size_t i = 0; i < w; ++i) cbits[i] ^= t[i];
  return xh;
}

uint64_t fss_trunc_table_index(const RingConfig& r, uint64_t xh) {
  return ((xh + (uint64_t{1} << (r.bits - 1))) & r.mask()) >> (r.bits - 2);
}

Words trunc_fss(Session& s, const Words& x, int shift, const std::string& tag) {
  const int l = s.ring.bits;
  const uint64_t mask = s.ring.mask();
  const size_t n = x.size(), w = words_for_bits(n);
  Words keys = fss_trunc_keys(s, n, shift, tag);
  Words mat = s.material.take(MaterialKind::FssTruncMasks, n + w + 4 * n, tag);
  const uint64_t* table = mat.data() + n + w;
  Words cbits;
  const Words xh = fss_trunc_open(s, x, shift, keys, mat.data(), mat.data() + n, cbits, tag);
  // Round 2: B2A of c (one bit per element).
  const Words c = b2a(s, cbits, n, tag + "/carry");
  // carry_i = c_i + T_i[a], a = (xh + 2^(l-1)) >> (l-2); combine with x_0 = xh, x_1 = 0.
  Words carry(n), xin(n, 0), wrap(n, 0), z(n);
  for (size_t j = 0; j < n; ++j)
    carry[j] = (c[j] + table[4 * j + fss_trunc_table_index(s.ring, xh[j])]) & mask;
  if (s.party == 0) xin = xh;
  s.backend.trunc_exact_combine(s.party, l, shift, n, xin.data(), carry.data(), wrap.data(),
                                z.data());
  return z;
}

}  // namespace polympc::mpc::detail
