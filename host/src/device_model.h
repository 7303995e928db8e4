// Device model of the noop device (docs/design.md §8, docs/fpga.md): XRT's noop device runs
// nothing, so after run.wait() the driver calls the kernel's extern "C" top - the very
// function Vitis synthesizes, from kernels/*.cpp - on the bo.map() memory of the run's
// buffers and on the scalar values given to the run. Output that then matches the sim
// backend proves that the host laid out every argument and buffer as the kernel reads it.
// Internal to host/.
#pragma once
#include <cstdint>

namespace polympc::host::detail {

/// One unpacked kernel argument: `scalar` for s_axilite arguments (as set on the run),
/// `ptr` (a bo.map() address) for buffers.
struct DeviceArg {
  int64_t scalar = 0;
  void* ptr = nullptr;
};

/// Calls a kernel top on args[0 .. num_args).
using DeviceModelFn = void (*)(const DeviceArg* args);

/// The top of kernel `name` as a DeviceModelFn, or nullptr when no top of that name is
/// linked in. Every kernel of hls/kernels.json has one (the list is generated from it).
DeviceModelFn device_model(const char* name);

}  // namespace polympc::host::detail
