// Cycle-model building blocks shared by the kernel headers (docs/design.md §9).
//
// A kernel launch on n elements takes  depth + ceil(n / lanes) * II  cycles: the
// pipeline fills once (depth) and then accepts one group of `lanes` elements every II
// cycles. The latencies below are ASSUMPTIONS for an UltraScale+ part at 300 MHz, used
// to build each kernel's depth; perfmodel/ may calibrate them against csynth reports.
#pragma once
#include <stdint.h>

namespace polympc {
namespace hls {

/// m_axi read latency (cycles): the Vitis HLS default `latency` of an m_axi port (64).
constexpr unsigned kAxiReadLatency = 64;
/// m_axi write-response latency (cycles), assumed equal to the read latency.
constexpr unsigned kAxiWriteLatency = 64;
/// 64x64 -> 64-bit low product on a DSP48E2 cascade, fully pipelined (cycles).
constexpr unsigned kMul64Latency = 6;
/// 64-bit add/sub/logic stage (cycles).
constexpr unsigned kAdd64Latency = 1;
/// 32-bit unsigned divider/modulo, pipelined (cycles); used only at kernel start.
constexpr unsigned kDiv32Latency = 36;

/// depth + ceil(n / lanes) * ii  (cycles). n = 0 still pays depth (launch, fill, drain).
constexpr uint64_t pipeline_cycles(uint64_t n, uint64_t lanes, uint64_t depth, uint64_t ii) {
  return depth + (n + lanes - 1) / lanes * ii;
}

}  // namespace hls
}  // namespace polympc
