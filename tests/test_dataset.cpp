// IDX and CIFAR-10 loaders (nn/src/dataset.cpp): the real Fashion-MNIST t10k split, crafted
// CIFAR-10 binary files and broken files.
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "polympc/nn/dataset.h"

namespace {

namespace fs = std::filesystem;
using polympc::nn::Dataset;
using polympc::nn::DatasetError;
using polympc::nn::load_idx_dataset;

bool have_fashion_mnist() {
  return fs::exists(std::string(polympc::nn::kFashionMnistDir) + "/t10k-images-idx3-ubyte.gz");
}

#define REQUIRE_FASHION_MNIST()                                                          \
  do {                                                                                   \
    if (!have_fashion_mnist()) GTEST_SKIP() << "dataset-fashion-mnist is not installed"; \
  } while (0)

void put_be32(std::vector<unsigned char>& b, uint32_t v) {
  b.push_back(static_cast<unsigned char>(v >> 24));
  b.push_back(static_cast<unsigned char>(v >> 16));
  b.push_back(static_cast<unsigned char>(v >> 8));
  b.push_back(static_cast<unsigned char>(v));
}

// IDX bytes: images [n, h, w] with pixel value (i + p) % 256, labels i % 10.
std::vector<unsigned char> idx_images(uint32_t n, uint32_t h, uint32_t w) {
  std::vector<unsigned char> b;
  put_be32(b, 0x00000803);
  put_be32(b, n);
  put_be32(b, h);
  put_be32(b, w);
  for (uint32_t i = 0; i < n; ++i)
    for (uint32_t p = 0; p < h * w; ++p) b.push_back(static_cast<unsigned char>((i + p) % 256));
  return b;
}
std::vector<unsigned char> idx_labels(uint32_t n) {
  std::vector<unsigned char> b;
  put_be32(b, 0x00000801);
  put_be32(b, n);
  for (uint32_t i = 0; i < n; ++i) b.push_back(static_cast<unsigned char>(i % 10));
  return b;
}

// A fresh temporary directory, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() /
            ("polympc_test_dataset_" + std::string(info->name()) + "_" +
             std::to_string(static_cast<long>(::getpid())));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string str() const { return path_.string(); }
  void write(const std::string& name, const std::vector<unsigned char>& bytes) const {
    std::ofstream f(path_ / name, std::ios::binary);
    f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  }
  void write_gz(const std::string& name, const std::vector<unsigned char>& bytes) const {
    gzFile f = gzopen((path_ / name).c_str(), "wb");
    ASSERT_NE(f, nullptr);
    ASSERT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())),
              static_cast<int>(bytes.size()));
    ASSERT_EQ(gzclose(f), Z_OK);
  }

 private:
  fs::path path_;
};

