// The public architecture file (nn/arch_file.h):
//  * save_arch -> load_arch on the shipped model and on a residual network gives the
//    architecture with every parameter zero (field for field what architecture_only gives)
//    and the same architecture hash; the stored model hash is the real model's;
//  * the architecture hash ignores parameter values, the model hash does not;
//  * both hashes follow the serialization the header documents (re-implemented here);
//  * the file holds no parameter value (no float at all, none of the model's weights);
//  * modified, forged, corrupted and foreign files are refused with a ModelError naming
//    the file, the layer and the field.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <climits>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "polympc/mpc/checked.h"
#include "polympc/nn/arch_file.h"
#include "polympc/nn/ir.h"
#include "polympc/nn/onnx.h"
#include "polympc/nn/party.h"
#include "polympc/nn/winograd.h"
#include "ir_compare.h"
#include "test_util.h"

namespace polympc::nn {
namespace {

using Json = nlohmann::ordered_json;
using polympc::testing::error_of;
using polympc::testing::temp_path;

const std::string kShipped = std::string(POLYMPC_SOURCE_DIR) + "/models/fmnist_cnn.onnx";
const std::string kResidual = std::string(POLYMPC_TEST_DATA_DIR) + "/residual.onnx";

// CTest runs each test case as its own process, possibly at the same time: files are named
// after the test and the process.

struct TempFile {
  std::string path;
  explicit TempFile(const std::string& what) : path(temp_path(what)) {}
  ~TempFile() { std::remove(path.c_str()); }
};

std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}


// Expects `f` to throw ModelError with every fragment in its message.
template <class F>
void expect_model_error(F&& f, std::initializer_list<std::string> fragments) {
  polympc::testing::expect_error<ModelError>(f, fragments);
}

bool all_zero(const std::vector<float>& v) {
  for (float x : v)
    if (x != 0.f || std::signbit(x)) return false;
  return true;
}

// ---- the serialization of arch_file.h, re-implemented from its description ----------------

struct Sha {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  Sha() { EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr); }
  ~Sha() { EVP_MD_CTX_free(ctx); }
  void raw(const std::string& s) { EVP_DigestUpdate(ctx, s.data(), s.size()); }
  void u64(uint64_t v) {
    unsigned char b[8];
    for (int k = 0; k < 8; ++k) b[k] = static_cast<unsigned char>(v >> (8 * k));
    EVP_DigestUpdate(ctx, b, 8);
  }
  void str(const std::string& s) {
    u64(s.size());
    raw(s);
  }
  void ints(const Json& a) {
    u64(a.size());
    for (const Json& x : a) u64(static_cast<uint64_t>(x.get<int64_t>()));
  }
  std::string hex() {
    unsigned char md[32];
    unsigned int n = 0;
    EVP_DigestFinal_ex(ctx, md, &n);
    std::string s;
    char b[3];
    for (unsigned k = 0; k < n; ++k) {
      std::snprintf(b, sizeof b, "%02x", md[k]);
      s += b;
    }
    return s;
  }
};

// Architecture hash of the fields an architecture file declares (whatever they are).
std::string spec_architecture_hash(const Json& file) {
  Sha h;
  h.raw("polympc-arch-v1");
  h.ints(file["input_shape"]);
  h.u64(file["layers"].size());
  for (const Json& l : file["layers"]) {
    h.str(l["op"].get<std::string>());
    h.str(l["name"].get<std::string>());
    h.ints(l["inputs"]);
    h.ints(l["weight_shape"]);
    h.u64(l["bias_size"].get<uint64_t>());
    for (const char* k : {"kernel", "stride", "pads"})
      for (const Json& x : l[k]) h.u64(static_cast<uint64_t>(x.get<int64_t>()));
    for (const Json& x : l["poly_sizes"]) h.u64(x.get<uint64_t>());
    h.ints(l["out_shape"]);
    if (l.contains("patches")) {
      h.u64(l["patches"].size());
      for (const Json& x : l["patches"]) h.str(x.get<std::string>());
    }
    if (l.contains("winograd")) {
      h.str("winograd");
      h.u64(static_cast<uint64_t>(l["winograd"].get<int64_t>()));
    }
    for (const char* k : {"ring_bits", "frac_bits"})
      if (l.contains(k)) {
        h.str(k);
        h.u64(static_cast<uint64_t>(l[k].get<int64_t>()));
      }
  }
  if (file.contains("fixed_point"))
    for (const char* k : {"", "bits", "frac", "coef_frac"}) {
      if (*k == 0) {
        h.str("fixed_point");
        continue;
      }
      h.u64(static_cast<uint64_t>(file["fixed_point"][k].get<int64_t>()));
    }
  return h.hex();
}

