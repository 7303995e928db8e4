// Float forward of a polympc IR network with LibTorch ops (checks an exported model).
#include <algorithm>
#include <string>

#include "polympc/train/model.h"

namespace polympc::train {
namespace {

torch::Tensor tensor_of(const std::vector<float>& v, std::vector<int64_t> shape) {
  if (shape.empty()) shape = {static_cast<int64_t>(v.size())};
  return torch::from_blob(const_cast<float*>(v.data()), shape, torch::kFloat).clone();
}

[[noreturn]] void fail(const nn::Layer& l, const std::string& why) {
  throw nn::ModelError("float forward: layer '" + l.name + "' (" + nn::op_name(l.op) +
                       "): " + why);
}

// Broadcast shape of per-channel coefficients for a [N, C, ...] tensor of rank `dim`.
torch::Tensor per_channel(const torch::Tensor& c, int64_t dim) {
  if (c.numel() == 1) return c.reshape({});
  std::vector<int64_t> view(static_cast<size_t>(dim), 1);
  view[1] = c.numel();
  return c.view(view);
}

}  // namespace

IrForward::IrForward(const nn::Network& net) : net_(net) {
  for (const nn::Layer& l : net_.layers) {
    torch::Tensor w, b, a2, a1, a0;
    switch (l.op) {
      case nn::OpKind::Conv:
      case nn::OpKind::Linear: {
        const size_t rank = l.op == nn::OpKind::Conv ? 4 : 2;
        if (l.weight_shape.size() != rank) fail(l, "weight must have rank " + std::to_string(rank));
        int64_t n = 1;
        for (int64_t d : l.weight_shape) n *= d;
        if (n != static_cast<int64_t>(l.weight.size())) fail(l, "weight size does not match its shape");
        w = tensor_of(l.weight, l.weight_shape);
        if (!l.bias.empty()) {
          if (static_cast<int64_t>(l.bias.size()) != l.weight_shape[0]) fail(l, "bias size != outputs");
          b = tensor_of(l.bias, {});
        }
        break;
      }
      case nn::OpKind::Poly:
        if (l.poly_a2.empty() || l.poly_a1.empty() || l.poly_a0.empty()) fail(l, "missing coefficients");
        a2 = tensor_of(l.poly_a2, {});
        a1 = tensor_of(l.poly_a1, {});
        a0 = tensor_of(l.poly_a0, {});
        break;
      case nn::OpKind::AvgPool:
      case nn::OpKind::MaxPool:
        if (l.pad_top != l.pad_bottom || l.pad_left != l.pad_right) fail(l, "asymmetric padding");
        break;
      default:
        break;
    }
    weight_.push_back(w);
    bias_.push_back(b);
    a2_.push_back(a2);
    a1_.push_back(a1);
    a0_.push_back(a0);
  }
}

torch::Tensor IrForward::operator()(const torch::Tensor& input, std::vector<double>* max_abs) const {
  torch::NoGradGuard no_grad;
  if (net_.layers.empty()) throw nn::ModelError("float forward: network has no layers");
  std::vector<torch::Tensor> out(net_.layers.size());
  for (size_t i = 0; i < net_.layers.size(); ++i) {
    const nn::Layer& l = net_.layers[i];
    std::vector<int> prods = l.inputs;
    if (prods.empty()) prods.push_back(static_cast<int>(i) - 1);
    std::vector<torch::Tensor> in;
    for (int p : prods) {
      if (p >= static_cast<int>(i)) fail(l, "input " + std::to_string(p) + " is not an earlier layer");
      in.push_back(p < 0 ? input : out[static_cast<size_t>(p)]);
    }
    const torch::Tensor& x = in[0];
    torch::Tensor y;
    switch (l.op) {
      case nn::OpKind::Conv: {
        torch::Tensor xp = x;
        int64_t ph = l.pad_top, pw = l.pad_left;
        if (l.pad_top != l.pad_bottom || l.pad_left != l.pad_right) {
          xp = torch::constant_pad_nd(x, {l.pad_left, l.pad_right, l.pad_top, l.pad_bottom}, 0.0);
          ph = pw = 0;
        }
        y = torch::conv2d(xp, weight_[i], bias_[i], {l.stride_h, l.stride_w}, {ph, pw});
        break;
      }
      case nn::OpKind::Linear:
        y = torch::linear(x.dim() == 2 ? x : x.flatten(1), weight_[i], bias_[i]);
        break;
      case nn::OpKind::Relu:
        y = torch::relu(x);
        break;
      case nn::OpKind::Poly:
        y = per_channel(a2_[i], x.dim()) * x * x + per_channel(a1_[i], x.dim()) * x +
            per_channel(a0_[i], x.dim());
        break;
      case nn::OpKind::AvgPool:
        y = torch::avg_pool2d(x, {l.kernel_h, l.kernel_w}, {l.stride_h, l.stride_w},
                              {l.pad_top, l.pad_left}, /*ceil_mode=*/false,
                              /*count_include_pad=*/false);
        break;
      case nn::OpKind::MaxPool:
        y = torch::max_pool2d(x, {l.kernel_h, l.kernel_w}, {l.stride_h, l.stride_w},
                              {l.pad_top, l.pad_left});
        break;
      case nn::OpKind::GlobalAvgPool:
        y = x.mean({2, 3}, /*keepdim=*/true);
        break;
      case nn::OpKind::Flatten:
        y = x.flatten(1);
        break;
      case nn::OpKind::Add:
        if (in.size() != 2) fail(l, "Add needs 2 inputs");
        y = in[0] + in[1];
        break;
      case nn::OpKind::BlockRelu:
        fail(l, "Block-ReLU is not in the trainer's float walk yet (nn::float_forward runs it)");
    }
    if (max_abs != nullptr && y.numel() > 0) {
      (*max_abs)[i] = std::max((*max_abs)[i], y.abs().max().item<double>());
    }
    out[i] = std::move(y);
  }
  return out.back();
}

}  // namespace polympc::train
