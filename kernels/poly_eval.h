// Polynomial activation with private coefficients, local step on shares (PASNet /
// PolyMPCNet for the activation; Beaver-style masking; docs/protocols.md "One-opening
// polynomial"; docs/design.md §5, §7).
//
// One lane formula covers every mode (PolyEvalMode):
//   z[j] = m2a2[j] + m1a[j] + E1·a[j] + E2·a2[j]
//          + d[j]·(2·E2·a[j] + d[j]·(m2 + [p0] E2) + 2·m2a[j] + m1 + [p0] E1)
//          + [p0] add[ch(j)]                                            (mod 2^bits)
// with ch(j) = (j / inner) % channels over the layout [outer][channels][inner] (NCHW).
//  - kPolyQuadratic (the one-opening gate y = a2 x² + a1 x + a0): d = x − α opened,
//    a = [α], a2 = [α²], m2a = [m2·α], m2a2 = [m2·α²], m1a = [m1·α]; per channel
//    E2 = a2 − m2, E1 = a1 − m1 (public), [m2], [m1] (shares), add = a0 (P0's).
//    Expanded: E2 d² + 2 E2 d [α] + E2 [α²] + d² [m2] + 2 d [m2α] + [m2α²] + E1 d
//    + E1 [α] + d [m1] + [m1α] + [p0] a0 = a2 x² + a1 x + a0 with x = d + α.
//  - kPolyLinearChannel (a Beaver product by a per-channel masked coefficient, the first
//    Horner step x·a2 + a1): E2 = m2 = 0 and a2, m2a, m2a2 = 0 (not read); E1, m1 per
//    channel: z = m1a + E1·a + d·m1 + [p0] (d·E1 + add).
//  - kPolyLinearElement (a Beaver product x·u, the second Horner step): as
//    kPolyLinearChannel with E1 = e1[j], m1 = m1[j] per element.
// Contract: mpc::Backend::poly_eval (backend.h).
//
// Structure: the per-channel values are first copied into on-chip tables of max_channels
// entries (already folded with [p0]: m2 + [p0] E2, m1 + [p0] E1, [p0] add), replicated once
// per two lanes so that `lanes` lanes can read independent channels each cycle from
// dual-port BRAM. The element loop is then one flat PIPELINE II=1 loop over ceil(n / lanes)
// groups; each lane keeps a cursor (position inside the channel, channel index) advanced
// by `lanes` elements per cycle with one compare-subtract each — no divider in the loop
// (two divisions at start only).
//
// Cycle model: cycles(channels, n) = depth + channels + ceil(n / lanes)·II, II = 1:
// table preload at one channel per cycle, then the element pipeline; depth = m_axi read
// latency + start-up divider + 2 multipliers (E2·a, then d·(...)) + 4 adds + write latency.
#pragma once
#include <stdint.h>

#include "polympc/hls/cycles.h"
#include "polympc/hls/pragma.h"
#include "polympc/hls/ring.h"
#include "polympc/hls/stream.h"

