// The Fashion-MNIST CNN, batch-norm folding and export to the polympc IR.
#include "polympc/train/model.h"

#include <algorithm>
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

// ---------------------------------------------------------------------------- Supernet

void SupernetImpl::add_act_site(const std::string& name, int64_t channels, ActChoice choice, double poly_scale) {
  act_names_.push_back(name);
  acts_choice_.push_back(choice);
  const bool poly = choice == ActChoice::Poly || choice == ActChoice::Mix;
  acts_.push_back(poly ? register_module(name, PolyAct(channels, poly_scale)) : PolyAct(nullptr));
  act_alpha_.push_back(choice == ActChoice::Mix ? register_parameter("alpha_" + name, torch::zeros({2})) : torch::Tensor());
}

void SupernetImpl::add_pool_site(const std::string& name, PoolChoice choice) {
  pool_names_.push_back(name);
  pools_.push_back(choice);
  pool_alpha_.push_back(choice == PoolChoice::Mix ? register_parameter("alpha_" + name, torch::zeros({2})) : torch::Tensor());
}

torch::Tensor SupernetImpl::act(size_t site, const torch::Tensor& x) {
  switch (acts_choice_.at(site)) {
    case ActChoice::Relu:
      return torch::relu(x);
    case ActChoice::Poly:
      return acts_[site]->forward(x);
    case ActChoice::Id:
      return x;
    case ActChoice::Mix: {
      const torch::Tensor w = torch::softmax(act_alpha_[site], 0);
      return w[0] * torch::relu(x) + w[1] * acts_[site]->forward(x);
    }
  }
  throw TrainError("bad activation choice");
}

