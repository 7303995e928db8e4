// Test bench of bit_slice_top: planes[b * plane_stride + w] has bit j equal to bit b of
// x[64 w + j] (0 past n), for b < bits and w < ceil(n / 64); words of a row past
// ceil(n / 64) are not written.
#include "tb_common.h"

int main() {
  tb::Checker check("bit_slice_top");
  tb::Rng rng(7);
  struct Case {
    int bits;
    uint32_t n, stride;
  };
  const Case cases[] = {{13, 300, 7}, {64, 1000, 16}, {1, 64, 1}, {0, 100, 2}, {40, 65, 2}};
  for (const Case& t : cases) {
    const uint32_t words = (t.n + 63) / 64;
    std::vector<uint64_t> x = rng.words(t.n);
    const size_t rows = t.bits > 0 ? size_t(t.bits) : 1;
    std::vector<uint64_t> planes(rows * t.stride, tb::kPoison);
    bit_slice_top(t.bits, t.n, t.stride, x.data(), planes.data());
    for (int b = 0; b < t.bits; ++b) {
      for (uint32_t w = 0; w < t.stride; ++w) {
        uint64_t want = tb::kPoison;
        if (w < words) {
          want = 0;
          for (uint32_t j = 0; j < 64; ++j) {
            const uint32_t i = 64 * w + j;
            if (i < t.n) want |= ((x[i] >> b) & 1) << j;
          }
        }
        check.expect("planes", size_t(b) * t.stride + w, planes[size_t(b) * t.stride + w], want);
      }
    }
    if (t.bits == 0) check.expect("planes (bits = 0)", 0, planes[0], tb::kPoison);
  }
  return check.finish();
}
