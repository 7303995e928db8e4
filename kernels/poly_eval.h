// Polynomial-activation Horner step on shares (PASNet / PolyMPCNet; docs/design.md §5, §7).
//
// The activation s·w0·x² + w1·x + b is evaluated as x·(s·w0·x + w1) + b; each Horner step
// is a Beaver product with a fused addend that only party 0 adds:
//   z[j] = c[j] + d[j]·B + E·a[j] + [p0] (d[j]·E + add[ch(j)])   (mod 2^bits)
// with ch(j) = (j / inner) % channels over the layout [outer][channels][inner] (NCHW),
// B = b[ch(j)], E = e[ch(j)] when per_channel, else B = b[j], E = e[j].
// Contract: mpc::Backend::poly_eval (backend.h).
//
// Structure: the per-channel values (add, and b, e when per_channel) are first copied into
// on-chip tables of max_channels entries, replicated once per two lanes so that `lanes`
// lanes can read independent channels each cycle from dual-port BRAM. The element loop is
// then one flat PIPELINE II=1 loop over ceil(n / lanes) groups; each lane keeps a cursor
// (position inside the channel, channel index) advanced by `lanes` elements per cycle with
// one compare-subtract each — no divider in the loop (two divisions at start only).
//
// Cycle model: cycles(channels, n) = depth + channels + ceil(n / lanes)·II, II = 1:
// table preload at one channel per cycle, then the element pipeline; depth = m_axi read
// latency + start-up divider + multiplier + 3 adds + write latency.
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
struct PolyEvalDefaultConfig {
  /// Elements per cycle (one 512-bit beat per input).
  static const unsigned lanes = 8;
  /// Largest number of channels per launch (on-chip table entries).
  static const uint32_t max_channels = 2048;
  /// Initiation interval of the element loop (cycles).
  static const unsigned ii = 1;
  /// Pipeline depth (cycles), see the header comment.
  static const unsigned depth = hls::kAxiReadLatency + hls::kDiv32Latency +
                                hls::kMul64Latency + 3 * hls::kAdd64Latency +
                                hls::kAxiWriteLatency;
  /// Largest outer·channels·inner per launch (elements).
  static const uint32_t max_batch = uint32_t(1) << 24;
};

/// One lane: c + d·B + E·a + [p0] (d·E + add), masked with `mask` = ring_mask(bits).
inline uint64_t poly_eval_lane(bool p0, uint64_t mask, uint64_t d, uint64_t e_val, uint64_t a,
                               uint64_t b_val, uint64_t c, uint64_t add_val) {
  const uint64_t pub = p0 ? d * e_val + add_val : uint64_t(0);
  return (c + d * b_val + e_val * a + pub) & mask;
}

/// Modelled device cycles of one launch with `channels` channels and n elements.
template <class Config = PolyEvalDefaultConfig>
constexpr uint64_t poly_eval_cycles(uint64_t channels, uint64_t n) {
  return Config::depth + channels + hls::ceil_div(n, Config::lanes) * Config::ii;
}

/// Null when the arguments are valid for one launch, else a static message.
template <class Config = PolyEvalDefaultConfig>
inline const char* poly_eval_arg_error(int party, int bits, uint64_t outer, uint64_t channels,
                                       uint64_t inner) {
  if (party != 0 && party != 1) return "party must be 0 or 1";
  if (!hls::valid_ring_bits(bits)) return "bits must be in [8, 64]";
  if (channels > Config::max_channels) return "channels exceed the kernel's max_channels";
  if (outer * channels * inner > Config::max_batch) return "n exceeds the kernel's max_batch";
  return nullptr;
}

