// Greedy resource allocation (allocate.h; docs/scheduler.md).
#include "polympc/scheduler/allocate.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>
#include <sstream>

namespace polympc::scheduler {

namespace pm = polympc::perfmodel;

namespace {


/// Normalised size of a resource vector against the budget: the sum of its fractions.
double weight(const pm::Resources& r, const pm::Resources& b) {
  double w = 0;
  auto add = [&](double v, double cap) {
    if (cap > 0) w += v / cap;
  };
  add(r.lut, b.lut);
  add(r.ff, b.ff);
  add(r.dsp, b.dsp);
  add(r.bram_36k, b.bram_36k);
  add(r.uram, b.uram);
  return w;
}

/// The first resource `used` exceeds in `budget`, as "DSP 9216 > 7219".
std::string shortfall(const pm::Resources& used, const pm::Resources& budget) {
  std::ostringstream s;
  auto one = [&](const char* name, double u, double b) {
    if (u > b && s.tellp() == 0) s << name << ' ' << std::llround(u) << " > " << std::llround(b);
  };
  one("LUT", used.lut, budget.lut);
  one("FF", used.ff, budget.ff);
  one("DSP", used.dsp, budget.dsp);
  one("BRAM36", used.bram_36k, budget.bram_36k);
  one("URAM", used.uram, budget.uram);
  return s.str();
}

}  // namespace

std::vector<std::string> kernels_used(const pm::Model& model, const pm::NetShape& net) {
  std::set<std::string> names;
  for (const pm::LayerCost& c : model.report(net, /*sites=*/false).layers)
    for (const pm::KernelUse& u : c.kernels) names.insert(pm::kernel_of(u.kernel));
  return std::vector<std::string>(names.begin(), names.end());
}

pm::Model configured(const pm::Model& model, const KernelConfigs& configs) {
  std::map<std::string, uint64_t> lanes = model.options().lanes, rows = model.options().rows;
  for (const auto& [name, c] : configs) {
    lanes[name] = c.lanes;
    if (name == "matmul_combine")
      rows[name] = c.rows;
    else
      rows.erase(name);
  }
  return model.with_kernels(std::move(lanes), std::move(rows));
}

double objective_s(const pm::Model& model, const pm::NetShape& net, pm::Phase p) {
  return pm::phase_seconds(model.report(net, /*sites=*/false).total, p);
}

pm::Resources resources_of(const pm::Model& model, const KernelConfigs& configs) {
  pm::Resources r;
  for (const auto& [name, c] : configs) r += model.kernels().at(name).resources(c.lanes, c.rows);
  return r;
}

bool fits(const pm::Resources& u, const pm::Resources& b) {
  const double eps = 1e-9;
  return u.lut <= b.lut + eps && u.ff <= b.ff + eps && u.dsp <= b.dsp + eps && u.bram_36k <= b.bram_36k + eps &&
         u.uram <= b.uram + eps;
}

std::vector<KernelConfig> candidate_configs(const pm::Model& model, const std::string& kernel, uint64_t max_lanes) {
  const pm::KernelSpec& k = model.kernels().at(kernel);
  std::vector<uint64_t> lanes;
  for (uint64_t l = 1; l <= max_lanes; l *= 2) {
    if ((kernel == "bit_slice" || kernel == "b2a_combine") && 64 % l != 0) continue;
    if (kernel == "matmul_combine" && k.tile_n % l != 0) continue;
    lanes.push_back(l);
  }
  std::vector<KernelConfig> out;
  for (uint64_t l : lanes) {
    if (kernel != "matmul_combine") {
      out.push_back(KernelConfig{l, 1});
      continue;
    }
    for (uint64_t r = 1; r <= max_lanes; r *= 2) out.push_back(KernelConfig{l, r});
  }
  return out;
}

Allocation allocate(const pm::Model& model, const pm::NetShape& net, const AllocationOptions& opt) {
  if (!(opt.budget > 0 && opt.budget <= 1))
    throw pm::PerfModelError("budget must be a fraction of the board in (0, 1], got " + std::to_string(opt.budget));
  if (opt.max_lanes == 0 || (opt.max_lanes & (opt.max_lanes - 1)) != 0)
    throw pm::PerfModelError("max_lanes must be a power of two");
  const auto t0 = std::chrono::steady_clock::now();
  Allocation a;
  a.budget = model.board().capacity.scaled(opt.budget);
  const std::vector<std::string> used = kernels_used(model, net);

  for (const std::string& k : used) a.defaults[k] = KernelConfig{model.lanes(k), model.rows(k)};
  a.default_latency_s = objective_s(configured(model, a.defaults), net, opt.objective);

  auto price = [&](const KernelConfigs& c) {
    ++a.evaluations;
    return objective_s(configured(model, c), net, opt.objective);
  };

  // Start: one lane (one row) of every kernel.
  KernelConfigs ones;
  for (const std::string& k : used) ones[k] = KernelConfig{1, 1};
  const pm::Resources ones_res = resources_of(model, ones);
  if (!fits(ones_res, a.budget))
    throw pm::PerfModelError("a budget of " + std::to_string(static_cast<int>(std::lround(opt.budget * 100))) + " % of " +
                             model.board().name + " cannot hold one lane of every kernel the network needs (" +
                             shortfall(ones_res, a.budget) + ")");

  // Greedy from `cur`: the doubling that saves the most seconds per unit of budget, while one
  // saves anything (more than 1e-9 of the latency).
  auto greedy = [&](KernelConfigs cur) {
    pm::Resources cur_res = resources_of(model, cur);
    double cur_s = price(cur);
    for (;;) {
      std::string best_kernel;
      KernelConfig best_cfg;
      double best_score = 0, best_s = cur_s;
      pm::Resources best_res;
      for (const std::string& k : used) {
        const KernelConfig c = cur[k];
        // The next larger lanes at these rows, and the next larger rows at these lanes.
        std::vector<KernelConfig> steps;
        const std::vector<KernelConfig> all = candidate_configs(model, k, opt.max_lanes);
        for (bool grow_rows : {false, true}) {
          const KernelConfig* n = nullptr;
          for (const KernelConfig& s : all) {
            const bool ok = grow_rows ? (s.lanes == c.lanes && s.rows > c.rows) : (s.rows == c.rows && s.lanes > c.lanes);
            if (ok && (n == nullptr || (grow_rows ? s.rows < n->rows : s.lanes < n->lanes))) n = &s;
          }
          if (n != nullptr) steps.push_back(*n);
        }
        for (const KernelConfig& s : steps) {
          KernelConfigs trial = cur;
          trial[k] = s;
          const pm::Resources res = resources_of(model, trial);
          if (!fits(res, a.budget)) continue;
          const double t = price(trial);
          const double gain = cur_s - t;
          if (gain <= 1e-9 * cur_s) continue;
          const double cost = std::max(1e-12, weight(res, a.budget) - weight(cur_res, a.budget));
          const double score = gain / cost;
          if (score > best_score) {
            best_score = score;
            best_kernel = k;
            best_cfg = s;
            best_s = t;
            best_res = res;
          }
        }
      }
      if (best_kernel.empty()) break;
      cur[best_kernel] = best_cfg;
      cur_s = best_s;
      cur_res = best_res;
    }
    return std::make_pair(cur, cur_s);
  };

  // Naive: each kernel gets an equal share of the budget and the largest configuration in
  // it (matmul: lanes and rows grown alternately).
  const pm::Resources share = a.budget.scaled(1.0 / static_cast<double>(std::max<size_t>(1, used.size())));
  for (const std::string& k : used) {
    KernelConfig c{1, 1};
    for (bool grew = true; grew;) {
      grew = false;
      for (const KernelConfig& s : candidate_configs(model, k, opt.max_lanes)) {
        const bool step = k == "matmul_combine"
                              ? (c.lanes <= c.rows ? (s.lanes == 2 * c.lanes && s.rows == c.rows)
                                                   : (s.rows == 2 * c.rows && s.lanes == c.lanes))
                              : s.lanes == 2 * c.lanes;
        if (step && fits(model.kernels().at(k).resources(s.lanes, s.rows), share)) {
          c = s;
          grew = true;
          break;
        }
      }
    }
    a.naive[k] = c;
  }
  a.naive_latency_s = objective_s(configured(model, a.naive), net, opt.objective);

  // Greedy from one lane of everything, and from the equal split and the headers' defaults
  // (when they fit): the plan is never worse than either.
  std::pair<KernelConfigs, double> best = greedy(ones);
  std::vector<KernelConfigs> starts = {a.naive};
  if (fits(resources_of(model, a.defaults), a.budget)) starts.push_back(a.defaults);
  for (const KernelConfigs& s : starts) {
    auto r = greedy(s);
    if (r.second < best.second) best = r;
  }
  a.kernels = best.first;
  a.used = resources_of(model, a.kernels);
  a.latency_s = best.second;

  a.search_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return a;
}

}  // namespace polympc::scheduler