torch::Tensor SupernetImpl::pool(size_t site, const torch::Tensor& x) {
  switch (pools_.at(site)) {
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

std::vector<torch::Tensor> SupernetImpl::alpha_parameters() const {
  std::vector<torch::Tensor> out;
  for (const auto* alphas : {&act_alpha_, &pool_alpha_})
    for (const auto& a : *alphas)
      if (a.defined()) out.push_back(a);
  return out;
}

std::vector<torch::Tensor> SupernetImpl::weight_parameters() const {
  std::vector<torch::Tensor> out;
  for (const auto& kv : named_parameters())
    if (kv.key().rfind("alpha_", 0) != 0) out.push_back(kv.value());
  return out;
}

torch::Tensor SupernetImpl::expected_latency(const std::map<std::string, std::array<double, 2>>& latency) const {
  torch::Tensor sum = torch::zeros({});
  auto add = [&](const torch::Tensor& alpha, const std::string& site) {
    auto it = latency.find(site);
    if (!alpha.defined() || it == latency.end()) return;
    const torch::Tensor cost = torch::tensor({it->second[0], it->second[1]}, torch::kFloat);
    sum = sum + (torch::softmax(alpha, 0) * cost).sum();
  };
  for (size_t i = 0; i < act_names_.size(); ++i) add(act_alpha_[i], act_names_[i]);
  for (size_t i = 0; i < pool_names_.size(); ++i) add(pool_alpha_[i], pool_names_[i]);
  return sum;
}

std::map<std::string, std::array<double, 2>> SupernetImpl::mix_weights() const {
  torch::NoGradGuard no_grad;
  std::map<std::string, std::array<double, 2>> out;
  auto put = [&](const torch::Tensor& alpha, const std::string& site) {
    if (!alpha.defined()) return;
    const torch::Tensor w = torch::softmax(alpha, 0);
    out[site] = {w[0].item<double>(), w[1].item<double>()};
  };
  for (size_t i = 0; i < act_names_.size(); ++i) put(act_alpha_[i], act_names_[i]);
  for (size_t i = 0; i < pool_names_.size(); ++i) put(pool_alpha_[i], pool_names_[i]);
  return out;
}

namespace {
/// True when the second choice of a mix wins (ties: the first); freezes alpha.
bool second_wins(const torch::Tensor& alpha) {
  alpha.set_requires_grad(false);
  return alpha[1].item<double>() > alpha[0].item<double>();
}
}  // namespace

std::map<std::string, std::string> SupernetImpl::fix_choices() {
  torch::NoGradGuard no_grad;
  std::map<std::string, std::string> out;
  for (size_t i = 0; i < act_names_.size(); ++i) {
    if (acts_choice_[i] == ActChoice::Mix) acts_choice_[i] = second_wins(act_alpha_[i]) ? ActChoice::Poly : ActChoice::Relu;
    out[act_names_[i]] = acts_choice_[i] == ActChoice::Poly ? "poly" : acts_choice_[i] == ActChoice::Id ? "id" : "relu";
  }
  for (size_t i = 0; i < pool_names_.size(); ++i) {
    if (pools_[i] == PoolChoice::Mix) pools_[i] = second_wins(pool_alpha_[i]) ? PoolChoice::Avg : PoolChoice::Max;
    out[pool_names_[i]] = pools_[i] == PoolChoice::Avg ? "avg" : "max";
  }
  return out;
}

nn::Network SupernetImpl::to_network() const {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < act_names_.size(); ++i)
    if (acts_choice_[i] == ActChoice::Mix)
      throw TrainError("cannot export: " + act_names_[i] + " is still a mix (fix_choices first)");
  for (size_t i = 0; i < pool_names_.size(); ++i)
    if (pools_[i] == PoolChoice::Mix)
      throw TrainError("cannot export: " + pool_names_[i] + " is still a mix (fix_choices first)");
  return build_network();
}

nn::Layer SupernetImpl::act_layer(size_t site) const {
  if (acts_choice_.at(site) == ActChoice::Id) throw TrainError(act_names_[site] + " is linear (id): it has no layer");
  if (acts_choice_.at(site) == ActChoice::Relu) return simple_layer(act_names_[site], nn::OpKind::Relu);
  nn::Layer l = simple_layer(act_names_[site], nn::OpKind::Poly);
  l.poly_a2 = acts_[site]->a2();
  l.poly_a1 = acts_[site]->a1();
  l.poly_a0 = acts_[site]->a0();
  return l;
}

nn::Layer SupernetImpl::pool_layer(size_t site) const {
  nn::Layer l = avg_pool_layer(pool_names_.at(site));
  if (pools_[site] == PoolChoice::Max) l.op = nn::OpKind::MaxPool;
  return l;
}

// ---------------------------------------------------------------------------- FmnistCnn

std::vector<ActChoice> act_choices(const std::vector<bool>& poly) {
  std::vector<ActChoice> a;
  for (bool p : poly) a.push_back(p ? ActChoice::Poly : ActChoice::Relu);
  return a;
}

std::vector<ActChoice> act_choices(const std::vector<std::string>& words) {
  std::vector<ActChoice> a;
  for (const std::string& w : words) {
    if (w == "relu") a.push_back(ActChoice::Relu);
    else if (w == "poly") a.push_back(ActChoice::Poly);
    else if (w == "id") a.push_back(ActChoice::Id);
    else throw TrainError("'" + w + "' is not an activation (relu, poly, id)");
  }
  return a;
}

FmnistCnnImpl::FmnistCnnImpl(const std::vector<bool>& poly, double poly_scale)
    : FmnistCnnImpl(act_choices(poly), {PoolChoice::Avg, PoolChoice::Avg}, poly_scale) {}

FmnistCnnImpl::FmnistCnnImpl(const std::vector<ActChoice>& acts, const std::vector<PoolChoice>& pools,
                             double poly_scale, const nn::CnnWidths& widths)
    : widths_(widths) {
  if (acts.size() != 3) throw TrainError("the CNN has 3 activation sites, got " + std::to_string(acts.size()));
  if (pools.size() != 2) throw TrainError("the CNN has 2 pooling sites, got " + std::to_string(pools.size()));
  if (widths.conv1 < 1 || widths.conv2 < 1 || widths.fc1 < 1)
    throw TrainError("the CNN's widths must be >= 1, got " + nn::widths_str(widths));
  const int64_t c1 = widths.conv1, c2 = widths.conv2, f = widths.fc1;
  conv1_ = register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, c1, 5).bias(false)));
  bn1_ = register_module("bn1", torch::nn::BatchNorm2d(c1));
  conv2_ = register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(c1, c2, 5).bias(false)));
  bn2_ = register_module("bn2", torch::nn::BatchNorm2d(c2));
  // fc1 and fc2 run as convolutions (same parameters and default init as Linear, whose
  // fan-in is the same): Debian's LibTorch does matrix products with the reference BLAS,
  // about 10x slower than its oneDNN convolutions. fc1 = Conv 32->128 k4 over the
  // [32, 4, 4] map (= Linear 512->128 on the C,H,W-flattened map), fc2 = Conv 1x1.
  fc1_ = register_module("fc1", torch::nn::Conv2d(torch::nn::Conv2dOptions(c2, f, 4).bias(false)));
  bn3_ = register_module("bn3", torch::nn::BatchNorm2d(f));
  fc2_ = register_module("fc2", torch::nn::Conv2d(torch::nn::Conv2dOptions(f, 10, 1)));
  const int64_t channels[3] = {c1, c2, f};
  for (size_t i = 0; i < 3; ++i) add_act_site("act" + std::to_string(i + 1), channels[i], acts[i], poly_scale);
  for (size_t i = 0; i < 2; ++i) add_pool_site("pool" + std::to_string(i + 1), pools[i]);
}

