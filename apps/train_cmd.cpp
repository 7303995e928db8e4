// `polympc train` (built with -DPOLYMPC_WITH_TORCH=ON): the methods that make a network cheap
// in 2PC, each model evaluated in 2PC and priced by the performance model, with a CSV per run
// and a sweep report (table, CSV and plots of accuracy against modelled latency and against
// DReLUs, drawn by gnuplot) — docs/training.md:
//   --method pasnet      the latency-aware search of the LibTorch trainer for one lambda or a sweep;
//   --method block-relu  Block-ReLU patch sizes by knapsack under DReLU budgets, then fine-tuning;
//   --method reshape     DeepReShape's CNN family member for each DReLU budget, trained;
//   --report DIR,...     one report (one plot) of earlier runs' sweep.csv files.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "backends.h"
#include "commands.h"
#include "polympc/nn/block_alloc.h"
#include "polympc/nn/dataset.h"
#include "polympc/nn/inference.h"
#include "polympc/nn/onnx.h"
#include "polympc/train/finetune.h"
#include "polympc/train/reshape.h"
#include "polympc/train/trainer.h"

namespace polympc::apps {
namespace {

namespace fs = std::filesystem;

struct TrainArgs {
  std::string method = "pasnet";  ///< pasnet | block-relu | reshape | qat
  std::vector<double> sweep;      ///< pasnet: --lambda (one value) or --sweep
  std::vector<int64_t> budgets;   ///< block-relu, reshape: --budget (one value) or --budgets
  std::vector<double> budgets_ms; ///< block-relu: --budget-ms (modelled milliseconds)
  std::string base_model;         ///< block-relu: the model to allocate (empty: train one); qat: to fine-tune
  int base_epochs = 16;           ///< block-relu: epochs of the base model it trains
  int64_t calib_images = 64;      ///< block-relu: training images measuring the distortion
  double finetune_lr = 5e-4;      ///< block-relu: peak Adam learning rate of the fine-tuning
  std::vector<std::string> report_dirs;  ///< --report: earlier runs to plot together
  std::string out = "out/train";
  size_t eval_images = 1000;
  bool references = true;
  train::TrainOptions o;
};

/// One trained model and its figures.
struct Point {
  std::string label;   ///< "lambda_0.05", "all-relu", "all-poly", "block_relu_1000", ...
  std::string method;  ///< pasnet | block-relu | reshape | reference (an all-ReLU / all-poly / base model)
  double lambda = -1;
  std::string path, acts, pools;
  int64_t drelus = 0;  ///< secure comparisons per image (nn::network_drelus, as `polympc perf`)
  double float_accuracy = 0;       ///< exported model, float, the whole test split
  double float_eval_accuracy = 0;  ///< the same, on the 2PC evaluation's images only
  double twopc_accuracy = 0, agreement = 0, ms_per_image = 0, online_bytes = 0;
  double lan_ms = 0, wan_ms = 0, energy_j = 0;
};

void progress_bar(const std::string& stage, int epoch, int epochs, int64_t step, int64_t steps) {
  const int width = 30;
  const int filled = static_cast<int>(width * step / (steps ? steps : 1));
  std::fprintf(stderr, "\r%-9s epoch %d/%d [%s%s] %lld/%lld", stage.c_str(), epoch, epochs,
               std::string(static_cast<size_t>(filled), '#').c_str(),
               std::string(static_cast<size_t>(width - filled), '.').c_str(), static_cast<long long>(step),
               static_cast<long long>(steps));
  if (step == steps) std::fprintf(stderr, "\n");
  std::fflush(stderr);
}

/// 2PC run of `onnx` on the first `images` test images (cpu backend, the run's protocol).
void evaluate(const TrainArgs& a, Point& p) {
  nn::Network net = nn::load_onnx(p.path);
  nn::set_layer_bits(net, nn::parse_layer_bits(a.o.layer_bits));
  p.drelus = nn::network_drelus(net);
  mpc::RingConfig ring{a.o.ring_bits, a.o.frac_bits};
  const nn::QuantizedModel q = nn::quantize(net, ring);
  const nn::Dataset data = train::load_data(a.o, /*train=*/false, static_cast<int64_t>(a.eval_images));
  nn::InferenceOptions opt;
  opt.batch = 100;
  opt.protocol.compare = mpc::parse_compare_mode(a.o.compare);
  opt.protocol.trunc = mpc::parse_trunc_mode(a.o.trunc);
  BackendArgs bargs;
  bargs.threads = a.o.threads;
  auto be0 = make_backend("cpu", bargs), be1 = make_backend("cpu", bargs);
  const nn::InferenceReport r = nn::run_inproc(q, data, a.eval_images, *be0, *be1, opt);
  p.twopc_accuracy = r.accuracy;
  p.float_eval_accuracy = r.float_accuracy;
  p.agreement = r.agreement;
  p.ms_per_image = 1e3 * r.seconds_per_image;
  p.online_bytes = r.online_bytes;
  train::TrainOptions priced = a.o;
  priced.network = "lan";
  const train::ModelledCost lan = train::modelled_cost(priced, p.path);
  priced.network = "wan";
  p.lan_ms = lan.ms;
  p.energy_j = lan.energy_j;
  p.wan_ms = train::modelled_cost(priced, p.path).ms;
}

void write_run_csv(const std::string& path, const train::TrainReport& r) {
  std::ofstream f(path);
  f << "epoch,stage,loss,test_accuracy,seconds\n";
  for (const auto& e : r.epochs)
    f << e.epoch << "," << e.stage << "," << e.loss << "," << e.test_accuracy << "," << e.seconds << "\n";
  if (!f) throw polympc::Error("cannot write '" + path + "'");
}

/// Trains one model: a search for `lambda` >= 0, else a fixed network (`acts`, `pools` and,
/// if given, `fixed`'s widths and metadata) for the epochs of search + fine-tuning.
Point train_one(const TrainArgs& a, const std::string& label, double lambda, const std::string& acts,
                const std::string& pools, const train::TrainOptions* fixed = nullptr) {
  train::TrainOptions o = a.o;
  if (fixed != nullptr) {
    o.widths = fixed->widths;
    o.metadata = fixed->metadata;
  }
  o.search = lambda >= 0;
  if (o.search) {
    o.lambda = lambda;
  } else {  // a reference: the same number of epochs as search + fine-tune
    o.acts = acts;
    o.pools = pools;
    o.epochs = a.o.epochs + a.o.search_epochs;
  }
  o.out = (fs::path(a.out) / (label + ".onnx")).string();
  o.progress = progress_bar;
  std::fprintf(stderr, "polympc train: %s\n", label.c_str());
  std::ostringstream log;
  const train::TrainReport r = train::train_and_export(o, log);
  write_run_csv((fs::path(a.out) / (label + ".csv")).string(), r);
  Point p;
  p.label = label;
  const auto method = o.metadata.find("polympc.method");
  p.method = o.search ? "pasnet" : method != o.metadata.end() ? method->second : "reference";
  p.lambda = lambda;
  p.path = o.out;
  p.acts = r.acts;
  p.pools = r.pools;
  p.float_accuracy = r.exported_accuracy;
  evaluate(a, p);
  std::fprintf(stderr, "  %s: acts %s, pools %s, float %.2f %%, 2PC %.2f %% (agreement %.4f), modelled %.2f ms lan\n",
               label.c_str(), p.acts.c_str(), p.pools.c_str(), 100 * p.float_accuracy, 100 * p.twopc_accuracy,
               p.agreement, p.lan_ms);
  return p;
}

std::string fmt(double v, int digits) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(digits) << v;
  return s.str();
}

/// `v` as a stream writes it by default (as in the labels: 0.00022, not 0.0002).
std::string shortest(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

/// For every point: whether it is on the Pareto front of float accuracy (higher is
/// better) against `cost` (lower is better), i.e. no other point is at least as good in both
/// and better in one.
template <typename Cost>
std::vector<bool> pareto_front(const std::vector<Point>& pts, Cost cost) {
  std::vector<bool> front(pts.size(), true);
  for (size_t i = 0; i < pts.size(); ++i) {
    const Point& p = pts[i];
    for (const Point& q : pts)
      if (cost(q) <= cost(p) && q.float_accuracy >= p.float_accuracy &&
          (cost(q) < cost(p) || q.float_accuracy > p.float_accuracy))
        front[i] = false;
  }
  return front;
}

double lan_of(const Point& p) { return p.lan_ms; }
/// DReLUs as plotted on a log axis: 0 (an all-poly model) is drawn at 1.
double drelus_of(const Point& p) { return static_cast<double>(std::max<int64_t>(p.drelus, 1)); }

/// The Pareto front's points of `pts` by increasing `cost`, as "x accuracy" lines of a gnuplot
/// data block (a `1/0` filter would break gnuplot's curve at every model off the front).
template <typename Cost>
std::string front_block(const std::vector<Point>& pts, const std::vector<bool>& front, Cost cost) {
  std::vector<size_t> on;
  for (size_t i = 0; i < pts.size(); ++i)
    if (front[i]) on.push_back(i);
  std::sort(on.begin(), on.end(), [&](size_t x, size_t y) { return cost(pts[x]) < cost(pts[y]); });
  std::ostringstream d;
  for (const size_t i : on) d << cost(pts[i]) << " " << 100 * pts[i].float_accuracy << "\n";
  return d.str();
}

const char* const kMethods[] = {"pasnet", "block-relu", "reshape", "reference"};

void write_report(const TrainArgs& a, const std::vector<Point>& pts) {
  const fs::path dir(a.out);
  fs::create_directories(dir);
  const std::vector<bool> front = pareto_front(pts, lan_of);
  const std::vector<bool> front_dr = pareto_front(pts, drelus_of);
  {
    std::ofstream f(dir / "sweep.csv");
    f << "label,lambda,acts,pools,float_accuracy,float_accuracy_eval_images,twopc_accuracy,agreement,lan_ms,wan_ms,energy_j,cpu_ms_per_image,"
         "online_bytes_per_image,drelus_per_image,method,onnx,pareto\n";
    for (size_t i = 0; i < pts.size(); ++i) {
      const Point& p = pts[i];
      f << p.label << "," << (p.lambda >= 0 ? fmt(p.lambda, 6) : "") << ",\"" << p.acts << "\",\"" << p.pools << "\","
        << p.float_accuracy << "," << p.float_eval_accuracy << "," << p.twopc_accuracy << "," << p.agreement << "," << p.lan_ms << "," << p.wan_ms
        << "," << p.energy_j << "," << p.ms_per_image << "," << p.online_bytes << "," << p.drelus << "," << p.method << ","
        << p.path << "," << front[i] << "\n";
    }
  }
  std::ostringstream md;
  md << "| model | method | lambda | activations | pools | DReLUs/img | float acc. | float acc. (" << a.eval_images << " images) | 2PC acc. ("
     << a.eval_images << " images) | agreement | modelled " << a.o.phase << " lan (ms) | modelled wan (ms) | modelled energy (J) | "
     << "measured cpu ms/img | online bytes/img |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (size_t i = 0; i < pts.size(); ++i) {
    const Point& p = pts[i];
    md << "| " << p.label << (front[i] ? " (Pareto)" : "") << " | " << p.method << " | "
       << (p.lambda >= 0 ? shortest(p.lambda) : "-") << " | " << p.acts << " | " << p.pools << " | " << p.drelus
       << " | " << fmt(100 * p.float_accuracy, 2) << " % | " << fmt(100 * p.float_eval_accuracy, 2) << " % | "
       << fmt(100 * p.twopc_accuracy, 2) << " % | "
       << fmt(p.agreement, 4) << " | " << fmt(p.lan_ms, 2) << " | " << fmt(p.wan_ms, 1) << " | "
       << fmt(p.energy_j, 3) << " | " << fmt(p.ms_per_image, 2) << " | " << fmt(p.online_bytes, 0) << " |\n";
  }
  md << "\n(Pareto): no other model of the table has at least its float accuracy at no more modelled lan "
        "latency.\nDReLUs: secure comparisons per image (ReLU elements, Block-ReLU patches, max-pool comparisons), as "
        "`polympc perf` counts them.\nModelled figures come from the performance model (board " << a.o.board
     << ", comparison " << a.o.compare << ", truncation " << a.o.trunc << "); measured ones from this machine's cpu backend.\n";
  std::ofstream(dir / "sweep.md") << md.str();
  std::cout << md.str();
  // The plots: accuracy against modelled latency and against DReLUs, one point style per method.
  {
    std::ofstream d(dir / "sweep.dat");
    // Index 0: every model (latency, accuracy, label, method, DReLUs drawn at >= 1 on the log axis).
    for (const Point& p : pts)
      d << p.lan_ms << " " << 100 * p.float_accuracy << " \"" << p.label << "\" " << p.method << " "
        << std::max<int64_t>(p.drelus, 1) << "\n";
    // Index 1 and 2: the Pareto fronts against latency and against DReLUs.
    d << "\n\n" << front_block(pts, front, lan_of) << "\n\n" << front_block(pts, front_dr, drelus_of);
    const std::string dat = (dir / "sweep.dat").string();
    std::ostringstream methods;
    for (const char* m : kMethods)
      if (std::any_of(pts.begin(), pts.end(), [&](const Point& p) { return p.method == m; }))
        methods << (methods.tellp() > 0 ? ", \\\n     " : "") << "'' index 0 using " << "%X%"
                << ":(strcol(4) eq '" << m << "' ? $2 : 1/0) with points pt " << (m == std::string("pasnet") ? 7 : m == std::string("block-relu") ? 9 : m == std::string("reshape") ? 13 : 5)
                << " ps 1.5 title '" << (m == std::string("reference") ? "all-ReLU / all-poly / base" : m) << "'";
    auto panel = [&](const std::string& x, int front_index, const std::string& xlabel) {
      std::string pm = methods.str();
      for (size_t at; (at = pm.find("%X%")) != std::string::npos;) pm.replace(at, 3, x);
      std::ostringstream g;
      g << "set xlabel '" << xlabel << "'\nplot '" << dat << "' index " << front_index
        << " using 1:2 with lines lc rgb 'gray' title 'Pareto front', \\\n     " << pm << ", \\\n     '' index 0 using "
        << x << ":2:3 with labels offset 1,1 font ',8' notitle\n";
      return g.str();
    };
    std::ofstream g(dir / "sweep.gp");
    g << "set terminal pngcairo size 1500,600 noenhanced\nset output '" << (dir / "sweep.png").string() << "'\n"
      << "set multiplot layout 1,2 title '" << a.o.arch << " on " << a.o.dataset << ": float accuracy vs modelled "
      << a.o.phase << " latency (" << a.o.board << ", lan) and vs DReLUs'\n"
      << "set ylabel 'float test accuracy (%)'\nset grid\nset logscale x\nset key below\n"
      << panel("1", 1, "modelled latency (ms), MODELLED") << panel("5", 2, "DReLUs per image (0 drawn at 1)")
      << "unset multiplot\n";
  }
  const std::string cmd = "gnuplot '" + (dir / "sweep.gp").string() + "' 2>/dev/null";
  if (std::system("command -v gnuplot >/dev/null 2>&1") == 0 && std::system(cmd.c_str()) == 0)
    std::cout << "\nwrote " << (dir / "sweep.png").string() << ", sweep.md, sweep.csv\n";
  else
    std::cout << "\nwrote sweep.md, sweep.csv and sweep.gp in " << a.out
              << " (gnuplot not found: apt-get install gnuplot-nox, then gnuplot sweep.gp)\n";
}

/// The fields of one CSV line (RFC 4180 quoting: "a,b" is one field).
std::vector<std::string> csv_fields(const std::string& line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (const char c : line) {
    if (c == '"') quoted = !quoted;
    else if (c == ',' && !quoted) out.emplace_back();
    else out.back() += c;
  }
  return out;
}

double number_field(const std::map<std::string, std::string>& row, const std::string& key, const std::string& where) {
  const auto it = row.find(key);
  char* end = nullptr;
  const double v = it == row.end() ? 0 : std::strtod(it->second.c_str(), &end);
  if (it == row.end() || it->second.empty() || end != it->second.c_str() + it->second.size())
    throw mpc::InvalidArgument(where + ": no number in column '" + key + "'");
  return v;
}

/// The models of an earlier run's DIR/sweep.csv (any version of its columns): the figures as
/// measured then; the method and DReLUs from the ONNX file it names (metadata, network).
std::vector<Point> read_points(const std::string& dir) {
  const fs::path csv = fs::path(dir) / "sweep.csv";
  std::ifstream f(csv);
  if (!f) throw polympc::Error("--report: cannot read '" + csv.string() + "'");
  std::string line;
  std::getline(f, line);
  const std::vector<std::string> header = csv_fields(line);
  std::vector<Point> pts;
  for (int n = 2; std::getline(f, line); ++n) {
    if (line.empty()) continue;
    const std::vector<std::string> v = csv_fields(line);
    const std::string where = csv.string() + ":" + std::to_string(n);
    if (v.size() != header.size())
      throw mpc::InvalidArgument(where + ": " + std::to_string(v.size()) + " fields, the header has " +
                                 std::to_string(header.size()));
    std::map<std::string, std::string> row;
    for (size_t i = 0; i < v.size(); ++i) row[header[i]] = v[i];
    Point p;
    p.label = row["label"];
    p.lambda = row["lambda"].empty() ? -1 : number_field(row, "lambda", where);
    p.acts = row["acts"];
    p.pools = row["pools"];
    p.path = row["onnx"];
    p.float_accuracy = number_field(row, "float_accuracy", where);
    p.float_eval_accuracy = number_field(row, "float_accuracy_eval_images", where);
    p.twopc_accuracy = number_field(row, "twopc_accuracy", where);
    p.agreement = number_field(row, "agreement", where);
    p.lan_ms = number_field(row, "lan_ms", where);
    p.wan_ms = number_field(row, "wan_ms", where);
    p.energy_j = number_field(row, "energy_j", where);
    p.ms_per_image = number_field(row, "cpu_ms_per_image", where);
    p.online_bytes = number_field(row, "online_bytes_per_image", where);
    const auto meta = nn::onnx_metadata(p.path);
    const auto get = [&](const std::string& k) {
      const auto it = meta.find(k);
      return it == meta.end() ? std::string() : it->second;
    };
    p.method = !get("polympc.method").empty() ? get("polympc.method")
               : get("polympc.search") == "pasnet" ? "pasnet"
                                                   : "reference";
    p.drelus = nn::network_drelus(nn::load_onnx(p.path));
    pts.push_back(p);
  }
  return pts;
}

/// "v1,v2,...": numbers >= 0 for `option`, each `what` ("a lambda").
std::vector<double> parse_nonnegatives(const std::string& s, const std::string& option, const std::string& what) {
  std::vector<double> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    char* end = nullptr;
    const double v = std::strtod(item.c_str(), &end);
    if (item.empty() || end != item.c_str() + item.size() || !(v >= 0))
      throw mpc::InvalidArgument(option + ": '" + item + "' is not " + what + " >= 0 (in '" + s + "')");
    out.push_back(v);
  }
  if (out.empty()) throw mpc::InvalidArgument(option + " needs at least one value");
  return out;
}

