// Per-layer rings and scales (nn::Layer::ring_bits and frac_bits, issue 13): a network whose
// layers compute in rings of different widths, or at different fixed-point scales, runs in
// 2PC bit for bit as its plaintext twin (untiled, tiled, labels only, a residual network),
// travels in the ONNX metadata and the architecture file, and a layer whose values or
// scales exceed its ring is a clear error naming the layer. The
// conversions' bytes, rounds, material and Backend calls against the performance model:
// test_perfmodel's PerLayerRingsExecutedEqualTheModelLayerByLayer.
#include <gtest/gtest.h>

#include <numeric>

#include "polympc/cpu/cpu_backend.h"
#include "polympc/nn/arch_file.h"
#include "polympc/nn/dataset.h"
#include "polympc/nn/inference.h"
#include "polympc/nn/onnx.h"
#include "polympc/nn/placement.h"
#include "polympc/nn/plain.h"
#include "polympc/nn/ring_alloc.h"
#include "test_networks.h"
#include "test_util.h"
#include "torch_ref.h"

using namespace polympc;
using namespace polympc::testing;

namespace {

const std::string kShipped = std::string(POLYMPC_SOURCE_DIR) + "/models/fmnist_cnn.onnx";

const nn::Dataset& images() {
  static nn::Dataset d = nn::load_idx_dataset(nn::kFashionMnistDir, "t10k", 12);
  return d;
}

nn::InferenceReport run(const nn::Network& net, size_t count, nn::InferenceOptions opt,
                        const mpc::RingConfig& ring = mpc::RingConfig{64, 12}, const nn::Dataset& data = images()) {
  nn::QuantizedModel q = nn::quantize(net, ring);
  opt.make_backend = [](int) { return std::make_unique<cpu::CpuBackend>(1); };
  cpu::CpuBackend be0(1), be1(1);
  return nn::run_inproc(q, data, count, be0, be1, opt);
}

// The shipped model with a ReLU in 32 bits, a max-free pool back in 64, fc1 in 32 after a
// truncate-reduce, and the last polynomial and fc2 in 56: the logits are the twin's, with
// fewer bytes than the uniform run's.
TEST(LayerRings, ShippedModelInMixedRingsEqualsTheTwinUntiledTiledAndLabels) {
  nn::Network net = nn::load_onnx(kShipped);
  nn::set_layer_bits(net, {{"act2", 32}, {"pool2", 64}, {"fc1", 32}, {"act3", 56}});
  const nn::ScalePlan plan = nn::plan_scales(net, mpc::RingConfig{64, 12}, mpc::ProtocolOptions{}, nn::resolve_coef_frac(mpc::RingConfig{64, 12}, -1));
  EXPECT_EQ(plan.bits, (std::vector<int>{64, 64, 64, 64, 32, 64, 64, 32, 56, 56}));
  nn::InferenceOptions opt;
  opt.batch = 4;
  for (mpc::CompareMode mode : {mpc::CompareMode::Gmw, mpc::CompareMode::Fss}) {
    opt.protocol.compare = mode;
    opt.tiling = nn::Tiling{};
    opt.reveal = nn::Reveal::Logits;
    const nn::InferenceReport uniform = run(nn::load_onnx(kShipped), 12, opt);
    const nn::InferenceReport r = run(net, 12, opt);
    EXPECT_EQ(r.logits_equal, 12u) << mpc::compare_mode_name(mode);
    EXPECT_EQ(r.agreement, 1.0);
    EXPECT_NE(r.rounds, uniform.rounds);  // conversions added, carry trees of 32 bits shallower
    EXPECT_LT(r.online_bytes, uniform.online_bytes);
    // Tiled (segments of 2 and 3 tiles, two lanes): the same logits.
    opt.tiling.tiles = {2, 2, 2, 3, 3, 3, 2, 2, 2, 2};
    opt.tiling.lanes = 2;
    const nn::InferenceReport tiled = run(net, 12, opt);
    EXPECT_EQ(tiled.logits_raw, r.logits_raw);
    // Labels only: the secure argmax in the last layer's ring.
    opt.reveal = nn::Reveal::Label;
    const nn::InferenceReport labels = run(net, 12, opt);
    EXPECT_EQ(labels.predictions, r.predictions);
  }
}

// Every layer given the session's width explicitly is the uniform run: no conversion.
TEST(LayerRings, EveryLayerAtTheSessionsWidthIsTheUniformRun) {
  nn::Network net = nn::load_onnx(kShipped);
  std::map<std::string, int> all;
  for (const nn::Layer& L : net.layers) all[L.name] = 64;
  nn::set_layer_bits(net, all);
  nn::InferenceOptions opt;
  opt.batch = 6;
  const nn::InferenceReport a = run(net, 6, opt), b = run(nn::load_onnx(kShipped), 6, opt);
  EXPECT_EQ(a.logits_raw, b.logits_raw);
  EXPECT_EQ(a.online_bytes, b.online_bytes);
  EXPECT_EQ(a.rounds, b.rounds);
}

// A residual network: the Add's second input arrives from another ring (a local reduction
// of the residual), the polynomial after it widens again by sign extension.
TEST(LayerRings, ResidualAddConvertsItsSecondInput) {
  const std::string base = std::string(POLYMPC_TEST_DATA_DIR) + "/residual";
  nn::Network net = nn::load_onnx(base + ".onnx");
  nn::set_layer_bits(net, {{"/Relu", 44}, {"/Sub_1", 64}});
  const mpc::RingConfig ring{64, 16};
  const nn::ScalePlan plan = nn::plan_scales(net, ring, mpc::ProtocolOptions{}, nn::resolve_coef_frac(ring, -1));
  size_t add = 0;
  while (net.layers[add].name != "/Add") ++add;
  EXPECT_EQ(plan.bits[add], 44);
  const std::vector<int> prod = net.producers(add);
  EXPECT_EQ(plan.bits_of(prod[1]), 64);
  nn::Dataset d = dataset_of(read_ref(base + ".ref.txt"));
  nn::InferenceOptions opt;
  opt.batch = static_cast<size_t>(d.count);
  const nn::InferenceReport r = run(net, static_cast<size_t>(d.count), opt, ring, d);
  EXPECT_EQ(r.logits_equal, static_cast<size_t>(d.count));
}

// Values that leave their ring: the twin (run before the 2PC) stops with the layer's name.
TEST(LayerRings, ValuesExceedingTheirRingNameTheLayer) {
  nn::Network net = nn::load_onnx(kShipped);
  // act3's polynomial at scale 44 in 48 bits: |v| < 2^46 allows real values below 4.
  nn::set_layer_bits(net, {{"act2", 32}, {"pool2", 64}, {"fc1", 32}, {"act3", 48}});
  nn::InferenceOptions opt;
  opt.batch = 12;
  expect_error<mpc::OverflowError>([&] { run(net, 12, opt); }, {"layer 'act3'", "48-bit ring"});
  // A reduction into a ring too narrow for conv2's outputs (scale 24 in 28 bits).
  nn::Network narrow = nn::load_onnx(kShipped);
  nn::set_layer_bits(narrow, {{"act2", 28}, {"pool2", 64}});
  expect_error<mpc::OverflowError>([&] { run(narrow, 12, opt); }, {"layer 'act2'", "28-bit ring"});
  // A matmul whose sums leave the ring (conv1 at scale 24 in 26 bits).
  nn::Network mm = nn::load_onnx(kShipped);
  nn::set_layer_bits(mm, {{"conv1", 26}, {"act1", 64}});
  expect_error<mpc::OverflowError>([&] { run(mm, 12, opt); }, {"layer 'conv1'", "26-bit ring"});
}

// Scales the placement leaves that a ring cannot hold, widths outside 8..64, unknown layers.
TEST(LayerRings, RingsThatCannotHoldTheirScaleAreRefusedNamingTheLayer) {
  const mpc::RingConfig ring{64, 12};
  const int coef = nn::resolve_coef_frac(ring, -1);
  nn::Network net = nn::load_onnx(kShipped);
  nn::set_layer_bits(net, {{"act2", 32}});  // act3 (a polynomial at scale 44) inherits 32
  expect_error<nn::RingError>([&] { nn::plan_scales(net, ring, mpc::ProtocolOptions{}, coef); },
                                       {"layer 'act3'", "32 bits", "scale 44"});
  nn::Network bad = nn::load_onnx(kShipped);
  bad.layers[0].ring_bits = 7;
  expect_error<nn::RingError>([&] { nn::plan_scales(bad, ring, mpc::ProtocolOptions{}, coef); },
                                       {"layer 'conv1'", "7 bits"});
  expect_error<nn::ModelError>([&] { nn::parse_layer_bits("conv1=65"); }, {"conv1=65", "8 <= BITS <= 64"});
  expect_error<nn::ModelError>([&] { nn::parse_layer_bits("conv1"); }, {"LAYER=BITS"});
  expect_error<nn::ModelError>([&] { nn::set_layer_bits(net, {{"conv9", 32}}); }, {"conv9"});
}

// The rings travel with the model: ONNX metadata and the architecture file (and its hash).
TEST(LayerRings, RingsTravelInTheOnnxMetadataAndTheArchitectureFile) {
  nn::Network net = nn::load_onnx(kShipped);
  nn::set_layer_bits(net, {{"act2", 32}, {"pool2", 64}});
  const std::string onnx = temp_path("rings.onnx");
  nn::save_onnx(net, onnx);
  EXPECT_EQ(nn::onnx_metadata(onnx).at(nn::kRingBitsMetadata), "act2=32,pool2=64");
  const nn::Network back = nn::load_onnx(onnx);
  EXPECT_EQ(nn::layer_bits_spec(back), "act2=32,pool2=64");
  // Malformed metadata is an error naming the file and the key.
  nn::Network plain = nn::load_onnx(kShipped);
  nn::save_onnx(plain, onnx, {{nn::kRingBitsMetadata, "act2=3"}});
  expect_error<nn::ModelError>([&] { nn::load_onnx(onnx); }, {onnx, nn::kRingBitsMetadata, "act2=3"});
  nn::save_onnx(plain, onnx, {{nn::kRingBitsMetadata, "nosuch=32"}});
  expect_error<nn::ModelError>([&] { nn::load_onnx(onnx); }, {nn::kRingBitsMetadata, "nosuch"});
  // The architecture file: the field, the round trip and a hash of its own.
  const std::string arch = temp_path("rings.arch.json");
  nn::save_arch(net, arch);
  EXPECT_NE(read_file(arch).find("\"ring_bits\": 32"), std::string::npos);
  const nn::ArchFile af = nn::load_arch(arch);
  EXPECT_EQ(nn::layer_bits_spec(af.arch), "act2=32,pool2=64");
  EXPECT_NE(af.architecture_hash, nn::architecture_hash(nn::load_onnx(kShipped)));
  std::string text = read_file(arch);
  text.replace(text.find("\"ring_bits\": 32"), 15, "\"ring_bits\": 99");
  write_file(arch, text);
  expect_error<nn::ModelError>([&] { nn::load_arch(arch); }, {"act2", "ring_bits", "99"});
  std::remove(onnx.c_str());
  std::remove(arch.c_str());
}

}  // namespace

