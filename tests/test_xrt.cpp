// XRT host driver on XRT's noop device (docs/design.md §8, issue #5): the metadata-only xclbin
// and the v++ link configuration describe the same kernels; every XrtBackend method, run
// through the real XRT API with the device model executing the kernel tops on the mapped
// BOs, equals SimBackend bit for bit (also split into many launches with several runs in
// flight), counters included; a 2PC inference of 20 real Fashion-MNIST images through XRT
// gives the logits of --backend sim; and every way an xclbin or a device can be wrong is a
// typed error naming the file, kernel, argument or index.
//
// Needs the noop environment that CTest sets (XILINX_XRT=<build>/xrt-noop,
// XCL_EMULATION_MODE=noop, see tests/CMakeLists.txt); run by hand without it, it skips.
// main() ends the process without static destruction: Debian's XRT 2.13 can deadlock at
// exit in xrt_core::kds::stop() joining its command-monitor thread (seen about once in
// 500 short runs on a loaded machine; the tests themselves had passed).
#include <gtest/gtest.h>
#include <unistd.h>

#include <experimental/xrt_xclbin.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/dcf_eval.h"
#include "polympc/mpc/allocator.h"
#include "polympc/host/errors.h"
#include "polympc/host/xclbin_writer.h"
#include "polympc/host/xrt_backend.h"
#include "polympc/host/xrt_info.h"
#include "polympc/mpc/dcf.h"
#include "polympc/mpc/prg.h"
#include "polympc/nn/dataset.h"
#include "polympc/nn/inference.h"
#include "polympc/nn/onnx.h"
#include "polympc/nn/winograd.h"
#include "polympc/sim/sim_backend.h"

using namespace polympc;
using mpc::Words;

namespace {

const std::string kNoopXclbin = POLYMPC_NOOP_XCLBIN;
const std::string kScratch = std::string(POLYMPC_BINARY_DIR) + "/tests/xrt_scratch";

bool noop_environment() {
  const char* mode = std::getenv("XCL_EMULATION_MODE");
  return mode && std::string(mode) == "noop";
}

#define REQUIRE_NOOP()                                                                              \
  do {                                                                                              \
    if (!noop_environment())                                                                        \
      GTEST_SKIP() << "XRT noop environment not set (run through CTest, which sets XILINX_XRT and " \
                      "XCL_EMULATION_MODE=noop)";                                                   \
  } while (0)

std::string scratch(const std::string& name) {
  std::filesystem::create_directories(kScratch);
  return kScratch + "/" + name;
}

host::XrtOptions noop_options(size_t max_batch = 0) {
  host::XrtOptions o;
  o.xclbin = kNoopXclbin;
  o.max_batch = max_batch;
  return o;
}

/// Runs f and returns the error it throws (fails the test when it throws nothing or
/// something else).
template <class E>
E expect_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const E& e) {
    return e;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
    throw;
  }
  ADD_FAILURE() << "no exception";
  throw std::runtime_error("no exception");
}

Words random_words(std::mt19937_64& g, size_t n) {
  Words v(n);
  for (auto& x : v) x = g();
  return v;
}

// ---- the xclbin and the link configuration ------------------------------------------------

TEST(XrtXclbin, NoopXclbinDescribesEveryKernelOfTheDescription) {
  const xrt::xclbin xb(kNoopXclbin);
  const auto want = host::described_kernels();
  ASSERT_EQ(xb.get_kernels().size(), want.size());
  for (const host::KernelDesc& k : want) {
    const xrt::xclbin::kernel xk = xb.get_kernel(k.name);
    ASSERT_TRUE(bool(xk)) << k.name;
    EXPECT_EQ(xk.get_cus().size(), k.compute_units) << k.name;
    const auto args = xk.get_args();
    ASSERT_EQ(args.size(), k.args.size()) << k.name;
    for (size_t i = 0; i < args.size(); ++i) {
      EXPECT_EQ(args[i].get_name(), k.args[i].name) << k.name;
      EXPECT_EQ(args[i].get_index(), i) << k.name;
      EXPECT_EQ(args[i].get_host_type(), k.args[i].type) << k.name;
      EXPECT_EQ(args[i].get_size(), k.args[i].size) << k.name;
      // Buffers are connected to exactly one memory bank, scalars to none.
      EXPECT_EQ(args[i].get_mems().size(), k.args[i].is_buffer() ? 1u : 0u) << k.name << " " << k.args[i].name;
    }
  }
  EXPECT_TRUE(host::inspect_xclbin(kNoopXclbin).usable);
}

