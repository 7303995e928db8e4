// The public architecture file and the architecture / model hashes (arch_file.h).
#include "polympc/nn/arch_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <utility>

#include "polympc/mpc/checked.h"
#include "polympc/mpc/digest.h"
#include "polympc/mpc/file_io.h"

namespace polympc::nn {
namespace {

using Json = nlohmann::json;

constexpr const char* kFormat = "polympc-arch";
constexpr const char* kArchTag = "polympc-arch-v1";
constexpr const char* kModelTag = "polympc-model-v1";
constexpr OpKind kAllOps[] = {OpKind::Conv,          OpKind::Linear,  OpKind::Relu,
                              OpKind::Poly,          OpKind::AvgPool, OpKind::MaxPool,
                              OpKind::GlobalAvgPool, OpKind::Flatten, OpKind::Add,
                              OpKind::BlockRelu};
// Deepest nesting of the format: root object (0) > "layers" (1) > layer (2) > array (3).
constexpr int kMaxJsonDepth = 3;
// Most JSON values one file may hold (bounds the parsed tree's memory, ~16 B a value).
constexpr uint64_t kMaxJsonValues = uint64_t{8} << 20;
constexpr int64_t kIntMax = INT_MAX;
constexpr int64_t kMaxElements = static_cast<int64_t>(mpc::kMaxTensorElements);

// ---- the public part of a network: what the file stores and the hash covers ------------

struct PublicLayer {
  OpKind op = OpKind::Relu;
  std::string name;
  std::vector<int64_t> inputs;  ///< resolved producers, -1 = network input
  std::vector<int64_t> weight_shape;
  int64_t bias_size = 0;
  std::array<int64_t, 2> kernel{1, 1};
  std::array<int64_t, 2> stride{1, 1};
  std::array<int64_t, 4> pads{0, 0, 0, 0};     ///< top, left, bottom, right (ONNX order)
  std::array<int64_t, 3> poly_sizes{0, 0, 0};  ///< |a2|, |a1|, |a0|
  std::vector<int64_t> out_shape;
  /// BlockRelu only (the field "patches", one name per channel: "2x2", "identity", "zero").
  std::vector<BlockPatch> patches;
  /// Conv only (the field "winograd", written when not 0): 0 = direct, 2 or 4 = Winograd
  /// F(m×m, 3×3) (Layer::winograd, docs/winograd.md).
  int64_t winograd = 0;
  /// The field "ring_bits", written when not 0: the layer's ring width (Layer::ring_bits).
  int64_t ring_bits = 0;
  /// The field "frac_bits", written when not 0: the layer's fixed-point scale (Layer::frac_bits).
  int64_t frac_bits = 0;
};

struct PublicNet {
  std::vector<int64_t> input_shape;
  std::vector<PublicLayer> layers;
  /// The field "fixed_point", written when recorded (Network::fixed_point).
  FixedPoint fixed_point;
};


using polympc::nn::shape_str;
template <size_t N>
std::string shape_str(const std::array<int64_t, N>& s) {
  return shape_str(std::vector<int64_t>(s.begin(), s.end()));
}

std::string layer_where(const std::string& prefix, size_t i, const std::string& name) {
  return prefix + ": layer " + std::to_string(i) + " '" + name + "'";
}

// Number of weight values a layer with this weight shape has (no shape: no weight).
int64_t weight_count(const std::vector<int64_t>& weight_shape, const std::string& what) {
  if (weight_shape.empty()) return 0;
  return static_cast<int64_t>(mpc::checked_product<ModelError>(weight_shape, what));
}

// The public part of a network on which infer_shapes() has run.
PublicNet public_part(const Network& net) {
  PublicNet p;
  p.input_shape = net.input_shape;
  p.fixed_point = net.fixed_point;
  p.layers.reserve(net.layers.size());
  for (size_t i = 0; i < net.layers.size(); ++i) {
    const Layer& l = net.layers[i];
    PublicLayer q;
    q.op = l.op;
    q.name = l.name;
    for (int x : net.producers(i)) q.inputs.push_back(x);
    q.weight_shape = l.weight_shape;
    q.bias_size = static_cast<int64_t>(l.bias.size());
    q.kernel = {l.kernel_h, l.kernel_w};
    q.stride = {l.stride_h, l.stride_w};
    q.pads = {l.pad_top, l.pad_left, l.pad_bottom, l.pad_right};
    q.poly_sizes = {static_cast<int64_t>(l.poly_a2.size()), static_cast<int64_t>(l.poly_a1.size()),
                    static_cast<int64_t>(l.poly_a0.size())};
    q.out_shape = l.out_shape;
    q.patches = l.block_patches;
    q.winograd = l.winograd;
    q.ring_bits = l.ring_bits;
    q.frac_bits = l.frac_bits;
    p.layers.push_back(std::move(q));
  }
  return p;
}

// Every range and size rule of the format; `prefix` names the file (or save_arch).
void validate_public(const PublicNet& p, const std::string& prefix) {
  const auto check_shape = [](const std::vector<int64_t>& s, const std::string& what) {
    if (s.size() != 1 && s.size() != 3)
      throw ModelError(what + ": shape " + shape_str(s) + " must be [C, H, W] or [F]");
    mpc::checked_product<ModelError>(s, what);
  };
  check_shape(p.input_shape, prefix + ": field 'input_shape'");
  check_fixed_point(p.fixed_point, prefix + ": field 'fixed_point'");
  if (p.layers.empty()) throw ModelError(prefix + ": field 'layers': the network has no layers");
  if (p.layers.size() > kMaxArchLayers)
    throw ModelError(prefix + ": field 'layers': " + std::to_string(p.layers.size()) +
                     " layers, more than the limit of " + std::to_string(kMaxArchLayers));
  std::map<std::string, size_t> names;
  uint64_t parameters = 0;
  for (size_t i = 0; i < p.layers.size(); ++i) {
    const PublicLayer& l = p.layers[i];
    const std::string where = layer_where(prefix, i, l.name);
    const auto field = [&](const char* f) { return where + ": field '" + f + "'"; };
    if (l.name.size() > kMaxLayerNameBytes)
      throw ModelError(field("name") + ": " + std::to_string(l.name.size()) +
                       " bytes, more than the limit of " + std::to_string(kMaxLayerNameBytes));
    if (!l.name.empty() && !names.emplace(l.name, i).second)
      throw ModelError(field("name") + ": duplicate layer name (also layer " +
                       std::to_string(names[l.name]) + ")");
    if (l.inputs.empty() || l.inputs.size() > 2)
      throw ModelError(field("inputs") + ": " + std::to_string(l.inputs.size()) +
                       " inputs; a layer has 1 (or 2 for Add)");
    for (int64_t x : l.inputs)
      if (x < -1 || x >= static_cast<int64_t>(i))
        throw ModelError(field("inputs") + ": input index " + std::to_string(x) +
                         " must be -1 (the network input) or an earlier layer (0.." +
                         std::to_string(static_cast<int64_t>(i) - 1) + ")");
    if (l.weight_shape.size() > 4)
      throw ModelError(field("weight_shape") + ": rank " + std::to_string(l.weight_shape.size()) +
                       " (at most 4: Conv [Cout, Cin, kh, kw], Linear [out, in])");
    const int64_t weights = weight_count(l.weight_shape, field("weight_shape"));
    if (l.bias_size < 0 || l.bias_size > kMaxElements)
      throw ModelError(field("bias_size") + ": " + std::to_string(l.bias_size) + " is not in 0.." +
                       std::to_string(kMaxElements));
    for (int k = 0; k < 2; ++k) {
      if (l.kernel[k] < 1 || l.kernel[k] > kIntMax)
        throw ModelError(field("kernel") + ": " + shape_str(l.kernel) + ": each must be in 1.." +
                         std::to_string(kIntMax));
      if (l.stride[k] < 1 || l.stride[k] > kIntMax)
        throw ModelError(field("stride") + ": " + shape_str(l.stride) + ": each must be in 1.." +
                         std::to_string(kIntMax));
    }
    for (int64_t pad : l.pads)
      if (pad < 0 || pad > kIntMax)
        throw ModelError(field("pads") + ": " + shape_str(l.pads) + ": each must be in 0.." +
                         std::to_string(kIntMax));
    for (int64_t n : l.poly_sizes)
      if (n < 0 || n > kMaxElements)
        throw ModelError(field("poly_sizes") + ": " + shape_str(l.poly_sizes) +
                         ": each must be in 0.." + std::to_string(kMaxElements));
    check_shape(l.out_shape, field("out_shape"));
    if (l.op != OpKind::BlockRelu && !l.patches.empty())
      throw ModelError(field("patches") + ": only a BlockRelu layer has patches");
    if (l.winograd != 0 && l.winograd != 2 && l.winograd != 4)
      throw ModelError(field("winograd") + ": " + std::to_string(l.winograd) +
                       " (expected 2 or 4: Winograd F(2x2,3x3) or F(4x4,3x3); omit the field for the direct form)");
    if (l.winograd != 0 && l.op != OpKind::Conv)
      throw ModelError(field("winograd") + ": only a Conv layer has a Winograd form");
    if (l.ring_bits != 0 && (l.ring_bits < 8 || l.ring_bits > 64))
      throw ModelError(field("ring_bits") + ": " + std::to_string(l.ring_bits) +
                       " (expected 8..64; omit the field for the input's ring)");
    if (l.frac_bits != 0 && (l.frac_bits < kFracBits.lo || l.frac_bits > kFracBits.hi))
      throw ModelError(field("frac_bits") + ": " + std::to_string(l.frac_bits) + " (expected " +
                       std::to_string(kFracBits.lo) + ".." + std::to_string(kFracBits.hi) +
                       "; omit the field for the session's f)");
    // Every parameter is held (as zeros) by whoever loads the file: bound the total.
    const std::string total = field("weight_shape") + " (parameters of the network so far)";
    for (int64_t n : {weights, l.bias_size, l.poly_sizes[0], l.poly_sizes[1], l.poly_sizes[2]})
      parameters = mpc::checked_add<ModelError>(parameters, static_cast<uint64_t>(n), total,
                                                kMaxArchParameters);
  }
}

// ---- hashing (SHA-256, mpc/digest.h) -----------------------------------------------------

// The encodings the two hashes are defined over (arch_file.h): u64 little-endian, strings
// and lists length-prefixed, floats as float32 little-endian.
class NetHash {
 public:
  void bytes(const void* data, size_t n) { h_.bytes(data, n); }
  void u64(uint64_t v) { h_.u64(v); }
  void i64(int64_t v) { h_.u64(static_cast<uint64_t>(v)); }
  void str(const std::string& s) { h_.str(s); }
  void dims(const std::vector<int64_t>& d) {
    u64(d.size());
    for (int64_t x : d) i64(x);
  }
  void floats(const std::vector<float>& v) {
    u64(v.size());
    std::vector<unsigned char> buf;
    buf.reserve(4 * v.size());
    for (float f : v) {
      uint32_t w;
      std::memcpy(&w, &f, sizeof w);
      for (int k = 0; k < 4; ++k) buf.push_back(static_cast<unsigned char>(w >> (8 * k)));
    }
    bytes(buf.data(), buf.size());
  }
  std::string hex() { return mpc::to_hex(h_.final()); }

