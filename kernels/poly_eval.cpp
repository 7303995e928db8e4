// extern "C" top of the polynomial-activation kernel (see poly_eval.h).
#include "kernels/poly_eval.h"

#include "polympc/hls/plan_config.h"

#ifndef POLYMPC_POLY_EVAL_CONFIG
#define POLYMPC_POLY_EVAL_CONFIG polympc::kernels::PolyEvalDefaultConfig
#endif

/// Device entry point. Same semantics as polympc::kernels::poly_eval(); the launch is
/// skipped (z untouched) when mode is unknown, channels > max_channels or n > max_batch
/// (poly_eval_arg_error()). Buffers a mode does not read (poly_eval.h) are never accessed.
extern "C" void poly_eval_top(int party, int bits, uint32_t outer, uint32_t channels,
                              uint32_t inner, int mode, const uint64_t* d, const uint64_t* a,
                              const uint64_t* a2, const uint64_t* m2a, const uint64_t* m2a2,
                              const uint64_t* m1a, const uint64_t* e1, const uint64_t* m1,
                              const uint64_t* e2, const uint64_t* m2, const uint64_t* add,
                              uint64_t* z) {
  POLYMPC_HLS(INTERFACE m_axi port=d offset=slave bundle=gmem0 depth=1024)
  POLYMPC_HLS(INTERFACE m_axi port=a offset=slave bundle=gmem1 depth=1024)
  POLYMPC_HLS(INTERFACE m_axi port=a2 offset=slave bundle=gmem2 depth=1024)
  POLYMPC_HLS(INTERFACE m_axi port=m2a offset=slave bundle=gmem3 depth=1024)
  POLYMPC_HLS(INTERFACE m_axi port=m2a2 offset=slave bundle=gmem4 depth=1024)
  POLYMPC_HLS(INTERFACE m_axi port=m1a offset=slave bundle=gmem5 depth=1024)
  POLYMPC_HLS(INTERFACE m_axi port=e1 offset=slave bundle=gmem6 depth=1024)
  POLYMPC_HLS(INTERFACE m_axi port=m1 offset=slave bundle=gmem7 depth=1024)
  POLYMPC_HLS(INTERFACE m_axi port=e2 offset=slave bundle=gmem8 depth=64)
  POLYMPC_HLS(INTERFACE m_axi port=m2 offset=slave bundle=gmem9 depth=64)
  POLYMPC_HLS(INTERFACE m_axi port=add offset=slave bundle=gmem10 depth=64)
  POLYMPC_HLS(INTERFACE m_axi port=z offset=slave bundle=gmem11 depth=1024)
  POLYMPC_HLS(INTERFACE s_axilite port=party)
  POLYMPC_HLS(INTERFACE s_axilite port=bits)
  POLYMPC_HLS(INTERFACE s_axilite port=outer)
  POLYMPC_HLS(INTERFACE s_axilite port=channels)
  POLYMPC_HLS(INTERFACE s_axilite port=inner)
  POLYMPC_HLS(INTERFACE s_axilite port=mode)
  POLYMPC_HLS(INTERFACE s_axilite port=return)
  POLYMPC_HLS(DATAFLOW)
  typedef POLYMPC_POLY_EVAL_CONFIG Config;
  typedef polympc::hls::Stream<polympc::hls::Packet<5>, 4> ST;
  typedef polympc::hls::Stream<polympc::hls::Packet<Config::lanes>, 32> SP;
  ST st("tables");
  SP sd("d"), sa("a"), sa2("a2"), sm2a("m2a"), sm2a2("m2a2"), sm1a("m1a"), se1("e1"), sm1("m1"),
      sz("z");
  polympc::kernels::internal::poly_eval_load<Config>(outer, channels, inner, mode, d, a, a2, m2a,
                                                     m2a2, m1a, e1, m1, e2, m2, add, st, sd, sa,
                                                     sa2, sm2a, sm2a2, sm1a, se1, sm1);
  polympc::kernels::internal::poly_eval_compute<Config>(party, bits, outer, channels, inner, mode,
                                                        st, sd, sa, sa2, sm2a, sm2a2, sm1a, se1,
                                                        sm1, sz);
  polympc::kernels::internal::poly_eval_store<Config>(outer, channels, inner, mode, sz, z);
}
