// Calibration of the cpu backend on this machine (calibrate.h).
#include "polympc/perfmodel/calibrate.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <exception>
#include <fstream>
#include <mutex>
#include <thread>

#include "polympc/cpu/cpu_backend.h"
#include "polympc/mpc/dcf.h"
#include "polympc/mpc/dealer.h"
#include "polympc/mpc/prg.h"
#include "polympc/mpc/protocols.h"
#include "polympc/nn/lowering.h"
#include "polympc/perfmodel/model.h"

namespace polympc::perfmodel {

namespace {

using Clock = std::chrono::steady_clock;
using Words = std::vector<uint64_t>;

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

/// Two persistent threads (party 0 on a worker, party 1 on the caller) that start a job
/// together (spin barrier) and each time their own part; run() returns the longer time.
class Duo {
 public:
  Duo() : worker_([this] { loop(); }) {}
  ~Duo() {
    {
      std::lock_guard<std::mutex> l(m_);
      stop_ = true;
    }
    cv_.notify_all();
    worker_.join();
  }
  Duo(const Duo&) = delete;
  Duo& operator=(const Duo&) = delete;

  /// on_error(p) runs when party p throws (e.g. to close its channel so the peer stops).
  double run(const std::function<void(int)>& f, const std::function<void(int)>& on_error = {}) {
    {
      std::lock_guard<std::mutex> l(m_);
      job_ = &f;
      on_error_ = &on_error;
      ready_.store(0);
      ++gen_;
    }
    cv_.notify_all();
    ready_.fetch_add(1);
    while (ready_.load() < 2) std::this_thread::yield();
    const auto t0 = Clock::now();
    std::exception_ptr mine;
    try {
      f(1);
    } catch (...) {
      mine = std::current_exception();
      if (on_error) on_error(1);
    }
    const double d1 = since(t0);
    std::unique_lock<std::mutex> l(m_);
    done_cv_.wait(l, [&] { return done_ == gen_; });
    if (mine) std::rethrow_exception(mine);
    if (err_) std::rethrow_exception(err_);
    return std::max(d0_, d1);
  }

 private:
  void loop() {
    uint64_t seen = 0;
    for (;;) {
      const std::function<void(int)>* job;
      const std::function<void(int)>* on_error;
      {
        std::unique_lock<std::mutex> l(m_);
        cv_.wait(l, [&] { return stop_ || gen_ != seen; });
        if (stop_) return;
        seen = gen_;
        job = job_;
        on_error = on_error_;
      }
      ready_.fetch_add(1);
      while (ready_.load() < 2) std::this_thread::yield();
      const auto t0 = Clock::now();
      std::exception_ptr e;
      try {
        (*job)(0);
      } catch (...) {
        e = std::current_exception();
        if (*on_error) (*on_error)(0);
      }
      const double d = since(t0);
      {
        std::lock_guard<std::mutex> l(m_);
        d0_ = d;
        err_ = e;
        done_ = seen;
      }
      done_cv_.notify_all();
    }
  }

  std::mutex m_;
  std::condition_variable cv_, done_cv_;
  const std::function<void(int)>* job_ = nullptr;
  const std::function<void(int)>* on_error_ = nullptr;
  std::atomic<int> ready_{0};
  uint64_t gen_ = 0, done_ = 0;
  double d0_ = 0;
  std::exception_ptr err_;
  bool stop_ = false;
  std::thread worker_;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

/// Weighted least squares t ~ a + b u minimising relative error; a, b >= 0.
Timing fit(const std::vector<std::pair<double, double>>& pts, const std::string& unit) {
  double sw = 0, su = 0, st = 0, suu = 0, sut = 0;
  for (auto& [u, t] : pts) {
    const double w = 1.0 / std::max(t * t, 1e-18);
    sw += w;
    su += w * u;
    st += w * t;
    suu += w * u * u;
    sut += w * u * t;
  }
  Timing tm;
  tm.unit = unit;
  const double det = sw * suu - su * su;
  double a = 0, b = 0;
  if (det > 0) {
    a = (suu * st - su * sut) / det;
    b = (sw * sut - su * st) / det;
  }
  if (a < 0 || det <= 0) {
    a = 0;
    b = suu > 0 ? sut / suu : 0;
  }
  if (b < 0) {
    b = 0;
    a = sw > 0 ? std::max(0.0, st / sw) : 0;
  }
  tm.per_call = a;
  tm.per_unit = b;
  // The measured points themselves, ascending (equal units averaged).
  std::vector<std::pair<double, double>> sorted = pts;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < sorted.size();) {
    size_t j = i;
    double sum = 0;
    while (j < sorted.size() && sorted[j].first == sorted[i].first) sum += sorted[j++].second;
    tm.points.emplace_back(sorted[i].first, sum / static_cast<double>(j - i));
    i = j;
  }
  return tm;
}

Words random_words(size_t n, uint64_t seed) {
  mpc::Prg prg(mpc::seed_from_u64(seed));
  return prg.words(n, 64);
}

/// Both parties of a 2PC session over the in-process channel, with a dealer and backends.
struct Parties {
  Parties(const mpc::RingConfig& r, const mpc::ProtocolOptions& o, int threads)
      : ring(r),
        po(o),
        ch(mpc::make_inproc_pair()),
        dealer(mpc::seed_from_u64(0xca11b), r),
        be0(threads),
        be1(threads),
        s0{0, r, *ch.first, be0, m0, o},
        s1{1, r, *ch.second, be1, m1, o} {}
  mpc::Session& session(int p) { return p == 0 ? s0 : s1; }

