// End to end: a private inference of a small CNN with every layer kind, on real
// Fashion-MNIST test images, equals its fixed-point plaintext twin bit for bit, on both
// backends; bad requests are clear errors.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <thread>
#include <tuple>

#include "polympc/cpu/cpu_backend.h"
#include "polympc/nn/dataset.h"
#include "polympc/nn/inference.h"
#include "polympc/nn/placement.h"
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
    mpc::Words fx = nn::fixed_forward(q, x, 24, opt.protocol);
    EXPECT_EQ(r.logits_raw, fx);
    logits_by_backend[b] = r.logits_raw;
    // Every layer that compares, multiplies or truncates shows up with traffic and rounds;
    // the local ones (flatten, sums of pooling without a truncation) with none.
    const nn::ScalePlan plan = nn::plan_scales(q.net, q.ring, opt.protocol, q.coef_frac);
    for (size_t i = 0; i < q.net.layers.size(); ++i) {
      const nn::LayerReport& l = r.layers.at(i);
      ASSERT_EQ(l.name, q.net.layers[i].name);
      const nn::OpKind op = q.net.layers[i].op;
      if (plan.in_shift[i] == 0 && (op == nn::OpKind::Flatten || op == nn::OpKind::AvgPool ||
                                    op == nn::OpKind::GlobalAvgPool || op == nn::OpKind::Add)) {
        EXPECT_EQ(l.rounds, 0u) << l.name;
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
  mpc::Words fx = nn::fixed_forward(q, x, 8, mpc::ProtocolOptions{});
  std::vector<float> fl = nn::float_forward(net, test_images().image(0), 8);
  ASSERT_EQ(fx.size(), fl.size());
  for (size_t j = 0; j < fl.size(); ++j) EXPECT_NEAR(q.ring.decode(fx[j]), fl[j], 0.02) << j;
}

// evaluate_plaintext (polympc infer --plaintext-only) reports the accuracies of the 2PC run's
// twins on the same images, in any batch size; bad counts are clear errors.
TEST(PrivateInference, PlaintextOnlyReportsTheTwinsAccuracyOfA2pcRun) {
  const nn::Network net = every_layer_cnn();
  const nn::QuantizedModel q = nn::quantize(net, mpc::RingConfig{64, 12});
  sim::SimBackend be0, be1;
  nn::InferenceOptions opt;
  opt.batch = 12;
  opt.insecure_test_seed = 7;
  const nn::InferenceReport r = nn::run_inproc(q, test_images(), 24, be0, be1, opt);
  for (size_t batch : {1, 5, 24, 100}) {
    const nn::PlaintextReport p = nn::evaluate_plaintext(q, test_images(), 24, batch, opt.protocol);
    EXPECT_EQ(p.images, 24u);
    EXPECT_DOUBLE_EQ(p.fixed_accuracy, r.plaintext_accuracy) << batch;
    EXPECT_DOUBLE_EQ(p.float_accuracy, r.float_accuracy) << batch;
  }
  EXPECT_THROW(nn::evaluate_plaintext(q, test_images(), 0, 4, opt.protocol), mpc::InvalidArgument);
  EXPECT_THROW(nn::evaluate_plaintext(q, test_images(), 25, 4, opt.protocol), nn::DatasetError);
}

// Overlapped batches (InferenceOptions::workers) over an emulated link: every worker has
// its own dealer, channels, backends and per-model setup; the logits equal the twin's and
// the one-at-a-time run's bit for bit, and the traffic is the same per image.
TEST(PrivateInference, OverlappedBatchesOverAnEmulatedLinkEqualTheSequentialRun) {
  nn::QuantizedModel q = nn::quantize(every_layer_cnn(), mpc::RingConfig{64, 12});
  nn::InferenceOptions opt;
  opt.batch = 5;  // 24 images: 5 batches, 3 workers -> groups of 3 and 2 batches
  opt.link = mpc::parse_link("2000,0.2");
  opt.make_backend = [](int) { return std::make_unique<cpu::CpuBackend>(1); };
  cpu::CpuBackend be0(1), be1(1);
  const nn::InferenceReport one = nn::run_inproc(q, test_images(), 24, be0, be1, opt);
  opt.workers = 3;
  cpu::CpuBackend fresh0(1), fresh1(1);  // (backends count calls across runs)
  const nn::InferenceReport three = nn::run_inproc(q, test_images(), 24, fresh0, fresh1, opt);
  EXPECT_EQ(one.logits_equal, 24u);
  EXPECT_EQ(three.logits_equal, 24u);
  EXPECT_EQ(three.logits_raw, one.logits_raw);
  EXPECT_EQ(three.workers, 3u);
  EXPECT_NE(three.link.find("2000 MB/s"), std::string::npos) << three.link;
  EXPECT_DOUBLE_EQ(three.online_bytes, one.online_bytes);
  EXPECT_EQ(three.rounds, one.rounds);
  uint64_t calls1 = 0, calls3 = 0;  // the workers' kernel counters are all reported
  for (auto& kv : one.kernels) calls1 += kv.second.calls;
  for (auto& kv : three.kernels) calls3 += kv.second.calls;
  EXPECT_EQ(calls3, calls1);
  // Without a backend factory more workers are a clear error.
  opt.make_backend = nullptr;
  EXPECT_THROW(nn::run_inproc(q, test_images(), 24, be0, be1, opt), mpc::InvalidArgument);
}

// The plan's per-layer tiling, executed (InferenceOptions::tiling): segments of different
// tile counts, counts above the batch (clamped) and uneven tiles, more than one lane and
// concurrent batches on top; FSS and GMW comparison, logits and labels. Every run equals the
// untiled one bit for bit, with (nearly) the same bytes and every lane's material used up.
TEST(PrivateInference, TiledExecutionEqualsTheUntiledRunBitForBit) {
  nn::QuantizedModel q = nn::quantize(every_layer_cnn(), mpc::RingConfig{64, 12});
  const size_t n = q.net.layers.size();
  for (mpc::CompareMode mode : {mpc::CompareMode::Gmw, mpc::CompareMode::Fss}) {
    nn::InferenceOptions opt;
    opt.batch = 5;  // 24 images: 5, 5, 5, 5, 4
    opt.protocol.compare = mode;
    opt.link = mpc::parse_link("2000,0.2");
    opt.make_backend = [](int) { return std::make_unique<cpu::CpuBackend>(1); };
    cpu::CpuBackend be0(1), be1(1);
    const nn::InferenceReport plain = nn::run_inproc(q, test_images(), 24, be0, be1, opt);
    ASSERT_EQ(plain.logits_equal, 24u);
    struct Case {
      std::vector<size_t> tiles;
      size_t lanes, workers, lanes_run;  // lanes_run: lanes beyond the most tiles of a layer idle
    };
    std::vector<size_t> mixed(n, 2);  // segments 2 | 3 | 9 (-> 5 or 4) | 1 | 2 ...
    for (size_t i = 0; i < n; ++i) mixed[i] = std::vector<size_t>{2, 2, 3, 9, 1, 2}[i % 6];
    for (const Case& c : {Case{std::vector<size_t>(n, 2), 2, 1, 2}, Case{mixed, 2, 1, 2}, Case{mixed, 3, 2, 3},
                          Case{std::vector<size_t>(n, 4), 1, 1, 1}, Case{std::vector<size_t>(n, 2), 4, 1, 2}}) {
      opt.tiling.tiles = c.tiles;
      opt.tiling.lanes = c.lanes;
      opt.workers = c.workers;
      cpu::CpuBackend t0(1), t1(1);
      const nn::InferenceReport tiled = nn::run_inproc(q, test_images(), 24, t0, t1, opt);
      const std::string what = std::string(mpc::compare_mode_name(mode)) + " lanes " + std::to_string(c.lanes) +
                               " workers " + std::to_string(c.workers);
      EXPECT_EQ(tiled.logits_equal, 24u) << what;
      EXPECT_EQ(tiled.logits_raw, plain.logits_raw) << what;
      // The same elements on the wire; bit-sliced (GMW, DReLU bits) words pack 64 elements
      // per call, so a tile's last word may be partly empty: a few percent more at most.
      EXPECT_GE(tiled.online_bytes, plain.online_bytes) << what;
      EXPECT_LE(tiled.online_bytes, 1.05 * plain.online_bytes) << what;
      EXPECT_EQ(tiled.lanes, c.lanes_run) << what;
      for (const auto& kv : tiled.tiles) EXPECT_LE(kv.second, opt.batch) << kv.first;
      EXPECT_GE(tiled.rounds, plain.rounds) << what;  // a lane with two tiles of a layer pays its rounds twice
    }
    // Labels only: the argmax after the tiled walk, on lane 0.
    opt.reveal = nn::Reveal::Label;
    opt.tiling.tiles = mixed;
    opt.tiling.lanes = 2;
    opt.workers = 1;
    cpu::CpuBackend l0(1), l1(1);
    const nn::InferenceReport labels = nn::run_inproc(q, test_images(), 24, l0, l1, opt);
    EXPECT_EQ(labels.predictions, plain.predictions);
    EXPECT_EQ(labels.agreement, 1.0);
  }
  // More than one lane needs a backend factory.
  nn::InferenceOptions bad;
  bad.tiling.tiles.assign(n, 2);
  cpu::CpuBackend b0(1), b1(1);
  EXPECT_THROW(nn::run_inproc(q, test_images(), 4, b0, b1, bad), mpc::InvalidArgument);
}

TEST(PrivateInference, ProbabilisticTruncationStaysClose) {
  nn::QuantizedModel q = nn::quantize(every_layer_cnn(), mpc::RingConfig{64, 12});
  nn::InferenceOptions opt;
  opt.batch = 12;
  opt.protocol.trunc = mpc::TruncMode::Prob;
  // The CLI's bound B = 2f + 12 = 36: |x| < 2^36 at scale 2f; fails w.p. ~2^-27 per element,
  // about 2^-9 for the ~2^18 truncated elements of this run.
  opt.protocol.trunc_bound_bits = 36;
  cpu::CpuBackend be0(1), be1(1);
  nn::InferenceReport r = nn::run_inproc(q, test_images(), 12, be0, be1, opt);
  EXPECT_LT(r.max_logit_error, 0.05);
  EXPECT_GE(r.agreement, 0.9);
}

TEST(PrivateInference, ProbabilisticTruncationFailuresAreReportedNotAveragedAway) {
  // A bound of 2^60 at l = 64 makes each truncation fail w.p. up to 2^-3: many images get a
  // logit off by ~2^(l-s-f), far beyond the +-1-ulp-per-truncation budget.
  nn::QuantizedModel q = nn::quantize(every_layer_cnn(), mpc::RingConfig{64, 12});
  nn::InferenceOptions opt;
  opt.batch = 12;
  opt.protocol.trunc = mpc::TruncMode::Prob;
  opt.protocol.trunc_bound_bits = 60;
  opt.insecure_test_seed = 5;
  cpu::CpuBackend be0(1), be1(1);
  const nn::InferenceReport r = nn::run_inproc(q, test_images(), 12, be0, be1, opt);
  const mpc::ProtocolOptions count_opt = opt.protocol;
  EXPECT_TRUE(r.failures_checked);
  EXPECT_EQ(r.truncated_per_image, nn::truncated_elements_per_image(q.net, q.ring, count_opt, q.coef_frac));
  EXPECT_EQ(r.logit_error_budget_ulps, r.truncated_per_image);
  EXPECT_FALSE(r.failed_images.empty());
  EXPECT_GT(r.max_logit_error, 1e6);
  // With the bound the CLI uses the same run stays within the budget.
  opt.protocol.trunc_bound_bits = 36;
  const nn::InferenceReport ok = nn::run_inproc(q, test_images(), 12, be0, be1, opt);
  EXPECT_TRUE(ok.failed_images.empty()) << ok.max_logit_error;
  // Exact truncation: the budget is 0 (bit-identical) and holds.
  opt.protocol.trunc = mpc::TruncMode::Exact;
  const nn::InferenceReport ex = nn::run_inproc(q, test_images(), 12, be0, be1, opt);
  EXPECT_TRUE(ex.failures_checked);
  EXPECT_EQ(ex.logit_error_budget_ulps, 0u);
  EXPECT_TRUE(ex.failed_images.empty());
}

TEST(PrivateInference, TruncatedElementsPerImageAreEveryTruncationOfTheWalk) {
  const nn::Network net = every_layer_cnn();
  nn::Network shaped = net;
  shaped.infer_shapes();
  // Every truncation the placement plans (a polynomial twice more inside under --trunc
  // prob), counted from the plan rather than from the dealt material.
  mpc::ProtocolOptions o;
  o.trunc = mpc::TruncMode::Prob;
  const nn::ScalePlan plan = nn::plan_scales(shaped, mpc::RingConfig{64, 12}, o, 20);
  const std::vector<nn::ScaleNode> nodes = nn::scale_nodes(shaped);
  uint64_t want = 0;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (plan.in_shift[i] > 0) want += static_cast<uint64_t>(nodes[i].in_elements);
    if (nodes[i].op == nn::OpKind::Poly) want += 2 * static_cast<uint64_t>(nodes[i].out_elements);
  }
  EXPECT_GT(want, 0u);
  EXPECT_EQ(nn::truncated_elements_per_image(net, mpc::RingConfig{64, 12}, o, -1), want);
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

// ---- label-only output (Reveal::Label): secure argmax of the logits ----------------------
#include <fstream>

#include "polympc/nn/onnx.h"
#include "polympc/nn/secure.h"
#include "torch_ref.h"
#include "two_party.h"

namespace {

const std::string kShippedModel = std::string(POLYMPC_SOURCE_DIR) + "/models/fmnist_cnn.onnx";

/// Top-1 of the fixed-point twin's logits (argmax_rows: first maximum).
std::vector<int> twin_labels(const nn::QuantizedModel& q, size_t count,
                             const mpc::ProtocolOptions& o) {
  mpc::Words fx = nn::fixed_forward(
      q, nn::encode_input(q.ring, test_images().image(0), count * 784), count, o);
  std::vector<double> d(fx.size());
  for (size_t j = 0; j < fx.size(); ++j) d[j] = q.ring.decode(fx[j]);
  return nn::argmax_rows(d, count);
}

const nn::LayerReport& output_phase(const nn::InferenceReport& r) {
  for (auto& l : r.layers)
    if (l.name == "output") return l;
  throw std::runtime_error("no output phase in the report");
}

// --trunc fss on the shipped model, 20 real images, batches of 10: every truncation is
// exact under its bound |x| < 2^62, so the logits equal the fixed-point twin bit for bit,
// with GMW and with FSS comparison; it costs 2 rounds and 8 B + 1 bit per truncated element,
// far less than the exact GMW truncation.
class FssTruncShipped : public ::testing::TestWithParam<mpc::CompareMode> {};

TEST_P(FssTruncShipped, LogitsEqualTheTwinBitForBit) {
  nn::QuantizedModel q = nn::quantize(nn::load_onnx(kShippedModel), mpc::RingConfig{64, 12});
  const size_t count = 20;
  nn::InferenceOptions opt;
  opt.batch = 10;
  opt.protocol.compare = GetParam();
  opt.protocol.trunc = mpc::TruncMode::Fss;
  cpu::CpuBackend be0(1), be1(1);
  const nn::InferenceReport r = nn::run_inproc(q, test_images(), count, be0, be1, opt);
  EXPECT_EQ(r.trunc, "fss");
  EXPECT_EQ(r.logits_equal, count);
  EXPECT_EQ(r.agreement, 1.0);
  EXPECT_EQ(r.max_logit_error, 0.0);
  const mpc::Words fx = nn::fixed_forward(
      q, nn::encode_input(q.ring, test_images().image(0), count * 784), count, opt.protocol);
  EXPECT_EQ(r.logits_raw, fx);
  // Fewer bytes and rounds than the default exact truncation on the same images.
  nn::InferenceOptions exact = opt;
  exact.protocol.trunc = mpc::TruncMode::Exact;
  const nn::InferenceReport e = nn::run_inproc(q, test_images(), count, be0, be1, exact);
  EXPECT_EQ(e.logits_raw, r.logits_raw);
  EXPECT_LT(r.online_bytes, e.online_bytes);
  EXPECT_LT(r.rounds, e.rounds);
}

std::string compare_name(const ::testing::TestParamInfo<mpc::CompareMode>& p) {
  return mpc::compare_mode_name(p.param);
}
INSTANTIATE_TEST_SUITE_P(Compare, FssTruncShipped,
                         ::testing::Values(mpc::CompareMode::Gmw, mpc::CompareMode::Fss),
                         compare_name);

// Shipped model, 20 real images, batches of 10; with the global --relu-bits 0:18 (exact for
// this model's activations) the argmax must still compare all 64 bits (nn::label_options).
class RevealLabel : public ::testing::TestWithParam<std::tuple<mpc::CompareMode, bool>> {};

TEST_P(RevealLabel, RevealedLabelsEqualTheTwinsTopOneAndOnlyTheyAreRevealed) {
  const auto [mode, reduced] = GetParam();
  nn::QuantizedModel q = nn::quantize(nn::load_onnx(kShippedModel), mpc::RingConfig{64, 12});
  const size_t count = 20, batch = 10, classes = 10;
  nn::InferenceOptions opt;
  opt.batch = batch;
  opt.protocol.compare = mode;
  if (reduced) opt.protocol.compare_bits = mpc::CompareBits{0, 18};
  cpu::CpuBackend be0(1), be1(1);
  nn::InferenceReport logits = nn::run_inproc(q, test_images(), count, be0, be1, opt);
  opt.reveal = nn::Reveal::Label;
  nn::InferenceReport label = nn::run_inproc(q, test_images(), count, be0, be1, opt);

  const std::vector<int> twin = twin_labels(q, count, opt.protocol);
  EXPECT_EQ(label.predictions, twin);
  EXPECT_EQ(logits.predictions, twin);
  EXPECT_EQ(label.agreement, 1.0);
  EXPECT_EQ(label.accuracy, logits.accuracy);
  EXPECT_EQ(label.reveal, nn::Reveal::Label);
  EXPECT_FALSE(label.logits_compared);
  EXPECT_TRUE(label.logits_raw.empty());
  EXPECT_TRUE(logits.logits_compared);
  EXPECT_EQ(logits.logits_equal, count);

  // "output" = the argmax of each batch (both parties send alike) + P0's index shares; the
  // argmax compares all 64 bits whatever --relu-bits says.
  // Before it, the logits are truncated to scale f when the plan leaves them above it.
  const mpc::Cost amx =
      mpc::argmax_cost(q.ring, nn::label_options(opt.protocol), batch, classes, "output/argmax");
  mpc::Cost am = amx;
  const int shift = nn::plan_scales(q.net, q.ring, opt.protocol, q.coef_frac).output_shift;
  if (shift > 0) am += mpc::trunc_cost(q.ring, opt.protocol, batch * classes, shift);
  const size_t batches = count / batch;
  const nn::LayerReport& out = output_phase(label);
  EXPECT_EQ(out.rounds, am.rounds + 1);
  EXPECT_EQ(out.bytes_p1, static_cast<double>(batches * am.bytes) / count);
  EXPECT_EQ(out.bytes_p0, static_cast<double>(batches * am.bytes + count * 8) / count);
  EXPECT_EQ(output_phase(logits).bytes_p0,
            static_cast<double>(classes * 8));     // logits mode: 10 logits
  if (reduced && mode == mpc::CompareMode::Gmw) {  // a reduced-bit argmax would cost less
    EXPECT_NE(amx.bytes,
              mpc::argmax_cost(q.ring, opt.protocol, batch, classes, "output/argmax").bytes);
  }
  // Every other phase is the same in both modes.
  ASSERT_EQ(label.layers.size(), logits.layers.size());
  for (size_t i = 0; i < label.layers.size(); ++i) {
    if (label.layers[i].name == "output") continue;
    EXPECT_EQ(label.layers[i].bytes_p0, logits.layers[i].bytes_p0) << label.layers[i].name;
    EXPECT_EQ(label.layers[i].rounds, logits.layers[i].rounds) << label.layers[i].name;
  }
}

INSTANTIATE_TEST_SUITE_P(Comparisons, RevealLabel,
                         ::testing::Combine(::testing::Values(mpc::CompareMode::Gmw,
                                                              mpc::CompareMode::Fss),
                                            ::testing::Bool()),
                         [](const auto& p) {
                           return std::string(mpc::compare_mode_name(std::get<0>(p.param))) +
                                  (std::get<1>(p.param) ? "_bits0_18" : "_full");
                         });

TEST(RevealLabel, RunBatchGivesP1TheLabelsAndP0NothingAndMaterialMustMatch) {
  nn::Network net = nn::load_onnx(kShippedModel);
  nn::QuantizedModel q = nn::quantize(net, mpc::RingConfig{64, 12});
  const size_t batch = 3;
  mpc::Words x = nn::encode_input(q.ring, test_images().image(0), batch * 784);
  for (nn::Reveal dealt : {nn::Reveal::Label, nn::Reveal::Logits}) {
    TwoParty tp(q.ring);
    nn::deal_model(tp.dealer, net, tp.m0, tp.m1);
    nn::deal_inference(tp.dealer, net, batch, tp.options, q.coef_frac, tp.m0, tp.m1, dealt);
    nn::SecureParty p0(net, &q, q.coef_frac), p1(net, nullptr, q.coef_frac);
    mpc::Prg prg0(mpc::seed_from_u64(1)), prg1(mpc::seed_from_u64(2));
    mpc::Words out0{1}, out1;
    auto run = [&] {
      tp.run([&](mpc::Session& s) {
        nn::SecureParty& p = s.party == 0 ? p0 : p1;
        p.setup(s);
        (s.party == 0 ? out0 : out1) = p.run_batch(s, s.party == 0 ? mpc::Words() : x, batch,
                                                   s.party == 0 ? prg0 : prg1, nn::Reveal::Label);
      });
    };
    if (dealt == nn::Reveal::Logits) {  // material without the argmax: out of step
      EXPECT_THROW(run(), mpc::MaterialError);
      continue;
    }
    run();
    EXPECT_TRUE(out0.empty());
    const std::vector<int> twin = twin_labels(q, batch, tp.options);
    ASSERT_EQ(out1.size(), batch);
    for (size_t n = 0; n < batch; ++n) EXPECT_EQ(out1[n], static_cast<uint64_t>(twin[n])) << n;
    EXPECT_EQ(tp.m0.remaining() + tp.m1.remaining(), 0u);
  }
  EXPECT_EQ(nn::parse_reveal("label"), nn::Reveal::Label);
  EXPECT_EQ(nn::parse_reveal("logits"), nn::Reveal::Logits);
  try {
    nn::parse_reveal("probabilities");
    FAIL() << "expected InvalidArgument";
  } catch (const mpc::InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("logits or label"), std::string::npos) << e.what();
  }
}

}  // namespace

