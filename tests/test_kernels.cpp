// Kernel cores (kernels/*.h) and extern "C" tops (kernels/*.cpp) against scalar references
// written here, plus the algebraic property each kernel exists for (docs/design.md §5, §7).
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "kernels/beaver_mul_combine.h"
#include "kernels/gmw_and_level.h"
#include "kernels/matmul_combine.h"
#include "kernels/poly_eval.h"
#include "kernels/trunc.h"
#include "polympc/hls/launch.h"

extern "C" {
void beaver_mul_combine_top(int party, int bits, uint32_t n, const uint64_t* d,
                            const uint64_t* e, const uint64_t* a, const uint64_t* b,
                            const uint64_t* c, uint64_t* z);
void matmul_combine_top(int party, int bits, uint32_t m, uint32_t k, uint32_t n,
                        const uint64_t* e, const uint64_t* f, const uint64_t* a,
                        const uint64_t* b, const uint64_t* c, uint64_t* z);
void poly_eval_top(int party, int bits, uint32_t outer, uint32_t channels, uint32_t inner,
                   int mode, const uint64_t* d, const uint64_t* a, const uint64_t* a2,
                   const uint64_t* m2a, const uint64_t* m2a2, const uint64_t* m1a,
                   const uint64_t* e1, const uint64_t* m1, const uint64_t* e2, const uint64_t* m2,
                   const uint64_t* add, uint64_t* z);
void trunc_top(int mode, int party, int bits, int shift, int offset_bits, uint32_t n,
               const uint64_t* in0, const uint64_t* in1, const uint64_t* in2, uint64_t* z);
void gmw_and_level_top(int party, uint32_t words, const uint64_t* d, const uint64_t* e,
                       const uint64_t* a, const uint64_t* b, const uint64_t* c, uint64_t* z);
void b2a_combine_top(int party, int bits, uint32_t n, const uint64_t* e_packed,
                     const uint64_t* r, uint64_t* z);
void bit_slice_top(int bits, uint32_t n, uint32_t plane_stride, const uint64_t* x,
                   uint64_t* planes);
}

