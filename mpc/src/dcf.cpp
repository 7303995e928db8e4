// DCF key generation and host evaluation (dcf.h): Boyle et al. (EUROCRYPT'21) Fig. 1 over
// Z_2 with a fixed-key AES-128 PRG in Matyas–Meyer–Oseas form, batched so that each
// OpenSSL call encrypts hundreds of blocks (AES-NI pipelines independent blocks).
#include "polympc/mpc/dcf.h"

#include <openssl/err.h>
#include <openssl/evp.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <vector>

#include "polympc/mpc/backend.h"

namespace polympc::mpc {
namespace {

/// Keys evaluated together, level by level (a multiple of 64: one output word each).
constexpr size_t kEvalBatch = 128;
/// Key pairs generated together.
constexpr size_t kGenBatch = 256;

[[noreturn]] void throw_openssl(const char* what) {
  unsigned long code = ERR_get_error();
  std::string msg = std::string("DCF: OpenSSL ") + what + " failed";
  if (code != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    msg += ": ";
    msg += buf;
  }
  ERR_clear_error();
  throw Error(msg);
}

/// AES-128-ECB under the fixed PRG key, one context per object (not thread-safe; one per
/// thread). Blocks are the little-endian memory image of (lo, hi) word pairs.
class FixedKeyAes {
 public:
  FixedKeyAes() {
    ctx_ = EVP_CIPHER_CTX_new();
    if (ctx_ == nullptr) throw_openssl("EVP_CIPHER_CTX_new");
    if (EVP_EncryptInit_ex(ctx_, EVP_aes_128_ecb(), nullptr, kDcfPrgKey, nullptr) != 1) {
      EVP_CIPHER_CTX_free(ctx_);
      throw_openssl("EVP_EncryptInit_ex(aes-128-ecb)");
    }
    EVP_CIPHER_CTX_set_padding(ctx_, 0);
  }
  ~FixedKeyAes() { EVP_CIPHER_CTX_free(ctx_); }
  FixedKeyAes(const FixedKeyAes&) = delete;
  FixedKeyAes& operator=(const FixedKeyAes&) = delete;

  /// out[i] = AES_K(in[i]) for `blocks` blocks of two words each.
  void encrypt(const uint64_t* in, uint64_t* out, size_t blocks) {
    static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
                  "the DCF block layout assumes a little-endian host");
    if (blocks == 0) return;
    int outl = 0;
    if (EVP_EncryptUpdate(ctx_, reinterpret_cast<unsigned char*>(out), &outl,
                          reinterpret_cast<const unsigned char*>(in), static_cast<int>(blocks * 16)) != 1 ||
        outl != static_cast<int>(blocks * 16))
      throw_openssl("EVP_EncryptUpdate(aes-128-ecb)");
  }

 private:
  EVP_CIPHER_CTX* ctx_ = nullptr;
};

std::string key_problem(uint64_t header, int party, int depth) {
  if ((header & 0xffff) != kDcfMagic) return "is not a DCF key (bad magic)";
  if (((header >> 16) & 0xff) != kDcfVersion)
    return "has key format version " + std::to_string((header >> 16) & 0xff) + ", expected " +
           std::to_string(kDcfVersion);
  const int d = static_cast<int>((header >> 24) & 0xff);
  if (d != depth) return "has depth " + std::to_string(d) + ", expected " + std::to_string(depth);
  const int p = static_cast<int>((header >> 32) & 1);
  if (p != party) return "belongs to P" + std::to_string(p) + ", but this is P" + std::to_string(party);
  if (header != dcf_key_header(party, depth)) return "has a malformed header";
  return {};
}

}  // namespace

void dcf_check_args(int party, int depth, const char* who) {
  if (party != 0 && party != 1)
    throw InvalidArgument(std::string(who) + ": party must be 0 or 1, got " + std::to_string(party));
  if (depth < 1 || depth > kDcfMaxDepth)
    throw InvalidArgument(std::string(who) + ": DCF depth " + std::to_string(depth) + " outside [1, " +
                          std::to_string(kDcfMaxDepth) + "]");
}

void dcf_check_keys(int party, int depth, size_t n, const uint64_t* keys, const std::string& what) {
  const size_t kw = dcf_key_words(depth);
  for (size_t j = 0; j < n; ++j) {
    const uint64_t h = keys[j * kw];
    if (h == dcf_key_header(party, depth)) continue;
    throw MaterialError(what + ": DCF key " + std::to_string(j) + " of " + std::to_string(n) + " " +
                        key_problem(h, party, depth) + " (wrong or corrupt preprocessing material)");
  }
}

