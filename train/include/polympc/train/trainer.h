// Trainer for the shipped Fashion-MNIST CNN with a fixed mix of ReLU and PASNet
// polynomial activations (docs/design.md §11), exported as ONNX (docs/design.md §12).
//
// This header does not include LibTorch, so the `polympc train` CLI can call it; the
// torch module itself is in polympc/train/model.h.
#pragma once
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <map>
#include <string>
#include <vector>

#include "polympc/mpc/errors.h"
#include "polympc/nn/dataset.h"
#include "polympc/nn/ir.h"

namespace polympc::train {

/// Bad trainer option (activation list, epochs, batch size, ...) or a training run that
/// produced unusable numbers (NaN loss).
class TrainError : public polympc::Error {
 public:
  using polympc::Error::Error;
};

/// Fixed scale s of the polynomial activation poly(x) = s*w0*x^2 + w1*x + b
/// (PASNet, Peng et al. 2023). w0 starts at 0.005, so the quadratic term starts at
/// a2 = s*w0 = 0.005; s = 1 lets Adam move a2 by about one learning rate per step.
inline constexpr double kPolyScale = 1.0;

struct TrainOptions {
  std::string data_dir = nn::kFashionMnistDir;  ///< IDX files (train, t10k splits)
  int epochs = 12;
  /// Architecture: "fmnist-cnn" (the shipped CNN) or "resnet8" (residual; arch_names()).
  std::string arch = "fmnist-cnn";
  /// "fashion-mnist" (IDX files in data_dir) or "cifar10" (the binary version in data_dir).
  std::string dataset = "fashion-mnist";
  /// One entry per activation site (act1, act2, ...), each "poly", "relu" or "id" (no
  /// nonlinearity: the layer stays linear and the exported IR has no layer for the site;
  /// fmnist-cnn only), or one word for every site. A search ignores it (its mix is relu/poly).
  std::string acts = "poly,relu,poly";
  /// fmnist-cnn widths "conv1,conv2,fc1" (nn::CnnWidths; DeepReShape's family, train/reshape.h).
  /// The default is the shipped CNN, trained and exported exactly as without the option.
  std::string widths = "16,32,128";
  /// Extra ONNX metadata_props written with the model (e.g. polympc.method of a family);
  /// the trainer's own keys win.
  std::map<std::string, std::string> metadata;
  std::string out = "models/fmnist_cnn.onnx";  ///< ONNX file written after training
  uint64_t seed = 1;
  int threads = 0;          ///< intra-op threads; 0 = LibTorch's default (all cores)
  int batch_size = 128;
  double lr = 2e-3;         ///< peak Adam learning rate (cosine decay to 0 over the run)
  double poly_scale = kPolyScale;
  bool flip = true;         ///< random horizontal flips of training images
  int64_t train_limit = -1; ///< first N training images only (< 0: all 60,000)
  int64_t test_limit = -1;  ///< first N test images only (< 0: all 10,000)
  /// Pooling at pool1, pool2, ...: "avg" or "max" each, or one word for every site
  /// (ignored by a search, which chooses; resnet8 has no pooling site).
  std::string pools = "avg";

