// Reference files of the PyTorch-exported ONNX fixtures (tests/data/<name>.ref.txt, written
// by scripts/make_onnx_fixtures.py): a fixed input batch and PyTorch's float output.
#pragma once
#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "polympc/nn/dataset.h"

namespace polympc::testing {

namespace nn = polympc::nn;

struct TorchRef {
  std::vector<int64_t> in_dims, out_dims;
  std::vector<float> input, output;
};

inline TorchRef read_ref(const std::string& path) {
  std::ifstream f(path);
  EXPECT_TRUE(f.good()) << path;
  TorchRef r;
  auto read_block = [&f](std::vector<int64_t>& dims, std::vector<float>& v) {
    std::string name;
    int rank = 0;
    f >> name >> rank;
    dims.resize(static_cast<size_t>(rank));
    int64_t n = 1;
    for (auto& d : dims) {
      f >> d;
      n *= d;
    }
    v.resize(static_cast<size_t>(n));
    for (auto& x : v) f >> x;
  };
  read_block(r.in_dims, r.input);
  read_block(r.out_dims, r.output);
  return r;
}

/// The fixture's input as a one-batch data set (labels unused).
inline nn::Dataset dataset_of(const TorchRef& ref) {
  nn::Dataset d;
  d.count = ref.in_dims[0];
  d.channels = ref.in_dims[1];
  d.height = ref.in_dims[2];
  d.width = ref.in_dims[3];
  d.images = ref.input;
  d.labels.assign(static_cast<size_t>(d.count), 0);
  return d;
}

/// The fixture tests/data/<name>.ref.txt's input as a data set.
inline nn::Dataset fixture_inputs(const std::string& name) {
  return dataset_of(read_ref(std::string(POLYMPC_TEST_DATA_DIR) + "/" + name + ".ref.txt"));
}

}  // namespace polympc::testing
