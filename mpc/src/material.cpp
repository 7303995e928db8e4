#include "polympc/mpc/material.h"

#include <openssl/sha.h>

#include <cstring>
#include <fstream>

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
  }
  return "unknown material";
}

MaterialStore::MaterialStore(int party) : party_(party) {
  if (party != 0 && party != 1)
    throw InvalidArgument("party must be 0 (server) or 1 (client), got " + std::to_string(party));
}

void MaterialStore::push(MaterialKind kind, std::string tag, std::vector<uint64_t> words) {
  items_.push_back(MaterialItem{kind, std::move(tag), std::move(words)});
}

std::vector<uint64_t> MaterialStore::take(MaterialKind kind, size_t n_words,
                                          const std::string& what) {
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

// ---- file format -------------------------------------------------------------------
namespace {
constexpr char kMagic[8] = {'P', 'M', 'P', 'C', 'M', 'A', 'T', '1'};
constexpr uint32_t kVersion = 1;
constexpr size_t kUsedFlagOffset = 16;  // magic(8) version(4) party(4) -> used flag
constexpr size_t kHeaderSize = 24;      // + used(1) pad(7)

void put_u32(std::string& s, uint32_t v) { s.append(reinterpret_cast<const char*>(&v), 4); }
void put_u64(std::string& s, uint64_t v) { s.append(reinterpret_cast<const char*>(&v), 8); }
void put_str(std::string& s, const std::string& v) {
  put_u32(s, static_cast<uint32_t>(v.size()));
  s += v;
}
void put_words(std::string& s, const std::vector<uint64_t>& w) {
  put_u64(s, w.size());
  s.append(reinterpret_cast<const char*>(w.data()), w.size() * 8);
}

struct Reader {
  const std::string& buf;
  size_t pos;
  const std::string& path;
  void need(size_t n) {
    if (pos + n > buf.size())
      throw MaterialError("preprocessing file '" + path + "' is truncated at byte " +
                          std::to_string(pos));
  }
  uint32_t u32() {
    need(4);
    uint32_t v;
    std::memcpy(&v, buf.data() + pos, 4);
    pos += 4;
    return v;
  }
  uint64_t u64() {
    need(8);
    uint64_t v;
    std::memcpy(&v, buf.data() + pos, 8);
    pos += 8;
    return v;
  }
  std::string str() {
    uint32_t n = u32();
    need(n);
    std::string s = buf.substr(pos, n);
    pos += n;
    return s;
  }
  std::vector<uint64_t> words() {
    uint64_t n = u64();
    if (n > (buf.size() - pos) / 8)
      throw MaterialError("preprocessing file '" + path + "' is truncated at byte " +
                          std::to_string(pos));
    std::vector<uint64_t> w(n);
    std::memcpy(w.data(), buf.data() + pos, n * 8);
    pos += n * 8;
    return w;
  }
};

std::string sha256(const char* p, size_t n) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(p), n, d);
  return std::string(reinterpret_cast<const char*>(d), SHA256_DIGEST_LENGTH);
}
}  // namespace

void MaterialStore::save(const std::string& path) const {
  std::string body;
  put_u64(body, items_.size());
  for (auto& it : items_) {
    put_u32(body, static_cast<uint32_t>(it.kind));
    put_str(body, it.tag);
    put_words(body, it.words);
  }
  put_u64(body, fixed_.size());
  for (auto& kv : fixed_) {
    put_str(body, kv.first);
    put_words(body, kv.second);
  }
  std::string head(kMagic, 8);
  put_u32(head, kVersion);
  put_u32(head, static_cast<uint32_t>(party_));
  head.append(8, '\0');  // used flag + padding
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) throw MaterialError("cannot write preprocessing file '" + path + "'");
  f.write(head.data(), static_cast<std::streamsize>(head.size()));
  f.write(body.data(), static_cast<std::streamsize>(body.size()));
  std::string digest = sha256(body.data(), body.size());
  f.write(digest.data(), static_cast<std::streamsize>(digest.size()));
  if (!f) throw MaterialError("write failed for preprocessing file '" + path + "'");
}

MaterialStore MaterialStore::load(const std::string& path, int expected_party) {
  std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
  if (!f) throw MaterialError("cannot open preprocessing file '" + path + "' for reading and writing");
  std::string buf((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (buf.size() < kHeaderSize + SHA256_DIGEST_LENGTH || std::memcmp(buf.data(), kMagic, 8) != 0)
    throw MaterialError("'" + path + "' is not a polympc preprocessing file (bad magic or too short)");
  Reader r{buf, 8, path};
  uint32_t version = r.u32();
  if (version != kVersion)
    throw MaterialError("preprocessing file '" + path + "' has version " + std::to_string(version) +
                        ", expected " + std::to_string(kVersion));
  uint32_t party = r.u32();
  if (static_cast<int>(party) != expected_party)
    throw MaterialError("preprocessing file '" + path + "' is for P" + std::to_string(party) +
                        " but this is P" + std::to_string(expected_party));
  if (buf[kUsedFlagOffset] != 0)
    throw MaterialReuseError("preprocessing file '" + path +
                             "' was already used by an earlier run; material is single-use, "
                             "ask the dealer for fresh material");
  const size_t body_end = buf.size() - SHA256_DIGEST_LENGTH;
  if (sha256(buf.data() + kHeaderSize, body_end - kHeaderSize) != buf.substr(body_end))
    throw MaterialError("preprocessing file '" + path + "' is truncated or corrupt (checksum mismatch)");
  // Mark used on disk before handing anything out.
  f.clear();
  f.seekp(static_cast<std::streamoff>(kUsedFlagOffset));
  f.put('\1');
  f.flush();
  if (!f) throw MaterialError("cannot mark preprocessing file '" + path + "' as used");

  std::string body = buf.substr(0, body_end);
  Reader b{body, kHeaderSize, path};
  MaterialStore s(expected_party);
  uint64_t n_items = b.u64();
  for (uint64_t i = 0; i < n_items; ++i) {
    auto kind = static_cast<MaterialKind>(b.u32());
    std::string tag = b.str();
    s.push(kind, std::move(tag), b.words());
  }
  uint64_t n_fixed = b.u64();
  for (uint64_t i = 0; i < n_fixed; ++i) {
    std::string tag = b.str();
    s.set_fixed(tag, b.words());
  }
  return s;
}

}  // namespace polympc::mpc
