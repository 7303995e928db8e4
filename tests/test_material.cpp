// Preprocessing material in deployment (mpc/material_file.h, docs/protocols.md
// "Deployment: threat model"): each test reproduces an attack found against the earlier
// format (a clock-seeded dealer, a one-byte "used" flag, copies, re-dealt files, a
// mismatched pair, edits, oversized sizes) and shows it now fails with a clear error.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <mutex>
#include <string>
#include <thread>

#include "polympc/mpc/checked.h"
#include "polympc/mpc/material_file.h"
#include "test_util.h"
#include "two_party.h"

using namespace polympc;
using polympc::testing::error_of;
using polympc::testing::temp_path;
using polympc::testing::TwoParty;

namespace {

/// A dealer run of `segments` Beaver-triple batches for both parties, as two files.
struct DealtRun {
  std::string p0, p1;
  mpc::RunId id{};
  DealtRun(const std::string& name, mpc::Dealer& d, size_t segments,
           const std::string& model = "m") {
    p0 = temp_path(name + ".p0");
    p1 = temp_path(name + ".p1");
    d.prg().bytes(id.data(), id.size());
    mpc::MacKey key;
    d.prg().bytes(key.data(), key.size());
    mpc::MaterialWriter w0(p0, 0, id, key, model, "plan", segments);
    mpc::MaterialWriter w1(p1, 1, id, key, model, "plan", segments);
    mpc::MaterialStore f0(0), f1(1);
    mpc::deal_matmul_setup(d, 2, 3, "fc", f0, f1);
    w0.write_fixed(f0);
    w1.write_fixed(f1);
    for (size_t i = 0; i < segments; ++i) {
      mpc::MaterialStore m0(0), m1(1);
      mpc::deal_mul(d, 8, "mul" + std::to_string(i), m0, m1);
      w0.write_segment(m0, 2);
      w1.write_segment(m1, 2);
    }
    w0.finish();
    w1.finish();
  }
  ~DealtRun() {
    std::remove(p0.c_str());
    std::remove(p1.c_str());
  }
};

/// Runs the handshake of both parties over the in-process channel.
std::pair<mpc::RunAgreement, mpc::RunAgreement> handshake(const std::string& f0,
                                                          const std::string& f1, mpc::Ledger& l0,
                                                          mpc::Ledger& l1, uint64_t images,
                                                          const std::string& model1 = "m") {
  auto [c0, c1] = mpc::make_inproc_pair();
  mpc::MaterialFile m0 = mpc::MaterialFile::open(f0, 0);
  mpc::MaterialFile m1 = mpc::MaterialFile::open(f1, 1);
  auto server = std::async(std::launch::async, [&] {
    try {
      return mpc::run_handshake(*c0, 0, m0, l0, "m", "plan", images);
    } catch (...) {
      c0.reset();
      throw;
    }
  });
  mpc::RunAgreement b;
  try {
    b = mpc::run_handshake(*c1, 1, m1, l1, model1, "plan", images);
  } catch (...) {
    c1.reset();
    server.wait();
    throw;
  }
  return {server.get(), b};
}

const mpc::RingConfig kRing{64, 12};

}  // namespace

