// The fixed material files of the handshake target and its seed generator: a dealer run
// with an INSECURE fixed seed (fuzzing only), one segment of 2 images, per party.
#pragma once
#include <string>

#include "polympc/mpc/dealer.h"
#include "polympc/mpc/protocols.h"
#include "polympc/mpc/material.h"
#include "polympc/mpc/material_file.h"
#include "polympc/mpc/prg.h"

namespace polympc::fuzz {

/// Writes <dir>/hs.p0 and <dir>/hs.p1 (same files on every call).
inline void write_handshake_files(const std::string& dir) {
  mpc::Dealer d(mpc::seed_from_u64(20261130), mpc::RingConfig{64, 12});
  mpc::RunId id{};
  mpc::MacKey key{};
  d.prg().bytes(id.data(), id.size());
  d.prg().bytes(key.data(), key.size());
  mpc::MaterialWriter w0(dir + "/hs.p0", 0, id, key, "m", "plan", 1);
  mpc::MaterialWriter w1(dir + "/hs.p1", 1, id, key, "m", "plan", 1);
  mpc::MaterialStore f0(0), f1(1), s0(0), s1(1);
  mpc::deal_matmul_setup(d, 2, 3, "fc", f0, f1);
  w0.write_fixed(f0);
  w1.write_fixed(f1);
  mpc::deal_mul(d, 4, "mul", s0, s1);
  w0.write_segment(s0, 2);
  w1.write_segment(s1, 2);
  w0.finish();
  w1.finish();
}

}  // namespace polympc::fuzz