std::string spec_model_hash(const std::string& arch_hash, const Network& net) {
  Sha h;
  h.raw("polympc-model-v1");
  h.raw(arch_hash);
  for (const Layer& l : net.layers)
    for (const std::vector<float>* v : {&l.weight, &l.bias, &l.poly_a2, &l.poly_a1, &l.poly_a0}) {
      h.u64(v->size());
      for (float f : *v) {
        uint32_t w;
        std::memcpy(&w, &f, 4);
        const unsigned char b[4] = {
            static_cast<unsigned char>(w), static_cast<unsigned char>(w >> 8),
            static_cast<unsigned char>(w >> 16), static_cast<unsigned char>(w >> 24)};
        EVP_DigestUpdate(h.ctx, b, 4);
      }
    }
  return h.hex();
}

// ---- fixtures ----------------------------------------------------------------------------

// The architecture file of the shipped model, as JSON.
Json shipped_file_json() {
  TempFile f("arch.json");
  save_arch(load_onnx(kShipped), f.path);
  return Json::parse(read_text(f.path));
}

// Writes `j` and expects load_arch to refuse it with every fragment (and the path).
void expect_refused(const Json& j, std::initializer_list<std::string> fragments) {
  TempFile f("bad.json");
  polympc::testing::write_file(f.path, j.dump(2));
  expect_model_error([&] { load_arch(f.path); }, {f.path});
  expect_model_error([&] { load_arch(f.path); }, fragments);
}

void expect_text_refused(const std::string& text, std::initializer_list<std::string> fragments) {
  TempFile f("bad.json");
  polympc::testing::write_file(f.path, text);
  expect_model_error([&] { load_arch(f.path); }, {f.path});
  expect_model_error([&] { load_arch(f.path); }, fragments);
}

// `j` with its architecture_hash recomputed: a forged file the hash alone cannot catch.
Json forged(Json j) {
  j["architecture_hash"] = spec_architecture_hash(j);
  return j;
}

// ---- round trips --------------------------------------------------------------------------

class ArchRoundTrip : public ::testing::TestWithParam<std::string> {};

TEST_P(ArchRoundTrip, ArchitectureWithZeroParametersAndTheModelsHashes) {
  const Network net = load_onnx(GetParam());
  TempFile f("arch.json");
  save_arch(net, f.path);
  const ArchFile a = load_arch(f.path);
  const Network& arch = a.arch;

  // Field for field what architecture_only() gives, every parameter a (positive) zero.
  const Network want = architecture_only(net);
  polympc::testing::expect_same_ir(arch, want);
  for (size_t i = 0; i < arch.layers.size(); ++i) {
    const Layer& x = arch.layers[i];
    SCOPED_TRACE("layer " + std::to_string(i) + " " + x.name);
    EXPECT_EQ(x.inputs, want.layers[i].inputs);
    EXPECT_EQ(x.out_shape, net.layers[i].out_shape);
    for (const std::vector<float>* v : {&x.weight, &x.bias, &x.poly_a2, &x.poly_a1, &x.poly_a0})
      EXPECT_TRUE(all_zero(*v));
  }

  EXPECT_EQ(a.architecture_hash, architecture_hash(net));
  EXPECT_EQ(architecture_hash(arch), architecture_hash(net));
  EXPECT_EQ(a.model_hash, model_hash(net));
  EXPECT_NE(model_hash(arch), model_hash(net));
  EXPECT_EQ(model_hash(arch), model_hash(architecture_only(net)));

  // Deterministic: the same network writes the same bytes.
  TempFile g("again.json");
  save_arch(net, g.path);
  EXPECT_EQ(read_text(f.path), read_text(g.path));
}

INSTANTIATE_TEST_SUITE_P(Models, ArchRoundTrip, ::testing::Values(kShipped, kResidual),
                         [](const ::testing::TestParamInfo<std::string>& p) {
                           return p.param == kShipped ? std::string("ShippedModel")
                                                      : std::string("Residual");
                         });

TEST(ArchFile, ResidualKeepsItsSkipConnection) {
  const Network net = load_onnx(kResidual);
  TempFile f("arch.json");
  save_arch(net, f.path);
  const Network arch = load_arch(f.path).arch;
  size_t adds = 0;
  for (size_t i = 0; i < arch.layers.size(); ++i)
    if (arch.layers[i].op == OpKind::Add) {
      ++adds;
      ASSERT_EQ(arch.producers(i).size(), 2u);
      EXPECT_EQ(arch.producers(i), net.producers(i));
    }
  EXPECT_GE(adds, 1u) << "tests/data/residual.onnx should hold an Add";
}

