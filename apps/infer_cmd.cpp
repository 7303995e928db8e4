// `polympc infer`: two-party private inference of a data set, both parties in one process.
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "backends.h"
#include "commands.h"
#include "party_cmd.h"
#include "protocol_args.h"
#include "polympc/nn/dataset.h"
#include "polympc/nn/inference.h"
#include "polympc/nn/placement.h"
#include "polympc/nn/arch_file.h"
#include "polympc/nn/onnx.h"
#include "polympc/nn/winograd.h"
#include "polympc/perfmodel/description.h"
#include "polympc/scheduler/plan.h"
#include "polympc/scheduler/timeline.h"

namespace polympc::apps {

namespace {
struct InferArgs {
  std::string model = "models/fmnist_cnn.onnx";
  std::string data = nn::kFashionMnistDir;
  size_t images = 500;
  size_t batch = 100;
  std::string backend = "cpu";
  ProtocolArgs protocol;
  PartyArgs party;
  std::string json;
  std::string reveal = "logits";
  std::optional<uint64_t> seed;  ///< --insecure-test-seed
  bool model_given = false;
  BackendArgs backend_args;
  bool quiet = false;
  bool explain = false;
  bool plaintext_only = false;  ///< --plaintext-only: the twins' accuracy, no 2PC
  std::string link;     ///< --link: emulated link (preset name or BW,RTT)
  size_t workers = 1;   ///< --workers: batches whose online phases overlap
  std::string trace;    ///< --trace: measured Chrome trace of the run
  std::string plan;     ///< --plan: a plan of `polympc schedule`: its tiling executed, its layers shown beside the run's
  std::string tiles;    ///< --tiles: tile counts per layer (N, or LAYER=N,...), over the plan's
  size_t lanes = 0;     ///< --tile-lanes: lanes that execute the tiles (0: the plan's, else 2)
  std::string winograd = "off";  ///< --winograd: nn::apply_winograd spec (server role: explicit forms)
  std::string layer_bits;        ///< --layer-bits LAYER=BITS,...: per-layer rings over the model's
  std::string layer_frac;        ///< --layer-frac LAYER=FRAC,...: per-layer scales over the model's
  int coef_frac = -1;            ///< --coef-frac: polynomial coefficient scale (-1 = the model's, else f + 8)
};

/// The plan's modelled layers beside this run's measured ones (per image).
void print_plan_comparison(const scheduler::PlanLayers& plan, const nn::InferenceReport& r) {
  std::map<std::string, const scheduler::PlanLayer*> by_name;
  for (const auto& l : plan.layers) by_name[l.name] = &l;
  std::printf("\nplan (%s on %s, %s, batch %zu) beside this run (backend %s, batch %zu):\n", plan.network.c_str(),
              plan.board.c_str(), plan.preset.c_str(), plan.batch, r.backend.c_str(), r.batch);
  std::printf("%-10s %6s %6s %22s %22s\n", "layer", "tiles", "run", "modelled ms/img (plan)", "measured ms/img (run)");
  double modelled = 0, measured = 0;
  for (const auto& l : r.layers) {
    auto it = by_name.find(l.name);
    auto ex = r.tiles.find(l.name);
    const std::string run = ex == r.tiles.end() ? "1" : std::to_string(ex->second);
    const double m = it == by_name.end() ? 0 : 1e3 * it->second->sequential_s / static_cast<double>(plan.batch);
    modelled += m;
    measured += 1e3 * l.seconds;
    if (it == by_name.end())
      std::printf("%-10s %6s %6s %22s %22.3f\n", l.name.c_str(), "-", run.c_str(), "-", 1e3 * l.seconds);
    else
      std::printf("%-10s %6d %6s %22.3f %22.3f\n", l.name.c_str(), it->second->tiles, run.c_str(), m, 1e3 * l.seconds);
  }
  std::printf("%-10s %6s %6s %22.3f %22.3f\n", "total", "", "", modelled, measured);
  std::printf("modelled: the plan's board and network preset (MODELLED, docs/perfmodel.md); measured: this "
              "machine's %s backend%s, %zu lane(s). \"run\": the tiles this run executed (the plan's, or --tiles, "
              "at most the batch; input and output untiled).\n",
              r.backend.c_str(), r.link.empty() ? " without link emulation" : (" over " + r.link).c_str(), r.lanes);
}

/// The executed tiling: the plan's tile counts per layer (by name; a plan for another
/// network is refused), then --tiles ("N": every layer; "LAYER=N,...": those layers).
nn::Tiling tiling_of(const std::optional<scheduler::PlanLayers>& plan, const std::string& plan_path,
                     const std::string& spec, size_t lanes, const nn::Network& net) {
  nn::Tiling t;
  t.lanes = lanes != 0 ? lanes : plan && plan->lanes != 0 ? plan->lanes : 2;
  t.tiles.assign(net.layers.size(), 1);
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < net.layers.size(); ++i) index[net.layers[i].name] = i;
  if (plan) {
    std::map<std::string, int> forms;
    for (const nn::Layer& L : net.layers) forms[L.name] = L.op == nn::OpKind::Conv ? L.winograd : 0;
    try {
      scheduler::check_plan_forms(*plan, plan_path, forms);
    } catch (const perfmodel::PerfModelError& e) {
      throw mpc::InvalidArgument(e.what());
    }
    std::map<std::string, int> planned;
    for (const auto& l : plan->layers) planned[l.name] = l.tiles;
    for (size_t i = 0; i < net.layers.size(); ++i) {
      auto it = planned.find(net.layers[i].name);
      if (it == planned.end())
        throw mpc::InvalidArgument("plan '" + plan_path + "' has no layer '" + net.layers[i].name +
                                   "': it was made for another network (" + plan->network + ")");
      t.tiles[i] = static_cast<size_t>(std::max(1, it->second));
    }
  }
  auto count = [](const std::string& v, const std::string& what) {
    size_t pos = 0;
    unsigned long n = 0;
    try {
      n = std::stoul(v, &pos);
    } catch (const std::exception&) {
      pos = 0;
    }
    if (pos != v.size() || v.empty() || n < 1 || n > 4096)
      throw mpc::InvalidArgument("--tiles: " + what + " needs a tile count in [1, 4096], got '" + v + "'");
    return static_cast<size_t>(n);
  };
  if (spec.empty()) return t;
  if (spec.find('=') == std::string::npos) {
    t.tiles.assign(net.layers.size(), count(spec, "every layer"));
    return t;
  }
  std::stringstream ss(spec);
  for (std::string item; std::getline(ss, item, ',');) {
    const size_t eq = item.find('=');
    const std::string name = item.substr(0, eq);
    auto it = index.find(name);
    if (eq == std::string::npos || it == index.end())
      throw mpc::InvalidArgument("--tiles: '" + item + "' is not LAYER=N with a layer of the model");
    t.tiles[it->second] = count(item.substr(eq + 1), "layer '" + name + "'");
  }
  return t;
}

/// --link: a network preset of the performance model (lan, wan, ...; its bandwidth and
/// RTT) or "BW,RTT" in MB/s and ms.
mpc::LinkSpec link_of(const std::string& s) {
  if (s.find(',') != std::string::npos) return mpc::parse_link(s);
  const perfmodel::NetworkPreset p = perfmodel::load_network(s);
  mpc::LinkSpec l;
  l.name = p.name;
  l.bytes_per_s = p.bandwidth_bytes_per_s;
  l.rtt_s = p.rtt_s;
  return l;
}

void progress_bar(size_t done, size_t total, double t0) {
  const int width = 30;
  const int filled = static_cast<int>(width * done / (total ? total : 1));
  const double el = std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count() - t0;
  std::fprintf(stderr, "\r[%s%s] %zu/%zu images  %.1f s", std::string(static_cast<size_t>(filled), '#').c_str(),
               std::string(static_cast<size_t>(width - filled), '.').c_str(), done, total, el);
  if (done == total) std::fprintf(stderr, "\n");
  std::fflush(stderr);
}

std::string human_bytes(double b) {
  std::ostringstream o;
  o << std::fixed << std::setprecision(1);
  if (b >= 1 << 20)
    o << b / (1 << 20) << " MiB";
  else if (b >= 1 << 10)
    o << b / (1 << 10) << " KiB";
  else
    o << b << " B";
  return o.str();
}

void run_infer(const InferArgs& a) {
  const nn::Reveal reveal = nn::parse_reveal(a.reveal);
  if (!a.party.role.empty() &&
      (!a.link.empty() || a.workers != 1 || !a.trace.empty() || !a.plan.empty() || !a.tiles.empty()))
    throw mpc::InvalidArgument("--link, --workers, --trace, --plan and --tiles apply to in-process runs (without --role)");
  if (!a.party.role.empty() && (!a.layer_bits.empty() || !a.layer_frac.empty() || a.coef_frac >= 0))
    throw mpc::InvalidArgument("--layer-bits, --layer-frac and --coef-frac apply to in-process runs; for --role, write "
                               "them into the model (ONNX metadata polympc.ring_bits, polympc.frac_bits, which both "
                               "parties read)");
  if (!a.party.role.empty() && (a.plaintext_only || a.explain))
    throw mpc::InvalidArgument("--plaintext-only and --explain apply to in-process runs (without --role)");
  if (!a.party.role.empty()) {  // one party of a two-process run over TCP
    run_infer_party(a.party, a.model, a.model_given, a.winograd, a.data, a.images, a.backend, a.backend_args,
                    a.protocol, reveal, a.quiet, a.json);
    return;
  }
  const mpc::RingConfig ring = ring_of(a.protocol);
  const mpc::ProtocolOptions po = protocol_of(a.protocol);

  std::optional<scheduler::PlanLayers> plan;
  if (!a.plan.empty()) {
    plan = scheduler::read_plan_layers(a.plan);
    auto mismatch = [&](const std::string& what, const std::string& theirs, const std::string& ours) {
      if (theirs != ours)
        throw mpc::InvalidArgument("plan '" + a.plan + "' was made for " + what + " " + theirs + ", this run uses " +
                                   ours + " (polympc schedule takes the same options)");
    };
    mismatch("--compare", plan->compare, a.protocol.compare);
    mismatch("--trunc", plan->trunc, a.protocol.trunc);
    mismatch("--bits", std::to_string(plan->ring_bits), std::to_string(ring.bits));
    mismatch("--frac", std::to_string(plan->frac_bits), std::to_string(ring.frac));
    if (plan->target == "cpu")  // its tiles were chosen for this batch on the cpu backend
      mismatch("--batch", std::to_string(plan->batch), std::to_string(a.batch));
  }
  nn::Network net = nn::load_onnx(a.model);
  nn::set_layer_bits(net, nn::parse_layer_bits(a.layer_bits));
  nn::set_layer_values(net, nn::parse_layer_values(a.layer_frac, nn::kFracBits), nn::kFracBits);
  const int winograd_layers =
      a.winograd == "off" ? 0 : nn::apply_winograd(net, a.winograd, ring, po, nn::resolve_coef_frac(ring, a.coef_frac));
  check_layer_bits(po, net);
  check_trunc_failure_run(a.protocol, ring, po, net, a.images);
  nn::QuantizedModel q = nn::quantize(net, ring, a.coef_frac);
  if (a.explain) {  // the truncation placement under these options, then stop
    std::printf("%s", nn::plan_scales(net, ring, po, q.coef_frac).explain(nn::scale_nodes(net)).c_str());
    return;
  }
  nn::Dataset data = nn::load_idx_dataset(a.data, "t10k");
  if (static_cast<int64_t>(a.images) > data.count)
    throw nn::DatasetError("asked for " + std::to_string(a.images) + " images but the test set in " + a.data +
                           " has " + std::to_string(data.count));
  if (a.plaintext_only) {  // the plaintext twins only: fixed-point and float accuracy, then stop
    const nn::PlaintextReport r = nn::evaluate_plaintext(q, data, a.images, a.batch, po);
    std::printf("plaintext only (no 2PC): %zu images, winograd %s (%d layers), l=%d f=%d, trunc %s\n", r.images,
                a.winograd.c_str(), winograd_layers, ring.bits, ring.frac, a.protocol.trunc.c_str());
    std::printf("accuracy: fixed-point plaintext %.2f %%   float %.2f %%   (%.2f s)\n", 100 * r.fixed_accuracy,
                100 * r.float_accuracy, r.seconds);
    if (!a.json.empty()) {
      nlohmann::json j;
      j["model"] = a.model;
      j["images"] = r.images;
      j["plaintext_only"] = true;
      j["winograd"] = a.winograd;
      j["winograd_layers"] = winograd_layers;
      j["trunc"] = a.protocol.trunc;
      j["ring_bits"] = ring.bits;
      j["frac_bits"] = ring.frac;
      j["plaintext_accuracy"] = r.fixed_accuracy;
      j["float_accuracy"] = r.float_accuracy;
      std::ofstream f(a.json);
      f << j.dump(2) << "\n";
      if (!f) throw polympc::Error("cannot write '" + a.json + "'");
    }
    return;
  }
  nn::InferenceOptions opt;
  opt.batch = a.batch;
  opt.protocol = po;
  opt.insecure_test_seed = a.seed;
  opt.reveal = reveal;
  if (!a.link.empty()) opt.link = link_of(a.link);
  if (a.workers == 0) throw mpc::InvalidArgument("--workers must be >= 1");
  opt.workers = a.workers;
  opt.tiling = tiling_of(plan, a.plan, a.tiles, a.lanes, q.net);
  // Both parties run in this process, and a party's workers and tiling lanes at the same
  // time: they share the party's --threads (default: half the cores per party).
  const BackendArgs shared = share_threads(
      a.backend_args,
      opt.workers * (opt.tiling.active() ? opt.tiling.lanes_at(std::max<size_t>(1, std::min(a.batch, a.images))) : 1), 2);
  auto be0 = make_backend(a.backend, shared);
  auto be1 = make_backend(a.backend, shared);
  opt.make_backend = [&a, shared](int) { return make_backend(a.backend, shared); };
  mpc::SpanRecorder spans;
  if (!a.trace.empty()) opt.trace = &spans;
  const double t0 = std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  if (!a.quiet) opt.progress = [t0](size_t d, size_t t) { progress_bar(d, t, t0); };
  if (!a.quiet)
    std::fprintf(stderr,
                 "polympc infer: %s, %zu Fashion-MNIST test images, backend %s, compare %s (bits "
                 "%s), trunc %s, l=%d "
                 "f=%d, reveal %s, winograd %s (%d layers)\n",
                 a.model.c_str(), a.images, a.backend.c_str(), a.protocol.compare.c_str(),
                 mpc::compare_bits_name(po.compare_bits).c_str(), a.protocol.trunc.c_str(),
                 ring.bits, ring.frac, nn::reveal_name(reveal), a.winograd.c_str(), winograd_layers);
  nn::InferenceReport r = nn::run_inproc(q, data, a.images, *be0, *be1, opt);

  std::printf("\n%-10s %-14s %7s %12s %12s %12s\n", "layer", "op", "rounds", "P0 sent/img", "P1 sent/img", "ms/img");
  for (auto& l : r.layers)
    std::printf("%-10s %-14s %7llu %12s %12s %12.3f\n", l.name.c_str(), l.op.c_str(),
                static_cast<unsigned long long>(l.rounds), human_bytes(l.bytes_p0).c_str(),
                human_bytes(l.bytes_p1).c_str(), l.seconds * 1e3);
  std::printf("%-10s %-14s %7llu %25s %12.3f\n", "total", "", static_cast<unsigned long long>(r.rounds),
              human_bytes(r.online_bytes).c_str(), r.seconds_per_image * 1e3);
  std::printf("\nimages %zu (batch %zu)   backend %s   compare %s (bits %s)   truncation %s\n", r.images, r.batch,
              r.backend.c_str(), r.compare.c_str(), r.compare_bits.c_str(), r.trunc.c_str());
  if (a.backend == "cpu")
    std::printf("cpu threads per backend: %d (each party's workers and tiling lanes have one backend each)\n",
                shared.threads);
  if (!r.link.empty() || r.workers > 1 || r.lanes > 1)
    std::printf("emulated link: %s   concurrent batches: %zu   tiling lanes: %zu\n",
                r.link.empty() ? "none" : r.link.c_str(), r.workers, r.lanes);
  std::printf("accuracy: 2PC %.2f %%   fixed-point plaintext %.2f %%   float %.2f %%\n", 100 * r.accuracy,
              100 * r.plaintext_accuracy, 100 * r.float_accuracy);
  if (r.logits_compared)
    std::printf(
        "agreement with plaintext top-1: %.4f   logits bit-identical: %zu/%zu   max logit error: "
        "%.6g\n",
        r.agreement, r.logits_equal, r.images, r.max_logit_error);
  else
    std::printf(
        "agreement with plaintext top-1: %.4f   (only the labels were revealed: logits not "
        "compared)\n",
        r.agreement);
  std::string failure;
  if (r.failures_checked && !r.failed_images.empty()) {
    std::string which;
    for (size_t i = 0; i < r.failed_images.size() && i < 10; ++i) which += (i ? ", " : "") + std::to_string(r.failed_images[i]);
    if (r.failed_images.size() > 10) which += ", ...";
    failure = std::to_string(r.failed_images.size()) + " of " + std::to_string(r.images) +
              " images have a logit further from the plaintext twin than the truncation error budget of " +
              std::to_string(r.logit_error_budget_ulps) + " ulp (images " + which + "; max logit error " +
              std::to_string(r.max_logit_error) + "): wrong 2PC results" +
              (po.trunc == mpc::TruncMode::Prob
                   ? ", the failures of probabilistic truncation (docs/protocols.md \"Truncation error\"): use "
                     "--trunc fss or --trunc exact"
                   : std::string(" (a bug: exact and FSS truncation are bit-identical to the twin)"));
    std::printf("FAILED: %s\n", failure.c_str());
  } else if (r.failures_checked) {
    std::printf("within the truncation error budget: every logit within %llu ulp of the plaintext twin\n",
                static_cast<unsigned long long>(r.logit_error_budget_ulps));
  }
  if (plan) print_plan_comparison(*plan, r);
  if (!a.trace.empty()) {
    std::ofstream f(a.trace);
    f << scheduler::measured_trace_json(spans.spans(), "polympc infer " + a.model + " (measured)").dump() << "\n";
    if (!f) throw polympc::Error("cannot write trace '" + a.trace + "'");
    std::printf("measured trace: %s (%zu spans; open in Perfetto beside `polympc schedule --trace`)\n",
                a.trace.c_str(), spans.spans().size());
  }
  std::printf("online: %s per image (both parties), %llu rounds per inference, %.2f s total, %.2f ms per image\n",
              human_bytes(r.online_bytes).c_str(), static_cast<unsigned long long>(r.rounds), r.seconds,
              r.seconds_per_image * 1e3);
  std::printf("offline (dealer): %s material per image, %.2f s; model setup: %s, %llu rounds (once per model)\n",
              human_bytes(r.offline_bytes).c_str(), r.offline_seconds, human_bytes(static_cast<double>(r.setup_bytes)).c_str(),
              static_cast<unsigned long long>(r.setup_rounds));

  if (!a.json.empty()) {
    nlohmann::json j;
    j["model"] = a.model;
    j["model_metadata"] = nn::onnx_metadata(a.model);  // e.g. a search's choices (docs/training.md)
    j["images"] = r.images;
    j["batch"] = r.batch;
    j["workers"] = r.workers;
    j["lanes"] = r.lanes;
    if (a.backend == "cpu") j["cpu_threads_per_backend"] = shared.threads;
    j["tiles"] = r.tiles;
    j["link"] = r.link;
    j["backend"] = r.backend;
    j["compare"] = r.compare;
    j["compare_bits"] = r.compare_bits;
    j["trunc"] = r.trunc;
    j["winograd"] = a.winograd;
    j["ring_bits"] = ring.bits;
    j["frac_bits"] = ring.frac;
    j["accuracy"] = r.accuracy;
    j["plaintext_accuracy"] = r.plaintext_accuracy;
    j["float_accuracy"] = r.float_accuracy;
    j["reveal"] = nn::reveal_name(r.reveal);
    j["agreement"] = r.agreement;  // top-1: from the revealed labels or the logits
    // Logit comparisons exist only when P1 received logits; null with --reveal label.
    if (r.logits_compared) {
      j["logits_bit_identical"] = r.logits_equal;
      j["max_logit_error"] = r.max_logit_error;
    } else {
      j["logits_bit_identical"] = nullptr;
      j["max_logit_error"] = nullptr;
    }
    if (r.failures_checked) {
      j["logit_error_budget_ulps"] = r.logit_error_budget_ulps;
      j["failed_images"] = r.failed_images;
    } else {
      j["logit_error_budget_ulps"] = nullptr;
      j["failed_images"] = nullptr;
    }
    j["failures"] = r.failed_images.size();
    j["predictions"] = r.predictions;
    j["online_bytes"] = r.online_bytes;
    j["online_bytes_unit"] = "bytes per image, both parties";
    j["rounds"] = r.rounds;
    j["seconds"] = r.seconds;
    j["seconds_per_image"] = r.seconds_per_image;
    j["offline_seconds"] = r.offline_seconds;
    j["offline_bytes_per_image"] = r.offline_bytes;
    j["setup_bytes"] = r.setup_bytes;
    j["setup_rounds"] = r.setup_rounds;
    nlohmann::json layers = nlohmann::json::array();
    for (auto& l : r.layers)
      layers.push_back({{"name", l.name},
                        {"op", l.op},
                        {"rounds", l.rounds},
                        {"bytes", l.bytes_p0 + l.bytes_p1},
                        {"bytes_p0", l.bytes_p0},
                        {"bytes_p1", l.bytes_p1},
                        {"seconds", l.seconds}});
    j["layers"] = layers;
    j["logits"] = r.logits_raw;  // ring words at scale f, [images, classes]
    nlohmann::json kernels = nlohmann::json::object();
    for (auto& [name, kc] : r.kernels)
      kernels[name] = {{"calls", kc.calls}, {"elements", kc.elements}, {"modelled_cycles", kc.modelled_cycles}};
    j["kernels_p1"] = kernels;
    std::ofstream f(a.json);
    if (!f) throw polympc::Error("cannot write JSON report '" + a.json + "'");
    f << j.dump(2) << "\n";
  }
  if (!failure.empty()) throw polympc::Error(failure);
}
}  // namespace

