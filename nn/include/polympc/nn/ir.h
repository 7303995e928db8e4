// Network IR: a small graph of layers with float parameters (docs/design.md §12).
//
// Tensors are NCHW. Layer parameters stay in float; executors quantize them to the
// fixed-point format of the ring at load time. The IR is what the ONNX importer
// produces, what the exporter writes, and what the plaintext and 2PC executors run.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "polympc/mpc/errors.h"

namespace polympc::nn {

/// Error in a model file or in the IR (unsupported op, bad shape); names the node.
class ModelError : public polympc::Error {
 public:
  using polympc::Error::Error;
};

enum class OpKind {
  Conv,     ///< 2-D convolution, weight [Cout, Cin, kh, kw], bias [Cout], group 1
  Linear,   ///< y = W x + b, weight [out, in], bias [out] (Gemm transB=1 / MatMul+Add)
  Relu,     ///< max(x, 0)
  Poly,     ///< y = a2 x^2 + a1 x + a0, coefficients per channel (size C) or scalar (size 1)
  AvgPool,  ///< average pooling; padded zeros count (count_include_pad = 1, PyTorch's default)
  MaxPool,  ///< max pooling; padded positions are skipped (2PC executor: no padding)
  GlobalAvgPool,  ///< mean over H, W -> [C, 1, 1]
  Flatten,  ///< [C, H, W] -> [C*H*W]
  Add,      ///< elementwise sum of two layer outputs (residual)
  /// Block-ReLU (patch-wise ReLU; Gorski, Jevnisek & Avidan, arXiv 2304.10442): per channel
  /// a patch kind (Layer::block_patches); y = x · 1{sum of x over the patch >= 0} for a
  /// rectangle patch, broadcast over it; identity channels pass, zero channels are 0.
  BlockRelu,
};

/// The patch of one channel of a BlockRelu layer. A rectangle tiles the [H, W] plane from
/// the top-left corner with h x w patches; those at the bottom / right border are cropped
/// (partial). 1x1 is a plain ReLU.
struct BlockPatch {
  enum class Kind { Rect, Identity, Zero };
  Kind kind = Kind::Rect;
  int h = 1, w = 1;  ///< Rect only: 1..kMaxBlockPatch each
  bool operator==(const BlockPatch& o) const {
    return kind == o.kind && (kind != Kind::Rect || (h == o.h && w == o.w));
  }
  bool operator!=(const BlockPatch& o) const { return !(*this == o); }
};
/// Largest patch side of a BlockRelu layer (the paper's 8x8).
constexpr int kMaxBlockPatch = 8;
/// "2x3", "identity", "zero" (1x1 is "1x1").
std::string block_patch_name(const BlockPatch& p);
/// Inverse of block_patch_name (also "relu" = 1x1); throws ModelError on anything else,
/// including a side outside 1..kMaxBlockPatch.
BlockPatch parse_block_patch(const std::string& s);

const char* op_name(OpKind op);
/// "[a, b, c]": a shape as error messages print it.
std::string shape_str(const std::vector<int64_t>& shape);

struct Layer {
  std::string name;  ///< unique, from the ONNX node name (or output name)
  OpKind op = OpKind::Relu;
  /// Producers: indices into Network::layers, -1 = the network input. Empty means
  /// "the previous layer" (or the input for layer 0).
  std::vector<int> inputs;

  // Conv / Linear
  std::vector<int64_t> weight_shape;
  std::vector<float> weight;
  std::vector<float> bias;  ///< may be empty (= zero)
  // Conv / pools
  int kernel_h = 1, kernel_w = 1;
  int stride_h = 1, stride_w = 1;
  int pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  /// Conv: 0 = direct form (im2col), 2 or 4 = Winograd F(m×m, 3×3) (nn/winograd.h,
  /// docs/winograd.md); only for 3×3 stride-1 convolutions. Public, like the architecture.
  /// Runs in the plaintext twin and the 2PC executor; not yet in the architecture file or
  /// ONNX export (not serialized) nor on the command line.
  int winograd = 0;
  /// Width l of the ring the layer computes in, 8..64; 0 = its first input's (the session's
  /// ring for a network where no layer sets one). Public, like the architecture: from the
  /// ONNX metadata "polympc.ring_bits" or `--layer-bits` (nn/placement.h "per-layer rings",
  /// docs/protocols.md "Per-layer rings").
  int ring_bits = 0;
  /// Fixed-point scale f the layer takes its input at (weights at f, bias at 2f, polynomial
  /// coefficients at coef_frac, f + coef_frac, 2f + coef_frac), 1..48; 0 = the session's f,
  /// which stays the scale of the network input and of the logits. Public, like the
  /// architecture: from the ONNX metadata "polympc.frac_bits" or `--layer-frac`
  /// (nn/placement.h, docs/protocols.md "Per-layer scales").
  int frac_bits = 0;
  // Poly: y = a2 x^2 + a1 x + a0 (a2 = s * w0 in PASNet's notation), each size 1 or C
  std::vector<float> poly_a2, poly_a1, poly_a0;
  // BlockRelu: one patch per input channel (public: part of the architecture)
  std::vector<BlockPatch> block_patches;

