// trace_backend (trace.h): a Backend decorator that records each call as a span.
#include "polympc/mpc/trace.h"

#include "polympc/mpc/channel.h"

namespace polympc::mpc {
namespace {

class TracingBackend final : public Backend {
 public:
  TracingBackend(Backend& inner, SpanRecorder& rec, const Channel& ch, int party, int lane)
      : inner_(inner), rec_(rec), ch_(ch), party_(party), lane_(lane) {}

  std::string name() const override { return inner_.name(); }

  void beaver_mul_combine(int party, int bits, size_t n, const uint64_t* d, const uint64_t* e,
                          const uint64_t* a, const uint64_t* b, const uint64_t* c,
                          uint64_t* z) override {
    timed("beaver_mul_combine", [&] { inner_.beaver_mul_combine(party, bits, n, d, e, a, b, c, z); });
  }
  void matmul_combine(int party, int bits, size_t m, size_t k, size_t n, const uint64_t* e,
                      const uint64_t* f, const uint64_t* a, const uint64_t* b, const uint64_t* c,
                      uint64_t* z) override {
    timed("matmul_combine", [&] { inner_.matmul_combine(party, bits, m, k, n, e, f, a, b, c, z); });
  }
  void poly_eval(int party, int bits, const PolyShape& s, PolyMode mode, const PolyEvalArgs& args,
                 uint64_t* z) override {
    timed("poly_eval", [&] { inner_.poly_eval(party, bits, s, mode, args, z); });
  }
  void trunc_exact_combine(int party, int bits, int shift, size_t n, const uint64_t* x,
                           const uint64_t* carry, const uint64_t* wrap, uint64_t* z) override {
    timed("trunc_exact_combine", [&] { inner_.trunc_exact_combine(party, bits, shift, n, x, carry, wrap, z); });
  }
  void trunc_prob_combine(int party, int bits, int shift, int offset_bits, size_t n, const uint64_t* c,
                          const uint64_t* r_shr, uint64_t* z) override {
    timed("trunc_prob_combine", [&] { inner_.trunc_prob_combine(party, bits, shift, offset_bits, n, c, r_shr, z); });
  }
  void gmw_and_level(int party, size_t words, const uint64_t* d, const uint64_t* e, const uint64_t* a,
                     const uint64_t* b, const uint64_t* c, uint64_t* z) override {
    timed("gmw_and_level", [&] { inner_.gmw_and_level(party, words, d, e, a, b, c, z); });
  }
  void b2a_combine(int party, int bits, size_t n, const uint64_t* e_packed, const uint64_t* r,
                   uint64_t* z) override {
    timed("b2a_combine", [&] { inner_.b2a_combine(party, bits, n, e_packed, r, z); });
  }
  void bit_slice(int bits, size_t n, const uint64_t* x, uint64_t* planes) override {
    timed("bit_slice", [&] { inner_.bit_slice(bits, n, x, planes); });
  }
  void winograd_transform(int bits, WinogradMode mode, const WinogradShape& s, const uint64_t* in,
                          uint64_t* out) override {
    timed("winograd_transform", [&] { inner_.winograd_transform(bits, mode, s, in, out); });
  }
  void dcf_eval(int party, int depth, size_t n, const uint64_t* keys, const uint64_t* x,
                uint64_t* out) override {
    timed("dcf_eval", [&] { inner_.dcf_eval(party, depth, n, keys, x, out); });
  }
  std::map<std::string, KernelCounters> counters() const override { return inner_.counters(); }

 private:
  template <class F>
  void timed(const char* method, F&& call) {
    Span s;
    s.party = party_;
    s.lane = lane_;
    s.resource = "compute";
    s.name = method;
    s.layer = ch_.phase();
    s.start_s = rec_.now_s();
    call();
    s.end_s = rec_.now_s();
    rec_.add(std::move(s));
  }

  Backend& inner_;
  SpanRecorder& rec_;
  const Channel& ch_;
  int party_, lane_;
};

}  // namespace

std::unique_ptr<Backend> trace_backend(Backend& inner, SpanRecorder& rec, const Channel& channel,
                                       int party, int lane) {
  return std::make_unique<TracingBackend>(inner, rec, channel, party, lane);
}

}  // namespace polympc::mpc
