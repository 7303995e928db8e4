// The performance model (model.h). Each layer's protocols run in mpc's counting context
// (mpc/counting.h), with the truncations nn::plan_scales places: the bytes,
// rounds, dealer material and DCF key generation are what the protocols themselves do, and
// device work is the list of Backend calls they made, each priced with its kernel's cycle
// model and split into launches by the kernels' own launch rules (hls/launch.h,
// kernels/poly_eval.h), which sim/ and host/ use too.
#include "polympc/perfmodel/model.h"

#include "kernels/dcf_eval.h"
#include "kernels/matmul_combine.h"
#include "kernels/winograd_transform.h"
#include "kernels/poly_eval.h"
#include "polympc/hls/launch.h"
#include "polympc/mpc/counting.h"
#include "polympc/nn/lowering.h"
#include "polympc/nn/winograd.h"
#include "polympc/nn/placement.h"
#include "polympc/nn/secure.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <mutex>
#include <sstream>
#include <set>

namespace polympc::perfmodel {

namespace {

uint64_t ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }
uint64_t u64(int64_t v) { return v < 0 ? 0 : static_cast<uint64_t>(v); }



}  // namespace

std::string kernel_of(const std::string& method) {
  if (method == "trunc_exact_combine" || method == "trunc_prob_combine") return "trunc";
  return method;
}

const char* choice_name(Choice c) {
  switch (c) {
    case Choice::ReluGmw:
      return "relu-gmw";
    case Choice::ReluFss:
      return "relu-fss";
    case Choice::Poly:
      return "poly";
    case Choice::Identity:
      return "identity";
    case Choice::MaxPool:
      return "maxpool";
    case Choice::AvgPool:
      return "avgpool";
    case Choice::Matmul:
      return "matmul";
    case Choice::Free:
      return "free";
    case Choice::Input:
      return "input";
    case Choice::Output:
      return "output";
  }
  return "?";
}

const char* phase_name(Phase p) {
  switch (p) {
    case Phase::Online:
      return "online";
    case Phase::Offline:
      return "offline";
    case Phase::Total:
      return "total";
  }
  return "?";
}

Phase parse_phase(const std::string& s) {
  for (Phase p : {Phase::Online, Phase::Offline, Phase::Total})
    if (s == phase_name(p)) return p;
  throw PerfModelError("unknown phase '" + s + "' (online, offline or total)");
}

double phase_seconds(const LayerCost& c, Phase p) {
  return p == Phase::Online ? c.latency_s : p == Phase::Offline ? c.offline_s : c.total_s;
}

uint64_t phase_bytes(const LayerCost& c, Phase p) {
  const uint64_t online = std::max(c.bytes_p0, c.bytes_p1);
  return p == Phase::Online ? online : p == Phase::Offline ? c.offline_bytes : online + c.offline_bytes;
}

Choice parse_choice(const std::string& s, Choice relu_default) {
  for (Choice c : {Choice::ReluGmw, Choice::ReluFss, Choice::Poly, Choice::Identity, Choice::MaxPool, Choice::AvgPool,
                   Choice::Matmul, Choice::Free, Choice::Input, Choice::Output})
    if (s == choice_name(c)) return c;
  if (s == "relu") return relu_default;
  if (s == "max") return Choice::MaxPool;
  if (s == "avg") return Choice::AvgPool;
  throw PerfModelError("unknown choice '" + s + "' (relu, relu-gmw, relu-fss, poly, identity, maxpool, avgpool)");
}

/// Accumulates one layer's Backend calls, host overheads and communication.
class LayerBuilder {
 public:
  LayerBuilder(const Model& m, LayerCost& c) : m_(m), c_(c), r_(m.opt_.ring), b_(m.opt_.batch) {}

  // ---- what the counting context saw (exact) ----------------------------------------------
  /// Adds both parties' counted traffic, party 0's material and key generation (both parties
  /// hold material of the same size; the dealer generates each DCF key pair once) and prices
  /// party 0's Backend calls (both parties run the same calls on their boards in parallel).
  void add(const mpc::Counted& p0, const mpc::Counted& p1) {
    c_.bytes_p0 += p0.bytes;
    c_.bytes_p1 += p1.bytes;
    c_.rounds += std::max(p0.rounds, p1.rounds);
    c_.offline_bytes += 8 * std::max(p0.material_words, p1.material_words);
    c_.keygen_aes_blocks += p0.keygen_aes_blocks;
    for (const mpc::BackendCall& call : p0.calls) price(call);
  }
  /// Host overhead (software time) of one protocol call, by its calibration name.
  void host(const std::string& protocol, uint64_t units) {
    for (auto& h : c_.host)
      if (h.protocol == protocol) {
        h.calls += 1;
        h.units += units;
        h.call_units.push_back(units);
        return;
      }
    c_.host.push_back(HostUse{protocol, 1, units, {units}});
  }

