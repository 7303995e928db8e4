#include "polympc/nn/party.h"

#include <chrono>

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

void deal_to_files(const Network& arch_in, const mpc::RingConfig& ring, const PartyPlan& plan, uint64_t seed,
                   const std::string& p0_path, const std::string& p1_path) {
  Network arch = architecture_only(arch_in);
  arch.infer_shapes();
  mpc::Dealer dealer(mpc::seed_from_u64(seed), ring);
  mpc::MaterialStore m0(0), m1(1);
  const int fc = plan.coef_frac < 0 ? ring.frac + 8 : plan.coef_frac;
  deal_model(dealer, arch, m0, m1);
  for (size_t nb : plan.batches()) deal_inference(dealer, arch, nb, plan.protocol, fc, m0, m1);
  m0.save(p0_path);
  m1.save(p1_path);
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

PartyResult run_party(int party, const Network& arch, const QuantizedModel* model, const Dataset* data,
                      const mpc::RingConfig& ring, const PartyPlan& plan, mpc::Channel& ch, mpc::Backend& be,
                      mpc::MaterialStore& material, uint64_t client_seed,
                      const std::function<void(size_t, size_t)>& progress) {
  if (party == 0 && (model == nullptr || data != nullptr))
    throw mpc::InvalidArgument("the server (P0) runs with the model and without data");
  if (party == 1 && (model != nullptr || data == nullptr))
    throw mpc::InvalidArgument("the client (P1) runs with the data and without the model");
  if (material.party() != party)
    throw mpc::MaterialError("preprocessing material is for P" + std::to_string(material.party()) +
                             " but this is P" + std::to_string(party));
  if (party == 1 && static_cast<int64_t>(plan.images) > data->count)
    throw DatasetError("asked for " + std::to_string(plan.images) + " images but the data set has " +
                       std::to_string(data->count));
  Network net = architecture_only(arch);
  net.infer_shapes();
  const int fc = plan.coef_frac < 0 ? ring.frac + 8 : plan.coef_frac;
  const size_t in_size = static_cast<size_t>(net.input_size());
  mpc::Session s{party, ring, ch, be, material, plan.protocol};
  SecureParty p(net, model, fc);
  p.setup(s);
  mpc::Prg prg(mpc::seed_from_u64(client_seed));
  PartyResult res;
  const auto t0 = std::chrono::steady_clock::now();
  size_t start = 0;
  for (size_t nb : plan.batches()) {
    mpc::Words x;
    if (party == 1) x = encode_input(ring, data->image(static_cast<int64_t>(start)), nb * in_size);
    mpc::Words out = p.run_batch(s, x, nb, prg);
    res.logits.insert(res.logits.end(), out.begin(), out.end());
    start += nb;
    if (progress) progress(start, plan.images);
  }
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (material.remaining() != 0)
    throw mpc::MaterialError("preprocessing material left over: the file was dealt for a different plan");
  if (party == 1) {
    std::vector<double> d(res.logits.size());
    for (size_t j = 0; j < d.size(); ++j) d[j] = ring.decode(res.logits[j]);
    res.predictions = argmax_rows(d, plan.images);
    size_t correct = 0;
    for (size_t n = 0; n < plan.images; ++n) correct += res.predictions[n] == data->labels[n];
    res.accuracy = plan.images ? static_cast<double>(correct) / static_cast<double>(plan.images) : 0.0;
  }
  res.stats = ch.stats();
  return res;
}

}  // namespace polympc::nn
