#include "protocol_args.h"

#include <algorithm>
#include <map>
#include <sstream>

#include "polympc/mpc/protocols.h"
#include "polympc/nn/onnx.h"
#include "polympc/nn/secure.h"

namespace polympc::apps {

void add_protocol_options(CLI::App& c, ProtocolArgs& a) {
  c.add_option("--compare", a.compare, "secure comparison protocol: gmw | fss")->capture_default_str();
  c.add_option("--relu-bits", a.relu_bits,
               "reduced-bit comparison: LO:HI for every ReLU/Block-ReLU/max pool, or NAME=LO:HI for "
               "one layer (repeatable, comma-separated)");
  c.add_option(
       "--trunc", a.trunc,
       "exact | prob | fss | slack. fss = SIGMA's 2-round FSS truncation (DCF + B2A), exact for "
       "|x| < 2^(l-2); needs --bits >= 2f+14. slack = GMW carries over the low s bits with the wrap "
       "from the MSBs (Cheetah's truncation with known MSB): exact for |x| < 2^(l-2) like fss, "
       "more rounds (~log2(s) + 3), fewer bytes and far less dealer material; needs --bits >= 2f+14. "
       "exact = GMW carries over all l bits, exact for every value. prob = SecureML's 1-round truncation: off by <= 1 "
       "ulp and wrong with "
       "probability "
       "~2^(B+1-l) per element for the bound B = min(l-2, 2f+12); refused when that exceeds 2^-20, "
       "i.e. it needs --bits >= 2f+33 (57 for f = 12)")
      ->capture_default_str();
  c.add_option("--trunc-failure-limit", a.trunc_failure_limit,
               "--trunc prob: largest accepted log2 probability that any truncation of the run fails "
               "(elements truncated per image x images x 2^(B+1-l)); the run is refused above it")
      ->capture_default_str();
  c.add_option("--bits", a.bits, "ring bits l (default: the model's polympc.bits, else 64)")
      ->capture_default_str()
      ->each([&a](const std::string&) { a.bits_given = true; });
  c.add_option("--frac", a.frac, "fractional bits f (default: the model's polympc.frac, else 12)")
      ->capture_default_str()
      ->each([&a](const std::string&) { a.frac_given = true; });
}

mpc::RingConfig ring_of(const ProtocolArgs& a) {
  mpc::RingConfig ring{a.bits, a.frac};
  ring.validate();
  return ring;
}

mpc::ProtocolOptions protocol_of(const ProtocolArgs& a) {
  const mpc::RingConfig ring = ring_of(a);
  mpc::ProtocolOptions po;
  po.trunc = mpc::parse_trunc_mode(a.trunc);
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
      else if (eq == 0)
        throw mpc::InvalidArgument("--relu-bits " + item +
                                   ": missing the layer name before '=' (NAME=LO:HI)");
      else
        po.layer_compare_bits[item.substr(0, eq)] = mpc::parse_compare_bits(item.substr(eq + 1));
    }
  }
  po.trunc_bound_bits = std::min(ring.bits - 2, 2 * ring.frac + 12);
  // FSS and slack truncation are exact for |x| < 2^(l-2); values before a truncation are
  // assumed below 2^(2f+12) (the headroom of trunc_bound_bits), so they need l - 2 >= 2f + 12.
  if ((po.trunc == mpc::TruncMode::Fss || po.trunc == mpc::TruncMode::Slack) && ring.bits < 2 * ring.frac + 12 + 2)
    throw mpc::InvalidArgument(
        std::string("--trunc ") + mpc::trunc_mode_name(po.trunc) + " at --bits " + std::to_string(ring.bits) + " --frac " +
        std::to_string(ring.frac) + ": this truncation is exact only for |x| < 2^(l-2) = 2^" +
        std::to_string(ring.bits - 2) + ", below the assumed range |x| < 2^(2f+12) = 2^" +
        std::to_string(2 * ring.frac + 12) + " of values before a truncation: use --bits >= " +
        std::to_string(2 * ring.frac + 14) + ", a smaller --frac, or --trunc exact");
  try {
    mpc::check_trunc_failure(ring, po);
  } catch (const mpc::InvalidArgument&) {
    // Same check, with the ring size that actually suffices: the bound grows with l up to 2f + 12.
    const int log2p = po.trunc_bound_bits + 1 - ring.bits;
    const int need = 2 * ring.frac + 12 + 1 - mpc::kTruncFailureLog2Limit;
    throw mpc::InvalidArgument(
        "--trunc prob at --bits " + std::to_string(ring.bits) + " --frac " +
        std::to_string(ring.frac) + ": probabilistic truncation fails with probability about 2^" +
        std::to_string(log2p) + " per element (2^(bound+1-l) with the bound |x| < 2^" +
        std::to_string(po.trunc_bound_bits) + ", bound = min(l-2, 2f+12)), above the limit of 2^" +
        std::to_string(mpc::kTruncFailureLog2Limit) + ": use --trunc exact" +
        (need <= 64 ? ", or --bits >= " + std::to_string(need)
                    : std::string(" (no ring of at most 64 bits is large enough at this --frac)")));
  }
  return po;
}

