// The layer walk shared by the plaintext twin, the dealer and the 2PC online phase.
// One template, three Ops policies: the order and sizes of every protocol call are the
// same by construction, so dealer material can never fall out of step with the online
// phase, and the plaintext twin performs the very same integer operations.
//
// Ops must provide:
//   struct Scope; Scope layer_scope(const Layer&);             // per-layer accounting
//   Words matmul(size_t i, const Words& x, size_t m, size_t k, size_t cols, const mpc::Lowering&);
//   void add_bias(size_t i, Words& y, size_t m, size_t cols);  // [m][cols] += bias (scale 2f)
//   Words trunc(const std::string& tag, const Words& x, int shift);
//   Words relu(const std::string& tag, const Words& x);
//   Words max(const std::string& tag, const Words& a, const Words& b);
//   Words block_relu(const std::string& tag, const Words& x, const mpc::BlockMap& map);
//   Words poly(size_t i, const Words& x, const mpc::PolyShape& shape);
//   Words trunc_poly(size_t i, const Words& x, int shift, const mpc::PolyShape& shape);
//     (the plan's fused layers: truncate by shift, then the polynomial, as one gate)
//   Words winograd_conv(size_t i, const Words& x, const WinogradForm& F, const WinogradGeometry& g,
//                       size_t batch);
//     (Conv with Layer::winograd != 0: [M, N·Ho·Wo] at scale 2f + F.u_frac, bias included)
//   const mpc::RingConfig& ring();
//
// Truncations are not hard-wired per op: the ScalePlan (placement.h) says which layer
// truncates its input and by how much; forward() returns the output at the plan's output
// scale (plan.output_shift bits above f).
#pragma once
#include <string>
#include <vector>

#include "polympc/nn/lowering.h"
#include "polympc/nn/placement.h"
#include "polympc/nn/quantize.h"
#include "polympc/nn/winograd.h"

