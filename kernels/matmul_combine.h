// Beaver matrix-triple combine for W·X (Mohassel-Zhang, SecureML S&P'17 matrix triples;
// docs/design.md §5 "matmul / conv", §7).
//
// With E = W - A opened once per model and F = X - B opened per inference, party i holds
// A_i (m×k), B_i (k×n), C_i = (A·B)_i (m×n) and computes
//   Z_i = C_i + E·B_i + A_i·F + [i == 0] E·F   (mod 2^bits),
// so that Z_0 + Z_1 = W·X. All matrices row-major. Contract: mpc::Backend::matmul_combine.
//
// Structure (output-stationary array of `rows` x `lanes` MAC units): the output rows are
// taken in blocks of `rows`. For each block and each column tile of at most tile_n columns,
// `rows` accumulator rows (BRAM, rows x lanes banks) are initialised with C; then k is taken
// in chunks of k_chunk: the block's E and A slices of the chunk are read into on-chip
// buffers (kMatmulEaWords words per cycle, one 512-bit beat), and for every kk of the chunk
// the pipelined MAC loop reads one packet of B and F (`lanes` columns of row kk) and adds
//   E[i,kk]·(B[kk,j] + [p0] F[kk,j]) + A[i,kk]·F[kk,j]
// to `lanes` columns of every row i of the block per cycle (two 64-bit multipliers per MAC
// unit). So each B/F packet read from device memory serves `rows` output rows: the lowered
// input streams ceil(m / rows) times instead of m times. Rows are masked and written at the
// end of the tile. Everything is accumulated mod 2^64 and masked once (exact mod 2^bits).
//
// Cycle model (one launch; matmul_array_cycles): with blocks = ceil(m / rows), tiles =
// ceil(n / tile_n), G = sum over tiles of ceil(width / lanes) and S = sum over k chunks of
// ceil(len / kMatmulEaWords):
//   cycles = depth + II·(tiles·m·S + (2·m + blocks·k)·G)
// (E/A slices; C init and Z write-back, one pass per output row; k MAC passes per block).
// depth = m_axi read latency + multiplier + 2 adds + write latency. Assumes tiles wide
// enough (width >= lanes·8) that the accumulator read-modify-write does not limit II.
// Device memory words (matmul_array_memory_words): E and A once per tile, B and F once per
// row block, C and Z once: 2·m·k·tiles + 2·k·n·blocks + 2·m·n.
#pragma once
#include <stdint.h>

#include "polympc/hls/cycles.h"
#include "polympc/hls/pragma.h"
#include "polympc/hls/ring.h"
#include "polympc/hls/stream.h"

