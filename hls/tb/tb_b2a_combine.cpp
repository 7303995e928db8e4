// Test bench of b2a_combine_top: z[j] = [p0] e_j + r[j] - 2 e_j r[j] (mod 2^bits), with
// e_j = bit j % 64 of e_packed[j / 64].
#include "tb_common.h"

int main() {
  tb::Checker check("b2a_combine_top");
  tb::Rng rng(6);
  const uint32_t sizes[] = {1000, 64, 1, 1023};
  const int bits_list[] = {64, 16};
  for (uint32_t n : sizes) {
    for (int party = 0; party < 2; ++party) {
      for (int bits : bits_list) {
        std::vector<uint64_t> e_packed = rng.words((n + 63) / 64), r = rng.words(n),
                              z(n + 8, tb::kPoison);
        b2a_combine_top(party, bits, n, e_packed.data(), r.data(), z.data());
        for (uint32_t j = 0; j < n; ++j) {
          const uint64_t e = (e_packed[j / 64] >> (j % 64)) & 1;
          check.expect("z", j, z[j], ((party == 0 ? e : 0) + r[j] - 2 * e * r[j]) & tb::mask(bits));
        }
        for (uint32_t j = n; j < n + 8; ++j) check.expect("z (past the end)", j, z[j], tb::kPoison);
      }
    }
  }
  return check.finish();
}