TEST(XrtXclbin, LinkConfigurationAndNoopXclbinCannotDrift) {
  // Every nk/sp line of the generated v++ config against the xclbin's CUs and buffers.
  std::ifstream f(POLYMPC_VPP_CONFIG);
  ASSERT_TRUE(f.good()) << POLYMPC_VPP_CONFIG;
  const xrt::xclbin xb(kNoopXclbin);
  std::set<std::string> cfg_cus, cfg_sp, xb_cus, xb_sp;
  const std::regex nk("^nk=([A-Za-z0-9_]+):([0-9]+):(.*)$"), sp("^sp=([A-Za-z0-9_]+)\\.([A-Za-z0-9_]+):(.*)$");
  std::string line, memory;
  std::smatch m;
  while (std::getline(f, line)) {
    if (std::regex_match(line, m, nk)) {
      std::stringstream names(m[3].str());
      std::string cu;
      size_t count = 0;
      while (std::getline(names, cu, '.')) {
        cfg_cus.insert(m[1].str() + ":" + cu);
        ++count;
      }
      EXPECT_EQ(count, std::stoul(m[2].str())) << line;
    } else if (std::regex_match(line, m, sp)) {
      cfg_sp.insert(m[1].str() + "." + m[2].str());
      memory = m[3].str();
    }
  }
  for (const auto& k : xb.get_kernels()) {
    for (const auto& cu : k.get_cus()) {
      xb_cus.insert(cu.get_name());
      const std::string inst = cu.get_name().substr(cu.get_name().find(':') + 1);
      for (const auto& a : k.get_args())
        if (!a.get_mems().empty()) {
          xb_sp.insert(inst + "." + a.get_name());
          EXPECT_EQ(a.get_mems()[0].get_tag(), memory) << a.get_name();
        }
    }
  }
  EXPECT_FALSE(cfg_cus.empty());
  EXPECT_EQ(cfg_cus, xb_cus);
  EXPECT_EQ(cfg_sp, xb_sp);
}

TEST(XrtXclbin, WriterIsDeterministicAndTheUuidFollowsTheContent) {
  const auto kernels = host::described_kernels();
  EXPECT_EQ(host::make_metadata_xclbin(kernels), host::make_metadata_xclbin(kernels));
  auto other = kernels;
  other[0].args[0].name = "party_renamed";
  const std::string a = scratch("same.xclbin"), b = scratch("other.xclbin");
  host::MetadataXclbinOptions opt;  // as the build wrote the noop xclbin (POLYMPC_VPP_MEMORY)
  opt.memory_tag = xrt::xclbin(kNoopXclbin).get_mems().at(0).get_tag();
  host::write_metadata_xclbin(a, kernels, opt);
  host::write_metadata_xclbin(b, other, opt);
  EXPECT_NE(xrt::xclbin(a).get_uuid().to_string(), xrt::xclbin(b).get_uuid().to_string());
  EXPECT_EQ(xrt::xclbin(a).get_uuid().to_string(), xrt::xclbin(kNoopXclbin).get_uuid().to_string());
  EXPECT_THROW(host::make_metadata_xclbin({}), host::XclbinError);
}

// ---- every Backend method: xrt == sim, bit for bit -----------------------------------------

/// A pair of backends with the same launch bounds; the xrt one through the noop device.
struct Pair {
  explicit Pair(size_t max_batch = 0, size_t max_channels = 0) {
    sim::SimOptions so;
    so.max_batch = max_batch;
    so.max_channels = max_channels;
    sim = std::make_unique<sim::SimBackend>(so);
    host::XrtOptions xo = noop_options(max_batch);
    xo.max_channels = max_channels;
    xrt = std::make_unique<host::XrtBackend>(xo);
  }
  void expect_same_counters() const {
    const auto a = sim->counters(), b = xrt->counters();
    ASSERT_EQ(a.size(), b.size());
    for (const auto& [name, c] : a) {
      ASSERT_TRUE(b.count(name)) << name;
      EXPECT_EQ(b.at(name).calls, c.calls) << name;
      EXPECT_EQ(b.at(name).elements, c.elements) << name;
      EXPECT_EQ(b.at(name).modelled_cycles, c.modelled_cycles) << name;
    }
  }
  std::unique_ptr<sim::SimBackend> sim;
  std::unique_ptr<host::XrtBackend> xrt;
};

class XrtVsSim : public ::testing::TestWithParam<size_t> {};

