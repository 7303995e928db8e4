// Helpers of the libFuzzer targets (fuzz/README.md).
#pragma once
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace polympc::fuzz {

/// A private scratch directory of this fuzzing process (removed at exit by the OS's tmp
/// cleaning; each target writes only small files there).
inline const std::string& scratch() {
  static const std::string dir = [] {
    const std::string d = (std::filesystem::temp_directory_path() / ("polympc_fuzz_" + std::to_string(getpid()))).string();
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

/// Writes `n` bytes to `path` (replacing it).
inline void write_file(const std::string& path, const uint8_t* data, size_t n) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(n));
}

}  // namespace polympc::fuzz
