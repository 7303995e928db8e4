// Model and network from plain options (query.h).
#include "polympc/perfmodel/query.h"

#include <sstream>

#include "polympc/nn/ir.h"

namespace polympc::perfmodel {

KernelOverrides parse_lanes(const std::string& spec) {
  KernelOverrides out;
  std::stringstream ss(spec);
  std::string item;
  auto number = [&](const std::string& num) {
    if (num.empty() || num.size() > 9 || num.find_first_not_of("0123456789") != std::string::npos)
      throw PerfModelError("lanes entry '" + item + "' must be KERNEL=LANES or KERNEL=LANESxROWS (positive integers)");
    return static_cast<uint64_t>(std::stoull(num));
  };
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    const auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0) throw PerfModelError("lanes entry '" + item + "' must be KERNEL=N");
    const std::string kernel = item.substr(0, eq), value = item.substr(eq + 1);
    const auto x = value.find('x');
    out.lanes[kernel] = number(value.substr(0, x));
    if (x != std::string::npos) out.rows[kernel] = number(value.substr(x + 1));
  }
  return out;
}

Phase query_phase(const Query& q) { return parse_phase(q.phase); }

Model make_model(const Query& q) {
  query_phase(q);  // an unknown phase is an error before any file is read
  Options opt;
  opt.ring = mpc::RingConfig{q.bits, q.frac};
  opt.coef_frac = q.coef_frac;
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
  try {
    opt.layer_bits = nn::parse_layer_bits(q.layer_bits);
  } catch (const nn::ModelError& e) {
    throw PerfModelError(e.what());
  }
  KernelOverrides k = parse_lanes(q.lanes);
  opt.lanes = std::move(k.lanes);
  opt.rows = std::move(k.rows);
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
