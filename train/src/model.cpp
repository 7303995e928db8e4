// The Fashion-MNIST CNN, batch-norm folding and export to the polympc IR.
#include "polympc/train/model.h"

#include <string>

namespace polympc::train {
namespace {

std::vector<float> to_vector(const torch::Tensor& t) {
  const torch::Tensor c = t.detach().to(torch::kCPU, torch::kFloat).contiguous();
  const float* p = c.data_ptr<float>();
  return std::vector<float>(p, p + c.numel());
}

std::vector<int64_t> to_shape(const torch::Tensor& t) {
  return std::vector<int64_t>(t.sizes().begin(), t.sizes().end());
}

// y = BN(W x + b) = (W x + b - mean) * g / sqrt(var + eps) + beta, folded into (W', b').
// `weight` has the output channel in dim 0; `bias` may be undefined (= 0).
struct Folded {
  torch::Tensor weight, bias;
};
template <typename BatchNorm>
Folded fold_batch_norm(const torch::Tensor& weight, const torch::Tensor& bias,
                       const BatchNorm& bn) {
  torch::NoGradGuard no_grad;
  const torch::Tensor factor =
      bn->weight / torch::sqrt(bn->running_var + bn->options.eps());
  std::vector<int64_t> view(static_cast<size_t>(weight.dim()), 1);
  view[0] = -1;
  Folded f;
  f.weight = weight * factor.view(view);
  const torch::Tensor b = bias.defined() ? bias : torch::zeros_like(bn->running_mean);
  f.bias = (b - bn->running_mean) * factor + bn->bias;
  return f;
}

nn::Layer conv_layer(const std::string& name, const Folded& f) {
  nn::Layer l;
  l.name = name;
  l.op = nn::OpKind::Conv;
  l.weight_shape = to_shape(f.weight);
  l.weight = to_vector(f.weight);
  l.bias = to_vector(f.bias);
  l.kernel_h = static_cast<int>(f.weight.size(2));
  l.kernel_w = static_cast<int>(f.weight.size(3));
  return l;
}

nn::Layer linear_layer(const std::string& name, const torch::Tensor& w, const torch::Tensor& b) {
  nn::Layer l;
  l.name = name;
  l.op = nn::OpKind::Linear;
  l.weight_shape = to_shape(w);
  l.weight = to_vector(w);
  l.bias = to_vector(b);
  return l;
}

nn::Layer simple_layer(const std::string& name, nn::OpKind op) {
  nn::Layer l;
  l.name = name;
  l.op = op;
  return l;
}

nn::Layer avg_pool_layer(const std::string& name) {
  nn::Layer l = simple_layer(name, nn::OpKind::AvgPool);
  l.kernel_h = l.kernel_w = 2;
  l.stride_h = l.stride_w = 2;
  return l;
}

}  // namespace

// ---------------------------------------------------------------------------- PolyAct

namespace {

// y = a2 x^2 + a1 x + a0 with a2, a1, a0 broadcast over x ([1, C, 1, ...]). One fused
// autograd node instead of LibTorch's chain of Mul/Add nodes and their broadcast
// reductions (about 3x less time in the activation on CPU).
class PolyFunction : public torch::autograd::Function<PolyFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& a2, const torch::Tensor& a1,
                               const torch::Tensor& a0) {
    ctx->save_for_backward({x, a2, a1});
    return torch::addcmul(a0, x, torch::addcmul(a1, a2, x));
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& x = saved[0];
    const torch::Tensor& a2 = saved[1];
    const torch::Tensor& a1 = saved[2];
    const torch::Tensor& g = grads[0];
    // Reduce over every dim but the channel dim 1.
    std::vector<int64_t> dims;
    for (int64_t d = 0; d < x.dim(); ++d) {
      if (d != 1) dims.push_back(d);
    }
    const torch::Tensor gx_lin = g * x;  // d/da1, and d/da2 = gx_lin * x
    const torch::Tensor dx = g * torch::addcmul(a1, a2, x, 2.0);
    const torch::Tensor da2 = (gx_lin * x).sum(dims, /*keepdim=*/true);
    const torch::Tensor da1 = gx_lin.sum(dims, /*keepdim=*/true);
    const torch::Tensor da0 = g.sum(dims, /*keepdim=*/true);
    return {dx, da2, da1, da0};
  }
};

}  // namespace

PolyActImpl::PolyActImpl(int64_t channels, double scale) : scale_(scale) {
  w0_ = register_parameter("w0", torch::full({channels}, 0.005));
  w1_ = register_parameter("w1", torch::ones({channels}));
  b_ = register_parameter("b", torch::zeros({channels}));
}

torch::Tensor PolyActImpl::forward(const torch::Tensor& x) {
  std::vector<int64_t> view(static_cast<size_t>(x.dim()), 1);
  view[1] = -1;
  return PolyFunction::apply(x, (w0_ * scale_).view(view), w1_.view(view), b_.view(view));
}

std::vector<float> PolyActImpl::a2() const { return to_vector(w0_ * scale_); }
std::vector<float> PolyActImpl::a1() const { return to_vector(w1_); }
std::vector<float> PolyActImpl::a0() const { return to_vector(b_); }

