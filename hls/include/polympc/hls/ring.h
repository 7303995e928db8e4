// Ring words for C++14 kernels: Z_{2^bits} on uint64_t with masks (docs/design.md §4).
//
// Values live in the low `bits` bits of a uint64_t, 8 <= bits <= 64. Sums and products
// are taken mod 2^64 (unsigned wrap-around, well defined) and reduced with ring_mask(),
// which equals reduction mod 2^bits because 2^bits divides 2^64. Shift helpers are total:
// a shift count outside [0, 63] gives 0 instead of undefined behaviour, which is the
// value mod 2^64 of x << s for s >= 64 and of x >> s for s >= 64.
#pragma once
#include <stdint.h>

namespace polympc {
namespace hls {

/// Machine word of every kernel: one ring element, or 64 bit-sliced boolean shares.
typedef uint64_t word_t;

/// 2^bits - 1 for bits in [0, 64]: all ones for bits >= 64, 0 for bits <= 0.
constexpr uint64_t ring_mask(int bits) {
  return bits >= 64 ? ~uint64_t(0) : (bits <= 0 ? uint64_t(0) : ((uint64_t(1) << bits) - 1));
}

/// x << s mod 2^64; 0 when s is outside [0, 63].
constexpr uint64_t shl(uint64_t x, int s) { return (s < 0 || s >= 64) ? uint64_t(0) : x << s; }

/// x >> s (logical); 0 when s is outside [0, 63].
constexpr uint64_t shr(uint64_t x, int s) { return (s < 0 || s >= 64) ? uint64_t(0) : x >> s; }

/// 2^e mod 2^64; 0 when e is outside [0, 63].
constexpr uint64_t pow2(int e) { return shl(uint64_t(1), e); }

/// (a + b) mod 2^bits, mask = ring_mask(bits).
constexpr uint64_t ring_add(uint64_t a, uint64_t b, uint64_t mask) { return (a + b) & mask; }

/// (a - b) mod 2^bits, mask = ring_mask(bits).
constexpr uint64_t ring_sub(uint64_t a, uint64_t b, uint64_t mask) { return (a - b) & mask; }

/// (a * b) mod 2^bits, mask = ring_mask(bits).
constexpr uint64_t ring_mul(uint64_t a, uint64_t b, uint64_t mask) { return (a * b) & mask; }

/// True when bits is a ring size the kernels accept (docs/design.md §4: 8 <= bits <= 64).
constexpr bool valid_ring_bits(int bits) { return bits >= 8 && bits <= 64; }

/// ceil(a / b) for b > 0.
constexpr uint64_t ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

/// `Lanes` words moved together: one beat of a Lanes*64-bit AXI/stream interface.
template <unsigned Lanes>
struct Packet {
  word_t w[Lanes];
};

}  // namespace hls
}  // namespace polympc
