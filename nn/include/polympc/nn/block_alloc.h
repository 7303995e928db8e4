// Knapsack allocation of Block-ReLU patch sizes (Gorski, Jevnisek & Avidan, "Securing Neural
// Networks with Knapsack Optimization", arXiv 2304.10442, §3.2–3.3; code yg320/secure_inference):
// every channel of every ReLU layer on a [C, H, W] tensor picks one patch kind (identity,
// zero, 1x1 = ReLU, or an h x w rectangle); its cost is its DReLUs per image
// (block_patch_drelus), its value minus the distortion it causes, measured one channel at a
// time with the float model on a calibration set; a multiple-choice knapsack picks the kinds
// that lose the least under a DReLU budget. docs/block_relu_allocation.md tells the story.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "polympc/nn/ir.h"

namespace polympc::nn {

// ---- multiple-choice knapsack --------------------------------------------------------------

/// One option of a knapsack item: an integer cost >= 0 and a value (higher is better).
struct KnapsackOption {
  int64_t cost = 0;
  double value = 0;
};
/// The solver's answer: choice[i] indexes items[i]; cost = sum of the chosen costs
/// (<= budget), value = sum of the chosen values (the maximum over all choices within the
/// budget).
struct KnapsackChoice {
  std::vector<int> choice;
  int64_t cost = 0;
  double value = 0;
};

/// Exact multiple-choice knapsack by dynamic programming over integer costs: every item
/// takes exactly one of its options; maximise the total value with total cost <= budget.
/// Time O(items · (budget+1) · options), memory (budget+1) doubles (two rows) plus the
/// argmax option of every item and budget as uint16: items · (budget+1) · 2 bytes (the
/// Fashion-MNIST CNN all-ReLU: 176 items, 11,393 budgets, 66 options = 132 M steps, 4 MB).
/// The choice is rebuilt backwards from that table. Ties go to the option listed first.
/// Throws std::invalid_argument on a negative budget, an item without options or with more
/// than 65,535, a negative cost, a non-finite value, or a table over 2^31 entries, and when
/// no choice fits the budget (impossible when every item has a cost-0 option, as Block-ReLU's
/// identity and zero).
KnapsackChoice solve_multiple_choice_knapsack(const std::vector<std::vector<KnapsackOption>>& items,
                                              int64_t budget);

// ---- distortion ----------------------------------------------------------------------------

/// The candidate patch kinds: identity, zero, then every rectangle h x w for h, w in
/// 1..kMaxBlockPatch, row by row (1x1 first): 2 + 64 = 66 kinds (the paper's set).
std::vector<BlockPatch> block_patch_candidates();

/// A ReLU layer that takes part in the allocation: op Relu on a [C, H, W] tensor. A ReLU
/// on a flat [F] tensor (after Flatten / Linear) stays a ReLU: its F DReLUs per image are
/// fixed and counted in the budget (fixed_relu_drelus).
bool block_allocatable(const Network& net, size_t layer);
/// DReLUs (secure comparisons) per image of a max pool: kh*kw - 1 per output (a tournament of
/// the window), as `polympc perf` counts them; 0 for any other layer. Needs infer_shapes().
int64_t maxpool_drelus(const Network& net, size_t layer);
/// DReLUs per image of the network, what the allocation budgets and `polympc perf` reports:
/// ReLU elements + BlockRelu patches + max-pool comparisons (maxpool_drelus).
/// Needs infer_shapes().
int64_t network_drelus(const Network& net);
/// DReLUs per image if every activation site (Relu, BlockRelu, Poly) were a ReLU: the
/// all-ReLU reference (11,392 for the shipped Fashion-MNIST CNN). Needs infer_shapes().
int64_t all_relu_drelus(const Network& net);
/// DReLUs per image that the allocation cannot change: ReLU layers that do not take part
/// (block_allocatable false) and max-pool comparisons.
int64_t fixed_relu_drelus(const Network& net);

/// Distortion of every (channel, kind) of one allocatable ReLU layer.
struct LayerDistortion {
  size_t layer = 0;                             ///< index into Network::layers
  int64_t channels = 0, height = 0, width = 0;  ///< the layer's [C, H, W]
  /// distortion[c][k]: mean over calibration images of the squared L2 distance between the
  /// float logits with channel c of this layer using kind candidates[k] (everything else
  /// as in the model) and the model's logits. A 1x1 kind is the ReLU itself: exactly 0.
  std::vector<std::vector<double>> distortion;
};

/// Measures LayerDistortion for every allocatable ReLU layer of `net`, on `count` images
/// x ([count, C, H, W] as the network's input), `batch` images at a time: per batch one
/// forward pass kept (FloatTrace), then per (layer, channel, kind) the layer's output channel
/// replaced by the kind's Block-ReLU of the layer's input (the float walk's own BlockRelu)
/// and the network resumed after the layer. Cost: per batch, layers · C · kinds forward
/// passes of the layers after the replaced one. What is measured is the change of the
/// network's logits (the paper measures the change of the network's output/loss one channel
/// at a time), because it weighs a channel by what it does to the answer, not to its layer.
/// `progress` (may be empty) is called after each batch with images done. Throws ModelError
/// when count or batch is 0 or `net` has no allocatable layer.
std::vector<LayerDistortion> measure_block_distortion(const Network& net, const float* x,
                                                      size_t count, size_t batch,
                                                      const std::vector<BlockPatch>& candidates,
                                                      void (*progress)(size_t done,
                                                                       size_t total) = nullptr);

// ---- allocation and transformation ----------------------------------------------------------

/// The allocation: per allocatable layer, one patch per channel.
struct BlockAllocation {
  std::map<size_t, std::vector<BlockPatch>> patches;  ///< layer index -> C patches
  int64_t drelus = 0;     ///< per image, the allocated layers (<= budget - fixed)
  double distortion = 0;  ///< sum of the chosen channels' distortions
};

/// Solves the knapsack over the measured layers: items = channels, options = candidates,
/// cost = block_patch_drelus, value = -distortion, budget = drelu_budget minus
/// fixed_relu_drelus(net). Throws ModelError when the budget is below the fixed DReLUs
/// (message gives the minimum) or the distortions do not match `candidates`.
BlockAllocation allocate_block_patches(const Network& net,
                                       const std::vector<LayerDistortion>& measured,
                                       const std::vector<BlockPatch>& candidates,
                                       int64_t drelu_budget);

/// `net` with every layer of `a` turned into a BlockRelu layer with those patches (name,
/// inputs and shapes kept); shapes re-inferred. Throws ModelError when a layer of `a` is
/// not an allocatable ReLU or has the wrong number of patches.
Network apply_block_allocation(const Network& net, const BlockAllocation& a);

/// "1x1:20 2x2:5 identity:1 zero:6": how many channels of a BlockRelu layer use each kind,
/// in the order of block_patch_candidates (kinds not used omitted).
std::string block_patch_histogram(const std::vector<BlockPatch>& patches);

}  // namespace polympc::nn
