// Small networks built in the IR for tests: a CNN with every layer kind the 2PC executor
// runs (conv with and without padding, poly per channel and scalar, avg pool with a power-
// of-two and a non-power-of-two window, ReLU, max pool, flatten, linear), with random
// weights from a fixed seed.
#pragma once
#include <cmath>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "polympc/nn/ir.h"

namespace polympc::testing {

namespace nn = polympc::nn;


inline nn::Layer conv(const std::string& name, int cin, int cout, int k, std::mt19937& g, int pad = 0) {
  nn::Layer L;
  L.name = name;
  L.op = nn::OpKind::Conv;
  L.weight_shape = {cout, cin, k, k};
  std::normal_distribution<float> w(0.f, 1.0f / std::sqrt(static_cast<float>(cin * k * k)));
  for (int i = 0; i < cout * cin * k * k; ++i) L.weight.push_back(w(g));
  for (int i = 0; i < cout; ++i) L.bias.push_back(0.1f * w(g));
  L.kernel_h = L.kernel_w = k;
  L.pad_top = L.pad_left = L.pad_bottom = L.pad_right = pad;
  return L;
}
inline nn::Layer linear(const std::string& name, int in, int out, std::mt19937& g) {
  nn::Layer L;
  L.name = name;
  L.op = nn::OpKind::Linear;
  L.weight_shape = {out, in};
  std::normal_distribution<float> w(0.f, 1.0f / std::sqrt(static_cast<float>(in)));
  for (int i = 0; i < out * in; ++i) L.weight.push_back(w(g));
  for (int i = 0; i < out; ++i) L.bias.push_back(0.1f * w(g));
  return L;
}
inline nn::Layer simple(const std::string& name, nn::OpKind op, int k = 2) {
  nn::Layer L;
  L.name = name;
  L.op = op;
  L.kernel_h = L.kernel_w = L.stride_h = L.stride_w = k;
  return L;
}
inline nn::Layer poly(const std::string& name, int channels) {
  nn::Layer L = simple(name, nn::OpKind::Poly);
  for (int c = 0; c < channels; ++c) {
    L.poly_a2.push_back(0.005f * static_cast<float>(c % 3 + 1));
    L.poly_a1.push_back(1.0f - 0.05f * static_cast<float>(c % 4));
    L.poly_a0.push_back(0.01f * static_cast<float>(c % 5));
  }
  return L;
}

inline nn::Network every_layer_cnn() {
  std::mt19937 g(42);
  nn::Network net;
  net.name = "every-layer";
  net.input_shape = {1, 28, 28};
  net.layers.push_back(conv("conv1", 1, 4, 5, g));      // 4x24x24
  net.layers.push_back(poly("act1", 4));
  net.layers.push_back(simple("pool1", nn::OpKind::AvgPool));  // 4x12x12
  net.layers.push_back(conv("conv2", 4, 6, 3, g, 1));   // 6x12x12
  net.layers.push_back(simple("act2", nn::OpKind::Relu));
  net.layers.push_back(simple("pool2", nn::OpKind::MaxPool));  // 6x6x6
  net.layers.push_back(simple("pool3", nn::OpKind::AvgPool, 3));  // 6x2x2, window 9 (not a power of 2)
  net.layers.push_back(simple("flatten", nn::OpKind::Flatten));
  net.layers.push_back(linear("fc1", 24, 16, g));
  net.layers.push_back(poly("act3", 1));
  net.layers.push_back(linear("fc2", 16, 10, g));
  net.infer_shapes();
  return net;
}


/// Block-ReLU channels of every kind on a plane whose sides are not multiples of the
/// patches (26 x 26 in block_relu_cnn): 1x1 (plain ReLU), identity, zero, 3x3, 4x5, 8x8
/// and 2x7, the right / bottom patches cropped.
inline std::vector<nn::BlockPatch> every_block_patch() {
  std::vector<nn::BlockPatch> p;
  for (const char* s : {"relu", "identity", "zero", "3x3", "4x5", "8x8", "2x7"})
    p.push_back(nn::parse_block_patch(s));
  return p;
}
inline nn::Layer block_relu(const std::string& name, std::vector<nn::BlockPatch> patches) {
  nn::Layer L = simple(name, nn::OpKind::BlockRelu, 1);
  L.block_patches = std::move(patches);
  return L;
}
/// conv 3x3 (7 channels, 26 x 26) -> Block-ReLU of every patch kind -> avg pool 2 ->
/// flatten -> linear: the Block-ReLU network of the tests.
inline nn::Network block_relu_cnn() {
  std::mt19937 g(11);
  nn::Network net;
  net.name = "block-relu";
  net.input_shape = {1, 28, 28};
  net.layers.push_back(conv("conv1", 1, 7, 3, g));  // 7x26x26
  net.layers.push_back(block_relu("block", every_block_patch()));
  net.layers.push_back(simple("pool", nn::OpKind::AvgPool));  // 7x13x13
  net.layers.push_back(simple("flatten", nn::OpKind::Flatten));
  net.layers.push_back(linear("fc", 7 * 13 * 13, 10, g));
  net.infer_shapes();
  return net;
}

}  // namespace polympc::testing
