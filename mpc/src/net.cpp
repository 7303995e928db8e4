// TCP and TLS channels (net.h, channel.h).
//
// One I/O thread per connection runs an io_context that owns the socket (and the OpenSSL
// stream): every socket and TLS operation happens there, so an SSL object is never used by
// two threads. The caller's write_raw() copies the bytes and posts them to the thread's
// write queue (a write never waits for the peer to read, so exchange() with large
// messages on both sides cannot deadlock); read_raw() posts an async_read into the
// caller's buffer and waits for it until min(now + timeout_ms, deadline). On a timeout the
// caller closes the socket and still waits for the read's handler (it refers to the
// caller's buffer) before throwing. A steady_timer closes the socket at the total
// deadline. The first error (read, write, timeout, deadline, peer closed) marks the
// channel failed: that call throws ChannelError, and so does every later call (a write
// error surfaces on the next send/recv/exchange).
//
// After the transport (and TLS handshake) both sides exchange an 8-byte hello (magic,
// version, role) so that a connection to something that is not a polympc peer fails at
// once with a clear error; it is not counted in the channel statistics. The destructor
// flushes queued writes (bounded by min(timeout_ms, 10 s)), sends TLS close_notify
// (waiting at most 1 s for the peer's), half-closes, discards unread input so the kernel
// closes with FIN rather than RST, and stops the thread.
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>

#include <algorithm>
#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/read.hpp>
#include <asio/ssl.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "polympc/mpc/net.h"

namespace polympc::mpc {
namespace {

using Clock = std::chrono::steady_clock;
using asio::ip::tcp;
namespace ssl = asio::ssl;
using TlsStream = ssl::stream<tcp::socket>;
using TlsContext = std::shared_ptr<ssl::context>;

constexpr uint8_t kHelloMagic[4] = {'P', 'M', 'P', 'C'};
constexpr uint8_t kProtocolVersion = 1;
constexpr int kMaxFlushMs = 10000;         // upper bound of the destructor's flush
constexpr int kTlsShutdownMs = 1000;       // wait for the peer's close_notify at most this
constexpr int kConnectRetryMs = 50;        // pause between connection attempts
constexpr size_t kDrainLimit = 64u << 20;  // at most this much unread input is discarded

std::string endpoint_text(const tcp::endpoint& ep) {
  auto addr = ep.address();
  if (addr.is_v6() && addr.to_v6().is_v4_mapped())
    addr = asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6());
  std::string a = addr.to_string();
  if (addr.is_v6()) a = "[" + a + "]";
  return a + ":" + std::to_string(ep.port());
}

int clamp_ms(Clock::duration d) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  if (ms < 0) return 0;
  return static_cast<int>(std::min<long long>(ms, 1 << 30));
}

Clock::time_point earlier(Clock::time_point a, Clock::time_point b) { return a < b ? a : b; }

void check_timeout(int timeout_ms) {
  if (timeout_ms <= 0)
    throw InvalidArgument("TCP channel timeout must be > 0 ms, got " + std::to_string(timeout_ms));
}

/// The last OpenSSL error of this thread as text ("" when none), clearing the queue.
std::string openssl_reason() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    out = buf;
  }
  return out;
}

TlsContext make_tls_context(const TlsFiles& f, int side) {
  for (const auto& [what, path] : {std::pair<const char*, const std::string*>{"CA certificate", &f.ca},
                                   {"certificate", &f.cert},
                                   {"private key", &f.key}}) {
    if (path->empty())
      throw InvalidArgument(std::string("TLS needs a ") + what + " file (PEM)");
    if (!std::ifstream(*path))
      throw InvalidArgument(std::string("TLS ") + what + " file '" + *path + "' cannot be read");
  }
  auto ctx = std::make_shared<ssl::context>(side == 0 ? ssl::context::tls_server
                                                      : ssl::context::tls_client);
  if (SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_3_VERSION) != 1)
    throw InvalidArgument("this OpenSSL cannot require TLS 1.3: " + openssl_reason());
  std::error_code ec;
  ctx->load_verify_file(f.ca, ec);
  if (ec)
    throw InvalidArgument("TLS: cannot load CA certificate '" + f.ca + "': " + ec.message());
  ctx->use_certificate_chain_file(f.cert, ec);
  if (ec) throw InvalidArgument("TLS: cannot load certificate '" + f.cert + "': " + ec.message());
  ctx->use_private_key_file(f.key, ssl::context::pem, ec);
  if (ec) throw InvalidArgument("TLS: cannot load private key '" + f.key + "': " + ec.message());
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1)
    throw InvalidArgument("TLS: private key '" + f.key + "' does not match certificate '" + f.cert +
                          "'");
  ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  return ctx;
}

