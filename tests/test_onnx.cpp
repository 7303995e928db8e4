// ONNX import / export (docs/design.md §12):
//  * export -> import round trip reproduces the IR bit for bit;
//  * graphs written the ways exporters write them (built here with the onnx protobuf
//    classes) import to the expected layers: the polynomial pattern in its expanded,
//    Horner and Pow forms, BatchNormalization folding, Gemm/MatMul variants, the
//    Shape/Gather/Unsqueeze/Concat/Reshape chain, Pad before pools;
//  * the torch.onnx.export fixtures of scripts/make_onnx_fixtures.py import, and a
//    double-precision forward pass over the IR matches PyTorch's output;
//  * malformed files and unsupported nodes raise ModelError with a usable message.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "polympc/nn/ir.h"
#include "polympc/nn/onnx.h"
#include "ir_compare.h"
#include "polympc/nn/plain.h"
#include "test_networks.h"
#include "test_util.h"

namespace polympc::nn {
namespace {

// ---- double-precision reference forward over the IR (one sample, NCHW) -------------

using Tensor = std::vector<double>;
using polympc::testing::expect_same_ir;
using polympc::testing::same_bits;

Tensor conv_forward(const Layer& l, const Tensor& x, const std::vector<int64_t>& in,
                    const std::vector<int64_t>& out) {
  const int64_t cin = in[0], h = in[1], w = in[2];
  const int64_t cout = out[0], oh = out[1], ow = out[2];
  const int64_t kh = l.weight_shape[2], kw = l.weight_shape[3];
  Tensor y(static_cast<size_t>(cout * oh * ow));
  for (int64_t o = 0; o < cout; ++o)
    for (int64_t i = 0; i < oh; ++i)
      for (int64_t j = 0; j < ow; ++j) {
        double acc = l.bias.empty() ? 0.0 : l.bias[static_cast<size_t>(o)];
        for (int64_t c = 0; c < cin; ++c)
          for (int64_t a = 0; a < kh; ++a)
            for (int64_t b = 0; b < kw; ++b) {
              const int64_t r = i * l.stride_h - l.pad_top + a;
              const int64_t s = j * l.stride_w - l.pad_left + b;
              if (r < 0 || r >= h || s < 0 || s >= w) continue;
              acc += static_cast<double>(
                         l.weight[static_cast<size_t>(((o * cin + c) * kh + a) * kw + b)]) *
                     x[static_cast<size_t>((c * h + r) * w + s)];
            }
        y[static_cast<size_t>((o * oh + i) * ow + j)] = acc;
      }
  return y;
}

// AvgPool divides by the full window (zero padding counted); MaxPool skips padding.
Tensor pool_forward(const Layer& l, const Tensor& x, const std::vector<int64_t>& in,
                    const std::vector<int64_t>& out) {
  const int64_t h = in[1], w = in[2], oh = out[1], ow = out[2];
  const bool avg = l.op == OpKind::AvgPool;
  Tensor y(static_cast<size_t>(out[0] * oh * ow));
  for (int64_t c = 0; c < out[0]; ++c)
    for (int64_t i = 0; i < oh; ++i)
      for (int64_t j = 0; j < ow; ++j) {
        double acc = avg ? 0.0 : -INFINITY;
        for (int a = 0; a < l.kernel_h; ++a)
          for (int b = 0; b < l.kernel_w; ++b) {
            const int64_t r = i * l.stride_h - l.pad_top + a;
            const int64_t s = j * l.stride_w - l.pad_left + b;
            if (r < 0 || r >= h || s < 0 || s >= w) continue;
            const double v = x[static_cast<size_t>((c * h + r) * w + s)];
            acc = avg ? acc + v : std::max(acc, v);
          }
        y[static_cast<size_t>((c * oh + i) * ow + j)] = avg ? acc / (l.kernel_h * l.kernel_w) : acc;
      }
  return y;
}

Tensor forward(const Network& net, const Tensor& input) {
  std::vector<Tensor> outs(net.layers.size());
  for (size_t i = 0; i < net.layers.size(); ++i) {
    const Layer& l = net.layers[i];
    const std::vector<int> p = net.producers(i);
    auto in_t = [&](size_t k) -> const Tensor& {
      return p[k] < 0 ? input : outs[static_cast<size_t>(p[k])];
    };
    auto in_s = [&](size_t k) -> const std::vector<int64_t>& {
      return p[k] < 0 ? net.input_shape : net.layers[static_cast<size_t>(p[k])].out_shape;
    };
    const Tensor& x = in_t(0);
    Tensor y;
    switch (l.op) {
      case OpKind::Conv:
        y = conv_forward(l, x, in_s(0), l.out_shape);
        break;
      case OpKind::Linear: {
        const auto out = static_cast<size_t>(l.weight_shape[0]);
        const auto inn = static_cast<size_t>(l.weight_shape[1]);
        y.assign(out, 0.0);
        for (size_t o = 0; o < out; ++o) {
          double acc = l.bias.empty() ? 0.0 : l.bias[o];
          for (size_t k = 0; k < inn; ++k) acc += static_cast<double>(l.weight[o * inn + k]) * x[k];
          y[o] = acc;
        }
        break;
      }
      case OpKind::Relu:
        for (double v : x) y.push_back(v > 0 ? v : 0.0);
        break;
      case OpKind::Poly: {
        const std::vector<int64_t>& s = in_s(0);
        const size_t per = x.size() / static_cast<size_t>(s[0]);
        auto at = [](const std::vector<float>& c, size_t ch) {
          return static_cast<double>(c.size() == 1 ? c[0] : c[ch]);
        };
        for (size_t e = 0; e < x.size(); ++e) {
          const size_t ch = e / per;
          y.push_back(at(l.poly_a2, ch) * x[e] * x[e] + at(l.poly_a1, ch) * x[e] +
                      at(l.poly_a0, ch));
        }
        break;
      }
      case OpKind::AvgPool:
      case OpKind::MaxPool:
        y = pool_forward(l, x, in_s(0), l.out_shape);
        break;
      case OpKind::GlobalAvgPool: {
        const size_t c = static_cast<size_t>(in_s(0)[0]), per = x.size() / c;
        for (size_t ch = 0; ch < c; ++ch) {
          double acc = 0;
          for (size_t e = 0; e < per; ++e) acc += x[ch * per + e];
          y.push_back(acc / static_cast<double>(per));
        }
        break;
      }
      case OpKind::Flatten:
        y = x;
        break;
      case OpKind::Add: {
        const Tensor& z = in_t(1);
        for (size_t e = 0; e < x.size(); ++e) y.push_back(x[e] + z[e]);
        break;
      }
      case OpKind::BlockRelu: {
        // x where the sum over the element's (cropped) patch is >= 0, else 0.
        const int64_t h = in_s(0)[1], w = in_s(0)[2];
        y.assign(x.size(), 0.0);
        for (size_t c = 0; c < l.block_patches.size(); ++c) {
          const BlockPatch& bp = l.block_patches[c];
          const auto at = [&](int64_t r, int64_t s) {
            return (static_cast<int64_t>(c) * h + r) * w + s;
          };
          for (int64_t r = 0; r < h; ++r)
            for (int64_t s = 0; s < w; ++s) {
              const auto e = static_cast<size_t>(at(r, s));
              if (bp.kind == BlockPatch::Kind::Identity) y[e] = x[e];
              if (bp.kind != BlockPatch::Kind::Rect) continue;
              double sum = 0;
              for (int64_t a = r - r % bp.h; a < std::min<int64_t>(r - r % bp.h + bp.h, h); ++a)
                for (int64_t b = s - s % bp.w; b < std::min<int64_t>(s - s % bp.w + bp.w, w); ++b)
                  sum += x[static_cast<size_t>(at(a, b))];
              if (sum >= 0) y[e] = x[e];
            }
        }
        break;
      }
    }
    EXPECT_EQ(static_cast<int64_t>(y.size()), net.out_size(i)) << l.name;
    outs[i] = std::move(y);
  }
  return outs.back();
}

// ---- helpers ------------------------------------------------------------------------

std::string data_path(const std::string& name) {
  return std::string(POLYMPC_TEST_DATA_DIR) + "/" + name;
}

std::string temp_path(const std::string& name) {
  return std::string(POLYMPC_BINARY_DIR) + "/test_onnx_" + name;
}

std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

std::vector<std::string> ops(const Network& net) {
  std::vector<std::string> r;
  for (const Layer& l : net.layers) r.emplace_back(op_name(l.op));
  return r;
}


// Expects `f` to throw ModelError with every fragment in its message.
template <class F>
void expect_model_error(F&& f, std::initializer_list<std::string> fragments) {
  polympc::testing::expect_error<ModelError>(f, fragments);
}

std::vector<float> random_floats(size_t n, std::mt19937& rng, float scale = 0.5f) {
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

// ---- a small ONNX graph builder (for the pattern variants) --------------------------

class GraphBuilder {
 public:
  /// dims[0] < 0 makes the batch dimension symbolic ("N").
  explicit GraphBuilder(const std::vector<int64_t>& input_dims, int64_t opset = 13) {
    m_.set_ir_version(8);
    auto* op = m_.add_opset_import();
    op->set_domain("");
    op->set_version(opset);
    g_ = m_.mutable_graph();
    g_->set_name("test");
    auto* in = g_->add_input();
    in->set_name("x");
    auto* tt = in->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto_DataType_FLOAT);
    for (int64_t d : input_dims) {
      auto* dim = tt->mutable_shape()->add_dim();
      if (d < 0)
        dim->set_dim_param("N");
      else
        dim->set_dim_value(d);
    }
  }
  void init(const std::string& name, const std::vector<int64_t>& dims, const std::vector<float>& v,
            bool raw = false) {
    onnx::TensorProto* t = g_->add_initializer();
    fill(t, name, dims, v, raw);
  }
  void init_i64(const std::string& name, const std::vector<int64_t>& dims,
                const std::vector<int64_t>& v) {
    onnx::TensorProto* t = g_->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto_DataType_INT64);
    for (int64_t d : dims) t->add_dims(d);
    for (int64_t x : v) t->add_int64_data(x);
  }
  onnx::NodeProto* node(const std::string& op, const std::vector<std::string>& ins,
                        const std::string& out, const std::string& name = "") {
    onnx::NodeProto* n = g_->add_node();
    n->set_op_type(op);
    n->set_name(name.empty() ? out + "_node" : name);
    for (const auto& i : ins) n->add_input(i);
    n->add_output(out);
    return n;
  }
  void constant(const std::string& out, const std::vector<int64_t>& dims,
                const std::vector<float>& v) {
    onnx::NodeProto* n = node("Constant", {}, out);
    onnx::AttributeProto* a = n->add_attribute();
    a->set_name("value");
    a->set_type(onnx::AttributeProto_AttributeType_TENSOR);
    fill(a->mutable_t(), "", dims, v, false);
  }
  void constant_i64(const std::string& out, const std::vector<int64_t>& dims,
                    const std::vector<int64_t>& v) {
    onnx::NodeProto* n = node("Constant", {}, out);
    onnx::AttributeProto* a = n->add_attribute();
    a->set_name("value");
    a->set_type(onnx::AttributeProto_AttributeType_TENSOR);
    onnx::TensorProto* t = a->mutable_t();
    t->set_data_type(onnx::TensorProto_DataType_INT64);
    for (int64_t d : dims) t->add_dims(d);
    for (int64_t x : v) t->add_int64_data(x);
  }
  static void ints(onnx::NodeProto* n, const std::string& name, const std::vector<int64_t>& v) {
    onnx::AttributeProto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto_AttributeType_INTS);
    for (int64_t x : v) a->add_ints(x);
  }
  static void i(onnx::NodeProto* n, const std::string& name, int64_t v) {
    onnx::AttributeProto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto_AttributeType_INT);
    a->set_i(v);
  }
  static void f(onnx::NodeProto* n, const std::string& name, float v) {
    onnx::AttributeProto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto_AttributeType_FLOAT);
    a->set_f(v);
  }
  static void s(onnx::NodeProto* n, const std::string& name, const std::string& v) {
    onnx::AttributeProto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto_AttributeType_STRING);
    a->set_s(v);
  }
  /// An initializer with arbitrary (crafted) dims and no data; the caller fills it in.
  onnx::TensorProto* tensor(const std::string& name, const std::vector<int64_t>& dims,
                            int data_type = onnx::TensorProto_DataType_FLOAT) {
    onnx::TensorProto* t = g_->add_initializer();
    t->set_name(name);
    t->set_data_type(data_type);
    for (int64_t d : dims) t->add_dims(d);
    return t;
  }
  void output(const std::string& name) { g_->add_output()->set_name(name); }
  std::string bytes() const {
    std::string b;
    m_.SerializeToString(&b);
    return b;
  }
  Network parse() const { return parse_onnx(bytes(), "test.onnx"); }

 private:
  static void fill(onnx::TensorProto* t, const std::string& name, const std::vector<int64_t>& dims,
                   const std::vector<float>& v, bool raw) {
    t->set_name(name);
    t->set_data_type(onnx::TensorProto_DataType_FLOAT);
    for (int64_t d : dims) t->add_dims(d);
    if (raw) {
      std::string b(v.size() * 4, '\0');
      for (size_t k = 0; k < v.size(); ++k) {
        uint32_t u;
        std::memcpy(&u, &v[k], 4);
        for (int j = 0; j < 4; ++j) b[k * 4 + j] = static_cast<char>((u >> (8 * j)) & 0xff);
      }
      t->set_raw_data(b);
    } else {
      for (float x : v) t->add_float_data(x);
    }
  }
  onnx::ModelProto m_;
  onnx::GraphProto* g_ = nullptr;
};

