// End to end: a private inference of a small CNN with every layer kind, on real
// Fashion-MNIST test images, equals its fixed-point plaintext twin bit for bit, on both
// backends; bad requests are clear errors.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "polympc/cpu/cpu_backend.h"
#include "polympc/nn/dataset.h"
#include "polympc/nn/inference.h"
#include "polympc/nn/plain.h"
#include "polympc/sim/sim_backend.h"
#include "test_networks.h"

using namespace polympc;
using namespace polympc::testing;

namespace {

const nn::Dataset& test_images() {
  static nn::Dataset d = nn::load_idx_dataset(nn::kFashionMnistDir, "t10k", 24);
  return d;
}

TEST(PrivateInference, EqualsFixedPointTwinBitForBitOnBothBackends) {
  nn::QuantizedModel q = nn::quantize(every_layer_cnn(), mpc::RingConfig{64, 12});
  nn::InferenceOptions opt;
  opt.batch = 10;  // 24 images: batches of 10, 10, 4
  std::vector<uint64_t> logits_by_backend[2];
  for (int b = 0; b < 2; ++b) {
    std::unique_ptr<mpc::Backend> be0, be1;
    if (b == 0) {
      be0 = std::make_unique<sim::SimBackend>();
      be1 = std::make_unique<sim::SimBackend>();
    } else {
      be0 = std::make_unique<cpu::CpuBackend>(2);
      be1 = std::make_unique<cpu::CpuBackend>(2);
    }
    nn::InferenceReport r = nn::run_inproc(q, test_images(), 24, *be0, *be1, opt);
    EXPECT_EQ(r.logits_equal, 24u) << be1->name();
    EXPECT_EQ(r.agreement, 1.0);
    EXPECT_EQ(r.max_logit_error, 0.0);
    EXPECT_EQ(r.accuracy, r.plaintext_accuracy);
    EXPECT_GT(r.online_bytes, 0.0);
    // The twin itself: check against a direct fixed_forward on the same images.
    mpc::Words x = nn::encode_input(q.ring, test_images().image(0), 24 * 784);
    mpc::Words fx = nn::fixed_forward(q, x, 24);
    EXPECT_EQ(r.logits_raw, fx);
    logits_by_backend[b] = r.logits_raw;
    // Every layer shows up with traffic and rounds.
    for (auto& l : r.layers) {
      if (l.op == "Flatten") {
        EXPECT_EQ(l.rounds, 0u);
        continue;
      }
      EXPECT_GT(l.rounds, 0u) << l.name;
      EXPECT_GT(l.bytes_p0 + l.bytes_p1, 0.0) << l.name;
    }
  }
  EXPECT_EQ(logits_by_backend[0], logits_by_backend[1]);
}

TEST(PrivateInference, FixedPointTwinTracksTheFloatModel) {
  nn::Network net = every_layer_cnn();
  nn::QuantizedModel q = nn::quantize(net, mpc::RingConfig{64, 12});
  mpc::Words x = nn::encode_input(q.ring, test_images().image(0), 8 * 784);
  mpc::Words fx = nn::fixed_forward(q, x, 8);
  std::vector<float> fl = nn::float_forward(net, test_images().image(0), 8);
  ASSERT_EQ(fx.size(), fl.size());
  for (size_t j = 0; j < fl.size(); ++j) EXPECT_NEAR(q.ring.decode(fx[j]), fl[j], 0.02) << j;
}

TEST(PrivateInference, ProbabilisticTruncationStaysClose) {
  nn::QuantizedModel q = nn::quantize(every_layer_cnn(), mpc::RingConfig{64, 12});
  nn::InferenceOptions opt;
  opt.batch = 12;
  opt.protocol.trunc = mpc::TruncMode::Prob;
  opt.protocol.trunc_bound_bits = 40;  // |x| < 2^40 at scale 2f: fails w.p. ~2^-23 per element
  cpu::CpuBackend be0(1), be1(1);
  nn::InferenceReport r = nn::run_inproc(q, test_images(), 12, be0, be1, opt);
  EXPECT_LT(r.max_logit_error, 0.05);
  EXPECT_GE(r.agreement, 0.9);
}

TEST(PrivateInference, MoreImagesThanTheDataSetIsAClearError) {
  nn::QuantizedModel q = nn::quantize(every_layer_cnn(), mpc::RingConfig{64, 12});
  sim::SimBackend be0, be1;
  try {
    nn::run_inproc(q, test_images(), 25, be0, be1, {});
    FAIL() << "expected DatasetError";
  } catch (const nn::DatasetError& e) {
    EXPECT_NE(std::string(e.what()).find("25"), std::string::npos) << e.what();
  }
  EXPECT_THROW(nn::load_idx_dataset(nn::kFashionMnistDir, "t10k", 10001), nn::DatasetError);
}

TEST(PrivateInference, ParameterOverflowNamesTheLayer) {
  nn::Network net = every_layer_cnn();
  net.layers[0].weight[3] = 1e30f;
  try {
    nn::quantize(net, mpc::RingConfig{64, 12});
    FAIL() << "expected OverflowError";
  } catch (const mpc::OverflowError& e) {
    EXPECT_NE(std::string(e.what()).find("conv1"), std::string::npos) << e.what();
  }
}

}  // namespace