  // ---- Backend calls (per party) -----------------------------------------------------------
  void beaver_mul(uint64_t n) { elementwise("beaver_mul_combine", n, 6 * n, 3 * n); }
  void trunc_kernel(uint64_t n, bool exact) {
    if (exact)
      elementwise("trunc_exact_combine", n, 4 * n, 4 * n);
    else
      elementwise("trunc_prob_combine", n, 3 * n, 2 * n);
  }
  void gmw_and(uint64_t words) { elementwise("gmw_and_level", words, 6 * words, 3 * words); }
  void b2a(uint64_t n) {
    const uint64_t w = ceil_div(n, 64);
    elementwise("b2a_combine", n, w + 2 * n, w + n, /*block64=*/true);
  }
  void bit_slice(int bits, uint64_t n) {
    const KernelSpec& k = spec("bit_slice");
    const uint64_t lanes = m_.lanes("bit_slice");
    const uint64_t limit = k.max_batch ? hls::block64_limit(k.max_batch) : 0;
    KernelUse& u = use("bit_slice");
    u.calls += 1;
    u.elements += n;
    u.call_elements.push_back(n);
    hls::for_each_launch(n, limit, [&](uint64_t, uint64_t len) {
      u.launches += 1;
      u.cycles += k.depth + ceil_div(len, 64) * (64 / lanes + static_cast<uint64_t>(bits)) * k.ii;
    });
    const double words = static_cast<double>(n + static_cast<uint64_t>(bits) * ceil_div(n, 64));
    u.memory_bytes += 8 * words;
    u.link_bytes += 8 * words;
  }
  void matmul(uint64_t m, uint64_t k, uint64_t cols) {
    const KernelSpec& s = spec("matmul_combine");
    KernelUse& u = use("matmul_combine");
    u.calls += 1;
    u.elements += m * k * cols;
    u.call_elements.push_back(m * k * cols);
    if (m > 0 && cols > 0) {
      u.launches += 1;
      u.cycles += kernels::matmul_array_cycles(geometry(s), m, k, cols);
    }
    // The array's traffic (matmul_combine.h): B and F once per block of rows.
    u.memory_bytes += 8.0 * static_cast<double>(kernels::matmul_array_memory_words(geometry(s), m, k, cols));
    u.link_bytes += 8.0 * static_cast<double>(k * cols + m * cols);
  }
  void poly_eval(const mpc::PolyShape& sh, mpc::PolyMode mode) {
    const KernelSpec& k = spec("poly_eval");
    const uint64_t lanes = m_.lanes("poly_eval");
    KernelUse& u = use("poly_eval");
    const uint64_t n = sh.size();
    u.calls += 1;
    u.elements += n;
    u.call_elements.push_back(n);
    auto launch = [&](uint64_t on, uint64_t cn, uint64_t inner_len) {
      u.launches += 1;
      u.cycles += k.depth + cn + ceil_div(on * cn * inner_len, lanes) * k.ii;
    };
    // The kernel's own launch rule (kernels/poly_eval.h), as sim/ and host/ launch it.
    if (n > 0)
      kernels::poly_eval_launches(sh.outer, sh.channels, sh.inner, k.max_batch ? k.max_batch : n, k.max_channels,
                                  [&](uint64_t, uint64_t on, uint64_t, uint64_t cn, uint64_t, uint64_t inner_len) {
                                    launch(on, cn, inner_len);
                                  });
    // Words read and written (kernels/poly_eval.h): Quadratic reads d, alpha, alpha², m2·alpha,
    // m2·alpha², m1·alpha and 5 per-channel words, writes z; LinearChannel reads d, alpha,
    // m1·alpha and 3 per-channel words; LinearElement also e1 and m1 per element, 1 per channel.
    // Link bytes count the opened values in, the result out and the public per-channel
    // words (E2, E1, add); dealer material and the mask shares stay on the device.
    const double ch = static_cast<double>(sh.channels), dn = static_cast<double>(n);
    switch (mode) {
      case mpc::PolyMode::Quadratic:
        u.memory_bytes += 8 * (7 * dn + 5 * ch);
        u.link_bytes += 8 * (2 * dn + 3 * ch);
        break;
      case mpc::PolyMode::LinearChannel:
        u.memory_bytes += 8 * (4 * dn + 3 * ch);
        u.link_bytes += 8 * (2 * dn + 2 * ch);
        break;
      case mpc::PolyMode::LinearElement:
        u.memory_bytes += 8 * (6 * dn + ch);
        u.link_bytes += 8 * (3 * dn + ch);
        break;
    }
  }
  /// FSS: DCF evaluation of n keys of `depth` levels (kernels/dcf_eval.h), chunked on
  /// 64-key boundaries (hls::block64_limit), as sim/ and host/ launch it.
  void dcf(uint64_t n, int depth) {
    const KernelSpec& k = spec("dcf_eval");
    const uint64_t cores = m_.lanes("dcf_eval");
    const uint64_t group = 64 * m_.dcf_group_words();
    KernelUse& u = use("dcf_eval");
    u.calls += 1;
    u.elements += n;
    u.call_elements.push_back(n * static_cast<uint64_t>(depth));  // calibrated per AES block
    const uint64_t limit = k.max_batch ? hls::block64_limit(k.max_batch) : 0;
    hls::for_each_launch(n, limit, [&](uint64_t, uint64_t len) {
      u.launches += 1;
      u.cycles += k.depth + ceil_div(len, group) * ceil_div(group, cores) * static_cast<uint64_t>(depth + 1) * k.ii;
    });
    // Keys (2 depth + 4 words each, dealer material) and points in, packed bits out.
    const double key_words = 2.0 * depth + 4.0, w = static_cast<double>(ceil_div(n, 64));
    u.memory_bytes += 8.0 * (static_cast<double>(n) * (key_words + 1.0) + w);
    u.link_bytes += 8.0 * (static_cast<double>(n) + w);
  }

  /// Winograd transform (kernels/winograd_transform.h): one launch per call, its cycle
  /// model at the configured lanes (Model::lanes; II, depth and transform latency from the
  /// header). Its CPU time is in the layer's host overhead (no calibration entry yet).
  void winograd(mpc::WinogradMode mode, const mpc::WinogradShape& sh) {
    const KernelSpec& k = spec("winograd_transform");
    const kernels::WinogradKernelGeometry g{m_.lanes("winograd_transform"), k.ii, k.depth, k.xform_latency};
    KernelUse& u = use("winograd_transform");
    const uint64_t tiles = u64(static_cast<int64_t>(sh.batch * sh.channels * sh.tiles()));
    u.calls += 1;
    u.elements += tiles;
    u.call_elements.push_back(tiles);
    if (tiles > 0) {
      u.launches += 1;
      u.cycles += kernels::winograd_transform_cycles_at(g, static_cast<int>(mode), static_cast<uint64_t>(sh.m),
                                                        sh.batch * sh.channels, sh.ho, sh.wo);
    }
    const double in = static_cast<double>(mpc::winograd_in_words(mode, sh)),
                 out = static_cast<double>(mpc::winograd_out_words(mode, sh));
    u.memory_bytes += 8.0 * (in + out);
    u.link_bytes += 8.0 * (in + out);
  }

  /// One Backend call priced with its kernel's model.
  void price(const mpc::BackendCall& c) {
    const uint64_t n = c.n;
    if (c.kernel == "beaver_mul_combine") {
      elementwise(c.kernel, n, 6 * n, 3 * n);
    } else if (c.kernel == "trunc_exact_combine") {
      elementwise(c.kernel, n, 4 * n, 4 * n);
    } else if (c.kernel == "trunc_prob_combine") {
      elementwise(c.kernel, n, 3 * n, 2 * n);
    } else if (c.kernel == "gmw_and_level") {
      elementwise(c.kernel, n, 6 * n, 3 * n);
    } else if (c.kernel == "b2a_combine") {
      const uint64_t w = ceil_div(n, 64);
      elementwise(c.kernel, n, w + 2 * n, w + n, /*block64=*/true);
    } else if (c.kernel == "bit_slice") {
      bit_slice(c.bits, n);
    } else if (c.kernel == "matmul_combine") {
      matmul(c.m, c.k, c.cols);
    } else if (c.kernel == "poly_eval") {
      poly_eval(c.shape, c.mode);
    } else if (c.kernel == "dcf_eval") {
      dcf(n, c.shift);
    } else if (c.kernel == "winograd_transform") {
      winograd(c.winograd_mode, c.winograd);
    } else {
      throw PerfModelError("no cycle model for Backend call '" + c.kernel + "'");
    }
  }

 private:
  kernels::MatmulGeometry geometry(const KernelSpec& s) const {
    return kernels::MatmulGeometry{m_.lanes(s.name), m_.rows(s.name), s.tile_n, s.k_chunk, s.ii, s.depth};
  }
  const KernelSpec& spec(const std::string& method) const {
    return m_.kernels_.at(kernel_of(method));
  }
  KernelUse& use(const std::string& method) {
    for (auto& u : c_.kernels)
      if (u.kernel == method) return u;
    c_.kernels.push_back(KernelUse{});
    c_.kernels.back().kernel = method;
    return c_.kernels.back();
  }
  void elementwise(const std::string& method, uint64_t n, uint64_t mem_words, uint64_t link_words,
                   bool block64 = false) {
    const KernelSpec& k = spec(method);
    const uint64_t lanes = m_.lanes(kernel_of(method));
    const uint64_t limit = k.max_batch ? (block64 ? hls::block64_limit(k.max_batch) : k.max_batch) : 0;
    KernelUse& u = use(method);
    u.calls += 1;
    u.elements += n;
    u.call_elements.push_back(n);
    hls::for_each_launch(n, limit, [&](uint64_t, uint64_t len) {
      u.launches += 1;
      u.cycles += k.depth + ceil_div(len, lanes) * k.ii;
    });
    u.memory_bytes += 8.0 * static_cast<double>(mem_words);
    u.link_bytes += 8.0 * static_cast<double>(link_words);
  }
  const Model& m_;
  LayerCost& c_;
  const mpc::RingConfig& r_;
  uint64_t b_;

