// CpuBackend: Eigen, threads and bit tricks behind mpc::Backend (see cpu_backend.h).
//
// Every method is an independent implementation of the formula in backend.h (the kernels
// are only used for their argument checks, so that both backends reject the same calls);
// tests/test_backends.cpp compares each method with sim::SimBackend bit for bit.
#include "polympc/cpu/cpu_backend.h"

#include <Eigen/Core>
#include <algorithm>
#include <exception>
#include <mutex>
#include <thread>

#include "kernels/beaver_mul_combine.h"
#include "kernels/gmw_and_level.h"
#include "kernels/matmul_combine.h"
#include "kernels/poly_eval.h"
#include "kernels/trunc.h"
#include "kernels/winograd_transform.h"
#include "parallel.h"
#include "polympc/mpc/dcf.h"
#include "polympc/mpc/errors.h"

namespace polympc::cpu {
namespace {

namespace k = polympc::kernels;

void check(const char* method, const char* err, const std::string& detail) {
  if (err != nullptr)
    throw mpc::InvalidArgument(std::string("cpu backend: ") + method + ": " + err + " (" +
                               detail + ")");
}

std::string pb(int party, int bits) {
  return "party=" + std::to_string(party) + ", bits=" + std::to_string(bits);
}

uint64_t mask_of(int bits) { return bits >= 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1; }

/// In-place transpose of a 64×64 bit matrix, row r = a[r], column c = bit c:
/// afterwards bit c of a[r] is the former bit r of a[c]. Six rounds of masked block swaps
/// (Hacker's Delight §7-3, LSB-first column order), 6·32 swaps instead of 4096 bit moves.
void transpose64(uint64_t a[64]) {
  uint64_t m = 0x00000000FFFFFFFFull;
  for (int j = 32; j != 0; j >>= 1, m ^= m << j) {
    for (int r = 0; r < 64; r = (r + j + 1) & ~j) {
      const uint64_t t = ((a[r] >> j) ^ a[r + j]) & m;
      a[r + j] ^= t;
      a[r] ^= t << j;
    }
  }
}

using RowMat = Eigen::Matrix<uint64_t, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstView = Eigen::Map<const RowMat, Eigen::Unaligned, Eigen::OuterStride<>>;
using View = Eigen::Map<RowMat, Eigen::Unaligned, Eigen::OuterStride<>>;

}  // namespace

CpuBackend::CpuBackend(int threads) : threads_(threads) {
  if (threads_ <= 0) threads_ = static_cast<int>(std::thread::hardware_concurrency());
  if (threads_ <= 0) threads_ = 1;
}

std::string CpuBackend::name() const { return "cpu"; }

void CpuBackend::record(const char* kernel, uint64_t elements) {
  std::lock_guard<std::mutex> lock(mutex_);
  mpc::KernelCounters& c = counters_[kernel];
  c.calls += 1;
  c.elements += elements;
}

std::map<std::string, mpc::KernelCounters> CpuBackend::counters() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return counters_;
}

void CpuBackend::beaver_mul_combine(int party, int bits, size_t n, const uint64_t* d,
                                    const uint64_t* e, const uint64_t* a, const uint64_t* b,
                                    const uint64_t* c, uint64_t* z) {
  check("beaver_mul_combine", k::beaver_mul_combine_arg_error(party, bits), pb(party, bits));
  const uint64_t mask = mask_of(bits);
  detail::parallel_for(threads_, n, kMinElementsPerThread, 8, [&](size_t lo, size_t hi) {
    if (party == 0) {
      // d·b + e·a + d·e = d·(b + e) + e·a
      for (size_t i = lo; i < hi; ++i) z[i] = (c[i] + d[i] * (b[i] + e[i]) + e[i] * a[i]) & mask;
    } else {
      for (size_t i = lo; i < hi; ++i) z[i] = (c[i] + d[i] * b[i] + e[i] * a[i]) & mask;
    }
  });
  record("beaver_mul_combine", n);
}

