// Stream stand-in for C++14 kernels (hlslib-like, docs/design.md §7).
//
// polympc::hls::Stream<T, Depth> is ::hls::stream<T, Depth> under Vitis HLS
// (__SYNTHESIS__), where Depth is the FIFO depth between DATAFLOW processes.
//
// In C simulation (host compilers) the processes of a DATAFLOW region run one after
// the other, so the producer writes its whole output before the consumer starts: like
// Xilinx's own C-simulation model of hls::stream, the stand-in is therefore an
// unbounded queue (Depth is recorded, not enforced). Reading an empty stream is a
// design error that would deadlock the hardware; the simulation prints it and aborts.
// This file is simulation machinery; kernel code itself allocates nothing.
#pragma once

#ifdef __SYNTHESIS__
#include <hls_stream.h>

namespace polympc {
namespace hls {
template <typename T, unsigned Depth = 2>
using Stream = ::hls::stream<T, Depth>;
}  // namespace hls
}  // namespace polympc

#else
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <deque>

namespace polympc {
namespace hls {

/// C-simulation model of a FIFO between DATAFLOW processes. Not copyable.
template <typename T, unsigned Depth = 2>
class Stream {
 public:
  static const unsigned kDepth = Depth;  ///< hardware FIFO depth (elements)

  Stream() = default;
  explicit Stream(const char* name) : name_(name) {}
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  /// Appends v (never blocks in simulation).
  void write(const T& v) {
    queue_.push_back(v);
    if (queue_.size() > high_water_) high_water_ = queue_.size();
  }
  /// Removes and returns the oldest element; aborts when empty (hardware deadlock).
  T read() {
    if (queue_.empty()) {
      std::fprintf(stderr, "polympc::hls::Stream '%s': read from an empty stream "
                           "(the hardware would deadlock)\n", name_);
      std::abort();
    }
    T v = queue_.front();
    queue_.pop_front();
    return v;
  }
  bool empty() const { return queue_.empty(); }
  bool full() const { return false; }
  /// Elements currently queued.
  std::size_t size() const { return queue_.size(); }
  /// Largest occupancy seen so far (elements).
  std::size_t high_water() const { return high_water_; }

 private:
  const char* name_ = "unnamed";
  std::deque<T> queue_;
  std::size_t high_water_ = 0;
};

}  // namespace hls
}  // namespace polympc
#endif
