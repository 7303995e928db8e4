// A polympc IR network as a trainable LibTorch module: the float forward of any exported
// model (IrForward checks exports with it) and the fine-tuning of a model whose structure is
// fixed, e.g. after the Block-ReLU allocation (finetune.h).
#pragma once
#include <torch/torch.h>

#include <vector>

#include "polympc/nn/ir.h"

namespace polympc::train {

/// Block-ReLU (Gorski, Jevnisek & Avidan, arXiv 2304.10442, §3) in LibTorch, the float twin of
/// nn::OpKind::BlockRelu: per channel c of x [N, C, H, W], patches[c] is Identity (y = x),
/// Zero (y = 0) or an h x w rectangle tiling the plane from the top-left corner (border
/// patches cropped), where y = x * 1{sum of x over the patch >= 0}. The mask is computed
/// without gradient, so dy/dx = the mask, as for ReLU (the paper's training).
/// Throws nn::ModelError if patches.size() != C or x is not 4-D.
torch::Tensor block_relu(const torch::Tensor& x, const std::vector<nn::BlockPatch>& patches);

/// The network's Conv / Linear weights and biases and Poly coefficients as parameters
/// (named "<layer>.weight", "<layer>.bias", "<layer>.a2", ...), everything else as in the
/// IR. Supports every nn::OpKind; pools need symmetric padding.
class IrNetImpl : public torch::nn::Module {
 public:
  /// Throws nn::ModelError naming the layer (a weight whose size does not match its shape,
  /// a bias of the wrong size, missing polynomial coefficients, asymmetric pool padding).
  explicit IrNetImpl(const nn::Network& net);
  /// Runs the network on `input` [N, C, H, W] (batch first, the IR's [C, H, W] per image);
  /// returns the last layer's output. If `max_abs` is given (size = number of layers), it is
  /// raised to each layer's max |y|. Throws nn::ModelError naming a layer it cannot run.
  torch::Tensor forward(const torch::Tensor& input, std::vector<double>* max_abs = nullptr);
  /// Quantisation-aware training at the fixed point the 2PC executor uses (0 = off): the
  /// input of every Conv, Linear and Poly layer is floored to its scale f_i
  /// (nn::resolve_frac(Layer::frac_bits, frac)), as the truncation before it does, and Conv /
  /// Linear weights are rounded to f_i and biases to 2 f_i, as nn::quantize does. The
  /// gradient passes straight through both (Bengio et al. 2013's estimator; UFO's
  /// fine-tuning, arXiv 2602.18758). Export with it off: the parameters stay float.
  void set_fake_quant(int frac) { fake_frac_ = frac; }
  /// The IR network with the current parameter values (structure unchanged).
  nn::Network to_network() const;
  const nn::Network& network() const { return net_; }

 private:
  nn::Network net_;
  std::vector<torch::Tensor> weight_, bias_, a2_, a1_, a0_;  ///< per layer; undefined if none
  int fake_frac_ = 0;
};
TORCH_MODULE(IrNet);

}  // namespace polympc::train
