// Performance model (issue #4): predicted bytes and rounds equal what a real private
// inference sends, layer by layer; predicted device cycles equal the simulation backend's
// modelled cycles; the descriptions match the kernel headers; the zoo has the published
// shapes; bad inputs are clear errors naming the file and field.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "kernels/beaver_mul_combine.h"
#include "kernels/dcf_eval.h"
#include "kernels/gmw_and_level.h"
#include "kernels/matmul_combine.h"
#include "kernels/poly_eval.h"
#include "kernels/trunc.h"
#include "kernels/winograd_transform.h"
#include "polympc/cpu/cpu_backend.h"
#include "polympc/nn/block_alloc.h"
#include "polympc/nn/dataset.h"
#include "polympc/nn/inference.h"
#include "polympc/nn/lowering.h"
#include "polympc/nn/onnx.h"
#include "polympc/perfmodel/query.h"
#include "polympc/perfmodel/json.h"
#include "polympc/perfmodel/model.h"
#include "polympc/sim/sim_backend.h"
#include "test_networks.h"

using namespace polympc;
namespace pm = polympc::perfmodel;
using namespace polympc::testing;

namespace {

const nn::Dataset& images() {
  static nn::Dataset d = nn::load_idx_dataset(nn::kFashionMnistDir, "t10k", 24);
  return d;
}

mpc::ProtocolOptions protocol(mpc::TruncMode trunc, mpc::CompareMode compare = mpc::CompareMode::Gmw) {
  mpc::ProtocolOptions po;
  po.trunc = trunc;
  po.compare = compare;
  po.trunc_bound_bits = 36;
  return po;
}

pm::Model make_model(size_t batch, const mpc::ProtocolOptions& po = protocol(mpc::TruncMode::Exact)) {
  pm::Options o;
  o.batch = batch;
  o.protocol = po;
  return pm::Model(pm::load_board("u250"), pm::load_kernels(), pm::load_network("lan"), o);
}

/// Runs `count` images in batches of `batch` and checks every layer's bytes (each party,
/// per image) and rounds against the model, and (sim backend) each kernel's calls,
/// elements and modelled cycles against the model's prediction.
void check_against_run(const nn::Network& net, size_t count, size_t batch, const mpc::ProtocolOptions& po, bool sim,
                       const nn::Dataset& data, size_t* logits_equal = nullptr) {
  nn::QuantizedModel q = nn::quantize(net, mpc::RingConfig{64, 12});
  nn::InferenceOptions opt;
  opt.batch = batch;
  opt.protocol = po;
  std::unique_ptr<mpc::Backend> be0, be1;
  if (sim) {
    be0 = std::make_unique<sim::SimBackend>();
    be1 = std::make_unique<sim::SimBackend>();
  } else {
    be0 = std::make_unique<cpu::CpuBackend>(1);
    be1 = std::make_unique<cpu::CpuBackend>(1);
  }
  const nn::InferenceReport rep = nn::run_inproc(q, data, count, *be0, *be1, opt);
  if (logits_equal) *logits_equal = rep.logits_equal;

  const pm::NetShape shape = pm::from_network(net);
  // Per layer (+ input, output): sums over the batches actually run.
  std::map<std::string, std::pair<uint64_t, uint64_t>> bytes;  // name -> (p0, p1)
  std::map<std::string, uint64_t> rounds;
  std::map<std::string, pm::KernelUse> kernels;
  uint64_t offline_bytes = 0;  // dealer material per party, all batches
  for (size_t start = 0; start < count; start += batch) {
    const size_t nb = std::min(batch, count - start);
    const pm::Model m = make_model(nb, po);
    // The whole network: layers (each with the truncation the placement puts before it),
    // then input and output.
    const std::vector<pm::LayerCost> costs = m.report(shape).layers;
    for (const pm::LayerCost& c : costs) {
      offline_bytes += c.offline_bytes;
      bytes[c.name].first += c.bytes_p0;
      bytes[c.name].second += c.bytes_p1;
      if (start == 0) rounds[c.name] = c.rounds;
      EXPECT_EQ(rounds[c.name], c.rounds) << c.name << ": rounds must not depend on the batch size";
      for (const pm::KernelUse& u : c.kernels) {
        pm::KernelUse& k = kernels[u.kernel];
        k.calls += u.calls;
        k.elements += u.elements;
        k.cycles += u.cycles;
      }
    }
  }
  ASSERT_EQ(rep.layers.size(), shape.layers.size() + 2);
  const double N = static_cast<double>(count);
  // Offline: the material the dealer pushed (both parties, per image) is what the model says.
  EXPECT_EQ(rep.offline_bytes, static_cast<double>(2 * offline_bytes) / N) << "dealer material per image";
  for (const nn::LayerReport& l : rep.layers) {
    ASSERT_TRUE(bytes.count(l.name)) << l.name;
    EXPECT_EQ(l.bytes_p0, static_cast<double>(bytes[l.name].first) / N) << l.name << " (P0 bytes per image)";
    EXPECT_EQ(l.bytes_p1, static_cast<double>(bytes[l.name].second) / N) << l.name << " (P1 bytes per image)";
    EXPECT_EQ(l.rounds, rounds[l.name]) << l.name << " (rounds)";
  }
  // Backend calls of P1: as predicted, kernel by kernel.
  std::map<std::string, mpc::KernelCounters> measured;
  for (auto& [name, kc] : rep.kernels) measured[name] = kc;
  // At least the matmul, polynomial, truncation, B2A and comparison kernels (5 with FSS
  // truncation and FSS comparison, which need no AND gates or bit slicing).
  ASSERT_GE(measured.size(), 5u) << "expected Backend counters from the run";
  for (auto& [name, kc] : measured) {
    ASSERT_TRUE(kernels.count(name)) << "the model misses Backend calls to " << name;
    EXPECT_EQ(kernels[name].calls, kc.calls) << name << " calls";
    EXPECT_EQ(kernels[name].elements, kc.elements) << name << " elements";
    if (sim) {
      EXPECT_EQ(kernels[name].cycles, kc.modelled_cycles) << name << " modelled cycles";
    }
  }
  for (auto& [name, k] : kernels) EXPECT_TRUE(measured.count(name)) << "the model predicts calls to " << name << " that never happen";
}

// ---- the acceptance test: predicted bytes and rounds equal measured, layer by layer ----
TEST(PerfModel, BytesRoundsAndCyclesEqualARealInferenceLayerByLayer) {
  // 24 images in batches of 10, 10, 4: per-image bytes differ between batch sizes
  // (bit-sliced traffic is 8 ceil(n/64) bytes per AND level), so the model is summed per batch.
  check_against_run(every_layer_cnn(), 24, 10, protocol(mpc::TruncMode::Exact), /*sim=*/true, images());
}

TEST(PerfModel, FssComparisonAndReducedBitsLayerByLayer) {
  // FSS ReLU and max (dcf_eval cycles checked against the simulation backend) ...
  check_against_run(every_layer_cnn(), 10, 6, protocol(mpc::TruncMode::Exact, mpc::CompareMode::Fss), /*sim=*/true,
                    images());
  // ... and reduced-bit comparisons, globally and for one layer, GMW and FSS.
  for (mpc::CompareMode mode : {mpc::CompareMode::Gmw, mpc::CompareMode::Fss}) {
    mpc::ProtocolOptions po = protocol(mpc::TruncMode::Exact, mode);
    po.compare_bits = mpc::CompareBits{4, 40};
    po.layer_compare_bits["pool2"] = mpc::CompareBits{0, 30};
    check_against_run(every_layer_cnn(), 6, 6, po, /*sim=*/true, images());
  }
}

// Per-layer rings executed (nn::Layer::ring_bits): every conversion the walk runs is the
// one the model prices, layer by layer, with the dealer's material and the Backend calls.
// act2 narrows by a local reduction, pool2 (max) stays in 32 bits, pool3 widens by sign
// extension, fc1 narrows after its truncation, act3 (a polynomial) widens, fc2 inherits.
TEST(PerfModel, PerLayerRingsExecutedEqualTheModelLayerByLayer) {
  nn::Network net = every_layer_cnn();
  nn::set_layer_bits(net, {{"act2", 32}, {"pool3", 64}, {"fc1", 32}, {"act3", 56}});
  for (mpc::CompareMode mode : {mpc::CompareMode::Gmw, mpc::CompareMode::Fss})
    for (mpc::TruncMode trunc : {mpc::TruncMode::Exact, mpc::TruncMode::Fss, mpc::TruncMode::Slack}) {
      size_t equal = 0;
      check_against_run(net, 6, 6, protocol(trunc, mode), /*sim=*/true, images(), &equal);
      EXPECT_EQ(equal, 6u) << "2PC = twin bit for bit";
    }
  // The conversions are there (the layers run in their rings, not in the session's).
  std::map<std::string, std::pair<int, std::string>> conv;
  for (const pm::LayerCost& c : make_model(6, protocol(mpc::TruncMode::Exact)).report(pm::from_network(net)).layers)
    conv[c.name] = {c.ring_bits, c.conversion};
  EXPECT_EQ(conv["act2"], std::make_pair(32, std::string("reduce 64->32")));
  EXPECT_EQ(conv["pool2"], std::make_pair(32, std::string()));
  EXPECT_EQ(conv["pool3"], std::make_pair(64, std::string("sign-extend 32->64")));
  EXPECT_EQ(conv["fc1"].first, 32);
  EXPECT_NE(conv["fc1"].second.find("reduce"), std::string::npos) << conv["fc1"].second;
  EXPECT_EQ(conv["act3"], std::make_pair(56, std::string("sign-extend 32->56")));
  EXPECT_EQ(conv["fc2"], std::make_pair(56, std::string()));
  EXPECT_EQ(conv["output"].first, 56);
}

// Per-layer scales executed (nn::Layer::frac_bits): the truncations they move (conv1 at
// f = 4 truncates the input by 8, act1 lifts it locally by 4, conv2 at 16 takes pool1's sum
// at scale 42 down to 16, pool3's multiplication by 1/9 at f = 10, fc1 at 10) are the ones
// the model prices, layer by layer, with per-layer rings on top.
TEST(PerfModel, PerLayerScalesExecutedEqualTheModelLayerByLayer) {
  nn::Network net = every_layer_cnn();
  nn::set_layer_values(net, {{"conv1", 4}, {"act1", 12}, {"conv2", 16}, {"pool3", 10}, {"fc1", 10}}, nn::kFracBits);
  nn::Network ringed = net;
  nn::set_layer_bits(ringed, {{"act2", 48}, {"pool3", 64}});
  for (const nn::Network* n : {&net, &ringed})
    for (mpc::TruncMode trunc : {mpc::TruncMode::Exact, mpc::TruncMode::Fss}) {
      size_t equal = 0;
      check_against_run(*n, 6, 6, protocol(trunc, mpc::CompareMode::Fss), /*sim=*/true, images(), &equal);
      EXPECT_EQ(equal, 6u) << "2PC = twin bit for bit";
    }
}

TEST(PerfModel, BlockReluLayerByLayerAndItsDReluCount) {
  // Block-ReLU (every patch kind, cropped border patches): bytes, rounds, material and
  // Backend calls as a real inference, GMW and FSS, full and reduced bits.
  for (mpc::CompareMode mode : {mpc::CompareMode::Gmw, mpc::CompareMode::Fss})
    for (bool reduced : {false, true}) {
      mpc::ProtocolOptions po = protocol(mpc::TruncMode::Exact, mode);
      if (reduced) po.layer_compare_bits["block"] = mpc::CompareBits{0, 36};
      check_against_run(block_relu_cnn(), 6, 3, po, /*sim=*/true, images());
    }
  // The model counts one DReLU per patch: the executor's patch map over the batch.
  const nn::Network net = block_relu_cnn();
  const pm::Model m = make_model(4);
  const pm::NetShape shape = pm::from_network(net);
  const pm::LayerCost c = m.layer_cost(shape.layers.at(1));
  EXPECT_EQ(c.op, "BlockRelu");
  const int64_t per_image = nn::block_relu_drelus(net.layers[1], net.layers[0].out_shape);
  EXPECT_EQ(c.drelus, 4 * static_cast<uint64_t>(per_image));
  EXPECT_EQ(c.drelus, nn::block_map(net.layers[1], net.layers[0].out_shape, 4).patches);
  EXPECT_EQ(m.report(shape).total.drelus, c.drelus);  // the network's only comparisons
  // A ReLU of the same tensor compares every element; identity costs nothing.
  pm::LayerShape relu = shape.layers.at(1);
  relu.kind = pm::LayerKind::Relu;
  EXPECT_EQ(m.layer_cost(relu).drelus, 4 * static_cast<uint64_t>(relu.out_elements()));
  EXPECT_LT(c.bytes_p0, m.layer_cost(relu).bytes_p0);
  const pm::LayerCost id = m.layer_cost(shape.layers.at(1), pm::Choice::Identity, 0);
  EXPECT_EQ(id.drelus + id.bytes_p0 + id.rounds, 0u);
  EXPECT_THROW(m.layer_cost(shape.layers.at(1), pm::Choice::Poly, 0), pm::PerfModelError);
}

TEST(PerfModel, DReluCountIsTheAllocationBudgetsCount) {
  // One count of secure comparisons: the model's (per batch) is nn::network_drelus (per
  // image, what Block-ReLU budgets and the sweep report plots) times the batch, with ReLU,
  // Block-ReLU and max-pool layers.
  for (const nn::Network& net : {every_layer_cnn(), block_relu_cnn()}) {
    const pm::Model m = make_model(3);
    EXPECT_GT(nn::network_drelus(net), 0);
    EXPECT_EQ(m.report(pm::from_network(net)).total.drelus, 3 * static_cast<uint64_t>(nn::network_drelus(net)));
  }
  bool has_max = false;
  const nn::Network net = every_layer_cnn();
  for (size_t i = 0; i < net.layers.size(); ++i) has_max |= nn::maxpool_drelus(net, i) > 0;
  EXPECT_TRUE(has_max);
}

TEST(PerfModel, FssTruncationLayerByLayer) {
  // --trunc fss: open x + r, DCF of depth f (dcf_eval cycles checked on the sim backend),
  // B2A of the carry, exact combine; with GMW and with FSS comparison.
  for (mpc::CompareMode mode : {mpc::CompareMode::Gmw, mpc::CompareMode::Fss})
    check_against_run(every_layer_cnn(), 10, 6, protocol(mpc::TruncMode::Fss, mode), /*sim=*/true,
                      images());
}

TEST(PerfModel, SlackTruncationLayerByLayer) {
  // --trunc slack: the carry tree over the low s bits, the wrap from the MSBs, two B2As.
  check_against_run(every_layer_cnn(), 10, 6, protocol(mpc::TruncMode::Slack), /*sim=*/true, images());
}

TEST(PerfModel, ProbabilisticTruncationOnTheCpuBackend) {
  check_against_run(every_layer_cnn(), 8, 8, protocol(mpc::TruncMode::Prob), /*sim=*/false, images());
}

/// The Fashion-MNIST CNN's architecture (train/src/model.cpp) with random weights.
nn::Network fmnist_cnn_random() {
  std::mt19937 g(3);
  nn::Network net;
  net.name = "fmnist-cnn";
  net.input_shape = {1, 28, 28};
  net.layers.push_back(conv("conv1", 1, 16, 5, g));
  net.layers.push_back(poly("act1", 16));
  net.layers.push_back(simple("pool1", nn::OpKind::AvgPool));
  net.layers.push_back(conv("conv2", 16, 32, 5, g));
  net.layers.push_back(simple("act2", nn::OpKind::Relu));
  net.layers.push_back(simple("pool2", nn::OpKind::AvgPool));
  net.layers.push_back(simple("flatten", nn::OpKind::Flatten));
  net.layers.push_back(linear("fc1", 512, 128, g));
  net.layers.push_back(poly("act3", 128));
  net.layers.push_back(linear("fc2", 128, 10, g));
  net.infer_shapes();
  return net;
}

void check_shipped_architecture(const nn::Network& net) {
  check_against_run(net, 12, 5, protocol(mpc::TruncMode::Exact), /*sim=*/false, images());
  // The zoo's fmnist-cnn is the shipped architecture.
  const pm::NetShape a = pm::from_network(net), b = pm::zoo("fmnist-cnn");
  EXPECT_EQ(a.input_shape, b.input_shape);
  ASSERT_EQ(a.layers.size(), b.layers.size());
  for (size_t i = 0; i < a.layers.size(); ++i) {
    // Same layer kinds (any activation choice: the shipped model may use relu or poly per site).
    if (a.layers[i].is_activation_site()) {
      EXPECT_TRUE(b.layers[i].is_activation_site()) << a.layers[i].name;
    } else {
      EXPECT_EQ(pm::kind_name(a.layers[i].kind), std::string(pm::kind_name(b.layers[i].kind))) << a.layers[i].name;
    }
    EXPECT_EQ(a.layers[i].out_shape, b.layers[i].out_shape) << a.layers[i].name;
  }
}

TEST(PerfModel, ShippedModelBytesAndRounds) {
  const std::string path = std::string(POLYMPC_SOURCE_DIR) + "/models/fmnist_cnn.onnx";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " not there yet";
  check_shipped_architecture(nn::load_onnx(path));
}

TEST(PerfModel, OnnxModelOfTheShippedArchitecture) {
  // The same checks through an ONNX file (export, import, shapes), until the model ships.
  const std::string path = (std::filesystem::temp_directory_path() / "polympc_perf_fmnist.onnx").string();
  nn::save_onnx(fmnist_cnn_random(), path);
  const pm::NetShape s = pm::load_model_shape(path);
  EXPECT_EQ(s.origin, path);
  check_shipped_architecture(nn::load_onnx(path));
  std::filesystem::remove(path);
}

// ---- formulas ------------------------------------------------------------------------------
TEST(PerfModel, LayerCommunicationComposesMpcFormulas) {
  const pm::Model m = make_model(3);
  const mpc::RingConfig r{64, 12};
  const mpc::ProtocolOptions po;
  pm::LayerShape relu;
  relu.name = "r";
  relu.kind = pm::LayerKind::Relu;
  relu.in_shape = relu.out_shape = {8, 5, 5};
  const size_t n = 3 * 200;
  pm::LayerCost c = m.layer_cost(relu, pm::Choice::ReluGmw);
  EXPECT_EQ(c.bytes_p0, mpc::relu_cost(r, n).bytes);
  EXPECT_EQ(c.rounds, mpc::relu_cost(r, n).rounds);
  c = m.layer_cost(relu, pm::Choice::Poly);
  // Priced alone, the site's input is at scale 2f: the placement truncates it by f, then
  // the one-opening gate (its output's truncation belongs to the next layer).
  EXPECT_EQ(m.standalone_shift(relu, pm::Choice::Poly), 12);
  mpc::Cost poly = mpc::poly_cost(r, po, n, 20);
  EXPECT_EQ(poly.rounds, 1u);
  EXPECT_EQ(poly.bytes, n * 8);
  poly += mpc::trunc_cost(r, po, n, r.frac);
  EXPECT_EQ(c.bytes_p1, poly.bytes);
  EXPECT_EQ(c.rounds, poly.rounds);
  c = m.layer_cost(relu, pm::Choice::ReluFss);
  mpc::ProtocolOptions fss;
  fss.compare = mpc::CompareMode::Fss;
  EXPECT_EQ(c.bytes_p0, mpc::relu_cost(r, fss, n, "r").bytes);  // Boyle et al.: open x + r_in, then 1 bit
  EXPECT_EQ(c.bytes_p0, n * 8 + 8 * ((n + 63) / 64));
  EXPECT_EQ(c.rounds, 2u);
  ASSERT_EQ(c.kernels.size(), 1u);
  EXPECT_EQ(c.kernels[0].kernel, "dcf_eval");
  c = m.layer_cost(relu, pm::Choice::Identity);
  EXPECT_EQ(c.bytes_p0 + c.rounds + c.device_cycles, 0u);
  EXPECT_EQ(c.latency_s, 0.0);
  // Max pool 3x3 = ceil(log2 9) = 4 levels of max on the concatenated pairs (4n, 2n, n, n).
  pm::LayerShape mp;
  mp.name = "mp";
  mp.kind = pm::LayerKind::MaxPool;
  mp.kernel_h = mp.kernel_w = 3;
  mp.in_shape = {2, 9, 9};
  mp.out_shape = {2, 3, 3};
  c = m.layer_cost(mp);
  const size_t o = 3 * 18;
  EXPECT_EQ(c.bytes_p0, mpc::relu_cost(r, 4 * o).bytes + mpc::relu_cost(r, 2 * o).bytes + 2 * mpc::relu_cost(r, o).bytes);
  EXPECT_EQ(c.rounds, 4 * mpc::relu_cost(r, o).rounds);
  // Avg pool 3x3 (not a power of two): x round(2^f / 9), local; the truncation by f joins
  // the next one the placement puts; with an explicit input truncation it is priced.
  c = m.layer_cost(mp, pm::Choice::AvgPool);
  EXPECT_EQ(c.bytes_p0 + c.rounds, 0u);
  c = m.layer_cost(mp, pm::Choice::AvgPool, 12);
  EXPECT_EQ(c.bytes_p0, mpc::trunc_cost(r, po, 3 * 162, 12).bytes);
  // Wrong choices are errors naming the layer.
  pm::LayerShape cv;
  cv.name = "convX";
  cv.kind = pm::LayerKind::Conv;
  cv.in_shape = {3, 8, 8};
  cv.out_shape = {4, 8, 8};
  cv.kernel_h = cv.kernel_w = 3;
  try {
    m.layer_cost(cv, pm::Choice::Poly);
    FAIL() << "expected PerfModelError";
  } catch (const pm::PerfModelError& e) {
    EXPECT_NE(std::string(e.what()).find("convX"), std::string::npos) << e.what();
  }
}

// A grouped convolution (no 2PC executor yet) is priced as one product of a group's weight
// shape (1 x 9 here) by all groups' lowered columns: one opening, the same MACs.
TEST(PerfModel, DepthwiseConvolutionIsOneProductOverAllGroups) {
  const pm::Model m = make_model(1);
  pm::LayerShape dw;
  dw.name = "dw";
  dw.kind = pm::LayerKind::Conv;
  dw.in_shape = {32, 16, 16};
  dw.out_shape = {32, 16, 16};
  dw.kernel_h = dw.kernel_w = 3;
  dw.groups = 32;
  const pm::LayerCost c = m.layer_cost(dw);
  EXPECT_EQ(c.bytes_p0, mpc::matmul_cost(mpc::RingConfig{}, 1, 9, 32 * 256, 32 * 256).bytes +
                            mpc::trunc_cost(mpc::RingConfig{}, mpc::ProtocolOptions{}, 32 * 256, 12).bytes);
  bool seen = false;
  for (auto& u : c.kernels)
    if (u.kernel == "matmul_combine") {
      seen = true;
      EXPECT_EQ(u.calls, 1u);
      EXPECT_EQ(u.elements, 32u * 9 * 256);  // 1 x 9 x 256 per group
    }
  EXPECT_TRUE(seen);
}

// ---- descriptions ----------------------------------------------------------------------------
// Timing (lanes, II, depth, launch limits) has one source, the kernel headers: the model
// reads them (perfmodel/src/kernel_timing.cpp), and a kernel file that restates them for
// an implemented kernel is refused.
TEST(PerfModel, KernelTimingComesFromTheKernelHeaders) {
  const auto ks = pm::load_kernels();
  namespace k = polympc::kernels;
  auto check = [&](const std::string& name, unsigned lanes, unsigned ii, unsigned depth, uint64_t max_batch) {
    const pm::KernelSpec& s = ks.at(name);
    EXPECT_EQ(s.lanes, lanes) << name;
    EXPECT_EQ(s.ii, ii) << name;
    EXPECT_EQ(s.depth, depth) << name;
    EXPECT_EQ(s.max_batch, max_batch) << name;
    EXPECT_TRUE(s.implemented) << name;
  };
  check("beaver_mul_combine", k::BeaverMulDefaultConfig::lanes, k::BeaverMulDefaultConfig::ii,
        k::BeaverMulDefaultConfig::depth, k::BeaverMulDefaultConfig::max_batch);
  check("matmul_combine", k::MatmulDefaultConfig::lanes, k::MatmulDefaultConfig::ii, k::MatmulDefaultConfig::depth, 0);
  check("poly_eval", k::PolyEvalDefaultConfig::lanes, k::PolyEvalDefaultConfig::ii, k::PolyEvalDefaultConfig::depth,
        k::PolyEvalDefaultConfig::max_batch);
  EXPECT_EQ(ks.at("poly_eval").max_channels, uint64_t{k::PolyEvalDefaultConfig::max_channels});
  check("trunc", k::TruncDefaultConfig::lanes, k::TruncDefaultConfig::ii, k::TruncDefaultConfig::depth,
        k::TruncDefaultConfig::max_batch);
  check("gmw_and_level", k::GmwAndDefaultConfig::lanes, k::GmwAndDefaultConfig::ii, k::GmwAndDefaultConfig::depth,
        k::GmwAndDefaultConfig::max_batch);
  check("b2a_combine", k::B2aDefaultConfig::lanes, k::B2aDefaultConfig::ii, k::B2aDefaultConfig::depth,
        k::B2aDefaultConfig::max_batch);
  check("bit_slice", k::BitSliceDefaultConfig::lanes, k::BitSliceDefaultConfig::ii, k::BitSliceDefaultConfig::depth,
        k::BitSliceDefaultConfig::max_batch);
  check("dcf_eval", k::DcfEvalDefaultConfig::aes_cores, k::DcfEvalDefaultConfig::ii, k::DcfEvalDefaultConfig::depth,
        k::DcfEvalDefaultConfig::max_batch);
  EXPECT_EQ(ks.at("dcf_eval").group_words, uint64_t{k::DcfEvalDefaultConfig::group_words});
  check("winograd_transform", k::WinogradDefaultConfig::lanes, k::WinogradDefaultConfig::ii,
        k::WinogradDefaultConfig::depth, 0);  // one launch per call
  EXPECT_EQ(ks.at("winograd_transform").xform_latency, uint64_t{k::WinogradDefaultConfig::xform_latency});
  // Every number carries its source; the timing's is its header.
  for (auto& [name, s] : ks) {
    EXPECT_GE(s.sources.size(), 9u) << name;
    EXPECT_EQ(s.sources.at("lanes").rfind("kernels/", 0), 0u) << name << ": " << s.sources.at("lanes");
  }
  // A kernel file that restates the header's timing is refused, naming the header.
  const std::string dir = ::testing::TempDir() + "/polympc_kernel_timing";
  std::filesystem::create_directories(dir + "/kernels");
  for (const auto& e : std::filesystem::directory_iterator(pm::default_data_dir() + "/kernels"))
    std::filesystem::copy_file(e.path(), dir + "/kernels/" + e.path().filename().string(),
                               std::filesystem::copy_options::overwrite_existing);
  nlohmann::json j;
  {
    std::ifstream in(dir + "/kernels/poly_eval.json");
    j = nlohmann::json::parse(in);
  }
  j["lanes"] = {{"value", 32}, {"source", "a copy"}};
  {
    std::ofstream out(dir + "/kernels/poly_eval.json");
    out << j.dump();
  }
  try {
    pm::load_kernels(dir);
    FAIL() << "a restated lanes must be refused";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("kernels/poly_eval.h"), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(dir);
}

TEST(PerfModel, BoardsAndPresetsLoadWithSources) {
  for (const char* b : {"u250", "u280", "zcu104"}) {
    const pm::Board board = pm::load_board(b);
    EXPECT_GT(board.clock_hz, 0) << b;
    EXPECT_GT(board.capacity.dsp, 0) << b;
    EXPECT_FALSE(board.sources.at("resources.dsp").empty()) << b;
    EXPECT_FALSE(board.sources.at("power.active_w").empty()) << b;
  }
  const pm::NetworkPreset lan = pm::load_network("lan"), wan = pm::load_network("wan");
  EXPECT_DOUBLE_EQ(lan.bandwidth_bytes_per_s, 377e6);  // CrypTFlow2's LAN
  EXPECT_DOUBLE_EQ(lan.rtt_s, 0.3e-3);
  EXPECT_DOUBLE_EQ(wan.bandwidth_bytes_per_s, 40e6);
  EXPECT_DOUBLE_EQ(wan.rtt_s, 80e-3);
  EXPECT_EQ(pm::load_network("wan-cheetah").rtt_s, 40e-3);
}

class BadFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("polympc_perf_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    std::ifstream in(pm::default_data_dir() + "/boards/u250.json");
    board_ = nlohmann::json::parse(in);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    const std::string p = (dir_ / name).string();
    std::ofstream(p) << text;
    return p;
  }
  /// Expects DescriptionError whose message names the file and `field`.
  void expect_error(const std::string& path, const std::string& field) {
    try {
      pm::load_board(path);
      FAIL() << "expected DescriptionError for " << path;
    } catch (const pm::DescriptionError& e) {
      const std::string w = e.what();
      EXPECT_NE(w.find(path), std::string::npos) << w;
      EXPECT_EQ(e.file(), path);
      if (!field.empty()) {
        EXPECT_NE(w.find(field), std::string::npos) << w;
        EXPECT_EQ(e.field(), field);
      }
    }
  }
  std::filesystem::path dir_;
  nlohmann::json board_;
};

TEST_F(BadFiles, UnknownNamesListTheKnownOnes) {
  try {
    pm::load_board("u9999");
    FAIL();
  } catch (const pm::PerfModelError& e) {
    EXPECT_NE(std::string(e.what()).find("u250"), std::string::npos) << e.what();
  }
  try {
    pm::zoo("resnet1000");
    FAIL();
  } catch (const pm::PerfModelError& e) {
    EXPECT_NE(std::string(e.what()).find("resnet18-imagenet"), std::string::npos) << e.what();
  }
  EXPECT_THROW(pm::load_network("satellite"), pm::PerfModelError);
}

TEST_F(BadFiles, MalformedJsonNamesTheFile) { expect_error(write("bad.json", "{\"name\": \"x\", "), ""); }

TEST_F(BadFiles, MissingFieldNamesTheField) {
  nlohmann::json j = board_;
  j["resources"].erase("dsp");
  expect_error(write("nodsp.json", j.dump()), "resources.dsp");
}

TEST_F(BadFiles, NumberWithoutSourceIsRefused) {
  nlohmann::json j = board_;
  j["clock_mhz"] = 300;
  expect_error(write("bare.json", j.dump()), "clock_mhz");
  j = board_;
  j["power"]["active_w"].erase("source");
  expect_error(write("nosrc.json", j.dump()), "power.active_w.source");
}

TEST_F(BadFiles, WrongTypeAndRange) {
  nlohmann::json j = board_;
  j["host_link"]["bandwidth_GBps"]["value"] = "fast";
  expect_error(write("type.json", j.dump()), "host_link.bandwidth_GBps.value");
  j = board_;
  j["clock_mhz"]["value"] = 0;
  expect_error(write("zero.json", j.dump()), "clock_mhz.value");
}

// ---- zoo ------------------------------------------------------------------------------------
uint64_t macs(const pm::NetShape& net) {
  const pm::Model m = make_model(1);
  uint64_t t = 0;
  for (auto& L : net.layers)
    for (auto& u : m.layer_cost(L).kernels)
      if (u.kernel == "matmul_combine") t += u.elements;
  return t;
}
uint64_t act_elements(const pm::NetShape& net) {
  uint64_t t = 0;
  for (auto& L : net.layers)
    if (L.is_activation_site()) t += static_cast<uint64_t>(L.out_elements());
  return t;
}

TEST(PerfModel, ZooShapesMatchPublishedFigures) {
  // Multiply-accumulates (torchvision / He et al. / Sandler et al. figures) and ReLU counts.
  const pm::NetShape r18 = pm::zoo("resnet18-imagenet");
  EXPECT_NEAR(static_cast<double>(macs(r18)), 1.814e9, 0.01e9);
  EXPECT_EQ(act_elements(r18), 2308096u);  // the 2.3M ReLUs of ResNet-18 on ImageNet
  EXPECT_EQ(r18.classes(), 1000);
  EXPECT_NEAR(static_cast<double>(macs(pm::zoo("resnet50-imagenet"))), 4.09e9, 0.05e9);
  EXPECT_NEAR(static_cast<double>(macs(pm::zoo("mobilenetv2-imagenet"))), 0.30e9, 0.01e9);
  EXPECT_NEAR(static_cast<double>(macs(pm::zoo("resnet20-cifar"))), 40.6e6, 0.5e6);
  EXPECT_NEAR(static_cast<double>(macs(pm::zoo("resnet32-cifar"))), 68.9e6, 0.6e6);
  EXPECT_NEAR(static_cast<double>(macs(pm::zoo("resnet18-cifar"))), 0.556e9, 0.005e9);
  const pm::NetShape f = pm::zoo("fmnist-cnn");
  EXPECT_EQ(f.classes(), 10);
  EXPECT_EQ(act_elements(f), 16u * 24 * 24 + 32 * 8 * 8 + 128);
  for (const std::string& n : pm::zoo_names()) EXPECT_NO_THROW(make_model(1).report(pm::zoo(n))) << n;
}

// Winograd (docs/winograd.md) on ResNet-18 (ImageNet), U280, lan, FSS truncation: the
// 3×3 stride-1 convolutions as F(2×2,3×3) and F(4×4,3×3) need fewer matmul_combine MACs
// and device cycles than the direct form, and each such layer's online bytes are the direct
// layer's (the same opening of its input).
TEST(PerfModel, WinogradResNet18) {
  pm::Options o;
  o.batch = 1;
  o.protocol = protocol(mpc::TruncMode::Fss);
  const pm::Model m(pm::load_board("u280"), pm::load_kernels(), pm::load_network("lan"), o);
  struct Totals {
    uint64_t macs = 0, cycles = 0;
    std::vector<uint64_t> online_bytes;
  };
  auto totals = [&](const pm::NetShape& n) {
    Totals t;
    for (const auto& L : n.layers) {
      const pm::LayerCost c = m.layer_cost(L);
      uint64_t transforms = 0;
      for (const auto& u : c.kernels) {
        if (u.kernel == "matmul_combine") {
          t.macs += u.elements;
          t.cycles += u.cycles;
        }
        if (u.kernel == "winograd_transform") {
          // Input transform of F and of B, output transform: the transform kernel's model.
          transforms = u.calls;
          EXPECT_EQ(u.launches, 3u) << L.name;
          EXPECT_GT(u.cycles, 3u * kernels::WinogradDefaultConfig::depth) << L.name;
        }
      }
      EXPECT_EQ(transforms, L.winograd ? 3u : 0u) << L.name;
      t.online_bytes.push_back(pm::phase_bytes(c, pm::Phase::Online));
    }
    return t;
  };
  const pm::NetShape direct = pm::zoo("resnet18-imagenet");
  const Totals d = totals(direct);
  double prev_macs = static_cast<double>(d.macs);
  for (int form : {2, 4}) {
    pm::NetShape w = direct;
    EXPECT_EQ(pm::set_winograd(w, form), 13);  // 4 + 3 + 3 + 3 convolutions 3×3 stride 1
    const Totals t = totals(w);
    const double mac_ratio = static_cast<double>(d.macs) / static_cast<double>(t.macs);
    const double cycle_ratio = static_cast<double>(d.cycles) / static_cast<double>(t.cycles);
    std::printf("ResNet-18 U280 lan, F(%dx%d,3x3): matmul_combine MACs direct/Winograd %.3f, device cycles %.3f\n",
                form, form, mac_ratio, cycle_ratio);
    EXPECT_GT(mac_ratio, 1.3);
    EXPECT_GT(cycle_ratio, 1.0);
    EXPECT_LT(static_cast<double>(t.macs), prev_macs);
    prev_macs = static_cast<double>(t.macs);
    for (size_t i = 0; i < w.layers.size(); ++i) {
      if (w.layers[i].winograd) {
        EXPECT_EQ(t.online_bytes[i], d.online_bytes[i]) << w.layers[i].name;
      }
    }
  }
  pm::NetShape bad = direct;
  EXPECT_THROW(pm::set_winograd(bad, 3), pm::PerfModelError);
}

// The transform kernel is priced at its configured lanes (Model::lanes, as the scheduler
// sizes it) with its header's cycle model, and its resources (perfmodel/data/kernels/
// winograd_transform.json, modelled) count in the layer's: a Winograd layer needs exactly
// the transform's resources on top of the direct layer's kernels.
TEST(PerfModel, WinogradTransformAtConfiguredLanesWithItsResources) {
  pm::Options o;
  o.protocol = protocol(mpc::TruncMode::Fss);
  const pm::Model m(pm::load_board("u280"), pm::load_kernels(), pm::load_network("lan"), o);
  pm::LayerShape direct;
  direct.name = "conv";
  direct.kind = pm::LayerKind::Conv;
  direct.in_shape = {16, 56, 56};
  direct.out_shape = {32, 56, 56};
  direct.kernel_h = direct.kernel_w = 3;
  const pm::KernelSpec& spec = m.kernels().at("winograd_transform");
  // Constant matrices by shifts and adds: no multiplier per lane.
  EXPECT_EQ(spec.per_lane.dsp, 0.0);
  EXPECT_GT(spec.per_lane.lut, 0.0);
  for (int form : {2, 4}) {
    pm::LayerShape w = direct;
    w.winograd = form;
    uint64_t last = ~uint64_t(0);
    for (uint64_t lanes : {1, 4, 8, 32}) {
      const pm::Model ml = m.with_kernels({{"winograd_transform", lanes}}, {});
      ASSERT_EQ(ml.lanes("winograd_transform"), lanes);
      const pm::LayerCost c = ml.layer_cost(w, pm::Choice::Matmul);
      uint64_t cycles = 0;
      for (const pm::KernelUse& u : c.kernels)
        if (u.kernel == "winograd_transform") cycles = u.cycles;
      // Input transform of F and of B (C planes), output transform (M planes), at `lanes`.
      const kernels::WinogradKernelGeometry g{lanes, spec.ii, spec.depth, spec.xform_latency};
      const uint64_t f = static_cast<uint64_t>(form);
      const uint64_t want = 2 * kernels::winograd_transform_cycles_at(g, kernels::kWinogradInput, f, 16, 56, 56) +
                            kernels::winograd_transform_cycles_at(g, kernels::kWinogradOutput, f, 32, 56, 56);
      EXPECT_EQ(cycles, want) << "F" << form << " lanes " << lanes;
      EXPECT_LT(cycles, last) << "F" << form << " lanes " << lanes;  // 28 or 14 tiles per row: more lanes help
      last = cycles;
      // Resources: the direct layer's kernels plus the transform at `lanes`.
      const pm::Resources rw = c.resources, rd = ml.layer_cost(direct, pm::Choice::Matmul).resources;
      const pm::Resources rt = spec.resources(lanes);
      EXPECT_DOUBLE_EQ(rw.lut - rd.lut, rt.lut) << lanes;
      EXPECT_DOUBLE_EQ(rw.ff - rd.ff, rt.ff) << lanes;
      EXPECT_DOUBLE_EQ(rw.dsp - rd.dsp, rt.dsp) << lanes;
      EXPECT_DOUBLE_EQ(rw.bram_36k - rd.bram_36k, rt.bram_36k) << lanes;
      EXPECT_DOUBLE_EQ(rt.lut, spec.fixed.lut + static_cast<double>(lanes) * spec.per_lane.lut);
    }
    // At the header's default lanes the model is the header's template form.
    const pm::LayerCost c = m.layer_cost(w, pm::Choice::Matmul);
    for (const pm::KernelUse& u : c.kernels)
      if (u.kernel == "winograd_transform") {
        EXPECT_EQ(u.cycles, 2 * kernels::winograd_transform_cycles<>(kernels::kWinogradInput, form, 16, 56, 56) +
                                kernels::winograd_transform_cycles<>(kernels::kWinogradOutput, form, 32, 56, 56));
      }
  }
  // The whole network's resources count the transform too.
  pm::NetShape net = pm::zoo("resnet18-cifar");
  const pm::Resources before = m.report(net, false).resources;
  ASSERT_GT(pm::set_winograd(net, 2), 0);
  const pm::Resources after = m.report(net, false).resources;
  EXPECT_DOUBLE_EQ(after.lut - before.lut, m.kernel_resources("winograd_transform").lut);
}

TEST(PerfModel, ActivationSpecs) {
  pm::NetShape n = pm::zoo("resnet18-imagenet");
  pm::set_activations(n, "poly");
  for (auto& L : n.layers)
    if (L.is_activation_site()) {
      EXPECT_EQ(L.kind, pm::LayerKind::Poly);
    }
  pm::NetShape f = pm::zoo("fmnist-cnn");
  pm::set_activations(f, "relu,poly,relu");
  EXPECT_EQ(f.layers[1].kind, pm::LayerKind::Relu);
  EXPECT_EQ(f.layers[4].kind, pm::LayerKind::Poly);
  EXPECT_THROW(pm::set_activations(f, "relu,poly"), pm::PerfModelError);
  EXPECT_THROW(pm::set_activations(f, "tanh"), pm::PerfModelError);
  pm::set_pools(f, "max");
  EXPECT_EQ(f.layers[2].kind, pm::LayerKind::MaxPool);
}

// ---- whole network ------------------------------------------------------------------------
TEST(PerfModel, ReportTotalsSitesAndJson) {
  const pm::Model m = make_model(1);
  pm::NetShape net = pm::zoo("resnet18-imagenet");
  pm::set_activations(net, "poly");
  const pm::NetworkReport r = m.report(net);
  EXPECT_EQ(r.layers.size(), net.layers.size() + 2);
  EXPECT_EQ(r.sites.size(), 17u + 1u);  // 17 activation sites, 1 max pool
  uint64_t bytes = 0, rounds = 0;
  double lat = 0;
  for (auto& c : r.layers) {
    bytes += c.bytes_p0;
    rounds += c.rounds;
    lat += c.latency_s;
    EXPECT_NEAR(c.latency_s, c.device_s + c.transfer_s + c.network_s, 1e-12) << c.name;
  }
  EXPECT_EQ(r.total.bytes_p0, bytes);
  EXPECT_EQ(r.total.rounds, rounds);
  EXPECT_NEAR(r.total.latency_s, lat, 1e-9);
  EXPECT_GT(r.total.energy_j, 0);
  for (const pm::SiteCosts& s : r.sites) {
    if (s.kind != "activation") continue;
    ASSERT_EQ(s.choices.size(), 4u);
    EXPECT_EQ(s.current, pm::Choice::Poly);
    // GMW ReLU costs more bytes and rounds than the polynomial (exact truncation: 1 + 9).
    EXPECT_GT(s.choices[0].rounds, s.choices[1].rounds) << s.name;  // relu-gmw vs relu-fss
    EXPECT_EQ(s.choices[3].latency_s, 0.0);                          // identity
  }
  const nlohmann::json j = pm::report_json(r, m.board());
  EXPECT_EQ(j["layers"].size(), r.layers.size());
  EXPECT_EQ(j["total"]["bytes_p0"].get<uint64_t>(), r.total.bytes_p0);
  EXPECT_TRUE(j["modelled"].get<bool>());
  EXPECT_FALSE(j["assumptions"].empty());
  // The U280's HBM does not change communication; more matmul lanes cut device time.
  pm::Options o;
  o.lanes["matmul_combine"] = 256;
  const pm::Model wide(pm::load_board("u280"), pm::load_kernels(), pm::load_network("lan"), o);
  const pm::NetworkReport w = wide.report(net);
  EXPECT_EQ(w.total.bytes_p0, r.total.bytes_p0);
  EXPECT_LT(w.total.device_s, r.total.device_s / 3);
  pm::Options bad;
  bad.lanes["bit_slice"] = 3;
  EXPECT_THROW(pm::Model(pm::load_board("u250"), pm::load_kernels(), pm::load_network("lan"), bad), pm::PerfModelError);
}

TEST(PerfModel, CalibratedTimingInterpolatesMeasuredPoints) {
  pm::Timing t{1e-6, 2e-9, "element", {{1000, 4e-6}, {10000, 2e-5}, {100000, 5e-4}}};
  EXPECT_DOUBLE_EQ(t.seconds(0), 1e-6);                          // the fitted per-call cost
  EXPECT_DOUBLE_EQ(t.seconds(500), 1e-6 + 0.5 * (4e-6 - 1e-6));  // towards the first point
  EXPECT_DOUBLE_EQ(t.seconds(1000), 4e-6);
  EXPECT_DOUBLE_EQ(t.seconds(5500), 1.2e-5);                     // between points
  EXPECT_DOUBLE_EQ(t.seconds(200000), 1e-3);                     // last point's rate beyond it
  t.points.clear();
  EXPECT_DOUBLE_EQ(t.seconds(1000), 1e-6 + 2e-6);                // no points: the line
}

TEST(PerfModel, CalibrationPredictsSoftwareTime) {
  pm::Calibration cal;
  cal.threads = 1;
  for (const char* k : {"beaver_mul_combine", "matmul_combine", "poly_eval", "trunc_exact_combine", "trunc_prob_combine",
                        "gmw_and_level", "b2a_combine", "bit_slice"})
    cal.kernels[k] = pm::Timing{1e-6, 1e-9, "element", {}};
  for (const char* p : {"matmul", "trunc_exact", "trunc_prob", "relu", "poly", "open"})
    cal.protocols[p] = pm::Timing{2e-6, 3e-9, "element", {}};
  const std::string path = (std::filesystem::temp_directory_path() / "polympc_cal_test.json").string();
  pm::save_calibration(cal, path);
  const pm::Calibration back = pm::load_calibration(path);
  std::filesystem::remove(path);
  EXPECT_EQ(back.kernels.size(), cal.kernels.size());
  EXPECT_DOUBLE_EQ(back.protocols.at("relu").per_unit, 3e-9);
  pm::Options o;
  const pm::Model m(pm::load_board("u250"), pm::load_kernels(), pm::load_network("lan"), o, back);
  pm::ProtocolCall call;
  call.protocol = "relu";
  call.n = 1000;
  const pm::LayerCost c = m.protocol_cost(call);
  ASSERT_TRUE(c.has_cpu);
  double expect = 2e-6 + 3e-9 * 1000;  // host overhead of one relu on 1000 elements
  for (auto& u : c.kernels) expect += 1e-6 * static_cast<double>(u.calls) + 1e-9 * static_cast<double>(u.elements);
  EXPECT_NEAR(c.cpu_s, expect, 1e-15);
  const pm::NetworkReport r = m.report(pm::zoo("fmnist-cnn"));
  EXPECT_TRUE(r.total.has_cpu);
  EXPECT_GT(r.total.cpu_s, 0);
  // A broken calibration file names the field.
  const std::string bad = (std::filesystem::temp_directory_path() / "polympc_cal_bad.json").string();
  std::ofstream(bad) << R"({"format": "polympc-calibration", "version": 1, "backend": "cpu", "threads": 1,
                           "kernels": {"bit_slice": {"seconds_per_call": 1e-6, "unit": "element"}}, "protocols": {}})";
  try {
    pm::load_calibration(bad);
    FAIL();
  } catch (const pm::DescriptionError& e) {
    EXPECT_NE(std::string(e.what()).find("kernels.bit_slice.seconds_per_unit"), std::string::npos) << e.what();
  }
  std::filesystem::remove(bad);
}

}  // namespace

