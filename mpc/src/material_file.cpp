// Run-bound preprocessing files, the consumption ledger and the run handshake
// (material_file.h). HMAC-SHA-256 through OpenSSL's EVP_MAC (RFC 2104, FIPS 198-1).
#include "polympc/mpc/material_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <sstream>

#include "polympc/mpc/checked.h"
#include "polympc/mpc/file_io.h"

namespace polympc::mpc {

namespace {

constexpr char kMagic[8] = {'P', 'M', 'P', 'C', 'M', 'A', 'T', '2'};
constexpr uint32_t kVersion = 2;
constexpr uint32_t kMaxHeaderBytes = 1u << 24;  // 16 MiB: ~1M segments
constexpr uint32_t kMaxTagBytes = 4096;
constexpr uint64_t kMaxItemsPerSegment = uint64_t{1} << 24;
constexpr uint64_t kMaxFixedMasks = uint64_t{1} << 20;

std::string sys_error() { return std::strerror(errno); }

/// HMAC-SHA-256 under the run's key with `label` bound in first.
std::unique_ptr<Hasher> run_mac(const MacKey& key, const std::string& label) {
  auto h = std::make_unique<Hasher>(key.data(), key.size());
  h->str(label);
  return h;
}

/// The MAC of a section: label, run ID, party and index are bound in.
std::unique_ptr<Hasher> section_mac(const MacKey& key, const char* label, const RunId& id,
                                    int party, uint64_t index) {
  auto h = run_mac(key, label);
  h->bytes(id.data(), id.size());
  h->u64(static_cast<uint64_t>(party));
  h->u64(index);
  return h;
}

void put_u32(std::string& s, uint32_t v) { s.append(reinterpret_cast<const char*>(&v), 4); }
void put_u64(std::string& s, uint64_t v) { s.append(reinterpret_cast<const char*>(&v), 8); }
void put_str(std::string& s, const std::string& v) {
  put_u32(s, static_cast<uint32_t>(v.size()));
  s += v;
}

std::string encode_header(const MaterialHeader& h) {
  std::string s;
  put_u32(s, kVersion);
  put_u32(s, static_cast<uint32_t>(h.party));
  s.append(reinterpret_cast<const char*>(h.run_id.data()), h.run_id.size());
  put_str(s, h.model_hash);
  put_str(s, h.plan);
  put_u64(s, h.fixed_bytes);
  put_u64(s, h.segment_images.size());
  for (size_t i = 0; i < h.segment_images.size(); ++i) {
    put_u64(s, h.segment_images[i]);
    put_u64(s, h.segment_bytes[i]);
  }
  return s;
}

/// Little-endian fields over a reader's read(out, n), which checks the bounds.
template <class Self>
struct FieldReader {
  uint32_t u32() {
    uint32_t v;
    static_cast<Self*>(this)->read(&v, 4);
    return v;
  }
  uint64_t u64() {
    uint64_t v;
    static_cast<Self*>(this)->read(&v, 8);
    return v;
  }
};

/// Bounds-checked reader over an in-memory header.
struct HeaderReader : FieldReader<HeaderReader> {
  HeaderReader(const std::string& b, const std::string& p) : buf(b), path(p) {}
  const std::string& buf;
  const std::string& path;
  size_t pos = 0;
  void need(size_t n) const {
    if (n > buf.size() - pos)
      throw MaterialError("preprocessing file '" + path + "': header is truncated at byte " +
                          std::to_string(pos));
  }
  void read(void* out, size_t n) {
    need(n);
    std::memcpy(out, buf.data() + pos, n);
    pos += n;
  }
  std::string str() {  // bounded by the (checked) header length, checked before allocating
    const uint32_t n = u32();
    need(n);
    std::string s(n, '\0');
    read(s.data(), n);
    return s;
  }
};

/// Reads from a stream, feeding the bytes to a MAC, with the section's remaining size checked.
struct SectionReader : FieldReader<SectionReader> {
  SectionReader(std::ifstream& i, Hasher& m, uint64_t l, const std::string& w)
      : in(i), mac(m), left(l), where(w) {}
  std::ifstream& in;
  Hasher& mac;
  uint64_t left;
  const std::string& where;
  void read(void* out, uint64_t n) {
    if (n > left) throw MaterialError(where + " declares more bytes than the section holds");
    in.read(static_cast<char*>(out), static_cast<std::streamsize>(n));
    if (!in) throw MaterialError(where + " is truncated");
    mac.bytes(out, n);
    left -= n;
  }
  std::string str(const char* field) {
    const uint32_t n = u32();
    if (n > kMaxTagBytes)
      throw MaterialError(where + ": " + field + " of " + std::to_string(n) + " bytes");
    std::string s(n, '\0');
    read(s.data(), n);
    return s;
  }
  std::vector<uint64_t> words() {
    const uint64_t n = u64();
    checked_mul<MaterialError>(n, 8, where + ": item word count",
                               std::min(left, kMaxTensorElements * 8));
    std::vector<uint64_t> w(n);
    read(w.data(), n * 8);
    return w;
  }
};

void read_mac(std::ifstream& in, uint8_t* out, const std::string& where) {
  in.read(reinterpret_cast<char*>(out), 32);
  if (!in) throw MaterialError(where + " is truncated (MAC missing)");
}

}  // namespace

// ---- writer ------------------------------------------------------------------------

struct MaterialWriter::Impl {
  std::string path, tmp;
  int fd = -1;
  MaterialHeader h;
  MacKey key{};
  size_t segments = 0;
  bool fixed_done = false;
  bool finished = false;
  std::string buf;

