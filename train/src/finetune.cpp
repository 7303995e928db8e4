// Fine-tuning of a fixed IR network and the Block-ReLU method (finetune.h).
#include "polympc/train/finetune.h"

#include <iomanip>
#include <sstream>

#include "loop.h"
#include "polympc/nn/block_alloc.h"
#include "polympc/nn/lowering.h"
#include "polympc/train/ir_net.h"

namespace polympc::train {

namespace {

std::string shape_of(const std::vector<int64_t>& s) {
  std::string r;
  for (size_t i = 0; i < s.size(); ++i) r += (i ? "x" : "") + std::to_string(s[i]);
  return r;
}

}  // namespace

TrainReport finetune_and_export(const nn::Network& net, const TrainOptions& o,
                                std::map<std::string, std::string> metadata, std::ostream& log,
                                double* before_accuracy) {
  if (o.epochs < 0) throw TrainError("--epochs must be >= 0 for fine-tuning, got " + std::to_string(o.epochs));
  if (o.batch_size < 1) throw TrainError("--batch-size must be >= 1");
  if (!(o.lr > 0)) throw TrainError("--lr must be > 0");
  if (o.threads < 0) throw TrainError("--threads must be >= 0");
  if (o.out.empty()) throw TrainError("--out must name the ONNX file to write");
  if (net.input_shape != dataset_input_shape(o))
    throw TrainError("the network takes " + shape_of(net.input_shape) + " inputs, " + o.dataset + " images are " +
                     shape_of(dataset_input_shape(o)));
  if (o.threads > 0) torch::set_num_threads(o.threads);
  torch::manual_seed(o.seed);
  const detail::TensorSet train = detail::to_tensors(load_data(o, /*train=*/true, o.train_limit));
  const detail::TensorSet test = detail::to_tensors(load_data(o, /*train=*/false, o.test_limit));

  IrNet model(net);
  if (o.qat_frac < 0) throw TrainError("the QAT scale must be >= 0");
  model->set_fake_quant(o.qat_frac);
  const detail::Trainee t{*model, [&model](const torch::Tensor& x) { return model->forward(x); }};
  TrainReport rep;
  rep.test_images = test.images.size(0);
  const double before = detail::accuracy(t, test);
  if (before_accuracy != nullptr) *before_accuracy = before;
  log << "polympc-train: fine-tune '" << net.name << "' (" << net.layers.size() << " layers) on " << o.dataset << ", "
      << train.images.size(0) << " training / " << rep.test_images << " test images, " << o.epochs << " epochs, batch "
      << o.batch_size << ", lr " << o.lr << ", seed " << o.seed << "; test acc before " << std::fixed
      << std::setprecision(2) << 100 * before << "%" << std::defaultfloat << std::endl;
  const auto t0 = detail::Clock::now();
  torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(o.lr));
  detail::train_epochs(
      t, train, test, o, o.epochs, "fine-tune", {&opt},
      [&](double progress) { detail::set_lr(opt, detail::cosine_lr(o.lr, progress)); }, nullptr, rep, log);
  rep.train_seconds = detail::seconds_since(t0);
  if (o.qat_frac > 0) {
    rep.qat_accuracy = detail::accuracy(t, test);
    model->set_fake_quant(0);  // the float network is exported; the 2PC quantizes it as trained
  }
  rep.torch_accuracy = detail::accuracy(t, test);
  std::ostringstream acc;
  acc << std::setprecision(6) << rep.torch_accuracy;
  metadata["polympc.float_accuracy"] = acc.str();
  metadata["polympc.finetune_epochs"] = std::to_string(o.epochs);
  metadata["polympc.dataset"] = o.dataset;
  metadata["polympc.seed"] = std::to_string(o.seed);
  rep.metadata = std::move(metadata);
  detail::export_and_check(model->to_network(), t, o.out, test, rep);
  return rep;
}

BlockReluCalibration measure_block_relu(const nn::Network& base, int64_t calib_images, const TrainOptions& o) {
  if (calib_images < 1) throw TrainError("--calib-images must be >= 1");
  nn::Network net = base;
  net.infer_shapes();
  const nn::Dataset calib = load_data(o, /*train=*/true, calib_images);
  nn::check_images(calib, 0, static_cast<size_t>(calib.count), net.input_size());
  const auto t0 = detail::Clock::now();
  BlockReluCalibration c;
  c.measured = nn::measure_block_distortion(net, calib.image(0), static_cast<size_t>(calib.count), /*batch=*/32,
                                            nn::block_patch_candidates(), nullptr);
  c.images = calib.count;
  c.seconds = detail::seconds_since(t0);
  return c;
}

int64_t drelu_budget_for_latency(const nn::Network& base, const BlockReluCalibration& calibration, double ms,
                                 const TrainOptions& o) {
  nn::Network net = base;
  net.infer_shapes();
  const std::vector<nn::BlockPatch> kinds = nn::block_patch_candidates();
  const auto latency = [&](int64_t budget) {
    return modelled_cost(o, nn::apply_block_allocation(net, nn::allocate_block_patches(net, calibration.measured,
                                                                                        kinds, budget)))
        .ms;
  };
  int64_t lo = nn::fixed_relu_drelus(net), hi = nn::network_drelus(net);
  const double least = latency(lo);
  if (least > ms) {
    std::ostringstream m;
    m << "a modelled latency of " << ms << " ms is below the least the allocation reaches, " << least << " ms ("
      << lo << " DReLUs per image: those it cannot change; " << o.board << ", " << o.network << ", " << o.phase << ")";
    throw TrainError(m.str());
  }
  if (latency(hi) <= ms) return hi;
  while (hi - lo > 1) {  // latency(lo) <= ms < latency(hi)
    const int64_t mid = lo + (hi - lo) / 2;
    (latency(mid) <= ms ? lo : hi) = mid;
  }
  return lo;
}

BlockReluResult block_relu_finetune(const nn::Network& base, const BlockReluCalibration& calibration, int64_t budget,
                                    const TrainOptions& o, std::ostream& log) {
  nn::Network net = base;
  net.infer_shapes();
  BlockReluResult r;
  r.base_drelus = nn::network_drelus(net);
  const nn::BlockAllocation alloc =
      nn::allocate_block_patches(net, calibration.measured, nn::block_patch_candidates(), budget);
  const nn::Network out = nn::apply_block_allocation(net, alloc);
  r.drelus = nn::network_drelus(out);
  r.distortion = alloc.distortion;
  log << "block-relu: " << r.drelus << " DReLUs per image (budget " << budget << ", base " << r.base_drelus
      << "), distortion of " << calibration.images << " calibration images" << std::endl;
  std::map<std::string, std::string> meta{{"polympc.method", "block-relu"},
                                          {"polympc.budget", std::to_string(budget)},
                                          {"polympc.drelus", std::to_string(r.drelus)},
                                          {"polympc.drelus_model", std::to_string(r.base_drelus)},
                                          {"polympc.drelus_all_relu", std::to_string(nn::all_relu_drelus(net))},
                                          {"polympc.calib_images", std::to_string(calibration.images)}};
  for (const auto& [i, patches] : alloc.patches) {
    meta["polympc.patches." + out.layers[i].name] = nn::block_patch_histogram(patches);
    log << "  " << out.layers[i].name << ": " << nn::block_patch_histogram(patches) << std::endl;
  }
  r.report = finetune_and_export(out, o, meta, log, &r.allocated_accuracy);
  return r;
}

}  // namespace polympc::train
