// Trainer smoke test (< 30 s): the torch model, BN folding into the IR, the float IR
// forward, and a short training run whose export round-trips through ONNX.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <numeric>
#include <sstream>

#include "polympc/cpu/cpu_backend.h"
#include "polympc/nn/dataset.h"
#include "polympc/nn/inference.h"
#include "polympc/nn/quantize.h"
#include "polympc/nn/onnx.h"
#include "polympc/nn/block_alloc.h"
#include "polympc/train/model.h"
#include "polympc/train/reshape.h"
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

namespace {

using polympc::train::ActChoice;
using polympc::train::PoolChoice;

TEST(Search, LatencyTableIsThePerformanceModels) {
  polympc::train::TrainOptions o;
  o.compare = "fss";
  o.trunc = "slack";
  o.board = "u280";
  o.network = "lan";
  o.phase = "total";
  const auto table = polympc::train::site_latencies(o);
  ASSERT_EQ(table.size(), 5u);  // act1, pool1, act2, pool2, act3
  for (const auto& s : table) {
    EXPECT_GT(s.ms[0], 0.0) << s.site;  // a ReLU or a max pool compares
    if (s.kind == "activation")
      EXPECT_GT(s.ms[1], 0.0) << s.site;  // a polynomial multiplies
    else
      EXPECT_GE(s.ms[1], 0.0) << s.site;  // an average pool is a local sum
  }
  const double all_relu = polympc::train::modelled_latency_ms(o, "relu,relu,relu", "max,max");
  const double all_poly = polympc::train::modelled_latency_ms(o, "poly,poly,poly", "avg,avg");
  double table_diff = 0;
  for (const auto& s : table) table_diff += s.ms[0] - s.ms[1];
  // Sites are priced independently; the network total differs by the same amount up to the
  // truncation placement, which moves with the choices (docs/protocols.md).
  EXPECT_GT(all_relu, all_poly);
  EXPECT_NEAR(all_relu - all_poly, table_diff, 0.25 * std::abs(table_diff));
  polympc::train::TrainOptions bad = o;
  bad.board = "no-such-board";
  EXPECT_ANY_THROW(polympc::train::site_latencies(bad));
  // Every ring width is priced: at l = 40 (f = 6) each site's ReLU or max pool costs less
  // than at l = 64; a per-layer width of its own (act2 in 24 bits) less again.
  polympc::train::TrainOptions narrow = o;
  narrow.ring_bits = 40;
  narrow.frac_bits = 6;
  const auto t40 = polympc::train::site_latencies(narrow);
  narrow.layer_bits = "act2=24";
  const auto t24 = polympc::train::site_latencies(narrow);
  ASSERT_EQ(t40.size(), table.size());
  for (size_t i = 0; i < table.size(); ++i) {
    EXPECT_LT(t40[i].ms[0], table[i].ms[0]) << table[i].site;
    if (table[i].site == "act2") {
      EXPECT_LT(t24[i].ms[0], t40[i].ms[0]);
    }
  }
  bad = o;
  bad.layer_bits = "act2=7";
  EXPECT_ANY_THROW(polympc::train::site_latencies(bad));
}

TEST(Search, MixedSitesExpectedLatencyAndArgmax) {
  torch::manual_seed(5);
  FmnistCnn model(std::vector<ActChoice>(3, ActChoice::Mix), std::vector<PoolChoice>(2, PoolChoice::Mix),
                  polympc::train::kPolyScale);
  EXPECT_EQ(model->alpha_parameters().size(), 5u);
  const std::map<std::string, std::array<double, 2>> lat = {
      {"act1", {4.0, 2.0}}, {"act2", {1.0, 3.0}}, {"act3", {2.0, 2.0}}, {"pool1", {1.0, 0.0}}, {"pool2", {0.0, 1.0}}};
  // alpha = 0: every mix weighs 1/2.
  EXPECT_NEAR(model->expected_latency(lat).item<double>(), 0.5 * (6 + 4 + 4 + 1 + 1), 1e-5);
  // Descending on the latency alone moves every alpha toward its cheaper choice.
  torch::optim::SGD opt(model->alpha_parameters(), torch::optim::SGDOptions(1.0));
  for (int i = 0; i < 20; ++i) {
    opt.zero_grad();
    model->expected_latency(lat).backward();
    opt.step();
  }
  const auto w = model->mix_weights();
  EXPECT_GT(w.at("act1")[1], 0.9);   // poly cheaper
  EXPECT_GT(w.at("act2")[0], 0.9);   // relu cheaper
  EXPECT_GT(w.at("pool1")[1], 0.9);  // avg cheaper
  EXPECT_GT(w.at("pool2")[0], 0.9);  // max cheaper
  EXPECT_THROW(model->to_network(), TrainError);  // a mix cannot be exported
  const auto chosen = model->fix_choices();
  EXPECT_EQ(chosen.at("act1"), "poly");
  EXPECT_EQ(chosen.at("act2"), "relu");
  EXPECT_EQ(chosen.at("pool1"), "avg");
  EXPECT_EQ(chosen.at("pool2"), "max");
  const polympc::nn::Network net = model->to_network();
  EXPECT_EQ(net.layers[1].op, polympc::nn::OpKind::Poly);
  EXPECT_EQ(net.layers[2].op, polympc::nn::OpKind::AvgPool);
  EXPECT_EQ(net.layers[4].op, polympc::nn::OpKind::Relu);
  EXPECT_EQ(net.layers[5].op, polympc::nn::OpKind::MaxPool);
  // The exported network computes what the module computes.
  model->eval();
  torch::NoGradGuard no_grad;
  const auto x = torch::rand({4, 1, 28, 28});
  EXPECT_LT((model->forward(x) - IrForward(net)(x)).abs().max().item<double>(), 1e-4);
}

/// Options of a short search (512 images, 1 + 1 epochs) writing a temporary ONNX file.
polympc::train::TrainOptions short_search(double lambda) {
  polympc::train::TrainOptions o;
  o.search = true;
  o.lambda = lambda;
  o.alpha_lr = 0.05;
  o.search_epochs = 1;
  o.epochs = 1;
  o.train_limit = 512;
  o.test_limit = 200;
  o.batch_size = 64;
  o.seed = 11;
  o.trunc = "slack";
  o.out = (fs::temp_directory_path() /
           ("polympc_test_search_" + std::to_string(static_cast<long>(::getpid())) + ".onnx"))
              .string();
  return o;
}

bool have_fashion_mnist() {
  return fs::exists(std::string(polympc::nn::kFashionMnistDir) + "/train-images-idx3-ubyte.gz");
}

TEST(Search, ShortSearchChoosesByLatencyAndWritesMetadata) {
  if (!have_fashion_mnist()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const polympc::train::TrainOptions o = short_search(50);  // latency dominates: every site takes its cheaper choice
  std::ostringstream log;
  const auto rep = polympc::train::train_and_export(o, log);
  const auto meta = polympc::nn::onnx_metadata(o.out);
  const polympc::nn::Network loaded = polympc::nn::load_onnx(o.out);
  fs::remove(o.out);
  ASSERT_EQ(rep.search.size(), 5u) << log.str();
  for (const auto& c : rep.search) {
    const int cheaper = c.ms[1] < c.ms[0] ? 1 : 0;
    EXPECT_GT(c.weight[cheaper], c.weight[1 - cheaper]) << c.site << "\n" << log.str();
  }
  EXPECT_EQ(meta.at("polympc.search"), "pasnet");
  EXPECT_EQ(meta.at("polympc.acts"), rep.acts);
  EXPECT_EQ(meta.at("polympc.pools"), rep.pools);
  EXPECT_EQ(meta.at("polympc.trunc"), "slack");
  EXPECT_NEAR(std::stod(meta.at("polympc.modelled_latency_ms")), rep.modelled_latency_ms, 1e-3);
  EXPECT_NEAR(rep.modelled_latency_ms, polympc::train::modelled_latency_ms(o, rep.acts, rep.pools), 1e-9);
  // The exported layers are the chosen ones.
  EXPECT_EQ(loaded.layers[1].op == polympc::nn::OpKind::Poly ? "poly" : "relu", rep.acts.substr(0, 4));
}

TEST(Search, LambdaZeroLeavesTheChoiceToTheData) {
  if (!have_fashion_mnist()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  // The same run as above without the latency term: alpha moves by the cross-entropy alone,
  // so the sites do not all lean to their cheaper choice (and none is pushed hard).
  polympc::train::TrainOptions o = short_search(0);
  std::ostringstream log;
  const auto rep = polympc::train::train_and_export(o, log);
  fs::remove(o.out);
  ASSERT_EQ(rep.search.size(), 5u) << log.str();
  int leaning_cheaper = 0;
  for (const auto& c : rep.search) {
    const int cheaper = c.ms[1] < c.ms[0] ? 1 : 0;
    leaning_cheaper += c.weight[cheaper] > c.weight[1 - cheaper] ? 1 : 0;
  }
  EXPECT_LT(leaning_cheaper, 5) << log.str();
  EXPECT_EQ(rep.metadata.at("polympc.lambda"), std::to_string(0.0));
}

// ---------------------------------------------------------------------------- ResNet-8

using polympc::train::make_supernet;

TEST(ResNet8, FoldedNetworkMatchesTorchAndRunsIn2pcLikeItsTwin) {
  torch::manual_seed(9);
  const std::vector<ActChoice> acts = {ActChoice::Relu, ActChoice::Poly, ActChoice::Relu, ActChoice::Poly,
                                       ActChoice::Poly, ActChoice::Relu, ActChoice::Poly};
  const auto model = make_supernet("resnet8", acts, {}, {1, 28, 28}, 10, polympc::train::kPolyScale);
  torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(1e-2));
  for (int i = 0; i < 4; ++i) {  // move BN statistics and poly coefficients off their defaults
    opt.zero_grad();
    torch::nn::functional::cross_entropy(model->forward(torch::rand({16, 1, 28, 28})), torch::randint(10, {16}))
        .backward();
    opt.step();
  }
  model->eval();
  polympc::nn::Network net = model->to_network();
  std::vector<std::string> adds, acts_seen;
  for (const auto& l : net.layers) {
    if (l.op == polympc::nn::OpKind::Add) adds.push_back(l.name);
    if (l.op == polympc::nn::OpKind::Relu || l.op == polympc::nn::OpKind::Poly) acts_seen.push_back(l.name);
  }
  EXPECT_EQ(adds, (std::vector<std::string>{"b1.add", "b2.add", "b3.add"}));
  EXPECT_EQ(acts_seen, model->act_sites());
  EXPECT_TRUE(model->pool_sites().empty());

  // Through an ONNX file, as `polympc infer` reads it.
  const std::string path = (fs::temp_directory_path() /
                            ("polympc_test_resnet8_" + std::to_string(static_cast<long>(::getpid())) + ".onnx"))
                               .string();
  polympc::nn::save_onnx(net, path);
  net = polympc::nn::load_onnx(path);
  fs::remove(path);
  torch::NoGradGuard no_grad;
  const auto x = torch::rand({6, 1, 28, 28});
  EXPECT_LT((model->forward(x) - IrForward(net)(x)).abs().max().item<double>(), 1e-4);

  polympc::nn::Dataset data;
  data.count = 6;
  data.images.assign(x.data_ptr<float>(), x.data_ptr<float>() + x.numel());
  data.labels.assign(6, 0);
  const polympc::nn::QuantizedModel q = polympc::nn::quantize(net, polympc::mpc::RingConfig{64, 12});
  polympc::cpu::CpuBackend be0(2), be1(2);
  polympc::nn::InferenceOptions opt2pc;
  opt2pc.batch = 3;
  const auto r = polympc::nn::run_inproc(q, data, 6, be0, be1, opt2pc);
  EXPECT_EQ(r.agreement, 1.0);
  EXPECT_EQ(r.logits_equal, 6u);  // 2PC logits equal the fixed-point twin's, bit for bit
  EXPECT_LT(r.max_logit_error, 1e-9);
}

TEST(ResNet8, TakesCifarShapedInputsAndChecksItsSites) {
  torch::manual_seed(2);
  const auto model = make_supernet("resnet8", std::vector<ActChoice>(7, ActChoice::Mix), {}, {3, 32, 32}, 10,
                                   polympc::train::kPolyScale);
  EXPECT_EQ(model->alpha_parameters().size(), 7u);
  EXPECT_EQ(model->forward(torch::rand({2, 3, 32, 32})).sizes(), (std::vector<int64_t>{2, 10}));
  EXPECT_THROW(make_supernet("resnet8", std::vector<ActChoice>(3, ActChoice::Relu), {}, {1, 28, 28}, 10, 1.0),
               TrainError);
  EXPECT_THROW(make_supernet("vgg", {}, {}, {1, 28, 28}, 10, 1.0), TrainError);
  EXPECT_THROW(make_supernet("fmnist-cnn", std::vector<ActChoice>(3, ActChoice::Relu),
                             std::vector<PoolChoice>(2, PoolChoice::Avg), {3, 32, 32}, 10, 1.0),
               TrainError);
  EXPECT_EQ(parse_acts("poly", 7), std::vector<bool>(7, true));
  EXPECT_THROW(parse_acts("poly,relu,poly", 7), TrainError);

  polympc::train::TrainOptions o;
  o.arch = "resnet8";
  o.trunc = "slack";
  const auto table = polympc::train::site_latencies(o);
  ASSERT_EQ(table.size(), 7u);
  for (size_t i = 0; i < table.size(); ++i) {
    EXPECT_EQ(table[i].site, "act" + std::to_string(i + 1));
    EXPECT_GT(table[i].ms[0], 0.0);
  }
  EXPECT_GT(polympc::train::modelled_latency_ms(o, "relu", ""), polympc::train::modelled_latency_ms(o, "poly", ""));
  o.dataset = "cifar10";
  EXPECT_EQ(polympc::train::site_latencies(o).size(), 7u);
  o.dataset = "mnist";
  EXPECT_THROW(polympc::train::site_latencies(o), TrainError);
}

}  // namespace

// ---- DeepReShape's family (train/reshape.h, nn/reshape.h): widths and linear ("id") sites ----
namespace {

/// ReLU elements + 3 comparisons per 2x2 max-pool output of an IR (network_drelus).
int64_t ir_drelus(polympc::nn::Network net) {
  net.infer_shapes();
  return polympc::nn::network_drelus(net);
}

std::vector<std::string> layer_names(const polympc::nn::Network& net) {
  std::vector<std::string> names;
  for (const auto& l : net.layers) names.push_back(l.name);
  return names;
}

TEST(ReshapeTrain, WidthsAndIdSitesExportTheirShapesAndMatchTorch) {
  torch::manual_seed(5);
  const polympc::nn::CnnWidths w{6, 10, 40};
  FmnistCnn model(polympc::train::act_choices(std::vector<std::string>{"id", "relu", "poly"}),
                  std::vector<PoolChoice>{PoolChoice::Max, PoolChoice::Avg}, polympc::train::kPolyScale, w);
  torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(1e-2));
  for (int i = 0; i < 5; ++i) {
    opt.zero_grad();
    torch::nn::functional::cross_entropy(model->forward(torch::rand({16, 1, 28, 28})), torch::randint(10, {16}))
        .backward();
    opt.step();
  }
  model->eval();
  polympc::nn::Network net = model->to_network();
  EXPECT_EQ(layer_names(net),
            (std::vector<std::string>{"conv1", "pool1", "conv2", "act2", "pool2", "flatten", "fc1", "act3", "fc2"}));
  net.infer_shapes();
  EXPECT_EQ(net.layers[0].weight_shape, (std::vector<int64_t>{6, 1, 5, 5}));
  EXPECT_EQ(net.layers[2].weight_shape, (std::vector<int64_t>{10, 6, 5, 5}));
  EXPECT_EQ(net.layers[6].weight_shape, (std::vector<int64_t>{40, 160}));
  EXPECT_EQ(net.layers[7].poly_a1.size(), 40u);
  EXPECT_EQ(net.layers[8].weight_shape, (std::vector<int64_t>{10, 40}));
  const auto x = torch::rand({8, 1, 28, 28});
  torch::NoGradGuard no_grad;
  EXPECT_LT((model->forward(x) - IrForward(net)(x)).abs().max().item<double>(), 1e-4);
  // Costs of the arithmetic = the IR's count.
  polympc::nn::CnnArch a;
  a.widths = w;
  a.acts = {"id", "relu", "poly"};
  a.pools = {"max", "avg"};
  EXPECT_EQ(polympc::nn::cnn_costs(a).drelus, ir_drelus(net));
  EXPECT_EQ(polympc::nn::cnn_costs(a).drelus, 10 * 64 + 3 * 6 * 144);
}

TEST(ReshapeTrain, DefaultWidthsAreTheShippedCnn) {
  torch::manual_seed(11);
  FmnistCnn a(parse_acts("poly,relu,poly"), polympc::train::kPolyScale);
  torch::manual_seed(11);
  const auto b = polympc::train::make_supernet("fmnist-cnn", polympc::train::act_choices(parse_acts("poly,relu,poly")),
                                               {PoolChoice::Avg, PoolChoice::Avg}, {1, 28, 28}, 10,
                                               polympc::train::kPolyScale, polympc::nn::CnnWidths{16, 32, 128});
  const auto pa = a->named_parameters(), pb = b->named_parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t i = 0; i < pa.size(); ++i) {
    EXPECT_EQ(pa[i].key(), pb[i].key());
    EXPECT_TRUE(torch::equal(pa[i].value(), pb[i].value())) << pa[i].key();
  }
  EXPECT_THROW(polympc::train::make_supernet("resnet8", std::vector<ActChoice>(7, ActChoice::Relu), {}, {1, 28, 28},
                                             10, 1.0, polympc::nn::CnnWidths{8, 32, 128}),
               TrainError);
  std::vector<ActChoice> with_id(7, ActChoice::Relu);
  with_id[3] = ActChoice::Id;
  EXPECT_THROW(polympc::train::make_supernet("resnet8", with_id, {}, {1, 28, 28}, 10, 1.0), TrainError);
  EXPECT_EQ(polympc::train::parse_act_words("id,relu,poly"), (std::vector<std::string>{"id", "relu", "poly"}));
  EXPECT_THROW(polympc::train::parse_act_words("id,gelu,poly"), TrainError);
  EXPECT_THROW(parse_acts("id,relu,poly"), TrainError);  // the bool form stays relu/poly
  EXPECT_THROW(polympc::train::reshape_family(100), TrainError);
}

