// libFuzzer target: the IDX image reader (nn::load_idx_dataset). The first byte chooses
// which of the two files the rest replaces (even: the images file, odd: the labels file);
// the other is a valid file for 2 images of 28 x 28. Every input must load or raise a
// polympc error (DatasetError naming the file); anything else is a finding.
#include <cstdint>
#include <vector>

#include "fuzz_common.h"
#include "polympc/mpc/errors.h"
#include "polympc/nn/dataset.h"

namespace {
std::vector<uint8_t> valid_images() {
  std::vector<uint8_t> v = {0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 28, 0, 0, 0, 28};
  for (int i = 0; i < 2 * 28 * 28; ++i) v.push_back(static_cast<uint8_t>(i * 7));
  return v;
}
std::vector<uint8_t> valid_labels() { return {0, 0, 8, 1, 0, 0, 0, 2, 3, 9}; }
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string dir = polympc::fuzz::scratch();
  const std::vector<uint8_t> img = valid_images(), lab = valid_labels();
  const bool fuzz_images = (data[0] & 1) == 0;
  polympc::fuzz::write_file(dir + "/t10k-images-idx3-ubyte", fuzz_images ? data + 1 : img.data(),
                            fuzz_images ? size - 1 : img.size());
  polympc::fuzz::write_file(dir + "/t10k-labels-idx1-ubyte", fuzz_images ? lab.data() : data + 1,
                            fuzz_images ? lab.size() : size - 1);
  try {
    const polympc::nn::Dataset d = polympc::nn::load_idx_dataset(dir, "t10k");
    (void)d;
  } catch (const polympc::Error&) {
  }
  return 0;
}
