// Winograd F(m×m, 3×3) input and output transforms on shares (A. Lavin, S. Gray, "Fast
// Algorithms for Convolutional Neural Networks", CVPR 2016, §4; docs/winograd.md).
//
// Both transforms are linear with small public integer matrices (B^T, A^T of §4.1 for
// m = 2, α = 4; §4.2 for m = 4, α = 6), so each party applies them to its share (and
// to public opened values) locally, in ring arithmetic mod 2^bits. The layouts are
// exactly those of nn::winograd_input / nn::winograd_output (nn/src/winograd.cpp), which
// stay the reference (twin, dealer). Contract: mpc::Backend::winograd_transform.
//
//  - mode kWinogradInput (0): in = x [batch, channels, h, w] (NCHW), out = V
//    [α², channels, batch·T] with V[p][c][n·T + ty·tiles_w + tx] = (B^T d B)[p], d the α×α
//    tile of image n, channel c at rows ty·m − pad_top + [0, α), columns
//    tx·m − pad_left + [0, α), 0 outside the image (the zero padding). The tile gather
//    from the unpadded image runs in the kernel: the host moves no data.
//  - mode kWinogradOutput (1): in = Mprod [α², channels, batch·T] (channels = M, the
//    output channels), out = y [channels, batch·ho·wo] with the m×m block A^T t A of tile
//    (ty, tx) at rows ty·m + [0, m), columns tx·m + [0, m), cropped to ho × wo (the direct
//    convolution's matmul layout). pad_top, pad_left, h, w are not read.
// tiles_h = ceil(ho / m), tiles_w = ceil(wo / m), T = tiles_h·tiles_w. Accumulated mod
// 2^64 and masked once, so the result equals the host functions bit for bit.
//
// Structure: tiles are taken in groups of `lanes` consecutive tiles of one tile row of one
// (image, channel) plane. The extern "C" top (winograd_transform.cpp) is a DATAFLOW of
// load → compute → store: load reads, per group, the α² tile positions (one position of
// the `lanes` tiles per cycle, 0 outside the image), compute collects the α² packets,
// applies the transform to every lane (fully unrolled: constant multiplications by
// ±1, 2, 4, 5, 8 are shifts and adds, no DSP) and emits one packet per output position
// (α² in input mode, m² in output mode), store writes the valid lanes (input mode: a
// contiguous run of `lanes` columns of row (p, c); output mode: cropped).
//
// Cycle model (one launch; winograd_transform_cycles): with groups
// G = batch·channels·tiles_h·ceil(tiles_w / lanes), s = α (input) or m (output),
//   cycles = depth + G·(II·(α² + s²) + xform_latency)
// i.e. the compute process, which reads α² packets and writes s² packets per group one
// after the other, is the bottleneck of the dataflow (load takes α², store s² cycles per
// group and overlap with it). depth = m_axi read latency + write latency (the pipelines
// fill once per launch, the loops of load and store being flattened over the groups);
// xform_latency = 2 passes × (constant multiply as shift/add + a 3-level adder tree over
// ≤ 6 terms) = 8 add stages. Assumptions: (1) load fetches the `lanes` words of one tile
// position per cycle; in input mode those are `lanes` words at stride m of one image row
// (a line buffer of α rows fed by bursts would deliver them; the model does not count its
// refill), in output mode `lanes` contiguous words; (2) store writes one packet per cycle
// (output mode: up to `lanes` words at stride m of one output row); (3) no m_axi stalls.
// Device memory words: input mode reads ≤ G·lanes·α² and writes channels·α²·batch·T;
// output mode reads channels·α²·batch·T and writes channels·batch·ho·wo.
#pragma once
#include <stdint.h>

#include "polympc/hls/cycles.h"
#include "polympc/hls/pragma.h"
#include "polympc/hls/ring.h"
#include "polympc/hls/stream.h"

