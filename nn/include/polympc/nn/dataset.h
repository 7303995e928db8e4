// Image classification data sets in IDX format (LeCun's MNIST format, gzip or raw),
// e.g. Fashion-MNIST from Debian's dataset-fashion-mnist.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "polympc/mpc/errors.h"

namespace polympc::nn {

/// Missing/short/corrupt data files, or more images asked for than the set has.
class DatasetError : public polympc::Error {
 public:
  using polympc::Error::Error;
};

/// Default location of Debian's dataset-fashion-mnist.
inline const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

struct Dataset {
  int64_t count = 0;                 ///< N
  int64_t channels = 1, height = 28, width = 28;
  std::vector<float> images;         ///< NCHW, pixel / 255 in [0, 1]
  std::vector<int> labels;           ///< N, in [0, 10)
  /// Pointer to image i (channels*height*width floats).
  const float* image(int64_t i) const { return images.data() + i * channels * height * width; }
};

/// Loads split "train" or "t10k" from `dir` (files <split>-images-idx3-ubyte[.gz] and
/// <split>-labels-idx1-ubyte[.gz]). `limit` < 0 loads all; a limit larger than the set
/// throws DatasetError saying how many images the set has.
Dataset load_idx_dataset(const std::string& dir, const std::string& split, int64_t limit = -1);

}  // namespace polympc::nn