namespace internal {

/// Elements of one launch, or 0 when the launch must be skipped (empty, channels >
/// max_channels or n > max_batch). Every DATAFLOW process derives its trip counts from it.
template <class Config>
inline uint32_t poly_launch_n(uint32_t outer, uint32_t channels, uint32_t inner) {
  const uint64_t n = uint64_t(outer) * channels * inner;
  return (channels > Config::max_channels || n > Config::max_batch) ? uint32_t(0) : uint32_t(n);
}

/// Lane cursor: position of the lane's current element inside its channel run (pos, in
/// [0, inner)) and its channel (ch, in [0, channels)).
struct PolyCursor {
  uint32_t pos;
  uint32_t ch;
};

/// Constant increments for advancing a cursor by `lanes` elements.
struct PolyStep {
  uint32_t inner;     ///< elements per channel run
  uint32_t channels;  ///< channels
  uint32_t r;         ///< lanes % inner
  uint32_t qmod;      ///< (lanes / inner) % channels
};

template <class Config>
inline PolyStep poly_step(uint32_t channels, uint32_t inner) {
  PolyStep s;
  s.inner = inner;
  s.channels = channels;
  s.r = Config::lanes % inner;
  s.qmod = (Config::lanes / inner) % channels;
  return s;
}

/// Cursor of element l (l < lanes) at start.
inline PolyCursor poly_cursor_init(const PolyStep& s, uint32_t l) {
  PolyCursor c;
  c.pos = l % s.inner;
  c.ch = (l / s.inner) % s.channels;
  return c;
}

/// Moves a cursor `lanes` elements forward: at most one carry into the channel and one
/// wrap of the channel index, since r < inner and qmod + 1 <= channels.
inline void poly_cursor_advance(const PolyStep& s, PolyCursor& c) {
  uint32_t pos = c.pos + s.r;
  uint32_t carry = 0;
  if (pos >= s.inner) {
    pos -= s.inner;
    carry = 1;
  }
  uint32_t ch = c.ch + s.qmod + carry;
  if (ch >= s.channels) ch -= s.channels;
  c.pos = pos;
  c.ch = ch;
}

/// Per-channel tables replicated for parallel lane reads (lane l reads copy l / 2).
template <class Config>
struct PolyTables {
  static const unsigned kCopies = (Config::lanes + 1) / 2;
  uint64_t add[kCopies][Config::max_channels];
  uint64_t b[kCopies][Config::max_channels];
  uint64_t e[kCopies][Config::max_channels];
};

/// Writes channel ch of every table copy.
template <class Config>
inline void poly_table_set(PolyTables<Config>& t, uint32_t ch, uint64_t add_v, uint64_t b_v,
                           uint64_t e_v) {
poly_table_copies:
  for (unsigned r = 0; r < PolyTables<Config>::kCopies; ++r) {
    POLYMPC_HLS(UNROLL)
    t.add[r][ch] = add_v;
    t.b[r][ch] = b_v;
    t.e[r][ch] = e_v;
  }
}

}  // namespace internal

/// Core (memory-mapped form). Shapes: d, a, c, z: outer·channels·inner words in
/// [outer][channels][inner] order; add: channels words; b, e: channels words when
/// per_channel, else n words. Preconditions (poly_eval_arg_error): channels <=
/// Config::max_channels, n <= Config::max_batch; otherwise nothing is written.
template <class Config = PolyEvalDefaultConfig>
void poly_eval(int party, int bits, uint32_t outer, uint32_t channels, uint32_t inner,
               bool per_channel, const uint64_t* d, const uint64_t* e, const uint64_t* a,
               const uint64_t* b, const uint64_t* c, const uint64_t* add, uint64_t* z) {
  const uint32_t n = internal::poly_launch_n<Config>(outer, channels, inner);
  if (n == 0) return;
  const bool p0 = party == 0;
  const uint64_t mask = hls::ring_mask(bits);
  internal::PolyTables<Config> tab;
poly_eval_tables:
  for (uint32_t ch = 0; ch < channels; ++ch) {
    POLYMPC_HLS(PIPELINE II=1)
    POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=2048)
    internal::poly_table_set<Config>(tab, ch, add[ch], per_channel ? b[ch] : uint64_t(0),
                                     per_channel ? e[ch] : uint64_t(0));
  }
  const internal::PolyStep step = internal::poly_step<Config>(channels, inner);
  internal::PolyCursor cur[Config::lanes];
  POLYMPC_HLS(ARRAY_PARTITION variable=cur complete)
poly_eval_cursor_init:
  for (unsigned l = 0; l < Config::lanes; ++l) {
    POLYMPC_HLS(UNROLL)
    cur[l] = internal::poly_cursor_init(step, l);
  }
  const uint32_t groups = uint32_t(hls::ceil_div(n, Config::lanes));
poly_eval_groups:
  for (uint32_t g = 0; g < groups; ++g) {
    POLYMPC_HLS(PIPELINE II=1)
    POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=2097152)
  poly_eval_lanes:
    for (unsigned l = 0; l < Config::lanes; ++l) {
      POLYMPC_HLS(UNROLL)
      const uint32_t j = g * Config::lanes + l;
      const uint32_t ch = cur[l].ch;
      if (j < n) {
        const uint64_t b_val = per_channel ? tab.b[l / 2][ch] : b[j];
        const uint64_t e_val = per_channel ? tab.e[l / 2][ch] : e[j];
        z[j] = poly_eval_lane(p0, mask, d[j], e_val, a[j], b_val, c[j], tab.add[l / 2][ch]);
      }
      internal::poly_cursor_advance(step, cur[l]);
    }
  }
}