torch::Tensor FmnistCnnImpl::forward(torch::Tensor x) {
  x = pool(0, act(0, bn1_->forward(conv1_->forward(x))));
  x = pool(1, act(1, bn2_->forward(conv2_->forward(x))));
  x = act(2, bn3_->forward(fc1_->forward(x)));  // [N, 128, 1, 1]
  return fc2_->forward(x).flatten(1);
}

nn::Network FmnistCnnImpl::build_network() const {
  nn::Network net;
  net.name = "fmnist_cnn";
  net.input_shape = {1, 28, 28};
  // An Id site (the layer stays linear) has no layer.
  auto push_act = [&](size_t site) {
    if (!act_is_id(site)) net.layers.push_back(act_layer(site));
  };
  const int64_t c2 = widths_.conv2, f = widths_.fc1;
  net.layers.push_back(conv_layer("conv1", fold_batch_norm(conv1_->weight, conv1_->bias, bn1_)));
  push_act(0);
  net.layers.push_back(pool_layer(0));
  net.layers.push_back(conv_layer("conv2", fold_batch_norm(conv2_->weight, conv2_->bias, bn2_)));
  push_act(1);
  net.layers.push_back(pool_layer(1));
  net.layers.push_back(simple_layer("flatten", nn::OpKind::Flatten));
  const Folded fc1 = fold_batch_norm(fc1_->weight, fc1_->bias, bn3_);
  net.layers.push_back(linear_layer("fc1", fc1.weight.reshape({f, 16 * c2}), fc1.bias));
  push_act(2);
  net.layers.push_back(linear_layer("fc2", fc2_->weight.reshape({10, f}), fc2_->bias));
  return net;
}

// ---------------------------------------------------------------------------- ResNet8

namespace {
constexpr int64_t kResNet8Widths[3] = {16, 32, 64};
constexpr int64_t kResNet8Strides[3] = {1, 2, 2};

torch::nn::Conv2d conv3x3(int64_t in, int64_t out, int64_t stride) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(false));
}
}  // namespace

ResNet8Impl::ResNet8Impl(const std::vector<ActChoice>& acts, std::vector<int64_t> input_shape, int64_t classes,
                         double poly_scale)
    : input_shape_(std::move(input_shape)) {
  if (acts.size() != 7) throw TrainError("resnet8 has 7 activation sites, got " + std::to_string(acts.size()));
  if (input_shape_.size() != 3 || input_shape_[0] < 1 || input_shape_[1] < 4 || input_shape_[2] < 4)
    throw TrainError("resnet8 takes inputs [C, H, W] with C >= 1 and H, W >= 4, got " + nn::shape_str(input_shape_));
  if (classes < 2) throw TrainError("resnet8 needs at least 2 classes");
  stem_ = register_module("stem", conv3x3(input_shape_[0], kResNet8Widths[0], 1));
  stem_bn_ = register_module("stem_bn", torch::nn::BatchNorm2d(kResNet8Widths[0]));
  add_act_site("act1", kResNet8Widths[0], acts[0], poly_scale);
  int64_t in = kResNet8Widths[0];
  for (size_t b = 0; b < 3; ++b) {
    const int64_t w = kResNet8Widths[b], s = kResNet8Strides[b];
    const std::string p = "b" + std::to_string(b + 1) + "_";
    Block k;
    k.conv1 = register_module(p + "conv1", conv3x3(in, w, s));
    k.bn1 = register_module(p + "bn1", torch::nn::BatchNorm2d(w));
    k.conv2 = register_module(p + "conv2", conv3x3(w, w, 1));
    k.bn2 = register_module(p + "bn2", torch::nn::BatchNorm2d(w));
    if (s != 1 || in != w) {
      k.down = register_module(p + "down", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, w, 1).stride(s).bias(false)));
      k.down_bn = register_module(p + "down_bn", torch::nn::BatchNorm2d(w));
    }
    add_act_site("act" + std::to_string(2 * b + 2), w, acts[2 * b + 1], poly_scale);
    add_act_site("act" + std::to_string(2 * b + 3), w, acts[2 * b + 2], poly_scale);
    blocks_.push_back(k);
    in = w;
  }
  fc_ = register_module("fc", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, classes, 1)));
}

