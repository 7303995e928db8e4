// Metadata-only xclbin for XRT's noop device (docs/fpga.md, docs/design.md §8).
//
// Writes the axlf container of /usr/include/xrt/xclbin.h ("xclbin2" magic, header,
// section headers, 8-byte aligned sections) with the four sections the noop device
// needs, all derived from a kernel description (normally described_kernels(), i.e.
// hls/kernels.json, the same description the v++ link configuration is generated from):
//   EMBEDDED_METADATA  XML: per kernel its ports (M_AXI_<BUNDLE> masters, S_AXI_CONTROL),
//                      arguments (id, addressQualifier 1 = buffer / 0 = scalar, port,
//                      size, register offset from 0x10 as Vitis HLS lays them out, host
//                      size, C type) and instances <name>_<i> with their addrRemap;
//   IP_LAYOUT          one IP_KERNEL, AP_CTRL_HS entry "kernel:kernel_i" per compute unit,
//                      base addresses 0x1800000 + 64 KiB steps (sorted);
//   MEM_TOPOLOGY       one MEM_DDR4 bank tagged `memory_tag` (v++'s sp target, "DDR[0]");
//   CONNECTIVITY       every buffer argument of every CU -> that bank (scalars omitted).
// No bitstream: XRT's noop shim accepts it, a card would not. The file is deterministic
// (its UUID hashes its content), so an unchanged description gives the same xclbin.
#pragma once
#include <string>
#include <vector>

#include "polympc/host/kernel_desc.h"

namespace polympc::host {

struct MetadataXclbinOptions {
  std::string memory_tag = "DDR[0]";          ///< bank name, as in the v++ sp= lines (< 16 chars)
  uint64_t memory_size_kb = 16ull << 20;      ///< bank size in KiB (16 GiB)
  std::string platform = "xilinx_polympc_noop";  ///< platform VBNV recorded in the header
};

/// The xclbin image. Throws XclbinError when the description cannot be represented
/// (empty, a name longer than the xclbin fields allow, a buffer without a bundle).
std::vector<char> make_metadata_xclbin(const std::vector<KernelDesc>& kernels,
                                       const MetadataXclbinOptions& options = {});

/// Writes make_metadata_xclbin() to `path`. Throws XclbinError naming the path on failure.
void write_metadata_xclbin(const std::string& path, const std::vector<KernelDesc>& kernels,
                           const MetadataXclbinOptions& options = {});

}  // namespace polympc::host
