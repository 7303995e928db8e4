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
//   const mpc::RingConfig& ring();                             // the ring calls run in now
//   void set_ring_bits(int l);                                 // the ring of the next calls
//   void set_frac(int f);                                      // the scale f of the next calls
//     (per-layer scales: plan.fracs[i], the f of the polynomial and pooling gates)
//   Words trunc_reduce(const std::string& tag, const Words& x, int from, int shift);
//   Words ring_reduce(const std::string& tag, const Words& x, int from, int to);
//   Words sign_extend(const std::string& tag, const Words& x, int from, int to);
//     (per-layer rings: a layer computes in the ring of plan.bits[i]; its inputs enter it
//      by these gates, placement.h ring_entry)
//   void check_output(const Layer&, const Words& y);           // the twin: y fits its ring
//
// Truncations are not hard-wired per op: the ScalePlan (placement.h) says which layer
// truncates its input and by how much; forward() returns the output at the plan's output
// scale (plan.output_shift bits above f).
#pragma once
#include <algorithm>
#include <string>
#include <vector>

#include "polympc/mpc/plaintext.h"
#include "polympc/nn/lowering.h"
#include "polympc/nn/placement.h"
#include "polympc/nn/quantize.h"
#include "polympc/nn/secure.h"
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

/// The network's output as the client finishes it: floor(v / 2^output_shift) in the last
/// layer's ring (plan.bits.back()), read as a signed value of `base` (the session's ring).
inline mpc::Words finish_logits(const mpc::RingConfig& base, const ScalePlan& plan, const mpc::Words& y) {
  mpc::RingConfig last = base;
  last.bits = plan.bits.empty() ? base.bits : plan.bits.back();
  mpc::Words z = mpc::plain::trunc(last, y, plan.output_shift);
  return last.bits < base.bits ? mpc::plain::sign_extend(z, last.bits, base.bits) : z;
}

/// The client's input x (encoded at base.frac) at the scale the network takes it,
/// plan.input_scale: floor(x / 2^(f - input_scale)), on its own data before sharing.
inline mpc::Words input_at_scale(const mpc::RingConfig& base, const ScalePlan& plan, const mpc::Words& x) {
  return plan.input_scale < base.frac ? mpc::plain::trunc(base, x, base.frac - plan.input_scale) : x;
}

/// `v`, a tensor in the ring of `from` bits, into layer i's ring (plan.bits[i]) with the
/// truncation by `shift` before the layer when `truncate` (placement.h ring_entry). Leaves
/// the ops in layer i's ring. Returns false (and nothing in `out`) when nothing is done.
template <class Ops>
bool enter_ring(Ops& ops, const ScalePlan& plan, size_t i, const std::string& tag, const mpc::Words& v, int from,
                int shift, bool truncate, mpc::Words& out) {
  const int to = plan.bits[i];
  const RingEntry e = ring_entry(from, to, shift, truncate);
  bool done = false;
  if (e.trunc_reduce || e.trunc_in_from) {
    ops.set_ring_bits(from);
    out = e.trunc_reduce ? ops.trunc_reduce(tag + "/trunc", v, from, shift) : ops.trunc(tag + "/trunc", v, shift);
    done = true;
  }
  if (e.arrived != to) {
    const mpc::Words& u = done ? out : v;
    out = e.arrived > to ? ops.ring_reduce(tag + "/reduce", u, e.arrived, to) : ops.sign_extend(tag + "/extend", u, e.arrived, to);
    done = true;
  }
  ops.set_ring_bits(to);
  if (e.trunc_in_to) {
    out = ops.trunc(tag + "/trunc", done ? out : v, shift);
    done = true;
  }
  return done;
}

