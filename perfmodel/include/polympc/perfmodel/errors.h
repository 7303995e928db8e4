// Typed errors of the performance model (docs/design.md §15, rule 6): every message names what
// the user asked for, or the description file and field that is wrong.
#pragma once
#include <string>

#include "polympc/mpc/errors.h"

namespace polympc::perfmodel {

/// A request the model cannot answer: unknown board, network preset or architecture, a
/// choice that does not fit the layer (e.g. "poly" for a convolution), a bad option.
class PerfModelError : public polympc::Error {
 public:
  using polympc::Error::Error;
};

/// A description file (board, kernel, network preset, calibration) that cannot be read:
/// unreadable, not JSON, a missing field, a field of the wrong type, a number without its
/// source. what() = "<kind> file <file>: field '<field>': <why>".
class DescriptionError : public PerfModelError {
 public:
  DescriptionError(const std::string& kind, const std::string& file, const std::string& field,
                   const std::string& why)
      : PerfModelError(kind + " file " + file + (field.empty() ? "" : ": field '" + field + "'") + ": " + why),
        file_(file),
        field_(field) {}
  /// Path of the offending file.
  const std::string& file() const { return file_; }
  /// Dotted path of the offending field ("" when the whole file is bad).
  const std::string& field() const { return field_; }

 private:
  std::string file_, field_;
};

}  // namespace polympc::perfmodel