  mpc::RingConfig ring;
  mpc::ProtocolOptions po;
  std::pair<std::unique_ptr<mpc::Channel>, std::unique_ptr<mpc::Channel>> ch;
  mpc::MaterialStore m0{0}, m1{1};
  mpc::Dealer dealer;
  cpu::CpuBackend be0, be1;
  mpc::Session s0, s1;
};

class Calibrator {
 public:
  explicit Calibrator(const CalibrateOptions& o)
      : o_(o),
        repeats_(o.quick ? 3 : std::max(1, o.repeats)),
        board_(load_board("u250", o.data_dir)),
        kernels_(load_kernels(o.data_dir)),
        net_(load_network("lan", o.data_dir)) {
    cal_.backend = "cpu";
    cal_.threads = o.threads;
    cal_.machine = machine_name();
    std::time_t t = std::time(nullptr);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d", std::gmtime(&t));
    cal_.created = buf;
  }

  Calibration run() {
    measure_kernels();
    measure_protocols();
    return cal_;
  }

 private:
  void say(const std::string& s) const {
    if (o_.progress) o_.progress(s);
  }

  static std::string machine_name() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line))
      if (line.rfind("model name", 0) == 0) {
        auto p = line.find(':');
        if (p != std::string::npos) return line.substr(p + 2) + ", " + std::to_string(std::thread::hardware_concurrency()) + " threads";
      }
    return std::to_string(std::thread::hardware_concurrency()) + " hardware threads";
  }

  void points(const std::string& name, const std::vector<std::pair<double, double>>& pts) const {
    if (!o_.verbose) return;
    for (auto& [u, t] : pts) say("  " + name + ": units " + std::to_string(static_cast<uint64_t>(u)) + " -> " + std::to_string(t * 1e3) + " ms");
  }

  /// Median over repeats (after one warm-up) of both parties running f at once.
  double time_duo(const std::function<void(int)>& f) {
    duo_.run(f);
    std::vector<double> ts;
    for (int r = 0; r < repeats_; ++r) ts.push_back(duo_.run(f));
    return median(ts);
  }

  // ---- 1. kernels ------------------------------------------------------------------------
  void measure_kernels() {
    const std::vector<size_t> sizes = o_.quick ? std::vector<size_t>{1 << 10, 1 << 13, 1 << 16}
                                               : std::vector<size_t>{1 << 10, 1 << 12, 1 << 14, 1 << 16, 1 << 18, 1 << 20};
    const size_t nmax = sizes.back();
    const Words d = random_words(nmax, 1), e = random_words(nmax, 2), a = random_words(nmax, 3), b = random_words(nmax, 4),
                c = random_words(nmax, 5);
    cpu::CpuBackend be0(o_.threads), be1(o_.threads);
    auto be = [&](int p) -> cpu::CpuBackend& { return p == 0 ? be0 : be1; };
    Words z0(nmax), z1(nmax);
    auto z = [&](int p) { return p == 0 ? z0.data() : z1.data(); };

    auto elementwise = [&](const std::string& name, const std::function<void(int, size_t)>& call) {
      std::vector<std::pair<double, double>> pts;
      for (size_t n : sizes) pts.emplace_back(static_cast<double>(n), time_duo([&](int p) { call(p, n); }));
      cal_.kernels[name] = fit(pts, "element");
      points(name, pts);
      say("kernel " + name);
    };
    elementwise("beaver_mul_combine", [&](int p, size_t n) {
      be(p).beaver_mul_combine(p, 64, n, d.data(), e.data(), a.data(), b.data(), c.data(), z(p));
    });
    elementwise("trunc_exact_combine", [&](int p, size_t n) {
      be(p).trunc_exact_combine(p, 64, 12, n, d.data(), a.data(), b.data(), z(p));
    });
    elementwise("trunc_prob_combine", [&](int p, size_t n) {
      be(p).trunc_prob_combine(p, 64, 12, 36, n, d.data(), a.data(), z(p));
    });
    elementwise("b2a_combine", [&](int p, size_t n) { be(p).b2a_combine(p, 64, n, d.data(), a.data(), z(p)); });
    {
      // poly_eval: the one-opening gate (PolyMode::Quadratic, the Exact/Fss path); the Prob
      // path's two linear Horner steps read fewer words and are modelled with the same fit.
      std::vector<std::pair<double, double>> pts;
      const size_t ch = 16;
      const Words coef = random_words(ch, 6);
      for (size_t n : sizes) {
        mpc::PolyShape s{1, ch, n / ch};
        mpc::PolyEvalArgs g;
        g.d = d.data();
        g.alpha = a.data();
        g.a2 = b.data();
        g.m2a = c.data();
        g.m2a2 = e.data();
        g.m1a = d.data();
        g.e1 = g.m1 = g.e2 = g.m2 = g.add = coef.data();
        pts.emplace_back(static_cast<double>(s.size()),
                         time_duo([&](int p) { be(p).poly_eval(p, 64, s, mpc::PolyMode::Quadratic, g, z(p)); }));
      }
      cal_.kernels["poly_eval"] = fit(pts, "element");
      points("poly_eval", pts);
      say("kernel poly_eval");
    }
    {
      std::vector<std::pair<double, double>> pts;
      Words planes0(64 * (nmax / 64 + 1)), planes1(planes0.size());
      for (size_t n : sizes)
        pts.emplace_back(static_cast<double>(n), time_duo([&](int p) {
                           be(p).bit_slice(64, n, d.data(), p == 0 ? planes0.data() : planes1.data());
                         }));
      cal_.kernels["bit_slice"] = fit(pts, "element");
      points("bit_slice", pts);
      say("kernel bit_slice");
    }
    {
      std::vector<std::pair<double, double>> pts;
      for (size_t w : sizes)
        pts.emplace_back(static_cast<double>(w), time_duo([&](int p) {
                           be(p).gmw_and_level(p, w, d.data(), e.data(), a.data(), b.data(), c.data(), z(p));
                         }));
      cal_.kernels["gmw_and_level"] = fit(pts, "word");
      points("gmw_and_level", pts);
      say("kernel gmw_and_level");
    }
    {
      // dcf_eval: keys of the full-ring depth l - 1 = 63; units = AES blocks (keys x depth).
      const int depth = 63;
      const size_t kw = mpc::dcf_key_words(depth);
      const size_t kmax = o_.quick ? (1u << 14) : (1u << 18);
      mpc::Prg prg(mpc::seed_from_u64(30));
      const Words alpha = prg.words(kmax, depth);
      Words k0(kmax * kw), k1(kmax * kw), out0(kmax / 64 + 1), out1(kmax / 64 + 1);
      mpc::dcf_gen(prg, depth, kmax, alpha.data(), k0.data(), k1.data());
      std::vector<std::pair<double, double>> pts;
      for (size_t n : sizes) {
        if (n > kmax) continue;
        pts.emplace_back(static_cast<double>(n * depth), time_duo([&](int p) {
                           be(p).dcf_eval(p, depth, n, p == 0 ? k0.data() : k1.data(), d.data(),
                                          p == 0 ? out0.data() : out1.data());
                         }));
      }
      cal_.kernels["dcf_eval"] = fit(pts, "AES block");
      points("dcf_eval", pts);
      say("kernel dcf_eval");
    }
    {
      struct Shape {
        size_t m, k, n;
      };
      const std::vector<Shape> shapes = o_.quick ? std::vector<Shape>{{8, 27, 1024}, {16, 144, 512}, {32, 256, 128}}
                                                 : std::vector<Shape>{{16, 27, 4096},  {32, 288, 1024}, {64, 576, 1024},
                                                                      {128, 512, 128}, {16, 400, 6400}, {16, 25, 57600},
                                                                      {32, 400, 6400}, {10, 128, 100}};
      std::vector<std::pair<double, double>> pts;
      for (const Shape& s : shapes) {
        const Words E = random_words(s.m * s.k, 6), A = random_words(s.m * s.k, 7), F = random_words(s.k * s.n, 8),
                    B = random_words(s.k * s.n, 9), C = random_words(s.m * s.n, 10);
        Words Z0(s.m * s.n), Z1(s.m * s.n);
        pts.emplace_back(static_cast<double>(s.m * s.k * s.n), time_duo([&](int p) {
                           be(p).matmul_combine(p, 64, s.m, s.k, s.n, E.data(), F.data(), A.data(), B.data(), C.data(),
                                                p == 0 ? Z0.data() : Z1.data());
                         }));
      }
      cal_.kernels["matmul_combine"] = fit(pts, "mac");
      points("matmul_combine", pts);
      say("kernel matmul_combine");
    }
  }

  // ---- 2. protocols ------------------------------------------------------------------------
  Model model(mpc::TruncMode trunc, mpc::CompareMode compare = mpc::CompareMode::Gmw) const {
    Options opt;
    opt.protocol.trunc = trunc;
    opt.protocol.compare = compare;
    return Model(board_, kernels_, net_, opt, cal_);
  }

  /// Runs `call` (both parties) `1 + repeats` times; returns the median seconds.
  ///
  /// The material is dealt one run AHEAD: while run r executes, the material of run r + 1
  /// is already queued in the store above it, as in `polympc infer`, where the dealer
  /// prepares the whole batch (every layer) before the online phase. Dealing just before
  /// each run instead leaves the consumed material and the run's own buffers at the top of
  /// the heap, so malloc hands them back to the kernel after every run and the next run
  /// pays first-touch page faults on every buffer (cold memory): on a quiet 2-core machine
  /// that made large protocols ~2x slower than inside an inference and the model
  /// over-predicted by ~30 %.
  double time_protocol(Parties& P, const std::function<void()>& deal, const std::function<Words(mpc::Session&)>& call,
                       bool big = false) {
    std::vector<double> ts;
    auto on_error = [&](int p) {
      if (p == 0)
        P.ch.first.reset();
      else
        P.ch.second.reset();
    };
    const int reps = big ? std::min(repeats_, 3) : repeats_;
    Words keep[2];
    auto job = [&](int p) {
      Words out = call(P.session(p));
      keep[p].swap(out);  // frees the previous run's output, keeps this one
    };
    deal();
    for (int r = 0; r <= reps; ++r) {
      deal();  // the next run's material
      const double t = duo_.run(job, on_error);
      if (r > 0) ts.push_back(t);
    }
    duo_.run(job, on_error);  // consumes the set dealt ahead
    return median(ts);
  }

  /// Fits the host overhead of `protocol` from measured (call, seconds) points.
  void fit_protocol(const std::string& protocol, mpc::TruncMode trunc,
                    const std::vector<std::pair<ProtocolCall, double>>& runs,
                    mpc::CompareMode compare = mpc::CompareMode::Gmw) {
    const Model m = model(trunc, compare);
    std::vector<std::pair<double, double>> pts;
    for (auto& [call, t] : runs) {
      const LayerCost lc = m.protocol_cost(call);
      uint64_t units = 0;
      for (auto& h : lc.host)
        if (h.protocol == protocol) units = h.units;
      const double residual = t - lc.cpu_kernel_s - lc.cpu_host_s;
      pts.emplace_back(static_cast<double>(units), std::max(residual, 1e-7));
      if (o_.verbose)
        say("  " + protocol + ": units " + std::to_string(units) + " measured " + std::to_string(t * 1e3) + " ms, kernels " +
            std::to_string(lc.cpu_kernel_s * 1e3) + " ms, known host " + std::to_string(lc.cpu_host_s * 1e3) + " ms");
    }
    cal_.protocols[protocol] = fit(pts, protocol == "matmul" ? "host word" : "element");
    say("protocol " + protocol);
  }

  void measure_protocols() {
    const mpc::RingConfig ring{64, 12};
    mpc::ProtocolOptions exact, prob;
    prob.trunc = mpc::TruncMode::Prob;
    prob.trunc_bound_bits = std::min(ring.bits - 2, 2 * ring.frac + 12);
    const std::vector<size_t> sizes = o_.quick ? std::vector<size_t>{1 << 10, 1 << 13, 1 << 15}
                                               : std::vector<size_t>{1 << 10, 1 << 12, 1 << 14, 1 << 16, 1 << 18, 1 << 20};

    {  // open
      Parties P(ring, exact, o_.threads);
      std::vector<std::pair<ProtocolCall, double>> runs;
      for (size_t n : sizes) {
        const Words x = random_words(n, 20);
        ProtocolCall c;
        c.protocol = "open";
        c.n = n;
        runs.emplace_back(c, time_protocol(P, [] {}, [&](mpc::Session& s) { return mpc::open_arith(s, x); }));
      }
      fit_protocol("open", mpc::TruncMode::Exact, runs);
    }
    for (mpc::TruncMode mode : {mpc::TruncMode::Exact, mpc::TruncMode::Prob, mpc::TruncMode::Fss, mpc::TruncMode::Slack}) {
      mpc::ProtocolOptions po = mode == mpc::TruncMode::Prob ? prob : exact;
      po.trunc = mode;
      Parties P(ring, po, o_.threads);
      std::vector<std::pair<ProtocolCall, double>> runs;
      for (size_t n : sizes) {
        const Words x = random_words(n, 21);
        ProtocolCall c;
        c.protocol = "trunc";
        c.n = n;
        c.shift = ring.frac;
        runs.emplace_back(c, time_protocol(
                                 P, [&] { mpc::deal_trunc(P.dealer, n, ring.frac, po, "t", P.m0, P.m1); },
                                 [&](mpc::Session& s) { return mpc::trunc(s, x, ring.frac, "t"); }, n >= (1u << 19)));
      }
      fit_protocol(std::string("trunc_") + mpc::trunc_mode_name(mode), mode, runs);
    }
    {  // GMW ReLU
      Parties P(ring, exact, o_.threads);
      std::vector<std::pair<ProtocolCall, double>> runs;
      for (size_t n : sizes) {
        const Words x = random_words(n, 22);
        ProtocolCall c;
        c.protocol = "relu";
        c.n = n;
        runs.emplace_back(c, time_protocol(
                                 P, [&] { mpc::deal_relu(P.dealer, n, "r", P.m0, P.m1); },
                                 [&](mpc::Session& s) { return mpc::relu(s, x, "r"); }, n >= (1u << 19)));
      }
      fit_protocol("relu", mpc::TruncMode::Exact, runs);
    }
    {  // FSS ReLU (full ring: a DCF of depth l - 1)
      mpc::ProtocolOptions fss = exact;
      fss.compare = mpc::CompareMode::Fss;
      Parties P(ring, fss, o_.threads);
      std::vector<std::pair<ProtocolCall, double>> runs;
      for (size_t n : sizes) {
        if (n > (1u << 18)) continue;  // dealer keys are ~1 KB per element and party
        const Words x = random_words(n, 27);
        ProtocolCall c;
        c.protocol = "relu";
        c.n = n;
        runs.emplace_back(c, time_protocol(
                                 P, [&] { mpc::deal_relu(P.dealer, n, fss, "r", P.m0, P.m1); },
                                 [&](mpc::Session& s) { return mpc::relu(s, x, "r"); }, n >= (1u << 17)));
      }
      fit_protocol("relu_fss", mpc::TruncMode::Exact, runs, mpc::CompareMode::Fss);
    }
    {  // polynomial activation (exact truncation by f + fc, as `polympc infer` runs it)
      Parties P(ring, exact, o_.threads);
      const int fc = nn::resolve_coef_frac(ring, -1);
      const size_t ch = 16;
      mpc::PolyCoeffs c0;
      c0.coef_frac = fc;
      c0.a2 = Words(ch, ring.encode(0.005, fc));
      c0.a1 = Words(ch, ring.encode(1.0, ring.frac + fc));
      c0.a0 = Words(ch, 0);
      mpc::PolyCoeffs c1;
      c1.coef_frac = fc;
      mpc::deal_poly_setup(P.dealer, ch, "p", P.m0, P.m1);
      mpc::PolySetup e0, e1;
      duo_.run([&](int p) {
        if (p == 0)
          e0 = mpc::poly_setup(P.s0, c0, ch, "p");
        else
          e1 = mpc::poly_setup(P.s1, c1, ch, "p");
      });
      std::vector<std::pair<ProtocolCall, double>> runs;
      for (size_t n : sizes) {
        const mpc::PolyShape sh{1, ch, std::max<size_t>(1, n / ch)};
        const Words x = random_words(sh.size(), 23);
        ProtocolCall c;
        c.protocol = "poly";
        c.outer = sh.outer;
        c.channels = sh.channels;
        c.inner = sh.inner;
        runs.emplace_back(c, time_protocol(
                                 P,
                                 [&] {
                                   // The gate alone: its output's truncation is placed
                                   // elsewhere (nn/placement.h) and calibrated as "trunc".
                                   mpc::deal_poly(P.dealer, sh, fc, exact, "p", P.m0, P.m1);
                                 },
                                 [&](mpc::Session& s) {
                                   return mpc::poly(s, x, sh, s.party == 0 ? c0 : c1, s.party == 0 ? e0 : e1, "p");
                                 },
                                 n >= (1u << 19)));
      }
      fit_protocol("poly", mpc::TruncMode::Exact, runs);
    }
    {  // matmul (conv 3x3 pad 1 through nn::im2col, then to NCHW as the layer walk does)
      struct Conv {
        int64_t cin, hw, cout, k;
        size_t batch;
      };
      const std::vector<Conv> convs = o_.quick ? std::vector<Conv>{{1, 16, 4, 3, 2}, {8, 8, 16, 3, 4}, {32, 1, 64, 1, 32}}
                                               : std::vector<Conv>{{128, 1, 10, 1, 100}, {512, 1, 128, 1, 100},
                                                                   {3, 32, 16, 3, 4},    {1, 28, 16, 5, 16},
                                                                   {16, 12, 32, 5, 16},  {64, 8, 64, 3, 8},
                                                                   {16, 12, 32, 5, 100}, {1, 28, 16, 5, 100}};
      std::vector<std::pair<ProtocolCall, double>> runs;
      for (const Conv& cv : convs) {
        Parties P(ring, exact, o_.threads);
        nn::Layer L;
        L.name = "m";
        L.op = nn::OpKind::Conv;
        L.kernel_h = L.kernel_w = static_cast<int>(cv.k);
        const int pad = cv.k == 3 ? 1 : 0;
        L.pad_top = L.pad_left = L.pad_bottom = L.pad_right = pad;
        const int64_t ho = cv.hw + 2 * pad - cv.k + 1;
        L.out_shape = {cv.cout, ho, ho};
        const std::vector<int64_t> in_shape = {cv.cin, cv.hw, cv.hw};
        const size_t m = static_cast<size_t>(cv.cout), k = static_cast<size_t>(cv.cin * cv.k * cv.k);
        const size_t spatial = static_cast<size_t>(ho * ho), cols = cv.batch * spatial;
        const size_t in_size = cv.batch * static_cast<size_t>(cv.cin * cv.hw * cv.hw);
        const size_t batch = cv.batch;
        mpc::Lowering lower = [&L, &in_shape, batch](const Words& v) { return nn::im2col(L, in_shape, batch, v); };
        mpc::deal_matmul_setup(P.dealer, m, k, "m", P.m0, P.m1);
        const Words w = random_words(m * k, 24), bias = random_words(m, 25);
        Words e0, e1;
        duo_.run([&](int p) {
          if (p == 0)
            e0 = mpc::matmul_setup(P.s0, w, m, k, "m");
          else
            e1 = mpc::matmul_setup(P.s1, Words(), m, k, "m");
        });
        const Words x = random_words(in_size, 26);
        ProtocolCall c;
        c.protocol = "matmul";
        c.in_size = in_size;
        c.m = m;
        c.k = k;
        c.cols = cols;
        runs.emplace_back(c, time_protocol(
                                 P, [&] { mpc::deal_matmul(P.dealer, m, k, cols, in_size, lower, "m", P.m0, P.m1); },
                                 [&](mpc::Session& s) {
                                   Words zz = mpc::matmul(s, x, s.party == 0 ? e0 : e1, m, k, cols, lower, "m");
                                   if (s.party == 0)
                                     for (size_t i = 0; i < m; ++i)
                                       for (size_t j = 0; j < cols; ++j) zz[i * cols + j] += bias[i];
                                   return nn::to_nchw(zz, m, batch, spatial);
                                 }));
      }
      fit_protocol("matmul", mpc::TruncMode::Exact, runs);
    }
  }

  CalibrateOptions o_;
  int repeats_;
  Board board_;
  std::map<std::string, KernelSpec> kernels_;
  NetworkPreset net_;
  Calibration cal_;
  Duo duo_;
};

}  // namespace

Calibration calibrate_cpu(const CalibrateOptions& options) {
  try {
    Calibrator c(options);
    return c.run();
  } catch (const PerfModelError&) {
    throw;
  } catch (const std::exception& e) {
    throw PerfModelError(std::string("calibration failed: ") + e.what());
  }
}

}  // namespace polympc::perfmodel
