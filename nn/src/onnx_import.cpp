// ONNX import into the network IR (docs/design.md §12).
//
// The importer walks the node list once, in order (ONNX graphs are topologically
// sorted), and tracks an abstract value for every tensor name:
//   * Const  - a known tensor (initializer, Constant node, or folded from constants);
//   * Act    - an activation, held symbolically as a polynomial c2*x^2 + c1*x + c0 of
//              the output x of one IR layer (or of the network input), with per-channel
//              coefficients. Elementwise Mul/Add/Sub/Div/Neg/Pow with constants and
//              with polynomials of the same x are evaluated on the coefficients, so
//              every commutation/association of a2*x*x + a1*x + a0, the Horner form
//              x*(a2*x + a1) + a0 and Pow(x, 2) end up as the same three coefficients.
//              A polynomial becomes a Poly layer only when a non-elementwise node (or
//              the graph output) consumes it; the identity polynomial adds no layer.
//              A zero Pad (torch writes one before AveragePool) is kept pending on the
//              value and absorbed into the pads of the Conv / AveragePool reading it.
//   * Shape  - a symbolic shape vector whose entries are known sizes or "the batch",
//              from Shape/Gather/Unsqueeze/Concat (torch's x.view(x.size(0), -1)).
//   * Block  - a Block-ReLU written with standard ops, part way (docs/protocols.md
//              "Block-ReLU", ONNX form): channels Gathered from one activation, their
//              patch means, DReLU masks, broadcast masks, the masked groups and their
//              Concat. Only the pattern's next node may read such a value; the Concat
//              (or the Gather that reorders it) becomes one BlockRelu layer.
// A coefficient that no operation has touched is a structural zero, so exporting and
// re-importing a Poly reproduces its coefficients bit for bit.
#include <onnx/onnx_pb.h>  // defines ONNX_API, includes onnx-ml.pb.h (ONNX_ML=1)

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "polympc/mpc/checked.h"
#include "polympc/nn/onnx.h"

namespace polympc::nn {
namespace {

using Coef = std::optional<std::vector<double>>;  // nullopt: structurally zero

struct SymDim {
  bool batch = false;  ///< the (dynamic or fixed) batch dimension
  int64_t v = 0;       ///< the size otherwise
};

struct Value {
  enum class Kind { Const, Act, Shape, Block } kind = Kind::Const;
  // Const (row-major)
  std::vector<int64_t> dims;
  std::vector<double> f;   ///< floating-point data
  std::vector<int64_t> i;  ///< integer data
  bool is_int = false;
  // Act: c2*x^2 + c1*x + c0, x = output of layer `base` (-1: network input)
  int base = -1;
  std::vector<int64_t> shape;  ///< without batch
  Coef c2, c1, c0;
  std::string node;  ///< node that produced this value (names a Poly layer)
  /// Pending zero padding (top, left, bottom, right) of a Pad node, absorbed by the
  /// Conv or AveragePool that reads this value.
  std::vector<int64_t> pad = {0, 0, 0, 0};
  bool padded() const { return pad[0] || pad[1] || pad[2] || pad[3]; }
  // Shape
  std::vector<SymDim> sym;
  bool scalar = false;
  // Block: channels `channels` of the output of layer `base` (shape: this value's [k, h, w])
  enum class Stage { Selected, Mean, Sign, Mask, Masked, Concat } stage = Stage::Selected;
  std::vector<int64_t> channels;    ///< of base, in this value's order
  std::vector<BlockPatch> patches;  ///< Masked, Concat: one per channel
  BlockPatch patch;                 ///< Mean, Sign, Mask: the rectangle
  bool resized = false;             ///< Mask: broadcast over the patches (Resize)

  size_t numel() const { return is_int ? i.size() : f.size(); }
  double fat(size_t k) const { return is_int ? static_cast<double>(i[k]) : f[k]; }
  bool identity() const {
    if (c2 || c0 || !c1) return false;
    for (double c : *c1)
      if (c != 1.0) return false;
    return true;
  }
};


// Little-endian decoding of raw_data (ONNX stores raw tensor bytes little endian).
uint64_t le_word(const std::string& raw, size_t off, size_t width) {
  uint64_t u = 0;
  for (size_t b = 0; b < width; ++b)
    u |= static_cast<uint64_t>(static_cast<unsigned char>(raw[off + b])) << (8 * b);
  return u;
}

// ---- coefficient arithmetic (vectors of size 1 or C) --------------------------------

std::vector<double> vzip(const std::vector<double>& a, const std::vector<double>& b,
                         double (*op)(double, double)) {
  if (a.size() != 1 && b.size() != 1 && a.size() != b.size())
    throw ModelError("coefficient vectors of sizes " + std::to_string(a.size()) + " and " +
                     std::to_string(b.size()) + " do not broadcast");
  const size_t n = std::max(a.size(), b.size());
  std::vector<double> r(n);
  for (size_t k = 0; k < n; ++k) r[k] = op(a[a.size() == 1 ? 0 : k], b[b.size() == 1 ? 0 : k]);
  return r;
}
double op_add(double a, double b) { return a + b; }
double op_mul(double a, double b) { return a * b; }
double op_div(double a, double b) { return a / b; }

Coef cadd(const Coef& a, const Coef& b) {
  if (!a) return b;
  if (!b) return a;
  return vzip(*a, *b, op_add);
}
Coef cmul(const Coef& a, const Coef& b) {
  if (!a || !b) return std::nullopt;
  return vzip(*a, *b, op_mul);
}
Coef cscale(const Coef& a, const std::vector<double>& k) {
  if (!a) return std::nullopt;
  return vzip(*a, k, op_mul);
}

// Add / Sub / Mul / Div / Pow on two constant floating-point elements.
double apply_op(const std::string& op, double x, double y) {
  if (op == "Add") return x + y;
  if (op == "Sub") return x - y;
  if (op == "Mul") return x * y;
  if (op == "Div") return x / y;
  return std::pow(x, y);
}

// x as an int64, or nullopt when it is NaN, infinite or outside the int64 range
// (a plain static_cast would be undefined behaviour there). Truncates toward zero.
std::optional<int64_t> to_int64(double x) {
  constexpr double kTwo63 = 9223372036854775808.0;  // 2^63, exact in a double
  if (!(x >= -kTwo63 && x < kTwo63)) return std::nullopt;
  return static_cast<int64_t>(x);
}

// The same on two integer elements; nullopt when the result does not fit an int64
// (division by zero is rejected by the caller).
std::optional<int64_t> apply_int_op(const std::string& op, int64_t x, int64_t y) {
  int64_t r = 0;
  bool overflow = false;
  if (op == "Add") {
    overflow = __builtin_add_overflow(x, y, &r);
  } else if (op == "Sub") {
    overflow = __builtin_sub_overflow(x, y, &r);
  } else if (op == "Mul") {
    overflow = __builtin_mul_overflow(x, y, &r);
  } else if (op == "Div") {
    overflow = x == INT64_MIN && y == -1;
    if (!overflow) r = x / y;
  } else {
    return to_int64(std::pow(static_cast<double>(x), static_cast<double>(y)));
  }
  if (overflow) return std::nullopt;
  return r;
}

class Importer {
 public:
  Importer(const onnx::ModelProto& m, std::string origin) : m_(m), origin_(std::move(origin)) {}

  Network run() {
    const onnx::GraphProto& g = m_.graph();
    net_.name = g.name();
    for (const auto& sp : g.sparse_initializer())
      fail("sparse initializer '" + sp.values().name() + "' is not supported");
    // Initializers are decoded when a node first reads them (lookup()), so that an error
    // in one names the node as well.
    std::set<std::string> init_names;
    for (const auto& t : g.initializer()) {
      inits_[t.name()] = &t;
      init_names.insert(t.name());
    }
    read_input(g, init_names);
    for (const auto& n : g.node())
      for (const auto& in : n.input()) ++uses_[in];
    for (const auto& o : g.output()) ++uses_[o.name()];

    for (const auto& n : g.node()) {
      node_ = &n;
      node_name_ = n.name().empty() ? (n.output_size() ? n.output(0) : std::string()) : n.name();
      import_node(n);
    }
    node_ = nullptr;
    finish(g);
    return std::move(net_);
  }

 private:
  // ---- errors ------------------------------------------------------------------------
  [[noreturn]] void fail(const std::string& why) const {
    if (node_)
      throw ModelError(origin_ + ": node '" + node_name_ + "' (" + node_->op_type() + "): " + why);
    throw ModelError(origin_ + ": " + why);
  }

  // ---- checked sizes (every size below comes from the file) --------------------------
  // Runs one of the mpc::checked_* helpers; its ModelError gets fail()'s origin and node.
  template <class F>
  uint64_t checked(F&& f) const {
    try {
      return f();
    } catch (const ModelError& e) {
      fail(e.what());
    }
  }
  // Element count of a constant of shape `dims`: every dimension >= 0 and the product at
  // most mpc::kMaxTensorElements, so it can size an allocation. `what` names the field.
  uint64_t checked_numel(const std::vector<int64_t>& dims, const std::string& what) const {
    return checked([&] {
      return mpc::checked_product<ModelError>(dims, what + " " + shape_str(dims),
                                              mpc::kMaxTensorElements, /*allow_zero=*/true);
    });
  }
  // Entry k of the integer list attribute or input `v` (named `what`), which the IR
  // stores as an int: must lie in [lo, INT_MAX].
  int int_entry(const std::string& what, const std::vector<int64_t>& v, size_t k,
                int64_t lo) const {
    if (v[k] < lo || v[k] > INT_MAX)
      fail(what + " " + shape_str(v) + ": entry " + std::to_string(k) + " is " +
           std::to_string(v[k]) + " (must be in [" + std::to_string(lo) + ", " +
           std::to_string(INT_MAX) + "])");
    return static_cast<int>(v[k]);
  }
  // Element k of constant `v` (named `what`) as an integer; a float element must be a
  // finite whole number within the int64 range.
  int64_t int_at(const Value& v, size_t k, const std::string& what) const {
    if (v.is_int) return v.i[k];
    const std::optional<int64_t> r = to_int64(v.f[k]);
    if (!r || static_cast<double>(*r) != v.f[k])
      fail(what + " entry " + std::to_string(k) + " (" + std::to_string(v.f[k]) +
           ") is not an integer within the int64 range");
    return *r;
  }

