// Layer shapes from the IR and the built-in zoo of standard architectures (shape.h).
#include "polympc/perfmodel/shape.h"

#include <sstream>

#include "polympc/nn/onnx.h"
#include "polympc/nn/winograd.h"

namespace polympc::perfmodel {

namespace {

int64_t product(const std::vector<int64_t>& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
  return s;
}

/// Builds a NetShape layer by layer, tracking the current [C, H, W] shape.
class Builder {
 public:
  Builder(std::string name, std::vector<int64_t> input) {
    net_.name = std::move(name);
    net_.origin = "zoo";
    net_.input_shape = input;
    cur_ = std::move(input);
  }
  const std::vector<int64_t>& cur() const { return cur_; }
  /// Index of the layer whose output is cur() (-1 = the network input).
  int cur_index() const { return cur_index_; }
  void set_cur(std::vector<int64_t> s, int index) {
    cur_ = std::move(s);
    cur_index_ = index;
  }

  void conv(const std::string& name, int64_t cout, int k, int stride, int pad, int groups = 1) {
    LayerShape L = base(name, LayerKind::Conv);
    L.kernel_h = L.kernel_w = k;
    L.stride_h = L.stride_w = stride;
    L.groups = groups;
    L.out_shape = {cout, (cur_[1] + 2 * pad - k) / stride + 1, (cur_[2] + 2 * pad - k) / stride + 1};
    push(L);
  }
  void act(const std::string& name, LayerKind kind = LayerKind::Relu) { push_same(name, kind); }
  void pool(const std::string& name, LayerKind kind, int k, int stride, int pad) {
    LayerShape L = base(name, kind);
    L.kernel_h = L.kernel_w = k;
    L.stride_h = L.stride_w = stride;
    L.out_shape = {cur_[0], (cur_[1] + 2 * pad - k) / stride + 1, (cur_[2] + 2 * pad - k) / stride + 1};
    push(L);
  }
  void global_avg(const std::string& name) {
    LayerShape L = base(name, LayerKind::GlobalAvgPool);
    L.kernel_h = static_cast<int>(cur_[1]);
    L.kernel_w = static_cast<int>(cur_[2]);
    L.out_shape = {cur_[0], 1, 1};
    push(L);
  }
  void flatten(const std::string& name) {
    LayerShape L = base(name, LayerKind::Flatten);
    L.out_shape = {product(cur_)};
    push(L);
  }
  void linear(const std::string& name, int64_t out) {
    LayerShape L = base(name, LayerKind::Linear);
    L.out_shape = {out};
    push(L);
  }
  /// Residual sum of cur() and the output of layer `skip`.
  void add(const std::string& name, int skip) {
    LayerShape L = base(name, LayerKind::Add);
    L.inputs.push_back(skip);
    L.out_shape = cur_;
    push(L);
  }
  NetShape take() { return std::move(net_); }

