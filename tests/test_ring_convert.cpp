// Ring extension and reduction (issue 13 "per-layer rings"): reduce, truncate-reduce and
// sign extension between Z_{2^l} and Z_{2^l'} (mpc/src/ring_convert.cpp), each against its
// plaintext twin at the ring boundaries l, l' in {8, 16, 32, 63, 64} (and a few others) on
// 0, +-1, +-2^(l-2), the extremes and random values, with the carry bit by FSS (DCF) and by
// GMW (carry tree); inputs that put the opened values on the DCF's mask boundaries; counted
// cost = the measured wire, material and key generation; used-twice, wrong-kind, truncated,
// other-width and other-protocol material; out-of-range widths; material files; CPU backend.
#include <gtest/gtest.h>

#include <exception>
#include <string>
#include <thread>
#include <vector>

#include "polympc/cpu/cpu_backend.h"
#include "polympc/mpc/counting.h"
#include "polympc/mpc/dcf.h"
#include "polympc/mpc/plaintext.h"
#include "two_party.h"

using namespace polympc;
using mpc::Words;
using polympc::testing::TwoParty;

namespace {

uint64_t mask_of(int bits) { return mpc::RingConfig{bits, 0}.mask(); }

/// Signed values that fit `fit` bits (-2^(fit-1) <= v < 2^(fit-1)) as words of Z_{2^l}:
/// 0, +-1, +-2, +-2^(l-2) and +-2^(fit-2) where they fit, the extremes, and random values
/// of every magnitude.
Words values(int l, int fit, mpc::Prg& prg, size_t n_random) {
  const mpc::RingConfig r{l, 0}, f{fit, 0};
  std::vector<int64_t> v = {0, 1, -1, 2, -2, f.max_signed(), f.min_signed(), f.max_signed() - 1, f.min_signed() + 1};
  for (int e : {l - 2, fit - 2, fit - 3}) {
    if (e < 0 || e > fit - 2) continue;
    const int64_t p = int64_t{1} << e;
    for (int64_t d : {int64_t{0}, int64_t{1}, int64_t{-1}}) {
      v.push_back(p + d);
      v.push_back(-p + d);
    }
  }
  for (size_t i = 0; i < n_random; ++i) {
    const int mag = 1 + static_cast<int>(i % static_cast<size_t>(fit));  // 1 .. fit bits
    const uint64_t u = prg.next_u64();
    v.push_back(f.to_signed(u >> (64 - mag)));
  }
  Words w;
  for (int64_t s : v) w.push_back(r.from_signed(s));
  return w;
}

Words recon(const Words& a, const Words& b, int bits) {
  Words z(a.size());
  for (size_t i = 0; i < a.size(); ++i) z[i] = (a[i] + b[i]) & mask_of(bits);
  return z;
}

/// Both parties' wire in `phase` equals the counted cost.
void expect_wire(TwoParty& tp, const mpc::Cost& c, const std::string& phase) {
  for (int p = 0; p < 2; ++p) {
    EXPECT_EQ(tp.stats(p, phase).bytes_sent, c.bytes) << "party " << p << " " << phase;
    EXPECT_EQ(tp.stats(p, phase).rounds, c.rounds) << "party " << p << " " << phase;
  }
}

enum class Gate { Reduce, TruncReduce, SignExtend };

struct Case {
  Gate gate;
  int from, to;  ///< widths; truncate-reduce: shift = from - to
  mpc::CompareMode mode = mpc::CompareMode::Fss;  ///< the carry / wrap bit's protocol (not for reduce)
  std::string name() const {
    const char* g = gate == Gate::Reduce ? "Reduce" : gate == Gate::TruncReduce ? "TruncReduce" : "SignExtend";
    std::string s = std::string(g) + "_" + std::to_string(from) + "_to_" + std::to_string(to);
    if (gate != Gate::Reduce) s += mode == mpc::CompareMode::Gmw ? "_gmw" : "_fss";
    return s;
  }
  mpc::ProtocolOptions options() const {
    mpc::ProtocolOptions o;
    o.compare = mode;
    return o;
  }
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name(); }

void deal(TwoParty& tp, const Case& c, size_t n, const std::string& tag) {
  switch (c.gate) {
    case Gate::Reduce:
      mpc::deal_ring_reduce(tp.dealer, n, c.from, c.to, tag, tp.m0, tp.m1);
      break;
    case Gate::TruncReduce:
      mpc::deal_trunc_reduce(tp.dealer, n, c.from, c.from - c.to, c.options(), tag, tp.m0, tp.m1);
      break;
    case Gate::SignExtend:
      mpc::deal_sign_extend(tp.dealer, n, c.from, c.to, c.options(), tag, tp.m0, tp.m1);
      break;
  }
}
Words online(mpc::Session& s, const Case& c, const Words& x, const std::string& tag) {
  switch (c.gate) {
    case Gate::Reduce:
      return mpc::ring_reduce(s, x, c.from, c.to, tag);
    case Gate::TruncReduce:
      return mpc::trunc_reduce(s, x, c.from, c.from - c.to, tag);
    case Gate::SignExtend:
      return mpc::sign_extend(s, x, c.from, c.to, tag);
  }
  return {};
}
Words twin(const Case& c, const Words& x) {
  switch (c.gate) {
    case Gate::Reduce:
      return mpc::plain::ring_reduce(x, c.from, c.to);
    case Gate::TruncReduce:
      return mpc::plain::trunc_reduce(x, c.from, c.from - c.to);
    case Gate::SignExtend:
      return mpc::plain::sign_extend(x, c.from, c.to);
  }
  return {};
}
mpc::Cost cost(const Case& c, size_t n) {
  switch (c.gate) {
    case Gate::Reduce:
      return mpc::ring_reduce_cost(n, c.from, c.to);
    case Gate::TruncReduce:
      return mpc::trunc_reduce_cost(c.options(), n, c.from, c.from - c.to);
    case Gate::SignExtend:
      return mpc::sign_extend_cost(c.options(), n, c.from, c.to);
  }
  return {};
}
/// Bits whose carry the gate computes: the shift (truncate-reduce), l (sign extension), 0.
int carry_bits(const Case& c) {
  return c.gate == Gate::Reduce ? 0 : c.gate == Gate::TruncReduce ? c.from - c.to : c.from;
}
/// DCF depth of the gate (0: no DCF).
int dcf_depth(const Case& c) { return c.mode == mpc::CompareMode::Fss ? carry_bits(c) : 0; }
int ceil_log2(int k) {
  int r = 0;
  while ((1 << r) < k) ++r;
  return r;
}

/// Runs the gate on shares of x (mod 2^from) for both parties; returns the opened result.
Words run_gate(TwoParty& tp, const Case& c, const Words& x, const std::string& tag) {
  auto [x0, x1] = tp.dealer.share_arith(x, c.from);
  Words y0, y1;
  tp.run([&](mpc::Session& s) {
    mpc::PhaseScope ps(s.channel, tag);
    (s.party == 0 ? y0 : y1) = online(s, c, s.party == 0 ? x0 : x1, tag);
  });
  for (uint64_t v : y0) EXPECT_EQ(v & ~mask_of(c.to), 0u) << "P0 share above 2^" << c.to;
  for (uint64_t v : y1) EXPECT_EQ(v & ~mask_of(c.to), 0u) << "P1 share above 2^" << c.to;
  return recon(y0, y1, c.to);
}

class RingConvert : public ::testing::TestWithParam<Case> {};

}  // namespace