void dcf_gen_from_seeds(int depth, size_t n, const uint64_t* alpha, const uint64_t* seeds0,
                        const uint64_t* seeds1, uint64_t* k0, uint64_t* k1) {
  dcf_check_args(0, depth, "dcf_gen");
  const size_t kw = dcf_key_words(depth);
  FixedKeyAes aes;
  // Per key of a batch: s0, s1 (lo, hi), t0, t1, V_alpha, t_CW^R bits.
  std::vector<uint64_t> s(4 * kGenBatch), t(2 * kGenBatch), va(kGenBatch), tr(kGenBatch);
  std::vector<uint64_t> in(8 * kGenBatch), out(8 * kGenBatch);
  for (size_t base = 0; base < n; base += kGenBatch) {
    const size_t m = std::min(kGenBatch, n - base);
    for (size_t j = 0; j < m; ++j) {
      const size_t id = base + j;
      s[4 * j] = seeds0[2 * id] & ~uint64_t{3};
      s[4 * j + 1] = seeds0[2 * id + 1];
      s[4 * j + 2] = seeds1[2 * id] & ~uint64_t{3};
      s[4 * j + 3] = seeds1[2 * id + 1];
      t[2 * j] = 0;
      t[2 * j + 1] = 1;
      va[j] = 0;
      tr[j] = 0;
      uint64_t* a = k0 + id * kw;
      uint64_t* b = k1 + id * kw;
      a[0] = dcf_key_header(0, depth);
      b[0] = dcf_key_header(1, depth);
      a[1] = s[4 * j];
      a[2] = s[4 * j + 1];
      b[1] = s[4 * j + 2];
      b[2] = s[4 * j + 3];
    }
    for (int i = 0; i < depth; ++i) {
      // Blocks per key: s0, s0^1, s1, s1^1 -> L0, R0, L1, R1.
      for (size_t j = 0; j < m; ++j) {
        uint64_t* p = in.data() + 8 * j;
        p[0] = s[4 * j];
        p[1] = s[4 * j + 1];
        p[2] = s[4 * j] ^ 1;
        p[3] = s[4 * j + 1];
        p[4] = s[4 * j + 2];
        p[5] = s[4 * j + 3];
        p[6] = s[4 * j + 2] ^ 1;
        p[7] = s[4 * j + 3];
      }
      aes.encrypt(in.data(), out.data(), 4 * m);
      const int sh = depth - 1 - i;
      for (size_t j = 0; j < m; ++j) {
        uint64_t* o = out.data() + 8 * j;
        const uint64_t* p = in.data() + 8 * j;
        for (int q = 0; q < 8; ++q) o[q] ^= p[q];  // MMO
        const uint64_t a = (alpha[base + j] >> sh) & 1;
        const uint64_t* l0 = o;
        const uint64_t* r0 = o + 2;
        const uint64_t* l1 = o + 4;
        const uint64_t* r1 = o + 6;
        const uint64_t* keep0 = a ? r0 : l0;
        const uint64_t* keep1 = a ? r1 : l1;
        const uint64_t* lose0 = a ? l0 : r0;
        const uint64_t* lose1 = a ? l1 : r1;
        const uint64_t scw_lo = (lose0[0] ^ lose1[0]) & ~uint64_t{3};
        const uint64_t scw_hi = lose0[1] ^ lose1[1];
        const uint64_t vcw = (((lose0[0] ^ lose1[0]) >> 1) & 1) ^ va[j] ^ a;
        va[j] ^= (((keep0[0] ^ keep1[0]) >> 1) & 1) ^ vcw;
        const uint64_t tcw_l = (l0[0] ^ l1[0] ^ a ^ 1) & 1;
        const uint64_t tcw_r = (r0[0] ^ r1[0] ^ a) & 1;
        const size_t id = base + j;
        uint64_t* cw0 = k0 + id * kw + 3 + 2 * static_cast<size_t>(i);
        uint64_t* cw1 = k1 + id * kw + 3 + 2 * static_cast<size_t>(i);
        cw0[0] = cw1[0] = scw_lo | tcw_l | (vcw << 1);
        cw0[1] = cw1[1] = scw_hi;
        tr[j] |= tcw_r << i;
        const uint64_t tcw_keep = a ? tcw_r : tcw_l;
        const uint64_t m0 = uint64_t{0} - t[2 * j], m1 = uint64_t{0} - t[2 * j + 1];
        s[4 * j] = (keep0[0] & ~uint64_t{3}) ^ (scw_lo & m0);
        s[4 * j + 1] = keep0[1] ^ (scw_hi & m0);
        s[4 * j + 2] = (keep1[0] & ~uint64_t{3}) ^ (scw_lo & m1);
        s[4 * j + 3] = keep1[1] ^ (scw_hi & m1);
        t[2 * j] = (keep0[0] ^ (t[2 * j] & tcw_keep)) & 1;
        t[2 * j + 1] = (keep1[0] ^ (t[2 * j + 1] & tcw_keep)) & 1;
      }
    }
    for (size_t j = 0; j < m; ++j) {
      const uint64_t final_cw = (((s[4 * j] ^ s[4 * j + 2]) >> 2) & 1) ^ va[j];
      const size_t id = base + j;
      k0[id * kw + 3 + 2 * static_cast<size_t>(depth)] = tr[j] | (final_cw << 63);
      k1[id * kw + 3 + 2 * static_cast<size_t>(depth)] = tr[j] | (final_cw << 63);
    }
  }
}

