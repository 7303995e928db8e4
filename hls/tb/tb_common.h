// Shared helpers of the kernel test benches (hls/tb/tb_*.cpp). Each test bench calls one
// extern "C" top on fixed-seed random data, compares every output word with a golden model
// written straight from the formula in mpc/include/polympc/mpc/backend.h (not from the
// kernel's own helpers), checks that no word outside the output range was written, and
// returns non-zero on any mismatch, so that Vitis HLS csim_design (and cosim_design)
// fail. The same files run in CTest as hls_tb_<top>, compiled with the host compiler.
// C++14; buffer sizes stay within the depth= of the INTERFACE pragmas (cosim).
#pragma once
#include <stdint.h>

#include <cstdio>
#include <vector>

#include "polympc/hls/kernel_tops.h"

namespace tb {

/// splitmix64: a fixed-seed word generator (the same words on every compiler).
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t next() {
    uint64_t z = (s_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  std::vector<uint64_t> words(size_t n) {
    std::vector<uint64_t> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = next();
    return v;
  }

 private:
  uint64_t s_;
};

/// 2^bits - 1 (all ones for 64).
inline uint64_t mask(int bits) { return bits >= 64 ? ~0ull : (1ull << bits) - 1; }

/// Poison written to output buffers before a launch; words the kernel must not touch
/// still hold it afterwards.
const uint64_t kPoison = 0xA5A5A5A5DEADBEEFull;

/// Counts and reports mismatches; main() returns errors() != 0.
class Checker {
 public:
  explicit Checker(const char* kernel) : kernel_(kernel) {}
  void expect(const char* what, size_t i, uint64_t got, uint64_t want) {
    ++checked_;
    if (got == want) return;
    if (errors_ < 10)
      std::printf("%s: %s[%zu] = 0x%016llx, expected 0x%016llx\n", kernel_, what, i,
                  static_cast<unsigned long long>(got), static_cast<unsigned long long>(want));
    ++errors_;
  }
  int finish() const {
    std::printf("%s: %s (%zu words checked, %zu mismatches)\n", kernel_,
                errors_ == 0 ? "PASS" : "FAIL", checked_, errors_);
    return errors_ == 0 ? 0 : 1;
  }

 private:
  const char* kernel_;
  size_t checked_ = 0;
  size_t errors_ = 0;
};

}  // namespace tb