/// The subject of the peer's certificate, "" when there is none.
std::string peer_subject(SSL* s) {
  X509* c = SSL_get1_peer_certificate(s);
  if (!c) return "";
  char buf[512];
  X509_NAME_oneline(X509_get_subject_name(c), buf, sizeof buf);
  X509_free(c);
  return buf;
}

template <class Stream>
tcp::socket& socket_of(Stream& s) {
  if constexpr (std::is_same_v<Stream, TlsStream>)
    return s.next_layer();
  else
    return s;
}

/// Channel over `Stream` (tcp::socket or TlsStream) with its own I/O thread.
template <class Stream>
class AsioChannel final : public Channel {
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

 public:
  /// Takes the connected socket; for TLS runs the handshake as `role` (0 = server). Then
  /// the hello. Throws ChannelError on any failure.
  AsioChannel(std::unique_ptr<asio::io_context> io, tcp::socket sock, const TlsContext& ctx,
              const NetOptions& opts, int role, std::string peer)
      : io_(std::move(io)),
        ctx_(ctx),
        stream_(make_stream(std::move(sock), ctx)),
        timer_(*io_),
        work_(asio::make_work_guard(*io_)),
        timeout_ms_(opts.timeout_ms),
        deadline_(opts.deadline),
        peer_(std::move(peer)) {
    std::error_code ec;
    socket_of(stream_).set_option(tcp::no_delay(true), ec);
    if (ec)
      throw ChannelError("cannot set TCP_NODELAY on connection with " + peer_ + ": " +
                         ec.message());
    thread_ = std::thread([this] { io_->run(); });
    try {
      if (deadline_ != Clock::time_point::max()) {
        asio::post(*io_, [this] {
          timer_.expires_at(deadline_);
          timer_.async_wait([this](const std::error_code& e) {
            if (e) return;
            deadline_hit_ = true;
            std::error_code ignored;
            socket_of(stream_).close(ignored);
          });
        });
      }
      if constexpr (kTls) tls_handshake(role, opts.server_name);
      hello(role);
    } catch (...) {
      stop();
      throw;
    }
  }

  ~AsioChannel() override {
    if (!failed()) {
      // Flush: every queued byte handed to the kernel, bounded.
      std::unique_lock<std::mutex> lk(mu_);
      idle_cv_.wait_for(lk, std::chrono::milliseconds(std::min(timeout_ms_, kMaxFlushMs)),
                        [&] { return unsent_ == 0 || !failure_.empty(); });
    }
    if constexpr (kTls) {
      if (!failed() && !deadline_hit_) {
        run_op(
            [this](auto done) {
              stream_.async_shutdown([done](const std::error_code& e) { done(e, 0); });
            },
            Clock::now() + std::chrono::milliseconds(kTlsShutdownMs));
      }
    }
    stop();
  }

  std::string peer() const override { return peer_; }

 protected:
  void write_raw(const void* data, size_t n) override {
    throw_if_failed();
    if (n == 0) return;
    const auto* p = static_cast<const uint8_t*>(data);
    {
      std::lock_guard<std::mutex> lk(mu_);
      unsent_ += n;
    }
    asio::post(*io_, [this, buf = std::vector<uint8_t>(p, p + n)]() mutable {
      queue_.push_back(std::move(buf));
      if (!writing_) write_next();
    });
  }

  void read_raw(void* data, size_t n) override {
    throw_if_failed();
    if (n == 0) return;
    const auto until = earlier(Clock::now() + std::chrono::milliseconds(timeout_ms_), deadline_);
    OpResult r = run_op(
        [this, data, n](auto done) { asio::async_read(stream_, asio::buffer(data, n), done); },
        until);
    if (!r.ec && !r.timed_out && r.n == n) return;
    const std::string what = std::to_string(n) + " bytes from peer " + peer_ + " (received " +
                             std::to_string(r.n) + ")";
    if (deadline_hit_ || (r.timed_out && until == deadline_)) fail(deadline_text("reading " + what));
    if (r.timed_out)
      fail("timed out after " + std::to_string(timeout_ms_) + " ms reading " + what);
    if (is_closed(r.ec))
      fail("connection closed by peer " + peer_ + " while reading " + std::to_string(n) +
           " bytes (received " + std::to_string(r.n) + ")");
    fail("reading " + what + " failed: " + r.ec.message());
  }

