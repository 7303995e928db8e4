// Test bench of trunc_top, both modes (mpc::Backend::trunc_exact_combine /
// trunc_prob_combine):
//   exact (mode 0): u = x + [p0] 2^(bits-1);
//                   z = (u >> shift) + carry - (wrap << (bits-shift)) - [p0] 2^(bits-1-shift)
//   prob  (mode 1): z = [p0] ((c >> shift) - 2^(offset_bits-shift)) - r_shr
// all mod 2^bits.
#include "tb_common.h"

namespace {
uint64_t shl(uint64_t x, int s) { return s >= 64 ? 0 : x << s; }
}  // namespace

int main() {
  tb::Checker check("trunc_top");
  tb::Rng rng(4);
  const uint32_t n = 1000;
  struct Params {
    int bits, shift, offset_bits;
  };
  const Params params[] = {{64, 12, 40}, {64, 0, 0}, {32, 5, 20}, {8, 7, 7}, {64, 63, 63}};
  for (const Params& p : params) {
    const uint64_t m = tb::mask(p.bits);
    for (int party = 0; party < 2; ++party) {
      std::vector<uint64_t> x = rng.words(n), carry = rng.words(n), wrap = rng.words(n),
                            z(n + 8, tb::kPoison);
      trunc_top(0, party, p.bits, p.shift, 0, n, x.data(), carry.data(), wrap.data(), z.data());
      for (uint32_t j = 0; j < n; ++j) {
        const uint64_t u = (x[j] + (party == 0 ? shl(1, p.bits - 1) : 0)) & m;
        const uint64_t pub = party == 0 ? shl(1, p.bits - 1 - p.shift) : 0;
        const uint64_t want = ((u >> p.shift) + carry[j] - shl(wrap[j], p.bits - p.shift) - pub) & m;
        check.expect("z (exact)", j, z[j], want);
      }
      for (uint32_t j = n; j < n + 8; ++j) check.expect("z (past the end)", j, z[j], tb::kPoison);

      std::vector<uint64_t> c = rng.words(n), r_shr = rng.words(n), unused(1, 0), zp(n + 8, tb::kPoison);
      trunc_top(1, party, p.bits, p.shift, p.offset_bits, n, c.data(), r_shr.data(), unused.data(),
                zp.data());
      for (uint32_t j = 0; j < n; ++j) {
        const uint64_t open = party == 0 ? ((c[j] & m) >> p.shift) - shl(1, p.offset_bits - p.shift) : 0;
        check.expect("z (prob)", j, zp[j], (open - r_shr[j]) & m);
      }
      for (uint32_t j = n; j < n + 8; ++j) check.expect("z (past the end)", j, zp[j], tb::kPoison);
    }
  }
  return check.finish();
}
