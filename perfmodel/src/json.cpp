// JSON form of the model's answers (json.h).
#include "polympc/perfmodel/json.h"

namespace polympc::perfmodel {

using nlohmann::json;

json resources_json(const Resources& r) {
  return {{"lut", r.lut}, {"ff", r.ff}, {"dsp", r.dsp}, {"bram_36k", r.bram_36k}, {"uram", r.uram}};
}

json phases_json(const LayerCost& c) {
  const uint64_t online = phase_bytes(c, Phase::Online);
  return {{"online", {{"bytes_per_party", online}, {"rounds", c.rounds}, {"latency_s", c.latency_s}}},
          {"offline",
           {{"bytes_per_party", c.offline_bytes},
            {"keygen_aes_blocks", c.keygen_aes_blocks},
            {"transfer_s", c.offline_transfer_s},
            {"keygen_s", c.keygen_s},
            {"latency_s", c.offline_s}}},
          {"total", {{"bytes_per_party", phase_bytes(c, Phase::Total)}, {"rounds", c.rounds}, {"latency_s", c.total_s}}}};
}

json layer_json(const LayerCost& c, size_t batch, Phase phase) {
  const double B = static_cast<double>(batch == 0 ? 1 : batch);
  json k = json::array();
  for (const KernelUse& u : c.kernels)
    k.push_back({{"kernel", u.kernel},
                 {"calls", u.calls},
                 {"launches", u.launches},
                 {"elements", u.elements},
                 {"cycles", u.cycles},
                 {"link_bytes", u.link_bytes},
                 {"memory_bytes", u.memory_bytes}});
  json j = {{"name", c.name},
            {"op", c.op},
            {"choice", choice_name(c.choice)},
            {"elements_per_image", c.elements},
            {"drelus", c.drelus},
            {"bytes_p0", c.bytes_p0},
            {"bytes_p1", c.bytes_p1},
            {"bytes_p0_per_image", static_cast<double>(c.bytes_p0) / B},
            {"bytes_p1_per_image", static_cast<double>(c.bytes_p1) / B},
            {"rounds", c.rounds},
            {"network_s", c.network_s},
            {"device_cycles", c.device_cycles},
            {"device_compute_s", c.device_compute_s},
            {"device_memory_s", c.device_memory_s},
            {"device_s", c.device_s},
            {"transfer_s", c.transfer_s},
            {"launches", c.launches},
            {"latency_s", c.latency_s},
            {"energy_j", c.energy_j},
            {"offline_bytes", c.offline_bytes},
            {"keygen_aes_blocks", c.keygen_aes_blocks},
            {"offline_s", c.offline_s},
            {"total_s", c.total_s},
            {"phases", phases_json(c)},
            {"phase", phase_name(phase)},
            {"phase_latency_s", phase_seconds(c, phase)},
            {"phase_bytes_per_party", phase_bytes(c, phase)},
            {"resources", resources_json(c.resources)},
            {"kernels", k}};
  json h = json::array();
  for (const HostUse& u : c.host) h.push_back({{"protocol", u.protocol}, {"calls", u.calls}, {"units", u.units}});
  j["host"] = h;
  if (c.has_cpu) {
    j["cpu_s"] = c.cpu_s;
    j["cpu_kernel_s"] = c.cpu_kernel_s;
    j["cpu_host_s"] = c.cpu_host_s;
  } else {
    j["cpu_s"] = nullptr;
  }
  return j;
}

json report_json(const NetworkReport& r, const Board& board, Phase phase) {
  json layers = json::array();
  for (const LayerCost& c : r.layers) layers.push_back(layer_json(c, r.batch, phase));
  json sites = json::array();
  for (const SiteCosts& s : r.sites) {
    json choices = json::object();
    for (const LayerCost& c : s.choices) choices[choice_name(c.choice)] = layer_json(c, r.batch, phase);
    sites.push_back({{"name", s.name}, {"kind", s.kind}, {"current", choice_name(s.current)}, {"choices", choices}});
  }
  json util = json::object();
  auto pct = [](double used, double cap) { return cap > 0 ? 100.0 * used / cap : 0.0; };
  util["lut_pct"] = pct(r.resources.lut, board.capacity.lut);
  util["ff_pct"] = pct(r.resources.ff, board.capacity.ff);
  util["dsp_pct"] = pct(r.resources.dsp, board.capacity.dsp);
  util["bram_36k_pct"] = pct(r.resources.bram_36k, board.capacity.bram_36k);
  util["uram_pct"] = pct(r.resources.uram, board.capacity.uram);
  json total = layer_json(r.total, r.batch, phase);
  total["latency_s_per_image"] = r.total.latency_s / static_cast<double>(r.batch);
  total["energy_j_per_image"] = r.total.energy_j / static_cast<double>(r.batch);
  total["offline_s_per_image"] = r.total.offline_s / static_cast<double>(r.batch);
  total["total_s_per_image"] = r.total.total_s / static_cast<double>(r.batch);
  if (r.total.has_cpu) total["cpu_s_per_image"] = r.total.cpu_s / static_cast<double>(r.batch);
  return {{"network", r.network},
          {"board", r.board},
          {"board_title", board.title},
          {"preset", r.preset},
          {"compare", r.compare},
          {"compare_bits", r.compare_bits},
          {"trunc", r.trunc},
          {"ring_bits", r.ring_bits},
          {"frac_bits", r.frac_bits},
          {"batch", r.batch},
          {"modelled", true},
          {"phase", phase_name(phase)},
          {"note", "bytes, rounds, dealer material bytes and key-generation AES blocks are exact (the protocols counted); "
                   "seconds (online, offline, total), joules and resources are modelled, not measured"},
          {"layers", layers},
          {"sites", sites},
          {"total", total},
          {"resources", resources_json(r.resources)},
          {"utilization", util},
          {"assumptions", r.assumptions}};
}

}  // namespace polympc::perfmodel
