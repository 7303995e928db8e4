// Test bench of winograd_transform_top (Lavin & Gray 2016, §4.1/§4.2): input transform
// V[p][c][n·T + t] = (B^T d B)[p] of the zero-padded α×α tiles, output transform
// y[c][n·ho·wo + pixel] = (A^T t A) cropped to ho × wo, mod 2^bits (layouts of
// mpc::Backend::winograd_transform). The golden model holds its own copy of the matrices.
#include "tb_common.h"

namespace {

const int64_t kBt2[4][4] = {{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}};
const int64_t kAt2[2][4] = {{1, 1, 1, 0}, {0, 1, -1, -1}};
const int64_t kBt4[6][6] = {{4, 0, -5, 0, 1, 0}, {0, -4, -4, 1, 1, 0}, {0, 4, -4, -1, 1, 0},
                            {0, -2, -1, 2, 1, 0}, {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1}};
const int64_t kAt4[4][6] = {
    {1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1}};

int64_t bt(int m, int i, int j) { return m == 2 ? kBt2[i][j] : kBt4[i][j]; }
int64_t at(int m, int i, int j) { return m == 2 ? kAt2[i][j] : kAt4[i][j]; }

struct Shape {
  int m;
  uint32_t batch, channels, h, w, ho, wo, pad_top, pad_left;
};

}  // namespace

int main() {
  tb::Checker check("winograd_transform_top");
  tb::Rng rng(13);
  // 3×3 stride-1 convolutions: ho = h + pads - 2 (pad 1: same size; pad 0: shrinking,
  // incomplete border tiles; asymmetric ho/wo).
  const Shape shapes[] = {{2, 1, 2, 5, 5, 5, 5, 1, 1}, {4, 2, 1, 6, 7, 4, 5, 0, 0},
                          {2, 1, 3, 4, 9, 2, 7, 0, 0}, {4, 1, 2, 9, 11, 9, 11, 1, 1},
                          {2, 2, 1, 20, 3, 20, 3, 1, 1}};
  const int bits_list[] = {64, 37};
  for (const Shape& s : shapes) {
    const int a = s.m + 2;
    const uint32_t th = (s.ho + s.m - 1) / s.m, tw = (s.wo + s.m - 1) / s.m, T = th * tw;
    const size_t cols = size_t(s.batch) * T;
    for (int bits : bits_list) {
      // Input transform.
      const size_t nin = size_t(s.batch) * s.channels * s.h * s.w;
      const size_t nv = size_t(a * a) * s.channels * cols;
      std::vector<uint64_t> x = rng.words(nin), v(nv + 8, tb::kPoison);
      winograd_transform_top(0, bits, s.m, s.batch, s.channels, s.h, s.w, s.ho, s.wo, s.pad_top,
                             s.pad_left, x.data(), v.data());
      for (uint32_t n = 0; n < s.batch; ++n)
        for (uint32_t c = 0; c < s.channels; ++c)
          for (uint32_t ty = 0; ty < th; ++ty)
            for (uint32_t tx = 0; tx < tw; ++tx) {
              uint64_t d[6][6];
              for (int i = 0; i < a; ++i)
                for (int j = 0; j < a; ++j) {
                  const int64_t yy = int64_t(ty) * s.m - s.pad_top + i;
                  const int64_t xx = int64_t(tx) * s.m - s.pad_left + j;
                  d[i][j] = (yy < 0 || yy >= s.h || xx < 0 || xx >= s.w)
                                ? 0
                                : x[((size_t(n) * s.channels + c) * s.h + yy) * s.w + xx];
                }
              for (int xi = 0; xi < a; ++xi)
                for (int nu = 0; nu < a; ++nu) {
                  uint64_t acc = 0;
                  for (int i = 0; i < a; ++i)
                    for (int j = 0; j < a; ++j)
                      acc += uint64_t(bt(s.m, xi, i)) * d[i][j] * uint64_t(bt(s.m, nu, j));
                  const size_t at_v = (size_t(xi * a + nu) * s.channels + c) * cols +
                                      size_t(n) * T + ty * tw + tx;
                  check.expect("V", at_v, v[at_v], acc & tb::mask(bits));
                }
            }
      for (size_t j = nv; j < nv + 8; ++j) check.expect("V (past the end)", j, v[j], tb::kPoison);
      // Output transform (channels = output channels).
      const size_t S = size_t(s.ho) * s.wo, ny = size_t(s.channels) * s.batch * S;
      std::vector<uint64_t> prod = rng.words(nv), y(ny + 8, tb::kPoison);
      winograd_transform_top(1, bits, s.m, s.batch, s.channels, 0, 0, s.ho, s.wo, 0, 0,
                             prod.data(), y.data());
      for (uint32_t c = 0; c < s.channels; ++c)
        for (uint32_t n = 0; n < s.batch; ++n)
          for (uint32_t oy = 0; oy < s.ho; ++oy)
            for (uint32_t ox = 0; ox < s.wo; ++ox) {
              const uint32_t ty = oy / s.m, tx = ox / s.m, i = oy % s.m, j = ox % s.m;
              const size_t col = size_t(n) * T + ty * tw + tx;
              uint64_t acc = 0;
              for (int xi = 0; xi < a; ++xi)
                for (int nu = 0; nu < a; ++nu)
                  acc += uint64_t(at(s.m, i, xi)) * prod[(size_t(xi * a + nu) * s.channels + c) * cols + col] *
                         uint64_t(at(s.m, j, nu));
              const size_t at_y = (size_t(c) * s.batch + n) * S + size_t(oy) * s.wo + ox;
              check.expect("y", at_y, y[at_y], acc & tb::mask(bits));
            }
      for (size_t j = ny; j < ny + 8; ++j) check.expect("y (past the end)", j, y[j], tb::kPoison);
    }
  }
  return check.finish();
}
