// Test bench of dcf_eval_top (mpc::Backend::dcf_eval): key pairs for 1{x < alpha} on
// `depth` bits come from the reference generator kernels::dcf_gen_pair (Boyle et al.,
// EUROCRYPT'21, Fig. 1); each party's keys are evaluated by the top, and the XOR of the
// two parties' output bits must be 1{x mod 2^depth < alpha} for every key, with the bits
// past n zero and no word past ceil(n / 64) written.
#include "kernels/dcf_eval.h"
#include "tb_common.h"

int main() {
  tb::Checker check("dcf_eval_top");
  tb::Rng rng(8);
  polympc::kernels::Aes128Key prg_key;
  polympc::kernels::dcf_prg_key(prg_key);
  struct Case {
    int depth;
    uint32_t n;
  };
  // n · (2·depth + 4) key words stay within the keys port depth (16384).
  const Case cases[] = {{63, 126}, {20, 300}, {1, 200}, {8, 65}};
  for (const Case& t : cases) {
    const uint32_t kw = polympc::kernels::dcf_key_words(t.depth);
    const uint64_t m = tb::mask(t.depth);
    std::vector<uint64_t> k0(size_t(t.n) * kw), k1(size_t(t.n) * kw), alpha(t.n), x(t.n);
    for (uint32_t j = 0; j < t.n; ++j) {
      alpha[j] = rng.next() & m;
      // Points at, just below and just above alpha, and random ones (with garbage above depth).
      const uint64_t r = rng.next();
      const uint64_t near = j % 4 == 0 ? alpha[j] : j % 4 == 1 ? alpha[j] - 1 : j % 4 == 2 ? alpha[j] + 1 : r;
      x[j] = (near & m) | (rng.next() & ~m);
      polympc::kernels::Block128 s0, s1;
      s0.lo = rng.next();
      s0.hi = rng.next();
      s1.lo = rng.next();
      s1.hi = rng.next();
      polympc::kernels::dcf_gen_pair(prg_key, t.depth, alpha[j], s0, s1, &k0[size_t(j) * kw], &k1[size_t(j) * kw]);
    }
    const uint32_t words = (t.n + 63) / 64;
    std::vector<uint64_t> out0(words + 2, tb::kPoison), out1(words + 2, tb::kPoison);
    dcf_eval_top(0, t.depth, t.n, k0.data(), x.data(), out0.data());
    dcf_eval_top(1, t.depth, t.n, k1.data(), x.data(), out1.data());
    for (uint32_t w = 0; w < words; ++w) {
      uint64_t want = 0;
      for (uint32_t b = 0; b < 64; ++b) {
        const uint32_t j = 64 * w + b;
        if (j < t.n && (x[j] & m) < alpha[j]) want |= uint64_t(1) << b;
      }
      check.expect("out0 ^ out1", w, out0[w] ^ out1[w], want);
      // Bits past n are zero in each party's output, not only in the XOR.
      const uint32_t valid = t.n - 64 * w >= 64 ? 64 : t.n - 64 * w;
      const uint64_t tail = valid == 64 ? 0 : ~((uint64_t(1) << valid) - 1);
      check.expect("out0 bits past n", w, out0[w] & tail, 0);
      check.expect("out1 bits past n", w, out1[w] & tail, 0);
    }
    for (uint32_t w = words; w < words + 2; ++w) {
      check.expect("out0 (past the end)", w, out0[w], tb::kPoison);
      check.expect("out1 (past the end)", w, out1[w], tb::kPoison);
    }
  }
  return check.finish();
}