TEST_P(XrtVsSim, EveryMethodEqualsSimBitForBit) {
  REQUIRE_NOOP();
  const size_t max_batch = GetParam();
  Pair p(max_batch, max_batch == 0 ? 0 : 3);
  ASSERT_TRUE(p.xrt->device_model_active());
  std::mt19937_64 g(11 + max_batch);
  const size_t n = 1000;  // odd sizes: partial lane groups and partial last launches
  for (int party = 0; party < 2; ++party) {
    for (int bits : {64, 37}) {
      SCOPED_TRACE("party " + std::to_string(party) + ", bits " + std::to_string(bits));
      Words d = random_words(g, n), e = random_words(g, n), a = random_words(g, n), b = random_words(g, n),
            c = random_words(g, n), z0(n), z1(n);
      p.sim->beaver_mul_combine(party, bits, n, d.data(), e.data(), a.data(), b.data(), c.data(), z0.data());
      p.xrt->beaver_mul_combine(party, bits, n, d.data(), e.data(), a.data(), b.data(), c.data(), z1.data());
      EXPECT_EQ(z0, z1) << "beaver_mul_combine";

      const size_t m = 7, kk = 13, nn = 45;
      Words me = random_words(g, m * kk), ma = random_words(g, m * kk), mf = random_words(g, kk * nn),
            mb = random_words(g, kk * nn), mc = random_words(g, m * nn), mz0(m * nn), mz1(m * nn);
      p.sim->matmul_combine(party, bits, m, kk, nn, me.data(), mf.data(), ma.data(), mb.data(), mc.data(), mz0.data());
      p.xrt->matmul_combine(party, bits, m, kk, nn, me.data(), mf.data(), ma.data(), mb.data(), mc.data(), mz1.data());
      EXPECT_EQ(mz0, mz1) << "matmul_combine";

      for (mpc::PolyMode mode :
           {mpc::PolyMode::Quadratic, mpc::PolyMode::LinearChannel, mpc::PolyMode::LinearElement}) {
        const mpc::PolyShape s{3, 5, 37};
        const size_t pn = s.size(), n1 = mode == mpc::PolyMode::LinearElement ? pn : s.channels;
        Words pd = random_words(g, pn), pa = random_words(g, pn), pa2 = random_words(g, pn), pm2a = random_words(g, pn),
              pm2a2 = random_words(g, pn), pm1a = random_words(g, pn), pe1 = random_words(g, n1),
              pm1 = random_words(g, n1), pe2 = random_words(g, s.channels), pm2 = random_words(g, s.channels),
              add = random_words(g, s.channels), pz0(pn), pz1(pn);
        mpc::PolyEvalArgs ga;
        ga.d = pd.data();
        ga.alpha = pa.data();
        ga.a2 = pa2.data();
        ga.m2a = pm2a.data();
        ga.m2a2 = pm2a2.data();
        ga.m1a = pm1a.data();
        ga.e1 = pe1.data();
        ga.m1 = pm1.data();
        ga.e2 = pe2.data();
        ga.m2 = pm2.data();
        ga.add = add.data();
        p.sim->poly_eval(party, bits, s, mode, ga, pz0.data());
        p.xrt->poly_eval(party, bits, s, mode, ga, pz1.data());
        EXPECT_EQ(pz0, pz1) << "poly_eval mode=" << static_cast<int>(mode);
      }

      Words x = random_words(g, n), carry = random_words(g, n), wrap = random_words(g, n);
      p.sim->trunc_exact_combine(party, bits, 12, n, x.data(), carry.data(), wrap.data(), z0.data());
      p.xrt->trunc_exact_combine(party, bits, 12, n, x.data(), carry.data(), wrap.data(), z1.data());
      EXPECT_EQ(z0, z1) << "trunc_exact_combine";
      p.sim->trunc_prob_combine(party, bits, 12, 30, n, x.data(), carry.data(), z0.data());
      p.xrt->trunc_prob_combine(party, bits, 12, 30, n, x.data(), carry.data(), z1.data());
      EXPECT_EQ(z0, z1) << "trunc_prob_combine";

      p.sim->gmw_and_level(party, n, d.data(), e.data(), a.data(), b.data(), c.data(), z0.data());
      p.xrt->gmw_and_level(party, n, d.data(), e.data(), a.data(), b.data(), c.data(), z1.data());
      EXPECT_EQ(z0, z1) << "gmw_and_level";

      p.sim->b2a_combine(party, bits, n, d.data(), e.data(), z0.data());
      p.xrt->b2a_combine(party, bits, n, d.data(), e.data(), z1.data());
      EXPECT_EQ(z0, z1) << "b2a_combine";
    }
  }
  for (int bits : {64, 13, 0}) {
    const size_t W = (n + 63) / 64;
    Words x = random_words(g, n), pl0(size_t(bits) * W + 1, 7), pl1(size_t(bits) * W + 1, 7);
    p.sim->bit_slice(bits, n, x.data(), pl0.data());
    p.xrt->bit_slice(bits, n, x.data(), pl1.data());
    EXPECT_EQ(pl0, pl1) << "bit_slice bits=" << bits;
  }
  for (int party = 0; party < 2; ++party) {
    for (int depth : {63, 20}) {
      const size_t kn = 300, kw = mpc::dcf_key_words(depth);
      mpc::Prg prg(mpc::seed_from_u64(5));
      Words alpha = random_words(g, kn), x = random_words(g, kn), k0(kn * kw), k1(kn * kw);
      mpc::dcf_gen(prg, depth, kn, alpha.data(), k0.data(), k1.data());
      const Words& keys = party == 0 ? k0 : k1;
      Words o0((kn + 63) / 64, 3), o1((kn + 63) / 64, 3);
      p.sim->dcf_eval(party, depth, kn, keys.data(), x.data(), o0.data());
      p.xrt->dcf_eval(party, depth, kn, keys.data(), x.data(), o1.data());
      EXPECT_EQ(o0, o1) << "dcf_eval depth=" << depth;
    }
  }
  // Winograd transforms: zero padding, border tiles cropped, both forms.
  for (int m : {2, 4}) {
    for (int bits : {64, 37}) {
      mpc::WinogradShape ws;
      ws.m = m;
      ws.batch = 2;
      ws.channels = 3;
      ws.h = 9;
      ws.w = 11;
      ws.ho = 9;
      ws.wo = 10;  // pad_right 0
      ws.pad_top = ws.pad_left = 1;
      for (mpc::WinogradMode mode : {mpc::WinogradMode::Input, mpc::WinogradMode::Output}) {
        Words win = random_words(g, mpc::winograd_in_words(mode, ws)), w0(mpc::winograd_out_words(mode, ws), 5),
              w1(mpc::winograd_out_words(mode, ws), 6);
        p.sim->winograd_transform(bits, mode, ws, win.data(), w0.data());
        p.xrt->winograd_transform(bits, mode, ws, win.data(), w1.data());
        EXPECT_EQ(w0, w1) << "winograd_transform m=" << m << " bits=" << bits << " mode=" << static_cast<int>(mode);
      }
    }
  }
  p.expect_same_counters();
  if (max_batch != 0) {
    // Many launches per call, staged while the previous one runs.
    EXPECT_GE(p.xrt->max_runs_in_flight(), 2u);
    EXPECT_GT(p.xrt->runs().at("beaver_mul_combine_top"), 4u);
  }
}