POLYMPC_KERNEL_BEGIN
namespace polympc {
namespace kernels {

/// E and A words read per cycle into the on-chip slices (one 512-bit m_axi beat).
constexpr unsigned kMatmulEaWords = 8;

/// Default configuration (hls4ml-style). A plan from `polympc schedule` replaces it for
/// synthesis through POLYMPC_MATMUL_CONFIG (kernels/matmul_combine.cpp).
struct MatmulDefaultConfig {
  /// Output columns updated per cycle and row (two 64-bit multipliers each).
  static const unsigned lanes = 16;
  /// Output rows that share each B/F packet (height of the MAC array).
  static const unsigned rows = 1;
  /// Accumulator row width (columns per tile); a multiple of lanes.
  static const unsigned tile_n = 1024;
  /// Columns of E and A buffered on chip per pass (a multiple of kMatmulEaWords).
  static const unsigned k_chunk = 1024;
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

/// The array's geometry as run-time values: what the cycle and memory models read. The
/// performance model and the scheduler price configurations that are not compiled here.
struct MatmulGeometry {
  uint64_t lanes, rows, tile_n, k_chunk, ii, depth;
};

/// A configuration's geometry.
template <class Config>
constexpr MatmulGeometry matmul_geometry() {
  return MatmulGeometry{Config::lanes, Config::rows, Config::tile_n, Config::k_chunk,
                        Config::ii,    Config::depth};
}

/// Sum over chunks of `chunk` of ceil(len / per): cycles to stream `total` items chunk
/// by chunk, `per` per cycle (chunk a multiple of per: the last chunk alone is partial).
constexpr uint64_t matmul_chunked_beats(uint64_t total, uint64_t chunk, uint64_t per) {
  return total / chunk * (chunk / per) + hls::ceil_div(total % chunk, per);
}

/// Modelled device cycles of one launch of an array of geometry g on an m×k by k×n
/// product (see header comment). m = 0 or n = 0: no work (depth only).
constexpr uint64_t matmul_array_cycles(MatmulGeometry g, uint64_t m, uint64_t k, uint64_t n) {
  return g.depth + g.ii * (hls::ceil_div(n, g.tile_n) * m *
                               matmul_chunked_beats(k, g.k_chunk, kMatmulEaWords) +
                           (2 * m + hls::ceil_div(m, g.rows) * k) *
                               matmul_chunked_beats(n, g.tile_n, g.lanes));
}

/// Device memory words one launch reads and writes (see header comment).
constexpr uint64_t matmul_array_memory_words(MatmulGeometry g, uint64_t m, uint64_t k,
                                             uint64_t n) {
  return 2 * m * k * hls::ceil_div(n, g.tile_n) + 2 * k * n * hls::ceil_div(m, g.rows) +
         2 * m * n;
}

/// Modelled device cycles of one launch at a compiled configuration.
template <class Config = MatmulDefaultConfig>
constexpr uint64_t matmul_combine_cycles(uint64_t m, uint64_t k, uint64_t n) {
  return matmul_array_cycles(matmul_geometry<Config>(), m, k, n);
}

/// Null when the arguments are valid, else a static message (kernels report errors by value).
inline const char* matmul_combine_arg_error(int party, int bits) {
  if (party != 0 && party != 1) return "party must be 0 or 1";
  if (!hls::valid_ring_bits(bits)) return "bits must be in [8, 64]";
  return nullptr;
}

namespace internal {

/// Compile-time checks of a configuration.
template <class Config>
struct MatmulConfigCheck {
  static_assert(Config::lanes >= 1 && Config::rows >= 1, "lanes and rows must be >= 1");
  static_assert(Config::tile_n % Config::lanes == 0, "tile_n must be a multiple of lanes");
  static_assert(Config::k_chunk >= kMatmulEaWords && Config::k_chunk % kMatmulEaWords == 0,
                "k_chunk must be a multiple of kMatmulEaWords");
  static const bool ok = true;
};

/// Columns [j0, j0 + width) of tile t, in groups of lanes.
template <class Config>
inline uint32_t matmul_tile_groups(uint32_t n, uint32_t t) {
  const uint32_t j0 = t * Config::tile_n;
  const uint32_t width = (n - j0 < Config::tile_n) ? n - j0 : uint32_t(Config::tile_n);
  return uint32_t(hls::ceil_div(width, Config::lanes));
}

/// Rows of the block starting at i0 (rows, or fewer at the end).
template <class Config>
inline uint32_t matmul_block_rows(uint32_t m, uint32_t i0) {
  return (m - i0 < Config::rows) ? m - i0 : uint32_t(Config::rows);
}

/// Columns of the k chunk starting at k0.
template <class Config>
inline uint32_t matmul_chunk_len(uint32_t k, uint32_t k0) {
  return (k - k0 < Config::k_chunk) ? k - k0 : uint32_t(Config::k_chunk);
}

/// Column q of the block's E and A slices (R array rows, S slots of W words), one word per
/// array row (0 past the block's nr rows).
template <unsigned R, unsigned S, unsigned W>
inline void matmul_slice_column(const uint64_t (&ebuf)[R][S][W], const uint64_t (&abuf)[R][S][W], uint32_t nr,
                                uint32_t q, uint64_t (&ek)[R], uint64_t (&ak)[R]) {
  POLYMPC_HLS(INLINE)
matmul_slice_column_rows:
  for (unsigned r = 0; r < R; ++r) {
    POLYMPC_HLS(UNROLL)
    ek[r] = (r < nr) ? ebuf[r][q / W][q % W] : uint64_t(0);
    ak[r] = (r < nr) ? abuf[r][q / W][q % W] : uint64_t(0);
  }
}

}  // namespace internal

/// Core (memory-mapped form). Shapes: e, a: m×k; f, b: k×n; c, z: m×n; row-major.
/// Inputs may carry garbage above `bits`; z is masked to `bits`.
template <class Config = MatmulDefaultConfig>
void matmul_combine(int party, int bits, uint32_t m, uint32_t k, uint32_t n, const uint64_t* e,
                    const uint64_t* f, const uint64_t* a, const uint64_t* b, const uint64_t* c,
                    uint64_t* z) {
  static_assert(internal::MatmulConfigCheck<Config>::ok, "");
  const unsigned kGroups = Config::tile_n / Config::lanes;
  const unsigned kSlots = Config::k_chunk / kMatmulEaWords;
  const bool p0 = party == 0;
  const uint64_t mask = hls::ring_mask(bits);
  const uint32_t tiles = uint32_t(hls::ceil_div(n, Config::tile_n));
  uint64_t acc[Config::rows][kGroups][Config::lanes];
  POLYMPC_HLS(ARRAY_PARTITION variable=acc dim=1 complete)
  POLYMPC_HLS(ARRAY_PARTITION variable=acc dim=3 complete)
  uint64_t ebuf[Config::rows][kSlots][kMatmulEaWords];
  uint64_t abuf[Config::rows][kSlots][kMatmulEaWords];
  POLYMPC_HLS(ARRAY_PARTITION variable=ebuf dim=1 complete)
  POLYMPC_HLS(ARRAY_PARTITION variable=ebuf dim=3 complete)
  POLYMPC_HLS(ARRAY_PARTITION variable=abuf dim=1 complete)
  POLYMPC_HLS(ARRAY_PARTITION variable=abuf dim=3 complete)
matmul_blocks:
  for (uint32_t i0 = 0; i0 < m; i0 += Config::rows) {
    POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=64)
    const uint32_t nr = internal::matmul_block_rows<Config>(m, i0);
  matmul_tiles:
    for (uint32_t t = 0; t < tiles; ++t) {
      POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=16)
      const uint32_t j0 = t * Config::tile_n;
      const uint32_t groups = internal::matmul_tile_groups<Config>(n, t);
    matmul_init_rows:
      for (uint32_t r = 0; r < nr; ++r) {
        POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=16)
      matmul_init:
        for (uint32_t g = 0; g < groups; ++g) {
          POLYMPC_HLS(PIPELINE II=1)
          POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=64)
        matmul_init_lanes:
          for (unsigned l = 0; l < Config::lanes; ++l) {
            POLYMPC_HLS(UNROLL)
            const uint32_t j = j0 + g * Config::lanes + l;
            acc[r][g][l] = (j < n) ? c[uint64_t(i0 + r) * n + j] : uint64_t(0);
          }
        }
      }
    matmul_chunks:
      for (uint32_t k0 = 0; k0 < k; k0 += Config::k_chunk) {
        POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=8)
        const uint32_t klen = internal::matmul_chunk_len<Config>(k, k0);
        const uint32_t slots = uint32_t(hls::ceil_div(klen, kMatmulEaWords));
      matmul_slice_rows:
        for (uint32_t r = 0; r < nr; ++r) {
          POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=16)
        matmul_slice:
          for (uint32_t s = 0; s < slots; ++s) {
            POLYMPC_HLS(PIPELINE II=1)
            POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=128)
          matmul_slice_words:
            for (unsigned w = 0; w < kMatmulEaWords; ++w) {
              POLYMPC_HLS(UNROLL)
              const uint32_t q = s * kMatmulEaWords + w;
              const uint64_t at = uint64_t(i0 + r) * k + k0 + q;
              ebuf[r][s][w] = (q < klen) ? e[at] : uint64_t(0);
              abuf[r][s][w] = (q < klen) ? a[at] : uint64_t(0);
            }
          }
        }
      matmul_reduce:
        for (uint32_t q = 0; q < klen; ++q) {
          POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=1024)
          uint64_t ek[Config::rows], ak[Config::rows];
          POLYMPC_HLS(ARRAY_PARTITION variable=ek complete)
          POLYMPC_HLS(ARRAY_PARTITION variable=ak complete)
          internal::matmul_slice_column(ebuf, abuf, nr, q, ek, ak);
        matmul_mac_groups:
          for (uint32_t g = 0; g < groups; ++g) {
            POLYMPC_HLS(PIPELINE II=1)
            POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=64)
          matmul_mac_lanes:
            for (unsigned l = 0; l < Config::lanes; ++l) {
              POLYMPC_HLS(UNROLL)
              const uint32_t j = j0 + g * Config::lanes + l;
              if (j < n) {
                const uint64_t at = uint64_t(k0 + q) * n + j;
                const uint64_t bv = b[at], fv = f[at];
              matmul_mac_rows:
                for (unsigned r = 0; r < Config::rows; ++r) {
                  POLYMPC_HLS(UNROLL)
                  acc[r][g][l] = matmul_mac(p0, acc[r][g][l], ek[r], ak[r], bv, fv);
                }
              }
            }
          }
        }
      }
    matmul_out_rows:
      for (uint32_t r = 0; r < nr; ++r) {
        POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=16)
      matmul_out:
        for (uint32_t g = 0; g < groups; ++g) {
          POLYMPC_HLS(PIPELINE II=1)
          POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=64)
        matmul_out_lanes:
          for (unsigned l = 0; l < Config::lanes; ++l) {
            POLYMPC_HLS(UNROLL)
            const uint32_t j = j0 + g * Config::lanes + l;
            if (j < n) z[uint64_t(i0 + r) * n + j] = acc[r][g][l] & mask;
          }
        }
      }
    }
  }
}

