// `polympc block-relu`: knapsack allocation of Block-ReLU patch sizes (nn/block_alloc.h;
// Gorski, Jevnisek & Avidan, arXiv 2304.10442): measures per-channel distortion on
// Fashion-MNIST training images with the float model, solves under a DReLU budget and writes
// the model with BlockRelu layers as ONNX. No fine-tuning (docs/block_relu_allocation.md).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include "commands.h"
#include "polympc/nn/block_alloc.h"
#include "polympc/nn/dataset.h"
#include "polympc/nn/lowering.h"
#include "polympc/nn/onnx.h"
#include "polympc/nn/plain.h"

namespace polympc::apps {

namespace {

struct BlockReluArgs {
  std::string model;
  std::string out;
  std::string data = nn::kFashionMnistDir;
  int64_t budget = -1;
  double budget_fraction = -1;
  int64_t calib_images = 64;
  int64_t test_images = 10000;
  int64_t batch = 32;
};

/// Float top-1 accuracy on the first `count` images of `d`.
double float_accuracy(const nn::Network& net, const nn::Dataset& d, int64_t count) {
  int64_t right = 0;
  const int64_t step = 250;
  for (int64_t first = 0; first < count; first += step) {
    const int64_t n = std::min(step, count - first);
    const std::vector<float> logits =
        nn::float_forward(net, d.image(first), static_cast<size_t>(n));
    const std::vector<int> pred =
        nn::argmax_rows(std::vector<double>(logits.begin(), logits.end()), static_cast<size_t>(n));
    for (int64_t m = 0; m < n; ++m)
      right += pred[static_cast<size_t>(m)] == d.labels[static_cast<size_t>(first + m)];
  }
  return static_cast<double>(right) / static_cast<double>(count);
}

void show_progress(size_t done, size_t total) {
  std::fprintf(stderr, "\rdistortion: %zu / %zu calibration images", done, total);
  if (done == total) std::fprintf(stderr, "\n");
}

void run_block_relu(const BlockReluArgs& a) {
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  const nn::Network net = nn::load_onnx(a.model);
  const int64_t before = nn::network_drelus(net), all = nn::all_relu_drelus(net);
  int64_t budget = a.budget;
  if (a.budget_fraction >= 0) {  // in [0, 1]: CLI::Range on the option
    budget = static_cast<int64_t>(std::floor(a.budget_fraction * static_cast<double>(before)));
  }
  if (budget < 0)
    throw nn::ModelError("give --budget B (DReLUs per image, >= 0) or --budget-fraction F");
  if (a.calib_images < 1 || a.batch < 1 || a.test_images < 0)
    throw nn::ModelError("--calib-images and --batch must be >= 1, --test-images >= 0");

  const nn::Dataset calib = nn::load_idx_dataset(a.data, "train", a.calib_images);
  nn::check_images(calib, 0, static_cast<size_t>(a.calib_images), net.input_size());
  const std::vector<nn::BlockPatch> kinds = nn::block_patch_candidates();
  const auto t1 = Clock::now();
  const std::vector<nn::LayerDistortion> measured =
      nn::measure_block_distortion(net, calib.image(0), static_cast<size_t>(a.calib_images),
                                   static_cast<size_t>(a.batch), kinds, show_progress);
  const auto t2 = Clock::now();
  const nn::BlockAllocation alloc = nn::allocate_block_patches(net, measured, kinds, budget);
  const auto t3 = Clock::now();
  const nn::Network out = nn::apply_block_allocation(net, alloc);
  const int64_t drelus = nn::network_drelus(out);

  std::map<std::string, std::string> meta{{"polympc.method", "block-relu"},
                                          {"polympc.budget", std::to_string(budget)},
                                          {"polympc.drelus", std::to_string(drelus)},
                                          {"polympc.drelus_model", std::to_string(before)},
                                          {"polympc.drelus_all_relu", std::to_string(all)},
                                          {"polympc.calib_images", std::to_string(a.calib_images)},
                                          {"polympc.source_model", a.model}};
  std::printf("%-16s %-10s %8s  %s\n", "layer", "shape", "DReLUs", "patches (channels per kind)");
  for (const auto& [i, patches] : alloc.patches) {
    const nn::Layer& L = out.layers[i];
    const std::string hist = nn::block_patch_histogram(patches);
    meta["polympc.patches." + L.name] = hist;
    const int p = out.producers(i)[0];
    std::printf("%-16s %-10s %8lld  %s\n", L.name.c_str(), nn::shape_str(L.out_shape).c_str(),
                static_cast<long long>(nn::block_relu_drelus(
                    L, p < 0 ? out.input_shape : out.layers[static_cast<size_t>(p)].out_shape)),
                hist.c_str());
  }
  nn::save_onnx(out, a.out, meta);
  auto pct = [](int64_t part, int64_t whole) {
    return whole > 0 ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0.0;
  };
  std::printf(
      "\nDReLUs per image: %lld of the model's %lld (%.2f %%), budget %lld; all-ReLU %lld (%.2f "
      "%%); "
      "summed distortion %.4g\n",
      static_cast<long long>(drelus), static_cast<long long>(before), pct(drelus, before),
      static_cast<long long>(budget), static_cast<long long>(all), pct(drelus, all),
      alloc.distortion);
  std::printf("distortion: %lld calibration images (train split) in %.1f s; knapsack %.2f s\n",
              static_cast<long long>(a.calib_images),
              std::chrono::duration<double>(t2 - t1).count(),
              std::chrono::duration<double>(t3 - t2).count());
  if (a.test_images > 0) {
    const nn::Dataset test = nn::load_idx_dataset(a.data, "t10k", a.test_images);
    std::printf(
        "float test accuracy (%lld images): before %.2f %%, after %.2f %% (no fine-tuning)\n",
        static_cast<long long>(a.test_images), 100 * float_accuracy(net, test, a.test_images),
        100 * float_accuracy(out, test, a.test_images));
  }
  std::printf("wrote %s (%.1f s in all)\n", a.out.c_str(),
              std::chrono::duration<double>(Clock::now() - t0).count());
}

}  // namespace

void add_block_relu_command(CLI::App& app) {
  auto args = std::make_shared<BlockReluArgs>();
  CLI::App* c = app.add_subcommand("block-relu",
                                   "replace ReLU layers by Block-ReLU with per-channel patch sizes "
                                   "chosen by a knapsack under a DReLU "
                                   "budget (arXiv 2304.10442); no fine-tuning");
  c->add_option("--model", args->model, "ONNX model")->required()->check(CLI::ExistingFile);
  c->add_option("--out", args->out, "ONNX file to write")->required();
  auto* b = c->add_option("--budget", args->budget, "DReLUs per image (all layers)");
  auto* f = c->add_option("--budget-fraction", args->budget_fraction,
                          "budget as a fraction of the model's DReLUs")
                ->check(CLI::Range(0.0, 1.0));
  b->excludes(f);
  f->excludes(b);
  c->add_option("--calib-images", args->calib_images,
                "first N training images measure the distortion")
      ->capture_default_str();
  c->add_option("--batch", args->batch, "calibration images per forward pass")
      ->capture_default_str();
  c->add_option("--test-images", args->test_images, "test images for the float accuracy (0: skip)")
      ->capture_default_str();
  c->add_option("--data", args->data, "directory with the IDX files (train and t10k splits)")
      ->capture_default_str();
  c->callback([args] { run_block_relu(*args); });
}

}  // namespace polympc::apps
