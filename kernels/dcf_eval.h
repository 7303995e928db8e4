// DCF evaluation: one party's local step of the FSS comparison (docs/design.md §5 "DReLU,
// FSS"), the compute-bound part of a secure ReLU and the block of the design worth
// accelerating.
//
// A distributed comparison function (Boyle, Chandran, Gilboa, Gupta, Ishai, Kumar,
// Tkachenko, "Function Secret Sharing for Mixed-Mode and Fixed-Point Secure Computation",
// EUROCRYPT 2021, Fig. 1) for f(x) = beta·1{x < alpha} on `depth`-bit inputs, with the
// output group Z_2 and beta = 1: party b's key k_b evaluated at a public x gives a bit
// y_b with y_0 ^ y_1 = 1{x < alpha} (unsigned compare of the low `depth` bits). One key
// alone is pseudo-random and says nothing about alpha.
//
// PRG. G(s) = H(s) || H(s ^ 1), H(y) = AES-128_K(y) ^ y with the fixed public key K =
// kDcfPrgKey (Matyas–Meyer–Oseas / fixed-key form, aes128.h). A seed has its two low bits
// zero (126 random bits); of a 128-bit PRG output block, bit 0 is the control bit t,
// bit 1 the value bit v, bits 2..127 the next seed. Evaluation therefore costs ONE AES
// block per level (the child on x's path only): `depth` blocks per key.
//
// Key format (dcf_key_words(depth) = 2·depth + 4 little-endian 64-bit words; the same
// layout in mpc/include/polympc/mpc/dcf.h, where keys are generated):
//   [0]                 header: bits 0-15 magic 0x4344 ("DC"), 16-23 version (1),
//                       24-31 depth, bit 32 party; all other bits 0
//   [1], [2]            root seed s (lo, hi); bits 0-1 zero
//   [3 + 2i], [4 + 2i]  correction word of level i = 0..depth-1 (MSB first):
//                       s_CW with bit 0 = t_CW^L and bit 1 = V_CW
//   [3 + 2·depth]       bit i (i < depth): t_CW^R of level i; bit 63: the final
//                       correction CW^(depth+1); all other bits 0
// Level i of an evaluation at x, with x_i = bit (depth-1-i) of x:
//   blk = H(s ^ x_i);  if t: blk ^= CW_i with bit 0 replaced by t_CW^{x_i}
//   v ^= bit1(blk);  t = bit0(blk);  s = blk with bits 0-1 cleared
// and at the end y = v ^ bit2(s) ^ (t & CW^(depth+1)), starting from t = party, v = 0.
//
// Hardware shape. Keys are processed in groups of Config::group_words·64 (one packed
// output word per 64 keys); within a group the loop runs level by level over the keys,
// Config::aes_cores keys per cycle (aes_cores AES cores, each a fully unrolled
// pipeline, aes128.h). A key's next level depends on its previous one, so a group holds
// at least kAes128Latency·aes_cores keys to keep II = 1 (static_assert below).
// Bandwidth: every AES block consumes a 16-byte correction word, so aes_cores = 4 at
// 300 MHz reads 19.2 GB/s, about one DDR4 bank: scale cores with memory banks.
//
// Cycle model: cycles(n, depth) = Config::depth + ceil(n / group)·(group / aes_cores)·(depth + 1)
// (depth AES levels plus one cycle-group for loading seeds and packing the output).
//
// Contract: mpc::Backend::dcf_eval (backend.h). Keys are not validated here (kernels have
// no error path): the host checks each key's header first (dcf_key_header_ok).
#pragma once
#include <stdint.h>

#include "kernels/aes128.h"
#include "polympc/hls/cycles.h"
#include "polympc/hls/pragma.h"
#include "polympc/hls/ring.h"
#include "polympc/hls/stream.h"

