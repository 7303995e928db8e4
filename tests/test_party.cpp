// Two-process deployment path: dealer files, server and client over TCP loopback.
// The client (architecture only) gets logits equal to the fixed-point twin's; material is
// single-use across copies and restarts, may be consumed in parts; a mismatched pair,
// another model, an image of the wrong size or a dropped peer is a clear error.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <random>

#include <unistd.h>

#include "polympc/cpu/cpu_backend.h"
#include "polympc/nn/arch_file.h"
#include "polympc/nn/onnx.h"
#include "polympc/nn/party.h"
#include "polympc/nn/plain.h"
#include "polympc/nn/winograd.h"
#include "polympc/sim/sim_backend.h"
#include "ir_compare.h"
#include "test_networks.h"
#include "test_util.h"

using namespace polympc;
using polympc::testing::error_of;
using polympc::testing::temp_path;

namespace {

const std::string kModel = std::string(POLYMPC_SOURCE_DIR) + "/models/fmnist_cnn.onnx";

std::pair<std::unique_ptr<mpc::Channel>, std::unique_ptr<mpc::Channel>> tcp_pair() {
  std::mt19937 rng(std::random_device{}());
  for (int attempt = 0;; ++attempt) {
    const auto port = static_cast<uint16_t>(std::uniform_int_distribution<int>(20000, 59999)(rng));
    auto server = std::async(std::launch::async, [port] { return mpc::tcp_listen(port, 10000); });
    try {
      auto client = mpc::tcp_connect("127.0.0.1", port, 10000);
      return {server.get(), std::move(client)};
    } catch (const mpc::ChannelError&) {
      try {
        server.get();
      } catch (const mpc::ChannelError&) {
        if (attempt < 5) continue;
      }
      throw;
    }
  }
}

// CTest runs each test case as its own process, possibly at the same time: the files are
// named after the test and the process.

struct Files {
  explicit Files(const std::string& run = "a")
      : p0(temp_path(run + "p0.mat")), p1(temp_path(run + "p1.mat")) {}
  std::string p0, p1;
  std::string ledger0 = temp_path("ledger0");  // each party's machine has its own ledger
  std::string ledger1 = temp_path("ledger1");
  ~Files() {
    for (auto* p : {&p0, &p1, &ledger0, &ledger1}) {
      std::remove(p->c_str());
      std::remove((*p + ".lock").c_str());
    }
  }
};

const std::string kHash = "model-hash-of-the-test";

nn::PartyPlan plan_of(size_t images, size_t batch) {
  nn::PartyPlan plan;
  plan.images = images;
  plan.batch = batch;
  return plan;
}

/// Both parties over TCP loopback; the client holds only the architecture.
struct Parties {
  nn::Network net;
  mpc::RingConfig ring{64, 12};
  nn::QuantizedModel q;
  nn::Dataset data;
  Parties() : Parties(nn::load_onnx(kModel)) {}
  explicit Parties(nn::Network n)
      : net(std::move(n)),
        q(nn::quantize(net, ring)),
        data(nn::load_idx_dataset(nn::kFashionMnistDir, "t10k", 12)) {}

