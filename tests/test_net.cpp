// Tests of mpc/net.h: TLS 1.3 channels with certificates on both sides, wrong
// certificates, plaintext refused off loopback, per-read timeouts against a slow-drip
// peer, the total deadline against a stalled peer, and address parsing.
//
// Certificates come from scripts/make-test-ca.sh (the `openssl` command), made once per
// test run under the build tree's temporary directory. Listeners bind port 0 (the OS
// picks a free port), so tests never race for a port.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "polympc/mpc/errors.h"
#include "polympc/mpc/net.h"

namespace {

namespace fs = std::filesystem;
using polympc::mpc::Channel;
using polympc::mpc::ChannelError;
using polympc::mpc::Endpoint;
using polympc::mpc::InvalidArgument;
using polympc::mpc::Listener;
using polympc::mpc::NetOptions;
using polympc::mpc::TlsFiles;
using Clock = std::chrono::steady_clock;

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}
double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

/// A test CA made by scripts/make-test-ca.sh into a fresh directory (once per name).
fs::path make_ca(const std::string& name) {
  fs::path dir = fs::temp_directory_path() /
                 ("polympc_test_net_" + std::to_string(::getpid())) / name;
  if (fs::exists(dir / "client.key")) return dir;
  const std::string cmd = std::string("bash '") + POLYMPC_SOURCE_DIR +
                          "/scripts/make-test-ca.sh' '" + dir.string() + "' >/dev/null";
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("make-test-ca.sh failed: " + cmd);
  return dir;
}
TlsFiles identity(const fs::path& ca_dir, const fs::path& id_dir, const std::string& who) {
  return TlsFiles{(ca_dir / "ca.pem").string(), (id_dir / (who + ".pem")).string(),
                  (id_dir / (who + ".key")).string()};
}

struct Pair {
  std::unique_ptr<Channel> server, client;
};

/// Listens on loopback port 0 with `server_tls`, connects with `client_opts`; either
/// side's error is rethrown (server first).
Pair connect_pair(const std::optional<TlsFiles>& server_tls, NetOptions client_opts,
                  NetOptions server_opts = {}, const std::string& host = "127.0.0.1") {
  Listener l(Endpoint{"127.0.0.1", 0}, server_tls);
  const uint16_t port = l.port();
  auto server = std::async(std::launch::async, [&] {
    auto in = l.accept(5000);
    if (!in) throw ChannelError("nobody connected");
    return in->establish(server_opts);
  });
  std::unique_ptr<Channel> client;
  std::exception_ptr client_error;
  try {
    client = polympc::mpc::connect(Endpoint{host, port}, client_opts);
  } catch (...) {
    client_error = std::current_exception();
  }
  std::unique_ptr<Channel> s;
  try {
    s = server.get();
  } catch (...) {
    if (!client_error) throw;
    // Both failed: report the server's view, which names the certificate problem.
    throw;
  }
  if (client_error) std::rethrow_exception(client_error);
  return {std::move(s), std::move(client)};
}

NetOptions tls_opts(const TlsFiles& f, int timeout_ms = 5000) {
  NetOptions o;
  o.tls = f;
  o.timeout_ms = timeout_ms;
  return o;
}

TEST(Net, ParsesEndpoints) {
  using polympc::mpc::parse_endpoint;
  EXPECT_EQ(parse_endpoint("127.0.0.1:7766", 1).port, 7766);
  EXPECT_EQ(parse_endpoint("127.0.0.1:7766", 1).host, "127.0.0.1");
  EXPECT_EQ(parse_endpoint("localhost", 42).port, 42);
  EXPECT_EQ(parse_endpoint("[::1]:9", 1).host, "::1");
  EXPECT_EQ(parse_endpoint("[::1]:9", 1).port, 9);
  EXPECT_EQ(parse_endpoint("host:0", 1).port, 0);
  EXPECT_EQ(parse_endpoint("[::1]:9", 1).text(), "[::1]:9");
  for (const char* bad : {"", ":80", "h:", "h:65536", "h:12x", "::1:80", "[::1", "[::1]x"})
    EXPECT_THROW(parse_endpoint(bad, 1), InvalidArgument) << bad;
}

