// Subcommands of the `polympc` CLI.
#pragma once
#include <CLI/CLI.hpp>

namespace polympc::apps {

/// Registers `polympc infer`; the callback runs the command.
void add_infer_command(CLI::App& app);
/// Registers `polympc devices` (apps/devices_cmd.cpp; apps/no_xrt.cpp without XRT).
void add_devices_command(CLI::App& app);
/// Registers `polympc perf` (performance model, perf_cmd.cpp).
void add_perf_command(CLI::App& app);
/// Registers `polympc schedule` (schedule_cmd.cpp): the scheduler's kernel allocation.
void add_schedule_command(CLI::App& app);
/// Registers `polympc bench` with `bench calibrate` (calibrate_cmd.cpp).
void add_bench_command(CLI::App& app);
/// Registers `polympc bench relu` under the `bench` subcommand (bench_relu_cmd.cpp).
void add_bench_relu_command(CLI::App& bench);
/// Registers `polympc export-arch` (export_arch_cmd.cpp): writes the public architecture
/// file (nn/arch_file.h) of an ONNX model and prints its hashes and layer count.
void add_export_arch_command(CLI::App& app);
/// Registers `polympc block-relu` (block_relu_cmd.cpp): knapsack allocation of Block-ReLU
/// patch sizes under a DReLU budget (nn/block_alloc.h), written as ONNX.
void add_block_relu_command(CLI::App& app);
/// Registers `polympc rings` (rings_cmd.cpp): per-layer ring widths by range, written into
/// the model's ONNX metadata (nn/ring_alloc.h).
void add_rings_command(CLI::App& app);
/// Registers `polympc arch` (arch_cmd.cpp, every build): DeepReShape's CNN family for a
/// DReLU budget (nn/reshape.h), printed and written as JSON.
void add_arch_command(CLI::App& app);

/// Registers `polympc train` (train_cmd.cpp with LibTorch, no_torch.cpp without: a clear
/// message). `argv` lets the command re-execute itself with OMP_WAIT_POLICY set.
void add_train_command(CLI::App& app, int argc, char** argv);
/// Registers `polympc serve` and `polympc query` (serve_cmd.cpp): the two parties as
/// services over TLS.
void add_serve_commands(CLI::App& app);

}  // namespace polympc::apps
