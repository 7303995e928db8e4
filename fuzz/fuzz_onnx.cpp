// libFuzzer target: the ONNX importer (nn::parse_onnx) on arbitrary bytes. Every input must
// either import or raise polympc's error types; anything else (a crash, a sanitizer report,
// another exception type, a hang) is a finding.
#include <cstdint>
#include <string>

#include "polympc/mpc/errors.h"
#include "polympc/nn/onnx.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const polympc::nn::Network net = polympc::nn::parse_onnx(std::string(reinterpret_cast<const char*>(data), size), "fuzz");
    (void)net;
  } catch (const polympc::Error&) {
  }
  return 0;
}
