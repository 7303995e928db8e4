// Backend: the one interface between the 2PC protocols and compute (docs/design.md §6).
//
// Every call is ONE party's local step between two communication rounds, on a batch.
// All arithmetic is in Z_{2^bits} on uint64_t words: inputs may carry garbage above
// `bits`, outputs are masked to `bits`. Public (opened) terms are added by party 0 only
// ([p0] below means "only when party == 0"). Arrays never alias unless stated.
//
// Implementations: sim::SimBackend (runs the kernels/ C++ that would be synthesized and
// reports modelled device cycles), cpu::CpuBackend (AES-NI, Eigen, threads; bit-identical),
// host::XrtBackend (same kernels from an xclbin through XRT).
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

namespace polympc::mpc {

/// Per-kernel counters a backend accumulates (sim/xrt report modelled device cycles).
struct KernelCounters {
  uint64_t calls = 0;
  uint64_t elements = 0;         ///< elements (or 64-bit words for boolean kernels) processed
  uint64_t modelled_cycles = 0;  ///< device cycles predicted by the kernel's II/depth model; 0 on cpu
};

/// Layout of an elementwise polynomial-activation step: n = outer * channels * inner
/// elements in [outer][channels][inner] order (NCHW: outer = N, inner = H*W; a flat
/// vector: channels = features, inner = 1).
struct PolyShape {
  size_t outer = 1;
  size_t channels = 1;
  size_t inner = 1;
  size_t size() const { return outer * channels * inner; }
};

/// What Backend::poly_eval computes (values = kernels/poly_eval.h PolyEvalMode).
enum class PolyMode : int {
  Quadratic = 0,      ///< the one-opening gate a2 x² + a1 x + a0 (Exact / Fss truncation)
  LinearChannel = 1,  ///< Horner step x·a2 + a1, coefficient per channel (Prob truncation)
  LinearElement = 2,  ///< Horner step x·u + a0, u per element (Prob truncation)
};

/// Operands of Backend::poly_eval. n = s.size(); "element" arrays have n words,
/// "channel" arrays s.channels words. Arrays a mode does not read may be null.
struct PolyEvalArgs {
  const uint64_t* d = nullptr;     ///< element: opened x - alpha (public)
  const uint64_t* alpha = nullptr; ///< element: [alpha]
  const uint64_t* a2 = nullptr;    ///< element: [alpha²]            (Quadratic only)
  const uint64_t* m2a = nullptr;   ///< element: [m2·alpha]          (Quadratic only)
  const uint64_t* m2a2 = nullptr;  ///< element: [m2·alpha²]         (Quadratic only)
  const uint64_t* m1a = nullptr;   ///< element: [m1·alpha]
  const uint64_t* e1 = nullptr;    ///< channel (element in LinearElement): E1 = a1 - m1, public
  const uint64_t* m1 = nullptr;    ///< channel (element in LinearElement): [m1]
  const uint64_t* e2 = nullptr;    ///< channel: E2 = a2 - m2, public (Quadratic only)
  const uint64_t* m2 = nullptr;    ///< channel: [m2]                (Quadratic only)
  const uint64_t* add = nullptr;   ///< channel: addend of party 0 (a0, or a1 in LinearChannel)
};

/// The operands of the sub-launch starting at element `elem` and channel `ch` (a launch
/// on a block of whole channel runs or a piece of one): element arrays advance by elem,
/// channel arrays by ch; null arrays stay null.
inline PolyEvalArgs poly_eval_offset(const PolyEvalArgs& a, PolyMode mode, size_t elem,
                                     size_t ch) {
  auto at = [](const uint64_t* p, size_t off) { return p ? p + off : p; };
  const size_t k1 = mode == PolyMode::LinearElement ? elem : ch;
  PolyEvalArgs r;
  r.d = at(a.d, elem);
  r.alpha = at(a.alpha, elem);
  r.a2 = at(a.a2, elem);
  r.m2a = at(a.m2a, elem);
  r.m2a2 = at(a.m2a2, elem);
  r.m1a = at(a.m1a, elem);
  r.e1 = at(a.e1, k1);
  r.m1 = at(a.m1, k1);
  r.e2 = at(a.e2, ch);
  r.m2 = at(a.m2, ch);
  r.add = at(a.add, ch);
  return r;
}

/// Which Winograd transform Backend::winograd_transform applies (values =
/// kernels/winograd_transform.h kWinogradInput / kWinogradOutput).
enum class WinogradMode : int {
  Input = 0,   ///< V = B^T d B per α×α tile of the zero-padded input
  Output = 1,  ///< Y = A^T t A per tile, cropped to ho × wo
};

/// Shape of a Backend::winograd_transform call: form F(m×m, 3×3) (α = m + 2) on `batch`
/// images of `channels` channels; T = ceil(ho / m)·ceil(wo / m) tiles per image.
/// Input mode: h × w input planes, ho × wo convolution output, zero padding pad_top /
/// pad_left (the tile (ty, tx) reads rows ty·m − pad_top + [0, α) and columns
/// tx·m − pad_left + [0, α)). Output mode: channels = the output channels M; h, w, pads
/// unused. (= nn::WinogradGeometry with batch, for the channels the mode transforms.)
struct WinogradShape {
  int m = 2;
  size_t batch = 1;
  size_t channels = 1;
  size_t h = 0, w = 0;
  size_t ho = 0, wo = 0;
  size_t pad_top = 0, pad_left = 0;
  size_t tiles() const { return m <= 0 ? 0 : ((ho + size_t(m) - 1) / size_t(m)) * ((wo + size_t(m) - 1) / size_t(m)); }
  size_t alpha() const { return size_t(m) + 2; }
};

/// Null when the dimensions of `s` fit the kernel's 32-bit counters (every dimension,
/// batch·channels and batch·T below 2^31, m > 0), else a static message. The form (m = 2
/// or 4), bits and mode are checked by the backends with the kernel's own rule.
inline const char* winograd_shape_error(const WinogradShape& s) {
  const size_t kMax = size_t(1) << 31;
  if (s.m <= 0) return "m must be 2 or 4";
  if (s.batch >= kMax || s.channels >= kMax || s.h >= kMax || s.w >= kMax || s.ho >= kMax || s.wo >= kMax ||
      s.pad_top >= kMax || s.pad_left >= kMax)
    return "dimensions must be below 2^31";
  if (s.batch * s.channels >= kMax || s.batch * s.tiles() >= kMax)
    return "batch*channels and batch*tiles must be below 2^31";
  return nullptr;
}

/// "m=.., batch=.., channels=.., h×w=.., ho×wo=.., pad=(top, left)" for error messages.
inline std::string winograd_shape_str(const WinogradShape& s) {
  return "m=" + std::to_string(s.m) + ", batch=" + std::to_string(s.batch) + ", channels=" +
         std::to_string(s.channels) + ", h x w=" + std::to_string(s.h) + "x" + std::to_string(s.w) +
         ", ho x wo=" + std::to_string(s.ho) + "x" + std::to_string(s.wo) + ", pad=(" +
         std::to_string(s.pad_top) + ", " + std::to_string(s.pad_left) + ")";
}

/// Words of Backend::winograd_transform's output: α²·channels·batch·T (Input) or
/// channels·batch·ho·wo (Output).
inline size_t winograd_out_words(WinogradMode mode, const WinogradShape& s) {
  return mode == WinogradMode::Input ? s.alpha() * s.alpha() * s.channels * s.batch * s.tiles()
                                     : s.channels * s.batch * s.ho * s.wo;
}
/// Words of its input: batch·channels·h·w (Input) or α²·channels·batch·T (Output).
inline size_t winograd_in_words(WinogradMode mode, const WinogradShape& s) {
  return mode == WinogradMode::Input ? s.batch * s.channels * s.h * s.w
                                     : s.alpha() * s.alpha() * s.channels * s.batch * s.tiles();
}

class Backend {
 public:
  virtual ~Backend() = default;
  /// "sim", "cpu" or "xrt".
  virtual std::string name() const = 0;

