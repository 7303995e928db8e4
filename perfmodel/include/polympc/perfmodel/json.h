// JSON form of the model's answers. The CLI's --json, the Python module and the tests all
// go through these functions, so every interface gives the same numbers.
//
// Units are in the key names: *_s seconds, *_j joules, bytes_* bytes, *_cycles cycles.
// Fields ending in _per_image divide a batch figure by the batch size.
#pragma once
#include <nlohmann/json.hpp>

#include "polympc/perfmodel/model.h"

namespace polympc::perfmodel {

nlohmann::json resources_json(const Resources& r);
/// {"online": {bytes_per_party, rounds, latency_s}, "offline": {bytes_per_party,
///  keygen_aes_blocks, transfer_s, keygen_s, latency_s}, "total": {bytes_per_party, rounds,
///  latency_s}} of one cost (bytes per party, whole batch; seconds modelled).
nlohmann::json phases_json(const LayerCost& c);
/// One layer: the online fields (latency_s, bytes_p0, ...), offline_bytes, offline_s,
/// total_s, "phases" (phases_json), and the chosen phase as "phase", "phase_latency_s" and
/// "phase_bytes_per_party" (with Phase::Online these equal latency_s and the larger bytes_p*).
nlohmann::json layer_json(const LayerCost& c, size_t batch, Phase phase = Phase::Online);
/// {"network", "board", "preset", ..., "phase", "layers": [...], "sites": [...], "total": {...},
///  "resources": {...}, "utilization": {...}, "assumptions": [...]}.
nlohmann::json report_json(const NetworkReport& r, const Board& board, Phase phase = Phase::Online);

}  // namespace polympc::perfmodel