// ---- round trip -----------------------------------------------------------------------

Layer make_conv(const std::string& name, int64_t cout, int64_t cin, int k, std::mt19937& rng) {
  Layer l;
  l.name = name;
  l.op = OpKind::Conv;
  l.weight_shape = {cout, cin, k, k};
  l.weight = random_floats(static_cast<size_t>(cout * cin * k * k), rng);
  l.bias = random_floats(static_cast<size_t>(cout), rng);
  l.kernel_h = l.kernel_w = k;
  return l;
}

Layer make_poly(const std::string& name, size_t n2, size_t n1, size_t n0, std::mt19937& rng) {
  Layer l;
  l.name = name;
  l.op = OpKind::Poly;
  l.poly_a2 = random_floats(n2, rng, 0.1f);
  l.poly_a1 = random_floats(n1, rng, 1.0f);
  l.poly_a0 = random_floats(n0, rng, 0.1f);
  return l;
}

Network round_trip_net() {
  std::mt19937 rng(7);
  Network net;
  net.name = "roundtrip";
  net.input_shape = {3, 10, 9};
  Layer c1 = make_conv("conv1", 4, 3, 3, rng);
  c1.pad_top = 1;
  c1.pad_left = 2;
  c1.pad_bottom = 0;
  c1.pad_right = 1;
  net.layers.push_back(c1);                               // 0: 4x8x9
  net.layers.push_back(make_poly("act1", 4, 1, 4, rng));  // 1
  Layer ap;
  ap.name = "pool1";
  ap.op = OpKind::AvgPool;
  ap.kernel_h = ap.kernel_w = 2;
  ap.stride_h = ap.stride_w = 2;
  ap.pad_right = 1;
  net.layers.push_back(ap);  // 2: 4x4x5
  Layer c2 = make_conv("conv2", 4, 4, 3, rng);
  c2.pad_top = c2.pad_left = c2.pad_bottom = c2.pad_right = 1;
  c2.bias.clear();
  net.layers.push_back(c2);  // 3: 4x4x5
  Layer add;
  add.name = "res";
  add.op = OpKind::Add;
  add.inputs = {3, 2};
  net.layers.push_back(add);  // 4
  Layer relu;
  relu.name = "relu";
  relu.op = OpKind::Relu;
  net.layers.push_back(relu);  // 5
  Layer mp;
  mp.name = "pool2";
  mp.op = OpKind::MaxPool;
  mp.kernel_h = 3;
  mp.kernel_w = 2;
  mp.stride_h = 1;
  mp.stride_w = 2;
  mp.pad_top = mp.pad_bottom = 1;
  net.layers.push_back(mp);                               // 6: 4x4x2
  net.layers.push_back(make_poly("act2", 1, 4, 1, rng));  // 7
  Layer gap;
  gap.name = "gap";
  gap.op = OpKind::GlobalAvgPool;
  Layer flat;
  flat.name = "flatten";
  flat.op = OpKind::Flatten;
  net.layers.push_back(flat);  // 8: 32
  Layer fc;
  fc.name = "fc1";
  fc.op = OpKind::Linear;
  fc.weight_shape = {6, 32};
  fc.weight = random_floats(6 * 32, rng);
  fc.bias = random_floats(6, rng);
  net.layers.push_back(fc);                               // 9
  net.layers.push_back(make_poly("act3", 6, 6, 1, rng));  // 10 (per-feature)
  Layer fc2 = fc;
  fc2.name = "fc2";
  fc2.weight_shape = {3, 6};
  fc2.weight = random_floats(3 * 6, rng);
  fc2.bias.clear();
  net.layers.push_back(fc2);  // 11
  net.infer_shapes();
  return net;
}


TEST(OnnxRoundTrip, ExportImportIsExact) {
  const Network net = round_trip_net();
  const std::string path = temp_path("roundtrip.onnx");
  save_onnx(net, path);
  const Network back = load_onnx(path);
  expect_same_ir(net, back);
  std::remove(path.c_str());
}

TEST(OnnxRoundTrip, ExportedGraphLayout) {
  const Network net = round_trip_net();
  const std::string path = temp_path("layout.onnx");
  save_onnx(net, path);
  onnx::ModelProto m;
  ASSERT_TRUE(m.ParseFromString(read_bytes(path)));
  std::remove(path.c_str());
  EXPECT_EQ(m.ir_version(), 8);
  ASSERT_EQ(m.opset_import_size(), 1);
  EXPECT_EQ(m.opset_import(0).version(), 13);
  const auto& g = m.graph();
  ASSERT_EQ(g.input_size(), 1);
  EXPECT_EQ(g.input(0).name(), "input");
  const auto& shape = g.input(0).type().tensor_type().shape();
  ASSERT_EQ(shape.dim_size(), 4);
  EXPECT_EQ(shape.dim(0).dim_param(), "N");
  EXPECT_EQ(shape.dim(1).dim_value(), 3);
  EXPECT_EQ(shape.dim(2).dim_value(), 10);
  EXPECT_EQ(shape.dim(3).dim_value(), 9);
  ASSERT_EQ(g.output_size(), 1);
  EXPECT_EQ(g.output(0).name(), "logits");
  std::vector<std::string> op_types;
  for (const auto& n : g.node()) op_types.push_back(n.op_type());
  const std::vector<std::string> want = {"Conv",        "Mul",  "Mul", "Mul",  "Add",     "Add",
                                         "AveragePool", "Conv", "Add", "Relu", "MaxPool", "Mul",
                                         "Mul",         "Mul",  "Add", "Add",  "Flatten", "Gemm",
                                         "Mul",         "Mul",  "Mul", "Add",  "Add",     "Gemm"};
  EXPECT_EQ(op_types, want);
  std::map<std::string, std::vector<int64_t>> dims;
  for (const auto& t : g.initializer())
    dims[t.name()] = std::vector<int64_t>(t.dims().begin(), t.dims().end());
  EXPECT_EQ(dims["conv1.weight"], (std::vector<int64_t>{4, 3, 3, 3}));
  EXPECT_EQ(dims["act1.a2"], (std::vector<int64_t>{4, 1, 1}));
  EXPECT_EQ(dims["act1.a1"], (std::vector<int64_t>{1}));
  EXPECT_EQ(dims["act3.a2"], (std::vector<int64_t>{6}));
  EXPECT_EQ(dims["fc1.weight"], (std::vector<int64_t>{6, 32}));
  EXPECT_EQ(dims.count("fc2.bias"), 0u);
}

