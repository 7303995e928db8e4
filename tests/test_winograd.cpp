// Winograd F(2×2,3×3) and F(4×4,3×3) in ring arithmetic (nn/winograd.h, docs/winograd.md):
// the integer matrices against the real transforms of Lavin & Gray 2016, F(2×2,3×3)
// bit-exact against the direct convolution for any ring words, linearity on shares, and
// the fixed-point error of F(4×4,3×3) against the direct form.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>

#include "polympc/mpc/plaintext.h"
#include "polympc/nn/dataset.h"
#include "polympc/nn/inference.h"
#include "polympc/nn/lowering.h"
#include "polympc/nn/placement.h"
#include "polympc/nn/plain.h"
#include "polympc/nn/quantize.h"
#include "polympc/nn/secure.h"
#include "polympc/nn/winograd.h"
#include "kernels/winograd_transform.h"
#include "polympc/cpu/cpu_backend.h"
#include "polympc/mpc/backend.h"
#include "polympc/sim/sim_backend.h"
#include "test_networks.h"
#include "test_util.h"

namespace {

using polympc::mpc::RingConfig;
using polympc::mpc::Words;
namespace nn = polympc::nn;
namespace plain = polympc::mpc::plain;

// A 3×3 stride-1 Conv layer with its out_shape set (no parameters: the tests pass words).
nn::Layer conv3(int64_t C, int64_t M, int64_t H, int64_t W, int pad) {
  nn::Layer L;
  L.name = "conv";
  L.op = nn::OpKind::Conv;
  L.weight_shape = {M, C, 3, 3};
  L.kernel_h = L.kernel_w = 3;
  L.pad_top = L.pad_left = L.pad_bottom = L.pad_right = pad;
  L.out_shape = {M, H + 2 * pad - 2, W + 2 * pad - 2};
  return L;
}

Words random_words(const RingConfig& r, size_t n, std::mt19937_64& g) {
  Words w(n);
  for (auto& v : w) v = g() & r.mask();
  return w;
}

// The direct form: W [M, C·9] · im2col(x) mod 2^l, layout [M, N·Ho·Wo].
Words direct(const RingConfig& r, const nn::Layer& L, const std::vector<int64_t>& in_shape, size_t batch,
             const Words& w, const Words& x) {
  const size_t M = static_cast<size_t>(L.out_shape[0]), K = static_cast<size_t>(in_shape[0] * 9);
  const size_t cols = batch * static_cast<size_t>(L.out_shape[1] * L.out_shape[2]);
  return plain::matmul(r, w, nn::im2col(L, in_shape, batch, x), M, K, cols);
}

// Real matrices of Lavin & Gray 2016 §4.1 / §4.2 from the integer ones: G = Ĝ / g_scale.
double real_g(const nn::WinogradForm& F, int i, int j) {
  return static_cast<double>(F.g[i * 3 + j]) / static_cast<double>(F.g_scale);
}

TEST(Winograd, MatricesComputeTheCorrelationOfOneTile) {
  std::mt19937_64 gen(1);
  std::uniform_real_distribution<double> u(-1, 1);
  for (int m : {2, 4}) {
    const nn::WinogradForm F = nn::winograd_form(m);
    const int a = F.alpha;
    double d[36], k[9];
    for (double& v : d) v = u(gen);
    for (double& v : k) v = u(gen);
    // U = G k G^T, V = B^T d B, Y = A^T (U ⊙ V) A, in double.
    double U[36] = {}, V[36] = {}, P[36], Y[16] = {};
    for (int xi = 0; xi < a; ++xi)
      for (int nu = 0; nu < a; ++nu) {
        for (int i = 0; i < 3; ++i)
          for (int j = 0; j < 3; ++j) U[xi * a + nu] += real_g(F, xi, i) * k[i * 3 + j] * real_g(F, nu, j);
        for (int i = 0; i < a; ++i)
          for (int j = 0; j < a; ++j)
            V[xi * a + nu] += static_cast<double>(F.bt[xi * a + i] * F.bt[nu * a + j]) * d[i * a + j];
        P[xi * a + nu] = U[xi * a + nu] * V[xi * a + nu];
      }
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < m; ++j) {
        for (int xi = 0; xi < a; ++xi)
          for (int nu = 0; nu < a; ++nu)
            Y[i * m + j] += static_cast<double>(F.at[i * a + xi] * F.at[j * a + nu]) * P[xi * a + nu];
        double ref = 0;
        for (int p = 0; p < 3; ++p)
          for (int q = 0; q < 3; ++q) ref += k[p * 3 + q] * d[(i + p) * a + j + q];
        EXPECT_NEAR(Y[i * m + j], ref, 1e-12) << "F(" << m << "x" << m << ",3x3) output (" << i << ", " << j << ")";
      }
  }
}

