// `polympc rings`: per-layer scales by sensitivity (with --scale-tolerance), ring widths by
// range and conversions cut by the performance model's bytes (nn/ring_alloc.h) for a model,
// written into its ONNX metadata with the fixed point they were chosen for (docs/protocols.md
// "Per-layer rings in the executor", "Per-layer scales"); prints the online bytes per image
// the performance model counts for it and for the same model at uniform l = 64, f = 12.
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include "commands.h"
#include "protocol_args.h"
#include "polympc/nn/dataset.h"
#include "polympc/nn/inference.h"
#include "polympc/nn/onnx.h"
#include "polympc/nn/plain.h"
#include "polympc/nn/quantize.h"
#include "polympc/nn/ring_alloc.h"
#include "polympc/perfmodel/model.h"

namespace polympc::apps {

namespace {

struct RingsArgs {
  std::string model;
  std::string out;
  std::string data = nn::kFashionMnistDir;
  ProtocolArgs protocol;
  int coef_frac = -1;
  int margin = 1;
  double scale_tolerance = -1;  ///< --scale-tolerance, accuracy points; < 0: no scale search
  double byte_budget = 0;       ///< --byte-budget, online bytes per image; 0: none
  int min_frac = 2;
  int64_t calib_images = 1000;
  int64_t test_images = 10000;
};

/// The performance model that counts a configuration's bytes (board and link do not
/// enter the counts).
perfmodel::Model byte_counter(const mpc::RingConfig& ring, const mpc::ProtocolOptions& po, int coef_frac) {
  namespace pm = perfmodel;
  pm::Options o;
  o.ring = ring;
  o.protocol = po;
  o.coef_frac = coef_frac;
  return pm::Model(pm::load_board("u280"), pm::load_kernels(), pm::load_network("lan"), o);
}

/// Online bytes per image of `net`, both parties, as `m` counts them (exact).
double online_bytes(const perfmodel::Model& m, const nn::Network& net) {
  const perfmodel::NetworkReport r = m.report(perfmodel::from_network(net), false);
  return static_cast<double>(r.total.bytes_p0 + r.total.bytes_p1);
}

void run_rings(const RingsArgs& a) {
  using Clock = std::chrono::steady_clock;
  const mpc::RingConfig ring = ring_of(a.protocol);
  const mpc::ProtocolOptions po = protocol_of(a.protocol);
  if (a.calib_images < 1 || a.test_images < 0) throw nn::ModelError("--calib-images must be >= 1, --test-images >= 0");
  nn::Network net = nn::load_onnx(a.model);
  for (nn::Layer& L : net.layers) {  // chosen afresh
    L.ring_bits = 0;
    if (a.scale_tolerance >= 0 || a.byte_budget > 0) L.frac_bits = 0;
  }
  const nn::Dataset calib = nn::load_idx_dataset(a.data, "train", a.calib_images);
  nn::check_images(calib, 0, static_cast<size_t>(a.calib_images), net.input_size());
  const size_t count = static_cast<size_t>(a.calib_images);
  const mpc::Words x = nn::encode_input(ring, calib.image(0), count * static_cast<size_t>(net.input_size()));
  const int coef = nn::resolve_coef_frac(ring, a.coef_frac);
  const auto t0 = Clock::now();
  // One allocation: scales at `tolerance` points (< 0: none), rings by range, conversions cut.
  struct Allocation {
    nn::Network net;
    nn::RingAllocation range;
    std::vector<int> bits;
    double bytes = 0;
  };
  const perfmodel::Model counter = byte_counter(ring, po, coef);
  auto bytes_of = [&](nn::Network t, const std::vector<int>& bits) {
    for (size_t i = 0; i < bits.size(); ++i) t.layers[i].ring_bits = bits[i];
    return online_bytes(counter, t);
  };
  auto allocate = [&](double tolerance) {
    Allocation r;
    r.net = net;
    if (tolerance >= 0) {
      const nn::ScaleAllocation sc = nn::allocate_frac_bits(
          net, ring, po, coef, x, calib.labels, count, tolerance / 100, a.min_frac, [&](size_t i) {
            std::fprintf(stderr, "\rscales: %zu / %zu layers", i + 1, net.layers.size());
            if (i + 1 == net.layers.size()) std::fprintf(stderr, "\n");
          });
      for (size_t i = 0; i < net.layers.size(); ++i) r.net.layers[i].frac_bits = sc.frac[i];
      std::printf("scales: calibration accuracy %.2f %% at f=%d everywhere, %.2f %% with the per-layer scales "
                  "(tolerance %.2f points, %zu twin runs)\n",
                  100 * sc.base_accuracy, ring.frac, 100 * sc.accuracy, tolerance, sc.probes);
    }
    r.range = nn::allocate_ring_bits(r.net, ring, po, coef, x, count, a.margin, [&](size_t i) {
      std::fprintf(stderr, "\rrings: %zu / %zu layers", i + 1, net.layers.size());
      if (i + 1 == net.layers.size()) std::fprintf(stderr, "\n");
    });
    // Conversions cut where a wider producer costs fewer bytes (counted by the model).
    r.bits = nn::cut_conversions(r.net, r.range.bits, [&](const std::vector<int>& bits) { return bytes_of(r.net, bits); });
    r.bytes = bytes_of(r.net, r.bits);
    return r;
  };
  Allocation chosen;
  if (a.byte_budget > 0) {  // the smallest tolerance of the ladder whose allocation meets the budget
    double fewest = 0;
    bool met = false;
    for (const double t : {0.0, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0}) {
      if (t < a.scale_tolerance) continue;
      chosen = allocate(t);
      std::printf("byte budget %.0f: %.0f online bytes per image at a tolerance of %.2f points\n", a.byte_budget,
                  chosen.bytes, t);
      fewest = fewest == 0 ? chosen.bytes : std::min(fewest, chosen.bytes);
      if ((met = chosen.bytes <= a.byte_budget)) break;
    }
    if (!met)
      throw mpc::InvalidArgument("--byte-budget " + std::to_string(static_cast<long long>(a.byte_budget)) +
                                 ": the fewest online bytes per image reached are " +
                                 std::to_string(static_cast<long long>(fewest)) +
                                 " (tolerances up to 5 points); raise the budget or lower --min-frac");
  } else {
    chosen = allocate(a.scale_tolerance);
  }
  net = chosen.net;
  const nn::RingAllocation& alloc = chosen.range;
  const std::vector<int>& bits = chosen.bits;
  auto bytes_with = [&](const std::vector<int>& b) { return bytes_of(net, b); };
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  for (size_t i = 0; i < net.layers.size(); ++i) net.layers[i].ring_bits = bits[i];
  nn::fixed_forward(nn::quantize(net, ring, coef), x, count, po);  // the result runs the calibration images

  std::printf("%-16s %-10s %4s %8s %8s %8s\n", "layer", "op", "f", "minimum", "range l", "ring l");
  for (size_t i = 0; i < net.layers.size(); ++i)
    std::printf("%-16s %-10s %4d %8d %8d %8d\n", net.layers[i].name.c_str(), nn::op_name(net.layers[i].op),
                nn::resolve_frac(net.layers[i].frac_bits, ring.frac), alloc.minimum[i], alloc.bits[i], bits[i]);
  std::printf("conversions cut: %.0f online bytes per image with the range widths, %.0f after widening producers\n",
              bytes_with(alloc.bits), bytes_with(bits));
  std::printf("calibration: %lld training images, %zu twin runs, %.1f s; margin %d bits; truncations placed for l=%d f=%d\n",
              static_cast<long long>(a.calib_images), alloc.probes, seconds, a.margin, ring.bits, ring.frac);
  nn::Network uniform = net;
  for (nn::Layer& L : uniform.layers) L.ring_bits = L.frac_bits = 0;
  const mpc::RingConfig base{64, 12};
  const double mixed = online_bytes(counter, net), wide = online_bytes(byte_counter(base, po, -1), uniform);
  std::printf("online bytes per image (both parties, counted): %.0f with these rings, %.0f at uniform l=64 f=12: %.2fx fewer\n",
              mixed, wide, wide / mixed);
  if (a.test_images > 0) {
    const nn::Dataset test = nn::load_idx_dataset(a.data, "t10k", a.test_images);
    const nn::PlaintextReport r =
        nn::evaluate_plaintext(nn::quantize(net, ring, coef), test, static_cast<size_t>(a.test_images), 250, po);
    std::printf("test accuracy (%lld images): fixed-point twin %.2f %%, float %.2f %%\n",
                static_cast<long long>(a.test_images), 100 * r.fixed_accuracy, 100 * r.float_accuracy);
  }
  std::map<std::string, std::string> meta{{"polympc.method", "rings"},
                                          {nn::kRingBitsMetadata, nn::layer_bits_spec(net)},
                                          {nn::kFracBitsMetadata, nn::layer_values_spec(net, nn::kFracBits)},
                                          {nn::kBitsMetadata, std::to_string(ring.bits)},
                                          {nn::kFracMetadata, std::to_string(ring.frac)},
                                          {nn::kCoefFracMetadata, std::to_string(coef)},
                                          {"polympc.margin", std::to_string(a.margin)},
                                          {"polympc.byte_budget", a.byte_budget > 0 ? std::to_string(a.byte_budget) : "none"},
                                          {"polympc.calib_images", std::to_string(a.calib_images)},
                                          {"polympc.source_model", a.model}};
  for (const auto& [k, v] : nn::onnx_metadata(a.model))
    if (!meta.count(k)) meta[k] = v;
  nn::save_onnx(net, a.out, meta);
  std::printf("wrote %s (ONNX metadata %s, %s, %s, %s, %s)\n", a.out.c_str(), nn::kRingBitsMetadata,
              nn::kFracBitsMetadata, nn::kBitsMetadata, nn::kFracMetadata, nn::kCoefFracMetadata);
}

}  // namespace

void add_rings_command(CLI::App& app) {
  auto args = std::make_shared<RingsArgs>();
  args->protocol.bits = 34;
  args->protocol.frac = 6;
  CLI::App* c = app.add_subcommand(
      "rings", "per-layer fixed point: scales by sensitivity (--scale-tolerance), the narrowest ring of each layer "
               "on calibration images, conversions cut where the performance model counts fewer bytes; into the "
               "model's ONNX metadata (docs/protocols.md \"Per-layer rings in the executor\", \"Per-layer scales\")");
  c->add_option("--model", args->model, "ONNX model")->required();
  c->add_option("--out", args->out, "ONNX model to write (the same network, with its rings in the metadata)")->required();
  c->add_option("--data", args->data, "directory with the IDX files (train split for calibration, t10k for the test)")
      ->capture_default_str();
  add_protocol_options(*c, args->protocol);
  c->add_option("--coef-frac", args->coef_frac, "fractional bits of the polynomial coefficients (default f + 8)");
  c->add_option("--margin", args->margin, "bits added to each layer's narrowest ring")->capture_default_str();
  c->add_option("--scale-tolerance", args->scale_tolerance,
                "per-layer fixed-point scales first: each Conv, Linear and Poly layer at the smallest f_i >= "
                "--min-frac that keeps the calibration accuracy within this many points of f's (default: off, "
                "every layer at --frac)");
  c->add_option("--byte-budget", args->byte_budget,
                "online bytes per image (both parties, counted by the performance model) to meet: the scale search "
                "runs at tolerances 0, 0.1, 0.2, 0.3, 0.5, 1, 2, 5 points (from --scale-tolerance) and keeps the first "
                "allocation within the budget");
  c->add_option("--min-frac", args->min_frac, "smallest per-layer scale the search tries")->capture_default_str();
  c->add_option("--calib-images", args->calib_images, "training images the twin must run without overflow")
      ->capture_default_str();
  c->add_option("--test-images", args->test_images, "test images for the accuracy of the result (0 = none)")
      ->capture_default_str();
  c->callback([args] { run_rings(*args); });
}

}  // namespace polympc::apps