// ---- Block-ReLU with standard ops (docs/protocols.md "Block-ReLU", ONNX form) ---------

/// input [5, 5, 5] -> Block-ReLU with the given patches (5 channels; 2x2 patches cropped at
/// the border) -> flatten -> linear 3.
Network block_net(const std::vector<std::string>& patches) {
  std::mt19937 rng(21);
  Network net;
  net.name = "block";
  net.input_shape = {5, 5, 5};
  Layer b;
  b.name = "blk";
  b.op = OpKind::BlockRelu;
  for (const std::string& p : patches) b.block_patches.push_back(parse_block_patch(p));
  net.layers.push_back(b);
  Layer f;
  f.name = "flatten";
  f.op = OpKind::Flatten;
  net.layers.push_back(f);
  Layer fc;
  fc.name = "fc";
  fc.op = OpKind::Linear;
  fc.weight_shape = {3, 125};
  fc.weight = random_floats(3 * 125, rng);
  fc.bias = random_floats(3, rng);
  net.layers.push_back(fc);
  net.infer_shapes();
  return net;
}

TEST(OnnxBlockRelu, RoundTripOfEveryPatchKindAndChannelOrder) {
  std::vector<Network> nets = {block_net({"2x2", "identity", "2x2", "zero", "relu"}),
                               block_net({"1x1", "1x1", "1x1", "1x1", "1x1"}),
                               block_net({"zero", "3x2", "8x8", "identity", "5x5"}),
                               polympc::testing::block_relu_cnn()};
  std::mt19937 rng(5);
  for (const Network& net : nets) {
    SCOPED_TRACE(net.name + " " +
                 block_patch_name(net.layers[net.layers.size() > 3 ? 1 : 0].block_patches[0]));
    const std::string path = temp_path("block.onnx");
    save_onnx(net, path);
    const Network back = load_onnx(path);
    std::remove(path.c_str());
    expect_same_ir(net, back);
    // The float semantics: the imported network computes the definition.
    const std::vector<float> x = random_floats(static_cast<size_t>(net.input_size()), rng);
    const Tensor ref = forward(net, Tensor(x.begin(), x.end()));
    const std::vector<float> y = float_forward(back, x.data(), 1);
    ASSERT_EQ(y.size(), ref.size());
    for (size_t k = 0; k < y.size(); ++k) EXPECT_NEAR(y[k], ref[k], 1e-4) << k;
  }
}

onnx::ModelProto block_model() {
  const std::string path = temp_path("block_model.onnx");
  save_onnx(block_net({"2x2", "identity", "2x2", "zero", "relu"}), path);
  onnx::ModelProto m;
  EXPECT_TRUE(m.ParseFromString(read_bytes(path)));
  std::remove(path.c_str());
  return m;
}
onnx::NodeProto& node_named(onnx::ModelProto& m, const std::string& name) {
  for (auto& n : *m.mutable_graph()->mutable_node())
    if (n.name() == name) return n;
  ADD_FAILURE() << "no node " << name;
  return *m.mutable_graph()->mutable_node(0);
}
onnx::AttributeProto& attr_named(onnx::NodeProto& n, const std::string& name) {
  for (auto& a : *n.mutable_attribute())
    if (a.name() == name) return a;
  onnx::AttributeProto* a = n.add_attribute();
  a->set_name(name);
  return *a;
}
void set_ints(onnx::NodeProto& n, const std::string& name, const std::vector<int64_t>& v) {
  onnx::AttributeProto& a = attr_named(n, name);
  a.set_type(onnx::AttributeProto_AttributeType_INTS);
  a.clear_ints();
  for (int64_t x : v) a.add_ints(x);
}
onnx::TensorProto& init_named(onnx::ModelProto& m, const std::string& name) {
  for (auto& t : *m.mutable_graph()->mutable_initializer())
    if (t.name() == name) return t;
  ADD_FAILURE() << "no initializer " << name;
  return *m.mutable_graph()->mutable_initializer(0);
}
void set_int_data(onnx::ModelProto& m, const std::string& name, const std::vector<int64_t>& v) {
  onnx::TensorProto& t = init_named(m, name);
  t.clear_int64_data();
  t.clear_dims();
  t.add_dims(static_cast<int64_t>(v.size()));
  for (int64_t x : v) t.add_int64_data(x);
}
void set_float_data(onnx::ModelProto& m, const std::string& name, const std::vector<float>& v) {
  onnx::TensorProto& t = init_named(m, name);
  t.clear_raw_data();
  t.clear_float_data();
  for (float x : v) t.add_float_data(x);
}

TEST(OnnxBlockRelu, ExportedGraphUsesStandardOpsOnly) {
  onnx::ModelProto m = block_model();
  std::vector<std::string> op_types;
  for (const auto& n : m.graph().node()) op_types.push_back(n.op_type());
  const std::vector<std::string> want = {
      "Gather",  "AveragePool", "GreaterOrEqual", "Cast", "Resize", "Slice", "Mul",  // 2x2: 0, 2
      "Gather",                                                                      // identity: 1
      "Gather",  "Mul",                                                              // zero: 3
      "Gather",  "Relu",                                                             // 1x1: 4
      "Concat",  "Gather",  // groups [0, 2, 1, 3, 4], then back in order
      "Flatten", "Gemm"};
  EXPECT_EQ(op_types, want);
  onnx::NodeProto& pool = node_named(m, "blk/g0/mean");
  EXPECT_EQ(std::vector<int64_t>(attr_named(pool, "pads").ints().begin(),
                                 attr_named(pool, "pads").ints().end()),
            (std::vector<int64_t>{0, 0, 1, 1}));
  EXPECT_EQ(attr_named(pool, "count_include_pad").i(), 1);
  EXPECT_EQ(node_named(m, "blk").op_type(), "Gather");
  EXPECT_EQ(std::vector<int64_t>(init_named(m, "blk.order").int64_data().begin(),
                                 init_named(m, "blk.order").int64_data().end()),
            (std::vector<int64_t>{0, 2, 1, 3, 4}));
}

TEST(OnnxBlockRelu, MalformedPatternsAreClearErrors) {
  using Mutation = std::function<void(onnx::ModelProto&)>;
  auto expect_rejected = [](const Mutation& mutate, std::initializer_list<std::string> fragments) {
    onnx::ModelProto m = block_model();
    mutate(m);
    std::string bytes;
    ASSERT_TRUE(m.SerializeToString(&bytes));
    expect_model_error([&] { parse_onnx(bytes, "block.onnx"); }, fragments);
  };
  expect_rejected(
      [](auto& m) {
        set_ints(node_named(m, "blk/g0/mean"), "strides", {1, 1});
      },
      {"node 'blk/g0/mean' (AveragePool)", "must equal kernel_shape"});
  expect_rejected(
      [](auto& m) {
        set_ints(node_named(m, "blk/g0/mean"), "kernel_shape", {9, 9});
        set_ints(node_named(m, "blk/g0/mean"), "strides", {9, 9});
      },
      {"patch side must be in 1..8"});
  expect_rejected(
      [](auto& m) {
        set_ints(node_named(m, "blk/g0/mean"), "pads", {0, 0, 0, 0});
      },
      {"pads [0, 0, 0, 0] must be [0, 0, 1, 1]"});
  expect_rejected([](auto& m) { set_float_data(m, "blk.zero", {1.0f}); },
                  {"(GreaterOrEqual)", "must be the scalar 0"});
  expect_rejected([](auto& m) { node_named(m, "blk/g0/drelu").set_op_type("Greater"); },
                  {"(Greater)", "cannot continue"});
  expect_rejected(
      [](auto& m) {
        set_float_data(m, "blk/g0.scales", {1, 1, 2, 3});
      },
      {"(Resize)", "must be [1, 1, 2, 2]"});
  expect_rejected(
      [](auto& m) {
        attr_named(node_named(m, "blk/g0/broadcast"), "coordinate_transformation_mode")
            .set_s("align_corners");
      },
      {"does not repeat each patch's DReLU"});
  expect_rejected(
      [](auto& m) {
        set_int_data(m, "blk/g0.ends", {4, 5});
      },
      {"(Mul)", "the DReLU mask is [2, 4, 5]", "crop"});
  expect_rejected([](auto& m) { node_named(m, "blk/g0/mux").set_input(1, "blk/g0/mask_up"); },
                  {"the DReLU mask is [2, 6, 6]"});
  expect_rejected([](auto& m) { set_int_data(m, "blk/g1.channels", {7}); },
                  {"(Gather)", "out of range for 5 channels"});
  expect_rejected([](auto& m) { set_int_data(m, "blk/g1.channels", {0}); },
                  {"(Concat)", "channel 0 2 times"});
  expect_rejected([](auto& m) { node_named(m, "blk/g2/zero").set_input(0, "blk/g1/x"); },
                  {"channel 1 2 times"});
  expect_rejected(
      [](auto& m) {
        set_int_data(m, "blk.order", {0, 1, 2, 3, 4});
      },
      {"node 'blk' (Gather)", "keeps every channel in its place"});
  expect_rejected(
      [](auto& m) {
        auto* ins = node_named(m, "blk/concat").mutable_input();
        ins->erase(ins->begin() + 1);
      },
      {"channel 1 0 times"});
  expect_rejected([](auto& m) { node_named(m, "blk/g2/zero").set_input(1, "blk/g0/mask_crop"); },
                  {"node 'blk/g2/zero' (Mul)", "of other channels"});
  expect_rejected([](auto& m) { node_named(m, "flatten").set_input(0, "blk/g3/y"); },
                  {"(Flatten)", "masked channel group", "cannot continue"});
  expect_rejected([](auto& m) { m.mutable_graph()->mutable_output(0)->set_name("blk/concat_out"); },
                  {"Block-ReLU pattern ends early"});
  // Gather along other axes of an activation stays unsupported.
  expect_rejected([](auto& m) { attr_named(node_named(m, "blk/g1/gather"), "axis").set_i(2); },
                  {"only along the channels (axis=1)"});
}