namespace internal {

/// DATAFLOW load. Order per (row block, tile t): the C packets of each row of the block;
/// then per k chunk: the E and A slices of each row (kMatmulEaWords per packet), and per kk
/// of the chunk the B, F packets of row kk. Missing lanes and words read as 0.
template <class Config, class SE, class SP>
void matmul_load(uint32_t m, uint32_t k, uint32_t n, const uint64_t* e, const uint64_t* f,
                 const uint64_t* a, const uint64_t* b, const uint64_t* c, SE& se, SE& sa,
                 SP& sb, SP& sf, SP& sc) {
  const uint32_t tiles = uint32_t(hls::ceil_div(n, Config::tile_n));
matmul_load_blocks:
  for (uint32_t i0 = 0; i0 < m; i0 += Config::rows) {
    POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=64)
    const uint32_t nr = matmul_block_rows<Config>(m, i0);
  matmul_load_tiles:
    for (uint32_t t = 0; t < tiles; ++t) {
      POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=16)
      const uint32_t j0 = t * Config::tile_n;
      const uint32_t groups = matmul_tile_groups<Config>(n, t);
    matmul_load_c_rows:
      for (uint32_t r = 0; r < nr; ++r) {
        POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=16)
      matmul_load_c:
        for (uint32_t g = 0; g < groups; ++g) {
          POLYMPC_HLS(PIPELINE II=1)
          POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=64)
          hls::Packet<Config::lanes> pc;
        matmul_load_c_lanes:
          for (unsigned l = 0; l < Config::lanes; ++l) {
            POLYMPC_HLS(UNROLL)
            const uint32_t j = j0 + g * Config::lanes + l;
            pc.w[l] = (j < n) ? c[uint64_t(i0 + r) * n + j] : uint64_t(0);
          }
          sc.write(pc);
        }
      }
    matmul_load_chunks:
      for (uint32_t k0 = 0; k0 < k; k0 += Config::k_chunk) {
        POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=8)
        const uint32_t klen = matmul_chunk_len<Config>(k, k0);
        const uint32_t slots = uint32_t(hls::ceil_div(klen, kMatmulEaWords));
      matmul_load_slice_rows:
        for (uint32_t r = 0; r < nr; ++r) {
          POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=16)
        matmul_load_slice:
          for (uint32_t s = 0; s < slots; ++s) {
            POLYMPC_HLS(PIPELINE II=1)
            POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=128)
            hls::Packet<kMatmulEaWords> pe, pa;
          matmul_load_slice_words:
            for (unsigned w = 0; w < kMatmulEaWords; ++w) {
              POLYMPC_HLS(UNROLL)
              const uint32_t q = s * kMatmulEaWords + w;
              const uint64_t at = uint64_t(i0 + r) * k + k0 + q;
              pe.w[w] = (q < klen) ? e[at] : uint64_t(0);
              pa.w[w] = (q < klen) ? a[at] : uint64_t(0);
            }
            se.write(pe);
            sa.write(pa);
          }
        }
      matmul_load_k:
        for (uint32_t q = 0; q < klen; ++q) {
          POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=1024)
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
              const uint64_t at = uint64_t(k0 + q) * n + j;
              pb.w[l] = in ? b[at] : uint64_t(0);
              pf.w[l] = in ? f[at] : uint64_t(0);
            }
            sb.write(pb);
            sf.write(pf);
          }
        }
      }
    }
  }
}