void dcf_gen(Prg& prg, int depth, size_t n, const uint64_t* alpha, uint64_t* k0, uint64_t* k1) {
  dcf_check_args(0, depth, "dcf_gen");
  std::vector<uint64_t> seeds(4 * std::min(n, kGenBatch));
  for (size_t base = 0; base < n; base += kGenBatch) {
    const size_t m = std::min(kGenBatch, n - base);
    prg.fill_words(seeds.data(), 4 * m);
    const size_t kw = dcf_key_words(depth);
    dcf_gen_from_seeds(depth, m, alpha + base, seeds.data(), seeds.data() + 2 * m, k0 + base * kw,
                       k1 + base * kw);
  }
}

void dcf_eval_host(int party, int depth, size_t n, const uint64_t* keys, const uint64_t* x,
                   uint64_t* out) {
  dcf_check_args(party, depth, "dcf_eval");
  const uint64_t header = dcf_key_header(party, depth);
  const size_t kw = dcf_key_words(depth);
  FixedKeyAes aes;
  // Per key of a batch: the AES input (seed ^ path bit), tv = control bit (bit 0) and
  // value bit (bit 1), the t_CW^R word, the evaluation point.
  alignas(64) uint64_t in[2 * kEvalBatch], enc[2 * kEvalBatch];
  uint64_t tv[kEvalBatch], tr[kEvalBatch], xs[kEvalBatch];
  for (size_t base = 0; base < n; base += kEvalBatch) {
    const size_t m = std::min(kEvalBatch, n - base);
    const int top = depth - 1;
    const uint64_t* first = keys + base * kw;
    for (size_t j = 0; j < m; ++j) {
      const uint64_t* key = first + j * kw;
      if (key[0] != header) dcf_check_keys(party, depth, n, keys, "dcf_eval");  // throws, naming the key
      xs[j] = x[base + j];
      tv[j] = static_cast<uint64_t>(party);
      tr[j] = key[3 + 2 * static_cast<size_t>(depth)];
      in[2 * j] = key[1] ^ ((xs[j] >> top) & 1);
      in[2 * j + 1] = key[2];
    }
    for (int i = 0; i < depth; ++i) {
      aes.encrypt(in, enc, m);
      const int sh = depth - 1 - i;
      // Path bit of the next level (none after the last level).
      const int sh_next = sh > 0 ? sh - 1 : 0;
      const uint64_t next = sh > 0 ? 1 : 0;
      const uint64_t* c = first + 3 + 2 * static_cast<size_t>(i);
      for (size_t j = 0; j < m; ++j, c += kw) {
        // Keys are read one 16-byte correction word per level, kw words apart: too many
        // streams for the hardware prefetcher. Fetch two cache lines (8 levels) ahead.
        __builtin_prefetch(c + 16);
        const uint64_t xj = xs[j];
        const uint64_t xb = (xj >> sh) & 1;
        const uint64_t c_lo = c[0], c_hi = c[1];
        // Correction word of the taken side: bit 0 is t_CW^L (left) or bit i of the
        // t_CW^R word (right), chosen without a branch.
        const uint64_t cl = c_lo ^ ((c_lo ^ (tr[j] >> i)) & xb);
        const uint64_t tvj = tv[j];
        const uint64_t msk = uint64_t{0} - (tvj & 1);
        const uint64_t lo = enc[2 * j] ^ in[2 * j] ^ (cl & msk);   // MMO, then correction
        const uint64_t hi = enc[2 * j + 1] ^ in[2 * j + 1] ^ (c_hi & msk);
        tv[j] = (tvj & 2) ^ (lo & 3);  // v ^= bit 1, t = bit 0
        in[2 * j] = (lo & ~uint64_t{3}) | ((xj >> sh_next) & next);
        in[2 * j + 1] = hi;
      }
    }
    // Final: y = v ^ convert(s) ^ t·CW^(depth+1); the last seed is in `in`.
    for (size_t w = 0; w < (m + 63) / 64; ++w) {
      uint64_t word = 0;
      const size_t lim = std::min<size_t>(64, m - 64 * w);
      for (size_t b = 0; b < lim; ++b) {
        const size_t j = 64 * w + b;
        const uint64_t y = ((tv[j] >> 1) ^ (in[2 * j] >> 2) ^ (tv[j] & (tr[j] >> 63))) & 1;
        word |= y << b;
      }
      out[base / 64 + w] = word;
    }
  }
}

// ---- Backend default ---------------------------------------------------------------------
void Backend::dcf_eval(int party, int depth, size_t n, const uint64_t* keys, const uint64_t* x,
                       uint64_t* out) {
  dcf_eval_host(party, depth, n, keys, x, out);
}

}  // namespace polympc::mpc
