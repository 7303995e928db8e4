// Network IR: op names, shape inference and producer resolution (docs/design.md §12).
#include "polympc/nn/ir.h"

#include <climits>
#include <set>
#include <sstream>

#include "polympc/mpc/checked.h"

namespace polympc::nn {

std::string shape_str(const std::vector<int64_t>& s) {
  std::ostringstream os;
  os << '[';
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  os << ']';
  return os.str();
}

namespace {


std::string layer_prefix(const Layer& l, size_t i) {
  std::ostringstream os;
  os << "layer " << i << " '" << l.name << "' (" << op_name(l.op) << "): ";
  return os.str();
}

[[noreturn]] void fail(const Layer& l, size_t i, const std::string& why) {
  throw ModelError(layer_prefix(l, i) + why);
}

// Number of elements of a shape: every dimension >= 1, the product at most
// mpc::kMaxTensorElements. Throws ModelError "<what> [d0, d1, ..]: ..." otherwise; the
// product can therefore be used as an allocation size without overflow.
int64_t product(const std::vector<int64_t>& s, const std::string& what) {
  return static_cast<int64_t>(
      mpc::checked_product<ModelError>(s, what + " " + shape_str(s), mpc::kMaxTensorElements));
}

// Output extent of a window of size k, stride s, pads p0/p1 over n (floor mode).
// Pools additionally need every window to overlap the input (pad < kernel).
int64_t window_out(const Layer& l, size_t i, const char* axis, int64_t n, int k, int s, int p0,
                   int p1) {
  const bool pool = l.op == OpKind::AvgPool || l.op == OpKind::MaxPool;
  if (k < 1) fail(l, i, std::string("kernel ") + axis + " must be >= 1, got " + std::to_string(k));
  if (s < 1) fail(l, i, std::string("stride ") + axis + " must be >= 1, got " + std::to_string(s));
  if (p0 < 0 || p1 < 0) fail(l, i, std::string("negative padding along ") + axis);
  if (pool && (p0 >= k || p1 >= k))
    fail(l, i, std::string("padding along ") + axis + " must be smaller than the kernel");
  const int64_t padded = n + p0 + p1;
  if (padded < k)
    fail(l, i,
         std::string("kernel ") + axis + " " + std::to_string(k) +
             " is larger than the padded input " + std::to_string(padded));
  return (padded - k) / s + 1;
}

void check_coeffs(const Layer& l, size_t i, const char* what, const std::vector<float>& c,
                  int64_t channels) {
  const auto n = static_cast<int64_t>(c.size());
  if (n != 1 && n != channels)
    fail(l, i,
         std::string(what) + " has " + std::to_string(n) + " coefficients, expected 1 or " +
             std::to_string(channels) + " (one per channel)");
}

}  // namespace

const char* op_name(OpKind op) {
  switch (op) {
    case OpKind::Conv:
      return "Conv";
    case OpKind::Linear:
      return "Linear";
    case OpKind::Relu:
      return "Relu";
    case OpKind::Poly:
      return "Poly";
    case OpKind::AvgPool:
      return "AvgPool";
    case OpKind::MaxPool:
      return "MaxPool";
    case OpKind::GlobalAvgPool:
      return "GlobalAvgPool";
    case OpKind::Flatten:
      return "Flatten";
    case OpKind::Add:
      return "Add";
    case OpKind::BlockRelu:
      return "BlockRelu";
  }
  return "?";
}

std::string block_patch_name(const BlockPatch& p) {
  switch (p.kind) {
    case BlockPatch::Kind::Identity:
      return "identity";
    case BlockPatch::Kind::Zero:
      return "zero";
    case BlockPatch::Kind::Rect:
      break;
  }
  return std::to_string(p.h) + "x" + std::to_string(p.w);
}

BlockPatch parse_block_patch(const std::string& s) {
  BlockPatch p;
  if (s == "identity") {
    p.kind = BlockPatch::Kind::Identity;
  } else if (s == "zero") {
    p.kind = BlockPatch::Kind::Zero;
  } else if (s == "relu") {
    p.h = p.w = 1;
  } else {
    const size_t x = s.find('x');
    const auto side = [&](const std::string& t) {
      if (t.size() != 1 || t[0] < '1' || t[0] > '0' + kMaxBlockPatch) return 0;
      return t[0] - '0';
    };
    p.h = x == std::string::npos ? 0 : side(s.substr(0, x));
    p.w = x == std::string::npos ? 0 : side(s.substr(x + 1));
    if (p.h == 0 || p.w == 0)
      throw ModelError("Block-ReLU patch '" + s + "' is not HxW with sides 1.." +
                       std::to_string(kMaxBlockPatch) + ", 'relu', 'identity' or 'zero'");
  }
  return p;
}

std::vector<int> Network::producers(size_t i) const {
  if (i >= layers.size())
    throw ModelError("layer index " + std::to_string(i) + " out of range (network has " +
                     std::to_string(layers.size()) + " layers)");
  const Layer& l = layers[i];
  if (!l.inputs.empty()) return l.inputs;
  return {static_cast<int>(i) - 1};
}

int64_t Network::out_size(size_t i) const {
  if (i >= layers.size())
    throw ModelError("layer index " + std::to_string(i) + " out of range (network has " +
                     std::to_string(layers.size()) + " layers)");
  if (layers[i].out_shape.empty())
    throw ModelError("layer '" + layers[i].name +
                     "' has no output shape; call Network::infer_shapes() first");
  return product(layers[i].out_shape, layer_prefix(layers[i], i) + "output shape");
}

int64_t Network::input_size() const { return product(input_shape, "network input shape"); }

void Network::infer_shapes() {
  if (input_shape.size() != 3 && input_shape.size() != 1)
    throw ModelError("network input shape " + shape_str(input_shape) +
                     " must be [C, H, W] or [F] (without batch)");
  for (int64_t d : input_shape)
    if (d < 1)
      throw ModelError("network input shape " + shape_str(input_shape) +
                       " has a non-positive dimension");
  input_size();  // throws if the input has more than kMaxTensorElements elements
  std::set<std::string> names;
  for (size_t i = 0; i < layers.size(); ++i) {
    Layer& l = layers[i];
    if (!l.name.empty() && !names.insert(l.name).second) fail(l, i, "duplicate layer name");
    const std::vector<int> prod = producers(i);
    const size_t want_inputs = l.op == OpKind::Add ? 2 : 1;
    if (prod.size() != want_inputs)
      fail(
          l, i,
          "takes " + std::to_string(want_inputs) + " input(s), got " + std::to_string(prod.size()));
    std::vector<std::vector<int64_t>> in;
    for (int p : prod) {
      if (p < -1 || p >= static_cast<int>(i))
        fail(
            l, i,
            "input index " + std::to_string(p) + " must be -1 (network input) or an earlier layer");
      in.push_back(p < 0 ? input_shape : layers[static_cast<size_t>(p)].out_shape);
    }
    const std::vector<int64_t>& x = in[0];
    std::vector<int64_t> out;
    switch (l.op) {
      case OpKind::Conv: {
        if (x.size() != 3) fail(l, i, "input " + shape_str(x) + " is not [C, H, W]");
        if (l.weight_shape.size() != 4)
          fail(l, i, "weight shape " + shape_str(l.weight_shape) + " is not [Cout, Cin, kh, kw]");
        const int64_t numel = product(l.weight_shape, layer_prefix(l, i) + "weight shape");
        if (static_cast<int64_t>(l.weight.size()) != numel)
          fail(l, i,
               "weight has " + std::to_string(l.weight.size()) + " values, shape " +
                   shape_str(l.weight_shape) + " needs " + std::to_string(numel));
        if (l.weight_shape[2] > INT_MAX || l.weight_shape[3] > INT_MAX)
          fail(l, i,
               "weight shape " + shape_str(l.weight_shape) + " has a kernel larger than " +
                   std::to_string(INT_MAX));
        if (l.weight_shape[1] != x[0])
          fail(l, i,
               "weight expects " + std::to_string(l.weight_shape[1]) + " input channels, input " +
                   shape_str(x) + " has " + std::to_string(x[0]));
        // The kernel size is the weight's; kernel_h/kernel_w left at 1 are filled in.
        if (l.kernel_h == 1 && l.kernel_w == 1) {
          l.kernel_h = static_cast<int>(l.weight_shape[2]);
          l.kernel_w = static_cast<int>(l.weight_shape[3]);
        }
        if (l.kernel_h != l.weight_shape[2] || l.kernel_w != l.weight_shape[3])
          fail(l, i,
               "kernel " + std::to_string(l.kernel_h) + "x" + std::to_string(l.kernel_w) +
                   " does not match weight shape " + shape_str(l.weight_shape));
        if (!l.bias.empty() && static_cast<int64_t>(l.bias.size()) != l.weight_shape[0])
          fail(l, i,
               "bias has " + std::to_string(l.bias.size()) + " values, expected " +
                   std::to_string(l.weight_shape[0]));
        if (l.winograd != 0 && l.winograd != 2 && l.winograd != 4)
          fail(l, i, "winograd must be 0 (direct), 2 or 4, got " + std::to_string(l.winograd));
        if (l.winograd != 0 && (l.kernel_h != 3 || l.kernel_w != 3 || l.stride_h != 1 || l.stride_w != 1))
          fail(l, i,
               "Winograd F(" + std::to_string(l.winograd) + "x" + std::to_string(l.winograd) +
                   ",3x3) needs a 3x3 stride-1 convolution, got kernel " + std::to_string(l.kernel_h) + "x" +
                   std::to_string(l.kernel_w) + " stride " + std::to_string(l.stride_h) + "x" +
                   std::to_string(l.stride_w));
        out = {l.weight_shape[0],
               window_out(l, i, "h", x[1], l.kernel_h, l.stride_h, l.pad_top, l.pad_bottom),
               window_out(l, i, "w", x[2], l.kernel_w, l.stride_w, l.pad_left, l.pad_right)};
        break;
      }
      case OpKind::Linear: {
        if (l.weight_shape.size() != 2)
          fail(l, i, "weight shape " + shape_str(l.weight_shape) + " is not [out, in]");
        const int64_t numel = product(l.weight_shape, layer_prefix(l, i) + "weight shape");
        if (static_cast<int64_t>(l.weight.size()) != numel)
          fail(l, i,
               "weight has " + std::to_string(l.weight.size()) + " values, shape " +
                   shape_str(l.weight_shape) + " needs " + std::to_string(numel));
        const int64_t in_features = product(x, layer_prefix(l, i) + "input shape");
        if (l.weight_shape[1] != in_features)
          fail(l, i,
               "weight expects " + std::to_string(l.weight_shape[1]) + " inputs, input " +
                   shape_str(x) + " has " + std::to_string(in_features) + " elements");
        if (!l.bias.empty() && static_cast<int64_t>(l.bias.size()) != l.weight_shape[0])
          fail(l, i,
               "bias has " + std::to_string(l.bias.size()) + " values, expected " +
                   std::to_string(l.weight_shape[0]));
        out = {l.weight_shape[0]};
        break;
      }
      case OpKind::Relu:
        out = x;
        break;
      case OpKind::Poly:
        check_coeffs(l, i, "poly_a2", l.poly_a2, x[0]);
        check_coeffs(l, i, "poly_a1", l.poly_a1, x[0]);
        check_coeffs(l, i, "poly_a0", l.poly_a0, x[0]);
        out = x;
        break;
      case OpKind::AvgPool:
      case OpKind::MaxPool:
        if (x.size() != 3) fail(l, i, "input " + shape_str(x) + " is not [C, H, W]");
        out = {x[0], window_out(l, i, "h", x[1], l.kernel_h, l.stride_h, l.pad_top, l.pad_bottom),
               window_out(l, i, "w", x[2], l.kernel_w, l.stride_w, l.pad_left, l.pad_right)};
        break;
      case OpKind::GlobalAvgPool:
        if (x.size() != 3) fail(l, i, "input " + shape_str(x) + " is not [C, H, W]");
        out = {x[0], 1, 1};
        break;
      case OpKind::Flatten:
        out = {product(x, layer_prefix(l, i) + "input shape")};
        break;
      case OpKind::BlockRelu: {
        if (x.size() != 3) fail(l, i, "input " + shape_str(x) + " is not [C, H, W]");
        if (static_cast<int64_t>(l.block_patches.size()) != x[0])
          fail(l, i,
               "has " + std::to_string(l.block_patches.size()) + " patches, input " + shape_str(x) +
                   " has " + std::to_string(x[0]) + " channels (one patch each)");
        for (size_t c = 0; c < l.block_patches.size(); ++c) {
          const BlockPatch& p = l.block_patches[c];
          if (p.kind == BlockPatch::Kind::Rect &&
              (p.h < 1 || p.h > kMaxBlockPatch || p.w < 1 || p.w > kMaxBlockPatch))
            fail(l, i,
                 "channel " + std::to_string(c) + ": patch " + std::to_string(p.h) + "x" +
                     std::to_string(p.w) + " has a side outside 1.." +
                     std::to_string(kMaxBlockPatch));
        }
        out = x;
        break;
      }
      case OpKind::Add:
        if (in[0] != in[1])
          fail(l, i, "input shapes differ: " + shape_str(in[0]) + " vs " + shape_str(in[1]));
        out = x;
        break;
      default:
        fail(l, i, "unknown op kind " + std::to_string(static_cast<int>(l.op)));
    }
    // Every output is allocated per sample by the executors: bound its size.
    product(out, layer_prefix(l, i) + "output shape");
    l.out_shape = std::move(out);
  }
}

namespace {
struct FixedPointField {
  int FixedPoint::*member;
  const char* key;
  int lo, hi;
};
constexpr FixedPointField kFixedPointFields[] = {{&FixedPoint::bits, kBitsMetadata, 8, 64},
                                                 {&FixedPoint::frac, kFracMetadata, 1, 48},
                                                 {&FixedPoint::coef_frac, kCoefFracMetadata, 0, 62}};
}  // namespace

FixedPoint fixed_point_of(const std::map<std::string, std::string>& metadata, const std::string& origin) {
  FixedPoint fp;
  for (const FixedPointField& f : kFixedPointFields) {
    auto it = metadata.find(f.key);
    if (it == metadata.end()) continue;
    size_t used = 0;
    int v = 0;
    try {
      v = std::stoi(it->second, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != it->second.size() || v < f.lo || v > f.hi)
      throw ModelError(origin + ": metadata '" + f.key + "' is '" + it->second + "', not an integer in [" +
                       std::to_string(f.lo) + ", " + std::to_string(f.hi) + "]");
    fp.*f.member = v;
  }
  return fp;
}

void check_fixed_point(const FixedPoint& fp, const std::string& origin) {
  for (const FixedPointField& f : kFixedPointFields) {
    const int v = fp.*f.member;
    const bool unset = f.member == &FixedPoint::coef_frac ? v == -1 : v == 0;
    if (!unset && (v < f.lo || v > f.hi))
      throw ModelError(origin + ": fixed point '" + std::string(f.key).substr(8) + "' is " + std::to_string(v) +
                       ", not in [" + std::to_string(f.lo) + ", " + std::to_string(f.hi) + "]");
  }
}

std::map<std::string, int> parse_layer_values(const std::string& spec, const LayerSetting& setting) {
  std::map<std::string, int> out;
  std::stringstream ss(spec);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    const auto eq = item.find('=');
    int v = 0;
    size_t used = 0;
    try {
      if (eq != std::string::npos) v = std::stoi(item.substr(eq + 1), &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (eq == std::string::npos || eq == 0 || used == 0 || used != item.size() - eq - 1 || v < setting.lo ||
        v > setting.hi)
      throw ModelError(std::string("per-layer ") + setting.what + " '" + item + "' must be LAYER=" + setting.unit +
                       " with " + std::to_string(setting.lo) + " <= " + setting.unit + " <= " +
                       std::to_string(setting.hi));
    out[item.substr(0, eq)] = v;
  }
  return out;
}

void set_layer_values(Network& net, const std::map<std::string, int>& values, const LayerSetting& setting) {
  for (const auto& [name, v] : values) {
    bool found = false;
    for (Layer& L : net.layers)
      if (L.name == name) {
        L.*setting.member = v;
        found = true;
      }
    if (!found)
      throw ModelError(std::string("per-layer ") + setting.what + " for '" + name + "': network '" + net.name +
                       "' has no such layer");
  }
}

std::string layer_values_spec(const Network& net, const LayerSetting& setting) {
  std::string out;
  for (const Layer& L : net.layers)
    if (L.*setting.member != 0) out += (out.empty() ? "" : ",") + L.name + "=" + std::to_string(L.*setting.member);
  return out;
}

}  // namespace polympc::nn