// F(2×2,3×3) with u_frac = 2: Ĝ = 2G, U = Ĝ g Ĝ^T exactly, and the whole form is an integer
// identity, so it equals 4 · direct mod 2^l for *any* ring words (hence on shares).
TEST(Winograd, F2IsBitExactTimesFourForAnyWords) {
  std::mt19937_64 gen(2);
  struct Case {
    int bits;
    int64_t C, M, H, W;
    int pad;
    size_t batch;
  };
  for (const Case& c : {Case{64, 3, 5, 8, 8, 1, 2}, Case{64, 2, 4, 7, 9, 0, 1}, Case{37, 4, 3, 5, 6, 1, 3},
                        Case{16, 1, 2, 3, 3, 1, 1}, Case{64, 2, 3, 6, 5, 2, 2}}) {
    RingConfig r;
    r.bits = c.bits;
    r.frac = 4;
    const nn::Layer L = conv3(c.C, c.M, c.H, c.W, c.pad);
    const std::vector<int64_t> in_shape{c.C, c.H, c.W};
    const nn::WinogradForm F = nn::winograd_form(2);
    ASSERT_TRUE(F.exact());
    const nn::WinogradGeometry g = nn::winograd_geometry(L, in_shape, 2);
    const Words w = random_words(r, static_cast<size_t>(c.M * c.C * 9), gen);
    const Words x = random_words(r, c.batch * static_cast<size_t>(c.C * c.H * c.W), gen);
    const Words want = direct(r, L, in_shape, c.batch, w, x);
    const Words got = nn::winograd_conv(r, F, g, c.batch, nn::winograd_weights(r, F, w, c.M, c.C), x);
    ASSERT_EQ(got.size(), want.size());
    for (size_t j = 0; j < want.size(); ++j)
      ASSERT_EQ(got[j], (want[j] << 2) & r.mask()) << "l = " << c.bits << ", H x W = " << c.H << "x" << c.W
                                                   << ", pad " << c.pad << ", element " << j;
  }
}

// The input and output transforms are linear mod 2^l: applied to two additive shares they
// give shares of the transform (what makes them local in 2PC).
TEST(Winograd, TransformsAreLocalOnShares) {
  std::mt19937_64 gen(3);
  RingConfig r;
  for (int m : {2, 4}) {
    const nn::WinogradForm F = nn::winograd_form(m);
    const nn::Layer L = conv3(3, 2, 9, 10, 1);
    const nn::WinogradGeometry g = nn::winograd_geometry(L, {3, 9, 10}, m);
    const size_t batch = 2;
    const Words x0 = random_words(r, batch * 3 * 9 * 10, gen), x1 = random_words(r, x0.size(), gen);
    Words x(x0.size());
    for (size_t j = 0; j < x.size(); ++j) x[j] = x0[j] + x1[j];
    const Words v = nn::winograd_input(r, F, g, batch, x), v0 = nn::winograd_input(r, F, g, batch, x0),
                v1 = nn::winograd_input(r, F, g, batch, x1);
    for (size_t j = 0; j < v.size(); ++j) ASSERT_EQ(v[j], v0[j] + v1[j]) << "m = " << m << ", V element " << j;
    const size_t n = static_cast<size_t>(F.alpha * F.alpha * g.M * g.tiles()) * batch;
    const Words p0 = random_words(r, n, gen), p1 = random_words(r, n, gen);
    Words p(n);
    for (size_t j = 0; j < n; ++j) p[j] = p0[j] + p1[j];
    const Words y = nn::winograd_output(r, F, g, batch, p), y0 = nn::winograd_output(r, F, g, batch, p0),
                y1 = nn::winograd_output(r, F, g, batch, p1);
    for (size_t j = 0; j < y.size(); ++j) ASSERT_EQ(y[j], y0[j] + y1[j]) << "m = " << m << ", Y element " << j;
  }
}

// F(4×4,3×3): U = round(2^u_frac · Ĝ g Ĝ^T / 576) is within 1/2 unit (scale f + u_frac) of
// the real G g G^T of the quantized weights.
TEST(Winograd, F4WeightTransformRoundsToNearest) {
  std::mt19937_64 gen(4);
  RingConfig r;
  std::uniform_int_distribution<int64_t> wd(-5000, 5000);
  for (int uf : {0, 3, 6, 8, 12}) {
    const nn::WinogradForm F = nn::winograd_form(4, uf);
    EXPECT_FALSE(F.exact());
    const size_t M = 3, C = 2;
    Words w(M * C * 9);
    for (auto& v : w) v = r.from_signed(wd(gen));
    const Words u = nn::winograd_weights(r, F, w, M, C);
    for (size_t mo = 0; mo < M; ++mo)
      for (size_t c = 0; c < C; ++c)
        for (int xi = 0; xi < 6; ++xi)
          for (int nu = 0; nu < 6; ++nu) {
            double s = 0;
            for (int i = 0; i < 3; ++i)
              for (int j = 0; j < 3; ++j)
                s += real_g(F, xi, i) * static_cast<double>(r.to_signed(w[(mo * C + c) * 9 + i * 3 + j])) *
                     real_g(F, nu, j);
            const double got = static_cast<double>(r.to_signed(u[((xi * 6 + nu) * M + mo) * C + c]));
            EXPECT_LE(std::fabs(got - std::ldexp(s, uf)), 0.5 + 1e-9) << "u_frac " << uf;
          }
  }
}