std::vector<int64_t> parse_budgets(const std::string& s) {
  std::vector<int64_t> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    char* end = nullptr;
    const long long v = std::strtoll(item.c_str(), &end, 10);
    if (item.empty() || end != item.c_str() + item.size() || v < 0)
      throw mpc::InvalidArgument("--budgets: '" + item + "' is not a DReLU count >= 0 (in '" + s + "')");
    out.push_back(v);
  }
  if (out.empty()) throw mpc::InvalidArgument("--budgets needs at least one budget");
  return out;
}

/// --method reshape: per budget, DeepReShape's hybrid member of the CNN family
/// (train::reshape_family) trained for the epochs of search + fine-tuning.
std::vector<Point> run_reshape(const TrainArgs& a) {
  std::vector<Point> pts;
  for (const int64_t budget : a.budgets) {
    const train::ReshapeArch m = train::reshape_family(budget).front();
    train::TrainOptions o = train::reshape_options(m, a.o);
    o.metadata = {{"polympc.method", "reshape"},
                  {"polympc.budget", std::to_string(budget)},
                  {"polympc.drelus", std::to_string(m.drelus)},
                  {"polympc.member", m.name}};
    std::fprintf(stderr, "polympc train: DeepReShape %s member for %lld DReLUs: widths %s, acts %s, pools %s\n",
                 m.name.c_str(), static_cast<long long>(budget), o.widths.c_str(), o.acts.c_str(), o.pools.c_str());
    pts.push_back(train_one(a, "reshape_" + std::to_string(budget), -1, o.acts, o.pools, &o));
  }
  return pts;
}