 public:
  uint64_t batch() const { return b_; }

  /// Calibrated seconds of a list of calls of the given sizes.
  static double cpu_seconds(const Timing& t, const std::vector<uint64_t>& sizes) {
    double s = 0;
    for (uint64_t n : sizes) s += t.seconds(static_cast<double>(n));
    return s;
  }

  /// Derived seconds, energy, resources; software time from the calibration.
  void finish() {
    const Board& bd = m_.board_;
    c_.device_cycles = 0;
    c_.launches = 0;
    double mem = 0, link = 0;
    std::set<std::string> specs;
    for (auto& u : c_.kernels) {
      c_.device_cycles += u.cycles;
      c_.launches += u.launches;
      mem += u.memory_bytes;
      link += u.link_bytes;
      specs.insert(kernel_of(u.kernel));
    }
    c_.device_compute_s = static_cast<double>(c_.device_cycles) / bd.clock_hz;
    c_.device_memory_s = mem / bd.memory_bytes_per_s;
    c_.device_s = std::max(c_.device_compute_s, c_.device_memory_s);
    c_.transfer_s = static_cast<double>(c_.launches) * bd.launch_overhead_s + link / bd.host_link_bytes_per_s;
    c_.network_s = c_.rounds == 0 && c_.bytes_p0 == 0 && c_.bytes_p1 == 0
                       ? 0.0
                       : static_cast<double>(c_.rounds) * m_.net_.rtt_s +
                             static_cast<double>(std::max(c_.bytes_p0, c_.bytes_p1)) / m_.net_.bandwidth_bytes_per_s;
    c_.latency_s = c_.device_s + c_.transfer_s + c_.network_s;
    // Offline (dealer): material over the dealer->party link (assumed = the preset's link),
    // DCF key generation at the board file's dealer AES rate.
    c_.offline_transfer_s = static_cast<double>(c_.offline_bytes) / m_.net_.bandwidth_bytes_per_s;
    c_.keygen_s = static_cast<double>(c_.keygen_aes_blocks) / bd.dealer_aes_blocks_per_s;
    c_.offline_s = c_.offline_transfer_s + c_.keygen_s;
    c_.total_s = c_.latency_s + c_.offline_s;
    // Both parties: board active while kernels run, idle (plus the working host) while
    // data moves over PCIe and the network.
    c_.energy_j = 2.0 * (bd.power_active_w * c_.device_s +
                         (bd.power_idle_w + bd.host_power_w) * (c_.transfer_s + c_.network_s));
    c_.resources = Resources{};
    for (const std::string& s : specs)
      c_.resources += m_.kernel_resources(s);
    // Software backend: calibrated kernels and host overheads; has_cpu only when every
    // piece is calibrated (and the protocol exists in software: not FSS yet).
    c_.has_cpu = false;
    c_.cpu_s = c_.cpu_kernel_s = c_.cpu_host_s = 0;
    if (!m_.cal_) return;
    bool ok = true;
    for (auto& u : c_.kernels) {
      auto it = m_.cal_->kernels.find(u.kernel);
      if (it == m_.cal_->kernels.end()) {
        // Not calibrated yet: the transforms' software time is in the layer's host
        // overhead ("matmul" units), as before they were a Backend call.
        if (u.kernel == "winograd_transform") continue;
        ok = false;
        continue;
      }
      c_.cpu_kernel_s += cpu_seconds(it->second, u.call_elements);
    }
    for (auto& h : c_.host) {
      auto it = m_.cal_->protocols.find(h.protocol);
      if (it == m_.cal_->protocols.end()) {
        ok = false;
        continue;
      }
      c_.cpu_host_s += cpu_seconds(it->second, h.call_units);
    }
    c_.cpu_s = c_.cpu_kernel_s + c_.cpu_host_s;
    c_.has_cpu = ok;
  }
};

struct Model::CountCache {
  std::mutex mu;
  std::map<std::string, mpc::Counted> by_key;
};

Model::Model(Board board, std::map<std::string, KernelSpec> kernels, NetworkPreset network, Options options,
             std::optional<Calibration> calibration)
    : counts_(std::make_shared<CountCache>()),
      board_(std::move(board)),
      kernels_(std::move(kernels)),
      net_(std::move(network)),
      opt_(std::move(options)),
      cal_(std::move(calibration)) {
  opt_.ring.validate();
  if (board_.dealer_aes_blocks_per_s <= 0) board_.dealer_aes_blocks_per_s = kDefaultDealerAesBlocksPerS;
  if (opt_.batch == 0) throw PerfModelError("batch must be >= 1");
  for (const char* need : {"beaver_mul_combine", "matmul_combine", "poly_eval", "trunc", "gmw_and_level", "b2a_combine",
                           "bit_slice", "dcf_eval", "winograd_transform"})
    if (!kernels_.count(need)) throw PerfModelError(std::string("the model needs a description of kernel '") + need + "'");
  for (auto& [name, l] : opt_.lanes) {
    if (!kernels_.count(name)) throw PerfModelError("lane override for unknown kernel '" + name + "'");
    if (l == 0) throw PerfModelError("lane override for '" + name + "' must be >= 1");
    if (name == "dcf_eval" && kernels_.at(name).implemented &&
        (l > 4096 || dcf_group_words(l) == 0))
      throw PerfModelError("AES cores of 'dcf_eval' must be a power of two up to 4096, got " + std::to_string(l));
    if ((name == "bit_slice" || name == "b2a_combine") && 64 % l != 0)
      throw PerfModelError("lanes of '" + name + "' must divide 64, got " + std::to_string(l));
    if (name == "matmul_combine" && kernels_.at(name).tile_n % l != 0)
      throw PerfModelError("lanes of 'matmul_combine' must divide its tile of " + std::to_string(kernels_.at(name).tile_n) +
                           " columns, got " + std::to_string(l));
  }
  for (auto& [name, rr] : opt_.rows) {
    if (name != "matmul_combine") throw PerfModelError("rows override for '" + name + "': only matmul_combine has rows");
    if (rr == 0) throw PerfModelError("rows of 'matmul_combine' must be >= 1");
  }
  if (opt_.protocol.trunc == mpc::TruncMode::Prob &&
      (opt_.protocol.trunc_bound_bits > opt_.ring.bits - 2 || opt_.protocol.trunc_bound_bits < opt_.ring.frac + opt_.coef()))
    opt_.protocol.trunc_bound_bits = std::min(opt_.ring.bits - 2, 2 * opt_.ring.frac + 12);
}

