#include "polympc/nn/party.h"

#include <chrono>
#include <sstream>

#include "polympc/mpc/dealer.h"
#include "polympc/nn/plain.h"
#include "polympc/nn/secure.h"

namespace polympc::nn {

std::vector<size_t> PartyPlan::batches() const {
  std::vector<size_t> b;
  const size_t bs = batch == 0 ? 1 : batch;
  for (size_t done = 0; done < images; done += bs) b.push_back(std::min(bs, images - done));
  return b;
}

std::string PartyPlan::descriptor(const mpc::RingConfig& ring) const {
  std::ostringstream o;
  o << "l=" << ring.bits << " f=" << ring.frac
    << " fc=" << resolve_coef_frac(ring, coef_frac)
    << " compare=" << mpc::compare_mode_name(protocol.compare)
    << " bits=" << mpc::compare_bits_summary(protocol);
  o << " trunc=" << mpc::trunc_mode_name(protocol.trunc);
  if (protocol.trunc == mpc::TruncMode::Prob) o << " bound=" << protocol.trunc_bound_bits;
  o << " reveal=" << reveal_name(reveal);
  return o.str();
}

std::string deal_to_files(const Network& arch_in, const std::string& model_hash,
                          const mpc::RingConfig& ring, const PartyPlan& plan,
                          const std::string& p0_path, const std::string& p1_path,
                          const mpc::Seed* insecure_test_seed) {
  Network arch = architecture_only(arch_in);
  arch.infer_shapes();
  if (plan.images == 0) throw mpc::InvalidArgument("the dealer needs --images >= 1");
  mpc::Dealer dealer =
      insecure_test_seed ? mpc::Dealer(*insecure_test_seed, ring) : mpc::Dealer(ring);
  // Run ID and MAC key from the dealer's PRG: random for a real run; a re-dealt test
  // seed gives the old run ID again, which the ledger refuses.
  mpc::RunId run_id;
  mpc::MacKey key;
  dealer.prg().bytes(run_id.data(), run_id.size());
  dealer.prg().bytes(key.data(), key.size());
  const std::vector<size_t> batches = plan.batches();
  const std::string desc = plan.descriptor(ring);
  mpc::MaterialWriter w0(p0_path, 0, run_id, key, model_hash, desc, batches.size());
  mpc::MaterialWriter w1(p1_path, 1, run_id, key, model_hash, desc, batches.size());
  const int fc = resolve_coef_frac(ring, plan.coef_frac);
  {
    mpc::MaterialStore m0(0), m1(1);
    deal_model(dealer, arch, m0, m1);
    w0.write_fixed(m0);
    w1.write_fixed(m1);
  }
  for (size_t nb : batches) {
    mpc::MaterialStore m0(0), m1(1);
    deal_inference(dealer, arch, nb, plan.protocol, fc, m0, m1, plan.reveal);
    w0.write_segment(m0, nb);
    w1.write_segment(m1, nb);
  }
  w0.finish();
  w1.finish();
  return mpc::to_hex(run_id);
}

Network architecture_only(const Network& net) {
  Network a = net;
  for (Layer& L : a.layers) {
    // Keep sizes (shape inference checks them) but not the values.
    std::fill(L.weight.begin(), L.weight.end(), 0.f);
    std::fill(L.bias.begin(), L.bias.end(), 0.f);
    std::fill(L.poly_a2.begin(), L.poly_a2.end(), 0.f);
    std::fill(L.poly_a1.begin(), L.poly_a1.end(), 0.f);
    std::fill(L.poly_a0.begin(), L.poly_a0.end(), 0.f);
  }
  return a;
}

PartyResult run_party(int party, const Network& arch, const std::string& model_hash,
                      const QuantizedModel* model, const Dataset* data, const mpc::RingConfig& ring,
                      const PartyPlan& plan, mpc::Channel& ch, mpc::Backend& be,
                      mpc::MaterialFile& material, mpc::Ledger& ledger,
                      const std::function<void(size_t, size_t)>& progress, size_t first_image) {
  if (party == 0 && (model == nullptr || data != nullptr))
    throw mpc::InvalidArgument("the server (P0) runs with the model and without data");
  if (party == 1 && (model != nullptr || data == nullptr))
    throw mpc::InvalidArgument("the client (P1) runs with the data and without the model");
  if (material.header().party != party)
    throw mpc::MaterialError("preprocessing file '" + material.path() + "' is for P" +
                             std::to_string(material.header().party) + " but this is P" +
                             std::to_string(party));
  if (plan.images == 0) throw mpc::InvalidArgument("no images to run (--images must be >= 1)");
  Network net = architecture_only(arch);
  net.infer_shapes();
  const size_t in_size = static_cast<size_t>(net.input_size());
  if (party == 1) check_images(*data, first_image, plan.images, net.input_size());
  const int fc = resolve_coef_frac(ring, plan.coef_frac);
  mpc::MaterialStore store(party);
  mpc::Session s{party, ring, ch, be, store, plan.protocol};
  PartyResult res;
  material.load_fixed(store);  // authenticated before the handshake commits the ledger
  {
    mpc::PhaseScope scope(ch, "handshake");
    const mpc::RunAgreement a = mpc::run_handshake(ch, party, material, ledger, model_hash,
                                                   plan.descriptor(ring), plan.images);
    res.first_segment = a.first_segment;
    res.segments = a.segments;
  }
  SecureParty p(net, model, fc);
  p.setup(s);
  // The client's input-sharing masks: OS CSPRNG.
  mpc::Prg prg(mpc::random_seed());
  const auto t0 = std::chrono::steady_clock::now();
  size_t done = 0;
  for (uint64_t seg = res.first_segment; seg < res.first_segment + res.segments; ++seg) {
    const size_t nb = static_cast<size_t>(material.header().segment_images[seg]);
    material.load_segment(store, seg);
    mpc::Words x;
    if (party == 1)
      x = encode_input(ring, data->image(static_cast<int64_t>(first_image + done)), nb * in_size);
    mpc::Words out = p.run_batch(s, x, nb, prg, plan.reveal);
    if (plan.reveal == Reveal::Label)
      for (uint64_t label : out) res.predictions.push_back(static_cast<int>(label));
    else
      res.logits.insert(res.logits.end(), out.begin(), out.end());
    if (store.remaining() != 0)
      throw mpc::MaterialError("preprocessing material left over after batch " +
                               std::to_string(seg) +
                               ": the file was dealt for a different architecture or plan");
    done += nb;
    if (progress) progress(done, plan.images);
  }
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (party == 1) {
    if (plan.reveal == Reveal::Logits) {
      std::vector<double> d(res.logits.size());
      for (size_t j = 0; j < d.size(); ++j) d[j] = ring.decode(res.logits[j]);
      res.predictions = argmax_rows(d, plan.images);
    }
    size_t correct = 0;
    res.labelled = true;
    for (size_t n = 0; n < plan.images; ++n) {
      correct += res.predictions[n] == data->labels[first_image + n];
      res.labelled = res.labelled && data->labels[first_image + n] >= 0;
    }
    if (res.labelled) res.accuracy = static_cast<double>(correct) / static_cast<double>(plan.images);
  }
  res.stats = ch.stats();
  return res;
}

}  // namespace polympc::nn
