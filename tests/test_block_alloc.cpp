// Knapsack allocation of Block-ReLU patch sizes (nn/block_alloc.h): the multiple-choice
// knapsack against brute force, the per-channel distortion against its definition and on
// channels whose answer is known, and the transformed network in 2PC against its
// fixed-point twin, bit for bit.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "polympc/nn/block_alloc.h"
#include "polympc/nn/dataset.h"
#include "polympc/nn/inference.h"
#include "polympc/nn/lowering.h"
#include "polympc/nn/onnx.h"
#include "polympc/nn/plain.h"
#include "polympc/nn/quantize.h"
#include "polympc/sim/sim_backend.h"
#include "test_networks.h"

namespace polympc::testing {
namespace {

using nn::KnapsackOption;
using Items = std::vector<std::vector<KnapsackOption>>;

/// Best value over every choice within the budget (-inf when none fits).
double brute_force(const Items& items, int64_t budget) {
  double best = -std::numeric_limits<double>::infinity();
  std::vector<size_t> pick(items.size(), 0);
  for (;;) {
    int64_t cost = 0;
    double value = 0;
    for (size_t i = 0; i < items.size(); ++i) {
      cost += items[i][pick[i]].cost;
      value += items[i][pick[i]].value;
    }
    if (cost <= budget && value > best) best = value;
    size_t i = 0;
    while (i < items.size() && ++pick[i] == items[i].size()) pick[i++] = 0;
    if (i == items.size()) return best;
  }
}

Items random_items(std::mt19937& g, bool with_free_option) {
  std::uniform_int_distribution<int> n_items(1, 5), n_opts(1, 4), cost(0, 7);
  std::normal_distribution<double> value(0.0, 1.0);
  Items items(static_cast<size_t>(n_items(g)));
  for (auto& opts : items) {
    opts.resize(static_cast<size_t>(n_opts(g)));
    for (auto& o : opts) o = {cost(g), value(g)};
    if (with_free_option) opts[0].cost = 0;
  }
  return items;
}

TEST(Knapsack, EqualsBruteForceOnRandomInstances) {
  std::mt19937 g(2304);
  int solved = 0, infeasible = 0;
  for (int t = 0; t < 2000; ++t) {
    const Items items = random_items(g, t % 2 == 0);
    int64_t most = 0;
    for (const auto& opts : items) {
      int64_t m = 0;
      for (const auto& o : opts) m = std::max(m, o.cost);
      most += m;
    }
    const int64_t budget = std::uniform_int_distribution<int64_t>(0, most + 2)(g);
    const double best = brute_force(items, budget);
    if (std::isinf(best)) {
      EXPECT_THROW(nn::solve_multiple_choice_knapsack(items, budget), std::invalid_argument);
      ++infeasible;
      continue;
    }
    const nn::KnapsackChoice c = nn::solve_multiple_choice_knapsack(items, budget);
    ASSERT_EQ(c.choice.size(), items.size());
    int64_t cost = 0;
    double value = 0;
    for (size_t i = 0; i < items.size(); ++i) {
      ASSERT_GE(c.choice[i], 0);
      ASSERT_LT(static_cast<size_t>(c.choice[i]), items[i].size());
      cost += items[i][static_cast<size_t>(c.choice[i])].cost;
      value += items[i][static_cast<size_t>(c.choice[i])].value;
    }
    EXPECT_EQ(c.cost, cost) << t;
    EXPECT_LE(c.cost, budget) << t;
    EXPECT_NEAR(c.value, value, 1e-9) << t;
    EXPECT_NEAR(c.value, best, 1e-9) << t;
    ++solved;
  }
  // Both paths ran many times.
  EXPECT_GT(solved, 1000);
  EXPECT_GT(infeasible, 20);
}

TEST(Knapsack, BudgetIsRespectedExactlyAtTheEnds) {
  // Value grows with cost: the optimum spends as much as the budget allows.
  Items items(6);
  int64_t most = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    items[i] = {
        {0, -10.0}, {1 + static_cast<int64_t>(i), -1.0}, {3 + 2 * static_cast<int64_t>(i), 0.0}};
    most += items[i].back().cost;
  }
  const nn::KnapsackChoice zero = nn::solve_multiple_choice_knapsack(items, 0);
  EXPECT_EQ(zero.cost, 0);
  for (int c : zero.choice) EXPECT_EQ(c, 0);
  const nn::KnapsackChoice all = nn::solve_multiple_choice_knapsack(items, most);
  EXPECT_EQ(all.cost, most);
  for (int c : all.choice) EXPECT_EQ(c, 2);
  // One DReLU short of all-most-expensive: the best spends at most most - 1.
  const nn::KnapsackChoice short_one = nn::solve_multiple_choice_knapsack(items, most - 1);
  EXPECT_LE(short_one.cost, most - 1);
  EXPECT_NEAR(short_one.value, brute_force(items, most - 1), 1e-12);
  for (int64_t b = 0; b <= most; ++b)
    EXPECT_LE(nn::solve_multiple_choice_knapsack(items, b).cost, b);
}

TEST(Knapsack, BadInstancesAreClearErrors) {
  EXPECT_THROW(nn::solve_multiple_choice_knapsack({{{0, 1.0}}}, -1), std::invalid_argument);
  EXPECT_THROW(nn::solve_multiple_choice_knapsack({{{0, 1.0}}, {}}, 5), std::invalid_argument);
  EXPECT_THROW(nn::solve_multiple_choice_knapsack({{{-1, 1.0}}}, 5), std::invalid_argument);
  EXPECT_THROW(nn::solve_multiple_choice_knapsack({{{0, std::nan("")}}}, 5), std::invalid_argument);
  EXPECT_THROW(nn::solve_multiple_choice_knapsack({{{3, 1.0}}}, 2), std::invalid_argument);
  // No items: nothing to choose, cost 0.
  EXPECT_EQ(nn::solve_multiple_choice_knapsack({}, 0).cost, 0);
}

// ---- distortion -------------------------------------------------------------------------

/// conv 3x3 with 2 channels: channel 0's pre-activation is > 0 on inputs in [0, 1] (weights
/// and bias positive), channel 1's < 0 (bias -5) -> ReLU -> flatten -> linear -> logits.
nn::Network signed_channels_net() {
  std::mt19937 g(5);
  nn::Network net;
  net.name = "signed";
  net.input_shape = {1, 7, 7};
  nn::Layer c = conv("conv", 1, 2, 3, g);
  for (size_t j = 0; j < 9; ++j) c.weight[j] = 0.1f, c.weight[9 + j] = 0.1f;
  c.bias = {0.1f, -5.0f};
  net.layers.push_back(c);  // 2x5x5
  net.layers.push_back(simple("relu", nn::OpKind::Relu, 1));
  net.layers.push_back(simple("flatten", nn::OpKind::Flatten));
  net.layers.push_back(linear("fc", 50, 4, g));
  net.infer_shapes();
  return net;
}

std::vector<float> random_images(size_t count, size_t size, unsigned seed) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  std::vector<float> x(count * size);
  for (float& v : x) v = u(g);
  return x;
}

