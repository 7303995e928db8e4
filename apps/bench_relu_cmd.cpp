// `polympc bench relu`: throughput and communication of the secure ReLU (issue #3), GMW or
// FSS, the two parties as two threads of this process (inproc channel or TCP loopback) or
// as two processes (--role server / --role client over TCP).
//
// What is timed: the online phase only, from a barrier after both parties hold their
// material and input shares to the moment both have their output shares. The dealer
// runs before (offline, timed separately). The result is checked against the plaintext
// twin after the timing (not counted).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <exception>
#include <fstream>
#include <memory>
#include <optional>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "backends.h"
#include "commands.h"
#include "party_cmd.h"
#include "polympc/mpc/dcf.h"
#include "polympc/mpc/dealer.h"
#include "polympc/mpc/plaintext.h"
#include "polympc/mpc/protocols.h"

namespace polympc::apps {

namespace {

/// AES-128 blocks per second one core of the reference machine runs (issue #3).
constexpr double kAesBlocksPerSecondPerCore = 670e6;

struct BenchReluArgs {
  std::string compare = "fss";
  int bits = 64;
  int frac = 12;
  size_t n = size_t(1) << 20;
  std::string transport = "inproc";
  std::string role = "both";
  std::string host = "127.0.0.1";
  int port = 0;
  std::string backend = "cpu";
  BackendArgs backend_args;
  std::string relu_bits;
  std::string json;
  std::optional<uint64_t> seed;  ///< --insecure-test-seed (default: OS CSPRNG)
  int repeats = 1;
  bool quiet = false;
};

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
/// CPU seconds of the calling thread (what one party's thread computed, whatever else the
/// machine runs).
double thread_cpu() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

/// 1-minute load average of the machine (-1 when unknown).
double load_average() {
  std::ifstream f("/proc/loadavg");
  double l = -1;
  if (f) f >> l;
  return l;
}

/// A TCP port that was free a moment ago (bind to port 0 and read it back).
uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw mpc::ChannelError("cannot create a socket to find a free port");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    throw mpc::ChannelError("cannot find a free TCP port (use --port)");
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

/// Everything one run needs, identical in both processes of a two-process run (the
/// dealer and the inputs are derived from --insecure-test-seed: a benchmark shortcut;
/// private runs use dealer files). With two threads, the dealer is keyed from the CSPRNG.
struct Setup {
  mpc::RingConfig ring;
  mpc::ProtocolOptions po;
  mpc::Words x, x0, x1;
  mpc::MaterialStore m0{0}, m1{1};
  double offline_seconds = 0;
  uint64_t material_words = 0;  ///< both parties
};

void make_setup(const BenchReluArgs& a, Setup& s, int repeat) {
  s.ring = mpc::RingConfig{a.bits, a.frac};
  s.ring.validate();
  s.po.compare = mpc::parse_compare_mode(a.compare);
  if (!a.relu_bits.empty()) s.po.compare_bits = mpc::parse_compare_bits(a.relu_bits);
  const mpc::CompareBits b = s.po.compare_range("relu", s.ring.bits);
  mpc::Dealer dealer = a.seed ? mpc::Dealer(mpc::seed_from_u64(*a.seed + 1000003ull * static_cast<uint64_t>(repeat)), s.ring)
                              : mpc::Dealer(s.ring);
  // Inputs: uniform signed values of magnitude below 2^(hi - 2), so that a reduced-bit
  // comparison sees values in its range.
  const int mag = std::max(2, b.hi - 2);
  s.x.resize(a.n);
  for (auto& v : s.x) {
    const uint64_t u = dealer.prg().next_u64();
    const int64_t mv = static_cast<int64_t>(u >> (64 - mag));
    v = s.ring.from_signed((u & 1) ? -mv : mv);
  }
  auto [x0, x1] = dealer.share_arith(s.x);
  s.x0 = std::move(x0);
  s.x1 = std::move(x1);
  s.m0 = mpc::MaterialStore(0);
  s.m1 = mpc::MaterialStore(1);
  const double t0 = now();
  mpc::deal_relu(dealer, a.n, s.po, "relu", s.m0, s.m1);
  s.offline_seconds = now() - t0;
  s.material_words = s.m0.remaining_words() + s.m1.remaining_words();
  // A process that plays one party keeps only that party's material.
  if (a.role == "server") s.m1 = mpc::MaterialStore(1);
  if (a.role == "client") s.m0 = mpc::MaterialStore(0);
}

/// One party's timed run: barrier, relu, barrier. Returns the output share.
struct PartyResult {
  mpc::Words z;
  double seconds = 0;
  double cpu_seconds = 0;
  mpc::PhaseStats stats;
};
PartyResult run_party(int party, Setup& s, mpc::Channel& ch, mpc::Backend& be) {
  mpc::Session session{party, s.ring, ch, be, party == 0 ? s.m0 : s.m1, s.po};
  uint8_t token = 1, peer = 0;
  ch.exchange(&token, 1, &peer, 1);  // barrier (not counted: stats are reset next)
  ch.reset_stats();
  PartyResult r;
  const double t0 = now(), c0 = thread_cpu();
  {
    mpc::PhaseScope scope(ch, "relu");
    r.z = mpc::relu(session, party == 0 ? s.x0 : s.x1, "relu");
  }
  r.seconds = now() - t0;
  r.cpu_seconds = thread_cpu() - c0;
  r.stats = ch.stats().at("relu");
  return r;
}

/// Checks the reconstructed output against the plaintext twin; for a reduced-bit range,
/// values in the dropped band [0, 2^lo) may be 0 (CompareBits). Returns mismatches.
size_t check_output(const Setup& s, const mpc::Words& z) {
  const mpc::CompareBits b = s.po.compare_range("relu", s.ring.bits);
  const mpc::Words want = mpc::plain::relu(s.ring, s.x);
  size_t bad = 0;
  for (size_t j = 0; j < z.size(); ++j) {
    if (z[j] == want[j]) continue;
    const int64_t v = s.ring.to_signed(s.x[j]);
    if (b.lo > 0 && v >= 0 && v < (int64_t{1} << b.lo) && z[j] == 0) continue;
    ++bad;
  }
  return bad;
}

struct RunResult {
  double seconds = 0;
  double cpu_seconds = 0;  ///< max over the parties of the party thread's CPU time
  uint64_t bytes = 0;   ///< both parties
  uint64_t rounds = 0;  ///< max over the parties
  size_t mismatches = 0;
  bool checked = false;
};

/// Both parties in this process, two threads.
RunResult run_threads(const BenchReluArgs& a, Setup& s) {
  std::unique_ptr<mpc::Channel> ch[2];
  if (a.transport == "inproc") {
    auto pair = mpc::make_inproc_pair();
    ch[0] = std::move(pair.first);
    ch[1] = std::move(pair.second);
  } else {
    const uint16_t port = a.port ? static_cast<uint16_t>(a.port) : free_port();
    std::exception_ptr err;
    std::thread listener([&] {
      try {
        ch[0] = mpc::tcp_listen(port);
      } catch (...) {
        err = std::current_exception();
      }
    });
    try {
      ch[1] = mpc::tcp_connect(a.host, port);
    } catch (...) {
      listener.join();
      throw;
    }
    listener.join();
    if (err) std::rethrow_exception(err);
  }
  auto be0 = make_backend(a.backend, a.backend_args);
  auto be1 = make_backend(a.backend, a.backend_args);
  PartyResult r0, r1;
  std::exception_ptr e0, e1;
  std::thread t0([&] {
    try {
      r0 = run_party(0, s, *ch[0], *be0);
    } catch (...) {
      e0 = std::current_exception();
      ch[0].reset();
    }
  });
  try {
    r1 = run_party(1, s, *ch[1], *be1);
  } catch (...) {
    e1 = std::current_exception();
    ch[1].reset();
  }
  t0.join();
  if (e0) std::rethrow_exception(e0);
  if (e1) std::rethrow_exception(e1);
  RunResult rr;
  rr.seconds = std::max(r0.seconds, r1.seconds);
  rr.cpu_seconds = std::max(r0.cpu_seconds, r1.cpu_seconds);
  rr.bytes = r0.stats.bytes_sent + r1.stats.bytes_sent;
  rr.rounds = std::max(r0.stats.rounds, r1.stats.rounds);
  mpc::Words z(a.n);
  for (size_t j = 0; j < a.n; ++j) z[j] = (r0.z[j] + r1.z[j]) & s.ring.mask();
  rr.mismatches = check_output(s, z);
  rr.checked = true;
  return rr;
}

/// One party of a two-process run over TCP. The server (P0) listens, the client (P1)
/// connects; after the timing P0 sends its output share and its time so that the client
/// checks and reports.
RunResult run_process(const BenchReluArgs& a, Setup& s) {
  const int party = a.role == "server" ? 0 : 1;
  if (a.port <= 0) throw mpc::InvalidArgument("--role server/client needs --port");
  const uint16_t port = static_cast<uint16_t>(a.port);
  std::unique_ptr<mpc::Channel> ch = party == 0 ? mpc::tcp_listen(port, 120000) : mpc::tcp_connect(a.host, port, 120000);
  auto be = make_backend(a.backend, a.backend_args);
  PartyResult r = run_party(party, s, *ch, *be);
  ch->set_phase("report");
  RunResult rr;
  uint64_t peer_bytes = 0, peer_rounds = 0;
  double peer_seconds = 0;
  uint64_t mine[4] = {r.stats.bytes_sent, r.stats.rounds, 0, 0};
  std::memcpy(&mine[2], &r.seconds, sizeof(double));
  std::memcpy(&mine[3], &r.cpu_seconds, sizeof(double));
  uint64_t theirs[4] = {0, 0, 0, 0};
  ch->exchange(mine, sizeof mine, theirs, sizeof theirs);
  peer_bytes = theirs[0];
  peer_rounds = theirs[1];
  double peer_cpu = 0;
  std::memcpy(&peer_seconds, &theirs[2], sizeof(double));
  std::memcpy(&peer_cpu, &theirs[3], sizeof(double));
  rr.seconds = std::max(r.seconds, peer_seconds);
  rr.cpu_seconds = std::max(r.cpu_seconds, peer_cpu);
  rr.bytes = r.stats.bytes_sent + peer_bytes;
  rr.rounds = std::max(r.stats.rounds, peer_rounds);
  if (party == 0) {
    ch->send(r.z.data(), r.z.size() * 8);
  } else {
    mpc::Words z0(a.n);
    ch->recv(z0.data(), z0.size() * 8);
    for (size_t j = 0; j < a.n; ++j) z0[j] = (z0[j] + r.z[j]) & s.ring.mask();
    rr.mismatches = check_output(s, z0);
    rr.checked = true;
  }
  return rr;
}

void run_bench_relu(const BenchReluArgs& a) {
  if (a.n == 0) throw mpc::InvalidArgument("--n must be >= 1");
  if (a.transport != "inproc" && a.transport != "tcp")
    throw mpc::InvalidArgument("unknown transport '" + a.transport + "' (choose inproc or tcp)");
  if (a.role != "both" && a.role != "server" && a.role != "client")
    throw mpc::InvalidArgument("unknown role '" + a.role + "' (choose both, server or client)");
  if (a.role != "both" && a.transport != "tcp")
    throw mpc::InvalidArgument("--role server/client runs over TCP: add --transport tcp");
  if (a.role != "both" && !a.seed)
    throw mpc::InvalidArgument("bench relu --role server|client derives both processes' material from one shared "
                               "seed (a benchmark shortcut, not a private run): pass the same --insecure-test-seed N "
                               "to both");
  if (a.repeats < 1) throw mpc::InvalidArgument("--repeats must be >= 1");

  std::vector<RunResult> runs;
  Setup s;
  double offline = 0;
  for (int rep = 0; rep < a.repeats; ++rep) {
    if (!a.quiet)
      std::fprintf(stderr, "bench relu: dealing %zu ReLUs (%s, l=%d)...\n", a.n, a.compare.c_str(), a.bits);
    make_setup(a, s, rep);
    offline += s.offline_seconds;
    if (!a.quiet) std::fprintf(stderr, "bench relu: online run %d/%d (%s)...\n", rep + 1, a.repeats, a.transport.c_str());
    runs.push_back(a.role == "both" ? run_threads(a, s) : run_process(a, s));
  }
  // Median run by time.
  std::vector<RunResult> sorted = runs;
  std::sort(sorted.begin(), sorted.end(), [](const RunResult& x, const RunResult& y) { return x.seconds < y.seconds; });
  const RunResult& med = sorted[sorted.size() / 2];
  const double n = static_cast<double>(a.n);
  const mpc::CompareBits b = s.po.compare_range("relu", s.ring.bits);
  const bool fss = s.po.compare == mpc::CompareMode::Fss;
  const int depth = fss ? mpc::fss_dcf_depth(s.ring, s.po, "relu") : 0;
  const mpc::Cost analytic = mpc::relu_cost(s.ring, s.po, a.n, "relu");
  nlohmann::json j;
  j["protocol"] = a.compare;
  j["bits"] = a.bits;
  j["n"] = a.n;
  j["relu_per_second"] = n / med.seconds;
  j["online_bytes_per_relu"] = static_cast<double>(med.bytes) / n;
  j["rounds"] = med.rounds;
  j["offline_bytes_per_relu"] = static_cast<double>(s.material_words) * 8.0 / n;
  j["seconds"] = med.seconds;
  j["compare_bits"] = mpc::compare_bits_name(s.po.compare_bits);
  j["compared_bits"] = {b.lo, b.hi};
  j["transport"] = a.transport;
  j["role"] = a.role;
  j["backend"] = a.backend;
  j["threads_per_party"] = a.backend_args.threads;
  j["repeats"] = a.repeats;
  nlohmann::json all = nlohmann::json::array();
  for (auto& r : runs) all.push_back(r.seconds);
  j["seconds_all"] = all;
  // Wall time is what the targets measure; on a loaded machine the parties'
  // thread CPU time shows what the protocol itself costs.
  j["cpu_seconds_per_party"] = med.cpu_seconds;
  j["relu_per_cpu_second_per_party"] = n / med.cpu_seconds;
  j["load_average_1min"] = load_average();
  j["offline_seconds_per_run"] = offline / a.repeats;
  j["analytic_online_bytes_per_relu"] = 2.0 * static_cast<double>(analytic.bytes) / n;
  j["analytic_rounds"] = analytic.rounds;
  if (med.checked) {
    j["checked"] = true;
    j["mismatches"] = med.mismatches;
  }
  if (fss) {
    const double aes_per_party = n * depth / med.seconds;
    j["dcf_depth"] = depth;
    j["dcf_key_bytes"] = mpc::dcf_key_bytes(depth);
    j["aes_blocks_per_drelu"] = depth;
    j["aes_blocks_per_second_per_party"] = aes_per_party;
    j["aes_limit_blocks_per_second"] = kAesBlocksPerSecondPerCore * std::max(1, a.backend_args.threads);
    j["aes_limit_fraction"] = aes_per_party / (kAesBlocksPerSecondPerCore * std::max(1, a.backend_args.threads));
  }
  if (a.role == "server") {
    if (!a.quiet) std::fprintf(stderr, "bench relu: server done (the client reports)\n");
    return;
  }
  std::printf("%s\n", j.dump(2).c_str());
  if (!a.json.empty()) {
    std::ofstream f(a.json);
    if (!f) throw polympc::Error("cannot write JSON report '" + a.json + "'");
    f << j.dump(2) << "\n";
  }
  if (med.checked && med.mismatches != 0)
    throw polympc::Error("bench relu: " + std::to_string(med.mismatches) +
                         " outputs differ from the plaintext twin");
}

}  // namespace

void add_bench_relu_command(CLI::App& bench) {
  auto args = std::make_shared<BenchReluArgs>();
  args->backend_args.threads = 1;
  CLI::App* c = bench.add_subcommand("relu", "secure ReLU throughput and communication (GMW or FSS)");
  c->add_option("--compare", args->compare, "gmw | fss")->capture_default_str();
  c->add_option("--bits", args->bits, "ring bits l")->capture_default_str();
  c->add_option("--frac", args->frac, "fractional bits f")->capture_default_str();
  c->add_option("--n", args->n, "ReLUs in one batch")->capture_default_str();
  c->add_option("--transport", args->transport, "inproc | tcp (loopback)")->capture_default_str();
  c->add_option("--role", args->role, "both (two threads) | server | client (two processes, tcp)")
      ->capture_default_str();
  c->add_option("--host", args->host, "server address for --role client")->capture_default_str();
  c->add_option("--port", args->port, "TCP port (0 = a free one; required with --role)")->capture_default_str();
  c->add_option("--backend", args->backend, "cpu | sim")->capture_default_str();
  c->add_option("--threads", args->backend_args.threads, "backend threads per party")->capture_default_str();
  c->add_option("--relu-bits", args->relu_bits, "reduced-bit comparison LO:HI (default: all l bits)");
  add_insecure_seed_option(*c, args->seed);
  c->add_option("--repeats", args->repeats, "runs (fresh material each); the median is reported")
      ->capture_default_str();
  c->add_option("--json", args->json, "also write the JSON report to this file");
  c->add_flag("--quiet", args->quiet, "no progress lines");
  c->callback([args] { run_bench_relu(*args); });
}

}  // namespace polympc::apps