// ---- hashes -------------------------------------------------------------------------------

TEST(ArchHash, WeightsChangeTheModelHashOnly) {
  const Network net = load_onnx(kShipped);
  const std::string ah = architecture_hash(net);
  const std::string mh = model_hash(net);
  ASSERT_EQ(ah.size(), 64u);
  ASSERT_EQ(mh.size(), 64u);
  EXPECT_NE(ah, mh);
  EXPECT_EQ(architecture_hash(net), ah) << "not deterministic";

  const auto changed = [&](const std::function<void(Network&)>& edit) {
    Network n = net;
    edit(n);
    return std::make_pair(architecture_hash(n), model_hash(n));
  };
  // One parameter value of each kind: the model hash changes, the architecture's does not.
  const std::vector<std::function<void(Network&)>> param_edits = {
      [](Network& n) { n.layers[0].weight[7] += 1e-3f; },
      [](Network& n) { n.layers[0].bias[0] += 0.5f; },
      [](Network& n) { n.layers[1].poly_a2[3] += 0.5f; },
      [](Network& n) { n.layers[1].poly_a0[0] += 0.25f; },
      [](Network& n) {
        n.layers.back().weight.back() = std::nextafter(n.layers.back().weight.back(), 1.f);
      },
  };
  for (size_t k = 0; k < param_edits.size(); ++k) {
    SCOPED_TRACE("parameter edit " + std::to_string(k));
    const auto [a, m] = changed(param_edits[k]);
    EXPECT_EQ(a, ah);
    EXPECT_NE(m, mh);
  }
  // The network's own name changes no computation: neither hash moves.
  const auto [a_name, m_name] = changed([](Network& n) { n.name = "renamed"; });
  EXPECT_EQ(a_name, ah);
  EXPECT_EQ(m_name, mh);
  // A layer name, a coefficient count or a bias's presence is architecture: both move.
  for (const auto& edit : std::vector<std::function<void(Network&)>>{
           [](Network& n) { n.layers[3].name = "conv2b"; },
           [](Network& n) { n.layers[1].poly_a1.resize(1); },  // per channel -> scalar
           [](Network& n) { n.layers[3].bias.clear(); }}) {
    const auto [a, m] = changed(edit);
    EXPECT_NE(a, ah);
    EXPECT_NE(m, mh);
  }
}

const std::string kQat = std::string(POLYMPC_SOURCE_DIR) + "/models/fmnist_pasnet_lambda0_qat.onnx";

TEST(ArchHash, FollowsTheDocumentedSerialization) {
  for (const std::string& model : {kShipped, kResidual, kQat}) {
    SCOPED_TRACE(model);
    const Network net = load_onnx(model);
    TempFile f("arch.json");
    save_arch(net, f.path);
    const Json j = Json::parse(read_text(f.path));
    EXPECT_EQ(spec_architecture_hash(j), architecture_hash(net));
    EXPECT_EQ(spec_model_hash(architecture_hash(net), net), model_hash(net));
    EXPECT_EQ(j["architecture_hash"], architecture_hash(net));
    EXPECT_EQ(j["model_hash"], model_hash(net));
  }
}

// ---- the fixed point a model was made for -----------------------------------------------------

// The QAT model records l = 34, f = 6 and its coefficient scale (ONNX metadata): the
// architecture file carries them, hashed, so that the dealer and the client run at them.
TEST(ArchFileFixedPoint, WrittenReadBackAndHashed) {
  const Network net = load_onnx(kQat);
  ASSERT_TRUE(net.fixed_point.recorded());
  EXPECT_EQ(net.fixed_point.bits, 34);
  EXPECT_EQ(net.fixed_point.frac, 6);
  EXPECT_GE(net.fixed_point.coef_frac, 0);
  TempFile f("arch.json");
  save_arch(net, f.path);
  const Json j = Json::parse(read_text(f.path));
  EXPECT_EQ(j["fixed_point"]["bits"], 34);
  EXPECT_EQ(j["fixed_point"]["frac"], 6);
  const ArchFile a = load_arch(f.path);
  EXPECT_TRUE(a.arch.fixed_point == net.fixed_point);
  EXPECT_EQ(a.architecture_hash, architecture_hash(net));
  EXPECT_EQ(a.model_hash, model_hash(net));
  // Part of the architecture: another recorded fixed point is another hash; none recorded
  // writes no field and leaves the hash of before.
  Network other = net;
  other.fixed_point.frac = 7;
  EXPECT_NE(architecture_hash(other), architecture_hash(net));
  Network none = net;
  none.fixed_point = FixedPoint{};
  TempFile g("none.json");
  save_arch(none, g.path);
  EXPECT_EQ(read_text(g.path).find("fixed_point"), std::string::npos);
  EXPECT_EQ(spec_architecture_hash(Json::parse(read_text(g.path))), architecture_hash(none));
  EXPECT_FALSE(load_arch(g.path).arch.fixed_point.recorded());
  EXPECT_FALSE(load_onnx(kShipped).fixed_point.recorded());
}