/// DATAFLOW compute: the array of the core, one Z packet per (row, group).
template <class Config, class SE, class SP>
void matmul_compute(int party, int bits, uint32_t m, uint32_t k, uint32_t n, SE& se, SE& sa,
                    SP& sb, SP& sf, SP& sc, SP& sz) {
  const unsigned kGroups = Config::tile_n / Config::lanes;
  const unsigned kSlots = Config::k_chunk / kMatmulEaWords;
  const bool p0 = party == 0;
  const uint64_t mask = hls::ring_mask(bits);
  const uint32_t tiles = uint32_t(hls::ceil_div(n, Config::tile_n));
  uint64_t acc[Config::rows][kGroups][Config::lanes];
  POLYMPC_HLS(ARRAY_PARTITION variable=acc dim=1 complete)
  POLYMPC_HLS(ARRAY_PARTITION variable=acc dim=3 complete)
  uint64_t ebuf[Config::rows][kSlots][kMatmulEaWords];
  uint64_t abuf[Config::rows][kSlots][kMatmulEaWords];
  POLYMPC_HLS(ARRAY_PARTITION variable=ebuf dim=1 complete)
  POLYMPC_HLS(ARRAY_PARTITION variable=ebuf dim=3 complete)
  POLYMPC_HLS(ARRAY_PARTITION variable=abuf dim=1 complete)
  POLYMPC_HLS(ARRAY_PARTITION variable=abuf dim=3 complete)
matmul_compute_blocks:
  for (uint32_t i0 = 0; i0 < m; i0 += Config::rows) {
    POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=64)
    const uint32_t nr = matmul_block_rows<Config>(m, i0);
  matmul_compute_tiles:
    for (uint32_t t = 0; t < tiles; ++t) {
      POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=16)
      const uint32_t groups = matmul_tile_groups<Config>(n, t);
    matmul_compute_init_rows:
      for (uint32_t r = 0; r < nr; ++r) {
        POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=16)
      matmul_compute_init:
        for (uint32_t g = 0; g < groups; ++g) {
          POLYMPC_HLS(PIPELINE II=1)
          POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=64)
          const hls::Packet<Config::lanes> pc = sc.read();
        matmul_compute_init_lanes:
          for (unsigned l = 0; l < Config::lanes; ++l) {
            POLYMPC_HLS(UNROLL)
            acc[r][g][l] = pc.w[l];
          }
        }
      }
    matmul_compute_chunks:
      for (uint32_t k0 = 0; k0 < k; k0 += Config::k_chunk) {
        POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=8)
        const uint32_t klen = matmul_chunk_len<Config>(k, k0);
        const uint32_t slots = uint32_t(hls::ceil_div(klen, kMatmulEaWords));
      matmul_compute_slice_rows:
        for (uint32_t r = 0; r < nr; ++r) {
          POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=16)
        matmul_compute_slice:
          for (uint32_t s = 0; s < slots; ++s) {
            POLYMPC_HLS(PIPELINE II=1)
            POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=128)
            const hls::Packet<kMatmulEaWords> pe = se.read(), pa = sa.read();
          matmul_compute_slice_words:
            for (unsigned w = 0; w < kMatmulEaWords; ++w) {
              POLYMPC_HLS(UNROLL)
              ebuf[r][s][w] = pe.w[w];
              abuf[r][s][w] = pa.w[w];
            }
          }
        }
      matmul_compute_k:
        for (uint32_t q = 0; q < klen; ++q) {
          POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=1024)
          uint64_t ek[Config::rows], ak[Config::rows];
          POLYMPC_HLS(ARRAY_PARTITION variable=ek complete)
          POLYMPC_HLS(ARRAY_PARTITION variable=ak complete)
          matmul_slice_column(ebuf, abuf, nr, q, ek, ak);
        matmul_compute_mac:
          for (uint32_t g = 0; g < groups; ++g) {
            POLYMPC_HLS(PIPELINE II=1)
            POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=64)
            const hls::Packet<Config::lanes> pb = sb.read(), pf = sf.read();
          matmul_compute_mac_lanes:
            for (unsigned l = 0; l < Config::lanes; ++l) {
              POLYMPC_HLS(UNROLL)
            matmul_compute_mac_rows:
              for (unsigned r = 0; r < Config::rows; ++r) {
                POLYMPC_HLS(UNROLL)
                acc[r][g][l] = matmul_mac(p0, acc[r][g][l], ek[r], ak[r], pb.w[l], pf.w[l]);
              }
            }
          }
        }
      }
    matmul_compute_out_rows:
      for (uint32_t r = 0; r < nr; ++r) {
        POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=16)
      matmul_compute_out:
        for (uint32_t g = 0; g < groups; ++g) {
          POLYMPC_HLS(PIPELINE II=1)
          POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=64)
          hls::Packet<Config::lanes> pz;
        matmul_compute_out_lanes:
          for (unsigned l = 0; l < Config::lanes; ++l) {
            POLYMPC_HLS(UNROLL)
            pz.w[l] = acc[r][g][l] & mask;
          }
          sz.write(pz);
        }
      }
    }
  }
}

