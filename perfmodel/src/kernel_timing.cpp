#include "kernel_timing.h"

#include "kernels/beaver_mul_combine.h"
#include "kernels/dcf_eval.h"
#include "kernels/gmw_and_level.h"
#include "kernels/matmul_combine.h"
#include "kernels/poly_eval.h"
#include "kernels/trunc.h"
#include "kernels/winograd_transform.h"

namespace polympc::perfmodel::detail {

namespace {
namespace k = polympc::kernels;
template <class C>
HeaderTiming of(const char* header, const char* config, uint64_t lanes, uint64_t max_batch) {
  HeaderTiming t;
  t.lanes = lanes;
  t.ii = C::ii;
  t.depth = C::depth;
  t.max_batch = max_batch;
  t.source = std::string(header) + " " + config;
  return t;
}
}  // namespace

bool header_timing(const std::string& name, HeaderTiming& t) {
  if (name == "beaver_mul_combine") {
    using C = k::BeaverMulDefaultConfig;
    t = of<C>("kernels/beaver_mul_combine.h", "BeaverMulDefaultConfig", C::lanes, C::max_batch);
  } else if (name == "matmul_combine") {
    using C = k::MatmulDefaultConfig;
    t = of<C>("kernels/matmul_combine.h", "MatmulDefaultConfig", C::lanes, 0);  // one launch per call
    t.rows = C::rows;
    t.tile_n = C::tile_n;
    t.k_chunk = C::k_chunk;
  } else if (name == "poly_eval") {
    using C = k::PolyEvalDefaultConfig;
    t = of<C>("kernels/poly_eval.h", "PolyEvalDefaultConfig", C::lanes, C::max_batch);
    t.max_channels = C::max_channels;
  } else if (name == "trunc") {
    using C = k::TruncDefaultConfig;
    t = of<C>("kernels/trunc.h", "TruncDefaultConfig", C::lanes, C::max_batch);
  } else if (name == "gmw_and_level") {
    using C = k::GmwAndDefaultConfig;
    t = of<C>("kernels/gmw_and_level.h", "GmwAndDefaultConfig", C::lanes, C::max_batch);
  } else if (name == "b2a_combine") {
    using C = k::B2aDefaultConfig;
    t = of<C>("kernels/gmw_and_level.h", "B2aDefaultConfig", C::lanes, C::max_batch);
  } else if (name == "bit_slice") {
    using C = k::BitSliceDefaultConfig;
    t = of<C>("kernels/gmw_and_level.h", "BitSliceDefaultConfig", C::lanes, C::max_batch);
  } else if (name == "dcf_eval") {
    using C = k::DcfEvalDefaultConfig;
    t = of<C>("kernels/dcf_eval.h", "DcfEvalDefaultConfig", C::aes_cores, C::max_batch);
    t.group_words = C::group_words;
  } else if (name == "winograd_transform") {
    using C = k::WinogradDefaultConfig;
    t = of<C>("kernels/winograd_transform.h", "WinogradDefaultConfig", C::lanes, 0);  // one launch per call
    t.xform_latency = C::xform_latency;
  } else {
    return false;
  }
  return true;
}

}  // namespace polympc::perfmodel::detail