TEST(OnnxRoundTrip, FlatInputAndImplicitFlatten) {
  std::mt19937 rng(3);
  Network net;
  net.input_shape = {2, 3, 3};
  net.layers.push_back(make_conv("c", 2, 2, 1, rng));
  Layer fc;  // Linear straight on a [C, H, W] activation: exported with a Flatten
  fc.name = "fc";
  fc.op = OpKind::Linear;
  fc.weight_shape = {4, 18};
  fc.weight = random_floats(72, rng);
  net.layers.push_back(fc);
  net.infer_shapes();
  const std::string path = temp_path("implicit.onnx");
  save_onnx(net, path);
  const Network back = load_onnx(path);
  std::remove(path.c_str());
  EXPECT_EQ(ops(back), (std::vector<std::string>{"Conv", "Flatten", "Linear"}));
  const Tensor x(18, 0.25);
  const Tensor a = forward(net, x), b = forward(back, x);
  ASSERT_EQ(a.size(), b.size());
  for (size_t k = 0; k < a.size(); ++k) EXPECT_DOUBLE_EQ(a[k], b[k]);

  Network mlp;
  mlp.input_shape = {5};
  Layer l1;
  l1.name = "l1";
  l1.op = OpKind::Linear;
  l1.weight_shape = {3, 5};
  l1.weight = random_floats(15, rng);
  l1.bias = random_floats(3, rng);
  mlp.layers.push_back(l1);
  mlp.layers.push_back(make_poly("p", 3, 1, 3, rng));
  mlp.infer_shapes();
  save_onnx(mlp, path);
  const Network mlp_back = load_onnx(path);
  std::remove(path.c_str());
  expect_same_ir(mlp, mlp_back);
}

TEST(OnnxRoundTrip, SaveErrors) {
  Network net = round_trip_net();
  expect_model_error([&] { save_onnx(net, "/nonexistent-dir/x.onnx"); },
                     {"/nonexistent-dir/x.onnx"});
  net.layers[9].weight.pop_back();
  expect_model_error([&] { save_onnx(net, temp_path("bad.onnx")); }, {"'fc1'"});
}

// ---- polynomial pattern variants ------------------------------------------------------

// x: [N, 2, 3, 3] -> Conv 1x1 (2 -> 2) "conv" -> <poly graph on "c"> -> output "y".
GraphBuilder conv_prefix() {
  GraphBuilder b({-1, 2, 3, 3});
  b.init("w", {2, 2, 1, 1}, {1.0f, 0.5f, -0.25f, 2.0f});
  b.init("bias", {2}, {0.1f, -0.2f});
  b.node("Conv", {"x", "w", "bias"}, "c", "conv");
  return b;
}

void expect_poly(const Network& net, size_t idx, std::vector<float> a2, std::vector<float> a1,
                 std::vector<float> a0) {
  ASSERT_LT(idx, net.layers.size());
  const Layer& l = net.layers[idx];
  ASSERT_EQ(l.op, OpKind::Poly) << l.name;
  EXPECT_EQ(l.poly_a2, a2) << l.name;
  EXPECT_EQ(l.poly_a1, a1) << l.name;
  EXPECT_EQ(l.poly_a0, a0) << l.name;
}

TEST(OnnxPoly, ExpandedAnyOrder) {
  // y = b + (x * (a2 * x)) + (x * a1), coefficients per channel [1, C, 1, 1] / [C, 1, 1]
  GraphBuilder b = conv_prefix();
  b.init("a2", {1, 2, 1, 1}, {0.5f, 0.25f});
  b.init("a1", {2, 1, 1}, {1.0f, 2.0f});
  b.init("a0", {}, {0.125f});
  b.node("Mul", {"a2", "c"}, "t1");
  b.node("Mul", {"c", "t1"}, "t2");
  b.node("Mul", {"c", "a1"}, "t3");
  b.node("Add", {"a0", "t2"}, "t4");
  b.node("Add", {"t4", "t3"}, "y", "act");
  b.output("y");
  const Network net = b.parse();
  EXPECT_EQ(ops(net), (std::vector<std::string>{"Conv", "Poly"}));
  expect_poly(net, 1, {0.5f, 0.25f}, {1.0f, 2.0f}, {0.125f});
  EXPECT_EQ(net.layers[1].name, "act");
}

TEST(OnnxPoly, ExpandedPerChannelTimesScalar) {
  // torch: s * w0 * x * x + w1 * x + b without constant folding: Mul(s, w0) on constants
  GraphBuilder b = conv_prefix();
  b.init("s", {}, {0.5f});
  b.init("w0", {2, 1, 1}, {0.25f, -1.0f});
  b.init("w1", {2, 1, 1}, {1.0f, 0.75f});
  b.init("bb", {2, 1, 1}, {0.0f, 0.5f}, /*raw=*/true);
  b.node("Mul", {"s", "w0"}, "sw0");
  b.node("Mul", {"sw0", "c"}, "t1");
  b.node("Mul", {"t1", "c"}, "t2");
  b.node("Mul", {"w1", "c"}, "t3");
  b.node("Add", {"t2", "t3"}, "t4");
  b.node("Add", {"t4", "bb"}, "y");
  b.output("y");
  const Network net = b.parse();
  expect_poly(net, 1, {0.125f, -0.5f}, {1.0f, 0.75f}, {0.0f, 0.5f});
}

TEST(OnnxPoly, Horner) {
  // y = x * (a2 * x + a1) + a0
  GraphBuilder b = conv_prefix();
  b.constant("a2", {}, {0.5f});
  b.constant("a1", {1}, {1.5f});
  b.constant("a0", {1, 1, 1}, {-0.25f});
  b.node("Mul", {"c", "a2"}, "t1");
  b.node("Add", {"a1", "t1"}, "t2");
  b.node("Mul", {"t2", "c"}, "t3");
  b.node("Add", {"t3", "a0"}, "y");
  b.output("y");
  const Network net = b.parse();
  expect_poly(net, 1, {0.5f}, {1.5f}, {-0.25f});
}

TEST(OnnxPoly, PowMissingTerms) {
  // y = a2 * Pow(x, 2) (no linear or constant term)
  GraphBuilder b = conv_prefix();
  b.init("two", {}, {2.0f});
  b.init("a2", {2, 1, 1}, {0.5f, 0.25f});
  b.node("Pow", {"c", "two"}, "sq");
  b.node("Mul", {"sq", "a2"}, "y");
  b.output("y");
  const Network net = b.parse();
  expect_poly(net, 1, {0.5f, 0.25f}, {0.0f}, {0.0f});
}

TEST(OnnxPoly, SquarePlusConstant) {
  // y = x * x + a0 (a1 missing)
  GraphBuilder b = conv_prefix();
  b.init("a0", {1}, {0.75f});
  b.node("Mul", {"c", "c"}, "sq");
  b.node("Add", {"sq", "a0"}, "y");
  b.output("y");
  const Network net = b.parse();
  expect_poly(net, 1, {1.0f}, {0.0f}, {0.75f});
}

TEST(OnnxPoly, StandaloneMulIsAffine) {
  GraphBuilder b = conv_prefix();
  b.init("k", {2, 1, 1}, {3.0f, -2.0f});
  b.node("Mul", {"k", "c"}, "m");
  b.node("Relu", {"m"}, "y", "relu");
  b.output("y");
  const Network net = b.parse();
  EXPECT_EQ(ops(net), (std::vector<std::string>{"Conv", "Poly", "Relu"}));
  expect_poly(net, 1, {0.0f}, {3.0f, -2.0f}, {0.0f});
  EXPECT_EQ(net.layers[1].name, "m_node");
}

TEST(OnnxPoly, SubAndDiv) {
  // y = (x*x - x) / 4 - 1
  GraphBuilder b = conv_prefix();
  b.init("four", {}, {4.0f});
  b.init("one", {}, {1.0f});
  b.node("Mul", {"c", "c"}, "sq");
  b.node("Sub", {"sq", "c"}, "d");
  b.node("Div", {"d", "four"}, "q");
  b.node("Sub", {"q", "one"}, "y");
  b.output("y");
  const Network net = b.parse();
  expect_poly(net, 1, {0.25f}, {-0.25f}, {-1.0f});
}

TEST(OnnxPoly, OnTwoDActivationPerFeature) {
  GraphBuilder b({-1, 3});
  b.init("W", {2, 3}, {1, 2, 3, 4, 5, 6});
  b.init("a2", {2}, {0.5f, 0.25f});
  b.init("a1", {1, 2}, {1.0f, 2.0f});
  auto* g = b.node("Gemm", {"x", "W"}, "h", "fc");
  GraphBuilder::i(g, "transB", 1);
  b.node("Mul", {"h", "h"}, "sq");
  b.node("Mul", {"sq", "a2"}, "t");
  b.node("Mul", {"h", "a1"}, "u");
  b.node("Add", {"t", "u"}, "y");
  b.output("y");
  const Network net = b.parse();
  EXPECT_EQ(ops(net), (std::vector<std::string>{"Linear", "Poly"}));
  expect_poly(net, 1, {0.5f, 0.25f}, {1.0f, 2.0f}, {0.0f});
}

TEST(OnnxPoly, PolyFeedsResidualAndLayer) {
  // A polynomial read by two consumers becomes one Poly layer.
  GraphBuilder b = conv_prefix();
  b.init("a2", {}, {0.5f});
  b.node("Mul", {"c", "c"}, "sq");
  b.node("Mul", {"sq", "a2"}, "p", "poly");
  b.node("Relu", {"p"}, "r", "relu");
  b.node("Add", {"r", "p"}, "y", "res");
  b.output("y");
  const Network net = b.parse();
  EXPECT_EQ(ops(net), (std::vector<std::string>{"Conv", "Poly", "Relu", "Add"}));
  EXPECT_EQ(net.producers(3), (std::vector<int>{2, 1}));
}

