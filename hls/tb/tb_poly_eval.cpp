// Test bench of poly_eval_top, one Horner step of the polynomial activation:
//   z[j] = c[j] + d[j]*B + E*a[j] + [p0] (d[j]*E + add[ch(j)])   (mod 2^bits)
// ch(j) = (j / inner) % channels; B, E per channel or per element.
#include "tb_common.h"

int main() {
  tb::Checker check("poly_eval_top");
  tb::Rng rng(3);
  struct Shape {
    uint32_t outer, channels, inner;
  };
  const Shape shapes[] = {{2, 5, 37}, {1, 64, 1}, {3, 1, 300}, {4, 16, 9}};
  const int bits_list[] = {64, 31};
  for (const Shape& s : shapes) {
    const size_t n = size_t(s.outer) * s.channels * s.inner;
    for (int per_channel = 0; per_channel < 2; ++per_channel) {
      for (int party = 0; party < 2; ++party) {
        for (int bits : bits_list) {
          const size_t nbe = per_channel ? s.channels : n;
          std::vector<uint64_t> d = rng.words(n), a = rng.words(n), c = rng.words(n),
                                e = rng.words(nbe), b = rng.words(nbe), add = rng.words(s.channels),
                                z(n + 8, tb::kPoison);
          poly_eval_top(party, bits, s.outer, s.channels, s.inner, per_channel, d.data(),
                        e.data(), a.data(), b.data(), c.data(), add.data(), z.data());
          for (size_t j = 0; j < n; ++j) {
            const size_t ch = (j / s.inner) % s.channels;
            const uint64_t bv = per_channel ? b[ch] : b[j], ev = per_channel ? e[ch] : e[j];
            const uint64_t pub = party == 0 ? d[j] * ev + add[ch] : 0;
            check.expect("z", j, z[j], (c[j] + d[j] * bv + ev * a[j] + pub) & tb::mask(bits));
          }
          for (size_t j = n; j < n + 8; ++j) check.expect("z (past the end)", j, z[j], tb::kPoison);
        }
      }
    }
  }
  return check.finish();
}
