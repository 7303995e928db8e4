// IDX data set loader (LeCun's MNIST format, http://yann.lecun.com/exdb/mnist/):
// big-endian header, magic 0x00000803 (unsigned bytes, 3 dims: N, H, W) for images and
// 0x00000801 (1 dim: N) for labels, then the raw bytes. Files may be gzip-compressed;
// zlib's gz* functions read plain files transparently as well.
#include "polympc/nn/dataset.h"

#include <zlib.h>

#include <array>
#include <cstdio>
#include <sys/stat.h>

namespace polympc::nn {
namespace {

constexpr uint32_t kImagesMagic = 0x00000803;
constexpr uint32_t kLabelsMagic = 0x00000801;
constexpr int kNumClasses = 10;

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// "<dir>/<base>.gz" if present, else "<dir>/<base>"; DatasetError if neither exists.
std::string find_file(const std::string& dir, const std::string& base) {
  const std::string plain = dir + "/" + base;
  if (file_exists(plain + ".gz")) return plain + ".gz";
  if (file_exists(plain)) return plain;
  throw DatasetError("data file not found: " + plain + "[.gz] (install Debian's "
                     "dataset-fashion-mnist or pass the directory holding the IDX files)");
}

// Whole (decompressed) content of `path`. A truncated gzip stream is an error.
std::vector<unsigned char> read_all(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) throw DatasetError("cannot open data file " + path);
  std::vector<unsigned char> out;
  std::array<unsigned char, 1 << 16> buf{};
  for (;;) {
    const int n = gzread(f, buf.data(), static_cast<unsigned>(buf.size()));
    if (n < 0) {
      int errnum = 0;
      const std::string msg = gzerror(f, &errnum);
      gzclose(f);
      throw DatasetError("cannot read data file " + path + ": " + msg);
    }
    if (n == 0) break;
    out.insert(out.end(), buf.begin(), buf.begin() + n);
  }
  // gzread returns 0 at a premature end of a gzip stream; gzclose_r then reports it.
  int errnum = 0;
  const std::string msg = gzerror(f, &errnum);
  const int rc = gzclose(f);
  if (errnum != Z_OK && errnum != Z_STREAM_END) {
    throw DatasetError("corrupt or truncated gzip data in " + path + ": " + msg);
  }
  if (rc == Z_BUF_ERROR || rc == Z_DATA_ERROR) {
    throw DatasetError("corrupt or truncated gzip data in " + path);
  }
  return out;
}

uint32_t read_be32(const std::vector<unsigned char>& b, size_t off) {
  return (static_cast<uint32_t>(b[off]) << 24) | (static_cast<uint32_t>(b[off + 1]) << 16) |
         (static_cast<uint32_t>(b[off + 2]) << 8) | static_cast<uint32_t>(b[off + 3]);
}

std::string hex32(uint32_t v) {
  char s[16];
  std::snprintf(s, sizeof s, "0x%08x", v);
  return s;
}

struct IdxFile {
  std::string path;
  std::vector<uint32_t> dims;
  std::vector<unsigned char> bytes;  ///< whole file; payload starts at header_size
  size_t header_size = 0;
};

// Parses and checks the header of an IDX file of unsigned bytes with `ndim` dimensions
// and checks that the payload has exactly prod(dims) bytes.
IdxFile read_idx(const std::string& path, uint32_t magic, size_t ndim) {
  IdxFile f;
  f.path = path;
  f.bytes = read_all(path);
  f.header_size = 4 + 4 * ndim;
  if (f.bytes.size() < 4) {
    throw DatasetError("truncated IDX file " + path + ": " + std::to_string(f.bytes.size()) +
                       " bytes, too short to hold the magic number");
  }
  const uint32_t got = read_be32(f.bytes, 0);
  if (got != magic) {
    throw DatasetError("not an IDX file of the expected kind: " + path + " has magic " +
                       hex32(got) + ", expected " + hex32(magic));
  }
  if (f.bytes.size() < f.header_size) {
    throw DatasetError("truncated IDX file " + path + ": " + std::to_string(f.bytes.size()) +
                       " bytes, shorter than its " + std::to_string(f.header_size) +
                       "-byte header");
  }
  uint64_t payload = 1;
  for (size_t d = 0; d < ndim; ++d) {
    f.dims.push_back(read_be32(f.bytes, 4 + 4 * d));
    payload *= f.dims.back();
  }
  const uint64_t have = f.bytes.size() - f.header_size;
  if (have < payload) {
    throw DatasetError("truncated IDX file " + path + ": header promises " +
                       std::to_string(payload) + " data bytes, file has " +
                       std::to_string(have));
  }
  if (have > payload) {
    throw DatasetError("corrupt IDX file " + path + ": " + std::to_string(have - payload) +
                       " bytes after the " + std::to_string(payload) + " data bytes");
  }
  return f;
}

}  // namespace

Dataset load_idx_dataset(const std::string& dir, const std::string& split, int64_t limit) {
  const std::string images_path = find_file(dir, split + "-images-idx3-ubyte");
  const std::string labels_path = find_file(dir, split + "-labels-idx1-ubyte");
  const IdxFile images = read_idx(images_path, kImagesMagic, 3);
  const IdxFile labels = read_idx(labels_path, kLabelsMagic, 1);

  const int64_t n = images.dims[0];
  if (static_cast<int64_t>(labels.dims[0]) != n) {
    throw DatasetError("image/label count mismatch: " + images_path + " has " +
                       std::to_string(n) + " images but " + labels_path + " has " +
                       std::to_string(labels.dims[0]) + " labels");
  }
  if (limit > n) {
    throw DatasetError("asked for " + std::to_string(limit) + " images but " + images_path +
                       " has " + std::to_string(n));
  }
  const int64_t count = limit < 0 ? n : limit;

  Dataset ds;
  ds.count = count;
  ds.channels = 1;
  ds.height = images.dims[1];
  ds.width = images.dims[2];
  const int64_t per_image = ds.height * ds.width;
  ds.images.resize(static_cast<size_t>(count * per_image));
  const unsigned char* px = images.bytes.data() + images.header_size;
  for (size_t i = 0; i < ds.images.size(); ++i) ds.images[i] = static_cast<float>(px[i]) / 255.0f;

  ds.labels.resize(static_cast<size_t>(count));
  const unsigned char* lb = labels.bytes.data() + labels.header_size;
  for (int64_t i = 0; i < count; ++i) {
    if (lb[i] >= kNumClasses) {
      throw DatasetError("label " + std::to_string(lb[i]) + " of sample " + std::to_string(i) +
                         " in " + labels_path + " is out of range [0, " +
                         std::to_string(kNumClasses) + ")");
    }
    ds.labels[static_cast<size_t>(i)] = lb[i];
  }
  return ds;
}

}  // namespace polympc::nn