TEST(Randomness, AClockSeededDealerFallsToASeedSearchTheDefaultDoesNot) {
  // The attack: the first PRG block of a dealer seeded with steady_clock's ns count is
  // readable in its files (here the run ID); a party searches the plausible window.
  auto now_ns = [] {
    return static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  };
  auto search = [](const mpc::RunId& target, uint64_t from, uint64_t to) {
    for (uint64_t s = from; s <= to; ++s) {
      mpc::Prg prg(mpc::seed_from_u64(s));
      mpc::RunId guess;
      prg.bytes(guess.data(), guess.size());
      if (guess == target) return true;
    }
    return false;
  };
  const uint64_t t0 = now_ns();
  const uint64_t clock_seed = now_ns();
  const uint64_t t1 = now_ns();
  ASSERT_LT(t1 - t0, uint64_t{1} << 22) << "clock window too wide for the test";
  {
    mpc::Dealer clocked(mpc::seed_from_u64(clock_seed), kRing);  // what `polympc dealer` did before
    DealtRun r("clocked", clocked, 1);
    // The client reads the run ID from its own file and finds the dealer's seed.
    EXPECT_TRUE(search(mpc::MaterialFile::open(r.p1, 1).header().run_id, t0, t1));
  }
  const uint64_t u0 = now_ns();
  mpc::Dealer dealer(kRing);  // what every real run uses now: OS CSPRNG, 128 bits
  const uint64_t u1 = std::min(now_ns(), u0 + (uint64_t{1} << 22));
  DealtRun r("csprng", dealer, 1);
  EXPECT_FALSE(search(mpc::MaterialFile::open(r.p1, 1).header().run_id, u0, u1 + (t1 - t0)));
  // Two CSPRNG dealers never produce the same stream.
  mpc::Dealer other(kRing);
  EXPECT_NE(dealer.random(4), other.random(4));
  EXPECT_NE(mpc::random_seed(), mpc::random_seed());
}