  // Latency-aware search (PASNet, Peng et al., DAC'23): every activation site mixes ReLU and
  // the polynomial, every pooling site max and average, through softmax(alpha); the loss is
  // cross-entropy + lambda * sum over sites and choices of softmax(alpha) * Lat(site, choice)
  // with Lat in milliseconds from the performance model (site_latencies). After
  // `search_epochs` each site keeps its argmax and the network is fine-tuned for `epochs`.
  bool search = false;
  double lambda = 0.05;       ///< weight of the latency term (per modelled millisecond)
  int search_epochs = 4;
  double search_lr = 0.025;   ///< SGD, momentum 0.9, weight decay 3e-4 (PASNet), cosine decay
  double alpha_lr = 3e-4;     ///< Adam, weight decay 1e-3 (PASNet)
  std::string compare = "fss";   ///< the ReLU's comparison: gmw | fss
  std::string trunc = "fss";     ///< exact | prob | fss | slack
  std::string board = "u280";
  std::string network = "lan";   ///< network preset (lan, wan, ...)
  std::string phase = "total";   ///< online | offline | total
  /// The ring the latency table and the 2PC evaluation use: l, f, and per-layer widths
  /// "LAYER=BITS,..." (perfmodel Options::layer_bits; nn::Layer::ring_bits for the runs).
  int ring_bits = 64;
  int frac_bits = 12;
  std::string layer_bits;
  /// Fine-tuning (finetune_and_export): quantisation-aware at this session scale f, the
  /// layers at their own (Layer::frac_bits) where set (IrNetImpl::set_fake_quant; 0 = off).
  int qat_frac = 0;
  /// Called after every training step with (stage "search" | "fine-tune" | "train",
  /// epoch (1-based, within the stage), epochs of the stage, step within the epoch
  /// (1-based), steps per epoch); for progress bars.
  std::function<void(const std::string&, int, int, int64_t, int64_t)> progress;
};

/// Modelled cost of one site's two choices, as `polympc perf` prints them (performance
/// model with the scheduler's kernel sizing), in milliseconds.
struct SiteLatency {
  std::string site;                ///< "act1" ... "pool2"
  std::string kind;                ///< "activation" or "pool"
  std::string choices[2];          ///< ("relu", "poly") or ("max", "avg"): the mix's order
  double ms[2] = {0, 0};           ///< their modelled seconds in o.phase, x 1e3
};
/// The latency table of o.arch's sites (for o.dataset's input shape) for o.board,
/// o.network, o.compare, o.trunc, o.phase (one inference of one image): the performance
/// model prices the architecture's IR, as `polympc perf` prices an ONNX model. Throws the
/// performance model's errors (unknown board or preset), TrainError (unknown arch).
std::vector<SiteLatency> site_latencies(const TrainOptions& o);
/// Modelled total latency (ms, o.phase) of o.arch (at o.widths) with the given choices
/// ("relu"/"poly"/"id" per act site, "max"/"avg" per pool site, lists or one word as
/// TrainOptions::acts).
double modelled_latency_ms(const TrainOptions& o, const std::string& acts, const std::string& pools);

/// Input shape [C, H, W] of o.dataset: [1, 28, 28] (fashion-mnist), [3, 32, 32] (cifar10).
/// Throws TrainError for another name.
std::vector<int64_t> dataset_input_shape(const TrainOptions& o);
/// The first `limit` (< 0: all) images of o.dataset's training (`train`) or test split
/// from o.data_dir: load_idx_dataset (splits "train", "t10k") or load_cifar10_dataset.
/// Throws nn::DatasetError, TrainError (unknown dataset).
nn::Dataset load_data(const TrainOptions& o, bool train, int64_t limit);

/// Modelled total latency (ms, o.phase) and online energy (J) of the network in the ONNX
/// file `onnx`, priced as modelled_latency_ms prices the CNN (o.board, o.network, ...).
struct ModelledCost {
  double ms = 0;
  double energy_j = 0;
};
ModelledCost modelled_cost(const TrainOptions& o, const std::string& onnx);
/// The same for a network in memory (shapes inferred).
ModelledCost modelled_cost(const TrainOptions& o, const nn::Network& net);

/// One site after a search.
struct SearchChoice {
  std::string site, choice;
  double weight[2] = {0, 0};  ///< softmax(alpha) at the end of the search (order of SiteLatency)
  double ms[2] = {0, 0};      ///< the latency table's figures
};

struct EpochStats {
  std::string stage;           ///< "search", "fine-tune" or "train"
  int epoch = 0;               ///< 1-based, over all stages
  double loss = 0;             ///< mean training cross-entropy over the epoch
  double test_accuracy = 0;    ///< torch module in eval mode, fraction in [0, 1]
  double seconds = 0;          ///< wall time of the epoch (training + evaluation)
};

/// Largest |value| a layer of the exported network produced on the test set.
struct ActivationStats {
  std::string layer;  ///< IR layer name, e.g. "conv1"
  std::string op;     ///< op_name() of the layer
  double max_abs = 0;
};

struct TrainReport {
  std::vector<EpochStats> epochs;
  std::vector<double> batch_losses;   ///< training loss of every step, in order
  double torch_accuracy = 0;          ///< torch module (eval mode, BN not folded)
  double qat_accuracy = 0;            ///< fine-tuning with qat_frac: the fake-quantized module's
  double exported_accuracy = 0;       ///< IR read back with load_onnx, float forward
  double max_logit_diff = 0;          ///< max |logit(torch) - logit(exported IR)|
  int64_t test_images = 0;
  std::vector<ActivationStats> activations;  ///< per layer of the exported network
  double max_input_abs = 0;           ///< largest |input pixel| (1.0 for pixel/255)
  double train_seconds = 0;           ///< training loop only
  int64_t onnx_bytes = 0;             ///< size of the written ONNX file
  std::vector<std::string> poly_summary;  ///< "act1: a2 in [..], a1 in [..], a0 in [..]"
  // Search (o.search): the choices and the modelled latency of the chosen network.
  std::vector<SearchChoice> search;
  std::string acts, pools;            ///< what was trained and exported ("relu,poly,..")
  double modelled_latency_ms = 0;     ///< of the exported network (o.phase, o.board, ...)
  std::map<std::string, std::string> metadata;  ///< written into the ONNX file
};

/// LibTorch's OpenMP threads busy-wait between parallel regions by default; on a shared
/// machine (other jobs on the same cores) that made training up to 6x slower, while
/// passive waiting costs little on idle cores. libgomp reads OMP_WAIT_POLICY only at
/// start-up, so a front end calls this first: unless the user chose a policy, it sets
/// OMP_WAIT_POLICY=PASSIVE and re-executes the program with `argv` (returning only if
/// that fails, when the program runs as it is).
void reexec_with_passive_omp_wait(char** argv);

/// Parses "poly,relu,poly" (exactly `sites` entries, each "poly" or "relu"), or one word
/// "poly" / "relu" for every site. Returns true for every poly site. Throws TrainError
/// naming the bad entry.
std::vector<bool> parse_acts(const std::string& acts, size_t sites = 3);
/// As parse_acts, but each entry may also be "id" (TrainOptions::acts): the words, one per site.
std::vector<std::string> parse_act_words(const std::string& acts, size_t sites = 3);

/// Loads o.dataset from o.data_dir, trains o.arch (the CNN: conv1 1->16 k5, BN, act1,
/// pool1, conv2 16->32 k5, BN, act2, pool2, flatten, fc1 512->128, BN1d, act3,
/// fc2 128->10, or other o.widths, an "id" site without a layer; or ResNet-8, see model.h) with Adam on pixel/255 inputs (after a search,
/// if o.search), folds batch norm, writes options.out with polympc::nn::save_onnx, reads
/// it back with load_onnx and evaluates it in float on the test set. Progress goes to
/// `log` (one line per epoch).
/// Throws TrainError (bad options, NaN loss), nn::DatasetError, nn::ModelError.
TrainReport train_and_export(const TrainOptions& options, std::ostream& log);

}  // namespace polympc::train
