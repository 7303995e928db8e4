// Timing of the implemented kernels, read from their headers (kernels/*.h DefaultConfig):
// lanes, II, depth and launch limits have one source, which sim/, host/ and perfmodel/
// read alike (perfmodel/data/kernels/*.json keeps resources and work, not timing).
#pragma once
#include <cstdint>
#include <string>

namespace polympc::perfmodel::detail {

struct HeaderTiming {
  uint64_t lanes = 1, ii = 1, depth = 0, max_batch = 0, max_channels = 0, group_words = 0;
  uint64_t rows = 1, tile_n = 0, k_chunk = 0;  ///< matmul_combine's array (others: 1, 0, 0)
  uint64_t xform_latency = 0;  ///< winograd_transform's transform latency per group (others: 0)
  std::string source;  ///< "kernels/<k>.h <Config>"
};

/// The timing of the kernel spec `name` ("beaver_mul_combine", "trunc", "poly_eval", ...)
/// from its header; false when no implemented kernel has that name.
bool header_timing(const std::string& name, HeaderTiming& t);

}  // namespace polympc::perfmodel::detail
