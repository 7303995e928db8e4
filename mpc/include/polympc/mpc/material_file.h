// Preprocessing files bound to a dealer run, their consumption ledger and the run
// handshake (docs/design.md §3; docs/protocols.md "Deployment: threat model").
//
// A dealer run has a random 128-bit run ID and a 256-bit MAC key, both written into the
// two parties' files and nowhere else. A file is
//
//   "PMPCMAT2" | u32 header length | header | MAC key (32) | HMAC(header) (32)
//   | fixed masks | HMAC | segment 0 | HMAC | segment 1 | HMAC | ...
//
// header = version, party, run ID, model hash, plan descriptor, fixed-section bytes,
// segment count and per segment (images, bytes). Every MAC is HMAC-SHA-256 (RFC 2104,
// FIPS 198-1) under the run's key over a label, the run ID, the party, the index and the
// bytes, so a header, section or segment cannot be edited, moved to another position,
// another party or another run without detection. One segment holds the material of one
// batch; a run consumes whole segments, in order, and reads them one at a time (memory:
// one batch of material, not the file).
//
// Single use is enforced by the Ledger, a small file per machine (outside the material
// file, so it outlives copies of it) that records, per party and run ID, how many
// segments were consumed; it is updated atomically (write, fsync, rename, fsync of the
// directory) under an exclusive lock before the first secret-dependent message of a run.
// A restored copy, a reset file or a re-dealt file with an old run ID is refused.
//
// All integers little-endian. Every size read is checked (checked.h) before use.
#pragma once
#include <array>
#include <cstdint>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "polympc/mpc/channel.h"
#include "polympc/mpc/digest.h"
#include "polympc/mpc/material.h"

namespace polympc::mpc {

using RunId = std::array<uint8_t, 16>;
using MacKey = std::array<uint8_t, 32>;

inline std::string to_hex(const RunId& id) { return to_hex(id.data(), id.size()); }

/// The public, authenticated description of one party's file.
struct MaterialHeader {
  int party = 0;
  RunId run_id{};
  std::string model_hash;  ///< hex SHA-256 binding architecture and weights (nn/arch_file.h)
  std::string plan;        ///< canonical ring / protocol / batch descriptor (nn::PartyPlan)
  std::vector<uint64_t> segment_images;  ///< images per segment (one segment = one batch)
  std::vector<uint64_t> segment_bytes;   ///< bytes per segment (without its MAC)
  uint64_t fixed_bytes = 0;              ///< bytes of the per-model mask section
};

/// Writes one party's file for a dealer run. The file is created 0600 under a temporary
/// name and renamed into place by finish(), so a crashed dealer leaves no half file.
/// Errors: MaterialError naming the path on any I/O failure.
class MaterialWriter {
 public:
  MaterialWriter(const std::string& path, int party, const RunId& run_id, const MacKey& key,
                 std::string model_hash, std::string plan, size_t segments);
  ~MaterialWriter();
  MaterialWriter(const MaterialWriter&) = delete;
  MaterialWriter& operator=(const MaterialWriter&) = delete;

  /// The per-model masks of `store` (first, once).
  void write_fixed(const MaterialStore& store);
  /// The queued items of `store` as the next segment, for a batch of `images` images.
  void write_segment(const MaterialStore& store, uint64_t images);
  /// Writes the authenticated header, fsyncs and renames into place. Throws MaterialError
  /// unless write_fixed and exactly `segments` write_segment calls came first.
  void finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// One party's file, opened for reading: the header is authenticated on open; the fixed
/// masks and each segment are authenticated before any of their items is handed out.
class MaterialFile {
 public:
  /// Throws MaterialError when the file is missing, not a polympc file, of another
  /// version, for the other party, truncated, corrupt or edited (MAC), or declares sizes
  /// beyond the limits of checked.h.
  static MaterialFile open(const std::string& path, int expected_party);
  MaterialFile(MaterialFile&&) = default;
  MaterialFile& operator=(MaterialFile&&) = default;

  const std::string& path() const { return path_; }
  const MaterialHeader& header() const { return h_; }
  uint64_t segments() const { return h_.segment_images.size(); }

  /// Reads the per-model masks into `store` (store.set_fixed).
  void load_fixed(MaterialStore& store);
  /// Appends segment `index`'s items to `store`, all or nothing.
  void load_segment(MaterialStore& store, uint64_t index);
  /// HMAC-SHA-256 under the run's key of label || data (the handshake's key confirmation).
  Digest mac(const std::string& label, const std::string& data) const;