TEST(BlockDistortion, KnownChannelsAndEveryKindAgainstTheDefinition) {
  const nn::Network net = signed_channels_net();
  const auto kinds = nn::block_patch_candidates();
  ASSERT_EQ(kinds.size(), 66u);
  const size_t N = 5;
  const std::vector<float> x = random_images(N, 49, 1);
  const auto d = nn::measure_block_distortion(net, x.data(), N, 2, kinds);
  ASSERT_EQ(d.size(), 1u);
  ASSERT_EQ(d[0].layer, 1u);
  ASSERT_EQ(d[0].distortion.size(), 2u);
  for (size_t k = 0; k < kinds.size(); ++k) {
    const bool zero = kinds[k].kind == nn::BlockPatch::Kind::Zero;
    const bool identity = kinds[k].kind == nn::BlockPatch::Kind::Identity;
    // Channel 0 is non-negative: every kind but zero keeps it as ReLU does.
    if (zero)
      EXPECT_GT(d[0].distortion[0][k], 1e-6);
    else
      EXPECT_EQ(d[0].distortion[0][k], 0.0) << nn::block_patch_name(kinds[k]);
    // Channel 1 is negative: every kind but identity zeroes it as ReLU does.
    if (identity)
      EXPECT_GT(d[0].distortion[1][k], 1e-6);
    else
      EXPECT_EQ(d[0].distortion[1][k], 0.0) << nn::block_patch_name(kinds[k]);
  }
}

