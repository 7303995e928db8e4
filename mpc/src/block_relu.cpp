// Block-ReLU: one DReLU per rectangle patch of a tensor, broadcast over the patch (protocols.h;
// docs/protocols.md "Block-ReLU"): with GMW, the DReLU of the local patch sums and the
// one-round bit multiplexer; with FSS, the FSS ReLU gate over patches. Written once
// (block_relu_body) against detail::CompareSteps: the dealer context pushes the material,
// the online context runs the protocol in a real or a counting Session.
#include <string>

#include "compare_internal.h"
#include "polympc/mpc/protocols.h"

namespace polympc::mpc {

size_t BlockMap::rect_elements() const {
  size_t e = 0;
  for (int64_t p : patch_of) e += p >= 0 ? 1 : 0;
  return e;
}

void check_block_map(const BlockMap& m, const std::string& tag) {
  std::vector<char> used(m.patches, 0);
  for (size_t i = 0; i < m.patch_of.size(); ++i) {
    const int64_t p = m.patch_of[i];
    if (p == kBlockIdentity || p == kBlockZero) continue;
    if (p < 0 || static_cast<uint64_t>(p) >= m.patches)
      throw InvalidArgument(tag + ": Block-ReLU element " + std::to_string(i) + " names patch " +
                            std::to_string(p) + ", not one of the " + std::to_string(m.patches) +
                            " patches (nor identity " + std::to_string(kBlockIdentity) +
                            " / zero " + std::to_string(kBlockZero) + ")");
    used[static_cast<size_t>(p)] = 1;
  }
  for (size_t p = 0; p < m.patches; ++p)
    if (!used[p])
      throw InvalidArgument(tag + ": Block-ReLU patch " + std::to_string(p) + " has no element");
}

namespace {

/// The protocol, once: local patch sums, DReLU of the sums, the multiplexer broadcasting
/// each patch's bit to its elements (FSS: the ReLU gate over patches, which compares the
/// sums of the opened masked elements). `x` is zeros in the dealer context.
Words block_relu_body(detail::CompareSteps& st, const RingConfig& r, const Words& x,
                      const BlockMap& m, const std::string& tag) {
  if (x.size() != m.patch_of.size())
    throw InvalidArgument(tag + ": Block-ReLU input has " + std::to_string(x.size()) +
                          " elements, its patch map " + std::to_string(m.patch_of.size()));
  check_block_map(m, tag);
  const uint64_t mask = r.mask();
  Words sum(m.patches, 0), y;
  detail::Selector sel;
  y.reserve(x.size());
  sel.reserve(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const int64_t p = m.patch_of[i];
    if (p < 0) continue;
    const auto pu = static_cast<size_t>(p);
    sum[pu] = (sum[pu] + x[i]) & mask;  // local on additive shares
    y.push_back(x[i]);
    sel.push_back(pu);
  }
  Words z;
  if (m.patches > 0 && st.compare() == CompareMode::Fss) {
    // The FSS ReLU gate over patches: the opened x_i + r_i give the masked patch sums.
    z = st.patch_relu(y, sel, m.patches, tag);
  } else if (m.patches > 0) {
    const Words bits = st.drelu(sum, tag);
    z = st.mux(bits, m.patches, y, sel, tag + "/mux");
  }
  Words out(x.size(), 0);
  for (size_t i = 0, k = 0; i < x.size(); ++i) {
    const int64_t p = m.patch_of[i];
    if (p == kBlockIdentity) out[i] = x[i];
    if (p >= 0) out[i] = z[k++];
  }
  return out;
}

}  // namespace

void deal_block_relu(Dealer& d, const BlockMap& m, const ProtocolOptions& o, const std::string& tag,
                     MaterialStore& m0, MaterialStore& m1) {
  detail::DealCompareSteps st(d, o, m0, m1);
  block_relu_body(st, d.ring(), Words(m.patch_of.size(), 0), m, tag);
}

Words block_relu(Session& s, const Words& x, const BlockMap& m, const std::string& tag) {
  detail::OnlineCompareSteps st(s);
  return block_relu_body(st, s.ring, x, m, tag);
}

}  // namespace polympc::mpc
