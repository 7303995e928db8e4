// Test bench of gmw_and_level_top: z = c ^ (d & b) ^ (e & a) ^ [p0] (d & e), 64 AND gates
// per word.
#include "tb_common.h"

int main() {
  tb::Checker check("gmw_and_level_top");
  tb::Rng rng(5);
  const uint32_t sizes[] = {1000, 1, 8, 1016};
  for (uint32_t words : sizes) {
    for (int party = 0; party < 2; ++party) {
      std::vector<uint64_t> d = rng.words(words), e = rng.words(words), a = rng.words(words),
                            b = rng.words(words), c = rng.words(words), z(words + 8, tb::kPoison);
      gmw_and_level_top(party, words, d.data(), e.data(), a.data(), b.data(), c.data(), z.data());
      for (uint32_t j = 0; j < words; ++j)
        check.expect("z", j, z[j], c[j] ^ (d[j] & b[j]) ^ (e[j] & a[j]) ^ (party == 0 ? d[j] & e[j] : 0));
      for (uint32_t j = words; j < words + 8; ++j) check.expect("z (past the end)", j, z[j], tb::kPoison);
    }
  }
  return check.finish();
}
