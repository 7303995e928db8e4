// Every protocol against its plaintext twin (random and edge inputs), its measured
// bytes/rounds against the analytic cost, and the failure modes of its material.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <random>

#include <unistd.h>

#include "polympc/mpc/dcf.h"
#include "polympc/mpc/plaintext.h"
#include "two_party.h"

using namespace polympc;
using polympc::testing::TwoParty;
using polympc::testing::edge_and_random;
using mpc::Words;

namespace {

// The wire format of arithmetic shares: l bits per element, bit after bit, ceil(n·l/8)
// bytes; every width round-trips the low l bits of any word, and the padding is zero.
TEST(WireFormat, BitPackedRingElementsRoundTripAtEveryWidth) {
  std::mt19937_64 g(7);
  for (int bits = 1; bits <= 64; ++bits)
    for (size_t n : {size_t{0}, size_t{1}, size_t{7}, size_t{8}, size_t{9}, size_t{1001}}) {
      Words w(n);
      for (auto& v : w) v = g();
      const std::vector<uint8_t> p = mpc::pack_ring(w, bits);
      ASSERT_EQ(p.size(), (n * static_cast<size_t>(bits) + 7) / 8) << bits << " bits, n " << n;
      ASSERT_EQ(p.size(), mpc::wire_bytes(n, bits));
      const Words back = mpc::unpack_ring(p.data(), n, bits);
      const uint64_t mask = bits == 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
      for (size_t i = 0; i < n; ++i) ASSERT_EQ(back[i], w[i] & mask) << bits << " bits, element " << i;
      const size_t used = n * static_cast<size_t>(bits) % 8;
      if (used != 0) {
        EXPECT_EQ(p.back() >> used, 0) << bits << " bits: padding not zero";
      }
    }
  EXPECT_THROW(mpc::pack_ring({1}, 0), mpc::InvalidArgument);
  EXPECT_THROW(mpc::pack_ring({1}, 65), mpc::InvalidArgument);
  // An opening in a 37-bit ring sends ceil(n·37/8) bytes and opens correctly.
  mpc::RingConfig r{37, 12};
  TwoParty tp(r);
  Words x(100);
  for (auto& v : x) v = g() & r.mask();
  auto [x0, x1] = tp.share(x);
  Words opened[2];
  tp.run([&](mpc::Session& s) { opened[s.party] = mpc::open_arith(s, s.party == 0 ? x0 : x1); });
  EXPECT_EQ(opened[0], x);
  EXPECT_EQ(opened[1], x);
  EXPECT_EQ(tp.stats(0).bytes_sent, (100u * 37 + 7) / 8);
}

void expect_cost(TwoParty& tp, const mpc::Cost& c, const std::string& phase = "default") {
  for (int p = 0; p < 2; ++p) {
    EXPECT_EQ(tp.stats(p, phase).bytes_sent, c.bytes) << "party " << p;
    EXPECT_EQ(tp.stats(p, phase).rounds, c.rounds) << "party " << p;
  }
}

int tp_shift_mid(int bits) { return bits >= 32 ? 12 : 3; }

class RingTest : public ::testing::TestWithParam<int> {
 protected:
  mpc::RingConfig ring() const { return mpc::RingConfig{GetParam(), GetParam() >= 32 ? 12 : 3}; }
};

TEST_P(RingTest, MulMatchesPlaintext) {
  TwoParty tp(ring());
  Words x = edge_and_random(tp.ring, tp.prg, 300, tp.ring.bits - 1);
  Words y = edge_and_random(tp.ring, tp.prg, 300, tp.ring.bits - 1);
  std::reverse(y.begin(), y.end());
  auto [x0, x1] = tp.share(x);
  auto [y0, y1] = tp.share(y);
  mpc::deal_mul(tp.dealer, x.size(), "mul", tp.m0, tp.m1);
  Words z0, z1;
  tp.run([&](mpc::Session& s) {
    (s.party == 0 ? z0 : z1) = mpc::mul(s, s.party == 0 ? x0 : x1, s.party == 0 ? y0 : y1, "mul");
  });
  EXPECT_EQ(tp.reconstruct(z0, z1), mpc::plain::mul(tp.ring, x, y));
  expect_cost(tp, mpc::mul_cost(tp.ring, x.size()));
}

TEST_P(RingTest, SquareMatchesPlaintext) {
  TwoParty tp(ring());
  Words x = edge_and_random(tp.ring, tp.prg, 200, tp.ring.bits - 1);
  auto [x0, x1] = tp.share(x);
  mpc::deal_square(tp.dealer, x.size(), "sq", tp.m0, tp.m1);
  Words z0, z1;
  tp.run([&](mpc::Session& s) { (s.party == 0 ? z0 : z1) = mpc::square(s, s.party == 0 ? x0 : x1, "sq"); });
  EXPECT_EQ(tp.reconstruct(z0, z1), mpc::plain::mul(tp.ring, x, x));
  expect_cost(tp, mpc::square_cost(tp.ring, x.size()));
}

TEST_P(RingTest, ExactTruncationIsBitExact) {
  for (int shift : {1, 2, tp_shift_mid(GetParam()), GetParam() - 1}) {
    TwoParty tp(ring());
    Words x = edge_and_random(tp.ring, tp.prg, 500, tp.ring.bits - 1);
    auto [x0, x1] = tp.share(x);
    mpc::deal_trunc(tp.dealer, x.size(), shift, tp.options, "t", tp.m0, tp.m1);
    Words z0, z1;
    tp.run([&](mpc::Session& s) { (s.party == 0 ? z0 : z1) = mpc::trunc(s, s.party == 0 ? x0 : x1, shift, "t"); });
    EXPECT_EQ(tp.reconstruct(z0, z1), mpc::plain::trunc(tp.ring, x, shift)) << "shift " << shift;
    expect_cost(tp, mpc::trunc_cost(tp.ring, tp.options, x.size(), shift));
  }
}

TEST_P(RingTest, DReluReluMaxMatchPlaintext) {
  TwoParty tp(ring());
  Words x = edge_and_random(tp.ring, tp.prg, 333, tp.ring.bits - 1);
  const size_t n = x.size();
  auto [x0, x1] = tp.share(x);
  Words y = x;
  std::rotate(y.begin(), y.begin() + 5, y.end());
  auto [y0, y1] = tp.share(y);
  mpc::deal_drelu(tp.dealer, n, "drelu", tp.m0, tp.m1);
  mpc::deal_b2a(tp.dealer, n, "b2a", tp.m0, tp.m1);
  mpc::deal_relu(tp.dealer, n, "relu", tp.m0, tp.m1);
  mpc::deal_max(tp.dealer, n, "max", tp.m0, tp.m1);
  Words d0, d1, r0, r1, mx0, mx1;
  tp.run([&](mpc::Session& s) {
    const bool p0 = s.party == 0;
    {
      mpc::PhaseScope ps(s.channel, "drelu");
      Words bits = mpc::drelu(s, p0 ? x0 : x1, "drelu");
      (p0 ? d0 : d1) = mpc::b2a(s, bits, n, "b2a");
    }
    {
      mpc::PhaseScope ps(s.channel, "relu");
      (p0 ? r0 : r1) = mpc::relu(s, p0 ? x0 : x1, "relu");
    }
    (p0 ? mx0 : mx1) = mpc::max(s, p0 ? x0 : x1, p0 ? y0 : y1, "max");
  });
  EXPECT_EQ(tp.reconstruct(d0, d1), mpc::plain::drelu(tp.ring, x));
  EXPECT_EQ(tp.reconstruct(r0, r1), mpc::plain::relu(tp.ring, x));
  EXPECT_EQ(tp.reconstruct(mx0, mx1), mpc::plain::max(tp.ring, x, y));
  mpc::Cost dc = mpc::drelu_cost(tp.ring, n);
  dc.bytes += 8 * mpc::words_for_bits(n);  // + B2A
  dc.rounds += 1;
  expect_cost(tp, dc, "drelu");
  expect_cost(tp, mpc::relu_cost(tp.ring, n), "relu");
}

// ---- polynomial activation ----------------------------------------------------------------

/// Edge inputs of the polynomial gate at scale f: 0, ±1 ulp, ±1.0, ±2^(f+k) for k up to the
/// ring's top, the ring's extremes, then random words of the whole ring.
Words poly_inputs(const mpc::RingConfig& r, mpc::Prg& prg, size_t n) {
  Words x = {0, r.from_signed(1), r.from_signed(-1)};
  for (int k = r.frac; k < r.bits - 1; k += 3) {
    x.push_back(r.from_signed(int64_t{1} << k));
    x.push_back(r.from_signed(-(int64_t{1} << k)));
  }
  x.push_back(r.from_signed(r.max_signed()));
  x.push_back(r.from_signed(r.min_signed()));
  while (x.size() < n) x.push_back(prg.next_u64() & r.mask());
  x.resize(n);
  return x;
}

/// Per-channel coefficients: `real` = encoded small reals (a2 ~ 0.005..0.02, a1 ~ 1, a0 ~ ±0.3)
/// when they fit the ring at scales fc, f + fc, 2f + fc; otherwise (and for `real` false)
/// random ring words — the gate is exact mod 2^l for any coefficients.
mpc::PolyCoeffs poly_coeffs(const mpc::RingConfig& r, mpc::Prg& prg, size_t channels, int fc, bool real) {
  mpc::PolyCoeffs c;
  c.coef_frac = fc;
  for (size_t ch = 0; ch < channels; ++ch) {
    if (real && 2 * r.frac + fc + 2 < r.bits) {
      c.a2.push_back(r.encode(0.005 * static_cast<double>(ch % 5 + 1) - 0.01, fc));
      c.a1.push_back(r.encode(1.0 - 0.1 * static_cast<double>(ch % 7), r.frac + fc));
      c.a0.push_back(r.encode(0.25 * static_cast<double>(ch % 3) - 0.3, 2 * r.frac + fc));
    } else {
      c.a2.push_back(prg.next_u64() & r.mask());
      c.a1.push_back(prg.next_u64() & r.mask());
      c.a0.push_back(prg.next_u64() & r.mask());
    }
  }
  return c;
}

/// This party's coefficients (P0: c; P1: none at c's scale) and the model setup "act" run
/// in its own phase "setup".
mpc::PolySetup setup_in_phase(mpc::Session& s, const mpc::PolyCoeffs& c, size_t channels,
                              mpc::PolyCoeffs& mine) {
  mine = mpc::PolyCoeffs{};
  mine.coef_frac = c.coef_frac;
  if (s.party == 0) mine = c;
  mpc::PhaseScope ps(s.channel, "setup");
  return mpc::poly_setup(s, mine, channels, "act");
}

/// Model setup and one poly call (then, when trunc_shift > 0, the caller's truncation tagged
/// tag + "/trunc", as nn/src/forward.h does) on shared x; returns the reconstructed result
/// and checks the measured bytes/rounds of the setup and of the inference against the costs.
Words run_poly(TwoParty& tp, const mpc::PolyShape& shape, const mpc::PolyCoeffs& c, const Words& x,
               int trunc_shift = 0) {
  const size_t n = shape.size();
  auto [x0, x1] = tp.share(x);
  mpc::deal_poly_setup(tp.dealer, shape.channels, "act", tp.m0, tp.m1);
  mpc::deal_poly(tp.dealer, shape, c.coef_frac, tp.options, "act", tp.m0, tp.m1);
  if (trunc_shift > 0) mpc::deal_trunc(tp.dealer, n, trunc_shift, tp.options, "act/trunc", tp.m0, tp.m1);
  Words y0, y1;
  mpc::PolySetup e0, e1;
  tp.run([&](mpc::Session& s) {
    mpc::PolyCoeffs mine;
    mpc::PolySetup e = setup_in_phase(s, c, shape.channels, mine);
    Words y = mpc::poly(s, s.party == 0 ? x0 : x1, shape, mine, e, "act");
    if (trunc_shift > 0) y = mpc::trunc(s, y, trunc_shift, "act/trunc");
    (s.party == 0 ? y0 : y1) = std::move(y);
    (s.party == 0 ? e0 : e1) = std::move(e);
  });
  // Both parties hold the same opened coefficients, E2 = a2 - m2 and E1 = a1 - m1.
  EXPECT_EQ(e0.e_a2, e1.e_a2);
  EXPECT_EQ(e0.e_a1, e1.e_a1);
  EXPECT_EQ(e0.e_a2.size(), shape.channels);
  expect_cost(tp, mpc::Cost{mpc::wire_bytes(2 * shape.channels, tp.ring.bits), 1}, "setup");
  mpc::Cost want = mpc::poly_cost(tp.ring, tp.options, n, c.coef_frac);
  want += mpc::trunc_cost(tp.ring, tp.options, n, trunc_shift);
  expect_cost(tp, want);
  return tp.reconstruct(y0, y1);
}

mpc::ProtocolOptions with_trunc(mpc::TruncMode m) {
  mpc::ProtocolOptions o;
  o.trunc = m;
  return o;
}

TEST_P(RingTest, PolyWithPrivateCoefficientsMatchesPlaintext) {
  // The one-opening gate (Exact and Fss truncation modes) equals its twin bit for bit, mod
  // 2^l and untruncated, on every ring: edge and random inputs, per-channel coefficients
  // (realistic fixed point where it fits, random ring words otherwise), several shapes.
  const mpc::RingConfig r = ring();
  const mpc::PolyShape shapes[] = {{3, 4, 7}, {1, 1, 1}, {2, 5, 1}, {1, 3, 64}, {4, 2, 9}};
  uint64_t seed = 40;
  for (mpc::TruncMode mode : {mpc::TruncMode::Exact, mpc::TruncMode::Fss, mpc::TruncMode::Slack})
    for (const mpc::PolyShape& shape : shapes)
      for (bool real : {true, false}) {
        TwoParty tp(r, with_trunc(mode), seed++);
        const int fc = r.frac + 8;
        const mpc::PolyCoeffs c = poly_coeffs(r, tp.prg, shape.channels, fc, real);
        const Words x = poly_inputs(r, tp.prg, shape.size());
        EXPECT_EQ(mpc::poly_out_scale(r, tp.options, fc), 2 * r.frac + fc);
        EXPECT_EQ(run_poly(tp, shape, c, x), mpc::plain::poly(r, x, shape, c, tp.options))
            << "mode " << static_cast<int>(mode) << ", shape " << shape.outer << "x" << shape.channels << "x"
            << shape.inner << (real ? ", fixed-point" : ", random") << " coefficients";
        EXPECT_EQ(mpc::poly_cost(r, tp.options, shape.size(), fc).rounds, 1u);
      }
}

TEST_P(RingTest, PolyThenTruncationMatchesTwin) {
  // The layer as nn/src/forward.h runs it: the gate at scale 2f + fc, then a truncation by
  // f + fc back to scale f — bit for bit plain::trunc(plain::poly) with exact and FSS
  // truncation whenever |y| < 2^(l-2) at scale 2f + fc (FSS's bound). fc is chosen so that
  // activations |x| <= 2 fit on every ring (fc = f + 8 where it fits, smaller on small rings).
  const mpc::RingConfig r = ring();
  const int fc = std::min(r.frac + 8, r.bits - 2 - 2 * r.frac - 4);
  ASSERT_GE(fc, 1) << "ring " << r.bits << " has no room for a coefficient scale";
  const mpc::PolyShape shape{2, 3, 11};
  for (mpc::TruncMode mode : {mpc::TruncMode::Exact, mpc::TruncMode::Fss, mpc::TruncMode::Slack}) {
    TwoParty tp(r, with_trunc(mode), 60 + static_cast<int>(mode));
    mpc::PolyCoeffs c;
    c.coef_frac = fc;
    for (size_t ch = 0; ch < shape.channels; ++ch) {
      c.a2.push_back(r.encode(0.25 * static_cast<double>(ch) - 0.25, fc));
      c.a1.push_back(r.encode(1.0 - 0.25 * static_cast<double>(ch), r.frac + fc));
      c.a0.push_back(r.encode(0.5 * static_cast<double>(ch) - 0.5, 2 * r.frac + fc));
    }
    Words x(shape.size());
    const int64_t two = int64_t{2} << r.frac;
    for (size_t j = 0; j < x.size(); ++j)
      x[j] = r.from_signed(static_cast<int64_t>(tp.prg.next_u64() % static_cast<uint64_t>(2 * two + 1)) - two);
    x[0] = 0;
    x[1] = r.from_signed(two);
    x[2] = r.from_signed(-two);
    x[3] = r.from_signed(1);
    x[4] = r.from_signed(-1);
    const int shift = mpc::poly_out_scale(r, tp.options, fc) - r.frac;
    EXPECT_EQ(shift, r.frac + fc);
    const Words want = mpc::plain::trunc(r, mpc::plain::poly(r, x, shape, c, tp.options), shift);
    EXPECT_EQ(run_poly(tp, shape, c, x, shift), want) << "mode " << static_cast<int>(mode);
  }
}

TEST_P(RingTest, TruncatePolynomialGateEqualsTruncThenPoly) {
  // The truncate-then-polynomial gate (FSS truncation) equals plain::poly(plain::trunc(x))
  // bit for bit for |x| < 2^(l-2): edges 0, ±1, ±2^k up to the bound, the bound itself minus
  // one, random values within it; random ring-word coefficients (the gate is exact mod 2^l);
  // the truncation's two rounds and l + 1 bits, and the material the cost names.
  const mpc::RingConfig r = ring();
  const mpc::ProtocolOptions o = with_trunc(mpc::TruncMode::Fss);
  const mpc::PolyShape shape{2, 3, 13};
  const int shift = r.frac;
  TwoParty tp(r, o, 77);
  const mpc::PolyCoeffs c = poly_coeffs(r, tp.prg, shape.channels, 5, false);
  const int64_t bound = int64_t{1} << (r.bits - 2);
  Words x = {0, r.from_signed(1), r.from_signed(-1), r.from_signed(bound - 1), r.from_signed(-bound + 1),
             r.from_signed(-bound)};
  for (int k = 1; k < r.bits - 2; k += 5) {
    x.push_back(r.from_signed(int64_t{1} << k));
    x.push_back(r.from_signed(-(int64_t{1} << k) - 1));
  }
  while (x.size() < shape.size())
    x.push_back(r.from_signed(static_cast<int64_t>(tp.prg.next_u64() % (2 * static_cast<uint64_t>(bound))) - bound));
  x.resize(shape.size());
  auto [x0, x1] = tp.share(x);
  mpc::deal_poly_setup(tp.dealer, shape.channels, "act", tp.m0, tp.m1);
  const uint64_t before = tp.m0.remaining_words();
  mpc::deal_trunc_poly(tp.dealer, shape, shift, "act", tp.m0, tp.m1);
  const mpc::Cost cost = mpc::trunc_poly_cost(r, shape.size(), shift);
  EXPECT_EQ(8 * (tp.m0.remaining_words() - before), cost.offline_bytes);
  EXPECT_EQ(cost.rounds, 2u);
  EXPECT_EQ(cost.bytes, mpc::wire_bytes(shape.size(), r.bits) + 8 * mpc::words_for_bits(shape.size()));
  Words y0, y1;
  tp.run([&](mpc::Session& s) {
    mpc::PolyCoeffs mine;
    mpc::PolySetup e = setup_in_phase(s, c, shape.channels, mine);
    (s.party == 0 ? y0 : y1) = mpc::trunc_poly(s, s.party == 0 ? x0 : x1, shift, shape, mine, e, "act");
  });
  const Words want = mpc::plain::poly(r, mpc::plain::trunc(r, x, shift), shape, c, o);
  EXPECT_EQ(tp.reconstruct(y0, y1), want);
  expect_cost(tp, cost);
  EXPECT_EQ(tp.m0.remaining() + tp.m1.remaining(), 0u);
}

TEST(TruncatePolynomialGate, WrongModeOrMaterialIsAClearError) {
  const mpc::RingConfig r{64, 12};
  const mpc::PolyShape shape{1, 2, 5};
  for (int k = 0; k < 3; ++k) {
    // k = 0: session not in FSS truncation; 1: the one-opening gate's material; 2: a
    // truncate-then-polynomial gate dealt for another shift.
    TwoParty tp(r, with_trunc(k == 0 ? mpc::TruncMode::Exact : mpc::TruncMode::Fss), 90 + k);
    const mpc::PolyCoeffs c = poly_coeffs(r, tp.prg, shape.channels, 20, true);
    mpc::deal_poly_setup(tp.dealer, shape.channels, "act", tp.m0, tp.m1);
    if (k == 1)
      mpc::deal_poly(tp.dealer, shape, 20, tp.options, "act", tp.m0, tp.m1);
    else
      mpc::deal_trunc_poly(tp.dealer, shape, k == 2 ? 9 : 12, "act", tp.m0, tp.m1);
    const Words x(shape.size(), 0);
    auto run = [&] {
      tp.run([&](mpc::Session& s) {
        mpc::PolyCoeffs mine;
        mine.coef_frac = 20;
        if (s.party == 0) mine = c;
        const mpc::PolySetup e = mpc::poly_setup(s, mine, shape.channels, "act");
        mpc::trunc_poly(s, x, 12, shape, mine, e, "act");
      });
    };
    if (k == 0)
      EXPECT_THROW(run(), mpc::InvalidArgument);
    else
      EXPECT_THROW(run(), mpc::MaterialError) << k;
  }
}

TEST_P(RingTest, MatmulWithFixedWeightMaskMatchesPlaintext) {
  TwoParty tp(ring());
  const size_t m = 5, k = 7, batch = 3;
  Words w = tp.dealer.random(m * k), x = tp.dealer.random(batch * k);
  auto [x0, x1] = tp.share(x);
  mpc::Lowering lower = [&](const Words& v) {  // [batch, k] -> [k, batch]
    Words t(v.size());
    for (size_t b = 0; b < batch; ++b)
      for (size_t i = 0; i < k; ++i) t[i * batch + b] = v[b * k + i];
    return t;
  };
  mpc::deal_matmul_setup(tp.dealer, m, k, "fc", tp.m0, tp.m1);
  for (int rep = 0; rep < 2; ++rep) mpc::deal_matmul(tp.dealer, m, k, batch, x.size(), lower, "fc", tp.m0, tp.m1);
  Words z0, z1, z0b, z1b;
  tp.run([&](mpc::Session& s) {
    Words e;
    {
      mpc::PhaseScope ps(s.channel, "setup");
      e = mpc::matmul_setup(s, s.party == 0 ? w : Words(), m, k, "fc");
    }
    (s.party == 0 ? z0 : z1) = mpc::matmul(s, s.party == 0 ? x0 : x1, e, m, k, batch, lower, "fc");
    (s.party == 0 ? z0b : z1b) = mpc::matmul(s, s.party == 0 ? x0 : x1, e, m, k, batch, lower, "fc");
  });
  const Words want = mpc::plain::matmul(tp.ring, w, lower(x), m, k, batch);
  EXPECT_EQ(tp.reconstruct(z0, z1), want);
  EXPECT_EQ(tp.reconstruct(z0b, z1b), want);  // second inference with the same weight mask
  mpc::Cost c = mpc::matmul_cost(tp.ring, m, k, batch, x.size());
  c.bytes *= 2;
  c.rounds *= 2;
  expect_cost(tp, c);
}

INSTANTIATE_TEST_SUITE_P(Rings, RingTest, ::testing::Values(64, 32, 17));

TEST(Truncation, ProbabilisticWithinOneUlpAndCountsFailures) {
  mpc::RingConfig r{64, 12};
  mpc::ProtocolOptions o;
  o.trunc = mpc::TruncMode::Prob;
  o.trunc_bound_bits = 40;
  TwoParty tp(r, o);
  const size_t n = 100000;
  Words x(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t v = static_cast<int64_t>(tp.prg.next_u64() >> 25);  // |x| < 2^39
    x[i] = r.from_signed(i % 2 ? -v : v);
  }
  auto [x0, x1] = tp.share(x);
  mpc::deal_trunc(tp.dealer, n, 12, o, "t", tp.m0, tp.m1);
  Words z0, z1;
  tp.run([&](mpc::Session& s) { (s.party == 0 ? z0 : z1) = mpc::trunc(s, s.party == 0 ? x0 : x1, 12, "t"); });
  Words z = tp.reconstruct(z0, z1), want = mpc::plain::trunc(r, x, 12);
  size_t off_by_one = 0, failures = 0;
  for (size_t i = 0; i < n; ++i) {
    const int64_t d = r.to_signed(z[i] - want[i]);
    if (d == 1) ++off_by_one;
    else if (d != 0) ++failures;
  }
  // Failure probability per element is about 2^(40+1-64) = 2^-23: expect none in 1e5.
  EXPECT_EQ(failures, 0u);
  EXPECT_GT(off_by_one, 0u);  // the 1-ulp error is real and documented
  expect_cost(tp, mpc::trunc_cost(r, o, n, 12));
}

// ---- FSS truncation (--trunc fss) -------------------------------------------------------
// Edge values of the bound |x| < 2^(l-2) and of the shift, and random values within it.
Words fss_trunc_inputs(const mpc::RingConfig& r, mpc::Prg& prg, int shift, size_t n_random) {
  const int64_t q = int64_t{1} << (r.bits - 2);
  const int64_t step = int64_t{1} << shift;
  std::vector<int64_t> v = {0, 1, -1, 2, -2, q - 1, -q, -q + 1, q - 2, -q + 2, step - 1, -step + 1};
  for (int64_t k : {int64_t{1}, int64_t{2}, int64_t{3}, int64_t{1000}, (q >> shift) - 1}) {
    if (k > (q >> shift)) continue;  // k·2^s >= 2^(l-2): outside the bound (and k·step may overflow)
    for (int64_t sign : {int64_t{1}, int64_t{-1}}) {
      const int64_t m = sign * k * step;
      if (m >= q || m < -q) continue;
      for (int64_t d : {int64_t{-1}, int64_t{0}, int64_t{1}})
        if (m + d < q && m + d >= -q) v.push_back(m + d);
    }
  }
  Words x;
  for (int64_t e : v) x.push_back(r.from_signed(e));
  for (size_t i = 0; i < n_random; ++i) {
    // Uniform in [-2^(l-2), 2^(l-2)).
    const uint64_t u = prg.next_u64() >> (64 - (r.bits - 1));
    x.push_back(r.from_signed(static_cast<int64_t>(u) - q));
  }
  return x;
}

class FssTruncTest : public ::testing::TestWithParam<std::pair<int, int>> {};

TEST_P(FssTruncTest, EqualsTheTwinBitForBitAndCostsWhatItSays) {
  const auto [bits, mid] = GetParam();
  const mpc::RingConfig r{bits, bits >= 32 ? 12 : 4};
  mpc::ProtocolOptions o;
  o.trunc = mpc::TruncMode::Fss;
  for (int shift : {1, mid, bits - 2}) {
    TwoParty tp(r, o, 11 + static_cast<uint64_t>(shift));
    Words x = fss_trunc_inputs(r, tp.prg, shift, 2000);
    const size_t n = x.size();
    auto [x0, x1] = tp.share(x);
    mpc::deal_trunc(tp.dealer, n, shift, o, "t", tp.m0, tp.m1);
    // Counted (mpc::trunc_cost) and as docs/protocols.md states it: a DCF key of depth shift,
    // [r | t | T] and a B2A pair.
    const uint64_t words = n * mpc::dcf_key_words(shift) + 6 * n + 2 * mpc::words_for_bits(n);
    EXPECT_EQ(tp.m0.remaining_words(), words);
    EXPECT_EQ(tp.m1.remaining_words(), words);
    EXPECT_EQ(8 * words, mpc::trunc_cost(r, o, n, shift).offline_bytes);
    Words z0, z1;
    tp.run([&](mpc::Session& s) {
      (s.party == 0 ? z0 : z1) = mpc::trunc(s, s.party == 0 ? x0 : x1, shift, "t");
    });
    const Words z = tp.reconstruct(z0, z1), want = mpc::plain::trunc(r, x, shift);
    size_t wrong = 0;
    for (size_t i = 0; i < n; ++i)
      if (z[i] != want[i] && wrong++ < 5)
        ADD_FAILURE() << "l " << bits << " shift " << shift << " x " << r.to_signed(x[i])
                      << ": got " << r.to_signed(z[i]) << ", want " << r.to_signed(want[i]);
    EXPECT_EQ(wrong, 0u) << "l " << bits << " shift " << shift;
    const mpc::Cost c = mpc::trunc_cost(r, o, n, shift);
    EXPECT_EQ(c.rounds, 2u);
    EXPECT_EQ(c.bytes, mpc::wire_bytes(n, bits) + 8 * mpc::words_for_bits(n));
    expect_cost(tp, c);
    EXPECT_EQ(tp.m0.remaining(), 0u);
    EXPECT_EQ(tp.m1.remaining(), 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(Rings, FssTruncTest,
                         ::testing::Values(std::pair<int, int>{64, 12}, std::pair<int, int>{32, 12},
                                           std::pair<int, int>{17, 4}));

// Truncation with slack over GMW carries (TruncMode::Slack): the same bound as FSS, the
// carry tree over the low s bits only and the wrap from the two MSBs.
class SlackTruncTest : public ::testing::TestWithParam<std::pair<int, int>> {};

TEST_P(SlackTruncTest, EqualsTheTwinBitForBitWithinTheBoundAndCostsLessThanExact) {
  const auto [bits, mid] = GetParam();
  const mpc::RingConfig r{bits, bits >= 32 ? 12 : 4};
  mpc::ProtocolOptions o, exact;
  o.trunc = mpc::TruncMode::Slack;
  for (int shift : {1, 2, mid, bits - 2}) {
    TwoParty tp(r, o, 41 + static_cast<uint64_t>(shift));
    const Words x = fss_trunc_inputs(r, tp.prg, shift, 2000);  // edges 0, ±1, ±2, ±2^(l-2), multiples of 2^s
    const size_t n = x.size();
    auto [x0, x1] = tp.share(x);
    mpc::deal_trunc(tp.dealer, n, shift, o, "t", tp.m0, tp.m1);
    Words z0, z1;
    tp.run([&](mpc::Session& s) { (s.party == 0 ? z0 : z1) = mpc::trunc(s, s.party == 0 ? x0 : x1, shift, "t"); });
    const Words z = tp.reconstruct(z0, z1), want = mpc::plain::trunc(r, x, shift);
    size_t wrong = 0;
    for (size_t i = 0; i < n; ++i)
      if (z[i] != want[i] && wrong++ < 5)
        ADD_FAILURE() << "l " << bits << " shift " << shift << " x " << r.to_signed(x[i]) << ": got "
                      << r.to_signed(z[i]) << ", want " << r.to_signed(want[i]);
    EXPECT_EQ(wrong, 0u) << "l " << bits << " shift " << shift;
    const mpc::Cost c = mpc::trunc_cost(r, o, n, shift), e = mpc::trunc_cost(r, exact, n, shift);
    expect_cost(tp, c);
    EXPECT_EQ(tp.m0.remaining(), 0u);
    EXPECT_LT(c.bytes, e.bytes) << "shift " << shift;
    EXPECT_LE(c.rounds, e.rounds) << "shift " << shift;
    EXPECT_LT(c.offline_bytes, e.offline_bytes) << "shift " << shift;
    EXPECT_EQ(c.keygen_aes_blocks, 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(Rings, SlackTruncTest,
                         ::testing::Values(std::pair<int, int>{64, 12}, std::pair<int, int>{32, 12},
                                           std::pair<int, int>{17, 4}));

TEST(SlackTruncation, OutsideTheBoundTheResultIsWrongAndTheShiftIsChecked) {
  const mpc::RingConfig r{64, 12};
  mpc::ProtocolOptions o;
  o.trunc = mpc::TruncMode::Slack;
  TwoParty tp(r, o, 5);
  const Words x(500, r.from_signed((int64_t{3} << 61) - 5));  // >= 2^62: the MSB of x + 2^62 is 1
  auto [x0, x1] = tp.share(x);
  mpc::deal_trunc(tp.dealer, x.size(), 12, o, "t", tp.m0, tp.m1);
  Words z0, z1;
  tp.run([&](mpc::Session& s) { (s.party == 0 ? z0 : z1) = mpc::trunc(s, s.party == 0 ? x0 : x1, 12, "t"); });
  const Words z = tp.reconstruct(z0, z1), want = mpc::plain::trunc(r, x, 12);
  size_t wrong = 0;
  for (size_t i = 0; i < x.size(); ++i) wrong += z[i] != want[i];
  EXPECT_GT(wrong, 0u);  // the bound is real
  EXPECT_EQ(mpc::trunc_exact_below_bits(r, o), 62);
  mpc::MaterialStore a(0), b(1);
  EXPECT_THROW(mpc::deal_trunc(tp.dealer, 4, 63, o, "t", a, b), mpc::InvalidArgument);
  EXPECT_EQ(mpc::parse_trunc_mode("slack"), mpc::TruncMode::Slack);
}

TEST(FssTruncation, OutsideTheBoundTheResultIsWrongByTwoToTheLMinusS) {
  // |x| >= 2^(l-2) breaks the assumption behind the wrap table: when a + b = 3 but
  // u0 + v < 2^l, the gate subtracts 2^(l-s) too much. Not exact there, by design.
  const mpc::RingConfig r{64, 12};
  mpc::ProtocolOptions o;
  o.trunc = mpc::TruncMode::Fss;
  TwoParty tp(r, o, 5);
  const int shift = 12;
  const size_t n = 2000;
  const Words x(n, r.from_signed((int64_t{3} << 61) - 5));  // 3·2^61 - 5 >= 2^62
  auto [x0, x1] = tp.share(x);
  mpc::deal_trunc(tp.dealer, n, shift, o, "t", tp.m0, tp.m1);
  Words z0, z1;
  tp.run([&](mpc::Session& s) {
    (s.party == 0 ? z0 : z1) = mpc::trunc(s, s.party == 0 ? x0 : x1, shift, "t");
  });
  const Words z = tp.reconstruct(z0, z1), want = mpc::plain::trunc(r, x, shift);
  size_t wrong = 0, right = 0;
  for (size_t i = 0; i < n; ++i) {
    if (z[i] == want[i]) {
      ++right;
      continue;
    }
    ++wrong;
    EXPECT_EQ((want[i] - z[i]) & r.mask(), uint64_t{1} << (64 - shift));
  }
  EXPECT_GT(wrong, 0u);  // the bound is real
  EXPECT_GT(right, 0u);  // the failure depends on the mask r
}

TEST(FssTruncation, MaterialOfAnotherModeOrShiftIsOutOfStep) {
  const mpc::RingConfig r{64, 12};
  mpc::ProtocolOptions fss, exact;
  fss.trunc = mpc::TruncMode::Fss;
  const Words x = {1, 2, 3, 4, 5};
  auto run = [&](const mpc::ProtocolOptions& deal_with, const mpc::ProtocolOptions& run_with,
                 int deal_shift, int run_shift) {
    TwoParty tp(r, run_with);
    auto [x0, x1] = tp.share(x);
    mpc::deal_trunc(tp.dealer, x.size(), deal_shift, deal_with, "t", tp.m0, tp.m1);
    tp.run([&](mpc::Session& s) { mpc::trunc(s, s.party == 0 ? x0 : x1, run_shift, "t"); });
  };
  EXPECT_THROW(run(exact, fss, 12, 12), mpc::MaterialError);
  EXPECT_THROW(run(fss, exact, 12, 12), mpc::MaterialError);
  try {
    run(fss, fss, 12, 11);
    FAIL() << "a shift other than the dealt one must be refused";
  } catch (const mpc::MaterialError& e) {
    EXPECT_NE(std::string(e.what()).find("depth 11"), std::string::npos) << e.what();
  }
}

TEST(FssTruncation, MaterialGoesThroughAFileAndTheTruncationStillMatches) {
  // The file reader accepts the new kind (FssTruncMasks, the last one) and the material
  // read back gives the twin's result.
  const mpc::RingConfig r{64, 12};
  mpc::ProtocolOptions o;
  o.trunc = mpc::TruncMode::Fss;
  TwoParty tp(r, o, 9);
  Words x = fss_trunc_inputs(r, tp.prg, 12, 100);
  auto [x0, x1] = tp.share(x);
  mpc::deal_trunc(tp.dealer, x.size(), 12, o, "t", tp.m0, tp.m1);
  polympc::testing::reload_through_files(tp, "fsstrunc");
  ASSERT_EQ(tp.m0.remaining(), 3u);  // DCF keys, masks, B2A pair
  EXPECT_EQ(tp.m0.items()[1].kind, mpc::MaterialKind::FssTruncMasks);
  EXPECT_STREQ(mpc::material_kind_name(mpc::MaterialKind::FssTruncMasks), "FSS truncation masks");
  Words z0, z1;
  tp.run([&](mpc::Session& s) {
    (s.party == 0 ? z0 : z1) = mpc::trunc(s, s.party == 0 ? x0 : x1, 12, "t");
  });
  EXPECT_EQ(tp.reconstruct(z0, z1), mpc::plain::trunc(r, x, 12));
}

TEST(FssTruncation, ShiftOutsideOneToLMinusTwoIsRefused) {
  const mpc::RingConfig r{32, 12};
  mpc::ProtocolOptions o;
  o.trunc = mpc::TruncMode::Fss;
  TwoParty tp(r, o);
  try {
    mpc::deal_trunc(tp.dealer, 4, 31, o, "t", tp.m0, tp.m1);
    FAIL() << "shift l-1 must be refused";
  } catch (const mpc::InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("[1, l-2]"), std::string::npos) << e.what();
  }
  EXPECT_EQ(tp.m0.remaining(), 0u);
  EXPECT_EQ(mpc::parse_trunc_mode("fss"), mpc::TruncMode::Fss);
  EXPECT_STREQ(mpc::trunc_mode_name(mpc::TruncMode::Fss), "fss");
  EXPECT_THROW(mpc::parse_trunc_mode("sigma"), mpc::InvalidArgument);
}

// ---- secure argmax ------------------------------------------------------------------------
// Rows of a [rows, cols] test matrix, by kind (row % 5): 0 uniform ring words (differences
// wrap), 1 small values in [-3, 3] (many ties, negatives), 2 one value repeated (all ties),
// 3 bounded values |v| < 2^(l-3) with the row maximum placed twice, 4 ring edge values.
Words argmax_inputs(const mpc::RingConfig& r, mpc::Prg& prg, size_t rows, size_t cols) {
  Words x(rows * cols);
  const int64_t edges[] = {
      0, 1, -1, r.max_signed(), r.min_signed(), r.max_signed() - 1, r.min_signed() + 1};
  for (size_t row = 0; row < rows; ++row) {
    uint64_t* v = x.data() + row * cols;
    const int64_t same = -static_cast<int64_t>(prg.next_u64() >> (65 - r.bits));
    for (size_t j = 0; j < cols; ++j) {
      const uint64_t u = prg.next_u64();
      switch (row % 5) {
        case 0:
          v[j] = u & r.mask();
          break;
        case 1:
          v[j] = r.from_signed(static_cast<int64_t>(u % 7) - 3);
          break;
        case 2:
          v[j] = r.from_signed(same);
          break;
        case 3: {
          const int64_t mag = static_cast<int64_t>(u >> (64 - (r.bits - 3)));
          v[j] = r.from_signed((u & 1) ? -mag : mag);
          break;
        }
        default:
          v[j] = r.from_signed(edges[u % 7]);
          break;
      }
    }
    if (row % 5 == 3 && cols >= 2) {  // a tie for the maximum at two random positions
      size_t best = 0;
      for (size_t j = 1; j < cols; ++j)
        if (r.to_signed(v[j]) > r.to_signed(v[best])) best = j;
      v[prg.next_u64() % cols] = v[best];
    }
  }
  return x;
}

/// The first maximum of each row of signed values (nn::argmax_rows' rule).
Words first_max(const mpc::RingConfig& r, const Words& x, size_t rows, size_t cols) {
  Words out(rows);
  for (size_t row = 0; row < rows; ++row) {
    size_t best = 0;
    for (size_t j = 1; j < cols; ++j)
      if (r.to_signed(x[row * cols + j]) > r.to_signed(x[row * cols + best])) best = j;
    out[row] = best;
  }
  return out;
}

const std::vector<std::pair<size_t, size_t>> kArgmaxShapes = {
    {1, 1}, {4, 1}, {1, 2}, {7, 2}, {6, 3}, {1, 10}, {13, 10}, {70, 10}, {3, 17}};

class ArgmaxTest : public ::testing::TestWithParam<std::tuple<int, mpc::CompareMode>> {};

TEST_P(ArgmaxTest, EqualsTheTwinBitForBitAndCostsWhatItSays) {
  const auto [bits, mode] = GetParam();
  mpc::ProtocolOptions o;
  o.compare = mode;
  TwoParty tp(mpc::RingConfig{bits, 12}, o);
  std::vector<Words> xs, s0, s1, z0(kArgmaxShapes.size()), z1(kArgmaxShapes.size());
  for (auto [rows, cols] : kArgmaxShapes) {
    xs.push_back(argmax_inputs(tp.ring, tp.prg, rows, cols));
    auto [a, b] = tp.share(xs.back());
    s0.push_back(a);
    s1.push_back(b);
    mpc::deal_argmax(tp.dealer, rows, cols, o, "argmax", tp.m0, tp.m1);
  }
  tp.run([&](mpc::Session& s) {
    for (size_t i = 0; i < kArgmaxShapes.size(); ++i) {
      mpc::PhaseScope ps(s.channel, "shape" + std::to_string(i));
      const auto [rows, cols] = kArgmaxShapes[i];
      (s.party == 0 ? z0 : z1)[i] =
          mpc::argmax(s, s.party == 0 ? s0[i] : s1[i], rows, cols, "argmax");
    }
  });
  EXPECT_EQ(tp.m0.remaining() + tp.m1.remaining(), 0u);
  size_t wraps = 0, ties = 0;
  for (size_t i = 0; i < kArgmaxShapes.size(); ++i) {
    const auto [rows, cols] = kArgmaxShapes[i];
    const Words got = tp.reconstruct(z0[i], z1[i]);
    const Words want = mpc::plain::argmax(tp.ring, xs[i], rows, cols);
    EXPECT_EQ(got, want) << rows << "x" << cols;
    // Rows of kinds 1-3 have no wrapping difference: the twin is the first maximum there.
    const Words first = first_max(tp.ring, xs[i], rows, cols);
    for (size_t row = 0; row < rows; ++row) {
      if (row % 5 == 1 || row % 5 == 2 || row % 5 == 3) {
        EXPECT_EQ(want[row], first[row]) << rows << "x" << cols << " row " << row;
        for (size_t j = 0; j < cols; ++j)
          ties += j != first[row] && xs[i][row * cols + j] == xs[i][row * cols + first[row]];
      } else {
        wraps += want[row] != first[row];
      }
      EXPECT_LT(got[row], cols);
    }
    expect_cost(tp, mpc::argmax_cost(tp.ring, o, rows, cols, "argmax"),
                "shape" + std::to_string(i));
  }
  // Ties were exercised, and so were differences that wrap (where the twin is not the first max).
  EXPECT_GT(ties, 50u);
  EXPECT_GT(wraps, 0u);
}

INSTANTIATE_TEST_SUITE_P(RingsAndComparisons, ArgmaxTest,
                         ::testing::Combine(::testing::Values(64, 32),
                                            ::testing::Values(mpc::CompareMode::Gmw,
                                                              mpc::CompareMode::Fss)),
                         [](const auto& p) {
                           return "l" + std::to_string(std::get<0>(p.param)) + "_" +
                                  mpc::compare_mode_name(std::get<1>(p.param));
                         });

TEST(Argmax, ReducedBitComparisonIsExactOnItsRange) {
  // [0, 40): exact for |a - b| < 2^39, ties included. [8, 40): exact when no difference
  // lies in [0, 2^8): distinct multiples of 2^8.
  const mpc::RingConfig r{64, 12};
  for (mpc::CompareMode mode : {mpc::CompareMode::Gmw, mpc::CompareMode::Fss})
    for (mpc::CompareBits b : {mpc::CompareBits{0, 40}, mpc::CompareBits{8, 40}}) {
      mpc::ProtocolOptions o;
      o.compare = mode;
      o.compare_bits = b;
      TwoParty tp(r, o);
      const size_t rows = 40, cols = 10;
      Words x(rows * cols);
      for (size_t row = 0; row < rows; ++row) {
        for (size_t j = 0; j < cols; ++j) {
          const int64_t v =
              static_cast<int64_t>(tp.prg.next_u64() >> 28) - (int64_t{1} << 35);  // |v| < 2^35
          if (b.lo == 0)  // large values and, in odd rows, small ones with ties
            x[row * cols + j] = r.from_signed(row % 2 ? v % 5 : v);
          else  // distinct multiples of 2^8, |x| < 2^35
            x[row * cols + j] = r.from_signed(
                ((v >> 12) * static_cast<int64_t>(cols) + static_cast<int64_t>(j)) * 256);
        }
      }
      auto [x0, x1] = tp.share(x);
      mpc::deal_argmax(tp.dealer, rows, cols, o, "am", tp.m0, tp.m1);
      Words z0, z1;
      tp.run([&](mpc::Session& s) {
        (s.party == 0 ? z0 : z1) = mpc::argmax(s, s.party == 0 ? x0 : x1, rows, cols, "am");
      });
      const Words got = tp.reconstruct(z0, z1);
      EXPECT_EQ(got, mpc::plain::argmax(r, x, rows, cols, b)) << mpc::compare_bits_name(b);
      EXPECT_EQ(got, first_max(r, x, rows, cols)) << mpc::compare_bits_name(b);
      expect_cost(tp, mpc::argmax_cost(r, o, rows, cols, "am"));
      if (mode == mpc::CompareMode::Gmw) {  // fewer bits, fewer AND gates
        EXPECT_LT(mpc::argmax_cost(r, o, rows, cols, "am").bytes,
                  mpc::argmax_cost(r, mpc::ProtocolOptions{}, rows, cols, "am").bytes);
      }
    }
}

TEST(Argmax, BadShapesAndMaterialOutOfStepAreErrors) {
  TwoParty tp;
  EXPECT_THROW(mpc::deal_argmax(tp.dealer, 2, 0, tp.options, "am", tp.m0, tp.m1),
               mpc::InvalidArgument);
  EXPECT_THROW(mpc::argmax_cost(tp.ring, tp.options, 2, 0), mpc::InvalidArgument);
  EXPECT_THROW(
      mpc::deal_argmax(tp.dealer, size_t{1} << 40, size_t{1} << 40, tp.options, "am", tp.m0, tp.m1),
      mpc::InvalidArgument);
  auto s0 = tp.session(0);
  try {
    mpc::argmax(s0, Words(19), 2, 10, "am");
    FAIL() << "expected InvalidArgument";
  } catch (const mpc::InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("needs 20"), std::string::npos) << e.what();
  }
  EXPECT_THROW(mpc::argmax(s0, Words(), 2, 0, "am"), mpc::InvalidArgument);
  // Material for 2 x 10 consumed as 2 x 9 (the first level's multiplexer differs in size).
  mpc::deal_argmax(tp.dealer, 2, 10, tp.options, "am", tp.m0, tp.m1);
  EXPECT_THROW(tp.run([&](mpc::Session& s) { mpc::argmax(s, Words(18), 2, 9, "am"); }),
               mpc::MaterialError);
  // GMW material consumed by an FSS session.
  TwoParty tf;
  mpc::deal_argmax(tf.dealer, 3, 4, tf.options, "am", tf.m0, tf.m1);
  tf.options.compare = mpc::CompareMode::Fss;
  EXPECT_THROW(tf.run([&](mpc::Session& s) { mpc::argmax(s, Words(12), 3, 4, "am"); }),
               mpc::MaterialError);
}

TEST(Truncation, ProbabilisticIsRefusedWhenItFailsMoreOftenThanTwoToMinus20) {
  // The bound `polympc --trunc prob` uses (apps/protocol_args.cpp): min(l - 2, 2f + 12).
  auto cli_options = [](const mpc::RingConfig& r, mpc::TruncMode mode) {
    mpc::ProtocolOptions o;
    o.trunc = mode;
    o.trunc_bound_bits = std::min(r.bits - 2, 2 * r.frac + 12);
    return o;
  };
  const mpc::RingConfig l32{32, 12}, l64{64, 12};
  try {
    mpc::check_trunc_failure(l32, cli_options(l32, mpc::TruncMode::Prob));
    FAIL() << "expected InvalidArgument at l = 32";
  } catch (const mpc::InvalidArgument& e) {
    const std::string m = e.what();
    for (const char* part :
         {"probability about 2^-1 ", "2^30", "l = 32", "2^-20", "--trunc exact", "--bits"})
      EXPECT_NE(m.find(part), std::string::npos) << "'" << part << "' missing in: " << m;
  }
  EXPECT_NO_THROW(mpc::check_trunc_failure(l64, cli_options(l64, mpc::TruncMode::Prob)));  // 2^-27
  EXPECT_NO_THROW(mpc::check_trunc_failure(l32, cli_options(l32, mpc::TruncMode::Exact)));
  // The limit itself: 2^(43+1-64) = 2^-20 is accepted, 2^-19 is not.
  mpc::ProtocolOptions o = cli_options(l64, mpc::TruncMode::Prob);
  o.trunc_bound_bits = 43;
  EXPECT_NO_THROW(mpc::check_trunc_failure(l64, o));
  o.trunc_bound_bits = 44;
  EXPECT_THROW(mpc::check_trunc_failure(l64, o), mpc::InvalidArgument);
}

TEST(Truncation, RunLevelCheckCountsTheTruncatedElementsOfTheWholeRun) {
  const mpc::RingConfig l64{64, 12};
  mpc::ProtocolOptions o;
  o.trunc = mpc::TruncMode::Prob;
  o.trunc_bound_bits = 36;  // 2^-27 per element
  // log2(elements) - 27: 2^7 elements reach the 2^-20 limit, one more exceeds it.
  EXPECT_DOUBLE_EQ(mpc::trunc_failure_run_log2(l64, o, 128), -20.0);
  EXPECT_NO_THROW(mpc::check_trunc_failure_run(l64, o, 128, "128"));
  EXPECT_THROW(mpc::check_trunc_failure_run(l64, o, 129, "129"), mpc::InvalidArgument);
  // The reported case: 500 images x ~30k truncations -> ~0.11 expected failures.
  try {
    mpc::check_trunc_failure_run(l64, o, 500 * 30000, "500 images x 30000 truncated elements per image");
    FAIL() << "expected InvalidArgument";
  } catch (const mpc::InvalidArgument& e) {
    const std::string m = e.what();
    for (const char* part : {"15000000 elements", "500 images x 30000", "2^-27", "up to 0.112 wrong results",
                             "2^-20", "--trunc fss", "--trunc exact"})
      EXPECT_NE(m.find(part), std::string::npos) << "'" << part << "' missing in: " << m;
  }
  // A documented larger limit accepts it; other truncations are never refused.
  EXPECT_NO_THROW(mpc::check_trunc_failure_run(l64, o, 500 * 30000, "run", 0));
  for (const mpc::TruncMode m : {mpc::TruncMode::Exact, mpc::TruncMode::Fss, mpc::TruncMode::Slack}) {
    o.trunc = m;
    EXPECT_NO_THROW(mpc::check_trunc_failure_run(l64, o, uint64_t{1} << 40, "run"));
  }
}

// ---- per-layer comparison bits -----------------------------------------------------------
TEST(ProtocolOptions, PerLayerBitsMatchLayerNamesWithSlashes) {
  mpc::ProtocolOptions o;
  o.compare_bits = mpc::CompareBits{2, 50};
  o.layer_compare_bits["/relu1/Relu"] = mpc::CompareBits{0, 20};
  o.layer_compare_bits["/features/features.2/Relu"] = mpc::CompareBits{4, 30};
  o.layer_compare_bits["pool1"] = mpc::CompareBits{0, 24};
  const mpc::CompareBits global{2, 50}, relu1{0, 20}, feat{4, 30}, pool1{0, 24};
  EXPECT_EQ(o.compare_range("/relu1/Relu", 64), relu1);
  EXPECT_EQ(o.compare_range("/relu1/Relu/max0", 64), relu1);  // a layer's sub-tags
  EXPECT_EQ(o.compare_range("/features/features.2/Relu", 64), feat);
  EXPECT_EQ(o.compare_range("/features/features.2/Relu/max1", 64), feat);
  EXPECT_EQ(o.compare_range("pool1/max0", 64), pool1);  // names without '/' as before
  EXPECT_EQ(o.compare_range("pool1", 64), pool1);
  // Other layers that merely share a prefix keep the global range.
  for (const char* tag : {"/relu1/Relu2", "/relu10/Relu", "/relu1", "/relu1/Rel",
                          "/features/features.2/Relu_1", "pool10/max0", "/Relu", "relu1/Relu"})
    EXPECT_EQ(o.compare_range(tag, 64), global) << tag;
  // The longest matching name wins; an empty name matches nothing.
  o.layer_compare_bits["/relu1"] = mpc::CompareBits{6, 40};
  o.layer_compare_bits[""] = mpc::CompareBits{8, 16};
  EXPECT_EQ(o.compare_range("/relu1/Relu/max0", 64), relu1);
  EXPECT_EQ(o.compare_range("/relu1/Conv", 64), (mpc::CompareBits{6, 40}));
  EXPECT_EQ(o.compare_range("/relu10/Relu", 64), global);
  EXPECT_EQ(o.compare_range("/other", 64), global);
  ASSERT_NE(o.layer_entry("/relu1/Relu/max0"), nullptr);
  EXPECT_EQ(o.layer_entry("/relu1/Relu/max0")->first, "/relu1/Relu");
  EXPECT_EQ(o.layer_entry("/relu10/Relu"), nullptr);
}

// ---- material ----------------------------------------------------------------------------
TEST(Material, OutOfStepAndExhaustedAreErrors) {
  TwoParty tp;
  mpc::deal_mul(tp.dealer, 4, "mul", tp.m0, tp.m1);
  EXPECT_THROW(tp.m0.take(mpc::MaterialKind::TruncPair, 8, "x"), mpc::MaterialError);
  EXPECT_THROW(tp.m0.take(mpc::MaterialKind::BeaverTriple, 9, "x"), mpc::MaterialError);
  EXPECT_EQ(tp.m0.take(mpc::MaterialKind::BeaverTriple, 12, "x").size(), 12u);
  try {
    tp.m0.take(mpc::MaterialKind::BeaverTriple, 12, "layer conv1");
    FAIL() << "second take must fail";
  } catch (const mpc::MaterialError& e) {
    EXPECT_NE(std::string(e.what()).find("exhausted at layer conv1"), std::string::npos) << e.what();
  }
}

TEST(Material, ATripleIsConsumedOnceAndAProtocolCannotReuseIt) {
  TwoParty tp;
  Words x = {1, 2, 3}, y = {4, 5, 6};
  auto [x0, x1] = tp.share(x);
  auto [y0, y1] = tp.share(y);
  mpc::deal_mul(tp.dealer, 3, "mul", tp.m0, tp.m1);
  tp.run([&](mpc::Session& s) { mpc::mul(s, s.party == 0 ? x0 : x1, s.party == 0 ? y0 : y1, "mul"); });
  // The only triple was consumed: a second multiplication is refused, nothing is sent.
  EXPECT_THROW(tp.run([&](mpc::Session& s) { mpc::mul(s, s.party == 0 ? x0 : x1, s.party == 0 ? y0 : y1, "mul"); }),
               mpc::MaterialError);
  EXPECT_EQ(tp.stats(0).rounds, 1u);
}

TEST(Material, FileRoundTripIsCheckedAndAuthenticated) {
  TwoParty tp;
  mpc::deal_mul(tp.dealer, 16, "mul", tp.m0, tp.m1);
  mpc::deal_matmul_setup(tp.dealer, 2, 3, "fc", tp.m0, tp.m1);
  const std::string p0 = ::testing::TempDir() + "/polympc_protocols_" + std::to_string(::getpid()) + "_p0.mat";
  const std::string p1 = ::testing::TempDir() + "/polympc_protocols_" + std::to_string(::getpid()) + "_p1.mat";
  polympc::testing::write_material_file(p0, tp.m0);
  polympc::testing::write_material_file(p1, tp.m1);
  // Wrong party.
  EXPECT_THROW(mpc::MaterialFile::open(p0, 1), mpc::MaterialError);
  // Truncated copy.
  {
    std::ifstream in(p1, std::ios::binary);
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream out(p1 + ".cut", std::ios::binary);
    out.write(all.data(), static_cast<std::streamsize>(all.size() / 2));
  }
  EXPECT_THROW(mpc::MaterialFile::open(p1 + ".cut", 1), mpc::MaterialError);
  // The file holds what was written.
  mpc::MaterialFile f0 = mpc::MaterialFile::open(p0, 0);
  mpc::MaterialStore s0(0);
  f0.load_fixed(s0);
  f0.load_segment(s0, 0);
  EXPECT_EQ(s0.remaining(), 1u);
  EXPECT_EQ(s0.fixed("fc/wmask"), tp.m0.fixed("fc/wmask"));
  EXPECT_EQ(s0.take(mpc::MaterialKind::BeaverTriple, 48, "mul"), tp.m0.take(mpc::MaterialKind::BeaverTriple, 48, "mul"));
  std::remove(p0.c_str());
  std::remove(p1.c_str());
  std::remove((p1 + ".cut").c_str());
}

TEST(Poly, ProbModeKeepsTwoOpeningsWithinUlps) {
  // TruncMode::Prob keeps the two-opening Horner path with its own truncations (scale f):
  // within 2|x| + 3 ulp of the truncating twin (u = a2 x + a1 is truncated to scale f first,
  // its error below 2 ulp is multiplied by x). Values stay far below the bound 2^36.
  const mpc::RingConfig r{64, 12};
  const mpc::ProtocolOptions o = with_trunc(mpc::TruncMode::Prob);
  TwoParty tp(r, o, 77);
  const mpc::PolyShape shape{3, 4, 7};
  const int fc = r.frac + 8;
  const mpc::PolyCoeffs c = poly_coeffs(r, tp.prg, shape.channels, fc, true);
  Words x(shape.size());
  for (size_t j = 0; j < x.size(); ++j)
    x[j] = r.encode((static_cast<double>(tp.prg.next_u64() % 20001) - 10000) / 1000.0);
  x[0] = 0;
  x[1] = r.encode(1.0);
  x[2] = r.encode(-1.0);
  EXPECT_EQ(mpc::poly_out_scale(r, o, fc), r.frac);
  const Words y = run_poly(tp, shape, c, x);
  const Words want = mpc::plain::poly(r, x, shape, c, o);
  for (size_t j = 0; j < x.size(); ++j) {
    const int64_t err = r.to_signed((y[j] - want[j]) & r.mask());
    const int64_t bound = 2 * std::abs(r.to_signed(x[j])) / (int64_t{1} << r.frac) + 3;
    EXPECT_LE(std::abs(err), bound) << "j=" << j;
  }
  const mpc::Cost pc = mpc::poly_cost(r, o, shape.size(), fc);
  EXPECT_EQ(pc.rounds, 4u);  // two openings, two SecureML truncations
  EXPECT_EQ(pc.bytes, 4 * shape.size() * 8);
}

TEST(Poly, OneOpeningCostIsOneRoundOfOneRingElement) {
  for (int bits : {64, 32, 17}) {
    const mpc::RingConfig r{bits, bits >= 32 ? 12 : 3};
    for (mpc::TruncMode m : {mpc::TruncMode::Exact, mpc::TruncMode::Fss, mpc::TruncMode::Slack}) {
      const mpc::Cost c = mpc::poly_cost(r, with_trunc(m), 1000, 20);
      EXPECT_EQ(c.rounds, 1u);
      EXPECT_EQ(c.bytes, mpc::wire_bytes(1000, bits));
    }
  }
}

TEST(Poly, MissingOrOutOfStepMaterialIsAMaterialError) {
  const mpc::RingConfig r{64, 12};
  const mpc::PolyShape shape{2, 3, 4};
  const mpc::ProtocolOptions exact, prob = with_trunc(mpc::TruncMode::Prob), fss = with_trunc(mpc::TruncMode::Fss);
  // deal: the dealer's setup channels, shape and options (setup_channels 0 = no model setup;
  // deal_calls 0 = no per-inference material); run: what the parties do.
  auto attempt = [&](size_t setup_channels, const mpc::PolyShape& deal_shape, const mpc::ProtocolOptions& deal_with,
                     int deal_calls, const mpc::ProtocolOptions& run_with) {
    TwoParty tp(r, run_with, 91);
    mpc::Prg prg(mpc::seed_from_u64(5));
    const mpc::PolyCoeffs c = poly_coeffs(r, prg, shape.channels, 20, true);
    const Words x = poly_inputs(r, prg, shape.size());
    auto [x0, x1] = tp.share(x);
    if (setup_channels > 0) mpc::deal_poly_setup(tp.dealer, setup_channels, "act", tp.m0, tp.m1);
    for (int i = 0; i < deal_calls; ++i) mpc::deal_poly(tp.dealer, deal_shape, 20, deal_with, "act", tp.m0, tp.m1);
    tp.run([&](mpc::Session& s) {
      mpc::PolyCoeffs mine;
      mine.coef_frac = 20;
      if (s.party == 0) mine = c;
      const mpc::PolySetup e = mpc::poly_setup(s, mine, shape.channels, "act");
      mpc::poly(s, s.party == 0 ? x0 : x1, shape, mine, e, "act");
      mpc::poly(s, s.party == 0 ? x0 : x1, shape, mine, e, "act");  // a second inference
    });
  };
  EXPECT_NO_THROW(attempt(shape.channels, shape, exact, 2, exact));
  EXPECT_NO_THROW(attempt(shape.channels, shape, fss, 2, exact));  // same material for Exact and Fss
  EXPECT_THROW(attempt(shape.channels, shape, exact, 1, exact), mpc::MaterialError);  // used up
  EXPECT_THROW(attempt(shape.channels, shape, exact, 0, exact), mpc::MaterialError);  // none dealt
  EXPECT_THROW(attempt(0, shape, exact, 0, exact), mpc::MaterialError);               // no model setup
  EXPECT_THROW(attempt(shape.channels + 1, shape, exact, 0, exact), mpc::MaterialError);  // other channels
  EXPECT_THROW(attempt(shape.channels, mpc::PolyShape{2, 3, 5}, exact, 2, exact), mpc::MaterialError);
  EXPECT_THROW(attempt(shape.channels, shape, prob, 2, exact), mpc::MaterialError);  // Horner material
  EXPECT_THROW(attempt(shape.channels, shape, exact, 2, prob), mpc::MaterialError);
  try {
    attempt(shape.channels, shape, prob, 2, fss);
    FAIL() << "Prob-mode material must be refused by the one-opening gate";
  } catch (const mpc::MaterialError& e) {
    EXPECT_NE(std::string(e.what()).find("one-opening polynomial masks"), std::string::npos) << e.what();
  }
}

TEST(Poly, MaterialGoesThroughAFileAndTheGateStillMatches) {
  // The file reader accepts the new kind (PolyQuadMasks, the last one) and the per-model
  // masks; the material read back gives the twin's result.
  const mpc::RingConfig r{64, 12};
  TwoParty tp(r, {}, 93);
  const mpc::PolyShape shape{2, 3, 5};
  const mpc::PolyCoeffs c = poly_coeffs(r, tp.prg, shape.channels, 20, true);
  const Words x = poly_inputs(r, tp.prg, shape.size());
  auto [x0, x1] = tp.share(x);
  mpc::deal_poly_setup(tp.dealer, shape.channels, "act", tp.m0, tp.m1);
  mpc::deal_poly(tp.dealer, shape, 20, tp.options, "act", tp.m0, tp.m1);
  polympc::testing::reload_through_files(tp, "poly");
  ASSERT_EQ(tp.m0.remaining(), 1u);
  EXPECT_EQ(tp.m0.items()[0].kind, mpc::MaterialKind::PolyQuadMasks);
  EXPECT_EQ(tp.m0.items()[0].words.size(), 5 * shape.size());
  EXPECT_STREQ(mpc::material_kind_name(mpc::MaterialKind::PolyQuadMasks), "one-opening polynomial masks");
  Words y0, y1;
  tp.run([&](mpc::Session& s) {
    mpc::PolyCoeffs mine;
    mine.coef_frac = 20;
    if (s.party == 0) mine = c;
    const mpc::PolySetup e = mpc::poly_setup(s, mine, shape.channels, "act");
    (s.party == 0 ? y0 : y1) = mpc::poly(s, s.party == 0 ? x0 : x1, shape, mine, e, "act");
  });
  EXPECT_EQ(tp.reconstruct(y0, y1), mpc::plain::poly(r, x, shape, c, tp.options));
}

TEST(Session, WrongPartyIsRejected) {
  EXPECT_THROW(mpc::MaterialStore(2), mpc::InvalidArgument);
  EXPECT_THROW(mpc::MaterialStore(-1), mpc::InvalidArgument);
}

TEST(Session, DroppedConnectionIsAChannelError) {
  TwoParty tp;
  Words x = {1, 2, 3};
  auto [x0, x1] = tp.share(x);
  mpc::deal_mul(tp.dealer, 3, "mul", tp.m0, tp.m1);
  tp.ch0.reset();  // P0 is gone
  auto s1 = tp.session(1);
  EXPECT_THROW(mpc::mul(s1, x1, x1, "mul"), mpc::ChannelError);
}

TEST(Ring, OverflowAndBadParametersAreErrors) {
  mpc::RingConfig r{32, 12};
  EXPECT_THROW(r.encode(1e6), mpc::OverflowError);  // 1e6 * 2^12 > 2^31
  EXPECT_NO_THROW(r.encode(1e5));
  EXPECT_THROW(r.encode(std::nan("")), mpc::OverflowError);
  EXPECT_THROW((mpc::RingConfig{65, 12}.validate()), mpc::InvalidArgument);
  EXPECT_THROW((mpc::RingConfig{16, 8}.validate()), mpc::InvalidArgument);
  EXPECT_EQ(r.decode(r.encode(-3.25)), -3.25);
  EXPECT_EQ(r.to_signed(r.from_signed(r.min_signed())), r.min_signed());
}

}  // namespace

// ---- offline costs: what *_cost() reports is what the dealer pushes ---------------------
namespace {

/// Dealer material of each party (bytes of the queued items) and the AES blocks dcf_gen
/// encrypted for the DCF keys among them (4 per level per key; depth from each key header).
struct Pushed {
  uint64_t bytes0 = 0, bytes1 = 0, aes_blocks = 0;
};
Pushed pushed(const mpc::MaterialStore& m0, const mpc::MaterialStore& m1) {
  Pushed p;
  p.bytes0 = 8 * m0.remaining_words();
  p.bytes1 = 8 * m1.remaining_words();
  for (const mpc::MaterialItem& it : m0.items()) {
    if (it.kind != mpc::MaterialKind::DcfKeys || it.words.empty()) continue;
    const int depth = static_cast<int>((it.words[0] >> 24) & 0xff);
    p.aes_blocks += 4 * (it.words.size() / mpc::dcf_key_words(depth)) * static_cast<uint64_t>(depth);
  }
  return p;
}

/// Deals with `deal` into fresh stores and compares with the offline part of `c`.
void expect_offline(mpc::RingConfig ring, const mpc::Cost& c, const std::string& what,
                    const std::function<void(mpc::Dealer&, mpc::MaterialStore&, mpc::MaterialStore&)>& deal) {
  mpc::Dealer d(mpc::seed_from_u64(11), ring);
  mpc::MaterialStore m0(0), m1(1);
  deal(d, m0, m1);
  const Pushed p = pushed(m0, m1);
  EXPECT_EQ(p.bytes0, c.offline_bytes) << what << " (P0 material)";
  EXPECT_EQ(p.bytes1, c.offline_bytes) << what << " (P1 material)";
  EXPECT_EQ(p.aes_blocks, c.keygen_aes_blocks) << what << " (DCF key-generation AES blocks)";
  EXPECT_GT(c.offline_bytes, 0u) << what;
}

}  // namespace

TEST(OfflineCost, EveryProtocolAndModeReportsTheMaterialTheDealerPushes) {
  using D = mpc::Dealer;
  using S = mpc::MaterialStore;
  for (const mpc::RingConfig ring : {mpc::RingConfig{64, 12}, mpc::RingConfig{32, 12}, mpc::RingConfig{17, 3}}) {
    const int f = ring.frac;
    for (const size_t n : {size_t{1}, size_t{63}, size_t{64}, size_t{65}, size_t{300}}) {
      const std::string at = "l=" + std::to_string(ring.bits) + " n=" + std::to_string(n) + ": ";
      expect_offline(ring, mpc::mul_cost(ring, n), at + "mul", [&](D& d, S& a, S& b) { mpc::deal_mul(d, n, "m", a, b); });
      expect_offline(ring, mpc::square_cost(ring, n), at + "square",
                     [&](D& d, S& a, S& b) { mpc::deal_square(d, n, "s", a, b); });
      expect_offline(ring, mpc::b2a_cost(ring, n), at + "b2a", [&](D& d, S& a, S& b) { mpc::deal_b2a(d, n, "b", a, b); });
      for (const mpc::TruncMode tm : {mpc::TruncMode::Exact, mpc::TruncMode::Prob, mpc::TruncMode::Fss, mpc::TruncMode::Slack}) {
        mpc::ProtocolOptions o;
        o.trunc = tm;
        o.trunc_bound_bits = std::min(ring.bits - 2, 2 * f + 12);
        for (const int shift : {1, f, o.trunc_bound_bits}) {  // prob needs shift <= its bound
          expect_offline(ring, mpc::trunc_cost(ring, o, n, shift),
                         at + "trunc " + mpc::trunc_mode_name(tm) + " by " + std::to_string(shift),
                         [&](D& d, S& a, S& b) { mpc::deal_trunc(d, n, shift, o, "t", a, b); });
        }
        // Polynomial (its masks, then its truncations in this mode).
        const mpc::PolyShape shape{2, 3, (n + 5) / 6};
        const int fc = f;
        expect_offline(ring, mpc::poly_cost(ring, o, shape.size(), fc), at + "poly, trunc " + mpc::trunc_mode_name(tm),
                       [&](D& d, S& a, S& b) {
                         mpc::deal_poly_setup(d, shape.channels, "p", a, b);
                         mpc::deal_poly(d, shape, fc, o, "p", a, b);
                       });
      }
      for (const mpc::CompareMode cm : {mpc::CompareMode::Gmw, mpc::CompareMode::Fss}) {
        for (const mpc::CompareBits bits : {mpc::CompareBits{}, mpc::CompareBits{2, ring.bits - 3}}) {
          mpc::ProtocolOptions o;
          o.compare = cm;
          o.compare_bits = bits;
          const std::string how = std::string(mpc::compare_mode_name(cm)) + " bits " + mpc::compare_bits_name(bits);
          expect_offline(ring, mpc::drelu_cost(ring, o, n, "c"), at + "drelu " + how,
                         [&](D& d, S& a, S& b) { mpc::deal_drelu(d, n, o, "c", a, b); });
          expect_offline(ring, mpc::relu_cost(ring, o, n, "c"), at + "relu " + how,
                         [&](D& d, S& a, S& b) { mpc::deal_relu(d, n, o, "c", a, b); });
          expect_offline(ring, mpc::relu_cost(ring, o, n, "c"), at + "max " + how,
                         [&](D& d, S& a, S& b) { mpc::deal_max(d, n, o, "c", a, b); });
          for (const size_t cols : {size_t{2}, size_t{10}}) {
            const size_t rows = (n + cols - 1) / cols;
            expect_offline(ring, mpc::argmax_cost(ring, o, rows, cols, "am"),
                           at + "argmax " + how + " cols " + std::to_string(cols),
                           [&](D& d, S& a, S& b) { mpc::deal_argmax(d, rows, cols, o, "am", a, b); });
          }
        }
      }
      // Matmul: Y (m x cols) = W (m x k) · L(X), X of in_size = k cols elements (identity lowering).
      const size_t m = 3, k = 4, cols = (n + 3) / 4;
      const mpc::Lowering identity = [](const Words& v) { return v; };
      expect_offline(ring, mpc::matmul_cost(ring, m, k, cols, k * cols), at + "matmul", [&](D& d, S& a, S& b) {
        mpc::deal_matmul_setup(d, m, k, "mm", a, b);
        mpc::deal_matmul(d, m, k, cols, k * cols, identity, "mm", a, b);
      });
    }
  }
}

TEST(OfflineCost, FssKeyGenerationIsFourAesBlocksPerLevelPerKey) {
  const mpc::RingConfig r{64, 12};
  mpc::ProtocolOptions o;
  o.compare = mpc::CompareMode::Fss;
  o.trunc = mpc::TruncMode::Fss;
  EXPECT_EQ(mpc::relu_cost(r, o, 1000).keygen_aes_blocks, 4u * 1000 * 63);
  EXPECT_EQ(mpc::trunc_cost(r, o, 1000, 12).keygen_aes_blocks, 4u * 1000 * 12);
  o.compare = mpc::CompareMode::Gmw;
  o.trunc = mpc::TruncMode::Exact;
  EXPECT_EQ(mpc::relu_cost(r, o, 1000).keygen_aes_blocks, 0u);  // GMW: no keys
  // A ReLU's material: FSS 1040-byte key + 24 bytes + a bit; GMW AND triples + B2A + Beaver.
  o.compare = mpc::CompareMode::Fss;
  EXPECT_EQ(mpc::relu_cost(r, o, 64).offline_bytes, 64u * (1040 + 24) + 8);
}