 private:
  struct OpResult {
    std::error_code ec;
    size_t n = 0;
    bool timed_out = false;
  };

  static Stream make_stream(tcp::socket sock, const TlsContext& ctx) {
    if constexpr (kTls)
      return Stream(std::move(sock), *ctx);
    else
      return sock;
  }

  static bool is_closed(const std::error_code& ec) {
    return ec == asio::error::eof || ec == asio::error::connection_reset ||
           ec == asio::error::broken_pipe || ec == ssl::error::stream_truncated;
  }

  /// Runs `start(done)` on the I/O thread and waits for done(ec, bytes) until `until`. On
  /// timeout closes the socket, which aborts the operation, and still waits for its
  /// handler (it may refer to the caller's buffer).
  template <class Start>
  OpResult run_op(Start start, Clock::time_point until) {
    struct State {
      std::mutex m;
      std::condition_variable cv;
      bool done = false;
      OpResult r;
    };
    auto st = std::make_shared<State>();
    asio::post(*io_, [st, start]() mutable {
      start([st](const std::error_code& ec, size_t n) {
        std::lock_guard<std::mutex> lk(st->m);
        st->done = true;
        st->r.ec = ec;
        st->r.n = n;
        st->cv.notify_all();
      });
    });
    std::unique_lock<std::mutex> lk(st->m);
    // Bound the wait so that time_point::max() cannot overflow the clock arithmetic.
    const auto cap = Clock::now() + std::chrono::hours(24 * 365);
    if (!st->cv.wait_until(lk, earlier(until, cap), [&] { return st->done; })) {
      lk.unlock();
      close_socket();
      lk.lock();
      st->cv.wait(lk, [&] { return st->done; });
      st->r.timed_out = true;
    }
    return st->r;
  }

  void close_socket() {
    asio::post(*io_, [this] {
      std::error_code ignored;
      socket_of(stream_).close(ignored);
    });
  }

  void tls_handshake(int role, const std::string& name) {
    if (role == 1 && !name.empty()) {
      std::error_code ec;
      asio::ip::make_address(name, ec);
      if (ec)  // a DNS name: send it as SNI (an IP literal must not be sent)
        SSL_set_tlsext_host_name(stream_.native_handle(), name.c_str());
      stream_.set_verify_callback(ssl::host_name_verification(name));
    }
    const auto until = earlier(Clock::now() + std::chrono::milliseconds(timeout_ms_), deadline_);
    const auto side = role == 0 ? ssl::stream_base::server : ssl::stream_base::client;
    OpResult r = run_op(
        [this, side](auto done) {
          stream_.async_handshake(side, [done](const std::error_code& e) { done(e, 0); });
        },
        until);
    if (r.timed_out || deadline_hit_)
      throw ChannelError("TLS handshake with " + peer_ + " timed out after " +
                         std::to_string(clamp_ms(until - Clock::now()) + timeout_ms_) +
                         " ms (a peer that is not a polympc TLS endpoint?)");
    if (r.ec) {
      std::string reason = r.ec.message();
      const long verify = SSL_get_verify_result(stream_.native_handle());
      if (verify != X509_V_OK)
        reason += std::string(" (") + X509_verify_cert_error_string(verify) + ")";
      throw ChannelError("TLS handshake with " + peer_ + " failed: " + reason +
                         (role == 1 ? "; the server's certificate must be signed by the CA "
                                      "given to this client and name the host connected to"
                                    : "; the client's certificate must be signed by the CA "
                                      "given to this server"));
    }
    const std::string subject = peer_subject(stream_.native_handle());
    if (!subject.empty()) peer_ += " [" + subject + "]";
  }

  void hello(int role) {
    uint8_t mine[8] = {kHelloMagic[0], kHelloMagic[1], kHelloMagic[2], kHelloMagic[3],
                       kProtocolVersion, static_cast<uint8_t>(role), 0, 0};
    uint8_t theirs[8] = {};
    write_raw(mine, sizeof mine);
    read_raw(theirs, sizeof theirs);
    if (std::memcmp(theirs, kHelloMagic, 4) != 0)
      throw ChannelError("peer " + peer_ + " is not a polympc endpoint (bad hello)");
    if (theirs[4] != kProtocolVersion)
      throw ChannelError("peer " + peer_ + " speaks polympc channel version " +
                         std::to_string(theirs[4]) + ", this build speaks " +
                         std::to_string(kProtocolVersion));
    if (theirs[5] != 1 - role)
      throw ChannelError("peer " + peer_ + " has role P" + std::to_string(theirs[5]) +
                         ", expected P" + std::to_string(1 - role));
  }