// ---- models exported by torch.onnx.export (tests/data, scripts/make_onnx_fixtures.py) ----
#include <fstream>

#include "polympc/nn/onnx.h"

namespace {

struct TorchRef {
  std::vector<int64_t> in_dims, out_dims;
  std::vector<float> input, output;
};

TorchRef read_ref(const std::string& path) {
  std::ifstream f(path);
  EXPECT_TRUE(f.good()) << path;
  TorchRef r;
  auto read_block = [&f](std::vector<int64_t>& dims, std::vector<float>& v) {
    std::string name;
    int rank = 0;
    f >> name >> rank;
    dims.resize(static_cast<size_t>(rank));
    int64_t n = 1;
    for (auto& d : dims) {
      f >> d;
      n *= d;
    }
    v.resize(static_cast<size_t>(n));
    for (auto& x : v) f >> x;
  };
  read_block(r.in_dims, r.input);
  read_block(r.out_dims, r.output);
  return r;
}

class TorchFixture : public ::testing::TestWithParam<const char*> {};

TEST_P(TorchFixture, PrivateInferenceOfATorchExportEqualsTheTwinAndTracksTorch) {
  const std::string base = std::string(POLYMPC_TEST_DATA_DIR) + "/" + GetParam();
  nn::Network net = nn::load_onnx(base + ".onnx");
  TorchRef ref = read_ref(base + ".ref.txt");
  nn::Dataset d;
  d.count = ref.in_dims[0];
  d.channels = ref.in_dims[1];
  d.height = ref.in_dims[2];
  d.width = ref.in_dims[3];
  d.images = ref.input;
  d.labels.assign(static_cast<size_t>(d.count), 0);
  nn::QuantizedModel q = nn::quantize(net, mpc::RingConfig{64, 16});
  cpu::CpuBackend be0(1), be1(1);
  nn::InferenceReport r = nn::run_inproc(q, d, static_cast<size_t>(d.count), be0, be1, {});
  EXPECT_EQ(r.logits_equal, static_cast<size_t>(d.count));
  ASSERT_EQ(r.logits_raw.size(), ref.output.size());
  for (size_t j = 0; j < ref.output.size(); ++j) EXPECT_NEAR(q.ring.decode(r.logits_raw[j]), ref.output[j], 2e-3) << j;
}

INSTANTIATE_TEST_SUITE_P(Fixtures, TorchFixture, ::testing::Values("cnn_view", "cnn_flatten_horner", "residual"));

}  // namespace
