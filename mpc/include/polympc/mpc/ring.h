// The ring Z_{2^l} and signed fixed point on it (docs/design.md §4).
//
// Values live in uint64_t; only the low `bits` bits are meaningful (mask()).
// A real number v is encoded as round(v * 2^f) mod 2^l; decoding reads the word as a
// two's-complement integer of `bits` bits and divides by 2^f.
#pragma once
#include <cmath>
#include <cstdint>
#include <string>

#include "polympc/mpc/errors.h"

namespace polympc::mpc {

/// Ring and fixed-point parameters. Defaults: l = 64, f = 12.
struct RingConfig {
  int bits = 64;   ///< l, 8 <= l <= 64
  int frac = 12;   ///< f, fractional bits, 0 <= f < l/2

  /// 2^l - 1 (all ones for l = 64).
  uint64_t mask() const { return bits >= 64 ? ~uint64_t{0} : ((uint64_t{1} << bits) - 1); }
  /// Throws InvalidArgument when l or f is out of range.
  void validate() const {
    if (bits < 8 || bits > 64)
      throw InvalidArgument("ring bits l=" + std::to_string(bits) + " outside [8, 64]");
    if (frac < 0 || 2 * frac >= bits)
      throw InvalidArgument("fractional bits f=" + std::to_string(frac) +
                            " must satisfy 0 <= 2f < l=" + std::to_string(bits));
  }
  /// Reads w (mod 2^l) as a signed integer in [-2^(l-1), 2^(l-1)).
  int64_t to_signed(uint64_t w) const {
    w &= mask();
    if (bits < 64 && (w >> (bits - 1)) & 1) return static_cast<int64_t>(w | ~mask());
    return static_cast<int64_t>(w);
  }
  /// Signed integer -> ring word.
  uint64_t from_signed(int64_t v) const { return static_cast<uint64_t>(v) & mask(); }
  /// Largest / smallest representable signed integers.
  int64_t max_signed() const { return bits >= 64 ? INT64_MAX : (int64_t{1} << (bits - 1)) - 1; }
  int64_t min_signed() const { return bits >= 64 ? INT64_MIN : -(int64_t{1} << (bits - 1)); }

  /// Encodes a real number with `scale` fractional bits (default f). Rounds to nearest.
  /// Throws OverflowError if the value does not fit l bits, or is not finite.
  uint64_t encode(double v, int scale = -1) const {
    if (scale < 0) scale = frac;
    double s = std::ldexp(v, scale);
    if (!std::isfinite(s) || s >= std::ldexp(1.0, bits - 1) || s < -std::ldexp(1.0, bits - 1))
      throw OverflowError("value " + std::to_string(v) + " does not fit fixed point l=" +
                          std::to_string(bits) + ", scale=" + std::to_string(scale));
    return from_signed(static_cast<int64_t>(std::llround(s)));
  }
  /// Decodes a ring word holding a value with `scale` fractional bits (default f).
  double decode(uint64_t w, int scale = -1) const {
    if (scale < 0) scale = frac;
    return std::ldexp(static_cast<double>(to_signed(w)), -scale);
  }
  /// Arithmetic (sign-propagating) right shift of a ring word, result mod 2^l:
  /// floor(x / 2^s) of the signed value. The plaintext twin of exact truncation.
  uint64_t arith_shift(uint64_t w, int s) const { return from_signed(to_signed(w) >> s); }
};

}  // namespace polympc::mpc
