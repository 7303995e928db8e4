// Beaver matrix-triple combine for W·X (Mohassel-Zhang, SecureML S&P'17 matrix triples;
// docs/design.md §5 "matmul / conv", §7).
//
// With E = W - A opened once per model and F = X - B opened per inference, party i holds
// A_i (m×k), B_i (k×n), C_i = (A·B)_i (m×n) and computes
//   Z_i = C_i + E·B_i + A_i·F + [i == 0] E·F   (mod 2^bits),
// so that Z_0 + Z_1 = W·X. All matrices row-major. Contract: mpc::Backend::matmul_combine.
//
// Structure (output-stationary, row by row): for each output row i and each column tile
// of at most tile_n columns, an accumulator row (BRAM, `lanes` banks) is initialised with
// C, then for every kk < k the pipelined MAC loop adds
//   E[i,kk]·(B[kk,j] + [p0] F[kk,j]) + A[i,kk]·F[kk,j]
// to `lanes` columns per cycle (two 64-bit multipliers per lane), and the row is masked and
// written. Everything is accumulated mod 2^64 and masked once at the end (exact mod 2^bits).
//
// Cycle model: cycles(m, k, n) = depth + m·(k + 2)·ceil(n / lanes)·II, II = 1: k MAC passes
// plus one init (C) and one write-back pass per output row; depth = m_axi read latency +
// multiplier + 2 adds + write latency. Assumes tiles wide enough (n >= lanes·8) that the
// accumulator read-modify-write does not limit II.
#pragma once
#include <stdint.h>

#include "polympc/hls/cycles.h"
#include "polympc/hls/pragma.h"
#include "polympc/hls/ring.h"
#include "polympc/hls/stream.h"

POLYMPC_KERNEL_BEGIN
namespace polympc {
namespace kernels {

/// Default configuration (hls4ml-style).
struct MatmulDefaultConfig {
  /// Output columns updated per cycle (two 64-bit multipliers each).
  static const unsigned lanes = 16;
  /// Accumulator row width (columns per tile); a multiple of lanes.
  static const unsigned tile_n = 1024;
  /// Initiation interval of the MAC loop (cycles).
  static const unsigned ii = 1;
  /// Pipeline depth (cycles), see the header comment.
  static const unsigned depth = hls::kAxiReadLatency + hls::kMul64Latency +
                                2 * hls::kAdd64Latency + hls::kAxiWriteLatency;
};

/// One MAC lane: acc + ek·(bv + [p0] fv) + ak·fv  (mod 2^64).
inline uint64_t matmul_mac(bool p0, uint64_t acc, uint64_t ek, uint64_t ak, uint64_t bv,
                           uint64_t fv) {
  return acc + ek * (bv + (p0 ? fv : uint64_t(0))) + ak * fv;
}

/// Modelled device cycles of one launch (see header comment).
template <class Config = MatmulDefaultConfig>
constexpr uint64_t matmul_combine_cycles(uint64_t m, uint64_t k, uint64_t n) {
  return Config::depth + m * (k + 2) * hls::ceil_div(n, Config::lanes) * Config::ii;
}

/// Null when the arguments are valid, else a static message (kernels report errors by value).
inline const char* matmul_combine_arg_error(int party, int bits) {
  if (party != 0 && party != 1) return "party must be 0 or 1";
  if (!hls::valid_ring_bits(bits)) return "bits must be in [8, 64]";
  return nullptr;
}

/// Core (memory-mapped form). Shapes: e, a: m×k; f, b: k×n; c, z: m×n; row-major.
/// Inputs may carry garbage above `bits`; z is masked to `bits`.
template <class Config = MatmulDefaultConfig>
void matmul_combine(int party, int bits, uint32_t m, uint32_t k, uint32_t n, const uint64_t* e,
                    const uint64_t* f, const uint64_t* a, const uint64_t* b, const uint64_t* c,
                    uint64_t* z) {
  static_assert(Config::tile_n % Config::lanes == 0, "tile_n must be a multiple of lanes");
  const unsigned kGroups = Config::tile_n / Config::lanes;
  const bool p0 = party == 0;
  const uint64_t mask = hls::ring_mask(bits);
  const uint32_t tiles = uint32_t(hls::ceil_div(n, Config::tile_n));
  uint64_t acc[kGroups][Config::lanes];
  POLYMPC_HLS(ARRAY_PARTITION variable=acc dim=2 complete)
matmul_rows:
  for (uint32_t i = 0; i < m; ++i) {
    POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=64)
  matmul_tiles:
    for (uint32_t t = 0; t < tiles; ++t) {
      POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=16)
      const uint32_t j0 = t * Config::tile_n;
      const uint32_t width = (n - j0 < Config::tile_n) ? n - j0 : uint32_t(Config::tile_n);
      const uint32_t groups = uint32_t(hls::ceil_div(width, Config::lanes));
    matmul_init:
      for (uint32_t g = 0; g < groups; ++g) {
        POLYMPC_HLS(PIPELINE II=1)
        POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=64)
      matmul_init_lanes:
        for (unsigned l = 0; l < Config::lanes; ++l) {
          POLYMPC_HLS(UNROLL)
          const uint32_t j = j0 + g * Config::lanes + l;
          acc[g][l] = (j < n) ? c[uint64_t(i) * n + j] : uint64_t(0);
        }
      }
    matmul_reduce:
      for (uint32_t kk = 0; kk < k; ++kk) {
        POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=4608)
        const uint64_t ek = e[uint64_t(i) * k + kk];
        const uint64_t ak = a[uint64_t(i) * k + kk];
      matmul_mac_groups:
        for (uint32_t g = 0; g < groups; ++g) {
          POLYMPC_HLS(PIPELINE II=1)
          POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=64)
        matmul_mac_lanes:
          for (unsigned l = 0; l < Config::lanes; ++l) {
            POLYMPC_HLS(UNROLL)
            const uint32_t j = j0 + g * Config::lanes + l;
            if (j < n) {
              const uint64_t at = uint64_t(kk) * n + j;
              acc[g][l] = matmul_mac(p0, acc[g][l], ek, ak, b[at], f[at]);
            }
          }
        }
      }
    matmul_out:
      for (uint32_t g = 0; g < groups; ++g) {
        POLYMPC_HLS(PIPELINE II=1)
        POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=64)
      matmul_out_lanes:
        for (unsigned l = 0; l < Config::lanes; ++l) {
          POLYMPC_HLS(UNROLL)
          const uint32_t j = j0 + g * Config::lanes + l;
          if (j < n) z[uint64_t(i) * n + j] = acc[g][l] & mask;
        }
      }
    }
  }
}

