#include "polympc/mpc/material.h"


namespace polympc::mpc {

const char* material_kind_name(MaterialKind k) {
  switch (k) {
    case MaterialKind::BeaverTriple: return "Beaver triple";
    case MaterialKind::SquarePair: return "square pair";
    case MaterialKind::MatrixTriple: return "matrix triple";
    case MaterialKind::TruncPair: return "truncation pair";
    case MaterialKind::AndTriple: return "AND triple";
    case MaterialKind::InputAndTriple: return "input-AND triple";
    case MaterialKind::B2APair: return "B2A pair";
    case MaterialKind::PolyMasks: return "polynomial masks";
    case MaterialKind::DcfKeys: return "DCF keys";
    case MaterialKind::FssDReluMasks: return "FSS DReLU masks";
    case MaterialKind::FssReluMasks: return "FSS ReLU masks";
    case MaterialKind::FssTruncMasks: return "FSS truncation masks";
    case MaterialKind::PolyQuadMasks: return "one-opening polynomial masks";
    case MaterialKind::FssTruncPolyMasks: return "truncate-then-polynomial masks";
    case MaterialKind::TruncReduceMasks: return "truncate-reduce masks";
    case MaterialKind::SignExtendMasks: return "sign-extension masks";
  }
  return "unknown material";
}

MaterialStore::MaterialStore(int party) : party_(party) {
  if (party != 0 && party != 1)
    throw InvalidArgument("party must be 0 (server) or 1 (client), got " + std::to_string(party));
}

void MaterialStore::push(MaterialKind kind, std::string tag, std::vector<uint64_t> words) {
  if (counting_) throw InvalidArgument("a counting material store holds no items (pushed '" + tag + "')");
  items_.push_back(MaterialItem{kind, std::move(tag), std::move(words)});
}

MaterialStore MaterialStore::counting(int party) {
  MaterialStore m(party);
  m.counting_ = true;
  return m;
}

std::vector<uint64_t> MaterialStore::take(MaterialKind kind, size_t n_words,
                                          const std::string& what) {
  if (counting_) {
    consumed_words_ += n_words;
    return kind == MaterialKind::DcfKeys ? std::vector<uint64_t>() : std::vector<uint64_t>(n_words, 0);
  }
  if (items_.empty())
    throw MaterialError("P" + std::to_string(party_) +
                        ": preprocessing material exhausted at " + what + " (needed a " +
                        material_kind_name(kind) + "); run the dealer for more");
  MaterialItem& it = items_.front();
  if (it.kind != kind || it.words.size() != n_words)
    throw MaterialError("P" + std::to_string(party_) + ": preprocessing material out of step at " +
                        what + ": expected " + material_kind_name(kind) + " of " +
                        std::to_string(n_words) + " words, found " +
                        material_kind_name(it.kind) + " '" + it.tag + "' of " +
                        std::to_string(it.words.size()) + " words");
  std::vector<uint64_t> out = std::move(it.words);
  items_.pop_front();
  consumed_words_ += out.size();
  return out;
}

uint64_t MaterialStore::remaining_words() const {
  uint64_t n = 0;
  for (auto& it : items_) n += it.words.size();
  return n;
}

void MaterialStore::set_fixed(const std::string& tag, std::vector<uint64_t> words) {
  fixed_[tag] = std::move(words);
}

const std::vector<uint64_t>& MaterialStore::fixed(const std::string& tag) const {
  auto it = fixed_.find(tag);
  if (it == fixed_.end())
    throw MaterialError("P" + std::to_string(party_) + ": no per-model mask '" + tag +
                        "' in the preprocessing material (model setup missing?)");
  return it->second;
}

}  // namespace polympc::mpc
