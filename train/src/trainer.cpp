// Training loop, export and float check of the exported model (see trainer.h).
#include "polympc/train/trainer.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <functional>
#include <iomanip>
#include <ostream>
#include <sstream>

#include "polympc/nn/dataset.h"
#include "polympc/nn/onnx.h"
#include "polympc/perfmodel/query.h"
#include "polympc/scheduler/plan.h"
#include "polympc/train/model.h"
#include "loop.h"

namespace polympc::train {
namespace {

using detail::Clock;
using detail::cosine_lr;
using detail::seconds_since;
using detail::TensorSet;

void check_options(const TrainOptions& o) {
  if (o.epochs < 1) throw TrainError("--epochs must be >= 1, got " + std::to_string(o.epochs));
  if (o.batch_size < 2) {
    throw TrainError("--batch-size must be >= 2 (batch norm), got " + std::to_string(o.batch_size));
  }
  if (!(o.lr > 0)) throw TrainError("--lr must be > 0");
  if (!(o.poly_scale > 0)) throw TrainError("--poly-scale must be > 0");
  if (o.threads < 0) throw TrainError("--threads must be >= 0");
  if (o.out.empty()) throw TrainError("--out must name the ONNX file to write");
  if (o.search) {
    if (o.search_epochs < 1) throw TrainError("--search-epochs must be >= 1");
    if (!(o.lambda >= 0)) throw TrainError("--lambda must be >= 0");
    if (!(o.search_lr > 0) || !(o.alpha_lr > 0)) throw TrainError("--search-lr and --alpha-lr must be > 0");
  }
}

/// Splits "a,b,c" into exactly `sites` words from `words`, or repeats one word for every
/// site; `what` names the option in errors ("--acts", "--pools"), `site` the sites.
std::vector<std::string> parse_site_list(const std::string& list, size_t sites, const std::vector<std::string>& words,
                                         const std::string& what, const std::string& site) {
  std::vector<std::string> out;
  std::stringstream in(list);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (std::find(words.begin(), words.end(), item) == words.end()) {
      std::string allowed = "neither '" + words[0] + "' nor '" + words[1] + "'";
      if (words.size() > 2) {
        allowed = "not '" + words[0] + "'";
        for (size_t i = 1; i < words.size(); ++i) allowed += (i + 1 == words.size() ? " or '" : ", '") + words[i] + "'";
      }
      throw TrainError(what + ": '" + item + "' is " + allowed + " (in '" + list + "')");
    }
    out.push_back(item);
  }
  if (out.size() == 1 && sites != 1) out.assign(sites, out[0]);
  if (list.empty() && sites == 0) return out;
  if (out.size() != sites || (!list.empty() && list.back() == ','))
    throw TrainError(what + ": the network has " + std::to_string(sites) + " " + site + " sites, got '" + list +
                     "'; give one entry per site or one word for all");
  return out;
}

std::vector<PoolChoice> parse_pools(const std::string& pools, size_t sites) {
  std::vector<PoolChoice> out;
  for (const std::string& w : parse_site_list(pools, sites, {"avg", "max"}, "--pools", "pooling"))
    out.push_back(w == "avg" ? PoolChoice::Avg : PoolChoice::Max);
  return out;
}

namespace pm = polympc::perfmodel;

pm::Model latency_model(const TrainOptions& o, const pm::NetShape& net) {
  pm::Query q;
  q.board = o.board;
  q.network = o.network;
  q.compare = o.compare;
  q.trunc = o.trunc;
  q.phase = o.phase;
  q.bits = o.ring_bits;
  q.frac = o.frac_bits;
  q.layer_bits = o.layer_bits;
  // The kernels sized by the scheduler, as `polympc perf` does by default.
  return scheduler::configure(pm::make_model(q), net, scheduler::KernelSource{}, pm::query_phase(q));
}

/// "relu,poly,...": the choices of `sites` in order.
std::string join_choices(const std::map<std::string, std::string>& c, const std::vector<std::string>& sites) {
  std::string s;
  for (const std::string& site : sites) s += (s.empty() ? "" : ",") + c.at(site);
  return s;
}

}  // namespace

