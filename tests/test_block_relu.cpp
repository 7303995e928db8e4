// Block-ReLU (patch-wise ReLU; Gorski, Jevnisek & Avidan, arXiv 2304.10442): the 2PC
// protocol and the 2PC network layer equal their plaintext twins bit for bit with the GMW
// and the FSS comparison, on full and reduced bits; the twin equals the definition (sign
// of each patch sum, cropped patches at the border); the cost is one DReLU per patch plus
// one multiplexer round; bad patch specifications are clear errors.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "polympc/mpc/plaintext.h"
#include "polympc/nn/arch_file.h"
#include "polympc/nn/dataset.h"
#include "polympc/nn/inference.h"
#include "polympc/nn/lowering.h"
#include "polympc/nn/plain.h"
#include "polympc/nn/quantize.h"
#include "polympc/sim/sim_backend.h"
#include "test_networks.h"
#include "test_util.h"
#include "two_party.h"

using namespace polympc;
using namespace polympc::testing;
using mpc::Words;

namespace {

constexpr int64_t kN = 2, kH = 7, kW = 10;

/// The definition, written independently of nn::block_map: element (n, c, y, x) of an h x w
/// channel is kept iff the mod-2^l sum over its patch, rows [y - y % h, min(.. + h, H)) and
/// columns [x - x % w, min(.. + w, W)), is >= 0 as a signed value.
Words reference(const mpc::RingConfig& r, const Words& x, const std::vector<nn::BlockPatch>& ps,
                int64_t N, int64_t H, int64_t W) {
  const auto C = static_cast<int64_t>(ps.size());
  Words y(x.size(), 0);
  auto at = [&](int64_t n, int64_t c, int64_t i, int64_t j) {
    return static_cast<size_t>(((n * C + c) * H + i) * W + j);
  };
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c) {
      const nn::BlockPatch& p = ps[static_cast<size_t>(c)];
      for (int64_t i = 0; i < H; ++i)
        for (int64_t j = 0; j < W; ++j) {
          if (p.kind == nn::BlockPatch::Kind::Identity) y[at(n, c, i, j)] = x[at(n, c, i, j)];
          if (p.kind != nn::BlockPatch::Kind::Rect) continue;
          uint64_t sum = 0;
          const int64_t i0 = i - i % p.h, j0 = j - j % p.w;
          for (int64_t a = i0; a < std::min(i0 + p.h, H); ++a)
            for (int64_t b = j0; b < std::min(j0 + p.w, W); ++b) sum += x[at(n, c, a, b)];
          if (r.to_signed(sum & r.mask()) >= 0) y[at(n, c, i, j)] = x[at(n, c, i, j)];
        }
    }
  return y;
}

/// Random signed values |v| < 2^20 on [kN, C, kH, kW]; in image 0, the first 3x3 patch of
/// the 3x3 channel sums to exactly 0 and the next one to -1.
Words test_tensor(const mpc::RingConfig& r, const std::vector<nn::BlockPatch>& ps, uint64_t seed) {
  const auto C = static_cast<int64_t>(ps.size());
  std::mt19937_64 g(seed);
  std::uniform_int_distribution<int64_t> v(-(int64_t{1} << 20), (int64_t{1} << 20) - 1);
  Words x(static_cast<size_t>(kN * C * kH * kW));
  for (auto& w : x) w = r.from_signed(v(g));
  int64_t c3 = -1;
  for (int64_t c = 0; c < C; ++c)
    if (ps[static_cast<size_t>(c)] == nn::parse_block_patch("3x3")) c3 = c;
  EXPECT_GE(c3, 0);
  for (int64_t first_col : {0, 3}) {
    int64_t sum = 0;
    for (int64_t a = 0; a < 3; ++a)
      for (int64_t b = 0; b < 3; ++b) {
        const auto k = static_cast<size_t>((c3 * kH + a) * kW + first_col + b);
        if (a == 2 && b == 2) x[k] = r.from_signed((first_col == 0 ? 0 : -1) - sum);
        sum += r.to_signed(x[k]);
      }
  }
  return x;
}

nn::Layer test_layer() { return block_relu("block", every_block_patch()); }