/// --method block-relu: the base model (given, or all-ReLU with average pools trained here),
/// then per budget the knapsack allocation and the fine-tuning (train::block_relu_finetune).
std::vector<Point> run_block_relu(const TrainArgs& a) {
  std::vector<Point> pts;
  std::string base = a.base_model;
  if (base.empty()) {
    TrainArgs b = a;  // a reference's epochs are epochs + search_epochs
    b.o.epochs = a.base_epochs;
    b.o.search_epochs = 0;
    pts.push_back(train_one(b, "relu-avg", -1, "relu", "avg"));
    base = pts.back().path;
  }
  const nn::Network net = nn::load_onnx(base);
  std::fprintf(stderr, "polympc train: distortion of every (channel, patch kind) on %lld training images\n",
               static_cast<long long>(a.calib_images));
  const train::BlockReluCalibration calibration = train::measure_block_relu(net, a.calib_images, a.o);
  std::fprintf(stderr, "  measured in %.1f s\n", calibration.seconds);
  // DReLU budgets, then the largest DReLU budget within each modelled latency.
  std::vector<std::pair<int64_t, std::string>> runs;
  for (const int64_t b : a.budgets) runs.emplace_back(b, "block_relu_" + std::to_string(b));
  for (const double ms : a.budgets_ms) {
    const int64_t b = train::drelu_budget_for_latency(net, calibration, ms, a.o);
    std::fprintf(stderr, "  %g ms (modelled, %s, %s, %s): a budget of %lld DReLUs\n", ms, a.o.board.c_str(),
                 a.o.network.c_str(), a.o.phase.c_str(), static_cast<long long>(b));
    runs.emplace_back(b, "block_relu_" + shortest(ms) + "ms");
  }
  for (const auto& [budget, label] : runs) {
    train::TrainOptions o = a.o;
    o.lr = a.finetune_lr;
    o.out = (fs::path(a.out) / (label + ".onnx")).string();
    o.progress = progress_bar;
    std::fprintf(stderr, "polympc train: %s (from %s)\n", label.c_str(), base.c_str());
    std::ostringstream log;
    const train::BlockReluResult r = train::block_relu_finetune(net, calibration, budget, o, log);
    write_run_csv((fs::path(a.out) / (label + ".csv")).string(), r.report);
    Point p;
    p.label = label;
    p.method = "block-relu";
    p.path = o.out;
    p.acts = "block-relu";
    p.pools = "as the base";
    p.float_accuracy = r.report.exported_accuracy;
    evaluate(a, p);
    std::fprintf(stderr,
                 "  %s: %lld DReLUs/img (base %lld), float %.2f %% after the allocation, %.2f %% fine-tuned, 2PC %.2f %% "
                 "(agreement %.4f), modelled %.2f ms lan\n",
                 label.c_str(), static_cast<long long>(p.drelus), static_cast<long long>(r.base_drelus),
                 100 * r.allocated_accuracy, 100 * p.float_accuracy, 100 * p.twopc_accuracy, p.agreement, p.lan_ms);
    pts.push_back(p);
  }
  return pts;
}