TEST(ArchFileFixedPoint, BadValuesAreRefused) {
  TempFile f("arch.json");
  save_arch(load_onnx(kQat), f.path);
  const Json good = Json::parse(read_text(f.path));
  Json j = good;
  j["fixed_point"]["frac"] = 60;
  expect_refused(forged(j), {"field 'fixed_point'", "frac", "60", "[1, 48]"});
  j = good;
  j["fixed_point"]["bits"] = 4;
  expect_refused(forged(j), {"field 'fixed_point'", "bits", "[8, 64]"});
  j = good;
  j["fixed_point"]["coef_frac"] = "14";
  expect_refused(j, {"field 'fixed_point'", "coef_frac", "expected an integer"});
  j = good;
  j["fixed_point"].erase("frac");
  expect_refused(j, {"field 'fixed_point'", "missing field 'frac'"});
  j = good;
  j["fixed_point"]["scale"] = 3;
  expect_refused(j, {"field 'fixed_point'", "unknown field 'scale'"});
  j = good;
  j["fixed_point"] = 34;
  expect_refused(j, {"field 'fixed_point'", "expected an object"});
  // Changed without its hash: the file was modified.
  j = good;
  j["fixed_point"]["frac"] = 8;
  expect_refused(j, {"architecture_hash", "does not match"});
  // The ONNX metadata is checked the same way.
  expect_model_error([] { fixed_point_of({{kFracMetadata, "6x"}}, "m.onnx"); }, {"m.onnx", "polympc.frac", "6x"});
  expect_model_error([] { fixed_point_of({{kBitsMetadata, "128"}}, "m.onnx"); }, {"polympc.bits", "[8, 64]"});
  EXPECT_TRUE(fixed_point_of({{kBitsMetadata, "34"}, {kFracMetadata, "6"}}, "m.onnx") == (FixedPoint{34, 6, -1}));
}

// ---- Winograd forms ------------------------------------------------------------------------

// tests/data/cnn_view.onnx has one 3x3 stride-1 conv (/conv1/Conv) and a second one
// (/conv2/Conv): both may take a Winograd form.
const std::string kCnnView = std::string(POLYMPC_TEST_DATA_DIR) + "/cnn_view.onnx";

TEST(ArchFileWinograd, TheFormsAreWrittenReadBackAndHashed) {
  const Network direct = load_onnx(kCnnView);
  Network net = direct;
  ASSERT_EQ(set_winograd(net, "/conv1/Conv=4,/conv2/Conv=2"), 2);
  TempFile f("arch.json");
  save_arch(net, f.path);
  const Json j = Json::parse(read_text(f.path));
  int seen = 0;
  for (const Json& l : j["layers"]) {
    if (l["name"] == "/conv1/Conv") {
      EXPECT_EQ(l["winograd"], 4);
      ++seen;
    }
    if (l["name"] == "/conv2/Conv") {
      EXPECT_EQ(l["winograd"], 2);
      ++seen;
    }
    if (l["op"] != "Conv") {
      EXPECT_FALSE(l.contains("winograd"));
    }
  }
  EXPECT_EQ(seen, 2);
  const ArchFile a = load_arch(f.path);
  for (size_t i = 0; i < net.layers.size(); ++i) EXPECT_EQ(a.arch.layers[i].winograd, net.layers[i].winograd);
  // The forms are part of the architecture: hashes differ from the direct form's, follow
  // the documented serialization, and the direct form's file has no "winograd" field.
  EXPECT_NE(architecture_hash(net), architecture_hash(direct));
  EXPECT_NE(model_hash(net), model_hash(direct));
  EXPECT_EQ(spec_architecture_hash(j), architecture_hash(net));
  EXPECT_EQ(a.model_hash, model_hash(net));
  TempFile g("direct.json");
  save_arch(direct, g.path);
  EXPECT_EQ(read_text(g.path).find("winograd"), std::string::npos);
}

