#include "send/stream_format.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <cstring>
#include <vector>

#include "chunk/hash.h"

namespace anyfs::stream {
namespace {

constexpr std::size_t k_frame_head = 5;  // type + length
constexpr std::size_t k_frame_tail = 8;  // checksum

// Little-endian fields appended to a payload.
class Out {
 public:
  Out& u8(std::uint8_t v) {
    s_.push_back(static_cast<char>(v));
    return *this;
  }
  Out& u32(std::uint32_t v) {
    for (int i = 0; i < 4; ++i) s_.push_back(static_cast<char>(v >> (8 * i)));
    return *this;
  }
  Out& u64(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) s_.push_back(static_cast<char>(v >> (8 * i)));
    return *this;
  }
  Out& i64(std::int64_t v) { return u64(static_cast<std::uint64_t>(v)); }
  Out& str(std::string_view v) {
    u32(static_cast<std::uint32_t>(v.size()));
    s_.append(v);
    return *this;
  }
  Out& raw(std::string_view v) {
    s_.append(v);
    return *this;
  }
  std::string take() { return std::move(s_); }

 private:
  std::string s_;
};

// Fields read back from a payload; any read past its end fails the record.
class In {
 public:
  explicit In(std::string_view p) : p_(p) {}
  bool u8(std::uint8_t& v) {
    if (!need(1)) return false;
    v = static_cast<std::uint8_t>(p_[0]);
    p_.remove_prefix(1);
    return true;
  }
  bool u32(std::uint32_t& v) {
    if (!need(4)) return false;
    v = 0;
    for (int i = 0; i < 4; ++i) v |= std::uint32_t(static_cast<std::uint8_t>(p_[i])) << (8 * i);
    p_.remove_prefix(4);
    return true;
  }
  bool u64(std::uint64_t& v) {
    if (!need(8)) return false;
    v = 0;
    for (int i = 0; i < 8; ++i) v |= std::uint64_t(static_cast<std::uint8_t>(p_[i])) << (8 * i);
    p_.remove_prefix(8);
    return true;
  }
  bool i64(std::int64_t& v) {
    std::uint64_t u = 0;
    if (!u64(u)) return false;
    v = static_cast<std::int64_t>(u);
    return true;
  }
  bool str(std::string& v) {
    std::uint32_t n = 0;
    if (!u32(n) || !need(n)) return false;
    v.assign(p_.data(), n);
    p_.remove_prefix(n);
    return true;
  }
  bool raw(void* out, std::size_t n) {
    if (!need(n)) return false;
    std::memcpy(out, p_.data(), n);
    p_.remove_prefix(n);
    return true;
  }
  bool empty() const { return p_.empty(); }

