#include "polympc/nn/block_alloc.h"

#include <cmath>
#include <limits>
#include <stdexcept>

#include "polympc/nn/lowering.h"
#include "polympc/nn/plain.h"

namespace polympc::nn {

KnapsackChoice solve_multiple_choice_knapsack(const std::vector<std::vector<KnapsackOption>>& items,
                                              int64_t budget) {
  if (budget < 0)
    throw std::invalid_argument("knapsack: budget " + std::to_string(budget) + " is negative");
  for (size_t i = 0; i < items.size(); ++i) {
    if (items[i].empty())
      throw std::invalid_argument("knapsack: item " + std::to_string(i) + " has no options");
    if (items[i].size() > std::numeric_limits<uint16_t>::max())
      throw std::invalid_argument("knapsack: item " + std::to_string(i) + " has " +
                                  std::to_string(items[i].size()) + " options, at most 65535");
    for (const KnapsackOption& o : items[i])
      if (o.cost < 0 || !std::isfinite(o.value))
        throw std::invalid_argument("knapsack: item " + std::to_string(i) +
                                    " has an option of cost " + std::to_string(o.cost) +
                                    " and value " + std::to_string(o.value) +
                                    " (costs must be >= 0, values finite)");
  }
  const size_t width = static_cast<size_t>(budget) + 1;
  if (static_cast<double>(width) * static_cast<double>(items.size()) > 2147483648.0)
    throw std::invalid_argument("knapsack: " + std::to_string(items.size()) + " items x " +
                                std::to_string(width) +
                                " budgets exceed the table limit of 2^31 entries");
  const double none = -std::numeric_limits<double>::infinity();
  // best[b]: the largest value of the items so far with total cost <= b (none: no choice fits).
  std::vector<double> best(width, 0.0), next(width);
  std::vector<uint16_t> arg(items.size() * width);
  for (size_t i = 0; i < items.size(); ++i) {
    uint16_t* row = arg.data() + i * width;
    for (size_t b = 0; b < width; ++b) {
      double v = none;
      uint16_t k = 0;
      for (size_t o = 0; o < items[i].size(); ++o) {
        const int64_t c = items[i][o].cost;
        if (c > static_cast<int64_t>(b)) continue;
        const double prev = best[b - static_cast<size_t>(c)];
        if (prev == none) continue;
        const double cand = prev + items[i][o].value;
        if (cand > v) {
          v = cand;
          k = static_cast<uint16_t>(o);
        }
      }
      next[b] = v;
      row[b] = k;
    }
    best.swap(next);
  }
  if (best[width - 1] == none)
    throw std::invalid_argument("knapsack: no choice fits the budget " + std::to_string(budget));
  KnapsackChoice r;
  r.choice.assign(items.size(), 0);
  size_t b = width - 1;
  for (size_t i = items.size(); i-- > 0;) {
    const int o = arg[i * width + b];
    r.choice[i] = o;
    r.cost += items[i][static_cast<size_t>(o)].cost;
    r.value += items[i][static_cast<size_t>(o)].value;
    b -= static_cast<size_t>(items[i][static_cast<size_t>(o)].cost);
  }
  return r;
}

std::vector<BlockPatch> block_patch_candidates() {
  std::vector<BlockPatch> k{{BlockPatch::Kind::Identity, 1, 1}, {BlockPatch::Kind::Zero, 1, 1}};
  for (int h = 1; h <= kMaxBlockPatch; ++h)
    for (int w = 1; w <= kMaxBlockPatch; ++w) k.push_back({BlockPatch::Kind::Rect, h, w});
  return k;
}

bool block_allocatable(const Network& net, size_t layer) {
  const Layer& L = net.layers.at(layer);
  return L.op == OpKind::Relu && L.out_shape.size() == 3;
}

int64_t maxpool_drelus(const Network& net, size_t layer) {
  const Layer& L = net.layers.at(layer);
  return L.op == OpKind::MaxPool ? net.out_size(layer) * (L.kernel_h * L.kernel_w - 1) : 0;
}

int64_t network_drelus(const Network& net) {
  int64_t n = 0;
  for (size_t i = 0; i < net.layers.size(); ++i) {
    const Layer& L = net.layers[i];
    n += maxpool_drelus(net, i);
    if (L.op == OpKind::Relu) n += net.out_size(i);
    if (L.op == OpKind::BlockRelu) {
      const int p = net.producers(i)[0];
      n += block_relu_drelus(
          L, p < 0 ? net.input_shape : net.layers[static_cast<size_t>(p)].out_shape);
    }
  }
  return n;
}

int64_t all_relu_drelus(const Network& net) {
  int64_t n = 0;
  for (size_t i = 0; i < net.layers.size(); ++i) {
    const OpKind op = net.layers[i].op;
    if (op == OpKind::Relu || op == OpKind::BlockRelu || op == OpKind::Poly) n += net.out_size(i);
  }
  return n;
}

int64_t fixed_relu_drelus(const Network& net) {
  int64_t n = 0;
  for (size_t i = 0; i < net.layers.size(); ++i) {
    n += maxpool_drelus(net, i);
    if (net.layers[i].op == OpKind::Relu && !block_allocatable(net, i)) n += net.out_size(i);
  }
  return n;
}

std::vector<LayerDistortion> measure_block_distortion(const Network& net, const float* x,
                                                      size_t count, size_t batch,
                                                      const std::vector<BlockPatch>& candidates,
                                                      void (*progress)(size_t, size_t)) {
  if (count == 0 || batch == 0)
    throw ModelError("block distortion: no calibration images (count or batch is 0)");
  std::vector<LayerDistortion> out;
  for (size_t i = 0; i < net.layers.size(); ++i)
    if (block_allocatable(net, i)) {
      LayerDistortion d;
      d.layer = i;
      d.channels = net.layers[i].out_shape[0];
      d.height = net.layers[i].out_shape[1];
      d.width = net.layers[i].out_shape[2];
      d.distortion.assign(static_cast<size_t>(d.channels),
                          std::vector<double>(candidates.size(), 0.0));
      out.push_back(std::move(d));
    }
  if (out.empty())
    throw ModelError("block distortion: network '" + net.name +
                     "' has no ReLU on a [C, H, W] tensor");
  const size_t per_image = static_cast<size_t>(net.input_size());
  for (size_t first = 0; first < count; first += batch) {
    const size_t n = std::min(batch, count - first);
    const FloatTrace base = float_trace(
        net, std::vector<double>(x + first * per_image, x + (first + n) * per_image), n);
    FloatTrace work = base;  // base with one channel changed, resumed after its layer
    const std::vector<double>& logits = base.outs.back();
    for (LayerDistortion& d : out) {
      const size_t i = d.layer;
      // The resumed passes of the previous layer left their outputs in every later layer.
      work.outs = base.outs;
      const int p = net.producers(i)[0];
      const std::vector<double>& in = p < 0 ? base.input : base.outs[static_cast<size_t>(p)];
      const size_t plane = static_cast<size_t>(d.height * d.width),
                   C = static_cast<size_t>(d.channels);
      // One channel as a one-layer network [1, H, W] -> BlockRelu: the float walk's own
      // Block-ReLU, so that the measured kind is the one 2PC runs.
      Network one;
      one.name = "channel";
      one.input_shape = {1, d.height, d.width};
      one.layers.resize(1);
      one.layers[0].name = "block";
      one.layers[0].op = OpKind::BlockRelu;
      std::vector<double> channel(n * plane);
      for (size_t c = 0; c < C; ++c) {
        for (size_t m = 0; m < n; ++m)
          for (size_t j = 0; j < plane; ++j) channel[m * plane + j] = in[(m * C + c) * plane + j];
        for (size_t k = 0; k < candidates.size(); ++k) {
          one.layers[0].block_patches = {candidates[k]};
          one.infer_shapes();
          const FloatTrace y = float_trace(one, channel, n);
          for (size_t m = 0; m < n; ++m)
            for (size_t j = 0; j < plane; ++j)
              work.outs[i][(m * C + c) * plane + j] = y.outs[0][m * plane + j];
          float_resume(net, work, i + 1);
          double sq = 0;
          for (size_t j = 0; j < logits.size(); ++j) {
            const double e = work.outs.back()[j] - logits[j];
            sq += e * e;
          }
          d.distortion[c][k] += sq / static_cast<double>(count);
        }
        for (size_t m = 0; m < n; ++m)
          for (size_t j = 0; j < plane; ++j)
            work.outs[i][(m * C + c) * plane + j] = base.outs[i][(m * C + c) * plane + j];
      }
    }
    if (progress) progress(first + n, count);
  }
  return out;
}

BlockAllocation allocate_block_patches(const Network& net,
                                       const std::vector<LayerDistortion>& measured,
                                       const std::vector<BlockPatch>& candidates,
                                       int64_t drelu_budget) {
  const int64_t fixed = fixed_relu_drelus(net);
  if (drelu_budget < fixed)
    throw ModelError("block allocation: budget " + std::to_string(drelu_budget) +
                     " DReLUs is below the " + std::to_string(fixed) +
                     " of the ReLUs on flat tensors (which stay ReLU) and the max-pool comparisons; the budget must be >= " +
                     std::to_string(fixed));
  std::vector<std::vector<KnapsackOption>> items;
  for (const LayerDistortion& d : measured) {
    if (d.layer >= net.layers.size() || !block_allocatable(net, d.layer) ||
        d.distortion.size() != static_cast<size_t>(d.channels))
      throw ModelError("block allocation: the distortion of layer " + std::to_string(d.layer) +
                       " does not match the network");
    for (const std::vector<double>& per_kind : d.distortion) {
      if (per_kind.size() != candidates.size())
        throw ModelError("block allocation: " + std::to_string(per_kind.size()) +
                         " distortions for " + std::to_string(candidates.size()) +
                         " candidate kinds");
      std::vector<KnapsackOption> opts(candidates.size());
      for (size_t k = 0; k < candidates.size(); ++k)
        opts[k] = {block_patch_drelus(candidates[k], d.height, d.width), -per_kind[k]};
      items.push_back(std::move(opts));
    }
  }
  const KnapsackChoice s = solve_multiple_choice_knapsack(items, drelu_budget - fixed);
  BlockAllocation a;
  a.drelus = s.cost;
  a.distortion = -s.value;
  size_t item = 0;
  for (const LayerDistortion& d : measured) {
    std::vector<BlockPatch>& p = a.patches[d.layer];
    for (int64_t c = 0; c < d.channels; ++c)
      p.push_back(candidates[static_cast<size_t>(s.choice[item++])]);
  }
  return a;
}

Network apply_block_allocation(const Network& net, const BlockAllocation& a) {
  Network out = net;
  for (const auto& [i, patches] : a.patches) {
    if (i >= net.layers.size() || !block_allocatable(net, i))
      throw ModelError("block allocation: layer " + std::to_string(i) +
                       " is not a ReLU on a [C, H, W] tensor");
    if (static_cast<int64_t>(patches.size()) != net.layers[i].out_shape[0])
      throw ModelError("block allocation: layer " + std::to_string(i) + " '" + net.layers[i].name +
                       "' has " + std::to_string(net.layers[i].out_shape[0]) +
                       " channels, the allocation " + std::to_string(patches.size()) + " patches");
    out.layers[i].op = OpKind::BlockRelu;
    out.layers[i].block_patches = patches;
  }
  out.infer_shapes();
  return out;
}

std::string block_patch_histogram(const std::vector<BlockPatch>& patches) {
  std::string s;
  for (const BlockPatch& k : block_patch_candidates()) {
    size_t n = 0;
    for (const BlockPatch& p : patches) n += p == k;
    if (n == 0) continue;
    if (!s.empty()) s += ' ';
    s += block_patch_name(k) + ":" + std::to_string(n);
  }
  return s;
}

}  // namespace polympc::nn