POLYMPC_KERNEL_BEGIN
namespace polympc {
namespace kernels {

/// The fixed public AES-128 key of the DCF PRG: the first 16 bytes of the fractional
/// part of pi in hexadecimal (243f6a88 85a308d3 13198a2e 03707344), nothing up the sleeve.
static const uint8_t kDcfPrgKey[16] = {0x24, 0x3f, 0x6a, 0x88, 0x85, 0xa3, 0x08, 0xd3,
                                       0x13, 0x19, 0x8a, 0x2e, 0x03, 0x70, 0x73, 0x44};

/// Key-format constants (see the file comment).
const uint64_t kDcfMagic = 0x4344;
const uint64_t kDcfVersion = 1;
const int kDcfMaxDepth = 63;

/// Words of one key of the given depth.
constexpr uint32_t dcf_key_words(int depth) { return uint32_t(2 * depth + 4); }

/// The header word a key for (party, depth) carries.
constexpr uint64_t dcf_key_header(int party, int depth) {
  return kDcfMagic | (kDcfVersion << 16) | (uint64_t(depth & 0xff) << 24) |
         (uint64_t(party & 1) << 32);
}

/// True when `header` is the header of a depth-`depth` key for `party`.
constexpr bool dcf_key_header_ok(uint64_t header, int party, int depth) {
  return header == dcf_key_header(party, depth);
}

/// Default configuration (hls4ml-style).
struct DcfEvalDefaultConfig {
  /// AES blocks per cycle (AES cores, each a fully unrolled 10-round pipeline).
  static const unsigned aes_cores = 4;
  /// Keys per group = 64·group_words (interleaved to hide the AES latency).
  static const unsigned group_words = 2;
  static const unsigned ii = 1;
  /// Pipeline fill: m_axi read, key expansion (10 rounds), one AES core, write.
  static const unsigned depth =
      hls::kAxiReadLatency + 10 + kAes128Latency + hls::kAxiWriteLatency;
  /// Largest n per launch (keys).
  static const uint32_t max_batch = uint32_t(1) << 24;
};

/// Smallest group_words, a power of two of at least `at_least`, with which `aes_cores` cores
/// divide the group and keep II = 1 (the static_asserts of dcf_eval()); 0 when none does
/// (aes_cores not a power of two). Plans size the group with the cores.
constexpr unsigned dcf_group_words_for(unsigned aes_cores, unsigned at_least) {
  if (aes_cores == 0 || (aes_cores & (aes_cores - 1)) != 0 || aes_cores > (1u << 20)) return 0;
  // At least at_least, cores / 64 (cores divide the group) and kAes128Latency·cores / 64.
  unsigned need = at_least < 1 ? 1 : at_least;
  const unsigned hide = (kAes128Latency * aes_cores + 63) / 64, divide = (aes_cores + 63) / 64;
  need = need < hide ? hide : need;
  need = need < divide ? divide : need;
  // Round up to a power of two (32-bit).
  need -= 1;
  need |= need >> 1;
  need |= need >> 2;
  need |= need >> 4;
  need |= need >> 8;
  need |= need >> 16;
  return need + 1;
}

/// Modelled device cycles of one launch on n keys of the given depth.
template <class Config = DcfEvalDefaultConfig>
constexpr uint64_t dcf_eval_cycles(uint64_t n, int depth) {
  return Config::depth + hls::ceil_div(n, 64 * Config::group_words) *
                             (64 * Config::group_words / Config::aes_cores) *
                             uint64_t(depth < 0 ? 1 : depth + 1) * Config::ii;
}

/// AES blocks one party computes to evaluate n keys (the DCF's PRG calls).
constexpr uint64_t dcf_eval_aes_blocks(uint64_t n, int depth) { return n * uint64_t(depth); }

/// Null when the arguments are valid, else a static message.
inline const char* dcf_eval_arg_error(int party, int depth) {
  if (party != 0 && party != 1) return "party must be 0 or 1";
  if (depth < 1 || depth > kDcfMaxDepth) return "depth must be in [1, 63]";
  return nullptr;
}

/// The round keys of the fixed PRG key (computed once per launch).
inline void dcf_prg_key(Aes128Key& k) { aes128_expand_key(kDcfPrgKey, k); }

/// State of one key during evaluation.
struct DcfState {
  Block128 s;   ///< current seed
  uint64_t t;   ///< control bit
  uint64_t v;   ///< accumulated output share bit
  uint64_t tr;  ///< word [3 + 2·depth] of the key (t_CW^R bits, final CW in bit 63)
  uint64_t x;   ///< evaluation point
};

/// Root state of a key (header not checked).
inline DcfState dcf_state_init(int party, int depth, const uint64_t* key, uint64_t x) {
  DcfState st;
  st.s.lo = key[1];
  st.s.hi = key[2];
  st.t = uint64_t(party & 1);
  st.v = 0;
  st.tr = key[3 + 2 * depth];
  st.x = x;
  return st;
}

/// One level (see the file comment): cw_lo, cw_hi = the level's correction word.
inline void dcf_level(const Aes128Key& k, int depth, int level, uint64_t cw_lo, uint64_t cw_hi,
                      DcfState& st) {
  POLYMPC_HLS(INLINE)
  const uint64_t xb = (st.x >> (depth - 1 - level)) & 1;
  Block128 in;
  in.lo = st.s.lo ^ xb;
  in.hi = st.s.hi;
  Block128 blk = aes128_mmo(k, in);
  // t_CW of the taken side: bit 0 of the CW block (left) or bit `level` of tr (right).
  const uint64_t tcw = xb ? ((st.tr >> level) & 1) : (cw_lo & 1);
  const uint64_t m = uint64_t(0) - st.t;
  blk.lo ^= ((cw_lo & ~uint64_t(1)) | tcw) & m;
  blk.hi ^= cw_hi & m;
  st.v ^= (blk.lo >> 1) & 1;
  st.t = blk.lo & 1;
  st.s.lo = blk.lo & ~uint64_t(3);
  st.s.hi = blk.hi;
}

/// The output share bit after the last level.
inline uint64_t dcf_finish(const DcfState& st) {
  return (st.v ^ (st.s.lo >> 2) ^ (st.t & (st.tr >> 63))) & 1;
}

/// Core (memory-mapped form). Shapes: keys: n·dcf_key_words(depth) words (key j at
/// keys + j·dcf_key_words(depth)); x: n words (bits above depth ignored); out:
/// ceil(n / 64) words, bit j % 64 of word j / 64 = this party's share of
/// 1{x[j] mod 2^depth < alpha_j}, bits past n zero.
template <class Config = DcfEvalDefaultConfig>
void dcf_eval(int party, int depth, uint32_t n, const uint64_t* keys, const uint64_t* x,
              uint64_t* out) {
  const unsigned kGroup = 64 * Config::group_words;
  const unsigned kCores = Config::aes_cores;
  static_assert((64 * Config::group_words) % Config::aes_cores == 0,
                "aes_cores must divide the group size");
  static_assert((64 * Config::group_words) / Config::aes_cores >= kAes128Latency,
                "group too small to hide the AES pipeline latency at II=1");
  Aes128Key k;
  dcf_prg_key(k);
  const uint32_t kw = dcf_key_words(depth);
  const uint32_t groups = uint32_t(hls::ceil_div(n, kGroup));
dcf_eval_groups:
  for (uint32_t g = 0; g < groups; ++g) {
    POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=131072)
    DcfState st[64 * Config::group_words];
    POLYMPC_HLS(ARRAY_PARTITION variable=st cyclic factor=kCores)
    const uint32_t base = g * kGroup;
  dcf_eval_load:
    for (unsigned j = 0; j < kGroup; ++j) {
      POLYMPC_HLS(PIPELINE II=1)
      const uint32_t idx = base + j;
      if (idx < n) {
        st[j] = dcf_state_init(party, depth, keys + uint64_t(idx) * kw, x[idx]);
      } else {
        st[j].s.lo = 0;
        st[j].s.hi = 0;
        st[j].t = 0;
        st[j].v = 0;
        st[j].tr = 0;
        st[j].x = 0;
      }
    }
  dcf_eval_levels:
    for (int level = 0; level < depth; ++level) {
      POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=63)
    dcf_eval_keys:
      for (unsigned q = 0; q < kGroup / kCores; ++q) {
        POLYMPC_HLS(PIPELINE II=1)
        POLYMPC_HLS(DEPENDENCE variable=st inter false)
      dcf_eval_cores:
        for (unsigned c = 0; c < kCores; ++c) {
          POLYMPC_HLS(UNROLL)
          const unsigned j = q * kCores + c;
          const uint32_t idx = base + j;
          if (idx < n) {
            const uint64_t* cw = keys + uint64_t(idx) * kw + 3 + 2 * level;
            dcf_level(k, depth, level, cw[0], cw[1], st[j]);
          }
        }
      }
    }
  dcf_eval_pack:
    for (unsigned w = 0; w < Config::group_words; ++w) {
      POLYMPC_HLS(PIPELINE II=1)
      uint64_t word = 0;
    dcf_eval_pack_bits:
      for (unsigned b = 0; b < 64; ++b) {
        POLYMPC_HLS(UNROLL)
        const uint32_t idx = base + w * 64 + b;
        if (idx < n) word |= dcf_finish(st[w * 64 + b]) << b;
      }
      if (base + w * 64 < n) out[(base >> 6) + w] = word;
    }
  }
}