  /// Beaver multiplication (Beaver, CRYPTO'91), local combine after d = x - a and
  /// e = y - b were opened:  z = c + d*b + e*a + [p0] d*e   (mod 2^bits), elementwise.
  /// Shapes: every array has n words. Kernel: kernels/beaver_mul_combine.h.
  virtual void beaver_mul_combine(int party, int bits, size_t n, const uint64_t* d,
                                  const uint64_t* e, const uint64_t* a, const uint64_t* b,
                                  const uint64_t* c, uint64_t* z) = 0;

  /// Beaver matrix triple combine for W·X (W m×k, X k×n, all row-major):
  ///   Z = C + E·B + A·F + [p0] E·F   (mod 2^bits)
  /// with E = W - A opened once per model (weight mask A fixed per model), F = X - B opened
  /// per inference. Shapes: e, a: m×k; f, b: k×n; c, z: m×n. Kernel: kernels/matmul_combine.h.
  virtual void matmul_combine(int party, int bits, size_t m, size_t k, size_t n,
                              const uint64_t* e, const uint64_t* f, const uint64_t* a,
                              const uint64_t* b, const uint64_t* c, uint64_t* z) = 0;

  /// Local step of the polynomial activation with private coefficients (PASNet /
  /// PolyMPCNet; Beaver-style masking; docs/protocols.md "One-opening polynomial"), after
  /// d = x - alpha was opened (and, in LinearElement, u - beta'):
  ///   z[j] = m2a2[j] + m1a[j] + E1·alpha[j] + E2·a2[j]
  ///          + d[j]·(2·E2·alpha[j] + d[j]·([m2] + [p0] E2) + 2·m2a[j] + [m1] + [p0] E1)
  ///          + [p0] add[ch(j)]                                         (mod 2^bits)
  /// ch(j) = (j / s.inner) % s.channels. By mode (PolyEvalArgs says which arrays are read):
  ///  - Quadratic: the whole formula, = a2 x² + a1 x + a0 summed over both parties when
  ///    E2 = a2 - m2, E1 = a1 - m1 (per channel, public), add = a0 (P0), alpha, a2 = alpha²,
  ///    m2a = m2·alpha, m2a2 = m2·alpha², m1a = m1·alpha shared;
  ///  - LinearChannel: E2 = m2 = a2 = m2a = m2a2 = 0, E1, m1 per channel (a Beaver product
  ///    by a masked per-channel coefficient plus add: the first Horner step);
  ///  - LinearElement: as LinearChannel with E1, m1 per element (the Beaver product x·u).
  /// z has s.size() words. Errors: InvalidArgument on a bad party, bits or mode.
  /// Kernel: kernels/poly_eval.h.
  virtual void poly_eval(int party, int bits, const PolyShape& s, PolyMode mode,
                         const PolyEvalArgs& args, uint64_t* z) = 0;

