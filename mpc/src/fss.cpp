// FSS comparison gates: DReLU, ReLU and the ReLU gate over patches (Block-ReLU) from a DCF
// (Boyle et al., "Function Secret Sharing for Mixed-Mode and Fixed-Point Secure
// Computation", EUROCRYPT'21), with a dealer-assisted multiplexer. Derivations and proofs:
// docs/protocols.md, "FSS comparison" and "Block-ReLU".
//
// Notation: l ring bits; the compared bits [lo, hi), m = hi - lo; x = x0 + x1 the input;
// r the dealer's mask (l bits, uniform); xh = x + r (opened, round 1);
//   X = (xh >> lo) mod 2^m,   R = ((r >> lo) + [lo > 0]) mod 2^m,
// borrow = 1{X mod 2^(m-1) < R mod 2^(m-1)} from a DCF of depth m - 1 with
// alpha = R mod 2^(m-1) evaluated at X. Then
//   msb((X - R) mod 2^m) = X_{m-1} ^ R_{m-1} ^ borrow,   DReLU = 1 ^ that msb,
// exactly DReLU(x) when [lo, hi) = [0, l).
//
// ReLU, round 2: the parties open e = borrow ^ R_{m-1} ^ t (t a fresh dealer bit, so e is
// a uniform bit), making p = 1 ^ X_{m-1} ^ e public with DReLU = p ^ t = p + (1 - 2p) t.
// With arithmetic shares of t, r and t·r from the dealer:
//   ReLU(x) = DReLU·(xh - r) = p·xh + (1 - 2p)·(t·xh - t·r) - p·r,
// which each party computes locally:  z_b = [b = 0] p·xh + (1 - 2p)(xh·t_b - tr_b) - p·r_b.
#ifdef __linux__
#include <sys/mman.h>
#endif

#include <cstdint>
#include <string>

#include "compare_internal.h"
#include "polympc/mpc/dcf.h"

namespace polympc::mpc::detail {
namespace {

/// What the dealer and the parties derive from the bit range.
struct Plan {
  int lo, m, depth;
  uint64_t plus;    ///< 1 when low bits are dropped (lo > 0): R = (r >> lo) + 1
  uint64_t mask_m;  ///< 2^m - 1
  uint64_t mask_d;  ///< 2^(m-1) - 1
};

Plan plan_of(CompareBits b) {
  Plan p;
  p.lo = b.lo;
  p.m = b.hi - b.lo;
  p.depth = p.m - 1;
  p.plus = b.lo > 0 ? 1 : 0;
  p.mask_m = p.m >= 64 ? ~uint64_t{0} : (uint64_t{1} << p.m) - 1;
  p.mask_d = (uint64_t{1} << p.depth) - 1;
  return p;
}

/// R = ((r >> lo) + plus) mod 2^m for each r; alpha = R mod 2^(m-1) and the packed bits
/// R_{m-1} (XORed with t when t is given).
void dcf_inputs(const Plan& p, const Words& r, const Words* t, Words& alpha, Words& c) {
  const size_t n = r.size();
  alpha.assign(n, 0);
  c.assign(words_for_bits(n), 0);
  for (size_t j = 0; j < n; ++j) {
    const uint64_t big = ((r[j] >> p.lo) + p.plus) & p.mask_m;
    alpha[j] = big & p.mask_d;
    uint64_t bit = (big >> p.depth) & 1;
    if (t != nullptr) bit ^= (*t)[j];
    c[j / 64] |= bit << (j % 64);
  }
}

/// A zeroed buffer of `words` words. Key batches are large (1040 bytes per element at
/// l = 64): on Linux they are backed by transparent huge pages where the system allows it
/// (madvise), which makes faulting them in, walking them and freeing them much cheaper.
Words key_buffer(size_t words) {
  Words v;
  v.reserve(words);
#ifdef __linux__
  constexpr uintptr_t kHuge = uintptr_t{2} << 20;
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(v.data()) + kHuge - 1) & ~(kHuge - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(v.data() + words)) & ~(kHuge - 1);
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);  // a hint only
#endif
  v.resize(words);
  return v;
}

/// Pushes both parties' DCF keys for the given alphas.
void push_keys(Dealer& d, const Plan& p, const Words& alpha, const std::string& tag, MaterialStore& m0,
               MaterialStore& m1) {
  push_dcf_keys(d, p.depth, alpha, tag, m0, m1);
}

/// Takes this party's n keys of the given depth; a batch of the wrong size is reported
/// as truncated keys rather than as material out of step.
Words take_keys(Session& s, const Plan& p, size_t n, const std::string& tag) {
  return take_dcf_keys(s, p.depth, n, tag);
}

