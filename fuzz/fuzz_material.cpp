// libFuzzer target: the material file reader (mpc::MaterialFile) on arbitrary file
// contents: open as party 0, load the per-model masks and every segment. Every input must
// be read or refused with a polympc error (MaterialError: not a polympc file, truncated,
// corrupt, sizes beyond the limits); anything else is a finding.
#include <cstdint>

#include "fuzz_common.h"
#include "polympc/mpc/errors.h"
#include "polympc/mpc/material.h"
#include "polympc/mpc/material_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = polympc::fuzz::scratch() + "/material.p0";
  polympc::fuzz::write_file(path, data, size);
  try {
    polympc::mpc::MaterialFile f = polympc::mpc::MaterialFile::open(path, 0);
    polympc::mpc::MaterialStore store(0);
    f.load_fixed(store);
    for (uint64_t s = 0; s < f.segments(); ++s) f.load_segment(store, s);
  } catch (const polympc::Error&) {
  }
  return 0;
}
