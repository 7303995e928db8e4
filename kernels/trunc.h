// Truncation of shared fixed-point values, final local step (docs/design.md §5 "truncation").
//
// Exact (faithful) truncation by `shift` bits: with u_i = x_i + [p0] 2^(bits-1) and
// arithmetic shares carry_i, wrap_i of the carry into bit `shift` and of the carry out of
// bit bits-1 of u_0 + u_1,
//   z_i = (u_i >> shift) + carry_i - (wrap_i << (bits - shift)) - [p0] 2^(bits-1-shift)
// so that z_0 + z_1 = floor(x / 2^shift) exactly (x signed).
// Probabilistic truncation (SecureML, S&P'17, with a dealer pair (r, r >> shift)), after
// c = x + 2^offset_bits + r was opened:
//   z_i = [p0] ((c >> shift) - 2^(offset_bits - shift)) - r_shr_i
// off by at most 1 ulp; wrong when x + 2^offset_bits + r wraps mod 2^bits.
// Contract: mpc::Backend::trunc_exact_combine / trunc_prob_combine (backend.h).
// All arithmetic mod 2^bits; shifts go through hls::shl/shr, so wrap << 64 (bits = 64,
// shift = 0) is the ring value 0, never undefined behaviour.
//
// One kernel, two modes (TruncMode): per lane only shifts, adds and masks, no multiplier.
// Cycle model: cycles(n) = depth + ceil(n / lanes)·II, II = 1, depth = m_axi read latency
// + 4 add/shift stages + write latency.
#pragma once
#include <stdint.h>

#include "polympc/hls/cycles.h"
#include "polympc/hls/pragma.h"
#include "polympc/hls/ring.h"
#include "polympc/hls/stream.h"

