// extern "C" top of the Beaver matrix-triple combine kernel (see matmul_combine.h).
#include "kernels/matmul_combine.h"

#include "polympc/hls/plan_config.h"

#ifndef POLYMPC_MATMUL_CONFIG
#define POLYMPC_MATMUL_CONFIG polympc::kernels::MatmulDefaultConfig
#endif

/// Device entry point. Same semantics as polympc::kernels::matmul_combine():
/// e, a: m×k; f, b: k×n; c, z: m×n, row-major; z masked to bits.
extern "C" void matmul_combine_top(int party, int bits, uint32_t m, uint32_t k, uint32_t n,
                                   const uint64_t* e, const uint64_t* f, const uint64_t* a,
                                   const uint64_t* b, const uint64_t* c, uint64_t* z) {
  POLYMPC_HLS(INTERFACE m_axi port=e offset=slave bundle=gmem0 depth=1024)
  POLYMPC_HLS(INTERFACE m_axi port=f offset=slave bundle=gmem1 depth=1024)
  POLYMPC_HLS(INTERFACE m_axi port=a offset=slave bundle=gmem5 depth=1024)
  POLYMPC_HLS(INTERFACE m_axi port=b offset=slave bundle=gmem2 depth=1024)
  POLYMPC_HLS(INTERFACE m_axi port=c offset=slave bundle=gmem3 depth=1024)
  POLYMPC_HLS(INTERFACE m_axi port=z offset=slave bundle=gmem4 depth=1024)
  POLYMPC_HLS(INTERFACE s_axilite port=party)
  POLYMPC_HLS(INTERFACE s_axilite port=bits)
  POLYMPC_HLS(INTERFACE s_axilite port=m)
  POLYMPC_HLS(INTERFACE s_axilite port=k)
  POLYMPC_HLS(INTERFACE s_axilite port=n)
  POLYMPC_HLS(INTERFACE s_axilite port=return)
  POLYMPC_HLS(DATAFLOW)
  typedef POLYMPC_MATMUL_CONFIG Config;
  typedef polympc::hls::Stream<polympc::hls::Packet<polympc::kernels::kMatmulEaWords>, 4> SW;
  typedef polympc::hls::Stream<polympc::hls::Packet<Config::lanes>, 64> SP;
  SW se("e"), sa("a");
  SP sb("b"), sf("f"), sc("c"), sz("z");
  polympc::kernels::internal::matmul_load<Config>(m, k, n, e, f, a, b, c, se, sa, sb, sf, sc);
  polympc::kernels::internal::matmul_compute<Config>(party, bits, m, k, n, se, sa, sb, sf, sc,
                                                     sz);
  polympc::kernels::internal::matmul_store<Config>(m, n, sz, z);
}
