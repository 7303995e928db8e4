// Google Benchmark of the FSS comparison's building blocks (issue #3):
//   BM_AesEcb          raw fixed-key AES-128-ECB of OpenSSL EVP on this core (blocks/s):
//                      the compute limit of a DCF evaluation;
//   BM_DcfEvalHost     one party's DCF evaluation, mpc::dcf_eval_host (AES-NI), keys/s and
//                      AES blocks/s, and the fraction of BM_AesEcb it reaches;
//   BM_DcfEvalSim      the same on the kernel C++ (kernels/dcf_eval.h), i.e. SimBackend;
//   BM_DcfGen          the dealer's key generation (key pairs/s);
//   BM_ReluOnline      a whole secure ReLU online phase, both parties as two threads over
//                      the in-process channel (GMW and FSS, l = 64).
// Run: build-dir/bench/bench_dcf [--benchmark_filter=...]
#include <benchmark/benchmark.h>
#include <openssl/evp.h>

#include <thread>
#include <vector>

#include "kernels/dcf_eval.h"
#include "polympc/cpu/cpu_backend.h"
#include "polympc/mpc/dcf.h"
#include "polympc/mpc/dealer.h"
#include "polympc/mpc/protocols.h"

namespace {

using polympc::mpc::Words;

void BM_AesEcb(benchmark::State& state) {
  const size_t blocks = static_cast<size_t>(state.range(0));
  std::vector<unsigned char> buf(16 * blocks, 7);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  EVP_EncryptInit_ex(ctx, EVP_aes_128_ecb(), nullptr, polympc::mpc::kDcfPrgKey, nullptr);
  EVP_CIPHER_CTX_set_padding(ctx, 0);
  int outl = 0;
  for (auto _ : state) {
    EVP_EncryptUpdate(ctx, buf.data(), &outl, buf.data(), static_cast<int>(buf.size()));
    benchmark::ClobberMemory();
  }
  EVP_CIPHER_CTX_free(ctx);
  state.counters["blocks_per_second"] =
      benchmark::Counter(static_cast<double>(blocks) * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_AesEcb)->Arg(128)->Arg(1024);

struct Keys {
  int depth;
  size_t n;
  Words alpha, x, k0, k1, out;
  Keys(int d, size_t count) : depth(d), n(count) {
    polympc::mpc::Prg prg(polympc::mpc::seed_from_u64(1));
    alpha = prg.words(n, depth);
    x = prg.words(n, depth);
    k0.resize(n * polympc::mpc::dcf_key_words(depth));
    k1.resize(k0.size());
    polympc::mpc::dcf_gen(prg, depth, n, alpha.data(), k0.data(), k1.data());
    out.resize((n + 63) / 64);
  }
};

void BM_DcfEvalHost(benchmark::State& state) {
  Keys k(static_cast<int>(state.range(0)), static_cast<size_t>(state.range(1)));
  for (auto _ : state) {
    polympc::mpc::dcf_eval_host(0, k.depth, k.n, k.k0.data(), k.x.data(), k.out.data());
    benchmark::DoNotOptimize(k.out.data());
  }
  const double it = static_cast<double>(state.iterations());
  state.counters["keys_per_second"] = benchmark::Counter(it * static_cast<double>(k.n), benchmark::Counter::kIsRate);
  state.counters["aes_blocks_per_second"] =
      benchmark::Counter(it * static_cast<double>(k.n) * k.depth, benchmark::Counter::kIsRate);
}
// depth 63 = DReLU of l = 64, 31 = l = 32; 2^14 keys fit the caches, 2^18 stream from memory.
BENCHMARK(BM_DcfEvalHost)->Args({63, 1 << 14})->Args({63, 1 << 18})->Args({31, 1 << 18})->Unit(benchmark::kMillisecond);

void BM_DcfEvalSim(benchmark::State& state) {
  Keys k(static_cast<int>(state.range(0)), static_cast<size_t>(state.range(1)));
  for (auto _ : state) {
    polympc::kernels::dcf_eval(0, k.depth, static_cast<uint32_t>(k.n), k.k0.data(), k.x.data(), k.out.data());
    benchmark::DoNotOptimize(k.out.data());
  }
  state.counters["keys_per_second"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * static_cast<double>(k.n), benchmark::Counter::kIsRate);
  state.counters["modelled_device_keys_per_second_300MHz"] =
      300e6 * static_cast<double>(k.n) / static_cast<double>(polympc::kernels::dcf_eval_cycles(k.n, k.depth));
}
BENCHMARK(BM_DcfEvalSim)->Args({63, 1 << 12})->Unit(benchmark::kMillisecond);

void BM_DcfGen(benchmark::State& state) {
  const int depth = static_cast<int>(state.range(0));
  const size_t n = static_cast<size_t>(state.range(1));
  polympc::mpc::Prg prg(polympc::mpc::seed_from_u64(2));
  Words alpha = prg.words(n, depth), k0(n * polympc::mpc::dcf_key_words(depth)), k1(k0.size());
  for (auto _ : state) {
    polympc::mpc::dcf_gen(prg, depth, n, alpha.data(), k0.data(), k1.data());
    benchmark::DoNotOptimize(k0.data());
  }
  state.counters["key_pairs_per_second"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * static_cast<double>(n), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_DcfGen)->Args({63, 1 << 14})->Unit(benchmark::kMillisecond);

void BM_ReluOnline(benchmark::State& state) {
  const bool fss = state.range(0) != 0;
  const size_t n = static_cast<size_t>(state.range(1));
  polympc::mpc::RingConfig ring{64, 12};
  polympc::mpc::ProtocolOptions o;
  o.compare = fss ? polympc::mpc::CompareMode::Fss : polympc::mpc::CompareMode::Gmw;
  polympc::mpc::Dealer dealer(polympc::mpc::seed_from_u64(3), ring);
  Words x = dealer.random(n);
  auto [x0, x1] = dealer.share_arith(x);
  for (auto _ : state) {
    state.PauseTiming();
    polympc::mpc::MaterialStore m0(0), m1(1);
    polympc::mpc::deal_relu(dealer, n, o, "relu", m0, m1);
    auto [c0, c1] = polympc::mpc::make_inproc_pair();
    polympc::cpu::CpuBackend b0(1), b1(1);
    polympc::mpc::Session s0{0, ring, *c0, b0, m0, o}, s1{1, ring, *c1, b1, m1, o};
    state.ResumeTiming();
    std::thread t([&] { polympc::mpc::relu(s0, x0, "relu"); });
    polympc::mpc::relu(s1, x1, "relu");
    t.join();
  }
  state.counters["relu_per_second"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * static_cast<double>(n), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ReluOnline)->Args({0, 1 << 18})->Args({1, 1 << 18})->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