  /// Exact (faithful) truncation by `shift` bits, final local step. With
  /// u_i = x_i + [p0] 2^(bits-1) and arithmetic shares carry_i, wrap_i of the carry into
  /// bit `shift` and the carry out of bit bits-1 of u_0 + u_1:
  ///   z = (u_i >> shift) + carry_i - (wrap_i << (bits-shift)) - [p0] 2^(bits-1-shift)
  /// so that z_0 + z_1 = floor(x / 2^shift) exactly (x signed). n words each.
  /// Kernel: kernels/trunc.h.
  virtual void trunc_exact_combine(int party, int bits, int shift, size_t n, const uint64_t* x,
                                   const uint64_t* carry, const uint64_t* wrap,
                                   uint64_t* z) = 0;

  /// Probabilistic truncation (SecureML S&P'17 with a dealer pair (r, r >> shift)), final
  /// local step after c = x + 2^offset_bits + r was opened:
  ///   z = [p0] ((c >> shift) - 2^(offset_bits - shift)) - r_shr_i
  /// Off by at most 1 ulp; wrong when x + 2^offset_bits + r wraps (probability about
  /// 2^(offset_bits+1-bits) for |x| < 2^offset_bits). n words each. Kernel: kernels/trunc.h.
  virtual void trunc_prob_combine(int party, int bits, int shift, int offset_bits, size_t n,
                                  const uint64_t* c, const uint64_t* r_shr, uint64_t* z) = 0;

