// Loading board, kernel, network and calibration files (see description.h).
#include "polympc/perfmodel/description.h"

#include "kernel_timing.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#ifndef POLYMPC_PERFMODEL_DATA_DIR
#define POLYMPC_PERFMODEL_DATA_DIR "perfmodel/data"
#endif

namespace polympc::perfmodel {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

/// Reads fields of one JSON object and names file and dotted path in every error.
class Reader {
 public:
  Reader(const json& j, std::string kind, std::string file, std::string path,
         std::map<std::string, std::string>* sources)
      : j_(j), kind_(std::move(kind)), file_(std::move(file)), path_(std::move(path)), sources_(sources) {
    if (!j_.is_object()) fail("", "must be a JSON object");
  }

  [[noreturn]] void fail(const std::string& key, const std::string& why) const {
    throw DescriptionError(kind_, file_, full(key), why);
  }
  std::string full(const std::string& key) const {
    if (key.empty()) return path_;
    return path_.empty() ? key : path_ + "." + key;
  }
  bool has(const std::string& key) const { return j_.contains(key); }

  const json& at(const std::string& key) const {
    auto it = j_.find(key);
    if (it == j_.end()) fail(key, "missing");
    return *it;
  }
  Reader child(const std::string& key) const { return Reader(at(key), kind_, file_, full(key), sources_); }

  std::string text(const std::string& key) const {
    const json& v = at(key);
    if (!v.is_string()) fail(key, "must be a string");
    return v.get<std::string>();
  }
  std::string text_or(const std::string& key, const std::string& dflt) const {
    return has(key) ? text(key) : dflt;
  }
  bool flag_or(const std::string& key, bool dflt) const {
    if (!has(key)) return dflt;
    const json& v = at(key);
    if (!v.is_boolean()) fail(key, "must be true or false");
    return v.get<bool>();
  }

  /// A sourced number {"value": v, "source": "..."}; min: smallest accepted value.
  double number(const std::string& key, double min = 0.0, bool strictly_positive = false) const {
    const json& v = at(key);
    if (v.is_number()) fail(key, "a bare number; write {\"value\": " + v.dump() + ", \"source\": \"...\"} (every number carries its source)");
    if (!v.is_object()) fail(key, "must be an object {\"value\": number, \"source\": \"...\"}");
    auto val = v.find("value");
    if (val == v.end()) fail(key + ".value", "missing");
    if (!val->is_number()) fail(key + ".value", "must be a number");
    auto src = v.find("source");
    if (src == v.end()) fail(key + ".source", "missing (every number carries its source or reasoning)");
    if (!src->is_string() || src->get<std::string>().empty()) fail(key + ".source", "must be a non-empty string");
    const double d = val->get<double>();
    if (d < min || (strictly_positive && d <= 0))
      fail(key + ".value", "must be " + std::string(strictly_positive ? "> " : ">= ") + json(min).dump() + ", got " + val->dump());
    if (sources_) (*sources_)[full(key)] = src->get<std::string>();
    return d;
  }
  uint64_t integer(const std::string& key, uint64_t min) const {
    const double d = number(key, static_cast<double>(min));
    if (d != static_cast<double>(static_cast<uint64_t>(d))) fail(key + ".value", "must be an integer");
    return static_cast<uint64_t>(d);
  }

  const std::string& file() const { return file_; }

 private:
  const json& j_;
  std::string kind_, file_, path_;
  std::map<std::string, std::string>* sources_;
};

json read_json(const std::string& kind, const std::string& path) {
  std::ifstream in(path);
  if (!in) throw DescriptionError(kind, path, "", "cannot be opened");
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    return json::parse(ss.str());
  } catch (const json::parse_error& e) {
    throw DescriptionError(kind, path, "", std::string("not valid JSON: ") + e.what());
  }
}

std::string data_dir_or_default(const std::string& d) { return d.empty() ? default_data_dir() : d; }

bool looks_like_path(const std::string& s) {
  return s.find('/') != std::string::npos || (s.size() > 5 && s.compare(s.size() - 5, 5, ".json") == 0);
}

std::vector<std::string> stems(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto& e : fs::directory_iterator(dir, ec))
    if (e.path().extension() == ".json") out.push_back(e.path().stem().string());
  std::sort(out.begin(), out.end());
  return out;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
  return s;
}

