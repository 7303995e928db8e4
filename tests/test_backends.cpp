// SimBackend (kernel cores) and CpuBackend (Eigen, threads, bit tricks) give bit-identical
// results on every Backend method, and report their counters (docs/design.md §6).
#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kernels/beaver_mul_combine.h"
#include "kernels/matmul_combine.h"
#include "kernels/trunc.h"
#include "polympc/cpu/cpu_backend.h"
#include "polympc/mpc/backend.h"
#include "polympc/mpc/errors.h"
#include "polympc/sim/sim_backend.h"

namespace {

using polympc::cpu::CpuBackend;
using polympc::mpc::Backend;
using polympc::mpc::PolyShape;
using polympc::sim::SimBackend;
using polympc::sim::SimOptions;
using Words = std::vector<uint64_t>;

const int kBits[] = {8, 17, 32, 63, 64};
const size_t kSizes[] = {0, 1, 77, 4099, (size_t(1) << 20) + 5};

Words random_words(std::mt19937_64& rng, size_t n) {
  Words v(n);
  for (uint64_t& w : v) w = rng();
  return v;
}

/// First mismatch, without printing million-element vectors.
::testing::AssertionResult same_words(const Words& want, const Words& got) {
  if (want.size() != got.size())
    return ::testing::AssertionFailure() << "sizes " << want.size() << " vs " << got.size();
  for (size_t i = 0; i < want.size(); ++i)
    if (want[i] != got[i])
      return ::testing::AssertionFailure()
             << "first mismatch at " << i << ": " << want[i] << " vs " << got[i];
  return ::testing::AssertionSuccess();
}

/// The reference (sim with kernel bounds) and every backend that must agree with it.
struct Backends {
  SimBackend ref;
  std::vector<std::unique_ptr<Backend>> others;
  Backends() {
    SimOptions small;
    small.max_batch = 1000;  // forces multi-launch chunking in every sim code path
    small.max_channels = 7;
    others.push_back(std::make_unique<SimBackend>(small));
    others.push_back(std::make_unique<CpuBackend>(1));
    others.push_back(std::make_unique<CpuBackend>(4));
    others.push_back(std::make_unique<CpuBackend>());
  }
};

/// Runs `call(backend, out)` on the reference and every other backend, each with an
/// output pre-filled with a different pattern, and compares outputs.
template <class Call>
void expect_same(Backends& bk, size_t out_size, const std::string& what, Call call) {
  Words want(out_size, 0xAAAAAAAAAAAAAAAAull);
  call(bk.ref, want);
  uint64_t fill = 0x5555555555555555ull;
  for (auto& other : bk.others) {
    Words got(out_size, fill++);
    call(*other, got);
    EXPECT_TRUE(same_words(want, got)) << other->name() << ": " << what;
  }
}

TEST(Backends, Names) {
  EXPECT_EQ(SimBackend().name(), "sim");
  EXPECT_EQ(CpuBackend().name(), "cpu");
  EXPECT_GE(CpuBackend().threads(), 1);
  EXPECT_EQ(CpuBackend(3).threads(), 3);
}

TEST(Backends, BeaverMulCombineIdentical) {
  Backends bk;
  std::mt19937_64 rng(101);
  for (size_t n : kSizes)
    for (int bits : kBits)
      for (int party = 0; party < 2; ++party) {
        const Words d = random_words(rng, n), e = random_words(rng, n), a = random_words(rng, n),
                    b = random_words(rng, n), c = random_words(rng, n);
        expect_same(bk, n, "n=" + std::to_string(n) + " bits=" + std::to_string(bits),
                    [&](Backend& be, Words& z) {
                      be.beaver_mul_combine(party, bits, n, d.data(), e.data(), a.data(),
                                            b.data(), c.data(), z.data());
                    });
        if (n > 5000) break;  // large n: one party per bits value is enough
      }
}

TEST(Backends, MatmulCombineIdentical) {
  Backends bk;
  std::mt19937_64 rng(102);
  struct Dims {
    size_t m, k, n;
  };
  const Dims dims[] = {{1, 1, 1},   {3, 5, 7},     {7, 0, 5},     {0, 3, 4},
                       {33, 17, 1029}, {16, 400, 3000}, {1, 300, 20000}, {2, 64, 40000},
                       {4000, 600, 2}};
  for (const Dims& s : dims)
    for (int bits : {64, 17})
      for (int party = 0; party < 2; ++party) {
        const Words e = random_words(rng, s.m * s.k), a = random_words(rng, s.m * s.k);
        const Words f = random_words(rng, s.k * s.n), b = random_words(rng, s.k * s.n);
        const Words c = random_words(rng, s.m * s.n);
        expect_same(bk, s.m * s.n,
                    std::to_string(s.m) + "x" + std::to_string(s.k) + "x" + std::to_string(s.n) +
                        " bits=" + std::to_string(bits) + " party=" + std::to_string(party),
                    [&](Backend& be, Words& z) {
                      be.matmul_combine(party, bits, s.m, s.k, s.n, e.data(), f.data(), a.data(),
                                        b.data(), c.data(), z.data());
                    });
      }
}

/// PolyEvalArgs with every array at `p` (for calls whose values do not matter).
polympc::mpc::PolyEvalArgs poly_args_at(const uint64_t* p) {
  polympc::mpc::PolyEvalArgs g;
  g.d = g.alpha = g.a2 = g.m2a = g.m2a2 = g.m1a = g.e1 = g.m1 = g.e2 = g.m2 = g.add = p;
  return g;
}

TEST(Backends, PolyEvalIdentical) {
  using polympc::mpc::PolyMode;
  Backends bk;
  std::mt19937_64 rng(103);
  const PolyShape shapes[] = {{1, 1, 1},    {2, 3, 5},       {4, 16, 49},
                              {1, 5000, 1}, {3, 2500, 3},    {1, 2, size_t(1) << 19},
                              {8, 64, 1024}, {2, 9, 1500}};
  for (const PolyShape& s : shapes)
    for (int bits : {64, 32, 17})
      for (int party = 0; party < 2; ++party)
        for (PolyMode mode : {PolyMode::Quadratic, PolyMode::LinearChannel, PolyMode::LinearElement}) {
          const bool quad = mode == PolyMode::Quadratic;
          const size_t n = s.size(), n1 = mode == PolyMode::LinearElement ? n : s.channels;
          const Words d = random_words(rng, n), a = random_words(rng, n),
                      a2 = quad ? random_words(rng, n) : Words(),
                      m2a = quad ? random_words(rng, n) : Words(),
                      m2a2 = quad ? random_words(rng, n) : Words(), m1a = random_words(rng, n),
                      e1 = random_words(rng, n1), m1 = random_words(rng, n1),
                      e2 = random_words(rng, s.channels), m2 = random_words(rng, s.channels),
                      add = random_words(rng, s.channels);
          polympc::mpc::PolyEvalArgs g;
          g.d = d.data();
          g.alpha = a.data();
          g.a2 = quad ? a2.data() : nullptr;  // arrays the mode does not read may be null
          g.m2a = quad ? m2a.data() : nullptr;
          g.m2a2 = quad ? m2a2.data() : nullptr;
          g.m1a = m1a.data();
          g.e1 = e1.data();
          g.m1 = m1.data();
          g.e2 = quad ? e2.data() : nullptr;
          g.m2 = quad ? m2.data() : nullptr;
          g.add = add.data();
          expect_same(bk, n,
                      std::to_string(s.outer) + "x" + std::to_string(s.channels) + "x" +
                          std::to_string(s.inner) + " bits=" + std::to_string(bits) +
                          " party=" + std::to_string(party) +
                          " mode=" + std::to_string(static_cast<int>(mode)),
                      [&](Backend& be, Words& z) { be.poly_eval(party, bits, s, mode, g, z.data()); });
        }
}

TEST(Backends, TruncIdentical) {
  Backends bk;
  std::mt19937_64 rng(104);
  for (size_t n : kSizes)
    for (int bits : kBits)
      for (int shift : {0, 1, 7, bits - 1}) {
        const Words x = random_words(rng, n), carry = random_words(rng, n),
                    wrap = random_words(rng, n);
        for (int party = 0; party < 2; ++party) {
          const std::string what = "n=" + std::to_string(n) + " bits=" + std::to_string(bits) +
                                   " shift=" + std::to_string(shift);
          expect_same(bk, n, "exact " + what, [&](Backend& be, Words& z) {
            be.trunc_exact_combine(party, bits, shift, n, x.data(), carry.data(), wrap.data(),
                                   z.data());
          });
          for (int offset_bits : {shift, bits - 1})
            expect_same(bk, n, "prob " + what, [&](Backend& be, Words& z) {
              be.trunc_prob_combine(party, bits, shift, offset_bits, n, x.data(), carry.data(),
                                    z.data());
            });
        }
        if (n > 5000) break;
      }
}

TEST(Backends, GmwAndLevelIdentical) {
  Backends bk;
  std::mt19937_64 rng(105);
  for (size_t n : kSizes)
    for (int party = 0; party < 2; ++party) {
      const Words d = random_words(rng, n), e = random_words(rng, n), a = random_words(rng, n),
                  b = random_words(rng, n), c = random_words(rng, n);
      expect_same(bk, n, "words=" + std::to_string(n), [&](Backend& be, Words& z) {
        be.gmw_and_level(party, n, d.data(), e.data(), a.data(), b.data(), c.data(), z.data());
      });
    }
}

TEST(Backends, B2aCombineIdentical) {
  Backends bk;
  std::mt19937_64 rng(106);
  for (size_t n : kSizes)
    for (int bits : kBits)
      for (int party = 0; party < 2; ++party) {
        const Words packed = random_words(rng, (n + 63) / 64), r = random_words(rng, n);
        expect_same(bk, n, "n=" + std::to_string(n) + " bits=" + std::to_string(bits),
                    [&](Backend& be, Words& z) {
                      be.b2a_combine(party, bits, n, packed.data(), r.data(), z.data());
                    });
      }
}

TEST(Backends, BitSliceIdentical) {
  Backends bk;
  std::mt19937_64 rng(107);
  for (size_t n : kSizes)
    for (int bits : {0, 1, 8, 17, 63, 64}) {
      const Words x = random_words(rng, n);
      expect_same(bk, size_t(bits) * ((n + 63) / 64),
                  "n=" + std::to_string(n) + " bits=" + std::to_string(bits),
                  [&](Backend& be, Words& planes) {
                    be.bit_slice(bits, n, x.data(), planes.data());
                  });
    }
}

TEST(Backends, CountersReportCallsElementsAndCycles) {
  SimBackend sim;
  CpuBackend cpu(2);
  std::mt19937_64 rng(108);
  const size_t n = 1000;
  const Words in = random_words(rng, 4 * n);
  Words out(4 * n);
  for (Backend* be : std::vector<Backend*>{&sim, &cpu}) {
    be->beaver_mul_combine(0, 64, n, in.data(), in.data(), in.data(), in.data(), in.data(),
                           out.data());
    be->beaver_mul_combine(1, 64, 10, in.data(), in.data(), in.data(), in.data(), in.data(),
                           out.data());
    be->matmul_combine(0, 32, 4, 5, 6, in.data(), in.data(), in.data(), in.data(), in.data(),
                       out.data());
    be->poly_eval(0, 32, PolyShape{2, 3, 4}, polympc::mpc::PolyMode::Quadratic,
                  poly_args_at(in.data()), out.data());
    be->trunc_exact_combine(0, 64, 12, n, in.data(), in.data(), in.data(), out.data());
    be->trunc_prob_combine(0, 64, 12, 62, n, in.data(), in.data(), out.data());
    be->gmw_and_level(0, 7, in.data(), in.data(), in.data(), in.data(), in.data(), out.data());
    be->b2a_combine(0, 64, n, in.data(), in.data(), out.data());
    be->bit_slice(64, n, in.data(), out.data());
    be->bit_slice(64, 0, in.data(), out.data());

    const auto cs = be->counters();
    ASSERT_EQ(cs.size(), 8u) << be->name();
    EXPECT_EQ(cs.at("beaver_mul_combine").calls, 2u);
    EXPECT_EQ(cs.at("beaver_mul_combine").elements, n + 10);
    EXPECT_EQ(cs.at("matmul_combine").calls, 1u);
    EXPECT_EQ(cs.at("matmul_combine").elements, 4u * 5u * 6u);
    EXPECT_EQ(cs.at("poly_eval").elements, 24u);
    EXPECT_EQ(cs.at("trunc_exact_combine").elements, n);
    EXPECT_EQ(cs.at("trunc_prob_combine").elements, n);
    EXPECT_EQ(cs.at("gmw_and_level").elements, 7u);
    EXPECT_EQ(cs.at("b2a_combine").elements, n);
    EXPECT_EQ(cs.at("bit_slice").calls, 2u);
    EXPECT_EQ(cs.at("bit_slice").elements, n);
    for (const auto& [name, c] : cs) {
      if (be == &sim)
        EXPECT_GT(c.modelled_cycles, 0u) << name;
      else
        EXPECT_EQ(c.modelled_cycles, 0u) << name;
    }
  }
  // The sim reports the kernel headers' cycle models, one launch per call here.
  const auto cs = sim.counters();
  using BC = polympc::kernels::BeaverMulDefaultConfig;
  EXPECT_EQ(cs.at("beaver_mul_combine").modelled_cycles,
            2u * BC::depth + (n + BC::lanes - 1) / BC::lanes + 2u);
  EXPECT_EQ(cs.at("matmul_combine").modelled_cycles,
            polympc::kernels::matmul_combine_cycles(4, 5, 6));
  EXPECT_EQ(cs.at("trunc_exact_combine").modelled_cycles, polympc::kernels::trunc_cycles(n));
}

TEST(Backends, SimChunkingPaysDepthPerLaunch) {
  SimOptions opt;
  opt.max_batch = 1000;
  SimBackend sim(opt);
  const size_t n = 2500;
  Words in(n, 3), out(n);
  sim.beaver_mul_combine(0, 64, n, in.data(), in.data(), in.data(), in.data(), in.data(),
                         out.data());
  using polympc::kernels::beaver_mul_combine_cycles;
  EXPECT_EQ(sim.counters().at("beaver_mul_combine").modelled_cycles,
            2 * beaver_mul_combine_cycles(1000) + beaver_mul_combine_cycles(500));
  EXPECT_EQ(sim.counters().at("beaver_mul_combine").calls, 1u);
}

TEST(Backends, InvalidArgumentsThrow) {
  SimBackend sim;
  CpuBackend cpu;
  Words buf(256, 1), out(256);
  const uint64_t* p = buf.data();
  uint64_t* z = out.data();
  using polympc::mpc::InvalidArgument;
  for (Backend* be : std::vector<Backend*>{&sim, &cpu}) {
    EXPECT_THROW(be->beaver_mul_combine(2, 64, 4, p, p, p, p, p, z), InvalidArgument);
    EXPECT_THROW(be->beaver_mul_combine(0, 7, 4, p, p, p, p, p, z), InvalidArgument);
    EXPECT_THROW(be->beaver_mul_combine(0, 65, 4, p, p, p, p, p, z), InvalidArgument);
    EXPECT_THROW(be->matmul_combine(-1, 64, 2, 2, 2, p, p, p, p, p, z), InvalidArgument);
    EXPECT_THROW(be->poly_eval(0, 4, PolyShape{1, 1, 4}, polympc::mpc::PolyMode::Quadratic,
                               poly_args_at(p), z),
                 InvalidArgument);
    EXPECT_THROW(be->poly_eval(0, 64, PolyShape{1, 1, 4}, static_cast<polympc::mpc::PolyMode>(3),
                               poly_args_at(p), z),
                 InvalidArgument);
    EXPECT_THROW(be->trunc_exact_combine(0, 32, 32, 4, p, p, p, z), InvalidArgument);
    EXPECT_THROW(be->trunc_exact_combine(0, 32, -1, 4, p, p, p, z), InvalidArgument);
    EXPECT_THROW(be->trunc_prob_combine(0, 32, 12, 11, 4, p, p, z), InvalidArgument);
    EXPECT_THROW(be->trunc_prob_combine(0, 32, 12, 32, 4, p, p, z), InvalidArgument);
    EXPECT_THROW(be->gmw_and_level(3, 4, p, p, p, p, p, z), InvalidArgument);
    EXPECT_THROW(be->b2a_combine(0, 100, 4, p, p, z), InvalidArgument);
    EXPECT_THROW(be->bit_slice(65, 4, p, z), InvalidArgument);
    try {
      be->trunc_exact_combine(0, 32, 40, 4, p, p, p, z);
    } catch (const InvalidArgument& err) {
      const std::string msg = err.what();
      EXPECT_NE(msg.find("trunc_exact_combine"), std::string::npos) << msg;
      EXPECT_NE(msg.find("shift=40"), std::string::npos) << msg;
    }
  }
  EXPECT_TRUE(sim.counters().empty());
  EXPECT_TRUE(cpu.counters().empty());
}

}  // namespace