namespace internal {

/// DATAFLOW load: first `channels` table packets {add, b, e} (b, e = 0 unless
/// per_channel), then per group packets of d, a, c and, unless per_channel, b and e.
template <class Config, class ST, class SP>
void poly_eval_load(uint32_t outer, uint32_t channels, uint32_t inner, bool per_channel,
                    const uint64_t* d, const uint64_t* e, const uint64_t* a, const uint64_t* b,
                    const uint64_t* c, const uint64_t* add, ST& st, SP& sd, SP& se, SP& sa,
                    SP& sb, SP& sc) {
  const uint32_t n = poly_launch_n<Config>(outer, channels, inner);
  const uint32_t chs = n ? channels : uint32_t(0);
poly_eval_load_tables:
  for (uint32_t ch = 0; ch < chs; ++ch) {
    POLYMPC_HLS(PIPELINE II=1)
    POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=2048)
    hls::Packet<3> pt;
    pt.w[0] = add[ch];
    pt.w[1] = per_channel ? b[ch] : uint64_t(0);
    pt.w[2] = per_channel ? e[ch] : uint64_t(0);
    st.write(pt);
  }
  const uint32_t groups = uint32_t(hls::ceil_div(n, Config::lanes));
poly_eval_load_groups:
  for (uint32_t g = 0; g < groups; ++g) {
    POLYMPC_HLS(PIPELINE II=1)
    POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=2097152)
    hls::Packet<Config::lanes> pd, pe, pa, pb, pc;
  poly_eval_load_lanes:
    for (unsigned l = 0; l < Config::lanes; ++l) {
      POLYMPC_HLS(UNROLL)
      const uint32_t j = g * Config::lanes + l;
      const bool in = j < n;
      pd.w[l] = in ? d[j] : uint64_t(0);
      pa.w[l] = in ? a[j] : uint64_t(0);
      pc.w[l] = in ? c[j] : uint64_t(0);
      pb.w[l] = (in && !per_channel) ? b[j] : uint64_t(0);
      pe.w[l] = (in && !per_channel) ? e[j] : uint64_t(0);
    }
    sd.write(pd);
    sa.write(pa);
    sc.write(pc);
    if (!per_channel) {
      sb.write(pb);
      se.write(pe);
    }
  }
}

/// DATAFLOW compute: tables from the table stream, then the lane cursors as in the core.
template <class Config, class ST, class SP>
void poly_eval_compute(int party, int bits, uint32_t outer, uint32_t channels, uint32_t inner,
                       bool per_channel, ST& st, SP& sd, SP& se, SP& sa, SP& sb, SP& sc,
                       SP& sz) {
  const uint32_t n = poly_launch_n<Config>(outer, channels, inner);
  const uint32_t chs = n ? channels : uint32_t(0);
  const bool p0 = party == 0;
  const uint64_t mask = hls::ring_mask(bits);
  PolyTables<Config> tab;
poly_eval_compute_tables:
  for (uint32_t ch = 0; ch < chs; ++ch) {
    POLYMPC_HLS(PIPELINE II=1)
    POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=2048)
    const hls::Packet<3> pt = st.read();
    poly_table_set<Config>(tab, ch, pt.w[0], pt.w[1], pt.w[2]);
  }
  // Step of an empty launch is never used; keep its divisors non-zero.
  const PolyStep step = poly_step<Config>(n ? channels : 1u, n ? inner : 1u);
  PolyCursor cur[Config::lanes];
  POLYMPC_HLS(ARRAY_PARTITION variable=cur complete)
poly_eval_compute_cursor_init:
  for (unsigned l = 0; l < Config::lanes; ++l) {
    POLYMPC_HLS(UNROLL)
    cur[l] = poly_cursor_init(step, l);
  }
  const uint32_t groups = uint32_t(hls::ceil_div(n, Config::lanes));
poly_eval_compute_groups:
  for (uint32_t g = 0; g < groups; ++g) {
    POLYMPC_HLS(PIPELINE II=1)
    POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=2097152)
    const hls::Packet<Config::lanes> pd = sd.read(), pa = sa.read(), pc = sc.read();
    hls::Packet<Config::lanes> pb = {}, pe = {}, pz;
    if (!per_channel) {
      pb = sb.read();
      pe = se.read();
    }
  poly_eval_compute_lanes:
    for (unsigned l = 0; l < Config::lanes; ++l) {
      POLYMPC_HLS(UNROLL)
      const uint32_t ch = cur[l].ch;
      const uint64_t b_val = per_channel ? tab.b[l / 2][ch] : pb.w[l];
      const uint64_t e_val = per_channel ? tab.e[l / 2][ch] : pe.w[l];
      pz.w[l] = poly_eval_lane(p0, mask, pd.w[l], e_val, pa.w[l], b_val, pc.w[l],
                               tab.add[l / 2][ch]);
      poly_cursor_advance(step, cur[l]);
    }
    sz.write(pz);
  }
}

/// DATAFLOW store: valid lanes of each packet to z.
template <class Config, class SP>
void poly_eval_store(uint32_t outer, uint32_t channels, uint32_t inner, SP& sz, uint64_t* z) {
  const uint32_t n = poly_launch_n<Config>(outer, channels, inner);
  const uint32_t groups = uint32_t(hls::ceil_div(n, Config::lanes));
poly_eval_store_groups:
  for (uint32_t g = 0; g < groups; ++g) {
    POLYMPC_HLS(PIPELINE II=1)
    POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=2097152)
    const hls::Packet<Config::lanes> pz = sz.read();
  poly_eval_store_lanes:
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