POLYMPC_KERNEL_BEGIN
namespace polympc {
namespace kernels {

/// Modes of winograd_transform (values of the top's `mode` argument).
constexpr int kWinogradInput = 0;   ///< V = B^T d B per tile of the (padded) input
constexpr int kWinogradOutput = 1;  ///< Y = A^T t A per tile, cropped to ho × wo

/// Largest tile side α (F(4×4,3×3)); buffers are sized for it.
constexpr unsigned kWinogradAlphaMax = 6;

/// Default configuration (hls4ml-style). A plan replaces it for synthesis through
/// POLYMPC_WINOGRAD_CONFIG (kernels/winograd_transform.cpp).
struct WinogradDefaultConfig {
  /// Tiles transformed per group (one 512-bit beat of 64-bit words per position at 8).
  /// Any value >= 1 (static_assert in internal::winograd_sizes); a plan sizes it.
  static const unsigned lanes = 8;
  /// Initiation interval of the load, compute and store loops (cycles).
  static const unsigned ii = 1;
  /// Pipeline fill once per launch (cycles), see the header comment.
  static const unsigned depth = hls::kAxiReadLatency + hls::kAxiWriteLatency;
  /// Transform latency per group (cycles): 2 passes × 4 add stages.
  static const unsigned xform_latency = 2 * 4 * hls::kAdd64Latency;
};

/// The transform's geometry as run-time values (what the cycle model reads).
struct WinogradKernelGeometry {
  uint64_t lanes, ii, depth, xform_latency;
};

/// A configuration's geometry.
template <class Config>
constexpr WinogradKernelGeometry winograd_geometry() {
  return WinogradKernelGeometry{Config::lanes, Config::ii, Config::depth, Config::xform_latency};
}

/// Modelled device cycles of one launch (see header comment): mode kWinogradInput or
/// kWinogradOutput, m = 2 or 4, `planes` = batch·channels (image, channel) planes of
/// ho × wo outputs. No tiles: depth only.
constexpr uint64_t winograd_transform_cycles_at(WinogradKernelGeometry g, int mode, uint64_t m,
                                                uint64_t planes, uint64_t ho, uint64_t wo) {
  return g.depth + planes * hls::ceil_div(ho, m) * hls::ceil_div(hls::ceil_div(wo, m), g.lanes) *
                       (g.ii * ((m + 2) * (m + 2) +
                                (mode == kWinogradInput ? (m + 2) * (m + 2) : m * m)) +
                        g.xform_latency);
}

/// Modelled device cycles of one launch at a compiled configuration.
template <class Config = WinogradDefaultConfig>
constexpr uint64_t winograd_transform_cycles(int mode, uint64_t m, uint64_t planes, uint64_t ho,
                                             uint64_t wo) {
  return winograd_transform_cycles_at(winograd_geometry<Config>(), mode, m, planes, ho, wo);
}

/// Null when the arguments are valid, else a static message (kernels report errors by value).
inline const char* winograd_transform_arg_error(int mode, int bits, int m) {
  if (mode != kWinogradInput && mode != kWinogradOutput)
    return "mode must be 0 (input transform) or 1 (output transform)";
  if (!hls::valid_ring_bits(bits)) return "bits must be in [8, 64]";
  if (m != 2 && m != 4) return "m must be 2 (F(2x2,3x3)) or 4 (F(4x4,3x3))";
  return nullptr;
}

/// The launch's shape (scalars of the top). Input mode: in [batch, channels, h, w];
/// output mode: channels = M, h, w, pad_top, pad_left unused.
struct WinogradDims {
  uint32_t batch, channels, h, w, ho, wo, pad_top, pad_left;
};

/// B^T of F(m×m,3×3) (α×α), Lavin & Gray 2016 §4.1 (m = 2) and §4.2 (m = 4).
inline int64_t winograd_bt(int m, unsigned i, unsigned j) {
  static const int64_t bt2[4][4] = {{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}};
  static const int64_t bt4[6][6] = {{4, 0, -5, 0, 1, 0},  {0, -4, -4, 1, 1, 0},
                                    {0, 4, -4, -1, 1, 0}, {0, -2, -1, 2, 1, 0},
                                    {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1}};
  return m == 2 ? bt2[i][j] : bt4[i][j];
}

/// A^T of F(m×m,3×3) (m×α), Lavin & Gray 2016 §4.1, §4.2.
inline int64_t winograd_at(int m, unsigned i, unsigned j) {
  static const int64_t at2[2][4] = {{1, 1, 1, 0}, {0, 1, -1, -1}};
  static const int64_t at4[4][6] = {{1, 1, 1, 1, 1, 0},
                                    {0, 1, -1, 2, -2, 0},
                                    {0, 1, 1, 4, 4, 0},
                                    {0, 1, -1, 8, -8, 1}};
  return m == 2 ? at2[i][j] : at4[i][j];
}

/// One tile: out = P·t·P^T mod 2^64 (not masked) with P = B^T (R = α rows, input mode) or
/// A^T (R = m rows, output mode) of form M (α = M + 2); t is α×α row-major, out R×R.
template <int M, bool Input>
inline void winograd_tile(const uint64_t (&t)[kWinogradAlphaMax * kWinogradAlphaMax],
                          uint64_t (&out)[kWinogradAlphaMax * kWinogradAlphaMax]) {
  POLYMPC_HLS(INLINE)
  const unsigned A = M + 2, R = Input ? A : unsigned(M);
  uint64_t tmp[kWinogradAlphaMax * kWinogradAlphaMax];
winograd_tile_rows:
  for (unsigned i = 0; i < R; ++i) {
    POLYMPC_HLS(UNROLL)
  winograd_tile_cols:
    for (unsigned b = 0; b < A; ++b) {
      POLYMPC_HLS(UNROLL)
      uint64_t acc = 0;
    winograd_tile_first:
      for (unsigned a = 0; a < A; ++a) {
        POLYMPC_HLS(UNROLL)
        const int64_t p = Input ? winograd_bt(M, i, a) : winograd_at(M, i, a);
        acc += uint64_t(p) * t[a * A + b];
      }
      tmp[i * A + b] = acc;
    }
  }
winograd_tile_out_rows:
  for (unsigned i = 0; i < R; ++i) {
    POLYMPC_HLS(UNROLL)
  winograd_tile_out_cols:
    for (unsigned j = 0; j < R; ++j) {
      POLYMPC_HLS(UNROLL)
      uint64_t acc = 0;
    winograd_tile_second:
      for (unsigned b = 0; b < A; ++b) {
        POLYMPC_HLS(UNROLL)
        const int64_t q = Input ? winograd_bt(M, j, b) : winograd_at(M, j, b);
        acc += tmp[i * A + b] * uint64_t(q);
      }
      out[i * R + j] = acc;
    }
  }
}

/// One tile of form m (2 or 4) in `mode`: out = B^T t B (α×α) or A^T t A (m×m), mod 2^64.
inline void winograd_tile_any(int mode, int m,
                              const uint64_t (&t)[kWinogradAlphaMax * kWinogradAlphaMax],
                              uint64_t (&out)[kWinogradAlphaMax * kWinogradAlphaMax]) {
  POLYMPC_HLS(INLINE)
  if (m == 2) {
    if (mode == kWinogradInput)
      winograd_tile<2, true>(t, out);
    else
      winograd_tile<2, false>(t, out);
  } else {
    if (mode == kWinogradInput)
      winograd_tile<4, true>(t, out);
    else
      winograd_tile<4, false>(t, out);
  }
}

namespace internal {

/// Derived sizes of a launch.
struct WinogradSizes {
  uint32_t alpha, tiles_h, tiles_w, groups_w, positions_in, positions_out;
  uint64_t tiles, cols, out_plane;
};

template <class Config>
inline WinogradSizes winograd_sizes(int mode, int m, const WinogradDims& d) {
  // Any lanes >= 1 (a group of `lanes` tiles; past tiles_w the lanes idle), II >= 1.
  static_assert(Config::lanes >= 1 && Config::ii >= 1, "winograd_transform: lanes and ii must be >= 1");
  WinogradSizes s;
  s.alpha = uint32_t(m + 2);
  s.tiles_h = uint32_t(hls::ceil_div(d.ho, uint32_t(m)));
  s.tiles_w = uint32_t(hls::ceil_div(d.wo, uint32_t(m)));
  s.groups_w = uint32_t(hls::ceil_div(s.tiles_w, Config::lanes));
  s.positions_in = s.alpha * s.alpha;
  s.positions_out = mode == kWinogradInput ? s.alpha * s.alpha : uint32_t(m * m);
  s.tiles = uint64_t(s.tiles_h) * s.tiles_w;
  s.cols = uint64_t(d.batch) * s.tiles;
  s.out_plane = uint64_t(d.ho) * d.wo;
  return s;
}

/// Word of lane tile tx at input position p of plane (n, c), tile row ty (0 outside the
/// image, past tiles_w, or past the end).
inline uint64_t winograd_read(int mode, int m, const WinogradDims& d, const WinogradSizes& s,
                              uint32_t n, uint32_t c, uint32_t ty, uint32_t tx, uint32_t p,
                              const uint64_t* in) {
  POLYMPC_HLS(INLINE)
  if (tx >= s.tiles_w) return 0;
  if (mode == kWinogradInput) {
    const int64_t yy = int64_t(ty) * m - int64_t(d.pad_top) + int64_t(p / s.alpha);
    const int64_t xx = int64_t(tx) * m - int64_t(d.pad_left) + int64_t(p % s.alpha);
    if (yy < 0 || yy >= int64_t(d.h) || xx < 0 || xx >= int64_t(d.w)) return 0;
    return in[((uint64_t(n) * d.channels + c) * d.h + uint64_t(yy)) * d.w + uint64_t(xx)];
  }
  return in[(uint64_t(p) * d.channels + c) * s.cols + uint64_t(n) * s.tiles +
            uint64_t(ty) * s.tiles_w + tx];
}

/// Writes output position q of lane tile tx (nothing past tiles_w or outside ho × wo).
inline void winograd_write(int mode, int m, const WinogradDims& d, const WinogradSizes& s,
                           uint32_t n, uint32_t c, uint32_t ty, uint32_t tx, uint32_t q,
                           uint64_t v, uint64_t* out) {
  POLYMPC_HLS(INLINE)
  if (tx >= s.tiles_w) return;
  if (mode == kWinogradInput) {
    out[(uint64_t(q) * d.channels + c) * s.cols + uint64_t(n) * s.tiles +
        uint64_t(ty) * s.tiles_w + tx] = v;
    return;
  }
  const uint32_t oy = ty * uint32_t(m) + q / uint32_t(m), ox = tx * uint32_t(m) + q % uint32_t(m);
  if (oy < d.ho && ox < d.wo)
    out[(uint64_t(c) * d.batch + n) * s.out_plane + uint64_t(oy) * d.wo + ox] = v;
}

}  // namespace internal

/// Core (memory-mapped form), see the header comment for the modes and layouts. `in` may
/// carry garbage above `bits`; `out` is masked to `bits`. Arguments as checked by
/// winograd_transform_arg_error (anything else: no output).
template <class Config = WinogradDefaultConfig>
void winograd_transform(int mode, int bits, int m, const WinogradDims& d, const uint64_t* in,
                        uint64_t* out) {
  if (winograd_transform_arg_error(mode, bits, m) != nullptr) return;
  const uint64_t mask = hls::ring_mask(bits);
  const internal::WinogradSizes s = internal::winograd_sizes<Config>(mode, m, d);
  uint64_t t[Config::lanes][kWinogradAlphaMax * kWinogradAlphaMax];
  uint64_t o[Config::lanes][kWinogradAlphaMax * kWinogradAlphaMax];
  POLYMPC_HLS(ARRAY_PARTITION variable=t complete)
  POLYMPC_HLS(ARRAY_PARTITION variable=o complete)
winograd_images:
  for (uint32_t n = 0; n < d.batch; ++n) {
    POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=16)
  winograd_channels:
    for (uint32_t c = 0; c < d.channels; ++c) {
      POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=512)
    winograd_tile_rows_loop:
      for (uint32_t ty = 0; ty < s.tiles_h; ++ty) {
        POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=64)
      winograd_groups:
        for (uint32_t gx = 0; gx < s.groups_w; ++gx) {
          POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=8)
        winograd_load:
          for (uint32_t p = 0; p < s.positions_in; ++p) {
            POLYMPC_HLS(PIPELINE II=1)
            POLYMPC_HLS(LOOP_TRIPCOUNT min=16 max=36)
          winograd_load_lanes:
            for (unsigned l = 0; l < Config::lanes; ++l) {
              POLYMPC_HLS(UNROLL)
              t[l][p] = internal::winograd_read(mode, m, d, s, n, c, ty, gx * Config::lanes + l,
                                                p, in);
            }
          }
        winograd_xform_lanes:
          for (unsigned l = 0; l < Config::lanes; ++l) {
            POLYMPC_HLS(UNROLL)
            winograd_tile_any(mode, m, t[l], o[l]);
          }
        winograd_store:
          for (uint32_t q = 0; q < s.positions_out; ++q) {
            POLYMPC_HLS(PIPELINE II=1)
            POLYMPC_HLS(LOOP_TRIPCOUNT min=4 max=36)
          winograd_store_lanes:
            for (unsigned l = 0; l < Config::lanes; ++l) {
              POLYMPC_HLS(UNROLL)
              internal::winograd_write(mode, m, d, s, n, c, ty, gx * Config::lanes + l, q,
                                       o[l][q] & mask, out);
            }
          }
        }
      }
    }
  }
}

