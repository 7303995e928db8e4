// Scale-aware truncation placement (nn/placement.h; docs/protocols.md "Truncation
// placement"): the plan itself, 2PC = twin bit for bit under it on every-layer and residual
// networks, reduced-bit comparisons at a delayed scale, the bound check, and the gain.
#include <gtest/gtest.h>

#include <fstream>

#include "polympc/cpu/cpu_backend.h"
#include "polympc/mpc/protocols.h"
#include "polympc/nn/dataset.h"
#include "polympc/nn/inference.h"
#include "polympc/nn/onnx.h"
#include "polympc/nn/placement.h"
#include "polympc/nn/plain.h"
#include "test_networks.h"
#include "torch_ref.h"

using namespace polympc;
using namespace polympc::testing;

namespace {

const std::string kShippedModel = std::string(POLYMPC_SOURCE_DIR) + "/models/fmnist_cnn.onnx";

const nn::Dataset& test_images() {
  static nn::Dataset d = nn::load_idx_dataset(nn::kFashionMnistDir, "t10k", 8);
  return d;
}

size_t index_of(const nn::Network& net, const std::string& name) {
  for (size_t i = 0; i < net.layers.size(); ++i)
    if (net.layers[i].name == name) return i;
  throw std::runtime_error("no layer " + name);
}

mpc::ProtocolOptions fss_fss() {
  mpc::ProtocolOptions o;
  o.trunc = mpc::TruncMode::Fss;
  o.compare = mpc::CompareMode::Fss;
  return o;
}

}  // namespace

// The shipped model: the conv's truncation waits for the polynomial's input, the ReLU runs
// at scale 2f (no truncation before it), pooling sums merge into the next truncation, and
// the logits leave at scale 2f.
TEST(Placement, ShippedModelPlan) {
  nn::Network net = nn::load_onnx(kShippedModel);
  const mpc::RingConfig r{64, 12};
  const int fc = 20;
  const nn::ScalePlan p = nn::plan_scales(net, r, fss_fss(), fc);
  const int f = 12, poly = mpc::poly_out_scale(r, fss_fss(), fc);
  auto at = [&](const char* name) { return index_of(net, name); };
  EXPECT_EQ(p.in_shift[at("conv1")], 0);
  EXPECT_EQ(p.out_scale[at("conv1")], 2 * f);
  EXPECT_EQ(p.in_shift[at("act1")], f);
  EXPECT_EQ(p.out_scale[at("act1")], poly);
  EXPECT_EQ(p.in_shift[at("pool1")], 0);
  EXPECT_EQ(p.out_scale[at("pool1")], poly + 2);
  EXPECT_EQ(p.in_shift[at("conv2")], poly + 2 - f);
  EXPECT_EQ(p.in_shift[at("act2")], 0);  // ReLU commutes with the truncation
  EXPECT_EQ(p.out_scale[at("act2")], 2 * f);
  EXPECT_EQ(p.in_shift[at("pool2")], 0);
  EXPECT_EQ(p.in_shift[at("fc1")], f + 2);
  EXPECT_EQ(p.output_shift, f);
  const std::vector<nn::ScaleNode> nodes = nn::scale_nodes(net);
  uint64_t truncated = 0;
  for (size_t i = 0; i < nodes.size(); ++i)
    if (p.in_shift[i] > 0) truncated += static_cast<uint64_t>(nodes[i].in_elements);
  EXPECT_EQ(truncated, 9216u + 2304u + 512u + 128u + (poly > f ? 128u : 0u));
  const std::string text = p.explain(nn::scale_nodes(net));
  EXPECT_NE(text.find("act1 (Poly): truncate input by 12 (24 -> 12, 9216 elements"), std::string::npos)
      << text;
  EXPECT_NE(text.find("finished by >> 12"), std::string::npos) << text;
  // Probabilistic truncation: the bound 2^36 leaves no room above 2f for sums.
  mpc::ProtocolOptions prob;
  prob.trunc = mpc::TruncMode::Prob;
  const nn::ScalePlan pp = nn::plan_scales(net, r, prob, fc);
  EXPECT_EQ(pp.max_scale, 2 * f);
  EXPECT_EQ(pp.in_shift[at("pool2")], f);  // the sum would reach 2f + 2
}

// A reduced-bit comparison's range is given at scale f: its layer gets its input truncated
// to f first; a full-ring comparison runs at whatever scale its input has.
TEST(Placement, ReducedBitComparisonSeesItsInputAtScaleF) {
  nn::Network net = nn::load_onnx(kShippedModel);
  const mpc::RingConfig r{64, 12};
  mpc::ProtocolOptions o;
  const size_t act2 = index_of(net, "act2");
  EXPECT_EQ(nn::plan_scales(net, r, o, 20).in_shift[act2], 0);
  o.layer_compare_bits["act2"] = mpc::CompareBits{0, 30};
  const nn::ScalePlan p = nn::plan_scales(net, r, o, 20);
  EXPECT_EQ(p.in_shift[act2], 12);
  EXPECT_EQ(p.out_scale[act2], 12);
  o.layer_compare_bits.clear();
  o.compare_bits = mpc::CompareBits{0, 30};  // every comparison
  EXPECT_EQ(nn::plan_scales(net, r, o, 20).in_shift[act2], 12);
}

// 2PC = twin bit for bit under the plan, for every truncation and comparison mode, on the
// every-layer CNN (poly, avg pools with 4 and 9 windows, ReLU, max pool) and on the
// PyTorch-exported residual network (Add, global average pooling).
class PlacementTwin : public ::testing::TestWithParam<std::pair<mpc::TruncMode, mpc::CompareMode>> {};