  /// GMW AND gates on bit-sliced boolean shares (64 gates per word), local combine after
  /// d = x ^ a and e = y ^ b were opened with the AND triple (a, b, c = a & b):
  ///   z = c ^ (d & b) ^ (e & a) ^ [p0] (d & e). `words` words each. Kernel: kernels/gmw_and_level.h.
  virtual void gmw_and_level(int party, size_t words, const uint64_t* d, const uint64_t* e,
                             const uint64_t* a, const uint64_t* b, const uint64_t* c,
                             uint64_t* z) = 0;

  /// B2A of shared bits after e = bit ^ r was opened (r a dealer bit, with arithmetic
  /// share r_i):  z = [p0] e + r_i - 2 e r_i  (mod 2^bits). `e_packed` holds the n opened
  /// bits bit-sliced (element j = bit j%64 of word j/64); r and z have n words.
  /// Kernel: kernels/gmw_and_level.h.
  virtual void b2a_combine(int party, int bits, size_t n, const uint64_t* e_packed,
                           const uint64_t* r, uint64_t* z) = 0;

  /// Bit slicing (local, no communication): planes[b * W + w] has bit j of word w equal to
  /// bit b of x[64 w + j], for b < bits, W = ceil(n / 64); missing elements read as 0.
  /// planes has bits * W words. Kernel: kernels/gmw_and_level.h.
  virtual void bit_slice(int bits, size_t n, const uint64_t* x, uint64_t* planes) = 0;

  /// DCF evaluation (Boyle et al., "Function Secret Sharing for Mixed-Mode and Fixed-Point
  /// Secure Computation", EUROCRYPT'21, Fig. 1; output group Z_2), the local step of the
  /// FSS comparison after x + r_in was opened: n of this party's keys, key j evaluated at
  /// the public point x[j] mod 2^depth, gives bit j of `out` = this party's XOR share of
  /// 1{x[j] mod 2^depth < alpha_j}.
  /// Shapes: keys: n keys of dcf_key_words(depth) = 2·depth + 4 words, key j at
  /// keys + j·(2·depth + 4) (format in dcf.h); x: n words (bits at and above `depth`
  /// ignored); out: ceil(n / 64) words, bit-sliced (element j = bit j%64 of word j/64),
  /// bits past n zero. Cost: depth AES-128 blocks per key (fixed-key PRG).
  /// Errors: InvalidArgument when party is not 0/1 or depth is outside [1, 63];
  /// MaterialError (naming the key) when a key header is not that of a depth-`depth`
  /// key for `party` (wrong party, wrong depth, not a DCF key).
  /// Kernel: kernels/dcf_eval.h. The default implementation evaluates on the host
  /// (mpc::dcf_eval_host: OpenSSL AES-NI, one thread), for backends without the kernel.
  virtual void dcf_eval(int party, int depth, size_t n, const uint64_t* keys, const uint64_t* x,
                        uint64_t* out);

  /// Winograd F(m×m, 3×3) transforms on shares (A. Lavin, S. Gray, "Fast Algorithms for
  /// Convolutional Neural Networks", CVPR 2016, §4: F(2×2,3×3) §4.1, F(4×4,3×3) §4.2),
  /// local because linear with public integer matrices: in ring arithmetic mod 2^bits,
  /// the same words for a share, an opened value or a sum of shares. Layouts are those of
  /// nn::winograd_input / nn::winograd_output (docs/winograd.md), bit for bit:
  ///  - Input: in = x [batch, channels, h, w] (NCHW words), out = V [α², channels,
  ///    batch·T], V[p][c][n·T + ty·tiles_w + tx] = (B^T d B)[p] with d the α×α tile
  ///    (0 outside the image);
  ///  - Output: in = [α², channels, batch·T] (the per-position products), out = y
  ///    [channels, batch·ho·wo], the m×m blocks A^T t A cropped to ho × wo.
  /// Errors: InvalidArgument when bits is outside [8, 64], m is not 2 or 4, the mode is
  /// unknown, or a dimension (or batch·T, batch·channels) is 2^31 or more.
  /// Kernel: kernels/winograd_transform.h (the tile gather and crop run in the kernel).
  virtual void winograd_transform(int bits, WinogradMode mode, const WinogradShape& s,
                                  const uint64_t* in, uint64_t* out) = 0;

  /// Counters per kernel name since construction.
  virtual std::map<std::string, KernelCounters> counters() const = 0;
};

}  // namespace polympc::mpc