void add_infer_command(CLI::App& app) {
  auto args = std::make_shared<InferArgs>();
  CLI::App* c = app.add_subcommand("infer", "two-party private inference on Fashion-MNIST test images");
  CLI::Option* model = c->add_option("--model", args->model, "ONNX model")->capture_default_str();
  c->add_option("--data", args->data, "directory with the IDX files (t10k split)")->capture_default_str();
  c->add_option("--images", args->images, "number of test images")->capture_default_str();
  c->add_option("--batch", args->batch, "images per 2PC batch (shares rounds)")->capture_default_str();
  c->add_option("--backend", args->backend, "cpu | sim | xrt (with --xclbin)")->capture_default_str();
  add_protocol_options(*c, args->protocol);
  add_insecure_seed_option(*c, args->seed);
  add_backend_options(*c, args->backend_args);
  c->add_option(
       "--reveal", args->reveal,
       "what the client learns: logits (all class scores) | label (only the top-1 class, by a "
       "secure argmax; the report then has no logit comparisons)")
      ->capture_default_str();
  c->add_option("--json", args->json, "write the report as JSON to this file");
  c->add_option("--link", args->link,
                "in-process run: the parties talk over an emulated link, a network preset (lan, wan, lan-cheetah, "
                "wan-cheetah: their bandwidth and RTT) or BW,RTT in MB/s and ms (docs/scheduler.md)");
  c->add_option("--workers", args->workers,
                "in-process run: batches whose online phases run at the same time, each on its own channels and "
                "backends (the communication of one overlaps the computation of another)")
      ->capture_default_str();
  c->add_option("--trace", args->trace,
                "in-process run: write the measured timeline (every backend call, blocking read and layer of both "
                "parties) as Chrome trace JSON (docs/scheduler.md)");
  c->add_option("--plan", args->plan,
                "in-process run: a plan of `polympc schedule` (same options and network): executes its per-layer "
                "tiling (tiles of consecutive images, on --tile-lanes lanes) and prints its modelled layers beside the "
                "measured ones");
  c->add_option("--tiles", args->tiles,
                "in-process run: tiles per layer, N (every layer) or LAYER=N,... (over the plan's); consecutive "
                "layers with equal counts run as one segment (docs/scheduler.md)");
  c->add_option("--tile-lanes", args->lanes,
                "in-process run: lanes that run the tiles at the same time, each with its own channels, backends "
                "and material (default: the plan's, else 2)");
  c->add_option("--coef-frac", args->coef_frac,
                 "in-process run: fractional bits of the polynomial coefficients (default: the model's polympc.coef_frac, else f + 8); a polynomial's "
                 "output is at scale 2f + coef-frac (docs/protocols.md \"One-opening polynomial\")");
  c->add_option("--layer-bits", args->layer_bits,
                 "in-process run: per-layer ring widths LAYER=BITS,... (8..64) over the model's (ONNX metadata "
                 "polympc.ring_bits); a layer without one computes in its input's ring; conversions by sign "
                 "extension, truncate-reduce and local reduction (docs/protocols.md \"Per-layer rings\")");
  c->add_option("--layer-frac", args->layer_frac,
                 "in-process run: per-layer fixed-point scales LAYER=FRAC,... (1..48) over the model's (ONNX "
                 "metadata polympc.frac_bits); a layer without one takes its input at f (--frac), which stays the "
                 "scale of the input and the logits (docs/protocols.md \"Per-layer scales\")");
  c->add_option("--winograd", args->winograd,
                "3x3 stride-1 convolutions in Winograd form: auto | off | 2 | 4 | LAYER=0|2|4, comma-separated; "
                "--role server: explicit forms, the same as the architecture file's (export-arch --winograd); "
                "docs/winograd.md")
      ->capture_default_str();
  c->add_flag("--quiet", args->quiet, "no progress bar");
  c->add_flag("--plaintext-only", args->plaintext_only,
              "no 2PC: the accuracy of the fixed-point plaintext twin and of the float network on --images "
              "(e.g. all 10,000 test images of a quantized or Winograd form), and stop");
  c->add_flag("--explain", args->explain,
              "print where the truncations go (scale of every tensor) under the chosen options, "
              "and stop");
  add_party_options(*c, args->party);
  c->callback([args, model, c] {
    args->model_given = model->count() > 0;
    InferArgs a = *args;
    // In-process: the fixed point the model was made for, unless given (a --role run takes
    // it from the file it loads, run_infer_party).
    if (a.party.role.empty())
      model_fixed_point(a.model, a.protocol.bits, a.protocol.bits_given, a.protocol.frac, a.protocol.frac_given,
                        a.coef_frac);
    run_infer(a);
  });
}

}  // namespace polympc::apps
