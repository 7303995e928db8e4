// extern "C" top of the DCF evaluation kernel (see dcf_eval.h): load -> compute -> store.
#include "kernels/dcf_eval.h"

#include "polympc/hls/plan_config.h"

#ifndef POLYMPC_DCF_EVAL_CONFIG
#define POLYMPC_DCF_EVAL_CONFIG polympc::kernels::DcfEvalDefaultConfig
#endif

/// Evaluates n DCF keys of this party at n public points (polympc::kernels::dcf_eval()).
/// keys: n·(2·depth + 4) words; x: n words; out: ceil(n/64) packed share bits.
extern "C" void dcf_eval_top(int party, int depth, uint32_t n, const uint64_t* keys,
                             const uint64_t* x, uint64_t* out) {
  POLYMPC_HLS(INTERFACE m_axi port=keys offset=slave bundle=gmem0 depth=16384)
  POLYMPC_HLS(INTERFACE m_axi port=x offset=slave bundle=gmem1 depth=1024)
  POLYMPC_HLS(INTERFACE m_axi port=out offset=slave bundle=gmem2 depth=64)
  POLYMPC_HLS(INTERFACE s_axilite port=party)
  POLYMPC_HLS(INTERFACE s_axilite port=depth)
  POLYMPC_HLS(INTERFACE s_axilite port=n)
  POLYMPC_HLS(INTERFACE s_axilite port=return)
  POLYMPC_HLS(DATAFLOW)
  typedef POLYMPC_DCF_EVAL_CONFIG Config;
  typedef polympc::hls::Stream<polympc::kernels::DcfState, 2 * 64 * Config::group_words> SS;
  typedef polympc::hls::Stream<polympc::kernels::internal::CwPacket<Config::aes_cores>, 32> SC;
  typedef polympc::hls::Stream<uint64_t, 8> SW;
  SS ss("roots");
  SC sc("correction_words");
  SW sw("out");
  polympc::kernels::internal::dcf_load<Config>(party, depth, n, keys, x, ss, sc);
  polympc::kernels::internal::dcf_compute<Config>(depth, n, ss, sc, sw);
  polympc::kernels::internal::dcf_store<Config>(n, sw, out);
}