namespace {

namespace k = polympc::kernels;
using Words = std::vector<uint64_t>;

const int kBits[] = {8, 17, 32, 63, 64};
const uint32_t kSizes[] = {0, 1, 5, 8, 63, 64, 65, 1000, 1027};

// ----------------------------------------------------------------- scalar references

uint64_t mask_of(int bits) { return bits == 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1; }

int64_t to_signed(uint64_t w, int bits) {
  w &= mask_of(bits);
  if (bits < 64 && ((w >> (bits - 1)) & 1)) w |= ~mask_of(bits);
  return static_cast<int64_t>(w);
}

Words random_words(std::mt19937_64& rng, size_t n) {
  Words v(n);
  for (uint64_t& w : v) w = rng();
  return v;
}

uint64_t ref_beaver(int party, int bits, uint64_t d, uint64_t e, uint64_t a, uint64_t b,
                    uint64_t c) {
  uint64_t z = c + d * b + e * a;
  if (party == 0) z += d * e;
  return z & mask_of(bits);
}

uint64_t ref_trunc_exact(int party, int bits, int shift, uint64_t x, uint64_t carry,
                         uint64_t wrap) {
  const uint64_t m = mask_of(bits);
  uint64_t u = x & m;
  if (party == 0) u = (u + (uint64_t{1} << (bits - 1))) & m;
  uint64_t z = (u >> shift) + carry;
  if (bits - shift < 64) z -= wrap << (bits - shift);
  if (party == 0) z -= uint64_t{1} << (bits - 1 - shift);
  return z & m;
}

uint64_t ref_trunc_prob(int party, int bits, int shift, int offset_bits, uint64_t c,
                        uint64_t r_shr) {
  const uint64_t m = mask_of(bits);
  uint64_t z = 0;
  if (party == 0) z = ((c & m) >> shift) - (uint64_t{1} << (offset_bits - shift));
  return (z - r_shr) & m;
}

uint64_t ref_b2a(int party, int bits, uint64_t e, uint64_t r) {
  uint64_t z = r - 2 * e * r;
  if (party == 0) z += e;
  return z & mask_of(bits);
}

// ----------------------------------------------------------------- test configurations

struct BeaverLanes1 : k::BeaverMulDefaultConfig {
  static const unsigned lanes = 1;
};
struct BeaverLanes3 : k::BeaverMulDefaultConfig {
  static const unsigned lanes = 3;
};
struct MatmulSmall : k::MatmulDefaultConfig {
  static const unsigned lanes = 4;
  static const unsigned tile_n = 8;
  static const unsigned k_chunk = 8;
};
/// An array of 3 rows: blocks that end short of m, B/F packets shared by rows.
struct MatmulRows3 : k::MatmulDefaultConfig {
  static const unsigned lanes = 2;
  static const unsigned rows = 3;
  static const unsigned tile_n = 6;
  static const unsigned k_chunk = 16;
};
struct MatmulRows8 : k::MatmulDefaultConfig {
  static const unsigned lanes = 8;
  static const unsigned rows = 8;
};
struct PolyLanes3 : k::PolyEvalDefaultConfig {
  static const unsigned lanes = 3;
  static const uint32_t max_channels = 16;
};
struct PolyLanes1 : k::PolyEvalDefaultConfig {
  static const unsigned lanes = 1;
};
struct TruncLanes3 : k::TruncDefaultConfig {
  static const unsigned lanes = 3;
};
struct GmwLanes3 : k::GmwAndDefaultConfig {
  static const unsigned lanes = 3;
};
struct B2aLanes1 : k::B2aDefaultConfig {
  static const unsigned lanes = 1;
};
struct B2aLanes4 : k::B2aDefaultConfig {
  static const unsigned lanes = 4;
};
struct BitSliceLanes1 : k::BitSliceDefaultConfig {
  static const unsigned lanes = 1;
};
struct BitSliceLanes4 : k::BitSliceDefaultConfig {
  static const unsigned lanes = 4;
};

// ----------------------------------------------------------------- ring helpers

TEST(HlsRing, MasksAndTotalShifts) {
  namespace h = polympc::hls;
  EXPECT_EQ(h::ring_mask(8), 0xFFu);
  EXPECT_EQ(h::ring_mask(17), 0x1FFFFu);
  EXPECT_EQ(h::ring_mask(63), ~uint64_t{0} >> 1);
  EXPECT_EQ(h::ring_mask(64), ~uint64_t{0});
  EXPECT_EQ(h::ring_mask(0), 0u);
  EXPECT_EQ(h::shl(1, 63), uint64_t{1} << 63);
  EXPECT_EQ(h::shl(1, 64), 0u);
  EXPECT_EQ(h::shl(1, -1), 0u);
  EXPECT_EQ(h::shr(~uint64_t{0}, 64), 0u);
  EXPECT_EQ(h::shr(~uint64_t{0}, 63), 1u);
  EXPECT_EQ(h::pow2(0), 1u);
  EXPECT_EQ(h::ring_add(0xFF, 1, h::ring_mask(8)), 0u);
  EXPECT_EQ(h::ring_sub(0, 1, h::ring_mask(17)), 0x1FFFFu);
  EXPECT_EQ(h::ring_mul(uint64_t{1} << 32, uint64_t{1} << 32, h::ring_mask(64)), 0u);
  EXPECT_TRUE(h::valid_ring_bits(8));
  EXPECT_TRUE(h::valid_ring_bits(64));
  EXPECT_FALSE(h::valid_ring_bits(7));
  EXPECT_FALSE(h::valid_ring_bits(65));
}

TEST(HlsStream, FifoOrderAndHighWater) {
  polympc::hls::Stream<uint64_t, 4> s("t");
  for (uint64_t i = 0; i < 10; ++i) s.write(i);
  EXPECT_EQ(s.size(), 10u);
  for (uint64_t i = 0; i < 10; ++i) EXPECT_EQ(s.read(), i);
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(s.high_water(), 10u);
}

// ----------------------------------------------------------------- beaver_mul_combine

template <class Config>
void check_beaver_core(uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (int bits : kBits)
    for (int party = 0; party < 2; ++party)
      for (uint32_t n : kSizes) {
        const Words d = random_words(rng, n), e = random_words(rng, n), a = random_words(rng, n),
                    b = random_words(rng, n), c = random_words(rng, n);
        Words z(n, 0xDEADBEEF), zt(n, 0xFEEDFACE);
        k::beaver_mul_combine<Config>(party, bits, n, d.data(), e.data(), a.data(), b.data(),
                                      c.data(), z.data());
        for (uint32_t j = 0; j < n; ++j)
          ASSERT_EQ(z[j], ref_beaver(party, bits, d[j], e[j], a[j], b[j], c[j]))
              << "bits=" << bits << " party=" << party << " n=" << n << " j=" << j;
        beaver_mul_combine_top(party, bits, n, d.data(), e.data(), a.data(), b.data(), c.data(),
                               zt.data());
        ASSERT_EQ(zt, z) << "top, bits=" << bits << " party=" << party << " n=" << n;
      }
}

TEST(BeaverMulCombine, CoreAndTopMatchReference) {
  check_beaver_core<k::BeaverMulDefaultConfig>(1);
  check_beaver_core<BeaverLanes1>(2);
  check_beaver_core<BeaverLanes3>(3);
}

TEST(BeaverMulCombine, SharesReconstructProduct) {
  std::mt19937_64 rng(11);
  const uint32_t n = 777;
  for (int bits : kBits) {
    const uint64_t m = mask_of(bits);
    const Words x = random_words(rng, n), y = random_words(rng, n);
    const Words a = random_words(rng, n), b = random_words(rng, n);
    const Words x0 = random_words(rng, n), y0 = random_words(rng, n);
    const Words a0 = random_words(rng, n), b0 = random_words(rng, n), c0 = random_words(rng, n);
    Words a1(n), b1(n), c1(n), d(n), e(n), z0(n), z1(n);
    for (uint32_t j = 0; j < n; ++j) {
      a1[j] = (a[j] - a0[j]) & m;
      b1[j] = (b[j] - b0[j]) & m;
      c1[j] = (a[j] * b[j] - c0[j]) & m;
      // Opened values: d = x - a, e = y - b (each party's shares summed).
      const uint64_t x1 = x[j] - x0[j], y1 = y[j] - y0[j];
      d[j] = ((x0[j] - a0[j]) + (x1 - a1[j])) & m;
      e[j] = ((y0[j] - b0[j]) + (y1 - b1[j])) & m;
    }
    k::beaver_mul_combine(0, bits, n, d.data(), e.data(), a0.data(), b0.data(), c0.data(),
                          z0.data());
    k::beaver_mul_combine(1, bits, n, d.data(), e.data(), a1.data(), b1.data(), c1.data(),
                          z1.data());
    for (uint32_t j = 0; j < n; ++j)
      ASSERT_EQ((z0[j] + z1[j]) & m, (x[j] * y[j]) & m) << "bits=" << bits << " j=" << j;
  }
}

// ----------------------------------------------------------------- matmul_combine

Words ref_matmul(int party, int bits, uint32_t m, uint32_t kk, uint32_t n, const Words& e,
                 const Words& f, const Words& a, const Words& b, const Words& c) {
  Words z(size_t(m) * n);
  for (uint32_t i = 0; i < m; ++i)
    for (uint32_t j = 0; j < n; ++j) {
      uint64_t s = c[size_t(i) * n + j];
      for (uint32_t t = 0; t < kk; ++t) {
        const uint64_t ev = e[size_t(i) * kk + t], av = a[size_t(i) * kk + t];
        const uint64_t bv = b[size_t(t) * n + j], fv = f[size_t(t) * n + j];
        s += ev * bv + av * fv;
        if (party == 0) s += ev * fv;
      }
      z[size_t(i) * n + j] = s & mask_of(bits);
    }
  return z;
}

struct Dims {
  uint32_t m, k, n;
};

template <class Config>
void check_matmul_core(uint64_t seed, bool with_top) {
  std::mt19937_64 rng(seed);
  const Dims dims[] = {{1, 1, 1}, {3, 5, 7},  {2, 0, 3},   {4, 3, 1030},
                       {5, 17, 33}, {1, 9, 16}, {7, 41, 13}, {9, 1030, 5}};
  for (int bits : kBits)
    for (int party = 0; party < 2; ++party)
      for (const Dims& s : dims) {
        const Words e = random_words(rng, size_t(s.m) * s.k), a = random_words(rng, e.size());
        const Words f = random_words(rng, size_t(s.k) * s.n), b = random_words(rng, f.size());
        const Words c = random_words(rng, size_t(s.m) * s.n);
        Words z(c.size(), 0x1234);
        k::matmul_combine<Config>(party, bits, s.m, s.k, s.n, e.data(), f.data(), a.data(),
                                  b.data(), c.data(), z.data());
        ASSERT_EQ(z, ref_matmul(party, bits, s.m, s.k, s.n, e, f, a, b, c))
            << "bits=" << bits << " party=" << party << " m=" << s.m << " k=" << s.k
            << " n=" << s.n;
        if (with_top) {
          Words zt(c.size(), 0x4321);
          matmul_combine_top(party, bits, s.m, s.k, s.n, e.data(), f.data(), a.data(), b.data(),
                             c.data(), zt.data());
          ASSERT_EQ(zt, z) << "top, bits=" << bits << " m=" << s.m << " k=" << s.k
                           << " n=" << s.n;
        }
      }
}

TEST(MatmulCombine, CoreAndTopMatchReference) {
  check_matmul_core<k::MatmulDefaultConfig>(21, true);
  check_matmul_core<MatmulSmall>(22, false);
  check_matmul_core<MatmulRows3>(24, false);
  check_matmul_core<MatmulRows8>(25, false);
}

// The DATAFLOW processes at a multi-row configuration (the top runs the default one).
TEST(MatmulCombine, DataflowProcessesMatchCoreWithRows) {
  std::mt19937_64 rng(26);
  const Dims dims[] = {{7, 41, 13}, {3, 17, 6}, {1, 0, 4}, {6, 3, 1}};
  for (const Dims& s : dims) {
    const Words e = random_words(rng, size_t(s.m) * s.k), a = random_words(rng, e.size());
    const Words f = random_words(rng, size_t(s.k) * s.n), b = random_words(rng, f.size());
    const Words c = random_words(rng, size_t(s.m) * s.n);
    for (int party = 0; party < 2; ++party) {
      using C = MatmulRows3;
      polympc::hls::Stream<polympc::hls::Packet<k::kMatmulEaWords>, 4> se("e"), sa("a");
      polympc::hls::Stream<polympc::hls::Packet<C::lanes>, 64> sb("b"), sf("f"), sc("c"), sz("z");
      Words z(c.size(), 0x77);
      k::internal::matmul_load<C>(s.m, s.k, s.n, e.data(), f.data(), a.data(), b.data(), c.data(),
                                  se, sa, sb, sf, sc);
      k::internal::matmul_compute<C>(party, 40, s.m, s.k, s.n, se, sa, sb, sf, sc, sz);
      k::internal::matmul_store<C>(s.m, s.n, sz, z.data());
      EXPECT_TRUE(se.empty() && sa.empty() && sb.empty() && sf.empty() && sc.empty() && sz.empty());
      ASSERT_EQ(z, ref_matmul(party, 40, s.m, s.k, s.n, e, f, a, b, c))
          << "party=" << party << " m=" << s.m << " k=" << s.k << " n=" << s.n;
    }
  }
}

TEST(MatmulCombine, SharesReconstructProduct) {
  std::mt19937_64 rng(23);
  const uint32_t m = 6, kk = 11, n = 37;
  for (int bits : kBits) {
    const uint64_t msk = mask_of(bits);
    const Words w = random_words(rng, m * kk), x = random_words(rng, kk * n);
    const Words a = random_words(rng, m * kk), b = random_words(rng, kk * n);
    const Words a0 = random_words(rng, m * kk), b0 = random_words(rng, kk * n);
    const Words c0 = random_words(rng, m * n);
    Words a1(m * kk), b1(kk * n), c1(m * n), e(m * kk), f(kk * n), z0(m * n), z1(m * n);
    for (uint32_t i = 0; i < m * kk; ++i) {
      a1[i] = a[i] - a0[i];
      e[i] = (w[i] - a[i]) & msk;
    }
    for (uint32_t i = 0; i < kk * n; ++i) {
      b1[i] = b[i] - b0[i];
      f[i] = (x[i] - b[i]) & msk;
    }
    const Words zero(m * n, 0);
    const Words ab = ref_matmul(1, 64, m, kk, n, a, Words(kk * n, 0), Words(m * kk, 0), b, zero);
    const Words wx = ref_matmul(1, bits, m, kk, n, w, Words(kk * n, 0), Words(m * kk, 0), x, zero);
    for (uint32_t i = 0; i < m * n; ++i) c1[i] = ab[i] - c0[i];
    k::matmul_combine(0, bits, m, kk, n, e.data(), f.data(), a0.data(), b0.data(), c0.data(),
                      z0.data());
    k::matmul_combine(1, bits, m, kk, n, e.data(), f.data(), a1.data(), b1.data(), c1.data(),
                      z1.data());
    for (uint32_t i = 0; i < m * n; ++i)
      ASSERT_EQ((z0[i] + z1[i]) & msk, wx[i]) << "bits=" << bits << " i=" << i;
  }
}

// ----------------------------------------------------------------- poly_eval

struct Shape {
  uint32_t outer, channels, inner;
};

/// Operands of one poly_eval launch (kernels/poly_eval.h), random for a mode and shape.
struct PolyOperands {
  Words d, a, a2, m2a, m2a2, m1a, e1, m1, e2, m2, add;
};

PolyOperands random_poly(std::mt19937_64& rng, const Shape& s, int mode) {
  const size_t n = size_t(s.outer) * s.channels * s.inner;
  const size_t n1 = mode == k::kPolyLinearElement ? n : s.channels;
  PolyOperands p;
  for (Words* w : {&p.d, &p.a, &p.a2, &p.m2a, &p.m2a2, &p.m1a}) *w = random_words(rng, n);
  p.e1 = random_words(rng, n1);
  p.m1 = random_words(rng, n1);
  for (Words* w : {&p.e2, &p.m2, &p.add}) *w = random_words(rng, s.channels);
  return p;
}

/// Straight from the expanded formula of backend.h (not the kernel's folded lane).
Words ref_poly(int party, int bits, const Shape& s, int mode, const PolyOperands& p) {
  Words z(p.d.size());
  size_t j = 0;
  for (uint32_t o = 0; o < s.outer; ++o)
    for (uint32_t ch = 0; ch < s.channels; ++ch)
      for (uint32_t i = 0; i < s.inner; ++i, ++j) {
        const size_t k1 = mode == k::kPolyLinearElement ? j : ch;
        const uint64_t d = p.d[j], a = p.a[j], E1 = p.e1[k1], M1 = p.m1[k1];
        uint64_t v = p.m1a[j] + d * M1 + E1 * a;
        if (party == 0) v += d * E1 + p.add[ch];
        if (mode == k::kPolyQuadratic) {
          const uint64_t E2 = p.e2[ch], M2 = p.m2[ch];
          v += 2 * E2 * d * a + E2 * p.a2[j] + d * d * M2 + 2 * d * p.m2a[j] + p.m2a2[j];
          if (party == 0) v += E2 * d * d;
        }
        z[j] = v & mask_of(bits);
      }
  return z;
}

template <class Config>
void run_poly_core(int party, int bits, const Shape& s, int mode, const PolyOperands& p, Words& z) {
  k::poly_eval<Config>(party, bits, s.outer, s.channels, s.inner, mode, p.d.data(), p.a.data(),
                       p.a2.data(), p.m2a.data(), p.m2a2.data(), p.m1a.data(), p.e1.data(),
                       p.m1.data(), p.e2.data(), p.m2.data(), p.add.data(), z.data());
}

template <class Config>
void check_poly_core(uint64_t seed) {
  std::mt19937_64 rng(seed);
  const Shape shapes[] = {{1, 1, 1}, {2, 3, 5}, {3, 7, 1}, {1, 4, 17}, {2, 5, 64},
                          {1, 16, 3}, {4, 2, 2}, {1, 1, 1001}, {2, 13, 9}};
  for (int bits : kBits)
    for (int party = 0; party < 2; ++party)
      for (int mode = 0; mode < 3; ++mode)
        for (const Shape& s : shapes) {
          const size_t n = size_t(s.outer) * s.channels * s.inner;
          const PolyOperands p = random_poly(rng, s, mode);
          Words z(n, 0x77);
          run_poly_core<Config>(party, bits, s, mode, p, z);
          ASSERT_EQ(z, ref_poly(party, bits, s, mode, p))
              << "bits=" << bits << " party=" << party << " mode=" << mode
              << " shape=" << s.outer << "x" << s.channels << "x" << s.inner;
          Words zt(n, 0x88);
          poly_eval_top(party, bits, s.outer, s.channels, s.inner, mode, p.d.data(), p.a.data(),
                        p.a2.data(), p.m2a.data(), p.m2a2.data(), p.m1a.data(), p.e1.data(),
                        p.m1.data(), p.e2.data(), p.m2.data(), p.add.data(), zt.data());
          ASSERT_EQ(zt, z) << "top, bits=" << bits << " mode=" << mode;
        }
}

TEST(PolyEval, CoreAndTopMatchReference) {
  check_poly_core<k::PolyEvalDefaultConfig>(31);
  check_poly_core<PolyLanes3>(32);
  check_poly_core<PolyLanes1>(33);
}

TEST(PolyEval, LinearModesReadNoQuadraticOperands) {
  // The linear (Horner) modes never touch a2, m2a, m2a2, e2, m2: null pointers are fine.
  std::mt19937_64 rng(35);
  const Shape s{2, 3, 7};
  const size_t n = 42;
  for (int mode : {int(k::kPolyLinearChannel), int(k::kPolyLinearElement)}) {
    const PolyOperands p = random_poly(rng, s, mode);
    Words z(n, 0);
    k::poly_eval(0, 64, s.outer, s.channels, s.inner, mode, p.d.data(), p.a.data(), nullptr,
                 nullptr, nullptr, p.m1a.data(), p.e1.data(), p.m1.data(), nullptr, nullptr,
                 p.add.data(), z.data());
    EXPECT_EQ(z, ref_poly(0, 64, s, mode, p)) << "mode=" << mode;
  }
}

TEST(PolyEval, LaunchOutsideBoundsWritesNothing) {
  const uint32_t channels = PolyLanes3::max_channels + 1;
  Words in(channels, 1), z(channels, 99);
  const uint64_t* i = in.data();
  k::poly_eval<PolyLanes3>(0, 32, 1, channels, 1, k::kPolyQuadratic, i, i, i, i, i, i, i, i, i, i,
                           i, z.data());
  EXPECT_EQ(z, Words(channels, 99));
  EXPECT_NE(k::poly_eval_arg_error<PolyLanes3>(0, 32, 0, 1, channels, 1), nullptr);
  EXPECT_EQ(k::poly_eval_arg_error<PolyLanes3>(0, 32, 0, 1, channels - 1, 1), nullptr);
  // An unknown mode is refused and the launch skipped.
  k::poly_eval<PolyLanes3>(0, 32, 1, 2, 1, 3, i, i, i, i, i, i, i, i, i, i, i, z.data());
  EXPECT_EQ(z, Words(channels, 99));
  EXPECT_NE(k::poly_eval_arg_error<PolyLanes3>(0, 32, 3, 1, 2, 1), nullptr);
  EXPECT_NE(k::poly_eval_arg_error<PolyLanes3>(0, 32, -1, 1, 2, 1), nullptr);
}

TEST(PolyEval, SharesComputeQuadraticGate) {
  // z0 + z1 = a2[ch] x² + a1[ch] x + a0[ch] from the one-opening gate's operands: d = x − α
  // public, E2 = a2 − m2 and E1 = a1 − m1 public, everything else shared.
  std::mt19937_64 rng(36);
  const Shape s{2, 3, 10};
  const size_t n = 60;
  for (int bits : kBits) {
    const uint64_t m = mask_of(bits);
    const Words x = random_words(rng, n), a2c = random_words(rng, s.channels),
                a1c = random_words(rng, s.channels), a0c = random_words(rng, s.channels),
                m2 = random_words(rng, s.channels), m1 = random_words(rng, s.channels),
                alpha = random_words(rng, n);
    PolyOperands p0, p1;
    p0.d = p1.d = Words(n);
    p0.e2 = p1.e2 = Words(s.channels);
    p0.e1 = p1.e1 = Words(s.channels);
    p0.add = a0c;
    p1.add = random_words(rng, s.channels);  // P1's addend is ignored
    p0.m2 = random_words(rng, s.channels);
    p0.m1 = random_words(rng, s.channels);
    p1.m2 = p1.m1 = Words(s.channels);
    for (uint32_t ch = 0; ch < s.channels; ++ch) {
      p0.e2[ch] = p1.e2[ch] = (a2c[ch] - m2[ch]) & m;
      p0.e1[ch] = p1.e1[ch] = (a1c[ch] - m1[ch]) & m;
      p1.m2[ch] = m2[ch] - p0.m2[ch];
      p1.m1[ch] = m1[ch] - p0.m1[ch];
    }
    auto share = [&](const Words& v, Words& s0, Words& s1) {
      s0 = random_words(rng, v.size());
      s1.resize(v.size());
      for (size_t j = 0; j < v.size(); ++j) s1[j] = v[j] - s0[j];
    };
    Words a2(n), m2a(n), m2a2(n), m1a(n);
    for (size_t j = 0; j < n; ++j) {
      const uint32_t ch = uint32_t(j / s.inner % s.channels);
      a2[j] = alpha[j] * alpha[j];
      m2a[j] = m2[ch] * alpha[j];
      m2a2[j] = m2[ch] * a2[j];
      m1a[j] = m1[ch] * alpha[j];
      p0.d[j] = p1.d[j] = (x[j] - alpha[j]) & m;
    }
    share(alpha, p0.a, p1.a);
    share(a2, p0.a2, p1.a2);
    share(m2a, p0.m2a, p1.m2a);
    share(m2a2, p0.m2a2, p1.m2a2);
    share(m1a, p0.m1a, p1.m1a);
    Words z0(n), z1(n);
    run_poly_core<k::PolyEvalDefaultConfig>(0, bits, s, k::kPolyQuadratic, p0, z0);
    run_poly_core<k::PolyEvalDefaultConfig>(1, bits, s, k::kPolyQuadratic, p1, z1);
    for (size_t j = 0; j < n; ++j) {
      const uint32_t ch = uint32_t(j / s.inner % s.channels);
      ASSERT_EQ((z0[j] + z1[j]) & m, (a2c[ch] * x[j] * x[j] + a1c[ch] * x[j] + a0c[ch]) & m)
          << "bits=" << bits << " j=" << j;
    }
  }
}

TEST(PolyEval, SharesComputeHornerStep) {
  // LinearChannel: z0 + z1 = x·y[ch] + add[ch], one Horner step x·(a2·x + a1) + a0.
  std::mt19937_64 rng(34);
  const Shape s{2, 3, 10};
  const size_t n = 60;
  for (int bits : kBits) {
    const uint64_t m = mask_of(bits);
    const Words x = random_words(rng, n), y = random_words(rng, s.channels),
                add = random_words(rng, s.channels);
    const Words a = random_words(rng, n), b = random_words(rng, s.channels);
    const Words a0 = random_words(rng, n), b0 = random_words(rng, s.channels),
                c0 = random_words(rng, n);
    Words a1(n), b1(s.channels), c1(n), d(n), e(s.channels), z0(n), z1(n);
    for (uint32_t ch = 0; ch < s.channels; ++ch) {
      b1[ch] = b[ch] - b0[ch];
      e[ch] = (y[ch] - b[ch]) & m;
    }
    for (size_t j = 0; j < n; ++j) {
      const uint32_t ch = uint32_t(j / s.inner % s.channels);
      a1[j] = a[j] - a0[j];
      c1[j] = a[j] * b[ch] - c0[j];
      d[j] = (x[j] - a[j]) & m;
    }
    k::poly_eval(0, bits, s.outer, s.channels, s.inner, k::kPolyLinearChannel, d.data(), a0.data(),
                 nullptr, nullptr, nullptr, c0.data(), e.data(), b0.data(), nullptr, nullptr,
                 add.data(), z0.data());
    k::poly_eval(1, bits, s.outer, s.channels, s.inner, k::kPolyLinearChannel, d.data(), a1.data(),
                 nullptr, nullptr, nullptr, c1.data(), e.data(), b1.data(), nullptr, nullptr,
                 add.data(), z1.data());
    for (size_t j = 0; j < n; ++j) {
      const uint32_t ch = uint32_t(j / s.inner % s.channels);
      ASSERT_EQ((z0[j] + z1[j]) & m, (x[j] * y[ch] + add[ch]) & m) << "bits=" << bits;
    }
  }
}

// ----------------------------------------------------------------- trunc

std::vector<int> shifts_for(int bits) {
  std::vector<int> s = {0, 1, bits - 1};
  if (12 < bits - 1) s.push_back(12);
  return s;
}

template <class Config>
void check_trunc_core(uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (int bits : kBits)
    for (int party = 0; party < 2; ++party)
      for (int shift : shifts_for(bits))
        for (uint32_t n : kSizes) {
          const Words x = random_words(rng, n), carry = random_words(rng, n),
                      wrap = random_words(rng, n);
          Words z(n, 5), zt(n, 6);
          k::trunc_exact_combine<Config>(party, bits, shift, n, x.data(), carry.data(),
                                         wrap.data(), z.data());
          for (uint32_t j = 0; j < n; ++j)
            ASSERT_EQ(z[j], ref_trunc_exact(party, bits, shift, x[j], carry[j], wrap[j]))
                << "exact bits=" << bits << " party=" << party << " shift=" << shift;
          trunc_top(k::kTruncExact, party, bits, shift, 0, n, x.data(), carry.data(),
                    wrap.data(), zt.data());
          ASSERT_EQ(zt, z) << "exact top, bits=" << bits << " shift=" << shift;

          for (int offset_bits : {shift, bits - 1}) {
            Words zp(n, 7), zpt(n, 8);
            k::trunc_prob_combine<Config>(party, bits, shift, offset_bits, n, x.data(),
                                          carry.data(), zp.data());
            for (uint32_t j = 0; j < n; ++j)
              ASSERT_EQ(zp[j], ref_trunc_prob(party, bits, shift, offset_bits, x[j], carry[j]))
                  << "prob bits=" << bits << " party=" << party << " shift=" << shift;
            // in2 is not read in probabilistic mode.
            trunc_top(k::kTruncProb, party, bits, shift, offset_bits, n, x.data(),
                      carry.data(), nullptr, zpt.data());
            ASSERT_EQ(zpt, zp) << "prob top, bits=" << bits << " shift=" << shift;
          }
        }
}

TEST(Trunc, CoreAndTopMatchReference) {
  check_trunc_core<k::TruncDefaultConfig>(41);
  check_trunc_core<TruncLanes3>(42);
}

TEST(Trunc, ArgumentChecks) {
  EXPECT_EQ(k::trunc_exact_arg_error(0, 64, 63), nullptr);
  EXPECT_EQ(k::trunc_exact_arg_error(1, 8, 0), nullptr);
  EXPECT_NE(k::trunc_exact_arg_error(0, 64, 64), nullptr);
  EXPECT_NE(k::trunc_exact_arg_error(0, 64, -1), nullptr);
  EXPECT_NE(k::trunc_exact_arg_error(2, 64, 1), nullptr);
  EXPECT_NE(k::trunc_exact_arg_error(0, 7, 1), nullptr);
  EXPECT_EQ(k::trunc_prob_arg_error(0, 32, 12, 12), nullptr);
  EXPECT_NE(k::trunc_prob_arg_error(0, 32, 12, 11), nullptr);
  EXPECT_NE(k::trunc_prob_arg_error(0, 32, 12, 32), nullptr);
}

TEST(Trunc, ExactSharesGiveFloorDivision) {
  std::mt19937_64 rng(43);
  const uint32_t n = 2000;
  for (int bits : kBits) {
    const uint64_t m = mask_of(bits);
    for (int shift : shifts_for(bits)) {
      Words x = random_words(rng, n);
      // Edge values: 0, -1, the extreme signed values.
      x[0] = 0;
      x[1] = m;
      x[2] = uint64_t{1} << (bits - 1);
      x[3] = m >> 1;
      const Words x0 = random_words(rng, n), cr0 = random_words(rng, n),
                  wr0 = random_words(rng, n);
      Words x1(n), cr1(n), wr1(n), z0(n), z1(n);
      Words cr0m(n), wr0m(n);
      for (uint32_t j = 0; j < n; ++j) {
        x1[j] = (x[j] - x0[j]) & m;
        const uint64_t u0 = (x0[j] + (uint64_t{1} << (bits - 1))) & m;
        const uint64_t u1 = x1[j] & m;
        const uint64_t low = shift == 0 ? 0 : mask_of(shift);  // bits below `shift`
        const uint64_t carry = ((u0 & low) + (u1 & low)) >> shift;
        const uint64_t wrap = bits == 64 ? uint64_t(u0 + u1 < u0) : (u0 + u1) >> bits;
        cr0m[j] = cr0[j] & m;
        wr0m[j] = wr0[j] & m;
        cr1[j] = (carry - cr0m[j]) & m;
        wr1[j] = (wrap - wr0m[j]) & m;
      }
      k::trunc_exact_combine(0, bits, shift, n, x0.data(), cr0m.data(), wr0m.data(), z0.data());
      k::trunc_exact_combine(1, bits, shift, n, x1.data(), cr1.data(), wr1.data(), z1.data());
      for (uint32_t j = 0; j < n; ++j) {
        const uint64_t want = static_cast<uint64_t>(to_signed(x[j], bits) >> shift) & m;
        ASSERT_EQ((z0[j] + z1[j]) & m, want)
            << "bits=" << bits << " shift=" << shift << " x=" << to_signed(x[j], bits);
      }
    }
  }
}

TEST(Trunc, ProbWithinOneUlpWithoutWrap) {
  std::mt19937_64 rng(44);
  const uint32_t n = 2000;
  for (int bits : kBits) {
    const uint64_t m = mask_of(bits);
    for (int offset_bits : {bits / 2, bits - 2}) {
      for (int shift : {0, 1, offset_bits / 2, offset_bits}) {
        Words c(n), r_shr0 = random_words(rng, n), r_shr1(n), z0(n), z1(n);
        std::vector<int64_t> x(n);
        for (uint32_t j = 0; j < n; ++j) {
          // |x| < 2^offset_bits and r < 2^bits - 2^(offset_bits+1): no wrap.
          x[j] = static_cast<int64_t>(rng() % (uint64_t{1} << (offset_bits + 1))) -
                 (int64_t{1} << offset_bits);
          const uint64_t r_range = ((m - (uint64_t{1} << (offset_bits + 1))) & m) + 1;
          const uint64_t r = rng() % r_range;
          c[j] = (static_cast<uint64_t>(x[j]) + (uint64_t{1} << offset_bits) + r) & m;
          r_shr0[j] &= m;
          r_shr1[j] = ((r >> shift) - r_shr0[j]) & m;
        }
        k::trunc_prob_combine(0, bits, shift, offset_bits, n, c.data(), r_shr0.data(),
                              z0.data());
        k::trunc_prob_combine(1, bits, shift, offset_bits, n, c.data(), r_shr1.data(),
                              z1.data());
        for (uint32_t j = 0; j < n; ++j) {
          const uint64_t diff = (z0[j] + z1[j] - static_cast<uint64_t>(x[j] >> shift)) & m;
          ASSERT_LE(diff, 1u) << "bits=" << bits << " shift=" << shift << " x=" << x[j];
        }
      }
    }
  }
}

TEST(Trunc, ProbFailureRateWithinDocumentedBound) {
  // r uniform over the whole ring: wrong results (off by far more than 1 ulp) happen with
  // probability about 2^(offset_bits - bits) <= the documented 2^(offset_bits + 1 - bits).
  std::mt19937_64 rng(45);
  const int bits = 32, offset_bits = 20, shift = 12;
  const uint64_t m = mask_of(bits);
  const uint32_t n = 1u << 18;
  Words c(n), r0(n), r1(n), z0(n), z1(n);
  std::vector<int64_t> x(n);
  for (uint32_t j = 0; j < n; ++j) {
    x[j] = static_cast<int64_t>(rng() % (uint64_t{1} << (offset_bits + 1))) -
           (int64_t{1} << offset_bits);
    const uint64_t r = rng() & m;
    c[j] = (static_cast<uint64_t>(x[j]) + (uint64_t{1} << offset_bits) + r) & m;
    r0[j] = rng() & m;
    r1[j] = ((r >> shift) - r0[j]) & m;
  }
  k::trunc_prob_combine(0, bits, shift, offset_bits, n, c.data(), r0.data(), z0.data());
  k::trunc_prob_combine(1, bits, shift, offset_bits, n, c.data(), r1.data(), z1.data());
  uint32_t failures = 0;
  for (uint32_t j = 0; j < n; ++j) {
    const uint64_t diff = (z0[j] + z1[j] - static_cast<uint64_t>(x[j] >> shift)) & m;
    if (diff > 1) ++failures;
  }
  const double bound = double(n) * std::ldexp(1.0, offset_bits + 1 - bits);
  EXPECT_GT(failures, 0u);
  EXPECT_LE(double(failures), bound) << failures << " failures, bound " << bound;
}

// ----------------------------------------------------------------- gmw_and_level

template <class Config>
void check_gmw_core(uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (int party = 0; party < 2; ++party)
    for (uint32_t n : kSizes) {
      const Words d = random_words(rng, n), e = random_words(rng, n), a = random_words(rng, n),
                  b = random_words(rng, n), c = random_words(rng, n);
      Words z(n, 3), zt(n, 4);
      k::gmw_and_level<Config>(party, n, d.data(), e.data(), a.data(), b.data(), c.data(),
                               z.data());
      for (uint32_t j = 0; j < n; ++j) {
        uint64_t want = c[j] ^ (d[j] & b[j]) ^ (e[j] & a[j]);
        if (party == 0) want ^= d[j] & e[j];
        ASSERT_EQ(z[j], want) << "party=" << party << " n=" << n << " j=" << j;
      }
      gmw_and_level_top(party, n, d.data(), e.data(), a.data(), b.data(), c.data(), zt.data());
      ASSERT_EQ(zt, z) << "top, n=" << n;
    }
}

TEST(GmwAndLevel, CoreAndTopMatchReference) {
  check_gmw_core<k::GmwAndDefaultConfig>(51);
  check_gmw_core<GmwLanes3>(52);
}

TEST(GmwAndLevel, XorSharesReconstructAnd) {
  std::mt19937_64 rng(53);
  const uint32_t n = 333;
  const Words x = random_words(rng, n), y = random_words(rng, n), a = random_words(rng, n),
              b = random_words(rng, n), x0 = random_words(rng, n), y0 = random_words(rng, n),
              a0 = random_words(rng, n), b0 = random_words(rng, n), c0 = random_words(rng, n);
  Words a1(n), b1(n), c1(n), d(n), e(n), z0(n), z1(n);
  for (uint32_t j = 0; j < n; ++j) {
    a1[j] = a[j] ^ a0[j];
    b1[j] = b[j] ^ b0[j];
    c1[j] = (a[j] & b[j]) ^ c0[j];
    d[j] = (x0[j] ^ a0[j]) ^ ((x[j] ^ x0[j]) ^ a1[j]);
    e[j] = (y0[j] ^ b0[j]) ^ ((y[j] ^ y0[j]) ^ b1[j]);
  }
  k::gmw_and_level(0, n, d.data(), e.data(), a0.data(), b0.data(), c0.data(), z0.data());
  k::gmw_and_level(1, n, d.data(), e.data(), a1.data(), b1.data(), c1.data(), z1.data());
  for (uint32_t j = 0; j < n; ++j) ASSERT_EQ(z0[j] ^ z1[j], x[j] & y[j]) << "j=" << j;
}

// ----------------------------------------------------------------- b2a_combine

template <class Config>
void check_b2a_core(uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (int bits : kBits)
    for (int party = 0; party < 2; ++party)
      for (uint32_t n : kSizes) {
        const Words packed = random_words(rng, (n + 63) / 64), r = random_words(rng, n);
        Words z(n, 1), zt(n, 2);
        k::b2a_combine<Config>(party, bits, n, packed.data(), r.data(), z.data());
        for (uint32_t j = 0; j < n; ++j)
          ASSERT_EQ(z[j], ref_b2a(party, bits, (packed[j / 64] >> (j % 64)) & 1, r[j]))
              << "bits=" << bits << " party=" << party << " n=" << n << " j=" << j;
        b2a_combine_top(party, bits, n, packed.data(), r.data(), zt.data());
        ASSERT_EQ(zt, z) << "top, bits=" << bits << " n=" << n;
      }
}

TEST(B2aCombine, CoreAndTopMatchReference) {
  check_b2a_core<k::B2aDefaultConfig>(61);
  check_b2a_core<B2aLanes1>(62);
  check_b2a_core<B2aLanes4>(63);
}

TEST(B2aCombine, SharesReconstructBit) {
  std::mt19937_64 rng(64);
  const uint32_t n = 1000;
  for (int bits : kBits) {
    const uint64_t m = mask_of(bits);
    const Words bit_words = random_words(rng, (n + 63) / 64),
                r_words = random_words(rng, (n + 63) / 64), r0 = random_words(rng, n);
    Words e_packed(bit_words.size()), r1(n), z0(n), z1(n);
    for (size_t w = 0; w < e_packed.size(); ++w) e_packed[w] = bit_words[w] ^ r_words[w];
    for (uint32_t j = 0; j < n; ++j) r1[j] = (((r_words[j / 64] >> (j % 64)) & 1) - r0[j]) & m;
    k::b2a_combine(0, bits, n, e_packed.data(), r0.data(), z0.data());
    k::b2a_combine(1, bits, n, e_packed.data(), r1.data(), z1.data());
    for (uint32_t j = 0; j < n; ++j)
      ASSERT_EQ((z0[j] + z1[j]) & m, (bit_words[j / 64] >> (j % 64)) & 1)
          << "bits=" << bits << " j=" << j;
  }
}

// ----------------------------------------------------------------- bit_slice

template <class Config>
void check_bit_slice_core(uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (int bits : {0, 1, 8, 17, 63, 64})
    for (uint32_t n : {0u, 1u, 63u, 64u, 65u, 200u, 1027u}) {
      const uint32_t words = (n + 63) / 64;
      for (uint32_t stride : {words, words + 3}) {
        const Words x = random_words(rng, n);
        Words planes(size_t(bits) * stride + 1, 0xABCD), pt(planes.size(), 0xABCD);
        k::bit_slice<Config>(bits, n, x.data(), planes.data(), stride);
        for (int b = 0; b < bits; ++b)
          for (uint32_t w = 0; w < words; ++w) {
            uint64_t want = 0;
            for (uint32_t j = 0; j < 64; ++j)
              if (64 * w + j < n) want |= ((x[64 * w + j] >> b) & 1) << j;
            ASSERT_EQ(planes[size_t(b) * stride + w], want)
                << "bits=" << bits << " n=" << n << " plane=" << b << " word=" << w;
          }
        // Padding between rows (stride > words) and past the end is untouched.
        for (int b = 0; b < bits; ++b)
          for (uint32_t w = words; w < stride; ++w)
            ASSERT_EQ(planes[size_t(b) * stride + w], 0xABCDu);
        ASSERT_EQ(planes.back(), 0xABCDu);
        bit_slice_top(bits, n, stride, x.data(), pt.data());
        ASSERT_EQ(pt, planes) << "top, bits=" << bits << " n=" << n;
      }
    }
}

TEST(BitSlice, CoreAndTopMatchReference) {
  check_bit_slice_core<k::BitSliceDefaultConfig>(71);
  check_bit_slice_core<BitSliceLanes1>(72);
  check_bit_slice_core<BitSliceLanes4>(73);
}

// ----------------------------------------------------------------- cycle models

TEST(CycleModel, DepthPlusGroupsTimesII) {
  using BC = k::BeaverMulDefaultConfig;
  EXPECT_EQ(k::beaver_mul_combine_cycles(0), uint64_t(BC::depth));
  EXPECT_EQ(k::beaver_mul_combine_cycles(1), uint64_t(BC::depth) + 1);
  EXPECT_EQ(k::beaver_mul_combine_cycles(8), uint64_t(BC::depth) + 1);
  EXPECT_EQ(k::beaver_mul_combine_cycles(9), uint64_t(BC::depth) + 2);
  EXPECT_EQ(k::beaver_mul_combine_cycles<BeaverLanes3>(10), uint64_t(BC::depth) + 4);
  EXPECT_GT(uint64_t(BC::depth), uint64_t(polympc::hls::kAxiReadLatency));

  // matmul at one row: k MAC passes + init + write-back per row, plus the E/A slices
  // (8 words per cycle, per tile: 3000 columns are 3 tiles of 1024).
  using MC = k::MatmulDefaultConfig;
  EXPECT_EQ(k::matmul_combine_cycles(16, 400, 3000),
            uint64_t(MC::depth) + 16u * 402u * ((3000u + MC::lanes - 1) / MC::lanes) + 3u * 16u * 50u);
  // Three rows share each B/F packet: MAC passes per block of 3 rows (ceil(7/3) = 3 blocks);
  // k = 41 in chunks of 16: slices of 2 + 2 + 2 beats; 13 columns in tiles of 6 = 3 + 3 + 1
  // groups of 2 lanes.
  EXPECT_EQ(k::matmul_combine_cycles<MatmulRows3>(7, 41, 13),
            uint64_t(MC::depth) + 3u * 7u * 6u + (2u * 7u + 3u * 41u) * 7u);
  EXPECT_EQ(k::matmul_array_memory_words(k::matmul_geometry<MatmulRows3>(), 7, 41, 13),
            uint64_t(2 * 7 * 41 * 3 + 2 * 41 * 13 * 3 + 2 * 7 * 13));

  using PC = k::PolyEvalDefaultConfig;
  EXPECT_EQ(k::poly_eval_cycles(3, 17), uint64_t(PC::depth) + 3 + 3);

  using TC = k::TruncDefaultConfig;
  EXPECT_EQ(k::trunc_cycles(1000), uint64_t(TC::depth) + 125);
  EXPECT_LT(uint64_t(TC::depth), uint64_t(BC::depth));  // no multiplier (copies: the members are not ODR-defined)

  using GC = k::GmwAndDefaultConfig;
  EXPECT_EQ(k::gmw_and_level_cycles(17), uint64_t(GC::depth) + 3);
  using B2C = k::B2aDefaultConfig;
  EXPECT_EQ(k::b2a_combine_cycles(64), uint64_t(B2C::depth) + 8);
  using SC = k::BitSliceDefaultConfig;
  EXPECT_EQ(k::bit_slice_cycles(64, 65), uint64_t(SC::depth) + 2 * (8 + 64));
  EXPECT_EQ(k::bit_slice_cycles(0, 0), uint64_t(SC::depth));
}

}  // namespace

