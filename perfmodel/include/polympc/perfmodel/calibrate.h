// Calibration of the software (cpu) backend on this machine (docs/design.md §9; issue #4 item 6).
//
// Measures, with both parties running at once on two threads as `polympc infer` runs them:
//  1. every Backend method of cpu::CpuBackend at several sizes -> seconds per call and per
//     unit (units = KernelCounters::elements: elements, words, or multiply-accumulates);
//  2. every protocol the layer walk uses (open, exact and probabilistic truncation, GMW
//     ReLU, polynomial, matmul) end to end over the in-process channel -> the host-side
//     overhead beyond the kernels (masking, packing, lowering, channel), per call and per
//     unit (units as Model::protocol_cost reports them in LayerCost::host). Timed as the
//     layer walk runs them (material dealt one run ahead, each output alive into the next
//     run) so freed buffers are reused warm, not faulted in again (docs/perfmodel.md).
// Each figure is a weighted least-squares fit (relative error) of repeated runs (median).
// The result feeds Model (Calibration) so it predicts cpu-backend seconds.
#pragma once
#include <functional>
#include <string>

#include "polympc/perfmodel/description.h"

namespace polympc::perfmodel {

struct CalibrateOptions {
  int threads = 0;       ///< CpuBackend threads per party (0 = hardware concurrency, as infer)
  int repeats = 5;       ///< runs per point (median taken)
  bool quick = false;    ///< smaller sizes, 3 repeats (tests)
  std::string data_dir;  ///< kernel descriptions for the protocol decomposition ("" = default)
  bool verbose = false;  ///< report every measured point through `progress`
  /// Called with a short line per step.
  std::function<void(const std::string&)> progress;
};

/// Runs the measurements above; takes tens of seconds (a few with quick).
/// Throws PerfModelError if a measurement fails.
Calibration calibrate_cpu(const CalibrateOptions& options);

}  // namespace polympc::perfmodel
