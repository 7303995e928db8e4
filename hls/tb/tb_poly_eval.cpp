// Test bench of poly_eval_top, the local step of the polynomial activation, in its three
// modes (golden model from the formula in mpc/include/polympc/mpc/backend.h):
//   quadratic: z[j] = E2 d² + 2 E2 d a + E2 a2 + d² m2 + 2 d m2a + m2a2 + E1 d + E1 a
//                     + d m1 + m1a + [p0] add      with [p0] on every term without a share
//   linear:    z[j] = m1a + d·m1 + E1·a + [p0] (d·E1 + add), E1, m1 per channel or element
// ch(j) = (j / inner) % channels; all mod 2^bits.
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
    for (int mode = 0; mode < 3; ++mode) {
      for (int party = 0; party < 2; ++party) {
        for (int bits : bits_list) {
          const bool quad = mode == 0, per_element = mode == 2;
          const size_t n1 = per_element ? n : s.channels;
          std::vector<uint64_t> d = rng.words(n), a = rng.words(n), a2 = rng.words(n),
                                m2a = rng.words(n), m2a2 = rng.words(n), m1a = rng.words(n),
                                e1 = rng.words(n1), m1 = rng.words(n1),
                                e2 = rng.words(s.channels), m2 = rng.words(s.channels),
                                add = rng.words(s.channels), z(n + 8, tb::kPoison);
          poly_eval_top(party, bits, s.outer, s.channels, s.inner, mode, d.data(), a.data(),
                        a2.data(), m2a.data(), m2a2.data(), m1a.data(), e1.data(), m1.data(),
                        e2.data(), m2.data(), add.data(), z.data());
          const bool p0 = party == 0;
          for (size_t j = 0; j < n; ++j) {
            const size_t ch = (j / s.inner) % s.channels;
            const size_t k1 = per_element ? j : ch;
            const uint64_t dj = d[j], E1 = e1[k1], M1 = m1[k1];
            uint64_t want = m1a[j] + dj * M1 + E1 * a[j] + (p0 ? dj * E1 + add[ch] : 0);
            if (quad) {
              const uint64_t E2 = e2[ch], M2 = m2[ch];
              want += 2 * E2 * dj * a[j] + E2 * a2[j] + dj * dj * M2 + 2 * dj * m2a[j] + m2a2[j] +
                      (p0 ? E2 * dj * dj : 0);
            }
            check.expect("z", j, z[j], want & tb::mask(bits));
          }
          for (size_t j = n; j < n + 8; ++j) check.expect("z (past the end)", j, z[j], tb::kPoison);
        }
      }
    }
  }
  return check.finish();
}
