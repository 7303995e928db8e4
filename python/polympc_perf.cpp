// polympc_perf: the performance model from Python (docs/design.md §9, §11).
//
//   import polympc_perf as pp
//   pp.layer_cost([64, 56, 56], "poly", board="u250", network="lan")["latency_s"]
//   t = pp.latency_table(arch="resnet18-imagenet", acts="poly")
//   lat = {s["name"]: {c: v["latency_s"] for c, v in s["choices"].items()} for s in t["sites"]}
//   t = pp.latency_table(arch="resnet18-imagenet", acts="poly", phase="total")
//   lat = {s["name"]: {c: v["phase_latency_s"] for c, v in s["choices"].items()} for s in t["sites"]}
//
// phase ("online", default, "offline" or "total") selects the figure in "phase_latency_s" and
// "phase_bytes_per_party"; every dict has all three under "phases" (all seconds modelled).
//
// Every function returns plain dicts / lists / numbers built from the same JSON as
// `polympc perf --json` (perfmodel/json.h), so the numbers are identical. Errors raise
// RuntimeError with the model's message (unknown board, bad file and field, ...).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "polympc/perfmodel/json.h"
#include "polympc/perfmodel/query.h"
#include "polympc/scheduler/plan.h"

namespace py = pybind11;
namespace pm = polympc::perfmodel;

namespace {

py::object to_py(const nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::null:
      return py::none();
    case nlohmann::json::value_t::boolean:
      return py::bool_(j.get<bool>());
    case nlohmann::json::value_t::number_integer:
      return py::int_(j.get<int64_t>());
    case nlohmann::json::value_t::number_unsigned:
      return py::int_(j.get<uint64_t>());
    case nlohmann::json::value_t::number_float:
      return py::float_(j.get<double>());
    case nlohmann::json::value_t::string:
      return py::str(j.get<std::string>());
    case nlohmann::json::value_t::array: {
      py::list l;
      for (const auto& e : j) l.append(to_py(e));
      return std::move(l);
    }
    case nlohmann::json::value_t::object: {
      py::dict d;
      for (auto it = j.begin(); it != j.end(); ++it) d[py::str(it.key())] = to_py(it.value());
      return std::move(d);
    }
    default:
      return py::none();
  }
}

pm::Query query(const std::string& board, const std::string& network, const std::string& compare, const std::string& trunc,
                int bits, int frac, size_t batch, const std::string& lanes, const std::string& calibration,
                const std::string& data_dir, const std::string& compare_bits, const std::string& phase) {
  pm::Query q;
  q.phase = phase;
  q.board = board;
  q.network = network;
  q.compare = compare;
  q.compare_bits = compare_bits;
  q.trunc = trunc;
  q.bits = bits;
  q.frac = frac;
  q.batch = batch;
  q.lanes = lanes;
  q.calibration = calibration;
  q.data_dir = data_dir;
  return q;
}

/// Cost of one activation or pool site. shape: [C, H, W] or [F] (per image, the site's
/// input; activations keep it). choice: relu | relu-gmw | relu-fss | poly | identity |
/// maxpool | avgpool (pools: kernel x kernel windows, stride = kernel unless given).
py::object layer_cost(const std::vector<int64_t>& shape, const std::string& choice, int kernel, int stride,
                      const std::string& board, const std::string& network, const std::string& compare,
                      const std::string& trunc, int bits, int frac, size_t batch, const std::string& lanes,
                      const std::string& calibration, const std::string& data_dir, const std::string& compare_bits,
                      const std::string& phase) {
  const pm::Query q = query(board, network, compare, trunc, bits, frac, batch, lanes, calibration, data_dir, compare_bits, phase);
  const pm::Model m = pm::make_model(q);
  const pm::Choice c = pm::parse_choice(
      choice, m.options().protocol.compare == polympc::mpc::CompareMode::Gmw ? pm::Choice::ReluGmw : pm::Choice::ReluFss);
  if (shape.empty() || shape.size() > 3) throw pm::PerfModelError("shape must be [C, H, W] or [F]");
  for (int64_t d : shape)
    if (d < 1) throw pm::PerfModelError("shape dimensions must be >= 1");
  pm::LayerShape L;
  L.name = "site";
  L.in_shape = shape;
  if (c == pm::Choice::MaxPool || c == pm::Choice::AvgPool) {
    if (shape.size() != 3) throw pm::PerfModelError("pooling needs a [C, H, W] shape");
    if (kernel < 1) throw pm::PerfModelError("kernel must be >= 1");
    const int s = stride > 0 ? stride : kernel;
    L.kind = c == pm::Choice::MaxPool ? pm::LayerKind::MaxPool : pm::LayerKind::AvgPool;
    L.kernel_h = L.kernel_w = kernel;
    L.stride_h = L.stride_w = s;
    L.out_shape = {shape[0], (shape[1] - kernel) / s + 1, (shape[2] - kernel) / s + 1};
  } else {
    L.kind = pm::LayerKind::Relu;
    L.out_shape = shape;
  }
  return to_py(pm::layer_json(m.layer_cost(L, c), m.options().batch, pm::query_phase(q)));
}