// ---------------------------------------------------------------------------- FmnistCnn

namespace {
std::vector<ActChoice> act_choices(const std::vector<bool>& poly) {
  std::vector<ActChoice> a;
  for (bool p : poly) a.push_back(p ? ActChoice::Poly : ActChoice::Relu);
  return a;
}
const char* const kActSites[3] = {"act1", "act2", "act3"};
const char* const kPoolSites[2] = {"pool1", "pool2"};
}  // namespace

FmnistCnnImpl::FmnistCnnImpl(const std::vector<bool>& poly, double poly_scale)
    : FmnistCnnImpl(act_choices(poly), {PoolChoice::Avg, PoolChoice::Avg}, poly_scale) {}

FmnistCnnImpl::FmnistCnnImpl(const std::vector<ActChoice>& acts, const std::vector<PoolChoice>& pools,
                             double poly_scale)
    : acts_choice_(acts), pools_(pools) {
  if (acts_choice_.size() != 3)
    throw TrainError("the CNN has 3 activation sites, got " + std::to_string(acts_choice_.size()));
  if (pools_.size() != 2) throw TrainError("the CNN has 2 pooling sites, got " + std::to_string(pools_.size()));
  conv1_ = register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 16, 5).bias(false)));
  bn1_ = register_module("bn1", torch::nn::BatchNorm2d(16));
  conv2_ = register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(16, 32, 5).bias(false)));
  bn2_ = register_module("bn2", torch::nn::BatchNorm2d(32));
  // fc1 and fc2 run as convolutions (same parameters and default init as Linear, whose
  // fan-in is the same): Debian's LibTorch does matrix products with the reference BLAS,
  // about 10x slower than its oneDNN convolutions. fc1 = Conv 32->128 k4 over the
  // [32, 4, 4] map (= Linear 512->128 on the C,H,W-flattened map), fc2 = Conv 1x1.
  fc1_ = register_module("fc1", torch::nn::Conv2d(torch::nn::Conv2dOptions(32, 128, 4).bias(false)));
  bn3_ = register_module("bn3", torch::nn::BatchNorm2d(128));
  fc2_ = register_module("fc2", torch::nn::Conv2d(torch::nn::Conv2dOptions(128, 10, 1)));
  const int64_t channels[3] = {16, 32, 128};
  act_alpha_.resize(3);
  pool_alpha_.resize(2);
  for (size_t i = 0; i < 3; ++i) {
    if (acts_choice_[i] != ActChoice::Relu) {
      acts_.push_back(register_module(kActSites[i], PolyAct(channels[i], poly_scale)));
    } else {
      acts_.push_back(PolyAct(nullptr));
    }
    if (acts_choice_[i] == ActChoice::Mix)
      act_alpha_[i] = register_parameter(std::string("alpha_") + kActSites[i], torch::zeros({2}));
  }
  for (size_t i = 0; i < 2; ++i)
    if (pools_[i] == PoolChoice::Mix)
      pool_alpha_[i] = register_parameter(std::string("alpha_") + kPoolSites[i], torch::zeros({2}));
}

torch::Tensor FmnistCnnImpl::act(size_t site, const torch::Tensor& x) {
  switch (acts_choice_[site]) {
    case ActChoice::Relu:
      return torch::relu(x);
    case ActChoice::Poly:
      return acts_[site]->forward(x);
    case ActChoice::Mix: {
      const torch::Tensor w = torch::softmax(act_alpha_[site], 0);
      return w[0] * torch::relu(x) + w[1] * acts_[site]->forward(x);
    }
  }
  throw TrainError("bad activation choice");
}

torch::Tensor FmnistCnnImpl::pool(size_t site, const torch::Tensor& x) {
  switch (pools_[site]) {
    case PoolChoice::Avg:
      return torch::avg_pool2d(x, 2);
    case PoolChoice::Max:
      return torch::max_pool2d(x, 2);
    case PoolChoice::Mix: {
      const torch::Tensor w = torch::softmax(pool_alpha_[site], 0);
      return w[0] * torch::max_pool2d(x, 2) + w[1] * torch::avg_pool2d(x, 2);
    }
  }
  throw TrainError("bad pool choice");
}

torch::Tensor FmnistCnnImpl::forward(torch::Tensor x) {
  x = pool(0, act(0, bn1_->forward(conv1_->forward(x))));
  x = pool(1, act(1, bn2_->forward(conv2_->forward(x))));
  x = act(2, bn3_->forward(fc1_->forward(x)));  // [N, 128, 1, 1]
  return fc2_->forward(x).flatten(1);
}

std::vector<torch::Tensor> FmnistCnnImpl::alpha_parameters() const {
  std::vector<torch::Tensor> out;
  for (const auto& a : act_alpha_)
    if (a.defined()) out.push_back(a);
  for (const auto& a : pool_alpha_)
    if (a.defined()) out.push_back(a);
  return out;
}

