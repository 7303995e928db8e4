// TCP channel (channel.h): standalone Asio for connection setup, POSIX calls on the
// connected socket for the data path.
//
// Setup. tcp_listen() binds (IPv6 dual-stack when available, else IPv4), accepts one
// connection within timeout_ms; tcp_connect() resolves the host and retries connecting
// every 50 ms until timeout_ms (the server may start later). Both sides then set
// TCP_NODELAY and exchange an 8-byte hello (magic, version, role) so that a connection to
// something that is not a polympc peer fails at once with a clear error. The hello is
// not counted in the channel statistics.
//
// Data path. One thread (the caller) reads; writes are either sent immediately when the
// socket accepts them without blocking, or queued for a background writer thread, so a
// write never waits for the peer to read and exchange() with large messages on both sides
// cannot deadlock. Reads poll() the socket with a timeout of timeout_ms without progress.
// The first error (read, write, timeout, peer closed) marks the channel failed: that call
// throws ChannelError, and so does every later call (an error in the writer thread
// surfaces on the next send/recv/exchange). The destructor flushes queued writes (bounded
// by min(timeout_ms, 10 s)), half-closes, discards unread input so the kernel closes with
// FIN rather than RST, and closes the socket.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/v6_only.hpp>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "polympc/mpc/channel.h"

namespace polympc::mpc {
namespace {

using Clock = std::chrono::steady_clock;
using Buffer = std::vector<uint8_t>;
using asio::ip::tcp;

constexpr uint8_t kHelloMagic[4] = {'P', 'M', 'P', 'C'};
constexpr uint8_t kProtocolVersion = 1;
constexpr int kWriterPollMs = 100;     // writer re-checks its stop flag this often
constexpr int kMaxFlushMs = 10000;     // upper bound of the destructor's flush
constexpr int kConnectRetryMs = 50;    // pause between connection attempts
constexpr size_t kDrainLimit = 64u << 20;  // at most this much unread input is discarded

std::string errno_text(int err) { return std::string(std::strerror(err)); }

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

class TcpChannel final : public Channel {
 public:
  /// `role` is this party's index (0 = listener/server, 1 = connector/client).
  TcpChannel(std::unique_ptr<asio::io_context> io, tcp::socket sock, int timeout_ms, int role,
             std::string peer)
      : io_(std::move(io)),
        socket_(std::move(sock)),
        fd_(socket_.native_handle()),
        timeout_ms_(timeout_ms),
        peer_(std::move(peer)) {
    std::error_code ec;
    socket_.set_option(tcp::no_delay(true), ec);
    if (ec) throw ChannelError("cannot set TCP_NODELAY on connection with " + peer_ + ": " +
                               ec.message());
    handshake(role);
    writer_ = std::thread([this] { writer_loop(); });
  }

  ~TcpChannel() override {
    bool flushed = false;
    {
      std::unique_lock<std::mutex> lk(mu_);
      closing_ = true;
      cv_.notify_all();
      flushed = idle_cv_.wait_for(lk, std::chrono::milliseconds(std::min(timeout_ms_, kMaxFlushMs)),
                                  [&] { return writer_done_; });
      if (!flushed) stop_ = true;
    }
    cv_.notify_all();
    writer_.join();
    if (flushed) {
      ::shutdown(fd_, SHUT_WR);
      // Unread input at close() makes the kernel send RST, which can destroy data the
      // peer has not read yet; discard what is already here.
      std::vector<uint8_t> sink(64 * 1024);
      size_t drained = 0;
      while (drained < kDrainLimit) {
        ssize_t k = ::recv(fd_, sink.data(), sink.size(), MSG_DONTWAIT);
        if (k > 0) {
          drained += static_cast<size_t>(k);
          continue;
        }
        if (k < 0 && errno == EINTR) continue;
        break;
      }
    }
    std::error_code ec;
    socket_.close(ec);
  }

