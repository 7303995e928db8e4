// SHA-256 and HMAC-SHA-256 through OpenSSL's EVP interfaces (FIPS 180-4, RFC 2104 /
// FIPS 198-1), incremental, with the length-prefixed little-endian encodings that the
// material files, the run handshake and the architecture hashes are defined over.
// Errors: polympc::Error if OpenSSL fails.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace polympc::mpc {

using Digest = std::array<uint8_t, 32>;

/// Lower-case hex of n bytes.
std::string to_hex(const uint8_t* p, size_t n);
inline std::string to_hex(const Digest& d) { return to_hex(d.data(), d.size()); }

/// Incremental SHA-256 (key = nullptr) or HMAC-SHA-256 under a key.
class Hasher {
 public:
  /// SHA-256.
  Hasher();
  /// HMAC-SHA-256 under `key` (key_bytes bytes).
  Hasher(const uint8_t* key, size_t key_bytes);
  ~Hasher();
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;

  /// Raw bytes.
  void bytes(const void* p, size_t n);
  /// 8 bytes, little-endian.
  void u64(uint64_t v);
  /// Length (u64) then the bytes, so that consecutive strings are unambiguous.
  void str(const std::string& s);
  /// The digest; the object is finished afterwards.
  Digest final();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// SHA-256 of a byte string.
Digest sha256(const std::string& s);
/// Constant-time equality of two digests (CRYPTO_memcmp).
bool digest_equal(const Digest& a, const uint8_t* b);

}  // namespace polympc::mpc