namespace {

// One (image n, channel c) plane of a Winograd transform of form M (α = M + 2) with the
// kernel's per-tile arithmetic; layouts of mpc::Backend::winograd_transform.
template <int M>
void winograd_plane(bool input, uint64_t mask, const mpc::WinogradShape& s, size_t n, size_t c,
                    const uint64_t* in, uint64_t* out) {
  constexpr size_t A = M + 2;
  const size_t th = (s.ho + M - 1) / M, tw = (s.wo + M - 1) / M, T = th * tw, cols = s.batch * T;
  const size_t S = s.ho * s.wo;
  uint64_t t[k::kWinogradAlphaMax * k::kWinogradAlphaMax], o[k::kWinogradAlphaMax * k::kWinogradAlphaMax];
  const int64_t H = int64_t(s.h), W = int64_t(s.w);
  const uint64_t* img = input ? in + (n * s.channels + c) * s.h * s.w : nullptr;
  for (size_t ty = 0; ty < th; ++ty)
    for (size_t tx = 0; tx < tw; ++tx) {
      const size_t col = n * T + ty * tw + tx;
      if (input) {
        const int64_t y0 = int64_t(ty * M) - int64_t(s.pad_top), x0 = int64_t(tx * M) - int64_t(s.pad_left);
        for (size_t i = 0; i < A; ++i)
          for (size_t j = 0; j < A; ++j) {
            const int64_t yy = y0 + int64_t(i), xx = x0 + int64_t(j);
            t[i * A + j] = (yy < 0 || yy >= H || xx < 0 || xx >= W) ? 0 : img[yy * W + xx];
          }
        k::winograd_tile<M, true>(t, o);
        for (size_t p = 0; p < A * A; ++p) out[(p * s.channels + c) * cols + col] = o[p] & mask;
      } else {
        for (size_t p = 0; p < A * A; ++p) t[p] = in[(p * s.channels + c) * cols + col];
        k::winograd_tile<M, false>(t, o);
        for (size_t i = 0; i < size_t(M); ++i)
          for (size_t j = 0; j < size_t(M); ++j) {
            const size_t oy = ty * M + i, ox = tx * M + j;
            if (oy < s.ho && ox < s.wo) out[(c * s.batch + n) * S + oy * s.wo + ox] = o[i * M + j] & mask;
          }
      }
    }
}

}  // namespace

void CpuBackend::winograd_transform(int bits, mpc::WinogradMode mode, const mpc::WinogradShape& s,
                                    const uint64_t* in, uint64_t* out) {
  const int kmode = static_cast<int>(mode);
  check("winograd_transform", k::winograd_transform_arg_error(kmode, bits, s.m),
        "bits=" + std::to_string(bits) + ", mode=" + std::to_string(kmode) + ", m=" + std::to_string(s.m));
  check("winograd_transform", mpc::winograd_shape_error(s), mpc::winograd_shape_str(s));
  const uint64_t mask = mask_of(bits);
  const bool input = mode == mpc::WinogradMode::Input;
  const size_t planes = s.batch * s.channels, per_plane = s.alpha() * s.alpha() * s.tiles();
  record("winograd_transform", uint64_t(planes) * s.tiles());
  if (s.tiles() == 0) return;
  const size_t grain = std::max<size_t>(1, kMinElementsPerThread / std::max<size_t>(per_plane, 1));
  detail::parallel_for(threads_, planes, grain, 1, [&](size_t lo, size_t hi) {
    for (size_t q = lo; q < hi; ++q) {
      const size_t n = q / s.channels, c = q % s.channels;
      if (s.m == 2)
        winograd_plane<2>(input, mask, s, n, c, in, out);
      else
        winograd_plane<4>(input, mask, s, n, c, in, out);
    }
  });
}

