// Secure argmax (label-only output): a tournament tree over the columns of each row. Each
// level compares the pairs with DReLU (GMW or FSS, full or reduced-bit: drelu() in
// compare.cpp, as ReLU and max use it) and multiplexes the value and the index of every
// pair in one round with a dealer-assisted bit multiplexer. Derivation, costs and the
// security argument: docs/protocols.md, "Secure argmax (label-only output)".
//
// The tournament is written once (tournament() below) and run against a dealer context,
// which only pushes material, and an online context, which runs the protocol (as gmw.cpp's
// AndGates / DealAnd / OnlineAnd): the order and sizes of the material are the same by
// construction.
#include <string>

#include "compare_internal.h"
#include "polympc/mpc/checked.h"
#include "polympc/mpc/protocols.h"

namespace polympc::mpc {
namespace {

// ---- bit multiplexer ------------------------------------------------------------------
// z = d · y for n XOR-shared bits d (bit-sliced, W = ceil(n/64) words) and k·n arithmetic
// shares y (k blocks of n; block j is multiplied elementwise by d), in ONE round:
//   dealer: a fresh uniform bit r per element as a B2A pair [r bits | r], and a Beaver
//           triple [a | b | c] of k·n elements with a uniform, b = r (in every block) and
//           c = a·b;
//   online: open e = d ^ r (W words) and f = y - a (k·n ring elements) in one message; then
//           d = e + (1 - 2e)·r and r·y = c + f·b (Beaver's combine with the opening of the
//           second factor known to be 0), so  z = e·y + (1 - 2e)·(c + f·b)  locally.
// e is masked by the fresh bit r, f by the fresh uniform a: both are uniform to the peer.
// Cost: 1 round, 8 W + k·n·ceil(l/8) bytes per party.

void deal_bit_mux(Dealer& d, size_t n, size_t k, const std::string& tag, MaterialStore& m0,
                  MaterialStore& m1) {
  const Words r = detail::deal_b2a_pair(d, n, tag + "/bit", m0, m1);
  const uint64_t m = d.ring().mask();
  Words a = d.random(k * n), b(k * n), c(k * n);
  for (size_t blk = 0; blk < k; ++blk)
    for (size_t j = 0; j < n; ++j) {
      b[blk * n + j] = r[j];
      c[blk * n + j] = (a[blk * n + j] * r[j]) & m;
    }
  push_arith_shares(d, MaterialKind::BeaverTriple, tag, {&a, &b, &c}, m0, m1);
}

Words bit_mux(Session& s, const Words& bits, size_t n, const Words& y, size_t k,
              const std::string& tag) {
  const size_t w = words_for_bits(n), kn = k * n;
  if (bits.size() != w || y.size() != kn)
    throw InvalidArgument(tag + ": multiplexer expects " + std::to_string(w) + " bit words and " +
                          std::to_string(kn) + " values, got " + std::to_string(bits.size()) +
                          " and " + std::to_string(y.size()));
  // One round: the bit half of a B2A (e = d ^ r) and the first half of a Beaver product
  // (f = y - a), opened together.
  Opening op(s);
  const B2aStep bit = b2a_prepare(s, op, bits, n, tag + "/bit");
  const Words t = s.material.take(MaterialKind::BeaverTriple, 3 * kn, tag);
  const uint64_t* a = t.data();
  const uint64_t* b = t.data() + kn;
  const uint64_t* c = t.data() + 2 * kn;
  const uint64_t m = s.ring.mask();
  Words fs(kn);
  for (size_t j = 0; j < kn; ++j) fs[j] = (y[j] - a[j]) & m;
  const size_t f_slot = op.arith(std::move(fs));
  op.exchange();
  const Words& e = op.opened(bit.slot);
  const Words& f = op.opened(f_slot);
  // r·y = c + f·b: Beaver's combine with the second opening e = 0.
  const Words zero(kn, 0);
  Words ry(kn);
  s.backend.beaver_mul_combine(s.party, s.ring.bits, kn, f.data(), zero.data(), a, b, c, ry.data());
  Words z(kn);
  for (size_t blk = 0; blk < k; ++blk)
    for (size_t j = 0; j < n; ++j) {
      const uint64_t ej = (e[j / 64] >> (j % 64)) & 1;
      const uint64_t em = uint64_t{0} - ej;  // all ones when e = 1
      const uint64_t v = ry[blk * n + j];
      // e·y + (1 - 2e)·v = e ? y - v : v
      z[blk * n + j] = ((y[blk * n + j] & em) + ((v ^ em) - em)) & m;
    }
  return z;
}

// ---- the tournament, written once -------------------------------------------------------
/// The two steps of a level: comparison and multiplexer. The dealer context pushes the
/// material and returns zeros of the right size; the online context runs the protocol.
class LevelSteps {
 public:
  virtual ~LevelSteps() = default;
  /// XOR shares of DReLU(t) (W words).
  virtual Words drelu(const Words& t, const std::string& tag) = 0;
  /// [d·y_0 | d·y_1] for the n bits d and the 2n values y = [y_0 | y_1].
  virtual Words mux2(const Words& bits, size_t n, const Words& y, const std::string& tag) = 0;
};

class DealSteps final : public LevelSteps {
 public:
  DealSteps(Dealer& d, const ProtocolOptions& o, MaterialStore& m0, MaterialStore& m1)
      : d_(d), o_(o), m0_(m0), m1_(m1) {}
  Words drelu(const Words& t, const std::string& tag) override {
    deal_drelu(d_, t.size(), o_, tag, m0_, m1_);
    return Words(words_for_bits(t.size()), 0);
  }
  Words mux2(const Words&, size_t n, const Words& y, const std::string& tag) override {
    deal_bit_mux(d_, n, 2, tag, m0_, m1_);
    return Words(y.size(), 0);
  }