// 0: every call is one launch; 128: calls split into many launches (64 for b2a/bit_slice
// blocks), poly_eval into channel blocks of 3 and pieces of a channel run.
INSTANTIATE_TEST_SUITE_P(LaunchBounds, XrtVsSim, ::testing::Values(size_t{0}, size_t{128}));

TEST(XrtBackend, BuffersAreReusedAcrossCallsAndEmptyCallsLaunchNothing) {
  REQUIRE_NOOP();
  host::XrtBackend be(noop_options());
  std::mt19937_64 g(3);
  Words d = random_words(g, 64), z(64);
  be.beaver_mul_combine(0, 64, 0, d.data(), d.data(), d.data(), d.data(), d.data(), z.data());
  EXPECT_EQ(be.runs().at("beaver_mul_combine_top"), 0u);
  EXPECT_EQ(be.counters().at("beaver_mul_combine").calls, 1u);
  be.beaver_mul_combine(1, 64, 64, d.data(), d.data(), d.data(), d.data(), d.data(), z.data());
  const uint64_t allocated = be.bo_allocations();
  EXPECT_EQ(allocated, 6u);  // d, e, a, b, c, z of one run slot
  for (int i = 0; i < 4; ++i) be.beaver_mul_combine(1, 64, 64 - i, d.data(), d.data(), d.data(), d.data(), d.data(), z.data());
  EXPECT_EQ(be.runs().at("beaver_mul_combine_top"), 5u);
  EXPECT_EQ(be.bo_allocations(), allocated);  // one-launch calls reuse slot 0's BOs
  EXPECT_EQ(be.name(), "xrt");
  EXPECT_FALSE(be.xclbin_uuid().empty());
}

