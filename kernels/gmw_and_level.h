// Bit-level kernels of the GMW comparison (CrypTen-style DReLU with a dealer; docs/design.md
// §4, §5): one level of AND gates on bit-sliced boolean shares, B2A of shared bits, and
// bit slicing of arithmetic words into bit planes.
//
// gmw_and_level: after d = x ^ a and e = y ^ b were opened with the AND triple
//   (a, b, c = a & b):  z_i = c_i ^ (d & b_i) ^ (e & a_i) ^ [p0] (d & e), 64 gates a word,
//   so that z_0 ^ z_1 = x & y.
// b2a_combine: after e = bit ^ r was opened (r a dealer bit with arithmetic shares r_i):
//   z_i = [p0] e + r_i - 2·e·r_i  (mod 2^bits), so that z_0 + z_1 = bit; the n opened bits
//   arrive bit-sliced (element j = bit j % 64 of word j / 64).
// bit_slice: planes[b·stride + w] has bit j equal to bit b of x[64·w + j], b < bits,
//   w < W = ceil(n / 64), missing elements read as 0 (stride = W in the Backend contract).
// Contract: mpc::Backend::gmw_and_level / b2a_combine / bit_slice (backend.h).
//
// Cycle models (II = 1):
//   gmw_and_level:  depth + ceil(words / lanes)·II,   depth = read + 2 logic + write latency
//   b2a_combine:    depth + ceil(n / lanes)·II,       depth = read + 3 adds + write latency
//   bit_slice:      depth + ceil(n / 64)·(64 / lanes + bits)·II: per 64-element block,
//                   64/lanes cycles to fill a 64-word register file, then one bit plane per
//                   cycle (a shift register: the 64×64 transpose is wiring, no LUT logic);
//                   depth = read + 1 + write latency.
#pragma once
#include <stdint.h>

#include "polympc/hls/cycles.h"
#include "polympc/hls/pragma.h"
#include "polympc/hls/ring.h"
#include "polympc/hls/stream.h"

POLYMPC_KERNEL_BEGIN
namespace polympc {
namespace kernels {

// ---------------------------------------------------------------- gmw_and_level

/// Default configuration of gmw_and_level (hls4ml-style).
struct GmwAndDefaultConfig {
  /// Words (64 AND gates each) per cycle.
  static const unsigned lanes = 8;
  static const unsigned ii = 1;
  static const unsigned depth =
      hls::kAxiReadLatency + 2 * hls::kAdd64Latency + hls::kAxiWriteLatency;
  /// Largest number of words per launch.
  static const uint32_t max_batch = uint32_t(1) << 24;
};

/// One word of 64 AND gates: c ^ (d & b) ^ (e & a) ^ [p0] (d & e).
inline uint64_t gmw_and_lane(bool p0, uint64_t d, uint64_t e, uint64_t a, uint64_t b,
                             uint64_t c) {
  const uint64_t pub = p0 ? (d & e) : uint64_t(0);
  return c ^ (d & b) ^ (e & a) ^ pub;
}

/// Modelled device cycles of one launch on `words` words.
template <class Config = GmwAndDefaultConfig>
constexpr uint64_t gmw_and_level_cycles(uint64_t words) {
  return hls::pipeline_cycles(words, Config::lanes, Config::depth, Config::ii);
}

/// Null when the arguments are valid, else a static message.
inline const char* gmw_and_level_arg_error(int party) {
  return (party != 0 && party != 1) ? "party must be 0 or 1" : nullptr;
}

/// Core (memory-mapped form). Shapes: d, e, a, b, c, z have `words` words.
template <class Config = GmwAndDefaultConfig>
void gmw_and_level(int party, uint32_t words, const uint64_t* d, const uint64_t* e,
                   const uint64_t* a, const uint64_t* b, const uint64_t* c, uint64_t* z) {
  const bool p0 = party == 0;
  const uint32_t groups = uint32_t(hls::ceil_div(words, Config::lanes));
gmw_and_groups:
  for (uint32_t g = 0; g < groups; ++g) {
    POLYMPC_HLS(PIPELINE II=1)
    POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=2097152)
  gmw_and_lanes:
    for (unsigned l = 0; l < Config::lanes; ++l) {
      POLYMPC_HLS(UNROLL)
      const uint32_t j = g * Config::lanes + l;
      if (j < words) z[j] = gmw_and_lane(p0, d[j], e[j], a[j], b[j], c[j]);
    }
  }
}

// ---------------------------------------------------------------- b2a_combine

/// Default configuration of b2a_combine (hls4ml-style).
struct B2aDefaultConfig {
  /// Elements per cycle; divides 64 so that a group never straddles two packed words.
  static const unsigned lanes = 8;
  static const unsigned ii = 1;
  static const unsigned depth =
      hls::kAxiReadLatency + 3 * hls::kAdd64Latency + hls::kAxiWriteLatency;
  /// Largest n per launch (elements); a multiple of 64.
  static const uint32_t max_batch = uint32_t(1) << 24;
};

/// One element: [p0] e + r - 2·e·r (mod 2^bits), e in {0, 1}.
inline uint64_t b2a_lane(bool p0, uint64_t mask, uint64_t e, uint64_t r) {
  const uint64_t pub = p0 ? e : uint64_t(0);
  return (pub + r - ((e * r) << 1)) & mask;
}

/// Modelled device cycles of one launch on n elements.
template <class Config = B2aDefaultConfig>
constexpr uint64_t b2a_combine_cycles(uint64_t n) {
  return hls::pipeline_cycles(n, Config::lanes, Config::depth, Config::ii);
}

/// Null when the arguments are valid, else a static message.
inline const char* b2a_combine_arg_error(int party, int bits) {
  if (party != 0 && party != 1) return "party must be 0 or 1";
  if (!hls::valid_ring_bits(bits)) return "bits must be in [8, 64]";
  return nullptr;
}

/// Core (memory-mapped form). Shapes: e_packed: ceil(n / 64) words; r, z: n words.
template <class Config = B2aDefaultConfig>
void b2a_combine(int party, int bits, uint32_t n, const uint64_t* e_packed, const uint64_t* r,
                 uint64_t* z) {
  static_assert(64 % Config::lanes == 0, "b2a lanes must divide 64");
  const bool p0 = party == 0;
  const uint64_t mask = hls::ring_mask(bits);
  const uint32_t groups = uint32_t(hls::ceil_div(n, Config::lanes));
b2a_groups:
  for (uint32_t g = 0; g < groups; ++g) {
    POLYMPC_HLS(PIPELINE II=1)
    POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=2097152)
    const uint32_t j0 = g * Config::lanes;
    const uint64_t ew = e_packed[j0 / 64] >> (j0 % 64);
  b2a_lanes:
    for (unsigned l = 0; l < Config::lanes; ++l) {
      POLYMPC_HLS(UNROLL)
      const uint32_t j = j0 + l;
      if (j < n) z[j] = b2a_lane(p0, mask, (ew >> l) & 1, r[j]);
    }
  }
}

