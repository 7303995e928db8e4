// Signatures of the device kernels, generated from hls/kernels.json (docs/design.md §7-§8).
//
// hls/kernels.json is the one description of every kernel's extern "C" top: argument
// names, C types and m_axi bundles, in signature order. From it the build generates this
// table (polympc/hls/kernel_table.inc), the extern "C" prototypes
// (polympc/hls/kernel_tops.h), the v++ link configuration and the Vitis HLS scripts;
// polympc-xclbin writes the noop xclbin from the table, and host::XrtBackend checks a
// loaded xclbin's kernels against it. The synthesizability guard checks that every
// kernels/*.cpp agrees with it (same C signature, same INTERFACE pragmas).
//
// C++14, header-only, no allocation. Lifetime: static tables.
#pragma once
#include <stdint.h>

namespace polympc {
namespace hls {

/// How an argument reaches the kernel (its INTERFACE pragma).
enum class ArgKind : uint8_t {
  kScalar,  ///< s_axilite register: int or uint32_t (4 bytes) or uint64_t (8 bytes)
  kInput,   ///< m_axi buffer the kernel only reads: const uint64_t*
  kOutput,  ///< m_axi buffer the kernel writes: uint64_t*
};

/// One argument of a kernel top, in signature order.
struct KernelArgSig {
  const char* name;    ///< C parameter name = the xclbin's argument name
  const char* type;    ///< C type as written in hls/kernels.json
  ArgKind kind;        ///< scalar, input buffer or output buffer
  uint32_t size;       ///< bytes of the host value: 4 or 8 for scalars, 8 (an address) for buffers
  const char* bundle;  ///< m_axi bundle ("gmem0"); "" for scalars
};

/// One kernel: its extern "C" top and arguments.
struct KernelSig {
  const char* name;          ///< top function = v++ -k name = xclbin kernel name
  const char* source;        ///< kernels/<file>.cpp, relative to the repository root
  uint32_t compute_units;    ///< CUs in the xclbin (v++ nk), named <name>_1, <name>_2, ...
  const KernelArgSig* args;  ///< num_args entries
  uint32_t num_args;
};

/// strcmp() == 0, usable in constant expressions.
constexpr bool sig_name_equal(const char* a, const char* b) {
  while (*a != '\0' && *a == *b) {
    ++a;
    ++b;
  }
  return *a == *b;
}

#include "polympc/hls/kernel_table.inc"

/// Index of argument `arg` of `k`, or -1.
constexpr int find_arg(const KernelSig& k, const char* arg) {
  for (uint32_t i = 0; i < k.num_args; ++i)
    if (sig_name_equal(k.args[i].name, arg)) return int(i);
  return -1;
}

/// Index of kernel `name` in kKernelTable, or -1.
constexpr int find_kernel_index(const char* name) {
  for (uint32_t i = 0; i < kNumKernels; ++i)
    if (sig_name_equal(kKernelTable[i].name, name)) return int(i);
  return -1;
}

/// The kernel called `name`, or nullptr.
inline const KernelSig* find_kernel(const char* name) {
  const int i = find_kernel_index(name);
  return i < 0 ? nullptr : &kKernelTable[i];
}

}  // namespace hls
}  // namespace polympc