TEST(XrtBackend, WithoutTheDeviceModelTheNoopDeviceComputesNothing) {
  REQUIRE_NOOP();
  // The noop device never runs a kernel: only the device model makes the numbers.
  host::XrtOptions o = noop_options();
  o.device_model = host::DeviceModel::kOff;
  host::XrtBackend off(o);
  EXPECT_FALSE(off.device_model_active());
  sim::SimBackend sim;
  std::mt19937_64 g(4);
  const size_t n = 256;
  Words d = random_words(g, n), z_sim(n), z_off(n, 0);
  sim.beaver_mul_combine(0, 64, n, d.data(), d.data(), d.data(), d.data(), d.data(), z_sim.data());
  off.beaver_mul_combine(0, 64, n, d.data(), d.data(), d.data(), d.data(), d.data(), z_off.data());
  EXPECT_NE(z_sim, z_off);
}

TEST(XrtBackend, BadCallArgumentsThrowLikeSim) {
  REQUIRE_NOOP();
  host::XrtBackend be(noop_options());
  Words v(64);
  EXPECT_THROW(be.beaver_mul_combine(2, 64, 1, v.data(), v.data(), v.data(), v.data(), v.data(), v.data()),
               mpc::InvalidArgument);
  EXPECT_THROW(be.trunc_exact_combine(0, 64, 64, 1, v.data(), v.data(), v.data(), v.data()), mpc::InvalidArgument);
  EXPECT_THROW(be.bit_slice(65, 1, v.data(), v.data()), mpc::InvalidArgument);
  mpc::WinogradShape ws;
  ws.m = 3;
  ws.h = ws.w = ws.ho = ws.wo = 4;
  EXPECT_THROW(be.winograd_transform(64, mpc::WinogradMode::Input, ws, v.data(), v.data()), mpc::InvalidArgument);
  ws.m = 2;
  EXPECT_THROW(be.winograd_transform(65, mpc::WinogradMode::Input, ws, v.data(), v.data()), mpc::InvalidArgument);
  // A DCF key of the other party is refused on the host, before any launch.
  const int depth = 8;
  Words alpha(1, 3), x(1, 2), k0(mpc::dcf_key_words(depth)), k1(mpc::dcf_key_words(depth)), out(1);
  mpc::Prg prg(mpc::seed_from_u64(1));
  mpc::dcf_gen(prg, depth, 1, alpha.data(), k0.data(), k1.data());
  EXPECT_THROW(be.dcf_eval(0, depth, 1, k1.data(), x.data(), out.data()), mpc::MaterialError);
  EXPECT_EQ(be.runs().at("dcf_eval_top"), 0u);
}

// ---- 2PC inference of real Fashion-MNIST images: xrt == sim -----------------------------------

nn::Layer conv(const std::string& name, int cin, int cout, int k, std::mt19937& g, int pad = 0) {
  nn::Layer L;
  L.name = name;
  L.op = nn::OpKind::Conv;
  L.weight_shape = {cout, cin, k, k};
  std::normal_distribution<float> w(0.f, 1.0f / std::sqrt(static_cast<float>(cin * k * k)));
  for (int i = 0; i < cout * cin * k * k; ++i) L.weight.push_back(w(g));
  for (int i = 0; i < cout; ++i) L.bias.push_back(0.1f * w(g));
  L.kernel_h = L.kernel_w = k;
  L.pad_top = L.pad_left = L.pad_bottom = L.pad_right = pad;
  return L;
}
nn::Layer linear(const std::string& name, int in, int out, std::mt19937& g) {
  nn::Layer L;
  L.name = name;
  L.op = nn::OpKind::Linear;
  L.weight_shape = {out, in};
  std::normal_distribution<float> w(0.f, 1.0f / std::sqrt(static_cast<float>(in)));
  for (int i = 0; i < out * in; ++i) L.weight.push_back(w(g));
  for (int i = 0; i < out; ++i) L.bias.push_back(0.1f * w(g));
  return L;
}
nn::Layer simple(const std::string& name, nn::OpKind op, int k = 2) {
  nn::Layer L;
  L.name = name;
  L.op = op;
  L.kernel_h = L.kernel_w = L.stride_h = L.stride_w = k;
  return L;
}
nn::Layer poly(const std::string& name, int channels) {
  nn::Layer L = simple(name, nn::OpKind::Poly);
  for (int c = 0; c < channels; ++c) {
    L.poly_a2.push_back(0.005f * static_cast<float>(c % 3 + 1));
    L.poly_a1.push_back(1.0f - 0.05f * static_cast<float>(c % 4));
    L.poly_a0.push_back(0.01f * static_cast<float>(c % 5));
  }
  return L;
}

