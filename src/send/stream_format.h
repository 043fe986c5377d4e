// The replication stream of `anyfs send` / `receive` (docs/FORMAT.md,
// "Replication streams"): eight magic bytes, then typed records, each
//
//   type u8 · length u32 LE · payload[length] · XXH3-64 of the three before, u64 LE
//
// The first record is the header, the last the end record, whose payload
// starts with the SHA-256 of every byte of the stream before it. Objects are
// named by the sender's object numbers (its inode numbers in the dataset);
// nothing names a page, a volume or a row of the sender's files, so a stream
// is the same whichever engine and layout the sender or receiver keeps.
//
// StreamWriter encodes; StreamReader decodes from any byte source and checks
// everything it can before handing a record on: the magic, the format
// version, each record's checksum and bounds, the order (header first,
// nothing after the end) and the digest. Decoding never trusts a length
// beyond k_max_record_bytes.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "anyfs/error.h"
#include "chunk/chunk_store.h"
#include "meta/records.h"

namespace anyfs::stream {

inline constexpr std::string_view k_magic = "ANYFSSND";
inline constexpr std::uint32_t k_version = 1;
// No record is longer (a chunk record holds at most one chunk as stored).
inline constexpr std::uint32_t k_max_record_bytes = 64u << 20;

enum class Type : std::uint8_t {
  Header = 1,
  Object = 2,    // an inode's attributes (created or changed)
  Free = 3,      // an inode that is gone
  Link = 4,      // a directory entry added (or pointed elsewhere)
  Unlink = 5,    // a directory entry removed
  Extent = 6,    // file bytes [offset, offset+length) are chunk bytes from chunk_offset
  Punch = 7,     // the extent starting at `offset` is gone
  Xattrs = 8,    // an inode's extended attributes, all of them
  Chunk = 9,     // a chunk as stored, before the first extent naming it
  Entries = 10,  // a directory's entries, all of them
  End = 11,
};
const char* to_string(Type type);

// An incremental from a bookmark: changed objects go whole (their every
// extent punched, then all of them; a directory's entries all listed), since
// the base's state may be gone on the sender.
inline constexpr std::uint32_t k_flag_whole_objects = 1;
// Another stream follows this one (a package: send -I or -R).
inline constexpr std::uint32_t k_flag_more = 2;
// Part of a recursive package: `relative` names the dataset below the
// package's root, and `properties` are its local properties.
inline constexpr std::uint32_t k_flag_recursive = 4;
inline constexpr std::uint32_t k_known_flags = k_flag_whole_objects | k_flag_more | k_flag_recursive;

struct Header {
  std::uint32_t version = k_version;
  std::uint32_t flags = 0;  // k_flag_*; a reader refuses any it does not know
  std::string pool_uuid;    // the sending pool
  std::string dataset;      // the sending dataset's name
  std::string from_guid;    // the base snapshot's guid; empty for a full stream
  Tid from_tid = 0;
  std::string to_guid;      // the snapshot sent
  Tid to_tid = 0;
  std::string to_name;
  std::int64_t to_time_ns = 0;
  std::string relative;
  std::vector<std::pair<std::string, std::string>> properties;
  bool incremental() const { return !from_guid.empty(); }
  bool more() const { return (flags & k_flag_more) != 0; }
};

struct Object {
  InodeRecord inode;  // inode.ino is the object number
};
struct Free {
  Ino object = 0;
};
struct Link {
  DirentRecord entry;  // parent and ino are object numbers
};
struct Unlink {
  Ino parent = 0;
  std::string name;
};
struct Extent {
  ExtentRecord extent;  // extent.ino is the object number
};
// Punch's offset for "every extent of the object".
inline constexpr std::uint64_t k_every_extent = ~std::uint64_t{0};
struct Punch {
  Ino object = 0;
  std::uint64_t offset = 0;  // or k_every_extent
};
struct Xattrs {
  Ino object = 0;
  std::vector<std::pair<std::string, std::string>> values;
};
struct Chunk {
  ChunkId id{};
  StoredChunk chunk;
};
struct Entries {
  Ino dir = 0;
  std::vector<DirentRecord> entries;  // by name; their parent is `dir`
};
struct End {
  std::string digest;  // SHA-256 of every byte before this record (32 bytes)
  std::uint64_t records = 0;  // records before this one, the header included
  std::uint64_t chunks = 0;
  std::uint64_t chunk_bytes = 0;  // stored bytes of those chunks
};

using Record = std::variant<Header, Object, Free, Link, Unlink, Extent, Punch, Xattrs, Chunk, Entries, End>;

// Where a stream's bytes go; an error stops the send.
using Sink = std::function<Result<void>(std::string_view)>;
// Reads up to out.size() bytes; 0 at the end. An error stops the receive.
using Source = std::function<Result<std::size_t>(std::span<char>)>;

// A resumed stream (`send -t TOKEN`) starts with a preamble instead: these
// magic bytes, the token's length (u32 LE), the token and its XXH3-64 (u64
// LE); then the original stream's bytes from the token's offset on.
inline constexpr std::string_view k_resume_magic = "ANYFSRSM";
inline constexpr std::string_view k_resume_token_prefix = "anyfs-resume-1";
std::string resume_preamble(std::string_view token);
// The token of a preamble whose magic has been read. Errors: Corrupt, NoData.
Result<std::string> read_resume_token(const Source& source);

// "anyfs-resume-1:TO_GUID:FROM:OFFSET", as a receiver makes it; FROM is
// "-" (a full stream), "@GUID" (from a snapshot) or "#GUID" (a bookmark).
std::string make_resume_token(const Header& header, std::uint64_t offset);
struct ResumeToken {
  std::string to_guid, from_guid;  // from_guid empty: a full stream
  bool from_bookmark = false;      // the stream had k_flag_whole_objects
  std::uint64_t offset = 0;        // bytes of the stream the receiver has
};
// Errors: InvalidArgument naming the expected form.
Result<ResumeToken> parse_resume_token(std::string_view token);

class StreamWriter {
 public:
  explicit StreamWriter(Sink sink);
  ~StreamWriter();
  // The header goes first (the magic before it), the end record last: end()
  // writes it with the digest and counts.
  Result<void> write(const Record& record);
  Result<void> end();
  std::uint64_t bytes() const { return bytes_; }
  std::uint64_t records() const { return records_; }
  std::uint64_t chunks() const { return chunks_; }
  std::uint64_t chunk_bytes() const { return chunk_bytes_; }

