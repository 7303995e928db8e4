// The IR network as a torch module (ir_net.h) and the Block-ReLU method's fine-tuning
// (finetune.h): Block-ReLU in torch against the float twin, gradients, the export, and a
// short allocation + fine-tuning run whose model runs in 2PC like its twin.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>

#include "polympc/cpu/cpu_backend.h"
#include "polympc/nn/block_alloc.h"
#include "polympc/nn/dataset.h"
#include "polympc/nn/inference.h"
#include "polympc/nn/lowering.h"
#include "polympc/nn/onnx.h"
#include "polympc/nn/plain.h"
#include "polympc/nn/quantize.h"
#include "polympc/train/finetune.h"
#include "polympc/train/ir_net.h"
#include "polympc/train/model.h"
#include "test_networks.h"

namespace {

namespace fs = std::filesystem;
namespace nn = polympc::nn;
using polympc::train::IrNet;

std::string temp_path(const std::string& name) {
  return (fs::temp_directory_path() / ("polympc_" + name + "_" + std::to_string(static_cast<long>(::getpid())))).string();
}

bool have_fashion_mnist() {
  return fs::exists(std::string(nn::kFashionMnistDir) + "/train-images-idx3-ubyte.gz");
}

// A short fine-tuning run: one epoch of `train_limit` images, evaluated on `test_limit`.
polympc::train::TrainOptions tiny_finetune(int64_t train_limit, int64_t test_limit, const std::string& out) {
  polympc::train::TrainOptions o;
  o.epochs = 1;
  o.train_limit = train_limit;
  o.test_limit = test_limit;
  o.batch_size = 64;
  o.lr = 5e-4;
  o.threads = 2;
  o.out = temp_path(out) + ".onnx";
  return o;
}

TEST(IrNet, BlockReluEqualsTheFloatTwinOnEveryPatchKind) {
  // conv 7x26x26 -> Block-ReLU with 1x1, identity, zero, 3x3, 4x5, 8x8, 2x7 (right / bottom
  // patches cropped) -> avg pool -> linear, and a plane smaller than the patch (8x8 on 6x6).
  for (const int size : {28, 8}) {
    nn::Network net = polympc::testing::block_relu_cnn();
    net.input_shape = {1, size, size};
    const int64_t side = size - 2, pooled = side / 2;
    std::mt19937 g(3);
    net.layers.back() = polympc::testing::linear("fc", static_cast<int>(7 * pooled * pooled), 10, g);
    net.infer_shapes();
    IrNet model(net);
    torch::manual_seed(4);
    const torch::Tensor x = torch::randn({5, 1, size, size});
    torch::NoGradGuard no_grad;
    const torch::Tensor got = model->forward(x);
    const std::vector<float> want = nn::float_forward(net, x.data_ptr<float>(), 5);
    ASSERT_EQ(got.numel(), static_cast<int64_t>(want.size()));
    const torch::Tensor w = torch::from_blob(const_cast<float*>(want.data()), {5, 10}, torch::kFloat);
    EXPECT_LT((got - w).abs().max().item<double>(), 1e-4) << size << "x" << size;
  }
}

TEST(IrNet, BlockReluMaskIsItsGradientAndBadShapesAreErrors) {
  const std::vector<nn::BlockPatch> p = polympc::testing::every_block_patch();
  torch::manual_seed(5);
  const torch::Tensor x = torch::randn({2, 7, 9, 11}).requires_grad_(true);
  const torch::Tensor y = polympc::train::block_relu(x, p);
  y.sum().backward();
  // dy/dx is the 0/1 mask itself: y = x * grad everywhere, the zero channel has no gradient,
  // the identity channel passes it.
  EXPECT_TRUE(torch::equal(y.detach(), x.detach() * x.grad()));
  EXPECT_EQ(x.grad().select(1, 2).abs().sum().item<double>(), 0.0);
  EXPECT_EQ(x.grad().select(1, 1).sum().item<double>(), 2.0 * 9 * 11);
  // The elements of a 3x3 patch (channel 3) and of a cropped 8x8 one (channel 5) share one
  // decision.
  // (channel, first row, end row, first column, end column) of one patch each: a 3x3, an 8x8
  // and the 8x8 kind's cropped bottom-right patch (rows 8, columns 8..10).
  const int patches[3][5] = {{3, 0, 3, 0, 3}, {5, 0, 8, 0, 8}, {5, 8, 9, 8, 11}};
  for (int n = 0; n < 2; ++n)
    for (const auto& q : patches) {
      const torch::Tensor blk = x.grad()[n][q[0]].slice(0, q[1], q[2]).slice(1, q[3], q[4]);
      EXPECT_EQ(blk.max().item<double>(), blk.min().item<double>()) << n << " " << q[0];
    }
  EXPECT_THROW(polympc::train::block_relu(torch::randn({2, 6, 9, 11}), p), nn::ModelError);
  EXPECT_THROW(polympc::train::block_relu(torch::randn({7, 9, 11}), p), nn::ModelError);
}

TEST(IrNet, ToNetworkReturnsTheParametersAndTrainingMovesThem) {
  const nn::Network net = polympc::testing::every_layer_cnn();
  IrNet model(net);
  const nn::Network same = model->to_network();
  for (size_t i = 0; i < net.layers.size(); ++i) {
    EXPECT_EQ(same.layers[i].weight, net.layers[i].weight) << net.layers[i].name;
    EXPECT_EQ(same.layers[i].bias, net.layers[i].bias) << net.layers[i].name;
    EXPECT_EQ(same.layers[i].poly_a2, net.layers[i].poly_a2) << net.layers[i].name;
  }
  torch::optim::SGD opt(model->parameters(), torch::optim::SGDOptions(0.1));
  torch::manual_seed(6);
  torch::nn::functional::cross_entropy(model->forward(torch::rand({4, 1, 28, 28})), torch::randint(10, {4})).backward();
  opt.step();
  const nn::Network moved = model->to_network();
  EXPECT_NE(moved.layers[0].weight, net.layers[0].weight);
  EXPECT_EQ(moved.layers.size(), net.layers.size());
}

TEST(Finetune, BlockReluAllocationFineTunesExportsAndRunsIn2pcLikeItsTwin) {
  if (!have_fashion_mnist()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const nn::Network base = nn::load_onnx(std::string(POLYMPC_SOURCE_DIR) + "/models/fmnist_cnn.onnx");
  polympc::train::TrainOptions o = tiny_finetune(512, 200, "finetune");
  std::ostringstream log;
  const int64_t budget = nn::network_drelus(base) / 10;
  const polympc::train::BlockReluCalibration c = polympc::train::measure_block_relu(base, 8, o);
  EXPECT_EQ(c.images, 8);
  // A modelled-latency budget: the largest DReLU budget whose allocation meets it (one more
  // DReLU does not), and a clear error below the least latency.
  {
    const std::vector<nn::BlockPatch> kinds = nn::block_patch_candidates();
    const auto latency = [&](int64_t b) {
      return polympc::train::modelled_cost(o, nn::apply_block_allocation(base, nn::allocate_block_patches(base, c.measured, kinds, b))).ms;
    };
    const double least = latency(0), most = latency(nn::network_drelus(base));
    ASSERT_LT(least, most);
    const double ms = least + 0.4 * (most - least);
    const int64_t b = polympc::train::drelu_budget_for_latency(base, c, ms, o);
    EXPECT_LE(latency(b), ms);
    EXPECT_GT(latency(b + 1), ms);
    EXPECT_GT(b, 0);
    EXPECT_LT(b, nn::network_drelus(base));
    EXPECT_EQ(polympc::train::drelu_budget_for_latency(base, c, most, o), nn::network_drelus(base));
    EXPECT_THROW(polympc::train::drelu_budget_for_latency(base, c, 0.5 * least, o), polympc::train::TrainError);
  }
  const polympc::train::BlockReluResult r = polympc::train::block_relu_finetune(base, c, budget, o, log);
  EXPECT_LE(r.drelus, budget);
  EXPECT_GT(r.drelus, budget / 2);  // the knapsack spends its budget
  EXPECT_EQ(r.base_drelus, nn::network_drelus(base));
  EXPECT_EQ(r.report.epochs.size(), 1u);
  EXPECT_LT(r.report.max_logit_diff, 1e-3);  // the export runs as the torch module
  EXPECT_GT(r.report.exported_accuracy, 0.5);
  const nn::Network out = nn::load_onnx(o.out);
  EXPECT_EQ(nn::network_drelus(out), r.drelus);
  const auto meta = nn::onnx_metadata(o.out);
  EXPECT_EQ(meta.at("polympc.method"), "block-relu");
  EXPECT_EQ(meta.at("polympc.drelus"), std::to_string(r.drelus));
  EXPECT_EQ(meta.at("polympc.finetune_epochs"), "1");
  size_t blocks = 0;
  for (size_t i = 0; i < out.layers.size(); ++i) {
    blocks += out.layers[i].op == nn::OpKind::BlockRelu;
    EXPECT_EQ(out.layers[i].op == nn::OpKind::BlockRelu, base.layers[i].op == nn::OpKind::Relu && base.layers[i].out_shape.size() == 3);
  }
  EXPECT_GE(blocks, 1u);
  // Fine-tuning moved the weights (the structure stayed).
  EXPECT_NE(out.layers[0].weight, base.layers[0].weight);

  const nn::Dataset data = nn::load_idx_dataset(nn::kFashionMnistDir, "t10k", 12);
  const nn::QuantizedModel q = nn::quantize(out, polympc::mpc::RingConfig{64, 12});
  polympc::cpu::CpuBackend be0(2), be1(2);
  nn::InferenceOptions opt;
  opt.batch = 6;
  opt.protocol.compare = polympc::mpc::CompareMode::Fss;
  const auto run = nn::run_inproc(q, data, 12, be0, be1, opt);
  EXPECT_EQ(run.agreement, 1.0);
  EXPECT_EQ(run.logits_equal, 12u);
  fs::remove(o.out);

  // A budget below what the allocation cannot change, and inputs of the wrong shape.
  const nn::Network maxed = polympc::testing::every_layer_cnn();
  EXPECT_THROW(polympc::train::block_relu_finetune(maxed, polympc::train::measure_block_relu(maxed, 2, o), 0, o, log),
               nn::ModelError);
  EXPECT_THROW(polympc::train::measure_block_relu(base, 0, o), polympc::train::TrainError);
  o.dataset = "cifar10";
  EXPECT_THROW(polympc::train::finetune_and_export(base, o, {}, log), polympc::train::TrainError);
}

// Quantisation-aware training (IrNetImpl::set_fake_quant): at a coarse fixed point (f = 3,
// conv2 at 2) the fake-quantized forward is much closer to the fixed-point twin's logits than
// the float forward is; the gradient passes through; fine-tuning with it exports float
// parameters (off again) and records its accuracy.
TEST(Qat, FakeQuantizedForwardFollowsTheFixedPointTwin) {
  if (!have_fashion_mnist()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  nn::Network net = nn::load_onnx(std::string(POLYMPC_SOURCE_DIR) + "/models/fmnist_pasnet_lambda0.onnx");
  nn::set_layer_values(net, {{"conv2", 2}}, nn::kFracBits);
  const polympc::mpc::RingConfig ring{34, 3};
  const size_t n = 16;
  const nn::Dataset data = nn::load_idx_dataset(nn::kFashionMnistDir, "t10k", static_cast<int64_t>(n));
  const polympc::mpc::Words y = nn::fixed_forward(nn::quantize(net, ring), nn::encode_input(ring, data.image(0), n * 784), n,
                                                  polympc::mpc::ProtocolOptions{});
  std::vector<double> decoded(y.size());
  for (size_t j = 0; j < y.size(); ++j) decoded[j] = ring.decode(y[j]);
  const torch::Tensor twin = torch::tensor(decoded, torch::kDouble).view({static_cast<long>(n), 10});
  const torch::Tensor x = torch::from_blob(const_cast<float*>(data.image(0)), {static_cast<long>(n), 1, 28, 28}).clone();
  IrNet model(net);
  model->eval();
  const torch::Tensor fl = model->forward(x).to(torch::kDouble).detach();
  model->set_fake_quant(ring.frac);
  const torch::Tensor xq = x.clone().requires_grad_(true);
  const torch::Tensor fq = model->forward(xq);
  const double err_float = (fl - twin).abs().max().item<double>();
  const double err_fq = (fq.to(torch::kDouble).detach() - twin).abs().max().item<double>();
  EXPECT_LT(err_fq, 0.25 * err_float) << "float " << err_float << ", fake-quantized " << err_fq;
  fq.sum().backward();
  EXPECT_GT(xq.grad().abs().sum().item<double>(), 0.0) << "the gradient passes straight through";

  polympc::train::TrainOptions o = tiny_finetune(256, 100, "qat");
  o.qat_frac = ring.frac;
  std::ostringstream log;
  const polympc::train::TrainReport r = polympc::train::finetune_and_export(net, o, {{"polympc.method", "qat"}}, log);
  EXPECT_GT(r.qat_accuracy, 0.2) << "well above chance at f = 3";
  EXPECT_LT(r.max_logit_diff, 1e-3) << "exported float, as the module without fake quantization";
  const nn::Network out = nn::load_onnx(o.out);
  EXPECT_EQ(out.layers[3].frac_bits, 2) << "the scales travel with the model";
  EXPECT_NE(out.layers[0].weight, net.layers[0].weight);
  fs::remove(o.out);
  o.qat_frac = -1;
  EXPECT_THROW(polympc::train::finetune_and_export(net, o, {}, log), polympc::train::TrainError);
}

}  // namespace