TEST_P(PlacementTwin, EveryLayerAndResidualNetworksEqualTheTwin) {
  const auto [trunc, compare] = GetParam();
  nn::InferenceOptions opt;
  opt.batch = 4;
  opt.protocol.trunc = trunc;
  opt.protocol.compare = compare;
  cpu::CpuBackend be0(1), be1(1);
  {
    nn::QuantizedModel q = nn::quantize(every_layer_cnn(), mpc::RingConfig{64, 12});
    const nn::InferenceReport r = nn::run_inproc(q, test_images(), 8, be0, be1, opt);
    EXPECT_EQ(r.logits_equal, 8u);
    const mpc::Words twin = nn::fixed_forward(
        q, nn::encode_input(q.ring, test_images().image(0), 8 * 784), 8, opt.protocol);
    EXPECT_EQ(r.logits_raw, twin);
  }
  {
    nn::QuantizedModel q = nn::quantize(
        nn::load_onnx(std::string(POLYMPC_TEST_DATA_DIR) + "/residual.onnx"), mpc::RingConfig{64, 16});
    const nn::Dataset d = fixture_inputs("residual");
    const nn::InferenceReport r = nn::run_inproc(q, d, static_cast<size_t>(d.count), be0, be1, opt);
    EXPECT_EQ(r.logits_equal, static_cast<size_t>(d.count));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Modes, PlacementTwin,
    ::testing::Values(std::make_pair(mpc::TruncMode::Fss, mpc::CompareMode::Fss),
                      std::make_pair(mpc::TruncMode::Fss, mpc::CompareMode::Gmw),
                      std::make_pair(mpc::TruncMode::Exact, mpc::CompareMode::Gmw),
                      std::make_pair(mpc::TruncMode::Slack, mpc::CompareMode::Fss),
                      std::make_pair(mpc::TruncMode::Slack, mpc::CompareMode::Gmw)),
    [](const auto& p) {
      return std::string(mpc::trunc_mode_name(p.param.first)) + "_" +
             mpc::compare_mode_name(p.param.second);
    });

// A value outside the bound of the chosen truncation is a clear error naming the
// truncation, not a silently wrong result: FSS (|x| < 2^(l-2)) in an l = 40 ring and the
// probabilistic one (|x| < 2^36) with a weight of 1000.
TEST(Placement, ValueOutsideTheTruncationBoundIsAClearError) {
  std::mt19937 g(7);
  nn::Network net;
  net.input_shape = {1, 28, 28};
  net.layers.push_back(conv("conv1", 1, 4, 5, g));  // 4x24x24
  for (float& w : net.layers[0].weight) w = 1000.f;  // outputs up to ~25000 at scale 2f
  net.layers.push_back(simple("act1", nn::OpKind::Relu));
  net.layers.push_back(simple("flatten", nn::OpKind::Flatten));
  net.layers.push_back(linear("fc", 4 * 24 * 24, 10, g));
  net.infer_shapes();
  for (auto [trunc, bits] : {std::make_pair(mpc::TruncMode::Fss, 40), std::make_pair(mpc::TruncMode::Slack, 40),
                             std::make_pair(mpc::TruncMode::Prob, 64)}) {
    nn::QuantizedModel q = nn::quantize(net, mpc::RingConfig{bits, 12}, 8);
    nn::InferenceOptions opt;
    opt.batch = 2;
    opt.protocol.trunc = trunc;
    cpu::CpuBackend be0(1), be1(1);
    try {
      nn::run_inproc(q, test_images(), 2, be0, be1, opt);
      FAIL() << "expected OverflowError for --trunc " << mpc::trunc_mode_name(trunc);
    } catch (const mpc::OverflowError& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("truncation 'fc/trunc'"), std::string::npos) << msg;
      EXPECT_NE(msg.find("outside |x| < 2^"), std::string::npos) << msg;
    }
  }
}

// The gain beyond the shipped model: on the PyTorch exports with max pooling (cnn_view) and
// with Add and global average pooling (residual), the defaults (FSS truncation and
// comparison, placement) against GMW-exact truncation with GMW comparison: online bytes and
// rounds both fall at least 3x, with the same logits as each run's twin.
TEST(Placement, TorchExportsCostAThirdOfTheGmwExactPath) {
  for (const char* name : {"cnn_view", "residual"}) {
    nn::QuantizedModel q = nn::quantize(
        nn::load_onnx(std::string(POLYMPC_TEST_DATA_DIR) + "/" + name + ".onnx"),
        mpc::RingConfig{64, 16});
    const nn::Dataset d = fixture_inputs(name);
    const size_t count = static_cast<size_t>(d.count);
    nn::InferenceOptions old_path, now;
    old_path.protocol.trunc = mpc::TruncMode::Exact;
    old_path.protocol.compare = mpc::CompareMode::Gmw;
    now.protocol = fss_fss();
    cpu::CpuBackend be0(1), be1(1);
    const nn::InferenceReport a = nn::run_inproc(q, d, count, be0, be1, old_path);
    const nn::InferenceReport b = nn::run_inproc(q, d, count, be0, be1, now);
    EXPECT_EQ(a.logits_equal, count) << name;
    EXPECT_EQ(b.logits_equal, count) << name;
    EXPECT_GE(a.online_bytes, 3 * b.online_bytes) << name;
    EXPECT_GE(a.rounds, 3 * b.rounds) << name;
    std::printf("%s: online %.0f -> %.0f B per image (%.2fx), %llu -> %llu rounds (%.2fx)\n", name,
                a.online_bytes, b.online_bytes, a.online_bytes / b.online_bytes,
                static_cast<unsigned long long>(a.rounds), static_cast<unsigned long long>(b.rounds),
                static_cast<double>(a.rounds) / static_cast<double>(b.rounds));
  }
}
