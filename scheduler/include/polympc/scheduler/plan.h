// The scheduler's plan as a file (docs/scheduler.md): the kernel configuration chosen for a
// network, board, network preset and protocol options, with its modelled figures, as JSON
// (plan.json, format "polympc-plan" version 1), and the same configuration as the C++
// header the hls/ flow synthesises (hls/include/polympc/hls/plan_config.h).
#pragma once
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "polympc/scheduler/allocate.h"
#include "polympc/scheduler/timeline.h"

namespace polympc::scheduler {

struct Plan {
  std::string network;   ///< network name
  std::string board;     ///< board name (file stem)
  std::string preset;    ///< network preset name
  std::string compare, trunc;
  int ring_bits = 64, frac_bits = 12;
  size_t batch = 1;
  double budget_fraction = 0.8;
  perfmodel::Phase objective = perfmodel::Phase::Online;
  Allocation allocation;
  /// Tiles per layer (input, the network's layers, output) at the allocation, and the
  /// modelled timeline they give (overlapped); sequential = allocation.latency_s.
  std::vector<int> tiles;
  Timeline timeline;
  /// What the tiling was chosen for: the board's kernels (fpga) or this machine's cpu
  /// backend (cpu, with a calibration), and the lanes that execute it (0 = no limit).
  TimelineOptions target;
  std::string calibrated_on;  ///< cpu target: the calibration's machine
  /// The layers planned in a Winograd form (NetShape LayerShape::winograd: 2 or 4), by name.
  std::map<std::string, int> winograd;
};

/// A plan for `net` on `model` (allocate() with `opt`, plus what the plan records); its
/// tiling chosen for `target` (choose_tiles).
Plan make_plan(const perfmodel::Model& model, const perfmodel::NetShape& net, const AllocationOptions& opt = {},
               const TimelineOptions& target = {});

/// JSON of a plan: format, version, network, board, preset, options, "kernels" {name:
/// {lanes, rows, resources}}, "resources" {used, budget}, "modelled" {latency_s,
/// default_latency_s, naive_latency_s, overlapped_latency_s} (all MODELLED), "naive",
/// "layers" [{name, tiles, sequential_s, overlapped_end_s, bottleneck}], "tiling" {target,
/// lanes, calibrated_on}, "search" {method,
/// evaluations, seconds}.
nlohmann::json plan_json(const Plan& p, const perfmodel::Model& model);
/// Writes plan_json to `path`. Throws PerfModelError on I/O failure.
void write_plan(const Plan& p, const perfmodel::Model& model, const std::string& path);

/// One layer of a plan file: its tile count and modelled sequential latency.
struct PlanLayer {
  std::string name;
  int tiles = 1;
  double sequential_s = 0;  ///< modelled online seconds for one inference of `batch` images
  int winograd = 0;         ///< the Winograd form m (2, 4) it was planned in, 0 = direct
};
/// What a plan was made for, and its layers.
struct PlanLayers {
  std::string network, board, preset, compare, trunc;
  int ring_bits = 0, frac_bits = 0;
  size_t batch = 1;
  std::string target = "fpga";  ///< "fpga" or "cpu" (Plan::target)
  size_t lanes = 0;             ///< lanes the tiling was chosen for (0 = no limit)
  std::vector<PlanLayer> layers;
};
/// The options and layers of a plan file (format and version checked as in
/// read_plan_kernels). Throws PerfModelError naming the file and the field.
PlanLayers read_plan_layers(const std::string& path);

/// Throws PerfModelError naming the plan file and the layer when a layer of `net` that the
/// plan has was planned in another form (Winograd F(m x m) or direct) than `net` has it
/// (`--winograd` of schedule against that of perf or infer).
void check_plan_forms(const PlanLayers& plan, const std::string& path, const std::map<std::string, int>& forms);

/// The kernel configuration of a plan file, checked: format "polympc-plan", version 1,
/// every kernel known to `model`, lanes and rows positive integers up to 2^20 (rows only
/// for matmul_combine). `board` (non-empty): the plan must have been made for it.
/// Throws PerfModelError naming the file and the field.
KernelConfigs read_plan_kernels(const std::string& path, const perfmodel::Model& model, const std::string& board = "");

/// Where a model's kernel configuration comes from, as `polympc perf` and the Python
/// module take it: a plan file (`plan`), else the allocation above for the network
/// (kernels "auto", within `budget`, minimising the query's phase) or the kernel headers'
/// defaults (kernels "default"); `lanes` ("poly_eval=32,matmul_combine=16x8") overrides last.
struct KernelSource {
  std::string kernels = "auto";
  std::string plan;
  double budget = 0.8;
  std::string lanes;
};

/// `base` (a model whose Options carry no lane overrides) configured from `src` for `net`;
/// `how` (if not null) receives a one-line description ("sized by the scheduler within
/// 80 % of the board", "from plan P", ...). Throws PerfModelError on a bad source.
perfmodel::Model configure(const perfmodel::Model& base, const perfmodel::NetShape& net, const KernelSource& src,
                           perfmodel::Phase phase, std::string* how = nullptr);

/// How a kernel's configuration reaches synthesis: its header and DefaultConfig, the macro
/// its extern "C" top reads (`typedef <macro> Config;`) and the top's source.
struct HlsConfigEntry {
  const char* kernel;
  const char* header;
  const char* base;
  const char* macro;
  const char* top;
};
/// Every sizable kernel's entry (tests/test_scheduler.cpp checks them against the tops).
const std::vector<HlsConfigEntry>& hls_config_entries();

/// The configuration header for synthesis: per kernel of `configs`, a configuration derived
/// from the kernel's DefaultConfig with the plan's lanes (and rows; dcf_eval: aes_cores and
/// the group_words the cores need) and the POLYMPC_<KERNEL>_CONFIG macro its top reads.
std::string hls_config_header(const KernelConfigs& configs, const perfmodel::Model& model, const std::string& title);

}  // namespace polympc::scheduler