void reexec_with_passive_omp_wait(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") == nullptr && ::setenv("OMP_WAIT_POLICY", "PASSIVE", 1) == 0) {
    std::fflush(nullptr);
    ::execv("/proc/self/exe", argv);
  }
}

std::vector<bool> parse_acts(const std::string& acts, size_t sites) {
  std::vector<bool> poly;
  for (const std::string& w : parse_site_list(acts, sites, {"poly", "relu"}, "--acts", "activation"))
    poly.push_back(w == "poly");
  return poly;
}

std::vector<std::string> parse_act_words(const std::string& acts, size_t sites) {
  return parse_site_list(acts, sites, {"poly", "relu", "id"}, "--acts", "activation");
}

std::vector<int64_t> dataset_input_shape(const TrainOptions& o) {
  if (o.dataset == "fashion-mnist") return {1, 28, 28};
  if (o.dataset == "cifar10") return {3, 32, 32};
  throw TrainError("unknown dataset '" + o.dataset + "'; the trainer reads fashion-mnist and cifar10");
}

nn::Dataset load_data(const TrainOptions& o, bool train, int64_t limit) {
  dataset_input_shape(o);  // checks the name
  if (o.dataset == "cifar10") return nn::load_cifar10_dataset(o.data_dir, train ? "train" : "test", limit);
  return nn::load_idx_dataset(o.data_dir, train ? "train" : "t10k", limit);
}

namespace {
constexpr int64_t kClasses = 10;  // Fashion-MNIST and CIFAR-10

/// o.widths as the CNN's widths (TrainError for bad text).
nn::CnnWidths cnn_widths(const TrainOptions& o) {
  try {
    return nn::parse_widths(o.widths);
  } catch (const mpc::InvalidArgument& e) {
    throw TrainError(e.what());
  }
}

/// Shapes of o.arch with the given fixed choices, as the performance model reads them.
pm::NetShape priced_shape(const TrainOptions& o, const std::vector<ActChoice>& acts,
                          const std::vector<PoolChoice>& pools) {
  nn::Network net =
      make_supernet(o.arch, acts, pools, dataset_input_shape(o), kClasses, o.poly_scale, cnn_widths(o))->to_network();
  net.infer_shapes();
  return pm::from_network(net);
}
}  // namespace

std::vector<SiteLatency> site_latencies(const TrainOptions& o) {
  const SiteCount n = site_count(o.arch);
  const pm::NetShape net = priced_shape(o, std::vector<ActChoice>(n.acts, ActChoice::Relu),
                                        std::vector<PoolChoice>(n.pools, PoolChoice::Max));
  const pm::Model m = latency_model(o, net);
  const pm::Phase phase = pm::parse_phase(o.phase);
  const pm::Choice relu = o.compare == "gmw" ? pm::Choice::ReluGmw : pm::Choice::ReluFss;
  std::vector<SiteLatency> out;
  for (const pm::SiteCosts& s : m.report(net, /*sites=*/true).sites) {
    SiteLatency l;
    l.site = s.name;
    l.kind = s.kind;
    const bool act = s.kind == "activation";
    const pm::Choice want[2] = {act ? relu : pm::Choice::MaxPool, act ? pm::Choice::Poly : pm::Choice::AvgPool};
    l.choices[0] = act ? "relu" : "max";
    l.choices[1] = act ? "poly" : "avg";
    for (int k = 0; k < 2; ++k) {
      auto it = std::find_if(s.choices.begin(), s.choices.end(), [&](const pm::LayerCost& c) { return c.choice == want[k]; });
      if (it == s.choices.end()) throw TrainError("the performance model has no " + l.choices[k] + " cost for " + s.name);
      l.ms[k] = 1e3 * pm::phase_seconds(*it, phase);
    }
    out.push_back(l);
  }
  return out;
}