 private:
  MaterialFile() = default;
  std::string path_;
  MaterialHeader h_;
  MacKey key_{};
  uint64_t fixed_offset_ = 0;
  std::vector<uint64_t> segment_offset_;
  std::ifstream in_;
};

/// Per-machine record of consumed material (see file comment). Text file, one line per
/// (party, run): "p<party> <run id hex> <segments consumed> <segments in run>".
class Ledger {
 public:
  /// `path` empty: default_path().
  explicit Ledger(std::string path = "");
  /// $POLYMPC_LEDGER, else $XDG_STATE_HOME/polympc/ledger, else
  /// $HOME/.local/state/polympc/ledger.
  static std::string default_path();
  const std::string& path() const { return path_; }

  /// Segments of run `id` already consumed by `party` (0 for a run never seen).
  /// Throws MaterialError if the ledger exists but cannot be read or is malformed.
  uint64_t consumed(int party, const RunId& id) const;
  /// Records segments [first, first + count) of run `id` (of `total`) as consumed by
  /// `party`: under an exclusive lock (flock on "<path>.lock"), re-reads the ledger,
  /// throws MaterialReuseError if the run's consumed count is already past `first`,
  /// then writes the new count atomically and durably. Creates the directory (0700) and
  /// the file (0600) when missing.
  void consume(int party, const RunId& id, uint64_t first, uint64_t count, uint64_t total);

 private:
  std::string path_;
};

/// What the two parties agreed on in the handshake.
struct RunAgreement {
  uint64_t first_segment = 0;  ///< the run starts at this segment
  uint64_t segments = 0;       ///< and consumes this many (covering exactly `images`)
};

/// Throws MaterialReuseError when this machine's `ledger` records every segment of `file`
/// as consumed by the file's party (a second run, also on a restored copy). run_handshake
/// checks the same after agreeing on the position; this lets a party fail before it
/// connects to its peer.
void check_material_left(const Ledger& ledger, const MaterialFile& file);

/// The run handshake, before any secret-dependent message: each party sends (version,
/// party, run ID, model hash, plan digest, segment-table digest, images it wants, first
/// segment its ledger allows) with an HMAC under the run's key, in one round, and checks
/// the peer's: a different version, the same role twice, another run ID (a mismatched
/// pair of files), another model or plan, or a bad key-confirmation tag is a
/// MaterialError naming the field and both values. The run starts at the larger of the
/// two ledger positions (skipping material is safe, reusing it is not) and must be
/// covered by whole segments; the run's segments are then recorded in `ledger` (see
/// Ledger::consume) before returning. `model_hash` is this party's own (the server's
/// computed from its weights, the client's from its architecture file) and must equal
/// the file's. Throws ChannelError when the peer fails.
RunAgreement run_handshake(Channel& ch, int party, const MaterialFile& file, Ledger& ledger,
                           const std::string& model_hash, const std::string& plan, uint64_t images);

/// The first message of a `polympc query` connection, before run_handshake: which dealer
/// run the client's material comes from and how many images it asks for, so that a
/// server holding the material of many runs (`polympc serve --material DIR`) opens the
/// right file. Public: the run ID is no secret (knowing it gives nothing without the
/// run's MAC key, which run_handshake confirms). Wire: "PMPCQRY1" | run ID (16) |
/// images (u64 LE), 32 bytes; the answer is u8 status (0 = accepted) | u16 LE length |
/// reason (at most kMaxQueryReason bytes).
struct QueryRequest {
  RunId run_id{};
  uint64_t images = 0;
};
constexpr size_t kMaxQueryReason = 1024;
constexpr uint64_t kMaxQueryImages = uint64_t{1} << 24;

/// Client: sends `q` and waits for the answer; a refusal throws MaterialError carrying the
/// server's reason. Throws ChannelError when the server fails.
void send_query_request(Channel& ch, const QueryRequest& q);
/// Server: reads a request. Throws MaterialError on a malformed one (bad magic, images 0
/// or above kMaxQueryImages) without answering, ChannelError when the peer fails.
QueryRequest read_query_request(Channel& ch);
/// Server: accepts (`refusal` empty) or refuses with a reason (cut to kMaxQueryReason).
void answer_query_request(Channel& ch, const std::string& refusal);

}  // namespace polympc::mpc