namespace internal {

/// The three DATAFLOW processes do nothing on arguments winograd_transform_arg_error
/// rejects (all three alike, so no stream is left waiting).
/// DATAFLOW load: per group (image, channel, tile row, group of `lanes` tiles) the α²
/// position packets, 0 outside the image and past tiles_w.
template <class Config, class S>
void winograd_load(int mode, int bits, int m, const WinogradDims& d, const uint64_t* in, S& st) {
  if (winograd_transform_arg_error(mode, bits, m) != nullptr) return;
  const WinogradSizes s = winograd_sizes<Config>(mode, m, d);
winograd_load_images:
  for (uint32_t n = 0; n < d.batch; ++n) {
    POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=16)
  winograd_load_channels:
    for (uint32_t c = 0; c < d.channels; ++c) {
      POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=512)
    winograd_load_rows:
      for (uint32_t ty = 0; ty < s.tiles_h; ++ty) {
        POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=64)
      winograd_load_groups:
        for (uint32_t gx = 0; gx < s.groups_w; ++gx) {
          POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=8)
        winograd_load_positions:
          for (uint32_t p = 0; p < s.positions_in; ++p) {
            POLYMPC_HLS(PIPELINE II=1)
            POLYMPC_HLS(LOOP_TRIPCOUNT min=16 max=36)
            hls::Packet<Config::lanes> pk;
          winograd_load_packet:
            for (unsigned l = 0; l < Config::lanes; ++l) {
              POLYMPC_HLS(UNROLL)
              pk.w[l] = winograd_read(mode, m, d, s, n, c, ty, gx * Config::lanes + l, p, in);
            }
            st.write(pk);
          }
        }
      }
    }
  }
}