uint64_t Model::lanes(const std::string& name) const {
  auto it = opt_.lanes.find(name);
  return it != opt_.lanes.end() ? it->second : kernels_.at(name).lanes;
}

uint64_t Model::dcf_group_words() const { return dcf_group_words(lanes("dcf_eval")); }

uint64_t Model::dcf_group_words(uint64_t aes_cores) const {
  return kernels::dcf_group_words_for(static_cast<unsigned>(aes_cores),
                                      static_cast<unsigned>(kernels_.at("dcf_eval").group_words));
}

uint64_t Model::rows(const std::string& name) const {
  auto it = opt_.rows.find(name);
  return it != opt_.rows.end() ? it->second : kernels_.at(name).rows;
}

Resources Model::kernel_resources(const std::string& name) const {
  return kernels_.at(name).resources(lanes(name), rows(name));
}

Model Model::with_kernels(std::map<std::string, uint64_t> lanes, std::map<std::string, uint64_t> rows) const {
  Options o = opt_;
  o.lanes = std::move(lanes);
  o.rows = std::move(rows);
  Model m(board_, kernels_, net_, std::move(o), cal_);
  m.counts_ = counts_;
  return m;
}

Choice Model::default_choice(const LayerShape& L) const {
  switch (L.kind) {
    case LayerKind::Conv:
    case LayerKind::Linear:
      return Choice::Matmul;
    case LayerKind::Relu:
    case LayerKind::BlockRelu:
      return opt_.protocol.compare == mpc::CompareMode::Gmw ? Choice::ReluGmw : Choice::ReluFss;
    case LayerKind::Poly:
      return Choice::Poly;
    case LayerKind::MaxPool:
      return Choice::MaxPool;
    case LayerKind::AvgPool:
    case LayerKind::GlobalAvgPool:
      return Choice::AvgPool;
    case LayerKind::Flatten:
    case LayerKind::Add:
      return Choice::Free;
  }
  return Choice::Free;
}

LayerCost Model::layer_cost(const LayerShape& L) const { return layer_cost(L, default_choice(L)); }

namespace {
/// The input truncation nn::plan_scales gives layer i of `nodes` when it is realised with
/// `choice` (the executor's placement; nothing here restates its rules).
int planned_shift(std::vector<nn::ScaleNode> nodes, size_t i, Choice choice, const Options& o) {
  switch (choice) {
    case Choice::ReluGmw:
    case Choice::ReluFss:
      if (nodes[i].op != nn::OpKind::BlockRelu) nodes[i].op = nn::OpKind::Relu;
      break;
    case Choice::Poly: nodes[i].op = nn::OpKind::Poly; break;
    case Choice::Identity: nodes[i].op = nn::OpKind::Flatten; break;
    case Choice::MaxPool: nodes[i].op = nn::OpKind::MaxPool; break;
    case Choice::AvgPool:
      if (nodes[i].op != nn::OpKind::GlobalAvgPool) nodes[i].op = nn::OpKind::AvgPool;
      break;
    default: break;
  }
  for (nn::ScaleNode& n : nodes) n.ring_bits = 0;  // the shift does not depend on the rings
  return nn::plan_scales(nodes, o.ring, o.protocol, o.coef()).in_shift[i];
}
}  // namespace

int Model::standalone_shift(const LayerShape& L, Choice choice) const {
  // The layer after a conv whose output (scale 2f) is its input (and residual input).
  NetShape two;
  LayerShape producer;
  producer.name = "producer";
  producer.kind = LayerKind::Conv;
  producer.in_shape = producer.out_shape = L.in_shape;
  LayerShape layer = L;
  layer.inputs = L.kind == LayerKind::Add ? std::vector<int>{0, 0} : std::vector<int>{0};
  two.layers = {producer, layer};
  return planned_shift(scale_nodes(two), 1, choice, opt_);
}

LayerCost Model::layer_cost(const LayerShape& L, Choice choice) const {
  return layer_cost(L, choice, standalone_shift(L, choice));
}

namespace {
/// Runs `f` (setup on the CountingSession, start(), then protocol calls) for party 0 and
/// party 1 in mpc's counting context and adds what each did to the layer.
template <class F>
void count_both(LayerBuilder& b, const mpc::RingConfig& r, const mpc::ProtocolOptions& o, F&& f) {
  mpc::Counted c[2];
  for (int p : {0, 1}) {
    mpc::CountingSession cs(r, o, p);
    f(cs);
    c[p] = cs.result();
  }
  b.add(c[0], c[1]);
}

/// Per-model coefficient masks of a polynomial layer (setup, not counted).
void poly_setup(mpc::CountingSession& cs, const std::string& tag, size_t channels) {
  mpc::MaterialStore other(1 - cs.session().party);
  mpc::deal_poly_setup(cs.setup_dealer(), channels, tag, cs.material(), other);
}
/// P0's coefficients (zeros) and the opened masks of a polynomial layer.
mpc::PolyCoeffs zero_coeffs(int party, size_t channels, int coef_frac) {
  mpc::PolyCoeffs c;
  if (party == 0) c.a2 = c.a1 = c.a0 = mpc::Words(channels, 0);
  c.coef_frac = coef_frac;
  return c;
}
mpc::PolySetup zero_setup(size_t channels) { return mpc::PolySetup{mpc::Words(channels, 0), mpc::Words(channels, 0)}; }
}  // namespace

LayerCost Model::layer_cost(const LayerShape& L, Choice choice, int in_shift) const {
  return layer_cost(L, choice, in_shift, LayerRings{});
}