// ---------------------------------------------------------------- bit_slice

/// Default configuration of bit_slice (hls4ml-style).
struct BitSliceDefaultConfig {
  /// Input words per cycle; divides 64.
  static const unsigned lanes = 8;
  static const unsigned ii = 1;
  static const unsigned depth = hls::kAxiReadLatency + hls::kAdd64Latency + hls::kAxiWriteLatency;
  /// Largest n per launch (elements); a multiple of 64.
  static const uint32_t max_batch = uint32_t(1) << 24;
};

/// Modelled device cycles of one launch slicing `bits` planes of n elements.
template <class Config = BitSliceDefaultConfig>
constexpr uint64_t bit_slice_cycles(int bits, uint64_t n) {
  return Config::depth + hls::ceil_div(n, 64) *
                             (64 / Config::lanes + uint64_t(bits < 0 ? 0 : bits)) * Config::ii;
}

/// Null when the arguments are valid, else a static message.
inline const char* bit_slice_arg_error(int bits) {
  return (bits < 0 || bits > 64) ? "bits must be in [0, 64]" : nullptr;
}

/// Next bit plane of a 64-word block: bit j = bit 0 of blk[j]; then every word shifts
/// right by one (the block is a 64-deep shift register, the transpose is wiring).
inline uint64_t bit_slice_plane(uint64_t blk[64]) {
  uint64_t plane = 0;
bit_slice_plane_bits:
  for (unsigned j = 0; j < 64; ++j) {
    POLYMPC_HLS(UNROLL)
    plane |= (blk[j] & 1) << j;
    blk[j] >>= 1;
  }
  return plane;
}

