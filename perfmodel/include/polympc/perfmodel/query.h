// One way to build a model and a network from plain options, shared by the CLI
// (`polympc perf`) and the Python module, so both answer with the same numbers.
#pragma once
#include <map>
#include <string>

#include "polympc/perfmodel/model.h"

namespace polympc::perfmodel {

/// Model options as the user types them.
struct Query {
  std::string board = "u250";    ///< board name or JSON path
  std::string network = "lan";   ///< preset name or JSON path
  std::string compare = "fss";   ///< gmw | fss (the CLI defaults)
  std::string compare_bits;      ///< "" (whole ring) or "LO:HI" for every comparison
  std::string layer_compare_bits;  ///< per layer: "name=LO:HI,name=LO:HI"
  std::string trunc = "fss";     ///< exact | prob | fss | slack
  std::string phase = "online";  ///< online | offline | total: which figure a query reports
  int bits = 64;                 ///< ring bits l
  std::string layer_bits;        ///< per-layer ring widths: "name=BITS,name=BITS" (Options::layer_bits)
  int frac = 12;                 ///< fractional bits f
  int coef_frac = -1;            ///< polynomial coefficient scale (Options::coef_frac; -1 = f + 8)
  size_t batch = 1;              ///< images per inference
  std::string lanes;             ///< "kernel=N,matmul_combine=LxR" overrides (parse_lanes)
  std::string calibration;       ///< calibration file ("" = none)
  std::string data_dir;          ///< "" = default_data_dir()
};

/// Kernel configuration overrides: lanes per kernel, array rows (matmul_combine).
struct KernelOverrides {
  std::map<std::string, uint64_t> lanes, rows;
};
/// Parses "poly_eval=32,matmul_combine=16x8" (KERNEL=LANES or KERNEL=LANESxROWS).
/// Throws PerfModelError on a bad entry (the Model checks which kernels take rows).
KernelOverrides parse_lanes(const std::string& spec);
/// Loads board, kernels, preset (and calibration) and builds the model. Probabilistic
/// truncation uses the bound the CLI's infer uses: min(l - 2, 2f + 12) bits.
/// Throws PerfModelError / DescriptionError (unknown names, bad files, bad options).
Model make_model(const Query& q);
/// The query's phase (parse_phase(q.phase)). Throws PerfModelError naming the choices.
Phase query_phase(const Query& q);
/// Network from exactly one of `arch` (zoo name) or `onnx` (file), with activation and
/// pool specs applied ("model", "relu", "poly", "max", "avg" or per-site lists).
NetShape make_net(const std::string& arch, const std::string& onnx, const std::string& acts = "model",
                  const std::string& pools = "model");

}  // namespace polympc::perfmodel
