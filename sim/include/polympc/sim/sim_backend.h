// Software simulation backend (docs/design.md §6): runs the kernels/ C++ that would be
// synthesized, on the CPU, behind mpc::Backend, and reports modelled device cycles.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "polympc/mpc/backend.h"

namespace polympc::sim {

/// Limits of the simulated device. The defaults are the kernels' own Config bounds
/// (max_batch, max_channels); smaller values model a smaller device buffer and make
/// the backend split calls into more launches (results are unchanged).
struct SimOptions {
  /// Upper bound on elements (words for gmw_and_level) per kernel launch; 0 = kernel bound.
  /// Rounded down to a multiple of 64 (at least 64) for b2a_combine and bit_slice.
  size_t max_batch = 0;
  /// Upper bound on channels per poly_eval launch; 0 = kernel bound.
  size_t max_channels = 0;
};

/// mpc::Backend on the kernel cores of kernels/ (SimBackend in docs/design.md §6).
///
/// Every method validates its arguments and throws mpc::InvalidArgument naming the method
/// and the bad value (party not 0/1, bits outside [8, 64], shift outside [0, bits-1],
/// offset_bits outside [shift, bits-1], bit_slice bits outside [0, 64], a matmul
/// dimension >= 2^31, a DCF depth outside [1, 63]); dcf_eval checks every key header on
/// the host before the launch and throws mpc::MaterialError naming the first bad key.
/// A call larger than a kernel's static bound (Config::max_batch,
/// PolyEvalDefaultConfig::max_channels) is split into several launches.
///
/// counters(), per Backend method name:
///   calls           Backend calls (not launches);
///   elements        elements processed: n for elementwise methods and dcf_eval (keys), words for
///                   gmw_and_level, n input words for bit_slice, m·k·n multiply-
///                   accumulates for matmul_combine;
///   modelled_cycles sum over launches of the kernel header's cycle model (each launch
///                   pays the pipeline depth once); 0-element calls launch nothing.
/// Thread-safe: calls may come from several threads; counters are locked.
class SimBackend final : public mpc::Backend {
 public:
  explicit SimBackend(SimOptions options = SimOptions());

  /// "sim".
  std::string name() const override;

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
  /// Runs kernels::winograd_transform (one launch per call; the tile gather and crop in
  /// the kernel); counts the tiles transformed (batch·channels·T), models
  /// winograd_transform_cycles.
  void winograd_transform(int bits, mpc::WinogradMode mode, const mpc::WinogradShape& s,
                          const uint64_t* in, uint64_t* out) override;
  /// Runs kernels::dcf_eval (AES-128 cores in C++); counts n keys, models
  /// dcf_eval_cycles (DcfEvalDefaultConfig::aes_cores AES blocks per cycle).
  void dcf_eval(int party, int depth, size_t n, const uint64_t* keys, const uint64_t* x,
                uint64_t* out) override;

  std::map<std::string, mpc::KernelCounters> counters() const override;

  /// The options given at construction (0 = kernel bound).
  const SimOptions& options() const { return options_; }

 private:
  /// Elements per launch for a kernel whose static bound is `kernel_bound`.
  size_t batch_limit(size_t kernel_bound) const;
  void record(const char* kernel, uint64_t elements, uint64_t cycles);

  SimOptions options_;
  mutable std::mutex mutex_;
  std::map<std::string, mpc::KernelCounters> counters_;
};

}  // namespace polympc::sim