void CpuBackend::matmul_combine(int party, int bits, size_t m, size_t kk, size_t n,
                                const uint64_t* e, const uint64_t* f, const uint64_t* a,
                                const uint64_t* b, const uint64_t* c, uint64_t* z) {
  check("matmul_combine", k::matmul_combine_arg_error(party, bits), pb(party, bits));
  const size_t kMaxDim = size_t(1) << 31;
  if (m >= kMaxDim || kk >= kMaxDim || n >= kMaxDim)
    check("matmul_combine", "matrix dimensions must be below 2^31",
          "m=" + std::to_string(m) + ", k=" + std::to_string(kk) + ", n=" + std::to_string(n));
  const uint64_t mask = mask_of(bits);
  record("matmul_combine", uint64_t(m) * kk * n);
  if (m == 0 || n == 0) return;
  // Z = C + E·B + A·F + [p0] E·F = C + E·B + H·F with H = A + [p0] E (m×k, small).
  RowMat h_sum;
  const uint64_t* h = a;
  if (party == 0 && kk > 0) {
    h_sum = ConstView(a, m, kk, Eigen::OuterStride<>(kk)) +
            ConstView(e, m, kk, Eigen::OuterStride<>(kk));
    h = h_sum.data();
  }
  // One output block: rows [r0, r0 + rn), columns [c0, c0 + cn).
  auto block = [&](size_t r0, size_t rn, size_t c0, size_t cn) {
    const Eigen::Index ri = Eigen::Index(rn), ci = Eigen::Index(cn), ki = Eigen::Index(kk);
    View zb(z + r0 * n + c0, ri, ci, Eigen::OuterStride<>(Eigen::Index(n)));
    zb = ConstView(c + r0 * n + c0, ri, ci, Eigen::OuterStride<>(Eigen::Index(n)));
    if (kk > 0) {
      const ConstView eb(e + r0 * kk, ri, ki, Eigen::OuterStride<>(ki));
      const ConstView hb(h + r0 * kk, ri, ki, Eigen::OuterStride<>(ki));
      const ConstView bb(b + c0, ki, ci, Eigen::OuterStride<>(Eigen::Index(n)));
      const ConstView fb(f + c0, ki, ci, Eigen::OuterStride<>(Eigen::Index(n)));
      zb.noalias() += eb * bb;
      zb.noalias() += hb * fb;
    }
    for (Eigen::Index i = 0; i < ri; ++i)
      for (Eigen::Index j = 0; j < ci; ++j) zb(i, j) &= mask;
  };
  const size_t macs = m * std::max<size_t>(kk, 1) * n;
  const size_t parts =
      std::min<size_t>(size_t(threads_), std::max<size_t>(1, macs / kMinMacsPerThread));
  // Column blocks first: each thread then packs only its own slice of B and F (the large
  // operands); row blocks when n is too narrow (e.g. a dense layer on one input).
  if (parts > 1 && n >= parts * 64) {
    detail::parallel_for(int(parts), n, 64, 16,
                         [&](size_t lo, size_t hi) { block(0, m, lo, hi - lo); });
  } else if (parts > 1 && m >= parts) {
    detail::parallel_for(int(parts), m, 1, 1,
                         [&](size_t lo, size_t hi) { block(lo, hi - lo, 0, n); });
  } else {
    block(0, m, 0, n);
  }
}