TEST(Net, LoopbackAndPlaintextPolicy) {
  EXPECT_TRUE(polympc::mpc::is_loopback("127.0.0.1"));
  EXPECT_TRUE(polympc::mpc::is_loopback("::1"));
  EXPECT_TRUE(polympc::mpc::is_loopback("localhost"));
  EXPECT_FALSE(polympc::mpc::is_loopback("0.0.0.0"));
  EXPECT_FALSE(polympc::mpc::is_loopback("192.0.2.1"));
  // Plaintext off loopback is refused before any socket is opened.
  try {
    Listener l(Endpoint{"0.0.0.0", 0}, std::nullopt);
    FAIL() << "plaintext listener on every interface was accepted";
  } catch (const InvalidArgument& e) {
    EXPECT_TRUE(contains(e.what(), "loopback")) << e.what();
  }
  try {
    polympc::mpc::connect(Endpoint{"192.0.2.1", 7766}, NetOptions{});
    FAIL() << "plaintext connection off loopback was accepted";
  } catch (const InvalidArgument& e) {
    EXPECT_TRUE(contains(e.what(), "plaintext")) << e.what();
  }
}

TEST(Net, TlsExchangesBothDirectionsAndNamesThePeer) {
  const fs::path ca = make_ca("a");
  Pair p = connect_pair(identity(ca, ca, "server"), tls_opts(identity(ca, ca, "client")));
  EXPECT_TRUE(contains(p.server->peer(), "polympc-client")) << p.server->peer();
  EXPECT_TRUE(contains(p.client->peer(), "polympc-server")) << p.client->peer();
  // Large messages both ways at once (exchange must not deadlock), then ping-pong.
  std::vector<uint8_t> a(6u << 20), b(5u << 20);
  for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<uint8_t>(i * 7);
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<uint8_t>(i * 13 + 1);
  auto peer = std::async(std::launch::async, [&] {
    std::vector<uint8_t> got(a.size());
    p.client->exchange(b.data(), b.size(), got.data(), got.size());
    EXPECT_TRUE(got == a);
    uint64_t x = 0;
    p.client->recv(&x, 8);
    x += 1;
    p.client->send(&x, 8);
  });
  std::vector<uint8_t> got(b.size());
  p.server->exchange(a.data(), a.size(), got.data(), got.size());
  EXPECT_TRUE(got == b);
  uint64_t x = 41;
  p.server->send(&x, 8);
  p.server->recv(&x, 8);
  EXPECT_EQ(x, 42u);
  peer.get();
  EXPECT_EQ(p.server->total().bytes_sent, a.size() + 8);
  EXPECT_EQ(p.client->total().bytes_sent, b.size() + 8);
}

TEST(Net, TlsRefusesACertificateFromAnotherCa) {
  const fs::path ca = make_ca("a"), rogue = make_ca("rogue");
  // The client's certificate is signed by another CA: the server refuses it.
  {
    Listener l(Endpoint{"127.0.0.1", 0}, identity(ca, ca, "server"));
    auto server = std::async(std::launch::async, [&] {
      auto in = l.accept(5000);
      return in->establish(NetOptions{});
    });
    // The client trusts the right CA but presents the rogue CA's certificate.
    TlsFiles c{(ca / "ca.pem").string(), (rogue / "client.pem").string(),
               (rogue / "client.key").string()};
    try {
      auto ch = polympc::mpc::connect(Endpoint{"127.0.0.1", l.port()}, tls_opts(c));
      // TLS 1.3: the client may finish its handshake before the server's alert arrives;
      // the alert then surfaces on the first read.
      uint8_t byte = 0;
      ch->recv(&byte, 1);
      ADD_FAILURE() << "client with a rogue certificate got data";
    } catch (const ChannelError& e) {
      EXPECT_TRUE(contains(e.what(), "TLS") || contains(e.what(), "alert")) << e.what();
    }
    try {
      server.get();
      FAIL() << "server accepted a client certificate from another CA";
    } catch (const ChannelError& e) {
      EXPECT_TRUE(contains(e.what(), "TLS handshake")) << e.what();
      EXPECT_TRUE(contains(e.what(), "certificate")) << e.what();
    }
  }
  // The server's certificate is signed by another CA: the client refuses it.
  try {
    connect_pair(identity(rogue, rogue, "server"), tls_opts(identity(ca, ca, "client")));
    FAIL() << "client accepted a server certificate from another CA";
  } catch (const ChannelError& e) {
    EXPECT_TRUE(contains(e.what(), "certificate")) << e.what();
  }
}

TEST(Net, TlsChecksTheServerName) {
  const fs::path ca = make_ca("a");
  NetOptions o = tls_opts(identity(ca, ca, "client"));
  o.server_name = "bank.example";  // the certificate names localhost, 127.0.0.1, ::1
  try {
    connect_pair(identity(ca, ca, "server"), o);
    FAIL() << "client accepted a certificate for another name";
  } catch (const ChannelError& e) {
    EXPECT_TRUE(contains(e.what(), "certificate")) << e.what();
  }
  // "localhost" is in the certificate.
  Pair p = connect_pair(identity(ca, ca, "server"), tls_opts(identity(ca, ca, "client")), {},
                        "localhost");
  uint32_t v = 5, w = 0;
  p.client->send(&v, 4);
  p.server->recv(&w, 4);
  EXPECT_EQ(w, 5u);
}

