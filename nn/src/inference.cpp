#include "polympc/nn/inference.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <thread>

#include "polympc/mpc/dealer.h"
#include "polympc/nn/plain.h"
#include "polympc/nn/secure.h"

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

  auto channels = mpc::make_inproc_pair();  // (not a structured binding: the lambdas below capture them)
  std::unique_ptr<mpc::Channel>& ch0 = channels.first;
  std::unique_ptr<mpc::Channel>& ch1 = channels.second;
  mpc::Dealer dealer = opt.insecure_test_seed ? mpc::Dealer(mpc::seed_from_u64(*opt.insecure_test_seed), q.ring)
                                              : mpc::Dealer(q.ring);
  mpc::Prg client_prg(opt.insecure_test_seed ? mpc::seed_from_u64(*opt.insecure_test_seed ^ 0x9e3779b97f4a7c15ULL)
                                             : mpc::random_seed());
  mpc::MaterialStore m0(0), m1(1);
  const double t_setup = now();
  deal_model(dealer, net, m0, m1);
  double offline = now() - t_setup;
  uint64_t material_words = 0, truncated = 0;

  SecureParty p0(net, &q, q.coef_frac);
  SecureParty p1(net, nullptr, q.coef_frac);
  mpc::Session s0{0, q.ring, *ch0, be0, m0, opt.protocol};
  mpc::Session s1{1, q.ring, *ch1, be1, m1, opt.protocol};

  // Runs f0 at P0 and f1 at P1 on two threads; if one throws, its channel end is closed
  // so the other stops with a ChannelError; the first error is rethrown.
  auto run_both = [&](const std::function<void()>& f0, const std::function<void()>& f1) {
    std::exception_ptr e0, e1;
    std::thread t0([&] {
      try {
        f0();
      } catch (...) {
        e0 = std::current_exception();
        ch0.reset();  // P1 now fails with "peer closed" instead of waiting forever
      }
    });
    try {
      f1();
    } catch (...) {
      e1 = std::current_exception();
      ch1.reset();
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
  run_both([&] { p0.setup(s0); }, [&] { p1.setup(s1); });
  for (auto& kv : ch0->stats()) rep.setup_bytes += kv.second.bytes_sent;
  for (auto& kv : ch1->stats()) rep.setup_bytes += kv.second.bytes_sent;
  rep.setup_rounds = ch1->stats().count("setup") ? ch1->stats().at("setup").rounds : 0;
  ch0->reset_stats();
  ch1->reset_stats();

  std::vector<uint64_t> logits2pc(labels_only ? 0 : count * classes), logitsfx(count * classes);
  std::vector<int> labels2pc(labels_only ? count : 0);
  std::vector<float> logitsfl(count * classes);
  size_t batches = 0;
  double online = 0;
  for (size_t start = 0; start < count; start += batch, ++batches) {
    const size_t nb = std::min(batch, count - start);
    const float* img = data.image(static_cast<int64_t>(start));
    mpc::Words x = encode_input(q.ring, img, nb * in_size);
    // Plaintext twins.
    mpc::Words fx = fixed_forward(q, x, nb, opt.protocol);
    std::copy(fx.begin(), fx.end(), logitsfx.begin() + static_cast<long>(start * classes));
    std::vector<float> fl = float_forward(net, img, nb);
    std::copy(fl.begin(), fl.end(), logitsfl.begin() + static_cast<long>(start * classes));
    // Offline: the dealer prepares this batch's material.
    const double t0 = now();
    const uint64_t before = m0.remaining_words() + m1.remaining_words();
    deal_inference(dealer, net, nb, opt.protocol, q.coef_frac, m0, m1, opt.reveal);
    offline += now() - t0;
    material_words += m0.remaining_words() + m1.remaining_words() - before;
    for (const mpc::MaterialItem& it : m0.items())  // one pair [r | r >> s] per truncated element
      if (it.kind == mpc::MaterialKind::TruncPair) truncated += it.words.size() / 2;
    // Online.
    mpc::Words out1;
    const double t1 = now();
    run_both([&] { p0.run_batch(s0, {}, nb, client_prg, opt.reveal); },
             [&] { out1 = p1.run_batch(s1, x, nb, client_prg, opt.reveal); });
    online += now() - t1;
    if (labels_only) {
      for (size_t n = 0; n < nb; ++n) labels2pc[start + n] = static_cast<int>(out1[n]);
    } else {
      std::copy(out1.begin(), out1.end(), logits2pc.begin() + static_cast<long>(start * classes));
    }
    if (opt.progress) opt.progress(start + nb, count);
  }
  if (m0.remaining() || m1.remaining())
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
    const mpc::PhaseStats a = get(*ch0), b = get(*ch1);
    lr.rounds = static_cast<uint64_t>(std::llround(static_cast<double>(std::max(a.rounds, b.rounds)) / B));
    lr.bytes_p0 = static_cast<double>(a.bytes_sent) / N;
    lr.bytes_p1 = static_cast<double>(b.bytes_sent) / N;
    lr.seconds = std::max(a.seconds, b.seconds) / N;
    rep.online_bytes += lr.bytes_p0 + lr.bytes_p1;
    rep.rounds += lr.rounds;
    rep.layers.push_back(lr);
  }
  for (auto& kv : be1.counters()) rep.kernels.emplace_back(kv.first, kv.second);
  return rep;
}

}  // namespace polympc::nn
