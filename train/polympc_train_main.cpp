// polympc-train: trains the shipped Fashion-MNIST CNN (ReLU / polynomial mix) and writes
// it as ONNX. Example:
//   polympc-train --data /usr/share/datasets/fashion-mnist --epochs 12
//       --acts poly,relu,poly --out models/fmnist_cnn.onnx --seed 1 --threads 2
#include <CLI/CLI.hpp>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iomanip>
#include <iostream>

#include "polympc/train/trainer.h"

namespace {

void print_report(const polympc::train::TrainOptions& o, const polympc::train::TrainReport& r) {
  std::cout << std::fixed << std::setprecision(2);
  if (!r.search.empty()) {
    std::cout << "\nsearch (lambda " << o.lambda << ", " << o.compare << ", trunc " << o.trunc << ", " << o.board
              << ", " << o.network << ", " << o.phase << "): site, softmax(alpha), modelled ms, choice\n";
    for (const auto& c : r.search)
      std::cout << "  " << c.site << "  " << c.weight[0] << " / " << c.weight[1] << "  " << c.ms[0] << " / "
                << c.ms[1] << "  -> " << c.choice << "\n";
  }
  std::cout << "\nactivations " << r.acts << ", pools " << r.pools << ": modelled latency " << r.modelled_latency_ms
            << " ms (" << o.phase << ", " << o.board << ", " << o.network << "; MODELLED)\n";
  std::cout << "\nwrote " << o.out << " (" << r.onnx_bytes << " bytes)\n";
  std::cout << "training time            " << std::setprecision(1) << r.train_seconds << " s\n"
            << std::setprecision(2);
  std::cout << "torch model accuracy     " << 100.0 * r.torch_accuracy << "% on "
            << r.test_images << " test images\n";
  std::cout << "exported ONNX accuracy   " << 100.0 * r.exported_accuracy << "% (float, "
            << "load_onnx round trip)\n";
  std::cout << "max |logit diff|         " << std::scientific << std::setprecision(2)
            << r.max_logit_diff << std::fixed << " (torch vs exported IR)\n";
  std::cout << "\nmax |activation| on the test set (exported network):\n";
  std::cout << "  " << std::left << std::setw(10) << "input" << std::setw(15) << "-"
            << std::right << std::setw(12) << std::setprecision(4) << r.max_input_abs << "\n";
  for (const auto& a : r.activations) {
    std::cout << "  " << std::left << std::setw(10) << a.layer << std::setw(15) << a.op
              << std::right << std::setw(12) << a.max_abs << "\n";
  }
  if (!r.poly_summary.empty()) {
    std::cout << "\npolynomial coefficients (y = a2 x^2 + a1 x + a0, per channel):\n";
    for (const auto& s : r.poly_summary) std::cout << "  " << s << "\n";
  }
}

int run(int argc, char** argv) {
  polympc::train::TrainOptions o;
  CLI::App app{"Train the polympc Fashion-MNIST CNN (ReLU / PASNet polynomial activations) "
               "and export it as ONNX"};
  app.add_option("--data", o.data_dir, "Directory with the Fashion-MNIST IDX files")
      ->capture_default_str();
  app.add_option("--epochs", o.epochs, "Training epochs")->capture_default_str();
  app.add_option("--arch", o.arch, "Architecture: fmnist-cnn | resnet8 (residual)")->capture_default_str();
  app.add_option("--dataset", o.dataset, "fashion-mnist (IDX files in --data) | cifar10 (binary version in --data)")
      ->capture_default_str();
  app.add_option("--acts", o.acts,
                 "Activation per site (act1,act2,...): poly, relu or id (linear, fmnist-cnn) each, or one word for all")
      ->capture_default_str();
  app.add_option("--widths", o.widths, "fmnist-cnn widths conv1,conv2,fc1 (`polympc arch --family deepreshape`)")
      ->capture_default_str();
  app.add_option("--out", o.out, "ONNX file to write")->capture_default_str();
  app.add_option("--seed", o.seed, "Random seed (init, shuffling, flips)")->capture_default_str();
  app.add_option("--threads", o.threads, "Intra-op threads (0 = all cores)")->capture_default_str();
  app.add_option("--batch-size", o.batch_size, "Mini-batch size")->capture_default_str();
  app.add_option("--lr", o.lr, "Peak Adam learning rate (cosine decay)")->capture_default_str();
  app.add_option("--poly-scale", o.poly_scale, "Fixed scale s in poly(x) = s*w0*x^2 + w1*x + b")
      ->capture_default_str();
  bool no_flip = false;
  app.add_flag("--no-flip", no_flip, "Disable random horizontal flips");
  app.add_option("--train-limit", o.train_limit, "Use only the first N training images");
  app.add_option("--test-limit", o.test_limit, "Use only the first N test images");
  app.add_option("--pools", o.pools, "Pooling per site (pool1,pool2): avg or max each, or one word for all (without --search)")
      ->capture_default_str();
  app.add_flag("--search", o.search,
               "Latency-aware search (PASNet): every site mixes its two choices through softmax(alpha), the loss "
               "adds lambda x the modelled latency; then argmax per site and --epochs of fine-tuning");
  app.add_option("--lambda", o.lambda, "Weight of the modelled latency (per ms) in the search loss")
      ->capture_default_str();
  app.add_option("--search-epochs", o.search_epochs, "Supernet epochs before the argmax")->capture_default_str();
  app.add_option("--search-lr", o.search_lr, "SGD learning rate of the weights during the search")
      ->capture_default_str();
  app.add_option("--alpha-lr", o.alpha_lr, "Adam learning rate of alpha during the search")->capture_default_str();
  app.add_option("--compare", o.compare, "ReLU comparison priced by the latency model: gmw | fss")
      ->capture_default_str();
  app.add_option("--trunc", o.trunc, "Truncation priced by the latency model: exact | prob | fss | slack")
      ->capture_default_str();
  app.add_option("--board", o.board, "Board of the latency model")->capture_default_str();
  app.add_option("--network", o.network, "Network preset of the latency model (lan, wan, ...)")
      ->capture_default_str();
  app.add_option("--phase", o.phase, "Latency phase: online | offline | total")->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  o.flip = !no_flip;
  const auto report = polympc::train::train_and_export(o, std::cout);
  print_report(o, report);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  polympc::train::reexec_with_passive_omp_wait(argv);
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "polympc-train: error: %s\n", e.what());
    return 1;
  }
}