TEST(ArchFileWinograd, BadFormsAreRefused) {
  Network net = load_onnx(kCnnView);
  set_winograd(net, "/conv1/Conv=2");
  TempFile f("arch.json");
  save_arch(net, f.path);
  const Json good = Json::parse(read_text(f.path));
  size_t conv = 0, relu = 0;
  for (size_t i = 0; i < good["layers"].size(); ++i) {
    if (good["layers"][i]["name"] == "/conv1/Conv") conv = i;
    if (good["layers"][i]["op"] == "Relu" && relu == 0) relu = i;
  }
  ASSERT_GT(relu, 0u);
  Json j = good;
  j["layers"][conv]["winograd"] = 3;
  expect_refused(forged(j), {"field 'winograd'", "expected 2 or 4"});
  j = good;
  j["layers"][conv]["winograd"] = "4";  // refused while parsing, before the hash is checked
  expect_refused(j, {"field 'winograd'", "expected an integer"});
  j = good;
  j["layers"][relu]["winograd"] = 2;
  expect_refused(forged(j), {"unknown field 'winograd'"});
  // A 5x5 conv of the shipped model cannot take the form: shape inference names it.
  Json s = shipped_file_json();
  ASSERT_EQ(s["layers"][0]["name"], "conv1");
  s["layers"][0]["winograd"] = 2;
  expect_refused(forged(s), {"conv1", "3x3"});
  // "auto" depends on the ring: set_winograd (export-arch) refuses it.
  const std::string e = error_of([&] { set_winograd(net, "auto"); });
  EXPECT_NE(e.find("explicitly"), std::string::npos) << e;
}

// ---- the file holds no parameter value ------------------------------------------------------

// Every number in `j` (recursively), and whether any is not an integer.
void collect(const Json& j, std::vector<std::string>& keys, bool& any_float) {
  if (j.is_number_float()) any_float = true;
  if (j.is_object())
    for (auto it = j.begin(); it != j.end(); ++it) {
      keys.push_back(it.key());
      collect(it.value(), keys, any_float);
    }
  if (j.is_array())
    for (const Json& x : j) collect(x, keys, any_float);
}

TEST(ArchFile, HoldsNoParameterValue) {
  const Network net = load_onnx(kShipped);
  TempFile f("arch.json");
  save_arch(net, f.path);
  const std::string text = read_text(f.path);
  // 10 layers of shapes and options: a few kB, against 80,634 float32 parameters (315 KiB).
  EXPECT_LT(text.size(), 4096u);
  EXPECT_GT(text.size(), 500u);

  std::vector<std::string> keys;
  bool any_float = false;
  collect(Json::parse(text), keys, any_float);
  EXPECT_FALSE(any_float) << "the file holds a non-integer number";
  for (const std::string& k : keys)
    for (const char* p : {"weight", "bias", "poly_a2", "poly_a1", "poly_a0"}) EXPECT_NE(k, p);

  // None of conv1's weights, nor the polynomial's coefficients, in any usual spelling.
  std::vector<float> probe = net.layers[0].weight;
  ASSERT_EQ(probe.size(), 400u);
  for (const auto* v : {&net.layers[0].bias, &net.layers[1].poly_a2, &net.layers[1].poly_a1})
    probe.insert(probe.end(), v->begin(), v->end());
  size_t checked = 0;
  for (float w : probe) {
    char b[3][48];
    std::snprintf(b[0], sizeof b[0], "%.9g", static_cast<double>(w));
    std::snprintf(b[1], sizeof b[1], "%g", static_cast<double>(w));
    std::snprintf(b[2], sizeof b[2], "%.4f", static_cast<double>(w));
    for (const std::string& str :
         {std::string(b[0]), std::string(b[1]), std::string(b[2]), nlohmann::json(w).dump()}) {
      if (str.find_first_of(".e") == std::string::npos) continue;  // "1", "0": not distinctive
      ++checked;
      EXPECT_EQ(text.find(str), std::string::npos) << "parameter " << str << " in the file";
    }
  }
  EXPECT_GT(checked, 1000u);
}

// ---- refused files ---------------------------------------------------------------------------