  // ---- attributes --------------------------------------------------------------------
  static const onnx::AttributeProto* attr(const onnx::NodeProto& n, const std::string& name) {
    for (const auto& a : n.attribute())
      if (a.name() == name) return &a;
    return nullptr;
  }
  void allow_attrs(const onnx::NodeProto& n, std::initializer_list<const char*> ok) const {
    for (const auto& a : n.attribute()) {
      bool found = false;
      for (const char* o : ok) found = found || a.name() == o;
      if (!found) fail("attribute '" + a.name() + "' is not supported");
    }
  }
  int64_t attr_int(const onnx::NodeProto& n, const std::string& name, int64_t def) const {
    const onnx::AttributeProto* a = attr(n, name);
    if (!a) return def;
    if (a->type() != onnx::AttributeProto_AttributeType_INT)
      fail("attribute '" + name + "' must be an int");
    return a->i();
  }
  float attr_float(const onnx::NodeProto& n, const std::string& name, float def) const {
    const onnx::AttributeProto* a = attr(n, name);
    if (!a) return def;
    if (a->type() != onnx::AttributeProto_AttributeType_FLOAT)
      fail("attribute '" + name + "' must be a float");
    return a->f();
  }
  std::vector<int64_t> attr_ints(const onnx::NodeProto& n, const std::string& name,
                                 std::vector<int64_t> def) const {
    const onnx::AttributeProto* a = attr(n, name);
    if (!a) return def;
    if (a->type() != onnx::AttributeProto_AttributeType_INTS)
      fail("attribute '" + name + "' must be a list of ints");
    return {a->ints().begin(), a->ints().end()};
  }
  std::string attr_str(const onnx::NodeProto& n, const std::string& name) const {
    const onnx::AttributeProto* a = attr(n, name);
    if (!a) return {};
    if (a->type() != onnx::AttributeProto_AttributeType_STRING)
      fail("attribute '" + name + "' must be a string");
    return a->s();
  }

  // ---- tensors -----------------------------------------------------------------------
  Value tensor_value(const onnx::TensorProto& t, const std::string& what) const {
    Value v;
    v.kind = Value::Kind::Const;
    v.dims.assign(t.dims().begin(), t.dims().end());
    if (t.data_location() == onnx::TensorProto_DataLocation_EXTERNAL)
      fail(what +
           " uses external data, which is not supported (save the model with the "
           "weights inside the .onnx file)");
    // Every dimension >= 0, product <= kMaxTensorElements: no wrap-around below, and the
    // value counts are compared with the true size before anything is allocated.
    const auto n = static_cast<size_t>(checked_numel(v.dims, what + " dims"));
    const std::string& raw = t.raw_data();
    auto check_count = [&](size_t got) {
      if (got != n)
        fail(what + " has " + std::to_string(got) + " values, its shape " + shape_str(v.dims) +
             " needs " + std::to_string(n));
      if (v.is_int)
        v.i.reserve(n);
      else
        v.f.reserve(n);
    };
    auto check_raw = [&](size_t width) {
      const uint64_t need = checked([&] {
        return mpc::checked_mul<ModelError>(n, width, what + " raw_data bytes", mpc::kMaxFileBytes);
      });
      if (raw.size() != need)
        fail(what + " has " + std::to_string(raw.size()) + " bytes of raw data, its shape " +
             shape_str(v.dims) + " needs " + std::to_string(need));
      if (v.is_int)
        v.i.reserve(n);
      else
        v.f.reserve(n);
    };
    switch (t.data_type()) {
      case onnx::TensorProto_DataType_FLOAT:
        if (!raw.empty() || n == 0) {
          check_raw(4);
          for (size_t k = 0; k < n; ++k) {
            const auto u = static_cast<uint32_t>(le_word(raw, 4 * k, 4));
            float x;
            std::memcpy(&x, &u, 4);
            v.f.push_back(x);
          }
        } else {
          check_count(static_cast<size_t>(t.float_data_size()));
          v.f.assign(t.float_data().begin(), t.float_data().end());
        }
        break;
      case onnx::TensorProto_DataType_DOUBLE:
        if (!raw.empty() || n == 0) {
          check_raw(8);
          for (size_t k = 0; k < n; ++k) {
            const uint64_t u = le_word(raw, 8 * k, 8);
            double x;
            std::memcpy(&x, &u, 8);
            v.f.push_back(x);
          }
        } else {
          check_count(static_cast<size_t>(t.double_data_size()));
          v.f.assign(t.double_data().begin(), t.double_data().end());
        }
        break;
      case onnx::TensorProto_DataType_INT64:
        v.is_int = true;
        if (!raw.empty() || n == 0) {
          check_raw(8);
          for (size_t k = 0; k < n; ++k)
            v.i.push_back(static_cast<int64_t>(le_word(raw, 8 * k, 8)));
        } else {
          check_count(static_cast<size_t>(t.int64_data_size()));
          v.i.assign(t.int64_data().begin(), t.int64_data().end());
        }
        break;
      case onnx::TensorProto_DataType_INT32:
        v.is_int = true;
        if (!raw.empty() || n == 0) {
          check_raw(4);
          for (size_t k = 0; k < n; ++k)
            v.i.push_back(static_cast<int32_t>(static_cast<uint32_t>(le_word(raw, 4 * k, 4))));
        } else {
          check_count(static_cast<size_t>(t.int32_data_size()));
          v.i.assign(t.int32_data().begin(), t.int32_data().end());
        }
        break;
      default:
        fail(what + " has data type " + std::to_string(t.data_type()) +
             ", only float, double, int32 and int64 are supported");
    }
    return v;
  }

  static Value make_const_f(std::vector<int64_t> dims, std::vector<double> f) {
    Value v;
    v.dims = std::move(dims);
    v.f = std::move(f);
    return v;
  }
  static Value make_const_i(std::vector<int64_t> dims, std::vector<int64_t> i) {
    Value v;
    v.dims = std::move(dims);
    v.i = std::move(i);
    v.is_int = true;
    return v;
  }

  // ---- graph input -------------------------------------------------------------------
  void read_input(const onnx::GraphProto& g, const std::set<std::string>& init_names) {
    const onnx::ValueInfoProto* in = nullptr;
    for (const auto& vi : g.input())
      if (!init_names.count(vi.name())) {
        in = &vi;
        break;
      }
    if (!in) fail("the graph has no input (every graph input is an initializer)");
    const std::string what = "graph input '" + in->name() + "'";
    if (!in->type().has_tensor_type()) fail(what + " is not a tensor");
    const auto& tt = in->type().tensor_type();
    if (tt.elem_type() != onnx::TensorProto_DataType_FLOAT)
      fail(what + " has element type " + std::to_string(tt.elem_type()) + ", expected float");
    if (!tt.has_shape()) fail(what + " has no shape; export with a fixed input shape");
    const auto& s = tt.shape();
    if (s.dim_size() != 4 && s.dim_size() != 2)
      fail(what + " has rank " + std::to_string(s.dim_size()) +
           ", expected [N, C, H, W] or [N, F]");
    if (s.dim(0).has_dim_value()) {
      if (s.dim(0).dim_value() < 1) fail(what + " has a batch size < 1");
      batch_ = s.dim(0).dim_value();
    }
    for (int k = 1; k < s.dim_size(); ++k) {
      if (!s.dim(k).has_dim_value() || s.dim(k).dim_value() < 1)
        fail(what + " dimension " + std::to_string(k) +
             " must be a fixed positive size (only the batch may be dynamic)");
      net_.input_shape.push_back(s.dim(k).dim_value());
    }
    checked([&] {
      return mpc::checked_product<ModelError>(
          net_.input_shape, what + " shape (without batch) " + shape_str(net_.input_shape));
    });
    Value v;
    v.kind = Value::Kind::Act;
    v.base = -1;
    v.shape = net_.input_shape;
    v.c1 = std::vector<double>{1.0};
    values_[in->name()] = v;
  }

  // ---- values --------------------------------------------------------------------------
  bool has_in(const onnx::NodeProto& n, int k) const {
    return k < n.input_size() && !n.input(k).empty();
  }
  // Value of tensor `name`, decoding an initializer when first read (its errors then
  // name the reading node); nullptr when no node, initializer or input produces it.
  Value* lookup(const std::string& name) {
    auto it = values_.find(name);
    if (it != values_.end()) return &it->second;
    auto init = inits_.find(name);
    if (init == inits_.end()) return nullptr;
    Value v = tensor_value(*init->second, "initializer '" + name + "'");
    return &(values_[name] = std::move(v));
  }
  Value& in(const onnx::NodeProto& n, int k) {
    if (!has_in(n, k)) fail("missing input " + std::to_string(k));
    Value* v = lookup(n.input(k));
    if (!v)
      fail("input '" + n.input(k) +
           "' is not produced by an earlier node, an initializer or "
           "the graph input");
    return *v;
  }
  Value& const_in(const onnx::NodeProto& n, int k, const char* role) {
    Value& v = in(n, k);
    if (v.kind != Value::Kind::Const)
      fail(std::string(role) + " '" + n.input(k) +
           "' must be a constant (initializer or "
           "Constant node)");
    return v;
  }
  void set_out(const onnx::NodeProto& n, int k, Value v) {
    if (k >= n.output_size() || n.output(k).empty()) return;
    v.node = node_name_;
    values_[n.output(k)] = std::move(v);
  }
  // Outputs beyond the first (e.g. MaxPool indices) must not be consumed.
  void only_first_output(const onnx::NodeProto& n) const {
    for (int k = 1; k < n.output_size(); ++k)
      if (!n.output(k).empty() && uses_.count(n.output(k)) && uses_.at(n.output(k)) > 0)
        fail("output " + std::to_string(k) + " ('" + n.output(k) + "') is not supported");
  }
  Value plain_act(int layer) const {
    Value v;
    v.kind = Value::Kind::Act;
    v.base = layer;
    v.shape = layer < 0 ? net_.input_shape : net_.layers[static_cast<size_t>(layer)].out_shape;
    v.c1 = std::vector<double>{1.0};
    return v;
  }

  std::string unique_name(const std::string& want) {
    std::string name = want.empty() ? "layer" + std::to_string(net_.layers.size()) : want;
    for (int k = 2; layer_names_.count(name); ++k) name = want + "_" + std::to_string(k);
    layer_names_.insert(name);
    return name;
  }

  int add_layer(Layer l, const std::vector<int>& producers, const std::string& name) {
    const int idx = static_cast<int>(net_.layers.size());
    l.name = unique_name(name);
    if (!(producers.size() == 1 && producers[0] == idx - 1)) l.inputs = producers;
    net_.layers.push_back(std::move(l));
    try {
      net_.infer_shapes();
    } catch (const ModelError& e) {
      fail(e.what());
    }
    return idx;
  }