/// Resolves a name or a path of a board / network file.
std::string resolve(const std::string& kind, const std::string& sub, const std::string& name_or_path,
                    const std::string& data_dir) {
  if (looks_like_path(name_or_path)) return name_or_path;
  const std::string dir = data_dir_or_default(data_dir) + "/" + sub;
  const std::string p = dir + "/" + name_or_path + ".json";
  if (!fs::exists(p)) {
    const auto known = stems(dir);
    throw PerfModelError("unknown " + kind + " '" + name_or_path + "' (known in " + dir + ": " +
                         (known.empty() ? std::string("none") : join(known)) + ")");
  }
  return p;
}

Resources read_resources(const Reader& r) {
  Resources x;
  x.lut = r.number("lut");
  x.ff = r.number("ff");
  x.dsp = r.number("dsp");
  x.bram_36k = r.number("bram_36k");
  x.uram = r.number("uram");
  return x;
}

CycleModel parse_cycle_model(const Reader& r) {
  const std::string m = r.text("cycle_model");
  if (m == "elementwise") return CycleModel::Elementwise;
  if (m == "matmul") return CycleModel::Matmul;
  if (m == "poly_eval") return CycleModel::PolyEval;
  if (m == "bit_slice") return CycleModel::BitSlice;
  if (m == "dcf") return CycleModel::Dcf;
  if (m == "winograd") return CycleModel::Winograd;
  r.fail("cycle_model", "unknown '" + m + "' (elementwise, matmul, poly_eval, bit_slice, dcf, winograd)");
}

}  // namespace

double Timing::seconds(double u) const {
  if (points.empty()) return per_call + per_unit * u;
  const auto& p0 = points.front();
  if (u <= p0.first) {
    const double base = std::min(per_call, p0.second);
    return p0.first > 0 ? base + (p0.second - base) * u / p0.first : p0.second;
  }
  for (size_t i = 1; i < points.size(); ++i) {
    const auto& a = points[i - 1];
    const auto& b = points[i];
    if (u <= b.first) return a.second + (b.second - a.second) * (u - a.first) / (b.first - a.first);
  }
  const auto& last = points.back();
  return last.first > 0 ? last.second * u / last.first : last.second;
}

std::string default_data_dir() {
  if (const char* e = std::getenv("POLYMPC_PERFMODEL_DATA"); e != nullptr && *e != '\0') return e;
  // The source tree's copy when this binary runs from its build tree, else the installed one.
  // An installed binary looks beside itself (<prefix>/bin/.. /share/polympc/perfmodel/data),
  // so a relocated installation (cmake --install --prefix P) finds its data.
  std::error_code ec;
  if (std::filesystem::is_directory(POLYMPC_PERFMODEL_DATA_DIR, ec)) return POLYMPC_PERFMODEL_DATA_DIR;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const std::filesystem::path beside = exe.parent_path().parent_path() / "share/polympc/perfmodel/data";
    if (std::filesystem::is_directory(beside, ec)) return beside.string();
  }
  return POLYMPC_PERFMODEL_INSTALLED_DATA_DIR;
}

Board load_board(const std::string& name_or_path, const std::string& data_dir) {
  const std::string path = resolve("board", "boards", name_or_path, data_dir);
  const json j = read_json("board", path);
  Board b;
  b.file = path;
  Reader r(j, "board", path, "", &b.sources);
  b.name = r.text("name");
  b.title = r.text("title");
  b.clock_hz = r.number("clock_mhz", 0, true) * 1e6;
  b.capacity = read_resources(r.child("resources"));
  const Reader link = r.child("host_link");
  b.host_link = link.text("kind");
  if (b.host_link != "pcie" && b.host_link != "shared-ddr")
    link.fail("kind", "must be \"pcie\" or \"shared-ddr\", got \"" + b.host_link + "\"");
  b.host_link_bytes_per_s = link.number("bandwidth_GBps", 0, true) * 1e9;
  b.launch_overhead_s = link.number("launch_overhead_us") * 1e-6;
  b.memory_bytes_per_s = r.child("memory").number("bandwidth_GBps", 0, true) * 1e9;
  const Reader p = r.child("power");
  b.power_active_w = p.number("active_w", 0, true);
  b.power_idle_w = p.number("idle_w");
  b.host_power_w = p.number("host_w");
  if (b.power_idle_w > b.power_active_w) p.fail("idle_w", "exceeds active_w");
  if (r.has("dealer")) {
    b.dealer_aes_blocks_per_s = r.child("dealer").number("aes_blocks_per_s", 0, true);
  } else {
    b.dealer_aes_blocks_per_s = kDefaultDealerAesBlocksPerS;
    b.sources["dealer.aes_blocks_per_s"] =
        "default (the board file has no dealer section): kDefaultDealerAesBlocksPerS, dcf_gen measured on the "
        "development machine";
  }
  return b;
}