/// conv -> ReLU [4, 24, 24] -> avg pool -> conv -> ReLU [6, 12, 12] -> max pool -> flatten ->
/// linear -> ReLU [16] (flat: stays ReLU) -> linear.
nn::Network relu_cnn() {
  std::mt19937 g(7);
  nn::Network net;
  net.name = "relu-cnn";
  net.input_shape = {1, 28, 28};
  net.layers.push_back(conv("conv1", 1, 4, 5, g));
  net.layers.push_back(simple("act1", nn::OpKind::Relu, 1));
  net.layers.push_back(simple("pool1", nn::OpKind::AvgPool));
  net.layers.push_back(conv("conv2", 4, 6, 3, g, 1));
  net.layers.push_back(simple("act2", nn::OpKind::Relu, 1));
  net.layers.push_back(simple("pool2", nn::OpKind::MaxPool));
  net.layers.push_back(simple("flatten", nn::OpKind::Flatten));
  net.layers.push_back(linear("fc1", 6 * 6 * 6, 16, g));
  net.layers.push_back(simple("act3", nn::OpKind::Relu, 1));
  net.layers.push_back(linear("fc2", 16, 10, g));
  net.infer_shapes();
  return net;
}

TEST(BlockDistortion, EqualsAFreshForwardPassOfTheChangedNetwork) {
  const nn::Network net = relu_cnn();
  const std::vector<nn::BlockPatch> kinds = {
      nn::parse_block_patch("identity"), nn::parse_block_patch("zero"),
      nn::parse_block_patch("1x1"), nn::parse_block_patch("3x5"), nn::parse_block_patch("8x8")};
  const size_t N = 5;
  const std::vector<float> x = random_images(N, 784, 3);
  const auto d = nn::measure_block_distortion(net, x.data(), N, 3, kinds);  // batches of 3 and 2
  ASSERT_EQ(d.size(), 2u);
  const std::vector<float> ref = nn::float_forward(net, x.data(), N);
  bool some_positive = false;
  for (const nn::LayerDistortion& ld : d)
    for (int64_t c : {int64_t{0}, ld.channels - 1})
      for (size_t k = 0; k < kinds.size(); ++k) {
        // The network with this one channel changed, run from scratch.
        nn::BlockAllocation a;
        a.patches[ld.layer] =
            std::vector<nn::BlockPatch>(static_cast<size_t>(ld.channels), kinds[2]);
        a.patches[ld.layer][static_cast<size_t>(c)] = kinds[k];
        const std::vector<float> y =
            nn::float_forward(nn::apply_block_allocation(net, a), x.data(), N);
        double sq = 0;
        for (size_t j = 0; j < y.size(); ++j)
          sq += (double{y[j]} - ref[j]) * (double{y[j]} - ref[j]);
        EXPECT_NEAR(ld.distortion[static_cast<size_t>(c)][k], sq / N, 1e-5 + 1e-4 * sq / N)
            << ld.layer << " " << c << " " << nn::block_patch_name(kinds[k]);
        some_positive |= ld.distortion[static_cast<size_t>(c)][k] > 0;
      }
  EXPECT_TRUE(some_positive);
  EXPECT_THROW(nn::measure_block_distortion(net, x.data(), 0, 3, kinds), nn::ModelError);
}

// ---- allocation, transformation, 2PC ----------------------------------------------------