 private:
  mpc::Hasher h_;
};

std::string hash_public(const PublicNet& p) {
  NetHash h;
  h.bytes(kArchTag, std::strlen(kArchTag));
  h.dims(p.input_shape);
  h.u64(p.layers.size());
  for (const PublicLayer& l : p.layers) {
    h.str(op_name(l.op));
    h.str(l.name);
    h.dims(l.inputs);
    h.dims(l.weight_shape);
    h.u64(static_cast<uint64_t>(l.bias_size));
    for (int64_t v : l.kernel) h.i64(v);
    for (int64_t v : l.stride) h.i64(v);
    for (int64_t v : l.pads) h.i64(v);
    for (int64_t v : l.poly_sizes) h.u64(static_cast<uint64_t>(v));
    h.dims(l.out_shape);
    if (l.op == OpKind::BlockRelu) {  // hashed only here: other layers' hashes unchanged
      h.u64(l.patches.size());
      for (const BlockPatch& bp : l.patches) h.str(block_patch_name(bp));
    }
    if (l.winograd != 0) {  // hashed only when set: direct-form hashes unchanged
      h.str("winograd");
      h.i64(l.winograd);
    }
    if (l.ring_bits != 0) {  // hashed only when set: uniform-ring hashes unchanged
      h.str("ring_bits");
      h.i64(l.ring_bits);
    }
    if (l.frac_bits != 0) {  // hashed only when set: uniform-scale hashes unchanged
      h.str("frac_bits");
      h.i64(l.frac_bits);
    }
  }
  if (p.fixed_point.recorded()) {  // hashed only when recorded: other hashes unchanged
    h.str("fixed_point");
    h.i64(p.fixed_point.bits);
    h.i64(p.fixed_point.frac);
    h.i64(p.fixed_point.coef_frac);
  }
  return h.hex();
}

std::string hash_model(const std::string& arch_hash, const Network& net) {
  NetHash h;
  h.bytes(kModelTag, std::strlen(kModelTag));
  h.bytes(arch_hash.data(), arch_hash.size());
  for (const Layer& l : net.layers)
    for (const std::vector<float>* v : {&l.weight, &l.bias, &l.poly_a2, &l.poly_a1, &l.poly_a0})
      h.floats(*v);
  return h.hex();
}

Network inferred_copy(const Network& net) {
  Network c = net;
  c.infer_shapes();
  return c;
}

// ---- writing -------------------------------------------------------------------------------

// JSON array of integers on one line: [1, 28, 28].
template <class Ints>
std::string ints_json(const Ints& v) {
  std::string s = "[";
  for (auto it = std::begin(v); it != std::end(v); ++it)
    s += (it == std::begin(v) ? "" : ", ") + std::to_string(*it);
  return s + "]";
}

// The file: fixed key order, one line per layer (diffs and reviews read layer by layer).
std::string render(const PublicNet& p, const std::string& arch_hash, const std::string& mhash,
                   const std::string& prefix) {
  std::string out = "{\n";
  out += "  \"format\": \"" + std::string(kFormat) + "\",\n";
  out += "  \"version\": " + std::to_string(kArchFileVersion) + ",\n";
  out += "  \"architecture_hash\": \"" + arch_hash + "\",\n";
  out += "  \"model_hash\": \"" + mhash + "\",\n";
  out += "  \"input_shape\": " + ints_json(p.input_shape) + ",\n";
  if (p.fixed_point.recorded())
    out += "  \"fixed_point\": {\"bits\": " + std::to_string(p.fixed_point.bits) + ", \"frac\": " +
           std::to_string(p.fixed_point.frac) + ", \"coef_frac\": " + std::to_string(p.fixed_point.coef_frac) + "},\n";
  out += "  \"layers\": [\n";
  for (size_t i = 0; i < p.layers.size(); ++i) {
    const PublicLayer& l = p.layers[i];
    std::string name;
    try {
      name = Json(l.name).dump();  // quoted and escaped
    } catch (const nlohmann::json::exception&) {
      throw ModelError(layer_where(prefix, i, l.name) +
                       ": the layer name is not valid UTF-8 and cannot be written to JSON");
    }
    out += "    {\"name\": " + name + ", \"op\": \"" + op_name(l.op) + "\"";
    out += ", \"inputs\": " + ints_json(l.inputs);
    out += ", \"weight_shape\": " + ints_json(l.weight_shape);
    out += ", \"bias_size\": " + std::to_string(l.bias_size);
    out += ", \"kernel\": " + ints_json(l.kernel);
    out += ", \"stride\": " + ints_json(l.stride);
    out += ", \"pads\": " + ints_json(l.pads);
    out += ", \"poly_sizes\": " + ints_json(l.poly_sizes);
    out += ", \"out_shape\": " + ints_json(l.out_shape);
    if (l.op == OpKind::BlockRelu) {
      out += ", \"patches\": [";
      for (size_t c = 0; c < l.patches.size(); ++c)
        out += (c ? ", \"" : "\"") + block_patch_name(l.patches[c]) + "\"";
      out += "]";
    }
    if (l.winograd != 0) out += ", \"winograd\": " + std::to_string(l.winograd);
    if (l.ring_bits != 0) out += ", \"ring_bits\": " + std::to_string(l.ring_bits);
    if (l.frac_bits != 0) out += ", \"frac_bits\": " + std::to_string(l.frac_bits);
    out += i + 1 < p.layers.size() ? "},\n" : "}\n";
  }
  out += "  ]\n}\n";
  return out;
}

std::string sys_error() { return std::strerror(errno); }

// ---- reading -------------------------------------------------------------------------------

std::string read_limited(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw ModelError("cannot open architecture file '" + path + "': " + sys_error());
  std::string text;
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const std::string err = sys_error();
      ::close(fd);
      throw ModelError("cannot read architecture file '" + path + "': " + err);
    }
    if (n == 0) break;
    if (text.size() + static_cast<size_t>(n) > kMaxArchFileBytes) {
      ::close(fd);
      throw ModelError(path + ": larger than the limit of " + std::to_string(kMaxArchFileBytes) +
                       " bytes for an architecture file; not an architecture file, or a "
                       "corrupted one");
    }
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return text;
}

Json parse_json(const std::string& text, const std::string& path) {
  uint64_t values = 0;
  const Json::parser_callback_t limit = [&](int depth, Json::parse_event_t ev, Json&) {
    if ((ev == Json::parse_event_t::object_start || ev == Json::parse_event_t::array_start) &&
        depth > kMaxJsonDepth)
      throw ModelError(path + ": JSON nested deeper than an architecture file is (" +
                       std::to_string(kMaxJsonDepth + 1) + " levels)");
    if (ev == Json::parse_event_t::value && ++values > kMaxJsonValues)
      throw ModelError(path + ": more than " + std::to_string(kMaxJsonValues) +
                       " JSON values; not an architecture file");
    return true;
  };
  try {
    return Json::parse(text, limit);
  } catch (const Json::parse_error& e) {
    std::string why = e.what();
    const size_t k = why.find("] ");
    if (why.rfind("[json.exception.", 0) == 0 && k != std::string::npos) why = why.substr(k + 2);
    throw ModelError(
        path + ": not a valid JSON file (truncated, or not an architecture file: " + why + ")");
  }
}

const std::set<std::string>& parameter_fields() {
  static const std::set<std::string> s = {
      "weight", "weights", "bias",       "biases",      "poly_a2",      "poly_a1", "poly_a0",
      "poly",   "params",  "parameters", "initializer", "initializers", "values",  "data"};
  return s;
}

// Refuses a field that is not in `known`; parameter values get their own message.
void check_keys(const Json& obj, const std::vector<const char*>& known, const std::string& where) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    const std::string& k = it.key();
    bool ok = false;
    for (const char* n : known) ok = ok || k == n;
    if (ok) continue;
    if (parameter_fields().count(k))
      throw ModelError(where + ": field '" + k +
                       "' holds parameter values; an architecture file must never contain "
                       "weights (write it with `polympc export-arch`)");
    std::string list;
    for (const char* n : known) list += (list.empty() ? "" : ", ") + std::string(n);
    throw ModelError(where + ": unknown field '" + k + "' (a version " +
                     std::to_string(kArchFileVersion) + " file has: " + list + ")");
  }
  for (const char* n : known)
    if (!obj.contains(n)) throw ModelError(where + ": missing field '" + n + "'");
}