NetworkPreset load_network(const std::string& name_or_path, const std::string& data_dir) {
  const std::string path = resolve("network preset", "networks", name_or_path, data_dir);
  const json j = read_json("network preset", path);
  NetworkPreset n;
  n.file = path;
  Reader r(j, "network preset", path, "", &n.sources);
  n.name = r.text("name");
  n.title = r.text("title");
  n.bandwidth_bytes_per_s = r.number("bandwidth_MBps", 0, true) * 1e6;
  n.rtt_s = r.number("rtt_ms") * 1e-3;
  return n;
}

KernelSpec load_kernel(const std::string& path) {
  const json j = read_json("kernel", path);
  KernelSpec k;
  k.file = path;
  Reader r(j, "kernel", path, "", &k.sources);
  k.name = r.text("name");
  k.model = parse_cycle_model(r);
  k.implemented = r.flag_or("implemented", true);
  if (k.implemented) {
    // Timing comes from the kernel's header, the one source sim/ and host/ read too.
    detail::HeaderTiming t;
    if (!detail::header_timing(k.name, t))
      r.fail("name", "no kernel header describes '" + k.name + "' (set \"implemented\": false to model a kernel "
                     "that does not exist yet, with its timing in this file)");
    for (const char* key : {"lanes", "ii", "depth", "max_batch", "max_channels", "group_words", "rows", "tile_n", "k_chunk",
                            "xform_latency"})
      if (r.has(key)) r.fail(key, std::string("comes from ") + t.source + "; remove it from the kernel file");
    k.lanes = t.lanes;
    k.ii = t.ii;
    k.depth = t.depth;
    k.max_batch = t.max_batch;
    k.max_channels = t.max_channels;
    k.group_words = t.group_words;
    k.rows = t.rows;
    k.tile_n = t.tile_n;
    k.k_chunk = t.k_chunk;
    k.xform_latency = t.xform_latency;
    for (const char* key : {"lanes", "ii", "depth", "max_batch"}) k.sources[key] = t.source + "::" + key;
    if (k.model == CycleModel::PolyEval) k.sources["max_channels"] = t.source + "::max_channels";
    if (k.model == CycleModel::Dcf) k.sources["group_words"] = t.source + "::group_words";
    if (k.model == CycleModel::Matmul)
      for (const char* key : {"rows", "tile_n", "k_chunk"}) k.sources[key] = t.source + "::" + key;
    if (k.model == CycleModel::Winograd) k.sources["xform_latency"] = t.source + "::xform_latency";
  } else {
    k.lanes = r.integer("lanes", 1);
    k.ii = r.integer("ii", 1);
    k.depth = r.integer("depth", 0);
    k.max_batch = r.integer("max_batch", 0);
    if (k.model == CycleModel::PolyEval) k.max_channels = r.integer("max_channels", 1);
    if (k.model == CycleModel::Dcf) k.group_words = r.integer("group_words", 1);
    if (k.model == CycleModel::Matmul) {
      k.rows = r.integer("rows", 1);
      k.tile_n = r.integer("tile_n", 1);
      k.k_chunk = r.integer("k_chunk", 8);
    }
    if (k.model == CycleModel::Winograd) k.xform_latency = r.integer("xform_latency", 0);
  }
  if (k.model == CycleModel::Dcf && (64 * k.group_words) % k.lanes != 0)
    r.fail("lanes.value", "AES cores must divide the group of 64 * group_words keys");
  if (k.model == CycleModel::BitSlice && 64 % k.lanes != 0) r.fail("lanes.value", "bit_slice lanes must divide 64");
  k.per_lane = read_resources(r.child("resources_per_lane"));
  k.fixed = read_resources(r.child("resources_fixed"));
  if (r.has("resources_per_row")) k.per_row = read_resources(r.child("resources_per_row"));
  const Reader w = r.child("work_per_element");
  k.work_per_element = r.number("work_per_element");
  k.work_unit = w.text("unit");
  return k;
}

