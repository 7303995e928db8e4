// SimBackend: mpc::Backend on the kernel cores of kernels/ (see sim_backend.h).
#include "polympc/sim/sim_backend.h"

#include <algorithm>

#include "polympc/hls/launch.h"
#include "kernels/beaver_mul_combine.h"
#include "kernels/dcf_eval.h"
#include "kernels/gmw_and_level.h"
#include "kernels/matmul_combine.h"
#include "kernels/poly_eval.h"
#include "kernels/trunc.h"
#include "kernels/winograd_transform.h"
#include "polympc/mpc/dcf.h"
#include "polympc/mpc/errors.h"

namespace polympc::sim {
namespace {

namespace k = polympc::kernels;

using BeaverCfg = k::BeaverMulDefaultConfig;
using MatmulCfg = k::MatmulDefaultConfig;
using PolyCfg = k::PolyEvalDefaultConfig;
static_assert(int(mpc::PolyMode::Quadratic) == k::kPolyQuadratic &&
                  int(mpc::PolyMode::LinearChannel) == k::kPolyLinearChannel &&
                  int(mpc::PolyMode::LinearElement) == k::kPolyLinearElement,
              "mpc::PolyMode and the poly_eval kernel's modes differ");
using TruncCfg = k::TruncDefaultConfig;
using GmwCfg = k::GmwAndDefaultConfig;
using B2aCfg = k::B2aDefaultConfig;
using BitSliceCfg = k::BitSliceDefaultConfig;
using DcfCfg = k::DcfEvalDefaultConfig;
using WinogradCfg = k::WinogradDefaultConfig;
static_assert(int(mpc::WinogradMode::Input) == k::kWinogradInput &&
                  int(mpc::WinogradMode::Output) == k::kWinogradOutput,
              "mpc::WinogradMode and the winograd_transform kernel's modes differ");

/// Throws mpc::InvalidArgument when `err` (a kernel *_arg_error result) is set.
void check(const char* method, const char* err, const std::string& detail) {
  if (err != nullptr)
    throw mpc::InvalidArgument(std::string("sim backend: ") + method + ": " + err + " (" +
                               detail + ")");
}

std::string pb(int party, int bits) {
  return "party=" + std::to_string(party) + ", bits=" + std::to_string(bits);
}

}  // namespace

SimBackend::SimBackend(SimOptions options) : options_(options) {}

std::string SimBackend::name() const { return "sim"; }

size_t SimBackend::batch_limit(size_t kernel_bound) const {
  return options_.max_batch == 0 ? kernel_bound : std::min(options_.max_batch, kernel_bound);
}

void SimBackend::record(const char* kernel, uint64_t elements, uint64_t cycles) {
  std::lock_guard<std::mutex> lock(mutex_);
  mpc::KernelCounters& c = counters_[kernel];
  c.calls += 1;
  c.elements += elements;
  c.modelled_cycles += cycles;
}

std::map<std::string, mpc::KernelCounters> SimBackend::counters() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return counters_;
}

void SimBackend::beaver_mul_combine(int party, int bits, size_t n, const uint64_t* d,
                                    const uint64_t* e, const uint64_t* a, const uint64_t* b,
                                    const uint64_t* c, uint64_t* z) {
  check("beaver_mul_combine", k::beaver_mul_combine_arg_error(party, bits), pb(party, bits));
  uint64_t cycles = 0;
  hls::for_each_launch(n, batch_limit(BeaverCfg::max_batch), [&](size_t o, size_t len) {
    k::beaver_mul_combine<BeaverCfg>(party, bits, uint32_t(len), d + o, e + o, a + o, b + o,
                                     c + o, z + o);
    cycles += k::beaver_mul_combine_cycles<BeaverCfg>(len);
  });
  record("beaver_mul_combine", n, cycles);
}

void SimBackend::matmul_combine(int party, int bits, size_t m, size_t kk, size_t n,
                                const uint64_t* e, const uint64_t* f, const uint64_t* a,
                                const uint64_t* b, const uint64_t* c, uint64_t* z) {
  check("matmul_combine", k::matmul_combine_arg_error(party, bits), pb(party, bits));
  const size_t kMaxDim = size_t(1) << 31;
  if (m >= kMaxDim || kk >= kMaxDim || n >= kMaxDim)
    check("matmul_combine", "matrix dimensions must be below 2^31",
          "m=" + std::to_string(m) + ", k=" + std::to_string(kk) + ", n=" + std::to_string(n));
  uint64_t cycles = 0;
  if (m > 0 && n > 0) {
    k::matmul_combine<MatmulCfg>(party, bits, uint32_t(m), uint32_t(kk), uint32_t(n), e, f, a, b,
                                 c, z);
    cycles = k::matmul_combine_cycles<MatmulCfg>(m, kk, n);
  }
  record("matmul_combine", uint64_t(m) * kk * n, cycles);
}

