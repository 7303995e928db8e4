// extern "C" top of the Beaver multiplication combine kernel (see beaver_mul_combine.h).
#include "kernels/beaver_mul_combine.h"

#include "polympc/hls/plan_config.h"

#ifndef POLYMPC_BEAVER_MUL_CONFIG
#define POLYMPC_BEAVER_MUL_CONFIG polympc::kernels::BeaverMulDefaultConfig
#endif

/// Device entry point. Same semantics as polympc::kernels::beaver_mul_combine():
/// d, e, a, b, c, z have n words (n <= BeaverMulDefaultConfig::max_batch), z masked to bits.
extern "C" void beaver_mul_combine_top(int party, int bits, uint32_t n, const uint64_t* d,
                                       const uint64_t* e, const uint64_t* a, const uint64_t* b,
                                       const uint64_t* c, uint64_t* z) {
  POLYMPC_HLS(INTERFACE m_axi port=d offset=slave bundle=gmem0 depth=1024)
  POLYMPC_HLS(INTERFACE m_axi port=e offset=slave bundle=gmem1 depth=1024)
  POLYMPC_HLS(INTERFACE m_axi port=a offset=slave bundle=gmem2 depth=1024)
  POLYMPC_HLS(INTERFACE m_axi port=b offset=slave bundle=gmem3 depth=1024)
  POLYMPC_HLS(INTERFACE m_axi port=c offset=slave bundle=gmem4 depth=1024)
  POLYMPC_HLS(INTERFACE m_axi port=z offset=slave bundle=gmem5 depth=1024)
  POLYMPC_HLS(INTERFACE s_axilite port=party)
  POLYMPC_HLS(INTERFACE s_axilite port=bits)
  POLYMPC_HLS(INTERFACE s_axilite port=n)
  POLYMPC_HLS(INTERFACE s_axilite port=return)
  POLYMPC_HLS(DATAFLOW)
  typedef POLYMPC_BEAVER_MUL_CONFIG Config;
  typedef polympc::hls::Stream<polympc::hls::Packet<Config::lanes>, 32> S;
  S sd("d"), se("e"), sa("a"), sb("b"), sc("c"), sz("z");
  polympc::kernels::internal::beaver_mul_load<Config>(n, d, e, a, b, c, sd, se, sa, sb, sc);
  polympc::kernels::internal::beaver_mul_compute<Config>(party, bits, n, sd, se, sa, sb, sc, sz);
  polympc::kernels::internal::beaver_mul_store<Config>(n, sz, z);
}