 protected:
  void write_raw(const void* data, size_t n) override {
    const auto* p = static_cast<const uint8_t*>(data);
    std::unique_lock<std::mutex> lk(mu_);
    throw_if_failed_locked();
    if (n == 0) return;
    if (!busy_ && queue_.empty()) {
      // Writer idle: send directly as much as the socket takes without blocking (saves a
      // thread hand-off per small message); queue the rest.
      size_t sent = 0;
      while (sent < n) {
        ssize_t k = ::send(fd_, p + sent, n - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (k > 0) {
          sent += static_cast<size_t>(k);
          continue;
        }
        if (k < 0 && errno == EINTR) continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        fail_locked(write_error_text(n, k < 0 ? errno : EPIPE));
      }
      if (sent == n) return;
      queue_.emplace_back(p + sent, p + n);
    } else {
      lk.unlock();
      Buffer buf(p, p + n);  // copy outside the lock while the writer works
      lk.lock();
      throw_if_failed_locked();
      queue_.push_back(std::move(buf));
    }
    lk.unlock();
    cv_.notify_all();
  }

  void read_raw(void* data, size_t n) override {
    {
      std::lock_guard<std::mutex> lk(mu_);
      throw_if_failed_locked();
    }
    auto* out = static_cast<uint8_t*>(data);
    size_t got = 0;
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms_);
    while (got < n) {
      ssize_t k = ::recv(fd_, out + got, n - got, MSG_DONTWAIT);
      if (k > 0) {
        got += static_cast<size_t>(k);
        deadline = Clock::now() + std::chrono::milliseconds(timeout_ms_);
        continue;
      }
      if (k == 0)
        fail(std::string("connection closed by peer ") + peer_ + " while reading " +
             std::to_string(n) + " bytes (received " + std::to_string(got) + ")");
      int err = errno;
      if (err == EINTR) continue;
      if (err != EAGAIN && err != EWOULDBLOCK)
        fail("reading " + std::to_string(n) + " bytes from peer " + peer_ +
             " failed after " + std::to_string(got) + " bytes: " + errno_text(err));
      int wait_ms = clamp_ms(deadline - Clock::now());
      if (wait_ms <= 0)
        fail("timed out after " + std::to_string(timeout_ms_) + " ms waiting for data from peer " +
             peer_ + " (read " + std::to_string(got) + " of " + std::to_string(n) + " bytes)");
      pollfd pfd{fd_, POLLIN, 0};
      int r = ::poll(&pfd, 1, wait_ms);
      if (r < 0 && errno != EINTR)
        fail("waiting for data from peer " + peer_ + " failed: " + errno_text(errno));
      // r == 0: loop re-checks the deadline; r > 0: data, EOF or an error for recv().
    }
  }

