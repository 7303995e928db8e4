// `polympc dealer` and `polympc infer --role server|client`.
#include "party_cmd.h"

#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "polympc/nn/arch_file.h"
#include "polympc/nn/onnx.h"
#include "polympc/nn/party.h"
#include "polympc/nn/winograd.h"
#include "protocol_args.h"

namespace polympc::apps {

void add_party_options(CLI::App& c, PartyArgs& a) {
  c.add_option(
      "--role", a.role,
      "run one party over TCP: server (P0, holds the model) | client (P1, holds the images)");
  c.add_option("--host", a.host, "server address (client)")->capture_default_str();
  c.add_option("--port", a.port, "TCP port")->capture_default_str();
  c.add_option("--material", a.material, "this party's preprocessing file from `polympc dealer`");
  c.add_option("--arch", a.arch,
               "client: the architecture file from `polympc export-arch` (no weights)");
  c.add_option("--ledger", a.ledger,
               "file recording consumed material (default $POLYMPC_LEDGER, else "
               "~/.local/state/polympc/ledger)");
  c.add_option("--first-image", a.first_image, "client: index of the first test image")
      ->capture_default_str();
  c.add_option("--timeout", a.timeout_ms, "connection / read timeout in ms")->capture_default_str();
}

void add_insecure_seed_option(CLI::App& c, std::optional<uint64_t>& seed) {
  c.add_option("--insecure-test-seed", seed,
               "INSECURE, for tests only: fixed seed for the dealer and input-sharing PRGs "
               "(default: OS CSPRNG)");
  c.add_option_function<std::string>(
       "--seed",
       [](const std::string&) {
         throw mpc::InvalidArgument(
             "--seed is refused: a chosen seed makes the dealer's material predictable (the "
             "peer could regenerate it and read weights or inputs); secrets come from the OS "
             "CSPRNG. For reproducible tests only: --insecure-test-seed N");
       },
       "refused (see --insecure-test-seed)")
      ->group("");
}

nn::Network load_server_model(const std::string& model, const std::string& winograd) {
  nn::Network net = nn::load_onnx(model);
  if (winograd != "off") nn::set_winograd(net, winograd);
  return net;
}

void run_infer_party(const PartyArgs& pa, const std::string& model, bool model_given,
                     const std::string& winograd, const std::string& data_dir, size_t images,
                     const std::string& backend, const BackendArgs& bargs, ProtocolArgs protocol,
                     nn::Reveal reveal, bool quiet, const std::string& json) {
  int party;
  if (pa.role == "server")
    party = 0;
  else if (pa.role == "client")
    party = 1;
  else
    throw mpc::InvalidArgument("unknown role '" + pa.role + "' (choose server or client)");
  if (pa.material.empty())
    throw mpc::InvalidArgument("--role needs --material (a file from `polympc dealer`)");
  nn::PartyPlan plan;
  plan.images = images;
  plan.reveal = reveal;
  nn::Network net;
  std::string model_hash;
  std::unique_ptr<nn::QuantizedModel> q;
  nn::Dataset data;
  if (party == 0) {
    if (!pa.arch.empty())
      throw mpc::InvalidArgument("the server runs with --model (its ONNX file), not --arch");
    net = load_server_model(model, winograd);
    model_hash = nn::model_hash(net);
  } else {
    // The client never reads the model: only the public architecture file.
    if (model_given)
      throw mpc::InvalidArgument(
          "the client must not read the server's model: pass --arch (from `polympc "
          "export-arch`) instead of --model");
    if (pa.arch.empty())
      throw mpc::InvalidArgument("the client needs --arch (a file from `polympc export-arch`)");
    if (winograd != "off")
      throw mpc::InvalidArgument(
          "the client takes no --winograd: its architecture file carries the forms (`polympc export-arch "
          "--winograd`)");
    nn::ArchFile af = nn::load_arch(pa.arch);
    net = std::move(af.arch);
    model_hash = af.model_hash;
    data = nn::load_idx_dataset(data_dir, "t10k", static_cast<int64_t>(pa.first_image + images));
  }
  // The fixed point the model was made for, unless given (as the dealer reads it).
  plan.coef_frac = use_fixed_point(net.fixed_point, protocol);
  const mpc::RingConfig ring = ring_of(protocol);
  const mpc::ProtocolOptions po = protocol_of(protocol);
  plan.protocol = po;
  if (party == 0) q = std::make_unique<nn::QuantizedModel>(nn::quantize(net, ring, plan.coef_frac));
  check_layer_bits(po, net);
  mpc::MaterialFile material = mpc::MaterialFile::open(pa.material, party);
  mpc::Ledger ledger(pa.ledger);
  mpc::check_material_left(ledger, material);  // fail before waiting for the peer
  auto be = make_backend(backend, bargs);
  if (!quiet)
    std::fprintf(stderr, "polympc infer --role %s: waiting for the peer on port %u\n",
                 pa.role.c_str(), pa.port);
  std::unique_ptr<mpc::Channel> ch = party == 0 ? mpc::tcp_listen(pa.port, pa.timeout_ms)
                                                : mpc::tcp_connect(pa.host, pa.port, pa.timeout_ms);
  auto progress = [quiet](size_t d, size_t t) {
    if (!quiet) std::fprintf(stderr, "\r%zu/%zu images%s", d, t, d == t ? "\n" : "");
  };
  nn::PartyResult r =
      nn::run_party(party, net, model_hash, q.get(), party == 1 ? &data : nullptr, ring, plan, *ch,
                    *be, material, ledger, progress, pa.first_image);
  report_party(pa.role, images, r, material, reveal, json);
}

void report_party(const std::string& role, size_t images, const nn::PartyResult& r,
                  const mpc::MaterialFile& material, nn::Reveal reveal, const std::string& json) {
  const bool client = role == "client";
  std::printf("%-10s %12s %12s %12s\n", "phase", "rounds/batch", "sent/img", "recv/img");
  uint64_t sent = 0, recvd = 0;
  const double n = static_cast<double>(images);
  for (auto& [name, st] : r.stats) {
    const bool once = name == "setup" || name == "handshake";
    const uint64_t per_batch = once ? st.rounds : st.rounds / r.segments;
    std::printf("%-10s %12llu %12.0f %12.0f\n", name.c_str(),
                static_cast<unsigned long long>(per_batch), static_cast<double>(st.bytes_sent) / n,
                static_cast<double>(st.bytes_received) / n);
    if (!once) {
      sent += st.bytes_sent;
      recvd += st.bytes_received;
    }
  }
  std::printf(
      "%s: %zu images (material batches %llu..%llu of run %s), online %.2f s (%.2f ms per image), "
      "sent %.0f "
      "B/img, received %.0f B/img\n",
      role.c_str(), images, static_cast<unsigned long long>(r.first_segment),
      static_cast<unsigned long long>(r.first_segment + r.segments - 1),
      mpc::to_hex(material.header().run_id).c_str(), r.seconds, 1e3 * r.seconds / n,
      static_cast<double>(sent) / n, static_cast<double>(recvd) / n);
  if (client && r.labelled) std::printf("2PC accuracy: %.2f %%\n", 100.0 * r.accuracy);
  if (client && !r.labelled) {
    std::printf("predicted classes:");
    for (int c : r.predictions) std::printf(" %d", c);
    std::printf("\n");
  }
  if (!json.empty()) {
    nlohmann::json j;
    j["role"] = role;
    j["images"] = images;
    j["run_id"] = mpc::to_hex(material.header().run_id);
    j["first_segment"] = r.first_segment;
    j["segments"] = r.segments;
    j["seconds"] = r.seconds;
    j["bytes_sent_per_image"] = static_cast<double>(sent) / n;
    j["bytes_received_per_image"] = static_cast<double>(recvd) / n;
    if (client) {
      j["reveal"] = nn::reveal_name(reveal);
      if (r.labelled)
        j["accuracy"] = r.accuracy;
      else
        j["accuracy"] = nullptr;
      j["predictions"] = r.predictions;
      if (reveal == nn::Reveal::Logits) j["logits"] = r.logits;
    }
    std::ofstream f(json);
    if (!f) throw polympc::Error("cannot write JSON report '" + json + "'");
    f << j.dump(2) << "\n";
  }
}

void add_dealer_command(CLI::App& app) {
  struct Args {
    std::string arch;
    std::string model;
    size_t images = 100;
    size_t batch = 100;
    std::string p0 = "p0.mat", p1 = "p1.mat";
    std::optional<uint64_t> seed;
    std::string reveal = "logits";
    ProtocolArgs protocol;
  };
  auto a = std::make_shared<Args>();
  CLI::App* c =
      app.add_subcommand("dealer", "write single-use preprocessing files for a two-process run");
  c->add_option("--arch", a->arch,
                "architecture file from `polympc export-arch` (the dealer never reads weights)");
  c->add_option("--model", a->model, "refused: the dealer reads the architecture file only")
      ->group("");
  c->add_option("--images", a->images, "images the material is for (may be used over several runs)")
      ->capture_default_str();
  c->add_option("--batch", a->batch, "images per batch; a run consumes whole batches")
      ->capture_default_str();
  c->add_option("--p0", a->p0, "server's preprocessing file")->capture_default_str();
  c->add_option("--p1", a->p1, "client's preprocessing file")->capture_default_str();
  add_insecure_seed_option(*c, a->seed);
  add_protocol_options(*c, a->protocol);
  c->add_option("--reveal", a->reveal,
                "what the client will learn: logits | label (must match infer)")
      ->capture_default_str();
  c->callback([a] {
    if (!a->model.empty())
      throw mpc::InvalidArgument(
          "the dealer must not read the model's weights: pass --arch (from `polympc "
          "export-arch --model " +
          a->model + "`) instead of --model");
    if (a->arch.empty())
      throw mpc::InvalidArgument("the dealer needs --arch (a file from `polympc export-arch`)");
    nn::ArchFile af = nn::load_arch(a->arch);
    nn::PartyPlan plan;
    plan.coef_frac = use_fixed_point(af.arch.fixed_point, a->protocol);  // the model's, unless given
    const mpc::RingConfig ring = ring_of(a->protocol);
    plan.images = a->images;
    plan.batch = a->batch;
    plan.protocol = protocol_of(a->protocol);
    plan.reveal = nn::parse_reveal(a->reveal);
    check_layer_bits(plan.protocol, af.arch);
    check_trunc_failure_run(a->protocol, ring, plan.protocol, af.arch, a->images);
    mpc::Seed seed{};
    if (a->seed) seed = mpc::seed_from_u64(*a->seed);
    const std::string run = nn::deal_to_files(af.arch, af.model_hash, ring, plan, a->p0, a->p1,
                                              a->seed ? &seed : nullptr);
    std::printf(
        "dealer run %s%s: wrote %s (P0, server) and %s (P1, client) for %zu images in batches of "
        "%zu\n",
        run.c_str(), a->seed ? " (INSECURE fixed test seed)" : "", a->p0.c_str(), a->p1.c_str(),
        a->images, a->batch);
  });
}

}  // namespace polympc::apps