/// Round 1 and the local DCF evaluation: opens xh = x + r, returns xh, the points
/// X = (xh >> lo) mod 2^m and this party's shares of the borrow bits (packed).
struct Evaluated {
  Words xh, pts, borrow;
};
/// The local DCF evaluation at the opened (masked) values `xh`.
Evaluated eval_points(Session& s, const Plan& p, Words xh, const Words& keys,
                      const std::string& tag) {
  const size_t n = xh.size();
  Evaluated ev;
  ev.xh = std::move(xh);
  ev.pts.resize(n);
  for (size_t j = 0; j < n; ++j) ev.pts[j] = (ev.xh[j] >> p.lo) & p.mask_m;
  ev.borrow.assign(words_for_bits(n), 0);
  try {
    s.backend.dcf_eval(s.party, p.depth, n, keys.data(), ev.pts.data(), ev.borrow.data());
  } catch (const MaterialError& e) {
    throw MaterialError("P" + std::to_string(s.party) + ": " + tag + ": " + e.what());
  }
  return ev;
}
Evaluated open_and_eval(Session& s, const Plan& p, const Words& x, const Words& keys,
                        const uint64_t* r, const std::string& tag) {
  const size_t n = x.size();
  const uint64_t mask = s.ring.mask();
  Words y(n);
  for (size_t j = 0; j < n; ++j) y[j] = (x[j] + r[j]) & mask;
  return eval_points(s, p, open_arith(s, y), keys, tag);
}

Selector identity_selector(size_t n) { return block_selector(n, 1); }

}  // namespace

// ---- DCF keys as material ---------------------------------------------------------------------
void push_dcf_keys(Dealer& d, int depth, const Words& alpha, const std::string& tag, MaterialStore& m0,
                   MaterialStore& m1) {
  const size_t n = alpha.size();
  const size_t kw = dcf_key_words(depth);
  Words k0 = key_buffer(n * kw), k1 = key_buffer(n * kw);
  dcf_gen(d.prg(), depth, n, alpha.data(), k0.data(), k1.data());
  m0.push(MaterialKind::DcfKeys, tag + "/dcf", std::move(k0));
  m1.push(MaterialKind::DcfKeys, tag + "/dcf", std::move(k1));
}

Words take_dcf_keys(Session& s, int depth, size_t n, const std::string& tag) {
  const size_t kw = dcf_key_words(depth);
  const MaterialItem* next = s.material.peek();
  if (next != nullptr && next->kind == MaterialKind::DcfKeys && next->words.size() != n * kw) {
    const size_t have = next->words.size();
    throw MaterialError("P" + std::to_string(s.party) + ": " + tag + ": DCF keys '" + next->tag +
                        "' are truncated or of the wrong size: " + std::to_string(have) + " words, but " +
                        std::to_string(n) + " keys of depth " + std::to_string(depth) + " need " +
                        std::to_string(n * kw) + " (" + std::to_string(kw) + " words = " +
                        std::to_string(dcf_key_bytes(depth)) + " bytes each)");
  }
  return s.material.take(MaterialKind::DcfKeys, n * kw, tag + "/dcf");
}

// ---- DReLU ------------------------------------------------------------------------------
void deal_drelu_fss(Dealer& d, size_t n, CompareBits b, const std::string& tag, MaterialStore& m0,
                    MaterialStore& m1) {
  const Plan p = plan_of(b);
  Words r = d.random(n), alpha, c;
  dcf_inputs(p, r, nullptr, alpha, c);
  push_keys(d, p, alpha, tag, m0, m1);
  auto [r0, r1] = d.share_arith(r);
  auto [c0, c1] = d.share_bool(c);
  m0.push(MaterialKind::FssDReluMasks, tag, concat({&r0, &c0}));
  m1.push(MaterialKind::FssDReluMasks, tag, concat({&r1, &c1}));
}

Words drelu_fss(Session& s, const Words& x, CompareBits b, const std::string& tag) {
  const Plan p = plan_of(b);
  const size_t n = x.size(), w = words_for_bits(n);
  Words keys = take_keys(s, p, n, tag);
  Words t = s.material.take(MaterialKind::FssDReluMasks, n + w, tag);
  const Evaluated ev = open_and_eval(s, p, x, keys, t.data(), tag);
  // DReLU share = borrow_b ^ c_b ^ [p0] (1 ^ X_{m-1}).
  Words out(w);
  for (size_t i = 0; i < w; ++i) out[i] = ev.borrow[i] ^ t[n + i];
  if (s.party == 0) {
    Words pub(w, 0);
    for (size_t j = 0; j < n; ++j) pub[j / 64] |= (((ev.pts[j] >> p.depth) & 1) ^ 1) << (j % 64);
    for (size_t i = 0; i < w; ++i) out[i] ^= pub[i];
  }
  return out;
}

