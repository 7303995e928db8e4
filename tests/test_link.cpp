// The emulated link (mpc/link.h): bytes arrive intact, no earlier than bandwidth and
// propagation allow (lower bounds only: the machine may always be slower), directions
// are independent, one direction is shared by the channels that use it, and bad
// specifications are clear errors.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <numeric>
#include <vector>

#include "polympc/mpc/errors.h"
#include "polympc/mpc/link.h"

using namespace polympc;
using Clock = std::chrono::steady_clock;

namespace {

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::pair<std::unique_ptr<mpc::Channel>, std::unique_ptr<mpc::Channel>> linked(double mbps, double rtt_ms,
                                                                                std::shared_ptr<mpc::EmulatedLink>* fwd = nullptr) {
  mpc::LinkSpec s = mpc::parse_link(std::to_string(mbps) + "," + std::to_string(rtt_ms));
  auto a = std::make_shared<mpc::EmulatedLink>(s), b = std::make_shared<mpc::EmulatedLink>(s);
  if (fwd) *fwd = a;
  return mpc::emulate_link(mpc::make_inproc_pair(), a, b);
}

TEST(EmulatedLink, ParsesAndRefusesSpecifications) {
  const mpc::LinkSpec s = mpc::parse_link("377,0.3");
  EXPECT_DOUBLE_EQ(s.bytes_per_s, 377e6);
  EXPECT_DOUBLE_EQ(s.rtt_s, 0.3e-3);
  for (const char* bad : {"", "377", "0,1", "-5,1", "10,-1", "abc,1", "10,1x", "nan,1"})
    EXPECT_THROW(mpc::parse_link(bad), mpc::InvalidArgument) << bad;
}

TEST(EmulatedLink, BytesArriveIntactAfterSerialisationAndPropagation) {
  auto [c0, c1] = linked(10, 40);  // 10 MB/s, 40 ms RTT
  std::vector<uint8_t> out(200000);
  std::iota(out.begin(), out.end(), 0);
  const auto t0 = Clock::now();
  c0->send(out.data(), out.size());  // a writer never waits
  EXPECT_LT(since(t0), 0.02 + 0.5);  // (generous: only that it does not wait for the reader)
  std::vector<uint8_t> in(out.size());
  c1->recv(in.data(), 100000);  // split reads of one message
  c1->recv(in.data() + 100000, 100000);
  EXPECT_GE(since(t0), 200000 / 10e6 + 0.020);
  EXPECT_EQ(in, out);
  EXPECT_EQ(c0->total().bytes_sent, 200000u);
  EXPECT_EQ(c1->total().bytes_received, 200000u);
}

TEST(EmulatedLink, AReplyCostsOneRoundTrip) {
  auto [c0, c1] = linked(1000, 30);
  const auto t0 = Clock::now();
  auto peer = std::async(std::launch::async, [&, c = c1.get()] {
    uint64_t v = 0;
    c->recv(&v, 8);
    v += 1;
    c->send(&v, 8);
  });
  uint64_t v = 41;
  c0->send(&v, 8);
  c0->recv(&v, 8);
  peer.get();
  EXPECT_EQ(v, 42u);
  EXPECT_GE(since(t0), 0.030);
}

TEST(EmulatedLink, ChannelsSharingADirectionShareItsBandwidth) {
  mpc::LinkSpec s = mpc::parse_link("5,0");
  auto fwd = std::make_shared<mpc::EmulatedLink>(s), back = std::make_shared<mpc::EmulatedLink>(s);
  auto [a0, a1] = mpc::emulate_link(mpc::make_inproc_pair(), fwd, back);
  auto [b0, b1] = mpc::emulate_link(mpc::make_inproc_pair(), fwd, back);
  std::vector<uint8_t> buf(100000, 7);
  const auto t0 = Clock::now();
  a0->send(buf.data(), buf.size());
  b0->send(buf.data(), buf.size());
  b1->recv(buf.data(), buf.size());  // queued behind a's 100 kB on the shared link
  EXPECT_GE(since(t0), 200000 / 5e6);
  a1->recv(buf.data(), buf.size());
}

TEST(EmulatedLink, AClosedPeerIsAChannelError) {
  auto [c0, c1] = linked(100, 1);
  c1.reset();
  uint64_t v = 0;
  EXPECT_THROW(c0->recv(&v, 8), mpc::ChannelError);
}

}  // namespace
