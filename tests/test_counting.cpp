// The counting context (mpc/counting.h): every protocol counted on zeros equals the same
// protocol run for real on random shares, for each party: bytes sent and received, rounds,
// the dealer material it consumes and its Backend calls (kernel, calls, elements, as the
// simulation backend counts them). This is what makes mpc::*_cost and the performance
// model exact by construction; the tests here are what would catch a protocol whose
// messages or Backend calls depend on values.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "polympc/mpc/counting.h"
#include "polympc/mpc/protocols.h"
#include "two_party.h"

namespace mpc = polympc::mpc;
using mpc::Words;
using polympc::testing::TwoParty;

namespace {

/// One protocol under test: the per-model setup (dealt into both stores), the per-inference
/// dealing, and one party's online call (inputs of the given sizes, values from `in`).
struct Case {
  std::string name;
  mpc::ProtocolOptions options;
  std::function<void(mpc::Dealer&, mpc::MaterialStore&, mpc::MaterialStore&)> deal_setup;  // may be empty
  std::function<void(mpc::Session&)> setup;                                                  // may be empty
  std::function<void(mpc::Dealer&, mpc::MaterialStore&, mpc::MaterialStore&)> deal;
  std::function<void(mpc::Session&, const std::function<Words(size_t)>& in)> online;
};

void expect_counted_equals_real(const mpc::RingConfig& r, const Case& c) {
  SCOPED_TRACE(c.name + " l=" + std::to_string(r.bits));
  TwoParty tp(r, c.options, 31);
  if (c.deal_setup) c.deal_setup(tp.dealer, tp.m0, tp.m1);
  const uint64_t before0 = tp.m0.remaining_words(), before1 = tp.m1.remaining_words();
  c.deal(tp.dealer, tp.m0, tp.m1);
  const uint64_t pushed[2] = {tp.m0.remaining_words() - before0, tp.m1.remaining_words() - before1};
  mpc::Prg prg[2] = {mpc::Prg(mpc::seed_from_u64(5)), mpc::Prg(mpc::seed_from_u64(6))};
  tp.run([&](mpc::Session& s) {
    {
      mpc::PhaseScope ps(s.channel, "setup");
      if (c.setup) c.setup(s);
    }
    c.online(s, [&](size_t n) { return prg[s.party].words(n, r.bits); });
  });
  for (int p = 0; p < 2; ++p) {
    SCOPED_TRACE("party " + std::to_string(p));
    mpc::CountingSession cs(r, c.options, p);
    mpc::MaterialStore other(1 - p);
    if (c.deal_setup) c.deal_setup(cs.setup_dealer(), p == 0 ? cs.material() : other, p == 0 ? other : cs.material());
    if (c.setup) c.setup(cs.session());
    cs.start();
    c.online(cs.session(), [](size_t n) { return Words(n, 0); });
    const mpc::Counted got = cs.result();
    const mpc::PhaseStats wire = tp.stats(p);
    EXPECT_EQ(got.bytes, wire.bytes_sent);
    EXPECT_EQ(got.bytes_received, wire.bytes_received);
    EXPECT_EQ(got.rounds, wire.rounds);
    EXPECT_EQ(got.material_words, pushed[p]);
    EXPECT_EQ((p == 0 ? tp.m0 : tp.m1).remaining(), 0u) << "the real run consumed all material";
    std::map<std::string, mpc::KernelCounters> counted;
    for (const mpc::BackendCall& call : got.calls) {
      counted[call.kernel].calls += 1;
      counted[call.kernel].elements += call.n;
    }
    const auto real = (p == 0 ? tp.be0 : tp.be1).counters();
    ASSERT_EQ(counted.size(), real.size());
    for (const auto& [kernel, k] : real) {
      SCOPED_TRACE(kernel);
      ASSERT_TRUE(counted.count(kernel));
      EXPECT_EQ(counted[kernel].calls, k.calls);
      EXPECT_EQ(counted[kernel].elements, k.elements);
    }
  }
}

mpc::ProtocolOptions opts(const mpc::RingConfig& r, mpc::TruncMode t, mpc::CompareMode c, mpc::CompareBits bits = {}) {
  mpc::ProtocolOptions o;
  o.trunc_bound_bits = std::min(r.bits - 2, 2 * r.frac + 12);
  o.trunc = t;
  o.compare = c;
  o.compare_bits = bits;
  return o;
}

std::vector<Case> cases(const mpc::RingConfig& r) {
  using D = mpc::Dealer;
  using S = mpc::MaterialStore;
  const size_t n = 130;  // two full bit-sliced words and a partial one
  const int f = r.frac;
  std::vector<Case> v;
  const auto E = mpc::TruncMode::Exact, P = mpc::TruncMode::Prob, F = mpc::TruncMode::Fss;
  const auto G = mpc::CompareMode::Gmw, Fc = mpc::CompareMode::Fss;
  v.push_back({"mul", mpc::ProtocolOptions(), nullptr, nullptr, [=](D& d, S& a, S& b) { mpc::deal_mul(d, n, "m", a, b); },
               [=](mpc::Session& s, auto in) { mpc::mul(s, in(n), in(n), "m"); }});
  v.push_back({"square", mpc::ProtocolOptions(), nullptr, nullptr, [=](D& d, S& a, S& b) { mpc::deal_square(d, n, "q", a, b); },
               [=](mpc::Session& s, auto in) { mpc::square(s, in(n), "q"); }});
  v.push_back({"b2a", mpc::ProtocolOptions(), nullptr, nullptr, [=](D& d, S& a, S& b) { mpc::deal_b2a(d, n, "b", a, b); },
               [=](mpc::Session& s, auto in) { mpc::b2a(s, in(mpc::words_for_bits(n)), n, "b"); }});
  for (const auto t : {E, P, F, mpc::TruncMode::Slack}) {
    const mpc::ProtocolOptions o = opts(r, t, G);
    v.push_back({std::string("trunc ") + mpc::trunc_mode_name(t), o, {}, {},
                 [=](D& d, S& a, S& b) { mpc::deal_trunc(d, n, f, o, "t", a, b); },
                 [=](mpc::Session& s, auto in) { mpc::trunc(s, in(n), f, "t"); }});
  }
  for (const auto c : {G, Fc})
    for (const mpc::CompareBits bits : {mpc::CompareBits{}, mpc::CompareBits{3, r.bits - 2}}) {
      const mpc::ProtocolOptions o = opts(r, E, c, bits);
      const std::string how = std::string(mpc::compare_mode_name(c)) + " " + mpc::compare_bits_name(bits);
      v.push_back({"drelu " + how, o, {}, {}, [=](D& d, S& a, S& b) { mpc::deal_drelu(d, n, o, "c", a, b); },
                   [=](mpc::Session& s, auto in) { mpc::drelu(s, in(n), "c"); }});
      v.push_back({"relu " + how, o, {}, {}, [=](D& d, S& a, S& b) { mpc::deal_relu(d, n, o, "c", a, b); },
                   [=](mpc::Session& s, auto in) { mpc::relu(s, in(n), "c"); }});
      v.push_back({"max " + how, o, {}, {}, [=](D& d, S& a, S& b) { mpc::deal_max(d, n, o, "c", a, b); },
                   [=](mpc::Session& s, auto in) { mpc::max(s, in(n), in(n), "c"); }});
      v.push_back({"argmax " + how, o, {}, {}, [=](D& d, S& a, S& b) { mpc::deal_argmax(d, 13, 10, o, "am", a, b); },
                   [=](mpc::Session& s, auto in) { mpc::argmax(s, in(130), 13, 10, "am"); }});
    }
  // Polynomials: per-model masks, opened coefficients (setup), then the gate.
  const mpc::PolyShape shape{2, 5, 13};
  const auto coeffs = [shape](int party) {
    mpc::PolyCoeffs c;
    if (party == 0) c.a2 = c.a1 = c.a0 = Words(shape.channels, 3);
    c.coef_frac = 8;
    return c;
  };
  auto setup = std::make_shared<mpc::PolySetup>();
  for (const auto t : {E, P, F}) {
    const mpc::ProtocolOptions o = opts(r, t, G);
    v.push_back({std::string("poly ") + mpc::trunc_mode_name(t), o,
                 [shape](D& d, S& a, S& b) { mpc::deal_poly_setup(d, shape.channels, "p", a, b); },
                 [shape, coeffs, setup](mpc::Session& s) { *setup = mpc::poly_setup(s, coeffs(s.party), shape.channels, "p"); },
                 [shape, o](D& d, S& a, S& b) { mpc::deal_poly(d, shape, 8, o, "p", a, b); },
                 [shape, coeffs, setup](mpc::Session& s, auto in) {
                   mpc::poly(s, in(shape.size()), shape, coeffs(s.party), *setup, "p");
                 }});
  }
  v.push_back({"trunc_poly", opts(r, F, G), [shape](D& d, S& a, S& b) { mpc::deal_poly_setup(d, shape.channels, "p", a, b); },
               [shape, coeffs, setup](mpc::Session& s) { *setup = mpc::poly_setup(s, coeffs(s.party), shape.channels, "p"); },
               [shape, f](D& d, S& a, S& b) { mpc::deal_trunc_poly(d, shape, f, "p", a, b); },
               [shape, coeffs, setup, f](mpc::Session& s, auto in) {
                 mpc::trunc_poly(s, in(shape.size()), f, shape, coeffs(s.party), *setup, "p");
               }});
  // Matmul with its per-model weight mask (identity lowering: X is k x cols).
  const size_t m = 3, k = 4, cols = 7;
  const mpc::Lowering identity = [](const Words& x) { return x; };
  auto e_w = std::make_shared<Words>();
  v.push_back({"matmul", mpc::ProtocolOptions(), [=](D& d, S& a, S& b) { mpc::deal_matmul_setup(d, m, k, "w", a, b); },
               [=](mpc::Session& s) { *e_w = mpc::matmul_setup(s, s.party == 0 ? Words(m * k, 2) : Words(), m, k, "w"); },
               [=](D& d, S& a, S& b) { mpc::deal_matmul(d, m, k, cols, k * cols, identity, "w", a, b); },
               [=](mpc::Session& s, auto in) { mpc::matmul(s, in(k * cols), *e_w, m, k, cols, identity, "w"); }});
  // Ring extension and reduction (explicit widths; the session's ring is not used).
  const int l = r.bits;
  v.push_back({"ring_reduce", mpc::ProtocolOptions(), nullptr, nullptr,
               [=](D& d, S& a, S& b) { mpc::deal_ring_reduce(d, n, l, 8, "rr", a, b); },
               [=](mpc::Session& s, auto in) { mpc::ring_reduce(s, in(n), l, 8, "rr"); }});
  for (const auto c : {G, Fc}) {
    const mpc::ProtocolOptions o = opts(r, E, c);
    const std::string how = mpc::compare_mode_name(c);
    v.push_back({"trunc_reduce " + how, o, nullptr, nullptr,
                 [=](D& d, S& a, S& b) { mpc::deal_trunc_reduce(d, n, l, f, o, "tr", a, b); },
                 [=](mpc::Session& s, auto in) { mpc::trunc_reduce(s, in(n), l, f, "tr"); }});
    v.push_back({"sign_extend " + how, o, nullptr, nullptr,
                 [=](D& d, S& a, S& b) { mpc::deal_sign_extend(d, n, 16, l, o, "se", a, b); },
                 [=](mpc::Session& s, auto in) { mpc::sign_extend(s, in(n), 16, l, "se"); }});
  }
  // Asymmetric messages: only one party sends.
  v.push_back({"reveal_to P1", mpc::ProtocolOptions(), nullptr, nullptr, [](D&, S&, S&) {},
               [=](mpc::Session& s, auto in) { mpc::reveal_to(s, in(n), 1); }});
  return v;
}

}  // namespace