  /// Output shape without the batch dimension ([C, H, W] or [F]); set by infer_shapes().
  std::vector<int64_t> out_shape;
};

/// The fixed point a model was made for (`polympc rings`, `polympc train --method qat`):
/// the session's ring l, scale f and polynomial coefficient scale, which its per-layer
/// rings and scales assume. 0 / 0 / -1 = not recorded (the command line's or the defaults
/// apply). Carried by the ONNX metadata (kBitsMetadata, kFracMetadata, kCoefFracMetadata)
/// and by the architecture file ("fixed_point"), so that the dealer and the client, who
/// read only the latter, run at the fixed point the server's model was made for.
struct FixedPoint {
  int bits = 0;        ///< l, 8..64
  int frac = 0;        ///< f, 1..48
  int coef_frac = -1;  ///< 0..62
  bool recorded() const { return bits != 0 || frac != 0 || coef_frac >= 0; }
  bool operator==(const FixedPoint& o) const { return bits == o.bits && frac == o.frac && coef_frac == o.coef_frac; }
};

struct Network {
  std::string name;
  std::vector<int64_t> input_shape;  ///< without batch: [C, H, W]
  std::vector<Layer> layers;
  FixedPoint fixed_point;  ///< what the model was made for (load_onnx reads it; not written by save_onnx)

  /// Fills Layer::out_shape for every layer and checks parameter sizes: the input shape
  /// and every weight shape and output shape have dimensions >= 1 and at most
  /// mpc::kMaxTensorElements (2^31) elements (so their products never overflow), weight /
  /// bias value counts match their shapes, kernels >= 1 fit the padded input, strides >= 1,
  /// pads >= 0, a BlockRelu has a [C, H, W] input and C patches, each Identity, Zero or a
  /// rectangle of sides 1..kMaxBlockPatch. Throws ModelError
  /// "layer <i> '<name>' (<op>): <field> ..." on any
  /// inconsistency.
  void infer_shapes();
  /// Producer indices of layer i with the "previous layer" default resolved.
  std::vector<int> producers(size_t i) const;
  /// Number of elements of one output of layer i (without batch), at most
  /// mpc::kMaxTensorElements. Throws ModelError when i is out of range, the shape is not
  /// inferred yet, or a dimension is < 1 or the product exceeds the limit.
  int64_t out_size(size_t i) const;
  /// Number of elements of one input (without batch), at most mpc::kMaxTensorElements;
  /// throws ModelError ("network input shape [..]: ...") otherwise.
  int64_t input_size() const;
};

/// The fixed-point scale layer `L` runs at in a session of scale `f`: Layer::frac_bits, or f
/// when 0 (nn/placement.h ScalePlan::fracs and nn::quantize both use it).
inline int resolve_frac(int frac_bits, int f) { return frac_bits != 0 ? frac_bits : f; }

/// A per-layer integer setting carried by the model: its member, its range and its ONNX
/// metadata key ("LAYER=VALUE,...").
struct LayerSetting {
  int Layer::*member;
  int lo, hi;
  const char* what;      ///< "ring width", "fixed-point scale"
  const char* unit;      ///< "BITS", "FRAC" (in messages)
  const char* metadata;  ///< ONNX metadata key
};
/// Layer::ring_bits, 8..64, "polympc.ring_bits".
constexpr LayerSetting kRingBits{&Layer::ring_bits, 8, 64, "ring width", "BITS", "polympc.ring_bits"};
/// Layer::frac_bits, 1..48, "polympc.frac_bits".
constexpr LayerSetting kFracBits{&Layer::frac_bits, 1, 48, "fixed-point scale", "FRAC", "polympc.frac_bits"};
/// ONNX metadata key of the per-layer ring widths (Layer::ring_bits), "LAYER=BITS,...".
constexpr const char* kRingBitsMetadata = kRingBits.metadata;
/// ONNX metadata key of the per-layer fixed-point scales (Layer::frac_bits), "LAYER=FRAC,...".
constexpr const char* kFracBitsMetadata = kFracBits.metadata;
/// ONNX metadata keys of the fixed point a model's rings were chosen for (`polympc rings`):
/// the ring l the truncations are placed for, f, and the polynomial coefficient scale.
constexpr const char* kBitsMetadata = "polympc.bits";
constexpr const char* kFracMetadata = "polympc.frac";
constexpr const char* kCoefFracMetadata = "polympc.coef_frac";
/// The fixed point recorded in ONNX metadata (the keys above; an absent key stays unset).
/// Throws ModelError "<origin>: metadata '<key>' is '<value>', not an integer in [lo, hi]".
FixedPoint fixed_point_of(const std::map<std::string, std::string>& metadata, const std::string& origin);
/// Checks a recorded fixed point's ranges (FixedPoint); throws ModelError naming `origin`.
void check_fixed_point(const FixedPoint& fp, const std::string& origin);
/// "LAYER=VALUE,..." (VALUE in the setting's range, empty items ignored) as a map. Throws
/// ModelError naming the item otherwise.
std::map<std::string, int> parse_layer_values(const std::string& spec, const LayerSetting& s);
/// Sets the setting of each named layer. Throws ModelError naming a layer the network does
/// not have.
void set_layer_values(Network& net, const std::map<std::string, int>& values, const LayerSetting& s);
/// "LAYER=VALUE,..." of the layers whose setting is not 0 ("" when none).
std::string layer_values_spec(const Network& net, const LayerSetting& s);
/// The same for the ring widths (kRingBits).
inline std::map<std::string, int> parse_layer_bits(const std::string& spec) { return parse_layer_values(spec, kRingBits); }
inline void set_layer_bits(Network& net, const std::map<std::string, int>& bits) { set_layer_values(net, bits, kRingBits); }
inline std::string layer_bits_spec(const Network& net) { return layer_values_spec(net, kRingBits); }

}  // namespace polympc::nn