// Fixed-point error of F(4×4,3×3) on typical data: weights N(0, 1/(9C)) and inputs in
// [-1, 1] at f = 12, C = 16, 64 and 256 input channels, 8 output channels, 14×14, pad 1. The
// Winograd output at scale 2f + u_frac is truncated (floor) by f + u_frac, the direct one
// by f; their difference is counted in units of 2^-f (LSB). Both are also compared with
// the float convolution of the unquantized data. docs/winograd.md "Measured error" holds
// the table this prints.
TEST(Winograd, F4ErrorAgainstTheDirectForm) {
  RingConfig r;  // l = 64, f = 12
  for (int64_t C : {16, 64, 256}) {
    std::mt19937 gen(5);
    std::normal_distribution<float> wdist(0.f, 1.0f / std::sqrt(static_cast<float>(9 * C)));
    std::uniform_real_distribution<float> xdist(-1.f, 1.f);
    const int64_t M = 8, H = 14, W = 14;
    const size_t batch = 1;
    const nn::Layer L = conv3(C, M, H, W, 1);
    const std::vector<int64_t> in_shape{C, H, W};
    Words w(static_cast<size_t>(M * C * 9)), x(static_cast<size_t>(C * H * W));
    std::vector<double> wf(w.size()), xf(x.size());
    for (size_t j = 0; j < w.size(); ++j) w[j] = r.encode(wf[j] = wdist(gen));
    for (size_t j = 0; j < x.size(); ++j) x[j] = r.encode(xf[j] = xdist(gen));
    const Words dz = plain::trunc(r, direct(r, L, in_shape, batch, w, x), r.frac);
    const int64_t S = L.out_shape[1] * L.out_shape[2];
    std::vector<double> ref(dz.size(), 0.0);  // float convolution
    for (size_t j = 0; j < ref.size(); ++j) {
      const int64_t mo = static_cast<int64_t>(j) / S, oy = static_cast<int64_t>(j) % S / W,
                    ox = static_cast<int64_t>(j) % W;
      for (int64_t c = 0; c < C; ++c)
        for (int p = 0; p < 3; ++p)
          for (int q = 0; q < 3; ++q) {
            const int64_t yy = oy - 1 + p, xx = ox - 1 + q;
            if (yy < 0 || yy >= H || xx < 0 || xx >= W) continue;
            ref[j] += wf[static_cast<size_t>((mo * C + c) * 9 + p * 3 + q)] * xf[static_cast<size_t>((c * H + yy) * W + xx)];
          }
    }
    double direct_float = 0;
    for (size_t j = 0; j < dz.size(); ++j)
      direct_float = std::max(direct_float, std::fabs(std::ldexp(static_cast<double>(r.to_signed(dz[j])), -r.frac) - ref[j]));
    for (int uf : {4, 6, 8, 10, 12, 14}) {
      const nn::WinogradForm F = nn::winograd_form(4, uf);
      const nn::WinogradGeometry g = nn::winograd_geometry(L, in_shape, 4);
      const Words wz = plain::trunc(r, nn::winograd_conv(r, F, g, batch, nn::winograd_weights(r, F, w, M, C), x),
                                    r.frac + uf);
      int64_t max_lsb = 0;
      double sum_lsb = 0, wino_float = 0;
      for (size_t j = 0; j < dz.size(); ++j) {
        const int64_t d = std::llabs(r.to_signed(wz[j]) - r.to_signed(dz[j]));
        max_lsb = std::max(max_lsb, d);
        sum_lsb += static_cast<double>(d);
        wino_float = std::max(wino_float, std::fabs(std::ldexp(static_cast<double>(r.to_signed(wz[j])), -r.frac) - ref[j]));
      }
      const double mean_lsb = sum_lsb / static_cast<double>(dz.size());
      std::printf("| %3lld | %2d | %5lld | %.3f | %.2e | %.2e |\n", static_cast<long long>(C), uf,
                  static_cast<long long>(max_lsb), mean_lsb, wino_float, direct_float);
      if (uf == nn::kWinograd4UFrac) {  // the documented bound at the default
        EXPECT_LE(max_lsb, 1) << "C = " << C;
        EXPECT_LE(mean_lsb, 0.1) << "C = " << C;
        EXPECT_LE(wino_float, direct_float + 2 * std::ldexp(1.0, -r.frac)) << "C = " << C;
      }
    }
  }
}

TEST(Winograd, RejectsWhatItDoesNotCompute) {
  nn::Layer L = conv3(2, 2, 8, 8, 0);
  EXPECT_NO_THROW(nn::winograd_geometry(L, {2, 8, 8}, 2));
  L.stride_h = L.stride_w = 2;
  EXPECT_FALSE(nn::winograd_applicable(L));
  EXPECT_THROW(nn::winograd_geometry(L, {2, 8, 8}, 2), nn::ModelError);
  nn::Layer K = conv3(2, 2, 8, 8, 0);
  K.kernel_h = K.kernel_w = 5;
  EXPECT_FALSE(nn::winograd_applicable(K));
  EXPECT_THROW(nn::winograd_form(3), polympc::mpc::InvalidArgument);
  EXPECT_THROW(nn::winograd_geometry(conv3(2, 2, 8, 8, 0), {2, 8, 8}, 3), nn::ModelError);
  const nn::WinogradForm F = nn::winograd_form(2);
  EXPECT_THROW(nn::winograd_weights(RingConfig{}, F, Words(17), 2, 1), polympc::mpc::InvalidArgument);
  // F(4×4,3×3)'s U at scale f + u_frac must fit the ring: a 16-bit ring with a weight of
  // 2^10 gives U[5][5] = 2^(10 + 14).
  RingConfig small;
  small.bits = 16;
  small.frac = 4;
  Words w(9, 0);
  w[8] = 1u << 10;
  EXPECT_THROW(nn::winograd_weights(small, nn::winograd_form(4), w, 1, 1), polympc::mpc::OverflowError);
  // The exact F(2×2,3×3) wraps mod 2^l like every ring operation (no error).
  EXPECT_NO_THROW(nn::winograd_weights(small, F, w, 1, 1));
}

