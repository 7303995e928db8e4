// LibTorch side of the trainer: the polynomial activation, the Fashion-MNIST CNN, export
// to the polympc IR (with batch norm folded) and a float forward of any IR network.
#pragma once
#include <torch/torch.h>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "polympc/nn/ir.h"
#include "polympc/nn/reshape.h"
#include "polympc/train/ir_net.h"
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

/// What an activation site computes: ReLU, the polynomial, nothing (Id: the layer stays
/// linear and the exported IR has no layer for the site; DeepReShape's dropped ReLUs), or
/// (search) their PASNet mix softmax(alpha)_0 * relu(x) + softmax(alpha)_1 * poly(x) (the
/// mix never offers Id).
enum class ActChoice { Relu, Poly, Mix, Id };
/// What a pooling site computes: 2x2 average, 2x2 max, or (search) their mix
/// softmax(alpha)_0 * max(x) + softmax(alpha)_1 * avg(x).
enum class PoolChoice { Avg, Max, Mix };

/// Poly for every true entry (parse_acts' result), ReLU otherwise.
std::vector<ActChoice> act_choices(const std::vector<bool>& poly);
/// parse_act_words' result as choices ("relu" -> Relu, "poly" -> Poly, "id" -> Id).
std::vector<ActChoice> act_choices(const std::vector<std::string>& words);

/// A network whose activation sites choose ReLU / polynomial and whose pooling sites
/// choose max / average, each fixed or (search) a PASNet mix with alpha in R^2
/// (docs/training.md). Architectures derive from it, declare their sites in order with
/// add_act_site / add_pool_site and run them with act() / pool(); the site machinery
/// (alpha, the latency term, argmax, the IR layers of the sites) lives here once.
class SupernetImpl : public torch::nn::Module {
 public:
  /// Logits [N, classes] of input [N, C, H, W].
  virtual torch::Tensor forward(torch::Tensor x) = 0;
  /// The network with every BatchNorm folded into the preceding Conv/Linear (running
  /// statistics, eval-mode semantics); site layers are named by their site. Throws
  /// TrainError while a site is still a mix (fix_choices first).
  nn::Network to_network() const;

  /// True when activation site `site` is Id (no layer in the exported IR).
  bool act_is_id(size_t site) const { return acts_choice_.at(site) == ActChoice::Id; }
  /// Site names in network order ("act1", ..., "pool1", ...).
  const std::vector<std::string>& act_sites() const { return act_names_; }
  const std::vector<std::string>& pool_sites() const { return pool_names_; }
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
  /// site's choice by name: "relu" | "poly" | "id" | "max" | "avg".
  std::map<std::string, std::string> fix_choices();

 protected:
  /// Declares the next activation site over `channels` channels (dim 1). A Poly or Mix
  /// site registers a PolyAct module named `name`; a Mix site the parameter
  /// "alpha_<name>", initialised to 0 (both choices weigh 1/2). Relu and Id sites register
  /// nothing.
  void add_act_site(const std::string& name, int64_t channels, ActChoice choice, double poly_scale);
  /// Declares the next 2x2 stride-2 pooling site.
  void add_pool_site(const std::string& name, PoolChoice choice);
  torch::Tensor act(size_t site, const torch::Tensor& x);
  torch::Tensor pool(size_t site, const torch::Tensor& x);
  /// The IR layer of a fixed site (Relu or per-channel Poly; MaxPool or AvgPool 2x2/2).
  /// Not for an Id site (it has no layer: check act_is_id).
  nn::Layer act_layer(size_t site) const;
  nn::Layer pool_layer(size_t site) const;
  /// The architecture's part of to_network(), called with every site fixed and without
  /// gradients.
  virtual nn::Network build_network() const = 0;

 private:
  std::vector<std::string> act_names_, pool_names_;
  std::vector<ActChoice> acts_choice_;
  std::vector<PoolChoice> pools_;
  std::vector<torch::Tensor> act_alpha_, pool_alpha_;  ///< undefined unless Mix
  std::vector<PolyAct> acts_;  ///< one per activation site; nullptr for ReLU sites
};
using Supernet = std::shared_ptr<SupernetImpl>;