  // Turns the activation value of input k into a layer output (adding a Poly layer if
  // it is a non-identity polynomial) and returns that layer (-1 = network input).
  int materialize(Value& v) {
    if (v.kind == Value::Kind::Block)
      fail("a Block-ReLU pattern ends early: " + block_stage_name(v) +
           " is not the Concat (or its reordering Gather) of the pattern");
    if (v.kind != Value::Kind::Act) fail("expected an activation tensor, got a constant");
    check_unpadded(v);
    if (v.identity()) return v.base;
    Layer l;
    l.op = OpKind::Poly;
    auto to_f = [](const Coef& c) {
      if (!c) return std::vector<float>{0.0f};
      return std::vector<float>(c->begin(), c->end());
    };
    l.poly_a2 = to_f(v.c2);
    l.poly_a1 = to_f(v.c1);
    l.poly_a0 = to_f(v.c0);
    const int idx = add_layer(std::move(l), {v.base}, v.node);
    const std::string node = v.node;
    v = plain_act(idx);
    v.node = node;
    return idx;
  }
  int act_in(const onnx::NodeProto& n, int k) {
    Value& v = in(n, k);
    if (v.kind != Value::Kind::Act)
      fail("input '" + n.input(k) + "' must be an activation, not a constant or shape");
    return materialize(v);
  }
  void check_unpadded(const Value& v) const {
    if (v.padded())
      fail(
          "reads the output of a Pad node; Pad is only supported directly before Conv or "
          "AveragePool");
  }
  // Activation input k of a Conv / AveragePool, with a pending Pad added to `l`'s pads.
  int padded_act_in(const onnx::NodeProto& n, int k, Layer& l) {
    Value& v = in(n, k);
    if (v.kind != Value::Kind::Act || !v.padded()) return act_in(n, k);
    // Both pads are in [0, INT_MAX] (window_attrs, op_pad); so must their sum be.
    auto add = [&](int& p, int64_t extra, const char* side) {
      p = static_cast<int>(checked([&] {
        return mpc::checked_add<ModelError>(static_cast<uint64_t>(p), static_cast<uint64_t>(extra),
                                            std::string("pads plus the pads of the Pad node "
                                                        "before it (") +
                                                side + ")",
                                            INT_MAX);
      }));
    };
    add(l.pad_top, v.pad[0], "top");
    add(l.pad_left, v.pad[1], "left");
    add(l.pad_bottom, v.pad[2], "bottom");
    add(l.pad_right, v.pad[3], "right");
    return v.base;  // a padded value is always a plain layer output
  }

  const std::vector<int64_t>& shape_of(int layer) const {
    return layer < 0 ? net_.input_shape : net_.layers[static_cast<size_t>(layer)].out_shape;
  }

  // Per-channel coefficients of a constant broadcast against an activation of `shape`
  // (without batch): scalar / [1] -> size 1; [C,1,1], [1,C,1,1] (4-D) or [C], [1,C]
  // (2-D) -> size C.
  std::vector<double> channel_coef(const Value& c, const std::vector<int64_t>& shape,
                                   const std::string& name) const {
    const size_t rank = shape.size() + 1;
    if (c.numel() == 0) fail("constant '" + name + "' is empty");
    if (c.dims.size() > rank)
      fail("constant '" + name + "' of shape " + shape_str(c.dims) +
           " has more dimensions than the activation");
    std::vector<int64_t> full(rank - c.dims.size(), 1);
    full.insert(full.end(), c.dims.begin(), c.dims.end());
    for (size_t k = 0; k < rank; ++k) {
      if (full[k] == 1) continue;
      if (k == 1 && full[k] == shape[0]) continue;
      fail("constant '" + name + "' of shape " + shape_str(c.dims) +
           " does not broadcast per channel over an activation of shape [N, " +
           shape_str(shape).substr(1) + " (expected a scalar or one value per channel)");
    }
    std::vector<double> r(c.numel());
    for (size_t k = 0; k < r.size(); ++k) r[k] = c.fat(k);
    return r;
  }

  // ---- constant folding ----------------------------------------------------------------
  Value fold(const Value& a, const Value& b, const std::string& op) const {
    const size_t rank = std::max(a.dims.size(), b.dims.size());
    auto pad = [rank](const std::vector<int64_t>& d) {
      std::vector<int64_t> r(rank - d.size(), 1);
      r.insert(r.end(), d.begin(), d.end());
      return r;
    };
    const std::vector<int64_t> da = pad(a.dims), db = pad(b.dims);
    std::vector<int64_t> dr(rank);
    for (size_t k = 0; k < rank; ++k) {
      if (da[k] != db[k] && da[k] != 1 && db[k] != 1)
        fail("constant shapes " + shape_str(a.dims) + " and " + shape_str(b.dims) +
             " do not broadcast");
      dr[k] = da[k] == 1 ? db[k] : da[k];
    }
    const auto n =
        static_cast<size_t>(checked_numel(dr, "broadcast of constant shapes " + shape_str(a.dims) +
                                                  " and " + shape_str(b.dims) + " to"));
    const bool is_int = a.is_int && b.is_int;
    Value r;
    r.dims = dr;
    r.is_int = is_int;
    std::vector<int64_t> idx(rank, 0);
    for (size_t e = 0; e < n; ++e) {
      size_t ia = 0, ib = 0;
      for (size_t k = 0; k < rank; ++k) {
        ia = ia * static_cast<size_t>(da[k]) + static_cast<size_t>(da[k] == 1 ? 0 : idx[k]);
        ib = ib * static_cast<size_t>(db[k]) + static_cast<size_t>(db[k] == 1 ? 0 : idx[k]);
      }
      if (is_int) {
        if (op == "Div" && b.i[ib] == 0) fail("integer division by zero");
        const std::optional<int64_t> x = apply_int_op(op, a.i[ia], b.i[ib]);
        if (!x)
          fail("integer " + op + " of " + std::to_string(a.i[ia]) + " and " +
               std::to_string(b.i[ib]) + " overflows int64");
        r.i.push_back(*x);
      } else {
        r.f.push_back(apply_op(op, a.fat(ia), b.fat(ib)));
      }
      for (size_t k = rank; k-- > 0;) {
        if (++idx[k] < dr[k]) break;
        idx[k] = 0;
      }
    }
    return r;
  }

  // ---- node handlers -----------------------------------------------------------------
  void import_node(const onnx::NodeProto& n) {
    const std::string& op = n.op_type();
    if (!n.domain().empty() && n.domain() != "ai.onnx")
      fail("operator domain '" + n.domain() + "' is not supported");
    if (op == "Constant") return op_constant(n);
    if (block_node(n)) return;
    if (op == "Identity" || op == "Dropout") {
      if (op == "Dropout") {
        allow_attrs(n, {"ratio", "seed", "is_test"});
        only_first_output(n);
      }
      return set_out(n, 0, in(n, 0));
    }
    if (op == "Conv") return op_conv(n);
    if (op == "Gemm") return op_gemm(n);
    if (op == "MatMul") return op_matmul(n);
    if (op == "Relu") {
      allow_attrs(n, {});
      const int x = act_in(n, 0);
      Layer l;
      l.op = OpKind::Relu;
      return set_out(n, 0, plain_act(add_layer(std::move(l), {x}, node_name_)));
    }
    if (op == "BatchNormalization") return op_batchnorm(n);
    if (op == "AveragePool" || op == "MaxPool") return op_pool(n);
    if (op == "GlobalAveragePool") {
      allow_attrs(n, {});
      const int x = act_in(n, 0);
      Layer l;
      l.op = OpKind::GlobalAvgPool;
      return set_out(n, 0, plain_act(add_layer(std::move(l), {x}, node_name_)));
    }
    if (op == "Flatten") return op_flatten(n);
    if (op == "Pad") return op_pad(n);
    if (op == "Reshape") return op_reshape(n);
    if (op == "Shape") return op_shape(n);
    if (op == "Gather") return op_gather(n);
    if (op == "Unsqueeze" || op == "Squeeze") return op_unsqueeze(n);
    if (op == "Concat") return op_concat(n);
    if (op == "Cast") return op_cast(n);
    if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div" || op == "Pow")
      return op_binary(n);
    if (op == "Neg") {
      Value v = in(n, 0);
      const Value m1 = make_const_f({}, {-1.0});
      if (v.kind == Value::Kind::Const) return set_out(n, 0, fold(v, m1, "Mul"));
      if (v.kind != Value::Kind::Act) fail("cannot negate a shape");
      return set_out(n, 0, scale(v, {-1.0}));
    }
    fail("operator '" + op +
         "' is not supported (supported: Conv, Gemm, MatMul, Relu, "
         "BatchNormalization, AveragePool, MaxPool, GlobalAveragePool, Flatten, Reshape, Add, "
         "the polynomial activation written with Mul/Add, and Block-ReLU written with Gather, "
         "AveragePool, GreaterOrEqual, Cast, Resize, Slice, Mul, Relu and Concat)");
  }