// ---- the twins on their own ---------------------------------------------------------------------
TEST(RingConvertTwin, KnownValues) {
  const mpc::RingConfig r16{16, 0}, r8{8, 0}, r64{64, 0}, r12{12, 0};
  // Reduce keeps the low bits: the signed value survives when it fits.
  EXPECT_EQ(mpc::plain::ring_reduce({r16.from_signed(-3), r16.from_signed(127), 0x1234}, 16, 8),
            (Words{r8.from_signed(-3), 127, 0x34}));
  // Truncate-reduce: floor division of the signed value, in the smaller ring.
  EXPECT_EQ(mpc::plain::trunc_reduce({r16.from_signed(-1), r16.from_signed(-16), r16.from_signed(-17),
                                      r16.from_signed(17), r16.from_signed(-32768), r16.from_signed(32767)},
                                     16, 4),
            (Words{r12.from_signed(-1), r12.from_signed(-1), r12.from_signed(-2), 1, r12.from_signed(-2048), 2047}));
  // Sign extension: the same signed value in the wider ring.
  EXPECT_EQ(mpc::plain::sign_extend({r8.from_signed(-128), 127, r8.from_signed(-1), 0}, 8, 64),
            (Words{r64.from_signed(-128), 127, ~uint64_t{0}, 0}));
  // Extending then reducing is the identity; reducing by truncation then extending is the shift.
  const Words x = {r16.from_signed(-12345), 23456, r16.from_signed(-1)};
  EXPECT_EQ(mpc::plain::ring_reduce(mpc::plain::sign_extend(x, 16, 63), 63, 16), x);
  EXPECT_EQ(mpc::plain::sign_extend(mpc::plain::trunc_reduce(x, 16, 3), 13, 16), mpc::plain::trunc(r16, x, 3));
}

