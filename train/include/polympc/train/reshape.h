// ReLU-aware reshaping of the Fashion-MNIST CNN (DeepReShape, Jha & Reagen, arXiv
// 2304.10593; docs/training.md "ReLU-aware reshaping (DeepReShape)"): the family of CNNs
// for a DReLU budget, as options of the trainer. The arithmetic (widths -> DReLUs,
// parameters, MACs; the generator's rules) is nn/reshape.h, which a build without LibTorch
// also has (`polympc arch`); this header does not include LibTorch either.
#pragma once
#include <cstdint>
#include <vector>

#include "polympc/nn/reshape.h"
#include "polympc/train/trainer.h"

namespace polympc::train {

using ReshapeArch = nn::CnnArch;

/// The DeepReShape family for `relu_budget` DReLUs per image (ReLU elements + max-pool
/// comparisons): nn::deepreshape_family, whose first member (hybrid) has exactly
/// min(budget, nn::reshape_max_drelus()) DReLUs. Throws TrainError naming the minimum
/// budget (nn::reshape_min_budget()) for a smaller one.
inline std::vector<ReshapeArch> reshape_family(int64_t relu_budget) {
  try {
    return nn::deepreshape_family(relu_budget);
  } catch (const mpc::InvalidArgument& e) {
    throw TrainError(e.what());
  }
}

/// `base` set up to train member `a`: arch fmnist-cnn, dataset fashion-mnist, widths,
/// acts, pools from `a`, no search. Everything else (epochs, lr, seed, out, ...) is base's.
inline TrainOptions reshape_options(const ReshapeArch& a, TrainOptions base = {}) {
  base.arch = "fmnist-cnn";
  base.dataset = "fashion-mnist";
  base.widths = nn::widths_str(a.widths);
  base.acts = a.acts_str();
  base.pools = a.pools_str();
  base.search = false;
  return base;
}

}  // namespace polympc::train
