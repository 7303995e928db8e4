// Winograd minimal filtering F(m×m, 3×3) for 3×3 stride-1 convolutions, in the integer
// arithmetic of the ring Z_2^l: written once, used by the plaintext twin and by the
// 2PC executor (nn/src/secure.cpp), so the two compute the same words (docs/winograd.md).
//
// Source: A. Lavin, S. Gray, "Fast Algorithms for Convolutional Neural Networks", CVPR 2016,
// §4 (Y = A^T [ (G g G^T) ⊙ (B^T d B) ] A), matrices of F(2×2,3×3) in §4.1 and of
// F(4×4,3×3) in §4.2. B^T and A^T are integer for both forms; G has fractions (1/2 for
// F(2×2,3×3); 1/4, 1/6, 1/12, 1/24 for F(4×4,3×3)) and is held here as the integer matrix
// Ĝ = g_scale · G (g_scale = 2, resp. 24).
//
// Fixed point. Weights are at scale f. The weight transform (by the server, at setup, in
// the clear) is U = round(2^u_frac · Ĝ g Ĝ^T / g_scale²) at scale f + u_frac: the only
// rounding of the Winograd form. For F(2×2,3×3) with u_frac = 2, g_scale² = 4 = 2^u_frac and
// U = Ĝ g Ĝ^T exactly, so the output is exactly 4× the direct convolution (mod 2^l). For
// F(4×4,3×3) g_scale² = 576 = 9 · 2^6 is not a power of two and U carries a rounding error of
// at most 1/2 unit at scale f + u_frac. The input transform V = B^T d B and the output
// transform Y = A^T M A are integer, hence exact mod 2^l and linear (local on additive
// shares). The output is at scale 2f + u_frac; the u_frac extra bits join the next
// truncation (nn::plan_scales), no truncation is added.
//
// Layouts (all row-major): weights [M, C, 3, 3] (the QuantizedLayer's [M, C·9]); U
// [α², M, C] (position p = ξ·α + ν, one M×C matrix per position: the weight operand of one
// matmul); V [α², C, N·T] (column n·T + ty·tiles_w + tx); the per-position products
// [α², M, N·T]; the output [M, N·Ho·Wo], the direct convolution's matmul layout (so
// add_bias and to_nchw apply unchanged).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "polympc/mpc/backend.h"
#include "polympc/mpc/protocols.h"
#include "polympc/nn/ir.h"

