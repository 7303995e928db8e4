// Modelled tiling, overlap and timeline (timeline.h).
#include "polympc/scheduler/timeline.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "polympc/nn/secure.h"

namespace polympc::scheduler {

namespace pm = polympc::perfmodel;

namespace {


/// Costs in timeline order: input, the network's layers, output (report() puts input and
/// output last).
std::vector<pm::LayerCost> ordered(const pm::NetworkReport& r) {
  std::vector<pm::LayerCost> out;
  const size_t n = r.layers.size();
  out.push_back(r.layers[n - 2]);
  for (size_t i = 0; i + 2 < n; ++i) out.push_back(r.layers[i]);
  out.push_back(r.layers[n - 1]);
  return out;
}

/// A tile's cost for the cpu target: the layer priced at the tile's batch (ceil(batch / T)
/// images), so that per-call overheads are paid per tile as the executor pays them.
struct TileCosts {
  std::map<int, std::vector<pm::LayerCost>> by_tiles;  // T -> costs in timeline order
  const std::vector<pm::LayerCost>& at(const pm::Model& m, const pm::NetShape& net, int T) {
    auto it = by_tiles.find(T);
    if (it != by_tiles.end()) return it->second;
    pm::Options o = m.options();
    o.batch = (o.batch + static_cast<size_t>(T) - 1) / static_cast<size_t>(T);
    const pm::Model tm(m.board(), m.kernels(), m.network(), o, m.calibration());
    return by_tiles.emplace(T, ordered(tm.report(net, /*sites=*/false))).first->second;
  }
};

/// Appends the chain of tile `tile` (of `tiles`) of one layer; it waits for `after` (with lag
/// `after_lag`). Returns the tile's last tasks and their lag (`after` and `after_lag` for a
/// free layer: nothing to wait for). `tc` is the cost of one tile on the cpu target.
std::pair<std::vector<int>, double> add_tile(std::vector<Task>& tasks, const pm::LayerCost& c, const pm::LayerCost& tc,
                                             const pm::Model& m, const TimelineOptions& o, int tile, int tiles,
                                             int segment, const std::vector<int>& after, double after_lag) {
  const pm::Board& b = m.board();
  const double T = tiles;
  const double launch = static_cast<double>(c.launches) * b.launch_overhead_s;
  const double data = std::max(0.0, c.transfer_s - launch);
  const double mem_scale = c.device_compute_s > 0 ? c.device_s / c.device_compute_s : 1.0;
  const double bw = m.network().bandwidth_bytes_per_s;
  const double lag = static_cast<double>(o.target == Target::Cpu ? tc.rounds : c.rounds) * m.network().rtt_s;
  auto add = [&](const std::string& what, const std::string& res, double dur, std::vector<int> deps, double l) {
    Task t;
    t.id = static_cast<int>(tasks.size());
    t.name = c.name + " t" + std::to_string(tile) + " " + what;
    t.layer = c.name;
    t.tile = tile;
    t.segment = segment;
    t.resource = res;
    t.duration_s = dur;
    t.deps = std::move(deps);
    t.lag_s = l;
    tasks.push_back(t);
    return t.id;
  };
  std::vector<int> prev = after;
  double l = after_lag;
  double bytes0 = static_cast<double>(c.bytes_p0) / T, bytes1 = static_cast<double>(c.bytes_p1) / T;
  if (o.target == Target::Cpu) {
    if (tc.cpu_s > 0) {
      prev = {add("compute", "cpu", tc.cpu_s, prev, l)};
      l = 0;
    }
    bytes0 = static_cast<double>(tc.bytes_p0);
    bytes1 = static_cast<double>(tc.bytes_p1);
  } else {
    if (c.transfer_s > 0) {
      prev = {add("pcie in", "pcie", launch / 2 + data / 2 / T, prev, l)};
      l = 0;
    }
    for (const pm::KernelUse& u : c.kernels) {
      const double dur = static_cast<double>(u.cycles) / b.clock_hz * mem_scale / T;
      prev = {add(u.kernel, "kernel " + pm::kernel_of(u.kernel), dur, prev, l)};
      l = 0;
    }
    if (c.transfer_s > 0) {
      prev = {add("pcie out", "pcie", launch / 2 + data / 2 / T, prev, l)};
      l = 0;
    }
  }
  if (bytes0 > 0 || bytes1 > 0 || c.rounds > 0) {
    const int a = add("send", "link p0->p1", bytes0 / bw, prev, l);
    const int z = add("send", "link p1->p0", bytes1 / bw, prev, l);
    prev = {a, z};
    l = 0;
  }
  if (prev == after) return {after, after_lag};
  return {prev, lag};
}

/// List scheduling: repeatedly the ready task with the earliest possible start.
void schedule(std::vector<Task>& tasks) {
  std::map<std::string, double> free_at;
  std::vector<bool> done(tasks.size(), false);
  std::vector<size_t> pending;
  for (size_t i = 0; i < tasks.size(); ++i) pending.push_back(i);
  while (!pending.empty()) {
    size_t best = SIZE_MAX, at = 0;
    double best_start = 0;
    // Segments are ordered (a segment waits for the one before): only the first pending
    // task's segment can have ready tasks.
    const int segment = tasks[pending.front()].segment;
    for (size_t p = 0; p < pending.size() && tasks[pending[p]].segment == segment; ++p) {
      const Task& t = tasks[pending[p]];
      bool ready = true;
      double est = 0;
      for (int d : t.deps) {
        if (!done[d]) {
          ready = false;
          break;
        }
        est = std::max(est, tasks[d].end_s + t.lag_s);
      }
      if (!ready) continue;
      if (t.deps.empty()) est = t.lag_s;
      est = std::max(est, free_at[t.resource]);
      if (best == SIZE_MAX || est < best_start) {
        best = pending[p];
        at = p;
        best_start = est;
      }
    }
    Task& t = tasks[best];
    t.start_s = best_start;
    t.end_s = best_start + t.duration_s;
    free_at[t.resource] = t.end_s;
    done[best] = true;
    pending.erase(pending.begin() + static_cast<long>(at));
  }
}

Timeline build(const pm::Model& model, const pm::NetShape& net, const std::vector<pm::LayerCost>& layers,
               const std::vector<int>& tiles, const TimelineOptions& o, TileCosts& tile_costs) {
  if (!tiles.empty() && tiles.size() != layers.size())
    throw pm::PerfModelError("tiling has " + std::to_string(tiles.size()) + " entries for " + std::to_string(layers.size()) +
                             " layers (input, layers, output)");
  const size_t batch = model.options().batch;
  if (o.target == Target::Cpu)
    for (const pm::LayerCost& c : layers)
      if (!c.has_cpu)
        throw pm::PerfModelError("layer '" + c.name +
                                 "' has no calibrated cpu time: the cpu target needs a calibration file "
                                 "(polympc bench calibrate, --calibration)");
  auto count = [&](size_t i) {
    const int T = tiles.empty() ? 1 : tiles[i];
    if (T < 1 || T > 4096) throw pm::PerfModelError("tiles of layer '" + layers[i].name + "' must be in [1, 4096]");
    // The cpu target executes input and output untiled (polympc infer) and cuts the batch.
    if (o.target == Target::Cpu)
      return (i == 0 || i + 1 == layers.size()) ? 1 : std::min(T, static_cast<int>(batch));
    return T;
  };
  Timeline tl;
  std::vector<int> after;  // the last tasks of the segment before
  double lag = 0;
  std::vector<std::pair<size_t, size_t>> spans(layers.size());
  std::vector<std::vector<size_t>> layer_tasks(layers.size());
  for (size_t i = 0; i < layers.size(); ++i) {
    LayerTiming lt;
    lt.name = layers[i].name;
    lt.tiles = count(i);
    const pm::LayerCost& c = layers[i];  // the cpu target: the calibrated untiled time, compute + link + rounds
    lt.sequential_s = o.target == Target::Cpu
                          ? c.cpu_s + static_cast<double>(c.bytes_p0 || c.bytes_p1 ? std::max(c.bytes_p0, c.bytes_p1) : 0) /
                                          model.network().bandwidth_bytes_per_s +
                                static_cast<double>(c.rounds) * model.network().rtt_s
                          : c.latency_s;
    tl.layers.push_back(lt);
  }
  // The segments: nn::tile_segments, the rule polympc infer executes. On the cpu target the
  // input and output rows are untiled segments of their own, as infer runs them.
  std::vector<size_t> counts(layers.size());
  std::vector<bool> alone(layers.size(), false);
  for (size_t i = 0; i < layers.size(); ++i) {
    counts[i] = static_cast<size_t>(count(i));
    alone[i] = o.target == Target::Cpu && (i == 0 || i + 1 == layers.size());
  }
  int segment = 0;
  for (const nn::TileSegment& seg : nn::tile_segments(counts, batch, alone)) {
    const size_t s = seg.begin, e = seg.end;
    const int T = static_cast<int>(seg.tiles);
    const std::vector<pm::LayerCost>& tcost = o.target == Target::Cpu ? tile_costs.at(model, net, T) : layers;
    const size_t L = o.lanes == 0 ? static_cast<size_t>(T) : std::min(o.lanes, static_cast<size_t>(T));
    std::vector<std::vector<int>> tile_last(static_cast<size_t>(T));
    std::vector<double> tile_lag(static_cast<size_t>(T), 0);
    for (int t = 0; t < T; ++t) {
      std::vector<int> deps = after;
      double l = lag;
      if (static_cast<size_t>(t) >= L) {  // the lane's tile before (a lane runs its tiles in order)
        const auto& prev = tile_last[static_cast<size_t>(t) - L];
        deps.insert(deps.end(), prev.begin(), prev.end());
        l = std::max(l, tile_lag[static_cast<size_t>(t) - L]);
      }
      for (size_t i = s; i < e; ++i) {
        const size_t first = tl.tasks.size();
        std::tie(deps, l) = add_tile(tl.tasks, layers[i], tcost[i], model, o, t, T, segment, deps, l);
        for (size_t k = first; k < tl.tasks.size(); ++k) layer_tasks[i].push_back(k);
      }
      tile_last[static_cast<size_t>(t)] = deps;
      tile_lag[static_cast<size_t>(t)] = l;
    }
    std::vector<int> next;
    double next_lag = 0;
    for (int t = 0; t < T; ++t) {
      for (int id : tile_last[static_cast<size_t>(t)])
        if (std::find(next.begin(), next.end(), id) == next.end()) next.push_back(id);
      next_lag = std::max(next_lag, tile_lag[static_cast<size_t>(t)]);
    }
    after = next;
    lag = next_lag;
    ++segment;
  }
  schedule(tl.tasks);
  double end = 0;
  for (int id : after) end = std::max(end, tl.tasks[id].end_s);
  tl.makespan_s = after.empty() ? 0 : end + lag;
  for (const Task& t : tl.tasks) tl.busy_s[t.resource] += t.duration_s;
  // Per layer: span and bottleneck (rtt = the layer's rounds x RTT).
  double prev_end = 0;
  for (size_t i = 0; i < layers.size(); ++i) {
    LayerTiming& lt = tl.layers[i];
    std::map<std::string, double> busy;
    lt.start_s = prev_end;
    lt.end_s = prev_end;
    bool first = true;
    for (size_t k : layer_tasks[i]) {
      const Task& t = tl.tasks[k];
      busy[t.resource] += t.duration_s;
      lt.start_s = first ? t.start_s : std::min(lt.start_s, t.start_s);
      lt.end_s = std::max(lt.end_s, t.end_s);
      first = false;
    }
    busy["rtt"] = static_cast<double>(layers[i].rounds) * model.network().rtt_s;
    lt.end_s += busy["rtt"];
    prev_end = std::max(prev_end, lt.end_s);
    double most = -1;
    for (const auto& [res, sec] : busy)
      if (sec > most) {
        most = sec;
        lt.bottleneck = res;
      }
  }
  // Critical path: back from the last task through whatever made each task wait.
  if (!tl.tasks.empty()) {
    int cur = 0;
    for (const Task& t : tl.tasks)
      if (t.end_s >= tl.tasks[cur].end_s) cur = t.id;
    const double eps = 1e-12;
    for (;;) {
      tl.critical_path.push_back(cur);
      const Task& t = tl.tasks[cur];
      int next = -1;
      for (int d : t.deps)
        if (std::abs(tl.tasks[d].end_s + t.lag_s - t.start_s) <= eps + 1e-9 * t.start_s) next = d;
      if (next < 0)
        for (const Task& x : tl.tasks)
          if (x.resource == t.resource && x.id != t.id && std::abs(x.end_s - t.start_s) <= eps + 1e-9 * t.start_s &&
              x.start_s < t.start_s)
            next = x.id;
      if (next < 0) break;
      cur = next;
    }
    std::reverse(tl.critical_path.begin(), tl.critical_path.end());
  }
  return tl;
}

}  // namespace

const char* target_name(Target t) { return t == Target::Cpu ? "cpu" : "fpga"; }

Target parse_target(const std::string& s) {
  if (s == "fpga") return Target::Fpga;
  if (s == "cpu") return Target::Cpu;
  throw pm::PerfModelError("unknown target '" + s + "' (choose fpga or cpu)");
}

Timeline build_timeline(const pm::Model& model, const pm::NetShape& net, const std::vector<int>& tiles,
                        const TimelineOptions& o) {
  TileCosts tc;
  return build(model, net, ordered(model.report(net, /*sites=*/false)), tiles, o, tc);
}

std::vector<int> choose_tiles(const pm::Model& model, const pm::NetShape& net, int max_tiles, const TimelineOptions& o) {
  const std::vector<pm::LayerCost> layers = ordered(model.report(net, /*sites=*/false));
  TileCosts tc;
  const size_t batch = model.options().batch;
  std::vector<std::vector<int>> candidates;
  // Per layer on its own (each layer joined before the next): the count in {1, 2, 4, ...}
  // with the shortest makespan of that layer alone.
  // (FPGA target: its tiles may be parts of one image's elements, as in a batch of one.)
  if (o.target == Target::Fpga) {
    std::vector<int> local;
    for (size_t i = 0; i < layers.size(); ++i) {
      int best_t = 1;
      double best = 0;
      for (int T = 1; T <= max_tiles; T *= 2) {
        const double end = build(model, net, {layers[i]}, {T}, o, tc).makespan_s;
        if (T == 1 || end < best * (1 - 1e-9)) {
          best = end;
          best_t = T;
        }
      }
      local.push_back(best_t);
    }
    candidates.push_back(local);
  }
  // One segment across every layer: the same count T <= batch everywhere, tiles of images
  // flowing through the network (the overlap across layers that data dependencies allow).
  for (int T = 1; T <= max_tiles && static_cast<size_t>(T) <= batch; T *= 2)
    candidates.push_back(std::vector<int>(layers.size(), T));
  std::vector<int> best;
  double best_s = 0;
  for (const auto& c : candidates) {
    const double s = build(model, net, layers, c, o, tc).makespan_s;
    if (best.empty() || s < best_s * (1 - 1e-9)) {
      best = c;
      best_s = s;
    }
  }
  return best;
}

nlohmann::json trace_json(const Timeline& t, const std::string& title) {
  using nlohmann::json;
  std::map<std::string, int> tid;
  for (const Task& k : t.tasks)
    if (!tid.count(k.resource)) tid.emplace(k.resource, static_cast<int>(tid.size()) + 1);
  json ev = json::array();
  ev.push_back({{"name", "process_name"}, {"ph", "M"}, {"pid", 1}, {"args", {{"name", title}}}});
  for (const auto& [res, id] : tid)
    ev.push_back({{"name", "thread_name"}, {"ph", "M"}, {"pid", 1}, {"tid", id}, {"args", {{"name", res}}}});
  for (const Task& k : t.tasks) {
    ev.push_back({{"name", k.name},
                  {"cat", k.layer},
                  {"ph", "X"},
                  {"pid", 1},
                  {"tid", tid[k.resource]},
                  {"ts", k.start_s * 1e6},
                  {"dur", k.duration_s * 1e6},
                  {"args", {{"id", k.id}, {"layer", k.layer}, {"tile", k.tile}, {"deps", k.deps}, {"lag_us", k.lag_s * 1e6}}}});
  }
  json layers = json::array();
  for (const LayerTiming& l : t.layers)
    layers.push_back({{"name", l.name},
                      {"tiles", l.tiles},
                      {"sequential_us", l.sequential_s * 1e6},
                      {"start_us", l.start_s * 1e6},
                      {"end_us", l.end_s * 1e6},
                      {"bottleneck", l.bottleneck}});
  return json{{"traceEvents", ev},
              {"displayTimeUnit", "ms"},
              {"otherData",
               {{"title", title},
                {"modelled", true},
                {"makespan_us", t.makespan_s * 1e6},
                {"critical_path", t.critical_path},
                {"layers", layers}}}};
}

std::map<std::string, double> measured_layer_seconds(const std::vector<mpc::Span>& spans) {
  // (layer, lane) -> seconds per party
  std::map<std::pair<std::string, int>, std::array<double, 2>> per;
  for (const mpc::Span& s : spans)
    if (s.resource == "layers" && (s.party == 0 || s.party == 1))
      per[{s.name, s.lane}][static_cast<size_t>(s.party)] += s.end_s - s.start_s;
  std::map<std::string, double> out;
  for (const auto& [key, t] : per) out[key.first] += std::max(t[0], t[1]);
  return out;
}

nlohmann::json measured_trace_json(const std::vector<mpc::Span>& spans, const std::string& title) {
  using nlohmann::json;
  static const char* const kResources[] = {"layers", "compute", "link wait"};
  auto tid_of = [](const std::string& r) {
    for (int i = 0; i < 3; ++i)
      if (r == kResources[i]) return i + 1;
    return 4;
  };
  std::map<std::pair<int, int>, int> pid;  // (lane, party) -> pid
  for (const mpc::Span& s : spans) pid.emplace(std::make_pair(s.lane, s.party), 0);
  int next = 1;
  for (auto& kv : pid) kv.second = next++;
  json ev = json::array();
  for (const auto& [key, id] : pid) {
    const std::string name = std::string(key.second == 0 ? "P0 (server)" : "P1 (client)") +
                             (pid.size() > 2 ? ", batch lane " + std::to_string(key.first) : "");
    ev.push_back({{"name", "process_name"}, {"ph", "M"}, {"pid", id}, {"args", {{"name", name}}}});
    for (int t = 0; t < 3; ++t)
      ev.push_back({{"name", "thread_name"}, {"ph", "M"}, {"pid", id}, {"tid", t + 1}, {"args", {{"name", kResources[t]}}}});
  }
  for (const mpc::Span& s : spans) {
    json args = {{"layer", s.layer}};
    if (s.bytes) args["bytes"] = s.bytes;
    ev.push_back({{"name", s.name},
                  {"cat", s.layer},
                  {"ph", "X"},
                  {"pid", pid[{s.lane, s.party}]},
                  {"tid", tid_of(s.resource)},
                  {"ts", s.start_s * 1e6},
                  {"dur", (s.end_s - s.start_s) * 1e6},
                  {"args", args}});
  }
  json layers = json::object();
  for (const auto& [name, sec] : measured_layer_seconds(spans)) layers[name] = sec * 1e6;
  return json{{"traceEvents", ev},
              {"displayTimeUnit", "ms"},
              {"otherData", {{"title", title}, {"modelled", false}, {"measured_layer_us", layers}}}};
}

}  // namespace polympc::scheduler
