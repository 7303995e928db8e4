// The trainer's training loop and accuracy, shared by train_and_export (trainer.cpp) and
// finetune_network (finetune.cpp). Internal to train/.
#pragma once
#include <torch/torch.h>

#include <chrono>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "polympc/nn/dataset.h"
#include "polympc/nn/ir.h"
#include "polympc/train/trainer.h"

namespace polympc::train::detail {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0);

struct TensorSet {
  torch::Tensor images;  ///< [N, C, H, W] float, as the dataset stores them (pixel / 255)
  torch::Tensor labels;  ///< [N] int64
};
TensorSet to_tensors(const nn::Dataset& ds);

/// What a loop trains: a module (train() / eval() switch its batch norms) and its forward
/// (logits [N, classes] of images [N, C, H, W]).
struct Trainee {
  torch::nn::Module& module;
  std::function<torch::Tensor(const torch::Tensor&)> forward;
};

/// Top-1 accuracy of `t` in eval mode on `test`, in [0, 1] (0 for no images).
double accuracy(const Trainee& t, const TensorSet& test);

/// Runs `epochs` epochs over `train` in shuffled batches of o.batch_size (random
/// horizontal flips if o.flip; a trailing batch of one is dropped for batch norm): each
/// step minimises cross-entropy + extra() with every optimiser in `opts`, after
/// set_lr(progress in [0, 1)). Appends to rep.epochs (test accuracy after each epoch) and
/// rep.batch_losses; one line per epoch to `log`; o.progress after every step.
/// Throws TrainError on a non-finite loss or fewer than 2 training images.
void train_epochs(const Trainee& t, const TensorSet& train, const TensorSet& test, const TrainOptions& o,
                  int epochs, const std::string& label, const std::vector<torch::optim::Optimizer*>& opts,
                  const std::function<void(double)>& set_lr, const std::function<torch::Tensor()>& extra,
                  TrainReport& rep, std::ostream& log);

/// Writes `net` to `onnx` with rep.metadata (nn::save_onnx), reads the file back and runs it
/// in float (IrForward) on `test`: fills rep.onnx_bytes, exported_accuracy,
/// max_logit_diff (against t in eval mode), max_input_abs, activations and poly_summary.
/// Throws nn::ModelError / nn::OnnxError from the writer and reader.
void export_and_check(const nn::Network& net, const Trainee& t, const std::string& onnx, const TensorSet& test,
                      TrainReport& rep);

/// Adam's learning rate of every group.
void set_lr(torch::optim::Adam& opt, double lr);

/// Cosine decay from `peak` to 0 at progress in [0, 1].
inline double cosine_lr(double peak, double progress) { return peak * 0.5 * (1.0 + std::cos(M_PI * progress)); }

}  // namespace polympc::train::detail
