// What `polympc devices` shows (docs/design.md §13): the XRT devices, the xclbin loaded on
// each, and whether an xclbin file fits this polympc (hls/kernels.json). XRT-free types.
#pragma once
#include <string>
#include <vector>

namespace polympc::host {

/// One XRT device.
struct DeviceInfo {
  unsigned index = 0;
  std::string name;         ///< shell/platform name, or why XRT does not report it
  std::string bdf;          ///< PCIe bus:device.function, or why XRT does not report it
  std::string xclbin_uuid;  ///< UUID of the loaded xclbin; empty when none is loaded
  std::vector<std::string> compute_units;  ///< "kernel:cu" of the loaded xclbin (IP_LAYOUT)
};

/// The devices XRT sees in this environment.
struct DeviceListing {
  std::string emulation_mode;  ///< XCL_EMULATION_MODE ("" = hardware)
  std::string xilinx_xrt;      ///< XILINX_XRT ("" = unset)
  std::vector<DeviceInfo> devices;
  std::string why_none;        ///< when devices is empty: what XRT said and what to do
};

/// Lists the devices. When `load_xclbin` is not empty it is first loaded onto device
/// `load_index` (as `polympc infer --backend xrt` does), so the listing shows it.
/// Never throws for a missing device (why_none says why); throws XclbinError /
/// DeviceError when the requested load fails.
DeviceListing list_devices(const std::string& load_xclbin = "", unsigned load_index = 0);

/// One kernel of an xclbin file.
struct XclbinKernelInfo {
  std::string name;
  std::vector<std::string> compute_units;
  std::vector<std::string> args;  ///< "name: type" in argument order
  bool described = false;         ///< polympc's hls/kernels.json has this kernel
  std::string problem;            ///< how it differs from the description; empty when it matches
};

/// An xclbin file, checked against hls/kernels.json.
struct XclbinInfo {
  std::string path;
  std::string uuid;
  std::string platform;  ///< XSA / platform name in the header
  std::string target;    ///< hw, hw_emu or sw_emu
  std::vector<XclbinKernelInfo> kernels;
  std::vector<std::string> missing;  ///< described kernels the xclbin lacks
  bool usable = false;               ///< XrtBackend would accept it
};

/// Reads and checks an xclbin file (no device needed). Throws XclbinError when it is
/// missing or not an xclbin.
XclbinInfo inspect_xclbin(const std::string& path);

}  // namespace polympc::host