 private:
  bool need(std::size_t n) const { return p_.size() >= n; }
  std::string_view p_;
};

void put_inode(Out& o, const InodeRecord& r) {
  o.u64(r.ino).u8(static_cast<std::uint8_t>(r.kind)).u32(r.mode).u32(r.uid).u32(r.gid).u64(r.nlink).u64(r.size);
  o.i64(r.atime_ns).i64(r.mtime_ns).i64(r.ctime_ns).i64(r.btime_ns).u64(r.rdev).str(r.target).u64(r.project);
  o.u64(r.generation);
}

bool get_kind(In& in, FileKind& kind) {
  std::uint8_t k = 0;
  if (!in.u8(k)) return false;
  if (k > static_cast<std::uint8_t>(FileKind::Socket)) return false;
  kind = static_cast<FileKind>(k);
  return true;
}

bool get_inode(In& in, InodeRecord& r) {
  return in.u64(r.ino) && get_kind(in, r.kind) && in.u32(r.mode) && in.u32(r.uid) && in.u32(r.gid) &&
         in.u64(r.nlink) && in.u64(r.size) && in.i64(r.atime_ns) && in.i64(r.mtime_ns) && in.i64(r.ctime_ns) &&
         in.i64(r.btime_ns) && in.u64(r.rdev) && in.str(r.target) && in.u64(r.project) && in.u64(r.generation);
}

Type type_of(const Record& record) { return static_cast<Type>(record.index() + 1); }

// The whole frame of `record`: type, length, payload, checksum — built in
// one buffer (a chunk's bytes are copied once). Returns the payload's size
// too, for the limit.
std::pair<std::string, std::size_t> framed(const Record& record) {
  Out o;
  o.u8(static_cast<std::uint8_t>(type_of(record))).u32(0);  // the length is set below
  std::visit(
      [&](const auto& r) {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, Header>) {
          o.u32(r.version).u32(r.flags).str(r.pool_uuid).str(r.dataset).str(r.from_guid).u64(r.from_tid);
          o.str(r.to_guid).u64(r.to_tid).str(r.to_name).i64(r.to_time_ns).str(r.relative);
          o.u32(static_cast<std::uint32_t>(r.properties.size()));
          for (const auto& [name, value] : r.properties) o.str(name).str(value);
        } else if constexpr (std::is_same_v<T, Object>) {
          put_inode(o, r.inode);
        } else if constexpr (std::is_same_v<T, Free>) {
          o.u64(r.object);
        } else if constexpr (std::is_same_v<T, Link>) {
          o.u64(r.entry.parent).str(r.entry.name).u64(r.entry.ino).u8(static_cast<std::uint8_t>(r.entry.kind));
        } else if constexpr (std::is_same_v<T, Unlink>) {
          o.u64(r.parent).str(r.name);
        } else if constexpr (std::is_same_v<T, Extent>) {
          o.u64(r.extent.ino).u64(r.extent.offset).u64(r.extent.length);
          o.raw(std::string_view(reinterpret_cast<const char*>(r.extent.chunk.data()), r.extent.chunk.size()));
          o.u64(r.extent.chunk_offset);
        } else if constexpr (std::is_same_v<T, Punch>) {
          o.u64(r.object).u64(r.offset);
        } else if constexpr (std::is_same_v<T, Xattrs>) {
          o.u64(r.object).u32(static_cast<std::uint32_t>(r.values.size()));
          for (const auto& [name, value] : r.values) o.str(name).str(value);
        } else if constexpr (std::is_same_v<T, Chunk>) {
          o.raw(std::string_view(reinterpret_cast<const char*>(r.id.data()), r.id.size()));
          o.u8(static_cast<std::uint8_t>(r.chunk.codec)).u32(r.chunk.raw_size).u64(r.chunk.checksum);
          o.raw(r.chunk.stored);
        } else if constexpr (std::is_same_v<T, Entries>) {
          o.u64(r.dir).u32(static_cast<std::uint32_t>(r.entries.size()));
          for (const auto& e : r.entries) o.str(e.name).u64(e.ino).u8(static_cast<std::uint8_t>(e.kind));
        } else if constexpr (std::is_same_v<T, End>) {
          o.raw(r.digest).u64(r.records).u64(r.chunks).u64(r.chunk_bytes);
        }
      },
      record);
  std::string bytes = o.take();
  const std::size_t payload = bytes.size() - k_frame_head;
  for (int k = 0; k < 4; ++k) bytes[1 + k] = static_cast<char>(static_cast<std::uint32_t>(payload) >> (8 * k));
  Out check;
  check.u64(xxh3(bytes));
  bytes += check.take();
  return {std::move(bytes), payload};
}


}  // namespace

const char* to_string(Type type) {
  switch (type) {
    case Type::Header: return "header";
    case Type::Object: return "object";
    case Type::Free: return "free";
    case Type::Link: return "link";
    case Type::Unlink: return "unlink";
    case Type::Extent: return "extent";
    case Type::Punch: return "punch";
    case Type::Xattrs: return "xattrs";
    case Type::Chunk: return "chunk";
    case Type::Entries: return "entries";
    case Type::End: return "end";
  }
  return "unknown";
}

// A running SHA-256 (OpenSSL's EVP, as chunk ids use).
struct DigestState {
  DigestState() : ctx(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr); }
  ~DigestState() { EVP_MD_CTX_free(ctx); }
  DigestState(const DigestState&) = delete;
  DigestState& operator=(const DigestState&) = delete;
  void add(std::string_view bytes) { EVP_DigestUpdate(ctx, bytes.data(), bytes.size()); }
  std::string value() {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_MD_CTX* copy = EVP_MD_CTX_new();
    EVP_MD_CTX_copy_ex(copy, ctx);
    EVP_DigestFinal_ex(copy, out, &len);
    EVP_MD_CTX_free(copy);
    return std::string(reinterpret_cast<char*>(out), len);
  }
  EVP_MD_CTX* ctx;
};
struct StreamWriter::Digest : DigestState {};
struct StreamReader::Digest : DigestState {};

// --- Resuming ----------------------------------------------------------------------

std::string resume_preamble(std::string_view token) {
  Out o;
  o.raw(k_resume_magic).str(token).u64(xxh3(token));
  return o.take();
}

