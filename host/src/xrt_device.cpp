// XrtDevice and xclbin checks (see xrt_device.h).
#include "xrt_device.h"

#include <experimental/xrt_system.h>

#include <cstdlib>
#include <filesystem>

#include "polympc/host/errors.h"

namespace polympc::host::detail {

std::string emulation_mode() {
  const char* m = std::getenv("XCL_EMULATION_MODE");
  return m ? m : "";
}

bool noop_mode() { return emulation_mode() == "noop"; }

std::string no_device_advice() {
  const std::string mode = emulation_mode();
  const char* root = std::getenv("XILINX_XRT");
  if (!root || !*root)
    return "XILINX_XRT is not set: XRT looks for its device driver library (shim) at "
           "$XILINX_XRT/lib; with Xilinx's packages source /opt/xilinx/xrt/setup.sh, with "
           "Debian's libxrt use a directory whose lib/ links the libxrt_*.so.2 files (docs/fpga.md)";
  if (mode.empty())
    return "XRT found no Alveo card (check that the card is installed and `xbutil examine` lists "
           "it); without a card, XCL_EMULATION_MODE=noop runs the host code on XRT's noop device "
           "(docs/fpga.md)";
  return "XCL_EMULATION_MODE=" + mode + " but XRT found no emulated device (for hw_emu, run "
         "emconfigutil and put emconfig.json next to the program; docs/fpga.md)";
}

unsigned device_count() {
  if (noop_mode()) return 1;
  try {
    return xrt::system::enumerate_devices();
  } catch (const std::exception& e) {
    throw DeviceError(std::string("XRT cannot enumerate devices: ") + e.what() + " (" + no_device_advice() + ")", "",
                      "", "no device");
  }
}

namespace {

bool xclbin_arg_is_buffer(const xrt::xclbin::arg& a) {
  const std::string t = a.get_host_type();
  const std::string port = a.get_port();
  return (!t.empty() && t.back() == '*') || port.rfind("M_AXI", 0) == 0;
}

std::string describe(const ArgDesc& a) {
  return "'" + a.name + "' (" + (a.is_buffer() ? "buffer " + a.type : a.type + ", " + std::to_string(a.size) + " bytes") +
         ")";
}

std::string describe(const xrt::xclbin::arg& a) {
  const std::string t = a.get_host_type();
  return "'" + a.get_name() + "' (" +
         (xclbin_arg_is_buffer(a) ? "buffer " + t : t + ", " + std::to_string(a.get_size()) + " bytes") + ")";
}

}  // namespace

std::vector<XclbinProblem> check_xclbin(const xrt::xclbin& xclbin, const std::vector<KernelDesc>& want) {
  std::vector<XclbinProblem> problems;
  std::vector<std::string> have;
  for (const auto& k : xclbin.get_kernels()) have.push_back(k.get_name());
  for (const KernelDesc& w : want) {
    const xrt::xclbin::kernel k = xclbin.get_kernel(w.name);
    if (!k) {
      std::string list;
      for (const auto& h : have) list += (list.empty() ? "" : ", ") + h;
      problems.push_back({w.name, "",
                          "has no kernel '" + w.name + "' (it has: " + (list.empty() ? "none" : list) + ")", true});
      continue;
    }
    std::vector<xrt::xclbin::arg> args = k.get_args();
    const size_t n = std::min(args.size(), w.args.size());
    bool differs = false;
    for (size_t i = 0; i < n && !differs; ++i) {
      const ArgDesc& a = w.args[i];
      const xrt::xclbin::arg& x = args[i];
      const bool same = x.get_name() == a.name && xclbin_arg_is_buffer(x) == a.is_buffer() &&
                        (a.is_buffer() || x.get_size() == a.size);
      if (!same) {
        problems.push_back({w.name, a.name,
                            "kernel '" + w.name + "' argument " + std::to_string(i) + " is " + describe(x) +
                                " in the xclbin but " + describe(a) + " in hls/kernels.json",
                            false});
        differs = true;
      }
    }
    if (!differs && args.size() != w.args.size()) {
      const std::string arg = args.size() < w.args.size() ? w.args[args.size()].name : args[w.args.size()].get_name();
      problems.push_back({w.name, arg,
                          "kernel '" + w.name + "' has " + std::to_string(args.size()) + " arguments in the xclbin but " +
                              std::to_string(w.args.size()) + " in hls/kernels.json (first unmatched: '" + arg + "')",
                          false});
    }
  }
  return problems;
}

xrt::xclbin read_xclbin(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    throw XclbinError("xclbin file '" + path + "' does not exist (build it: docs/fpga.md; for the noop device "
                      "the build writes build/xclbin/polympc_noop.xclbin)");
  if (std::filesystem::is_directory(path, ec)) throw XclbinError("xclbin path '" + path + "' is a directory");
  try {
    return xrt::xclbin(path);
  } catch (const std::exception& e) {
    throw XclbinError("'" + path + "' is not a readable xclbin: " + e.what());
  }
}

XrtDevice::XrtDevice(const std::string& xclbin_path, unsigned index) : path_(xclbin_path), index_(index) {
  // 1. The file, checked against the description before any device is touched.
  xclbin_ = read_xclbin(xclbin_path);
  const std::vector<XclbinProblem> problems = check_xclbin(xclbin_, described_kernels());
  for (const XclbinProblem& p : problems) {
    const std::string msg = "xclbin '" + xclbin_path + "' " + p.message +
                            "; it was not built from this polympc's hls/kernels.json: rebuild it (docs/fpga.md)";
    if (p.missing_kernel) throw KernelNotFoundError(msg, p.kernel);
    throw KernelSignatureError(msg, p.kernel, p.argument);
  }
  // 2. The device.
  const unsigned count = device_count();
  // hw_emu / sw_emu may count 0 before XRT reads emconfig.json: let xrt::device decide there.
  const bool xrt_decides = !emulation_mode().empty() && !noop_mode() && count == 0;
  if (!xrt_decides && count == 0) throw DeviceError("no XRT device found: " + no_device_advice(), "", "", "no device");
  if (!xrt_decides && index >= count)
    throw DeviceError("device index " + std::to_string(index) + " is out of range: XRT has " + std::to_string(count) +
                          " device" + (count == 1 ? "" : "s") + " (indices 0.." + std::to_string(count - 1) +
                          (noop_mode() ? "; the noop device is index 0)" : "; `polympc devices` lists them)"),
                      "", "", "device index");
  try {
    device_ = xrt::device(index);
  } catch (const std::exception& e) {
    throw DeviceError("cannot open XRT device " + std::to_string(index) + ": " + e.what() + " (" + no_device_advice() + ")",
                      "", "", "open");
  }
  // 3. Load, then one xrt::kernel per described kernel.
  try {
    uuid_ = device_.load_xclbin(xclbin_);
  } catch (const std::exception& e) {
    throw DeviceError("device " + std::to_string(index) + " refused xclbin '" + xclbin_path + "': " + e.what() +
                          " (was it built for this card's platform? docs/fpga.md)",
                      "", "", "load_xclbin");
  }
  for (uint32_t i = 0; i < hls::kNumKernels; ++i) {
    const char* name = hls::kKernelTable[i].name;
    try {
      kernels_.emplace_back(device_, uuid_, name);
    } catch (const std::exception& e) {
      throw KernelNotFoundError("cannot open kernel '" + std::string(name) + "' of xclbin '" + xclbin_path +
                                    "' on device " + std::to_string(index) + ": " + e.what(),
                                name);
    }
  }
}

}  // namespace polympc::host::detail