// ---- each gate against its twin, cost by counting = measured --------------------------------------
TEST_P(RingConvert, EqualsTheTwinAndTheCountedCost) {
  const Case c = GetParam();
  TwoParty tp(mpc::RingConfig{}, c.options(), 11 + static_cast<uint64_t>(c.from * 100 + c.to));
  // Reduce is correct on the values that fit the smaller ring; the other two on the whole ring.
  const int fit = c.gate == Gate::Reduce ? c.to : c.from;
  const Words x = values(c.from, fit, tp.prg, 300);
  const size_t n = x.size();
  deal(tp, c, n, "conv");
  const uint64_t dealt_words = tp.m0.remaining_words();
  EXPECT_EQ(tp.m1.remaining_words(), dealt_words);
  const Words y = run_gate(tp, c, x, "conv");
  EXPECT_EQ(y, twin(c, x));
  if (c.gate != Gate::TruncReduce) {  // the signed value is preserved (reduce: it fits)
    const mpc::RingConfig in{c.from, 0}, out{c.to, 0};
    for (size_t j = 0; j < n; ++j) ASSERT_EQ(out.to_signed(y[j]), in.to_signed(x[j])) << j;
  }
  EXPECT_EQ(tp.m0.remaining() + tp.m1.remaining(), 0u);
  // Counted = measured: both parties' wire, the material the dealer pushed, the DCF keygen.
  const mpc::Cost k = cost(c, n);
  expect_wire(tp, k, "conv");
  EXPECT_EQ(k.offline_bytes, 8 * dealt_words);
  EXPECT_EQ(k.keygen_aes_blocks, mpc::dcf_keygen_aes_blocks(n, dcf_depth(c)));
  // And as protocols.h / docs/protocols.md state them.
  const size_t w = mpc::words_for_bits(n);
  if (c.gate == Gate::Reduce) {
    EXPECT_EQ(k.bytes, 0u);
    EXPECT_EQ(k.rounds, 0u);
    EXPECT_EQ(k.offline_bytes, 0u);
  } else if (c.mode == mpc::CompareMode::Fss) {
    EXPECT_EQ(k.rounds, 2u);
    EXPECT_EQ(k.bytes, mpc::wire_bytes(n, c.from) + 8 * w);
    const size_t masks = c.gate == Gate::TruncReduce ? 1 + 2 * n + w : 1 + n;
    EXPECT_EQ(k.offline_bytes, 8 * (n * mpc::dcf_key_words(dcf_depth(c)) + masks + w + n));
  } else {  // GMW: input ANDs, ceil(log2 k) tree levels, B2A
    EXPECT_EQ(k.rounds, 2u + static_cast<uint64_t>(ceil_log2(carry_bits(c))));
  }
}

std::vector<Case> boundary_cases() {
  std::vector<Case> v;
  for (auto [from, to] : {std::pair{64, 63}, std::pair{64, 32}, std::pair{64, 16}, std::pair{64, 8}, std::pair{63, 32},
                          std::pair{63, 8}, std::pair{32, 16}, std::pair{32, 8}, std::pair{16, 8}})
    v.push_back(Case{Gate::Reduce, from, to});
  for (const auto mode : {mpc::CompareMode::Fss, mpc::CompareMode::Gmw}) {
    for (auto [from, to] : {std::pair{64, 63}, std::pair{64, 52}, std::pair{64, 32}, std::pair{64, 16}, std::pair{64, 8},
                            std::pair{63, 32}, std::pair{63, 16}, std::pair{63, 8}, std::pair{32, 16}, std::pair{32, 8},
                            std::pair{16, 8}, std::pair{9, 8}})
      v.push_back(Case{Gate::TruncReduce, from, to, mode});
    for (auto [from, to] : {std::pair{8, 16}, std::pair{8, 32}, std::pair{8, 63}, std::pair{8, 64}, std::pair{16, 32},
                            std::pair{16, 63}, std::pair{16, 64}, std::pair{32, 63}, std::pair{32, 64}, std::pair{63, 64},
                            std::pair{8, 9}})
      v.push_back(Case{Gate::SignExtend, from, to, mode});
  }
  return v;
}

INSTANTIATE_TEST_SUITE_P(Boundaries, RingConvert, ::testing::ValuesIn(boundary_cases()),
                         [](const ::testing::TestParamInfo<Case>& i) { return i.param.name(); });

