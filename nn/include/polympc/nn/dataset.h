// Image classification data sets: IDX format (LeCun's MNIST format, gzip or raw), e.g.
// Fashion-MNIST from Debian's dataset-fashion-mnist, and the CIFAR-10 binary version.
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
  std::vector<int> labels;           ///< N, in [0, 10); -1 when unknown (load_idx_images)
  /// Pointer to image i (channels*height*width floats).
  const float* image(int64_t i) const { return images.data() + i * channels * height * width; }
};

/// Throws DatasetError unless `d` holds the images [first, first + count) and each has
/// `input_size` elements (the model's input, without batch), so that reading them stays
/// inside d.images.
void check_images(const Dataset& d, size_t first, size_t count, int64_t input_size);

/// Loads split "train" or "t10k" from `dir` (files <split>-images-idx3-ubyte[.gz] and
/// <split>-labels-idx1-ubyte[.gz]). `limit` < 0 loads all; a limit larger than the set
/// throws DatasetError saying how many images the set has.
///
/// The headers are checked before anything is allocated: count x rows x cols (images) and
/// count (labels) must be at most mpc::kMaxTensorElements (2^31) bytes, rows and cols
/// >= 1, and an uncompressed file must hold exactly that many data bytes after its
/// header (a gzip file is read in chunks and must decompress to exactly that many).
/// Otherwise DatasetError names the file and the header fields, e.g. "truncated IDX file
/// <path>: header promises 784000 data bytes (count x rows x cols = 1000 x 28 x 28), file
/// has 12". Images are [count, 1, rows, cols] floats in [0, 1].
Dataset load_idx_dataset(const std::string& dir, const std::string& split, int64_t limit = -1);

/// Loads the images of one IDX images file (magic 0x00000803, e.g. a user's own images
/// for `polympc query --input`), without labels (every label is -1). Same checks as
/// load_idx_dataset.
Dataset load_idx_images(const std::string& path, int64_t limit = -1);

/// Loads the CIFAR-10 binary version (Krizhevsky 2009, "cifar-10-binary.tar.gz" unpacked:
/// https://www.cs.toronto.edu/~kriz/cifar.html). Split "train" reads data_batch_1.bin ...
/// data_batch_5.bin, split "test" test_batch.bin, from `dir`. Each record is 3073 bytes:
/// the label (0..9), then 1024 red, 1024 green and 1024 blue pixels, row-major 32 x 32.
/// Images are [count, 3, 32, 32] floats pixel / 255 in [0, 1], the same scaling as the
/// IDX loader. `limit` < 0 loads all. Throws DatasetError naming the file for a missing
/// file, a size that is not a whole number of records (or is empty), a label >= 10, or a
/// limit larger than the split.
Dataset load_cifar10_dataset(const std::string& dir, const std::string& split, int64_t limit = -1);

}  // namespace polympc::nn