namespace {

// Per-layer scales: conv1 at f = 4 (the input shared at 4), act1 at 10 (its input
// lifted locally from 8), fc1 at 8, the logits back at f = 12. The twin quantizes each layer
// at its own scale, so its logits differ from the uniform ones; the 2PC run equals it bit for
// bit with GMW and FSS comparison, tiled, labels only and with per-layer rings on top.
TEST(LayerScales, ShippedModelAtPerLayerScalesEqualsTheTwin) {
  nn::Network net = nn::load_onnx(kShipped);
  nn::set_layer_values(net, {{"conv1", 4}, {"act1", 10}, {"fc1", 8}}, nn::kFracBits);
  const mpc::RingConfig ring{64, 12};
  const nn::ScalePlan plan = nn::plan_scales(net, ring, mpc::ProtocolOptions{}, nn::resolve_coef_frac(ring, -1));
  EXPECT_EQ(plan.fracs, (std::vector<int>{4, 10, 12, 12, 12, 12, 12, 8, 12, 12}));
  EXPECT_EQ(plan.input_scale, 4);   // the client floors its input to conv1's scale
  EXPECT_EQ(plan.in_shift[0], 0);
  EXPECT_EQ(plan.in_shift[1], -2);  // conv1's output at 8, lifted to act1's 10
  EXPECT_EQ(plan.out_scale[1], 2 * 10 + nn::resolve_coef_frac(ring, -1));
  EXPECT_EQ(plan.output_shift, 24 - 12);
  nn::InferenceOptions opt;
  opt.batch = 4;
  const nn::InferenceReport uniform = run(nn::load_onnx(kShipped), 12, opt);
  for (mpc::CompareMode mode : {mpc::CompareMode::Gmw, mpc::CompareMode::Fss}) {
    opt.protocol.compare = mode;
    opt.tiling = nn::Tiling{};
    opt.reveal = nn::Reveal::Logits;
    const nn::InferenceReport r = run(net, 12, opt);
    EXPECT_EQ(r.logits_equal, 12u) << mpc::compare_mode_name(mode);
    EXPECT_EQ(r.agreement, 1.0);
    EXPECT_NE(r.logits_raw, uniform.logits_raw) << "the layers were quantized at their own scales";
    opt.tiling.tiles = std::vector<size_t>(net.layers.size(), 2);
    opt.tiling.lanes = 2;
    EXPECT_EQ(run(net, 12, opt).logits_raw, r.logits_raw);
    opt.reveal = nn::Reveal::Label;
    EXPECT_EQ(run(net, 12, opt).predictions, r.predictions);
  }
  // With rings on top (the input and conv1 in 40 bits, act1 to pool2 in 64, act2 to fc1 in
  // 48, act3 back in 64).
  nn::set_layer_bits(net, {{"conv1", 40}, {"act1", 64}, {"act2", 48}, {"act3", 64}});
  opt.tiling = nn::Tiling{};
  opt.reveal = nn::Reveal::Logits;
  EXPECT_EQ(run(net, 12, opt).logits_equal, 12u);
}

// The probabilistic truncation's polynomial truncates by f_i + coef_frac inside the gate.
TEST(LayerScales, ProbabilisticPolynomialTruncatesAtTheLayersScale) {
  nn::Network net = nn::load_onnx(kShipped);
  nn::set_layer_values(net, {{"act1", 10}}, nn::kFracBits);
  nn::InferenceOptions opt;
  opt.batch = 6;
  opt.protocol.trunc = mpc::TruncMode::Prob;
  const mpc::RingConfig ring{64, 12};
  EXPECT_EQ(nn::plan_scales(net, ring, opt.protocol, nn::resolve_coef_frac(ring, -1)).out_scale[1], 10);
  const nn::InferenceReport r = run(net, 6, opt), uniform = run(nn::load_onnx(kShipped), 6, opt);
  EXPECT_EQ(r.agreement, 1.0);
  // Off by the probabilistic truncations' ulps only, as the uniform run: a gate truncating
  // by the session's f instead of act1's would be off by 2^2 in act1's whole output.
  EXPECT_LE(r.max_logit_error, 4 * uniform.max_logit_error + 8.0 / 4096);
}

// Scales travel with the model; scales outside 1..48, logits below f, unknown layers and
// malformed values are errors naming the layer or the item.
TEST(LayerScales, ScalesTravelWithTheModelAndBadScalesAreRefused) {
  nn::Network net = nn::load_onnx(kShipped);
  nn::set_layer_values(net, {{"conv2", 8}, {"fc1", 10}}, nn::kFracBits);
  const std::string onnx = temp_path("scales.onnx");
  nn::save_onnx(net, onnx);
  EXPECT_EQ(nn::onnx_metadata(onnx).at(nn::kFracBitsMetadata), "conv2=8,fc1=10");
  EXPECT_EQ(nn::layer_values_spec(nn::load_onnx(onnx), nn::kFracBits), "conv2=8,fc1=10");
  nn::save_onnx(nn::load_onnx(kShipped), onnx, {{nn::kFracBitsMetadata, "conv2=0"}});
  expect_error<nn::ModelError>([&] { nn::load_onnx(onnx); }, {onnx, nn::kFracBitsMetadata, "conv2=0"});
  const std::string arch = temp_path("scales.arch.json");
  nn::save_arch(net, arch);
  const nn::ArchFile af = nn::load_arch(arch);
  EXPECT_EQ(nn::layer_values_spec(af.arch, nn::kFracBits), "conv2=8,fc1=10");
  EXPECT_NE(af.architecture_hash, nn::architecture_hash(nn::load_onnx(kShipped)));
  std::string text = read_file(arch);
  text.replace(text.find("\"frac_bits\": 8"), 14, "\"frac_bits\": 60");
  write_file(arch, text);
  expect_error<nn::ModelError>([&] { nn::load_arch(arch); }, {"conv2", "frac_bits", "60"});
  std::remove(onnx.c_str());
  std::remove(arch.c_str());

  const mpc::RingConfig ring{64, 12};
  const int coef = nn::resolve_coef_frac(ring, -1);
  nn::Network low = nn::load_onnx(kShipped);
  nn::set_layer_values(low, {{"fc2", 5}}, nn::kFracBits);  // the logits at 10, below f = 12
  expect_error<mpc::InvalidArgument>([&] { nn::plan_scales(low, ring, mpc::ProtocolOptions{}, coef); },
                                     {"layer 'fc2'", "scale 10", "f = 12"});
  nn::Network wide = nn::load_onnx(kShipped);
  wide.layers[1].frac_bits = 49;
  expect_error<mpc::InvalidArgument>([&] { nn::plan_scales(wide, ring, mpc::ProtocolOptions{}, coef); },
                                     {"layer 'act1'", "49"});
  // A polynomial whose coefficients at 2 f_i + coef_frac leave no integer bits.
  nn::Network poly = nn::load_onnx(kShipped);
  poly.layers[1].frac_bits = 22;  // 2 * 22 + 20 bits in a 64-bit ring
  expect_error<mpc::InvalidArgument>([&] { nn::quantize(poly, ring); }, {"layer 'act1'", "f = 22"});
  expect_error<nn::ModelError>([&] { nn::parse_layer_values("conv1=49", nn::kFracBits); },
                               {"conv1=49", "1 <= FRAC <= 48"});
  expect_error<nn::ModelError>([&] { nn::set_layer_values(low, {{"conv9", 8}}, nn::kFracBits); },
                               {"fixed-point scale", "conv9"});
}

// The range allocation (nn/ring_alloc.h): the chosen rings run the calibration images, and
// each minimum is the narrowest that does (one bit less fails).
/// The all-ReLU searched model at l = 34, f = 6 and n calibration images (training split).
struct Calibration {
  explicit Calibration(size_t images)
      : net(nn::load_onnx(std::string(POLYMPC_SOURCE_DIR) + "/models/fmnist_pasnet_lambda0.onnx")),
        coef(nn::resolve_coef_frac(ring, -1)), n(images),
        calib(nn::load_idx_dataset(nn::kFashionMnistDir, "train", static_cast<int64_t>(n))),
        x(nn::encode_input(ring, calib.image(0), n * 784)) {}
  const nn::Network net;
  const mpc::RingConfig ring{34, 6};
  const mpc::ProtocolOptions o;
  const int coef;
  const size_t n;
  const nn::Dataset calib;
  const mpc::Words x;
};

TEST(RingAllocation, NarrowestRingsRunTheCalibrationImagesAndOneBitLessFails) {
  const Calibration c(32);
  size_t reported = 0;
  const nn::RingAllocation a = nn::allocate_ring_bits(c.net, c.ring, c.o, c.coef, c.x, c.n, 1, [&](size_t) { ++reported; });
  EXPECT_EQ(reported, c.net.layers.size());
  ASSERT_EQ(a.bits.size(), c.net.layers.size());
  auto with = [&](const std::vector<int>& bits) {
    nn::Network t = c.net;
    for (size_t i = 0; i < bits.size(); ++i) t.layers[i].ring_bits = bits[i];
    return nn::fixed_forward(nn::quantize(t, c.ring, c.coef), c.x, c.n, c.o);
  };
  for (size_t i = 0; i < a.bits.size(); ++i) {
    EXPECT_EQ(a.bits[i], std::min(a.minimum[i] + 1, c.ring.bits)) << c.net.layers[i].name;
    EXPECT_LT(a.bits[i], c.ring.bits) << c.net.layers[i].name << ": the images need far fewer bits";
  }
  EXPECT_NO_THROW(with(a.bits));
  EXPECT_NO_THROW(with(a.minimum));
  // conv1 one bit narrower than its minimum, the rest at the placement's ring: fails.
  std::vector<int> narrower(c.net.layers.size(), c.ring.bits);
  narrower[0] = a.minimum[0] - 1;
  EXPECT_ANY_THROW(with(narrower));
  EXPECT_THROW(nn::allocate_ring_bits(c.net, c.ring, c.o, c.coef, c.x, c.n, -1), mpc::InvalidArgument);
}

// The scale search (nn/ring_alloc.h allocate_frac_bits): only Conv, Linear and Poly layers
// get a scale; the chosen scales keep the calibration accuracy within the tolerance; for
// each lowered layer one step lower fails the search's test (the state it was taken in:
// the layers after it at f). Bad arguments are refused.
TEST(RingAllocation, ScaleSearchKeepsTheAccuracyAndOneStepLowerFails) {
  const Calibration c(48);
  const double tol = 0.05;
  const nn::ScaleAllocation a = nn::allocate_frac_bits(c.net, c.ring, c.o, c.coef, c.x, c.calib.labels, c.n, tol, 2);
  ASSERT_EQ(a.frac.size(), c.net.layers.size());
  auto accuracy = [&](const std::vector<int>& frac) {
    nn::Network t = c.net;
    for (size_t i = 0; i < frac.size(); ++i) t.layers[i].frac_bits = frac[i];
    const mpc::Words y = nn::fixed_forward(nn::quantize(t, c.ring, c.coef), c.x, c.n, c.o);
    return static_cast<double>(nn::correct_top1(c.ring, y, c.n, c.calib.labels.data())) / static_cast<double>(c.n);
  };
  EXPECT_DOUBLE_EQ(a.base_accuracy, accuracy(std::vector<int>(c.net.layers.size(), 0)));
  EXPECT_DOUBLE_EQ(a.accuracy, accuracy(a.frac));
  EXPECT_GE(a.accuracy, a.base_accuracy - tol);
  size_t lowered = 0;
  for (size_t i = 0; i < a.frac.size(); ++i) {
    const nn::OpKind op = c.net.layers[i].op;
    if (op != nn::OpKind::Conv && op != nn::OpKind::Linear && op != nn::OpKind::Poly) {
      EXPECT_EQ(a.frac[i], 0) << c.net.layers[i].name;
      continue;
    }
    const int fi = nn::resolve_frac(a.frac[i], c.ring.frac);
    EXPECT_GE(fi, 2);
    lowered += fi < c.ring.frac;
    if (fi == 2) continue;
    std::vector<int> lower(a.frac.begin(), a.frac.begin() + static_cast<long>(i));
    lower.push_back(fi - 1);
    lower.resize(a.frac.size(), 0);
    double acc = -1;
    try {
      acc = accuracy(lower);
    } catch (const mpc::InvalidArgument&) {
    } catch (const mpc::OverflowError&) {
    }
    EXPECT_LT(acc, a.base_accuracy - tol) << c.net.layers[i].name << " at f = " << fi - 1;
  }
  EXPECT_GT(lowered, 0u) << "some layer needs less than f = 6";
  EXPECT_THROW(nn::allocate_frac_bits(c.net, c.ring, c.o, c.coef, c.x, c.calib.labels, c.n, -0.1, 2), mpc::InvalidArgument);
  EXPECT_THROW(nn::allocate_frac_bits(c.net, c.ring, c.o, c.coef, c.x, c.calib.labels, c.n, tol, 7), mpc::InvalidArgument);
  EXPECT_THROW(nn::allocate_frac_bits(c.net, c.ring, c.o, c.coef, c.x, std::vector<int>(3, 0), c.n, tol, 2), mpc::InvalidArgument);
}

// Conversion cutting (cut_conversions) against a cost it is given: with a price per sign
// extension it widens the whole chain before a wider layer (act1 and conv1 up to pool1's
// 28), with widths alone it changes nothing.
TEST(RingAllocation, ConversionsAreCutWhereTheCostSaysSo) {
  const nn::Network net = nn::load_onnx(kShipped);
  const std::vector<int> bits{19, 27, 28, 19, 19, 19, 19, 18, 26, 20};
  auto extensions = [&](const std::vector<int>& b) {
    int k = 0;
    for (size_t i = 0; i < b.size(); ++i) {
      const int p = net.producers(i)[0];
      k += p >= 0 && b[static_cast<size_t>(p)] < b[i];
    }
    return k;
  };
  auto width = [](const std::vector<int>& b) { return std::accumulate(b.begin(), b.end(), 0.0); };
  const std::vector<int> cut = nn::cut_conversions(net, bits, [&](const std::vector<int>& b) {
    return 100.0 * extensions(b) + width(b);
  });
  EXPECT_EQ(cut[0], 28);
  EXPECT_EQ(cut[1], 28);
  EXPECT_EQ(cut[7], 26) << "fc1 widened to act3's 26";
  EXPECT_EQ(extensions(cut), 0);
  EXPECT_EQ(nn::cut_conversions(net, bits, width), bits);
}

}  // namespace