// ---- the mask boundaries ---------------------------------------------------------------------------
// Inputs chosen from the dealer's actual mask r so that the opened value sits on the DCF's
// boundary: for sign extension uh = u + r in {r - 1, r, r + 1, 0, 1, 2^l - 1, 2^(l-1)}; for
// truncate-reduce xh = x + r with xh mod 2^s equal to, just below and just above r mod 2^s,
// -r mod 2^s, 0 and 2^s - 1. The material is read and put back in the same order.
TEST(RingConvertMask, OpenedValuesOnTheDcfBoundaryEqualTheTwin) {
  for (const Case c : {Case{Gate::SignExtend, 8, 64}, Case{Gate::SignExtend, 32, 63}, Case{Gate::SignExtend, 63, 64},
                       Case{Gate::TruncReduce, 64, 52}, Case{Gate::TruncReduce, 16, 8},
                       Case{Gate::TruncReduce, 63, 8}}) {
    TwoParty tp(mpc::RingConfig{}, c.options(), 5 + static_cast<uint64_t>(c.from));
    const size_t n = 7 * 20, w = mpc::words_for_bits(n);
    deal(tp, c, n, "mask");
    const int depth = dcf_depth(c);
    const size_t kw = mpc::dcf_key_words(depth);
    const mpc::MaterialKind kind =
        c.gate == Gate::SignExtend ? mpc::MaterialKind::SignExtendMasks : mpc::MaterialKind::TruncReduceMasks;
    const size_t mw = c.gate == Gate::SignExtend ? 1 + n : 1 + 2 * n + w;
    Words r(n);
    for (mpc::MaterialStore* m : {&tp.m0, &tp.m1}) {
      Words keys = m->take(mpc::MaterialKind::DcfKeys, n * kw, "t");
      Words masks = m->take(kind, mw, "t");
      Words pair = m->take(mpc::MaterialKind::B2APair, w + n, "t");
      for (size_t j = 0; j < n; ++j) r[j] += masks[1 + j];
      m->push(mpc::MaterialKind::DcfKeys, "mask/dcf", keys);
      m->push(kind, "mask", masks);
      m->push(mpc::MaterialKind::B2APair, "mask/x", pair);
    }
    const uint64_t ml = mask_of(c.from), half = uint64_t{1} << (c.from - 1);
    Words x(n);
    for (size_t j = 0; j < n; ++j) {
      const uint64_t rj = r[j] & ml;
      if (c.gate == Gate::SignExtend) {
        const uint64_t target[] = {rj - 1, rj, rj + 1, 0, 1, ml, half};
        x[j] = (target[j % 7] - rj - half) & ml;  // uh = x + 2^(l-1) + r = target
      } else {
        const int s = depth;
        // The DCF compares xh mod 2^s with r mod 2^s (alpha = 2^s - (-r mod 2^s)).
        const uint64_t low = (uint64_t{1} << s) - 1, rl = rj & low, vl = (uint64_t{0} - rj) & low;
        const uint64_t hi = (j * 0x9e3779b97f4a7c15ULL) & ml & ~low;
        const uint64_t target[] = {hi | rl, hi | ((rl - 1) & low), hi | ((rl + 1) & low), hi | vl, hi, hi | low, ml};
        x[j] = (target[j % 7] - rj) & ml;  // xh = x + r = target
      }
    }
    EXPECT_EQ(run_gate(tp, c, x, "mask"), twin(c, x)) << c.name();
  }
}

// ---- chained, in a session whose own ring is neither width ---------------------------------------
TEST(RingConvertChain, ExtendTruncateReduceEqualsTheChainedTwins) {
  for (const auto mode : {mpc::CompareMode::Fss, mpc::CompareMode::Gmw}) {
  SCOPED_TRACE(mpc::compare_mode_name(mode));
  mpc::ProtocolOptions o;
  o.compare = mode;
  TwoParty tp(mpc::RingConfig{32, 8}, o, 21);
  const Words x = values(16, 16, tp.prg, 200);
  const size_t n = x.size();
  // 16 -> 64 (sign extension), 64 -> 52 (truncate-reduce by 12), 52 -> 24 (reduce).
  mpc::deal_sign_extend(tp.dealer, n, 16, 64, o, "ext", tp.m0, tp.m1);
  mpc::deal_trunc_reduce(tp.dealer, n, 64, 12, o, "tr", tp.m0, tp.m1);
  mpc::deal_ring_reduce(tp.dealer, n, 52, 24, "red", tp.m0, tp.m1);
  auto [x0, x1] = tp.dealer.share_arith(x, 16);
  Words z0, z1;
  tp.run([&](mpc::Session& s) {
    Words v = mpc::sign_extend(s, s.party == 0 ? x0 : x1, 16, 64, "ext");
    v = mpc::trunc_reduce(s, v, 64, 12, "tr");
    (s.party == 0 ? z0 : z1) = mpc::ring_reduce(s, v, 52, 24, "red");
  });
  const Words want = mpc::plain::ring_reduce(mpc::plain::trunc_reduce(mpc::plain::sign_extend(x, 16, 64), 64, 12), 52, 24);
  EXPECT_EQ(recon(z0, z1, 24), want);
  // FSS: 2 + 2 rounds; GMW: (2 + log2 16) + (2 + ceil(log2 12)).
  EXPECT_EQ(tp.stats(0).rounds, mode == mpc::CompareMode::Fss ? 4u : 12u);
  // floor(x / 2^12) of a 16-bit value, read back as signed 24 bits.
  const mpc::RingConfig r16{16, 0}, r24{24, 0};
  for (size_t j = 0; j < n; ++j) ASSERT_EQ(r24.to_signed(want[j]), r16.to_signed(x[j]) >> 12) << j;
  EXPECT_EQ(tp.m0.remaining() + tp.m1.remaining(), 0u);
  }
}

