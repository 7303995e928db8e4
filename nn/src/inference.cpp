#include "polympc/nn/inference.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <cstdio>
#include <map>
#include <memory>
#include <thread>

#include "polympc/mpc/dealer.h"
#include "polympc/nn/plain.h"
#include "polympc/nn/secure.h"
#include "concurrent.h"

namespace polympc::nn {

namespace {
double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

InferenceReport run_inproc(const QuantizedModel& q, const Dataset& data, size_t count, mpc::Backend& be0,
                           mpc::Backend& be1, const InferenceOptions& opt) {
  if (count == 0) throw mpc::InvalidArgument("no images to run (--images must be >= 1)");
  const Network& net = q.net;
  const size_t in_size = static_cast<size_t>(net.input_size());
  check_images(data, 0, count, net.input_size());
  const size_t classes = static_cast<size_t>(net.out_size(net.layers.size() - 1));
  const size_t batch = std::max<size_t>(1, std::min(opt.batch, count));

  InferenceReport rep;
  rep.images = count;
  rep.batch = batch;
  rep.backend = be1.name();
  rep.compare = mpc::compare_mode_name(opt.protocol.compare);
  rep.compare_bits = mpc::compare_bits_summary(opt.protocol);
  rep.trunc = mpc::trunc_mode_name(opt.protocol.trunc);
  rep.reveal = opt.reveal;
  const bool labels_only = opt.reveal == Reveal::Label;
  rep.logits_compared = !labels_only;

  const size_t W = std::max<size_t>(1, opt.workers);
  rep.workers = W;
  std::shared_ptr<mpc::EmulatedLink> p0_to_p1, p1_to_p0;
  if (opt.link) {
    p0_to_p1 = std::make_shared<mpc::EmulatedLink>(*opt.link);
    p1_to_p0 = std::make_shared<mpc::EmulatedLink>(*opt.link);
    char buf[96];
    std::snprintf(buf, sizeof buf, "%s (%.0f MB/s, %.3g ms RTT)", opt.link->name.c_str(), opt.link->bytes_per_s / 1e6,
                  opt.link->rtt_s * 1e3);
    rep.link = buf;
  }

  // One pair of parties per worker: channels, backends, material, per-model setup.
  // Each has its own dealer: a dealer keeps the per-model masks it dealt for the
  // inference material that follows. Under a Tiling a worker has several lanes, each with
  // its own channels, backends, material and sessions; lane 0 also runs the per-model
  // setup, the input sharing and the reveal.
  const bool tiled = opt.tiling.active();
  const size_t lanes = tiled ? opt.tiling.lanes_at(batch) : 1;
  if (W * lanes > 1 && !opt.make_backend)
    throw mpc::InvalidArgument("workers > 1 or tiling lanes > 1 need a backend factory (InferenceOptions::make_backend)");
  rep.lanes = lanes;
  if (tiled)
    for (size_t i = 0; i < net.layers.size() && i < opt.tiling.tiles.size(); ++i)
      if (std::min(opt.tiling.tiles[i], batch) > 1) rep.tiles[net.layers[i].name] = std::min(opt.tiling.tiles[i], batch);
  struct Lane {
    std::unique_ptr<mpc::Channel> ch0, ch1;
    std::unique_ptr<mpc::Backend> own0, own1;
    std::unique_ptr<mpc::Backend> traced0, traced1;  // opt.trace: spans around be0, be1
    mpc::Backend* be0 = nullptr;
    mpc::Backend* be1 = nullptr;
    mpc::MaterialStore m0{0}, m1{1};
    std::unique_ptr<mpc::Session> s0, s1;
  };
  struct Worker {
    std::unique_ptr<mpc::Dealer> dealer;
    std::vector<std::unique_ptr<Lane>> lanes;
    std::unique_ptr<SecureParty> p0, p1;
    std::unique_ptr<mpc::Prg> client_prg;
    // The batch this worker runs next.
    size_t start = 0, nb = 0;
    mpc::Words x, out1;
    Lane& first() { return *lanes[0]; }
    std::vector<mpc::Session*> sessions(int party) const {
      std::vector<mpc::Session*> out;
      for (const auto& l : lanes) out.push_back(party == 0 ? l->s0.get() : l->s1.get());
      return out;
    }
    std::vector<LaneMaterial> material() const {
      std::vector<LaneMaterial> out;
      for (const auto& l : lanes) out.push_back({&l->m0, &l->m1});
      return out;
    }
  };
  // Runs f0 at P0 and f1 at P1 of worker w on two threads; if one throws, its channel end
  // is closed so the other stops with a ChannelError; the first error is rethrown.
  auto run_both = [](Worker& w, const std::function<void()>& f0, const std::function<void()>& f1) {
    std::exception_ptr e0, e1;
    std::thread t0([&] {
      try {
        f0();
      } catch (...) {
        e0 = std::current_exception();
        for (auto& l : w.lanes) l->ch0.reset();  // P1 now fails with "peer closed" instead of waiting forever
      }
    });
    try {
      f1();
    } catch (...) {
      e1 = std::current_exception();
      for (auto& l : w.lanes) l->ch1.reset();
    }
    t0.join();
    if (e0 && e1) {
      // Report the root cause, not the other party's "peer closed".
      try {
        std::rethrow_exception(e0);
      } catch (const mpc::ChannelError&) {
        std::rethrow_exception(e1);
      }
    }
    if (e0) std::rethrow_exception(e0);
    if (e1) std::rethrow_exception(e1);
  };
  // Runs fn(worker) for the first n workers at the same time (detail::run_concurrently).
  std::vector<std::unique_ptr<Worker>> workers;
  auto on_workers = [&](size_t n, const std::function<void(Worker&)>& fn) {
    detail::run_concurrently(n, [&](size_t i) { fn(*workers[i]); });
  };

  double offline = 0;
  for (size_t i = 0; i < W; ++i) {
    auto w = std::make_unique<Worker>();
    for (size_t l = 0; l < lanes; ++l) {
      auto lane = std::make_unique<Lane>();
      auto pair = mpc::make_inproc_pair();
      if (opt.link) pair = mpc::emulate_link(std::move(pair), p0_to_p1, p1_to_p0);
      lane->ch0 = std::move(pair.first);
      lane->ch1 = std::move(pair.second);
      if (i == 0 && l == 0) {
        lane->be0 = &be0;
        lane->be1 = &be1;
      } else {
        lane->own0 = opt.make_backend(0);
        lane->own1 = opt.make_backend(1);
        lane->be0 = lane->own0.get();
        lane->be1 = lane->own1.get();
      }
      if (opt.trace) {  // one trace lane per worker lane
        const int id = static_cast<int>(i * lanes + l);
        lane->ch0->set_recorder(opt.trace, 0, id);
        lane->ch1->set_recorder(opt.trace, 1, id);
        lane->traced0 = mpc::trace_backend(*lane->be0, *opt.trace, *lane->ch0, 0, id);
        lane->traced1 = mpc::trace_backend(*lane->be1, *opt.trace, *lane->ch1, 1, id);
        lane->be0 = lane->traced0.get();
        lane->be1 = lane->traced1.get();
      }
      lane->s0.reset(new mpc::Session{0, q.ring, *lane->ch0, *lane->be0, lane->m0, opt.protocol});
      lane->s1.reset(new mpc::Session{1, q.ring, *lane->ch1, *lane->be1, lane->m1, opt.protocol});
      w->lanes.push_back(std::move(lane));
    }
    w->dealer = std::make_unique<mpc::Dealer>(
        opt.insecure_test_seed ? mpc::Dealer(mpc::seed_from_u64(*opt.insecure_test_seed + i), q.ring) : mpc::Dealer(q.ring));
    w->client_prg = std::make_unique<mpc::Prg>(
        opt.insecure_test_seed ? mpc::seed_from_u64(*opt.insecure_test_seed ^ (0x9e3779b97f4a7c15ULL + i)) : mpc::random_seed());
    const double t_setup = now();
    deal_model(*w->dealer, net, w->first().m0, w->first().m1);
    for (size_t l = 1; l < lanes; ++l) {  // every lane of a party holds that party's per-model masks
      for (const auto& kv : w->first().m0.fixed_masks()) w->lanes[l]->m0.set_fixed(kv.first, kv.second);
      for (const auto& kv : w->first().m1.fixed_masks()) w->lanes[l]->m1.set_fixed(kv.first, kv.second);
    }
    offline += now() - t_setup;
    w->p0 = std::make_unique<SecureParty>(net, &q, q.coef_frac);
    w->p1 = std::make_unique<SecureParty>(net, nullptr, q.coef_frac);
    workers.push_back(std::move(w));
  }
  on_workers(W, [&](Worker& w) {
    run_both(w, [&] { w.p0->setup(*w.first().s0); }, [&] { w.p1->setup(*w.first().s1); });
  });
  {
    const Lane& l = workers[0]->first();  // the per-model setup of one pair of parties
    for (auto& kv : l.ch0->stats()) rep.setup_bytes += kv.second.bytes_sent;
    for (auto& kv : l.ch1->stats()) rep.setup_bytes += kv.second.bytes_sent;
    rep.setup_rounds = l.ch1->stats().count("setup") ? l.ch1->stats().at("setup").rounds : 0;
  }
  for (auto& w : workers)
    for (auto& l : w->lanes) {
      l->ch0->reset_stats();
      l->ch1->reset_stats();
    }
  uint64_t material_words = 0, truncated = 0;

  std::vector<uint64_t> logits2pc(labels_only ? 0 : count * classes), logitsfx(count * classes);
  std::vector<int> labels2pc(labels_only ? count : 0);
  std::vector<float> logitsfl(count * classes);
  size_t batches = 0;
  double online = 0;
  for (size_t group = 0; group < count; group += W * batch) {
    // The dealer prepares up to W batches, one per worker; then their online phases run
    // at the same time.
    size_t active = 0;
    for (size_t start = group; start < count && active < W; start += batch, ++active, ++batches) {
      Worker& w = *workers[active];
      w.start = start;
      w.nb = std::min(batch, count - start);
      const float* img = data.image(static_cast<int64_t>(start));
      w.x = encode_input(q.ring, img, w.nb * in_size);
      // Plaintext twins.
      mpc::Words fx = fixed_forward(q, w.x, w.nb, opt.protocol);
      std::copy(fx.begin(), fx.end(), logitsfx.begin() + static_cast<long>(start * classes));
      std::vector<float> fl = float_forward(net, img, w.nb);
      std::copy(fl.begin(), fl.end(), logitsfl.begin() + static_cast<long>(start * classes));
      // Offline: the dealer prepares this batch's material.
      const double t0 = now();
      auto words = [&w] {
        uint64_t n = 0;
        for (const auto& l : w.lanes) n += l->m0.remaining_words() + l->m1.remaining_words();
        return n;
      };
      const uint64_t before = words();
      if (tiled)
        deal_inference_tiled(*w.dealer, net, w.nb, opt.protocol, q.coef_frac, w.material(), opt.tiling, opt.reveal);
      else
        deal_inference(*w.dealer, net, w.nb, opt.protocol, q.coef_frac, w.first().m0, w.first().m1, opt.reveal);
      offline += now() - t0;
      material_words += words() - before;
      for (const auto& l : w.lanes)
        for (const mpc::MaterialItem& it : l->m0.items())  // one pair [r | r >> s] per truncated element
          if (it.kind == mpc::MaterialKind::TruncPair) truncated += it.words.size() / 2;
    }
    // Online.
    const double t1 = now();
    on_workers(active, [&](Worker& w) {
      if (tiled) {
        run_both(w, [&] { w.p0->run_batch_tiled(w.sessions(0), {}, w.nb, *w.client_prg, opt.reveal, opt.tiling); },
                 [&] { w.out1 = w.p1->run_batch_tiled(w.sessions(1), w.x, w.nb, *w.client_prg, opt.reveal, opt.tiling); });
        return;
      }
      run_both(w, [&] { w.p0->run_batch(*w.first().s0, {}, w.nb, *w.client_prg, opt.reveal); },
               [&] { w.out1 = w.p1->run_batch(*w.first().s1, w.x, w.nb, *w.client_prg, opt.reveal); });
    });
    online += now() - t1;
    for (size_t i = 0; i < active; ++i) {
      const Worker& w = *workers[i];
      if (labels_only) {
        for (size_t n = 0; n < w.nb; ++n) labels2pc[w.start + n] = static_cast<int>(w.out1[n]);
      } else {
        std::copy(w.out1.begin(), w.out1.end(), logits2pc.begin() + static_cast<long>(w.start * classes));
      }
      if (opt.progress) opt.progress(w.start + w.nb, count);
    }
  }
  for (const auto& w : workers)
    for (const auto& l : w->lanes)
      if (l->m0.remaining() || l->m1.remaining())
        throw mpc::MaterialError("preprocessing material left over after the run: dealer and online phase out of step");

  // Accuracy and agreement; logit errors only where P1 received logits.
  std::vector<double> dfx(count * classes), dfl(logitsfl.begin(), logitsfl.end());
  for (size_t j = 0; j < dfx.size(); ++j) dfx[j] = q.ring.decode(logitsfx[j]);
  std::vector<int> a2 = labels2pc;
  if (!labels_only) {
    std::vector<double> d2(count * classes);
    for (size_t j = 0; j < d2.size(); ++j) {
      d2[j] = q.ring.decode(logits2pc[j]);
      rep.max_logit_error = std::max(rep.max_logit_error, std::fabs(d2[j] - dfx[j]));
    }
    a2 = argmax_rows(d2, count);
    for (size_t n = 0; n < count; ++n)
      rep.logits_equal += std::equal(logits2pc.begin() + static_cast<long>(n * classes),
                                     logits2pc.begin() + static_cast<long>((n + 1) * classes),
                                     logitsfx.begin() + static_cast<long>(n * classes));
    // Truncation error budget: +-1 ulp per truncated element (prob), none otherwise.
    const mpc::ProtocolOptions& po = opt.protocol;
    rep.failures_checked = po.compare_bits == mpc::CompareBits{} && po.layer_compare_bits.empty();
    rep.truncated_per_image = truncated / count;
    rep.logit_error_budget_ulps = po.trunc == mpc::TruncMode::Prob ? rep.truncated_per_image : 0;
    const uint64_t mask = q.ring.mask(), sign = uint64_t{1} << (q.ring.bits - 1);
    for (size_t n = 0; rep.failures_checked && n < count; ++n)
      for (size_t c = 0; c < classes; ++c) {
        const uint64_t d = (logits2pc[n * classes + c] - logitsfx[n * classes + c]) & mask;
        const uint64_t ulps = (d & sign) ? (~d + 1) & mask : d;
        if (ulps > rep.logit_error_budget_ulps) {
          rep.failed_images.push_back(n);
          break;
        }
      }
  }
  auto afx = argmax_rows(dfx, count), afl = argmax_rows(dfl, count);
  size_t c2 = 0, cfx = 0, cfl = 0, agree = 0;
  for (size_t n = 0; n < count; ++n) {
    const int label = data.labels[n];
    c2 += a2[n] == label;
    cfx += afx[n] == label;
    cfl += afl[n] == label;
    agree += a2[n] == afx[n];
  }
  const double N = static_cast<double>(count);
  rep.accuracy = c2 / N;
  rep.plaintext_accuracy = cfx / N;
  rep.float_accuracy = cfl / N;
  rep.agreement = agree / N;
  rep.seconds = online;
  rep.seconds_per_image = online / N;
  rep.offline_seconds = offline;
  rep.offline_bytes = static_cast<double>(material_words) * 8.0 / N;
  rep.logits_raw = std::move(logits2pc);
  rep.predictions = std::move(a2);

  // Per-layer communication (phases are layer names, "input", "output").
  std::vector<std::pair<std::string, std::string>> phases;
  for (const Layer& L : net.layers) phases.emplace_back(L.name, op_name(L.op));
  phases.emplace_back("input", "Input");
  phases.emplace_back("output", "Output");
  const double B = static_cast<double>(batches);
  for (const auto& phase : phases) {
    const std::string& name = phase.first;
    const std::string& op = phase.second;
    LayerReport lr;
    lr.name = name;
    lr.op = op;
    auto get = [&](const mpc::Channel& ch) {
      auto it = ch.stats().find(name);
      return it == ch.stats().end() ? mpc::PhaseStats{} : it->second;
    };
    // Workers add up; the lanes of a worker run at the same time: bytes add up, rounds and
    // seconds are those of the slowest lane (the rounds on the critical path).
    mpc::PhaseStats a, b;
    for (const auto& w : workers) {
      mpc::PhaseStats wa, wb;
      for (const auto& l : w->lanes) {
        const mpc::PhaseStats la = get(*l->ch0), lb = get(*l->ch1);
        wa.bytes_sent += la.bytes_sent;
        wb.bytes_sent += lb.bytes_sent;
        wa.rounds = std::max(wa.rounds, la.rounds);
        wb.rounds = std::max(wb.rounds, lb.rounds);
        wa.seconds = std::max(wa.seconds, la.seconds);
        wb.seconds = std::max(wb.seconds, lb.seconds);
      }
      a += wa;
      b += wb;
    }
    lr.rounds = static_cast<uint64_t>(std::llround(static_cast<double>(std::max(a.rounds, b.rounds)) / B));
    lr.bytes_p0 = static_cast<double>(a.bytes_sent) / N;
    lr.bytes_p1 = static_cast<double>(b.bytes_sent) / N;
    lr.seconds = std::max(a.seconds, b.seconds) / N;
    rep.online_bytes += lr.bytes_p0 + lr.bytes_p1;
    rep.rounds += lr.rounds;
    rep.layers.push_back(lr);
  }
  std::map<std::string, mpc::KernelCounters> kernels;
  for (const auto& w : workers)
    for (const auto& l : w->lanes)
      for (auto& kv : l->be1->counters()) {
        mpc::KernelCounters& k = kernels[kv.first];
        k.calls += kv.second.calls;
        k.elements += kv.second.elements;
        k.modelled_cycles += kv.second.modelled_cycles;
      }
  for (auto& kv : kernels) rep.kernels.emplace_back(kv.first, kv.second);
  return rep;
}

PlaintextReport evaluate_plaintext(const QuantizedModel& q, const Dataset& data, size_t count, size_t batch,
                                   const mpc::ProtocolOptions& o) {
  if (count == 0) throw mpc::InvalidArgument("no images to run (--images must be >= 1)");
  const Network& net = q.net;
  const size_t in_size = static_cast<size_t>(net.input_size());
  check_images(data, 0, count, net.input_size());
  batch = std::max<size_t>(1, std::min(batch, count));
  const double t0 = now();
  size_t cfx = 0, cfl = 0;
  for (size_t start = 0; start < count; start += batch) {
    const size_t nb = std::min(batch, count - start);
    const float* img = data.image(static_cast<int64_t>(start));
    const mpc::Words fx = fixed_forward(q, encode_input(q.ring, img, nb * in_size), nb, o);
    const std::vector<float> fl = float_forward(net, img, nb);
    cfx += correct_top1(q.ring, fx, nb, data.labels.data() + start);
    const std::vector<int> afl = argmax_rows(std::vector<double>(fl.begin(), fl.end()), nb);
    for (size_t n = 0; n < nb; ++n) cfl += afl[n] == data.labels[start + n];
  }
  PlaintextReport r;
  r.images = count;
  r.fixed_accuracy = static_cast<double>(cfx) / static_cast<double>(count);
  r.float_accuracy = static_cast<double>(cfl) / static_cast<double>(count);
  r.seconds = now() - t0;
  return r;
}

}  // namespace polympc::nn
