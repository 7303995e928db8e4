// Arithmetic protocols: Beaver multiplication and squaring, truncation dispatch and the
// probabilistic (SecureML) truncation, the polynomial activation with private
// coefficients, and matrix products with a per-model weight mask. docs/design.md §5.
#include <algorithm>

#include "compare_internal.h"
#include "polympc/mpc/dcf.h"
#include "polympc/mpc/protocols.h"

namespace polympc::mpc {

namespace detail {
void deal_trunc_carries(Dealer& d, size_t n, int shift, bool slack, const std::string& tag, MaterialStore& m0,
                        MaterialStore& m1);
Words trunc_with_carries(Session& s, const Words& x, int shift, bool slack, const std::string& tag);
void deal_trunc_fss(Dealer& d, size_t n, int shift, const std::string& tag, MaterialStore& m0,
                    MaterialStore& m1);
Words trunc_fss(Session& s, const Words& x, int shift, const std::string& tag);
}  // namespace detail

namespace {
void check_same(const Words& a, const Words& b, const std::string& tag) {
  if (a.size() != b.size())
    throw InvalidArgument(tag + ": operand sizes differ (" + std::to_string(a.size()) + " vs " +
                          std::to_string(b.size()) + ")");
}
Words sub(const Words& a, const Words& b, uint64_t m) {
  Words r(a.size());
  for (size_t i = 0; i < a.size(); ++i) r[i] = (a[i] - b[i]) & m;
  return r;
}
Words slice(const Words& t, size_t off, size_t n) {
  return Words(t.begin() + static_cast<long>(off), t.begin() + static_cast<long>(off + n));
}
}  // namespace

// ---- Beaver multiplication -----------------------------------------------------------
void deal_mul(Dealer& d, size_t n, const std::string& tag, MaterialStore& m0, MaterialStore& m1) {
  const uint64_t m = d.ring().mask();
  Words a = d.random(n), b = d.random(n), c(n);
  for (size_t i = 0; i < n; ++i) c[i] = (a[i] * b[i]) & m;
  push_arith_shares(d, MaterialKind::BeaverTriple, tag, {&a, &b, &c}, m0, m1);
}

Words mul(Session& s, const Words& x, const Words& y, const std::string& tag) {
  check_same(x, y, tag);
  const size_t n = x.size();
  Words t = s.material.take(MaterialKind::BeaverTriple, 3 * n, tag);
  const uint64_t m = s.ring.mask();
  Words dx(n), ey(n);
  for (size_t i = 0; i < n; ++i) {
    dx[i] = (x[i] - t[i]) & m;
    ey[i] = (y[i] - t[n + i]) & m;
  }
  auto opened = open_arith_many(s, {&dx, &ey});
  Words z(n);
  s.backend.beaver_mul_combine(s.party, s.ring.bits, n, opened[0].data(), opened[1].data(), t.data(),
                               t.data() + n, t.data() + 2 * n, z.data());
  return z;
}


void deal_square(Dealer& d, size_t n, const std::string& tag, MaterialStore& m0, MaterialStore& m1) {
  const uint64_t m = d.ring().mask();
  Words a = d.random(n), c(n);
  for (size_t i = 0; i < n; ++i) c[i] = (a[i] * a[i]) & m;
  push_arith_shares(d, MaterialKind::SquarePair, tag, {&a, &c}, m0, m1);
}

Words square(Session& s, const Words& x, const std::string& tag) {
  const size_t n = x.size();
  Words t = s.material.take(MaterialKind::SquarePair, 2 * n, tag);
  Words dx = sub(x, slice(t, 0, n), s.ring.mask());
  Words d = open_arith(s, dx);
  Words z(n);
  // (d + a)^2 = c + d*a + d*a + d*d: the Beaver combine with e = d, b = a.
  s.backend.beaver_mul_combine(s.party, s.ring.bits, n, d.data(), d.data(), t.data(), t.data(),
                               t.data() + n, z.data());
  return z;
}


// ---- truncation ----------------------------------------------------------------------
namespace {
void check_shift(const RingConfig& r, int shift, const std::string& tag) {
  if (shift < 0 || shift >= r.bits)
    throw InvalidArgument(tag + ": truncation shift " + std::to_string(shift) + " outside [0, " +
                          std::to_string(r.bits) + ")");
}
void check_bound(const RingConfig& r, const ProtocolOptions& o, int shift, const std::string& tag) {
  if (o.trunc_bound_bits < shift || o.trunc_bound_bits > r.bits - 2)
    throw InvalidArgument(tag + ": probabilistic truncation bound 2^" + std::to_string(o.trunc_bound_bits) +
                          " must lie in [2^shift, 2^(l-2)]");
}
/// Truncation with slack needs 1 <= shift <= l - 2 (the offset 2^(l-2) keeps the MSB 0).
void check_slack_shift(const RingConfig& r, const ProtocolOptions& o, int shift, const std::string& tag) {
  if (o.trunc == TruncMode::Slack && shift > r.bits - 2)
    throw InvalidArgument(tag + ": truncation with slack needs 1 <= shift <= l-2, got shift " +
                          std::to_string(shift) + " at l = " + std::to_string(r.bits));
}
}  // namespace

void deal_trunc(Dealer& d, size_t n, int shift, const ProtocolOptions& o, const std::string& tag,
                MaterialStore& m0, MaterialStore& m1) {
  check_shift(d.ring(), shift, tag);
  if (shift == 0 || n == 0) return;
  if (o.trunc == TruncMode::Exact || o.trunc == TruncMode::Slack) {
    check_slack_shift(d.ring(), o, shift, tag);
    detail::deal_trunc_carries(d, n, shift, o.trunc == TruncMode::Slack, tag, m0, m1);
    return;
  }
  if (o.trunc == TruncMode::Fss) {
    detail::deal_trunc_fss(d, n, shift, tag, m0, m1);
    return;
  }
  check_bound(d.ring(), o, shift, tag);
  Words r = d.random(n), rs(n);
  for (size_t i = 0; i < n; ++i) rs[i] = r[i] >> shift;
  push_arith_shares(d, MaterialKind::TruncPair, tag, {&r, &rs}, m0, m1);
}

Words trunc(Session& s, const Words& x, int shift, const std::string& tag) {
  check_shift(s.ring, shift, tag);
  if (shift == 0 || x.empty()) return x;
  if (s.options.trunc == TruncMode::Exact || s.options.trunc == TruncMode::Slack) {
    check_slack_shift(s.ring, s.options, shift, tag);
    return detail::trunc_with_carries(s, x, shift, s.options.trunc == TruncMode::Slack, tag);
  }
  if (s.options.trunc == TruncMode::Fss) return detail::trunc_fss(s, x, shift, tag);
  check_bound(s.ring, s.options, shift, tag);
  const size_t n = x.size();
  const uint64_t m = s.ring.mask();
  Words t = s.material.take(MaterialKind::TruncPair, 2 * n, tag);
  const uint64_t offset = uint64_t{1} << s.options.trunc_bound_bits;
  Words c(n);
  for (size_t i = 0; i < n; ++i) c[i] = (x[i] + t[i] + (s.party == 0 ? offset : 0)) & m;
  Words opened = open_arith(s, c);
  Words z(n);
  s.backend.trunc_prob_combine(s.party, s.ring.bits, shift, s.options.trunc_bound_bits, n, opened.data(),
                               t.data() + n, z.data());
  return z;
}



// ---- polynomial activation ---------------------------------------------------------------
// One-opening gate (Exact / Fss), docs/protocols.md "One-opening polynomial": with x = d + alpha,
// a2 = E2 + m2, a1 = E1 + m1,
//   y = E2 d² + 2 E2 d [alpha] + E2 [alpha²] + d² [m2] + 2 d [m2 alpha] + [m2 alpha²]
//     + E1 d + E1 [alpha] + d [m1] + [m1 alpha] + [p0] a0,
// every term public·share or public·public (P0 only), so one opening suffices.
namespace {
constexpr const char* kA2Mask = "/a2mask";
constexpr const char* kA1Mask = "/a1mask";

const Words& poly_mask(const MaterialStore& m, const std::string& tag, const char* which,
                       size_t channels) {
  const Words& mask = m.fixed(tag + which);
  if (mask.size() != channels)
    throw MaterialError(tag + ": per-model coefficient mask has " + std::to_string(mask.size()) +
                        " channels, layer has " + std::to_string(channels));
  return mask;
}
}  // namespace

void deal_poly_setup(Dealer& d, size_t channels, const std::string& tag, MaterialStore& m0,
                     MaterialStore& m1) {
  for (const char* which : {kA2Mask, kA1Mask}) {
    Words mask = d.random(channels);
    auto [s0, s1] = d.share_arith(mask);
    m0.set_fixed(tag + which, s0);
    m1.set_fixed(tag + which, s1);
    d.keep_fixed(tag + which, std::move(mask));
  }
}

PolySetup poly_setup(Session& s, const PolyCoeffs& c, size_t channels, const std::string& tag) {
  const Words& m2 = poly_mask(s.material, tag, kA2Mask, channels);
  const Words& m1 = poly_mask(s.material, tag, kA1Mask, channels);
  const uint64_t m = s.ring.mask();
  // P0 sends [a2 - m2_0 | a1 - m1_0], P1 sends [m2_1 | m1_1]; both compute E = first - second.
  Words out(2 * channels);
  if (s.party == 0) {
    if (c.a2.size() != channels || c.a1.size() != channels)
      throw InvalidArgument(tag + ": P0 needs " + std::to_string(channels) + " a2 and a1 coefficients");
    for (size_t i = 0; i < channels; ++i) {
      out[i] = (c.a2[i] - m2[i]) & m;
      out[channels + i] = (c.a1[i] - m1[i]) & m;
    }
  } else {
    std::copy(m2.begin(), m2.end(), out.begin());
    std::copy(m1.begin(), m1.end(), out.begin() + static_cast<long>(channels));
  }
  Words in = exchange_ring(s, out);
  PolySetup r;
  r.e_a2.resize(channels);
  r.e_a1.resize(channels);
  for (size_t i = 0; i < 2 * channels; ++i) {
    const uint64_t e = s.party == 0 ? (out[i] - in[i]) & m : (in[i] - out[i]) & m;
    (i < channels ? r.e_a2[i] : r.e_a1[i - channels]) = e;
  }
  return r;
}

int poly_out_scale(const RingConfig& r, const ProtocolOptions& o, int coef_frac) {
  return o.trunc == TruncMode::Prob ? r.frac : 2 * r.frac + coef_frac;
}


void deal_poly(Dealer& d, const PolyShape& shape, int coef_frac, const ProtocolOptions& o,
               const std::string& tag, MaterialStore& m0, MaterialStore& m1) {
  const size_t n = shape.size();
  const uint64_t m = d.ring().mask();
  const Words& m2c = d.fixed(tag + kA2Mask);
  if (m2c.size() != shape.channels) throw MaterialError(tag + ": coefficient mask size differs from channels");
  if (o.trunc != TruncMode::Prob) {
    const Words& m1c = d.fixed(tag + kA1Mask);
    if (m1c.size() != shape.channels) throw MaterialError(tag + ": coefficient mask size differs from channels");
    Words alpha = d.random(n), alpha2(n), m2a(n), m2a2(n), m1a(n);
    for (size_t j = 0; j < n; ++j) {
      const size_t ch = (j / shape.inner) % shape.channels;
      alpha2[j] = (alpha[j] * alpha[j]) & m;
      m2a[j] = (m2c[ch] * alpha[j]) & m;
      m2a2[j] = (m2c[ch] * alpha2[j]) & m;
      m1a[j] = (m1c[ch] * alpha[j]) & m;
    }
    push_arith_shares(d, MaterialKind::PolyQuadMasks, tag, {&alpha, &alpha2, &m2a, &m2a2, &m1a}, m0, m1);
    return;
  }
  // Prob: two Horner openings (see poly_prob).
  Words alpha = d.random(n), beta2 = d.random(n), gamma(n), delta(n);
  for (size_t j = 0; j < n; ++j) {
    const size_t ch = (j / shape.inner) % shape.channels;
    gamma[j] = (alpha[j] * m2c[ch]) & m;
    delta[j] = (alpha[j] * beta2[j]) & m;
  }
  push_arith_shares(d, MaterialKind::PolyMasks, tag, {&alpha, &gamma, &beta2, &delta}, m0, m1);
  deal_trunc(d, n, coef_frac, o, tag + "/trunc_u", m0, m1);
  deal_trunc(d, n, d.ring().frac, o, tag + "/trunc", m0, m1);
}

namespace {
/// Prob mode: x (a2 x + a1) + a0 with two openings and two probabilistic truncations.
Words poly_prob(Session& s, const Words& x, const PolyShape& shape, const PolyCoeffs& c,
                const PolySetup& setup, Words add1, Words add0, const std::string& tag) {
  const size_t n = shape.size();
  const uint64_t m = s.ring.mask();
  const Words& beta_c = poly_mask(s.material, tag, kA2Mask, shape.channels);
  Words t = s.material.take(MaterialKind::PolyMasks, 4 * n, tag);
  const uint64_t* alpha = t.data();
  const uint64_t* gamma = t.data() + n;
  const uint64_t* beta2 = t.data() + 2 * n;
  const uint64_t* delta = t.data() + 3 * n;
  // Round 1: D = x - alpha. u = a2 x + a1 (scale f + fc): a Beaver product by the masked
  // per-channel a2 (E2 = a2 - m2 public, [m2] shared, gamma = m2 alpha), P0 adds a1.
  Words dx(n);
  for (size_t j = 0; j < n; ++j) dx[j] = (x[j] - alpha[j]) & m;
  Words dopen = open_arith(s, dx);
  Words u(n);
  PolyEvalArgs a1;
  a1.d = dopen.data();
  a1.alpha = alpha;
  a1.m1a = gamma;
  a1.e1 = setup.e_a2.data();
  a1.m1 = beta_c.data();
  a1.add = add1.data();
  s.backend.poly_eval(s.party, s.ring.bits, shape, PolyMode::LinearChannel, a1, u.data());
  // Probabilistic truncation needs headroom: |x| < 2^trunc_bound_bits. A single shift by
  // f + fc from scale 2f + fc would leave too little of it, so u goes to scale f first (a0
  // rescaled by P0) and the product is truncated by f.
  u = trunc(s, u, c.coef_frac, tag + "/trunc_u");
  for (auto& v : add0) v = s.ring.arith_shift(v, c.coef_frac);
  // Round 2: F = u - beta'. y' = x u + a0 (scale 2f): LinearElement with E1 = F, [m1] = beta'.
  Words fu(n);
  for (size_t j = 0; j < n; ++j) fu[j] = (u[j] - beta2[j]) & m;
  Words fopen = open_arith(s, fu);
  Words y(n);
  PolyEvalArgs a2;
  a2.d = dopen.data();
  a2.alpha = alpha;
  a2.m1a = delta;
  a2.e1 = fopen.data();
  a2.m1 = beta2;
  a2.add = add0.data();
  s.backend.poly_eval(s.party, s.ring.bits, shape, PolyMode::LinearElement, a2, y.data());
  return trunc(s, y, s.ring.frac, tag + "/trunc");
}
}  // namespace

namespace {
/// Checks poly's arguments; returns a0 at P0 (add0) and, in add1, a1 at P0 (zeros at P1).
Words poly_coefficients(const Session& s, size_t n_in, const PolyShape& shape, const PolyCoeffs& c,
                        const PolySetup& setup, Words& add1, const std::string& tag) {
  const size_t n = shape.size();
  if (n_in != n) throw InvalidArgument(tag + ": input has " + std::to_string(n_in) + " elements, shape says " + std::to_string(n));
  if (setup.e_a2.size() != shape.channels || setup.e_a1.size() != shape.channels)
    throw InvalidArgument(tag + ": opened coefficients have " + std::to_string(setup.e_a2.size()) + " and " +
                          std::to_string(setup.e_a1.size()) + " channels, layer has " + std::to_string(shape.channels));
  add1.assign(shape.channels, 0);
  Words add0(shape.channels, 0);
  if (s.party == 0) {
    if (c.a2.size() != shape.channels || c.a1.size() != shape.channels || c.a0.size() != shape.channels)
      throw InvalidArgument(tag + ": P0 needs per-channel a2, a1 and a0");
    add1 = c.a1;
    add0 = c.a0;
  }
  return add0;
}

/// The local step of both quadratic gates: y = a2·x² + a1·x + a0 for x = d + X with d
/// public and `blocks` this party's shares of [X | X² | m2·X | m2·X² | m1·X] (5n words).
Words quadratic_local(Session& s, const PolyShape& shape, const PolySetup& setup,
                      const Words& add0, const Words& d, const uint64_t* blocks,
                      const std::string& tag) {
  const size_t n = shape.size();
  const Words& m2 = poly_mask(s.material, tag, kA2Mask, shape.channels);
  const Words& m1 = poly_mask(s.material, tag, kA1Mask, shape.channels);
  PolyEvalArgs a;
  a.d = d.data();
  a.alpha = blocks;
  a.a2 = blocks + n;
  a.m2a = blocks + 2 * n;
  a.m2a2 = blocks + 3 * n;
  a.m1a = blocks + 4 * n;
  a.e1 = setup.e_a1.data();
  a.m1 = m1.data();
  a.e2 = setup.e_a2.data();
  a.m2 = m2.data();
  a.add = add0.data();
  Words y(n);
  s.backend.poly_eval(s.party, s.ring.bits, shape, PolyMode::Quadratic, a, y.data());
  return y;
}
}  // namespace

Words poly(Session& s, const Words& x, const PolyShape& shape, const PolyCoeffs& c,
           const PolySetup& setup, const std::string& tag) {
  const size_t n = shape.size();
  Words add1;
  Words add0 = poly_coefficients(s, x.size(), shape, c, setup, add1, tag);
  if (s.options.trunc == TruncMode::Prob)
    return poly_prob(s, x, shape, c, setup, std::move(add1), std::move(add0), tag);
  const uint64_t m = s.ring.mask();
  poly_mask(s.material, tag, kA2Mask, shape.channels);  // missing setup: before any take
  Words t = s.material.take(MaterialKind::PolyQuadMasks, 5 * n, tag);
  // The one opening: d = x - alpha.
  Words dx(n);
  for (size_t j = 0; j < n; ++j) dx[j] = (x[j] - t[j]) & m;
  Words d = open_arith(s, dx);
  return quadratic_local(s, shape, setup, add0, d, t.data(), tag);
}

// ---- truncate-then-polynomial (docs/protocols.md "Truncate-then-polynomial gate") --------
// The FSS truncation t = floor(x / 2^s) = P + c + T[a] (trunc_fss.cpp) with the carry c
// turned arithmetic by the B2A opening e = c ^ rho: c = e + sigma·rho, sigma = 1 - 2e. So
// t = Q + X with Q = P + e public and X = sigma·rho + T[a] (rho² = rho, sigma² = 1):
//   X² = rho + 2 sigma (rho T[a]) + T[a]²,  m2 X = sigma (m2 rho) + m2 T[a],
//   m2 X² = m2 rho + 2 sigma (m2 rho T[a]) + m2 T[a]²,  m1 X = sigma (m1 rho) + m1 T[a],
// all public combinations of dealer shares: the one-opening gate's local step with d = Q.
namespace {
constexpr size_t kTruncPolyBlocks = 31;  // words per element of FssTruncPolyMasks (+ W)
}  // namespace


void deal_trunc_poly(Dealer& d, const PolyShape& shape, int shift, const std::string& tag,
                     MaterialStore& m0, MaterialStore& m1) {
  const size_t n = shape.size();
  const uint64_t m = d.ring().mask();
  const Words& m2c = d.fixed(tag + kA2Mask);
  const Words& m1c = d.fixed(tag + kA1Mask);
  if (m2c.size() != shape.channels || m1c.size() != shape.channels)
    throw MaterialError(tag + ": coefficient mask size differs from channels");
  const detail::FssTruncDeal v = detail::deal_fss_trunc_values(d, n, shift, tag + "/trunc", m0, m1);
  const Words rho = detail::deal_b2a_pair(d, n, tag + "/carry", m0, m1);
  Words rt(4 * n), t2(4 * n), m2r(n), m2t(4 * n), m2rt(4 * n), m2t2(4 * n), m1r(n), m1t(4 * n);
  for (size_t j = 0; j < n; ++j) {
    const size_t ch = (j / shape.inner) % shape.channels;
    m2r[j] = (m2c[ch] * rho[j]) & m;
    m1r[j] = (m1c[ch] * rho[j]) & m;
    for (size_t a = 0; a < 4; ++a) {
      const size_t k = 4 * j + a;
      const uint64_t T = v.table[k];
      rt[k] = (rho[j] * T) & m;
      t2[k] = (T * T) & m;
      m2t[k] = (m2c[ch] * T) & m;
      m2rt[k] = (m2c[ch] * rt[k]) & m;
      m2t2[k] = (m2c[ch] * t2[k]) & m;
      m1t[k] = (m1c[ch] * T) & m;
    }
  }
  std::vector<Words> sh0, sh1;
  auto share = [&](const Words& w) {
    auto [a0, a1] = d.share_arith(w);
    sh0.push_back(std::move(a0));
    sh1.push_back(std::move(a1));
  };
  share(v.r);
  {
    auto [b0, b1] = d.share_bool(v.t);
    sh0.push_back(std::move(b0));
    sh1.push_back(std::move(b1));
  }
  const Words* blocks[] = {&v.table, &rt, &t2, &m2r, &m2t, &m2rt, &m2t2, &m1r, &m1t};
  for (const Words* blk : blocks) share(*blk);
  Words all0, all1;
  for (size_t i = 0; i < sh0.size(); ++i) {
    all0.insert(all0.end(), sh0[i].begin(), sh0[i].end());
    all1.insert(all1.end(), sh1[i].begin(), sh1[i].end());
  }
  m0.push(MaterialKind::FssTruncPolyMasks, tag, std::move(all0));
  m1.push(MaterialKind::FssTruncPolyMasks, tag, std::move(all1));
}

Words trunc_poly(Session& s, const Words& x, int shift, const PolyShape& shape,
                 const PolyCoeffs& c, const PolySetup& setup, const std::string& tag) {
  if (s.options.trunc != TruncMode::Fss)
    throw InvalidArgument(tag + ": the truncate-then-polynomial gate needs --trunc fss");
  const size_t n = shape.size(), w = words_for_bits(n);
  const int l = s.ring.bits;
  const uint64_t m = s.ring.mask();
  Words add1;
  const Words add0 = poly_coefficients(s, x.size(), shape, c, setup, add1, tag);
  poly_mask(s.material, tag, kA2Mask, shape.channels);  // missing setup: before any take
  Words keys = detail::fss_trunc_keys(s, n, shift, tag + "/trunc");
  const Words pair = s.material.take(MaterialKind::B2APair, w + n, tag + "/carry");
  const Words mat = s.material.take(MaterialKind::FssTruncPolyMasks, kTruncPolyBlocks * n + w, tag);
  const uint64_t* r = mat.data();
  const uint64_t* tb = mat.data() + n;
  const uint64_t* T = tb + w;
  const uint64_t *rt = T + 4 * n, *t2 = rt + 4 * n, *m2r = t2 + 4 * n, *m2t = m2r + n;
  const uint64_t *m2rt = m2t + 4 * n, *m2t2 = m2rt + 4 * n, *m1r = m2t2 + 4 * n, *m1t = m1r + n;
  // Round 1: open x + r; the DCF gives XOR shares of the carry c.
  Words cbits;
  const Words xh = detail::fss_trunc_open(s, x, shift, keys, r, tb, cbits, tag + "/trunc");
  // Round 2: open e = c ^ rho.
  for (size_t i = 0; i < w; ++i) cbits[i] ^= pair[i];
  const Words e = open_bool(s, cbits);
  const uint64_t* rho = pair.data() + w;
  const uint64_t half = uint64_t{1} << (l - 1), base = uint64_t{1} << (l - 1 - shift);
  Words q(n), blocks(5 * n);
  for (size_t j = 0; j < n; ++j) {
    const uint64_t ej = (e[j / 64] >> (j % 64)) & 1;
    const uint64_t sg = ej ? m : 1;  // sigma = 1 - 2e
    const size_t k = 4 * j + detail::fss_trunc_table_index(s.ring, xh[j]);
    q[j] = ((((xh[j] + half) & m) >> shift) - base + ej) & m;
    blocks[j] = (sg * rho[j] + T[k]) & m;
    blocks[n + j] = (rho[j] + 2 * sg * rt[k] + t2[k]) & m;
    blocks[2 * n + j] = (sg * m2r[j] + m2t[k]) & m;
    blocks[3 * n + j] = (m2r[j] + 2 * sg * m2rt[k] + m2t2[k]) & m;
    blocks[4 * n + j] = (sg * m1r[j] + m1t[k]) & m;
  }
  return quadratic_local(s, shape, setup, add0, q, blocks.data(), tag);
}



// ---- matrix products ---------------------------------------------------------------------
void deal_matmul_setup(Dealer& d, size_t m, size_t k, const std::string& tag, MaterialStore& m0,
                       MaterialStore& m1) {
  Words a = d.random(m * k);
  auto [a0, a1] = d.share_arith(a);
  m0.set_fixed(tag + "/wmask", a0);
  m1.set_fixed(tag + "/wmask", a1);
  d.keep_fixed(tag + "/wmask", std::move(a));
}

Words matmul_setup(Session& s, const Words& w, size_t m, size_t k, const std::string& tag) {
  const Words& mask = s.material.fixed(tag + "/wmask");
  if (mask.size() != m * k)
    throw MaterialError(tag + ": per-model weight mask has " + std::to_string(mask.size()) + " words, layer needs " +
                        std::to_string(m * k));
  const uint64_t mm = s.ring.mask();
  Words out;
  if (s.party == 0) {
    if (w.size() != m * k) throw InvalidArgument(tag + ": P0 weight has wrong size");
    out = sub(w, mask, mm);
  } else {
    out = mask;
  }
  // P0 sends W - A0, P1 sends A1; E = (W - A0) - A1 at both (one round, setup phase).
  Words in = exchange_ring(s, out);
  Words e(m * k);
  for (size_t i = 0; i < m * k; ++i) e[i] = s.party == 0 ? (out[i] - in[i]) & mm : (in[i] - out[i]) & mm;
  return e;
}

void deal_matmul(Dealer& d, size_t m, size_t k, size_t cols, size_t in_size, const Lowering& lower,
                 const std::string& tag, MaterialStore& m0, MaterialStore& m1) {
  deal_matmul_batched(d, 1, m, k, cols, in_size, lower, tag, m0, m1);
}

void deal_matmul_batched(Dealer& d, size_t batches, size_t m, size_t k, size_t cols, size_t in_size,
                         const Lowering& lower, const std::string& tag, MaterialStore& m0, MaterialStore& m1) {
  const Words& a = d.fixed(tag + "/wmask");
  if (a.size() != batches * m * k) throw MaterialError(tag + ": weight mask size differs");
  const uint64_t mm = d.ring().mask();
  Words b = d.random(in_size);
  Words lb = lower(b);
  if (lb.size() != batches * k * cols) throw InvalidArgument(tag + ": lowering produced wrong size");
  Words c(batches * m * cols, 0);
  for (size_t q = 0; q < batches; ++q)
    for (size_t i = 0; i < m; ++i)
      for (size_t p = 0; p < k; ++p) {
        const uint64_t av = a[(q * m + i) * k + p];
        const uint64_t* brow = lb.data() + (q * k + p) * cols;
        uint64_t* crow = c.data() + (q * m + i) * cols;
        for (size_t j = 0; j < cols; ++j) crow[j] += av * brow[j];
      }
  for (auto& v : c) v &= mm;
  push_arith_shares(d, MaterialKind::MatrixTriple, tag, {&b, &c}, m0, m1);
}

Words matmul(Session& s, const Words& x, const Words& e_w, size_t m, size_t k, size_t cols,
             const Lowering& lower, const std::string& tag) {
  return matmul_batched(s, x, e_w, 1, m, k, cols, lower, tag);
}

Words matmul_batched(Session& s, const Words& x, const Words& e_w, size_t batches, size_t m, size_t k, size_t cols,
                     const Lowering& lower, const std::string& tag) {
  const size_t in_size = x.size();
  if (e_w.size() != batches * m * k) throw InvalidArgument(tag + ": opened weight has wrong size");
  Words t = s.material.take(MaterialKind::MatrixTriple, in_size + batches * m * cols, tag);
  Words b(t.begin(), t.begin() + static_cast<long>(in_size));
  const uint64_t* c = t.data() + in_size;
  Words f = open_arith(s, sub(x, b, s.ring.mask()));
  Words lf = lower(f), lb = lower(b);
  if (lf.size() != batches * k * cols) throw InvalidArgument(tag + ": lowering produced wrong size");
  const Words& a = s.material.fixed(tag + "/wmask");
  Words z(batches * m * cols);
  for (size_t q = 0; q < batches; ++q)
    s.backend.matmul_combine(s.party, s.ring.bits, m, k, cols, e_w.data() + q * m * k, lf.data() + q * k * cols,
                             a.data() + q * m * k, lb.data() + q * k * cols, c + q * m * cols, z.data() + q * m * cols);
  return z;
}


}  // namespace polympc::mpc
