// The performance model (docs/design.md §9; issue #4): latency, communication, energy and
// resources of each layer under each protocol choice, and of whole networks.
//
// What is exact and what is modelled:
//  * bytes and rounds are EXACT: each layer's protocols run in mpc's counting context
//    (mpc/counting.h: a channel, backend and material store that compute nothing and count
//    everything), with the truncations nn::plan_scales places, for GMW and FSS comparison
//    (Boyle et al. EUROCRYPT'21) and the reduced-bit comparison ranges of
//    mpc::ProtocolOptions. Nothing here restates a protocol's messages.
//  * device cycles follow the kernels' own cycle models (kernels/*.h:
//    depth + ceil(n / lanes) * II, ...), for each Backend call the counted protocols made;
//    for the implemented kernels they equal SimBackend's modelled_cycles (tested).
//  * seconds, joules and resources are MODELLED from the board, kernel and network files;
//    software (cpu backend) seconds are predicted from a calibration file measured on this
//    machine. Nothing here is a measurement.
// Assumptions (also listed by Model::assumptions()): the two parties run the same board
// in parallel; layers run one after another (the scheduler refines this with tiling and
// overlap); within a layer device, host<->device transfer and network time add up; each
// Backend call moves its online (non-dealer) inputs and its output over the host link;
// dealer material sits in device memory before the online phase; one protocol round costs
// one RTT; bytes go over a full-duplex link at the preset bandwidth.
//
// Phases (docs/design.md §9): every LayerCost has an online part (the fields above:
// communication between the parties, device, transfer), an offline part (the dealer's
// material per party, exact (counted), and its DCF key generation in AES blocks,
// exact; their seconds are MODELLED: material over a dealer->party link assumed equal to the
// network preset's link, AES blocks at the board file's dealer.aes_blocks_per_s) and their
// total. The per-model setup (weight and coefficient masks, opened once) is in neither.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "polympc/mpc/protocols.h"
#include "polympc/nn/quantize.h"
#include "polympc/perfmodel/description.h"
#include "polympc/perfmodel/shape.h"