  void flush() {
    size_t off = 0;
    while (off < buf.size()) {
      const ssize_t w = ::write(fd, buf.data() + off, buf.size() - off);
      if (w < 0) {
        if (errno == EINTR) continue;
        throw MaterialError("cannot write preprocessing file '" + tmp + "': " + sys_error());
      }
      off += static_cast<size_t>(w);
    }
    buf.clear();
  }
  void append(const void* p, size_t n, Hasher& mac) {
    mac.bytes(p, n);
    buf.append(static_cast<const char*>(p), n);
    if (buf.size() >= (size_t{1} << 22)) flush();
  }
  void append_u32(uint32_t v, Hasher& mac) { append(&v, 4, mac); }
  void append_u64(uint64_t v, Hasher& mac) { append(&v, 8, mac); }
  void append_tag(const std::string& s, Hasher& mac) {
    if (s.size() > kMaxTagBytes)
      throw MaterialError("material tag '" + s.substr(0, 64) + "...' is longer than " +
                          std::to_string(kMaxTagBytes) + " bytes");
    append_str(s, mac);
  }
  void append_str(const std::string& s, Hasher& mac) {
    append_u32(static_cast<uint32_t>(s.size()), mac);
    append(s.data(), s.size(), mac);
  }
  void append_words(const std::vector<uint64_t>& w, Hasher& mac) {
    append_u64(w.size(), mac);
    append(w.data(), w.size() * 8, mac);
  }
  uint64_t written() const {
    const off_t pos = ::lseek(fd, 0, SEEK_CUR);
    return static_cast<uint64_t>(pos) + buf.size();
  }
  void end_section(Hasher& mac) {
    const Digest d = mac.final();
    buf.append(reinterpret_cast<const char*>(d.data()), d.size());
  }
};

MaterialWriter::MaterialWriter(const std::string& path, int party, const RunId& run_id,
                               const MacKey& key, std::string model_hash, std::string plan,
                               size_t segments)
    : impl_(std::make_unique<Impl>()) {
  if (party != 0 && party != 1) throw InvalidArgument("party must be 0 or 1");
  Impl& m = *impl_;
  m.path = path;
  m.tmp = temp_path_beside(path);
  m.key = key;
  m.segments = segments;
  m.h.party = party;
  m.h.run_id = run_id;
  m.h.model_hash = std::move(model_hash);
  m.h.plan = std::move(plan);
  m.h.segment_images.assign(segments, 0);
  m.h.segment_bytes.assign(segments, 0);
  m.fd = ::open(m.tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (m.fd < 0)
    throw MaterialError("cannot create preprocessing file '" + m.tmp + "': " + sys_error());
  // Room for the header, written by finish() once the section sizes are known.
  const size_t head = 8 + 4 + encode_header(m.h).size() + 32 + 32;
  m.buf.assign(head, '\0');
}

MaterialWriter::~MaterialWriter() {
  if (impl_->fd >= 0) ::close(impl_->fd);
  if (!impl_->finished) ::unlink(impl_->tmp.c_str());
}

void MaterialWriter::write_fixed(const MaterialStore& store) {
  Impl& m = *impl_;
  if (m.fixed_done) throw MaterialError("MaterialWriter: fixed masks written twice");
  const uint64_t start = m.written();
  auto mac = section_mac(m.key, "polympc-fixed", m.h.run_id, m.h.party, 0);
  m.append_u64(store.fixed_masks().size(), *mac);
  for (auto& [tag, words] : store.fixed_masks()) {
    m.append_tag(tag, *mac);
    m.append_words(words, *mac);
  }
  m.h.fixed_bytes = m.written() - start;
  m.end_section(*mac);
  m.fixed_done = true;
}

void MaterialWriter::write_segment(const MaterialStore& store, uint64_t images) {
  Impl& m = *impl_;
  size_t index = 0;
  while (index < m.segments && m.h.segment_images[index] != 0) ++index;
  if (!m.fixed_done || index == m.segments || images == 0)
    throw MaterialError("MaterialWriter: segment out of order (fixed masks first, then " +
                        std::to_string(m.segments) + " segments of >= 1 image)");
  const uint64_t start = m.written();
  auto mac = section_mac(m.key, "polympc-segment", m.h.run_id, m.h.party, index);
  m.append_u64(store.items().size(), *mac);
  for (const MaterialItem& it : store.items()) {
    m.append_u32(static_cast<uint32_t>(it.kind), *mac);
    m.append_tag(it.tag, *mac);
    m.append_words(it.words, *mac);
  }
  m.h.segment_images[index] = images;
  m.h.segment_bytes[index] = m.written() - start;
  m.end_section(*mac);
}

void MaterialWriter::finish() {
  Impl& m = *impl_;
  if (!m.fixed_done || (m.segments && m.h.segment_images.back() == 0))
    throw MaterialError("MaterialWriter: finish() before all sections were written");
  m.flush();
  std::string head(kMagic, 8);
  const std::string body = encode_header(m.h);
  put_u32(head, static_cast<uint32_t>(body.size()));
  head += body;
  head.append(reinterpret_cast<const char*>(m.key.data()), m.key.size());
  const Digest d = [&] {
    auto mac = run_mac(m.key, "polympc-header");
    mac->bytes(head.data(), 8 + 4 + body.size());
    return mac->final();
  }();
  head.append(reinterpret_cast<const char*>(d.data()), d.size());
  if (::pwrite(m.fd, head.data(), head.size(), 0) != static_cast<ssize_t>(head.size()) ||
      ::fsync(m.fd) != 0)
    throw MaterialError("cannot write preprocessing file '" + m.tmp + "': " + sys_error());
  ::close(m.fd);
  m.fd = -1;
  m.finished = true;  // rename_durably removes the temporary file if it fails
  try {
    rename_durably(m.tmp, m.path);
  } catch (const Error& e) {
    throw MaterialError("cannot write preprocessing file '" + m.path + "': " + e.what());
  }
}

// ---- reader ------------------------------------------------------------------------

MaterialFile MaterialFile::open(const std::string& path, int expected_party) {
  MaterialFile f;
  f.path_ = path;
  f.in_.open(path, std::ios::binary);
  if (!f.in_) throw MaterialError("cannot open preprocessing file '" + path + "'");
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw MaterialError("cannot stat preprocessing file '" + path + "'");
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
  char magic[8];
  uint32_t head_len = 0;
  f.in_.read(magic, 8);
  f.in_.read(reinterpret_cast<char*>(&head_len), 4);
  if (!f.in_ || std::memcmp(magic, kMagic, 8) != 0) {
    if (f.in_ && std::memcmp(magic, "PMPCMAT1", 8) == 0)
      throw MaterialError("preprocessing file '" + path +
                          "' has the old unauthenticated format 1; run `polympc dealer` again");
    throw MaterialError("'" + path +
                        "' is not a polympc preprocessing file (bad magic or too short)");
  }
  if (head_len > kMaxHeaderBytes || uint64_t{head_len} + 12 + 64 > file_size)
    throw MaterialError("preprocessing file '" + path + "' is truncated or corrupt (header of " +
                        std::to_string(head_len) + " bytes in a file of " +
                        std::to_string(file_size) + ")");
  std::string head(head_len, '\0');
  f.in_.read(head.data(), head_len);
  uint8_t tag[32];
  f.in_.read(reinterpret_cast<char*>(f.key_.data()), 32);
  f.in_.read(reinterpret_cast<char*>(tag), 32);
  if (!f.in_) throw MaterialError("preprocessing file '" + path + "' is truncated in its header");
  {
    auto mac = run_mac(f.key_, "polympc-header");
    mac->bytes(magic, 8);
    mac->bytes(&head_len, 4);
    mac->bytes(head.data(), head.size());
    if (!digest_equal(mac->final(), tag))
      throw MaterialError("preprocessing file '" + path +
                          "' has been edited or is corrupt (header MAC mismatch)");
  }
  HeaderReader r{head, path};
  const uint32_t version = r.u32();
  if (version != kVersion)
    throw MaterialError("preprocessing file '" + path + "' has version " + std::to_string(version) +
                        ", expected " + std::to_string(kVersion));
  const uint32_t party = r.u32();
  if (party > 1 || static_cast<int>(party) != expected_party)
    throw MaterialError("preprocessing file '" + path + "' is for P" + std::to_string(party) +
                        " but this is P" + std::to_string(expected_party));
  f.h_.party = static_cast<int>(party);
  r.read(f.h_.run_id.data(), f.h_.run_id.size());
  f.h_.model_hash = r.str();
  f.h_.plan = r.str();
  f.h_.fixed_bytes = r.u64();
  const uint64_t n_seg = r.u64();
  if (n_seg > (head.size() - r.pos) / 16)
    throw MaterialError("preprocessing file '" + path + "': header declares " +
                        std::to_string(n_seg) + " segments but holds a table for fewer");
  const std::string what = "preprocessing file '" + path + "'";
  uint64_t off = checked_add<MaterialError>(12 + head_len, 64, what, kMaxFileBytes);
  f.fixed_offset_ = off;
  off = checked_add<MaterialError>(
      off, checked_add<MaterialError>(f.h_.fixed_bytes, 32, what, kMaxFileBytes), what,
      kMaxFileBytes);
  for (uint64_t i = 0; i < n_seg; ++i) {
    f.h_.segment_images.push_back(r.u64());
    f.h_.segment_bytes.push_back(r.u64());
    if (f.h_.segment_images.back() == 0 || f.h_.segment_images.back() > kMaxTensorElements)
      throw MaterialError(what + ": segment " + std::to_string(i) + " declares " +
                          std::to_string(f.h_.segment_images.back()) + " images");
    f.segment_offset_.push_back(off);
    off = checked_add<MaterialError>(
        off, checked_add<MaterialError>(f.h_.segment_bytes.back(), 32, what, kMaxFileBytes), what,
        kMaxFileBytes);
  }
  if (r.pos != head.size()) throw MaterialError(what + ": header has trailing bytes");
  if (off != file_size)
    throw MaterialError(what + " is truncated or has extra bytes: the header declares " +
                        std::to_string(off) + " bytes, the file has " + std::to_string(file_size));
  return f;
}

void MaterialFile::load_fixed(MaterialStore& store) {
  const std::string where = "preprocessing file '" + path_ + "', per-model masks";
  in_.clear();
  in_.seekg(static_cast<std::streamoff>(fixed_offset_));
  auto mac = section_mac(key_, "polympc-fixed", h_.run_id, h_.party, 0);
  SectionReader r{in_, *mac, h_.fixed_bytes, where};
  const uint64_t n = r.u64();
  if (n > kMaxFixedMasks) throw MaterialError(where + ": " + std::to_string(n) + " masks");
  std::map<std::string, std::vector<uint64_t>> masks;
  for (uint64_t i = 0; i < n; ++i) {
    std::string tag = r.str("mask tag");
    masks[tag] = r.words();
  }
  if (r.left != 0) throw MaterialError(where + ": trailing bytes");
  uint8_t tag[32];
  read_mac(in_, tag, where);
  if (!digest_equal(mac->final(), tag))
    throw MaterialError(where + " have been edited or are corrupt (MAC mismatch)");
  for (auto& [t, w] : masks) store.set_fixed(t, std::move(w));
}

void MaterialFile::load_segment(MaterialStore& store, uint64_t index) {
  if (index >= segments())
    throw MaterialError("preprocessing file '" + path_ + "' has " + std::to_string(segments()) +
                        " segments; segment " + std::to_string(index) + " does not exist");
  const std::string where = "preprocessing file '" + path_ + "', segment " + std::to_string(index);
  in_.clear();
  in_.seekg(static_cast<std::streamoff>(segment_offset_[index]));
  auto mac = section_mac(key_, "polympc-segment", h_.run_id, h_.party, index);
  SectionReader r{in_, *mac, h_.segment_bytes[index], where};
  const uint64_t n = r.u64();
  if (n > kMaxItemsPerSegment) throw MaterialError(where + ": " + std::to_string(n) + " items");
  std::vector<MaterialItem> items;
  items.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    const uint32_t kind = r.u32();
    if (kind < static_cast<uint32_t>(MaterialKind::BeaverTriple) ||
        kind > static_cast<uint32_t>(MaterialKind::SignExtendMasks))
      throw MaterialError(where + ": unknown material kind " + std::to_string(kind));
    std::string tag = r.str("item tag");
    items.push_back(MaterialItem{static_cast<MaterialKind>(kind), std::move(tag), r.words()});
  }
  if (r.left != 0) throw MaterialError(where + ": trailing bytes");
  uint8_t tag[32];
  read_mac(in_, tag, where);
  if (!digest_equal(mac->final(), tag))
    throw MaterialError(where + " has been edited or is corrupt (MAC mismatch)");
  for (MaterialItem& it : items) store.push(it.kind, std::move(it.tag), std::move(it.words));
}

Digest MaterialFile::mac(const std::string& label, const std::string& data) const {
  auto h = run_mac(key_, label);
  h->str(data);
  return h->final();
}

// ---- ledger ------------------------------------------------------------------------

namespace {

using LedgerMap =
    std::map<std::string, std::pair<uint64_t, uint64_t>>;  // "p0 <hex>" -> (consumed, total)

LedgerMap read_ledger(const std::string& path) {
  LedgerMap m;
  if (::access(path.c_str(), F_OK) != 0) return m;  // no ledger yet: nothing consumed here
  std::ifstream in(path);
  if (!in) throw MaterialError("cannot read the material ledger '" + path + "'");
  std::string line;
  size_t no = 0;
  while (std::getline(in, line)) {
    ++no;
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    std::string party, id;
    uint64_t used = 0, total = 0;
    std::string extra;
    if (!(ls >> party >> id >> used >> total) || (ls >> extra) ||
        (party != "p0" && party != "p1") || id.size() != 32 ||
        id.find_first_not_of("0123456789abcdef") != std::string::npos || used > total)
      throw MaterialError(
          "the material ledger '" + path + "' is malformed at line " + std::to_string(no) +
          "; it records which material was consumed: repair or restore it, never delete it");
    m[party + " " + id] = {used, total};
  }
  return m;
}

void mkdir_p(const std::string& dir) {
  if (dir.empty()) return;
  std::string cur;
  std::stringstream ss(dir);
  std::string part;
  if (dir[0] == '/') cur = "/";
  while (std::getline(ss, part, '/')) {
    if (part.empty()) continue;
    cur += part + "/";
    if (::mkdir(cur.c_str(), 0700) != 0 && errno != EEXIST)
      throw MaterialError("cannot create directory '" + cur +
                          "' for the material ledger: " + sys_error());
  }
}

/// Exclusive flock on "<path>.lock" for the lifetime of the object.
class LedgerLock {
 public:
  explicit LedgerLock(const std::string& path) {
    mkdir_p(directory_of(path));
    fd_ = ::open((path + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0)
      throw MaterialError("cannot open the material ledger lock '" + path +
                          ".lock': " + sys_error());
    while (::flock(fd_, LOCK_EX) != 0) {
      if (errno != EINTR) {
        ::close(fd_);
        throw MaterialError("cannot lock the material ledger '" + path + "': " + sys_error());
      }
    }
  }
  ~LedgerLock() { ::close(fd_); }
  LedgerLock(const LedgerLock&) = delete;
  LedgerLock& operator=(const LedgerLock&) = delete;

 private:
  int fd_ = -1;
};

std::string ledger_key(int party, const RunId& id) {
  return "p" + std::to_string(party) + " " + to_hex(id);
}

}  // namespace

Ledger::Ledger(std::string path) : path_(path.empty() ? default_path() : std::move(path)) {}

std::string Ledger::default_path() {
  if (const char* p = std::getenv("POLYMPC_LEDGER"); p && *p) return p;
  if (const char* x = std::getenv("XDG_STATE_HOME"); x && *x)
    return std::string(x) + "/polympc/ledger";
  if (const char* h = std::getenv("HOME"); h && *h)
    return std::string(h) + "/.local/state/polympc/ledger";
  throw MaterialError(
      "no place for the material ledger: set POLYMPC_LEDGER, XDG_STATE_HOME or HOME, or pass "
      "--ledger");
}

uint64_t Ledger::consumed(int party, const RunId& id) const {
  const LedgerMap m = read_ledger(path_);
  auto it = m.find(ledger_key(party, id));
  return it == m.end() ? 0 : it->second.first;
}

void Ledger::consume(int party, const RunId& id, uint64_t first, uint64_t count, uint64_t total) {
  LedgerLock lock(path_);
  LedgerMap m = read_ledger(path_);
  auto& entry = m[ledger_key(party, id)];
  if (entry.first > first)
    throw MaterialReuseError("P" + std::to_string(party) + ": material of dealer run " +
                             to_hex(id) + " up to segment " + std::to_string(entry.first) +
                             " was already consumed (ledger '" + path_ +
                             "'); material is single-use, ask the dealer for fresh material");
  entry = {first + count, total};
  std::string text =
      "# polympc material ledger: party, dealer run ID, segments consumed, segments in the run\n";
  for (auto& [key, v] : m)
    text += key + " " + std::to_string(v.first) + " " + std::to_string(v.second) + "\n";
  try {
    write_file_atomically(path_, text, 0600);
  } catch (const Error& e) {
    throw MaterialError("cannot write the material ledger '" + path_ + "': " + e.what());
  }
}

// ---- handshake ---------------------------------------------------------------------

namespace {

[[noreturn]] void throw_used_up(int party, const MaterialFile& file, const Ledger& ledger) {
  throw MaterialReuseError("P" + std::to_string(party) + ": all material of dealer run " +
                           to_hex(file.header().run_id) + " in '" + file.path() +
                           "' was already consumed by earlier runs (ledger '" + ledger.path() +
                           "'); material is single-use, ask the dealer for fresh material");
}

struct Hello {
  uint32_t version = kVersion;
  uint32_t party = 0;
  RunId run_id{};
  Digest model{};     // SHA-256 of the model hash string (fixed size on the wire)
  Digest plan{};      // SHA-256 of the plan descriptor
  Digest segments{};  // SHA-256 of the segment table
  uint64_t images = 0;
  uint64_t first = 0;
  Digest tag{};

