#include "polympc/nn/lowering.h"

#include <algorithm>

namespace polympc::nn {

mpc::Words im2col(const Layer& conv, const std::vector<int64_t>& in_shape, size_t batch, const mpc::Words& x) {
  const int64_t C = in_shape[0], H = in_shape[1], W = in_shape[2];
  const int64_t Ho = conv.out_shape[1], Wo = conv.out_shape[2];
  const int64_t kh = conv.kernel_h, kw = conv.kernel_w;
  const int64_t S = Ho * Wo;
  const int64_t cols = static_cast<int64_t>(batch) * S;
  mpc::Words out(static_cast<size_t>(C * kh * kw * cols), 0);
  for (int64_t c = 0; c < C; ++c)
    for (int64_t i = 0; i < kh; ++i)
      for (int64_t j = 0; j < kw; ++j) {
        uint64_t* row = out.data() + ((c * kh + i) * kw + j) * cols;
        for (int64_t n = 0; n < static_cast<int64_t>(batch); ++n) {
          const uint64_t* img = x.data() + (n * C + c) * H * W;
          for (int64_t oy = 0; oy < Ho; ++oy) {
            const int64_t y = oy * conv.stride_h - conv.pad_top + i;
            uint64_t* dst = row + n * S + oy * Wo;
            if (y < 0 || y >= H) continue;
            for (int64_t ox = 0; ox < Wo; ++ox) {
              const int64_t xx = ox * conv.stride_w - conv.pad_left + j;
              if (xx >= 0 && xx < W) dst[ox] = img[y * W + xx];
            }
          }
        }
      }
  return out;
}

mpc::Words transpose(const mpc::Words& x, size_t rows, size_t cols) {
  mpc::Words t(rows * cols);
  for (size_t r = 0; r < rows; ++r)
    for (size_t c = 0; c < cols; ++c) t[c * rows + r] = x[r * cols + c];
  return t;
}

mpc::Words to_nchw(const mpc::Words& y, size_t m, size_t batch, size_t spatial) {
  mpc::Words out(m * batch * spatial);
  for (size_t c = 0; c < m; ++c)
    for (size_t n = 0; n < batch; ++n)
      for (size_t s = 0; s < spatial; ++s) out[(n * m + c) * spatial + s] = y[c * batch * spatial + n * spatial + s];
  return out;
}

std::vector<mpc::Words> pool_windows(const Layer& pool, const std::vector<int64_t>& in_shape, size_t batch,
                                     const mpc::Words& x) {
  if (pool.op == OpKind::MaxPool && (pool.pad_top || pool.pad_left || pool.pad_bottom || pool.pad_right))
    throw ModelError("layer '" + pool.name + "' (MaxPool): padding is not supported by the 2PC executor");
  const int64_t C = in_shape[0], H = in_shape[1], W = in_shape[2];
  const int64_t Ho = pool.out_shape[1], Wo = pool.out_shape[2];
  const int64_t kh = pool.kernel_h, kw = pool.kernel_w;
  std::vector<mpc::Words> win(static_cast<size_t>(kh * kw),
                              mpc::Words(static_cast<size_t>(static_cast<int64_t>(batch) * C * Ho * Wo)));
  for (int64_t n = 0; n < static_cast<int64_t>(batch); ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t oy = 0; oy < Ho; ++oy)
        for (int64_t ox = 0; ox < Wo; ++ox) {
          const size_t o = static_cast<size_t>(((n * C + c) * Ho + oy) * Wo + ox);
          for (int64_t i = 0; i < kh; ++i)
            for (int64_t j = 0; j < kw; ++j) {
              const int64_t y = oy * pool.stride_h - pool.pad_top + i, xx = ox * pool.stride_w - pool.pad_left + j;
              // Padded positions read 0 (AvgPool counts them, count_include_pad = 1).
              win[static_cast<size_t>(i * kw + j)][o] =
                  (y < 0 || y >= H || xx < 0 || xx >= W) ? 0 : x[static_cast<size_t>(((n * C + c) * H + y) * W + xx)];
            }
        }
  return win;
}

namespace {
void check_block_shape(const Layer& block, const std::vector<int64_t>& in_shape) {
  if (in_shape.size() != 3)
    throw ModelError("layer '" + block.name + "' (BlockRelu): input " + shape_str(in_shape) +
                     " is not [C, H, W]");
  if (static_cast<int64_t>(block.block_patches.size()) != in_shape[0])
    throw ModelError("layer '" + block.name + "' (BlockRelu): " +
                     std::to_string(block.block_patches.size()) + " patches for " +
                     std::to_string(in_shape[0]) + " channels");
}
int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
}  // namespace

mpc::BlockMap block_map(const Layer& block, const std::vector<int64_t>& in_shape, size_t batch) {
  check_block_shape(block, in_shape);
  const int64_t C = in_shape[0], H = in_shape[1], W = in_shape[2];
  mpc::BlockMap m;
  m.patch_of.resize(static_cast<size_t>(static_cast<int64_t>(batch) * C * H * W));
  int64_t next = 0;
  for (int64_t n = 0; n < static_cast<int64_t>(batch); ++n)
    for (int64_t c = 0; c < C; ++c) {
      const BlockPatch& p = block.block_patches[static_cast<size_t>(c)];
      const size_t base = static_cast<size_t>((n * C + c) * H * W);
      if (p.kind != BlockPatch::Kind::Rect) {
        const int64_t mark =
            p.kind == BlockPatch::Kind::Identity ? mpc::kBlockIdentity : mpc::kBlockZero;
        std::fill(m.patch_of.begin() + static_cast<long>(base),
                  m.patch_of.begin() + static_cast<long>(base + static_cast<size_t>(H * W)), mark);
        continue;
      }
      const int64_t pw = ceil_div(W, p.w);
      for (int64_t y = 0; y < H; ++y)
        for (int64_t x = 0; x < W; ++x)
          m.patch_of[base + static_cast<size_t>(y * W + x)] = next + (y / p.h) * pw + x / p.w;
      next += ceil_div(H, p.h) * pw;
    }
  m.patches = static_cast<size_t>(next);
  return m;
}

int64_t block_patch_drelus(const BlockPatch& p, int64_t H, int64_t W) {
  if (H < 1 || W < 1)
    throw ModelError("block_patch_drelus: channel plane [" + std::to_string(H) + ", " + std::to_string(W) +
                     "] must have H, W >= 1");
  return p.kind == BlockPatch::Kind::Rect ? ceil_div(H, p.h) * ceil_div(W, p.w) : 0;
}

int64_t block_relu_drelus(const Layer& block, const std::vector<int64_t>& in_shape) {
  check_block_shape(block, in_shape);
  int64_t n = 0;
  for (const BlockPatch& p : block.block_patches) n += block_patch_drelus(p, in_shape[1], in_shape[2]);
  return n;
}

}  // namespace polympc::nn