void SimBackend::winograd_transform(int bits, mpc::WinogradMode mode, const mpc::WinogradShape& s,
                                    const uint64_t* in, uint64_t* out) {
  const int kmode = static_cast<int>(mode);
  check("winograd_transform", k::winograd_transform_arg_error(kmode, bits, s.m),
        "bits=" + std::to_string(bits) + ", mode=" + std::to_string(kmode) + ", m=" + std::to_string(s.m));
  check("winograd_transform", mpc::winograd_shape_error(s), mpc::winograd_shape_str(s));
  const uint64_t tiles = uint64_t(s.batch) * s.channels * s.tiles();
  uint64_t cycles = 0;
  if (tiles > 0) {
    const k::WinogradDims d = {uint32_t(s.batch), uint32_t(s.channels), uint32_t(s.h),  uint32_t(s.w),
                               uint32_t(s.ho),    uint32_t(s.wo),       uint32_t(s.pad_top), uint32_t(s.pad_left)};
    k::winograd_transform<WinogradCfg>(kmode, bits, s.m, d, in, out);
    cycles = k::winograd_transform_cycles<WinogradCfg>(kmode, uint64_t(s.m), uint64_t(s.batch) * s.channels, s.ho,
                                                       s.wo);
  }
  record("winograd_transform", tiles, cycles);
}

void SimBackend::poly_eval(int party, int bits, const mpc::PolyShape& s, mpc::PolyMode mode,
                           const mpc::PolyEvalArgs& args, uint64_t* z) {
  const int kmode = static_cast<int>(mode);
  check("poly_eval", k::poly_eval_arg_error<PolyCfg>(party, bits, kmode, 0, 0, 0),
        pb(party, bits) + ", mode=" + std::to_string(kmode));
  const size_t n = s.size();
  uint64_t cycles = 0;
  // One launch on the channel range [c0, c0 + cn) of outer rows [o0, o0 + on) when
  // inner_len == s.inner, or on inner elements [i0, i0 + inner_len) of one (o0, c0).
  auto launch = [&](size_t o0, size_t on, size_t c0, size_t cn, size_t i0, size_t inner_len) {
    const size_t off = (o0 * s.channels + c0) * s.inner + i0;
    const mpc::PolyEvalArgs a = mpc::poly_eval_offset(args, mode, off, c0);
    k::poly_eval<PolyCfg>(party, bits, uint32_t(on), uint32_t(cn), uint32_t(inner_len), kmode,
                          a.d, a.alpha, a.a2, a.m2a, a.m2a2, a.m1a, a.e1, a.m1, a.e2, a.m2, a.add,
                          z + off);
    cycles += k::poly_eval_cycles<PolyCfg>(cn, uint64_t(on) * cn * inner_len);
  };
  if (n > 0) {
    const size_t max_batch = batch_limit(PolyCfg::max_batch);
    const size_t max_ch = options_.max_channels == 0
                              ? size_t(PolyCfg::max_channels)
                              : std::min(options_.max_channels, size_t(PolyCfg::max_channels));
    k::poly_eval_launches(s.outer, s.channels, s.inner, max_batch, max_ch, launch);
  }
  record("poly_eval", n, cycles);
}

void SimBackend::trunc_exact_combine(int party, int bits, int shift, size_t n,
                                     const uint64_t* x, const uint64_t* carry,
                                     const uint64_t* wrap, uint64_t* z) {
  check("trunc_exact_combine", k::trunc_exact_arg_error(party, bits, shift),
        pb(party, bits) + ", shift=" + std::to_string(shift));
  uint64_t cycles = 0;
  hls::for_each_launch(n, batch_limit(TruncCfg::max_batch), [&](size_t o, size_t len) {
    k::trunc_exact_combine<TruncCfg>(party, bits, shift, uint32_t(len), x + o, carry + o,
                                     wrap + o, z + o);
    cycles += k::trunc_cycles<TruncCfg>(len);
  });
  record("trunc_exact_combine", n, cycles);
}

