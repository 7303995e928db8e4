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
// overhead x T). Tiles of images (a count <= the batch) flow through consecutive layers of
// the same count without waiting for the other tiles (overlap across layers, which data
// dependencies allow: images never depend on each other); otherwise a layer's tiles start
// after every tile of the layer before has finished. With one tile per layer the makespan
// equals the sequential model's online latency (tested).
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
  int segment = 0;       ///< consecutive layers whose tiles flow through without a join
  std::string resource;  ///< "pcie", "link p0->p1", "link p1->p0", "kernel <name>", "cpu"
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

/// Where the tiles' computation runs.
enum class Target {
  Fpga,  ///< the board's kernels and PCIe (the kernels' cycle models)
  Cpu,   ///< this machine's cpu backend: one "cpu" resource, each tile's compute priced by
         ///< the calibration (Model::calibration) at the tile's batch, as `polympc infer`
         ///< executes the plan: tiles of images, input and output untiled
};
const char* target_name(Target t);
/// "fpga" or "cpu"; PerfModelError otherwise.
Target parse_target(const std::string& s);

struct TimelineOptions {
  Target target = Target::Fpga;
  /// Tiles of a segment in flight at once (polympc infer --lanes): tile t waits for tile
  /// t - lanes of its segment (a lane runs its tiles in order). 0 = no limit.
  size_t lanes = 0;
};

/// Timeline of `net` on `model` with `tiles[i]` tiles for layer i of `order` (input, the
/// network's layers, output; empty = 1 everywhere). Consecutive layers with the same count
/// T <= the model's batch form a segment: its tiles are images, tile t of a layer waits
/// only for tile t of the layer before (overlap across layers); a count above the batch
/// cuts one layer's elements and joins after it. Throws PerfModelError for a tiling of
/// another length, a count outside [1, 4096], and on the cpu target a layer without a
/// calibrated time.
Timeline build_timeline(const perfmodel::Model& model, const perfmodel::NetShape& net, const std::vector<int>& tiles = {},
                        const TimelineOptions& o = {});

/// The tiling with the shortest modelled makespan among: each layer's own best count in
/// {1, 2, 4, ..., max_tiles} (FPGA target; layers joined), and one count T <= batch for
/// every layer (one segment: tiles of images through the whole network).
std::vector<int> choose_tiles(const perfmodel::Model& model, const perfmodel::NetShape& net, int max_tiles = 64,
                              const TimelineOptions& o = {});

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
