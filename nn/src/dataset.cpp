// IDX data set loader (LeCun's MNIST format, http://yann.lecun.com/exdb/mnist/):
// big-endian header, magic 0x00000803 (unsigned bytes, 3 dims: N, H, W) for images and
// 0x00000801 (1 dim: N) for labels, then the raw bytes. Files may be gzip-compressed;
// zlib's gz* functions read plain files transparently as well.
#include "polympc/nn/dataset.h"

#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <memory>

#include "polympc/mpc/checked.h"

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
  throw DatasetError("data file not found: " + plain +
                     "[.gz] (install Debian's "
                     "dataset-fashion-mnist or pass the directory holding the IDX files)");
}

std::string hex32(uint32_t v) {
  char s[16];
  std::snprintf(s, sizeof s, "0x%08x", v);
  return s;
}

uint32_t read_be32(const unsigned char* b) {
  return (static_cast<uint32_t>(b[0]) << 24) | (static_cast<uint32_t>(b[1]) << 16) |
         (static_cast<uint32_t>(b[2]) << 8) | static_cast<uint32_t>(b[3]);
}

// An open gzFile (zlib reads plain files transparently), closed by close() or on unwind.
class GzReader {
 public:
  explicit GzReader(const std::string& path) : path_(path), f_(gzopen(path.c_str(), "rb")) {
    if (f_ == nullptr) throw DatasetError("cannot open data file " + path);
  }
  ~GzReader() {
    if (f_ != nullptr) gzclose(f_);
  }
  GzReader(const GzReader&) = delete;
  GzReader& operator=(const GzReader&) = delete;

  /// Reads up to `n` bytes into `out`; fewer only at the end of the (decompressed) data.
  size_t read(unsigned char* out, size_t n) {
    size_t got = 0;
    while (got < n) {
      const auto want = static_cast<unsigned>(std::min<size_t>(n - got, 1u << 20));
      const int r = gzread(f_, out + got, want);
      if (r < 0) {
        int errnum = 0;
        throw DatasetError("cannot read data file " + path_ + ": " + gzerror(f_, &errnum));
      }
      if (r == 0) break;
      got += static_cast<size_t>(r);
    }
    return got;
  }
  /// True when the file is not gzip-compressed (valid after the first read()).
  bool direct() { return gzdirect(f_) == 1; }
  /// Closes the file; a truncated or corrupt gzip stream is an error.
  void close() {
    // gzread returns 0 at a premature end of a gzip stream; gzerror/gzclose report it.
    int errnum = 0;
    const std::string msg = gzerror(f_, &errnum);
    const int rc = gzclose(f_);
    f_ = nullptr;
    if (errnum != Z_OK && errnum != Z_STREAM_END)
      throw DatasetError("corrupt or truncated gzip data in " + path_ + ": " + msg);
    if (rc == Z_BUF_ERROR || rc == Z_DATA_ERROR)
      throw DatasetError("corrupt or truncated gzip data in " + path_);
  }

 private:
  std::string path_;
  gzFile f_;
};

struct IdxFile {
  std::string path;
  std::vector<uint32_t> dims;
  std::vector<unsigned char> data;  ///< the payload, prod(dims) bytes
};

