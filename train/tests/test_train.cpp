// Trainer smoke test (< 30 s): the torch model, BN folding into the IR, the float IR
// forward, and a short training run whose export round-trips through ONNX.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <numeric>
#include <sstream>

#include "polympc/nn/dataset.h"
#include "polympc/train/model.h"
#include "polympc/train/trainer.h"

namespace {

namespace fs = std::filesystem;
using polympc::train::FmnistCnn;
using polympc::train::IrForward;
using polympc::train::parse_acts;
using polympc::train::TrainError;

TEST(Train, ParseActs) {
  EXPECT_EQ(parse_acts("poly,relu,poly"), (std::vector<bool>{true, false, true}));
  EXPECT_EQ(parse_acts("relu,relu,relu"), (std::vector<bool>{false, false, false}));
  EXPECT_THROW(parse_acts("poly,relu"), TrainError);
  EXPECT_THROW(parse_acts("poly,relu,poly,"), TrainError);
  EXPECT_THROW(parse_acts("poly,gelu,poly"), TrainError);
  EXPECT_THROW(parse_acts(""), TrainError);
}

TEST(Train, FoldedNetworkMatchesTorchModel) {
  torch::manual_seed(3);
  FmnistCnn model(parse_acts("poly,relu,poly"), polympc::train::kPolyScale);
  // A few training-mode passes so BN running statistics and poly coefficients move away
  // from their defaults.
  torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(1e-2));
  for (int i = 0; i < 5; ++i) {
    opt.zero_grad();
    const auto x = torch::rand({16, 1, 28, 28});
    torch::nn::functional::cross_entropy(model->forward(x), torch::randint(10, {16})).backward();
    opt.step();
  }
  model->eval();
  const polympc::nn::Network net = model->to_network();
  std::vector<std::string> names;
  for (const auto& l : net.layers) names.push_back(l.name);
  EXPECT_EQ(names, (std::vector<std::string>{"conv1", "act1", "pool1", "conv2", "act2", "pool2",
                                             "flatten", "fc1", "act3", "fc2"}));
  EXPECT_EQ(net.layers[1].op, polympc::nn::OpKind::Poly);
  EXPECT_EQ(net.layers[1].poly_a2.size(), 16u);
  EXPECT_EQ(net.layers[4].op, polympc::nn::OpKind::Relu);
  EXPECT_EQ(net.layers[8].poly_a1.size(), 128u);

  const auto x = torch::rand({8, 1, 28, 28});
  torch::NoGradGuard no_grad;
  const auto ref = model->forward(x);
  const auto got = IrForward(net)(x);
  EXPECT_LT((ref - got).abs().max().item<double>(), 1e-4);
}

TEST(Train, ShortRunLearnsAndExportRoundTrips) {
  if (!fs::exists(std::string(polympc::nn::kFashionMnistDir) + "/train-images-idx3-ubyte.gz")) {
    GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  }
  polympc::train::TrainOptions o;
  o.epochs = 2;
  o.train_limit = 1024;
  o.test_limit = 500;
  o.batch_size = 64;
  o.seed = 7;
  o.out = (fs::temp_directory_path() /
           ("polympc_test_train_" + std::to_string(static_cast<long>(::getpid())) + ".onnx"))
              .string();
  std::ostringstream log;
  const auto rep = polympc::train::train_and_export(o, log);
  fs::remove(o.out);

  ASSERT_EQ(rep.epochs.size(), 2u);
  ASSERT_GE(rep.batch_losses.size(), 16u);
  const auto mean = [](auto b, auto e) { return std::accumulate(b, e, 0.0) / double(e - b); };
  const double first = mean(rep.batch_losses.begin(), rep.batch_losses.begin() + 4);
  const double last = mean(rep.batch_losses.end() - 4, rep.batch_losses.end());
  EXPECT_LT(last, first - 0.3) << log.str();
  EXPECT_LT(rep.epochs[1].loss, rep.epochs[0].loss);
  EXPECT_GT(rep.torch_accuracy, 0.5) << log.str();
  // The exported file, read back, computes what the torch model computes.
  EXPECT_LT(rep.max_logit_diff, 1e-3);
  EXPECT_NEAR(rep.exported_accuracy, rep.torch_accuracy, 0.005);
  EXPECT_GT(rep.onnx_bytes, 100000);
  ASSERT_EQ(rep.activations.size(), 10u);
  for (const auto& a : rep.activations) {
    EXPECT_GT(a.max_abs, 0.0) << a.layer;
    EXPECT_LT(a.max_abs, 1 << 16) << a.layer;
  }
}

}  // namespace