// ---- material ---------------------------------------------------------------------------------------
TEST(RingConvertMaterial, UsedTwiceWrongKindTruncatedAndOtherWidthsAreClearErrors) {
  const Words x = {1, 2, 3, 0xff};
  const size_t n = x.size();
  auto expect_material_error = [](TwoParty& tp, const std::function<void(mpc::Session&)>& f,
                                  const std::vector<std::string>& words) {
    try {
      tp.run(f);
      ADD_FAILURE() << "material accepted";
    } catch (const mpc::MaterialError& e) {
      for (const std::string& wd : words) EXPECT_NE(std::string(e.what()).find(wd), std::string::npos) << e.what();
    }
  };
  using Run = std::function<void(mpc::Session&)>;
  auto ext = [&](int from, int to) -> Run {
    return [&, from, to](mpc::Session& s) { mpc::sign_extend(s, x, from, to, "ext"); };
  };
  auto tr = [&](int from, int shift) -> Run {
    return [&, from, shift](mpc::Session& s) { mpc::trunc_reduce(s, x, from, shift, "tr"); };
  };
  mpc::ProtocolOptions fss, gmw;
  fss.compare = mpc::CompareMode::Fss;
  gmw.compare = mpc::CompareMode::Gmw;
  for (const mpc::ProtocolOptions& o : {fss, gmw}) {  // used twice: the store is exhausted, nothing is sent
    SCOPED_TRACE(mpc::compare_mode_name(o.compare));
    TwoParty tp(mpc::RingConfig{}, o);
    mpc::deal_sign_extend(tp.dealer, n, 16, 32, o, "ext", tp.m0, tp.m1);
    tp.run(ext(16, 32));
    const uint64_t rounds = tp.stats(0).rounds;
    expect_material_error(tp, ext(16, 32), {"exhausted", "ext"});
    EXPECT_EQ(tp.stats(0).rounds, rounds);
    mpc::deal_trunc_reduce(tp.dealer, n, 32, 8, o, "tr", tp.m0, tp.m1);
    tp.run(tr(32, 8));
    expect_material_error(tp, tr(32, 8), {"exhausted", "tr"});
  }
  {  // wrong kind: sign-extension material for a truncate-reduce and the reverse (same DCF depth)
    TwoParty tp(mpc::RingConfig{}, fss);
    mpc::deal_sign_extend(tp.dealer, n, 16, 32, fss, "ext", tp.m0, tp.m1);
    expect_material_error(tp, tr(64, 16), {"out of step", "truncate-reduce masks", "sign-extension masks"});
    TwoParty tp2(mpc::RingConfig{}, fss);
    mpc::deal_trunc_reduce(tp2.dealer, n, 64, 16, fss, "tr", tp2.m0, tp2.m1);
    expect_material_error(tp2, ext(16, 32), {"out of step", "sign-extension masks", "truncate-reduce masks"});
    TwoParty tp3(mpc::RingConfig{}, fss);  // a Beaver triple where the DCF keys should be
    mpc::deal_mul(tp3.dealer, n, "mul", tp3.m0, tp3.m1);
    expect_material_error(tp3, ext(16, 32), {"out of step", "DCF keys", "Beaver triple"});
    TwoParty tp4(mpc::RingConfig{}, gmw);  // GMW: the same for its header item
    mpc::deal_trunc_reduce(tp4.dealer, n, 64, 16, gmw, "tr", tp4.m0, tp4.m1);
    expect_material_error(tp4, ext(16, 32), {"out of step", "sign-extension masks", "truncate-reduce masks"});
  }
  {  // dealt for one protocol, run with the other
    TwoParty tp(mpc::RingConfig{}, gmw);
    mpc::deal_sign_extend(tp.dealer, n, 16, 32, fss, "ext", tp.m0, tp.m1);
    expect_material_error(tp, ext(16, 32), {"out of step", "sign-extension masks", "DCF keys"});
    TwoParty tp2(mpc::RingConfig{}, fss);
    mpc::deal_trunc_reduce(tp2.dealer, n, 32, 8, gmw, "tr", tp2.m0, tp2.m1);
    expect_material_error(tp2, tr(32, 8), {"out of step", "DCF keys", "truncate-reduce masks"});
  }
  {  // truncated DCF keys
    for (const bool sign : {true, false}) {
      TwoParty tp(mpc::RingConfig{}, fss);
      const int depth = sign ? 16 : 8;
      if (sign)
        mpc::deal_sign_extend(tp.dealer, n, 16, 32, fss, "ext", tp.m0, tp.m1);
      else
        mpc::deal_trunc_reduce(tp.dealer, n, 32, 8, fss, "tr", tp.m0, tp.m1);
      for (mpc::MaterialStore* m : {&tp.m0, &tp.m1}) {
        Words keys = m->take(mpc::MaterialKind::DcfKeys, n * mpc::dcf_key_words(depth), "t");
        std::vector<mpc::MaterialItem> rest;
        while (m->peek() != nullptr) {
          rest.push_back(*m->peek());
          m->take(rest.back().kind, rest.back().words.size(), "t");
        }
        keys.resize(keys.size() - 3);
        m->push(mpc::MaterialKind::DcfKeys, "x/dcf", keys);
        for (auto& it : rest) m->push(it.kind, it.tag, it.words);
      }
      expect_material_error(tp, sign ? ext(16, 32) : tr(32, 8), {"DCF keys", "depth " + std::to_string(depth)});
    }
  }
  for (const mpc::ProtocolOptions& o : {fss, gmw}) {
    // Dealt for other widths with the same sizes: refused by the header, before any opening.
    SCOPED_TRACE(mpc::compare_mode_name(o.compare));
    const std::string how = o.compare == mpc::CompareMode::Gmw ? " (GMW)" : " (FSS)";
    TwoParty tp(mpc::RingConfig{}, o);
    mpc::deal_sign_extend(tp.dealer, n, 16, 32, o, "ext", tp.m0, tp.m1);
    expect_material_error(tp, ext(16, 64), {"dealt for l = 16 -> 32 bits" + how, "used for l = 16 -> 64 bits" + how});
    EXPECT_EQ(tp.stats(0).rounds, 0u);
    TwoParty tp2(mpc::RingConfig{}, o);
    mpc::deal_trunc_reduce(tp2.dealer, n, 64, 8, o, "tr", tp2.m0, tp2.m1);
    expect_material_error(tp2, tr(32, 8), {"dealt for l = 64 -> 56 bits, shift 8" + how, "used for l = 32 -> 24"});
    EXPECT_EQ(tp2.stats(0).rounds, 0u);
  }
  {  // another shift: the DCF depth differs
    TwoParty tp(mpc::RingConfig{}, fss);
    mpc::deal_trunc_reduce(tp.dealer, n, 32, 8, fss, "tr", tp.m0, tp.m1);
    expect_material_error(tp, tr(32, 9), {"DCF keys", "depth 9"});
  }
}

