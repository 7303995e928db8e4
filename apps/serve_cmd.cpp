// `polympc serve` and `polympc query`: the two parties as services over TLS 1.3
// (docs/deployment.md; transport in mpc/net.h, run binding in mpc/material_file.h).
//
// The server holds the model and a directory of P0 preprocessing files (one per dealer
// run). It accepts clients one after another and up to --max-clients at once; each
// connection gets its own thread, channel, backend and material file. Per connection:
// TLS handshake and hello (mpc/net.h) -> query request naming the client's dealer run and
// image count -> the server finds that run's P0 file, refuses it when another client is
// using the run or the run is used up -> run handshake (key confirmation, ledger position;
// the ledger records the segments only here, so a stray or refused connection consumes
// nothing) -> setup and online phase. Every connection runs under --timeout per read and
// --deadline in total; a failure ends that connection only, with a log line, and the
// server goes on.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "backends.h"
#include "commands.h"
#include "party_cmd.h"
#include "polympc/mpc/material_file.h"
#include "polympc/mpc/net.h"
#include "polympc/nn/arch_file.h"
#include "polympc/nn/dataset.h"
#include "polympc/nn/onnx.h"
#include "polympc/nn/party.h"
#include "protocol_args.h"

namespace polympc::apps {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
constexpr uint16_t kDefaultPort = 7766;

/// Transport options of serve and query.
struct TransportArgs {
  std::string ca, cert, key;
  bool plaintext = false;
  int timeout_ms = 60000;
  double deadline_s = 600;
};

void add_transport_options(CLI::App& c, TransportArgs& a, const char* side) {
  c.add_option("--ca", a.ca, std::string("TLS: CA certificate (PEM) that signs the ") +
                                 (std::string(side) == "server" ? "clients'" : "server's") +
                                 " certificates");
  c.add_option("--cert", a.cert, std::string("TLS: this ") + side + "'s certificate chain (PEM)");
  c.add_option("--key", a.key, std::string("TLS: this ") + side + "'s private key (PEM)");
  c.add_flag("--plaintext", a.plaintext,
             "no TLS: unauthenticated, unencrypted TCP, refused unless the address is loopback");
  c.add_option("--timeout", a.timeout_ms, "ms a connection step or a single read may take")
      ->capture_default_str();
  c.add_option("--deadline", a.deadline_s,
               "seconds a whole query may take (connection to last message); past it both "
               "sides stop")
      ->capture_default_str();
}

/// Options both services take: transport, ledger, backend, protocol, reveal.
struct ServiceArgs {
  TransportArgs net;
  std::string ledger;
  std::string backend = "cpu";
  BackendArgs backend_args;
  ProtocolArgs protocol;
  std::string reveal = "logits";
};

void add_service_options(CLI::App& c, ServiceArgs& a, const char* side) {
  add_transport_options(c, a.net, side);
  c.add_option("--ledger", a.ledger,
               "file recording consumed material (default $POLYMPC_LEDGER, else ~/.local/state/polympc/ledger)");
  c.add_option("--backend", a.backend, "cpu | sim | xrt (with --xclbin)")->capture_default_str();
  add_backend_options(c, a.backend_args);
  add_protocol_options(c, a.protocol);
  c.add_option("--reveal", a.reveal,
               std::string("what ") + (std::string(side) == "server" ? "clients learn" : "this client learns") +
                   ": logits | label (must match the dealer's)")
      ->capture_default_str();
}

/// NetOptions from the transport options; the deadline starts now.
mpc::NetOptions net_options(const TransportArgs& a) {
  const bool any_tls = !a.ca.empty() || !a.cert.empty() || !a.key.empty();
  if (a.plaintext && any_tls)
    throw mpc::InvalidArgument("--plaintext and the TLS options (--ca, --cert, --key) exclude each other");
  if (!a.plaintext && (a.ca.empty() || a.cert.empty() || a.key.empty()))
    throw mpc::InvalidArgument(
        "TLS needs --ca, --cert and --key (scripts/make-test-ca.sh makes a test CA); for a "
        "loopback trial without TLS pass --plaintext");
  if (a.timeout_ms <= 0) throw mpc::InvalidArgument("--timeout must be > 0 ms");
  if (!(a.deadline_s > 0)) throw mpc::InvalidArgument("--deadline must be > 0 s");
  mpc::NetOptions o;
  if (!a.plaintext) o.tls = mpc::TlsFiles{a.ca, a.cert, a.key};
  o.timeout_ms = a.timeout_ms;
  o.deadline = Clock::now() + std::chrono::microseconds(static_cast<int64_t>(a.deadline_s * 1e6));
  return o;
}

// ----------------------------------------------------------------------------- serve

std::atomic<bool> g_stop{false};
extern "C" void on_stop_signal(int) { g_stop = true; }

/// The P0 files of a directory by run ID (hex); rescanned when a run is not found, so
/// files the dealer adds while the server runs are picked up.
class MaterialIndex {
 public:
  explicit MaterialIndex(std::string dir) : dir_(std::move(dir)) {
    if (!fs::is_directory(dir_))
      throw mpc::InvalidArgument("--material '" + dir_ + "' is not a directory of P0 files");
    scan();
  }
  size_t size() {
    std::lock_guard<std::mutex> lk(mu_);
    return runs_.size();
  }
  /// Path of run `id`'s P0 file, "" when the directory has none.
  std::string find(const mpc::RunId& id) {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = runs_.find(mpc::to_hex(id));
    if (it != runs_.end()) return it->second;
    scan();
    it = runs_.find(mpc::to_hex(id));
    return it == runs_.end() ? "" : it->second;
  }