class CountingTest : public ::testing::TestWithParam<int> {};

TEST_P(CountingTest, EveryProtocolCountedEqualsItsRealRunForEachParty) {
  const mpc::RingConfig r{GetParam(), GetParam() >= 32 ? 12 : 3};
  for (const Case& c : cases(r)) expect_counted_equals_real(r, c);
}

INSTANTIATE_TEST_SUITE_P(Rings, CountingTest, ::testing::Values(64, 32, 17));

TEST(Counting, CostFunctionsAreTheCountedRun) {
  const mpc::RingConfig r{64, 12};
  mpc::ProtocolOptions o;
  o.trunc = mpc::TruncMode::Fss;
  o.compare = mpc::CompareMode::Fss;
  mpc::CountingSession cs(r, o, 0);
  mpc::relu(cs.session(), Words(1000), "x");
  const mpc::Counted c = cs.result();
  const mpc::Cost cost = mpc::relu_cost(r, o, 1000, "x");
  EXPECT_EQ(c.cost().bytes, cost.bytes);
  EXPECT_EQ(c.cost().rounds, cost.rounds);
  EXPECT_EQ(c.cost().offline_bytes, cost.offline_bytes);
  // The FSS ReLU as Boyle et al. (EUROCRYPT'21) state it: open x + r_in, then one bit.
  EXPECT_EQ(cost.bytes, 1000u * 8 + 8 * mpc::words_for_bits(1000));
  EXPECT_EQ(cost.rounds, 2u);
  // Key generation behind the DCF evaluation: 4 AES blocks per level per key pair.
  EXPECT_EQ(c.keygen_aes_blocks, 4u * 1000 * 63);
  ASSERT_EQ(c.calls.size(), 1u);
  EXPECT_EQ(c.calls[0].kernel, "dcf_eval");
  EXPECT_EQ(c.calls[0].shift, 63);
  EXPECT_EQ(c.calls[0].n, 1000u);
}

