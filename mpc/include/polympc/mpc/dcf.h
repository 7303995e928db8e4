// Distributed comparison functions (DCF): key format, dealer-side key generation and the
// host evaluation (docs/design.md §5 "DReLU, FSS").
//
// Construction: Boyle, Chandran, Gilboa, Gupta, Ishai, Kumar, Tkachenko, "Function Secret
// Sharing for Mixed-Mode and Fixed-Point Secure Computation", EUROCRYPT 2021, Fig. 1
// (DCF from a PRG), instantiated for f(x) = 1{x < alpha} on `depth`-bit unsigned inputs
// with output group Z_2 (beta = 1): evaluating the two keys at the same public x gives
// bits y_0 ^ y_1 = 1{x < alpha}. Security: one key is computationally indistinguishable
// from a key for any other alpha (seeds carry 126 random bits).
//
// PRG: G(s) = H(s) || H(s ^ 1), H(y) = AES-128_K(y) ^ y (fixed public key K, Matyas–Meyer–
// Oseas form); of each output block bit 0 is the control bit, bit 1 the value bit and
// bits 2..127 the child seed. One AES block per level per evaluation, four per level
// per key pair in key generation.
//
// Key format: dcf_key_words(depth) = 2·depth + 4 little-endian uint64_t words, bytes =
// 16·depth + 32 (1040 bytes for depth 63, the DReLU of a 64-bit ring):
//   [0]                 header: bits 0-15 magic 0x4344 ("DC"), bits 16-23 version 1,
//                       bits 24-31 depth, bit 32 party (0 or 1), all other bits 0
//   [1], [2]            root seed (lo, hi), bits 0-1 zero
//   [3 + 2i], [4 + 2i]  correction word of level i (i = 0 is the MSB of x):
//                       s_CW, with bit 0 = t_CW^L and bit 1 = V_CW
//   [3 + 2·depth]       bit i < depth: t_CW^R of level i; bit 63: final correction word
// The same layout is read by the kernel (kernels/dcf_eval.h, which also documents the
// evaluation step); tests/test_fss.cpp checks that both sides agree.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "polympc/mpc/errors.h"
#include "polympc/mpc/prg.h"

namespace polympc::mpc {

/// Largest DCF depth (input bits) the key format holds.
constexpr int kDcfMaxDepth = 63;
constexpr uint64_t kDcfMagic = 0x4344;
constexpr uint64_t kDcfVersion = 1;
/// The fixed public AES-128 key of the PRG (hex digits of pi, see kernels/dcf_eval.h).
constexpr uint8_t kDcfPrgKey[16] = {0x24, 0x3f, 0x6a, 0x88, 0x85, 0xa3, 0x08, 0xd3,
                                    0x13, 0x19, 0x8a, 0x2e, 0x03, 0x70, 0x73, 0x44};

/// Words of one key of the given depth: 2·depth + 4.
constexpr size_t dcf_key_words(int depth) { return static_cast<size_t>(2 * depth + 4); }
/// Bytes of one key: 16·depth + 32.
constexpr size_t dcf_key_bytes(int depth) { return 8 * dcf_key_words(depth); }
/// Header word of a key for (party, depth).
constexpr uint64_t dcf_key_header(int party, int depth) {
  return kDcfMagic | (kDcfVersion << 16) | (static_cast<uint64_t>(depth & 0xff) << 24) |
         (static_cast<uint64_t>(party & 1) << 32);
}

/// Throws InvalidArgument unless 0 <= party <= 1 and 1 <= depth <= kDcfMaxDepth.
void dcf_check_args(int party, int depth, const char* who);

/// Checks the header of every key of a batch (n keys, key j at keys + j·dcf_key_words).
/// Throws MaterialError naming `what`, the key index and the problem (not a DCF key /
/// unsupported version / depth d instead of depth / key of the other party).
void dcf_check_keys(int party, int depth, size_t n, const uint64_t* keys, const std::string& what);

/// Dealer: n key pairs for 1{x < alpha[j] mod 2^depth}; root seeds from `prg` (4 words
/// per pair). k0, k1: n·dcf_key_words(depth) words each. OpenSSL EVP AES-128-ECB.
/// Throws InvalidArgument for a depth outside [1, 63].
void dcf_gen(Prg& prg, int depth, size_t n, const uint64_t* alpha, uint64_t* k0, uint64_t* k1);
/// The same from given root seeds: seeds0/seeds1 hold (lo, hi) per key (2n words; bits 0-1
/// are ignored). Produces the keys of kernels::dcf_gen_pair bit for bit.
void dcf_gen_from_seeds(int depth, size_t n, const uint64_t* alpha, const uint64_t* seeds0,
                        const uint64_t* seeds1, uint64_t* k0, uint64_t* k1);

/// One party's evaluation on the host CPU, single thread: out bit j (bit j%64 of word
/// j/64) = this party's share of 1{x[j] mod 2^depth < alpha_j}; out has ceil(n/64) words,
/// bits past n zero. Keys in batches of 128, level by level, one OpenSSL EVP
/// AES-128-ECB call per level and batch (AES-NI). Checks each key's header as the key
/// is loaded: MaterialError as dcf_check_keys (the contents of `out` are then unspecified);
/// InvalidArgument for a bad party or depth.
/// Bit-identical to kernels::dcf_eval.
void dcf_eval_host(int party, int depth, size_t n, const uint64_t* keys, const uint64_t* x,
                   uint64_t* out);

}  // namespace polympc::mpc