double modelled_latency_ms(const TrainOptions& o, const std::string& acts, const std::string& pools) {
  const SiteCount n = site_count(o.arch);
  const pm::NetShape net = priced_shape(o, act_choices(parse_act_words(acts, n.acts)), parse_pools(pools, n.pools));
  const pm::Model m = latency_model(o, net);
  return 1e3 * pm::phase_seconds(m.report(net, /*sites=*/false).total, pm::parse_phase(o.phase));
}

namespace {
ModelledCost priced(const TrainOptions& o, const pm::NetShape& net) {
  const pm::LayerCost total = latency_model(o, net).report(net, /*sites=*/false).total;
  return {1e3 * pm::phase_seconds(total, pm::parse_phase(o.phase)), total.energy_j};
}
}  // namespace

ModelledCost modelled_cost(const TrainOptions& o, const std::string& onnx) { return priced(o, pm::make_net("", onnx)); }

ModelledCost modelled_cost(const TrainOptions& o, const nn::Network& net) { return priced(o, pm::from_network(net)); }

TrainReport train_and_export(const TrainOptions& o, std::ostream& log) {
  check_options(o);
  const SiteCount sites = site_count(o.arch);
  // A search chooses every site itself; fixed training reads the choices.
  const std::vector<std::string> act_words = o.search ? std::vector<std::string>() : parse_act_words(o.acts, sites.acts);
  const nn::CnnWidths widths = cnn_widths(o);
  const bool default_widths = widths == nn::CnnWidths{};
  const std::vector<PoolChoice> pools = o.search ? std::vector<PoolChoice>() : parse_pools(o.pools, sites.pools);
  if (o.threads > 0) torch::set_num_threads(o.threads);
  torch::manual_seed(o.seed);

  const TensorSet train = detail::to_tensors(load_data(o, /*train=*/true, o.train_limit));
  const TensorSet test = detail::to_tensors(load_data(o, /*train=*/false, o.test_limit));
  const int64_t n = train.images.size(0);

  log << "polympc-train: " << o.arch << " on " << o.dataset << ", " << n << " training / " << test.images.size(0) << " test images, "
      << (o.search ? "latency-aware search (lambda " + std::to_string(o.lambda) + ", " + o.compare + ", trunc " +
                         o.trunc + ", " + o.board + ", " + o.network + ", " + o.phase + ") for " +
                         std::to_string(o.search_epochs) + " epochs, then"
                   : "acts " + o.acts + ", pools " + o.pools + ",")
      << (default_widths ? "" : " widths " + nn::widths_str(widths) + ",")
      << " " << o.epochs << " epochs, batch " << o.batch_size << ", lr " << o.lr << ", poly scale "
      << o.poly_scale << ", seed " << o.seed << ", " << torch::get_num_threads() << " threads" << std::endl;

  TrainReport rep;
  rep.test_images = test.images.size(0);
  const auto t_train = Clock::now();
  std::vector<ActChoice> act_choice(sites.acts, ActChoice::Mix);
  std::vector<PoolChoice> pool_choice(sites.pools, PoolChoice::Mix);
  if (!o.search) {
    act_choice = act_choices(act_words);
    pool_choice = pools;
  }
  const Supernet model =
      make_supernet(o.arch, act_choice, pool_choice, dataset_input_shape(o), kClasses, o.poly_scale, widths);
  const detail::Trainee trainee{*model, [&model](const torch::Tensor& x) { return model->forward(x); }};
  std::map<std::string, std::string> chosen;
  if (o.search) {
    const std::vector<SiteLatency> table = site_latencies(o);
    std::map<std::string, std::array<double, 2>> lat;
    for (const SiteLatency& l : table) lat[l.site] = {l.ms[0], l.ms[1]};
    log << "modelled latency per site (ms, " << o.phase << "):";
    for (const SiteLatency& l : table)
      log << "  " << l.site << " " << l.choices[0] << " " << l.ms[0] << " / " << l.choices[1] << " " << l.ms[1];
    log << std::endl;
    torch::optim::SGD w_opt(model->weight_parameters(),
                            torch::optim::SGDOptions(o.search_lr).momentum(0.9).weight_decay(3e-4));
    torch::optim::Adam a_opt(model->alpha_parameters(), torch::optim::AdamOptions(o.alpha_lr).weight_decay(1e-3));
    detail::train_epochs(
        trainee, train, test, o, o.search_epochs, "search", {&w_opt, &a_opt},
        [&](double progress) {
          for (auto& g : w_opt.param_groups())
            static_cast<torch::optim::SGDOptions&>(g.options()).lr(cosine_lr(o.search_lr, progress));
        },
        [&] { return o.lambda * model->expected_latency(lat); }, rep, log);
    const auto weights = model->mix_weights();
    chosen = model->fix_choices();
    for (const SiteLatency& l : table) {
      SearchChoice c;
      c.site = l.site;
      c.choice = chosen.at(l.site);
      c.weight[0] = weights.at(l.site)[0];
      c.weight[1] = weights.at(l.site)[1];
      c.ms[0] = l.ms[0];
      c.ms[1] = l.ms[1];
      rep.search.push_back(c);
      log << "  " << l.site << ": softmax(alpha) " << l.choices[0] << " " << c.weight[0] << ", " << l.choices[1] << " "
          << c.weight[1] << " -> " << c.choice << std::endl;
    }
  } else {
    chosen = model->fix_choices();  // nothing to fix: reads the fixed choices
  }
  rep.acts = join_choices(chosen, model->act_sites());
  rep.pools = join_choices(chosen, model->pool_sites());
  // Fine-tuning (after a search) or training: Adam with cosine decay from o.lr to 0.
  torch::optim::Adam opt(model->weight_parameters(), torch::optim::AdamOptions(o.lr));
  detail::train_epochs(
      trainee, train, test, o, o.epochs, o.search ? "fine-tune" : "train", {&opt},
      [&](double progress) { detail::set_lr(opt, cosine_lr(o.lr, progress)); }, nullptr, rep, log);
  rep.train_seconds = seconds_since(t_train);
  model->eval();
  rep.torch_accuracy = detail::accuracy(trainee, test);

  // Export (BN folded), read the file back and run it in float.
  rep.modelled_latency_ms = modelled_latency_ms(o, rep.acts, rep.pools);
  std::ostringstream acc;
  acc << std::setprecision(6) << rep.torch_accuracy;
  rep.metadata = {{"polympc.arch", o.arch},
                  {"polympc.dataset", o.dataset},
                  {"polympc.acts", rep.acts},
                  {"polympc.pools", rep.pools},
                  {"polympc.float_accuracy", acc.str()},
                  {"polympc.search", o.search ? "pasnet" : "none"},
                  {"polympc.compare", o.compare},
                  {"polympc.trunc", o.trunc},
                  {"polympc.board", o.board},
                  {"polympc.network", o.network},
                  {"polympc.phase", o.phase},
                  {"polympc.modelled_latency_ms", std::to_string(rep.modelled_latency_ms)},
                  {"polympc.seed", std::to_string(o.seed)}};
  if (o.search) rep.metadata["polympc.lambda"] = std::to_string(o.lambda);
  // Only for other widths: the shipped CNN's file stays byte-identical.
  if (!default_widths) rep.metadata["polympc.widths"] = nn::widths_str(widths);
  rep.metadata.insert(o.metadata.begin(), o.metadata.end());
  detail::export_and_check(model->to_network(), trainee, o.out, test, rep);
  return rep;
}

}  // namespace polympc::train
