#include "polympc/nn/plain.h"

#include <cmath>

#include "forward.h"
#include "polympc/mpc/plaintext.h"

namespace polympc::nn {

namespace {
class PlainOps {
 public:
  PlainOps(const QuantizedModel& q, const mpc::ProtocolOptions& o) : q_(q), o_(o), ring_(q.ring) {}
  struct Scope {};
  Scope layer_scope(const Layer&) { return {}; }
  const mpc::RingConfig& ring() { return ring_; }
  void set_ring_bits(int l) { ring_.bits = l; }
  void set_frac(int f) { ring_.frac = f; }
  mpc::Words matmul(size_t i, const mpc::Words& x, size_t m, size_t k, size_t cols, const mpc::Lowering& lower) {
    if (ring_.bits == q_.ring.bits) return mpc::plain::matmul(ring_, q_.layers[i].weight, lower(x), m, k, cols);
    // Per-layer ring: the products in 64 bits (signed weights and inputs), then each sum
    // must fit the layer's ring, which then holds it exactly.
    const mpc::RingConfig wide{64, ring_.frac};
    mpc::Words y = mpc::plain::matmul(wide, widen(q_.layers[i].weight, q_.ring.bits), widen(lower(x), ring_.bits), m, k, cols);
    for (uint64_t& v : y) {
      fits(q_.net.layers[i].name, static_cast<int64_t>(v), ring_.bits, ring_.bits - 1);
      v &= ring_.mask();
    }
    return y;
  }
  mpc::Words trunc_reduce(const std::string&, const mpc::Words& x, int from, int shift) {
    return mpc::plain::trunc_reduce(x, from, shift);
  }
  /// The values must fit the narrower ring (signed): else the layer exceeds its ring.
  mpc::Words ring_reduce(const std::string& tag, const mpc::Words& x, int from, int to) {
    const mpc::RingConfig r{from, 0};
    const std::string layer = tag.substr(0, tag.rfind("/reduce"));
    for (uint64_t v : x) fits(layer, r.to_signed(v), to, to - 1);
    return mpc::plain::ring_reduce(x, from, to);
  }
  mpc::Words sign_extend(const std::string&, const mpc::Words& x, int from, int to) {
    return mpc::plain::sign_extend(x, from, to);
  }
  /// A layer in a ring narrower than the session's: its outputs keep an integer bit and the
  /// sign, |v| < 2^(l-2) (what the truncations assume, and what a wrapped value breaks
  /// with high probability).
  void check_output(const Layer& L, const mpc::Words& y) {
    if (ring_.bits >= q_.ring.bits) return;
    for (uint64_t v : y) fits(L.name, ring_.to_signed(v), ring_.bits, ring_.bits - 2);
  }
  // The Winograd form of nn/winograd.h with the weight transform of the quantized weights,
  // plus the bias lifted to scale 2f + u_frac (exact).
  mpc::Words winograd_conv(size_t i, const mpc::Words& x, const WinogradForm& F, const WinogradGeometry& g,
                           size_t batch) {
    const size_t m = static_cast<size_t>(g.M), c = static_cast<size_t>(g.C);
    mpc::Words y = nn::winograd_conv(ring_, F, g, batch, winograd_weights(ring_, F, q_.layers[i].weight, m, c), x);
    const size_t cols = y.size() / m;
    const auto& b = q_.layers[i].bias;
    for (size_t o = 0; o < m; ++o)
      for (size_t j = 0; j < cols; ++j) y[o * cols + j] = (y[o * cols + j] + (b[o] << F.u_frac)) & ring_.mask();
    return y;
  }
  void add_bias(size_t i, mpc::Words& y, size_t m, size_t cols) {
    const auto& b = q_.layers[i].bias;
    for (size_t c = 0; c < m; ++c)
      for (size_t j = 0; j < cols; ++j) y[c * cols + j] = (y[c * cols + j] + b[c]) & ring_.mask();
  }
  /// Floor division by 2^shift, after checking the bound under which the chosen secure
  /// truncation equals it: |x| < 2^(l-2) for FSS, |x| < 2^trunc_bound_bits for the
  /// probabilistic one (the exact GMW truncation has none). A value outside is an
  /// OverflowError naming the truncation, not a silently wrong 2PC result.
  mpc::Words trunc(const std::string& tag, const mpc::Words& x, int shift) {
    const int bound = mpc::trunc_exact_below_bits(ring_, o_);
    if (bound < ring_.bits) {
      const int64_t limit = int64_t{1} << bound;
      for (uint64_t v : x) {
        const int64_t sv = ring_.to_signed(v);
        if (sv >= limit || sv < -limit)
          throw mpc::OverflowError(
              "truncation '" + tag + "': the ring value " + std::to_string(sv) +
              " is outside |x| < 2^" +
              std::to_string(bound) + ", the bound under which --trunc " +
              mpc::trunc_mode_name(o_.trunc) +
              " is exact; the 2PC result would be wrong. Use --trunc exact or a larger ring");
      }
    }
    return mpc::plain::trunc(ring_, x, shift);
  }
  mpc::Words relu(const std::string&, const mpc::Words& x) { return mpc::plain::relu(ring_, x); }
  mpc::Words max(const std::string&, const mpc::Words& a, const mpc::Words& b) {
    return mpc::plain::max(ring_, a, b);
  }
  mpc::Words block_relu(const std::string&, const mpc::Words& x, const mpc::BlockMap& m) {
    return mpc::plain::block_relu(ring_, x, m);
  }
  // The twin of the gate the options choose (the one-opening gate untruncated, or Prob's
  // two truncating openings), at the scale the plan expects (mpc::poly_out_scale).
  mpc::Words poly(size_t i, const mpc::Words& x, const mpc::PolyShape& s) {
    return mpc::plain::poly(ring_, x, s, q_.layers[i].poly, o_);
  }
  // The fused gate equals the truncation (bound checked) followed by the polynomial.
  mpc::Words trunc_poly(size_t i, const mpc::Words& x, int shift, const mpc::PolyShape& s) {
    return poly(i, trunc(q_.net.layers[i].name + "/trunc", x, shift), s);
  }

