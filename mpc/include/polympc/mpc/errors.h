// Typed errors of the 2PC runtime. Every error carries a message a user can act on
// (docs/design.md §15, rule 6); the CLI prints what() on one line and exits non-zero.
#pragma once
#include <stdexcept>
#include <string>

namespace polympc {

/// Base class of every polympc error.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

namespace mpc {

/// Bad argument (shape, ring parameter, party index).
class InvalidArgument : public Error {
 public:
  using Error::Error;
};
/// A value does not fit the ring / fixed-point format.
class OverflowError : public Error {
 public:
  using Error::Error;
};
/// The peer went away, a read/write failed, or a message had the wrong size.
class ChannelError : public Error {
 public:
  using Error::Error;
};
/// Preprocessing (dealer) material is missing, truncated, of the wrong kind or size,
/// or for the wrong party.
class MaterialError : public Error {
 public:
  using Error::Error;
};
/// Preprocessing material was already consumed once: a second use would leak
/// (e.g. two openings masked with the same Beaver triple reveal x - x').
class MaterialReuseError : public MaterialError {
 public:
  using MaterialError::MaterialError;
};

}  // namespace mpc
}  // namespace polympc
