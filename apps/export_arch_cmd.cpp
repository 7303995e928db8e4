// `polympc export-arch`: the server (P0) writes the public architecture file of its ONNX
// model (nn/arch_file.h) for the client (P1) and the dealer, who must never get the model.
#include <cstdio>
#include <memory>
#include <string>

#include "commands.h"
#include "party_cmd.h"
#include "polympc/nn/arch_file.h"
#include "polympc/nn/onnx.h"

namespace polympc::apps {

namespace {

struct ExportArchArgs {
  std::string model;
  std::string out;
  std::string winograd = "off";  ///< explicit Winograd forms written into the file (load_server_model)
};

std::string dims(const std::vector<int64_t>& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

void run_export_arch(const ExportArchArgs& a) {
  const nn::Network net = load_server_model(a.model, a.winograd);
  nn::save_arch(net, a.out);
  // Read the file back as the client will: it must load, and describe this very model.
  const nn::ArchFile back = nn::load_arch(a.out);
  const std::string mh = nn::model_hash(net);
  if (back.model_hash != mh || back.architecture_hash != nn::architecture_hash(net))
    throw nn::ModelError(a.out +
                         ": the written architecture file does not read back with the "
                         "hashes of '" +
                         a.model + "'");
  std::printf("architecture file: %s (%zu layers, input %s, no parameter values)\n", a.out.c_str(),
              back.arch.layers.size(), dims(back.arch.input_shape).c_str());
  std::printf("architecture_hash: %s\n", back.architecture_hash.c_str());
  std::printf("model_hash: %s\n", back.model_hash.c_str());
}

}  // namespace

void add_export_arch_command(CLI::App& app) {
  auto args = std::make_shared<ExportArchArgs>();
  CLI::App* c = app.add_subcommand(
      "export-arch",
      "write the public architecture file (no weights) of an ONNX model, for the client and the "
      "dealer");
  c->add_option("--model", args->model, "ONNX model (the server's, with weights)")
      ->required()
      ->check(CLI::ExistingFile);
  c->add_option("--out", args->out, "architecture file to write (JSON)")->required();
  c->add_option("--winograd", args->winograd,
                "3x3 stride-1 convolutions in Winograd form, written into the file: off | 2 | 4 | LAYER=0|2|4, "
                "comma-separated; the server runs with the same --winograd (docs/winograd.md)")
      ->capture_default_str();
  c->callback([args] { run_export_arch(*args); });
}

}  // namespace polympc::apps
