// ONNX export of the network IR (docs/design.md §12): opset 13, IR version 8.
//
// Graph: input "input" [N, C, H, W] (N symbolic) float, output "logits" (the last layer).
// Node names equal layer names; helper nodes and initializers append a suffix
// ("<layer>.weight", "<layer>.bias", "<layer>.a2", "<layer>/sq", ...); a Block-ReLU's
// helper nodes are named "<layer>/g<k>/..." (export_block_relu).
#include <onnx/onnx_pb.h>  // defines ONNX_API, includes onnx-ml.pb.h (ONNX_ML=1)

#include <algorithm>
#include <cstring>
#include <fstream>

#include "polympc/nn/onnx.h"

namespace polympc::nn {
namespace {

constexpr int64_t kOpsetVersion = 13;
constexpr int64_t kIrVersion = 8;

// IEEE-754 single precision as 4 little-endian bytes (ONNX raw_data layout).
std::string le_bytes(const std::vector<float>& v) {
  std::string out(v.size() * 4, '\0');
  for (size_t i = 0; i < v.size(); ++i) {
    uint32_t u = 0;
    std::memcpy(&u, &v[i], 4);
    for (int b = 0; b < 4; ++b) out[i * 4 + b] = static_cast<char>((u >> (8 * b)) & 0xffu);
  }
  return out;
}

class Exporter {
 public:
  explicit Exporter(onnx::GraphProto& g) : g_(g) {}

  void add_initializer(const std::string& name, const std::vector<int64_t>& dims,
                       const std::vector<float>& data) {
    onnx::TensorProto* t = g_.add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto_DataType_FLOAT);
    for (int64_t d : dims) t->add_dims(d);
    t->set_raw_data(le_bytes(data));
  }

  void add_int_initializer(const std::string& name, const std::vector<int64_t>& data) {
    onnx::TensorProto* t = g_.add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto_DataType_INT64);
    t->add_dims(static_cast<int64_t>(data.size()));
    for (int64_t v : data) t->add_int64_data(v);
  }

  onnx::NodeProto* add_node(const std::string& op, const std::string& name,
                            const std::vector<std::string>& inputs, const std::string& output) {
    onnx::NodeProto* n = g_.add_node();
    n->set_op_type(op);
    n->set_name(name);
    for (const auto& i : inputs) n->add_input(i);
    n->add_output(output);
    return n;
  }

  static void set_ints(onnx::NodeProto* n, const std::string& name, const std::vector<int64_t>& v) {
    onnx::AttributeProto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto_AttributeType_INTS);
    for (int64_t x : v) a->add_ints(x);
  }
  static void set_int(onnx::NodeProto* n, const std::string& name, int64_t v) {
    onnx::AttributeProto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto_AttributeType_INT);
    a->set_i(v);
  }
  static void set_string(onnx::NodeProto* n, const std::string& name, const std::string& v) {
    onnx::AttributeProto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto_AttributeType_STRING);
    a->set_s(v);
  }

 private:
  onnx::GraphProto& g_;
};

void set_window_attrs(onnx::NodeProto* n, const Layer& l) {
  Exporter::set_ints(n, "kernel_shape", {l.kernel_h, l.kernel_w});
  Exporter::set_ints(n, "strides", {l.stride_h, l.stride_w});
  Exporter::set_ints(n, "pads", {l.pad_top, l.pad_left, l.pad_bottom, l.pad_right});
}

void set_value_info(onnx::ValueInfoProto* vi, const std::string& name,
                    const std::vector<int64_t>& shape) {
  vi->set_name(name);
  onnx::TypeProto_Tensor* tt = vi->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx::TensorProto_DataType_FLOAT);
  onnx::TensorShapeProto* s = tt->mutable_shape();
  s->add_dim()->set_dim_param("N");
  for (int64_t d : shape) s->add_dim()->set_dim_value(d);
}

// Coefficient initializer shape: [1] for a scalar, else [C, 1, 1] for 4-D activations
// (broadcasts over N, H, W) or [C] for 2-D activations.
std::vector<int64_t> coeff_dims(const std::vector<float>& c, const std::vector<int64_t>& act) {
  const auto n = static_cast<int64_t>(c.size());
  if (n == 1) return {1};
  if (act.size() == 3) return {n, 1, 1};
  return {n};
}

