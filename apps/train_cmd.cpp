// `polympc train` (built with -DPOLYMPC_WITH_TORCH=ON): the latency-aware search of the
// LibTorch trainer (train/, docs/training.md) for one lambda or a sweep, each searched
// model evaluated in 2PC and priced by the performance model, with a CSV per run and a
// sweep report (table, CSV and an accuracy-vs-latency plot drawn by gnuplot).
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
#include "polympc/nn/dataset.h"
#include "polympc/nn/inference.h"
#include "polympc/nn/onnx.h"
#include "polympc/train/trainer.h"

namespace polympc::apps {
namespace {

namespace fs = std::filesystem;

struct TrainArgs {
  std::vector<double> sweep;  ///< --lambda (one value) or --sweep
  std::string out = "out/train";
  size_t eval_images = 1000;
  bool references = true;
  train::TrainOptions o;
};

/// One trained model and its figures.
struct Point {
  std::string label;  ///< "lambda=0.05", "all-relu", "all-poly"
  double lambda = -1;
  std::string path, acts, pools;
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
  const nn::Network net = nn::load_onnx(p.path);
  mpc::RingConfig ring{64, 12};
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

Point train_one(const TrainArgs& a, const std::string& label, double lambda, const std::string& acts,
                const std::string& pools) {
  train::TrainOptions o = a.o;
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
/// better) against modelled lan latency (lower is better), i.e. no other point is at least
/// as good in both and better in one.
std::vector<bool> pareto_front(const std::vector<Point>& pts) {
  std::vector<bool> front(pts.size(), true);
  for (size_t i = 0; i < pts.size(); ++i) {
    const Point& p = pts[i];
    for (const Point& q : pts)
      if (q.lan_ms <= p.lan_ms && q.float_accuracy >= p.float_accuracy &&
          (q.lan_ms < p.lan_ms || q.float_accuracy > p.float_accuracy))
        front[i] = false;
  }
  return front;
}

void write_report(const TrainArgs& a, const std::vector<Point>& pts) {
  const fs::path dir(a.out);
  const std::vector<bool> front = pareto_front(pts);
  {
    std::ofstream f(dir / "sweep.csv");
    f << "label,lambda,acts,pools,float_accuracy,float_accuracy_eval_images,twopc_accuracy,agreement,lan_ms,wan_ms,energy_j,cpu_ms_per_image,"
         "online_bytes_per_image,onnx,pareto\n";
    for (size_t i = 0; i < pts.size(); ++i) {
      const Point& p = pts[i];
      f << p.label << "," << (p.lambda >= 0 ? fmt(p.lambda, 6) : "") << ",\"" << p.acts << "\",\"" << p.pools << "\","
        << p.float_accuracy << "," << p.float_eval_accuracy << "," << p.twopc_accuracy << "," << p.agreement << "," << p.lan_ms << "," << p.wan_ms
        << "," << p.energy_j << "," << p.ms_per_image << "," << p.online_bytes << "," << p.path << "," << front[i]
        << "\n";
    }
  }
  std::ostringstream md;
  md << "| model | lambda | activations | pools | float acc. | float acc. (" << a.eval_images << " images) | 2PC acc. ("
     << a.eval_images << " images) | agreement | modelled " << a.o.phase << " lan (ms) | modelled wan (ms) | modelled energy (J) | "
     << "measured cpu ms/img | online bytes/img |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (size_t i = 0; i < pts.size(); ++i) {
    const Point& p = pts[i];
    md << "| " << p.label << (front[i] ? " (Pareto)" : "") << " | " << (p.lambda >= 0 ? shortest(p.lambda) : "-") << " | " << p.acts << " | " << p.pools
       << " | " << fmt(100 * p.float_accuracy, 2) << " % | " << fmt(100 * p.float_eval_accuracy, 2) << " % | "
       << fmt(100 * p.twopc_accuracy, 2) << " % | "
       << fmt(p.agreement, 4) << " | " << fmt(p.lan_ms, 2) << " | " << fmt(p.wan_ms, 1) << " | "
       << fmt(p.energy_j, 3) << " | " << fmt(p.ms_per_image, 2) << " | " << fmt(p.online_bytes, 0) << " |\n";
  }
  md << "\n(Pareto): no other model of the table has at least its float accuracy at no more modelled lan "
        "latency.\nModelled figures come from the performance model (board " << a.o.board << ", comparison " << a.o.compare
     << ", truncation " << a.o.trunc << "); measured ones from this machine's cpu backend.\n";
  std::ofstream(dir / "sweep.md") << md.str();
  std::cout << md.str();
  // The plot: accuracy against modelled latency, the references marked.
  {
    std::ofstream d(dir / "sweep.dat");
    for (size_t i = 0; i < pts.size(); ++i)
      d << pts[i].lan_ms << " " << 100 * pts[i].float_accuracy << " \"" << pts[i].label << "\" "
        << (pts[i].lambda >= 0 ? 0 : 1) << "\n";
    // Index 1: the Pareto front alone, by latency, for its line (a `1/0` filter would break
    // gnuplot's curve at every model off the front).
    std::vector<size_t> on_front;
    for (size_t i = 0; i < pts.size(); ++i)
      if (front[i]) on_front.push_back(i);
    std::sort(on_front.begin(), on_front.end(), [&](size_t x, size_t y) { return pts[x].lan_ms < pts[y].lan_ms; });
    d << "\n\n";
    for (const size_t i : on_front) d << pts[i].lan_ms << " " << 100 * pts[i].float_accuracy << "\n";
    std::ofstream g(dir / "sweep.gp");
    g << "set terminal pngcairo size 900,600 noenhanced\nset output '" << (dir / "sweep.png").string() << "'\n"
      << "set title '" << a.o.arch << " on " << a.o.dataset << ": float accuracy vs modelled " << a.o.phase << " latency (" << a.o.board
      << ", lan)'\nset xlabel 'modelled latency (ms), MODELLED'\nset ylabel 'float test accuracy (%)'\nset grid\n"
      << "set logscale x\n"
      << "plot '" << (dir / "sweep.dat").string() << "' index 1 using 1:2 with lines lc rgb 'gray' title 'Pareto front', \\\n"
      << "     '' index 0 using 1:($4==0?$2:1/0) with points pt 7 ps 1.5 title 'searched', \\\n"
      << "     '' index 0 using 1:($4==1?$2:1/0) with points pt 5 ps 1.8 title 'all-ReLU / all-poly', \\\n"
      << "     '' index 0 using 1:2:3 with labels offset 1,1 notitle\n";
  }
  const std::string cmd = "gnuplot '" + (dir / "sweep.gp").string() + "' 2>/dev/null";
  if (std::system("command -v gnuplot >/dev/null 2>&1") == 0 && std::system(cmd.c_str()) == 0)
    std::cout << "\nwrote " << (dir / "sweep.png").string() << ", sweep.md, sweep.csv\n";
  else
    std::cout << "\nwrote sweep.md, sweep.csv and sweep.gp in " << a.out
              << " (gnuplot not found: apt-get install gnuplot-nox, then gnuplot sweep.gp)\n";
}

std::vector<double> parse_lambdas(const std::string& s) {
  std::vector<double> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    char* end = nullptr;
    const double v = std::strtod(item.c_str(), &end);
    if (item.empty() || end != item.c_str() + item.size() || !(v >= 0))
      throw mpc::InvalidArgument("--sweep: '" + item + "' is not a lambda >= 0 (in '" + s + "')");
    out.push_back(v);
  }
  if (out.empty()) throw mpc::InvalidArgument("--sweep needs at least one lambda");
  return out;
}

}  // namespace

void add_train_command(CLI::App& app, int argc, char** argv) {
  auto a = std::make_shared<TrainArgs>();
  auto lambda = std::make_shared<double>(-1);
  auto sweep = std::make_shared<std::string>();
  CLI::App* c = app.add_subcommand(
      "train", "latency-aware search (PASNet): ReLU or polynomial per site, the performance model in the loss");
  c->add_option("--arch", a->o.arch, "architecture: fmnist-cnn | resnet8 (residual)")->capture_default_str();
  c->add_option("--lambda", *lambda, "one search with this weight of the modelled latency (per ms)");
  c->add_option("--sweep", *sweep, "searches for each lambda of L1,L2,...; writes the sweep report");
  c->add_option("--epochs", a->o.epochs, "fine-tuning epochs after the search")->capture_default_str();
  c->add_option("--search-epochs", a->o.search_epochs, "supernet epochs")->capture_default_str();
  c->add_option("--compare", a->o.compare, "ReLU comparison priced: gmw | fss")->capture_default_str();
  c->add_option("--trunc", a->o.trunc, "truncation priced: exact | prob | fss | slack")->capture_default_str();
  c->add_option("--board", a->o.board, "board of the latency model")->capture_default_str();
  c->add_option("--network", a->o.network, "network preset of the latency model")->capture_default_str();
  c->add_option("--phase", a->o.phase, "online | offline | total")->capture_default_str();
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
  c->callback([a, lambda, sweep, argc, argv] {
    train::reexec_with_passive_omp_wait(argv);
    (void)argc;
    train::site_latencies(a->o);  // an unknown arch, dataset, board or preset fails before any training
    if ((*lambda >= 0) == !sweep->empty())
      throw mpc::InvalidArgument("give one of --lambda L or --sweep L1,L2,...");
    a->sweep = sweep->empty() ? std::vector<double>{*lambda} : parse_lambdas(*sweep);
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
