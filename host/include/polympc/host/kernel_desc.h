// Run-time copy of the kernel description (hls/kernels.json, compiled into
// polympc/hls/kernel_signatures.h), for code that builds or checks xclbins: the noop
// xclbin writer, `polympc devices` and the tests (which derive faulty variants from it).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "polympc/hls/kernel_signatures.h"

namespace polympc::host {

/// One kernel argument, in signature order.
struct ArgDesc {
  std::string name;    ///< C parameter name = xclbin argument name
  std::string type;    ///< C type ("int", "uint32_t", "uint64_t", "const uint64_t*", "uint64_t*")
  hls::ArgKind kind = hls::ArgKind::kScalar;
  uint32_t size = 4;   ///< bytes of the host value (8 for a buffer: a device address)
  std::string bundle;  ///< m_axi bundle for buffers ("gmem0"), empty for scalars
  bool is_buffer() const { return kind != hls::ArgKind::kScalar; }
};

/// One kernel (extern "C" top).
struct KernelDesc {
  std::string name;             ///< xclbin kernel name
  uint32_t compute_units = 1;   ///< CUs, named <name>_1 ... <name>_<compute_units>
  std::vector<ArgDesc> args;
};

/// Every kernel of hls/kernels.json, in description order.
std::vector<KernelDesc> described_kernels();

}  // namespace polympc::host