 private:
  Dealer& d_;
  const ProtocolOptions& o_;
  MaterialStore& m0_;
  MaterialStore& m1_;
};

class OnlineSteps final : public LevelSteps {
 public:
  explicit OnlineSteps(Session& s) : s_(s) {}
  Words drelu(const Words& t, const std::string& tag) override { return mpc::drelu(s_, t, tag); }
  Words mux2(const Words& bits, size_t n, const Words& y, const std::string& tag) override {
    return bit_mux(s_, bits, n, y, 2, tag);
  }

 private:
  Session& s_;
};

std::string level_tag(const std::string& tag, int level) {
  return tag + "/level" + std::to_string(level);
}

size_t checked_size(size_t rows, size_t cols, const std::string& tag) {
  if (cols == 0) throw InvalidArgument(tag + ": argmax needs at least one column (cols = 0)");
  return static_cast<size_t>(
      checked_mul<InvalidArgument>(rows, cols, tag + ": argmax of [rows, cols]"));
}

/// Tournament over the columns of each row of x ([rows, cols], this party's shares; zeros
/// in the dealer context). Level by level, row r's candidates c_0, c_1, ... are paired
/// (c_0, c_1), (c_2, c_3), ...; for a pair (a, ia), (b, ib): t = a - b, d = DReLU(t),
/// max = b + d·t, idx = ib + d·(ia - ib); an odd last candidate passes through. Returns
/// the index shares (rows elements).
Words tournament(LevelSteps& st, const RingConfig& ring, int party, const Words& x, size_t rows,
                 size_t cols, const std::string& tag) {
  const uint64_t m = ring.mask();
  Words val = x, idx(rows * cols, 0);
  if (party == 0)  // public column numbers: P0 holds them, P1 holds 0
    for (size_t r = 0; r < rows; ++r)
      for (size_t j = 0; j < cols; ++j) idx[r * cols + j] = j;
  size_t cnt = cols;
  for (int level = 0; cnt > 1; ++level) {
    const size_t pairs = cnt / 2, next = pairs + cnt % 2, n = rows * pairs;
    Words t(n), y(2 * n);
    for (size_t r = 0; r < rows; ++r)
      for (size_t p = 0; p < pairs; ++p) {
        const size_t ia = r * cnt + 2 * p, ib = ia + 1, k = r * pairs + p;
        t[k] = (val[ia] - val[ib]) & m;
        y[k] = t[k];
        y[n + k] = (idx[ia] - idx[ib]) & m;
      }
    const std::string lt = level_tag(tag, level);
    const Words bits = st.drelu(t, lt);
    const Words z = st.mux2(bits, n, y, lt + "/mux");
    Words nval(rows * next), nidx(rows * next);
    for (size_t r = 0; r < rows; ++r) {
      for (size_t p = 0; p < pairs; ++p) {
        const size_t ib = r * cnt + 2 * p + 1, k = r * pairs + p;
        nval[r * next + p] = (val[ib] + z[k]) & m;
        nidx[r * next + p] = (idx[ib] + z[n + k]) & m;
      }
      if (cnt % 2) {
        nval[r * next + pairs] = val[r * cnt + cnt - 1];
        nidx[r * next + pairs] = idx[r * cnt + cnt - 1];
      }
    }
    val = std::move(nval);
    idx = std::move(nidx);
    cnt = next;
  }
  return idx;
}

}  // namespace

void deal_argmax(Dealer& d, size_t rows, size_t cols, const ProtocolOptions& o,
                 const std::string& tag, MaterialStore& m0, MaterialStore& m1) {
  const size_t size = checked_size(rows, cols, tag);
  if (rows == 0) return;
  DealSteps st(d, o, m0, m1);
  tournament(st, d.ring(), 0, Words(size, 0), rows, cols, tag);
}

Words argmax(Session& s, const Words& x, size_t rows, size_t cols, const std::string& tag) {
  const size_t size = checked_size(rows, cols, tag);
  if (x.size() != size)
    throw InvalidArgument(tag + ": argmax input has " + std::to_string(x.size()) +
                          " elements, [rows, cols] = [" + std::to_string(rows) + ", " +
                          std::to_string(cols) + "] needs " + std::to_string(size));
  if (rows == 0) return {};
  OnlineSteps st(s);
  return tournament(st, s.ring, s.party, x, rows, cols, tag);
}


}  // namespace polympc::mpc