// Multiplications of one image, ResNet-18's 3×3 64-channel stage at 56×56: direct 9·HoWo
// per (M, C) pair; F(2×2,3×3) 16 per 4 outputs (2.25× fewer); F(4×4,3×3) 36 per 16 (4×).
TEST(Winograd, MultiplicationCounts) {
  const nn::Layer L = conv3(64, 64, 56, 56, 1);
  const int64_t direct_mults = 64 * 64 * 9 * 56 * 56;
  const int64_t w2 = nn::winograd_multiplications(nn::winograd_geometry(L, {64, 56, 56}, 2), 2);
  const int64_t w4 = nn::winograd_multiplications(nn::winograd_geometry(L, {64, 56, 56}, 4), 4);
  EXPECT_EQ(w2, 16 * 64 * 64 * 28 * 28);
  EXPECT_EQ(w4, 36 * 64 * 64 * 14 * 14);
  EXPECT_DOUBLE_EQ(static_cast<double>(direct_mults) / static_cast<double>(w2), 2.25);
  EXPECT_DOUBLE_EQ(static_cast<double>(direct_mults) / static_cast<double>(w4), 4.0);
}

// The 2PC algebra of docs/winograd.md "In 2PC", without the runtime: a dealer's per-model
// mask A_U and input mask B with triples C_p = A_U[p] · V(B)[p]; E_U = U − A_U opened at
// setup, F = X − B opened on the raw input; each party transforms F and its share of B
// locally, runs the kernel's matmul_combine (SimBackend) per position and the output
// transform locally. The two output shares sum to the twin's winograd_conv bit for bit.
TEST(Winograd, SharesThroughMatmulCombineEqualTheTwin) {
  polympc::sim::SimBackend backend;
  std::mt19937_64 gen(9);
  for (int bits : {64, 40}) {
    RingConfig r;
    r.bits = bits;
    r.frac = 8;
    for (int m : {2, 4}) {
      const nn::WinogradForm F = nn::winograd_form(m);
      const int64_t C = 3, M = 4, H = 7, W = 9;
      const size_t batch = 2;
      const nn::Layer L = conv3(C, M, H, W, 1);
      const nn::WinogradGeometry g = nn::winograd_geometry(L, {C, H, W}, m);
      const size_t P = static_cast<size_t>(F.alpha * F.alpha), cols = batch * static_cast<size_t>(g.tiles());
      const size_t uM = static_cast<size_t>(M), uC = static_cast<size_t>(C);
      Words w(uM * uC * 9);
      std::uniform_int_distribution<int64_t> wd(-300, 300);
      for (auto& v : w) v = r.from_signed(wd(gen));
      const Words u = nn::winograd_weights(r, F, w, uM, uC);  // server, setup
      const Words x = random_words(r, batch * uC * static_cast<size_t>(H * W), gen);
      auto sub = [&](const Words& a, const Words& b) {
        Words d(a.size());
        for (size_t j = 0; j < a.size(); ++j) d[j] = (a[j] - b[j]) & r.mask();
        return d;
      };
      auto slice = [](const Words& v, size_t p, size_t len) {
        return Words(v.begin() + static_cast<long>(p * len), v.begin() + static_cast<long>((p + 1) * len));
      };
      // Dealer: masks, their shares and the per-position triples.
      const Words a_u = random_words(r, u.size(), gen), b = random_words(r, x.size(), gen);
      const Words vb = nn::winograd_input(r, F, g, batch, b);
      Words c(P * uM * cols);
      for (size_t p = 0; p < P; ++p) {
        const Words cp = plain::matmul(r, slice(a_u, p, uM * uC), slice(vb, p, uC * cols), uM, uC, cols);
        std::copy(cp.begin(), cp.end(), c.begin() + static_cast<long>(p * uM * cols));
      }
      const Words a0 = random_words(r, a_u.size(), gen), b0 = random_words(r, b.size(), gen),
                  c0 = random_words(r, c.size(), gen);
      const Words a_sh[2] = {a0, sub(a_u, a0)}, b_sh[2] = {b0, sub(b, b0)}, c_sh[2] = {c0, sub(c, c0)};
      // Openings: E_U once (setup), F = X − B (per inference, the direct form's opening).
      const Words e = sub(u, a_u), f = sub(x, b);
      const Words vf = nn::winograd_input(r, F, g, batch, f);
      Words y_sum(static_cast<size_t>(M) * batch * static_cast<size_t>(g.Ho * g.Wo), 0);
      for (int party = 0; party < 2; ++party) {
        const Words vb_i = nn::winograd_input(r, F, g, batch, b_sh[party]);  // local
        Words z(P * uM * cols);
        for (size_t p = 0; p < P; ++p) {
          const Words ep = slice(e, p, uM * uC), fp = slice(vf, p, uC * cols), ap = slice(a_sh[party], p, uM * uC),
                      bp = slice(vb_i, p, uC * cols), cp = slice(c_sh[party], p, uM * cols);
          backend.matmul_combine(party, bits, uM, uC, cols, ep.data(), fp.data(), ap.data(), bp.data(), cp.data(),
                                 z.data() + p * uM * cols);
        }
        const Words y_i = nn::winograd_output(r, F, g, batch, z);  // local
        for (size_t j = 0; j < y_sum.size(); ++j) y_sum[j] = (y_sum[j] + y_i[j]) & r.mask();
      }
      EXPECT_EQ(y_sum, nn::winograd_conv(r, F, g, batch, u, x)) << "l = " << bits << ", F(" << m << "x" << m << ",3x3)";
    }
  }
}

// ---- the plaintext twin with a per-layer Winograd choice (Layer::winograd) ----------------

