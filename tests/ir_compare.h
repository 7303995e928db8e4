// Field-by-field comparison of two IR networks for the test suites.
#pragma once
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "polympc/nn/ir.h"

namespace polympc::testing {

/// Same size and the same bits (so -0.f differs from 0.f, NaNs compare by payload).
inline bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() &&
         (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

/// Expects a and b to have the same layers, parameters (bit for bit), windows and shapes.
inline void expect_same_ir(const nn::Network& a, const nn::Network& b) {
  ASSERT_EQ(a.layers.size(), b.layers.size());
  EXPECT_EQ(a.input_shape, b.input_shape);
  for (size_t i = 0; i < a.layers.size(); ++i) {
    const nn::Layer& x = a.layers[i];
    const nn::Layer& y = b.layers[i];
    SCOPED_TRACE("layer " + std::to_string(i) + " " + x.name);
    EXPECT_EQ(x.name, y.name);
    EXPECT_EQ(x.op, y.op);
    EXPECT_EQ(a.producers(i), b.producers(i));
    EXPECT_EQ(x.weight_shape, y.weight_shape);
    EXPECT_TRUE(same_bits(x.weight, y.weight));
    EXPECT_TRUE(same_bits(x.bias, y.bias));
    EXPECT_TRUE(same_bits(x.poly_a2, y.poly_a2));
    EXPECT_TRUE(same_bits(x.poly_a1, y.poly_a1));
    EXPECT_TRUE(same_bits(x.poly_a0, y.poly_a0));
    EXPECT_EQ(x.block_patches, y.block_patches);
    EXPECT_EQ(x.winograd, y.winograd);
    if (x.op != nn::OpKind::Linear && x.op != nn::OpKind::Poly && x.op != nn::OpKind::Relu &&
        x.op != nn::OpKind::Flatten && x.op != nn::OpKind::Add &&
        x.op != nn::OpKind::GlobalAvgPool) {
      EXPECT_EQ(x.kernel_h, y.kernel_h);
      EXPECT_EQ(x.kernel_w, y.kernel_w);
      EXPECT_EQ(x.stride_h, y.stride_h);
      EXPECT_EQ(x.stride_w, y.stride_w);
      EXPECT_EQ(x.pad_top, y.pad_top);
      EXPECT_EQ(x.pad_left, y.pad_left);
      EXPECT_EQ(x.pad_bottom, y.pad_bottom);
      EXPECT_EQ(x.pad_right, y.pad_right);
    }
    EXPECT_EQ(x.out_shape, y.out_shape);
  }
}

}  // namespace polympc::testing