mpc::ProtocolOptions options(mpc::CompareMode mode, bool reduced) {
  mpc::ProtocolOptions o;
  o.compare = mode;
  // Bits [0, 40): exact for |sum| < 2^39 (the carry of dropped low bits needs lo > 0).
  if (reduced) o.compare_bits = mpc::CompareBits{0, 40};
  return o;
}

/// The parameters of the 2PC tests: (comparison protocol, reduced bits).
using Comparison = std::tuple<mpc::CompareMode, bool>;
const auto kComparisons = ::testing::Combine(
    ::testing::Values(mpc::CompareMode::Gmw, mpc::CompareMode::Fss), ::testing::Bool());
auto comparison_name(const std::string& reduced) {
  return [reduced](const ::testing::TestParamInfo<Comparison>& p) {
    return std::string(mpc::compare_mode_name(std::get<0>(p.param))) +
           (std::get<1>(p.param) ? reduced : "_full");
  };
}

class BlockReluProtocol : public ::testing::TestWithParam<Comparison> {};

}  // namespace

TEST_P(BlockReluProtocol, EqualsTheTwinAndTheDefinitionOnEveryPatchKind) {
  const auto [mode, reduced] = GetParam();
  const mpc::RingConfig r{64, 12};
  const mpc::ProtocolOptions o = options(mode, reduced);
  const nn::Layer L = test_layer();
  const mpc::BlockMap map = nn::block_map(L, {7, kH, kW}, kN);
  const Words x = test_tensor(r, L.block_patches, 5);
  TwoParty tp(r, o, 17);
  auto [x0, x1] = tp.share(x);
  mpc::deal_block_relu(tp.dealer, map, o, "block", tp.m0, tp.m1);
  Words y0, y1;
  tp.run([&](mpc::Session& s) {
    mpc::PhaseScope ps(s.channel, "block");
    (s.party == 0 ? y0 : y1) = mpc::block_relu(s, s.party == 0 ? x0 : x1, map, "block");
  });
  const Words y = tp.reconstruct(y0, y1);
  const Words twin = mpc::plain::block_relu(r, x, map);
  EXPECT_EQ(y, twin);
  EXPECT_EQ(twin, reference(r, x, L.block_patches, kN, kH, kW));
  // The zero-sum patch passes (DReLU(0) = 1), the patch summing to -1 is zeroed.
  const size_t c3 = 3 * kH * kW;
  for (size_t b = 0; b < 3; ++b) {
    EXPECT_EQ(y[c3 + b], x[c3 + b]) << b;
    EXPECT_EQ(y[c3 + 3 + b], 0u) << b;
  }
  // Both parties' wire equals the counted cost; every dealer item was consumed.
  const mpc::Cost c = mpc::block_relu_cost(r, o, map, "block");
  for (int p = 0; p < 2; ++p) {
    EXPECT_EQ(tp.stats(p, "block").bytes_sent, c.bytes) << "party " << p;
    EXPECT_EQ(tp.stats(p, "block").rounds, c.rounds) << "party " << p;
  }
  EXPECT_EQ(tp.m0.remaining() + tp.m1.remaining(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Comparisons, BlockReluProtocol, kComparisons,
                         comparison_name("_bits0_40"));

TEST(BlockRelu, ReducedBitsDroppingLowBitsAreExactOutsideTheBand) {
  // Bits [4, 40): the DReLU of a patch sum S is exact unless 0 <= S < 2^4, where it may be 0
  // (plain::drelu_bits1 with delta 0 or 1); the test tensor's first 3x3 patch sums to 0.
  const mpc::RingConfig r{64, 12};
  const nn::Layer L = test_layer();
  const mpc::BlockMap map = nn::block_map(L, {7, kH, kW}, kN);
  const Words x = test_tensor(r, L.block_patches, 13);
  const Words exact = mpc::plain::block_relu(r, x, map);
  Words sum(map.patches, 0);
  for (size_t i = 0; i < x.size(); ++i)
    if (map.patch_of[i] >= 0) sum[static_cast<size_t>(map.patch_of[i])] += x[i];
  for (mpc::CompareMode mode : {mpc::CompareMode::Gmw, mpc::CompareMode::Fss}) {
    mpc::ProtocolOptions o;
    o.compare = mode;
    o.compare_bits = mpc::CompareBits{4, 40};
    TwoParty tp(r, o, 23);
    auto [x0, x1] = tp.share(x);
    mpc::deal_block_relu(tp.dealer, map, o, "block", tp.m0, tp.m1);
    Words y0, y1;
    tp.run([&](mpc::Session& s) {
      (s.party == 0 ? y0 : y1) = mpc::block_relu(s, s.party == 0 ? x0 : x1, map, "block");
    });
    const Words y = tp.reconstruct(y0, y1);
    size_t in_band = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      const int64_t p = map.patch_of[i];
      const int64_t s = p >= 0 ? r.to_signed(sum[static_cast<size_t>(p)] & r.mask()) : -1;
      if (s >= 0 && s < 16) {
        ++in_band;
        EXPECT_TRUE(y[i] == x[i] || y[i] == 0) << i;
      } else {
        EXPECT_EQ(y[i], exact[i]) << i << " (" << mpc::compare_mode_name(mode) << ")";
      }
    }
    EXPECT_GE(in_band, 9u);  // the zero-sum patch
  }
}

TEST(BlockRelu, CostIsOneDReluPerPatchAndOneMultiplexerRoundOrTheFssReluGate) {
  const mpc::RingConfig r{64, 12};
  const nn::Layer L = test_layer();
  const std::vector<int64_t> shape = {7, kH, kW};
  const mpc::BlockMap map = nn::block_map(L, shape, kN);
  // DReLUs: per image, H·W for the 1x1 channel and ceil(H/h)·ceil(W/w) per rectangle;
  // identity and zero channels none.
  int64_t per_image = 0;
  for (const nn::BlockPatch& p : L.block_patches)
    if (p.kind == nn::BlockPatch::Kind::Rect)
      per_image += ((kH + p.h - 1) / p.h) * ((kW + p.w - 1) / p.w);
  EXPECT_EQ(nn::block_relu_drelus(L, shape), per_image);
  EXPECT_EQ(map.patches, static_cast<size_t>(kN * per_image));
  const size_t P = map.patches, E = map.rect_elements();
  EXPECT_EQ(E, static_cast<size_t>(kN * 5 * kH * kW));  // 5 of the 7 channels multiplex
  for (mpc::CompareMode mode : {mpc::CompareMode::Gmw, mpc::CompareMode::Fss})
    for (bool reduced : {false, true}) {
      const mpc::ProtocolOptions o = options(mode, reduced);
      const mpc::Cost c = mpc::block_relu_cost(r, o, map, "block");
      const mpc::Cost d = mpc::drelu_cost(r, o, P, "block");
      const std::string what = std::string(mpc::compare_mode_name(mode)) + (reduced ? " 0:40" : "");
      if (mode == mpc::CompareMode::Gmw) {
        // DReLU on the P patch sums, then one round opening d ^ r (P bits) and x - a (E words).
        EXPECT_EQ(c.rounds, d.rounds + 1) << what;
        EXPECT_EQ(c.bytes, d.bytes + 8 * mpc::words_for_bits(P) + 8 * E) << what;
        // Material: the DReLU's, a B2A pair (bits and 0/1 words) and a Beaver triple of E.
        EXPECT_EQ(c.offline_bytes, d.offline_bytes + 8 * (mpc::words_for_bits(P) + P) + 24 * E)
            << what;
      } else {
        // The FSS ReLU gate over patches: open x + r per element (instead of the DReLU's
        // sum + r_in per patch), then e per patch: the rounds of a ReLU, l bits per element
        // and 1 bit per patch.
        EXPECT_EQ(c.rounds, mpc::relu_cost(r, o, 1).rounds) << what;
        EXPECT_EQ(c.bytes, 8 * E + 8 * mpc::words_for_bits(P)) << what;
        // Material: the DCF keys of P patches, r and t·r per element, t and a bit per patch
        // (the DReLU's r_in and bit per patch, plus 2 words per element).
        EXPECT_EQ(c.offline_bytes, d.offline_bytes + 16 * E) << what;
      }
      EXPECT_EQ(c.keygen_aes_blocks, d.keygen_aes_blocks) << what;
    }
  // A layer of identity and zero channels compares nothing and sends nothing.
  nn::Layer free =
      block_relu("free", {nn::parse_block_patch("identity"), nn::parse_block_patch("zero")});
  const mpc::BlockMap fm = nn::block_map(free, {2, kH, kW}, 1);
  EXPECT_EQ(fm.patches, 0u);
  const mpc::Cost fc = mpc::block_relu_cost(r, {}, fm);
  EXPECT_EQ(fc.bytes + fc.rounds + fc.offline_bytes, 0u);
  // All 1x1: as many DReLUs as a ReLU of the same tensor.
  nn::Layer ones = block_relu("ones", std::vector<nn::BlockPatch>(3, nn::parse_block_patch("1x1")));
  EXPECT_EQ(nn::block_map(ones, {3, kH, kW}, kN).patches, static_cast<size_t>(kN * 3 * kH * kW));
}

// ---- the layer in a network: 2PC equals the fixed-point twin bit for bit ------------------

namespace {
const nn::Dataset& images() {
  static nn::Dataset d = nn::load_idx_dataset(nn::kFashionMnistDir, "t10k", 6);
  return d;
}
class BlockReluNetwork : public ::testing::TestWithParam<Comparison> {};
}  // namespace

TEST_P(BlockReluNetwork, PrivateInferenceEqualsTheTwinBitForBit) {
  const auto [mode, reduced] = GetParam();
  const nn::QuantizedModel q = nn::quantize(block_relu_cnn(), mpc::RingConfig{64, 12});
  nn::InferenceOptions opt;
  opt.batch = 3;
  opt.protocol.compare = mode;
  // --relu-bits block=0:36: the layer's sums compared on bits [0, 36) (input at scale f).
  if (reduced) opt.protocol.layer_compare_bits["block"] = mpc::CompareBits{0, 36};
  sim::SimBackend be0, be1;
  const nn::InferenceReport rep = nn::run_inproc(q, images(), 6, be0, be1, opt);
  EXPECT_EQ(rep.logits_equal, 6u);
  EXPECT_EQ(rep.agreement, 1.0);
  const Words x = nn::encode_input(q.ring, images().image(0), 6 * 784);
  EXPECT_EQ(rep.logits_raw, nn::fixed_forward(q, x, 6, opt.protocol));
  // The Block-ReLU layer talks (DReLUs and the multiplexer), in the rounds counted for it.
  bool seen = false;
  for (const nn::LayerReport& l : rep.layers)
    if (l.name == "block") {
      seen = true;
      EXPECT_GT(l.bytes_p0, 0.0);
      EXPECT_GT(l.rounds, 1u);
    }
  EXPECT_TRUE(seen);
}

INSTANTIATE_TEST_SUITE_P(Comparisons, BlockReluNetwork, kComparisons, comparison_name("_bits0_36"));

TEST(BlockRelu, FixedPointTwinTracksTheFloatModel) {
  const nn::Network net = block_relu_cnn();
  const nn::QuantizedModel q = nn::quantize(net, mpc::RingConfig{64, 12});
  const Words fx = nn::fixed_forward(q, nn::encode_input(q.ring, images().image(0), 6 * 784), 6,
                                     mpc::ProtocolOptions{});
  const std::vector<float> fl = nn::float_forward(net, images().image(0), 6);
  ASSERT_EQ(fx.size(), fl.size());
  for (size_t j = 0; j < fl.size(); ++j) EXPECT_NEAR(q.ring.decode(fx[j]), fl[j], 0.02) << j;
  // The float walk keeps exactly the definition's elements (on the fixed-point values).
  nn::Network one;
  one.input_shape = {7, kH, kW};
  one.layers.push_back(test_layer());
  one.infer_shapes();
  const mpc::RingConfig r{64, 12};
  const Words xw = test_tensor(r, one.layers[0].block_patches, 9);
  std::vector<float> xf(xw.size());
  for (size_t j = 0; j < xw.size(); ++j) xf[j] = static_cast<float>(r.to_signed(xw[j]));
  const std::vector<float> yf = nn::float_forward(one, xf.data(), kN);
  const Words ref = reference(r, xw, one.layers[0].block_patches, kN, kH, kW);
  for (size_t j = 0; j < ref.size(); ++j)
    EXPECT_EQ(yf[j], static_cast<float>(r.to_signed(ref[j]))) << j;
}

// ---- errors ------------------------------------------------------------------------------

TEST(BlockRelu, BadPatchSpecificationsAreClearErrors) {
  auto net_with = [](std::vector<nn::BlockPatch> p, std::vector<int64_t> in = {3, 5, 5}) {
    nn::Network net;
    net.input_shape = std::move(in);
    net.layers.push_back(block_relu("blk", std::move(p)));
    return net;
  };
  const nn::BlockPatch two = nn::parse_block_patch("2x2");
  expect_error<nn::ModelError>(
      [&] {
        net_with({two, two}).infer_shapes();
      },
      {"'blk' (BlockRelu)", "has 2 patches", "3 channels"});
  for (int side : {0, 9, -1}) {
    nn::BlockPatch bad = two;
    bad.w = side;
    expect_error<nn::ModelError>(
        [&] {
          net_with({two, bad, two}).infer_shapes();
        },
        {"channel 1", "outside 1..8"});
  }
  expect_error<nn::ModelError>([&] { net_with({two}, {12}).infer_shapes(); }, {"is not [C, H, W]"});
  for (const char* s : {"0x2", "2x9", "9x1", "3", "2x", "x2", "12x2", "2x2x2", "Relu", ""})
    expect_error<nn::ModelError>([&] { nn::parse_block_patch(s); }, {"Block-ReLU patch", "1..8"});
  EXPECT_EQ(nn::block_patch_name(nn::parse_block_patch("relu")), "1x1");
  EXPECT_EQ(nn::block_patch_name(nn::parse_block_patch("8x3")), "8x3");
  EXPECT_EQ(nn::parse_block_patch("zero").kind, nn::BlockPatch::Kind::Zero);
  EXPECT_EQ(nn::parse_block_patch("identity").kind, nn::BlockPatch::Kind::Identity);
  // Protocol level: a map naming a patch that does not exist, a patch without elements, an
  // input of the wrong size.
  mpc::BlockMap m;
  m.patches = 2;
  m.patch_of = {0, 0, 2, mpc::kBlockZero};
  expect_error<mpc::InvalidArgument>([&] { mpc::check_block_map(m, "t"); },
                                     {"t: Block-ReLU element 2", "patch 2"});
  m.patch_of = {0, 0, mpc::kBlockIdentity, -3};
  expect_error<mpc::InvalidArgument>([&] { mpc::check_block_map(m, "t"); }, {"element 3"});
  m.patch_of = {0, 0, mpc::kBlockIdentity};
  expect_error<mpc::InvalidArgument>([&] { mpc::check_block_map(m, "t"); },
                                     {"patch 1 has no element"});
  m.patches = 1;
  mpc::Dealer d(mpc::seed_from_u64(1), mpc::RingConfig{});
  mpc::MaterialStore m0(0), m1(1);
  mpc::deal_block_relu(d, m, {}, "t", m0, m1);
  TwoParty tp;
  mpc::deal_block_relu(tp.dealer, m, {}, "t", tp.m0, tp.m1);
  expect_error<mpc::InvalidArgument>(
      [&] { tp.run([&](mpc::Session& s) { mpc::block_relu(s, Words(5), m, "t"); }); },
      {"input has 5 elements", "patch map 3"});
}

TEST(BlockRelu, ArchitectureFileKeepsThePatches) {
  const nn::Network net = block_relu_cnn();
  const std::string path = temp_path("arch.json");
  nn::save_arch(net, path);
  const nn::ArchFile a = nn::load_arch(path);
  EXPECT_EQ(a.arch.layers.at(1).block_patches, net.layers[1].block_patches);
  EXPECT_EQ(a.architecture_hash, nn::architecture_hash(net));
  // The patches are part of the architecture: changing one changes the hash.
  nn::Network other = net;
  other.layers[1].block_patches[3] = nn::parse_block_patch("2x2");
  EXPECT_NE(nn::architecture_hash(other), nn::architecture_hash(net));
  // A file whose patch is out of range (or missing) is refused with the field named.
  std::string text = read_file(path);
  const size_t k = text.find("\"3x3\"");
  ASSERT_NE(k, std::string::npos);
  write_file(path, text.substr(0, k) + "\"9x3\"" + text.substr(k + 5));
  expect_error<nn::ModelError>([&] { nn::load_arch(path); },
                               {"layer 1 'block'", "field 'patches' entry 3", "1..8"});
  const size_t f = text.find(", \"patches\"");
  const size_t e = text.find(']', f);
  write_file(path, text.substr(0, f) + text.substr(e + 1));
  expect_error<nn::ModelError>([&] { nn::load_arch(path); }, {"missing field 'patches'"});
  std::remove(path.c_str());
}
