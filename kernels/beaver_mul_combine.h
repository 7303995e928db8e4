// Beaver multiplication, local combine step (Beaver, CRYPTO'91; docs/design.md §5, §7).
//
// After d = x - a and e = y - b were opened, party i holds shares a_i, b_i, c_i of the
// triple (a, b, c = a*b) and computes, elementwise on n words,
//   z_i = c_i + d*b_i + e*a_i + [i == 0] d*e   (mod 2^bits),
// so that z_0 + z_1 = x*y. Contract: mpc::Backend::beaver_mul_combine (backend.h).
//
// Core: beaver_mul_combine<Config>() — one flat loop over ceil(n / lanes) groups, PIPELINE
// II=1, `lanes` unrolled lanes of three 64-bit multipliers each. The extern "C" top in
// beaver_mul_combine.cpp runs the same lane arithmetic as load -> compute -> store
// DATAFLOW processes (internal:: below).
//
// Cycle model: cycles(n) = depth + ceil(n / lanes) * II with II = 1 and
// depth = m_axi read latency + multiplier latency + 2 adds + mask + write latency.
#pragma once
#include <stdint.h>

#include "polympc/hls/cycles.h"
#include "polympc/hls/pragma.h"
#include "polympc/hls/ring.h"
#include "polympc/hls/stream.h"

POLYMPC_KERNEL_BEGIN
namespace polympc {
namespace kernels {

/// Default configuration (hls4ml-style; derive or copy to change a field).
struct BeaverMulDefaultConfig {
  /// Elements per cycle: 8 x 64 bit = one 512-bit AXI beat.
  static const unsigned lanes = 8;
  /// Initiation interval of the group loop (cycles).
  static const unsigned ii = 1;
  /// Pipeline depth (cycles), see the header comment.
  static const unsigned depth = hls::kAxiReadLatency + hls::kMul64Latency +
                                3 * hls::kAdd64Latency + hls::kAxiWriteLatency;
  /// Largest n per launch (elements); bounds LOOP_TRIPCOUNT and the host's chunking.
  static const uint32_t max_batch = uint32_t(1) << 24;
};

/// One lane: c + d*b + e*a + [p0] d*e, masked with `mask` = ring_mask(bits).
inline uint64_t beaver_mul_lane(bool p0, uint64_t mask, uint64_t d, uint64_t e, uint64_t a,
                                uint64_t b, uint64_t c) {
  const uint64_t pub = p0 ? d * e : uint64_t(0);
  return (c + d * b + e * a + pub) & mask;
}

/// Modelled device cycles of one launch on n elements (see header comment).
template <class Config = BeaverMulDefaultConfig>
constexpr uint64_t beaver_mul_combine_cycles(uint64_t n) {
  return hls::pipeline_cycles(n, Config::lanes, Config::depth, Config::ii);
}

/// Null when the arguments are valid, else a static message (kernels report errors by value).
inline const char* beaver_mul_combine_arg_error(int party, int bits) {
  if (party != 0 && party != 1) return "party must be 0 or 1";
  if (!hls::valid_ring_bits(bits)) return "bits must be in [8, 64]";
  return nullptr;
}

/// Core (memory-mapped form). Shapes: d, e, a, b, c, z have n words; n <= Config::max_batch.
/// Inputs may carry garbage above `bits`; z is masked to `bits`.
template <class Config = BeaverMulDefaultConfig>
void beaver_mul_combine(int party, int bits, uint32_t n, const uint64_t* d, const uint64_t* e,
                        const uint64_t* a, const uint64_t* b, const uint64_t* c, uint64_t* z) {
  const bool p0 = party == 0;
  const uint64_t mask = hls::ring_mask(bits);
  const uint32_t groups = uint32_t(hls::ceil_div(n, Config::lanes));
beaver_mul_groups:
  for (uint32_t g = 0; g < groups; ++g) {
    POLYMPC_HLS(PIPELINE II=1)
    POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=2097152)
  beaver_mul_lanes:
    for (unsigned l = 0; l < Config::lanes; ++l) {
      POLYMPC_HLS(UNROLL)
      const uint32_t j = g * Config::lanes + l;
      if (j < n) z[j] = beaver_mul_lane(p0, mask, d[j], e[j], a[j], b[j], c[j]);
    }
  }
}

namespace internal {

/// DATAFLOW load: n words of each input into lane packets (missing lanes read as 0).
template <class Config, class S>
void beaver_mul_load(uint32_t n, const uint64_t* d, const uint64_t* e, const uint64_t* a,
                     const uint64_t* b, const uint64_t* c, S& sd, S& se, S& sa, S& sb,
                     S& sc) {
  const uint32_t groups = uint32_t(hls::ceil_div(n, Config::lanes));
beaver_mul_load_groups:
  for (uint32_t g = 0; g < groups; ++g) {
    POLYMPC_HLS(PIPELINE II=1)
    POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=2097152)
    hls::Packet<Config::lanes> pd, pe, pa, pb, pc;
  beaver_mul_load_lanes:
    for (unsigned l = 0; l < Config::lanes; ++l) {
      POLYMPC_HLS(UNROLL)
      const uint32_t j = g * Config::lanes + l;
      const bool in = j < n;
      pd.w[l] = in ? d[j] : 0;
      pe.w[l] = in ? e[j] : 0;
      pa.w[l] = in ? a[j] : 0;
      pb.w[l] = in ? b[j] : 0;
      pc.w[l] = in ? c[j] : 0;
    }
    sd.write(pd);
    se.write(pe);
    sa.write(pa);
    sb.write(pb);
    sc.write(pc);
  }
}

/// DATAFLOW compute: beaver_mul_lane on every lane of every packet.
template <class Config, class S>
void beaver_mul_compute(int party, int bits, uint32_t n, S& sd, S& se, S& sa, S& sb, S& sc,
                        S& sz) {
  const bool p0 = party == 0;
  const uint64_t mask = hls::ring_mask(bits);
  const uint32_t groups = uint32_t(hls::ceil_div(n, Config::lanes));
beaver_mul_compute_groups:
  for (uint32_t g = 0; g < groups; ++g) {
    POLYMPC_HLS(PIPELINE II=1)
    POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=2097152)
    const hls::Packet<Config::lanes> pd = sd.read(), pe = se.read(), pa = sa.read(),
                                     pb = sb.read(), pc = sc.read();
    hls::Packet<Config::lanes> pz;
  beaver_mul_compute_lanes:
    for (unsigned l = 0; l < Config::lanes; ++l) {
      POLYMPC_HLS(UNROLL)
      pz.w[l] = beaver_mul_lane(p0, mask, pd.w[l], pe.w[l], pa.w[l], pb.w[l], pc.w[l]);
    }
    sz.write(pz);
  }
}

/// DATAFLOW store: the valid lanes of each packet to z.
template <class Config, class S>
void beaver_mul_store(uint32_t n, S& sz, uint64_t* z) {
  const uint32_t groups = uint32_t(hls::ceil_div(n, Config::lanes));
beaver_mul_store_groups:
  for (uint32_t g = 0; g < groups; ++g) {
    POLYMPC_HLS(PIPELINE II=1)
    POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=2097152)
    const hls::Packet<Config::lanes> pz = sz.read();
  beaver_mul_store_lanes:
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