std::string type_of(const Json& v) {
  if (v.is_number_float()) return "the number " + v.dump();
  return std::string("a JSON ") + v.type_name();
}

int64_t get_int(const Json& v, const std::string& what) {
  if (v.is_number_unsigned()) {
    const auto u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(INT64_MAX))
      throw ModelError(what + ": " + std::to_string(u) + " is too large");
    return static_cast<int64_t>(u);
  }
  if (v.is_number_integer()) return v.get<int64_t>();
  throw ModelError(what + ": expected an integer, got " + type_of(v));
}

std::vector<int64_t> get_ints(const Json& v, const std::string& what, size_t max_len) {
  if (!v.is_array()) throw ModelError(what + ": expected an array of integers, got " + type_of(v));
  if (v.size() > max_len)
    throw ModelError(what + ": " + std::to_string(v.size()) + " entries, at most " +
                     std::to_string(max_len));
  std::vector<int64_t> out;
  for (size_t k = 0; k < v.size(); ++k)
    out.push_back(get_int(v[k], what + " entry " + std::to_string(k)));
  return out;
}

template <size_t N>
std::array<int64_t, N> get_fixed(const Json& v, const std::string& what, const char* meaning) {
  const std::vector<int64_t> x = get_ints(v, what, N);
  if (x.size() != N)
    throw ModelError(what + ": expected " + std::to_string(N) + " integers " + meaning + ", got " +
                     std::to_string(x.size()));
  std::array<int64_t, N> a{};
  for (size_t k = 0; k < N; ++k) a[k] = x[k];
  return a;
}