// Runs `fn`, expects DatasetError whose message contains `needle`.
template <typename Fn>
void expect_dataset_error(Fn fn, const std::string& needle) {
  try {
    fn();
    ADD_FAILURE() << "expected DatasetError containing \"" << needle << "\"";
  } catch (const DatasetError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(Dataset, LoadsFashionMnistTestSplit) {
  REQUIRE_FASHION_MNIST();
  const Dataset ds = load_idx_dataset(polympc::nn::kFashionMnistDir, "t10k");
  EXPECT_EQ(ds.count, 10000);
  EXPECT_EQ(ds.channels, 1);
  EXPECT_EQ(ds.height, 28);
  EXPECT_EQ(ds.width, 28);
  ASSERT_EQ(ds.images.size(), 10000u * 28 * 28);
  ASSERT_EQ(ds.labels.size(), 10000u);
  std::vector<int> per_class(10, 0);
  for (int l : ds.labels) {
    ASSERT_GE(l, 0);
    ASSERT_LT(l, 10);
    ++per_class[static_cast<size_t>(l)];
  }
  // Fashion-MNIST's test split is balanced: 1000 images per class.
  for (int c : per_class) EXPECT_EQ(c, 1000);
  const auto [mn, mx] = std::minmax_element(ds.images.begin(), ds.images.end());
  EXPECT_EQ(*mn, 0.0f);
  EXPECT_EQ(*mx, 1.0f);
  // The first test image is an ankle boot (class 9).
  EXPECT_EQ(ds.labels[0], 9);
  EXPECT_EQ(ds.image(1) - ds.image(0), 28 * 28);
}

TEST(Dataset, LimitLoadsPrefix) {
  REQUIRE_FASHION_MNIST();
  const Dataset all = load_idx_dataset(polympc::nn::kFashionMnistDir, "t10k");
  const Dataset some = load_idx_dataset(polympc::nn::kFashionMnistDir, "t10k", 100);
  EXPECT_EQ(some.count, 100);
  ASSERT_EQ(some.images.size(), 100u * 28 * 28);
  ASSERT_EQ(some.labels.size(), 100u);
  EXPECT_TRUE(std::equal(some.images.begin(), some.images.end(), all.images.begin()));
  EXPECT_TRUE(std::equal(some.labels.begin(), some.labels.end(), all.labels.begin()));
  EXPECT_EQ(load_idx_dataset(polympc::nn::kFashionMnistDir, "t10k", 10000).count, 10000);
}

TEST(Dataset, LimitTooLargeThrows) {
  REQUIRE_FASHION_MNIST();
  expect_dataset_error([] { load_idx_dataset(polympc::nn::kFashionMnistDir, "t10k", 10001); },
                       "asked for 10001 images but");
  expect_dataset_error([] { load_idx_dataset(polympc::nn::kFashionMnistDir, "t10k", 10001); },
                       "has 10000");
}

TEST(Dataset, MissingFileThrows) {
  TempDir dir;
  expect_dataset_error([&] { load_idx_dataset(dir.str(), "t10k"); }, "not found");
  dir.write("t10k-images-idx3-ubyte", idx_images(3, 2, 2));
  expect_dataset_error([&] { load_idx_dataset(dir.str(), "t10k"); }, "t10k-labels-idx1-ubyte");
}

TEST(Dataset, ReadsRawAndGzipFiles) {
  TempDir dir;
  dir.write("x-images-idx3-ubyte", idx_images(5, 3, 4));
  dir.write_gz("x-labels-idx1-ubyte.gz", idx_labels(5));
  const Dataset ds = load_idx_dataset(dir.str(), "x");
  EXPECT_EQ(ds.count, 5);
  EXPECT_EQ(ds.height, 3);
  EXPECT_EQ(ds.width, 4);
  ASSERT_EQ(ds.images.size(), 5u * 12);
  EXPECT_FLOAT_EQ(ds.image(2)[3], 5.0f / 255.0f);
  EXPECT_EQ(ds.labels[4], 4);
}

TEST(Dataset, TruncatedFilesThrow) {
  {
    TempDir dir;
    auto img = idx_images(4, 2, 2);
    img.resize(img.size() - 3);  // payload short
    dir.write("t-images-idx3-ubyte", img);
    dir.write("t-labels-idx1-ubyte", idx_labels(4));
    expect_dataset_error([&] { load_idx_dataset(dir.str(), "t"); }, "truncated");
  }
  {
    TempDir dir;
    dir.write("t-images-idx3-ubyte", {0x00, 0x00, 0x08});  // shorter than the magic
    dir.write("t-labels-idx1-ubyte", idx_labels(4));
    expect_dataset_error([&] { load_idx_dataset(dir.str(), "t"); }, "truncated");
  }
  {
    // gzip stream cut in the middle: zlib reports an unexpected end of file.
    TempDir dir;
    dir.write_gz("t-images-idx3-ubyte.gz", idx_images(200, 28, 28));
    const std::string gz = dir.str() + "/t-images-idx3-ubyte.gz";
    fs::resize_file(gz, fs::file_size(gz) / 2);
    dir.write("t-labels-idx1-ubyte", idx_labels(200));
    EXPECT_THROW(load_idx_dataset(dir.str(), "t"), DatasetError);
  }
}

TEST(Dataset, GarbageAndMismatchThrow) {
  {
    TempDir dir;
    std::vector<unsigned char> junk(64);
    for (size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<unsigned char>(i * 37 + 11);
    dir.write("g-images-idx3-ubyte", junk);
    dir.write("g-labels-idx1-ubyte", idx_labels(4));
    expect_dataset_error([&] { load_idx_dataset(dir.str(), "g"); }, "magic");
  }
  {
    // Labels file where the images file is expected.
    TempDir dir;
    dir.write("g-images-idx3-ubyte", idx_labels(4));
    dir.write("g-labels-idx1-ubyte", idx_labels(4));
    expect_dataset_error([&] { load_idx_dataset(dir.str(), "g"); }, "0x00000803");
  }
  {
    TempDir dir;
    auto img = idx_images(4, 2, 2);
    img.push_back(0);  // trailing byte
    dir.write("g-images-idx3-ubyte", img);
    dir.write("g-labels-idx1-ubyte", idx_labels(4));
    EXPECT_THROW(load_idx_dataset(dir.str(), "g"), DatasetError);
  }
  {
    TempDir dir;
    dir.write("g-images-idx3-ubyte", idx_images(4, 2, 2));
    dir.write("g-labels-idx1-ubyte", idx_labels(5));
    expect_dataset_error([&] { load_idx_dataset(dir.str(), "g"); }, "mismatch");
  }
  {
    TempDir dir;
    auto lab = idx_labels(4);
    lab.back() = 42;
    dir.write("g-images-idx3-ubyte", idx_images(4, 2, 2));
    dir.write("g-labels-idx1-ubyte", lab);
    expect_dataset_error([&] { load_idx_dataset(dir.str(), "g"); }, "out of range");
  }
  {
    // Not gzip despite the .gz name and not IDX either: plain garbage is read as-is.
    TempDir dir;
    dir.write("g-images-idx3-ubyte.gz", {'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd'});
    dir.write("g-labels-idx1-ubyte", idx_labels(4));
    EXPECT_THROW(load_idx_dataset(dir.str(), "g"), DatasetError);
  }
}

// ---- crafted headers (security): sizes are checked before anything is allocated ---------

// An images header [n, h, w] followed by `data` payload bytes.
std::vector<unsigned char> idx_header(uint32_t n, uint32_t h, uint32_t w, size_t data) {
  std::vector<unsigned char> b;
  put_be32(b, 0x00000803);
  put_be32(b, n);
  put_be32(b, h);
  put_be32(b, w);
  b.resize(b.size() + data, 7);
  return b;
}

// Expects DatasetError containing every fragment.
template <typename Fn>
void expect_dataset_error_all(Fn fn, std::initializer_list<std::string> needles) {
  try {
    fn();
    ADD_FAILURE() << "expected DatasetError";
  } catch (const DatasetError& e) {
    for (const std::string& n : needles)
      EXPECT_NE(std::string(e.what()).find(n), std::string::npos)
          << "'" << n << "' not in: " << e.what();
  }
}

TEST(DatasetCrafted, HeaderProductOverflows) {
  // (2^32 - 1)^3 overflows 64 bits; 2^48 and 2^32 do not, but exceed the limit of 2^31
  // bytes. Each on a tiny file, plain and gzip.
  struct Case {
    uint32_t n, h, w;
    std::string size;
  };
  for (const Case& c : {Case{0xffffffffu, 0xffffffffu, 0xffffffffu, "size 1 x 4294967295"},
                        Case{65536, 65536, 65536, "size 65536 x 65536"},
                        Case{65536, 65536, 1, "size 65536 x 65536"}}) {
    for (bool gz : {false, true}) {
      SCOPED_TRACE(c.size + (gz ? " gz" : " raw"));
      TempDir dir;
      const std::string name = std::string("c-images-idx3-ubyte") + (gz ? ".gz" : "");
      if (gz)
        dir.write_gz(name, idx_header(c.n, c.h, c.w, 8));
      else
        dir.write(name, idx_header(c.n, c.h, c.w, 8));
      dir.write("c-labels-idx1-ubyte", idx_labels(4));
      expect_dataset_error_all([&] { load_idx_dataset(dir.str(), "c"); },
                               {dir.str() + "/" + name,
                                "header count x rows x cols = " + std::to_string(c.n) + " x " +
                                    std::to_string(c.h) + " x " + std::to_string(c.w),
                                c.size + " exceeds the limit of 2147483648"});
    }
  }
}

TEST(DatasetCrafted, HeaderProductWrapsToFileSize) {
  // 65536 x 65537 x 4294901761 = 2^64 + 65536: the unchecked product wrapped to 65536, the
  // payload had exactly that many bytes, and a Dataset with 65537 x 4294901761-pixel
  // images over 65536 floats came back (image(1) pointed 2^48 floats past the buffer).
  TempDir dir;
  dir.write("w-images-idx3-ubyte", idx_header(65536, 65537, 4294901761u, 65536));
  dir.write("w-labels-idx1-ubyte", idx_labels(65536));
  expect_dataset_error_all(
      [&] { load_idx_dataset(dir.str(), "w"); },
      {"w-images-idx3-ubyte", "header count x rows x cols = 65536 x 65537 x 4294901761",
       "size 65536 x 65537 exceeds the limit of 2147483648"});
}

TEST(DatasetCrafted, HeaderLargerThanFile) {
  // 1000 x 28 x 28 = 784000 declared bytes (within the limit) on a 12-byte payload: a
  // truncation error before any allocation of the declared size.
  for (bool gz : {false, true}) {
    SCOPED_TRACE(gz ? "gz" : "raw");
    TempDir dir;
    const std::string name = std::string("h-images-idx3-ubyte") + (gz ? ".gz" : "");
    if (gz)
      dir.write_gz(name, idx_header(1000, 28, 28, 12));
    else
      dir.write(name, idx_header(1000, 28, 28, 12));
    dir.write("h-labels-idx1-ubyte", idx_labels(1000));
    expect_dataset_error_all(
        [&] { load_idx_dataset(dir.str(), "h"); },
        {"truncated IDX file " + dir.str() + "/" + name, "header promises 784000 data bytes",
         "(count x rows x cols = 1000 x 28 x 28)", "file has 12"});
  }
  {
    // The largest header within the limit (2^31 bytes) on a tiny file: still just truncated.
    TempDir dir;
    dir.write("m-images-idx3-ubyte", idx_header(2048, 1024, 1024, 16));
    dir.write("m-labels-idx1-ubyte", idx_labels(4));
    expect_dataset_error_all(
        [&] { load_idx_dataset(dir.str(), "m"); },
        {"truncated IDX file", "header promises 2147483648 data bytes", "file has 16"});
  }
}

TEST(DatasetCrafted, LabelCountAndZeroRows) {
  {
    TempDir dir;
    std::vector<unsigned char> lab;
    put_be32(lab, 0x00000801);
    put_be32(lab, 0xffffffffu);  // 2^32 - 1 labels > 2^31
    lab.resize(lab.size() + 4, 1);
    dir.write("l-images-idx3-ubyte", idx_images(4, 2, 2));
    dir.write("l-labels-idx1-ubyte", lab);
    expect_dataset_error_all(
        [&] { load_idx_dataset(dir.str(), "l"); },
        {"l-labels-idx1-ubyte", "header count = 4294967295", "exceeds the limit of 2147483648"});
  }
  {
    TempDir dir;
    dir.write("z-images-idx3-ubyte", idx_header(4, 0, 28, 0));
    dir.write("z-labels-idx1-ubyte", idx_labels(4));
    expect_dataset_error_all(
        [&] { load_idx_dataset(dir.str(), "z"); },
        {"z-images-idx3-ubyte", "images of 0 x 28 pixels", "rows and cols must be >= 1"});
  }
  {
    // trailing bytes in a gzip file: reported without reading the rest into memory
    TempDir dir;
    dir.write_gz("t-images-idx3-ubyte.gz", idx_header(4, 2, 2, 16 + 100000));
    dir.write("t-labels-idx1-ubyte", idx_labels(4));
    expect_dataset_error_all([&] { load_idx_dataset(dir.str(), "t"); },
                             {"corrupt IDX file", "more data after the 16 data bytes"});
  }
}

// CIFAR-10 binary records: label (first + r) % 10, then R, G, B planes whose pixel p of
// record r has value (r + p + 85 * plane) % 256.
std::vector<unsigned char> cifar_records(int n, int first = 0) {
  std::vector<unsigned char> b;
  for (int r = 0; r < n; ++r) {
    b.push_back(static_cast<unsigned char>((first + r) % 10));
    for (int plane = 0; plane < 3; ++plane)
      for (int p = 0; p < 1024; ++p) b.push_back(static_cast<unsigned char>((first + r + p + 85 * plane) % 256));
  }
  return b;
}

TEST(Cifar10, LoadsRecordsAsNchw) {
  TempDir dir;
  dir.write("test_batch.bin", cifar_records(3));
  const Dataset d = polympc::nn::load_cifar10_dataset(dir.str(), "test");
  ASSERT_EQ(d.count, 3);
  EXPECT_EQ(d.channels, 3);
  EXPECT_EQ(d.height, 32);
  EXPECT_EQ(d.width, 32);
  ASSERT_EQ(d.images.size(), 3u * 3072u);
  EXPECT_EQ(d.labels, (std::vector<int>{0, 1, 2}));
  for (int r = 0; r < 3; ++r)
    for (int plane = 0; plane < 3; ++plane)
      for (int p : {0, 31, 32, 1023})
        EXPECT_FLOAT_EQ(d.image(r)[plane * 1024 + p], static_cast<float>((r + p + 85 * plane) % 256) / 255.0f);
  EXPECT_EQ(polympc::nn::load_cifar10_dataset(dir.str(), "test", 2).count, 2);
}

TEST(Cifar10, TrainSplitSpansTheFiveBatchesAndLimitCrossesFiles) {
  TempDir dir;
  for (int i = 1; i <= 5; ++i) dir.write("data_batch_" + std::to_string(i) + ".bin", cifar_records(2, 2 * (i - 1)));
  const Dataset all = polympc::nn::load_cifar10_dataset(dir.str(), "train");
  ASSERT_EQ(all.count, 10);
  for (int r = 0; r < 10; ++r) EXPECT_EQ(all.labels[static_cast<size_t>(r)], r % 10);
  const Dataset three = polympc::nn::load_cifar10_dataset(dir.str(), "train", 3);
  ASSERT_EQ(three.count, 3);
  EXPECT_FLOAT_EQ(three.image(2)[0], 2.0f / 255.0f);  // first record of data_batch_2
  expect_dataset_error([&] { polympc::nn::load_cifar10_dataset(dir.str(), "train", 11); }, "has 10");
}

TEST(Cifar10, BrokenFilesThrowNamingTheFile) {
  TempDir dir;
  expect_dataset_error([&] { polympc::nn::load_cifar10_dataset(dir.str(), "test"); }, "test_batch.bin");
  expect_dataset_error([&] { polympc::nn::load_cifar10_dataset(dir.str(), "t10k"); }, "'train' or 'test'");
  std::vector<unsigned char> cut = cifar_records(2);
  cut.resize(cut.size() - 7);
  dir.write("test_batch.bin", cut);
  expect_dataset_error([&] { polympc::nn::load_cifar10_dataset(dir.str(), "test"); }, "not a whole");
  dir.write("test_batch.bin", {});
  expect_dataset_error([&] { polympc::nn::load_cifar10_dataset(dir.str(), "test"); }, "not a whole");
  std::vector<unsigned char> bad = cifar_records(2);
  bad[3073] = 10;  // label of record 1
  dir.write("test_batch.bin", bad);
  expect_dataset_error([&] { polympc::nn::load_cifar10_dataset(dir.str(), "test"); }, "label 10 of record 1");
}

}  // namespace
