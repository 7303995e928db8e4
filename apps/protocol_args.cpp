#include "protocol_args.h"

#include <algorithm>
#include <sstream>

#include "polympc/mpc/protocols.h"

namespace polympc::apps {

void add_protocol_options(CLI::App& c, ProtocolArgs& a) {
  c.add_option("--compare", a.compare, "secure comparison protocol: gmw | fss")->capture_default_str();
  c.add_option("--relu-bits", a.relu_bits,
               "reduced-bit comparison: LO:HI for every ReLU/max pool, or NAME=LO:HI for one layer "
               "(repeatable, comma-separated)");
  c.add_option("--trunc", a.trunc, "exact | prob")->capture_default_str();
  c.add_option("--bits", a.bits, "ring bits l")->capture_default_str();
  c.add_option("--frac", a.frac, "fractional bits f")->capture_default_str();
}

mpc::RingConfig ring_of(const ProtocolArgs& a) {
  mpc::RingConfig ring{a.bits, a.frac};
  ring.validate();
  return ring;
}

mpc::ProtocolOptions protocol_of(const ProtocolArgs& a) {
  const mpc::RingConfig ring = ring_of(a);
  mpc::ProtocolOptions po;
  if (a.trunc == "exact")
    po.trunc = mpc::TruncMode::Exact;
  else if (a.trunc == "prob")
    po.trunc = mpc::TruncMode::Prob;
  else
    throw mpc::InvalidArgument("unknown truncation '" + a.trunc + "' (choose exact or prob)");
  po.compare = mpc::parse_compare_mode(a.compare);
  // --relu-bits LO:HI (every ReLU / max pool) or NAME=LO:HI (the layer NAME), repeatable
  // or comma-separated.
  for (const std::string& arg : a.relu_bits) {
    std::stringstream items(arg);
    std::string item;
    while (std::getline(items, item, ',')) {
      if (item.empty()) continue;
      const size_t eq = item.find('=');
      if (eq == std::string::npos)
        po.compare_bits = mpc::parse_compare_bits(item);
      else
        po.layer_compare_bits[item.substr(0, eq)] = mpc::parse_compare_bits(item.substr(eq + 1));
    }
  }
  po.trunc_bound_bits = std::min(ring.bits - 2, 2 * ring.frac + 12);
  return po;
}

void check_layer_bits(const mpc::ProtocolOptions& po, const nn::Network& net) {
  for (auto& [layer, bits] : po.layer_compare_bits) {
    std::string names;
    bool found = false;
    for (const nn::Layer& L : net.layers) {
      if (L.op != nn::OpKind::Relu && L.op != nn::OpKind::MaxPool) continue;
      found = found || L.name == layer;
      names += (names.empty() ? "" : ", ") + L.name;
    }
    if (!found)
      throw mpc::InvalidArgument("--relu-bits " + layer + "=" + mpc::compare_bits_name(bits) +
                                 ": the model has no ReLU or max-pool layer '" + layer + "' (it has: " +
                                 (names.empty() ? std::string("none") : names) + ")");
  }
}

}  // namespace polympc::apps