TEST(MaterialFile, WrittenOwnerOnlyAndReadBackSegmentBySegment) {
  mpc::Dealer d(mpc::seed_from_u64(1), kRing);
  DealtRun r("rt", d, 3);
  struct stat st {};
  ASSERT_EQ(::stat(r.p0.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  mpc::MaterialFile f = mpc::MaterialFile::open(r.p1, 1);
  EXPECT_EQ(f.segments(), 3u);
  EXPECT_EQ(f.header().run_id, r.id);
  EXPECT_EQ(f.header().model_hash, "m");
  mpc::MaterialStore s(1);
  f.load_fixed(s);
  EXPECT_TRUE(s.has_fixed("fc/wmask"));
  f.load_segment(s, 2);  // any segment, in any order
  EXPECT_EQ(s.remaining(), 1u);
  EXPECT_EQ(s.peek()->tag, "mul2");
  EXPECT_NE(error_of([&] { f.load_segment(s, 3); }).find("does not exist"), std::string::npos);
  // A long plan (many per-layer options) is stored and read back whole.
  const std::string plan(20000, 'p');
  {
    mpc::MaterialWriter w(r.p0, 0, r.id, mpc::MacKey{}, "m", plan, 1);
    mpc::MaterialStore empty(0);
    w.write_fixed(empty);
    w.write_segment(empty, 1);
    w.finish();
  }
  EXPECT_EQ(mpc::MaterialFile::open(r.p0, 0).header().plan, plan);
  EXPECT_NE(error_of([&] { mpc::MaterialFile::open(r.p0, 1); }).find("is for P0"),
            std::string::npos);
}

TEST(MaterialFile, EditsTruncationAndOldFormatAreRefused) {
  mpc::Dealer d(mpc::seed_from_u64(2), kRing);
  DealtRun r("edit", d, 2);
  const std::string orig = polympc::testing::read_file(r.p0);
  const std::string bad = temp_path("bad");
  // The old "used" byte: any edit of the header fails its MAC.
  for (size_t at : {size_t{16}, size_t{20}, size_t{40}}) {
    std::string s = orig;
    s[at] = static_cast<char>(s[at] ^ 1);
    polympc::testing::write_file(bad, s);
    EXPECT_THROW(mpc::MaterialFile::open(bad, 0), mpc::MaterialError) << "byte " << at;
  }
  // An edit in a segment is found when that segment is read, and nothing of it is handed out.
  {
    std::string s = orig;
    s[s.size() - 40] = static_cast<char>(s[s.size() - 40] ^ 0x80);
    polympc::testing::write_file(bad, s);
    mpc::MaterialFile f = mpc::MaterialFile::open(bad, 0);
    mpc::MaterialStore st(0);
    f.load_segment(st, 0);
    EXPECT_NE(error_of([&] { f.load_segment(st, 1); }).find("MAC mismatch"), std::string::npos);
    EXPECT_EQ(st.remaining(), 1u);
  }
  // Truncated or extended.
  polympc::testing::write_file(bad, orig.substr(0, orig.size() - 1));
  EXPECT_NE(error_of([&] { mpc::MaterialFile::open(bad, 0); }).find("truncated"),
            std::string::npos);
  polympc::testing::write_file(bad, orig + "x");
  EXPECT_THROW(mpc::MaterialFile::open(bad, 0), mpc::MaterialError);
  // The old unauthenticated format.
  polympc::testing::write_file(bad, std::string("PMPCMAT1") + std::string(64, '\0'));
  EXPECT_NE(error_of([&] { mpc::MaterialFile::open(bad, 0); }).find("old unauthenticated"),
            std::string::npos);
  polympc::testing::write_file(bad, "hello");
  EXPECT_THROW(mpc::MaterialFile::open(bad, 0), mpc::MaterialError);
  std::remove(bad.c_str());
}

TEST(MaterialFile, OversizedDeclaredSizesAreRefusedBeforeAllocating) {
  // A header that declares a huge segment count or length (with a valid MAC: the
  // attacker holds the key of its own file) is refused by the checked sizes.
  const std::string p = temp_path("huge");
  mpc::RunId id{};
  mpc::MacKey key{};
  {
    mpc::MaterialWriter w(p, 0, id, key, "m", "plan", 1);
    mpc::MaterialStore s(0);
    s.push(mpc::MaterialKind::BeaverTriple, "t", {1, 2, 3});
    w.write_fixed(s);
    w.write_segment(s, 1);
    w.finish();
  }
  mpc::MaterialFile f = mpc::MaterialFile::open(p, 0);
  EXPECT_EQ(f.header().segment_bytes.size(), 1u);
  std::string s = polympc::testing::read_file(p);
  // The header length field (bytes 8..11) claims more than the file has.
  std::string t = s;
  t[11] = '\x7f';
  polympc::testing::write_file(p, t);
  EXPECT_NE(error_of([&] { mpc::MaterialFile::open(p, 0); }).find("truncated or corrupt"),
            std::string::npos);
  std::remove(p.c_str());
  // The checked helpers themselves.
  EXPECT_THROW(mpc::checked_mul<mpc::MaterialError>(uint64_t{1} << 33, uint64_t{1} << 33, "x"),
               mpc::MaterialError);
  EXPECT_THROW(mpc::checked_product<mpc::MaterialError>(std::vector<int64_t>{4, -1}, "dims"),
               mpc::MaterialError);
  EXPECT_EQ(mpc::checked_product<mpc::MaterialError>(std::vector<int64_t>{4, 5}, "dims"), 20u);
}

TEST(Ledger, SurvivesRestartsAndRefusesReuse) {
  const std::string path = temp_path("ledger/dir/ledger");
  mpc::RunId id{};
  id[3] = 9;
  {
    mpc::Ledger l(path);
    EXPECT_EQ(l.consumed(0, id), 0u);
    l.consume(0, id, 0, 2, 5);
  }
  mpc::Ledger again(path);  // a restart
  EXPECT_EQ(again.consumed(0, id), 2u);
  EXPECT_EQ(again.consumed(1, id), 0u);  // per party
  EXPECT_THROW(again.consume(0, id, 1, 1, 5), mpc::MaterialReuseError);
  again.consume(0, id, 3, 1, 5);  // skipping is allowed
  EXPECT_EQ(again.consumed(0, id), 4u);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // A malformed ledger is an error, never "nothing consumed".
  polympc::testing::write_file(path, "p0 zz 1 2\n");
  EXPECT_NE(error_of([&] { again.consumed(0, id); }).find("malformed"), std::string::npos);
  std::filesystem::remove_all(temp_path("ledger"));
}

TEST(Ledger, ConcurrentUseOfOneRunLetsOnlyOneWin) {
  const std::string path = temp_path("ledger");
  mpc::RunId id{};
  int wins = 0, refused = 0;
  std::mutex mu;
  std::vector<std::thread> ts;
  for (int i = 0; i < 8; ++i)
    ts.emplace_back([&] {
      mpc::Ledger l(path);
      try {
        l.consume(1, id, 0, 1, 1);
        std::lock_guard<std::mutex> g(mu);
        ++wins;
      } catch (const mpc::MaterialReuseError&) {
        std::lock_guard<std::mutex> g(mu);
        ++refused;
      }
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(wins, 1);
  EXPECT_EQ(refused, 7);
  std::remove(path.c_str());
  std::remove((path + ".lock").c_str());
}

TEST(Handshake, AgreesThenRefusesCopiesResetsAndReDealtFiles) {
  const std::string lp0 = temp_path("l0"), lp1 = temp_path("l1");
  mpc::Ledger l0(lp0), l1(lp1);
  mpc::Dealer d(mpc::seed_from_u64(5), kRing);
  DealtRun r("hs", d, 3);
  const std::string copy0 = polympc::testing::read_file(r.p0),
                    copy1 = polympc::testing::read_file(r.p1);
  auto [a0, a1] = handshake(r.p0, r.p1, l0, l1, 2);  // one batch of 2 images
  EXPECT_EQ(a0.first_segment, 0u);
  EXPECT_EQ(a1.segments, 1u);
  // Consumption in parts: the next run continues at segment 1.
  auto [b0, b1] = handshake(r.p0, r.p1, l0, l1, 4);
  EXPECT_EQ(b0.first_segment, 1u);
  EXPECT_EQ(b1.segments, 2u);
  // Restored from a copy: the ledger remembers.
  polympc::testing::write_file(r.p0, copy0);
  polympc::testing::write_file(r.p1, copy1);
  EXPECT_NE(error_of([&] { handshake(r.p0, r.p1, l0, l1, 2); }).find("already consumed"),
            std::string::npos);
  // Re-dealt with the same (test) seed: same run ID, refused.
  mpc::Dealer again(mpc::seed_from_u64(5), kRing);
  DealtRun redealt("hs2", again, 3);
  EXPECT_EQ(redealt.id, r.id);
  EXPECT_THROW(handshake(redealt.p0, redealt.p1, l0, l1, 2), mpc::MaterialReuseError);
  std::remove(lp0.c_str());
  std::remove(lp1.c_str());
}

TEST(Handshake, MismatchedPairsWrongModelAndPartialBatchesAreClearErrors) {
  const std::string lp = temp_path("ledger");
  mpc::Ledger l0(lp), l1(lp);  // both parties on one machine, one ledger
  mpc::Dealer d(kRing);
  DealtRun a("a", d, 2), b("b", d, 2);
  // P0's file from run a, P1's from run b: before, this ran to 0 % accuracy and exit 0.
  const std::string e = error_of([&] { handshake(a.p0, b.p1, l0, l1, 2); });
  EXPECT_NE(e.find("mismatched preprocessing files"), std::string::npos) << e;
  // The client's architecture is for another model.
  EXPECT_NE(error_of([&] { handshake(a.p0, a.p1, l0, l1, 2, "other"); }).find("dealt for model"),
            std::string::npos);
  // A run must take whole batches (of 2 images).
  EXPECT_NE(error_of([&] { handshake(a.p0, a.p1, l0, l1, 3); }).find("whole batches"),
            std::string::npos);
  // Nothing of run a was consumed by the failed handshakes.
  mpc::RunId ida = mpc::MaterialFile::open(a.p0, 0).header().run_id;
  EXPECT_EQ(l0.consumed(0, ida), 0u);
  EXPECT_EQ(l1.consumed(1, ida), 0u);
  std::remove(lp.c_str());
  std::remove((lp + ".lock").c_str());
}

TEST(MaterialFile, LoadingDoesNotMultiplyTheFileInMemory) {
  // Before, loading read the file, copied its body and then built the items: ~3x its size.
  const std::string p = temp_path("big");
  const size_t words = size_t{6} << 20;  // 48 MiB
  {
    mpc::RunId id{};
    mpc::MacKey key{};
    mpc::MaterialWriter w(p, 1, id, key, "m", "plan", 1);
    mpc::MaterialStore s(1);
    w.write_fixed(s);
    s.push(mpc::MaterialKind::BeaverTriple, "big", std::vector<uint64_t>(words, 7));
    w.write_segment(s, 1);
    w.finish();
  }
  auto vm_kib = [](const char* key) {
    std::ifstream st("/proc/self/status");
    std::string line;
    while (std::getline(st, line))
      if (line.rfind(key, 0) == 0) return std::stoull(line.substr(std::strlen(key)));
    return 0ull;
  };
  {
    std::ofstream reset("/proc/self/clear_refs");
    reset << "5";  // resets the peak RSS (VmHWM) to the current RSS
  }
  const unsigned long long before = vm_kib("VmRSS:");
  mpc::MaterialFile f = mpc::MaterialFile::open(p, 1);
  mpc::MaterialStore s(1);
  f.load_segment(s, 0);
  const unsigned long long peak = vm_kib("VmHWM:");
  const double file_kib = static_cast<double>(words * 8) / 1024.0;
  if (before == 0 || peak == 0) GTEST_SKIP() << "no /proc/self/status";
  EXPECT_LT(static_cast<double>(peak - before), 1.5 * file_kib)
      << "peak grew by " << peak - before << " KiB";
  EXPECT_EQ(s.remaining_words(), words);
  std::remove(p.c_str());
}

namespace {

TEST(QueryRequest, RoundTripRefusalAndMalformedRequests) {
  mpc::QueryRequest q;
  for (size_t i = 0; i < q.run_id.size(); ++i) q.run_id[i] = static_cast<uint8_t>(i * 17 + 3);
  q.images = 42;
  {
    // Accepted: the server reads exactly what the client sent.
    auto [c0, c1] = mpc::make_inproc_pair();
    std::thread client([&, &ch = *c1] { mpc::send_query_request(ch, q); });
    const mpc::QueryRequest got = mpc::read_query_request(*c0);
    mpc::answer_query_request(*c0, "");
    client.join();
    EXPECT_EQ(got.run_id, q.run_id);
    EXPECT_EQ(got.images, 42u);
    EXPECT_EQ(c1->stats().at("handshake").bytes_sent, 32u);
  }
  {
    // Refused: the client's error carries the server's reason, cut to kMaxQueryReason.
    auto [c0, c1] = mpc::make_inproc_pair();
    std::string err;
    std::thread client([&, &ch = *c1] {
      try {
        mpc::send_query_request(ch, q);
      } catch (const mpc::MaterialError& e) {
        err = e.what();
      }
    });
    mpc::read_query_request(*c0);
    mpc::answer_query_request(*c0, "run busy" + std::string(5000, '.'));
    client.join();
    EXPECT_NE(err.find("refused the query: run busy"), std::string::npos) << err;
    EXPECT_LT(err.size(), mpc::kMaxQueryReason + 100);
  }
  auto expect_malformed = [](const std::string& wire, const std::string& what) {
    auto [c0, c1] = mpc::make_inproc_pair();
    c1->send(wire.data(), wire.size());
    try {
      mpc::read_query_request(*c0);
      ADD_FAILURE() << "accepted " << what;
    } catch (const mpc::MaterialError& e) {
      EXPECT_NE(std::string(e.what()).find("malformed query"), std::string::npos) << e.what();
    }
  };
  auto wire = [](const char* magic, uint64_t images) {
    std::string w(magic, 8);
    w.append(16, '\x01');
    w.append(reinterpret_cast<const char*>(&images), 8);
    return w;
  };
  expect_malformed(wire("PMPCQRY9", 1), "a bad magic");
  expect_malformed(wire("PMPCQRY1", 0), "zero images");
  expect_malformed(wire("PMPCQRY1", mpc::kMaxQueryImages + 1), "too many images");
  {
    // A reply declaring an oversized reason is refused before reading it.
    auto [c0, c1] = mpc::make_inproc_pair();
    const uint8_t bad[3] = {1, 0xff, 0xff};
    c0->send(bad, 3);
    EXPECT_THROW(mpc::send_query_request(*c1, q), mpc::MaterialError);
  }
  {
    // A peer that goes away mid-request is a ChannelError, not a hang.
    auto [c0, c1] = mpc::make_inproc_pair();
    c1->send("PMPC", 4);
    c1.reset();
    EXPECT_THROW(mpc::read_query_request(*c0), mpc::ChannelError);
  }
}

}  // namespace