 private:
  void scan() {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir_, ec)) {
      if (!e.is_regular_file(ec)) continue;
      try {
        mpc::MaterialFile f = mpc::MaterialFile::open(e.path().string(), 0);
        runs_.emplace(mpc::to_hex(f.header().run_id), e.path().string());
      } catch (const polympc::Error&) {
        // Not a P0 file (P1 file, other file, damaged): not servable, skipped.
      }
    }
  }
  std::string dir_;
  std::mutex mu_;
  std::map<std::string, std::string> runs_;
};

struct ServeArgs : ServiceArgs {
  std::string model = "models/fmnist_cnn.onnx";
  int coef_frac = -1;  ///< the model's coefficient scale (use_fixed_point), -1 = f + 8
  std::string winograd = "off";  ///< explicit Winograd forms (load_server_model)
  std::string material;
  std::string listen = "127.0.0.1:7766";
  size_t max_clients = 4;
  size_t max_queries = 0;
  std::string port_file;
};

class Server {
 public:
  explicit Server(const ServeArgs& a)
      : a_(a),
        ring_(ring_of(a.protocol)),
        po_(protocol_of(a.protocol)),
        reveal_(nn::parse_reveal(a.reveal)),
        net_(load_server_model(a.model, a.winograd)),
        model_hash_(nn::model_hash(net_)),
        q_(nn::quantize(net_, ring_, a.coef_frac)),
        index_(a.material),
        ledger_(a.ledger) {
    check_layer_bits(po_, net_);
    if (a.max_clients == 0) throw mpc::InvalidArgument("--max-clients must be >= 1");
    make_backend(a.backend, a.backend_args);  // a bad backend fails now, not per client
  }

