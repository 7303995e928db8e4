// AES-128 encryption core (FIPS-197), the block cipher of the DCF's pseudo-random
// generator (docs/design.md §7: the secure-comparison block centres on a pipelined AES core).
//
// Block layout. A 128-bit block is two uint64_t words {lo, hi}; byte i of the FIPS-197
// byte sequence (in0 ... in15, state[r][c] = in[r + 4c]) is bits [8(i % 8), 8(i % 8) + 8)
// of lo (i < 8) or hi (i >= 8). This is the little-endian memory image of the two words,
// so the host passes the same 16 bytes to OpenSSL (cpu backend) that the kernel reads:
// outputs are bit-identical on every host, independent of its byte order. Inside the
// cipher the state is four 32-bit column words (byte j of column c = state[j][c]), so
// ShiftRows is byte selection, MixColumns is word-wide xtime, and the round keys are the
// 44 words of the FIPS-197 key schedule.
//
// Hardware shape. aes128_encrypt() is one AES core: the ten rounds are unrolled
// (aes_rounds UNROLL) and the function is inlined into a caller loop with PIPELINE II=1,
// so one core accepts one more block every cycle and holds ten blocks in flight, one per
// round stage (plus the register stages HLS adds inside a round: ~2 per round at 300 MHz,
// kAes128Latency below). The S-box is a 256-byte constant table; each of the 16 look-ups
// of each round becomes its own LUT-ROM copy (160 per core). The round keys are computed
// once per launch (aes128_expand_key) and held in registers.
//
// Test vectors: FIPS-197 Appendix A.1 (key expansion), B and C.1 (cipher), checked in
// tests/test_fss.cpp.
#pragma once
#include <stdint.h>

#include "polympc/hls/pragma.h"

