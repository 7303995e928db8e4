// extern "C" top of the polynomial-activation Horner-step kernel (see poly_eval.h).
#include "kernels/poly_eval.h"

/// Device entry point. Same semantics as polympc::kernels::poly_eval() with
/// per_channel != 0; the launch is skipped (z untouched) when channels > max_channels
/// or n > max_batch (poly_eval_arg_error()).
extern "C" void poly_eval_top(int party, int bits, uint32_t outer, uint32_t channels,
                              uint32_t inner, int per_channel, const uint64_t* d,
                              const uint64_t* e, const uint64_t* a, const uint64_t* b,
                              const uint64_t* c, const uint64_t* add, uint64_t* z) {
  POLYMPC_HLS(INTERFACE m_axi port=d offset=slave bundle=gmem0 depth=1024)
  POLYMPC_HLS(INTERFACE m_axi port=e offset=slave bundle=gmem1 depth=1024)
  POLYMPC_HLS(INTERFACE m_axi port=a offset=slave bundle=gmem2 depth=1024)
  POLYMPC_HLS(INTERFACE m_axi port=b offset=slave bundle=gmem3 depth=1024)
  POLYMPC_HLS(INTERFACE m_axi port=c offset=slave bundle=gmem4 depth=1024)
  POLYMPC_HLS(INTERFACE m_axi port=add offset=slave bundle=gmem5 depth=64)
  POLYMPC_HLS(INTERFACE m_axi port=z offset=slave bundle=gmem6 depth=1024)
  POLYMPC_HLS(INTERFACE s_axilite port=party)
  POLYMPC_HLS(INTERFACE s_axilite port=bits)
  POLYMPC_HLS(INTERFACE s_axilite port=outer)
  POLYMPC_HLS(INTERFACE s_axilite port=channels)
  POLYMPC_HLS(INTERFACE s_axilite port=inner)
  POLYMPC_HLS(INTERFACE s_axilite port=per_channel)
  POLYMPC_HLS(INTERFACE s_axilite port=return)
  POLYMPC_HLS(DATAFLOW)
  typedef polympc::kernels::PolyEvalDefaultConfig Config;
  typedef polympc::hls::Stream<polympc::hls::Packet<3>, 4> ST;
  typedef polympc::hls::Stream<polympc::hls::Packet<Config::lanes>, 32> SP;
  ST st("tables");
  SP sd("d"), se("e"), sa("a"), sb("b"), sc("c"), sz("z");
  polympc::kernels::internal::poly_eval_load<Config>(outer, channels, inner, per_channel != 0, d,
                                                     e, a, b, c, add, st, sd, se, sa, sb, sc);
  polympc::kernels::internal::poly_eval_compute<Config>(party, bits, outer, channels, inner,
                                                        per_channel != 0, st, sd, se, sa, sb,
                                                        sc, sz);
  polympc::kernels::internal::poly_eval_store<Config>(outer, channels, inner, sz, z);
}
