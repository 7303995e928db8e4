// Two-process runs: `polympc dealer` writes one preprocessing file per party, and
// `polympc infer --role server|client` runs one party over TCP (nn/party.h).
#pragma once
#include <CLI/CLI.hpp>
#include <string>

#include "backends.h"
#include "polympc/mpc/session.h"

namespace polympc::apps {

struct PartyArgs {
  std::string role;          ///< "", "server" (P0, model owner) or "client" (P1, data owner)
  std::string host = "127.0.0.1";
  uint16_t port = 7766;
  std::string material;      ///< this party's preprocessing file from `polympc dealer`
  int timeout_ms = 60000;
  uint64_t client_seed = 0;  ///< client's input-sharing PRG seed (0 = from the clock)
};

/// Adds --role, --host, --port, --material, --timeout to `infer`.
void add_party_options(CLI::App& cmd, PartyArgs& a);

/// Runs one party of `infer --role`; prints the client's accuracy and the per-layer
/// traffic of this party; writes JSON when `json` is set.
void run_infer_party(const PartyArgs& pa, const std::string& model, const std::string& data, size_t images,
                     size_t batch, const std::string& backend, const BackendArgs& bargs, const mpc::RingConfig& ring,
                     const mpc::ProtocolOptions& po, bool quiet, const std::string& json);

/// Registers `polympc dealer`.
void add_dealer_command(CLI::App& app);

}  // namespace polympc::apps