std::string get_string(const Json& v, const std::string& what) {
  if (!v.is_string()) throw ModelError(what + ": expected a string, got " + type_of(v));
  return v.get<std::string>();
}

std::string get_hash(const Json& v, const std::string& what) {
  const std::string s = get_string(v, what);
  bool ok = s.size() == 64;
  for (char c : s) ok = ok && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
  if (!ok) throw ModelError(what + ": expected 64 lowercase hex digits (SHA-256)");
  return s;
}

OpKind get_op(const Json& v, const std::string& what) {
  const std::string s = get_string(v, what);
  std::string list;
  for (OpKind op : kAllOps) {
    if (s == op_name(op)) return op;
    list += (list.empty() ? "" : ", ") + std::string(op_name(op));
  }
  throw ModelError(what + ": unknown op '" + s + "' (known: " + list + ")");
}

PublicLayer parse_layer(const Json& v, size_t i, const std::string& path) {
  const std::string at = path + ": layer " + std::to_string(i);
  if (!v.is_object()) throw ModelError(at + ": expected a JSON object, got " + type_of(v));
  std::string name;
  if (v.contains("name") && v["name"].is_string()) name = v["name"].get<std::string>();
  const std::string where = layer_where(path, i, name);
  const auto field = [&](const char* f) { return where + ": field '" + f + "'"; };
  PublicLayer l;
  if (v.contains("op")) l.op = get_op(v["op"], field("op"));
  std::vector<const char*> keys = {"name",   "op",     "inputs", "weight_shape", "bias_size",
                                   "kernel", "stride", "pads",   "poly_sizes",   "out_shape"};
  if (l.op == OpKind::BlockRelu) keys.push_back("patches");
  if (l.op == OpKind::Conv && v.contains("winograd")) keys.push_back("winograd");  // optional
  if (v.contains("ring_bits")) keys.push_back("ring_bits");                         // optional
  if (v.contains("frac_bits")) keys.push_back("frac_bits");                         // optional
  check_keys(v, keys, where);
  l.name = get_string(v["name"], field("name"));
  l.inputs = get_ints(v["inputs"], field("inputs"), 2);
  l.weight_shape = get_ints(v["weight_shape"], field("weight_shape"), 4);
  l.bias_size = get_int(v["bias_size"], field("bias_size"));
  l.kernel = get_fixed<2>(v["kernel"], field("kernel"), "[kh, kw]");
  l.stride = get_fixed<2>(v["stride"], field("stride"), "[sh, sw]");
  l.pads = get_fixed<4>(v["pads"], field("pads"), "[top, left, bottom, right]");
  l.poly_sizes = get_fixed<3>(v["poly_sizes"], field("poly_sizes"), "[|a2|, |a1|, |a0|]");
  l.out_shape = get_ints(v["out_shape"], field("out_shape"), 3);
  if (v.contains("winograd")) l.winograd = get_int(v["winograd"], field("winograd"));
  if (v.contains("ring_bits")) l.ring_bits = get_int(v["ring_bits"], field("ring_bits"));
  if (v.contains("frac_bits")) l.frac_bits = get_int(v["frac_bits"], field("frac_bits"));
  if (l.op == OpKind::BlockRelu) {
    const Json& pv = v["patches"];
    if (!pv.is_array())
      throw ModelError(field("patches") + ": expected an array of patch names, got " + type_of(pv));
    if (pv.size() > static_cast<size_t>(kMaxElements))
      throw ModelError(field("patches") + ": " + std::to_string(pv.size()) + " entries, at most " +
                       std::to_string(kMaxElements));
    for (size_t c = 0; c < pv.size(); ++c) {
      const std::string what = field("patches") + " entry " + std::to_string(c);
      try {
        l.patches.push_back(parse_block_patch(get_string(pv[c], what)));
      } catch (const ModelError& e) {
        if (std::string(e.what()).rfind(what, 0) == 0) throw;
        throw ModelError(what + ": " + e.what());
      }
    }
  }
  return l;
}