  // ---- Block-ReLU pattern (docs/protocols.md "Block-ReLU", ONNX form) ------------------
  // Per channel group: xg = Gather(x, channels, axis=1), then xg (identity), Mul(xg, 0)
  // (zero), Relu(xg) (1x1) or, for an h x w patch, Mul(xg, mask) with mask =
  // [Slice](Resize(Cast(GreaterOrEqual(AveragePool(xg), 0)))) cropped to H x W; the groups
  // Concat along axis 1 (and a Gather along axis 1 may restore the channel order). Every
  // attribute and size is checked against exactly this meaning.
  static std::string block_stage_name(const Value& v) {
    switch (v.stage) {
      case Value::Stage::Selected:
        return "a Gather of channels";
      case Value::Stage::Mean:
        return "a patch mean (AveragePool)";
      case Value::Stage::Sign:
        return "a patch DReLU (GreaterOrEqual)";
      case Value::Stage::Mask:
        return v.resized ? "a broadcast DReLU mask (Resize)" : "a DReLU mask (Cast)";
      case Value::Stage::Masked:
        return "a masked channel group";
      case Value::Stage::Concat:
        return "the Concat of the channel groups";
    }
    return "?";
  }
  bool reads_block(const onnx::NodeProto& n) {
    for (int k = 0; k < n.input_size(); ++k)
      if (has_in(n, k)) {
        const Value* v = lookup(n.input(k));
        if (v && v->kind == Value::Kind::Block) return true;
      }
    return false;
  }
  // Handles the node when it belongs to a Block-ReLU pattern: a Gather along the channels
  // of an activation starts one; any node reading a pattern value must continue it.
  bool block_node(const onnx::NodeProto& n) {
    const std::string& op = n.op_type();
    if (!reads_block(n)) {
      if (op != "Gather" || !has_in(n, 0)) return false;
      const Value* d = lookup(n.input(0));
      if (!d || d->kind != Value::Kind::Act || attr_int(n, "axis", 0) != 1) return false;
      block_select(n);
      return true;
    }
    if (op == "Identity" || op == "Dropout") return false;  // pass the value on
    // The pattern's steps, one handler per op.
    static const std::map<std::string, void (Importer::*)(const onnx::NodeProto&)> kSteps = {
        {"AveragePool", &Importer::block_mean}, {"GreaterOrEqual", &Importer::block_sign},
        {"Cast", &Importer::block_cast},        {"Resize", &Importer::block_resize},
        {"Slice", &Importer::block_slice},      {"Mul", &Importer::block_mul},
        {"Relu", &Importer::block_relu},        {"Concat", &Importer::block_concat},
        {"Gather", &Importer::block_order}};
    const auto step = kSteps.find(op);
    if (step != kSteps.end()) {
      (this->*step->second)(n);
      return true;
    }
    for (int k = 0; k < n.input_size(); ++k) {
      const Value* v = has_in(n, k) ? lookup(n.input(k)) : nullptr;
      if (v && v->kind == Value::Kind::Block)
        fail("input '" + n.input(k) + "' is " + block_stage_name(*v) +
             " of a Block-ReLU pattern, which " + op + " cannot continue");
    }
    return false;
  }
  // Input k, which must be a pattern value at `stage`.
  Value& block_in(const onnx::NodeProto& n, int k, Value::Stage stage, const std::string& want) {
    Value& v = in(n, k);
    if (v.kind != Value::Kind::Block || v.stage != stage)
      fail("input '" + n.input(k) + "' must be " + want + " of a Block-ReLU pattern");
    return v;
  }
  // Integer constant input k as a list (named `what`); 1-D, at most `max_len` entries.
  std::vector<int64_t> block_ints(const onnx::NodeProto& n, int k, const char* what,
                                  size_t max_len) {
    const Value& v = const_in(n, k, what);
    if (!v.is_int || v.dims.size() != 1)
      fail(std::string(what) + " '" + n.input(k) + "' must be a 1-D integer tensor");
    if (v.i.empty() || v.i.size() > max_len)
      fail(std::string(what) + " '" + n.input(k) + "' has " + std::to_string(v.i.size()) +
           " entries, expected 1 to " + std::to_string(max_len));
    return v.i;
  }
  // Channel index list `idx` of a [C, ...] value: each in [-C, C), normalised.
  std::vector<int64_t> block_channels(const onnx::NodeProto& n, std::vector<int64_t> idx,
                                      int64_t C) {
    for (size_t j = 0; j < idx.size(); ++j) {
      if (idx[j] < -C || idx[j] >= C)
        fail("indices '" + n.input(1) + "' entry " + std::to_string(j) + " is " +
             std::to_string(idx[j]) + ", out of range for " + std::to_string(C) + " channels");
      if (idx[j] < 0) idx[j] += C;
    }
    return idx;
  }
  void block_select(const onnx::NodeProto& n) {
    allow_attrs(n, {"axis"});
    const Value& data = in(n, 0);
    if (data.shape.size() != 3)
      fail("Gather along the channels needs an [N, C, H, W] activation, got [N] + " +
           shape_str(data.shape));
    const int64_t C = data.shape[0];
    Value r;
    r.kind = Value::Kind::Block;
    r.stage = Value::Stage::Selected;
    r.channels = block_channels(n, block_ints(n, 1, "indices", static_cast<size_t>(C)), C);
    std::vector<int64_t> sorted = r.channels;
    std::sort(sorted.begin(), sorted.end());
    if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end())
      fail("indices '" + n.input(1) + "' name a channel twice");
    r.base = act_in(n, 0);
    r.shape = {static_cast<int64_t>(r.channels.size()), data.shape[1], data.shape[2]};
    set_out(n, 0, std::move(r));
  }
  void block_mean(const onnx::NodeProto& n) {
    allow_attrs(n, {"auto_pad", "ceil_mode", "count_include_pad", "kernel_shape", "pads", "strides",
                    "dilations"});
    only_first_output(n);
    Value r = block_in(n, 0, Value::Stage::Selected, "a Gather of channels");
    const std::string auto_pad = attr_str(n, "auto_pad");
    if (!auto_pad.empty() && auto_pad != "NOTSET")
      fail("auto_pad=" + auto_pad + " is not supported");
    if (attr_int(n, "ceil_mode", 0) != 0) fail("ceil_mode=1 is not supported (pad the border)");
    for (int64_t d : attr_ints(n, "dilations", {1, 1}))
      if (d != 1) fail("dilations are not supported (only 1)");
    const auto ks = attr_ints(n, "kernel_shape", {});
    if (ks.size() != 2) fail("kernel_shape " + shape_str(ks) + " must have 2 entries");
    for (int64_t k : ks)
      if (k < 1 || k > kMaxBlockPatch)
        fail("kernel_shape " + shape_str(ks) + ": a Block-ReLU patch side must be in 1.." +
             std::to_string(kMaxBlockPatch));
    if (attr_ints(n, "strides", {1, 1}) != ks)
      fail("strides " + shape_str(attr_ints(n, "strides", {1, 1})) + " must equal kernel_shape " +
           shape_str(ks) + " (patches tile the plane)");
    const int64_t H = r.shape[1], W = r.shape[2];
    const int64_t hp = (H + ks[0] - 1) / ks[0], wp = (W + ks[1] - 1) / ks[1];
    const std::vector<int64_t> want = {0, 0, hp * ks[0] - H, wp * ks[1] - W};
    const auto pads = attr_ints(n, "pads", {0, 0, 0, 0});
    if (pads != want)
      fail("pads " + shape_str(pads) + " must be " + shape_str(want) +
           " (bottom / right padding of the cropped border patches of " + std::to_string(H) +
           " x " + std::to_string(W) + ")");
    if ((want[2] || want[3]) && attr_int(n, "count_include_pad", 0) != 1)
      fail("count_include_pad must be 1 (the patch sum over the cropped patch)");
    r.stage = Value::Stage::Mean;
    r.patch.h = static_cast<int>(ks[0]);
    r.patch.w = static_cast<int>(ks[1]);
    r.shape = {r.shape[0], hp, wp};
    set_out(n, 0, std::move(r));
  }
  void block_sign(const onnx::NodeProto& n) {
    allow_attrs(n, {});
    Value r = block_in(n, 0, Value::Stage::Mean, "a patch mean (AveragePool)");
    const Value& zero = const_in(n, 1, "threshold");
    if (zero.numel() != 1 || zero.fat(0) != 0.0)
      fail("the DReLU threshold '" + n.input(1) + "' must be the scalar 0");
    r.stage = Value::Stage::Sign;
    set_out(n, 0, std::move(r));
  }
  void block_cast(const onnx::NodeProto& n) {
    allow_attrs(n, {"to", "saturate"});
    Value r = block_in(n, 0, Value::Stage::Sign, "a patch DReLU (GreaterOrEqual)");
    const int64_t to = attr_int(n, "to", 0);
    if (to != onnx::TensorProto_DataType_FLOAT && to != onnx::TensorProto_DataType_DOUBLE)
      fail("a DReLU mask must be cast to float or double, not type " + std::to_string(to));
    r.stage = Value::Stage::Mask;
    set_out(n, 0, std::move(r));
  }
  void block_resize(const onnx::NodeProto& n) {
    allow_attrs(n, {"mode", "coordinate_transformation_mode", "nearest_mode"});
    Value r = block_in(n, 0, Value::Stage::Mask, "a DReLU mask (Cast)");
    if (r.resized) fail("the DReLU mask is already broadcast");
    if (attr_str(n, "mode") != "nearest") fail("mode must be 'nearest'");
    std::string ctm = attr_str(n, "coordinate_transformation_mode");
    std::string nm = attr_str(n, "nearest_mode");
    if (ctm.empty()) ctm = "half_pixel";
    if (nm.empty()) nm = "round_prefer_floor";
    // With an integer scale k, output index q k + j (0 <= j < k) must read input q.
    const bool exact = (ctm == "asymmetric" && nm == "floor") ||
                       ((ctm == "half_pixel" || ctm == "pytorch_half_pixel") &&
                        (nm == "round_prefer_floor" || nm == "round_prefer_ceil"));
    if (!exact)
      fail("coordinate_transformation_mode '" + ctm + "' with nearest_mode '" + nm +
           "' does not repeat each patch's DReLU over the patch (use asymmetric with floor)");
    if (has_in(n, 1)) const_in(n, 1, "roi");
    if (has_in(n, 3)) fail("sizes are not supported (give scales)");
    const Value& sc = const_in(n, 2, "scales");
    const std::vector<double> want = {1.0, 1.0, static_cast<double>(r.patch.h),
                                      static_cast<double>(r.patch.w)};
    bool ok = sc.numel() == 4;
    for (size_t k = 0; ok && k < 4; ++k) ok = sc.fat(k) == want[k];
    if (!ok)
      fail("scales '" + n.input(2) + "' must be [1, 1, " + std::to_string(r.patch.h) + ", " +
           std::to_string(r.patch.w) + "] (the patch of the AveragePool)");
    r.resized = true;
    r.shape = {r.shape[0], r.shape[1] * r.patch.h, r.shape[2] * r.patch.w};
    set_out(n, 0, std::move(r));
  }
  void block_slice(const onnx::NodeProto& n) {
    allow_attrs(n, {});
    Value r = block_in(n, 0, Value::Stage::Mask, "a broadcast DReLU mask (Resize)");
    if (!r.resized) fail("input '" + n.input(0) + "' must be a broadcast DReLU mask (Resize)");
    const std::vector<int64_t> starts = block_ints(n, 1, "starts", 2);
    const std::vector<int64_t> ends = block_ints(n, 2, "ends", 2);
    if (!has_in(n, 3)) fail("axes are required (2 and / or 3)");
    const std::vector<int64_t> axes = block_ints(n, 3, "axes", 2);
    if (starts.size() != axes.size() || ends.size() != axes.size())
      fail("starts, ends and axes must have the same length");
    if (has_in(n, 4))
      for (int64_t st : block_ints(n, 4, "steps", 2))
        if (st != 1) fail("steps must be 1");
    std::vector<bool> seen(2, false);
    for (size_t k = 0; k < axes.size(); ++k) {
      const int64_t a = axes[k] < 0 ? axes[k] + 4 : axes[k];
      if (a != 2 && a != 3)
        fail("axes " + shape_str(axes) + ": only 2 and 3 (H, W) may be cropped");
      if (seen[static_cast<size_t>(a - 2)]) fail("axes " + shape_str(axes) + " name an axis twice");
      seen[static_cast<size_t>(a - 2)] = true;
      if (starts[k] != 0) fail("starts " + shape_str(starts) + " must be 0 (crop at the end)");
      int64_t& dim = r.shape[static_cast<size_t>(a - 1)];
      const int64_t e = ends[k] < 0 ? std::max<int64_t>(0, ends[k] + dim) : std::min(ends[k], dim);
      dim = e;
    }
    set_out(n, 0, std::move(r));
  }
  Value block_masked(const Value& x, std::vector<BlockPatch> patches) {
    Value r = x;
    r.stage = Value::Stage::Masked;
    r.patches = std::move(patches);
    return r;
  }
  void block_mul(const onnx::NodeProto& n) {
    allow_attrs(n, {});
    const int sel =
        in(n, 0).kind == Value::Kind::Block && in(n, 0).stage == Value::Stage::Selected ? 0 : 1;
    const Value& x = block_in(n, sel, Value::Stage::Selected, "a Gather of channels");
    const Value& m = in(n, 1 - sel);
    const size_t k = x.channels.size();
    if (m.kind == Value::Kind::Const) {
      if (m.numel() != 1 || m.fat(0) != 0.0)
        fail("a Block-ReLU zero group multiplies by the scalar 0, not '" + n.input(1 - sel) + "'");
      BlockPatch zero;
      zero.kind = BlockPatch::Kind::Zero;
      return set_out(n, 0, block_masked(x, std::vector<BlockPatch>(k, zero)));
    }
    if (m.kind != Value::Kind::Block || m.stage != Value::Stage::Mask || !m.resized)
      fail("a Block-ReLU group multiplies its Gather by the broadcast DReLU mask (Resize) or 0");
    if (m.base != x.base || m.channels != x.channels)
      fail("the DReLU mask '" + n.input(1 - sel) + "' is of other channels than '" + n.input(sel) +
           "'");
    if (m.shape != x.shape)
      fail("the DReLU mask is " + shape_str(m.shape) + ", the channels " + shape_str(x.shape) +
           " (crop the broadcast mask to H x W with Slice)");
    set_out(n, 0, block_masked(x, std::vector<BlockPatch>(k, m.patch)));
  }
  void block_relu(const onnx::NodeProto& n) {
    allow_attrs(n, {});
    const Value& x = block_in(n, 0, Value::Stage::Selected, "a Gather of channels");
    set_out(n, 0, block_masked(x, std::vector<BlockPatch>(x.channels.size(), BlockPatch{})));
  }
  // The BlockRelu layer on the output of layer `base`, one patch per channel.
  void block_emit(const onnx::NodeProto& n, int base, std::vector<BlockPatch> patches) {
    Layer l;
    l.op = OpKind::BlockRelu;
    l.block_patches = std::move(patches);
    set_out(n, 0, plain_act(add_layer(std::move(l), {base}, node_name_)));
  }
  void block_concat(const onnx::NodeProto& n) {
    allow_attrs(n, {"axis"});
    const int64_t axis = attr_int(n, "axis", 0);
    if (axis != 1 && axis != -3) fail("the channel groups of a Block-ReLU concatenate on axis 1");
    Value r;
    r.kind = Value::Kind::Block;
    r.stage = Value::Stage::Concat;
    for (int k = 0; k < n.input_size(); ++k) {
      const Value& g = in(n, k);
      const bool identity = g.kind == Value::Kind::Block && g.stage == Value::Stage::Selected;
      if (!identity && (g.kind != Value::Kind::Block || g.stage != Value::Stage::Masked))
        fail("input '" + n.input(k) + "' is not a channel group of a Block-ReLU pattern");
      if (k == 0) r.base = g.base;
      if (g.base != r.base) fail("the channel groups read different tensors");
      BlockPatch id;
      id.kind = BlockPatch::Kind::Identity;
      for (size_t j = 0; j < g.channels.size(); ++j) {
        r.channels.push_back(g.channels[j]);
        r.patches.push_back(identity ? id : g.patches[j]);
      }
    }
    const std::vector<int64_t>& xs =
        r.base < 0 ? net_.input_shape : net_.layers[static_cast<size_t>(r.base)].out_shape;
    const auto C = static_cast<size_t>(xs.at(0));
    std::vector<int> seen(C, 0);
    for (int64_t c : r.channels) ++seen[static_cast<size_t>(c)];
    for (size_t c = 0; c < C; ++c)
      if (seen[c] != 1)
        fail("the channel groups hold channel " + std::to_string(c) + " " +
             std::to_string(seen[c]) + " times; a Block-ReLU gives every one of the " +
             std::to_string(C) + " channels exactly one patch");
    r.shape = xs;
    if (std::is_sorted(r.channels.begin(), r.channels.end()))
      return block_emit(n, r.base, std::move(r.patches));
    set_out(n, 0, std::move(r));
  }
  void block_order(const onnx::NodeProto& n) {
    allow_attrs(n, {"axis"});
    if (attr_int(n, "axis", 0) != 1) fail("the channel order is restored along axis 1");
    const Value& cat = block_in(n, 0, Value::Stage::Concat, "the Concat of the channel groups");
    const auto C = static_cast<int64_t>(cat.channels.size());
    const std::vector<int64_t> idx =
        block_channels(n, block_ints(n, 1, "indices", static_cast<size_t>(C)), C);
    if (static_cast<int64_t>(idx.size()) != C)
      fail("indices '" + n.input(1) + "' must list all " + std::to_string(C) + " channels");
    std::vector<BlockPatch> patches;
    for (size_t j = 0; j < idx.size(); ++j) {
      const auto k = static_cast<size_t>(idx[j]);
      if (cat.channels[k] != static_cast<int64_t>(j))
        fail("indices '" + n.input(1) + "' put channel " + std::to_string(cat.channels[k]) +
             " of the input at position " + std::to_string(j) +
             " (a Block-ReLU keeps every channel in its place)");
      patches.push_back(cat.patches[k]);
    }
    block_emit(n, cat.base, std::move(patches));
  }

