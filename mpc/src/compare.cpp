// Secure comparison: DReLU, ReLU and max, each with the GMW carry tree (gmw.cpp) or the
// FSS gates (fss.cpp) as ProtocolOptions::compare says, on the bits
// ProtocolOptions::compare_range(tag) (reduced-bit comparison). docs/design.md §5.
#include "compare_internal.h"
#include "polympc/mpc/dcf.h"

namespace polympc::mpc {

// ---- DReLU ------------------------------------------------------------------------------
void deal_drelu(Dealer& d, size_t n, const ProtocolOptions& o, const std::string& tag, MaterialStore& m0,
                MaterialStore& m1) {
  const CompareBits b = o.compare_range(tag, d.ring().bits);
  if (n == 0) return;
  if (o.compare == CompareMode::Fss)
    detail::deal_drelu_fss(d, n, b, tag, m0, m1);
  else
    detail::deal_drelu_gmw(d, n, b, tag, m0, m1);
}

void deal_drelu(Dealer& d, size_t n, const std::string& tag, MaterialStore& m0, MaterialStore& m1) {
  deal_drelu(d, n, ProtocolOptions{}, tag, m0, m1);
}

Words drelu(Session& s, const Words& x, const std::string& tag) {
  const CompareBits b = s.options.compare_range(tag, s.ring.bits);
  if (x.empty()) return {};
  if (s.options.compare == CompareMode::Fss) return detail::drelu_fss(s, x, b, tag);
  return detail::drelu_gmw(s, x, b, tag);
}



// ---- ReLU -------------------------------------------------------------------------------
void deal_relu(Dealer& d, size_t n, const ProtocolOptions& o, const std::string& tag, MaterialStore& m0,
               MaterialStore& m1) {
  const CompareBits b = o.compare_range(tag, d.ring().bits);
  if (n == 0) return;
  if (o.compare == CompareMode::Fss) {
    detail::deal_relu_fss(d, n, b, tag, m0, m1);
    return;
  }
  detail::deal_drelu_gmw(d, n, b, tag + "/drelu", m0, m1);
  deal_b2a(d, n, tag + "/b2a", m0, m1);
  deal_mul(d, n, tag + "/mux", m0, m1);
}

void deal_relu(Dealer& d, size_t n, const std::string& tag, MaterialStore& m0, MaterialStore& m1) {
  deal_relu(d, n, ProtocolOptions{}, tag, m0, m1);
}

Words relu(Session& s, const Words& x, const std::string& tag) {
  const CompareBits b = s.options.compare_range(tag, s.ring.bits);
  if (x.empty()) return {};
  if (s.options.compare == CompareMode::Fss) return detail::relu_fss(s, x, b, tag);
  Words bit = detail::drelu_gmw(s, x, b, tag + "/drelu");
  Words a = b2a(s, bit, x.size(), tag + "/b2a");
  return mul(s, x, a, tag + "/mux");
}



// ---- max ----------------------------------------------------------------------------------
void deal_max(Dealer& d, size_t n, const ProtocolOptions& o, const std::string& tag, MaterialStore& m0,
              MaterialStore& m1) {
  deal_relu(d, n, o, tag, m0, m1);
}

void deal_max(Dealer& d, size_t n, const std::string& tag, MaterialStore& m0, MaterialStore& m1) {
  deal_relu(d, n, ProtocolOptions{}, tag, m0, m1);
}

Words max(Session& s, const Words& a, const Words& b, const std::string& tag) {
  if (a.size() != b.size()) throw InvalidArgument(tag + ": max operands differ in size");
  const uint64_t m = s.ring.mask();
  Words t(a.size());
  for (size_t i = 0; i < a.size(); ++i) t[i] = (a[i] - b[i]) & m;
  Words r = relu(s, t, tag);  // DReLU(a-b) * (a-b)
  for (size_t i = 0; i < a.size(); ++i) r[i] = (r[i] + b[i]) & m;
  return r;
}

// ---- FSS sizes ----------------------------------------------------------------------------
int fss_dcf_depth(const RingConfig& r, const ProtocolOptions& o, const std::string& tag) {
  const CompareBits b = o.compare_range(tag, r.bits);
  return b.hi - b.lo - 1;
}

}  // namespace polympc::mpc
