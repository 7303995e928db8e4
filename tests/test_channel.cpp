// Tests of mpc/channel.h: the in-process pair and the TCP channel.
//
// Every test is bounded in time: blocking calls run under a Watchdog that aborts the
// process (failing the test run instead of hanging CI) and the TCP tests use short
// timeouts. Two-party tests use a random high port chosen here, retried when taken.
#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "polympc/mpc/channel.h"
#include "polympc/mpc/errors.h"

namespace {

using polympc::mpc::Channel;
using polympc::mpc::ChannelError;
using polympc::mpc::PhaseScope;
using polympc::mpc::PhaseStats;
using Clock = std::chrono::steady_clock;

/// Aborts the process if not destroyed within `seconds` (a hung channel fails loudly).
class Watchdog {
 public:
  explicit Watchdog(int seconds) : thread_([this, seconds] {
      std::unique_lock<std::mutex> lk(mu_);
      if (!cv_.wait_for(lk, std::chrono::seconds(seconds), [&] { return done_; })) {
        std::fprintf(stderr, "test_channel: watchdog expired after %d s (hang)\n", seconds);
        std::abort();
      }
    }) {}
  ~Watchdog() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

/// Deterministic test payload: depends on (tag, index) so misordered bytes are caught.
std::vector<uint8_t> pattern(size_t n, uint64_t tag) {
  std::vector<uint8_t> v(n);
  uint64_t x = tag * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    v[i] = static_cast<uint8_t>(x >> 24);
  }
  return v;
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// ---------------------------------------------------------------- in-process pair

TEST(InprocChannel, SendRecvCountsBytesAndRoundsPerPhase) {
  Watchdog wd(30);
  auto [p0, p1] = polympc::mpc::make_inproc_pair();
  auto msg = pattern(100, 1);
  p0->send(msg.data(), msg.size());  // never blocks
  std::vector<uint8_t> got(100);
  p1->recv(got.data(), got.size());
  EXPECT_EQ(got, msg);
  EXPECT_EQ(p0->stats().at("default").bytes_sent, 100u);
  EXPECT_EQ(p0->stats().at("default").rounds, 1u);
  EXPECT_EQ(p1->stats().at("default").bytes_received, 100u);
  EXPECT_EQ(p1->stats().at("default").rounds, 1u);

  // PhaseScope: traffic counted under the layer name, old phase restored afterwards.
  std::thread t1([&, &c1 = *p1] {
    PhaseScope scope(c1, "conv1");
    std::vector<uint64_t> out = {1, 2, 3}, in;
    c1.exchange_words(out, in);
    EXPECT_EQ(in, (std::vector<uint64_t>{10, 20, 30}));
    std::vector<uint8_t> x(7), y(5, 9);
    c1.exchange(y.data(), y.size(), x.data(), x.size());
    EXPECT_EQ(x, std::vector<uint8_t>(7, 4));
  });
  {
    PhaseScope scope(*p0, "conv1");
    EXPECT_EQ(p0->phase(), "conv1");
    std::vector<uint64_t> out = {10, 20, 30}, in;
    p0->exchange_words(out, in);
    EXPECT_EQ(in, (std::vector<uint64_t>{1, 2, 3}));
    std::vector<uint8_t> x(5), y(7, 4);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    p0->exchange(y.data(), y.size(), x.data(), x.size());
    EXPECT_EQ(x, std::vector<uint8_t>(5, 9));
  }
  t1.join();
  EXPECT_EQ(p0->phase(), "default");
  EXPECT_EQ(p1->phase(), "default");
  const PhaseStats& s0 = p0->stats().at("conv1");
  EXPECT_EQ(s0.bytes_sent, 24u + 7u);
  EXPECT_EQ(s0.bytes_received, 24u + 5u);
  EXPECT_EQ(s0.rounds, 2u);
  EXPECT_GE(s0.seconds, 0.015);
  const PhaseStats& s1 = p1->stats().at("conv1");
  EXPECT_EQ(s1.bytes_sent, 24u + 5u);
  EXPECT_EQ(s1.bytes_received, 24u + 7u);
  EXPECT_EQ(s1.rounds, 2u);
  EXPECT_GT(s1.seconds, 0.0);

  PhaseStats t0 = p0->total();
  EXPECT_EQ(t0.bytes_sent, 100u + 31u);
  EXPECT_EQ(t0.bytes_received, 29u);
  EXPECT_EQ(t0.rounds, 3u);
  p0->reset_stats();
  EXPECT_TRUE(p0->stats().empty());
  EXPECT_EQ(p0->total().rounds, 0u);
}

TEST(InprocChannel, ByteStreamIgnoresMessageBoundaries) {
  Watchdog wd(30);
  auto [p0, p1] = polympc::mpc::make_inproc_pair();
  auto msg = pattern(1000, 2);
  p0->send(msg.data(), 300);
  p0->send(msg.data() + 300, 0);
  p0->send(msg.data() + 300, 700);
  std::vector<uint8_t> got(1000);
  p1->recv(got.data(), 1);
  p1->recv(got.data() + 1, 998);
  p1->recv(got.data() + 999, 1);
  EXPECT_EQ(got, msg);
}

TEST(InprocChannel, LargeConcurrentExchangeBothWays) {
  Watchdog wd(60);
  auto [p0, p1] = polympc::mpc::make_inproc_pair();
  constexpr size_t kBig = 8u << 20;
  constexpr int kIters = 4;
  auto run = [](Channel& ch, int party) {
    for (int it = 0; it < kIters; ++it) {
      auto out = pattern(kBig + static_cast<size_t>(party), 100 + 2 * it + party);
      std::vector<uint8_t> in(kBig + static_cast<size_t>(1 - party));
      ch.exchange(out.data(), out.size(), in.data(), in.size());
      EXPECT_EQ(in, pattern(in.size(), 100 + 2 * it + (1 - party))) << "iteration " << it;
    }
  };
  auto t0 = Clock::now();
  std::thread a([&, &c0 = *p0] { run(c0, 0); });
  std::thread b([&, &c1 = *p1] { run(c1, 1); });
  a.join();
  b.join();
  EXPECT_LT(seconds_since(t0), 20.0);
  EXPECT_EQ(p0->total().bytes_sent, kIters * kBig);
  EXPECT_EQ(p0->total().bytes_received, kIters * (kBig + 1));
  EXPECT_EQ(p1->total().bytes_sent, p0->total().bytes_received);
  EXPECT_EQ(p0->total().rounds, static_cast<uint64_t>(kIters));
  EXPECT_EQ(p1->total().rounds, static_cast<uint64_t>(kIters));
}

TEST(InprocChannel, PeerClosedThrowsInsteadOfHanging) {
  Watchdog wd(30);
  {
    // Future reads after the peer is gone: buffered data first, then ChannelError.
    auto [p0, p1] = polympc::mpc::make_inproc_pair();
    uint32_t v = 42;
    p1->send(&v, sizeof v);
    p1.reset();
    uint32_t w = 0;
    p0->recv(&w, sizeof w);
    EXPECT_EQ(w, 42u);
    try {
      p0->recv(&w, sizeof w);
      FAIL() << "recv from a closed peer returned";
    } catch (const ChannelError& e) {
      EXPECT_TRUE(contains(e.what(), "peer closed")) << e.what();
    }
    EXPECT_THROW(p0->send(&v, sizeof v), ChannelError);
    std::vector<uint64_t> out(4), in;
    EXPECT_THROW(p0->exchange_words(out, in), ChannelError);
  }
  {
    // A read already blocked when the peer goes away wakes up and throws.
    auto [p0, p1] = polympc::mpc::make_inproc_pair();
    auto reader = std::async(std::launch::async, [&, &c0 = *p0] {
      std::vector<uint8_t> buf(1 << 20);
      c0.recv(buf.data(), buf.size());
    });
    std::vector<uint8_t> half(1 << 19, 7);
    p1->send(half.data(), half.size());  // only half of what the reader waits for
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    p1.reset();
    ASSERT_EQ(reader.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    EXPECT_THROW(reader.get(), ChannelError);
  }
}

// ---------------------------------------------------------------- TCP

/// A random high port that is free right now (probed by binding it), retried if taken.
uint16_t pick_port() {
  static std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> dist(20000, 59999);
  for (int attempt = 0; attempt < 100; ++attempt) {
    auto port = static_cast<uint16_t>(dist(rng));
    asio::io_context io;
    asio::ip::tcp::acceptor probe(io);
    std::error_code ec;
    probe.open(asio::ip::tcp::v4(), ec);
    if (!ec) probe.bind(asio::ip::tcp::endpoint(asio::ip::tcp::v4(), port), ec);
    if (!ec) return port;
  }
  throw std::runtime_error("no free TCP port found");
}

struct TcpPair {
  std::unique_ptr<Channel> server;  // P0
  std::unique_ptr<Channel> client;  // P1
};

/// Connects P0 (listening) and P1 (connecting) over loopback; retries with another port
/// if listening fails (port taken between the probe and the bind).
TcpPair make_tcp_pair(int timeout_ms = 5000) {
  for (int attempt = 0;; ++attempt) {
    uint16_t port = pick_port();
    auto server = std::async(std::launch::async,
                             [port, timeout_ms] { return polympc::mpc::tcp_listen(port, timeout_ms); });
    std::unique_ptr<Channel> client;
    try {
      client = polympc::mpc::tcp_connect("127.0.0.1", port, timeout_ms);
    } catch (const ChannelError&) {
      try {
        server.get();
      } catch (const ChannelError& e) {
        if (attempt < 5 && contains(e.what(), "cannot listen")) continue;
        throw;
      }
      throw;
    }
    return {server.get(), std::move(client)};
  }
}

TEST(TcpChannel, ManyMessagesBothDirectionsCountsMatch) {
  Watchdog wd(120);
  auto pair = make_tcp_pair();
  constexpr int kRounds = 300;
  auto size_of = [](int r, int party) -> size_t {
    if (r % 50 == 7) return (8u << 20) + static_cast<size_t>(party);  // 8 MB
    if (r % 10 == 3) return 300000 + 17 * static_cast<size_t>(r);
    return static_cast<size_t>(1 + (r * 37 + party * 11) % 4000);
  };
  auto run = [&](Channel& ch, int party) {
    for (int r = 0; r < kRounds; ++r) {
      PhaseScope scope(ch, r % 2 ? "odd" : "even");
      auto out = pattern(size_of(r, party), 1000 + 2 * r + party);
      std::vector<uint8_t> in(size_of(r, 1 - party));
      if (r % 3 == 0) {
        ch.exchange(out.data(), out.size(), in.data(), in.size());
      } else if (party == r % 2) {  // ping-pong with alternating first speaker
        ch.send(out.data(), out.size());
        ch.recv(in.data(), in.size());
      } else {
        ch.recv(in.data(), in.size());
        ch.send(out.data(), out.size());
      }
      ASSERT_EQ(in, pattern(in.size(), 1000 + 2 * r + (1 - party))) << "round " << r;
    }
    // A final small exchange so that both sides have sent everything before closing.
    uint64_t done = 1, peer_done = 0;
    ch.exchange(&done, 8, &peer_done, 8);
    EXPECT_EQ(peer_done, 1u);
  };
  auto t0 = Clock::now();
  std::thread a([&] { run(*pair.server, 0); });
  std::thread b([&] { run(*pair.client, 1); });
  a.join();
  b.join();
  EXPECT_LT(seconds_since(t0), 60.0);
  for (const char* phase : {"even", "odd", "default"}) {
    const auto& s0 = pair.server->stats().at(phase);
    const auto& s1 = pair.client->stats().at(phase);
    EXPECT_EQ(s0.bytes_sent, s1.bytes_received) << phase;
    EXPECT_EQ(s1.bytes_sent, s0.bytes_received) << phase;
  }
  uint64_t expect_sent0 = 8, expect_rounds = 1;
  for (int r = 0; r < kRounds; ++r) {
    expect_sent0 += size_of(r, 0);
    expect_rounds += r % 3 == 0 ? 1 : 2;
  }
  EXPECT_EQ(pair.server->total().bytes_sent, expect_sent0);
  EXPECT_EQ(pair.server->total().rounds, expect_rounds);
  EXPECT_EQ(pair.client->total().rounds, expect_rounds);
}

TEST(TcpChannel, DestructorFlushesQueuedWrites) {
  Watchdog wd(60);
  auto pair = make_tcp_pair();
  auto big = pattern(16u << 20, 5);
  // The server starts reading only after a pause, so the client's destructor runs while
  // most of the message still sits in its writer queue; the destructor must deliver it.
  auto reader = std::async(std::launch::async, [&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    std::vector<uint8_t> got(big.size());
    pair.server->recv(got.data(), got.size());
    EXPECT_TRUE(got == big);
    uint8_t extra = 0;
    EXPECT_THROW(pair.server->recv(&extra, 1), ChannelError);  // then a clean EOF
  });
  pair.client->send(big.data(), big.size());  // mostly queued for the writer thread
  pair.client.reset();
  reader.get();
}

TEST(TcpChannel, PeerClosingGivesChannelError) {
  Watchdog wd(60);
  {
    // Read after the peer closed: EOF names the peer and the read size.
    auto pair = make_tcp_pair();
    pair.client.reset();
    std::vector<uint8_t> buf(123);
    auto t0 = Clock::now();
    try {
      pair.server->recv(buf.data(), buf.size());
      FAIL() << "recv from a closed peer returned";
    } catch (const ChannelError& e) {
      EXPECT_TRUE(contains(e.what(), "closed by peer")) << e.what();
      EXPECT_TRUE(contains(e.what(), "123 bytes")) << e.what();
      EXPECT_TRUE(contains(e.what(), "P1")) << e.what();
    }
    EXPECT_LT(seconds_since(t0), 2.0);
    // The channel stays failed.
    EXPECT_THROW(pair.server->recv(buf.data(), 1), ChannelError);
    EXPECT_THROW(pair.server->send(buf.data(), 1), ChannelError);
  }
  {
    // A read already blocked when the peer goes away wakes up.
    auto pair = make_tcp_pair();
    auto reader = std::async(std::launch::async, [&] {
      std::vector<uint8_t> buf(1 << 20);
      pair.client->recv(buf.data(), buf.size());
    });
    std::vector<uint8_t> some(1000, 1);
    pair.server->send(some.data(), some.size());
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    pair.server.reset();
    ASSERT_EQ(reader.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    EXPECT_THROW(reader.get(), ChannelError);
  }
  {
    // The peer goes away while most of a 16 MB message is still queued for the writer
    // thread: the failure (the writer's EPIPE, or EOF if the peer's close drained it all)
    // surfaces on the next channel call.
    auto pair = make_tcp_pair();
    auto big = pattern(16u << 20, 7);
    pair.server->send(big.data(), big.size());  // returns at once: the writer has the rest
    pair.client.reset();                        // the client never reads it
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    try {
      std::vector<uint64_t> out(1), in;
      pair.server->exchange_words(out, in);
      FAIL() << "exchange with a closed peer returned";
    } catch (const ChannelError& e) {
      EXPECT_TRUE(contains(e.what(), "closed by peer")) << e.what();
    }
  }
  {
    // Writes to a closed peer: the error (from the writer thread or the socket) surfaces
    // on a later call within a bounded time.
    auto pair = make_tcp_pair();
    pair.client.reset();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto big = pattern(4u << 20, 6);
    bool thrown = false;
    auto t0 = Clock::now();
    while (!thrown && seconds_since(t0) < 10.0) {
      try {
        pair.server->send(big.data(), big.size());
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      } catch (const ChannelError& e) {
        thrown = true;
        EXPECT_TRUE(contains(e.what(), "peer")) << e.what();
      }
    }
    EXPECT_TRUE(thrown);
  }
}

TEST(TcpChannel, ReadTimesOut) {
  Watchdog wd(30);
  auto pair = make_tcp_pair(800);
  uint64_t v = 0;
  auto t0 = Clock::now();
  try {
    pair.server->recv(&v, 8);  // the client sends nothing
    FAIL() << "recv returned without data";
  } catch (const ChannelError& e) {
    EXPECT_TRUE(contains(e.what(), "timed out")) << e.what();
  }
  double dt = seconds_since(t0);
  EXPECT_GE(dt, 0.7);
  EXPECT_LT(dt, 3.0);
}

TEST(TcpChannel, ConnectTimesOutWhenNobodyListens) {
  Watchdog wd(30);
  uint16_t port = pick_port();
  auto t0 = Clock::now();
  try {
    polympc::mpc::tcp_connect("127.0.0.1", port, 700);
    FAIL() << "connected to a port nobody listens on";
  } catch (const ChannelError& e) {
    EXPECT_TRUE(contains(e.what(), std::to_string(port))) << e.what();
  }
  double dt = seconds_since(t0);
  EXPECT_GE(dt, 0.6);
  EXPECT_LT(dt, 3.0);
}

TEST(TcpChannel, ListenTimesOutWhenNobodyConnects) {
  Watchdog wd(30);
  uint16_t port = pick_port();
  auto t0 = Clock::now();
  EXPECT_THROW(polympc::mpc::tcp_listen(port, 500), ChannelError);
  EXPECT_LT(seconds_since(t0), 3.0);
}

TEST(TcpChannel, ClientMayStartBeforeServer) {
  Watchdog wd(30);
  uint16_t port = pick_port();
  auto client = std::async(std::launch::async,
                           [port] { return polympc::mpc::tcp_connect("localhost", port, 5000); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto server = polympc::mpc::tcp_listen(port, 5000);
  auto c = client.get();
  uint32_t x = 7, y = 0;
  c->send(&x, 4);
  server->recv(&y, 4);
  EXPECT_EQ(y, 7u);
}

TEST(TcpChannel, RejectsBadArguments) {
  EXPECT_THROW(polympc::mpc::tcp_connect("127.0.0.1", 1, 0), polympc::mpc::InvalidArgument);
  EXPECT_THROW(polympc::mpc::tcp_listen(4000, -1), polympc::mpc::InvalidArgument);
}

}  // namespace
