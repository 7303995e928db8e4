// XrtBackend: mpc::Backend on the kernels of an xclbin, through the XRT native API
// (docs/design.md §6, §8; host code in the style of Vitis_Accel_Examples host_xrt).
//
// Construction opens XRT device `device`, checks the xclbin against hls/kernels.json
// (every kernel present, same argument lists), loads it and opens one xrt::kernel per
// kernel. Each Backend call validates its arguments exactly like sim::SimBackend, splits
// the work into launches exactly like it (same kernel bounds, same modelled cycles in
// counters()), and runs them: per launch the inputs are copied into BOs allocated with
// kernel.group_id(arg) and synced to the device, scalars and BOs are set on an xrt::run,
// the run is started, and run.wait() is checked against ERT_CMD_STATE_COMPLETED before
// the outputs are synced back and copied out. BOs and runs are kept per kernel and reused
// across calls (grown when a launch needs more); `runs_in_flight` sets of them let the
// next launch of a call be staged and started while the previous one runs.
//
// Device model (the noop device runs nothing, docs/fpga.md): when active, after
// run.wait() the kernel's extern "C" top from kernels/ runs on the bo.map() memory of the
// run's buffers, with output BOs poisoned beforehand, so the results are the kernel's and
// prove the marshalling. It is allowed only under XCL_EMULATION_MODE=noop: on hardware or
// hw_emu it would overwrite what the device computed (DeviceModelError).
//
// Errors (polympc/host/errors.h): XclbinError (file missing / not an xclbin),
// KernelNotFoundError, KernelSignatureError (naming kernel and argument), DeviceError
// (no device, index out of range, load refused), RunError (naming kernel and state),
// DeviceModelError; mpc::InvalidArgument for bad call arguments, as in SimBackend.
// Thread-safe: calls may come from several threads (one lock per kernel).
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "polympc/mpc/backend.h"

namespace polympc::host {

/// Whether the device model runs after each run.wait().
enum class DeviceModel {
  kAuto,  ///< POLYMPC_XRT_DEVICE_MODEL=on|off|auto if set, else on exactly under XCL_EMULATION_MODE=noop
  kOn,    ///< required (DeviceModelError off the noop device)
  kOff,   ///< never (on the noop device outputs are then whatever the BOs held)
};

/// "auto" | "on" | "off"; throws mpc::InvalidArgument naming the choices otherwise.
DeviceModel parse_device_model(const std::string& text);
const char* to_string(DeviceModel m);

struct XrtOptions {
  std::string xclbin;                         ///< xclbin file (required)
  unsigned device = 0;                        ///< XRT device index
  DeviceModel device_model = DeviceModel::kAuto;
  /// Upper bound on elements per launch (as SimOptions::max_batch; 0 = kernel bound).
  size_t max_batch = 0;
  /// Upper bound on channels per poly_eval launch (as SimOptions::max_channels; 0 = kernel bound).
  size_t max_channels = 0;
  /// Runs (with their BO sets) per kernel that may be in flight at once; at least 1.
  unsigned runs_in_flight = 2;
  /// run.wait() timeout in milliseconds (0 = wait forever); a timeout is a RunError.
  unsigned run_timeout_ms = 0;
};

class XrtBackend final : public mpc::Backend {
 public:
  explicit XrtBackend(const XrtOptions& options);
  ~XrtBackend() override;
  XrtBackend(const XrtBackend&) = delete;
  XrtBackend& operator=(const XrtBackend&) = delete;

  /// "xrt".
  std::string name() const override;

  void beaver_mul_combine(int party, int bits, size_t n, const uint64_t* d, const uint64_t* e,
                          const uint64_t* a, const uint64_t* b, const uint64_t* c,
                          uint64_t* z) override;
  void matmul_combine(int party, int bits, size_t m, size_t k, size_t n, const uint64_t* e,
                      const uint64_t* f, const uint64_t* a, const uint64_t* b, const uint64_t* c,
                      uint64_t* z) override;
  void poly_eval(int party, int bits, const mpc::PolyShape& s, mpc::PolyMode mode,
                 const mpc::PolyEvalArgs& args, uint64_t* z) override;
  void trunc_exact_combine(int party, int bits, int shift, size_t n, const uint64_t* x,
                           const uint64_t* carry, const uint64_t* wrap, uint64_t* z) override;
  void trunc_prob_combine(int party, int bits, int shift, int offset_bits, size_t n,
                          const uint64_t* c, const uint64_t* r_shr, uint64_t* z) override;
  void gmw_and_level(int party, size_t words, const uint64_t* d, const uint64_t* e,
                     const uint64_t* a, const uint64_t* b, const uint64_t* c,
                     uint64_t* z) override;
  void b2a_combine(int party, int bits, size_t n, const uint64_t* e_packed, const uint64_t* r,
                   uint64_t* z) override;
  void bit_slice(int bits, size_t n, const uint64_t* x, uint64_t* planes) override;
  /// One winograd_transform_top run per call (tile gather and crop in the kernel).
  void winograd_transform(int bits, mpc::WinogradMode mode, const mpc::WinogradShape& s,
                          const uint64_t* in, uint64_t* out) override;
  /// On the dcf_eval kernel; key headers are checked on the host first (MaterialError).
  void dcf_eval(int party, int depth, size_t n, const uint64_t* keys, const uint64_t* x,
                uint64_t* out) override;

  /// Per Backend method, as sim::SimBackend::counters() (calls, elements, modelled cycles).
  std::map<std::string, mpc::KernelCounters> counters() const override;

  /// Kernel runs started since construction, per kernel top (xclbin kernel name).
  std::map<std::string, uint64_t> runs() const;
  /// Most runs of one kernel that were in flight at the same time.
  unsigned max_runs_in_flight() const;
  /// BOs allocated since construction (all kernels): stays put while calls fit the
  /// buffers already allocated.
  uint64_t bo_allocations() const;
  /// True when the device model runs after each run.wait().
  bool device_model_active() const;
  /// UUID of the loaded xclbin.
  std::string xclbin_uuid() const;
  const XrtOptions& options() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace polympc::host