void CpuBackend::poly_eval(int party, int bits, const mpc::PolyShape& s, mpc::PolyMode mode,
                           const mpc::PolyEvalArgs& g, uint64_t* z) {
  const int kmode = static_cast<int>(mode);
  check("poly_eval", k::poly_eval_arg_error(party, bits, kmode, 0, 0, 0),
        pb(party, bits) + ", mode=" + std::to_string(kmode));
  const uint64_t mask = mask_of(bits);
  const size_t n = s.size();
  const bool p0 = party == 0;
  const bool quad = mode == mpc::PolyMode::Quadratic;
  const bool per_element = mode == mpc::PolyMode::LinearElement;
  // Elements [lo, hi) as runs of constant channel; the channel's coefficients folded with
  // the party once per run (kernels/poly_eval.h poly_fold), the lane formula per element.
  auto range = [&](size_t lo, size_t hi) {
    size_t run = lo / s.inner;  // index of the (outer, channel) run
    size_t ch = run % s.channels;
    for (size_t j = lo; j < hi; ++run) {
      const size_t end = std::min(hi, (run + 1) * s.inner);
      const k::PolyCoef kc = k::poly_fold(p0, quad ? g.e2[ch] : 0, quad ? g.m2[ch] : 0,
                                          per_element ? 0 : g.e1[ch], per_element ? 0 : g.m1[ch],
                                          g.add[ch]);
      if (quad) {
        for (size_t i = j; i < end; ++i)
          z[i] = k::poly_eval_lane(mask, kc, g.d[i], g.alpha[i], g.a2[i], g.m2a[i], g.m2a2[i],
                                   g.m1a[i]);
      } else if (per_element) {
        for (size_t i = j; i < end; ++i) {
          const uint64_t m1p = g.m1[i] + (p0 ? g.e1[i] : 0);
          z[i] = (g.m1a[i] + g.d[i] * m1p + g.e1[i] * g.alpha[i] + kc.addp) & mask;
        }
      } else {
        for (size_t i = j; i < end; ++i)
          z[i] = (g.m1a[i] + g.d[i] * kc.m1p + kc.e1 * g.alpha[i] + kc.addp) & mask;
      }
      j = end;
      if (++ch == s.channels) ch = 0;
    }
  };
  detail::parallel_for(threads_, n, kMinElementsPerThread, 8, range);
  record("poly_eval", n);
}

void CpuBackend::trunc_exact_combine(int party, int bits, int shift, size_t n,
                                     const uint64_t* x, const uint64_t* carry,
                                     const uint64_t* wrap, uint64_t* z) {
  check("trunc_exact_combine", k::trunc_exact_arg_error(party, bits, shift),
        pb(party, bits) + ", shift=" + std::to_string(shift));
  const uint64_t mask = mask_of(bits);
  const bool p0 = party == 0;
  const uint64_t half = p0 ? uint64_t{1} << (bits - 1) : 0;
  const uint64_t pub = p0 ? uint64_t{1} << (bits - 1 - shift) : 0;
  const int wrap_shift = bits - shift;  // in [1, 64]; 2^64 = 0 in the ring
  detail::parallel_for(threads_, n, kMinElementsPerThread, 8, [&](size_t lo, size_t hi) {
    if (wrap_shift >= 64) {
      for (size_t i = lo; i < hi; ++i)
        z[i] = ((((x[i] + half) & mask) >> shift) + carry[i] - pub) & mask;
    } else {
      for (size_t i = lo; i < hi; ++i)
        z[i] = ((((x[i] + half) & mask) >> shift) + carry[i] - (wrap[i] << wrap_shift) - pub) &
               mask;
    }
  });
  record("trunc_exact_combine", n);
}

void CpuBackend::trunc_prob_combine(int party, int bits, int shift, int offset_bits, size_t n,
                                    const uint64_t* c, const uint64_t* r_shr, uint64_t* z) {
  check("trunc_prob_combine", k::trunc_prob_arg_error(party, bits, shift, offset_bits),
        pb(party, bits) + ", shift=" + std::to_string(shift) +
            ", offset_bits=" + std::to_string(offset_bits));
  const uint64_t mask = mask_of(bits);
  const uint64_t pub = uint64_t{1} << (offset_bits - shift);
  detail::parallel_for(threads_, n, kMinElementsPerThread, 8, [&](size_t lo, size_t hi) {
    if (party == 0) {
      for (size_t i = lo; i < hi; ++i) z[i] = (((c[i] & mask) >> shift) - pub - r_shr[i]) & mask;
    } else {
      for (size_t i = lo; i < hi; ++i) z[i] = (uint64_t{0} - r_shr[i]) & mask;
    }
  });
  record("trunc_prob_combine", n);
}