TEST(ArchFileRefused, ChangedWithoutItsHash) {
  Json j = shipped_file_json();
  ASSERT_EQ(j["layers"][2]["name"], "pool1");
  j["layers"][2]["kernel"] = {3, 3};
  expect_refused(j, {"architecture_hash", "does not match", "modified or corrupted"});
  Json k = shipped_file_json();
  k["layers"][0]["name"] = "conv1x";
  expect_refused(k, {"architecture_hash", "does not match"});
  Json s = shipped_file_json();
  s["input_shape"] = {1, 32, 32};
  expect_refused(s, {"architecture_hash", "does not match"});
}

TEST(ArchFileRefused, HugeAndNegativeDimensions) {
  const std::string big = std::to_string(mpc::kMaxTensorElements);
  Json j = shipped_file_json();
  j["layers"][0]["weight_shape"] = {int64_t{1} << 32, int64_t{1} << 32, 5, 5};
  expect_refused(j, {"layer 0 'conv1'", "field 'weight_shape'", "exceeds the limit", big});
  j = shipped_file_json();
  j["layers"][7]["weight_shape"] = {INT64_MAX, INT64_MAX};
  expect_refused(j, {"layer 7 'fc1'", "field 'weight_shape'", "exceeds the limit"});
  j = shipped_file_json();
  j["input_shape"] = {1, 1 << 20, 1 << 20};
  expect_refused(j, {"field 'input_shape'", "exceeds the limit"});
  j = shipped_file_json();
  j["layers"][5]["out_shape"] = {uint64_t{1} << 63, 1, 1};  // beyond int64
  expect_refused(j, {"layer 5 'pool2'", "field 'out_shape'", "too large"});
  j = shipped_file_json();
  j["layers"][0]["bias_size"] = int64_t{1} << 40;
  expect_refused(j, {"layer 0 'conv1'", "field 'bias_size'"});
  j = shipped_file_json();
  j["layers"][1]["poly_sizes"] = {16, int64_t{1} << 33, 16};
  expect_refused(j, {"layer 1 'act1'", "field 'poly_sizes'"});
  // Parameters are held as zeros by whoever loads the file: their total is bounded too.
  j = shipped_file_json();
  j["layers"][7]["weight_shape"] = {int64_t{1} << 27, 1};
  j["layers"][9]["weight_shape"] = {int64_t{1} << 27, 2};
  expect_refused(j, {"layer 9 'fc2'", "parameters of the network so far", "exceeds the limit"});

  j = shipped_file_json();
  j["input_shape"] = {-1, 28, 28};
  expect_refused(j, {"field 'input_shape'", "dimension 0 is -1"});
  j = shipped_file_json();
  j["layers"][3]["weight_shape"] = {32, 16, -5, 5};
  expect_refused(j, {"layer 3 'conv2'", "field 'weight_shape'", "dimension 2 is -5"});
  j = shipped_file_json();
  j["layers"][2]["out_shape"] = {16, 0, 12};
  expect_refused(j, {"layer 2 'pool1'", "field 'out_shape'", "dimension 1 is 0"});
  j = shipped_file_json();
  j["layers"][2]["pads"] = {0, -1, 0, 0};
  expect_refused(j, {"layer 2 'pool1'", "field 'pads'"});
  j = shipped_file_json();
  j["layers"][2]["stride"] = {0, 2};
  expect_refused(j, {"layer 2 'pool1'", "field 'stride'"});
  j = shipped_file_json();
  j["layers"][2]["kernel"] = {2, int64_t{1} << 31};
  expect_refused(j, {"layer 2 'pool1'", "field 'kernel'"});
  j = shipped_file_json();
  j["layers"][0]["bias_size"] = -16;
  expect_refused(j, {"layer 0 'conv1'", "field 'bias_size'"});
}

TEST(ArchFileRefused, InputIndices) {
  Json j = shipped_file_json();
  j["layers"][1]["inputs"] = {5};  // forward
  expect_refused(j, {"layer 1 'act1'", "field 'inputs'", "input index 5", "earlier layer"});
  j = shipped_file_json();
  j["layers"][1]["inputs"] = {1};  // itself
  expect_refused(j, {"layer 1 'act1'", "field 'inputs'", "input index 1"});
  j = shipped_file_json();
  j["layers"][4]["inputs"] = {1000};
  expect_refused(j, {"layer 4 'act2'", "field 'inputs'", "input index 1000"});
  j = shipped_file_json();
  j["layers"][4]["inputs"] = {-2};
  expect_refused(j, {"layer 4 'act2'", "field 'inputs'", "input index -2"});
  j = shipped_file_json();
  j["layers"][4]["inputs"] = Json::array();
  expect_refused(j, {"layer 4 'act2'", "field 'inputs'"});
  j = shipped_file_json();
  j["layers"][4]["inputs"] = {1, 2, 3};
  expect_refused(j, {"layer 4 'act2'", "field 'inputs'", "at most 2"});
}