void SimBackend::trunc_prob_combine(int party, int bits, int shift, int offset_bits, size_t n,
                                    const uint64_t* c, const uint64_t* r_shr, uint64_t* z) {
  check("trunc_prob_combine", k::trunc_prob_arg_error(party, bits, shift, offset_bits),
        pb(party, bits) + ", shift=" + std::to_string(shift) +
            ", offset_bits=" + std::to_string(offset_bits));
  uint64_t cycles = 0;
  hls::for_each_launch(n, batch_limit(TruncCfg::max_batch), [&](size_t o, size_t len) {
    k::trunc_prob_combine<TruncCfg>(party, bits, shift, offset_bits, uint32_t(len), c + o,
                                    r_shr + o, z + o);
    cycles += k::trunc_cycles<TruncCfg>(len);
  });
  record("trunc_prob_combine", n, cycles);
}

void SimBackend::gmw_and_level(int party, size_t words, const uint64_t* d, const uint64_t* e,
                               const uint64_t* a, const uint64_t* b, const uint64_t* c,
                               uint64_t* z) {
  check("gmw_and_level", k::gmw_and_level_arg_error(party), "party=" + std::to_string(party));
  uint64_t cycles = 0;
  hls::for_each_launch(words, batch_limit(GmwCfg::max_batch), [&](size_t o, size_t len) {
    k::gmw_and_level<GmwCfg>(party, uint32_t(len), d + o, e + o, a + o, b + o, c + o, z + o);
    cycles += k::gmw_and_level_cycles<GmwCfg>(len);
  });
  record("gmw_and_level", words, cycles);
}

void SimBackend::b2a_combine(int party, int bits, size_t n, const uint64_t* e_packed,
                             const uint64_t* r, uint64_t* z) {
  check("b2a_combine", k::b2a_combine_arg_error(party, bits), pb(party, bits));
  // Launches start on packed-word boundaries.
  const size_t limit = size_t(hls::block64_limit(batch_limit(B2aCfg::max_batch)));
  uint64_t cycles = 0;
  hls::for_each_launch(n, limit, [&](size_t o, size_t len) {
    k::b2a_combine<B2aCfg>(party, bits, uint32_t(len), e_packed + o / 64, r + o, z + o);
    cycles += k::b2a_combine_cycles<B2aCfg>(len);
  });
  record("b2a_combine", n, cycles);
}

void SimBackend::bit_slice(int bits, size_t n, const uint64_t* x, uint64_t* planes) {
  check("bit_slice", k::bit_slice_arg_error(bits), "bits=" + std::to_string(bits));
  const size_t words = (n + 63) / 64;
  if (words >= (size_t(1) << 31))
    check("bit_slice", "n too large", "n=" + std::to_string(n));
  // Launches start on block boundaries and write into the full-width plane rows.
  const size_t limit = size_t(hls::block64_limit(batch_limit(BitSliceCfg::max_batch)));
  uint64_t cycles = 0;
  hls::for_each_launch(n, limit, [&](size_t o, size_t len) {
    k::bit_slice<BitSliceCfg>(bits, uint32_t(len), x + o, planes + o / 64, uint32_t(words));
    cycles += k::bit_slice_cycles<BitSliceCfg>(bits, len);
  });
  record("bit_slice", n, cycles);
}

void SimBackend::dcf_eval(int party, int depth, size_t n, const uint64_t* keys, const uint64_t* x,
                          uint64_t* out) {
  check("dcf_eval", k::dcf_eval_arg_error(party, depth),
        "party=" + std::to_string(party) + ", depth=" + std::to_string(depth));
  // Kernels do not throw: the host checks every key header before the launch.
  mpc::dcf_check_keys(party, depth, n, keys, "sim backend: dcf_eval");
  const size_t kw = k::dcf_key_words(depth);
  // Launches start on packed-word boundaries.
  const size_t limit = size_t(hls::block64_limit(batch_limit(DcfCfg::max_batch)));
  uint64_t cycles = 0;
  hls::for_each_launch(n, limit, [&](size_t o, size_t len) {
    k::dcf_eval<DcfCfg>(party, depth, uint32_t(len), keys + o * kw, x + o, out + o / 64);
    cycles += k::dcf_eval_cycles<DcfCfg>(len, depth);
  });
  record("dcf_eval", n, cycles);
}

}  // namespace polympc::sim
