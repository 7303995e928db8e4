// Tests of mpc/prg.h: AES-128-CTR keystream against NIST/FIPS vectors and an independent
// AES-128-ECB computation, determinism, seeds, masking and rough uniformity.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "polympc/mpc/errors.h"
#include "polympc/mpc/prg.h"

namespace {

using polympc::mpc::Prg;
using polympc::mpc::Seed;
using polympc::mpc::seed_from_u64;
using Block = std::array<uint8_t, 16>;

std::vector<uint8_t> from_hex(const std::string& hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

/// One-shot EVP encryption (no padding) of `in` with `cipher`; the test's independent
/// reference, separate from the Prg implementation.
std::vector<uint8_t> evp_encrypt(const EVP_CIPHER* cipher, const uint8_t* key, const uint8_t* iv,
                                 const std::vector<uint8_t>& in) {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  EXPECT_NE(ctx, nullptr);
  std::vector<uint8_t> out(in.size() + 16);
  int n1 = 0, n2 = 0;
  EXPECT_EQ(EVP_EncryptInit_ex(ctx, cipher, nullptr, key, iv), 1);
  EXPECT_EQ(EVP_CIPHER_CTX_set_padding(ctx, 0), 1);
  EXPECT_EQ(EVP_EncryptUpdate(ctx, out.data(), &n1, in.data(), static_cast<int>(in.size())), 1);
  EXPECT_EQ(EVP_EncryptFinal_ex(ctx, out.data() + n1, &n2), 1);
  EVP_CIPHER_CTX_free(ctx);
  out.resize(static_cast<size_t>(n1 + n2));
  return out;
}

/// AES-128(key, counter block i) with i big-endian in the 16-byte block, via EVP ECB.
Block aes_ecb_counter(const Seed& key, uint64_t i) {
  std::vector<uint8_t> ctr(16, 0);
  for (int b = 0; b < 8; ++b) ctr[15 - static_cast<size_t>(b)] = static_cast<uint8_t>(i >> (8 * b));
  auto c = evp_encrypt(EVP_aes_128_ecb(), key.data(), nullptr, ctr);
  Block out{};
  std::memcpy(out.data(), c.data(), 16);
  return out;
}

TEST(Aes128, Fips197AppendixC1ThroughOpenSsl) {
  auto key = from_hex("000102030405060708090a0b0c0d0e0f");
  auto pt = from_hex("00112233445566778899aabbccddeeff");
  auto ct = evp_encrypt(EVP_aes_128_ecb(), key.data(), nullptr, pt);
  EXPECT_EQ(ct, from_hex("69c4e0d86a7b0430d8cdb78070b4c55a"));
}

TEST(Aes128, Sp80038aF51CtrThroughOpenSsl) {
  // NIST SP 800-38A F.5.1 CTR-AES128.Encrypt; the counter crosses ...feff -> ...ff00,
  // i.e. a carry out of the last byte, as in Prg's big-endian counter.
  auto key = from_hex("2b7e151628aed2a6abf7158809cf4f3c");
  auto iv = from_hex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
  auto pt = from_hex(
      "6bc1bee22e409f96e93d7e117393172a"
      "ae2d8a571e03ac9c9eb76fac45af8e51"
      "30c81c46a35ce411e5fbc1191a0a52ef"
      "f69f2445df4f9b17ad2b417be66c3710");
  auto ct = evp_encrypt(EVP_aes_128_ctr(), key.data(), iv.data(), pt);
  EXPECT_EQ(ct, from_hex("874d6191b620e3261bef6864990db6ce"
                         "9806f66b7970fdff8617187bb9fffdff"
                         "5ae4df3edbd5d35e5b4f09020db03eab"
                         "1e031dda2fbe03d1792170a0f3009cee"));
  // Same check through the keystream definition: CTR output = plaintext XOR
  // AES(key, counter), with the counter blocks computed independently by ECB.
  for (size_t blk = 0; blk < 4; ++blk) {
    std::vector<uint8_t> ctr(iv);
    ctr[15] = static_cast<uint8_t>(0xff + blk);           // low byte wraps after block 0
    if (blk > 0) ctr[14] = static_cast<uint8_t>(0xff);    // carry into byte 14: fe -> ff
    auto ks = evp_encrypt(EVP_aes_128_ecb(), key.data(), nullptr, ctr);
    for (size_t j = 0; j < 16; ++j)
      EXPECT_EQ(static_cast<uint8_t>(pt[16 * blk + j] ^ ks[j]), ct[16 * blk + j]);
  }
}

TEST(Prg, KeystreamIsAes128OfCounterBlocks) {
  Seed seed{};
  auto key = from_hex("2b7e151628aed2a6abf7158809cf4f3c");
  std::memcpy(seed.data(), key.data(), 16);
  Prg prg(seed);
  constexpr size_t kBlocks = 300;  // crosses 255 -> 256: a carry into the second-last byte
  std::vector<uint8_t> ks(16 * kBlocks);
  prg.bytes(ks.data(), ks.size());
  for (uint64_t i = 0; i < kBlocks; ++i) {
    Block expect = aes_ecb_counter(seed, i);
    ASSERT_EQ(0, std::memcmp(ks.data() + 16 * i, expect.data(), 16)) << "counter block " << i;
  }
  // Block 0 of this key is a fixed value (AES-128 of the zero block under the SP 800-38A
  // key), so the stream is pinned independently of EVP's CTR mode as well.
  EXPECT_EQ(std::vector<uint8_t>(ks.begin(), ks.begin() + 16),
            evp_encrypt(EVP_aes_128_ecb(), key.data(), nullptr, std::vector<uint8_t>(16, 0)));
}

TEST(Prg, WordsAreLittleEndianKeystream) {
  Seed seed = seed_from_u64(0x0123456789abcdefull);
  EXPECT_EQ(seed[0], 0xef);
  EXPECT_EQ(seed[7], 0x01);
  EXPECT_EQ(seed[8], 0);
  EXPECT_EQ(seed[15], 0);
  Prg prg(seed);
  Block b0 = aes_ecb_counter(seed, 0);
  uint64_t lo = 0, hi = 0;
  for (int i = 7; i >= 0; --i) {
    lo = (lo << 8) | b0[static_cast<size_t>(i)];
    hi = (hi << 8) | b0[static_cast<size_t>(8 + i)];
  }
  EXPECT_EQ(prg.next_u64(), lo);
  EXPECT_EQ(prg.next_u64(), hi);
}

TEST(Prg, DeterministicAndIndependentOfRequestSizes) {
  constexpr size_t kTotal = 200000;
  std::vector<uint8_t> one(kTotal);
  Prg a(seed_from_u64(7));
  a.bytes(one.data(), one.size());

  // The same stream read in awkward pieces (small, buffer-crossing, larger than the
  // internal buffer) and through the word interfaces.
  Prg b(seed_from_u64(7));
  std::vector<uint8_t> pieces(kTotal);
  size_t off = 0;
  const size_t sizes[] = {1, 3, 16, 5000, 17, 70000, 0, 8, 4096, 33333};
  for (size_t k = 0; off < kTotal; ++k) {
    size_t n = std::min(sizes[k % 10], kTotal - off);
    b.bytes(pieces.data() + off, n);
    off += n;
  }
  EXPECT_TRUE(pieces == one);

  Prg c(seed_from_u64(7));
  std::vector<uint64_t> w(kTotal / 8);
  for (size_t i = 0; i < 100; ++i) w[i] = c.next_u64();
  c.fill_words(w.data() + 100, 1000);
  auto rest = c.words(w.size() - 1100);
  std::copy(rest.begin(), rest.end(), w.begin() + 1100);
  for (size_t i = 0; i < w.size(); ++i) {
    uint64_t expect = 0;
    for (int j = 7; j >= 0; --j) expect = (expect << 8) | one[8 * i + static_cast<size_t>(j)];
    ASSERT_EQ(w[i], expect) << "word " << i;
  }

  // Moving keeps the stream position.
  Prg d(seed_from_u64(7));
  d.next_u64();
  Prg e(std::move(d));
  uint64_t second = e.next_u64();
  uint64_t expect = 0;
  for (int j = 7; j >= 0; --j) expect = (expect << 8) | one[8 + static_cast<size_t>(j)];
  EXPECT_EQ(second, expect);
}

TEST(Prg, DifferentSeedsDiffer) {
  auto x = Prg(seed_from_u64(1)).words(64);
  auto y = Prg(seed_from_u64(2)).words(64);
  Seed s = seed_from_u64(1);
  s[15] = 1;  // differs only in the high half
  auto z = Prg(s).words(64);
  int same_xy = 0, same_xz = 0;
  for (size_t i = 0; i < 64; ++i) {
    same_xy += x[i] == y[i];
    same_xz += x[i] == z[i];
  }
  EXPECT_EQ(same_xy, 0);
  EXPECT_EQ(same_xz, 0);
  EXPECT_EQ(Prg(seed_from_u64(1)).words(64), x);
}

TEST(Prg, MasksToBits) {
  for (int bits : {1, 7, 8, 13, 32, 37, 63, 64}) {
    Prg prg(seed_from_u64(static_cast<uint64_t>(bits)));
    auto w = prg.words(4096, bits);
    uint64_t mask = bits == 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
    uint64_t seen_or = 0;
    for (uint64_t v : w) {
      ASSERT_EQ(v & ~mask, 0u) << "bits " << bits;
      seen_or |= v;
    }
    EXPECT_EQ(seen_or, mask) << "every allowed bit occurs, bits " << bits;
    // Masking keeps the low bits of the unmasked stream.
    auto full = Prg(seed_from_u64(static_cast<uint64_t>(bits))).words(4096, 64);
    for (size_t i = 0; i < w.size(); ++i) ASSERT_EQ(w[i], full[i] & mask);
  }
  Prg prg(seed_from_u64(3));
  EXPECT_THROW(prg.words(4, 0), polympc::mpc::InvalidArgument);
  EXPECT_THROW(prg.words(4, 65), polympc::mpc::InvalidArgument);
  EXPECT_TRUE(prg.words(0).empty());
}

TEST(Prg, BitFrequenciesRoughlyUniform) {
  constexpr size_t kWords = 1000000;
  Prg prg(seed_from_u64(2024));
  auto w = prg.words(kWords);
  std::array<uint64_t, 64> ones{};
  for (uint64_t v : w)
    for (int b = 0; b < 64; ++b) ones[static_cast<size_t>(b)] += (v >> b) & 1;
  // Binomial(1e6, 1/2): sd = 500; 6 sd is a bound no correct stream should hit.
  const double mean = kWords / 2.0, sd = std::sqrt(kWords * 0.25);
  for (int b = 0; b < 64; ++b)
    EXPECT_LT(std::fabs(static_cast<double>(ones[static_cast<size_t>(b)]) - mean), 6 * sd)
        << "bit " << b;
  // Byte values over the same data: chi-square with 255 degrees of freedom.
  std::array<uint64_t, 256> hist{};
  for (uint64_t v : w)
    for (int j = 0; j < 8; ++j) ++hist[(v >> (8 * j)) & 0xff];
  const double expect = kWords * 8 / 256.0;
  double chi2 = 0;
  for (uint64_t h : hist) chi2 += (h - expect) * (h - expect) / expect;
  EXPECT_LT(chi2, 400.0);  // p < 1e-7 for a uniform source
  EXPECT_GT(chi2, 150.0);  // suspiciously perfect
}

}  // namespace
