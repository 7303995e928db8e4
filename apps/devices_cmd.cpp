// `polympc devices`: the XRT devices, the xclbin loaded on each and its kernels, and
// whether an xclbin file fits this polympc (docs/design.md §8, §13). When there is no device
// it says so and why (what XRT said, what to do); exit status 0. With --xclbin the file
// is checked against hls/kernels.json (exit status 1 when `infer --backend xrt` would
// refuse it); --load also loads it onto --device first, as infer does.
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "commands.h"
#include "polympc/host/errors.h"
#include "polympc/host/xrt_info.h"

namespace polympc::apps {

namespace {

struct DevicesArgs {
  std::string xclbin;
  unsigned device = 0;
  bool load = false;
  std::string json;
};

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
  return s;
}

void run_devices(const DevicesArgs& a) {
  if (a.load && a.xclbin.empty()) throw host::XrtError("--load needs --xclbin FILE");
  nlohmann::json j;

  // The file first: it needs no device.
  std::unique_ptr<host::XclbinInfo> info;
  if (!a.xclbin.empty()) info = std::make_unique<host::XclbinInfo>(host::inspect_xclbin(a.xclbin));

  const host::DeviceListing l = host::list_devices(a.load ? a.xclbin : "", a.device);
  std::printf("XRT devices (XCL_EMULATION_MODE=%s, XILINX_XRT=%s):\n",
              l.emulation_mode.empty() ? "unset: hardware" : l.emulation_mode.c_str(),
              l.xilinx_xrt.empty() ? "unset" : l.xilinx_xrt.c_str());
  if (l.devices.empty()) std::printf("  none. %s\n", l.why_none.c_str());
  nlohmann::json devices = nlohmann::json::array();
  for (const host::DeviceInfo& d : l.devices) {
    std::printf("  [%u] name: %s\n      bdf: %s\n", d.index, d.name.c_str(), d.bdf.c_str());
    if (d.xclbin_uuid.empty())
      std::printf("      xclbin: none loaded%s\n",
                  l.emulation_mode == "noop" ? " (the noop device keeps no xclbin between processes; use --load)"
                                             : " (polympc infer --backend xrt --xclbin F loads one)");
    else
      std::printf("      xclbin: %s\n      compute units: %s\n", d.xclbin_uuid.c_str(),
                  d.compute_units.empty() ? "(not readable)" : join(d.compute_units, ", ").c_str());
    devices.push_back({{"index", d.index},
                       {"name", d.name},
                       {"bdf", d.bdf},
                       {"xclbin_uuid", d.xclbin_uuid},
                       {"compute_units", d.compute_units}});
  }
  j["emulation_mode"] = l.emulation_mode;
  j["xilinx_xrt"] = l.xilinx_xrt;
  j["devices"] = devices;
  if (l.devices.empty()) j["why_none"] = l.why_none;

  if (info) {
    std::printf("\nxclbin %s\n  uuid %s, platform %s, target %s\n", info->path.c_str(), info->uuid.c_str(),
                info->platform.c_str(), info->target.c_str());
    nlohmann::json kernels = nlohmann::json::array();
    for (const host::XclbinKernelInfo& k : info->kernels) {
      const std::string status =
          !k.described ? "not used by polympc" : (k.problem.empty() ? "matches hls/kernels.json" : k.problem);
      std::printf("  %-24s %zu CU  %s\n      (%s)\n", k.name.c_str(), k.compute_units.size(), status.c_str(),
                  join(k.args, ", ").c_str());
      kernels.push_back({{"name", k.name},
                         {"compute_units", k.compute_units},
                         {"args", k.args},
                         {"described", k.described},
                         {"problem", k.problem}});
    }
    for (const std::string& m : info->missing) std::printf("  %-24s missing: polympc needs it\n", m.c_str());
    std::printf("  => %s\n", info->usable ? "usable by `polympc infer --backend xrt`"
                                          : "NOT usable: rebuild it from this polympc's hls/kernels.json (docs/fpga.md)");
    j["xclbin"] = {{"path", info->path},     {"uuid", info->uuid},       {"platform", info->platform},
                   {"target", info->target}, {"kernels", kernels},       {"missing", info->missing},
                   {"usable", info->usable}};
  }
  if (!a.json.empty()) {
    std::ofstream f(a.json);
    if (!f) throw polympc::Error("cannot write JSON report '" + a.json + "'");
    f << j.dump(2) << "\n";
  }
  if (info && !info->usable)
    throw host::XrtError("xclbin '" + a.xclbin + "' does not fit this polympc (see above)");
}

}  // namespace

void add_devices_command(CLI::App& app) {
  auto args = std::make_shared<DevicesArgs>();
  CLI::App* c = app.add_subcommand("devices", "list XRT devices and the kernels of their xclbin");
  c->add_option("--xclbin", args->xclbin, "also check this xclbin against polympc's kernels (hls/kernels.json)");
  c->add_flag("--load", args->load, "load --xclbin onto --device first (as infer --backend xrt does)");
  c->add_option("--device", args->device, "device index for --load")->capture_default_str();
  c->add_option("--json", args->json, "write the listing as JSON to this file");
  c->callback([args] { run_devices(*args); });
}

}  // namespace polympc::apps
