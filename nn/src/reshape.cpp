// DeepReShape's family of the Fashion-MNIST CNN (see reshape.h, docs/training.md).
#include "polympc/nn/reshape.h"

#include <algorithm>
#include <sstream>

#include "polympc/mpc/errors.h"

namespace polympc::nn {
namespace {

// Spatial sizes of the CNN on a 28x28 image: conv1 k5 -> 24x24, 2x2 pool -> 12x12,
// conv2 k5 -> 8x8, 2x2 pool -> 4x4.
constexpr int64_t kConv1Out = 24 * 24, kPool1Out = 12 * 12, kConv2Out = 8 * 8, kPool2Out = 4 * 4;
constexpr int64_t kKernel = 5 * 5, kClasses = 10;
constexpr int64_t kMaxPoolComparisons = 3;  // a 2x2 max: 3 comparisons per output

std::string join(const std::string* words, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += (i ? "," : "") + words[i];
  return s;
}

CnnArch member(const std::string& name, int64_t c2, int64_t f, const std::string& act3) {
  CnnArch a;
  a.name = name;
  a.widths = {kReshapeConv1, c2, f};
  a.acts = {"id", "relu", act3};
  a.pools = {"avg", "avg"};
  return cnn_costs(a);
}

}  // namespace

std::string widths_str(const CnnWidths& w) {
  return std::to_string(w.conv1) + "," + std::to_string(w.conv2) + "," + std::to_string(w.fc1);
}

CnnWidths parse_widths(const std::string& text) {
  std::vector<int64_t> v;
  std::stringstream in(text);
  std::string item;
  const auto bad = [&] {
    return mpc::InvalidArgument("--widths: expected three positive integers 'conv1,conv2,fc1' (e.g. 16,32,128), got '" +
                                text + "'");
  };
  while (std::getline(in, item, ',')) {
    if (item.empty() || item.size() > 6 || item.find_first_not_of("0123456789") != std::string::npos) throw bad();
    v.push_back(std::stoll(item));
    if (v.back() < 1) throw bad();
  }
  if (v.size() != 3 || text.back() == ',') throw bad();
  return {v[0], v[1], v[2]};
}

std::string CnnArch::acts_str() const { return join(acts.data(), acts.size()); }
std::string CnnArch::pools_str() const { return join(pools.data(), pools.size()); }

std::array<int64_t, 3> cnn_site_elements(const CnnWidths& w) {
  return {w.conv1 * kConv1Out, w.conv2 * kConv2Out, w.fc1};
}

CnnArch cnn_costs(CnnArch a) {
  const CnnWidths& w = a.widths;
  if (w.conv1 < 1 || w.conv2 < 1 || w.fc1 < 1)
    throw mpc::InvalidArgument("CNN widths must be >= 1, got " + widths_str(w));
  const std::array<int64_t, 3> elements = cnn_site_elements(w);
  a.relu_elements = 0;
  for (size_t i = 0; i < 3; ++i) {
    if (a.acts[i] == "relu") {
      a.relu_elements += elements[i];
    } else if (a.acts[i] != "poly" && a.acts[i] != "id") {
      throw mpc::InvalidArgument("act" + std::to_string(i + 1) + ": '" + a.acts[i] + "' is not relu, poly or id");
    }
  }
  const int64_t pool_out[2] = {w.conv1 * kPool1Out, w.conv2 * kPool2Out};
  a.maxpool_comparisons = 0;
  for (size_t i = 0; i < 2; ++i) {
    if (a.pools[i] == "max") {
      a.maxpool_comparisons += kMaxPoolComparisons * pool_out[i];
    } else if (a.pools[i] != "avg") {
      throw mpc::InvalidArgument("pool" + std::to_string(i + 1) + ": '" + a.pools[i] + "' is not avg or max");
    }
  }
  a.drelus = a.relu_elements + a.maxpool_comparisons;
  const int64_t flat = w.conv2 * kPool2Out;
  a.params = (w.conv1 * kKernel + w.conv1) + (w.conv2 * w.conv1 * kKernel + w.conv2) + (w.fc1 * flat + w.fc1) +
             (kClasses * w.fc1 + kClasses);
  a.macs = kConv1Out * w.conv1 * kKernel + kConv2Out * w.conv2 * w.conv1 * kKernel + w.fc1 * flat + kClasses * w.fc1;
  return a;
}

Network cnn_network(const CnnArch& arch) {
  const CnnArch a = cnn_costs(arch);  // checks widths and choices
  const CnnWidths& w = a.widths;
  Network net;
  net.name = "fmnist_cnn";
  net.input_shape = {1, 28, 28};
  auto layer = [&](const std::string& name, OpKind op) -> Layer& {
    Layer l;
    l.name = name;
    l.op = op;
    net.layers.push_back(std::move(l));
    return net.layers.back();
  };
  auto conv = [&](const std::string& name, int64_t in, int64_t out) {
    Layer& l = layer(name, OpKind::Conv);
    l.weight_shape = {out, in, 5, 5};
    l.weight.assign(static_cast<size_t>(out * in * kKernel), 0.0f);
    l.bias.assign(static_cast<size_t>(out), 0.0f);
    l.kernel_h = l.kernel_w = 5;
  };
  auto linear = [&](const std::string& name, int64_t in, int64_t out) {
    Layer& l = layer(name, OpKind::Linear);
    l.weight_shape = {out, in};
    l.weight.assign(static_cast<size_t>(out * in), 0.0f);
    l.bias.assign(static_cast<size_t>(out), 0.0f);
  };
  auto act = [&](size_t site, int64_t channels) {
    const std::string name = "act" + std::to_string(site + 1);
    if (a.acts[site] == "relu") layer(name, OpKind::Relu);
    if (a.acts[site] == "poly") {
      Layer& l = layer(name, OpKind::Poly);
      l.poly_a2.assign(static_cast<size_t>(channels), 0.0f);
      l.poly_a1.assign(static_cast<size_t>(channels), 1.0f);
      l.poly_a0.assign(static_cast<size_t>(channels), 0.0f);
    }
  };
  auto pool = [&](size_t site) {
    Layer& l = layer("pool" + std::to_string(site + 1), a.pools[site] == "max" ? OpKind::MaxPool : OpKind::AvgPool);
    l.kernel_h = l.kernel_w = 2;
    l.stride_h = l.stride_w = 2;
  };
  conv("conv1", 1, w.conv1);
  act(0, w.conv1);
  pool(0);
  conv("conv2", w.conv1, w.conv2);
  act(1, w.conv2);
  pool(1);
  layer("flatten", OpKind::Flatten);
  linear("fc1", w.conv2 * kPool2Out, w.fc1);
  act(2, w.fc1);
  linear("fc2", w.fc1, kClasses);
  net.infer_shapes();
  return net;
}

int64_t reshape_min_budget() { return kReshapeConv2Min * kConv2Out + kReshapeFc1Base; }

int64_t reshape_max_drelus() { return kReshapeConv2Max * kConv2Out + kReshapeFc1Max; }

std::vector<CnnArch> deepreshape_family(int64_t relu_budget) {
  if (relu_budget < reshape_min_budget())
    throw mpc::InvalidArgument("a budget of " + std::to_string(relu_budget) +
                               " DReLUs is below the smallest DeepReShape member of the CNN: " +
                               std::to_string(reshape_min_budget()) + " DReLUs per image (conv2 " +
                               std::to_string(kReshapeConv2Min) + " ReLU channels x 8x8 + fc1 " +
                               std::to_string(kReshapeFc1Base) + " ReLUs)");
  const int64_t budget = std::min(relu_budget, reshape_max_drelus());
  // Hybrid (criticality per DReLU: fc1 > conv2 > conv1, docs/training.md): fc1's base
  // ReLUs first, then conv2 takes every whole channel the budget allows; fc1 takes the rest
  // (less than one conv2 channel, or all of it once conv2 is at its cap), so the member's
  // DReLUs equal the budget. conv1 stays linear.
  const int64_t c2 = std::min(kReshapeConv2Max, (budget - kReshapeFc1Base) / kConv2Out);
  const int64_t f = std::min(kReshapeFc1Max, budget - c2 * kConv2Out);
  std::vector<CnnArch> out;
  out.push_back(member("hybrid", c2, f, "relu"));
  // conv2-only: every ReLU in conv2's stage; fc1 linear at its base width.
  const int64_t c2_only = std::min(kReshapeConv2Max, budget / kConv2Out);
  out.push_back(member("conv2-only", c2_only, kReshapeFc1Base, "id"));
  return out;
}

}  // namespace polympc::nn