/// DATAFLOW store: valid lanes of each Z packet, block by block, tile by tile, row by row.
template <class Config, class SP>
void matmul_store(uint32_t m, uint32_t n, SP& sz, uint64_t* z) {
  const uint32_t tiles = uint32_t(hls::ceil_div(n, Config::tile_n));
matmul_store_blocks:
  for (uint32_t i0 = 0; i0 < m; i0 += Config::rows) {
    POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=64)
    const uint32_t nr = matmul_block_rows<Config>(m, i0);
  matmul_store_tiles:
    for (uint32_t t = 0; t < tiles; ++t) {
      POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=16)
      const uint32_t j0 = t * Config::tile_n;
      const uint32_t groups = matmul_tile_groups<Config>(n, t);
    matmul_store_rows:
      for (uint32_t r = 0; r < nr; ++r) {
        POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=16)
      matmul_store_groups:
        for (uint32_t g = 0; g < groups; ++g) {
          POLYMPC_HLS(PIPELINE II=1)
          POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=64)
          const hls::Packet<Config::lanes> pz = sz.read();
        matmul_store_lanes:
          for (unsigned l = 0; l < Config::lanes; ++l) {
            POLYMPC_HLS(UNROLL)
            const uint32_t j = j0 + g * Config::lanes + l;
            if (j < n) z[uint64_t(i0 + r) * n + j] = pz.w[l];
          }
        }
      }
    }
  }
}

}  // namespace internal
}  // namespace kernels
}  // namespace polympc
POLYMPC_KERNEL_END