  void run() {
    mpc::NetOptions probe = net_options(a_.net);  // checks the transport options
    mpc::Listener listener(mpc::parse_endpoint(a_.listen, kDefaultPort), probe.tls);
    if (!a_.port_file.empty()) {
      const std::string tmp = a_.port_file + ".tmp";
      std::ofstream(tmp) << listener.port() << "\n";
      fs::rename(tmp, a_.port_file);
    }
    log("listening on " + listener.address() + (probe.tls ? " (TLS 1.3, client certificates required)"
                                                         : " (PLAINTEXT, loopback only)") +
        ", model " + a_.model + ", " + std::to_string(index_.size()) + " dealer run(s) in " +
        a_.material + ", up to " + std::to_string(a_.max_clients) + " clients at once");
    std::signal(SIGINT, on_stop_signal);
    std::signal(SIGTERM, on_stop_signal);
    const auto t0 = Clock::now();
    size_t started = 0;
    while (!g_stop && (a_.max_queries == 0 || started < a_.max_queries)) {
      {
        std::unique_lock<std::mutex> lk(mu_);
        if (!slot_cv_.wait_for(lk, std::chrono::milliseconds(200),
                               [&] { return active_ < a_.max_clients; }))
          continue;
      }
      reap(false);
      std::unique_ptr<mpc::Incoming> in = listener.accept(200);
      if (!in) continue;
      ++started;
      {
        std::lock_guard<std::mutex> lk(mu_);
        ++active_;
      }
      auto done = std::make_shared<std::atomic<bool>>(false);
      workers_.push_back({std::thread([this, done, c = std::shared_ptr<mpc::Incoming>(std::move(in))] {
                            serve_one(*c);
                            {
                              std::lock_guard<std::mutex> lk(mu_);
                              --active_;
                            }
                            slot_cv_.notify_all();
                            *done = true;
                          }),
                          done});
    }
    reap(true);
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    log("stopped after " + std::to_string(started) + " connection(s): " + std::to_string(ok_) +
        " queries served (" + std::to_string(images_) + " images), " + std::to_string(failed_) +
        " failed or refused, in " + fixed(s, 1) + " s");
  }

 private:
  struct Worker {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };

  static std::string fixed(double v, int digits) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", digits, v);
    return buf;
  }

  void log(const std::string& line) {
    std::lock_guard<std::mutex> lk(log_mu_);
    std::fprintf(stderr, "polympc serve: %s\n", line.c_str());
    std::fflush(stderr);
  }

  void reap(bool all) {
    for (auto it = workers_.begin(); it != workers_.end();) {
      if (all || *it->done) {
        it->thread.join();
        it = workers_.erase(it);
      } else {
        ++it;
      }
    }
  }

  /// Marks a run busy for the lifetime of the guard.
  class RunGuard {
   public:
    RunGuard(Server& s, std::string run) : s_(s), run_(std::move(run)) {}
    ~RunGuard() {
      std::lock_guard<std::mutex> lk(s_.mu_);
      s_.busy_.erase(run_);
    }

   private:
    Server& s_;
    std::string run_;
  };

  void serve_one(mpc::Incoming& in) {
    const std::string who = in.peer();
    try {
      std::unique_ptr<mpc::Channel> ch = in.establish(net_options(a_.net));
      const mpc::QueryRequest req = mpc::read_query_request(*ch);
      const std::string run = mpc::to_hex(req.run_id);
      const std::string path = index_.find(req.run_id);
      if (path.empty()) return refuse(*ch, who, "this server holds no material of dealer run " + run);
      {
        std::lock_guard<std::mutex> lk(mu_);
        if (!busy_.insert(run).second)
          return refuse(*ch, who,
                        "dealer run " + run +
                            " is in use by another client right now; each concurrent client needs "
                            "its own dealer run");
      }
      RunGuard guard(*this, run);
      std::unique_ptr<mpc::MaterialFile> material;
      try {
        material = std::make_unique<mpc::MaterialFile>(mpc::MaterialFile::open(path, 0));
        mpc::check_material_left(ledger_, *material);
      } catch (const mpc::MaterialError& e) {
        return refuse(*ch, who, e.what());
      }
      mpc::answer_query_request(*ch, "");
      log(ch->peer() + ": accepted a query of " + std::to_string(req.images) + " images on run " + run);
      auto be = make_backend(a_.backend, a_.backend_args);
      nn::PartyPlan plan;
      plan.images = req.images;
      plan.protocol = po_;
      plan.coef_frac = a_.coef_frac;
      plan.reveal = reveal_;
      const nn::PartyResult r = nn::run_party(0, net_, model_hash_, &q_, nullptr, ring_, plan,
                                              *ch, *be, *material, ledger_, nullptr, 0);
      {
        std::lock_guard<std::mutex> lk(mu_);
        ++ok_;
        images_ += req.images;
      }
      log(ch->peer() + ": served " + std::to_string(req.images) + " images of run " + run +
          " (batches " + std::to_string(r.first_segment) + ".." +
          std::to_string(r.first_segment + r.segments - 1) + "), online " + fixed(r.seconds, 3) +
          " s, " + fixed(1e3 * r.seconds / static_cast<double>(req.images), 2) + " ms per image");
    } catch (const std::exception& e) {
      {
        std::lock_guard<std::mutex> lk(mu_);
        ++failed_;
      }
      log(who + ": query failed, no result: " + e.what());
    }
  }

  void refuse(mpc::Channel& ch, const std::string& who, const std::string& why) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      ++failed_;
    }
    log(who + ": refused: " + why);
    try {
      mpc::answer_query_request(ch, why);
    } catch (const polympc::Error&) {
    }
  }

  const ServeArgs a_;
  const mpc::RingConfig ring_;
  const mpc::ProtocolOptions po_;
  const nn::Reveal reveal_;
  const nn::Network net_;
  const std::string model_hash_;
  const nn::QuantizedModel q_;
  MaterialIndex index_;
  mpc::Ledger ledger_;

  std::mutex mu_;
  std::condition_variable slot_cv_;
  size_t active_ = 0;
  std::set<std::string> busy_;  // run IDs in use
  size_t ok_ = 0, failed_ = 0, images_ = 0;
  std::list<Worker> workers_;
  std::mutex log_mu_;
};

