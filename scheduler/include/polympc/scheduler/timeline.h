// Tiling, overlap and the timeline of a plan (docs/scheduler.md "Tiling and overlap";
// docs/design.md §10 (b), (c)). MODELLED: built from the performance model's per-layer
// figures, not measured.
//
// Each layer is cut into T tiles (equal parts of its elements). A tile is a chain of tasks,
// each on one resource:
//   PCIe in -> each Backend kernel the layer calls, in order, on its compute unit
//   -> PCIe out -> the link in each direction (bytes / bandwidth),
// and the tile's protocol rounds add rounds x RTT of propagation after its link tasks
// (a delay, not a resource). Tiles of one layer overlap: tile k's transfers and link
// time run while tile k+1 computes. Every tile pays the layer's launches again (launch
// overhead x T). Layers are ordered: a layer's tiles start after every tile of the layer
// before it has finished (the sequential data dependency; overlap across layers where
// dependencies allow is not modelled). With one tile per layer the makespan equals the
// sequential model's online latency (tested).
#pragma once
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "polympc/mpc/trace.h"
#include "polympc/perfmodel/model.h"

namespace polympc::scheduler {

/// One task of the timeline (seconds from the start of the inference, modelled).
struct Task {
  int id = 0;
  std::string name;      ///< "<layer> t<tile> <what>"
  std::string layer;
  int tile = 0;
  std::string resource;  ///< "pcie", "link p0->p1", "link p1->p0", "kernel <name>"
  double duration_s = 0;
  std::vector<int> deps;  ///< tasks that must finish first
  double lag_s = 0;       ///< delay after the deps finish (protocol rounds x RTT)
  double start_s = 0, end_s = 0;
};

/// A layer of the timeline.
struct LayerTiming {
  std::string name;
  int tiles = 1;
  double sequential_s = 0;  ///< the sequential model's online latency of the layer
  double start_s = 0, end_s = 0;
  std::string bottleneck;   ///< the resource (or "rtt") with the most time in the layer
};

struct Timeline {
  std::vector<Task> tasks;
  std::vector<LayerTiming> layers;      ///< input, the network's layers, output
  double makespan_s = 0;
  std::vector<int> critical_path;       ///< task ids, first to last
  std::map<std::string, double> busy_s; ///< per resource: time busy
};

/// Timeline of `net` on `model` with `tiles[i]` tiles for layer i of `order` (input, the
/// network's layers, output; empty = 1 everywhere).
Timeline build_timeline(const perfmodel::Model& model, const perfmodel::NetShape& net, const std::vector<int>& tiles = {});

/// Per layer (input, layers, output) the tile count in {1, 2, 4, ..., max_tiles} that
/// minimises the layer's modelled makespan.
std::vector<int> choose_tiles(const perfmodel::Model& model, const perfmodel::NetShape& net, int max_tiles = 64);

/// Chrome trace JSON (opens in Perfetto / chrome://tracing): one thread per resource,
/// "X" events in microseconds with args {layer, tile, id, deps, lag_us}, thread names,
/// and the critical path as args of a metadata event.
nlohmann::json trace_json(const Timeline& t, const std::string& title);

/// Measured layer times of an executed run: per layer (phase) name, the wall seconds of
/// its "layers" spans, summed over batches, the larger of the two parties (per lane,
/// lanes summed).
std::map<std::string, double> measured_layer_seconds(const std::vector<mpc::Span>& spans);

/// The measured timeline (mpc/trace.h spans) in the same Chrome trace format as
/// trace_json: one process per party (and worker lane), one thread per resource ("layers",
/// "compute", "link wait"), "X" events in microseconds with args {layer, bytes};
/// otherData says "modelled": false and gives measured_layer_seconds in microseconds.
nlohmann::json measured_trace_json(const std::vector<mpc::Span>& spans, const std::string& title);

}  // namespace polympc::scheduler