/// A small CNN with every layer kind (conv, poly, relu, max/avg pool, linear), on 1x28x28.
nn::Network every_layer_cnn() {
  std::mt19937 g(42);
  nn::Network net;
  net.name = "every-layer";
  net.input_shape = {1, 28, 28};
  net.layers.push_back(conv("conv1", 1, 4, 5, g));             // 4x24x24
  net.layers.push_back(poly("act1", 4));
  net.layers.push_back(simple("pool1", nn::OpKind::AvgPool));   // 4x12x12
  net.layers.push_back(conv("conv2", 4, 6, 3, g, 1));          // 6x12x12
  net.layers.push_back(simple("act2", nn::OpKind::Relu));
  net.layers.push_back(simple("pool2", nn::OpKind::MaxPool));   // 6x6x6
  net.layers.push_back(simple("flatten", nn::OpKind::Flatten));
  net.layers.push_back(linear("fc1", 216, 16, g));
  net.layers.push_back(poly("act3", 1));
  net.layers.push_back(linear("fc2", 16, 10, g));
  net.infer_shapes();
  return net;
}

void expect_inference_identical(mpc::CompareMode compare, size_t images,
                                mpc::TruncMode trunc = mpc::TruncMode::Exact, int winograd = 0) {
  const nn::Dataset data = nn::load_idx_dataset(nn::kFashionMnistDir, "t10k", static_cast<int64_t>(images));
  nn::Network net = every_layer_cnn();
  if (winograd) {
    // conv2 (3×3, stride 1, pad 1) in F(m×m, 3×3): its transforms run on winograd_transform_top.
    ASSERT_EQ(nn::set_winograd(net, "conv2=" + std::to_string(winograd)), 1);
  }
  const nn::QuantizedModel q = nn::quantize(net, mpc::RingConfig{64, 12});
  nn::InferenceOptions opt;
  opt.batch = 10;
  opt.protocol.compare = compare;
  opt.protocol.trunc = trunc;
  sim::SimBackend s0, s1;
  const nn::InferenceReport rs = nn::run_inproc(q, data, images, s0, s1, opt);
  // Each party its own XrtBackend (own xrt::device, BOs and runs), as in `polympc infer`.
  host::XrtBackend x0(noop_options()), x1(noop_options());
  ASSERT_TRUE(x0.device_model_active() && x1.device_model_active());
  const nn::InferenceReport rx = nn::run_inproc(q, data, images, x0, x1, opt);
  ASSERT_EQ(rx.logits_raw.size(), images * 10);
  EXPECT_EQ(rx.logits_raw, rs.logits_raw);
  EXPECT_EQ(rx.logits_equal, images);  // and both equal the fixed-point twin
  EXPECT_EQ(rx.accuracy, rs.accuracy);
  EXPECT_EQ(rx.online_bytes, rs.online_bytes);
  EXPECT_EQ(rx.backend, "xrt");
  // P1's kernel counters: the same calls, elements and modelled cycles.
  ASSERT_EQ(rx.kernels.size(), rs.kernels.size());
  for (size_t i = 0; i < rs.kernels.size(); ++i) {
    EXPECT_EQ(rx.kernels[i].first, rs.kernels[i].first);
    EXPECT_EQ(rx.kernels[i].second.calls, rs.kernels[i].second.calls) << rs.kernels[i].first;
    EXPECT_EQ(rx.kernels[i].second.elements, rs.kernels[i].second.elements) << rs.kernels[i].first;
    EXPECT_EQ(rx.kernels[i].second.modelled_cycles, rs.kernels[i].second.modelled_cycles) << rs.kernels[i].first;
  }
  uint64_t runs = 0;
  for (const auto& [name, r] : x1.runs()) runs += r;
  EXPECT_GT(runs, 0u);
  if (winograd) {
    EXPECT_EQ(x1.runs().at("winograd_transform_top"), 3u * (images / opt.batch));
  }
}

TEST(XrtInference, TwentyFashionMnistImagesGmwEqualSimLogits) {
  REQUIRE_NOOP();
  expect_inference_identical(mpc::CompareMode::Gmw, 20);
}

