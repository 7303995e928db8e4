// Scale-aware placement of fixed-point truncations (docs/protocols.md "Truncation
// placement"; the idea is LLAMA's compiler, Gupta et al., PETS'22 §5, which moves a
// convolution's truncation past the following ReLU or max pool).
//
// Every tensor carries its fixed-point scale: the number of fractional bits of its ring
// values. The network input is at scale f. A product with a weight at scale f adds f, a
// polynomial adds f + coef_frac (one-opening gate) and sum pooling adds log2 of its window.
// A truncation divides by a power of two and is needed only where an operation requires
// its input at scale f (matmul and polynomial inputs; comparisons on reduced bits, whose
// ranges are given at scale f) or where the headroom bound would be exceeded (a sum above
// max_scale). ReLU and max commute with floor(x / 2^s) exactly, so moving a truncation
// past them changes no bit;
// sums (pooling, Add) merge truncations. The plaintext twin runs the same plan, so the 2PC
// result stays bit-identical to it. The logits leave the network at their scale; they are
// finished (floor-divided down to scale f) in the clear by the client, or by one secure
// truncation before a secure argmax.
#pragma once
#include <string>
#include <vector>

#include "polympc/mpc/session.h"
#include "polympc/nn/ir.h"

namespace polympc::nn {

/// Whether a pooling window of v elements is a power of two (its average is then a sum
/// whose division joins the next truncation, else a multiplication by round(2^f / v)).
inline bool is_pow2(int64_t v) { return v > 0 && (v & (v - 1)) == 0; }

/// One level of a max pool's comparison tree (forward.h): `pairs` pairwise maxima of
/// candidate vectors, the comparisons tagged `tag` = "<layer>/max<level>".
struct MaxLevel {
  size_t pairs;
  std::string tag;
};
/// The levels of the max-pooling tree over `windows` candidates: level j pairs up
/// floor(c_j / 2) of its c_j candidates, an odd last one passes through, c_0 = windows;
/// ceil(log2 windows) levels, none for windows <= 1.
std::vector<MaxLevel> max_tree(const std::string& layer, int64_t windows);

/// Elements of the largest rectangle among a BlockRelu layer's patches (1 when none).
int64_t block_window(const std::vector<BlockPatch>& patches);

/// Integer bits a value may use above its scale before a truncation (|v| < 2^12 in real
/// terms): the headroom assumption of every truncation mode (docs/protocols.md).
constexpr int kMagnitudeBits = 12;

/// What the placement needs to know of a layer: kind, producers, pooling window. Built
/// from an nn::Network (scale_nodes) or from perfmodel's layer shapes, so that both run the
/// same plan.
struct ScaleNode {
  std::string name;
  OpKind op = OpKind::Relu;
  std::vector<int> inputs;      ///< producer indices (resolved), -1 = the network input
  int64_t window = 1;           ///< pools: elements per window (kh·kw, H·W when global);
                                ///< BlockRelu: elements of its largest patch (block_window)
  int64_t in_elements = 0;      ///< elements of the first input, per image
  int64_t out_elements = 0;     ///< elements of the output, per image
  int extra_frac = 0;           ///< Conv: fractional bits of the output above 2f (the
                                ///< Winograd form's u_frac, nn/winograd.h; 0 = direct)
  int ring_bits = 0;            ///< the layer's ring width l (Layer::ring_bits; 0 = its
                                ///< first input's)
  int frac_bits = 0;            ///< the layer's fixed-point scale (Layer::frac_bits; 0 = f)
};
/// The nodes of `net` (shapes inferred).
std::vector<ScaleNode> scale_nodes(const Network& net);

/// Whether a polynomial whose input is truncated by `in_shift` bits runs as one
/// truncate-then-polynomial gate (mpc::trunc_poly): under FSS truncation, whenever it
/// truncates at all.
inline bool fuses_trunc_poly(const mpc::ProtocolOptions& o, int in_shift) {
  return in_shift > 0 && o.trunc == mpc::TruncMode::Fss;
}

/// The placement of one network's truncations for one ring and protocol choice.
struct ScalePlan {
  int frac = 12;  ///< f
  /// Largest scale a tensor may reach before it must be truncated: max(2 f_max, bound - 12)
  /// (f_max: the largest of f and the layers' scales)
  /// with bound = l - 2 (exact and FSS truncation) or trunc_bound_bits (prob).
  int max_scale = 0;
  /// Per layer: truncation of its (first) input before the op, in bits (0 = none; negative:
  /// a lift, the input multiplied by 2^-in_shift, local and exact, when it arrives below the
  /// layer's scale).
  std::vector<int> in_shift;
  /// Per layer: the fixed-point scale f_i it takes its input at and its parameters are
  /// quantized for (ScaleNode::frac_bits, else f). The network input and the logits are at f.
  std::vector<int> fracs;
  /// Scale the network input is shared at: the first layer's f_i when it reads the input and
  /// is below f (the client floors its encoded input by f - input_scale before sharing, a
  /// local step on its own data, forward.h input_at_scale), else f.
  int input_scale = 12;
  /// Per layer (Add only): left shift of the second input (multiplication by 2^k, local and
  /// exact) that brings it to the first input's scale; or, when negative, the first input
  /// is lifted by -k.
  std::vector<int> lift;
  /// Per layer: scale of the output.
  std::vector<int> out_scale;
  /// Per layer (Poly only): the input truncation and the polynomial run as one
  /// truncate-then-polynomial gate (mpc::trunc_poly; FSS truncation only).
  std::vector<bool> fused;
  /// Bits the network's output is above scale f: finished by floor(v / 2^output_shift).
  int output_shift = 0;
  /// Per layer: width of the ring it computes in and its output lives in (per-layer rings:
  /// the layer's ScaleNode::ring_bits, else its first input's; all l when no layer sets one).
  std::vector<int> bits;
  /// Width of the ring the network input is shared in: the first layer's.
  int input_bits = 64;
  /// Ring width of producer j (-1 = the network input).
  int bits_of(int j) const { return j < 0 ? input_bits : bits[static_cast<size_t>(j)]; }

