#include "polympc/mpc/digest.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "polympc/mpc/errors.h"

namespace polympc::mpc {

std::string to_hex(const uint8_t* p, size_t n) {
  static const char* kDigits = "0123456789abcdef";
  std::string s(2 * n, '0');
  for (size_t i = 0; i < n; ++i) {
    s[2 * i] = kDigits[p[i] >> 4];
    s[2 * i + 1] = kDigits[p[i] & 15];
  }
  return s;
}

struct Hasher::Impl {
  EVP_MD_CTX* md = nullptr;  // SHA-256
  EVP_MAC* mac = nullptr;    // HMAC
  EVP_MAC_CTX* mac_ctx = nullptr;
  ~Impl() {
    EVP_MD_CTX_free(md);
    EVP_MAC_CTX_free(mac_ctx);
    EVP_MAC_free(mac);
  }
};

Hasher::Hasher() : impl_(std::make_unique<Impl>()) {
  impl_->md = EVP_MD_CTX_new();
  if (!impl_->md || EVP_DigestInit_ex(impl_->md, EVP_sha256(), nullptr) != 1)
    throw Error("SHA-256: OpenSSL EVP_DigestInit failed");
}

Hasher::Hasher(const uint8_t* key, size_t key_bytes) : impl_(std::make_unique<Impl>()) {
  impl_->mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  impl_->mac_ctx = impl_->mac ? EVP_MAC_CTX_new(impl_->mac) : nullptr;
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  if (!impl_->mac_ctx || EVP_MAC_init(impl_->mac_ctx, key, key_bytes, params) != 1)
    throw Error("HMAC-SHA-256: OpenSSL EVP_MAC initialisation failed");
}

Hasher::~Hasher() = default;

void Hasher::bytes(const void* p, size_t n) {
  if (n == 0) return;
  const bool ok =
      impl_->md ? EVP_DigestUpdate(impl_->md, p, n) == 1
                : EVP_MAC_update(impl_->mac_ctx, static_cast<const unsigned char*>(p), n) == 1;
  if (!ok) throw Error("SHA-256 / HMAC: OpenSSL update failed");
}

void Hasher::u64(uint64_t v) {
  unsigned char b[8];
  for (int k = 0; k < 8; ++k) b[k] = static_cast<unsigned char>(v >> (8 * k));
  bytes(b, sizeof b);
}

void Hasher::str(const std::string& s) {
  u64(s.size());
  bytes(s.data(), s.size());
}

Digest Hasher::final() {
  Digest d{};
  bool ok;
  if (impl_->md) {
    unsigned int n = 0;
    ok = EVP_DigestFinal_ex(impl_->md, d.data(), &n) == 1 && n == d.size();
  } else {
    size_t n = 0;
    ok = EVP_MAC_final(impl_->mac_ctx, d.data(), &n, d.size()) == 1 && n == d.size();
  }
  if (!ok) throw Error("SHA-256 / HMAC: OpenSSL final failed");
  return d;
}

Digest sha256(const std::string& s) {
  Hasher h;
  h.bytes(s.data(), s.size());
  return h.final();
}

bool digest_equal(const Digest& a, const uint8_t* b) {
  return CRYPTO_memcmp(a.data(), b, a.size()) == 0;
}

}  // namespace polympc::mpc