  void op_constant(const onnx::NodeProto& n) {
    allow_attrs(n, {"value", "value_float", "value_floats", "value_int", "value_ints"});
    if (n.attribute_size() != 1) fail("expected exactly one value attribute");
    const onnx::AttributeProto& a = n.attribute(0);
    if (a.name() == "value") {
      if (a.type() != onnx::AttributeProto_AttributeType_TENSOR)
        fail("attribute 'value' must be a tensor");
      return set_out(n, 0, tensor_value(a.t(), "constant '" + node_name_ + "'"));
    }
    if (a.name() == "value_float") return set_out(n, 0, make_const_f({}, {a.f()}));
    if (a.name() == "value_int") return set_out(n, 0, make_const_i({}, {a.i()}));
    if (a.name() == "value_floats")
      return set_out(n, 0, make_const_f({a.floats_size()}, {a.floats().begin(), a.floats().end()}));
    return set_out(n, 0, make_const_i({a.ints_size()}, {a.ints().begin(), a.ints().end()}));
  }

  // kernel_shape / strides / pads / dilations / auto_pad shared by Conv and pools.
  void window_attrs(const onnx::NodeProto& n, Layer& l, int64_t kh, int64_t kw) const {
    const std::string auto_pad = attr_str(n, "auto_pad");
    if (!auto_pad.empty() && auto_pad != "NOTSET")
      fail("auto_pad=" + auto_pad + " is not supported (use explicit pads)");
    // Kernels and strides must be >= 1 and pads >= 0, all within an int (the IR's type);
    // kernels larger than the padded input and outputs that are too large are rejected
    // by Network::infer_shapes().
    const bool ks_given = attr(n, "kernel_shape") != nullptr;
    const auto ks = attr_ints(n, "kernel_shape", {kh, kw});
    if (ks.size() != 2) fail("only 2-D kernels are supported, kernel_shape " + shape_str(ks));
    if (ks[0] != kh || ks[1] != kw)
      fail("kernel_shape " + shape_str(ks) + " does not match the weight");
    const auto st = attr_ints(n, "strides", {1, 1});
    if (st.size() != 2) fail("strides " + shape_str(st) + " must have 2 entries");
    const auto pads = attr_ints(n, "pads", {0, 0, 0, 0});
    if (pads.size() != 4) fail("pads " + shape_str(pads) + " must have 4 entries");
    const auto dil = attr_ints(n, "dilations", {1, 1});
    for (int64_t d : dil)
      if (d != 1) fail("dilations " + shape_str(dil) + " are not supported (only 1)");
    const std::string ks_name = ks_given ? "kernel_shape" : "kernel_shape (from the weight)";
    l.kernel_h = int_entry(ks_name, ks, 0, 1);
    l.kernel_w = int_entry(ks_name, ks, 1, 1);
    l.stride_h = int_entry("strides", st, 0, 1);
    l.stride_w = int_entry("strides", st, 1, 1);
    l.pad_top = int_entry("pads", pads, 0, 0);
    l.pad_left = int_entry("pads", pads, 1, 0);
    l.pad_bottom = int_entry("pads", pads, 2, 0);
    l.pad_right = int_entry("pads", pads, 3, 0);
  }