  /// Human-readable plan, one line per layer ("polympc infer --explain").
  std::string explain(const std::vector<ScaleNode>& nodes) const;
};

/// A per-layer ring that cannot be used: outside 8..64 bits, or too narrow for a scale the
/// placement leaves in it. The message names the layer.
class RingError : public mpc::InvalidArgument {
 public:
  using mpc::InvalidArgument::InvalidArgument;
};

/// How a tensor in a ring of `from` bits enters a layer that computes in `to` bits, with
/// the truncation of `shift` bits the plan puts before the layer (`truncate`; not for a
/// fused polynomial, whose truncation stays in its gate). Narrowing with a truncation:
/// truncate-reduce when it lands at or above `to` (and at least 8 bits), else the
/// truncation in the `from` ring; then a local reduction down to `to`. Widening: sign
/// extension, then the truncation in the `to` ring. The executor (forward.h) runs these
/// gates and the performance model prices them (mpc/protocols.h "ring extension and
/// reduction"; SIGMA, eprint 2023/1269, TruncateReduce and SignExtend).
struct RingEntry {
  bool trunc_reduce = false;   ///< truncate-reduce from -> from - shift
  bool trunc_in_from = false;  ///< the truncation in the `from` ring, before the conversion
  int arrived = 0;             ///< width after those: then reduce (> to) or sign-extend (< to)
  bool trunc_in_to = false;    ///< the truncation in the `to` ring, after the conversion
};
RingEntry ring_entry(int from, int to, int shift, bool truncate);

/// Plans the truncations of `net` (shapes inferred). Throws mpc::InvalidArgument when a
/// gate's own output scale does not fit the ring (a polynomial at 2f + coef_frac >= l - 2;
/// below that its output must stay under 2^(l-2-scale) in real units, as it had to inside
/// the two-opening gate): use a larger ring or a smaller coefficient scale.
/// Per-layer rings (ScaleNode::ring_bits): the truncations are placed for the ring `r`;
/// every layer's ring must be 8..64 bits and hold its output's scale and, when narrower
/// than its input's, the arriving input's scale, each with an integer bit and the sign;
/// else RingError naming the layer. Whether the values fit is checked on the
/// values (the plaintext twin: "layer '<name>': values exceed its <l>-bit ring").
ScalePlan plan_scales(const std::vector<ScaleNode>& nodes, const mpc::RingConfig& r,
                      const mpc::ProtocolOptions& o, int coef_frac);
/// plan_scales(scale_nodes(net), ...).
ScalePlan plan_scales(const Network& net, const mpc::RingConfig& r, const mpc::ProtocolOptions& o,
                      int coef_frac);

}  // namespace polympc::nn
