// Two-process runs: `polympc dealer` writes one preprocessing file per party from the
// public architecture file, and `polympc infer --role server|client` runs one party over
// TCP (nn/party.h). The server reads the ONNX model; the client and the dealer read only
// the architecture file of `polympc export-arch`.
#pragma once
#include <CLI/CLI.hpp>
#include <optional>
#include <string>

#include "backends.h"
#include "protocol_args.h"
#include "polympc/mpc/material_file.h"
#include "polympc/mpc/session.h"
#include "polympc/nn/party.h"
#include "polympc/nn/secure.h"

namespace polympc::apps {

struct PartyArgs {
  std::string role;  ///< "", "server" (P0, model owner) or "client" (P1, data owner)
  std::string host = "127.0.0.1";
  uint16_t port = 7766;
  std::string material;    ///< this party's preprocessing file from `polympc dealer`
  std::string arch;        ///< client: architecture file from `polympc export-arch`
  std::string ledger;      ///< consumed-material ledger ("" = default path)
  size_t first_image = 0;  ///< client: index of the first test image
  int timeout_ms = 60000;
};

/// Adds --role, --host, --port, --material, --arch, --ledger, --first-image, --timeout.
void add_party_options(CLI::App& cmd, PartyArgs& a);

/// The server's (P0's) network: its ONNX model with the Winograd forms of `winograd` (a
/// `--winograd` spec of explicit forms: "off", "2", "4", "LAYER=0|2|4"; nn::set_winograd).
/// The architecture file of the client and the dealer must carry the same forms (`polympc
/// export-arch --winograd` with the same spec): the forms are in the model hash that the
/// handshake compares. Throws ModelError / mpc::InvalidArgument as load_onnx / set_winograd.
nn::Network load_server_model(const std::string& model, const std::string& winograd);

/// Secrets come from the OS CSPRNG. `--insecure-test-seed N` fixes them (tests only);
/// a plain `--seed` is refused with a message saying why.
void add_insecure_seed_option(CLI::App& cmd, std::optional<uint64_t>& seed);

/// Runs one party of `infer --role`; prints the client's accuracy and the per-layer
/// traffic of this party; writes JSON when `json` is set. `model_given`: whether the user
/// passed --model (the client must not).
/// `winograd`: the server's --winograd spec (load_server_model); the client refuses one
/// other than "off" (its architecture file carries the forms). The ring and the
/// coefficient scale are the fixed point recorded in the file the party loads (the
/// server's model, the client's architecture file; use_fixed_point) unless `protocol`
/// gives --bits/--frac.
void run_infer_party(const PartyArgs& pa, const std::string& model, bool model_given,
                     const std::string& winograd, const std::string& data, size_t images,
                     const std::string& backend, const BackendArgs& bargs, ProtocolArgs protocol,
                     nn::Reveal reveal, bool quiet, const std::string& json);

/// Prints one party's per-phase traffic and summary line, and for the client (`role`
/// "client") its accuracy or, without labels, its predicted classes; writes the JSON
/// report when `json` is set.
void report_party(const std::string& role, size_t images, const nn::PartyResult& r,
                  const mpc::MaterialFile& material, nn::Reveal reveal, const std::string& json);

/// Registers `polympc dealer`.
void add_dealer_command(CLI::App& app);

}  // namespace polympc::apps
