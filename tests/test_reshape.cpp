// DeepReShape's family of the Fashion-MNIST CNN (nn/reshape.h; docs/training.md): the cost
// arithmetic against the IR's own DReLU count, and the generator's budget rules.
#include <gtest/gtest.h>

#include <string>

#include "polympc/mpc/errors.h"
#include "polympc/nn/block_alloc.h"
#include "polympc/nn/reshape.h"

namespace {

using polympc::nn::CnnArch;
using polympc::nn::CnnWidths;

/// DReLUs of an IR: ReLU elements + 3 comparisons per 2x2 max-pool output (network_drelus,
/// the count `polympc perf` prints).
int64_t ir_drelus(const polympc::nn::Network& net) { return polympc::nn::network_drelus(net); }

CnnArch arch(CnnWidths w, std::array<std::string, 3> acts, std::array<std::string, 2> pools) {
  CnnArch a;
  a.widths = w;
  a.acts = acts;
  a.pools = pools;
  return polympc::nn::cnn_costs(a);
}

TEST(Reshape, ShippedCnnCosts) {
  const CnnArch all = arch({}, {"relu", "relu", "relu"}, {"max", "max"});
  EXPECT_EQ(all.relu_elements, 11392);
  EXPECT_EQ(all.maxpool_comparisons, 8448);
  EXPECT_EQ(all.drelus, 19840);
  // conv1 16*25+16, conv2 32*16*25+32, fc1 128*512+128, fc2 10*128+10.
  EXPECT_EQ(all.params, 416 + 12832 + 65664 + 1290);
  EXPECT_EQ(all.macs, 576 * 16 * 25 + 64 * 32 * 16 * 25 + 128 * 512 + 10 * 128);
  EXPECT_EQ(arch({}, {"poly", "relu", "poly"}, {"avg", "avg"}).drelus, 2048);
  EXPECT_THROW(arch({}, {"gelu", "relu", "relu"}, {"avg", "avg"}), polympc::mpc::InvalidArgument);
  EXPECT_THROW(arch({0, 32, 128}, {"relu", "relu", "relu"}, {"avg", "avg"}), polympc::mpc::InvalidArgument);
}

TEST(Reshape, CostsAgreeWithTheIrsDreluCount) {
  const std::array<std::string, 3> acts[] = {{"relu", "relu", "relu"}, {"id", "relu", "relu"}, {"id", "relu", "id"},
                                             {"poly", "id", "relu"}};
  const std::array<std::string, 2> pools[] = {{"avg", "avg"}, {"max", "avg"}, {"max", "max"}};
  const CnnWidths widths[] = {{16, 32, 128}, {16, 29, 128}, {3, 7, 50}};
  for (const auto& w : widths)
    for (const auto& a : acts)
      for (const auto& p : pools) {
        const CnnArch c = arch(w, a, p);
        const polympc::nn::Network net = polympc::nn::cnn_network(c);
        EXPECT_EQ(ir_drelus(net), c.drelus) << polympc::nn::widths_str(w) << " " << c.acts_str() << " " << c.pools_str();
        int64_t params = 0;
        for (const auto& l : net.layers) params += static_cast<int64_t>(l.weight.size() + l.bias.size());
        EXPECT_EQ(params, c.params);
        // An "id" site has no layer.
        size_t act_layers = 0;
        for (const auto& l : net.layers)
          act_layers += l.op == polympc::nn::OpKind::Relu || l.op == polympc::nn::OpKind::Poly;
        size_t want = 0;
        for (const auto& s : a) want += s != "id";
        EXPECT_EQ(act_layers, want);
      }
}

TEST(Reshape, FamilyMeetsTheBudgetAndGrowsWithIt) {
  const int64_t lo = polympc::nn::reshape_min_budget(), hi = polympc::nn::reshape_max_drelus();
  EXPECT_EQ(lo, 384);
  EXPECT_EQ(hi, 8704);
  int64_t prev_c2 = 0, prev_only = 0;
  for (int64_t b = lo; b <= hi + 100; ++b) {
    const auto fam = polympc::nn::deepreshape_family(b);
    ASSERT_EQ(fam.size(), 2u);
    const CnnArch& h = fam[0];
    const CnnArch& o = fam[1];
    ASSERT_EQ(h.name, "hybrid");
    ASSERT_EQ(h.drelus, std::min(b, hi)) << b;  // exactly the budget
    ASSERT_LE(o.drelus, b);
    ASSERT_GT(o.drelus, std::min(b, 64 * polympc::nn::kReshapeConv2Max) - 64) << b;  // within one conv2 channel
    ASSERT_EQ(h.acts_str(), "id,relu,relu");
    ASSERT_EQ(o.acts_str(), "id,relu,id");
    ASSERT_EQ(h.pools_str(), "avg,avg");
    ASSERT_EQ(h.maxpool_comparisons, 0);
    ASSERT_GE(h.widths.conv2, prev_c2) << b;  // the critical stage never narrows
    ASSERT_GE(o.drelus, prev_only) << b;
    ASSERT_GE(h.widths.fc1, polympc::nn::kReshapeFc1Base);
    ASSERT_LE(h.widths.fc1, polympc::nn::kReshapeFc1Max);
    ASSERT_LE(h.widths.conv2, polympc::nn::kReshapeConv2Max);
    prev_c2 = h.widths.conv2;
    prev_only = o.drelus;
  }
  const CnnArch ten_percent = polympc::nn::deepreshape_family(1984)[0];
  EXPECT_EQ(polympc::nn::widths_str(ten_percent.widths), "16,29,128");
  EXPECT_EQ(ten_percent.drelus, 1984);
}

TEST(Reshape, BudgetBelowTheSmallestMemberNamesTheMinimum) {
  try {
    polympc::nn::deepreshape_family(383);
    FAIL() << "no error";
  } catch (const polympc::mpc::InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("384"), std::string::npos) << e.what();
  }
  EXPECT_THROW(polympc::nn::deepreshape_family(-1), polympc::mpc::InvalidArgument);
}

TEST(Reshape, ParseWidths) {
  EXPECT_EQ(polympc::nn::parse_widths("16,32,128"), (CnnWidths{16, 32, 128}));
  EXPECT_EQ(polympc::nn::widths_str({8, 12, 40}), "8,12,40");
  for (const char* bad : {"", "16,32", "16,32,128,", "16,0,128", "16,-3,128", "a,b,c", "16,,128", "1,2,3,4"})
    EXPECT_THROW(polympc::nn::parse_widths(bad), polympc::mpc::InvalidArgument) << bad;
}

}  // namespace