/// Reference key generation of ONE key pair for 1{x < alpha} on `depth` bits from the
/// two root seeds (bits 0-1 are cleared): Boyle et al. Fig. 1 over Z_2 with the PRG above.
/// Used by test benches and tests; the dealer's batched generator (mpc/src/dcf.cpp)
/// produces the same keys from the same seeds. k0, k1: dcf_key_words(depth) words each.
inline void dcf_gen_pair(const Aes128Key& k, int depth, uint64_t alpha, Block128 s0, Block128 s1,
                         uint64_t* k0, uint64_t* k1) {
  s0.lo &= ~uint64_t(3);
  s1.lo &= ~uint64_t(3);
  k0[0] = dcf_key_header(0, depth);
  k1[0] = dcf_key_header(1, depth);
  k0[1] = s0.lo;
  k0[2] = s0.hi;
  k1[1] = s1.lo;
  k1[2] = s1.hi;
  uint64_t t0 = 0, t1 = 1, valpha = 0, tr = 0;
dcf_gen_levels:
  for (int i = 0; i < depth; ++i) {
    POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=63)
    const uint64_t a = (alpha >> (depth - 1 - i)) & 1;
    Block128 in0 = s0, in1 = s1;
    const Block128 l0 = aes128_mmo(k, in0);
    const Block128 l1 = aes128_mmo(k, in1);
    in0.lo ^= 1;
    in1.lo ^= 1;
    const Block128 r0 = aes128_mmo(k, in0);
    const Block128 r1 = aes128_mmo(k, in1);
    const Block128 keep0 = a ? r0 : l0, keep1 = a ? r1 : l1;
    const Block128 lose0 = a ? l0 : r0, lose1 = a ? l1 : r1;
    Block128 scw;
    scw.lo = (lose0.lo ^ lose1.lo) & ~uint64_t(3);
    scw.hi = lose0.hi ^ lose1.hi;
    // V_CW = v1^Lose ^ v0^Lose ^ V_alpha ^ [Lose = L]·beta  (beta = 1; Lose = L iff a = 1)
    const uint64_t vcw = (((lose0.lo ^ lose1.lo) >> 1) & 1) ^ valpha ^ a;
    valpha ^= (((keep0.lo ^ keep1.lo) >> 1) & 1) ^ vcw;
    const uint64_t tcw_l = (l0.lo ^ l1.lo ^ a ^ 1) & 1;
    const uint64_t tcw_r = (r0.lo ^ r1.lo ^ a) & 1;
    k0[3 + 2 * i] = k1[3 + 2 * i] = scw.lo | tcw_l | (vcw << 1);
    k0[4 + 2 * i] = k1[4 + 2 * i] = scw.hi;
    tr |= tcw_r << i;
    const uint64_t tcw_keep = a ? tcw_r : tcw_l;
    const uint64_t m0 = uint64_t(0) - t0, m1 = uint64_t(0) - t1;
    s0.lo = (keep0.lo & ~uint64_t(3)) ^ (scw.lo & m0);
    s0.hi = keep0.hi ^ (scw.hi & m0);
    s1.lo = (keep1.lo & ~uint64_t(3)) ^ (scw.lo & m1);
    s1.hi = keep1.hi ^ (scw.hi & m1);
    const uint64_t nt0 = (keep0.lo ^ (t0 & tcw_keep)) & 1;
    const uint64_t nt1 = (keep1.lo ^ (t1 & tcw_keep)) & 1;
    t0 = nt0;
    t1 = nt1;
  }
  // CW^(depth+1) = convert(s1) ^ convert(s0) ^ V_alpha, convert(s) = bit 2 of s.
  const uint64_t final_cw = (((s0.lo ^ s1.lo) >> 2) & 1) ^ valpha;
  k0[3 + 2 * depth] = k1[3 + 2 * depth] = tr | (final_cw << 63);
}