namespace polympc::perfmodel {

/// How a layer is realised. Activation sites choose among ReluGmw, ReluFss, Poly,
/// Identity; pool sites between MaxPool and AvgPool (max pooling compares with
/// Options::protocol.compare); Conv/Linear are Matmul; Flatten/Add are Free.
enum class Choice { ReluGmw, ReluFss, Poly, Identity, MaxPool, AvgPool, Matmul, Free, Input, Output };

/// Which part of a cost a query asks for: the online phase (the parties talk), the offline
/// phase (the dealer produces and ships material), or both added (Total).
enum class Phase { Online, Offline, Total };
/// "online", "offline", "total".
const char* phase_name(Phase p);
/// Inverse of phase_name. Throws PerfModelError naming the choices.
Phase parse_phase(const std::string& s);
/// "relu-gmw", "relu-fss", "poly", "identity", "maxpool", "avgpool", "matmul", "free",
/// "input", "output".
const char* choice_name(Choice c);
/// Inverse of choice_name (also accepts "relu" = the model's compare protocol).
/// Throws PerfModelError on an unknown name.
Choice parse_choice(const std::string& s, Choice relu_default);

struct Options {
  mpc::RingConfig ring{};             ///< l = 64, f = 12
  /// Truncation mode (exact by default), comparison protocol (GMW by default) and the
  /// bits each comparison looks at (whole ring by default; per layer by name), as the
  /// runtime takes them.
  mpc::ProtocolOptions protocol{};
  int coef_frac = -1;                                ///< polynomial coefficient scale; -1 = f + 8
  size_t batch = 1;                                  ///< images per inference (share rounds)
  std::map<std::string, uint64_t> lanes;             ///< per-kernel lane overrides
  std::map<std::string, uint64_t> rows;              ///< array rows (matmul_combine only)
  /// Per-layer ring widths l (8..64) by layer name (docs/perfmodel.md "Per-layer rings"); a
  /// layer without an entry takes its first producer's width, the input `ring.bits`.
  std::map<std::string, int> layer_bits;
  int coef() const { return nn::resolve_coef_frac(ring, coef_frac); }
};

/// The kernel description (data/kernels/<name>.json) a Backend method runs on: "trunc"
/// for trunc_exact_combine and trunc_prob_combine, else the method's own name.
std::string kernel_of(const std::string& backend_method);

/// One Backend method's share of a layer, per party.
struct KernelUse {
  std::string kernel;      ///< Backend method name
  uint64_t calls = 0;      ///< Backend calls (as KernelCounters::calls)
  uint64_t launches = 0;   ///< kernel launches (a call above max_batch is split)
  uint64_t elements = 0;   ///< as KernelCounters::elements (words, MACs, elements)
  uint64_t cycles = 0;     ///< modelled device cycles (as SimBackend's modelled_cycles)
  double link_bytes = 0;   ///< host<->device bytes (online inputs + outputs)
  double memory_bytes = 0; ///< device memory traffic, incl. dealer material
  /// Units of each call for calibrated timing: elements as above, except dcf_eval: AES
  /// blocks (keys x depth).
  std::vector<uint64_t> call_elements;
};

/// Host-side (software) work of one protocol inside a layer: the unit of the calibrated
/// overhead (masking, packing, lowering, channel) that comes on top of the kernels.
struct HostUse {
  std::string protocol;  ///< "matmul", "trunc_exact", "trunc_prob", "trunc_fss", "relu",
                         ///< "relu_fss", "poly", "open"
  uint64_t calls = 0;
  uint64_t units = 0;    ///< elements (matmul: input + 2 lowered + 2 output words)
  std::vector<uint64_t> call_units;  ///< units of each call
};

/// Cost of one layer (or of the input/output phase) for one inference on Options::batch
/// images. Bytes and rounds exact; everything else modelled.
struct LayerCost {
  std::string name;
  std::string op;       ///< layer kind ("Conv", "Relu", ..., "Input", "Output")
  int ring_bits = 0;    ///< the ring width l the layer runs in (0: Options::ring.bits)
  /// The ring conversions into this layer's ring, if any: "sign-extend 16->32",
  /// "truncate-reduce 64->40", "reduce 64->32" (local); priced in the fields below.
  std::string conversion;
  Choice choice = Choice::Free;
  uint64_t elements = 0;  ///< per image: activation elements (output elements for matmul)
  /// Secure comparisons (DReLUs) of the whole batch: a ReLU's elements, a max pool's pairs
  /// over its tree, a Block-ReLU's rectangle patches (docs/protocols.md "Block-ReLU").
  uint64_t drelus = 0;
  // Communication (exact).
  uint64_t bytes_p0 = 0;  ///< bytes P0 sends, whole batch
  uint64_t bytes_p1 = 0;  ///< bytes P1 sends, whole batch
  uint64_t rounds = 0;
  double network_s = 0;   ///< rounds * RTT + max(bytes_p0, bytes_p1) / bandwidth
  // Device (per party; both parties' boards work in parallel).
  uint64_t device_cycles = 0;
  double device_compute_s = 0;  ///< cycles / clock
  double device_memory_s = 0;   ///< memory traffic / memory bandwidth
  double device_s = 0;          ///< max(compute, memory)
  double transfer_s = 0;        ///< launches * launch overhead + link bytes / link bandwidth
  uint64_t launches = 0;
  double latency_s = 0;         ///< device_s + transfer_s + network_s
  double energy_j = 0;          ///< both parties: boards (active/idle) + hosts, modelled (online)
  // Offline phase (dealer), per party. Bytes and blocks exact (counted); seconds modelled.
  uint64_t offline_bytes = 0;      ///< dealer material per party, whole batch, bytes
  uint64_t keygen_aes_blocks = 0;  ///< AES-128 blocks the dealer encrypts for DCF keys
  double offline_transfer_s = 0;   ///< offline_bytes / preset bandwidth (dealer->party link)
  double keygen_s = 0;             ///< keygen_aes_blocks / board dealer_aes_blocks_per_s
  double offline_s = 0;            ///< offline_transfer_s + keygen_s
  double total_s = 0;              ///< latency_s (online) + offline_s
  Resources resources;          ///< kernels this layer needs, at the configured lanes
  std::vector<KernelUse> kernels;
  std::vector<HostUse> host;
  // Software backend (only with a calibration).
  bool has_cpu = false;         ///< every kernel and protocol of the layer is calibrated
  double cpu_s = 0;             ///< predicted cpu-backend wall seconds for the batch
  double cpu_kernel_s = 0;      ///< part of cpu_s spent in Backend calls (calibrated ones)
  double cpu_host_s = 0;        ///< part of cpu_s in host overhead (calibrated protocols)
};

/// One protocol call as the runtime makes it (for calibration and tests): protocol
/// "trunc" (n elements, shift), "relu" (GMW or FSS per Options::protocol), "poly" (n =
/// outer * channels * inner), "open" (n), "matmul" (in_size, m, k, cols; no truncation).
/// Modelled seconds of `c` in phase p: latency_s (online), offline_s or total_s.
double phase_seconds(const LayerCost& c, Phase p);
/// Bytes per party in phase p: max(bytes_p0, bytes_p1) online, offline_bytes offline, their
/// sum in total.
uint64_t phase_bytes(const LayerCost& c, Phase p);

struct ProtocolCall {
  std::string protocol;
  uint64_t n = 0;
  int shift = 0;
  uint64_t outer = 1, channels = 1, inner = 1;
  uint64_t in_size = 0, m = 0, k = 0, cols = 0;
};

/// An activation or pool site and its cost under every choice.
struct SiteCosts {
  std::string name;
  std::string kind;  ///< "activation" or "pool"
  Choice current = Choice::Free;
  std::vector<LayerCost> choices;
};

struct NetworkReport {
  std::string network, board, preset, compare, compare_bits, trunc;
  int ring_bits = 64, frac_bits = 12;
  size_t batch = 1;
  std::vector<LayerCost> layers;  ///< network layers in order, then "input", "output"
  std::vector<SiteCosts> sites;   ///< every activation/pool site x every choice
  LayerCost total;                ///< sums (sequential critical path), every phase
  Resources resources;            ///< all kernels the network uses, at configured lanes
  std::vector<std::string> assumptions;
};

class Model {
 public:
  /// kernels: load_kernels(); calibration optional (software-time predictions).
  Model(Board board, std::map<std::string, KernelSpec> kernels, NetworkPreset network, Options options = {},
        std::optional<Calibration> calibration = std::nullopt);