torch::Tensor ResNet8Impl::forward(torch::Tensor x) {
  x = act(0, stem_bn_->forward(stem_->forward(x)));
  for (size_t b = 0; b < blocks_.size(); ++b) {
    Block& k = blocks_[b];
    const torch::Tensor shortcut = k.down ? k.down_bn->forward(k.down->forward(x)) : x;
    torch::Tensor y = act(2 * b + 1, k.bn1->forward(k.conv1->forward(x)));
    y = k.bn2->forward(k.conv2->forward(y));
    x = act(2 * b + 2, y + shortcut);
  }
  x = x.mean({2, 3}, /*keepdim=*/true);  // global average pooling
  return fc_->forward(x).flatten(1);
}

nn::Network ResNet8Impl::build_network() const {
  nn::Network net;
  net.name = "resnet8";
  net.input_shape = input_shape_;
  auto push = [&](nn::Layer l, std::vector<int> inputs = {}) {
    l.inputs = std::move(inputs);
    net.layers.push_back(std::move(l));
    return static_cast<int>(net.layers.size()) - 1;
  };
  auto conv = [&](const std::string& name, const torch::nn::Conv2d& c, const torch::nn::BatchNorm2d& bn,
                  std::vector<int> inputs = {}) {
    nn::Layer l = conv_layer(name, fold_batch_norm(c->weight, c->bias, bn));
    l.stride_h = l.stride_w = static_cast<int>((*c->options.stride())[0]);
    // conv3x3 pads 1, the 1x1 shortcut 0: "same" padding of an odd kernel.
    l.pad_top = l.pad_left = l.pad_bottom = l.pad_right = (l.kernel_h - 1) / 2;
    return push(std::move(l), std::move(inputs));
  };
  conv("stem", stem_, stem_bn_);
  int x = push(act_layer(0));
  for (size_t b = 0; b < blocks_.size(); ++b) {
    const Block& k = blocks_[b];
    const std::string p = "b" + std::to_string(b + 1) + ".";
    conv(p + "conv1", k.conv1, k.bn1, {x});
    push(act_layer(2 * b + 1));
    const int main = conv(p + "conv2", k.conv2, k.bn2);
    const int shortcut = k.down ? conv(p + "down", k.down, k.down_bn, {x}) : x;
    push(simple_layer(p + "add", nn::OpKind::Add), {main, shortcut});
    x = push(act_layer(2 * b + 2));
  }
  push(simple_layer("gap", nn::OpKind::GlobalAvgPool));
  push(simple_layer("flatten", nn::OpKind::Flatten));
  const int64_t classes = fc_->weight.size(0);
  push(linear_layer("fc", fc_->weight.reshape({classes, fc_->weight.size(1)}), fc_->bias));
  return net;
}

// ---------------------------------------------------------------------------- factory

std::vector<std::string> arch_names() { return {"fmnist-cnn", "resnet8"}; }

SiteCount site_count(const std::string& arch) {
  if (arch == "fmnist-cnn") return {3, 2};
  if (arch == "resnet8") return {7, 0};
  throw TrainError("unknown architecture '" + arch + "'; the trainer knows fmnist-cnn, resnet8");
}

Supernet make_supernet(const std::string& arch, const std::vector<ActChoice>& acts,
                       const std::vector<PoolChoice>& pools, const std::vector<int64_t>& input_shape,
                       int64_t classes, double poly_scale, const nn::CnnWidths& widths) {
  const SiteCount n = site_count(arch);
  if (acts.size() != n.acts || pools.size() != n.pools)
    throw TrainError(arch + " has " + std::to_string(n.acts) + " activation and " + std::to_string(n.pools) +
                     " pooling sites, got " + std::to_string(acts.size()) + " and " + std::to_string(pools.size()));
  if (arch == "fmnist-cnn") {
    if (input_shape != std::vector<int64_t>{1, 28, 28} || classes != 10)
      throw TrainError("fmnist-cnn takes [1, 28, 28] inputs and 10 classes, got " + nn::shape_str(input_shape) +
                       " (use resnet8 for other inputs)");
    return FmnistCnn(acts, pools, poly_scale, widths).ptr();
  }
  if (widths != nn::CnnWidths{})
    throw TrainError("--widths sets the fmnist-cnn's widths; " + arch + " has fixed widths");
  if (std::find(acts.begin(), acts.end(), ActChoice::Id) != acts.end())
    throw TrainError("'id' activations are for fmnist-cnn; " + arch + " needs every site (relu or poly)");
  return ResNet8(acts, input_shape, classes, poly_scale).ptr();
}

}  // namespace polympc::train
