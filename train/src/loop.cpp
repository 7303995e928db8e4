// The trainer's training loop (loop.h).
#include "loop.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <sstream>

#include "polympc/nn/onnx.h"
#include "polympc/train/model.h"

namespace polympc::train::detail {

namespace {
constexpr int64_t kEvalBatch = 1000;

std::string range_of(const std::vector<float>& v) {
  const auto [mn, mx] = std::minmax_element(v.begin(), v.end());
  std::ostringstream s;
  s << std::setprecision(4) << "[" << *mn << ", " << *mx << "]";
  return s.str();
}
}  // namespace

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

TensorSet to_tensors(const nn::Dataset& ds) {
  TensorSet t;
  t.images = torch::from_blob(const_cast<float*>(ds.images.data()),
                              {ds.count, ds.channels, ds.height, ds.width}, torch::kFloat)
                 .clone();
  t.labels = torch::from_blob(const_cast<int*>(ds.labels.data()), {ds.count}, torch::kInt)
                 .to(torch::kLong);
  return t;
}

double accuracy(const Trainee& t, const TensorSet& test) {
  torch::NoGradGuard no_grad;
  t.module.eval();
  int64_t correct = 0;
  const int64_t n = test.images.size(0);
  for (int64_t s = 0; s < n; s += kEvalBatch) {
    const int64_t e = std::min(n, s + kEvalBatch);
    const torch::Tensor pred = t.forward(test.images.slice(0, s, e)).argmax(1);
    correct += pred.eq(test.labels.slice(0, s, e)).sum().item<int64_t>();
  }
  return n == 0 ? 0.0 : static_cast<double>(correct) / static_cast<double>(n);
}

void set_lr(torch::optim::Adam& opt, double lr) {
  for (auto& group : opt.param_groups()) {
    static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
  }
}

void train_epochs(const Trainee& t, const TensorSet& train, const TensorSet& test, const TrainOptions& o,
                  int epochs, const std::string& label, const std::vector<torch::optim::Optimizer*>& opts,
                  const std::function<void(double)>& set_lr, const std::function<torch::Tensor()>& extra,
                  TrainReport& rep, std::ostream& log) {
  const int64_t n = train.images.size(0);
  const int64_t batch = o.batch_size;
  // A trailing batch of one sample cannot be batch-normalised in training mode: drop it.
  const int64_t steps_per_epoch = n / batch + (n % batch >= 2 ? 1 : 0);
  if (steps_per_epoch == 0) throw TrainError("need at least 2 training images");
  const int64_t total_steps = steps_per_epoch * epochs;
  int64_t step = 0;
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    const auto t_epoch = Clock::now();
    t.module.train();
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
      set_lr(static_cast<double>(step) / static_cast<double>(total_steps));
      for (auto* opt : opts) opt->zero_grad();
      torch::Tensor loss = torch::nn::functional::cross_entropy(t.forward(xb), yb);
      if (extra) loss = loss + extra();
      loss.backward();
      for (auto* opt : opts) opt->step();
      const double l = loss.item<double>();
      if (!std::isfinite(l)) {
        throw TrainError("training diverged: loss is " + std::to_string(l) + " at " + label + " epoch " +
                         std::to_string(epoch) + "; lower the learning rate or use fewer poly sites");
      }
      rep.batch_losses.push_back(l);
      loss_sum += l;
      if (o.progress) o.progress(label, epoch, epochs, s + 1, steps_per_epoch);
    }
    EpochStats es;
    es.stage = label;
    es.epoch = static_cast<int>(rep.epochs.size()) + 1;
    es.loss = loss_sum / static_cast<double>(steps_per_epoch);
    es.test_accuracy = accuracy(t, test);
    es.seconds = seconds_since(t_epoch);
    rep.epochs.push_back(es);
    log << label << " epoch " << std::setw(2) << epoch << "/" << epochs << "  loss " << std::fixed
        << std::setprecision(4) << es.loss << "  test acc " << std::setprecision(2) << 100.0 * es.test_accuracy
        << "%  " << std::setprecision(1) << es.seconds << " s" << std::defaultfloat << std::endl;
  }
}

void export_and_check(const nn::Network& net, const Trainee& t, const std::string& onnx, const TensorSet& test,
                      TrainReport& rep) {
  const std::filesystem::path out(onnx);
  if (out.has_parent_path()) std::filesystem::create_directories(out.parent_path());
  nn::save_onnx(net, onnx, rep.metadata);
  rep.onnx_bytes = static_cast<int64_t>(std::filesystem::file_size(out));
  const nn::Network loaded = nn::load_onnx(onnx);
  const IrForward forward(loaded);
  std::vector<double> max_abs(loaded.layers.size(), 0.0);
  int64_t correct = 0;
  {
    torch::NoGradGuard no_grad;
    t.module.eval();
    const int64_t nt = test.images.size(0);
    for (int64_t s = 0; s < nt; s += kEvalBatch) {
      const int64_t e = std::min(nt, s + kEvalBatch);
      const torch::Tensor x = test.images.slice(0, s, e);
      const torch::Tensor logits = forward(x, &max_abs);
      correct += logits.argmax(1).eq(test.labels.slice(0, s, e)).sum().item<int64_t>();
      rep.max_logit_diff = std::max(rep.max_logit_diff, (logits - t.forward(x)).abs().max().item<double>());
      rep.max_input_abs = std::max(rep.max_input_abs, x.abs().max().item<double>());
    }
  }
  rep.test_images = test.images.size(0);
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
}

}  // namespace polympc::train::detail
