// Compile-only stand-in for Vitis HLS's <hls_stream.h>, used by the synthesizability guard
// (hls/scripts/check_kernels.cmake) to compile the kernel tops the way Vitis HLS sees them
// (__SYNTHESIS__ defined) on a machine without Vitis. It is never run: a bounded FIFO of
// DEPTH elements in a plain array, no heap, no STL, no virtual functions, like the real one.
#pragma once

namespace hls {

template <typename T, int DEPTH = 2>
class stream {
 public:
  stream() : head_(0), count_(0) {}
  explicit stream(const char*) : head_(0), count_(0) {}
  stream(const stream&) = delete;
  stream& operator=(const stream&) = delete;

  void write(const T& v) {
    buf_[(head_ + count_) % kSize] = v;
    ++count_;
  }
  T read() {
    T v = buf_[head_];
    head_ = (head_ + 1) % kSize;
    --count_;
    return v;
  }
  bool empty() const { return count_ == 0; }
  bool full() const { return count_ == kSize; }

 private:
  static const int kSize = DEPTH > 0 ? DEPTH : 1;
  T buf_[kSize];
  int head_;
  int count_;
};

}  // namespace hls