  /// I/O thread: sends the queue's head, then the next, until empty or failed.
  void write_next() {
    if (queue_.empty()) {
      writing_ = false;
      return;
    }
    writing_ = true;
    asio::async_write(stream_, asio::buffer(queue_.front()),
                      [this, n = queue_.front().size()](const std::error_code& ec, size_t) {
                        if (ec) {
                          std::string msg;
                          if (deadline_hit_)
                            msg = deadline_text("writing " + std::to_string(n) + " bytes");
                          else if (is_closed(ec))
                            msg = "connection closed by peer " + peer_ + " while writing " +
                                  std::to_string(n) + " bytes (" + ec.message() + ")";
                          else
                            msg = "writing " + std::to_string(n) + " bytes to peer " + peer_ +
                                  " failed: " + ec.message();
                          record_failure(msg);
                          writing_ = false;
                          return;
                        }
                        if (!queue_.empty()) queue_.pop_front();
                        {
                          std::lock_guard<std::mutex> lk(mu_);
                          unsent_ -= n;
                        }
                        idle_cv_.notify_all();
                        write_next();
                      });
  }

  std::string deadline_text(const std::string& what) const {
    return "the connection's total deadline passed while " + what + " (peer " + peer_ +
           " too slow or stalled)";
  }

  void record_failure(const std::string& msg) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (failure_.empty()) failure_ = msg;
    }
    idle_cv_.notify_all();
  }
  bool failed() {
    std::lock_guard<std::mutex> lk(mu_);
    return !failure_.empty();
  }
  void throw_if_failed() {
    std::lock_guard<std::mutex> lk(mu_);
    if (!failure_.empty()) throw ChannelError(std::string(kTls ? "TLS" : "TCP") + " channel: " + failure_);
  }
  [[noreturn]] void fail(const std::string& msg) {
    record_failure(msg);
    close_socket();
    throw_if_failed();
    throw ChannelError(msg);  // not reached
  }

  /// Half-closes, discards unread input (so the kernel sends FIN, not RST), closes, and
  /// joins the I/O thread.
  void stop() {
    asio::post(*io_, [this] {
      std::error_code ignored;
      timer_.cancel();
      tcp::socket& s = socket_of(stream_);
      if (s.is_open()) {
        s.shutdown(tcp::socket::shutdown_send, ignored);
        std::vector<uint8_t> sink(64 * 1024);
        size_t drained = 0;
        while (drained < kDrainLimit) {
          ssize_t k = ::recv(s.native_handle(), sink.data(), sink.size(), MSG_DONTWAIT);
          if (k > 0) {
            drained += static_cast<size_t>(k);
            continue;
          }
          if (k < 0 && errno == EINTR) continue;
          break;
        }
      }
      s.close(ignored);
    });
    work_.reset();
    thread_.join();
  }

  std::unique_ptr<asio::io_context> io_;  // outlives the stream
  TlsContext ctx_;                        // outlives the stream (TLS)
  Stream stream_;
  asio::steady_timer timer_;  // the total deadline
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
  int timeout_ms_;
  Clock::time_point deadline_;
  std::string peer_;  // e.g. "P1 (client) at 127.0.0.1:40312 [/CN=client]"

  // I/O thread only.
  std::deque<std::vector<uint8_t>> queue_;
  bool writing_ = false;

  std::atomic<bool> deadline_hit_{false};
  std::mutex mu_;
  std::condition_variable idle_cv_;  // unsent_ reached 0, or a failure
  size_t unsent_ = 0;                // bytes posted but not yet written
  std::string failure_;              // first error; every later call throws it
};

std::unique_ptr<Channel> make_channel(std::unique_ptr<asio::io_context> io, tcp::socket sock,
                                      const TlsContext& ctx, const NetOptions& opts, int role,
                                      std::string peer) {
  if (ctx)
    return std::make_unique<AsioChannel<TlsStream>>(std::move(io), std::move(sock), ctx, opts,
                                                    role, std::move(peer));
  return std::make_unique<AsioChannel<tcp::socket>>(std::move(io), std::move(sock), ctx, opts,
                                                    role, std::move(peer));
}