LayerCost Model::layer_cost(const LayerShape& L, Choice choice, int in_shift, const LayerRings& rings) const {
  LayerCost c;
  c.name = L.name;
  c.op = kind_name(L.kind);
  c.choice = choice;
  c.elements = u64(L.out_elements());
  LayerBuilder b(*this, c);
  const uint64_t B = opt_.batch;
  auto width = [&](int bits, const char* what) {
    const int l = bits == 0 ? opt_.ring.bits : bits;
    if (l < 8 || l > 64)
      throw PerfModelError("layer '" + L.name + "': " + what + " ring of " + std::to_string(l) + " bits (needs 8..64)");
    return l;
  };
  // The scale enters only the polynomial gate (the truncation inside TruncMode::Prob's);
  // other layers are counted at f = 0, valid in a ring narrower than 2f + 1 bits.
  const int frac = choice == Choice::Poly ? (rings.frac != 0 ? rings.frac : opt_.ring.frac) : 0;
  const mpc::RingConfig r{width(rings.bits, "its"), frac};
  const int from = width(rings.from_bits, "its input's"), residual_from = width(rings.residual_from_bits, "its residual's");
  c.ring_bits = r.bits;
  auto bad = [&](const char* allowed) {
    return PerfModelError("layer '" + L.name + "' (" + kind_name(L.kind) + ") cannot be realised as '" + choice_name(choice) +
                          "' (choose " + allowed + ")");
  };
  const size_t n_in = B * u64(L.in_elements()), n = B * u64(L.out_elements());
  const bool fused = choice == Choice::Poly && nn::fuses_trunc_poly(opt_.protocol, in_shift);
  const bool truncate = in_shift > 0 && !fused && n_in > 0;
  mpc::ProtocolOptions o = opt_.protocol;
  o.trunc_bound_bits = std::min(o.trunc_bound_bits, r.bits - 2);  // the slack bound of a narrower ring
  // Into the layer's ring: sign extension widens, a local reduction narrows. A truncation
  // before a narrower ring happens first: truncate-reduce when it lands at or above l (then
  // the local reduction), else the truncation in the input's ring.
  const nn::RingEntry entry = nn::ring_entry(from, r.bits, in_shift, truncate);
  const bool trunc_reduce = entry.trunc_reduce, trunc_in_from = entry.trunc_in_from;
  std::vector<std::string> conv;
  if (trunc_reduce)
    conv.push_back("truncate-reduce " + std::to_string(from) + "->" + std::to_string(from - in_shift));
  if (trunc_in_from) conv.push_back("truncate in l=" + std::to_string(from));
  const int arrived = entry.arrived;
  if (arrived > r.bits) conv.push_back("reduce " + std::to_string(arrived) + "->" + std::to_string(r.bits));
  if (arrived < r.bits) conv.push_back("sign-extend " + std::to_string(arrived) + "->" + std::to_string(r.bits));
  if (L.kind == LayerKind::Add && residual_from != r.bits)
    conv.push_back(std::string(residual_from < r.bits ? "sign-extend " : "reduce ") + std::to_string(residual_from) + "->" +
                   std::to_string(r.bits) + " (residual)");
  for (const std::string& x : conv) c.conversion += (c.conversion.empty() ? "" : ", ") + x;
  if (choice == Choice::ReluGmw) o.compare = mpc::CompareMode::Gmw;
  if (choice == Choice::ReluFss) o.compare = mpc::CompareMode::Fss;
  // The layer's protocols as forward.h (nn/src) calls them, after the truncation the plan
  // puts before the layer (its tag "<layer>/trunc").
  std::function<void(mpc::CountingSession&)> setup = [](mpc::CountingSession&) {};
  std::function<void(mpc::Session&)> protocols = [](mpc::Session&) {};
  switch (L.kind) {
    case LayerKind::Conv:
    case LayerKind::Linear: {
      if (choice != Choice::Matmul) throw bad("matmul");
      if (L.in_shape.empty() || L.out_shape.empty()) throw PerfModelError("layer '" + L.name + "' has no shape");
      uint64_t m, k, cols, groups = 1;
      if (L.kind == LayerKind::Conv) {
        if (L.in_shape.size() != 3 || L.out_shape.size() != 3) throw PerfModelError("conv layer '" + L.name + "' needs [C, H, W] shapes");
        groups = static_cast<uint64_t>(std::max(1, L.groups));
        if (u64(L.in_shape[0]) % groups || u64(L.out_shape[0]) % groups)
          throw PerfModelError("conv layer '" + L.name + "': channels are not a multiple of groups=" + std::to_string(groups));
        m = u64(L.out_shape[0]) / groups;
        k = u64(L.in_shape[0]) / groups * static_cast<uint64_t>(L.kernel_h) * static_cast<uint64_t>(L.kernel_w);
        cols = B * u64(L.out_shape[1] * L.out_shape[2]);
      } else {
        m = u64(L.out_elements());
        k = u64(L.in_elements());
        cols = B;
      }
      // A grouped convolution (no 2PC executor yet) is priced as one product of a group's
      // weight shape by the lowered columns of all groups: the same input opening, MACs
      // and material as `groups` products after one opening (model.h).
      const uint64_t all_cols = cols * groups;
      if (L.kind == LayerKind::Conv && L.winograd != 0) {
        // Winograd F(m×m, 3×3) (docs/winograd.md): α² products (M × C) · (C × N·T) through
        // matmul_combine after the same opening of the input; the input transform (of F and
        // of the share of B) and the output transform run on the winograd_transform kernel
        // (kernels/winograd_transform.h), as nn/src/secure.cpp calls them.
        if (L.kernel_h != 3 || L.kernel_w != 3 || L.stride_h != 1 || L.stride_w != 1 || groups != 1)
          throw PerfModelError("conv layer '" + L.name + "': Winograd needs a 3x3 stride-1 ungrouped convolution");
        const nn::WinogradForm F = nn::winograd_form(L.winograd);
        const uint64_t P = static_cast<uint64_t>(F.alpha * F.alpha), tm = static_cast<uint64_t>(F.m);
        const uint64_t wm = u64(L.out_shape[0]), wk = u64(L.in_shape[0]);
        const uint64_t wcols = B * ((u64(L.out_shape[1]) + tm - 1) / tm) * ((u64(L.out_shape[2]) + tm - 1) / tm);
        setup = [&, P, wm, wk](mpc::CountingSession& cs) {
          mpc::MaterialStore other(1 - cs.session().party);
          mpc::deal_matmul_setup(cs.setup_dealer(), P * wm, wk, L.name, cs.material(), other);
        };
        mpc::WinogradShape ws;
        ws.m = F.m;
        ws.batch = B;
        ws.channels = wk;
        ws.h = u64(L.in_shape[1]);
        ws.w = u64(L.in_shape[2]);
        ws.ho = u64(L.out_shape[1]);
        ws.wo = u64(L.out_shape[2]);
        // (padding: not in LayerShape, and the cycle model depends on ho × wo only)
        protocols = [&, P, wm, wk, wcols, ws](mpc::Session& s) {
          const mpc::Lowering lower = [&s, P, wk, wcols, ws](const mpc::Words& v) {
            mpc::Words out(P * wk * wcols, 0);
            s.backend.winograd_transform(s.ring.bits, mpc::WinogradMode::Input, ws, v.data(), out.data());
            return out;
          };
          const mpc::Words z =
              mpc::matmul_batched(s, mpc::Words(n_in), mpc::Words(P * wm * wk), P, wm, wk, wcols, lower, L.name);
          mpc::WinogradShape os = ws;
          os.channels = wm;
          mpc::Words y(mpc::winograd_out_words(mpc::WinogradMode::Output, os));
          s.backend.winograd_transform(s.ring.bits, mpc::WinogradMode::Output, os, z.data(), y.data());
        };
        b.host("matmul", n_in + 2 * P * wk * wcols + 2 * P * wm * wcols);
        break;
      }
      setup = [&, m, k](mpc::CountingSession& cs) {
        mpc::MaterialStore other(1 - cs.session().party);
        mpc::deal_matmul_setup(cs.setup_dealer(), m, k, L.name, cs.material(), other);
      };
      protocols = [&, m, k, all_cols](mpc::Session& s) {
        const mpc::Lowering lower = [k, all_cols](const mpc::Words&) { return mpc::Words(k * all_cols, 0); };
        mpc::matmul(s, mpc::Words(n_in), mpc::Words(m * k), m, k, all_cols, lower, L.name);
      };
      b.host("matmul", n_in + 2 * k * all_cols + 2 * m * all_cols);
      break;
    }
    case LayerKind::Relu:
    case LayerKind::Poly: {
      mpc::PolyShape sh;
      sh.outer = B;
      sh.channels = u64(L.out_shape.empty() ? 1 : L.out_shape[0]);
      sh.inner = u64(L.out_elements()) / std::max<uint64_t>(1, sh.channels);
      if (choice == Choice::ReluGmw || choice == Choice::ReluFss) {
        protocols = [&](mpc::Session& s) { mpc::relu(s, mpc::Words(n), L.name); };
        b.host(choice == Choice::ReluGmw ? "relu" : "relu_fss", n);
        c.drelus = n;
      } else if (choice == Choice::Poly) {
        const int fc = opt_.coef();
        setup = [&, sh](mpc::CountingSession& cs) { poly_setup(cs, L.name, sh.channels); };
        protocols = [&, sh, fc](mpc::Session& s) {
          const mpc::PolyCoeffs co = zero_coeffs(s.party, sh.channels, fc);
          if (fused)
            mpc::trunc_poly(s, mpc::Words(n), in_shift, sh, co, zero_setup(sh.channels), L.name);
          else
            mpc::poly(s, mpc::Words(n), sh, co, zero_setup(sh.channels), L.name);
        };
        if (fused) b.host("trunc_fss", n);
        b.host("poly", n);
        if (o.trunc == mpc::TruncMode::Prob)  // the Horner steps' truncations (host part)
          for (int t = 0; t < 2; ++t) b.host("trunc_prob", n);
      } else if (choice != Choice::Identity) {
        throw bad("relu-gmw, relu-fss, poly or identity");
      }
      break;
    }
    case LayerKind::MaxPool:
    case LayerKind::AvgPool:
    case LayerKind::GlobalAvgPool: {
      const int64_t k = static_cast<int64_t>(L.kernel_h) * L.kernel_w;
      if (choice == Choice::MaxPool && L.kind != LayerKind::GlobalAvgPool) {
        const std::vector<nn::MaxLevel> tree = nn::max_tree(L.name, k);
        protocols = [&, tree](mpc::Session& s) {
          for (const nn::MaxLevel& lv : tree) mpc::max(s, mpc::Words(lv.pairs * n), mpc::Words(lv.pairs * n), lv.tag);
        };
        for (const nn::MaxLevel& lv : tree) {
          b.host(o.compare == mpc::CompareMode::Gmw ? "relu" : "relu_fss", lv.pairs * n);
          c.drelus += lv.pairs * n;
        }
      } else if (choice != Choice::AvgPool) {
        // AvgPool: a local sum (forward.h `average`); its division joins the next truncation.
        throw bad(L.kind == LayerKind::GlobalAvgPool ? "avgpool" : "maxpool or avgpool");
      }
      break;
    }
    case LayerKind::BlockRelu: {
      if (choice == Choice::ReluGmw || choice == Choice::ReluFss) {
        // The executor's patch map (nn::block_map) over the batch: one DReLU per patch, the
        // multiplexer over the rectangle elements.
        nn::Layer block;
        block.name = L.name;
        block.op = nn::OpKind::BlockRelu;
        block.block_patches = L.block_patches;
        auto map = std::make_shared<const mpc::BlockMap>(nn::block_map(block, L.in_shape, B));
        protocols = [&, map](mpc::Session& s) { mpc::block_relu(s, mpc::Words(n), *map, L.name); };
        b.host(choice == Choice::ReluGmw ? "relu" : "relu_fss", map->patches);
        c.drelus = map->patches;
      } else if (choice != Choice::Identity) {
        throw bad("relu-gmw, relu-fss or identity");
      }
      break;
    }
    case LayerKind::Flatten:
    case LayerKind::Add:
      if (choice != Choice::Free) throw bad("free");
      break;
  }
  if (truncate && !trunc_reduce) b.host(std::string("trunc_") + mpc::trunc_mode_name(o.trunc), n_in);  // (either ring)
  if (trunc_reduce) b.host("trunc_reduce", n_in);  // not calibrated yet: no cpu time for the layer
  if (arrived < r.bits) b.host("sign_extend", n_in);
  if (L.kind == LayerKind::Add && residual_from < r.bits) b.host("sign_extend", n);
  // Party 0 in the counting context; party 1 runs the same layer protocols, which are
  // symmetric (every protocol test checks both parties' wire against the counted cost).
  // Layers of equal shape, choice, form (direct / Winograd) and comparison bits count once
  // per Model.
  std::ostringstream key;
  key << static_cast<int>(L.kind) << '|' << choice_name(choice) << '|' << in_shift << '|' << n_in << '|' << n << '|'
      << L.kernel_h << 'x' << L.kernel_w << '|' << L.groups << "|w" << L.winograd << '|' << mpc::trunc_mode_name(o.trunc) << '|'
      << mpc::compare_mode_name(o.compare) << '|' << o.trunc_bound_bits << '|' << r.bits << '.' << r.frac << '|'
      << opt_.coef() << '|' << mpc::compare_bits_name(o.compare_range(L.name, r.bits)) << "|from" << from << '.'
      << residual_from;
  for (int64_t d : L.in_shape) key << ',' << d;
  key << '|';
  for (int64_t d : L.out_shape) key << ',' << d;
  for (const nn::BlockPatch& bp : L.block_patches) key << ';' << nn::block_patch_name(bp);
  for (const nn::MaxLevel& lv : nn::max_tree(L.name, static_cast<int64_t>(L.kernel_h) * L.kernel_w))
    key << '|' << mpc::compare_bits_name(o.compare_range(lv.tag, r.bits));
  mpc::Counted p0;
  bool cached = false;
  {
    std::lock_guard<std::mutex> lock(counts_->mu);
    auto it = counts_->by_key.find(key.str());
    if (it != counts_->by_key.end()) {
      p0 = it->second;
      cached = true;
    }
  }
  if (!cached) {
    mpc::CountingSession cs(r, o, 0);
    setup(cs);
    cs.start();
    mpc::Session& s = cs.session();
    const std::string ring_tag = L.name + "/ring";
    if (trunc_reduce) mpc::trunc_reduce(s, mpc::Words(n_in), from, in_shift, ring_tag);
    if (trunc_in_from) {  // the input's ring: the same channel, backend and material
      mpc::ProtocolOptions of = o;
      of.trunc_bound_bits = std::min(opt_.protocol.trunc_bound_bits, from - 2);
      mpc::Session sf{s.party, mpc::RingConfig{from, r.frac}, s.channel, s.backend, s.material, of};
      mpc::trunc(sf, mpc::Words(n_in), in_shift, L.name + "/trunc");
    }
    if (arrived < r.bits) mpc::sign_extend(s, mpc::Words(n_in), arrived, r.bits, ring_tag);
    if (L.kind == LayerKind::Add && residual_from < r.bits)
      mpc::sign_extend(s, mpc::Words(n), residual_from, r.bits, ring_tag + "/residual");
    if (truncate && !trunc_reduce && !trunc_in_from) mpc::trunc(s, mpc::Words(n_in), in_shift, L.name + "/trunc");
    protocols(s);
    p0 = cs.result();
    std::lock_guard<std::mutex> lock(counts_->mu);
    counts_->by_key.emplace(key.str(), p0);
  }
  b.add(p0, p0);
  b.finish();
  return c;
}