  void op_conv(const onnx::NodeProto& n) {
    allow_attrs(n, {"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"});
    if (attr_int(n, "group", 1) != 1)
      fail("group=" + std::to_string(attr_int(n, "group", 1)) +
           " is not supported (only group=1; no depthwise or grouped convolution)");
    const Value& w = const_in(n, 1, "weight");
    if (w.dims.size() != 4)
      fail("weight of shape " + shape_str(w.dims) + " is not [Cout, Cin, kh, kw] (2-D conv)");
    Layer l;
    l.op = OpKind::Conv;
    window_attrs(n, l, w.dims[2], w.dims[3]);
    const int x = padded_act_in(n, 0, l);
    l.weight_shape = w.dims;
    for (size_t k = 0; k < w.numel(); ++k) l.weight.push_back(static_cast<float>(w.fat(k)));
    if (has_in(n, 2)) {
      const Value& b = const_in(n, 2, "bias");
      if (static_cast<int64_t>(b.numel()) != w.dims[0])
        fail("bias has " + std::to_string(b.numel()) + " values, expected " +
             std::to_string(w.dims[0]));
      for (size_t k = 0; k < b.numel(); ++k) l.bias.push_back(static_cast<float>(b.fat(k)));
    }
    set_out(n, 0, plain_act(add_layer(std::move(l), {x}, node_name_)));
  }

  // Linear from a weight already laid out [out, in].
  int add_linear(int x, std::vector<int64_t> wshape, std::vector<float> w, std::vector<float> b) {
    const auto& s = shape_of(x);
    if (s.size() != 1)
      fail("input of shape [N, " + shape_str(s).substr(1) +
           " is not 2-D; flatten it first (Flatten or Reshape to [N, -1])");
    Layer l;
    l.op = OpKind::Linear;
    l.weight_shape = std::move(wshape);
    l.weight = std::move(w);
    l.bias = std::move(b);
    return add_layer(std::move(l), {x}, node_name_);
  }

  // b is [rows, cols] (`what` names it); returns [cols, rows]. rows * cols is checked
  // against b's element count, so the writes below stay inside both buffers.
  std::vector<float> transpose(const Value& b, int64_t rows, int64_t cols,
                               const std::string& what) const {
    const std::vector<int64_t> dims = {rows, cols};
    if (checked_numel(dims, what + " dims") != b.numel())
      fail(what + " of shape " + shape_str(dims) + " has " + std::to_string(b.numel()) + " values");
    std::vector<float> t(b.numel());
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c)
        t[static_cast<size_t>(c * rows + r)] =
            static_cast<float>(b.fat(static_cast<size_t>(r * cols + c)));
    return t;
  }

  void op_gemm(const onnx::NodeProto& n) {
    allow_attrs(n, {"alpha", "beta", "transA", "transB"});
    if (attr_int(n, "transA", 0) != 0) fail("transA=1 is not supported");
    if (attr_float(n, "alpha", 1.0f) != 1.0f) fail("alpha != 1 is not supported");
    if (attr_float(n, "beta", 1.0f) != 1.0f) fail("beta != 1 is not supported");
    const int64_t trans_b = attr_int(n, "transB", 0);
    const int x = act_in(n, 0);
    const Value& b = const_in(n, 1, "B");
    if (b.dims.size() != 2) fail("B of shape " + shape_str(b.dims) + " is not a matrix");
    std::vector<int64_t> wshape;
    std::vector<float> w;
    if (trans_b) {
      wshape = b.dims;
      for (size_t k = 0; k < b.numel(); ++k) w.push_back(static_cast<float>(b.fat(k)));
    } else {
      wshape = {b.dims[1], b.dims[0]};
      w = transpose(b, b.dims[0], b.dims[1], "B '" + n.input(1) + "'");
    }
    std::vector<float> bias;
    if (has_in(n, 2)) {
      const Value& c = const_in(n, 2, "C");
      const int64_t out = wshape[0];
      const bool ok =
          c.numel() == 1 || (static_cast<int64_t>(c.numel()) == out &&
                             (c.dims.size() == 1 || (c.dims.size() == 2 && c.dims[0] == 1)));
      if (!ok) fail("C of shape " + shape_str(c.dims) + " is not a bias of " + std::to_string(out));
      for (int64_t k = 0; k < out; ++k)
        bias.push_back(static_cast<float>(c.fat(c.numel() == 1 ? 0 : static_cast<size_t>(k))));
    }
    const bool foldable = bias.empty();
    const int idx = add_linear(x, wshape, std::move(w), std::move(bias));
    if (foldable) bias_foldable_.insert(idx);
    set_out(n, 0, plain_act(idx));
  }

  void op_matmul(const onnx::NodeProto& n) {
    allow_attrs(n, {});
    if (in(n, 0).kind != Value::Kind::Act)
      fail("only activation x constant [in, out] is supported");
    const int x = act_in(n, 0);
    const Value& b = const_in(n, 1, "weight");
    if (b.dims.size() != 2) fail("weight of shape " + shape_str(b.dims) + " is not a matrix");
    const int idx =
        add_linear(x, {b.dims[1], b.dims[0]},
                   transpose(b, b.dims[0], b.dims[1], "weight '" + n.input(1) + "'"), {});
    bias_foldable_.insert(idx);
    set_out(n, 0, plain_act(idx));
  }

  // y = gamma * (x - mean) / sqrt(var + eps) + beta, folded into the Conv/Linear that
  // produces x when nothing else reads x; otherwise an affine polynomial.
  void op_batchnorm(const onnx::NodeProto& n) {
    allow_attrs(n,
                {"epsilon", "momentum", "training_mode", "spatial", "is_test", "consumed_inputs"});
    if (attr_int(n, "training_mode", 0) != 0) fail("training_mode=1 is not supported");
    if (attr_int(n, "spatial", 1) != 1) fail("spatial=0 is not supported");
    only_first_output(n);
    const double eps = attr_float(n, "epsilon", 1e-5f);
    Value& x = in(n, 0);
    if (x.kind != Value::Kind::Act) fail("input must be an activation");
    check_unpadded(x);
    const int64_t c = x.shape[0];
    std::vector<double> p[4];  // scale, B, mean, var
    const char* role[4] = {"scale", "B", "mean", "var"};
    for (int k = 0; k < 4; ++k) {
      const Value& v = const_in(n, k + 1, role[k]);
      if (static_cast<int64_t>(v.numel()) != c || v.dims.size() != 1)
        fail(std::string(role[k]) + " of shape " + shape_str(v.dims) + " does not match " +
             std::to_string(c) + " channels");
      for (size_t e = 0; e < v.numel(); ++e) p[k].push_back(v.fat(e));
    }
    std::vector<double> mul(static_cast<size_t>(c)), add(static_cast<size_t>(c));
    for (size_t k = 0; k < mul.size(); ++k) {
      mul[k] = p[0][k] / std::sqrt(p[3][k] + eps);
      add[k] = p[1][k] - p[2][k] * mul[k];
    }
    const bool last = x.base >= 0 && x.base + 1 == static_cast<int>(net_.layers.size());
    if (x.identity() && last && uses_[n.input(0)] == 1) {
      Layer& l = net_.layers[static_cast<size_t>(x.base)];
      if (l.op == OpKind::Conv || l.op == OpKind::Linear) {
        const size_t per = l.weight.size() / static_cast<size_t>(c);
        for (size_t o = 0; o < mul.size(); ++o) {
          for (size_t e = 0; e < per; ++e) {
            float& w = l.weight[o * per + e];
            w = static_cast<float>(w * mul[o]);
          }
        }
        if (l.bias.empty()) l.bias.assign(mul.size(), 0.0f);
        for (size_t o = 0; o < mul.size(); ++o)
          l.bias[o] = static_cast<float>(l.bias[o] * mul[o] + add[o]);
        bias_foldable_.erase(x.base);
        return set_out(n, 0, plain_act(x.base));
      }
    }
    Value y = scale(x, mul);
    y.c0 = cadd(y.c0, add);
    set_out(n, 0, std::move(y));
  }

  void op_pool(const onnx::NodeProto& n) {
    const bool avg = n.op_type() == "AveragePool";
    if (avg)
      allow_attrs(n, {"auto_pad", "ceil_mode", "count_include_pad", "kernel_shape", "pads",
                      "strides", "dilations"});
    else
      allow_attrs(n, {"auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads", "storage_order",
                      "strides"});
    only_first_output(n);
    if (attr_int(n, "ceil_mode", 0) != 0) fail("ceil_mode=1 is not supported");
    const auto ks = attr_ints(n, "kernel_shape", {});
    if (ks.size() != 2) fail("kernel_shape " + shape_str(ks) + " must have 2 entries");
    Layer l;
    l.op = avg ? OpKind::AvgPool : OpKind::MaxPool;
    window_attrs(n, l, ks[0], ks[1]);
    const bool padded = l.pad_top || l.pad_left || l.pad_bottom || l.pad_right;
    if (avg && padded && attr_int(n, "count_include_pad", 0) == 0)
      fail(
          "padding with count_include_pad=0 is not supported (the IR divides every window "
          "by the full kernel size; use count_include_pad=1 or no padding)");
    // A Pad node before AveragePool pads with zeros that count in the average, which is
    // the IR's semantics; before MaxPool zeros are not -inf, so act_in rejects it.
    const int x = avg ? padded_act_in(n, 0, l) : act_in(n, 0);
    set_out(n, 0, plain_act(add_layer(std::move(l), {x}, node_name_)));
  }

  // Zero Pad of H and W (mode constant, value 0); see Value::pad.
  void op_pad(const onnx::NodeProto& n) {
    allow_attrs(n, {"mode", "pads", "value"});
    const std::string mode = attr_str(n, "mode");
    if (!mode.empty() && mode != "constant") fail("mode=" + mode + " is not supported");
    std::vector<int64_t> pads = attr_ints(n, "pads", {});
    double value = attr_float(n, "value", 0.0f);
    if (has_in(n, 1)) {
      const Value& p = const_in(n, 1, "pads");
      pads.clear();
      for (size_t k = 0; k < p.numel(); ++k) pads.push_back(int_at(p, k, "pads"));
    }
    if (has_in(n, 2)) {
      const Value& c = const_in(n, 2, "constant_value");
      if (c.numel() != 1) fail("constant_value must be a scalar");
      value = c.fat(0);
    }
    if (has_in(n, 3)) fail("the axes input is not supported");
    Value& v = in(n, 0);
    if (v.kind != Value::Kind::Act) fail("only activations can be padded");
    check_unpadded(v);
    if (v.shape.size() != 3 || pads.size() != 8)
      fail("only padding of [N, C, H, W] activations with 8 pads is supported");
    if (pads[0] || pads[1] || pads[4] || pads[5])
      fail("padding of the batch or channel dimension is not supported");
    for (size_t k = 0; k < pads.size(); ++k) {
      if (pads[k] < 0) fail("negative pads (cropping) are not supported");
      int_entry("pads", pads, k, 0);
    }
    const bool zero = pads[2] == 0 && pads[3] == 0 && pads[6] == 0 && pads[7] == 0;
    if (zero) return set_out(n, 0, v);
    if (value != 0.0) fail("padding with a non-zero value is not supported");
    Value r = plain_act(materialize(v));
    r.pad = {pads[2], pads[3], pads[6], pads[7]};
    set_out(n, 0, std::move(r));
  }

