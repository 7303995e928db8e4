// extern "C" top of the truncation kernel, both modes (see trunc.h).
#include "kernels/trunc.h"

#include "polympc/hls/plan_config.h"

#ifndef POLYMPC_TRUNC_CONFIG
#define POLYMPC_TRUNC_CONFIG polympc::kernels::TruncDefaultConfig
#endif

/// Device entry point. mode = kTruncExact (0): in0 = x, in1 = carry, in2 = wrap;
/// mode = kTruncProb (1): in0 = c, in1 = r_shr, in2 not read (bind any buffer),
/// offset_bits used only in this mode. n words each; z masked to bits.
extern "C" void trunc_top(int mode, int party, int bits, int shift, int offset_bits,
                          uint32_t n, const uint64_t* in0, const uint64_t* in1,
                          const uint64_t* in2, uint64_t* z) {
  POLYMPC_HLS(INTERFACE m_axi port=in0 offset=slave bundle=gmem0 depth=1024)
  POLYMPC_HLS(INTERFACE m_axi port=in1 offset=slave bundle=gmem1 depth=1024)
  POLYMPC_HLS(INTERFACE m_axi port=in2 offset=slave bundle=gmem2 depth=1024)
  POLYMPC_HLS(INTERFACE m_axi port=z offset=slave bundle=gmem3 depth=1024)
  POLYMPC_HLS(INTERFACE s_axilite port=mode)
  POLYMPC_HLS(INTERFACE s_axilite port=party)
  POLYMPC_HLS(INTERFACE s_axilite port=bits)
  POLYMPC_HLS(INTERFACE s_axilite port=shift)
  POLYMPC_HLS(INTERFACE s_axilite port=offset_bits)
  POLYMPC_HLS(INTERFACE s_axilite port=n)
  POLYMPC_HLS(INTERFACE s_axilite port=return)
  POLYMPC_HLS(DATAFLOW)
  typedef POLYMPC_TRUNC_CONFIG Config;
  typedef polympc::hls::Stream<polympc::hls::Packet<Config::lanes>, 32> S;
  S s0("in0"), s1("in1"), s2("in2"), sz("z");
  polympc::kernels::internal::trunc_load<Config>(mode, n, in0, in1, in2, s0, s1, s2);
  polympc::kernels::internal::trunc_compute<Config>(mode, party, bits, shift, offset_bits, n, s0,
                                                    s1, s2, sz);
  polympc::kernels::internal::trunc_store<Config>(n, sz, z);
}