namespace internal {

// DATAFLOW processes of dcf_eval_top. Per group the load stage emits, in the order the
// compute stage consumes them: the root state of each key, then level by level a packet
// of aes_cores correction words.

/// A beat of correction words, one per AES core.
template <unsigned Cores>
struct CwPacket {
  Block128 cw[Cores];
};

template <class Config, class SS, class SC>
void dcf_load(int party, int depth, uint32_t n, const uint64_t* keys, const uint64_t* x, SS& ss,
              SC& sc) {
  const unsigned kGroup = 64 * Config::group_words;
  const uint32_t kw = dcf_key_words(depth);
  const uint32_t groups = uint32_t(hls::ceil_div(n, kGroup));
dcf_load_groups:
  for (uint32_t g = 0; g < groups; ++g) {
    POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=131072)
    const uint32_t base = g * kGroup;
  dcf_load_roots:
    for (unsigned j = 0; j < kGroup; ++j) {
      POLYMPC_HLS(PIPELINE II=1)
      const uint32_t idx = base + j;
      DcfState st;
      st.s.lo = 0;
      st.s.hi = 0;
      st.t = 0;
      st.v = 0;
      st.tr = 0;
      st.x = 0;
      if (idx < n) st = dcf_state_init(party, depth, keys + uint64_t(idx) * kw, x[idx]);
      ss.write(st);
    }
  dcf_load_levels:
    for (int level = 0; level < depth; ++level) {
      POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=63)
    dcf_load_keys:
      for (unsigned q = 0; q < kGroup / Config::aes_cores; ++q) {
        POLYMPC_HLS(PIPELINE II=1)
        CwPacket<Config::aes_cores> p;
      dcf_load_cores:
        for (unsigned c = 0; c < Config::aes_cores; ++c) {
          POLYMPC_HLS(UNROLL)
          const uint32_t idx = base + q * Config::aes_cores + c;
          p.cw[c].lo = 0;
          p.cw[c].hi = 0;
          if (idx < n) {
            const uint64_t* cw = keys + uint64_t(idx) * kw + 3 + 2 * level;
            p.cw[c].lo = cw[0];
            p.cw[c].hi = cw[1];
          }
        }
        sc.write(p);
      }
    }
  }
}