POLYMPC_KERNEL_BEGIN
namespace polympc {
namespace kernels {

/// One AES block (see the file comment for the byte order).
struct Block128 {
  uint64_t lo;
  uint64_t hi;
};

/// The eleven round keys of AES-128 as the 44 words w[0..43] of FIPS-197 §5.2 (round r
/// = w[4r .. 4r+3]); byte j of a word is bits [8j, 8j + 8) (column-major, little-endian).
struct Aes128Key {
  uint32_t w[44];
};

/// Modelled latency of one AES core (cycles from block in to block out): ten round
/// stages of two register levels each (SubBytes/ShiftRows, MixColumns/AddRoundKey) plus
/// the initial AddRoundKey. An assumption for UltraScale+ at 300 MHz.
const unsigned kAes128Latency = 21;

/// The AES S-box (FIPS-197 Figure 7).
static const uint8_t kAesSbox[256] = {
    0x63, 0x7c, 0x77, 0x7b, 0xf2, 0x6b, 0x6f, 0xc5, 0x30, 0x01, 0x67, 0x2b, 0xfe, 0xd7, 0xab, 0x76,
    0xca, 0x82, 0xc9, 0x7d, 0xfa, 0x59, 0x47, 0xf0, 0xad, 0xd4, 0xa2, 0xaf, 0x9c, 0xa4, 0x72, 0xc0,
    0xb7, 0xfd, 0x93, 0x26, 0x36, 0x3f, 0xf7, 0xcc, 0x34, 0xa5, 0xe5, 0xf1, 0x71, 0xd8, 0x31, 0x15,
    0x04, 0xc7, 0x23, 0xc3, 0x18, 0x96, 0x05, 0x9a, 0x07, 0x12, 0x80, 0xe2, 0xeb, 0x27, 0xb2, 0x75,
    0x09, 0x83, 0x2c, 0x1a, 0x1b, 0x6e, 0x5a, 0xa0, 0x52, 0x3b, 0xd6, 0xb3, 0x29, 0xe3, 0x2f, 0x84,
    0x53, 0xd1, 0x00, 0xed, 0x20, 0xfc, 0xb1, 0x5b, 0x6a, 0xcb, 0xbe, 0x39, 0x4a, 0x4c, 0x58, 0xcf,
    0xd0, 0xef, 0xaa, 0xfb, 0x43, 0x4d, 0x33, 0x85, 0x45, 0xf9, 0x02, 0x7f, 0x50, 0x3c, 0x9f, 0xa8,
    0x51, 0xa3, 0x40, 0x8f, 0x92, 0x9d, 0x38, 0xf5, 0xbc, 0xb6, 0xda, 0x21, 0x10, 0xff, 0xf3, 0xd2,
    0xcd, 0x0c, 0x13, 0xec, 0x5f, 0x97, 0x44, 0x17, 0xc4, 0xa7, 0x7e, 0x3d, 0x64, 0x5d, 0x19, 0x73,
    0x60, 0x81, 0x4f, 0xdc, 0x22, 0x2a, 0x90, 0x88, 0x46, 0xee, 0xb8, 0x14, 0xde, 0x5e, 0x0b, 0xdb,
    0xe0, 0x32, 0x3a, 0x0a, 0x49, 0x06, 0x24, 0x5c, 0xc2, 0xd3, 0xac, 0x62, 0x91, 0x95, 0xe4, 0x79,
    0xe7, 0xc8, 0x37, 0x6d, 0x8d, 0xd5, 0x4e, 0xa9, 0x6c, 0x56, 0xf4, 0xea, 0x65, 0x7a, 0xae, 0x08,
    0xba, 0x78, 0x25, 0x2e, 0x1c, 0xa6, 0xb4, 0xc6, 0xe8, 0xdd, 0x74, 0x1f, 0x4b, 0xbd, 0x8b, 0x8a,
    0x70, 0x3e, 0xb5, 0x66, 0x48, 0x03, 0xf6, 0x0e, 0x61, 0x35, 0x57, 0xb9, 0x86, 0xc1, 0x1d, 0x9e,
    0xe1, 0xf8, 0x98, 0x11, 0x69, 0xd9, 0x8e, 0x94, 0x9b, 0x1e, 0x87, 0xe9, 0xce, 0x55, 0x28, 0xdf,
    0x8c, 0xa1, 0x89, 0x0d, 0xbf, 0xe6, 0x42, 0x68, 0x41, 0x99, 0x2d, 0x0f, 0xb0, 0x54, 0xbb, 0x16};

/// Multiplication by x (0x02) in GF(2^8) with the AES polynomial x^8 + x^4 + x^3 + x + 1.
inline uint8_t aes_xtime(uint8_t b) {
  return uint8_t((b << 1) ^ ((b & 0x80) ? 0x1b : 0x00));
}

/// aes_xtime on each of the four bytes of a word.
inline uint32_t aes_xtime4(uint32_t w) {
  return ((w & 0x7f7f7f7fu) << 1) ^ (((w >> 7) & 0x01010101u) * 0x1bu);
}

/// SubBytes of the four bytes of a word.
inline uint32_t aes_sub_word(uint32_t w) {
  return uint32_t(kAesSbox[w & 0xff]) | (uint32_t(kAesSbox[(w >> 8) & 0xff]) << 8) |
         (uint32_t(kAesSbox[(w >> 16) & 0xff]) << 16) | (uint32_t(kAesSbox[w >> 24]) << 24);
}

/// Bytes rotated down by 8·q bits: byte j of the result is byte (j + q) % 4 of w.
inline uint32_t aes_rot(uint32_t w, unsigned q) {
  return q == 0 ? w : (w >> (8 * q)) | (w << (32 - 8 * q));
}

/// Byte i (0..15) of round key r.
inline uint8_t aes128_round_key_byte(const Aes128Key& k, unsigned r, unsigned i) {
  return uint8_t(k.w[4 * r + i / 4] >> (8 * (i % 4)));
}

/// Block from 16 bytes in FIPS-197 order.
inline Block128 block_from_bytes(const uint8_t in[16]) {
  Block128 b;
  b.lo = 0;
  b.hi = 0;
block_from_bytes_loop:
  for (unsigned i = 0; i < 8; ++i) {
    POLYMPC_HLS(UNROLL)
    b.lo |= uint64_t(in[i]) << (8 * i);
    b.hi |= uint64_t(in[i + 8]) << (8 * i);
  }
  return b;
}

/// Key expansion (FIPS-197 §5.2): the 44 round-key words of a 16-byte cipher key.
inline void aes128_expand_key(const uint8_t key[16], Aes128Key& k) {
  uint32_t rcon = 0x01;
aes_key_copy:
  for (unsigned i = 0; i < 4; ++i) {
    POLYMPC_HLS(UNROLL)
    k.w[i] = uint32_t(key[4 * i]) | (uint32_t(key[4 * i + 1]) << 8) | (uint32_t(key[4 * i + 2]) << 16) |
             (uint32_t(key[4 * i + 3]) << 24);
  }
aes_key_words:
  for (unsigned i = 4; i < 44; ++i) {
    POLYMPC_HLS(PIPELINE II=1)
    uint32_t temp = k.w[i - 1];
    if (i % 4 == 0) {
      temp = aes_sub_word(aes_rot(temp, 1)) ^ rcon;  // SubWord(RotWord(temp)) ^ Rcon
      rcon = aes_xtime(uint8_t(rcon));
    }
    k.w[i] = k.w[i - 4] ^ temp;
  }
}

/// One output column of a round: SubBytes and ShiftRows (row q from column c + q, so the
/// caller passes columns c, c+1, c+2, c+3), MixColumns when `mix` (rounds 1..9:
/// b_q = 2 a_q ^ 3 a_(q+1) ^ a_(q+2) ^ a_(q+3)), AddRoundKey with `rk`.
inline uint32_t aes_round_column(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, bool mix,
                                 uint32_t rk) {
  POLYMPC_HLS(INLINE)
  const uint32_t a = aes_sub_word((c0 & 0x000000ffu) | (c1 & 0x0000ff00u) | (c2 & 0x00ff0000u) |
                                  (c3 & 0xff000000u));
  const uint32_t a1 = aes_rot(a, 1);
  const uint32_t mixed = aes_xtime4(a ^ a1) ^ a1 ^ aes_rot(a, 2) ^ aes_rot(a, 3);
  return (mix ? mixed : a) ^ rk;
}

/// One AES-128 encryption (FIPS-197 §5.1): ten rounds, fully unrolled, on the four state
/// columns as 32-bit words (byte j of column c = state[j][c]). Inline it into a loop with
/// PIPELINE II=1 for one block per cycle (see the file comment).
inline Block128 aes128_encrypt(const Aes128Key& k, const Block128& in) {
  POLYMPC_HLS(INLINE)
  uint32_t s0 = uint32_t(in.lo) ^ k.w[0];
  uint32_t s1 = uint32_t(in.lo >> 32) ^ k.w[1];
  uint32_t s2 = uint32_t(in.hi) ^ k.w[2];
  uint32_t s3 = uint32_t(in.hi >> 32) ^ k.w[3];
aes_rounds:
  for (unsigned r = 1; r < 11; ++r) {
    POLYMPC_HLS(UNROLL)
    const bool mix = r < 10;
    const uint32_t t0 = aes_round_column(s0, s1, s2, s3, mix, k.w[4 * r]);
    const uint32_t t1 = aes_round_column(s1, s2, s3, s0, mix, k.w[4 * r + 1]);
    const uint32_t t2 = aes_round_column(s2, s3, s0, s1, mix, k.w[4 * r + 2]);
    const uint32_t t3 = aes_round_column(s3, s0, s1, s2, mix, k.w[4 * r + 3]);
    s0 = t0;
    s1 = t1;
    s2 = t2;
    s3 = t3;
  }
  Block128 out;
  out.lo = uint64_t(s0) | (uint64_t(s1) << 32);
  out.hi = uint64_t(s2) | (uint64_t(s3) << 32);
  return out;
}

/// Fixed-key AES in Matyas–Meyer–Oseas form, H(y) = AES_k(y) ^ y: the correlation-robust
/// hash that the DCF uses as its length-doubling PRG (dcf_eval.h).
inline Block128 aes128_mmo(const Aes128Key& k, const Block128& y) {
  POLYMPC_HLS(INLINE)
  Block128 c = aes128_encrypt(k, y);
  c.lo ^= y.lo;
  c.hi ^= y.hi;
  return c;
}

}  // namespace kernels
}  // namespace polympc
POLYMPC_KERNEL_END
