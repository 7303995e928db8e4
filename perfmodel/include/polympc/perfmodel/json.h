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
nlohmann::json layer_json(const LayerCost& c, size_t batch);
/// {"network", "board", "preset", ..., "layers": [...], "sites": [...], "total": {...},
///  "resources": {...}, "utilization": {...}, "assumptions": [...]}.
nlohmann::json report_json(const NetworkReport& r, const Board& board);

}  // namespace polympc::perfmodel