/// Core (memory-mapped form). Shapes: x: n words; planes: bits rows of plane_stride words,
/// row b at planes + b·plane_stride, word w of a row for elements [64 w, 64 w + 64);
/// plane_stride >= ceil(n / 64). bits is clamped to [0, 64].
template <class Config = BitSliceDefaultConfig>
void bit_slice(int bits, uint32_t n, const uint64_t* x, uint64_t* planes,
               uint32_t plane_stride) {
  static_assert(64 % Config::lanes == 0, "bit_slice lanes must divide 64");
  const int nb = bits < 0 ? 0 : (bits > 64 ? 64 : bits);
  const uint32_t blocks = uint32_t(hls::ceil_div(n, 64));
bit_slice_blocks:
  for (uint32_t w = 0; w < blocks; ++w) {
    POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=262144)
    uint64_t blk[64];
    POLYMPC_HLS(ARRAY_PARTITION variable=blk complete)
  bit_slice_fill:
    for (unsigned g = 0; g < 64 / Config::lanes; ++g) {
      POLYMPC_HLS(PIPELINE II=1)
    bit_slice_fill_lanes:
      for (unsigned l = 0; l < Config::lanes; ++l) {
        POLYMPC_HLS(UNROLL)
        const uint32_t j = w * 64 + g * Config::lanes + l;
        blk[g * Config::lanes + l] = (j < n) ? x[j] : uint64_t(0);
      }
    }
  bit_slice_emit:
    for (int b = 0; b < nb; ++b) {
      POLYMPC_HLS(PIPELINE II=1)
      POLYMPC_HLS(LOOP_TRIPCOUNT min=8 max=64)
      planes[uint64_t(b) * plane_stride + w] = bit_slice_plane(blk);
    }
  }
}

namespace internal {

// DATAFLOW processes of the three tops.

/// gmw_and_level load: packets of d, e, a, b, c.
template <class Config, class S>
void gmw_and_load(uint32_t words, const uint64_t* d, const uint64_t* e, const uint64_t* a,
                  const uint64_t* b, const uint64_t* c, S& sd, S& se, S& sa, S& sb, S& sc) {
  const uint32_t groups = uint32_t(hls::ceil_div(words, Config::lanes));
gmw_and_load_groups:
  for (uint32_t g = 0; g < groups; ++g) {
    POLYMPC_HLS(PIPELINE II=1)
    POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=2097152)
    hls::Packet<Config::lanes> pd, pe, pa, pb, pc;
  gmw_and_load_lanes:
    for (unsigned l = 0; l < Config::lanes; ++l) {
      POLYMPC_HLS(UNROLL)
      const uint32_t j = g * Config::lanes + l;
      const bool in = j < words;
      pd.w[l] = in ? d[j] : uint64_t(0);
      pe.w[l] = in ? e[j] : uint64_t(0);
      pa.w[l] = in ? a[j] : uint64_t(0);
      pb.w[l] = in ? b[j] : uint64_t(0);
      pc.w[l] = in ? c[j] : uint64_t(0);
    }
    sd.write(pd);
    se.write(pe);
    sa.write(pa);
    sb.write(pb);
    sc.write(pc);
  }
}

/// gmw_and_level compute: gmw_and_lane on every lane.
template <class Config, class S>
void gmw_and_compute(int party, uint32_t words, S& sd, S& se, S& sa, S& sb, S& sc, S& sz) {
  const bool p0 = party == 0;
  const uint32_t groups = uint32_t(hls::ceil_div(words, Config::lanes));
gmw_and_compute_groups:
  for (uint32_t g = 0; g < groups; ++g) {
    POLYMPC_HLS(PIPELINE II=1)
    POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=2097152)
    const hls::Packet<Config::lanes> pd = sd.read(), pe = se.read(), pa = sa.read(),
                                     pb = sb.read(), pc = sc.read();
    hls::Packet<Config::lanes> pz;
  gmw_and_compute_lanes:
    for (unsigned l = 0; l < Config::lanes; ++l) {
      POLYMPC_HLS(UNROLL)
      pz.w[l] = gmw_and_lane(p0, pd.w[l], pe.w[l], pa.w[l], pb.w[l], pc.w[l]);
    }
    sz.write(pz);
  }
}

/// Shared store of the elementwise tops: valid lanes of each packet to z.
template <class Config, class S>
void lanes_store(uint32_t n, S& sz, uint64_t* z) {
  const uint32_t groups = uint32_t(hls::ceil_div(n, Config::lanes));
lanes_store_groups:
  for (uint32_t g = 0; g < groups; ++g) {
    POLYMPC_HLS(PIPELINE II=1)
    POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=2097152)
    const hls::Packet<Config::lanes> pz = sz.read();
  lanes_store_lanes:
    for (unsigned l = 0; l < Config::lanes; ++l) {
      POLYMPC_HLS(UNROLL)
      const uint32_t j = g * Config::lanes + l;
      if (j < n) z[j] = pz.w[l];
    }
  }
}

