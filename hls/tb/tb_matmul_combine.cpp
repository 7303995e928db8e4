// Test bench of matmul_combine_top: Z = C + E·B + A·F + [p0] E·F (mod 2^bits), row-major,
// e, a: m×k; f, b: k×n; c, z: m×n.
#include "tb_common.h"

int main() {
  tb::Checker check("matmul_combine_top");
  tb::Rng rng(2);
  struct Shape {
    uint32_t m, k, n;
  };
  const Shape shapes[] = {{5, 7, 29}, {1, 1, 1}, {3, 30, 33}, {8, 4, 128}};
  const int bits_list[] = {64, 20};
  for (const Shape& s : shapes) {
    for (int party = 0; party < 2; ++party) {
      for (int bits : bits_list) {
        const size_t mk = size_t(s.m) * s.k, kn = size_t(s.k) * s.n, mn = size_t(s.m) * s.n;
        std::vector<uint64_t> e = rng.words(mk), a = rng.words(mk), f = rng.words(kn),
                              b = rng.words(kn), c = rng.words(mn), z(mn + 8, tb::kPoison);
        matmul_combine_top(party, bits, s.m, s.k, s.n, e.data(), f.data(), a.data(), b.data(),
                           c.data(), z.data());
        for (uint32_t i = 0; i < s.m; ++i) {
          for (uint32_t j = 0; j < s.n; ++j) {
            uint64_t acc = c[size_t(i) * s.n + j];
            for (uint32_t q = 0; q < s.k; ++q) {
              const uint64_t ev = e[size_t(i) * s.k + q], av = a[size_t(i) * s.k + q];
              const uint64_t bv = b[size_t(q) * s.n + j], fv = f[size_t(q) * s.n + j];
              acc += ev * bv + av * fv + (party == 0 ? ev * fv : 0);
            }
            check.expect("z", size_t(i) * s.n + j, z[size_t(i) * s.n + j], acc & tb::mask(bits));
          }
        }
        for (size_t j = mn; j < mn + 8; ++j) check.expect("z (past the end)", j, z[j], tb::kPoison);
      }
    }
  }
  return check.finish();
}
