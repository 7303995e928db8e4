// Plaintext twins of the protocols in protocols.h (docs/design.md §15, rule 5): the same fixed-point
// integer arithmetic in Z_{2^l} on cleartext words. With exact truncation the 2PC result
// equals these bit for bit; with probabilistic truncation it is within 1 ulp per
// truncation. Header-only.
#pragma once
#include <cstdint>
#include <vector>

#include "polympc/mpc/backend.h"
#include "polympc/mpc/protocols.h"
#include "polympc/mpc/ring.h"

namespace polympc::mpc::plain {

inline Words mul(const RingConfig& r, const Words& x, const Words& y) {
  Words z(x.size());
  for (size_t i = 0; i < x.size(); ++i) z[i] = (x[i] * y[i]) & r.mask();
  return z;
}
/// floor(x / 2^shift) of the signed value.
inline Words trunc(const RingConfig& r, const Words& x, int shift) {
  Words z(x.size());
  for (size_t i = 0; i < x.size(); ++i) z[i] = r.arith_shift(x[i], shift);
  return z;
}
/// Ring reduction l -> l' (mpc::ring_reduce): the low l' bits of each word.
/// Widths as mpc::ring_reduce (InvalidArgument otherwise); likewise below.
inline Words ring_reduce(const Words& x, int from_bits, int to_bits) {
  check_ring_reduce_bits(from_bits, to_bits, "plain::ring_reduce");
  const uint64_t m = RingConfig{to_bits, 0}.mask();
  Words z(x.size());
  for (size_t i = 0; i < x.size(); ++i) z[i] = x[i] & RingConfig{from_bits, 0}.mask() & m;
  return z;
}
/// Truncate-reduce l -> l - shift (mpc::trunc_reduce): floor(x / 2^shift) of the signed
/// l-bit value, mod 2^(l - shift).
inline Words trunc_reduce(const Words& x, int from_bits, int shift) {
  check_trunc_reduce_bits(from_bits, shift, "plain::trunc_reduce");
  const RingConfig in{from_bits, 0}, out{from_bits - shift, 0};
  Words z(x.size());
  for (size_t i = 0; i < x.size(); ++i) z[i] = out.from_signed(in.to_signed(x[i]) >> shift);
  return z;
}
/// Sign extension l -> l' (mpc::sign_extend): the signed l-bit value of x, mod 2^l'.
inline Words sign_extend(const Words& x, int from_bits, int to_bits) {
  check_sign_extend_bits(from_bits, to_bits, "plain::sign_extend");
  const RingConfig in{from_bits, 0}, out{to_bits, 0};
  Words z(x.size());
  for (size_t i = 0; i < x.size(); ++i) z[i] = out.from_signed(in.to_signed(x[i]));
  return z;
}
/// 1 if x >= 0 (signed), else 0.
inline Words drelu(const RingConfig& r, const Words& x) {
  Words z(x.size());
  for (size_t i = 0; i < x.size(); ++i) z[i] = r.to_signed(x[i]) >= 0 ? 1 : 0;
  return z;
}
inline Words relu(const RingConfig& r, const Words& x) {
  Words z(x.size());
  for (size_t i = 0; i < x.size(); ++i) z[i] = r.to_signed(x[i]) >= 0 ? x[i] & r.mask() : 0;
  return z;
}
/// Reduced-bit DReLU on bits [lo, hi) (CompareBits), m = hi - lo: 1 if the m-bit signed
/// value ((x >> lo) - delta) mod 2^m is >= 0. delta = 0 gives DReLU(x) exactly for
/// -2^(hi-1) <= x < 2^(hi-1). The protocols compute this with a delta in {0, 1} that
/// depends on the shares / the dealer's mask (the carry out of the dropped low bits):
/// always 0 when lo = 0; tests accept either value, and delta = 1 changes the result only
/// when (x >> lo) mod 2^m is 0 or 2^(m-1).
inline uint64_t drelu_bits1(const RingConfig& r, uint64_t x, int lo, int hi, uint64_t delta = 0) {
  const int m = hi - lo;
  const uint64_t mm = m >= 64 ? ~uint64_t{0} : (uint64_t{1} << m) - 1;
  const uint64_t v = (((x & r.mask()) >> lo) - delta) & mm;
  return ((v >> (m - 1)) & 1) ^ 1;
}
inline Words drelu_bits(const RingConfig& r, const Words& x, int lo, int hi, uint64_t delta = 0) {
  Words z(x.size());
  for (size_t i = 0; i < x.size(); ++i) z[i] = drelu_bits1(r, x[i], lo, hi, delta);
  return z;
}
/// x · drelu_bits(x).
inline Words relu_bits(const RingConfig& r, const Words& x, int lo, int hi, uint64_t delta = 0) {
  Words z(x.size());
  for (size_t i = 0; i < x.size(); ++i) z[i] = drelu_bits1(r, x[i], lo, hi, delta) ? x[i] & r.mask() : 0;
  return z;
}
/// max(a, b) as the protocol computes it: b + DReLU(a - b) * (a - b) (mod 2^l).
inline Words max(const RingConfig& r, const Words& a, const Words& b) {
  Words z(a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    const uint64_t t = (a[i] - b[i]) & r.mask();
    z[i] = (b[i] + (r.to_signed(t) >= 0 ? t : 0)) & r.mask();
  }
  return z;
}
/// Twin of block_relu (protocols.h): x_i · DReLU(S_p) with S_p the mod-2^l sum of patch
/// p (the whole-ring DReLU, as relu's twin); identity elements pass, zero elements are 0.
/// The map must satisfy check_block_map.
inline Words block_relu(const RingConfig& r, const Words& x, const BlockMap& m) {
  Words sum(m.patches, 0), z(x.size(), 0);
  for (size_t i = 0; i < x.size(); ++i)
    if (m.patch_of[i] >= 0) {
      uint64_t& s = sum[static_cast<size_t>(m.patch_of[i])];
      s = (s + x[i]) & r.mask();
    }
  for (size_t i = 0; i < x.size(); ++i) {
    const int64_t p = m.patch_of[i];
    if (p == kBlockIdentity) z[i] = x[i] & r.mask();
    else if (p >= 0 && r.to_signed(sum[static_cast<size_t>(p)]) >= 0) z[i] = x[i] & r.mask();
  }
  return z;
}
/// Twin of argmax (protocols.h): index of the maximum of each row of x ([rows, cols],
/// row-major) by the same tournament, including the wrap of a - b mod 2^l and the
/// comparison on bits [b.lo, b.hi) (drelu_bits1 with delta = 0; {0, 0} = all l bits). Ties
/// keep the lower index, so without wrap this is the first maximum of the row. Returns rows
/// indices. cols must be >= 1.
inline Words argmax(const RingConfig& r, const Words& x, size_t rows, size_t cols,
                    CompareBits b = {}) {
  const int lo = b.lo, hi = b.hi == 0 ? r.bits : b.hi;
  Words out(rows);
  for (size_t row = 0; row < rows; ++row) {
    Words val(x.begin() + static_cast<long>(row * cols),
              x.begin() + static_cast<long>((row + 1) * cols));
    Words idx(cols);
    for (size_t j = 0; j < cols; ++j) idx[j] = j;
    while (val.size() > 1) {
      Words nv, ni;
      for (size_t p = 0; p + 1 < val.size(); p += 2) {
        const bool left = drelu_bits1(r, (val[p] - val[p + 1]) & r.mask(), lo, hi) != 0;
        nv.push_back(left ? val[p] : val[p + 1]);
        ni.push_back(left ? idx[p] : idx[p + 1]);
      }
      if (val.size() % 2) {
        nv.push_back(val.back());
        ni.push_back(idx.back());
      }
      val = std::move(nv);
      idx = std::move(ni);
    }
    out[row] = idx[0];
  }
  return out;
}
/// Twin of mpc::poly (protocols.h), at scale poly_out_scale(r, o, c.coef_frac):
/// Exact / Fss: a2 x² + a1 x + a0 mod 2^l, untruncated (scale 2f + fc), bit for bit the
/// one-opening gate; Prob: x (a2 x + a1) + a0 truncated by f + coef_frac (scale f), which the
/// two-opening Prob protocol matches within a few ulp. Shapes as in mpc::poly.
inline Words poly(const RingConfig& r, const Words& x, const PolyShape& s, const PolyCoeffs& c,
                  const ProtocolOptions& o) {
  const bool truncate = o.trunc == TruncMode::Prob;
  Words z(x.size());
  for (size_t j = 0; j < x.size(); ++j) {
    const size_t ch = (j / s.inner) % s.channels;
    const uint64_t u = (c.a2[ch] * x[j] + c.a1[ch]) & r.mask();
    const uint64_t y = (x[j] * u + c.a0[ch]) & r.mask();
    z[j] = truncate ? r.arith_shift(y, r.frac + c.coef_frac) : y;
  }
  return z;
}
/// W (m x k) · X (k x cols), row-major, mod 2^l (no truncation).
inline Words matmul(const RingConfig& r, const Words& w, const Words& x, size_t m, size_t k, size_t cols) {
  Words z(m * cols, 0);
  for (size_t i = 0; i < m; ++i)
    for (size_t p = 0; p < k; ++p) {
      const uint64_t a = w[i * k + p];
      for (size_t j = 0; j < cols; ++j) z[i * cols + j] += a * x[p * cols + j];
    }
  for (auto& v : z) v &= r.mask();
  return z;
}

}  // namespace polympc::mpc::plain