namespace internal {

/// Column-tile geometry shared by the DATAFLOW processes.
template <class Config>
inline uint32_t matmul_tile_groups(uint32_t n, uint32_t t) {
  const uint32_t j0 = t * Config::tile_n;
  const uint32_t width = (n - j0 < Config::tile_n) ? n - j0 : uint32_t(Config::tile_n);
  return uint32_t(hls::ceil_div(width, Config::lanes));
}

/// DATAFLOW load. Order per (row i, tile t): C packets; then per kk: E[i,kk], A[i,kk]
/// and the B, F packets of row kk. Missing lanes read as 0.
template <class Config, class SW, class SP>
void matmul_load(uint32_t m, uint32_t k, uint32_t n, const uint64_t* e, const uint64_t* f,
                 const uint64_t* a, const uint64_t* b, const uint64_t* c, SW& se, SW& sa,
                 SP& sb, SP& sf, SP& sc) {
  const uint32_t tiles = uint32_t(hls::ceil_div(n, Config::tile_n));
matmul_load_rows:
  for (uint32_t i = 0; i < m; ++i) {
    POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=64)
  matmul_load_tiles:
    for (uint32_t t = 0; t < tiles; ++t) {
      POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=16)
      const uint32_t j0 = t * Config::tile_n;
      const uint32_t groups = matmul_tile_groups<Config>(n, t);
    matmul_load_c:
      for (uint32_t g = 0; g < groups; ++g) {
        POLYMPC_HLS(PIPELINE II=1)
        POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=64)
        hls::Packet<Config::lanes> pc;
      matmul_load_c_lanes:
        for (unsigned l = 0; l < Config::lanes; ++l) {
          POLYMPC_HLS(UNROLL)
          const uint32_t j = j0 + g * Config::lanes + l;
          pc.w[l] = (j < n) ? c[uint64_t(i) * n + j] : uint64_t(0);
        }
        sc.write(pc);
      }
    matmul_load_k:
      for (uint32_t kk = 0; kk < k; ++kk) {
        POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=4608)
        se.write(e[uint64_t(i) * k + kk]);
        sa.write(a[uint64_t(i) * k + kk]);
      matmul_load_bf:
        for (uint32_t g = 0; g < groups; ++g) {
          POLYMPC_HLS(PIPELINE II=1)
          POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=64)
          hls::Packet<Config::lanes> pb, pf;
        matmul_load_bf_lanes:
          for (unsigned l = 0; l < Config::lanes; ++l) {
            POLYMPC_HLS(UNROLL)
            const uint32_t j = j0 + g * Config::lanes + l;
            const bool in = j < n;
            pb.w[l] = in ? b[uint64_t(kk) * n + j] : uint64_t(0);
            pf.w[l] = in ? f[uint64_t(kk) * n + j] : uint64_t(0);
          }
          sb.write(pb);
          sf.write(pf);
        }
      }
    }
  }
}

