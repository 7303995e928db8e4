// Model and network from plain options (query.h).
#include "polympc/perfmodel/query.h"

#include <sstream>

namespace polympc::perfmodel {

std::map<std::string, uint64_t> parse_lanes(const std::string& spec) {
  std::map<std::string, uint64_t> out;
  std::stringstream ss(spec);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    const auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0) throw PerfModelError("lanes entry '" + item + "' must be KERNEL=N");
    const std::string num = item.substr(eq + 1);
    if (num.empty() || num.find_first_not_of("0123456789") != std::string::npos)
      throw PerfModelError("lanes entry '" + item + "': N must be a positive integer");
    out[item.substr(0, eq)] = std::stoull(num);
  }
  return out;
}

Phase query_phase(const Query& q) { return parse_phase(q.phase); }

Model make_model(const Query& q) {
  query_phase(q);  // an unknown phase is an error before any file is read
  Options opt;
  opt.ring = mpc::RingConfig{q.bits, q.frac};
  try {
    opt.ring.validate();
  } catch (const mpc::InvalidArgument& e) {
    throw PerfModelError(e.what());
  }
  try {
    opt.protocol.trunc = mpc::parse_trunc_mode(q.trunc);
  } catch (const mpc::InvalidArgument& e) {
    throw PerfModelError(e.what());
  }
  opt.protocol.trunc_bound_bits = std::min(q.bits - 2, 2 * q.frac + 12);
  try {
    opt.protocol.compare = mpc::parse_compare_mode(q.compare);
    if (!q.compare_bits.empty() && q.compare_bits != "full") opt.protocol.compare_bits = mpc::parse_compare_bits(q.compare_bits);
    std::stringstream ss(q.layer_compare_bits);
    std::string item;
    while (std::getline(ss, item, ',')) {
      if (item.empty()) continue;
      const auto eq = item.find('=');
      if (eq == std::string::npos || eq == 0) throw PerfModelError("per-layer comparison bits '" + item + "' must be LAYER=LO:HI");
      opt.protocol.layer_compare_bits[item.substr(0, eq)] = mpc::parse_compare_bits(item.substr(eq + 1));
    }
    opt.protocol.compare_range("", opt.ring.bits);  // validates the global range
  } catch (const mpc::InvalidArgument& e) {
    throw PerfModelError(e.what());
  }
  opt.batch = q.batch;
  opt.lanes = parse_lanes(q.lanes);
  std::optional<Calibration> cal;
  if (!q.calibration.empty()) cal = load_calibration(q.calibration);
  return Model(load_board(q.board, q.data_dir), load_kernels(q.data_dir), load_network(q.network, q.data_dir), opt, cal);
}

NetShape make_net(const std::string& arch, const std::string& onnx, const std::string& acts, const std::string& pools) {
  if (arch.empty() == onnx.empty()) throw PerfModelError("give exactly one of a model file (--model) or an architecture (--arch)");
  NetShape net = arch.empty() ? load_model_shape(onnx) : zoo(arch);
  set_activations(net, acts);
  set_pools(net, pools);
  return net;
}

}  // namespace polympc::perfmodel