 private:
  /// Sends the hello and checks the peer's (8 bytes each way, blocking with timeout).
  void handshake(int role) {
    uint8_t hello[8] = {kHelloMagic[0], kHelloMagic[1], kHelloMagic[2], kHelloMagic[3],
                        kProtocolVersion, static_cast<uint8_t>(role), 0, 0};
    if (std::string err = send_all(hello, sizeof hello, /*deadline_ms=*/timeout_ms_); !err.empty())
      throw ChannelError(err);
    uint8_t theirs[8] = {};
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

  /// Background writer: sends queued buffers in order until closing and drained, stopped,
  /// or failed. Its error is recorded in failure_ and thrown by the next channel call.
  void writer_loop() {
    std::unique_lock<std::mutex> lk(mu_);
    for (;;) {
      cv_.wait(lk, [&] { return !queue_.empty() || closing_; });
      if (queue_.empty() || stop_) break;
      Buffer buf = std::move(queue_.front());
      queue_.pop_front();
      busy_ = true;
      lk.unlock();
      std::string err = send_all(buf.data(), buf.size(), /*deadline_ms=*/-1);
      Buffer().swap(buf);
      lk.lock();
      busy_ = false;
      if (!err.empty()) {
        if (failure_.empty()) failure_ = err;
        queue_.clear();
        break;
      }
      if (queue_.empty()) idle_cv_.notify_all();
    }
    writer_done_ = true;
    idle_cv_.notify_all();
  }

  /// Sends all n bytes, waiting with poll(). deadline_ms < 0: no deadline, but gives up
  /// when stop_ is set. Returns an error message, empty on success.
  std::string send_all(const uint8_t* p, size_t n, int deadline_ms) {
    size_t sent = 0;
    auto deadline = Clock::now() + std::chrono::milliseconds(std::max(deadline_ms, 0));
    while (sent < n) {
      ssize_t k = ::send(fd_, p + sent, n - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (k > 0) {
        sent += static_cast<size_t>(k);
        continue;
      }
      int err = k < 0 ? errno : EPIPE;
      if (err == EINTR) continue;
      if (err != EAGAIN && err != EWOULDBLOCK) return write_error_text(n, err);
      if (stop_) return "gave up sending " + std::to_string(n - sent) + " queued bytes to peer " +
                        peer_ + " while closing (peer not reading)";
      int wait_ms = kWriterPollMs;
      if (deadline_ms >= 0) {
        wait_ms = std::min(wait_ms, clamp_ms(deadline - Clock::now()));
        if (wait_ms <= 0)
          return "timed out after " + std::to_string(deadline_ms) + " ms sending to peer " + peer_;
      }
      pollfd pfd{fd_, POLLOUT, 0};
      if (::poll(&pfd, 1, wait_ms) < 0 && errno != EINTR)
        return "waiting to send to peer " + peer_ + " failed: " + errno_text(errno);
    }
    return {};
  }

  std::string write_error_text(size_t n, int err) const {
    if (err == EPIPE || err == ECONNRESET)
      return "connection closed by peer " + peer_ + " while writing " + std::to_string(n) +
             " bytes (" + errno_text(err) + ")";
    return "writing " + std::to_string(n) + " bytes to peer " + peer_ + " failed: " +
           errno_text(err);
  }

  void throw_if_failed_locked() const {
    if (!failure_.empty()) throw ChannelError("TCP channel: " + failure_);
  }
  [[noreturn]] void fail_locked(const std::string& msg) {
    if (failure_.empty()) failure_ = msg;
    throw ChannelError("TCP channel: " + msg);
  }
  [[noreturn]] void fail(const std::string& msg) {
    std::lock_guard<std::mutex> lk(mu_);
    fail_locked(msg);
  }

  std::unique_ptr<asio::io_context> io_;  // outlives socket_
  tcp::socket socket_;
  int fd_;
  int timeout_ms_;
  std::string peer_;  // e.g. "P1 (client) at 127.0.0.1:40312"

  std::mutex mu_;
  std::condition_variable cv_;       // writer waits for work
  std::condition_variable idle_cv_;  // destructor waits for the writer to drain
  std::deque<Buffer> queue_;
  bool busy_ = false;         // writer is sending a buffer outside the lock
  bool closing_ = false;      // destructor: drain the queue, then exit
  bool writer_done_ = false;  // writer thread has left its loop
  std::atomic<bool> stop_{false};  // destructor: give up on the remaining queue
  std::string failure_;       // first error; every later call throws it
  std::thread writer_;
};

void check_timeout(int timeout_ms) {
  if (timeout_ms <= 0)
    throw InvalidArgument("TCP channel timeout must be > 0 ms, got " + std::to_string(timeout_ms));
}

}  // namespace

std::unique_ptr<Channel> tcp_listen(uint16_t port, int timeout_ms) {
  check_timeout(timeout_ms);
  auto io = std::make_unique<asio::io_context>();
  tcp::acceptor acceptor(*io);
  std::error_code ec;
  tcp::endpoint local(tcp::v6(), port);
  acceptor.open(tcp::v6(), ec);
  if (!ec) acceptor.set_option(asio::ip::v6_only(false), ec);
  if (ec) {  // no IPv6 on this host: IPv4 only
    std::error_code ignored;
    acceptor.close(ignored);
    ec.clear();
    local = tcp::endpoint(tcp::v4(), port);
    acceptor.open(tcp::v4(), ec);
  }
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(local, ec);
  if (!ec) acceptor.listen(1, ec);
  if (ec)
    throw ChannelError("cannot listen on TCP port " + std::to_string(port) + ": " + ec.message());

  tcp::socket sock(*io);
  bool done = false;
  std::error_code accept_ec;
  acceptor.async_accept(sock, [&](const std::error_code& e) {
    done = true;
    accept_ec = e;
  });
  io->run_for(std::chrono::milliseconds(timeout_ms));
  if (!done) {
    std::error_code ignored;
    acceptor.close(ignored);  // cancels the accept; run its handler before returning
    io->restart();
    io->run();
    throw ChannelError("no peer connected to TCP port " + std::to_string(port) + " within " +
                       std::to_string(timeout_ms) + " ms (is the client P1 running?)");
  }
  if (accept_ec)
    throw ChannelError("accepting a connection on TCP port " + std::to_string(port) +
                       " failed: " + accept_ec.message());
  acceptor.close(ec);
  std::string peer = "P1 (client) at " + endpoint_text(sock.remote_endpoint(ec));
  io->restart();
  return std::make_unique<TcpChannel>(std::move(io), std::move(sock), timeout_ms, 0,
                                      std::move(peer));
}

std::unique_ptr<Channel> tcp_connect(const std::string& host, uint16_t port, int timeout_ms) {
  check_timeout(timeout_ms);
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  const std::string where = host + ":" + std::to_string(port);
  auto io = std::make_unique<asio::io_context>();
  tcp::resolver resolver(*io);
  std::error_code ec;
  auto endpoints = resolver.resolve(host, std::to_string(port), ec);
  if (ec) throw ChannelError("cannot resolve host '" + host + "': " + ec.message());

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
      std::string peer = "P0 (server) at " + where;
      io->restart();
      return std::make_unique<TcpChannel>(std::move(io), std::move(sock), timeout_ms, 1,
                                          std::move(peer));
    }
    int left = clamp_ms(deadline - Clock::now());
    if (left <= 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(left, kConnectRetryMs)));
  }
  throw ChannelError("cannot connect to " + where + " within " + std::to_string(timeout_ms) +
                     " ms (last error: " + last_error + "; is the server P0 listening?)");
}

}  // namespace polympc::mpc
