// libFuzzer target: the query request of `polympc serve` / `polympc query`
// (mpc::read_query_request, mpc::send_query_request). The first input byte picks the side:
// odd, the server reading a client's request (the rest of the input); even, the client
// reading the server's answer to its request (the rest of the input). The peer sends the
// bytes and hangs up. Every input must end in a request or answer, MaterialError
// (malformed, refused) or ChannelError (short); anything else is a finding.
#include <cstdint>
#include <cstdlib>

#include "polympc/mpc/channel.h"
#include "polympc/mpc/errors.h"
#include "polympc/mpc/material_file.h"

namespace mpc = polympc::mpc;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  auto [ours, peer] = mpc::make_inproc_pair();
  peer->send(data + 1, size - 1);
  peer.reset();
  try {
    if (data[0] & 1) {
      const mpc::QueryRequest q = mpc::read_query_request(*ours);
      if (q.images == 0 || q.images > mpc::kMaxQueryImages) std::abort();  // must have been refused
      mpc::answer_query_request(*ours, "");
    } else {
      mpc::send_query_request(*ours, mpc::QueryRequest{});
    }
  } catch (const mpc::MaterialError&) {
  } catch (const mpc::ChannelError&) {
  }
  return 0;
}