TEST(RingConvertMaterial, PreprocessingFilesCarryTheNewKinds) {
  for (const auto mode : {mpc::CompareMode::Fss, mpc::CompareMode::Gmw}) {
    mpc::ProtocolOptions o;
    o.compare = mode;
    TwoParty tp(mpc::RingConfig{}, o);
    const Words x = values(32, 32, tp.prg, 100);
    const size_t n = x.size();
    mpc::deal_sign_extend(tp.dealer, n, 32, 64, o, "ext", tp.m0, tp.m1);
    mpc::deal_trunc_reduce(tp.dealer, n, 64, 20, o, "tr", tp.m0, tp.m1);
    polympc::testing::reload_through_files(tp, std::string("ring_convert_") + mpc::compare_mode_name(mode));
    auto [x0, x1] = tp.dealer.share_arith(x, 32);
    Words z0, z1;
    tp.run([&](mpc::Session& s) {
      const Words v = mpc::sign_extend(s, s.party == 0 ? x0 : x1, 32, 64, "ext");
      (s.party == 0 ? z0 : z1) = mpc::trunc_reduce(s, v, 64, 20, "tr");
    });
    EXPECT_EQ(recon(z0, z1, 44), mpc::plain::trunc_reduce(mpc::plain::sign_extend(x, 32, 64), 64, 20))
        << mpc::compare_mode_name(mode);
  }
}

