// XrtDevice: the RAII owner of one XRT device with polympc's xclbin loaded (docs/design.md §8),
// and the checks of an xclbin against hls/kernels.json. Internal to host/.
#pragma once
#include <string>
#include <vector>

#include <experimental/xrt_xclbin.h>
#include <xrt/xrt_device.h>
#include <xrt/xrt_kernel.h>

#include "polympc/host/kernel_desc.h"

namespace polympc::host::detail {

/// XCL_EMULATION_MODE, or "" when unset (hardware).
std::string emulation_mode();
/// True under XCL_EMULATION_MODE=noop.
bool noop_mode();

/// Devices XRT can open. The noop shim opens any index and enumerate_devices() counts 0
/// there, so under noop the model is one device (index 0). Throws DeviceError, with what
/// XRT said and what to do, when XRT cannot enumerate (e.g. XILINX_XRT unset).
unsigned device_count();

/// Why there is no usable device, and what to do: for error messages and `polympc devices`.
std::string no_device_advice();

/// One way an xclbin differs from the description.
struct XclbinProblem {
  std::string kernel;    ///< kernel concerned
  std::string argument;  ///< first differing argument; empty when the kernel is missing
  std::string message;   ///< full sentence (without the file name)
  bool missing_kernel = false;
};

/// Compares the kernels of `xclbin` with `want`: every wanted kernel present, with the
/// same argument count, names, buffer/scalar kinds and scalar sizes. Extra kernels in the
/// xclbin are allowed. Returns every difference (empty = usable).
std::vector<XclbinProblem> check_xclbin(const xrt::xclbin& xclbin, const std::vector<KernelDesc>& want);

/// Reads an xclbin file: XclbinError when it is missing or not an xclbin.
xrt::xclbin read_xclbin(const std::string& path);

/// Opens device `index`, checks `xclbin_path` against hls/kernels.json, loads it and
/// opens one xrt::kernel per described kernel (in hls::kKernelTable order).
/// Throws XclbinError, KernelNotFoundError, KernelSignatureError or DeviceError.
class XrtDevice {
 public:
  XrtDevice(const std::string& xclbin_path, unsigned index);
  XrtDevice(const XrtDevice&) = delete;
  XrtDevice& operator=(const XrtDevice&) = delete;

  xrt::device& device() { return device_; }
  const xrt::uuid& uuid() const { return uuid_; }
  unsigned index() const { return index_; }
  const std::string& xclbin_path() const { return path_; }
  /// The kernel of hls::kKernelTable[table_index].
  xrt::kernel& kernel(size_t table_index) { return kernels_.at(table_index); }

 private:
  std::string path_;
  unsigned index_;
  xrt::xclbin xclbin_;
  xrt::device device_;
  xrt::uuid uuid_;
  std::vector<xrt::kernel> kernels_;
};

}  // namespace polympc::host::detail