// Block-ReLU with standard ops (docs/protocols.md "Block-ReLU", "ONNX form"): the channels are
// grouped by patch kind (groups in order of first appearance, channels ascending within a group);
// per group xg = Gather(x, channels, axis=1) and
//   identity: xg;   zero: Mul(xg, 0);   1x1: Relu(xg);
//   h x w:    Mul(xg, Slice(Resize(Cast(GreaterOrEqual(AveragePool(xg), 0), FLOAT),
//             scales [1, 1, h, w], nearest, asymmetric, floor), [0, 0] : [H, W] on axes 2, 3))
//             with AveragePool kernel = strides = [h, w], pads [0, 0, ceil(H/h) h - H,
//             ceil(W/w) w - W], count_include_pad = 1 (the mean over the zero-padded patch:
//             sign(mean) = sign(sum) for the cropped patch too); the Slice only when a side
//             is cropped;
// then Concat(groups, axis=1) and, unless the groups already list 0..C-1 in order, a Gather
// along axis 1 that puts every channel back in its place. The last node is named after the
// layer. nn::load_onnx recognises exactly this pattern.
void export_block_relu(Exporter& ex, const Layer& l, const std::string& name, const std::string& x,
                       const std::vector<int64_t>& in_shape, const std::string& out) {
  const int64_t H = in_shape.at(1), W = in_shape.at(2);
  std::vector<std::string> kinds;
  std::vector<std::vector<int64_t>> groups;
  for (size_t c = 0; c < l.block_patches.size(); ++c) {
    const std::string k = block_patch_name(l.block_patches[c]);
    const auto it = std::find(kinds.begin(), kinds.end(), k);
    if (it == kinds.end()) {
      kinds.push_back(k);
      groups.push_back({static_cast<int64_t>(c)});
    } else {
      groups[static_cast<size_t>(it - kinds.begin())].push_back(static_cast<int64_t>(c));
    }
  }
  std::vector<int64_t> order;
  for (const auto& g : groups) order.insert(order.end(), g.begin(), g.end());
  std::vector<int64_t> perm(order.size());
  for (size_t k = 0; k < order.size(); ++k)
    perm[static_cast<size_t>(order[k])] = static_cast<int64_t>(k);
  const bool permute = !std::is_sorted(order.begin(), order.end());
  const std::string zero = name + ".zero";
  ex.add_initializer(zero, {}, {0.0f});
  std::vector<std::string> parts;
  for (size_t g = 0; g < groups.size(); ++g) {
    const std::string p = name + "/g" + std::to_string(g);
    const BlockPatch bp = l.block_patches[static_cast<size_t>(groups[g][0])];
    ex.add_int_initializer(p + ".channels", groups[g]);
    Exporter::set_int(ex.add_node("Gather", p + "/gather", {x, p + ".channels"}, p + "/x"), "axis",
                      1);
    if (bp.kind == BlockPatch::Kind::Identity) {
      parts.push_back(p + "/x");
      continue;
    }
    parts.push_back(p + "/y");
    if (bp.kind == BlockPatch::Kind::Zero) {
      ex.add_node("Mul", p + "/zero", {p + "/x", zero}, p + "/y");
      continue;
    }
    if (bp.h == 1 && bp.w == 1) {
      ex.add_node("Relu", p + "/relu", {p + "/x"}, p + "/y");
      continue;
    }
    const int64_t pad_h = (H + bp.h - 1) / bp.h * bp.h - H,
                  pad_w = (W + bp.w - 1) / bp.w * bp.w - W;
    onnx::NodeProto* pool = ex.add_node("AveragePool", p + "/mean", {p + "/x"}, p + "/mean_out");
    Exporter::set_ints(pool, "kernel_shape", {bp.h, bp.w});
    Exporter::set_ints(pool, "strides", {bp.h, bp.w});
    Exporter::set_ints(pool, "pads", {0, 0, pad_h, pad_w});
    Exporter::set_int(pool, "count_include_pad", 1);
    ex.add_node("GreaterOrEqual", p + "/drelu", {p + "/mean_out", zero}, p + "/drelu_out");
    Exporter::set_int(ex.add_node("Cast", p + "/cast", {p + "/drelu_out"}, p + "/mask"), "to",
                      onnx::TensorProto_DataType_FLOAT);
    ex.add_initializer(p + ".scales", {4},
                       {1.0f, 1.0f, static_cast<float>(bp.h), static_cast<float>(bp.w)});
    onnx::NodeProto* up =
        ex.add_node("Resize", p + "/broadcast", {p + "/mask", "", p + ".scales"}, p + "/mask_up");
    Exporter::set_string(up, "mode", "nearest");
    Exporter::set_string(up, "coordinate_transformation_mode", "asymmetric");
    Exporter::set_string(up, "nearest_mode", "floor");
    std::string mask = p + "/mask_up";
    if (pad_h || pad_w) {
      ex.add_int_initializer(p + ".starts", {0, 0});
      ex.add_int_initializer(p + ".ends", {H, W});
      ex.add_int_initializer(p + ".axes", {2, 3});
      ex.add_node("Slice", p + "/crop", {mask, p + ".starts", p + ".ends", p + ".axes"},
                  p + "/mask_crop");
      mask = p + "/mask_crop";
    }
    ex.add_node("Mul", p + "/mux", {p + "/x", mask}, p + "/y");
  }
  const std::string cat = permute ? name + "/concat_out" : out;
  Exporter::set_int(ex.add_node("Concat", permute ? name + "/concat" : name, parts, cat), "axis",
                    1);
  if (permute) {
    ex.add_int_initializer(name + ".order", perm);
    Exporter::set_int(ex.add_node("Gather", name, {cat, name + ".order"}, out), "axis", 1);
  }
}