void CpuBackend::gmw_and_level(int party, size_t words, const uint64_t* d, const uint64_t* e,
                               const uint64_t* a, const uint64_t* b, const uint64_t* c,
                               uint64_t* z) {
  check("gmw_and_level", k::gmw_and_level_arg_error(party), "party=" + std::to_string(party));
  detail::parallel_for(threads_, words, kMinElementsPerThread, 8, [&](size_t lo, size_t hi) {
    if (party == 0) {
      // (d & b) ^ (d & e) = d & (b ^ e)
      for (size_t i = lo; i < hi; ++i) z[i] = c[i] ^ (d[i] & (b[i] ^ e[i])) ^ (e[i] & a[i]);
    } else {
      for (size_t i = lo; i < hi; ++i) z[i] = c[i] ^ (d[i] & b[i]) ^ (e[i] & a[i]);
    }
  });
  record("gmw_and_level", words);
}

void CpuBackend::b2a_combine(int party, int bits, size_t n, const uint64_t* e_packed,
                             const uint64_t* r, uint64_t* z) {
  check("b2a_combine", k::b2a_combine_arg_error(party, bits), pb(party, bits));
  const uint64_t mask = mask_of(bits);
  const uint64_t p0 = party == 0 ? 1 : 0;
  // e ? [p0] - r : r, branch-free: r ^ (-e & (r ^ ([p0] - r))).
  detail::parallel_for(threads_, n, kMinElementsPerThread, 64, [&](size_t lo, size_t hi) {
    for (size_t i = lo; i < hi; ++i) {
      const uint64_t sel = uint64_t{0} - ((e_packed[i >> 6] >> (i & 63)) & 1);
      z[i] = (r[i] ^ (sel & (r[i] ^ (p0 - r[i])))) & mask;
    }
  });
  record("b2a_combine", n);
}

void CpuBackend::bit_slice(int bits, size_t n, const uint64_t* x, uint64_t* planes) {
  check("bit_slice", k::bit_slice_arg_error(bits), "bits=" + std::to_string(bits));
  const size_t words = (n + 63) / 64;
  detail::parallel_for(threads_, n, kMinElementsPerThread, 64, [&](size_t lo, size_t hi) {
    uint64_t blk[64];
    for (size_t w = lo / 64; w * 64 < hi; ++w) {
      const size_t base = w * 64;
      const size_t len = std::min<size_t>(64, n - base);
      std::copy(x + base, x + base + len, blk);
      std::fill(blk + len, blk + 64, uint64_t{0});
      transpose64(blk);
      for (int p = 0; p < bits; ++p) planes[size_t(p) * words + w] = blk[p];
    }
  });
  record("bit_slice", n);
}

void CpuBackend::dcf_eval(int party, int depth, size_t n, const uint64_t* keys, const uint64_t* x,
                          uint64_t* out) {
  mpc::dcf_check_args(party, depth, "cpu backend: dcf_eval");
  const size_t kw = mpc::dcf_key_words(depth);
  // Each part is a run of whole output words. dcf_eval_host checks the key headers as it
  // loads them; the first error of any part is rethrown here, after all parts joined.
  std::mutex err_mutex;
  std::exception_ptr err;
  detail::parallel_for(threads_, n, kMinKeysPerThread, 64, [&](size_t lo, size_t hi) {
    try {
      mpc::dcf_eval_host(party, depth, hi - lo, keys + lo * kw, x + lo, out + lo / 64);
    } catch (...) {
      std::lock_guard<std::mutex> lock(err_mutex);
      if (!err) err = std::current_exception();
    }
  });
  if (err) {
    // Name the key by its index in the whole batch when a header was the problem.
    mpc::dcf_check_keys(party, depth, n, keys, "cpu backend: dcf_eval");
    std::rethrow_exception(err);
  }
  record("dcf_eval", n);
}

}  // namespace polympc::cpu