POLYMPC_KERNEL_BEGIN
namespace polympc {
namespace kernels {

/// Which truncation the kernel runs (the `mode` argument of trunc_top).
enum TruncMode { kTruncExact = 0, kTruncProb = 1 };

/// Default configuration (hls4ml-style).
struct TruncDefaultConfig {
  /// Elements per cycle.
  static const unsigned lanes = 8;
  /// Initiation interval (cycles).
  static const unsigned ii = 1;
  /// Pipeline depth (cycles), see the header comment.
  static const unsigned depth =
      hls::kAxiReadLatency + 4 * hls::kAdd64Latency + hls::kAxiWriteLatency;
  /// Largest n per launch (elements).
  static const uint32_t max_batch = uint32_t(1) << 24;
};

/// Launch constants of one truncation, computed once from (mode, party, bits, shift,
/// offset_bits); every shift amount is in range by construction.
struct TruncParams {
  bool exact;         ///< kTruncExact
  bool p0;            ///< party == 0
  int shift;          ///< shift, in [0, bits-1]
  int wrap_shift;     ///< bits - shift, in [1, 64] (64 gives 0)
  uint64_t mask;      ///< ring_mask(bits)
  uint64_t half;      ///< [p0] 2^(bits-1)      (exact)
  uint64_t pub;       ///< [p0] 2^(bits-1-shift) (exact) or 2^(offset_bits-shift) (prob)
};

inline TruncParams trunc_params(int mode, int party, int bits, int shift, int offset_bits) {
  TruncParams p;
  p.exact = mode == kTruncExact;
  p.p0 = party == 0;
  p.shift = shift;
  p.wrap_shift = bits - shift;
  p.mask = hls::ring_mask(bits);
  p.half = p.p0 ? hls::pow2(bits - 1) : uint64_t(0);
  if (p.exact)
    p.pub = p.p0 ? hls::pow2(bits - 1 - shift) : uint64_t(0);
  else
    p.pub = hls::pow2(offset_bits - shift);
  return p;
}

/// Exact truncation, one lane.
inline uint64_t trunc_exact_lane(const TruncParams& p, uint64_t x, uint64_t carry,
                                 uint64_t wrap) {
  const uint64_t u = (x + p.half) & p.mask;
  return (hls::shr(u, p.shift) + carry - hls::shl(wrap, p.wrap_shift) - p.pub) & p.mask;
}

/// Probabilistic truncation, one lane.
inline uint64_t trunc_prob_lane(const TruncParams& p, uint64_t c, uint64_t r_shr) {
  const uint64_t open = p.p0 ? hls::shr(c & p.mask, p.shift) - p.pub : uint64_t(0);
  return (open - r_shr) & p.mask;
}

/// Either mode: in0 = x | c, in1 = carry | r_shr, in2 = wrap (exact only).
inline uint64_t trunc_lane(const TruncParams& p, uint64_t in0, uint64_t in1, uint64_t in2) {
  return p.exact ? trunc_exact_lane(p, in0, in1, in2) : trunc_prob_lane(p, in0, in1);
}

/// Modelled device cycles of one launch on n elements (either mode).
template <class Config = TruncDefaultConfig>
constexpr uint64_t trunc_cycles(uint64_t n) {
  return hls::pipeline_cycles(n, Config::lanes, Config::depth, Config::ii);
}

/// Null when the exact-mode arguments are valid, else a static message.
inline const char* trunc_exact_arg_error(int party, int bits, int shift) {
  if (party != 0 && party != 1) return "party must be 0 or 1";
  if (!hls::valid_ring_bits(bits)) return "bits must be in [8, 64]";
  if (shift < 0 || shift >= bits) return "shift must be in [0, bits-1]";
  return nullptr;
}

/// Null when the probabilistic-mode arguments are valid, else a static message.
inline const char* trunc_prob_arg_error(int party, int bits, int shift, int offset_bits) {
  if (const char* err = trunc_exact_arg_error(party, bits, shift)) return err;
  if (offset_bits < shift || offset_bits >= bits)
    return "offset_bits must be in [shift, bits-1]";
  return nullptr;
}

/// Core (memory-mapped form), either mode. Shapes: in0, in1, in2, z have n words;
/// in2 is not read in kTruncProb mode (may be null). Preconditions: trunc_*_arg_error().
template <class Config = TruncDefaultConfig>
void trunc_combine(int mode, int party, int bits, int shift, int offset_bits, uint32_t n,
                   const uint64_t* in0, const uint64_t* in1, const uint64_t* in2, uint64_t* z) {
  const TruncParams p = trunc_params(mode, party, bits, shift, offset_bits);
  const uint32_t groups = uint32_t(hls::ceil_div(n, Config::lanes));
trunc_groups:
  for (uint32_t g = 0; g < groups; ++g) {
    POLYMPC_HLS(PIPELINE II=1)
    POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=2097152)
  trunc_lanes:
    for (unsigned l = 0; l < Config::lanes; ++l) {
      POLYMPC_HLS(UNROLL)
      const uint32_t j = g * Config::lanes + l;
      if (j < n) z[j] = trunc_lane(p, in0[j], in1[j], p.exact ? in2[j] : uint64_t(0));
    }
  }
}

/// Exact truncation core: x, carry, wrap, z have n words (see header comment).
template <class Config = TruncDefaultConfig>
void trunc_exact_combine(int party, int bits, int shift, uint32_t n, const uint64_t* x,
                         const uint64_t* carry, const uint64_t* wrap, uint64_t* z) {
  trunc_combine<Config>(kTruncExact, party, bits, shift, 0, n, x, carry, wrap, z);
}

/// Probabilistic truncation core: c, r_shr, z have n words (see header comment).
template <class Config = TruncDefaultConfig>
void trunc_prob_combine(int party, int bits, int shift, int offset_bits, uint32_t n,
                        const uint64_t* c, const uint64_t* r_shr, uint64_t* z) {
  trunc_combine<Config>(kTruncProb, party, bits, shift, offset_bits, n, c, r_shr, nullptr, z);
}

namespace internal {

/// DATAFLOW load: packets of in0, in1 and, in exact mode, in2 (else zeros, not read).
template <class Config, class S>
void trunc_load(int mode, uint32_t n, const uint64_t* in0, const uint64_t* in1,
                const uint64_t* in2, S& s0, S& s1, S& s2) {
  const bool exact = mode == kTruncExact;
  const uint32_t groups = uint32_t(hls::ceil_div(n, Config::lanes));
trunc_load_groups:
  for (uint32_t g = 0; g < groups; ++g) {
    POLYMPC_HLS(PIPELINE II=1)
    POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=2097152)
    hls::Packet<Config::lanes> p0, p1, p2;
  trunc_load_lanes:
    for (unsigned l = 0; l < Config::lanes; ++l) {
      POLYMPC_HLS(UNROLL)
      const uint32_t j = g * Config::lanes + l;
      const bool in = j < n;
      p0.w[l] = in ? in0[j] : uint64_t(0);
      p1.w[l] = in ? in1[j] : uint64_t(0);
      p2.w[l] = (in && exact) ? in2[j] : uint64_t(0);
    }
    s0.write(p0);
    s1.write(p1);
    s2.write(p2);
  }
}

/// DATAFLOW compute: trunc_lane on every lane.
template <class Config, class S>
void trunc_compute(int mode, int party, int bits, int shift, int offset_bits, uint32_t n,
                   S& s0, S& s1, S& s2, S& sz) {
  const TruncParams p = trunc_params(mode, party, bits, shift, offset_bits);
  const uint32_t groups = uint32_t(hls::ceil_div(n, Config::lanes));
trunc_compute_groups:
  for (uint32_t g = 0; g < groups; ++g) {
    POLYMPC_HLS(PIPELINE II=1)
    POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=2097152)
    const hls::Packet<Config::lanes> p0 = s0.read(), p1 = s1.read(), p2 = s2.read();
    hls::Packet<Config::lanes> pz;
  trunc_compute_lanes:
    for (unsigned l = 0; l < Config::lanes; ++l) {
      POLYMPC_HLS(UNROLL)
      pz.w[l] = trunc_lane(p, p0.w[l], p1.w[l], p2.w[l]);
    }
    sz.write(pz);
  }
}

/// DATAFLOW store: valid lanes of each packet to z.
template <class Config, class S>
void trunc_store(uint32_t n, S& sz, uint64_t* z) {
  const uint32_t groups = uint32_t(hls::ceil_div(n, Config::lanes));
trunc_store_groups:
  for (uint32_t g = 0; g < groups; ++g) {
    POLYMPC_HLS(PIPELINE II=1)
    POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=2097152)
    const hls::Packet<Config::lanes> pz = sz.read();
  trunc_store_lanes:
    for (unsigned l = 0; l < Config::lanes; ++l) {
      POLYMPC_HLS(UNROLL)
      const uint32_t j = g * Config::lanes + l;
      if (j < n) z[j] = pz.w[l];
    }
  }
}

}  // namespace internal
}  // namespace kernels
}  // namespace polympc
POLYMPC_KERNEL_END