// ---- launch rules (hls/launch.h, kernels/poly_eval.h), read by sim/, host/ and perfmodel/ ----
TEST(LaunchRule, PolyEvalLaunchesCoverEveryElementOnceWithinTheLimits) {
  struct Case {
    uint64_t outer, channels, inner, max_batch, max_channels;
  };
  // Whole slabs; channel blocks (too many channels, or a slab above max_batch); pieces of
  // one channel run (inner above max_batch).
  for (const Case c : {Case{5, 3, 7, 64, 8}, Case{3, 20, 4, 64, 8}, Case{2, 6, 9, 20, 100},
                       Case{2, 3, 50, 16, 8}, Case{1, 1, 1, 1, 1}}) {
    const uint64_t n = c.outer * c.channels * c.inner;
    std::vector<int> hits(n, 0);
    uint64_t launches = 0;
    k::poly_eval_launches(c.outer, c.channels, c.inner, c.max_batch, c.max_channels,
                          [&](uint64_t o0, uint64_t on, uint64_t c0, uint64_t cn, uint64_t i0, uint64_t len) {
                            ++launches;
                            EXPECT_LE(on * cn * len, c.max_batch);
                            EXPECT_LE(cn, c.max_channels);
                            EXPECT_TRUE(len == c.inner || (on == 1 && cn == 1));
                            for (uint64_t o = o0; o < o0 + on; ++o)
                              for (uint64_t ch = c0; ch < c0 + cn; ++ch)
                                for (uint64_t i = i0; i < i0 + len; ++i) ++hits[(o * c.channels + ch) * c.inner + i];
                          });
    for (uint64_t j = 0; j < n; ++j) ASSERT_EQ(hits[j], 1) << "element " << j;
    EXPECT_GE(launches, (n + c.max_batch - 1) / c.max_batch);
  }
}

TEST(LaunchRule, ElementwiseAndBitSlicedLaunches) {
  std::vector<std::pair<uint64_t, uint64_t>> got;
  polympc::hls::for_each_launch(10, 4, [&](uint64_t o, uint64_t len) { got.emplace_back(o, len); });
  EXPECT_EQ(got, (std::vector<std::pair<uint64_t, uint64_t>>{{0, 4}, {4, 4}, {8, 2}}));
  got.clear();
  polympc::hls::for_each_launch(10, 0, [&](uint64_t o, uint64_t len) { got.emplace_back(o, len); });
  EXPECT_EQ(got, (std::vector<std::pair<uint64_t, uint64_t>>{{0, 10}}));
  got.clear();
  polympc::hls::for_each_launch(0, 4, [&](uint64_t o, uint64_t len) { got.emplace_back(o, len); });
  EXPECT_TRUE(got.empty());
  EXPECT_EQ(polympc::hls::block64_limit(1), 64u);
  EXPECT_EQ(polympc::hls::block64_limit(127), 64u);
  EXPECT_EQ(polympc::hls::block64_limit(200), 192u);
}
