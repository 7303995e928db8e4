// Preprocessing (dealer) material of one party (docs/design.md §3).
//
// The dealer produces, ahead of the online phase, a queue of typed items per party
// (Beaver triples, matrix triples, truncation pairs, AND triples, B2A pairs, ...). The
// online phase consumes them in the same order; every item is consumed exactly once:
// take() removes it, so it cannot be used again. Across processes, copies and restarts
// the same holds for preprocessing *files* through the consumption ledger
// (material_file.h): reusing a Beaver triple reveals x - x' to the peer.
//
// Per-model fixed masks (the weight mask A of the matrix triples, the coefficient masks
// of polynomial activations) are the one exception: they belong to the model setup, are
// opened once per model (W - A), and are reused by design; they live in a separate map.
#pragma once
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "polympc/mpc/errors.h"

namespace polympc::mpc {

enum class MaterialKind : uint32_t {
  BeaverTriple = 1,   ///< [a | b | c], c = a*b            (3n words)
  SquarePair = 2,     ///< [a | a^2]                        (2n words)
  MatrixTriple = 3,   ///< [B | C], C = A·L(B), A fixed per model
  TruncPair = 4,      ///< [r | r >> s]                     (2n words)
  AndTriple = 5,      ///< [a | b | c], c = a & b, bit-sliced (3W words)
  InputAndTriple = 6, ///< P0: [alpha | gamma0], P1: [beta | gamma1] (2W words)
  B2APair = 7,        ///< [r bit-sliced (W words) | r arithmetic (n words)]
  PolyMasks = 8,      ///< [alpha | gamma | beta' | delta]  (4n words; Prob-mode poly)
  DcfKeys = 9,        ///< n DCF keys of one party, dcf_key_words(depth) each (format: dcf.h)
  FssDReluMasks = 10, ///< [r_in (n) | c bit-sliced (W)], c = msb of r' (fss.cpp)
  FssReluMasks = 11,  ///< [r_in (n) | t (n) | t·r_in (n) | c bit-sliced (W)], c = msb(r') ^ t
  FssTruncMasks = 12, ///< [r (n) | t bit-sliced (W) | T (4n)], T[4j + a] table (trunc_fss.cpp)
  PolyQuadMasks = 13, ///< [alpha | alpha^2 | m2·alpha | m2·alpha^2 | m1·alpha] (5n words; arith.cpp)
  FssTruncPolyMasks = 14,  ///< truncate-then-polynomial: [r | t | T | rho·T | T² | m2·rho | m2·T |
                           ///< m2·rho·T | m2·T² | m1·rho | m1·T] (31n + W words; arith.cpp)
  TruncReduceMasks = 15,  ///< truncate-reduce (ring_convert.cpp), FSS: [header | r mod 2^l (n) |
                          ///< t bit-sliced (W) | (-r mod 2^l) >> s mod 2^(l-s) (n)]; GMW: [header]
  SignExtendMasks = 16,   ///< sign extension (ring_convert.cpp), FSS: [header | r mod 2^l' (n)];
                          ///< GMW: [header]
};
const char* material_kind_name(MaterialKind k);

struct MaterialItem {
  MaterialKind kind;
  std::string tag;  ///< who it is for, e.g. "conv1/trunc"
  std::vector<uint64_t> words;
};

class MaterialStore {
 public:
  /// party: 0 (server, P0) or 1 (client, P1). Throws InvalidArgument otherwise.
  explicit MaterialStore(int party);
  /// A store for the counting context (counting.h): take() hands out zeros of the asked
  /// kind and size without any item being queued (DCF keys: an empty vector, since only
  /// Backend::dcf_eval reads keys and the counting backend does not) and counts the words.
  /// Never use it with a real backend: its material is not random.
  static MaterialStore counting(int party);
  bool is_counting() const { return counting_; }
  MaterialStore(MaterialStore&&) = default;
  MaterialStore& operator=(MaterialStore&&) = default;
  MaterialStore(const MaterialStore&) = delete;
  MaterialStore& operator=(const MaterialStore&) = delete;

  int party() const { return party_; }

  /// Appends an item (dealer side).
  void push(MaterialKind kind, std::string tag, std::vector<uint64_t> words);
  /// Removes and returns the next item. Throws MaterialError when the store is exhausted
  /// ("preprocessing material exhausted at <what>") or when the next item is not of
  /// `kind` with exactly `n_words` words (material out of step with the protocol).
  std::vector<uint64_t> take(MaterialKind kind, size_t n_words, const std::string& what);
  /// The next item without removing it; nullptr when the store is empty.
  const MaterialItem* peek() const { return items_.empty() ? nullptr : &items_.front(); }
  size_t remaining() const { return items_.size(); }
  /// Words still queued (x 8 = bytes of material this party still holds).
  uint64_t remaining_words() const;
  /// Words consumed so far.
  uint64_t consumed_words() const { return consumed_words_; }

  /// Per-model fixed masks (reused by design, see file comment).
  void set_fixed(const std::string& tag, std::vector<uint64_t> words);
  bool has_fixed(const std::string& tag) const { return fixed_.count(tag) != 0; }
  /// Throws MaterialError naming the tag when missing.
  const std::vector<uint64_t>& fixed(const std::string& tag) const;

  /// Queued items in order and the per-model masks (read by MaterialWriter).
  const std::deque<MaterialItem>& items() const { return items_; }
  const std::map<std::string, std::vector<uint64_t>>& fixed_masks() const { return fixed_; }

  // Files: material_file.h (authenticated, run-bound, loaded a batch at a time).

 private:
  int party_;
  std::deque<MaterialItem> items_;
  std::map<std::string, std::vector<uint64_t>> fixed_;
  uint64_t consumed_words_ = 0;
  bool counting_ = false;
};

}  // namespace polympc::mpc
