// Public, linear data movement shared by the plaintext and 2PC executors: im2col for
// convolution, transposes for linear layers, pooling windows. Linear maps commute with
// additive sharing, so each party applies them to its share locally.
#pragma once
#include <cstdint>
#include <vector>

#include "polympc/mpc/protocols.h"
#include "polympc/nn/ir.h"

namespace polympc::nn {

/// im2col of a batch: x is [N, C, H, W]; result is [C*kh*kw, N*Ho*Wo] (row-major),
/// zero padding. Ho, Wo from the layer's out_shape.
mpc::Words im2col(const Layer& conv, const std::vector<int64_t>& in_shape, size_t batch, const mpc::Words& x);
/// [rows, cols] -> [cols, rows].
mpc::Words transpose(const mpc::Words& x, size_t rows, size_t cols);
/// Conv/Linear output [M, N*S] (channel-major) -> [N, M, S] (NCHW).
mpc::Words to_nchw(const mpc::Words& y, size_t m, size_t batch, size_t spatial);
/// Pooling windows: result[k] holds, for window offset k (kh*kw of them), the element of
/// every output position, in NCHW output order. Padded positions read 0 (AvgPool with
/// count_include_pad = 1); MaxPool with padding throws ModelError.
std::vector<mpc::Words> pool_windows(const Layer& pool, const std::vector<int64_t>& in_shape, size_t batch,
                                     const mpc::Words& x);
/// The patch map of a BlockRelu layer (mpc::BlockMap) over a batch of NCHW inputs
/// (in_shape [C, H, W], batch N): channel c with an h x w rectangle is tiled from the top-left
/// corner into ceil(H/h) · ceil(W/w) patches, the last row / column cropped; patches are
/// numbered image by image, channel by channel, row-major. Identity / Zero channels map to
/// mpc::kBlockIdentity / mpc::kBlockZero. Throws ModelError when the layer's patch count
/// differs from C or in_shape is not [C, H, W].
mpc::BlockMap block_map(const Layer& block, const std::vector<int64_t>& in_shape, size_t batch);
/// DReLUs (secure comparisons) of one image of one channel [H, W] with patch kind p:
/// ceil(H/h) · ceil(W/w) for an h x w rectangle (a 1x1 channel: H·W, one per element),
/// 0 for Identity and Zero. The one place the patch cost is written: block_relu_drelus and
/// the knapsack allocation (block_alloc.h) both read it. Throws ModelError when H or W < 1.
int64_t block_patch_drelus(const BlockPatch& p, int64_t H, int64_t W);
/// DReLUs of one image of a BlockRelu layer: sum over channels of block_patch_drelus.
int64_t block_relu_drelus(const Layer& block, const std::vector<int64_t>& in_shape);

}  // namespace polympc::nn
