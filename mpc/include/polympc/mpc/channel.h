// Two-party channels with per-phase communication statistics (docs/design.md §3, §5).
//
// Modelled on emp-toolkit's IOChannel (a small interface that counts bytes) and
// MP-SPDZ's per-operation statistics. A *round* is one network latency on the critical
// path of the calling party: exchange() (both parties send, then both receive) is one
// round; a lone send() or recv() is one round.
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "polympc/mpc/errors.h"
#include "polympc/mpc/trace.h"

namespace polympc::mpc {

/// Counters of one named phase (e.g. a layer name), seen from one party.
struct PhaseStats {
  uint64_t bytes_sent = 0;      ///< bytes this party wrote
  uint64_t bytes_received = 0;  ///< bytes this party read
  uint64_t rounds = 0;          ///< rounds (see file comment)
  double seconds = 0.0;         ///< wall time spent inside the phase (PhaseScope)
  PhaseStats& operator+=(const PhaseStats& o) {
    bytes_sent += o.bytes_sent;
    bytes_received += o.bytes_received;
    rounds += o.rounds;
    seconds += o.seconds;
    return *this;
  }
};

/// A point-to-point, reliable, ordered byte channel between P0 and P1.
/// Implementations: make_inproc_pair() (two threads, one process), the TCP and TLS
/// channels of net.h, and the emulated link of link.h.
/// All operations throw ChannelError when the peer is gone or the transfer fails;
/// a party never blocks forever on a closed peer.
class Channel {
 public:
  virtual ~Channel() = default;
  Channel() = default;
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  /// Sends n bytes (one round, counted).
  void send(const void* data, size_t n) {
    write_raw(data, n);
    auto& s = current();
    s.bytes_sent += n;
    s.rounds += 1;
  }
  /// Receives exactly n bytes (one round, counted). Throws ChannelError on a short read.
  void recv(void* data, size_t n) {
    timed_read(data, n);
    auto& s = current();
    s.bytes_received += n;
    s.rounds += 1;
  }
  /// Both parties send then receive: one round. n_out bytes out, n_in bytes in.
  void exchange(const void* out, size_t n_out, void* in, size_t n_in) {
    write_raw(out, n_out);
    timed_read(in, n_in);
    auto& s = current();
    s.bytes_sent += n_out;
    s.bytes_received += n_in;
    s.rounds += 1;
  }
  /// Convenience: exchange equally sized word vectors (one round).
  void exchange_words(const std::vector<uint64_t>& out, std::vector<uint64_t>& in) {
    in.resize(out.size());
    exchange(out.data(), out.size() * 8, in.data(), in.size() * 8);
  }

  /// Selects the phase that subsequent traffic is counted under.
  void set_phase(const std::string& name) { phase_ = name; }
  const std::string& phase() const { return phase_; }
  /// Counters of every phase seen so far, and their sum.
  const std::map<std::string, PhaseStats>& stats() const { return stats_; }
  PhaseStats total() const {
    PhaseStats t;
    for (auto& kv : stats_) t += kv.second;
    return t;
  }
  PhaseStats& stats_of(const std::string& name) { return stats_[name]; }
  void reset_stats() { stats_.clear(); }
  /// Records every blocking read as a "link wait" span and every PhaseScope as a "layers"
  /// span of `party` (and `lane`) into `rec` (trace.h); nullptr stops recording.
  void set_recorder(SpanRecorder* rec, int party, int lane = 0) {
    rec_ = rec;
    rec_party_ = party;
    rec_lane_ = lane;
  }
  SpanRecorder* recorder() const { return rec_; }
  /// Adds a span of this channel's party on `resource` (no-op without a recorder).
  void record(const std::string& resource, const std::string& name, double start_s, double end_s,
              uint64_t bytes = 0) const {
    if (!rec_) return;
    Span s;
    s.party = rec_party_;
    s.lane = rec_lane_;
    s.resource = resource;
    s.name = name;
    s.layer = phase_;
    s.start_s = start_s;
    s.end_s = end_s;
    s.bytes = bytes;
    rec_->add(std::move(s));
  }

  /// Who is at the other end, for messages and logs (e.g. "P1 (client) at 127.0.0.1:40312
  /// [/CN=client]").
  virtual std::string peer() const { return "the peer"; }

 protected:
  /// Writes all n bytes or throws ChannelError. Must not block on the peer's reads for
  /// messages that fit the implementation's buffering (exchange() writes before reading).
  virtual void write_raw(const void* data, size_t n) = 0;
  /// Reads exactly n bytes or throws ChannelError.
  virtual void read_raw(void* data, size_t n) = 0;

 private:
  void timed_read(void* data, size_t n) {
    if (!rec_) return read_raw(data, n);
    const double t0 = rec_->now_s();
    read_raw(data, n);
    record("link wait", phase_, t0, rec_->now_s(), n);
  }
  PhaseStats& current() { return stats_[phase_]; }
  std::string phase_ = "default";
  std::map<std::string, PhaseStats> stats_;
  SpanRecorder* rec_ = nullptr;
  int rec_party_ = 0, rec_lane_ = 0;
};

/// RAII: counts traffic and wall time under `name` while alive, restores the old phase.
class PhaseScope {
 public:
  PhaseScope(Channel& ch, const std::string& name)
      : ch_(ch), old_(ch.phase()), name_(name), t0_(std::chrono::steady_clock::now()),
        span_t0_(ch.recorder() ? ch.recorder()->now_s() : 0) {
    ch_.set_phase(name_);
  }
  ~PhaseScope() {
    ch_.stats_of(name_).seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
    if (ch_.recorder()) ch_.record("layers", name_, span_t0_, ch_.recorder()->now_s());
    ch_.set_phase(old_);
  }
  PhaseScope(const PhaseScope&) = delete;
  PhaseScope& operator=(const PhaseScope&) = delete;

 private:
  Channel& ch_;
  std::string old_, name_;
  std::chrono::steady_clock::time_point t0_;
  double span_t0_;
};

/// Two connected in-process channels (index 0 for P0, 1 for P1), for two threads of one
/// process. Unbounded buffering: a write never blocks. If one end is destroyed, reads
/// on the other throw ChannelError ("peer closed").
std::pair<std::unique_ptr<Channel>, std::unique_ptr<Channel>> make_inproc_pair();

/// Plaintext TCP on loopback (net.h): P0 listens on 127.0.0.1:`port` for one peer, P1
/// connects. `timeout_ms` bounds connection setup and each read as a whole; exceeded ->
/// ChannelError. tcp_connect refuses a host that is not loopback (net.h: TLS between
/// machines).
std::unique_ptr<Channel> tcp_listen(uint16_t port, int timeout_ms = 30000);
std::unique_ptr<Channel> tcp_connect(const std::string& host, uint16_t port,
                                     int timeout_ms = 30000);

}  // namespace polympc::mpc