// ---- ReLU and patch ReLU -------------------------------------------------------------------
// The ReLU gate over patches (Block-ReLU): element i of patch sel[i] is masked by its own
// r_i; the patch sum S_p is compared through its opened Ŝ_p = Σ (x_i + r_i) = S_p + R_p,
// R_p = Σ r_i, so the DCF of patch p is keyed with the mask R_p. Round 2 opens one bit e_p
// per patch, and each element is multiplexed with p_p and its patch's bit t_p:
//   z_b,i = [b = 0] p·xh_i + (1 - 2p)(xh_i·t_b - (t·r_i)_b) - p·r_b,i.
// ReLU is the case of one element per patch (sel = identity, R = r): the same material,
// drawn in the same order.
void deal_patch_relu_fss(Dealer& d, const Selector& sel, size_t patches, CompareBits b,
                         const std::string& tag, MaterialStore& m0, MaterialStore& m1) {
  const Plan p = plan_of(b);
  const uint64_t mask = d.ring().mask();
  const size_t n = sel.size();
  Words r = d.random(n);
  Words t = d.prg().words(patches, 1);  // fresh uniform bits, one per patch
  Words big_r(patches, 0), tr(n), alpha, c;
  for (size_t i = 0; i < n; ++i) {
    big_r[sel[i]] = (big_r[sel[i]] + r[i]) & mask;
    tr[i] = t[sel[i]] ? r[i] & mask : 0;
  }
  dcf_inputs(p, big_r, &t, alpha, c);
  push_keys(d, p, alpha, tag, m0, m1);
  auto [r0, r1] = d.share_arith(r);
  auto [t0, t1] = d.share_arith(t);
  auto [q0, q1] = d.share_arith(tr);
  auto [c0, c1] = d.share_bool(c);
  m0.push(MaterialKind::FssReluMasks, tag, concat({&r0, &t0, &q0, &c0}));
  m1.push(MaterialKind::FssReluMasks, tag, concat({&r1, &t1, &q1, &c1}));
}

Words patch_relu_fss(Session& s, const Words& x, const Selector& sel, size_t patches, CompareBits b,
                     const std::string& tag) {
  const Plan p = plan_of(b);
  const size_t n = x.size(), w = words_for_bits(patches);
  if (sel.size() != n)
    throw InvalidArgument(tag + ": " + std::to_string(n) + " values, a selector of " +
                          std::to_string(sel.size()));
  const uint64_t mask = s.ring.mask();
  Words keys = take_keys(s, p, patches, tag);
  Words mat = s.material.take(MaterialKind::FssReluMasks, 2 * n + patches + w, tag);
  const uint64_t* r = mat.data();
  const uint64_t* t = mat.data() + n;
  const uint64_t* tr = mat.data() + n + patches;
  const uint64_t* c = mat.data() + 2 * n + patches;
  // Round 1: open xh = x + r per element; the patch sums of xh are the masked patch sums.
  Words y(n);
  for (size_t i = 0; i < n; ++i) y[i] = (x[i] + r[i]) & mask;
  const Words xh = open_arith(s, y);
  Words sums(patches, 0);
  for (size_t i = 0; i < n; ++i) sums[sel[i]] = (sums[sel[i]] + xh[i]) & mask;
  const Evaluated ev = eval_points(s, p, std::move(sums), keys, tag);
  keys = Words();  // release the key memory before the second round
  // Round 2: open e = borrow ^ R_{m-1} ^ t (one bit per patch and party).
  Words e_share(w);
  for (size_t k = 0; k < w; ++k) e_share[k] = ev.borrow[k] ^ c[k];
  const Words e = open_bool(s, e_share);
  // z_b = [p0] p·xh + (1 - 2p)(xh·t_b - tr_b) - p·r_b, p = 1 ^ X_{m-1} ^ e of the patch.
  const uint64_t p0 = s.party == 0 ? ~uint64_t{0} : 0;
  Words z(n);
  for (size_t i = 0; i < n; ++i) {
    const size_t j = sel[i];
    const uint64_t pj = 1 ^ ((ev.pts[j] >> p.depth) & 1) ^ ((e[j / 64] >> (j % 64)) & 1);
    const uint64_t pm = uint64_t{0} - pj;  // all ones when p = 1
    const uint64_t u = xh[i] * t[j] - tr[i];
    // (1 - 2p)·u = p ? -u : u;  p·v = v & pm
    const uint64_t su = (u ^ pm) - pm;
    z[i] = (su + (xh[i] & pm & p0) - (r[i] & pm)) & mask;
  }
  return z;
}

void deal_relu_fss(Dealer& d, size_t n, CompareBits b, const std::string& tag, MaterialStore& m0,
                   MaterialStore& m1) {
  deal_patch_relu_fss(d, identity_selector(n), n, b, tag, m0, m1);
}

Words relu_fss(Session& s, const Words& x, CompareBits b, const std::string& tag) {
  return patch_relu_fss(s, x, identity_selector(x.size()), x.size(), b, tag);
}

}  // namespace polympc::mpc::detail
