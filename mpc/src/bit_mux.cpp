// The one-round bit multiplexer shared by the secure argmax and Block-ReLU
// (compare_internal.h; derivation in docs/protocols.md "Secure argmax").
#include <string>

#include "compare_internal.h"

namespace polympc::mpc::detail {

Selector block_selector(size_t n, size_t k) {
  Selector sel(n * k);
  for (size_t i = 0; i < sel.size(); ++i) sel[i] = i % n;
  return sel;
}

namespace {
void check_selector(size_t n, const Selector& sel, const std::string& tag) {
  for (size_t i = 0; i < sel.size(); ++i)
    if (sel[i] >= n)
      throw InvalidArgument(tag + ": multiplexer selector entry " + std::to_string(i) + " is " +
                            std::to_string(sel[i]) + ", not below the " + std::to_string(n) +
                            " bits");
}
}  // namespace

void deal_bit_mux(Dealer& d, size_t n, const Selector& sel, const std::string& tag,
                  MaterialStore& m0, MaterialStore& m1) {
  check_selector(n, sel, tag);
  const Words r = deal_b2a_pair(d, n, tag + "/bit", m0, m1);
  const uint64_t m = d.ring().mask();
  const size_t k = sel.size();
  Words a = d.random(k), b(k), c(k);
  for (size_t i = 0; i < k; ++i) {
    b[i] = r[sel[i]];
    c[i] = (a[i] * b[i]) & m;
  }
  push_arith_shares(d, MaterialKind::BeaverTriple, tag, {&a, &b, &c}, m0, m1);
}

Words bit_mux(Session& s, const Words& bits, size_t n, const Words& y, const Selector& sel,
              const std::string& tag) {
  const size_t w = words_for_bits(n), k = sel.size();
  if (bits.size() != w || y.size() != k)
    throw InvalidArgument(tag + ": multiplexer expects " + std::to_string(w) + " bit words and " +
                          std::to_string(k) + " values, got " + std::to_string(bits.size()) +
                          " and " + std::to_string(y.size()));
  check_selector(n, sel, tag);
  // One round: the bit half of a B2A (e = d ^ r) and the first half of a Beaver product
  // (f = y - a), opened together.
  Opening op(s);
  const B2aStep bit = b2a_prepare(s, op, bits, n, tag + "/bit");
  const Words t = s.material.take(MaterialKind::BeaverTriple, 3 * k, tag);
  const uint64_t* a = t.data();
  const uint64_t* b = t.data() + k;
  const uint64_t* c = t.data() + 2 * k;
  const uint64_t m = s.ring.mask();
  Words fs(k);
  for (size_t i = 0; i < k; ++i) fs[i] = (y[i] - a[i]) & m;
  const size_t f_slot = op.arith(std::move(fs));
  op.exchange();
  const Words& e = op.opened(bit.slot);
  const Words& f = op.opened(f_slot);
  // r·y = c + f·b: Beaver's combine with the second opening e = 0.
  const Words zero(k, 0);
  Words ry(k);
  s.backend.beaver_mul_combine(s.party, s.ring.bits, k, f.data(), zero.data(), a, b, c, ry.data());
  Words z(k);
  for (size_t i = 0; i < k; ++i) {
    const size_t j = sel[i];
    const uint64_t ej = (e[j / 64] >> (j % 64)) & 1;
    const uint64_t em = uint64_t{0} - ej;  // all ones when e = 1
    // e·y + (1 - 2e)·v = e ? y - v : v
    z[i] = ((y[i] & em) + ((ry[i] ^ em) - em)) & m;
  }
  return z;
}

}  // namespace polympc::mpc::detail
