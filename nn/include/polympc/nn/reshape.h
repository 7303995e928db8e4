// ReLU-aware reshaping of the Fashion-MNIST CNN (DeepReShape, Jha & Reagen, arXiv
// 2304.10593; docs/training.md "ReLU-aware reshaping (DeepReShape)"): the arithmetic of the
// CNN family (widths, activation and pooling choices -> DReLUs, parameters, MACs) and the
// generator that turns a DReLU budget into widths and ReLU placement. No LibTorch: the
// `polympc arch` command uses it in every build; the trainer (train/reshape.h) trains the
// members it returns.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "polympc/nn/ir.h"

namespace polympc::nn {

/// Widths of the Fashion-MNIST CNN: conv1 1->conv1 k5, conv2 conv1->conv2 k5, fc1
/// (16*conv2)->fc1, fc2 fc1->10. The shipped CNN is {16, 32, 128}.
struct CnnWidths {
  int64_t conv1 = 16, conv2 = 32, fc1 = 128;
  bool operator==(const CnnWidths& o) const { return conv1 == o.conv1 && conv2 == o.conv2 && fc1 == o.fc1; }
  bool operator!=(const CnnWidths& o) const { return !(*this == o); }
};

/// "16,32,128".
std::string widths_str(const CnnWidths& w);
/// Parses "c1,c2,f" (three integers >= 1). Throws mpc::InvalidArgument naming the text.
CnnWidths parse_widths(const std::string& text);

/// One CNN of the family and its costs per image.
struct CnnArch {
  std::string name;                 ///< the member's rule: "hybrid" or "conv2-only"
  CnnWidths widths;
  std::array<std::string, 3> acts;  ///< act1..act3: "relu" | "poly" | "id" (linear, no layer)
  std::array<std::string, 2> pools; ///< pool1, pool2: "avg" | "max"
  int64_t relu_elements = 0;        ///< DReLUs of the ReLU sites (nn::network_drelus)
  int64_t maxpool_comparisons = 0;  ///< 3 per output of a 2x2 max pool
  int64_t drelus = 0;               ///< relu_elements + maxpool_comparisons
  int64_t params = 0;               ///< weights + biases after batch-norm folding
  int64_t macs = 0;                 ///< multiply-accumulates of conv and linear layers
  /// "id,relu,relu" / "avg,avg" / "16,32,128": the trainer's option strings.
  std::string acts_str() const;
  std::string pools_str() const;
};

/// Per-image ReLU outputs of each activation site of the CNN with widths `w` on 28x28
/// inputs: act1 conv1 x 24 x 24, act2 conv2 x 8 x 8, act3 fc1.
std::array<int64_t, 3> cnn_site_elements(const CnnWidths& w);
/// Fills relu_elements, maxpool_comparisons, drelus, params and macs of `a` from its
/// widths, acts and pools (shapes: conv1 k5 28x28 -> 24x24, pool -> 12x12, conv2 k5 ->
/// 8x8, pool -> 4x4). A "relu" site costs one DReLU per element, "poly" and "id" none; a
/// max pool costs 3 comparisons per output (perfmodel's DReLU count), avg none. Throws
/// mpc::InvalidArgument for a width < 1 or an unknown choice.
CnnArch cnn_costs(CnnArch a);

/// The IR of CNN `a` with zero weights (layer names and order as the trainer exports it:
/// conv1, [act1,] pool1, conv2, [act2,] pool2, flatten, fc1, [act3,] fc2; an "id" site has
/// no layer), shapes inferred: for counting (network_drelus) and pricing (perfmodel).
/// Throws as cnn_costs.
Network cnn_network(const CnnArch& a);

/// The generator's constants (docs/training.md): the linear first stage keeps the shipped
/// width; fc1 keeps at least the shipped width; the widths' caps bound the family.
inline constexpr int64_t kReshapeConv1 = 16;
inline constexpr int64_t kReshapeFc1Base = 128;
inline constexpr int64_t kReshapeFc1Max = 512;
inline constexpr int64_t kReshapeConv2Min = 4;
inline constexpr int64_t kReshapeConv2Max = 128;

/// Smallest budget the family serves: the hybrid member with conv2 = kReshapeConv2Min (384).
int64_t reshape_min_budget();
/// Largest DReLU count of a member (every width at its cap): 8,704. Larger budgets get it.
int64_t reshape_max_drelus();

/// DeepReShape's rules on the CNN for a budget of `relu_budget` DReLUs per image: first
/// the "hybrid" member (act1 linear, ReLUs at act2 and act3, drelus == min(budget,
/// reshape_max_drelus())), then the "conv2-only" member (ReLUs at act2 only, fc1 linear,
/// drelus <= budget). Average pools. Throws mpc::InvalidArgument naming the minimum when
/// relu_budget < reshape_min_budget().
std::vector<CnnArch> deepreshape_family(int64_t relu_budget);

}  // namespace polympc::nn