TEST(ReshapeTrain, TinyTrainedFamilyMemberHasTheBudgetsDrelus) {
  if (!have_fashion_mnist()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const auto family = polympc::train::reshape_family(500);
  ASSERT_FALSE(family.empty());
  const auto& m = family[0];
  EXPECT_EQ(m.drelus, 500);
  polympc::train::TrainOptions base;
  base.epochs = 1;
  base.train_limit = 256;
  base.test_limit = 100;
  base.batch_size = 64;
  base.seed = 3;
  base.out = (fs::temp_directory_path() /
              ("polympc_test_reshape_" + std::to_string(static_cast<long>(::getpid())) + ".onnx"))
                 .string();
  const polympc::train::TrainOptions o = polympc::train::reshape_options(m, base);
  EXPECT_EQ(o.widths, "16,5,180");
  EXPECT_EQ(o.acts, "id,relu,relu");
  std::ostringstream log;
  const auto rep = polympc::train::train_and_export(o, log);
  const auto meta = polympc::nn::onnx_metadata(o.out);
  polympc::nn::Network loaded = polympc::nn::load_onnx(o.out);
  fs::remove(o.out);
  EXPECT_EQ(rep.acts, "id,relu,relu");
  EXPECT_EQ(meta.at("polympc.widths"), "16,5,180");
  EXPECT_EQ(meta.at("polympc.acts"), "id,relu,relu");
  EXPECT_LT(rep.max_logit_diff, 1e-3) << log.str();
  EXPECT_EQ(layer_names(loaded),
            (std::vector<std::string>{"conv1", "pool1", "conv2", "act2", "pool2", "flatten", "fc1", "act3", "fc2"}));
  EXPECT_EQ(ir_drelus(loaded), m.drelus);
  EXPECT_EQ(loaded.layers[6].weight_shape, (std::vector<int64_t>{180, 80}));
  EXPECT_GT(rep.modelled_latency_ms, 0.0);
}

}  // namespace
