// AES-128-CTR pseudo-random generator (prg.h, docs/design.md §4), through OpenSSL EVP.
//
// The stream is AES-128-CTR (NIST SP 800-38A §6.5) with key = seed, initial counter
// block 0 (big-endian 128-bit increment, as OpenSSL's CTR mode does), applied to zero
// plaintext: block i of the stream is AES-128(seed, i). Keystream is produced in
// kBufferBytes chunks so that small requests (next_u64) cost a memcpy; requests larger
// than the buffer are encrypted straight into the caller's memory. Words are read
// little-endian from the stream, so the values are the same on every machine.
#include "polympc/mpc/prg.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <string>

#include "polympc/mpc/errors.h"

namespace polympc::mpc {
namespace {

constexpr size_t kBufferBytes = 16 * 1024;  // multiple of the AES block size
constexpr size_t kMaxUpdateBytes = size_t{1} << 30;  // EVP_EncryptUpdate takes an int

[[noreturn]] void throw_openssl(const char* what) {
  unsigned long code = ERR_get_error();
  std::string msg = std::string("PRG: OpenSSL ") + what + " failed";
  if (code != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    msg += ": ";
    msg += buf;
  }
  ERR_clear_error();
  throw Error(msg);
}

uint64_t load_le64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

uint64_t bits_mask(int bits) {
  if (bits < 1 || bits > 64)
    throw InvalidArgument("PRG: word width must be 1..64 bits, got " + std::to_string(bits));
  return bits == 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
}

}  // namespace

Seed seed_from_u64(uint64_t s) {
  Seed seed{};
  for (int i = 0; i < 8; ++i) seed[static_cast<size_t>(i)] = static_cast<uint8_t>(s >> (8 * i));
  return seed;
}

void random_bytes(void* out, size_t n) {
  auto* p = static_cast<unsigned char*>(out);
  while (n > 0) {
    const size_t chunk = std::min<size_t>(n, kMaxUpdateBytes);
    if (RAND_bytes(p, static_cast<int>(chunk)) != 1) throw_openssl("RAND_bytes (OS CSPRNG)");
    p += chunk;
    n -= chunk;
  }
}

Seed random_seed() {
  Seed s{};
  random_bytes(s.data(), s.size());
  return s;
}

struct Prg::Impl {
  EVP_CIPHER_CTX* ctx = nullptr;
  uint8_t buf[kBufferBytes];
  size_t pos = kBufferBytes;  // next unused byte of buf; == size: empty

  explicit Impl(const Seed& seed) {
    ctx = EVP_CIPHER_CTX_new();
    if (ctx == nullptr) throw_openssl("EVP_CIPHER_CTX_new");
    const uint8_t iv[16] = {};
    if (EVP_EncryptInit_ex(ctx, EVP_aes_128_ctr(), nullptr, seed.data(), iv) != 1) {
      EVP_CIPHER_CTX_free(ctx);
      ctx = nullptr;
      throw_openssl("EVP_EncryptInit_ex(aes-128-ctr)");
    }
  }
  ~Impl() { EVP_CIPHER_CTX_free(ctx); }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  /// Writes the next n keystream bytes to out (encrypts zeros in place).
  void keystream(uint8_t* out, size_t n) {
    std::memset(out, 0, n);
    while (n > 0) {
      size_t chunk = std::min(n, kMaxUpdateBytes);
      int outl = 0;
      if (EVP_EncryptUpdate(ctx, out, &outl, out, static_cast<int>(chunk)) != 1 ||
          outl != static_cast<int>(chunk))
        throw_openssl("EVP_EncryptUpdate(aes-128-ctr)");
      out += chunk;
      n -= chunk;
    }
  }

  void refill() {
    keystream(buf, kBufferBytes);
    pos = 0;
  }

  void bytes(uint8_t* out, size_t n) {
    // 1) whatever is left in the buffer
    size_t k = std::min(n, kBufferBytes - pos);
    std::memcpy(out, buf + pos, k);
    pos += k;
    out += k;
    n -= k;
    if (n == 0) return;
    // 2) the buffer is empty: large requests bypass it, keeping the buffer empty
    if (n >= kBufferBytes) {
      size_t direct = n - n % kBufferBytes;
      keystream(out, direct);
      out += direct;
      n -= direct;
      if (n == 0) return;
    }
    // 3) the tail from a fresh buffer
    refill();
    std::memcpy(out, buf, n);
    pos = n;
  }
};

Prg::Prg(const Seed& seed) : impl_(std::make_unique<Impl>(seed)) {}
Prg::~Prg() = default;
Prg::Prg(Prg&&) noexcept = default;
Prg& Prg::operator=(Prg&&) noexcept = default;

void Prg::bytes(void* out, size_t n) {
  if (!impl_) throw Error("PRG: use of a moved-from Prg");
  if (n == 0) return;
  impl_->bytes(static_cast<uint8_t*>(out), n);
}

void Prg::fill_words(uint64_t* out, size_t n, int bits) {
  const uint64_t mask = bits_mask(bits);
  if (n == 0) return;
  if (n > SIZE_MAX / 8) throw InvalidArgument("PRG: too many words requested");
  bytes(out, n * 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  if (mask != ~uint64_t{0})
    for (size_t i = 0; i < n; ++i) out[i] &= mask;
#else
  for (size_t i = 0; i < n; ++i) {
    uint8_t b[8];
    std::memcpy(b, &out[i], 8);
    out[i] = load_le64(b) & mask;
  }
#endif
}

std::vector<uint64_t> Prg::words(size_t n, int bits) {
  bits_mask(bits);  // validate before allocating
  std::vector<uint64_t> v(n);
  fill_words(v.data(), n, bits);
  return v;
}

uint64_t Prg::next_u64() {
  if (!impl_) throw Error("PRG: use of a moved-from Prg");
  uint8_t b[8];
  if (impl_->pos + 8 <= kBufferBytes) {
    std::memcpy(b, impl_->buf + impl_->pos, 8);
    impl_->pos += 8;
  } else {
    impl_->bytes(b, 8);
  }
  return load_le64(b);
}

}  // namespace polympc::mpc
