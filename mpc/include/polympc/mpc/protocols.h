// 2PC protocols on arithmetic shares in Z_{2^l} (docs/design.md §5), each in two halves:
//   deal_X(dealer, ..., m0, m1)  offline: pushes the material both parties need, in order;
//   X(session, ...)              online: one party's side; consumes the same items.
// The dealer half and the online half must be called in the same order with the same
// sizes; the MaterialStore refuses anything out of step. Each protocol has a plaintext
// twin in plaintext.h, and X_cost() gives its cost (online communication, the dealer
// material it consumes and the dealer's key-generation work: Cost) by running the online
// half in the counting context (counting.h, costs.cpp): no formula restates a protocol.
//
// Shapes: flat vectors of n elements (NCHW order where it matters). Boolean values are
// bit-sliced: element j is bit j%64 of word j/64, W = ceil(n/64) words.
// Errors: InvalidArgument on size mismatch, MaterialError on missing/out-of-step material,
// ChannelError if the peer fails.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "polympc/mpc/dealer.h"
#include "polympc/mpc/session.h"

namespace polympc::mpc {

using Words = std::vector<uint64_t>;

/// Cost of one protocol call, per party (both parties send the same and hold material of
/// the same size). Exact: counted (counting.h), and the tests compare each field with a real
/// run's wire (online) and with the MaterialStore sizes and DCF keys the deal_X half pushes
/// (offline).
struct Cost {
  // Online phase.
  uint64_t bytes = 0;   ///< bytes sent by one party
  uint64_t rounds = 0;  ///< rounds
  // Offline phase (dealer).
  /// Dealer material this call consumes, bytes per party: 8 x the words deal_X pushes to
  /// each party's MaterialStore (items only; per-model fixed masks are setup, not counted).
  uint64_t offline_bytes = 0;
  /// Key-generation work: AES-128 blocks the dealer encrypts in dcf_gen for this call's DCF
  /// keys (4 per level per key pair: both children of both seeds, dcf.cpp). The PRG output
  /// behind the other material (AES-CTR, Prg) is not counted.
  uint64_t keygen_aes_blocks = 0;
  Cost& operator+=(const Cost& o) {
    bytes += o.bytes;
    rounds += o.rounds;
    offline_bytes += o.offline_bytes;
    keygen_aes_blocks += o.keygen_aes_blocks;
    return *this;
  }
};

/// AES blocks dcf_gen encrypts for n key pairs of the given depth: 4 n depth.
inline uint64_t dcf_keygen_aes_blocks(size_t n, int depth) {
  return 4 * static_cast<uint64_t>(n) * static_cast<uint64_t>(depth > 0 ? depth : 0);
}

inline size_t words_for_bits(size_t n) { return (n + 63) / 64; }

// ---- multiplication (Beaver, CRYPTO'91) ---------------------------------------------
/// z = x * y elementwise (no truncation). 1 round, 2 n ceil(l/8) bytes; material: a Beaver
/// triple, 3n words.
void deal_mul(Dealer& d, size_t n, const std::string& tag, MaterialStore& m0, MaterialStore& m1);
Words mul(Session& s, const Words& x, const Words& y, const std::string& tag);
Cost mul_cost(const RingConfig& r, size_t n);

/// z = x^2 with a square pair (a, a^2). 1 round, n ceil(l/8) bytes; material 2n words.
void deal_square(Dealer& d, size_t n, const std::string& tag, MaterialStore& m0, MaterialStore& m1);
Words square(Session& s, const Words& x, const std::string& tag);
Cost square_cost(const RingConfig& r, size_t n);

// ---- truncation --------------------------------------------------------------------
/// z = x >> shift on the signed value. Exact mode: floor(x / 2^shift) exactly, via the
/// GMW carries of u0 + u1 with u = x + 2^(l-1) (see gmw section; ~9 rounds for l=64).
/// Prob mode: SecureML (S&P'17) with a dealer pair, 1 round, off by at most 1 ulp; fails
/// when |x| >= 2^options.trunc_bound_bits or w.p. ~2^(bound+1-l).
/// Fss mode (SIGMA, Gupta et al., eprint 2023/1269, truncation with slack; DCF of Boyle et
/// al., EUROCRYPT'21; docs/protocols.md "FSS truncation"): floor(x / 2^shift) exactly, bit
/// for bit equal to plain::trunc, for signed |x| < 2^(l-2); outside that bound the result is
/// wrong (off by a multiple of 2^(l-shift)). Needs 1 <= shift <= l-2 (InvalidArgument
/// otherwise). Online: open x + r (round 1, ceil(l/8) bytes per element), a DCF of depth
/// shift evaluated locally (Backend::dcf_eval), B2A of the carry bit (round 2, 8 ceil(n/64)
/// bytes), then Backend::trunc_exact_combine. Material per element and party:
/// trunc_cost(...).offline_bytes / 8 words (a DCF key of dcf_key_bytes(shift) bytes, r, a
/// 4-word table, the XOR share of a bit and a B2A pair).
void deal_trunc(Dealer& d, size_t n, int shift, const ProtocolOptions& o, const std::string& tag,
                MaterialStore& m0, MaterialStore& m1);
Words trunc(Session& s, const Words& x, int shift, const std::string& tag);
Cost trunc_cost(const RingConfig& r, const ProtocolOptions& o, size_t n, int shift);

// ---- ring extension and reduction (issue 13 "per-layer rings") ------------------------
// Gates between rings of different widths: shares x = x0 + x1 mod 2^l in, shares mod 2^l'
// out, both widths explicit arguments in [8, 64] (the Session's and the Dealer's own ring
// widths are NOT used; the session gives the party, channel, backend and material). Values
// are read as signed l-bit integers. Shapes: x is this party's n shares, words of Z_{2^l}
// (bits at and above l are ignored); the result is its n shares, words of Z_{2^l'} (bits
// at and above l' zero); n = 0 costs nothing and needs no material. Each gate's plaintext
// twin is in plaintext.h (plain::ring_reduce, plain::trunc_reduce, plain::sign_extend); the
// 2PC result equals it bit for bit on the stated domain. Sources: SIGMA (Gupta et al., "SIGMA: Secure GPT
// Inference with Function Secret Sharing", PETS'24, eprint 2023/1269, TruncateReduce and
// SignExtend) and LLAMA (Gupta et al., PETS'22, eprint 2022/793, zero/sign extension),
// with the DCF of Boyle et al. (EUROCRYPT'21, dcf.h) and the FSS truncation's carry
// (trunc_fss.cpp). Derivations, views and costs: docs/protocols.md "Ring extension and
// reduction".
// Protocol: truncate-reduce and sign extension each need one carry / wrap bit, computed by
// the comparison protocol ProtocolOptions::compare (compare_bits do not apply): Fss opens
// the masked input and evaluates a DCF (2 rounds, ceil(l/8) bytes + 1 bit per element; a
// DCF key of material), Gmw runs the (G, P) carry tree of DReLU and exact truncation on the
// shares (2 + ceil(log2 k) rounds, k = shift or l; AND triples, no DCF). Both equal the
// twin bit for bit on the whole ring. The dealer half takes the options explicitly, the
// online half reads Session::options: both must agree (MaterialError otherwise).
// Errors: InvalidArgument naming the widths when they are out of range (also from the
// dealer half, the *_cost functions and the twins); MaterialError when the material is
// missing, used twice, of another kind, truncated, or dealt for other widths or the other
// protocol (the material starts with a public header word: gate, protocol, both widths);
// ChannelError if the peer fails.

/// The width checks of the three gates (their dealer, online, cost and plaintext halves all
/// call them): InvalidArgument naming `tag`, the gate and the widths unless they are valid.
void check_ring_reduce_bits(int from_bits, int to_bits, const std::string& tag);
void check_trunc_reduce_bits(int from_bits, int shift, const std::string& tag);
void check_sign_extend_bits(int from_bits, int to_bits, const std::string& tag);

/// Reduce l -> l' < l: y = x mod 2^l', local on each share (x0 mod 2^l' + x1 mod 2^l').
/// Always the low l' bits of x; equal to x as a signed value iff -2^(l'-1) <= x < 2^(l'-1).
/// Needs 8 <= to_bits < from_bits <= 64. 0 rounds, 0 bytes, no material (deal_ring_reduce
/// pushes nothing and only checks the widths, so that every gate has both halves).
void deal_ring_reduce(Dealer& d, size_t n, int from_bits, int to_bits, const std::string& tag,
                      MaterialStore& m0, MaterialStore& m1);
Words ring_reduce(Session& s, const Words& x, int from_bits, int to_bits, const std::string& tag);
Cost ring_reduce_cost(size_t n, int from_bits, int to_bits);

/// Truncate-reduce l -> l - shift (SIGMA, TruncateReduce): y = floor(x / 2^shift) of the
/// signed value, mod 2^(l-shift). Exact for EVERY x in Z_{2^l} (no slack bound: the wrap out
/// of the ring is a multiple of 2^(l-shift) and vanishes in the smaller ring). Needs
/// 8 <= from_bits <= 64, shift >= 1 and from_bits - shift >= 8.
///  - FSS: open x + r in Z_{2^l} (round 1, ceil(l/8) bytes per element), a DCF of depth
///    `shift` evaluated locally (Backend::dcf_eval; the carry into bit s, as the FSS
///    truncation), B2A of the carry in Z_{2^(l-s)} (round 2, 8 ceil(n/64) bytes). Material
///    per party: n DCF keys of dcf_key_bytes(shift) bytes, TruncReduceMasks (1 + 2n + W
///    words), a B2A pair (W + n words).
///  - GMW: the carry c out of the low `shift` bits of x0 + x1 by the carry tree
///    (2 + ceil(log2 shift) rounds with the B2A), y_b = (x_b >> s) + c_b. Material: a
///    one-word TruncReduceMasks header, AND triples, a B2A pair.
/// trunc_reduce_cost(...) counts bytes, rounds, material and DCF key generation.
void deal_trunc_reduce(Dealer& d, size_t n, int from_bits, int shift, const ProtocolOptions& o,
                       const std::string& tag, MaterialStore& m0, MaterialStore& m1);
Words trunc_reduce(Session& s, const Words& x, int from_bits, int shift, const std::string& tag);
Cost trunc_reduce_cost(const ProtocolOptions& o, size_t n, int from_bits, int shift);

/// Sign extension l -> l' > l (SIGMA/LLAMA SignExtend): shares mod 2^l' of the signed value
/// of x. Exact for EVERY x in Z_{2^l}. Needs 8 <= from_bits < to_bits <= 64. With
/// u = x + 2^(l-1) (P0 adds 2^(l-1)), the signed value of x is u - 2^(l-1), u in [0, 2^l):
///  - FSS: open uh = u + r in Z_{2^l} (round 1, ceil(l/8) bytes per element), the wrap
///    w = 1{uh < r} from a DCF of depth l (Backend::dcf_eval), B2A of w in Z_{2^l'} (round 2,
///    8 ceil(n/64) bytes); locally y = uh - r + 2^l·w - 2^(l-1). Material per party: n DCF
///    keys of dcf_key_bytes(from_bits) bytes, SignExtendMasks (1 + n words), a B2A pair
///    (W + n words).
///  - GMW: w = the carry out of bit l-1 of u0 + u1 by the carry tree (2 + ceil(log2 l)
///    rounds with the B2A), y_b = u_b - 2^l·w_b - [b = 0]·2^(l-1). Material: a one-word
///    SignExtendMasks header, AND triples, a B2A pair.
/// sign_extend_cost(...) counts bytes, rounds, material and DCF key generation.
void deal_sign_extend(Dealer& d, size_t n, int from_bits, int to_bits, const ProtocolOptions& o,
                      const std::string& tag, MaterialStore& m0, MaterialStore& m1);
Words sign_extend(Session& s, const Words& x, int from_bits, int to_bits, const std::string& tag);
Cost sign_extend_cost(const ProtocolOptions& o, size_t n, int from_bits, int to_bits);

// ---- GMW boolean circuits (CrypTen-style with dealer AND triples) -------------------
/// B2A of bit-sliced boolean shares (n bits in W words) -> arithmetic 0/1 shares.
/// 1 round, 8 W bytes. deal_b2a pushes one B2A pair (W + n words).
void deal_b2a(Dealer& d, size_t n, const std::string& tag, MaterialStore& m0, MaterialStore& m1);
Words b2a(Session& s, const Words& bits, size_t n, const std::string& tag);
Cost b2a_cost(const RingConfig& r, size_t n);
/// B2A in two halves around a shared Opening, for protocols that open other values in the
/// same round: b2a_prepare takes the B2A pair (r bits | r) and queues bits ^ r (W words,
/// boolean) on `op`; after op.exchange(), b2a_finish returns the arithmetic 0/1 shares
/// (Backend::b2a_combine). b2a() is these two around its own Opening.
struct B2aStep {
  Words pair;  ///< the B2A pair [r bits (W) | r (n)]
  size_t n = 0;
  size_t slot = 0;  ///< the slot of bits ^ r in the Opening
  const uint64_t* r() const { return pair.data() + words_for_bits(n); }
};
B2aStep b2a_prepare(Session& s, Opening& op, const Words& bits, size_t n, const std::string& tag);
Words b2a_finish(Session& s, const Opening& op, const B2aStep& step);

// ---- comparison: DReLU, ReLU, max (GMW or FSS; full or reduced-bit) ------------------
// The protocol is ProtocolOptions::compare (GMW or FSS, identical results) and the bits
// compared are ProtocolOptions::compare_range(tag): [0, l) by default, [lo, hi) for the
// reduced-bit comparison (see CompareBits for what it computes). The dealer half takes
// the options explicitly, the online half reads Session::options: both must agree, or
// the material is out of step (MaterialError). The overloads without options are GMW on
// all l bits (as before the comparison became selectable).
//
// GMW: MSB of bits [lo, hi) of x0 + x1 by a parallel-prefix (generate, propagate) tree of
// AND gates over bits [lo, hi-1): one input-AND level (1 bit per gate) then 2 ANDs per
// merge; rounds 1 + ceil(log2(hi-1-lo)). ReLU = x · B2A(DReLU(x)): + 2 rounds.
// FSS (Boyle et al., EUROCRYPT'21; docs/protocols.md "FSS comparison"): open x + r_in
// (1 round, ceil(l/8) bytes per element), evaluate a DCF of depth hi-lo-1 locally
// (Backend::dcf_eval, hi-lo-1 AES blocks per element). ReLU: one more round of 1 bit per
// element (e = DReLU ^ t for a dealer bit t), then a local multiplexer. Dealer material per
// element and party: a DCF key of dcf_key_bytes(hi-lo-1) bytes + 8 (DReLU) or 24 (ReLU) bytes.

/// DReLU(x) = 1{x >= 0} (signed) as bit-sliced XOR shares (W words).
void deal_drelu(Dealer& d, size_t n, const ProtocolOptions& o, const std::string& tag, MaterialStore& m0,
                MaterialStore& m1);
void deal_drelu(Dealer& d, size_t n, const std::string& tag, MaterialStore& m0, MaterialStore& m1);
Words drelu(Session& s, const Words& x, const std::string& tag);
Cost drelu_cost(const RingConfig& r, const ProtocolOptions& o, size_t n, const std::string& tag = "");
Cost drelu_cost(const RingConfig& r, size_t n);

/// ReLU(x) = DReLU(x) · x as arithmetic shares.
void deal_relu(Dealer& d, size_t n, const ProtocolOptions& o, const std::string& tag, MaterialStore& m0,
               MaterialStore& m1);
void deal_relu(Dealer& d, size_t n, const std::string& tag, MaterialStore& m0, MaterialStore& m1);
Words relu(Session& s, const Words& x, const std::string& tag);
Cost relu_cost(const RingConfig& r, const ProtocolOptions& o, size_t n, const std::string& tag = "");
Cost relu_cost(const RingConfig& r, size_t n);

/// max(a, b) = b + DReLU(a - b) * (a - b), elementwise. Same cost and material as ReLU.
void deal_max(Dealer& d, size_t n, const ProtocolOptions& o, const std::string& tag, MaterialStore& m0,
              MaterialStore& m1);
void deal_max(Dealer& d, size_t n, const std::string& tag, MaterialStore& m0, MaterialStore& m1);
Words max(Session& s, const Words& a, const Words& b, const std::string& tag);

/// Depth of the DCF (= AES blocks per element and party) of an FSS comparison tagged `tag`:
/// hi - lo - 1 (63 for a full 64-bit ring).
int fss_dcf_depth(const RingConfig& r, const ProtocolOptions& o, const std::string& tag = "");

// ---- secure argmax (label-only output; docs/protocols.md "Secure argmax") -------------
// Index of the largest element of each row, as a tournament tree over the columns: at each
// level the candidates of a row are paired (c0, c1), (c2, c3), ... (an odd last one passes
// through); for a pair (a, ia), (b, ib): d = DReLU(a - b) with the comparison of
// ProtocolOptions (GMW or FSS, on the bits compare_range(tag + "/level<k>")), then
// max = b + d·(a - b) and idx = ib + d·(ia - ib), both multiplexed in ONE round (a dealer
// bit r per pair, opened as d ^ r together with the Beaver openings of the 2n values).
// Ties (a = b) keep the left, lower index: the result is the FIRST maximum of each row
// whenever no difference a - b wraps mod 2^l (|a - b| < 2^(l-1)), e.g. for logits. The
// plaintext twin, wrap included, is plain::argmax.
// Levels: ceil(log2 cols); rounds: per level the DReLU's rounds + 1; bytes per party: per
// level DReLU bytes of n = rows·pairs elements + 8 ceil(n/64) + 2 n ceil(l/8) (argmax_cost).
// Material per level: the DReLU's, one B2A pair of n bits and one Beaver triple of 2n
// (argmax_cost counts it, with the DCF key generation of an FSS DReLU).
// The tree reduction is CrypTen's argmax ("log_reduction", Knott et al., NeurIPS'21); the
// one-round multiplexer by a shared bit opens d ^ r as the FSS ReLU gate opens its bit
// (Boyle et al., EUROCRYPT'21; derivation in docs/protocols.md).

/// x: this party's shares of a [rows, cols] matrix, row-major (rows·cols elements). Returns
/// this party's arithmetic shares of the row indices (rows elements, values in [0, cols)).
/// cols = 1 costs nothing (index 0). Throws InvalidArgument when cols = 0 or x has not
/// rows·cols elements; MaterialError when the material is out of step (the dealer half must
/// be called with the same rows, cols, options and tag); ChannelError if the peer fails.
void deal_argmax(Dealer& d, size_t rows, size_t cols, const ProtocolOptions& o,
                 const std::string& tag, MaterialStore& m0, MaterialStore& m1);
Words argmax(Session& s, const Words& x, size_t rows, size_t cols, const std::string& tag);
Cost argmax_cost(const RingConfig& r, const ProtocolOptions& o, size_t rows, size_t cols,
                 const std::string& tag = "");

// ---- Block-ReLU (patch-wise ReLU; secure_inference) ------------------------------------
// y_i = x_i · DReLU(S_p) for the rectangle patch p holding element i, S_p the sum of the
// patch's elements (Gorski, Jevnisek & Avidan, "Securing Neural Networks with Knapsack
// Optimization", arXiv 2304.10442, §3: the sign of the patch mean, broadcast over the
// patch; sign(sum) = sign(mean), so no truncation). Identity elements pass through, zero
// elements become 0; neither costs anything. A 1x1 patch is a plain ReLU.
// Online, on the bits compare_range(tag) (the reduced-bit comparison applies to the sums):
//  - GMW: the patch sums are local on additive shares; one DReLU per patch, then ONE round
//    of the bit multiplexer (the argmax's: open d ^ r for a dealer bit r per patch and
//    x - a for the rectangle elements) broadcasts each patch's bit to its elements.
//    Rounds: DReLU's rounds on P patches + 1. Bytes per party: DReLU(P) + 8 ceil(P/64) +
//    E ceil(l/8), E = elements in rectangle patches. Material: the DReLU's, a B2A pair of P
//    bits and a Beaver triple of E elements.
//  - FSS: the FSS ReLU gate over patches (Boyle et al., EUROCRYPT'21, ReLU gate): open
//    x_i + r_i per element, the DCF of patch p at the sum of its opened values (= S_p + R_p,
//    keyed with R_p = Σ r_i), then one bit per patch and a local multiplexer. Rounds 2;
//    bytes E ceil(l/8) + 8 ceil(P/64); material: P DCF keys, r and t·r per element, t and
//    a bit per patch. All 1x1 patches cost exactly a ReLU.
// block_relu_cost counts all of it.
// The protocol body is written once (block_relu.cpp) and runs under the dealing, online
// and counting contexts. Plaintext twin: plain::block_relu.

/// Marks of BlockMap::patch_of for elements outside every rectangle patch.
constexpr int64_t kBlockIdentity = -1;  ///< y = x
constexpr int64_t kBlockZero = -2;      ///< y = 0
/// The patch of every element of a flat tensor (the nn executor builds it from the layer's
/// per-channel patch sizes and the NCHW shape: nn/lowering.h block_map).
struct BlockMap {
  size_t patches = 0;             ///< P: rectangle patches, one DReLU each
  std::vector<int64_t> patch_of;  ///< per element: a patch in [0, P), kBlockIdentity or kBlockZero
  /// E: elements in rectangle patches (multiplexed).
  size_t rect_elements() const;
};
/// Throws InvalidArgument (naming `tag`) unless every entry of m.patch_of is a patch index
/// below m.patches, kBlockIdentity or kBlockZero, and every patch holds an element.
void check_block_map(const BlockMap& m, const std::string& tag);
/// x: this party's shares of the m.patch_of.size() elements. Returns the shares of y.
/// Errors: InvalidArgument on a bad map or a size mismatch; MaterialError when the material
/// is out of step (deal_block_relu must be called with the same map, options and tag).
void deal_block_relu(Dealer& d, const BlockMap& m, const ProtocolOptions& o,
                     const std::string& tag, MaterialStore& m0, MaterialStore& m1);
Words block_relu(Session& s, const Words& x, const BlockMap& m, const std::string& tag);
Cost block_relu_cost(const RingConfig& r, const ProtocolOptions& o, const BlockMap& m,
                     const std::string& tag = "");

// ---- polynomial activation with private coefficients --------------------------------
// y = a2 x² + a1 x + a0 elementwise with per-channel coefficients known to P0 only: the
// activation of PASNet / PolyMPCNet, evaluated with Beaver-style masking (Beaver, CRYPTO'91)
// and per-model coefficient masks opened once (the derivation is in docs/protocols.md,
// "One-opening polynomial").
// Shapes: x and y have shape.size() elements in [outer][channels][inner] order (NCHW:
// outer = N, channels = C, inner = H·W); the channel of element j is
// (j / shape.inner) % shape.channels; coefficient vectors have shape.channels words.
// Fixed point: x at scale f; a2 at scale fc = coef_frac, a1 at f + fc, a0 at 2f + fc.
// The result's scale is poly_out_scale(ring, options, fc):
//  - TruncMode::Exact and TruncMode::Fss: the one-opening gate. Online: open d = x - alpha
//    (1 round, ceil(l/8) bytes per element and party), then one local Backend::poly_eval
//    (PolyMode::Quadratic). y = a2 x² + a1 x + a0 exactly mod 2^l at scale 2f + fc, NOT
//    truncated: the caller truncates (by f + fc to get back to scale f; the twin is
//    plain::poly with the same options). Material per element and party: 5 words
//    (MaterialKind::PolyQuadMasks: alpha, alpha², m2·alpha, m2·alpha², m1·alpha).
//  - TruncMode::Prob: two Horner openings, x (a2 x + a1) + a0: open x - alpha (round 1),
//    u = a2 x + a1 (PolyMode::LinearChannel), u truncated by fc, open u - beta' (round 2),
//    x·u + a0 (PolyMode::LinearElement), truncated by f: y at scale f, within a few ulp of
//    plain::poly with Prob options (a single probabilistic truncation of a value at scale
//    2f + fc would exceed its bound 2^trunc_bound_bits). Material: MaterialKind::PolyMasks
//    (4n words) and the two truncations'.
// Dealer material per call: the masks above, then (Prob) the truncations' (poly_cost).
// Errors: InvalidArgument when x, the opened coefficients or P0's coefficients have the
// wrong size; MaterialError when the per-model masks are missing or have another channel
// count, or the per-inference material is missing or out of step (deal_poly must be called
// with the same shape, coef_frac, options and tag); ChannelError if the peer fails.
struct PolyCoeffs {
  Words a2;  ///< per channel, scale coef_frac; P0 only (empty at P1)
  Words a1;  ///< per channel, scale f + coef_frac; P0 only
  Words a0;  ///< per channel, scale 2f + coef_frac; P0 only
  int coef_frac = 20;
};
/// The coefficients' public one-time-padded values, opened once per model.
struct PolySetup {
  Words e_a2;  ///< E2 = a2 - m2, per channel (public to both parties)
  Words e_a1;  ///< E1 = a1 - m1, per channel (public to both parties)
};
/// Model setup: the dealer fixes per-channel masks m2, m1 (fixed per model, reused by
/// design; shares stored as the fixed material tag + "/a2mask", tag + "/a1mask").
void deal_poly_setup(Dealer& d, size_t channels, const std::string& tag, MaterialStore& m0,
                     MaterialStore& m1);
/// Opens E2 = a2 - m2 and E1 = a1 - m1 (P0 sends its masked coefficients, P1 its mask
/// shares; one round, 2 channels ceil(l/8) bytes per party). P1 passes coefficients with
/// empty vectors. Returns the same PolySetup at both parties.
PolySetup poly_setup(Session& s, const PolyCoeffs& c, size_t channels, const std::string& tag);
/// Per inference: pushes the material of one poly call (see above) for both parties.
void deal_poly(Dealer& d, const PolyShape& shape, int coef_frac, const ProtocolOptions& o,
               const std::string& tag, MaterialStore& m0, MaterialStore& m1);
/// One party's shares of y (scale poly_out_scale(s.ring, s.options, c.coef_frac)).
Words poly(Session& s, const Words& x, const PolyShape& shape, const PolyCoeffs& c,
           const PolySetup& setup, const std::string& tag);
/// Fixed-point scale of poly's result: 2f + coef_frac for Exact/Fss (untruncated), f for Prob.
int poly_out_scale(const RingConfig& r, const ProtocolOptions& o, int coef_frac);
/// Online cost of poly on n elements, per party: Exact/Fss 1 round, n ceil(l/8) bytes (no
/// truncation inside); Prob 2 rounds, 2 n ceil(l/8) bytes + truncations by coef_frac and f.
Cost poly_cost(const RingConfig& r, const ProtocolOptions& o, size_t n, int coef_frac);

/// Truncate-then-polynomial (TruncMode::Fss only; docs/protocols.md "Truncate-then-polynomial
/// gate"): y = a2·t² + a1·t + a0 for t = floor(x / 2^shift), bit for bit trunc then poly
/// (scale 2f + fc, untruncated) for signed |x| < 2^(l-2), in the FSS truncation's two
/// rounds and l + 1 bits per element and party: open x + r (a DCF of depth `shift` gives
/// the carry c), open e = c ^ rho (1 bit), then the one-opening gate's local step
/// (Backend::poly_eval, Quadratic) on t = Q + X with Q public. Needs poly's per-model setup
/// under `tag`. Material per element and party: trunc_poly_cost(...).offline_bytes / 8 words
/// (a DCF key, a B2A pair, FssTruncPolyMasks). Errors as poly and trunc; InvalidArgument
/// unless the session's truncation is Fss or when 1 <= shift <= l-2 fails.
void deal_trunc_poly(Dealer& d, const PolyShape& shape, int shift, const std::string& tag,
                     MaterialStore& m0, MaterialStore& m1);
Words trunc_poly(Session& s, const Words& x, int shift, const PolyShape& shape,
                 const PolyCoeffs& c, const PolySetup& setup, const std::string& tag);
Cost trunc_poly_cost(const RingConfig& r, size_t n, int shift);

// ---- matrix products with a per-model weight mask ----------------------------------
/// Y = W · L(X): W (m x k) known to P0, X shared (in_size elements), L a public linear
/// lowering (im2col for conv, a transpose for linear) producing a k x cols matrix.
/// Model setup: dealer fixes the mask A (m x k), P0 opens E = W - A once.
/// Per inference: open F = X - B (1 round, in_size ceil(l/8) bytes), then
/// Y = C + E·L(B) + A·L(F) + [p0] E·L(F) on the backend (matmul_combine). No truncation.
/// Material per inference: [B | C], in_size + out_size words (out_size = m cols).
using Lowering = std::function<Words(const Words&)>;
void deal_matmul_setup(Dealer& d, size_t m, size_t k, const std::string& tag, MaterialStore& m0,
                       MaterialStore& m1);
Words matmul_setup(Session& s, const Words& w, size_t m, size_t k, const std::string& tag);
void deal_matmul(Dealer& d, size_t m, size_t k, size_t cols, size_t in_size, const Lowering& lower,
                 const std::string& tag, MaterialStore& m0, MaterialStore& m1);
Words matmul(Session& s, const Words& x, const Words& e_w, size_t m, size_t k, size_t cols,
             const Lowering& lower, const std::string& tag);
/// Batched form: `batches` independent products Y_p = W_p (m x k) · L(X)_p (k x cols) that
/// share one opening of F = X − B (the online cost of one matmul). The weight mask and E
/// are [batches·m, k] (deal_matmul_setup / matmul_setup with m' = batches·m), L maps the
/// raw input to [batches, k, cols], the result is [batches, m, cols]; one matmul_combine
/// per product. Material per inference: [B | C], in_size + batches·m·cols words. With
/// batches = 1 it is deal_matmul / matmul (same material). Winograd convolution uses it
/// with batches = α² positions (docs/winograd.md "In 2PC").
void deal_matmul_batched(Dealer& d, size_t batches, size_t m, size_t k, size_t cols, size_t in_size,
                         const Lowering& lower, const std::string& tag, MaterialStore& m0, MaterialStore& m1);
Words matmul_batched(Session& s, const Words& x, const Words& e_w, size_t batches, size_t m, size_t k, size_t cols,
                     const Lowering& lower, const std::string& tag);
/// Cost of matmul for W (m x k) and an input of in_size elements lowered to k x cols.
Cost matmul_cost(const RingConfig& r, size_t m, size_t k, size_t cols, size_t in_size);

}  // namespace polympc::mpc