/// --method qat: quantisation-aware fine-tuning of --model at its fixed point (the scale f of
/// its polympc.frac metadata, else --frac; its layers at their polympc.frac_bits), for
/// --epochs at --finetune-lr. The rings are dropped (the ranges move): run `polympc rings`
/// on the result (docs/protocols.md "Per-layer scales").
std::vector<Point> run_qat(const TrainArgs& a) {
  if (a.base_model.empty()) throw mpc::InvalidArgument("--method qat needs --model M (the model to fine-tune)");
  nn::Network net = nn::load_onnx(a.base_model);
  std::map<std::string, std::string> meta = nn::onnx_metadata(a.base_model);
  train::TrainOptions o = a.o;
  // The model's f (its recorded fixed point), else --frac; --bits stays the evaluation's.
  o.qat_frac = net.fixed_point.frac != 0 ? net.fixed_point.frac : o.frac_bits;
  for (nn::Layer& L : net.layers) L.ring_bits = 0;
  meta.erase(nn::kRingBitsMetadata);
  meta["polympc.method"] = "qat";
  meta["polympc.qat_frac"] = std::to_string(o.qat_frac);
  meta["polympc.source_model"] = a.base_model;
  o.lr = a.finetune_lr;
  o.out = (fs::path(a.out) / "qat.onnx").string();
  o.progress = progress_bar;
  std::fprintf(stderr, "polympc train: quantisation-aware fine-tuning of %s at f=%d (per-layer scales: %s)\n",
               a.base_model.c_str(), o.qat_frac, nn::layer_values_spec(net, nn::kFracBits).c_str());
  std::ostringstream log;
  double before = 0;
  const train::TrainReport r = train::finetune_and_export(net, o, meta, log, &before);
  write_run_csv((fs::path(a.out) / "qat.csv").string(), r);
  Point p;
  p.label = "qat";
  p.method = "qat";
  p.path = o.out;
  p.acts = "as the model";
  p.pools = "as the model";
  p.float_accuracy = r.exported_accuracy;
  evaluate(a, p);
  std::fprintf(stderr, "  qat: fake-quantized %.2f %% before, float %.2f %% after, fake-quantized %.2f %%; 2PC %.2f %% (agreement %.4f)\n",
               100 * before, 100 * p.float_accuracy, 100 * r.qat_accuracy, 100 * p.twopc_accuracy, p.agreement);
  return {p};
}

}  // namespace

