// Shared model options (model_args.h).
#include "model_args.h"

namespace polympc::apps {

perfmodel::NetShape ModelArgs::net() const {
  perfmodel::NetShape n = perfmodel::make_net(arch, model, acts, pools);
  if (winograd != "off") {
    if (winograd != "2" && winograd != "4")
      throw perfmodel::PerfModelError("--winograd '" + winograd + "': expected off, 2 or 4");
    perfmodel::set_winograd(n, std::stoi(winograd));
  }
  return n;
}

void add_model_options(CLI::App* c, ModelArgs& a) {
  c->add_option("--model", a.model, "ONNX model");
  c->add_option("--arch", a.arch, "built-in architecture (see polympc perf --list)");
  c->add_option("--board", a.q.board, "board name or board JSON file")->capture_default_str();
  c->add_option("--network", a.q.network, "network preset: lan | wan | lan-cheetah | wan-cheetah | JSON file")
      ->capture_default_str();
  c->add_option("--compare", a.q.compare, "secure comparison for ReLU / max pool: gmw | fss")->capture_default_str();
  c->add_option("--compare-bits", a.q.compare_bits, "reduced-bit comparison: bits LO:HI of every compared value");
  c->add_option("--trunc", a.q.trunc, "exact | prob | fss | slack (docs/protocols.md)")->capture_default_str();
  c->add_option("--acts", a.acts, "activation sites: model | relu | poly | comma list per site")->capture_default_str();
  c->add_option("--pools", a.pools, "pool sites: model | max | avg | comma list per site")->capture_default_str();
  c->add_option("--winograd", a.winograd,
                "price every 3x3 stride-1 convolution as Winograd F(2x2,3x3) or F(4x4,3x3): off | 2 | 4 "
                "(docs/winograd.md)")
      ->capture_default_str();
  c->add_option("--batch", a.q.batch, "images per inference (share rounds)")->capture_default_str();
  c->add_option("--bits", a.q.bits, "ring bits l")->capture_default_str();
  c->add_option("--layer-bits", a.q.layer_bits,
                "per-layer ring widths LAYER=BITS,... (8..64; a layer without one takes its input's; conversions "
                "priced: sign extension, truncate-reduce, local reduction; docs/perfmodel.md)");
  c->add_option("--frac", a.q.frac, "fractional bits f")->capture_default_str();
  c->add_option("--lanes", a.q.lanes,
                "kernel configuration overrides, applied last: e.g. poly_eval=32,matmul_combine=16x8 (matmul: lanes x "
                "rows of its MAC array; dcf_eval: AES cores)");
  c->add_option("--data-dir", a.q.data_dir, "directory with boards/, kernels/, networks/");
}

}  // namespace polympc::apps