// `net` with every 3×3 stride-1 convolution in the form F(m×m, 3×3); how many there are.
int with_winograd(nn::Network& net, int m) {
  int n = 0;
  for (nn::Layer& L : net.layers)
    if (nn::winograd_applicable(L)) {
      L.winograd = m;
      ++n;
    }
  net.infer_shapes();
  return n;
}

std::vector<float> test_images(const nn::Network& net, size_t batch) {
  std::mt19937 g(7);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  std::vector<float> x(static_cast<size_t>(net.input_size()) * batch);
  for (float& v : x) v = u(g);
  return x;
}

// On the test networks (every_layer_cnn: conv2 3×3 pad 1; block_relu_cnn: conv1 3×3 pad 0),
// exact and FSS truncation: F(2×2,3×3) gives the direct form's logits bit for bit (its
// output is exactly 4× the direct one and the two extra bits join the next floor
// truncation, which commutes with ReLU, max, Block-ReLU's sign, sums and lifts);
// F(4×4,3×3) is within a few LSB (2^-f) of them and the float logits.
TEST(WinogradTwin, MatchesTheDirectFormOnTheTestNetworks) {
  for (const nn::Network& base : {polympc::testing::every_layer_cnn(), polympc::testing::block_relu_cnn()}) {
    for (polympc::mpc::TruncMode mode : {polympc::mpc::TruncMode::Exact, polympc::mpc::TruncMode::Fss}) {
      polympc::mpc::ProtocolOptions o;
      o.trunc = mode;
      const RingConfig r;
      const size_t batch = 4;
      const std::vector<float> img = test_images(base, batch);
      const nn::QuantizedModel qd = nn::quantize(base, r);
      const Words x = nn::encode_input(r, img.data(), img.size());
      const Words direct_logits = nn::fixed_forward(qd, x, batch, o);
      const std::vector<float> fl = nn::float_forward(base, img.data(), batch);
      for (int m : {2, 4}) {
        nn::Network net = base;
        ASSERT_EQ(with_winograd(net, m), 1) << base.name;
        const nn::QuantizedModel q = nn::quantize(net, r);
        const nn::ScalePlan plan = nn::plan_scales(net, r, o, q.coef_frac);
        for (size_t i = 0; i < net.layers.size(); ++i) {
          if (net.layers[i].winograd) {
            EXPECT_EQ(plan.out_scale[i], 2 * r.frac + nn::winograd_form(m).u_frac) << net.layers[i].name;
          }
        }
        const Words logits = nn::fixed_forward(q, x, batch, o);
        ASSERT_EQ(logits.size(), direct_logits.size());
        int64_t max_lsb = 0;
        double max_float_w = 0, max_float_d = 0;
        for (size_t j = 0; j < logits.size(); ++j) {
          max_lsb = std::max<int64_t>(max_lsb, std::llabs(r.to_signed(logits[j]) - r.to_signed(direct_logits[j])));
          max_float_w = std::max(max_float_w, std::fabs(std::ldexp(static_cast<double>(r.to_signed(logits[j])), -r.frac) - fl[j]));
          max_float_d = std::max(max_float_d, std::fabs(std::ldexp(static_cast<double>(r.to_signed(direct_logits[j])), -r.frac) - fl[j]));
        }
        std::printf("%s, %s truncation, F(%dx%d,3x3): |winograd - direct| max %lld LSB; |. - float| %.2e vs %.2e\n",
                    base.name.c_str(), polympc::mpc::trunc_mode_name(mode), m, m, static_cast<long long>(max_lsb),
                    max_float_w, max_float_d);
        if (m == 2) {
          EXPECT_EQ(max_lsb, 0) << base.name;
        } else {
          EXPECT_LE(max_lsb, 4) << base.name;
          EXPECT_LE(max_float_w, max_float_d + 4 * std::ldexp(1.0, -r.frac)) << base.name;
        }
      }
    }
  }
}

TEST(WinogradTwin, LayerChoiceIsChecked) {
  using polympc::testing::expect_error;
  nn::Network net = polympc::testing::every_layer_cnn();
  nn::Network bad = net;
  bad.layers[0].winograd = 2;  // conv1 is 5×5
  expect_error<nn::ModelError>([&] { bad.infer_shapes(); }, {"conv1", "needs a 3x3 stride-1 convolution"});
  bad = net;
  bad.layers[3].winograd = 3;
  expect_error<nn::ModelError>([&] { bad.infer_shapes(); }, {"conv2", "winograd must be 0 (direct), 2 or 4"});
  ASSERT_EQ(with_winograd(net, 4), 1);
  // --trunc prob leaves 2^12 of headroom above 2f only: the output at 2f + 14 does not fit.
  polympc::mpc::ProtocolOptions prob;
  prob.trunc = polympc::mpc::TruncMode::Prob;
  expect_error<polympc::mpc::InvalidArgument>([&] { nn::plan_scales(net, RingConfig{}, prob, 20); },
                                              {"conv2", "use the direct form for this layer"});
}