class IncomingImpl final : public Incoming {
 public:
  IncomingImpl(std::unique_ptr<asio::io_context> io, tcp::socket sock, TlsContext ctx)
      : io_(std::move(io)), sock_(std::move(sock)), ctx_(std::move(ctx)) {
    std::error_code ec;
    peer_ = endpoint_text(sock_.remote_endpoint(ec));
    if (ec) peer_ = "unknown peer";
  }
  std::string peer() const override { return peer_; }
  std::unique_ptr<Channel> establish(const NetOptions& opts) override {
    check_timeout(opts.timeout_ms);
    if (!io_) throw InvalidArgument("Incoming::establish called twice");
    return make_channel(std::move(io_), std::move(sock_), ctx_, opts, 0,
                        "P1 (client) at " + peer_);
  }

 private:
  std::unique_ptr<asio::io_context> io_;
  tcp::socket sock_;
  TlsContext ctx_;
  std::string peer_;
};

}  // namespace

std::string Endpoint::text() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Endpoint parse_endpoint(const std::string& s, uint16_t default_port) {
  Endpoint e;
  std::string port;
  bool has_port = false;
  if (!s.empty() && s[0] == '[') {
    const size_t close = s.find(']');
    if (close == std::string::npos) throw InvalidArgument("address '" + s + "': missing ']'");
    e.host = s.substr(1, close - 1);
    if (close + 1 < s.size()) {
      if (s[close + 1] != ':') throw InvalidArgument("address '" + s + "': expected ':' after ']'");
      port = s.substr(close + 2);
      has_port = true;
    }
  } else {
    const size_t colon = s.rfind(':');
    if (colon != std::string::npos && s.find(':') != colon)
      throw InvalidArgument("address '" + s + "': write IPv6 addresses as [ADDR]:PORT");
    e.host = s.substr(0, colon);
    if (colon != std::string::npos) {
      port = s.substr(colon + 1);
      has_port = true;
    }
  }
  if (e.host.empty()) throw InvalidArgument("address '" + s + "' has no host");
  e.port = default_port;
  if (has_port) {
    if (port.empty() || port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        std::stoul(port) > 65535)
      throw InvalidArgument("address '" + s + "': port must be a number in 0..65535");
    e.port = static_cast<uint16_t>(std::stoul(port));
  }
  return e;
}

bool is_loopback(const std::string& host) {
  asio::io_context io;
  tcp::resolver r(io);
  std::error_code ec;
  auto results = r.resolve(host, "0", ec);
  if (ec) throw ChannelError("cannot resolve host '" + host + "': " + ec.message());
  bool any = false;
  for (const auto& entry : results) {
    auto a = entry.endpoint().address();
    if (a.is_v6() && a.to_v6().is_v4_mapped())
      a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
    if (!a.is_loopback()) return false;
    any = true;
  }
  return any;
}

void check_plaintext_allowed(const std::string& host, const std::string& what) {
  if (!is_loopback(host))
    throw InvalidArgument(what + " to '" + host +
                          "' is refused: plaintext TCP is neither authenticated nor encrypted and "
                          "is allowed on loopback only; give the TLS options (--ca, --cert, --key)");
}

void check_tls_files(const TlsFiles& files, int side) { make_tls_context(files, side); }

struct Listener::Impl {
  asio::io_context io;
  tcp::acceptor acceptor{io};
  TlsContext ctx;
};

Listener::Listener(const Endpoint& at, const std::optional<TlsFiles>& tls)
    : impl_(std::make_unique<Impl>()) {
  if (tls)
    impl_->ctx = make_tls_context(*tls, 0);
  else
    check_plaintext_allowed(at.host, "plaintext listening on " + at.text());
  tcp::resolver resolver(impl_->io);
  std::error_code ec;
  auto results = resolver.resolve(at.host, std::to_string(at.port), tcp::resolver::passive, ec);
  if (ec) throw ChannelError("cannot resolve listening address '" + at.host + "': " + ec.message());
  std::string last = "no address";
  for (const auto& entry : results) {
    ec.clear();
    tcp::acceptor& a = impl_->acceptor;
    a.open(entry.endpoint().protocol(), ec);
    if (!ec) a.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) a.bind(entry.endpoint(), ec);
    if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
    if (!ec) return;
    last = ec.message();
    std::error_code ignored;
    a.close(ignored);
  }
  throw ChannelError("cannot listen on " + at.text() + ": " + last);
}

