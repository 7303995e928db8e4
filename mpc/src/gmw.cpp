// GMW boolean circuits with dealer AND triples: the carry (generate/propagate) tree that
// underlies DReLU and exact truncation, B2A, ReLU and max. docs/design.md §5; CrypTen
// (NeurIPS'21) for the dealer-based GMW comparison; parallel-prefix adders after
// Brent & Kung (1982) / Sklansky (1960).
#include <algorithm>
#include <memory>

#include "compare_internal.h"
#include "polympc/mpc/protocols.h"

namespace polympc::mpc {
namespace {

/// AND gates on bit-sliced XOR shares; the same circuit code runs against a dealer
/// implementation (which only records sizes and pushes triples) and an online one.
class AndGates {
 public:
  virtual ~AndGates() = default;
  /// z = x & y for shared x, y of equal word count. One round.
  virtual Words and_shared(const Words& x, const Words& y) = 0;
  /// z = a & b where P0 holds a entirely and P1 holds b entirely (`mine` is this party's
  /// value). One round, one word per word of input per party.
  virtual Words and_inputs(const Words& mine) = 0;
  virtual int party() const = 0;
};

class DealAnd final : public AndGates {
 public:
  DealAnd(Dealer& d, const std::string& tag, MaterialStore& m0, MaterialStore& m1)
      : d_(d), tag_(tag), m0_(m0), m1_(m1) {}
  Words and_shared(const Words& x, const Words&) override {
    const size_t w = x.size();
    Words a = d_.prg().words(w), b = d_.prg().words(w), c(w);
    for (size_t i = 0; i < w; ++i) c[i] = a[i] & b[i];
    auto [a0, a1] = d_.share_bool(a);
    auto [b0, b1] = d_.share_bool(b);
    auto [c0, c1] = d_.share_bool(c);
    m0_.push(MaterialKind::AndTriple, tag_, concat({&a0, &b0, &c0}));
    m1_.push(MaterialKind::AndTriple, tag_, concat({&a1, &b1, &c1}));
    return Words(w, 0);
  }
  Words and_inputs(const Words& mine) override {
    const size_t w = mine.size();
    Words alpha = d_.prg().words(w), beta = d_.prg().words(w), gamma(w);
    for (size_t i = 0; i < w; ++i) gamma[i] = alpha[i] & beta[i];
    auto [g0, g1] = d_.share_bool(gamma);
    m0_.push(MaterialKind::InputAndTriple, tag_, concat({&alpha, &g0}));
    m1_.push(MaterialKind::InputAndTriple, tag_, concat({&beta, &g1}));
    return Words(w, 0);
  }
  int party() const override { return 0; }

 private:
  Dealer& d_;
  std::string tag_;
  MaterialStore& m0_;
  MaterialStore& m1_;
};

class OnlineAnd final : public AndGates {
 public:
  OnlineAnd(Session& s, const std::string& tag) : s_(s), tag_(tag) {}
  Words and_shared(const Words& x, const Words& y) override {
    const size_t w = x.size();
    if (y.size() != w) throw InvalidArgument(tag_ + ": AND operands differ in size");
    Words t = s_.material.take(MaterialKind::AndTriple, 3 * w, tag_);
    const uint64_t* a = t.data();
    const uint64_t* b = t.data() + w;
    const uint64_t* c = t.data() + 2 * w;
    Words out(2 * w), in(2 * w);
    for (size_t i = 0; i < w; ++i) {
      out[i] = x[i] ^ a[i];
      out[w + i] = y[i] ^ b[i];
    }
    s_.channel.exchange(out.data(), out.size() * 8, in.data(), in.size() * 8);
    for (size_t i = 0; i < 2 * w; ++i) in[i] ^= out[i];
    Words z(w);
    s_.backend.gmw_and_level(s_.party, w, in.data(), in.data() + w, a, b, c, z.data());
    return z;
  }
  Words and_inputs(const Words& mine) override {
    const size_t w = mine.size();
    Words t = s_.material.take(MaterialKind::InputAndTriple, 2 * w, tag_);
    const uint64_t* mask = t.data();       // alpha at P0, beta at P1
    const uint64_t* gamma = t.data() + w;  // share of alpha & beta
    Words out(w), in(w);
    for (size_t i = 0; i < w; ++i) out[i] = mine[i] ^ mask[i];
    s_.channel.exchange(out.data(), w * 8, in.data(), w * 8);
    Words zero(w, 0), z(w);
    // a&b = d&e ^ d&beta ^ alpha&e ^ gamma with d = a^alpha (from P0), e = b^beta (from P1):
    // P0 computes gamma0 ^ (e & alpha) ^ (d & e), P1 gamma1 ^ (d & beta).
    if (s_.party == 0)
      s_.backend.gmw_and_level(0, w, out.data(), in.data(), mask, zero.data(), gamma, z.data());
    else
      s_.backend.gmw_and_level(1, w, in.data(), out.data(), zero.data(), mask, gamma, z.data());
    return z;
  }
  int party() const override { return s_.party; }

