// Training loop, export and float check of the exported model (see trainer.h).
#include "polympc/train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <ostream>
#include <sstream>

#include "polympc/nn/dataset.h"
#include "polympc/nn/onnx.h"
#include "polympc/train/model.h"

namespace polympc::train {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

struct TensorSet {
  torch::Tensor images;  ///< [N, 1, 28, 28] float, pixel / 255
  torch::Tensor labels;  ///< [N] int64
};

TensorSet to_tensors(const nn::Dataset& ds) {
  TensorSet t;
  t.images = torch::from_blob(const_cast<float*>(ds.images.data()),
                              {ds.count, ds.channels, ds.height, ds.width}, torch::kFloat)
                 .clone();
  t.labels = torch::from_blob(const_cast<int*>(ds.labels.data()), {ds.count}, torch::kInt)
                 .to(torch::kLong);
  return t;
}

constexpr int64_t kEvalBatch = 1000;

double accuracy(FmnistCnn& model, const TensorSet& test) {
  torch::NoGradGuard no_grad;
  model->eval();
  int64_t correct = 0;
  const int64_t n = test.images.size(0);
  for (int64_t s = 0; s < n; s += kEvalBatch) {
    const int64_t e = std::min(n, s + kEvalBatch);
    const torch::Tensor pred = model->forward(test.images.slice(0, s, e)).argmax(1);
    correct += pred.eq(test.labels.slice(0, s, e)).sum().item<int64_t>();
  }
  return n == 0 ? 0.0 : static_cast<double>(correct) / static_cast<double>(n);
}

void set_lr(torch::optim::Adam& opt, double lr) {
  for (auto& group : opt.param_groups()) {
    static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
  }
}

std::string range_of(const std::vector<float>& v) {
  const auto [mn, mx] = std::minmax_element(v.begin(), v.end());
  std::ostringstream s;
  s << std::setprecision(4) << "[" << *mn << ", " << *mx << "]";
  return s.str();
}

void check_options(const TrainOptions& o) {
  if (o.epochs < 1) throw TrainError("--epochs must be >= 1, got " + std::to_string(o.epochs));
  if (o.batch_size < 2) {
    throw TrainError("--batch-size must be >= 2 (batch norm), got " + std::to_string(o.batch_size));
  }
  if (!(o.lr > 0)) throw TrainError("--lr must be > 0");
  if (!(o.poly_scale > 0)) throw TrainError("--poly-scale must be > 0");
  if (o.threads < 0) throw TrainError("--threads must be >= 0");
  if (o.out.empty()) throw TrainError("--out must name the ONNX file to write");
}

}  // namespace

std::vector<bool> parse_acts(const std::string& acts) {
  std::vector<bool> poly;
  std::stringstream in(acts);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (item == "poly") {
      poly.push_back(true);
    } else if (item == "relu") {
      poly.push_back(false);
    } else {
      throw TrainError("--acts: activation '" + item + "' is neither 'poly' nor 'relu' (in '" +
                       acts + "')");
    }
  }
  if (poly.size() != 3 || (!acts.empty() && acts.back() == ',')) {
    throw TrainError("--acts: the CNN has 3 activation sites (act1,act2,act3), got '" + acts +
                     "'; example: poly,relu,poly");
  }
  return poly;
}

