#include "polympc/nn/placement.h"
#include "polympc/nn/winograd.h"

#include "polympc/mpc/protocols.h"

#include <algorithm>
#include <sstream>

namespace polympc::nn {

namespace {

int log2i(int64_t v) {
  int k = 0;
  while ((int64_t{1} << k) < v) ++k;
  return k;
}

}  // namespace

int64_t block_window(const std::vector<BlockPatch>& patches) {
  int64_t w = 1;
  for (const BlockPatch& p : patches)
    if (p.kind == BlockPatch::Kind::Rect) w = std::max<int64_t>(w, int64_t{p.h} * p.w);
  return w;
}

std::vector<MaxLevel> max_tree(const std::string& layer, int64_t windows) {
  std::vector<MaxLevel> levels;
  for (int64_t cur = windows, level = 0; cur > 1; cur = cur / 2 + cur % 2, ++level)
    levels.push_back(MaxLevel{static_cast<size_t>(cur / 2), layer + "/max" + std::to_string(level)});
  return levels;
}

namespace {

/// Scale added by averaging k windows (forward.h `average`): log2 k for a power of two
/// (the division is left to a later truncation), else f (multiplication by round(2^f / k)).
int average_scale(int64_t k, int frac) { return is_pow2(k) ? log2i(k) : frac; }

/// Tags of the comparisons of a node (forward.h): the layer name for a ReLU and a
/// Block-ReLU, "<name>/max<level>" for each level of a max pool.
std::vector<std::string> compare_tags(const ScaleNode& L) {
  if (L.op == OpKind::Relu || L.op == OpKind::BlockRelu) return {L.name};
  std::vector<std::string> tags;
  for (const MaxLevel& lv : max_tree(L.name, L.window)) tags.push_back(lv.tag);
  return tags;
}

/// Whether a node compares on reduced bits. Those are given at scale f and must see their
/// input there: moving [lo, hi) up with the scale would drop the sub-ulp bits of a value
/// that a later sum still adds (the reduced-bit DReLU may call [0, 2^lo) negative).
bool compares_reduced_bits(const ScaleNode& L, const mpc::RingConfig& r,
                           const mpc::ProtocolOptions& o) {
  for (const std::string& tag : compare_tags(L)) {
    const mpc::CompareBits b = o.compare_range(tag, r.bits);
    if (!(b.lo == 0 && b.hi == r.bits)) return true;
  }
  return false;
}

int64_t elements(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

/// Per-layer ring widths (ScalePlan::bits, input_bits) and their scale checks.
void place_rings(const std::vector<ScaleNode>& nodes, const mpc::RingConfig& r, ScalePlan& p) {
  const size_t n = nodes.size();
  p.bits.assign(n, r.bits);
  p.input_bits = r.bits;
  bool any = false;
  for (const ScaleNode& L : nodes) any = any || L.ring_bits != 0;
  if (!any) return;
  for (size_t i = 0; i < n; ++i) {
    const ScaleNode& L = nodes[i];
    if (L.ring_bits != 0 && (L.ring_bits < 8 || L.ring_bits > 64))
      throw RingError("layer '" + L.name + "': ring of " + std::to_string(L.ring_bits) + " bits (needs 8..64)");
    const int in = L.inputs.at(0);
    p.bits[i] = L.ring_bits != 0 ? L.ring_bits : p.bits_of(in);
    if (i == 0 && in < 0) p.input_bits = p.bits[0];
    auto need = [&](int scale, const std::string& what) {
      if (scale + 2 > p.bits[i])
        throw RingError("layer '" + L.name + "': a ring of " + std::to_string(p.bits[i]) + " bits cannot hold " +
                                   what + " at scale " + std::to_string(scale) + " (needs at least " +
                                   std::to_string(scale + 2) + " bits: the scale, an integer bit and the sign)");
    };
    need(p.out_scale[i], "its output");
    if (in >= 0 && p.bits_of(in) > p.bits[i])  // what arrives, after the truncation the plan puts before the layer
      need(p.out_scale[static_cast<size_t>(in)] - (p.fused[i] ? 0 : p.in_shift[i]), "its input");
  }
}

}  // namespace

std::vector<ScaleNode> scale_nodes(const Network& net) {
  std::vector<ScaleNode> nodes;
  for (size_t i = 0; i < net.layers.size(); ++i) {
    const Layer& L = net.layers[i];
    ScaleNode n;
    n.name = L.name;
    n.op = L.op;
    n.inputs = net.producers(i);
    const std::vector<int64_t>& in =
        n.inputs[0] < 0 ? net.input_shape : net.layers[static_cast<size_t>(n.inputs[0])].out_shape;
    n.in_elements = elements(in);
    n.out_elements = net.out_size(i);
    if (L.op == OpKind::GlobalAvgPool) n.window = in.at(1) * in.at(2);
    if (L.op == OpKind::AvgPool || L.op == OpKind::MaxPool)
      n.window = static_cast<int64_t>(L.kernel_h) * L.kernel_w;
    if (L.op == OpKind::BlockRelu) n.window = block_window(L.block_patches);
    if (L.op == OpKind::Conv && L.winograd != 0) n.extra_frac = winograd_form(L.winograd).u_frac;
    n.ring_bits = L.ring_bits;
    n.frac_bits = L.frac_bits;
    nodes.push_back(std::move(n));
  }
  return nodes;
}

ScalePlan plan_scales(const Network& net, const mpc::RingConfig& r, const mpc::ProtocolOptions& o,
                      int coef_frac) {
  return plan_scales(scale_nodes(net), r, o, coef_frac);
}

ScalePlan plan_scales(const std::vector<ScaleNode>& nodes, const mpc::RingConfig& r,
                      const mpc::ProtocolOptions& o, int coef_frac) {
  ScalePlan p;
  const int f = r.frac;
  p.frac = f;
  const size_t n = nodes.size();
  p.fracs.assign(n, f);
  int f_max = f;
  for (size_t i = 0; i < n; ++i) {
    const ScaleNode& L = nodes[i];
    if (L.frac_bits != 0 && (L.frac_bits < kFracBits.lo || L.frac_bits > kFracBits.hi))
      throw mpc::InvalidArgument("layer '" + L.name + "': fixed-point scale " + std::to_string(L.frac_bits) +
                                 " (needs " + std::to_string(kFracBits.lo) + ".." + std::to_string(kFracBits.hi) + ")");
    p.fracs[i] = resolve_frac(L.frac_bits, f);
    f_max = std::max(f_max, p.fracs[i]);
  }
  p.input_scale = n && nodes[0].inputs.at(0) < 0 ? std::min(f, p.fracs[0]) : f;
  // Values must also stay below 2^(l-2) in the ring (for the exact truncation too).
  const int bound = std::min(mpc::trunc_exact_below_bits(r, o), r.bits - 2);
  p.max_scale = std::max(2 * f_max, bound - kMagnitudeBits);
  p.in_shift.assign(n, 0);
  p.lift.assign(n, 0);
  p.out_scale.assign(n, f);
  p.fused.assign(n, false);
  for (size_t i = 0; i < n; ++i) {
    const ScaleNode& L = nodes[i];
    auto scale_of = [&](int q) { return q < 0 ? p.input_scale : p.out_scale[static_cast<size_t>(q)]; };
    const int s = scale_of(L.inputs.at(0));
    const int fi = p.fracs[i];
    auto at_f = [&] { p.in_shift[i] = s - fi; };  // the op needs its input at scale f_i (a lift when below)
    switch (L.op) {
      case OpKind::Conv:
      case OpKind::Linear:
        at_f();
        p.out_scale[i] = 2 * fi + L.extra_frac;
        if (p.out_scale[i] > p.max_scale)
          throw mpc::InvalidArgument(
              "layer '" + L.name + "' (Conv): the Winograd form's output scale 2f + " + std::to_string(L.extra_frac) +
              " = " + std::to_string(p.out_scale[i]) + " bits is above " + std::to_string(p.max_scale) +
              ", the largest scale this ring and truncation leave 2^" + std::to_string(kMagnitudeBits) +
              " of headroom at; use the direct form for this layer, --trunc exact|fss or a larger ring");
        break;
      case OpKind::Poly: {
        at_f();
        p.fused[i] = fuses_trunc_poly(o, p.in_shift[i]);
        p.out_scale[i] = mpc::poly_out_scale(mpc::RingConfig{r.bits, fi}, o, coef_frac);
        if (p.out_scale[i] >= r.bits - 2)
          throw mpc::InvalidArgument(
              "layer '" + L.name + "' (Poly): the polynomial's output scale 2f + coef_frac = " +
              std::to_string(p.out_scale[i]) + " bits leaves no integer bits below 2^(l-2) in an l = " +
              std::to_string(r.bits) + " ring; use a larger ring (--bits) or a smaller coefficient scale");
        break;
      }
      case OpKind::Relu:
      case OpKind::MaxPool:
        if (compares_reduced_bits(L, r, o)) at_f();
        p.out_scale[i] = s - p.in_shift[i];
        break;
      case OpKind::BlockRelu:
        // The patch sums grow by log2 of the largest patch (sign(sum) = sign(mean) at any
        // scale): truncate first when they would leave the headroom, or for reduced bits.
        if (compares_reduced_bits(L, r, o) || s + log2i(L.window) > p.max_scale) at_f();
        p.out_scale[i] = s - p.in_shift[i];
        break;
      case OpKind::AvgPool:
      case OpKind::GlobalAvgPool: {
        const int add = average_scale(L.window, fi);
        if (s + add > p.max_scale) at_f();
        p.out_scale[i] = s - p.in_shift[i] + add;
        break;
      }
      case OpKind::Flatten:
        p.out_scale[i] = s;
        break;
      case OpKind::Add: {
        const int s2 = scale_of(L.inputs.at(1));
        p.lift[i] = s - s2;
        p.out_scale[i] = std::max(s, s2);
        break;
      }
    }
  }
  p.output_shift = n ? p.out_scale.back() - f : 0;
  if (p.output_shift < 0)
    throw mpc::InvalidArgument("layer '" + nodes.back().name + "': the logits leave at scale " +
                               std::to_string(p.out_scale.back()) + ", below the session's f = " + std::to_string(f) +
                               "; give the last layers a larger fixed-point scale (--layer-frac), or run at the f the model "
                               "was made for (the default: `polympc rings` records it in the model, polympc.frac, and "
                               "export-arch in the architecture file, fixed_point)");
  place_rings(nodes, r, p);
  return p;
}

RingEntry ring_entry(int from, int to, int shift, bool truncate) {
  RingEntry e;
  const bool t = truncate && shift > 0;
  e.trunc_reduce = t && from > to && from - shift >= to && from - shift >= 8;
  e.trunc_in_from = t && from > to && !e.trunc_reduce;
  e.trunc_in_to = t && from <= to;
  e.arrived = e.trunc_reduce ? from - shift : from;
  return e;
}

std::string ScalePlan::explain(const std::vector<ScaleNode>& nodes) const {
  std::ostringstream os;
  const bool rings = std::any_of(bits.begin(), bits.end(), [&](int b) { return b != bits.front(); }) ||
                     (!bits.empty() && bits.front() != input_bits);
  os << "truncation plan (scale = fractional bits; input at scale " << input_scale
     << ", sums may grow up to scale " << max_scale << "):\n";
  if (rings) os << "  per-layer rings: input shared in l=" << input_bits << "\n";
  for (size_t i = 0; i < nodes.size(); ++i) {
    const ScaleNode& L = nodes[i];
    const int s_in = L.inputs[0] < 0 ? input_scale : out_scale[static_cast<size_t>(L.inputs[0])];
    os << "  " << L.name << " (" << op_name(L.op) << "): ";
    if (in_shift[i] < 0) os << "lift input by " << -in_shift[i] << " (local, " << s_in << " -> " << fracs[i] << "), ";
    if (in_shift[i] > 0)
      os << "truncate input by " << in_shift[i] << " (" << s_in << " -> " << s_in - in_shift[i]
         << ", " << L.in_elements << " elements per image" << (fused[i] ? ", fused with the polynomial" : "")
         << "), ";
    else if (in_shift[i] == 0)
      os << "input at " << s_in << ", ";
    if (L.op == OpKind::Add && lift[i] != 0)
      os << "lift the " << (lift[i] > 0 ? "second" : "first") << " input by "
         << std::abs(lift[i]) << " bits (local), ";
    os << "output at " << out_scale[i];
    if (fracs[i] != frac) os << ", f=" << fracs[i];
    if (rings) {
      const int from = bits_of(L.inputs[0]);
      const RingEntry e = ring_entry(from, bits[i], in_shift[i], in_shift[i] > 0 && !fused[i]);
      os << ", ring l=" << bits[i];
      if (e.trunc_reduce) os << " (truncate-reduce " << from << " -> " << from - in_shift[i] << ")";
      if (e.arrived > bits[i]) os << " (reduce " << e.arrived << " -> " << bits[i] << ")";
      if (e.arrived < bits[i]) os << " (sign-extend " << e.arrived << " -> " << bits[i] << ")";
      if (L.op == OpKind::Add && bits_of(L.inputs.at(1)) != bits[i])
        os << " (second input " << bits_of(L.inputs.at(1)) << " -> " << bits[i] << ")";
    }
    os << "\n";
  }
  os << "  output: ";
  if (output_shift > 0)
    os << "logits at scale " << out_scale.back() << ", finished by >> " << output_shift
       << " in the clear by the client (by a secure truncation before a secure argmax)\n";
  else
    os << "logits at scale " << frac << "\n";
  return os.str();
}

}  // namespace polympc::nn