void check_trunc_failure_run(const ProtocolArgs& a, const mpc::RingConfig& ring, const mpc::ProtocolOptions& po,
                             const nn::Network& net, size_t images) {
  if (po.trunc != mpc::TruncMode::Prob) return;
  const uint64_t per_image = nn::truncated_elements_per_image(net, ring, po, -1);
  mpc::check_trunc_failure_run(ring, po, per_image * images,
                               std::to_string(images) + " images x " + std::to_string(per_image) +
                                   " truncated elements per image",
                               a.trunc_failure_limit);
}

namespace {
/// Layers whose comparisons --relu-bits NAME=LO:HI reaches (tagged with the layer name).
bool compares(const nn::Layer& L) {
  return L.op == nn::OpKind::Relu || L.op == nn::OpKind::MaxPool || L.op == nn::OpKind::BlockRelu;
}
}  // namespace

void check_layer_bits(const mpc::ProtocolOptions& po, const nn::Network& net) {
  for (auto& [layer, bits] : po.layer_compare_bits) {
    std::string names;
    bool found = false;
    for (const nn::Layer& L : net.layers) {
      if (!compares(L)) continue;
      found = found || L.name == layer;
      names += (names.empty() ? "" : ", ") + L.name;
    }
    if (!found)
      throw mpc::InvalidArgument("--relu-bits " + layer + "=" + mpc::compare_bits_name(bits) +
                                 ": the model has no ReLU, Block-ReLU or max-pool layer '" + layer +
                                 "' (it has: " +
                                 (names.empty() ? std::string("none") : names) + ")");
  }
  // An entry applies to its layer's tags and to tags under "<name>/" (ProtocolOptions::
  // layer_entry): it must not reach another ReLU / max-pool layer whose name merely starts
  // with "<name>/".
  for (const nn::Layer& L : net.layers) {
    if (!compares(L)) continue;
    const auto* entry = po.layer_entry(L.name);
    if (entry != nullptr && entry->first != L.name)
      throw mpc::InvalidArgument(
          "--relu-bits " + entry->first + "=" + mpc::compare_bits_name(entry->second) +
          " would also apply to the layer '" + L.name + "' (its name starts with '" + entry->first +
          "/'): give '" + L.name + "' its own NAME=LO:HI entry");
  }
}

void apply_fixed_point(const nn::FixedPoint& fp, int& bits, bool bits_given, int& frac, bool frac_given,
                       int& coef_frac) {
  if (!bits_given && fp.bits != 0) bits = fp.bits;
  if (!frac_given && fp.frac != 0) frac = fp.frac;
  if (coef_frac < 0 && fp.coef_frac >= 0) coef_frac = fp.coef_frac;
}

int use_fixed_point(const nn::FixedPoint& fp, ProtocolArgs& a) {
  int coef_frac = -1;
  apply_fixed_point(fp, a.bits, a.bits_given, a.frac, a.frac_given, coef_frac);
  return coef_frac;
}

void model_fixed_point(const std::string& model, int& bits, bool bits_given, int& frac, bool frac_given,
                       int& coef_frac) {
  apply_fixed_point(nn::fixed_point_of(nn::onnx_metadata(model), model), bits, bits_given, frac, frac_given,
                    coef_frac);
}

}  // namespace polympc::apps
