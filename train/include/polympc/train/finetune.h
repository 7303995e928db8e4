// Fine-tuning of an IR network whose structure is fixed, and the Block-ReLU method built on
// it (`polympc train --method block-relu`, docs/training.md). This header does not include
// LibTorch.
#pragma once
#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "polympc/nn/block_alloc.h"
#include "polympc/nn/ir.h"
#include "polympc/train/trainer.h"

namespace polympc::train {

/// Fine-tunes every Conv / Linear weight and bias and every Poly coefficient of `net` (the
/// layers, their kinds and Block-ReLU patches stay as they are; batch norm is folded
/// already) on o.dataset: o.epochs epochs of Adam from o.lr with cosine decay to 0, batches of
/// o.batch_size, random flips if o.flip, the first o.train_limit / o.test_limit images, seed
/// o.seed, o.threads. Block-ReLU's mask passes the gradient as ReLU's does (ir_net.h).
/// Then writes o.out with `metadata` plus polympc.float_accuracy, reads it back and checks
/// it as train_and_export does. Fills the report's epochs, torch_accuracy,
/// exported_accuracy, max_logit_diff, activations, onnx_bytes, metadata, train_seconds;
/// `before_accuracy` (if given) gets the accuracy of `net` before any step.
/// Throws TrainError (bad options, NaN loss), nn::DatasetError, nn::ModelError.
TrainReport finetune_and_export(const nn::Network& net, const TrainOptions& o,
                                std::map<std::string, std::string> metadata, std::ostream& log,
                                double* before_accuracy = nullptr);

/// The Block-ReLU method (Gorski, Jevnisek & Avidan, arXiv 2304.10442), in two steps so that
/// one measurement serves every budget.
///
/// 1. The distortion of every (channel, patch kind) of `base`'s allocatable ReLU layers on
///    the first `calib_images` training images of o.dataset (nn::measure_block_distortion,
///    all of nn::block_patch_candidates). Throws TrainError (calib_images < 1),
///    nn::DatasetError, nn::ModelError (images that do not fit the network).
struct BlockReluCalibration {
  std::vector<nn::LayerDistortion> measured;
  int64_t images = 0;    ///< calibration images used
  double seconds = 0;    ///< wall time of the measurement
};
BlockReluCalibration measure_block_relu(const nn::Network& base, int64_t calib_images, const TrainOptions& o);

/// A modelled-latency budget instead of a DReLU budget: the largest DReLU budget whose
/// allocation (the knapsack on `calibration`) has a modelled latency of at most `ms`
/// milliseconds (modelled_cost: o.board, o.network, o.compare, o.trunc, o.phase). Bisection
/// over budgets between the DReLUs the allocation cannot change and `base`'s, every step
/// allocated and priced; the latency is not exactly monotone in the budget, but the returned
/// budget's allocation meets `ms`. Throws TrainError naming the smallest reachable latency
/// when `ms` is below it.
int64_t drelu_budget_for_latency(const nn::Network& base, const BlockReluCalibration& calibration, double ms,
                                 const TrainOptions& o);

/// 2. The multiple-choice knapsack under `budget` DReLUs per image (nn::allocate_block_patches,
///    counted by nn::network_drelus: max-pool comparisons and flat ReLUs included), then
///    finetune_and_export to o.out with the method's metadata (polympc.method, budget,
///    DReLUs, patch histograms). Throws nn::ModelError (a budget below the DReLUs the
///    allocation cannot change, naming the minimum) and finetune_and_export's errors.
struct BlockReluResult {
  TrainReport report;
  int64_t drelus = 0;                 ///< of the exported model, per image
  int64_t base_drelus = 0;            ///< of `base`
  double distortion = 0;              ///< the knapsack's summed distortion
  double allocated_accuracy = 0;      ///< after the allocation, before fine-tuning (float)
};
BlockReluResult block_relu_finetune(const nn::Network& base, const BlockReluCalibration& calibration, int64_t budget,
                                    const TrainOptions& o, std::ostream& log);

}  // namespace polympc::train
