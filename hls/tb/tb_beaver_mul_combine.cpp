// Test bench of beaver_mul_combine_top: z = c + d*b + e*a + [p0] d*e (mod 2^bits).
#include "tb_common.h"

int main() {
  tb::Checker check("beaver_mul_combine_top");
  const uint32_t n = 1000;  // not a multiple of the lanes; buffers of depth 1024
  const size_t cap = 1024;
  tb::Rng rng(1);
  const int bits_list[] = {64, 37, 8};
  for (int party = 0; party < 2; ++party) {
    for (int bits : bits_list) {
      std::vector<uint64_t> d = rng.words(cap), e = rng.words(cap), a = rng.words(cap),
                            b = rng.words(cap), c = rng.words(cap), z(cap, tb::kPoison);
      beaver_mul_combine_top(party, bits, n, d.data(), e.data(), a.data(), b.data(), c.data(),
                             z.data());
      for (size_t j = 0; j < cap; ++j) {
        const uint64_t want =
            j < n ? (c[j] + d[j] * b[j] + e[j] * a[j] + (party == 0 ? d[j] * e[j] : 0)) &
                        tb::mask(bits)
                  : tb::kPoison;
        check.expect("z", j, z[j], want);
      }
    }
  }
  return check.finish();
}
