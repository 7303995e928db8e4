#include "polympc/nn/secure.h"

#include <algorithm>
#include <functional>

#include "concurrent.h"
#include "forward.h"
#include "polympc/mpc/plaintext.h"

namespace polympc::nn {

namespace {
// The input transform as a batched lowering: raw [N, C, H, W] -> V [α², C, N·T].
mpc::Lowering winograd_lowering(const mpc::RingConfig& r, const WinogradForm& F, const WinogradGeometry& g,
                                size_t batch) {
  return [r, F, g, batch](const mpc::Words& v) { return winograd_input(r, F, g, batch, v); };
}
size_t positions(const WinogradForm& F) { return static_cast<size_t>(F.alpha * F.alpha); }

// The input transform on the party's backend (kernels/winograd_transform.h), as a batched
// lowering: raw [N, C, H, W] -> V [α², C, N·T]; the same words as winograd_input.
mpc::Lowering winograd_backend_lowering(mpc::Session& s, const WinogradForm& F, const WinogradGeometry& g,
                                        size_t batch) {
  const mpc::WinogradShape sh = winograd_backend_shape(g, F.m, batch, true);
  return [&s, sh](const mpc::Words& v) {
    if (v.size() != mpc::winograd_in_words(mpc::WinogradMode::Input, sh))
      throw mpc::InvalidArgument("winograd input transform: " + std::to_string(v.size()) + " words for " +
                                 mpc::winograd_shape_str(sh));
    mpc::Words out(mpc::winograd_out_words(mpc::WinogradMode::Input, sh));
    s.backend.winograd_transform(s.ring.bits, mpc::WinogradMode::Input, sh, v.data(), out.data());
    return out;
  };
}

/// Dealer half: same walk on zero "shares", pushing material in call order.
class DealOps {
 public:
  DealOps(mpc::Dealer& d, const Network& net, const mpc::ProtocolOptions& o, int coef_frac, mpc::MaterialStore& m0,
          mpc::MaterialStore& m1)
      : d_(d), net_(net), o_(o), coef_frac_(coef_frac), m0_(m0), m1_(m1), base_(d.ring()) {}
  DealOps(const DealOps&) = delete;
  DealOps(DealOps&& o) noexcept
      : d_(o.d_), net_(o.net_), o_(o.o_), coef_frac_(o.coef_frac_), m0_(o.m0_), m1_(o.m1_), base_(o.base_) {}
  ~DealOps() {  // the walk leaves the dealer in its ring and scale
    d_.set_ring_bits(base_.bits);
    d_.set_ring_frac(base_.frac);
  }
  struct Scope {};
  Scope layer_scope(const Layer&) { return {}; }
  const mpc::RingConfig& ring() { return d_.ring(); }
  void set_ring_bits(int l) { d_.set_ring_bits(l); }
  void set_frac(int f) { d_.set_ring_frac(f); }
  mpc::Words trunc_reduce(const std::string& tag, const mpc::Words& x, int from, int shift) {
    mpc::deal_trunc_reduce(d_, x.size(), from, shift, o_, tag, m0_, m1_);
    return mpc::Words(x.size(), 0);
  }
  mpc::Words ring_reduce(const std::string& tag, const mpc::Words& x, int from, int to) {
    mpc::deal_ring_reduce(d_, x.size(), from, to, tag, m0_, m1_);
    return x;
  }
  mpc::Words sign_extend(const std::string& tag, const mpc::Words& x, int from, int to) {
    mpc::deal_sign_extend(d_, x.size(), from, to, o_, tag, m0_, m1_);
    return x;
  }
  void check_output(const Layer&, const mpc::Words&) {}
  mpc::Words matmul(size_t i, const mpc::Words& x, size_t m, size_t k, size_t cols, const mpc::Lowering& lower) {
    mpc::deal_matmul(d_, m, k, cols, x.size(), lower, net_.layers[i].name, m0_, m1_);
    return mpc::Words(m * cols, 0);
  }
  void add_bias(size_t, mpc::Words&, size_t, size_t) {}
  mpc::Words winograd_conv(size_t i, const mpc::Words& x, const WinogradForm& F, const WinogradGeometry& g,
                           size_t batch) {
    const size_t cols = batch * static_cast<size_t>(g.tiles());
    mpc::deal_matmul_batched(d_, positions(F), static_cast<size_t>(g.M), static_cast<size_t>(g.C), cols, x.size(),
                             winograd_lowering(d_.ring(), F, g, batch), net_.layers[i].name, m0_, m1_);
    return mpc::Words(static_cast<size_t>(g.M) * batch * static_cast<size_t>(g.Ho * g.Wo), 0);
  }
  mpc::Words trunc(const std::string& tag, const mpc::Words& x, int shift) {
    mpc::deal_trunc(d_, x.size(), shift, o_, tag, m0_, m1_);
    return x;
  }
  mpc::Words relu(const std::string& tag, const mpc::Words& x) {
    mpc::deal_relu(d_, x.size(), o_, tag, m0_, m1_);
    return x;
  }
  mpc::Words max(const std::string& tag, const mpc::Words& a, const mpc::Words&) {
    mpc::deal_max(d_, a.size(), o_, tag, m0_, m1_);
    return a;
  }
  mpc::Words block_relu(const std::string& tag, const mpc::Words& x, const mpc::BlockMap& m) {
    mpc::deal_block_relu(d_, m, o_, tag, m0_, m1_);
    return x;
  }
  mpc::Words poly(size_t i, const mpc::Words& x, const mpc::PolyShape& s) {
    mpc::deal_poly(d_, s, coef_frac_, o_, net_.layers[i].name, m0_, m1_);
    return x;
  }
  mpc::Words trunc_poly(size_t i, const mpc::Words& x, int shift, const mpc::PolyShape& s) {
    mpc::deal_trunc_poly(d_, s, shift, net_.layers[i].name, m0_, m1_);
    return x;
  }