// `--winograd` (nn::apply_winograd): auto picks F(4×4) where the plan fits, nothing under
// --trunc prob; explicit forms and layers; errors name the item.
TEST(WinogradTwin, ApplyWinogradSpec) {
  using polympc::testing::expect_error;
  const RingConfig r;
  polympc::mpc::ProtocolOptions exact, prob;
  prob.trunc = polympc::mpc::TruncMode::Prob;
  const nn::Network base = polympc::testing::every_layer_cnn();  // conv1 5×5, conv2 3×3
  auto forms = [](const nn::Network& n) { return std::make_pair(n.layers[0].winograd, n.layers[3].winograd); };
  nn::Network net = base;
  EXPECT_EQ(nn::apply_winograd(net, "auto", r, exact, 20), 1);
  EXPECT_EQ(forms(net), std::make_pair(0, 4));
  EXPECT_EQ(nn::apply_winograd(net, "off", r, exact, 20), 0);
  EXPECT_EQ(forms(net), std::make_pair(0, 0));
  EXPECT_EQ(nn::apply_winograd(net, "2", r, exact, 20), 1);
  EXPECT_EQ(forms(net), std::make_pair(0, 2));
  EXPECT_EQ(nn::apply_winograd(net, "4,conv2=0", r, exact, 20), 0);
  EXPECT_EQ(nn::apply_winograd(net, "conv2=4", r, exact, 20), 1);
  EXPECT_EQ(forms(net), std::make_pair(0, 4));
  net = base;
  EXPECT_EQ(nn::apply_winograd(net, "auto", r, prob, 20), 0);  // no headroom for 2f + u_frac
  expect_error<polympc::mpc::InvalidArgument>([&] { nn::apply_winograd(net, "2", r, prob, 20); },
                                              {"conv2", "use the direct form for this layer"});
  net = base;
  expect_error<nn::ModelError>([&] { nn::apply_winograd(net, "conv1=2", r, exact, 20); }, {"conv1", "3x3 stride-1"});
  net = base;
  expect_error<polympc::mpc::InvalidArgument>([&] { nn::apply_winograd(net, "nope=2", r, exact, 20); },
                                              {"nope=2", "no Conv layer 'nope'"});
  expect_error<polympc::mpc::InvalidArgument>([&] { nn::apply_winograd(net, "conv2=3", r, exact, 20); },
                                              {"conv2=3", "0 (direct), 2 or 4"});
  expect_error<polympc::mpc::InvalidArgument>([&] { nn::apply_winograd(net, "fast", r, exact, 20); },
                                              {"'fast'", "auto, off, 2, 4 or LAYER=0|2|4"});
}

// 2PC (dealer, P0, P1 in process, SimBackend, exact truncation) with every 3×3 stride-1
// conv in F(2×2) or F(4×4): logits equal the twin's bit for bit, and the Winograd layer's
// online traffic is the direct form's to the byte (it opens X − B, as the direct one;
// docs/winograd.md "What each party sees"). Only the next truncation's shift grows by
// u_frac, which changes that truncation's cost slightly.
TEST(WinogradTwin, PrivateInferenceEqualsTheTwinBitForBit) {
  const size_t n = 6;
  const nn::Dataset data = nn::load_idx_dataset(nn::kFashionMnistDir, "t10k", n);
  for (const nn::Network& base : {polympc::testing::every_layer_cnn(), polympc::testing::block_relu_cnn()}) {
    nn::InferenceOptions opt;
    opt.batch = 3;
    std::vector<double> direct_bytes;
    double direct_total = 0;
    for (int m : {0, 2, 4}) {
      nn::Network net = base;
      if (m) {
        ASSERT_EQ(with_winograd(net, m), 1);
      }
      const nn::QuantizedModel q = nn::quantize(net, RingConfig{64, 12});
      polympc::sim::SimBackend be0, be1;
      const nn::InferenceReport rep = nn::run_inproc(q, data, n, be0, be1, opt);
      EXPECT_EQ(rep.logits_equal, n) << base.name << ", m = " << m;
      const Words x = nn::encode_input(q.ring, data.image(0), n * static_cast<size_t>(net.input_size()));
      EXPECT_EQ(rep.logits_raw, nn::fixed_forward(q, x, n, opt.protocol)) << base.name << ", m = " << m;
      // The online transforms run on the backend (kernels/winograd_transform.h): per batch,
      // the input transform of F and of the share of B, and the output transform.
      for (const polympc::sim::SimBackend* be : {&be0, &be1}) {
        const auto cs = be->counters();
        if (m) {
          ASSERT_TRUE(cs.count("winograd_transform")) << base.name;
          EXPECT_EQ(cs.at("winograd_transform").calls, 3u * (n / opt.batch)) << base.name << ", m = " << m;
          EXPECT_GT(cs.at("winograd_transform").modelled_cycles, 0u);
        } else {
          EXPECT_FALSE(cs.count("winograd_transform")) << base.name;
        }
      }
      std::printf("%s, m = %d: online %.0f bytes (direct %.0f)\n", base.name.c_str(), m, rep.online_bytes,
                  m ? direct_total : rep.online_bytes);
      for (size_t i = 0; i < net.layers.size(); ++i) {
        const double bytes = rep.layers.at(i).bytes_p0 + rep.layers.at(i).bytes_p1;
        if (m == 0) {
          direct_bytes.push_back(bytes);
        } else if (net.layers[i].winograd) {
          EXPECT_GT(bytes, 0.0) << net.layers[i].name;
          EXPECT_EQ(bytes, direct_bytes.at(i)) << base.name << ", m = " << m << ", " << net.layers[i].name;
        }
      }
      if (m == 0) direct_total = rep.online_bytes;
    }
  }
}