  void op_flatten(const onnx::NodeProto& n) {
    allow_attrs(n, {"axis"});
    Value& v = in(n, 0);
    if (v.kind != Value::Kind::Act) fail("only activations can be flattened");
    const auto rank = static_cast<int64_t>(v.shape.size()) + 1;
    int64_t axis = attr_int(n, "axis", 1);
    if (axis < 0) axis += rank;
    if (axis != 1)
      fail("axis=" + std::to_string(attr_int(n, "axis", 1)) +
           " is not supported (only flattening all but the batch dimension)");
    const int x = materialize(v);
    Layer l;
    l.op = OpKind::Flatten;
    set_out(n, 0, plain_act(add_layer(std::move(l), {x}, node_name_)));
  }

  // Shape operand of Reshape/Concat as symbolic entries.
  std::vector<SymDim> sym_of(const Value& v, const std::string& name) const {
    if (v.kind == Value::Kind::Shape) return v.sym;
    if (v.kind == Value::Kind::Const && v.is_int) {
      std::vector<SymDim> r;
      for (int64_t x : v.i) r.push_back({false, x});
      return r;
    }
    fail("'" + name + "' must be an integer shape tensor");
  }

  void op_reshape(const onnx::NodeProto& n) {
    allow_attrs(n, {"allowzero"});
    const bool allowzero = attr_int(n, "allowzero", 0) != 0;
    Value& data = in(n, 0);
    const std::vector<SymDim> target = sym_of(in(n, 1), n.input(1));
    if (data.kind == Value::Kind::Const) {  // reshape of a constant (e.g. coefficients)
      // The target comes from the file: entries >= -1, at most one -1, and the product
      // (checked, no wrap-around) must equal the constant's element count.
      std::vector<int64_t> raw;
      for (const SymDim& d : target) {
        if (d.batch) fail("cannot reshape a constant to the batch size");
        raw.push_back(d.v);
      }
      const std::string what = "shape '" + n.input(1) + "' " + shape_str(raw);
      std::vector<int64_t> dims;
      int infer = -1;
      for (size_t k = 0; k < raw.size(); ++k) {
        int64_t d = raw[k];
        if (d == 0 && !allowzero) {
          if (k >= data.dims.size())
            fail(what + ": entry " + std::to_string(k) + " is 0 but the constant has only " +
                 std::to_string(data.dims.size()) + " dimensions to copy it from");
          d = data.dims[k];
        }
        if (d == -1) {
          if (infer >= 0) fail(what + " has more than one -1 entry");
          infer = static_cast<int>(k);
          d = 1;  // placeholder, filled in below
        } else if (d < 0) {
          fail(what + ": entry " + std::to_string(k) + " is " + std::to_string(d) +
               " (must be >= -1)");
        }
        dims.push_back(d);
      }
      const uint64_t known = checked_numel(dims, what + " resolved to");
      const uint64_t total = data.numel();
      if (infer >= 0) {
        if (known == 0 || total % known != 0)
          fail("cannot reshape a constant of shape " + shape_str(data.dims) + " to " + what +
               ": the -1 entry has no whole-number size");
        dims[static_cast<size_t>(infer)] = static_cast<int64_t>(total / known);
      } else if (known != total) {
        fail("cannot reshape a constant of shape " + shape_str(data.dims) + " (" +
             std::to_string(total) + " elements) to " + what + " (" + std::to_string(known) +
             " elements)");
      }
      Value r = data;
      r.dims = dims;
      return set_out(n, 0, r);
    }
    if (data.kind != Value::Kind::Act) fail("cannot reshape a shape tensor");
    const auto k_flat = static_cast<int64_t>(checked_numel(data.shape, "input shape"));
    std::string desc = "[";
    for (size_t k = 0; k < target.size(); ++k)
      desc += (k ? ", " : "") + (target[k].batch ? std::string("N") : std::to_string(target[k].v));
    desc += "]";
    bool ok = target.size() == 2;
    if (ok) {
      const SymDim& a = target[0];
      const SymDim& b = target[1];
      const bool a_batch =
          a.batch || a.v == 1 || (a.v == 0 && !allowzero) || (batch_ && a.v == *batch_);
      const bool b_flat = !b.batch && (b.v == -1 || b.v == k_flat);
      ok = (a_batch && b_flat) || (!a.batch && a.v == -1 && !b.batch && b.v == k_flat);
    }
    if (!ok)
      fail("reshape of [N, " + shape_str(data.shape).substr(1) + " to " + desc +
           " is not supported (only flattening to [N, -1] / [N, " + std::to_string(k_flat) + "])");
    const int x = materialize(data);
    Layer l;
    l.op = OpKind::Flatten;
    set_out(n, 0, plain_act(add_layer(std::move(l), {x}, node_name_)));
  }

  void op_shape(const onnx::NodeProto& n) {
    allow_attrs(n, {"start", "end"});
    const Value& v = in(n, 0);
    std::vector<SymDim> s;
    if (v.kind == Value::Kind::Act) {
      check_unpadded(v);
      s.push_back({true, 0});
      for (int64_t d : v.shape) s.push_back({false, d});
    } else if (v.kind == Value::Kind::Const) {
      for (int64_t d : v.dims) s.push_back({false, d});
    } else {
      s.push_back({false, static_cast<int64_t>(v.sym.size())});
    }
    const auto rank = static_cast<int64_t>(s.size());
    int64_t start = attr_int(n, "start", 0), end = attr_int(n, "end", rank);
    if (start < 0) start += rank;
    if (end < 0) end += rank;
    start = std::clamp<int64_t>(start, 0, rank);
    end = std::clamp<int64_t>(end, start, rank);
    Value r;
    r.kind = Value::Kind::Shape;
    r.sym.assign(s.begin() + start, s.begin() + end);
    set_out(n, 0, std::move(r));
  }

  void op_gather(const onnx::NodeProto& n) {
    allow_attrs(n, {"axis"});
    const Value& data = in(n, 0);
    const Value& idx = const_in(n, 1, "indices");
    if (!idx.is_int) fail("indices must be integers");
    if (idx.dims.size() > 1) fail("only scalar or 1-D indices are supported");
    if (data.kind == Value::Kind::Act)
      fail("Gather on activations is supported only along the channels (axis=1), as the start "
           "of a Block-ReLU pattern");
    const bool is_shape = data.kind == Value::Kind::Shape;
    if (!is_shape && data.dims.size() != 1) fail("Gather is supported on 1-D constants only");
    if (attr_int(n, "axis", 0) != 0) fail("only axis=0 is supported");
    const auto size = static_cast<int64_t>(is_shape ? data.sym.size() : data.numel());
    Value r;
    r.kind = data.kind;
    r.is_int = data.is_int;
    for (size_t j = 0; j < idx.i.size(); ++j) {
      int64_t k = idx.i[j];
      if (k < -size || k >= size)
        fail("indices '" + n.input(1) + "' entry " + std::to_string(j) + " is " +
             std::to_string(k) + ", out of range for " + std::to_string(size) +
             " elements (valid: " + std::to_string(-size) + " to " + std::to_string(size - 1) +
             ")");
      if (k < 0) k += size;
      const auto uk = static_cast<size_t>(k);
      if (is_shape)
        r.sym.push_back(data.sym[uk]);
      else if (data.is_int)
        r.i.push_back(data.i[uk]);
      else
        r.f.push_back(data.f[uk]);
    }
    r.scalar = idx.dims.empty();
    if (!is_shape && !r.scalar) r.dims = {static_cast<int64_t>(r.numel())};
    set_out(n, 0, std::move(r));
  }

  // Unsqueeze / Squeeze: on shape vectors and constants only (they change no values).
  void op_unsqueeze(const onnx::NodeProto& n) {
    allow_attrs(n, {"axes"});
    const bool unsq = n.op_type() == "Unsqueeze";
    std::vector<int64_t> axes = attr_ints(n, "axes", {});
    if (has_in(n, 1)) {
      const Value& a = const_in(n, 1, "axes");
      for (size_t k = 0; k < a.numel(); ++k) axes.push_back(int_at(a, k, "axes"));
    }
    const Value& v = in(n, 0);
    if (v.kind == Value::Kind::Act) fail(n.op_type() + " of an activation is not supported");
    Value r = v;
    if (v.kind == Value::Kind::Shape) {
      if (unsq) {
        if (!v.scalar || axes.size() != 1 || (axes[0] != 0 && axes[0] != -1))
          fail("only unsqueezing a scalar to a 1-D shape vector is supported");
        r.scalar = false;
      } else {
        if (v.sym.size() != 1) fail("only squeezing a 1-element shape vector is supported");
        r.scalar = true;
      }
      return set_out(n, 0, std::move(r));
    }
    if (unsq) {
      const auto out_rank = static_cast<int64_t>(v.dims.size() + axes.size());
      std::vector<bool> is_new(static_cast<size_t>(out_rank), false);
      for (int64_t a : axes) {
        if (a < 0) a += out_rank;
        if (a < 0 || a >= out_rank) fail("axis out of range");
        if (is_new[static_cast<size_t>(a)])
          fail("axes " + shape_str(axes) + " name axis " + std::to_string(a) + " twice");
        is_new[static_cast<size_t>(a)] = true;
      }
      r.dims.clear();
      size_t src = 0;
      for (int64_t k = 0; k < out_rank; ++k)
        r.dims.push_back(is_new[static_cast<size_t>(k)] ? 1 : v.dims.at(src++));
    } else {
      const auto rank = static_cast<int64_t>(v.dims.size());
      std::vector<bool> drop(v.dims.size(), axes.empty());
      for (int64_t a : axes) {
        if (a < 0) a += rank;
        if (a < 0 || a >= rank) fail("axis out of range");
        drop[static_cast<size_t>(a)] = true;
      }
      r.dims.clear();
      for (size_t k = 0; k < v.dims.size(); ++k)
        if (!(drop[k] && v.dims[k] == 1)) r.dims.push_back(v.dims[k]);
    }
    set_out(n, 0, std::move(r));
  }

