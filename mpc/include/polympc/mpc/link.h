// An emulated network link between the two parties of one process (docs/scheduler.md
// "Emulated link"), so that communication time, and what overlapping it with computation
// saves, can be measured on one machine rather than only modelled.
//
// Each direction is a FIFO link of `bytes_per_s` with a one-way propagation delay of
// rtt_s / 2: a message written at time t starts serialising when the link is free (after
// the messages before it, from every channel sharing the direction) and arrives
// bytes / bytes_per_s later plus rtt_s / 2. A reader waits until the bytes it reads have
// arrived; a writer never waits (the link buffers without limit). So a lone send followed
// by the peer's reply costs one RTT, and an exchange in which both parties send at once
// half of one: the performance model's "one round = one RTT" is an upper bound of this.
// A reader wakes late by the OS's wake-up latency: its thread's timer slack is set to 1 ns,
// and on the 2-core CI machine a wake-up still comes ~40 µs late on average.
#pragma once
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "polympc/mpc/channel.h"

namespace polympc::mpc {

struct LinkSpec {
  std::string name;          ///< e.g. "lan"
  double bytes_per_s = 0;    ///< per direction, > 0
  double rtt_s = 0;          ///< round-trip time, >= 0
};

/// Parses "BW,RTT" = megabytes per second and milliseconds, e.g. "377,0.3". Throws
/// InvalidArgument on anything else (or non-positive bandwidth, negative RTT).
LinkSpec parse_link(const std::string& bw_rtt);

/// One direction of an emulated link; channels that send the same way share it.
class EmulatedLink {
 public:
  using Clock = std::chrono::steady_clock;
  explicit EmulatedLink(const LinkSpec& spec);
  /// n bytes written now: when they arrive at the reader.
  Clock::time_point transmit(size_t n);
  const LinkSpec& spec() const { return spec_; }

 private:
  LinkSpec spec_;
  std::mutex mu_;
  Clock::time_point free_at_{};
};

/// The two ends of `pair` (P0's, P1's) with P0->P1 bytes over `p0_to_p1` and P1->P0 bytes
/// over `p1_to_p0`. Statistics are counted on the returned channels as on any channel.
std::pair<std::unique_ptr<Channel>, std::unique_ptr<Channel>> emulate_link(
    std::pair<std::unique_ptr<Channel>, std::unique_ptr<Channel>> pair, std::shared_ptr<EmulatedLink> p0_to_p1,
    std::shared_ptr<EmulatedLink> p1_to_p0);

}  // namespace polympc::mpc