// ---- phases: offline (dealer) and total --------------------------------------------------
TEST(PerfModel, OfflineAndTotalPhases) {
  const mpc::RingConfig r{};
  for (const mpc::CompareMode cm : {mpc::CompareMode::Gmw, mpc::CompareMode::Fss})
    for (const mpc::TruncMode tm : {mpc::TruncMode::Exact, mpc::TruncMode::Prob, mpc::TruncMode::Fss, mpc::TruncMode::Slack}) {
      const mpc::ProtocolOptions po = protocol(tm, cm);
      const pm::Model m = make_model(2, po);
      const pm::NetShape net = pm::from_network(every_layer_cnn());
      const pm::NetworkReport rep = m.report(net);
      const double bw = m.network().bandwidth_bytes_per_s, aes = m.board().dealer_aes_blocks_per_s;
      EXPECT_GT(aes, 0);
      uint64_t bytes = 0, blocks = 0;
      double off = 0, tot = 0;
      for (const pm::LayerCost& c : rep.layers) {
        EXPECT_DOUBLE_EQ(c.offline_transfer_s, static_cast<double>(c.offline_bytes) / bw) << c.name;
        EXPECT_DOUBLE_EQ(c.keygen_s, static_cast<double>(c.keygen_aes_blocks) / aes) << c.name;
        EXPECT_DOUBLE_EQ(c.offline_s, c.offline_transfer_s + c.keygen_s) << c.name;
        EXPECT_DOUBLE_EQ(c.total_s, c.latency_s + c.offline_s) << c.name;
        EXPECT_EQ(pm::phase_seconds(c, pm::Phase::Offline), c.offline_s);
        EXPECT_EQ(pm::phase_bytes(c, pm::Phase::Total), std::max(c.bytes_p0, c.bytes_p1) + c.offline_bytes);
        bytes += c.offline_bytes;
        blocks += c.keygen_aes_blocks;
        off += c.offline_s;
        tot += c.total_s;
      }
      EXPECT_EQ(rep.total.offline_bytes, bytes);
      EXPECT_EQ(rep.total.keygen_aes_blocks, blocks);
      EXPECT_NEAR(rep.total.offline_s, off, 1e-12);
      EXPECT_NEAR(rep.total.total_s, tot, 1e-12);
      EXPECT_GT(rep.total.offline_bytes, 0u);
      // DCF keys only with an FSS comparison or truncation.
      EXPECT_EQ(rep.total.keygen_aes_blocks > 0, cm == mpc::CompareMode::Fss || tm == mpc::TruncMode::Fss);
      // The activation site's ReLU choices carry mpc's material.
      for (const pm::SiteCosts& site : rep.sites) {
        if (site.kind != "activation") continue;
        const pm::LayerCost& fss = site.choices[1];
        mpc::ProtocolOptions o = po;
        o.compare = mpc::CompareMode::Fss;
        const mpc::Cost want = mpc::relu_cost(r, o, 2 * fss.elements, site.name);
        EXPECT_EQ(fss.offline_bytes, want.offline_bytes) << site.name;
        EXPECT_EQ(fss.keygen_aes_blocks, want.keygen_aes_blocks) << site.name;
        EXPECT_EQ(fss.keygen_aes_blocks, 4u * 2 * fss.elements * 63) << site.name;
        EXPECT_EQ(site.choices[3].total_s, 0.0) << "identity is free in every phase";
      }
      // JSON: all three phases per layer and per choice, the chosen one named.
      const nlohmann::json j = pm::report_json(rep, m.board(), pm::Phase::Total);
      EXPECT_EQ(j["phase"], "total");
      for (const auto& l : j["layers"])
        for (const char* ph : {"online", "offline", "total"}) EXPECT_TRUE(l["phases"].contains(ph)) << l["name"];
      for (const auto& site : j["sites"])
        for (const auto& [name, c] : site["choices"].items()) {
          EXPECT_EQ(c["phase_latency_s"].get<double>(), c["phases"]["total"]["latency_s"].get<double>()) << name;
          EXPECT_EQ(c["phases"]["offline"]["bytes_per_party"], c["offline_bytes"]) << name;
        }
    }
  EXPECT_EQ(pm::parse_phase("offline"), pm::Phase::Offline);
  EXPECT_THROW(pm::parse_phase("later"), pm::PerfModelError);
}