TEST(OnnxPoly, Errors) {
  {
    GraphBuilder b = conv_prefix();
    b.node("Mul", {"c", "c"}, "sq");
    b.node("Mul", {"sq", "c"}, "y", "cube");
    b.output("y");
    expect_model_error([&] { b.parse(); }, {"node 'cube' (Mul)", "degree > 2"});
  }
  {
    GraphBuilder b = conv_prefix();
    b.init("k", {3}, {1, 2, 3});  // broadcasts along W, not per channel
    b.node("Mul", {"c", "k"}, "y", "wmul");
    b.output("y");
    expect_model_error([&] { b.parse(); }, {"node 'wmul' (Mul)", "per channel"});
  }
  {
    GraphBuilder b = conv_prefix();
    b.node("Relu", {"c"}, "r", "relu");
    b.node("Mul", {"c", "r"}, "y", "gate");
    b.output("y");
    expect_model_error([&] { b.parse(); }, {"node 'gate' (Mul)", "two different activations"});
  }
}

// ---- BatchNormalization, Gemm / MatMul, reshape chain ---------------------------------

TEST(OnnxImport, BatchNormFoldsIntoConv) {
  GraphBuilder b = conv_prefix();
  b.init("g", {2}, {2.0f, 0.5f});
  b.init("beta", {2}, {1.0f, -1.0f});
  b.init("mean", {2}, {0.5f, 0.25f});
  b.init("var", {2}, {3.0f, 0.0f});
  auto* n = b.node("BatchNormalization", {"c", "g", "beta", "mean", "var"}, "y", "bn");
  GraphBuilder::f(n, "epsilon", 1.0f);
  b.output("y");
  const Network net = b.parse();
  ASSERT_EQ(ops(net), (std::vector<std::string>{"Conv"}));
  const Layer& l = net.layers[0];
  EXPECT_EQ(l.name, "conv");
  // scale = g / sqrt(var + eps) = {1, 0.5}; bias' = (b - mean) * scale + beta
  EXPECT_EQ(l.weight, (std::vector<float>{1.0f, 0.5f, -0.125f, 1.0f}));
  EXPECT_FLOAT_EQ(l.bias[0], (0.1f - 0.5f) * 1.0f + 1.0f);
  EXPECT_FLOAT_EQ(l.bias[1], (-0.2f - 0.25f) * 0.5f - 1.0f);
}

TEST(OnnxImport, BatchNormWithoutProducerIsAffinePoly) {
  GraphBuilder b({-1, 2, 3, 3});
  b.init("g", {2}, {2.0f, 0.5f});
  b.init("beta", {2}, {1.0f, -1.0f});
  b.init("mean", {2}, {0.5f, 0.0f});
  b.init("var", {2}, {4.0f, 1.0f});
  auto* n = b.node("BatchNormalization", {"x", "g", "beta", "mean", "var"}, "y", "bn");
  GraphBuilder::f(n, "epsilon", 0.0f);
  b.output("y");
  const Network net = b.parse();
  ASSERT_EQ(ops(net), (std::vector<std::string>{"Poly"}));
  expect_poly(net, 0, {0.0f}, {1.0f, 0.5f}, {0.5f, -1.0f});
  EXPECT_EQ(net.layers[0].name, "bn");
}

