// Network IR: shape inference, producers, sizes and the errors of infer_shapes().
#include <gtest/gtest.h>

#include <string>

#include "polympc/nn/ir.h"

namespace polympc::nn {
namespace {

Layer conv(const std::string& name, int64_t cout, int64_t cin, int k, int stride = 1, int pad = 0) {
  Layer l;
  l.name = name;
  l.op = OpKind::Conv;
  l.weight_shape = {cout, cin, k, k};
  l.weight.assign(static_cast<size_t>(cout * cin * k * k), 0.5f);
  l.bias.assign(static_cast<size_t>(cout), 0.0f);
  l.kernel_h = l.kernel_w = k;
  l.stride_h = l.stride_w = stride;
  l.pad_top = l.pad_left = l.pad_bottom = l.pad_right = pad;
  return l;
}

Layer pool(const std::string& name, OpKind op, int k, int stride, int pad = 0) {
  Layer l;
  l.name = name;
  l.op = op;
  l.kernel_h = l.kernel_w = k;
  l.stride_h = l.stride_w = stride;
  l.pad_top = l.pad_left = l.pad_bottom = l.pad_right = pad;
  return l;
}

Layer simple(const std::string& name, OpKind op) {
  Layer l;
  l.name = name;
  l.op = op;
  return l;
}

Layer linear(const std::string& name, int64_t out, int64_t in) {
  Layer l;
  l.name = name;
  l.op = OpKind::Linear;
  l.weight_shape = {out, in};
  l.weight.assign(static_cast<size_t>(out * in), 0.25f);
  l.bias.assign(static_cast<size_t>(out), 1.0f);
  return l;
}

Layer poly(const std::string& name, size_t n2, size_t n1, size_t n0) {
  Layer l;
  l.name = name;
  l.op = OpKind::Poly;
  l.poly_a2.assign(n2, 0.005f);
  l.poly_a1.assign(n1, 1.0f);
  l.poly_a0.assign(n0, 0.0f);
  return l;
}

// Expects infer_shapes() to throw a ModelError whose message contains every fragment.
void expect_error(Network net, std::initializer_list<const char*> fragments) {
  try {
    net.infer_shapes();
    FAIL() << "no ModelError";
  } catch (const ModelError& e) {
    const std::string msg = e.what();
    for (const char* f : fragments) EXPECT_NE(msg.find(f), std::string::npos) << msg;
  }
}

Network small_cnn() {
  Network net;
  net.name = "small";
  net.input_shape = {3, 32, 32};
  net.layers.push_back(conv("conv1", 8, 3, 3, 1, 1));             // 8x32x32
  net.layers.push_back(poly("act1", 8, 1, 8));                    // 8x32x32
  net.layers.push_back(pool("pool1", OpKind::AvgPool, 2, 2));     // 8x16x16
  net.layers.push_back(conv("conv2", 16, 8, 3, 2, 0));            // 16x7x7
  net.layers.push_back(simple("relu2", OpKind::Relu));            // 16x7x7
  net.layers.push_back(pool("pool2", OpKind::MaxPool, 3, 2, 1));  // 16x4x4
  net.layers.push_back(simple("flat", OpKind::Flatten));          // 256
  net.layers.push_back(linear("fc1", 10, 256));                   // 10
  net.layers.push_back(poly("act2", 1, 10, 1));                   // 10
  return net;
}

TEST(Ir, OpNames) {
  EXPECT_STREQ(op_name(OpKind::Conv), "Conv");
  EXPECT_STREQ(op_name(OpKind::Linear), "Linear");
  EXPECT_STREQ(op_name(OpKind::Relu), "Relu");
  EXPECT_STREQ(op_name(OpKind::Poly), "Poly");
  EXPECT_STREQ(op_name(OpKind::AvgPool), "AvgPool");
  EXPECT_STREQ(op_name(OpKind::MaxPool), "MaxPool");
  EXPECT_STREQ(op_name(OpKind::GlobalAvgPool), "GlobalAvgPool");
  EXPECT_STREQ(op_name(OpKind::Flatten), "Flatten");
  EXPECT_STREQ(op_name(OpKind::Add), "Add");
}

TEST(Ir, InferShapesCnn) {
  Network net = small_cnn();
  net.infer_shapes();
  using S = std::vector<int64_t>;
  EXPECT_EQ(net.layers[0].out_shape, (S{8, 32, 32}));
  EXPECT_EQ(net.layers[1].out_shape, (S{8, 32, 32}));
  EXPECT_EQ(net.layers[2].out_shape, (S{8, 16, 16}));
  EXPECT_EQ(net.layers[3].out_shape, (S{16, 7, 7}));
  EXPECT_EQ(net.layers[4].out_shape, (S{16, 7, 7}));
  EXPECT_EQ(net.layers[5].out_shape, (S{16, 4, 4}));
  EXPECT_EQ(net.layers[6].out_shape, (S{256}));
  EXPECT_EQ(net.layers[7].out_shape, (S{10}));
  EXPECT_EQ(net.layers[8].out_shape, (S{10}));
  EXPECT_EQ(net.input_size(), 3 * 32 * 32);
  EXPECT_EQ(net.out_size(0), 8 * 32 * 32);
  EXPECT_EQ(net.out_size(6), 256);
  EXPECT_EQ(net.out_size(8), 10);
}

TEST(Ir, AsymmetricPadsAndStrides) {
  Network net;
  net.input_shape = {1, 9, 7};
  Layer c = conv("c", 2, 1, 3);
  c.stride_h = 2;
  c.stride_w = 3;
  c.pad_top = 1;
  c.pad_bottom = 0;
  c.pad_left = 2;
  c.pad_right = 1;
  net.layers.push_back(c);
  net.infer_shapes();
  // H: (9 + 1 + 0 - 3) / 2 + 1 = 4; W: (7 + 2 + 1 - 3) / 3 + 1 = 3
  EXPECT_EQ(net.layers[0].out_shape, (std::vector<int64_t>{2, 4, 3}));
}

TEST(Ir, ConvKernelFromWeight) {
  Network net;
  net.input_shape = {2, 6, 6};
  Layer c = conv("c", 4, 2, 3);
  c.kernel_h = c.kernel_w = 1;  // left at the default: taken from weight_shape
  net.layers.push_back(c);
  net.infer_shapes();
  EXPECT_EQ(net.layers[0].kernel_h, 3);
  EXPECT_EQ(net.layers[0].kernel_w, 3);
  EXPECT_EQ(net.layers[0].out_shape, (std::vector<int64_t>{4, 4, 4}));
}

TEST(Ir, GlobalPoolAndLinearOnThreeD) {
  Network net;
  net.input_shape = {4, 5, 5};
  net.layers.push_back(simple("gap", OpKind::GlobalAvgPool));
  net.layers.push_back(linear("fc", 3, 4));  // Linear flattens [4, 1, 1] implicitly
  net.infer_shapes();
  EXPECT_EQ(net.layers[0].out_shape, (std::vector<int64_t>{4, 1, 1}));
  EXPECT_EQ(net.layers[1].out_shape, (std::vector<int64_t>{3}));
}

TEST(Ir, ProducersAndResidualAdd) {
  Network net;
  net.input_shape = {4, 8, 8};
  net.layers.push_back(conv("c1", 4, 4, 3, 1, 1));
  net.layers.push_back(simple("r1", OpKind::Relu));
  net.layers.push_back(conv("c2", 4, 4, 3, 1, 1));
  Layer add = simple("add", OpKind::Add);
  add.inputs = {2, -1};  // residual from the network input
  net.layers.push_back(add);
  Layer add2 = simple("add2", OpKind::Add);
  add2.inputs = {3, 0};
  net.layers.push_back(add2);
  net.infer_shapes();
  EXPECT_EQ(net.producers(0), (std::vector<int>{-1}));
  EXPECT_EQ(net.producers(1), (std::vector<int>{0}));
  EXPECT_EQ(net.producers(3), (std::vector<int>{2, -1}));
  EXPECT_EQ(net.producers(4), (std::vector<int>{3, 0}));
  EXPECT_EQ(net.layers[4].out_shape, (std::vector<int64_t>{4, 8, 8}));
  EXPECT_THROW(net.producers(5), ModelError);
}

TEST(Ir, FlatInput) {
  Network net;
  net.input_shape = {20};
  net.layers.push_back(linear("fc1", 8, 20));
  net.layers.push_back(poly("p", 8, 8, 8));
  net.layers.push_back(linear("fc2", 2, 8));
  net.infer_shapes();
  EXPECT_EQ(net.out_size(2), 2);
}

TEST(Ir, OutSizeBeforeInferShapesThrows) {
  Network net = small_cnn();
  EXPECT_THROW(net.out_size(0), ModelError);
}

TEST(Ir, ErrorLinearSizeMismatch) {
  Network net = small_cnn();
  net.layers[7] = linear("fc1", 10, 250);
  expect_error(net, {"'fc1'", "Linear", "250", "256"});
}

TEST(Ir, ErrorConvChannelMismatch) {
  Network net = small_cnn();
  net.layers[3] = conv("conv2", 16, 4, 3, 2, 0);
  expect_error(net, {"'conv2'", "Conv", "4 input channels", "[8, 16, 16]"});
}

TEST(Ir, ErrorConvWeightSize) {
  Network net = small_cnn();
  net.layers[0].weight.pop_back();
  expect_error(net, {"'conv1'", "weight has"});
}

TEST(Ir, ErrorConvBiasSize) {
  Network net = small_cnn();
  net.layers[0].bias.push_back(1.0f);
  expect_error(net, {"'conv1'", "bias has 9 values, expected 8"});
}

TEST(Ir, ErrorKernelLargerThanInput) {
  Network net;
  net.input_shape = {1, 4, 4};
  net.layers.push_back(conv("big", 1, 1, 5));
  expect_error(net, {"'big'", "larger than the padded input"});
}

TEST(Ir, ErrorPoolPadTooLarge) {
  Network net;
  net.input_shape = {1, 8, 8};
  net.layers.push_back(pool("mp", OpKind::MaxPool, 2, 2, 2));
  expect_error(net, {"'mp'", "MaxPool", "padding"});
}

TEST(Ir, ErrorZeroStride) {
  Network net;
  net.input_shape = {1, 8, 8};
  net.layers.push_back(pool("ap", OpKind::AvgPool, 2, 0));
  expect_error(net, {"'ap'", "stride"});
}

TEST(Ir, ErrorPolyCoefficientCount) {
  Network net = small_cnn();
  net.layers[1] = poly("act1", 8, 3, 8);
  expect_error(net, {"'act1'", "Poly", "poly_a1 has 3 coefficients, expected 1 or 8"});
  net.layers[1] = poly("act1", 0, 1, 1);
  expect_error(net, {"'act1'", "poly_a2 has 0 coefficients"});
}

TEST(Ir, ErrorAddShapes) {
  Network net;
  net.input_shape = {4, 8, 8};
  net.layers.push_back(conv("c1", 4, 4, 3));  // 4x6x6
  Layer add = simple("res", OpKind::Add);
  add.inputs = {0, -1};
  net.layers.push_back(add);
  expect_error(net, {"'res'", "Add", "[4, 6, 6] vs [4, 8, 8]"});
}

TEST(Ir, ErrorAddArity) {
  Network net;
  net.input_shape = {4, 8, 8};
  net.layers.push_back(simple("res", OpKind::Add));
  expect_error(net, {"'res'", "takes 2 input(s), got 1"});
}

TEST(Ir, ErrorForwardReference) {
  Network net;
  net.input_shape = {4, 8, 8};
  Layer r = simple("r", OpKind::Relu);
  r.inputs = {0};
  net.layers.push_back(r);
  expect_error(net, {"'r'", "earlier layer"});
}

TEST(Ir, ErrorPoolOnFlat) {
  Network net;
  net.input_shape = {16};
  net.layers.push_back(pool("mp", OpKind::MaxPool, 2, 2));
  expect_error(net, {"'mp'", "is not [C, H, W]"});
}

TEST(Ir, ErrorDuplicateName) {
  Network net = small_cnn();
  net.layers[4].name = "conv2";
  expect_error(net, {"'conv2'", "duplicate"});
}

TEST(Ir, ErrorBadInputShape) {
  Network net;
  net.input_shape = {3, 32};
  expect_error(net, {"input shape [3, 32]"});
}

// ---- crafted sizes: products are checked, not wrapped (security) --------------------------

constexpr int64_t kTwo32 = int64_t{1} << 32;
const char* const kLimit = "exceeds the limit of 2147483648";

TEST(IrCrafted, WeightShapeProductWrapsToValueCount) {
  // 3 x 6148914691236517206 = 2^64 + 2: the unchecked product wrapped to 2, equal to the
  // two weights given, and the size check passed.
  Network net;
  net.input_shape = {1, 4, 4};
  Layer c = conv("c", 1, 1, 3);
  c.weight_shape = {1, 1, 3, 6148914691236517206};
  c.weight.assign(2, 0.5f);
  c.bias.assign(1, 0.0f);
  net.layers.push_back(c);
  expect_error(net, {"layer 0 'c' (Conv)", "weight shape [1, 1, 3, 6148914691236517206]",
                     "size 3 x 6148914691236517206", kLimit});

  Network lin;
  lin.input_shape = {4};
  Layer l = linear("fc", 2, 4);
  l.weight_shape = {kTwo32, kTwo32};  // wraps to 0
  l.weight.clear();
  l.bias.clear();
  lin.layers.push_back(l);
  expect_error(lin, {"layer 0 'fc' (Linear)", "weight shape [4294967296, 4294967296]", kLimit});
}

TEST(IrCrafted, NegativeWeightDims) {
  // [-2, -2] has the positive product 4: rejected naming the dimension
  Network net;
  net.input_shape = {2};
  Layer l = linear("fc", 2, 2);
  l.weight_shape = {-2, -2};
  net.layers.push_back(l);
  expect_error(net, {"'fc'", "weight shape [-2, -2]: dimension 0 is -2 (must be >= 1)"});
}

TEST(IrCrafted, InputShapeTooLarge) {
  Network net;
  net.input_shape = {65536, 65536, 65536};
  net.layers.push_back(simple("r", OpKind::Relu));
  expect_error(net, {"network input shape [65536, 65536, 65536]", kLimit});
  EXPECT_THROW(net.input_size(), ModelError);
}

TEST(IrCrafted, OutputShapeTooLarge) {
  {
    // 2^30 input elements, a 1x1 conv with 4 output channels: 2^32 output elements
    Network net;
    net.input_shape = {1, 32768, 32768};
    net.layers.push_back(conv("wide", 4, 1, 1));
    expect_error(net, {"layer 0 'wide' (Conv)", "output shape [4, 32768, 32768]", kLimit});
  }
  {
    // pads of INT_MAX on both sides: each fits an int, the padded extent does not
    Network net;
    net.input_shape = {1, 1, 1};
    Layer c = conv("padded", 1, 1, 1);
    c.pad_top = c.pad_bottom = 2147483647;
    net.layers.push_back(c);
    expect_error(net, {"'padded'", "output shape [1, 4294967295, 1]", kLimit});
  }
  {
    // out_size() on a shape set by hand (not by infer_shapes)
    Network net;
    net.input_shape = {4};
    net.layers.push_back(simple("r", OpKind::Relu));
    net.layers[0].out_shape = {kTwo32, kTwo32};
    try {
      net.out_size(0);
      FAIL() << "no ModelError";
    } catch (const ModelError& e) {
      EXPECT_NE(std::string(e.what()).find("layer 0 'r' (Relu): output shape [4294967296, "
                                           "4294967296]"),
                std::string::npos)
          << e.what();
    }
  }
}

TEST(IrCrafted, NegativeStrideAndHugeKernel) {
  Network net;
  net.input_shape = {1, 8, 8};
  net.layers.push_back(pool("ap", OpKind::AvgPool, 2, -1));
  expect_error(net, {"'ap'", "stride h must be >= 1, got -1"});
  net.layers[0] = pool("mp", OpKind::MaxPool, 2147483647, 1);
  expect_error(net, {"'mp'", "kernel h 2147483647 is larger than the padded input 8"});
}

}  // namespace
}  // namespace polympc::nn
