// Calibration benchmark of the performance model (issue #4 acceptance): with a calibration
// file from this machine, the model's predicted cpu-backend seconds per image against the
// seconds measured by a real private inference (nn::run_inproc, as `polympc infer`).
//
//   bench_perfmodel_calibration [--calibration FILE] [--model ONNX] [--images N] [--batch B]
//                               [--threads T] [--check]
//
// Without --calibration it calibrates first (`polympc bench calibrate`, ~10 s). Without
// --model it uses models/fmnist_cnn.onnx when it exists, else the same architecture
// (perfmodel zoo "fmnist-cnn") with random weights. Prints per-layer measured and predicted
// milliseconds per image and the ratio measured / predicted; --check exits 1 when the total
// is outside +-30 %.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <string>

#include "polympc/cpu/cpu_backend.h"
#include "polympc/nn/dataset.h"
#include "polympc/nn/inference.h"
#include "polympc/nn/onnx.h"
#include "polympc/mpc/allocator.h"
#include "polympc/perfmodel/calibrate.h"
#include "polympc/perfmodel/model.h"

using namespace polympc;
namespace pm = polympc::perfmodel;

namespace {

/// The shipped CNN's architecture (train/src/model.cpp) with random weights.
nn::Network synthetic_fmnist_cnn() {
  std::mt19937 g(7);
  auto conv = [&](const std::string& name, int cin, int cout, int k) {
    nn::Layer L;
    L.name = name;
    L.op = nn::OpKind::Conv;
    L.weight_shape = {cout, cin, k, k};
    std::normal_distribution<float> w(0.f, 1.0f / std::sqrt(static_cast<float>(cin * k * k)));
    for (int i = 0; i < cout * cin * k * k; ++i) L.weight.push_back(w(g));
    L.bias.assign(static_cast<size_t>(cout), 0.01f);
    return L;
  };
  auto linear = [&](const std::string& name, int in, int out) {
    nn::Layer L;
    L.name = name;
    L.op = nn::OpKind::Linear;
    L.weight_shape = {out, in};
    std::normal_distribution<float> w(0.f, 1.0f / std::sqrt(static_cast<float>(in)));
    for (int i = 0; i < out * in; ++i) L.weight.push_back(w(g));
    L.bias.assign(static_cast<size_t>(out), 0.01f);
    return L;
  };
  auto simple = [](const std::string& name, nn::OpKind op) {
    nn::Layer L;
    L.name = name;
    L.op = op;
    L.kernel_h = L.kernel_w = L.stride_h = L.stride_w = 2;
    return L;
  };
  auto poly = [&](const std::string& name, int channels) {
    nn::Layer L = simple(name, nn::OpKind::Poly);
    L.poly_a2.assign(static_cast<size_t>(channels), 0.005f);
    L.poly_a1.assign(static_cast<size_t>(channels), 1.0f);
    L.poly_a0.assign(static_cast<size_t>(channels), 0.0f);
    return L;
  };
  nn::Network net;
  net.name = "fmnist-cnn (random weights)";
  net.input_shape = {1, 28, 28};
  net.layers = {conv("conv1", 1, 16, 5),   poly("act1", 16),
                simple("pool1", nn::OpKind::AvgPool), conv("conv2", 16, 32, 5),
                simple("act2", nn::OpKind::Relu),     simple("pool2", nn::OpKind::AvgPool),
                simple("flatten", nn::OpKind::Flatten), linear("fc1", 512, 128),
                poly("act3", 128),                    linear("fc2", 128, 10)};
  net.infer_shapes();
  return net;
}

int run(int argc, char** argv) {
  std::string cal_path, model_path;
  size_t images = 500, batch = 100;
  int threads = 0;
  bool check = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw polympc::Error("missing value after " + a);
      return argv[++i];
    };
    if (a == "--calibration")
      cal_path = next();
    else if (a == "--model")
      model_path = next();
    else if (a == "--images")
      images = std::stoul(next());
    else if (a == "--batch")
      batch = std::stoul(next());
    else if (a == "--threads")
      threads = std::stoi(next());
    else if (a == "--check")
      check = true;
    else
      throw polympc::Error("unknown option " + a + " (see the file comment)");
  }
  pm::Calibration cal;
  if (cal_path.empty()) {
    std::fprintf(stderr, "calibrating this machine (polympc bench calibrate)...\n");
    pm::CalibrateOptions o;
    o.threads = threads;
    cal = pm::calibrate_cpu(o);
    cal.file = "(calibrated now)";
  } else {
    cal = pm::load_calibration(cal_path);
  }
  if (model_path.empty()) {
    const std::string shipped = std::string(POLYMPC_SOURCE_DIR) + "/models/fmnist_cnn.onnx";
    if (std::filesystem::exists(shipped)) model_path = shipped;
  }
  const nn::Network net = model_path.empty() ? synthetic_fmnist_cnn() : nn::load_onnx(model_path);
  const nn::QuantizedModel q = nn::quantize(net, mpc::RingConfig{64, 12});
  const nn::Dataset data = nn::load_idx_dataset(nn::kFashionMnistDir, "t10k", static_cast<int64_t>(images));

  // Measured: a real private inference on the cpu backend, both parties in this process.
  cpu::CpuBackend be0(threads), be1(threads);
  nn::InferenceOptions opt;
  opt.batch = batch;
  std::fprintf(stderr, "running %zu images (batch %zu) of %s...\n", images, batch,
               model_path.empty() ? net.name.c_str() : model_path.c_str());
  const nn::InferenceReport rep = nn::run_inproc(q, data, images, be0, be1, opt);

  // Predicted: the model on the same batches.
  const pm::NetShape shape = pm::from_network(net);
  std::map<std::string, double> pred;
  double pred_total = 0;
  for (size_t start = 0; start < images; start += batch) {
    pm::Options o;
    o.batch = std::min(batch, images - start);
    const pm::Model m(pm::load_board("u250"), pm::load_kernels(), pm::load_network("lan"), o, cal);
    const pm::NetworkReport r = m.report(shape);
    if (!r.total.has_cpu) throw polympc::Error("the calibration file lacks a kernel or protocol the model uses");
    for (const pm::LayerCost& c : r.layers) pred[c.name] += c.cpu_s;
    pred_total += r.total.cpu_s;
  }
  const double N = static_cast<double>(images);
  std::printf("calibration: %s (%s, created %s)\n", cal.file.c_str(), cal.machine.c_str(), cal.created.c_str());
  std::printf("model: %s, %zu images, batch %zu, cpu backend (%d threads per party, 0 = all cores)\n\n",
              model_path.empty() ? net.name.c_str() : model_path.c_str(), images, batch, threads);
  std::printf("%-10s %-14s %14s %16s %8s\n", "layer", "op", "measured ms/img", "predicted ms/img", "ratio");
  for (const nn::LayerReport& l : rep.layers) {
    const double p = pred[l.name] / N;
    std::printf("%-10s %-14s %14.4f %16.4f %8s\n", l.name.c_str(), l.op.c_str(), l.seconds * 1e3, p * 1e3,
                p > 0 ? std::to_string(l.seconds / p).substr(0, 5).c_str() : "-");
  }
  const double measured = rep.seconds_per_image, predicted = pred_total / N;
  const double ratio = measured / predicted;
  std::printf("\ntotal online: measured %.4f ms per image, predicted %.4f ms per image, ratio measured/predicted = %.3f\n",
              measured * 1e3, predicted * 1e3, ratio);
  const bool ok = ratio > 1.0 / 1.3 && ratio < 1.3;
  std::printf("acceptance (+-30 %%): %s\n", ok ? "within" : "OUTSIDE");
  return check && !ok ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  polympc::mpc::keep_large_allocations_in_heap();  // as the CLI that calibrates
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_perfmodel_calibration: error: %s\n", e.what());
    return 2;
  }
}