  const Board& board() const { return board_; }
  const NetworkPreset& network() const { return net_; }
  const Options& options() const { return opt_; }
  const std::map<std::string, KernelSpec>& kernels() const { return kernels_; }
  const std::optional<Calibration>& calibration() const { return cal_; }
  /// Lanes kernel `name` runs with (Options::lanes override, else its file).
  uint64_t lanes(const std::string& name) const;
  /// Array rows of kernel `name` (Options::rows override, else its header; 1 for kernels
  /// without rows).
  uint64_t rows(const std::string& name) const;
  /// dcf_eval's keys per group / 64 at its configured AES cores: the header's group_words,
  /// doubled until the cores hide the AES latency (kernels::dcf_group_words_for).
  uint64_t dcf_group_words() const;
  /// The same at `aes_cores` cores (0 when the cores cannot keep II = 1).
  uint64_t dcf_group_words(uint64_t aes_cores) const;
  /// Resources of kernel `name` at its configured lanes and rows.
  Resources kernel_resources(const std::string& name) const;
  /// This model with other kernel lanes and rows (the counted protocols are shared: only
  /// the pricing changes). Throws PerfModelError as the constructor does.
  Model with_kernels(std::map<std::string, uint64_t> lanes, std::map<std::string, uint64_t> rows) const;