POLYMPC_KERNEL_BEGIN
namespace polympc {
namespace kernels {

/// What poly_eval computes (the `mode` argument of poly_eval_top); values match
/// mpc::PolyMode.
enum PolyEvalMode { kPolyQuadratic = 0, kPolyLinearChannel = 1, kPolyLinearElement = 2 };

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
                                2 * hls::kMul64Latency + 4 * hls::kAdd64Latency +
                                hls::kAxiWriteLatency;
  /// Largest outer·channels·inner per launch (elements).
  static const uint32_t max_batch = uint32_t(1) << 24;
};

/// Per-channel (or, in kPolyLinearElement, per-element) coefficients of one lane, folded
/// with the party: m2p = m2 + [p0] E2, m1p = m1 + [p0] E1, addp = [p0] add.
struct PolyCoef {
  uint64_t e2;
  uint64_t m2p;
  uint64_t e1;
  uint64_t m1p;
  uint64_t addp;
};

/// Folds one channel's values with the party (see PolyCoef).
inline PolyCoef poly_fold(bool p0, uint64_t e2, uint64_t m2, uint64_t e1, uint64_t m1,
                          uint64_t add) {
  PolyCoef c;
  c.e2 = e2;
  c.m2p = m2 + (p0 ? e2 : uint64_t(0));
  c.e1 = e1;
  c.m1p = m1 + (p0 ? e1 : uint64_t(0));
  c.addp = p0 ? add : uint64_t(0);
  return c;
}

/// One lane (see the header comment), masked with `mask` = ring_mask(bits):
///   m2a2 + m1a + E1·a + E2·a2 + d·(2·E2·a + d·m2p + 2·m2a + m1p) + addp.
inline uint64_t poly_eval_lane(uint64_t mask, const PolyCoef& k, uint64_t d, uint64_t a,
                               uint64_t a2, uint64_t m2a, uint64_t m2a2, uint64_t m1a) {
  const uint64_t e2a = k.e2 * a;
  const uint64_t inner = (e2a << 1) + d * k.m2p + (m2a << 1) + k.m1p;
  return (m2a2 + m1a + k.e1 * a + k.e2 * a2 + d * inner + k.addp) & mask;
}

/// Modelled device cycles of one launch with `channels` channels and n elements.
template <class Config = PolyEvalDefaultConfig>
constexpr uint64_t poly_eval_cycles(uint64_t channels, uint64_t n) {
  return Config::depth + channels + hls::ceil_div(n, Config::lanes) * Config::ii;
}

/// Launch rule of a Backend poly_eval call on [outer][channels][inner] elements with
/// launches of at most max_batch elements and max_channels channels: calls
/// fn(o0, on, c0, cn, i0, inner_len) for each launch, which covers outer rows [o0, o0 + on)
/// and channels [c0, c0 + cn) when inner_len == inner, else inner elements
/// [i0, i0 + inner_len) of one (o0, c0). In order of preference: whole [channels][inner]
/// slabs, as many outer rows as fit; channel blocks of one outer row; pieces of one
/// channel run. Its element offset is ((o0 * channels + c0) * inner + i0).
template <class F>
void poly_eval_launches(uint64_t outer, uint64_t channels, uint64_t inner, uint64_t max_batch,
                        uint64_t max_channels, F&& fn) {
  if (outer == 0 || channels == 0 || inner == 0) return;
  const uint64_t per_outer = channels * inner;
  if (channels <= max_channels && per_outer <= max_batch) {
    const uint64_t rows = max_batch / per_outer;
  poly_launch_slabs:
    for (uint64_t o0 = 0; o0 < outer; o0 += rows)
      fn(o0, outer - o0 < rows ? outer - o0 : rows, uint64_t(0), channels, uint64_t(0), inner);
  } else if (inner <= max_batch) {
    const uint64_t cb = max_channels < max_batch / inner ? max_channels : max_batch / inner;
  poly_launch_rows:
    for (uint64_t o = 0; o < outer; ++o) {
    poly_launch_channel_blocks:
      for (uint64_t c0 = 0; c0 < channels; c0 += cb)
        fn(o, uint64_t(1), c0, channels - c0 < cb ? channels - c0 : cb, uint64_t(0), inner);
    }
  } else {
  poly_launch_piece_rows:
    for (uint64_t o = 0; o < outer; ++o) {
    poly_launch_piece_channels:
      for (uint64_t ch = 0; ch < channels; ++ch) {
      poly_launch_pieces:
        for (uint64_t i0 = 0; i0 < inner; i0 += max_batch)
          fn(o, uint64_t(1), ch, uint64_t(1), i0, inner - i0 < max_batch ? inner - i0 : max_batch);
      }
    }
  }
}

/// Null when the arguments are valid for one launch, else a static message.
template <class Config = PolyEvalDefaultConfig>
inline const char* poly_eval_arg_error(int party, int bits, int mode, uint64_t outer,
                                       uint64_t channels, uint64_t inner) {
  if (party != 0 && party != 1) return "party must be 0 or 1";
  if (!hls::valid_ring_bits(bits)) return "bits must be in [8, 64]";
  if (mode != kPolyQuadratic && mode != kPolyLinearChannel && mode != kPolyLinearElement)
    return "mode must be 0 (quadratic), 1 (linear, per channel) or 2 (linear, per element)";
  if (channels > Config::max_channels) return "channels exceed the kernel's max_channels";
  if (outer * channels * inner > Config::max_batch) return "n exceeds the kernel's max_batch";
  return nullptr;
}

namespace internal {

/// Elements of one launch, or 0 when the launch must be skipped (empty, unknown mode,
/// channels > max_channels or n > max_batch). Every DATAFLOW process derives its trip
/// counts from it.
template <class Config>
inline uint32_t poly_launch_n(uint32_t outer, uint32_t channels, uint32_t inner, int mode) {
  const uint64_t n = uint64_t(outer) * channels * inner;
  const bool bad_mode =
      mode != kPolyQuadratic && mode != kPolyLinearChannel && mode != kPolyLinearElement;
  return (bad_mode || channels > Config::max_channels || n > Config::max_batch) ? uint32_t(0)
                                                                                 : uint32_t(n);
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

/// Per-channel tables (folded, PolyCoef) replicated for parallel lane reads (lane l reads
/// copy l / 2).
template <class Config>
struct PolyTables {
  static const unsigned kCopies = (Config::lanes + 1) / 2;
  uint64_t e2[kCopies][Config::max_channels];
  uint64_t m2p[kCopies][Config::max_channels];
  uint64_t e1[kCopies][Config::max_channels];
  uint64_t m1p[kCopies][Config::max_channels];
  uint64_t addp[kCopies][Config::max_channels];
};

/// Writes channel ch of every table copy.
template <class Config>
inline void poly_table_set(PolyTables<Config>& t, uint32_t ch, const PolyCoef& k) {
poly_table_copies:
  for (unsigned r = 0; r < PolyTables<Config>::kCopies; ++r) {
    POLYMPC_HLS(UNROLL)
    t.e2[r][ch] = k.e2;
    t.m2p[r][ch] = k.m2p;
    t.e1[r][ch] = k.e1;
    t.m1p[r][ch] = k.m1p;
    t.addp[r][ch] = k.addp;
  }
}

/// Channel ch of table copy r.
template <class Config>
inline PolyCoef poly_table_get(const PolyTables<Config>& t, unsigned r, uint32_t ch) {
  PolyCoef k;
  k.e2 = t.e2[r][ch];
  k.m2p = t.m2p[r][ch];
  k.e1 = t.e1[r][ch];
  k.m1p = t.m1p[r][ch];
  k.addp = t.addp[r][ch];
  return k;
}

/// The coefficients of one lane: the channel's table entry, with E1 and m1 replaced by
/// the element's own (folded here) in kPolyLinearElement.
inline PolyCoef poly_lane_coef(bool p0, bool per_element, PolyCoef k, uint64_t e1_j,
                               uint64_t m1_j) {
  if (per_element) {
    k.e1 = e1_j;
    k.m1p = m1_j + (p0 ? e1_j : uint64_t(0));
  }
  return k;
}

/// Launch flags derived from the mode.
struct PolyModeFlags {
  bool quadratic;    ///< a2, m2a, m2a2, e2, m2 are read
  bool per_element;  ///< e1, m1 have n words (else channels words)
};

inline PolyModeFlags poly_mode_flags(int mode) {
  PolyModeFlags f;
  f.quadratic = mode == kPolyQuadratic;
  f.per_element = mode == kPolyLinearElement;
  return f;
}

}  // namespace internal

/// Core (memory-mapped form). Shapes: d, a, m1a, z: outer·channels·inner words in
/// [outer][channels][inner] order; a2, m2a, m2a2: the same when mode = kPolyQuadratic (not
/// read otherwise, may be null); e1, m1: channels words, or n words when mode =
/// kPolyLinearElement; e2, m2: channels words when mode = kPolyQuadratic (not read
/// otherwise); add: channels words. Preconditions (poly_eval_arg_error): a valid mode,
/// channels <= Config::max_channels, n <= Config::max_batch; otherwise nothing is written.
template <class Config = PolyEvalDefaultConfig>
void poly_eval(int party, int bits, uint32_t outer, uint32_t channels, uint32_t inner, int mode,
               const uint64_t* d, const uint64_t* a, const uint64_t* a2, const uint64_t* m2a,
               const uint64_t* m2a2, const uint64_t* m1a, const uint64_t* e1, const uint64_t* m1,
               const uint64_t* e2, const uint64_t* m2, const uint64_t* add, uint64_t* z) {
  const uint32_t n = internal::poly_launch_n<Config>(outer, channels, inner, mode);
  if (n == 0) return;
  const internal::PolyModeFlags f = internal::poly_mode_flags(mode);
  const bool p0 = party == 0;
  const uint64_t mask = hls::ring_mask(bits);
  internal::PolyTables<Config> tab;
poly_eval_tables:
  for (uint32_t ch = 0; ch < channels; ++ch) {
    POLYMPC_HLS(PIPELINE II=1)
    POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=2048)
    internal::poly_table_set<Config>(
        tab, ch,
        poly_fold(p0, f.quadratic ? e2[ch] : uint64_t(0), f.quadratic ? m2[ch] : uint64_t(0),
                  f.per_element ? uint64_t(0) : e1[ch], f.per_element ? uint64_t(0) : m1[ch],
                  add[ch]));
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
        const PolyCoef k = internal::poly_lane_coef(
            p0, f.per_element, internal::poly_table_get<Config>(tab, l / 2, ch),
            f.per_element ? e1[j] : uint64_t(0), f.per_element ? m1[j] : uint64_t(0));
        z[j] = poly_eval_lane(mask, k, d[j], a[j], f.quadratic ? a2[j] : uint64_t(0),
                              f.quadratic ? m2a[j] : uint64_t(0),
                              f.quadratic ? m2a2[j] : uint64_t(0), m1a[j]);
      }
      internal::poly_cursor_advance(step, cur[l]);
    }
  }
}