 private:
  mpc::Dealer& d_;
  const Network& net_;
  const mpc::ProtocolOptions& o_;
  int coef_frac_;
  mpc::MaterialStore& m0_;
  mpc::MaterialStore& m1_;
  mpc::RingConfig base_;
};

/// Online half: one party's protocol calls, per-layer phases.
class OnlineOps {
 public:
  OnlineOps(mpc::Session& s, const Network& net, const QuantizedModel* model, const std::vector<mpc::Words>& opened,
            const std::vector<mpc::PolySetup>& poly_opened, int coef_frac)
      : s_(s), net_(net), model_(model), opened_(opened), poly_opened_(poly_opened), coef_frac_(coef_frac),
        base_(s.ring) {}
  OnlineOps(const OnlineOps&) = delete;
  OnlineOps(OnlineOps&& o) noexcept
      : s_(o.s_), net_(o.net_), model_(o.model_), opened_(o.opened_), poly_opened_(o.poly_opened_),
        coef_frac_(o.coef_frac_), base_(o.base_) {}
  ~OnlineOps() { s_.ring = base_; }  // the walk leaves the session in its ring and scale
  using Scope = std::unique_ptr<mpc::PhaseScope>;
  Scope layer_scope(const Layer& L) { return std::make_unique<mpc::PhaseScope>(s_.channel, L.name); }
  const mpc::RingConfig& ring() { return s_.ring; }
  void set_ring_bits(int l) { s_.ring.bits = l; }
  void set_frac(int f) { s_.ring.frac = f; }
  mpc::Words trunc_reduce(const std::string& tag, const mpc::Words& x, int from, int shift) {
    return mpc::trunc_reduce(s_, x, from, shift, tag);
  }
  mpc::Words ring_reduce(const std::string& tag, const mpc::Words& x, int from, int to) {
    return mpc::ring_reduce(s_, x, from, to, tag);
  }
  mpc::Words sign_extend(const std::string& tag, const mpc::Words& x, int from, int to) {
    return mpc::sign_extend(s_, x, from, to, tag);
  }
  void check_output(const Layer&, const mpc::Words&) {}
  mpc::Words matmul(size_t i, const mpc::Words& x, size_t m, size_t k, size_t cols, const mpc::Lowering& lower) {
    return mpc::matmul(s_, x, opened_[i], m, k, cols, lower, net_.layers[i].name);
  }
  // The input transform (of the opened F and of the share of B) on the backend, the α²
  // per-position products through matmul_combine after one opening of X − B, the output
  // transform on the shares on the backend (kernels/winograd_transform.h: the same words as
  // winograd_input / winograd_output, which the twin and the dealer use), P0 adds the bias
  // lifted to scale 2f + u_frac.
  mpc::Words winograd_conv(size_t i, const mpc::Words& x, const WinogradForm& F, const WinogradGeometry& g,
                           size_t batch) {
    const size_t m = static_cast<size_t>(g.M), cols = batch * static_cast<size_t>(g.tiles());
    const mpc::Words z = mpc::matmul_batched(s_, x, opened_[i], positions(F), m, static_cast<size_t>(g.C), cols,
                                             winograd_backend_lowering(s_, F, g, batch), net_.layers[i].name);
    const mpc::WinogradShape out_shape = winograd_backend_shape(g, F.m, batch, false);
    mpc::Words y(mpc::winograd_out_words(mpc::WinogradMode::Output, out_shape));
    s_.backend.winograd_transform(s_.ring.bits, mpc::WinogradMode::Output, out_shape, z.data(), y.data());
    if (s_.party == 0) {
      const size_t n = y.size() / m;
      const auto& b = model_->layers[i].bias;
      for (size_t o = 0; o < m; ++o)
        for (size_t j = 0; j < n; ++j) y[o * n + j] = (y[o * n + j] + (b[o] << F.u_frac)) & s_.ring.mask();
    }
    return y;
  }
  void add_bias(size_t i, mpc::Words& y, size_t m, size_t cols) {
    if (s_.party != 0) return;
    const auto& b = model_->layers[i].bias;
    for (size_t c = 0; c < m; ++c)
      for (size_t j = 0; j < cols; ++j) y[c * cols + j] = (y[c * cols + j] + b[c]) & s_.ring.mask();
  }
  mpc::Words trunc(const std::string& tag, const mpc::Words& x, int shift) { return mpc::trunc(s_, x, shift, tag); }
  mpc::Words relu(const std::string& tag, const mpc::Words& x) { return mpc::relu(s_, x, tag); }
  mpc::Words max(const std::string& tag, const mpc::Words& a, const mpc::Words& b) { return mpc::max(s_, a, b, tag); }
  mpc::Words block_relu(const std::string& tag, const mpc::Words& x, const mpc::BlockMap& m) {
    return mpc::block_relu(s_, x, m, tag);
  }
  mpc::Words poly(size_t i, const mpc::Words& x, const mpc::PolyShape& sh) {
    mpc::PolyCoeffs c;
    c.coef_frac = coef_frac_;
    if (s_.party == 0) c = model_->layers[i].poly;
    return mpc::poly(s_, x, sh, c, poly_opened_[i], net_.layers[i].name);
  }
  mpc::Words trunc_poly(size_t i, const mpc::Words& x, int shift, const mpc::PolyShape& sh) {
    mpc::PolyCoeffs c;
    c.coef_frac = coef_frac_;
    if (s_.party == 0) c = model_->layers[i].poly;
    return mpc::trunc_poly(s_, x, shift, sh, c, poly_opened_[i], net_.layers[i].name);
  }

