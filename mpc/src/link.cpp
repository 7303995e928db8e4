// Emulated link (link.h).
#include "polympc/mpc/link.h"

#include <cmath>
#include <deque>
#include <sstream>
#include <thread>

#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "polympc/mpc/errors.h"

namespace polympc::mpc {

LinkSpec parse_link(const std::string& s) {
  LinkSpec l;
  l.name = s;
  const auto comma = s.find(',');
  double mbps = 0, rtt_ms = 0;
  try {
    if (comma == std::string::npos) throw std::invalid_argument("no comma");
    size_t a = 0, b = 0;
    mbps = std::stod(s.substr(0, comma), &a);
    rtt_ms = std::stod(s.substr(comma + 1), &b);
    if (a != comma || b != s.size() - comma - 1) throw std::invalid_argument("trailing text");
  } catch (const std::exception&) {
    throw InvalidArgument("link '" + s + "' must be BANDWIDTH_MBps,RTT_ms, e.g. 377,0.3");
  }
  if (!(mbps > 0) || !std::isfinite(mbps) || !(rtt_ms >= 0) || !std::isfinite(rtt_ms))
    throw InvalidArgument("link '" + s + "': bandwidth must be > 0 MB/s and RTT >= 0 ms");
  l.bytes_per_s = mbps * 1e6;
  l.rtt_s = rtt_ms * 1e-3;
  return l;
}

EmulatedLink::EmulatedLink(const LinkSpec& spec) : spec_(spec) {
  if (!(spec.bytes_per_s > 0) || !(spec.rtt_s >= 0)) throw InvalidArgument("emulated link needs bandwidth > 0 and RTT >= 0");
}

EmulatedLink::Clock::time_point EmulatedLink::transmit(size_t n) {
  const auto serialise = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(static_cast<double>(n) / spec_.bytes_per_s));
  const auto propagate =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(spec_.rtt_s / 2));
  std::lock_guard<std::mutex> lk(mu_);
  const Clock::time_point start = std::max(Clock::now(), free_at_);
  free_at_ = start + serialise;
  return free_at_ + propagate;
}

namespace {

/// Sleeps until `at`. On Linux the calling thread's timer slack is set to 1 ns first (once
/// per thread): with the default 50 µs slack a wake-up came ~87 µs late on average on the
/// 2-core CI machine (38 µs at 1 ns), which lengthened every one-way delay of the lan preset
/// (150 µs) by more than half.
void sleep_until_arrival(EmulatedLink::Clock::time_point at) {
#ifdef __linux__
  thread_local bool slack_set = false;
  if (!slack_set) {
    prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
    slack_set = true;
  }
#endif
  std::this_thread::sleep_until(at);
}

/// Arrival times of the bytes of one direction of one channel pair: (end offset, time).
struct Pipe {
  std::mutex mu;
  std::deque<std::pair<uint64_t, EmulatedLink::Clock::time_point>> arrivals;
  uint64_t written = 0;
};

class LinkChannel final : public Channel {
 public:
  LinkChannel(std::unique_ptr<Channel> inner, std::shared_ptr<EmulatedLink> out, std::shared_ptr<Pipe> out_pipe,
              std::shared_ptr<Pipe> in_pipe)
      : inner_(std::move(inner)), out_(std::move(out)), out_pipe_(std::move(out_pipe)), in_pipe_(std::move(in_pipe)) {}

 protected:
  void write_raw(const void* data, size_t n) override {
    if (n == 0) return;
    {
      // Recorded before the bytes are handed over, so the reader always finds them.
      std::lock_guard<std::mutex> lk(out_pipe_->mu);
      out_pipe_->written += n;
      out_pipe_->arrivals.emplace_back(out_pipe_->written, out_->transmit(n));
    }
    inner_->send(data, n);
  }
  void read_raw(void* data, size_t n) override {
    if (n == 0) return;
    inner_->recv(data, n);
    read_ += n;
    EmulatedLink::Clock::time_point at{};
    {
      std::lock_guard<std::mutex> lk(in_pipe_->mu);
      auto& q = in_pipe_->arrivals;
      while (!q.empty() && q.front().first < read_) q.pop_front();
      if (q.empty()) throw ChannelError("emulated link: bytes read that were never written");
      at = q.front().second;
      if (q.front().first == read_) q.pop_front();
    }
    sleep_until_arrival(at);
  }

 private:
  std::unique_ptr<Channel> inner_;
  std::shared_ptr<EmulatedLink> out_;
  std::shared_ptr<Pipe> out_pipe_, in_pipe_;
  uint64_t read_ = 0;
};

}  // namespace

std::pair<std::unique_ptr<Channel>, std::unique_ptr<Channel>> emulate_link(
    std::pair<std::unique_ptr<Channel>, std::unique_ptr<Channel>> pair, std::shared_ptr<EmulatedLink> p0_to_p1,
    std::shared_ptr<EmulatedLink> p1_to_p0) {
  auto fwd = std::make_shared<Pipe>(), back = std::make_shared<Pipe>();
  std::unique_ptr<Channel> c0 = std::make_unique<LinkChannel>(std::move(pair.first), std::move(p0_to_p1), fwd, back);
  std::unique_ptr<Channel> c1 = std::make_unique<LinkChannel>(std::move(pair.second), std::move(p1_to_p0), back, fwd);
  return {std::move(c0), std::move(c1)};
}

}  // namespace polympc::mpc