TEST(OnnxImport, GemmTransBAndMatMulBias) {
  // Gemm transB=0 with a scalar C, then MatMul + Add(bias)
  GraphBuilder b({1, 3});
  b.init("B", {3, 2}, {1, 2, 3, 4, 5, 6});  // [in, out]
  b.init("C", {1}, {0.5f});
  b.init("W2", {2, 2}, {1, 0, 0, -1});
  b.init("b2", {1, 2}, {0.25f, 0.75f});
  b.node("Gemm", {"x", "B", "C"}, "h", "fc1");
  b.node("MatMul", {"h", "W2"}, "m", "fc2");
  b.node("Add", {"b2", "m"}, "y", "fc2_bias");
  b.output("y");
  const Network net = b.parse();
  ASSERT_EQ(ops(net), (std::vector<std::string>{"Linear", "Linear"}));
  EXPECT_EQ(net.layers[0].weight_shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(net.layers[0].weight, (std::vector<float>{1, 3, 5, 2, 4, 6}));
  EXPECT_EQ(net.layers[0].bias, (std::vector<float>{0.5f, 0.5f}));
  EXPECT_EQ(net.layers[1].name, "fc2");
  EXPECT_EQ(net.layers[1].weight, (std::vector<float>{1, 0, 0, -1}));
  EXPECT_EQ(net.layers[1].bias, (std::vector<float>{0.25f, 0.75f}));
  EXPECT_EQ(net.input_shape, (std::vector<int64_t>{3}));
}

TEST(OnnxImport, ViewChainFlatten) {
  // x.view(x.size(0), -1) as torch writes it (opset 13: Unsqueeze axes as an input)
  GraphBuilder b({-1, 2, 3, 3});
  b.node("Shape", {"x"}, "s");
  b.constant_i64("zero", {}, {0});
  auto* g = b.node("Gather", {"s", "zero"}, "n");
  GraphBuilder::i(g, "axis", 0);
  b.constant_i64("axes", {1}, {0});
  b.node("Unsqueeze", {"n", "axes"}, "n1");
  b.constant_i64("m1", {1}, {-1});
  auto* c = b.node("Concat", {"n1", "m1"}, "shape");
  GraphBuilder::i(c, "axis", 0);
  b.node("Reshape", {"x", "shape"}, "f", "view");
  b.init("W", {2, 18}, std::vector<float>(36, 0.5f));
  auto* gemm = b.node("Gemm", {"f", "W"}, "y", "fc");
  GraphBuilder::i(gemm, "transB", 1);
  b.output("y");
  const Network net = b.parse();
  EXPECT_EQ(ops(net), (std::vector<std::string>{"Flatten", "Linear"}));
  EXPECT_EQ(net.layers[0].name, "view");
  EXPECT_EQ(net.layers[0].out_shape, (std::vector<int64_t>{18}));
}

TEST(OnnxImport, ReshapeConstantShapes) {
  for (const std::vector<int64_t>& shape :
       {std::vector<int64_t>{-1, 18}, std::vector<int64_t>{1, -1}, std::vector<int64_t>{0, -1},
        std::vector<int64_t>{1, 18}}) {
    GraphBuilder b({1, 2, 3, 3});
    b.init_i64("shape", {2}, shape);
    b.node("Reshape", {"x", "shape"}, "y", "reshape");
    b.output("y");
    const Network net = b.parse();
    EXPECT_EQ(ops(net), (std::vector<std::string>{"Flatten"}));
    EXPECT_EQ(net.layers[0].out_shape, (std::vector<int64_t>{18}));
  }
  GraphBuilder b({1, 2, 3, 3});
  b.init_i64("shape", {3}, {1, 2, -1});
  b.node("Reshape", {"x", "shape"}, "y", "reshape");
  b.output("y");
  expect_model_error([&] { b.parse(); }, {"node 'reshape' (Reshape)", "not supported"});
}

TEST(OnnxImport, PadBeforeAveragePool) {
  // torch's AvgPool2d(3, 1, padding=1) with count_include_pad=True: Pad + AveragePool
  GraphBuilder b({-1, 1, 4, 4});
  b.constant_i64("pads", {8}, {0, 0, 1, 1, 0, 0, 1, 1});
  auto* p = b.node("Pad", {"x", "pads"}, "p", "pad");
  GraphBuilder::s(p, "mode", "constant");
  auto* a = b.node("AveragePool", {"p"}, "y", "avg");
  GraphBuilder::ints(a, "kernel_shape", {3, 3});
  b.output("y");
  const Network net = b.parse();
  ASSERT_EQ(ops(net), (std::vector<std::string>{"AvgPool"}));
  const Layer& l = net.layers[0];
  EXPECT_EQ(l.pad_top, 1);
  EXPECT_EQ(l.pad_left, 1);
  EXPECT_EQ(l.pad_bottom, 1);
  EXPECT_EQ(l.pad_right, 1);
  EXPECT_EQ(l.out_shape, (std::vector<int64_t>{1, 4, 4}));

  GraphBuilder m({-1, 1, 4, 4});
  m.constant_i64("pads", {8}, {0, 0, 1, 1, 0, 0, 1, 1});
  m.node("Pad", {"x", "pads"}, "p", "pad");
  auto* mp = m.node("MaxPool", {"p"}, "y", "maxpool");
  GraphBuilder::ints(mp, "kernel_shape", {3, 3});
  m.output("y");
  expect_model_error([&] { m.parse(); }, {"node 'maxpool' (MaxPool)", "Pad"});
}

TEST(OnnxImport, IdentityDropoutAndEmptyNodeNames) {
  GraphBuilder b({-1, 1, 4, 4});
  b.node("Identity", {"x"}, "i");
  b.node("Dropout", {"i"}, "d");
  auto* r = b.node("Relu", {"d"}, "r");
  r->set_name("");
  auto* g = b.node("GlobalAveragePool", {"r"}, "y");
  g->set_name("");
  b.output("y");
  const Network net = b.parse();
  EXPECT_EQ(ops(net), (std::vector<std::string>{"Relu", "GlobalAvgPool"}));
  EXPECT_EQ(net.layers[0].name, "r");
  EXPECT_EQ(net.layers[1].name, "y");
  EXPECT_EQ(net.layers[1].out_shape, (std::vector<int64_t>{1, 1, 1}));
}

TEST(OnnxImport, UnsupportedAttributes) {
  struct Case {
    std::string what;
    std::function<void(onnx::NodeProto*)> set;
    std::string op;
  };
  const std::vector<Case> cases = {
      {"group=2", [](onnx::NodeProto* n) { GraphBuilder::i(n, "group", 2); }, "Conv"},
      {"dilations",
       [](onnx::NodeProto* n) {
         GraphBuilder::ints(n, "dilations", {2, 2});
       },
       "Conv"},
      {"auto_pad=SAME_UPPER",
       [](onnx::NodeProto* n) { GraphBuilder::s(n, "auto_pad", "SAME_UPPER"); }, "Conv"},
      {"ceil_mode=1", [](onnx::NodeProto* n) { GraphBuilder::i(n, "ceil_mode", 1); }, "MaxPool"},
      {"count_include_pad=0",
       [](onnx::NodeProto* n) {
         GraphBuilder::ints(n, "pads", {1, 1, 1, 1});
       },
       "AveragePool"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    GraphBuilder b({-1, 4, 6, 6});
    onnx::NodeProto* n = nullptr;
    if (c.op == "Conv") {
      b.init("w", {4, 4, 3, 3}, std::vector<float>(144, 0.1f));
      n = b.node("Conv", {"x", "w"}, "y", "the_node");
    } else {
      n = b.node(c.op, {"x"}, "y", "the_node");
      GraphBuilder::ints(n, "kernel_shape", {3, 3});
    }
    c.set(n);
    b.output("y");
    expect_model_error([&] { b.parse(); }, {"node 'the_node' (" + c.op + ")", c.what});
  }
}

// ---- crafted sizes (security: sizes read from the file are checked) -----------------------
// Each model below is built to break an unchecked size computation: before the checks, a
// dims product or a bytes count wrapped around so that the value-count check passed and
// transpose() / the raw_data decoder read or wrote far outside their buffers (SIGSEGV,
// confirmed by valgrind). Now each fails with a ModelError naming the node, the
// initializer and the field. These tests run under valgrind (see the report).

constexpr int64_t kTwo31 = int64_t{1} << 31;  // mpc::kMaxTensorElements
constexpr int64_t kTwo32 = int64_t{1} << 32;
const std::string kLimit = "exceeds the limit of 2147483648";

// Gemm (transB = 0, so the weight is transposed) reading initializer `W`.
GraphBuilder gemm_on(const std::string& op = "Gemm") {
  GraphBuilder b({-1, 3});
  b.node(op, {"x", "W"}, "y", "fc");
  b.output("y");
  return b;
}

// Little-endian raw bytes of `n` floats 1.0.
std::string raw_floats(size_t n) {
  std::string r;
  for (size_t k = 0; k < n; ++k) r += std::string("\x00\x00\x80\x3f", 4);
  return r;
}

TEST(OnnxCrafted, DimsProductOverflowsUint64) {
  // [2^32, 2^32]: the product 2^64 wrapped to 0, so an empty tensor passed and transpose()
  // wrote 2^64 floats into a 0-element buffer.
  for (const char* op : {"Gemm", "MatMul"}) {
    SCOPED_TRACE(op);
    GraphBuilder b = gemm_on(op);
    b.tensor("W", {kTwo32, kTwo32});
    expect_model_error([&] { b.parse(); }, {"test.onnx", std::string("node 'fc' (") + op + ")",
                                            "initializer 'W' dims [4294967296, 4294967296]",
                                            "size 1 x 4294967296 " + kLimit});
  }
}

TEST(OnnxCrafted, DimsProductOverflowsInt64) {
  // [2^32, 2^31] = 2^63: negative as an int64.
  GraphBuilder b = gemm_on();
  b.tensor("W", {kTwo32, kTwo31});
  expect_model_error([&] { b.parse(); },
                     {"node 'fc' (Gemm)", "initializer 'W' dims [4294967296, 2147483648]", kLimit});
}

TEST(OnnxCrafted, GemmWeightDimsWrapToValueCount) {
  // 3 x 6148914691236517206 = 2^64 + 2 wraps to 2: two values (float_data or 8 bytes of
  // raw_data) passed the count check, then transpose() wrote row 0..2 x column 0..6e18.
  const int64_t big = 6148914691236517206;
  for (bool raw : {false, true}) {
    SCOPED_TRACE(raw ? "raw_data" : "float_data");
    GraphBuilder b = gemm_on();
    onnx::TensorProto* t = b.tensor("W", {3, big});
    if (raw) {
      t->set_raw_data(raw_floats(2));
    } else {
      t->add_float_data(1.0f);
      t->add_float_data(2.0f);
    }
    expect_model_error([&] { b.parse(); },
                       {"node 'fc' (Gemm)", "initializer 'W' dims [3, 6148914691236517206]",
                        "size 3 x 6148914691236517206 " + kLimit});
  }
}

TEST(OnnxCrafted, RawDataByteCountWouldWrap) {
  // n = 2^62 + 1 elements: n * 4 bytes wrapped to 4, so 4 bytes of raw_data matched and the
  // decoder read n floats past them. Same for 8-byte types with n = 2^61 + 1.
  struct Case {
    int type;
    int64_t n;
    size_t bytes;
  };
  for (const Case& c : {Case{onnx::TensorProto_DataType_FLOAT, (int64_t{1} << 62) + 1, 4},
                        Case{onnx::TensorProto_DataType_DOUBLE, (int64_t{1} << 61) + 1, 8},
                        Case{onnx::TensorProto_DataType_INT64, (int64_t{1} << 61) + 1, 8}}) {
    SCOPED_TRACE(c.type);
    GraphBuilder b = gemm_on("MatMul");
    b.tensor("W", {c.n, 1}, c.type)->set_raw_data(std::string(c.bytes, '\x01'));
    expect_model_error(
        [&] { b.parse(); },
        {"node 'fc' (MatMul)", "initializer 'W' dims [" + std::to_string(c.n) + ", 1]", kLimit});
  }
}

TEST(OnnxCrafted, NegativeDims) {
  // [-2, -3] has the positive product 6: still rejected, naming the dimension.
  GraphBuilder b = gemm_on();
  onnx::TensorProto* t = b.tensor("W", {-2, -3});
  for (int k = 0; k < 6; ++k) t->add_float_data(1.0f);
  expect_model_error([&] { b.parse(); }, {"node 'fc' (Gemm)", "initializer 'W' dims [-2, -3]",
                                          "dimension 0 is -2 (must be >= 0)"});
  // A negative dim in a Conv weight, as a Constant node.
  GraphBuilder c({-1, 2, 3, 3});
  onnx::NodeProto* k = c.node("Constant", {}, "w", "wconst");
  onnx::AttributeProto* a = k->add_attribute();
  a->set_name("value");
  a->set_type(onnx::AttributeProto_AttributeType_TENSOR);
  a->mutable_t()->set_data_type(onnx::TensorProto_DataType_FLOAT);
  for (int64_t d : {2, 2, -1, 1}) a->mutable_t()->add_dims(d);
  c.node("Conv", {"x", "w"}, "y", "conv");
  c.output("y");
  expect_model_error([&] { c.parse(); },
                     {"node 'wconst' (Constant)", "constant 'wconst' dims [2, 2, -1, 1]",
                      "dimension 2 is -1 (must be >= 0)"});
}

TEST(OnnxCrafted, HugeButNotOverflowingDims) {
  // 2^31 + 1 elements: no overflow, but above kMaxTensorElements; rejected before the
  // value count is compared (nothing is allocated).
  GraphBuilder b = gemm_on();
  b.tensor("W", {kTwo31 + 1, 1});
  expect_model_error([&] { b.parse(); },
                     {"node 'fc' (Gemm)", "initializer 'W' dims [2147483649, 1]",
                      "size 1 x 2147483649 " + kLimit});
  GraphBuilder c = gemm_on();
  c.tensor("W", {65536, 65536, 1});
  expect_model_error([&] { c.parse(); }, {"initializer 'W' dims [65536, 65536, 1]", kLimit});
}

TEST(OnnxCrafted, DataShorterThanDims) {
  {
    GraphBuilder b = gemm_on();
    b.tensor("W", {3, 2})->set_raw_data(raw_floats(5));  // 20 bytes for 24
    expect_model_error([&] { b.parse(); },
                       {"node 'fc' (Gemm)", "initializer 'W' has 20 bytes of raw data",
                        "its shape [3, 2] needs 24"});
  }
  {
    GraphBuilder b = gemm_on();
    onnx::TensorProto* t = b.tensor("W", {3, 2});
    for (int k = 0; k < 5; ++k) t->add_float_data(1.0f);
    expect_model_error([&] { b.parse(); }, {"node 'fc' (Gemm)", "initializer 'W' has 5 values",
                                            "its shape [3, 2] needs 6"});
  }
  {
    // int64_data of a Reshape target: 1 value for dims [2]
    GraphBuilder b({1, 2, 3, 3});
    b.init_i64("shape", {2}, {1});
    b.node("Reshape", {"x", "shape"}, "y", "reshape");
    b.output("y");
    expect_model_error(
        [&] { b.parse(); },
        {"node 'reshape' (Reshape)", "initializer 'shape' has 1 values", "its shape [2] needs 2"});
  }
}

TEST(OnnxCrafted, ConvAndPoolWindowAttributes) {
  struct Case {
    std::string op, attr;
    std::vector<int64_t> value;
    std::string what;
  };
  const std::vector<Case> cases = {
      {"Conv", "strides", {0, 1}, "strides [0, 1]: entry 0 is 0 (must be in [1, 2147483647])"},
      {"Conv", "strides", {1, -2}, "strides [1, -2]: entry 1 is -2 (must be in [1, 2147483647])"},
      // 2^32 + 1 used to be truncated to the int 1 and silently accepted
      {"Conv", "strides", {kTwo32 + 1, 1}, "strides [4294967297, 1]: entry 0 is 4294967297"},
      {"MaxPool", "strides", {1, 0}, "strides [1, 0]: entry 1 is 0"},
      {"AveragePool", "strides", {-1, -1}, "strides [-1, -1]: entry 0 is -1"},
      {"Conv", "pads", {kTwo31, 0, 0, 0}, "pads [2147483648, 0, 0, 0]: entry 0 is 2147483648"},
      {"Conv", "pads", {0, -1, 0, 0}, "pads [0, -1, 0, 0]: entry 1 is -1"},
      {"MaxPool", "kernel_shape", {0, 3}, "kernel_shape [0, 3]: entry 0 is 0"},
      {"MaxPool", "kernel_shape", {-3, 3}, "kernel_shape [-3, 3]: entry 0 is -3"},
      {"MaxPool", "kernel_shape", {7, 3}, "kernel h 7 is larger than the padded input 6"},
      {"AveragePool", "kernel_shape", {3, kTwo32 + 3}, "kernel_shape [3, 4294967299]: entry 1"},
      // fits an int, but the output would have 4 x 2^31 elements
      {"Conv", "pads", {kTwo31 - 1, 0, kTwo31 - 1, 0}, "output shape [4, 4294967298, 4]"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.op + " " + c.attr + " " + c.what);
    GraphBuilder b({-1, 4, 6, 6});
    onnx::NodeProto* n = nullptr;
    if (c.op == "Conv") {
      b.init("w", {4, 4, 3, 3}, std::vector<float>(144, 0.1f));
      n = b.node("Conv", {"x", "w"}, "y", "win");
    } else {
      n = b.node(c.op, {"x"}, "y", "win");
      if (c.attr != "kernel_shape") GraphBuilder::ints(n, "kernel_shape", {3, 3});
    }
    GraphBuilder::ints(n, c.attr, c.value);
    b.output("y");
    expect_model_error([&] { b.parse(); }, {"node 'win' (" + c.op + ")", c.what});
  }
}

TEST(OnnxCrafted, PadNodePads) {
  // Pad pads beyond an int, and Pad + AveragePool pads whose sum overflows an int.
  {
    GraphBuilder b({-1, 1, 4, 4});
    b.constant_i64("pads", {8}, {0, 0, kTwo32, 0, 0, 0, 0, 0});
    b.node("Pad", {"x", "pads"}, "p", "pad");
    b.node("Relu", {"p"}, "y", "relu");
    b.output("y");
    expect_model_error([&] { b.parse(); },
                       {"node 'pad' (Pad)", "pads [0, 0, 4294967296, 0, 0, 0, 0, 0]",
                        "entry 2 is 4294967296 (must be in [0, 2147483647])"});
  }
  {
    GraphBuilder b({-1, 1, 4, 4});
    b.constant_i64("pads", {8}, {0, 0, kTwo31 - 1, 0, 0, 0, 0, 0});
    b.node("Pad", {"x", "pads"}, "p", "pad");
    auto* a = b.node("AveragePool", {"p"}, "y", "avg");
    GraphBuilder::ints(a, "kernel_shape", {3, 3});
    GraphBuilder::ints(a, "pads", {1, 1, 1, 1});
    GraphBuilder::i(a, "count_include_pad", 1);
    b.output("y");
    expect_model_error([&] { b.parse(); },
                       {"node 'avg' (AveragePool)", "pads plus the pads of the Pad node",
                        "(top): size 1 + 2147483647 exceeds the limit of 2147483647"});
  }
}

TEST(OnnxCrafted, ReshapeShapeValues) {
  // An empty constant reshaped to [2^32, 2^32] (product wrapped to 0 == its 0 elements)
  // and used as a Gemm weight: transpose() wrote 2^64 floats.
  {
    GraphBuilder b({-1, 3});
    b.tensor("empty", {0});
    b.init_i64("shape", {2}, {kTwo32, kTwo32});
    b.node("Reshape", {"empty", "shape"}, "W", "reshape");
    b.node("Gemm", {"x", "W"}, "y", "fc");
    b.output("y");
    expect_model_error(
        [&] { b.parse(); },
        {"node 'reshape' (Reshape)", "shape 'shape' [4294967296, 4294967296] resolved to", kLimit});
  }
  struct Case {
    std::vector<int64_t> shape;
    std::string what;
  };
  const std::vector<Case> cases = {
      {{-1, -1}, "shape 'shape' [-1, -1] has more than one -1 entry"},
      {{-5, -2}, "shape 'shape' [-5, -2]: entry 0 is -5 (must be >= -1)"},
      {{INT64_MIN, 1}, "entry 0 is -9223372036854775808 (must be >= -1)"},
      {{4, 2}, "cannot reshape a constant of shape [6] (6 elements) to shape 'shape' [4, 2] (8 "},
      {{4, -1}, "the -1 entry has no whole-number size"},
      {{0, 0, 6}, "entry 1 is 0 but the constant has only 1 dimensions"},
      // 3 x 6148914691236517206 wraps to 2 (mod 2^64); never equal to 6
      {{3, 6148914691236517206}, kLimit},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    GraphBuilder b({-1, 6});
    b.init("k", {6}, {1, 2, 3, 4, 5, 6});
    b.init_i64("shape", {static_cast<int64_t>(c.shape.size())}, c.shape);
    b.node("Reshape", {"k", "shape"}, "k2", "reshape");
    b.node("Mul", {"x", "k2"}, "y", "mul");
    b.output("y");
    expect_model_error([&] { b.parse(); }, {"node 'reshape' (Reshape)", c.what});
  }
}

TEST(OnnxCrafted, GatherUnsqueezeAndFoldValues) {
  {
    // index beyond a rank-4 shape, and INT64_MIN (k + size stays negative)
    for (int64_t idx : {int64_t{4}, int64_t{-5}, INT64_MIN}) {
      SCOPED_TRACE(idx);
      GraphBuilder b({-1, 2, 3, 3});
      b.node("Shape", {"x"}, "s");
      b.constant_i64("i", {}, {idx});
      b.node("Gather", {"s", "i"}, "n", "gather");
      b.node("Relu", {"x"}, "y");
      b.output("y");
      expect_model_error(
          [&] { b.parse(); },
          {"node 'gather' (Gather)", "indices 'i' entry 0 is " + std::to_string(idx) +
                                         ", out of range for 4 elements (valid: -4 to 3)"});
    }
  }
  {
    // Unsqueeze axes repeating an axis: used to escape as std::out_of_range
    GraphBuilder b({-1, 2});
    b.init("k", {2}, {1, 2});
    b.init_i64("axes", {2}, {0, 0});
    b.node("Unsqueeze", {"k", "axes"}, "k2", "unsq");
    b.node("Mul", {"x", "k2"}, "y");
    b.output("y");
    expect_model_error([&] { b.parse(); },
                       {"node 'unsq' (Unsqueeze)", "axes [0, 0] name axis 0 twice"});
  }
  {
    // integer constant folding that overflows int64 (signed overflow: undefined behaviour)
    GraphBuilder b({-1, 2});
    b.init_i64("a", {1}, {int64_t{1} << 62});
    b.init_i64("b", {1}, {4});
    b.node("Mul", {"a", "b"}, "ab", "mul");
    b.node("Relu", {"x"}, "y");
    b.output("y");
    expect_model_error(
        [&] { b.parse(); },
        {"node 'mul' (Mul)", "integer Mul of 4611686018427387904 and 4 overflows int64"});
  }
  {
    // float -> int64 cast of a value outside the int64 range (undefined behaviour)
    GraphBuilder b({-1, 2});
    b.init("big", {1}, {1e30f});
    auto* c = b.node("Cast", {"big"}, "bi", "cast");
    GraphBuilder::i(c, "to", onnx::TensorProto_DataType_INT64);
    b.node("Relu", {"x"}, "y");
    b.output("y");
    expect_model_error([&] { b.parse(); },
                       {"node 'cast' (Cast)", "cannot cast", "outside the int64 range"});
  }
  {
    // broadcast of constants [65536, 1] and [1, 65536] to 2^32 elements
    GraphBuilder b({-1, 2});
    b.init("a", {65536, 1}, std::vector<float>(65536, 1.0f));
    b.init("c", {1, 65536}, std::vector<float>(65536, 2.0f));
    b.node("Add", {"a", "c"}, "ac", "add");
    b.node("Relu", {"x"}, "y");
    b.output("y");
    expect_model_error([&] { b.parse(); },
                       {"node 'add' (Add)",
                        "broadcast of constant shapes [65536, 1] and [1, 65536] to [65536, 65536]",
                        "size 65536 x 65536 " + kLimit});
  }
}

TEST(OnnxCrafted, GraphInputShape) {
  GraphBuilder b({-1, 65536, 65536, 65536});
  b.node("Relu", {"x"}, "y", "relu");
  b.output("y");
  expect_model_error([&] { b.parse(); },
                     {"graph input 'x' shape (without batch) [65536, 65536, 65536]", kLimit});
}

TEST(OnnxCrafted, ShippedModelAndFixturesStillImport) {
  // The checks must not reject real models: the shipped one and torch's fixtures.
  const Network net = load_onnx(std::string(POLYMPC_SOURCE_DIR) + "/models/fmnist_cnn.onnx");
  EXPECT_EQ(net.input_shape, (std::vector<int64_t>{1, 28, 28}));
  ASSERT_FALSE(net.layers.empty());
  EXPECT_EQ(net.out_size(net.layers.size() - 1), 10);
  for (const char* name : {"cnn_view.onnx", "cnn_flatten_horner.onnx", "residual.onnx"}) {
    SCOPED_TRACE(name);
    const Network f = load_onnx(data_path(name));
    EXPECT_GT(f.layers.size(), 5u);
    EXPECT_GT(f.input_size(), 0);
  }
}

// ---- malformed input ----------------------------------------------------------------------

TEST(OnnxErrors, NonexistentPath) {
  expect_model_error([] { load_onnx("/nonexistent/model.onnx"); },
                     {"/nonexistent/model.onnx", "cannot open"});
}

TEST(OnnxErrors, TruncatedFile) {
  const std::string bytes = read_bytes(data_path("cnn_view.onnx"));
  ASSERT_GT(bytes.size(), 100u);
  for (size_t len : {bytes.size() / 2, bytes.size() - 1, size_t{10}}) {
    SCOPED_TRACE(len);
    expect_model_error([&] { parse_onnx(bytes.substr(0, len), "cut.onnx"); },
                       {"cut.onnx", "is not a valid ONNX model"});
  }
}

TEST(OnnxErrors, RandomAndEmptyBytes) {
  std::mt19937 rng(42);
  for (int trial = 0; trial < 50; ++trial) {
    std::string junk(1000, '\0');
    for (char& c : junk) c = static_cast<char>(rng() & 0xff);
    expect_model_error([&] { parse_onnx(junk, "junk.bin"); },
                       {"junk.bin", "is not a valid ONNX model"});
  }
  expect_model_error([] { parse_onnx("", "empty.onnx"); },
                     {"empty.onnx", "is not a valid ONNX model"});
  expect_model_error([] { parse_onnx("hello, world: this is not a model", "text.onnx"); },
                     {"text.onnx", "is not a valid ONNX model"});
}

TEST(OnnxErrors, UnsupportedOpFixture) {
  const std::string path = data_path("unsupported_leakyrelu.onnx");
  onnx::ModelProto m;
  ASSERT_TRUE(m.ParseFromString(read_bytes(path)));
  std::string name;
  for (const auto& n : m.graph().node())
    if (n.op_type() == "LeakyRelu") name = n.name();
  ASSERT_FALSE(name.empty());
  expect_model_error([&] { load_onnx(path); },
                     {path, "node '" + name + "' (LeakyRelu)", "not supported"});
}

TEST(OnnxErrors, UnsupportedOpAndBadInputs) {
  {
    GraphBuilder b({-1, 2, 3, 3});
    b.node("Sigmoid", {"x"}, "y", "sig");
    b.output("y");
    expect_model_error([&] { b.parse(); }, {"test.onnx", "node 'sig' (Sigmoid)"});
  }
  {
    GraphBuilder b({-1, 2, 3, 3});
    b.node("Relu", {"nowhere"}, "y", "r");
    b.output("y");
    expect_model_error([&] { b.parse(); }, {"node 'r' (Relu)", "'nowhere'"});
  }
  {
    GraphBuilder b({-1, 2, -1, 3});
    b.node("Relu", {"x"}, "y", "r");
    b.output("y");
    expect_model_error([&] { b.parse(); }, {"graph input 'x'", "fixed"});
  }
  {
    GraphBuilder b({-1, 2, 3, 3});
    b.init("w", {2, 2, 1, 1}, {1.0f, 2.0f, 3.0f});  // 3 values for 4
    b.node("Conv", {"x", "w"}, "y", "conv");
    b.output("y");
    expect_model_error([&] { b.parse(); }, {"initializer 'w'", "3 values"});
  }
  {
    GraphBuilder b({-1, 3});
    b.init("W", {2, 4}, std::vector<float>(8, 1.0f));
    auto* g = b.node("Gemm", {"x", "W"}, "y", "fc");
    GraphBuilder::i(g, "transB", 1);
    b.output("y");
    expect_model_error([&] { b.parse(); }, {"node 'fc' (Gemm)", "expects 4 inputs"});
  }
}

// ---- torch.onnx.export fixtures -----------------------------------------------------------

struct Reference {
  std::vector<int64_t> in_dims, out_dims;
  std::vector<double> in, out;
};

Reference read_reference(const std::string& path) {
  std::ifstream f(path);
  EXPECT_TRUE(f.good()) << path;
  Reference r;
  for (auto [tag, dims, vals] :
       {std::tuple<const char*, std::vector<int64_t>*, std::vector<double>*>{"input", &r.in_dims,
                                                                             &r.in},
        {"output", &r.out_dims, &r.out}}) {
    std::string t;
    int rank = 0;
    f >> t >> rank;
    EXPECT_EQ(t, tag);
    int64_t n = 1;
    for (int k = 0; k < rank; ++k) {
      int64_t d = 0;
      f >> d;
      dims->push_back(d);
      n *= d;
    }
    vals->resize(static_cast<size_t>(n));
    for (double& v : *vals) f >> v;
  }
  EXPECT_FALSE(f.fail()) << path;
  return r;
}

void check_against_torch(const Network& net, const std::string& ref_path) {
  const Reference ref = read_reference(ref_path);
  ASSERT_EQ(ref.in_dims.size(), net.input_shape.size() + 1);
  const auto batch = static_cast<size_t>(ref.in_dims[0]);
  const auto in_n = static_cast<size_t>(net.input_size());
  const auto out_n = static_cast<size_t>(net.out_size(net.layers.size() - 1));
  ASSERT_EQ(ref.in.size(), batch * in_n);
  ASSERT_EQ(ref.out.size(), batch * out_n);
  double max_err = 0;
  for (size_t s = 0; s < batch; ++s) {
    const Tensor x(ref.in.begin() + static_cast<std::ptrdiff_t>(s * in_n),
                   ref.in.begin() + static_cast<std::ptrdiff_t>((s + 1) * in_n));
    const Tensor y = forward(net, x);
    for (size_t k = 0; k < out_n; ++k) {
      const double want = ref.out[s * out_n + k];
      max_err = std::max(max_err, std::abs(y[k] - want));
      EXPECT_NEAR(y[k], want, 1e-4) << "sample " << s << " logit " << k;
    }
  }
  ::testing::Test::RecordProperty("max_abs_error", std::to_string(max_err));
}

TEST(OnnxTorch, CnnView) {
  const Network net = load_onnx(data_path("cnn_view.onnx"));
  EXPECT_EQ(ops(net), (std::vector<std::string>{"Conv", "Poly", "AvgPool", "Conv", "Relu",
                                                "MaxPool", "Flatten", "Linear", "Poly", "Linear"}));
  using S = std::vector<int64_t>;
  EXPECT_EQ(net.input_shape, (S{2, 8, 8}));
  EXPECT_EQ(net.layers[0].out_shape, (S{4, 8, 8}));
  EXPECT_EQ(net.layers[1].poly_a2.size(), 4u);  // per channel
  EXPECT_EQ(net.layers[1].poly_a0.size(), 4u);
  EXPECT_EQ(net.layers[2].out_shape, (S{4, 4, 4}));
  EXPECT_EQ(net.layers[5].out_shape, (S{6, 2, 2}));
  EXPECT_EQ(net.layers[6].out_shape, (S{24}));
  EXPECT_EQ(net.layers[8].poly_a2.size(), 1u);  // scalar
  EXPECT_EQ(net.layers[9].out_shape, (S{5}));
  for (const Layer& l : net.layers) EXPECT_FALSE(l.name.empty());
  check_against_torch(net, data_path("cnn_view.ref.txt"));
}

TEST(OnnxTorch, CnnFlattenHorner) {
  const Network net = load_onnx(data_path("cnn_flatten_horner.onnx"));
  EXPECT_EQ(ops(net), (std::vector<std::string>{"Conv", "Poly", "AvgPool", "Conv", "Relu",
                                                "MaxPool", "Flatten", "Linear", "Poly", "Linear"}));
  using S = std::vector<int64_t>;
  EXPECT_EQ(net.layers[3].out_shape, (S{6, 2, 3}));
  EXPECT_EQ(net.layers[3].pad_top, 1);
  EXPECT_EQ(net.layers[3].pad_left, 2);
  EXPECT_EQ(net.layers[3].stride_h, 2);
  EXPECT_EQ(net.layers[5].out_shape, (S{6, 1, 2}));
  EXPECT_EQ(net.layers[6].out_shape, (S{12}));
  EXPECT_EQ(net.layers[1].poly_a2.size(), 1u);
  EXPECT_EQ(net.layers[8].poly_a2.size(), 16u);  // per feature, after the folded BN1d
  EXPECT_EQ(net.layers[9].bias.size(), 5u);      // MatMul + Add folded
  check_against_torch(net, data_path("cnn_flatten_horner.ref.txt"));
}

TEST(OnnxTorch, Residual) {
  const Network net = load_onnx(data_path("residual.onnx"));
  EXPECT_EQ(ops(net), (std::vector<std::string>{"Poly", "Conv", "AvgPool", "Conv", "Relu", "Add",
                                                "Poly", "GlobalAvgPool", "Flatten", "Linear"}));
  using S = std::vector<int64_t>;
  // BatchNorm on the input: affine Poly with per-channel a1, a0 and a2 = 0
  EXPECT_EQ(net.layers[0].poly_a2, (std::vector<float>{0.0f}));
  EXPECT_EQ(net.layers[0].poly_a1.size(), 2u);
  EXPECT_EQ(net.layers[1].bias.size(), 4u);  // BN folded into the bias-free conv
  // Pad + AveragePool(3, 1): one AvgPool with pads 1
  EXPECT_EQ(net.layers[2].pad_top, 1);
  EXPECT_EQ(net.layers[2].pad_right, 1);
  EXPECT_EQ(net.layers[2].out_shape, (S{4, 8, 8}));
  EXPECT_EQ(net.producers(5), (std::vector<int>{4, 1}));
  // 0.25 * y^2 - y / 2 - 0.125
  expect_poly(net, 6, {0.25f}, {-0.5f}, {-0.125f});
  EXPECT_EQ(net.layers[7].out_shape, (S{4, 1, 1}));
  check_against_torch(net, data_path("residual.ref.txt"));
}

TEST(OnnxTorch, FixtureRoundTrip) {
  // torch's graph -> IR -> our ONNX -> IR is exact.
  for (const char* name : {"cnn_view.onnx", "cnn_flatten_horner.onnx", "residual.onnx"}) {
    SCOPED_TRACE(name);
    const Network net = load_onnx(data_path(name));
    const std::string path = temp_path(std::string("rt_") + name);
    save_onnx(net, path);
    const Network back = load_onnx(path);
    std::remove(path.c_str());
    expect_same_ir(net, back);
  }
}

}  // namespace
}  // namespace polympc::nn
