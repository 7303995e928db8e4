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
Cost drelu_gmw_cost(const RingConfig& r, size_t n, CompareBits b);

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
Cost drelu_fss_cost(const RingConfig& r, size_t n);
Cost relu_fss_cost(const RingConfig& r, size_t n);

}  // namespace polympc::mpc::detail
