// A polympc IR network as a LibTorch module (ir_net.h) and the float forward built on it
// (IrForward, model.h).
#include "polympc/train/ir_net.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>

#include "polympc/train/model.h"

namespace polympc::train {
namespace {

torch::Tensor tensor_of(const std::vector<float>& v, std::vector<int64_t> shape) {
  if (shape.empty()) shape = {static_cast<int64_t>(v.size())};
  return torch::from_blob(const_cast<float*>(v.data()), shape, torch::kFloat).clone();
}

std::vector<float> values_of(const torch::Tensor& t) {
  const torch::Tensor c = t.detach().to(torch::kFloat).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
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

// A parameter name for `layer` (torch forbids '.' in names; ResNet layers are "b1.conv1").
std::string param_name(const nn::Layer& l, const char* what) {
  std::string n = l.name;
  std::replace(n.begin(), n.end(), '.', '_');
  return n + "_" + what;
}

}  // namespace

torch::Tensor block_relu(const torch::Tensor& x, const std::vector<nn::BlockPatch>& patches) {
  if (x.dim() != 4) throw nn::ModelError("block_relu: input must be [N, C, H, W]");
  const int64_t C = x.size(1), H = x.size(2), W = x.size(3);
  if (static_cast<int64_t>(patches.size()) != C)
    throw nn::ModelError("block_relu: " + std::to_string(patches.size()) + " patch kinds for " +
                         std::to_string(C) + " channels");
  torch::Tensor mask;
  {
    torch::NoGradGuard no_grad;
    const torch::Tensor xd = x.detach();
    mask = torch::ones_like(xd);
    // Channels grouped by patch kind, so each kind is one pooling call.
    std::map<std::string, std::pair<nn::BlockPatch, std::vector<int64_t>>> groups;
    for (int64_t c = 0; c < C; ++c) {
      const nn::BlockPatch& p = patches[static_cast<size_t>(c)];
      auto& g = groups[nn::block_patch_name(p)];
      g.first = p;
      g.second.push_back(c);
    }
    for (const auto& [name, g] : groups) {
      const nn::BlockPatch& p = g.first;
      if (p.kind == nn::BlockPatch::Kind::Identity) continue;
      const torch::Tensor idx = torch::tensor(g.second, torch::kLong);
      torch::Tensor m;
      if (p.kind == nn::BlockPatch::Kind::Zero) {
        m = torch::zeros({xd.size(0), idx.size(0), H, W}, xd.options());
      } else {
        // A patch taller or wider than the plane is cropped to it: the same single row /
        // column of patches. The patch mean has the sign of the patch sum.
        const int64_t kh = std::min<int64_t>(p.h, H), kw = std::min<int64_t>(p.w, W);
        const torch::Tensor mean = torch::avg_pool2d(xd.index_select(1, idx), {kh, kw}, {kh, kw}, {0, 0},
                                                     /*ceil_mode=*/true, /*count_include_pad=*/false);
        m = mean.ge(0).to(xd.scalar_type()).repeat_interleave(kh, 2).repeat_interleave(kw, 3);
        m = m.slice(2, 0, H).slice(3, 0, W);
      }
      mask.index_copy_(1, idx, m);
    }
  }
  return x * mask;
}

IrNetImpl::IrNetImpl(const nn::Network& net) : net_(net) {
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
        w = register_parameter(param_name(l, "weight"), tensor_of(l.weight, l.weight_shape));
        if (!l.bias.empty()) {
          if (static_cast<int64_t>(l.bias.size()) != l.weight_shape[0]) fail(l, "bias size != outputs");
          b = register_parameter(param_name(l, "bias"), tensor_of(l.bias, {}));
        }
        break;
      }
      case nn::OpKind::Poly:
        if (l.poly_a2.empty() || l.poly_a1.empty() || l.poly_a0.empty()) fail(l, "missing coefficients");
        a2 = register_parameter(param_name(l, "a2"), tensor_of(l.poly_a2, {}));
        a1 = register_parameter(param_name(l, "a1"), tensor_of(l.poly_a1, {}));
        a0 = register_parameter(param_name(l, "a0"), tensor_of(l.poly_a0, {}));
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

nn::Network IrNetImpl::to_network() const {
  nn::Network out = net_;
  for (size_t i = 0; i < out.layers.size(); ++i) {
    nn::Layer& l = out.layers[i];
    if (weight_[i].defined()) l.weight = values_of(weight_[i]);
    if (bias_[i].defined()) l.bias = values_of(bias_[i]);
    if (a2_[i].defined()) {
      l.poly_a2 = values_of(a2_[i]);
      l.poly_a1 = values_of(a1_[i]);
      l.poly_a0 = values_of(a0_[i]);
    }
  }
  return out;
}

namespace {
/// x on the grid 2^-f: floor (the truncation's rounding) or nearest (quantize's); the
/// gradient passes straight through.
torch::Tensor on_grid(const torch::Tensor& x, int f, bool floor) {
  const double s = std::ldexp(1.0, f);
  const torch::Tensor q = (floor ? torch::floor(x * s) : torch::round(x * s)) / s;
  return x + (q - x).detach();
}
}  // namespace

torch::Tensor IrNetImpl::forward(const torch::Tensor& input, std::vector<double>* max_abs) {
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
    const bool fq = fake_frac_ > 0 && (l.op == nn::OpKind::Conv || l.op == nn::OpKind::Linear || l.op == nn::OpKind::Poly);
    const int fi = nn::resolve_frac(l.frac_bits, fake_frac_);
    const torch::Tensor x = fq ? on_grid(in[0], fi, /*floor=*/true) : in[0];
    const torch::Tensor w = fq && weight_[i].defined() ? on_grid(weight_[i], fi, false) : weight_[i];
    const torch::Tensor bias = fq && bias_[i].defined() ? on_grid(bias_[i], 2 * fi, false) : bias_[i];
    torch::Tensor y;
    switch (l.op) {
      case nn::OpKind::Conv: {
        torch::Tensor xp = x;
        int64_t ph = l.pad_top, pw = l.pad_left;
        if (l.pad_top != l.pad_bottom || l.pad_left != l.pad_right) {
          xp = torch::constant_pad_nd(x, {l.pad_left, l.pad_right, l.pad_top, l.pad_bottom}, 0.0);
          ph = pw = 0;
        }
        y = torch::conv2d(xp, w, bias, {l.stride_h, l.stride_w}, {ph, pw});
        break;
      }
      case nn::OpKind::Linear:
        y = torch::linear(x.dim() == 2 ? x : x.flatten(1), w, bias);
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
        if (x.dim() != 4) fail(l, "input must be [N, C, H, W]");
        y = block_relu(x, l.block_patches);
        break;
    }
    if (max_abs != nullptr && y.numel() > 0) {
      (*max_abs)[i] = std::max((*max_abs)[i], y.detach().abs().max().item<double>());
    }
    out[i] = std::move(y);
  }
  return out.back();
}

IrForward::IrForward(const nn::Network& net) : net_(std::make_shared<IrNetImpl>(net)) {}

torch::Tensor IrForward::operator()(const torch::Tensor& input, std::vector<double>* max_abs) const {
  torch::NoGradGuard no_grad;
  return net_->forward(input, max_abs);
}

}  // namespace polympc::train
