// `polympc schedule`: sizes the kernels to a board's budget for a network (scheduler/,
// docs/scheduler.md), prints the allocation with its modelled latency against the kernel
// headers' defaults and an equal split of the budget, and writes plan.json and the
// configuration header for synthesis.
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include "commands.h"
#include "model_args.h"
#include "protocol_args.h"
#include "polympc/scheduler/allocate.h"
#include "polympc/scheduler/plan.h"

namespace polympc::apps {

namespace {
namespace pm = polympc::perfmodel;
namespace sc = polympc::scheduler;

struct ScheduleArgs {
  ModelArgs m;
  double budget = 0.8;
  std::string objective = "online";
  std::string out;
  std::string hls_config;
  std::string trace;
  bool layers = false;
  std::string target = "fpga";  ///< --target: what the tiling is chosen for
  size_t tile_lanes = 2;        ///< --tile-lanes: cpu target: lanes executing the tiles
};

std::string config_str(const std::string& kernel, const sc::KernelConfig& c) {
  char buf[64];
  if (kernel == "matmul_combine")
    std::snprintf(buf, sizeof buf, "%llu lanes x %llu rows", static_cast<unsigned long long>(c.lanes),
                  static_cast<unsigned long long>(c.rows));
  else
    std::snprintf(buf, sizeof buf, "%llu %s", static_cast<unsigned long long>(c.lanes),
                  kernel == "dcf_eval" ? "AES cores" : "lanes");
  return buf;
}

void run_schedule(const ScheduleArgs& a) {
  const pm::NetShape net = a.m.net();
  const pm::Model model = pm::make_model(a.m.q);
  sc::AllocationOptions o;
  o.budget = a.budget;
  o.objective = pm::parse_phase(a.objective);
  sc::TimelineOptions t;
  t.target = sc::parse_target(a.target);
  if (t.target == sc::Target::Cpu) {
    if (!model.calibration())
      throw pm::PerfModelError("--target cpu needs --calibration FILE (polympc bench calibrate): the cpu backend's "
                               "times on this machine");
    if (a.tile_lanes == 0) throw pm::PerfModelError("--tile-lanes must be >= 1");
    t.lanes = a.tile_lanes;
  }
  const sc::Plan plan = sc::make_plan(model, net, o, t);
  const sc::Allocation& al = plan.allocation;

  std::printf("polympc schedule: %s on %s, network %s, compare %s, trunc %s, l=%d f=%d, batch %zu\n", net.name.c_str(),
              model.board().title.c_str(), model.network().name.c_str(), plan.compare.c_str(), plan.trunc.c_str(),
              plan.ring_bits, plan.frac_bits, plan.batch);
  std::printf("budget %.0f %% of every resource; objective: %s latency; all latencies MODELLED\n\n", a.budget * 100,
              a.objective.c_str());
  std::printf("%-20s %-22s %-22s %10s %10s %8s %8s %6s\n", "kernel", "plan", "equal split", "LUT", "FF", "DSP", "BRAM36",
              "URAM");
  for (const auto& [k, c] : al.kernels) {
    const pm::Resources r = model.kernels().at(k).resources(c.lanes, c.rows);
    std::printf("%-20s %-22s %-22s %10.0f %10.0f %8.0f %8.1f %6.0f\n", k.c_str(), config_str(k, c).c_str(),
                config_str(k, al.naive.at(k)).c_str(), r.lut, r.ff, r.dsp, r.bram_36k, r.uram);
  }
  const pm::Resources& u = al.used;
  const pm::Resources& b = al.budget;
  std::printf("%-20s %-22s %-22s %10.0f %10.0f %8.0f %8.1f %6.0f\n", "used", "", "", u.lut, u.ff, u.dsp, u.bram_36k, u.uram);
  std::printf("%-20s %-22s %-22s %10.0f %10.0f %8.0f %8.1f %6.0f\n\n", "budget", "", "", b.lut, b.ff, b.dsp, b.bram_36k,
              b.uram);
  std::printf("modelled latency: plan %.1f ms; headers' defaults %.1f ms (%.2fx the plan); equal split %.1f ms (%.2fx)\n",
              al.latency_s * 1e3, al.default_latency_s * 1e3, al.default_latency_s / al.latency_s,
              al.naive_latency_s * 1e3, al.naive_latency_s / al.latency_s);
  std::printf("search: greedy, %llu configurations priced in %.2f s (measured)\n",
              static_cast<unsigned long long>(al.evaluations), al.search_s);
  const sc::Timeline& tl = plan.timeline;
  if (t.target == sc::Target::Cpu) {
    const double untiled = sc::build_timeline(model, net, {}, t).makespan_s;
    std::printf("\ntiling chosen for the cpu backend of %s (calibration %s; %zu tile lanes), as polympc infer --plan "
                "executes it:\n  plan %.1f ms vs untiled %.1f ms (%.2fx), batch %zu (MODELLED from measured "
                "calibration)\n",
                plan.calibrated_on.c_str(), model.calibration()->file.c_str(), t.lanes, plan.timeline.makespan_s * 1e3,
                untiled * 1e3, untiled / plan.timeline.makespan_s, plan.batch);
    std::printf("  tiles:");
    for (const sc::LayerTiming& l : plan.timeline.layers) std::printf(" %s=%d", l.name.c_str(), l.tiles);
    std::printf("\n");
    if (!a.out.empty()) sc::write_plan(plan, model, a.out);
    if (!a.out.empty()) std::printf("plan: %s (polympc infer --plan %s --batch %zu)\n", a.out.c_str(), a.out.c_str(), plan.batch);
    return;
  }
  std::printf("\nwith tiling and overlap (modelled; tile k's transfers and link time overlap tile k+1's compute):\n"
              "  plan %.1f ms vs sequential %.1f ms (%.2fx); naive plan (equal split, no overlap) %.1f ms: %.2fx the plan\n",
              tl.makespan_s * 1e3, al.latency_s * 1e3, al.latency_s / tl.makespan_s, al.naive_latency_s * 1e3,
              al.naive_latency_s / tl.makespan_s);
  std::printf("  utilisation:");
  for (const auto& [res, busy] : tl.busy_s) std::printf(" %s %.0f %%", res.c_str(), 100 * busy / tl.makespan_s);
  std::printf("\n  critical path: %zu tasks\n", tl.critical_path.size());
  if (a.layers) {
    std::printf("\n%-22s %6s %14s %14s  %s\n", "layer", "tiles", "sequential ms", "overlapped ms", "bottleneck");
    for (const sc::LayerTiming& l : tl.layers)
      std::printf("%-22s %6d %14.3f %14.3f  %s\n", l.name.c_str(), l.tiles, l.sequential_s * 1e3,
                  (l.end_s - l.start_s) * 1e3, l.end_s > l.start_s ? l.bottleneck.c_str() : "-");
  }
  if (!a.trace.empty()) {
    std::ofstream f(a.trace);
    if (!f) throw pm::PerfModelError("cannot write '" + a.trace + "'");
    f << sc::trace_json(tl, "polympc schedule: " + net.name + " on " + plan.board + ", " + plan.preset + " (modelled)").dump()
      << "\n";
    if (!f) throw pm::PerfModelError("failed writing '" + a.trace + "'");
    std::printf("trace: %s (Chrome trace JSON: open in https://ui.perfetto.dev)\n", a.trace.c_str());
  }
  if (!a.out.empty()) {
    sc::write_plan(plan, model, a.out);
    std::printf("plan: %s (polympc perf --plan %s)\n", a.out.c_str(), a.out.c_str());
  }
  if (!a.hls_config.empty()) {
    std::ofstream f(a.hls_config);
    if (!f) throw pm::PerfModelError("cannot write '" + a.hls_config + "'");
    f << sc::hls_config_header(al.kernels, model, "plan for " + net.name + " on " + plan.board + ", " + plan.preset);
    if (!f) throw pm::PerfModelError("failed writing '" + a.hls_config + "'");
    std::printf("configuration header: %s (cmake -DPOLYMPC_HLS_PLAN_CONFIG=%s, hls/)\n", a.hls_config.c_str(),
                a.hls_config.c_str());
  }
}
}  // namespace

void add_schedule_command(CLI::App& app) {
  auto args = std::make_shared<ScheduleArgs>();
  CLI::App* c = app.add_subcommand("schedule", "size the kernels to a board for a network (modelled), write plan.json");
  add_model_options(c, args->m);
  c->add_option("--budget", args->budget, "fraction of every board resource the kernels may use")->capture_default_str();
  c->add_option("--objective", args->objective, "latency to minimise: online | offline | total")->capture_default_str();
  c->add_option("--out", args->out, "write the plan (JSON) to this file");
  c->add_option("--hls-config", args->hls_config, "write the kernel configuration header for synthesis (hls/)");
  c->add_option("--trace", args->trace, "write the plan's modelled timeline as Chrome trace JSON (Perfetto)");
  c->add_flag("--layers", args->layers, "print each layer's tiles, sequential and overlapped time and bottleneck");
  c->add_option("--target", args->target,
                "what the tiling is chosen for: fpga (the board's kernels) | cpu (this machine's cpu backend, "
                "priced by --calibration; what polympc infer --plan executes)")
      ->capture_default_str();
  c->add_option("--calibration", args->m.q.calibration, "calibration file from `polympc bench calibrate` (--target cpu)");
  c->add_option("--tile-lanes", args->tile_lanes, "--target cpu: lanes that execute the tiles (polympc infer --tile-lanes)")
      ->capture_default_str();
  c->callback([args, c] {
    if (!args->m.model.empty())  // the fixed point a model's rings were chosen for, unless given
      model_fixed_point(args->m.model, args->m.q.bits, c->count("--bits") > 0, args->m.q.frac, c->count("--frac") > 0,
                        args->m.q.coef_frac);
    run_schedule(*args);
  });
}

}  // namespace polympc::apps
