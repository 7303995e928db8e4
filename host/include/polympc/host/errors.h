// Typed errors of the XRT host driver (docs/design.md §8). Each names what
// a user can act on: the xclbin file, the device index, the kernel, the argument and the
// run state, as far as they apply; the CLI prints what() on one line.
#pragma once
#include <string>
#include <utility>

#include "polympc/mpc/errors.h"

namespace polympc::host {

/// Base class of every XRT driver error. kernel(), argument() and state() are empty when
/// they do not apply.
class XrtError : public Error {
 public:
  explicit XrtError(const std::string& what, std::string kernel = {}, std::string argument = {},
                    std::string state = {})
      : Error(what), kernel_(std::move(kernel)), argument_(std::move(argument)), state_(std::move(state)) {}
  /// Kernel (extern "C" top / xclbin kernel name) the error is about.
  const std::string& kernel() const { return kernel_; }
  /// Kernel argument the error is about.
  const std::string& argument() const { return argument_; }
  /// Run state (ERT_CMD_STATE_*) or driver state the error is about.
  const std::string& state() const { return state_; }

 private:
  std::string kernel_, argument_, state_;
};

/// The xclbin file is missing, unreadable or not an xclbin.
class XclbinError : public XrtError {
 public:
  using XrtError::XrtError;
};

/// No XRT device, a device index out of range, or the device refused the xclbin.
class DeviceError : public XrtError {
 public:
  using XrtError::XrtError;
};

/// The xclbin lacks a kernel that polympc needs (hls/kernels.json).
class KernelNotFoundError : public XrtError {
 public:
  using XrtError::XrtError;
};

/// A kernel's argument list in the xclbin differs from hls/kernels.json (argument()
/// names the first differing argument), or the host marshalled an argument the
/// description does not have.
class KernelSignatureError : public XrtError {
 public:
  using XrtError::XrtError;
};

/// A run could not start, or run.wait() ended in a state other than
/// ERT_CMD_STATE_COMPLETED (state() names it).
class RunError : public XrtError {
 public:
  using XrtError::XrtError;
};

/// The device model was requested where it must not run (off the noop device).
class DeviceModelError : public XrtError {
 public:
  using XrtError::XrtError;
};

}  // namespace polympc::host