 private:
  /// x (signed words of an l-bit ring) as 64-bit words.
  static mpc::Words widen(const mpc::Words& x, int l) { return l >= 64 ? x : mpc::plain::sign_extend(x, l, 64); }
  /// OverflowError naming the layer and its `ring`-bit ring unless -2^bits <= v < 2^bits.
  static void fits(const std::string& layer, int64_t v, int ring, int bits) {
    const int64_t limit = int64_t{1} << bits;
    if (v >= limit || v < -limit)
      throw mpc::OverflowError("layer '" + layer + "': values exceed its " + std::to_string(ring) +
                               "-bit ring (a value of " + std::to_string(v) + " needs more than " + std::to_string(bits + 1) +
                               " bits); give the layer a wider ring (--layer-bits, the model's polympc.ring_bits)");
  }
  const QuantizedModel& q_;
  const mpc::ProtocolOptions& o_;
  mpc::RingConfig ring_;
};

}  // namespace

// Float twin of the layer walk, in double: layers [first, end) from t.input and t.outs.
void float_resume(const Network& net, FloatTrace& t, size_t first) {
  const std::vector<double>& input = t.input;
  const size_t batch = t.batch;
  std::vector<std::vector<double>>& outs = t.outs;
  if (outs.size() != net.layers.size() || input.size() != static_cast<size_t>(net.input_size()) * batch)
    throw ModelError("float_resume: the trace does not belong to network '" + net.name + "'");
  for (size_t i = first; i < net.layers.size(); ++i) {
    const Layer& L = net.layers[i];
    const std::vector<int> prod = net.producers(i);
    const std::vector<double>& x = prod[0] < 0 ? input : outs[static_cast<size_t>(prod[0])];
    const std::vector<int64_t>& is = prod[0] < 0 ? net.input_shape : net.layers[static_cast<size_t>(prod[0])].out_shape;
    const int64_t out_per = net.out_size(i);
    std::vector<double> y(static_cast<size_t>(out_per) * batch, 0.0);
    const int64_t C = is.empty() ? 1 : is[0];
    const int64_t H = is.size() > 1 ? is[1] : 1, W = is.size() > 2 ? is[2] : 1;
    const int64_t in_size = C * H * W;
    switch (L.op) {
      case OpKind::Conv: {
        const int64_t M = L.weight_shape[0], Ci = L.weight_shape[1], kh = L.weight_shape[2], kw = L.weight_shape[3];
        const int64_t Ho = L.out_shape[1], Wo = L.out_shape[2];
        for (size_t n = 0; n < batch; ++n)
          for (int64_t m = 0; m < M; ++m)
            for (int64_t oy = 0; oy < Ho; ++oy)
              for (int64_t ox = 0; ox < Wo; ++ox) {
                double acc = L.bias.empty() ? 0.0 : L.bias[static_cast<size_t>(m)];
                for (int64_t c = 0; c < Ci; ++c)
                  for (int64_t a = 0; a < kh; ++a)
                    for (int64_t b = 0; b < kw; ++b) {
                      const int64_t yy = oy * L.stride_h - L.pad_top + a, xx = ox * L.stride_w - L.pad_left + b;
                      if (yy < 0 || yy >= H || xx < 0 || xx >= W) continue;
                      acc += L.weight[static_cast<size_t>(((m * Ci + c) * kh + a) * kw + b)] *
                             x[static_cast<size_t>(static_cast<int64_t>(n) * in_size + (c * H + yy) * W + xx)];
                    }
                y[static_cast<size_t>(static_cast<int64_t>(n) * out_per + (m * Ho + oy) * Wo + ox)] = acc;
              }
        break;
      }
      case OpKind::Linear: {
        const int64_t M = L.weight_shape[0], K = L.weight_shape[1];
        for (size_t n = 0; n < batch; ++n)
          for (int64_t m = 0; m < M; ++m) {
            double acc = L.bias.empty() ? 0.0 : L.bias[static_cast<size_t>(m)];
            for (int64_t k = 0; k < K; ++k)
              acc += L.weight[static_cast<size_t>(m * K + k)] * x[static_cast<size_t>(static_cast<int64_t>(n) * K + k)];
            y[static_cast<size_t>(static_cast<int64_t>(n) * M + m)] = acc;
          }
        break;
      }
      case OpKind::Relu:
        for (size_t j = 0; j < y.size(); ++j) y[j] = x[j] > 0 ? x[j] : 0.0;
        break;
      case OpKind::Poly: {
        const int64_t Ch = channels_of(L.out_shape), S = spatial_of(L.out_shape);
        auto coef = [](const std::vector<float>& v, int64_t c) {
          return v.empty() ? 0.0 : static_cast<double>(v[v.size() == 1 ? 0 : static_cast<size_t>(c)]);
        };
        for (size_t j = 0; j < y.size(); ++j) {
          const int64_t c = (static_cast<int64_t>(j) / S) % Ch;
          y[j] = coef(L.poly_a2, c) * x[j] * x[j] + coef(L.poly_a1, c) * x[j] + coef(L.poly_a0, c);
        }
        break;
      }
      case OpKind::AvgPool:
      case OpKind::MaxPool:
      case OpKind::GlobalAvgPool: {
        const bool global = L.op == OpKind::GlobalAvgPool;
        const int64_t kh = global ? H : L.kernel_h, kw = global ? W : L.kernel_w;
        const int64_t sh = global ? 1 : L.stride_h, sw = global ? 1 : L.stride_w;
        const int64_t Ho = L.out_shape[1], Wo = L.out_shape[2];
        for (size_t n = 0; n < batch; ++n)
          for (int64_t c = 0; c < C; ++c)
            for (int64_t oy = 0; oy < Ho; ++oy)
              for (int64_t ox = 0; ox < Wo; ++ox) {
                double acc = L.op == OpKind::MaxPool ? -INFINITY : 0.0;
                for (int64_t a = 0; a < kh; ++a)
                  for (int64_t b = 0; b < kw; ++b) {
                    const int64_t yy = oy * sh - (global ? 0 : L.pad_top) + a, xx = ox * sw - (global ? 0 : L.pad_left) + b;
                    if (yy < 0 || yy >= H || xx < 0 || xx >= W) continue;  // max skips, avg counts 0
                    const double v = x[static_cast<size_t>(static_cast<int64_t>(n) * in_size + (c * H + yy) * W + xx)];
                    acc = L.op == OpKind::MaxPool ? std::max(acc, v) : acc + v;
                  }
                if (L.op != OpKind::MaxPool) acc /= static_cast<double>(kh * kw);
                y[static_cast<size_t>(static_cast<int64_t>(n) * out_per + (c * Ho + oy) * Wo + ox)] = acc;
              }
        break;
      }
      case OpKind::BlockRelu: {
        // The sign of the patch sum (= of the patch mean), broadcast over the patch.
        const mpc::BlockMap m = block_map(L, is, batch);
        std::vector<double> sum(m.patches, 0.0);
        for (size_t j = 0; j < y.size(); ++j)
          if (m.patch_of[j] >= 0) sum[static_cast<size_t>(m.patch_of[j])] += x[j];
        for (size_t j = 0; j < y.size(); ++j) {
          const int64_t p = m.patch_of[j];
          const bool keep =
              p == mpc::kBlockIdentity || (p >= 0 && sum[static_cast<size_t>(p)] >= 0);
          y[j] = keep ? x[j] : 0.0;
        }
        break;
      }
      case OpKind::Flatten:
        y = x;
        break;
      case OpKind::Add: {
        const std::vector<double>& x2 = prod.at(1) < 0 ? input : outs[static_cast<size_t>(prod[1])];
        for (size_t j = 0; j < y.size(); ++j) y[j] = x[j] + x2[j];
        break;
      }
    }
    outs[i] = std::move(y);
  }
}

FloatTrace float_trace(const Network& net, std::vector<double> input, size_t batch) {
  if (input.size() != static_cast<size_t>(net.input_size()) * batch)
    throw ModelError("float_trace: " + std::to_string(input.size()) + " input values, network '" + net.name +
                     "' needs " + std::to_string(net.input_size()) + " per image x " + std::to_string(batch));
  FloatTrace t;
  t.batch = batch;
  t.input = std::move(input);
  t.outs.resize(net.layers.size());
  float_resume(net, t, 0);
  return t;
}

std::vector<float> float_forward(const Network& net, const float* x, size_t batch) {
  const FloatTrace t =
      float_trace(net, std::vector<double>(x, x + static_cast<size_t>(net.input_size()) * batch), batch);
  return std::vector<float>(t.outs.back().begin(), t.outs.back().end());
}

mpc::Words encode_input(const mpc::RingConfig& r, const float* x, size_t count) {
  mpc::Words w(count);
  for (size_t j = 0; j < count; ++j) w[j] = r.encode(x[j]);
  return w;
}

mpc::Words fixed_forward(const QuantizedModel& q, const mpc::Words& x, size_t batch,
                         const mpc::ProtocolOptions& o) {
  PlainOps ops(q, o);
  const ScalePlan plan = plan_scales(q.net, q.ring, o, q.coef_frac);
  // The input is shared in the first layer's ring (the low bits of its words).
  mpc::Words in = detail::input_at_scale(q.ring, plan, x);
  if (plan.input_bits < q.ring.bits) in = mpc::plain::ring_reduce(in, q.ring.bits, plan.input_bits);
  return detail::finish_logits(q.ring, plan, detail::forward(ops, q.net, plan, batch, in));
}

std::vector<int> argmax_rows(const std::vector<double>& logits, size_t batch) {
  std::vector<int> out(batch, 0);
  if (batch == 0) return out;
  const size_t k = logits.size() / batch;
  for (size_t n = 0; n < batch; ++n) {
    size_t best = 0;
    for (size_t j = 1; j < k; ++j)
      if (logits[n * k + j] > logits[n * k + best]) best = j;
    out[n] = static_cast<int>(best);
  }
  return out;
}

size_t correct_top1(const mpc::RingConfig& r, const mpc::Words& logits, size_t batch, const int* labels) {
  std::vector<double> d(logits.size());
  for (size_t j = 0; j < d.size(); ++j) d[j] = r.decode(logits[j]);
  const std::vector<int> top = argmax_rows(d, batch);
  size_t right = 0;
  for (size_t n = 0; n < batch; ++n) right += top[n] == labels[n];
  return right;
}

}  // namespace polympc::nn
