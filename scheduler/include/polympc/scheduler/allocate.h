// Resource allocation (docs/scheduler.md; docs/design.md §10): how many lanes each kernel
// gets (AES cores of dcf_eval; lanes x rows of matmul_combine's MAC array) within a budget
// of the board, minimising the network's modelled latency.
//
// The search is greedy on marginal gain per resource: it starts from one lane of every
// kernel the network uses and repeatedly doubles the lanes (or matmul rows) of the kernel
// whose doubling saves the most modelled seconds per unit of budget it consumes, while the
// result fits and the step saves at least 0.05 % of the latency. Each candidate is priced
// by the performance model (perfmodel::Model::with_kernels: the protocols are counted once,
// only the kernels' cycle and memory models are re-evaluated). docs/scheduler.md gives the
// argument why greedy is good enough and tests/test_scheduler.cpp checks it against an
// exhaustive search on a small space. All latencies are MODELLED.
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include "polympc/perfmodel/model.h"

namespace polympc::scheduler {

/// A kernel's configuration: lanes (AES cores for dcf_eval) and rows (matmul_combine's
/// array height; 1 for every other kernel).
struct KernelConfig {
  uint64_t lanes = 1;
  uint64_t rows = 1;
  bool operator==(const KernelConfig& o) const { return lanes == o.lanes && rows == o.rows; }
};
using KernelConfigs = std::map<std::string, KernelConfig>;

struct AllocationOptions {
  /// Fraction of every board resource (LUT, FF, DSP, BRAM, URAM) the kernels may use.
  double budget = 0.8;
  /// Which modelled latency to minimise.
  perfmodel::Phase objective = perfmodel::Phase::Online;
  /// Largest lanes (and matmul rows) tried per kernel, a power of two.
  uint64_t max_lanes = 1024;
};

struct Allocation {
  KernelConfigs kernels;         ///< every kernel the network uses (perfmodel spec names)
  perfmodel::Resources used;     ///< resources of those kernels at `kernels`
  perfmodel::Resources budget;   ///< budget x board capacity
  double latency_s = 0;          ///< objective at `kernels` (modelled)
  KernelConfigs defaults;        ///< the kernels' header configurations
  double default_latency_s = 0;  ///< objective at `defaults` (modelled)
  KernelConfigs naive;           ///< equal split of the budget among the kernels
  double naive_latency_s = 0;    ///< objective at `naive` (modelled)
  uint64_t evaluations = 0;      ///< configurations priced by the search
  double search_s = 0;           ///< wall time of the search (measured)
};

/// The kernels (perfmodel spec names) a network's layers call, in name order.
std::vector<std::string> kernels_used(const perfmodel::Model& model, const perfmodel::NetShape& net);

/// `model` with `configs` applied (kernels not listed keep the model's configuration).
perfmodel::Model configured(const perfmodel::Model& model, const KernelConfigs& configs);

/// Modelled objective of `net` on `model` (seconds of the options' phase).
double objective_s(const perfmodel::Model& model, const perfmodel::NetShape& net, perfmodel::Phase p);

/// Resources of `configs` (each kernel at its lanes and rows).
perfmodel::Resources resources_of(const perfmodel::Model& model, const KernelConfigs& configs);

/// True when every field of `used` is at most the same field of `budget`.
bool fits(const perfmodel::Resources& used, const perfmodel::Resources& budget);

/// The search above. Throws perfmodel::PerfModelError when the budget is not in (0, 1] or
/// cannot hold one lane of every kernel the network needs (naming the resource short).
Allocation allocate(const perfmodel::Model& model, const perfmodel::NetShape& net, const AllocationOptions& opt = {});

/// Every configuration the search may take for `kernel`, ascending (powers of two within
/// the kernel's rules: dcf_eval cores, lanes dividing 64 for bit_slice and b2a_combine,
/// lanes dividing matmul's tile, rows up to max_lanes).
std::vector<KernelConfig> candidate_configs(const perfmodel::Model& model, const std::string& kernel, uint64_t max_lanes);

}  // namespace polympc::scheduler