TrainReport train_and_export(const TrainOptions& o, std::ostream& log) {
  check_options(o);
  const std::vector<bool> poly = parse_acts(o.acts);
  if (o.threads > 0) torch::set_num_threads(o.threads);
  torch::manual_seed(o.seed);

  const TensorSet train = to_tensors(nn::load_idx_dataset(o.data_dir, "train", o.train_limit));
  const TensorSet test = to_tensors(nn::load_idx_dataset(o.data_dir, "t10k", o.test_limit));
  const int64_t n = train.images.size(0);
  const int64_t batch = o.batch_size;
  // A trailing batch of one sample cannot be batch-normalised in training mode: drop it.
  const int64_t steps_per_epoch = n / batch + (n % batch >= 2 ? 1 : 0);
  if (steps_per_epoch == 0) throw TrainError("need at least 2 training images");
  const int64_t total_steps = steps_per_epoch * o.epochs;

  log << "polympc-train: " << n << " training / " << test.images.size(0)
      << " test images, acts " << o.acts << ", " << o.epochs << " epochs, batch " << batch
      << ", lr " << o.lr << ", poly scale " << o.poly_scale << ", seed " << o.seed << ", "
      << torch::get_num_threads() << " threads" << std::endl;

  FmnistCnn model(poly, o.poly_scale);
  torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(o.lr));

  TrainReport rep;
  rep.test_images = test.images.size(0);
  const auto t_train = Clock::now();
  int64_t step = 0;
  for (int epoch = 1; epoch <= o.epochs; ++epoch) {
    const auto t_epoch = Clock::now();
    model->train();
    const torch::Tensor perm = torch::randperm(n, torch::kLong);
    double loss_sum = 0;
    for (int64_t s = 0; s < steps_per_epoch; ++s, ++step) {
      const torch::Tensor idx = perm.slice(0, s * batch, std::min(n, (s + 1) * batch));
      torch::Tensor xb = train.images.index_select(0, idx);
      const torch::Tensor yb = train.labels.index_select(0, idx);
      if (o.flip) {
        const torch::Tensor flip = (torch::rand({xb.size(0)}) < 0.5).view({-1, 1, 1, 1});
        xb = torch::where(flip, xb.flip({3}), xb);
      }
      // Cosine decay from lr to 0 over the whole run.
      const double progress = static_cast<double>(step) / static_cast<double>(total_steps);
      set_lr(opt, o.lr * 0.5 * (1.0 + std::cos(M_PI * progress)));
      opt.zero_grad();
      const torch::Tensor loss = torch::nn::functional::cross_entropy(model->forward(xb), yb);
      loss.backward();
      opt.step();
      const double l = loss.item<double>();
      if (!std::isfinite(l)) {
        throw TrainError("training diverged: loss is " + std::to_string(l) + " at epoch " +
                         std::to_string(epoch) + "; lower --lr or use fewer poly sites");
      }
      rep.batch_losses.push_back(l);
      loss_sum += l;
    }
    EpochStats es;
    es.epoch = epoch;
    es.loss = loss_sum / static_cast<double>(steps_per_epoch);
    es.test_accuracy = accuracy(model, test);
    es.seconds = seconds_since(t_epoch);
    rep.epochs.push_back(es);
    log << "epoch " << std::setw(2) << epoch << "/" << o.epochs << "  loss " << std::fixed
        << std::setprecision(4) << es.loss << "  test acc " << std::setprecision(2)
        << 100.0 * es.test_accuracy << "%  " << std::setprecision(1) << es.seconds << " s"
        << std::defaultfloat << std::endl;
  }
  rep.train_seconds = seconds_since(t_train);
  model->eval();
  rep.torch_accuracy = accuracy(model, test);

  // Export (BN folded), read the file back and run it in float.
  const std::filesystem::path out(o.out);
  if (out.has_parent_path()) std::filesystem::create_directories(out.parent_path());
  nn::save_onnx(model->to_network(), o.out);
  rep.onnx_bytes = static_cast<int64_t>(std::filesystem::file_size(out));
  const nn::Network loaded = nn::load_onnx(o.out);
  const IrForward forward(loaded);
  std::vector<double> max_abs(loaded.layers.size(), 0.0);
  int64_t correct = 0;
  {
    torch::NoGradGuard no_grad;
    const int64_t nt = test.images.size(0);
    for (int64_t s = 0; s < nt; s += kEvalBatch) {
      const int64_t e = std::min(nt, s + kEvalBatch);
      const torch::Tensor x = test.images.slice(0, s, e);
      const torch::Tensor logits = forward(x, &max_abs);
      correct += logits.argmax(1).eq(test.labels.slice(0, s, e)).sum().item<int64_t>();
      rep.max_logit_diff = std::max(rep.max_logit_diff,
                                    (logits - model->forward(x)).abs().max().item<double>());
      rep.max_input_abs = std::max(rep.max_input_abs, x.abs().max().item<double>());
    }
  }
  rep.exported_accuracy =
      rep.test_images == 0 ? 0.0 : static_cast<double>(correct) / static_cast<double>(rep.test_images);
  for (size_t i = 0; i < loaded.layers.size(); ++i) {
    const nn::Layer& l = loaded.layers[i];
    rep.activations.push_back({l.name, nn::op_name(l.op), max_abs[i]});
    if (l.op == nn::OpKind::Poly) {
      rep.poly_summary.push_back(l.name + ": a2 in " + range_of(l.poly_a2) + ", a1 in " +
                                 range_of(l.poly_a1) + ", a0 in " + range_of(l.poly_a0));
    }
  }
  return rep;
}

}  // namespace polympc::train