 private:
  mpc::Session& s_;
  const Network& net_;
  const QuantizedModel* model_;
  const std::vector<mpc::Words>& opened_;
  const std::vector<mpc::PolySetup>& poly_opened_;
  int coef_frac_;
  mpc::RingConfig base_;
};

size_t classes_of(const Network& net) {
  return static_cast<size_t>(net.out_size(net.layers.size() - 1));
}

constexpr const char* kArgmaxTag = "output/argmax";
constexpr const char* kOutputTruncTag = "output/trunc";

// The weight operand's (mask's) rows and columns: [M, C·kh·kw] for the direct form,
// [α²·M, C] for a Winograd form (U, nn/winograd.h).
size_t matmul_m(const Layer& L) {
  const size_t m = static_cast<size_t>(L.weight_shape[0]);
  return L.op == OpKind::Conv && L.winograd != 0 ? positions(winograd_form(L.winograd)) * m : m;
}
size_t matmul_k(const Layer& L) {
  if (L.op == OpKind::Conv && L.winograd != 0) return static_cast<size_t>(L.weight_shape[1]);
  size_t k = 1;
  for (size_t j = 1; j < L.weight_shape.size(); ++j) k *= static_cast<size_t>(L.weight_shape[j]);
  return k;
}
}  // namespace

const char* reveal_name(Reveal r) { return r == Reveal::Label ? "label" : "logits"; }

Reveal parse_reveal(const std::string& s) {
  if (s == "logits") return Reveal::Logits;
  if (s == "label") return Reveal::Label;
  throw mpc::InvalidArgument("unknown reveal mode '" + s + "' (choose logits or label)");
}

mpc::ProtocolOptions label_options(const mpc::ProtocolOptions& o) {
  mpc::ProtocolOptions l = o;
  l.compare_bits = mpc::CompareBits{};
  l.layer_compare_bits.clear();
  return l;
}

void deal_model(mpc::Dealer& d, const Network& arch, mpc::MaterialStore& m0, mpc::MaterialStore& m1) {
  for (const Layer& L : arch.layers) {
    if (L.op == OpKind::Conv || L.op == OpKind::Linear)
      mpc::deal_matmul_setup(d, matmul_m(L), matmul_k(L), L.name, m0, m1);
    else if (L.op == OpKind::Poly)
      mpc::deal_poly_setup(d, static_cast<size_t>(channels_of(L.out_shape)), L.name, m0, m1);
  }
}

bool Tiling::active() const {
  return lanes > 0 && std::any_of(tiles.begin(), tiles.end(), [](size_t t) { return t > 1; });
}

size_t Tiling::lanes_at(size_t batch) const {
  size_t most = 1;
  for (size_t t : tiles) most = std::max(most, std::min(t, batch));
  return std::max<size_t>(1, std::min(lanes, most));
}

std::vector<TileSegment> tile_segments(const std::vector<size_t>& counts, size_t batch,
                                       const std::vector<bool>& alone) {
  if (!alone.empty() && alone.size() != counts.size())
    throw mpc::InvalidArgument("tile_segments: " + std::to_string(alone.size()) + " flags for " +
                               std::to_string(counts.size()) + " layers");
  auto count = [&](size_t i) { return std::max<size_t>(1, counts[i]); };
  auto is_alone = [&](size_t i) { return !alone.empty() && alone[i]; };
  std::vector<TileSegment> out;
  for (size_t s = 0, e = 0; s < counts.size(); s = e) {
    const size_t T = count(s);
    e = s + 1;
    if (T <= batch && !is_alone(s))
      while (e < counts.size() && count(e) == T && !is_alone(e)) ++e;
    out.push_back({s, e, T});
  }
  return out;
}

namespace {
// The dealer's half of the reveal (reveal_labels), into the stores of the lane that runs it.
void deal_reveal(mpc::Dealer& d, const Network& arch, const ScalePlan& plan, size_t batch,
                 const mpc::ProtocolOptions& o, mpc::MaterialStore& m0, mpc::MaterialStore& m1, Reveal reveal) {
  if (reveal == Reveal::Label && plan.output_shift > 0)
    mpc::deal_trunc(d, batch * classes_of(arch), plan.output_shift, o, kOutputTruncTag, m0, m1);
  if (reveal == Reveal::Label)
    mpc::deal_argmax(d, batch, classes_of(arch), label_options(o), kArgmaxTag, m0, m1);
}
}  // namespace

void deal_inference(mpc::Dealer& d, const Network& arch, size_t batch,
                    const mpc::ProtocolOptions& o, int coef_frac, mpc::MaterialStore& m0,
                    mpc::MaterialStore& m1, Reveal reveal) {
  deal_inference_tiled(d, arch, batch, o, coef_frac, {{&m0, &m1}}, Tiling{}, reveal);
}

void deal_inference_tiled(mpc::Dealer& d, const Network& arch, size_t batch, const mpc::ProtocolOptions& o,
                          int coef_frac, const std::vector<LaneMaterial>& lanes, const Tiling& tiling,
                          Reveal reveal) {
  if (lanes.empty()) throw mpc::InvalidArgument("a tiled dealing needs at least one lane");
  std::vector<DealOps> ops;
  ops.reserve(lanes.size());
  for (const LaneMaterial& l : lanes) ops.emplace_back(d, arch, o, coef_frac, *l.m0, *l.m1);
  std::vector<DealOps*> lane_ops;
  for (DealOps& op : ops) lane_ops.push_back(&op);
  mpc::Words x(static_cast<size_t>(arch.input_size()) * batch, 0);
  const ScalePlan plan = plan_scales(arch, d.ring(), o, coef_frac);
  if (!tiling.active())
    detail::forward(ops[0], arch, plan, batch, x);
  else
    detail::forward_tiled(lane_ops, arch, plan, batch, x, tiling.tiles, [](size_t n, const auto& fn) {
      for (size_t l = 0; l < n; ++l) fn(l);
    });
  d.set_ring_bits(plan.bits.empty() ? d.ring().bits : plan.bits.back());  // the reveal in the last layer's ring
  deal_reveal(d, arch, plan, batch, o, *lanes[0].m0, *lanes[0].m1, reveal);
}

uint64_t truncated_elements_per_image(const Network& arch, const mpc::RingConfig& ring,
                                      const mpc::ProtocolOptions& o, int coef_frac) {
  Network a = arch;
  a.infer_shapes();
  mpc::ProtocolOptions po = o;
  po.trunc = mpc::TruncMode::Prob;  // one TruncPair item [r | r >> s] per truncation; the
                                    // bound is o's: it decides the placement (placement.h)
  po.compare = mpc::CompareMode::Gmw;      // no DCF keys to generate
  mpc::Dealer d(ring);
  mpc::MaterialStore m0(0), m1(1);
  deal_model(d, a, m0, m1);
  deal_inference(d, a, 1, po, resolve_coef_frac(ring, coef_frac), m0, m1);
  uint64_t n = 0;
  for (const mpc::MaterialItem& it : m0.items())
    if (it.kind == mpc::MaterialKind::TruncPair) n += it.words.size() / 2;
  return n;
}

SecureParty::SecureParty(const Network& arch, const QuantizedModel* model, int coef_frac)
    : arch_(arch), model_(model), coef_frac_(coef_frac) {
  arch_.infer_shapes();
  if (model_ && model_->coef_frac != coef_frac)
    throw mpc::InvalidArgument("model coefficient scale differs from the session's");
}

void SecureParty::setup(mpc::Session& s) {
  if (s.party == 0 && model_ == nullptr) throw mpc::InvalidArgument("P0 (server) needs the model");
  if (s.party == 1 && model_ != nullptr) throw mpc::InvalidArgument("P1 (client) must not hold the model parameters");
  mpc::PhaseScope scope(s.channel, "setup");
  opened_.assign(arch_.layers.size(), {});
  poly_opened_.assign(arch_.layers.size(), {});
  for (size_t i = 0; i < arch_.layers.size(); ++i) {
    const Layer& L = arch_.layers[i];
    if (L.op == OpKind::Conv || L.op == OpKind::Linear) {
      mpc::Words w = s.party == 0 ? model_->layers[i].weight : mpc::Words();
      if (s.party == 0 && L.op == OpKind::Conv && L.winograd != 0)  // U [α², M, C], scale f + u_frac
        w = winograd_weights(s.ring, winograd_form(L.winograd), w, static_cast<size_t>(L.weight_shape[0]),
                             static_cast<size_t>(L.weight_shape[1]));
      opened_[i] = mpc::matmul_setup(s, w, matmul_m(L), matmul_k(L), L.name);
    } else if (L.op == OpKind::Poly) {
      mpc::PolyCoeffs c;
      if (s.party == 0) c = model_->layers[i].poly;
      poly_opened_[i] = mpc::poly_setup(s, c, static_cast<size_t>(channels_of(L.out_shape)), L.name);
    }
  }
  ready_ = true;
}

mpc::Words share_input(mpc::Session& s, const mpc::Words& x, size_t count, mpc::Prg& prg) {
  mpc::PhaseScope scope(s.channel, "input");
  if (s.party == 1) {
    if (x.size() != count) throw mpc::InvalidArgument("input has " + std::to_string(x.size()) + " elements, expected " + std::to_string(count));
    mpc::Words r = prg.words(count, s.ring.bits);
    const std::vector<uint8_t> buf = mpc::pack_ring(r, s.ring.bits);
    s.channel.send(buf.data(), buf.size());
    mpc::Words mine(count);
    for (size_t i = 0; i < count; ++i) mine[i] = (x[i] - r[i]) & s.ring.mask();
    return mine;
  }
  std::vector<uint8_t> buf(mpc::wire_bytes(count, s.ring.bits));
  s.channel.recv(buf.data(), buf.size());
  return mpc::unpack_ring(buf.data(), count, s.ring.bits);
}

mpc::Words SecureParty::infer(mpc::Session& s, const mpc::Words& input_share, size_t batch) {
  return infer_tiled({&s}, input_share, batch, Tiling{});
}

mpc::Words SecureParty::infer_tiled(const std::vector<mpc::Session*>& lanes, const mpc::Words& input_share,
                                    size_t batch, const Tiling& tiling) {
  if (lanes.empty()) throw mpc::InvalidArgument("a tiled inference needs at least one lane");
  if (!ready_) throw mpc::InvalidArgument("SecureParty::infer before setup()");
  if (input_share.size() != static_cast<size_t>(arch_.input_size()) * batch)
    throw mpc::InvalidArgument("input share has " + std::to_string(input_share.size()) + " elements, batch of " +
                               std::to_string(batch) + " needs " + std::to_string(arch_.input_size() * static_cast<int64_t>(batch)));
  std::vector<OnlineOps> ops;
  ops.reserve(lanes.size());
  for (mpc::Session* s : lanes) ops.emplace_back(*s, arch_, model_, opened_, poly_opened_, coef_frac_);
  std::vector<OnlineOps*> lane_ops;
  for (OnlineOps& op : ops) lane_ops.push_back(&op);
  if (!tiling.active()) return detail::forward(ops[0], arch_, plan(*lanes[0]), batch, input_share);
  // Lanes on their own threads; each lane talks only to the same lane of the peer.
  auto run_lanes = [](size_t n, const std::function<void(size_t)>& fn) { detail::run_concurrently(n, fn); };
  return detail::forward_tiled(lane_ops, arch_, plan(*lanes[0]), batch, input_share, tiling.tiles, run_lanes);
}

ScalePlan SecureParty::plan(const mpc::Session& s) const {
  return plan_scales(arch_, s.ring, s.options, coef_frac_);
}

mpc::Session SecureParty::last_ring(mpc::Session& s) const {
  mpc::Session ls{s.party, s.ring, s.channel, s.backend, s.material, s.options};
  const ScalePlan p = plan(s);
  if (!p.bits.empty()) ls.ring.bits = p.bits.back();
  return ls;
}

mpc::Words SecureParty::reveal_output(mpc::Session& s, const mpc::Words& logits_share) {
  mpc::PhaseScope scope(s.channel, "output");
  mpc::Session ls = last_ring(s);
  const mpc::Words logits = mpc::reveal_to(ls, logits_share, 1);
  return s.party == 1 ? detail::finish_logits(s.ring, plan(s), logits) : logits;
}

mpc::Words SecureParty::reveal_labels(mpc::Session& s, const mpc::Words& logits_share,
                                      size_t batch) {
  mpc::PhaseScope scope(s.channel, "output");
  mpc::Session last = last_ring(s);  // the logits are shares of the last layer's ring
  mpc::Session ls{s.party, last.ring, s.channel, s.backend, s.material, label_options(s.options)};
  const size_t classes = classes_of(arch_);
  const int shift = plan(s).output_shift;
  const mpc::Words logits =
      shift > 0 ? mpc::trunc(last, logits_share, shift, kOutputTruncTag) : logits_share;
  const mpc::Words idx = mpc::argmax(ls, logits, batch, classes, kArgmaxTag);
  mpc::Words labels = mpc::reveal_to(last, idx, 1);
  for (uint64_t label : labels)
    if (label >= classes)
      throw mpc::InvalidArgument("P1 received label " + std::to_string(label) + " of " +
                                 std::to_string(classes) +
                                 " classes: the parties disagree on the network");
  return labels;
}

mpc::Words SecureParty::run_batch(mpc::Session& s, const mpc::Words& x, size_t batch, mpc::Prg& prg,
                                  Reveal reveal) {
  return run_batch_tiled({&s}, x, batch, prg, reveal, Tiling{});
}

mpc::Words SecureParty::run_batch_tiled(const std::vector<mpc::Session*>& lanes, const mpc::Words& x, size_t batch,
                                        mpc::Prg& prg, Reveal reveal, const Tiling& tiling) {
  if (lanes.empty()) throw mpc::InvalidArgument("a tiled inference needs at least one lane");
  mpc::Session& s = *lanes[0];
  const size_t count = static_cast<size_t>(arch_.input_size()) * batch;
  mpc::Session in{s.party, s.ring, s.channel, s.backend, s.material, s.options};
  in.ring.bits = plan(s).input_bits;  // shared in the first layer's ring, at its scale
  mpc::Words share = share_input(in, s.party == 1 ? detail::input_at_scale(s.ring, plan(s), x) : x, count, prg);
  mpc::Words logits = infer_tiled(lanes, share, batch, tiling);
  return reveal == Reveal::Label ? reveal_labels(s, logits, batch) : reveal_output(s, logits);
}

}  // namespace polympc::nn