Result<std::string> read_resume_token(const Source& source) {
  auto read = [&](char* out, std::size_t n) -> Result<void> {
    for (std::size_t got = 0; got < n;) {
      auto r = ANYFS_TRY(source(std::span<char>(out + got, n - got)));
      if (r == 0) return fail(Errc::NoData, "", "the stream ends inside its resume preamble");
      got += r;
    }
    return {};
  };
  char head[4];
  ANYFS_CHECK(read(head, 4));
  std::uint32_t n = 0;
  In(std::string_view(head, 4)).u32(n);
  if (n > 4096) return fail(Errc::Corrupt, "", "a resume preamble with a token of an impossible length");
  std::string token(n, '\0');
  ANYFS_CHECK(read(token.data(), n));
  char tail[8];
  ANYFS_CHECK(read(tail, 8));
  std::uint64_t check = 0;
  In(std::string_view(tail, 8)).u64(check);
  if (check != xxh3(token)) return fail(Errc::Corrupt, "", "the resume preamble fails its checksum");
  return token;
}

std::string make_resume_token(const Header& h, std::uint64_t offset) {
  std::string from = "-";
  if (h.incremental()) from = ((h.flags & k_flag_whole_objects) ? "#" : "@") + h.from_guid;
  return fmt::format("{}:{}:{}:{}", k_resume_token_prefix, h.to_guid, from, offset);
}

Result<ResumeToken> parse_resume_token(std::string_view token) {
  auto bad = [&] {
    return fail(Errc::InvalidArgument, std::string(token),
                fmt::format("not a resume token (expected {}:GUID:GUID-or--:OFFSET, as the target's "
                            "receive_resume_token property shows it)",
                            k_resume_token_prefix));
  };
  std::vector<std::string_view> parts;
  for (std::size_t at = 0;;) {
    auto colon = token.find(':', at);
    parts.push_back(token.substr(at, colon == std::string_view::npos ? std::string_view::npos : colon - at));
    if (colon == std::string_view::npos) break;
    at = colon + 1;
  }
  if (parts.size() != 4 || parts[0] != k_resume_token_prefix || parts[1].empty() || parts[2].empty()) return bad();
  ResumeToken out;
  out.to_guid = parts[1];
  if (parts[2] != "-") {
    if (parts[2].size() < 2 || (parts[2][0] != '@' && parts[2][0] != '#')) return bad();
    out.from_bookmark = parts[2][0] == '#';
    out.from_guid = parts[2].substr(1);
  }
  if (parts[3].empty() || parts[3].size() > 19 || parts[3].find_first_not_of("0123456789") != std::string_view::npos)
    return bad();
  out.offset = std::stoull(std::string(parts[3]));
  return out;
}

// --- Writing ---------------------------------------------------------------------

StreamWriter::StreamWriter(Sink sink) : sink_(std::move(sink)), digest_(std::make_unique<Digest>()) {}
StreamWriter::~StreamWriter() = default;

Result<void> StreamWriter::emit(std::string_view bytes) {
  digest_->add(bytes);
  bytes_ += bytes.size();
  return sink_(bytes);
}

Result<void> StreamWriter::write(const Record& record) {
  const Type type = type_of(record);
  if (ended_) return fail(Errc::InvalidArgument, "", "a record after the end of the stream");
  if ((records_ == 0) != (type == Type::Header))
    return fail(Errc::InvalidArgument, "", "a stream starts with its header, and has one");
  if (type == Type::End) return fail(Errc::InvalidArgument, "", "the end record is written by end()");
  auto [bytes, payload] = framed(record);
  if (payload > k_max_record_bytes)
    return fail(Errc::ArgTooBig, "", fmt::format("a {} record of {} bytes", to_string(type), payload));
  if (records_ == 0) ANYFS_CHECK(emit(k_magic));
  ANYFS_CHECK(emit(bytes));
  records_++;
  if (const auto* c = std::get_if<Chunk>(&record)) {
    chunks_++;
    chunk_bytes_ += c->chunk.stored.size();
  }
  return {};
}

Result<void> StreamWriter::end() {
  if (records_ == 0) return fail(Errc::InvalidArgument, "", "a stream needs its header first");
  auto [bytes, payload] = framed(End{digest_->value(), records_, chunks_, chunk_bytes_});
  ended_ = true;
  return emit(bytes);
}

// --- Reading ---------------------------------------------------------------------

StreamReader::StreamReader(Source source) : source_(std::move(source)), digest_(std::make_unique<Digest>()) {}
StreamReader::~StreamReader() = default;