 private:
  LayerShape base(const std::string& name, LayerKind kind) const {
    LayerShape L;
    L.name = name;
    L.kind = kind;
    L.in_shape = cur_;
    L.inputs = {cur_index_};
    return L;
  }
  void push_same(const std::string& name, LayerKind kind) {
    LayerShape L = base(name, kind);
    L.out_shape = cur_;
    push(L);
  }
  void push(const LayerShape& L) {
    net_.layers.push_back(L);
    cur_ = L.out_shape;
    cur_index_ = static_cast<int>(net_.layers.size()) - 1;
  }
  NetShape net_;
  std::vector<int64_t> cur_;
  int cur_index_ = -1;
};

/// torchvision BasicBlock (ResNet-18/34): conv3x3(stride) relu conv3x3 (+ 1x1 projection
/// when the shape changes) add relu. BatchNorm folded into the convolutions.
void basic_block(Builder& b, const std::string& p, int64_t width, int stride, bool option_a = false) {
  const std::vector<int64_t> in = b.cur();
  const int in_index = b.cur_index();
  const bool project = stride != 1 || in[0] != width;
  b.conv(p + ".conv1", width, 3, stride, 1);
  b.act(p + ".relu1");
  b.conv(p + ".conv2", width, 3, 1, 1);
  const std::vector<int64_t> out = b.cur();
  const int out_index = b.cur_index();
  int skip = in_index;
  if (project && !option_a) {
    // The projection runs on the block input; its output has the block's output shape.
    b.set_cur(in, in_index);
    b.conv(p + ".downsample", width, 1, stride, 0);
    skip = b.cur_index();
  }
  // Option A (He et al. 2016, CIFAR): stride-2 subsampling and zero-padded channels of the
  // input: public data movement, local in 2PC, no layer of its own.
  b.set_cur(out, out_index);
  b.add(p + ".add", skip);
  b.act(p + ".relu2");
}

/// torchvision Bottleneck (ResNet-50 v1.5: stride on the 3x3).
void bottleneck(Builder& b, const std::string& p, int64_t width, int stride) {
  const std::vector<int64_t> in = b.cur();
  const int in_index = b.cur_index();
  const int64_t out_ch = width * 4;
  b.conv(p + ".conv1", width, 1, 1, 0);
  b.act(p + ".relu1");
  b.conv(p + ".conv2", width, 3, stride, 1);
  b.act(p + ".relu2");
  b.conv(p + ".conv3", out_ch, 1, 1, 0);
  const std::vector<int64_t> out = b.cur();
  const int out_index = b.cur_index();
  int skip = in_index;
  if (stride != 1 || in[0] != out_ch) {
    b.set_cur(in, in_index);
    b.conv(p + ".downsample", out_ch, 1, stride, 0);
    skip = b.cur_index();
  }
  b.set_cur(out, out_index);
  b.add(p + ".add", skip);
  b.act(p + ".relu3");
}

NetShape resnet_imagenet(const std::string& name, bool bottle, const std::vector<int>& blocks) {
  Builder b(name, {3, 224, 224});
  b.conv("conv1", 64, 7, 2, 3);
  b.act("relu");
  b.pool("maxpool", LayerKind::MaxPool, 3, 2, 1);
  const int64_t widths[4] = {64, 128, 256, 512};
  for (int s = 0; s < 4; ++s)
    for (int i = 0; i < blocks[static_cast<size_t>(s)]; ++i) {
      const std::string p = "layer" + std::to_string(s + 1) + "." + std::to_string(i);
      const int stride = (s > 0 && i == 0) ? 2 : 1;
      if (bottle)
        bottleneck(b, p, widths[s], stride);
      else
        basic_block(b, p, widths[s], stride);
    }
  b.global_avg("avgpool");
  b.flatten("flatten");
  b.linear("fc", 1000);
  return b.take();
}

NetShape resnet18_cifar() {
  // The CIFAR variant used by PASNet/DeepReShape-style work: 3x3 stem, no max pool.
  Builder b("resnet18-cifar", {3, 32, 32});
  b.conv("conv1", 64, 3, 1, 1);
  b.act("relu");
  const int64_t widths[4] = {64, 128, 256, 512};
  for (int s = 0; s < 4; ++s)
    for (int i = 0; i < 2; ++i)
      basic_block(b, "layer" + std::to_string(s + 1) + "." + std::to_string(i), widths[s], (s > 0 && i == 0) ? 2 : 1);
  b.global_avg("avgpool");
  b.flatten("flatten");
  b.linear("fc", 10);
  return b.take();
}

NetShape resnet_cifar_he(const std::string& name, int n) {
  // He et al. (CVPR 2016) §4.2: 6n+2 layers, widths 16/32/64, option-A shortcuts.
  Builder b(name, {3, 32, 32});
  b.conv("conv1", 16, 3, 1, 1);
  b.act("relu");
  const int64_t widths[3] = {16, 32, 64};
  for (int s = 0; s < 3; ++s)
    for (int i = 0; i < n; ++i)
      basic_block(b, "layer" + std::to_string(s + 1) + "." + std::to_string(i), widths[s], (s > 0 && i == 0) ? 2 : 1,
                  /*option_a=*/true);
  b.global_avg("avgpool");
  b.flatten("flatten");
  b.linear("fc", 10);
  return b.take();
}

NetShape mobilenetv2() {
  // Sandler et al. (CVPR 2018) Table 2, width multiplier 1.0, 224x224. ReLU6 is counted as
  // one ReLU per element (a second comparison against 6 would add one more ReLU's cost).
  Builder b("mobilenetv2-imagenet", {3, 224, 224});
  b.conv("features.0.conv", 32, 3, 2, 1);
  b.act("features.0.relu");
  struct Row {
    int t, c, n, s;
  };
  const Row rows[] = {{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2}, {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
  int idx = 1;
  for (const Row& r : rows)
    for (int i = 0; i < r.n; ++i, ++idx) {
      const std::string p = "features." + std::to_string(idx);
      const int stride = i == 0 ? r.s : 1;
      const std::vector<int64_t> in = b.cur();
      const int in_index = b.cur_index();
      const int64_t hidden = in[0] * r.t;
      if (r.t != 1) {
        b.conv(p + ".expand", hidden, 1, 1, 0);
        b.act(p + ".relu_expand");
      }
      b.conv(p + ".depthwise", hidden, 3, stride, 1, static_cast<int>(hidden));
      b.act(p + ".relu_dw");
      b.conv(p + ".project", r.c, 1, 1, 0);
      if (stride == 1 && in[0] == r.c) b.add(p + ".add", in_index);
    }
  b.conv("features.18.conv", 1280, 1, 1, 0);
  b.act("features.18.relu");
  b.global_avg("avgpool");
  b.flatten("flatten");
  b.linear("classifier", 1000);
  return b.take();
}

NetShape fmnist_cnn() {
  // train/src/model.cpp (FmnistCnn::to_network): the shipped model's layers and names.
  Builder b("fmnist-cnn", {1, 28, 28});
  b.conv("conv1", 16, 5, 1, 0);
  b.act("act1", LayerKind::Poly);
  b.pool("pool1", LayerKind::AvgPool, 2, 2, 0);
  b.conv("conv2", 32, 5, 1, 0);
  b.act("act2", LayerKind::Relu);
  b.pool("pool2", LayerKind::AvgPool, 2, 2, 0);
  b.flatten("flatten");
  b.linear("fc1", 128);
  b.act("act3", LayerKind::Poly);
  b.linear("fc2", 10);
  return b.take();
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(item);
  return out;
}

void set_sites(NetShape& net, const std::string& spec, bool pools) {
  if (spec.empty() || spec == "model") return;
  const char* what = pools ? "pool" : "activation";
  const std::string a = pools ? "max" : "relu";
  const std::string b = pools ? "avg" : "poly";
  const LayerKind ka = pools ? LayerKind::MaxPool : LayerKind::Relu;
  const LayerKind kb = pools ? LayerKind::AvgPool : LayerKind::Poly;
  std::vector<LayerShape*> sites;
  for (auto& L : net.layers)
    if (pools ? L.is_pool_site() : L.is_activation_site()) sites.push_back(&L);
  std::vector<std::string> items = split(spec);
  if (items.size() == 1) items.assign(sites.size(), items[0]);
  if (items.size() != sites.size())
    throw PerfModelError(std::string(what) + " spec '" + spec + "' has " + std::to_string(items.size()) + " entries, " +
                         net.name + " has " + std::to_string(sites.size()) + " " + what + " sites");
  for (size_t i = 0; i < sites.size(); ++i) {
    if (items[i] == a)
      sites[i]->kind = ka;
    else if (items[i] == b)
      sites[i]->kind = kb;
    else
      throw PerfModelError(std::string(what) + " spec entry '" + items[i] + "' must be " + a + " or " + b +
                           " (or the whole spec 'model')");
  }
}

}  // namespace

const char* kind_name(LayerKind k) {
  switch (k) {
    case LayerKind::Conv:
      return "Conv";
    case LayerKind::Linear:
      return "Linear";
    case LayerKind::Relu:
      return "Relu";
    case LayerKind::Poly:
      return "Poly";
    case LayerKind::MaxPool:
      return "MaxPool";
    case LayerKind::AvgPool:
      return "AvgPool";
    case LayerKind::GlobalAvgPool:
      return "GlobalAvgPool";
    case LayerKind::Flatten:
      return "Flatten";
    case LayerKind::Add:
      return "Add";
    case LayerKind::BlockRelu:
      return "BlockRelu";
  }
  return "?";
}

int64_t LayerShape::in_elements() const { return product(in_shape); }
int64_t LayerShape::out_elements() const { return product(out_shape); }
int64_t NetShape::input_elements() const { return product(input_shape); }
int64_t NetShape::classes() const {
  if (layers.empty()) throw PerfModelError("network '" + name + "' has no layers");
  return layers.back().out_elements();
}

NetShape from_network(const nn::Network& net) {
  NetShape s;
  s.name = net.name.empty() ? "model" : net.name;
  s.origin = "ir";
  s.input_shape = net.input_shape;
  for (size_t i = 0; i < net.layers.size(); ++i) {
    const nn::Layer& L = net.layers[i];
    if (L.out_shape.empty())
      throw PerfModelError("layer '" + L.name + "' has no output shape: run nn::Network::infer_shapes() first");
    LayerShape o;
    o.name = L.name;
    o.inputs = net.producers(i);
    const int p = o.inputs[0];
    o.in_shape = p < 0 ? net.input_shape : net.layers[static_cast<size_t>(p)].out_shape;
    o.out_shape = L.out_shape;
    o.kernel_h = L.kernel_h;
    o.kernel_w = L.kernel_w;
    o.stride_h = L.stride_h;
    o.stride_w = L.stride_w;
    o.ring_bits = L.ring_bits;
    o.frac_bits = L.frac_bits;
    switch (L.op) {
      case nn::OpKind::Conv:
        o.kind = LayerKind::Conv;
        if (L.weight_shape.size() != 4) throw PerfModelError("layer '" + L.name + "': conv weight is not [Cout, Cin, kh, kw]");
        o.kernel_h = static_cast<int>(L.weight_shape[2]);
        o.kernel_w = static_cast<int>(L.weight_shape[3]);
        o.winograd = L.winograd;
        break;
      case nn::OpKind::Linear:
        o.kind = LayerKind::Linear;
        break;
      case nn::OpKind::Relu:
        o.kind = LayerKind::Relu;
        break;
      case nn::OpKind::Poly:
        o.kind = LayerKind::Poly;
        break;
      case nn::OpKind::AvgPool:
        o.kind = LayerKind::AvgPool;
        break;
      case nn::OpKind::MaxPool:
        o.kind = LayerKind::MaxPool;
        break;
      case nn::OpKind::GlobalAvgPool:
        o.kind = LayerKind::GlobalAvgPool;
        o.kernel_h = static_cast<int>(o.in_shape.size() == 3 ? o.in_shape[1] : 1);
        o.kernel_w = static_cast<int>(o.in_shape.size() == 3 ? o.in_shape[2] : 1);
        break;
      case nn::OpKind::Flatten:
        o.kind = LayerKind::Flatten;
        break;
      case nn::OpKind::Add:
        o.kind = LayerKind::Add;
        break;
      case nn::OpKind::BlockRelu:
        o.kind = LayerKind::BlockRelu;
        o.block_patches = L.block_patches;
        break;
    }
    s.layers.push_back(std::move(o));
  }
  return s;
}

std::vector<nn::ScaleNode> scale_nodes(const NetShape& net) {
  std::vector<nn::ScaleNode> nodes;
  for (size_t i = 0; i < net.layers.size(); ++i) {
    const LayerShape& L = net.layers[i];
    nn::ScaleNode n;
    n.name = L.name;
    n.inputs = L.inputs.empty() ? std::vector<int>{static_cast<int>(i) - 1} : L.inputs;
    n.in_elements = L.in_elements();
    n.out_elements = L.out_elements();
    n.window = static_cast<int64_t>(L.kernel_h) * L.kernel_w;
    n.ring_bits = L.ring_bits;
    n.frac_bits = L.frac_bits;
    switch (L.kind) {
      case LayerKind::Conv:
        n.op = nn::OpKind::Conv;
        if (L.winograd != 0) n.extra_frac = nn::winograd_form(L.winograd).u_frac;
        break;
      case LayerKind::Linear: n.op = nn::OpKind::Linear; break;
      case LayerKind::Relu: n.op = nn::OpKind::Relu; break;
      case LayerKind::Poly: n.op = nn::OpKind::Poly; break;
      case LayerKind::MaxPool: n.op = nn::OpKind::MaxPool; break;
      case LayerKind::AvgPool: n.op = nn::OpKind::AvgPool; break;
      case LayerKind::GlobalAvgPool: n.op = nn::OpKind::GlobalAvgPool; break;
      case LayerKind::Flatten: n.op = nn::OpKind::Flatten; break;
      case LayerKind::BlockRelu:
        n.op = nn::OpKind::BlockRelu;
        n.window = nn::block_window(L.block_patches);
        break;
      case LayerKind::Add:
        n.op = nn::OpKind::Add;
        if (n.inputs.size() < 2)
          throw PerfModelError("layer '" + L.name + "' (Add) does not name its residual input");
        break;
    }
    nodes.push_back(std::move(n));
  }
  return nodes;
}

NetShape load_model_shape(const std::string& onnx_path) {
  NetShape s = from_network(nn::load_onnx(onnx_path));
  s.origin = onnx_path;
  return s;
}

std::vector<std::string> zoo_names() {
  return {"resnet18-imagenet", "resnet50-imagenet", "resnet18-cifar", "resnet20-cifar", "resnet32-cifar",
          "mobilenetv2-imagenet", "fmnist-cnn"};
}

NetShape zoo(const std::string& name) {
  if (name == "resnet18-imagenet") return resnet_imagenet(name, false, {2, 2, 2, 2});
  if (name == "resnet50-imagenet") return resnet_imagenet(name, true, {3, 4, 6, 3});
  if (name == "resnet18-cifar") return resnet18_cifar();
  if (name == "resnet20-cifar") return resnet_cifar_he(name, 3);
  if (name == "resnet32-cifar") return resnet_cifar_he(name, 5);
  if (name == "mobilenetv2-imagenet" || name == "mobilenetv2") return mobilenetv2();
  if (name == "fmnist-cnn") return fmnist_cnn();
  throw PerfModelError("unknown architecture '" + name + "' (built in: " + join(zoo_names()) + ")");
}

void set_activations(NetShape& net, const std::string& spec) { set_sites(net, spec, false); }
void set_pools(NetShape& net, const std::string& spec) { set_sites(net, spec, true); }

int set_winograd(NetShape& net, int m) {
  if (m != 0 && m != 2 && m != 4)
    throw PerfModelError("Winograd form F(" + std::to_string(m) + "x" + std::to_string(m) + ",3x3): m must be 0, 2 or 4");
  int n = 0;
  for (LayerShape& L : net.layers)
    if (L.kind == LayerKind::Conv && L.kernel_h == 3 && L.kernel_w == 3 && L.stride_h == 1 && L.stride_w == 1 &&
        L.groups == 1) {
      L.winograd = m;
      n += m != 0;
    }
  return n;
}

}  // namespace polympc::perfmodel