TEST(Net, BadTlsFilesAreClearErrors) {
  const fs::path ca = make_ca("a");
  TlsFiles missing = identity(ca, ca, "server");
  missing.key = (ca / "nope.key").string();
  try {
    Listener l(Endpoint{"127.0.0.1", 0}, missing);
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_TRUE(contains(e.what(), "nope.key")) << e.what();
  }
  TlsFiles mismatched = identity(ca, ca, "server");
  mismatched.key = (ca / "client.key").string();
  EXPECT_THROW(polympc::mpc::check_tls_files(mismatched, 0), InvalidArgument);
  TlsFiles not_pem = identity(ca, ca, "server");
  not_pem.ca = (ca / "server.key").string();
  EXPECT_THROW(polympc::mpc::check_tls_files(not_pem, 0), InvalidArgument);
}

TEST(Net, PlaintextPeerAtATlsListenerFailsFast) {
  const fs::path ca = make_ca("a");
  Listener l(Endpoint{"127.0.0.1", 0}, identity(ca, ca, "server"));
  auto server = std::async(std::launch::async, [&] {
    auto in = l.accept(5000);
    NetOptions o;
    o.timeout_ms = 3000;
    return in->establish(o);
  });
  auto t0 = Clock::now();
  EXPECT_THROW(polympc::mpc::connect(Endpoint{"127.0.0.1", l.port()}, NetOptions{}), ChannelError);
  EXPECT_THROW(server.get(), ChannelError);
  EXPECT_LT(seconds_since(t0), 4.0);
}

TEST(Net, SlowDripPeerDoesNotExtendTheReadTimeout) {
  NetOptions o;
  o.timeout_ms = 700;
  Pair p = connect_pair(std::nullopt, o, o);
  std::atomic<bool> stop{false};
  std::thread drip([&] {
    uint8_t byte = 1;
    try {
      while (!stop) {  // one byte every 50 ms: 14 bytes per timeout, far from 1000
        p.client->send(&byte, 1);
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    } catch (const ChannelError&) {
    }
  });
  std::vector<uint8_t> buf(1000);
  auto t0 = Clock::now();
  try {
    p.server->recv(buf.data(), buf.size());
    ADD_FAILURE() << "read of 1000 bytes completed from a one-byte-per-50-ms peer";
  } catch (const ChannelError& e) {
    EXPECT_TRUE(contains(e.what(), "timed out after 700 ms")) << e.what();
  }
  const double dt = seconds_since(t0);
  stop = true;
  drip.join();
  EXPECT_GE(dt, 0.6);
  EXPECT_LT(dt, 2.0);
  EXPECT_THROW(p.server->send(buf.data(), 1), ChannelError);  // stays failed
}

TEST(Net, TotalDeadlineStopsAStalledPeer) {
  const fs::path ca = make_ca("a");
  NetOptions server_opts;
  server_opts.timeout_ms = 60000;  // per read: far away
  server_opts.deadline = Clock::now() + std::chrono::milliseconds(1500);
  Pair p = connect_pair(identity(ca, ca, "server"), tls_opts(identity(ca, ca, "client")),
                        server_opts);
  // Reads complete while the peer answers...
  uint32_t v = 3, w = 0;
  p.client->send(&v, 4);
  p.server->recv(&w, 4);
  EXPECT_EQ(w, 3u);
  // ...then the peer stalls: the deadline, not the 60 s timeout, ends the read.
  auto t0 = Clock::now();
  try {
    p.server->recv(&w, 4);
    FAIL() << "read from a stalled peer returned";
  } catch (const ChannelError& e) {
    EXPECT_TRUE(contains(e.what(), "deadline")) << e.what();
  }
  EXPECT_LT(seconds_since(t0), 3.0);
  // The peer sees the connection end.
  EXPECT_THROW(p.client->recv(&w, 4), ChannelError);
}

TEST(Net, ListenerAcceptReturnsNullWhenNobodyComes) {
  Listener l(Endpoint{"127.0.0.1", 0}, std::nullopt);
  EXPECT_NE(l.port(), 0);
  auto t0 = Clock::now();
  EXPECT_EQ(l.accept(200), nullptr);
  EXPECT_LT(seconds_since(t0), 2.0);
  EXPECT_TRUE(contains(l.address(), "127.0.0.1:")) << l.address();
}

}  // namespace
