// Optimized CPU backend (docs/design.md §6): Eigen for matrix products, OpenMP
// partitioning for large batches, word-parallel bit tricks for bit slicing. Results are
// bit-identical to sim::SimBackend (tests/test_backends.cpp checks every method).
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "polympc/mpc/backend.h"

namespace polympc::cpu {

/// mpc::Backend for users without an FPGA (CpuBackend in docs/design.md §6).
///
/// Threads: a call is split over up to `threads` threads of the calling thread's OpenMP
/// team (kept alive between calls; the calling thread takes one part) once it holds at least kMinElementsPerThread elements per part (bit_slice and
/// b2a_combine split on 64-element boundaries; matmul_combine splits output column blocks,
/// or rows when n < 64 per part, once m·k·n >= kMinMacsPerThread per part). Smaller calls
/// run on the calling thread only.
///
/// Errors: the same mpc::InvalidArgument cases as sim::SimBackend (party not 0/1, bits
/// outside [8, 64], shift outside [0, bits-1], offset_bits outside [shift, bits-1],
/// bit_slice bits outside [0, 64]).
///
/// counters(): per Backend method name, `calls` and `elements` exactly as SimBackend
/// counts them (m·k·n for matmul_combine, words for gmw_and_level); modelled_cycles = 0.
/// Thread-safe: calls may come from several threads.
class CpuBackend final : public mpc::Backend {
 public:
  /// Elements per thread below which a call is not split further.
  static constexpr size_t kMinElementsPerThread = size_t(1) << 15;
  /// Multiply-accumulates per thread below which a matmul is not split further.
  static constexpr size_t kMinMacsPerThread = size_t(1) << 21;
  /// DCF keys per thread below which dcf_eval is not split further.
  static constexpr size_t kMinKeysPerThread = size_t(1) << 11;

  /// threads: worker threads per call; 0 = std::thread::hardware_concurrency() (at least 1).
  explicit CpuBackend(int threads = 0);

  /// "cpu".
  std::string name() const override;
  /// Threads a call may use (>= 1).
  int threads() const { return threads_; }

  void beaver_mul_combine(int party, int bits, size_t n, const uint64_t* d, const uint64_t* e,
                          const uint64_t* a, const uint64_t* b, const uint64_t* c,
                          uint64_t* z) override;
  void matmul_combine(int party, int bits, size_t m, size_t k, size_t n, const uint64_t* e,
                      const uint64_t* f, const uint64_t* a, const uint64_t* b, const uint64_t* c,
                      uint64_t* z) override;
  void poly_eval(int party, int bits, const mpc::PolyShape& s, mpc::PolyMode mode,
                 const mpc::PolyEvalArgs& args, uint64_t* z) override;
  void trunc_exact_combine(int party, int bits, int shift, size_t n, const uint64_t* x,
                           const uint64_t* carry, const uint64_t* wrap, uint64_t* z) override;
  void trunc_prob_combine(int party, int bits, int shift, int offset_bits, size_t n,
                          const uint64_t* c, const uint64_t* r_shr, uint64_t* z) override;
  void gmw_and_level(int party, size_t words, const uint64_t* d, const uint64_t* e,
                     const uint64_t* a, const uint64_t* b, const uint64_t* c,
                     uint64_t* z) override;
  void b2a_combine(int party, int bits, size_t n, const uint64_t* e_packed, const uint64_t* r,
                   uint64_t* z) override;
  void bit_slice(int bits, size_t n, const uint64_t* x, uint64_t* planes) override;
  /// Host loop over the tiles with the kernel's per-tile transform
  /// (kernels::winograd_tile, shifts and adds by the constants), (image, channel)
  /// planes split over the threads; counts the tiles (batch·channels·T).
  void winograd_transform(int bits, mpc::WinogradMode mode, const mpc::WinogradShape& s,
                          const uint64_t* in, uint64_t* out) override;
  /// mpc::dcf_eval_host (OpenSSL EVP AES-128-ECB, AES-NI, 128 blocks per call) split over
  /// the threads in runs of whole output words.
  void dcf_eval(int party, int depth, size_t n, const uint64_t* keys, const uint64_t* x,
                uint64_t* out) override;

  std::map<std::string, mpc::KernelCounters> counters() const override;

 private:
  void record(const char* kernel, uint64_t elements);

  int threads_;
  mutable std::mutex mutex_;
  std::map<std::string, mpc::KernelCounters> counters_;
};

}  // namespace polympc::cpu