namespace internal {

/// DATAFLOW load: first `channels` table packets {e2, m2, e1, m1, add} (entries the mode
/// does not read are 0), then per group packets of d, a, m1a and, by mode, a2, m2a, m2a2
/// (quadratic) or e1, m1 (per element).
template <class Config, class ST, class SP>
void poly_eval_load(uint32_t outer, uint32_t channels, uint32_t inner, int mode,
                    const uint64_t* d, const uint64_t* a, const uint64_t* a2,
                    const uint64_t* m2a, const uint64_t* m2a2, const uint64_t* m1a,
                    const uint64_t* e1, const uint64_t* m1, const uint64_t* e2,
                    const uint64_t* m2, const uint64_t* add, ST& st, SP& sd, SP& sa, SP& sa2,
                    SP& sm2a, SP& sm2a2, SP& sm1a, SP& se1, SP& sm1) {
  const uint32_t n = poly_launch_n<Config>(outer, channels, inner, mode);
  const uint32_t chs = n ? channels : uint32_t(0);
  const PolyModeFlags f = poly_mode_flags(mode);
poly_eval_load_tables:
  for (uint32_t ch = 0; ch < chs; ++ch) {
    POLYMPC_HLS(PIPELINE II=1)
    POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=2048)
    hls::Packet<5> pt;
    pt.w[0] = f.quadratic ? e2[ch] : uint64_t(0);
    pt.w[1] = f.quadratic ? m2[ch] : uint64_t(0);
    pt.w[2] = f.per_element ? uint64_t(0) : e1[ch];
    pt.w[3] = f.per_element ? uint64_t(0) : m1[ch];
    pt.w[4] = add[ch];
    st.write(pt);
  }
  const uint32_t groups = uint32_t(hls::ceil_div(n, Config::lanes));
poly_eval_load_groups:
  for (uint32_t g = 0; g < groups; ++g) {
    POLYMPC_HLS(PIPELINE II=1)
    POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=2097152)
    hls::Packet<Config::lanes> pd, pa, pa2, pm2a, pm2a2, pm1a, pe1, pm1;
  poly_eval_load_lanes:
    for (unsigned l = 0; l < Config::lanes; ++l) {
      POLYMPC_HLS(UNROLL)
      const uint32_t j = g * Config::lanes + l;
      const bool in = j < n;
      const bool q = in && f.quadratic, e = in && f.per_element;
      pd.w[l] = in ? d[j] : uint64_t(0);
      pa.w[l] = in ? a[j] : uint64_t(0);
      pm1a.w[l] = in ? m1a[j] : uint64_t(0);
      pa2.w[l] = q ? a2[j] : uint64_t(0);
      pm2a.w[l] = q ? m2a[j] : uint64_t(0);
      pm2a2.w[l] = q ? m2a2[j] : uint64_t(0);
      pe1.w[l] = e ? e1[j] : uint64_t(0);
      pm1.w[l] = e ? m1[j] : uint64_t(0);
    }
    sd.write(pd);
    sa.write(pa);
    sm1a.write(pm1a);
    if (f.quadratic) {
      sa2.write(pa2);
      sm2a.write(pm2a);
      sm2a2.write(pm2a2);
    }
    if (f.per_element) {
      se1.write(pe1);
      sm1.write(pm1);
    }
  }
}