// The same private inference on the CPU backend (its host loop for the transforms): the
// logits are the twin's.
TEST(WinogradTwin, PrivateInferenceOnTheCpuBackendEqualsTheTwin) {
  const size_t n = 4;
  const nn::Dataset data = nn::load_idx_dataset(nn::kFashionMnistDir, "t10k", n);
  for (int m : {2, 4}) {
    nn::Network net = polympc::testing::every_layer_cnn();
    ASSERT_EQ(with_winograd(net, m), 1);
    const nn::QuantizedModel q = nn::quantize(net, RingConfig{64, 12});
    polympc::cpu::CpuBackend be0(2), be1(2);
    nn::InferenceOptions opt;
    opt.batch = 2;
    const nn::InferenceReport rep = nn::run_inproc(q, data, n, be0, be1, opt);
    EXPECT_EQ(rep.logits_equal, n) << "m = " << m;
    const Words x = nn::encode_input(q.ring, data.image(0), n * static_cast<size_t>(net.input_size()));
    EXPECT_EQ(rep.logits_raw, nn::fixed_forward(q, x, n, opt.protocol)) << "m = " << m;
    EXPECT_EQ(be0.counters().at("winograd_transform").calls, 3u * (n / opt.batch));
  }
}

// ---- The transform kernel (kernels/winograd_transform.h) on the backends ------------------

// A tile grid with explicit (possibly asymmetric) padding: Ho = H + pt + pb − 2, etc.
nn::WinogradGeometry grid(int64_t C, int64_t M, int64_t H, int64_t W, int64_t pt, int64_t pl, int64_t pb, int64_t pr,
                          int m) {
  nn::WinogradGeometry g;
  g.C = C;
  g.M = M;
  g.H = H;
  g.W = W;
  g.Ho = H + pt + pb - 2;
  g.Wo = W + pl + pr - 2;
  g.pad_top = pt;
  g.pad_left = pl;
  g.tiles_h = (g.Ho + m - 1) / m;
  g.tiles_w = (g.Wo + m - 1) / m;
  return g;
}

// Backend::winograd_transform (sim: the kernel source; cpu: the host loop with the kernel's
// tile arithmetic) equals nn::winograd_input / nn::winograd_output bit for bit: m = 2, 4;
// same-size and shrinking convolutions, asymmetric padding, border tiles that stick out
// of the output (cropped), sizes below one tile and wider than the kernel's lanes; random
// 64-bit words (garbage above `bits`); rings of 64 and 37 bits.
TEST(WinogradKernel, BackendsEqualTheHostTransformsBitForBit) {
  using polympc::mpc::WinogradMode;
  struct Case {
    int64_t C, M, H, W, pt, pl, pb, pr;
    size_t batch;
  };
  const Case cases[] = {{1, 1, 4, 4, 0, 0, 0, 0, 1},   {2, 3, 5, 5, 1, 1, 1, 1, 2},  {3, 2, 7, 9, 1, 1, 1, 1, 1},
                        {2, 2, 9, 6, 0, 0, 0, 0, 3},   {1, 4, 8, 11, 1, 0, 0, 2, 2}, {4, 1, 3, 3, 1, 1, 1, 1, 1},
                        {2, 3, 14, 70, 1, 1, 1, 1, 1}, {1, 1, 6, 6, 2, 2, 2, 2, 1},  {3, 2, 10, 10, 0, 2, 1, 0, 2}};
  std::mt19937_64 gen(1313);
  polympc::sim::SimBackend sim;
  polympc::cpu::CpuBackend cpu1(1), cpu4(4);
  std::vector<polympc::mpc::Backend*> backends = {&sim, &cpu1, &cpu4};
  size_t checked = 0;
  for (int m : {2, 4})
    for (const Case& c : cases)
      for (int bits : {64, 37}) {
        const RingConfig r{bits, 12};
        const nn::WinogradForm F = nn::winograd_form(m);
        const nn::WinogradGeometry g = grid(c.C, c.M, c.H, c.W, c.pt, c.pl, c.pb, c.pr, m);
        const std::string what = "m=" + std::to_string(m) + " C=" + std::to_string(c.C) + " M=" + std::to_string(c.M) +
                                 " " + std::to_string(c.H) + "x" + std::to_string(c.W) + " pads " +
                                 std::to_string(c.pt) + std::to_string(c.pl) + std::to_string(c.pb) +
                                 std::to_string(c.pr) + " N=" + std::to_string(c.batch) + " bits=" + std::to_string(bits);
        Words x(c.batch * static_cast<size_t>(c.C * c.H * c.W));
        for (auto& v : x) v = gen();  // garbage above bits
        const Words v_want = nn::winograd_input(r, F, g, c.batch, x);
        const size_t P = static_cast<size_t>(F.alpha * F.alpha), cols = c.batch * static_cast<size_t>(g.tiles());
        Words prod(P * static_cast<size_t>(c.M) * cols);
        for (auto& v : prod) v = gen();
        const Words y_want = nn::winograd_output(r, F, g, c.batch, prod);
        for (polympc::mpc::Backend* be : backends) {
          const auto si = nn::winograd_backend_shape(g, m, c.batch, true), so = nn::winograd_backend_shape(g, m, c.batch, false);
          ASSERT_EQ(polympc::mpc::winograd_out_words(WinogradMode::Input, si), v_want.size()) << what;
          ASSERT_EQ(polympc::mpc::winograd_out_words(WinogradMode::Output, so), y_want.size()) << what;
          Words v(v_want.size(), 0xA5A5A5A5A5A5A5A5ull), y(y_want.size(), 0xA5A5A5A5A5A5A5A5ull);
          be->winograd_transform(bits, WinogradMode::Input, si, x.data(), v.data());
          be->winograd_transform(bits, WinogradMode::Output, so, prod.data(), y.data());
          EXPECT_EQ(v, v_want) << be->name() << " input transform, " << what;
          EXPECT_EQ(y, y_want) << be->name() << " output transform, " << what;
          ++checked;
        }
      }
  EXPECT_EQ(checked, 2u * 9u * 2u * 3u);
  // Counters: tiles per call; the sim reports the header's cycle model.
  const auto cs = sim.counters();
  ASSERT_TRUE(cs.count("winograd_transform"));
  EXPECT_EQ(cs.at("winograd_transform").calls, 2u * 9u * 2u * 2u);
  EXPECT_EQ(cpu1.counters().at("winograd_transform").elements, cs.at("winograd_transform").elements);
  EXPECT_EQ(cpu1.counters().at("winograd_transform").modelled_cycles, 0u);
}