void add_train_command(CLI::App& app, int argc, char** argv) {
  auto a = std::make_shared<TrainArgs>();
  auto lambda = std::make_shared<double>(-1);
  auto sweep = std::make_shared<std::string>();
  auto budgets = std::make_shared<std::string>();
  auto report = std::make_shared<std::string>();
  CLI::App* c = app.add_subcommand(
      "train",
      "make a network cheap in 2PC: latency-aware search (PASNet: ReLU or polynomial per site, the performance model "
      "in the loss), Block-ReLU (patch sizes by knapsack under a DReLU budget, then fine-tuning) or DeepReShape "
      "(the CNN family member for a DReLU budget)");
  c->add_option("--method", a->method,
                "pasnet | block-relu | reshape | qat (quantisation-aware fine-tuning of --model at its fixed point)")
      ->check(CLI::IsMember({"pasnet", "block-relu", "reshape", "qat"}))
      ->capture_default_str();
  c->add_option("--budget,--budgets", *budgets,
                "block-relu, reshape: DReLUs per image B, or B1,B2,... (one model each; max-pool comparisons count)");
  c->add_option_function<std::string>(
      "--budget-ms",
      [a](const std::string& list) {
        a->budgets_ms = parse_nonnegatives(list, "--budget-ms", "a latency in ms");
      },
      "block-relu: modelled latency budgets T1,T2,... in ms (--board, --network, --phase): the largest DReLU "
      "budget each allows");
  c->add_option("--model", a->base_model,
                "block-relu: the model to allocate (default: train all-ReLU with average pools for --base-epochs); qat: the "
                "model to fine-tune")
      ->check(CLI::ExistingFile);
  c->add_option("--base-epochs", a->base_epochs, "block-relu: epochs of the base model it trains")->capture_default_str();
  c->add_option("--calib-images", a->calib_images, "block-relu: training images measuring the distortion")
      ->capture_default_str();
  c->add_option("--finetune-lr", a->finetune_lr, "block-relu: peak Adam learning rate of the fine-tuning")
      ->capture_default_str();
  c->add_option("--report", *report,
                "DIR1,DIR2,...: one report and plot of earlier runs (their sweep.csv), written to --out; trains nothing");
  c->add_option("--arch", a->o.arch, "architecture: fmnist-cnn | resnet8 (residual)")->capture_default_str();
  c->add_option("--lambda", *lambda, "one search with this weight of the modelled latency (per ms)");
  c->add_option("--sweep", *sweep, "searches for each lambda of L1,L2,...; writes the sweep report");
  c->add_option("--epochs", a->o.epochs, "fine-tuning epochs (after the search, or after the allocation)")
      ->capture_default_str();
  c->add_option("--search-epochs", a->o.search_epochs, "supernet epochs")->capture_default_str();
  c->add_option("--compare", a->o.compare, "ReLU comparison priced: gmw | fss")->capture_default_str();
  c->add_option("--trunc", a->o.trunc, "truncation priced: exact | prob | fss | slack")->capture_default_str();
  c->add_option("--board", a->o.board, "board of the latency model")->capture_default_str();
  c->add_option("--network", a->o.network, "network preset of the latency model")->capture_default_str();
  c->add_option("--phase", a->o.phase, "online | offline | total")->capture_default_str();
  c->add_option("--bits", a->o.ring_bits, "ring bits l of the latency table and the 2PC evaluation")->capture_default_str();
  c->add_option("--frac", a->o.frac_bits, "fractional bits f of the latency table and the 2PC evaluation")
      ->capture_default_str();
  c->add_option("--layer-bits", a->o.layer_bits,
                "per-layer ring widths LAYER=BITS,... priced by the latency table and run by the 2PC evaluation "
                "(docs/protocols.md \"Per-layer rings in the executor\")");
  c->add_option("--out", a->out, "directory for the models, CSVs and the report")->capture_default_str();
  c->add_option("--data", a->o.data_dir, "Fashion-MNIST IDX directory")->capture_default_str();
  c->add_option_function<std::string>(
       "--cifar10",
       [a](const std::string& dir) {
         a->o.dataset = "cifar10";
         a->o.data_dir = dir;
       },
       "train and evaluate on CIFAR-10 instead: directory of its binary version (data_batch_1.bin ... "
       "test_batch.bin)")
      ->excludes("--data");
  c->add_option("--seed", a->o.seed, "seed (runs are deterministic for a seed and thread count)")
      ->capture_default_str();
  c->add_option("--threads", a->o.threads, "LibTorch and cpu-backend threads (0 = all cores)")
      ->capture_default_str();
  c->add_option("--alpha-lr", a->o.alpha_lr, "Adam learning rate of alpha")->capture_default_str();
  c->add_option("--train-limit", a->o.train_limit, "first N training images only");
  c->add_option("--test-limit", a->o.test_limit, "first N test images for the float accuracy");
  c->add_option("--eval-images", a->eval_images, "test images of the 2PC evaluation")->capture_default_str();
  c->add_flag_function("--no-references", [a](int64_t) { a->references = false; },
                       "do not train the all-ReLU and all-poly references of a sweep");
  c->callback([a, lambda, sweep, budgets, report, argc, argv] {
    train::reexec_with_passive_omp_wait(argv);
    (void)argc;
    train::site_latencies(a->o);  // an unknown arch, dataset, board or preset fails before any training
    if (!report->empty()) {
      std::stringstream in(*report);
      std::vector<Point> pts;
      for (std::string d; std::getline(in, d, ',');) {
        const std::vector<Point> more = read_points(d);
        pts.insert(pts.end(), more.begin(), more.end());
      }
      write_report(*a, pts);
      return;
    }
    if (a->method == "reshape") {
      if (budgets->empty()) throw mpc::InvalidArgument("--method reshape needs --budget B or --budgets B1,B2,...");
      if (*lambda >= 0 || !sweep->empty() || !a->budgets_ms.empty())
        throw mpc::InvalidArgument("--lambda, --sweep and --budget-ms do not belong to --method reshape");
      a->budgets = parse_budgets(*budgets);
      for (const int64_t b : a->budgets) train::reshape_family(b);  // a budget below the family fails first
      fs::create_directories(a->out);
      write_report(*a, run_reshape(*a));
      return;
    }
    if (a->method == "qat") {
      if (*lambda >= 0 || !sweep->empty() || !budgets->empty() || !a->budgets_ms.empty())
        throw mpc::InvalidArgument("--lambda, --sweep, --budget and --budget-ms do not belong to --method qat");
      fs::create_directories(a->out);
      write_report(*a, run_qat(*a));
      return;
    }
    if (a->method == "block-relu") {
      if (budgets->empty() && a->budgets_ms.empty())
        throw mpc::InvalidArgument("--method block-relu needs --budget B, --budgets B1,B2,... or --budget-ms T1,...");
      if (*lambda >= 0 || !sweep->empty()) throw mpc::InvalidArgument("--lambda and --sweep belong to --method pasnet");
      if (!budgets->empty()) a->budgets = parse_budgets(*budgets);
      fs::create_directories(a->out);
      write_report(*a, run_block_relu(*a));
      return;
    }
    if (!budgets->empty() || !a->budgets_ms.empty())
      throw mpc::InvalidArgument("--budget and --budget-ms belong to --method block-relu");
    if ((*lambda >= 0) == !sweep->empty())
      throw mpc::InvalidArgument("give one of --lambda L or --sweep L1,L2,...");
    a->sweep = sweep->empty() ? std::vector<double>{*lambda} : parse_nonnegatives(*sweep, "--sweep", "a lambda");
    fs::create_directories(a->out);
    std::vector<Point> pts;
    for (double l : a->sweep) pts.push_back(train_one(*a, "lambda_" + shortest(l), l, "", ""));
    if (!sweep->empty() && a->references) {
      pts.push_back(train_one(*a, "all-relu", -1, "relu", "max"));
      pts.push_back(train_one(*a, "all-poly", -1, "poly", "avg"));
    }
    write_report(*a, pts);
  });
}

}  // namespace polympc::apps
