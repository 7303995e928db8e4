// Checked size arithmetic for every size read from a file or the wire (docs/design.md §3:
// "every size read from a file or the wire is checked"). A product or sum that would
// overflow, or exceed the project-wide limits below, throws the caller's error type with
// a message naming the field, instead of wrapping around and under-allocating.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

namespace polympc::mpc {

/// Most elements one tensor (weight, activation, image batch, material item) may have:
/// 2^31 (16 GiB of 64-bit ring words), far above any network we run, far below overflow.
constexpr uint64_t kMaxTensorElements = uint64_t{1} << 31;
/// Most bytes one file polympc reads may declare (models, architecture files, material).
constexpr uint64_t kMaxFileBytes = uint64_t{1} << 40;

/// a * b, or throws E("<what>: size overflow (a x b)") when the product exceeds `limit`.
template <class E>
uint64_t checked_mul(uint64_t a, uint64_t b, const std::string& what,
                     uint64_t limit = kMaxTensorElements) {
  if (a != 0 && b > limit / a)
    throw E(what + ": size " + std::to_string(a) + " x " + std::to_string(b) +
            " exceeds the limit of " + std::to_string(limit));
  return a * b;
}

/// a + b, or throws E when the sum exceeds `limit`.
template <class E>
uint64_t checked_add(uint64_t a, uint64_t b, const std::string& what,
                     uint64_t limit = kMaxTensorElements) {
  if (a > limit || b > limit - a)
    throw E(what + ": size " + std::to_string(a) + " + " + std::to_string(b) +
            " exceeds the limit of " + std::to_string(limit));
  return a + b;
}

/// Product of dimensions; every dimension must be >= 0 (>= 1 unless allow_zero) and the
/// product <= `limit`. Throws E naming `what` and the offending dimension.
template <class E, class Int>
uint64_t checked_product(const std::vector<Int>& dims, const std::string& what,
                         uint64_t limit = kMaxTensorElements, bool allow_zero = false) {
  uint64_t p = 1;
  for (size_t i = 0; i < dims.size(); ++i) {
    const auto d = dims[i];
    bool negative = false;
    if constexpr (std::is_signed<Int>::value) negative = d < 0;
    if (negative || (d == 0 && !allow_zero))
      throw E(what + ": dimension " + std::to_string(i) + " is " +
              std::to_string(static_cast<long long>(d)) +
              (allow_zero ? " (must be >= 0)" : " (must be >= 1)"));
    p = checked_mul<E>(p, static_cast<uint64_t>(d), what, limit);
  }
  return p;
}

}  // namespace polympc::mpc
