// `polympc devices` queries (see xrt_info.h).
#include "polympc/host/xrt_info.h"

#include <xclbin.h>

#include <cstdlib>

#include "polympc/host/errors.h"
#include "xrt_device.h"

namespace polympc::host {
namespace {

template <xrt::info::device Param>
std::string query(const xrt::device& d) {
  try {
    return d.get_info<Param>();
  } catch (const std::exception& e) {
    return std::string("not reported (") + e.what() + ")";
  }
}

DeviceInfo describe_device(const xrt::device& d, unsigned index) {
  DeviceInfo info;
  info.index = index;
  info.name = query<xrt::info::device::name>(d);
  info.bdf = query<xrt::info::device::bdf>(d);
  xrt::uuid id;
  try {
    id = d.get_xclbin_uuid();
  } catch (const std::exception&) {
    return info;
  }
  if (!id) return info;
  info.xclbin_uuid = id.to_string();
  try {
    const auto* ips = d.get_xclbin_section<const ip_layout*>(IP_LAYOUT, id);
    for (int32_t i = 0; ips && i < ips->m_count; ++i)
      if (ips->m_ip_data[i].m_type == IP_KERNEL)
        info.compute_units.emplace_back(reinterpret_cast<const char*>(ips->m_ip_data[i].m_name));
  } catch (const std::exception&) {
    // The loaded xclbin's layout is not readable from this process: the UUID stays.
  }
  return info;
}

}  // namespace

DeviceListing list_devices(const std::string& load_xclbin, unsigned load_index) {
  DeviceListing out;
  out.emulation_mode = detail::emulation_mode();
  if (const char* root = std::getenv("XILINX_XRT")) out.xilinx_xrt = root;
  unsigned count = 0;
  try {
    count = detail::device_count();
  } catch (const DeviceError& e) {
    out.why_none = e.what();
    if (!load_xclbin.empty()) throw;
    return out;
  }
  if (count == 0) {
    out.why_none = "XRT found no device: " + detail::no_device_advice();
    if (!load_xclbin.empty()) throw DeviceError(out.why_none, "", "", "no device");
    return out;
  }
  // The loaded xclbin stays loaded while `loaded` lives (the noop device forgets it).
  std::unique_ptr<detail::XrtDevice> loaded;
  if (!load_xclbin.empty()) loaded = std::make_unique<detail::XrtDevice>(load_xclbin, load_index);
  for (unsigned i = 0; i < count; ++i) {
    if (loaded && i == load_index) {
      out.devices.push_back(describe_device(loaded->device(), i));
      continue;
    }
    try {
      out.devices.push_back(describe_device(xrt::device(i), i));
    } catch (const std::exception& e) {
      DeviceInfo info;
      info.index = i;
      info.name = std::string("cannot open (") + e.what() + ")";
      out.devices.push_back(info);
    }
  }
  return out;
}

XclbinInfo inspect_xclbin(const std::string& path) {
  const xrt::xclbin xb = detail::read_xclbin(path);
  XclbinInfo info;
  info.path = path;
  info.uuid = xb.get_uuid().to_string();
  info.platform = xb.get_xsa_name();
  switch (xb.get_target_type()) {
    case xrt::xclbin::target_type::hw_emu: info.target = "hw_emu"; break;
    case xrt::xclbin::target_type::sw_emu: info.target = "sw_emu"; break;
    default: info.target = "hw";
  }
  const std::vector<KernelDesc> want = described_kernels();
  const std::vector<detail::XclbinProblem> problems = detail::check_xclbin(xb, want);
  for (const auto& k : xb.get_kernels()) {
    XclbinKernelInfo ki;
    ki.name = k.get_name();
    for (const auto& cu : k.get_cus()) ki.compute_units.push_back(cu.get_name());
    for (const auto& a : k.get_args()) ki.args.push_back(a.get_name() + ": " + a.get_host_type());
    for (const KernelDesc& w : want) ki.described = ki.described || w.name == ki.name;
    for (const auto& p : problems)
      if (p.kernel == ki.name && !p.missing_kernel) ki.problem = p.message;
    info.kernels.push_back(std::move(ki));
  }
  for (const auto& p : problems)
    if (p.missing_kernel) info.missing.push_back(p.kernel);
  info.usable = problems.empty();
  return info;
}

}  // namespace polympc::host