LayerCost Model::activation_cost(int64_t channels, int64_t spatial, Choice choice) const {
  if (channels < 1 || spatial < 1) throw PerfModelError("activation shape must have channels >= 1 and spatial >= 1");
  LayerShape L;
  L.name = "activation";
  L.kind = LayerKind::Relu;
  L.in_shape = spatial == 1 ? std::vector<int64_t>{channels} : std::vector<int64_t>{channels, spatial, 1};
  L.out_shape = L.in_shape;
  return layer_cost(L, choice);
}

LayerCost Model::protocol_cost(const ProtocolCall& p) const {
  LayerCost c;
  c.name = p.protocol;
  c.op = "Protocol";
  c.elements = p.n;
  LayerBuilder b(*this, c);
  const mpc::RingConfig& r = opt_.ring;
  const mpc::ProtocolOptions& o = opt_.protocol;
  if (p.protocol == "trunc") {
    if (p.shift > 0 && p.n > 0) {
      count_both(b, r, o, [&](mpc::CountingSession& cs) { mpc::trunc(cs.session(), mpc::Words(p.n), p.shift, "trunc"); });
      b.host(std::string("trunc_") + mpc::trunc_mode_name(o.trunc), p.n);
    }
  } else if (p.protocol == "relu") {
    c.choice = o.compare == mpc::CompareMode::Gmw ? Choice::ReluGmw : Choice::ReluFss;
    count_both(b, r, o, [&](mpc::CountingSession& cs) { mpc::relu(cs.session(), mpc::Words(p.n), "relu"); });
    b.host(o.compare == mpc::CompareMode::Gmw ? "relu" : "relu_fss", p.n);
  } else if (p.protocol == "poly") {
    mpc::PolyShape sh;
    sh.outer = p.outer;
    sh.channels = p.channels;
    sh.inner = p.inner;
    c.elements = sh.size();
    c.choice = Choice::Poly;
    const int fc = opt_.coef();
    count_both(b, r, o, [&](mpc::CountingSession& cs) {
      poly_setup(cs, "poly", sh.channels);
      cs.start();
      mpc::poly(cs.session(), mpc::Words(sh.size()), sh, zero_coeffs(cs.session().party, sh.channels, fc),
                zero_setup(sh.channels), "poly");
    });
    b.host("poly", sh.size());
    if (o.trunc == mpc::TruncMode::Prob)
      for (int t = 0; t < 2; ++t) b.host("trunc_prob", sh.size());
  } else if (p.protocol == "open") {
    count_both(b, r, o, [&](mpc::CountingSession& cs) { mpc::open_arith(cs.session(), mpc::Words(p.n)); });
    b.host("open", p.n);
  } else if (p.protocol == "matmul") {
    c.choice = Choice::Matmul;
    count_both(b, r, o, [&](mpc::CountingSession& cs) {
      mpc::MaterialStore other(1 - cs.session().party);
      mpc::deal_matmul_setup(cs.setup_dealer(), p.m, p.k, "matmul", cs.material(), other);
      cs.start();
      const mpc::Lowering lower = [&](const mpc::Words&) { return mpc::Words(p.k * p.cols, 0); };
      mpc::matmul(cs.session(), mpc::Words(p.in_size), mpc::Words(p.m * p.k), p.m, p.k, p.cols, lower, "matmul");
    });
    b.host("matmul", p.in_size + 2 * p.k * p.cols + 2 * p.m * p.cols);
  } else {
    throw PerfModelError("unknown protocol '" + p.protocol + "' (trunc, relu, poly, open, matmul)");
  }
  b.finish();
  return c;
}