 private:
  Session& s_;
  std::string tag_;
};

/// Whether the merge of nodes (j, j+1) among cnt nodes must also produce P: always for a
/// segment whose P is wanted; otherwise not for the lowest node of a level (it is never
/// the upper half of a later merge) and not for the root.
bool merge_needs_p(bool need_p, size_t cnt, size_t j) {
  if (need_p) return true;
  return cnt > 2 && j != 0;
}

/// A contiguous bit range [lo, hi) whose (generate, propagate) pair is wanted.
struct Segment {
  int lo, hi;
  bool need_p;
};
struct GP {
  Words g, p;  // W words each (p empty when not needed)
};

Words slice_plane(const Words& planes, int bit, size_t w) {
  return Words(planes.begin() + static_cast<long>(bit * w), planes.begin() + static_cast<long>((bit + 1) * w));
}

/// (G, P) of each segment of the sum of P0's and P1's values, given this party's own
/// bit planes (`bits` planes of w words). Generate g_i = a_i & b_i (input ANDs),
/// propagate p_i = a_i ^ b_i (local: own plane is this party's XOR share), then a
/// balanced tree per segment, all segments level by level in the same rounds.
/// Each merge (hi over lo): G = G_hi ^ (P_hi & G_lo), P = P_hi & P_lo.
std::vector<GP> segment_gp(AndGates& ag, const Words& planes, size_t w,
                           const std::vector<Segment>& segs) {
  int lo_all = 64, hi_all = 0;
  for (auto& sg : segs) {
    lo_all = std::min(lo_all, sg.lo);
    hi_all = std::max(hi_all, sg.hi);
  }
  Words own(planes.begin() + static_cast<long>(lo_all * w), planes.begin() + static_cast<long>(hi_all * w));
  Words g_all = ag.and_inputs(own);
  std::vector<std::vector<GP>> nodes(segs.size());
  for (size_t si = 0; si < segs.size(); ++si)
    for (int b = segs[si].lo; b < segs[si].hi; ++b)
      nodes[si].push_back(GP{slice_plane(g_all, b - lo_all, w), slice_plane(planes, b, w)});
  for (;;) {
    Words xs, ys;
    struct Job {
      size_t seg, pair;
      bool with_p;
    };
    std::vector<Job> jobs;
    for (size_t si = 0; si < segs.size(); ++si) {
      const size_t cnt = nodes[si].size();
      for (size_t j = 0; j + 1 < cnt; j += 2) {
        const GP& lo = nodes[si][j];
        const GP& hi = nodes[si][j + 1];
        const bool with_p = merge_needs_p(segs[si].need_p, cnt, j);
        xs.insert(xs.end(), hi.p.begin(), hi.p.end());
        ys.insert(ys.end(), lo.g.begin(), lo.g.end());
        if (with_p) {
          xs.insert(xs.end(), hi.p.begin(), hi.p.end());
          ys.insert(ys.end(), lo.p.begin(), lo.p.end());
        }
        jobs.push_back(Job{si, j, with_p});
      }
    }
    if (jobs.empty()) break;
    Words zs = ag.and_shared(xs, ys);
    size_t off = 0;
    std::vector<std::vector<GP>> next(segs.size());
    size_t ji = 0;
    for (size_t si = 0; si < segs.size(); ++si) {
      const size_t cnt = nodes[si].size();
      for (size_t j = 0; j < cnt; j += 2) {
        if (j + 1 >= cnt) {  // odd node passes through
          next[si].push_back(std::move(nodes[si][j]));
          continue;
        }
        const Job& job = jobs[ji++];
        GP merged;
        merged.g = nodes[si][j + 1].g;
        for (size_t i = 0; i < w; ++i) merged.g[i] ^= zs[off + i];
        off += w;
        if (job.with_p) {
          merged.p.assign(zs.begin() + static_cast<long>(off), zs.begin() + static_cast<long>(off + w));
          off += w;
        }
        next[si].push_back(std::move(merged));
      }
    }
    nodes = std::move(next);
  }
  std::vector<GP> out;
  for (auto& n : nodes) out.push_back(std::move(n[0]));
  return out;
}

/// Boolean-shared DReLU bits of x (this party's share), circuit only: the MSB of bits
/// [lo, hi) of x0 + x1, i.e. of (x0 >> lo) + (x1 >> lo) mod 2^(hi - lo).
Words drelu_circuit(AndGates& ag, Backend& be, int lo, int hi, size_t n, const Words& x) {
  const size_t w = words_for_bits(n);
  Words planes(static_cast<size_t>(hi) * w);
  be.bit_slice(hi, n, x.data(), planes.data());
  std::vector<GP> gp = segment_gp(ag, planes, w, {Segment{lo, hi - 1, false}});
  Words d(w);
  const uint64_t ones = ag.party() == 0 ? ~uint64_t{0} : 0;
  for (size_t i = 0; i < w; ++i) d[i] = planes[static_cast<size_t>(hi - 1) * w + i] ^ gp[0].g[i] ^ ones;
  return d;
}

/// XOR shares of (carry into bit `shift`, carry out of bit l-1 = wrap) of u0 + u1, from this
/// party's `bits` bit planes of u (W words each; zeros when dealing).
/// Exact: two (G, P) trees, over bits [0, shift) and [shift, l), then
///   wrap = G_hi ^ (P_hi & G_lo).
/// Slack (u = x + 2^(l-2) with |x| < 2^(l-2), so the MSB of u is 0): only the tree over
/// [0, shift); the wrap is msb(u0) OR msb(u1) (SIRNN's MSB-to-wrap; Cheetah's truncation
/// with known MSB): with msb(u) = 0 the carry into bit l-1 is a ^ b for a = msb(u0),
/// b = msb(u1), so wrap = maj(a, b, a ^ b) = a | b = (a ^ b) ^ (a & b): one input AND,
/// computed in the same round as the tree's input ANDs.
std::pair<Words, Words> trunc_carries(AndGates& ag, const Words& planes, int bits, int shift, size_t w,
                                      bool slack) {
  if (!slack) {
    std::vector<GP> gp = segment_gp(ag, planes, w, {Segment{0, shift, false}, Segment{shift, bits, true}});
    Words t = ag.and_shared(gp[1].p, gp[0].g);
    Words wrap = gp[1].g;
    for (size_t i = 0; i < w; ++i) wrap[i] ^= t[i];
    return {std::move(gp[0].g), std::move(wrap)};
  }
  // Planes [0, shift) then the MSB plane as plane `shift`.
  Words sel(planes.begin(), planes.begin() + static_cast<long>(static_cast<size_t>(shift) * w));
  const Words msb = slice_plane(planes, bits - 1, w);
  sel.insert(sel.end(), msb.begin(), msb.end());
  std::vector<GP> gp = segment_gp(ag, sel, w, {Segment{0, shift, false}, Segment{shift, shift + 1, false}});
  Words wrap = msb;  // own MSB plane: this party's XOR share of a ^ b
  for (size_t i = 0; i < w; ++i) wrap[i] ^= gp[1].g[i];
  return {std::move(gp[0].g), std::move(wrap)};
}


}  // namespace

// ---- B2A ----------------------------------------------------------------------------
namespace detail {
Words deal_b2a_pair(Dealer& d, size_t n, const std::string& tag, MaterialStore& m0,
                    MaterialStore& m1) {
  return deal_b2a_pair(d, d.ring().bits, n, tag, m0, m1);
}

Words deal_b2a_pair(Dealer& d, int bits, size_t n, const std::string& tag, MaterialStore& m0,
                    MaterialStore& m1) {
  const size_t w = words_for_bits(n);
  Words r = d.prg().words(w);
  if (n % 64) r[w - 1] &= (uint64_t{1} << (n % 64)) - 1;
  Words ra(n);
  for (size_t j = 0; j < n; ++j) ra[j] = (r[j / 64] >> (j % 64)) & 1;
  auto [rb0, rb1] = d.share_bool(r);
  auto [ra0, ra1] = d.share_arith(ra, bits);
  m0.push(MaterialKind::B2APair, tag, concat({&rb0, &ra0}));
  m1.push(MaterialKind::B2APair, tag, concat({&rb1, &ra1}));
  return ra;
}
}  // namespace detail

void deal_b2a(Dealer& d, size_t n, const std::string& tag, MaterialStore& m0, MaterialStore& m1) {
  detail::deal_b2a_pair(d, n, tag, m0, m1);
}


B2aStep b2a_prepare(Session& s, Opening& op, const Words& bits, size_t n, const std::string& tag) {
  const size_t w = words_for_bits(n);
  if (bits.size() != w) throw InvalidArgument(tag + ": b2a expects " + std::to_string(w) + " words");
  B2aStep st;
  st.pair = s.material.take(MaterialKind::B2APair, w + n, tag);
  st.n = n;
  Words masked(w);
  for (size_t i = 0; i < w; ++i) masked[i] = bits[i] ^ st.pair[i];
  st.slot = op.boolean(std::move(masked));
  return st;
}

Words b2a_finish(Session& s, const Opening& op, const B2aStep& st) {
  Words z(st.n);
  s.backend.b2a_combine(s.party, s.ring.bits, st.n, op.opened(st.slot).data(), st.r(), z.data());
  return z;
}

Words b2a(Session& s, const Words& bits, size_t n, const std::string& tag) {
  Opening op(s);
  const B2aStep st = b2a_prepare(s, op, bits, n, tag);
  op.exchange();
  return b2a_finish(s, op, st);
}

// ---- DReLU (GMW), dispatched from compare.cpp ------------------------------------------------
namespace detail {
void deal_drelu_gmw(Dealer& d, size_t n, CompareBits b, const std::string& tag, MaterialStore& m0,
                    MaterialStore& m1) {
  DealAnd ag(d, tag, m0, m1);
  // The circuit's shape depends on sizes only: run it on zero planes.
  const size_t w = words_for_bits(n);
  Words planes(static_cast<size_t>(b.hi) * w, 0);
  segment_gp(ag, planes, w, {Segment{b.lo, b.hi - 1, false}});
}

Words drelu_gmw(Session& s, const Words& x, CompareBits b, const std::string& tag) {
  OnlineAnd ag(s, tag);
  return drelu_circuit(ag, s.backend, b.lo, b.hi, x.size(), x);
}

}  // namespace detail


// ---- exact truncation (GMW carries; with or without slack) ----------------------------------
namespace detail {
void deal_trunc_carries(Dealer& d, size_t n, int shift, bool slack, const std::string& tag, MaterialStore& m0,
                        MaterialStore& m1) {
  DealAnd ag(d, tag, m0, m1);
  // The circuit's shape depends on sizes only: run it on zero planes.
  const size_t w = words_for_bits(n);
  const int bits = d.ring().bits;
  trunc_carries(ag, Words(static_cast<size_t>(bits) * w, 0), bits, shift, w, slack);
  deal_b2a(d, n, tag + "/carry", m0, m1);
  deal_b2a(d, n, tag + "/wrap", m0, m1);
}

Words trunc_with_carries(Session& s, const Words& x, int shift, bool slack, const std::string& tag) {
  const size_t n = x.size(), w = words_for_bits(n);
  const int bits = s.ring.bits;
  const uint64_t m = s.ring.mask();
  // u = x + 2^(l-1) (exact: u's carries give floor(x / 2^s) for every x) or x + 2^(l-2)
  // (slack: |x| < 2^(l-2) makes the MSB of u 0). Bit planes of this party's share of u.
  const uint64_t offset = uint64_t{1} << (bits - (slack ? 2 : 1));
  Words u(x);
  if (s.party == 0)
    for (auto& v : u) v = (v + offset) & m;
  Words planes(static_cast<size_t>(bits) * w);
  s.backend.bit_slice(bits, n, u.data(), planes.data());
  OnlineAnd ag(s, tag);
  auto [carry_b, wrap_b] = trunc_carries(ag, planes, bits, shift, w, slack);
  // Both B2As in one round.
  Opening op(s);
  const B2aStep carry_step = b2a_prepare(s, op, carry_b, n, tag + "/carry");
  const B2aStep wrap_step = b2a_prepare(s, op, wrap_b, n, tag + "/wrap");
  op.exchange();
  const Words carry = b2a_finish(s, op, carry_step), wrap = b2a_finish(s, op, wrap_step);
  // The combine adds 2^(l-1) to P0's share and subtracts 2^(l-1-s); with slack P0 passes
  // x0 - 2^(l-2) (so the combine's u is x + 2^(l-2)) and adds back 2^(l-2-s).
  Words xin(x);
  if (slack && s.party == 0)
    for (auto& v : xin) v = (v - offset) & m;
  Words z(n);
  s.backend.trunc_exact_combine(s.party, bits, shift, n, xin.data(), carry.data(), wrap.data(), z.data());
  if (slack && s.party == 0)
    for (auto& v : z) v = (v + (uint64_t{1} << (bits - 2 - shift))) & m;
  return z;
}

// ---- carry out of the low k bits (ring extension and reduction) ------------------------------
void deal_carry_out_gmw(Dealer& d, size_t n, int k, const std::string& tag, MaterialStore& m0,
                        MaterialStore& m1) {
  DealAnd ag(d, tag, m0, m1);
  // The circuit's shape depends on sizes only: run it on zero planes.
  const size_t w = words_for_bits(n);
  segment_gp(ag, Words(static_cast<size_t>(k) * w, 0), w, {Segment{0, k, false}});
}

Words carry_out_gmw(Session& s, const Words& x, int k, const std::string& tag) {
  const size_t n = x.size(), w = words_for_bits(n);
  Words planes(static_cast<size_t>(k) * w);
  s.backend.bit_slice(k, n, x.data(), planes.data());
  OnlineAnd ag(s, tag);
  return std::move(segment_gp(ag, planes, w, {Segment{0, k, false}})[0].g);
}

}  // namespace detail


}  // namespace polympc::mpc
