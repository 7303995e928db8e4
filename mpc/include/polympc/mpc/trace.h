// Measured spans of an executed run: what each party's backend computed, when it waited
// for the link, and each layer's wall time (docs/scheduler.md "Measured timeline"). The
// modelled timeline of the scheduler (scheduler/timeline.h) and this one export the same
// Chrome trace format, so a user opens both in Perfetto side by side.
#pragma once
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "polympc/mpc/backend.h"

namespace polympc::mpc {

class Channel;

/// One measured interval. Times in seconds since the recorder's creation.
struct Span {
  int party = 0;          ///< 0 = P0 (server), 1 = P1 (client)
  int lane = 0;           ///< a concurrent batch (InferenceOptions::workers), 0 otherwise
  std::string resource;   ///< "compute" (backend calls), "link wait" (blocked reads), "layers"
  std::string name;       ///< the backend method, or the layer / phase name
  std::string layer;      ///< the phase the span belongs to (Channel::phase())
  double start_s = 0, end_s = 0;
  uint64_t bytes = 0;     ///< link wait: bytes received in the call
};

/// Thread-safe collector of spans (one per run; shared by both parties and all workers).
class SpanRecorder {
 public:
  SpanRecorder() : origin_(std::chrono::steady_clock::now()) {}
  /// Seconds since construction.
  double now_s() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - origin_).count();
  }
  void add(Span s) {
    std::lock_guard<std::mutex> lk(mu_);
    spans_.push_back(std::move(s));
  }
  std::vector<Span> spans() const {
    std::lock_guard<std::mutex> lk(mu_);
    return spans_;
  }

 private:
  std::chrono::steady_clock::time_point origin_;
  mutable std::mutex mu_;
  std::vector<Span> spans_;
};

/// Wraps `inner` so that every call becomes a "compute" span named by the Backend method,
/// tagged with `channel`'s current phase (the layer). Results and counters are inner's.
std::unique_ptr<Backend> trace_backend(Backend& inner, SpanRecorder& rec, const Channel& channel,
                                       int party, int lane = 0);

}  // namespace polympc::mpc