TEST(Counting, StartForgetsTheSetup) {
  const mpc::RingConfig r{64, 12};
  mpc::CountingSession cs(r, {}, 0);
  mpc::MaterialStore other(1);
  mpc::deal_matmul_setup(cs.setup_dealer(), 2, 3, "w", cs.material(), other);
  const Words e = mpc::matmul_setup(cs.session(), Words(6, 1), 2, 3, "w");
  EXPECT_GT(cs.result().bytes, 0u);
  cs.start();
  EXPECT_EQ(cs.result().bytes, 0u);
  EXPECT_EQ(cs.result().rounds, 0u);
  const mpc::Lowering id = [](const Words& x) { return x; };
  mpc::matmul(cs.session(), Words(15), e, 2, 3, 5, id, "w");
  const mpc::Counted c = cs.result();
  EXPECT_EQ(c.bytes, 15u * 8);
  EXPECT_EQ(c.rounds, 1u);
  EXPECT_EQ(c.material_words, 15u + 2 * 5);  // [B | C]
  ASSERT_EQ(c.calls.size(), 1u);
  EXPECT_EQ(c.calls[0].m, 2u);
  EXPECT_EQ(c.calls[0].k, 3u);
  EXPECT_EQ(c.calls[0].cols, 5u);
}

TEST(Counting, TheCountingStoreHandsOutZerosAndHoldsNoItems) {
  mpc::MaterialStore m = mpc::MaterialStore::counting(1);
  EXPECT_TRUE(m.is_counting());
  EXPECT_EQ(m.take(mpc::MaterialKind::BeaverTriple, 9, "x"), Words(9, 0));
  EXPECT_TRUE(m.take(mpc::MaterialKind::DcfKeys, 130, "k").empty());  // keys: counted, not held
  EXPECT_EQ(m.consumed_words(), 139u);
  EXPECT_THROW(m.push(mpc::MaterialKind::BeaverTriple, "x", Words(3)), mpc::InvalidArgument);
  EXPECT_FALSE(mpc::MaterialStore(0).is_counting());
}