TEST(BlockAllocation, BudgetCountsTheFlatReluAndTheNetworkRunsIn2pcLikeItsTwin) {
  const nn::Network net = relu_cnn();
  // Fixed: act3's 16 and pool2's comparisons (a tournament of 3 per 2x2 window, 6x6x6 outputs).
  const int64_t fixed = 16 + 6 * 6 * 6 * 3;
  EXPECT_EQ(nn::maxpool_drelus(net, 5), 6 * 6 * 6 * 3);
  EXPECT_EQ(nn::maxpool_drelus(net, 2), 0);  // an average pool compares nothing
  EXPECT_EQ(nn::fixed_relu_drelus(net), fixed);
  EXPECT_EQ(nn::network_drelus(net), 4 * 24 * 24 + 6 * 12 * 12 + fixed);
  const nn::Dataset images = nn::load_idx_dataset(nn::kFashionMnistDir, "train", 8);
  const auto kinds = nn::block_patch_candidates();
  const auto d = nn::measure_block_distortion(net, images.image(0), 8, 4, kinds);
  EXPECT_THROW(nn::allocate_block_patches(net, d, kinds, fixed - 1), nn::ModelError);
  const int64_t budget = nn::network_drelus(net) / 5;
  const nn::BlockAllocation a = nn::allocate_block_patches(net, d, kinds, budget);
  EXPECT_LE(a.drelus, budget - fixed);
  const nn::Network out = nn::apply_block_allocation(net, a);
  EXPECT_EQ(out.layers[1].op, nn::OpKind::BlockRelu);
  EXPECT_EQ(out.layers[4].op, nn::OpKind::BlockRelu);
  EXPECT_EQ(out.layers[8].op, nn::OpKind::Relu);
  EXPECT_EQ(nn::network_drelus(out), a.drelus + fixed);
  // Every activation site of relu_cnn is a ReLU; all_relu_drelus counts no max pool.
  EXPECT_EQ(nn::all_relu_drelus(out), nn::network_drelus(net) - 6 * 6 * 6 * 3);
  EXPECT_LE(nn::network_drelus(out), budget);
  // The DReLUs come from the same cost the Block-ReLU layer reports.
  EXPECT_EQ(nn::block_relu_drelus(out.layers[1], out.layers[0].out_shape) +
                nn::block_relu_drelus(out.layers[4], out.layers[3].out_shape),
            a.drelus);
  // The chosen distortion is the sum of the chosen channels' measured distortions.
  double sum = 0;
  for (const nn::LayerDistortion& ld : d)
    for (int64_t c = 0; c < ld.channels; ++c)
      for (size_t k = 0; k < kinds.size(); ++k)
        if (kinds[k] == a.patches.at(ld.layer)[static_cast<size_t>(c)])
          sum += ld.distortion[static_cast<size_t>(c)][k];
  EXPECT_NEAR(a.distortion, sum, 1e-9 * (1 + sum));

  // ONNX keeps the patches and the metadata.
  const std::string path = ::testing::TempDir() + "block_alloc_roundtrip.onnx";
  nn::save_onnx(out, path, {{"polympc.method", "block-relu"}});
  const nn::Network back = nn::load_onnx(path);
  ASSERT_EQ(back.layers.size(), out.layers.size());
  for (size_t i : {size_t{1}, size_t{4}}) {
    EXPECT_EQ(back.layers[i].op, nn::OpKind::BlockRelu);
    EXPECT_EQ(back.layers[i].block_patches, out.layers[i].block_patches);
  }
  EXPECT_EQ(nn::onnx_metadata(path).at("polympc.method"), "block-relu");

  const nn::QuantizedModel q = nn::quantize(out, mpc::RingConfig{64, 12});
  const nn::Dataset test = nn::load_idx_dataset(nn::kFashionMnistDir, "t10k", 8);
  for (mpc::CompareMode mode : {mpc::CompareMode::Gmw, mpc::CompareMode::Fss}) {
    nn::InferenceOptions opt;
    opt.batch = 4;
    opt.protocol.compare = mode;
    sim::SimBackend be0, be1;
    const nn::InferenceReport rep = nn::run_inproc(q, test, 8, be0, be1, opt);
    EXPECT_EQ(rep.agreement, 1.0) << mpc::compare_mode_name(mode);
    EXPECT_EQ(rep.logits_raw, nn::fixed_forward(q, nn::encode_input(q.ring, test.image(0), 8 * 784),
                                                8, opt.protocol))
        << mpc::compare_mode_name(mode);
  }

  // Wrong allocations are errors naming the layer.
  nn::BlockAllocation bad;
  bad.patches[8] = std::vector<nn::BlockPatch>(16, kinds[2]);
  EXPECT_THROW(nn::apply_block_allocation(net, bad), nn::ModelError);
  bad.patches.clear();
  bad.patches[1] = std::vector<nn::BlockPatch>(3, kinds[2]);
  EXPECT_THROW(nn::apply_block_allocation(net, bad), nn::ModelError);
}

}  // namespace
}  // namespace polympc::testing