onnx::ModelProto to_model(const Network& in) {
  Network net = in;  // validated copy (out_shape needed for coefficient shapes)
  net.infer_shapes();
  if (net.layers.empty()) throw ModelError("save_onnx: network '" + net.name + "' has no layers");

  onnx::ModelProto m;
  m.set_ir_version(kIrVersion);
  m.set_producer_name("polympc");
  m.set_producer_version("0.1.0");
  onnx::OperatorSetIdProto* opset = m.add_opset_import();
  opset->set_domain("");
  opset->set_version(kOpsetVersion);
  onnx::GraphProto* g = m.mutable_graph();
  g->set_name(net.name.empty() ? "polympc" : net.name);
  Exporter ex(*g);

  std::vector<std::string> names(net.layers.size()), outs(net.layers.size());
  for (size_t i = 0; i < net.layers.size(); ++i) {
    names[i] = net.layers[i].name.empty() ? "layer" + std::to_string(i) : net.layers[i].name;
    outs[i] = i + 1 == net.layers.size() ? "logits" : names[i] + "_out";
  }
  set_value_info(g->add_input(), "input", net.input_shape);

  for (size_t i = 0; i < net.layers.size(); ++i) {
    const Layer& l = net.layers[i];
    const std::string& name = names[i];
    std::vector<std::string> x;
    std::vector<std::vector<int64_t>> x_shape;
    for (int p : net.producers(i)) {
      x.push_back(p < 0 ? "input" : outs[static_cast<size_t>(p)]);
      x_shape.push_back(p < 0 ? net.input_shape : net.layers[static_cast<size_t>(p)].out_shape);
    }
    switch (l.op) {
      case OpKind::Conv: {
        ex.add_initializer(name + ".weight", l.weight_shape, l.weight);
        std::vector<std::string> ins = {x[0], name + ".weight"};
        if (!l.bias.empty()) {
          ex.add_initializer(name + ".bias", {l.weight_shape[0]}, l.bias);
          ins.push_back(name + ".bias");
        }
        onnx::NodeProto* n = ex.add_node("Conv", name, ins, outs[i]);
        Exporter::set_ints(n, "dilations", {1, 1});
        Exporter::set_int(n, "group", 1);
        set_window_attrs(n, l);
        break;
      }
      case OpKind::Linear: {
        std::string a = x[0];
        if (x_shape[0].size() != 1) {  // Gemm needs [N, F]: flatten first
          a = name + "/flatten_out";
          Exporter::set_int(ex.add_node("Flatten", name + "/flatten", {x[0]}, a), "axis", 1);
        }
        ex.add_initializer(name + ".weight", l.weight_shape, l.weight);
        std::vector<std::string> ins = {a, name + ".weight"};
        if (!l.bias.empty()) {
          ex.add_initializer(name + ".bias", {l.weight_shape[0]}, l.bias);
          ins.push_back(name + ".bias");
        }
        Exporter::set_int(ex.add_node("Gemm", name, ins, outs[i]), "transB", 1);
        break;
      }
      case OpKind::Relu:
        ex.add_node("Relu", name, {x[0]}, outs[i]);
        break;
      case OpKind::Poly: {
        // y = (x*x)*a2 + x*a1 + a0
        const std::vector<int64_t>& s = x_shape[0];
        ex.add_initializer(name + ".a2", coeff_dims(l.poly_a2, s), l.poly_a2);
        ex.add_initializer(name + ".a1", coeff_dims(l.poly_a1, s), l.poly_a1);
        ex.add_initializer(name + ".a0", coeff_dims(l.poly_a0, s), l.poly_a0);
        ex.add_node("Mul", name + "/sq", {x[0], x[0]}, name + "/sq_out");
        ex.add_node("Mul", name + "/mul_a2", {name + "/sq_out", name + ".a2"},
                    name + "/mul_a2_out");
        ex.add_node("Mul", name + "/mul_a1", {x[0], name + ".a1"}, name + "/mul_a1_out");
        ex.add_node("Add", name + "/add", {name + "/mul_a2_out", name + "/mul_a1_out"},
                    name + "/add_out");
        ex.add_node("Add", name, {name + "/add_out", name + ".a0"}, outs[i]);
        break;
      }
      case OpKind::AvgPool: {
        onnx::NodeProto* n = ex.add_node("AveragePool", name, {x[0]}, outs[i]);
        set_window_attrs(n, l);
        // The IR divides by the full window (padding counted), docs/design.md §5.
        if (l.pad_top || l.pad_left || l.pad_bottom || l.pad_right)
          Exporter::set_int(n, "count_include_pad", 1);
        break;
      }
      case OpKind::MaxPool:
        set_window_attrs(ex.add_node("MaxPool", name, {x[0]}, outs[i]), l);
        break;
      case OpKind::GlobalAvgPool:
        ex.add_node("GlobalAveragePool", name, {x[0]}, outs[i]);
        break;
      case OpKind::Flatten:
        Exporter::set_int(ex.add_node("Flatten", name, {x[0]}, outs[i]), "axis", 1);
        break;
      case OpKind::Add:
        ex.add_node("Add", name, {x[0], x[1]}, outs[i]);
        break;
      case OpKind::BlockRelu:
        export_block_relu(ex, l, name, x[0], x_shape[0], outs[i]);
        break;
    }
  }
  set_value_info(g->add_output(), "logits", net.layers.back().out_shape);
  return m;
}

}  // namespace

