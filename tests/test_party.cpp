// Two-process deployment path: dealer files, server and client over TCP loopback.
// The client's logits equal the fixed-point twin's, a preprocessing file is single-use,
// the wrong party's file or a dropped peer is a clear error.
#include <gtest/gtest.h>

#include <cstdio>
#include <future>
#include <random>

#include <unistd.h>

#include "polympc/cpu/cpu_backend.h"
#include "polympc/nn/onnx.h"
#include "polympc/nn/party.h"
#include "polympc/nn/plain.h"
#include "polympc/sim/sim_backend.h"

using namespace polympc;

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
std::string temp_path(const std::string& what) {
  return ::testing::TempDir() + "/polympc_" + ::testing::UnitTest::GetInstance()->current_test_info()->name() + "_" +
         std::to_string(::getpid()) + "_" + what;
}

struct Files {
  std::string p0 = temp_path("p0.mat");
  std::string p1 = temp_path("p1.mat");
  ~Files() {
    std::remove(p0.c_str());
    std::remove(p1.c_str());
  }
};

TEST(TwoProcess, ServerAndClientOverTcpEqualTheTwinAndFilesAreSingleUse) {
  nn::Network net = nn::load_onnx(kModel);
  const mpc::RingConfig ring{64, 12};
  nn::QuantizedModel q = nn::quantize(net, ring);
  nn::Dataset data = nn::load_idx_dataset(nn::kFashionMnistDir, "t10k", 12);
  nn::PartyPlan plan;
  plan.images = 12;
  plan.batch = 5;  // 5, 5, 2
  Files f;
  nn::deal_to_files(net, ring, plan, 99, f.p0, f.p1);

  // The wrong party's file is refused before anything is used.
  EXPECT_THROW(mpc::MaterialStore::load(f.p1, 0), mpc::MaterialError);

  mpc::MaterialStore m0 = mpc::MaterialStore::load(f.p0, 0);
  mpc::MaterialStore m1 = mpc::MaterialStore::load(f.p1, 1);
  auto [ch0, ch1] = tcp_pair();
  sim::SimBackend be0;
  cpu::CpuBackend be1(1);  // each party may run its own backend
  auto server = std::async(std::launch::async, [&] {
    return nn::run_party(0, net, &q, nullptr, ring, plan, *ch0, be0, m0, 0);
  });
  nn::PartyResult client = nn::run_party(1, nn::architecture_only(net), nullptr, &data, ring, plan, *ch1, be1, m1, 7);
  nn::PartyResult srv = server.get();
  EXPECT_TRUE(srv.logits.empty());  // the server learns nothing

  mpc::Words x = nn::encode_input(ring, data.image(0), 12 * 784);
  EXPECT_EQ(client.logits, nn::fixed_forward(q, x, 12));
  EXPECT_GT(client.accuracy, 0.5);
  // Both parties counted the same traffic, in opposite directions.
  EXPECT_EQ(client.stats.at("conv1").bytes_sent, srv.stats.at("conv1").bytes_received);
  EXPECT_EQ(client.stats.at("act2").rounds, srv.stats.at("act2").rounds);

  // A second run on the same files is refused: the material is single-use.
  EXPECT_THROW(mpc::MaterialStore::load(f.p0, 0), mpc::MaterialReuseError);
  EXPECT_THROW(mpc::MaterialStore::load(f.p1, 1), mpc::MaterialReuseError);
}

TEST(TwoProcess, MaterialForAnotherPlanOrADroppedPeerIsAClearError) {
  nn::Network net = nn::load_onnx(kModel);
  const mpc::RingConfig ring{64, 12};
  nn::QuantizedModel q = nn::quantize(net, ring);
  nn::Dataset data = nn::load_idx_dataset(nn::kFashionMnistDir, "t10k", 4);
  nn::PartyPlan plan;
  plan.images = 2;
  plan.batch = 2;
  Files f;
  nn::deal_to_files(net, ring, plan, 5, f.p0, f.p1);
  mpc::MaterialStore m0 = mpc::MaterialStore::load(f.p0, 0);
  mpc::MaterialStore m1 = mpc::MaterialStore::load(f.p1, 1);
  auto [ch0, ch1] = tcp_pair();
  cpu::CpuBackend be0(1), be1(1);
  nn::PartyPlan bigger = plan;
  bigger.images = 4;  // the client asks for more than was dealt
  auto server = std::async(std::launch::async, [&] {
    return nn::run_party(0, net, &q, nullptr, ring, plan, *ch0, be0, m0, 0);
  });
  // The server finishes its 2 images; the client's material runs out in the second batch.
  EXPECT_THROW(nn::run_party(1, net, nullptr, &data, ring, bigger, *ch1, be1, m1, 7), mpc::MaterialError);
  EXPECT_NO_THROW(server.get());
  ch1.reset();

  // Dropped connection: the client is gone before the server starts.
  nn::deal_to_files(net, ring, plan, 6, f.p0, f.p1);
  mpc::MaterialStore n0 = mpc::MaterialStore::load(f.p0, 0);
  auto [c0, c1] = tcp_pair();
  c1.reset();
  EXPECT_THROW(nn::run_party(0, net, &q, nullptr, ring, plan, *c0, be0, n0, 0), mpc::ChannelError);
}

TEST(TwoProcess, RolesAreChecked) {
  nn::Network net = nn::load_onnx(kModel);
  const mpc::RingConfig ring{64, 12};
  nn::QuantizedModel q = nn::quantize(net, ring);
  auto [ch0, ch1] = mpc::make_inproc_pair();
  cpu::CpuBackend be(1);
  mpc::MaterialStore m1(1);
  nn::PartyPlan plan;
  plan.images = 1;
  // Client with the model, server with P1's material.
  EXPECT_THROW(nn::run_party(1, net, &q, nullptr, ring, plan, *ch1, be, m1, 0), mpc::InvalidArgument);
  EXPECT_THROW(nn::run_party(0, net, &q, nullptr, ring, plan, *ch0, be, m1, 0), mpc::MaterialError);
}

}  // namespace