namespace polympc::nn {

/// Default extra fractional bits of the transformed weights U of F(4×4,3×3) (see
/// docs/winograd.md "Fixed-point scaling": the measured error at this choice).
constexpr int kWinograd4UFrac = 14;

/// One Winograd form F(m×m, 3×3) with integer matrices (Lavin & Gray 2016, §4.1 / §4.2).
struct WinogradForm {
  int m = 2;          ///< output tile side (2 or 4)
  int alpha = 4;      ///< input tile side m + 2
  int64_t g_scale = 2;  ///< Ĝ = g_scale · G is integer (2 for m = 2, 24 for m = 4)
  int u_frac = 2;     ///< extra fractional bits of U beyond f (output scale 2f + u_frac)
  const int64_t* bt = nullptr;  ///< B^T, alpha × alpha
  const int64_t* g = nullptr;   ///< Ĝ, alpha × 3
  const int64_t* at = nullptr;  ///< A^T, m × alpha
  /// True when the weight transform rounds nothing (g_scale² divides 2^u_frac): F(2×2,3×3)
  /// with u_frac >= 2.
  bool exact() const;
};

/// F(m×m, 3×3) for m = 2 or 4. u_frac < 0 picks the default: 2 for m = 2 (exact, the
/// smallest scale at which U is integer), kWinograd4UFrac for m = 4. Throws
/// mpc::InvalidArgument for another m or u_frac > 30.
WinogradForm winograd_form(int m, int u_frac = -1);

/// Where a layer's tiles lie: a Conv layer's input [C, H, W], output [Ho, Wo], padding and
/// the tile grid tiles_h × tiles_w = ceil(Ho/m) × ceil(Wo/m) (the last row / column of tiles
/// cropped).
struct WinogradGeometry {
  int64_t C = 0, H = 0, W = 0, M = 0, Ho = 0, Wo = 0;
  int64_t pad_top = 0, pad_left = 0;
  int64_t tiles_h = 0, tiles_w = 0;
  /// Tiles per image T.
  int64_t tiles() const { return tiles_h * tiles_w; }
};

/// True for the convolutions the Winograd forms compute: Conv, 3×3 kernel, stride 1 (any
/// padding; no groups or dilation exist in the IR).
bool winograd_applicable(const Layer& conv);
/// The tile grid of `conv` (shapes inferred) on an input [C, H, W] for F(m×m, 3×3). Throws
/// ModelError naming the layer when it is not winograd_applicable or in_shape is not
/// [C, H, W].
WinogradGeometry winograd_geometry(const Layer& conv, const std::vector<int64_t>& in_shape, int m);

/// Weight transform (server, setup, in the clear): w is [M, C, 3, 3] ring words at scale f;
/// returns U [α², M, C] at scale f + u_frac, U = round(2^u_frac · Ĝ g Ĝ^T / g_scale²).
/// Exact forms (F.exact(): F(2×2,3×3)) compute it in ring arithmetic mod 2^l, for any words.
/// Other forms read the weights signed, compute in int64 and round to nearest, ties away
/// from zero: error against the real G g G^T of the quantized weights at most 1/2 unit at
/// scale f + u_frac; mpc::OverflowError when an intermediate exceeds 2^62 or a U word does
/// not fit l bits signed. InvalidArgument when w.size() != M·C·9.
mpc::Words winograd_weights(const mpc::RingConfig& r, const WinogradForm& F, const mpc::Words& w, size_t M,
                            size_t C);

/// Input transform of a batch (local on shares: linear, integer, exact mod 2^l): x is
/// [N, C, H, W] ring words; tile (ty, tx) is the α×α window at rows ty·m − pad_top, columns
/// tx·m − pad_left, reading 0 outside the image; returns V [α², C, N·T] with V = B^T d B per
/// tile and channel. Throws InvalidArgument when x.size() != N·C·H·W.
mpc::Words winograd_input(const mpc::RingConfig& r, const WinogradForm& F, const WinogradGeometry& g, size_t batch,
                          const mpc::Words& x);

/// Output transform and assembly (local on shares): prod is [α², M, N·T] (the per-position
/// products Σ_c U[p][m][c]·V[p][c][col]); returns [M, N·Ho·Wo] with Y = A^T prod A per tile,
/// tiles that stick out of [Ho, Wo] cropped. Same scale as prod. Throws InvalidArgument on a
/// size mismatch.
mpc::Words winograd_output(const mpc::RingConfig& r, const WinogradForm& F, const WinogradGeometry& g, size_t batch,
                           const mpc::Words& prod);

/// The plaintext Winograd convolution: winograd_input, then per position p the matmul
/// U[p] (M×C) · V[p] (C×N·T) mod 2^l, then winograd_output. U from winograd_weights (scale
/// f + u_frac), x [N, C, H, W] at scale f; result [M, N·Ho·Wo] at scale 2f + u_frac, no bias.
/// For F(2×2,3×3) with u_frac = 2 it equals 4 · (the direct convolution's matmul) mod 2^l
/// for any words.
mpc::Words winograd_conv(const mpc::RingConfig& r, const WinogradForm& F, const WinogradGeometry& g, size_t batch,
                         const mpc::Words& u, const mpc::Words& x);

/// Applies a `--winograd` choice to `net` (shapes inferred), item by item from a
/// comma-separated spec: "off" (every conv direct), "2" / "4" (every 3×3 stride-1 conv in
/// F(m×m, 3×3)), "auto" (each 3×3 stride-1 conv, in order, in F(4×4) if the truncation plan
/// of ring r and options o fits its output scale, else F(2×2) if it fits, else direct),
/// "NAME=m" (layer NAME: m = 0, 2 or 4). Returns the number of Winograd layers. Throws
/// mpc::InvalidArgument for an unknown item or layer name, ModelError (infer_shapes) for a
/// layer that is not 3×3 stride 1, and plan_scales' InvalidArgument when a chosen form's
/// output scale does not fit the ring and truncation.
int apply_winograd(Network& net, const std::string& spec, const mpc::RingConfig& r, const mpc::ProtocolOptions& o,
                   int coef_frac);
/// apply_winograd without a ring: explicit items only ("off", "2", "4", "NAME=m"); "auto"
/// is an mpc::InvalidArgument (it depends on the ring and the truncation). No scale check:
/// the run that loads the network checks its plan. Returns the number of Winograd layers.
/// `polympc export-arch --winograd` uses it to write the choice into the architecture file.
int set_winograd(Network& net, const std::string& spec);

/// General multiplications of one image: α² · M · C · T for the Winograd form against
/// M · C · 9 · Ho · Wo for the direct one (the transforms are additions and multiplications
/// by small public constants).
int64_t winograd_multiplications(const WinogradGeometry& g, int m);

/// The Backend's shape (mpc::Backend::winograd_transform) of a layer's transform of
/// F(m×m, 3×3) for `batch` images: the input transform (`input`: channels C, the padded
/// tile gather) or the output transform (channels M, the crop).
mpc::WinogradShape winograd_backend_shape(const WinogradGeometry& g, int m, size_t batch, bool input);

}  // namespace polympc::nn