/// DATAFLOW compute: per group, α² packets in, the transform on every lane, one masked
/// packet per output position out.
template <class Config, class S>
void winograd_compute(int mode, int bits, int m, const WinogradDims& d, S& st, S& so) {
  if (winograd_transform_arg_error(mode, bits, m) != nullptr) return;
  const WinogradSizes s = winograd_sizes<Config>(mode, m, d);
  const uint64_t mask = hls::ring_mask(bits);
  const uint64_t groups = uint64_t(d.batch) * d.channels * s.tiles_h * s.groups_w;
  uint64_t t[Config::lanes][kWinogradAlphaMax * kWinogradAlphaMax];
  uint64_t o[Config::lanes][kWinogradAlphaMax * kWinogradAlphaMax];
  POLYMPC_HLS(ARRAY_PARTITION variable=t complete)
  POLYMPC_HLS(ARRAY_PARTITION variable=o complete)
winograd_compute_groups:
  for (uint64_t g = 0; g < groups; ++g) {
    POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=65536)
  winograd_compute_in:
    for (uint32_t p = 0; p < s.positions_in; ++p) {
      POLYMPC_HLS(PIPELINE II=1)
      POLYMPC_HLS(LOOP_TRIPCOUNT min=16 max=36)
      const hls::Packet<Config::lanes> pk = st.read();
    winograd_compute_in_lanes:
      for (unsigned l = 0; l < Config::lanes; ++l) {
        POLYMPC_HLS(UNROLL)
        t[l][p] = pk.w[l];
      }
    }
  winograd_compute_lanes:
    for (unsigned l = 0; l < Config::lanes; ++l) {
      POLYMPC_HLS(UNROLL)
      winograd_tile_any(mode, m, t[l], o[l]);
    }
  winograd_compute_out:
    for (uint32_t q = 0; q < s.positions_out; ++q) {
      POLYMPC_HLS(PIPELINE II=1)
      POLYMPC_HLS(LOOP_TRIPCOUNT min=4 max=36)
      hls::Packet<Config::lanes> pk;
    winograd_compute_out_lanes:
      for (unsigned l = 0; l < Config::lanes; ++l) {
        POLYMPC_HLS(UNROLL)
        pk.w[l] = o[l][q] & mask;
      }
      so.write(pk);
    }
  }
}