Result<void> StreamReader::read_exact(char* out, std::size_t n, bool at_record_start) {
  std::size_t got = 0;
  while (got < n) {
    auto r = ANYFS_TRY(source_(std::span<char>(out + got, n - got)));
    if (r == 0) {
      if (got == 0 && at_record_start && !started_)
        return fail(Errc::Corrupt, "", "not an AnyFS stream: it is empty");
      return fail(Errc::NoData, "",
                  fmt::format("the stream ends early, at byte {}, before its end record: it was cut short",
                              offset_ + got));
    }
    got += r;
  }
  offset_ += n;
  return {};
}

Result<Record> StreamReader::next() {
  if (ended_) return fail(Errc::InvalidArgument, "", "the stream has ended");
  if (!started_) {
    char magic[k_magic.size()];
    ANYFS_CHECK(read_exact(magic, sizeof magic, true));
    if (std::string_view(magic, sizeof magic) != k_magic)
      return fail(Errc::Corrupt, "", "not an AnyFS stream (it does not start with the stream's magic bytes)");
    digest_->add(std::string_view(magic, sizeof magic));
    started_ = true;
  }
  const std::uint64_t at = offset_;
  const std::string digest_before = digest_->value();
  char head[k_frame_head];
  ANYFS_CHECK(read_exact(head, sizeof head, false));
  In h(std::string_view(head, sizeof head));
  std::uint8_t raw_type = 0;
  std::uint32_t length = 0;
  h.u8(raw_type);
  h.u32(length);
  if (raw_type < static_cast<std::uint8_t>(Type::Header) || raw_type > static_cast<std::uint8_t>(Type::End))
    return fail(Errc::Corrupt, "", fmt::format("a record of unknown type {} at byte {}", raw_type, at));
  const Type type = static_cast<Type>(raw_type);
  if (length > k_max_record_bytes)
    return fail(Errc::Corrupt, "", fmt::format("a {} record at byte {} claims {} bytes, more than a record may have",
                                               to_string(type), at, length));
  buffer_.resize(k_frame_head + length + k_frame_tail);
  std::memcpy(buffer_.data(), head, k_frame_head);
  ANYFS_CHECK(read_exact(buffer_.data() + k_frame_head, length + k_frame_tail, false));
  const std::string_view framed(buffer_.data(), k_frame_head + length);
  std::uint64_t check = 0;
  In(std::string_view(buffer_.data() + framed.size(), k_frame_tail)).u64(check);
  if (check != xxh3(framed))
    return fail(Errc::Corrupt, "", fmt::format("the {} record at byte {} fails its checksum: the stream is damaged",
                                               to_string(type), at));
  if ((records_ == 0) != (type == Type::Header))
    return fail(Errc::Corrupt, "", fmt::format("a {} record at byte {} where the stream's {} belongs", to_string(type),
                                               at, records_ == 0 ? "header" : "records"));
  auto record = decode(type, framed.substr(k_frame_head));
  if (!record) {
    auto e = record.error();
    if (e.code == Errc::Corrupt) e.message = fmt::format("{} (the {} record at byte {})", e.message, to_string(type), at);
    return std::unexpected(e);
  }
  if (const auto* end = std::get_if<End>(&*record)) {
    if (end->digest != digest_before)
      return fail(Errc::Corrupt, "", "the stream's digest does not match its bytes: records were changed, "
                                     "dropped or reordered");
    if (end->records != records_ || end->chunks != chunks_ || end->chunk_bytes != chunk_bytes_)
      return fail(Errc::Corrupt, "", fmt::format("the end record counts {} records and {} chunks, the stream had "
                                                 "{} and {}",
                                                 end->records, end->chunks, records_, chunks_));
    char extra = 0;
    if (!more_ && ANYFS_TRY(source_(std::span<char>(&extra, 1))) != 0)
      return fail(Errc::Corrupt, "", fmt::format("bytes after the end of the stream (at byte {})", offset_));
    ended_ = true;
    return record;
  }
  if (const auto* h = std::get_if<Header>(&*record)) more_ = h->more();
  digest_->add(std::string_view(buffer_));
  records_++;
  if (const auto* c = std::get_if<Chunk>(&*record)) {
    chunks_++;
    chunk_bytes_ += c->chunk.stored.size();
  }
  return record;
}