TEST(ArchFileRefused, UnknownOpFormatAndVersion) {
  Json j = shipped_file_json();
  j["layers"][4]["op"] = "Softmax";
  expect_refused(j, {"layer 4 'act2'", "field 'op'", "unknown op 'Softmax'", "Relu"});
  j = shipped_file_json();
  j["format"] = "onnx";
  expect_refused(j, {"not an architecture file", "polympc-arch"});
  j = shipped_file_json();
  j.erase("format");
  expect_refused(j, {"not an architecture file", "missing"});
  j = shipped_file_json();
  j["version"] = 2;
  expect_refused(j, {"version 2 is not supported", "reads version 1"});
  j = shipped_file_json();
  j["version"] = "1";
  expect_refused(j, {"field 'version'", "expected an integer"});
  expect_text_refused("[1, 2, 3]", {"not an architecture file", "array"});
}

TEST(ArchFileRefused, NotJsonTruncatedOrTooLarge) {
  expect_text_refused("this is not JSON", {"not a valid JSON file"});
  expect_text_refused("", {"not a valid JSON file"});
  // Truncated: cut at every tenth of the file.
  TempFile good("arch.json");
  save_arch(load_onnx(kShipped), good.path);
  const std::string text = read_text(good.path);
  for (size_t k = 1; k < 10; ++k) {
    SCOPED_TRACE("cut at " + std::to_string(k * text.size() / 10));
    expect_text_refused(text.substr(0, k * text.size() / 10), {"not a valid JSON file"});
  }
  // The ONNX model itself.
  expect_model_error([&] { load_arch(kShipped); }, {kShipped, "not a valid JSON file"});
  // Nested deeper than the format.
  expect_text_refused(std::string(100000, '[') + std::string(100000, ']'), {"nested deeper"});
  // Larger than the limit (a sparse file; refused before parsing).
  TempFile big("big.json");
  polympc::testing::write_file(big.path, "{");
  std::filesystem::resize_file(big.path, kMaxArchFileBytes + 1);
  expect_model_error([&] { load_arch(big.path); }, {big.path, "larger than the limit"});
  expect_model_error([&] { load_arch(temp_path("missing.json")); },
                     {"cannot open", "missing.json"});
}

TEST(ArchFileRefused, ParameterValuesAndUnknownFields) {
  Json j = shipped_file_json();
  j["layers"][0]["weight"] = Json::array({0.1, -0.2, 0.3});
  expect_refused(j, {"layer 0 'conv1'", "field 'weight'", "parameter values", "never"});
  j = shipped_file_json();
  j["layers"][1]["poly_a2"] = Json::array({0.005});
  expect_refused(j, {"layer 1 'act1'", "field 'poly_a2'", "parameter values"});
  j = shipped_file_json();
  j["weights"] = Json::object();
  expect_refused(j, {"field 'weights'", "parameter values"});
  j = shipped_file_json();
  j["layers"][3]["dilation"] = {1, 1};
  expect_refused(j, {"layer 3 'conv2'", "unknown field 'dilation'"});
  j = shipped_file_json();
  j["layers"][3].erase("stride");
  expect_refused(j, {"layer 3 'conv2'", "missing field 'stride'"});
  j = shipped_file_json();
  j["layers"][2]["kernel"] = {2.5, 2};
  expect_refused(j, {"layer 2 'pool1'", "field 'kernel'", "expected an integer", "2.5"});
  j = shipped_file_json();
  j["layers"][2]["kernel"] = {2};
  expect_refused(j, {"layer 2 'pool1'", "field 'kernel'", "expected 2 integers"});
  j = shipped_file_json();
  j["layers"][2]["name"] = 7;
  expect_refused(j, {"layer 2", "field 'name'", "expected a string"});
  j = shipped_file_json();
  j["layers"][4]["name"] = "conv2";
  expect_refused(j, {"layer 4 'conv2'", "duplicate layer name (also layer 3)"});
  j = shipped_file_json();
  j["model_hash"] = "not-a-hash";
  expect_refused(j, {"field 'model_hash'", "64 lowercase hex"});
  j = shipped_file_json();
  j["layers"] = Json::array();
  expect_refused(j, {"field 'layers'", "no layers"});
}