LayerCost Model::input_cost(int64_t elements_per_image, int bits) const {
  LayerCost c;
  c.name = "input";
  c.op = "Input";
  c.choice = Choice::Input;
  c.elements = u64(elements_per_image);
  c.ring_bits = bits == 0 ? opt_.ring.bits : bits;
  LayerBuilder b(*this, c);
  const size_t n = opt_.batch * u64(elements_per_image);
  // The scale does not enter the sharing (f = 0: a ring narrower than 2f + 1 bits is valid).
  count_both(b, mpc::RingConfig{c.ring_bits, 0}, opt_.protocol, [&](mpc::CountingSession& cs) {
    mpc::Prg prg(mpc::random_seed());
    nn::share_input(cs.session(), cs.session().party == 1 ? mpc::Words(n) : mpc::Words(), n, prg);
  });
  b.host("open", n);
  b.finish();
  return c;
}

LayerCost Model::output_cost(int64_t classes, int bits) const {
  LayerCost c;
  c.name = "output";
  c.op = "Output";
  c.choice = Choice::Output;
  c.elements = u64(classes);
  c.ring_bits = bits == 0 ? opt_.ring.bits : bits;
  LayerBuilder b(*this, c);
  const size_t n = opt_.batch * u64(classes);
  count_both(b, mpc::RingConfig{c.ring_bits, 0}, opt_.protocol,  // nor the reveal
             [&](mpc::CountingSession& cs) { mpc::reveal_to(cs.session(), mpc::Words(n), 1); });
  b.host("open", n);
  b.finish();
  return c;
}

namespace {
void accumulate(LayerCost& t, const LayerCost& c) {
  t.bytes_p0 += c.bytes_p0;
  t.bytes_p1 += c.bytes_p1;
  t.rounds += c.rounds;
  t.drelus += c.drelus;
  t.network_s += c.network_s;
  t.device_cycles += c.device_cycles;
  t.device_compute_s += c.device_compute_s;
  t.device_memory_s += c.device_memory_s;
  t.device_s += c.device_s;
  t.transfer_s += c.transfer_s;
  t.launches += c.launches;
  t.latency_s += c.latency_s;
  t.energy_j += c.energy_j;
  t.offline_bytes += c.offline_bytes;
  t.keygen_aes_blocks += c.keygen_aes_blocks;
  t.offline_transfer_s += c.offline_transfer_s;
  t.keygen_s += c.keygen_s;
  t.offline_s += c.offline_s;
  t.total_s += c.total_s;
  t.has_cpu = t.has_cpu && c.has_cpu;
  t.cpu_s += c.cpu_s;
  t.cpu_kernel_s += c.cpu_kernel_s;
  t.cpu_host_s += c.cpu_host_s;
  for (auto& h : c.host) {
    auto it = std::find_if(t.host.begin(), t.host.end(), [&](const HostUse& x) { return x.protocol == h.protocol; });
    if (it == t.host.end()) {
      t.host.push_back(h);
    } else {
      it->calls += h.calls;
      it->units += h.units;
      it->call_units.insert(it->call_units.end(), h.call_units.begin(), h.call_units.end());
    }
  }
  for (auto& u : c.kernels) {
    auto it = std::find_if(t.kernels.begin(), t.kernels.end(), [&](const KernelUse& x) { return x.kernel == u.kernel; });
    if (it == t.kernels.end()) {
      t.kernels.push_back(u);
      continue;
    }
    it->calls += u.calls;
    it->launches += u.launches;
    it->elements += u.elements;
    it->cycles += u.cycles;
    it->link_bytes += u.link_bytes;
    it->memory_bytes += u.memory_bytes;
    it->call_elements.insert(it->call_elements.end(), u.call_elements.begin(), u.call_elements.end());
  }
}
}  // namespace

