// `polympc arch`: generates CNN architectures for a DReLU budget. --family deepreshape
// applies DeepReShape's rules (Jha & Reagen, arXiv 2304.10593; nn/reshape.h,
// docs/training.md "ReLU-aware reshaping (DeepReShape)") to the Fashion-MNIST CNN and prints
// each member's widths, activations, pools, DReLUs, parameters, MACs and modelled latency,
// with the options that train it. Needs no LibTorch.
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "commands.h"
#include "polympc/mpc/errors.h"
#include "polympc/nn/reshape.h"
#include "polympc/perfmodel/query.h"
#include "polympc/perfmodel/shape.h"
#include "polympc/scheduler/plan.h"

namespace polympc::apps {

namespace {

struct ArchArgs {
  std::string family = "deepreshape";
  int64_t relu_budget = -1;
  std::string out;
  std::string board = "u280";
  std::string network = "lan";
};

/// The DReLUs of the all-ReLU CNN with max pools (19,840): the 10 % reference.
int64_t all_relu_reference() {
  nn::CnnArch a;
  a.acts = {"relu", "relu", "relu"};
  a.pools = {"max", "max"};
  return nn::cnn_costs(a).drelus;
}

/// Modelled latency (ms, total phase, FSS comparison and truncation: the trainer's
/// defaults) of member `a`, priced as `polympc perf` prices a model.
double modelled_ms(const nn::CnnArch& a, const ArchArgs& args) {
  namespace pm = polympc::perfmodel;
  pm::Query q;
  q.board = args.board;
  q.network = args.network;
  q.compare = "fss";
  q.trunc = "fss";
  q.phase = "total";
  const pm::NetShape net = pm::from_network(nn::cnn_network(a));
  const pm::Model m = scheduler::configure(pm::make_model(q), net, scheduler::KernelSource{}, pm::query_phase(q));
  return 1e3 * pm::phase_seconds(m.report(net, /*sites=*/false).total, pm::query_phase(q));
}

void run_arch(const ArchArgs& args) {
  if (args.family != "deepreshape")
    throw mpc::InvalidArgument("--family: unknown family '" + args.family + "' (known: deepreshape)");
  const std::vector<nn::CnnArch> family = nn::deepreshape_family(args.relu_budget);
  const int64_t all = all_relu_reference();
  std::printf("DeepReShape family of fmnist-cnn for %lld DReLUs per image (the all-ReLU CNN with max pools: %lld;"
              " family range %lld..%lld)\n",
              static_cast<long long>(args.relu_budget), static_cast<long long>(all),
              static_cast<long long>(nn::reshape_min_budget()), static_cast<long long>(nn::reshape_max_drelus()));
  std::printf("%-11s %-12s %-14s %-8s %7s %9s %10s %11s\n", "member", "widths", "acts", "pools", "DReLUs", "params",
              "MACs", "latency ms");
  nlohmann::json members = nlohmann::json::array();
  for (const nn::CnnArch& a : family) {
    const double ms = modelled_ms(a, args);
    std::printf("%-11s %-12s %-14s %-8s %7lld %9lld %10lld %11.2f\n", a.name.c_str(), nn::widths_str(a.widths).c_str(),
                a.acts_str().c_str(), a.pools_str().c_str(), static_cast<long long>(a.drelus),
                static_cast<long long>(a.params), static_cast<long long>(a.macs), ms);
    members.push_back({{"name", a.name},
                       {"widths", {{"conv1", a.widths.conv1}, {"conv2", a.widths.conv2}, {"fc1", a.widths.fc1}}},
                       {"acts", a.acts_str()},
                       {"pools", a.pools_str()},
                       {"drelus", a.drelus},
                       {"relu_elements", a.relu_elements},
                       {"maxpool_comparisons", a.maxpool_comparisons},
                       {"params", a.params},
                       {"macs", a.macs},
                       {"modelled_latency_ms", ms},
                       {"train_options",
                        {{"arch", "fmnist-cnn"},
                         {"dataset", "fashion-mnist"},
                         {"widths", nn::widths_str(a.widths)},
                         {"acts", a.acts_str()},
                         {"pools", a.pools_str()}}}});
  }
  for (const nn::CnnArch& a : family)
    std::printf("train %s: TrainOptions arch fmnist-cnn, widths %s, acts %s, pools %s\n", a.name.c_str(),
                nn::widths_str(a.widths).c_str(), a.acts_str().c_str(), a.pools_str().c_str());
  if (!args.out.empty()) {
    const nlohmann::json j = {{"family", args.family},
                              {"arch", "fmnist-cnn"},
                              {"relu_budget", args.relu_budget},
                              {"all_relu_drelus", all},
                              {"latency", {{"board", args.board}, {"network", args.network}, {"compare", "fss"},
                                           {"trunc", "fss"}, {"phase", "total"}}},
                              {"members", members}};
    std::ofstream f(args.out);
    f << j.dump(2) << "\n";
    if (!f) throw mpc::InvalidArgument("--out: cannot write '" + args.out + "'");
    std::printf("wrote %s (%zu architectures)\n", args.out.c_str(), family.size());
  }
}

}  // namespace

void add_arch_command(CLI::App& app) {
  auto args = std::make_shared<ArchArgs>();
  CLI::App* c = app.add_subcommand(
      "arch", "generate CNN architectures for a DReLU budget (DeepReShape: widths and ReLU placement by criticality)");
  c->add_option("--family", args->family, "architecture family: deepreshape")->capture_default_str();
  c->add_option("--relu-budget", args->relu_budget,
                "DReLUs per image (ReLU elements + max-pool comparisons) the architectures may use")
      ->required();
  c->add_option("--out", args->out, "JSON file to write the architectures to");
  c->add_option("--board", args->board, "board of the modelled latency")->capture_default_str();
  c->add_option("--network", args->network, "network preset of the modelled latency")->capture_default_str();
  c->callback([args] { run_arch(*args); });
}

}  // namespace polympc::apps
