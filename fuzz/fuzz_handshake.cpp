// libFuzzer target: the run handshake (mpc::run_handshake) as party 0 against a peer whose
// message is the input: the peer sends it, reads party 0's message and hangs up. Every
// input must end the handshake with an agreement (only a genuine peer message) or a
// polympc error (MaterialError naming the field, ChannelError when the peer's message is
// short); anything else (a crash, a sanitizer report, another exception, a hang) is a
// finding.
#include <cstdint>
#include <filesystem>
#include <future>
#include <vector>

#include "fuzz_common.h"
#include "handshake_files.h"
#include "polympc/mpc/channel.h"
#include "polympc/mpc/errors.h"

namespace {
namespace mpc = polympc::mpc;

struct Setup {
  std::string dir = polympc::fuzz::scratch();
  mpc::MaterialFile p0;
  uint64_t p0_message_bytes = 0;  ///< what party 0 sends in the handshake
  Setup() : p0((polympc::fuzz::write_handshake_files(dir), mpc::MaterialFile::open(dir + "/hs.p0", 0))) {
    // One genuine handshake measures party 0's message.
    mpc::MaterialFile p1 = mpc::MaterialFile::open(dir + "/hs.p1", 1);
    auto ch = mpc::make_inproc_pair();
    mpc::Ledger l0(dir + "/setup_l0"), l1(dir + "/setup_l1");
    auto a = std::async(std::launch::async, [&] { return mpc::run_handshake(*ch.first, 0, p0, l0, "m", "plan", 2); });
    mpc::run_handshake(*ch.second, 1, p1, l1, "m", "plan", 2);
    a.get();
    p0_message_bytes = ch.second->total().bytes_received;
  }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Setup setup;
  const std::string ledger_path = setup.dir + "/ledger";
  std::filesystem::remove(ledger_path);
  mpc::Ledger ledger(ledger_path);
  auto ch = mpc::make_inproc_pair();
  auto party0 = std::async(std::launch::async, [&] {
    try {
      mpc::run_handshake(*ch.first, 0, setup.p0, ledger, "m", "plan", 2);
    } catch (const polympc::Error&) {
      ch.first.reset();  // so that the peer's read below cannot wait forever
    }
  });
  try {
    if (size > 0) ch.second->send(data, size);
    std::vector<uint8_t> theirs(setup.p0_message_bytes);
    ch.second->recv(theirs.data(), theirs.size());
  } catch (const polympc::Error&) {
  }
  ch.second.reset();  // the peer hangs up: party 0 must not wait for more
  party0.get();
  return 0;
}
