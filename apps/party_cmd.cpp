// `polympc dealer` and `polympc infer --role server|client`.
#include "party_cmd.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "polympc/nn/onnx.h"
#include "polympc/nn/party.h"
#include "protocol_args.h"

namespace polympc::apps {

void add_party_options(CLI::App& c, PartyArgs& a) {
  c.add_option("--role", a.role, "run one party over TCP: server (P0, holds the model) | client (P1, holds the images)");
  c.add_option("--host", a.host, "server address (client)")->capture_default_str();
  c.add_option("--port", a.port, "TCP port")->capture_default_str();
  c.add_option("--material", a.material, "this party's preprocessing file from `polympc dealer`");
  c.add_option("--timeout", a.timeout_ms, "connection / read timeout in ms")->capture_default_str();
  c.add_option("--client-seed", a.client_seed, "client input-sharing PRG seed (0 = from the clock)");
}

void run_infer_party(const PartyArgs& pa, const std::string& model, const std::string& data_dir, size_t images,
                     size_t batch, const std::string& backend, const BackendArgs& bargs, const mpc::RingConfig& ring,
                     const mpc::ProtocolOptions& po, bool quiet, const std::string& json) {
  int party;
  if (pa.role == "server")
    party = 0;
  else if (pa.role == "client")
    party = 1;
  else
    throw mpc::InvalidArgument("unknown role '" + pa.role + "' (choose server or client)");
  if (pa.material.empty()) throw mpc::InvalidArgument("--role needs --material (a file from `polympc dealer`)");
  nn::PartyPlan plan;
  plan.images = images;
  plan.batch = batch;
  plan.protocol = po;
  // The client gets the architecture only; here it reads the ONNX file and drops the
  // parameters before anything else touches them.
  nn::Network net = nn::load_onnx(model);
  check_layer_bits(po, net);
  std::unique_ptr<nn::QuantizedModel> q;
  nn::Dataset data;
  if (party == 0) {
    q = std::make_unique<nn::QuantizedModel>(nn::quantize(net, ring));
  } else {
    net = nn::architecture_only(net);
    data = nn::load_idx_dataset(data_dir, "t10k", static_cast<int64_t>(images));
  }
  mpc::MaterialStore material = mpc::MaterialStore::load(pa.material, party);
  auto be = make_backend(backend, bargs);
  if (!quiet) std::fprintf(stderr, "polympc infer --role %s: waiting for the peer on port %u\n", pa.role.c_str(), pa.port);
  std::unique_ptr<mpc::Channel> ch =
      party == 0 ? mpc::tcp_listen(pa.port, pa.timeout_ms) : mpc::tcp_connect(pa.host, pa.port, pa.timeout_ms);
  const uint64_t seed = pa.client_seed ? pa.client_seed
                                       : static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  auto progress = [quiet](size_t d, size_t t) {
    if (!quiet) std::fprintf(stderr, "\r%zu/%zu images%s", d, t, d == t ? "\n" : "");
  };
  nn::PartyResult r = nn::run_party(party, net, q.get(), party == 1 ? &data : nullptr, ring, plan, *ch, *be, material,
                                    seed, progress);
  const size_t n_batches = plan.batches().size();
  std::printf("%-10s %12s %12s %12s\n", "phase", "rounds/batch", "sent/img", "recv/img");
  uint64_t sent = 0, recvd = 0, rounds = 0;
  const double n = static_cast<double>(images);
  for (auto& [name, st] : r.stats) {
    const uint64_t per_batch = name == "setup" ? st.rounds : st.rounds / n_batches;
    std::printf("%-10s %12llu %12.0f %12.0f\n", name.c_str(), static_cast<unsigned long long>(per_batch),
                static_cast<double>(st.bytes_sent) / n, static_cast<double>(st.bytes_received) / n);
    if (name != "setup") {
      sent += st.bytes_sent;
      recvd += st.bytes_received;
    }
    rounds += st.rounds;
  }
  std::printf("%s: %zu images, online %.2f s (%.2f ms per image), sent %.0f B/img, received %.0f B/img\n",
              pa.role.c_str(), images, r.seconds, 1e3 * r.seconds / n, static_cast<double>(sent) / n,
              static_cast<double>(recvd) / n);
  if (party == 1) std::printf("2PC accuracy: %.2f %%\n", 100.0 * r.accuracy);
  if (!json.empty()) {
    nlohmann::json j;
    j["role"] = pa.role;
    j["images"] = images;
    j["seconds"] = r.seconds;
    j["bytes_sent_per_image"] = static_cast<double>(sent) / n;
    j["bytes_received_per_image"] = static_cast<double>(recvd) / n;
    if (party == 1) {
      j["accuracy"] = r.accuracy;
      j["predictions"] = r.predictions;
    }
    std::ofstream f(json);
    if (!f) throw polympc::Error("cannot write JSON report '" + json + "'");
    f << j.dump(2) << "\n";
  }
}

void add_dealer_command(CLI::App& app) {
  struct Args {
    std::string model = "models/fmnist_cnn.onnx";
    size_t images = 100;
    size_t batch = 100;
    std::string p0 = "p0.mat", p1 = "p1.mat";
    uint64_t seed = 0;
    ProtocolArgs protocol;
  };
  auto a = std::make_shared<Args>();
  CLI::App* c = app.add_subcommand("dealer", "write single-use preprocessing files for a two-process run");
  c->add_option("--model", a->model, "ONNX model (only its architecture is read)")->capture_default_str();
  c->add_option("--images", a->images, "images the run will infer")->capture_default_str();
  c->add_option("--batch", a->batch, "images per batch (must match infer)")->capture_default_str();
  c->add_option("--p0", a->p0, "server's preprocessing file")->capture_default_str();
  c->add_option("--p1", a->p1, "client's preprocessing file")->capture_default_str();
  c->add_option("--seed", a->seed, "dealer PRG seed (0 = from the clock)");
  add_protocol_options(*c, a->protocol);
  c->callback([a] {
    const mpc::RingConfig ring = ring_of(a->protocol);
    nn::PartyPlan plan;
    plan.images = a->images;
    plan.batch = a->batch;
    plan.protocol = protocol_of(a->protocol);
    const uint64_t seed =
        a->seed ? a->seed : static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    nn::Network net = nn::architecture_only(nn::load_onnx(a->model));
    check_layer_bits(plan.protocol, net);
    nn::deal_to_files(net, ring, plan, seed, a->p0, a->p1);
    std::printf("wrote %s (P0, server) and %s (P1, client) for %zu images in batches of %zu\n", a->p0.c_str(),
                a->p1.c_str(), a->images, a->batch);
  });
}

}  // namespace polympc::apps