struct Parsed {
  PublicNet net;
  std::string architecture_hash;
  std::string model_hash;
};

Parsed parse_file(const Json& j, const std::string& path) {
  if (!j.is_object())
    throw ModelError(path + ": not an architecture file (expected a JSON object, got " +
                     type_of(j) + ")");
  if (!j.contains("format") || !j["format"].is_string() || j["format"] != kFormat)
    throw ModelError(path + ": not an architecture file (field 'format' is " +
                     (j.contains("format") ? j["format"].dump() : std::string("missing")) +
                     ", expected \"" + kFormat + "\"; write one with `polympc export-arch`)");
  if (!j.contains("version")) throw ModelError(path + ": missing field 'version'");
  const int64_t version = get_int(j["version"], path + ": field 'version'");
  if (version != kArchFileVersion)
    throw ModelError(path + ": architecture file version " + std::to_string(version) +
                     " is not supported (this polympc reads version " +
                     std::to_string(kArchFileVersion) +
                     "); write it again with this polympc's `export-arch`");
  std::vector<const char*> keys = {"format", "version", "architecture_hash", "model_hash", "input_shape", "layers"};
  if (j.contains("fixed_point")) keys.push_back("fixed_point");  // optional
  check_keys(j, keys, path);
  Parsed p;
  p.architecture_hash = get_hash(j["architecture_hash"], path + ": field 'architecture_hash'");
  p.model_hash = get_hash(j["model_hash"], path + ": field 'model_hash'");
  p.net.input_shape = get_ints(j["input_shape"], path + ": field 'input_shape'", 3);
  if (j.contains("fixed_point")) {
    const Json& fp = j["fixed_point"];
    const std::string where = path + ": field 'fixed_point'";
    if (!fp.is_object()) throw ModelError(where + ": expected an object, got " + type_of(fp));
    check_keys(fp, {"bits", "frac", "coef_frac"}, where);
    auto field = [&](const char* k) {
      const int64_t v = get_int(fp[k], where + " '" + k + "'");
      if (v < -1 || v > 64) throw ModelError(where + " '" + k + "': " + std::to_string(v) + " is out of range");
      return static_cast<int>(v);
    };
    p.net.fixed_point = {field("bits"), field("frac"), field("coef_frac")};
  }
  const Json& layers = j["layers"];
  if (!layers.is_array())
    throw ModelError(path + ": field 'layers': expected an array, got " + type_of(layers));
  if (layers.size() > kMaxArchLayers)
    throw ModelError(path + ": field 'layers': " + std::to_string(layers.size()) +
                     " layers, more than the limit of " + std::to_string(kMaxArchLayers));
  for (size_t i = 0; i < layers.size(); ++i)
    p.net.layers.push_back(parse_layer(layers[i], i, path));
  return p;
}