std::map<std::string, KernelSpec> load_kernels(const std::string& data_dir) {
  const std::string dir = data_dir_or_default(data_dir) + "/kernels";
  std::map<std::string, KernelSpec> out;
  for (const std::string& s : stems(dir)) {
    KernelSpec k = load_kernel(dir + "/" + s + ".json");
    const std::string name = k.name;
    if (out.count(name))
      throw DescriptionError("kernel", k.file, "name", "kernel '" + name + "' is described twice (also " + out[name].file + ")");
    out.emplace(name, std::move(k));
  }
  for (const char* need : {"beaver_mul_combine", "matmul_combine", "poly_eval", "trunc", "gmw_and_level", "b2a_combine",
                           "bit_slice", "dcf_eval", "winograd_transform"})
    if (!out.count(need))
      throw PerfModelError(std::string("kernel description '") + need + "' missing: expected " + dir + "/" + need + ".json");
  return out;
}

std::vector<std::string> list_boards(const std::string& data_dir) { return stems(data_dir_or_default(data_dir) + "/boards"); }
std::vector<std::string> list_networks(const std::string& data_dir) {
  return stems(data_dir_or_default(data_dir) + "/networks");
}

Calibration load_calibration(const std::string& path) {
  const json j = read_json("calibration", path);
  Calibration c;
  c.file = path;
  Reader r(j, "calibration", path, "", nullptr);
  if (r.text("format") != "polympc-calibration") r.fail("format", "must be \"polympc-calibration\"");
  auto read_plain = [&](const Reader& rr, const std::string& key) {
    const json& v = rr.at(key);
    if (!v.is_number()) rr.fail(key, "must be a number");
    const double d = v.get<double>();
    if (d < 0) rr.fail(key, "must be >= 0");
    return d;
  };
  if (read_plain(r, "version") != 1) r.fail("version", "unsupported (this build reads version 1)");
  c.backend = r.text("backend");
  c.machine = r.text_or("machine", "");
  c.created = r.text_or("created", "");
  c.threads = static_cast<int>(read_plain(r, "threads"));
  for (const char* section : {"kernels", "protocols"}) {
    const json& s = r.at(section);
    if (!s.is_object()) r.fail(section, "must be an object");
    auto& dst = std::string(section) == "kernels" ? c.kernels : c.protocols;
    for (auto it = s.begin(); it != s.end(); ++it) {
      Reader t(it.value(), "calibration", path, std::string(section) + "." + it.key(), nullptr);
      Timing tm;
      tm.per_call = read_plain(t, "seconds_per_call");
      tm.per_unit = read_plain(t, "seconds_per_unit");
      tm.unit = t.text("unit");
      if (t.has("points")) {
        const json& pts = t.at("points");
        if (!pts.is_array()) t.fail("points", "must be an array of [units, seconds]");
        double prev = -1;
        for (size_t i = 0; i < pts.size(); ++i) {
          const json& q = pts[i];
          if (!q.is_array() || q.size() != 2 || !q[0].is_number() || !q[1].is_number())
            t.fail("points[" + std::to_string(i) + "]", "must be [units, seconds]");
          const double u = q[0].get<double>(), sec = q[1].get<double>();
          if (u <= prev || sec < 0) t.fail("points[" + std::to_string(i) + "]", "units must ascend and seconds be >= 0");
          prev = u;
          tm.points.emplace_back(u, sec);
        }
      }
      dst[it.key()] = tm;
    }
  }
  return c;
}

void save_calibration(const Calibration& c, const std::string& path) {
  json j;
  j["format"] = "polympc-calibration";
  j["version"] = 1;
  j["backend"] = c.backend;
  j["machine"] = c.machine;
  j["created"] = c.created;
  j["threads"] = c.threads;
  j["note"] = "Measured on this machine by `polympc bench calibrate`: seconds = seconds_per_call + "
              "seconds_per_unit * units. kernels: Backend methods (units as KernelCounters::elements), "
              "both parties running at once as in `polympc infer`; protocols: host-side overhead beyond the "
              "kernels (masking, packing, lowering, in-process channel).";
  for (const char* section : {"kernels", "protocols"}) {
    json s = json::object();
    for (auto& [name, t] : std::string(section) == "kernels" ? c.kernels : c.protocols)
    {
      json pts = json::array();
      for (auto& [u, sec] : t.points) pts.push_back({u, sec});
      s[name] = {{"seconds_per_call", t.per_call}, {"seconds_per_unit", t.per_unit}, {"unit", t.unit}, {"points", pts}};
    }
    j[section] = s;
  }
  std::ofstream out(path);
  if (!out) throw PerfModelError("cannot write calibration file " + path);
  out << j.dump(2) << "\n";
  if (!out) throw PerfModelError("failed writing calibration file " + path);
}

}  // namespace polympc::perfmodel