Result<Record> StreamReader::decode(Type type, std::string_view payload) {
  In in(payload);
  auto bad = [&](std::string_view what) { return fail(Errc::Corrupt, "", fmt::format("a malformed {}", what)); };
  Record out;
  bool ok = false;
  switch (type) {
    case Type::Header: {
      Header r;
      if (!in.u32(r.version)) return bad("header");
      if (r.version > k_version)
        return fail(Errc::Unsupported, "",
                    fmt::format("stream format {} is newer than this anyfs reads ({}); upgrade anyfs", r.version,
                                k_version));
      if (r.version == 0) return bad("header (format 0)");
      ok = in.u32(r.flags) && in.str(r.pool_uuid) && in.str(r.dataset) && in.str(r.from_guid) && in.u64(r.from_tid) &&
           in.str(r.to_guid) && in.u64(r.to_tid) && in.str(r.to_name) && in.i64(r.to_time_ns) &&
           in.str(r.relative);
      std::uint32_t n = 0;
      ok = ok && in.u32(n);
      for (std::uint32_t i = 0; ok && i < n; ++i) {
        std::string name, value;
        ok = in.str(name) && in.str(value);
        if (ok) r.properties.emplace_back(std::move(name), std::move(value));
      }
      if (ok && (r.flags & ~k_known_flags) != 0)
        return fail(Errc::Unsupported, "", fmt::format("stream flags {:#x} are unknown to this anyfs", r.flags));
      out = std::move(r);
      break;
    }
    case Type::Object: {
      Object r;
      ok = get_inode(in, r.inode);
      out = std::move(r);
      break;
    }
    case Type::Free: {
      Free r;
      ok = in.u64(r.object);
      out = r;
      break;
    }
    case Type::Link: {
      Link r;
      ok = in.u64(r.entry.parent) && in.str(r.entry.name) && in.u64(r.entry.ino) && get_kind(in, r.entry.kind);
      out = std::move(r);
      break;
    }
    case Type::Unlink: {
      Unlink r;
      ok = in.u64(r.parent) && in.str(r.name);
      out = std::move(r);
      break;
    }
    case Type::Extent: {
      Extent r;
      ok = in.u64(r.extent.ino) && in.u64(r.extent.offset) && in.u64(r.extent.length) &&
           in.raw(r.extent.chunk.data(), r.extent.chunk.size()) && in.u64(r.extent.chunk_offset);
      out = r;
      break;
    }
    case Type::Punch: {
      Punch r;
      ok = in.u64(r.object) && in.u64(r.offset);
      out = r;
      break;
    }
    case Type::Xattrs: {
      Xattrs r;
      std::uint32_t n = 0;
      ok = in.u64(r.object) && in.u32(n);
      for (std::uint32_t i = 0; ok && i < n; ++i) {
        std::string name, value;
        ok = in.str(name) && in.str(value);
        if (ok) r.values.emplace_back(std::move(name), std::move(value));
      }
      out = std::move(r);
      break;
    }
    case Type::Chunk: {
      Chunk r;
      std::uint8_t codec = 0;
      ok = in.raw(r.id.data(), r.id.size()) && in.u8(codec) && in.u32(r.chunk.raw_size) && in.u64(r.chunk.checksum);
      if (ok && codec > static_cast<std::uint8_t>(Codec::Zstd)) return bad(fmt::format("chunk (unknown codec {})", codec));
      r.chunk.codec = static_cast<Codec>(codec);
      if (ok) {
        // The rest of the payload is the stored bytes.
        r.chunk.stored.assign(payload.substr(r.id.size() + 1 + 4 + 8));
        out = std::move(r);
        return out;
      }
      break;
    }
    case Type::Entries: {
      Entries r;
      std::uint32_t n = 0;
      ok = in.u64(r.dir) && in.u32(n);
      for (std::uint32_t i = 0; ok && i < n; ++i) {
        DirentRecord e;
        e.parent = r.dir;
        ok = in.str(e.name) && in.u64(e.ino) && get_kind(in, e.kind);
        if (ok) r.entries.push_back(std::move(e));
      }
      out = std::move(r);
      break;
    }
    case Type::End: {
      End r;
      r.digest.resize(32);
      ok = in.raw(r.digest.data(), 32) && in.u64(r.records) && in.u64(r.chunks) && in.u64(r.chunk_bytes);
      out = std::move(r);
      break;
    }
  }
  if (!ok) return bad(to_string(type));
  if (!in.empty()) return bad(fmt::format("{} (bytes left over)", to_string(type)));
  return out;
}

}  // namespace anyfs::stream