/// DATAFLOW store: the valid lanes of each output-position packet.
template <class Config, class S>
void winograd_store(int mode, int bits, int m, const WinogradDims& d, S& so, uint64_t* out) {
  if (winograd_transform_arg_error(mode, bits, m) != nullptr) return;
  const WinogradSizes s = winograd_sizes<Config>(mode, m, d);
winograd_store_images:
  for (uint32_t n = 0; n < d.batch; ++n) {
    POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=16)
  winograd_store_channels:
    for (uint32_t c = 0; c < d.channels; ++c) {
      POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=512)
    winograd_store_rows:
      for (uint32_t ty = 0; ty < s.tiles_h; ++ty) {
        POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=64)
      winograd_store_groups:
        for (uint32_t gx = 0; gx < s.groups_w; ++gx) {
          POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=8)
        winograd_store_positions:
          for (uint32_t q = 0; q < s.positions_out; ++q) {
            POLYMPC_HLS(PIPELINE II=1)
            POLYMPC_HLS(LOOP_TRIPCOUNT min=4 max=36)
            const hls::Packet<Config::lanes> pk = so.read();
          winograd_store_packet:
            for (unsigned l = 0; l < Config::lanes; ++l) {
              POLYMPC_HLS(UNROLL)
              winograd_write(mode, m, d, s, n, c, ty, gx * Config::lanes + l, q, pk.w[l], out);
            }
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