// ---- widths ------------------------------------------------------------------------------------------
TEST(RingConvertWidths, OutOfRangeWidthsAreInvalidArgumentsNamingThem) {
  TwoParty tp;
  const Words x(4, 0);
  auto expect_invalid = [](const std::function<void()>& f, const std::vector<std::string>& words) {
    try {
      f();
      ADD_FAILURE() << "accepted";
    } catch (const mpc::InvalidArgument& e) {
      for (const std::string& wd : words) EXPECT_NE(std::string(e.what()).find(wd), std::string::npos) << e.what();
    }
  };
  auto s = tp.session(0);
  // Reduce: 8 <= l' < l <= 64.
  for (auto [from, to] : {std::pair{64, 64}, std::pair{16, 7}, std::pair{65, 32}, std::pair{16, 32}}) {
    const std::vector<std::string> want = {"ring reduction", "l = " + std::to_string(from), "l' = " + std::to_string(to)};
    expect_invalid([&] { mpc::ring_reduce(s, x, from, to, "red"); }, want);
    expect_invalid([&] { mpc::deal_ring_reduce(tp.dealer, 4, from, to, "red", tp.m0, tp.m1); }, want);
    expect_invalid([&] { mpc::ring_reduce_cost(4, from, to); }, want);
    expect_invalid([&] { mpc::plain::ring_reduce(x, from, to); }, want);
  }
  // Truncate-reduce: l <= 64, s >= 1, l - s >= 8.
  for (auto [from, shift] : {std::pair{16, 9}, std::pair{64, 0}, std::pair{65, 8}, std::pair{8, 1}, std::pair{32, -1}}) {
    const std::vector<std::string> want = {"truncate-reduce", "l = " + std::to_string(from),
                                           "s = " + std::to_string(shift)};
    expect_invalid([&] { mpc::trunc_reduce(s, x, from, shift, "tr"); }, want);
    expect_invalid([&] { mpc::deal_trunc_reduce(tp.dealer, 4, from, shift, tp.options, "tr", tp.m0, tp.m1); }, want);
    expect_invalid([&] { mpc::trunc_reduce_cost(tp.options, 4, from, shift); }, want);
    expect_invalid([&] { mpc::plain::trunc_reduce(x, from, shift); }, want);
  }
  // Sign extension: 8 <= l < l' <= 64.
  for (auto [from, to] : {std::pair{64, 65}, std::pair{32, 32}, std::pair{32, 16}, std::pair{7, 16}}) {
    const std::vector<std::string> want = {"sign extension", "l = " + std::to_string(from), "l' = " + std::to_string(to)};
    expect_invalid([&] { mpc::sign_extend(s, x, from, to, "ext"); }, want);
    expect_invalid([&] { mpc::deal_sign_extend(tp.dealer, 4, from, to, tp.options, "ext", tp.m0, tp.m1); }, want);
    expect_invalid([&] { mpc::sign_extend_cost(tp.options, 4, from, to); }, want);
    expect_invalid([&] { mpc::plain::sign_extend(x, from, to); }, want);
  }
  EXPECT_EQ(tp.m0.remaining() + tp.m1.remaining(), 0u);  // nothing was dealt
  // Empty inputs cost nothing and need no material.
  EXPECT_TRUE(mpc::sign_extend(s, Words{}, 16, 32, "ext").empty());
  EXPECT_TRUE(mpc::trunc_reduce(s, Words{}, 32, 8, "tr").empty());
  EXPECT_EQ(mpc::sign_extend_cost(tp.options, 0, 16, 32).rounds, 0u);
}