/// The shipped CNN (see train_and_export). Input [N, 1, 28, 28], output logits [N, 10].
/// conv1 1->16 k5, BN, act1, pool1, conv2 16->32 k5, BN, act2, pool2, flatten,
/// fc1 512->128, BN1d, act3, fc2 128->10. Activation sites act1, act2, act3; pooling
/// sites pool1, pool2. Other widths (DeepReShape's family, nn/reshape.h): conv1 1->c1,
/// conv2 c1->c2, fc1 16*c2->f, fc2 f->10; the default {16, 32, 128} builds exactly the
/// shipped CNN (same modules, same order, same initialisation).
class FmnistCnnImpl : public SupernetImpl {
 public:
  /// `poly[i]` selects the polynomial activation at site i, else ReLU; average pools.
  FmnistCnnImpl(const std::vector<bool>& poly, double poly_scale);
  /// Any choice per site (3 activation sites, 2 pooling sites). Throws TrainError for a
  /// width < 1.
  FmnistCnnImpl(const std::vector<ActChoice>& acts, const std::vector<PoolChoice>& pools,
                double poly_scale, const nn::CnnWidths& widths = {});
  torch::Tensor forward(torch::Tensor x) override;
  /// Layer names conv1, act1, pool1, conv2, act2, pool2, flatten, fc1, act3, fc2; Poly
  /// layers carry per-channel poly_a2 = s*w0, poly_a1 = w1, poly_a0 = b.
  nn::Network build_network() const override;

 private:
  nn::CnnWidths widths_;
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr};
  torch::nn::Conv2d fc1_{nullptr}, fc2_{nullptr};  ///< Linear layers, run as Conv
  torch::nn::BatchNorm2d bn3_{nullptr};             ///< BatchNorm1d over fc1's outputs
};
TORCH_MODULE(FmnistCnn);

/// ResNet-8 (the MLPerf Tiny image-classification network, He et al. 2016 blocks):
/// stem conv3x3 C->16 pad 1, BN, act1; three residual blocks of widths 16, 32, 64 with
/// strides 1, 2, 2, each conv3x3 (pad 1, stride s), BN, act, conv3x3, BN, plus the
/// shortcut (identity, or conv1x1 stride s + BN when the shape changes), then act; global
/// average pooling; fc 64->classes. Seven activation sites act1 ... act7 (the stem's,
/// then two per block), no pooling sites. Input [N, C, H, W] with H, W >= 4 (Fashion-MNIST
/// [1, 28, 28], CIFAR-10 [3, 32, 32]).
class ResNet8Impl : public SupernetImpl {
 public:
  /// `acts` has 7 entries; `input_shape` is [C, H, W].
  ResNet8Impl(const std::vector<ActChoice>& acts, std::vector<int64_t> input_shape, int64_t classes,
              double poly_scale);
  torch::Tensor forward(torch::Tensor x) override;
  /// Layers stem, act1, then per block b = 1..3: b<b>.conv1, act, b<b>.conv2,
  /// [b<b>.down,] b<b>.add, act; gap, flatten, fc. Add layers read the block's input (or
  /// its downsampled shortcut) as their second input.
  nn::Network build_network() const override;

 private:
  struct Block {
    torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, down{nullptr};
    torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr}, down_bn{nullptr};
  };
  std::vector<int64_t> input_shape_;
  torch::nn::Conv2d stem_{nullptr};
  torch::nn::BatchNorm2d stem_bn_{nullptr};
  std::vector<Block> blocks_;
  torch::nn::Conv2d fc_{nullptr};  ///< Linear 64->classes, run as a 1x1 Conv
};
TORCH_MODULE(ResNet8);

/// Architectures of the trainer: "fmnist-cnn" and "resnet8".
std::vector<std::string> arch_names();
/// Number of activation and pooling sites of `arch`. Throws TrainError for an unknown arch.
struct SiteCount {
  size_t acts = 0, pools = 0;
};
SiteCount site_count(const std::string& arch);
/// A fresh network of `arch` for inputs of `input_shape` [C, H, W] and `classes` outputs,
/// with the given choice per site (sizes as site_count) and, for fmnist-cnn, `widths`.
/// Throws TrainError (unknown arch, wrong number of choices, an input the arch cannot
/// take, widths other than the default or an Id site for resnet8).
Supernet make_supernet(const std::string& arch, const std::vector<ActChoice>& acts,
                       const std::vector<PoolChoice>& pools, const std::vector<int64_t>& input_shape,
                       int64_t classes, double poly_scale, const nn::CnnWidths& widths = {});

/// Float forward of an IR network with LibTorch ops (NCHW, batch first), for checking an
/// exported model, without gradients: an IrNet (ir_net.h). Supports every nn::OpKind; pools
/// need symmetric padding. Throws nn::ModelError naming the layer for anything it cannot run.
class IrForward {
 public:
  explicit IrForward(const nn::Network& net);
  /// Runs the network on `input` [N, C, H, W]; returns the last layer's output. If
  /// `max_abs` is given (size = number of layers), it is raised to each layer's max |y|.
  torch::Tensor operator()(const torch::Tensor& input, std::vector<double>* max_abs = nullptr) const;

 private:
  std::shared_ptr<IrNetImpl> net_;
};

}  // namespace polympc::train