std::vector<torch::Tensor> FmnistCnnImpl::weight_parameters() const {
  std::vector<torch::Tensor> out;
  for (const auto& kv : named_parameters())
    if (kv.key().rfind("alpha_", 0) != 0) out.push_back(kv.value());
  return out;
}

torch::Tensor FmnistCnnImpl::expected_latency(const std::map<std::string, std::array<double, 2>>& latency) const {
  torch::Tensor sum = torch::zeros({});
  auto add = [&](const torch::Tensor& alpha, const char* site) {
    auto it = latency.find(site);
    if (!alpha.defined() || it == latency.end()) return;
    const torch::Tensor cost = torch::tensor({it->second[0], it->second[1]}, torch::kFloat);
    sum = sum + (torch::softmax(alpha, 0) * cost).sum();
  };
  for (size_t i = 0; i < 3; ++i) add(act_alpha_[i], kActSites[i]);
  for (size_t i = 0; i < 2; ++i) add(pool_alpha_[i], kPoolSites[i]);
  return sum;
}

std::map<std::string, std::array<double, 2>> FmnistCnnImpl::mix_weights() const {
  torch::NoGradGuard no_grad;
  std::map<std::string, std::array<double, 2>> out;
  auto put = [&](const torch::Tensor& alpha, const char* site) {
    if (!alpha.defined()) return;
    const torch::Tensor w = torch::softmax(alpha, 0);
    out[site] = {w[0].item<double>(), w[1].item<double>()};
  };
  for (size_t i = 0; i < 3; ++i) put(act_alpha_[i], kActSites[i]);
  for (size_t i = 0; i < 2; ++i) put(pool_alpha_[i], kPoolSites[i]);
  return out;
}

std::map<std::string, std::string> FmnistCnnImpl::fix_choices() {
  torch::NoGradGuard no_grad;
  std::map<std::string, std::string> out;
  for (size_t i = 0; i < 3; ++i) {
    if (acts_choice_[i] == ActChoice::Mix) {
      const torch::Tensor& a = act_alpha_[i];
      acts_choice_[i] = a[1].item<double>() > a[0].item<double>() ? ActChoice::Poly : ActChoice::Relu;
      a.set_requires_grad(false);
    }
    out[kActSites[i]] = acts_choice_[i] == ActChoice::Poly ? "poly" : "relu";
  }
  for (size_t i = 0; i < 2; ++i) {
    if (pools_[i] == PoolChoice::Mix) {
      const torch::Tensor& a = pool_alpha_[i];
      pools_[i] = a[1].item<double>() > a[0].item<double>() ? PoolChoice::Avg : PoolChoice::Max;
      a.set_requires_grad(false);
    }
    out[kPoolSites[i]] = pools_[i] == PoolChoice::Avg ? "avg" : "max";
  }
  return out;
}

nn::Network FmnistCnnImpl::to_network() const {
  torch::NoGradGuard no_grad;
  nn::Network net;
  net.name = "fmnist_cnn";
  net.input_shape = {1, 28, 28};
  for (size_t i = 0; i < 3; ++i)
    if (acts_choice_[i] == ActChoice::Mix)
      throw TrainError(std::string("cannot export: ") + kActSites[i] + " is still a mix (fix_choices first)");
  for (size_t i = 0; i < 2; ++i)
    if (pools_[i] == PoolChoice::Mix)
      throw TrainError(std::string("cannot export: ") + kPoolSites[i] + " is still a mix (fix_choices first)");
  auto add_pool = [&](size_t site) {
    nn::Layer l = avg_pool_layer(kPoolSites[site]);
    if (pools_[site] == PoolChoice::Max) l.op = nn::OpKind::MaxPool;
    net.layers.push_back(std::move(l));
  };
  auto add_act = [&](size_t site) {
    const std::string name = "act" + std::to_string(site + 1);
    if (acts_choice_[site] == ActChoice::Relu) {
      net.layers.push_back(simple_layer(name, nn::OpKind::Relu));
      return;
    }
    nn::Layer l = simple_layer(name, nn::OpKind::Poly);
    l.poly_a2 = acts_[site]->a2();
    l.poly_a1 = acts_[site]->a1();
    l.poly_a0 = acts_[site]->a0();
    net.layers.push_back(std::move(l));
  };
  net.layers.push_back(conv_layer("conv1", fold_batch_norm(conv1_->weight, conv1_->bias, bn1_)));
  add_act(0);
  add_pool(0);
  net.layers.push_back(conv_layer("conv2", fold_batch_norm(conv2_->weight, conv2_->bias, bn2_)));
  add_act(1);
  add_pool(1);
  net.layers.push_back(simple_layer("flatten", nn::OpKind::Flatten));
  const Folded fc1 = fold_batch_norm(fc1_->weight, fc1_->bias, bn3_);
  net.layers.push_back(linear_layer("fc1", fc1.weight.reshape({128, 512}), fc1.bias));
  add_act(2);
  net.layers.push_back(linear_layer("fc2", fc2_->weight.reshape({10, 128}), fc2_->bias));
  return net;
}

}  // namespace polympc::train