template <class Config, class SS, class SC, class SW>
void dcf_compute(int depth, uint32_t n, SS& ss, SC& sc, SW& sw) {
  const unsigned kGroup = 64 * Config::group_words;
  const unsigned kCores = Config::aes_cores;
  Aes128Key k;
  dcf_prg_key(k);
  const uint32_t groups = uint32_t(hls::ceil_div(n, kGroup));
dcf_compute_groups:
  for (uint32_t g = 0; g < groups; ++g) {
    POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=131072)
    DcfState st[64 * Config::group_words];
    POLYMPC_HLS(ARRAY_PARTITION variable=st cyclic factor=kCores)
  dcf_compute_roots:
    for (unsigned j = 0; j < kGroup; ++j) {
      POLYMPC_HLS(PIPELINE II=1)
      st[j] = ss.read();
    }
  dcf_compute_levels:
    for (int level = 0; level < depth; ++level) {
      POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=63)
    dcf_compute_keys:
      for (unsigned q = 0; q < kGroup / kCores; ++q) {
        POLYMPC_HLS(PIPELINE II=1)
        POLYMPC_HLS(DEPENDENCE variable=st inter false)
        const CwPacket<Config::aes_cores> p = sc.read();
      dcf_compute_cores:
        for (unsigned c = 0; c < kCores; ++c) {
          POLYMPC_HLS(UNROLL)
          dcf_level(k, depth, level, p.cw[c].lo, p.cw[c].hi, st[q * kCores + c]);
        }
      }
    }
  dcf_compute_pack:
    for (unsigned w = 0; w < Config::group_words; ++w) {
      POLYMPC_HLS(PIPELINE II=1)
      uint64_t word = 0;
    dcf_compute_pack_bits:
      for (unsigned b = 0; b < 64; ++b) {
        POLYMPC_HLS(UNROLL)
        const uint32_t idx = g * kGroup + w * 64 + b;
        if (idx < n) word |= dcf_finish(st[w * 64 + b]) << b;
      }
      sw.write(word);
    }
  }
}

template <class Config, class SW>
void dcf_store(uint32_t n, SW& sw, uint64_t* out) {
  const uint32_t words = uint32_t(hls::ceil_div(n, 64));
  const uint32_t padded = uint32_t(hls::ceil_div(n, 64 * Config::group_words)) * Config::group_words;
dcf_store_words:
  for (uint32_t w = 0; w < padded; ++w) {
    POLYMPC_HLS(PIPELINE II=1)
    POLYMPC_HLS(LOOP_TRIPCOUNT min=1 max=262144)
    const uint64_t word = sw.read();
    if (w < words) out[w] = word;
  }
}

}  // namespace internal
}  // namespace kernels
}  // namespace polympc
POLYMPC_KERNEL_END
