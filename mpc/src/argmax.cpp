// Secure argmax (label-only output): a tournament tree over the columns of each row. Each
// level compares the pairs with DReLU (GMW or FSS, full or reduced-bit: drelu() in
// compare.cpp, as ReLU and max use it) and multiplexes the value and the index of every
// pair in one round with a dealer-assisted bit multiplexer. Derivation, costs and the
// security argument: docs/protocols.md, "Secure argmax (label-only output)".
//
// The tournament is written once (tournament() below) and run against a dealer context,
// which only pushes material, and an online context, which runs the protocol
// (detail::CompareSteps in compare_internal.h, shared with Block-ReLU): the order and sizes
// of the material are the same by construction.
#include <string>

#include "compare_internal.h"
#include "polympc/mpc/checked.h"
#include "polympc/mpc/protocols.h"

namespace polympc::mpc {
namespace {

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
Words tournament(detail::CompareSteps& st, const RingConfig& ring, int party, const Words& x,
                 size_t rows, size_t cols, const std::string& tag) {
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
    const Words z = st.mux(bits, n, y, detail::block_selector(n, 2), lt + "/mux");
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
  detail::DealCompareSteps st(d, o, m0, m1);
  tournament(st, d.ring(), 0, Words(size, 0), rows, cols, tag);
}

Words argmax(Session& s, const Words& x, size_t rows, size_t cols, const std::string& tag) {
  const size_t size = checked_size(rows, cols, tag);
  if (x.size() != size)
    throw InvalidArgument(tag + ": argmax input has " + std::to_string(x.size()) +
                          " elements, [rows, cols] = [" + std::to_string(rows) + ", " +
                          std::to_string(cols) + "] needs " + std::to_string(size));
  if (rows == 0) return {};
  detail::OnlineCompareSteps st(s);
  return tournament(st, s.ring, s.party, x, rows, cols, tag);
}


}  // namespace polympc::mpc
