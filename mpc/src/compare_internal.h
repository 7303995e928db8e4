// Internal declarations shared by the comparison protocols (compare.cpp dispatches to the
// GMW circuit in gmw.cpp or the FSS gates in fss.cpp) and the secure argmax (argmax.cpp).
// Not installed.
#pragma once
#include <string>

#include "polympc/mpc/protocols.h"

namespace polympc::mpc::detail {

// GMW (gmw.cpp): MSB of bits [b.lo, b.hi) of x0 + x1 by the carry tree. `b` is resolved
// (0 <= lo, lo + 2 <= hi <= l).
void deal_drelu_gmw(Dealer& d, size_t n, CompareBits b, const std::string& tag, MaterialStore& m0,
                    MaterialStore& m1);
Words drelu_gmw(Session& s, const Words& x, CompareBits b, const std::string& tag);

// B2A (gmw.cpp): pushes one B2A pair [r bits (W) | r (n)] for n fresh uniform bits r and
// returns r (one 0/1 word per element) for material that must be correlated with it.
Words deal_b2a_pair(Dealer& d, size_t n, const std::string& tag, MaterialStore& m0,
                    MaterialStore& m1);

// FSS (fss.cpp): DCF of depth hi - lo - 1 on the opened x + r_in.
void deal_drelu_fss(Dealer& d, size_t n, CompareBits b, const std::string& tag, MaterialStore& m0,
                    MaterialStore& m1);
Words drelu_fss(Session& s, const Words& x, CompareBits b, const std::string& tag);
void deal_relu_fss(Dealer& d, size_t n, CompareBits b, const std::string& tag, MaterialStore& m0,
                   MaterialStore& m1);
Words relu_fss(Session& s, const Words& x, CompareBits b, const std::string& tag);

// FSS truncation (trunc_fss.cpp), shared by --trunc fss and the truncate-then-polynomial
// gate (arith.cpp). The dealer draws the mask r, pushes the DCF keys (tag + "/dcf") and
// returns its clear values: r, the bits t (W words) and the 4-entry tables T (4n words).
struct FssTruncDeal {
  Words r, t, table;
};
FssTruncDeal deal_fss_trunc_values(Dealer& d, size_t n, int shift, const std::string& tag,
                                   MaterialStore& m0, MaterialStore& m1);
// Online: takes the DCF keys; then round 1 opens xh = x + r (returned) and leaves in `cbits`
// this party's XOR shares of the carry c into bit `shift` (W words).
Words fss_trunc_keys(Session& s, size_t n, int shift, const std::string& tag);
Words fss_trunc_open(Session& s, const Words& x, int shift, Words& keys, const uint64_t* r,
                     const uint64_t* t, Words& cbits, const std::string& tag);
// Index a of the table entry T[a] for the opened xh: the two top bits of xh + 2^(l-1).
uint64_t fss_trunc_table_index(const RingConfig& r, uint64_t xh);

}  // namespace polympc::mpc::detail