// ----------------------------------------------------------------------------- query

struct QueryArgs : ServiceArgs {
  std::string connect = "127.0.0.1:7766";
  std::string server_name;
  std::string arch;
  std::string material;
  std::string data = nn::kFashionMnistDir;
  std::string input;
  size_t images = 0;
  size_t first_image = 0;
  std::string json;
  bool quiet = false;
};

/// The client's P1 file: `path` itself, or in a directory the first file (by name) that
/// is a P1 file for `model_hash` with material left in `ledger`.
mpc::MaterialFile pick_material(const std::string& path, const mpc::Ledger& ledger,
                                const std::string& model_hash) {
  if (!fs::is_directory(path)) {
    mpc::MaterialFile f = mpc::MaterialFile::open(path, 1);
    mpc::check_material_left(ledger, f);
    return f;
  }
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(path))
    if (e.is_regular_file()) files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    try {
      mpc::MaterialFile m = mpc::MaterialFile::open(f, 1);
      if (m.header().model_hash != model_hash) continue;
      mpc::check_material_left(ledger, m);
      return m;
    } catch (const polympc::Error&) {
    }
  }
  throw mpc::MaterialReuseError("no P1 file in '" + path + "' for this architecture has material left "
                                "(ledger '" + ledger.path() + "'): ask the dealer for fresh material");
}

