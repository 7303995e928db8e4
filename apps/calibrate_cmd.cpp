// `polympc bench calibrate`: measures this machine's cpu backend (per kernel and per
// protocol) and writes a calibration file that `polympc perf --calibration` and
// perfmodel::Model use to predict software run time (docs/design.md §9).
#include <cstdio>
#include <memory>
#include <string>

#include "backends.h"
#include "commands.h"
#include "polympc/perfmodel/calibrate.h"

namespace polympc::apps {

namespace {
struct CalibrateArgs {
  std::string out = "perfmodel-calibration.json";
  int threads = 0;
  int repeats = 5;
  bool quick = false;
  bool quiet = false;
  bool verbose = false;
};

void run_calibrate(const CalibrateArgs& a) {
  perfmodel::CalibrateOptions o;
  // Both parties run in this process, as in `polympc infer`: the same default split.
  BackendArgs threads;
  threads.threads = a.threads;
  o.threads = share_threads(threads, 1, 2).threads;
  o.repeats = a.repeats;
  o.quick = a.quick;
  o.verbose = a.verbose;
  if (!a.quiet) o.progress = [](const std::string& s) { std::fprintf(stderr, "calibrate: %s\n", s.c_str()); };
  const perfmodel::Calibration c = perfmodel::calibrate_cpu(o);
  perfmodel::save_calibration(c, a.out);
  std::printf("%-22s %16s %18s  %s\n", "kernel / protocol", "us per call", "ns per unit", "unit");
  for (auto& [name, t] : c.kernels)
    std::printf("%-22s %16.2f %18.4f  %s\n", name.c_str(), t.per_call * 1e6, t.per_unit * 1e9, t.unit.c_str());
  for (auto& [name, t] : c.protocols)
    std::printf("%-22s %16.2f %18.4f  %s (host overhead)\n", ("protocol " + name).c_str(), t.per_call * 1e6,
                t.per_unit * 1e9, t.unit.c_str());
  std::printf("wrote %s (%s; CpuBackend threads per party: %s)\n", a.out.c_str(), c.machine.c_str(),
              c.threads > 0 ? std::to_string(c.threads).c_str() : "all cores");
}
}  // namespace

void add_bench_command(CLI::App& app) {
  CLI::App* bench = app.add_subcommand("bench", "benchmarks of this machine");
  bench->require_subcommand(1);
  auto args = std::make_shared<CalibrateArgs>();
  CLI::App* c = bench->add_subcommand("calibrate", "measure cpu-backend kernel and protocol throughput for the performance model");
  c->add_option("--out", args->out, "calibration file to write")->capture_default_str();
  c->add_option("--threads", args->threads, "CpuBackend threads per party (0 = half the cores each, as an in-process polympc infer)")
      ->capture_default_str();
  c->add_option("--repeats", args->repeats, "runs per measurement point (median)")->capture_default_str();
  c->add_flag("--quick", args->quick, "smaller sizes, 3 repeats (a few seconds; less accurate)");
  c->add_flag("--quiet", args->quiet, "no progress lines");
  c->add_flag("--verbose", args->verbose, "print every measured point");
  c->callback([args] { run_calibrate(*args); });
}

}  // namespace polympc::apps
