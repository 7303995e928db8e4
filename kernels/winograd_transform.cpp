// extern "C" top of the Winograd transform kernel, both modes (see winograd_transform.h).
#include "kernels/winograd_transform.h"

#include "polympc/hls/plan_config.h"

#ifndef POLYMPC_WINOGRAD_CONFIG
#define POLYMPC_WINOGRAD_CONFIG polympc::kernels::WinogradDefaultConfig
#endif

/// Device entry point. Same semantics as polympc::kernels::winograd_transform():
/// mode = kWinogradInput (0): in = x [batch, channels, h, w], out = V [α², channels,
/// batch·T] (the tile gather with zero padding runs here); mode = kWinogradOutput (1):
/// in = [α², channels, batch·T], out = y [channels, batch·ho·wo] (cropped); h, w,
/// pad_top, pad_left unused. m = 2 or 4; out masked to bits. Bad mode, bits or m: no output.
extern "C" void winograd_transform_top(int mode, int bits, int m, uint32_t batch,
                                       uint32_t channels, uint32_t h, uint32_t w, uint32_t ho,
                                       uint32_t wo, uint32_t pad_top, uint32_t pad_left,
                                       const uint64_t* in, uint64_t* out) {
  POLYMPC_HLS(INTERFACE m_axi port=in offset=slave bundle=gmem0 depth=4096)
  POLYMPC_HLS(INTERFACE m_axi port=out offset=slave bundle=gmem1 depth=4096)
  POLYMPC_HLS(INTERFACE s_axilite port=mode)
  POLYMPC_HLS(INTERFACE s_axilite port=bits)
  POLYMPC_HLS(INTERFACE s_axilite port=m)
  POLYMPC_HLS(INTERFACE s_axilite port=batch)
  POLYMPC_HLS(INTERFACE s_axilite port=channels)
  POLYMPC_HLS(INTERFACE s_axilite port=h)
  POLYMPC_HLS(INTERFACE s_axilite port=w)
  POLYMPC_HLS(INTERFACE s_axilite port=ho)
  POLYMPC_HLS(INTERFACE s_axilite port=wo)
  POLYMPC_HLS(INTERFACE s_axilite port=pad_top)
  POLYMPC_HLS(INTERFACE s_axilite port=pad_left)
  POLYMPC_HLS(INTERFACE s_axilite port=return)
  POLYMPC_HLS(DATAFLOW)
  typedef POLYMPC_WINOGRAD_CONFIG Config;
  typedef polympc::hls::Stream<polympc::hls::Packet<Config::lanes>, 72> S;
  const polympc::kernels::WinogradDims d = {batch, channels, h, w, ho, wo, pad_top, pad_left};
  S st("tiles"), so("out");
  polympc::kernels::internal::winograd_load<Config>(mode, bits, m, d, in, st);
  polympc::kernels::internal::winograd_compute<Config>(mode, bits, m, d, st, so);
  polympc::kernels::internal::winograd_store<Config>(mode, bits, m, d, so, out);
}
