// polympc-xclbin: writes the metadata-only xclbin for XRT's noop device from the kernel
// description (hls/kernels.json, compiled in), or lists that description.
//   polympc-xclbin --output build/xclbin/polympc_noop.xclbin [--memory DDR[0]]
//   polympc-xclbin --list
// --omit-kernel K leaves kernel K out (to test how polympc reports an incomplete xclbin).
// Exit status 0 on success; 1 with one line on stderr on error (XRT tests/02_simple style).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <iostream>

#include "polympc/host/errors.h"
#include "polympc/host/xclbin_writer.h"

namespace {

struct Args {
  std::string output;
  polympc::host::MetadataXclbinOptions options;
  std::vector<std::string> omit;
  bool list = false;
};

int run(const Args& a) {
  std::vector<polympc::host::KernelDesc> kernels = polympc::host::described_kernels();
  for (const std::string& name : a.omit) {
    auto it = std::find_if(kernels.begin(), kernels.end(), [&](const auto& k) { return k.name == name; });
    if (it == kernels.end()) throw polympc::host::XclbinError("--omit-kernel: no kernel '" + name + "' in hls/kernels.json");
    kernels.erase(it);
  }
  if (a.list) {
    for (const auto& k : kernels) {
      std::printf("%s (%u CU)\n", k.name.c_str(), k.compute_units);
      for (size_t i = 0; i < k.args.size(); ++i)
        std::printf("  %2zu %-12s %-16s %s\n", i, k.args[i].name.c_str(), k.args[i].type.c_str(),
                    k.args[i].is_buffer() ? ("m_axi " + k.args[i].bundle).c_str() : "s_axilite");
    }
  }
  if (!a.output.empty()) {
    polympc::host::write_metadata_xclbin(a.output, kernels, a.options);
    std::printf("polympc-xclbin: wrote %s (%zu kernels, memory %s)\n", a.output.c_str(), kernels.size(),
                a.options.memory_tag.c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"polympc-xclbin: metadata-only xclbin for XRT's noop device, from hls/kernels.json"};
  Args a;
  app.add_option("--output,-o", a.output, "xclbin file to write");
  app.add_option("--memory", a.options.memory_tag, "memory bank tag (as in the v++ sp= lines)")->capture_default_str();
  app.add_option("--platform", a.options.platform, "platform name recorded in the header")->capture_default_str();
  app.add_option("--omit-kernel", a.omit, "leave this kernel out (tests)");
  app.add_flag("--list", a.list, "print the kernel description");
  try {
    app.parse(argc, argv);
    if (a.output.empty() && !a.list) throw CLI::RequiredError("--output or --list");
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    return run(a);
  } catch (const std::exception& e) {
    std::cerr << "polympc-xclbin: error: " << e.what() << "\n";
    return 1;
  }
}
