#include "polympc/mpc/counting.h"

#include <algorithm>
#include <cstring>

#include "polympc/mpc/protocols.h"

namespace polympc::mpc {

namespace {
void zero(uint64_t* z, size_t n) {
  if (n) std::fill(z, z + n, uint64_t{0});
}
}  // namespace

void CountingBackend::beaver_mul_combine(int, int bits, size_t n, const uint64_t*, const uint64_t*,
                                         const uint64_t*, const uint64_t*, const uint64_t*, uint64_t* z) {
  BackendCall c{"beaver_mul_combine"};
  c.bits = bits;
  c.n = n;
  calls_.push_back(c);
  zero(z, n);
}

void CountingBackend::matmul_combine(int, int bits, size_t m, size_t k, size_t n, const uint64_t*, const uint64_t*,
                                     const uint64_t*, const uint64_t*, const uint64_t*, uint64_t* z) {
  BackendCall c{"matmul_combine"};
  c.bits = bits;
  c.m = m;
  c.k = k;
  c.cols = n;
  c.n = m * k * n;
  calls_.push_back(c);
  zero(z, m * n);
}

void CountingBackend::winograd_transform(int bits, WinogradMode mode, const WinogradShape& s, const uint64_t*,
                                         uint64_t* out) {
  BackendCall c{"winograd_transform"};
  c.bits = bits;
  c.n = s.batch * s.channels * s.tiles();
  c.winograd = s;
  c.winograd_mode = mode;
  calls_.push_back(c);
  zero(out, winograd_out_words(mode, s));
}

void CountingBackend::poly_eval(int, int bits, const PolyShape& s, PolyMode mode, const PolyEvalArgs&, uint64_t* z) {
  BackendCall c{"poly_eval"};
  c.bits = bits;
  c.n = s.size();
  c.shape = s;
  c.mode = mode;
  calls_.push_back(c);
  zero(z, s.size());
}

void CountingBackend::trunc_exact_combine(int, int bits, int shift, size_t n, const uint64_t*, const uint64_t*,
                                          const uint64_t*, uint64_t* z) {
  BackendCall c{"trunc_exact_combine"};
  c.bits = bits;
  c.shift = shift;
  c.n = n;
  calls_.push_back(c);
  zero(z, n);
}

void CountingBackend::trunc_prob_combine(int, int bits, int shift, int, size_t n, const uint64_t*, const uint64_t*,
                                         uint64_t* z) {
  BackendCall c{"trunc_prob_combine"};
  c.bits = bits;
  c.shift = shift;
  c.n = n;
  calls_.push_back(c);
  zero(z, n);
}

void CountingBackend::gmw_and_level(int, size_t words, const uint64_t*, const uint64_t*, const uint64_t*,
                                    const uint64_t*, const uint64_t*, uint64_t* z) {
  BackendCall c{"gmw_and_level"};
  c.n = words;
  calls_.push_back(c);
  zero(z, words);
}

void CountingBackend::b2a_combine(int, int bits, size_t n, const uint64_t*, const uint64_t*, uint64_t* z) {
  BackendCall c{"b2a_combine"};
  c.bits = bits;
  c.n = n;
  calls_.push_back(c);
  zero(z, n);
}

void CountingBackend::bit_slice(int bits, size_t n, const uint64_t*, uint64_t* planes) {
  BackendCall c{"bit_slice"};
  c.bits = bits;
  c.n = n;
  calls_.push_back(c);
  zero(planes, static_cast<size_t>(bits) * words_for_bits(n));
}

void CountingBackend::dcf_eval(int, int depth, size_t n, const uint64_t*, const uint64_t*, uint64_t* out) {
  BackendCall c{"dcf_eval"};
  c.shift = depth;
  c.n = n;
  calls_.push_back(c);
  zero(out, words_for_bits(n));
}

std::map<std::string, KernelCounters> CountingBackend::counters() const {
  std::map<std::string, KernelCounters> m;
  for (const BackendCall& c : calls_) {
    KernelCounters& k = m[c.kernel];
    k.calls += 1;
    k.elements += c.n;
  }
  return m;
}

void CountingChannel::read_raw(void* data, size_t n) {
  if (n) std::memset(data, 0, n);
}

Cost Counted::cost() const { return Cost{bytes, rounds, 8 * material_words, keygen_aes_blocks}; }

CountingSession::CountingSession(const RingConfig& ring, const ProtocolOptions& options, int party)
    : store_(MaterialStore::counting(party)), session_{party, ring, channel_, backend_, store_, options} {
  ring.validate();
}

Dealer& CountingSession::setup_dealer() {
  if (!dealer_) dealer_ = std::make_unique<Dealer>(session_.ring);
  return *dealer_;
}

void CountingSession::start() {
  channel_.reset_stats();
  calls_begin_ = backend_.calls().size();
  words_begin_ = store_.consumed_words();
}

Counted CountingSession::result() const {
  Counted c;
  const PhaseStats t = channel_.total();
  c.bytes = t.bytes_sent;
  c.bytes_received = t.bytes_received;
  c.rounds = t.rounds;
  c.material_words = store_.consumed_words() - words_begin_;
  c.calls.assign(backend_.calls().begin() + static_cast<long>(calls_begin_), backend_.calls().end());
  for (const BackendCall& b : c.calls)
    if (b.kernel == "dcf_eval") c.keygen_aes_blocks += dcf_keygen_aes_blocks(b.n, b.shift);
  return c;
}

}  // namespace polympc::mpc