NetworkReport Model::report(const NetShape& net, bool sites) const {
  NetworkReport r;
  r.network = net.name;
  r.board = board_.name;
  r.preset = net_.name;
  r.compare = mpc::compare_mode_name(opt_.protocol.compare);
  r.compare_bits = mpc::compare_bits_summary(opt_.protocol);
  r.trunc = mpc::trunc_mode_name(opt_.protocol.trunc);
  r.ring_bits = opt_.ring.bits;
  r.frac_bits = opt_.ring.frac;
  r.batch = opt_.batch;
  r.total.name = "total";
  r.total.op = "";
  r.total.has_cpu = cal_.has_value();
  // The truncation placement the executor runs (nn/placement.h), and per site the one it
  // would run with that site realised otherwise.
  // Per-layer rings (nn/placement.h): the model's widths, Options::layer_bits over them.
  std::vector<nn::ScaleNode> nodes = scale_nodes(net);
  {
    std::set<std::string> names;
    for (const LayerShape& L : net.layers) names.insert(L.name);
    for (const auto& kv : opt_.layer_bits)
      if (!names.count(kv.first)) throw PerfModelError("per-layer ring width for '" + kv.first + "': no such layer in " + net.name);
    for (nn::ScaleNode& n : nodes) {
      auto it = opt_.layer_bits.find(n.name);
      if (it != opt_.layer_bits.end()) n.ring_bits = it->second;
    }
  }
  nn::ScalePlan plan;
  try {
    plan = nn::plan_scales(nodes, opt_.ring, opt_.protocol, opt_.coef());
  } catch (const nn::RingError& e) {
    throw PerfModelError(e.what());
  }
  const std::vector<int>& bits = plan.bits;
  const int input_bits = plan.input_bits;
  auto producer = [&](size_t i, size_t k) {
    const std::vector<int>& in = net.layers[i].inputs;
    if (k < in.size()) return in[k];
    return k == 0 ? static_cast<int>(i) - 1 : -2;  // no inputs listed: the previous layer
  };
  for (size_t i = 0; i < net.layers.size(); ++i) {
    const LayerShape& L = net.layers[i];
    LayerRings rings;
    rings.bits = bits[i];
    rings.frac = plan.fracs[i];
    rings.from_bits = plan.bits_of(producer(i, 0));
    const int res = producer(i, 1);
    rings.residual_from_bits = res == -2 ? bits[i] : plan.bits_of(res);
    r.layers.push_back(layer_cost(L, default_choice(L), plan.in_shift[i], rings));
    if (sites && (L.is_activation_site() || L.is_pool_site())) {
      SiteCosts s;
      s.name = L.name;
      s.kind = L.is_activation_site() ? "activation" : "pool";
      s.current = r.layers.back().choice;
      const std::vector<Choice> cs = L.is_activation_site()
                                         ? std::vector<Choice>{Choice::ReluGmw, Choice::ReluFss, Choice::Poly, Choice::Identity}
                                         : std::vector<Choice>{Choice::MaxPool, Choice::AvgPool};
      for (Choice c : cs) s.choices.push_back(layer_cost(L, c, planned_shift(nodes, i, c, opt_), rings));
      r.sites.push_back(std::move(s));
    }
  }
  r.layers.push_back(input_cost(net.input_elements(), input_bits));
  r.layers.push_back(output_cost(net.classes(), net.layers.empty() ? 0 : bits.back()));
  std::set<std::string> specs;
  for (const LayerCost& c : r.layers) {
    accumulate(r.total, c);
    for (auto& u : c.kernels) {
      specs.insert(kernel_of(u.kernel));
    }
  }
  for (const std::string& s : specs) r.resources += kernel_resources(s);
  r.total.resources = r.resources;
  r.assumptions = assumptions();
  return r;
}

std::vector<std::string> Model::assumptions() const {
  std::vector<std::string> a = {
      "Bytes, rounds, dealer material and Backend calls are exact: each layer's protocols run in mpc's counting "
      "context (mpc/counting.h; checked against real runs by the tests), with the truncations where nn::plan_scales "
      "places them (a layer's row includes the truncation of its input; a site's row in the choice table is priced "
      "with the placement that choice would get; a layer priced alone assumes its input at scale 2f). A grouped "
      "convolution is priced as one product of a group's weight shape by all groups' lowered columns.",
      "ReLU-FSS is mpc's FSS gate (Boyle et al. EUROCRYPT'21): open x + r_in (1 round, ceil(l/8) bytes per element), "
      "a DCF of depth hi-lo-1 evaluated locally (dcf_eval kernel, one AES block per level), one more round of 1 bit per "
      "element; dealer keys are staged in device memory.",
      "Layers run one after another (critical path = sum of layers); within a layer device time, host<->device transfer "
      "and network time add up with no overlap (polympc schedule models tiling and overlap).",
      "Both parties run the same board in parallel; per-party device time is on the critical path once; energy counts "
      "both parties.",
      "Device time = max(kernel cycles / clock, device memory traffic / memory bandwidth); kernel cycles follow each "
      "kernel header's model depth + ceil(n / lanes) * II (matmul: its rows x lanes array, "
      "kernels::matmul_array_cycles; Winograd transforms: kernels::winograd_transform_cycles at the configured "
      "lanes).",
      "Each Backend call is one launch (split at max_batch) that moves its online inputs and its output over the host "
      "link; dealer material is staged in device memory in the offline phase.",
      "Network time = rounds * RTT + max(bytes P0, bytes P1) / bandwidth (full duplex).",
      "Energy (modelled) = per party: board active power * device time + (board idle + host power) * (transfer + "
      "network time).",
      "Resources = fixed + rows * (per-row + lanes * per-lane) figures of the kernels a layer uses, at the configured "
      "lanes and rows (estimates until csynth reports exist).",
      "Offline bytes are exact: the dealer material per party that mpc's deal_* functions push (8 bytes per word; "
      "per-model setup masks excluded). Key-generation work is exact in AES blocks (dcf_gen: 4 per DCF level per key "
      "pair); the dealer's other PRG output is not counted.",
      "Offline time (modelled) = material bytes per party / the preset's bandwidth (the dealer->party link is assumed "
      "to be the same link as the parties', both parties served in parallel) + AES blocks / " +
          std::to_string(static_cast<long long>(board_.dealer_aes_blocks_per_s)) +
          " blocks/s (dealer.aes_blocks_per_s: " +
          (board_.sources.count("dealer.aes_blocks_per_s") ? board_.sources.at("dealer.aes_blocks_per_s")
                                                             : std::string("set in code")) +
          "), one dealer core, no overlap; total = online + offline.",
  };
  if (cal_)
    a.push_back("Software time (cpu backend) is predicted from the calibration file " + cal_->file +
                ": per kernel call and element, plus per-protocol host overhead, as measured on that machine.");
  return a;
}

}  // namespace polympc::perfmodel
