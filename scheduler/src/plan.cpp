// Plan files and the synthesis configuration header (plan.h).
#include "polympc/scheduler/plan.h"

#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "polympc/mpc/session.h"
#include "polympc/perfmodel/json.h"
#include "polympc/perfmodel/query.h"

namespace polympc::scheduler {

namespace pm = polympc::perfmodel;
using nlohmann::json;

Plan make_plan(const pm::Model& model, const pm::NetShape& net, const AllocationOptions& opt,
               const TimelineOptions& target) {
  Plan p;
  p.network = net.name;
  p.board = model.board().name;
  p.preset = model.network().name;
  p.compare = mpc::compare_mode_name(model.options().protocol.compare);
  p.trunc = mpc::trunc_mode_name(model.options().protocol.trunc);
  p.ring_bits = model.options().ring.bits;
  p.frac_bits = model.options().ring.frac;
  p.batch = model.options().batch;
  p.budget_fraction = opt.budget;
  p.objective = opt.objective;
  p.allocation = allocate(model, net, opt);
  const pm::Model planned = configured(model, p.allocation.kernels);
  p.target = target;
  for (const pm::LayerShape& L : net.layers)
    if (L.winograd != 0) p.winograd[L.name] = L.winograd;
  if (target.target == Target::Cpu && model.calibration()) p.calibrated_on = model.calibration()->machine;
  p.tiles = choose_tiles(planned, net, 64, target);
  p.timeline = build_timeline(planned, net, p.tiles, target);
  return p;
}

namespace {
json configs_json(const KernelConfigs& c, const pm::Model& model) {
  json j = json::object();
  for (const auto& [name, k] : c) {
    json e = {{"lanes", k.lanes}, {"rows", k.rows}, {"resources", pm::resources_json(model.kernels().at(name).resources(k.lanes, k.rows))}};
    if (name == "dcf_eval")
      e["group_words"] = model.dcf_group_words(k.lanes);
    j[name] = e;
  }
  return j;
}
}  // namespace

json plan_json(const Plan& p, const pm::Model& model) {
  const Allocation& a = p.allocation;
  json j;
  j["format"] = "polympc-plan";
  j["version"] = 1;
  j["network"] = p.network;
  j["board"] = p.board;
  j["preset"] = p.preset;
  j["options"] = {{"compare", p.compare}, {"trunc", p.trunc}, {"ring_bits", p.ring_bits}, {"frac_bits", p.frac_bits},
                  {"batch", p.batch}};
  j["budget_fraction"] = p.budget_fraction;
  j["objective"] = pm::phase_name(p.objective);
  j["kernels"] = configs_json(a.kernels, model);
  j["resources"] = {{"used", pm::resources_json(a.used)}, {"budget", pm::resources_json(a.budget)},
                    {"capacity", pm::resources_json(model.board().capacity)}};
  j["modelled"] = {{"latency_s", a.latency_s},
                   {"default_latency_s", a.default_latency_s},
                   {"naive_latency_s", a.naive_latency_s},
                   {"overlapped_latency_s", p.timeline.makespan_s},
                   {"note", "MODELLED by polympc's performance model (docs/perfmodel.md), not measured"}};
  j["defaults"] = configs_json(a.defaults, model);
  j["naive"] = configs_json(a.naive, model);
  json layers = json::array();
  for (const LayerTiming& l : p.timeline.layers) {
    json e = {{"name", l.name},
              {"tiles", l.tiles},
              {"sequential_s", l.sequential_s},
              {"overlapped_end_s", l.end_s},
              {"bottleneck", l.bottleneck}};
    auto w = p.winograd.find(l.name);
    if (w != p.winograd.end()) e["winograd"] = w->second;  // only for Winograd layers: older plans read as direct
    layers.push_back(e);
  }
  j["layers"] = layers;
  j["tiling"] = {{"target", target_name(p.target.target)},
                 {"lanes", p.target.lanes},
                 {"calibrated_on", p.calibrated_on},
                 {"note", "tiles of images when <= batch (polympc infer --plan executes them), else parts of a "
                          "layer's elements (docs/scheduler.md)"}};
  j["search"] = {{"method", "greedy doubling by modelled seconds saved per unit of budget (docs/scheduler.md)"},
                 {"evaluations", a.evaluations},
                 {"seconds", a.search_s}};
  return j;
}

void write_plan(const Plan& p, const pm::Model& model, const std::string& path) {
  std::ofstream f(path);
  if (!f) throw pm::PerfModelError("cannot write plan '" + path + "'");
  f << plan_json(p, model).dump(2) << "\n";
  if (!f) throw pm::PerfModelError("failed writing plan '" + path + "'");
}

namespace {
/// A plan file, parsed and checked for format and version; `fail(field, why)` makes the
/// error naming the file and field.
json open_plan(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw pm::PerfModelError("cannot read plan '" + path + "'");
  json j;
  try {
    j = json::parse(f);
  } catch (const json::exception& e) {
    throw pm::PerfModelError("plan '" + path + "' is not valid JSON: " + e.what());
  }
  auto fail = [&](const std::string& field, const std::string& why) {
    return pm::PerfModelError("plan '" + path + "': " + field + ": " + why);
  };
  if (!j.is_object() || j.value("format", "") != "polympc-plan") throw fail("format", "not \"polympc-plan\"");
  if (!j.contains("version") || j["version"] != 1) throw fail("version", "only version 1 is known");
  return j;
}
}  // namespace

PlanLayers read_plan_layers(const std::string& path) {
  const json j = open_plan(path);
  auto fail = [&](const std::string& field, const std::string& why) {
    return pm::PerfModelError("plan '" + path + "': " + field + ": " + why);
  };
  PlanLayers out;
  const json& o = j.contains("options") ? j["options"] : json();
  if (!o.is_object()) throw fail("options", "missing");
  try {
    out.batch = o.at("batch").get<size_t>();
    out.compare = o.at("compare").get<std::string>();
    out.trunc = o.at("trunc").get<std::string>();
    out.ring_bits = o.at("ring_bits").get<int>();
    out.frac_bits = o.at("frac_bits").get<int>();
    out.network = j.at("network").get<std::string>();
    out.board = j.at("board").get<std::string>();
    out.preset = j.at("preset").get<std::string>();
  } catch (const json::exception& e) {
    throw fail("options", e.what());
  }
  if (out.batch == 0) throw fail("options.batch", "must be >= 1");
  if (j.contains("tiling")) {  // plans before the cpu target have none: fpga, no lane limit
    try {
      out.target = target_name(parse_target(j["tiling"].at("target").get<std::string>()));
      out.lanes = j["tiling"].at("lanes").get<size_t>();
    } catch (const json::exception& e) {
      throw fail("tiling", e.what());
    } catch (const pm::PerfModelError& e) {
      throw fail("tiling.target", e.what());
    }
    if (out.lanes > 4096) throw fail("tiling.lanes", "must be <= 4096");
  }
  if (!j.contains("layers") || !j["layers"].is_array()) throw fail("layers", "missing or not an array");
  for (const json& l : j["layers"]) {
    PlanLayer pl;
    try {
      pl.name = l.at("name").get<std::string>();
      pl.tiles = l.at("tiles").get<int>();
      pl.sequential_s = l.at("sequential_s").get<double>();
      pl.winograd = l.value("winograd", 0);
    } catch (const json::exception& e) {
      throw fail("layers", e.what());
    }
    if (pl.tiles < 1) throw fail("layers." + pl.name + ".tiles", "must be >= 1");
    if (pl.winograd != 0 && pl.winograd != 2 && pl.winograd != 4) throw fail("layers." + pl.name + ".winograd", "must be 2 or 4");
    if (!(pl.sequential_s >= 0)) throw fail("layers." + pl.name + ".sequential_s", "must be >= 0");
    out.layers.push_back(pl);
  }
  return out;
}

KernelConfigs read_plan_kernels(const std::string& path, const pm::Model& model, const std::string& board) {
  auto fail = [&](const std::string& field, const std::string& why) {
    return pm::PerfModelError("plan '" + path + "': " + field + ": " + why);
  };
  json j = open_plan(path);
  if (!board.empty()) {
    if (!j.contains("board") || !j["board"].is_string()) throw fail("board", "missing");
    if (j["board"].get<std::string>() != board)
      throw fail("board", "made for " + j["board"].get<std::string>() + ", used with " + board);
  }
  if (!j.contains("kernels") || !j["kernels"].is_object()) throw fail("kernels", "missing or not an object");
  KernelConfigs out;
  for (const auto& [name, e] : j["kernels"].items()) {
    const std::string at = "kernels." + name;
    if (!model.kernels().count(name)) throw fail(at, "unknown kernel");
    if (!e.is_object()) throw fail(at, "not an object");
    auto count = [&](const char* key, bool required) -> uint64_t {
      if (!e.contains(key)) {
        if (required) throw fail(at + "." + key, "missing");
        return 1;
      }
      const json& v = e[key];
      if (!v.is_number_unsigned() || v.get<uint64_t>() == 0 || v.get<uint64_t>() > (uint64_t(1) << 20))
        throw fail(at + "." + key, "must be an integer in [1, 2^20]");
      return v.get<uint64_t>();
    };
    KernelConfig c{count("lanes", true), count("rows", false)};
    if (name != "matmul_combine" && c.rows != 1) throw fail(at + ".rows", "only matmul_combine has rows");
    out[name] = c;
  }
  configured(model, out);  // the model's own checks (lanes rules of each kernel)
  return out;
}

void check_plan_forms(const PlanLayers& plan, const std::string& path, const std::map<std::string, int>& forms) {
  auto form = [](int m) { return m == 0 ? std::string("the direct form") : "Winograd F(" + std::to_string(m) + "x" +
                                                                                 std::to_string(m) + ", 3x3)"; };
  for (const PlanLayer& l : plan.layers) {
    auto it = forms.find(l.name);
    if (it == forms.end()) continue;
    if (it->second != l.winograd)
      throw pm::PerfModelError("plan '" + path + "': layer '" + l.name + "' was planned in " + form(l.winograd) +
                               ", this run has it in " + form(it->second) + " (--winograd must match the schedule's)");
  }
}

pm::Model configure(const pm::Model& base, const pm::NetShape& net, const KernelSource& src, pm::Phase phase,
                    std::string* how) {
  KernelConfigs configs;
  std::string text;
  if (!src.plan.empty()) {
    std::map<std::string, int> forms;
    for (const pm::LayerShape& L : net.layers) forms[L.name] = L.winograd;
    check_plan_forms(read_plan_layers(src.plan), src.plan, forms);
    configs = read_plan_kernels(src.plan, base, base.board().name);
    text = "from plan " + src.plan;
  } else if (src.kernels == "auto") {
    AllocationOptions o;
    o.budget = src.budget;
    o.objective = phase;
    const Allocation al = allocate(base, net, o);
    configs = al.kernels;
    char buf[160];
    std::snprintf(buf, sizeof buf, "sized by the scheduler within %.0f %% of the board; %.1f ms at the headers' defaults",
                  src.budget * 100, al.default_latency_s * 1e3);
    text = buf;
  } else if (src.kernels == "default") {
    text = "the kernel headers' default configurations";
  } else {
    throw pm::PerfModelError("kernels must be auto or default, got '" + src.kernels + "'");
  }
  pm::Model m = configured(base, configs);
  if (!src.lanes.empty()) {
    const pm::KernelOverrides k = pm::parse_lanes(src.lanes);
    std::map<std::string, uint64_t> lanes = m.options().lanes, rows = m.options().rows;
    for (auto& [n, l] : k.lanes) lanes[n] = l;
    for (auto& [n, r] : k.rows) rows[n] = r;
    m = m.with_kernels(lanes, rows);
    text += ", --lanes " + src.lanes;
  }
  if (how) *how = text;
  return m;
}

const std::vector<HlsConfigEntry>& hls_config_entries() {
  static const std::vector<HlsConfigEntry> entries = {
      {"beaver_mul_combine", "kernels/beaver_mul_combine.h", "BeaverMulDefaultConfig", "POLYMPC_BEAVER_MUL_CONFIG",
       "kernels/beaver_mul_combine.cpp"},
      {"matmul_combine", "kernels/matmul_combine.h", "MatmulDefaultConfig", "POLYMPC_MATMUL_CONFIG",
       "kernels/matmul_combine.cpp"},
      {"poly_eval", "kernels/poly_eval.h", "PolyEvalDefaultConfig", "POLYMPC_POLY_EVAL_CONFIG", "kernels/poly_eval.cpp"},
      {"trunc", "kernels/trunc.h", "TruncDefaultConfig", "POLYMPC_TRUNC_CONFIG", "kernels/trunc.cpp"},
      {"gmw_and_level", "kernels/gmw_and_level.h", "GmwAndDefaultConfig", "POLYMPC_GMW_AND_CONFIG",
       "kernels/gmw_and_level.cpp"},
      {"b2a_combine", "kernels/gmw_and_level.h", "B2aDefaultConfig", "POLYMPC_B2A_CONFIG", "kernels/gmw_and_level.cpp"},
      {"bit_slice", "kernels/gmw_and_level.h", "BitSliceDefaultConfig", "POLYMPC_BIT_SLICE_CONFIG",
       "kernels/gmw_and_level.cpp"},
      {"dcf_eval", "kernels/dcf_eval.h", "DcfEvalDefaultConfig", "POLYMPC_DCF_EVAL_CONFIG", "kernels/dcf_eval.cpp"},
      {"winograd_transform", "kernels/winograd_transform.h", "WinogradDefaultConfig", "POLYMPC_WINOGRAD_CONFIG",
       "kernels/winograd_transform.cpp"},
  };
  return entries;
}

std::string hls_config_header(const KernelConfigs& configs, const pm::Model& model, const std::string& title) {
  const std::vector<HlsConfigEntry>& entries = hls_config_entries();
  std::ostringstream h;
  h << "// Generated by `polympc schedule` (docs/scheduler.md): " << title << ".\n"
    << "// Kernel configuration for synthesis: cmake -DPOLYMPC_HLS_PLAN_CONFIG=<this file> (hls/).\n"
    << "#pragma once\n";
  std::set<std::string> headers;
  for (const HlsConfigEntry& e : entries)
    if (configs.count(e.kernel) && headers.insert(e.header).second) h << "#include \"" << e.header << "\"\n";
  for (const HlsConfigEntry& e : entries) {
    auto it = configs.find(e.kernel);
    if (it == configs.end()) continue;
    const KernelConfig& c = it->second;
    std::string base = e.base;
    base = base.substr(0, base.find("DefaultConfig")) + "Config";
    const std::string name = "PolympcPlan" + base;
    h << "\nstruct " << name << " : polympc::kernels::" << e.base << " {\n";
    if (std::string(e.kernel) == "dcf_eval") {
      h << "  static const unsigned aes_cores = " << c.lanes << ";\n"
        << "  static const unsigned group_words = "
        << model.dcf_group_words(c.lanes) << ";\n";
    } else {
      h << "  static const unsigned lanes = " << c.lanes << ";\n";
      if (std::string(e.kernel) == "matmul_combine") h << "  static const unsigned rows = " << c.rows << ";\n";
    }
    h << "};\n#define " << e.macro << " " << name << "\n";
  }
  return h.str();
}

}  // namespace polympc::scheduler