// ---- per-layer ring widths (Options::layer_bits) -----------------------------------------
namespace {
pm::Model ring_model(std::map<std::string, int> layer_bits) {
  pm::Options o;
  o.batch = 2;
  o.protocol = protocol(mpc::TruncMode::Slack, mpc::CompareMode::Fss);
  o.layer_bits = std::move(layer_bits);
  return pm::Model(pm::load_board("u280"), pm::load_kernels(), pm::load_network("lan"), o);
}
const pm::LayerCost& row(const pm::NetworkReport& r, const std::string& name) {
  for (const pm::LayerCost& c : r.layers)
    if (c.name == name) return c;
  throw std::runtime_error("no layer " + name);
}
}  // namespace

// Every conversion is priced as the gate it is (mpc's *_cost, exact), on top of the
// layer's protocols in its own ring; a layer without an entry takes its input's width.
TEST(PerfModel, PerLayerRingsPriceTheLayersInTheirRingsAndTheConversions) {
  const pm::NetShape net = pm::make_net("", std::string(POLYMPC_SOURCE_DIR) + "/models/fmnist_cnn.onnx");
  const pm::NetworkReport base = ring_model({}).report(net, false);
  // Every layer at the default width: the same report.
  std::map<std::string, int> all64;
  for (const pm::LayerShape& L : net.layers) all64[L.name] = 64;
  const pm::NetworkReport same = ring_model(all64).report(net, false);
  ASSERT_EQ(same.layers.size(), base.layers.size());
  for (size_t i = 0; i < base.layers.size(); ++i) {
    EXPECT_EQ(same.layers[i].bytes_p0, base.layers[i].bytes_p0) << base.layers[i].name;
    EXPECT_EQ(same.layers[i].rounds, base.layers[i].rounds) << base.layers[i].name;
    EXPECT_TRUE(same.layers[i].conversion.empty()) << base.layers[i].name;
  }
  // act2 (a ReLU on conv2's output, scale 2f) in 32 bits after conv2 in 64: a local
  // reduction, then the ReLU in Z_2^32 - the cost of the layer alone in that ring.
  // pool2 (free) back in 64 bits: sign extension 32 -> 64. fc1 in 32 bits: its truncation
  // by 14 becomes truncate-reduce 64 -> 50, then a local reduction; act3 (a polynomial:
  // output scale 2f + coef_frac needs 48 bits) in 48 bits by sign extension; fc2 takes
  // act3's 48.
  const pm::Model m = ring_model({{"act2", 32}, {"pool2", 64}, {"fc1", 32}, {"act3", 48}});
  const pm::NetworkReport r = m.report(net, false);
  const mpc::ProtocolOptions& o = m.options().protocol;
  const pm::LayerShape& act2 = net.layers[4];
  ASSERT_EQ(act2.name, "act2");
  const pm::LayerCost& a2 = row(r, "act2");
  EXPECT_EQ(a2.ring_bits, 32);
  EXPECT_EQ(a2.conversion, "reduce 64->32");
  EXPECT_EQ(a2.bytes_p0, m.layer_cost(act2, pm::Choice::ReluFss, 0, {32, 32, 32}).bytes_p0);
  EXPECT_LT(a2.bytes_p0, row(base, "act2").bytes_p0);
  const pm::LayerCost& p2 = row(r, "pool2");
  EXPECT_EQ(p2.conversion, "sign-extend 32->64");
  const size_t n_p2 = 2 * static_cast<size_t>(net.layers[5].in_elements());
  EXPECT_EQ(p2.bytes_p0, mpc::sign_extend_cost(o, n_p2, 32, 64).bytes);
  EXPECT_EQ(p2.rounds, mpc::sign_extend_cost(o, n_p2, 32, 64).rounds);
  const pm::LayerCost& f1 = row(r, "fc1");
  EXPECT_EQ(f1.conversion, "truncate-reduce 64->50, reduce 50->32");
  const size_t n_in = 2 * static_cast<size_t>(net.layers[7].in_elements());
  const mpc::Cost tr = mpc::trunc_reduce_cost(o, n_in, 64, 14);
  const pm::LayerCost mm = m.layer_cost(net.layers[7], pm::Choice::Matmul, 0, {32, 32, 32});
  EXPECT_EQ(f1.bytes_p0, mm.bytes_p0 + tr.bytes);
  EXPECT_EQ(f1.rounds, mm.rounds + tr.rounds);
  const pm::LayerCost& a3 = row(r, "act3");
  EXPECT_EQ(a3.conversion, "sign-extend 32->48");
  const size_t n3 = 2 * static_cast<size_t>(net.layers[8].in_elements());
  // The same polynomial with its input already in 48 bits (fc1 in 48): no conversion.
  const pm::LayerCost same48 =
      ring_model({{"act2", 32}, {"pool2", 64}, {"fc1", 48}, {"act3", 48}}).report(net, false).layers[8];
  EXPECT_TRUE(same48.conversion.empty());
  EXPECT_EQ(a3.bytes_p0, same48.bytes_p0 + mpc::sign_extend_cost(o, n3, 32, 48).bytes);
  EXPECT_EQ(row(r, "fc2").ring_bits, 48);
  EXPECT_EQ(row(r, "output").ring_bits, 48);
  // Errors: an unknown layer, a width outside 8..64, a ring that cannot hold the scale.
  EXPECT_THROW(ring_model({{"conv9", 32}}).report(net, false), pm::PerfModelError);
  EXPECT_THROW(ring_model({{"conv1", 72}}).report(net, false), pm::PerfModelError);
  try {
    ring_model({{"act1", 40}}).report(net, false);
    FAIL() << "expected PerfModelError";
  } catch (const pm::PerfModelError& e) {
    EXPECT_NE(std::string(e.what()).find("layer 'act1'"), std::string::npos) << e.what();
  }
  pm::Query q;
  q.layer_bits = "conv1=7";
  EXPECT_THROW(pm::make_model(q), pm::PerfModelError);
  q.layer_bits = "conv1=32,act1";
  EXPECT_THROW(pm::make_model(q), pm::PerfModelError);
  q.layer_bits = "conv1=32,act1=48";
  EXPECT_EQ(pm::make_model(q).options().layer_bits.at("act1"), 48);
}
