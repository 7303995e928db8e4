// Pseudo-random generator: AES-128 in counter mode through OpenSSL EVP (AES-NI where the
// CPU has it), docs/design.md §4. Seedable and deterministic: the same 128-bit seed gives the
// same stream on every machine (the key is the seed, the counter starts at 0, the
// keystream is AES-128-CTR of zero plaintext, NIST SP 800-38A).
//
// Every PRG that produces secrets (dealer material, input shares) is keyed with
// random_seed(): 128 bits from the OS CSPRNG through OpenSSL's RAND_bytes (DRBG of
// NIST SP 800-90A seeded from getrandom). Fixed seeds (seed_from_u64) are for tests and
// for the CLI's explicitly insecure --insecure-test-seed only.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace polympc::mpc {

using Seed = std::array<uint8_t, 16>;

/// Seed from a 64-bit integer (little-endian into the low 8 bytes). INSECURE: 64 bits a
/// user chose; for tests and --insecure-test-seed only.
Seed seed_from_u64(uint64_t s);
/// 128 bits from the OS CSPRNG (OpenSSL RAND_bytes). Throws polympc::Error if the CSPRNG
/// cannot deliver (never falls back to a weaker source).
Seed random_seed();
/// n bytes from the OS CSPRNG (OpenSSL RAND_bytes); throws polympc::Error on failure.
void random_bytes(void* out, size_t n);

class Prg {
 public:
  explicit Prg(const Seed& seed);
  ~Prg();
  Prg(Prg&&) noexcept;
  Prg& operator=(Prg&&) noexcept;
  Prg(const Prg&) = delete;
  Prg& operator=(const Prg&) = delete;

  /// Fills n bytes of keystream. Throws polympc::Error if OpenSSL fails.
  void bytes(void* out, size_t n);
  /// n uniformly random words masked to `bits` bits (1..64).
  std::vector<uint64_t> words(size_t n, int bits = 64);
  void fill_words(uint64_t* out, size_t n, int bits = 64);
  uint64_t next_u64();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace polympc::mpc
