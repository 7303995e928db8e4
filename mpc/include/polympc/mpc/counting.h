// The counting context: the protocols of protocols.h run unchanged on a channel, a backend
// and a material store that compute nothing and count everything (docs/protocols.md
// "Costs by counting"). A protocol is written once, in its dealing and online halves; its
// cost is what its online half does here: bytes and rounds are the Channel's own counters,
// dealer material is the words the online half takes (the MaterialStore refuses, in a real
// run, any item whose kind and size differ from what the dealer pushed), DCF key
// generation follows from the DCF evaluations, and the Backend calls (kernel, sizes) are
// recorded for the performance model to price with each kernel's cycle model.
//
// The idea is emp-toolkit's "ideal" execution and MP-SPDZ's cost-counting (-E) runs: the
// same program, a different context. Every value a counting run receives or computes is 0;
// protocols whose messages or Backend calls depended on values would be priced wrongly, and
// the tests compare every counted cost with a real run's wire, material and backend
// counters (tests/test_counting.cpp).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "polympc/mpc/backend.h"
#include "polympc/mpc/channel.h"
#include "polympc/mpc/dealer.h"
#include "polympc/mpc/material.h"
#include "polympc/mpc/session.h"

namespace polympc::mpc {

struct Cost;

/// One Backend call as the counting backend saw it. Fields a call does not have stay 0.
struct BackendCall {
  std::string kernel;  ///< Backend method = kernel name ("beaver_mul_combine", "dcf_eval", ...)
  int bits = 0;        ///< ring bits (bit_slice: planes)
  int shift = 0;       ///< truncation shift (trunc_*_combine), DCF depth (dcf_eval)
  size_t n = 0;        ///< elements (words for gmw_and_level; keys for dcf_eval)
  size_t m = 0, k = 0, cols = 0;  ///< matmul_combine: W (m x k) times L(X) (k x cols)
  PolyShape shape{};              ///< poly_eval
  PolyMode mode = PolyMode::Quadratic;  ///< poly_eval
  WinogradShape winograd{};             ///< winograd_transform
  WinogradMode winograd_mode = WinogradMode::Input;  ///< winograd_transform
};

/// A Backend that records each call and writes zeros to its outputs. name() = "count".
class CountingBackend final : public Backend {
 public:
  std::string name() const override { return "count"; }
  void beaver_mul_combine(int party, int bits, size_t n, const uint64_t* d, const uint64_t* e,
                          const uint64_t* a, const uint64_t* b, const uint64_t* c,
                          uint64_t* z) override;
  void matmul_combine(int party, int bits, size_t m, size_t k, size_t n, const uint64_t* e,
                      const uint64_t* f, const uint64_t* a, const uint64_t* b, const uint64_t* c,
                      uint64_t* z) override;
  void poly_eval(int party, int bits, const PolyShape& s, PolyMode mode, const PolyEvalArgs& args,
                 uint64_t* z) override;
  void trunc_exact_combine(int party, int bits, int shift, size_t n, const uint64_t* x,
                           const uint64_t* carry, const uint64_t* wrap, uint64_t* z) override;
  void trunc_prob_combine(int party, int bits, int shift, int offset_bits, size_t n,
                          const uint64_t* c, const uint64_t* r_shr, uint64_t* z) override;
  void gmw_and_level(int party, size_t words, const uint64_t* d, const uint64_t* e,
                     const uint64_t* a, const uint64_t* b, const uint64_t* c,
                     uint64_t* z) override;
  void b2a_combine(int party, int bits, size_t n, const uint64_t* e_packed, const uint64_t* r,
                   uint64_t* z) override;
  void bit_slice(int bits, size_t n, const uint64_t* x, uint64_t* planes) override;
  /// Records the call (n = tiles, batch·channels·T) and zeroes the output.
  void winograd_transform(int bits, WinogradMode mode, const WinogradShape& s, const uint64_t* in,
                          uint64_t* out) override;
  /// Records the call; does not read the keys (a counting store hands out none).
  void dcf_eval(int party, int depth, size_t n, const uint64_t* keys, const uint64_t* x,
                uint64_t* out) override;
  std::map<std::string, KernelCounters> counters() const override;

  const std::vector<BackendCall>& calls() const { return calls_; }

 private:
  std::vector<BackendCall> calls_;
};

/// A Channel whose writes go nowhere and whose reads return zeros; the base class counts
/// bytes and rounds exactly as on a real channel.
class CountingChannel final : public Channel {
 protected:
  void write_raw(const void*, size_t) override {}
  void read_raw(void* data, size_t n) override;
};

/// What one party's part of a protocol (or of several, in order) costs, by counting.
struct Counted {
  uint64_t bytes = 0;           ///< bytes this party sent
  uint64_t bytes_received = 0;  ///< bytes it received
  uint64_t rounds = 0;
  uint64_t material_words = 0;     ///< dealer material words it consumed
  uint64_t keygen_aes_blocks = 0;  ///< dcf_gen work behind its DCF evaluations (4 n depth)
  std::vector<BackendCall> calls;  ///< its Backend calls, in order
  /// As mpc::Cost (bytes sent, rounds, offline bytes = 8 words, key generation).
  Cost cost() const;
};

/// One party's counting session. Per-model setup (deal_matmul_setup, deal_poly_setup with
/// setup_dealer() on material(), then matmul_setup / poly_setup) may run first; start()
/// forgets what it cost, so result() counts the per-inference protocols only.
class CountingSession {
 public:
  CountingSession(const RingConfig& ring, const ProtocolOptions& options, int party);
  Session& session() { return session_; }
  /// Material of the setup calls' fixed masks (items are never queued: take() returns zeros).
  MaterialStore& material() { return store_; }
  /// A dealer for the per-model masks of setup calls (keyed from the OS CSPRNG; the masks
  /// meet only the counting backend).
  Dealer& setup_dealer();
  /// Zeroes the counters (call after the setup).
  void start();
  /// What the session did since start() (or construction).
  Counted result() const;

 private:
  CountingChannel channel_;
  CountingBackend backend_;
  MaterialStore store_;
  Session session_;
  std::unique_ptr<Dealer> dealer_;
  size_t calls_begin_ = 0;
  uint64_t words_begin_ = 0;
};

}  // namespace polympc::mpc