namespace polympc::nn::detail {

/// Average of k windows without a truncation: the local sum (its scale grows by log2 k when
/// k is a power of two) or the sum times round(2^f / k) (scale + f); placement.h leaves the
/// division to the next truncation.
inline mpc::Words average(const mpc::RingConfig& r, const std::vector<mpc::Words>& win) {
  mpc::Words sum(win[0].size(), 0);
  for (auto& w : win)
    for (size_t j = 0; j < sum.size(); ++j) sum[j] = (sum[j] + w[j]) & r.mask();
  const int64_t k = static_cast<int64_t>(win.size());
  if (is_pow2(k)) return sum;
  const uint64_t c = r.encode(1.0 / static_cast<double>(k));
  for (auto& v : sum) v = (v * c) & r.mask();
  return sum;
}

/// x · 2^k mod 2^l (local and exact on shares).
inline mpc::Words lift(const mpc::RingConfig& r, mpc::Words x, int k) {
  for (auto& v : x) v = (v << k) & r.mask();
  return x;
}

template <class Ops>
mpc::Words forward(Ops& ops, const Network& net, const ScalePlan& plan, size_t batch,
                   const mpc::Words& input) {
  const mpc::RingConfig& r = ops.ring();
  std::vector<mpc::Words> outs(net.layers.size());
  for (size_t i = 0; i < net.layers.size(); ++i) {
    const Layer& L = net.layers[i];
    [[maybe_unused]] auto scope = ops.layer_scope(L);
    const std::vector<int> prod = net.producers(i);
    const mpc::Words& x_in = prod[0] < 0 ? input : outs[static_cast<size_t>(prod[0])];
    const bool truncate = plan.in_shift[i] > 0 && !plan.fused[i];
    mpc::Words truncated;
    if (truncate) truncated = ops.trunc(L.name + "/trunc", x_in, plan.in_shift[i]);
    const mpc::Words& x = truncate ? truncated : x_in;
    const std::vector<int64_t>& in_shape = prod[0] < 0 ? net.input_shape : net.layers[static_cast<size_t>(prod[0])].out_shape;
    mpc::Words y;
    switch (L.op) {
      case OpKind::Conv: {
        const size_t m = static_cast<size_t>(L.weight_shape[0]);
        const size_t k = static_cast<size_t>(L.weight_shape[1] * L.weight_shape[2] * L.weight_shape[3]);
        const size_t s = static_cast<size_t>(spatial_of(L.out_shape));
        const size_t cols = batch * s;
        if (L.winograd != 0) {  // at scale 2f + u_frac (plan.out_scale[i])
          const WinogradForm F = winograd_form(L.winograd);
          y = to_nchw(ops.winograd_conv(i, x, F, winograd_geometry(L, in_shape, L.winograd), batch), m, batch, s);
          break;
        }
        mpc::Lowering lower = [&L, &in_shape, batch](const mpc::Words& v) { return im2col(L, in_shape, batch, v); };
        mpc::Words z = ops.matmul(i, x, m, k, cols, lower);
        ops.add_bias(i, z, m, cols);
        y = to_nchw(z, m, batch, s);
        break;
      }
      case OpKind::Linear: {
        const size_t m = static_cast<size_t>(L.weight_shape[0]);
        const size_t k = static_cast<size_t>(L.weight_shape[1]);
        mpc::Lowering lower = [batch, k](const mpc::Words& v) { return transpose(v, batch, k); };
        mpc::Words z = ops.matmul(i, x, m, k, batch, lower);
        ops.add_bias(i, z, m, batch);
        y = transpose(z, m, batch);
        break;
      }
      case OpKind::Relu:
        y = ops.relu(L.name, x);
        break;
      case OpKind::Poly: {
        mpc::PolyShape s;
        s.outer = batch;
        s.channels = static_cast<size_t>(channels_of(L.out_shape));
        s.inner = static_cast<size_t>(spatial_of(L.out_shape));
        // At plan.out_scale[i] (mpc::poly_out_scale).
        y = plan.fused[i] ? ops.trunc_poly(i, x, plan.in_shift[i], s) : ops.poly(i, x, s);
        break;
      }
      case OpKind::AvgPool:
        y = average(r, pool_windows(L, in_shape, batch, x));
        break;
      case OpKind::GlobalAvgPool: {
        Layer g = L;
        g.kernel_h = static_cast<int>(in_shape[1]);
        g.kernel_w = static_cast<int>(in_shape[2]);
        g.stride_h = g.stride_w = 1;
        y = average(r, pool_windows(g, in_shape, batch, x));
        break;
      }
      case OpKind::MaxPool: {
        std::vector<mpc::Words> cur = pool_windows(L, in_shape, batch, x);
        for (const MaxLevel& level : max_tree(L.name, static_cast<int64_t>(cur.size()))) {
          const size_t n = cur[0].size(), pairs = level.pairs;
          mpc::Words a, b;
          a.reserve(pairs * n);
          b.reserve(pairs * n);
          for (size_t p = 0; p < pairs; ++p) {
            a.insert(a.end(), cur[2 * p].begin(), cur[2 * p].end());
            b.insert(b.end(), cur[2 * p + 1].begin(), cur[2 * p + 1].end());
          }
          mpc::Words mx = ops.max(level.tag, a, b);
          std::vector<mpc::Words> next;
          for (size_t p = 0; p < pairs; ++p)
            next.emplace_back(mx.begin() + static_cast<long>(p * n), mx.begin() + static_cast<long>((p + 1) * n));
          if (cur.size() % 2) next.push_back(std::move(cur.back()));
          cur = std::move(next);
        }
        y = std::move(cur[0]);
        break;
      }
      case OpKind::BlockRelu:
        y = ops.block_relu(L.name, x, block_map(L, in_shape, batch));
        break;
      case OpKind::Flatten:
        y = x;
        break;
      case OpKind::Add: {
        const mpc::Words& x2_in = prod.at(1) < 0 ? input : outs[static_cast<size_t>(prod[1])];
        const mpc::Words x2 = plan.lift[i] > 0 ? lift(r, x2_in, plan.lift[i]) : x2_in;
        y = plan.lift[i] < 0 ? lift(r, x, -plan.lift[i]) : x;
        for (size_t j = 0; j < y.size(); ++j) y[j] = (y[j] + x2[j]) & r.mask();
        break;
      }
    }
    outs[i] = std::move(y);
  }
  return std::move(outs.back());
}

}  // namespace polympc::nn::detail