/// DATAFLOW compute: tables from the table stream, then the lane cursors as in the core.
template <class Config, class ST, class SP>
void poly_eval_compute(int party, int bits, uint32_t outer, uint32_t channels, uint32_t inner,
                       int mode, ST& st, SP& sd, SP& sa, SP& sa2, SP& sm2a, SP& sm2a2, SP& sm1a,
                       SP& se1, SP& sm1, SP& sz) {
  const uint32_t n = poly_launch_n<Config>(outer, channels, inner, mode);
  const uint32_t chs = n ? channels : uint32_t(0);
  const PolyModeFlags f = poly_mode_flags(mode);
  const bool p0 = party == 0;
  const uint64_t mask = hls::ring_mask(bits);
  PolyTables<Config> tab;
poly_eval_compute_tables:
  for (uint32_t ch = 0; ch < chs; ++ch) {
    POLYMPC_HLS(PIPELINE II=1)
    POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=2048)
    const hls::Packet<5> pt = st.read();
    poly_table_set<Config>(tab, ch, poly_fold(p0, pt.w[0], pt.w[1], pt.w[2], pt.w[3], pt.w[4]));
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
    const hls::Packet<Config::lanes> pd = sd.read(), pa = sa.read(), pm1a = sm1a.read();
    hls::Packet<Config::lanes> pa2 = {}, pm2a = {}, pm2a2 = {}, pe1 = {}, pm1 = {}, pz;
    if (f.quadratic) {
      pa2 = sa2.read();
      pm2a = sm2a.read();
      pm2a2 = sm2a2.read();
    }
    if (f.per_element) {
      pe1 = se1.read();
      pm1 = sm1.read();
    }
  poly_eval_compute_lanes:
    for (unsigned l = 0; l < Config::lanes; ++l) {
      POLYMPC_HLS(UNROLL)
      const PolyCoef k = poly_lane_coef(p0, f.per_element,
                                        poly_table_get<Config>(tab, l / 2, cur[l].ch), pe1.w[l],
                                        pm1.w[l]);
      pz.w[l] = poly_eval_lane(mask, k, pd.w[l], pa.w[l], pa2.w[l], pm2a.w[l], pm2a2.w[l],
                               pm1a.w[l]);
      poly_cursor_advance(step, cur[l]);
    }
    sz.write(pz);
  }
}

/// DATAFLOW store: valid lanes of each packet to z.
template <class Config, class SP>
void poly_eval_store(uint32_t outer, uint32_t channels, uint32_t inner, int mode, SP& sz,
                     uint64_t* z) {
  const uint32_t n = poly_launch_n<Config>(outer, channels, inner, mode);
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
