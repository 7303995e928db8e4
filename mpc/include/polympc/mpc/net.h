// Network transport of the two-process modes: TCP, optionally inside TLS 1.3, under a
// per-message timeout and a total deadline (docs/protocols.md "Deployment: transport").
//
// The transport is standalone Asio; TLS is Asio's SSL layer over OpenSSL, TLS 1.3 only,
// with certificates on both sides: each party proves its identity with a certificate
// signed by the CA the peer trusts, and the client checks the server's name against its
// certificate (RFC 6125 via OpenSSL's X509_VERIFY_PARAM_set1_host). Plaintext TCP exists
// for loopback only (check_plaintext_allowed): it is neither authenticated nor encrypted.
//
// Every connection owns one I/O thread that runs all its socket and TLS operations (an
// OpenSSL stream must not be used from two threads at once); the caller's send/recv hand
// work to it. A write never waits for the peer to read. A read must complete as a whole
// within `timeout_ms` (a peer that drips one byte at a time does not extend it), and every
// operation fails once `deadline` has passed: at the deadline the I/O thread closes the
// socket, so a stalled peer cannot hold a run past it.
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "polympc/mpc/channel.h"

namespace polympc::mpc {

/// PEM files of one party's TLS identity and of the CA it trusts to sign its peer.
struct TlsFiles {
  std::string ca;    ///< CA certificate(s) that must sign the peer's certificate
  std::string cert;  ///< this party's certificate chain (leaf first)
  std::string key;   ///< this party's private key (unencrypted PEM)
};

/// Transport settings of one connection.
struct NetOptions {
  std::optional<TlsFiles> tls;  ///< nullopt: plaintext TCP (loopback only)
  int timeout_ms = 30000;       ///< connection setup, TLS handshake, and each read as a whole
  /// Total deadline: every operation after it fails and the socket is closed at it.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  /// Client: the name the server's certificate must carry (default: the host connected to).
  std::string server_name;
};

/// "ADDR:PORT", "[v6addr]:PORT" or "ADDR" (port `default_port`). Port 0 (listen only)
/// asks the OS for a free port. Throws InvalidArgument on a malformed address or port.
struct Endpoint {
  std::string host;
  uint16_t port = 0;
  std::string text() const;
};
Endpoint parse_endpoint(const std::string& s, uint16_t default_port);

/// True when every address `host` resolves to is a loopback address (127.0.0.0/8, ::1,
/// ::ffff:127.0.0.0/104). Throws ChannelError when the name does not resolve.
bool is_loopback(const std::string& host);

/// Throws InvalidArgument unless `host` is loopback: plaintext TCP is unauthenticated and
/// unencrypted, so it never leaves the machine. `what` names the option for the message.
void check_plaintext_allowed(const std::string& host, const std::string& what);

/// Checks that the three PEM files exist and load into a TLS context of the given side
/// (0 = server, 1 = client). Throws InvalidArgument naming the file and OpenSSL's reason.
void check_tls_files(const TlsFiles& files, int side);

/// A connection accepted by a Listener whose TLS handshake and hello have not run yet.
class Incoming {
 public:
  virtual ~Incoming() = default;
  /// The peer's address, e.g. "127.0.0.1:40312".
  virtual std::string peer() const = 0;
  /// Runs the TLS handshake (when the listener has TLS) and the channel hello as P0,
  /// within `opts.timeout_ms` and `opts.deadline`; the TLS settings are the listener's.
  /// Throws ChannelError (bad certificate, not a polympc peer, timeout, closed).
  virtual std::unique_ptr<Channel> establish(const NetOptions& opts) = 0;
};

/// A listening TCP socket for P0. Binding happens in the constructor.
class Listener {
 public:
  /// Binds `at` (port 0: any free port). `tls` nullopt: plaintext, and `at.host` must be
  /// loopback (check_plaintext_allowed). Throws ChannelError when binding fails and
  /// InvalidArgument for bad TLS files.
  Listener(const Endpoint& at, const std::optional<TlsFiles>& tls);
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
  /// The bound port (the OS's choice when 0 was asked for).
  uint16_t port() const;
  /// The bound address, e.g. "127.0.0.1:7766".
  std::string address() const;
  /// Waits up to `wait_ms` for the next connection; nullptr when none came. The
  /// connection's handshake runs later, in Incoming::establish, so a slow or stray peer
  /// does not hold up the next accept.
  std::unique_ptr<Incoming> accept(int wait_ms);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Connects to P0 at `at` as P1, retrying every 50 ms until `opts.timeout_ms` (the server
/// may start later), then runs the TLS handshake and the hello. Plaintext (no opts.tls)
/// only to loopback. Throws ChannelError (refused, timed out, bad certificate, not a
/// polympc peer) and InvalidArgument (bad options).
std::unique_ptr<Channel> connect(const Endpoint& at, const NetOptions& opts);

}  // namespace polympc::mpc