/// Layer i of `net` on a batch of `batch` images: `input` is the network input and outs[j]
/// the output of layer j for the same images (only i's producers are read). Returns the
/// layer's output ([batch, ...], batch-major as every tensor of the walk).
template <class Ops>
mpc::Words layer_step(Ops& ops, const Network& net, const ScalePlan& plan, size_t i, size_t batch,
                      const mpc::Words& input, const std::vector<mpc::Words>& outs) {
  {
    const Layer& L = net.layers[i];
    [[maybe_unused]] auto scope = ops.layer_scope(L);
    const std::vector<int> prod = net.producers(i);
    const mpc::Words& x_in = prod[0] < 0 ? input : outs[static_cast<size_t>(prod[0])];
    const bool truncate = plan.in_shift[i] > 0 && !plan.fused[i];
    mpc::Words entered;
    const bool converted = enter_ring(ops, plan, i, L.name, x_in, plan.bits_of(prod[0]), plan.in_shift[i], truncate, entered);
    ops.set_frac(plan.fracs[i]);
    const mpc::RingConfig& r = ops.ring();
    // An input below the layer's scale is lifted to it (placement.h: negative in_shift).
    const mpc::Words lifted = plan.in_shift[i] < 0 ? lift(r, converted ? entered : x_in, -plan.in_shift[i]) : mpc::Words{};
    const mpc::Words& x = plan.in_shift[i] < 0 ? lifted : converted ? entered : x_in;
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
        const mpc::Words& x2_out = prod.at(1) < 0 ? input : outs[static_cast<size_t>(prod[1])];
        mpc::Words x2_entered;
        const bool x2_converted =
            enter_ring(ops, plan, i, L.name + "/residual", x2_out, plan.bits_of(prod[1]), 0, false, x2_entered);
        const mpc::Words& x2_in = x2_converted ? x2_entered : x2_out;
        const mpc::Words x2 = plan.lift[i] > 0 ? lift(r, x2_in, plan.lift[i]) : x2_in;
        y = plan.lift[i] < 0 ? lift(r, x, -plan.lift[i]) : x;
        for (size_t j = 0; j < y.size(); ++j) y[j] = (y[j] + x2[j]) & r.mask();
        break;
      }
    }
    ops.check_output(L, y);
    return y;
  }
}

template <class Ops>
mpc::Words forward(Ops& ops, const Network& net, const ScalePlan& plan, size_t batch,
                   const mpc::Words& input) {
  std::vector<mpc::Words> outs(net.layers.size());
  for (size_t i = 0; i < net.layers.size(); ++i) outs[i] = layer_step(ops, net, plan, i, batch, input, outs);
  return std::move(outs.back());
}

/// Images [n0, n1) of a batch-major tensor of `batch` images.
inline mpc::Words batch_slice(const mpc::Words& x, size_t batch, size_t n0, size_t n1) {
  const size_t per = x.size() / batch;
  return mpc::Words(x.begin() + static_cast<long>(n0 * per), x.begin() + static_cast<long>(n1 * per));
}

/// The tiled walk (secure.h, Tiling): layer i's batch is cut into tiles[i] tiles of
/// consecutive images (clamped to [1, batch]). Consecutive layers with the same count form
/// a segment; a tile runs through every layer of its segment on lane t mod L (L = lanes,
/// at most the tile count) without waiting for the other tiles: tiles of a batch never
/// depend on each other, so a lane computes while another waits for the link. The tiles
/// join at the segment's end. run_lanes(L, fn) calls fn(l) for l in [0, L), one after
/// another (the dealer) or at the same time (the online phase); each lane's protocol calls
/// come in the same order either way, tile by tile, so each lane's material stays in step.
template <class Ops, class RunLanes>
mpc::Words forward_tiled(const std::vector<Ops*>& lanes, const Network& net, const ScalePlan& plan, size_t batch,
                         const mpc::Words& input, const std::vector<size_t>& tiles, RunLanes&& run_lanes) {
  const size_t n = net.layers.size();
  std::vector<size_t> counts(n);
  for (size_t i = 0; i < n; ++i) counts[i] = std::max<size_t>(1, std::min(i < tiles.size() ? tiles[i] : 1, batch));
  std::vector<mpc::Words> outs(n);
  for (const TileSegment& seg : tile_segments(counts, batch)) {
    const size_t s = seg.begin, e = seg.end, T = seg.tiles;
    std::vector<std::vector<mpc::Words>> tile_outs(T, std::vector<mpc::Words>(n));
    std::vector<mpc::Words> tile_in(T);
    const size_t L = std::max<size_t>(1, std::min(lanes.size(), T));
    run_lanes(L, [&](size_t l) {
      for (size_t t = l; t < T; t += L) {
        const size_t n0 = batch * t / T, n1 = batch * (t + 1) / T;
        std::vector<mpc::Words>& to = tile_outs[t];
        for (size_t i = s; i < e; ++i)
          for (int j : net.producers(i)) {
            if (j < 0 && tile_in[t].empty()) tile_in[t] = batch_slice(input, batch, n0, n1);
            if (j >= 0 && static_cast<size_t>(j) < s && to[static_cast<size_t>(j)].empty())
              to[static_cast<size_t>(j)] = batch_slice(outs[static_cast<size_t>(j)], batch, n0, n1);
          }
        for (size_t i = s; i < e; ++i) to[i] = layer_step(*lanes[l], net, plan, i, n1 - n0, tile_in[t], to);
      }
    });
    for (size_t i = s; i < e; ++i) {
      mpc::Words& o = outs[i];
      for (size_t t = 0; t < T; ++t) o.insert(o.end(), tile_outs[t][i].begin(), tile_outs[t][i].end());
    }
  }
  return std::move(outs.back());
}

}  // namespace polympc::nn::detail