// ---- models exported by torch.onnx.export (tests/data, scripts/make_onnx_fixtures.py) ----

namespace {

class TorchFixture : public ::testing::TestWithParam<const char*> {};

TEST_P(TorchFixture, PrivateInferenceOfATorchExportEqualsTheTwinAndTracksTorch) {
  const std::string base = std::string(POLYMPC_TEST_DATA_DIR) + "/" + GetParam();
  nn::Network net = nn::load_onnx(base + ".onnx");
  TorchRef ref = read_ref(base + ".ref.txt");
  nn::Dataset d = dataset_of(ref);
  nn::QuantizedModel q = nn::quantize(net, mpc::RingConfig{64, 16});
  cpu::CpuBackend be0(1), be1(1);
  nn::InferenceReport r = nn::run_inproc(q, d, static_cast<size_t>(d.count), be0, be1, {});
  EXPECT_EQ(r.logits_equal, static_cast<size_t>(d.count));
  ASSERT_EQ(r.logits_raw.size(), ref.output.size());
  for (size_t j = 0; j < ref.output.size(); ++j) EXPECT_NEAR(q.ring.decode(r.logits_raw[j]), ref.output[j], 2e-3) << j;
}

INSTANTIATE_TEST_SUITE_P(Fixtures, TorchFixture, ::testing::Values("cnn_view", "cnn_flatten_horner", "residual"));

// A residual network: an Add whose producers lie in earlier segments of other tile counts.
TEST(TiledExecution, ResidualNetworkEqualsTheTwin) {
  const std::string base = std::string(POLYMPC_TEST_DATA_DIR) + "/residual";
  nn::Network net = nn::load_onnx(base + ".onnx");
  nn::Dataset d = dataset_of(read_ref(base + ".ref.txt"));
  nn::QuantizedModel q = nn::quantize(net, mpc::RingConfig{64, 16});
  nn::InferenceOptions opt;
  opt.batch = static_cast<size_t>(d.count);
  opt.make_backend = [](int) { return std::make_unique<cpu::CpuBackend>(1); };
  for (size_t i = 0; i < net.layers.size(); ++i) opt.tiling.tiles.push_back(1 + i % 3);
  cpu::CpuBackend be0(1), be1(1);
  const nn::InferenceReport r = nn::run_inproc(q, d, static_cast<size_t>(d.count), be0, be1, opt);
  EXPECT_EQ(r.logits_equal, static_cast<size_t>(d.count));
  EXPECT_EQ(r.lanes, 2u);
  EXPECT_FALSE(r.tiles.empty());
}

// The segment rule that infer executes and the scheduler's timeline models (one place).
TEST(TiledExecution, SegmentsAreRunsOfEqualImageTileCounts) {
  using Seg = std::tuple<size_t, size_t, size_t>;
  auto segs = [](const std::vector<size_t>& counts, size_t batch, const std::vector<bool>& alone = {}) {
    std::vector<Seg> out;
    for (const nn::TileSegment& s : nn::tile_segments(counts, batch, alone)) out.emplace_back(s.begin, s.end, s.tiles);
    return out;
  };
  // Equal counts <= batch join; 0 reads as 1; a count above the batch (element tiles) and
  // equal neighbours above the batch stay alone.
  EXPECT_EQ(segs({0, 1, 2, 2, 3, 3, 8, 8}, 4),
            (std::vector<Seg>{{0, 2, 1}, {2, 4, 2}, {4, 6, 3}, {6, 7, 8}, {7, 8, 8}}));
  // alone[i] cuts a run (the cpu target's input and output rows).
  EXPECT_EQ(segs({2, 2, 2, 2}, 4, {true, false, false, true}),
            (std::vector<Seg>{{0, 1, 2}, {1, 3, 2}, {3, 4, 2}}));
  EXPECT_TRUE(segs({}, 4).empty());
  EXPECT_THROW(nn::tile_segments({1, 2}, 4, {true}), mpc::InvalidArgument);
}

// The tiled protocol calls by hand: a lane whose material was dealt for another tiling
// stops both parties with the material error (not a hang, not the peer's "closed").
TEST(TiledExecution, MaterialOfAnotherTilingIsAClearError) {
  nn::Network net = nn::load_onnx(std::string(POLYMPC_SOURCE_DIR) + "/models/fmnist_cnn.onnx");
  nn::QuantizedModel q = nn::quantize(net, mpc::RingConfig{64, 12});
  const size_t batch = 4;
  mpc::Words x = nn::encode_input(q.ring, test_images().image(0), batch * 784);
  nn::Tiling dealt, run;
  dealt.tiles.assign(net.layers.size(), 2);
  run.tiles.assign(net.layers.size(), 2);
  run.tiles[0] = 4;  // conv1 in four tiles online, two when dealt
  mpc::Dealer dealer(mpc::seed_from_u64(7), q.ring);
  mpc::MaterialStore a0(0), a1(1), b0(0), b1(1);
  nn::deal_model(dealer, net, a0, a1);
  for (const auto& kv : a0.fixed_masks()) b0.set_fixed(kv.first, kv.second);
  for (const auto& kv : a1.fixed_masks()) b1.set_fixed(kv.first, kv.second);
  nn::deal_inference_tiled(dealer, net, batch, {}, q.coef_frac, {{&a0, &a1}, {&b0, &b1}}, dealt);
  EXPECT_THROW(nn::deal_inference_tiled(dealer, net, batch, {}, q.coef_frac, {}, dealt), mpc::InvalidArgument);
  auto pa = mpc::make_inproc_pair(), pb = mpc::make_inproc_pair();
  cpu::CpuBackend e0(1), e1(1), f0(1), f1(1);
  mpc::Session sa0{0, q.ring, *pa.first, e0, a0, {}}, sa1{1, q.ring, *pa.second, e1, a1, {}};
  mpc::Session sb0{0, q.ring, *pb.first, f0, b0, {}}, sb1{1, q.ring, *pb.second, f1, b1, {}};
  nn::SecureParty p0(net, &q, q.coef_frac), p1(net, nullptr, q.coef_frac);
  mpc::Prg prg(mpc::seed_from_u64(3));
  std::exception_ptr e_p0;
  std::thread t([&] {
    try {
      p0.setup(sa0);
      p0.run_batch_tiled({&sa0, &sb0}, {}, batch, prg, nn::Reveal::Logits, run);
    } catch (...) {
      e_p0 = std::current_exception();
      pa.first.reset();
      pb.first.reset();
    }
  });
  try {
    p1.setup(sa1);
    p1.run_batch_tiled({&sa1, &sb1}, x, batch, prg, nn::Reveal::Logits, run);
    ADD_FAILURE() << "P1 finished on material of another tiling";
  } catch (const mpc::MaterialError&) {
    pa.second.reset();
    pb.second.reset();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "P1: " << e.what();
    pa.second.reset();
    pb.second.reset();
  }
  t.join();
  ASSERT_TRUE(e_p0);
  try {
    std::rethrow_exception(e_p0);
  } catch (const mpc::MaterialError&) {
  } catch (const mpc::ChannelError&) {  // P0 may be stopped by P1's closed lanes first
  }
  EXPECT_THROW(p1.infer_tiled({}, x, batch, run), mpc::InvalidArgument);
}


// --relu-bits NAME=LO:HI for a layer with a PyTorch-style name ("/Relu" in residual.onnx,
// exported by torch): the override must apply (smaller DCF keys, less GMW traffic), and
// with a range that holds every activation the logits still equal the twin's.
TEST(PerLayerBits, TorchStyleLayerNameTakesTheOverride) {
  const std::string base = std::string(POLYMPC_TEST_DATA_DIR) + "/residual";
  nn::Network net = nn::load_onnx(base + ".onnx");
  std::string relu;
  for (const nn::Layer& L : net.layers)
    if (L.op == nn::OpKind::Relu) relu = L.name;
  ASSERT_FALSE(relu.empty());
  ASSERT_NE(relu.find('/'), std::string::npos)
      << relu;  // a name the old first-component rule missed
  TorchRef ref = read_ref(base + ".ref.txt");
  nn::Dataset d = dataset_of(ref);
  nn::QuantizedModel q = nn::quantize(net, mpc::RingConfig{64, 16});
  const size_t count = static_cast<size_t>(d.count);
  for (mpc::CompareMode mode : {mpc::CompareMode::Fss, mpc::CompareMode::Gmw}) {
    nn::InferenceOptions full, reduced;
    full.protocol.compare = reduced.protocol.compare = mode;
    // A reduced-bit layer sees its input at scale f (the placement truncates before it):
    // against a 63-bit range, which is exact for every value here, only the comparison
    // differs and the truncations stay where they are.
    full.protocol.layer_compare_bits[relu] = mpc::CompareBits{0, 63};
    reduced.protocol.layer_compare_bits[relu] = mpc::CompareBits{0, 40};
    cpu::CpuBackend be0(1), be1(1);
    nn::InferenceReport rf = nn::run_inproc(q, d, count, be0, be1, full);
    nn::InferenceReport rr = nn::run_inproc(q, d, count, be0, be1, reduced);
    EXPECT_EQ(rr.logits_equal, count) << mpc::compare_mode_name(mode);
    EXPECT_EQ(rr.logits_raw, rf.logits_raw);
    EXPECT_NE(rr.compare_bits.find(relu + "=0:40"), std::string::npos) << rr.compare_bits;
    double relu_bytes_full = -1, relu_bytes_reduced = -1;
    for (size_t i = 0; i < rf.layers.size(); ++i)
      if (rf.layers[i].name == relu) {
        relu_bytes_full = rf.layers[i].bytes_p0;
        relu_bytes_reduced = rr.layers[i].bytes_p0;
      }
    ASSERT_GT(relu_bytes_full, 0.0);
    if (mode == mpc::CompareMode::Fss) {
      // DCF depth 39 instead of 62 for the ReLU: 16 bytes less key per level, element and
      // party. The layer also truncates its input (GMW-exact truncation, 38.5 B).
      EXPECT_LT(rr.offline_bytes, rf.offline_bytes);
      const double relus = relu_bytes_full / (8.125 + 38.5);
      EXPECT_DOUBLE_EQ(rf.offline_bytes - rr.offline_bytes, 2 * relus * 16 * (62 - 39));
    } else {
      EXPECT_LT(relu_bytes_reduced, relu_bytes_full);  // fewer AND gates
    }
  }
}

// The same for a ReLU and a max pool named like PyTorch's sequential modules: the max
// pool's tags are "<name>/max<level>".
TEST(PerLayerBits, SlashNamedReluAndMaxPoolTakeTheirOverrides) {
  nn::Network net = every_layer_cnn();
  for (nn::Layer& L : net.layers) {
    if (L.name == "act2") L.name = "/features/features.4/Relu";
    if (L.name == "pool2") L.name = "/features/features.5/MaxPool";
  }
  nn::QuantizedModel q = nn::quantize(net, mpc::RingConfig{64, 12});
  nn::InferenceOptions full, reduced;  // full: 63 bits, exact here, at the same placement
  full.protocol.layer_compare_bits["/features/features.4/Relu"] = mpc::CompareBits{0, 63};
  full.protocol.layer_compare_bits["/features/features.5/MaxPool"] = mpc::CompareBits{0, 63};
  reduced.protocol.layer_compare_bits["/features/features.4/Relu"] = mpc::CompareBits{0, 36};
  reduced.protocol.layer_compare_bits["/features/features.5/MaxPool"] = mpc::CompareBits{0, 34};
  sim::SimBackend be0, be1;
  nn::InferenceReport rf = nn::run_inproc(q, test_images(), 8, be0, be1, full);
  nn::InferenceReport rr = nn::run_inproc(q, test_images(), 8, be0, be1, reduced);
  EXPECT_EQ(rr.logits_equal, 8u);
  for (size_t i = 0; i < rf.layers.size(); ++i) {
    const std::string& name = rf.layers[i].name;
    if (name.rfind("/features/", 0) == 0)
      EXPECT_LT(rr.layers[i].bytes_p0, rf.layers[i].bytes_p0) << name;
    else
      EXPECT_EQ(rr.layers[i].bytes_p0, rf.layers[i].bytes_p0) << name;
  }
}

}  // namespace
