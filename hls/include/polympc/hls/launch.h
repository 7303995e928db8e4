// Launch rules shared by the kernel headers: how one Backend call on n elements splits
// into kernel launches (docs/design.md §7, §9). sim/, host/ and perfmodel/ all split calls
// with these, so the simulated, deployed and modelled launches are the same by
// construction. Host-side helpers: no kernel top calls them.
#pragma once
#include <stdint.h>

#include "polympc/hls/pragma.h"

POLYMPC_KERNEL_BEGIN
namespace polympc {
namespace hls {

/// Calls fn(offset, len) for the launches of an elementwise call on n elements, each at
/// most `limit` elements (limit 0: one launch). No launch for n = 0.
template <class F>
void for_each_launch(uint64_t n, uint64_t limit, F&& fn) {
  if (limit == 0) limit = n;
launch_chunks:
  for (uint64_t off = 0; off < n; off += limit) fn(off, n - off < limit ? n - off : limit);
}

/// Launch size of a bit-sliced kernel (64 elements per word): `limit` rounded down to a
/// multiple of 64, at least 64, so that no launch splits a word.
constexpr uint64_t block64_limit(uint64_t limit) { return limit < 128 ? 64 : limit / 64 * 64; }

}  // namespace hls
}  // namespace polympc
POLYMPC_KERNEL_END
