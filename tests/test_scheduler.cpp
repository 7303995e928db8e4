// The scheduler's resource allocation and plan files (scheduler/, docs/scheduler.md).
// Latencies here are MODELLED (perfmodel); the tests check the search and the files, not
// hard-coded figures.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <set>
#include <nlohmann/json.hpp>

#include "polympc/cpu/cpu_backend.h"
#include "polympc/nn/dataset.h"
#include "polympc/nn/inference.h"
#include "polympc/perfmodel/query.h"
#include "polympc/scheduler/allocate.h"
#include "polympc/scheduler/plan.h"
#include "polympc/scheduler/timeline.h"
#include "test_networks.h"
#include "test_util.h"

using namespace polympc;
namespace pm = polympc::perfmodel;
namespace sc = polympc::scheduler;

namespace {

const std::string kShipped = std::string(POLYMPC_SOURCE_DIR) + "/models/fmnist_cnn.onnx";

pm::Model model_for(const std::string& board, const std::string& network = "lan", const std::string& compare = "fss") {
  pm::Query q;
  q.board = board;
  q.network = network;
  q.compare = compare;
  return pm::make_model(q);
}

using polympc::testing::temp_path;  // per test and process: CTest runs tests at the same time

// The acceptance networks on every board file: the plan fits the budget, is never slower
// than the headers' defaults when those fit, and beats (or ties) the equal split.
TEST(Allocate, PlanFitsTheBudgetOnEveryBoard) {
  const std::vector<pm::NetShape> nets = {pm::make_net("resnet18-cifar", ""), pm::make_net("", kShipped)};
  for (const std::string& board : pm::list_boards()) {
    for (const char* preset : {"lan", "wan"}) {
      const pm::Model m = model_for(board, preset);
      for (const pm::NetShape& net : nets) {
        const sc::Allocation a = sc::allocate(m, net);
        SCOPED_TRACE(board + " " + preset + " " + net.name);
        EXPECT_TRUE(sc::fits(a.used, a.budget));
        EXPECT_TRUE(sc::fits(sc::resources_of(m, a.kernels), m.board().capacity.scaled(0.8)));
        EXPECT_EQ(a.kernels.size(), sc::kernels_used(m, net).size());
        EXPECT_LE(a.latency_s, a.naive_latency_s * (1 + 1e-9));
        if (sc::fits(sc::resources_of(m, a.defaults), a.budget)) {
          EXPECT_LE(a.latency_s, a.default_latency_s * (1 + 1e-9));
        }
        // The recorded latency is the model's answer at the chosen configuration.
        EXPECT_DOUBLE_EQ(a.latency_s, sc::objective_s(sc::configured(m, a.kernels), net, pm::Phase::Online));
        EXPECT_GT(a.evaluations, 0u);
      }
    }
  }
}

// Greedy against the exhaustive optimum over a small space (every kernel at 1, 2 or 4
// lanes, matmul rows 1, 2 or 4) where the budget binds: within 10 %.
TEST(Allocate, GreedyIsNearTheExhaustiveOptimumOnASmallSpace) {
  const pm::Model m = model_for("zcu104");
  const pm::NetShape net = pm::make_net("", kShipped);
  const std::vector<std::string> kernels = sc::kernels_used(m, net);
  ASSERT_GE(kernels.size(), 3u);
  for (double budget : {0.5, 0.65, 0.8}) {
    sc::AllocationOptions o;
    o.budget = budget;
    o.max_lanes = 4;
    const pm::Resources cap = m.board().capacity.scaled(budget);
    double best = 1e300;
    size_t feasible = 0;
    sc::KernelConfigs cur;
    std::function<void(size_t)> walk = [&](size_t i) {
      if (i == kernels.size()) {
        if (!sc::fits(sc::resources_of(m, cur), cap)) return;
        ++feasible;
        best = std::min(best, sc::objective_s(sc::configured(m, cur), net, pm::Phase::Online));
        return;
      }
      for (const sc::KernelConfig& c : sc::candidate_configs(m, kernels[i], o.max_lanes)) {
        cur[kernels[i]] = c;
        walk(i + 1);
      }
    };
    walk(0);
    ASSERT_GT(feasible, 0u);
    const sc::Allocation a = sc::allocate(m, net, o);
    EXPECT_TRUE(sc::fits(a.used, cap));
    EXPECT_LE(a.latency_s, best * 1.10) << "budget " << budget << ": greedy " << a.latency_s << " s, optimum " << best
                                        << " s over " << feasible << " feasible configurations";
    EXPECT_GE(a.latency_s, best * (1 - 1e-9));
  }
}

TEST(Allocate, InfeasibleRequestsAreClearErrors) {
  const pm::Model m = model_for("zcu104");
  const pm::NetShape net = pm::make_net("resnet18-cifar", "");
  sc::AllocationOptions o;
  o.budget = 0.001;
  try {
    sc::allocate(m, net, o);
    FAIL() << "a budget of 0.1 % of a ZCU104 holds no lane of every kernel";
  } catch (const pm::PerfModelError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot hold one lane of every kernel"), std::string::npos) << e.what();
  }
  for (double b : {0.0, -0.5, 1.5}) {
    o.budget = b;
    EXPECT_THROW(sc::allocate(m, net, o), pm::PerfModelError) << b;
  }
  EXPECT_THROW(model_for("no-such-board"), pm::PerfModelError);
  EXPECT_THROW(model_for("u280", "no-such-preset"), pm::PerfModelError);
}

TEST(Allocate, KernelRulesAreEnforced) {
  const pm::Model m = model_for("u280");
  EXPECT_THROW(m.with_kernels({{"dcf_eval", 3}}, {}), pm::PerfModelError);        // AES cores: powers of two
  EXPECT_THROW(m.with_kernels({{"matmul_combine", 3}}, {}), pm::PerfModelError);  // lanes divide the tile
  EXPECT_THROW(m.with_kernels({}, {{"poly_eval", 2}}), pm::PerfModelError);       // only matmul has rows
  EXPECT_THROW(m.with_kernels({}, {{"matmul_combine", 0}}), pm::PerfModelError);
  EXPECT_NO_THROW(m.with_kernels({{"dcf_eval", 64}, {"matmul_combine", 32}}, {{"matmul_combine", 8}}));
  EXPECT_THROW(m.with_kernels({{"winograd_transform", 0}}, {}), pm::PerfModelError);  // lanes >= 1
  EXPECT_THROW(m.with_kernels({}, {{"winograd_transform", 2}}), pm::PerfModelError);  // no rows
  EXPECT_EQ(m.with_kernels({{"winograd_transform", 32}}, {}).lanes("winograd_transform"), 32u);
  // More AES cores need larger groups to hide the AES latency (kernels/dcf_eval.h).
  EXPECT_GT(m.with_kernels({{"dcf_eval", 64}}, {}).dcf_group_words(), m.dcf_group_words());
  for (const sc::KernelConfig& c : sc::candidate_configs(m, "bit_slice", 1024)) EXPECT_EQ(64 % c.lanes, 0u);
}

// A network with Winograd layers: the scheduler sizes the transform kernel like the others
// (powers of two, one row), within the budget, and its lanes change the modelled latency.
TEST(Allocate, SizesTheWinogradTransformWithinTheBudget) {
  for (const std::string& board : {std::string("u280"), std::string("zcu104")}) {
    const pm::Model m = model_for(board);
    pm::NetShape net = pm::make_net("resnet18-cifar", "");
    ASSERT_GT(pm::set_winograd(net, 2), 0);
    const std::vector<std::string> used = sc::kernels_used(m, net);
    ASSERT_NE(std::find(used.begin(), used.end(), "winograd_transform"), used.end()) << board;
    const sc::Allocation a = sc::allocate(m, net);
    SCOPED_TRACE(board);
    ASSERT_TRUE(a.kernels.count("winograd_transform"));
    const sc::KernelConfig c = a.kernels.at("winograd_transform");
    EXPECT_EQ(c.rows, 1u);
    EXPECT_GE(c.lanes, 1u);
    EXPECT_EQ(c.lanes & (c.lanes - 1), 0u) << c.lanes;  // the search's powers of two
    EXPECT_TRUE(sc::fits(a.used, a.budget));
    // The transform's resources are in the plan's: without them the plan would use less.
    sc::KernelConfigs others = a.kernels;
    others.erase("winograd_transform");
    const pm::Resources rt = m.kernels().at("winograd_transform").resources(c.lanes);
    EXPECT_GT(rt.lut, 0.0);
    EXPECT_NEAR(a.used.lut, sc::resources_of(m, others).lut + rt.lut, 1e-6 * a.used.lut);
    EXPECT_DOUBLE_EQ(a.latency_s, sc::objective_s(sc::configured(m, a.kernels), net, pm::Phase::Online));
    // Its lanes are priced: at the plan's other kernels one lane is slower than eight
    // (ResNet-18 CIFAR has 16, 8, 4 and 2 tiles per row in its four stages at F(2x2)), and
    // slower than the plan's choice when that is more.
    sc::KernelConfigs one = a.kernels, eight = a.kernels;
    one["winograd_transform"] = sc::KernelConfig{1, 1};
    eight["winograd_transform"] = sc::KernelConfig{8, 1};
    const double one_s = sc::objective_s(sc::configured(m, one), net, pm::Phase::Online);
    EXPECT_GT(one_s, sc::objective_s(sc::configured(m, eight), net, pm::Phase::Online));
    if (c.lanes > 1) {
      EXPECT_GT(one_s, a.latency_s);
    }
    std::printf("%s resnet18-cifar F(2x2): winograd_transform %llu lanes (modelled)\n", board.c_str(),
                static_cast<unsigned long long>(c.lanes));
  }
  // Without Winograd layers the transform is not sized.
  const pm::Model m = model_for("u280");
  const std::vector<std::string> direct = sc::kernels_used(m, pm::make_net("resnet18-cifar", ""));
  EXPECT_EQ(std::find(direct.begin(), direct.end(), "winograd_transform"), direct.end());
  for (const sc::KernelConfig& c : sc::candidate_configs(m, "winograd_transform", 1024)) {
    EXPECT_EQ(c.lanes & (c.lanes - 1), 0u);
    EXPECT_EQ(c.rows, 1u);
  }
}

// More rows share each input packet: device memory traffic falls, cycles do not rise.
TEST(Allocate, MatmulRowsReuseTheLoweredInput) {
  const pm::Model m = model_for("u280");
  pm::LayerShape conv;
  conv.name = "conv";
  conv.kind = pm::LayerKind::Conv;
  conv.in_shape = {64, 56, 56};
  conv.out_shape = {64, 56, 56};
  conv.kernel_h = conv.kernel_w = 3;
  double last_mem = 1e300;
  uint64_t last_cycles = ~uint64_t(0);
  for (uint64_t rows : {1, 2, 4, 8, 16}) {
    const pm::LayerCost c = m.with_kernels({}, {{"matmul_combine", rows}}).layer_cost(conv, pm::Choice::Matmul);
    double mem = 0;
    uint64_t cycles = 0;
    for (const pm::KernelUse& u : c.kernels)
      if (u.kernel == "matmul_combine") {
        mem = u.memory_bytes;
        cycles = u.cycles;
      }
    EXPECT_LT(mem, last_mem) << rows;
    EXPECT_LT(cycles, last_cycles) << rows;
    last_mem = mem;
    last_cycles = cycles;
  }
}

using PlanMutations = std::vector<std::pair<std::function<void(nlohmann::json&)>, std::string>>;
/// Writes each mutation of plan `j` to a file and expects `read` to refuse it with an
/// error naming the field (`needle`).
void expect_bad_plans(const nlohmann::json& j, const PlanMutations& bad,
                      const std::function<void(const std::string&)>& read) {
  for (const auto& [mutate, needle] : bad) {
    nlohmann::json x = j;
    mutate(x);
    const std::string bad_path = temp_path("bad_plan.json");
    std::ofstream(bad_path) << x.dump();
    try {
      read(bad_path);
      ADD_FAILURE() << "accepted a plan with a bad " << needle;
    } catch (const pm::PerfModelError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  }
}

/// The scheduler's plan of the shipped model on `board`, written to temp_path(`file`).
struct WrittenPlan {
  pm::Model model;
  sc::Plan plan;
  std::string path;
};
WrittenPlan written_plan(const std::string& board, const std::string& file) {
  pm::Model m = model_for(board);
  const pm::NetShape net = pm::make_net("", kShipped);
  sc::Plan p = sc::make_plan(m, net);
  const std::string path = temp_path(file);
  sc::write_plan(p, m, path);
  return {std::move(m), std::move(p), path};
}

TEST(Plan, FileRoundTripsAndIsChecked) {
  const WrittenPlan w = written_plan("u250", "plan.json");
  const pm::Model& m = w.model;
  const sc::Plan& p = w.plan;
  const std::string& path = w.path;
  EXPECT_EQ(sc::read_plan_kernels(path, m, "u250"), p.allocation.kernels);
  std::ifstream in(path);
  const nlohmann::json j = nlohmann::json::parse(in);
  EXPECT_EQ(j["format"], "polympc-plan");
  EXPECT_DOUBLE_EQ(j["modelled"]["latency_s"].get<double>(), p.allocation.latency_s);
  try {
    sc::read_plan_kernels(path, m, "u280");
    FAIL() << "a plan made for u250 was accepted for u280";
  } catch (const pm::PerfModelError& e) {
    EXPECT_NE(std::string(e.what()).find("made for u250"), std::string::npos) << e.what();
  }
  // Malformed plans name the field.
  const PlanMutations bad = {
      {[](nlohmann::json& x) { x["format"] = "other"; }, "format"},
      {[](nlohmann::json& x) { x["version"] = 2; }, "version"},
      {[](nlohmann::json& x) { x.erase("kernels"); }, "kernels"},
      {[](nlohmann::json& x) { x["kernels"]["no_such_kernel"] = {{"lanes", 1}}; }, "kernels.no_such_kernel"},
      {[](nlohmann::json& x) { x["kernels"]["poly_eval"] = {{"lanes", 0}}; }, "kernels.poly_eval.lanes"},
      {[](nlohmann::json& x) { x["kernels"]["poly_eval"] = {{"lanes", -4}}; }, "kernels.poly_eval.lanes"},
      {[](nlohmann::json& x) { x["kernels"]["poly_eval"] = {{"lanes", 4}, {"rows", 2}}; }, "kernels.poly_eval.rows"},
      {[](nlohmann::json& x) { x["kernels"]["matmul_combine"] = {{"rows", 2}}; }, "kernels.matmul_combine.lanes"},
      {[](nlohmann::json& x) { x["kernels"]["dcf_eval"] = {{"lanes", 3}}; }, "AES cores"},
  };
  expect_bad_plans(j, bad, [&](const std::string& file) { sc::read_plan_kernels(file, m); });
  std::ofstream(temp_path("truncated_plan.json")) << j.dump().substr(0, 40);
  EXPECT_THROW(sc::read_plan_kernels(temp_path("truncated_plan.json"), m), pm::PerfModelError);
  EXPECT_THROW(sc::read_plan_kernels(temp_path("missing_plan.json"), m), pm::PerfModelError);
}

TEST(Plan, ConfigHeaderDefinesEveryPlannedKernel) {
  const pm::Model m = model_for("u280");
  const sc::KernelConfigs c = {{"matmul_combine", {32, 8}}, {"dcf_eval", {64, 1}}, {"poly_eval", {16, 1}},
                               {"winograd_transform", {4, 1}}};
  const std::string h = sc::hls_config_header(c, m, "test");
  for (const char* needle : {"#define POLYMPC_MATMUL_CONFIG PolympcPlanMatmulConfig", "static const unsigned rows = 8;",
                             "#define POLYMPC_DCF_EVAL_CONFIG", "static const unsigned aes_cores = 64;",
                             "#define POLYMPC_POLY_EVAL_CONFIG", "#include \"kernels/matmul_combine.h\"",
                             "#include \"kernels/winograd_transform.h\"",
                             "struct PolympcPlanWinogradConfig : polympc::kernels::WinogradDefaultConfig {\n"
                             "  static const unsigned lanes = 4;\n};\n#define POLYMPC_WINOGRAD_CONFIG PolympcPlanWinogradConfig"})
    EXPECT_NE(h.find(needle), std::string::npos) << needle << "\n" << h;
  EXPECT_EQ(h.find("POLYMPC_TRUNC_CONFIG"), std::string::npos);  // not planned: the kernel's default
  EXPECT_NE(h.find("group_words = " + std::to_string(m.with_kernels({{"dcf_eval", 64}}, {}).dcf_group_words()) + ";"),
            std::string::npos);
}

// With one tile per layer the timeline is the sequential model: its makespan is the
// report's online latency.
TEST(Timeline, OneTilePerLayerIsTheSequentialModel) {
  for (const std::string& board : pm::list_boards()) {
    const pm::Model m = model_for(board);
    for (const pm::NetShape& net : {pm::make_net("resnet18-cifar", ""), pm::make_net("", kShipped)}) {
      const sc::Timeline t = sc::build_timeline(m, net);
      EXPECT_NEAR(t.makespan_s, m.report(net, false).total.latency_s, 1e-9 * t.makespan_s) << board << " " << net.name;
    }
  }
}

/// Checks a Chrome trace: tasks on one resource (thread) never overlap, every task starts
/// after its dependencies finished (plus their lag), the critical path ends the makespan.
void check_trace(const nlohmann::json& j, double makespan_s) {
  ASSERT_TRUE(j.contains("traceEvents"));
  std::map<int, std::vector<std::pair<double, double>>> by_tid;
  std::map<int, std::pair<double, double>> by_id;  // id -> (start, end) us
  std::vector<nlohmann::json> tasks;
  for (const auto& e : j["traceEvents"]) {
    ASSERT_TRUE(e.contains("ph"));
    if (e["ph"] != "X") continue;
    const double ts = e["ts"].get<double>(), dur = e["dur"].get<double>();
    ASSERT_GE(dur, 0);
    by_tid[e["tid"].get<int>()].push_back({ts, ts + dur});
    by_id[e["args"]["id"].get<int>()] = {ts, ts + dur};
    tasks.push_back(e);
  }
  ASSERT_FALSE(tasks.empty());
  const double eps = 1e-6 * (makespan_s * 1e6) + 1e-6;
  for (auto& [tid, spans] : by_tid) {
    std::sort(spans.begin(), spans.end());
    for (size_t i = 1; i < spans.size(); ++i) EXPECT_LE(spans[i - 1].second, spans[i].first + eps) << "thread " << tid;
  }
  for (const auto& e : tasks)
    for (int d : e["args"]["deps"]) {
      ASSERT_TRUE(by_id.count(d));
      EXPECT_LE(by_id[d].second + e["args"]["lag_us"].get<double>(), e["ts"].get<double>() + eps) << e["name"];
    }
  const auto& path = j["otherData"]["critical_path"];
  ASSERT_FALSE(path.empty());
  EXPECT_LE(by_id[path.back().get<int>()].second, makespan_s * 1e6 + eps);
  EXPECT_NEAR(j["otherData"]["makespan_us"].get<double>(), makespan_s * 1e6, eps);
}

TEST(Timeline, TiledTraceIsValidAndNoSlowerThanSequential) {
  for (const char* preset : {"lan", "wan"}) {
    const pm::Model m = model_for("u280", preset);
    for (const pm::NetShape& net : {pm::make_net("resnet18-cifar", ""), pm::make_net("", kShipped)}) {
      const sc::Plan p = sc::make_plan(m, net);
      SCOPED_TRACE(std::string(preset) + " " + net.name);
      EXPECT_LE(p.timeline.makespan_s, p.allocation.latency_s * (1 + 1e-9));
      EXPECT_EQ(p.tiles.size(), p.timeline.layers.size());
      check_trace(sc::trace_json(p.timeline, "test"), p.timeline.makespan_s);
      for (const sc::Task& t : p.timeline.tasks) EXPECT_FALSE(t.resource.empty());
    }
  }
  const pm::Model m = model_for("u280");
  EXPECT_THROW(sc::build_timeline(m, pm::make_net("", kShipped), {1, 2}), pm::PerfModelError);
}

// A synthetic calibration covering every kernel and protocol the cpu backend is priced by.
pm::Calibration synthetic_calibration() {
  pm::Calibration cal;
  cal.machine = "test machine";
  cal.threads = 1;
  for (const char* k : {"b2a_combine", "beaver_mul_combine", "bit_slice", "dcf_eval", "gmw_and_level", "matmul_combine",
                        "poly_eval", "trunc_exact_combine", "trunc_prob_combine"})
    cal.kernels[k] = pm::Timing{20e-6, 2e-9, "element", {}};
  for (const char* p : {"matmul", "open", "poly", "relu", "relu_fss", "trunc_exact", "trunc_fss", "trunc_prob",
                        "trunc_slack"})
    cal.protocols[p] = pm::Timing{30e-6, 5e-9, "element", {}};
  return cal;
}

pm::Model cpu_model(const std::string& preset, size_t batch) {
  pm::Options o;
  o.batch = batch;
  o.protocol.compare = mpc::CompareMode::Fss;
  return pm::Model(pm::load_board("u280"), pm::load_kernels(), pm::load_network(preset), o, synthetic_calibration());
}

// The cpu target (what `polympc infer --plan` executes): one "cpu" resource, tiles of
// images flowing across the layers of a segment, at most `lanes` tiles in flight, input and
// output untiled. The trace is valid, the untiled timeline is the calibrated sequential
// time, and the chosen tiling is never slower than the untiled one.
TEST(Timeline, CpuTargetTilesImagesAcrossLayersWithinTheLanes) {
  const pm::NetShape net = pm::make_net("", kShipped);
  for (const char* preset : {"lan", "wan"}) {
    SCOPED_TRACE(preset);
    const pm::Model m = cpu_model(preset, 8);
    sc::TimelineOptions o;
    o.target = sc::Target::Cpu;
    o.lanes = 2;
    const sc::Timeline one = sc::build_timeline(m, net, {}, o);
    const pm::NetworkReport r = m.report(net, false);
    double seq = 0;  // compute, then each direction's bytes, then the rounds, layer by layer
    for (const pm::LayerCost& c : r.layers)
      seq += c.cpu_s + std::max(c.bytes_p0, c.bytes_p1) / m.network().bandwidth_bytes_per_s * (c.bytes_p0 || c.bytes_p1) +
             static_cast<double>(c.rounds) * m.network().rtt_s;
    EXPECT_NEAR(one.makespan_s, seq, 1e-9 * seq);
    for (const sc::Task& t : one.tasks) EXPECT_TRUE(t.resource == "cpu" || t.resource.rfind("link", 0) == 0) << t.resource;

    std::vector<int> tiles(one.layers.size(), 4);
    const sc::Timeline four = sc::build_timeline(m, net, tiles, o);
    check_trace(sc::trace_json(four, "cpu"), four.makespan_s);
    EXPECT_EQ(four.layers.front().tiles, 1);  // input and output untiled
    EXPECT_EQ(four.layers.back().tiles, 1);
    // One segment across the network: tile t of a layer waits for tile t of the layer
    // before, not for every tile; tile t waits for tile t - 2 of its lane.
    std::map<std::pair<std::string, int>, std::vector<int>> by_layer_tile;
    for (const sc::Task& t : four.tasks) by_layer_tile[{t.layer, t.tile}].push_back(t.id);
    bool crossed = false;
    for (const sc::Task& t : four.tasks)
      for (int d : t.deps) {
        const sc::Task& dep = four.tasks[static_cast<size_t>(d)];
        if (dep.layer != t.layer && dep.layer != "input" && t.layer != "output") {  // (the output joins)
          EXPECT_TRUE(dep.tile == t.tile || dep.tile == t.tile - 2) << t.name << " <- " << dep.name;
          crossed = crossed || dep.tile == t.tile;
        }
      }
    EXPECT_TRUE(crossed);
    int in_flight = 0;  // at most two tiles computing or sending in any segment at once
    for (const sc::Task& a : four.tasks) {
      std::set<int> tiles_busy;
      for (const sc::Task& b : four.tasks)
        if (b.layer != "input" && b.layer != "output" && b.start_s <= a.start_s && a.start_s < b.end_s)
          tiles_busy.insert(b.tile);
      in_flight = std::max(in_flight, static_cast<int>(tiles_busy.size()));
    }
    EXPECT_LE(in_flight, 2);

    const std::vector<int> best = sc::choose_tiles(m, net, 64, o);
    EXPECT_LE(sc::build_timeline(m, net, best, o).makespan_s, one.makespan_s * (1 + 1e-9));
    for (size_t i = 1; i + 1 < best.size(); ++i) EXPECT_LE(best[i], 8) << "at most the batch";
    const sc::Plan p = sc::make_plan(m, net, {}, o);
    EXPECT_EQ(p.calibrated_on, "test machine");
    EXPECT_EQ(p.tiles, best);
    const std::string path = temp_path("cpu_plan.json");
    sc::write_plan(p, m, path);
    const sc::PlanLayers back = sc::read_plan_layers(path);
    EXPECT_EQ(back.target, "cpu");
    EXPECT_EQ(back.lanes, 2u);
    EXPECT_EQ(back.batch, 8u);
  }
  // Without a calibration the cpu target is a clear error.
  sc::TimelineOptions o;
  o.target = sc::Target::Cpu;
  try {
    sc::build_timeline(model_for("u280"), net, {}, o);
    FAIL() << "expected PerfModelError";
  } catch (const pm::PerfModelError& e) {
    EXPECT_NE(std::string(e.what()).find("calibration"), std::string::npos) << e.what();
  }
  EXPECT_THROW(sc::parse_target("gpu"), pm::PerfModelError);
}

// On the FPGA target a batch of one keeps the per-layer choice (the tiles cut a layer's
// elements); with a larger batch the one-segment tilings compete and never lose.
TEST(Timeline, FpgaTargetChoosesTheBetterOfPerLayerAndOneSegment) {
  const pm::NetShape net = pm::make_net("", kShipped);
  for (size_t batch : {size_t{1}, size_t{8}}) {
    pm::Query q;
    q.board = "u280";
    q.network = "lan";
    q.compare = "fss";
    q.batch = batch;
    const pm::Model m = pm::make_model(q);
    const std::vector<int> best = sc::choose_tiles(m, net);
    const double t_best = sc::build_timeline(m, net, best).makespan_s;
    for (int T = 1; T <= static_cast<int>(batch); T *= 2)
      EXPECT_LE(t_best, sc::build_timeline(m, net, std::vector<int>(best.size(), T)).makespan_s * (1 + 1e-9)) << T;
    check_trace(sc::trace_json(sc::build_timeline(m, net, best), "fpga"), t_best);
  }
}

// The macros the configuration header defines are the ones the kernel tops read, and every
// kernel the model can size has one.
TEST(Plan, ConfigMacrosAreTheOnesTheTopsRead) {
  const pm::Model m = model_for("u280");
  std::set<std::string> named;
  for (const sc::HlsConfigEntry& e : sc::hls_config_entries()) {
    std::ifstream f(std::string(POLYMPC_SOURCE_DIR) + "/" + e.top);
    ASSERT_TRUE(f) << e.top;
    const std::string src((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    EXPECT_NE(src.find(std::string("typedef ") + e.macro + " Config;"), std::string::npos) << e.macro << " in " << e.top;
    EXPECT_NE(src.find(std::string("#define ") + e.macro + " polympc::kernels::" + e.base), std::string::npos)
        << e.macro << " in " << e.top;
    EXPECT_TRUE(m.kernels().count(e.kernel)) << e.kernel;
    named.insert(e.kernel);
  }
  for (const auto& [name, spec] : m.kernels())
    if (spec.implemented) {
      EXPECT_TRUE(named.count(name)) << name << " has no configuration macro";
    }
}

}  // namespace

// ---- plan layers and the measured timeline (infer --plan, infer --trace) -------------------

namespace {

TEST(Plan, LayersReadBackAndAreChecked) {
  const WrittenPlan w = written_plan("u280", "plan_layers.json");
  const sc::Plan& p = w.plan;
  const std::string& path = w.path;
  const sc::PlanLayers l = sc::read_plan_layers(path);
  EXPECT_EQ(l.board, "u280");
  EXPECT_EQ(l.batch, p.batch);
  ASSERT_EQ(l.layers.size(), p.timeline.layers.size());
  for (size_t i = 0; i < l.layers.size(); ++i) {
    EXPECT_EQ(l.layers[i].name, p.timeline.layers[i].name);
    EXPECT_EQ(l.layers[i].tiles, p.timeline.layers[i].tiles);
    EXPECT_DOUBLE_EQ(l.layers[i].sequential_s, p.timeline.layers[i].sequential_s);
  }
  std::ifstream in(path);
  const nlohmann::json j = nlohmann::json::parse(in);
  const PlanMutations bad = {
      {[](nlohmann::json& x) { x.erase("layers"); }, "layers"},
      {[](nlohmann::json& x) { x["layers"][0]["tiles"] = 0; }, "tiles"},
      {[](nlohmann::json& x) { x["layers"][0].erase("sequential_s"); }, "layers"},
      {[](nlohmann::json& x) { x["options"]["batch"] = 0; }, "options.batch"},
      {[](nlohmann::json& x) { x["options"].erase("compare"); }, "options"},
  };
  expect_bad_plans(j, bad, [](const std::string& file) { sc::read_plan_layers(file); });
}

TEST(MeasuredTimeline, SpansFormAValidTraceInsideTheirLayers) {
  namespace nn = polympc::nn;
  const nn::QuantizedModel q = nn::quantize(polympc::testing::every_layer_cnn(), polympc::mpc::RingConfig{64, 12});
  const nn::Dataset data = nn::load_idx_dataset(nn::kFashionMnistDir, "t10k", 12);
  polympc::cpu::CpuBackend be0(1), be1(1);
  polympc::mpc::SpanRecorder rec;
  nn::InferenceOptions opt;
  opt.batch = 3;
  opt.workers = 2;  // two lanes
  opt.make_backend = [](int) { return std::make_unique<polympc::cpu::CpuBackend>(1); };
  opt.trace = &rec;
  const nn::InferenceReport r = nn::run_inproc(q, data, 12, be0, be1, opt);
  EXPECT_EQ(r.logits_equal, 12u);  // tracing changes nothing
  const nlohmann::json t = sc::measured_trace_json(rec.spans(), "test");
  const nlohmann::json parsed = nlohmann::json::parse(t.dump());  // valid JSON text
  EXPECT_EQ(parsed["otherData"]["modelled"], false);
  struct Ev {
    std::string name, cat;
    double ts, end;
  };
  std::map<std::pair<int, int>, std::vector<Ev>> by_thread;  // (pid, tid)
  std::set<int> pids;
  for (const auto& e : parsed["traceEvents"]) {
    if (e["ph"] != "X") continue;
    const double ts = e["ts"].get<double>(), dur = e["dur"].get<double>();
    ASSERT_GE(dur, 0.0);
    by_thread[{e["pid"].get<int>(), e["tid"].get<int>()}].push_back({e["name"], e["cat"], ts, ts + dur});
    pids.insert(e["pid"].get<int>());
  }
  EXPECT_EQ(pids.size(), 4u);  // 2 parties x 2 lanes
  for (auto& [key, evs] : by_thread) {
    std::sort(evs.begin(), evs.end(), [](const Ev& a, const Ev& b) { return a.ts < b.ts; });
    for (size_t i = 1; i < evs.size(); ++i)
      EXPECT_LE(evs[i - 1].end, evs[i].ts + 1e-3) << "overlap on pid " << key.first << " tid " << key.second << ": "
                                                   << evs[i - 1].name << " and " << evs[i].name;
  }
  // Every backend call (tid 2) and blocking read (tid 3) lies inside a layer span (tid 1)
  // of its own party and lane, the one named by its category.
  size_t checked = 0;
  for (auto& [key, evs] : by_thread) {
    if (key.second == 1) continue;
    const auto& layers = by_thread[{key.first, 1}];
    for (const Ev& e : evs) {
      const bool inside = std::any_of(layers.begin(), layers.end(), [&](const Ev& l) {
        return l.name == e.cat && l.ts <= e.ts + 1e-3 && e.end <= l.end + 1e-3;
      });
      EXPECT_TRUE(inside) << e.name << " of layer " << e.cat << " at " << e.ts << " is outside its layer";
      ++checked;
    }
  }
  EXPECT_GT(checked, 50u);
  // Measured layer times: every layer of the network, each no longer than the online time.
  const auto layers = sc::measured_layer_seconds(rec.spans());
  for (const auto& L : q.net.layers) {
    ASSERT_TRUE(layers.count(L.name)) << L.name;
    EXPECT_GE(layers.at(L.name), 0.0);
  }
}

}  // namespace