// The network of a validated public part, every parameter a zero; out_shape left empty.
Network build(const PublicNet& p) {
  Network net;
  net.input_shape = p.input_shape;
  net.fixed_point = p.fixed_point;
  for (size_t i = 0; i < p.layers.size(); ++i) {
    const PublicLayer& q = p.layers[i];
    Layer l;
    l.name = q.name;
    l.op = q.op;
    if (!(q.inputs.size() == 1 && q.inputs[0] == static_cast<int64_t>(i) - 1))
      for (int64_t x : q.inputs) l.inputs.push_back(static_cast<int>(x));
    l.weight_shape = q.weight_shape;
    l.weight.assign(static_cast<size_t>(weight_count(q.weight_shape, "weight_shape")), 0.f);
    l.bias.assign(static_cast<size_t>(q.bias_size), 0.f);
    l.kernel_h = static_cast<int>(q.kernel[0]);
    l.kernel_w = static_cast<int>(q.kernel[1]);
    l.stride_h = static_cast<int>(q.stride[0]);
    l.stride_w = static_cast<int>(q.stride[1]);
    l.pad_top = static_cast<int>(q.pads[0]);
    l.pad_left = static_cast<int>(q.pads[1]);
    l.pad_bottom = static_cast<int>(q.pads[2]);
    l.pad_right = static_cast<int>(q.pads[3]);
    l.poly_a2.assign(static_cast<size_t>(q.poly_sizes[0]), 0.f);
    l.poly_a1.assign(static_cast<size_t>(q.poly_sizes[1]), 0.f);
    l.poly_a0.assign(static_cast<size_t>(q.poly_sizes[2]), 0.f);
    l.block_patches = q.patches;
    l.winograd = static_cast<int>(q.winograd);
    l.ring_bits = static_cast<int>(q.ring_bits);
    l.frac_bits = static_cast<int>(q.frac_bits);
    net.layers.push_back(std::move(l));
  }
  return net;
}