  std::pair<nn::PartyResult, nn::PartyResult> run(const Files& f, const nn::PartyPlan& plan,
                                                  size_t first_image = 0,
                                                  const std::string& client_hash = kHash,
                                                  const std::string& p0 = "",
                                                  const std::string& p1 = "") {
    mpc::MaterialFile m0 = mpc::MaterialFile::open(p0.empty() ? f.p0 : p0, 0);
    mpc::MaterialFile m1 = mpc::MaterialFile::open(p1.empty() ? f.p1 : p1, 1);
    mpc::Ledger l0(f.ledger0), l1(f.ledger1);
    auto [ch0, ch1] = tcp_pair();
    sim::SimBackend be0;
    cpu::CpuBackend be1(1);  // each party may run its own backend
    auto server = std::async(std::launch::async, [&] {
      try {
        return nn::run_party(0, net, kHash, &q, nullptr, ring, plan, *ch0, be0, m0, l0);
      } catch (...) {
        ch0.reset();
        throw;
      }
    });
    nn::PartyResult client;
    try {
      client = nn::run_party(1, nn::architecture_only(net), client_hash, nullptr, &data, ring, plan,
                             *ch1, be1, m1, l1, {}, first_image);
    } catch (...) {
      ch1.reset();
      server.wait();
      throw;
    }
    return {server.get(), client};
  }
  /// Both parties' files for `plan` on the architecture only (a CSPRNG-keyed dealer).
  void deal(const Files& f, const nn::PartyPlan& plan) {
    nn::deal_to_files(nn::architecture_only(net), kHash, ring, plan, f.p0, f.p1);
  }
  mpc::Words twin(size_t first, size_t n) {
    return nn::fixed_forward(
        q, nn::encode_input(ring, data.image(static_cast<int64_t>(first)), n * 784), n,
        mpc::ProtocolOptions{});
  }
};

TEST(TwoProcess, ClientWithTheArchitectureOnlyEqualsTheTwinAndMaterialIsSingleUse) {
  Parties p;
  nn::PartyPlan plan = plan_of(12, 5);  // 5, 5, 2
  Files f;
  p.deal(f, plan);
  const std::string copy0 = polympc::testing::read_file(f.p0),
                    copy1 = polympc::testing::read_file(f.p1);

  // The wrong party's file is refused before anything is used.
  EXPECT_THROW(mpc::MaterialFile::open(f.p1, 0), mpc::MaterialError);

  auto [srv, client] = p.run(f, plan);
  EXPECT_TRUE(srv.logits.empty());  // the server learns nothing
  EXPECT_EQ(client.logits, p.twin(0, 12));
  EXPECT_GT(client.accuracy, 0.5);
  EXPECT_EQ(client.segments, 3u);
  // Both parties counted the same traffic, in opposite directions.
  EXPECT_EQ(client.stats.at("conv1").bytes_sent, srv.stats.at("conv1").bytes_received);
  EXPECT_EQ(client.stats.at("act2").rounds, srv.stats.at("act2").rounds);

  // A second run on the same files is refused, also after restoring them from a copy.
  EXPECT_THROW(p.run(f, plan), mpc::MaterialReuseError);
  polympc::testing::write_file(f.p0, copy0);
  polympc::testing::write_file(f.p1, copy1);
  const std::string e = error_of([&] { p.run(f, plan); });
  EXPECT_NE(e.find("already consumed"), std::string::npos) << e;
}

// The Winograd forms travel in the architecture file (export-arch --winograd): the dealer
// and the client, who read only that file, run the same forms as the server.
TEST(TwoProcess, WinogradFormsFromTheArchitectureFileEqualTheTwin) {
  for (const std::string spec : {"conv2=2", "conv2=4"}) {
    SCOPED_TRACE(spec);
    nn::Network net = polympc::testing::every_layer_cnn();
    ASSERT_EQ(nn::set_winograd(net, spec), 1);
    const std::string arch_path = temp_path("winograd-arch.json");
    nn::save_arch(net, arch_path);
    const nn::ArchFile af = nn::load_arch(arch_path);
    std::remove(arch_path.c_str());
    ASSERT_EQ(af.model_hash, nn::model_hash(net));
    Parties p(net);
    nn::PartyPlan plan = plan_of(4, 2);
    Files f;
    nn::deal_to_files(af.arch, kHash, p.ring, plan, f.p0, f.p1);
    // The client runs on the file's architecture (run() uses architecture_only(net), which
    // the file equals: same forms, zero parameters).
    polympc::testing::expect_same_ir(af.arch, nn::architecture_only(net));
    auto [srv, client] = p.run(f, plan);
    EXPECT_EQ(client.logits, p.twin(0, 4));
    // The direct form's twin differs (F(4x4) by its rounding, F(2x2) not at all).
    if (spec == "conv2=2") {
      Parties d(polympc::testing::every_layer_cnn());
      EXPECT_EQ(client.logits, d.twin(0, 4));
    }
  }
}

TEST(TwoProcess, MaterialIsConsumedInPartsOverSeveralRuns) {
  Parties p;
  nn::PartyPlan deal = plan_of(6, 2);
  Files f;
  p.deal(f, deal);
  nn::PartyPlan run = deal;
  run.images = 2;
  auto [s1, c1] = p.run(f, run, 0);
  EXPECT_EQ(c1.first_segment, 0u);
  EXPECT_EQ(c1.logits, p.twin(0, 2));
  run.images = 4;
  auto [s2, c2] = p.run(f, run, 2);
  EXPECT_EQ(c2.first_segment, 1u);
  EXPECT_EQ(c2.segments, 2u);
  EXPECT_EQ(c2.logits, p.twin(2, 4));
  // All six images' material is gone.
  run.images = 2;
  EXPECT_THROW(p.run(f, run, 6), mpc::MaterialReuseError);
}

TEST(TwoProcess, MismatchedPairOtherModelOrPlanAreClearErrors) {
  Parties p;
  nn::PartyPlan plan = plan_of(2, 2);
  Files a("a"), b("b");
  p.deal(a, plan);
  p.deal(b, plan);
  // P0's file from one dealer run, P1's from another (before: 0 % accuracy and exit 0).
  std::string e = error_of([&] { p.run(a, plan, 0, kHash, a.p0, b.p1); });
  EXPECT_NE(e.find("mismatched preprocessing files"), std::string::npos) << e;
  // The client's architecture file belongs to another model.
  e = error_of([&] { p.run(a, plan, 0, "another-model"); });
  EXPECT_NE(e.find("dealt for model"), std::string::npos) << e;
  // The parties run another protocol than the dealer dealt for.
  nn::PartyPlan fss = plan;
  fss.protocol.compare = mpc::CompareMode::Fss;
  e = error_of([&] { p.run(a, fss); });
  EXPECT_NE(e.find("compare=gmw"), std::string::npos) << e;
  // None of these consumed anything: the right pair still runs.
  auto [srv, client] = p.run(a, plan);
  EXPECT_EQ(client.logits, p.twin(0, 2));
}

TEST(TwoProcess, ReDealtTestSeedIsRefusedAndFilesAreOwnerOnly) {
  Parties p;
  nn::PartyPlan plan = plan_of(1, 1);
  Files f;
  const mpc::Seed seed = mpc::seed_from_u64(42);
  const std::string id = nn::deal_to_files(p.net, kHash, p.ring, plan, f.p0, f.p1, &seed);
  EXPECT_EQ(std::filesystem::status(f.p1).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  p.run(f, plan);
  // Dealing again with the same (insecure, test-only) seed reproduces the masks and the run ID:
  EXPECT_EQ(nn::deal_to_files(p.net, kHash, p.ring, plan, f.p0, f.p1, &seed), id);
  EXPECT_THROW(p.run(f, plan), mpc::MaterialReuseError);
  // Without a seed, every dealer run is new.
  EXPECT_NE(nn::deal_to_files(p.net, kHash, p.ring, plan, f.p0, f.p1), id);
}

TEST(TwoProcess, ImagesOfAnotherSizeOrADroppedPeerAreClearErrors) {
  Parties p;
  nn::PartyPlan plan = plan_of(2, 2);
  Files f;
  p.deal(f, plan);
  // The client's images are larger than the model's input: refused before reading past them.
  nn::Dataset wide = p.data;
  wide.width = 14;  // 28 x 14 = 392 elements per image, the model wants 784
  mpc::MaterialFile m1 = mpc::MaterialFile::open(f.p1, 1);
  mpc::Ledger l1(f.ledger1);
  auto [c0, c1] = mpc::make_inproc_pair();
  cpu::CpuBackend be(1);
  const std::string e = error_of([&] {
    nn::run_party(1, nn::architecture_only(p.net), kHash, nullptr, &wide, p.ring, plan, *c1, be, m1,
                  l1);
  });
  EXPECT_NE(e.find("the model's input has 784"), std::string::npos) << e;

  // Dropped connection: the client is gone before the server starts.
  mpc::MaterialFile m0 = mpc::MaterialFile::open(f.p0, 0);
  mpc::Ledger l0(f.ledger0);
  auto [d0, d1] = tcp_pair();
  d1.reset();
  EXPECT_THROW(nn::run_party(0, p.net, kHash, &p.q, nullptr, p.ring, plan, *d0, be, m0, l0),
               mpc::ChannelError);
  // Nothing was consumed: the pair still runs.
  auto [srv, client] = p.run(f, plan);
  EXPECT_EQ(client.logits, p.twin(0, 2));
}

TEST(TwoProcess, TheClientCanLearnTheLabelsOnly) {
  Parties p;
  nn::PartyPlan plan = plan_of(6, 3);
  plan.reveal = nn::Reveal::Label;
  Files f;
  p.deal(f, plan);
  auto [srv, client] = p.run(f, plan);
  EXPECT_TRUE(client.logits.empty());  // no logit reaches the client
  const mpc::Words twin = p.twin(0, 6);
  std::vector<double> d(twin.size());
  for (size_t j = 0; j < d.size(); ++j) d[j] = p.ring.decode(twin[j]);
  EXPECT_EQ(client.predictions, nn::argmax_rows(d, 6));
  // The plan says what is revealed: material dealt for labels does not serve logits.
  nn::PartyPlan logits = plan;
  logits.reveal = nn::Reveal::Logits;
  Files g("g");
  p.deal(g, plan);
  EXPECT_NE(error_of([&] { p.run(g, logits); }).find("reveal=label"), std::string::npos);
}

TEST(TwoProcess, RolesAreChecked) {
  Parties p;
  nn::PartyPlan plan = plan_of(1, 1);
  Files f;
  p.deal(f, plan);
  auto [ch0, ch1] = mpc::make_inproc_pair();
  cpu::CpuBackend be(1);
  mpc::MaterialFile m1 = mpc::MaterialFile::open(f.p1, 1);
  mpc::Ledger l(f.ledger0);
  // Client with the model, server with P1's material.
  EXPECT_THROW(nn::run_party(1, p.net, kHash, &p.q, nullptr, p.ring, plan, *ch1, be, m1, l),
               mpc::InvalidArgument);
  EXPECT_THROW(nn::run_party(0, p.net, kHash, &p.q, nullptr, p.ring, plan, *ch0, be, m1, l),
               mpc::MaterialError);
}

}  // namespace
