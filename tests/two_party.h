// Test harness: runs P0 and P1 of a protocol on two threads over the in-process channel,
// after the dealer has filled both material stores. Failures in either party propagate.
#pragma once
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "polympc/mpc/dealer.h"
#include "polympc/mpc/material_file.h"
#include "polympc/mpc/protocols.h"
#include "polympc/mpc/session.h"
#include "polympc/sim/sim_backend.h"

namespace polympc::testing {

struct TwoParty {
  explicit TwoParty(mpc::RingConfig r = {}, mpc::ProtocolOptions o = {}, uint64_t seed = 7)
      : ring(r), options(o), dealer(mpc::seed_from_u64(seed), r), prg(mpc::seed_from_u64(seed + 1000)) {
    auto pair = mpc::make_inproc_pair();
    ch0 = std::move(pair.first);
    ch1 = std::move(pair.second);
  }
  mpc::Session session(int p) {
    return mpc::Session{p, ring, p == 0 ? *ch0 : *ch1, p == 0 ? be0 : be1, p == 0 ? m0 : m1, options};
  }
  /// Runs f(session) for both parties concurrently; returns when both finished.
  void run(const std::function<void(mpc::Session&)>& f) {
    std::exception_ptr e0, e1;
    std::thread t([&] {
      try {
        auto s = session(0);
        f(s);
      } catch (...) {
        e0 = std::current_exception();
      }
    });
    try {
      auto s = session(1);
      f(s);
    } catch (...) {
      e1 = std::current_exception();
    }
    t.join();
    if (e0) std::rethrow_exception(e0);
    if (e1) std::rethrow_exception(e1);
  }
  /// Random arithmetic shares of x.
  std::pair<mpc::Words, mpc::Words> share(const mpc::Words& x) { return dealer.share_arith(x); }
  mpc::Words reconstruct(const mpc::Words& a, const mpc::Words& b) const {
    mpc::Words z(a.size());
    for (size_t i = 0; i < a.size(); ++i) z[i] = (a[i] + b[i]) & ring.mask();
    return z;
  }
  mpc::PhaseStats stats(int p, const std::string& phase = "default") {
    auto& ch = p == 0 ? *ch0 : *ch1;
    auto it = ch.stats().find(phase);
    return it == ch.stats().end() ? mpc::PhaseStats{} : it->second;
  }

  mpc::RingConfig ring;
  mpc::ProtocolOptions options;
  mpc::Dealer dealer;
  mpc::Prg prg;
  std::unique_ptr<mpc::Channel> ch0, ch1;
  sim::SimBackend be0, be1;
  mpc::MaterialStore m0{0}, m1{1};
};

/// Writes `store` as a one-segment preprocessing file (fixed masks + queued items) of a
/// test run with a fixed run ID and key.
inline void write_material_file(const std::string& path, const mpc::MaterialStore& store, uint8_t run = 1) {
  mpc::RunId id{};
  id[0] = run;
  mpc::MacKey key{};
  key[0] = run;
  mpc::MaterialWriter w(path, store.party(), id, key, "test-model", "test-plan", 1);
  w.write_fixed(store);
  w.write_segment(store, 1);
  w.finish();
}

/// Sends both parties' material of `tp` through preprocessing files (write, read back the
/// fixed masks and the one segment) and removes the files: what a deployment does.
inline void reload_through_files(TwoParty& tp, const std::string& name) {
  const std::string base = ::testing::TempDir() + "/polympc_" + name + "_" + std::to_string(::getpid());
  write_material_file(base + "_p0.mat", tp.m0);
  write_material_file(base + "_p1.mat", tp.m1);
  tp.m0 = mpc::MaterialStore(0);
  tp.m1 = mpc::MaterialStore(1);
  for (int p = 0; p < 2; ++p) {
    const std::string path = base + "_p" + std::to_string(p) + ".mat";
    mpc::MaterialFile f = mpc::MaterialFile::open(path, p);
    f.load_fixed(p == 0 ? tp.m0 : tp.m1);
    f.load_segment(p == 0 ? tp.m0 : tp.m1, 0);
    std::remove(path.c_str());
  }
}

/// Values that exercise the edges: 0, +-1, largest and smallest representable, and
/// random values of `mag_bits` magnitude.
inline mpc::Words edge_and_random(const mpc::RingConfig& r, mpc::Prg& prg, size_t n_random, int mag_bits) {
  mpc::Words v = {r.from_signed(0), r.from_signed(1), r.from_signed(-1), r.from_signed(r.max_signed()),
                  r.from_signed(r.min_signed()), r.from_signed(r.max_signed() - 1), r.from_signed(r.min_signed() + 1),
                  r.from_signed(int64_t{1} << r.frac), r.from_signed(-(int64_t{1} << r.frac))};
  for (size_t i = 0; i < n_random; ++i) {
    const uint64_t u = prg.next_u64();
    int64_t s = static_cast<int64_t>(u >> (64 - mag_bits));
    if (u & 1) s = -s;
    v.push_back(r.from_signed(s));
  }
  return v;
}

}  // namespace polympc::testing