// ---- the per-element costs docs/protocols.md states ---------------------------------------------
TEST(RingConvertCost, PerElementCostsAsDocumented) {
  const size_t n = size_t{1} << 20;
  auto per = [n](uint64_t v) { return static_cast<double>(v) / static_cast<double>(n); };
  mpc::ProtocolOptions fss;
  fss.compare = mpc::CompareMode::Fss;
  const mpc::Cost tr = mpc::trunc_reduce_cost(fss, n, 64, 12);
  EXPECT_EQ(tr.rounds, 2u);
  EXPECT_DOUBLE_EQ(per(tr.bytes), 8.125);
  EXPECT_DOUBLE_EQ(per(tr.offline_bytes - 8), 248.25);  // one header word per call
  EXPECT_EQ(tr.keygen_aes_blocks, 4 * 12 * n);
  const mpc::Cost se16 = mpc::sign_extend_cost(fss, n, 16, 64), se32 = mpc::sign_extend_cost(fss, n, 32, 64);
  EXPECT_EQ(se16.rounds, 2u);
  EXPECT_DOUBLE_EQ(per(se16.bytes), 2.125);
  EXPECT_DOUBLE_EQ(per(se16.offline_bytes - 8), 304.125);
  EXPECT_DOUBLE_EQ(per(se32.bytes), 4.125);
  EXPECT_DOUBLE_EQ(per(se32.offline_bytes - 8), 560.125);
  EXPECT_EQ(se32.keygen_aes_blocks, 4 * 32 * n);
  const mpc::Cost red = mpc::ring_reduce_cost(n, 64, 16);
  EXPECT_EQ(red.bytes + red.rounds + red.offline_bytes + red.keygen_aes_blocks, 0u);
  // GMW (docs/protocols.md, the GMW table; n = 2^16 there, exact here too).
  mpc::ProtocolOptions gmw;
  gmw.compare = mpc::CompareMode::Gmw;
  struct Row {
    bool tr;
    int a, b;
    uint64_t rounds;
    double bytes, material;
  };
  for (const Row& r : {Row{true, 64, 12, 6, 6.125, 17.875}, Row{true, 16, 8, 5, 3.875, 14.25},
                       Row{false, 8, 32, 5, 3.875, 14.25}, Row{false, 16, 64, 6, 8.625, 21.875},
                       Row{false, 32, 64, 7, 18.375, 37.5}, Row{false, 63, 64, 8, 37.5, 68.125}}) {
    const mpc::Cost g = r.tr ? mpc::trunc_reduce_cost(gmw, n, r.a, r.b) : mpc::sign_extend_cost(gmw, n, r.a, r.b);
    EXPECT_EQ(g.rounds, r.rounds) << r.a << " " << r.b;
    EXPECT_DOUBLE_EQ(per(g.bytes), r.bytes) << r.a << " " << r.b;
    EXPECT_DOUBLE_EQ(per(g.offline_bytes - 8), r.material) << r.a << " " << r.b;
    EXPECT_EQ(g.keygen_aes_blocks, 0u);
  }
  // The FSS truncation by 12 at l = 64: the same online cost, 24 bytes more material per element.
  mpc::ProtocolOptions o;
  o.trunc = mpc::TruncMode::Fss;
  const mpc::Cost ft = mpc::trunc_cost(mpc::RingConfig{}, o, n, 12);
  EXPECT_EQ(ft.bytes, tr.bytes);
  EXPECT_DOUBLE_EQ(per(ft.offline_bytes), 272.25);
}

// ---- the CPU backend gives the same shares as the simulation backend ------------------------------
TEST(RingConvertBackends, CpuBackendEqualsSimBitForBit) {
  for (const Case c : {Case{Gate::TruncReduce, 64, 52}, Case{Gate::TruncReduce, 16, 8}, Case{Gate::SignExtend, 8, 64},
                       Case{Gate::SignExtend, 63, 64}, Case{Gate::SignExtend, 16, 32},
                       Case{Gate::TruncReduce, 64, 52, mpc::CompareMode::Gmw},
                       Case{Gate::SignExtend, 63, 64, mpc::CompareMode::Gmw}}) {
    Words got[2][2];  // [backend][party]
    for (int b = 0; b < 2; ++b) {
      TwoParty tp(mpc::RingConfig{}, c.options(), 99);  // same seed: same material and shares
      const Words x = values(c.from, c.from, tp.prg, 500);
      deal(tp, c, x.size(), "be");
      auto [x0, x1] = tp.dealer.share_arith(x, c.from);
      cpu::CpuBackend cpu0(2), cpu1(2);
      auto session = [&](int p) -> mpc::Session {
        if (b == 0) return tp.session(p);
        return mpc::Session{p, tp.ring, p == 0 ? *tp.ch0 : *tp.ch1, p == 0 ? static_cast<mpc::Backend&>(cpu0) : cpu1,
                            p == 0 ? tp.m0 : tp.m1, tp.options};
      };
      std::exception_ptr e0;
      std::thread t([&] {
        try {
          auto s = session(0);
          got[b][0] = online(s, c, x0, "be");
        } catch (...) {
          e0 = std::current_exception();
        }
      });
      auto s1 = session(1);
      got[b][1] = online(s1, c, x1, "be");
      t.join();
      if (e0) std::rethrow_exception(e0);
      if (b == 1) {
        EXPECT_EQ(recon(got[1][0], got[1][1], c.to), twin(c, x)) << c.name();
        EXPECT_GT(cpu0.counters().count(c.mode == mpc::CompareMode::Fss ? "dcf_eval" : "gmw_and_level"), 0u);
      }
    }
    EXPECT_EQ(got[0][0], got[1][0]) << c.name();
    EXPECT_EQ(got[0][1], got[1][1]) << c.name();
  }
}