/// DATAFLOW compute: accumulator rows as in the core, one Z packet per group.
template <class Config, class SW, class SP>
void matmul_compute(int party, int bits, uint32_t m, uint32_t k, uint32_t n, SW& se, SW& sa,
                    SP& sb, SP& sf, SP& sc, SP& sz) {
  const unsigned kGroups = Config::tile_n / Config::lanes;
  const bool p0 = party == 0;
  const uint64_t mask = hls::ring_mask(bits);
  const uint32_t tiles = uint32_t(hls::ceil_div(n, Config::tile_n));
  uint64_t acc[kGroups][Config::lanes];
  POLYMPC_HLS(ARRAY_PARTITION variable=acc dim=2 complete)
matmul_compute_rows:
  for (uint32_t i = 0; i < m; ++i) {
    POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=64)
  matmul_compute_tiles:
    for (uint32_t t = 0; t < tiles; ++t) {
      POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=16)
      const uint32_t groups = matmul_tile_groups<Config>(n, t);
    matmul_compute_init:
      for (uint32_t g = 0; g < groups; ++g) {
        POLYMPC_HLS(PIPELINE II=1)
        POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=64)
        const hls::Packet<Config::lanes> pc = sc.read();
      matmul_compute_init_lanes:
        for (unsigned l = 0; l < Config::lanes; ++l) {
          POLYMPC_HLS(UNROLL)
          acc[g][l] = pc.w[l];
        }
      }
    matmul_compute_k:
      for (uint32_t kk = 0; kk < k; ++kk) {
        POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=4608)
        const uint64_t ek = se.read();
        const uint64_t ak = sa.read();
      matmul_compute_mac:
        for (uint32_t g = 0; g < groups; ++g) {
          POLYMPC_HLS(PIPELINE II=1)
          POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=64)
          const hls::Packet<Config::lanes> pb = sb.read(), pf = sf.read();
        matmul_compute_mac_lanes:
          for (unsigned l = 0; l < Config::lanes; ++l) {
            POLYMPC_HLS(UNROLL)
            acc[g][l] = matmul_mac(p0, acc[g][l], ek, ak, pb.w[l], pf.w[l]);
          }
        }
      }
    matmul_compute_out:
      for (uint32_t g = 0; g < groups; ++g) {
        POLYMPC_HLS(PIPELINE II=1)
        POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=64)
        hls::Packet<Config::lanes> pz;
      matmul_compute_out_lanes:
        for (unsigned l = 0; l < Config::lanes; ++l) {
          POLYMPC_HLS(UNROLL)
          pz.w[l] = acc[g][l] & mask;
        }
        sz.write(pz);
      }
    }
  }
}

/// DATAFLOW store: valid lanes of each Z packet, row by row and tile by tile.
template <class Config, class SP>
void matmul_store(uint32_t m, uint32_t n, SP& sz, uint64_t* z) {
  const uint32_t tiles = uint32_t(hls::ceil_div(n, Config::tile_n));
matmul_store_rows:
  for (uint32_t i = 0; i < m; ++i) {
    POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=64)
  matmul_store_tiles:
    for (uint32_t t = 0; t < tiles; ++t) {
      POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=16)
      const uint32_t j0 = t * Config::tile_n;
      const uint32_t groups = matmul_tile_groups<Config>(n, t);
    matmul_store_groups:
      for (uint32_t g = 0; g < groups; ++g) {
        POLYMPC_HLS(PIPELINE II=1)
        POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=64)
        const hls::Packet<Config::lanes> pz = sz.read();
      matmul_store_lanes:
        for (unsigned l = 0; l < Config::lanes; ++l) {
          POLYMPC_HLS(UNROLL)
          const uint32_t j = j0 + g * Config::lanes + l;
          if (j < n) z[uint64_t(i) * n + j] = pz.w[l];
        }
      }
    }
  }
}

}  // namespace internal
}  // namespace kernels
}  // namespace polympc
POLYMPC_KERNEL_END