void run_query(QueryArgs a) {
  if (a.arch.empty()) throw mpc::InvalidArgument("query needs --arch (a file from `polympc export-arch`)");
  if (a.material.empty()) throw mpc::InvalidArgument("query needs --material (a P1 file or a directory of them)");
  nn::ArchFile af = nn::load_arch(a.arch);
  nn::PartyPlan plan;
  plan.coef_frac = use_fixed_point(af.arch.fixed_point, a.protocol);  // the model's, unless given
  const mpc::RingConfig ring = ring_of(a.protocol);
  plan.protocol = protocol_of(a.protocol);
  plan.reveal = nn::parse_reveal(a.reveal);
  check_layer_bits(plan.protocol, af.arch);
  nn::Dataset data;
  if (!a.input.empty()) {
    data = nn::load_idx_images(a.input);
    plan.images = a.images ? a.images : static_cast<size_t>(data.count) - std::min<size_t>(a.first_image, data.count);
  } else {
    if (a.images == 0) throw mpc::InvalidArgument("query needs --images N (test images) or --input FILE");
    plan.images = a.images;
    data = nn::load_idx_dataset(a.data, "t10k", static_cast<int64_t>(a.first_image + a.images));
  }
  if (plan.images == 0) throw mpc::InvalidArgument("no images to query");
  mpc::Ledger ledger(a.ledger);
  mpc::MaterialFile material = pick_material(a.material, ledger, af.model_hash);
  auto be = make_backend(a.backend, a.backend_args);
  mpc::NetOptions o = net_options(a.net);
  o.server_name = a.server_name;
  const mpc::Endpoint at = mpc::parse_endpoint(a.connect, kDefaultPort);
  if (!a.quiet)
    std::fprintf(stderr, "polympc query: %zu images to %s (%s), dealer run %s\n", plan.images,
                 at.text().c_str(), o.tls ? "TLS 1.3" : "plaintext",
                 mpc::to_hex(material.header().run_id).c_str());
  std::unique_ptr<mpc::Channel> ch = mpc::connect(at, o);
  mpc::send_query_request(*ch, mpc::QueryRequest{material.header().run_id, plan.images});
  auto progress = [&a](size_t d, size_t t) {
    if (!a.quiet) std::fprintf(stderr, "\r%zu/%zu images%s", d, t, d == t ? "\n" : "");
  };
  const nn::PartyResult r = nn::run_party(1, af.arch, af.model_hash, nullptr, &data, ring, plan, *ch,
                                          *be, material, ledger, progress, a.first_image);
  report_party("client", plan.images, r, material, plan.reveal, a.json);
}

}  // namespace

void add_serve_commands(CLI::App& app) {
  {
    auto a = std::make_shared<ServeArgs>();
    CLI::App* c = app.add_subcommand(
        "serve", "the model owner's service: private inference for clients over TLS (P0)");
    c->add_option("--model", a->model, "ONNX model")->capture_default_str();
    c->add_option("--winograd", a->winograd,
                  "3x3 stride-1 convolutions in Winograd form: off | 2 | 4 | LAYER=0|2|4, the same as the clients' "
                  "architecture file (export-arch --winograd; docs/winograd.md)")
        ->capture_default_str();
    c->add_option("--material", a->material, "directory of this server's P0 preprocessing files (one per dealer run)")
        ->required();
    c->add_option("--listen", a->listen, "ADDR:PORT to listen on (port 0: any free port)")->capture_default_str();
    add_service_options(*c, *a, "server");
    c->add_option("--max-clients", a->max_clients, "clients served at the same time")->capture_default_str();
    c->add_option("--max-queries", a->max_queries, "stop after this many connections (0: serve until SIGINT/SIGTERM)")
        ->capture_default_str();
    c->add_option("--port-file", a->port_file, "write the listening port to this file once listening");
    c->callback([a] {
      ServeArgs args = *a;  // the fixed point the model was made for, unless given
      args.coef_frac = use_fixed_point(nn::fixed_point_of(nn::onnx_metadata(args.model), args.model), args.protocol);
      Server(args).run();
    });
  }
  {
    auto a = std::make_shared<QueryArgs>();
    CLI::App* c = app.add_subcommand(
        "query", "the data owner's side: private inference of its images at a `polympc serve` (P1)");
    c->add_option("--connect", a->connect, "server ADDR:PORT")->capture_default_str();
    c->add_option("--server-name", a->server_name,
                  "name the server's certificate must carry (default: the host of --connect)");
    c->add_option("--arch", a->arch, "the architecture file from `polympc export-arch` (no weights)");
    c->add_option("--material", a->material, "this client's P1 preprocessing file, or a directory of them");
    c->add_option("--images", a->images, "number of Fashion-MNIST test images (or, with --input, at most this many)");
    c->add_option("--first-image", a->first_image, "index of the first image")->capture_default_str();
    c->add_option("--data", a->data, "directory with the IDX test set (t10k split)")->capture_default_str();
    c->add_option("--input", a->input, "an IDX images file of your own (idx3-ubyte, optionally gzip) instead of the test set");
    add_service_options(*c, *a, "client");
    c->add_option("--json", a->json, "write the report (predictions, logits) as JSON to this file");
    c->add_flag("--quiet", a->quiet, "no progress");
    c->callback([a] { run_query(*a); });
  }
}

}  // namespace polympc::apps