TEST(Opening, ArithmeticAndBooleanSharesOpenInOneRound) {
  TwoParty tp(mpc::RingConfig{17, 3});
  Words a0 = {1, 2, 3}, a1 = {5, 131071, 7}, b0 = {0xF0F0}, b1 = {0x0FF0};
  Words got_a, got_b;
  tp.run([&](mpc::Session& s) {
    mpc::Opening op(s);
    const size_t sa = op.arith(s.party == 0 ? a0 : a1);
    const size_t sb = op.boolean(s.party == 0 ? b0 : b1);
    EXPECT_THROW(op.opened(sa), mpc::InvalidArgument);
    op.exchange();
    EXPECT_THROW(op.exchange(), mpc::InvalidArgument);
    EXPECT_THROW(op.opened(7), mpc::InvalidArgument);
    if (s.party == 1) {
      got_a = op.opened(sa);
      got_b = op.opened(sb);
    }
  });
  EXPECT_EQ(got_a, (Words{6, 1, 10}));  // mod 2^17
  EXPECT_EQ(got_b, Words{0xFF00});
  for (int p = 0; p < 2; ++p) {
    EXPECT_EQ(tp.stats(p).rounds, 1u);
    EXPECT_EQ(tp.stats(p).bytes_sent, (3u * 17 + 7) / 8 + 8);  // 17 bits per element, bit-packed; 8 per word
  }
}