void save_onnx(const Network& net, const std::string& path) { save_onnx(net, path, {}); }

void save_onnx(const Network& net, const std::string& path,
               const std::map<std::string, std::string>& metadata) {
  onnx::ModelProto m = to_model(net);
  std::map<std::string, std::string> meta = metadata;
  for (const LayerSetting* setting : {&kRingBits, &kFracBits}) {  // per-layer rings and scales travel with the model
    const std::string spec = layer_values_spec(net, *setting);
    if (!spec.empty() && !meta.count(setting->metadata)) meta[setting->metadata] = spec;
  }
  for (const auto& [key, value] : meta) {
    onnx::StringStringEntryProto* e = m.add_metadata_props();
    e->set_key(key);
    e->set_value(value);
  }
  std::string bytes;
  if (!m.SerializeToString(&bytes))
    throw ModelError("save_onnx: cannot serialize network '" + net.name + "'");
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) throw ModelError("save_onnx: cannot open '" + path + "' for writing");
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  f.close();
  if (!f) throw ModelError("save_onnx: write to '" + path + "' failed");
}

std::map<std::string, std::string> onnx_metadata(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw ModelError("cannot open ONNX file '" + path + "'");
  onnx::ModelProto m;
  if (!m.ParseFromIstream(&f)) throw ModelError("'" + path + "' is not a readable ONNX model");
  std::map<std::string, std::string> out;
  for (const auto& e : m.metadata_props()) out[e.key()] = e.value();
  return out;
}

}  // namespace polympc::nn