// Message of a ModelError from a one-layer infer_shapes(), renumbered to layer i.
std::string renumbered(const ModelError& e, size_t i, const std::string& name,
                       const std::string& path) {
  const std::string msg = e.what();
  const std::string own = "layer 0 ";
  if (msg.rfind(own, 0) == 0)
    return path + ": layer " + std::to_string(i) + " " + msg.substr(own.size());
  return layer_where(path, i, name) + ": " + msg;
}

// Shape inference one layer at a time, each fed with its producers' shapes already known
// to be within mpc::kMaxTensorElements: Network::infer_shapes() multiplies the dimensions
// of its inputs unchecked, so a forged file (one whose hash was recomputed) must not reach
// it with shapes that grow layer after layer (e.g. huge pads) until a product overflows.
// Checks every computed kernel and out_shape against the file's.
void infer_layerwise(Network& net, const PublicNet& declared, const std::string& path) {
  for (size_t i = 0; i < net.layers.size(); ++i) {
    Layer& l = net.layers[i];
    const PublicLayer& d = declared.layers[i];
    const std::vector<int> prod = net.producers(i);
    const auto shape_of = [&](int x) -> const std::vector<int64_t>& {
      return x < 0 ? net.input_shape : net.layers[static_cast<size_t>(x)].out_shape;
    };
    if (l.op == OpKind::Add && prod.size() == 2 && shape_of(prod[0]) != shape_of(prod[1]))
      throw ModelError(layer_where(path, i, l.name) + " (Add): input shapes differ: " +
                       shape_str(shape_of(prod[0])) + " vs " + shape_str(shape_of(prod[1])));
    Network one;
    one.input_shape = shape_of(prod[0]);
    std::vector<int> inputs = std::move(l.inputs);
    l.inputs.assign(prod.size(), -1);
    one.layers.push_back(std::move(l));
    try {
      one.infer_shapes();
    } catch (const ModelError& e) {
      throw ModelError(renumbered(e, i, d.name, path));
    }
    l = std::move(one.layers[0]);
    l.inputs = std::move(inputs);
    const std::string where = layer_where(path, i, l.name);
    mpc::checked_product<ModelError>(l.out_shape, where + ": output shape");
    if (l.out_shape != d.out_shape)
      throw ModelError(where + ": field 'out_shape' is " + shape_str(d.out_shape) +
                       " but the architecture gives " + shape_str(l.out_shape));
    if (l.kernel_h != d.kernel[0] || l.kernel_w != d.kernel[1])
      throw ModelError(where + ": field 'kernel' is " + shape_str(d.kernel) +
                       " but the weight shape gives [" + std::to_string(l.kernel_h) + ", " +
                       std::to_string(l.kernel_w) + "]");
  }
}

}  // namespace

