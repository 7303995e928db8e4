// LibTorch side of the trainer: the polynomial activation, the Fashion-MNIST CNN, export
// to the polympc IR (with batch norm folded) and a float forward of any IR network.
#pragma once
#include <torch/torch.h>

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "polympc/nn/ir.h"
#include "polympc/train/trainer.h"

namespace polympc::train {

/// PASNet polynomial activation (docs/design.md §11): poly(x) = s*w0*x^2 + w1*x + b with one
/// trainable (w0, w1, b) per channel (dim 1 of an NCHW or NF tensor), initialised to
/// w0 = 0.005, w1 = 1, b = 0. `scale` is the fixed s.
class PolyActImpl : public torch::nn::Module {
 public:
  PolyActImpl(int64_t channels, double scale);
  torch::Tensor forward(const torch::Tensor& x);
  /// IR coefficients: a2 = s*w0, a1 = w1, a0 = b (size `channels` each).
  std::vector<float> a2() const;
  std::vector<float> a1() const;
  std::vector<float> a0() const;

 private:
  torch::Tensor w0_, w1_, b_;
  double scale_;
};
TORCH_MODULE(PolyAct);

/// What an activation site computes: ReLU, the polynomial, or (search) their PASNet mix
/// softmax(alpha)_0 * relu(x) + softmax(alpha)_1 * poly(x).
enum class ActChoice { Relu, Poly, Mix };
/// What a pooling site computes: 2x2 average, 2x2 max, or (search) their mix
/// softmax(alpha)_0 * max(x) + softmax(alpha)_1 * avg(x).
enum class PoolChoice { Avg, Max, Mix };

/// The shipped CNN (see train_and_export). Input [N, 1, 28, 28], output logits [N, 10].
/// Activation sites act1, act2, act3; pooling sites pool1, pool2.
class FmnistCnnImpl : public torch::nn::Module {
 public:
  /// `poly[i]` selects the polynomial activation at site i, else ReLU; average pools.
  FmnistCnnImpl(const std::vector<bool>& poly, double poly_scale);
  /// Any choice per site (3 activation sites, 2 pooling sites); a Mix site gets a
  /// parameter "alpha_<site>" in R^2, initialised to 0 (both choices weigh 1/2).
  FmnistCnnImpl(const std::vector<ActChoice>& acts, const std::vector<PoolChoice>& pools,
                double poly_scale);
  torch::Tensor forward(torch::Tensor x);

  /// The alpha of every Mix site, and every other parameter (PASNet trains them with
  /// separate optimisers).
  std::vector<torch::Tensor> alpha_parameters() const;
  std::vector<torch::Tensor> weight_parameters() const;
  /// Sum over Mix sites of softmax(alpha) . latency[site] (differentiable in alpha).
  /// `latency` maps a site name to the costs of its two choices, in the order of the mix
  /// (activation: relu, poly; pool: max, avg). Sites without an entry cost 0.
  torch::Tensor expected_latency(const std::map<std::string, std::array<double, 2>>& latency) const;
  /// softmax(alpha) of every Mix site, by site name.
  std::map<std::string, std::array<double, 2>> mix_weights() const;
  /// Replaces every Mix site by its argmax choice (ties: the first). Returns every
  /// site's choice by name: "relu" | "poly" | "max" | "avg".
  std::map<std::string, std::string> fix_choices();

  /// The network with every BatchNorm folded into the preceding Conv/Linear (uses the
  /// running statistics, i.e. eval-mode semantics). Layer names conv1, act1, pool1,
  /// conv2, act2, pool2, flatten, fc1, act3, fc2; Poly layers carry per-channel
  /// poly_a2 = s*w0, poly_a1 = w1, poly_a0 = b.
  nn::Network to_network() const;

 private:
  torch::Tensor act(size_t site, const torch::Tensor& x);
  torch::Tensor pool(size_t site, const torch::Tensor& x);

  std::vector<ActChoice> acts_choice_;
  std::vector<PoolChoice> pools_;
  std::vector<torch::Tensor> act_alpha_, pool_alpha_;  ///< undefined unless Mix
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr};
  torch::nn::Conv2d fc1_{nullptr}, fc2_{nullptr};  ///< Linear layers, run as Conv
  torch::nn::BatchNorm2d bn3_{nullptr};             ///< BatchNorm1d over fc1's outputs
  std::vector<PolyAct> acts_;  ///< one per site; nullptr for ReLU sites
};
TORCH_MODULE(FmnistCnn);

/// Float forward of an IR network with LibTorch ops (NCHW, batch first), for checking an
/// exported model. Supports every nn::OpKind; pools need symmetric padding.
/// Throws nn::ModelError naming the layer for anything it cannot run.
class IrForward {
 public:
  explicit IrForward(const nn::Network& net);
  /// Runs the network on `input` [N, C, H, W]; returns the last layer's output. If
  /// `max_abs` is given (size = number of layers), it is raised to each layer's max |y|.
  torch::Tensor operator()(const torch::Tensor& input, std::vector<double>* max_abs = nullptr) const;

 private:
  nn::Network net_;
  std::vector<torch::Tensor> weight_, bias_, a2_, a1_, a0_;
};

}  // namespace polympc::train