Listener::~Listener() = default;

uint16_t Listener::port() const {
  std::error_code ec;
  return impl_->acceptor.local_endpoint(ec).port();
}

std::string Listener::address() const {
  std::error_code ec;
  return endpoint_text(impl_->acceptor.local_endpoint(ec));
}

std::unique_ptr<Incoming> Listener::accept(int wait_ms) {
  auto conn_io = std::make_unique<asio::io_context>();
  bool done = false;
  std::error_code accept_ec;
  tcp::socket sock(*conn_io);
  impl_->acceptor.async_accept(*conn_io, [&](const std::error_code& e, tcp::socket s) {
    done = true;
    accept_ec = e;
    if (!e) sock = std::move(s);
  });
  impl_->io.restart();
  impl_->io.run_for(std::chrono::milliseconds(std::max(wait_ms, 0)));
  if (!done) {
    std::error_code ignored;
    impl_->acceptor.cancel(ignored);  // run the cancelled handler before returning
    impl_->io.restart();
    impl_->io.run();
  }
  if (!done || accept_ec == asio::error::operation_aborted) return nullptr;
  if (accept_ec) throw ChannelError("accepting a connection failed: " + accept_ec.message());
  return std::make_unique<IncomingImpl>(std::move(conn_io), std::move(sock), impl_->ctx);
}

std::unique_ptr<Channel> connect(const Endpoint& at, const NetOptions& opts) {
  check_timeout(opts.timeout_ms);
  TlsContext ctx;
  if (opts.tls)
    ctx = make_tls_context(*opts.tls, 1);
  else
    check_plaintext_allowed(at.host, "a plaintext connection");
  const auto deadline =
      earlier(Clock::now() + std::chrono::milliseconds(opts.timeout_ms), opts.deadline);
  const std::string where = at.text();
  auto io = std::make_unique<asio::io_context>();
  tcp::resolver resolver(*io);
  std::error_code ec;
  auto endpoints = resolver.resolve(at.host, std::to_string(at.port), ec);
  if (ec) throw ChannelError("cannot resolve host '" + at.host + "': " + ec.message());

  std::string last_error = "no address";
  for (;;) {
    for (const auto& entry : endpoints) {
      int left = clamp_ms(deadline - Clock::now());
      if (left <= 0) break;
      tcp::socket sock(*io);
      bool done = false;
      std::error_code connect_ec;
      sock.async_connect(entry.endpoint(), [&](const std::error_code& e) {
        done = true;
        connect_ec = e;
      });
      io->restart();
      io->run_for(std::chrono::milliseconds(left));
      if (!done) {
        std::error_code ignored;
        sock.close(ignored);  // cancels the connect; run its handler
        io->restart();
        io->run();
        last_error = "connection attempt timed out";
        continue;
      }
      if (connect_ec) {
        last_error = connect_ec.message();
        continue;
      }
      io->restart();
      NetOptions o = opts;
      if (o.server_name.empty()) o.server_name = at.host;
      return make_channel(std::move(io), std::move(sock), ctx, o, 1, "P0 (server) at " + where);
    }
    int left = clamp_ms(deadline - Clock::now());
    if (left <= 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(left, kConnectRetryMs)));
  }
  throw ChannelError("cannot connect to " + where + " within " + std::to_string(opts.timeout_ms) +
                     " ms (last error: " + last_error + "; is the server P0 listening?)");
}

std::unique_ptr<Channel> tcp_listen(uint16_t port, int timeout_ms) {
  check_timeout(timeout_ms);
  Listener l(Endpoint{"127.0.0.1", port}, std::nullopt);
  std::unique_ptr<Incoming> in = l.accept(timeout_ms);
  if (!in)
    throw ChannelError("no peer connected to TCP port " + std::to_string(port) + " within " +
                       std::to_string(timeout_ms) + " ms (is the client P1 running?)");
  NetOptions o;
  o.timeout_ms = timeout_ms;
  return in->establish(o);
}

std::unique_ptr<Channel> tcp_connect(const std::string& host, uint16_t port, int timeout_ms) {
  NetOptions o;
  o.timeout_ms = timeout_ms;
  return connect(Endpoint{host, port}, o);
}

}  // namespace polympc::mpc