  /// Cost of `layer` realised with `choice`. Throws PerfModelError when the choice does not
  /// fit the layer (activation choices for Relu/Poly sites, pool choices for pool sites,
  /// Matmul for Conv/Linear, Free for Flatten/Add; GlobalAvgPool takes AvgPool).
  LayerCost layer_cost(const LayerShape& layer, Choice choice) const;
  /// Cost of `layer` as it is (Relu -> relu with the model's compare protocol, ...).
  LayerCost layer_cost(const LayerShape& layer) const;
  /// Cost of `layer` realised with `choice` after a truncation of its input by `in_shift`
  /// bits (0 = none), as nn::plan_scales places truncations (nn/placement.h). The
  /// two-argument form prices a layer alone: its input is assumed at scale 2f (a conv or
  /// linear output), so Matmul and Poly truncate it by f first, a reduced-bit comparison
  /// too, and ReLU, max and average pooling run on it as it is.
  LayerCost layer_cost(const LayerShape& layer, Choice choice, int in_shift) const;
  /// The ring widths of one layer (Options::layer_bits): the layer's own l, and those its
  /// input and (Add) residual input arrive in; 0 = Options::ring.bits.
  struct LayerRings {
    int bits = 0, from_bits = 0, residual_from_bits = 0;
    int frac = 0;  ///< the layer's fixed-point scale (nn::ScalePlan::fracs; 0 = Options::ring.frac)
  };
  /// layer_cost in ring `rings.bits`, with the conversions of its inputs from their rings:
  /// a wider ring is reached by sign extension (mpc::sign_extend), a narrower one by a local
  /// reduction (mpc::ring_reduce) or, when the layer truncates its input and l_from - shift
  /// >= l, by truncate-reduce (mpc::trunc_reduce) in place of the truncation. Throws
  /// PerfModelError for widths outside [8, 64].
  LayerCost layer_cost(const LayerShape& layer, Choice choice, int in_shift, const LayerRings& rings) const;
  /// The choice a layer has as it is (Relu -> the model's compare protocol, ...).
  Choice default_choice(const LayerShape& layer) const;
  /// in_shift of the two-argument layer_cost: nn::plan_scales' truncation for the layer
  /// after a conv output.
  int standalone_shift(const LayerShape& layer, Choice choice) const;
  /// Activation site of `channels` x `spatial` elements per image (spatial = H*W, 1 for a
  /// flat vector) under `choice` (ReluGmw, ReluFss, Poly, Identity).
  LayerCost activation_cost(int64_t channels, int64_t spatial, Choice choice) const;
  /// Input sharing (P1 sends n ceil(l/8) bytes, 1 round) and output reveal (P0 sends
  /// classes ceil(l/8) bytes, 1 round), for the whole batch.
  LayerCost input_cost(int64_t elements_per_image, int bits = 0) const;
  LayerCost output_cost(int64_t classes, int bits = 0) const;

  /// Cost of one protocol call on Options::ring (batch is not applied: sizes are as given).
  LayerCost protocol_cost(const ProtocolCall& call) const;

  /// Whole network: every layer as it is, input and output, the site table (unless
  /// `sites` is false: the scheduler's search prices only the network as it is), totals.
  NetworkReport report(const NetShape& net, bool sites = true) const;

  /// The assumptions behind every modelled figure, one sentence each.
  std::vector<std::string> assumptions() const;

 private:
  friend class LayerBuilder;
  /// Party 0's counted protocols of a layer, by everything that decides them (model.cpp).
  struct CountCache;
  std::shared_ptr<CountCache> counts_;
  Board board_;
  std::map<std::string, KernelSpec> kernels_;
  NetworkPreset net_;
  Options opt_;
  std::optional<Calibration> cal_;
};

}  // namespace polympc::perfmodel