// Reads an IDX file of unsigned bytes with the dimensions named by `dim_names`. The
// header's dimension product is checked against mpc::kMaxTensorElements and, for an
// uncompressed file, against the file size before anything is allocated; a gzip file is
// read in chunks, so memory grows only with the bytes actually present. The payload
// must then have exactly prod(dims) bytes.
IdxFile read_idx(const std::string& path, uint32_t magic,
                 const std::vector<const char*>& dim_names) {
  const size_t ndim = dim_names.size();
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw DatasetError("cannot open data file " + path);
  const auto file_bytes = static_cast<uint64_t>(st.st_size);
  if (file_bytes > mpc::kMaxFileBytes)
    throw DatasetError("data file " + path + " has " + std::to_string(file_bytes) +
                       " bytes, more than the limit of " + std::to_string(mpc::kMaxFileBytes));

  GzReader in(path);
  IdxFile f;
  f.path = path;
  const size_t header_size = 4 + 4 * ndim;
  std::array<unsigned char, 4 + 4 * 3> header{};
  if (header_size > header.size()) throw DatasetError("internal: IDX header too large");
  const size_t got = in.read(header.data(), header_size);
  if (got < 4) {
    throw DatasetError("truncated IDX file " + path + ": " + std::to_string(got) +
                       " bytes, too short to hold the magic number");
  }
  const uint32_t m = read_be32(header.data());
  if (m != magic) {
    throw DatasetError("not an IDX file of the expected kind: " + path + " has magic " + hex32(m) +
                       ", expected " + hex32(magic));
  }
  if (got < header_size) {
    throw DatasetError("truncated IDX file " + path + ": " + std::to_string(got) +
                       " bytes, shorter than its " + std::to_string(header_size) + "-byte header");
  }
  std::string names, values;
  for (size_t d = 0; d < ndim; ++d) {
    f.dims.push_back(read_be32(header.data() + 4 + 4 * d));
    names += (d ? " x " : "") + std::string(dim_names[d]);
    values += (d ? " x " : "") + std::to_string(f.dims.back());
  }
  const std::string field = names + " = " + values;
  // Each dimension is < 2^32, but their product can overflow 64 bits: checked.
  const uint64_t payload = mpc::checked_product<DatasetError>(
      f.dims, "IDX file " + path + ": header " + field, mpc::kMaxTensorElements,
      /*allow_zero=*/true);

  if (in.direct()) {  // uncompressed: the file size is the data size; check before reading
    const uint64_t have = file_bytes - header_size;
    if (have < payload) {
      throw DatasetError("truncated IDX file " + path + ": header promises " +
                         std::to_string(payload) + " data bytes (" + field + "), file has " +
                         std::to_string(have));
    }
    if (have > payload) {
      throw DatasetError("corrupt IDX file " + path + ": " + std::to_string(have - payload) +
                         " bytes after the " + std::to_string(payload) + " data bytes (" + field +
                         ")");
    }
    f.data.reserve(payload);
  }
  // Read in chunks up to one byte past the payload (to detect trailing data).
  std::array<unsigned char, 1 << 16> buf{};
  for (;;) {
    const uint64_t room = payload + 1 - f.data.size();
    const size_t n = in.read(buf.data(), static_cast<size_t>(std::min<uint64_t>(buf.size(), room)));
    if (n == 0) break;
    f.data.insert(f.data.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
    if (f.data.size() > payload) break;
  }
  const bool trailing = f.data.size() > payload;
  if (!trailing) in.close();  // reports a truncated or corrupt gzip stream
  if (f.data.size() < payload) {
    throw DatasetError("truncated IDX file " + path + ": header promises " +
                       std::to_string(payload) + " data bytes (" + field + "), file has " +
                       std::to_string(f.data.size()));
  }
  if (trailing) {
    throw DatasetError("corrupt IDX file " + path + ": more data after the " +
                       std::to_string(payload) + " data bytes its header declares (" + field + ")");
  }
  return f;
}

}  // namespace

namespace {

/// The first `limit` (all when < 0) images of an IDX images file as a Dataset with
/// unknown labels (-1).
Dataset images_of(const IdxFile& images, int64_t limit) {
  const int64_t n = images.dims[0];
  if (limit > n) {
    throw DatasetError("asked for " + std::to_string(limit) + " images but " + images.path +
                       " has " + std::to_string(n));
  }
  if (images.dims[1] == 0 || images.dims[2] == 0) {
    throw DatasetError("corrupt IDX file " + images.path + ": header declares images of " +
                       std::to_string(images.dims[1]) + " x " + std::to_string(images.dims[2]) +
                       " pixels (rows and cols must be >= 1)");
  }
  const int64_t count = limit < 0 ? n : limit;
  Dataset ds;
  ds.count = count;
  ds.channels = 1;
  ds.height = images.dims[1];
  ds.width = images.dims[2];
  // count <= n, so this is at most the payload size that read_idx bounded already.
  const uint64_t pixels = mpc::checked_product<DatasetError>(
      std::vector<int64_t>{count, ds.height, ds.width},
      "IDX file " + images.path + ": images to load (count x rows x cols)",
      mpc::kMaxTensorElements, /*allow_zero=*/true);
  if (pixels > images.data.size())
    throw DatasetError("internal: " + images.path + " holds fewer pixels than its header says");
  ds.images.resize(static_cast<size_t>(pixels));
  const unsigned char* px = images.data.data();
  for (size_t i = 0; i < ds.images.size(); ++i) ds.images[i] = static_cast<float>(px[i]) / 255.0f;
  ds.labels.assign(static_cast<size_t>(count), -1);
  return ds;
}

}  // namespace

Dataset load_idx_images(const std::string& path, int64_t limit) {
  return images_of(read_idx(path, kImagesMagic, {"count", "rows", "cols"}), limit);
}