TEST(XrtInference, TwentyFashionMnistImagesFssEqualSimLogits) {
  REQUIRE_NOOP();
  expect_inference_identical(mpc::CompareMode::Fss, 20);
}

// The CLI's defaults: FSS truncation (dcf_eval, b2a_combine, trunc_exact_combine) placed by
// nn/placement.h, the one-opening polynomial (poly_eval, Quadratic) and FSS comparison.
TEST(XrtInference, TwentyFashionMnistImagesWithTheDefaultsEqualSimLogits) {
  REQUIRE_NOOP();
  expect_inference_identical(mpc::CompareMode::Fss, 20, mpc::TruncMode::Fss);
}

// A Winograd layer (F(2×2,3×3) and F(4×4,3×3)): its input and output transforms run on
// the transform kernel through XRT, and the logits equal sim's and the twin's.
TEST(XrtInference, WinogradLayerEqualsSimLogits) {
  REQUIRE_NOOP();
  for (int m : {2, 4}) {
    SCOPED_TRACE("F(" + std::to_string(m) + "x" + std::to_string(m) + ",3x3)");
    expect_inference_identical(mpc::CompareMode::Gmw, 20, mpc::TruncMode::Exact, m);
  }
}

// ---- errors ----------------------------------------------------------------------------------

TEST(XrtErrors, MissingXclbinFileNamesThePath) {
  host::XrtOptions o = noop_options();
  o.xclbin = scratch("does_not_exist.xclbin");
  const auto e = expect_error<host::XclbinError>([&] { host::XrtBackend be(o); });
  EXPECT_NE(std::string(e.what()).find("does_not_exist.xclbin"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("does not exist"), std::string::npos) << e.what();
}

TEST(XrtErrors, AFileThatIsNotAnXclbinIsRefused) {
  const std::string path = scratch("not_an.xclbin");
  std::ofstream(path) << "this is not an xclbin\n";
  host::XrtOptions o = noop_options();
  o.xclbin = path;
  const auto e = expect_error<host::XclbinError>([&] { host::XrtBackend be(o); });
  EXPECT_NE(std::string(e.what()).find("not a readable xclbin"), std::string::npos) << e.what();
}

TEST(XrtErrors, XclbinWithoutANeededKernelNamesIt) {
  auto kernels = host::described_kernels();
  kernels.erase(std::remove_if(kernels.begin(), kernels.end(), [](const auto& k) { return k.name == "trunc_top"; }),
                kernels.end());
  const std::string path = scratch("without_trunc.xclbin");
  host::write_metadata_xclbin(path, kernels);
  host::XrtOptions o = noop_options();
  o.xclbin = path;
  const auto e = expect_error<host::KernelNotFoundError>([&] { host::XrtBackend be(o); });
  EXPECT_EQ(e.kernel(), "trunc_top");
  EXPECT_NE(std::string(e.what()).find("has no kernel 'trunc_top'"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("beaver_mul_combine_top"), std::string::npos) << e.what();  // lists what it has
  const host::XclbinInfo info = host::inspect_xclbin(path);
  EXPECT_FALSE(info.usable);
  EXPECT_EQ(info.missing, std::vector<std::string>{"trunc_top"});
}

TEST(XrtErrors, DeviceIndexOutOfRange) {
  REQUIRE_NOOP();
  host::XrtOptions o = noop_options();
  o.device = 3;
  const auto e = expect_error<host::DeviceError>([&] { host::XrtBackend be(o); });
  EXPECT_NE(std::string(e.what()).find("device index 3 is out of range"), std::string::npos) << e.what();
  EXPECT_EQ(e.state(), "device index");
}

/// The description with one change applied, written as an xclbin; XrtBackend must refuse
/// it with a KernelSignatureError naming the kernel and the argument.
void expect_signature_error(const std::string& file, const std::function<void(std::vector<host::KernelDesc>&)>& change,
                            const std::string& kernel, const std::string& argument, const std::string& says) {
  auto kernels = host::described_kernels();
  change(kernels);
  const std::string path = scratch(file);
  host::write_metadata_xclbin(path, kernels);
  host::XrtOptions o = noop_options();
  o.xclbin = path;
  const auto e = expect_error<host::KernelSignatureError>([&] { host::XrtBackend be(o); });
  EXPECT_EQ(e.kernel(), kernel) << e.what();
  EXPECT_EQ(e.argument(), argument) << e.what();
  EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
  EXPECT_FALSE(host::inspect_xclbin(path).usable);
}

host::KernelDesc& kernel_named(std::vector<host::KernelDesc>& ks, const std::string& name) {
  for (auto& k : ks)
    if (k.name == name) return k;
  throw std::runtime_error("no kernel " + name);
}

TEST(XrtErrors, KernelWhoseArgumentListDoesNotMatch) {
  expect_signature_error(
      "renamed_arg.xclbin", [](auto& ks) { kernel_named(ks, "beaver_mul_combine_top").args[2].name = "count"; },
      "beaver_mul_combine_top", "n", "argument 2 is 'count'");
  expect_signature_error(
      "wider_scalar.xclbin",
      [](auto& ks) {
        auto& a = kernel_named(ks, "trunc_top").args[5];  // n: uint32_t -> uint64_t
        a.type = "uint64_t";
        a.size = 8;
      },
      "trunc_top", "n", "8 bytes");
  expect_signature_error(
      "scalar_for_buffer.xclbin",
      [](auto& ks) {
        auto& a = kernel_named(ks, "poly_eval_top").args[16];  // add: buffer -> scalar
        a.type = "uint64_t";
        a.kind = hls::ArgKind::kScalar;
        a.size = 8;
        a.bundle.clear();
      },
      "poly_eval_top", "add", "in hls/kernels.json");
  expect_signature_error(
      "missing_last_arg.xclbin", [](auto& ks) { kernel_named(ks, "dcf_eval_top").args.pop_back(); }, "dcf_eval_top",
      "out", "has 5 arguments in the xclbin but 6");
  expect_signature_error(
      "extra_arg.xclbin",
      [](auto& ks) {
        auto& k = kernel_named(ks, "bit_slice_top");
        k.args.push_back(k.args.back());
        k.args.back().name = "planes2";
      },
      "bit_slice_top", "planes2", "has 6 arguments in the xclbin but 5");
}

TEST(XrtErrors, DeviceModelOffTheNoopDeviceIsRefused) {
  const char* old = std::getenv("XCL_EMULATION_MODE");
  const std::string saved = old ? old : "";
  setenv("XCL_EMULATION_MODE", "hw_emu", 1);
  host::XrtOptions o = noop_options();
  o.device_model = host::DeviceModel::kOn;
  const auto e = expect_error<host::DeviceModelError>([&] { host::XrtBackend be(o); });
  if (old)
    setenv("XCL_EMULATION_MODE", saved.c_str(), 1);
  else
    unsetenv("XCL_EMULATION_MODE");
  EXPECT_NE(std::string(e.what()).find("only allowed on XRT's noop device"), std::string::npos) << e.what();
  EXPECT_THROW(host::parse_device_model("maybe"), mpc::InvalidArgument);
}

TEST(XrtDevices, ListsTheNoopDeviceAndTheLoadedXclbin) {
  REQUIRE_NOOP();
  const host::DeviceListing l = host::list_devices(kNoopXclbin, 0);
  ASSERT_EQ(l.devices.size(), 1u);
  EXPECT_EQ(l.emulation_mode, "noop");
  EXPECT_EQ(l.devices[0].xclbin_uuid, xrt::xclbin(kNoopXclbin).get_uuid().to_string());
  EXPECT_EQ(l.devices[0].compute_units.size(), host::described_kernels().size());
  EXPECT_THROW(host::list_devices(kNoopXclbin, 1), host::DeviceError);
}

// Writes the every-layer CNN for the CLI test (tests/CMakeLists.txt: xrt_cli_infer); the
// rename makes the write atomic for a reader running concurrently.
TEST(XrtCli, ModelForTheCliTest) {
  const std::string path = std::string(POLYMPC_BINARY_DIR) + "/tests/xrt_cli_model.onnx";
  const std::string tmp = scratch("xrt_cli_model." + std::to_string(getpid()) + ".tmp");
  nn::save_onnx(every_layer_cnn(), tmp);
  std::filesystem::rename(tmp, path);
  EXPECT_TRUE(std::filesystem::exists(path));
}

}  // namespace

int main(int argc, char** argv) {
  polympc::mpc::keep_large_allocations_in_heap();  // as the CLI and tests/main.cpp
  ::testing::InitGoogleTest(&argc, argv);
  const int rc = RUN_ALL_TESTS();
  std::fflush(nullptr);
  std::_Exit(rc);  // see the file comment: skip XRT 2.13's racy static teardown
}
