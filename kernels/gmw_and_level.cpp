// extern "C" tops of the GMW bit-level kernels (see gmw_and_level.h): one AND level,
// B2A of opened bits, and bit slicing. Three separate kernels in one xclbin.
#include "kernels/gmw_and_level.h"

#include "polympc/hls/plan_config.h"

#ifndef POLYMPC_GMW_AND_CONFIG
#define POLYMPC_GMW_AND_CONFIG polympc::kernels::GmwAndDefaultConfig
#endif
#ifndef POLYMPC_B2A_CONFIG
#define POLYMPC_B2A_CONFIG polympc::kernels::B2aDefaultConfig
#endif
#ifndef POLYMPC_BIT_SLICE_CONFIG
#define POLYMPC_BIT_SLICE_CONFIG polympc::kernels::BitSliceDefaultConfig
#endif

/// AND level on `words` words of bit-sliced shares (polympc::kernels::gmw_and_level()).
extern "C" void gmw_and_level_top(int party, uint32_t words, const uint64_t* d,
                                  const uint64_t* e, const uint64_t* a, const uint64_t* b,
                                  const uint64_t* c, uint64_t* z) {
  POLYMPC_HLS(INTERFACE m_axi port=d offset=slave bundle=gmem0 depth=1024)
  POLYMPC_HLS(INTERFACE m_axi port=e offset=slave bundle=gmem1 depth=1024)
  POLYMPC_HLS(INTERFACE m_axi port=a offset=slave bundle=gmem2 depth=1024)
  POLYMPC_HLS(INTERFACE m_axi port=b offset=slave bundle=gmem3 depth=1024)
  POLYMPC_HLS(INTERFACE m_axi port=c offset=slave bundle=gmem4 depth=1024)
  POLYMPC_HLS(INTERFACE m_axi port=z offset=slave bundle=gmem5 depth=1024)
  POLYMPC_HLS(INTERFACE s_axilite port=party)
  POLYMPC_HLS(INTERFACE s_axilite port=words)
  POLYMPC_HLS(INTERFACE s_axilite port=return)
  POLYMPC_HLS(DATAFLOW)
  typedef POLYMPC_GMW_AND_CONFIG Config;
  typedef polympc::hls::Stream<polympc::hls::Packet<Config::lanes>, 32> S;
  S sd("d"), se("e"), sa("a"), sb("b"), sc("c"), sz("z");
  polympc::kernels::internal::gmw_and_load<Config>(words, d, e, a, b, c, sd, se, sa, sb, sc);
  polympc::kernels::internal::gmw_and_compute<Config>(party, words, sd, se, sa, sb, sc, sz);
  polympc::kernels::internal::lanes_store<Config>(words, sz, z);
}

/// B2A of n opened bits (polympc::kernels::b2a_combine()); e_packed has ceil(n/64) words.
extern "C" void b2a_combine_top(int party, int bits, uint32_t n, const uint64_t* e_packed,
                                const uint64_t* r, uint64_t* z) {
  POLYMPC_HLS(INTERFACE m_axi port=e_packed offset=slave bundle=gmem0 depth=64)
  POLYMPC_HLS(INTERFACE m_axi port=r offset=slave bundle=gmem1 depth=1024)
  POLYMPC_HLS(INTERFACE m_axi port=z offset=slave bundle=gmem2 depth=1024)
  POLYMPC_HLS(INTERFACE s_axilite port=party)
  POLYMPC_HLS(INTERFACE s_axilite port=bits)
  POLYMPC_HLS(INTERFACE s_axilite port=n)
  POLYMPC_HLS(INTERFACE s_axilite port=return)
  POLYMPC_HLS(DATAFLOW)
  typedef POLYMPC_B2A_CONFIG Config;
  typedef polympc::hls::Stream<uint64_t, 32> SE;
  typedef polympc::hls::Stream<polympc::hls::Packet<Config::lanes>, 32> S;
  SE se("e_bits");
  S sr("r"), sz("z");
  polympc::kernels::internal::b2a_load<Config>(n, e_packed, r, se, sr);
  polympc::kernels::internal::b2a_compute<Config>(party, bits, n, se, sr, sz);
  polympc::kernels::internal::lanes_store<Config>(n, sz, z);
}

/// Bit slicing of n words into `bits` planes of plane_stride words
/// (polympc::kernels::bit_slice(); plane_stride >= ceil(n/64)).
extern "C" void bit_slice_top(int bits, uint32_t n, uint32_t plane_stride, const uint64_t* x,
                              uint64_t* planes) {
  POLYMPC_HLS(INTERFACE m_axi port=x offset=slave bundle=gmem0 depth=1024)
  POLYMPC_HLS(INTERFACE m_axi port=planes offset=slave bundle=gmem1 depth=1024)
  POLYMPC_HLS(INTERFACE s_axilite port=bits)
  POLYMPC_HLS(INTERFACE s_axilite port=n)
  POLYMPC_HLS(INTERFACE s_axilite port=plane_stride)
  POLYMPC_HLS(INTERFACE s_axilite port=return)
  POLYMPC_HLS(DATAFLOW)
  typedef POLYMPC_BIT_SLICE_CONFIG Config;
  typedef polympc::hls::Stream<polympc::hls::Packet<Config::lanes>, 16> S;
  typedef polympc::hls::Stream<uint64_t, 64> SW;
  S sx("x");
  SW sp("planes");
  polympc::kernels::internal::bit_slice_load<Config>(n, x, sx);
  polympc::kernels::internal::bit_slice_compute<Config>(bits, n, sx, sp);
  polympc::kernels::internal::bit_slice_store<Config>(bits, n, plane_stride, sp, planes);
}