Dataset load_idx_dataset(const std::string& dir, const std::string& split, int64_t limit) {
  const std::string images_path = find_file(dir, split + "-images-idx3-ubyte");
  const std::string labels_path = find_file(dir, split + "-labels-idx1-ubyte");
  const IdxFile images = read_idx(images_path, kImagesMagic, {"count", "rows", "cols"});
  const IdxFile labels = read_idx(labels_path, kLabelsMagic, {"count"});

  const int64_t n = images.dims[0];
  if (static_cast<int64_t>(labels.dims[0]) != n) {
    throw DatasetError("image/label count mismatch: " + images_path + " has " + std::to_string(n) +
                       " images but " + labels_path + " has " + std::to_string(labels.dims[0]) +
                       " labels");
  }
  Dataset ds = images_of(images, limit);
  const unsigned char* lb = labels.data.data();
  for (int64_t i = 0; i < ds.count; ++i) {
    if (lb[i] >= kNumClasses) {
      throw DatasetError("label " + std::to_string(lb[i]) + " of sample " + std::to_string(i) +
                         " in " + labels_path + " is out of range [0, " +
                         std::to_string(kNumClasses) + ")");
    }
    ds.labels[static_cast<size_t>(i)] = lb[i];
  }
  return ds;
}

Dataset load_cifar10_dataset(const std::string& dir, const std::string& split, int64_t limit) {
  constexpr int64_t kSide = 32, kPlane = kSide * kSide, kRecord = 1 + 3 * kPlane;
  std::vector<std::string> files;
  if (split == "train") {
    for (int i = 1; i <= 5; ++i) files.push_back(dir + "/data_batch_" + std::to_string(i) + ".bin");
  } else if (split == "test") {
    files.push_back(dir + "/test_batch.bin");
  } else {
    throw DatasetError("CIFAR-10 split must be 'train' or 'test', got '" + split + "'");
  }
  Dataset ds;
  ds.channels = 3;
  ds.height = ds.width = kSide;
  for (const std::string& path : files) {
    if (limit >= 0 && ds.count >= limit) break;
    if (!file_exists(path))
      throw DatasetError("CIFAR-10 file not found: " + path +
                         " (pass the directory of the unpacked binary version, cifar-10-batches-bin)");
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
    struct stat st {};
    if (!f || ::fstat(::fileno(f.get()), &st) != 0) throw DatasetError("cannot open CIFAR-10 file " + path);
    const int64_t bytes = st.st_size;
    if (bytes <= 0 || bytes % kRecord != 0)
      throw DatasetError("corrupt CIFAR-10 file " + path + ": " + std::to_string(bytes) +
                         " bytes is not a whole, non-zero number of 3073-byte records");
    int64_t records = bytes / kRecord;
    if (limit >= 0) records = std::min(records, limit - ds.count);
    if (static_cast<uint64_t>(ds.count + records) > mpc::kMaxTensorElements / (3 * kPlane))
      throw DatasetError("CIFAR-10 file " + path + ": more than " +
                         std::to_string(mpc::kMaxTensorElements / (3 * kPlane)) + " images in the split");
    std::vector<unsigned char> rec(static_cast<size_t>(kRecord));
    for (int64_t r = 0; r < records; ++r) {
      if (std::fread(rec.data(), 1, rec.size(), f.get()) != rec.size())
        throw DatasetError("short read in CIFAR-10 file " + path + " at record " + std::to_string(r));
      if (rec[0] >= kNumClasses)
        throw DatasetError("label " + std::to_string(rec[0]) + " of record " + std::to_string(r) + " in " + path +
                           " is out of range [0, " + std::to_string(kNumClasses) + ")");
      ds.labels.push_back(rec[0]);
      for (int64_t i = 1; i < kRecord; ++i) ds.images.push_back(static_cast<float>(rec[static_cast<size_t>(i)]) / 255.0f);
      ++ds.count;
    }
  }
  if (limit > ds.count)
    throw DatasetError("asked for " + std::to_string(limit) + " images but the CIFAR-10 " + split + " split in " + dir +
                       " has " + std::to_string(ds.count));
  return ds;
}

void check_images(const Dataset& d, size_t first, size_t count, int64_t input_size) {
  if (first > static_cast<size_t>(d.count) || count > static_cast<size_t>(d.count) - first)
    throw DatasetError("asked for " + std::to_string(count) + " images" +
                       (first ? " from image " + std::to_string(first) : std::string()) +
                       " but the data set has " + std::to_string(d.count));
  const int64_t image_size = d.channels * d.height * d.width;
  if (image_size != input_size)
    throw DatasetError("the data set's images have " + std::to_string(image_size) +
                       " elements but the model's input has " + std::to_string(input_size));
}

}  // namespace polympc::nn