std::string architecture_hash(const Network& net) {
  return hash_public(public_part(inferred_copy(net)));
}

std::string model_hash(const Network& net) { return hash_model(architecture_hash(net), net); }

void save_arch(const Network& net, const std::string& path) {
  const std::string prefix = "cannot write architecture file '" + path + "'";
  Network inferred;
  try {
    inferred = inferred_copy(net);
  } catch (const ModelError& e) {
    throw ModelError(prefix + ": " + e.what());
  }
  const PublicNet p = public_part(inferred);
  validate_public(p, prefix);
  for (size_t i = 0; i < net.layers.size(); ++i) {
    const Layer& l = net.layers[i];
    const auto want = static_cast<uint64_t>(weight_count(l.weight_shape, "weight_shape"));
    if (l.weight.size() != want)
      throw ModelError(layer_where(prefix, i, l.name) + ": weight has " +
                       std::to_string(l.weight.size()) + " values, weight shape " +
                       shape_str(l.weight_shape) + " needs " + std::to_string(want));
  }
  const std::string ah = hash_public(p);
  const std::string text = render(p, ah, hash_model(ah, net), prefix);
  try {
    mpc::write_file_atomically(path, text, 0666);
  } catch (const Error& e) {
    throw ModelError("cannot write architecture file '" + path + "': " + e.what());
  }
}

ArchFile load_arch(const std::string& path) {
  const Json j = parse_json(read_limited(path), path);
  Parsed p = parse_file(j, path);
  validate_public(p.net, path);
  const std::string computed = hash_public(p.net);
  if (computed != p.architecture_hash)
    throw ModelError(path + ": field 'architecture_hash' does not match the architecture (stored " +
                     p.architecture_hash + ", computed " + computed +
                     "): the file was modified or corrupted; export it again from the model");
  ArchFile out;
  out.arch = build(p.net);
  infer_layerwise(out.arch, p.net, path);
  try {
    out.arch.infer_shapes();
  } catch (const ModelError& e) {
    throw ModelError(path + ": " + e.what());
  }
  if (hash_public(public_part(out.arch)) != p.architecture_hash)
    throw ModelError(path +
                     ": the loaded architecture does not reproduce the stored "
                     "architecture_hash (internal inconsistency)");
  out.architecture_hash = std::move(p.architecture_hash);
  out.model_hash = std::move(p.model_hash);
  return out;
}

}  // namespace polympc::nn