/// b2a load: per group, the `lanes` opened bits (LSB-aligned) and a packet of r. The
/// packed word is fetched once per 64 elements and held in a register.
template <class Config, class SE, class S>
void b2a_load(uint32_t n, const uint64_t* e_packed, const uint64_t* r, SE& se, S& sr) {
  const uint32_t groups = uint32_t(hls::ceil_div(n, Config::lanes));
  uint64_t ew = 0;
b2a_load_groups:
  for (uint32_t g = 0; g < groups; ++g) {
    POLYMPC_HLS(PIPELINE II=1)
    POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=2097152)
    const uint32_t j0 = g * Config::lanes;
    if (j0 % 64 == 0) ew = e_packed[j0 / 64];
    se.write(ew >> (j0 % 64));
    hls::Packet<Config::lanes> pr;
  b2a_load_lanes:
    for (unsigned l = 0; l < Config::lanes; ++l) {
      POLYMPC_HLS(UNROLL)
      const uint32_t j = j0 + l;
      pr.w[l] = (j < n) ? r[j] : uint64_t(0);
    }
    sr.write(pr);
  }
}

/// b2a compute: b2a_lane on every lane.
template <class Config, class SE, class S>
void b2a_compute(int party, int bits, uint32_t n, SE& se, S& sr, S& sz) {
  const bool p0 = party == 0;
  const uint64_t mask = hls::ring_mask(bits);
  const uint32_t groups = uint32_t(hls::ceil_div(n, Config::lanes));
b2a_compute_groups:
  for (uint32_t g = 0; g < groups; ++g) {
    POLYMPC_HLS(PIPELINE II=1)
    POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=2097152)
    const uint64_t ew = se.read();
    const hls::Packet<Config::lanes> pr = sr.read();
    hls::Packet<Config::lanes> pz;
  b2a_compute_lanes:
    for (unsigned l = 0; l < Config::lanes; ++l) {
      POLYMPC_HLS(UNROLL)
      pz.w[l] = b2a_lane(p0, mask, (ew >> l) & 1, pr.w[l]);
    }
    sz.write(pz);
  }
}

/// bit_slice load: ceil(n / 64)·64 / lanes packets of x, zero-padded to whole blocks.
template <class Config, class S>
void bit_slice_load(uint32_t n, const uint64_t* x, S& sx) {
  const uint32_t groups = uint32_t(hls::ceil_div(n, 64)) * (64 / Config::lanes);
bit_slice_load_groups:
  for (uint32_t g = 0; g < groups; ++g) {
    POLYMPC_HLS(PIPELINE II=1)
    POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=2097152)
    hls::Packet<Config::lanes> px;
  bit_slice_load_lanes:
    for (unsigned l = 0; l < Config::lanes; ++l) {
      POLYMPC_HLS(UNROLL)
      const uint32_t j = g * Config::lanes + l;
      px.w[l] = (j < n) ? x[j] : uint64_t(0);
    }
    sx.write(px);
  }
}

/// bit_slice compute: per block, fill the register file, then emit `bits` planes.
template <class Config, class S, class SW>
void bit_slice_compute(int bits, uint32_t n, S& sx, SW& sp) {
  const int nb = bits < 0 ? 0 : (bits > 64 ? 64 : bits);
  const uint32_t blocks = uint32_t(hls::ceil_div(n, 64));
bit_slice_compute_blocks:
  for (uint32_t w = 0; w < blocks; ++w) {
    POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=262144)
    uint64_t blk[64];
    POLYMPC_HLS(ARRAY_PARTITION variable=blk complete)
  bit_slice_compute_fill:
    for (unsigned g = 0; g < 64 / Config::lanes; ++g) {
      POLYMPC_HLS(PIPELINE II=1)
      const hls::Packet<Config::lanes> px = sx.read();
    bit_slice_compute_fill_lanes:
      for (unsigned l = 0; l < Config::lanes; ++l) {
        POLYMPC_HLS(UNROLL)
        blk[g * Config::lanes + l] = px.w[l];
      }
    }
  bit_slice_compute_emit:
    for (int b = 0; b < nb; ++b) {
      POLYMPC_HLS(PIPELINE II=1)
      POLYMPC_HLS(LOOP_TRIPCOUNT min=8 max=64)
      sp.write(bit_slice_plane(blk));
    }
  }
}

/// bit_slice store: plane b of block w to planes[b·plane_stride + w].
template <class Config, class SW>
void bit_slice_store(int bits, uint32_t n, uint32_t plane_stride, SW& sp, uint64_t* planes) {
  const int nb = bits < 0 ? 0 : (bits > 64 ? 64 : bits);
  const uint32_t blocks = uint32_t(hls::ceil_div(n, 64));
bit_slice_store_blocks:
  for (uint32_t w = 0; w < blocks; ++w) {
    POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=262144)
  bit_slice_store_planes:
    for (int b = 0; b < nb; ++b) {
      POLYMPC_HLS(PIPELINE II=1)
      POLYMPC_HLS(LOOP_TRIPCOUNT min=8 max=64)
      planes[uint64_t(b) * plane_stride + w] = sp.read();
    }
  }
}

}  // namespace internal
}  // namespace kernels
}  // namespace polympc
POLYMPC_KERNEL_END