  static constexpr size_t kBytes = 8 + 4 + 4 + 16 + 32 * 3 + 16 + 32;
  std::string body() const {
    std::string s("PMPCHELO", 8);
    put_u32(s, version);
    put_u32(s, party);
    s.append(reinterpret_cast<const char*>(run_id.data()), 16);
    for (const Digest* d : {&model, &plan, &segments})
      s.append(reinterpret_cast<const char*>(d->data()), 32);
    put_u64(s, images);
    put_u64(s, first);
    return s;
  }
  std::string wire() const {
    std::string s = body();
    s.append(reinterpret_cast<const char*>(tag.data()), 32);
    return s;
  }
  static Hello parse(const std::string& w) {
    Hello h;
    if (w.compare(0, 8, "PMPCHELO") != 0)
      throw MaterialError("the peer is not a polympc party of this version (bad handshake)");
    size_t p = 8;
    auto take = [&](void* out, size_t n) {
      std::memcpy(out, w.data() + p, n);
      p += n;
    };
    take(&h.version, 4);
    take(&h.party, 4);
    take(h.run_id.data(), 16);
    take(h.model.data(), 32);
    take(h.plan.data(), 32);
    take(h.segments.data(), 32);
    take(&h.images, 8);
    take(&h.first, 8);
    take(h.tag.data(), 32);
    return h;
  }
};

}  // namespace

void check_material_left(const Ledger& ledger, const MaterialFile& file) {
  const int party = file.header().party;
  if (ledger.consumed(party, file.header().run_id) >= file.segments())
    throw_used_up(party, file, ledger);
}

RunAgreement run_handshake(Channel& ch, int party, const MaterialFile& file, Ledger& ledger,
                           const std::string& model_hash, const std::string& plan,
                           uint64_t images) {
  const MaterialHeader& h = file.header();
  const std::string me = "P" + std::to_string(party);
  if (h.party != party)
    throw MaterialError(me + ": preprocessing file '" + file.path() + "' is for P" +
                        std::to_string(h.party));
  if (h.model_hash != model_hash)
    throw MaterialError(me + ": preprocessing file '" + file.path() + "' was dealt for model " +
                        h.model_hash + ", this party's model is " + model_hash);
  if (h.plan != plan)
    throw MaterialError(me + ": preprocessing file '" + file.path() + "' was dealt for [" + h.plan +
                        "], this run is [" + plan + "]: use the dealer's options");
  std::string table;
  for (size_t i = 0; i < h.segment_images.size(); ++i) {
    put_u64(table, h.segment_images[i]);
    put_u64(table, h.segment_bytes[i]);
  }
  Hello mine;
  mine.party = static_cast<uint32_t>(party);
  mine.run_id = h.run_id;
  mine.model = sha256(model_hash);
  mine.plan = sha256(plan);
  mine.segments = sha256(table);
  mine.images = images;
  mine.first = ledger.consumed(party, h.run_id);
  mine.tag = file.mac("polympc-hello", mine.body());
  std::string out = mine.wire(), in(Hello::kBytes, '\0');
  ch.exchange(out.data(), out.size(), in.data(), in.size());
  const Hello peer = Hello::parse(in);
  if (peer.version != kVersion)
    throw MaterialError(me + ": the peer speaks handshake version " + std::to_string(peer.version) +
                        ", this is " + std::to_string(kVersion));
  if (peer.party != static_cast<uint32_t>(1 - party))
    throw MaterialError(me + ": the peer also claims to be P" + std::to_string(peer.party) +
                        " (one side must be the server, the other the client)");
  if (peer.run_id != mine.run_id)
    throw MaterialError(me + ": mismatched preprocessing files: this party's is from dealer run " +
                        to_hex(mine.run_id) + ", the peer's from run " + to_hex(peer.run_id) +
                        " (both files must come from the same `polympc dealer` run)");
  if (peer.model != mine.model)
    throw MaterialError(me + ": the peer runs another model (model hash differs)");
  if (peer.plan != mine.plan || peer.segments != mine.segments)
    throw MaterialError(me + ": the peer's plan or material layout differs from this party's [" +
                        plan + "]");
  if (peer.images != images)
    throw MaterialError(me + ": this party runs " + std::to_string(images) + " images, the peer " +
                        std::to_string(peer.images));
  if (!digest_equal(file.mac("polympc-hello", peer.body()), peer.tag.data()))
    throw MaterialError(me +
                        ": the peer's key confirmation failed: its file is not from dealer run " +
                        to_hex(mine.run_id));
  RunAgreement a;
  a.first_segment = std::max(mine.first, peer.first);
  uint64_t covered = 0, k = a.first_segment;
  while (covered < images && k < file.segments()) covered += h.segment_images[k++];
  uint64_t left = 0;
  for (uint64_t j = a.first_segment; j < file.segments(); ++j) left += h.segment_images[j];
  if (left == 0) throw_used_up(party, file, ledger);
  if (covered != images)
    throw MaterialError(
        me + ": " + std::to_string(images) + " images do not fit the material left from segment " +
        std::to_string(a.first_segment) + " (" + std::to_string(left) +
        " images left, dealt in batches of " + std::to_string(h.segment_images[a.first_segment]) +
        "): a run takes whole batches");
  a.segments = k - a.first_segment;
  ledger.consume(party, h.run_id, a.first_segment, a.segments, file.segments());
  return a;
}

namespace {
constexpr char kQueryMagic[8] = {'P', 'M', 'P', 'C', 'Q', 'R', 'Y', '1'};
constexpr size_t kQueryBytes = 8 + 16 + 8;
}  // namespace

void send_query_request(Channel& ch, const QueryRequest& q) {
  PhaseScope scope(ch, "handshake");
  std::string w(kQueryMagic, 8);
  w.append(reinterpret_cast<const char*>(q.run_id.data()), 16);
  put_u64(w, q.images);
  ch.send(w.data(), w.size());
  uint8_t head[3] = {};
  ch.recv(head, sizeof head);
  const size_t len = static_cast<size_t>(head[1]) | static_cast<size_t>(head[2]) << 8;
  if (len > kMaxQueryReason)
    throw MaterialError("the server's answer to the query declares a " + std::to_string(len) +
                        "-byte reason, more than " + std::to_string(kMaxQueryReason));
  std::string reason(len, '\0');
  if (len) ch.recv(reason.data(), len);
  if (head[0] != 0)
    throw MaterialError("the server refused the query: " +
                        (reason.empty() ? std::string("no reason given") : reason));
}

QueryRequest read_query_request(Channel& ch) {
  PhaseScope scope(ch, "handshake");
  std::string w(kQueryBytes, '\0');
  ch.recv(w.data(), w.size());
  if (std::memcmp(w.data(), kQueryMagic, 8) != 0)
    throw MaterialError("malformed query from " + ch.peer() +
                        ": not a polympc query request (bad magic)");
  QueryRequest q;
  std::memcpy(q.run_id.data(), w.data() + 8, 16);
  std::memcpy(&q.images, w.data() + 24, 8);
  if (q.images == 0 || q.images > kMaxQueryImages)
    throw MaterialError("malformed query from " + ch.peer() + ": asks for " +
                        std::to_string(q.images) + " images (1.." +
                        std::to_string(kMaxQueryImages) + ")");
  return q;
}

void answer_query_request(Channel& ch, const std::string& refusal) {
  PhaseScope scope(ch, "handshake");
  const std::string r = refusal.substr(0, kMaxQueryReason);
  std::string w;
  w.push_back(static_cast<char>(refusal.empty() ? 0 : 1));
  w.push_back(static_cast<char>(r.size() & 0xff));
  w.push_back(static_cast<char>(r.size() >> 8));
  w += r;
  ch.send(w.data(), w.size());
}

}  // namespace polympc::mpc