 private:
  Result<void> emit(std::string_view bytes);
  struct Digest;
  Sink sink_;
  std::unique_ptr<Digest> digest_;
  std::uint64_t bytes_ = 0, records_ = 0, chunks_ = 0, chunk_bytes_ = 0;
  bool ended_ = false;
};

// Reads records in order; next() returns the end record last, and nothing
// after it (a byte after the end is an error). Errors, naming the byte offset:
// Corrupt ("not an AnyFS stream", a record failing its checksum, a bad
// length or field, records out of order, a wrong digest or count), NoData
// ("the stream ends early": truncated), Unsupported (a newer format version
// or unknown flags), and the source's own errors.
class StreamReader {
 public:
  explicit StreamReader(Source source);
  ~StreamReader();
  Result<Record> next();
  std::uint64_t offset() const { return offset_; }  // bytes consumed so far
  bool done() const { return ended_; }

 private:
  Result<void> read_exact(char* out, std::size_t n, bool at_record_start);
  Result<Record> decode(Type type, std::string_view payload);
  struct Digest;
  Source source_;
  std::unique_ptr<Digest> digest_;
  std::uint64_t offset_ = 0, records_ = 0, chunks_ = 0, chunk_bytes_ = 0;
  bool started_ = false, ended_ = false;
  bool more_ = false;  // the header says another stream follows: bytes after the end are its
  std::string buffer_;
};

}  // namespace anyfs::stream