// Files whose architecture_hash was recomputed by whoever changed them: the hash cannot
// catch these, the checks of the architecture itself must.
TEST(ArchFileRefused, ForgedButInconsistent) {
  Json j = shipped_file_json();
  ASSERT_EQ(forged(j)["architecture_hash"], j["architecture_hash"]);  // the spec is right
  // conv1 claims a 1x1 kernel with its 5x5 weight.
  j["layers"][0]["kernel"] = {1, 1};
  expect_refused(forged(j), {"layer 0 'conv1'", "field 'kernel' is [1, 1]", "gives [5, 5]"});
  // pool1 claims an output its input and window do not give.
  j = shipped_file_json();
  j["layers"][2]["out_shape"] = {16, 13, 13};
  expect_refused(forged(j),
                 {"layer 2 'pool1'", "field 'out_shape' is [16, 13, 13]", "gives [16, 12, 12]"});
  // conv2 expects 8 input channels: infer_shapes' message, with the right layer number.
  j = shipped_file_json();
  j["layers"][3]["weight_shape"] = {32, 8, 5, 5};
  expect_refused(forged(j), {"layer 3 'conv2' (Conv)", "weight expects 8 input channels"});
  // An Add of two different shapes.
  j = shipped_file_json();
  j["layers"][4]["op"] = "Add";
  j["layers"][4]["inputs"] = {3, 2};
  expect_refused(forged(j), {"layer 4 'act2' (Add)", "input shapes differ"});
  // A Relu fed by two layers.
  j = shipped_file_json();
  j["layers"][4]["inputs"] = {3, 3};
  expect_refused(forged(j), {"layer 4 'act2'", "takes 1 input(s), got 2"});

  // Shapes that grow past every limit through padding while the file declares small ones:
  // refused at the first layer whose real output is too large, before any later layer
  // multiplies it (an unchecked product would overflow int64).
  Json g = Json::parse(R"({"format": "polympc-arch", "version": 1,
    "architecture_hash": "", "model_hash": "", "input_shape": [1, 1, 1], "layers": [
    {"name": "c", "op": "Conv", "inputs": [-1], "weight_shape": [1, 1, 1, 1], "bias_size": 0,
     "kernel": [1, 1], "stride": [1, 1], "pads": [2147483647, 2147483647, 2147483647, 2147483647],
     "poly_sizes": [0, 0, 0], "out_shape": [1, 1, 1]},
    {"name": "f", "op": "Flatten", "inputs": [0], "weight_shape": [], "bias_size": 0,
     "kernel": [1, 1], "stride": [1, 1], "pads": [0, 0, 0, 0], "poly_sizes": [0, 0, 0],
     "out_shape": [1]}]})");
  g["model_hash"] = std::string(64, '0');
  expect_refused(forged(g), {"layer 0 'c'", "output shape", "exceeds the limit"});
}

// ---- writing ---------------------------------------------------------------------------------

TEST(ArchFileSave, RefusesWhatCannotBeLoadedAndReportsIoErrors) {
  const Network net = load_onnx(kShipped);
  expect_model_error([&] { save_arch(net, "/nonexistent-dir/arch.json"); },
                     {"cannot write architecture file", "/nonexistent-dir/arch.json"});
  Network bad = net;
  bad.layers[3].weight.pop_back();
  expect_model_error(
      [&] { save_arch(bad, temp_path("bad.json")); },
      {"cannot write architecture file", "layer 3 'conv2'", "weight has 12799 values"});
  // An output larger than load_arch accepts.
  Network wide;
  wide.input_shape = {1, 1, 1};
  Layer c;
  c.name = "c";
  c.op = OpKind::Conv;
  c.weight_shape = {1, 1, 1, 1};
  c.weight = {1.f};
  c.pad_top = c.pad_bottom = c.pad_left = c.pad_right = 1 << 20;
  wide.layers.push_back(c);
  expect_model_error(
      [&] { save_arch(wide, temp_path("wide.json")); },
      {"cannot write architecture file", "layer 0 'c'", "output shape", "exceeds the limit"});
  EXPECT_FALSE(std::filesystem::exists(temp_path("wide.json")));
}

TEST(ArchFileSave, ReplacesAnExistingFileAndLeavesNoTemporary) {
  const std::string dir = temp_path("dir");
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/arch.json";
  polympc::testing::write_file(path, "old contents");
  save_arch(load_onnx(kResidual), path);
  save_arch(load_onnx(kShipped), path);
  EXPECT_EQ(load_arch(path).architecture_hash, architecture_hash(load_onnx(kShipped)));
  size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    ++files;
    EXPECT_EQ(e.path().filename(), "arch.json");
  }
  EXPECT_EQ(files, 1u);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace polympc::nn