  void op_concat(const onnx::NodeProto& n) {
    allow_attrs(n, {"axis"});
    const int64_t axis = attr_int(n, "axis", 0);
    if (axis != 0 && axis != -1) fail("only axis=0 (1-D shape vectors) is supported");
    Value r;
    r.kind = Value::Kind::Shape;
    bool all_const = true;
    for (int k = 0; k < n.input_size(); ++k) {
      const Value& v = in(n, k);
      if (v.kind == Value::Kind::Act) fail("Concat of activations is not supported");
      if (v.kind == Value::Kind::Const && v.dims.size() > 1)
        fail("only 1-D shape vectors can be concatenated");
      all_const = all_const && v.kind == Value::Kind::Const && v.is_int;
      for (const SymDim& d : sym_of(v, n.input(k))) r.sym.push_back(d);
    }
    if (all_const) {
      std::vector<int64_t> ints;
      for (const SymDim& d : r.sym) ints.push_back(d.v);
      const auto len = static_cast<int64_t>(ints.size());
      return set_out(n, 0, make_const_i({len}, std::move(ints)));
    }
    set_out(n, 0, std::move(r));
  }

  void op_cast(const onnx::NodeProto& n) {
    allow_attrs(n, {"to", "saturate"});
    const int64_t to = attr_int(n, "to", 0);
    Value v = in(n, 0);
    const bool to_float =
        to == onnx::TensorProto_DataType_FLOAT || to == onnx::TensorProto_DataType_DOUBLE;
    const bool to_int =
        to == onnx::TensorProto_DataType_INT64 || to == onnx::TensorProto_DataType_INT32;
    if (v.kind == Value::Kind::Act) {
      check_unpadded(v);
      if (!to_float) fail("cast of an activation to type " + std::to_string(to));
      return set_out(n, 0, v);
    }
    if (v.kind == Value::Kind::Shape) {
      if (!to_int) fail("cast of a shape to type " + std::to_string(to));
      return set_out(n, 0, v);
    }
    if (to_float && v.is_int) {
      for (int64_t x : v.i) v.f.push_back(static_cast<double>(x));
      v.i.clear();
      v.is_int = false;
    } else if (to_int && !v.is_int) {
      for (double x : v.f) {
        const std::optional<int64_t> r = to_int64(x);
        if (!r)
          fail("cannot cast " + std::to_string(x) + " to an integer (outside the int64 range)");
        v.i.push_back(*r);
      }
      v.f.clear();
      v.is_int = true;
    } else if (!to_float && !to_int) {
      fail("cast to type " + std::to_string(to) + " is not supported");
    }
    set_out(n, 0, std::move(v));
  }

  static Value scale(const Value& v, const std::vector<double>& k) {
    Value r = v;
    r.c2 = cscale(v.c2, k);
    r.c1 = cscale(v.c1, k);
    r.c0 = cscale(v.c0, k);
    return r;
  }

  Value poly_mul(const Value& p, const Value& q) const {
    const Coef r4 = cmul(p.c2, q.c2);
    const Coef r3 = cadd(cmul(p.c2, q.c1), cmul(p.c1, q.c2));
    if (r4 || r3)
      fail(
          "the product is a polynomial of degree > 2; only degree-2 activations "
          "a2*x^2 + a1*x + a0 are supported");
    Value r = p;
    r.c2 = cadd(cadd(cmul(p.c2, q.c0), cmul(p.c1, q.c1)), cmul(p.c0, q.c2));
    r.c1 = cadd(cmul(p.c1, q.c0), cmul(p.c0, q.c1));
    r.c0 = cmul(p.c0, q.c0);
    return r;
  }

  // Add / Sub / Mul / Div / Pow.
  void op_binary(const onnx::NodeProto& n) {
    const std::string& op = n.op_type();
    allow_attrs(n, {});
    Value& a = in(n, 0);
    Value& b = in(n, 1);
    using K = Value::Kind;
    if (a.kind == K::Shape || b.kind == K::Shape) fail("arithmetic on shapes is not supported");
    check_unpadded(a);
    check_unpadded(b);
    if (a.kind == K::Const && b.kind == K::Const) return set_out(n, 0, fold(a, b, op));

    if (a.kind == K::Act && b.kind == K::Act) {
      if (op == "Pow") fail("exponent must be a constant");
      if (a.base == b.base && (op == "Add" || op == "Sub" || op == "Mul")) {
        if (op == "Mul") return set_out(n, 0, poly_mul(a, b));
        const Value nb = op == "Sub" ? scale(b, {-1.0}) : b;
        Value r = a;
        r.c2 = cadd(a.c2, nb.c2);
        r.c1 = cadd(a.c1, nb.c1);
        r.c0 = cadd(a.c0, nb.c0);
        return set_out(n, 0, std::move(r));
      }
      if (op != "Add")
        fail(op +
             " of two different activations is not supported (only Add, as a residual "
             "connection)");
      const int x = materialize(a);
      const int y = materialize(in(n, 1));
      Layer l;
      l.op = OpKind::Add;
      return set_out(n, 0, plain_act(add_layer(std::move(l), {x, y}, node_name_)));
    }

    // activation (op) constant
    const bool act_first = a.kind == K::Act;
    const Value& act = act_first ? a : b;
    const Value& c = act_first ? b : a;
    const std::string& cname = n.input(act_first ? 1 : 0);
    if (op == "Pow") {
      if (!act_first) fail("constant ** activation is not supported");
      if (c.numel() != 1) fail("exponent must be a scalar");
      const double e = c.fat(0);
      if (e == 1.0) return set_out(n, 0, act);
      if (e == 2.0) return set_out(n, 0, poly_mul(act, act));
      fail("exponent " + std::to_string(e) + " is not supported (only 1 and 2)");
    }
    if (op == "Add" && try_fold_bias(n, act, c, act_first ? n.input(0) : n.input(1))) return;
    std::vector<double> k = channel_coef(c, act.shape, cname);
    if (op == "Mul") return set_out(n, 0, scale(act, k));
    if (op == "Div") {
      if (!act_first) fail("constant / activation is not a polynomial");
      Value r = act;
      auto div = [&](const Coef& co) -> Coef {
        if (!co) return std::nullopt;
        return vzip(*co, k, op_div);
      };
      r.c2 = div(act.c2);
      r.c1 = div(act.c1);
      r.c0 = div(act.c0);
      return set_out(n, 0, std::move(r));
    }
    Value r = act;
    if (op == "Add") {
      r.c0 = cadd(act.c0, k);
    } else {  // Sub
      if (act_first) {
        for (double& x : k) x = -x;
        r.c0 = cadd(act.c0, k);
      } else {
        r = scale(act, {-1.0});
        r.c0 = cadd(r.c0, k);
      }
    }
    set_out(n, 0, std::move(r));
  }

  // MatMul (or Gemm without C) followed by Add of a [out] / [1, out] constant: the bias.
  bool try_fold_bias(const onnx::NodeProto& n, const Value& act, const Value& c,
                     const std::string& act_name) {
    if (!act.identity() || act.base < 0 || !bias_foldable_.count(act.base)) return false;
    if (act.base + 1 != static_cast<int>(net_.layers.size()) || uses_[act_name] != 1) return false;
    Layer& l = net_.layers[static_cast<size_t>(act.base)];
    const int64_t out = l.weight_shape[0];
    const bool shape_ok = (c.dims.size() == 1 && c.dims[0] == out) ||
                          (c.dims.size() == 2 && c.dims[0] == 1 && c.dims[1] == out);
    if (!shape_ok || c.numel() != static_cast<size_t>(out)) return false;
    for (size_t k = 0; k < c.numel(); ++k) l.bias.push_back(static_cast<float>(c.fat(k)));
    bias_foldable_.erase(act.base);
    set_out(n, 0, plain_act(act.base));
    return true;
  }

  void finish(const onnx::GraphProto& g) {
    if (g.output_size() != 1)
      fail("the graph has " + std::to_string(g.output_size()) +
           " outputs; exactly one (the logits) is supported");
    const std::string& name = g.output(0).name();
    Value* out = lookup(name);
    if (!out) fail("graph output '" + name + "' is not produced by any node");
    if (out->kind == Value::Kind::Block) materialize(*out);
    if (out->kind != Value::Kind::Act)
      fail("graph output '" + name + "' is a constant, not a function of the input");
    const int last = materialize(*out);
    if (last < 0) fail("the graph has no layers (output '" + name + "' is the input)");
    if (last + 1 != static_cast<int>(net_.layers.size()))
      fail("graph output '" + name + "' comes from layer '" +
           net_.layers[static_cast<size_t>(last)].name + "' but layer '" + net_.layers.back().name +
           "' is computed after it and unused");
  }

  const onnx::ModelProto& m_;
  std::string origin_;
  Network net_;
  std::map<std::string, Value> values_;
  std::map<std::string, const onnx::TensorProto*> inits_;  ///< not yet decoded (lookup())
  std::map<std::string, int> uses_;
  std::set<std::string> layer_names_;
  std::set<int> bias_foldable_;
  std::optional<int64_t> batch_;
  const onnx::NodeProto* node_ = nullptr;
  std::string node_name_;
};

}  // namespace

Network parse_onnx(const std::string& bytes, const std::string& origin) {
  onnx::ModelProto m;
  if (bytes.empty()) throw ModelError(origin + " is not a valid ONNX model (empty)");
  if (!m.ParseFromString(bytes))
    throw ModelError(origin +
                     " is not a valid ONNX model (protobuf parse failed: truncated "
                     "or not an ONNX file)");
  if (!m.has_graph() || m.ir_version() <= 0)
    throw ModelError(origin + " is not a valid ONNX model (no graph or no ir_version)");
  Network net = Importer(m, origin).run();
  {
    std::map<std::string, std::string> meta;
    for (const auto& e : m.metadata_props()) meta[e.key()] = e.value();
    net.fixed_point = fixed_point_of(meta, origin);
  }
  for (const auto& e : m.metadata_props())
    for (const LayerSetting* setting : {&kRingBits, &kFracBits})
      if (e.key() == setting->metadata) {
        try {
          set_layer_values(net, parse_layer_values(e.value(), *setting), *setting);
        } catch (const ModelError& err) {
          throw ModelError(origin + ": metadata '" + setting->metadata + "': " + err.what());
        }
      }
  net.infer_shapes();
  return net;
}

Network load_onnx(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw ModelError("cannot open ONNX model '" + path + "': " + std::strerror(errno));
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (f.bad()) throw ModelError("cannot read ONNX model '" + path + "'");
  return parse_onnx(bytes, path);
}

}  // namespace polympc::nn