// The cycle model of the header comment, by hand: G = N·C·tiles_h·ceil(tiles_w / lanes)
// groups, α² + α² (input) or α² + m² (output) cycles each plus the transform latency.
TEST(WinogradKernel, CycleModel) {
  namespace k = polympc::kernels;
  using Cfg = k::WinogradDefaultConfig;
  using polympc::mpc::WinogradMode;
  static_assert(Cfg::lanes == 8 && Cfg::ii == 1, "the numbers below assume 8 lanes at II = 1");
  // 28 × 28 output, F(2×2): 14 × 14 tiles, ceil(14 / 8) = 2 groups per tile row.
  const uint64_t G2 = 2 * 3 * 14 * 2;
  EXPECT_EQ(k::winograd_transform_cycles(k::kWinogradInput, 2, 6, 28, 28), Cfg::depth + G2 * (16 + 16 + Cfg::xform_latency));
  EXPECT_EQ(k::winograd_transform_cycles(k::kWinogradOutput, 2, 6, 28, 28), Cfg::depth + G2 * (16 + 4 + Cfg::xform_latency));
  // F(4×4): 7 × 7 tiles, 1 group per tile row.
  const uint64_t G4 = 6 * 7;
  EXPECT_EQ(k::winograd_transform_cycles(k::kWinogradInput, 4, 6, 28, 28), Cfg::depth + G4 * (36 + 36 + Cfg::xform_latency));
  EXPECT_EQ(k::winograd_transform_cycles(k::kWinogradOutput, 4, 6, 28, 28), Cfg::depth + G4 * (36 + 16 + Cfg::xform_latency));
  EXPECT_EQ(k::winograd_transform_cycles(k::kWinogradInput, 2, 0, 28, 28), uint64_t(Cfg::depth));
  // The sim backend adds one launch's model per call.
  polympc::sim::SimBackend sim;
  polympc::mpc::WinogradShape s;
  s.m = 4;
  s.batch = 2;
  s.channels = 3;
  s.h = s.w = 28;
  s.ho = s.wo = 28;
  s.pad_top = s.pad_left = 1;
  Words x(polympc::mpc::winograd_in_words(WinogradMode::Input, s), 1),
      v(polympc::mpc::winograd_out_words(WinogradMode::Input, s));
  sim.winograd_transform(64, WinogradMode::Input, s, x.data(), v.data());
  EXPECT_EQ(sim.counters().at("winograd_transform").modelled_cycles,
            k::winograd_transform_cycles(k::kWinogradInput, 4, 6, 28, 28));
  EXPECT_EQ(sim.counters().at("winograd_transform").elements, 6u * 49u);
}

// Bad arguments are InvalidArgument naming the method and the value, on every backend.
TEST(WinogradKernel, BadArgumentsAreClearErrors) {
  using polympc::mpc::WinogradMode;
  polympc::sim::SimBackend sim;
  polympc::cpu::CpuBackend cpu(2);
  Words in(4096, 1), out(4096);
  polympc::mpc::WinogradShape s;
  s.m = 2;
  s.h = s.w = s.ho = s.wo = 4;
  for (polympc::mpc::Backend* be : std::vector<polympc::mpc::Backend*>{&sim, &cpu}) {
    auto msg = [&](int bits, WinogradMode mode, const polympc::mpc::WinogradShape& sh) {
      try {
        be->winograd_transform(bits, mode, sh, in.data(), out.data());
      } catch (const polympc::mpc::InvalidArgument& e) {
        return std::string(e.what());
      }
      return std::string("no error");
    };
    EXPECT_NO_THROW(be->winograd_transform(64, WinogradMode::Input, s, in.data(), out.data()));
    for (int bad_m : {0, 1, 3, 6, -2}) {
      polympc::mpc::WinogradShape b = s;
      b.m = bad_m;
      const std::string e = msg(64, WinogradMode::Input, b);
      EXPECT_NE(e.find("winograd_transform"), std::string::npos) << e;
      EXPECT_NE(e.find("m must be 2"), std::string::npos) << be->name() << ": " << e;
    }
    for (int bad_bits : {7, 65, 0}) {
      const std::string e = msg(bad_bits, WinogradMode::Output, s);
      EXPECT_NE(e.find("bits must be in [8, 64]"), std::string::npos) << be->name() << ": " << e;
    }
    EXPECT_NE(msg(64, static_cast<WinogradMode>(2), s).find("mode must be"), std::string::npos);
    polympc::mpc::WinogradShape huge = s;
    huge.channels = size_t(1) << 31;
    EXPECT_NE(msg(64, WinogradMode::Input, huge).find("below 2^31"), std::string::npos);
  }
  EXPECT_EQ(sim.counters().at("winograd_transform").calls, 1u);
}

}  // namespace
