// Writes the seed inputs of fuzz_material and fuzz_handshake into fuzz/corpus/ (run by
// hand after a format change: build-fuzz/fuzz/make_seeds <source dir>/fuzz/corpus): a
// genuine material file, and the genuine party-1 handshake message for the target's files.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <vector>

#include "fuzz_common.h"
#include "handshake_files.h"
#include "polympc/mpc/channel.h"

namespace {
namespace mpc = polympc::mpc;

/// Forwards to another channel and keeps what this end wrote.
class Recording : public mpc::Channel {
 public:
  explicit Recording(std::unique_ptr<mpc::Channel> inner) : inner_(std::move(inner)) {}
  std::vector<uint8_t> written;

 protected:
  void write_raw(const void* data, size_t n) override {
    const auto* p = static_cast<const uint8_t*>(data);
    written.insert(written.end(), p, p + n);
    inner_->send(data, n);
  }
  void read_raw(void* data, size_t n) override { inner_->recv(data, n); }

 private:
  std::unique_ptr<mpc::Channel> inner_;
};

void save(const std::string& path, const std::vector<uint8_t>& v) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(v.data()), static_cast<std::streamsize>(v.size()));
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds <corpus dir>\n");
    return 2;
  }
  const std::string out = argv[1], dir = polympc::fuzz::scratch();
  polympc::fuzz::write_handshake_files(dir);
  std::filesystem::copy_file(dir + "/hs.p0", out + "/material/valid.p0", std::filesystem::copy_options::overwrite_existing);
  auto channels = mpc::make_inproc_pair();
  mpc::Channel& c0 = *channels.first;
  Recording r1(std::move(channels.second));
  mpc::MaterialFile f0 = mpc::MaterialFile::open(dir + "/hs.p0", 0), f1 = mpc::MaterialFile::open(dir + "/hs.p1", 1);
  mpc::Ledger l0(dir + "/l0"), l1(dir + "/l1");
  auto p0 = std::async(std::launch::async, [&] { return mpc::run_handshake(c0, 0, f0, l0, "m", "plan", 2); });
  mpc::run_handshake(r1, 1, f1, l1, "m", "plan", 2);
  p0.get();
  save(out + "/handshake/genuine_p1", r1.written);
  std::printf("seeds written to %s (handshake message %zu bytes)\n", out.c_str(), r1.written.size());
  return 0;
}