/// The whole network: the same dict as `polympc perf --json` (without "origin").
py::object latency_table(const std::string& arch, const std::string& model, const std::string& acts,
                         const std::string& pools, const std::string& board, const std::string& network,
                         const std::string& compare, const std::string& trunc, int bits, int frac, size_t batch,
                         const std::string& lanes, const std::string& calibration, const std::string& data_dir,
                         const std::string& compare_bits, const std::string& phase, const std::string& kernels,
                         const std::string& plan, double budget) {
  const pm::NetShape net = pm::make_net(arch, model, acts, pools);
  const pm::Query q = query(board, network, compare, trunc, bits, frac, batch, "", calibration, data_dir, compare_bits, phase);
  polympc::scheduler::KernelSource src;
  src.kernels = kernels;
  src.plan = plan;
  src.budget = budget;
  src.lanes = lanes;
  const pm::Model m = polympc::scheduler::configure(pm::make_model(q), net, src, pm::query_phase(q));
  return to_py(pm::report_json(m.report(net), m.board(), pm::query_phase(q)));
}

}  // namespace

PYBIND11_MODULE(polympc_perf, mod) {
  mod.doc() =
      "polympc performance model: modelled latency / energy / resources and exact bytes / rounds of 2PC layers "
      "(same numbers as `polympc perf --json`).";
  py::register_exception<pm::PerfModelError>(mod, "PerfModelError", PyExc_RuntimeError);
  mod.def("layer_cost", &layer_cost, py::arg("shape"), py::arg("choice"), py::arg("kernel") = 2, py::arg("stride") = 0,
          py::arg("board") = "u250", py::arg("network") = "lan", py::arg("compare") = "fss", py::arg("trunc") = "fss",
          py::arg("bits") = 64, py::arg("frac") = 12, py::arg("batch") = 1, py::arg("lanes") = "",
          py::arg("calibration") = "", py::arg("data_dir") = "", py::arg("compare_bits") = "",
          py::arg("phase") = "online",
          "Cost of one activation/pool site at the kernel headers' default configuration (lanes overrides) (dict: latency_s, energy_j, bytes_p0, rounds, offline_bytes, phases, phase_latency_s, ...). "
          "shape: [C, H, W] or [F]. phase: online | offline | total (modelled seconds).");
  mod.def("latency_table", &latency_table, py::arg("arch") = "", py::arg("model") = "", py::arg("acts") = "model",
          py::arg("pools") = "model", py::arg("board") = "u250", py::arg("network") = "lan", py::arg("compare") = "fss",
          py::arg("trunc") = "fss", py::arg("bits") = 64, py::arg("frac") = 12, py::arg("batch") = 1,
          py::arg("lanes") = "", py::arg("calibration") = "", py::arg("data_dir") = "", py::arg("compare_bits") = "",
          py::arg("phase") = "online", py::arg("kernels") = "auto", py::arg("plan") = "", py::arg("budget") = 0.8,
          "Whole-network report (dict with layers, sites x choices, total, resources, assumptions). Kernels as "
          "`polympc perf`: kernels='auto' sizes them to the board for this network (the scheduler), 'default' keeps the "
          "kernel headers' configurations, plan=FILE reads a plan from `polympc schedule`; lanes overrides last.");
  mod.def("boards", [](const std::string& d) { return pm::list_boards(d); }, py::arg("data_dir") = "");
  mod.def("networks", [](const std::string& d) { return pm::list_networks(d); }, py::arg("data_dir") = "");
  mod.def("archs", &pm::zoo_names);
}
